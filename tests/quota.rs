//! Quota usage kept by the `Fs` layer on a quota,project image: every
//! change (create, write, fallocate, truncate, chown, xattr block, link,
//! unlink, a change of project) moves the bytes and inodes of its ids,
//! new ids get entries (the quota file growing past the blocks mkfs gave
//! it), and e2fsck, which recounts all three types, agrees. rw/066
//! compares the same with the kernel's counts through a mount.

use std::collections::BTreeMap;

use fuse4fs::ext4::InodeNo;
use fuse4fs::ext4::inode::mode;
use fuse4fs::fs::Fs;
use fuse4fs::fs::attr_flags::FsXattr;
use fuse4fs::fs::create::NewNode;
use fuse4fs::fs::permission::{Caller, Extra};
use fuse4fs::fs::setattr::Changes;
use fuse4fs::fs::xattr_write::SetMode;

mod common;
use common::{assert_fsck_clean, have, mkfs, open_rw, run};

fn make(fs: &Fs, dir: InodeNo, name: &str, m: u16, uid: u32, gid: u32) -> InodeNo {
    let new = NewNode {
        mode: m,
        uid,
        gid,
        umask: 0,
        rdev: 0,
    };
    fs.make_node(dir, name.as_bytes(), &new).unwrap().ino
}

/// debugfs list_quota TYPE: id -> (bytes, inodes).
fn usage(img: &std::path::Path, qtype: &str) -> BTreeMap<u32, (u64, u64)> {
    let out = run(
        "debugfs",
        &["-R", &format!("list_quota {qtype}"), img.to_str().unwrap()],
    );
    out.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<u64> = l
                .split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect();
            (f.len() == 7).then(|| (f[0] as u32, (f[1], f[4])))
        })
        .collect()
}

fn quota_file_size(img: &std::path::Path, ino: u32) -> u64 {
    let out = run(
        "debugfs",
        &["-R", &format!("stat <{ino}>"), img.to_str().unwrap()],
    );
    let at = out.find("Size: ").expect("debugfs stat prints a size") + 6;
    out[at..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn usage_follows_every_change_and_e2fsck_agrees() {
    assert!(
        have(&["mkfs.ext4", "e2fsck", "debugfs"]),
        "mkfs.ext4, e2fsck and debugfs are needed (scripts/install-deps)"
    );
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), &["-b", "4096", "-O", "quota,project"], "64M");
    let user_file = quota_file_size(&img, 3);
    let root = InodeNo::ROOT;
    {
        let fs = open_rw(&img);
        // 60 users with k blocks each: the user file needs new tree and
        // data blocks, more than its two filesystem blocks hold.
        for k in 1..=60u32 {
            let f = make(
                &fs,
                root,
                &format!("f{k}"),
                mode::S_IFREG | 0o644,
                5000 + k,
                100,
            );
            fs.write(f, 0, &vec![7u8; k as usize * 4096], 0).unwrap();
        }
        let a = make(&fs, root, "a", mode::S_IFREG | 0o644, 1000, 1000);
        fs.fallocate(a, 0, 1 << 20, 0).unwrap();
        fs.setattr(
            a,
            &Changes {
                size: Some(100_000),
                ..Default::default()
            },
        )
        .unwrap();
        fs.setattr(
            a,
            &Changes {
                uid: Some(1001),
                gid: Some(1002),
                ..Default::default()
            },
        )
        .unwrap();
        // An xattr too big for the inode: a block, charged to the file.
        let x = make(&fs, root, "x", mode::S_IFREG | 0o644, 1003, 1003);
        fs.setxattr(x, b"user.big", &[b'v'; 1500], SetMode::Any, false)
            .unwrap();
        let d = make(&fs, root, "d", mode::S_IFDIR | 0o755, 1004, 1004);
        fs.link(x, d, b"x2").unwrap();
        fs.unlink(root, b"f1").unwrap();
        fs.unlink(root, b"f2").unwrap();
        let c = Caller::new(
            0,
            0,
            Extra {
                groups: vec![],
                caps: u64::MAX,
            },
        );
        fs.set_fsxattr(
            x,
            &c,
            FsXattr {
                xflags: 0,
                projid: 77,
            },
        )
        .unwrap();
    }
    assert_fsck_clean(&img);
    let users = usage(&img, "user");
    let groups = usage(&img, "group");
    let projects = usage(&img, "project");
    for k in 3..=60u64 {
        assert_eq!(users[&(5000 + k as u32)], (k * 4096, 1), "uid {}", 5000 + k);
    }
    for k in [1, 2] {
        assert_eq!(users.get(&(5000 + k)).copied().unwrap_or_default(), (0, 0));
    }
    // 100,000 bytes of a preallocated MiB: 25 blocks stay, moved to 1001.
    assert_eq!(users.get(&1000).copied().unwrap_or_default(), (0, 0));
    assert_eq!(users[&1001], (25 * 4096, 1));
    assert_eq!(groups[&1002], (25 * 4096, 1));
    // The xattr block, one inode with two names, now in project 77.
    assert_eq!(users[&1003], (4096, 1));
    assert_eq!(projects[&77], (4096, 1));
    assert_eq!(users[&1004], (4096, 1));
    assert!(
        quota_file_size(&img, 3) > user_file,
        "the user quota file grew"
    );
}

#[test]
fn a_damaged_quota_file_refuses_a_read_write_open_by_name() {
    assert!(
        have(&["mkfs.ext4", "debugfs"]),
        "mkfs.ext4 and debugfs are needed (scripts/install-deps)"
    );
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), &["-b", "4096", "-O", "quota"], "32M");
    // The group file's header block zeroed: no magic.
    run(
        "debugfs",
        &["-w", "-R", "zap_block -f <4> 0", img.to_str().unwrap()],
    );
    let rw = fuse4fs::fs::FsOptions {
        writable: true,
        ..Default::default()
    };
    let e = Fs::open(&img, &rw).map(drop).unwrap_err().to_string();
    assert!(e.contains("group quota file (inode 4)"), "{e}");
    // Read-only, the quota files are not needed.
    Fs::open(&img, &fuse4fs::fs::FsOptions::default()).unwrap();
}
