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
const _: () = assert!(core::mem::offset_of!(Ext4XattrEntry, e_value_inum) == 4);

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

impl Ext4XattrIbodyHeader {
    /// Where the in-inode area's entries (and its value offsets) start.
    pub const SIZE: usize = size_of::<Ext4XattrIbodyHeader>();

    /// The header at the start of the in-inode area `ibody`, None when
    /// shorter.
    pub fn of(ibody: &[u8]) -> Option<&Ext4XattrIbodyHeader> {
        Ext4XattrIbodyHeader::ref_from_prefix(ibody)
            .ok()
            .map(|(h, _)| h)
    }

    /// The header at the start of `ibody`, to change in place.
    pub fn of_mut(ibody: &mut [u8]) -> Option<&mut Ext4XattrIbodyHeader> {
        Ext4XattrIbodyHeader::mut_from_prefix(ibody)
            .ok()
            .map(|(h, _)| h)
    }
}

impl Ext4XattrEntry {
    /// Where the name starts in an entry.
    pub const NAME_OFFSET: usize = size_of::<Ext4XattrEntry>();

    /// The bytes ending an entry list: the kernel's IS_LAST_ENTRY reads
    /// e_name_len, e_name_index and e_value_offs as one zero `__u32`.
    pub const TERMINATOR_LEN: usize = core::mem::offset_of!(Ext4XattrEntry, e_value_inum);

    /// Whether the list in `area` ends at `off` (IS_LAST_ENTRY); true
    /// past the end of `area` too, so that a walk stops there.
    pub fn is_last(area: &[u8], off: usize) -> bool {
        area.get(off..)
            .and_then(|a| a.get(..Self::TERMINATOR_LEN))
            .is_none_or(|w| w.iter().all(|&b| b == 0))
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_fields_and_the_terminator_sit_where_the_kernel_puts_them() {
        let mut area = [0u8; 24];
        Ext4XattrIbodyHeader::of_mut(&mut area)
            .unwrap()
            .h_magic
            .set(0xEA02_0000);
        assert_eq!(area[..4], [0, 0, 0x02, 0xEA]);
        let e = Ext4XattrEntry::at_mut(&mut area, 4).unwrap();
        e.e_name_len = 1;
        e.e_value_offs.set(0x0102);
        e.e_value_size.set(3);
        e.e_hash.set(9);
        assert_eq!(area[4..8], [1, 0, 2, 1]);
        assert_eq!(area[12..16], [3, 0, 0, 0]);
        assert_eq!(area[16..20], [9, 0, 0, 0]);
        assert!(!Ext4XattrEntry::is_last(&area, 4));
        // The name byte and the zero word after it: the list ends at 20.
        assert!(Ext4XattrEntry::is_last(&area, 20));
        assert!(Ext4XattrEntry::is_last(&area, 22));
        assert_eq!(Ext4XattrEntry::NAME_OFFSET, 16);
        assert_eq!(Ext4XattrIbodyHeader::SIZE, 4);
    }
}
