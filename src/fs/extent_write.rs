//! Changing extent trees: insert (with merging), leaf and index splits,
//! depth growth, unwritten extents, removal of ranges.
//!
//! INTERIM: only the in-inode root leaf (up to four extents) is handled
//! here; deeper trees answer Unsupported until the full implementation.

use super::bmap::Run;
use super::extents::{Backing, Mapping};
use super::transaction::Transaction;
use super::{FsError, Result};
use crate::ext4::BlockNo;
use crate::ext4::extents::{self, Extent, ExtentHeader, ExtentNode};
use crate::ext4::inode::Inode;

impl Transaction<'_> {
    pub(crate) fn extent_map(&self, inode: &Inode, lblk: u64) -> Result<Mapping> {
        let (_, exts) = root_leaf(inode)?;
        let hole = |end: u64| Mapping {
            lblk,
            len: end.saturating_sub(lblk).max(1),
            backing: Backing::Hole,
        };
        for e in &exts {
            let (s, end) = (e.lblk as u64, e.lblk as u64 + e.len as u64);
            if lblk < s {
                return Ok(hole(s));
            }
            if lblk < end {
                let backing = if e.unwritten {
                    Backing::Unwritten
                } else {
                    Backing::Data(BlockNo(e.pblk.0 + (lblk - s)))
                };
                return Ok(Mapping {
                    lblk,
                    len: end - lblk,
                    backing,
                });
            }
        }
        Ok(hole(1 << 32))
    }

    pub(crate) fn extent_map_write(
        &mut self,
        inode: &mut Inode,
        lblk: u64,
        len: u64,
    ) -> Result<Vec<Run>> {
        let mut runs = Vec::new();
        let end = lblk + len;
        let mut at = lblk;
        while at < end {
            let m = self.extent_map(inode, at)?;
            let n = m.len.min(end - at);
            match m.backing {
                Backing::Data(p) => runs.push(Run {
                    lblk: at,
                    pblk: p,
                    len: n,
                    fresh: false,
                }),
                Backing::Unwritten => return Err(FsError::Unsupported),
                Backing::Hole => {
                    let goal = self.goal_for(inode, at)?;
                    let (p, got) = self.alloc_blocks(goal, n.min(32768) as u32)?;
                    let (h, mut exts) = root_leaf(inode)?;
                    let new = Extent {
                        lblk: at as u32,
                        len: got as u16,
                        pblk: p,
                        unwritten: false,
                    };
                    let pos = exts.partition_point(|e| e.lblk < new.lblk);
                    if pos > 0
                        && !exts[pos - 1].unwritten
                        && exts[pos - 1].lblk + exts[pos - 1].len as u32 == new.lblk
                        && exts[pos - 1].pblk.0 + exts[pos - 1].len as u64 == p.0
                        && exts[pos - 1].len as u32 + got <= 32768
                    {
                        exts[pos - 1].len += got as u16;
                    } else {
                        if exts.len() >= h.max as usize {
                            return Err(FsError::Unsupported);
                        }
                        exts.insert(pos, new);
                    }
                    ExtentNode::Leaf(h, exts).write_to(&mut inode.block)?;
                    self.charge_blocks(inode, got as i64);
                    runs.push(Run {
                        lblk: at,
                        pblk: p,
                        len: got as u64,
                        fresh: true,
                    });
                    at += got as u64;
                    continue;
                }
            }
            at += n;
        }
        Ok(runs)
    }

    pub(crate) fn extent_unmap(&mut self, inode: &mut Inode, start: u64, end: u64) -> Result<()> {
        let (h, exts) = root_leaf(inode)?;
        let mut keep = Vec::new();
        for e in exts {
            let (s, e_end) = (e.lblk as u64, e.lblk as u64 + e.len as u64);
            if e_end <= start || s >= end {
                keep.push(e);
                continue;
            }
            let (cut_s, cut_e) = (s.max(start), e_end.min(end));
            self.free_blocks(BlockNo(e.pblk.0 + cut_s - s), (cut_e - cut_s) as u32)?;
            self.charge_blocks(inode, -((cut_e - cut_s) as i64));
            if s < cut_s {
                keep.push(Extent {
                    len: (cut_s - s) as u16,
                    ..e
                });
            }
            if cut_e < e_end {
                keep.push(Extent {
                    lblk: cut_e as u32,
                    len: (e_end - cut_e) as u16,
                    pblk: BlockNo(e.pblk.0 + cut_e - s),
                    ..e
                });
            }
        }
        if keep.len() > h.max as usize {
            return Err(FsError::Unsupported);
        }
        ExtentNode::Leaf(h, keep).write_to(&mut inode.block)?;
        Ok(())
    }

    pub(crate) fn extent_prealloc(
        &mut self,
        _inode: &mut Inode,
        _lblk: u64,
        _len: u64,
    ) -> Result<()> {
        Err(FsError::Unsupported)
    }

    /// Where a new block for `lblk` should go: after the physical block of
    /// the nearest mapped block before it, else the inode's group.
    pub(crate) fn goal_for(&self, inode: &Inode, lblk: u64) -> Result<BlockNo> {
        if let Ok((_, exts)) = root_leaf(inode) {
            let before = exts.iter().rev().find(|e| (e.lblk as u64) < lblk);
            if let Some(e) = before {
                return Ok(BlockNo(e.pblk.0 + (lblk - e.lblk as u64)));
            }
        }
        let sb = self.fs().superblock();
        let g = (inode.ino.0 - 1) / sb.inodes_per_group;
        Ok(sb.group_first_block(g))
    }
}

/// Writes an empty extent root into `inode` (a new extent-mapped file).
pub fn init_extent_root(inode: &mut Inode) -> Result<()> {
    let h = ExtentHeader {
        entries: 0,
        max: extents::max_entries(inode.block.len()),
        depth: 0,
    };
    inode.block = [0; 60];
    ExtentNode::Leaf(h, Vec::new()).write_to(&mut inode.block)?;
    Ok(())
}

fn root_leaf(inode: &Inode) -> Result<(ExtentHeader, Vec<Extent>)> {
    let what = || format!("{} extent root", inode.ino);
    match ExtentNode::parse(&inode.block, None, &what)? {
        ExtentNode::Leaf(h, v) => Ok((h, v)),
        ExtentNode::Index(..) => Err(FsError::Unsupported),
    }
}
