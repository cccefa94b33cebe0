//! The first block of a directory: `.` naming the directory itself,
//! then `..` at offset 12 naming its parent (recorded for pass 3).

use fuse4fs_format::ext4::InodeNo;
use fuse4fs_format::ext4::dir::ft;

use super::State;
use super::chain::{self, Ent, MIN_REC_LEN};
use crate::context::Fsck;
use crate::problem::Problem;

/// Where `..` starts: `.` takes the shortest record there is (12 bytes,
/// the kernel's `EXT4_DIR_REC_LEN(1)`).
const DOTDOT_AT: usize = MIN_REC_LEN;

fn is_name(region: &[u8], e: &Ent, name: &[u8]) -> bool {
    e.name_len == name.len() && e.name(region) == name
}

/// Sets the file type of `e` (`.`, or `..` when `dotdot`) to `want`
/// (a directory's, or 0 without the filetype feature) if asked; returns
/// whether the region changed.
fn fix_file_type(
    cx: &mut Fsck,
    dir: InodeNo,
    region: &mut [u8],
    e: &Ent,
    dotdot: bool,
    want: u8,
) -> bool {
    if e.ft == want {
        return false;
    }
    let problem = Problem::DotFileType {
        dir,
        dotdot,
        have: e.ft,
        want,
    };
    if !cx.ask(problem) {
        return false;
    }
    chain::head_mut(region, e.off).file_type = want;
    true
}

/// Checks (and with leave repairs) `.` and `..` at the start of `region`,
/// the first block's entry area of directory `dir`; `ents` is its chain,
/// walked again after any repair. Records what `..` names in
/// `found.dirs`. Returns whether the region changed and how many leading
/// entries are `.` and `..` (the entry checks start after them).
pub(super) fn check(
    cx: &mut Fsck,
    st: &State,
    dir: InodeNo,
    region: &mut [u8],
    ents: &mut Vec<Ent>,
) -> (bool, usize) {
    let bs = st.bs;
    let ft_dir = if st.filetype { ft::DIR } else { 0 };
    let mut changed = false;

    // '.'
    match ents.first().copied() {
        None => {
            // Only possible with -n on a block torn at offset 0.
            if cx.ask(Problem::DotMissing { dir }) {
                cx.report.not_fixed("the block's entries are unreadable");
            }
            return (false, 0);
        }
        Some(e0) if is_name(region, &e0, b".") && e0.inode.0 != 0 => {
            if e0.inode != dir && cx.ask(Problem::DotWrong { dir, ino: e0.inode }) {
                chain::head_mut(region, 0).inode.set(dir.0);
                changed = true;
            }
            changed |= fix_file_type(cx, dir, region, &e0, false, ft_dir);
            if e0.rec_len >= 2 * MIN_REC_LEN && cx.ask(Problem::DotBig { dir }) {
                chain::set_rec_len(region, 0, MIN_REC_LEN, bs);
                region[MIN_REC_LEN..e0.rec_len].fill(0);
                chain::set_rec_len(region, DOTDOT_AT, e0.rec_len - MIN_REC_LEN, bs);
                changed = true;
            }
        }
        Some(e0) => {
            if cx.ask(Problem::DotMissing { dir }) {
                // As e2fsck: the first record becomes '.', whatever it
                // held (pass 4 finds an inode it named unattached).
                region[..e0.rec_len].fill(0);
                if e0.rec_len >= 2 * MIN_REC_LEN {
                    chain::put_entry(region, 0, dir, MIN_REC_LEN, b".", ft_dir, bs);
                    chain::set_rec_len(region, DOTDOT_AT, e0.rec_len - MIN_REC_LEN, bs);
                } else {
                    chain::put_entry(region, 0, dir, e0.rec_len, b".", ft_dir, bs);
                }
                changed = true;
            }
        }
    }
    if changed {
        chain::walk(region, bs, ents);
    }

    // '..'
    let mut dotdot = InodeNo(0);
    let mut leading = usize::from(ents.first().is_some_and(|e| is_name(region, e, b".")));
    match ents.get(1).copied() {
        Some(e1) if leading == 1 && is_name(region, &e1, b"..") => {
            leading = 2;
            // A '..' naming no directory is recorded as missing: pass 3
            // then rewrites it (one problem, reported there).
            let ino = e1.inode;
            let valid =
                ino == InodeNo::ROOT || (ino.0 >= cx.sb.first_ino && ino.0 <= cx.sb.inodes_count);
            if ino.0 != 0 && (!valid || !cx.found.inode(ino).in_use()) {
                // As e2fsck: the entry is cleared here, pass 3 sets it.
                if cx.ask(Problem::DotDotInvalid { dir, ino }) {
                    let fixed = super::unset_dotdot(dir);
                    chain::head_mut(region, e1.off).inode.set(fixed.0);
                    dotdot = fixed;
                    changed = true;
                }
            } else if cx.inode_in_range(ino) && cx.found.inode(ino).is_dir() {
                dotdot = ino;
            }
            changed |= fix_file_type(cx, dir, region, &e1, true, ft_dir);
        }
        e1 => {
            if cx.ask(Problem::DotDotMissing { dir }) {
                match e1 {
                    Some(e1) if leading == 1 && e1.off == DOTDOT_AT => {
                        // The record after '.' becomes '..' naming no
                        // inode yet (pass 3 fills in the parent), but
                        // for the root, its own parent.
                        let ino = super::unset_dotdot(dir);
                        dotdot = ino;
                        region[DOTDOT_AT..DOTDOT_AT + e1.rec_len].fill(0);
                        chain::put_entry(region, DOTDOT_AT, ino, e1.rec_len, b"..", ft_dir, bs);
                        changed = true;
                        chain::walk(region, bs, ents);
                        leading = 2;
                    }
                    _ => cx.report.not_fixed("no room after '.' for '..'"),
                }
            }
        }
    }
    if let Some(d) = cx.found.dirs.get_mut(&dir) {
        d.dotdot = dotdot;
    }
    (changed, leading)
}
