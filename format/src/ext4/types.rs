//! Newtypes for on-disk units, so that an inode number is never used as a
//! block number by accident.

use std::fmt;

/// An ext4 inode number (1-based; 2 is the root directory). The default,
/// 0, names no inode: what a directory entry, `..` or parent link that is
/// missing reads as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct InodeNo(pub u32);

/// A filesystem block number (64-bit with the 64bit feature).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockNo(pub u64);

/// An inode's i_generation, bumped each time the inode number is reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Generation(pub u32);

impl InodeNo {
    /// The root directory.
    pub const ROOT: InodeNo = InodeNo(2);
    /// The resize inode (it maps the reserved group descriptor blocks).
    pub const RESIZE: InodeNo = InodeNo(7);
}

impl fmt::Display for InodeNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "inode {}", self.0)
    }
}

/// Arithmetic on physical block numbers, so that a block stays a
/// `BlockNo` from a walk to the device and is never mistaken for a
/// logical block or a count. Each method does what the bare `u64`
/// arithmetic it stands for does (overflow included).
impl BlockNo {
    /// The block `n` blocks after this one.
    #[inline]
    pub fn plus(self, n: u64) -> BlockNo {
        BlockNo(self.0 + n)
    }

    /// As [`BlockNo::plus`], stopping at the largest block number.
    #[inline]
    pub fn saturating_plus(self, n: u64) -> BlockNo {
        BlockNo(self.0.saturating_add(n))
    }

    /// How many blocks this one lies after `base`.
    #[inline]
    pub fn offset_from(self, base: BlockNo) -> u64 {
        self.0 - base.0
    }

    /// The `len` blocks from this one on.
    #[inline]
    pub fn run(self, len: u64) -> Blocks {
        self.up_to(self.plus(len))
    }

    /// The blocks from this one up to `end`, not included.
    #[inline]
    pub fn up_to(self, end: BlockNo) -> Blocks {
        Blocks(self.0..end.0)
    }

    /// This block's index in a bitmap of the whole filesystem (one bit a
    /// block, from block 0).
    #[inline]
    pub fn bit(self) -> usize {
        self.0 as usize
    }
}

/// A run of physical blocks, in order ([`BlockNo::run`], [`BlockNo::up_to`]).
#[derive(Debug, Clone)]
pub struct Blocks(std::ops::Range<u64>);

impl Iterator for Blocks {
    type Item = BlockNo;

    #[inline]
    fn next(&mut self) -> Option<BlockNo> {
        self.0.next().map(BlockNo)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for Blocks {
    #[inline]
    fn next_back(&mut self) -> Option<BlockNo> {
        self.0.next_back().map(BlockNo)
    }
}

impl fmt::Display for BlockNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "block {}", self.0)
    }
}

/// Little-endian field readers for on-disk structures. Callers have checked
/// the slice length, so out-of-range offsets are programming errors. The
/// byte helpers are named `get_`/`put_` plus the byte order and width (as
/// jbd2's big-endian `put_be32`), so a call site says which order it means.
pub fn get_le16(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

pub fn get_le32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

pub fn get_le64(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}

/// Little-endian field writers, the inverse of the readers above.
pub fn put_le16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_le_bytes());
}

pub fn put_le32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

pub fn put_le64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_runs_and_offsets() {
        let b = BlockNo(10);
        assert_eq!(b.plus(3), BlockNo(13));
        assert_eq!(BlockNo(u64::MAX - 1).saturating_plus(5), BlockNo(u64::MAX));
        assert_eq!(BlockNo(13).offset_from(b), 3);
        assert_eq!(
            b.run(3).collect::<Vec<_>>(),
            [BlockNo(10), BlockNo(11), BlockNo(12)]
        );
        assert_eq!(b.run(0).count(), 0);
        assert_eq!(BlockNo(5).up_to(BlockNo(4)).count(), 0);
        assert_eq!(BlockNo(7).bit(), 7);
    }
}
