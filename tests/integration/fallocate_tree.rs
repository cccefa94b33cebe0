//! fallocate (every mode), writes and truncates through `Fs` on sparse
//! files whose extent trees have depth 1 and 2: after each batch e2fsck
//! finds the image clean and fuse4fs reads back a byte model of the
//! file; at the end the kernel reads the same bytes.
//!
//! `FALLOCATE_TREE_SEEDS=N` (or `A..B`) runs those random seeds instead
//! of the three CI runs (0..700 ran clean); `CHECK_EVERY=N` and
//! `CHECK_FROM=I` check more often, to find the operation that breaks a
//! seed.

use std::path::{Path, PathBuf};

use fuse4fs::ext4::InodeNo;
use fuse4fs::fs::Fs;
use fuse4fs::fs::fallocate::{
    FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_INSERT_RANGE, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE,
    FALLOC_FL_ZERO_RANGE,
};
use fuse4fs::fs::setattr::Changes;

use crate::common::{fsck, mkfs, open_rw, require_kernel_mounts, run, umount_retrying};

/// The file every test works on (the first inode after lost+found).
const INO: InodeNo = InodeNo(12);

const ZERO_KEEP: u32 = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
const PUNCH: u32 = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;

const TOOLS: &[&str] = &["mkfs.ext4", "e2fsck", "debugfs", "mount", "umount"];

/// A file through `Fs` and what it must read as.
struct File {
    fs: Fs,
    img: PathBuf,
    /// The file's bytes (its length is i_size).
    model: Vec<u8>,
    /// What was done, for the failure message.
    log: Vec<String>,
}

impl File {
    /// A fresh 4 KiB-block image with one empty extent-mapped file `f`.
    fn new(dir: &Path, size: &str) -> File {
        let img = mkfs(dir, &["-b", "4096", "-O", "metadata_csum"], size);
        run(
            "debugfs",
            &["-w", "-R", "write /dev/null f", img.to_str().unwrap()],
        );
        File {
            fs: open_rw(&img),
            img,
            model: Vec::new(),
            log: Vec::new(),
        }
    }

    fn write(&mut self, off: u64, len: usize, byte: u8) {
        self.log.push(format!("write {off} {len}"));
        let data = vec![byte; len];
        self.fs.write(INO, off, &data, 0).unwrap();
        let end = off as usize + len;
        if self.model.len() < end {
            self.model.resize(end, 0);
        }
        self.model[off as usize..end].fill(byte);
    }

    fn fallocate(&mut self, mode: u32, off: u64, len: u64) {
        self.log.push(format!("fallocate {mode:#x} {off} {len}"));
        self.fs.fallocate(INO, off, len, mode).unwrap();
        let end = (off + len) as usize;
        if mode & FALLOC_FL_KEEP_SIZE == 0 && self.model.len() < end {
            self.model.resize(end, 0);
        }
        if mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE) != 0 {
            let end = end.min(self.model.len());
            if (off as usize) < end {
                self.model[off as usize..end].fill(0);
            }
        }
    }

    /// COLLAPSE_RANGE or INSERT_RANGE of whole blocks `[lblk, lblk +
    /// n)`, when the kernel's rules allow it (inside the file); else
    /// nothing.
    fn shift(&mut self, collapse: bool, lblk: u64, n: u64) {
        let (off, len) = (lblk * 4096, n * 4096);
        let size = self.model.len() as u64;
        if (collapse && off + len >= size) || (!collapse && off >= size) {
            return;
        }
        let mode = if collapse {
            FALLOC_FL_COLLAPSE_RANGE
        } else {
            FALLOC_FL_INSERT_RANGE
        };
        self.log.push(format!("fallocate {mode:#x} {off} {len}"));
        self.fs.fallocate(INO, off, len, mode).unwrap();
        let at = off as usize;
        if collapse {
            self.model.drain(at..at + len as usize);
        } else {
            self.model
                .splice(at..at, std::iter::repeat_n(0, len as usize));
        }
    }

    fn truncate(&mut self, size: u64) {
        self.log.push(format!("truncate {size}"));
        let c = Changes {
            size: Some(size),
            ..Default::default()
        };
        self.fs.setattr(INO, &c).unwrap();
        self.model.resize(size as usize, 0);
    }

    /// Depth of the committed tree.
    fn depth(&self) -> u16 {
        let b = self.fs.inode(INO).unwrap().block;
        u16::from_le_bytes([b[6], b[7]])
    }

    /// e2fsck clean (advice about narrower or shorter trees aside) and
    /// fuse4fs reads the model.
    fn check(&self, what: &str) {
        self.fs.sync().unwrap();
        let tail = self.log[self.log.len().saturating_sub(40)..].join("\n");
        let (mut ok, mut text) = fsck_quiet(&self.img);
        if !ok {
            // e2fsck measures index entries against i_size (libext2fs
            // ends the root's last entry at EOF) and takes an index entry
            // starting past EOF for damage, although the kernel makes
            // them too (a KEEP_SIZE preallocation past EOF that splits a
            // leaf of a depth-2 tree). Such a tree is checked on a copy
            // whose i_size covers it, after checking what e2fsck would
            // have checked against EOF: no written block past it.
            let tree = tree_lines(&self.img);
            let eof = self.model.len().div_ceil(4096) as u64;
            if tree.iter().any(|t| t.index && t.lblk >= eof) {
                for t in tree.iter().filter(|t| !t.index && t.lblk + t.len > eof) {
                    assert!(
                        t.uninit,
                        "{what}: written extent {t:?} past EOF block {eof}\n{tail}"
                    );
                }
                let end = tree.iter().map(|t| t.lblk + t.len).max().unwrap_or(0);
                let copy = self.img.with_extension("covered");
                std::fs::copy(&self.img, &copy).unwrap();
                let sif = format!("sif f size {}", end * 4096);
                run("debugfs", &["-w", "-R", &sif, copy.to_str().unwrap()]);
                (ok, text) = fsck_quiet(&copy);
                std::fs::remove_file(&copy).unwrap();
            }
        }
        assert!(ok, "{what}: e2fsck -fn:\n{text}\nlast operations:\n{tail}");
        let inode = self.fs.inode(INO).unwrap();
        assert_eq!(inode.size, self.model.len() as u64, "{what}: i_size");
        let got = self.fs.read(&inode, 0, self.model.len()).unwrap();
        if let Some(i) = (0..got.len()).find(|&i| got[i] != self.model[i]) {
            panic!("{what}: fuse4fs reads differ at byte {i}\nlast operations:\n{tail}");
        }
    }

    /// The kernel reads the model (loop mount, read-only).
    fn kernel_check(&self, dir: &Path) {
        let mnt = dir.join("mnt");
        std::fs::create_dir_all(&mnt).unwrap();
        let (i, m) = (self.img.to_str().unwrap(), mnt.to_str().unwrap());
        run("mount", &["-o", "loop,ro", i, m]);
        let got = std::fs::read(mnt.join("f"));
        // Retried: udev probing the new loop device holds it for a moment.
        umount_retrying(&mnt);
        let got = got.unwrap();
        assert_eq!(got.len(), self.model.len(), "kernel: size");
        assert!(got == self.model, "kernel reads differ from the model");
    }
}

/// `e2fsck -fn` clean, and quiet but for advice that the tree could be
/// narrower or shorter (random inserts split leaves at the insertion
/// point, as the kernel does); and what it said.
fn fsck_quiet(img: &Path) -> (bool, String) {
    let (clean, text) = fsck(img);
    let quiet = text.lines().all(|l| {
        l.is_empty()
            || l.starts_with("Pass ")
            || l.contains(" files (")
            || l.contains("could be narrower")
            || l.contains("could be shorter")
    });
    (clean && quiet, text)
}

/// One entry of the file's extent tree as `debugfs -R "ex f"` lists it.
#[derive(Debug)]
struct TreeLine {
    index: bool,
    lblk: u64,
    /// Leaf extents only.
    len: u64,
    uninit: bool,
}

fn tree_lines(img: &Path) -> Vec<TreeLine> {
    let text = run("debugfs", &["-R", "ex f", img.to_str().unwrap()]);
    let mut out = Vec::new();
    for l in text.lines().skip(1) {
        // " 1/ 2   4/  4  3854 -  4000  7593   147" (an index entry) or
        // " 2/ 2   1/231  3854 -  3855  7592 -  7593   2 Uninit" (a leaf
        // extent; one block: "3854  7592  1").
        let spaced = l.replace('/', " / ");
        let f: Vec<&str> = spaced.split_whitespace().collect();
        if f.len() < 7 || f[1] != "/" || f[4] != "/" {
            continue;
        }
        let index = f[0] != f[2];
        let nums: Vec<u64> = f[6..].iter().filter_map(|s| s.parse().ok()).collect();
        let (lblk, len) = match nums[..] {
            [lblk, ..] if index => (lblk, 0),
            [lblk, _, _, _, len] | [lblk, _, len] => (lblk, len),
            _ => panic!("debugfs ex line {l:?}"),
        };
        out.push(TreeLine {
            index,
            lblk,
            len,
            uninit: l.contains("Uninit"),
        });
    }
    out
}

/// ZERO_RANGE with KEEP_SIZE past EOF, its edges in a hole: the partial
/// edge blocks must not become written blocks past i_size ("i_size is 0,
/// should be 372736" on an empty file; "end of extent exceeds allowed
/// value" in the last leaf of a deeper tree).
#[test]
fn zero_range_keep_size_past_eof_maps_edges_unwritten() {
    require_kernel_mounts(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let mut f = File::new(dir.path(), "64M");
    f.fallocate(ZERO_KEEP, 372_000, 1000);
    f.check("empty file");
    // Depth 1: 400 one-block extents, then the same past EOF.
    for i in 0..400u64 {
        f.write(i * 8192, 4096, i as u8 | 1);
    }
    assert_eq!(f.depth(), 1);
    let eof = f.model.len() as u64;
    f.fallocate(ZERO_KEEP, eof + 5000, 10_000);
    f.fallocate(ZERO_KEEP, eof + 40_000, 100);
    f.check("depth 1");
    f.kernel_check(dir.path());
}

/// One random run: a sparse file of `span` bytes, `ops` operations of
/// up to `maxlen` bytes, checked every `every` operations; with `shifts`,
/// COLLAPSE_RANGE and INSERT_RANGE too.
fn random_run(seed: u64, span: u64, maxlen: u64, ops: usize, every: usize, shifts: bool) -> u16 {
    let dir = tempfile::tempdir().unwrap();
    let mut f = File::new(dir.path(), "256M");
    let mut rng = fastrand::Rng::with_seed(seed);
    let modes = [
        0,
        FALLOC_FL_KEEP_SIZE,
        PUNCH,
        FALLOC_FL_ZERO_RANGE,
        ZERO_KEEP,
    ];
    let check_from = std::env::var("CHECK_FROM").map_or(0, |s| s.parse().unwrap());
    let mut deepest = 0;
    for i in 0..ops {
        let off = rng.u64(0..span);
        let len = rng.u64(1..maxlen);
        match rng.u8(0..20) {
            0..8 => f.write(off, len as usize, rng.u8(1..=255)),
            8..18 => f.fallocate(modes[rng.usize(0..modes.len())], off, len),
            18 if shifts => f.shift(rng.bool(), off / 4096, len.div_ceil(4096)),
            _ => f.truncate(rng.u64(span / 2..span)),
        }
        deepest = deepest.max(f.depth());
        if (i + 1) % every == 0 && i + 1 >= check_from {
            f.check(&format!("seed {seed}, after {} operations", i + 1));
        }
    }
    f.check(&format!("seed {seed}, at the end"));
    f.kernel_check(dir.path());
    deepest
}

/// Random writes, fallocates of every mode and truncates on sparse
/// 16 MiB files (trees of depth 2).
#[test]
fn random_fallocate_on_deep_trees() {
    require_kernel_mounts(TOOLS);
    // "N": seeds 0..N; "A..B": those; CHECK_EVERY: operations between
    // checks.
    let seeds = std::env::var("FALLOCATE_TREE_SEEDS").unwrap_or_else(|_| "3".into());
    let seeds = match seeds.split_once("..") {
        Some((a, b)) => a.parse().unwrap()..b.parse().unwrap(),
        None => 0..seeds.parse().unwrap(),
    };
    let every = std::env::var("CHECK_EVERY").map_or(500, |s| s.parse().unwrap());
    let mut deepest = 0;
    for seed in seeds {
        deepest = deepest.max(random_run(seed, 16 << 20, 20_000, 3000, every, false));
    }
    assert_eq!(deepest, 2, "the runs reached depth 2");
}

/// The same with COLLAPSE_RANGE and INSERT_RANGE (src/fs/extent/shift.rs) in
/// the mix.
#[test]
fn random_shifts_on_deep_trees() {
    require_kernel_mounts(TOOLS);
    let seeds = std::env::var("FALLOCATE_TREE_SEEDS").unwrap_or_else(|_| "3".into());
    let seeds = match seeds.split_once("..") {
        Some((a, b)) => a.parse().unwrap()..b.parse().unwrap(),
        None => 0..seeds.parse().unwrap(),
    };
    let mut deepest = 0;
    for seed in seeds {
        deepest = deepest.max(random_run(seed, 16 << 20, 20_000, 3000, 500, true));
    }
    assert_eq!(deepest, 2, "the runs reached depth 2");
}
