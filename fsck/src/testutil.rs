//! Test support for the passes' unit tests: images built with e2fsprogs,
//! what debugfs and dumpe2fs say of them, byte edits, forced runs, and a
//! minimal stand-in for passes 1 and 2 that fills `found` from a sound
//! image (in-use inodes, their blocks, directory entries, `..` and the
//! directory holding each entry), so that passes 3 and 4 can be run on
//! their own.

use fuse4fs_format::ext4::{BlockNo, InodeNo};
use std::path::{Path, PathBuf};

use fuse4fs_format::ext4::dir::DirIter;
use fuse4fs_format::ext4::inode::flags;

use crate::blockwalk::{Item, walk};
use crate::context::{DirInfo, Fsck, InodeInfo};
use crate::device::Device;
use crate::dirops;
use crate::options::{Mode, Options};
use crate::problem::Kind;
use crate::report::{Finding, Pass};
use crate::{Outcome, check_path};

pub use fuse4fs_testkit::e2fs::debugfs_rw as debugfs;
pub use fuse4fs_testkit::e2fs::require;

/// `mkfs.ext4 -q -F ARGS -d SRC img SIZE` in `dir`; the image's path.
pub fn mkfs(dir: &Path, args: &[&str], src: &Path, size: &str) -> PathBuf {
    let img = dir.join("img");
    let src = src.to_str().expect("a UTF-8 source path");
    let mut all = args.to_vec();
    all.extend(["-d", src]);
    fuse4fs_testkit::e2fs::mkfs_ext4(&img, &all, size);
    img
}

/// An image of `size` made by `mkfs.ext4 ARGS -d SRC` in `dir`, where
/// `fill` populated SRC (`dir/src`).
pub fn mkfs_filled(dir: &Path, args: &[&str], size: &str, fill: impl FnOnce(&Path)) -> PathBuf {
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    fill(&src);
    mkfs(dir, args, &src, size)
}

/// `e2fsck -fn`: whether it found the image clean, and what it said.
pub fn e2fsck(img: &Path) -> (bool, String) {
    let (code, text) = fuse4fs_testkit::e2fs::e2fsck(img, "-fn");
    (code == 0, text)
}

/// Asserts `e2fsck -fn` finds nothing in passes 1 to 4 of `img` (pass
/// 5's bitmaps and counters are left to pass 5, not run by these
/// tests); `case` names the case in the failure.
pub fn assert_clean_before_pass5(img: &Path, case: &str) {
    let left = e2fsck_before_pass5(img);
    assert!(left.is_empty(), "{case}: {left:?}");
}

/// What `e2fsck -fn` says in passes 1 to 4.
fn e2fsck_before_pass5(img: &Path) -> Vec<String> {
    let (_, text) = e2fsck(img);
    let mut inside = false;
    let mut out = Vec::new();
    for l in text.lines() {
        if l.starts_with("Pass 1:") {
            inside = true;
        } else if l.starts_with("Pass 5:") {
            inside = false;
        } else if inside && !l.starts_with("Pass ") && !l.trim().is_empty() {
            out.push(l.to_string());
        }
    }
    out
}

/// Options of a run in `mode` forced past the clean flag (the images
/// the tests make are marked clean, and a check would stop there).
pub fn forced(mode: Mode) -> Options {
    Options {
        mode,
        force: true,
        ..Options::default()
    }
}

/// The whole check of `img` in `mode`, forced.
pub fn check(img: &Path, mode: Mode) -> Outcome {
    check_path(img, &forced(mode)).expect("the check runs")
}

/// The check's state on `img` in `mode` (forced), before setup.
pub fn open(img: &Path, mode: Mode) -> Fsck {
    let opts = forced(mode);
    let dev = Device::open(img, opts.writable()).expect("image opens");
    Fsck::open(dev, opts, "img").expect("filesystem opens")
}

/// The decimal number that follows the first `marker` in `text` (how
/// debugfs and dumpe2fs print the numbers the tests look up).
pub fn number_after(text: &str, marker: &str) -> u64 {
    let rest = text
        .split(marker)
        .nth(1)
        .unwrap_or_else(|| panic!("no {marker:?} in:\n{text}"));
    let digits = rest.trim_start();
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end]
        .parse()
        .unwrap_or_else(|_| panic!("no number after {marker:?} in:\n{text}"))
}

/// `debugfs -R 'stat WHAT'` (a path or `<ino>`).
pub fn stat(img: &Path, what: &str) -> String {
    fuse4fs_testkit::e2fs::debugfs(img, &format!("stat {what}"))
}

/// The inode number of `path`.
pub fn ino_of(img: &Path, path: &str) -> u32 {
    number_after(&stat(img, path), "Inode: ") as u32
}

/// Where `path`'s inode lies: the block and the byte offset in it
/// (`debugfs imap`).
pub fn imap(img: &Path, path: &str) -> (u64, u64) {
    let text = fuse4fs_testkit::e2fs::debugfs(img, &format!("imap {path}"));
    let block = number_after(&text, "located at block ");
    let off = text
        .split("offset 0x")
        .nth(1)
        .and_then(|r| u64::from_str_radix(r.trim(), 16).ok())
        .unwrap_or_else(|| panic!("imap {path}: {text}"));
    (block, off)
}

/// The first block of group 0's inode table (dumpe2fs).
pub fn inode_table(img: &Path) -> u64 {
    let text = fuse4fs_testkit::e2fs::run(std::process::Command::new("dumpe2fs").arg(img));
    number_after(&text, "Inode table at ")
}

/// `len` bytes of `img` at `off`.
pub fn peek(img: &Path, off: u64, len: usize) -> Vec<u8> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; len];
    let f = std::fs::File::open(img).unwrap();
    f.read_exact_at(&mut buf, off).unwrap();
    buf
}

/// Writes `bytes` into `img` at `off`.
pub fn poke(img: &Path, off: u64, bytes: &[u8]) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new().write(true).open(img).unwrap();
    f.write_all_at(bytes, off).unwrap();
}

/// Runs setup, the stand-in scan, pass 3 and pass 4 on `img`; the
/// problems met and the check's state (for further looks).
pub fn run34(img: &Path, mode: Mode) -> (Vec<Finding>, Fsck) {
    let mut cx = open(img, mode);
    crate::setup::run(&mut cx).expect("setup");
    scan(&mut cx);
    cx.report.begin(Pass::Pass3);
    crate::pass3::run(&mut cx).expect("pass 3");
    cx.report.begin(Pass::Pass4);
    crate::pass4::run(&mut cx).expect("pass 4");
    cx.dev.flush().expect("flush");
    (std::mem::take(&mut cx.report.problems), cx)
}

/// The kinds of `problems`, in order.
pub fn kinds(problems: &[Finding]) -> Vec<Kind> {
    problems.iter().map(|p| p.kind).collect()
}

/// Fills `found` as passes 1 and 2 would on a sound image.
pub fn scan(cx: &mut Fsck) {
    scan_inodes(cx, false);
}

/// [`scan`], counting inodes without links as in use too (orphans).
pub fn scan_all(cx: &mut Fsck) {
    scan_inodes(cx, true);
}

fn scan_inodes(cx: &mut Fsck, unlinked: bool) {
    for ino in cx.inode_numbers() {
        let Ok(inode) = cx.read_inode(ino).expect("read inode") else {
            continue;
        };
        if (inode.links_count == 0 && !unlinked) || inode.mode == 0 {
            continue;
        }
        *cx.found.inode_mut(ino) = InodeInfo {
            ftype: (inode.mode >> 12) as u8,
            links: inode.links_count,
            refs: 0,
            empty: inode.size == 0 && inode.blocks_512 == 0,
        };
        let mut owned = Vec::new();
        if crate::blockwalk::has_block_tree(&inode, cx.bs as u32) {
            walk(cx, &inode, &mut |item| match item {
                Item::Tree { pblk, .. } => owned.push(pblk),
                Item::Data { pblk, len, .. } => owned.extend(pblk.run(len)),
            })
            .expect("walk");
        }
        if inode.file_acl != 0 {
            owned.push(BlockNo(inode.file_acl));
        }
        for b in owned {
            cx.found.blocks.set(b.bit());
        }
        if inode.is_dir() {
            cx.found.dirs.insert(
                ino,
                DirInfo {
                    generation: inode.generation,
                    indexed: inode.has_flag(flags::INDEX),
                    inline: inode.has_flag(flags::INLINE_DATA),
                    size: inode.size,
                    dotdot: InodeNo(0),
                    parent: InodeNo(0),
                    casefold: false,
                    hashed: false,
                },
            );
        }
    }
    let dirs: Vec<InodeNo> = cx.found.dirs.keys().copied().collect();
    let bs = cx.bs as usize;
    for dir in dirs {
        let inode = cx.read_inode(dir).expect("read").expect("parse");
        let mut entries: Vec<(Vec<u8>, InodeNo)> = Vec::new();
        if inode.has_flag(flags::INLINE_DATA) {
            for (name, ino, _) in dirops::inline_entries(&inode, u32::MAX, true) {
                entries.push((name, ino));
            }
        } else {
            for (_, pblk) in dirops::dir_blocks(cx, &inode).expect("dir blocks") {
                let b = cx.read_block(pblk).expect("read");
                let usable = dirops::usable_len(&b);
                for e in DirIter::new(&b[..usable], bs, u32::MAX, true).map_while(|e| e.ok()) {
                    entries.push((e.name.to_vec(), InodeNo(e.inode)));
                }
            }
        }
        for (name, ino) in entries {
            if ino.0 == 0 || !cx.inode_in_range(ino) || name == b"." {
                continue;
            }
            if name == b".." {
                if let Some(d) = cx.found.dirs.get_mut(&dir) {
                    d.dotdot = ino;
                }
                continue;
            }
            cx.found.inode_mut(ino).refs += 1;
            if let Some(d) = cx.found.dirs.get_mut(&ino) {
                d.parent = dir;
            }
        }
    }
    if let Some(d) = cx.found.dirs.get_mut(&InodeNo::ROOT) {
        d.parent = InodeNo::ROOT;
    }
}
