//! Serving in the background, for the servers built on this transport:
//! forking away from the terminal once the mount is live, and unmounting
//! on SIGINT, SIGTERM or SIGHUP.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use super::mount;

/// Held by the background child: tells the waiting parent that the mount
/// is live.
pub struct Ready {
    pipe: File,
    logfile: Option<PathBuf>,
}

impl Ready {
    /// Detaches from the terminal and releases the parent with status 0.
    pub fn signal(mut self) {
        redirect_stdio(self.logfile.as_deref());
        let _ = self.pipe.write_all(&[1]);
    }
}

/// Forks. The parent waits until the child reports the mount live (exit 0)
/// or dies (exit 1, the child having printed why); the child returns.
pub fn daemonize(logfile: Option<&Path>) -> std::io::Result<Ready> {
    let (rd, wr): (OwnedFd, OwnedFd) = rustix::pipe::pipe()?;
    // SAFETY: no other thread exists yet; the child continues the program.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if pid > 0 {
        drop(wr);
        let mut byte = [0u8; 1];
        let ok = File::from(rd)
            .read(&mut byte)
            .map(|n| n == 1)
            .unwrap_or(false);
        std::process::exit(if ok { 0 } else { 1 });
    }
    drop(rd);
    let _ = rustix::process::setsid();
    Ok(Ready {
        pipe: File::from(wr),
        logfile: logfile.map(Path::to_path_buf),
    })
}

/// Points stdin and stdout at /dev/null and stderr at the log file (or
/// /dev/null), so that no caller's pipe stays open.
fn redirect_stdio(logfile: Option<&Path>) {
    let null = File::options().read(true).write(true).open("/dev/null");
    let log = logfile.and_then(|p| File::options().create(true).append(true).open(p).ok());
    if let Ok(null) = null {
        let err = log.as_ref().unwrap_or(&null);
        // SAFETY: dup2 onto the standard descriptors.
        unsafe {
            libc::dup2(null.as_raw_fd(), 0);
            libc::dup2(null.as_raw_fd(), 1);
            libc::dup2(err.as_raw_fd(), 2);
        }
    }
}

/// Unmounts `mountpoint` on SIGINT, SIGTERM or SIGHUP; serving then ends
/// and the process exits 0. Must be called before worker threads start, so
/// that they inherit the blocked mask.
pub fn unmount_on_signal(mountpoint: PathBuf) {
    // SAFETY: plain signal-mask calls on a zeroed sigset_t.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, s);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    std::thread::spawn(move || {
        let mut sig = 0;
        // SAFETY: waits on the set blocked above.
        unsafe { libc::sigwait(&set, &mut sig) };
        tracing::info!("signal {sig}: unmounting {}", mountpoint.display());
        if let Err(e) = mount::unmount(&mountpoint) {
            tracing::error!("unmount {}: {e}", mountpoint.display());
        }
    });
}
