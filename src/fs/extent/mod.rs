//! Extent trees: mapping a logical block through the tree, and changing
//! it (mapping for writes, preallocation, removal, the collapse and
//! insert shifts), as the kernel keeps both sides in extents.c.

pub mod map;
pub(super) mod path;
pub(super) mod shift;
pub mod write;
