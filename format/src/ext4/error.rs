//! Errors found while parsing on-disk structures.

use std::fmt;

use thiserror::Error;

pub use super::corrupt::CorruptKind;
use super::corrupt::{DxAt, ExtentAt};
use super::types::{BlockNo, InodeNo};

/// A structure on disk is not what the format allows.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FormatError {
    #[error("bad magic in {what}")]
    BadMagic { what: &'static str },
    #[error("checksum mismatch in {what}")]
    BadChecksum { what: ChecksumOf },
    #[error("corrupt {0}")]
    Corrupt(CorruptKind),
    #[error("unsupported: {0}")]
    Unsupported(String),
}

/// The structure whose checksum did not match, with the numbers that place
/// it as fields (as [`CorruptKind`] does for damage), so that callers match
/// on which structure failed instead of on text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumOf {
    /// The primary superblock.
    Superblock,
    /// The descriptor of block group `group`.
    GroupDesc { group: u32 },
    /// The MMP block.
    Mmp,
    /// An inode (its i_checksum_lo/hi).
    Inode(InodeNo),
    /// A directory leaf block: logical block `lblk` of directory `dir`.
    DirBlock { dir: InodeNo, lblk: u64 },
    /// An htree index block (root or interior node).
    Dx(DxAt),
    /// An extent tree block.
    Extent(ExtentAt),
    /// Block group `group`'s block bitmap.
    BlockBitmap { group: u32 },
    /// Block group `group`'s inode bitmap.
    InodeBitmap { group: u32 },
    /// Inode `ino`'s xattr block `block`.
    XattrBlock { block: BlockNo, ino: InodeNo },
}

impl fmt::Display for ChecksumOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The words are those of the String this replaced, so that logs
        // and messages read as before.
        match self {
            ChecksumOf::Superblock => f.write_str("superblock"),
            ChecksumOf::GroupDesc { group } => write!(f, "group descriptor {group}"),
            ChecksumOf::Mmp => f.write_str("MMP block"),
            ChecksumOf::Inode(ino) => write!(f, "{ino}"),
            ChecksumOf::DirBlock { dir, lblk } => write!(f, "{dir} directory block {lblk}"),
            ChecksumOf::Dx(at) => write!(f, "{at}"),
            ChecksumOf::Extent(at) => write!(f, "{at}"),
            ChecksumOf::BlockBitmap { group } => write!(f, "block bitmap of group {group}"),
            ChecksumOf::InodeBitmap { group } => write!(f, "inode bitmap of group {group}"),
            ChecksumOf::XattrBlock { block, ino } => write!(f, "xattr {block} of {ino}"),
        }
    }
}

impl From<CorruptKind> for FormatError {
    fn from(k: CorruptKind) -> Self {
        FormatError::Corrupt(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text of every kind, as the String `what` spelled it before it
    /// was typed: messages and logs built on it must not change.
    #[test]
    fn checksum_text_is_unchanged() {
        let cases = [
            (ChecksumOf::Superblock, "superblock"),
            (ChecksumOf::GroupDesc { group: 3 }, "group descriptor 3"),
            (ChecksumOf::Mmp, "MMP block"),
            (ChecksumOf::Inode(InodeNo(12)), "inode 12"),
            (
                ChecksumOf::DirBlock {
                    dir: InodeNo(2),
                    lblk: 1,
                },
                "inode 2 directory block 1",
            ),
            (
                ChecksumOf::Dx(DxAt::Node {
                    dir: InodeNo(2),
                    lblk: 4,
                }),
                "directory 2 htree block 4",
            ),
            (
                ChecksumOf::Dx(DxAt::Root { dir: InodeNo(2) }),
                "directory 2 htree root",
            ),
            (
                ChecksumOf::Extent(ExtentAt::Block {
                    ino: InodeNo(12),
                    block: BlockNo(99),
                }),
                "inode 12 extent block 99",
            ),
            (
                ChecksumOf::BlockBitmap { group: 1 },
                "block bitmap of group 1",
            ),
            (
                ChecksumOf::InodeBitmap { group: 1 },
                "inode bitmap of group 1",
            ),
            (
                ChecksumOf::XattrBlock {
                    block: BlockNo(700),
                    ino: InodeNo(13),
                },
                "xattr block 700 of inode 13",
            ),
        ];
        for (what, text) in cases {
            assert_eq!(
                FormatError::BadChecksum { what }.to_string(),
                format!("checksum mismatch in {text}")
            );
        }
    }
}
