//! An open racing with the unlink of the file's last name, through the
//! FUSE adapter: the open must either keep the inode alive (an orphan
//! freed at the release) or fail with ESTALE. Counting the open after a
//! liveness check made outside the inode's lock let it land on an inode
//! the unlink had just freed; the writes through it then allocated blocks
//! that no live inode owned (e2fsck: "Block bitmap differences"), as the
//! concurrent soak (xtests rw/030) found.

use std::sync::Arc;
use std::time::Duration;

use fuse4fs::fuse::adapter::Ext4Adapter;
use fuse4fs::fuse::ids::NodeId;
use fuse4fs::fuse::ops::{Errno, FuseOps};

use crate::common::{fsck, mkfs, open_rw, require, root_ctx as ctx};

const ROOT: NodeId = NodeId::ROOT;

/// One thread's share: creates (each written and released) and unlinks
/// of two names, at random; the files it wrote.
fn churn(a: &Ext4Adapter, seed: u64, rounds: u32) -> u32 {
    let mut rng = fastrand::Rng::with_seed(seed);
    let block = vec![7u8; 4096];
    let mut written = 0;
    for _ in 0..rounds {
        let name: &[u8] = if rng.bool() { b"f" } else { b"g" };
        if rng.u8(0..3) == 0 {
            let _ = a.unlink(&ctx(), ROOT, name);
            continue;
        }
        let (e, open) = match a.create(&ctx(), ROOT, name, 0o644, 0, libc::O_RDWR as u32) {
            Ok(x) => x,
            // The name exists, or the file was unlinked and freed between
            // its creation and its open.
            Err(Errno(libc::EEXIST | libc::ESTALE)) => continue,
            Err(e) => panic!("create: {e:?}"),
        };
        a.write(&ctx(), e.nodeid, open.fh, 0, &block, 0, 0).unwrap();
        written += 1;
        a.release(&ctx(), e.nodeid, open.fh, 0).unwrap();
    }
    written
}

#[test]
fn open_racing_with_the_last_unlink_never_writes_to_a_freed_inode() {
    require(&["mkfs.ext4", "e2fsck"]);
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), &["-b", "4096"], "64M");
    let fs = open_rw(&img);
    let free0 = fs.stats().free_blocks;
    let a = Arc::new(Ext4Adapter::new(fs, Duration::from_secs(1)));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let a = a.clone();
            std::thread::spawn(move || churn(&a, t, 3000))
        })
        .collect();
    let written: u32 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(written > 1000, "{written} files written");
    let _ = a.unlink(&ctx(), ROOT, b"f");
    let _ = a.unlink(&ctx(), ROOT, b"g");
    a.fs().sync().unwrap();
    let free = a.fs().stats().free_blocks;
    drop(a);
    let (clean, text) = fsck(&img);
    assert!(clean, "e2fsck -fn:\n{text}");
    assert_eq!(free, free0, "every block came back");
}
