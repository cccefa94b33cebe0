//! Checking one crash state: build the image, recover it two ways (our
//! own replay, and e2fsck's), and compare what each shows with the trees
//! the live filesystem showed after each operation.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::{Command, Stdio};

use fuse4fs::fs::io::log::IoEvent;
use fuse4fs::fs::{Fs, FsOptions};

use crate::states::{Crash, State, writes_of};
use crate::tree::{self, Contents, Kind, Tree};
use crate::workload::{Op, Own, Run};

/// The image before the workload, as its non-zero stretches: written into
/// a fresh sparse file per state, so building a state costs what the
/// filesystem holds, not the image size.
pub struct BaseImage {
    len: u64,
    chunks: Vec<(u64, Vec<u8>)>,
}

impl BaseImage {
    /// Splits `bytes` into runs of non-zero 4 KiB pieces.
    pub fn new(bytes: &[u8]) -> BaseImage {
        const PIECE: usize = 4096;
        let mut chunks: Vec<(u64, Vec<u8>)> = Vec::new();
        for (i, piece) in bytes.chunks(PIECE).enumerate() {
            if piece.iter().all(|&b| b == 0) {
                continue;
            }
            let off = (i * PIECE) as u64;
            match chunks.last_mut() {
                Some((o, data)) if *o + data.len() as u64 == off => data.extend_from_slice(piece),
                _ => chunks.push((off, piece.to_vec())),
            }
        }
        BaseImage {
            len: bytes.len() as u64,
            chunks,
        }
    }

    /// Writes the image of state `st` to `path` (replacing its contents).
    pub fn write_state(&self, path: &Path, events: &[IoEvent], st: &State) -> std::io::Result<()> {
        let f = File::create(path)?;
        f.set_len(self.len)?;
        for (off, data) in &self.chunks {
            f.write_all_at(data, *off)?;
        }
        for (off, data) in writes_of(events, st) {
            f.write_all_at(data, off)?;
        }
        Ok(())
    }
}

/// One failed check.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Which check: replay-read, replay-tree, replay-fsck, e2fsck-fy,
    /// e2fsck-fn, e2fsck-tree, fsync-lost.
    pub check: &'static str,
    pub detail: String,
}

/// A recovery of a state, as its failures name it.
struct Recovery {
    /// In the fsync-lost failure's text.
    name: &'static str,
    /// The check failed when the recovered tree cannot be read.
    unreadable: &'static str,
    /// The check failed when the tree shows no snapshot of the window.
    no_snapshot: &'static str,
}

/// Our own replay, at the open.
const OUR_REPLAY: Recovery = Recovery {
    name: "our replay",
    unreadable: "replay-read",
    no_snapshot: "replay-tree",
};

/// e2fsck's replay and repairs.
const E2FSCK_REPLAY: Recovery = Recovery {
    name: "after e2fsck",
    unreadable: "e2fsck-tree",
    no_snapshot: "e2fsck-tree",
};

/// What a state is checked against.
pub struct Expect<'a> {
    pub run: &'a Run,
    /// The block size: the unit in which file data may be torn.
    pub bs: usize,
    /// (op index, path) of every fsync that succeeded.
    pub fsyncs: Vec<(usize, String)>,
}

impl<'a> Expect<'a> {
    pub fn new(run: &'a Run, bs: usize) -> Expect<'a> {
        let fsyncs = run
            .ops
            .iter()
            .zip(&run.results)
            .enumerate()
            .filter_map(|(i, (op, r))| match (op, r) {
                (Op::Own(Own::Fsync(p)), Ok(())) => Some((i, p.clone())),
                _ => None,
            })
            .collect();
        Expect { run, bs, fsyncs }
    }

    /// Whether `tree` (its file bytes in `got`) shows a snapshot in
    /// `[lo, hi]` (clamped to the run); otherwise the nearest snapshot in
    /// the window and its first difference.
    ///
    /// File data is not journaled (data=ordered, as ext4): an overwrite in
    /// place reaches the disk on its own, before or without the commit of
    /// its operation, and is not atomic. So besides an exact match, a tree
    /// whose metadata equals snapshot j is accepted when each block of
    /// each file holds that block as some snapshot of the window had it
    /// (torn between versions, never stale or foreign data).
    fn matches(&self, tree: &Tree, got: &Contents, lo: usize, hi: usize) -> Result<usize, String> {
        let snaps = &self.run.snapshots;
        let hi = hi.min(snaps.len() - 1);
        let lo = lo.min(hi);
        if let Some(j) = (lo..=hi).find(|&j| snaps[j] == *tree) {
            return Ok(j);
        }
        if let Some(j) = (lo..=hi).find(|&j| self.torn_data_only(tree, got, &snaps[j], lo, hi)) {
            return Ok(j);
        }
        let near = (lo..=hi)
            .min_by_key(|&j| tree::distance(&snaps[j], tree))
            .unwrap_or(lo);
        let d = tree::first_diff(&snaps[near], tree).unwrap_or_default();
        Err(format!(
            "matches no snapshot in [{lo}, {hi}]; nearest is {near}: {d}"
        ))
    }

    /// Whether `tree` differs from `snap` only in file bytes, each block of
    /// which some snapshot in `[lo, hi]` had.
    fn torn_data_only(
        &self,
        tree: &Tree,
        got: &Contents,
        snap: &Tree,
        lo: usize,
        hi: usize,
    ) -> bool {
        if tree.len() != snap.len() {
            return false;
        }
        tree.iter().all(|(path, e)| {
            let Some(want) = snap.get(path) else {
                return false;
            };
            if e == want {
                return true;
            }
            let same_meta = e.kind == Kind::File
                && want.kind == Kind::File
                && (e.mode, e.size, e.nlink) == (want.mode, want.size, want.nlink);
            same_meta
                && got
                    .get(&e.content)
                    .is_some_and(|bytes| self.blocks_in_window(path, bytes, lo, hi))
        })
    }

    /// Whether each block of `bytes` equals that block of `path` in some
    /// snapshot in `[lo, hi]` (past a version's end: zeros).
    fn blocks_in_window(&self, path: &str, bytes: &[u8], lo: usize, hi: usize) -> bool {
        let bs = self.bs.max(1);
        let versions: Vec<&[u8]> = self.run.snapshots[lo..=hi]
            .iter()
            .filter_map(|s| s.get(path))
            .filter(|e| e.kind == Kind::File)
            .filter_map(|e| self.run.contents.get(&e.content))
            .map(|v| v.as_slice())
            .collect();
        bytes.chunks(bs).enumerate().all(|(i, chunk)| {
            let have_at = |v: &[u8], k: usize| v.get(i * bs + k).copied().unwrap_or(0);
            versions
                .iter()
                .any(|v| chunk.iter().enumerate().all(|(k, &b)| b == have_at(v, k)))
        })
    }

    /// The checks of the tree a recovery left (or why it could not be
    /// read): it shows a snapshot from `lo` to the operation in flight
    /// after `answered` (see [`Expect::matches`]), and every file an
    /// answered fsync made durable is intact.
    fn recovered(
        &self,
        by: &Recovery,
        tree: &Result<Tree, String>,
        got: &Contents,
        lo: usize,
        answered: usize,
    ) -> Vec<Failure> {
        let t = match tree {
            Ok(t) => t,
            Err(e) => {
                return vec![Failure {
                    check: by.unreadable,
                    detail: e.clone(),
                }];
            }
        };
        let mut fails = Vec::new();
        if let Err(d) = self.matches(t, got, lo, answered + 1) {
            fails.push(Failure {
                check: by.no_snapshot,
                detail: d,
            });
        }
        if let Err(d) = self.fsynced_intact(t, answered) {
            fails.push(Failure {
                check: "fsync-lost",
                detail: format!("{}: {d}", by.name),
            });
        }
        fails
    }

    /// Files fsync'd by an answered operation and unchanged by every later
    /// operation up to the one in flight must be as they were.
    fn fsynced_intact(&self, tree: &Tree, answered: usize) -> Result<(), String> {
        let snaps = &self.run.snapshots;
        let hi = (answered + 1).min(snaps.len() - 1);
        for (k, path) in &self.fsyncs {
            if *k >= answered {
                break;
            }
            let Some(want) = snaps[k + 1].get(path) else {
                continue;
            };
            if snaps[k + 1..=hi].iter().any(|s| s.get(path) != Some(want)) {
                continue;
            }
            match tree.get(path) {
                Some(got) if got == want => {}
                Some(got) => {
                    return Err(format!(
                        "{path} (fsync'd by op {k}): expected {}, found {}",
                        tree::describe(want),
                        tree::describe(got)
                    ));
                }
                None => return Err(format!("{path} (fsync'd by op {k}): missing")),
            }
        }
        Ok(())
    }
}

/// Options for our replay of a state: writable (the open replays the
/// journal), in the boot the crash kind implies.
fn replay_options(crash: &Crash) -> FsOptions {
    // Every field is named, no `..Default::default()`: a new option must
    // be chosen here deliberately, not inherited by accident.
    FsOptions {
        cache_blocks: 0,
        writable: true,
        boot_id: crash.replay_boot(),
        norecovery: false,
        io_log: None,
        // A crash state is a fresh image on its own: taken as a new mount.
        mmp_start: fuse4fs::fs::mount::mmp::MmpStart::Fresh,
        // A crash state is a bare filesystem image.
        region: fuse4fs::fs::io::image::Region::WHOLE,
    }
}

/// Runs e2fsck with `flag` (-fn or -fy) on `img`: exit code and the lines
/// that are not progress.
fn e2fsck(flag: &str, img: &Path) -> Result<(i32, String), String> {
    let out = Command::new("e2fsck")
        .args(flag.split(' '))
        .arg(img)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("e2fsck: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let notes: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("Pass ") && !l.starts_with("e2fsck ") && !l.is_empty())
        .take(4)
        .collect();
    Ok((out.status.code().unwrap_or(-1), notes.join(" | ")))
}

/// Opens `img` and reads its tree (file bytes into `got`); the Fs is
/// dropped before returning.
fn read_tree(img: &Path, opts: &FsOptions, got: &mut Contents) -> Result<Tree, String> {
    let fs = Fs::open(img, opts).map_err(|e| format!("open: {e}"))?;
    // A log whose committed part fails its checksums is one the kernel
    // refuses to mount (JBD2 "recovery failed"): never acceptable, even
    // where e2fsck quietly skips the bad block.
    if let Some(rec) = fs.replay_report()
        && (rec.checksum_stop.is_some() || !rec.warnings.is_empty())
    {
        return Err(format!(
            "the journal replay met damage: {}",
            rec.checksum_stop
                .iter()
                .chain(&rec.warnings)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    tree::read(&fs, got)
}

/// Runs `cmd` to its end: its standard output, or an error saying why
/// not (`program: error` when it could not start, `what: its standard
/// error` when it failed).
pub fn output_of(cmd: &mut Command, what: &str) -> Result<Vec<u8>, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{}: {e}", cmd.get_program().to_string_lossy()))?;
    if !out.status.success() {
        return Err(format!(
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out.stdout)
}

/// The kernel's own replay: `img` mounted read-write (ext4 recovers the
/// journal at mount), then unmounted. A quota image is mounted read-only
/// from a writable loop device instead: ext4 still recovers the journal
/// and frees orphans then, and a kernel without CONFIG_QUOTA mounts quota
/// images read-only only.
fn kernel_replay(img: &Path) -> Result<(), String> {
    let mnt = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
    let quota = has_quota(img)?;
    let loopdev = if quota {
        let out = output_of(
            Command::new("losetup").args(["--find", "--show"]).arg(img),
            "losetup failed",
        )?;
        Some(String::from_utf8_lossy(&out).trim().to_string())
    } else {
        None
    };
    let done = mount_and_unmount(img, loopdev.as_deref(), mnt.path());
    if let Some(dev) = loopdev {
        let _ = Command::new("losetup").arg("-d").arg(dev).status();
    }
    done
}

/// Whether `img`'s superblock has the quota feature.
fn has_quota(img: &Path) -> Result<bool, String> {
    use std::os::unix::fs::FileExt;
    let mut raw = vec![0u8; fuse4fs::ext4::superblock::SUPERBLOCK_SIZE];
    let f = std::fs::File::open(img).map_err(|e| format!("{}: {e}", img.display()))?;
    f.read_exact_at(&mut raw, fuse4fs::ext4::superblock::SUPERBLOCK_OFFSET)
        .map_err(|e| format!("{}: {e}", img.display()))?;
    let sb = fuse4fs::ext4::superblock::Superblock::parse(&raw).map_err(|e| e.to_string())?;
    Ok(sb.has_ro_compat(fuse4fs::ext4::superblock::ro_compat::QUOTA))
}

/// Mounts `img` (read-write through a new loop device, or read-only from
/// `loopdev`) at `mnt`, then unmounts it.
fn mount_and_unmount(img: &Path, loopdev: Option<&str>, mnt: &Path) -> Result<(), String> {
    let mut cmd = Command::new("mount");
    match loopdev {
        Some(dev) => cmd.args(["-t", "ext4", "-o", "ro", dev]),
        None => cmd.args(["-t", "ext4", "-o", "loop"]).arg(img),
    };
    output_of(cmd.arg(mnt), "the kernel refused to mount it")?;
    let st = Command::new("umount")
        .arg(mnt)
        .status()
        .map_err(|e| format!("umount: {e}"))?;
    if !st.success() {
        return Err("umount failed".into());
    }
    Ok(())
}

/// Checks one state, using `a` and `b` as scratch image paths; with
/// `kernel` (machine crashes only) the kernel's replay of the state must
/// show the same tree as ours (both see the durable commits only).
pub fn check(
    base: &BaseImage,
    exp: &Expect<'_>,
    st: &State,
    a: &Path,
    b: &Path,
    kernel: bool,
) -> Vec<Failure> {
    let events = &exp.run.events;
    let mut fails = Vec::new();
    let mut fail = |check, detail| fails.push(Failure { check, detail });
    let (lo_ours, lo_fsck) = match st.crash {
        Crash::Process => (st.answered, st.durable),
        Crash::Machine { .. } => (st.durable, st.durable),
    };

    // a) our replay, then e2fsck -fn on what it left.
    if let Err(e) = base.write_state(a, events, st) {
        fail("setup", format!("{}: {e}", a.display()));
        return fails;
    }
    let mut got = Contents::new();
    let ours = read_tree(a, &replay_options(&st.crash), &mut got);
    if kernel && let (Ok(t), Crash::Machine { .. }) = (&ours, &st.crash) {
        let k = a.with_extension("kernel.img");
        let seen = base
            .write_state(&k, events, st)
            .map_err(|e| format!("{}: {e}", k.display()))
            .and_then(|()| kernel_replay(&k))
            .and_then(|()| read_tree(&k, &FsOptions::default(), &mut Contents::new()));
        match seen {
            Ok(kt) if &kt == t => {}
            Ok(kt) => {
                let path = t
                    .keys()
                    .chain(kt.keys())
                    .find(|p| t.get(*p) != kt.get(*p))
                    .cloned()
                    .unwrap_or_default();
                fail(
                    "kernel-tree",
                    format!("the kernel's replay differs from ours at {path:?}"),
                );
            }
            Err(e) => fail("kernel-replay", e),
        }
        let _ = std::fs::remove_file(&k);
    }
    for f in exp.recovered(&OUR_REPLAY, &ours, &got, lo_ours, st.answered) {
        fail(f.check, f.detail);
    }
    match e2fsck("-fn", a) {
        Ok((0, _)) => {}
        Ok((rc, notes)) => fail("replay-fsck", format!("e2fsck -fn exit {rc}: {notes}")),
        Err(e) => fail("setup", e),
    }

    // b) e2fsck's own recovery on a second copy: the replay alone (as the
    // kernel's at mount, no repairs after it) must leave a clean
    // filesystem, and must not meet a bad journal (the kernel would refuse
    // to mount).
    if let Err(e) = base.write_state(b, events, st) {
        fail("setup", format!("{}: {e}", b.display()));
        return fails;
    }
    match e2fsck("-fy -E journal_only", b) {
        Ok((0 | 1, notes))
            if !["checksum", "corrupt", "abort", "error", "invalid"]
                .iter()
                .any(|w| notes.to_ascii_lowercase().contains(w)) => {}
        Ok((rc, notes)) => fail(
            "e2fsck-fy",
            format!("e2fsck -fy -E journal_only exit {rc}: {notes}"),
        ),
        Err(e) => fail("setup", e),
    }
    match e2fsck("-fn", b) {
        Ok((0, _)) => {}
        Ok((rc, notes)) => fail(
            "e2fsck-fn",
            format!("e2fsck -fn after -fy exit {rc}: {notes}"),
        ),
        Err(e) => fail("setup", e),
    }
    let mut got = Contents::new();
    let theirs = read_tree(b, &FsOptions::default(), &mut got);
    for f in exp.recovered(&E2FSCK_REPLAY, &theirs, &got, lo_fsck, st.answered) {
        fail(f.check, f.detail);
    }
    fails
}

/// One line saying what state `st` is.
pub fn describe(exp: &Expect<'_>, st: &State) -> String {
    let events = &exp.run.events;
    let writes = events[..st.end.min(events.len())]
        .iter()
        .filter(|e| matches!(e, IoEvent::Write { .. }))
        .count();
    // The in-flight operation's writes: after the last mark before the
    // cut, up to the next mark; how many of them the state holds.
    let end = st.end.min(events.len());
    let is_mark = |e: &IoEvent| matches!(e, IoEvent::Mark(_));
    let from = events[..end].iter().rposition(is_mark).map_or(0, |m| m + 1);
    let to = events[end..]
        .iter()
        .position(is_mark)
        .map_or(events.len(), |m| end + m);
    let count = |r: &[IoEvent]| {
        r.iter()
            .filter(|e| !is_mark(e) && **e != IoEvent::Flush)
            .count()
    };
    let progress = match st.crash {
        Crash::Process => format!(
            ", {} of its {} writes issued",
            count(&events[from..end]),
            count(&events[from..to])
        ),
        Crash::Machine { .. } => String::new(),
    };
    let in_flight = exp
        .run
        .ops
        .get(st.answered)
        .map_or("the unmount".to_string(), |op| {
            format!("op {} `{op}`", st.answered)
        });
    let how = match &st.crash {
        Crash::Process => format!("process crash after {writes} writes (event {})", st.end),
        Crash::Machine { kept, .. } => {
            let l = crate::states::Layout::new(events);
            format!(
                "machine crash at event {}: flushed writes + {} of {} later writes",
                st.end,
                kept.len(),
                l.unflushed(st.end).len()
            )
        }
    };
    let boot = st
        .crash
        .replay_boot()
        .map_or("the running boot".to_string(), |b| {
            b.iter().map(|x| format!("{x:02x}")).collect()
        });
    format!(
        "{how}; {} answered, {} durable; in flight: {in_flight}{progress}; replay boot: {boot}",
        st.answered, st.durable
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_image_keeps_only_non_zero_runs() {
        let mut bytes = vec![0u8; 5 * 4096];
        bytes[10] = 1;
        bytes[4096 + 5] = 2;
        bytes[4 * 4096] = 3;
        let b = BaseImage::new(&bytes);
        assert_eq!(b.chunks.len(), 2);
        assert_eq!(b.chunks[0].0, 0);
        assert_eq!(b.chunks[0].1.len(), 2 * 4096);
        assert_eq!(b.chunks[1].0, 4 * 4096);

        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("img");
        let st = State {
            crash: Crash::Process,
            end: 1,
            answered: 0,
            durable: 0,
        };
        let events = vec![
            IoEvent::Write {
                offset: 4096 + 4,
                data: vec![7, 7],
            },
            IoEvent::Write {
                offset: 0,
                data: vec![8],
            },
        ];
        b.write_state(&p, &events, &st).unwrap();
        let got = std::fs::read(&p).unwrap();
        let mut want = bytes.clone();
        want[4096 + 4] = 7;
        want[4096 + 5] = 7;
        assert_eq!(got, want, "only the writes before the cut");
    }

    fn file(bytes: &[u8], store: &mut Contents) -> tree::Entry {
        use std::hash::Hasher;
        let mut h = std::hash::DefaultHasher::new();
        h.write(bytes);
        let content = h.finish();
        store.insert(content, std::sync::Arc::new(bytes.to_vec()));
        tree::Entry {
            kind: Kind::File,
            mode: 0o644,
            size: bytes.len() as u64,
            nlink: 1,
            content,
            target: Vec::new(),
            xattrs: 0,
        }
    }

    #[test]
    fn torn_overwrites_pass_stale_or_foreign_blocks_do_not() {
        // Snapshots of one 3-block file (block size 4): v0, then v1
        // overwriting all of it, then v2 overwriting it again.
        let mut contents = Contents::new();
        let versions: [&[u8]; 3] = [b"aaaabbbbcccc", b"AAAABBBBCCCC", b"xxxxyyyyzzzz"];
        let snapshots: Vec<Tree> = versions
            .iter()
            .map(|v| Tree::from([("f".to_string(), file(v, &mut contents))]))
            .collect();
        let run = Run {
            ops: Vec::new(),
            results: Vec::new(),
            snapshots,
            contents,
            events: Vec::new(),
        };
        let exp = Expect::new(&run, 4);
        let check = |bytes: &[u8], lo, hi| {
            let mut got = Contents::new();
            let t = Tree::from([("f".to_string(), file(bytes, &mut got))]);
            exp.matches(&t, &got, lo, hi)
        };
        assert_eq!(check(b"AAAABBBBCCCC", 1, 2), Ok(1));
        // Torn between v0 and v1, block by block: fine in [0, 1].
        assert!(check(b"AAAAbbbbCCCC", 0, 1).is_ok());
        // A block only v0 had, with the window starting at v1: stale.
        assert!(check(b"aaaaBBBBCCCC", 1, 2).is_err());
        // A block no version had, or torn inside a block.
        assert!(check(b"AAAAqqqqCCCC", 0, 2).is_err());
        assert!(check(b"AAaaBBBBCCCC", 0, 2).is_err());
        // A different size is a metadata difference, never torn data.
        assert!(check(b"AAAABBBB", 0, 2).is_err());
    }

    #[test]
    fn each_recovery_names_its_failures() {
        // Op 0 creates and fsyncs f (one operation here), op 1 is in
        // flight: a recovery that lost f fails both checks.
        let mut contents = Contents::new();
        let with_f = Tree::from([("f".to_string(), file(b"data", &mut contents))]);
        let run = Run {
            ops: vec![Op::Own(Own::Fsync("f".into()))],
            results: vec![Ok(())],
            snapshots: vec![with_f.clone(), with_f.clone(), with_f.clone()],
            contents,
            events: Vec::new(),
        };
        let exp = Expect::new(&run, 4);
        let names = |fails: Vec<Failure>| -> Vec<String> {
            fails
                .iter()
                .map(|f| format!("{} {}", f.check, f.detail.split(':').next().unwrap()))
                .collect()
        };
        let lost: Result<Tree, String> = Ok(Tree::new());
        let none = Contents::new();
        assert_eq!(
            names(exp.recovered(&OUR_REPLAY, &lost, &none, 1, 1)),
            [
                "replay-tree matches no snapshot in [1, 2]; nearest is 1",
                "fsync-lost our replay"
            ]
        );
        assert_eq!(
            names(exp.recovered(&E2FSCK_REPLAY, &lost, &none, 0, 1)),
            [
                "e2fsck-tree matches no snapshot in [0, 2]; nearest is 0",
                "fsync-lost after e2fsck"
            ]
        );
        let unread: Result<Tree, String> = Err("open: bad".into());
        assert_eq!(
            names(exp.recovered(&OUR_REPLAY, &unread, &none, 1, 1)),
            ["replay-read open"]
        );
        assert_eq!(
            names(exp.recovered(&E2FSCK_REPLAY, &unread, &none, 1, 1)),
            ["e2fsck-tree open"]
        );
        let kept: Result<Tree, String> = Ok(with_f);
        assert!(
            exp.recovered(&OUR_REPLAY, &kept, &run.contents, 1, 1)
                .is_empty()
        );
    }
}
