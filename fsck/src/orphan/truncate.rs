//! Finishing a truncation the orphan list says was cut short: every block
//! mapped at or past i_size is unmapped (e2fsck's release of an orphan
//! with links punches from i_size to the end, preallocated extents
//! included). Unmapped blocks are not freed here: pass 5 rewrites the
//! bitmaps from what pass 1 then finds in use.
//!
//! Only a tree the block walker finds undamaged is edited; a damaged one
//! is left to pass 1.

use fuse4fs_format::ext4::extents::{ExtentHeader, ExtentNode, max_entries, set_block_checksum};
use fuse4fs_format::ext4::inode::{Inode, flags};
use fuse4fs_format::ext4::layout::blockmap::{block_ptrs, block_ptrs_mut};
use fuse4fs_format::ext4::{BlockNo, ExtentAt};

use crate::blockwalk::{Item, has_block_tree, walk};
use crate::context::Fsck;
use crate::error::Result;

/// Unmaps the blocks of `inode` at or past its size and sets i_blocks
/// to what it still owns; the caller writes the inode. Returns false
/// (changing nothing) when the tree is damaged.
pub(super) fn truncate(cx: &mut Fsck, inode: &mut Inode) -> Result<bool> {
    if !has_block_tree(inode, cx.bs as u32) {
        return Ok(true);
    }
    let end = inode.size.div_ceil(cx.bs);
    let mut beyond = false;
    let damage = walk(cx, inode, &mut |item| {
        if let Item::Data { lblk, len, .. } = item {
            beyond |= lblk.saturating_add(len) > end;
        }
    })?;
    if !damage.is_empty() {
        return Ok(false);
    }
    if !beyond {
        return Ok(true);
    }
    if inode.has_flag(flags::EXTENTS) {
        let ino = inode.ino;
        let Ok(root) = ExtentNode::parse(&inode.block, None, ExtentAt::Root { ino }) else {
            return Ok(false);
        };
        let mut root = trim_extents(cx, inode, root, end)?;
        // A lone child whose entries fit in the inode moves up into it
        // (as libext2fs leaves a punched tree), level by level.
        for _ in 0..fuse4fs_format::ext4::extents::MAX_DEPTH {
            let ExtentNode::Index(h, v) = &root else {
                break;
            };
            let [only] = v.as_slice() else {
                break;
            };
            let buf = cx.read_block(only.child)?;
            let at = ExtentAt::Block {
                ino,
                block: only.child,
            };
            let Ok(child) = ExtentNode::parse(&buf, Some(h.depth - 1), at) else {
                break;
            };
            let max = max_entries(inode.block.len());
            root = match child {
                ExtentNode::Index(ch, cv) if cv.len() <= max as usize => {
                    ExtentNode::Index(ExtentHeader { max, ..ch }, cv)
                }
                ExtentNode::Leaf(ch, cv) if cv.len() <= max as usize => {
                    ExtentNode::Leaf(ExtentHeader { max, ..ch }, cv)
                }
                _ => break,
            };
        }
        if root_is_empty(&root) {
            // As the kernel leaves a file truncated to nothing.
            root = ExtentNode::Leaf(
                ExtentHeader {
                    entries: 0,
                    max: max_entries(inode.block.len()),
                    depth: 0,
                },
                Vec::new(),
            );
        }
        root.write_to(&mut inode.block)?;
    } else {
        trim_map(cx, inode, end)?;
    }
    // i_blocks: what the trimmed tree still owns, and the xattr block.
    let mut owned = (inode.file_acl != 0) as u64;
    walk(cx, inode, &mut |item| {
        owned += match item {
            Item::Tree { .. } => 1,
            Item::Data { len, .. } => len,
        }
    })?;
    inode.blocks_512 = owned * (cx.bs / 512);
    Ok(true)
}

fn root_is_empty(node: &ExtentNode) -> bool {
    match node {
        ExtentNode::Index(_, v) => v.is_empty(),
        ExtentNode::Leaf(_, v) => v.is_empty(),
    }
}

/// The node without what lies at or past logical block `end`; children
/// crossing `end` are trimmed and rewritten, emptied ones dropped.
fn trim_extents(cx: &mut Fsck, inode: &Inode, node: ExtentNode, end: u64) -> Result<ExtentNode> {
    Ok(match node {
        ExtentNode::Leaf(h, v) => {
            let mut out = Vec::with_capacity(v.len());
            for mut x in v {
                let start = x.lblk as u64;
                if start >= end {
                    continue;
                }
                // Below 2^15 since `end - start` < the old length.
                x.len = (x.len as u64).min(end - start) as u16;
                out.push(x);
            }
            ExtentNode::Leaf(h, out)
        }
        ExtentNode::Index(h, v) => {
            let mut out = Vec::with_capacity(v.len());
            for (i, x) in v.iter().enumerate() {
                if x.lblk as u64 >= end {
                    continue;
                }
                let next = v.get(i + 1).map_or(u64::MAX, |n| n.lblk as u64);
                if next <= end {
                    out.push(*x);
                    continue;
                }
                let mut buf = cx.read_block(x.child)?;
                let at = ExtentAt::Block {
                    ino: inode.ino,
                    block: x.child,
                };
                let Ok(child) = ExtentNode::parse(&buf, Some(h.depth - 1), at) else {
                    // The walk read it whole; keep it as it is.
                    out.push(*x);
                    continue;
                };
                let child = trim_extents(cx, inode, child, end)?;
                if root_is_empty(&child) {
                    continue;
                }
                child.write_to(&mut buf)?;
                if cx.sb.metadata_csum() {
                    set_block_checksum(cx.seed, inode.ino, inode.generation, &mut buf);
                }
                cx.write_block(x.child, &buf)?;
                out.push(*x);
            }
            ExtentNode::Index(h, out)
        }
    })
}

/// The block map without pointers at or past logical block `end`;
/// indirect blocks left empty are unmapped too.
fn trim_map(cx: &mut Fsck, inode: &mut Inode, end: u64) -> Result<()> {
    let per = cx.bs / 4;
    let mut start = 0u64;
    for slot in 0..15usize {
        let level = slot.saturating_sub(11) as u32;
        let span = per.saturating_pow(level);
        let p = BlockNo(block_ptrs(&inode.block)[slot].get() as u64);
        let clear =
            p.0 != 0 && (start >= end || (level > 0 && trim_indirect(cx, p, level, start, end)?));
        if clear {
            block_ptrs_mut(&mut inode.block)[slot].set(0);
        }
        start = start.saturating_add(span);
    }
    Ok(())
}

/// Trims indirect block `blk` (`level` 1: single) mapping logical blocks
/// from `start`; returns whether it maps nothing any more.
fn trim_indirect(cx: &mut Fsck, blk: BlockNo, level: u32, start: u64, end: u64) -> Result<bool> {
    let per = cx.bs / 4;
    let span = per.saturating_pow(level - 1);
    let mut buf = cx.read_block(blk)?;
    let mut changed = false;
    let mut empty = true;
    for i in 0..per as usize {
        let q = BlockNo(block_ptrs(&buf)[i].get() as u64);
        if q.0 == 0 {
            continue;
        }
        let s = start.saturating_add(i as u64 * span);
        let clear = s >= end
            || (level > 1 && cx.block_in_fs(q) && trim_indirect(cx, q, level - 1, s, end)?);
        if clear {
            block_ptrs_mut(&mut buf)[i].set(0);
            changed = true;
        } else {
            empty = false;
        }
    }
    if changed && !empty {
        cx.write_block(blk, &buf)?;
    }
    Ok(empty)
}
