//! Arithmetic on physical block numbers. The format crate's `BlockNo`
//! carries no methods: until it does, the passes step through runs of
//! blocks, measure offsets within a group and index the filesystem-wide
//! bitmaps through [`BlockArith`], so that a physical block stays a
//! `BlockNo` from the walk to the device and is never mistaken for a
//! logical block or a count.

use fuse4fs_format::ext4::BlockNo;

/// What the passes do with a physical block number. Every method does
/// what the bare `u64` arithmetic it replaces did (overflow included).
pub trait BlockArith: Copy {
    /// The block `n` blocks further on.
    fn plus(self, n: u64) -> BlockNo;
    /// [`BlockArith::plus`], stopping at the largest block number.
    fn saturating_plus(self, n: u64) -> BlockNo;
    /// How many blocks past `base` it lies (`base` at or before it).
    fn offset_from(self, base: BlockNo) -> u64;
    /// The `len` blocks from this one on.
    fn run(self, len: u64) -> Blocks;
    /// Its bit in a bitmap over every block of the filesystem.
    fn bit(self) -> usize;
}

impl BlockArith for BlockNo {
    #[inline]
    fn plus(self, n: u64) -> BlockNo {
        BlockNo(self.0 + n)
    }

    #[inline]
    fn saturating_plus(self, n: u64) -> BlockNo {
        BlockNo(self.0.saturating_add(n))
    }

    #[inline]
    fn offset_from(self, base: BlockNo) -> u64 {
        self.0 - base.0
    }

    #[inline]
    fn run(self, len: u64) -> Blocks {
        blocks(self, self.plus(len))
    }

    #[inline]
    fn bit(self) -> usize {
        self.0 as usize
    }
}

/// The blocks from `start` up to (not including) `end`, in order.
#[inline]
pub fn blocks(start: BlockNo, end: BlockNo) -> Blocks {
    Blocks(start.0..end.0)
}

/// A run of blocks, in order (see [`blocks`]).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_and_offsets() {
        let b = BlockNo(10);
        assert_eq!(b.plus(3), BlockNo(13));
        assert_eq!(BlockNo(u64::MAX - 1).saturating_plus(5), BlockNo(u64::MAX));
        assert_eq!(BlockNo(13).offset_from(b), 3);
        assert_eq!(
            b.run(3).collect::<Vec<_>>(),
            [BlockNo(10), BlockNo(11), BlockNo(12)]
        );
        assert_eq!(b.run(0).count(), 0);
        assert_eq!(blocks(BlockNo(5), BlockNo(4)).count(), 0);
        assert_eq!(BlockNo(7).bit(), 7);
    }
}
