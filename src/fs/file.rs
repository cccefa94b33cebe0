//! Reading file contents: data blocks, inline data, symlink targets,
//! SEEK_DATA/SEEK_HOLE.

use super::extent::map::Backing;
use super::{Fs, FsError, Result, error};
use crate::ext4::BlockNo;
use crate::ext4::InodeDamage;
use crate::ext4::inode::{I_BLOCK_SIZE, Inode, flags};

/// SEEK_DATA / SEEK_HOLE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeekWhat {
    Data,
    Hole,
}

impl Fs {
    /// The bytes an inline-data inode stores: i_block, then the
    /// system.data xattr. i_size may be shorter (cut) or longer (the kernel
    /// reads zeros past what is stored).
    fn inline_stored(&self, inode: &Inode) -> Result<Vec<u8>> {
        let mut data = inode.block.to_vec();
        if inode.size as usize > I_BLOCK_SIZE {
            data.extend_from_slice(&self.inline_xattr(inode)?);
        }
        Ok(data)
    }

    /// Reads up to `len` bytes at `offset`; short at end of file.
    pub fn read(&self, inode: &Inode, offset: u64, len: usize) -> Result<Vec<u8>> {
        if offset >= inode.size {
            return Ok(Vec::new());
        }
        let end = inode.size.min(offset.saturating_add(len as u64));
        if inode.has_flag(flags::INLINE_DATA) {
            let stored = self.inline_stored(inode)?;
            let mut out = vec![0u8; (end - offset) as usize];
            if let Some(have) = stored.get(offset as usize..) {
                let n = have.len().min(out.len());
                out[..n].copy_from_slice(&have[..n]);
            }
            return Ok(out);
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
        if inode.has_flag(flags::ENCRYPT) {
            return self.readlink_nokey(inode);
        }
        // As the kernel's nd_terminate_link: the target is cut to the space
        // that holds it (less one byte) and ends at the first NUL.
        let target = if inode.is_fast_symlink(self.block_size()) {
            let len = (inode.size as usize).min(I_BLOCK_SIZE - 1);
            inode.block[..len].to_vec()
        } else {
            if inode.size == 0 {
                return Err(error::damaged(inode.ino, InodeDamage::EmptySlowSymlink));
            }
            if !inode.has_flag(flags::INLINE_DATA)
                && !matches!(self.map_block(inode, 0)?.backing, Backing::Data(_))
            {
                return Err(error::damaged(inode.ino, InodeDamage::SymlinkWithoutBlock));
            }
            let len = inode.size.min(self.block_size() as u64 - 1) as usize;
            self.read(inode, 0, len)?
        };
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
