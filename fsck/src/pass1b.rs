//! Pass 1B: blocks claimed more than once (e2fsck's passes 1B to 1D).
//! Every owner of each such block is found again (fixed metadata, xattr
//! blocks and reserved inodes included), each file sharing blocks is
//! reported once, and repaired by cloning: every owner but the last gets
//! its own copy of what it shares, so the last keeps the original. Fixed
//! metadata, xattr blocks and reserved inodes (the journal) never give
//! their blocks up: the files sharing them are the ones cloned.

use std::collections::{BTreeSet, HashMap};

use fuse4fs_format::ext4::inode::{Inode, flags, mode};
use fuse4fs_format::ext4::superblock::{Superblock, ro_compat};
use fuse4fs_format::ext4::{BlockNo, InodeNo};

use crate::alloc::alloc_blocks;
use crate::blockwalk::{self, Item, Slot};
use crate::context::Fsck;
use crate::error::Result;
use crate::problem::{Claimant, Problem};

/// An owner that is not an inode: fixed metadata (a number above any
/// inode count, so that it sorts after the inodes as before).
const METADATA: InodeNo = InodeNo(u32::MAX);
/// An owner that is not an inode: an xattr block.
const XATTR: InodeNo = InodeNo(u32::MAX - 1);
/// Clones per inode before giving up (each re-walks the inode).
const MAX_CLONES: usize = 100_000;

/// Runs pass 1B over `cx.found.dup_blocks`.
pub(crate) fn run(cx: &mut Fsck) -> Result<()> {
    let dups = std::mem::take(&mut cx.found.dup_blocks);
    if dups.is_empty() {
        return Ok(());
    }
    let mut sb_parse = cx.sb.clone();
    sb_parse.feature_ro_compat &= !ro_compat::METADATA_CSUM;
    let mut owners: HashMap<BlockNo, Vec<InodeNo>> = HashMap::new();
    for b in fixed_metadata(cx, &dups) {
        owners.entry(b).or_default().push(METADATA);
    }
    for &b in cx.found.xattr_refs.keys() {
        if dups.contains(&b) {
            owners.entry(b).or_default().push(XATTR);
        }
    }
    // Each in-use inode's references to the duplicated blocks.
    let mut files: Vec<(InodeNo, Vec<BlockNo>)> = Vec::new();
    cx.progress
        .start("Pass 1B: duplicates", cx.sb.inodes_count as u64);
    for ino in cx.inode_numbers() {
        if ino.0 % 4096 == 0 {
            cx.progress.inc(4096);
        }
        if ino == InodeNo::RESIZE || !cx.found.inode(ino).in_use() {
            continue;
        }
        let Some(inode) = read(cx, &sb_parse, ino)? else {
            continue;
        };
        let mut mine = Vec::new();
        for_each_owned(cx, &inode, &mut |item, _| {
            let (p, len) = span(item);
            mine.extend(dups.range(p..p.plus(len)).copied());
        })?;
        if !mine.is_empty() {
            for &b in &mine {
                owners.entry(b).or_default().push(ino);
            }
            files.push((ino, mine));
        }
    }
    cx.progress.finish();
    let first_ino = cx.sb.first_ino.max(11);
    let mut refs: HashMap<BlockNo, u32> =
        owners.iter().map(|(&b, v)| (b, v.len() as u32)).collect();
    for (ino, blocks) in &files {
        let ino = *ino;
        if ino.0 < first_ino {
            // Reserved inodes (the journal) keep their blocks.
            continue;
        }
        let mut shared: BTreeSet<BlockNo> = BTreeSet::new();
        let mut with: BTreeSet<InodeNo> = BTreeSet::new();
        for b in blocks {
            if refs.get(b).is_some_and(|&r| r >= 2) {
                shared.insert(*b);
                with.extend(owners[b].iter().copied().filter(|&o| o != ino));
            }
        }
        if shared.is_empty() {
            continue;
        }
        let with = with
            .iter()
            .map(|&o| match o {
                METADATA => Claimant::Metadata,
                XATTR => Claimant::XattrBlock,
                o => Claimant::Inode(o),
            })
            .collect();
        if cx.ask(Problem::MultiplyClaimed {
            ino,
            blocks: shared.len(),
            with,
        }) {
            clone_shared(cx, &sb_parse, ino, &mut refs)?;
        }
    }
    Ok(())
}

/// The duplicated blocks that are fixed metadata (superblock and
/// descriptor copies, bitmaps, inode tables).
fn fixed_metadata(cx: &Fsck, dups: &BTreeSet<BlockNo>) -> Vec<BlockNo> {
    let sb = &cx.sb;
    let itb = sb.inode_table_blocks();
    let mut out = Vec::new();
    if sb.first_data_block > 0 && dups.contains(&BlockNo(0)) {
        out.push(BlockNo(0));
    }
    for g in 0..sb.group_count() {
        let gd = &cx.groups[g as usize];
        let first = sb.group_first_block(g);
        let ranges = [
            (first, first.plus(sb.group_base_meta_blocks(g) as u64)),
            (gd.block_bitmap, gd.block_bitmap.saturating_plus(1)),
            (gd.inode_bitmap, gd.inode_bitmap.saturating_plus(1)),
            (gd.inode_table, gd.inode_table.saturating_plus(itb)),
        ];
        for (lo, hi) in ranges {
            out.extend(dups.range(lo..hi.max(lo)).copied());
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Inode `ino` parsed without its checksum checked (pass 1 judged it).
fn read(cx: &Fsck, sb_parse: &Superblock, ino: InodeNo) -> Result<Option<Inode>> {
    let raw = cx.read_inode_raw(ino)?;
    Ok(Inode::parse(sb_parse, ino, &raw).ok())
}

/// Whether pass 1 walked a block tree for this inode.
fn has_tree(inode: &Inode) -> bool {
    !inode.has_flag(flags::INLINE_DATA)
        && match inode.mode & mode::S_IFMT {
            mode::S_IFREG | mode::S_IFDIR => true,
            mode::S_IFLNK => !(inode.size > 0 && inode.size < 60),
            _ => false,
        }
}

fn for_each_owned(cx: &Fsck, inode: &Inode, visit: &mut dyn FnMut(Item, Slot)) -> Result<()> {
    if has_tree(inode) {
        blockwalk::walk_located(cx, inode, visit)?;
    }
    Ok(())
}

/// The blocks an item owns: its first and how many.
fn span(item: Item) -> (BlockNo, u64) {
    match item {
        Item::Tree { pblk, .. } => (pblk, 1),
        Item::Data { pblk, len, .. } => (pblk, len),
    }
}

/// Gives inode `ino` its own copy of every run it still shares: one run
/// (a whole extent, a tree block or a block-map pointer) at a time, the
/// inode walked again after each (a cloned tree block changes where its
/// entries live).
fn clone_shared(
    cx: &mut Fsck,
    sb_parse: &Superblock,
    ino: InodeNo,
    refs: &mut HashMap<BlockNo, u32>,
) -> Result<()> {
    for _ in 0..MAX_CLONES {
        let Some(mut inode) = read(cx, sb_parse, ino)? else {
            cx.report.not_fixed("the inode no longer parses");
            return Ok(());
        };
        let mut target: Option<(Item, Slot)> = None;
        for_each_owned(cx, &inode, &mut |item, slot| {
            if target.is_some() {
                return;
            }
            let (p, len) = span(item);
            if p.run(len).any(|b| refs.get(&b).is_some_and(|&r| r >= 2)) {
                target = Some((item, slot));
            }
        })?;
        let Some((item, slot)) = target else {
            return Ok(());
        };
        let (p, len) = span(item);
        let Some(new) = alloc_blocks(cx, p, len) else {
            cx.report
                .not_fixed(&format!("no free run of {len} block(s) to clone into"));
            return Ok(());
        };
        for i in 0..len {
            let mut buf = cx.read_block(p.plus(i))?;
            if matches!(item, Item::Tree { .. }) && inode.has_flag(flags::EXTENTS) {
                blockwalk::write_extent_block(cx, &inode, new.plus(i), &mut buf)?;
            } else {
                cx.write_block(new.plus(i), &buf)?;
            }
        }
        blockwalk::repoint(cx, &mut inode, slot, new)?;
        if matches!(item, Item::Data { .. }) {
            // Pass 2 reads and repairs directory blocks where pass 1
            // found them: a cloned one is now elsewhere (the original
            // belongs to its other owner, fixed metadata perhaps).
            let mut moved = false;
            for d in &mut cx.found.dir_blocks {
                if d.ino == ino && (p..p.plus(len)).contains(&d.pblk) {
                    d.pblk = new.plus(d.pblk.offset_from(p));
                    moved = true;
                }
            }
            if moved {
                cx.found.dir_blocks.sort_unstable();
            }
        }
        if slot.0 == blockwalk::NodeLoc::Root {
            let mut raw = cx.read_inode_raw(ino)?;
            if let Err(e) = inode.write_to(&cx.sb, &mut raw) {
                cx.report.not_fixed(&format!("{ino}: {e}"));
                return Ok(());
            }
            cx.write_inode_raw(ino, &mut raw)?;
        }
        for b in p.run(len) {
            match refs.get_mut(&b) {
                Some(r) => *r = r.saturating_sub(1),
                // Only this inode owned it: now nobody does.
                None => cx.found.blocks.clear(b.bit()),
            }
        }
    }
    cx.report.not_fixed("too many shared runs");
    Ok(())
}
