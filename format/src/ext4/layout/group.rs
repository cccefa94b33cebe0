//! `struct ext4_group_desc`: the 32 bytes every block group descriptor
//! has ([`Ext4GroupDesc`]) and the high halves of descriptors of 64
//! bytes or more (`s_desc_size` with 64bit, [`Ext4GroupDescHi`]).

use zerocopy::little_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// The first 32 bytes of `struct ext4_group_desc` (EXT4_MIN_DESC_SIZE).
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct Ext4GroupDesc {
    pub bg_block_bitmap_lo: U32,
    pub bg_inode_bitmap_lo: U32,
    pub bg_inode_table_lo: U32,
    pub bg_free_blocks_count_lo: U16,
    pub bg_free_inodes_count_lo: U16,
    pub bg_used_dirs_count_lo: U16,
    pub bg_flags: U16,
    pub bg_exclude_bitmap_lo: U32,
    pub bg_block_bitmap_csum_lo: U16,
    pub bg_inode_bitmap_csum_lo: U16,
    pub bg_itable_unused_lo: U16,
    pub bg_checksum: U16,
}

/// Bytes 32..64 of `struct ext4_group_desc` (EXT4_MIN_DESC_SIZE_64BIT).
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct Ext4GroupDescHi {
    pub bg_block_bitmap_hi: U32,
    pub bg_inode_bitmap_hi: U32,
    pub bg_inode_table_hi: U32,
    pub bg_free_blocks_count_hi: U16,
    pub bg_free_inodes_count_hi: U16,
    pub bg_used_dirs_count_hi: U16,
    pub bg_itable_unused_hi: U16,
    pub bg_exclude_bitmap_hi: U32,
    pub bg_block_bitmap_csum_hi: U16,
    pub bg_inode_bitmap_csum_hi: U16,
    pub bg_reserved: U32,
}

const _: () = assert!(size_of::<Ext4GroupDesc>() == 32);
const _: () = assert!(size_of::<Ext4GroupDescHi>() == 32);
const _: () = {
    use core::mem::offset_of;
    assert!(offset_of!(Ext4GroupDesc, bg_flags) == 0x12);
    assert!(offset_of!(Ext4GroupDesc, bg_checksum) == 0x1E);
    assert!(offset_of!(Ext4GroupDescHi, bg_block_bitmap_csum_hi) == 0x38 - 0x20);
};

impl Ext4GroupDesc {
    /// Where the high halves start in a wide descriptor.
    pub const HI_OFFSET: usize = size_of::<Ext4GroupDesc>();
    /// The byte offset of bg_checksum, which its own checksum skips.
    pub const CSUM_OFFSET: usize = core::mem::offset_of!(Ext4GroupDesc, bg_checksum);
}
