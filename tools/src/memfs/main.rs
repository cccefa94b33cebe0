//! `fuse4fs-memfs [-f] MOUNTPOINT`: an in-memory filesystem served through
//! fuse4fs's own FUSE layer, with the time-outs, negative entries and
//! open flags of a read-write fuse4fs mount. What it achieves is what FUSE allows on the
//! machine: the floor `scripts/bench` compares fuse4fs with. Everything is
//! lost at unmount. Like fuse4fs it returns once the mount is live and
//! serves in the background; `-f` stays in the foreground.
//!
//! With `FUSE4FS_OPCOUNT=FILE` the requests served, by opcode, are written
//! to FILE on SIGUSR1 and at unmount.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use fuse4fs::fuse::abi::fopen::{FOPEN_CACHE_DIR, FOPEN_KEEP_CACHE, FOPEN_NOFLUSH};
use fuse4fs::fuse::background::{self, unmount_on_signal};
use fuse4fs::fuse::memfs::{MemFs, MemFsConfig};
use fuse4fs::fuse::{InitConfig, MountOptions, Session, mount, opcount, unmount};

/// fuse4fs's entry and attribute time-out on a read-write mount.
const TTL: Duration = Duration::from_secs(3600);
/// FOPEN_KEEP_CACHE and FOPEN_NOFLUSH, which fuse4fs's adapter sets on
/// OPEN and CREATE of a read-write mount.
const FILE_OPEN_FLAGS: u32 = FOPEN_KEEP_CACHE | FOPEN_NOFLUSH;
/// FOPEN_KEEP_CACHE and FOPEN_CACHE_DIR, which fuse4fs's adapter sets on
/// OPENDIR of a read-write mount unless the listing must set atime
/// (memfs keeps no atime).
const DIR_OPEN_FLAGS: u32 = FOPEN_KEEP_CACHE | FOPEN_CACHE_DIR;
/// As many worker threads as fuse4fs.
const WORKERS: usize = 4;

/// In-memory filesystem over fuse4fs's FUSE transport (a benchmark floor).
#[derive(Parser, Debug)]
#[command(name = "fuse4fs-memfs", version, about)]
struct Args {
    /// Stay in the foreground.
    #[arg(short, long)]
    foreground: bool,
    /// Mount options: `io_uring` serves requests over FUSE over io_uring
    /// (read(2) when the kernel does not offer it); may be repeated.
    #[arg(short = 'o', value_name = "OPTS", action = clap::ArgAction::Append)]
    options: Vec<String>,
    /// Where to mount (an existing directory).
    mountpoint: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        // Warnings by default: e.g. that -o io_uring fell back to read(2).
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FUSE4FS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
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
    let mut init = InitConfig::read_write();
    for opt in args.options.iter().flat_map(|o| o.split(',')) {
        match opt {
            "io_uring" => init.io_uring = true,
            "" => {}
            other => return Err(format!("unknown mount option '{other}'").into()),
        }
    }
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
        match background::daemonize(None) {
            Ok(r) => Some(r),
            Err(e) => {
                let _ = unmount(&mp);
                return Err(e.into());
            }
        }
    };
    let fs = Arc::new(MemFs::new(MemFsConfig {
        ttl: TTL,
        file_open_flags: FILE_OPEN_FLAGS,
        dir_open_flags: DIR_OPEN_FLAGS,
        // fuse4fs answers a miss with a negative entry for its entry
        // time-out (default_permissions mounts).
        negative_ttl: TTL,
    }));
    let session = match Session::new(fd, fs, &init) {
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
