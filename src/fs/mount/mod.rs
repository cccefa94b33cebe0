//! What a mount checks and keeps on the superblock side, as the kernel's
//! super.c and mmp.c: the reserved inodes checked at open, the
//! superblock's record of a read-write mount and the reaction to errors,
//! and multi-mount protection.

pub mod mmp;
pub mod open;
pub(super) mod special;
pub mod state;
