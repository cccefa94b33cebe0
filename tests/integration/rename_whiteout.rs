//! renameat2 RENAME_WHITEOUT through the fs layer (no FUSE): the whiteout
//! left at the source name is a character device 0/0 with mode 0 owned
//! as the caller's new inode, the move is a normal rename otherwise, the
//! flag combinations answer what the kernel answers, a failure changes
//! nothing, and the image is e2fsck clean with the kernel's ext4 seeing
//! the same.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use fuse4fs::ext4::InodeNo;
use fuse4fs::ext4::inode::mode;
use fuse4fs::fs::rename::{RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT, Renamer};
use fuse4fs::fs::{Fs, FsError};

use crate::common::{
    assert_fsck_clean, fill_with_nodes, lookup, mkfs, open_rw, require, user_dir, user_file,
    with_kernel_mount,
};

const ROOT: InodeNo = InodeNo::ROOT;
const WHO: Renamer = Renamer {
    uid: 1234,
    gid: 2345,
};

const TOOLS: &[&str] = &["mkfs.ext4", "e2fsck"];

fn links(fs: &Fs, ino: InodeNo) -> u16 {
    fs.inode(ino).unwrap().links_count
}

fn free_inodes(fs: &Fs) -> u64 {
    fs.stats().free_inodes
}

/// Asserts `ino` is a whiteout as ext4_whiteout_for_rename makes one.
fn assert_whiteout(fs: &Fs, ino: InodeNo, uid: u32, gid: u32) {
    let w = fs.inode(ino).unwrap();
    assert_eq!(w.mode, mode::S_IFCHR, "mode {:o}", w.mode);
    assert_eq!(w.rdev(), 0);
    assert_eq!((w.uid, w.gid), (uid, gid));
    assert_eq!(w.links_count, 1);
    assert_eq!(w.size, 0);
    assert_eq!(w.blocks_512, 0);
}

#[test]
fn whiteout_is_a_0_0_char_device_of_the_callers() {
    require(TOOLS);
    let tmp = tempfile::tempdir().unwrap();
    let img = mkfs(tmp.path(), &[], "32M");
    let fs = open_rw(&img);
    let d = user_dir(&fs, ROOT, "d");
    let f = user_file(&fs, d, "f");
    fs.write(f, 0, b"moved away", 0).unwrap();
    let free = free_inodes(&fs);
    fs.rename_as(d, b"f", ROOT, b"g", RENAME_WHITEOUT, WHO)
        .unwrap();
    assert_eq!(lookup(&fs, ROOT, "g").unwrap(), f);
    assert_eq!(links(&fs, f), 1);
    let w = lookup(&fs, d, "f").unwrap();
    assert_ne!(w, f);
    assert_whiteout(&fs, w, WHO.uid, WHO.gid);
    // One inode more in use; the directories' counts as after any move
    // of a file.
    assert_eq!(free_inodes(&fs), free - 1);
    assert_eq!((links(&fs, d), links(&fs, ROOT)), (2, 4));

    // A setgid directory gives its group (the whiteout is no directory:
    // it gets no setgid bit).
    let sg = user_dir(&fs, ROOT, "sg");
    let ch = fuse4fs::fs::setattr::Changes {
        mode: Some(0o2777),
        gid: Some(777),
        ..Default::default()
    };
    fs.setattr(sg, &ch).unwrap();
    user_file(&fs, sg, "h");
    fs.rename_as(sg, b"h", sg, b"h2", RENAME_WHITEOUT, WHO)
        .unwrap();
    let w2 = lookup(&fs, sg, "h").unwrap();
    assert_whiteout(&fs, w2, WHO.uid, 777);
    drop(fs);
    assert_fsck_clean(&img);
    let seen = with_kernel_mount(&img, |m: &Path| {
        for (p, gid) in [("d/f", WHO.gid), ("sg/h", 777)] {
            let md = std::fs::symlink_metadata(m.join(p)).unwrap();
            assert!(md.file_type().is_char_device(), "{p}");
            assert_eq!(md.rdev(), 0, "{p}");
            assert_eq!(md.permissions().mode() & 0o7777, 0, "{p}");
            assert_eq!((md.uid(), md.gid(), md.nlink()), (WHO.uid, gid, 1), "{p}");
        }
        assert_eq!(std::fs::read(m.join("g")).unwrap(), b"moved away");
        assert_eq!(std::fs::read(m.join("sg/h2")).unwrap(), b"");
    });
    assert!(seen.is_some(), "the kernel could not mount the image");
}

#[test]
fn flag_combinations_answer_as_the_kernel() {
    require(TOOLS);
    let tmp = tempfile::tempdir().unwrap();
    let img = mkfs(tmp.path(), &[], "32M");
    let fs = open_rw(&img);
    let a = user_file(&fs, ROOT, "a");
    let b = user_file(&fs, ROOT, "b");
    let free = free_inodes(&fs);
    let same = |fs: &Fs| {
        assert_eq!(lookup(fs, ROOT, "a").unwrap(), a);
        assert_eq!(lookup(fs, ROOT, "b").unwrap(), b);
        assert_eq!(free_inodes(fs), free);
    };
    // EXCHANGE with WHITEOUT (or NOREPLACE), unknown flags: EINVAL.
    for flags in [
        RENAME_EXCHANGE | RENAME_WHITEOUT,
        RENAME_EXCHANGE | RENAME_WHITEOUT | RENAME_NOREPLACE,
        RENAME_EXCHANGE | RENAME_NOREPLACE,
        RENAME_WHITEOUT | 8,
    ] {
        assert!(
            matches!(
                fs.rename_as(ROOT, b"a", ROOT, b"b", flags, WHO),
                Err(FsError::Invalid)
            ),
            "flags {flags:#x}"
        );
        same(&fs);
    }
    // A whiteout needs an owner: plain `rename` refuses the flag.
    assert!(matches!(
        fs.rename(ROOT, b"a", ROOT, b"b", RENAME_WHITEOUT),
        Err(FsError::Invalid)
    ));
    same(&fs);
    // NOREPLACE|WHITEOUT onto an existing name: EEXIST, no whiteout made.
    assert!(matches!(
        fs.rename_as(
            ROOT,
            b"a",
            ROOT,
            b"b",
            RENAME_NOREPLACE | RENAME_WHITEOUT,
            WHO
        ),
        Err(FsError::Exists)
    ));
    same(&fs);
    // A missing source: ENOENT, nothing allocated.
    assert!(matches!(
        fs.rename_as(ROOT, b"nope", ROOT, b"c", RENAME_WHITEOUT, WHO),
        Err(FsError::NotFound)
    ));
    same(&fs);
    // NOREPLACE|WHITEOUT onto a new name: allowed.
    fs.rename_as(
        ROOT,
        b"a",
        ROOT,
        b"c",
        RENAME_NOREPLACE | RENAME_WHITEOUT,
        WHO,
    )
    .unwrap();
    assert_eq!(lookup(&fs, ROOT, "c").unwrap(), a);
    assert_whiteout(&fs, lookup(&fs, ROOT, "a").unwrap(), WHO.uid, WHO.gid);
    assert_eq!(free_inodes(&fs), free - 1);
    // WHITEOUT over an existing file: replaced as by a plain rename (its
    // inode freed), the whiteout at the source name.
    fs.rename_as(ROOT, b"c", ROOT, b"b", RENAME_WHITEOUT, WHO)
        .unwrap();
    assert_eq!(lookup(&fs, ROOT, "b").unwrap(), a);
    assert_eq!(links(&fs, a), 1);
    assert_eq!(links(&fs, b), 0);
    assert_whiteout(&fs, lookup(&fs, ROOT, "c").unwrap(), WHO.uid, WHO.gid);
    assert_eq!(free_inodes(&fs), free - 1);
    // A whiteout renamed with a whiteout: a new one takes its place.
    let wa = lookup(&fs, ROOT, "a").unwrap();
    fs.rename_as(ROOT, b"a", ROOT, b"a2", RENAME_WHITEOUT, WHO)
        .unwrap();
    assert_eq!(lookup(&fs, ROOT, "a2").unwrap(), wa);
    assert_ne!(lookup(&fs, ROOT, "a").unwrap(), wa);
    // Two names of one inode: nothing done (no whiteout either).
    fs.link(a, ROOT, b"alias").unwrap();
    let free2 = free_inodes(&fs);
    fs.rename_as(ROOT, b"b", ROOT, b"alias", RENAME_WHITEOUT, WHO)
        .unwrap();
    assert_eq!(lookup(&fs, ROOT, "b").unwrap(), a);
    assert_eq!(lookup(&fs, ROOT, "alias").unwrap(), a);
    assert_eq!(free_inodes(&fs), free2);
    drop(fs);
    assert_fsck_clean(&img);
}

#[test]
fn directory_sources_keep_link_counts_right() {
    require(TOOLS);
    let tmp = tempfile::tempdir().unwrap();
    let img = mkfs(tmp.path(), &[], "32M");
    let fs = open_rw(&img);
    let a = user_dir(&fs, ROOT, "a");
    let b = user_dir(&fs, ROOT, "b");
    let sub = user_dir(&fs, a, "sub");
    user_file(&fs, sub, "inside");
    assert_eq!(links(&fs, a), 3);
    // To another parent: the old parent loses the subdirectory, the new
    // one gains it; ".." follows; the whiteout is no subdirectory.
    fs.rename_as(a, b"sub", b, b"sub", RENAME_WHITEOUT, WHO)
        .unwrap();
    assert_eq!(lookup(&fs, b, "sub").unwrap(), sub);
    assert_eq!(lookup(&fs, sub, "..").unwrap(), b);
    assert_eq!((links(&fs, a), links(&fs, b), links(&fs, sub)), (2, 3, 2));
    assert_whiteout(&fs, lookup(&fs, a, "sub").unwrap(), WHO.uid, WHO.gid);
    // Within one directory: counts unchanged.
    fs.rename_as(b, b"sub", b, b"sub2", RENAME_WHITEOUT, WHO)
        .unwrap();
    assert_eq!((links(&fs, b), links(&fs, sub)), (3, 2));
    // Over an empty directory elsewhere: it is freed, the new parent
    // keeps its count, the old one loses one.
    let empty = user_dir(&fs, a, "empty");
    assert_eq!(links(&fs, a), 3);
    fs.rename_as(b, b"sub2", a, b"empty", RENAME_WHITEOUT, WHO)
        .unwrap();
    assert_eq!(lookup(&fs, a, "empty").unwrap(), sub);
    assert_eq!(links(&fs, empty), 0);
    assert_eq!((links(&fs, a), links(&fs, b)), (3, 2));
    assert_eq!(lookup(&fs, sub, "..").unwrap(), a);
    // Over a full directory: ENOTEMPTY, nothing made.
    let full = user_dir(&fs, b, "full");
    user_file(&fs, full, "x");
    let free = free_inodes(&fs);
    assert!(matches!(
        fs.rename_as(a, b"empty", b, b"full", RENAME_WHITEOUT, WHO),
        Err(FsError::NotEmpty)
    ));
    assert_eq!(free_inodes(&fs), free);
    drop(fs);
    assert_fsck_clean(&img);
    let seen = with_kernel_mount(&img, |m: &Path| {
        let md = |p: &str| std::fs::symlink_metadata(m.join(p)).unwrap();
        for p in ["a/sub", "b/sub", "b/sub2"] {
            assert!(md(p).file_type().is_char_device(), "{p}");
            assert_eq!(md(p).rdev(), 0, "{p}");
        }
        assert_eq!(std::fs::read(m.join("a/empty/inside")).unwrap(), b"");
        assert_eq!((md("a").nlink(), md("b").nlink()), (3, 3));
    });
    assert!(seen.is_some(), "the kernel could not mount the image");
}

#[test]
fn no_free_inode_leaves_the_rename_undone() {
    require(TOOLS);
    let tmp = tempfile::tempdir().unwrap();
    let img = mkfs(tmp.path(), &["-N", "64"], "8M");
    let fs = open_rw(&img);
    let f = user_file(&fs, ROOT, "f");
    fill_with_nodes(&fs, ROOT, "fill", mode::S_IFIFO | 0o644);
    assert_eq!(free_inodes(&fs), 0);
    assert!(matches!(
        fs.rename_as(ROOT, b"f", ROOT, b"g", RENAME_WHITEOUT, WHO),
        Err(FsError::NoSpace)
    ));
    assert_eq!(lookup(&fs, ROOT, "f").unwrap(), f);
    assert!(matches!(lookup(&fs, ROOT, "g"), Err(FsError::NotFound)));
    // A plain rename still works.
    fs.rename(ROOT, b"f", ROOT, b"g", 0).unwrap();
    drop(fs);
    assert_fsck_clean(&img);
}
