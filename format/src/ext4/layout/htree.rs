//! The hashed directory index's structures: `struct dx_root` (block 0:
//! "." and ".." as fake entries, then `struct dx_root_info`),
//! `struct dx_node` (an interior block: one fake entry spanning it),
//! then `struct dx_countlimit` over the first `struct dx_entry`, and
//! `struct dx_tail` after `limit` entries with metadata_csum.

use zerocopy::little_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::dir::Ext4DirEntry2;

/// `struct dx_root_info`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct DxRootInfo {
    pub reserved_zero: U32,
    pub hash_version: u8,
    /// 8: the size of this struct.
    pub info_length: u8,
    pub indirect_levels: u8,
    pub unused_flags: u8,
}

/// `struct dx_root` up to its entries.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct DxRoot {
    pub dot: Ext4DirEntry2,
    pub dot_name: [u8; 4],
    pub dotdot: Ext4DirEntry2,
    pub dotdot_name: [u8; 4],
    pub info: DxRootInfo,
}

/// `struct dx_node` up to its entries.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct DxNode {
    pub fake: Ext4DirEntry2,
}

/// `struct dx_entry`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct DxEntry {
    pub hash: U32,
    pub block: U32,
}

/// `struct dx_countlimit`: overlays the hash of entry 0.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct DxCountlimit {
    pub limit: U16,
    pub count: U16,
}

/// `struct dx_tail`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct DxTail {
    pub dt_reserved: U32,
    pub dt_checksum: U32,
}

const _: () = assert!(size_of::<DxRootInfo>() == 8);
const _: () = assert!(size_of::<DxRoot>() == 0x20);
const _: () = assert!(size_of::<DxNode>() == 8);
const _: () = assert!(size_of::<DxEntry>() == 8);
const _: () = assert!(size_of::<DxCountlimit>() == 4);
const _: () = assert!(size_of::<DxTail>() == 8);
const _: () = assert!(core::mem::offset_of!(DxRoot, info) == 0x18);
