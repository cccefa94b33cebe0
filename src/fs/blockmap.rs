//! Mapping logical blocks of block-mapped (ext2/ext3) files.

use super::extents::{Backing, Mapping};
use super::{Fs, Result};
use crate::ext4::BlockNo;
use crate::ext4::blockmap::route;
use crate::ext4::inode::Inode;
use crate::ext4::types::le32;

impl Fs {
    /// Maps `lblk` of an inode that uses direct/indirect block pointers.
    pub(crate) fn map_indirect(&self, inode: &Inode, lblk: u64) -> Result<Mapping> {
        let per_block = self.block_size() as u64 / 4;
        let hole = Mapping {
            lblk,
            len: 1,
            backing: Backing::Hole,
        };
        let Some(r) = route(lblk, per_block) else {
            return Ok(hole);
        };
        let mut ptr = le32(&inode.block, r.slot * 4) as u64;
        for &index in &r.path {
            if ptr == 0 {
                return Ok(hole);
            }
            let what = || format!("{} indirect block", inode.ino);
            self.check_range(BlockNo(ptr), 1, what)?;
            let block = self.block(BlockNo(ptr))?;
            ptr = le32(&block, index as usize * 4) as u64;
        }
        if ptr == 0 {
            return Ok(hole);
        }
        self.check_range(BlockNo(ptr), 1, || format!("{} data block", inode.ino))?;
        Ok(Mapping {
            lblk,
            len: 1,
            backing: Backing::Data(BlockNo(ptr)),
        })
    }
}
