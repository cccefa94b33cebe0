//! Command line: argument parsing, mounting, daemonizing, serving.

mod daemon;
mod options;
mod supervise;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use fuse4fs::fs::{Fs, FsOptions};
use fuse4fs::fuse::adapter::Ext4Adapter;
use fuse4fs::fuse::init::InitConfig;
use fuse4fs::fuse::mount::{self, MountOptions};
use fuse4fs::fuse::session::Session;

pub use options::Options;

/// Worker threads reading /dev/fuse.
const WORKERS: usize = 4;
/// Attribute and entry lifetime on a read-only mount: nothing changes.
const RO_TTL: Duration = Duration::from_secs(3600);
/// On a read-write mount every change comes through the kernel, which
/// updates its caches; a short lifetime still bounds any surprise.
const RW_TTL: Duration = Duration::from_secs(1);

/// Mount an ext2/ext3/ext4 image over FUSE.
#[derive(Parser, Debug)]
#[command(name = "fuse4fs", version, about)]
struct Args {
    /// Mount options, comma separated (ro, rw, allow_other,
    /// default_permissions, acl, errors=continue|remount-ro|panic, fsname=,
    /// subtype=, max_read=, logfile=); may be repeated.
    #[arg(short = 'o', value_name = "OPTS", action = clap::ArgAction::Append)]
    options: Vec<String>,
    /// Stay in the foreground.
    #[arg(short = 'f')]
    foreground: bool,
    /// Debug logging (implies -f).
    #[arg(short = 'd')]
    debug: bool,
    /// Run the server under a holder process that keeps its FUSE
    /// connection and restarts it after a crash (for hosts without systemd).
    #[arg(long)]
    supervise: bool,
    /// The filesystem image (a file or block device).
    image: PathBuf,
    /// Where to mount it.
    mountpoint: PathBuf,
}

/// A user-facing failure: printed as one line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Open(#[from] fuse4fs::fs::OpenError),
    #[error("{0}")]
    Mount(#[from] fuse4fs::fuse::mount::MountError),
    #[error("{0}")]
    Session(#[from] fuse4fs::fuse::session::SessionError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Parses the command line and serves until unmounted.
pub fn run() -> Result<(), CliError> {
    let args = Args::parse();
    if args.supervise {
        return supervise::run(&args.options, args.foreground, args.debug);
    }
    let opts = Options::parse(&args.options)?;
    let foreground = args.foreground || args.debug;
    init_logging(args.debug);

    let mountpoint = check_mountpoint(&args.mountpoint)?;
    let image = args.image.clone();
    if !image.exists() {
        return Err(CliError::Usage(format!(
            "{}: no such image",
            image.display()
        )));
    }
    let _lock = daemon::lock_image(&image, opts.ro)?;
    let fs = Fs::open(
        &image,
        &FsOptions {
            writable: !opts.ro,
            norecovery: opts.norecovery,
            ..Default::default()
        },
    )?;
    if !opts.ro {
        fs.set_error_policy(opts.errors);
        fs.set_commit_interval(std::time::Duration::from_secs(opts.commit_secs));
        let freed = fs
            .mount_rw()
            .map_err(|e| CliError::Usage(format!("{}: {e}", image.display())))?;
        if freed > 0 {
            tracing::info!("freed {freed} orphaned inode(s) left by a crash");
        }
    }

    let mount_opts = MountOptions {
        ro: opts.ro,
        allow_other: opts.allow_other,
        default_permissions: opts.default_permissions,
        fsname: opts.fsname.clone().unwrap_or_else(|| absolute(&image)),
        subtype: opts.subtype.clone(),
        max_read: opts.max_read,
        force_fusermount: false,
    };
    let fd = mount::mount(&mountpoint, &mount_opts)?;

    // From here on a failure must leave nothing mounted.
    let ready = if foreground {
        None
    } else {
        Some(daemon::daemonize(opts.logfile.as_deref())?)
    };
    let (ttl, mut init) = if opts.ro {
        (RO_TTL, InitConfig::default())
    } else {
        (RW_TTL, InitConfig::read_write())
    };
    init.posix_acl = opts.acl;
    let adapter = Arc::new(Ext4Adapter::new(fs, ttl).with_acl(opts.acl));
    if adapter.fs().journaled() {
        fuse4fs::fs::journal::spawn_commit_timer(Arc::downgrade(&adapter), Ext4Adapter::fs);
    }
    let session = match Session::new(fd, adapter.clone(), &init) {
        Ok(s) => s,
        Err(e) => {
            let _ = mount::unmount(&mountpoint);
            return Err(e.into());
        }
    };
    daemon::unmount_on_signal(mountpoint.clone());
    if let Some(ready) = ready {
        ready.signal();
    }
    tracing::info!("serving {} on {}", image.display(), mountpoint.display());
    let served = session.run(WORKERS);
    if !opts.ro {
        // Every file is closed once the kernel lets go of the mount.
        adapter
            .fs()
            .unmount_clean()
            .map_err(|e| CliError::Usage(format!("{}: marking clean: {e}", image.display())))?;
    }
    served?;
    Ok(())
}

fn init_logging(debug: bool) {
    let filter = if debug { "debug" } else { "info" };
    let env = tracing_subscriber::EnvFilter::try_from_env("FUSE4FS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter));
    tracing_subscriber::fmt()
        .with_env_filter(env)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

fn check_mountpoint(p: &std::path::Path) -> Result<PathBuf, CliError> {
    let md = std::fs::metadata(p)
        .map_err(|e| CliError::Usage(format!("mountpoint {}: {e}", p.display())))?;
    if !md.is_dir() {
        return Err(CliError::Usage(format!(
            "mountpoint {}: not a directory",
            p.display()
        )));
    }
    Ok(std::fs::canonicalize(p)?)
}

fn absolute(p: &std::path::Path) -> String {
    std::fs::canonicalize(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}
