//! Xattr values kept in their own inode (feature `ea_inode`), as the
//! kernel's fs/ext4/xattr.c keeps them.
//!
//! An entry whose `e_value_inum` is nonzero has no value bytes in its area
//! (`e_value_offs` 0); `e_value_size` bytes of value are the data of that
//! inode, which carries `EXT4_EA_INODE_FL`, is a regular file of mode 0600
//! owned by the first inode that stored it, one link and no name. Fields of
//! the EA inode are reused for its bookkeeping:
//!
//! ```text
//! i_atime        crc32c(fs checksum seed, value)   ext4_xattr_inode_get_hash
//! i_ctime        refcount >> 32                    ext4_xattr_inode_get_ref
//! l_i_version    refcount & 0xffffffff
//! ```
//!
//! The entry's `e_hash` (in the inode body as in a block) is the entry hash
//! of the name folded with that one word instead of the value. The owner
//! of each entry pays for the value in its `i_blocks` and quota (the value
//! size rounded up to clusters, and one inode); the EA inode itself is
//! charged to nobody.

use super::csum::crc32c_raw;
use super::inode::{Inode, Timestamp};
use super::xattr::{XATTR_BLOCK_HEADER_LEN, entry_hash, entry_len};

/// The hash an EA inode keeps of its value (`ext4_xattr_inode_hash`):
/// crc32c seeded with the filesystem's checksum seed (computed from the
/// UUID when there is no metadata_csum, as the kernel does for ea_inode).
pub fn value_hash(seed: u32, value: &[u8]) -> u32 {
    crc32c_raw(seed, value)
}

/// `e_hash` of an entry whose value lives in an EA inode whose value
/// hash is `ea_hash`: the name, then that one word.
pub fn entry_hash_of(name: &[u8], ea_hash: u32) -> u32 {
    entry_hash(name, &ea_hash.to_le_bytes())
}

/// Whether `e_hash` is the entry hash of `name` and `ea_hash`, with the
/// name's bytes taken unsigned (what the kernel writes since 6.2) or
/// signed (older kernels on most architectures); the kernel and e2fsck
/// accept both.
pub fn entry_hash_matches(name: &[u8], ea_hash: u32, e_hash: u32) -> bool {
    if entry_hash_of(name, ea_hash) == e_hash {
        return true;
    }
    let mut hash = 0u32;
    for &c in name {
        hash = (hash << 5) ^ (hash >> 27) ^ (c as i8 as i32 as u32);
    }
    hash = (hash << 16) ^ (hash >> 16) ^ ea_hash;
    hash == e_hash
}

/// The value hash an EA inode stores (its i_atime seconds).
pub fn stored_hash(inode: &Inode) -> u32 {
    inode.atime.sec as u32
}

/// Stores the value hash in i_atime, as `ext4_xattr_inode_set_hash`.
pub fn set_stored_hash(inode: &mut Inode, hash: u32) {
    inode.atime = Timestamp {
        sec: hash as i64,
        nsec: 0,
    };
}

/// How many xattr entries reference the EA inode: high word in i_ctime,
/// low word in the low half of i_version.
pub fn refcount(inode: &Inode) -> u64 {
    ((inode.ctime.sec as u32 as u64) << 32) | (inode.version & 0xffff_ffff)
}

/// Stores `n` as [`refcount`] reads it (`ext4_xattr_inode_set_ref`: the
/// raw i_version becomes the low word, its high half 0).
pub fn set_refcount(inode: &mut Inode, n: u64) {
    inode.ctime = Timestamp {
        sec: (n >> 32) as i64,
        nsec: 0,
    };
    inode.version = n & 0xffff_ffff;
}

/// Values whose padded size is above this go straight to an EA inode
/// (`EXT4_XATTR_MIN_LARGE_EA_SIZE`: a block less its header, one entry
/// with a 3-byte name and the terminator); smaller ones only when they fit
/// neither the inode body nor the block.
pub fn min_large_value(block_size: usize) -> usize {
    block_size.saturating_sub(entry_len(3) + XATTR_BLOCK_HEADER_LEN + 4)
}

/// Bytes at the start of an xattr block a value may not reach when
/// ea_inode is on (`EXT4_XATTR_BLOCK_RESERVE`: an eighth of the block, at
/// most 1 KiB), kept for the entries of later attributes whose values can
/// go to EA inodes: a value that would reach it goes to an EA inode.
pub fn block_reserve(block_size: usize) -> usize {
    (block_size / 8).min(1024)
}

/// The kernel's limit on a value kept in an EA inode
/// (`EXT4_XATTR_SIZE_MAX`); the VFS already stops at 64 KiB.
pub const MAX_VALUE_SIZE: usize = 1 << 24;

/// Blocks (of `block_size`, clusters of `cluster_blocks` blocks) an owner
/// is charged for a value of `size` bytes in an EA inode: the size rounded
/// up to clusters (e2fsck's `size_to_quota_blocks`).
pub fn charged_blocks(size: u64, block_size: u64, cluster_blocks: u64) -> u64 {
    let cluster = block_size * cluster_blocks.max(1);
    size.div_ceil(cluster) * cluster_blocks.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext4::InodeNo;
    use crate::ext4::superblock::Superblock;

    fn sb() -> Superblock {
        let raw = crate::ext4::superblock::test_superblock_bytes(2, 0, 0, 32);
        Superblock::parse(&raw).unwrap()
    }

    fn blank() -> Inode {
        Inode::new_empty(&sb(), InodeNo(12))
    }

    #[test]
    fn refcount_round_trips_through_ctime_and_version() {
        let mut i = blank();
        for n in [
            0u64,
            1,
            2,
            0xffff_ffff,
            0x1_0000_0000,
            0x7fff_ffff_0000_0003,
        ] {
            set_refcount(&mut i, n);
            assert_eq!(refcount(&i), n);
        }
        // On disk: i_ctime (0x0C) the high word, l_i_version (0x24) the
        // low one, i_version_hi (0x98) 0.
        set_refcount(&mut i, 0x0000_0002_0000_0005);
        let mut raw = vec![0u8; 256];
        i.write_to(&sb(), &mut raw).unwrap();
        assert_eq!(&raw[0x0C..0x10], &2u32.to_le_bytes());
        assert_eq!(&raw[0x24..0x28], &5u32.to_le_bytes());
        assert_eq!(&raw[0x98..0x9C], &[0; 4]);
        let back = Inode::parse(&sb(), InodeNo(12), &raw).unwrap();
        assert_eq!(refcount(&back), 0x0000_0002_0000_0005);
    }

    #[test]
    fn hash_lives_in_atime() {
        let mut i = blank();
        set_stored_hash(&mut i, 0xdead_beef);
        assert_eq!(stored_hash(&i), 0xdead_beef);
    }

    #[test]
    fn reserve_is_the_kernels() {
        assert_eq!(block_reserve(1024), 128);
        assert_eq!(block_reserve(4096), 512);
        assert_eq!(block_reserve(65536), 1024);
    }

    #[test]
    fn threshold_is_the_kernels() {
        // 4096 - EXT4_XATTR_LEN(3) (20) - header (32) - 4.
        assert_eq!(min_large_value(4096), 4040);
        assert_eq!(min_large_value(1024), 968);
    }

    #[test]
    fn entry_hash_folds_the_value_hash_as_one_word() {
        let name = b"big";
        let h = 0x1234_5678u32;
        let mut expect = 0u32;
        for &c in name {
            expect = (expect << 5) ^ (expect >> 27) ^ c as u32;
        }
        expect = (expect << 16) ^ (expect >> 16) ^ h;
        assert_eq!(entry_hash_of(name, h), expect);
    }

    #[test]
    fn signed_name_hash_accepted() {
        let name = [b'a', 0xE9];
        let h = 77;
        assert!(entry_hash_matches(&name, h, entry_hash_of(&name, h)));
        let mut signed = 0u32;
        for &c in &name {
            signed = (signed << 5) ^ (signed >> 27) ^ (c as i8 as i32 as u32);
        }
        signed = (signed << 16) ^ (signed >> 16) ^ h;
        assert_ne!(signed, entry_hash_of(&name, h));
        assert!(entry_hash_matches(&name, h, signed));
        assert!(!entry_hash_matches(&name, h, signed ^ 1));
    }

    #[test]
    fn hash_above_2_31_survives_the_inode_encoding() {
        let mut i = blank();
        set_stored_hash(&mut i, 0xfedc_ba98);
        let mut raw = vec![0u8; 256];
        i.write_to(&sb(), &mut raw).unwrap();
        // i_atime holds the hash's bits (the epoch bits go to the extra
        // word, as the kernel's encoding puts them).
        assert_eq!(&raw[0x08..0x0C], &0xfedc_ba98u32.to_le_bytes());
        let back = Inode::parse(&sb(), InodeNo(12), &raw).unwrap();
        assert_eq!(stored_hash(&back), 0xfedc_ba98);
    }

    #[test]
    fn charge_rounds_up_to_clusters() {
        assert_eq!(charged_blocks(1, 4096, 1), 1);
        assert_eq!(charged_blocks(4096, 4096, 1), 1);
        assert_eq!(charged_blocks(4097, 4096, 1), 2);
        assert_eq!(charged_blocks(61440, 4096, 1), 15);
        assert_eq!(charged_blocks(4097, 4096, 16), 16);
    }
}
