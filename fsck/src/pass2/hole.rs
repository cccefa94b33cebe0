//! A directory hole filled as e2fsck fills one: a new empty leaf block
//! mapped at the missing logical block, when the block tree has room
//! for it where it belongs (an extent leaf with a free slot, a direct
//! pointer, or a slot of an existing indirect block). Anything that
//! would need a new tree block is left unrepaired.

use fuse4fs_format::ext4::blockmap::route;
use fuse4fs_format::ext4::dir::{init_dot_dotdot, init_leaf, set_leaf_checksum};
use fuse4fs_format::ext4::extents::{Extent, ExtentNode, MAX_DEPTH, set_block_checksum};
use fuse4fs_format::ext4::inode::{Inode, flags};
use fuse4fs_format::ext4::layout::blockmap::{block_ptrs, block_ptrs_mut};
use fuse4fs_format::ext4::{BlockNo, ExtentAt, InodeNo};

use super::State;
use crate::alloc;
use crate::context::{DirBlock, Fsck};
use crate::error::Result;

/// Maps a new empty leaf at `lblk` of directory `ino`; the new block, or
/// None when the tree has no room for it (nothing is written then).
pub(super) fn fill(cx: &mut Fsck, st: &State, ino: InodeNo, lblk: u64) -> Result<Option<DirBlock>> {
    let Ok(mut inode) = cx.read_inode(ino)? else {
        return Ok(None);
    };
    let Ok(lblk32) = u32::try_from(lblk) else {
        return Ok(None);
    };
    let (g, _) = cx.inode_slot(ino);
    let goal = cx.sb.group_first_block(g);
    let Some(pblk) = alloc::alloc_blocks(cx, goal, 1) else {
        return Ok(None);
    };
    // The new block's bytes go first: once mapped, it must be a leaf.
    let mut block = vec![0u8; st.bs];
    if lblk == 0 {
        // The first block holds '.' and '..'; '..' names no inode until
        // pass 3 sets it (the root's names the root).
        let parent = super::unset_dotdot(ino);
        init_dot_dotdot(&mut block, ino.0, parent.0, st.filetype, st.csum);
        if let Some(d) = cx.found.dirs.get_mut(&ino) {
            d.dotdot = parent;
        }
    } else {
        init_leaf(&mut block, st.csum);
    }
    if st.csum {
        set_leaf_checksum(cx.seed, ino, inode.generation, &mut block);
    }
    let mapped = if inode.has_flag(flags::EXTENTS) {
        map_extent(cx, st, &mut inode, lblk32, pblk)?
    } else {
        map_pointer(cx, &mut inode, lblk, pblk)?
    };
    if !mapped {
        cx.found.blocks.clear(pblk.bit());
        return Ok(None);
    }
    cx.write_block(pblk, &block)?;
    inode.blocks_512 = inode.blocks_512.saturating_add(st.bs as u64 / 512);
    cx.write_inode(&inode)?;
    Ok(Some(DirBlock { pblk, ino, lblk }))
}

/// Inserts a one-block extent into the leaf whose range holds `lblk`.
fn map_extent(
    cx: &mut Fsck,
    st: &State,
    inode: &mut Inode,
    lblk: u32,
    pblk: BlockNo,
) -> Result<bool> {
    let ino = inode.ino;
    let Ok(mut node) = ExtentNode::parse(&inode.block, None, ExtentAt::Root { ino }) else {
        return Ok(false);
    };
    // Where the node lives: None for the inode's i_block.
    let mut at: Option<(BlockNo, Vec<u8>)> = None;
    for _ in 0..=MAX_DEPTH {
        match node {
            ExtentNode::Index(h, ref idx) => {
                // The last index starting at or before lblk.
                let Some(i) = idx.iter().rposition(|x| x.lblk <= lblk) else {
                    return Ok(false);
                };
                let entry = idx[i];
                if !cx.block_in_fs(entry.child) {
                    return Ok(false);
                }
                let buf = cx.read_block(entry.child)?;
                let node_at = ExtentAt::Block {
                    ino,
                    block: entry.child,
                };
                let Ok(n) = ExtentNode::parse(&buf, Some(h.depth.saturating_sub(1)), node_at)
                else {
                    return Ok(false);
                };
                node = n;
                at = Some((entry.child, buf));
            }
            ExtentNode::Leaf(h, ref mut xs) => {
                if xs.len() >= h.max as usize
                    || xs
                        .iter()
                        .any(|x| x.lblk <= lblk && lblk - x.lblk < x.len as u32)
                {
                    return Ok(false);
                }
                let pos = xs.partition_point(|x| x.lblk < lblk);
                xs.insert(
                    pos,
                    Extent {
                        lblk,
                        len: 1,
                        pblk,
                        unwritten: false,
                    },
                );
                match at {
                    None => {
                        if node.write_to(&mut inode.block).is_err() {
                            return Ok(false);
                        }
                    }
                    Some((b, mut buf)) => {
                        if node.write_to(&mut buf).is_err() {
                            return Ok(false);
                        }
                        if st.csum {
                            set_block_checksum(cx.seed, inode.ino, inode.generation, &mut buf);
                        }
                        cx.write_block(b, &buf)?;
                    }
                }
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Sets the block-map pointer for `lblk`: a direct slot, or a slot of a
/// single indirect block already there.
fn map_pointer(cx: &mut Fsck, inode: &mut Inode, lblk: u64, pblk: BlockNo) -> Result<bool> {
    let Ok(p32) = u32::try_from(pblk.0) else {
        return Ok(false);
    };
    let Some(r) = route(lblk, cx.bs / 4) else {
        return Ok(false);
    };
    match r.path.as_slice() {
        [] => {
            block_ptrs_mut(&mut inode.block)[r.slot].set(p32);
            Ok(true)
        }
        [i] if r.slot == 12 => {
            let ind = BlockNo(block_ptrs(&inode.block)[r.slot].get() as u64);
            if ind.0 == 0 || !cx.block_in_fs(ind) {
                return Ok(false);
            }
            let mut buf = cx.read_block(ind)?;
            block_ptrs_mut(&mut buf)[*i as usize].set(p32);
            cx.write_block(ind, &buf)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}
