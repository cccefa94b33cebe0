//! Hostile images on the write side: damaged images mounted read-write
//! must never make the server panic, hang or write outside the image, and
//! what it leaves must be repairable: `fuse4fs-fsck -fy`, then `e2fsck
//! -fn` finds it clean.
//!
//! The fixtures are those of the read side (tests/hostile_images: ext4
//! with and without metadata_csum, block-mapped ext2), 16 MiB so that the
//! workload has room. Four kinds of damage, each seeded:
//! - `rw`: a few bytes of metadata damaged, then a mixed workload through
//!   the fs API (create, mkdir, write, truncate, fallocate, rename,
//!   unlink, rmdir, link, symlink, xattrs, readdir, read, unlinked-while-
//!   open files) between mount and unmount, as the server runs them:
//!   damage an operation meets is recorded in the superblock
//!   (`record_error`, policy continue or remount-ro by seed);
//! - `orphan`: the orphan list made hostile (garbage head, cycles, in-use
//!   inodes and directories, reserved and huge inode numbers, truncation
//!   orphans) for the orphan processing at mount;
//! - `journal`: an image left by a server killed before checkpoint (a copy
//!   of the live image), its log damaged (journal superblock, descriptor,
//!   commit and revoke blocks, logged blocks), then mounted: the replay
//!   must stop cleanly or refuse;
//! - `fsck`: `fuse4fs-fsck -fy` alone on damaged images.
//!
//! Every seed runs on a thread under a time bound (a hang fails it) and
//! under catch_unwind (a panic fails it, naming the seed). Every write the
//! fs makes after the open is recorded (IoLog): none may end past the
//! image; the image's length may not change, and a sentinel file beside
//! it may not either. A smaller number of seeds goes through a real mount
//! of the fuse4fs binary, whose log must not show the request guard's
//! "handler panicked".
//!
//! `FUSE4FS_HOSTILE_SEEDS=N` runs N seeds per fixture and kind instead of
//! the CI default, `FUSE4FS_HOSTILE_FROM=K` starts at iteration K (a soak
//! past the seeds CI runs, or one seed: FROM=K SEEDS=1);
//! `FUSE4FS_HOSTILE_SAVE=DIR` keeps failing images (after the repair);
//! `FUSE4FS_HOSTILE_VERBOSE=1` says why each refused image was refused.

use crate::common;

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use crate::common::root_node;
use fuse4fs::ext4::InodeNo;
use fuse4fs::ext4::superblock::STATE_ERROR;
use fuse4fs::ext4::types::Generation;
use fuse4fs::fs::fallocate::{
    FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_INSERT_RANGE, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE,
    FALLOC_FL_ZERO_RANGE,
};
use fuse4fs::fs::io::log::{IoEvent, IoLog};
use fuse4fs::fs::mount::state::OnError;
use fuse4fs::fs::rename::{RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT, Renamer};
use fuse4fs::fs::setattr::Changes;
use fuse4fs::fs::xattr::write::SetMode;
use fuse4fs::fs::{Fs, FsOptions, Result as FsResult};
use fuse4fs_fsck::{Mode, Options as FsckOptions, check_path};

use crate::hostile_images;
use crate::hostile_images::{
    Fixture, Rng, build_tree, corrupt, debugfs, make_fixture, panic_message, seed_of, write_copy,
};

/// Time bound of one seed's open, mount, workload and unmount.
const SEED_TIMEOUT: Duration = Duration::from_secs(20);
/// Time bound of one fuse4fs-fsck run.
const FSCK_TIMEOUT: Duration = Duration::from_secs(60);
/// Operations per workload.
const OPS: usize = 60;
const SENTINEL: &[u8] = b"not part of the image\n";

fn seeds(default: u64) -> u64 {
    std::env::var("FUSE4FS_HOSTILE_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `FUSE4FS_HOSTILE_VERBOSE=1`: say why each refused image was refused.
fn verbose() -> bool {
    std::env::var_os("FUSE4FS_HOSTILE_VERBOSE").is_some()
}

/// Runs `f` on a thread: its value, or why it failed (a panic, or still
/// running after `limit`: then the thread is left behind and the caller
/// must stop using the image).
fn bounded<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Failure> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = catch_unwind(AssertUnwindSafe(f));
        let _ = tx.send(r.map_err(|p| panic_message(&*p)));
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(msg)) => Err(Failure::Panic(msg)),
        Err(_) => Err(Failure::Hang),
    }
}

#[derive(Debug)]
enum Failure {
    Panic(String),
    Hang,
    /// Anything else: a write past the end, a changed length, an unclean
    /// image after repair.
    Bad(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Panic(m) => write!(f, "panic: {m}"),
            Failure::Hang => write!(f, "hang (over the time bound)"),
            Failure::Bad(m) => f.write_str(m),
        }
    }
}

// ------------------------------------------------------------ workload

/// An inode as a node id names it (None: the root, never checked).
type Node = (InodeNo, Option<Generation>);

/// What one workload saw.
#[derive(Debug, Default, Clone)]
struct Seen {
    /// Why the open or the mount refused the image.
    refused: Option<String>,
    /// Operations that met damage (recorded as errors).
    damage: usize,
    /// Operations that succeeded.
    ok: usize,
    /// How fuse4fs-fsck -fy ended afterwards.
    repair: Option<Repair>,
    /// Damage was met but the superblock holds no error record.
    unrecorded: bool,
}

/// A seeded mix of operations on inode numbers, as the FUSE adapter
/// issues them; damage met is recorded as the adapter does.
struct Workload<'a> {
    fs: &'a Fs,
    rng: Rng,
    /// Directories and files known, with the generation the adapter's
    /// node ids carry: each operation first checks the node is live, as
    /// the adapter does (the kernel never sends requests for an inode it
    /// holds no reference to).
    dirs: Vec<Node>,
    files: Vec<Node>,
    /// Files unlinked (or made by O_TMPFILE) while open; released at the end.
    open: Vec<InodeNo>,
    seen: Seen,
}

impl<'a> Workload<'a> {
    fn new(fs: &'a Fs, seed: u64) -> Self {
        let mut w = Workload {
            fs,
            rng: Rng(seed ^ 0x0005_EED0_F0B5),
            dirs: vec![(InodeNo::ROOT, None)],
            files: Vec::new(),
            open: Vec::new(),
            seen: Seen::default(),
        };
        for path in [
            "a",
            "a/b",
            "a/b/c",
            "h",
            "small",
            "a/big",
            "frag",
            "a/b/c/deep",
            "a/b/hard",
            "h/entry-with-a-longer-name-00100",
            "h/entry-with-a-longer-name-01500",
            "fast",
        ] {
            if let Some(ino) = w.resolve(path) {
                match fs.inode(ino) {
                    Ok(i) if i.is_dir() => w.dirs.push((ino, Some(i.generation))),
                    Ok(i) if i.is_reg() => w.files.push((ino, Some(i.generation))),
                    _ => {}
                }
            }
        }
        w
    }

    fn resolve(&mut self, path: &str) -> Option<InodeNo> {
        let mut ino = InodeNo::ROOT;
        for part in path.split('/') {
            let dir = self.note(self.fs.inode(ino))?;
            ino = self.note(self.fs.lookup(&dir, part.as_bytes()))?.ino;
        }
        Some(ino)
    }

    /// Counts an outcome; damage goes to the superblock's error record.
    fn note<T>(&mut self, r: FsResult<T>) -> Option<T> {
        match r {
            Ok(v) => {
                self.seen.ok += 1;
                Some(v)
            }
            Err(e) => {
                let _ = e.to_string();
                let _ = e.errno();
                if e.is_corruption() {
                    self.seen.damage += 1;
                    self.fs.record_error(&e, None, "hostile");
                }
                None
            }
        }
    }

    /// One of `from`, if it is still live.
    fn pick(&mut self, from: &[Node]) -> Option<InodeNo> {
        if from.is_empty() {
            return None;
        }
        let (ino, generation) = from[self.rng.below(from.len() as u64) as usize];
        let r = self.fs.live_inode(ino, generation);
        self.note(r).map(|i| i.ino)
    }

    fn dir(&mut self) -> Option<InodeNo> {
        let dirs = self.dirs.clone();
        self.pick(&dirs)
    }

    fn file(&mut self) -> Option<InodeNo> {
        let files = self.files.clone();
        self.pick(&files)
    }

    fn any(&mut self) -> Option<InodeNo> {
        if self.rng.below(2) == 0 {
            self.dir()
        } else {
            self.file()
        }
    }

    fn new_name(&mut self) -> Vec<u8> {
        match self.rng.below(8) {
            // Long names fill directory blocks sooner.
            0 => format!("{}-{}", "long".repeat(40), self.rng.below(50)).into_bytes(),
            _ => format!("n{}", self.rng.below(40)).into_bytes(),
        }
    }

    /// A name present in `dir` (other than . and ..), or a new one.
    fn existing_name(&mut self, dir: InodeNo) -> Vec<u8> {
        let Some(d) = self.note(self.fs.inode(dir)) else {
            return self.new_name();
        };
        let mut names = Vec::new();
        let r = self.fs.readdir(&d, 0, |e| {
            if e.name != b"." && e.name != b".." {
                names.push(e.name.to_vec());
            }
            names.len() < 300
        });
        self.note(r);
        if names.is_empty() {
            return self.new_name();
        }
        let i = self.rng.below(names.len() as u64) as usize;
        names.swap_remove(i)
    }

    fn offset(&mut self) -> u64 {
        match self.rng.below(10) {
            0 => 1 << (30 + self.rng.below(14)),
            1 => self.rng.below(64) * 4096,
            _ => self.rng.below(400_000),
        }
    }

    fn step(&mut self) {
        let fs = self.fs;
        match self.rng.below(22) {
            0 | 1 => {
                let Some(p) = self.dir() else { return };
                let n = self.new_name();
                if let Some(i) = self.note(fs.make_node(p, &n, &root_node(0o100644))) {
                    self.files.push((i.ino, Some(i.generation)));
                }
            }
            2 => {
                let Some(p) = self.dir() else { return };
                let n = self.new_name();
                if let Some(i) = self.note(fs.make_node(p, &n, &root_node(0o040755))) {
                    self.dirs.push((i.ino, Some(i.generation)));
                }
            }
            3..=5 => {
                let Some(f) = self.file() else { return };
                let off = self.offset();
                let len = 1 + self.rng.below(20_000) as usize;
                let data = vec![self.rng.next() as u8; len];
                self.note(fs.write(f, off, &data, 0));
            }
            6 => {
                let Some(f) = self.file() else { return };
                let size = self.offset();
                let c = Changes {
                    size: Some(size),
                    ..Default::default()
                };
                self.note(fs.setattr(f, &c));
            }
            7 => {
                let Some(f) = self.file() else { return };
                const MODES: [u32; 6] = [
                    0,
                    FALLOC_FL_KEEP_SIZE,
                    FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                    FALLOC_FL_ZERO_RANGE,
                    FALLOC_FL_COLLAPSE_RANGE,
                    FALLOC_FL_INSERT_RANGE,
                ];
                let mode = MODES[self.rng.below(6) as usize];
                let bs = fs.block_size() as u64;
                let (off, len) = if mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE) != 0
                {
                    (self.rng.below(64) * bs, (1 + self.rng.below(8)) * bs)
                } else {
                    (self.offset(), 1 + self.rng.below(100_000))
                };
                self.note(fs.fallocate(f, off, len, mode));
            }
            8 | 9 => {
                let (Some(sp), Some(dp)) = (self.dir(), self.dir()) else {
                    return;
                };
                let sn = self.existing_name(sp);
                let dn = if self.rng.below(2) == 0 {
                    self.existing_name(dp)
                } else {
                    self.new_name()
                };
                let flags = [0, 0, RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT]
                    [self.rng.below(5) as usize];
                let who = Renamer { uid: 0, gid: 0 };
                self.note(fs.rename_as(sp, &sn, dp, &dn, flags, who));
            }
            10 => {
                let Some(p) = self.dir() else { return };
                let n = self.existing_name(p);
                self.note(fs.unlink(p, &n));
            }
            11 => {
                let Some(p) = self.dir() else { return };
                let n = self.existing_name(p);
                self.note(fs.rmdir(p, &n));
            }
            12 => {
                let Some(ino) = self.any() else { return };
                let name = format!("user.k{}", self.rng.below(5));
                let len = [5, 100, 1500, 3000][self.rng.below(4) as usize];
                let how =
                    [SetMode::Any, SetMode::Create, SetMode::Replace][self.rng.below(3) as usize];
                let value = vec![b'v'; len];
                self.note(fs.setxattr(ino, name.as_bytes(), &value, how, false));
            }
            13 => {
                let Some(ino) = self.any() else { return };
                let name = ["user.k0", "user.k1", "user.small", "user.big", "user.dir"]
                    [self.rng.below(5) as usize];
                self.note(fs.removexattr(ino, name.as_bytes()));
            }
            14 => {
                let Some(d) = self.dir() else { return };
                if let Some(inode) = self.note(fs.inode(d)) {
                    let mut n = 0;
                    let r = fs.readdir(&inode, 0, |_| {
                        n += 1;
                        n < 5000
                    });
                    self.note(r);
                }
            }
            15 => {
                let Some(f) = self.file() else { return };
                let off = self.offset();
                if let Some(inode) = self.note(fs.inode(f)) {
                    self.note(fs.read(&inode, off, 65536));
                }
            }
            16 => {
                let Some(p) = self.dir() else { return };
                let n = self.new_name();
                let len = 1 + self.rng.below(300) as usize;
                self.note(fs.symlink(p, &n, &vec![b't'; len], 0, 0));
            }
            17 => {
                let Some(f) = self.file() else { return };
                let Some(p) = self.dir() else { return };
                let n = self.new_name();
                self.note(fs.link(f, p, &n));
            }
            18 => {
                // A file unlinked while open: an orphan until released.
                let Some(p) = self.dir() else { return };
                let n = self.new_name();
                let Some(i) = self.note(fs.make_node(p, &n, &root_node(0o100644))) else {
                    return;
                };
                fs.opened(i.ino);
                self.open.push(i.ino);
                self.note(fs.write(i.ino, 0, &[1u8; 9000], 0));
                self.note(fs.unlink(p, &n));
            }
            19 => {
                let Some(p) = self.dir() else { return };
                // Counted as open by tmpfile itself.
                if let Some(i) = self.note(fs.tmpfile(p, &root_node(0o100600))) {
                    self.open.push(i.ino);
                    self.note(fs.write(i.ino, 0, &[2u8; 3000], 0));
                }
            }
            20 => {
                let Some(ino) = self.any() else { return };
                let c = Changes {
                    mode: Some(0o700),
                    ..Default::default()
                };
                self.note(fs.setattr(ino, &c));
            }
            _ => {
                if let Some(ino) = self.open.pop() {
                    self.note(fs.released(ino));
                } else {
                    self.note(fs.sync());
                }
            }
        }
    }

    fn run(&mut self, n: usize) {
        for _ in 0..n {
            self.step();
        }
        while let Some(ino) = self.open.pop() {
            self.note(self.fs.released(ino));
        }
    }
}

/// Opens `img` read-write (recording writes in `log`), mounts, runs the
/// workload of `seed` with `policy`, unmounts.
fn serve(img: &Path, seed: u64, policy: OnError, log: Arc<IoLog>) -> Seen {
    let opts = FsOptions {
        writable: true,
        io_log: Some(log),
        ..Default::default()
    };
    let fs = match Fs::open(img, &opts) {
        Ok(fs) => fs,
        Err(e) => {
            return Seen {
                refused: Some(format!("open: {e}")),
                ..Seen::default()
            };
        }
    };
    fs.set_error_policy(Some(policy));
    if let Err(e) = fs.mount_rw() {
        // The server refuses the mount: nothing more is served.
        return Seen {
            refused: Some(format!("mount: {e}")),
            ..Seen::default()
        };
    }
    let mut w = Workload::new(&fs, seed);
    w.run(OPS);
    let mut seen = w.seen;
    let sb = fs.live_superblock();
    seen.unrecorded = seen.damage > 0 && (sb.error_count == 0 || sb.state & STATE_ERROR == 0);
    let _ = fs.stats();
    if let Err(e) = fs.unmount_clean() {
        let _ = e.to_string();
    }
    seen
}

// ------------------------------------------------------------ checks

/// How the repair ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Repair {
    /// e2fsck -fn finds the repaired image clean.
    Clean,
    /// fuse4fs-fsck reported problems it does not repair (exit 4).
    Declined(String),
}

/// A case: an image in its own directory beside a sentinel file.
struct Case {
    img: PathBuf,
    len: u64,
}

impl Case {
    fn new(dir: &Path, bytes: &[u8]) -> Case {
        let _ = fs::remove_dir_all(dir);
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join("sentinel"), SENTINEL).unwrap();
        let img = dir.join("img");
        write_copy(bytes, &img);
        Case {
            img,
            len: bytes.len() as u64,
        }
    }

    /// Nothing outside the image changed, the image kept its length, and
    /// no recorded write ends past it.
    fn check_bounds(&self, log: Option<&IoLog>) -> Result<(), Failure> {
        for e in log.map(IoLog::events).unwrap_or_default() {
            if let IoEvent::Write { offset, data } = e
                && offset + data.len() as u64 > self.len
            {
                return Err(Failure::Bad(format!(
                    "write of {} bytes at {offset} past the end of the image ({})",
                    data.len(),
                    self.len
                )));
            }
        }
        let len = fs::metadata(&self.img).unwrap().len();
        if len != self.len {
            return Err(Failure::Bad(format!(
                "the image's length changed: {} -> {len}",
                self.len
            )));
        }
        let dir = self.img.parent().unwrap();
        if fs::read(dir.join("sentinel")).unwrap() != SENTINEL {
            return Err(Failure::Bad("the sentinel beside the image changed".into()));
        }
        let names = fs::read_dir(dir).unwrap().count();
        if names != 2 {
            return Err(Failure::Bad(format!("{names} files beside the image")));
        }
        Ok(())
    }

    /// `fuse4fs-fsck -fy`, then `e2fsck -fn` must find the image clean,
    /// unless the checker declared a repair it does not make.
    fn check_repairable(&self) -> Result<Repair, Failure> {
        let path = self.img.clone();
        let out = bounded(FSCK_TIMEOUT, move || {
            let opts = FsckOptions {
                mode: Mode::Yes,
                force: true,
                ..FsckOptions::default()
            };
            check_path(&path, &opts).map(|o| {
                let unfixed: Vec<String> = o
                    .problems
                    .iter()
                    .filter(|p| !p.fixed)
                    .map(|p| p.message.clone())
                    .collect();
                (o.problems.len(), unfixed)
            })
        })
        .map_err(|f| match f {
            Failure::Panic(m) => Failure::Panic(format!("fuse4fs-fsck -fy: {m}")),
            Failure::Hang => Failure::Bad("fuse4fs-fsck -fy hung".into()),
            other => other,
        })?;
        if fs::metadata(&self.img).unwrap().len() != self.len {
            return Err(Failure::Bad(
                "fuse4fs-fsck -fy changed the image's length".into(),
            ));
        }
        // A repair the checker declares it cannot make (it exits 4 and
        // says so: rebuilding a journal) leaves what e2fsck still sees;
        // so does a checker that refuses the image outright (exit 8: a
        // superblock it cannot trust, where e2fsck would try a backup).
        let fixed = match out {
            Ok((_, unfixed)) if !unfixed.is_empty() => {
                return Ok(Repair::Declined(unfixed.join("; ")));
            }
            Err(e) => return Ok(Repair::Declined(format!("refused: {e}"))),
            Ok((n, _)) => n,
        };
        let e2 = Command::new("e2fsck")
            .arg("-fn")
            .arg(&self.img)
            .output()
            .unwrap();
        if !e2.status.success() {
            let text = String::from_utf8_lossy(&e2.stdout);
            let text: String = text.lines().take(30).collect::<Vec<_>>().join("\n");
            return Err(Failure::Bad(format!(
                "e2fsck -fn unclean after fuse4fs-fsck -fy (which fixed {fixed} problem(s)):\n{text}"
            )));
        }
        Ok(Repair::Clean)
    }

    /// With `FUSE4FS_HOSTILE_STAGES=DIR`, keeps the image as it is now
    /// (to follow one seed through its stages).
    fn stage(&self, seed: u64, stage: &str) {
        if let Ok(keep) = std::env::var("FUSE4FS_HOSTILE_STAGES") {
            let to = Path::new(&keep).join(format!("{seed:#x}-{stage}.img"));
            fs::copy(&self.img, to).unwrap();
        }
    }

    fn save(&self, label: &str) {
        if let Ok(keep) = std::env::var("FUSE4FS_HOSTILE_SAVE") {
            let to = Path::new(&keep).join(format!("{label}.img"));
            if fs::copy(&self.img, &to).is_ok() {
                eprintln!("saved {}", to.display());
            }
        }
    }
}

/// The whole check of one prepared image: serve it (workload of `seed`),
/// check the bounds, repair, check with e2fsck.
fn serve_and_check(case: &Case, seed: u64) -> Result<Seen, Failure> {
    let log = IoLog::new();
    let policy = if seed & 0x100 != 0 {
        OnError::RemountRo
    } else {
        OnError::Continue
    };
    case.stage(seed, "damaged");
    let (img, l) = (case.img.clone(), Arc::clone(&log));
    let seen = bounded(SEED_TIMEOUT, move || serve(&img, seed, policy, l))?;
    case.stage(seed, "served");
    if seen.unrecorded {
        return Err(Failure::Bad(format!(
            "{} operation(s) met damage, but the superblock records no error",
            seen.damage
        )));
    }
    case.check_bounds(Some(&log))?;
    let repair = case.check_repairable()?;
    Ok(Seen {
        repair: Some(repair),
        ..seen
    })
}

// ------------------------------------------------------------ fixtures

const TOOLS: &[&str] = &["mkfs.ext4", "e2fsck", "debugfs"];

/// The three fixtures, 16 MiB each.
fn fixtures(dir: &Path) -> Vec<Fixture> {
    common::require(TOOLS);
    let src = dir.join("src");
    fs::create_dir(&src).unwrap();
    build_tree(&src);
    vec![
        make_fixture("ext4-csum", dir, &src, &[], "16M"),
        make_fixture("ext4-nocsum", dir, &src, &["-O", "^metadata_csum"], "16M"),
        make_fixture("ext2-1k", dir, &src, &["-t", "ext2", "-b", "1024"], "16M"),
    ]
}

/// Runs `prepare` + [`serve_and_check`] for each seed of each fixture;
/// panics with every failure. `prepare` returns the image bytes for a seed
/// (None: this fixture has nothing to damage for this kind).
fn run_kind(
    kind: &str,
    dir: &Path,
    fxs: &[Fixture],
    n: u64,
    extra: &[(usize, u64)],
    mut prepare: impl FnMut(usize, &Fixture, u64, &Path) -> Option<Vec<u8>>,
    mut check: impl FnMut(&Case, u64) -> Result<Seen, Failure>,
) {
    let t = Instant::now();
    let mut failures = Vec::new();
    let (mut ran, mut refused, mut damaged) = (0, 0, 0);
    let mut declined = Vec::new();
    let mut seeds: Vec<(usize, u64)> = extra.to_vec();
    let from = std::env::var("FUSE4FS_HOSTILE_FROM")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    for i in from..from + n {
        seeds.extend((0..fxs.len()).map(|f| (f, i)));
    }
    for (f, i) in seeds {
        let fx = &fxs[f];
        let seed = seed_of(f, i);
        let cdir = dir.join(format!("case-{kind}"));
        let Some(bytes) = prepare(f, fx, seed, dir) else {
            continue;
        };
        let case = Case::new(&cdir, &bytes);
        ran += 1;
        match check(&case, seed) {
            Ok(seen) => {
                if let Some(why) = &seen.refused {
                    refused += 1;
                    if verbose() {
                        eprintln!("  refused: {} seed {seed:#x}: {why}", fx.name);
                    }
                }
                damaged += (seen.damage > 0) as usize;
                if let Some(Repair::Declined(why)) = seen.repair {
                    declined.push(format!("{} seed {seed:#x}: {why}", fx.name));
                }
            }
            Err(e) => {
                let hang = matches!(e, Failure::Hang);
                case.save(&format!("{kind}-{}-{seed:#x}", fx.name));
                failures.push(format!("{kind} {} seed {seed:#x}: {e}", fx.name));
                if hang {
                    // The thread still holds the image.
                    break;
                }
            }
        }
    }
    eprintln!(
        "{kind}: {ran} seeds in {:?}: {refused} refused at open or mount, {damaged} met damage in the workload, {} left with repairs fuse4fs-fsck declines, {} failed",
        t.elapsed(),
        declined.len(),
        failures.len()
    );
    for d in &declined {
        eprintln!("  declined: {d}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The pristine image with metadata damaged for `seed`.
fn damaged(fx: &Fixture, seed: u64, dir: &Path) -> Vec<u8> {
    let scratch = dir.join("damage.img");
    write_copy(&fx.pristine, &scratch);
    let f = fs::OpenOptions::new().write(true).open(&scratch).unwrap();
    corrupt(fx, &f, seed);
    drop(f);
    fs::read(&scratch).unwrap()
}

/// [`run_kind`] over the fixtures with metadata damaged for each seed
/// (xored with `salt`, so that each kind damages differently).
fn run_damaged(
    kind: &str,
    n: u64,
    salt: u64,
    check: impl FnMut(&Case, u64) -> Result<Seen, Failure>,
) {
    let tmp = tempfile::tempdir().unwrap();
    let fxs = fixtures(tmp.path());
    run_kind(
        kind,
        tmp.path(),
        &fxs,
        seeds(n),
        &[],
        |_, fx, seed, dir| Some(damaged(fx, seed ^ salt, dir)),
        check,
    );
}

#[test]
fn damaged_images_survive_a_read_write_workload() {
    run_damaged("rw", 25, 0, serve_and_check);
}

#[test]
fn fsck_repairs_damaged_images() {
    run_damaged("fsck", 40, 0xF5C0_0000_0000, |case, _| {
        Ok(Seen {
            repair: Some(case.check_repairable()?),
            ..Seen::default()
        })
    });
}

// ------------------------------------------------------------ orphans

/// Paths of the fixture tree, some of them directories.
const PATHS: [&str; 9] = [
    "/small",
    "/a/big",
    "/frag",
    "/a/b/c/deep",
    "/fast",
    "/a/slow",
    "/a/b/c",
    "/h/entry-with-a-longer-name-00100",
    "/a/b/hard",
];

/// A hostile orphan list for `seed`, as debugfs commands.
fn orphan_script(fx: &Fixture, seed: u64, inodes_count: u64) -> String {
    let mut rng = Rng(seed ^ 0x04FA_0000);
    let mut cmds = String::new();
    let mut chain: Vec<u64> = Vec::new();
    for _ in 0..1 + rng.below(5) {
        let ino = match rng.below(6) {
            // An inode whose name goes (a real orphan).
            0 | 1 => {
                let p = PATHS[rng.below(PATHS.len() as u64) as usize];
                cmds.push_str(&format!("unlink {p}\n"));
                let ino = debugfs_ino(fx, p);
                cmds.push_str(&format!("sif <{ino}> links_count 0\n"));
                ino
            }
            // An inode in use, directory or not.
            2 => fx.dirs[rng.below(fx.dirs.len() as u64) as usize] as u64,
            3 => fx.inodes[rng.below(fx.inodes.len() as u64) as usize] as u64,
            // A free inode.
            4 => inodes_count - rng.below(100),
            // A truncation orphan: in use, size cut below its blocks.
            _ => {
                let p = PATHS[rng.below(4) as usize];
                let ino = debugfs_ino(fx, p);
                cmds.push_str(&format!("sif <{ino}> size {}\n", rng.below(5000)));
                ino
            }
        };
        chain.push(ino);
    }
    let tail = match rng.below(7) {
        0 | 1 => 0,
        2 => chain[rng.below(chain.len() as u64) as usize], // a cycle
        3 => u32::MAX as u64,
        4 => 1 + rng.below(10), // a reserved inode
        5 => inodes_count + 1 + rng.below(1000),
        _ => rng.next() as u32 as u64,
    };
    for (k, ino) in chain.iter().enumerate() {
        let next = chain.get(k + 1).copied().unwrap_or(tail);
        cmds.push_str(&format!("sif <{ino}> dtime {next}\n"));
    }
    let head = match rng.below(8) {
        0 => rng.next() as u32 as u64,
        1 => 2,
        _ => chain[0],
    };
    cmds.push_str(&format!("ssv last_orphan {head}\n"));
    cmds
}

/// The inode of `path` in the fixture (from its list, by a lookup on the
/// pristine image written beside the fixture's directory).
fn debugfs_ino(fx: &Fixture, path: &str) -> u64 {
    let ino = fx.path_inodes.iter().find(|(p, _)| p == path);
    ino.map(|(_, i)| *i as u64)
        .unwrap_or_else(|| panic!("{}: {path} not in the fixture", fx.name))
}

#[test]
fn hostile_orphan_lists_at_mount() {
    let tmp = tempfile::tempdir().unwrap();
    let fxs = fixtures(tmp.path());
    run_kind(
        "orphan",
        tmp.path(),
        &fxs,
        seeds(25),
        &[],
        |_, fx, seed, dir| {
            let img = dir.join("orphan.img");
            write_copy(&fx.pristine, &img);
            let count = u32::from_le_bytes(fx.pristine[1024..1028].try_into().unwrap()) as u64;
            debugfs(&img, &orphan_script(fx, seed, count), true);
            Some(fs::read(&img).unwrap())
        },
        serve_and_check,
    );
}

// ------------------------------------------------------------ journal

/// What a journal block is, by its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LogBlock {
    Superblock,
    Descriptor,
    Commit,
    Revoke,
    /// A logged copy of a filesystem block (no jbd2 header).
    Data,
}

/// An image a killed server left: the log holds transactions to replay.
struct Crashed {
    bytes: Vec<u8>,
    block_size: u64,
    /// Byte offset of each journal block the run wrote, and what it is.
    log: Vec<(u64, LogBlock)>,
}

/// Mounts a copy of the fixture, runs a workload, makes part of it
/// durable, runs more and copies the live image (what a SIGKILL of the
/// server leaves, the host keeping its writes). None without a journal.
fn crashed_image(fx: &Fixture, dir: &Path) -> Option<Crashed> {
    let pristine = dir.join(format!("{}.img", fx.name));
    let ro = Fs::open(&pristine, &FsOptions::default()).unwrap();
    let sb = ro.superblock().clone();
    if sb.journal_inum == 0 {
        return None;
    }
    let bs = ro.block_size() as u64;
    let journal = ro.inode(InodeNo(sb.journal_inum)).unwrap();
    let blocks: Vec<u64> = (0..journal.size / bs)
        .map(|l| ro.physical_block(&journal, l).unwrap().unwrap().0)
        .collect();
    drop(ro);

    let live = dir.join(format!("{}-live.img", fx.name));
    write_copy(&fx.pristine, &live);
    let fs = common::mount_rw(&live);
    let mut w = Workload::new(&fs, 7);
    w.run(80);
    fs.sync().unwrap();
    let mut w = Workload::new(&fs, 8);
    w.run(80);
    assert_eq!(w.seen.damage, 0, "{}: workload on a sound image", fx.name);
    let bytes = fs::read(&live).unwrap();
    drop(fs);

    let mut log = Vec::new();
    for (k, b) in blocks.iter().enumerate() {
        let at = (b * bs) as usize;
        let new = &bytes[at..at + bs as usize];
        if k != 0 && new == &fx.pristine[at..at + bs as usize] {
            continue;
        }
        let get_be32 = |o: usize| u32::from_be_bytes(new[o..o + 4].try_into().unwrap());
        let kind = if k == 0 {
            LogBlock::Superblock
        } else if get_be32(0) == 0xC03B_3998 {
            match get_be32(4) {
                1 => LogBlock::Descriptor,
                2 => LogBlock::Commit,
                5 => LogBlock::Revoke,
                _ => LogBlock::Data,
            }
        } else {
            LogBlock::Data
        };
        log.push((at as u64, kind));
    }
    let count = |k| log.iter().filter(|(_, x)| *x == k).count();
    eprintln!(
        "{}: crashed log: {} descriptor, {} commit, {} revoke, {} logged blocks",
        fx.name,
        count(LogBlock::Descriptor),
        count(LogBlock::Commit),
        count(LogBlock::Revoke),
        count(LogBlock::Data)
    );
    assert!(
        count(LogBlock::Commit) > 1,
        "{}: nothing to replay",
        fx.name
    );
    Some(Crashed {
        bytes,
        block_size: bs,
        log,
    })
}

/// The crashed image with its log damaged for `seed`: one to three
/// changes to the journal superblock, descriptor, commit and revoke blocks
/// (headers, tags, checksums, sequence numbers) or logged blocks.
fn damage_log(c: &Crashed, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed ^ 0x7B2D_0000);
    let mut img = c.bytes.clone();
    let bs = c.block_size;
    for _ in 0..1 + rng.below(3) {
        let want = [
            LogBlock::Superblock,
            LogBlock::Descriptor,
            LogBlock::Commit,
            LogBlock::Revoke,
            LogBlock::Data,
        ][rng.below(5) as usize];
        let of_kind: Vec<u64> = c
            .log
            .iter()
            .filter(|(_, k)| *k == want)
            .map(|(o, _)| *o)
            .collect();
        let base = match of_kind.len() {
            0 => c.log[rng.below(c.log.len() as u64) as usize].0,
            n => of_kind[rng.below(n as u64) as usize],
        } as usize;
        let blk = &mut img[base..base + bs as usize];
        let field = |rng: &mut Rng, at: usize, blk: &[u8]| -> u32 {
            let cur = u32::from_be_bytes(blk[at..at + 4].try_into().unwrap());
            match rng.below(8) {
                0 => 0,
                1 => 1,
                2 => u32::MAX,
                3 => 0x7FFF_FFFF,
                4 => cur.wrapping_add(1),
                5 => cur.wrapping_sub(1),
                6 => rng.below(4096) as u32,
                _ => rng.next() as u32,
            }
        };
        match rng.below(5) {
            // A header field (the journal superblock's are in its first
            // 0x60 bytes; a descriptor's first tags follow its header).
            0 | 1 => {
                let at = rng.below(24) as usize * 4;
                let v = field(&mut rng, at, blk);
                blk[at..at + 4].copy_from_slice(&v.to_be_bytes());
            }
            2 => {
                let at = rng.below(bs) as usize;
                blk[at] ^= 1 << rng.below(8);
            }
            // Torn: zero from a point on (the checksum tail goes first).
            3 => {
                let from = (bs - 1 - rng.below(bs.min(256))) as usize & !3;
                blk[from..].fill(0);
            }
            _ => {
                let at = rng.below(bs / 4) as usize * 4;
                let v = field(&mut rng, at, blk);
                blk[at..at + 4].copy_from_slice(&v.to_be_bytes());
            }
        }
    }
    img
}

#[test]
fn damaged_journals_replay_or_refuse() {
    let tmp = tempfile::tempdir().unwrap();
    let fxs = fixtures(tmp.path());
    let crashed: Vec<Option<Crashed>> =
        fxs.iter().map(|fx| crashed_image(fx, tmp.path())).collect();
    // The undamaged log replays and the result is clean.
    for (fx, c) in fxs.iter().zip(&crashed) {
        if let Some(c) = c {
            let case = Case::new(&tmp.path().join("case-sound"), &c.bytes);
            if let Err(e) = serve_and_check(&case, 1) {
                panic!("{}: the undamaged crashed image: {e}", fx.name);
            }
        }
    }
    run_kind(
        "journal",
        tmp.path(),
        &fxs,
        seeds(30),
        &[],
        |f, _, seed, _| crashed[f].as_ref().map(|c| damage_log(c, seed)),
        serve_and_check,
    );
}

/// The baseline: the workload on the undamaged fixtures meets no damage
/// and leaves images e2fsck finds clean without any repair.
#[test]
fn workload_on_sound_images_is_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let fxs = fixtures(tmp.path());
    for (f, fx) in fxs.iter().enumerate() {
        for i in 0..seeds(3) {
            let seed = seed_of(f, i);
            let case = Case::new(&tmp.path().join("case-sound"), &fx.pristine);
            let log = IoLog::new();
            let (img, l) = (case.img.clone(), Arc::clone(&log));
            let seen = bounded(SEED_TIMEOUT, move || {
                serve(&img, seed, OnError::Continue, l)
            })
            .unwrap_or_else(|e| panic!("{} seed {seed:#x}: {e}", fx.name));
            assert!(
                seen.refused.is_none() && seen.damage == 0,
                "{} seed {seed:#x}: {seen:?}",
                fx.name
            );
            case.check_bounds(Some(&log)).unwrap();
            let out = Command::new("e2fsck")
                .arg("-fn")
                .arg(&case.img)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{} seed {seed:#x}: e2fsck -fn after the workload:\n{}",
                fx.name,
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
}

// ------------------------------------------------------------ regressions

/// Damaged orphan lists found by the orphan seeds (a garbage next link,
/// the root as the head, a free inode on the list): the mount used to be
/// refused ("corrupt orphan list: bad inode ...", "inode bitmap: bit N
/// freed while free"). As the kernel, the mount goes on: the orphans
/// before the damage are freed, the damage is recorded in the
/// superblock, the rest of the list is dropped; fsck repairs the rest.
#[test]
fn damaged_orphan_list_is_recorded_not_refused() {
    common::require(TOOLS);
    for (label, script) in [
        // a: an orphan whose next link is garbage (seed 0x0 of ext4-csum).
        (
            "garbage next",
            "unlink /a\nsif <12> links_count 0\nsif <12> dtime 3757472749\nssv last_orphan 12\n",
        ),
        // The root as the head (seed 0x100000005 of ext4-nocsum).
        ("root head", "ssv last_orphan 2\n"),
        // An orphan, then a free inode (seed 0x2 of ext4-csum).
        (
            "free inode",
            "unlink /b\nsif <13> links_count 0\nsif <13> dtime 4000\nsif <4000> dtime 0\nssv last_orphan 13\n",
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let img = tmp.path().join("img");
        run_mkfs(&img);
        let fs = common::mount_rw(&img);
        for name in ["a", "b"] {
            let i = fs
                .make_node(InodeNo::ROOT, name.as_bytes(), &root_node(0o100644))
                .unwrap();
            fs.write(i.ino, 0, &[7u8; 5000], 0).unwrap();
        }
        fs.unmount_clean().unwrap();
        drop(fs);
        debugfs(&img, script, true);

        let fs = Fs::open(
            &img,
            &FsOptions {
                writable: true,
                ..Default::default()
            },
        )
        .unwrap();
        if let Err(e) = fs.mount_rw() {
            panic!("{label}: the mount was refused: {e}");
        }
        let sb = fs.live_superblock();
        assert_eq!(sb.last_orphan, 0, "{label}: the list is dropped");
        assert!(sb.error_count > 0, "{label}: the damage is recorded");
        if label != "root head" {
            // The orphan before the damage was freed.
            assert!(
                fs.live_inode(InodeNo(12 + (label == "free inode") as u32), None)
                    .is_err(),
                "{label}: the first orphan is freed"
            );
        }
        fs.unmount_clean().unwrap();
        drop(fs);
        let case = Case {
            len: fs::metadata(&img).unwrap().len(),
            img,
        };
        assert_eq!(case.check_repairable().unwrap(), Repair::Clean, "{label}");
    }
}

fn run_mkfs(img: &Path) {
    hostile_images::run(
        Command::new("mkfs.ext4")
            .args(["-q", "-F"])
            .arg(img)
            .arg("16M"),
    );
}

// ------------------------------------------------------------ real mounts

/// The workload through a real mount: python3 in the mountpoint, seeded,
/// every OSError counted (EIO is what damage should give).
const MOUNT_WORKLOAD: &str = r#"
import os, random, sys, errno, collections
rng = random.Random(int(sys.argv[1]))
errs = collections.Counter()
def names(d):
    try:
        return [os.path.join(d, n) for n in os.listdir(d)][:300]
    except OSError as e:
        errs[errno.errorcode.get(e.errno, e.errno)] += 1
        return []
dirs, files, held = ['.', 'a', 'a/b', 'a/b/c', 'h'], ['small', 'a/big', 'frag', 'a/b/c/deep'], []
for i in range(80):
    op = rng.randrange(14)
    d = rng.choice(dirs)
    new = os.path.join(d, 'n%d' % rng.randrange(40))
    try:
        if op < 2:
            with open(new, 'wb') as f:
                f.write(b'x' * rng.randrange(20000))
            files.append(new)
        elif op == 2:
            os.mkdir(new); dirs.append(new)
        elif op < 5:
            with open(rng.choice(files), 'r+b') as f:
                f.seek(rng.randrange(400000)); f.write(b'y' * rng.randrange(1, 20000))
        elif op == 5:
            os.truncate(rng.choice(files), rng.randrange(400000))
        elif op == 6:
            fd = os.open(rng.choice(files), os.O_RDWR)
            try:
                os.posix_fallocate(fd, rng.randrange(400000), rng.randrange(1, 100000))
            finally:
                os.close(fd)
        elif op == 7:
            c = names(d)
            if c: os.rename(rng.choice(c), os.path.join(rng.choice(dirs), 'r%d' % rng.randrange(40)))
        elif op == 8:
            c = names(d)
            if c:
                p = rng.choice(c)
                os.rmdir(p) if os.path.isdir(p) else os.unlink(p)
        elif op == 9:
            os.setxattr(rng.choice(files + dirs), 'user.k%d' % rng.randrange(4), b'v' * rng.choice([5, 100, 1500, 3000]))
        elif op == 10:
            for p in names(d):
                os.lstat(p)
        elif op == 11:
            with open(rng.choice(files), 'rb') as f:
                f.seek(rng.randrange(400000)); f.read(65536)
        elif op == 12:
            f = open(new, 'wb'); f.write(b'z' * 9000); f.flush(); os.unlink(new); held.append(f)
        else:
            fd = os.open(d, os.O_TMPFILE | os.O_RDWR, 0o600); os.write(fd, b't' * 3000); held.append(os.fdopen(fd, 'wb'))
    except OSError as e:
        errs[errno.errorcode.get(e.errno, e.errno)] += 1
for f in held:
    try:
        f.close()
    except OSError as e:
        errs[errno.errorcode.get(e.errno, e.errno)] += 1
print(dict(errs))
"#;

fn mounted(mnt: &Path) -> bool {
    let m = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let want = mnt.to_str().unwrap();
    m.lines().any(|l| l.split(' ').nth(4) == Some(want))
}

/// Mounts the case's image with the fuse4fs binary, runs the python
/// workload in it, unmounts; the server must not log a caught panic
/// (the request guard's "handler panicked") and must exit by itself.
fn serve_mounted(case: &Case, seed: u64) -> Result<Seen, Failure> {
    let dir = case.img.parent().unwrap().parent().unwrap();
    let mnt = dir.join("mnt");
    let _ = fs::create_dir(&mnt);
    // Beside the case's directory: nothing but the image and the
    // sentinel may be in it.
    let log_path = dir.join("server.log");
    let mut server = Command::new(env!("CARGO_BIN_EXE_fuse4fs"))
        .args(["-f", "-o", "rw"])
        .arg(&case.img)
        .arg(&mnt)
        .env("FUSE4FS_LOG", "info")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let t = Instant::now();
    let mut refused = None;
    while !mounted(&mnt) {
        if let Some(st) = server.try_wait().unwrap() {
            refused = Some(format!("fuse4fs exited with {st} before mounting"));
            break;
        }
        if t.elapsed() > Duration::from_secs(20) {
            let _ = server.kill();
            return Err(Failure::Hang);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut workload_hung = false;
    let mut eio = 0;
    if refused.is_none() {
        let mut py = Command::new("python3")
            .arg("-c")
            .arg(MOUNT_WORKLOAD)
            .arg(seed.to_string())
            .current_dir(&mnt)
            .stdout(fs::File::create(dir.join("workload.out")).unwrap())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 (scripts/install-deps installs it)");
        if common::wait_child(&mut py, SEED_TIMEOUT).is_none() {
            workload_hung = true;
            let _ = py.kill();
        }
        let um = Command::new("umount").arg(&mnt).status().unwrap();
        if !um.success() {
            let _ = Command::new("umount").arg("-l").arg(&mnt).status();
        }
        let _ = py.wait();
        let out = fs::read_to_string(dir.join("workload.out")).unwrap_or_default();
        eio = out.contains("'EIO'") as usize;
    }
    let exited = common::wait_child(&mut server, Duration::from_secs(30));
    if exited.is_none() {
        let _ = server.kill();
        let _ = server.wait();
    }
    let log = fs::read_to_string(&log_path).unwrap_or_default();
    if log.contains("panicked") {
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("panicked"))
            .take(5)
            .collect();
        return Err(Failure::Panic(format!("server log: {}", lines.join(" | "))));
    }
    if workload_hung {
        return Err(Failure::Bad(format!(
            "the workload through the mount did not end within {SEED_TIMEOUT:?}"
        )));
    }
    if exited.is_none() {
        return Err(Failure::Bad(
            "the server did not exit within 30 s of the unmount".into(),
        ));
    }
    case.check_bounds(None)?;
    let repair = case.check_repairable()?;
    Ok(Seen {
        refused,
        damage: eio,
        repair: Some(repair),
        ..Seen::default()
    })
}

#[test]
fn damaged_images_through_a_real_mount() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(unsafe { libc::geteuid() }, 0, "mounting needs root");
    assert!(Path::new("/dev/fuse").exists(), "no /dev/fuse");
    run_damaged("mount", 4, 0x3007_0000_0000, serve_mounted);
}

/// A block bitmap that says fixed metadata is free (a damaged log
/// replayed: seed journal ext4-nocsum 0x10000007e, where the root's new
/// xattr block landed on a reserved GDT block): the allocator must still
/// never hand those blocks out.
#[test]
fn allocation_skips_metadata_a_damaged_bitmap_calls_free() {
    common::require(TOOLS);
    let tmp = tempfile::tempdir().unwrap();
    let img = tmp.path().join("img");
    run_mkfs(&img);
    // Group 0: superblock 1, descriptors 2, reserved GDT blocks 3-129,
    // bitmaps 130 and 132, inode table 134-645 (mkfs 1.47, 16 MiB).
    debugfs(
        &img,
        "freeb 1 129\nfreeb 130\nfreeb 132\nfreeb 134 512\n",
        true,
    );
    let fs = common::mount_rw(&img);
    for i in 0..8 {
        let f = fs
            .make_node(
                InodeNo::ROOT,
                format!("f{i}").as_bytes(),
                &root_node(0o100644),
            )
            .unwrap();
        fs.write(f.ino, 0, &vec![i as u8; 100_000], 0).unwrap();
        fs.setxattr(f.ino, b"user.big", &[b'v'; 600], SetMode::Any, false)
            .unwrap();
    }
    fs.unmount_clean().unwrap();
    drop(fs);
    let (_, text) = common::fsck(&img);
    assert!(
        !text.contains("multiply-claimed") && !text.contains("Multiply-claimed"),
        "blocks allocated on metadata:\n{text}"
    );
    assert!(text.contains("Block bitmap differences"), "{text}");
}

/// An extent that points at fixed metadata (the group descriptors): a
/// write through it must fail as damage, not overwrite them. Block-mapped
/// files had this check; extent-mapped ones did not.
#[test]
fn data_write_through_a_damaged_extent_spares_metadata() {
    common::require(TOOLS);
    let tmp = tempfile::tempdir().unwrap();
    let img = tmp.path().join("img");
    run_mkfs(&img);
    let fs = common::mount_rw(&img);
    let f = fs
        .make_node(InodeNo::ROOT, b"f", &root_node(0o100644))
        .unwrap();
    fs.write(f.ino, 0, &[1u8; 1024], 0).unwrap();
    fs.unmount_clean().unwrap();
    drop(fs);
    // The file's one extent now starts at block 2, the descriptors (1 KiB
    // blocks: the superblock is block 1).
    debugfs(&img, "sif /f block[5] 2\n", true);
    let gdt_before = fs::read(&img).unwrap()[2048..3072].to_vec();
    let fs = common::mount_rw(&img);
    let r = fs.write(f.ino, 0, &[0xEEu8; 1024], 0);
    assert!(
        r.as_ref().is_err_and(|e| e.is_corruption()),
        "a write through an extent on the descriptors: {r:?}"
    );
    fs.unmount_clean().unwrap();
    drop(fs);
    assert_eq!(
        fs::read(&img).unwrap()[2048..3072],
        gdt_before[..],
        "the group descriptors were overwritten"
    );
}

/// A data write that runs from one group into the next, which has no
/// superblock backup (so no base metadata): the metadata check must not
/// see metadata there (an empty run of the group's base metadata used to
/// count as overlapping; xtest rw/003 with 1 KiB blocks got EIO).
#[test]
fn data_writes_across_group_boundaries() {
    common::require(TOOLS);
    let tmp = tempfile::tempdir().unwrap();
    let img = tmp.path().join("img");
    hostile_images::run(
        Command::new("mkfs.ext4")
            .args(["-q", "-F", "-b", "1024"])
            .arg(&img)
            .arg("64M"),
    );
    let fs = common::mount_rw(&img);
    let f = fs
        .make_node(InodeNo::ROOT, b"f", &root_node(0o100644))
        .unwrap();
    let chunk = vec![0x5Au8; 1 << 20];
    for i in 0..24u64 {
        if let Err(e) = fs.write(f.ino, i << 20, &chunk, 0) {
            panic!("write of MiB {i}: {e}");
        }
    }
    fs.unmount_clean().unwrap();
    drop(fs);
    common::assert_fsck_clean(&img);
}
