//! Pass 3: directory connectivity, e2fsck's pass 3 as the model. The
//! root must be a directory; /lost+found is found (or made); every
//! directory must reach the root through the directories holding its
//! entry (`DirInfo::parent`, from pass 2), else it is linked into
//! lost+found; and every `..` must name the directory holding the entry.

use crate::context::Fsck;
use crate::dirops::{self, link_into_lost_found, make_dir};
use crate::error::Result;
use crate::problem::Kind;

/// The root directory's inode number.
const ROOT: u32 = 2;

/// Runs pass 3.
pub(crate) fn run(cx: &mut Fsck) -> Result<()> {
    cx.progress.start(
        "Pass 3: Checking directory connectivity",
        cx.found.dirs.len() as u64,
    );
    if check_root(cx)? {
        find_lost_found(cx)?;
        connect(cx)?;
        fix_dotdot(cx)?;
    }
    cx.progress.finish();
    Ok(())
}

/// The root must exist and be a directory; a missing root is made anew
/// (everything it held is then reconnected through lost+found). Returns
/// whether there is a root to check the rest against.
fn check_root(cx: &mut Fsck) -> Result<bool> {
    let root = *cx.found.inode(ROOT);
    if root.is_dir() && cx.found.dirs.contains_key(&ROOT) {
        return Ok(true);
    }
    if root.in_use() {
        let msg = "Root inode is not a directory.".to_string();
        if cx.ask(Kind::RootBad, msg) {
            cx.report
                .not_fixed("replacing a root inode that is in use is not supported; use e2fsck");
        }
        return Ok(false);
    }
    if !cx.ask(Kind::RootBad, "Root inode not allocated.".into()) {
        return Ok(false);
    }
    match make_dir(cx, Some(ROOT), ROOT, None)? {
        Ok(_) => {
            if let Some(d) = cx.found.dirs.get_mut(&ROOT) {
                d.parent = ROOT;
            }
            Ok(true)
        }
        Err(why) => {
            cx.report.not_fixed(&format!("cannot make a root: {why}"));
            Ok(false)
        }
    }
}

/// Finds /lost+found (or makes it: e2fsck makes it in every mode that
/// repairs), recording it in `found.lost_found`.
fn find_lost_found(cx: &mut Fsck) -> Result<()> {
    let name = b"lost+found";
    match dirops::lookup(cx, ROOT, name)? {
        Some((ino, _)) if cx.inode_in_range(ino) && cx.found.inode(ino).is_dir() => {
            cx.found.lost_found = Some(ino);
            return Ok(());
        }
        Some((ino, _)) => {
            let msg = format!("/lost+found is not a directory (ino={ino}).");
            if !cx.ask(Kind::LostFoundMissing, msg) {
                return Ok(());
            }
            if dirops::remove(cx, ROOT, name)?.is_none() {
                cx.report.not_fixed("cannot unlink /lost+found");
                return Ok(());
            }
            if cx.inode_in_range(ino) && cx.found.inode(ino).in_use() {
                // Pass 4 sees the inode unattached and reconnects it.
                let info = cx.found.inode_mut(ino);
                info.refs = info.refs.saturating_sub(1);
            }
        }
        None => {
            if !cx.ask(Kind::LostFoundMissing, "/lost+found not found.".into()) {
                return Ok(());
            }
        }
    }
    match make_dir(cx, None, ROOT, Some(name))? {
        Ok(ino) => cx.found.lost_found = Some(ino),
        Err(why) => cx
            .report
            .not_fixed(&format!("cannot make /lost+found: {why}")),
    }
    Ok(())
}

/// Every directory must reach the root by following the directories
/// that hold its entry; the first one on a path that has none (or that
/// closes a loop) is linked into lost+found.
fn connect(cx: &mut Fsck) -> Result<()> {
    const REACHED: u32 = u32::MAX;
    let n = cx.sb.inodes_count as usize;
    // Per inode: REACHED, or the number of the walk that last visited
    // it (so that a walk meeting its own mark has found a loop).
    let mut mark = vec![0u32; n + 1];
    mark[ROOT as usize] = REACHED;
    let dirs: Vec<u32> = cx.found.dirs.keys().copied().collect();
    let mut path = Vec::new();
    for (walk, &start) in dirs.iter().enumerate() {
        cx.progress.inc(1);
        let walk = walk as u32 + 1;
        path.clear();
        let mut cur = start;
        let mut unconnected = None;
        // Each step marks a new directory, so the walk is bounded by
        // their number.
        for _ in 0..=dirs.len() {
            if cur as usize > n || mark[cur as usize] == REACHED {
                break;
            }
            if mark[cur as usize] == walk {
                unconnected = Some(cur);
                break;
            }
            mark[cur as usize] = walk;
            path.push(cur);
            let parent = cx.found.dirs.get(&cur).map_or(0, |d| d.parent);
            if parent == 0 || !cx.found.dirs.contains_key(&parent) {
                unconnected = Some(cur);
                break;
            }
            cur = parent;
        }
        if let Some(u) = unconnected {
            let dotdot = cx.found.dirs.get(&u).map_or(0, |d| d.dotdot);
            let msg = format!("Unconnected directory inode {u} (was in {dotdot}).");
            if cx.ask(Kind::DirUnconnected, msg) {
                if let Err(why) = link_into_lost_found(cx, u)? {
                    cx.report.not_fixed(&why);
                }
            }
        }
        // Reported once: whatever the answer, the path is settled.
        for &d in &path {
            mark[d as usize] = REACHED;
        }
    }
    Ok(())
}

/// Every `..` must name the directory holding the entry (the root's
/// names the root).
fn fix_dotdot(cx: &mut Fsck) -> Result<()> {
    let wrong: Vec<(u32, u32, u32)> = cx
        .found
        .dirs
        .iter()
        .filter_map(|(&ino, d)| {
            let want = if ino == ROOT { ROOT } else { d.parent };
            (want != 0 && d.dotdot != want).then_some((ino, d.dotdot, want))
        })
        .collect();
    for (ino, dotdot, want) in wrong {
        let msg = format!("'..' in directory inode {ino} is {dotdot}, should be {want}.");
        if cx.ask(Kind::DotDotMismatch, msg) {
            match dirops::set_dotdot(cx, ino, want)? {
                Ok(()) => {
                    if let Some(d) = cx.found.dirs.get_mut(&ino) {
                        d.dotdot = want;
                    }
                }
                Err(why) => cx.report.not_fixed(&why),
            }
        }
    }
    Ok(())
}
