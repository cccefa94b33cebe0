//! `fuse4fs-memfs [-f] MOUNTPOINT`: an in-memory filesystem served through
//! fuse4fs's own FUSE layer, with the time-outs and open flags of a
//! read-write fuse4fs mount. What it achieves is what FUSE allows on the
//! machine: the floor `scripts/bench` compares fuse4fs with. Everything is
//! lost at unmount. Like fuse4fs it returns once the mount is live and
//! serves in the background; `-f` stays in the foreground.
//!
//! With `FUSE4FS_OPCOUNT=FILE` the requests served, by opcode, are written
//! to FILE on SIGUSR1 and at unmount.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use fuse4fs::fuse::memfs::{MemFs, MemFsConfig};
use fuse4fs::fuse::{InitConfig, MountOptions, Session, mount, opcount, unmount};

/// fuse4fs's entry and attribute time-out on a read-write mount.
const TTL: Duration = Duration::from_secs(1);
/// FOPEN_KEEP_CACHE, which fuse4fs's adapter sets on OPEN and CREATE of a
/// read-write mount (OPENDIR gets no flags there).
const FOPEN_KEEP_CACHE: u32 = 1 << 1;
/// As many worker threads as fuse4fs.
const WORKERS: usize = 4;

/// In-memory filesystem over fuse4fs's FUSE transport (a benchmark floor).
#[derive(Parser, Debug)]
#[command(name = "fuse4fs-memfs", version, about)]
struct Args {
    /// Stay in the foreground.
    #[arg(short, long)]
    foreground: bool,
    /// Where to mount (an existing directory).
    mountpoint: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("FUSE4FS_LOG"))
        .with_writer(std::io::stderr)
        .init();
    opcount::block_dump_signal();
    match serve(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fuse4fs-memfs: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let mp = std::fs::canonicalize(&args.mountpoint)
        .map_err(|e| format!("{}: {e}", args.mountpoint.display()))?;
    let opts = MountOptions {
        fsname: "memfs".into(),
        subtype: "memfs".into(),
        ..Default::default()
    };
    let fd = mount(&mp, &opts)?;
    let ready = if args.foreground {
        None
    } else {
        match background() {
            Ok(r) => Some(r),
            Err(e) => {
                let _ = unmount(&mp);
                return Err(e.into());
            }
        }
    };
    let fs = Arc::new(MemFs::new(MemFsConfig {
        ttl: TTL,
        file_open_flags: FOPEN_KEEP_CACHE,
        dir_open_flags: 0,
    }));
    let session = match Session::new(fd, fs, &InitConfig::read_write()) {
        Ok(s) => s,
        Err(e) => {
            let _ = unmount(&mp);
            return Err(e.into());
        }
    };
    unmount_on_signal(mp.clone());
    let opcount_file = opcount::dump_on_signal(session.op_counts());
    if let Some(ready) = ready {
        ready.signal();
    }
    let served = session.run(WORKERS);
    if let Some(p) = &opcount_file {
        session.op_counts().write_to(p)?;
    }
    Ok(served?)
}

/// The background child's end of the pipe its parent waits on.
struct Ready(File);

impl Ready {
    /// Releases the parent (exit 0) and lets go of the caller's terminal
    /// and pipes.
    fn signal(mut self) {
        if let Ok(null) = File::options().read(true).write(true).open("/dev/null") {
            use std::os::fd::AsRawFd;
            // SAFETY: dup2 onto the standard descriptors.
            unsafe {
                libc::dup2(null.as_raw_fd(), 0);
                libc::dup2(null.as_raw_fd(), 1);
                libc::dup2(null.as_raw_fd(), 2);
            }
        }
        let _ = self.0.write_all(&[1]);
    }
}

/// Forks: the parent exits 0 once the child reports the mount live, 1 if
/// the child dies first; the child returns.
fn background() -> std::io::Result<Ready> {
    let (rd, wr): (OwnedFd, OwnedFd) = rustix::pipe::pipe()?;
    // SAFETY: no other thread exists yet; the child continues the program.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if pid > 0 {
        drop(wr);
        let mut byte = [0u8; 1];
        let live = File::from(rd).read(&mut byte).is_ok_and(|n| n == 1);
        std::process::exit(if live { 0 } else { 1 });
    }
    drop(rd);
    let _ = rustix::process::setsid();
    Ok(Ready(File::from(wr)))
}

/// Unmounts on SIGINT, SIGTERM or SIGHUP, which ends serving. Called
/// before the worker threads start, so that they inherit the mask.
fn unmount_on_signal(mp: PathBuf) {
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
        if let Err(e) = unmount(Path::new(&mp)) {
            eprintln!("fuse4fs-memfs: unmount {}: {e}", mp.display());
        }
    });
}
