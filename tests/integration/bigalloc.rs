//! bigalloc images: statfs in blocks from counts kept in clusters,
//! checked against what mkfs.ext4 wrote (dumpe2fs) for each cluster
//! geometry; writes through `Fs` that allocate, share and free clusters
//! as the kernel's ext4 does (implied cluster allocation, partial
//! clusters kept at the edges of a punch or truncate, i_blocks and the
//! free counts in whole clusters), each step checked with e2fsck -fn.
//! The kernel comparisons are xtests rw/083 and rw/084.

use crate::common::{assert_fsck_clean, mkfs, open_rw, require, run};
use fuse4fs::ext4::InodeNo;
use fuse4fs::fs::fallocate::{FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE};
use fuse4fs::fs::setattr::Changes;
use fuse4fs::fs::{Fs, FsError, FsOptions};

/// The number dumpe2fs -h prints after `field:`.
fn field(header: &str, name: &str) -> u64 {
    let line = header
        .lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(':'))
        .unwrap_or_else(|| panic!("no '{name}' in dumpe2fs -h:\n{header}"));
    line[name.len() + 1..].trim().parse().unwrap()
}

#[test]
fn statfs_counts_clusters_in_blocks() {
    for (bs, cs) in [("1024", "16384"), ("4096", "16384"), ("4096", "65536")] {
        let dir = tempfile::tempdir().unwrap();
        let img = mkfs(dir.path(), &["-b", bs, "-O", "bigalloc", "-C", cs], "64M");
        let header = run("dumpe2fs", &["-h", img.to_str().unwrap()]);
        let ratio = cs.parse::<u64>().unwrap() / bs.parse::<u64>().unwrap();
        let blocks = field(&header, "Block count");
        let free = field(&header, "Free blocks");
        let overhead = field(&header, "Overhead clusters");
        let reserved = field(&header, "Reserved block count");
        let opts = FsOptions {
            writable: false,
            ..Default::default()
        };
        let fs = Fs::open(&img, &opts).unwrap_or_else(|e| panic!("{bs}/{cs}: {e}"));
        let sb = fs.superblock();
        assert_eq!(sb.cluster_bits(), ratio.trailing_zeros(), "{bs}/{cs}");
        let s = fs.stats();
        assert_eq!(s.blocks, blocks - overhead * ratio, "{bs}/{cs}");
        assert_eq!(s.free_blocks, free, "{bs}/{cs}");
        // The kernel's reserve: 2% of the clusters, at most 4096 clusters.
        let resv = (blocks / ratio / 50).min(4096) * ratio;
        assert_eq!(s.avail_blocks, free - reserved - resv, "{bs}/{cs}");
    }
}

/// The file the write tests work on (the first inode after lost+found).
const INO: InodeNo = InodeNo(12);

/// A 1 KiB-block image in 16 KiB clusters with one empty file `f`.
fn image_with_file(dir: &std::path::Path) -> std::path::PathBuf {
    require(&["mkfs.ext4", "e2fsck", "debugfs", "dumpe2fs"]);
    let img = mkfs(dir, &["-b", "1024", "-O", "bigalloc", "-C", "16384"], "64M");
    run(
        "debugfs",
        &["-w", "-R", "write /dev/null f", img.to_str().unwrap()],
    );
    img
}

/// The physical block of `f`'s logical block `lblk` (debugfs bmap).
fn bmap(img: &std::path::Path, lblk: u64) -> u64 {
    let out = run(
        "debugfs",
        &["-R", &format!("bmap /f {lblk}"), img.to_str().unwrap()],
    );
    out.trim()
        .parse()
        .unwrap_or_else(|_| panic!("bmap {lblk}: {out}"))
}

/// `f`'s i_blocks in 512-byte units, as fuse4fs keeps it.
fn sectors(fs: &Fs) -> u64 {
    fs.inode(INO).unwrap().blocks_512
}

fn punch(fs: &Fs, off: u64, len: u64) {
    fs.fallocate(INO, off, len, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)
        .unwrap();
}

fn truncate(fs: &Fs, size: u64) {
    let c = Changes {
        size: Some(size),
        ..Default::default()
    };
    fs.setattr(INO, &c).unwrap();
}

/// Blocks of one logical cluster share a physical cluster; a cluster is
/// charged (i_blocks, free count) once, whole, and freed only when no
/// block of the file in it is mapped any more.
#[test]
fn clusters_are_shared_charged_and_freed_whole() {
    let dir = tempfile::tempdir().unwrap();
    let img = image_with_file(dir.path());
    let fs = open_rw(&img);
    let free0 = fs.stats().free_blocks;
    let step = |what: &str, sectors_now: u64, used_blocks: u64| {
        assert_eq!(sectors(&fs), sectors_now, "{what}: i_blocks");
        assert_eq!(
            fs.stats().free_blocks,
            free0 - used_blocks,
            "{what}: free blocks"
        );
        assert_fsck_clean(&img);
    };
    // Block 5 of logical cluster 0: one whole cluster (16 blocks, 32
    // sectors) taken and charged.
    fs.write(INO, 5 * 1024 + 3, b"0123456789", 0).unwrap();
    step("block 5", 32, 16);
    assert_eq!(
        bmap(&img, 5) % 16,
        5,
        "block 5 at its offset in its cluster"
    );
    // Block 2 of the same logical cluster: the same physical cluster, at
    // its own offset, nothing more charged.
    fs.write(INO, 2 * 1024, b"abc", 0).unwrap();
    step("block 2", 32, 16);
    assert_eq!(
        bmap(&img, 2),
        bmap(&img, 5) - 3,
        "block 2 shares block 5's cluster"
    );
    // Block 20, logical cluster 1: a new cluster.
    fs.write(INO, 20 * 1024 + 1000, b"xyz", 0).unwrap();
    step("block 20", 64, 32);
    assert_eq!(bmap(&img, 20) % 16, 4);
    assert_ne!(bmap(&img, 20) / 16, bmap(&img, 5) / 16);
    // Punching block 5 leaves block 2 in the cluster: nothing is freed.
    punch(&fs, 5 * 1024, 1024);
    step("punch block 5", 64, 32);
    // Block 5 written again goes back into the same cluster.
    fs.write(INO, 5 * 1024 + 10, b"again", 0).unwrap();
    step("block 5 again", 64, 32);
    // A punch over the whole logical cluster frees it, though its edges
    // are not cluster-aligned in the file's other cluster.
    punch(&fs, 0, 16 * 1024 + 500);
    step("punch cluster 0", 32, 16);
    // A truncate inside logical cluster 1 keeps it (block 20 stays)...
    truncate(&fs, 20 * 1024 + 5);
    step("truncate into block 20", 32, 16);
    // ...one below block 20 frees it; logical cluster 1 (blocks 16..32)
    // keeps no mapped block.
    truncate(&fs, 17 * 1024);
    step("truncate below block 20", 0, 0);
    drop(fs);
    assert_fsck_clean(&img);
    let header = run("dumpe2fs", &["-h", img.to_str().unwrap()]);
    assert_eq!(
        field(&header, "Free blocks"),
        free0,
        "superblock free blocks"
    );
}

/// A truncate that cuts a cluster keeps the blocks before the cut in it;
/// the next extend maps the rest of that cluster from it again, and a
/// sparse write past the end takes a cluster of its own.
#[test]
fn extend_after_truncate_reuses_the_partial_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let img = image_with_file(dir.path());
    let fs = open_rw(&img);
    let free0 = fs.stats().free_blocks;
    fs.write(INO, 0, &vec![7u8; 40 * 1024], 0).unwrap();
    assert_eq!(sectors(&fs), 3 * 32);
    truncate(&fs, 7 * 1024 + 1);
    assert_eq!(sectors(&fs), 32);
    assert_eq!(fs.stats().free_blocks, free0 - 16);
    let home = bmap(&img, 0);
    fs.write(INO, 9 * 1024, b"tail", 0).unwrap();
    assert_eq!(bmap(&img, 9), home + 9, "the extend stays in cluster 0");
    fs.write(INO, 100 * 1024 + 5, b"far", 0).unwrap();
    assert_eq!(sectors(&fs), 64);
    assert_eq!(fs.stats().free_blocks, free0 - 32);
    drop(fs);
    assert_fsck_clean(&img);
}

/// COLLAPSE_RANGE and INSERT_RANGE move whole clusters only, as the
/// kernel's ext4_collapse_range and ext4_insert_range insist: a range
/// aligned to blocks but not to clusters is EINVAL.
#[test]
fn shifts_need_cluster_alignment() {
    let dir = tempfile::tempdir().unwrap();
    let img = image_with_file(dir.path());
    let fs = open_rw(&img);
    fs.write(INO, 0, &vec![1u8; 100 * 1024], 0).unwrap();
    let r = fs.fallocate(INO, 1024, 1024, FALLOC_FL_COLLAPSE_RANGE);
    assert!(matches!(r, Err(FsError::Invalid)), "{r:?}");
    fs.fallocate(INO, 16 * 1024, 16 * 1024, FALLOC_FL_COLLAPSE_RANGE)
        .unwrap();
    assert_eq!(fs.inode(INO).unwrap().size, 84 * 1024);
    drop(fs);
    assert_fsck_clean(&img);
}
