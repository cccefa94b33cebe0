//! Changing extent trees: mapping for writes (allocation into holes with
//! merging, unwritten to written conversion), preallocation, removal of
//! ranges (truncate, punch), zero-range conversion to unwritten.
//!
//! Every operation edits one leaf at a time, through the path
//! `ext_path` gives, and hands the path to `settle` (path.rs),
//! which splits, frees, fixes parent index entries and grows or shrinks
//! the tree as the kernel's fs/ext4/extents.c would.

use crate::ext4::BlockNo;
use crate::ext4::RangeUse;
use crate::ext4::extents::{self, Extent, ExtentHeader, ExtentNode, INIT_MAX_LEN};
use crate::ext4::inode::Inode;
use crate::ext4::{CorruptKind, InodeDamage};
use crate::fs::extent::map::{Backing, Mapping};
use crate::fs::extent::path::{Entries, LBLK_END};
use crate::fs::journal::transaction::Transaction;
use crate::fs::map_dispatch::Run;
use crate::fs::{FsError, Result, error};

/// Longest written extent.
const MAX_WRITTEN: u64 = INIT_MAX_LEN as u64;
/// Longest unwritten extent (ee_len 32768 means a written one).
const MAX_UNWRITTEN: u64 = INIT_MAX_LEN as u64 - 1;

/// What one logical block is, as a transaction sees it.
enum Found {
    /// Inside this extent.
    Extent(Extent),
    /// In a hole that ends (exclusive) here.
    Hole(u64),
}

impl Transaction<'_> {
    /// The mapping of `lblk` as this transaction sees it (its own index
    /// and leaf blocks included), for the run of blocks that share it.
    pub(crate) fn extent_map(&self, inode: &Inode, lblk: u64) -> Result<Mapping> {
        Ok(match self.ext_find(inode, lblk)? {
            Found::Hole(end) => Mapping {
                lblk,
                len: end.saturating_sub(lblk).max(1),
                backing: Backing::Hole,
            },
            Found::Extent(e) => {
                let off = lblk - e.lblk as u64;
                Mapping {
                    lblk,
                    len: e.len as u64 - off,
                    backing: if e.unwritten {
                        Backing::Unwritten
                    } else {
                        Backing::Data(BlockNo(e.pblk.0 + off))
                    },
                }
            }
        })
    }

    fn ext_find(&self, inode: &Inode, lblk: u64) -> Result<Found> {
        if lblk >= LBLK_END {
            return Ok(Found::Hole(u64::MAX));
        }
        let mut path = self.ext_path(inode, lblk)?;
        let Some(leaf) = path.pop() else {
            return Err(error::corrupted(CorruptKind::ExtentPathEmpty));
        };
        let Entries::Leaf(v) = leaf.ents else {
            return Err(error::corrupted(CorruptKind::ExtentPathEndsInIndex));
        };
        let i = v.partition_point(|e| e.lblk as u64 <= lblk);
        if let Some(&e) = i.checked_sub(1).map(|j| &v[j])
            && lblk < e.lblk as u64 + e.len as u64
        {
            self.fs()
                .check_range(e.pblk, e.len as u64, RangeUse::Extent { ino: inode.ino })?;
            return Ok(Found::Extent(e));
        }
        Ok(Found::Hole(v.get(i).map_or(leaf.hi, |e| e.lblk as u64)))
    }

    /// Maps `[lblk, lblk + len)` for writing: holes get new blocks (as
    /// long runs as the allocator gives, near the preceding block),
    /// unwritten blocks in the range become written (both returned
    /// `fresh`), written blocks are returned as they are.
    pub(crate) fn extent_map_write(
        &mut self,
        inode: &mut Inode,
        lblk: u64,
        len: u64,
    ) -> Result<Vec<Run>> {
        let end = lblk.checked_add(len).ok_or(FsError::TooBig)?;
        if end > LBLK_END {
            return Err(FsError::TooBig);
        }
        let mut runs: Vec<Run> = Vec::new();
        let mut at = lblk;
        while at < end {
            let run = match self.ext_find(inode, at)? {
                Found::Extent(e) => {
                    let off = at - e.lblk as u64;
                    let n = (e.len as u64 - off).min(end - at);
                    let pblk = BlockNo(e.pblk.0 + off);
                    if e.unwritten {
                        self.convert_range(inode, at, at + n, false)?;
                    }
                    Run {
                        lblk: at,
                        pblk,
                        len: n,
                        fresh: e.unwritten,
                    }
                }
                Found::Hole(hole_end) => {
                    let n = hole_end.min(end) - at;
                    let (pblk, got) = self.alloc_into_hole(inode, at, n, false)?;
                    Run {
                        lblk: at,
                        pblk,
                        len: got,
                        fresh: true,
                    }
                }
            };
            at += run.len;
            match runs.last_mut() {
                Some(r)
                    if r.fresh == run.fresh
                        && r.lblk + r.len == run.lblk
                        && r.pblk.0 + r.len == run.pblk.0 =>
                {
                    r.len += run.len
                }
                _ => runs.push(run),
            }
        }
        Ok(runs)
    }

    /// Allocates up to `n` blocks for the hole at `lblk` and maps them
    /// (written or unwritten). Returns the first block and the count.
    /// With bigalloc, blocks of a logical cluster another block of the
    /// inode already maps go into that block's physical cluster, and new
    /// clusters are taken whole for the rest (ext4_ext_map_blocks and its
    /// get_implied_cluster_alloc); each new cluster is charged whole.
    fn alloc_into_hole(
        &mut self,
        inode: &mut Inode,
        lblk: u64,
        n: u64,
        unwritten: bool,
    ) -> Result<(BlockNo, u64)> {
        let limit = if unwritten {
            MAX_UNWRITTEN
        } else {
            MAX_WRITTEN
        };
        let bits = self.fs().superblock().cluster_bits();
        let cpc = 1u64 << bits;
        let cs = lblk & !(cpc - 1);
        let (pblk, got) = if let Some(first) = self.cluster_home(inode, cs)? {
            // The rest of this logical cluster is already paid for.
            let got = n.min(cs + cpc - lblk).min(limit);
            (BlockNo(first + (lblk - cs)), got)
        } else {
            let mut end = lblk + n.min(limit);
            // A last logical cluster the inode already maps elsewhere
            // keeps its own physical cluster: stop before it.
            let last = (end - 1) & !(cpc - 1);
            if last > cs && self.cluster_home(inode, last)?.is_some() {
                end = last;
            }
            let goal = self.goal_for(inode, lblk)?;
            let want = (end - cs).div_ceil(cpc) as u32;
            let (first, clusters) = self.alloc_clusters(goal, want)?;
            self.charge_clusters(inode, clusters as i64);
            let got = end.min(cs + ((clusters as u64) << bits)) - lblk;
            (BlockNo(first.0 + (lblk - cs)), got)
        };
        self.insert_extent(
            inode,
            Extent {
                lblk: lblk as u32,
                len: got as u16,
                pblk,
                unwritten,
            },
        )?;
        Ok((pblk, got))
    }

    /// With bigalloc, the physical block that logical block `cs` (the
    /// first of its logical cluster) has or would have when any block of
    /// that logical cluster is mapped: a file's logical cluster lives in
    /// one physical cluster. None when none is (or without bigalloc).
    fn cluster_home(&self, inode: &Inode, cs: u64) -> Result<Option<u64>> {
        let cpc = 1u64 << self.fs().superblock().cluster_bits();
        if cpc == 1 {
            return Ok(None);
        }
        let mut at = cs;
        while at < cs + cpc {
            match self.ext_find(inode, at)? {
                Found::Extent(e) => {
                    let p = e.pblk.0 + (at - e.lblk as u64);
                    return Ok(Some(p - (at - cs)));
                }
                Found::Hole(end) => at = end,
            }
        }
        Ok(None)
    }

    /// Inserts an extent into a hole, merging it with its neighbours in
    /// the leaf when they continue each other.
    pub(in crate::fs) fn insert_extent(&mut self, inode: &mut Inode, new: Extent) -> Result<()> {
        let mut path = self.ext_path(inode, new.lblk as u64)?;
        let k = path.len() - 1;
        let leaf = &mut path[k];
        let hi = leaf.hi;
        let v = leaf.leaf_mut()?;
        let pos = v.partition_point(|e| e.lblk < new.lblk);
        let new_end = new.lblk as u64 + new.len as u64;
        let overlaps_left = pos > 0 && end_of(&v[pos - 1]) > new.lblk as u64;
        let overlaps_right = v.get(pos).is_some_and(|e| (e.lblk as u64) < new_end);
        if overlaps_left || overlaps_right || new_end > hi {
            return Err(error::damaged(
                inode.ino,
                InodeDamage::ExtentNoHole {
                    lblk: new.lblk,
                    end: new_end,
                },
            ));
        }
        v.insert(pos, new);
        merge_leaf(v);
        // Should the leaf overflow, what follows the new extent moves.
        let at = v.partition_point(|e| e.lblk <= new.lblk);
        leaf.edit = Some(at);
        self.settle(inode, path)
    }

    /// Applies `f` to every extent overlapping `[start, end)`, leaf by
    /// leaf: `f` gets the extent and the overlap and answers the pieces
    /// that replace it (None: keep it). With `merge`, merges what can be
    /// merged in each changed leaf; settles it.
    pub(super) fn edit_range<F>(
        &mut self,
        inode: &mut Inode,
        start: u64,
        end: u64,
        merge: bool,
        mut f: F,
    ) -> Result<()>
    where
        F: FnMut(&mut Self, &mut Inode, Extent, u64, u64) -> Result<Option<Vec<Extent>>>,
    {
        let end = end.min(LBLK_END);
        let mut cursor = start;
        while cursor < end {
            let mut path = self.ext_path(inode, cursor)?;
            let k = path.len() - 1;
            let hi = path[k].hi;
            let is_root = path[k].at.is_none();
            let old = std::mem::take(path[k].leaf_mut()?);
            let was_empty = old.is_empty();
            let mut out = Vec::with_capacity(old.len() + 2);
            let mut edit = None;
            for e in old {
                let (s, e_end) = (e.lblk as u64, end_of(&e));
                let (cs, ce) = (s.max(start), e_end.min(end));
                if cs >= ce {
                    out.push(e);
                    continue;
                }
                match f(self, inode, e, cs, ce)? {
                    None => out.push(e),
                    Some(pieces) => {
                        out.extend(pieces);
                        edit = Some(out.len());
                    }
                }
            }
            if let Some(at) = edit {
                if merge {
                    merge_leaf(&mut out);
                }
                path[k].edit = Some(at.min(out.len()));
            } else if was_empty && !is_root {
                // An empty leaf (the kernel can leave one after a failed
                // split): settle frees it.
                path[k].edit = Some(0);
            }
            *path[k].leaf_mut()? = out;
            if path[k].edit.is_some() {
                self.settle(inode, path)?;
            }
            cursor = hi;
        }
        Ok(())
    }

    /// Makes the blocks of `[start, end)` written (`to_unwritten` false) or
    /// unwritten, splitting extents at the edges; holes stay holes.
    fn convert_range(
        &mut self,
        inode: &mut Inode,
        start: u64,
        end: u64,
        to_unwritten: bool,
    ) -> Result<()> {
        self.edit_range(inode, start, end, true, |_, _, e, cs, ce| {
            if e.unwritten == to_unwritten {
                return Ok(None);
            }
            let mut p = Vec::with_capacity(3);
            let (s, e_end) = (e.lblk as u64, end_of(&e));
            push_piece(&mut p, &e, s, cs, e.unwritten);
            push_piece(&mut p, &e, cs, ce, to_unwritten);
            push_piece(&mut p, &e, ce, e_end, e.unwritten);
            Ok(Some(p))
        })
    }

    /// Frees the blocks mapped in `[start, end)` (`end` u64::MAX: to the
    /// end, a truncate), splitting extents at the edges; emptied leaves
    /// and index blocks are freed and the tree shrinks as it empties.
    /// With bigalloc a cluster goes only when no block of the inode in it
    /// stays mapped: the kernel's partial_cluster in ext4_ext_remove_space
    /// (a cluster at an edge of the range is checked after the removal).
    pub(crate) fn extent_unmap(&mut self, inode: &mut Inode, start: u64, end: u64) -> Result<()> {
        let bits = self.fs().superblock().cluster_bits();
        let cpc = 1u64 << bits;
        // Logical clusters only partly removed by one extent's piece, with
        // their physical first block.
        let mut edges: std::collections::BTreeMap<u64, u64> = Default::default();
        self.edit_range(inode, start, end, true, |tx, inode, e, cs, ce| {
            let p = e.pblk.0 + (cs - e.lblk as u64);
            // Clusters wholly inside this piece are this piece's alone.
            let (first, last) = (cs.next_multiple_of(cpc), ce & !(cpc - 1));
            if first < last {
                tx.free_blocks(BlockNo(p + (first - cs)), (last - first) as u32)?;
                tx.charge_clusters(inode, -(((last - first) >> bits) as i64));
            }
            for c in [cs & !(cpc - 1), (ce - 1) & !(cpc - 1)] {
                if !(first..last).contains(&c) {
                    edges.insert(c, p + c - cs);
                }
            }
            let mut p = Vec::with_capacity(2);
            push_piece(&mut p, &e, e.lblk as u64, cs, e.unwritten);
            push_piece(&mut p, &e, ce, end_of(&e), e.unwritten);
            Ok(Some(p))
        })?;
        for (c, first) in edges {
            let inside = c >= start && c + cpc <= end;
            if inside || self.cluster_home(inode, c)?.is_none() {
                self.free_blocks(BlockNo(first), cpc as u32)?;
                self.charge_clusters(inode, -1);
            }
        }
        Ok(())
    }

    /// Allocates unwritten extents over the holes in `[lblk, lblk + len)`
    /// (fallocate mode 0 and KEEP_SIZE); mapped blocks are left alone.
    pub(crate) fn extent_prealloc(&mut self, inode: &mut Inode, lblk: u64, len: u64) -> Result<()> {
        let end = lblk.checked_add(len).ok_or(FsError::TooBig)?;
        if end > LBLK_END {
            return Err(FsError::TooBig);
        }
        let mut at = lblk;
        while at < end {
            at = match self.ext_find(inode, at)? {
                Found::Extent(e) => end_of(&e),
                Found::Hole(hole_end) => {
                    let n = hole_end.min(end) - at;
                    at + self.alloc_into_hole(inode, at, n, true)?.1
                }
            };
        }
        Ok(())
    }

    /// fallocate ZERO_RANGE on whole blocks `[lblk, lblk + len)`: holes
    /// get unwritten extents, written blocks become unwritten (they keep
    /// their place and read as zeros). The caller zeroes partial blocks
    /// at the edges itself.
    pub fn extent_zero_range(&mut self, inode: &mut Inode, lblk: u64, len: u64) -> Result<()> {
        self.extent_prealloc(inode, lblk, len)?;
        self.convert_range(inode, lblk, lblk + len, true)
    }

    /// Where a new block for `lblk` should go: after the physical block of
    /// the nearest mapped block before it, else the start of the inode's
    /// group.
    pub(crate) fn goal_for(&self, inode: &Inode, lblk: u64) -> Result<BlockNo> {
        let sb = self.fs().superblock();
        let path = self.ext_path(inode, lblk)?;
        if let Some(Entries::Leaf(v)) = path.last().map(|l| &l.ents) {
            let i = v.partition_point(|e| (e.lblk as u64) < lblk);
            if let Some(e) = i.checked_sub(1).map(|j| v[j]) {
                let goal = e.pblk.0 + (lblk - e.lblk as u64);
                if goal < sb.blocks_count {
                    return Ok(BlockNo(goal));
                }
            }
        }
        let g = (inode.ino.0 - 1) / sb.inodes_per_group;
        Ok(sb.group_first_block(g))
    }
}

/// One past the last logical block of `e`.
pub(super) fn end_of(e: &Extent) -> u64 {
    e.lblk as u64 + e.len as u64
}

/// Appends the part `[from, to)` of extent `e` (same physical offset),
/// written or unwritten, cut to the longest extents allowed.
pub(super) fn push_piece(out: &mut Vec<Extent>, e: &Extent, from: u64, to: u64, unwritten: bool) {
    let limit = if unwritten {
        MAX_UNWRITTEN
    } else {
        MAX_WRITTEN
    };
    let mut at = from;
    while at < to {
        let n = (to - at).min(limit);
        out.push(Extent {
            lblk: at as u32,
            len: n as u16,
            pblk: BlockNo(e.pblk.0 + (at - e.lblk as u64)),
            unwritten,
        });
        at += n;
    }
}

/// Whether `b` continues `a` (logically and physically, same state) and
/// the two fit one extent (ext4_can_extents_be_merged).
fn mergeable(a: &Extent, b: &Extent) -> bool {
    let limit = if a.unwritten {
        MAX_UNWRITTEN
    } else {
        MAX_WRITTEN
    };
    a.unwritten == b.unwritten
        && end_of(a) == b.lblk as u64
        && a.pblk.0 + a.len as u64 == b.pblk.0
        && a.len as u64 + b.len as u64 <= limit
}

/// Merges every pair of neighbours in a leaf that continue each other.
fn merge_leaf(v: &mut Vec<Extent>) {
    let mut i = 0;
    while i + 1 < v.len() {
        if mergeable(&v[i], &v[i + 1]) {
            v[i].len += v[i + 1].len;
            v.remove(i + 1);
        } else {
            i += 1;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(lblk: u32, len: u16, pblk: u64, unwritten: bool) -> Extent {
        Extent {
            lblk,
            len,
            pblk: BlockNo(pblk),
            unwritten,
        }
    }

    #[test]
    fn merges_only_continuations_within_limits() {
        let mut v = vec![
            ext(0, 4, 100, false),
            ext(4, 2, 104, false),
            ext(6, 1, 106, true),
            ext(7, 1, 107, true),
            ext(8, 1, 109, true),
        ];
        merge_leaf(&mut v);
        assert_eq!(
            v,
            [
                ext(0, 6, 100, false),
                ext(6, 2, 106, true),
                ext(8, 1, 109, true)
            ]
        );
        assert!(mergeable(
            &ext(0, 32767, 1, false),
            &ext(32767, 1, 32768, false)
        ));
        assert!(!mergeable(
            &ext(0, 32767, 1, true),
            &ext(32767, 1, 32768, true)
        ));
    }

    #[test]
    fn pieces_respect_the_length_limits() {
        let e = ext(10, 32768, 1000, false);
        let mut p = Vec::new();
        push_piece(&mut p, &e, 10, 10 + 32768, true);
        assert_eq!(p, [ext(10, 32767, 1000, true), ext(32777, 1, 33767, true)]);
        p.clear();
        push_piece(&mut p, &e, 20, 20, false);
        assert!(p.is_empty());
    }
}
