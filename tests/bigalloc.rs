//! bigalloc images served read-only: statfs in blocks from counts kept in
//! clusters, checked against what mkfs.ext4 wrote (dumpe2fs) for each
//! cluster geometry, without a kernel.

mod common;

use common::{mkfs, run};
use fuse4fs::fs::{Fs, FsOptions};

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
        assert!(
            Fs::open(
                &img,
                &FsOptions {
                    writable: true,
                    ..Default::default()
                }
            )
            .is_err_and(|e| e.to_string().contains("bigalloc")),
            "{bs}/{cs}: a writable open is refused, naming bigalloc"
        );
    }
}
