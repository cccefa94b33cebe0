//! Mapping file blocks, dispatched by the inode's EXTENTS flag to the
//! extent tree (extent/) or the ext2/3 block map (blockmap/), as the
//! kernel's ext4_map_blocks picks ext4_ext_map_blocks or
//! ext4_ind_map_blocks: the read side ([`Fs::map_block`]) and the one
//! entry point the write path, directories and truncate use.

use super::extent::map::{Backing, Mapping};
use super::journal::transaction::Transaction;
use super::{Fs, FsError, Result};
use crate::ext4::BlockNo;
use crate::ext4::inode::{Inode, flags};

/// Physical blocks backing `len` logical blocks from `lblk`, for a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub lblk: u64,
    pub pblk: BlockNo,
    pub len: u64,
    /// The blocks' contents are undefined (newly allocated, or converted
    /// from unwritten): the caller must write or zero every byte of them.
    pub fresh: bool,
}

impl Fs {
    /// Maps logical block `lblk` of a file or directory with blocks.
    pub(crate) fn map_block(&self, inode: &Inode, lblk: u64) -> Result<Mapping> {
        if inode.has_flag(flags::EXTENTS) {
            self.map_extent(inode, lblk)
        } else {
            self.map_indirect(inode, lblk)
        }
    }

    /// The physical block holding logical block `lblk` (None: a hole or
    /// unwritten).
    pub fn physical_block(&self, inode: &Inode, lblk: u64) -> Result<Option<BlockNo>> {
        let m = self.map_block(inode, lblk)?;
        Ok(match m.backing {
            Backing::Data(p) => Some(BlockNo(p.0 + (lblk - m.lblk))),
            _ => None,
        })
    }
}

impl Transaction<'_> {
    /// Maps logical blocks `[lblk, lblk + len)` of `inode` for writing:
    /// holes get new blocks (near the file's other blocks), unwritten
    /// extents in the range become written. Updates the inode's mapping
    /// and i_blocks in `inode` (the caller puts it). Returns the runs in
    /// logical order, covering the whole range.
    pub fn map_write(&mut self, inode: &mut Inode, lblk: u64, len: u64) -> Result<Vec<Run>> {
        if len == 0 {
            return Ok(Vec::new());
        }
        if inode.has_flag(flags::EXTENTS) {
            self.extent_map_write(inode, lblk, len)
        } else if inode.has_flag(flags::INLINE_DATA) {
            Err(FsError::Invalid)
        } else if self.fs().superblock().cluster_bits() > 0 {
            // The kernel refuses bigalloc without extents (ext4_fill_super):
            // a block map has no cluster rules to follow.
            Err(FsError::Unsupported)
        } else {
            self.blockmap_map_write(inode, lblk, len)
        }
    }

    /// The mapping of `lblk` as this transaction sees it.
    pub fn map(&self, inode: &Inode, lblk: u64) -> Result<Mapping> {
        if inode.has_flag(flags::EXTENTS) {
            self.extent_map(inode, lblk)
        } else {
            self.blockmap_map(inode, lblk)
        }
    }

    /// Frees every block mapped at or after logical block `from`, and the
    /// index or indirect blocks no longer needed (truncate).
    pub fn unmap_from(&mut self, inode: &mut Inode, from: u64) -> Result<()> {
        if inode.has_flag(flags::EXTENTS) {
            self.extent_unmap(inode, from, u64::MAX)
        } else {
            self.blockmap_unmap(inode, from, u64::MAX)
        }
    }

    /// Frees the blocks mapped in `[start, end)`, leaving a hole (punch).
    pub fn unmap_range(&mut self, inode: &mut Inode, start: u64, end: u64) -> Result<()> {
        if inode.has_flag(flags::EXTENTS) {
            self.extent_unmap(inode, start, end)
        } else {
            self.blockmap_unmap(inode, start, end)
        }
    }

    /// Allocates unwritten extents over the holes in `[lblk, lblk + len)`
    /// (fallocate). Extent-mapped files only, as in the kernel.
    pub fn map_prealloc(&mut self, inode: &mut Inode, lblk: u64, len: u64) -> Result<()> {
        if !inode.has_flag(flags::EXTENTS) {
            return Err(FsError::Unsupported);
        }
        self.extent_prealloc(inode, lblk, len)
    }

    /// Adds `n` blocks to the inode's i_blocks (negative to remove).
    pub(crate) fn charge_blocks(&self, inode: &mut Inode, n: i64) {
        let per = self.fs().block_size() as i64 / 512;
        inode.blocks_512 = (inode.blocks_512 as i64 + n * per).max(0) as u64;
    }

    /// Adds `n` clusters (blocks without bigalloc) to the inode's
    /// i_blocks: the kernel charges every cluster an inode takes, data or
    /// metadata, whole (dquot_alloc_block of EXT4_C2B).
    pub(crate) fn charge_clusters(&self, inode: &mut Inode, n: i64) {
        self.charge_blocks(inode, n << self.fs().superblock().cluster_bits());
    }
}
