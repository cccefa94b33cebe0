//! A durable commit that fails (the image refuses a write: here the host
//! filesystem under a sparse image is full) aborts the journal, as jbd2
//! does: that fsync and every later one fail, even once the image takes
//! writes again, since the changes they were to make durable never were;
//! later changes are refused (EROFS); what reached the image before
//! stays consistent (e2fsck after our replay).

use std::path::{Path, PathBuf};
use std::process::Command;

use fuse4fs::ext4::InodeNo;
use fuse4fs::fs::{Fs, FsError, FsOptions};

use crate::common;
use crate::common::{assert_fsck_clean, require_root, root_node};

/// A small tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .expect("mount (util-linux) is needed: scripts/install-deps")
            .success();
        assert!(ok, "mounting a tmpfs at {}", at.display());
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Writes file `name` in `dir` until the filesystem is full; its path.
fn fill(dir: &Path, name: &str) -> PathBuf {
    use std::io::Write;
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0x77u8; 64 * 1024];
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => panic!("filling the tmpfs: {e}"),
        }
    }
    path
}

fn run(datasync: bool) {
    require_root("mounts a tmpfs to make the image's writes fail");
    let dir = tempfile::tempdir().unwrap();
    let tmp = Tmpfs::mount(&dir.path().join("t"), "12M");
    // The journal left unwritten by mkfs: its blocks are holes of the
    // image, so the log's writes need space on the tmpfs.
    let img = tmp.0.join("img");
    fuse4fs_testkit::e2fs::mkfs_ext4(
        &img,
        &["-b", "4096", "-E", "lazy_journal_init=1,lazy_itable_init=1"],
        "32M",
    );
    // Where the host lets it, the mount fallocates the log to map it
    // (src/fs/io/image.rs, `map_shared`), and a reserved log never runs
    // out of room. Leave the host less room than the log needs (the runs
    // of the log that did fit stay reserved, the rest are holes), and
    // enough for the writes before the host is full.
    let reserve = fill(&tmp.0, "reserve");
    let room = std::fs::OpenOptions::new()
        .write(true)
        .open(&reserve)
        .unwrap();
    let len = room.metadata().unwrap().len();
    room.set_len(len.saturating_sub(1 << 20)).unwrap();
    let fs = common::mount_rw(&img);
    let ino = fs
        .make_node(InodeNo::ROOT, b"f", &root_node(0o100644))
        .unwrap()
        .ino;
    let sync = |fs: &Fs| {
        if datasync {
            fs.datasync_inode(ino)
        } else {
            fs.sync_inode(ino)
        }
    };
    // Durable commits (fsync: an fdatasync of a rewrite commits nothing)
    // until the log's head is past its reserved first runs (about 25
    // blocks here; each commit logs a few): the next commit goes to holes.
    for _ in 0..24 {
        fs.write(ino, 0, &[1u8; 4096], 0).unwrap();
        fs.sync_inode(ino).unwrap();
    }
    // An append (its size and extent logged), then the host is full: the
    // commit's transaction goes to a hole of the log and is refused.
    fs.write(ino, 4096, &[2u8; 4096], 0).unwrap();
    let filler = fill(&tmp.0, "filler");
    let first = sync(&fs);
    assert!(
        first.is_err(),
        "the commit had no room, yet the sync passed"
    );
    // Room again: the append was never made durable, so no later sync may
    // say it was.
    std::fs::remove_file(&filler).unwrap();
    std::fs::remove_file(&reserve).unwrap();
    let again = sync(&fs);
    assert!(
        matches!(again, Err(ref e) if e.errno() == libc::EIO),
        "a sync after a failed commit returned {again:?}, the append never became durable"
    );
    let other = if datasync {
        fs.sync_inode(ino)
    } else {
        fs.datasync_inode(ino)
    };
    assert!(
        other.is_err(),
        "the other sync after a failed commit passed"
    );
    assert!(fs.sync().is_err(), "syncfs after a failed commit passed");
    // The journal is aborted: changes are refused.
    let created = fs.make_node(InodeNo::ROOT, b"g", &root_node(0o100644));
    assert!(
        matches!(created, Err(FsError::ReadOnly)),
        "a create after the abort: {:?}",
        created.map(|n| n.ino)
    );
    // Reads still work.
    let inode = fs.inode(ino).unwrap();
    assert_eq!(fs.read(&inode, 0, 4096).unwrap(), vec![1u8; 4096]);
    // Unmounting cannot leave it clean; a replay (ours, same boot) gives a
    // consistent image holding the first, durable, write.
    assert!(
        fs.unmount_clean().is_err(),
        "a clean unmount after the abort"
    );
    drop(fs);
    let copy = dir.path().join("copy");
    std::fs::copy(&img, &copy).unwrap();
    drop(tmp);
    {
        let fs = Fs::open(
            &copy,
            &FsOptions {
                writable: true,
                ..Default::default()
            },
        )
        .unwrap();
        let root = fs.inode(InodeNo::ROOT).unwrap();
        let f = fs.lookup(&root, b"f").unwrap();
        let inode = fs.inode(f.ino).unwrap();
        assert!(inode.size >= 4096);
        assert_eq!(fs.read(&inode, 0, 4096).unwrap(), vec![1u8; 4096]);
        fs.mount_rw().unwrap();
        fs.unmount_clean().unwrap();
    }
    assert_fsck_clean(&copy);
}

#[test]
fn fsync_after_a_failed_commit_fails() {
    run(false);
}

#[test]
fn fdatasync_after_a_failed_commit_fails() {
    run(true);
}
