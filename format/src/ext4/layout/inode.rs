//! `struct ext4_inode`: the 128 bytes every inode has
//! ([`Ext4Inode`]) and the extra fields after them that i_extra_isize
//! covers ([`Ext4InodeExtra`]), then the in-inode xattr area.

use zerocopy::little_endian::{U16, U32};
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

/// The first 128 bytes of `struct ext4_inode` (EXT4_GOOD_OLD_INODE_SIZE),
/// with the Linux members of the osd1/osd2 unions.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct Ext4Inode {
    pub i_mode: U16,
    pub i_uid: U16,
    pub i_size_lo: U32,
    pub i_atime: U32,
    pub i_ctime: U32,
    pub i_mtime: U32,
    pub i_dtime: U32,
    pub i_gid: U16,
    pub i_links_count: U16,
    pub i_blocks_lo: U32,
    pub i_flags: U32,
    /// osd1.linux1.l_i_version.
    pub l_i_version: U32,
    /// EXT4_N_BLOCKS (15) words: block map, extent tree root, inline
    /// data or a fast symlink's target; kept as bytes.
    pub i_block: [u8; 60],
    pub i_generation: U32,
    pub i_file_acl_lo: U32,
    pub i_size_high: U32,
    pub i_obso_faddr: U32,
    // osd2.linux2:
    pub l_i_blocks_high: U16,
    pub l_i_file_acl_high: U16,
    pub l_i_uid_high: U16,
    pub l_i_gid_high: U16,
    pub l_i_checksum_lo: U16,
    pub l_i_reserved: U16,
}

/// The fields of `struct ext4_inode` after the first 128 bytes, as far
/// as this implementation knows them; i_extra_isize says how many of
/// these bytes an inode has.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct Ext4InodeExtra {
    pub i_extra_isize: U16,
    pub i_checksum_hi: U16,
    pub i_ctime_extra: U32,
    pub i_mtime_extra: U32,
    pub i_atime_extra: U32,
    pub i_crtime: U32,
    pub i_crtime_extra: U32,
    pub i_version_hi: U32,
    pub i_projid: U32,
}

/// EXT4_N_BLOCKS: the words of i_block.
pub const EXT4_N_BLOCKS: usize = 15;
/// The bytes of i_block.
const I_BLOCK_LEN: usize = EXT4_N_BLOCKS * size_of::<U32>();

const _: () = assert!(size_of::<Ext4Inode>() == 128);
const _: () = assert!(I_BLOCK_LEN == 60);
const _: () = assert!(size_of::<Ext4InodeExtra>() == 32);
const _: () = {
    use core::mem::offset_of;
    assert!(offset_of!(Ext4Inode, i_links_count) == 0x1A);
    assert!(offset_of!(Ext4Inode, i_block) == 0x28);
    assert!(offset_of!(Ext4Inode, i_generation) == 0x64);
    assert!(offset_of!(Ext4Inode, l_i_blocks_high) == 0x74);
    assert!(offset_of!(Ext4Inode, l_i_checksum_lo) == 0x7C);
    assert!(offset_of!(Ext4InodeExtra, i_crtime) == 0x90 - 0x80);
    assert!(offset_of!(Ext4InodeExtra, i_projid) == 0x9C - 0x80);
};

impl Ext4Inode {
    /// The 128-byte part of the raw inode `raw`, None when shorter.
    pub fn of(raw: &[u8]) -> Option<&Ext4Inode> {
        Ext4Inode::ref_from_prefix(raw).ok().map(|(r, _)| r)
    }

    /// The 128-byte part of the raw inode `raw` to change in place.
    pub fn of_mut(raw: &mut [u8]) -> Option<&mut Ext4Inode> {
        Ext4Inode::mut_from_prefix(raw).ok().map(|(r, _)| r)
    }

    /// i_block as the kernel declares it, `__le32 i_block[EXT4_N_BLOCKS]`:
    /// a device inode keeps its number in word 0 (the old encoding) or
    /// word 1 (the new one).
    pub fn i_block_words(i_block: &[u8; I_BLOCK_LEN]) -> &[U32; EXT4_N_BLOCKS] {
        <[U32; EXT4_N_BLOCKS]>::ref_from_bytes(i_block).expect("same size")
    }

    /// [`Ext4Inode::i_block_words`], to change in place.
    pub fn i_block_words_mut(i_block: &mut [u8; I_BLOCK_LEN]) -> &mut [U32; EXT4_N_BLOCKS] {
        <[U32; EXT4_N_BLOCKS]>::mut_from_bytes(i_block).expect("same size")
    }
}

impl Ext4InodeExtra {
    /// Where the extra fields start in the raw inode.
    pub const OFFSET: usize = size_of::<Ext4Inode>();

    /// The extra fields of the raw inode `raw` (the whole inode); bytes
    /// past the end of `raw` read as zero. Whether i_extra_isize covers
    /// a field is the caller's test ([`Ext4InodeExtra::covers`]).
    pub fn read(raw: &[u8]) -> Ext4InodeExtra {
        let tail = raw.get(Self::OFFSET..).unwrap_or(&[]);
        match Ext4InodeExtra::read_from_prefix(tail) {
            Ok((e, _)) => e,
            Err(_) => {
                let mut e = Ext4InodeExtra::new_zeroed();
                e.as_mut_bytes()[..tail.len()].copy_from_slice(tail);
                e
            }
        }
    }

    /// Writes `self` back into the raw inode `raw`, as far as `raw` goes.
    pub fn write(&self, raw: &mut [u8]) {
        if let Some(tail) = raw.get_mut(Self::OFFSET..) {
            let n = tail.len().min(size_of::<Ext4InodeExtra>());
            tail[..n].copy_from_slice(&self.as_bytes()[..n]);
        }
    }

    /// Whether an i_extra_isize of `extra_isize` bytes covers the 4-byte
    /// extra field at `off` (an `offset_of!` in this struct).
    pub const fn covers(extra_isize: usize, off: usize) -> bool {
        off + 4 <= extra_isize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i_block_words_are_the_little_endian_words_of_i_block() {
        let mut b = [0u8; 60];
        b[4..8].copy_from_slice(&0x0001_2345u32.to_le_bytes());
        assert_eq!(Ext4Inode::i_block_words(&b)[1].get(), 0x0001_2345);
        Ext4Inode::i_block_words_mut(&mut b)[14].set(7);
        assert_eq!(b[56..], 7u32.to_le_bytes());
    }
}
