//! The checkpoint deferred off the fsync path (issue 17 item 3): a durable
//! commit leaves a few dirty blocks out of place and the next one logs
//! them again, so an append + fsync writes no metadata in place. One
//! writer appends a block and calls fsync, round after round; some rounds
//! also make enough directories that their commit must write every dirty
//! block in place. Every image write and flush is recorded; for each
//! fsync's return, the image a power cut then leaves (every write before
//! the last flush, nothing after) must hold every appended block and
//! directory up to that call, replayed as a new boot replays it and as
//! e2fsck replays it, and be clean after either.

use std::path::Path;

use fuse4fs::ext4::InodeNo;
use fuse4fs::fs::io::log::{IoEvent, IoLog};

use crate::common;
use crate::common::{assert_fsck_clean, mkfs, mount_rw_recorded, power_cut, root_node};

const ROUNDS: usize = 24;
const BLOCK: usize = 4096;
/// Directories made in a round `r` with `r % 8 == 5`: each takes a new
/// directory block, more dirty blocks than a commit leaves out of place.
const DIRS: usize = 40;

fn pattern(r: usize) -> Vec<u8> {
    (0..BLOCK).map(|i| (r * 13 + i / 61) as u8 | 1).collect()
}

fn makes_dirs(r: usize) -> bool {
    r % 8 == 5
}

/// Writes (host pages) and flushes recorded in `events`.
fn counts(events: &[IoEvent]) -> (usize, usize) {
    events.iter().fold((0, 0), |(w, f), e| match e {
        IoEvent::Write { .. } => (w + 1, f),
        IoEvent::Flush => (w, f + 1),
        _ => (w, f),
    })
}

/// Pages written outside the journal (whose blocks are `journal`).
fn in_place_writes(events: &[IoEvent], journal: &std::collections::HashSet<u64>) -> usize {
    events
        .iter()
        .filter(|e| match e {
            IoEvent::Write { offset, .. } => !journal.contains(&(offset / BLOCK as u64)),
            _ => false,
        })
        .count()
}

/// The blocks of the journal inode (8), as debugfs lists them.
fn journal_blocks(img: &Path) -> std::collections::HashSet<u64> {
    let out = fuse4fs_testkit::e2fs::debugfs(img, "blocks <8>");
    let blocks: std::collections::HashSet<u64> = out
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(blocks.len() >= 1024, "debugfs blocks <8>: {out}");
    blocks
}

/// How many of the writes in `events` the last flush made durable (a
/// flush is recorded where it began, once it completed).
fn durable_writes(events: &[IoEvent]) -> usize {
    let end = events
        .iter()
        .rposition(|e| *e == IoEvent::Flush)
        .unwrap_or(0);
    counts(&events[..end]).0
}

/// The file's first `rounds` blocks and the directories of those rounds,
/// as our replay in a new boot (which goes no further than the kernel's:
/// the pending marker's boot id differs) shows them.
fn check_our_replay(cut: &Path, rounds: usize, what: &str) {
    let fs = common::open_in_new_boot(cut, 0xa5).unwrap_or_else(|e| panic!("{what}: replay: {e}"));
    let f = common::synced_file(&fs, "f", (rounds * BLOCK) as u64, what);
    for r in 0..rounds {
        let got = fs.read(&f, (r * BLOCK) as u64, BLOCK).unwrap();
        assert!(got == pattern(r), "{what}: block {r} of f lost");
    }
    let root = fs.inode(InodeNo::ROOT).unwrap();
    for r in (0..rounds).filter(|&r| makes_dirs(r)) {
        for i in [0, DIRS - 1] {
            fs.lookup(&root, format!("d{r}-{i}").as_bytes())
                .unwrap_or_else(|e| panic!("{what}: d{r}-{i} missing ({e})"));
        }
    }
}

/// The same through e2fsck's replay: clean afterwards, and f's size.
fn check_e2fsck_replay(cut: &Path, rounds: usize, what: &str) {
    let (code, text) = fuse4fs_testkit::e2fs::e2fsck(cut, "-fy");
    assert!(code <= 1, "{what}: e2fsck -fy exit {code}:\n{text}");
    assert_fsck_clean(cut);
    let stat = fuse4fs_testkit::e2fs::debugfs(cut, "stat /f");
    let size: u64 = stat
        .split_whitespace()
        .skip_while(|w| *w != "Size:")
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{what}: no size in debugfs's stat of f:\n{stat}"));
    assert!(
        size >= (rounds * BLOCK) as u64,
        "{what}: after e2fsck's replay f has {size} bytes, the fsync of round {} returned",
        rounds - 1
    );
}

#[test]
fn every_returned_fsync_survives_a_power_cut_with_the_checkpoint_deferred() {
    common::require_root("mkfs.ext4, e2fsck and debugfs on scratch images");
    common::require(&["mkfs.ext4", "e2fsck", "debugfs"]);
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), &["-b", "4096"], "64M");
    let base = std::fs::read(&img).unwrap();
    let journal = journal_blocks(&img);
    let log = IoLog::new();
    let fs = mount_rw_recorded(&img, &log);
    let ino = fs
        .make_node(InodeNo::ROOT, b"f", &root_node(0o100644))
        .unwrap()
        .ino;
    fs.sync_inode(ino).unwrap();
    // (round, writes durable when its fsync returned)
    let mut returned = Vec::new();
    let mut plain = Vec::new();
    let mut checkpointed = 0;
    for r in 0..ROUNDS {
        let from = log.events().len();
        assert_eq!(
            fs.write(ino, (r * BLOCK) as u64, &pattern(r), 0).unwrap(),
            BLOCK
        );
        if makes_dirs(r) {
            for i in 0..DIRS {
                fs.make_node(
                    InodeNo::ROOT,
                    format!("d{r}-{i}").as_bytes(),
                    &root_node(0o040755),
                )
                .unwrap();
            }
        }
        fs.sync_inode(ino).unwrap();
        let events = log.events();
        returned.push((r, durable_writes(&events)));
        if makes_dirs(r) && in_place_writes(&events[from..], &journal) > DIRS {
            checkpointed += 1;
        }
        if r > 0 && !makes_dirs(r) {
            let (_, flushes) = counts(&events[from..]);
            plain.push((in_place_writes(&events[from..], &journal), flushes));
        }
    }
    drop(fs);
    eprintln!(
        "per append + fsync, pages in place and flushes: {plain:?}; commits that wrote in place: {checkpointed}"
    );
    // An append + fsync writes in place only its data (the redo record,
    // the transaction and the journal superblock go to the journal); two
    // flushes. A checkpoint would add the block bitmap, group descriptor
    // and inode table blocks. (The commit after `commit=` seconds since
    // the last checkpoint still writes them: a slow machine may reach
    // that once or twice, not at every call.)
    let over = plain.iter().filter(|&&(w, _)| w > 1).count();
    assert!(
        over <= 2,
        "pages written in place and flushes per append + fsync: {plain:?} (1: the data)"
    );
    assert!(plain.iter().all(|&(_, f)| f == 2), "{plain:?}");
    // The rounds that made directories had their commit checkpoint.
    assert!(
        checkpointed >= 2,
        "commits that wrote in place: {checkpointed}"
    );

    let events = log.events();
    let cut = dir.path().join("cut");
    for &(r, end) in &returned {
        let what = format!("power cut at the return of round {r}'s fsync ({end} writes)");
        power_cut(&base, &events, end, &cut);
        check_our_replay(&cut, r + 1, &what);
        assert_fsck_clean(&cut);
        power_cut(&base, &events, end, &cut);
        check_e2fsck_replay(&cut, r + 1, &what);
    }
}
