//! Mapping logical blocks through an extent tree.

use super::{Fs, Result};
use crate::ext4::BlockNo;
use crate::ext4::extents::{self, ExtentNode};
use crate::ext4::inode::Inode;

/// What backs a run of logical blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backing {
    /// Data at this physical block (for the first block of the run).
    Data(BlockNo),
    /// Nothing allocated: reads as zeros.
    Hole,
    /// Allocated but never written: reads as zeros.
    Unwritten,
}

/// `len` logical blocks from `lblk` share one [`Backing`] (contiguous).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    pub lblk: u64,
    pub len: u64,
    pub backing: Backing,
}

/// One past the last logical block an extent tree can address.
const LBLK_END: u64 = 1 << 32;

impl Fs {
    /// Maps `lblk` of an extent-mapped inode.
    pub(crate) fn map_extent(&self, inode: &Inode, lblk: u64) -> Result<Mapping> {
        let hole_to = |end: u64| Mapping {
            lblk,
            len: end.saturating_sub(lblk).max(1),
            backing: Backing::Hole,
        };
        if lblk >= LBLK_END {
            return Ok(hole_to(u64::MAX));
        }
        let target = lblk as u32;
        let what_root = || format!("{} extent root", inode.ino);
        let mut node = ExtentNode::parse(&inode.block, None, &what_root)?;
        // End (exclusive) of the range the current node covers.
        let mut end = LBLK_END;
        loop {
            match node {
                ExtentNode::Index(h, entries) => {
                    let Some(i) = extents::search(&entries, target, |e| e.lblk) else {
                        return Ok(hole_to(entries.first().map_or(end, |e| e.lblk as u64)));
                    };
                    if let Some(next) = entries.get(i + 1) {
                        end = end.min(next.lblk as u64);
                    }
                    let child = entries[i].child;
                    let what = || format!("{} extent block {}", inode.ino, child.0);
                    let block = self.block(child)?;
                    if self.superblock().metadata_csum()
                        && !extents::verify_block_checksum(
                            self.csum_seed(),
                            inode.ino,
                            inode.generation,
                            &block,
                        )
                    {
                        return Err(crate::ext4::FormatError::BadChecksum { what: what() }.into());
                    }
                    node = ExtentNode::parse(&block, Some(h.depth - 1), &what)?;
                }
                ExtentNode::Leaf(_, exts) => {
                    let found = extents::search(&exts, target, |e| e.lblk);
                    if let Some(i) = found {
                        let e = exts[i];
                        let e_end = e.lblk as u64 + e.len as u64;
                        if lblk < e_end {
                            self.check_range(e.pblk, e.len as u64, || {
                                format!("{} extent", inode.ino)
                            })?;
                            let off = lblk - e.lblk as u64;
                            let backing = if e.unwritten {
                                Backing::Unwritten
                            } else {
                                Backing::Data(BlockNo(e.pblk.0 + off))
                            };
                            return Ok(Mapping {
                                lblk,
                                len: e_end - lblk,
                                backing,
                            });
                        }
                    }
                    let next = found.map_or(0, |i| i + 1);
                    return Ok(hole_to(exts.get(next).map_or(end, |e| e.lblk as u64)));
                }
            }
        }
    }
}
