//! Mapping logical blocks of block-mapped (ext2/ext3) files: the walk from
//! i_block down the indirect blocks, which the read side here and the
//! write side (write.rs, reading through its transaction) both take.

use std::ops::Deref;

use crate::ext4::BlockNo;
use crate::ext4::RangeUse;
use crate::ext4::blockmap::{Route, route, span};
use crate::ext4::inode::Inode;
use crate::ext4::layout::blockmap::block_ptrs;
use crate::fs::extent::map::{Backing, Mapping};
use crate::fs::{Fs, Result};

/// Where the walk for one logical block ends.
pub(super) enum Walk {
    /// A zero pointer (or a block past the triple-indirect range): the
    /// hole covering the pointer's whole subtree from the block asked for.
    Hole(Mapping),
    /// The data block's pointer, the route to it, and the indirect blocks
    /// passed on the way (top first).
    Data {
        ptr: u64,
        route: Route,
        chain: Vec<u64>,
    },
}

/// Walks the block map in `i_block` to logical block `lblk`, with `per`
/// pointers per block. `read` gives the indirect block at a pointer, given
/// the indirect blocks above it, after checking the pointer. A zero
/// pointer makes its whole subtree a hole, reported whole so that sparse
/// files and hostile sizes are skipped in one step.
pub(super) fn walk<B: Deref<Target = [u8]>>(
    i_block: &[u8],
    lblk: u64,
    per: u64,
    mut read: impl FnMut(u64, &[u64]) -> Result<B>,
) -> Result<Walk> {
    let Some(r) = route(lblk, per) else {
        return Ok(Walk::Hole(Mapping {
            lblk,
            len: u64::MAX - lblk,
            backing: Backing::Hole,
        }));
    };
    let levels = r.path.len() as u32;
    let rel = lblk - r.first;
    let hole_below = |depth: u32| {
        let s = span(per, levels - depth);
        Walk::Hole(Mapping {
            lblk,
            len: s - rel % s,
            backing: Backing::Hole,
        })
    };
    let mut chain = Vec::with_capacity(3);
    let mut ptr = block_ptrs(i_block)[r.slot].get() as u64;
    for (depth, &index) in r.path.iter().enumerate() {
        if ptr == 0 {
            return Ok(hole_below(depth as u32));
        }
        let block = read(ptr, &chain)?;
        chain.push(ptr);
        ptr = block_ptrs(&block)[index as usize].get() as u64;
    }
    if ptr == 0 {
        return Ok(hole_below(levels));
    }
    Ok(Walk::Data {
        ptr,
        route: r,
        chain,
    })
}

impl Fs {
    /// Maps `lblk` of an inode that uses direct/indirect block pointers.
    pub(crate) fn map_indirect(&self, inode: &Inode, lblk: u64) -> Result<Mapping> {
        let per_block = self.block_size() as u64 / 4;
        let read = |ptr: u64, _: &[u64]| {
            let at = RangeUse::IndirectBlock { ino: inode.ino };
            self.check_range(BlockNo(ptr), 1, at)?;
            self.block(BlockNo(ptr))
        };
        match walk(&inode.block, lblk, per_block, read)? {
            Walk::Hole(m) => Ok(m),
            Walk::Data { ptr, .. } => {
                let at = RangeUse::DataBlocks { ino: inode.ino };
                self.check_range(BlockNo(ptr), 1, at)?;
                Ok(Mapping {
                    lblk,
                    len: 1,
                    backing: Backing::Data(BlockNo(ptr)),
                })
            }
        }
    }
}
