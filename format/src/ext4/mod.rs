//! The ext4 on-disk format: parsing, serialization and checksums.
//!
//! Nothing here does I/O or holds policy; callers hand in byte slices.

pub mod bitmap;
pub mod blockmap;
pub mod casefold;
pub mod corrupt;
pub mod crypt;
pub mod csum;
pub mod dir;
pub mod ea_inode;
pub mod error;
pub mod extents;
pub mod group;
pub mod hash;
pub mod htree;
pub mod inode;
pub mod layout;
pub mod mmp;
pub mod orphan;
pub mod quota;
pub mod superblock;
pub mod types;
pub mod xattr;

pub use corrupt::{CorruptKind, DxAt, ExtentAt, InodeDamage, RangeUse};
pub use error::{ChecksumOf, FormatError};
pub use types::{BlockNo, Blocks, Generation, InodeNo};
