//! Which worker thread reads `/dev/fuse` next.
//!
//! The kernel gives each request to the thread that has waited longest in
//! read(2) on the device (readers wait as exclusive waiters, woken in
//! turn). With every idle worker blocked in read(2), a client doing one
//! thing at a time has each request woken on another, cold thread, often
//! on the other CPU, where the thread that just replied would have come
//! back to read(2), found the next request queued and taken it without
//! sleeping. So one worker at a time holds the turn to read, unless
//! requests are already queued (then a worker coming back from its reply
//! reads alongside: its read(2) does not sleep); the others park here and
//! are called in only when requests wait:
//!
//! - the device already holds more requests when one is taken (a poll
//!   with no time-out), so parallel clients get parallel workers;
//! - the request taken is one that waits for the disk by design (FSYNC,
//!   FSYNCDIR, SYNCFS: group commit needs the others served meanwhile);
//! - the worker holding the request has been busy for a [`TICK`] or two
//!   while nobody reads: a standby (one parked worker) checks each tick
//!   while requests come, so a handler that waits on anything, even on
//!   another request's answer (a notification the kernel can only take
//!   once that request is answered), never leaves the device unread for
//!   long. With the server idle for [`IDLE_TICKS`] the standby sleeps
//!   until the next request is taken.
//!
//! Several clients at once (requests from more than one process among
//! the last [`MIXED_WINDOW`]) switch this off: then every worker back
//! from its reply reads at once and every request taken calls a parked
//! worker in, as when all workers read, so that a request arriving while
//! the others are busy finds a reader.
//!
//! No request is held here: requests stay in the kernel until read, so a
//! server killed at any moment leaves them to its successor as before.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use super::abi::opcode::{
    FUSE_BATCH_FORGET, FUSE_FORGET, FUSE_FSYNC, FUSE_FSYNCDIR, FUSE_INTERRUPT, FUSE_SYNCFS,
};

/// How often the standby checks that the device is being read.
pub const TICK: Duration = Duration::from_millis(1);
/// Ticks without a request taken after which the standby sleeps.
pub const IDLE_TICKS: u32 = 100;
/// Requests after one from a new process during which every worker reads.
pub const MIXED_WINDOW: u64 = 256;

/// What a worker should do after taking a request, given its opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// Answered at once, no reply (FORGET, INTERRUPT): its worker is back
    /// before anything could wait for it.
    Quick,
    /// Waits for the disk by design: call another worker in now.
    Slow,
    /// Anything else: call another worker in if requests are waiting.
    Other,
}

impl Taken {
    /// Classifies a request by the opcode in its header.
    pub fn of(opcode: u32) -> Taken {
        match opcode {
            FUSE_FORGET | FUSE_BATCH_FORGET | FUSE_INTERRUPT => Taken::Quick,
            FUSE_FSYNC | FUSE_FSYNCDIR | FUSE_SYNCFS => Taken::Slow,
            _ => Taken::Other,
        }
    }
}

/// The parked workers (under [`Readers::park`]'s mutex).
#[derive(Default)]
struct Parked {
    /// Workers parked without the standby's duty.
    others: usize,
    /// A parked worker is the standby.
    standby: bool,
    /// Calls for a reader not yet taken up by a parked worker.
    calls: usize,
}

/// The turn to read the device, shared by a session's workers.
#[derive(Default)]
pub struct Readers {
    /// Workers holding a turn (in read(2) or about to be): one, or more
    /// while requests are queued.
    reading: AtomicUsize,
    /// Requests taken so far: the standby sees whether the busy worker
    /// moved on since its last tick.
    taken: AtomicU64,
    /// The standby sleeps without a time-out: the next request taken
    /// wakes it.
    standby_asleep: AtomicBool,
    /// The connection is gone: every worker leaves.
    closed: AtomicBool,
    /// The process of the last request that named one.
    last_pid: AtomicU32,
    /// Every worker reads until `taken` reaches this (several clients).
    mixed_until: AtomicU64,
    park: Mutex<Parked>,
    /// Parked workers other than the standby wait here.
    others_cv: Condvar,
    /// The standby waits here.
    standby_cv: Condvar,
}

/// The turn to read, held by one worker until it has taken a request
/// ([`Turn::took`]). Dropped untaken (a read error, a panic), it passes to
/// a parked worker.
pub struct Turn<'a> {
    readers: &'a Readers,
    held: bool,
}

impl Readers {
    /// Blocks until this worker holds a turn to read; `None` once the
    /// connection is closed. `more_waiting` says whether the device holds
    /// requests now: if so, the worker reads even while another holds the
    /// turn.
    pub fn turn(&self, more_waiting: impl FnOnce() -> bool) -> Option<Turn<'_>> {
        if self.closed.load(Ordering::Acquire) {
            return None;
        }
        if self.try_take() {
            return Some(self.held());
        }
        if self.mixed() || more_waiting() {
            self.reading.fetch_add(1, Ordering::AcqRel);
            return Some(self.held());
        }
        let mut p = self.park.lock();
        let mut standby = false;
        let (mut seen, mut idle) = (self.taken.load(Ordering::Acquire), 0u32);
        if p.standby {
            p.others += 1;
        } else {
            p.standby = true;
            standby = true;
        }
        let got = loop {
            if self.closed.load(Ordering::Acquire) {
                break false;
            }
            if p.calls > 0 {
                p.calls -= 1;
                if self.try_take() {
                    break true;
                }
            }
            if standby {
                let asleep = idle >= IDLE_TICKS;
                self.standby_asleep.store(asleep, Ordering::Release);
                let timed_out = if asleep {
                    self.standby_cv.wait(&mut p);
                    idle = 0;
                    false
                } else {
                    self.standby_cv.wait_for(&mut p, TICK).timed_out()
                };
                if !timed_out {
                    continue;
                }
                let now = self.taken.load(Ordering::Acquire);
                if now == seen {
                    // Nobody took a request for a whole tick: either the
                    // server is idle (someone reads), or the one request
                    // taken is still being served and nobody reads.
                    if self.reading.load(Ordering::Acquire) == 0 && self.try_take() {
                        break true;
                    }
                    idle += 1;
                } else {
                    idle = 0;
                }
                seen = now;
            } else {
                if !p.standby {
                    // The standby left to read: take its duty.
                    p.others -= 1;
                    p.standby = true;
                    standby = true;
                    continue;
                }
                self.others_cv.wait(&mut p);
            }
        };
        if standby {
            p.standby = false;
            self.standby_asleep.store(false, Ordering::Release);
            if p.others > 0 {
                // One of them becomes the standby.
                self.others_cv.notify_one();
            }
        } else {
            p.others -= 1;
        }
        drop(p);
        got.then(|| self.held())
    }

    /// Ends the session's reading: every parked worker leaves, and
    /// [`Readers::turn`] returns `None` from now on.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let _p = self.park.lock();
        self.others_cv.notify_all();
        self.standby_cv.notify_all();
    }

    /// Workers parked right now (for tests).
    pub fn parked(&self) -> usize {
        let p = self.park.lock();
        p.others + usize::from(p.standby)
    }

    fn try_take(&self) -> bool {
        self.reading
            .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    fn held(&self) -> Turn<'_> {
        Turn {
            readers: self,
            held: true,
        }
    }

    /// Gives up the turn without a request: another worker must read.
    fn release(&self) {
        self.reading.fetch_sub(1, Ordering::AcqRel);
        self.call();
    }

    /// Asks a parked worker, if any, to take the turn.
    fn call(&self) {
        let mut p = self.park.lock();
        if p.others == 0 && !p.standby {
            return;
        }
        p.calls += 1;
        if p.others > 0 {
            self.others_cv.notify_one();
        } else {
            self.standby_cv.notify_one();
        }
    }
}

impl Turn<'_> {
    /// The worker took a request of kind `kind` from process `pid` (0 for
    /// the kernel's own) and gives up the turn. `more_waiting` (asked only
    /// when it matters) says whether the device holds more requests; if
    /// so, or if the request is slow, or several clients are active, a
    /// parked worker is called in to read.
    pub fn took(mut self, kind: Taken, pid: u32, more_waiting: impl FnOnce() -> bool) {
        self.held = false;
        let r = self.readers;
        r.reading.fetch_sub(1, Ordering::AcqRel);
        let n = r.taken.fetch_add(1, Ordering::AcqRel) + 1;
        let before = if pid != 0 && kind != Taken::Quick {
            r.last_pid.swap(pid, Ordering::AcqRel)
        } else {
            0
        };
        if before != 0 && before != pid {
            r.mixed_until.store(n + MIXED_WINDOW, Ordering::Release);
        }
        if r.standby_asleep.swap(false, Ordering::AcqRel) {
            let _p = r.park.lock();
            r.standby_cv.notify_one();
        }
        let call = match kind {
            Taken::Quick => false,
            Taken::Slow => true,
            Taken::Other => r.any_parked() && (r.mixed() || more_waiting()),
        };
        if call {
            r.call();
        }
    }
}

impl Readers {
    /// Several clients lately: every worker reads.
    fn mixed(&self) -> bool {
        self.taken.load(Ordering::Acquire) < self.mixed_until.load(Ordering::Acquire)
    }

    fn any_parked(&self) -> bool {
        let p = self.park.lock();
        p.others > 0 || p.standby
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if self.held {
            self.readers.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::time::Instant;

    fn wait_until(what: &str, f: impl Fn() -> bool) {
        let t = Instant::now();
        while !f() {
            assert!(t.elapsed() < Duration::from_secs(10), "timed out: {what}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn one_worker_reads_and_the_others_park() {
        let r = Arc::new(Readers::default());
        let turn = r.turn(|| false).expect("the first worker takes the turn");
        let entered = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..3)
            .map(|_| {
                let (r, entered) = (r.clone(), entered.clone());
                std::thread::spawn(move || {
                    let t = r.turn(|| false);
                    entered.fetch_add(1, Ordering::SeqCst);
                    t.is_some()
                })
            })
            .collect();
        wait_until("three parked", || r.parked() == 3);
        // Requests come one at a time and the reader is back within a
        // tick each time: nobody else is called in.
        turn.took(Taken::Other, 7, || false);
        for _ in 0..20 {
            let t = r
                .turn(|| false)
                .expect("the worker that replied reads again");
            t.took(Taken::Other, 7, || false);
            std::thread::sleep(TICK / 4);
        }
        assert_eq!(entered.load(Ordering::SeqCst), 0, "a parked worker read");
        r.close();
        for h in hs {
            assert!(!h.join().unwrap(), "a parked worker got a turn after close");
        }
        assert!(r.turn(|| false).is_none());
    }

    #[test]
    fn waiting_requests_and_slow_ones_call_a_parked_worker_in() {
        for (kind, waiting) in [(Taken::Other, true), (Taken::Slow, false)] {
            let r = Arc::new(Readers::default());
            let turn = r.turn(|| false).unwrap();
            let r2 = r.clone();
            let h = std::thread::spawn(move || {
                let t = r2.turn(|| false);
                let ok = t.is_some();
                drop(t);
                ok
            });
            wait_until("one parked", || r.parked() == 1);
            let asked = AtomicBool::new(false);
            turn.took(kind, 7, || {
                asked.store(true, Ordering::SeqCst);
                waiting
            });
            let t = Instant::now();
            assert!(h.join().unwrap(), "{kind:?}: not called in");
            assert!(t.elapsed() < TICK * 50, "{kind:?}: called in late");
            assert_eq!(asked.load(Ordering::SeqCst), kind == Taken::Other);
            r.close();
        }
    }

    #[test]
    fn with_requests_queued_a_worker_reads_alongside_the_turn_holder() {
        let r = Readers::default();
        let first = r.turn(|| false).unwrap();
        let second = r
            .turn(|| true)
            .expect("requests are queued: a second reader does not park");
        assert_eq!(r.reading.load(Ordering::SeqCst), 2);
        first.took(Taken::Quick, 7, || false);
        drop(second); // a read error: the turn is given back
        assert_eq!(r.reading.load(Ordering::SeqCst), 0);
        assert!(r.turn(|| false).is_some(), "the turn is free again");
        r.close();
    }

    #[test]
    fn requests_from_several_processes_keep_every_worker_reading() {
        let r = Arc::new(Readers::default());
        // One client: its requests take the turn alone.
        let t = r.turn(|| false).unwrap();
        t.took(Taken::Other, 10, || false);
        let t = r.turn(|| false).unwrap();
        t.took(Taken::Other, 10, || false);
        let held = r.turn(|| false).unwrap();
        let r2 = r.clone();
        let h = std::thread::spawn(move || r2.turn(|| false).is_some());
        wait_until("one parked", || r.parked() == 1);
        // A second process: the parked worker is called in at once, and
        // a worker back from its reply reads without waiting for a turn.
        held.took(Taken::Other, 11, || false);
        assert!(h.join().unwrap(), "not called in for a second client");
        let first = r.turn(|| false).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let r3 = r.clone();
        std::thread::spawn(move || {
            let t = r3.turn(|| false);
            let n = r3.reading.load(Ordering::SeqCst);
            tx.send(n).unwrap();
            drop(t);
        });
        let n = rx
            .recv_timeout(Duration::from_secs(5))
            .expect("a worker back from its reply waited for the turn");
        assert_eq!(n, 2, "two workers reading");
        first.took(Taken::Other, 11, || false);
        r.close();
    }

    #[test]
    fn quick_requests_never_call_anyone_in() {
        let r = Arc::new(Readers::default());
        let turn = r.turn(|| false).unwrap();
        let r2 = r.clone();
        let h = std::thread::spawn(move || r2.turn(|| false).is_some());
        wait_until("one parked", || r.parked() == 1);
        turn.took(Taken::Quick, 7, || panic!("a FORGET asked the device"));
        // Back within a tick: the standby sees requests moving.
        let t = r.turn(|| false).unwrap();
        drop(t); // a read error: the turn passes on
        assert!(h.join().unwrap(), "the dropped turn was not passed on");
        r.close();
    }

    #[test]
    fn a_busy_reader_is_relieved_by_the_standby_within_ticks() {
        let r = Arc::new(Readers::default());
        let turn = r.turn(|| false).unwrap();
        let r2 = r.clone();
        let h = std::thread::spawn(move || {
            let t0 = Instant::now();
            let ok = r2.turn(|| false).is_some();
            (ok, t0.elapsed())
        });
        wait_until("one parked", || r.parked() == 1);
        // The request taken keeps its worker busy; nothing else called.
        turn.took(Taken::Other, 7, || false);
        let (ok, waited) = h.join().unwrap();
        assert!(ok, "the standby never took over");
        assert!(waited >= TICK, "taken over before a tick: {waited:?}");
        assert!(waited < TICK * 100, "taken over late: {waited:?}");
        r.close();
    }

    #[test]
    fn an_idle_standby_sleeps_and_the_next_request_wakes_it() {
        let r = Arc::new(Readers::default());
        let turn = r.turn(|| false).unwrap();
        let r2 = r.clone();
        let h = std::thread::spawn(move || r2.turn(|| false).is_some());
        wait_until("the standby asleep", || {
            r.standby_asleep.load(Ordering::SeqCst)
        });
        // A request taken while it sleeps, and its worker stays busy: the
        // standby wakes and takes over.
        turn.took(Taken::Other, 7, || false);
        assert!(h.join().unwrap());
        r.close();
    }
}
