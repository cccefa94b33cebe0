//! Mounting, as the kernel's super.c and mmp.c: opening an image (the
//! checks, the replay, the state built at open), the reserved inodes
//! checked then, the superblock's record of a read-write mount and the
//! reaction to errors, and multi-mount protection.

pub mod mmp;
pub mod open;
pub(super) mod special;
pub mod state;
