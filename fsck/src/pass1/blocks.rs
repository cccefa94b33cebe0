//! One inode's blocks: the walk of its extent tree or block map, the cut
//! of what is damaged, the claims (duplicates go to pass 1B), the
//! directory blocks for pass 2, i_blocks and i_size.

use fuse4fs_format::ext4::{BlockNo, InodeNo};
use std::collections::{BTreeMap, HashSet};

use fuse4fs_format::ext4::inode::{Inode, flags, mode};
use fuse4fs_format::ext4::layout::Ext4SuperBlock;

use super::fields::{clear_if, is_fast_symlink};
use super::{Scan, State, xattr};
use crate::blockwalk::{self, Damage, Item, NodeLoc, Slot, Walk};
use crate::context::{DirBlock, DirInfo};
use crate::error::Result;
use crate::problem::{ExtentFault, Problem};

/// What an inode owns, as counted.
#[derive(Debug, Default)]
pub(super) struct Counted {
    /// Blocks counted in i_blocks (data, tree, xattr block).
    pub blocks: u64,
}

/// Walks, repairs and claims the inode's blocks and checks i_blocks and
/// i_size. None when the inode was cleared (or its clearing declined).
pub(super) fn check(s: &mut Scan, inode: &mut Inode, st: &mut State) -> Result<Option<Counted>> {
    let ino = inode.ino;
    let ftype = inode.mode & mode::S_IFMT;
    let tree = !inode.has_flag(flags::INLINE_DATA)
        && match ftype {
            mode::S_IFREG | mode::S_IFDIR => true,
            mode::S_IFLNK => !is_fast_symlink(inode),
            _ => false,
        };
    s.items.clear();
    let mut walk = Walk::default();
    if tree {
        let items = &mut s.items;
        walk = blockwalk::walk_located(s.cx, inode, &mut |item, slot| items.push((item, slot)))?;
    }
    if walk.overflowed {
        let extents = inode.has_flag(flags::EXTENTS);
        clear_if(s, ino, Problem::TooManyBlocks { ino, extents })?;
        return Ok(None);
    }
    let Some(dropped) = repair_damage(s, inode, st, &walk)? else {
        return Ok(None);
    };
    if !dropped.is_empty() {
        s.items.retain(|(item, _)| match item {
            Item::Tree { pblk, .. } => !dropped.contains(pblk),
            Item::Data { .. } => true,
        });
    }
    // Extents of what was read.
    let mut nblocks = 0u64;
    let mut data_blocks = 0u64;
    let mut last: Option<u64> = None;
    let mut last_init: Option<u64> = None;
    for (item, _) in &s.items {
        match *item {
            Item::Tree { .. } => nblocks += 1,
            Item::Data {
                lblk,
                len,
                unwritten,
                ..
            } => {
                nblocks += len;
                data_blocks += len;
                let end = lblk + len - 1;
                last = last.max(Some(end));
                if !unwritten {
                    last_init = last_init.max(Some(end));
                }
            }
        }
    }
    if ftype == mode::S_IFDIR && !inode.has_flag(flags::INLINE_DATA) && data_blocks == 0 {
        clear_if(s, ino, Problem::ZeroLengthDirectory { ino })?;
        return Ok(None);
    }
    if ftype == mode::S_IFLNK && tree && !slow_symlink_ok(s, inode, data_blocks)? {
        let size = inode.size;
        clear_if(s, ino, Problem::SlowSymlinkSize { ino, size })?;
        return Ok(None);
    }
    if xattr::check_block(s, inode, st)? {
        nblocks += 1;
    }
    check_i_blocks(s, inode, st, nblocks);
    check_size(s, inode, st, last, last_init);
    claim(s, inode);
    Ok(Some(Counted { blocks: nblocks }))
}

/// Asks about each piece of damage and cuts what it is told to. Returns
/// the tree blocks no longer part of the tree, or None when the inode
/// was cleared (an unusable root).
fn repair_damage(
    s: &mut Scan,
    inode: &mut Inode,
    st: &mut State,
    walk: &Walk,
) -> Result<Option<HashSet<BlockNo>>> {
    let ino = inode.ino;
    let mut dropped = HashSet::new();
    if walk.damage.is_empty() {
        return Ok(Some(dropped));
    }
    let mut cuts: BTreeMap<NodeLocKey, Vec<usize>> = BTreeMap::new();
    let mut pointer_cuts: Vec<Slot> = Vec::new();
    let mut rechecksum: Vec<BlockNo> = Vec::new();
    let mut starts: Vec<(Slot, u64)> = Vec::new();
    for d in &walk.damage {
        match d {
            Damage::Node {
                loc: NodeLoc::Root,
                why,
                ..
            } => {
                let why = why.clone();
                clear_if(s, ino, Problem::ExtentRoot { ino, why })?;
                return Ok(None);
            }
            Damage::Node {
                loc: NodeLoc::Block(b),
                parent,
                why,
            } => {
                let (block, why) = (*b, why.clone());
                if s.cx.ask(Problem::ExtentNode { ino, block, why })
                    && let Some((ploc, pi)) = parent
                {
                    cuts.entry(key(*ploc)).or_default().push(*pi);
                    dropped.insert(*b);
                }
            }
            Damage::Checksum { pblk } => {
                let block = *pblk;
                if s.cx.ask(Problem::ExtentChecksum { ino, block }) {
                    rechecksum.push(block);
                }
            }
            Damage::Extent {
                loc,
                index,
                lblk,
                pblk,
                len,
            } => {
                let fault = if *len == 0 {
                    ExtentFault::ZeroLength
                } else if !s.cx.block_in_fs(*pblk) || !s.cx.block_in_fs(pblk.plus(len - 1)) {
                    ExtentFault::OutsideFilesystem
                } else {
                    ExtentFault::OutOfOrder
                };
                if s.cx.ask(Problem::Extent {
                    ino,
                    lblk: *lblk,
                    block: *pblk,
                    len: *len,
                    fault,
                }) {
                    cuts.entry(key(*loc)).or_default().push(*index);
                }
            }
            Damage::Index { loc, index, child } => {
                let child = *child;
                if s.cx.ask(Problem::ExtentIndex { ino, child }) {
                    cuts.entry(key(*loc)).or_default().push(*index);
                }
            }
            Damage::IndexStart { loc, index, first } => {
                let first = *first;
                if s.cx.ask(Problem::ExtentIndexStart { ino, first }) {
                    starts.push(((*loc, *index), first));
                }
            }
            Damage::Pointer { loc, index, pblk } => {
                let (index, block) = (*index, *pblk);
                if s.cx.ask(Problem::IllegalBlock { ino, index, block }) {
                    pointer_cuts.push((*loc, index));
                }
            }
        }
    }
    // A tree block left without entries goes too, cut from its parent.
    for _ in 0..=fuse4fs_format::ext4::extents::MAX_DEPTH + 1 {
        let mut changed = false;
        for n in &walk.nodes {
            let NodeLoc::Block(b) = n.loc else { continue };
            if dropped.contains(&b) {
                continue;
            }
            let gone = cuts.get(&key(n.loc)).map_or(0, |v| {
                let mut v = v.clone();
                v.sort_unstable();
                v.dedup();
                v.len()
            });
            if n.entries > 0
                && gone >= n.entries
                && let Some((ploc, pi)) = n.parent
            {
                dropped.insert(b);
                cuts.entry(key(ploc)).or_default().push(pi);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for (k, indices) in &cuts {
        let loc = unkey(*k);
        if let NodeLoc::Block(b) = loc
            && dropped.contains(&b)
        {
            continue;
        }
        blockwalk::cut_extent_entries(s.cx, inode, loc, indices)?;
        if loc == NodeLoc::Root {
            st.dirty = true;
        }
        if let NodeLoc::Block(b) = loc {
            rechecksum.retain(|&r| r != b);
        }
    }
    for ((loc, index), first) in starts {
        let cut = cuts.get(&key(loc)).is_some_and(|v| v.contains(&index));
        let gone = matches!(loc, NodeLoc::Block(b) if dropped.contains(&b));
        if !cut && !gone {
            blockwalk::set_index_start(s.cx, inode, (loc, index), first as u32)?;
            if loc == NodeLoc::Root {
                st.dirty = true;
            }
            if let NodeLoc::Block(b) = loc {
                rechecksum.retain(|&r| r != b);
            }
        }
    }
    if !cuts.is_empty() {
        // Cutting a node's first entry moves its start: its index entry
        // (and theirs above) follow, as e2fsck's fix_parents.
        for _ in 0..=fuse4fs_format::ext4::extents::MAX_DEPTH {
            let again = blockwalk::walk_located(s.cx, inode, &mut |_, _| {})?;
            let mut fixed = false;
            for d in again.damage {
                if let Damage::IndexStart { loc, index, first } = d {
                    blockwalk::set_index_start(s.cx, inode, (loc, index), first as u32)?;
                    if loc == NodeLoc::Root {
                        st.dirty = true;
                    }
                    fixed = true;
                }
            }
            if !fixed {
                break;
            }
        }
    }
    for (loc, index) in pointer_cuts {
        blockwalk::cut_pointer(s.cx, inode, loc, index)?;
        if loc == NodeLoc::Root {
            st.dirty = true;
        }
    }
    for b in rechecksum {
        if !dropped.contains(&b) {
            let mut buf = s.cx.read_block(b)?;
            blockwalk::write_extent_block(s.cx, inode, b, &mut buf)?;
        }
    }
    Ok(Some(dropped))
}

/// NodeLoc as an ordered map key: the root first.
type NodeLocKey = Option<BlockNo>;

fn key(loc: NodeLoc) -> NodeLocKey {
    match loc {
        NodeLoc::Root => None,
        NodeLoc::Block(b) => Some(b),
    }
}

fn unkey(k: NodeLocKey) -> NodeLoc {
    k.map_or(NodeLoc::Root, NodeLoc::Block)
}

/// A slow symlink: one block at logical 0 (no tree blocks), a target
/// shorter than a block whose length is i_size (e2fsck's check_symlink).
fn slow_symlink_ok(s: &Scan, inode: &Inode, data_blocks: u64) -> Result<bool> {
    let bs = s.cx.bs;
    if inode.size == 0 || inode.size >= bs || data_blocks != 1 || s.items.len() != 1 {
        return Ok(false);
    }
    let Item::Data { lblk: 0, pblk, .. } = s.items[0].0 else {
        return Ok(false);
    };
    let buf = s.cx.read_block(pblk)?;
    let len = super::fields::symlink_len(inode, &buf);
    Ok(len < buf.len() && len as u64 == inode.size)
}

fn check_i_blocks(s: &mut Scan, inode: &mut Inode, st: &mut State, nblocks: u64) {
    // With ea_inode the owner also pays for the values in EA inodes.
    let want = (nblocks + s.ea_charge.blocks).saturating_mul(s.cx.bs / 512);
    if inode.blocks_512 != want {
        st.answer(s.cx.ask(Problem::IBlocks {
            ino: inode.ino,
            have: inode.blocks_512,
            want,
        }));
        inode.blocks_512 = want;
    }
}

/// i_size against the blocks, as e2fsck: a directory's must be a whole
/// number of blocks covering its last block (a few preallocated blocks
/// past it allowed); a file's may not end before its last written block
/// but one, nor pass what its mapping can address.
fn check_size(
    s: &mut Scan,
    inode: &mut Inode,
    st: &mut State,
    last: Option<u64>,
    last_init: Option<u64>,
) {
    let bs = s.cx.bs;
    let size = inode.size;
    let ftype = inode.mode & mode::S_IFMT;
    if ftype == mode::S_IFLNK || inode.has_flag(flags::INLINE_DATA) {
        return;
    }
    let want = last.map_or(0, |l| (l + 1) * bs);
    let bad = if ftype == mode::S_IFDIR {
        let nblock = size / bs;
        let have = last.map_or(0, |l| l + 1);
        let prealloc =
            Ext4SuperBlock::of(&s.cx.sb_raw).map_or(0, |r| r.s_prealloc_dir_blocks) as u64;
        !size.is_multiple_of(bs) || nblock > have || (nblock < have && have - nblock > prealloc)
    } else {
        let per = bs / 4;
        let map_max = (12 + per + per * per + per * per * per).saturating_mul(bs);
        let extent_max = (1u64 << (32 + bs.trailing_zeros())) - 1;
        // A verity file keeps its Merkle tree and descriptor in blocks
        // past EOF (e2fsck exempts EXT4_VERITY_FL the same way).
        (last_init.is_some_and(|l| size < l * bs) && !inode.has_flag(flags::VERITY))
            || (!inode.has_flag(flags::EXTENTS) && size > map_max)
            || (inode.has_flag(flags::EXTENTS) && size > extent_max)
    };
    if bad {
        st.answer(s.cx.ask(Problem::ISize {
            ino: inode.ino,
            have: size,
            want,
        }));
        inode.size = want;
    }
}

/// Claims the blocks that survived, records directory blocks and the
/// directory itself.
fn claim(s: &mut Scan, inode: &Inode) {
    let ino = inode.ino;
    let is_dir = inode.is_dir();
    let found = &mut s.cx.found;
    for (item, _) in &s.items {
        let (pblk, len) = match *item {
            Item::Tree { pblk, .. } => (pblk, 1),
            Item::Data { pblk, len, .. } => (pblk, len),
        };
        for b in pblk.run(len) {
            // The resize inode maps the reserved descriptor blocks (and
            // their backups), already fixed metadata: only its own
            // indirect blocks are new.
            if ino == InodeNo::RESIZE && found.blocks.get(b.bit()) {
                continue;
            }
            found.claim(b);
        }
        if is_dir
            && let Item::Data {
                lblk, pblk, len, ..
            } = *item
        {
            for i in 0..len {
                found.dir_blocks.push(DirBlock {
                    pblk: pblk.plus(i),
                    ino,
                    lblk: lblk + i,
                });
            }
        }
    }
    if is_dir {
        let indexed = inode.has_flag(flags::INDEX)
            && s.cx
                .sb
                .has_compat(fuse4fs_format::ext4::superblock::compat::DIR_INDEX);
        s.cx.found.dirs.insert(
            ino,
            DirInfo {
                generation: inode.generation,
                indexed,
                inline: inode.has_flag(flags::INLINE_DATA),
                size: inode.size,
                dotdot: InodeNo(0),
                parent: InodeNo(0),
                casefold: inode.has_flag(flags::CASEFOLD)
                    && s.cx
                        .sb
                        .has_incompat(fuse4fs_format::ext4::superblock::incompat::CASEFOLD),
                hashed: inode.has_flag(flags::ENCRYPT) && inode.has_flag(flags::CASEFOLD),
            },
        );
    }
}
