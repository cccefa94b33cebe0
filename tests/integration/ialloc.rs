//! Inode allocation: directories spread over groups, files stay near their
//! parent; allocating in INODE_UNINIT/BLOCK_UNINIT groups and freeing again
//! leaves e2fsck clean; ENOSPC when inodes run out; concurrent
//! transactions get distinct inodes.

use std::collections::HashSet;
use std::sync::Arc;

use fuse4fs::ext4::InodeNo;
use fuse4fs::fs::FsError;

use crate::common::{
    dumpe2fs_groups as group_info, fsck, groups_flagged, mkfs, open_rw as rw, require,
};

const TOOLS: &[&str] = &["mkfs.ext4", "e2fsck", "dumpe2fs"];

fn inode_uninit_groups(img: &std::path::Path) -> usize {
    groups_flagged(img, "INODE_UNINIT").len()
}

fn cycle(args: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), args, "64M");
    let uninit_before = inode_uninit_groups(&img);
    let fs = rw(&img);
    let ipg = fs.superblock().inodes_per_group;
    let before = fs.stats();
    let mut tx = fs.begin().unwrap();
    let dirs: Vec<InodeNo> = (0..3).map(|_| tx.alloc_inode(0, true).unwrap()).collect();
    let files: Vec<InodeNo> = (0..5).map(|_| tx.alloc_inode(0, false).unwrap()).collect();
    tx.commit().unwrap();
    assert!(
        files.iter().all(|i| (i.0 - 1) / ipg == 0),
        "files near the parent: {files:?}"
    );
    assert!(
        dirs.iter().any(|i| (i.0 - 1) / ipg != 0),
        "directories spread out: {dirs:?}"
    );
    let all: HashSet<u32> = dirs.iter().chain(&files).map(|i| i.0).collect();
    assert_eq!(all.len(), 8);
    assert!(files.iter().all(|i| i.0 >= fs.superblock().first_ino));
    assert!(
        inode_uninit_groups(&img) < uninit_before,
        "an INODE_UNINIT group was initialised"
    );
    // As the kernel: a group holding inodes has an initialised block
    // bitmap, and no used inode lies in the tail bg_itable_unused covers.
    let info = group_info(&img);
    for i in dirs.iter().chain(&files) {
        let (g, index) = ((i.0 - 1) / ipg, (i.0 - 1) % ipg);
        let (flags, unused) = &info[g as usize];
        assert!(
            !flags.contains("BLOCK_UNINIT") && !flags.contains("INODE_UNINIT"),
            "{i}: {flags}"
        );
        assert!(
            *unused <= ipg - (index + 1),
            "{i}: group {g} claims {unused} unused inodes"
        );
    }
    assert_eq!(fs.stats().free_inodes, before.free_inodes - 8);
    let mut tx = fs.begin().unwrap();
    for &d in &dirs {
        tx.free_inode(d, true).unwrap();
    }
    for &f in &files {
        tx.free_inode(f, false).unwrap();
    }
    tx.commit().unwrap();
    assert_eq!(fs.stats().free_inodes, before.free_inodes);
    let (clean, text) = fsck(&img);
    assert!(clean, "{text}");
}

#[test]
fn alloc_and_free_in_uninit_groups_metadata_csum() {
    require(TOOLS);
    cycle(&["-b", "1024"]);
}

#[test]
fn alloc_and_free_in_uninit_groups_gdt_csum() {
    require(TOOLS);
    cycle(&["-b", "1024", "-O", "^metadata_csum,^flex_bg,uninit_bg"]);
}

#[test]
fn enospc_when_inodes_run_out() {
    require(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), &["-b", "1024", "-N", "64"], "8M");
    let fs = rw(&img);
    let mut got = Vec::new();
    loop {
        let mut tx = fs.begin().unwrap();
        match tx.alloc_inode(0, false) {
            Ok(i) => {
                tx.commit().unwrap();
                got.push(i);
            }
            Err(FsError::NoSpace) => break,
            Err(e) => panic!("{e}"),
        }
        assert!(got.len() <= 64);
    }
    assert_eq!(fs.stats().free_inodes, 0);
    let mut tx = fs.begin().unwrap();
    for i in got {
        tx.free_inode(i, false).unwrap();
    }
    tx.commit().unwrap();
    let (clean, text) = fsck(&img);
    assert!(clean, "{text}");
}

#[test]
fn concurrent_inode_allocations_are_distinct() {
    require(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), &["-b", "1024"], "32M");
    let fs = Arc::new(rw(&img));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let fs = fs.clone();
            std::thread::spawn(move || {
                (0..100)
                    .map(|_| {
                        let mut tx = fs.begin().unwrap();
                        let i = tx.alloc_inode(0, t % 2 == 0).unwrap();
                        tx.commit().unwrap();
                        (i, t % 2 == 0)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut seen = HashSet::new();
    let mut all = Vec::new();
    for t in threads {
        for (i, d) in t.join().unwrap() {
            assert!(seen.insert(i.0), "{i} handed out twice");
            all.push((i, d));
        }
    }
    let mut tx = fs.begin().unwrap();
    for (i, d) in all {
        tx.free_inode(i, d).unwrap();
    }
    tx.commit().unwrap();
    let (clean, text) = fsck(&img);
    assert!(clean, "{text}");
}
