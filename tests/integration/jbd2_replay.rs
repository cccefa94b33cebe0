//! Journal replay against real journals: written by debugfs (journal_open /
//! journal_write / journal_close) in every checksum layout, and by the
//! kernel (an image copied while mounted). Each is replayed by
//! `fuse4fs::jbd2::recovery::recover` on one copy and by e2fsprogs (and,
//! for the kernel's journal, the kernel itself) on others; the results must
//! agree byte for byte and `e2fsck -fn` must find ours clean.

use crate::common;

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{mkfs, require, with_kernel_mount};
use fuse4fs::ext4::csum::crc32c_raw;
use fuse4fs::jbd2::JournalSuperblock;
use fuse4fs::jbd2::recovery::{JournalDev, RecoverOptions, Recovery, recover};

/// The fields of the ext4 superblock (at byte 1024) this test uses.
struct FsGeometry {
    block_size: u64,
    blocks: u64,
}

fn get_le32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

fn read_sb(img: &Path) -> Vec<u8> {
    let f = File::open(img).unwrap();
    let mut sb = vec![0u8; 1024];
    f.read_exact_at(&mut sb, 1024).unwrap();
    sb
}

fn geometry(sb: &[u8]) -> FsGeometry {
    let is_64bit = get_le32(sb, 0x60) & 0x80 != 0;
    let mut blocks = get_le32(sb, 0x4) as u64;
    if is_64bit {
        blocks |= (get_le32(sb, 0x150) as u64) << 32;
    }
    FsGeometry {
        block_size: 1024 << get_le32(sb, 0x18),
        blocks,
    }
}

/// The journal's extents (logical, physical, length), from debugfs'
/// `stat <8>` ("(0-1023):8322-9345, (1024):9400, (ETB0):…").
fn journal_extents(img: &Path) -> Vec<(u64, u64, u64)> {
    let out = Command::new("debugfs")
        .args(["-R", "stat <8>"])
        .arg(img)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let list = text
        .split("EXTENTS:")
        .nth(1)
        .expect("journal inode has extents");
    let mut v = Vec::new();
    for item in list.split([',', '\n']).map(str::trim) {
        let Some((l, p)) = item.split_once(':') else {
            continue;
        };
        let l = l.trim_matches(|c| c == '(' || c == ')');
        if l.starts_with("ETB") {
            continue;
        }
        let range = |s: &str| -> (u64, u64) {
            match s.split_once('-') {
                Some((a, b)) => (a.parse().unwrap(), b.parse().unwrap()),
                None => (s.parse().unwrap(), s.parse().unwrap()),
            }
        };
        let (l0, l1) = range(l);
        let (p0, _) = range(p);
        v.push((l0, p0, l1 - l0 + 1));
    }
    assert!(!v.is_empty(), "{text}");
    v
}

/// [`JournalDev`] over an image file with an internal journal.
struct ImgDev {
    file: File,
    bs: u64,
    blocks: u64,
    extents: Vec<(u64, u64, u64)>,
}

impl ImgDev {
    fn open(img: &Path) -> ImgDev {
        let g = geometry(&read_sb(img));
        ImgDev {
            file: OpenOptions::new().read(true).write(true).open(img).unwrap(),
            bs: g.block_size,
            blocks: g.blocks,
            extents: journal_extents(img),
        }
    }

    fn journal_offset(&self, n: u32) -> std::io::Result<u64> {
        let n = n as u64;
        self.extents
            .iter()
            .find(|(l, _, len)| (*l..l + len).contains(&n))
            .map(|(l, p, _)| (p + n - l) * self.bs)
            .ok_or_else(|| std::io::Error::other(format!("journal block {n} unmapped")))
    }
}

impl JournalDev for ImgDev {
    fn block_size(&self) -> usize {
        self.bs as usize
    }
    fn read_journal(&self, n: u32, buf: &mut [u8]) -> std::io::Result<()> {
        self.file.read_exact_at(buf, self.journal_offset(n)?)
    }
    fn write_fs_block(&self, b: u64, data: &[u8]) -> std::io::Result<()> {
        self.file.write_all_at(data, b * self.bs)
    }
    fn read_fs_block(&self, b: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.file.read_exact_at(buf, b * self.bs)
    }
    fn fs_blocks(&self) -> u64 {
        self.blocks
    }
    fn flush(&self) -> std::io::Result<()> {
        self.file.sync_all()
    }
}

/// Replays with our code, then does what the caller does: the journal
/// superblock emptied (s_start 0, s_sequence the next id) and the fs
/// superblock's needs_recovery cleared.
fn replay_ours(img: &Path) -> Recovery {
    let dev = ImgDev::open(img);
    let mut raw = vec![0u8; dev.bs as usize];
    dev.read_journal(0, &mut raw).unwrap();
    let mut jsb = JournalSuperblock::parse(&raw).unwrap();
    let r = recover(&dev, &jsb, &RecoverOptions::default()).unwrap();
    jsb.start = 0;
    jsb.sequence = r.next_sequence;
    dev.file
        .write_all_at(&jsb.to_bytes(), dev.journal_offset(0).unwrap())
        .unwrap();
    let mut sb = read_sb(img);
    let incompat = get_le32(&sb, 0x60) & !0x4;
    sb[0x60..0x64].copy_from_slice(&incompat.to_le_bytes());
    if get_le32(&sb, 0x64) & 0x400 != 0 {
        let c = crc32c_raw(!0, &sb[..0x3FC]);
        sb[0x3FC..].copy_from_slice(&c.to_le_bytes());
    }
    dev.file.write_all_at(&sb, 1024).unwrap();
    dev.file.sync_all().unwrap();
    r
}

fn replay_debugfs(img: &Path) {
    let out = Command::new("debugfs")
        .args(["-w", "-R", "journal_run"])
        .arg(img)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !err.contains("rror"),
        "debugfs journal_run: {err}"
    );
}

/// Mounts `img` read-write on a new directory `mnt` with the kernel;
/// false (and a line saying the test is skipped) when loop mounts fail.
fn mount_rw_or_skip(img: &Path, mnt: &Path) -> bool {
    std::fs::create_dir(mnt).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "ext4", "-o", "loop"])
        .arg(img)
        .arg(mnt)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        fuse4fs_testkit::skip!("loop mount failed");
    }
    ok
}

fn copy(img: &Path, name: &str) -> PathBuf {
    common::copy_beside(img, name)
}

/// Asserts two images are identical but for the fs superblock fields
/// e2fsprogs touches when it opens and closes a filesystem (write time,
/// last check time (journal_run sets it), kbytes written, and so the
/// checksum).
fn assert_same_images(a: &Path, b: &Path) {
    let a_bytes = std::fs::read(a).unwrap();
    let b_bytes = std::fs::read(b).unwrap();
    assert_eq!(a_bytes.len(), b_bytes.len());
    let masked = |mut v: Vec<u8>| {
        for (off, len) in [(0x30, 4), (0x40, 4), (0x178, 8), (0x3FC, 4)] {
            v[1024 + off..1024 + off + len].fill(0);
        }
        v
    };
    let (a_bytes, b_bytes) = (masked(a_bytes), masked(b_bytes));
    if a_bytes != b_bytes {
        let differing: Vec<usize> = a_bytes
            .chunks(1024)
            .zip(b_bytes.chunks(1024))
            .enumerate()
            .filter(|(_, (x, y))| x != y)
            .map(|(i, _)| i)
            .take(20)
            .collect();
        let sb_diff: Vec<usize> = (1024..2048).filter(|&i| a_bytes[i] != b_bytes[i]).collect();
        panic!(
            "{} and {} differ in 1K blocks {differing:?} (superblock bytes {sb_diff:x?})",
            a.display(),
            b.display()
        );
    }
}

fn assert_fsck_clean(img: &Path) {
    let (clean, text) = common::fsck(img);
    assert!(clean, "e2fsck -fn {}:\n{text}", img.display());
}

/// A file of `n` blocks of `bs` bytes, every third starting with the jbd2
/// magic (so it is logged escaped), each otherwise distinct.
fn data_file(dir: &Path, name: &str, n: usize, bs: usize, salt: u8) -> PathBuf {
    let mut v = Vec::with_capacity(n * bs);
    for i in 0..n {
        let mut b: Vec<u8> = (0..bs)
            .map(|j| (j as u8).wrapping_mul(31) ^ (i as u8) ^ salt)
            .collect();
        if i % 3 == 0 {
            b[..4].copy_from_slice(&0xC03B_3998u32.to_be_bytes());
        }
        v.extend(b);
    }
    let p = dir.join(name);
    std::fs::write(&p, v).unwrap();
    p
}

/// Writes transactions with debugfs: blocks near the end of the
/// filesystem (free, so fsck stays clean) logged, revoked (when
/// `revokes`), logged again, and a last transaction left without its
/// commit block. Returns the blocks b0..b10 the transactions name.
///
/// Transactions: 1 logs b0-b5; [2 revokes b1 b2]; 3 logs b2 b6 b7; 4 logs
/// b8 b9; [5 revokes b3]; then a torn one logging b0 b10.
fn write_debugfs_journal(dir: &Path, img: &Path, jo: &str, revokes: bool) -> Vec<u64> {
    let g = geometry(&read_sb(img));
    let bs = g.block_size as usize;
    let b = |i: u64| g.blocks - 40 + i;
    let list = |v: &[u64]| {
        v.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let f1 = data_file(dir, "d1", 6, bs, 1);
    let f2 = data_file(dir, "d2", 3, bs, 2);
    let f3 = data_file(dir, "d3", 2, bs, 3);
    let f4 = data_file(dir, "d4", 2, bs, 4);
    let mut cmds = vec![
        jo.to_string(),
        format!(
            "jw -b {} {}",
            list(&[b(0), b(1), b(2), b(3), b(4), b(5)]),
            f1.display()
        ),
    ];
    if revokes {
        cmds.push(format!("jw -r {}", list(&[b(1), b(2)])));
    }
    cmds.push(format!(
        "jw -b {} {}",
        list(&[b(2), b(6), b(7)]),
        f2.display()
    ));
    // debugfs loses the commit block of a transaction with both logged
    // blocks and revokes (1.47.0), so they go in separate ones.
    cmds.push(format!("jw -b {} {}", list(&[b(8), b(9)]), f3.display()));
    if revokes {
        cmds.push(format!("jw -r {}", list(&[b(3)])));
    }
    cmds.push(format!(
        "jw -c -b {} {}",
        list(&[b(0), b(10)]),
        f4.display()
    ));
    cmds.push("jc".to_string());
    let script = dir.join("cmds");
    std::fs::write(&script, cmds.join("\n") + "\n").unwrap();
    let out = Command::new("debugfs")
        .args(["-w", "-f"])
        .arg(&script)
        .arg(img)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !err.contains("rror"), "{err}");
    (0..11).map(b).collect()
}

fn read_block(img: &Path, b: u64, bs: u64) -> Vec<u8> {
    let f = File::open(img).unwrap();
    let mut v = vec![0u8; bs as usize];
    f.read_exact_at(&mut v, b * bs).unwrap();
    v
}

/// An image with a debugfs-written journal and its journal features.
fn debugfs_image(
    dir: &Path,
    mkfs_args: &[&str],
    jo: &str,
    revokes: bool,
) -> (PathBuf, Vec<u64>, String) {
    let img = mkfs(dir, mkfs_args, "16M");
    let blocks = write_debugfs_journal(dir, &img, jo, revokes);
    assert!(common::needs_recovery(&img));
    let dump = Command::new("dumpe2fs")
        .arg("-h")
        .arg(&img)
        .output()
        .unwrap();
    let features = String::from_utf8_lossy(&dump.stdout)
        .lines()
        .find(|l| l.starts_with("Journal features:"))
        .unwrap()
        .to_string();
    (img, blocks, features)
}

fn debugfs_case(mkfs_args: &[&str], jo: &str, expect_features: &[&str], revokes: bool) {
    require(&["mkfs.ext4", "debugfs", "e2fsck", "dumpe2fs"]);
    let dir = tempfile::tempdir().unwrap();
    let (img, blocks, features) = debugfs_image(dir.path(), mkfs_args, jo, revokes);
    for f in expect_features {
        assert!(
            features.split_whitespace().any(|w| w == *f),
            "{f} in {features}"
        );
    }
    let before = copy(&img, "before");
    let ours = copy(&img, "ours");
    let theirs = copy(&img, "theirs");
    let r = replay_ours(&ours);
    replay_debugfs(&theirs);
    let (txs, records) = if revokes { (5, 3) } else { (3, 0) };
    assert_eq!(
        (r.end_tid - r.first_tid, r.checksum_stop.clone()),
        (txs, None)
    );
    assert_eq!(r.next_sequence, r.end_tid + 1);
    assert_eq!(r.revoke_records, records, "{r:?}");
    assert!(r.warnings.is_empty(), "{r:?}");
    assert_same_images(&ours, &theirs);
    assert_fsck_clean(&ours);
    let bs = geometry(&read_sb(&img)).block_size;
    // The replay did something: logged blocks changed, revoked ones and the
    // torn transaction's did not (b10 is only in the torn one).
    let changed = |b: u64| read_block(&before, b, bs) != read_block(&ours, b, bs);
    for i in [0, 2, 4, 5, 6, 7, 8, 9] {
        assert!(changed(blocks[i]), "b{i}");
    }
    assert_eq!(changed(blocks[1]), !revokes, "b1");
    assert_eq!(changed(blocks[3]), !revokes, "b3");
    assert!(!changed(blocks[10]), "b10");
    // e2fsck replays the same way (it then checks and may fix what is not
    // the journal's: compare the blocks the replay writes).
    let fsck = copy(&img, "fsck");
    let _ = Command::new("e2fsck")
        .arg("-fy")
        .arg(&fsck)
        .output()
        .unwrap();
    for &b in &blocks {
        assert_eq!(
            read_block(&fsck, b, bs),
            read_block(&ours, b, bs),
            "block {b}"
        );
    }
}

#[test]
fn debugfs_journal_without_checksums_32bit() {
    debugfs_case(
        &["-O", "^metadata_csum,^64bit"],
        "jo",
        &["journal_incompat_revoke"],
        true,
    );
}

#[test]
fn debugfs_journal_without_checksums_64bit() {
    debugfs_case(
        &["-O", "^metadata_csum,64bit"],
        "jo",
        &["journal_64bit"],
        true,
    );
}

#[test]
fn debugfs_journal_checksum_v1() {
    debugfs_case(
        &["-O", "^metadata_csum,^64bit"],
        "jo -c",
        &["journal_checksum"],
        false,
    );
}

/// debugfs 1.47.0 puts revoke blocks into the v1 crc32 of a transaction,
/// the kernel's recovery (and e2fsprogs') does not: its own replay then
/// stops at the first revoking transaction, as ours does (with the line).
#[test]
fn debugfs_journal_checksum_v1_with_revokes_stops_where_e2fsprogs_does() {
    require(&["mkfs.ext4", "debugfs", "e2fsck", "dumpe2fs"]);
    let dir = tempfile::tempdir().unwrap();
    let (img, blocks, _) =
        debugfs_image(dir.path(), &["-O", "^metadata_csum,^64bit"], "jo -c", true);
    let ours = copy(&img, "ours");
    let theirs = copy(&img, "theirs");
    let r = replay_ours(&ours);
    assert_eq!(r.end_tid - r.first_tid, 1, "{r:?}");
    assert!(
        r.checksum_stop.as_deref().unwrap().contains("crc32"),
        "{r:?}"
    );
    // debugfs exits with an error here and marks the journal; compare the
    // blocks the replay writes.
    let _ = Command::new("debugfs")
        .args(["-w", "-R", "journal_run"])
        .arg(&theirs)
        .output()
        .unwrap();
    let bs = geometry(&read_sb(&img)).block_size;
    for &b in &blocks {
        assert_eq!(
            read_block(&theirs, b, bs),
            read_block(&ours, b, bs),
            "block {b}"
        );
    }
    assert_ne!(
        read_block(&img, blocks[1], bs),
        read_block(&ours, blocks[1], bs)
    );
    assert_eq!(
        read_block(&img, blocks[6], bs),
        read_block(&ours, blocks[6], bs)
    );
}

#[test]
fn debugfs_journal_checksum_v2_32bit() {
    debugfs_case(
        &["-O", "metadata_csum,^64bit"],
        "jo -c -v 2",
        &["journal_checksum_v2"],
        true,
    );
}

#[test]
fn debugfs_journal_checksum_v2_64bit() {
    debugfs_case(
        &["-O", "metadata_csum,64bit"],
        "jo -c -v 2",
        &["journal_checksum_v2", "journal_64bit"],
        true,
    );
}

#[test]
fn debugfs_journal_checksum_v3_32bit() {
    debugfs_case(
        &["-O", "metadata_csum,^64bit"],
        "jo -c",
        &["journal_checksum_v3"],
        true,
    );
}

#[test]
fn debugfs_journal_checksum_v3_64bit_4k() {
    debugfs_case(
        &["-b", "4096", "-O", "metadata_csum,64bit"],
        "jo -c",
        &["journal_checksum_v3", "journal_64bit"],
        true,
    );
}

const VIEW_SCRIPT: &str = "cd \"$1\" && find . -printf '%p %y %m %s %n %U %G %T@ %l\\n' | sort && \
     find . -type f -print0 | sort -z | xargs -0 -r md5sum";

/// `find` over a mounted tree: every entry's type, mode, size, links,
/// owner, mtime and target, and each regular file's md5.
fn view_of(mnt: &Path) -> String {
    sh_on(mnt, VIEW_SCRIPT)
}

/// `sh -c SCRIPT sh MNT` (the script finds the mountpoint in `$1`), which
/// must succeed; its standard output.
fn sh_on(mnt: &Path, script: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .arg(mnt)
        .output()
        .unwrap();
    assert!(out.status.success(), "{script}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The view of `img` mounted read-only.
fn kernel_view(img: &Path) -> Option<String> {
    with_kernel_mount(img, view_of)
}

/// The view of `img` mounted read-write: the kernel replays its journal
/// (a read-only loop device cannot be recovered).
fn kernel_view_rw(img: &Path) -> String {
    common::with_kernel_mount_rw(img, view_of)
}

/// A journal the kernel wrote: the image is copied while mounted, after
/// fsync made every change durable in the journal (not yet at home).
#[test]
fn kernel_journal_copied_while_mounted() {
    require(&["mkfs.ext4", "debugfs", "e2fsck"]);
    if !Path::new("/dev/loop-control").exists() {
        fuse4fs_testkit::skip!("loop devices missing");
        return;
    }
    for args in [&["-b", "4096"][..], &["-b", "1024", "-O", "^64bit"][..]] {
        // The kernel's writeback may put every logged block home before
        // the copy is taken (a loaded machine makes the script slow):
        // such a copy proves nothing about replay, so take another.
        let mut proved = false;
        for _ in 0..4 {
            if kernel_journal_round(args) {
                proved = true;
                break;
            }
        }
        assert!(proved, "{args:?}: every copy had its metadata home already");
    }
}

/// One image made with `args`, written by the kernel and copied while
/// mounted, checked; false when the copy needed no replay.
fn kernel_journal_round(args: &[&str]) -> bool {
    {
        let dir = tempfile::tempdir().unwrap();
        let img = mkfs(dir.path(), args, "64M");
        let mnt = dir.path().join("mnt");
        if !mount_rw_or_skip(&img, &mnt) {
            // The skip is recorded; there is nothing to retry.
            return true;
        }
        let dirty = dir.path().join("dirty");
        let work = std::panic::catch_unwind(|| {
            let script = "set -e; cd \"$1\"; mkdir -p a/b c; \
                 for i in $(seq 1 40); do head -c $((i * 1500)) /dev/urandom > a/b/f$i; done; \
                 ln -s a/b/f1 link; ln a/b/f2 hard; rm a/b/f3; mv a/b/f4 c/moved; \
                 setfattr -n user.x -v hello c/moved 2>/dev/null || true; \
                 sync -f .; \
                 for i in $(seq 41 80); do head -c $((i * 700)) /dev/urandom > c/g$i; done; \
                 rm a/b/f5 a/b/f6; mkdir d; mv a/b/f7 d/; \
                 for f in c/g* d/* a/b/* c/moved hard; do sync \"$f\"; done; sync . a a/b c d";
            sh_on(&mnt, script);
            std::fs::copy(&img, &dirty).unwrap();
        });
        let _ = Command::new("umount").arg(&mnt).status();
        if let Err(p) = work {
            std::panic::resume_unwind(p);
        }
        if !has_metadata_away(&dirty) {
            return false;
        }
        let view = check_dirty_copy(&dirty);
        assert!(
            view.contains("./d/f7") && view.contains("./c/g80"),
            "{view}"
        );
        true
    }
}

/// Whether replaying `dirty` changes more than its superblocks (some
/// logged metadata had not reached home when it was copied).
fn has_metadata_away(dirty: &Path) -> bool {
    let ours = copy(dirty, "probe");
    replay_ours(&ours);
    let (a, b) = (std::fs::read(dirty).unwrap(), std::fs::read(&ours).unwrap());
    let _ = std::fs::remove_file(&ours);
    a.chunks(1024)
        .zip(b.chunks(1024))
        .filter(|(x, y)| x != y)
        .count()
        > 4
}

/// Replays a copy of a mounted image four ways (ours, debugfs, e2fsck -fy,
/// the kernel at mount) and checks they agree; returns the tree's view.
fn check_dirty_copy(dirty: &Path) -> String {
    assert!(
        common::needs_recovery(dirty),
        "the copy should need recovery"
    );
    let ours = copy(dirty, "ours");
    let theirs = copy(dirty, "theirs");
    let fsck = copy(dirty, "fsck");
    let kernel = copy(dirty, "kernel");
    let r = replay_ours(&ours);
    assert!(r.replayed_blocks > 0 && r.checksum_stop.is_none(), "{r:?}");
    assert!(r.warnings.is_empty(), "{r:?}");
    // The replay mattered: metadata reached home only through it (more
    // than the two superblocks differ from the copy).
    let (a, b) = (std::fs::read(dirty).unwrap(), std::fs::read(&ours).unwrap());
    let differing = a
        .chunks(1024)
        .zip(b.chunks(1024))
        .filter(|(x, y)| x != y)
        .count();
    assert!(differing > 4, "{differing}");
    replay_debugfs(&theirs);
    assert_same_images(&ours, &theirs);
    assert_fsck_clean(&ours);
    let _ = Command::new("e2fsck")
        .arg("-fy")
        .arg(&fsck)
        .output()
        .unwrap();
    let view = kernel_view(&ours).expect("mount ours");
    assert_eq!(view, kernel_view(&fsck).unwrap(), "ours vs e2fsck -fy");
    // The kernel's own replay (it recovers at mount).
    assert_eq!(view, kernel_view_rw(&kernel), "ours vs the kernel");
    view
}

/// Whether the live log of `img` runs past the end of the ring (per
/// debugfs' logdump: a block number lower than the one before).
fn log_wraps(img: &Path) -> bool {
    let out = Command::new("debugfs")
        .args(["-R", "logdump"])
        .arg(img)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let at: Vec<u64> = text
        .lines()
        .filter(|l| l.starts_with("Found expected sequence"))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    at.windows(2).any(|w| w[1] < w[0])
}

/// A kernel journal whose live part crosses the end of the ring: a small
/// journal (1024 blocks) filled by many fsync'd changes, copied once the
/// log wraps.
#[test]
fn kernel_journal_wrapping_round_the_ring() {
    require(&["mkfs.ext4", "debugfs", "e2fsck"]);
    if !Path::new("/dev/loop-control").exists() {
        fuse4fs_testkit::skip!("loop devices missing");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), &["-b", "1024", "-J", "size=1"], "32M");
    let mnt = dir.path().join("mnt");
    if !mount_rw_or_skip(&img, &mnt) {
        return;
    }
    let dirty = dir.path().join("dirty");
    let work = std::panic::catch_unwind(|| {
        for round in 0..60 {
            // Each fsync commits a small transaction: the log advances a
            // few blocks per file and wraps every few rounds.
            let script = format!(
                "set -e; cd \"$1\"; mkdir -p r{round}; \
                 for i in $(seq 1 20); do echo {round}-$i > r{round}/f$i; sync r{round}/f$i; done; \
                 rm -f r{}/f1 r{}/f2; sync r{round} .",
                round.max(1) - 1,
                round.max(1) - 1
            );
            sh_on(&mnt, &script);
            std::fs::copy(&img, &dirty).unwrap();
            if log_wraps(&dirty) {
                return true;
            }
        }
        false
    });
    let _ = Command::new("umount").arg(&mnt).status();
    match work {
        Ok(true) => {}
        Ok(false) => panic!("the kernel's log never crossed the end of the ring"),
        Err(p) => std::panic::resume_unwind(p),
    }
    let view = check_dirty_copy(&dirty);
    assert!(view.contains("./r0"), "{view}");
}
