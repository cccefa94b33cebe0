//! The block map of an inode without extents: i_block's EXT4_N_BLOCKS
//! `__le32` slots (EXT4_NDIR_BLOCKS direct blocks, then the indirect,
//! double and triple indirect block) and every indirect block, each an
//! array of `__le32` block numbers.

use zerocopy::FromBytes;
use zerocopy::little_endian::U32;

/// The `__le32` block numbers in `b` (i_block or an indirect block);
/// trailing bytes short of a whole number are left out.
pub fn block_ptrs(b: &[u8]) -> &[U32] {
    <[U32]>::ref_from_prefix_with_elems(b, b.len() / size_of::<U32>())
        .map(|(p, _)| p)
        .expect("whole U32s fit: alignment 1")
}

/// [`block_ptrs`], to change in place.
pub fn block_ptrs_mut(b: &mut [u8]) -> &mut [U32] {
    let n = b.len() / size_of::<U32>();
    <[U32]>::mut_from_prefix_with_elems(b, n)
        .map(|(p, _)| p)
        .expect("whole U32s fit: alignment 1")
}

const _: () = assert!(size_of::<U32>() == 4);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_little_endian_words_in_order() {
        let mut b = [0u8; 10];
        b[4..8].copy_from_slice(&0x0102_0304u32.to_le_bytes());
        assert_eq!(block_ptrs(&b).len(), 2);
        assert_eq!(block_ptrs(&b)[1].get(), 0x0102_0304);
        block_ptrs_mut(&mut b)[0].set(0xA0B0_C0D0);
        assert_eq!(b[..4], 0xA0B0_C0D0u32.to_le_bytes());
        assert_eq!(b[8..], [0, 0]);
    }
}
