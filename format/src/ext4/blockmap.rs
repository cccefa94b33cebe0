//! Block-mapped (ext2/ext3) files: where the pointer for a logical block
//! lives in the direct, single-, double- and triple-indirect tree.

/// Number of direct pointers in i_block.
pub const DIRECT: u64 = 12;

/// The route to a logical block: the i_block slot to start from, then the
/// index to take in each indirect block on the way down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub slot: usize,
    pub path: Vec<u32>,
    /// First logical block covered by this slot's pointer.
    pub first: u64,
}

/// Computes the route for `lblk` with `per_block` pointers per block, or
/// None past the triple-indirect range.
pub fn route(lblk: u64, per_block: u64) -> Option<Route> {
    if lblk < DIRECT {
        return Some(Route {
            slot: lblk as usize,
            path: vec![],
            first: lblk,
        });
    }
    let mut rest = lblk - DIRECT;
    let mut first = DIRECT;
    let mut span = per_block;
    for (level, slot) in [12usize, 13, 14].into_iter().enumerate() {
        if rest < span {
            // Digits of `rest` in base `per_block`, most significant first.
            let path = (0..=level as u32)
                .rev()
                .map(|d| ((rest / per_block.pow(d)) % per_block) as u32)
                .collect();
            return Some(Route { slot, path, first });
        }
        rest -= span;
        first += span;
        span = span.checked_mul(per_block)?;
    }
    None
}

/// Logical blocks one pointer at `level` covers (level 0: a data block).
pub fn span(per_block: u64, level: u32) -> u64 {
    per_block.saturating_pow(level)
}

/// One past the last logical block the direct, single-, double- and
/// triple-indirect pointers can reach.
pub fn tree_blocks(per_block: u64) -> u64 {
    (1..=3).fold(DIRECT, |n, level| n.saturating_add(span(per_block, level)))
}

/// The number of logical blocks a block-mapped file may have, as the
/// kernel's `ext4_max_bitmap_size` (in blocks): the tree's reach, unless
/// i_blocks (32 bits of 512-byte sectors without huge_file, 48 bits of
/// blocks with it) would overflow for a dense file counting its indirect
/// blocks; and never past 2^32 - 1, as logical block numbers are 32 bits.
pub fn max_blocks(block_size: u32, huge_file: bool) -> u64 {
    let ppb = block_size as u64 / 4;
    let mut upper = if huge_file {
        (1u64 << 48) - 1
    } else {
        ((1u64 << 32) - 1) >> (block_size.trailing_zeros() - 9)
    };
    let res = tree_blocks(ppb);
    let meta = 1 + (1 + ppb) + (1 + ppb + ppb * ppb);
    let blocks = if res + meta <= upper {
        res
    } else {
        // Address `upper` blocks of data and indirect blocks together.
        let res = upper;
        upper -= DIRECT + ppb;
        let mut meta = 1;
        if upper < ppb * ppb {
            meta += 1 + upper.div_ceil(ppb);
        } else {
            meta += 1 + ppb;
            upper -= ppb * ppb;
            meta += 1 + upper.div_ceil(ppb) + upper.div_ceil(ppb * ppb);
        }
        res - meta
    };
    blocks.min(u32::MAX as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(lblk: u64, p: u64) -> Option<(usize, Vec<u32>)> {
        route(lblk, p).map(|r| (r.slot, r.path))
    }

    #[test]
    fn routes() {
        let p = 256;
        assert_eq!(sp(0, p), Some((0, vec![])));
        assert_eq!(sp(11, p), Some((11, vec![])));
        assert_eq!(sp(12, p), Some((12, vec![0])));
        assert_eq!(sp(12 + 255, p), Some((12, vec![255])));
        assert_eq!(sp(12 + 256, p), Some((13, vec![0, 0])));
        assert_eq!(sp(12 + 256 + 257, p), Some((13, vec![1, 1])));
        let t = 12 + 256 + 65536;
        assert_eq!(sp(t, p), Some((14, vec![0, 0, 0])));
        assert_eq!(sp(t + 65536 + 256 + 1, p), Some((14, vec![1, 1, 1])));
        assert_eq!(sp(t + 256 * 65536, p), None);
    }

    #[test]
    fn first_block_of_each_slot() {
        let p = 256;
        let t = 12 + 256 + 65536;
        assert_eq!(route(7, p).unwrap().first, 7);
        assert_eq!(route(12 + 100, p).unwrap().first, 12);
        assert_eq!(route(12 + 300, p).unwrap().first, 12 + 256);
        assert_eq!(route(t + 5, p).unwrap().first, t);
    }

    #[test]
    fn tree_reach() {
        assert_eq!(tree_blocks(256), 12 + 256 + 65536 + 16_777_216);
        assert_eq!(span(256, 0), 1);
        assert_eq!(span(256, 2), 65536);
        assert!(route(tree_blocks(256) - 1, 256).is_some());
        assert!(route(tree_blocks(256), 256).is_none());
    }

    #[test]
    fn max_blocks_as_the_kernel() {
        // 1 KiB blocks: the tree is the limit, with or without huge_file.
        assert_eq!(max_blocks(1024, false), tree_blocks(256));
        assert_eq!(max_blocks(1024, true), tree_blocks(256));
        // 4 KiB with huge_file: the tree (s_bitmap_maxbytes 4402345721856).
        assert_eq!(max_blocks(4096, true) * 4096, 4_402_345_721_856);
        // Without huge_file, i_blocks' 2^32 sectors bound data plus
        // indirect blocks (values of ext4_max_bitmap_size >> bits).
        assert_eq!(max_blocks(4096, false), 536_346_110);
        assert_eq!(max_blocks(65536, false), 33_552_382);
        // 64 KiB: the tree reaches 2^42 blocks, logical numbers stop at 2^32.
        assert_eq!(max_blocks(65536, true), u32::MAX as u64);
    }
}
