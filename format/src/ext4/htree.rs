//! Hashed directory index (htree) nodes: dx_root, interior nodes, their
//! checksum tail, and the search for the child that covers a hash.

use core::mem::offset_of;

use zerocopy::{FromBytes, IntoBytes};

use super::csum::crc32c_raw;
use super::dir::{rec_len_from_disk, rec_len_to_disk};
use super::layout::htree as raw;
use super::{CorruptKind, DxAt, FormatError, Generation, InodeNo};

/// Offset of count/limit in block 0 (after "." , ".." and dx_root_info).
const ROOT_ENTRIES_OFFSET: usize = size_of::<raw::DxRoot>();
/// Offset of count/limit in an interior node (after a fake empty dirent).
const NODE_ENTRIES_OFFSET: usize = size_of::<raw::DxNode>();
/// Bytes of one index entry.
const ENTRY: usize = size_of::<raw::DxEntry>();
/// Bytes of the checksum tail.
const TAIL: usize = size_of::<raw::DxTail>();

/// The count/limit at `off` in `b`, None when it does not fit.
fn countlimit(b: &[u8], off: usize) -> Option<&raw::DxCountlimit> {
    raw::DxCountlimit::ref_from_prefix(b.get(off..)?)
        .ok()
        .map(|(c, _)| c)
}

/// The `limit` index entries from `off` in `b` (entry 0's hash is the
/// count/limit).
fn entry_slots(b: &[u8], off: usize, limit: usize) -> Option<&[raw::DxEntry]> {
    <[raw::DxEntry]>::ref_from_prefix_with_elems(b.get(off..)?, limit)
        .ok()
        .map(|(e, _)| e)
}

/// The dx_tail after `limit` entries from `off`, None when it does not fit.
fn tail_at(b: &[u8], off: usize, limit: u16) -> Option<&raw::DxTail> {
    let at = off + limit as usize * ENTRY;
    raw::DxTail::ref_from_prefix(b.get(at..)?)
        .ok()
        .map(|(t, _)| t)
}

/// One index entry: children from `hash` onwards live in logical block `block`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DxEntry {
    pub hash: u32,
    pub block: u32,
}

/// A parsed index node (root or interior).
#[derive(Debug, Clone)]
pub struct DxNode {
    /// Entries; the first one's hash is implicitly 0.
    pub entries: Vec<DxEntry>,
    pub limit: u16,
    /// Offset of count/limit within the block.
    pub entries_offset: usize,
}

/// The dx_root_info fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DxRootInfo {
    pub hash_version: u8,
    pub indirect_levels: u8,
}

fn parse_entries(b: &[u8], off: usize, csum: bool, at: DxAt) -> Result<DxNode, FormatError> {
    if off + ENTRY > b.len() {
        return Err(CorruptKind::DxNodeTooSmall { at }.into());
    }
    let cl = countlimit(b, off).expect("checked above");
    let (limit, count) = (cl.limit.get(), cl.count.get());
    let tail = if csum { TAIL } else { 0 };
    let want_limit = (b.len() - off - tail) / ENTRY;
    if limit as usize != want_limit || count == 0 || count > limit {
        return Err(CorruptKind::DxCountLimit {
            at,
            count,
            limit,
            want_limit,
        }
        .into());
    }
    let slots = entry_slots(b, off, count as usize).expect("count <= limit, which fits");
    let mut entries = Vec::with_capacity(count as usize);
    for (i, slot) in slots.iter().enumerate() {
        let hash = if i == 0 { 0 } else { slot.hash.get() };
        if i > 1 && hash < entries.last().map_or(0, |e: &DxEntry| e.hash) {
            return Err(CorruptKind::DxHashOrder { at }.into());
        }
        entries.push(DxEntry {
            hash,
            block: slot.block.get(),
        });
    }
    Ok(DxNode {
        entries,
        limit,
        entries_offset: off,
    })
}

/// Parses block 0 of the indexed directory `dir`.
pub fn parse_root(b: &[u8], csum: bool, dir: InodeNo) -> Result<(DxRootInfo, DxNode), FormatError> {
    let at = DxAt::Root { dir };
    if b.len() < ROOT_ENTRIES_OFFSET + ENTRY {
        return Err(CorruptKind::DxRootTooSmall { at }.into());
    }
    let (root, _) = raw::DxRoot::ref_from_prefix(b).expect("checked above");
    // "." must be first, ".." second with rec_len reaching the block end.
    let dot_len = offset_of!(raw::DxRoot, dotdot);
    if root.dot.rec_len.get() as usize != dot_len
        || root.dot.name_len != 1
        || root.dot_name[0] != b'.'
        || rec_len_from_disk(root.dotdot.rec_len.get(), b.len()) != b.len() - dot_len
    {
        return Err(CorruptKind::DxRootDots { at }.into());
    }
    if root.info.reserved_zero.get() != 0
        || root.info.info_length as usize != size_of::<raw::DxRootInfo>()
    {
        return Err(CorruptKind::DxRootInfo { at }.into());
    }
    let info = DxRootInfo {
        hash_version: root.info.hash_version,
        indirect_levels: root.info.indirect_levels,
    };
    let node = parse_entries(b, ROOT_ENTRIES_OFFSET, csum, at)?;
    Ok((info, node))
}

/// Parses the interior index block at logical block `lblk` of directory
/// `dir`.
pub fn parse_node(b: &[u8], csum: bool, dir: InodeNo, lblk: u64) -> Result<DxNode, FormatError> {
    let at = DxAt::Node { dir, lblk };
    let fake = raw::DxNode::ref_from_prefix(b).ok().map(|(n, _)| n.fake);
    if b.len() < NODE_ENTRIES_OFFSET + ENTRY
        || fake.is_none_or(|f| {
            f.inode.get() != 0 || rec_len_from_disk(f.rec_len.get(), b.len()) != b.len()
        })
    {
        return Err(CorruptKind::DxNodeHeader { at }.into());
    }
    parse_entries(b, NODE_ENTRIES_OFFSET, csum, at)
}

/// Whether a block of an indexed directory looks like an interior node
/// (a single empty entry spanning the block).
pub fn looks_like_node(b: &[u8]) -> bool {
    raw::DxNode::ref_from_prefix(b).is_ok_and(|(n, _)| {
        n.fake.inode.get() == 0
            && rec_len_from_disk(n.fake.rec_len.get(), b.len()) == b.len()
            && n.fake.name_len == 0
    })
}

impl DxNode {
    /// Index of the entry whose subtree covers `hash`.
    pub fn find(&self, hash: u32) -> usize {
        self.entries
            .partition_point(|e| e.hash <= hash)
            .saturating_sub(1)
    }

    /// Verifies the dx_tail checksum of a node held in `block`.
    pub fn verify_checksum(
        &self,
        seed: u32,
        ino: InodeNo,
        generation: Generation,
        block: &[u8],
    ) -> bool {
        dx_checksum(
            seed,
            ino,
            generation,
            block,
            self.entries_offset,
            self.entries.len(),
            self.limit,
        )
        .is_some_and(|c| {
            tail_at(block, self.entries_offset, self.limit)
                .is_some_and(|t| c == t.dt_checksum.get())
        })
    }

    /// Writes limit, count and the entries into `block` at
    /// `entries_offset` (see [`write_entries`]).
    pub fn write_to(&self, block: &mut [u8]) {
        write_entries(block, self.entries_offset, self.limit, &self.entries);
    }
}

/// The dx_tail checksum of a node whose count/limit sit at `off`, or None
/// when the tail does not fit in the block.
fn dx_checksum(
    seed: u32,
    ino: InodeNo,
    generation: Generation,
    block: &[u8],
    off: usize,
    count: usize,
    limit: u16,
) -> Option<u32> {
    let tail = tail_at(block, off, limit)?;
    if count > limit as usize {
        return None;
    }
    let mut crc = crc32c_raw(seed, &ino.0.to_le_bytes());
    crc = crc32c_raw(crc, &generation.0.to_le_bytes());
    crc = crc32c_raw(crc, &block[..off + count * ENTRY]);
    crc = crc32c_raw(crc, tail.dt_reserved.as_bytes());
    Some(crc32c_raw(crc, &[0; 4]))
}

/// Offset of count/limit in `block`: after the fake empty entry of an
/// interior node, or after "." , ".." and dx_root_info in the root.
pub fn entries_offset(block: &[u8]) -> usize {
    if looks_like_node(block) {
        NODE_ENTRIES_OFFSET
    } else {
        ROOT_ENTRIES_OFFSET
    }
}

/// The `limit` a node of `block_len` bytes with count/limit at `off`
/// carries: every 8-byte slot up to the block end, less the 8-byte
/// dx_tail with metadata_csum.
pub fn node_limit(block_len: usize, off: usize, csum: bool) -> u16 {
    ((block_len - off - if csum { TAIL } else { 0 }) / ENTRY) as u16
}

/// Writes `limit`, `count` and `entries` at `off`: entry 0 keeps only
/// its block (its hash slot holds limit and count), later entries are
/// hash then block. Panics when there are more entries than `limit`
/// or they do not fit in `block`.
pub fn write_entries(block: &mut [u8], off: usize, limit: u16, entries: &[DxEntry]) {
    assert!(entries.len() <= limit as usize, "dx entries over limit");
    write_count_limit(block, off, entries.len() as u16, limit);
    let (slots, _) = <[raw::DxEntry]>::mut_from_prefix_with_elems(&mut block[off..], entries.len())
        .expect("dx entries do not fit in the block");
    for (i, (slot, e)) in slots.iter_mut().zip(entries).enumerate() {
        if i > 0 {
            slot.hash.set(e.hash);
        }
        slot.block.set(e.block);
    }
}

/// Writes only the limit and count fields at `off`.
pub fn write_count_limit(block: &mut [u8], off: usize, count: u16, limit: u16) {
    let (cl, _) = raw::DxCountlimit::mut_from_prefix(&mut block[off..])
        .expect("count/limit do not fit in the block");
    cl.limit.set(limit);
    cl.count.set(count);
}

/// Formats `block` as an empty interior node: zeroed, a fake empty entry
/// spanning the block, limit set and count 0 (the kernel's new dx node in
/// `ext4_dx_add_entry`). Returns the count/limit offset.
pub fn init_node(block: &mut [u8], csum: bool) -> usize {
    block.fill(0);
    let bs = block.len();
    let (node, _) = raw::DxNode::mut_from_prefix(block).expect("a block holds a dx node");
    node.fake.rec_len.set(rec_len_to_disk(bs, bs));
    let limit = node_limit(bs, NODE_ENTRIES_OFFSET, csum);
    write_count_limit(block, NODE_ENTRIES_OFFSET, 0, limit);
    NODE_ENTRIES_OFFSET
}

/// Writes the head of a dx root into `block`: "." (rec_len 12) naming
/// `dir`, ".." (rec_len reaching the block end) naming `parent`, both
/// with file type 2 when `filetype` is set, then dx_root_info, and
/// limit with count 0. Bytes past the count/limit field are untouched.
/// Returns the count/limit offset.
pub fn write_root_head(
    block: &mut [u8],
    dir: u32,
    parent: u32,
    filetype: bool,
    info: DxRootInfo,
    csum: bool,
) -> usize {
    let bs = block.len();
    let ft = if filetype { 2 } else { 0 };
    block[..ROOT_ENTRIES_OFFSET].fill(0);
    let (root, _) = raw::DxRoot::mut_from_prefix(block).expect("a block holds a dx root");
    // "." takes the 12 bytes of its entry and name.
    let dot_len = offset_of!(raw::DxRoot, dotdot);
    root.dot.inode.set(dir);
    root.dot.rec_len.set(dot_len as u16);
    root.dot.name_len = 1;
    root.dot.file_type = ft;
    root.dot_name[0] = b'.';
    root.dotdot.inode.set(parent);
    root.dotdot.rec_len.set(rec_len_to_disk(bs - dot_len, bs));
    root.dotdot.name_len = 2;
    root.dotdot.file_type = ft;
    root.dotdot_name[..2].copy_from_slice(b"..");
    root.info.hash_version = info.hash_version;
    root.info.info_length = size_of::<raw::DxRootInfo>() as u8;
    root.info.indirect_levels = info.indirect_levels;
    let limit = node_limit(bs, ROOT_ENTRIES_OFFSET, csum);
    write_count_limit(block, ROOT_ENTRIES_OFFSET, 0, limit);
    ROOT_ENTRIES_OFFSET
}

/// Stores `levels` as the dx root's indirect_levels (the tree grew).
pub fn set_root_levels(block: &mut [u8], levels: u8) {
    if let Ok((root, _)) = raw::DxRoot::mut_from_prefix(block) {
        root.info.indirect_levels = levels;
    }
}

/// Stores the dx_tail checksum of a root or interior node held in
/// `block`, reading count and limit from the block; dt_reserved is
/// covered as it stands. The inverse of [`DxNode::verify_checksum`].
/// Returns false, writing nothing, when the tail does not fit.
pub fn set_node_checksum(
    seed: u32,
    ino: InodeNo,
    generation: Generation,
    block: &mut [u8],
) -> bool {
    let off = entries_offset(block);
    if off + ENTRY > block.len() {
        return false;
    }
    let cl = countlimit(block, off).expect("checked above");
    let (limit, count) = (cl.limit.get(), cl.count.get() as usize);
    let Some(c) = dx_checksum(seed, ino, generation, block, off, count, limit) else {
        return false;
    };
    let at = off + limit as usize * ENTRY;
    let (tail, _) = raw::DxTail::mut_from_prefix(&mut block[at..]).expect("dx_checksum found room");
    tail.dt_checksum.set(c);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_picks_last_entry_not_above_hash() {
        let n = DxNode {
            entries: vec![
                DxEntry { hash: 0, block: 1 },
                DxEntry {
                    hash: 100,
                    block: 2,
                },
                DxEntry {
                    hash: 200,
                    block: 3,
                },
            ],
            limit: 10,
            entries_offset: 8,
        };
        assert_eq!(n.find(0), 0);
        assert_eq!(n.find(99), 0);
        assert_eq!(n.find(100), 1);
        assert_eq!(n.find(u32::MAX), 2);
    }

    #[test]
    fn node_rejects_bad_counts() {
        let mut b = vec![0u8; 1024];
        b[4..6].copy_from_slice(&1024u16.to_le_bytes());
        b[8..10].copy_from_slice(&127u16.to_le_bytes());
        b[10..12].copy_from_slice(&1u16.to_le_bytes());
        assert!(parse_node(&b, false, InodeNo(2), 1).is_ok());
        b[10..12].copy_from_slice(&0u16.to_le_bytes());
        assert!(parse_node(&b, false, InodeNo(2), 1).is_err());
        b[10..12].copy_from_slice(&1u16.to_le_bytes());
        assert!(parse_node(&b, true, InodeNo(2), 1).is_err()); // limit must leave room for the tail
        let e = parse_node(&b, true, InodeNo(2), 1).unwrap_err();
        assert_eq!(
            e,
            CorruptKind::DxCountLimit {
                at: DxAt::Node {
                    dir: InodeNo(2),
                    lblk: 1,
                },
                count: 1,
                limit: 127,
                want_limit: 126,
            }
            .into()
        );
        assert_eq!(
            e.to_string(),
            "corrupt directory 2 htree block 1: dx count 1 limit 127 (expected limit 126)"
        );
        let e = parse_root(&[0u8; 1024], false, InodeNo(5)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "corrupt directory 5 htree root: dx root without . and .."
        );
    }

    #[test]
    fn root_round_trip_and_checksum() {
        let mut b = vec![0x77u8; 1024];
        let info = DxRootInfo {
            hash_version: 1,
            indirect_levels: 0,
        };
        let off = write_root_head(&mut b, 12, 2, true, info, true);
        assert_eq!(off, 0x20);
        b[off + 8..].fill(0);
        let entries = vec![
            DxEntry { hash: 0, block: 1 },
            DxEntry {
                hash: 0x1000_0000,
                block: 3,
            },
            DxEntry {
                hash: 0x8000_0002,
                block: 2,
            },
        ];
        write_entries(&mut b, off, node_limit(1024, off, true), &entries);
        assert!(set_node_checksum(7, InodeNo(12), Generation(5), &mut b));
        let (i2, n) = parse_root(&b, true, InodeNo(2)).unwrap();
        assert_eq!(i2, info);
        assert_eq!(n.entries, entries);
        assert_eq!(n.limit, (1024 - 32 - 8) / 8);
        assert!(n.verify_checksum(7, InodeNo(12), Generation(5), &b));
        assert!(!n.verify_checksum(7, InodeNo(13), Generation(5), &b));
        // Re-serializing the parsed node over scribbled bytes restores it.
        let mut c = b.clone();
        c[off..off + 24].fill(0xAB);
        n.write_to(&mut c);
        assert_eq!(c, b);
        // "." and ".." parse as entries too.
        let v: Vec<_> = crate::ext4::dir::DirIter::new(&b[..24], 1024, 100, true).collect();
        assert_eq!(v.len(), 2);
    }

    #[test]
    fn interior_node_round_trip_and_checksum_on_64k_blocks() {
        for (bs, csum) in [(4096usize, true), (4096, false), (65536, true)] {
            let mut b = vec![0xFFu8; bs];
            let off = init_node(&mut b, csum);
            assert_eq!(off, 8);
            assert!(looks_like_node(&b));
            let entries: Vec<DxEntry> = (0..10)
                .map(|i| DxEntry {
                    hash: if i == 0 { 0 } else { i * 0x100 },
                    block: 40 + i,
                })
                .collect();
            let limit = node_limit(bs, off, csum);
            write_entries(&mut b, off, limit, &entries);
            if csum {
                assert!(set_node_checksum(1, InodeNo(2), Generation(0), &mut b));
            } else {
                // No room was left for a tail.
                assert!(!set_node_checksum(
                    1,
                    InodeNo(2),
                    Generation(0),
                    &mut b.clone()
                ));
            }
            let n = parse_node(&b, csum, InodeNo(2), 1).unwrap();
            assert_eq!(n.entries, entries);
            assert_eq!(n.limit, limit);
            assert_eq!(entries_offset(&b), 8);
            if csum {
                assert!(n.verify_checksum(1, InodeNo(2), Generation(0), &b));
            }
        }
    }

    #[test]
    #[should_panic(expected = "over limit")]
    fn write_entries_refuses_overflow() {
        let mut b = vec![0u8; 64];
        write_entries(&mut b, 8, 1, &[DxEntry { hash: 0, block: 1 }; 2]);
    }
}
