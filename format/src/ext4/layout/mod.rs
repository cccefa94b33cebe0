//! The ext4 on-disk structures as typed little-endian layouts, one per
//! kernel struct and with the kernel's field names, so that the code
//! above reads and writes fields by name. Every layout carries a
//! compile-time size check; offsets appear nowhere else.
//!
//! zerocopy's little-endian integers have alignment 1, so a layout can
//! be laid over any byte slice (`ref_from_prefix`, `mut_from_prefix`).

pub mod blockmap;
pub mod crypt;
pub mod dir;
pub mod extent;
pub mod group;
pub mod htree;
pub mod inode;
pub mod orphan;
pub mod superblock;
pub mod xattr;

pub use crypt::{FscryptNokeyNameHead, FscryptSymlinkData};
pub use dir::{Ext4DirEntry2, Ext4DirEntryHash, Ext4DirEntryTail, Ext4InlineDotdot};
pub use extent::{Ext4Extent, Ext4ExtentHeader, Ext4ExtentIdx, Ext4ExtentTail};
pub use group::{Ext4GroupDesc, Ext4GroupDescHi};
pub use inode::{Ext4Inode, Ext4InodeExtra};
pub use orphan::Ext4OrphanBlockTail;
pub use superblock::Ext4SuperBlock;
