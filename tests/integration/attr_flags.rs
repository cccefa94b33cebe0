//! File attribute flags at the filesystem layer (`Fs::set_flags`,
//! `Fs::set_fsxattr`): the caller checks ext4 and the VFS make (owner or
//! CAP_FOWNER, CAP_LINUX_IMMUTABLE for immutable and append-only), the
//! immutable-stays rule, the masks, and the flags on disk as e2fsck and
//! debugfs read them. rw/049 compares the whole behaviour with the
//! kernel's ext4 through a mount.

use fuse4fs::ext4::InodeNo;
use fuse4fs::ext4::inode::{flags, mode};
use fuse4fs::fs::attr_flags::FsXattr;
use fuse4fs::fs::permission::{Caller, Extra};
use fuse4fs::fs::{Fs, FsError};

use crate::common::{assert_fsck_clean, mkfs, open_rw, owned_node, require, root_node, run};

const CAP_FOWNER: u32 = 3;
const CAP_LINUX_IMMUTABLE: u32 = 9;

fn caller(uid: u32, caps: &[u32]) -> Caller {
    let extra = Extra {
        groups: vec![],
        caps: caps.iter().fold(0, |a, c| a | 1 << c),
        other_namespace: None,
    };
    Caller::new(uid, uid, extra)
}

fn make(fs: &Fs, name: &str, m: u16, uid: u32) -> InodeNo {
    let new = owned_node(m, uid);
    fs.make_node(InodeNo::ROOT, name.as_bytes(), &new)
        .unwrap()
        .ino
}

#[test]
fn who_may_set_what() {
    require(&["mkfs.ext4", "e2fsck", "debugfs"]);
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), &["-b", "4096"], "32M");
    let (f, d) = {
        let fs = open_rw(&img);
        let f = make(&fs, "f", mode::S_IFREG | 0o644, 1000);
        let d = make(&fs, "d", mode::S_IFDIR | 0o755, 1000);
        let base = fs.get_flags(f).unwrap();
        assert_eq!(base & flags::EXTENTS, flags::EXTENTS);
        let owner = caller(1000, &[]);
        let other = caller(2000, &[]);
        // Not the owner, no CAP_FOWNER: nothing; with it: all but i/a.
        assert!(matches!(
            fs.set_flags(f, &other, base | flags::NODUMP),
            Err(FsError::Perm)
        ));
        fs.set_flags(f, &caller(2000, &[CAP_FOWNER]), base | flags::NODUMP)
            .unwrap();
        // The owner: nodump and noatime, not immutable or append-only.
        fs.set_flags(f, &owner, base | flags::NOATIME).unwrap();
        assert_eq!(fs.get_flags(f).unwrap(), base | flags::NOATIME);
        for fl in [flags::IMMUTABLE, flags::APPEND] {
            assert!(matches!(
                fs.set_flags(f, &owner, base | fl),
                Err(FsError::Perm)
            ));
        }
        // Directory-only flags on a file; an unknown bit.
        assert!(matches!(
            fs.set_flags(f, &owner, base | flags::DIRSYNC),
            Err(FsError::Unsupported)
        ));
        assert!(matches!(
            fs.set_flags(f, &owner, base | 0x8000_0000),
            Err(FsError::Unsupported)
        ));
        // A read-only visible flag is dropped, not refused.
        fs.set_flags(f, &owner, base | flags::INLINE_DATA).unwrap();
        assert_eq!(fs.get_flags(f).unwrap(), base);
        // Immutable by CAP_LINUX_IMMUTABLE; then nothing else changes
        // while it stays, but it may go with another change.
        let root = caller(0, &[CAP_FOWNER, CAP_LINUX_IMMUTABLE]);
        assert!(matches!(
            fs.set_flags(
                f,
                &caller(0, &[CAP_LINUX_IMMUTABLE]),
                base | flags::IMMUTABLE
            ),
            Err(FsError::Perm)
        ));
        fs.set_flags(f, &root, base | flags::IMMUTABLE).unwrap();
        assert!(matches!(
            fs.set_flags(f, &root, base | flags::IMMUTABLE | flags::NODUMP),
            Err(FsError::Perm)
        ));
        fs.set_flags(f, &root, base | flags::NODUMP).unwrap();
        // fsxattr: the bits it names replace, the others stay.
        fs.set_fsxattr(
            f,
            &root,
            FsXattr {
                xflags: 0x10,
                projid: 0,
            },
        )
        .unwrap();
        assert_eq!(fs.get_flags(f).unwrap(), base | flags::APPEND);
        assert_eq!(fs.get_fsxattr(f).unwrap().xflags, 0x10);
        assert!(matches!(
            fs.set_fsxattr(
                f,
                &root,
                FsXattr {
                    xflags: 0x10,
                    projid: 7
                }
            ),
            Err(FsError::Unsupported)
        ));
        // A directory takes dirsync and project-inherit.
        let dbase = fs.get_flags(d).unwrap();
        fs.set_flags(d, &owner, dbase | flags::DIRSYNC | flags::PROJINHERIT)
            .unwrap();
        fs.sync().unwrap();
        (f, d)
    };
    assert_fsck_clean(&img);
    let img_s = img.to_str().unwrap();
    let stat = |ino: InodeNo| run("debugfs", &["-R", &format!("stat <{}>", ino.0), img_s]);
    assert!(stat(f).contains("Flags: 0x80020"), "{}", stat(f));
    assert!(stat(d).contains("Flags: 0x20090000"), "{}", stat(d));
}

/// Root of a user namespace (every capability there) that maps only ids
/// 1000: CAP_FOWNER reaches only the inodes whose owner and group it maps,
/// and the immutable and append-only flags, which the kernel's
/// fileattr_set_prepare guards with capable() in the initial namespace,
/// never change.
#[test]
fn a_namespace_root_is_judged_as_the_kernel_judges_it() {
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), &["-b", "4096"], "32M");
    let fs = open_rw(&img);
    let mapped = make(&fs, "mapped", mode::S_IFREG | 0o644, 1000);
    let foreign = make(&fs, "foreign", mode::S_IFREG | 0o644, 2000);
    let ns_root = || {
        let extra = Extra {
            groups: vec![],
            caps: u64::MAX,
            other_namespace: None,
        };
        Caller::new(0, 0, extra).in_namespace(|u, g| u == 1000 && g == 1000)
    };
    let base = fs.get_flags(mapped).unwrap();
    fs.set_flags(mapped, &ns_root(), base | flags::NODUMP)
        .unwrap();
    assert!(matches!(
        fs.set_flags(foreign, &ns_root(), base | flags::NODUMP),
        Err(FsError::Perm)
    ));
    for fl in [flags::IMMUTABLE, flags::APPEND] {
        assert!(matches!(
            fs.set_flags(mapped, &ns_root(), base | fl),
            Err(FsError::Perm)
        ));
    }
    // The same caller outside any namespace may do all of it.
    let root = caller(0, &[CAP_FOWNER, CAP_LINUX_IMMUTABLE]);
    fs.set_flags(foreign, &root, base | flags::APPEND).unwrap();
}

#[test]
fn new_inodes_inherit_what_their_type_may_hold() {
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), &["-b", "4096"], "32M");
    let fs = open_rw(&img);
    let d = make(&fs, "d", mode::S_IFDIR | 0o755, 0);
    let root = caller(0, &[CAP_FOWNER, CAP_LINUX_IMMUTABLE]);
    let inheritable = flags::SYNC
        | flags::NODUMP
        | flags::NOATIME
        | flags::DIRSYNC
        | flags::DAX
        | flags::PROJINHERIT;
    let base = fs.get_flags(d).unwrap();
    fs.set_flags(d, &root, base | inheritable | flags::TOPDIR)
        .unwrap();
    let new = |m: u16| root_node(m);
    let got = |name: &str, m: u16| {
        let i = fs.make_node(d, name.as_bytes(), &new(m)).unwrap();
        i.flags & !flags::EXTENTS
    };
    // ext4_mask_flags: directories everything inherited (not TOPDIR),
    // regular files all but the directory-only ones, the rest nodump and
    // noatime only.
    assert_eq!(got("dir", mode::S_IFDIR | 0o755), inheritable);
    assert_eq!(
        got("file", mode::S_IFREG | 0o644),
        flags::SYNC | flags::NODUMP | flags::NOATIME | flags::DAX
    );
    assert_eq!(
        got("fifo", mode::S_IFIFO | 0o644),
        flags::NODUMP | flags::NOATIME
    );
    let link = fs.symlink(d, b"link", b"file", 0, 0).unwrap();
    assert_eq!(link.flags & !flags::EXTENTS, flags::NODUMP | flags::NOATIME);
    fs.sync().unwrap();
    drop(fs);
    assert_fsck_clean(&img);
}
