//! Writing ext2/ext3 block-mapped files through `map_write`, truncating
//! and punching them through `unmap_from` / `unmap_range`: every result
//! must pass `e2fsck -fn`, and the kernel (a read-only loop mount) and our
//! own reader must read back exactly the modelled bytes. 1 KiB blocks reach
//! the double-indirect tree at block 268 and the triple at 65804.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use fuse4fs::ext4::InodeNo;
use fuse4fs::ext4::inode::flags;
use fuse4fs::fs::extent::map::Backing;
use fuse4fs::fs::map_dispatch::Run;
use fuse4fs::fs::{Fs, FsError, FsOptions};

use crate::common::{assert_fsck_clean, mkfs, open_rw, require};

/// 1 KiB blocks: the first logical block of the double- and
/// triple-indirect trees, and one past the last block the tree reaches.
const DOUBLE: u64 = 12 + 256;
const TRIPLE: u64 = DOUBLE + 65536;
const TREE_END: u64 = TRIPLE + 256 * 65536;

/// A test image with one empty block-mapped file `f`.
struct Img {
    dir: tempfile::TempDir,
    img: PathBuf,
    bs: u64,
    ino: InodeNo,
    /// Logical block → its contents (absent: a hole).
    model: BTreeMap<u64, Vec<u8>>,
}

const TOOLS: &[&str] = &["mkfs.ext4", "e2fsck", "debugfs"];

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

impl Img {
    fn new(mkfs_args: &[&str], size: &str) -> Img {
        let dir = tempfile::tempdir().unwrap();
        let img = mkfs(dir.path(), mkfs_args, size);
        let out = Command::new("debugfs")
            .args(["-w", "-R", "write /dev/null f"])
            .arg(&img)
            .output()
            .unwrap();
        assert!(out.status.success());
        let fs = Fs::open(&img, &FsOptions::default()).unwrap();
        let root = fs.inode(InodeNo::ROOT).unwrap();
        let inode = fs.inode(fs.lookup(&root, b"f").unwrap().ino).unwrap();
        assert!(
            !inode.has_flag(flags::EXTENTS),
            "debugfs made an extent file"
        );
        Img {
            bs: fs.block_size() as u64,
            ino: inode.ino,
            img,
            dir,
            model: BTreeMap::new(),
        }
    }

    /// Contents for logical block `l` written in round `seed`.
    fn pattern(&self, l: u64, seed: u8) -> Vec<u8> {
        (0..self.bs)
            .map(|i| (l.wrapping_mul(2_654_435_761) >> (i % 24)) as u8 ^ seed ^ i as u8)
            .collect()
    }

    /// One transaction mapping every range, writing each block's data
    /// straight to the image and growing the size over the ranges.
    /// Returns the runs of each range.
    fn write(&mut self, fs: &Fs, ranges: &[(u64, u64)], seed: u8) -> Vec<Vec<Run>> {
        let file = File::options().write(true).open(&self.img).unwrap();
        let mut inode = fs.inode(self.ino).unwrap();
        let mut tx = fs.begin().unwrap();
        let mut all = Vec::new();
        for &(l, n) in ranges {
            let runs = tx.map_write(&mut inode, l, n).unwrap();
            let mut at = l;
            for r in &runs {
                assert_eq!(r.lblk, at, "runs must cover the range in order: {runs:?}");
                for k in 0..r.len {
                    let data = self.pattern(r.lblk + k, seed);
                    file.write_all_at(&data, (r.pblk.0 + k) * self.bs).unwrap();
                    self.model.insert(r.lblk + k, data);
                }
                at += r.len;
            }
            assert_eq!(at, l + n, "runs must cover the range: {runs:?}");
            inode.size = inode.size.max((l + n) * self.bs);
            all.push(runs);
        }
        tx.put_inode(inode);
        tx.commit().unwrap();
        all
    }

    /// Truncates to `blocks` blocks.
    fn truncate(&mut self, fs: &Fs, blocks: u64) {
        let mut inode = fs.inode(self.ino).unwrap();
        let mut tx = fs.begin().unwrap();
        tx.unmap_from(&mut inode, blocks).unwrap();
        inode.size = blocks * self.bs;
        tx.put_inode(inode);
        tx.commit().unwrap();
        self.model.retain(|&l, _| l < blocks);
    }

    /// Punches `[start, end)` (size unchanged).
    fn punch(&mut self, fs: &Fs, start: u64, end: u64) {
        let mut inode = fs.inode(self.ino).unwrap();
        let mut tx = fs.begin().unwrap();
        tx.unmap_range(&mut inode, start, end).unwrap();
        tx.put_inode(inode);
        tx.commit().unwrap();
        self.model.retain(|&l, _| l < start || l >= end);
    }

    /// The file's bytes as modelled, for a file of `size` bytes.
    fn expected(&self, size: u64) -> Vec<u8> {
        let mut v = vec![0u8; size as usize];
        for (&l, data) in &self.model {
            let off = (l * self.bs) as usize;
            if off < v.len() {
                let n = data.len().min(v.len() - off);
                v[off..off + n].copy_from_slice(&data[..n]);
            }
        }
        v
    }

    /// e2fsck clean; our reader (fresh open) and the kernel read exactly
    /// the model.
    fn check(&self) {
        assert_fsck_clean(&self.img);
        let fs = Fs::open(&self.img, &FsOptions::default()).unwrap();
        let inode = fs.inode(self.ino).unwrap();
        let want = self.expected(inode.size);
        let ours = fs.read(&inode, 0, inode.size as usize).unwrap();
        assert!(ours == want, "our reader disagrees with the model");
        if !is_root() {
            return fuse4fs_testkit::skip!("kernel read-back: not root");
        }
        let mnt = self.dir.path().join("mnt");
        std::fs::create_dir_all(&mnt).unwrap();
        let m = Mounted::new(&self.img, &mnt);
        let theirs = std::fs::read(m.0.join("f")).unwrap();
        drop(m);
        assert_eq!(theirs.len(), want.len(), "kernel size");
        let diff = (0..want.len()).find(|&i| theirs[i] != want[i]);
        assert!(
            diff.is_none(),
            "kernel reads other bytes from offset {diff:?} (block {:?})",
            diff.map(|d| d as u64 / self.bs)
        );
    }
}

/// A read-only loop mount, unmounted on drop.
struct Mounted(PathBuf);

impl Mounted {
    fn new(img: &Path, mnt: &Path) -> Mounted {
        let out = Command::new("mount")
            .args(["-o", "loop,ro"])
            .arg(img)
            .arg(mnt)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mount: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Mounted(mnt.to_path_buf())
    }
}

impl Drop for Mounted {
    /// Unmounts, retrying while something (a udev probe) briefly holds the
    /// filesystem busy, and detaching lazily as a last resort so that no
    /// mount outlives the test.
    fn drop(&mut self) {
        for _ in 0..20 {
            let out = Command::new("umount").arg(&self.0).output();
            if out.is_ok_and(|o| o.status.success()) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        eprintln!("umount {}: busy, detaching lazily", self.0.display());
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Blocks reaching every level: direct, direct→single, single→double,
/// inside the double tree, double→triple, deep in the triple tree.
const SCATTERED: &[(u64, u64)] = &[
    (0, 3),
    (10, 5),
    (200, 1),
    (DOUBLE - 2, 4),
    (DOUBLE + 256 * 5 + 7, 1),
    (TRIPLE - 2, 4),
    (TRIPLE + 65536 + 300, 2),
];

/// Indirect blocks SCATTERED needs: the single; the double with children
/// 0, 5 and 255; the triple with second-level 0 and 1, each with one leaf.
const SCATTERED_INDIRECT: u64 = 1 + (1 + 3) + (1 + 2 + 2);

fn i_block(fs: &Fs, ino: InodeNo, slot: usize) -> u32 {
    let b = fs.inode(ino).unwrap().block;
    u32::from_le_bytes(b[slot * 4..slot * 4 + 4].try_into().unwrap())
}

#[test]
fn ext2_writes_reach_double_and_triple_indirect() {
    require(TOOLS);
    let mut t = Img::new(&["-t", "ext2", "-b", "1024"], "64M");
    let fs = open_rw(&t.img);
    // Two transactions: the second adds to indirect blocks the first
    // committed.
    let (a, b) = SCATTERED.split_at(3);
    let runs = t.write(&fs, a, 1);
    t.write(&fs, b, 2);
    // ext2's layout: blocks 10 and 11, the single-indirect block, then
    // blocks 12..15, in one contiguous stretch.
    let r = &runs[1];
    assert_eq!(r.len(), 2, "{r:?}");
    assert!(r.iter().all(|r| r.fresh));
    assert_eq!(r[1].pblk.0, r[0].pblk.0 + 3, "{r:?}");
    assert_eq!(i_block(&fs, t.ino, 12) as u64, r[0].pblk.0 + 2);
    let data = t.model.len() as u64;
    assert_eq!(
        fs.inode(t.ino).unwrap().blocks_512,
        (data + SCATTERED_INDIRECT) * 2,
        "i_blocks counts data and indirect blocks"
    );
    t.check();
    // Rewriting mapped blocks allocates nothing and reports them not fresh.
    let free = fs.stats().free_blocks;
    let again = t.write(&fs, &[(DOUBLE - 2, 4)], 3);
    assert!(again[0].iter().all(|r| !r.fresh), "{again:?}");
    assert_eq!(fs.stats().free_blocks, free);
    t.check();
}

#[test]
fn ext3_truncate_to_middle_then_zero_restores_free_blocks() {
    require(TOOLS);
    let mut t = Img::new(&["-t", "ext3", "-b", "1024"], "64M");
    let fs = open_rw(&t.img);
    let free0 = fs.stats().free_blocks;
    t.write(&fs, SCATTERED, 1);
    assert_eq!(
        fs.stats().free_blocks,
        free0 - t.model.len() as u64 - SCATTERED_INDIRECT
    );
    t.check();
    // Inside double child 5, before its block: child 5 and 255 go, child
    // 0 stays; the whole triple tree goes.
    let before = fs.stats().free_blocks;
    t.truncate(&fs, DOUBLE + 256 * 5 + 3);
    assert_eq!(
        fs.stats().free_blocks,
        before + 1 + 4 + 2 + (1 + 2 + 2) + 2,
        "data 1 + 4 + 2, triple tree 5, double children 5 and 255"
    );
    assert_eq!(i_block(&fs, t.ino, 14), 0);
    t.check();
    // Inside the single-indirect range: the double tree goes.
    t.truncate(&fs, 13);
    assert_eq!(i_block(&fs, t.ino, 13), 0);
    assert_ne!(i_block(&fs, t.ino, 12), 0);
    t.check();
    t.truncate(&fs, 0);
    let inode = fs.inode(t.ino).unwrap();
    assert_eq!(inode.blocks_512, 0);
    assert_eq!(inode.block, [0u8; 60]);
    assert_eq!(fs.stats().free_blocks, free0);
    t.check();
    // Freed data blocks come back as indirect blocks: they must start
    // zeroed, not with the old data read as pointers.
    t.write(&fs, &[(0, DOUBLE + 300)], 2);
    t.truncate(&fs, 0);
    t.write(&fs, SCATTERED, 3);
    t.check();
}

#[test]
fn punch_frees_data_and_emptied_indirect_blocks() {
    require(TOOLS);
    let mut t = Img::new(&["-t", "ext2", "-b", "1024"], "64M");
    let fs = open_rw(&t.img);
    t.write(&fs, &[(0, DOUBLE + 256 * 3), (TRIPLE, 3)], 1);
    t.check();
    let free = |fs: &Fs| fs.stats().free_blocks;
    // Exactly double child 1's range: its 256 blocks and the child.
    let f = free(&fs);
    t.punch(&fs, DOUBLE + 256, DOUBLE + 512);
    assert_eq!(free(&fs), f + 257);
    t.check();
    // Straddling direct and single: data only.
    let f = free(&fs);
    t.punch(&fs, 5, 20);
    assert_eq!(free(&fs), f + 15);
    assert_ne!(i_block(&fs, t.ino, 12), 0);
    t.check();
    // The rest of the single range: its block goes with the data.
    let f = free(&fs);
    t.punch(&fs, 12, DOUBLE);
    assert_eq!(free(&fs), f + (DOUBLE - 20) + 1);
    assert_eq!(i_block(&fs, t.ino, 12), 0);
    t.check();
    // Part of the triple tree's only leaf, then the rest: leaf, second
    // level and top go once empty.
    let f = free(&fs);
    t.punch(&fs, TRIPLE + 1, TRIPLE + 2);
    assert_eq!(free(&fs), f + 1);
    t.punch(&fs, TRIPLE - 100, TRIPLE + 1000);
    assert_eq!(free(&fs), f + 3 + 3);
    assert_eq!(i_block(&fs, t.ino, 14), 0);
    t.check();
    // From the punched single range into the double: double child 0 and
    // its data go, the emptied single range costs nothing.
    let f = free(&fs);
    t.punch(&fs, 12, DOUBLE + 256);
    assert_eq!(free(&fs), f + 256 + 1);
    // The last direct blocks, and a range of holes only.
    let f = free(&fs);
    t.punch(&fs, 0, 5);
    t.punch(&fs, 100_000, 200_000);
    assert_eq!(free(&fs), f + 5);
    t.check();
    // What is left: double child 2 and the double block.
    let inode = fs.inode(t.ino).unwrap();
    assert_eq!(inode.blocks_512, (256 + 2) * 2);
}

#[test]
fn ext4_without_extents_4k_blocks() {
    require(TOOLS);
    // flex_bg and metadata_csum on, extents (and so 64bit) off.
    let mut t = Img::new(&["-O", "^extent,^64bit", "-b", "4096"], "64M");
    let fs = open_rw(&t.img);
    let free0 = fs.stats().free_blocks;
    let d = 12 + 1024;
    t.write(&fs, &[(0, 2), (d - 1, 3), (d + 1024 * 3, 1)], 1);
    t.check();
    t.truncate(&fs, d);
    t.check();
    t.truncate(&fs, 0);
    assert_eq!(fs.stats().free_blocks, free0);
    t.check();
}

#[test]
fn transaction_sees_its_own_indirect_blocks() {
    require(TOOLS);
    let t = Img::new(&["-t", "ext2", "-b", "1024"], "64M");
    let fs = open_rw(&t.img);
    let free = fs.stats().free_blocks;
    let mut inode = fs.inode(t.ino).unwrap();
    let mut tx = fs.begin().unwrap();
    let runs = tx.map_write(&mut inode, 300, 1).unwrap();
    assert_eq!(
        tx.map(&inode, 300).unwrap().backing,
        Backing::Data(runs[0].pblk)
    );
    // The next block finds the indirect blocks just made: one data block
    // more, right after.
    let next = tx.map_write(&mut inode, 301, 1).unwrap();
    assert_eq!(next[0].pblk.0, runs[0].pblk.0 + 1);
    assert_eq!(inode.blocks_512, (2 + 2) * 2);
    let m = tx.map(&inode, 300).unwrap();
    assert_eq!((m.backing, m.len), (Backing::Data(runs[0].pblk), 2));
    // A hole reports its whole empty subtree.
    let h = tx.map(&inode, DOUBLE + 256).unwrap();
    assert_eq!((h.backing, h.len), (Backing::Hole, 256));
    drop(tx);
    assert_eq!(fs.stats().free_blocks, free, "a dropped transaction");
    assert_eq!(fs.inode(t.ino).unwrap().block, [0u8; 60]);
    assert_fsck_clean(&t.img);
}

#[test]
fn largest_block_and_past_it() {
    require(TOOLS);
    let mut t = Img::new(&["-t", "ext2", "-b", "1024"], "64M");
    let fs = open_rw(&t.img);
    let mut inode = fs.inode(t.ino).unwrap();
    let mut tx = fs.begin().unwrap();
    for (l, n) in [(TREE_END, 1), (TREE_END - 1, 2), (u64::MAX, 1)] {
        assert!(
            matches!(tx.map_write(&mut inode, l, n), Err(FsError::TooBig)),
            "{l}+{n}"
        );
    }
    drop(tx);
    t.write(&fs, &[(TREE_END - 1, 1)], 9);
    assert_fsck_clean(&t.img);
    // Read only that block back: the file is 16 GiB of holes.
    let off = (TREE_END - 1) * t.bs;
    let want = t.model[&(TREE_END - 1)].clone();
    let ro = Fs::open(&t.img, &FsOptions::default()).unwrap();
    let inode = ro.inode(t.ino).unwrap();
    assert_eq!(ro.read(&inode, off, t.bs as usize).unwrap(), want);
    if is_root() {
        let mnt = t.dir.path().join("mnt");
        std::fs::create_dir_all(&mnt).unwrap();
        let m = Mounted::new(&t.img, &mnt);
        let f = File::open(m.0.join("f")).unwrap();
        let mut got = vec![0u8; t.bs as usize];
        f.read_exact_at(&mut got, off).unwrap();
        assert_eq!(got, want);
    }
    let free = fs.stats().free_blocks;
    t.truncate(&fs, 0);
    assert_eq!(fs.stats().free_blocks, free + 4);
    assert_fsck_clean(&t.img);
}

/// The block holding inode `ino`'s slot in the inode table, per debugfs.
fn inode_table_block(img: &Path, ino: InodeNo) -> u32 {
    let out = Command::new("debugfs")
        .args(["-R", &format!("imap <{}>", ino.0)])
        .arg(img)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let at = text.find("located at block ").expect(&text) + "located at block ".len();
    text[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn hostile_maps_are_refused() {
    require(TOOLS);
    let mut t = Img::new(&["-t", "ext2", "-b", "1024"], "64M");
    let fs = open_rw(&t.img);
    t.write(&fs, &[(0, 2), (12, 1), (DOUBLE, 1), (TRIPLE, 1)], 1);
    let good = fs.inode(t.ino).unwrap();
    let itable = inode_table_block(&t.img, t.ino);
    let set = |slot: usize, v: u32| {
        let mut i = good.clone();
        i.block[slot * 4..slot * 4 + 4].copy_from_slice(&v.to_le_bytes());
        i
    };
    let corrupt = |r: Result<(), FsError>, what: &str| match r {
        Err(e) if e.is_corruption() => {}
        other => panic!("{what}: {other:?}"),
    };
    let blocks = fs.superblock().blocks_count as u32;
    let cases = [
        ("single indirect outside the fs", set(12, blocks + 10), 13),
        ("single indirect at the inode table", set(12, itable), 20),
        ("data block at the inode table", set(0, itable), 0),
        ("data block outside the fs", set(1, blocks), 1),
    ];
    for (what, inode, lblk) in cases {
        let mut tx = fs.begin().unwrap();
        let mut i = inode.clone();
        corrupt(tx.map_write(&mut i, lblk, 1).map(drop), what);
        corrupt(tx.map(&inode, lblk).map(drop), what);
        let mut i = inode.clone();
        corrupt(tx.unmap_from(&mut i, 0), what);
    }
    // A block mapped twice is not freed twice.
    let first = i_block(&fs, t.ino, 0);
    let mut i = set(1, first);
    let mut tx = fs.begin().unwrap();
    corrupt(tx.unmap_from(&mut i, 0), "data block mapped twice");
    drop(tx);
    assert_fsck_clean(&t.img);

    // Loops through the image itself: the double-indirect block's first
    // entry points at itself; every entry of the triple-indirect block
    // points at its one second-level block.
    let file = File::options().read(true).write(true).open(&t.img).unwrap();
    let dbl = i_block(&fs, t.ino, 13);
    file.write_all_at(&dbl.to_le_bytes(), dbl as u64 * t.bs)
        .unwrap();
    let tri = i_block(&fs, t.ino, 14) as u64;
    let mut raw = vec![0u8; t.bs as usize];
    file.read_exact_at(&mut raw[..4], tri * t.bs).unwrap();
    let l2 = raw[..4].to_vec();
    for e in raw.chunks_exact_mut(4) {
        e.copy_from_slice(&l2);
    }
    file.write_all_at(&raw, tri * t.bs).unwrap();
    drop(fs);
    let fs = open_rw(&t.img);
    let inode = fs.inode(t.ino).unwrap();
    let mut tx = fs.begin().unwrap();
    corrupt(tx.map(&inode, DOUBLE).map(drop), "self loop, map");
    let mut i = inode.clone();
    corrupt(
        tx.map_write(&mut i, DOUBLE + 1, 1).map(drop),
        "self loop, map_write",
    );
    let mut i = inode.clone();
    corrupt(tx.unmap_from(&mut i, 0), "self loop, truncate");
    let mut i = inode.clone();
    corrupt(
        tx.unmap_range(&mut i, TRIPLE, TREE_END),
        "repeated second-level block, punch",
    );
    drop(tx);
    // The triple block's first entry now points at itself: the path to
    // TRIPLE + 256 runs triple → triple → (entry 1) second level → its
    // first entry, a leaf indirect block that would pass for data.
    file.write_all_at(&(tri as u32).to_le_bytes(), tri * t.bs)
        .unwrap();
    drop(fs);
    let fs = open_rw(&t.img);
    let mut i = fs.inode(t.ino).unwrap();
    let mut tx = fs.begin().unwrap();
    corrupt(
        tx.map_write(&mut i, TRIPLE + 256, 1).map(drop),
        "triple block entry looping to itself",
    );
}

#[test]
fn size_limit_follows_i_blocks_without_huge_file() {
    require(TOOLS);
    // 4 KiB blocks: without huge_file, i_blocks (2^32 sectors) stops a
    // dense file before the tree does (ext4_max_bitmap_size); with it, the
    // tree's end is the limit.
    for (args, last) in [
        (&["-t", "ext3", "-b", "4096"][..], 536_346_110u64),
        (
            &["-O", "^extent,^64bit", "-b", "4096"][..],
            12 + 1024 + (1 << 20) + (1 << 30),
        ),
    ] {
        let t = Img::new(args, "16M");
        let fs = open_rw(&t.img);
        let mut inode = fs.inode(t.ino).unwrap();
        let mut tx = fs.begin().unwrap();
        assert!(
            matches!(tx.map_write(&mut inode, last, 1), Err(FsError::TooBig)),
            "{args:?}"
        );
        let runs = tx.map_write(&mut inode, last - 1, 1).unwrap();
        assert_eq!(runs[0].lblk, last - 1);
    }
}
