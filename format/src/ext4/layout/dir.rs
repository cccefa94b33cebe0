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

/// `struct ext4_dir_entry_hash`: the hash and minor hash an entry of an
/// encrypted and casefolded directory stores after its name, at the next
/// 4-byte boundary.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct Ext4DirEntryHash {
    pub hash: U32,
    pub minor_hash: U32,
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

/// The start of an inline directory's i_block: the parent's inode
/// number, EXT4_INLINE_DOTDOT_SIZE bytes where a block directory has "."
/// and ".." (the kernel reads it as an `ext4_dir_entry_2`'s inode field);
/// the entries follow.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct Ext4InlineDotdot {
    pub inode: U32,
}

const _: () = assert!(size_of::<Ext4DirEntry2>() == 8);
const _: () = assert!(size_of::<Ext4InlineDotdot>() == 4);
const _: () = assert!(size_of::<Ext4DirEntryTail>() == 12);
const _: () = assert!(size_of::<Ext4DirEntryHash>() == 8);

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

impl Ext4InlineDotdot {
    /// Where an inline directory's entries start in i_block
    /// (EXT4_INLINE_DOTDOT_SIZE).
    pub const SIZE: usize = size_of::<Ext4InlineDotdot>();

    /// The parent field at the start of `i_block`, None when shorter.
    pub fn of(i_block: &[u8]) -> Option<&Ext4InlineDotdot> {
        Ext4InlineDotdot::ref_from_prefix(i_block)
            .ok()
            .map(|(d, _)| d)
    }

    /// The parent field at the start of `i_block`, to change in place.
    pub fn of_mut(i_block: &mut [u8]) -> Option<&mut Ext4InlineDotdot> {
        Ext4InlineDotdot::mut_from_prefix(i_block)
            .ok()
            .map(|(d, _)| d)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_fields_sit_where_the_kernel_puts_them() {
        let mut b = [0u8; 12];
        let e = Ext4DirEntry2::of_mut(&mut b).unwrap();
        e.inode.set(0x0A0B_0C0D);
        e.rec_len.set(12);
        e.name_len = 3;
        e.file_type = 2;
        assert_eq!(b[..8], [0x0D, 0x0C, 0x0B, 0x0A, 12, 0, 3, 2]);
        assert_eq!(Ext4DirEntry2::NAME_OFFSET, 8);
    }

    #[test]
    fn inline_dotdot_is_the_first_word_of_i_block() {
        let mut i_block = [0u8; 60];
        Ext4InlineDotdot::of_mut(&mut i_block).unwrap().inode.set(2);
        assert_eq!(i_block[..4], [2, 0, 0, 0]);
        assert_eq!(Ext4InlineDotdot::of(&i_block).unwrap().inode.get(), 2);
        assert_eq!(Ext4InlineDotdot::SIZE, 4);
    }
}
