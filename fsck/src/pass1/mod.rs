//! Pass 1: every in-use inode and the blocks it owns (e2fsck's pass 1).
//!
//! The inode tables are read in large chunks by a read-ahead thread
//! ([`reader`]) while this thread checks each inode: its fields
//! ([`fields`]), its block tree and sizes ([`blocks`]) and its extended
//! attributes ([`xattr`]). What it learns goes into `cx.found` for the
//! later passes: blocks claimed (duplicates for pass 1B), file types and
//! link counts, directories and their blocks, xattr block references.

mod blocks;
mod ea_inode;
mod fields;
mod reader;
mod xattr;

pub use ea_inode::EaCharge;
pub(crate) use ea_inode::check_refcount as check_ea_refcount;

use std::collections::HashSet;

use fuse4fs_format::ext4::superblock::{Superblock, ro_compat};

use crate::blockwalk::{Item, Slot};
use fuse4fs_format::ext4::{BlockNo, InodeNo};

use crate::context::Fsck;
use crate::error::Result;

/// The state of pass 1 across inodes.
pub(crate) struct Scan<'a> {
    pub cx: &'a mut Fsck,
    /// The superblock without metadata_csum, to parse inodes whose
    /// checksum this pass has already judged.
    pub sb_parse: Superblock,
    /// The inode under check, as it will be written back.
    pub raw: Vec<u8>,
    /// Items of the inode under check (reused).
    pub items: Vec<(Item, Slot)>,
    /// xattr blocks found unusable (every inode naming one loses it).
    pub bad_xattr: HashSet<BlockNo>,
    /// What the EA inode entries of the inode under check cost it (its
    /// body's and its block's).
    pub ea_charge: EaCharge,
}

/// What the checks of one inode decided so far.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct State {
    /// The stored checksum does not match.
    pub csum_bad: bool,
    /// A repair changed the inode: it must be written back.
    pub dirty: bool,
    /// A repair was declined but the inode was edited in memory to go on
    /// checking: it must never be written.
    pub tainted: bool,
}

impl State {
    /// Records the answer to a repair of the inode's own fields.
    pub fn answer(&mut self, fix: bool) {
        if fix {
            self.dirty = true;
        } else {
            self.tainted = true;
        }
    }
}

/// Runs pass 1, then checks the xattr blocks' reference counts.
pub(crate) fn run(cx: &mut Fsck) -> Result<()> {
    let mut sb_parse = cx.sb.clone();
    sb_parse.feature_ro_compat &= !ro_compat::METADATA_CSUM;
    let groups = cx.sb.group_count();
    cx.progress.start("Pass 1: inodes", groups as u64);
    let plan = reader::plan(cx);
    let dev = cx.dev.try_clone()?;
    let isz = cx.sb.inode_size as usize;
    let ipg = cx.sb.inodes_per_group;
    let per_block = (cx.bs as usize / isz).max(1) as u32;
    let mut scan = Scan {
        cx,
        sb_parse,
        raw: Vec::with_capacity(isz),
        items: Vec::new(),
        bad_xattr: HashSet::new(),
        ea_charge: EaCharge::default(),
    };
    let sb = scan.cx.sb.clone();
    reader::run(dev, &sb, plan, |chunk| {
        // One inode-table block at a time: chunks start on block bounds.
        for start in (0..chunk.count).step_by(per_block as usize) {
            let n = per_block.min(chunk.count - start);
            let first_ino = chunk.group * ipg + chunk.first + start + 1;
            let slot = |i: u32| {
                let at = (start + i) as usize * isz;
                &chunk.buf[at..at + isz]
            };
            // Each inode's checksum (computed by the reader) judges
            // the block (garbage) and then the inode.
            let csum_ok = &chunk.csum_ok[start as usize..(start + n) as usize];
            let fails = csum_ok.iter().filter(|&&ok| !ok).count() as u32;
            let garbage = fails >= 2 && fails * 2 >= n;
            for i in 0..n {
                let ino = InodeNo(first_ino + i);
                fields::check_inode(&mut scan, ino, slot(i), garbage, csum_ok[i as usize])?;
            }
        }
        if chunk.last {
            scan.cx.progress.inc(1);
        }
        Ok(())
    })?;
    let cx = scan.cx;
    cx.found.dir_blocks.sort_unstable();
    xattr::check_refcounts(cx)?;
    cx.progress.finish();
    Ok(())
}

#[cfg(test)]
mod tests;
