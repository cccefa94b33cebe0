//! Quota usage kept by the `Fs` layer on a quota,project image: every
//! change (create, write, fallocate, truncate, chown, xattr block, link,
//! unlink, a change of project) moves the bytes and inodes of its ids,
//! new ids get entries (the quota file growing past the blocks mkfs gave
//! it), and e2fsck, which recounts all three types, agrees. rw/066
//! compares the same with the kernel's counts through a mount.

use std::collections::BTreeMap;

use fuse4fs::ext4::InodeNo;
use fuse4fs::ext4::inode::mode;
use fuse4fs::ext4::quota::{Limits, QuotaType};
use fuse4fs::fs::Fs;
use fuse4fs::fs::attr_flags::FsXattr;
use fuse4fs::fs::create::NewNode;
use fuse4fs::fs::permission::{Caller, Extra};
use fuse4fs::fs::quota::Requester;
use fuse4fs::fs::setattr::Changes;
use fuse4fs::fs::xattr::write::SetMode;

use crate::common::{assert_fsck_clean, mkfs, open_rw, owned_node, require, run};

fn make(fs: &Fs, dir: InodeNo, name: &str, m: u16, uid: u32, gid: u32) -> InodeNo {
    let new = NewNode {
        gid,
        ..owned_node(m, uid)
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
    require(&["mkfs.ext4", "e2fsck", "debugfs"]);
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
                other_namespace: None,
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
    require(&["mkfs.ext4", "debugfs"]);
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

fn is_edquot<T: std::fmt::Debug>(r: Result<T, fuse4fs::fs::FsError>) -> bool {
    matches!(r, Err(ref e) if e.errno() == libc::EDQUOT)
}

/// (bytes, inodes) of `id` in the quota file of `t`, from the Fs.
fn used(fs: &Fs, t: QuotaType, id: u32) -> (u64, u64) {
    fs.quota_report()
        .unwrap()
        .into_iter()
        .find(|e| e.qtype == t && e.id == id)
        .map(|e| (e.dquot.curspace, e.dquot.curinodes))
        .unwrap_or_default()
}

#[test]
fn limits_refuse_every_charging_change_and_a_refused_one_changes_nothing() {
    require(&["mkfs.ext4", "e2fsck", "debugfs"]);
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), &["-b", "4096", "-O", "quota,project"], "64M");
    let root = InodeNo::ROOT;
    let kib = |n: u64| n << 10;
    {
        let fs = open_rw(&img);
        let lim = |bhard, ihard| Limits {
            bsoft: 0,
            bhard,
            isoft: 0,
            ihard,
        };
        fs.set_quota_limits(QuotaType::User, 1000, lim(kib(40), 3))
            .unwrap();
        fs.set_quota_limits(QuotaType::Group, 2000, lim(kib(8), 0))
            .unwrap();
        fs.set_quota_limits(QuotaType::Project, 42, lim(kib(16), 2))
            .unwrap();
        // Limits are kept but not enforced until asked.
        let spare = make(&fs, root, "spare", mode::S_IFREG | 0o644, 1000, 1000);
        fs.write(spare, 0, &[1u8; 50 << 10], 0).unwrap();
        fs.unlink(root, b"spare").unwrap();
        assert_eq!(used(&fs, QuotaType::User, 1000), (0, 0));
        fs.enforce_quota_limits(&QuotaType::ALL).unwrap();

        // A write past the block hard limit is cut at the last block that
        // fits (the kernel's short write); then nothing more fits.
        let f = make(&fs, root, "f", mode::S_IFREG | 0o644, 1000, 1000);
        assert_eq!(fs.write(f, 0, &[2u8; 48 << 10], 0).unwrap(), 40 << 10);
        assert_eq!(used(&fs, QuotaType::User, 1000), (kib(40), 1));
        assert!(is_edquot(fs.write(f, 40 << 10, b"x", 0)));
        assert!(is_edquot(fs.fallocate(f, 0, 1 << 20, 0)));
        assert!(is_edquot(fs.setxattr(
            f,
            b"user.big",
            &[b'v'; 1500],
            SetMode::Any,
            false
        )));
        // A truncate that only grows the size allocates nothing.
        fs.setattr(
            f,
            &Changes {
                size: Some(1 << 20),
                ..Default::default()
            },
        )
        .unwrap();
        // A directory needs a block: refused, and no name, inode or block
        // is left behind.
        let free_before = fs.stats();
        assert!(is_edquot(fs.make_node(
            root,
            b"d",
            &owned_node(mode::S_IFDIR | 0o755, 1000)
        )));
        assert!(fs.lookup(&fs.inode(root).unwrap(), b"d").is_err());
        let free_after = fs.stats();
        assert_eq!(
            (free_before.free_blocks, free_before.free_inodes),
            (free_after.free_blocks, free_after.free_inodes)
        );
        assert_eq!(used(&fs, QuotaType::User, 1000), (kib(40), 1));
        // Inodes: a fast symlink and a fifo take no block; the fourth
        // inode is refused.
        fs.symlink(root, b"s", b"f", 1000, 1000).unwrap();
        make(&fs, root, "p", mode::S_IFIFO | 0o644, 1000, 1000);
        let new = owned_node(mode::S_IFREG | 0o644, 1000);
        assert!(is_edquot(fs.make_node(root, b"g", &new)));
        assert!(is_edquot(fs.tmpfile(root, &new)));
        assert_eq!(used(&fs, QuotaType::User, 1000), (kib(40), 3));
        // CAP_SYS_RESOURCE passes (the request's caller, as the FUSE
        // layer sets it).
        {
            let _cap = Requester::enter([0, 0, 0], |_| true);
            make(&fs, root, "g", mode::S_IFREG | 0o644, 1000, 1000);
        }
        assert_eq!(used(&fs, QuotaType::User, 1000), (kib(40), 4));
        // Groups: a chown moving 12 KiB into a group limited to 8 KiB is
        // refused.
        let h = make(&fs, root, "h", mode::S_IFREG | 0o644, 0, 0);
        fs.write(h, 0, &[3u8; 12 << 10], 0).unwrap();
        assert!(is_edquot(fs.setattr(
            h,
            &Changes {
                gid: Some(2000),
                ..Default::default()
            }
        )));
        assert_eq!(fs.inode(h).unwrap().gid, 0);
        // Projects: a project-inherit directory's files are charged to
        // it, and statfs of the directory shows its limits.
        let c = Caller::new(
            0,
            0,
            Extra {
                groups: vec![],
                caps: u64::MAX,
                other_namespace: None,
            },
        );
        let d = make(&fs, root, "proj", mode::S_IFDIR | 0o755, 0, 0);
        fs.set_fsxattr(
            d,
            &c,
            FsXattr {
                xflags: 0x200, // FS_XFLAG_PROJINHERIT
                projid: 42,
            },
        )
        .unwrap();
        // The directory's own block and inode are the project's now.
        assert_eq!(used(&fs, QuotaType::Project, 42), (4096, 1));
        let pf = make(&fs, d, "pf", mode::S_IFREG | 0o644, 0, 0);
        assert_eq!(fs.write(pf, 0, &[4u8; 16 << 10], 0).unwrap(), 12 << 10);
        assert!(is_edquot(fs.make_node(d, b"pg", &new)));
        let st = fs
            .project_statfs(&fs.inode(d).unwrap())
            .unwrap()
            .expect("a project-inherit directory under prjquota");
        assert_eq!(st.blocks, Some((4, 0)));
        assert_eq!(st.files, Some((2, 0)));
        assert_eq!(
            st.clamp([100, 50, 40, 1000, 900]),
            [4, 0, 0, 2, 0],
            "capped by the project"
        );
        assert!(
            fs.project_statfs(&fs.inode(root).unwrap())
                .unwrap()
                .is_none()
        );
        // Freeing gives room back.
        fs.unlink(root, b"f").unwrap();
        fs.unlink(root, b"p").unwrap();
        assert_eq!(used(&fs, QuotaType::User, 1000), (0, 2));
        make(&fs, root, "again", mode::S_IFREG | 0o644, 1000, 1000);
    }
    assert_fsck_clean(&img);
    let users = usage(&img, "user");
    assert_eq!(users[&1000], (0, 3));
    assert_eq!(usage(&img, "project")[&42], (16 << 10, 2));
}

#[test]
fn a_soft_limit_allows_until_its_grace_time_runs_out() {
    require(&["mkfs.ext4", "e2fsck", "debugfs"]);
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), &["-b", "4096", "-O", "quota"], "64M");
    let root = InodeNo::ROOT;
    {
        let fs = open_rw(&img);
        fs.set_quota_grace(QuotaType::User, 1, 1).unwrap();
        let l = Limits {
            bsoft: 8 << 10,
            bhard: 0,
            isoft: 1,
            ihard: 0,
        };
        fs.set_quota_limits(QuotaType::User, 1000, l).unwrap();
        fs.enforce_quota_limits(&[QuotaType::User]).unwrap();
        let f = make(&fs, root, "f", mode::S_IFREG | 0o644, 1000, 1000);
        // Past both soft limits: allowed, and the grace times start.
        fs.write(f, 0, &[1u8; 12 << 10], 0).unwrap();
        make(&fs, root, "g", mode::S_IFREG | 0o644, 1000, 1000);
        let e = fs
            .quota_report()
            .unwrap()
            .into_iter()
            .find(|e| e.qtype == QuotaType::User && e.id == 1000)
            .unwrap();
        assert!(e.dquot.btime > 0 && e.dquot.itime > 0, "{e:?}");
        std::thread::sleep(std::time::Duration::from_millis(2100));
        assert!(is_edquot(fs.write(f, 12 << 10, b"x", 0)));
        assert!(is_edquot(fs.make_node(
            root,
            b"h",
            &owned_node(mode::S_IFREG | 0o644, 1000)
        )));
        // Back under the soft limits: the grace times stop, and growth
        // is allowed again.
        fs.unlink(root, b"g").unwrap();
        fs.setattr(
            f,
            &Changes {
                size: Some(4096),
                ..Default::default()
            },
        )
        .unwrap();
        make(&fs, root, "h", mode::S_IFREG | 0o644, 1000, 1000);
    }
    assert_fsck_clean(&img);
    let out = run(
        "debugfs",
        &["-R", "get_quota user 1000", img.to_str().unwrap()],
    );
    assert!(out.contains("1000"), "{out}");
}
