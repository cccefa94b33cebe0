//! New inline data (src/fs/inline.rs): on an inline_data image, small
//! files written and new directories made by fuse4fs live in their inodes
//! as the kernel's ext4 puts them there (figures checked against a
//! loop-mounted image: 256-byte inodes hold 128 bytes), and grow out into
//! blocks at the same boundaries. Each image is then checked by
//! `e2fsck -fn` and by our own fuse4fs-fsck.

use std::path::Path;

use fuse4fs::ext4::InodeNo;
use fuse4fs::ext4::inode::{Inode, flags};
use fuse4fs::ext4::xattr::{self, INDEX_SYSTEM};
use fuse4fs::fs::Fs;
use fuse4fs::fs::create::NewNode;
use fuse4fs::fs::setattr::Changes;
use fuse4fs::fs::xattr::write::SetMode;
use fuse4fs_fsck::{Mode, Options as FsckOptions, check_path};

use crate::common;
use crate::common::{assert_fsck_clean, mkfs, open_rw, require, root_node};

const FILE: NewNode = root_node(0o100644);

const DIR: NewNode = root_node(0o040755);

/// Bytes a 256-byte inode (i_extra_isize 32) holds inline.
const ROOM: usize = 128;

const TOOLS: &[&str] = &["mkfs.ext4", "e2fsck", "debugfs"];

/// A fresh image (`extra` mkfs options) opened and mounted read-write.
fn image(dir: &Path, extra: &[&str]) -> (std::path::PathBuf, Fs) {
    let mut args = vec!["-b", "4096", "-I", "256"];
    args.extend(extra);
    let img = mkfs(dir, &args, "16M");
    let fs = open_rw(&img);
    fs.mount_rw().unwrap();
    (img, fs)
}

/// Unmounts, then both checkers must find the image clean.
fn finish(img: &Path, fs: Fs) {
    fs.unmount_clean().unwrap();
    drop(fs);
    assert_fsck_clean(img);
    let opts = FsckOptions {
        mode: Mode::Check,
        force: true,
        ..FsckOptions::default()
    };
    let out = check_path(img, &opts).unwrap();
    assert!(
        out.problems.is_empty(),
        "fuse4fs-fsck -fn: {:?}",
        out.problems
    );
}

fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| {
            seed.wrapping_mul(31)
                .wrapping_add((i as u8).wrapping_mul(7))
                | 1
        })
        .collect()
}

/// The length of the inode's system.data value, None when absent.
fn data_len(inode: &Inode) -> Option<usize> {
    xattr::parse_ibody(&inode.ibody_xattrs)
        .unwrap()
        .into_iter()
        .find(|e| e.index == INDEX_SYSTEM && e.name == b"data")
        .map(|e| e.value.len())
}

fn contents(fs: &Fs, ino: InodeNo) -> Vec<u8> {
    let inode = fs.inode(ino).unwrap();
    fs.read(&inode, 0, inode.size as usize).unwrap()
}

fn resize(fs: &Fs, ino: InodeNo, size: u64) {
    let c = Changes {
        size: Some(size),
        ..Default::default()
    };
    fs.setattr(ino, &c).unwrap();
}

/// What the kernel left for a file of `size` bytes written at once:
/// inline (flag alone, no blocks, system.data past i_block) up to the
/// room, extents with blocks beyond; an empty file extents and nothing.
fn assert_layout(inode: &Inode, size: usize) {
    let what = format!("{size}-byte file");
    assert_eq!(inode.size, size as u64, "{what}");
    if size == 0 {
        assert_eq!(
            inode.flags & (flags::INLINE_DATA | flags::EXTENTS),
            flags::EXTENTS
        );
        assert_eq!((inode.blocks_512, data_len(inode)), (0, None), "{what}");
    } else if size <= ROOM {
        assert_eq!(
            inode.flags & (flags::INLINE_DATA | flags::EXTENTS),
            flags::INLINE_DATA,
            "{what}"
        );
        assert_eq!(inode.blocks_512, 0, "{what}");
        assert_eq!(data_len(inode), Some(size.saturating_sub(60)), "{what}");
    } else {
        assert_eq!(
            inode.flags & (flags::INLINE_DATA | flags::EXTENTS),
            flags::EXTENTS,
            "{what}"
        );
        let blocks = size.div_ceil(4096) as u64 * 8;
        assert_eq!(
            (inode.blocks_512, data_len(inode)),
            (blocks, None),
            "{what}"
        );
    }
}

#[test]
fn small_files_start_inline_and_grow_out_at_the_room() {
    require(TOOLS);
    let tmp = tempfile::tempdir().unwrap();
    let (img, fs) = image(tmp.path(), &["-O", "inline_data"]);
    let mut made = Vec::new();
    for (i, size) in [0, 1, 59, 60, 61, 100, 127, 128, 129, 160, 5000]
        .into_iter()
        .enumerate()
    {
        let ino = fs
            .make_node(InodeNo::ROOT, format!("f{size}").as_bytes(), &FILE)
            .unwrap()
            .ino;
        let data = pattern(i as u8, size);
        if size > 0 {
            assert_eq!(fs.write(ino, 0, &data, 0).unwrap(), size);
        }
        assert_layout(&fs.inode(ino).unwrap(), size);
        assert_eq!(contents(&fs, ino), data, "{size}-byte file");
        made.push((ino, data));
    }
    // Appends: 50 then 70 bytes stay inline (120); 10 more convert.
    let ino = fs.make_node(InodeNo::ROOT, b"appended", &FILE).unwrap().ino;
    let all = pattern(9, 130);
    fs.write(ino, 0, &all[..50], 0).unwrap();
    fs.write(ino, 50, &all[50..120], 0).unwrap();
    assert_layout(&fs.inode(ino).unwrap(), 120);
    assert_eq!(contents(&fs, ino), &all[..120]);
    fs.write(ino, 120, &all[120..], 0).unwrap();
    assert_layout(&fs.inode(ino).unwrap(), 130);
    assert_eq!(contents(&fs, ino), all);
    // A write past a hole: zeros before it, inline while the end fits.
    let ino = fs.make_node(InodeNo::ROOT, b"hole", &FILE).unwrap().ino;
    fs.write(ino, 90, b"x", 0).unwrap();
    assert_layout(&fs.inode(ino).unwrap(), 91);
    let mut want = vec![0u8; 90];
    want.push(b'x');
    assert_eq!(contents(&fs, ino), want);
    // An overwrite inside an inline file stays inline.
    let (ino, mut data) = made[5].clone();
    fs.write(ino, 70, b"middle", 0).unwrap();
    data[70..76].copy_from_slice(b"middle");
    assert_layout(&fs.inode(ino).unwrap(), 100);
    assert_eq!(contents(&fs, ino), data);
    made[5].1 = data;
    finish(&img, fs);
    // Everything reads back the same after a remount.
    let fs = open_rw(&img);
    for (ino, data) in &made {
        assert_eq!(&contents(&fs, *ino), data);
    }
}

#[test]
fn truncating_inline_files_matches_the_kernel() {
    require(TOOLS);
    let tmp = tempfile::tempdir().unwrap();
    let (img, fs) = image(tmp.path(), &["-O", "inline_data"]);
    let data = pattern(3, 100);
    let ino = fs.make_node(InodeNo::ROOT, b"t", &FILE).unwrap().ino;
    fs.write(ino, 0, &data, 0).unwrap();
    // Down: system.data is cut to the size, i_block zeroed past it.
    resize(&fs, ino, 70);
    assert_layout(&fs.inode(ino).unwrap(), 70);
    assert_eq!(contents(&fs, ino), &data[..70]);
    resize(&fs, ino, 10);
    let inode = fs.inode(ino).unwrap();
    assert_layout(&inode, 10);
    assert!(inode.block[10..].iter().all(|&b| b == 0), "i_block zeroed");
    // Up within the 60 bytes stored: still inline, zeros read.
    resize(&fs, ino, 50);
    assert_layout(&fs.inode(ino).unwrap(), 50);
    let mut want = data[..10].to_vec();
    want.resize(50, 0);
    assert_eq!(contents(&fs, ino), want);
    // Up past what is stored (the kernel converts even within the room).
    resize(&fs, ino, 100);
    let inode = fs.inode(ino).unwrap();
    assert_eq!(
        inode.flags & (flags::INLINE_DATA | flags::EXTENTS),
        flags::EXTENTS
    );
    assert_eq!(
        (inode.size, inode.blocks_512, data_len(&inode)),
        (100, 8, None)
    );
    want.resize(100, 0);
    assert_eq!(contents(&fs, ino), want);
    // To zero and written again: inline.
    let ino2 = fs.make_node(InodeNo::ROOT, b"t2", &FILE).unwrap().ino;
    fs.write(ino2, 0, &data, 0).unwrap();
    resize(&fs, ino2, 0);
    let inode = fs.inode(ino2).unwrap();
    assert!(inode.has_flag(flags::INLINE_DATA));
    assert_eq!((inode.size, data_len(&inode)), (0, Some(0)));
    fs.write(ino2, 0, b"xy", 0).unwrap();
    assert_layout(&fs.inode(ino2).unwrap(), 2);
    assert_eq!(contents(&fs, ino2), b"xy");
    finish(&img, fs);
}

#[test]
fn new_directories_start_inline_and_grow_out() {
    require(TOOLS);
    let tmp = tempfile::tempdir().unwrap();
    let (img, fs) = image(tmp.path(), &["-O", "inline_data"]);
    let d = fs.make_node(InodeNo::ROOT, b"d", &DIR).unwrap();
    assert_eq!(
        d.flags & (flags::INLINE_DATA | flags::EXTENTS),
        flags::INLINE_DATA
    );
    assert_eq!((d.size, d.blocks_512, data_len(&d)), (60, 0, Some(0)));
    assert_eq!(&d.block[..4], &InodeNo::ROOT.0.to_le_bytes());
    assert_eq!(d.links_count, 2);
    // Three 12-byte records fit the 56 bytes after "..".
    let mut names = Vec::new();
    for n in ["a", "bb", "ccc"] {
        let f = fs.make_node(d.ino, n.as_bytes(), &FILE).unwrap();
        names.push((n.to_string(), f.ino));
    }
    let sub = fs.make_node(d.ino, b"sub", &DIR).unwrap();
    let d_now = fs.inode(d.ino).unwrap();
    assert!(d_now.has_flag(flags::INLINE_DATA), "4 short names fit");
    assert_eq!(fs.lookup(&sub, b"..").unwrap().ino, d.ino);
    names.push(("sub".into(), sub.ino));
    // i_block full: system.data takes the inode's whole room (68 bytes)
    // at once, five more 12-byte records.
    for n in ["eeee", "e1", "e2", "e3", "e4"] {
        let f = fs.make_node(d.ino, n.as_bytes(), &FILE).unwrap();
        names.push((n.to_string(), f.ino));
        let d_now = fs.inode(d.ino).unwrap();
        assert!(d_now.has_flag(flags::INLINE_DATA), "{n} fits");
        assert_eq!((d_now.size, data_len(&d_now)), (128, Some(68)), "{n}");
    }
    let f = fs.make_node(d.ino, b"e5", &FILE).unwrap();
    names.push(("e5".into(), f.ino));
    let d_now = fs.inode(d.ino).unwrap();
    assert_eq!(
        d_now.flags & (flags::INLINE_DATA | flags::EXTENTS),
        flags::EXTENTS,
        "grown out"
    );
    assert_eq!(
        (d_now.size, d_now.blocks_512, data_len(&d_now)),
        (4096, 8, None)
    );
    assert_eq!(d_now.links_count, 3);
    for (n, ino) in &names {
        assert_eq!(fs.lookup(&d_now, n.as_bytes()).unwrap().ino, *ino, "{n}");
    }
    // A name longer than all the room: system.data grows (empty), the
    // name fits neither place, the directory converts with it.
    let l = fs.make_node(InodeNo::ROOT, b"long", &DIR).unwrap();
    for n in ["a", "b", "c", "d"] {
        fs.make_node(l.ino, n.as_bytes(), &FILE).unwrap();
    }
    let long = vec![b'n'; 100];
    let f = fs.make_node(l.ino, &long, &FILE).unwrap();
    let l_now = fs.inode(l.ino).unwrap();
    assert_eq!(
        l_now.flags & (flags::INLINE_DATA | flags::EXTENTS),
        flags::EXTENTS
    );
    assert_eq!(fs.lookup(&l_now, &long).unwrap().ino, f.ino);
    let mut seen = Vec::new();
    fs.readdir(&l_now, 0, |e| {
        seen.push(e.name.to_vec());
        true
    })
    .unwrap();
    seen.sort();
    let mut want: Vec<Vec<u8>> = [".", "..", "a", "b", "c", "d"]
        .iter()
        .map(|n| n.as_bytes().to_vec())
        .collect();
    want.push(long.clone());
    want.sort();
    assert_eq!(seen, want);
    // An inline directory emptied and removed.
    let e = fs.make_node(InodeNo::ROOT, b"e", &DIR).unwrap();
    fs.make_node(e.ino, b"x", &FILE).unwrap();
    assert!(fs.rmdir(InodeNo::ROOT, b"e").is_err(), "not empty");
    fs.unlink(e.ino, b"x").unwrap();
    fs.rmdir(InodeNo::ROOT, b"e").unwrap();
    finish(&img, fs);
}

/// Other in-inode attributes take room: with a 44-byte user attribute a
/// 256-byte inode holds 64 bytes, with 48 bytes nothing (the kernel's
/// get_max_inline_xattr_value_size); directories then get a block.
#[test]
fn room_shrinks_with_other_attributes() {
    require(TOOLS);
    let tmp = tempfile::tempdir().unwrap();
    let (img, fs) = image(tmp.path(), &["-O", "inline_data"]);
    let make = |name: &str, attr: usize, size: usize| {
        let ino = fs
            .make_node(InodeNo::ROOT, name.as_bytes(), &FILE)
            .unwrap()
            .ino;
        fs.setxattr(ino, b"user.a", &vec![b'v'; attr], SetMode::Any, false)
            .unwrap();
        let data = pattern(attr as u8, size);
        fs.write(ino, 0, &data, 0).unwrap();
        assert_eq!(contents(&fs, ino), data);
        assert_eq!(
            fs.getxattr(&fs.inode(ino).unwrap(), b"user.a")
                .unwrap()
                .len(),
            attr
        );
        fs.inode(ino).unwrap()
    };
    let i = make("fits", 44, 64);
    assert!(i.has_flag(flags::INLINE_DATA));
    assert_eq!(data_len(&i), Some(4));
    let i = make("over", 44, 65);
    assert!(!i.has_flag(flags::INLINE_DATA) && i.has_flag(flags::EXTENTS));
    let i = make("none", 48, 1);
    assert!(!i.has_flag(flags::INLINE_DATA) && i.has_flag(flags::EXTENTS));
    finish(&img, fs);
}

/// Without the feature nothing is inline.
#[test]
fn no_inline_data_without_the_feature() {
    require(TOOLS);
    let tmp = tempfile::tempdir().unwrap();
    let (img, fs) = image(tmp.path(), &[]);
    let f = fs.make_node(InodeNo::ROOT, b"f", &FILE).unwrap().ino;
    fs.write(f, 0, b"small", 0).unwrap();
    let d = fs.make_node(InodeNo::ROOT, b"d", &DIR).unwrap();
    assert!(!fs.inode(f).unwrap().has_flag(flags::INLINE_DATA));
    assert!(!d.has_flag(flags::INLINE_DATA));
    assert_eq!(d.size, 4096);
    finish(&img, fs);
}

/// A kernel crash inside a truncate of an inline file leaves it on the
/// orphan list with its links (ext4_setattr adds every shrinking file);
/// the cleanup at the next mount cuts the inline data as
/// ext4_inline_data_truncate does. It used to hand the inode to the block
/// unmapper (i_block read as a block map, whose pointer 1 here names
/// another file's block) and leave the inline data whole: system.data
/// still 40 bytes behind a 10-byte file.
#[test]
fn orphan_cleanup_truncates_inline_files_in_the_inode() {
    require(TOOLS);
    let tmp = tempfile::tempdir().unwrap();
    let (img, fs) = image(tmp.path(), &["-O", "inline_data"]);
    let victim = fs.make_node(InodeNo::ROOT, b"victim", &FILE).unwrap().ino;
    let vdata = pattern(1, 8192);
    fs.write(victim, 0, &vdata, 0).unwrap();
    let vblock = fs
        .physical_block(&fs.inode(victim).unwrap(), 1)
        .unwrap()
        .unwrap();
    let f = fs.make_node(InodeNo::ROOT, b"f", &FILE).unwrap().ino;
    // i_block read as a block map: pointer 1 names the victim's block.
    let mut data = pattern(2, 100);
    data[4..8].copy_from_slice(&(vblock.0 as u32).to_le_bytes());
    fs.write(f, 0, &data, 0).unwrap();
    assert!(fs.inode(f).unwrap().has_flag(flags::INLINE_DATA));
    fs.unmount_clean().unwrap();
    drop(fs);
    // What the crash left: f cut to 10 bytes in i_size, data not yet,
    // and f at the head of the orphan list.
    for cmd in [
        format!("sif <{}> size 10", f.0),
        format!("ssv last_orphan {}", f.0),
    ] {
        common::run("debugfs", &["-w", "-R", &cmd, img.to_str().unwrap()]);
    }
    let fs = open_rw(&img);
    fs.mount_rw().unwrap();
    let inode = fs.inode(f).unwrap();
    assert!(inode.has_flag(flags::INLINE_DATA));
    assert_eq!((inode.size, data_len(&inode)), (10, Some(0)));
    assert!(inode.block[10..].iter().all(|&b| b == 0), "i_block zeroed");
    assert_eq!(contents(&fs, f), &data[..10]);
    assert_eq!(contents(&fs, victim), vdata);
    finish(&img, fs);
}

/// Bytes stored past i_size (left by another writer) read as zeros once a
/// write extends the file over them, as the kernel's zeroing keeps them.
#[test]
fn a_write_past_the_size_zeroes_stale_inline_bytes() {
    require(TOOLS);
    let tmp = tempfile::tempdir().unwrap();
    let (img, fs) = image(tmp.path(), &["-O", "inline_data"]);
    let f = fs.make_node(InodeNo::ROOT, b"f", &FILE).unwrap().ino;
    let data = pattern(4, 100);
    fs.write(f, 0, &data, 0).unwrap();
    fs.unmount_clean().unwrap();
    drop(fs);
    let cmd = format!("sif <{}> size 10", f.0);
    common::run("debugfs", &["-w", "-R", &cmd, img.to_str().unwrap()]);
    let fs = open_rw(&img);
    fs.mount_rw().unwrap();
    fs.write(f, 50, b"end", 0).unwrap();
    let mut want = data[..10].to_vec();
    want.resize(50, 0);
    want.extend_from_slice(b"end");
    let inode = fs.inode(f).unwrap();
    assert!(inode.has_flag(flags::INLINE_DATA));
    assert_eq!(inode.size, 53);
    assert_eq!(contents(&fs, f), want);
    finish(&img, fs);
}
