//! Extent-tree writes through transactions (map_write, unmap, prealloc,
//! zero range) leave trees e2fsck accepts and the kernel reads back: deep
//! trees (1 KiB blocks, depth 3), splits in the middle of full leaves,
//! punches across leaves and inside extents, truncates to a middle size
//! and to 0, unwritten extents, merging of appends, hostile trees.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use fuse4fs::ext4::{BlockNo, InodeNo};
use fuse4fs::fs::Fs;
use fuse4fs::fs::extent::map::Backing;

use crate::common::{fsck, mkfs, open_rw, require, require_kernel_mounts, run, umount_retrying};

/// The file every test works on: debugfs makes it first, so it is the
/// first inode after lost+found.
const INO: InodeNo = InodeNo(12);

const TOOLS: &[&str] = &["mkfs.ext4", "e2fsck", "debugfs", "mount", "umount"];

/// A fresh image holding one empty extent-mapped file `f`.
fn image(dir: &Path, args: &[&str], size: &str) -> PathBuf {
    let img = mkfs(dir, args, size);
    run(
        "debugfs",
        &["-w", "-R", "write /dev/null f", img.to_str().unwrap()],
    );
    img
}

/// The bytes of logical block `lblk` as written with `tag`: the block
/// number and tag lead, so a block in the wrong place shows.
fn pattern(lblk: u64, tag: u8, bs: usize) -> Vec<u8> {
    let mut b: Vec<u8> = (0..bs)
        .map(|j| (j as u64 ^ lblk.wrapping_mul(0x9E37_79B9)) as u8 ^ tag)
        .collect();
    b[..8].copy_from_slice(&lblk.to_le_bytes());
    b[8] = tag;
    b
}

/// The file as the tests expect it, and the operations that change both
/// the file (through transactions) and the model.
struct Model<'a> {
    fs: &'a Fs,
    img: PathBuf,
    bs: u64,
    /// Written blocks: the block they were written as (ranges move) and
    /// the tag of their contents; others read as zeros.
    blocks: BTreeMap<u64, (u64, u8)>,
    size: u64,
    /// e2fsck may advise optimising the tree.
    advice_ok: bool,
}

impl<'a> Model<'a> {
    fn new(fs: &'a Fs, img: &Path) -> Self {
        Model {
            fs,
            img: img.to_path_buf(),
            bs: fs.block_size() as u64,
            blocks: BTreeMap::new(),
            size: 0,
            advice_ok: false,
        }
    }

    /// Writes the ranges `(lblk, len)` in one transaction: maps them,
    /// writes every block of every run (data first), commits.
    fn write(&mut self, ranges: &[(u64, u64)], tag: u8) {
        let data = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.img)
            .unwrap();
        let mut tx = self.fs.begin().unwrap();
        let mut inode = tx.inode(INO).unwrap();
        for &(l, n) in ranges {
            let runs = tx.map_write(&mut inode, l, n).unwrap();
            let mut at = l;
            for r in &runs {
                assert_eq!(r.lblk, at, "runs cover the range in order: {runs:?}");
                for i in 0..r.len {
                    let want = (!r.fresh).then(|| self.blocks.get(&(at + i)).copied());
                    if let Some(Some((origin, old))) = want {
                        // An old block keeps its place and its contents.
                        let mut buf = vec![0u8; self.bs as usize];
                        data.read_exact_at(&mut buf, (r.pblk.0 + i) * self.bs)
                            .unwrap();
                        assert_eq!(buf, pattern(origin, old, self.bs as usize));
                    }
                    let bytes = pattern(at + i, tag, self.bs as usize);
                    data.write_all_at(&bytes, (r.pblk.0 + i) * self.bs).unwrap();
                }
                // The transaction's own view agrees with the run.
                let m = tx.map(&inode, r.lblk).unwrap();
                assert_eq!(m.backing, Backing::Data(r.pblk), "{r:?}");
                at += r.len;
            }
            assert_eq!(at, l + n, "runs cover the range: {runs:?}");
            for b in l..l + n {
                self.blocks.insert(b, (b, tag));
            }
            self.size = self.size.max((l + n) * self.bs);
        }
        inode.size = self.size;
        tx.put_inode(inode);
        tx.commit().unwrap();
    }

    /// Truncates to `blocks` blocks.
    fn truncate(&mut self, blocks: u64) {
        let mut tx = self.fs.begin().unwrap();
        let mut inode = tx.inode(INO).unwrap();
        tx.unmap_from(&mut inode, blocks).unwrap();
        self.size = blocks * self.bs;
        inode.size = self.size;
        self.blocks.retain(|&b, _| b < blocks);
        tx.put_inode(inode);
        tx.commit().unwrap();
    }

    /// Punches `[start, end)`.
    fn punch(&mut self, start: u64, end: u64) {
        let mut tx = self.fs.begin().unwrap();
        let mut inode = tx.inode(INO).unwrap();
        tx.unmap_range(&mut inode, start, end).unwrap();
        self.blocks.retain(|&b, _| b < start || b >= end);
        tx.put_inode(inode);
        tx.commit().unwrap();
    }

    fn prealloc(&mut self, lblk: u64, len: u64, keep_size: bool) {
        let mut tx = self.fs.begin().unwrap();
        let mut inode = tx.inode(INO).unwrap();
        tx.map_prealloc(&mut inode, lblk, len).unwrap();
        if !keep_size {
            self.size = self.size.max((lblk + len) * self.bs);
        }
        inode.size = self.size;
        tx.put_inode(inode);
        tx.commit().unwrap();
    }

    fn zero_range(&mut self, lblk: u64, len: u64) {
        let mut tx = self.fs.begin().unwrap();
        let mut inode = tx.inode(INO).unwrap();
        tx.extent_zero_range(&mut inode, lblk, len).unwrap();
        self.blocks.retain(|&b, _| b < lblk || b >= lblk + len);
        tx.put_inode(inode);
        tx.commit().unwrap();
    }

    /// COLLAPSE_RANGE of `[lblk, lblk + len)`.
    fn collapse(&mut self, lblk: u64, len: u64) {
        let mut tx = self.fs.begin().unwrap();
        let mut inode = tx.inode(INO).unwrap();
        tx.extent_collapse_range(&mut inode, lblk, len).unwrap();
        self.blocks = std::mem::take(&mut self.blocks)
            .into_iter()
            .filter(|&(b, _)| b < lblk || b >= lblk + len)
            .map(|(b, v)| (if b >= lblk + len { b - len } else { b }, v))
            .collect();
        self.size -= len * self.bs;
        inode.size = self.size;
        tx.put_inode(inode);
        tx.commit().unwrap();
    }

    /// INSERT_RANGE of `len` blocks at `lblk`.
    fn insert(&mut self, lblk: u64, len: u64) {
        let mut tx = self.fs.begin().unwrap();
        let mut inode = tx.inode(INO).unwrap();
        tx.extent_insert_range(&mut inode, lblk, len).unwrap();
        self.blocks = std::mem::take(&mut self.blocks)
            .into_iter()
            .map(|(b, v)| (if b >= lblk { b + len } else { b }, v))
            .collect();
        self.size += len * self.bs;
        inode.size = self.size;
        tx.put_inode(inode);
        tx.commit().unwrap();
    }

    fn expected(&self) -> Vec<u8> {
        let mut v = vec![0u8; self.size as usize];
        for (&b, &(origin, tag)) in &self.blocks {
            let o = (b * self.bs) as usize;
            v[o..o + self.bs as usize].copy_from_slice(&pattern(origin, tag, self.bs as usize));
        }
        v
    }

    /// e2fsck clean, and the kernel reads exactly the model.
    fn check(&self, dir: &Path) {
        let (clean, text) = fsck(&self.img);
        // Only the pass headers and the summary; advice that the tree
        // could be narrower or shorter (no error: random inserts split
        // leaves at the insertion point, as the kernel does) only where
        // the test allows it.
        let quiet = text.lines().all(|l| {
            l.is_empty()
                || l.starts_with("Pass ")
                || l.contains(" files (")
                || (self.advice_ok
                    && (l.contains("could be narrower") || l.contains("could be shorter")))
        });
        assert!(clean && quiet, "e2fsck -fn:\n{text}");
        let got = kernel_read(&self.img, &dir.join("mnt"));
        let want = self.expected();
        assert_eq!(got.len(), want.len(), "file size");
        if let Some(i) = (0..got.len()).find(|&i| got[i] != want[i]) {
            panic!(
                "kernel reads differ at byte {i} (block {}): got {:?}, want {:?}",
                i as u64 / self.bs,
                &got[i..(i + 16).min(got.len())],
                &want[i..(i + 16).min(want.len())]
            );
        }
    }

    /// i_blocks in fs blocks.
    fn charged(&self) -> u64 {
        self.fs.inode(INO).unwrap().blocks_512 * 512 / self.bs
    }

    /// Depth of the committed tree (the root header's eh_depth).
    fn depth(&self) -> u16 {
        let b = self.fs.inode(INO).unwrap().block;
        u16::from_le_bytes([b[6], b[7]])
    }
}

/// The file `f` as the kernel reads it (loop mount, read-only).
fn kernel_read(img: &Path, mnt: &Path) -> Vec<u8> {
    std::fs::create_dir_all(mnt).unwrap();
    let (i, m) = (img.to_str().unwrap(), mnt.to_str().unwrap());
    run("mount", &["-o", "loop,ro", i, m]);
    let got = std::fs::read(mnt.join("f"));
    // Retried: udev probing the new loop device holds it for a moment.
    umount_retrying(mnt);
    got.unwrap()
}

/// Leaf extents as `debugfs -R "ex f"` lists them: (logical start, len,
/// uninit).
fn debugfs_extents(img: &Path) -> Vec<(u64, u64, bool)> {
    let text = run("debugfs", &["-R", "ex f", img.to_str().unwrap()]);
    let mut out = Vec::new();
    for l in text.lines().skip(1) {
        let f: Vec<&str> = l.split_whitespace().collect();
        // "0/ 1   1/  2     0 -   99  1234 -  1333    100 [Uninit]"
        let (Some(level), Some(max)) = (
            f.first().and_then(|s| s.strip_suffix('/')),
            f.get(1).map(|s| s.trim()),
        ) else {
            continue;
        };
        if level != max {
            continue;
        }
        let nums: Vec<u64> = f.iter().filter_map(|s| s.parse().ok()).collect();
        // "max total lstart - lend pstart - pend len", or for one block
        // "max total lstart pstart len".
        let (lstart, len) = match nums[..] {
            [_, _, lstart, _, _, _, len] | [_, _, lstart, _, len] => (lstart, len),
            _ => panic!("debugfs ex line {l:?}"),
        };
        out.push((lstart, len, l.contains("Uninit")));
    }
    out
}

#[test]
fn deep_tree_1k_scattered_writes_splits_punches_truncates() {
    require_kernel_mounts(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path(), &["-b", "1024", "-O", "metadata_csum"], "80M");
    let fs = open_rw(&img);
    let free0 = fs.stats().free_blocks;
    let mut m = Model::new(&fs, &img);
    // Every other block: no two extents merge, so 30000 extents need
    // more than 4 * 84 * 84 leaf slots: depth 3.
    for chunk in 0..6u64 {
        let ranges: Vec<(u64, u64)> = (chunk * 5000..(chunk + 1) * 5000)
            .map(|i| (2 * i, 1))
            .collect();
        m.write(&ranges, 1);
    }
    assert_eq!(m.depth(), 3);
    m.check(dir.path());
    let tree_blocks = m.charged() - 30000;
    assert!(tree_blocks > 360, "{tree_blocks} tree blocks");
    // Appends filled every node (no advice so far); the splits in the
    // middle of full leaves below leave half-empty ones, as the kernel's.
    m.advice_ok = true;

    // Holes filled in the middle of full leaves (mid-leaf splits), long
    // writes across data and holes, overwrites.
    let fill: Vec<(u64, u64)> = (0..300).map(|i| (40_001 + 4 * i, 1)).collect();
    m.write(&fill, 2);
    m.write(&[(1000, 300), (59_990, 100), (2, 1)], 3);
    m.check(dir.path());

    // A punch across many leaves, one inside an extent, one of a single
    // block.
    m.punch(20_001, 25_001);
    m.write(&[(70_000, 100)], 4);
    m.punch(70_040, 70_050);
    m.punch(1100, 1101);
    m.check(dir.path());
    let ex = debugfs_extents(&img);
    assert!(ex.contains(&(70_000, 40, false)) && ex.contains(&(70_050, 50, false)));

    m.truncate(30_000);
    m.check(dir.path());
    m.truncate(0);
    m.check(dir.path());
    assert_eq!((m.depth(), m.charged()), (0, 0));
    assert_eq!(fs.inode(INO).unwrap().block[2..4], [0, 0], "no entries");
    assert_eq!(fs.stats().free_blocks, free0, "every block came back");
}

#[test]
fn random_writes_punches_truncates_4k() {
    require_kernel_mounts(TOOLS);
    for seed in [1u64, 2] {
        let dir = tempfile::tempdir().unwrap();
        let img = image(dir.path(), &[], "128M");
        let fs = open_rw(&img);
        let free0 = fs.stats().free_blocks;
        let mut m = Model::new(&fs, &img);
        m.advice_ok = true;
        let mut rng = fastrand::Rng::with_seed(seed);
        for round in 0..5u8 {
            for _ in 0..20 {
                let ranges: Vec<(u64, u64)> = (0..rng.usize(1..40))
                    .map(|_| (rng.u64(0..12_000), rng.u64(1..24)))
                    .collect();
                m.write(&ranges, round * 16 + rng.u8(0..16));
                if rng.u8(0..4) == 0 {
                    let s = rng.u64(0..12_000);
                    m.punch(s, s + rng.u64(1..600));
                }
                if rng.u8(0..8) == 0 {
                    m.prealloc(rng.u64(0..12_000), rng.u64(1..64), true);
                }
            }
            m.check(dir.path());
            let end = m.size / m.bs;
            m.truncate(rng.u64(end / 2..end.max(1)));
            m.check(dir.path());
        }
        m.truncate(0);
        m.check(dir.path());
        assert_eq!((m.depth(), m.charged()), (0, 0));
        assert_eq!(fs.stats().free_blocks, free0);
    }
}

#[test]
fn unwritten_extents_read_as_zeros_until_written() {
    require_kernel_mounts(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path(), &[], "64M");
    let fs = open_rw(&img);
    let free0 = fs.stats().free_blocks;
    let mut m = Model::new(&fs, &img);
    m.prealloc(0, 300, false);
    assert_eq!(debugfs_extents(&img), [(0, 300, true)]);
    assert_eq!(m.charged(), 300);
    // Preallocating again changes nothing.
    m.prealloc(0, 300, false);
    assert_eq!(debugfs_extents(&img), [(0, 300, true)]);
    m.check(dir.path());

    // Writes convert exactly their blocks, splitting the extent in three,
    // or in two at an edge (merging with the written neighbour).
    m.write(&[(10, 10), (100, 1), (290, 10)], 7);
    let ex = debugfs_extents(&img);
    assert_eq!(
        ex,
        [
            (0, 10, true),
            (10, 10, false),
            (20, 80, true),
            (100, 1, false),
            (101, 189, true),
            (290, 10, false)
        ]
    );
    m.write(&[(20, 5)], 8);
    assert_eq!(
        debugfs_extents(&img)[1..3],
        [(10, 15, false), (25, 75, true)]
    );
    // Six extents: the root moved into one leaf block.
    assert_eq!((m.depth(), m.charged()), (1, 301));
    m.check(dir.path());

    // Past EOF (KEEP_SIZE) and across data and holes.
    m.prealloc(280, 200, true);
    assert_eq!(m.charged(), 481);
    m.check(dir.path());

    // Zero range: written blocks become unwritten in place.
    m.zero_range(12, 4);
    m.zero_range(99, 3);
    m.check(dir.path());
    let ex = debugfs_extents(&img);
    assert!(
        // 100 was the only written block between unwritten ones: zeroed,
        // it merges them into one.
        ex.contains(&(12, 4, true)) && ex.contains(&(25, 265, true)),
        "{ex:?}"
    );
    assert_eq!(m.charged(), 481);

    m.punch(5, 50);
    m.check(dir.path());
    m.truncate(0);
    m.check(dir.path());
    assert_eq!(fs.stats().free_blocks, free0);
}

#[test]
fn appends_merge_into_one_extent() {
    require_kernel_mounts(TOOLS);
    for bs in ["1024", "4096"] {
        let dir = tempfile::tempdir().unwrap();
        let img = image(dir.path(), &["-b", bs], "32M");
        let fs = open_rw(&img);
        let mut m = Model::new(&fs, &img);
        for i in 0..200 {
            m.write(&[(i, 1)], i as u8);
        }
        // And within one transaction.
        let ranges: Vec<(u64, u64)> = (200..400).map(|i| (i, 1)).collect();
        m.write(&ranges, 9);
        assert_eq!(debugfs_extents(&img), [(0, 400, false)]);
        assert_eq!((m.depth(), m.charged()), (0, 400));
        m.check(dir.path());
    }
}

#[test]
fn root_grows_and_shrinks_back() {
    require_kernel_mounts(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path(), &[], "32M");
    let fs = open_rw(&img);
    let mut m = Model::new(&fs, &img);
    let ranges: Vec<(u64, u64)> = (0..5).map(|i| (3 * i, 1)).collect();
    m.write(&ranges, 1);
    // A fifth extent does not fit i_block: one leaf block under the root.
    assert_eq!((m.depth(), m.charged()), (1, 6));
    // Each block went where the one before it leads (the goal), and the
    // transaction's view of the grown tree is the committed one.
    let tx = fs.begin().unwrap();
    let inode = fs.inode(INO).unwrap();
    let first = tx.map(&inode, 0).unwrap().backing;
    let Backing::Data(p0) = first else {
        panic!("{first:?}")
    };
    for i in 1..5 {
        let at = tx.map(&inode, 3 * i).unwrap().backing;
        assert_eq!(at, Backing::Data(BlockNo(p0.0 + 3 * i)));
    }
    assert_eq!(tx.map(&inode, 1).unwrap().len, 2, "a hole up to 3");
    drop(tx);
    m.check(dir.path());
    // Back to four extents: the leaf moves back into i_block.
    m.punch(12, 13);
    assert_eq!((m.depth(), m.charged()), (0, 4));
    m.check(dir.path());
}

/// Builds a depth-1 tree of ten extents; returns the leaf block number.
fn depth1_leaf(dir: &Path, args: &[&str]) -> (PathBuf, u64, u64) {
    let img = image(dir, args, "32M");
    let fs = open_rw(&img);
    let mut m = Model::new(&fs, &img);
    let ranges: Vec<(u64, u64)> = (0..10).map(|i| (2 * i, 1)).collect();
    m.write(&ranges, 1);
    let b = fs.inode(INO).unwrap().block;
    assert_eq!(u16::from_le_bytes([b[6], b[7]]), 1);
    let leaf = u32::from_le_bytes([b[16], b[17], b[18], b[19]]) as u64;
    (img, leaf, m.bs)
}

/// Every operation on the file fails with an error (no panic, no loop).
fn all_refused(img: &Path) {
    let fs = open_rw(img);
    let mut tx = fs.begin().unwrap();
    let mut inode = tx.inode(INO).unwrap();
    assert!(tx.map(&inode, 4).is_err());
    assert!(tx.map_write(&mut inode, 4, 1).is_err());
    assert!(tx.map_write(&mut inode, 100, 1).is_err());
    assert!(tx.map_prealloc(&mut inode, 100, 5).is_err());
    assert!(tx.unmap_from(&mut inode, 0).is_err());
    assert!(tx.unmap_range(&mut inode, 3, 5).is_err());
}

#[test]
fn hostile_trees_are_errors() {
    require(&["mkfs.ext4", "debugfs"]);
    // (byte offset in the leaf, new bytes, checksums on)
    let cases: [(usize, &[u8], bool); 5] = [
        (0, &[0x0B, 0xF3], false),  // magic
        (6, &[1, 0], false),        // depth 1 under a depth-1 root
        (4, &[200, 0], false),      // eh_max not what the block holds
        (24, &[0, 0, 0, 0], false), // second extent starts at 0: overlap
        (12 + 8, &[0xFF], true),    // a block number, caught by the checksum
    ];
    for (off, bytes, csum) in cases {
        let dir = tempfile::tempdir().unwrap();
        let args: &[&str] = if csum {
            &["-O", "metadata_csum"]
        } else {
            &["-O", "^metadata_csum"]
        };
        let (img, leaf, bs) = depth1_leaf(dir.path(), args);
        let f = OpenOptions::new().write(true).open(&img).unwrap();
        f.write_all_at(bytes, leaf * bs + off as u64).unwrap();
        drop(f);
        all_refused(&img);
    }
    // The root's index entry promising more than its leaf starts with.
    let dir = tempfile::tempdir().unwrap();
    let (img, _, _) = depth1_leaf(dir.path(), &["-O", "^metadata_csum"]);
    let fs = open_rw(&img);
    let mut inode = fs.inode(INO).unwrap();
    inode.block[12..16].copy_from_slice(&1u32.to_le_bytes());
    let mut tx = fs.begin().unwrap();
    tx.put_inode(inode);
    tx.commit().unwrap();
    drop(fs);
    all_refused(&img);
}

#[test]
fn collapse_and_insert_range_move_the_tail() {
    require_kernel_mounts(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path(), &["-b", "1024"], "32M");
    let fs = open_rw(&img);
    let free0 = fs.stats().free_blocks;
    let mut m = Model::new(&fs, &img);
    // 1000 one-block extents (depth 2), then one long extent.
    let ranges: Vec<(u64, u64)> = (0..1000).map(|i| (2 * i, 1)).collect();
    m.write(&ranges, 1);
    m.write(&[(3000, 500)], 2);
    assert_eq!(m.depth(), 2);
    m.check(dir.path());
    m.collapse(500, 100);
    m.collapse(2850, 200);
    m.check(dir.path());
    // Inside the long extent (now at 2850..3150), between extents, and
    // before everything.
    m.insert(2900, 7);
    m.insert(101, 50);
    m.insert(0, 3);
    m.check(dir.path());
    // The long extent 3000..3500 lost 100 blocks to the first collapse
    // and 150 to the second, was split at 2900 by the first insert and
    // moved up 53 by the two below it.
    let ex = debugfs_extents(&img);
    assert_eq!(ex[0], (3, 1, false));
    assert_eq!(ex[ex.len() - 2..], [(2903, 50, false), (2960, 300, false)]);
    // The end of the addressable range.
    let mut tx = fs.begin().unwrap();
    let mut inode = tx.inode(INO).unwrap();
    assert!(
        tx.extent_insert_range(&mut inode, 10, (1 << 32) - 100)
            .is_err()
    );
    drop(tx);
    m.truncate(0);
    m.check(dir.path());
    assert_eq!(fs.stats().free_blocks, free0);
}
