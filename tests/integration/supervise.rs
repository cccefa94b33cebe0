//! `fuse4fs --supervise` with a fake server (tests/fake_server/notify.py,
//! run through the FUSE4FS_SUPERVISE_EXEC test hook): the holder keeps the
//! fds the server stores, restarts a crashed server with them under
//! systemd's LISTEN_FDS convention, and exits as the protocol says.

use std::collections::HashMap;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::common;

/// One run of the fake server, as it reported itself (KEY=VALUE lines).
#[derive(Debug)]
struct Run(HashMap<String, String>);

impl Run {
    fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str)
    }
    fn num(&self, k: &str) -> f64 {
        self.get(k)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{k}: {self:?}"))
    }
    fn pid(&self) -> i32 {
        self.num("pid") as i32
    }
}

/// A scratch directory with the fifo the fake stores as "fuse"; the test
/// holds it open for reading (O_RDWR: opening never blocks, and the fake's
/// write end always has a reader).
struct Scratch {
    dir: tempfile::TempDir,
    fifo: std::fs::File,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fifo");
        let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: a valid path string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let fifo = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
            .unwrap();
        std::fs::create_dir(dir.path().join("rt")).unwrap();
        Scratch { dir, fifo }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn holder(&self, mode: &str, foreground: bool) -> Command {
        let fake = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake_server/notify.py");
        let mut c = Command::new(env!("CARGO_BIN_EXE_fuse4fs"));
        c.arg("--supervise");
        if foreground {
            c.arg("-f");
        }
        c.args(["-o", "rw", "some.img", "/some/mnt"])
            .env("FUSE4FS_SUPERVISE_EXEC", fake)
            .env("FAKE_DIR", self.path())
            .env("FAKE_MODE", mode)
            .env("XDG_RUNTIME_DIR", self.path().join("rt"))
            .env("FUSE4FS_LOG", "info")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("LISTEN_FDS")
            .stdin(Stdio::null());
        c
    }

    fn runs(&self) -> Vec<Run> {
        let mut runs = Vec::new();
        for n in 1.. {
            let Ok(s) = std::fs::read_to_string(self.path().join(format!("run-{n}"))) else {
                break;
            };
            let kv = s.lines().filter_map(|l| l.split_once('='));
            runs.push(Run(kv.map(|(k, v)| (k.into(), v.into())).collect()));
        }
        runs
    }

    fn fifo_contents(&mut self) -> String {
        let mut s = String::new();
        let _ = self.fifo.read_to_string(&mut s);
        s
    }
}

/// Runs `cmd` to completion, collecting stderr; fails the test if it takes
/// longer than `limit` (so that a hang is a failure, not a stuck run).
fn run_within(mut cmd: Command, limit: Duration) -> (ExitStatus, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    // Reading to end of file also proves that nothing left behind (a
    // backgrounded holder, its server) kept the caller's pipes.
    let reader = std::thread::spawn(move || {
        let mut e = String::new();
        let mut o = String::new();
        let _ = out.read_to_string(&mut o);
        let _ = err.read_to_string(&mut e);
        e + &o
    });
    let start = Instant::now();
    let status = common::wait_child(&mut child, limit).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("holder still running after {limit:?}")
    });
    while !reader.is_finished() {
        assert!(
            start.elapsed() < limit,
            "the caller's pipes were still open after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    (status, reader.join().unwrap())
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Gone or a zombie waiting for init.
fn process_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s.rsplit(')').next().unwrap().trim_start().starts_with('Z'),
    }
}

/// Kills a holder left running by a failed test (its fake server dies
/// with it).
struct KillOnDrop(i32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if !process_gone(self.0) {
            // SAFETY: signalling a holder this test started.
            unsafe { libc::kill(self.0, libc::SIGKILL) };
        }
    }
}

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn crashed_server_restarts_with_its_stored_fds() {
    let mut s = Scratch::new();
    let (status, err) = run_within(s.holder("crash", true), LIMIT);
    assert!(status.success(), "holder: {status:?}\n{err}");
    let runs = s.runs();
    assert_eq!(runs.len(), 2, "{err}");
    let (first, second) = (&runs[0], &runs[1]);
    assert_eq!(first.get("LISTEN_FDS"), None);
    assert_eq!(first.get("LISTEN_PID"), None);
    assert_eq!(first.get("fds"), Some("0,1,2"), "first run's fds");
    assert_eq!(first.get("argv"), Some("-f -o rw some.img /some/mnt"));
    assert_eq!(second.get("LISTEN_FDS"), Some("2"));
    assert_eq!(second.get("LISTEN_FDNAMES"), Some("fuse:state"));
    assert_eq!(
        second.get("LISTEN_PID"),
        Some(second.pid().to_string().as_str())
    );
    assert_eq!(second.get("fds"), Some("0,1,2,3,4"), "second run's fds");
    // fd 3 is the very fifo the first run stored, fd 4 the first run's
    // memfd with what it wrote.
    let fifo_ino = std::fs::metadata(s.path().join("fifo")).unwrap().ino();
    assert_eq!(
        second.get("fd3"),
        Some(format!("fifo=True ino={fifo_ino}").as_str())
    );
    assert_eq!(second.get("fd4"), Some("state from run 1"));
    assert_eq!(s.fifo_contents(), "hello from run 2\n");
    assert!(
        err.contains("server exited with signal 9; restarting with 2 stored fds"),
        "{err}"
    );
    // Both servers were told where to send, in a private directory that
    // is gone with the holder.
    let sock = PathBuf::from(first.get("notify").unwrap());
    assert_eq!(
        sock.parent().unwrap().parent().unwrap(),
        s.path().join("rt")
    );
    assert!(!sock.parent().unwrap().exists(), "socket directory left");
}

#[test]
fn first_start_failure_exits_1_with_the_servers_message() {
    let s = Scratch::new();
    let (status, err) = run_within(s.holder("fail", true), LIMIT);
    assert_eq!(status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end(), "fake: cannot open image");
    assert_eq!(s.runs().len(), 1);
    // In the background too: the waiting parent exits 1.
    let s = Scratch::new();
    let (status, err) = run_within(s.holder("fail", false), LIMIT);
    assert_eq!(status.code(), Some(1), "{err}");
    assert_eq!(s.runs().len(), 1);
}

#[test]
fn clean_exit_ends_the_holder_with_0() {
    let s = Scratch::new();
    let (status, err) = run_within(s.holder("clean", true), LIMIT);
    assert!(status.success(), "{status:?}\n{err}");
    assert_eq!(s.runs().len(), 1);
}

#[test]
fn dead_connection_is_not_recovered() {
    let s = Scratch::new();
    let (status, err) = run_within(s.holder("aborted", true), LIMIT);
    assert_eq!(status.code(), Some(1), "{err}");
    assert_eq!(s.runs().len(), 1, "restarted over a dead connection");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains("nothing to recover"), "{err}");
}

#[test]
fn restarts_that_die_before_ready_back_off() {
    let s = Scratch::new();
    let (status, err) = run_within(s.holder("backoff", true), LIMIT);
    assert!(status.success(), "{status:?}\n{err}");
    let runs = s.runs();
    assert_eq!(runs.len(), 6, "{err}");
    // Run 2 follows the crash of a ready server at once; runs 3..6 each
    // wait 10, 20, 40, 80 ms after a death before READY=1 (a lower bound:
    // python's start-up adds to every gap).
    let t: Vec<f64> = runs.iter().map(|r| r.num("time")).collect();
    for (i, want_ms) in [(3, 10.0), (4, 20.0), (5, 40.0), (6, 80.0)] {
        let gap = (t[i - 1] - t[i - 2]) * 1000.0;
        assert!(gap >= want_ms, "run {i} {gap:.1} ms after run {}", i - 1);
    }
    for r in &runs[1..] {
        assert_eq!(r.get("LISTEN_FDNAMES"), Some("fuse:state"));
    }
}

#[test]
fn background_holder_returns_once_ready_and_stops_on_sigterm() {
    let s = Scratch::new();
    let (status, err) = run_within(s.holder("serve", false), LIMIT);
    assert!(status.success(), "{status:?}\n{err}");
    assert!(
        s.path().join("ready").exists(),
        "returned before the server was ready"
    );
    let runs = s.runs();
    assert_eq!(runs.len(), 1);
    let holder = runs[0].num("ppid") as i32;
    let _guard = KillOnDrop(holder);
    let sock = PathBuf::from(runs[0].get("notify").unwrap());
    let mode = std::fs::metadata(sock.parent().unwrap()).unwrap().mode();
    assert_eq!(mode & 0o777, 0o700);
    assert!(!process_gone(holder));
    // SAFETY: signalling the holder we started.
    unsafe { libc::kill(holder, libc::SIGTERM) };
    wait_for("the holder to exit", LIMIT, || process_gone(holder));
    assert!(s.path().join("term").exists(), "SIGTERM not forwarded");
    assert!(!sock.parent().unwrap().exists(), "socket directory left");
}

#[test]
fn foreground_holder_forwards_sigterm_and_exits_as_the_server() {
    let s = Scratch::new();
    let mut child = s
        .holder("serve", true)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _guard = KillOnDrop(child.id() as i32);
    wait_for("READY", LIMIT, || s.path().join("ready").exists());
    // SAFETY: signalling our child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = common::wait_child(&mut child, LIMIT).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("holder still running {LIMIT:?} after SIGTERM")
    });
    assert!(
        status.success(),
        "{status:?} (signal {:?})",
        status.signal()
    );
    assert!(s.path().join("term").exists());
    assert_eq!(s.runs().len(), 1);
}

#[test]
fn sigterm_waits_until_the_restarted_server_is_ready() {
    let s = Scratch::new();
    let mut child = s
        .holder("recover", true)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _guard = KillOnDrop(child.id() as i32);
    wait_for("the restart", LIMIT, || {
        s.path().join("recovering").exists()
    });
    // SAFETY: signalling our child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = common::wait_child(&mut child, LIMIT)
        .unwrap_or_else(|| panic!("holder still running after SIGTERM"));
    assert!(
        status.success(),
        "{status:?}: the recovering server was killed"
    );
    assert!(s.path().join("term").exists());
    assert_eq!(s.runs().len(), 2);
}
