//! Transactions commit inode and group changes that e2fsck accepts and the
//! kernel reads back; a dropped transaction writes nothing; concurrent
//! transactions on inodes sharing one table block lose no update.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use fuse4fs::ext4::InodeNo;
use fuse4fs::ext4::inode::Timestamp;
use fuse4fs::fs::journal::transaction::GroupDelta;
use fuse4fs::fs::{Fs, FsError, FsOptions};

use crate::common::{assert_fsck_clean, fsck, mkfs, open_rw as rw, require, root_node};

const TOOLS: &[&str] = &["mkfs.ext4", "e2fsck", "debugfs"];

/// An image holding files f0..f7 (neighbours in one inode-table block).
fn image(dir: &Path) -> PathBuf {
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    for i in 0..8 {
        std::fs::write(src.join(format!("f{i}")), format!("file {i}")).unwrap();
    }
    let src = src.to_str().unwrap();
    mkfs(dir, &["-b", "4096", "-d", src], "16M")
}

fn ino_of(fs: &Fs, name: &str) -> InodeNo {
    let root = fs.inode(InodeNo::ROOT).unwrap();
    fs.lookup(&root, name.as_bytes()).unwrap().ino
}

#[test]
fn inode_changes_commit_and_e2fsck_agrees() {
    require(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path());
    let fs = rw(&img);
    let ino = ino_of(&fs, "f3");
    let mut inode = fs.inode(ino).unwrap();
    inode.uid = 123_456;
    inode.mtime = Timestamp {
        sec: 4_102_444_800,
        nsec: 5,
    }; // 2100-01-01
    let mut tx = fs.begin().unwrap();
    tx.put_inode(inode);
    tx.commit().unwrap();
    // Served at once, and from a fresh open.
    assert_eq!(fs.inode(ino).unwrap().uid, 123_456);
    let again = Fs::open(&img, &FsOptions::default()).unwrap();
    let back = again.inode(ino).unwrap();
    assert_eq!(
        (back.uid, back.mtime),
        (
            123_456,
            Timestamp {
                sec: 4_102_444_800,
                nsec: 5
            }
        )
    );
    assert_fsck_clean(&img);
    let stat = Command::new("debugfs")
        .args(["-R", "stat /f3"])
        .arg(&img)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&stat.stdout).contains("User: 123456"));
}

#[test]
fn dropped_and_failed_transactions_write_nothing() {
    require(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path());
    let before = std::fs::read(&img).unwrap();
    let fs = rw(&img);
    let mut inode = fs.inode(ino_of(&fs, "f1")).unwrap();
    inode.uid = 7;
    {
        let mut tx = fs.begin().unwrap();
        tx.put_inode(inode.clone());
    } // dropped
    // A counter that would go negative fails the commit before any write.
    let mut tx = fs.begin().unwrap();
    tx.put_inode(inode);
    tx.adjust_group(
        0,
        GroupDelta {
            used_dirs: -1_000_000,
            ..Default::default()
        },
    );
    assert!(tx.commit().is_err());
    assert_eq!(std::fs::read(&img).unwrap(), before, "the image changed");
    // A read-only filesystem refuses to start one.
    let ro = Fs::open(&img, &FsOptions::default()).unwrap();
    assert!(matches!(ro.begin(), Err(FsError::ReadOnly)));
}

#[test]
fn group_counters_and_superblock_stay_consistent() {
    require(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path());
    let fs = rw(&img);
    let before = fs.stats();
    let mut tx = fs.begin().unwrap();
    tx.adjust_group(
        0,
        GroupDelta {
            free_blocks: -3,
            free_inodes: -1,
            used_dirs: 1,
        },
    );
    tx.commit().unwrap();
    assert_eq!(fs.stats().free_blocks, before.free_blocks - 3);
    assert_eq!(fs.stats().free_inodes, before.free_inodes - 1);
    // e2fsck now sees counters that disagree with the bitmaps: proof the
    // descriptor and superblock were written (with valid checksums).
    let (_, text) = fsck(&img);
    assert!(text.contains("Free blocks count wrong"), "{text}");
    assert!(!text.contains("checksum"), "{text}");
    // Undo: consistent again.
    let mut tx = fs.begin().unwrap();
    tx.adjust_group(
        0,
        GroupDelta {
            free_blocks: 3,
            free_inodes: 1,
            used_dirs: -1,
        },
    );
    tx.commit().unwrap();
    assert_eq!(fs.stats(), before);
    assert_fsck_clean(&img);
}

#[test]
fn concurrent_commits_to_one_table_block_lose_nothing() {
    require(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path());
    let fs = Arc::new(rw(&img));
    let inos: Vec<InodeNo> = (0..8).map(|i| ino_of(&fs, &format!("f{i}"))).collect();
    let threads: Vec<_> = inos
        .iter()
        .map(|&ino| {
            let fs = fs.clone();
            std::thread::spawn(move || {
                for round in 1..=100u32 {
                    // Each thread owns its inode (the inode lock's job).
                    let mut inode = fs.inode(ino).unwrap();
                    inode.gid = ino.0 * 1000 + round;
                    let mut tx = fs.begin().unwrap();
                    tx.put_inode(inode);
                    tx.commit().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let again = Fs::open(&img, &FsOptions::default()).unwrap();
    for ino in inos {
        assert_eq!(
            again.inode(ino).unwrap().gid,
            ino.0 * 1000 + 100,
            "{ino} lost an update"
        );
    }
    assert_fsck_clean(&img);
}

/// A transaction that read a freed inode, whose number another operation
/// then gave to a new inode, refuses to commit: writing would put the
/// freed inode's old contents over the new one (a name left on a freed
/// inode, as the concurrent soak once found).
#[test]
fn a_commit_never_writes_an_old_inode_over_the_one_that_took_its_number() {
    require(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path());
    let fs = rw(&img);
    let victim = ino_of(&fs, "f3");
    fs.unlink(InodeNo::ROOT, b"f3").unwrap();
    let mut stale = fs.begin().unwrap();
    let mut old = stale.inode(victim).unwrap();
    old.size = 4096;
    stale.put_inode(old);
    let new = root_node(0o100644);
    let taken = fs.make_node(InodeNo::ROOT, b"g", &new).unwrap();
    assert_eq!(taken.ino, victim, "the new file did not take the number");
    let err = stale.commit().unwrap_err();
    assert!(err.is_corruption(), "{err:?}");
    let now = fs.inode(victim).unwrap();
    assert_eq!((now.links_count, now.size), (1, 0), "the new inode");
    assert_eq!(now.generation, taken.generation);
    fs.sync().unwrap();
    drop(fs);
    assert_fsck_clean(&img);
}
