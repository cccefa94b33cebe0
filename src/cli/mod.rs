//! Command line: argument parsing, mounting, daemonizing, serving.

mod daemon;
mod docs;
mod fuse2fs_options;
mod lockfile;
mod logging;
mod options;
mod partition;
mod quota;
mod server_record;
mod status;
mod supervise;
mod unmount;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use fuse4fs::ext4::quota::QuotaType;
use fuse4fs::fs::mount::mmp::MmpStart;
use fuse4fs::fs::sync_mode::SyncMode;
use fuse4fs::fs::{Fs, FsOptions};
use fuse4fs::fuse::Negotiated;
use fuse4fs::fuse::adapter::Ext4Adapter;
use fuse4fs::fuse::init::InitConfig;
use fuse4fs::fuse::mount::{self, MountOptions};
use fuse4fs::fuse::notify::NotifyError;
use fuse4fs::fuse::opcount;
use fuse4fs::fuse::session::Session;
use fuse4fs::recovery::{
    self, fdstore, state::StateFile, state::StaticInfo, tracker::Folded, tracker::Tracker,
};
use std::time::Instant;

pub use options::Options;

/// Worker threads reading /dev/fuse.
const WORKERS: usize = 4;

/// Attribute and entry lifetime on a read-only mount: nothing changes.
const RO_TTL: Duration = Duration::from_secs(3600);
/// Attribute and entry lifetime on a read-write mount. Every change comes
/// through the kernel, which drops what its own requests make stale; where
/// the server changes what the kernel cached without it knowing (the ".."
/// of a moved directory, a block count an xattr changed, setuid bits a
/// write cleared, everything at recovery) it tells the kernel
/// (FUSE_NOTIFY_INVAL_INODE, FUSE_NOTIFY_INC_EPOCH): see
/// docs/performance.md, "Caching on read-write mounts".
const RW_TTL: Duration = Duration::from_secs(3600);
/// Entry lifetime on a read-write mount when the kernel cannot be made to
/// revalidate its dentries after a recovery (FUSE_NOTIFY_INC_EPOCH needs
/// protocol 7.44, Linux 6.16): a checker run at recovery may remove names.
const RW_ENTRY_TTL_NO_EPOCH: Duration = Duration::from_secs(1);
/// The protocol minor version with FUSE_NOTIFY_INC_EPOCH.
const MINOR_WITH_EPOCH: u32 = 44;

/// Caps a read-write mount's entry lifetime where the kernel `negotiated`
/// with has no FUSE_NOTIFY_INC_EPOCH (see [`RW_ENTRY_TTL_NO_EPOCH`]);
/// before the session serves, at mount and at recovery alike.
fn fit_entry_ttl(adapter: &Ext4Adapter, opts: &Options, negotiated: &Negotiated) {
    if !opts.ro && negotiated.minor < MINOR_WITH_EPOCH {
        adapter.limit_entry_ttl(RW_ENTRY_TTL_NO_EPOCH);
    }
}

/// The request adapter over `fs` as the mount options ask; at mount and
/// at recovery alike, except that only a connection this server
/// initialised may leave out directory notifications that replies it
/// knows applied make unneeded (`fresh`; after a restart the dead
/// server's replies may still be unapplied).
fn adapter_for(fs: Fs, opts: &Options, fresh: bool) -> Arc<Ext4Adapter> {
    let ttl = if opts.ro { RO_TTL } else { RW_TTL };
    Arc::new(
        Ext4Adapter::new(fs, ttl)
            .with_acl(opts.acl)
            .with_permission_checks(!opts.default_permissions)
            .with_fakeroot(opts.fakeroot)
            .with_minixdf(opts.minixdf)
            .with_dir_reply_proofs(fresh),
    )
}

/// The filesystem features by how far fuse4fs serves them (tests/integration/features.rs
/// holds the image-making ones to it).
const FEATURES_HELP: &str = "\
Filesystem features:
  read-write: has_journal, ext_attr, resize_inode, dir_index, filetype, extent, 64bit, flex_bg, meta_bg, sparse_super, sparse_super2, large_file, huge_file, dir_nlink, extra_isize, uninit_bg, metadata_csum, metadata_csum_seed, large_dir, inline_data, orphan_file, mmp, quota, project, ea_inode, casefold, bigalloc
  quota and project: usage kept exact in the quota files; limits enforced with -o usrquota, grpquota, prjquota; set with --setquota
  read-only (refused for read-write, naming the feature): read-only, orphan_present, encrypt, verity
  casefold: names compared with the kernel's utf8-12.1 folding, htree hashes over the folded names (docs/casefold.md)
  encrypt: without keys, as the kernel's ext4 without them: names in encrypted directories shown in their no-key encoding, contents refused (ENOKEY)
  bigalloc: allocation in whole clusters as the kernel's ext4 does it: a logical cluster in one physical cluster, partial clusters kept at the edges of a punch or truncate, i_blocks, quota and statfs in clusters (docs/bigalloc.md); fuse4fs-fsck refuses it (use e2fsck)
  verity: file data served up to i_size, not verified (no fs-verity here); the Merkle tree past EOF is never served
  refused: compression, journal_dev, snapshot, replica, shared_blocks";

/// Mount an ext2/ext3/ext4 image over FUSE.
#[derive(Parser, Debug)]
#[command(
    name = "fuse4fs",
    version,
    about,
    after_help = FEATURES_HELP,
    after_long_help = format!("{}\n{FEATURES_HELP}", options::help_text())
)]
struct Args {
    /// Mount options, comma separated (see "Mount options" in --help or
    /// fuse4fs(1)); may be repeated.
    #[arg(short = 'o', value_name = "OPTS", action = clap::ArgAction::Append)]
    options: Vec<String>,
    /// Stay in the foreground.
    #[arg(short = 'f')]
    foreground: bool,
    /// Debug logging (implies -f).
    #[arg(short = 'd')]
    debug: bool,
    /// Serve with one thread (fuse2fs's -s).
    #[arg(short = 's')]
    single_thread: bool,
    /// Take over a live mount whose server died: adopt the /dev/fuse fd
    /// and state kept in the fd store (LISTEN_FDS); no new mount. Implied
    /// when stored fds are handed over.
    #[arg(long)]
    recover: bool,
    /// When recovering, run the checker's repair pass (fuse4fs-fsck -y)
    /// on the image after the journal replay, before serving again (as
    /// `-o fsck`). Images without a journal and images marked with errors
    /// always get a -p pass.
    #[arg(long)]
    fsck: bool,
    /// Run the server under a holder process that keeps its FUSE
    /// connection and restarts it after a crash (for hosts without systemd).
    #[arg(long)]
    supervise: bool,
    /// Print IMAGE's partition table (number, start and size in bytes,
    /// type, name, and whether it holds ext2/3/4) and exit.
    #[arg(long, value_name = "IMAGE", conflicts_with_all = ["image", "mountpoint", "supervise", "recover", "unmount"])]
    list: Option<PathBuf>,
    /// Unmount DIR and wait until its fuse4fs server has written
    /// everything and exited (plain umount returns before that); exit 0
    /// only if the server left the image clean. As root by umount2, as
    /// another user by fusermount3 -u.
    #[arg(short = 'u', value_name = "DIR", conflicts_with_all = ["image", "mountpoint", "supervise", "recover"])]
    unmount: Option<PathBuf>,
    /// Write the man pages and shell completions into DIR (for packaging:
    /// they follow these definitions).
    #[arg(long, hide = true, exclusive = true, value_name = "DIR")]
    generate_docs: Option<PathBuf>,
    /// Show the health of the fuse4fs server of the mount on DIR: its
    /// process, uptime, restarts and recoveries (with what the last one
    /// did), journal fill, last durable commit, open files, the
    /// superblock's error records. Any user who can use the mount may ask.
    /// Exit 1 if DIR is not a fuse4fs mount or its server is not running.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["image", "mountpoint", "supervise", "recover", "unmount"])]
    status: Option<PathBuf>,
    /// With --status: print JSON.
    #[arg(long, requires = "status")]
    json: bool,
    /// Set quota limits on the unmounted IMAGE, as setquota(8):
    /// TYPE:ID:BSOFT:BHARD:ISOFT:IHARD, TYPE user, group or project,
    /// block limits in KiB (or with a K, M, G or T suffix), 0 for none.
    /// May be repeated; no MOUNTPOINT. Enforced by -o usrquota, grpquota,
    /// prjquota (see docs/quota.md).
    #[arg(long, value_name = "SPEC", action = clap::ArgAction::Append, conflicts_with_all = ["mountpoint", "supervise", "recover", "unmount", "status", "list"])]
    setquota: Vec<String>,
    /// Set the grace periods of a quota type on the unmounted IMAGE:
    /// TYPE:BGRACE:IGRACE, in seconds (how long usage may stay over a
    /// soft limit). May be repeated; no MOUNTPOINT.
    #[arg(long, value_name = "SPEC", action = clap::ArgAction::Append, conflicts_with_all = ["mountpoint", "supervise", "recover", "unmount", "status", "list"])]
    setgrace: Vec<String>,
    /// List the quota entries of IMAGE (after any --setquota and
    /// --setgrace): usage, limits, grace time left, per type and id.
    #[arg(long, conflicts_with_all = ["mountpoint", "supervise", "recover", "unmount", "status", "list"])]
    repquota: bool,
    /// The filesystem image (a file or block device); a whole-disk image
    /// with a partition table is served from its only ext2/3/4 partition
    /// unless -o partition=N or -o offset=BYTES says where.
    #[arg(required_unless_present_any = ["unmount", "status", "list"])]
    image: Option<PathBuf>,
    /// Where to mount it.
    #[arg(required_unless_present_any = ["unmount", "status", "list", "setquota", "setgrace", "repquota"])]
    mountpoint: Option<PathBuf>,
}

impl Args {
    /// The image (present unless `-u`, which returns before it is asked).
    fn image(&self) -> &std::path::Path {
        self.image
            .as_deref()
            .expect("clap requires IMAGE without -u")
    }

    /// The mount point (likewise).
    fn mountpoint(&self) -> &std::path::Path {
        (self.mountpoint.as_deref()).expect("clap requires MOUNTPOINT without -u")
    }
}

/// A user-facing failure: printed as one line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Open(#[from] fuse4fs::fs::mount::open::OpenError),
    #[error("{0}")]
    Mount(#[from] fuse4fs::fuse::mount::MountError),
    #[error("{0}")]
    Session(#[from] fuse4fs::fuse::session::SessionError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("recovery: {0}")]
    Recover(#[from] fuse4fs::recovery::RecoverError),
    #[error("recovery: {0}")]
    State(#[from] fuse4fs::recovery::state::StateError),
}

/// Parses the command line and serves until unmounted.
pub fn run() -> Result<(), CliError> {
    let args = Args::parse();
    if let Some(dir) = &args.generate_docs {
        return docs::generate(dir).map_err(CliError::from);
    }
    if let Some(dir) = &args.unmount {
        return unmount::run(dir);
    }
    if let Some(dir) = &args.status {
        return status::run(dir, args.json);
    }
    if let Some(image) = &args.list {
        return partition::list(image);
    }
    if !args.setquota.is_empty() || !args.setgrace.is_empty() || args.repquota {
        let req = quota::Request {
            limits: args.setquota.clone(),
            grace: args.setgrace.clone(),
            report: args.repquota,
        };
        return quota::run(args.image(), &Options::parse(&args.options)?, &req);
    }
    // `-o debug` is -d, `-o fuse2fs_debug` debug logging alone (fuse2fs's
    // words); a bad option is reported where the options are parsed.
    let early = Options::parse(&args.options).unwrap_or_default();
    let debug = args.debug || early.foreground;
    let started_at = fuse4fs::recovery::state::unix_now();
    if args.supervise {
        return supervise::run(&args.options, args.foreground, debug);
    }
    let stays_foreground = args.foreground || args.debug || early.foreground || fdstore::managed();
    init_logging(debug || early.debug_log, stays_foreground);
    // Before any thread starts (see block_dump_signal).
    opcount::block_dump_signal();
    // SAFETY: no other thread exists yet.
    let stored = unsafe { fdstore::take() }
        .map_err(|e| CliError::Usage(format!("taking the stored fds: {e}")))?;
    match stored {
        Some(stored) => recover(&args, stored, started_at),
        None if args.recover => Err(CliError::Usage(
            "--recover: no stored /dev/fuse fd to adopt (LISTEN_FDS is not set); \
             recovery runs under systemd or fuse4fs --supervise"
                .into(),
        )),
        None => mount_and_serve(&args, started_at),
    }
}

/// A fresh mount.
fn mount_and_serve(args: &Args, started_at: u64) -> Result<(), CliError> {
    let opts = Options::parse(&args.options)?;
    // Under a service manager the server is the service's main process.
    let managed = fdstore::managed();
    if managed && opts.io_uring {
        return Err(CliError::Usage(options::IO_URING_NO_RECOVERY.into()));
    }
    let foreground = args.foreground || args.debug || opts.foreground || managed;

    let mountpoint = check_mountpoint(args.mountpoint())?;
    let image = args.image().to_path_buf();
    if !image.exists() {
        return Err(CliError::Usage(format!(
            "{}: no such image",
            image.display()
        )));
    }
    let lockfile = (opts.lockfile.as_deref())
        .map(lockfile::LockFile::create)
        .transpose()?;
    let region = partition::region(&image, &opts)?;
    let _lock = daemon::lock_image(&image, opts.ro, region)?;
    let fs = open_fs(&image, region, &opts, MmpStart::Fresh, &|_| Ok(()))?;
    if !opts.ro {
        mount_rw(&fs, &image)?;
    }

    let mount_opts = MountOptions {
        ro: opts.ro,
        allow_other: opts.allow_other,
        default_permissions: opts.default_permissions,
        fsname: opts.fsname.clone().unwrap_or_else(|| absolute(&image)),
        subtype: opts.subtype.clone(),
        max_read: opts.max_read,
        force_fusermount: false,
        nosuid: opts.nosuid,
        nodev: opts.nodev,
        noexec: opts.noexec,
        sync: opts.sync,
        dirsync: opts.dirsync,
        atime: opts.atime.mode,
        nodiratime: opts.atime.nodiratime,
        lazytime: opts.atime.lazytime,
    };
    let fd = mount::mount(&mountpoint, &mount_opts)?;

    // From here on a failure must leave nothing mounted.
    let ready = if foreground {
        None
    } else {
        Some(daemon::daemonize(opts.logfile.as_deref())?)
    };
    let mut init = if opts.ro {
        InitConfig::default()
    } else {
        InitConfig::read_write()
    };
    init.posix_acl = opts.acl;
    init.io_uring = opts.io_uring;
    let adapter = adapter_for(fs, &opts, true);
    let mut session = match Session::new(fd, adapter.clone(), &init) {
        Ok(s) => s,
        Err(e) => {
            let _ = mount::unmount(&mountpoint);
            return Err(e.into());
        }
    };
    fit_entry_ttl(&adapter, &opts, session.negotiated());
    let mut tracker = None;
    if managed {
        match hand_over(args, &adapter, &mut session, &image, &mountpoint) {
            Ok(t) => tracker = Some(t),
            Err(e) => {
                let _ = mount::unmount(&mountpoint);
                return Err(e);
            }
        }
    }
    daemon::unmount_on_signal(mountpoint.clone());
    // Before the caller returns: a `fuse4fs -u` right after must find it.
    let record = server_record::Published::publish(&mountpoint);
    let fixed = status::Fixed {
        started_at,
        image: std::fs::canonicalize(&image).unwrap_or_else(|_| image.clone()),
        mountpoint: mountpoint.clone(),
        read_only: opts.ro,
    };
    let status = publish_status(&record, fixed, &adapter, tracker);
    if let Some(ready) = ready {
        ready.signal();
    }
    let end = serve(
        args,
        &adapter,
        &session,
        &opts,
        &image,
        &mountpoint,
        managed,
    );
    // Gone before `fuse4fs -u` hears the server has ended.
    drop(lockfile);
    finish(record, status, end)
}

/// Starts keeping the status file beside the server record (none
/// without a record).
fn publish_status(
    record: &Option<server_record::Published>,
    fixed: status::Fixed,
    adapter: &Arc<Ext4Adapter>,
    tracker: Option<Arc<Tracker>>,
) -> Option<status::Publisher> {
    let path = record.as_ref()?.status_path();
    Some(status::Publisher::start(
        path,
        fixed,
        Arc::downgrade(adapter),
        tracker,
    ))
}

/// Records how the server ends (for `fuse4fs -u`) and passes it on.
fn finish(
    record: Option<server_record::Published>,
    status: Option<status::Publisher>,
    end: Result<(), CliError>,
) -> Result<(), CliError> {
    if let Some(s) = status {
        s.stop();
    }
    if let Some(r) = record {
        r.finish(&end);
    }
    end
}

/// Opens the image as the options ask (the journal is replayed; `replayed`
/// is told what the replay found before the log is emptied).
fn open_fs(
    image: &std::path::Path,
    region: fuse4fs::fs::io::image::Region,
    opts: &Options,
    mmp_start: MmpStart,
    replayed: &fuse4fs::fs::ReplayHook<'_>,
) -> Result<Fs, CliError> {
    let fs = Fs::open_with_replay_hook(
        image,
        &FsOptions {
            writable: !opts.ro,
            norecovery: opts.norecovery,
            mmp_start,
            region,
            ..Default::default()
        },
        replayed,
    )?;
    for t in QuotaType::ALL {
        if opts.quota_limits[t as usize] {
            fs.enforce_quota_limits(&[t]).map_err(|why| {
                CliError::Usage(format!(
                    "{}: mount option {}: {why}",
                    image.display(),
                    fuse4fs::fs::quota::option_of(t)
                ))
            })?;
        }
    }
    if !opts.ro {
        fs.set_error_policy(opts.errors);
        fs.set_commit_interval(std::time::Duration::from_secs(opts.commit_secs));
        fs.set_discard(opts.discard);
        fs.set_atime_policy(opts.atime);
        fs.set_sync_mode(SyncMode {
            sync: opts.sync,
            dirsync: opts.dirsync,
        });
    }
    Ok(fs)
}

/// Starts read-write service (the journal; orphans nobody holds open are
/// freed).
fn mount_rw(fs: &Fs, image: &std::path::Path) -> Result<(), CliError> {
    let freed = fs
        .mount_rw()
        .map_err(|e| CliError::Usage(format!("{}: {e}", image.display())))?;
    if freed > 0 {
        tracing::info!("freed {freed} orphaned inode(s) nobody holds open");
    }
    Ok(())
}

/// Tracks requests into `tracker` and ties transactions to them.
fn track(adapter: &Ext4Adapter, session: &mut Session<Ext4Adapter>, tracker: &Arc<Tracker>) {
    session.set_hook(tracker.clone());
    let weak = Arc::downgrade(tracker);
    adapter
        .fs()
        .set_commit_observer(Some(Arc::new(move |tid: Option<u32>| {
            if let Some(t) = weak.upgrade() {
                t.on_commit(tid);
            }
        })));
}

/// A new mount under a service manager: the state memfd, tracking, and
/// both fds into the fd store.
fn hand_over(
    args: &Args,
    adapter: &Ext4Adapter,
    session: &mut Session<Ext4Adapter>,
    image: &std::path::Path,
    mountpoint: &std::path::Path,
) -> Result<Arc<Tracker>, CliError> {
    let (abs, dev, ino) = recovery::image_identity(image)?;
    let info = StaticInfo {
        negotiated: session.negotiated().to_bytes(),
        image: abs,
        image_dev: dev,
        image_ino: ino,
        uuid: adapter.fs().superblock().uuid,
        mountpoint: mountpoint.to_path_buf(),
        options: args.options.clone(),
    };
    let tracker = Arc::new(Tracker::new(StateFile::create(&info)?, Folded::default())?);
    track(adapter, session, &tracker);
    let store = |name, fd| {
        fdstore::store(name, fd).map_err(|e| CliError::Usage(format!("storing the {name} fd: {e}")))
    };
    // The state first: a fuse fd stored alone cannot be recovered from.
    store(fdstore::STATE_FD, tracker.state().fd())?;
    store(fdstore::FUSE_FD, session.fd())?;
    // The tracker lives as long as the session holds it.
    Ok(tracker)
}

/// Serves until unmounted, then leaves the image clean and, under a
/// service manager, empties the fd store.
fn serve(
    args: &Args,
    adapter: &Arc<Ext4Adapter>,
    session: &Session<Ext4Adapter>,
    opts: &Options,
    image: &std::path::Path,
    mountpoint: &std::path::Path,
    managed: bool,
) -> Result<(), CliError> {
    if adapter.fs().journaled() {
        fuse4fs::fs::journal::writer::spawn_commit_timer(Arc::downgrade(adapter), Ext4Adapter::fs);
    }
    if adapter.fs().mmp_seq().is_some() {
        fuse4fs::fs::mount::mmp::spawn_mmp_timer(Arc::downgrade(adapter), Ext4Adapter::fs);
    }
    if managed {
        let _ = fdstore::ready(&format!("serving {}", mountpoint.display()));
    }
    tracing::info!(
        image = %image.display(),
        mountpoint = %mountpoint.display(),
        "serving {} on {}",
        image.display(),
        mountpoint.display()
    );
    let opcount_file = opcount::dump_on_signal(session.op_counts());
    let served = session.run(if args.single_thread { 1 } else { WORKERS });
    if let Some(p) = &opcount_file
        && let Err(e) = session.op_counts().write_to(p)
    {
        tracing::error!("writing request counts to {}: {e}", p.display());
    }
    if managed {
        let _ = fdstore::stopping();
    }
    if !opts.ro {
        // Every file is closed once the kernel lets go of the mount.
        adapter
            .fs()
            .unmount_clean()
            .map_err(|e| CliError::Usage(format!("{}: marking clean: {e}", image.display())))?;
    }
    if managed {
        // Nothing left to recover.
        let _ = fdstore::unstore(fdstore::FUSE_FD);
        let _ = fdstore::unstore(fdstore::STATE_FD);
    }
    served?;
    Ok(())
}

/// Serves a live connection whose server died (the fds come from the fd
/// store): no mount, no INIT.
fn recover(args: &Args, stored: fdstore::Stored, started_at: u64) -> Result<(), CliError> {
    let t0 = Instant::now();
    let (state, info, records) = StateFile::adopt(stored.state)?;
    recovery::check_identity(&info, args.image(), args.mountpoint())?;
    if args.options != info.options {
        tracing::warn!(
            "recovering with the mount's options {:?}, not {:?}",
            info.options,
            args.options
        );
    }
    let opts = Options::parse(&info.options)?;
    if opts.io_uring {
        return Err(CliError::Usage(options::IO_URING_NO_RECOVERY.into()));
    }
    let image = info.image.clone();
    let mountpoint = info.mountpoint.clone();
    let negotiated = Negotiated::from_bytes(&info.negotiated)
        .map_err(|e| CliError::Usage(format!("stored INIT parameters: {e}")))?;
    // The same options as the mount: the same partition.
    let region = partition::region(&image, &opts)?;
    // Made by the first server of this mount; removed by the last.
    let lockfile = (opts.lockfile.as_deref()).map(lockfile::LockFile::adopt);
    let _lock = daemon::lock_image(&image, opts.ro, region)?;
    let incarnation = state.bump_incarnation();
    let t_state = t0.elapsed();
    let folded = parking_lot::Mutex::new(Folded::fold(&records));
    let settled = parking_lot::Mutex::new(None);
    let replay = parking_lot::Mutex::new((0u64, 0u64));
    // Interrupted requests are settled against the replay while the log
    // still holds it (see Folded::resolve_commits).
    // The mount never went away: the MMP block still names this node.
    let fs = open_fs(&image, region, &opts, MmpStart::Adopt, &|rec| {
        let mut f = folded.lock();
        *replay.lock() = (
            u64::from(rec.end_tid.wrapping_sub(rec.first_tid)),
            rec.replayed_blocks,
        );
        *settled.lock() = Some(f.resolve_commits(Some(rec.end_tid)));
        state
            .append(&f.take_resolutions())
            .map_err(std::io::Error::other)
    })?;
    let t_open = t0.elapsed();
    recovery::check_uuid(&info, &fs)?;
    let mut folded = folded.into_inner();
    let (done, maybe, undone) = match settled.into_inner() {
        Some(counts) => counts,
        None => folded.resolve_commits(None),
    };
    let st_error = fs.superblock().state & fuse4fs::ext4::superblock::STATE_ERROR != 0;
    let asked = args.fsck || opts.fsck;
    let checked = (asked || !fs.journaled() || st_error) && !opts.ro;
    let mut check = fuse4fs::recovery::state::CheckResult::NotRun;
    let fs = if checked {
        // The checker works on the image alone: the filesystem is closed
        // while it runs and opened again after (the journal is empty now).
        let held = recovery::opens_by_inode(&fs, &folded.opens);
        drop(fs);
        check = recovery::repair::repair(&image, region, &held, asked);
        open_fs(&image, region, &opts, MmpStart::Adopt, &|_| Ok(()))?
    } else {
        fs
    };
    let t_fsck = t0.elapsed();
    // Orphans the kernel holds open stay; the others go. (Asked again
    // after a check: the checker may have cleared a damaged inode.)
    fs.restore_opens(recovery::opens_by_inode(&fs, &folded.opens));
    if !opts.ro {
        mount_rw(&fs, &image)?;
    }
    if !fs.journaled() && !opts.ro {
        // The checker's preen pass above has run and logged what it
        // repaired and what it could not; what no check can tell is data.
        tracing::warn!(
            "{}: no journal: file data a write was storing when the server died may be partly old",
            image.display()
        );
    }
    let adapter = adapter_for(fs, &opts, false);
    fit_entry_ttl(&adapter, &opts, &negotiated);
    let mut session = Session::resume(stored.fuse, adapter.clone(), negotiated);
    let notifier = session.notifier();
    let revalidated = recovery::revalidate(adapter.fs(), &folded.lookups, checked, &notifier);
    let t_revalidate = t0.elapsed();
    let (held, known) = (folded.lookups.len(), folded.known_requests());
    let tracker = Arc::new(Tracker::new(state, folded)?);
    track(&adapter, &mut session, &tracker);
    let t_tracking = t0.elapsed();
    match notifier.inc_epoch() {
        Ok(()) | Err(NotifyError::Unsupported) => {}
        Err(e) => tracing::warn!("dentry epoch: {e}"),
    }
    match notifier.resend() {
        Ok(()) => {}
        Err(NotifyError::Unsupported) => tracing::warn!(
            "this kernel cannot resend requests (FUSE_NOTIFY_RESEND, Linux 6.9): \
             callers the dead server left waiting stay blocked"
        ),
        Err(e) => return Err(CliError::Usage(format!("asking for a resend: {e}"))),
    }
    let n_stale = revalidated.stale.len();
    let (transactions, blocks) = replay.into_inner();
    let summary = fuse4fs::recovery::state::RecoverySummary {
        finished_at: fuse4fs::recovery::state::unix_now(),
        duration_us: t0.elapsed().as_micros().min(u64::MAX as u128) as u64,
        transactions_replayed: transactions,
        blocks_replayed: blocks,
        requests_committed: done as u64,
        requests_maybe: maybe as u64,
        requests_to_rerun: undone as u64,
        nodes_held: held as u64,
        nodes_stale: n_stale as u64,
        nodes_open: tracker.counts().1 as u64,
        check,
        requests_resent: 0,
    };
    // Before any request is read (the workers start in `serve`), so that
    // every resend counts for this recovery.
    let recoveries = tracker.state().record_recovery(&summary);
    tracker.serving();
    {
        let n = notifier.clone();
        std::thread::spawn(move || {
            let t = std::time::Instant::now();
            recovery::drop_cached_pages(&revalidated, &n);
            // Tests wait for this line: until then the kernel may still
            // show what the crash made out of date (docs/recovery.md).
            tracing::info!(
                "caches from before the crash dropped in {:.1} ms: attributes of {} nodes \
                 (atime), pages of {} directories, {} stale and {} other nodes",
                ms(t.elapsed()),
                revalidated.atimes.len(),
                revalidated.dirs.len(),
                revalidated.stale.len(),
                revalidated.files.len(),
            );
        });
    }
    tracing::info!(
        mountpoint = %mountpoint.display(),
        restarts = incarnation,
        recoveries,
        transactions_replayed = transactions,
        stale_nodes = n_stale,
        "recovered {} on {} (server #{incarnation}) in {:.1} ms: {} node ids held by the \
         kernel ({n_stale} stale), {} open, {known} answers kept, {done} requests found \
         committed, {maybe} maybe, {undone} to run again (state read {:.1} ms, image \
         opened {:.1}, checked {:.1}, revalidated {:.1}, tracking {:.1})",
        image.display(),
        mountpoint.display(),
        ms(t0.elapsed()),
        held,
        tracker.counts().1,
        ms(t_state),
        ms(t_open),
        ms(t_fsck),
        ms(t_revalidate),
        ms(t_tracking),
    );
    daemon::unmount_on_signal(mountpoint.clone());
    let record = server_record::Published::publish(&mountpoint);
    let fixed = status::Fixed {
        started_at,
        image: image.clone(),
        mountpoint: mountpoint.clone(),
        read_only: opts.ro,
    };
    let status = publish_status(&record, fixed, &adapter, Some(tracker));
    let end = serve(args, &adapter, &session, &opts, &image, &mountpoint, true);
    drop(lockfile);
    finish(record, status, end)
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn init_logging(debug: bool, stays_foreground: bool) {
    logging::init(debug, stays_foreground);
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
