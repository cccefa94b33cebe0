//! Mapping logical blocks of block-mapped (ext2/ext3) files.

use super::extents::{Backing, Mapping};
use super::{Fs, Result};
use crate::ext4::BlockNo;
use crate::ext4::blockmap::{route, span};
use crate::ext4::inode::Inode;
use crate::ext4::types::le32;

impl Fs {
    /// Maps `lblk` of an inode that uses direct/indirect block pointers.
    /// A hole runs to the end of the empty subtree it lies in, so that
    /// walking a sparse file (SEEK_DATA/SEEK_HOLE, reads) does not take one
    /// step per block of a huge i_size.
    pub(crate) fn map_indirect(&self, inode: &Inode, lblk: u64) -> Result<Mapping> {
        let per_block = self.block_size() as u64 / 4;
        let Some(r) = route(lblk, per_block) else {
            // Past the triple-indirect range: nothing can be mapped there.
            return Ok(Mapping {
                lblk,
                len: u64::MAX - lblk,
                backing: Backing::Hole,
            });
        };
        let levels = r.path.len();
        // A null pointer `depth` levels into the route covers the blocks
        // from `lblk` to the end of its subtree.
        let hole = |depth: usize| {
            let within: u64 = r.path[depth..]
                .iter()
                .enumerate()
                .map(|(j, &i)| i as u64 * span(levels - depth - 1 - j, per_block))
                .sum();
            Mapping {
                lblk,
                len: span(levels - depth, per_block) - within,
                backing: Backing::Hole,
            }
        };
        let mut ptr = le32(&inode.block, r.slot * 4) as u64;
        for (depth, &index) in r.path.iter().enumerate() {
            if ptr == 0 {
                return Ok(hole(depth));
            }
            let what = || format!("{} indirect block", inode.ino);
            self.check_range(BlockNo(ptr), 1, what)?;
            let block = self.block(BlockNo(ptr))?;
            ptr = le32(&block, index as usize * 4) as u64;
        }
        if ptr == 0 {
            return Ok(hole(levels));
        }
        self.check_range(BlockNo(ptr), 1, || format!("{} data block", inode.ino))?;
        Ok(Mapping {
            lblk,
            len: 1,
            backing: Backing::Data(BlockNo(ptr)),
        })
    }
}
