//! Directory leaf structures: `struct ext4_dir_entry_2` (the 8-byte
//! header each name follows) and `struct ext4_dir_entry_tail`, the fake
//! entry at the end of a leaf block that holds its checksum.

use zerocopy::little_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `struct ext4_dir_entry_2` up to its name (`name[EXT4_NAME_LEN]`
/// follows, name_len bytes of it used).
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct Ext4DirEntry2 {
    pub inode: U32,
    pub rec_len: U16,
    pub name_len: u8,
    pub file_type: u8,
}

/// `struct ext4_dir_entry_tail`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct Ext4DirEntryTail {
    /// Zero: no inode, so walkers skip it.
    pub det_reserved_zero1: U32,
    /// 12.
    pub det_rec_len: U16,
    /// Zero: no name.
    pub det_reserved_zero2: u8,
    /// 0xDE.
    pub det_reserved_ft: u8,
    pub det_checksum: U32,
}

const _: () = assert!(size_of::<Ext4DirEntry2>() == 8);
const _: () = assert!(size_of::<Ext4DirEntryTail>() == 12);

impl Ext4DirEntry2 {
    /// Where the name starts in an entry.
    pub const NAME_OFFSET: usize = size_of::<Ext4DirEntry2>();

    /// The entry header at the start of `b`, None when shorter.
    pub fn of(b: &[u8]) -> Option<&Ext4DirEntry2> {
        Ext4DirEntry2::ref_from_prefix(b).ok().map(|(e, _)| e)
    }

    /// The entry header at the start of `b`, to change in place.
    pub fn of_mut(b: &mut [u8]) -> Option<&mut Ext4DirEntry2> {
        Ext4DirEntry2::mut_from_prefix(b).ok().map(|(e, _)| e)
    }
}

impl Ext4DirEntryTail {
    /// The tail at the end of the leaf block `block`, None when shorter.
    pub fn of(block: &[u8]) -> Option<&Ext4DirEntryTail> {
        Ext4DirEntryTail::ref_from_suffix(block)
            .ok()
            .map(|(_, t)| t)
    }

    /// The tail at the end of the leaf block `block`, to change in place.
    pub fn of_mut(block: &mut [u8]) -> Option<&mut Ext4DirEntryTail> {
        Ext4DirEntryTail::mut_from_suffix(block)
            .ok()
            .map(|(_, t)| t)
    }
}
