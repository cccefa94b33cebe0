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
//! Skipped (with a message) when mkfs.ext4, e2fsck or debugfs is missing.

use std::collections::HashSet;
use std::fs;
use std::io::Write;
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

const WALK_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_ENTRIES: usize = 100_000;
const MAX_DEPTH: usize = 64;
const MAX_READ: u64 = 64 << 20;
const READ_CHUNK: usize = 1 << 20;
const DEFAULT_ITERS: u64 = 300;
const FIXED_UUID: &str = "0f5e4d3c-2b1a-4098-8776-655443322110";

/// Seeds that failed once, run on every test run: (fixture, iteration).
/// (2, 0x53): i_size_high of the ext2 directory /a/b set, so readdir
/// stepped through a 168 TB hole one block at a time (a hang).
const REGRESSION_SEEDS: &[(usize, u64)] = &[(2, 0x53)];

/// splitmix64: small, seedable, good enough to pick offsets.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

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
        let _ = tx.send(r.map_err(|p| {
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "non-string panic".into())
        }));
    });
    match rx.recv_timeout(WALK_TIMEOUT) {
        Ok(Ok(stats)) => Ok(stats),
        Ok(Err(msg)) => Err(Failure::Panic(msg)),
        Err(_) => Err(Failure::Hang),
    }
}

// ------------------------------------------------------------ fixtures

fn have(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success() || !o.stderr.is_empty())
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs debugfs commands (read-only unless `write`) on `img`.
fn debugfs(img: &Path, cmds: &str, write: bool) -> String {
    let dir = img.parent().unwrap();
    let cmdfile = dir.join("debugfs.cmd");
    fs::write(&cmdfile, cmds).unwrap();
    let mut c = Command::new("debugfs");
    if write {
        c.arg("-w");
    }
    run(c.arg("-f").arg(&cmdfile).arg(img))
}

fn build_tree(root: &Path) {
    fs::create_dir_all(root.join("a/b/c")).unwrap();
    fs::create_dir(root.join("h")).unwrap();
    for i in 0..2000 {
        let p = root.join(format!("h/entry-with-a-longer-name-{i:05}"));
        fs::write(p, if i % 100 == 0 { vec![b'x'; i] } else { vec![] }).unwrap();
    }
    fs::write(root.join("small"), b"hello\n").unwrap();
    fs::write(root.join("a/b/c/deep"), vec![7u8; 5000]).unwrap();
    let big: Vec<u8> = (0..300_000u32).map(|i| ((i * 31) >> 3) as u8).collect();
    fs::write(root.join("a/big"), big).unwrap();
    // Islands of data between holes: an extent tree (ext4) or indirect
    // blocks with holes (ext2).
    let f = fs::File::create(root.join("frag")).unwrap();
    for i in 0..12u64 {
        f.write_all_at(&[i as u8 + 1; 4096], i * 65536).unwrap();
    }
    drop(f);
    std::os::unix::fs::symlink("small", root.join("fast")).unwrap();
    std::os::unix::fs::symlink("a/".repeat(40) + "target", root.join("a/slow")).unwrap();
    fs::hard_link(root.join("small"), root.join("a/b/hard")).unwrap();
}

/// Byte ranges of metadata in an image.
struct Fixture {
    name: &'static str,
    pristine: Vec<u8>,
    regions: Vec<(u64, u64)>,
}

fn number_after(s: &str, key: &str) -> Option<u64> {
    let rest = &s[s.find(key)? + key.len()..];
    let end = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let t = &rest[..end];
    match t.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => t.parse().ok(),
    }
}

/// Every "(TAG):N" in debugfs stat output for the tree-block tags.
fn tree_blocks(stat: &str) -> Vec<u64> {
    let mut out = Vec::new();
    for tok in stat.split(|c: char| c.is_whitespace() || c == ',') {
        let Some((tag, n)) = tok.split_once("):") else {
            continue;
        };
        let tag = tag.trim_start_matches('(');
        let is_tree = tag.starts_with("ETB") || tag == "IND" || tag == "DIND" || tag == "TIND";
        if let (true, Ok(n)) = (is_tree, n.parse::<u64>()) {
            out.push(n);
        }
    }
    out
}

fn make_fixture(name: &'static str, dir: &Path, src: &Path, mkfs_args: &[&str]) -> Fixture {
    let img = dir.join(format!("{name}.img"));
    // Fixed UUID and hash seed: the same seed damages the same bytes of
    // the same layout on every run.
    run(Command::new("mkfs.ext4")
        .args(["-q", "-F", "-U", FIXED_UUID, "-E"])
        .arg(format!("hash_seed={FIXED_UUID}"))
        .args(mkfs_args)
        .arg("-d")
        .arg(src)
        .arg(&img)
        .arg("8M"));
    // -D indexes the directories; exit status 1 means "changed".
    let st = Command::new("e2fsck")
        .arg("-fyD")
        .arg(&img)
        .output()
        .unwrap()
        .status;
    assert!(matches!(st.code(), Some(0 | 1)), "e2fsck -fyD {name}: {st}");
    // Xattrs: one in the inode, one too big for it (an xattr block).
    let value = dir.join("xattr-value");
    fs::write(&value, vec![b'v'; 1500]).unwrap();
    debugfs(
        &img,
        &format!(
            "ea_set /small user.small tiny\nea_set -f {} /a/big user.big\nea_set /h user.dir dirattr\n",
            value.display()
        ),
        true,
    );
    let dump = debugfs(&img, "htree_dump /h\n", false);
    assert!(dump.contains("Root node dump"), "{name}: /h has no htree");

    // Walk the pristine image with our own reader to list the inodes.
    let fs = Fs::open(&img, &FsOptions::default()).unwrap();
    let bs = fs.block_size() as u64;
    let sb = fs.superblock().clone();
    let mut inodes = Vec::new();
    let mut dirs = Vec::new();
    let mut stack = vec![InodeNo::ROOT];
    let mut seen = HashSet::new();
    while let Some(ino) = stack.pop() {
        if !seen.insert(ino.0) {
            continue;
        }
        let inode = fs.inode(ino).unwrap();
        inodes.push(ino.0);
        if inode.is_dir() {
            dirs.push(ino.0);
            fs.readdir(&inode, 0, |e| {
                if e.name != b"." && e.name != b".." {
                    stack.push(InodeNo(e.ino));
                }
                true
            })
            .unwrap();
        }
    }
    assert!(inodes.len() > 2000, "{name}: walked {}", inodes.len());
    let stats = walk_image(&img);
    assert_eq!(stats.errors, 0, "{name}: pristine image walk had errors");

    let mut regions = vec![(1024u64, 1024u64)];
    let gdt_first = sb.first_data_block as u64 + 1;
    let gdt_blocks = (sb.group_count() as u64 * sb.desc_size as u64).div_ceil(bs);
    for b in gdt_first..gdt_first + gdt_blocks {
        regions.push((b * bs, bs));
    }
    // Inode slots: the interesting ones (not the 2000 files of /h) each,
    // plus a sample of the rest.
    let mut cmds = String::new();
    let interesting: Vec<u32> = inodes
        .iter()
        .copied()
        .enumerate()
        .filter(|(i, ino)| *ino < 30 || dirs.contains(ino) || i % 50 == 0)
        .map(|(_, ino)| ino)
        .collect();
    for ino in &interesting {
        cmds.push_str(&format!("imap <{ino}>\nstat <{ino}>\n"));
    }
    for d in &dirs {
        cmds.push_str(&format!("blocks <{d}>\n"));
    }
    let out = debugfs(&img, &cmds, false);
    let isz = sb.inode_size as u64;
    let mut n_slots = 0;
    for part in out.split("is part of block group").skip(1) {
        let (Some(blk), Some(off)) = (
            number_after(part, "located at block "),
            number_after(part, "offset "),
        ) else {
            continue;
        };
        regions.push((blk * bs + off, isz));
        n_slots += 1;
    }
    assert_eq!(
        n_slots,
        interesting.len(),
        "{name}: imap output: {}",
        &out[..out.len().min(2000)]
    );
    for b in tree_blocks(&out) {
        regions.push((b * bs, bs));
    }
    for line in out.lines() {
        if let Some(b) = number_after(line, "File ACL: ").filter(|&b| b != 0) {
            regions.push((b * bs, bs));
        }
        // "blocks <ino>" prints a line of block numbers.
        let nums: Vec<u64> = line
            .split_whitespace()
            .map_while(|t| t.parse().ok())
            .collect();
        if !nums.is_empty() && nums.len() == line.split_whitespace().count() {
            regions.extend(nums.into_iter().map(|b| (b * bs, bs)));
        }
    }
    regions.sort();
    regions.dedup();
    assert!(
        regions.len() > 20,
        "{name}: only {} metadata regions",
        regions.len()
    );
    eprintln!(
        "{name}: {} inodes, {} metadata regions",
        inodes.len(),
        regions.len()
    );
    Fixture {
        name,
        pristine: fs::read(&img).unwrap(),
        regions,
    }
}

/// Damages `img` (a copy of the pristine image) for `seed`; returns the
/// byte ranges written, to restore afterwards.
fn corrupt(fx: &Fixture, img: &fs::File, seed: u64) -> Vec<(u64, usize)> {
    let mut rng = Rng(seed);
    let mut touched = Vec::new();
    let n = 1 + rng.below(4);
    for _ in 0..n {
        let (start, len) = fx.regions[rng.below(fx.regions.len() as u64) as usize];
        let off = start + rng.below(len);
        let bytes: Vec<u8> = match rng.below(6) {
            // Flip one bit.
            0 => vec![fx.pristine[off as usize] ^ (1 << rng.below(8))],
            1 => vec![rng.next() as u8],
            2 => vec![0],
            3 => vec![0xFF],
            // A 32-bit field (aligned) set to something interesting.
            _ => {
                let v: u32 = match rng.below(6) {
                    0 => 0,
                    1 => 1,
                    2 => u32::MAX,
                    3 => 0x7FFF_FFFF,
                    4 => rng.below(64) as u32,
                    _ => rng.next() as u32,
                };
                let aligned = off & !3;
                if aligned + 4 > start + len {
                    vec![v as u8]
                } else {
                    touched.push((aligned, 4));
                    img.write_all_at(&v.to_le_bytes(), aligned).unwrap();
                    continue;
                }
            }
        };
        touched.push((off, bytes.len()));
        img.write_all_at(&bytes, off).unwrap();
    }
    touched
}

fn iterations() -> u64 {
    std::env::var("FUSE4FS_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ITERS)
}

/// Seed of iteration `i` on fixture number `f`.
fn seed_of(f: usize, i: u64) -> u64 {
    (f as u64) << 32 | i
}

/// Builds the three fixtures in `dir`; None when tools are missing.
fn fixtures(dir: &Path) -> Option<Vec<Fixture>> {
    for (cmd, arg) in [("mkfs.ext4", "-V"), ("e2fsck", "-V"), ("debugfs", "-V")] {
        if !have(cmd, arg) {
            fuse4fs_testkit::skip!("{cmd} not found");
            return None;
        }
    }
    let src = dir.join("src");
    fs::create_dir(&src).unwrap();
    build_tree(&src);
    Some(vec![
        make_fixture("ext4-csum", dir, &src, &[]),
        make_fixture("ext4-nocsum", dir, &src, &["-O", "^metadata_csum"]),
        make_fixture("ext2-1k", dir, &src, &["-t", "ext2", "-b", "1024"]),
    ])
}

/// Runs the given seeds; returns the failures as readable lines.
fn run_seeds(dir: &Path, fxs: &[Fixture], seeds: &[(usize, u64)]) -> Vec<String> {
    let mut failures = Vec::new();
    let (mut damaged, mut refused) = (0, 0);
    let work: Vec<PathBuf> = fxs
        .iter()
        .map(|fx| {
            let p = dir.join(format!("{}.work.img", fx.name));
            fs::File::create(&p)
                .unwrap()
                .write_all(&fx.pristine)
                .unwrap();
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
    let Some(fxs) = fixtures(tmp.path()) else {
        return;
    };
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
    if !have("mkfs.ext4", "-V") || !have("debugfs", "-V") {
        fuse4fs_testkit::skip!("mkfs.ext4 or debugfs not found");
        return;
    }
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
