//! The on-disk formats fuse4fs and its checker share.
//!
//! - [`ext4`]: the ext4 filesystem format (parse, serialize, checksums);
//!   no policy.
//! - [`jbd2`]: the journal format and its replay.
//!
//! A crate of its own so that the checker (`fsck/`) can build on the
//! format alone, without the filesystem operations or the FUSE side.

pub mod ext4;
pub mod jbd2;
