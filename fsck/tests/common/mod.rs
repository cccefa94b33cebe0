//! Helpers for the checker's integration tests: images made with
//! e2fsprogs from a known source tree, corrupted with debugfs or byte
//! edits (checksums recomputed where the damage is meant to be something
//! else than a checksum), and judged by e2fsck and by fuse4fs-fsck.
//! Each test binary uses a subset, hence the dead_code allowance.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use fuse4fs_format::ext4::superblock::Superblock;
use fuse4fs_format::ext4::types::{Generation, InodeNo};
use fuse4fs_format::ext4::{dir, htree, xattr};

// Each test binary uses a subset.
#[allow(unused_imports)]
pub use fuse4fs_testkit::e2fs::{debugfs, debugfs_w, e2fsck, output as run, require};

/// A deterministic byte stream (xorshift), so that images built twice
/// hold the same data.
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
    fuse4fs_testkit::XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
        .take(len)
        .map(|x| (x >> 24) as u8)
        .collect()
}

/// The source tree every catalogue image is made from, and the regular
/// files it holds (image paths, "/a/small1").
pub struct Source {
    pub dir: PathBuf,
    pub files: Vec<String>,
}

/// Writes the catalogue's source tree under `root/src`:
/// - /a: small files, a hard link (/a/hl = /a/small1), a fast and a slow
///   symlink, subdirectories /a/sub (with a file) and /a/sub2;
/// - /big/large (300 KB), /big/sparse (12 data runs between holes: an
///   extent tree of depth 1), /big/other (48 KB, same shape as large's head);
/// - /d: 100 entries of 20-character names in one 4 KiB block (the torn
///   block cases);
/// - /h: 300 entries (indexed by `e2fsck -fD` after mkfs: an htree);
/// - /u/inner (a directory to unlink) holding /u/inner/file;
/// - /x/f1, /x/f2 (xattr blocks are added after mkfs);
/// - /plain: 10 files, the directory whose names get damaged.
pub fn make_source(root: &Path) -> Source {
    let src = root.join("src");
    let mut files = Vec::new();
    let mut put = |path: &str, data: &[u8]| {
        let p = src.join(path.trim_start_matches('/'));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, data).unwrap();
        files.push(path.to_string());
    };
    for i in 1..=5u64 {
        put(
            &format!("/a/small{i}"),
            format!("small file {i}\n").as_bytes(),
        );
    }
    put("/a/sub/file", b"in a subdirectory\n");
    put("/big/large", &bytes(1, 300_000));
    put("/big/other", &bytes(2, 48 * 1024));
    for i in 0..100u64 {
        put(
            &format!("/d/file_number_{i:06}"),
            format!("{i}\n").as_bytes(),
        );
    }
    for i in 0..300u64 {
        put(
            &format!("/h/an_htree_entry_with_a_long_name_{i:05}"),
            format!("h{i}\n").as_bytes(),
        );
    }
    put("/u/inner/file", b"under an unlinked directory\n");
    put("/x/f1", b"xattr holder 1\n");
    put("/x/f2", b"xattr holder 2\n");
    for i in 0..10u64 {
        put(&format!("/plain/p{i}"), format!("plain {i}\n").as_bytes());
    }
    fs::create_dir_all(src.join("a/sub2")).unwrap();
    std::os::unix::fs::symlink("small1", src.join("a/sl")).unwrap();
    std::os::unix::fs::symlink("x".repeat(100), src.join("a/longlink")).unwrap();
    fs::hard_link(src.join("a/small1"), src.join("a/hl")).unwrap();
    files.push("/a/hl".into());
    // 12 runs of 4 KiB, 64 KiB apart: more extents than the inode holds.
    let sparse = File::create(src.join("big/sparse")).unwrap();
    for i in 0..12u64 {
        sparse
            .write_all_at(&bytes(100 + i, 4096), i * 65536)
            .unwrap();
    }
    files.push("/big/sparse".into());
    Source { dir: src, files }
}

/// `mkfs.ext4 -q -F -d SRC ARGS IMG SIZE`, then `e2fsck -fyD` (indexes
/// every directory of more than one block), then the image must be
/// clean.
pub fn mkfs_from(src: &Path, img: &Path, args: &[&str], size: &str) {
    let (rc, out) = run(Command::new("mkfs.ext4")
        .args(["-q", "-F", "-d"])
        .arg(src)
        .args(args)
        .arg(img)
        .arg(size)
        .env("E2FSPROGS_FAKE_TIME", "1700000000"));
    assert_eq!(rc, 0, "mkfs.ext4: {out}");
    let (rc, out) = e2fsck(img, "-fyD");
    assert!(rc <= 1, "e2fsck -fyD after mkfs: {rc}\n{out}");
    let (rc, out) = e2fsck(img, "-fn");
    assert_eq!(rc, 0, "fresh image not clean:\n{out}");
}

/// Inode number and generation of `path`.
pub fn stat(img: &Path, path: &str) -> (u32, u32) {
    let out = debugfs(img, &format!("stat {path}"));
    let field = |name: &str| -> u32 {
        let at = out
            .find(name)
            .unwrap_or_else(|| panic!("no {name} for {path}:\n{out}"));
        out[at + name.len()..]
            .split_whitespace()
            .next()
            .and_then(|w| w.parse().ok())
            .unwrap_or_else(|| panic!("bad {name} for {path}:\n{out}"))
    };
    (field("Inode:"), field("Generation:"))
}

/// Inode number of `path`.
pub fn ino(img: &Path, path: &str) -> u32 {
    stat(img, path).0
}

/// The data blocks of `path`, in logical order (`debugfs blocks`, which
/// also lists extent tree blocks: those are left out).
pub fn blocks(img: &Path, path: &str) -> Vec<u64> {
    let tree = tree_blocks(img, path);
    debugfs(img, &format!("blocks {path}"))
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .filter(|b| !tree.contains(b))
        .collect()
}

/// The extent tree blocks of `path` (the `(ETBn):N` items of `stat`).
pub fn tree_blocks(img: &Path, path: &str) -> Vec<u64> {
    let out = debugfs(img, &format!("stat {path}"));
    out.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| w.starts_with("(ETB"))
        .filter_map(|w| w.split(':').nth(1)?.parse().ok())
        .collect()
}

/// The superblock of the image.
pub fn superblock(img: &Path) -> Superblock {
    let mut b = vec![0u8; 1024];
    File::open(img)
        .unwrap()
        .read_exact_at(&mut b, 1024)
        .unwrap();
    Superblock::parse(&b).unwrap()
}

/// Reads block `n`.
pub fn read_block(img: &Path, n: u64) -> Vec<u8> {
    let bs = superblock(img).block_size() as u64;
    let mut b = vec![0u8; bs as usize];
    File::open(img)
        .unwrap()
        .read_exact_at(&mut b, n * bs)
        .unwrap();
    b
}

/// Writes block `n`.
pub fn write_block(img: &Path, n: u64, data: &[u8]) {
    let bs = superblock(img).block_size() as u64;
    assert_eq!(data.len() as u64, bs);
    let f = OpenOptions::new().write(true).open(img).unwrap();
    f.write_all_at(data, n * bs).unwrap();
    f.sync_all().unwrap();
}

/// Byte offset of inode `ino` in the image (`debugfs imap`).
pub fn inode_offset(img: &Path, ino: u32) -> u64 {
    let out = debugfs(img, &format!("imap <{ino}>"));
    // "Inode 12 is part of block group 0\n\tlocated at block 35, offset 0x0b00"
    let at = out.find("located at block ").expect("imap output");
    let rest = &out[at + "located at block ".len()..];
    let block: u64 = rest.split(',').next().unwrap().trim().parse().unwrap();
    let hex = rest.split("offset 0x").nth(1).unwrap().trim();
    let off = u64::from_str_radix(hex.split_whitespace().next().unwrap(), 16).unwrap();
    block * superblock(img).block_size() as u64 + off
}

/// Which block of directory `dirpath` holds the entry `name`, and the
/// entry's offset in it.
pub fn find_entry(img: &Path, dirpath: &str, name: &str) -> (u64, usize) {
    let sb = superblock(img);
    let bs = sb.block_size() as usize;
    for b in blocks(img, dirpath) {
        let block = read_block(img, b);
        for e in dir::DirIter::new(&block, bs, sb.inodes_count, true) {
            let Ok(e) = e else { break };
            if e.inode != 0 && e.name == name.as_bytes() {
                return (b, e.offset);
            }
        }
    }
    panic!("no entry {name} in {dirpath}");
}

/// Edits the block of directory `dirpath` holding `name` with `edit`
/// (given the block and the entry's offset) and, when the block has a
/// checksum tail, sets the checksum again, so that the damage is exactly
/// the edit.
pub fn edit_dir_entry(img: &Path, dirpath: &str, name: &str, edit: impl FnOnce(&mut [u8], usize)) {
    let (b, off) = find_entry(img, dirpath, name);
    let mut block = read_block(img, b);
    edit(&mut block, off);
    reseal_leaf(img, dirpath, &mut block);
    write_block(img, b, &block);
}

/// Sets the leaf checksum of a block of `dirpath` (metadata_csum with a
/// tail only).
pub fn reseal_leaf(img: &Path, dirpath: &str, block: &mut [u8]) {
    let sb = superblock(img);
    if sb.metadata_csum() && dir::has_tail(block) {
        let (i, g) = stat(img, dirpath);
        dir::set_leaf_checksum(sb.csum_seed(), InodeNo(i), Generation(g), block);
    }
}

/// Sets the dx_tail checksum of an htree root or node of `dirpath`.
pub fn reseal_dx(img: &Path, dirpath: &str, block: &mut [u8]) {
    let sb = superblock(img);
    if sb.metadata_csum() {
        let (i, g) = stat(img, dirpath);
        assert!(htree::set_node_checksum(
            sb.csum_seed(),
            InodeNo(i),
            Generation(g),
            block
        ));
    }
}

/// Edits xattr block `n` with `edit`, then sets its checksum again.
pub fn edit_xattr_block(img: &Path, n: u64, edit: impl FnOnce(&mut [u8])) {
    let sb = superblock(img);
    let mut block = read_block(img, n);
    edit(&mut block);
    if sb.metadata_csum() {
        xattr::set_block_checksum(sb.csum_seed(), n, &mut block);
    }
    write_block(img, n, &block);
}

/// The external xattr block of `path` (its `File ACL:`), 0 if none.
pub fn xattr_block(img: &Path, path: &str) -> u64 {
    let out = debugfs(img, &format!("stat {path}"));
    let at = out.find("File ACL:").expect("File ACL field");
    out[at + 9..]
        .split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or(0)
}

/// The contents of every file in `paths` as read by debugfs (one run):
/// path → bytes, or None when debugfs cannot read it.
pub fn contents(img: &Path, paths: &[String]) -> BTreeMap<String, Option<Vec<u8>>> {
    let tmp = tempfile::tempdir().unwrap();
    let cmds: Vec<String> = paths
        .iter()
        .enumerate()
        .map(|(i, p)| format!("dump {p} {}", tmp.path().join(i.to_string()).display()))
        .collect();
    let cmds: Vec<&str> = cmds.iter().map(String::as_str).collect();
    fuse4fs_testkit::e2fs::debugfs_all(img, &cmds);
    paths
        .iter()
        .enumerate()
        .map(|(i, p)| (p.clone(), fs::read(tmp.path().join(i.to_string())).ok()))
        .collect()
}
