//! `struct ext4_orphan_block_tail`: the last 8 bytes of each orphan
//! file block, after its `__le32` inode-number slots.

use zerocopy::little_endian::U32;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `struct ext4_orphan_block_tail`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct Ext4OrphanBlockTail {
    pub ob_magic: U32,
    pub ob_checksum: U32,
}

const _: () = assert!(size_of::<Ext4OrphanBlockTail>() == 8);
