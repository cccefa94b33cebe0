//! Crashes in the middle of a mass removal of orphans. Hundreds of
//! O_TMPFILE files are held open; most are closed in random order (each
//! close takes its inode off the orphan list, editing the orphan before
//! it, which the in-memory orphan index names). Every write of that run is
//! recorded; the image is rebuilt as a crash after each prefix of those
//! writes (and after each flush) would leave it, then recovered as a
//! restarted server does: open (journal replay), open counts of the files
//! still held restored, mount (the other orphans freed). Each state must
//! keep exactly the held files on the list, lose them all after their
//! release (the index built from the recovered list must name the right
//! predecessors) and leave an image e2fsck -fn calls clean.

use std::path::Path;
use std::sync::Arc;

use fuse4fs::ext4::InodeNo;
use fuse4fs::fs::io::log::{IoEvent, IoLog};
use fuse4fs::fs::{Fs, FsOptions};

use crate::common::root_node;

const ORPHANS: usize = 240;
const KEPT: usize = 40;

fn mkfs(img: &Path, extra: &[&str]) {
    let mut args = vec!["-b", "4096", "-N", "1024"];
    args.extend(extra);
    fuse4fs_testkit::e2fs::mkfs_ext4(img, &args, "32M");
}

fn rw(log: Option<Arc<IoLog>>) -> FsOptions {
    FsOptions {
        writable: true,
        io_log: log,
        ..Default::default()
    }
}

/// The orphan list of `fs`, read from the disk, sorted.
fn orphans_on_disk(fs: &Fs) -> Vec<u32> {
    let mut out = Vec::new();
    let mut cur = fs.live_superblock().last_orphan;
    while cur != 0 {
        assert!(out.len() <= ORPHANS, "the orphan list loops");
        out.push(cur);
        cur = fs.inode(InodeNo(cur)).unwrap().dtime;
    }
    out.sort_unstable();
    out
}

/// The image after the first `upto` events (writes applied, the rest
/// dropped), written to `path`.
fn state(base: &[u8], events: &[IoEvent], upto: usize, path: &Path) {
    let mut img = base.to_vec();
    for e in &events[..upto] {
        if let IoEvent::Write { offset, data } = e {
            let at = *offset as usize;
            img[at..at + data.len()].copy_from_slice(data);
        }
    }
    std::fs::write(path, img).unwrap();
}

/// Recovers the state at `path` as a restarted server would, with `held`
/// still open; checks it; returns what went wrong.
fn recover(path: &Path, held: &[InodeNo], free_before: u32) -> Result<(), String> {
    let fs = Fs::open(path, &rw(None)).map_err(|e| format!("open: {e}"))?;
    fs.restore_opens(held.iter().map(|&i| (i, 1)));
    fs.mount_rw().map_err(|e| format!("mount: {e}"))?;
    let mut want: Vec<u32> = held.iter().map(|i| i.0).collect();
    want.sort_unstable();
    let got = orphans_on_disk(&fs);
    if got != want {
        return Err(format!("orphans after recovery {got:?}, want {want:?}"));
    }
    for &ino in held {
        if !fs.is_orphan(ino).map_err(|e| e.to_string())? {
            return Err(format!("the index does not know orphan {ino}"));
        }
    }
    // Released in the order the list has them reversed: each close edits
    // the orphan before it, named by the index built at recovery.
    for &ino in held.iter().rev() {
        fs.released(ino)
            .map_err(|e| format!("release {ino}: {e}"))?;
    }
    let sb = fs.live_superblock();
    if sb.last_orphan != 0 || sb.free_inodes_count != free_before {
        return Err(format!(
            "after the releases: head {}, {} free inodes (want {free_before})",
            sb.last_orphan, sb.free_inodes_count
        ));
    }
    fs.unmount_clean().map_err(|e| format!("unmount: {e}"))?;
    drop(fs);
    fuse4fs_testkit::e2fs::e2fsck_clean(path)
}

fn crash_during_mass_removal(extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("img");
    mkfs(&img, extra);
    let log = IoLog::new();
    let fs = Fs::open(&img, &rw(Some(log.clone()))).unwrap();
    fs.mount_rw().unwrap();
    let free_before = fs.live_superblock().free_inodes_count;
    let mut inos: Vec<InodeNo> = (0..ORPHANS)
        .map(|_| fs.tmpfile(InodeNo::ROOT, &root_node(0o100600)).unwrap().ino)
        .collect();
    fs.sync().unwrap();
    // The image as the crash states start from: everything so far written.
    let base = std::fs::read(&img).unwrap();
    log.take();
    // Random order, from a fixed seed; the first KEPT stay open.
    let mut rng = fuse4fs_testkit::XorShift(0x9e37_79b9_7f4a_7c15);
    for i in (1..inos.len()).rev() {
        let r = rng.next().unwrap();
        inos.swap(i, (r % (i as u64 + 1)) as usize);
    }
    let (held, closed) = inos.split_at(KEPT);
    for &ino in closed {
        fs.released(ino).unwrap();
    }
    fs.sync().unwrap();
    let events = log.take();
    drop(fs);

    // Cut after every flush and at evenly spread writes in between.
    let writes: Vec<usize> = (0..events.len())
        .filter(|&i| matches!(events[i], IoEvent::Write { .. }))
        .collect();
    assert!(writes.len() > 100, "{} writes", writes.len());
    let mut cuts: Vec<usize> = (0..events.len())
        .filter(|&i| matches!(events[i], IoEvent::Flush))
        .map(|i| i + 1)
        .collect();
    cuts.extend(writes.iter().step_by(writes.len() / 60).copied());
    cuts.push(events.len());
    cuts.sort_unstable();
    cuts.dedup();
    let st = dir.path().join("state");
    let mut failures = Vec::new();
    for &cut in &cuts {
        state(&base, &events, cut, &st);
        if let Err(e) = recover(&st, held, free_before) {
            failures.push(format!("cut after event {cut}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{extra:?}: {} of {} crash states failed:\n{}",
        failures.len(),
        cuts.len(),
        failures.join("\n")
    );
}

#[test]
fn crash_states_of_a_mass_removal_recover_with_the_held_orphans() {
    crash_during_mass_removal(&[]);
}

#[test]
fn crash_states_of_a_mass_removal_recover_with_an_orphan_file() {
    crash_during_mass_removal(&["-O", "orphan_file"]);
}
