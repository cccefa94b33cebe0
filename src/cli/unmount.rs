//! `fuse4fs -u DIR`: unmount, then wait until the server has written its
//! last commit and checkpoint and exited (plain `umount` returns before:
//! see docs/unmount.md), and say how it ended.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::CliError;
use super::server_record::{self, Proc, Record};
use fuse4fs::fuse::mount;

/// How often the processes are looked at while waiting.
const POLL: Duration = Duration::from_millis(10);
/// After this long, one line says what is being waited for (there is
/// no time-out: the image is not final before the server ends).
const SAY_WAITING: Duration = Duration::from_secs(5);

/// Unmounts `dir` and waits for its fuse4fs server (and its `--supervise`
/// holder) to exit; Ok only if the server recorded a clean end.
pub fn run(dir: &Path) -> Result<(), CliError> {
    let fail = |why: String| CliError::Usage(format!("{}: {why}", dir.display()));
    let dir: PathBuf = std::fs::canonicalize(dir).map_err(|e| fail(errno_text(&e)))?;
    let info = std::fs::read_to_string("/proc/self/mountinfo")?;
    let entry =
        server_record::mount_entry(&info, &dir).ok_or_else(|| fail("not a mount point".into()))?;
    if entry.fstype != "fuse"
        && !entry.fstype.starts_with("fuse.")
        && !entry.fstype.starts_with("fuseblk")
    {
        return Err(fail(format!("not a fuse4fs mount (type {})", entry.fstype)));
    }
    let Some((path, _)) = server_record::find(&entry) else {
        return Err(fail(format!(
            "no fuse4fs server is recorded for this {} mount (another FUSE filesystem?)",
            entry.fstype
        )));
    };
    if rustix::process::geteuid().is_root() {
        rustix::mount::unmount(&dir, rustix::mount::UnmountFlags::empty())
            .map_err(|e| fail(format!("umount: {}", errno_text(&e.into()))))?;
    } else {
        fusermount(&dir).map_err(fail)?;
    }
    let end = wait(&path);
    // Nobody needs it any more (another mount may reuse the number).
    let _ = std::fs::remove_file(&path);
    match end {
        Record {
            exit: Some((0, _)), ..
        } => Ok(()),
        Record {
            exit: Some((code, why)),
            ..
        } => Err(fail(format!("the server exited with status {code}: {why}"))),
        Record {
            server: Some(p), ..
        } => Err(fail(format!(
            "the server (pid {}) ended without finishing (killed?): the image may need recovery",
            p.pid
        ))),
        _ => Err(fail("the server's record is unreadable".into())),
    }
}

/// An I/O error's text without Rust's "(os error N)".
fn errno_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => std::io::Error::from_raw_os_error(n)
            .to_string()
            .split(" (os error")
            .next()
            .unwrap_or_default()
            .to_string(),
        None => e.to_string(),
    }
}

/// `fusermount3 -u DIR` (not lazy: a busy mount stays, and says so).
fn fusermount(dir: &Path) -> Result<(), String> {
    let out = std::process::Command::new(mount::FUSERMOUNT)
        .arg("-u")
        .arg("--")
        .arg(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("{}: {e}", mount::FUSERMOUNT))?;
    if out.status.success() {
        return Ok(());
    }
    let msg = String::from_utf8_lossy(&out.stderr);
    Err(format!(
        "{} -u failed: {}",
        mount::FUSERMOUNT,
        msg.lines().next().unwrap_or("").trim()
    ))
}

/// Waits until neither the recorded server nor its holder runs; the
/// record is read again each time, since a holder may have restarted a
/// server that died meanwhile (the new one rewrites it).
fn wait(path: &Path) -> Record {
    let read = || {
        std::fs::read_to_string(path)
            .map(|t| Record::parse(&t))
            .unwrap_or_default()
    };
    wait_with(read, Proc::alive)
}

/// [`wait`], with the record read by `read` and processes looked at by
/// `alive`.
fn wait_with(read: impl Fn() -> Record, alive: impl Fn(&Proc) -> bool) -> Record {
    let t0 = std::time::Instant::now();
    let mut said = false;
    loop {
        let rec = read();
        let running = [rec.server, rec.holder].iter().flatten().any(&alive);
        if !running {
            // Read once more: the server may have written its end and
            // exited between the read above and the look at it (the end
            // was then taken for a kill, one time in about 35 here).
            return read();
        }
        if !said && t0.elapsed() > SAY_WAITING {
            said = true;
            let pids: Vec<String> = [rec.server, rec.holder]
                .iter()
                .flatten()
                .map(|p| p.pid.to_string())
                .collect();
            eprintln!(
                "fuse4fs: waiting for the server to finish writing the image (pid {})",
                pids.join(", ")
            );
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn an_end_written_just_before_the_exit_is_seen() {
        let server = Proc { pid: 7, start: 1 };
        let reads = Cell::new(0);
        // The first read finds the server at work; it then writes its end
        // and exits before it is looked at.
        let read = || {
            reads.set(reads.get() + 1);
            Record {
                server: Some(server),
                exit: (reads.get() > 1).then(|| (0, String::new())),
                ..Default::default()
            }
        };
        let end = wait_with(read, |_| false);
        assert_eq!(end.exit, Some((0, String::new())));
    }
}
