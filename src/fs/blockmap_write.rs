//! Changing ext2/ext3 block maps: allocating direct and indirect blocks,
//! freeing them on truncate and punch.
//!
//! INTERIM: answers Unsupported until the implementation lands.

use super::bmap::Run;
use super::extents::Mapping;
use super::transaction::Transaction;
use super::{FsError, Result};
use crate::ext4::inode::Inode;

impl Transaction<'_> {
    pub(crate) fn blockmap_map(&self, inode: &Inode, lblk: u64) -> Result<Mapping> {
        self.fs().map_indirect(inode, lblk)
    }

    pub(crate) fn blockmap_map_write(
        &mut self,
        _inode: &mut Inode,
        _lblk: u64,
        _len: u64,
    ) -> Result<Vec<Run>> {
        Err(FsError::Unsupported)
    }

    pub(crate) fn blockmap_unmap(&mut self, _inode: &mut Inode, _s: u64, _e: u64) -> Result<()> {
        Err(FsError::Unsupported)
    }
}
