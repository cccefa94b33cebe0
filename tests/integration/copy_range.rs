//! copy_file_range at the filesystem layer (`Fs::copy_range`): the
//! kernel's generic checks (EISDIR, EBADF for an O_APPEND destination,
//! EPERM for an immutable one (an append-only one is written, as ext4 does), EINVAL for overlap,
//! EOVERFLOW, EFBIG), the source range clipped to its size, setuid and
//! setgid cleared as a write clears them, and copies larger than a chunk
//! byte for byte; e2fsck finds the image clean after.

use std::path::Path;

use fuse4fs::ext4::InodeNo;
use fuse4fs::ext4::inode::mode;
use fuse4fs::fs::copy::{COPY_CHUNK, CopyTo};
use fuse4fs::fs::setattr::Changes;
use fuse4fs::fs::{Fs, FsError};

use crate::common::{assert_fsck_clean, mkfs, open_rw, require, root_node};

const TOOLS: &[&str] = &["mkfs.ext4", "e2fsck", "debugfs"];

fn file(fs: &Fs, name: &str, data: &[u8]) -> InodeNo {
    let new = root_node(mode::S_IFREG | 0o644);
    let ino = fs
        .make_node(InodeNo::ROOT, name.as_bytes(), &new)
        .unwrap()
        .ino;
    if !data.is_empty() {
        fs.write(ino, 0, data, 0).unwrap();
    }
    ino
}

fn contents(fs: &Fs, ino: InodeNo) -> Vec<u8> {
    let inode = fs.inode(ino).unwrap();
    fs.read(&inode, 0, inode.size as usize).unwrap()
}

fn to(ino: InodeNo, offset: u64) -> CopyTo {
    CopyTo {
        node: ino.into(),
        offset,
        append: false,
        drop_suidgid: 0,
    }
}

/// Bytes that differ at every position (a shifted copy shows).
fn pattern(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13 ^ seed) as u8)
        .collect()
}

#[test]
fn copies_clip_and_match_byte_for_byte() {
    require(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), &["-b", "4096"], "64M");
    let fs = open_rw(&img);
    let big = pattern(3 * COPY_CHUNK as usize + 12_345, 1);
    let src = file(&fs, "src", &big);
    let dst = file(&fs, "dst", &pattern(5000, 2));

    // More than a chunk, at odd offsets, extending the destination.
    let n = fs
        .copy_range(src, 777, &to(dst, 3000), big.len() as u64)
        .unwrap();
    assert_eq!(n, big.len() as u64 - 777, "clipped to the source's end");
    let mut want = pattern(5000, 2)[..3000].to_vec();
    want.extend_from_slice(&big[777..]);
    assert_eq!(contents(&fs, dst), want);

    // At or past the source's end: nothing, and no change.
    assert_eq!(
        fs.copy_range(src, big.len() as u64, &to(dst, 0), 10)
            .unwrap(),
        0
    );
    assert_eq!(fs.copy_range(src, 1 << 40, &to(dst, 0), 10).unwrap(), 0);
    assert_eq!(contents(&fs, dst), want);

    // A small source into the middle of a larger file; past the end of
    // the destination leaves a hole that reads as zeros.
    let small = file(&fs, "small", b"0123456789");
    assert_eq!(fs.copy_range(small, 2, &to(dst, 10), 100).unwrap(), 8);
    want[10..18].copy_from_slice(b"23456789");
    assert_eq!(contents(&fs, dst), want);
    let far = want.len() as u64 + 3 * 4096 + 5;
    assert_eq!(fs.copy_range(small, 0, &to(dst, far), 10).unwrap(), 10);
    want.resize(far as usize, 0);
    want.extend_from_slice(b"0123456789");
    assert_eq!(contents(&fs, dst), want);

    // Within one file: disjoint ranges copy, overlapping ones do not.
    assert_eq!(
        fs.copy_range(src, 0, &to(src, 2 * COPY_CHUNK), 4096)
            .unwrap(),
        4096
    );
    let mut s2 = big.clone();
    let at = 2 * COPY_CHUNK as usize;
    s2.copy_within(0..4096, at);
    assert_eq!(contents(&fs, src), s2);
    assert!(matches!(
        fs.copy_range(src, 100, &to(src, 200), 4096),
        Err(FsError::Invalid)
    ));
    // Overlap is judged after clipping to the source's end.
    let end = s2.len() as u64;
    assert_eq!(
        fs.copy_range(src, end - 10, &to(src, end), 100).unwrap(),
        10
    );
    drop(fs);
    assert_fsck_clean(&img);
}

#[test]
fn refusals() {
    require(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), &["-b", "4096"], "32M");
    let fs = open_rw(&img);
    let src = file(&fs, "src", b"some bytes");
    let dst = file(&fs, "dst", b"");
    let append = CopyTo {
        append: true,
        ..to(dst, 0)
    };
    assert!(matches!(
        fs.copy_range(src, 0, &append, 4),
        Err(FsError::BadFile)
    ));
    assert!(matches!(
        fs.copy_range(src, 0, &to(InodeNo::ROOT, 0), 4),
        Err(FsError::IsDir)
    ));
    assert!(matches!(
        fs.copy_range(InodeNo::ROOT, 0, &to(dst, 0), 4),
        Err(FsError::IsDir)
    ));
    assert!(matches!(
        fs.copy_range(src, u64::MAX - 2, &to(dst, 0), 4),
        Err(FsError::Overflow)
    ));
    assert!(matches!(
        fs.copy_range(src, 0, &to(dst, 1 << 62), 4),
        Err(FsError::TooBig)
    ));
    // A destination just below the largest size (2^32 - 1 blocks of an
    // extent-mapped file) gets what fits.
    let max = ((1u64 << 32) - 1) * 4096;
    assert_eq!(fs.copy_range(src, 0, &to(dst, max - 3), 10).unwrap(), 3);
    assert!(matches!(
        fs.copy_range(src, 0, &to(dst, max), 10),
        Err(FsError::TooBig)
    ));
    assert_eq!(FsError::BadFile.errno(), libc::EBADF);
    assert_eq!(FsError::Overflow.errno(), libc::EOVERFLOW);
    drop(fs);
    assert_fsck_clean(&img);
}

fn debugfs_w(img: &Path, cmd: &str) {
    fuse4fs_testkit::e2fs::debugfs_w(img, &[cmd]);
}

#[test]
fn append_only_and_immutable_destinations_and_setid() {
    require(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), &["-b", "4096"], "32M");
    let (src, ap, im) = {
        let fs = open_rw(&img);
        let src = file(&fs, "src", b"0123456789");
        (src, file(&fs, "ap", b"x"), file(&fs, "im", b"y"))
    };
    // EXT4_EXTENTS_FL | EXT4_APPEND_FL, | EXT4_IMMUTABLE_FL.
    debugfs_w(&img, "set_inode_field /ap flags 0x80020");
    debugfs_w(&img, "set_inode_field /im flags 0x80010");
    let fs = open_rw(&img);
    // ext4 copies into an append-only file through a descriptor that is
    // not O_APPEND (one opened before the flag was set); never into an
    // immutable one.
    assert_eq!(fs.copy_range(src, 0, &to(ap, 1), 4).unwrap(), 4);
    assert!(matches!(
        fs.copy_range(src, 0, &to(im, 1), 4),
        Err(FsError::Perm)
    ));
    assert_eq!(contents(&fs, ap), b"x0123");
    assert_eq!(contents(&fs, im), b"y");

    // The bits of drop_suidgid go, as in a write; none without it.
    let s = file(&fs, "setid", b"");
    for (drop, want) in [(0, 0o6755), (0o6000, 0o0755), (0o2000, 0o4755)] {
        let c = Changes {
            mode: Some(0o6755),
            ..Default::default()
        };
        fs.setattr(s, &c).unwrap();
        let t = CopyTo {
            drop_suidgid: drop,
            ..to(s, 0)
        };
        assert_eq!(fs.copy_range(src, 0, &t, 10).unwrap(), 10);
        assert_eq!(fs.inode(s).unwrap().mode & 0o7777, want, "drop {drop:o}");
    }
    // Nothing copied, nothing cleared.
    fs.setattr(
        s,
        &Changes {
            mode: Some(0o4755),
            ..Default::default()
        },
    )
    .unwrap();
    let t = CopyTo {
        drop_suidgid: 0o6000,
        ..to(s, 0)
    };
    assert_eq!(fs.copy_range(src, 50, &t, 10).unwrap(), 0);
    assert_eq!(fs.inode(s).unwrap().mode & 0o7777, 0o4755);
    drop(fs);
    assert_fsck_clean(&img);
}
