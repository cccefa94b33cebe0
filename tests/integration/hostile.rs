//! Seeded corruption of metadata never makes `Fs` panic or hang.
//!
//! Three small images are built from one tree with `mkfs.ext4 -d` and
//! indexed with `e2fsck -fyD` (a 2000-entry htree directory, a file with an
//! extent tree or indirect blocks, symlinks, in-inode and block xattrs):
//! ext4 with metadata_csum, ext4 without it (so that structural damage is
//! not caught by checksums first) and block-mapped ext2 with 1 KiB blocks.
//! The metadata areas (superblock, group descriptors, the used inodes,
//! directory blocks, extent/indirect blocks, xattr blocks) are located with
//! debugfs on the pristine image.
//!
//! Each iteration overwrites a few bytes in those areas (seeded), opens the
//! image and walks the whole tree: readdir, lookup of every name, getattr,
//! full reads, readlink, listxattr/getxattr, SEEK_DATA/SEEK_HOLE, statfs.
//! Errors are fine; a panic fails the test naming the seed, and so does a
//! walk that takes more than 5 s (a hang).  The walk is capped (100k
//! entries, depth 64, 64 MiB per file, each inode visited once) so hostile
//! sizes or directory loops cannot make it slow.
//!
//! 300 iterations by default; `FUSE4FS_FUZZ_ITERS=N` runs N instead, and
//! `FUSE4FS_FUZZ_SAVE=DIR` keeps the image of a failing seed in DIR.
//! Fails when mkfs.ext4, e2fsck or debugfs is missing.

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::FileExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fuse4fs::ext4::InodeNo;
use fuse4fs::ext4::inode::Inode;
use fuse4fs::fs::file::SeekWhat;
use fuse4fs::fs::{Fs, FsOptions};

use crate::hostile_images::{
    Fixture, build_tree, corrupt, debugfs, make_fixture, panic_message, run, seed_of, write_copy,
};

const WALK_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_ENTRIES: usize = 100_000;
const MAX_DEPTH: usize = 64;
const MAX_READ: u64 = 64 << 20;
const READ_CHUNK: usize = 1 << 20;
const DEFAULT_ITERS: u64 = 300;

/// Seeds that failed once, run on every test run: (fixture, iteration).
/// (2, 0x53): i_size_high of the ext2 directory /a/b set, so readdir
/// stepped through a 168 TB hole one block at a time (a hang).
const REGRESSION_SEEDS: &[(usize, u64)] = &[(2, 0x53)];

/// What the walk saw; only for the summary (and to check that the pristine
/// image walks completely).
#[derive(Debug, Default, Clone, Copy)]
struct WalkStats {
    entries: usize,
    /// Errors that report damage (not ENOENT, ENXIO, ENODATA...).
    errors: usize,
    bytes: u64,
}

struct Walker<'a> {
    fs: &'a Fs,
    visited: HashSet<u32>,
    stats: WalkStats,
}

impl Walker<'_> {
    fn note<T>(&mut self, r: fuse4fs::fs::Result<T>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                // Format the error: its Display must not panic either.
                let _ = e.to_string();
                let _ = e.errno();
                if e.is_corruption() {
                    self.stats.errors += 1;
                }
                None
            }
        }
    }

    /// Visits inode `ino` (once): attributes, contents, xattrs, and for a
    /// directory its entries.
    fn visit(&mut self, ino: InodeNo, depth: usize) {
        if self.stats.entries >= MAX_ENTRIES || !self.visited.insert(ino.0) {
            return;
        }
        let Some(inode) = self.note(self.fs.inode(ino)) else {
            return;
        };
        if let Some(names) = self.note(self.fs.listxattr(&inode)) {
            for name in names {
                let name = name.strip_suffix(b"\0").unwrap_or(&name).to_vec();
                let r = self.fs.getxattr(&inode, &name);
                self.note(r);
            }
        }
        if inode.is_reg() {
            self.read_all(&inode);
            for what in [SeekWhat::Data, SeekWhat::Hole] {
                let r = self.fs.seek(&inode, 0, what);
                self.note(r);
            }
        } else if inode.is_symlink() {
            let r = self.fs.readlink(&inode);
            self.note(r);
        } else if inode.is_dir() && depth < MAX_DEPTH {
            self.walk_dir(&inode, depth);
        }
    }

    fn read_all(&mut self, inode: &Inode) {
        let end = inode.size.min(MAX_READ);
        let mut off = 0;
        while off < end {
            let Some(data) = self.note(self.fs.read(inode, off, READ_CHUNK)) else {
                return;
            };
            if data.is_empty() {
                return;
            }
            assert!(data.len() <= READ_CHUNK, "read returned more than asked");
            off += data.len() as u64;
            self.stats.bytes += data.len() as u64;
        }
    }

    fn walk_dir(&mut self, dir: &Inode, depth: usize) {
        let mut names: Vec<Vec<u8>> = Vec::new();
        let budget = MAX_ENTRIES.saturating_sub(self.stats.entries);
        let r = self.fs.readdir(dir, 0, |e| {
            names.push(e.name.to_vec());
            names.len() < budget
        });
        self.note(r);
        // Resuming from a cookie in the middle must work too.
        if names.len() > 3 {
            let mut first_next = None;
            let r = self.fs.readdir(dir, 0, |e| {
                first_next = Some(e.next);
                false
            });
            self.note(r);
            if let Some(c) = first_next {
                let r = self.fs.readdir(dir, c, |_| false);
                self.note(r);
            }
        }
        let r = self.fs.parent_of(dir);
        self.note(r);
        for name in names {
            self.stats.entries += 1;
            if self.stats.entries >= MAX_ENTRIES {
                return;
            }
            if name == b"." || name == b".." {
                continue;
            }
            if let Some(found) = self.note(self.fs.lookup(dir, &name)) {
                self.visit(found.ino, depth + 1);
            }
        }
    }
}

/// Opens `img` and walks everything reachable from the root.
fn walk_image(img: &Path) -> WalkStats {
    let fs = match Fs::open(img, &FsOptions::default()) {
        Ok(fs) => fs,
        Err(e) => {
            let _ = e.to_string();
            return WalkStats {
                errors: 1,
                ..WalkStats::default()
            };
        }
    };
    let _ = fs.stats();
    let mut w = Walker {
        fs: &fs,
        visited: HashSet::new(),
        stats: WalkStats::default(),
    };
    w.visit(InodeNo::ROOT, 0);
    w.stats
}

/// Why an iteration failed.
#[derive(Debug)]
enum Failure {
    Panic(String),
    Hang,
}

/// Walks `img` on a thread: the walk must end within [`WALK_TIMEOUT`]
/// and must not panic.
fn walk_guarded(img: &Path) -> Result<WalkStats, Failure> {
    let (tx, rx) = mpsc::channel();
    let img = img.to_path_buf();
    std::thread::spawn(move || {
        let r = catch_unwind(AssertUnwindSafe(|| walk_image(&img)));
        let _ = tx.send(r.map_err(|p| panic_message(&*p)));
    });
    match rx.recv_timeout(WALK_TIMEOUT) {
        Ok(Ok(stats)) => Ok(stats),
        Ok(Err(msg)) => Err(Failure::Panic(msg)),
        Err(_) => Err(Failure::Hang),
    }
}

// ------------------------------------------------------------ fixtures

fn iterations() -> u64 {
    std::env::var("FUSE4FS_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ITERS)
}

/// Builds the three fixtures in `dir`.
fn fixtures(dir: &Path) -> Vec<Fixture> {
    fuse4fs_testkit::e2fs::require(&["mkfs.ext4", "e2fsck", "debugfs"]);
    let src = dir.join("src");
    fs::create_dir(&src).unwrap();
    build_tree(&src);
    let fxs = vec![
        make_fixture("ext4-csum", dir, &src, &[], "8M"),
        make_fixture("ext4-nocsum", dir, &src, &["-O", "^metadata_csum"], "8M"),
        make_fixture("ext2-1k", dir, &src, &["-t", "ext2", "-b", "1024"], "8M"),
    ];
    for fx in &fxs {
        let stats = walk_image(&dir.join(format!("{}.img", fx.name)));
        assert_eq!(
            stats.errors, 0,
            "{}: pristine image walk had errors",
            fx.name
        );
    }
    fxs
}

/// Runs the given seeds; returns the failures as readable lines.
fn run_seeds(dir: &Path, fxs: &[Fixture], seeds: &[(usize, u64)]) -> Vec<String> {
    let mut failures = Vec::new();
    let (mut damaged, mut refused) = (0, 0);
    let work: Vec<PathBuf> = fxs
        .iter()
        .map(|fx| {
            let p = dir.join(format!("{}.work.img", fx.name));
            write_copy(&fx.pristine, &p);
            p
        })
        .collect();
    for &(f, i) in seeds {
        let fx = &fxs[f];
        let seed = seed_of(f, i);
        let file = fs::OpenOptions::new().write(true).open(&work[f]).unwrap();
        let touched = corrupt(fx, &file, seed);
        let t = Instant::now();
        let r = walk_guarded(&work[f]);
        if let (Err(_), Ok(keep)) = (&r, std::env::var("FUSE4FS_FUZZ_SAVE")) {
            let to = Path::new(&keep).join(format!("{}-{seed:#x}.img", fx.name));
            fs::copy(&work[f], &to).unwrap();
            eprintln!("saved the failing image as {}", to.display());
        }
        match r {
            Ok(st) => {
                damaged += (st.errors > 0) as usize;
                refused += (st.entries == 0) as usize;
            }
            Err(Failure::Panic(msg)) => {
                failures.push(format!("{}: seed {seed:#x}: panic: {msg}", fx.name))
            }
            Err(Failure::Hang) => {
                // The walk thread still uses the work image: stop here.
                failures.push(format!(
                    "{}: seed {seed:#x}: walk still running after {:?} (hang)",
                    fx.name,
                    t.elapsed()
                ));
                return failures;
            }
        }
        for (off, len) in touched {
            let o = off as usize;
            file.write_all_at(&fx.pristine[o..o + len], off).unwrap();
        }
    }
    eprintln!(
        "{} seeds: {damaged} walks saw damage, {refused} stopped at open or at the root",
        seeds.len()
    );
    failures
}

#[test]
fn seeded_corruption_never_panics_or_hangs() {
    let tmp = tempfile::tempdir().unwrap();
    let fxs = fixtures(tmp.path());
    let total = iterations();
    let mut seeds: Vec<(usize, u64)> = REGRESSION_SEEDS.to_vec();
    seeds.extend((0..total).map(|k| ((k % fxs.len() as u64) as usize, k / fxs.len() as u64)));
    let t = Instant::now();
    let failures = run_seeds(tmp.path(), &fxs, &seeds);
    eprintln!("{total} iterations in {:?}", t.elapsed());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// SEEK_DATA/SEEK_HOLE and a read at the end of block-mapped files whose
/// i_size says 160 GiB, and readdir of a directory likewise: each must
/// answer quickly (they used to step through the hole one block at a time).
#[test]
fn huge_hole_in_block_mapped_file_is_quick() {
    let tmp = tempfile::tempdir().unwrap();
    fuse4fs_testkit::e2fs::require(&["mkfs.ext4", "debugfs"]);
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("empty"), b"").unwrap();
    fs::create_dir(src.join("dir")).unwrap();
    fs::write(src.join("dir/inside"), b"x").unwrap();
    let data: Vec<u8> = (0..20_000u32).map(|i| i as u8).collect();
    fs::write(src.join("some"), &data).unwrap();
    let img = tmp.path().join("ext2.img");
    run(Command::new("mkfs.ext4")
        .args(["-q", "-F", "-t", "ext2", "-b", "1024", "-d"])
        .arg(&src)
        .arg(&img)
        .arg("4M"));
    let huge = 160u64 << 30;
    // Directories keep only the low 32 bits of i_size (without large_dir),
    // as the kernel's ext4_isize: inflate within those.
    const DIR_SIZE: u64 = 0xFFFF_F000;
    debugfs(
        &img,
        &format!("sif /empty size {huge}\nsif /some size {huge}\nsif /dir size {DIR_SIZE}\n"),
        true,
    );
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let fs = Fs::open(&img, &FsOptions::default()).unwrap();
        let root = fs.inode(InodeNo::ROOT).unwrap();
        let mut got = Vec::new();
        for name in [&b"empty"[..], b"some"] {
            let inode = fs.inode(fs.lookup(&root, name).unwrap().ino).unwrap();
            assert_eq!(inode.size, huge);
            got.push(fs.seek(&inode, 0, SeekWhat::Data).ok());
            got.push(fs.seek(&inode, 0, SeekWhat::Hole).ok());
            got.push(fs.seek(&inode, 30_000, SeekWhat::Data).ok());
            let tail = fs.read(&inode, huge - 10, 100).unwrap();
            assert_eq!(tail, vec![0; 10]);
            let head = fs.read(&inode, 0, 20_000).unwrap();
            assert!(head == data || head == vec![0; 20_000]);
        }
        let dir = fs.inode(fs.lookup(&root, b"dir").unwrap().ino).unwrap();
        assert_eq!(dir.size, DIR_SIZE);
        let mut names = Vec::new();
        fs.readdir(&dir, 0, |e| {
            names.push(e.name.to_vec());
            true
        })
        .unwrap();
        assert_eq!(names, [&b"."[..], b"..", b"inside"]);
        tx.send(got).unwrap();
    });
    let got = rx
        .recv_timeout(WALK_TIMEOUT)
        .expect("seek/read over a 160 GiB hole did not finish in 5 s");
    assert_eq!(
        got,
        vec![
            None,
            Some(0),
            None,
            Some(0),
            // The 20000 bytes fill blocks 0..19 (1 KiB blocks).
            Some(20 * 1024),
            None
        ]
    );
}
