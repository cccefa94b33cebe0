//! Extended attribute structures: `struct ext4_xattr_header` opening an
//! external xattr block, `struct ext4_xattr_ibody_header` opening the
//! in-inode area, and `struct ext4_xattr_entry` (the name follows it,
//! padded to 4 bytes).

use zerocopy::little_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `struct ext4_xattr_header`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct Ext4XattrHeader {
    pub h_magic: U32,
    pub h_refcount: U32,
    pub h_blocks: U32,
    pub h_hash: U32,
    pub h_checksum: U32,
    pub h_reserved: [U32; 3],
}

/// `struct ext4_xattr_ibody_header`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct Ext4XattrIbodyHeader {
    pub h_magic: U32,
}

/// `struct ext4_xattr_entry` up to its name.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct Ext4XattrEntry {
    pub e_name_len: u8,
    pub e_name_index: u8,
    pub e_value_offs: U16,
    pub e_value_inum: U32,
    pub e_value_size: U32,
    pub e_hash: U32,
}

const _: () = assert!(size_of::<Ext4XattrHeader>() == 32);
const _: () = assert!(size_of::<Ext4XattrIbodyHeader>() == 4);
const _: () = assert!(size_of::<Ext4XattrEntry>() == 16);
const _: () = assert!(core::mem::offset_of!(Ext4XattrHeader, h_checksum) == 0x10);

impl Ext4XattrHeader {
    /// The header at the start of `block`, None when shorter.
    pub fn of(block: &[u8]) -> Option<&Ext4XattrHeader> {
        Ext4XattrHeader::ref_from_prefix(block).ok().map(|(h, _)| h)
    }

    /// The header at the start of `block`, to change in place.
    pub fn of_mut(block: &mut [u8]) -> Option<&mut Ext4XattrHeader> {
        Ext4XattrHeader::mut_from_prefix(block).ok().map(|(h, _)| h)
    }
}

impl Ext4XattrEntry {
    /// The entry header at `off` in `area`, None when it does not fit.
    pub fn at(area: &[u8], off: usize) -> Option<&Ext4XattrEntry> {
        Ext4XattrEntry::ref_from_prefix(area.get(off..)?)
            .ok()
            .map(|(e, _)| e)
    }

    /// The entry header at `off` in `area`, to change in place.
    pub fn at_mut(area: &mut [u8], off: usize) -> Option<&mut Ext4XattrEntry> {
        Ext4XattrEntry::mut_from_prefix(area.get_mut(off..)?)
            .ok()
            .map(|(e, _)| e)
    }
}

/// `ext4_acl_header`: the on-disk POSIX ACL value's first word.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct Ext4AclHeader {
    pub a_version: U32,
}

/// `ext4_acl_entry_short`: an on-disk ACL entry whose tag has no id.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct Ext4AclEntryShort {
    pub e_tag: U16,
    pub e_perm: U16,
}

/// `ext4_acl_entry`: an on-disk ACL entry with an id (ACL_USER,
/// ACL_GROUP).
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct Ext4AclEntry {
    pub e_tag: U16,
    pub e_perm: U16,
    pub e_id: U32,
}

/// `struct posix_acl_xattr_entry`: the VFS form's entry (the header is
/// an [`Ext4AclHeader`] with another version).
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct PosixAclXattrEntry {
    pub e_tag: U16,
    pub e_perm: U16,
    pub e_id: U32,
}

const _: () = assert!(size_of::<Ext4AclHeader>() == 4);
const _: () = assert!(size_of::<Ext4AclEntryShort>() == 4);
const _: () = assert!(size_of::<Ext4AclEntry>() == 8);
const _: () = assert!(size_of::<PosixAclXattrEntry>() == 8);
