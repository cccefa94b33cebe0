//! Hostile images: random damage to the metadata of small images. The
//! checker must never panic or hang, `-n` must never write, and nothing
//! may change the image's length; `-y` must leave an image that a second
//! `-y` run does not find worse (it may still find what a first repair
//! uncovers, as e2fsck may).

mod common;

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use common::{
    blocks, bytes, inode_offset, make_source, mkfs_from, require, superblock, tree_blocks,
};
use fuse4fs_fsck::{Mode, Options, Outcome, check_path};

/// Runs one check on a thread; None when it panicked, an error says
/// which (and a hang fails the test).
fn check_bounded(img: &Path, mode: Mode) -> Result<Option<Outcome>, String> {
    let (tx, rx) = mpsc::channel();
    let path = img.to_path_buf();
    let h = std::thread::spawn(move || {
        let opts = Options {
            mode,
            force: true,
            ..Options::default()
        };
        let _ = tx.send(check_path(&path, &opts).ok());
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(out) => {
            let _ = h.join();
            Ok(out)
        }
        Err(mpsc::RecvTimeoutError::Timeout) => Err(format!("{mode:?}: hung for 60 s")),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let e = h.join().err().map(|p| {
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            });
            Err(format!("{mode:?}: panicked: {e:?}"))
        }
    }
}

/// The metadata blocks worth damaging: descriptors, group 0's bitmaps,
/// the inode-table blocks holding the files' inodes, directory blocks
/// (linear and htree) and extent tree blocks.
fn targets(img: &Path) -> Vec<u64> {
    let sb = superblock(img);
    let bs = sb.block_size() as u64;
    let mut t = vec![sb.first_data_block as u64 + 1];
    for path in [
        "/",
        "/a",
        "/a/sub",
        "/d",
        "/h",
        "/plain",
        "/u",
        "/lost+found",
    ] {
        t.extend(blocks(img, path));
    }
    t.extend(tree_blocks(img, "/big/sparse"));
    for path in ["/a/small1", "/d", "/h", "/big/sparse", "/x/f1", "/plain"] {
        t.push(inode_offset(img, common::ino(img, path)) / bs);
    }
    let gd = common::read_block(img, sb.first_data_block as u64 + 1);
    let get_le32 = |o: usize| u32::from_le_bytes(gd[o..o + 4].try_into().unwrap()) as u64;
    t.push(get_le32(0));
    t.push(get_le32(4));
    t.sort();
    t.dedup();
    t
}

/// Flips bytes in, fills with garbage or tears one of the `targets`.
fn damage(img: &Path, seed: u64, targets: &[u64], block: usize) {
    let mut data = std::fs::read(img).unwrap();
    let r = bytes(seed, 64);
    let pick = |i: usize| u64::from_le_bytes(r[i * 8..i * 8 + 8].try_into().unwrap());
    let b = targets[(pick(0) % targets.len() as u64) as usize] as usize;
    let blk = &mut data[b * block..(b + 1) * block];
    match seed % 3 {
        0 => {
            // A handful of random bytes.
            for i in 1..7 {
                blk[(pick(i) % block as u64) as usize] = r[i + 48];
            }
        }
        1 => blk.copy_from_slice(&bytes(seed ^ 0xABCD, block)),
        _ => {
            // Zeroed from a random point on (a torn write).
            let from = (pick(1) % block as u64) as usize & !3;
            blk[from..].fill(0);
        }
    }
    std::fs::write(img, &data).unwrap();
}

/// A few random bytes in the superblock's first 0x180 bytes (counts,
/// geometry, features, s_reserved_gdt_blocks...): on a filesystem
/// without metadata_csum, which would refuse them outright.
fn damage_superblock(img: &Path, seed: u64) {
    let mut data = std::fs::read(img).unwrap();
    let r = bytes(seed ^ 0x5B5B, 16);
    for i in 0..(1 + seed % 3) as usize {
        let off = 1024 + u16::from_le_bytes([r[2 * i], r[2 * i + 1]]) as usize % 0x180;
        data[off] = r[8 + i];
    }
    std::fs::write(img, &data).unwrap();
}

/// Seeds per image: `FSCK_HOSTILE_SEEDS` for a longer soak.
fn seeds(default: u64) -> u64 {
    std::env::var("FSCK_HOSTILE_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn run_cases(label: &str, mkfs_args: &[&str], size: &str, block: usize, seeds: u64) {
    run_cases_with(label, mkfs_args, size, block, seeds, false)
}

/// [`run_cases`], with the superblock damaged too when `superblock`.
fn run_cases_with(
    label: &str,
    mkfs_args: &[&str],
    size: &str,
    block: usize,
    seeds: u64,
    superblock: bool,
) {
    require(&["mkfs.ext4", "e2fsck", "debugfs"]);
    let dir = tempfile::tempdir().unwrap();
    let src = make_source(dir.path());
    let clean = dir.path().join("clean.img");
    mkfs_from(&src.dir, &clean, mkfs_args, size);
    let img = dir.path().join("img");
    let targets = targets(&clean);
    let mut failures = Vec::new();
    let mut found = 0;
    for seed in 0..seeds {
        std::fs::copy(&clean, &img).unwrap();
        damage(&img, seed, &targets, block);
        if superblock {
            damage_superblock(&img, seed);
        }
        let before = std::fs::read(&img).unwrap();
        match check_bounded(&img, Mode::Check) {
            Err(e) => failures.push(format!("{label} seed {seed}: {e}")),
            Ok(out) => {
                if out.is_some_and(|o| !o.problems.is_empty()) {
                    found += 1;
                }
                if std::fs::read(&img).unwrap() != before {
                    failures.push(format!("{label} seed {seed}: -n wrote to the image"));
                }
            }
        }
        for round in 0..2 {
            if let Err(e) = check_bounded(&img, Mode::Yes) {
                failures.push(format!("{label} seed {seed}: -y round {round}: {e}"));
                break;
            }
        }
        if std::fs::metadata(&img).unwrap().len() != before.len() as u64 {
            failures.push(format!("{label} seed {seed}: the image changed length"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("{label}: damage found in {found} of {seeds} images");
    // Most damage lands on metadata; if it stopped being found, the test
    // would be exercising nothing.
    assert!(
        found * 2 >= seeds,
        "{label}: damage found in only {found} of {seeds} images"
    );
}

#[test]
fn hostile_ext4_with_checksums() {
    run_cases(
        "ext4 1k",
        &["-b", "1024", "-I", "256"],
        "16M",
        1024,
        seeds(45),
    );
}

#[test]
fn hostile_ext4_without_checksums() {
    run_cases(
        "ext4 ^metadata_csum",
        &["-b", "1024", "-O", "^metadata_csum"],
        "16M",
        1024,
        seeds(45),
    );
}

#[test]
fn hostile_ext3() {
    run_cases(
        "ext3",
        &["-t", "ext3", "-b", "1024"],
        "16M",
        1024,
        seeds(45),
    );
}

#[test]
fn hostile_ext2_with_superblock_damage() {
    run_cases_with(
        "ext2 + superblock",
        &["-t", "ext2", "-b", "1024"],
        "16M",
        1024,
        seeds(45),
        true,
    );
}

#[test]
fn hostile_ext4_inline_data() {
    run_cases(
        "ext4 4k inline_data",
        &["-b", "4096", "-O", "inline_data"],
        "32M",
        4096,
        seeds(20),
    );
}
