//! Pass 2: every directory block, in physical order (read in runs of
//! consecutive blocks), as e2fsck's pass 2 checks them: the rec_len
//! chain (a torn block salvaged), checksum tails and checksums, `.` and
//! `..`, each entry against the inode it names, duplicates and second
//! links to a directory, the htree index of indexed directories, inline
//! directories, and holes. What it learns for the later passes: each
//! directory's `..` and parent, and the entries naming each inode.

mod chain;
mod dots;
mod entry;
mod hole;
mod htree;
mod inline;
mod leaf;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use fuse4fs_format::ext4::superblock::incompat;
use fuse4fs_format::ext4::{Generation, InodeNo};

use crate::context::{DirBlock, Fsck};
use crate::error::Result;
use crate::problem::Problem;

/// Most holes of one directory filled one by one.
const MAX_HOLES: u64 = 64;

/// Largest read of consecutive directory blocks.
const MAX_READ: usize = 1 << 20;

/// What pass 2 keeps while the blocks stream past.
struct State {
    bs: usize,
    /// metadata_csum: leaf blocks end in a checksum tail.
    csum: bool,
    /// The filetype feature: entries carry the file type.
    filetype: bool,
    /// Scratch list of one region's entries (no allocation per block).
    ents: Vec<chain::Ent>,
    /// Names seen per directory (duplicates).
    names: entry::Names,
    /// Indexed directories.
    htrees: BTreeMap<InodeNo, htree::Tree>,
}

/// What a `..` this pass writes names until pass 3 sets it: the root's
/// names the root, any other directory's no inode.
fn unset_dotdot(dir: InodeNo) -> InodeNo {
    if dir == InodeNo::ROOT {
        InodeNo::ROOT
    } else {
        InodeNo(0)
    }
}

/// Runs pass 2 over `found.dir_blocks` and the inline directories.
pub(crate) fn run(cx: &mut Fsck) -> Result<()> {
    let mut blocks = std::mem::take(&mut cx.found.dir_blocks);
    if !blocks.is_sorted() {
        blocks.sort_unstable();
    }
    let mut st = State {
        bs: cx.bs as usize,
        csum: cx.sb.metadata_csum(),
        filetype: cx.sb.has_incompat(incompat::FILETYPE),
        ents: Vec::new(),
        // About one name per 40 bytes of directory blocks.
        names: entry::Names::with_capacity((blocks.len() * cx.bs as usize / 40).min(1 << 20)),
        htrees: BTreeMap::new(),
    };
    let result = scan(cx, &mut st, &mut blocks);
    cx.progress.finish();
    cx.found.dir_blocks = blocks;
    result
}

fn scan(cx: &mut Fsck, st: &mut State, blocks: &mut Vec<DirBlock>) -> Result<()> {
    htree::load_roots(cx, st, blocks)?;
    cx.progress
        .start("Pass 2: directories", blocks.len() as u64);
    let bs = st.bs;
    let max_run = (MAX_READ / bs).max(1);
    let mut buf = vec![0u8; max_run.min(blocks.len().max(1)) * bs];
    will_need(cx, blocks);
    let mut i = 0;
    while i < blocks.len() {
        let first = blocks[i].pblk;
        let mut n = 1;
        while n < max_run
            && blocks
                .get(i + n)
                .is_some_and(|d| d.pblk == first.plus(n as u64))
        {
            n += 1;
        }
        // Pass 1 lists only blocks inside the filesystem; never read
        // past it whatever the list says.
        if cx.block_in_fs(first) && cx.block_in_fs(first.plus(n as u64 - 1)) {
            let run = &mut buf[..n * bs];
            cx.dev.read_at(cx.block_offset(first), run)?;
            for (k, block) in run.chunks_exact_mut(bs).enumerate() {
                one_block(cx, st, blocks[i + k], block)?;
            }
        }
        cx.progress.inc(n as u64);
        i += n;
    }
    inline::run(cx, st)?;
    holes(cx, st, blocks)?;
    htree::finish(cx, st)
}

/// Asks the kernel for every directory block up front (contiguous runs
/// coalesced, at most [`AHEAD_BYTES`]): with a cold cache the device
/// reads them in parallel while the blocks already in are checked.
fn will_need(cx: &Fsck, blocks: &[DirBlock]) {
    let bs = cx.bs;
    let mut asked = 0u64;
    let mut i = 0;
    while i < blocks.len() && asked < AHEAD_BYTES {
        let first = blocks[i].pblk;
        let mut n = 1;
        while blocks
            .get(i + n)
            .is_some_and(|d| d.pblk == first.plus(n as u64))
        {
            n += 1;
        }
        cx.dev.will_need(cx.block_offset(first), n as u64 * bs);
        asked += n as u64 * bs;
        i += n;
    }
}

/// How much directory data pass 2 asks for ahead.
const AHEAD_BYTES: u64 = 256 << 20;

/// Checks one block of a directory.
fn one_block(cx: &mut Fsck, st: &mut State, db: DirBlock, block: &mut [u8]) -> Result<()> {
    let Some(d) = cx.found.dirs.get(&db.ino) else {
        return Ok(());
    };
    if d.inline {
        return Ok(());
    }
    let generation = d.generation;
    let Some(tree) = st.htrees.get(&db.ino) else {
        leaf::check(cx, st, db, generation, block, None)?;
        return Ok(());
    };
    if db.lblk == 0 {
        return root_block(cx, st, db, generation, block);
    }
    let hash = tree.leaf_hash();
    if htree::take_node(cx, st, db, block) {
        return Ok(());
    }
    let range = leaf::check(cx, st, db, generation, block, hash)?;
    if let Some(t) = st.htrees.get_mut(&db.ino) {
        t.add_leaf(db.lblk, range);
    }
    Ok(())
}

/// Block 0 of an indexed directory: `.` and `..`, whose records span the
/// block and hold the index; no leaf tail.
fn root_block(
    cx: &mut Fsck,
    st: &mut State,
    db: DirBlock,
    generation: Generation,
    block: &mut [u8],
) -> Result<()> {
    let bs = st.bs;
    let mut ents = std::mem::take(&mut st.ents);
    let mut changed = false;
    if let Some(bad) = chain::walk(block, bs, &mut ents)
        && cx.ask(Problem::DirCorrupted {
            dir: db.ino,
            lblk: 0,
            offset: bad,
        })
    {
        chain::salvage(block, bad, &ents, bs);
        chain::walk(block, bs, &mut ents);
        changed = true;
    }
    let (c, leading) = dots::check(cx, st, db.ino, block, &mut ents);
    changed |= c;
    let (c, _) = entry::check(cx, st, db.ino, block, &mut ents, leading, None);
    changed |= c;
    st.ents = ents;
    if changed {
        htree::reseal_root(cx, st, db.ino, generation, block);
        cx.write_block(db.pblk, block)?;
    }
    Ok(())
}

/// Directories with a logical block before the last one but no block
/// behind it, filled with empty leaves (added to `blocks`). Blocks
/// missing past the last one are i_size's problem, pass 1's.
fn holes(cx: &mut Fsck, st: &State, blocks: &mut Vec<DirBlock>) -> Result<()> {
    let mut have: Vec<(InodeNo, u64)> = blocks.iter().map(|d| (d.ino, d.lblk)).collect();
    have.sort_unstable();
    have.dedup();
    let mut found = Vec::new();
    for run in have.chunk_by(|a, b| a.0 == b.0) {
        let ino = run[0].0;
        let Some(d) = cx.found.dirs.get(&ino) else {
            continue;
        };
        if d.inline {
            continue;
        }
        let nblocks = d.size.div_ceil(st.bs as u64);
        // Sorted and distinct: the gaps between the blocks present.
        let mut gaps = Vec::new();
        let mut next = 0u64;
        for &(_, l) in run {
            if next < l.min(nblocks) {
                gaps.push((next, l.min(nblocks)));
            }
            next = l.saturating_add(1);
        }
        let missing: u64 = gaps.iter().map(|(a, b)| b - a).sum();
        if missing > MAX_HOLES {
            // A hostile or wrecked tree: not one block at a time.
            if cx.ask(Problem::DirHoles {
                dir: ino,
                count: missing,
            }) {
                cx.report
                    .not_fixed("too many holes to fill one block at a time");
            }
            continue;
        }
        for (a, b) in gaps {
            found.extend((a..b).map(|l| (ino, l)));
        }
    }
    let mut added = Vec::new();
    for (ino, lblk) in found {
        if cx.ask(Problem::DirHole { dir: ino, lblk }) {
            match hole::fill(cx, st, ino, lblk)? {
                Some(db) => added.push(db),
                None => cx
                    .report
                    .not_fixed("no room in the directory's block tree for a new block"),
            }
        }
    }
    if !added.is_empty() {
        blocks.extend(added);
        blocks.sort_unstable();
    }
    Ok(())
}
