//! Block allocation: a run allocated in a never-initialised group and then
//! freed leaves a filesystem e2fsck calls clean (so the bitmap we built from
//! the geometry is exactly the kernel's); ENOSPC is clean; concurrent
//! transactions get disjoint blocks; a dropped transaction gives its
//! reservation back.

use std::collections::HashSet;
use std::sync::Arc;

use fuse4fs::ext4::BlockNo;
use fuse4fs::fs::FsError;

use crate::common::{fsck, groups_flagged, mkfs, open_rw as rw, require};

const TOOLS: &[&str] = &["mkfs.ext4", "e2fsck", "dumpe2fs"];

fn uninit_groups(img: &std::path::Path) -> Vec<u32> {
    groups_flagged(img, "BLOCK_UNINIT")
}

fn cycle_in_uninit_group(args: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), args, "64M");
    let groups = uninit_groups(&img);
    assert!(!groups.is_empty(), "mkfs left no BLOCK_UNINIT group");
    let fs = rw(&img);
    let before = fs.stats();
    let mut got = Vec::new();
    for &g in groups.iter().take(3) {
        let goal = BlockNo(fs.superblock().group_first_block(g).0 + 50);
        let mut tx = fs.begin().unwrap();
        let (b, n) = tx.alloc_blocks(goal, 40).unwrap();
        tx.commit().unwrap();
        // The goal's group was empty past its metadata: the whole run comes
        // from it, at or after the goal.
        let sb = fs.superblock();
        let end = sb.group_first_block(g).0 + sb.group_blocks(g) as u64;
        assert!(
            b >= goal && b.0 + n as u64 <= end && n == 40,
            "group {g}: got {b}+{n}"
        );
        got.push((b, n));
    }
    // Allocated but owned by nobody: e2fsck must see exactly that.
    let (clean, text) = fsck(&img);
    assert!(
        !clean && text.contains("Block bitmap differences"),
        "{text}"
    );
    assert!(!text.contains("checksum"), "{text}");
    let mut tx = fs.begin().unwrap();
    for (b, n) in got {
        tx.free_blocks(b, n).unwrap();
    }
    tx.commit().unwrap();
    assert_eq!(fs.stats(), before);
    let (clean, text) = fsck(&img);
    assert!(clean, "after freeing:\n{text}");
    assert!(
        uninit_groups(&img).len() < groups.len(),
        "allocation initialised the groups"
    );
}

#[test]
fn uninit_group_bitmaps_match_the_kernel_metadata_csum_flex_bg() {
    require(TOOLS);
    cycle_in_uninit_group(&["-b", "1024"]);
}

#[test]
fn uninit_group_bitmaps_match_the_kernel_gdt_csum_no_flex_bg() {
    require(TOOLS);
    cycle_in_uninit_group(&["-b", "1024", "-O", "^metadata_csum,^flex_bg,uninit_bg"]);
}

#[test]
fn uninit_group_bitmaps_match_the_kernel_meta_bg() {
    require(TOOLS);
    cycle_in_uninit_group(&["-b", "1024", "-O", "meta_bg,^resize_inode"]);
}

#[test]
fn uninit_group_bitmaps_pad_short_groups() {
    // 4096 blocks a group on 4 KiB blocks: most of the bitmap block is
    // padding, which must read as in use.
    require(TOOLS);
    cycle_in_uninit_group(&["-b", "4096", "-g", "4096"]);
}

#[test]
fn enospc_then_free_everything() {
    require(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), &["-b", "1024"], "4M");
    let fs = rw(&img);
    let mut runs = Vec::new();
    loop {
        let mut tx = fs.begin().unwrap();
        match tx.alloc_blocks(BlockNo(0), 1000) {
            Ok(r) => {
                tx.commit().unwrap();
                runs.push(r);
            }
            Err(FsError::NoSpace) => break,
            Err(e) => panic!("{e}"),
        }
        assert!(runs.len() < 10_000);
    }
    assert_eq!(fs.stats().free_blocks, 0);
    let mut tx = fs.begin().unwrap();
    for (b, n) in runs {
        tx.free_blocks(b, n).unwrap();
    }
    tx.commit().unwrap();
    let (clean, text) = fsck(&img);
    assert!(clean, "{text}");
}

#[test]
fn concurrent_allocations_are_disjoint_and_drops_release() {
    require(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), &["-b", "1024"], "32M");
    let fs = Arc::new(rw(&img));
    // A dropped transaction gives its reservation back.
    let first = {
        let mut tx = fs.begin().unwrap();
        tx.alloc_blocks(BlockNo(2000), 8).unwrap()
    };
    let mut tx = fs.begin().unwrap();
    assert_eq!(tx.alloc_blocks(BlockNo(2000), 8).unwrap(), first);
    drop(tx);

    let threads: Vec<_> = (0..4)
        .map(|_| {
            let fs = fs.clone();
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                for _ in 0..200 {
                    let mut tx = fs.begin().unwrap();
                    let (b, n) = tx.alloc_blocks(BlockNo(2000), 3).unwrap();
                    tx.commit().unwrap();
                    mine.extend((0..n as u64).map(|i| b.0 + i));
                }
                mine
            })
        })
        .collect();
    let mut seen = HashSet::new();
    let mut all = Vec::new();
    for t in threads {
        for b in t.join().unwrap() {
            assert!(seen.insert(b), "block {b} handed out twice");
            all.push(b);
        }
    }
    let mut tx = fs.begin().unwrap();
    for b in all {
        tx.free_blocks(BlockNo(b), 1).unwrap();
    }
    tx.commit().unwrap();
    let (clean, text) = fsck(&img);
    assert!(clean, "{text}");
}

/// Block `what` ("Block bitmap" or "Inode bitmap") of group 0, as
/// dumpe2fs prints it.
fn group0_bitmap(img: &std::path::Path, what: &str) -> u64 {
    let out = crate::common::run("dumpe2fs", &[img.to_str().unwrap()]);
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{what} at ")))
        .unwrap_or_else(|| panic!("no '{what} at' in dumpe2fs:\n{out}"));
    let n = line.trim_start()[what.len() + 4..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap();
    n.parse().unwrap()
}

/// A bitmap whose checksum does not match its descriptor's is refused
/// by name (block or inode bitmap, and the group), never used.
#[test]
fn bitmaps_with_a_bad_checksum_are_refused_by_name() {
    require(TOOLS);
    for (what, refused) in [
        ("Block bitmap", "block bitmap of group 0"),
        ("Inode bitmap", "inode bitmap of group 0"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let img = mkfs(dir.path(), &["-b", "1024", "-O", "metadata_csum"], "16M");
        let at = group0_bitmap(&img, what);
        // A bit flipped inside what the checksum covers (the inode
        // bitmap's covers inodes_per_group bits: 256 bytes here).
        let mut bytes = std::fs::read(&img).unwrap();
        bytes[(at * 1024 + 100) as usize] ^= 0x10;
        std::fs::write(&img, &bytes).unwrap();
        let fs = rw(&img);
        let mut tx = fs.begin().unwrap();
        let err = if what == "Block bitmap" {
            tx.alloc_blocks(BlockNo(fs.superblock().group_first_block(0).0 + 2000), 1)
                .map(|_| ())
                .unwrap_err()
        } else {
            tx.alloc_inode(0, false).map(|_| ()).unwrap_err()
        };
        assert!(err.to_string().contains(refused), "{what}: {err}");
    }
}
