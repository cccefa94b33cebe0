//! Checking one crash state: build the image, recover it two ways (our
//! own replay, and e2fsck's), and compare what each shows with the trees
//! the live filesystem showed after each operation.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::{Command, Stdio};

use fuse4fs::fs::iolog::IoEvent;
use fuse4fs::fs::{Fs, FsOptions};

use crate::states::{Crash, State, writes_of};
use crate::tree::{self, Tree};
use crate::workload::{Op, Run};

/// The image before the workload, as its non-zero stretches: written into
/// a fresh sparse file per state, so building a state costs what the
/// filesystem holds, not the image size.
pub struct BaseImage {
    len: u64,
    chunks: Vec<(u64, Vec<u8>)>,
}

impl BaseImage {
    /// Splits `bytes` into runs of non-zero 4 KiB pieces.
    pub fn new(bytes: &[u8]) -> BaseImage {
        const PIECE: usize = 4096;
        let mut chunks: Vec<(u64, Vec<u8>)> = Vec::new();
        for (i, piece) in bytes.chunks(PIECE).enumerate() {
            if piece.iter().all(|&b| b == 0) {
                continue;
            }
            let off = (i * PIECE) as u64;
            match chunks.last_mut() {
                Some((o, data)) if *o + data.len() as u64 == off => data.extend_from_slice(piece),
                _ => chunks.push((off, piece.to_vec())),
            }
        }
        BaseImage {
            len: bytes.len() as u64,
            chunks,
        }
    }

    /// Writes the image of state `st` to `path` (replacing its contents).
    pub fn write_state(&self, path: &Path, events: &[IoEvent], st: &State) -> std::io::Result<()> {
        let f = File::create(path)?;
        f.set_len(self.len)?;
        for (off, data) in &self.chunks {
            f.write_all_at(data, *off)?;
        }
        for (off, data) in writes_of(events, st) {
            f.write_all_at(data, off)?;
        }
        Ok(())
    }
}

/// One failed check.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Which check: replay-read, replay-tree, replay-fsck, e2fsck-fy,
    /// e2fsck-fn, e2fsck-tree, fsync-lost.
    pub check: &'static str,
    pub detail: String,
}

/// What a state is checked against.
pub struct Expect<'a> {
    pub run: &'a Run,
    /// (op index, path) of every fsync that succeeded.
    pub fsyncs: Vec<(usize, String)>,
}

impl<'a> Expect<'a> {
    pub fn new(run: &'a Run) -> Expect<'a> {
        let fsyncs = run
            .ops
            .iter()
            .zip(&run.results)
            .enumerate()
            .filter_map(|(i, (op, r))| match (op, r) {
                (Op::Fsync(p), Ok(())) => Some((i, p.clone())),
                _ => None,
            })
            .collect();
        Expect { run, fsyncs }
    }

    /// Whether `tree` equals a snapshot in `[lo, hi]` (clamped to the run);
    /// otherwise the nearest snapshot in the window and its first
    /// difference.
    fn matches(&self, tree: &Tree, lo: usize, hi: usize) -> Result<usize, String> {
        let snaps = &self.run.snapshots;
        let hi = hi.min(snaps.len() - 1);
        let lo = lo.min(hi);
        if let Some(j) = (lo..=hi).find(|&j| snaps[j] == *tree) {
            return Ok(j);
        }
        let near = (lo..=hi)
            .min_by_key(|&j| tree::distance(&snaps[j], tree))
            .unwrap_or(lo);
        let d = tree::first_diff(&snaps[near], tree).unwrap_or_default();
        Err(format!(
            "matches no snapshot in [{lo}, {hi}]; nearest is {near}: {d}"
        ))
    }

    /// Files fsync'd by an answered operation and unchanged by every later
    /// operation up to the one in flight must be as they were.
    fn fsynced_intact(&self, tree: &Tree, answered: usize) -> Result<(), String> {
        let snaps = &self.run.snapshots;
        let hi = (answered + 1).min(snaps.len() - 1);
        for (k, path) in &self.fsyncs {
            if *k >= answered {
                break;
            }
            let Some(want) = snaps[k + 1].get(path) else {
                continue;
            };
            if snaps[k + 1..=hi].iter().any(|s| s.get(path) != Some(want)) {
                continue;
            }
            match tree.get(path) {
                Some(got) if got == want => {}
                Some(got) => {
                    return Err(format!(
                        "{path} (fsync'd by op {k}): expected {}, found {}",
                        tree::describe(want),
                        tree::describe(got)
                    ));
                }
                None => return Err(format!("{path} (fsync'd by op {k}): missing")),
            }
        }
        Ok(())
    }
}

/// Options for our replay: writable (the open replays the journal).
fn replay_options() -> FsOptions {
    // Every field is named, no `..Default::default()`: the journal brings
    // a field for the boot the replay assumes, and the build must stop
    // here until it is given `Crash::replay_boot()` of the state (None
    // for a process crash, the state's fresh random id for a machine
    // crash). Until then the replay has no journal and ignores boots.
    FsOptions {
        cache_blocks: 0,
        writable: true,
        io_log: None,
    }
}

/// Runs e2fsck with `flag` (-fn or -fy) on `img`: exit code and the lines
/// that are not progress.
fn e2fsck(flag: &str, img: &Path) -> Result<(i32, String), String> {
    let out = Command::new("e2fsck")
        .arg(flag)
        .arg(img)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("e2fsck: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let notes: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("Pass ") && !l.starts_with("e2fsck ") && !l.is_empty())
        .take(4)
        .collect();
    Ok((out.status.code().unwrap_or(-1), notes.join(" | ")))
}

/// Opens `img` and reads its tree; the Fs is dropped before returning.
fn read_tree(img: &Path, opts: &FsOptions) -> Result<Tree, String> {
    let fs = Fs::open(img, opts).map_err(|e| format!("open: {e}"))?;
    tree::read(&fs)
}

/// Checks one state, using `a` and `b` as scratch image paths.
pub fn check(base: &BaseImage, exp: &Expect<'_>, st: &State, a: &Path, b: &Path) -> Vec<Failure> {
    let events = &exp.run.events;
    let mut fails = Vec::new();
    let mut fail = |check, detail| fails.push(Failure { check, detail });
    let (lo_ours, lo_fsck) = match st.crash {
        Crash::Process => (st.answered, st.durable),
        Crash::Machine { .. } => (st.durable, st.durable),
    };
    let hi = st.answered + 1;

    // a) our replay, then e2fsck -fn on what it left.
    if let Err(e) = base.write_state(a, events, st) {
        fail("setup", format!("{}: {e}", a.display()));
        return fails;
    }
    match read_tree(a, &replay_options()) {
        Ok(t) => {
            if let Err(d) = exp.matches(&t, lo_ours, hi) {
                fail("replay-tree", d);
            }
            if let Err(d) = exp.fsynced_intact(&t, st.answered) {
                fail("fsync-lost", format!("our replay: {d}"));
            }
        }
        Err(e) => fail("replay-read", e),
    }
    match e2fsck("-fn", a) {
        Ok((0, _)) => {}
        Ok((rc, notes)) => fail("replay-fsck", format!("e2fsck -fn exit {rc}: {notes}")),
        Err(e) => fail("setup", e),
    }

    // b) e2fsck's own recovery on a second copy.
    if let Err(e) = base.write_state(b, events, st) {
        fail("setup", format!("{}: {e}", b.display()));
        return fails;
    }
    match e2fsck("-fy", b) {
        Ok((0 | 1, _)) => {}
        Ok((rc, notes)) => fail("e2fsck-fy", format!("e2fsck -fy exit {rc}: {notes}")),
        Err(e) => fail("setup", e),
    }
    match e2fsck("-fn", b) {
        Ok((0, _)) => {}
        Ok((rc, notes)) => fail(
            "e2fsck-fn",
            format!("e2fsck -fn after -fy exit {rc}: {notes}"),
        ),
        Err(e) => fail("setup", e),
    }
    match read_tree(b, &FsOptions::default()) {
        Ok(t) => {
            if let Err(d) = exp.matches(&t, lo_fsck, hi) {
                fail("e2fsck-tree", d);
            }
            if let Err(d) = exp.fsynced_intact(&t, st.answered) {
                fail("fsync-lost", format!("after e2fsck: {d}"));
            }
        }
        Err(e) => fail("e2fsck-tree", e),
    }
    fails
}

/// One line saying what state `st` is.
pub fn describe(exp: &Expect<'_>, st: &State) -> String {
    let events = &exp.run.events;
    let writes = events[..st.end.min(events.len())]
        .iter()
        .filter(|e| matches!(e, IoEvent::Write { .. }))
        .count();
    // The in-flight operation's writes: after the last mark before the
    // cut, up to the next mark; how many of them the state holds.
    let end = st.end.min(events.len());
    let is_mark = |e: &IoEvent| matches!(e, IoEvent::Mark(_));
    let from = events[..end].iter().rposition(is_mark).map_or(0, |m| m + 1);
    let to = events[end..]
        .iter()
        .position(is_mark)
        .map_or(events.len(), |m| end + m);
    let count = |r: &[IoEvent]| {
        r.iter()
            .filter(|e| !is_mark(e) && **e != IoEvent::Flush)
            .count()
    };
    let progress = match st.crash {
        Crash::Process => format!(
            ", {} of its {} writes issued",
            count(&events[from..end]),
            count(&events[from..to])
        ),
        Crash::Machine { .. } => String::new(),
    };
    let in_flight = exp
        .run
        .ops
        .get(st.answered)
        .map_or("the unmount".to_string(), |op| {
            format!("op {} `{op}`", st.answered)
        });
    let how = match &st.crash {
        Crash::Process => format!("process crash after {writes} writes (event {})", st.end),
        Crash::Machine { kept, .. } => {
            let l = crate::states::Layout::new(events);
            format!(
                "machine crash at event {}: flushed writes + {} of {} later writes",
                st.end,
                kept.len(),
                l.unflushed(st.end).len()
            )
        }
    };
    let boot = st
        .crash
        .replay_boot()
        .map_or("the running boot".to_string(), |b| {
            b.iter().map(|x| format!("{x:02x}")).collect()
        });
    format!(
        "{how}; {} answered, {} durable; in flight: {in_flight}{progress}; replay boot: {boot}",
        st.answered, st.durable
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_image_keeps_only_non_zero_runs() {
        let mut bytes = vec![0u8; 5 * 4096];
        bytes[10] = 1;
        bytes[4096 + 5] = 2;
        bytes[4 * 4096] = 3;
        let b = BaseImage::new(&bytes);
        assert_eq!(b.chunks.len(), 2);
        assert_eq!(b.chunks[0].0, 0);
        assert_eq!(b.chunks[0].1.len(), 2 * 4096);
        assert_eq!(b.chunks[1].0, 4 * 4096);

        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("img");
        let st = State {
            crash: Crash::Process,
            end: 1,
            answered: 0,
            durable: 0,
        };
        let events = vec![
            IoEvent::Write {
                offset: 4096 + 4,
                data: vec![7, 7],
            },
            IoEvent::Write {
                offset: 0,
                data: vec![8],
            },
        ];
        b.write_state(&p, &events, &st).unwrap();
        let got = std::fs::read(&p).unwrap();
        let mut want = bytes.clone();
        want[4096 + 4] = 7;
        want[4096 + 5] = 7;
        assert_eq!(got, want, "only the writes before the cut");
    }
}
