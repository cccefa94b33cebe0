//! The journal through the fs API: a copy of the image taken while the
//! filesystem is live is what a crash of the server leaves (the host's page
//! cache holds every write). Our replay of it must give every answered
//! operation; e2fsck's and the kernel's replay a consistent filesystem as
//! of the last durable commit, and the same one.

use std::path::{Path, PathBuf};
use std::process::Command;

use fuse4fs::ext4::InodeNo;
use fuse4fs::fs::{Fs, FsOptions};

use crate::common;
use crate::common::{
    assert_fsck_clean, mkfs, needs_recovery, open_rw, require_kernel_mounts, root_node,
};

const TOOLS: &[&str] = &["mkfs.ext4", "e2fsck", "mount", "umount"];

/// A fresh 64 MiB image of 4 KiB blocks, opened and mounted read-write
/// with every write and flush recorded in the log.
fn mounted_recorded() -> (
    tempfile::TempDir,
    PathBuf,
    std::sync::Arc<fuse4fs::fs::io::log::IoLog>,
    Fs,
) {
    require_kernel_mounts(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), &["-b", "4096"], "64M");
    let log = fuse4fs::fs::io::log::IoLog::new();
    let fs = common::mount_rw_recorded(&img, &log);
    (dir, img, log, fs)
}

/// A fresh image made with `mkfs_args`, opened and mounted read-write (the
/// journal running).
fn mounted(mkfs_args: &[&str], size: &str) -> (tempfile::TempDir, PathBuf, Fs) {
    require_kernel_mounts(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), mkfs_args, size);
    let fs = open_rw(&img);
    fs.mount_rw().unwrap();
    (dir, img, fs)
}

fn mkdir(fs: &Fs, parent: InodeNo, name: &str) -> InodeNo {
    fs.make_node(parent, name.as_bytes(), &root_node(0o040755))
        .unwrap()
        .ino
}

fn create(fs: &Fs, parent: InodeNo, name: &str, data: &[u8]) -> InodeNo {
    let ino = fs
        .make_node(parent, name.as_bytes(), &root_node(0o100644))
        .unwrap()
        .ino;
    if !data.is_empty() {
        assert_eq!(fs.write(ino, 0, data, 0).unwrap(), data.len());
    }
    ino
}

fn copy(img: &Path, name: &str) -> PathBuf {
    common::copy_beside(img, name)
}

/// The tree the kernel shows (mounted read-write, so that it replays a
/// journal itself): sorted "path kind size digest" lines.
fn kernel_tree(img: &Path) -> Vec<String> {
    common::with_kernel_mount_rw(img, |mnt| {
        let out = Command::new("sh")
            .arg("-c")
            .arg("cd \"$1\" && find . -printf '%p %y %s ' -exec sh -c 'if [ -f \"$1\" ]; then md5sum < \"$1\"; else echo -; fi' _ {} \\; | sort")
            .arg("sh")
            .arg(mnt)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    })
}

/// e2fsck -fy replays (exit 0 or 1), then -fn must be clean.
fn e2fsck_replay(img: &Path) {
    let st = Command::new("e2fsck").arg("-fy").arg(img).output().unwrap();
    assert!(
        matches!(st.status.code(), Some(0 | 1)),
        "e2fsck -fy: {}",
        String::from_utf8_lossy(&st.stdout)
    );
    assert_fsck_clean(img);
}

/// Our replay: an open for writing replays, then a clean close.
fn our_replay(img: &Path) {
    let fs = Fs::open(
        img,
        &FsOptions {
            writable: true,
            ..Default::default()
        },
    )
    .unwrap();
    drop(fs);
    assert!(!needs_recovery(img), "replay leaves needs_recovery clear");
    assert_fsck_clean(img);
}

/// A server crash now (a copy of the live image), then a clean unmount of
/// the original: the crashed copy and the tree of everything answered.
fn crash_copy_then_unmount(fs: Fs, img: &Path) -> (PathBuf, Vec<String>) {
    let crashed = copy(img, "crashed");
    assert!(needs_recovery(&crashed));
    fs.unmount_clean().unwrap();
    drop(fs);
    assert_fsck_clean(img);
    (crashed, kernel_tree(img))
}

/// Our replay of a copy of `crashed` shows `everything`.
fn assert_our_replay_shows(crashed: &Path, everything: &[String]) {
    let ours = copy(crashed, "ours");
    our_replay(&ours);
    assert_eq!(kernel_tree(&ours), everything);
}

fn workload(fs: &Fs, rounds: usize) {
    let root = InodeNo::ROOT;
    for r in 0..rounds {
        let d = mkdir(fs, root, &format!("d{r}"));
        for i in 0..20 {
            let data = format!("round {r} file {i}\n").repeat(i * 37 + 1);
            create(fs, d, &format!("f{i}"), data.as_bytes());
        }
        // tar-like: a temporary name renamed over an existing file
        create(fs, d, "f3.tmp", b"replaced\n");
        fs.rename(d, b"f3.tmp", d, b"f3", 0).unwrap();
        fs.unlink(d, b"f5").unwrap();
    }
}

#[test]
fn server_crash_our_replay_keeps_every_answer_others_the_durable_part() {
    let (_dir, img, fs) = mounted(&[], "64M");
    workload(&fs, 3);
    fs.sync().unwrap();
    let durable_only = copy(&img, "durable");
    // More answered operations after the durable commit, then the crash.
    let root = InodeNo::ROOT;
    let late = mkdir(&fs, root, "late");
    create(&fs, late, "after-sync", b"answered, not durable\n");
    let crashed = copy(&img, "crashed");
    assert!(needs_recovery(&crashed));
    fs.unmount_clean().unwrap();
    drop(fs);
    assert_fsck_clean(&img);
    let everything = kernel_tree(&img);
    assert!(
        everything
            .iter()
            .any(|l| l.starts_with("./late/after-sync "))
    );

    // Ours: every answered operation.
    let ours = copy(&crashed, "ours");
    our_replay(&ours);
    assert_eq!(kernel_tree(&ours), everything);

    // e2fsck's and the kernel's: consistent, the same, and as of the last
    // durable commit.
    let e2 = copy(&crashed, "e2fsck");
    e2fsck_replay(&e2);
    let by_e2fsck = kernel_tree(&e2);
    let by_kernel = kernel_tree(&copy(&crashed, "kernel"));
    assert_eq!(by_e2fsck, by_kernel);
    assert!(!by_kernel.iter().any(|l| l.starts_with("./late")));
    our_replay(&durable_only);
    assert_eq!(kernel_tree(&durable_only), by_kernel);
}

#[test]
fn after_a_durable_commit_every_replayer_sees_everything() {
    let (_dir, img, fs) = mounted(&["-b", "1024", "-O", "^metadata_csum"], "32M");
    workload(&fs, 2);
    fs.sync().unwrap();
    let (crashed, everything) = crash_copy_then_unmount(fs, &img);
    assert_our_replay_shows(&crashed, &everything);
    let e2 = copy(&crashed, "e2");
    e2fsck_replay(&e2);
    assert_eq!(kernel_tree(&e2), everything);
    assert_eq!(kernel_tree(&copy(&crashed, "k")), everything);
}

/// A 4096-block journal wraps; directory blocks logged, then freed and
/// reused for file data get revoke records, so no replay writes the old
/// directory block over the data.
#[test]
fn wrap_around_and_revoked_blocks_reused_as_data() {
    let (_dir, img, fs) = mounted(&["-b", "1024", "-J", "size=4"], "24M");
    workload(&fs, 30);
    // A directory of many blocks, logged, then removed: its blocks are
    // freed (revoked) in the same stretch of log.
    let root = InodeNo::ROOT;
    let big = mkdir(&fs, root, "big");
    for i in 0..150 {
        create(&fs, big, &format!("name-long-enough-to-fill-{i:05}"), b"");
    }
    let mut dir_blocks = Vec::new();
    let inode = fs.inode(big).unwrap();
    for l in 0..inode.size / 1024 {
        if let Ok(Some(b)) = fs.physical_block(&inode, l) {
            dir_blocks.push(b);
        }
    }
    // Everything else taken, so that new data can only go where the
    // directory was.
    let filler = create(&fs, root, "filler", b"");
    let chunk = vec![0x5Au8; 1 << 20];
    let mut off = 0u64;
    while let Ok(n) = fs.write(filler, off, &chunk, 0) {
        if n == 0 {
            break;
        }
        off += n as u64;
    }
    // An empty log, then the directory's blocks logged by the unlinks and
    // freed by the rmdir in one stretch that the crash below still has to
    // replay.
    fs.sync().unwrap();
    fs.sync().unwrap();
    for i in 0..150 {
        fs.unlink(big, format!("name-long-enough-to-fill-{i:05}").as_bytes())
            .unwrap();
    }
    fs.rmdir(root, b"big").unwrap();
    fs.sync().unwrap();
    let f = create(&fs, root, "data", b"");
    let piece: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut off = 0u64;
    while let Ok(n) = fs.write(f, off, &piece, 0) {
        if n == 0 {
            break;
        }
        off += n as u64;
    }
    let finode = fs.inode(f).unwrap();
    let reused = (0..finode.size / 1024)
        .filter_map(|l| fs.physical_block(&finode, l).ok().flatten())
        .filter(|b| dir_blocks.contains(b))
        .count();
    assert!(reused > 0, "the data must land on freed directory blocks");
    if std::env::var_os("JOURNAL_TEST_LOGDUMP").is_some() {
        let out = Command::new("debugfs")
            .args(["-R", "logdump"])
            .arg(&img)
            .output()
            .unwrap();
        eprintln!(
            "dir blocks {dir_blocks:?}\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let (crashed, everything) = crash_copy_then_unmount(fs, &img);
    assert_our_replay_shows(&crashed, &everything);
    let e2 = copy(&crashed, "e2");
    e2fsck_replay(&e2);
    assert_eq!(kernel_tree(&e2), kernel_tree(&copy(&crashed, "k")));
}

#[test]
fn norecovery_reads_the_unreplayed_image_read_only() {
    let (_dir, img, fs) = mounted(&[], "32M");
    create(&fs, InodeNo::ROOT, "pending", b"x");
    let crashed = copy(&img, "crashed");
    drop(fs);
    let ro = Fs::open(
        &crashed,
        &FsOptions {
            writable: false,
            norecovery: true,
            ..Default::default()
        },
    )
    .unwrap();
    let root = ro.inode(InodeNo::ROOT).unwrap();
    assert!(ro.lookup(&root, b"pending").is_err(), "not replayed");
    drop(ro);
    assert!(needs_recovery(&crashed), "norecovery writes nothing");
}

/// Blocks freed by a transaction not yet durable are not reused, but an
/// allocation that would fail for want of them forces a durable commit and
/// gets them (as ext4 commits before answering ENOSPC).
#[test]
fn enospc_waits_for_freed_blocks_to_become_durable() {
    let (_dir, img, fs) = mounted(&[], "32M");
    let root = InodeNo::ROOT;
    let fill = |name: &str| {
        let f = create(&fs, root, name, b"");
        let chunk = vec![0xA5u8; 1 << 20];
        let mut off = 0u64;
        while let Ok(n) = fs.write(f, off, &chunk, 0) {
            if n == 0 {
                break;
            }
            off += n as u64;
        }
        off
    };
    let first = fill("first");
    assert!(first > 8 << 20);
    fs.sync().unwrap();
    fs.unlink(root, b"first").unwrap();
    // No fsync in between: the space is still waiting for durability.
    let second = fill("second");
    assert!(
        second + (1 << 20) >= first,
        "the freed space was not reused: {second} of {first} bytes"
    );
    fs.unmount_clean().unwrap();
    drop(fs);
    assert_fsck_clean(&img);
}

/// The superblock's free counts are not logged with every allocation but
/// are current once the filesystem is unmounted: e2fsck finds nothing to
/// say about them (it exits 0 on wrong summary counts, so its words are
/// checked).
#[test]
fn free_counts_are_written_at_unmount() {
    let (_dir, img, fs) = mounted(&[], "32M");
    workload(&fs, 2);
    fs.unmount_clean().unwrap();
    drop(fs);
    let (clean, text) = common::fsck(&img);
    assert!(
        clean && !text.contains("count wrong"),
        "e2fsck -fn:\n{text}"
    );
}

/// What an operation costs in the log. Its own record: a create (with
/// 100 bytes of data) at most 1 KiB, an unlink at most 512 bytes. With
/// its share of the durable commit's transaction (whole blocks, as jbd2
/// logs them: a table block per 16 inodes touched), at most 1 KiB each. A
/// jbd2 transaction per operation logged every block touched whole: about
/// 60 KiB per create, 36 KiB per unlink.
#[test]
fn a_create_logs_under_a_kibibyte_and_an_unlink_under_half() {
    let (_dir, img, fs) = mounted(&["-b", "4096"], "256M");
    const N: u64 = 5000;
    let dirs: Vec<InodeNo> = (0..10)
        .map(|d| mkdir(&fs, InodeNo::ROOT, &format!("d{d}")))
        .collect();
    fs.sync().unwrap();
    let step = |what: &str, op: &mut dyn FnMut(InodeNo, String)| {
        let before = fs.journal_bytes();
        for i in 0..N {
            op(dirs[(i % 10) as usize], format!("f{i}"));
        }
        let records = (fs.journal_bytes() - before) / N;
        fs.sync().unwrap();
        let all = (fs.journal_bytes() - before) / N;
        eprintln!("log bytes per {what}: {records} of records, {all} with the durable commit");
        (records, all)
    };
    let created = step("create", &mut |d, n| {
        create(&fs, d, &n, &[7u8; 100]);
    });
    let unlinked = step("unlink", &mut |d, n| fs.unlink(d, n.as_bytes()).unwrap());
    assert!(created.0 <= 1024, "{created:?} bytes per create");
    assert!(unlinked.0 <= 512, "{unlinked:?} bytes per unlink");
    assert!(
        created.1 <= 1024 && unlinked.1 <= 1024,
        "{created:?} {unlinked:?}"
    );
    fs.unmount_clean().unwrap();
    drop(fs);
    assert_fsck_clean(&img);
}

/// The host reads a page from disk before a write that covers only part
/// of it, when the page is not cached: on a cold cache every log block
/// the redo stream began with a short write cost a synchronous disk read
/// (1,300 reads for 10,000 unlinks, against 108 now). Every page the
/// operations write first must be written whole.
#[test]
fn the_stream_begins_each_log_block_with_a_whole_page() {
    let (_dir, img, log, fs) = mounted_recorded();
    let d = mkdir(&fs, InodeNo::ROOT, "d");
    fs.sync().unwrap();
    let from = log.events().len();
    let start = fs.journal_bytes();
    // Enough records for several log blocks, fewer than a durable commit
    // needs.
    let mut i = 0;
    while fs.journal_bytes() - start < 5 * 4096 {
        create(&fs, d, &format!("f{i}"), b"x");
        i += 1;
    }
    let events = log.events();
    let mut touched = std::collections::HashSet::new();
    let mut first_touches = 0;
    for (n, e) in events.iter().enumerate() {
        let fuse4fs::fs::io::log::IoEvent::Write { offset, data } = e else {
            continue;
        };
        let page = offset / 4096;
        if touched.insert(page) && n >= from {
            first_touches += 1;
            assert!(
                offset % 4096 == 0 && data.len() == 4096,
                "page {page} first written with {} bytes at {offset} (event {n})",
                data.len()
            );
        }
    }
    assert!(first_touches >= 4, "{first_touches} new log pages written");
    fs.unmount_clean().unwrap();
    drop(fs);
    assert_fsck_clean(&img);
}

/// The redo stream running round a small log many times, with durable
/// commits forced by the room check: a server crash at any of many
/// points (a copy of the live image) loses no answered operation by our
/// replay, and e2fsck's replay of the same copy is clean.
#[test]
fn a_crash_anywhere_on_a_stream_that_wraps_loses_nothing_answered() {
    let (_dir, img, fs) = mounted(&["-b", "1024", "-J", "size=1"], "64M");
    let root = InodeNo::ROOT;
    let dirs: Vec<InodeNo> = (0..4).map(|d| mkdir(&fs, root, &format!("d{d}"))).collect();
    let mut copies = Vec::new();
    let start = fs.journal_bytes();
    for i in 0..6000u32 {
        let d = dirs[(i % 4) as usize];
        create(&fs, d, &format!("f{i}"), format!("file {i}\n").as_bytes());
        if i % 3 == 0 && i > 0 {
            let old = i - 3;
            fs.unlink(dirs[(old % 4) as usize], format!("f{old}").as_bytes())
                .unwrap();
        }
        if i % 997 == 500 {
            copies.push((i, copy(&img, &format!("crash{i}"))));
        }
    }
    // The log (1 MiB) was written round three times and more.
    assert!(
        fs.journal_bytes() - start > 3 << 20,
        "{}",
        fs.journal_bytes() - start
    );
    fs.unmount_clean().unwrap();
    drop(fs);
    for (last, crashed) in copies {
        let e2 = copy(&crashed, "e2");
        e2fsck_replay(&e2);
        our_replay(&crashed);
        let fs = Fs::open(&crashed, &FsOptions::default()).unwrap();
        for i in 0..=last {
            let d = fs.inode(dirs[(i % 4) as usize]).unwrap();
            let name = format!("f{i}");
            let gone = i % 3 == 0 && i + 3 <= last;
            match fs.lookup(&d, name.as_bytes()) {
                Ok(f) => {
                    assert!(!gone, "crash after {last}: {name} should be unlinked");
                    let f = fs.inode(f.ino).unwrap();
                    let data = fs.read(&f, 0, 64).unwrap();
                    assert_eq!(data, format!("file {i}\n").as_bytes(), "{name}");
                }
                Err(e) => assert!(gone, "crash after {last}: {name}: {e:?}"),
            }
        }
    }
}

/// An fsync with nothing logged since the last durable commit (a second
/// fsync, an fsync after reads) writes and flushes nothing: that commit
/// covers it, and its transaction, which stays the log's start, holds
/// every block its checkpoint wrote (their flush can wait for the next
/// commit). Every replayer of the image as it stands then sees the file;
/// the kernel's and e2fsck's replay of that transaction again is clean.
#[test]
fn an_fsync_with_nothing_to_commit_writes_and_flushes_nothing() {
    let (_dir, img, log, fs) = mounted_recorded();
    create(&fs, InodeNo::ROOT, "f", &[7u8; 5000]);
    fs.sync().unwrap();
    for want in [(0, 0), (0, 0)] {
        let from = log.events().len();
        fs.sync().unwrap();
        let events = log.events();
        let (mut writes, mut flushes) = (0, 0);
        for e in &events[from..] {
            match e {
                fuse4fs::fs::io::log::IoEvent::Write { .. } => writes += 1,
                fuse4fs::fs::io::log::IoEvent::Flush => flushes += 1,
                _ => {}
            }
        }
        assert_eq!((writes, flushes), want, "an fsync with nothing to commit");
    }
    let (crashed, everything) = crash_copy_then_unmount(fs, &img);
    assert!(
        everything.iter().any(|l| l.starts_with("./f f 5000 ")),
        "{everything:?}"
    );
    assert_our_replay_shows(&crashed, &everything);
    let by_e2fsck = copy(&crashed, "e2fsck");
    e2fsck_replay(&by_e2fsck);
    assert_eq!(kernel_tree(&by_e2fsck), everything);
    assert_eq!(kernel_tree(&crashed), everything);
}
