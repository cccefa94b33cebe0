//! ext2/ext3 block maps (direct and indirect block pointers in i_block):
//! the mapping a read follows and the changes a write, truncate or punch
//! makes, as the kernel keeps both in indirect.c.

pub(super) mod map;
pub(super) mod write;
