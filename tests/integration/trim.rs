//! FITRIM and `-o discard` (docs/discard.md): a trim punches exactly the
//! blocks free in the last durable state (data still owned reads back,
//! blocks freed by a transaction not yet durable keep their bytes), the
//! count it answers, range and minimum-length edges, a second trim
//! skipping groups trimmed since their last free, the errors at the
//! adapter; discard punches freed blocks once their free is durable.

use crate::common;

use std::path::Path;
use std::time::Duration;

use crate::common::{assert_fsck_clean, ioctl_via_dispatch, mkfs, with_kernel_mount};
use fuse4fs::fs::{Fs, FsOptions};
use fuse4fs::fuse::abi::{FuseIoctlIn, FuseIoctlOut};
use fuse4fs::fuse::adapter::Ext4Adapter;
use fuse4fs::fuse::ids::{FileHandle, NodeId, RequestId};
use fuse4fs::fuse::ops::{FuseOps, RequestCtx};
use fuse4fs::fuse::trim::FITRIM;
use zerocopy::FromBytes;

const O_RDWR: u32 = 2;
const REG: u32 = 0o100644;

fn me() -> RequestCtx {
    RequestCtx::this_process(RequestId(7))
}

/// A FITRIM from `ctx` as the kernel sends it (the whole FUSE_IOCTL
/// message through the session's dispatch, the 24-byte range copied in):
/// the range it returns (start, len, minlen), or the errno.
fn fitrim(a: &Ext4Adapter, ctx: &RequestCtx, range: [u64; 3]) -> Result<[u64; 3], i32> {
    let input: Vec<u8> = range.iter().flat_map(|v| v.to_ne_bytes()).collect();
    let arg = FuseIoctlIn {
        fh: FileHandle(0),
        flags: fuse4fs::fuse::abi::ioctl_flags::FUSE_IOCTL_DIR,
        cmd: FITRIM,
        arg: 0x1000,
        in_size: 24,
        out_size: 24,
    };
    match ioctl_via_dispatch(a, ctx, NodeId::ROOT, &arg, &input) {
        Ok(body) => {
            let (out, rest) = FuseIoctlOut::read_from_prefix(&body).unwrap();
            assert_eq!(out.result, 0);
            assert_eq!(rest.len(), 24);
            let v = |i: usize| u64::from_ne_bytes(rest[i * 8..i * 8 + 8].try_into().unwrap());
            Ok([v(0), v(1), v(2)])
        }
        Err(e) => Err(e.0),
    }
}

/// Trims the whole filesystem with no minimum: the bytes trimmed.
fn trim_all(a: &Ext4Adapter) -> u64 {
    fitrim(a, &me(), [0, u64::MAX, 0]).unwrap()[1]
}

struct Mounted {
    _dir: tempfile::TempDir,
    img: std::path::PathBuf,
    a: Ext4Adapter,
}

fn mounted(mkfs_args: &[&str], size: &str) -> Mounted {
    common::require_root("CAP_SYS_ADMIN for FITRIM, loop mounts");
    common::require(&["mkfs.ext4", "e2fsck"]);
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), mkfs_args, size);
    let fs = common::mount_rw(&img);
    fs.set_commit_interval(Duration::from_secs(3600));
    Mounted {
        _dir: dir,
        img,
        a: Ext4Adapter::new(fs, Duration::from_secs(1)),
    }
}

/// `blocks` KiB-aligned pieces, each starting with a marker naming the
/// file and the piece (so that the image can be searched for it).
fn content(name: &str, kib: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(kib * 1024);
    for i in 0..kib {
        let mut piece = format!("fitrim:{name}:{i:08}:").into_bytes();
        piece.resize(1024, b'.');
        v.extend_from_slice(&piece);
    }
    v
}

fn make_file(a: &Ext4Adapter, name: &str, kib: usize) {
    let (e, o) = a
        .create(&me(), NodeId::ROOT, name.as_bytes(), REG, 0, O_RDWR)
        .unwrap();
    let data = content(name, kib);
    for chunk in 0..data.len().div_ceil(1 << 20) {
        let s = chunk << 20;
        let piece = &data[s..data.len().min(s + (1 << 20))];
        assert_eq!(
            a.write(&me(), e.nodeid, o.fh, s as u64, piece, 0, O_RDWR)
                .unwrap(),
            piece.len() as u32
        );
    }
    a.release(&me(), e.nodeid, o.fh, 0).unwrap();
}

/// How many of `name`'s 1 KiB pieces the image still holds (searched
/// at every KiB).
fn pieces_in_image(img: &Path, name: &str) -> usize {
    let bytes = std::fs::read(img).unwrap();
    let prefix = format!("fitrim:{name}:").into_bytes();
    bytes
        .chunks(1024)
        .filter(|c| c.starts_with(&prefix))
        .count()
}

/// Bytes the host allocated to the image file.
fn allocated(img: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(img).unwrap().blocks() * 512
}

fn free_bytes(a: &Ext4Adapter) -> u64 {
    let s = a.fs().stats();
    s.free_blocks * s.block_size as u64
}

#[test]
fn trim_punches_exactly_the_free_blocks_and_keeps_the_data() {
    let m = mounted(&["-b", "4096"], "64M");
    let a = &m.a;
    make_file(a, "a", 1024);
    make_file(a, "b", 2048);
    make_file(a, "c", 1024);
    a.syncfs(&me(), NodeId::ROOT).unwrap();
    a.unlink(&me(), NodeId::ROOT, b"b").unwrap();
    a.syncfs(&me(), NodeId::ROOT).unwrap();
    let before = std::fs::read(&m.img).unwrap();
    let host_before = allocated(&m.img);
    assert_eq!(pieces_in_image(&m.img, "b"), 2048);

    let r = fitrim(a, &me(), [0, u64::MAX, 0]).unwrap();
    assert_eq!(r[1], free_bytes(a), "the bytes trimmed are the free blocks");
    assert_eq!(r[2], 4096, "minlen comes back as a block");
    let after = std::fs::read(&m.img).unwrap();
    // Every block that changed is now zeros; b's blocks are gone, the
    // live files' are all there.
    let mut changed = 0;
    for (i, (x, y)) in before.chunks(4096).zip(after.chunks(4096)).enumerate() {
        if x != y {
            assert!(y.iter().all(|&b| b == 0), "block {i} changed to non-zero");
            changed += 1;
        }
    }
    assert!(changed >= 512, "{changed} blocks changed");
    assert_eq!(pieces_in_image(&m.img, "b"), 0);
    assert_eq!(pieces_in_image(&m.img, "a"), 1024);
    assert_eq!(pieces_in_image(&m.img, "c"), 1024);
    assert!(
        allocated(&m.img) + (2 << 20) <= host_before,
        "the host file did not shrink: {host_before} -> {}",
        allocated(&m.img)
    );
    // Nothing freed since: every group is skipped (as ext4's
    // WAS_TRIMMED), the answer is 0.
    assert_eq!(trim_all(a), 0);

    a.fs().unmount_clean().unwrap();
    assert_fsck_clean(&m.img);
    with_kernel_mount(&m.img, |mnt| {
        assert_eq!(std::fs::read(mnt.join("a")).unwrap(), content("a", 1024));
        assert_eq!(std::fs::read(mnt.join("c")).unwrap(), content("c", 1024));
        assert!(!mnt.join("b").exists());
    })
    .expect("kernel loop mount");
}

#[test]
fn blocks_freed_by_a_transaction_not_yet_durable_are_not_punched() {
    let m = mounted(&["-b", "4096"], "64M");
    let a = &m.a;
    make_file(a, "x", 1024);
    a.syncfs(&me(), NodeId::ROOT).unwrap();
    a.unlink(&me(), NodeId::ROOT, b"x").unwrap();
    // The unlink is committed, not durable: a crash brings x back, so
    // its blocks must keep their bytes.
    let t = trim_all(a);
    assert_eq!(pieces_in_image(&m.img, "x"), 1024);
    assert_eq!(t, free_bytes(a) - (1 << 20), "x's 256 blocks not counted");
    a.syncfs(&me(), NodeId::ROOT).unwrap();
    // Durable now: the group, freed since its trim, is trimmed again.
    let t = trim_all(a);
    assert!(t >= 1 << 20, "trimmed {t}");
    assert_eq!(pieces_in_image(&m.img, "x"), 0);
    a.fs().unmount_clean().unwrap();
    assert_fsck_clean(&m.img);
}

#[test]
fn range_and_minimum_length_edges() {
    // 1 KiB blocks: 8192 blocks a group, eight groups, block 0 outside.
    let m = mounted(&["-b", "1024"], "64M");
    let a = &m.a;
    let bs = 1024u64;
    let blocks = a.fs().superblock().blocks_count;
    let bpg = a.fs().superblock().blocks_per_group as u64;
    let einval = Err(libc::EINVAL);
    assert_eq!(fitrim(a, &me(), [blocks * bs, u64::MAX, 0]), einval);
    assert_eq!(fitrim(a, &me(), [0, bs - 1, 0]), einval);
    assert_eq!(fitrim(a, &me(), [0, u64::MAX, (bpg + 1) * bs]), einval);
    // A range ending at or before the first data block: nothing.
    assert_eq!(fitrim(a, &me(), [0, bs, 0]), Ok([0, 0, bs]));

    // Free space in runs of 16 blocks (the holes between kept files) and
    // larger runs elsewhere.
    for i in 0..40 {
        make_file(a, &format!("k{i}"), 16);
        make_file(a, &format!("d{i}"), 16);
    }
    make_file(a, "big", 20 * 1024);
    a.syncfs(&me(), NodeId::ROOT).unwrap();
    for i in 0..40 {
        a.unlink(&me(), NodeId::ROOT, format!("d{i}").as_bytes())
            .unwrap();
    }
    a.unlink(&me(), NodeId::ROOT, b"big").unwrap();
    a.syncfs(&me(), NodeId::ROOT).unwrap();
    let small: usize = (0..40)
        .map(|i| pieces_in_image(&m.img, &format!("d{i}")))
        .sum();
    assert_eq!(small, 40 * 16);

    // Runs of at least 32 blocks only: the 16-block holes stay.
    let r = fitrim(a, &me(), [0, u64::MAX, 32 * bs]).unwrap();
    assert!(r[1] > 0 && r[1] < free_bytes(a), "{r:?}");
    assert_eq!(r[2], 32 * bs);
    let small: usize = (0..40)
        .map(|i| pieces_in_image(&m.img, &format!("d{i}")))
        .sum();
    assert_eq!(small, 40 * 16, "runs shorter than minlen were punched");
    // The same minimum again: trimmed groups are skipped.
    assert_eq!(fitrim(a, &me(), [0, u64::MAX, 32 * bs]).unwrap()[1], 0);
    // A smaller one: trimmed again, the holes too.
    let r = fitrim(a, &me(), [0, u64::MAX, 512]).unwrap();
    assert_eq!(r[1], free_bytes(a));
    assert_eq!(r[2], bs, "minlen under a block comes back as a block");
    for i in 0..40 {
        assert_eq!(pieces_in_image(&m.img, &format!("d{i}")), 0, "d{i}");
        assert_eq!(pieces_in_image(&m.img, &format!("k{i}")), 16, "k{i}");
    }

    // A range: only blocks inside it change.
    make_file(a, "big2", 30 * 1024);
    a.syncfs(&me(), NodeId::ROOT).unwrap();
    a.unlink(&me(), NodeId::ROOT, b"big2").unwrap();
    a.syncfs(&me(), NodeId::ROOT).unwrap();
    let before = std::fs::read(&m.img).unwrap();
    // From inside what big2 held, for about a group.
    let first_piece = before
        .chunks(1024)
        .position(|c| c.starts_with(b"fitrim:big2:"))
        .unwrap() as u64;
    let (from, len) = ((first_piece + 100) * bs, bpg * bs);
    let r = fitrim(a, &me(), [from, len, 0]).unwrap();
    assert!(r[1] > 0 && r[1] <= len, "{r:?}");
    let after = std::fs::read(&m.img).unwrap();
    let mut changed = 0u64;
    for (i, (x, y)) in before.chunks(1024).zip(after.chunks(1024)).enumerate() {
        if x != y {
            let at = i as u64 * bs;
            assert!(at >= from && at < from + len, "block {i} outside the range");
            changed += bs;
        }
    }
    assert!(changed > 0 && changed <= r[1], "{changed} vs {r:?}");
    a.fs().unmount_clean().unwrap();
    assert_fsck_clean(&m.img);
}

#[test]
fn eperm_without_cap_sys_admin_erofs_read_only() {
    let m = mounted(&["-b", "4096"], "32M");
    // A root process without CAP_SYS_ADMIN in any of its sets.
    let (mut child, ctx) = common::root_without_sys_admin();
    let r = fitrim(&m.a, &ctx, [0, u64::MAX, 0]);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(r, Err(libc::EPERM));
    // The kernel's own requests (pid 0) are not trusted either.
    let kernel = RequestCtx { pid: 0, ..me() };
    assert_eq!(fitrim(&m.a, &kernel, [0, u64::MAX, 0]), Err(libc::EPERM));
    m.a.fs().unmount_clean().unwrap();

    let ro = Ext4Adapter::new(
        Fs::open(&m.img, &FsOptions::default()).unwrap(),
        Duration::from_secs(1),
    );
    assert_eq!(fitrim(&ro, &me(), [0, u64::MAX, 0]), Err(libc::EROFS));
    // Still EPERM first, as ext4 checks the capability before anything.
    assert_eq!(fitrim(&ro, &kernel, [0, u64::MAX, 0]), Err(libc::EPERM));
}

#[test]
fn discard_punches_freed_blocks_once_durable() {
    let m = mounted(&["-b", "4096"], "64M");
    let a = &m.a;
    a.fs().set_discard(true);
    make_file(a, "x", 2048);
    a.syncfs(&me(), NodeId::ROOT).unwrap();
    let host = allocated(&m.img);
    a.unlink(&me(), NodeId::ROOT, b"x").unwrap();
    assert_eq!(
        pieces_in_image(&m.img, "x"),
        2048,
        "punched before the free was durable"
    );
    a.syncfs(&me(), NodeId::ROOT).unwrap();
    assert_eq!(pieces_in_image(&m.img, "x"), 0);
    assert!(allocated(&m.img) + (2 << 20) <= host);
    a.fs().unmount_clean().unwrap();
    assert_fsck_clean(&m.img);
}

#[test]
fn discard_without_a_journal_punches_at_the_free() {
    let m = mounted(&["-b", "4096", "-O", "^has_journal"], "64M");
    let a = &m.a;
    a.fs().set_discard(true);
    make_file(a, "x", 1024);
    make_file(a, "y", 1024);
    a.unlink(&me(), NodeId::ROOT, b"x").unwrap();
    assert_eq!(pieces_in_image(&m.img, "x"), 0);
    assert_eq!(pieces_in_image(&m.img, "y"), 1024);
    a.fs().unmount_clean().unwrap();
    assert_fsck_clean(&m.img);
}

#[test]
fn nodiscard_leaves_freed_blocks_alone() {
    let m = mounted(&["-b", "4096"], "64M");
    let a = &m.a;
    assert!(!a.fs().discard());
    make_file(a, "x", 1024);
    a.syncfs(&me(), NodeId::ROOT).unwrap();
    a.unlink(&me(), NodeId::ROOT, b"x").unwrap();
    a.syncfs(&me(), NodeId::ROOT).unwrap();
    assert_eq!(pieces_in_image(&m.img, "x"), 1024);
    a.fs().unmount_clean().unwrap();
}

/// Reads file `name` of the root through the adapter, whole.
fn read_file(a: &Ext4Adapter, name: &str, len: usize) -> Vec<u8> {
    let e = a.lookup(&me(), NodeId::ROOT, name.as_bytes()).unwrap();
    let o = a.open(&me(), e.nodeid, 0, 0).unwrap();
    let mut v = Vec::new();
    while v.len() < len {
        let got = a
            .read(&me(), e.nodeid, o.fh, v.len() as u64, 1 << 20)
            .unwrap();
        if got.is_empty() {
            break;
        }
        v.extend_from_slice(&got);
    }
    a.release(&me(), e.nodeid, o.fh, 0).unwrap();
    v
}

#[test]
fn trims_racing_allocations_never_punch_new_data() {
    // Files made, some removed, durable commits now and then, while
    // another thread trims without pause: every block a file got, even
    // one allocated while a trim walked its group, keeps its bytes.
    let m = mounted(&["-b", "1024"], "64M");
    let a = &m.a;
    let done = std::sync::atomic::AtomicBool::new(false);
    let mut trims = 0u32;
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..120 {
                make_file(a, &format!("f{i}"), 48);
                if i % 3 == 0 && i > 0 {
                    a.unlink(&me(), NodeId::ROOT, format!("f{}", i - 1).as_bytes())
                        .unwrap();
                }
                if i % 10 == 0 {
                    a.syncfs(&me(), NodeId::ROOT).unwrap();
                }
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            fitrim(a, &me(), [0, u64::MAX, 0]).unwrap();
            trims += 1;
        }
    });
    assert!(trims > 1, "the trims did not overlap the writes");
    for i in 0..120 {
        if i % 3 == 2 && i < 119 {
            continue; // removed
        }
        let name = format!("f{i}");
        assert!(
            read_file(a, &name, 48 * 1024) == content(&name, 48),
            "{name} lost data"
        );
    }
    a.fs().unmount_clean().unwrap();
    assert_fsck_clean(&m.img);
}

#[test]
fn fixed_metadata_in_uninit_groups_is_never_punched() {
    // 1 KiB blocks: groups 1, 3, 5, 7 hold superblock and descriptor
    // backups, in BLOCK_UNINIT groups whose bitmap was never written (it
    // is built from the geometry): a trim must leave them as they were.
    let m = mounted(&["-b", "1024"], "64M");
    let a = &m.a;
    let uninit = common::groups_flagged(&m.img, "BLOCK_UNINIT");
    let dump = common::run("dumpe2fs", &[m.img.to_str().unwrap()]);
    let mut backups: Vec<(u64, u64)> = Vec::new();
    for line in dump.lines() {
        // "  Backup superblock at 8193, Group descriptors at 8194-8194"
        let Some(rest) = line.trim().strip_prefix("Backup superblock at ") else {
            continue;
        };
        let sb: u64 = rest.split(',').next().unwrap().trim().parse().unwrap();
        let gd = rest.split("at ").nth(1).unwrap();
        let (lo, hi) = gd.split_once('-').unwrap();
        backups.push((sb, lo.trim().parse().unwrap()));
        backups.push((hi.trim().parse().unwrap(), 0));
    }
    let bpg = a.fs().superblock().blocks_per_group as u64;
    assert!(
        backups
            .iter()
            .any(|&(b, _)| uninit.contains(&(((b - 1) / bpg) as u32))),
        "no backup in a BLOCK_UNINIT group: {uninit:?} {backups:?}"
    );
    let before = std::fs::read(&m.img).unwrap();
    assert!(trim_all(a) > 0);
    let after = std::fs::read(&m.img).unwrap();
    for &(b, _) in &backups {
        let r = b as usize * 1024..(b as usize + 1) * 1024;
        assert!(
            before[r.clone()].iter().any(|&x| x != 0),
            "block {b} is zero"
        );
        assert!(before[r.clone()] == after[r], "backup block {b} punched");
    }
    a.fs().unmount_clean().unwrap();
    assert_fsck_clean(&m.img);
}
