//! Namespace operations through the fs layer (no FUSE): every kind of
//! node, links, renames with flags, orphans across a "crash", full disks.
//! Each ends with e2fsck -fn clean and, where it says so, the kernel's
//! ext4 showing the same tree.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use fuse4fs::ext4::InodeNo;
use fuse4fs::ext4::inode::mode;
use fuse4fs::fs::FsError;
use fuse4fs::fs::rename::{RENAME_EXCHANGE, RENAME_NOREPLACE};

use crate::common::{
    assert_fsck_clean, fill_with_nodes, lookup, mkfs, open_rw, require, user_dir, user_file,
    user_node, with_kernel_mount,
};

const ROOT: InodeNo = InodeNo::ROOT;

const TOOLS: &[&str] = &["mkfs.ext4", "e2fsck"];

#[test]
fn every_node_kind_and_link_reaches_the_kernel() {
    require(TOOLS);
    let tmp = tempfile::tempdir().unwrap();
    let img = mkfs(tmp.path(), &[], "32M");
    let fs = open_rw(&img);
    let d = user_dir(&fs, ROOT, "d");
    let f = user_file(&fs, d, "f");
    fs.write(f, 0, b"contents", 0).unwrap();
    fs.link(f, ROOT, b"hard").unwrap();
    fs.symlink(ROOT, b"fast", b"d/f", 1000, 1000).unwrap();
    let long = "x".repeat(300);
    fs.symlink(ROOT, b"slow", long.as_bytes(), 1000, 1000)
        .unwrap();
    let edge = "y".repeat(59);
    fs.symlink(ROOT, b"edge59", edge.as_bytes(), 0, 0).unwrap();
    let edge60 = "z".repeat(60);
    fs.symlink(ROOT, b"edge60", edge60.as_bytes(), 0, 0)
        .unwrap();
    fs.make_node(ROOT, b"fifo", &user_node(mode::S_IFIFO | 0o644))
        .unwrap();
    let mut chr = user_node(mode::S_IFCHR | 0o600);
    // 300:70000 needs the new device encoding; 4:5 the old one.
    chr.rdev = (70000 & 0xff) | (300 << 8) | ((70000 & !0xff) << 12);
    fs.make_node(ROOT, b"chr", &chr).unwrap();
    let mut blk = user_node(mode::S_IFBLK | 0o600);
    blk.rdev = (4 << 8) | 5;
    fs.make_node(ROOT, b"blk", &blk).unwrap();
    fs.make_node(ROOT, b"sock", &user_node(mode::S_IFSOCK | 0o755))
        .unwrap();
    // EEXIST, and the umask applied (0o666 & !0o022).
    assert!(matches!(
        fs.make_node(ROOT, b"fifo", &user_node(mode::S_IFREG | 0o644)),
        Err(FsError::Exists)
    ));
    assert_eq!(fs.inode(f).unwrap().mode & 0o777, 0o644);
    assert_eq!(fs.inode(d).unwrap().links_count, 2);
    assert_eq!(fs.inode(ROOT).unwrap().links_count, 4);
    drop(fs);
    assert_fsck_clean(&img);
    with_kernel_mount(&img, |m: &Path| {
        assert_eq!(std::fs::read(m.join("d/f")).unwrap(), b"contents");
        assert_eq!(std::fs::read(m.join("hard")).unwrap(), b"contents");
        assert_eq!(
            std::fs::metadata(m.join("hard")).unwrap().ino(),
            std::fs::metadata(m.join("d/f")).unwrap().ino()
        );
        assert_eq!(std::fs::metadata(m.join("d/f")).unwrap().nlink(), 2);
        assert_eq!(
            std::fs::read_link(m.join("fast")).unwrap(),
            Path::new("d/f")
        );
        assert_eq!(
            std::fs::read_link(m.join("slow")).unwrap(),
            Path::new(&long)
        );
        assert_eq!(
            std::fs::read_link(m.join("edge59")).unwrap(),
            Path::new(&edge)
        );
        assert_eq!(
            std::fs::read_link(m.join("edge60")).unwrap(),
            Path::new(&edge60)
        );
        let md = |n: &str| std::fs::symlink_metadata(m.join(n)).unwrap();
        assert!(md("fifo").file_type().is_fifo());
        assert!(md("sock").file_type().is_socket());
        assert!(md("chr").file_type().is_char_device());
        assert_eq!(md("chr").rdev(), libc::makedev(300, 70000));
        assert_eq!(md("blk").rdev(), libc::makedev(4, 5));
        assert_eq!(md("d").uid(), 1000);
    });
}

#[test]
fn renames_with_flags_and_directory_moves() {
    require(TOOLS);
    let tmp = tempfile::tempdir().unwrap();
    let img = mkfs(tmp.path(), &[], "32M");
    let fs = open_rw(&img);
    let a = user_dir(&fs, ROOT, "a");
    let b = user_dir(&fs, ROOT, "b");
    let sub = user_dir(&fs, a, "sub");
    let inner = user_dir(&fs, sub, "inner");
    let x = user_file(&fs, a, "x");
    let y = user_file(&fs, b, "y");
    fs.write(y, 0, b"y data", 0).unwrap();
    // A directory cannot move below itself.
    assert!(matches!(
        fs.rename(a, b"sub", inner, b"loop", 0),
        Err(FsError::Invalid)
    ));
    // NOREPLACE over an existing name.
    let z = user_file(&fs, b, "z");
    assert!(matches!(
        fs.rename(b, b"z", b, b"y", RENAME_NOREPLACE),
        Err(FsError::Exists)
    ));
    // Plain rename over a file frees the old one.
    fs.rename(b, b"z", b, b"y", 0).unwrap();
    assert_eq!(lookup(&fs, b, "y").unwrap(), z);
    assert!(matches!(fs.live_inode(y, None), Err(FsError::Stale)));
    // A directory moves to another parent: ".." and link counts follow.
    fs.rename(a, b"sub", b, b"sub2", 0).unwrap();
    assert_eq!(lookup(&fs, sub, "..").unwrap(), b);
    assert_eq!(fs.inode(a).unwrap().links_count, 2);
    assert_eq!(fs.inode(b).unwrap().links_count, 3);
    // Over an empty directory; not over a non-empty one.
    let empty = user_dir(&fs, ROOT, "empty");
    assert!(matches!(
        fs.rename(ROOT, b"empty", b, b"sub2", 0),
        Err(FsError::NotEmpty)
    ));
    fs.rename(b, b"sub2", ROOT, b"empty", 0).unwrap();
    assert!(matches!(fs.live_inode(empty, None), Err(FsError::Stale)));
    assert_eq!(lookup(&fs, ROOT, "empty").unwrap(), sub);
    // File over directory and directory over file are refused.
    assert!(matches!(
        fs.rename(a, b"x", ROOT, b"empty", 0),
        Err(FsError::IsDir)
    ));
    assert!(matches!(
        fs.rename(ROOT, b"empty", a, b"x", 0),
        Err(FsError::NotDir)
    ));
    // EXCHANGE a directory and a file across parents.
    fs.rename(ROOT, b"empty", a, b"x", RENAME_EXCHANGE).unwrap();
    assert_eq!(lookup(&fs, a, "x").unwrap(), sub);
    assert_eq!(lookup(&fs, ROOT, "empty").unwrap(), x);
    assert_eq!(lookup(&fs, sub, "..").unwrap(), a);
    assert_eq!(lookup(&fs, inner, "..").unwrap(), sub);
    assert_eq!(fs.inode(a).unwrap().links_count, 3);
    // Two names of one inode: nothing happens.
    fs.link(z, b, b"z2").unwrap();
    fs.rename(b, b"y", b, b"z2", 0).unwrap();
    assert_eq!(lookup(&fs, b, "y").unwrap(), z);
    let root_links = fs.inode(ROOT).unwrap().links_count;
    drop(fs);
    assert_fsck_clean(&img);
    with_kernel_mount(&img, |m| {
        assert!(m.join("a/x/inner").is_dir());
        assert!(m.join("empty").is_file());
        assert_eq!(std::fs::read(m.join("b/z2")).unwrap(), b"");
        assert_eq!(std::fs::metadata(m).unwrap().nlink(), root_links as u64);
    });
}

#[test]
fn unlink_and_rmdir_rules() {
    require(TOOLS);
    let tmp = tempfile::tempdir().unwrap();
    let img = mkfs(tmp.path(), &[], "32M");
    let fs = open_rw(&img);
    let free0 = fs.stats();
    let d = user_dir(&fs, ROOT, "d");
    let f = user_file(&fs, d, "f");
    fs.write(f, 0, &vec![7u8; 100_000], 0).unwrap();
    assert!(matches!(fs.rmdir(ROOT, b"d"), Err(FsError::NotEmpty)));
    assert!(matches!(fs.unlink(ROOT, b"d"), Err(FsError::IsDir)));
    assert!(matches!(fs.rmdir(d, b"f"), Err(FsError::NotDir)));
    assert!(matches!(fs.unlink(d, b"nope"), Err(FsError::NotFound)));
    assert!(matches!(fs.unlink(d, b"."), Err(FsError::IsDir)));
    assert!(matches!(fs.unlink(d, b".."), Err(FsError::IsDir)));
    // A removal takes the entry out in its transaction before the checks
    // that refuse it: a refusal must leave both names where they were.
    assert_eq!(lookup(&fs, ROOT, "d").unwrap(), d);
    assert_eq!(lookup(&fs, d, "f").unwrap(), f);
    fs.unlink(d, b"f").unwrap();
    fs.rmdir(ROOT, b"d").unwrap();
    // Everything given back.
    let free1 = fs.stats();
    assert_eq!(free1.free_blocks, free0.free_blocks);
    assert_eq!(free1.free_inodes, free0.free_inodes);
    assert_eq!(fs.inode(ROOT).unwrap().links_count, 3);
    drop(fs);
    assert_fsck_clean(&img);
}

#[test]
fn an_open_unlinked_file_survives_until_release_or_the_next_mount() {
    require(TOOLS);
    let tmp = tempfile::tempdir().unwrap();
    let img = mkfs(tmp.path(), &[], "32M");
    let fs = open_rw(&img);
    fs.mount_rw().unwrap();
    let free0 = fs.stats();
    let a = user_file(&fs, ROOT, "a");
    let b = user_file(&fs, ROOT, "b");
    let c = user_file(&fs, ROOT, "c");
    for (i, name) in [(a, "a"), (b, "b"), (c, "c")] {
        fs.write(i, 0, &vec![1u8; 50_000], 0).unwrap();
        fs.opened(i);
        fs.unlink(ROOT, name.as_bytes()).unwrap();
    }
    // Still readable and writable by node; three on the orphan list.
    let ia = fs.live_inode(a, None).unwrap();
    assert_eq!(fs.read(&ia, 0, 10).unwrap(), vec![1u8; 10]);
    fs.write(b, 60_000, b"more", 0).unwrap();
    assert_eq!(fs.live_superblock().last_orphan, c.0);
    // Releasing the middle one unlinks it from the list.
    fs.released(b).unwrap();
    assert!(matches!(fs.live_inode(b, None), Err(FsError::Stale)));
    // "Crash" with a and c open: the next mount frees them.
    drop(fs);
    let fs = open_rw(&img);
    assert_eq!(fs.mount_rw().unwrap(), 2);
    let free1 = fs.stats();
    assert_eq!(free1.free_blocks, free0.free_blocks);
    assert_eq!(free1.free_inodes, free0.free_inodes);
    fs.unmount_clean().unwrap();
    drop(fs);
    assert_fsck_clean(&img);
}

#[test]
fn tmpfile_then_link() {
    require(TOOLS);
    let tmp = tempfile::tempdir().unwrap();
    let img = mkfs(tmp.path(), &[], "32M");
    let fs = open_rw(&img);
    let t1 = fs
        .tmpfile(ROOT, &user_node(mode::S_IFREG | 0o600))
        .unwrap()
        .ino;
    let t2 = fs
        .tmpfile(ROOT, &user_node(mode::S_IFREG | 0o600))
        .unwrap()
        .ino;
    fs.write(t1, 0, b"one", 0).unwrap();
    // t1 is not the list head (t2 is): linking it edits its predecessor.
    fs.link(t1, ROOT, b"named").unwrap();
    fs.released(t1).unwrap();
    fs.released(t2).unwrap();
    assert_eq!(fs.live_superblock().last_orphan, 0);
    assert!(matches!(fs.live_inode(t2, None), Err(FsError::Stale)));
    drop(fs);
    assert_fsck_clean(&img);
    with_kernel_mount(&img, |m| {
        assert_eq!(std::fs::read(m.join("named")).unwrap(), b"one");
    });
}

#[test]
fn full_disk_and_inode_exhaustion_change_nothing() {
    require(TOOLS);
    let tmp = tempfile::tempdir().unwrap();
    let img = mkfs(tmp.path(), &["-N", "64"], "8M");
    let fs = open_rw(&img);
    // Inodes run out first at -N 64 with small files.
    let made = fill_with_nodes(&fs, ROOT, "f", mode::S_IFREG | 0o644);
    assert!(made > 40);
    for i in 0..made {
        fs.unlink(ROOT, format!("f{i}").as_bytes()).unwrap();
    }
    // Then blocks: one file grows until ENOSPC; the failing write changes
    // nothing; deleting gives room back.
    let f = user_file(&fs, ROOT, "big");
    let chunk = vec![0xABu8; 256 * 1024];
    let mut off = 0u64;
    loop {
        match fs.write(f, off, &chunk, 0) {
            Ok(n) => off += n as u64,
            Err(FsError::NoSpace) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(fs.inode(f).unwrap().size, off);
    drop(fs);
    assert_fsck_clean(&img);
    let fs = open_rw(&img);
    fs.unlink(ROOT, b"big").unwrap();
    let g = user_file(&fs, ROOT, "again");
    fs.write(g, 0, &chunk, 0).unwrap();
    drop(fs);
    assert_fsck_clean(&img);
}
