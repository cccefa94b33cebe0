//! Allocation for repairs (a lost+found directory, a block for a
//! reconnected entry, a clone of a multiply-claimed block): from what
//! the passes found in use, never from the on-disk bitmaps, which pass 5
//! then rewrites to match.

use fuse4fs_format::ext4::inode::mode;
use fuse4fs_format::ext4::{BlockNo, InodeNo};

use crate::context::{Fsck, InodeInfo};

/// A free run of `len` blocks, preferring the group of `goal`; marked in
/// use. None when no such run is free.
pub fn alloc_blocks(cx: &mut Fsck, goal: BlockNo, len: u64) -> Option<BlockNo> {
    let first = BlockNo(cx.sb.first_data_block as u64);
    let end = BlockNo(cx.sb.blocks_count);
    let goal = goal.clamp(first, BlockNo(end.0.saturating_sub(1)).max(first));
    let free_run = |cx: &Fsck, from: BlockNo, to: BlockNo| -> Option<BlockNo> {
        let mut b = from;
        while b.plus(len) <= to {
            match b.run(len).rev().find(|&x| cx.found.blocks.get(x.bit())) {
                None => return Some(b),
                Some(used) => b = used.plus(1),
            }
        }
        None
    };
    let start =
        free_run(cx, goal, end).or_else(|| free_run(cx, first, BlockNo(goal.0 + len - 1)))?;
    for b in start.run(len) {
        cx.found.blocks.set(b.bit());
    }
    Some(start)
}

/// A free inode number (past the reserved ones), preferring the group of
/// `near`; recorded in use with the file type of `file_mode`. The inode
/// itself is the caller's to write.
pub fn alloc_inode(cx: &mut Fsck, near: InodeNo, file_mode: u16) -> Option<InodeNo> {
    let first = cx.sb.first_ino.max(11);
    let count = cx.sb.inodes_count;
    let ipg = cx.sb.inodes_per_group;
    let start = ((near.0.saturating_sub(1)) / ipg) * ipg + 1;
    let candidates = (start.max(first)..=count).chain(first..start.max(first));
    let ino = candidates
        .into_iter()
        .map(InodeNo)
        .find(|&i| !cx.found.inode(i).in_use())?;
    *cx.found.inode_mut(ino) = InodeInfo {
        ftype: ((file_mode & mode::S_IFMT) >> 12) as u8,
        links: 0,
        refs: 0,
        empty: true,
    };
    Some(ino)
}
