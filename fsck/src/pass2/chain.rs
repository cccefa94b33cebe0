//! The rec_len chain of a region of directory entries (a leaf block
//! without its tail, or an inline-data area): walking it, salvaging a
//! torn one, and the in-place edits the other checks make.

use fuse4fs_format::ext4::InodeNo;
use fuse4fs_format::ext4::dir::{rec_len_for, rec_len_to_disk};
use fuse4fs_format::ext4::layout::Ext4DirEntry2;

/// Shortest record the kernel accepts (a one-byte name).
pub(super) const MIN_REC_LEN: usize = 12;

/// One entry of a region, as found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Ent {
    /// Offset within the region.
    pub off: usize,
    pub rec_len: usize,
    pub inode: InodeNo,
    pub name_len: usize,
    /// The byte after name_len (the file type with the filetype feature).
    pub ft: u8,
}

impl Ent {
    /// The name, read from the region it was found in.
    pub fn name<'a>(&self, region: &'a [u8]) -> &'a [u8] {
        &region[self.off + Ext4DirEntry2::NAME_OFFSET..][..self.name_len]
    }

    /// The bytes this entry needs (0 for an unused one).
    pub fn used(&self) -> usize {
        if self.inode.0 == 0 {
            0
        } else {
            rec_len_for(self.name_len)
        }
    }
}

/// Decodes rec_len (the 64 KiB-block encoding included).
pub(super) fn rec_len_from_disk(raw: u16, bs: usize) -> usize {
    if bs >= 65536 {
        if raw == 65535 || raw == 0 {
            return bs;
        }
        return (raw as usize & 65532) | ((raw as usize & 3) << 16);
    }
    raw as usize
}

/// Walks the chain of `region`, filling `out`; returns the offset of the
/// first record that is not sane (too short for its name, not a multiple
/// of 4, or running past the end), or None when the records tile the
/// region exactly. `bs` is the block size (for the rec_len encoding).
pub(super) fn walk(region: &[u8], bs: usize, out: &mut Vec<Ent>) -> Option<usize> {
    out.clear();
    let len = region.len();
    let mut off = 0usize;
    // Each record is at least 12 bytes: the loop is bounded by len / 12.
    while off < len {
        if len - off < MIN_REC_LEN {
            return Some(off);
        }
        let e = Ext4DirEntry2::of(&region[off..]).expect("MIN_REC_LEN bytes are left");
        let rec_len = rec_len_from_disk(e.rec_len.get(), bs);
        let name_len = e.name_len as usize;
        if rec_len < MIN_REC_LEN
            || !rec_len.is_multiple_of(4)
            || rec_len < rec_len_for(name_len)
            || rec_len > len - off
        {
            return Some(off);
        }
        out.push(Ent {
            off,
            rec_len,
            inode: InodeNo(e.inode.get()),
            name_len,
            ft: e.file_type,
        });
        off += rec_len;
    }
    None
}

/// The header of the entry at `off`, to change in place (the walk found
/// a whole header there).
pub(super) fn head_mut(region: &mut [u8], off: usize) -> &mut Ext4DirEntry2 {
    Ext4DirEntry2::of_mut(&mut region[off..]).expect("an entry header at a walked offset")
}

/// Sets the rec_len of the entry at `off`.
pub(super) fn set_rec_len(region: &mut [u8], off: usize, rec_len: usize, bs: usize) {
    head_mut(region, off)
        .rec_len
        .set(rec_len_to_disk(rec_len, bs));
}

/// Writes a whole entry header and name at `off` (the rest of the record
/// is left as it is).
pub(super) fn put_entry(
    region: &mut [u8],
    off: usize,
    inode: InodeNo,
    rec_len: usize,
    name: &[u8],
    ft: u8,
    bs: usize,
) {
    let h = head_mut(region, off);
    h.inode.set(inode.0);
    h.rec_len.set(rec_len_to_disk(rec_len, bs));
    h.name_len = name.len() as u8;
    h.file_type = ft;
    region[off + Ext4DirEntry2::NAME_OFFSET..][..name.len()].copy_from_slice(name);
}

/// Salvages a torn region whose first bad record is at `bad`: the sane
/// entries before it are kept and the last of them made to reach the
/// end; with none, the region becomes one unused entry. What followed
/// the damage is zeroed (it is garbage, or entries the chain no longer
/// reaches). `ents` are the entries before `bad`, as [`walk`] left them.
/// A region too short for any record (a hostile inline-data xattr value)
/// is only zeroed.
pub(super) fn salvage(region: &mut [u8], bad: usize, ents: &[Ent], bs: usize) {
    let len = region.len();
    match ents.last() {
        Some(last) => {
            set_rec_len(region, last.off, len - last.off, bs);
            let keep = last.off + rec_len_for(last.name_len).max(8);
            region[keep.max(bad).min(len)..].fill(0);
        }
        None => {
            region.fill(0);
            if len >= MIN_REC_LEN {
                set_rec_len(region, 0, len, bs);
            }
        }
    }
}

/// Removes entry `i` of `ents` from `region` as the kernel deletes one:
/// merged into the live record before it, or (first of the region)
/// marked unused. `ents` is updated to match.
pub(super) fn remove(region: &mut [u8], ents: &mut Vec<Ent>, i: usize, bs: usize) {
    let e = ents[i];
    if i > 0 {
        let p = &mut ents[i - 1];
        p.rec_len += e.rec_len;
        set_rec_len(region, p.off, p.rec_len, bs);
        region[e.off..e.off + size_of::<Ext4DirEntry2>()].fill(0);
        ents.remove(i);
    } else {
        head_mut(region, e.off).inode.set(0);
        ents[i].inode = InodeNo(0);
    }
}

/// Removes entry `i` as [`remove`] does and returns the index of the
/// entry to look at next: the first entry of a block stays (unused).
pub(super) fn remove_next(region: &mut [u8], ents: &mut Vec<Ent>, i: usize, bs: usize) -> usize {
    remove(region, ents, i, bs);
    if i == 0 { 1 } else { i }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(entries: &[(u32, usize, &[u8])], len: usize) -> Vec<u8> {
        let mut b = vec![0u8; len];
        let mut off = 0;
        for &(ino, rl, name) in entries {
            put_entry(&mut b, off, InodeNo(ino), rl, name, 1, 4096);
            off += rl;
        }
        b
    }

    #[test]
    fn walks_a_sane_chain_and_stops_at_damage() {
        let mut v = Vec::new();
        let b = block(&[(2, 12, b"."), (2, 12, b".."), (12, 1000, b"file")], 1024);
        assert_eq!(walk(&b, 1024, &mut v), None);
        assert_eq!(v.len(), 3);
        let b = block(&[(2, 12, b"."), (2, 12, b".."), (12, 1004, b"file")], 1024);
        assert_eq!(walk(&b, 1024, &mut v), Some(24));
        assert_eq!(v.len(), 2);
        let mut b = block(&[(2, 12, b"."), (2, 14, b".."), (12, 998, b"f")], 1024);
        assert_eq!(walk(&b, 1024, &mut v), Some(12));
        salvage(&mut b, 12, &v.clone(), 1024);
        assert_eq!(walk(&b, 1024, &mut v), None);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].rec_len, 1024);
        // Nothing sane: one unused entry.
        let mut b = vec![0xffu8; 1024];
        assert_eq!(walk(&b, 1024, &mut v), Some(0));
        salvage(&mut b, 0, &[], 1024);
        assert_eq!(walk(&b, 1024, &mut v), None);
        assert_eq!((v.len(), v[0].inode, v[0].rec_len), (1, InodeNo(0), 1024));
    }

    #[test]
    fn a_region_too_short_for_a_record_is_zeroed_not_overrun() {
        let mut v = Vec::new();
        for len in [1, 4, 6, 8] {
            let mut b = vec![0xffu8; len];
            assert_eq!(walk(&b, 1024, &mut v), Some(0));
            salvage(&mut b, 0, &v.clone(), 1024);
            assert_eq!(b, vec![0u8; len]);
        }
    }

    #[test]
    fn removal_merges_into_the_previous_record() {
        let mut v = Vec::new();
        let mut b = block(&[(12, 12, b"a"), (13, 12, b"b"), (14, 1000, b"c")], 1024);
        walk(&b, 1024, &mut v);
        remove(&mut b, &mut v, 1, 1024);
        assert_eq!(v.len(), 2);
        let mut w = Vec::new();
        assert_eq!(walk(&b, 1024, &mut w), None);
        assert_eq!(w, v);
        assert_eq!(w[0].rec_len, 24);
        remove(&mut b, &mut v, 0, 1024);
        walk(&b, 1024, &mut w);
        assert_eq!(w[0].inode, InodeNo(0));
    }
}
