//! Newtypes for on-disk units, so that an inode number is never used as a
//! block number by accident.

use std::fmt;

/// An ext4 inode number (1-based; 2 is the root directory). The default,
/// 0, names no inode: what a directory entry, `..` or parent link that is
/// missing reads as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct InodeNo(pub u32);

/// A filesystem block number (64-bit with the 64bit feature).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockNo(pub u64);

/// An inode's i_generation, bumped each time the inode number is reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Generation(pub u32);

impl InodeNo {
    /// The root directory.
    pub const ROOT: InodeNo = InodeNo(2);
    /// The resize inode (it maps the reserved group descriptor blocks).
    pub const RESIZE: InodeNo = InodeNo(7);
}

impl fmt::Display for InodeNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "inode {}", self.0)
    }
}

impl fmt::Display for BlockNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "block {}", self.0)
    }
}

/// Little-endian field readers for on-disk structures. Callers have checked
/// the slice length, so out-of-range offsets are programming errors. The
/// byte helpers are named `get_`/`put_` plus the byte order and width (as
/// jbd2's big-endian `put_be32`), so a call site says which order it means.
pub fn get_le16(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

pub fn get_le32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

pub fn get_le64(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}

/// Little-endian field writers, the inverse of the readers above.
pub fn put_le16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_le_bytes());
}

pub fn put_le32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

pub fn put_le64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}
