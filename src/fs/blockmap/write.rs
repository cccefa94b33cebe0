//! Changing ext2/ext3 block maps: allocating direct and indirect blocks,
//! freeing them on truncate and punch.
//!
//! Files are left as ext2/ext3 and the kernel's ext4 ind.c leave them: a
//! new indirect block is allocated just before the data it leads to, in
//! one contiguous run with that data; i_blocks counts data and indirect
//! blocks; an indirect block whose pointers are all gone is freed.
//!
//! Every walk reads through the transaction (`read_block`), so blocks this
//! transaction allocated or changed are seen. Pointers from the image are
//! checked before use: inside the filesystem, outside its metadata, not an
//! ancestor on the path (a loop), no block freed twice and no indirect
//! block walked twice while freeing; a damaged map gives a
//! corruption error, never a panic or an unbounded walk.

use crate::ext4::BlockNo;
use crate::ext4::InodeDamage;
use crate::ext4::RangeUse;
use crate::ext4::blockmap::{DIRECT, Route, max_blocks, route, span};
use crate::ext4::inode::Inode;
use crate::ext4::layout::blockmap::{block_ptrs, block_ptrs_mut};
use crate::ext4::superblock::{incompat, ro_compat};
use crate::fs::blockmap::map::{Walk, walk};
use crate::fs::extent::map::{Backing, Mapping};
use crate::fs::journal::transaction::Transaction;
use crate::fs::map_dispatch::Run;
use crate::fs::{Fs, FsError, Result, error};
use zerocopy::little_endian::U32;

/// Block pointers are 32 bits: a block-mapped file cannot use blocks past
/// this (the kernel keeps such files in its `s_blockfile_groups`).
const PTR_LIMIT: u64 = 1 << 32;

/// Where one block pointer lives.
#[derive(Debug, Clone, Copy)]
enum Slot {
    /// i_block[n].
    Inode(usize),
    /// Entry n of an indirect block.
    Block(u64, usize),
}

impl Transaction<'_> {
    /// The mapping of `lblk` as this transaction sees it: a hole covers its
    /// whole empty subtree, data the physically contiguous pointers that
    /// follow in the same pointer block.
    pub(crate) fn blockmap_map(&self, inode: &Inode, lblk: u64) -> Result<Mapping> {
        let per = self.per_block();
        let read = |ptr: u64, above: &[u64]| {
            self.check_indirect(inode, ptr, above)?;
            self.read_block(BlockNo(ptr))
        };
        let (ptr, r, chain) = match walk(&inode.block, lblk, per, read)? {
            Walk::Hole(m) => return Ok(m),
            Walk::Data { ptr, route, chain } => (ptr, route, chain),
        };
        let (idx, cap) = leaf_index(&r, per);
        let len = match chain.last() {
            None => contiguous(&block_ptrs(&inode.block)[..DIRECT as usize], idx, cap),
            Some(&b) => contiguous(block_ptrs(&self.read_block(BlockNo(b))?), idx, cap),
        };
        self.check_data(inode, ptr, len, &chain)?;
        Ok(Mapping {
            lblk,
            len,
            backing: Backing::Data(BlockNo(ptr)),
        })
    }

    /// Maps `[lblk, lblk + len)` for writing: holes get new data blocks
    /// (contiguous where possible, after the previous logical block's
    /// block), and the indirect blocks on the way are allocated, zeroed,
    /// and placed just before their data. i_blocks counts both. Returns the
    /// runs in logical order; `fresh` runs are new blocks. A range past the
    /// largest block-mapped file is `TooBig`.
    pub(crate) fn blockmap_map_write(
        &mut self,
        inode: &mut Inode,
        lblk: u64,
        len: u64,
    ) -> Result<Vec<Run>> {
        let per = self.per_block();
        let end = lblk
            .checked_add(len)
            .filter(|&e| e <= self.max_lblk())
            .ok_or(FsError::TooBig)?;
        let mut runs: Vec<Run> = Vec::new();
        let mut at = lblk;
        // Where the next new block should go: after the last one placed.
        let mut goal: Option<u64> = None;
        while at < end {
            let r = route(at, per).ok_or(FsError::TooBig)?;
            let (idx, cap) = leaf_index(&r, per);
            let n_max = ((cap - idx) as u64).min(end - at);
            // The existing indirect blocks on the path, top down.
            let mut chain: Vec<u64> = Vec::with_capacity(3);
            let mut ptr = block_ptrs(&inode.block)[r.slot].get() as u64;
            for &index in &r.path {
                if ptr == 0 {
                    break;
                }
                self.check_indirect(inode, ptr, &chain)?;
                chain.push(ptr);
                ptr = block_ptrs(&self.read_block(BlockNo(ptr))?)[index as usize].get() as u64;
            }
            // The pointer array holding `at`'s pointer, when it exists.
            let leaf = if chain.len() < r.path.len() {
                None
            } else {
                Some(match chain.last() {
                    None => block_ptrs(&inode.block)[..DIRECT as usize].to_vec(),
                    Some(&b) => block_ptrs(&self.read_block(BlockNo(b))?).to_vec(),
                })
            };
            let n = if let Some(leaf) = &leaf {
                if ptr != 0 {
                    let n = contiguous(leaf, idx, idx + n_max as usize);
                    self.check_data(inode, ptr, n, &chain)?;
                    push_run(&mut runs, at, ptr, n, false);
                    at += n;
                    goal = Some(ptr + n);
                    continue;
                }
                (idx..idx + n_max as usize)
                    .take_while(|&i| leaf[i].get() == 0)
                    .count() as u64
            } else {
                n_max
            };
            let goal_b = match goal {
                Some(g) => g,
                None => {
                    let arr = leaf.as_deref().map(|a| (a, idx));
                    self.map_goal(inode, at, &chain, arr)?
                }
            };
            let missing = r.path.len() - chain.len();
            let pieces = self.alloc_branch(goal_b, missing as u64, n)?;
            let mut new = pieces
                .iter()
                .flat_map(|&(p, got)| (p..p + got as u64).map(move |b| b as u32));
            // Link the new indirect blocks, top down, then the data.
            let mut parent = match chain.last() {
                None => Slot::Inode(r.slot),
                Some(&b) => Slot::Block(b, r.path[chain.len() - 1] as usize),
            };
            for depth in chain.len()..r.path.len() {
                let nb = new.next().ok_or(FsError::NoSpace)?;
                self.block_new(BlockNo(nb as u64));
                self.set_ptr(inode, parent, nb)?;
                self.charge_blocks(inode, 1);
                parent = Slot::Block(nb as u64, r.path[depth] as usize);
            }
            let mut placed = 0u64;
            for b in new {
                let slot = match parent {
                    Slot::Inode(s) => Slot::Inode(s + placed as usize),
                    Slot::Block(ib, i) => Slot::Block(ib, i + placed as usize),
                };
                self.set_ptr(inode, slot, b)?;
                push_run(&mut runs, at + placed, b as u64, 1, true);
                placed += 1;
                goal = Some(b as u64 + 1);
            }
            self.charge_blocks(inode, placed as i64);
            at += placed;
        }
        Ok(runs)
    }

    /// Frees the blocks mapped in `[start, end)` (`end` = u64::MAX:
    /// everything from `start`, a truncate) and every indirect block left
    /// without pointers, clearing the pointers and i_blocks.
    pub(crate) fn blockmap_unmap(&mut self, inode: &mut Inode, start: u64, end: u64) -> Result<()> {
        let fr = self.unmap_walk(inode, start, end)?;
        self.release(inode, fr, true)
    }

    /// Frees every indirect block of `inode` and clears its pointers, but
    /// keeps its data blocks allocated and charged: they move to an extent
    /// tree (migrate.rs).
    pub(crate) fn blockmap_drop_pointer_blocks(&mut self, inode: &mut Inode) -> Result<()> {
        let fr = self.unmap_walk(inode, 0, u64::MAX)?;
        self.release(inode, fr, false)
    }

    /// Clears the pointers to what `[start, end)` covers and to the
    /// indirect blocks left empty; returns the blocks that were mapped.
    fn unmap_walk(&mut self, inode: &mut Inode, start: u64, end: u64) -> Result<Freed> {
        let per = self.per_block();
        let end = end.min(crate::ext4::blockmap::tree_blocks(per));
        if start >= end {
            return Ok(Freed::default());
        }
        let mut fr = Freed::default();
        for i in start..end.min(DIRECT) {
            let p = block_ptrs(&inode.block)[i as usize].get() as u64;
            if p != 0 {
                fr.data.push((p, 1));
                block_ptrs_mut(&mut inode.block)[i as usize].set(0);
            }
        }
        let mut first = DIRECT;
        for (slot, level) in [(12usize, 1u32), (13, 2), (14, 3)] {
            let covers = span(per, level);
            let p = block_ptrs(&inode.block)[slot].get() as u64;
            if p != 0 && start < first + covers && end > first {
                let whole = start <= first && end >= first + covers;
                let empty = self.prune(inode, p, level, first, (start, end), &mut fr)?;
                if whole || empty {
                    fr.meta.push(p);
                    block_ptrs_mut(&mut inode.block)[slot].set(0);
                }
            }
            first += covers;
        }
        Ok(fr)
    }

    /// Frees what `range` covers below indirect block `b` (at `level`,
    /// mapping logical blocks from `first`), clearing its pointers unless
    /// the whole block goes. Returns whether `b` is left without pointers
    /// (the caller then frees it).
    fn prune(
        &mut self,
        inode: &Inode,
        b: u64,
        level: u32,
        first: u64,
        (start, end): (u64, u64),
        fr: &mut Freed,
    ) -> Result<bool> {
        self.check_indirect(inode, b, &fr.path)?;
        if !fr.visited.insert(b) {
            return Err(error::damaged(
                inode.ino,
                InodeDamage::IndirectTwice { block: b },
            ));
        }
        let per = self.per_block();
        let mut ptrs: Vec<u32> = block_ptrs(&self.read_block(BlockNo(b))?)
            .iter()
            .map(|p| p.get())
            .collect();
        let child = span(per, level - 1);
        let lo = (start.saturating_sub(first) / child) as usize;
        let hi = (end - first).div_ceil(child).min(per) as usize;
        let mut cleared = Vec::new();
        fr.path.push(b);
        for (i, p) in ptrs.iter_mut().enumerate().take(hi).skip(lo) {
            if *p == 0 {
                continue;
            }
            if level == 1 {
                fr.data.push((*p as u64, 1));
            } else {
                let cfirst = first + i as u64 * child;
                let cwhole = start <= cfirst && end >= cfirst + child;
                let empty = self.prune(inode, *p as u64, level - 1, cfirst, (start, end), fr)?;
                if !(cwhole || empty) {
                    continue;
                }
                fr.meta.push(*p as u64);
            }
            *p = 0;
            cleared.push(i);
        }
        fr.path.pop();
        let left = ptrs.iter().any(|&p| p != 0);
        if left && !cleared.is_empty() {
            let blk = self.block_mut(BlockNo(b))?;
            for i in cleared {
                block_ptrs_mut(blk)[i].set(0);
            }
        }
        Ok(!left)
    }

    /// Frees what an unmap collected (the indirect blocks, and the data
    /// blocks with `data`), after checking that no block is mapped twice
    /// and none is filesystem metadata; uncharges them from i_blocks.
    fn release(&mut self, inode: &mut Inode, fr: Freed, data: bool) -> Result<()> {
        // Indirect blocks join the data so that a block mapped both ways
        // is caught as freed twice.
        let mut all: Vec<(u64, u64, bool)> = fr.data.iter().map(|&(b, n)| (b, n, data)).collect();
        all.extend(fr.meta.iter().map(|&b| (b, 1, true)));
        all.sort_unstable();
        let mut runs: Vec<(u64, u64, bool)> = Vec::new();
        for (b, n, free) in all {
            match runs.last_mut() {
                Some((s, len, _)) if b < *s + *len => {
                    return Err(error::damaged(
                        inode.ino,
                        InodeDamage::MappedTwice { block: b },
                    ));
                }
                Some((s, len, f)) if b == *s + *len && *f == free => *len += n,
                _ => runs.push((b, n, free)),
            }
        }
        runs.retain(|r| r.2);
        let runs: Vec<(u64, u64)> = runs.into_iter().map(|(s, n, _)| (s, n)).collect();
        let mut total = 0u64;
        for &(s, n) in &runs {
            self.check_data(inode, s, n, &[])?;
            total += n;
        }
        for (s, n) in runs {
            let n = u32::try_from(n).map_err(|_| FsError::Invalid)?;
            self.free_blocks(BlockNo(s), n)?;
        }
        self.charge_blocks(inode, -(total as i64));
        Ok(())
    }

    /// Pointers per indirect block.
    fn per_block(&self) -> u64 {
        self.fs().block_size() as u64 / 4
    }

    /// One past the last logical block a block-mapped file may use.
    pub(in crate::fs) fn max_lblk(&self) -> u64 {
        let sb = self.fs().superblock();
        max_blocks(sb.block_size(), sb.has_ro_compat(ro_compat::HUGE_FILE))
    }

    /// Where new blocks for `at` should go: after the previous logical
    /// block's block; else after the nearest earlier pointer in the same
    /// pointer block; else after the deepest existing indirect block on the
    /// path; else the start of the inode's group.
    fn map_goal(
        &self,
        inode: &Inode,
        at: u64,
        chain: &[u64],
        leaf: Option<(&[U32], usize)>,
    ) -> Result<u64> {
        if at > 0
            && let Backing::Data(p) = self.blockmap_map(inode, at - 1)?.backing
        {
            return Ok(p.0 + 1);
        }
        if let Some((arr, idx)) = leaf
            && let Some(j) = (0..idx).rev().find(|&j| arr[j].get() != 0)
        {
            return Ok(arr[j].get() as u64 + (idx - j) as u64);
        }
        if let Some(&b) = chain.last() {
            return Ok(b + 1);
        }
        let sb = self.fs().superblock();
        let g = (inode.ino.0 - 1) / sb.inodes_per_group;
        Ok(sb.group_first_block(g).0)
    }

    /// Allocates `missing` indirect blocks and up to `data` data blocks
    /// (at least one), as few contiguous pieces as the allocator gives,
    /// all below 2^32. Returns the pieces in order: the first `missing`
    /// blocks are the indirect ones.
    fn alloc_branch(&mut self, goal: u64, missing: u64, data: u64) -> Result<Vec<(u64, u32)>> {
        let want = missing + data;
        let mut pieces = Vec::new();
        let mut got_total = 0u64;
        let mut goal = goal;
        while got_total < missing + 1 {
            let (p, got) = self.alloc_low(goal, (want - got_total) as u32)?;
            pieces.push((p, got));
            got_total += got as u64;
            goal = p + got as u64;
        }
        Ok(pieces)
    }

    /// `alloc_blocks` restricted to blocks a 32-bit pointer can name: what
    /// lies above is given back, and the search restarts from the first
    /// group once, which scans every low group before any high one.
    fn alloc_low(&mut self, goal: u64, want: u32) -> Result<(u64, u32)> {
        let first = self.fs().superblock().first_data_block as u64;
        let mut goal = if goal >= PTR_LIMIT { first } else { goal };
        for _ in 0..2 {
            let (p, got) = self.alloc_blocks(BlockNo(goal), want)?;
            let end = p.0 + got as u64;
            if end <= PTR_LIMIT {
                return Ok((p.0, got));
            }
            if p.0 < PTR_LIMIT {
                let keep = (PTR_LIMIT - p.0) as u32;
                self.free_blocks(BlockNo(PTR_LIMIT), got - keep)?;
                return Ok((p.0, keep));
            }
            self.free_blocks(p, got)?;
            goal = first;
        }
        Err(FsError::NoSpace)
    }

    /// Stores pointer `v` in `slot` (an indirect block this operation owns:
    /// reachable only through `inode`).
    fn set_ptr(&mut self, inode: &mut Inode, slot: Slot, v: u32) -> Result<()> {
        match slot {
            Slot::Inode(i) => block_ptrs_mut(&mut inode.block)[i].set(v),
            Slot::Block(b, i) => block_ptrs_mut(self.block_mut(BlockNo(b))?)[i].set(v),
        }
        Ok(())
    }

    /// An indirect block pointer read from the map must lie inside the
    /// filesystem, outside its metadata (whose bytes would be followed as
    /// pointers), and not lead back to a block above it on the path.
    fn check_indirect(&self, inode: &Inode, b: u64, above: &[u64]) -> Result<()> {
        let at = RangeUse::IndirectBlock { ino: inode.ino };
        self.fs().check_range(BlockNo(b), 1, at)?;
        if above.contains(&b) {
            return Err(error::damaged(
                inode.ino,
                InodeDamage::IndirectLoop { block: b },
            ));
        }
        self.check_metadata(inode, b, 1)
    }

    /// Data blocks about to be written or freed must lie inside the
    /// filesystem, outside its metadata and outside the indirect blocks
    /// leading to them.
    fn check_data(&self, inode: &Inode, b: u64, len: u64, chain: &[u64]) -> Result<()> {
        let at = RangeUse::DataBlocks { ino: inode.ino };
        self.fs().check_range(BlockNo(b), len, at)?;
        if chain.iter().any(|&c| (b..b + len).contains(&c)) {
            return Err(error::damaged(
                inode.ino,
                InodeDamage::DataOverIndirect { block: b, len },
            ));
        }
        self.check_metadata(inode, b, len)
    }

    /// Refuses `len` blocks from `b` that overlap filesystem metadata.
    fn check_metadata(&self, inode: &Inode, b: u64, len: u64) -> Result<()> {
        if overlaps_metadata(self.fs(), b, len) {
            return Err(error::damaged(
                inode.ino,
                InodeDamage::MapOverMetadata { block: b, len },
            ));
        }
        Ok(())
    }
}

/// What an unmap frees, gathered before anything is freed.
#[derive(Default)]
struct Freed {
    /// Data blocks: (first, count).
    data: Vec<(u64, u64)>,
    /// Indirect blocks.
    meta: Vec<u64>,
    /// Indirect blocks already walked: a block met twice is damage, and
    /// walking it again could multiply the work without bound.
    visited: std::collections::HashSet<u64>,
    /// The indirect blocks above the one being walked.
    path: Vec<u64>,
}

/// The index of the route's last pointer in its pointer array (i_block's
/// direct part, or the last indirect block) and that array's length.
fn leaf_index(r: &Route, per: u64) -> (usize, usize) {
    match r.path.last() {
        None => (r.slot, DIRECT as usize),
        Some(&i) => (i as usize, per as usize),
    }
}

/// How many pointers from `idx` (below `cap`) continue the physical run
/// started by the pointer at `idx` (≥ 1 when that pointer is set).
fn contiguous(arr: &[U32], idx: usize, cap: usize) -> u64 {
    let first = arr[idx].get() as u64;
    (idx..cap)
        .take_while(|&i| arr[i].get() as u64 == first + (i - idx) as u64)
        .count() as u64
}

/// Appends a run, merging with the previous one when both the logical and
/// physical blocks continue it and the freshness matches.
fn push_run(runs: &mut Vec<Run>, lblk: u64, pblk: u64, len: u64, fresh: bool) {
    if let Some(last) = runs.last_mut()
        && last.fresh == fresh
        && last.lblk + last.len == lblk
        && last.pblk.0 + last.len == pblk
    {
        last.len += len;
        return;
    }
    runs.push(Run {
        lblk,
        pblk: BlockNo(pblk),
        len,
        fresh,
    });
}

/// Whether `len` blocks from `b` overlap a superblock or descriptor copy,
/// reserved descriptor blocks, a bitmap or an inode table. Without
/// flex_bg a group's bitmaps and table lie in the group itself, so only
/// the groups the range touches are looked at; with it, every group's.
fn overlaps_metadata(fs: &Fs, b: u64, len: u64) -> bool {
    let sb = fs.superblock();
    let end = b + len;
    let hit = |s: u64, n: u64| s < end && b < s + n;
    let (g0, g1) = (
        fs.group_of_block(BlockNo(b)),
        fs.group_of_block(BlockNo(end - 1)),
    );
    for g in g0..=g1.min(sb.group_count().saturating_sub(1)) {
        if hit(
            sb.group_first_block(g).0,
            sb.group_base_meta_blocks(g) as u64,
        ) {
            return true;
        }
    }
    let itb = sb.inode_table_blocks();
    let groups = fs.groups.read();
    let range = if sb.has_incompat(incompat::FLEX_BG) {
        0..groups.len()
    } else {
        g0 as usize..(g1 as usize + 1).min(groups.len())
    };
    groups[range].iter().any(|gd| {
        hit(gd.block_bitmap.0, 1) || hit(gd.inode_bitmap.0, 1) || hit(gd.inode_table.0, itb)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arr(ptrs: &[u32]) -> Vec<u8> {
        ptrs.iter().flat_map(|p| p.to_le_bytes()).collect()
    }

    #[test]
    fn contiguous_stops_at_a_gap_or_the_cap() {
        let a = arr(&[5, 6, 7, 9, 10, 0]);
        assert_eq!(contiguous(block_ptrs(&a), 0, 6), 3);
        assert_eq!(contiguous(block_ptrs(&a), 1, 6), 2);
        assert_eq!(contiguous(block_ptrs(&a), 0, 2), 2);
        assert_eq!(contiguous(block_ptrs(&a), 3, 6), 2);
    }

    #[test]
    fn runs_merge_only_when_everything_continues() {
        let mut runs = Vec::new();
        push_run(&mut runs, 0, 100, 2, true);
        push_run(&mut runs, 2, 102, 1, true);
        assert_eq!(runs.len(), 1);
        // Physical gap (an indirect block between), then freshness change.
        push_run(&mut runs, 3, 104, 1, true);
        push_run(&mut runs, 4, 105, 1, false);
        // Logical gap.
        push_run(&mut runs, 6, 106, 1, false);
        let got: Vec<_> = runs.iter().map(|r| (r.lblk, r.pblk.0, r.len)).collect();
        assert_eq!(got, [(0, 100, 3), (3, 104, 1), (4, 105, 1), (6, 106, 1)]);
    }

    #[test]
    fn leaf_index_of_direct_and_indirect_routes() {
        let r = route(5, 256).unwrap();
        assert_eq!(leaf_index(&r, 256), (5, 12));
        let r = route(12 + 256 + 300, 256).unwrap();
        assert_eq!(leaf_index(&r, 256), (300 - 256, 256));
    }
}
