//! The ext4 on-disk structures as typed little-endian layouts, one per
//! kernel struct and with the kernel's field names, so that the code
//! above reads and writes fields by name. Every layout carries a
//! compile-time size check; offsets appear nowhere else.
//!
//! zerocopy's little-endian integers have alignment 1, so a layout can
//! be laid over any byte slice (`ref_from_prefix`, `mut_from_prefix`).

pub mod group;
pub mod inode;
pub mod superblock;

pub use group::{Ext4GroupDesc, Ext4GroupDescHi};
pub use inode::{Ext4Inode, Ext4InodeExtra};
pub use superblock::Ext4SuperBlock;
