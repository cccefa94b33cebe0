//! Reading file contents: block mapping dispatch, inline data, symlink
//! targets, SEEK_DATA/SEEK_HOLE.

use super::extents::{Backing, Mapping};
use super::{Fs, FsError, Result, error};
use crate::ext4::BlockNo;
use crate::ext4::inode::{I_BLOCK_SIZE, Inode, flags};

/// SEEK_DATA / SEEK_HOLE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeekWhat {
    Data,
    Hole,
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

    /// The whole content of an inline-data inode: i_block, then the
    /// system.data xattr, cut to i_size.
    pub(crate) fn inline_data(&self, inode: &Inode) -> Result<Vec<u8>> {
        let mut data = inode.block.to_vec();
        if inode.size as usize > I_BLOCK_SIZE {
            data.extend_from_slice(&self.inline_xattr(inode)?);
        }
        if (inode.size as usize) > data.len() {
            return Err(error::corrupt(
                inode.ino.to_string(),
                "inline data shorter than i_size",
            ));
        }
        data.truncate(inode.size as usize);
        Ok(data)
    }

    /// Reads up to `len` bytes at `offset`; short at end of file.
    pub fn read(&self, inode: &Inode, offset: u64, len: usize) -> Result<Vec<u8>> {
        if offset >= inode.size {
            return Ok(Vec::new());
        }
        let end = inode.size.min(offset.saturating_add(len as u64));
        if inode.has_flag(flags::INLINE_DATA) {
            let data = self.inline_data(inode)?;
            return Ok(data[offset as usize..end as usize].to_vec());
        }
        let bs = self.block_size() as u64;
        let mut out = vec![0u8; (end - offset) as usize];
        let mut pos = offset;
        while pos < end {
            let m = self.map_block(inode, pos / bs)?;
            let mut run_end = end.min((m.lblk + m.len).saturating_mul(bs));
            if let Backing::Data(p) = m.backing {
                // Merge physically adjacent runs (block-mapped files map one
                // block at a time) into one read.
                while run_end < end {
                    let next = self.map_block(inode, run_end / bs)?;
                    let want = BlockNo(p.0 + (next.lblk - m.lblk));
                    if next.backing != Backing::Data(want) {
                        break;
                    }
                    run_end = end.min((next.lblk + next.len).saturating_mul(bs));
                }
                let dst = &mut out[(pos - offset) as usize..(run_end - offset) as usize];
                self.read_data(p, (pos % bs) as usize, dst)?;
            }
            pos = run_end;
        }
        Ok(out)
    }

    /// The target of a symbolic link.
    pub fn readlink(&self, inode: &Inode) -> Result<Vec<u8>> {
        if !inode.is_symlink() {
            return Err(FsError::Invalid);
        }
        let size = inode.size as usize;
        if inode.is_fast_symlink(self.block_size()) {
            if size >= I_BLOCK_SIZE {
                return Err(error::corrupt(
                    inode.ino.to_string(),
                    "fast symlink too long",
                ));
            }
            return Ok(inode.block[..size].to_vec());
        }
        if size == 0 || size >= self.block_size() as usize {
            return Err(error::corrupt(
                inode.ino.to_string(),
                format!("symlink size {size}"),
            ));
        }
        let target = self.read(inode, 0, size)?;
        // The kernel stops at a NUL inside the target.
        let end = target.iter().position(|&c| c == 0).unwrap_or(target.len());
        Ok(target[..end].to_vec())
    }

    /// SEEK_DATA / SEEK_HOLE from `offset`.
    pub fn seek(&self, inode: &Inode, offset: u64, what: SeekWhat) -> Result<u64> {
        if offset >= inode.size {
            return Err(FsError::NoData);
        }
        if inode.has_flag(flags::INLINE_DATA) {
            return Ok(if what == SeekWhat::Data {
                offset
            } else {
                inode.size
            });
        }
        let bs = self.block_size() as u64;
        let mut pos = offset;
        while pos < inode.size {
            let m = self.map_block(inode, pos / bs)?;
            let is_data = matches!(m.backing, Backing::Data(_));
            if is_data == (what == SeekWhat::Data) {
                return Ok(pos);
            }
            pos = (m.lblk + m.len).saturating_mul(bs);
        }
        match what {
            SeekWhat::Data => Err(FsError::NoData),
            SeekWhat::Hole => Ok(inode.size),
        }
    }
}
