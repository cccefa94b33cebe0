//! One directory block as a leaf: its rec_len chain (a torn block
//! salvaged), its checksum tail, `.` and `..` in the first block, each
//! entry, and its checksum; a repaired block is written back.

use super::htree::LeafHash;
use fuse4fs_format::ext4::dir::{
    TAIL_SIZE, has_tail, set_leaf_checksum, set_leaf_tail, verify_leaf,
};
use fuse4fs_format::ext4::{Generation, InodeNo};

use super::chain::{self, MIN_REC_LEN};
use super::{State, dots, entry};
use crate::context::{DirBlock, Fsck};
use crate::error::Result;
use crate::problem::Problem;

/// Checks leaf block `db` (its bytes in `block`) of a directory whose
/// generation is `generation`; `hash` is given for a leaf of a valid
/// index, and the live entries' hash range is returned then.
pub(super) fn check(
    cx: &mut Fsck,
    st: &mut State,
    db: DirBlock,
    generation: Generation,
    block: &mut [u8],
    hash: Option<LeafHash>,
) -> Result<Option<(u32, u32)>> {
    let (bs, csum, dir) = (st.bs, st.csum, db.ino);
    let had_tail = csum && has_tail(block);
    let csum_ok = !had_tail || verify_leaf(cx.seed, dir, generation, block);
    let mut end = if had_tail { bs - TAIL_SIZE } else { bs };
    let mut changed = false;
    let mut ents = std::mem::take(&mut st.ents);

    if let Some(bad) = chain::walk(&block[..end], bs, &mut ents)
        && cx.ask(Problem::DirCorrupted {
            dir,
            lblk: db.lblk,
            offset: bad,
        })
    {
        chain::salvage(&mut block[..end], bad, &ents, bs);
        chain::walk(&block[..end], bs, &mut ents);
        changed = true;
    }

    if csum
        && !had_tail
        && cx.ask(Problem::DirNoChecksum {
            dir,
            lblk: db.lblk,
            offset: bs - TAIL_SIZE,
        })
    {
        // Entries are dropped only when a human said yes (-y), not
        // by preen.
        let may_drop = cx.opts.mode == crate::options::Mode::Yes;
        if let Some(dropped) = make_room_for_tail(block, &mut ents, bs, may_drop) {
            for ino in dropped {
                cx.report.note(format!(
                        "Directory inode {}, block #{}: entry for inode {} dropped to make room for the checksum tail.",
                        dir.0,
                        db.lblk,
                        ino.0
                    ));
            }
            set_leaf_tail(block);
            end = bs - TAIL_SIZE;
            chain::walk(&block[..end], bs, &mut ents);
            changed = true;
        } else {
            cx.report
                .not_fixed("no room in the block for the checksum tail");
        }
    }

    let skip = if db.lblk == 0 {
        let (c, leading) = dots::check(cx, st, dir, &mut block[..end], &mut ents);
        changed |= c;
        leading
    } else {
        0
    };
    let (c, range) = entry::check(cx, st, dir, &mut block[..end], &mut ents, skip, hash);
    changed |= c;

    if !csum_ok && !changed {
        changed = cx.ask(Problem::DirBlockChecksum { dir, lblk: db.lblk });
    }
    if changed {
        if csum && has_tail(block) {
            set_leaf_checksum(cx.seed, dir, generation, block);
        }
        cx.write_block(db.pblk, block)?;
    }
    st.ents = ents;
    Ok(range)
}

/// Frees the last 12 bytes of a block whose records tile it, for the
/// checksum tail: a last 12-byte record without a name is a damaged
/// tail and goes; else the last record gives them up when it has room
/// past its own entry (as e2fsck shortens it); else, the block being
/// full, its last entries go until one has room (e2fsck would rebuild
/// the directory; their inodes, unattached, are pass 4's to
/// reconnect) when `may_drop`. Returns the entries dropped, or None
/// when nothing can make room.
pub(super) fn make_room_for_tail(
    block: &mut [u8],
    ents: &mut Vec<chain::Ent>,
    bs: usize,
    may_drop: bool,
) -> Option<Vec<InodeNo>> {
    let mut dropped = Vec::new();
    let len = block.len();
    let last = *ents.last()?;
    if last.off + last.rec_len != len {
        return None;
    }
    if last.rec_len == TAIL_SIZE && last.name_len == 0 && ents.len() > 1 {
        // The record before it ends where the tail starts.
        ents.pop();
        block[last.off..].fill(0);
        return Some(dropped);
    }
    // Each turn shortens the last record or drops it: bounded.
    loop {
        let last = *ents.last()?;
        let shorter = last.rec_len - TAIL_SIZE;
        if last.rec_len >= TAIL_SIZE + MIN_REC_LEN && shorter >= last.used() {
            chain::set_rec_len(block, last.off, shorter, bs);
            block[last.off + shorter..].fill(0);
            if let Some(l) = ents.last_mut() {
                l.rec_len = shorter;
            }
            return Some(dropped);
        }
        // Never '.' or '..' of a first block.
        if !may_drop || ents.len() < 2 || last.off <= 12 {
            return None;
        }
        if last.inode.0 != 0 {
            dropped.push(last.inode);
        }
        let i = ents.len() - 1;
        chain::remove(block, ents, i, bs);
    }
}
