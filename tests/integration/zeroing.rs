//! Zeroing a truncate or a punch owes is part of its transaction: a crash
//! right after the commit record (the operation is done for a replay, and
//! a recovering server answers its resend without running it again) must
//! not leave the old bytes where zeros belong. Also the orphan cleanup at
//! mount, which finishes a truncate a crash cut short.

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::Command;

use fuse4fs::ext4::InodeNo;
use fuse4fs::fs::Fs;
use fuse4fs::fs::create::NewNode;
use fuse4fs::fs::fallocate::{FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE};
use fuse4fs::fs::io::log::{IoEvent, IoLog};
use fuse4fs::fs::setattr::Changes;

use crate::common::{assert_fsck_clean, mkfs, mount_rw_recorded, open_rw, require, root_node};

const BS: u64 = 4096;
const OLD: u8 = 0xAA;
/// A plain file of root's.
const FILE: NewNode = root_node(0o100644);

const TOOLS: &[&str] = &["mkfs.ext4", "e2fsck", "debugfs"];

fn resize(fs: &Fs, ino: InodeNo, size: u64) {
    let c = Changes {
        size: Some(size),
        ..Default::default()
    };
    fs.setattr(ino, &c).unwrap();
}

/// Every byte of file `ino`.
fn contents(fs: &Fs, ino: InodeNo) -> Vec<u8> {
    let inode = fs.inode(ino).unwrap();
    fs.read(&inode, 0, inode.size as usize).unwrap()
}

/// Where `data` and `want` differ, in words (None: they are equal).
fn difference(data: &[u8], want: &[u8]) -> Option<String> {
    if data.len() != want.len() {
        return Some(format!("size {}, expected {}", data.len(), want.len()));
    }
    let bad: Vec<usize> = (0..data.len()).filter(|&i| data[i] != want[i]).collect();
    let first = *bad.first()?;
    Some(format!(
        "{} bytes differ, the first at {first}: {:#x} where {:#x} belongs",
        bad.len(),
        data[first],
        want[first]
    ))
}

/// A file of `size` bytes of [`OLD`], durable and in place, on a fresh 4K
/// image recorded by `log`: the image's path and the file's inode.
fn fixture(
    dir: &Path,
    log: &std::sync::Arc<IoLog>,
    size: usize,
) -> (std::path::PathBuf, Fs, InodeNo) {
    let img = mkfs(dir, &["-b", "4096"], "16M");
    let fs = mount_rw_recorded(&img, log);
    let ino = fs.make_node(InodeNo::ROOT, b"f", &FILE).unwrap().ino;
    fs.write(ino, 0, &vec![OLD; size], 0).unwrap();
    fs.sync().unwrap();
    (img, fs, ino)
}

/// Runs `op` on a fresh fixture, then rebuilds the image as a crash just
/// after the operation's commit record leaves it: every write up to the
/// last one outside the file's data blocks (the log's commit block; the
/// operation writes nothing else there), none after. That image, replayed
/// in this boot, is then grown by `grow_to` (when Some) and its file's
/// bytes returned.
fn crash_after_commit(op: impl FnOnce(&Fs, InodeNo), grow_to: Option<u64>) -> Vec<u8> {
    require(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let log = IoLog::new();
    let (img, fs, ino) = fixture(dir.path(), &log, 4 * BS as usize);
    let inode = fs.inode(ino).unwrap();
    let data: Vec<u64> = (0..4)
        .map(|l| fs.physical_block(&inode, l).unwrap().unwrap().0)
        .collect();
    // The host holds every write: a copy now is the image before the op.
    let crashed = dir.path().join("crashed");
    std::fs::copy(&img, &crashed).unwrap();
    log.take();
    op(&fs, ino);
    let events = log.take();
    drop(fs);
    let in_data = |off: u64| data.contains(&(off / BS));
    let writes: Vec<(u64, &[u8])> = events
        .iter()
        .filter_map(|e| match e {
            IoEvent::Write { offset, data } => Some((*offset, data.as_slice())),
            _ => None,
        })
        .collect();
    let cut = writes
        .iter()
        .rposition(|(off, _)| !in_data(*off))
        .expect("the operation logged nothing");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&crashed)
        .unwrap();
    for (off, bytes) in &writes[..=cut] {
        f.write_all_at(bytes, *off).unwrap();
    }
    drop(f);
    let fs = open_rw(&crashed);
    assert!(
        fs.replay_report().is_some(),
        "the crashed image needed no replay"
    );
    fs.mount_rw().unwrap();
    if let Some(size) = grow_to {
        resize(&fs, ino, size);
    }
    let bytes = contents(&fs, ino);
    fs.unmount_clean().unwrap();
    drop(fs);
    assert_fsck_clean(&crashed);
    bytes
}

/// [`OLD`] bytes with `zeros` zeroed, `size` long.
fn expect(size: usize, zeros: std::ops::Range<usize>) -> Vec<u8> {
    let mut v = vec![OLD; size];
    let end = zeros.end.min(size);
    v[zeros.start..end].fill(0);
    v
}

#[test]
fn truncate_down_zeroes_the_tail_before_its_commit() {
    let got = crash_after_commit(|fs, ino| resize(fs, ino, 100), Some(4 * BS));
    let want = expect(4 * BS as usize, 100..4 * BS as usize);
    assert_eq!(difference(&got, &want), None);
}

#[test]
fn punch_hole_zeroes_its_edges_before_its_commit() {
    let mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
    let got = crash_after_commit(|fs, ino| fs.fallocate(ino, 100, 5000, mode).unwrap(), None);
    assert_eq!(difference(&got, &expect(4 * BS as usize, 100..5100)), None);
}

#[test]
fn zero_range_zeroes_its_edges_before_its_commit() {
    let got = crash_after_commit(
        |fs, ino| fs.fallocate(ino, 100, 9000, FALLOC_FL_ZERO_RANGE).unwrap(),
        None,
    );
    assert_eq!(difference(&got, &expect(4 * BS as usize, 100..9100)), None);
}

#[test]
fn zero_range_keep_size_past_the_end_zeroes_its_edge_before_its_commit() {
    let mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
    let got = crash_after_commit(
        |fs, ino| fs.fallocate(ino, 10_000, 10_000, mode).unwrap(),
        Some(5 * BS),
    );
    let mut want = expect(4 * BS as usize, 10_000..4 * BS as usize);
    want.resize(5 * BS as usize, 0);
    assert_eq!(difference(&got, &want), None);
}

/// The orphan cleanup at mount finishes a truncate a crash cut short (a
/// file on the orphan list that still has a name, as the kernel leaves
/// one): as the kernel's ext4_truncate, it zeroes the tail of the new
/// last block, which growing the file again shows.
#[test]
fn orphan_cleanup_zeroes_the_tail_of_a_cut_short_truncate() {
    require(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::write(&src, vec![OLD; 4 * BS as usize]).unwrap();
    let img = mkfs(dir.path(), &["-b", "4096"], "16M");
    // The file as a crash in the middle of a truncate to 100 leaves it: the
    // new size recorded, on the orphan list, nothing else done yet.
    let script = format!(
        "write {} f\nsif f size 100\nset_super_value last_orphan 12\n",
        src.display()
    );
    let out = Command::new("debugfs")
        .args(["-w", "-f", "-"])
        .arg(&img)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(script.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success(), "debugfs: {out:?}");
    let fs = open_rw(&img);
    let ino = InodeNo(12);
    assert_eq!(
        fs.inode(ino).unwrap().size,
        100,
        "debugfs made another inode"
    );
    assert_eq!(fs.live_superblock().last_orphan, 12);
    fs.mount_rw().unwrap();
    assert_eq!(fs.live_superblock().last_orphan, 0);
    resize(&fs, ino, 4 * BS);
    let want = expect(4 * BS as usize, 100..4 * BS as usize);
    assert_eq!(difference(&contents(&fs, ino), &want), None);
    fs.unmount_clean().unwrap();
    drop(fs);
    assert_fsck_clean(&img);
}

/// Writes into newly allocated blocks: each block a write covers in part
/// is written whole, zeros around the data (one write, so the host never
/// reads the old page first), and the bytes no write covered read as
/// zeros, on blocks that held [`OLD`] bytes of a deleted file.
#[test]
fn writes_into_fresh_blocks_zero_what_they_do_not_cover() {
    require(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let log = IoLog::new();
    let (img, fs, old) = fixture(dir.path(), &log, 8 << 20);
    let inode = fs.inode(old).unwrap();
    let old_blocks: std::collections::HashSet<u64> = (0..(8 << 20) / BS)
        .map(|l| fs.physical_block(&inode, l).unwrap().unwrap().0)
        .collect();
    fs.unlink(InodeNo::ROOT, b"f").unwrap();
    fs.sync().unwrap();
    let ino = fs.make_node(InodeNo::ROOT, b"g", &FILE).unwrap().ino;
    let size = 16 * BS as usize;
    let mut want = vec![0u8; size];
    // (offset, length): inside one block; unaligned across several; one
    // whole block; aligned start, partial end; partial start, aligned end.
    let writes = [
        (5000, 100),
        (3 * BS + 10, 2 * BS + 100),
        (8 * BS, BS),
        (10 * BS, 1000),
        (12 * BS + 7, 2 * BS - 7),
    ];
    for (i, &(off, len)) in writes.iter().enumerate() {
        let data: Vec<u8> = (0..len).map(|j| (i as u64 * 31 + j) as u8 | 1).collect();
        want[off as usize..(off + len) as usize].copy_from_slice(&data);
        assert_eq!(fs.write(ino, off, &data, 0).unwrap(), len as usize);
    }
    resize(&fs, ino, size as u64);
    let inode = fs.inode(ino).unwrap();
    let reused = (0..16)
        .filter_map(|l| fs.physical_block(&inode, l).unwrap())
        .filter(|b| old_blocks.contains(&b.0))
        .count();
    assert!(reused > 0, "no block of the deleted file was reused");
    assert_eq!(difference(&contents(&fs, ino), &want), None);
    // The same once the image is final (read back from the disk's bytes).
    fs.unmount_clean().unwrap();
    drop(fs);
    let fs = open_rw(&img);
    assert_eq!(difference(&contents(&fs, ino), &want), None);
    drop(fs);
    assert_fsck_clean(&img);
}
