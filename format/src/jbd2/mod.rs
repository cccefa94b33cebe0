//! The jbd2 journal format (the log ext3/ext4 write metadata through) and
//! its replay.
//!
//! Everything in the journal is big-endian. The log is a ring of blocks
//! `s_first .. s_maxlen` inside the journal (inode 8); each transaction is
//! one or more descriptor blocks (tags naming the home block of each logged
//! block), the logged blocks themselves, optional revoke blocks, then a
//! commit block. Modelled on the kernel's fs/jbd2 and e2fsprogs'
//! e2fsck/recovery.c; the format is described in the kernel's
//! Documentation/filesystems/ext4/journal.rst.
//!
//! Nothing here decides when to commit or checkpoint: that is
//! fuse4fs's `fs::journal`.

pub mod block;
pub mod error;
pub mod layout;
pub mod pending;
pub mod recovery;
pub mod redo;
pub mod superblock;

pub use error::Jbd2Error;
pub use superblock::JournalSuperblock;

use crate::ext4::csum::crc32c_raw;

/// The first four bytes of every journal metadata block.
pub const MAGIC: u32 = 0xC03B_3998;

/// `h_blocktype` values.
pub mod blocktype {
    pub const DESCRIPTOR: u32 = 1;
    pub const COMMIT: u32 = 2;
    pub const SUPERBLOCK_V1: u32 = 3;
    pub const SUPERBLOCK_V2: u32 = 4;
    pub const REVOKE: u32 = 5;
    pub const FAST_COMMIT: u32 = 6;
}

/// Journal feature bits (version 2 superblocks only).
pub mod feature {
    /// compat: CRC32 of each transaction in its commit block (checksum v1).
    pub const COMPAT_CHECKSUM: u32 = 0x1;
    /// incompat: revoke blocks.
    pub const INCOMPAT_REVOKE: u32 = 0x1;
    /// incompat: 64-bit block numbers in tags and revoke records.
    pub const INCOMPAT_64BIT: u32 = 0x2;
    /// incompat: the commit block may be written before the logged blocks.
    pub const INCOMPAT_ASYNC_COMMIT: u32 = 0x4;
    /// incompat: crc32c checksums, 16 bits per tag.
    pub const INCOMPAT_CSUM_V2: u32 = 0x8;
    /// incompat: crc32c checksums, 32 bits per tag.
    pub const INCOMPAT_CSUM_V3: u32 = 0x10;
    /// incompat: fast commit area (not supported here).
    pub const INCOMPAT_FAST_COMMIT: u32 = 0x20;
    /// Incompatible features this implementation replays and writes.
    pub const INCOMPAT_KNOWN: u32 = INCOMPAT_REVOKE
        | INCOMPAT_64BIT
        | INCOMPAT_ASYNC_COMMIT
        | INCOMPAT_CSUM_V2
        | INCOMPAT_CSUM_V3;
}

/// Transaction ids compare modulo 2^32 (they wrap).
pub fn tid_gt(x: u32, y: u32) -> bool {
    (x.wrapping_sub(y) as i32) > 0
}

/// `x >= y` modulo 2^32.
pub fn tid_geq(x: u32, y: u32) -> bool {
    (x.wrapping_sub(y) as i32) >= 0
}

/// crc32c as jbd2 computes it (the kernel's `jbd2_chksum`): seeded, no
/// final inversion.
pub fn jbd2_crc(seed: u32, data: &[u8]) -> u32 {
    crc32c_raw(seed, data)
}

/// Big-endian field writers for the tests, which build damaged journal
/// blocks byte by byte.
#[cfg(test)]
pub(crate) fn put_be32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_be_bytes());
}

#[cfg(test)]
pub(crate) fn put_be64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tids_compare_across_the_wrap() {
        assert!(tid_gt(1, 0));
        assert!(tid_gt(0, u32::MAX));
        assert!(!tid_gt(u32::MAX, 0));
        assert!(tid_geq(5, 5));
        assert!(!tid_geq(4, 5));
    }
}
