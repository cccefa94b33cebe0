//! Mapping logical blocks of block-mapped (ext2/ext3) files.

use crate::ext4::BlockNo;
use crate::ext4::blockmap::route;
use crate::ext4::inode::Inode;
use crate::ext4::layout::blockmap::block_ptrs;
use crate::fs::extent::map::{Backing, Mapping};
use crate::fs::{Fs, Result};

impl Fs {
    /// Maps `lblk` of an inode that uses direct/indirect block pointers.
    pub(crate) fn map_indirect(&self, inode: &Inode, lblk: u64) -> Result<Mapping> {
        let per_block = self.block_size() as u64 / 4;
        let Some(r) = route(lblk, per_block) else {
            return Ok(Mapping {
                lblk,
                len: u64::MAX - lblk,
                backing: Backing::Hole,
            });
        };
        // A zero pointer makes its whole subtree a hole: report all of it so
        // that sparse files and hostile sizes are skipped in one step.
        let levels = r.path.len() as u32;
        let rel = lblk - r.first;
        let hole_below = |depth: u32| {
            let span = per_block.pow(levels - depth);
            Mapping {
                lblk,
                len: span - rel % span,
                backing: Backing::Hole,
            }
        };
        let mut ptr = block_ptrs(&inode.block)[r.slot].get() as u64;
        for (depth, &index) in r.path.iter().enumerate() {
            if ptr == 0 {
                return Ok(hole_below(depth as u32));
            }
            let what = || format!("{} indirect block", inode.ino);
            self.check_range(BlockNo(ptr), 1, what)?;
            let block = self.block(BlockNo(ptr))?;
            ptr = block_ptrs(&block)[index as usize].get() as u64;
        }
        if ptr == 0 {
            return Ok(hole_below(levels));
        }
        self.check_range(BlockNo(ptr), 1, || format!("{} data block", inode.ino))?;
        Ok(Mapping {
            lblk,
            len: 1,
            backing: Backing::Data(BlockNo(ptr)),
        })
    }
}
