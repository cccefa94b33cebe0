//! Group commit (issue 17): concurrent fsyncs share durable commits, and
//! every fsync or fdatasync that returned still has its data after a
//! machine crash at that moment. Four threads write their own files
//! (appends, and overwrites in place, which change only timestamps) and
//! call fsync or fdatasync after each write, with every image write and
//! flush recorded; for each call's return, the image as a power cut then
//! could leave it (every write before the last flush, nothing after) is
//! replayed as a new boot would, and must hold each file's writes up to
//! its last returned call, and pass e2fsck.

use fuse4fs::ext4::InodeNo;
use fuse4fs::fs::io::log::{IoEvent, IoLog};

use crate::common;
use crate::common::{assert_fsck_clean, mkfs, mount_rw_recorded, power_cut, root_node};

const WRITERS: usize = 4;
const ROUNDS: usize = 12;
const BLOCK: usize = 4096;

/// The bytes writer `w` writes in round `r`.
fn pattern(w: usize, r: usize) -> Vec<u8> {
    (0..BLOCK)
        .map(|i| (w * 31 + r * 7 + i / 97) as u8 | 1)
        .collect()
}

/// Writer `w`'s round `r`: which block it writes (appends in even rounds,
/// overwrites of an earlier block in odd ones) and whether it calls
/// fdatasync (else fsync) after.
fn round(w: usize, r: usize) -> (usize, bool) {
    let block = if r.is_multiple_of(2) {
        r / 2
    } else {
        (r / 2 + w) % (r / 2 + 1)
    };
    (block, (r / 2 + w).is_multiple_of(2) || !r.is_multiple_of(2))
}

/// How many of the writes recorded so far a flush that completed made
/// durable: those before the last flush in the log (a flush is recorded
/// where it began, once it completed).
fn durable_writes(log: &IoLog) -> usize {
    let events = log.events();
    let end = events
        .iter()
        .rposition(|e| *e == IoEvent::Flush)
        .unwrap_or(0);
    events[..end]
        .iter()
        .filter(|e| matches!(e, IoEvent::Write { .. }))
        .count()
}

#[test]
fn every_returned_fsync_and_fdatasync_survives_a_power_cut_with_concurrent_writers() {
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), &["-b", "4096"], "64M");
    let base = std::fs::read(&img).unwrap();
    let log = IoLog::new();
    let fs = mount_rw_recorded(&img, &log);
    let node = root_node(0o100644);
    let inos: Vec<InodeNo> = (0..WRITERS)
        .map(|w| {
            fs.make_node(InodeNo::ROOT, format!("w{w}").as_bytes(), &node)
                .unwrap()
                .ino
        })
        .collect();
    // (writer, round, writes durable when its fsync returned)
    let returned: Vec<(usize, usize, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (fs, log, ino) = (&fs, &*log, inos[w]);
                s.spawn(move || {
                    let mut out = Vec::new();
                    for r in 0..ROUNDS {
                        let (block, datasync) = round(w, r);
                        let data = pattern(w, r);
                        let at = (block * BLOCK) as u64;
                        assert_eq!(fs.write(ino, at, &data, 0).unwrap(), BLOCK);
                        if datasync {
                            fs.datasync_inode(ino).unwrap();
                        } else {
                            fs.sync_inode(ino).unwrap();
                        }
                        out.push((w, r, durable_writes(log)));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let events = log.events();
    let flushes = events.iter().filter(|e| **e == IoEvent::Flush).count();
    eprintln!(
        "{} fsyncs and fdatasyncs, {flushes} flushes of the image",
        WRITERS * ROUNDS
    );
    drop(fs);

    let cut = dir.path().join("cut");
    let mut ends: Vec<usize> = returned.iter().map(|&(_, _, e)| e).collect();
    ends.sort_unstable();
    ends.dedup();
    for end in ends {
        // What must be there: per writer, the rounds whose call had
        // returned by then.
        let mut want = [0usize; WRITERS];
        for &(w, r, e) in &returned {
            if e <= end {
                want[w] = want[w].max(r + 1);
            }
        }
        power_cut(&base, &events, end, &cut);
        {
            let fs = common::open_in_new_boot(&cut, 0x5a)
                .unwrap_or_else(|e| panic!("replay of the cut after {end} writes: {e}"));
            for (w, &rounds) in want.iter().enumerate() {
                if rounds == 0 {
                    continue;
                }
                let blocks = (rounds - 1) / 2 + 1;
                let inode = common::synced_file(
                    &fs,
                    &format!("w{w}"),
                    (blocks * BLOCK) as u64,
                    &format!(
                        "cut after {end} writes (its call of round {} returned)",
                        rounds - 1
                    ),
                );
                for b in 0..blocks {
                    // The last version whose call returned, or a later one
                    // (written before the flush the cut keeps).
                    let versions: Vec<usize> =
                        (0..ROUNDS).filter(|&r| round(w, r).0 == b).collect();
                    let synced = versions.iter().rposition(|&r| r < rounds).unwrap();
                    let got = fs.read(&inode, (b * BLOCK) as u64, BLOCK).unwrap();
                    assert!(
                        versions[synced..].iter().any(|&r| got == pattern(w, r)),
                        "cut after {end} writes: w{w} block {b} lost its version of round {} (its call returned)",
                        versions[synced]
                    );
                }
            }
        }
        assert_fsck_clean(&cut);
    }
}
