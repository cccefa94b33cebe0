//! Named crash points for tests: with the `crash-points` feature, the
//! server kills itself (SIGKILL, as an outside kill would) when execution
//! reaches the point named in `FUSE4FS_CRASH`. Without the feature every
//! call compiles to nothing.
//!
//! `FUSE4FS_CRASH=POINT[:OPCODE][@N]` fires at the N-th hit (default 1) of
//! POINT while a request with that opcode name (e.g. `MKDIR`; any when
//! left out) is being served. `FUSE4FS_CRASH_ONCE=FILE` makes it fire only
//! if FILE does not exist yet (it is created just before), so that the
//! restarted server, which inherits the environment, runs on.
//!
//! Points: `after-read` (a request read, nothing done), `mid-log` (half of
//! a transaction's log blocks written), `after-commit` (a transaction's
//! commit block written, the operation not answered), `before-reply` (the
//! answer computed and recorded, not sent), `mid-checkpoint` (half of a
//! checkpoint's in-place writes done), `after-replay` (a recovering
//! server replayed the journal and recorded its verdicts, the log is not
//! yet emptied).
//!
//! With `mid-checkpoint` armed, every durable commit writes its blocks in
//! place (the checkpoint is otherwise deferred while few blocks are
//! dirty, docs/journal.md), so that the fsync a test makes reaches the
//! point.

/// Names the request this thread serves (its opcode name), for matching.
pub fn set_request(op: &'static str) {
    imp::set_request(op)
}

/// Crashes here if `point` is the armed crash point.
pub fn hit(point: &str) {
    imp::hit(point)
}

/// Whether `point` is the armed crash point (always false without the
/// feature).
pub fn armed(point: &str) -> bool {
    imp::armed_point(point)
}

/// Whether this build has crash points (a write may then be split in two
/// so that a test can crash between the halves).
pub const ENABLED: bool = cfg!(feature = "crash-points");

#[cfg(not(feature = "crash-points"))]
mod imp {
    #[inline(always)]
    pub fn set_request(_: &'static str) {}
    #[inline(always)]
    pub fn hit(_: &str) {}
    #[inline(always)]
    pub fn armed_point(_: &str) -> bool {
        false
    }
}

#[cfg(feature = "crash-points")]
mod imp {
    use std::cell::Cell;
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};

    struct Armed {
        point: String,
        op: Option<String>,
        nth: u64,
        once: Option<std::path::PathBuf>,
        hits: AtomicU64,
    }

    thread_local! {
        static REQUEST: Cell<&'static str> = const { Cell::new("") };
    }

    fn armed() -> Option<&'static Armed> {
        static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
        ARMED
            .get_or_init(|| {
                let spec = std::env::var("FUSE4FS_CRASH").ok()?;
                let (spec, nth) = match spec.split_once('@') {
                    Some((s, n)) => (s.to_string(), n.parse().unwrap_or(1)),
                    None => (spec, 1),
                };
                let (point, op) = match spec.split_once(':') {
                    Some((p, o)) => (p.to_string(), Some(o.to_string())),
                    None => (spec, None),
                };
                Some(Armed {
                    point,
                    op,
                    nth,
                    once: std::env::var_os("FUSE4FS_CRASH_ONCE").map(Into::into),
                    hits: AtomicU64::new(0),
                })
            })
            .as_ref()
    }

    pub fn set_request(op: &'static str) {
        REQUEST.with(|r| r.set(op));
    }

    pub fn armed_point(point: &str) -> bool {
        armed().is_some_and(|a| a.point == point)
    }

    pub fn hit(point: &str) {
        let Some(a) = armed() else { return };
        if a.point != point {
            return;
        }
        if let Some(op) = &a.op {
            if REQUEST.with(|r| r.get()) != op {
                return;
            }
        }
        if a.hits.fetch_add(1, Ordering::SeqCst) + 1 != a.nth {
            return;
        }
        if let Some(once) = &a.once {
            if std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(once)
                .is_err()
            {
                return;
            }
        }
        eprintln!("fuse4fs: crash point {point} reached: killing myself");
        // SAFETY: plain kill(2) of this process.
        unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    }
}
