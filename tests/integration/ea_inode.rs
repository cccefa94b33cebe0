//! Xattr values in their own inodes (`ea_inode`) through the `Fs` API:
//! where each size goes, the EA inode's fields and reference count, its
//! freeing on replace, remove and unlink, the owner's i_blocks and quota
//! (e2fsck -fn checks both, quota included), and a damaged count refused
//! without a change.

use std::path::Path;

use fuse4fs::ext4::InodeNo;
use fuse4fs::ext4::ea_inode;
use fuse4fs::ext4::inode::{Inode, flags, mode};
use fuse4fs::fs::create::NewNode;
use fuse4fs::fs::xattr::write::SetMode;
use fuse4fs::fs::{Fs, FsError};

use crate::common;
use crate::common::{assert_fsck_clean, mkfs, open_rw, owned_node, root_node};

const TOOLS: &[&str] = &["mkfs.ext4", "e2fsck", "debugfs"];

fn image(dir: &Path) -> std::path::PathBuf {
    mkfs(
        dir,
        &["-b", "4096", "-I", "256", "-O", "ea_inode,quota,project"],
        "64M",
    )
}

fn create(fs: &Fs, name: &str, uid: u32) -> Inode {
    let new = owned_node(mode::S_IFREG | 0o644, uid);
    fs.make_node(InodeNo::ROOT, name.as_bytes(), &new).unwrap()
}

fn value(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(seed) ^ 0x5a)
        .collect()
}

/// The EA inode `name`'s value lives in, if any.
fn ea_of(fs: &Fs, owner: InodeNo, name: &[u8]) -> Option<u32> {
    let inode = fs.inode(owner).unwrap();
    fs.xattr_entries(&inode)
        .unwrap()
        .into_iter()
        .find(|e| e.vfs_name().as_deref() == Some(name))
        .and_then(|e| e.value_inode.map(|v| v.ino.0))
}

#[test]
fn values_go_where_the_kernel_puts_them_and_ea_inodes_are_freed() {
    common::require(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path());
    let fs = open_rw(&img);
    let f = create(&fs, "f", 1000).ino;
    let blocks_before = fs.inode(f).unwrap().blocks_512;

    let big = value(20_000, 3);
    fs.setxattr(f, b"user.big", &big, SetMode::Any, false)
        .unwrap();
    fs.setxattr(f, b"user.small", b"tiny", SetMode::Any, false)
        .unwrap();
    // Over EXT4_XATTR_MIN_LARGE_EA_SIZE (4040 with 4 KiB blocks): an EA
    // inode at once. Under it and clear of the block's reserve (the
    // first 512 bytes): the block; reaching the reserve: an EA inode.
    let over = value(4041, 5);
    let under = value(3000, 7);
    let reserve = value(3700, 13);
    fs.setxattr(f, b"user.over", &over, SetMode::Any, false)
        .unwrap();
    assert!(ea_of(&fs, f, b"user.small").is_none());
    assert!(ea_of(&fs, f, b"user.over").is_some());

    let owner = fs.inode(f).unwrap();
    assert_eq!(fs.getxattr(&owner, b"user.big").unwrap(), big);
    assert_eq!(fs.getxattr(&owner, b"user.over").unwrap(), over);
    let ea_no = ea_of(&fs, f, b"user.big").unwrap();
    let ea = fs.inode(InodeNo(ea_no)).unwrap();
    assert!(ea.has_flag(flags::EA_INODE));
    assert_eq!(ea.mode, mode::S_IFREG | 0o600);
    assert_eq!((ea.uid, ea.gid, ea.links_count), (1000, 1000, 1));
    assert_eq!(ea.size, 20_000);
    assert_eq!(ea_inode::refcount(&ea), 1);
    // The owner pays for 5 + 1 blocks of values (20000 and 4041 bytes).
    assert_eq!(owner.blocks_512, blocks_before + 6 * 8);
    drop(fs);
    assert_fsck_clean(&img);

    let fs = open_rw(&img);
    fs.setxattr(f, b"user.under", &under, SetMode::Any, false)
        .unwrap();
    assert!(ea_of(&fs, f, b"user.under").is_none());
    fs.setxattr(f, b"user.r", &reserve, SetMode::Any, false)
        .unwrap();
    assert!(ea_of(&fs, f, b"user.r").is_some());
    let owner = fs.inode(f).unwrap();
    assert_eq!(fs.getxattr(&owner, b"user.under").unwrap(), under);
    assert_eq!(fs.getxattr(&owner, b"user.r").unwrap(), reserve);
    // Replacing by a small value frees the EA inode.
    fs.setxattr(f, b"user.big", b"small now", SetMode::Replace, false)
        .unwrap();
    assert!(ea_of(&fs, f, b"user.big").is_none());
    assert_eq!(fs.inode(InodeNo(ea_no)).unwrap().links_count, 0);
    let over_ea = ea_of(&fs, f, b"user.over").unwrap();
    fs.removexattr(f, b"user.over").unwrap();
    assert_eq!(fs.inode(InodeNo(over_ea)).unwrap().links_count, 0);
    // A file of someone else, with one large value, unlinked.
    let g = create(&fs, "g", 2000).ino;
    fs.setxattr(g, b"user.g", &value(60_000, 9), SetMode::Any, false)
        .unwrap();
    let g_ea = ea_of(&fs, g, b"user.g").unwrap();
    fs.unlink(InodeNo::ROOT, b"g").unwrap();
    assert_eq!(fs.inode(InodeNo(g_ea)).unwrap().links_count, 0);
    drop(fs);
    assert_fsck_clean(&img);
}

#[test]
fn a_damaged_count_is_refused_and_changes_nothing() {
    common::require(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path());
    let fs = open_rw(&img);
    let f = create(&fs, "f", 0).ino;
    fs.setxattr(f, b"user.big", &value(9000, 11), SetMode::Any, false)
        .unwrap();
    let ea_no = ea_of(&fs, f, b"user.big").unwrap();
    drop(fs);
    // The count says nothing names the EA inode.
    fuse4fs_testkit::e2fs::debugfs_w(&img, &[&format!("sif <{ea_no}> version 0")]);
    let before = std::fs::read(&img).unwrap();
    let fs = open_rw(&img);
    match fs.removexattr(f, b"user.big") {
        Err(FsError::Format(e)) => assert!(e.to_string().contains("reference count"), "{e}"),
        other => panic!("removexattr over a count of 0: {other:?}"),
    }
    // A wrong hash in the EA inode: the value is refused as corrupt.
    drop(fs);
    assert_eq!(std::fs::read(&img).unwrap(), before, "nothing written");
    fuse4fs_testkit::e2fs::debugfs_w(
        &img,
        &[
            &format!("sif <{ea_no}> version 1"),
            &format!("sif <{ea_no}> atime 12345"),
        ],
    );
    let fs = open_rw(&img);
    let owner = fs.inode(f).unwrap();
    assert!(matches!(
        fs.getxattr(&owner, b"user.big"),
        Err(FsError::Format(_))
    ));
}

/// A directory entry naming an EA inode is corruption (the kernel's
/// ext4_iget refuses it with EFSCORRUPTED): the lookup fails, the value
/// is still served through its owner.
#[test]
fn a_name_for_an_ea_inode_is_refused() {
    common::require(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path());
    let fs = open_rw(&img);
    let f = create(&fs, "f", 0).ino;
    let v = value(9000, 17);
    fs.setxattr(f, b"user.big", &v, SetMode::Any, false)
        .unwrap();
    let ea_no = ea_of(&fs, f, b"user.big").unwrap();
    drop(fs);
    fuse4fs_testkit::e2fs::debugfs_w(&img, &[&format!("ln <{ea_no}> /x")]);
    let fs = open_rw(&img);
    let root = fs.inode(InodeNo::ROOT).unwrap();
    let found = fs.lookup(&root, b"x").unwrap();
    assert_eq!(found.ino.0, ea_no);
    match fs.entry_inode(found.ino) {
        Err(FsError::Format(e)) => assert!(e.to_string().contains("EA_INODE"), "{e}"),
        other => panic!("entry_inode of an EA inode: {other:?}"),
    }
    let owner = fs.inode(f).unwrap();
    assert_eq!(fs.getxattr(&owner, b"user.big").unwrap(), v);
}

/// Nor is an EA inode a node: a file handle or node id naming one (which
/// fuse4fs never gave out, so a forged one) is stale, with or without
/// its generation, while its owner stays live.
#[test]
fn a_node_id_for_an_ea_inode_is_stale() {
    common::require(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path());
    let fs = open_rw(&img);
    let f = create(&fs, "f", 0).ino;
    fs.setxattr(f, b"user.big", &value(9000, 19), SetMode::Any, false)
        .unwrap();
    let ea = InodeNo(ea_of(&fs, f, b"user.big").unwrap());
    let generation = fs.inode(ea).unwrap().generation;
    for g in [None, Some(generation)] {
        assert!(
            matches!(fs.live_inode(ea, g), Err(FsError::Stale)),
            "live_inode of an EA inode, generation {g:?}"
        );
    }
    fs.live_inode(f, None).unwrap();
}

/// POSIX ACL tags and the VFS encoding's version (`posix_acl_xattr.h`).
const ACL_USER_OBJ: u16 = 1;
const ACL_USER: u16 = 2;
const ACL_GROUP_OBJ: u16 = 4;
const ACL_MASK: u16 = 0x10;
const ACL_OTHER: u16 = 0x20;

/// The VFS form of (tag, perm, id) entries.
fn vfs_acl(entries: &[(u16, u16, u32)]) -> Vec<u8> {
    let mut out = 2u32.to_le_bytes().to_vec();
    for &(tag, perm, id) in entries {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&perm.to_le_bytes());
        out.extend_from_slice(&id.to_le_bytes());
    }
    out
}

/// An ACL with `named` user entries: its ext4 form (4 + 8 per named
/// entry + 4 per other one, 20 + 8n) is over 4040 bytes from 503 on, so
/// under `ea_inode` it goes to an EA inode at once (the kernel puts 502
/// there too: past the block's reserve; xtest rw/086).
fn big_acl(named: u32, user: u16, mask: u16, other: u16) -> Vec<(u16, u16, u32)> {
    let mut a = vec![(ACL_USER_OBJ, user, u32::MAX)];
    a.extend((0..named).map(|i| (ACL_USER, 6, 5000 + i)));
    a.push((ACL_GROUP_OBJ, 4, u32::MAX));
    a.push((ACL_MASK, mask, u32::MAX));
    a.push((ACL_OTHER, other, u32::MAX));
    a
}

/// The (tag, perm) pairs of a VFS-encoded ACL, ids of named entries kept.
fn parse_vfs_acl(v: &[u8]) -> Vec<(u16, u16, u32)> {
    assert_eq!(&v[..4], &2u32.to_le_bytes());
    v[4..]
        .chunks(8)
        .map(|c| {
            let tag = u16::from_le_bytes([c[0], c[1]]);
            let id = u32::from_le_bytes([c[4], c[5], c[6], c[7]]);
            let id = if tag == ACL_USER { id } else { u32::MAX };
            (tag, u16::from_le_bytes([c[2], c[3]]), id)
        })
        .collect()
}

/// An ACL large enough for an EA inode is read where it is by every ACL
/// path, not only getxattr: a chmod rewrites its owner, mask and other
/// entries (`posix_acl_chmod`), and a directory's default ACL there is
/// inherited by a new file (masked by the create mode) and a new
/// directory (as its default ACL too). The kernel reads back what was
/// written, and e2fsck is clean.
#[test]
fn acls_in_ea_inodes_follow_chmod_and_are_inherited() {
    common::require(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path());
    let fs = open_rw(&img);
    let f = create(&fs, "f", 0).ino;
    let acl = big_acl(600, 6, 7, 4);
    fs.setxattr(
        f,
        b"system.posix_acl_access",
        &vfs_acl(&acl),
        SetMode::Any,
        false,
    )
    .unwrap();
    assert!(ea_of(&fs, f, b"system.posix_acl_access").is_some());
    // The mask gives the group bits.
    assert_eq!(fs.inode(f).unwrap().mode & 0o777, 0o674);

    let chmod = fuse4fs::fs::setattr::Changes {
        mode: Some(0o640),
        acl: true,
        ..Default::default()
    };
    fs.setattr(f, &chmod).unwrap();
    let owner = fs.inode(f).unwrap();
    assert_eq!(owner.mode & 0o777, 0o640);
    let after = parse_vfs_acl(&fs.getxattr(&owner, b"system.posix_acl_access").unwrap());
    assert_eq!(after, big_acl(600, 6, 4, 0), "chmod 640 rewrites the ACL");
    assert!(ea_of(&fs, f, b"system.posix_acl_access").is_some());

    let d = fs
        .make_node(InodeNo::ROOT, b"d", &root_node(mode::S_IFDIR | 0o755))
        .unwrap()
        .ino;
    let default = big_acl(700, 7, 7, 5);
    fs.setxattr(
        d,
        b"system.posix_acl_default",
        &vfs_acl(&default),
        SetMode::Any,
        false,
    )
    .unwrap();
    assert!(ea_of(&fs, d, b"system.posix_acl_default").is_some());
    let new = |m: u16| NewNode {
        mode: m,
        uid: 0,
        gid: 0,
        umask: 0o077,
        rdev: 0,
    };
    let child = fs
        .make_node(d, b"child", &new(mode::S_IFREG | 0o640))
        .unwrap();
    // posix_acl_create_masq: owner 7&6, mask 7&4, other 5&0; the umask is
    // not applied under a default ACL.
    assert_eq!(child.mode & 0o777, 0o640);
    let child_acl = fs.getxattr(&child, b"system.posix_acl_access").unwrap();
    assert_eq!(parse_vfs_acl(&child_acl), big_acl(700, 6, 4, 0));
    let sub = fs
        .make_node(d, b"sub", &new(mode::S_IFDIR | 0o777))
        .unwrap();
    assert_eq!(sub.mode & 0o777, 0o775);
    let sub_default = fs.getxattr(&sub, b"system.posix_acl_default").unwrap();
    assert_eq!(parse_vfs_acl(&sub_default), default);
    let sub_access = fs.getxattr(&sub, b"system.posix_acl_access").unwrap();
    assert_eq!(parse_vfs_acl(&sub_access), big_acl(700, 7, 7, 5));
    for (ino, name) in [
        (child.ino, "system.posix_acl_access"),
        (sub.ino, "system.posix_acl_default"),
        (sub.ino, "system.posix_acl_access"),
    ] {
        assert!(
            ea_of(&fs, ino, name.as_bytes()).is_some(),
            "{name} of {ino}"
        );
    }
    drop(fs);
    assert_fsck_clean(&img);

    // The kernel reads the same ACLs from the EA inodes.
    let kernel = common::with_kernel_mount(&img, |m| {
        let get = |p: &str, n: &str| {
            let out = std::process::Command::new("getfattr")
                .args(["--absolute-names", "--only-values", "-n", n])
                .arg(m.join(p))
                .output()
                .expect("getfattr (attr package)");
            assert!(out.status.success(), "getfattr {p} {n}");
            out.stdout
        };
        (
            get("f", "system.posix_acl_access"),
            get("d/child", "system.posix_acl_access"),
            get("d/sub", "system.posix_acl_default"),
        )
    })
    .expect("kernel mount of the image");
    assert_eq!(parse_vfs_acl(&kernel.0), big_acl(600, 6, 4, 0));
    assert_eq!(kernel.1, child_acl);
    assert_eq!(kernel.2, sub_default);
}
