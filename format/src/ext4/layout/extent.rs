//! The extent tree's on-disk structures: `struct ext4_extent_header`
//! opening every node, then `struct ext4_extent_idx` (index nodes) or
//! `struct ext4_extent` (leaves), and `struct ext4_extent_tail` after
//! eh_max entries in a tree block.

use zerocopy::little_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `struct ext4_extent_header`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct Ext4ExtentHeader {
    pub eh_magic: U16,
    pub eh_entries: U16,
    pub eh_max: U16,
    pub eh_depth: U16,
    pub eh_generation: U32,
}

/// `struct ext4_extent`: a leaf entry.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct Ext4Extent {
    pub ee_block: U32,
    pub ee_len: U16,
    pub ee_start_hi: U16,
    pub ee_start_lo: U32,
}

/// `struct ext4_extent_idx`: an index entry.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct Ext4ExtentIdx {
    pub ei_block: U32,
    pub ei_leaf_lo: U32,
    pub ei_leaf_hi: U16,
    pub ei_unused: U16,
}

/// `struct ext4_extent_tail`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct Ext4ExtentTail {
    pub et_checksum: U32,
}

const _: () = assert!(size_of::<Ext4ExtentHeader>() == 12);
const _: () = assert!(size_of::<Ext4Extent>() == 12);
const _: () = assert!(size_of::<Ext4ExtentIdx>() == 12);
const _: () = assert!(size_of::<Ext4ExtentTail>() == 4);
