//! `fuse4fs --status DIR`: the server's health at a glance.
//!
//! A serving fuse4fs keeps a status file next to its server record (see
//! `server_record`): `DEV.status`, JSON, written whole and renamed into
//! place once a second when something in it changed, removed when the
//! server ends. For root mounts it lies in /run/fuse4fs-servers/ and is
//! world-readable, so any user reads it without going through the mount:
//! a mount without allow_other refuses other users' requests, and a
//! server that is wedged, killed or in the middle of a recovery would
//! leave a reader going through the mount blocked or empty-handed, which
//! is when the status is wanted most. (A user's own mount keeps it in
//! the user's private directory: readable by that user and root, the
//! users who can use such a mount.) What must survive a crash (restarts,
//! recoveries, the last recovery's summary) lives in the state memfd the
//! fd store keeps (`recovery::state`); each new server republishes it.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::CliError;
use super::server_record;
use fuse4fs::fuse::adapter::Ext4Adapter;
use fuse4fs::recovery::state::{CheckResult, RecoverySummary, StateFile, unix_now};
use fuse4fs::recovery::tracker::Tracker;

/// How often the server looks at what it publishes.
const REFRESH: Duration = Duration::from_secs(1);

/// What a server publishes about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The serving process.
    pub pid: u32,
    pub binary: String,
    /// When the serving process started, and when the mount was made
    /// (seconds since the epoch).
    pub started_at: u64,
    pub mounted_at: u64,
    pub image: String,
    pub mountpoint: String,
    pub read_only: bool,
    /// Whether a crash is recovered from (systemd's fd store or
    /// `--supervise` keeps the connection).
    pub recoverable: bool,
    /// Servers of this mount before this one.
    pub restarts: u32,
    /// Recoveries completed.
    pub recoveries: u64,
    pub last_recovery: Option<LastRecovery>,
    /// None: the image has no journal (or is mounted read-only).
    pub journal: Option<JournalStatus>,
    /// Opens the kernel holds on files.
    pub open_files: u64,
    /// The superblock's error records.
    pub errors: FsErrors,
}

/// The last recovery, as the state memfd kept it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastRecovery {
    pub finished_at: u64,
    pub duration_ms: f64,
    pub transactions_replayed: u64,
    pub blocks_replayed: u64,
    pub requests_resent: u64,
    pub requests_committed: u64,
    pub requests_maybe: u64,
    pub requests_rerun: u64,
    pub nodes_held: u64,
    pub nodes_stale: u64,
    pub nodes_open: u64,
    /// "not run", "clean", "repaired", "unrepaired" or "failed".
    pub checker: String,
    pub checker_problems: u32,
    pub checker_unrepaired: u32,
}

impl From<RecoverySummary> for LastRecovery {
    fn from(r: RecoverySummary) -> LastRecovery {
        let (checker, checker_problems, checker_unrepaired) = match r.check {
            CheckResult::NotRun => ("not run", 0, 0),
            CheckResult::Clean => ("clean", 0, 0),
            CheckResult::Repaired { problems } => ("repaired", problems, 0),
            CheckResult::Unrepaired {
                problems,
                unrepaired,
            } => ("unrepaired", problems, unrepaired),
            CheckResult::Failed => ("failed", 0, 0),
        };
        LastRecovery {
            finished_at: r.finished_at,
            duration_ms: r.duration_us as f64 / 1e3,
            transactions_replayed: r.transactions_replayed,
            blocks_replayed: r.blocks_replayed,
            requests_resent: r.requests_resent,
            requests_committed: r.requests_committed,
            requests_maybe: r.requests_maybe,
            requests_rerun: r.requests_to_rerun,
            nodes_held: r.nodes_held,
            nodes_stale: r.nodes_stale,
            nodes_open: r.nodes_open,
            checker: checker.into(),
            checker_problems,
            checker_unrepaired,
        }
    }
}

/// The journal's fill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalStatus {
    pub used_blocks: u32,
    pub log_blocks: u32,
    /// When the last durable commit was (or the journal was loaded).
    pub last_commit_at: u64,
}

/// s_error_count and the first and last error records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FsErrors {
    pub count: u32,
    pub first: Option<ErrorEntry>,
    pub last: Option<ErrorEntry>,
}

/// One error record of the superblock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorEntry {
    pub time: u64,
    pub function: String,
    pub inode: u32,
    pub block: u64,
    pub line: u32,
    pub errcode: u8,
}

impl ErrorEntry {
    fn of(r: &fuse4fs::ext4::superblock::ErrorRecord) -> Option<ErrorEntry> {
        if r.time == 0 && r.func[0] == 0 && r.ino == 0 {
            return None;
        }
        let end = r.func.iter().position(|&b| b == 0).unwrap_or(r.func.len());
        Some(ErrorEntry {
            time: r.time,
            function: String::from_utf8_lossy(&r.func[..end]).into_owned(),
            inode: r.ino,
            block: r.block,
            line: r.line,
            errcode: r.errcode,
        })
    }
}

/// What does not change while a server runs.
pub struct Fixed {
    pub started_at: u64,
    pub image: PathBuf,
    pub mountpoint: PathBuf,
    pub read_only: bool,
}

/// The thread keeping a server's status file current.
pub struct Publisher {
    path: PathBuf,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Publisher {
    /// Starts publishing to `path` what `adapter` and `tracker` (under a
    /// service manager) say.
    pub fn start(
        path: PathBuf,
        fixed: Fixed,
        adapter: Weak<Ext4Adapter>,
        tracker: Option<Arc<Tracker>>,
    ) -> Publisher {
        let (tx, rx) = mpsc::channel();
        let p = path.clone();
        let thread = std::thread::Builder::new()
            .name("status".into())
            .spawn(move || publish_loop(&p, &fixed, &adapter, tracker.as_deref(), &rx))
            .map_err(|e| tracing::warn!("status thread: {e}"))
            .ok();
        Publisher {
            path,
            stop: Some(tx),
            thread,
        }
    }

    /// Stops publishing and removes the file (the mount is going).
    pub fn stop(mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

fn publish_loop(
    path: &Path,
    fixed: &Fixed,
    adapter: &Weak<Ext4Adapter>,
    tracker: Option<&Tracker>,
    stop: &mpsc::Receiver<()>,
) {
    let binary = std::fs::read_link("/proc/self/exe")
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let mut written: Option<Status> = None;
    let mut commit = CommitClock::default();
    let mut warned = false;
    loop {
        let Some(adapter) = adapter.upgrade() else {
            return;
        };
        let now = collect(
            fixed,
            &binary,
            &adapter,
            tracker.map(Tracker::state),
            &mut commit,
        );
        drop(adapter);
        if written.as_ref() != Some(&now) {
            match write(path, &now) {
                Ok(()) => written = Some(now),
                Err(e) if !warned => {
                    tracing::warn!("{}: {e}", path.display());
                    warned = true;
                }
                Err(_) => {}
            }
        }
        match stop.recv_timeout(REFRESH) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            _ => return,
        }
    }
}

/// Turns "how long since the last durable commit" into a time that stays
/// the same until the next commit (so an idle server rewrites nothing).
#[derive(Default)]
struct CommitClock {
    last: Option<(Duration, u64)>,
}

impl CommitClock {
    fn at(&mut self, since: Duration) -> u64 {
        match self.last {
            // The same commit: its age grew.
            Some((prev, at)) if since >= prev => {
                self.last = Some((since, at));
                at
            }
            _ => {
                let at = SystemTime::now()
                    .checked_sub(since)
                    .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_secs());
                self.last = Some((since, at));
                at
            }
        }
    }
}

fn collect(
    fixed: &Fixed,
    binary: &str,
    adapter: &Ext4Adapter,
    state: Option<&StateFile>,
    commit: &mut CommitClock,
) -> Status {
    let fs = adapter.fs();
    let sb = fs.live_superblock();
    let mounted_at = state
        .map(StateFile::mounted_at)
        .filter(|&t| t > 0)
        .unwrap_or(fixed.started_at);
    Status {
        pid: std::process::id(),
        binary: binary.to_string(),
        started_at: fixed.started_at,
        mounted_at,
        image: fixed.image.display().to_string(),
        mountpoint: fixed.mountpoint.display().to_string(),
        read_only: fixed.read_only,
        recoverable: state.is_some(),
        restarts: state.map_or(0, StateFile::incarnation),
        recoveries: state.map_or(0, StateFile::recoveries),
        last_recovery: state
            .and_then(StateFile::last_recovery)
            .map(LastRecovery::from),
        journal: fs.journal_fill().map(|j| JournalStatus {
            used_blocks: j.used_blocks,
            log_blocks: j.log_blocks,
            last_commit_at: commit.at(j.since_durable),
        }),
        open_files: fs.open_files(),
        errors: FsErrors {
            count: sb.error_count,
            first: ErrorEntry::of(&sb.first_error),
            last: ErrorEntry::of(&sb.last_error),
        },
    }
}

/// Writes `status` whole under another name, then renames it into place:
/// a reader never sees half of it.
fn write(path: &Path, status: &Status) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(status).map_err(std::io::Error::other)?;
    let tmp = path.with_file_name(format!(".{}.status.tmp", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")?;
    drop(f);
    std::fs::rename(&tmp, path)
}

/// What `fuse4fs --status` prints as JSON: the published status and what
/// the reader adds (whether the server runs, ages from now).
#[derive(Debug, Serialize)]
struct Report<'a> {
    mountpoint_queried: String,
    running: bool,
    uptime_seconds: u64,
    mount_age_seconds: u64,
    last_commit_age_seconds: Option<u64>,
    journal_fill_percent: Option<f64>,
    #[serde(flatten)]
    status: &'a Status,
}

/// `fuse4fs --status DIR [--json]`.
pub fn run(dir: &Path, json: bool) -> Result<(), CliError> {
    let fail = |why: String| CliError::Usage(format!("{}: {why}", dir.display()));
    let abs = std::fs::canonicalize(dir).map_err(|e| fail(e.to_string()))?;
    let info = std::fs::read_to_string("/proc/self/mountinfo")?;
    let entry =
        server_record::mount_entry(&info, &abs).ok_or_else(|| fail("not a mount point".into()))?;
    if entry.fstype != "fuse" && !entry.fstype.starts_with("fuse.") {
        return Err(fail(format!("not a fuse4fs mount (type {})", entry.fstype)));
    }
    let Some(path) = server_record::find_status(&entry) else {
        return Err(fail(format!(
            "no fuse4fs server status is recorded for this {} mount \
             (another FUSE filesystem, or a status file this user cannot read)",
            entry.fstype
        )));
    };
    let text =
        std::fs::read_to_string(&path).map_err(|e| fail(format!("{}: {e}", path.display())))?;
    let status: Status =
        serde_json::from_str(&text).map_err(|e| fail(format!("{}: {e}", path.display())))?;
    let running = server_record::find(&entry)
        .and_then(|(_, r)| r.server)
        .is_some_and(|p| p.pid == status.pid && p.alive());
    let now = unix_now();
    let report = Report {
        mountpoint_queried: abs.display().to_string(),
        running,
        uptime_seconds: now.saturating_sub(status.started_at),
        mount_age_seconds: now.saturating_sub(status.mounted_at),
        last_commit_age_seconds: status
            .journal
            .as_ref()
            .map(|j| now.saturating_sub(j.last_commit_at)),
        journal_fill_percent: status
            .journal
            .as_ref()
            .map(|j| (1000.0 * j.used_blocks as f64 / j.log_blocks.max(1) as f64).round() / 10.0),
        status: &status,
    };
    let out = if json {
        serde_json::to_string_pretty(&report).map_err(std::io::Error::other)? + "\n"
    } else {
        human(&report, now)
    };
    print!("{out}");
    if !running {
        return Err(fail(format!(
            "its server (pid {}) is not running (killed? a --supervise holder or systemd \
             restarts it)",
            status.pid
        )));
    }
    Ok(())
}

fn human(r: &Report<'_>, now: u64) -> String {
    let s = r.status;
    let mut o = String::new();
    let mut line = |k: &str, v: String| o.push_str(&format!("{k:<15} {v}\n"));
    line("mount:", format!("{} on {}", s.image, s.mountpoint));
    line(
        "server:",
        format!(
            "pid {} ({}), {}",
            s.pid,
            s.binary,
            if r.running { "running" } else { "NOT RUNNING" }
        ),
    );
    line(
        "mode:",
        format!(
            "{}, {}",
            if s.read_only {
                "read-only"
            } else {
                "read-write"
            },
            if s.recoverable {
                "crashes are recovered (fd store)"
            } else {
                "crashes are not recovered (no --supervise, no systemd)"
            }
        ),
    );
    line("uptime:", duration(r.uptime_seconds));
    line("mounted:", format!("{} ago", duration(r.mount_age_seconds)));
    line("restarts:", s.restarts.to_string());
    line("recoveries:", s.recoveries.to_string());
    match &s.last_recovery {
        None => line("last recovery:", "none".into()),
        Some(l) => {
            line(
                "last recovery:",
                format!(
                    "{} ago, took {:.1} ms",
                    duration(now.saturating_sub(l.finished_at)),
                    l.duration_ms
                ),
            );
            line(
                "  replayed:",
                format!(
                    "{} transactions, {} blocks",
                    l.transactions_replayed, l.blocks_replayed
                ),
            );
            line(
                "  requests:",
                format!(
                    "{} resent; interrupted: {} committed, {} maybe, {} run again",
                    l.requests_resent, l.requests_committed, l.requests_maybe, l.requests_rerun
                ),
            );
            line(
                "  nodes:",
                format!(
                    "{} held by the kernel, {} stale, {} open",
                    l.nodes_held, l.nodes_stale, l.nodes_open
                ),
            );
            let check = match l.checker.as_str() {
                "repaired" => format!("repaired ({} problems)", l.checker_problems),
                "unrepaired" => format!(
                    "{} problems, {} NOT repaired",
                    l.checker_problems, l.checker_unrepaired
                ),
                other => other.to_string(),
            };
            line("  checker:", check);
        }
    }
    match (
        &s.journal,
        r.journal_fill_percent,
        r.last_commit_age_seconds,
    ) {
        (Some(j), Some(pct), Some(age)) => line(
            "journal:",
            format!(
                "{pct:.1}% full ({} of {} blocks), last durable commit {} ago",
                j.used_blocks,
                j.log_blocks,
                duration(age)
            ),
        ),
        _ => line("journal:", "none".into()),
    }
    line("open files:", s.open_files.to_string());
    line("errors:", s.errors.count.to_string());
    for (k, e) in [
        ("  first error:", &s.errors.first),
        ("  last error:", &s.errors.last),
    ] {
        if let Some(e) = e {
            line(
                k,
                format!(
                    "{} ({} ago) in {} (inode {}, block {}, code {})",
                    utc(e.time),
                    duration(now.saturating_sub(e.time)),
                    e.function,
                    e.inode,
                    e.block,
                    e.errcode
                ),
            );
        }
    }
    o
}

/// "2023-11-14 22:13:20 UTC" (proleptic Gregorian, from days since
/// 1970-01-01 by the usual civil-date arithmetic).
fn utc(secs: u64) -> String {
    let days = (secs / 86400) as i64;
    let t = secs % 86400;
    // Days since 0000-03-01, in 400-year eras of 146097 days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

/// "3d04h", "2h05m", "4m09s", "12s".
fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d{h:02}h")
    } else if h > 0 {
        format!("{h}h{m:02}m")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(59), "59s");
        assert_eq!(duration(61), "1m01s");
        assert_eq!(duration(3600 + 5 * 60), "1h05m");
        assert_eq!(duration(2 * 86400 + 3600), "2d01h");
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(utc(951_825_600), "2000-02-29 12:00:00 UTC");
        assert_eq!(utc(4_107_542_400), "2100-03-01 00:00:00 UTC");
    }

    #[test]
    fn the_commit_time_moves_only_with_a_commit() {
        let mut c = CommitClock::default();
        let t0 = c.at(Duration::from_millis(1500));
        // Later looks at the same commit, however the seconds fall.
        assert_eq!(c.at(Duration::from_millis(2600)), t0);
        assert_eq!(c.at(Duration::from_secs(30)), t0);
        // A new commit: its age starts again.
        let t1 = c.at(Duration::from_millis(10));
        assert!(t1 >= t0, "{t1} {t0}");
        assert_eq!(c.at(Duration::from_secs(1)), t1);
    }

    #[test]
    fn an_empty_error_record_is_none() {
        use fuse4fs::ext4::superblock::ErrorRecord;
        assert_eq!(ErrorEntry::of(&ErrorRecord::default()), None);
        let mut func = [0u8; 32];
        func[..11].copy_from_slice(b"ext4_lookup");
        let e = ErrorEntry::of(&ErrorRecord {
            time: 5,
            ino: 12,
            func,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            (e.function.as_str(), e.inode, e.time),
            ("ext4_lookup", 12, 5)
        );
    }
}
