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

impl Ext4ExtentHeader {
    /// The header at the start of the node `node`, None when shorter.
    pub fn of(node: &[u8]) -> Option<&Ext4ExtentHeader> {
        Ext4ExtentHeader::ref_from_prefix(node).ok().map(|(h, _)| h)
    }

    /// The header at the start of `node`, to change in place.
    pub fn of_mut(node: &mut [u8]) -> Option<&mut Ext4ExtentHeader> {
        Ext4ExtentHeader::mut_from_prefix(node).ok().map(|(h, _)| h)
    }

    /// Where entry `i` of a node starts (leaf and index entries have the
    /// same size).
    pub const fn entry_offset(i: usize) -> usize {
        size_of::<Ext4ExtentHeader>() + i * size_of::<Ext4Extent>()
    }
}

impl Ext4Extent {
    /// Leaf entry `i` of the node `node`, None past its end.
    pub fn at(node: &[u8], i: usize) -> Option<&Ext4Extent> {
        let off = Ext4ExtentHeader::entry_offset(i);
        Ext4Extent::ref_from_prefix(node.get(off..)?)
            .ok()
            .map(|(e, _)| e)
    }

    /// Leaf entry `i` of `node`, to change in place.
    pub fn at_mut(node: &mut [u8], i: usize) -> Option<&mut Ext4Extent> {
        let off = Ext4ExtentHeader::entry_offset(i);
        Ext4Extent::mut_from_prefix(node.get_mut(off..)?)
            .ok()
            .map(|(e, _)| e)
    }
}

impl Ext4ExtentIdx {
    /// Index entry `i` of the node `node`, None past its end.
    pub fn at(node: &[u8], i: usize) -> Option<&Ext4ExtentIdx> {
        let off = Ext4ExtentHeader::entry_offset(i);
        Ext4ExtentIdx::ref_from_prefix(node.get(off..)?)
            .ok()
            .map(|(e, _)| e)
    }

    /// Index entry `i` of `node`, to change in place.
    pub fn at_mut(node: &mut [u8], i: usize) -> Option<&mut Ext4ExtentIdx> {
        let off = Ext4ExtentHeader::entry_offset(i);
        Ext4ExtentIdx::mut_from_prefix(node.get_mut(off..)?)
            .ok()
            .map(|(e, _)| e)
    }
}
