//! Crash states: which of the recorded writes reached the image.
//!
//! A state is a cut of the event sequence: `events[..end]` happened before
//! the crash. In a *process* crash the host page cache keeps every write,
//! so the image holds all writes before the cut, in order. In a *machine*
//! crash only what a flush made durable is certain: the image holds every
//! write before the last flush before the cut, then a random subset of the
//! writes after it (the disk may have persisted any of them, in any
//! order; applied here in issue order, so a later write to the same place
//! wins when both made it). The subset is closed per host page: a write
//! that landed brings every earlier write to the same 4 KiB page, since
//! the host writes a page back with all it holds at that time.
//!
//! Cuts are taken just before a write (or at the very end): among all the
//! cuts that give the same image this is the latest one, which counts the
//! most operations as answered, so it makes the strictest expectation.
//!
//! Expectations (see check.rs): `answered` = marks before the cut (the
//! operations that had replied); `durable` = marks before the
//! *second-to-last* flush before the cut. Why not the last: a durable
//! commit may take two flushes (flush, write the commit record, flush);
//! when the cut falls between the two, the last flush made nothing newly
//! durable and the operations answered before it may be lost, while the
//! ones answered before the flush before it were covered by the previous,
//! completed commit. The rule can count fewer operations durable than a
//! given journal guarantees (a single-flush commit), never more as long as
//! every durable commit ends with a flush, so it cannot raise a false
//! alarm; it only widens the accepted window.

use fuse4fs::fs::io::log::IoEvent;

/// What kind of crash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Crash {
    /// The server died; every write issued reached the page cache.
    Process,
    /// The machine died; `kept` are the event indices of the writes after
    /// the last flush before the cut that reached the disk. `boot` is the
    /// boot id the replay runs in (a fresh random one: a reboot happened).
    Machine { kept: Vec<usize>, boot: [u8; 16] },
}

impl Crash {
    /// The boot id our replay must assume: None (the running boot, whose
    /// page cache kept every write) for a process crash, the fresh id for
    /// a machine crash.
    pub fn replay_boot(&self) -> Option<[u8; 16]> {
        match self {
            Crash::Process => None,
            Crash::Machine { boot, .. } => Some(*boot),
        }
    }
}

/// One crash state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub crash: Crash,
    /// `events[..end]` happened before the crash.
    pub end: usize,
    /// Operations that had replied before the crash.
    pub answered: usize,
    /// Operations certainly made durable by a completed flush (machine).
    pub durable: usize,
}

/// Where the writes, flushes and marks are in an event sequence.
pub struct Layout {
    /// Event index of each write, in order.
    pub writes: Vec<usize>,
    /// Event index of each flush, in order.
    pub flushes: Vec<usize>,
    len: usize,
    /// `marks_before[i]`: marks in `events[..i]` (len + 1 entries).
    marks_before: Vec<usize>,
}

impl Layout {
    pub fn new(events: &[IoEvent]) -> Layout {
        let mut l = Layout {
            writes: Vec::new(),
            flushes: Vec::new(),
            len: events.len(),
            marks_before: Vec::with_capacity(events.len() + 1),
        };
        let mut marks = 0;
        for (i, e) in events.iter().enumerate() {
            l.marks_before.push(marks);
            match e {
                IoEvent::Write { .. } => l.writes.push(i),
                IoEvent::Flush => l.flushes.push(i),
                IoEvent::Mark(_) => marks += 1,
            }
        }
        l.marks_before.push(marks);
        l
    }

    /// The cut just before write `k` (k writes applied), or the end.
    pub fn cut_before_write(&self, k: usize) -> usize {
        self.writes.get(k).copied().unwrap_or(self.len)
    }

    /// Marks before the cut.
    pub fn answered(&self, end: usize) -> usize {
        self.marks_before[end.min(self.len)]
    }

    /// The last flush before the cut.
    pub fn last_flush(&self, end: usize) -> Option<usize> {
        let n = self.flushes.partition_point(|&f| f < end);
        n.checked_sub(1).map(|i| self.flushes[i])
    }

    /// Marks before the second-to-last flush before the cut (the module
    /// doc says why the second-to-last).
    pub fn durable(&self, end: usize) -> usize {
        let n = self.flushes.partition_point(|&f| f < end);
        match n.checked_sub(2) {
            Some(i) => self.marks_before[self.flushes[i]],
            None => 0,
        }
    }

    /// Writes between the last flush before the cut and the cut.
    pub fn unflushed(&self, end: usize) -> &[usize] {
        let from = self.last_flush(end).map_or(0, |f| f + 1);
        let a = self.writes.partition_point(|&w| w < from);
        let b = self.writes.partition_point(|&w| w < end);
        &self.writes[a..b]
    }

    fn process(&self, k: usize) -> State {
        let end = self.cut_before_write(k);
        State {
            crash: Crash::Process,
            end,
            answered: self.answered(end),
            durable: self.durable(end),
        }
    }

    fn machine(&self, end: usize, kept: Vec<usize>, boot: [u8; 16]) -> State {
        State {
            crash: Crash::Machine { kept, boot },
            end,
            answered: self.answered(end),
            durable: self.durable(end),
        }
    }
}

/// The writes the image holds in state `st`, in the order they apply.
pub fn writes_of<'e>(events: &'e [IoEvent], st: &State) -> Vec<(u64, &'e [u8])> {
    let as_write = |e: &'e IoEvent| match e {
        IoEvent::Write { offset, data } => Some((*offset, data.as_slice())),
        _ => None,
    };
    let end = st.end.min(events.len());
    match &st.crash {
        Crash::Process => events[..end].iter().filter_map(as_write).collect(),
        Crash::Machine { kept, .. } => {
            let l = Layout::new(&events[..end]);
            let durable_end = l.last_flush(end).map_or(0, |f| f + 1);
            let mut out: Vec<_> = events[..durable_end].iter().filter_map(as_write).collect();
            out.extend(
                kept.iter()
                    .filter(|&&i| i >= durable_end && i < end)
                    .filter_map(|&i| as_write(&events[i])),
            );
            out
        }
    }
}

/// Applies `writes` to an in-memory image, in order (tests; the checker
/// writes them to a file the same way).
#[cfg(test)]
pub fn apply(image: &mut [u8], writes: &[(u64, &[u8])]) {
    for (off, data) in writes {
        let o = *off as usize;
        image[o..o + data.len()].copy_from_slice(data);
    }
}

/// How many states to check.
#[derive(Debug, Clone, Copy)]
pub enum Budget {
    /// About this many process and this many machine states.
    Bounded { process: usize, machine: usize },
    /// Every cut as a process crash; every flush point and `subsets`
    /// random subsets at every cut with unflushed writes as machine crashes.
    Long { subsets: usize },
    /// Process crashes between operations (every write of the answered
    /// ones, none of the next) and machine crashes right at each flush:
    /// states that even a filesystem without a journal must survive.
    Boundaries,
}

/// `want` values spread evenly over `from` (all of them if it is short).
fn spread(from: &[usize], want: usize) -> Vec<usize> {
    if from.len() <= want {
        return from.to_vec();
    }
    if want == 0 {
        return Vec::new();
    }
    let mut out: Vec<usize> = (0..want)
        .map(|i| from[i * (from.len() - 1) / (want - 1).max(1)])
        .collect();
    out.dedup();
    out
}

/// The states to check for `events`, seeded.
pub fn plan(events: &[IoEvent], budget: Budget, seed: u64) -> Vec<State> {
    let l = Layout::new(events);
    let mut rng = fastrand::Rng::with_seed(seed);
    let nw = l.writes.len();
    let all: Vec<usize> = (0..=nw).collect();
    // Images (counted in writes applied) around every reply and flush: the
    // operation complete, and missing its last write.
    let mut special: Vec<usize> = Vec::new();
    let mut marks_at: Vec<usize> = Vec::new();
    for (i, e) in events.iter().enumerate() {
        if matches!(e, IoEvent::Mark(_) | IoEvent::Flush) {
            let k = l.writes.partition_point(|&w| w < i);
            if matches!(e, IoEvent::Mark(_)) {
                marks_at.push(k);
            }
            special.push(k);
            special.extend(k.checked_sub(1));
        }
    }
    special.push(nw);
    special.sort_unstable();
    special.dedup();
    let flush_cuts: Vec<usize> = l
        .flushes
        .iter()
        .map(|&f| l.cut_before_write(l.writes.partition_point(|&w| w < f)))
        .collect();
    let boot = |rng: &mut fastrand::Rng| (rng.u128(..)).to_le_bytes();
    let mut out = Vec::new();
    let (process_ks, machine_flush, random_cuts, subsets) = match budget {
        Budget::Long { subsets } => (all, flush_cuts, (1..=nw).collect(), subsets),
        Budget::Boundaries => {
            let mut ks: Vec<usize> = marks_at.clone();
            ks.push(nw);
            ks.dedup();
            (ks, flush_cuts, Vec::new(), 0)
        }
        Budget::Bounded { process, machine } => {
            // Two thirds around replies and flushes, the rest anywhere
            // (mid-operation cuts other than "all but the last write").
            let mut ks = spread(&special, process - process / 3);
            let rest: Vec<usize> = all.iter().copied().filter(|k| !ks.contains(k)).collect();
            ks.extend(spread(&rest, process - ks.len()));
            ks.sort_unstable();
            let fl = spread(&flush_cuts, machine / 2);
            let cuts = spread(&all[1..], machine - fl.len());
            (ks, fl, cuts, 1)
        }
    };
    out.extend(process_ks.into_iter().map(|k| l.process(k)));
    for end in machine_flush {
        let b = boot(&mut rng);
        out.push(l.machine(end, Vec::new(), b));
    }
    for k in random_cuts {
        let end = l.cut_before_write(k);
        let pending = l.unflushed(end).to_vec();
        if pending.is_empty() {
            continue;
        }
        for _ in 0..subsets {
            // Vary how much made it: a few, about half, most.
            let q = [0.25, 0.5, 0.75][rng.usize(0..3)];
            let chosen: Vec<bool> = pending.iter().map(|_| rng.f64() < q).collect();
            let kept = close_per_page(events, &pending, chosen);
            let b = boot(&mut rng);
            out.push(l.machine(end, kept, b));
        }
    }
    out
}

/// The host page: the image is a file, and the host writes its page
/// cache back a page at a time, with everything the page holds then.
const PAGE: u64 = 4096;

/// The pages a write event touches.
fn pages(e: &IoEvent) -> std::ops::Range<u64> {
    match e {
        IoEvent::Write { offset, data } => {
            *offset / PAGE..(*offset + data.len() as u64).div_ceil(PAGE)
        }
        _ => 0..0,
    }
}

/// The writes of `pending` (event indices, in order) that land, given a
/// random choice: closed so that a write landing brings every earlier
/// write to one of its pages along (a page reaches the disk with all
/// that was written to it by then). Without that, two sub-block writes
/// into one page could land as a mix no moment ever had.
fn close_per_page(events: &[IoEvent], pending: &[usize], mut chosen: Vec<bool>) -> Vec<usize> {
    for i in (0..pending.len()).rev() {
        if !chosen[i] {
            continue;
        }
        let p = pages(&events[pending[i]]);
        for j in 0..i {
            let q = pages(&events[pending[j]]);
            if q.start < p.end && p.start < q.end {
                chosen[j] = true;
            }
        }
    }
    pending
        .iter()
        .zip(chosen)
        .filter_map(|(&e, c)| c.then_some(e))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(offset: u64, byte: u8, len: usize) -> IoEvent {
        IoEvent::Write {
            offset,
            data: vec![byte; len],
        }
    }

    /// mount flush, op 0 (two writes), op 1 (one write, then flush),
    /// op 2 (two writes, the second overwriting the first), unmount.
    fn events() -> Vec<IoEvent> {
        vec![
            w(0, 9, 2),       // 0
            IoEvent::Flush,   // 1
            w(2, 1, 2),       // 2
            w(4, 1, 2),       // 3
            IoEvent::Mark(0), // 4
            w(6, 2, 2),       // 5
            IoEvent::Flush,   // 6
            IoEvent::Mark(1), // 7
            w(2, 3, 4),       // 8
            w(3, 4, 1),       // 9
            IoEvent::Mark(2), // 10
            w(0, 5, 1),       // 11
            IoEvent::Flush,   // 12
        ]
    }

    fn image(st: &State) -> Vec<u8> {
        let ev = events();
        let mut img = vec![0u8; 8];
        apply(&mut img, &writes_of(&ev, st));
        img
    }

    #[test]
    fn process_prefixes_apply_in_order() {
        let ev = events();
        let l = Layout::new(&ev);
        assert_eq!(l.writes, vec![0, 2, 3, 5, 8, 9, 11]);
        // Before write 4 (event 8): ops 0 and 1 answered.
        let st = l.process(4);
        assert_eq!((st.end, st.answered, st.durable), (8, 2, 0));
        assert_eq!(image(&st), vec![9, 9, 1, 1, 1, 1, 2, 2]);
        // The overwrite within op 2 lands after the write it covers.
        let st = l.process(6);
        assert_eq!(image(&st), vec![9, 9, 3, 4, 3, 3, 2, 2]);
        assert_eq!(st.answered, 3);
        let st = l.process(0);
        assert_eq!((st.end, st.answered, st.durable), (0, 0, 0));
        assert_eq!(image(&st), vec![0; 8]);
    }

    #[test]
    fn machine_keeps_the_flushed_prefix_and_only_the_chosen_rest() {
        let ev = events();
        let l = Layout::new(&ev);
        // Cut before write 6 (event 11): last flush is event 6.
        assert_eq!(l.last_flush(11), Some(6));
        assert_eq!(l.unflushed(11), &[8, 9]);
        let only_second = l.machine(11, vec![9], [0; 16]);
        assert_eq!(image(&only_second), vec![9, 9, 1, 4, 1, 1, 2, 2]);
        let both = l.machine(11, vec![8, 9], [0; 16]);
        assert_eq!(image(&both), vec![9, 9, 3, 4, 3, 3, 2, 2]);
        let none = l.machine(11, vec![], [0; 16]);
        assert_eq!(image(&none), vec![9, 9, 1, 1, 1, 1, 2, 2]);
        // Indices outside the unflushed window are ignored.
        let stray = l.machine(11, vec![2, 11], [0; 16]);
        assert_eq!(image(&stray), image(&none));
        // durable: marks before the second-to-last flush (event 1): none.
        assert_eq!(none.durable, 0);
        assert_eq!(none.answered, 3);
        // After the last flush (event 12) the second-to-last is event 6.
        assert_eq!(l.durable(13), 1);
    }

    #[test]
    fn plans_cover_flushes_replies_and_stay_in_budget() {
        let ev = events();
        let b = Budget::Bounded {
            process: 4,
            machine: 4,
        };
        let p = plan(&ev, b, 1);
        let procs = p.iter().filter(|s| s.crash == Crash::Process).count();
        assert!(procs <= 4 && procs > 0, "{p:?}");
        assert!(p.len() <= 8);
        assert_eq!(p, plan(&ev, b, 1), "seeded");
        let long = plan(&ev, Budget::Long { subsets: 3 }, 1);
        let procs: Vec<usize> = long
            .iter()
            .filter(|s| s.crash == Crash::Process)
            .map(|s| s.end)
            .collect();
        assert_eq!(procs, vec![0, 2, 3, 5, 8, 9, 11, 13]);
        let flush_points = long
            .iter()
            .filter(|s| matches!(&s.crash, Crash::Machine { kept, .. } if kept.is_empty()))
            .count();
        assert!(flush_points >= 3);
    }

    #[test]
    fn boundaries_are_replies_and_flushes_only() {
        let ev = events();
        let p = plan(&ev, Budget::Boundaries, 1);
        let procs: Vec<usize> = p
            .iter()
            .filter(|s| s.crash == Crash::Process)
            .map(|s| s.end)
            .collect();
        // Replies after writes 3, 4, 6; the end.
        assert_eq!(procs, vec![5, 8, 11, 13]);
        for s in &p {
            if let Crash::Machine { kept, .. } = &s.crash {
                assert!(kept.is_empty(), "{s:?}");
            }
        }
    }

    #[test]
    fn a_landing_write_brings_earlier_writes_to_its_pages() {
        let ev = vec![
            w(100, 1, 10),      // page 0
            w(PAGE + 5, 2, 10), // page 1
            w(PAGE - 2, 3, 4),  // pages 0 and 1
            w(3 * PAGE, 4, 1),  // page 3
            w(200, 5, 1),       // page 0
        ];
        let all = [0, 1, 2, 3, 4];
        // Only the last write chosen: the earlier page-0 writes come, and
        // the straddling one brings page 1's earlier write too.
        let kept = close_per_page(&ev, &all, vec![false, false, false, false, true]);
        assert_eq!(kept, vec![0, 1, 2, 4]);
        // The straddling write brings both pages' earlier writes.
        let kept = close_per_page(&ev, &all, vec![false, false, true, false, false]);
        assert_eq!(kept, vec![0, 1, 2]);
        // Unrelated pages stay independent.
        let kept = close_per_page(&ev, &all, vec![false, false, false, true, false]);
        assert_eq!(kept, vec![3]);
    }

    #[test]
    fn spread_keeps_ends_and_size() {
        let v: Vec<usize> = (0..100).collect();
        let s = spread(&v, 5);
        assert_eq!(s, vec![0, 24, 49, 74, 99]);
        assert_eq!(spread(&v[..3], 5), vec![0, 1, 2]);
        assert!(spread(&v, 0).is_empty());
    }
}
