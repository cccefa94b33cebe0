//! Pass 3: directory connectivity, e2fsck's pass 3 as the model. The
//! root must be a directory; /lost+found is found (or made); every
//! directory must reach the root through the directories holding its
//! entry (`DirInfo::parent`, from pass 2), else it is linked into
//! lost+found; and every `..` must name the directory holding the entry.

use crate::context::Fsck;
use crate::dirops::{self, link_into_lost_found, make_dir};
use crate::error::Result;
use crate::problem::Problem;
use fuse4fs_format::ext4::InodeNo;

/// The root directory's inode number.
const ROOT: InodeNo = InodeNo::ROOT;

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
        if cx.ask(Problem::RootNotDirectoryInUse) {
            cx.report
                .not_fixed("replacing a root inode that is in use is not supported; use e2fsck");
        }
        return Ok(false);
    }
    if !cx.ask(Problem::RootNotAllocated) {
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
            if !cx.ask(Problem::LostFoundNotDirectory { ino }) {
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
            if !cx.ask(Problem::LostFoundMissing) {
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

/// Per inode up to s_inodes_count: [`Marks::REACHED`], or the number of
/// the walk that last visited it (so that a walk meeting its own mark
/// has found a loop); 0 before any walk.
struct Marks(Vec<u32>);

impl Marks {
    const REACHED: u32 = u32::MAX;

    fn new(inodes_count: u32) -> Self {
        Marks(vec![0; inodes_count as usize + 1])
    }

    /// The mark of `ino`; None past the last inode.
    fn get(&self, ino: InodeNo) -> Option<u32> {
        self.0.get(ino.0 as usize).copied()
    }

    /// Marks `ino` (which [`Marks::get`] found in range).
    fn set(&mut self, ino: InodeNo, mark: u32) {
        self.0[ino.0 as usize] = mark;
    }
}

/// Every directory must reach the root by following the directories
/// that hold its entry; the first one on a path that has none (or that
/// closes a loop) is linked into lost+found.
fn connect(cx: &mut Fsck) -> Result<()> {
    let mut marks = Marks::new(cx.sb.inodes_count);
    marks.set(ROOT, Marks::REACHED);
    let dirs: Vec<InodeNo> = cx.found.dirs.keys().copied().collect();
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
            match marks.get(cur) {
                None | Some(Marks::REACHED) => break,
                Some(m) if m == walk => {
                    unconnected = Some(cur);
                    break;
                }
                Some(_) => {}
            }
            marks.set(cur, walk);
            path.push(cur);
            let parent = cx.found.dirs.get(&cur).map_or(InodeNo(0), |d| d.parent);
            if parent.0 == 0 || !cx.found.dirs.contains_key(&parent) {
                unconnected = Some(cur);
                break;
            }
            cur = parent;
        }
        if let Some(u) = unconnected {
            let dotdot = cx.found.dirs.get(&u).map_or(InodeNo(0), |d| d.dotdot);
            if cx.ask(Problem::Unconnected {
                dir: u,
                was: dotdot,
            }) && let Err(why) = link_into_lost_found(cx, u)?
            {
                cx.report.not_fixed(&why);
            }
        }
        // Reported once: whatever the answer, the path is settled.
        for &d in &path {
            marks.set(d, Marks::REACHED);
        }
    }
    Ok(())
}

/// Every `..` must name the directory holding the entry (the root's
/// names the root).
fn fix_dotdot(cx: &mut Fsck) -> Result<()> {
    let wrong: Vec<(InodeNo, InodeNo, InodeNo)> = cx
        .found
        .dirs
        .iter()
        .filter_map(|(&ino, d)| {
            let want = if ino == ROOT { ino } else { d.parent };
            (want.0 != 0 && d.dotdot != want).then_some((ino, d.dotdot, want))
        })
        .collect();
    for (ino, dotdot, want) in wrong {
        if cx.ask(Problem::DotDotMismatch {
            dir: ino,
            have: dotdot,
            want,
        }) {
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

#[cfg(test)]
mod tests {
    use fuse4fs_format::ext4::InodeNo;

    use std::fs;
    use std::path::{Path, PathBuf};

    use crate::dirops;
    use crate::options::Mode;
    use crate::problem::{Kind, Problem};
    use crate::testutil::{
        assert_clean_before_pass5, debugfs, e2fsck, ino_of, kinds, mkfs, require, run34,
    };

    /// An image holding /d1/f, /d2/sub and /a.
    fn image(dir: &Path, args: &[&str]) -> PathBuf {
        let src = dir.join("src");
        fs::create_dir_all(src.join("d1")).unwrap();
        fs::create_dir_all(src.join("d2/sub")).unwrap();
        fs::write(src.join("d1/f"), b"f").unwrap();
        fs::write(src.join("a"), b"a").unwrap();
        mkfs(dir, args, &src, "8M")
    }

    fn tools() {
        require(&["mkfs.ext4", "debugfs", "e2fsck"]);
    }

    #[test]
    fn a_sound_image_has_nothing_to_report() {
        tools();
        for args in [&["-b", "4096"][..], &["-t", "ext2", "-b", "1024"][..]] {
            let t = tempfile::tempdir().unwrap();
            let img = image(t.path(), args);
            let (p, cx) = run34(&img, Mode::Check);
            assert!(p.is_empty(), "{p:?}");
            assert_eq!(cx.found.lost_found, Some(InodeNo(11)));
        }
    }

    #[test]
    fn an_unlinked_directory_is_reconnected() {
        tools();
        for args in [&["-b", "4096"][..], &["-t", "ext2", "-b", "1024"][..]] {
            let t = tempfile::tempdir().unwrap();
            let img = image(t.path(), args);
            let d2 = ino_of(&img, "/d2");
            debugfs(&img, "unlink /d2");
            let (p, _) = run34(&img, Mode::Check);
            assert_eq!(kinds(&p)[0], Kind::DirUnconnected, "{p:?}");
            assert!(!p[0].fixed);
            let (p, cx) = run34(&img, Mode::Yes);
            // Then lost+found gains a subdirectory and the root loses one.
            assert_eq!(
                kinds(&p),
                vec![Kind::DirUnconnected, Kind::LinkCount, Kind::LinkCount],
                "{p:?}"
            );
            assert!(p.iter().all(|p| p.fixed));
            let lf = cx.found.lost_found.unwrap();
            let name = format!("#{d2}");
            assert_eq!(
                dirops::lookup(&cx, lf, name.as_bytes()).unwrap(),
                Some((InodeNo(d2), 2))
            );
            assert_eq!(
                dirops::lookup(&cx, InodeNo(d2), b"..").unwrap().unwrap().0,
                lf
            );
            drop(cx);
            let (clean, text) = e2fsck(&img);
            assert!(clean, "{args:?}: {text}");
            let (p, _) = run34(&img, Mode::Check);
            assert!(p.is_empty(), "{p:?}");
        }
    }

    #[test]
    fn a_missing_lost_and_found_is_made() {
        tools();
        for args in [
            &["-b", "4096"][..],
            &["-t", "ext2", "-b", "1024"][..],
            &["-b", "1024", "-O", "^metadata_csum"][..],
            &["-I", "128", "-O", "^extent,^64bit"][..],
        ] {
            let t = tempfile::tempdir().unwrap();
            let img = image(t.path(), args);
            debugfs(&img, "rmdir lost+found");
            let (p, _) = run34(&img, Mode::Check);
            assert_eq!(kinds(&p), vec![Kind::LostFoundMissing]);
            let (p, cx) = run34(&img, Mode::Yes);
            assert_eq!(kinds(&p), vec![Kind::LostFoundMissing]);
            assert!(p[0].fixed);
            let lf = cx.found.lost_found.expect("made");
            assert_eq!(
                dirops::lookup(&cx, InodeNo::ROOT, b"lost+found").unwrap(),
                Some((lf, 2))
            );
            drop(cx);
            // The new inode and block reach the bitmaps in pass 5
            // (another helper's): until the merge only passes 1 to 4
            // must agree.
            assert_clean_before_pass5(&img, &format!("{args:?}"));
            let (p, cx) = run34(&img, Mode::Check);
            assert!(p.is_empty(), "{p:?}");
            assert_eq!(cx.found.lost_found, Some(lf));
        }
    }

    #[test]
    fn a_cleared_root_is_made_anew_and_its_tree_reconnected() {
        tools();
        let t = tempfile::tempdir().unwrap();
        let img = image(t.path(), &["-b", "4096"]);
        let d1 = ino_of(&img, "/d1");
        debugfs(&img, "clri <2>");
        let (p, _) = run34(&img, Mode::Check);
        assert_eq!(kinds(&p)[0], Kind::RootBad, "{p:?}");
        let (p, cx) = run34(&img, Mode::Yes);
        assert_eq!(kinds(&p)[..2], [Kind::RootBad, Kind::LostFoundMissing]);
        assert!(p.iter().all(|p| p.fixed), "{p:?}");
        assert!(p.iter().any(|p| p.kind == Kind::DirUnconnected));
        assert!(p.iter().any(|p| p.kind == Kind::InodeUnattached));
        let lf = cx.found.lost_found.unwrap();
        let name = format!("#{d1}");
        assert_eq!(
            dirops::lookup(&cx, lf, name.as_bytes()).unwrap(),
            Some((InodeNo(d1), 2))
        );
        drop(cx);
        // The new root's and lost+found's blocks reach the bitmaps, and
        // the new lost+found inode (past the group's used inodes) its
        // itable_unused, in pass 5 (another helper's): done by hand here.
        debugfs(&img, "set_bg 0 itable_unused 0");
        debugfs(&img, "set_bg 0 checksum calc");
        assert_clean_before_pass5(&img, "");
        let (p, _) = run34(&img, Mode::Check);
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn a_lost_and_found_that_is_a_file_is_replaced() {
        tools();
        let t = tempfile::tempdir().unwrap();
        let img = image(t.path(), &["-b", "4096"]);
        debugfs(&img, "rmdir lost+found");
        let file = t.path().join("src/a");
        debugfs(&img, &format!("write {} lost+found", file.display()));
        let old = ino_of(&img, "/lost+found");
        let (p, _) = run34(&img, Mode::Check);
        assert_eq!(kinds(&p), vec![Kind::LostFoundMissing]);
        assert_eq!(
            p[0].problem,
            Problem::LostFoundNotDirectory { ino: InodeNo(old) }
        );
        let (p, cx) = run34(&img, Mode::Yes);
        // The file, unlinked, is then found unattached and moved into
        // the new lost+found.
        assert_eq!(
            kinds(&p),
            vec![Kind::LostFoundMissing, Kind::InodeUnattached],
            "{p:?}"
        );
        assert!(p.iter().all(|p| p.fixed));
        let lf = cx.found.lost_found.unwrap();
        assert_ne!(lf.0, old);
        let name = format!("#{old}");
        assert_eq!(
            dirops::lookup(&cx, lf, name.as_bytes()).unwrap(),
            Some((InodeNo(old), 1))
        );
        drop(cx);
        debugfs(&img, "set_bg 0 itable_unused 0");
        debugfs(&img, "set_bg 0 checksum calc");
        assert_clean_before_pass5(&img, "");
    }

    #[test]
    fn preen_reconnects_and_sets_counts() {
        tools();
        let t = tempfile::tempdir().unwrap();
        let img = image(t.path(), &["-b", "4096"]);
        debugfs(&img, "unlink /d2");
        debugfs(&img, "sif /a links_count 3");
        let (p, _) = run34(&img, Mode::Preen);
        assert!(p.iter().all(|p| p.fixed), "{p:?}");
        let (clean, text) = e2fsck(&img);
        assert!(clean, "{text}");
    }

    #[test]
    fn a_wrong_dotdot_is_rewritten() {
        tools();
        for args in [
            &["-b", "4096"][..],
            &["-b", "1024", "-O", "^metadata_csum"][..],
        ] {
            let t = tempfile::tempdir().unwrap();
            let img = image(t.path(), args);
            let (sub, d1) = (ino_of(&img, "/d2/sub"), ino_of(&img, "/d1"));
            // Point /d2/sub's ".." at /d1 through our own edit (which
            // keeps the block checksum right), as a torn rename leaves it.
            {
                let opts = crate::Options {
                    mode: Mode::Yes,
                    ..Default::default()
                };
                let dev = crate::Device::open(&img, true).unwrap();
                let mut cx = crate::Fsck::open(dev, opts, "img").unwrap();
                dirops::set_dotdot(&mut cx, InodeNo(sub), InodeNo(d1))
                    .unwrap()
                    .unwrap();
                cx.dev.flush().unwrap();
            }
            let (ok, text) = e2fsck(&img);
            assert!(!ok && text.contains("'..' in"), "{text}");
            let (p, _) = run34(&img, Mode::Check);
            assert_eq!(kinds(&p)[0], Kind::DotDotMismatch, "{p:?}");
            let (p, _) = run34(&img, Mode::Yes);
            assert_eq!(kinds(&p), vec![Kind::DotDotMismatch], "{p:?}");
            let (clean, text) = e2fsck(&img);
            assert!(clean, "{args:?}: {text}");
        }
    }
}

#[cfg(test)]
mod catalog {
    use std::path::PathBuf;

    use crate::options::Mode;
    use crate::testutil::run34;

    /// Passes 3 and 4 find nothing on the catalog images (built by
    /// `images/build` into target/images, or `$FUSE4FS_IMAGES`).
    #[test]
    fn the_catalog_is_clean() {
        let dir = std::env::var_os("FUSE4FS_IMAGES")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/images"));
        let Ok(list) = std::fs::read_dir(&dir) else {
            fuse4fs_testkit::skip!("no image catalog in {}", dir.display());
            return;
        };
        let mut seen = 0;
        for e in list.flatten() {
            let img = e.path();
            if img.extension().is_none_or(|x| x != "img") {
                continue;
            }
            let (p, cx) = run34(&img, Mode::Check);
            assert!(p.is_empty(), "{}: {p:?}", img.display());
            assert!(cx.found.lost_found.is_some(), "{}", img.display());
            seen += 1;
        }
        eprintln!("{seen} catalog images checked");
    }
}

#[cfg(test)]
mod htree {
    use fuse4fs_format::ext4::InodeNo;

    use std::fs;

    use crate::dirops;
    use crate::options::Mode;
    use crate::problem::Kind;
    use crate::testutil::{e2fsck, kinds, mkfs, require, run34};

    /// `..` of an indexed directory lives in its dx root, whose
    /// checksum is the htree node's, not a leaf's.
    #[test]
    fn a_wrong_dotdot_in_an_htree_root_is_rewritten() {
        require(&["mkfs.ext4", "e2fsck"]);
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        fs::create_dir_all(src.join("other")).unwrap();
        fs::create_dir_all(src.join("big")).unwrap();
        for i in 0..300 {
            fs::write(src.join(format!("big/a-long-enough-file-name-{i:04}")), b"").unwrap();
        }
        let img = mkfs(t.path(), &["-b", "1024"], &src, "8M");
        let out = std::process::Command::new("e2fsck")
            .arg("-fyD")
            .arg(&img)
            .output()
            .unwrap();
        assert!(out.status.code().unwrap_or(8) < 4);
        let (big, other) = {
            let (_, cx) = run34(&img, Mode::Check);
            let big = dirops::lookup(&cx, InodeNo::ROOT, b"big")
                .unwrap()
                .unwrap()
                .0;
            let other = dirops::lookup(&cx, InodeNo::ROOT, b"other")
                .unwrap()
                .unwrap()
                .0;
            assert!(cx.found.dirs[&big].indexed);
            (big, other)
        };
        {
            let opts = crate::Options {
                mode: Mode::Yes,
                ..Default::default()
            };
            let dev = crate::Device::open(&img, true).unwrap();
            let mut cx = crate::Fsck::open(dev, opts, "img").unwrap();
            dirops::set_dotdot(&mut cx, big, other).unwrap().unwrap();
            cx.dev.flush().unwrap();
        }
        let (ok, text) = e2fsck(&img);
        assert!(!ok && text.contains("'..' in"), "{text}");
        assert!(!text.contains("checksum"), "{text}");
        let (p, _) = run34(&img, Mode::Yes);
        assert_eq!(kinds(&p), vec![Kind::DotDotMismatch], "{p:?}");
        let (clean, text) = e2fsck(&img);
        assert!(clean, "{text}");
    }
}

#[cfg(test)]
mod loops {
    use fuse4fs_format::ext4::InodeNo;

    use std::fs;

    use crate::options::{Mode, Options};
    use crate::problem::Kind;
    use crate::report::Pass;
    use crate::testutil::{kinds, mkfs, require, scan};
    use crate::{Device, Fsck};

    /// Directories whose entries name each other in a ring, away from
    /// the root: reported once, and the walk ends.
    #[test]
    fn a_ring_of_directories_is_one_unconnected_directory() {
        require(&["mkfs.ext4"]);
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        for d in ["x", "y", "z"] {
            fs::create_dir_all(src.join(d)).unwrap();
        }
        let img = mkfs(t.path(), &[], &src, "8M");
        let dev = Device::open(&img, false).unwrap();
        let mut cx = Fsck::open(dev, Options::default(), "img").unwrap();
        assert_eq!(cx.opts.mode, Mode::Check);
        crate::setup::run(&mut cx).unwrap();
        scan(&mut cx);
        let ring: Vec<InodeNo> = cx
            .found
            .dirs
            .iter()
            .filter(|(i, d)| **i != InodeNo(2) && **i != InodeNo(11) && d.parent == InodeNo(2))
            .map(|(i, _)| *i)
            .collect();
        assert_eq!(ring.len(), 3);
        for (k, &d) in ring.iter().enumerate() {
            let next = ring[(k + 1) % ring.len()];
            cx.found.dirs.get_mut(&d).unwrap().parent = next;
        }
        cx.report.begin(Pass::Pass3);
        super::run(&mut cx).unwrap();
        let p = &cx.report.problems;
        assert_eq!(
            kinds(p)
                .iter()
                .filter(|k| **k == Kind::DirUnconnected)
                .count(),
            1,
            "{p:?}"
        );
    }
}
