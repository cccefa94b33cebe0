//! fallocate(2): preallocation (unwritten extents), PUNCH_HOLE and
//! ZERO_RANGE.

use super::create::now;
use super::extent::map::Backing;
use super::journal::transaction::Transaction;
use super::{Fs, FsError, InodeRef, Result};
use crate::ext4::inode::{Inode, flags};

pub const FALLOC_FL_KEEP_SIZE: u32 = 0x01;
pub const FALLOC_FL_PUNCH_HOLE: u32 = 0x02;
pub const FALLOC_FL_COLLAPSE_RANGE: u32 = 0x08;
pub const FALLOC_FL_ZERO_RANGE: u32 = 0x10;
pub const FALLOC_FL_INSERT_RANGE: u32 = 0x20;

impl Fs {
    /// fallocate(2) on regular file `node` over `[offset, offset + len)`.
    /// Unknown modes: EOPNOTSUPP.
    pub fn fallocate(
        &self,
        node: impl Into<InodeRef>,
        offset: u64,
        len: u64,
        mode: u32,
    ) -> Result<()> {
        let node = node.into();
        // vfs_fallocate: only a plain allocation on an append-only file,
        // nothing on an immutable one.
        let inode = self.inode(node.ino)?;
        if mode & !FALLOC_FL_KEEP_SIZE != 0 && inode.has_flag(flags::APPEND) {
            return Err(FsError::Perm);
        }
        super::attr_flags::may_write(&inode)?;
        if mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE) != 0 {
            return self.shift_range(node, offset, len, mode);
        }
        let known = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE;
        if mode & !known != 0 {
            return Err(FsError::Unsupported);
        }
        let punch = mode & FALLOC_FL_PUNCH_HOLE != 0;
        let zero = mode & FALLOC_FL_ZERO_RANGE != 0;
        if len == 0 || (punch && (zero || mode & FALLOC_FL_KEEP_SIZE == 0)) {
            return Err(FsError::Invalid);
        }
        let end = offset.checked_add(len).ok_or(FsError::TooBig)?;
        let _locks = self.inode_locks.lock(&[node.ino]);
        let mut tx = self.begin()?;
        let mut inode = regular_file(&tx, node)?;
        if end > self.max_file_size(&inode) {
            return Err(FsError::TooBig);
        }
        if inode.has_flag(flags::INLINE_DATA) {
            self.uninline(&mut tx, &mut inode)?;
        }
        // As ext4_fallocate: block-mapped files can only punch.
        if !punch && !inode.has_flag(flags::EXTENTS) {
            return Err(FsError::Unsupported);
        }
        let bs = self.block_size() as u64;
        // As ext4_punch_hole: no further than the end of the host page
        // that holds EOF (nothing past EOF), so a KEEP_SIZE preallocation
        // beyond it survives; the times change all the same.
        let end = if punch && offset >= inode.size {
            offset
        } else if punch {
            end.min(inode.size.next_multiple_of(host_page_size()))
        } else {
            end
        };
        if (punch || zero) && offset < end {
            // Whole blocks inside the range go (punch) or become unwritten
            // (zero); the partial blocks at its edges are zeroed in place.
            let (first_full, end_full) = (offset.div_ceil(bs), end / bs);
            for (s, e) in edge_pieces(offset, end, bs) {
                self.zero_bytes(&mut tx, &mut inode, s, e, !punch)?;
            }
            if first_full < end_full {
                if zero {
                    tx.extent_zero_range(&mut inode, first_full, end_full - first_full)?;
                } else {
                    tx.unmap_range(&mut inode, first_full, end_full)?;
                }
            }
        } else if !punch && !zero {
            tx.map_prealloc(&mut inode, offset / bs, (end - 1) / bs - offset / bs + 1)?;
        }
        if !punch && mode & FALLOC_FL_KEEP_SIZE == 0 && end > inode.size {
            inode.size = end;
            self.note_large_file(&mut tx, end);
        }
        // ext4_fallocate (6.18) calls file_modified() in every mode: both
        // times change even when nothing was allocated or punched.
        let t = now();
        inode.mtime = t;
        inode.ctime = t;
        tx.put_inode(inode);
        tx.commit()
    }

    /// COLLAPSE_RANGE (the range goes, the rest moves down) and
    /// INSERT_RANGE (a hole opens, the rest moves up), with the kernel's
    /// rules: alone, cluster-aligned (block-aligned without bigalloc:
    /// a logical cluster must stay in its physical one), inside the file,
    /// extent-mapped only.
    fn shift_range(&self, node: InodeRef, offset: u64, len: u64, mode: u32) -> Result<()> {
        let collapse = mode == FALLOC_FL_COLLAPSE_RANGE;
        if !collapse && mode != FALLOC_FL_INSERT_RANGE {
            return Err(FsError::Invalid);
        }
        let bs = self.block_size() as u64;
        let unit = bs << self.superblock().cluster_bits();
        if len == 0 || !offset.is_multiple_of(unit) || !len.is_multiple_of(unit) {
            return Err(FsError::Invalid);
        }
        let _locks = self.inode_locks.lock(&[node.ino]);
        let mut tx = self.begin()?;
        let mut inode = regular_file(&tx, node)?;
        if !inode.has_flag(flags::EXTENTS) {
            return Err(FsError::Unsupported);
        }
        let (lblk, n) = (offset / bs, len / bs);
        if collapse {
            if offset.checked_add(len).is_none_or(|e| e >= inode.size) {
                return Err(FsError::Invalid);
            }
            tx.extent_collapse_range(&mut inode, lblk, n)?;
            inode.size -= len;
        } else {
            if offset >= inode.size {
                return Err(FsError::Invalid);
            }
            let size = inode.size.checked_add(len).ok_or(FsError::TooBig)?;
            if size > self.max_file_size(&inode) {
                return Err(FsError::TooBig);
            }
            tx.extent_insert_range(&mut inode, lblk, n)?;
            inode.size = size;
            self.note_large_file(&mut tx, size);
        }
        let t = now();
        inode.mtime = t;
        inode.ctime = t;
        tx.put_inode(inode);
        tx.commit()
    }

    /// Zeroes bytes `[s, e)` (within one block) if they are backed by
    /// written data; with `allocate`, a hole there gets an unwritten block.
    /// Overwrites of existing data are written by the commit, so a failed
    /// call changes nothing and a committed one is complete.
    fn zero_bytes(
        &self,
        tx: &mut Transaction<'_>,
        inode: &mut Inode,
        s: u64,
        e: u64,
        allocate: bool,
    ) -> Result<()> {
        let bs = self.block_size() as u64;
        match tx.map(inode, s / bs)?.backing {
            Backing::Data(b) => {
                tx.write_data_at_commit(b, (s % bs) as usize, vec![0; (e - s) as usize])
            }
            // Unwritten, as the kernel preallocates the edges: a written
            // block of zeros past EOF (KEEP_SIZE) is one e2fsck rejects.
            Backing::Hole if allocate => tx.map_prealloc(inode, s / bs, 1)?,
            Backing::Hole | Backing::Unwritten => {}
        }
        Ok(())
    }
}

/// The regular file fallocate works on: EISDIR for a directory, ENODEV
/// for anything else, as the kernel answers.
fn regular_file(tx: &Transaction<'_>, node: InodeRef) -> Result<Inode> {
    let inode = tx.live_inode(node)?;
    if !inode.is_reg() {
        return Err(if inode.is_dir() {
            FsError::IsDir
        } else {
            FsError::NoDev
        });
    }
    Ok(inode)
}

/// The partial-block pieces at the edges of `[s, e)`: at most two, each
/// inside one block.
fn edge_pieces(s: u64, e: u64, bs: u64) -> Vec<(u64, u64)> {
    if s / bs == (e - 1) / bs {
        if s.is_multiple_of(bs) && e.is_multiple_of(bs) {
            return Vec::new();
        }
        return vec![(s, e)];
    }
    let mut v = Vec::new();
    if !s.is_multiple_of(bs) {
        v.push((s, (s / bs + 1) * bs));
    }
    if !e.is_multiple_of(bs) {
        v.push(((e / bs) * bs, e));
    }
    v
}

/// The host's page size: the kernel's ext4 rounds a punch's end to it.
fn host_page_size() -> u64 {
    rustix::param::page_size() as u64
}

#[cfg(test)]
mod tests {
    use super::edge_pieces;

    #[test]
    fn edges_of_ranges() {
        assert_eq!(edge_pieces(0, 4096, 4096), vec![]);
        assert_eq!(edge_pieces(10, 20, 4096), vec![(10, 20)]);
        assert_eq!(edge_pieces(10, 8192, 4096), vec![(10, 4096)]);
        assert_eq!(edge_pieces(4096, 9000, 4096), vec![(8192, 9000)]);
        assert_eq!(
            edge_pieces(100, 9000, 4096),
            vec![(100, 4096), (8192, 9000)]
        );
    }
}
