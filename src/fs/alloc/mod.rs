//! Free space and free inodes: taking blocks and inodes from the group
//! bitmaps and giving them back, and giving free space back to the host
//! (FITRIM and `discard`, which the kernel also keeps with its block
//! allocator, in mballoc.c).

pub mod block;
pub mod inode;
pub mod trim;
