//! Crash recovery: the state a server keeps outside itself, and the steps
//! a new server takes to serve a live connection whose server died.
//!
//! - [`state`]: the state memfd (what the mount is; lookup and open
//!   counts; the records of the duplicate-request cache);
//! - [`tracker`]: keeps it current as requests are served and answers
//!   resent requests from it;
//! - [`fdstore`]: the fd store and READY (systemd's protocol, also spoken
//!   by `fuse4fs --supervise`).
//!
//! A recovery, in order: take the stored fds; check that the image and
//! mount point are the state's; open the image (the journal is replayed);
//! settle the requests that were writing transactions
//! ([`tracker::Folded::resolve_commits`]); restore open counts so orphans
//! the kernel holds open survive; revalidate every node id the kernel
//! holds and drop what it cached that may be out of date ([`revalidate`]);
//! bump the kernel's dentry epoch; ask the kernel to
//! resend what the dead server had read (FUSE_NOTIFY_RESEND); READY=1.

pub mod fdstore;
pub mod repair;
pub mod state;
pub mod tracker;

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::ext4::InodeNo;
use crate::fs::Fs;
use crate::fs::inode::HeldState;
use crate::fuse::ids::NodeId;
use crate::fuse::notify::Notifier;

/// Why a recovery cannot go on.
#[derive(Debug, Error)]
pub enum RecoverError {
    #[error(transparent)]
    State(#[from] state::StateError),
    #[error("{what}: the stored state is for {stored}, not {given}")]
    Mismatch {
        what: &'static str,
        stored: String,
        given: String,
    },
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

/// The identity recorded for an image: its absolute path, device and
/// inode numbers.
pub fn image_identity(image: &Path) -> Result<(PathBuf, u64, u64), RecoverError> {
    let io = |e| RecoverError::Io(image.display().to_string(), e);
    let abs = std::fs::canonicalize(image).map_err(io)?;
    let md = std::fs::metadata(&abs).map_err(io)?;
    Ok((abs, md.dev(), md.ino()))
}

/// Checks that `image` and `mountpoint` are the ones the state names (the
/// image's UUID is checked once it is open).
pub fn check_identity(
    info: &state::StaticInfo,
    image: &Path,
    mountpoint: &Path,
) -> Result<(), RecoverError> {
    let (abs, dev, ino) = image_identity(image)?;
    if abs != info.image || dev != info.image_dev || ino != info.image_ino {
        return Err(RecoverError::Mismatch {
            what: "image",
            stored: format!(
                "{} (device {:#x}, inode {})",
                info.image.display(),
                info.image_dev,
                info.image_ino
            ),
            given: format!("{} (device {dev:#x}, inode {ino})", abs.display()),
        });
    }
    let mp = std::fs::canonicalize(mountpoint).unwrap_or_else(|_| mountpoint.to_path_buf());
    if mp != info.mountpoint {
        return Err(RecoverError::Mismatch {
            what: "mount point",
            stored: info.mountpoint.display().to_string(),
            given: mp.display().to_string(),
        });
    }
    Ok(())
}

/// Checks the open image's UUID against the state's.
pub fn check_uuid(info: &state::StaticInfo, fs: &Fs) -> Result<(), RecoverError> {
    let uuid = fs.superblock().uuid;
    if uuid != info.uuid {
        return Err(RecoverError::Mismatch {
            what: "filesystem UUID",
            stored: hex(&info.uuid),
            given: hex(&uuid),
        });
    }
    Ok(())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Open counts by inode, from the counts by node id, for the node ids
/// whose inode is still the one the kernel opened. A node id whose inode
/// was freed, or freed and reused (another generation), while no server
/// ran is stale: its count must neither keep a freed inode alive (its
/// descriptors would read and write an inode the bitmap calls free) nor
/// pin the inode's new owner. The kernel learns of it in [`revalidate`].
pub fn opens_by_inode(fs: &Fs, opens: &HashMap<NodeId, u64>) -> Vec<(InodeNo, u32)> {
    let mut by: HashMap<InodeNo, u32> = HashMap::new();
    for (&nodeid, &n) in opens {
        let (ino, generation) = (nodeid.inode(), nodeid.generation());
        if !held_inode_lives(fs, ino, generation) {
            tracing::info!("open node {nodeid:#x}: inode freed or reused while no server ran");
            continue;
        }
        let c = by.entry(ino).or_default();
        *c = c.saturating_add(n.min(u32::MAX as u64) as u32);
    }
    by.into_iter().collect()
}

/// Whether an inode held open is still the one opened: alive with the
/// same generation, or (an unlinked file held open) without links, with
/// the same generation, on the orphan list.
fn held_inode_lives(fs: &Fs, ino: InodeNo, generation: Option<crate::ext4::Generation>) -> bool {
    if fs.live_inode(ino, generation).is_ok() {
        return true;
    }
    // A damaged state may name any number.
    if !fs.node_slot(ino) {
        return false;
    }
    match fs.inode(ino) {
        Ok(inode) if inode.links_count == 0 && generation.is_none_or(|g| g == inode.generation) => {
            matches!(fs.is_orphan(ino), Ok(true))
        }
        _ => false,
    }
}

/// What a recovery tells the kernel about the nodes it holds, found by
/// [`revalidate`]; [`drop_cached_pages`] sends the part that must wait
/// until requests are served again.
#[derive(Debug, Default)]
pub struct Revalidated {
    /// Node ids whose inode was freed or reused while no server ran.
    pub stale: Vec<NodeId>,
    /// Directories the kernel holds (the root included): their cached
    /// listings (FOPEN_CACHE_DIR) are dropped.
    pub dirs: Vec<NodeId>,
    /// Other live nodes whose cached data must go too (after a checker
    /// run, which may have changed anything).
    pub files: Vec<NodeId>,
    /// Live nodes whose cached atime may be newer than the disk's (see
    /// [`Fs::survey_held`]): their attributes are dropped once requests
    /// are served, off the path of the pause: with relatime that is every
    /// node not read since its last change (100,000 notifications after
    /// a walk of 100,000 new files), and until it is sent the kernel
    /// shows an atime the crash lost, which is all a late drop allows.
    pub atimes: Vec<NodeId>,
}

/// Tells the kernel what changed under its caches while no server ran,
/// for every node id it holds (`lookups`) and the root:
///
/// - a node whose inode was freed or reused answers ESTALE from now on
///   (as any node id with a wrong generation does) and loses its cached
///   attributes;
/// - after a checker run (`checked`) every node loses its cached
///   attributes now; without one, a node whose atime the dead server may
///   have shown but not written (see [`Fs::survey_held`]) loses them
///   once requests are served ([`Revalidated::atimes`]);
/// - cached pages (directory listings, and after a checker run file data)
///   are dropped by [`drop_cached_pages`] once requests are served again:
///   dropping pages waits on their locks, which requests the dead server
///   had read (a READ, a writeback) hold until they are resent and
///   answered. Directory listings need dropping even without a checker: a
///   rename the dead server committed but did not answer moved a
///   directory, whose cached ".." the resend's rebuilt answer does not
///   correct.
///
/// Cached dentries are left to the epoch bump, which makes each
/// revalidate on its next use.
pub fn revalidate(
    fs: &Fs,
    lookups: &HashMap<NodeId, u64>,
    checked: bool,
    notifier: &Notifier,
) -> Revalidated {
    let of = |n: NodeId| (n.inode(), n.generation());
    let mut nodes: Vec<_> = lookups.keys().map(|&n| of(n)).collect();
    if !lookups.contains_key(&NodeId::ROOT) {
        nodes.push(of(NodeId::ROOT));
    }
    let held = {
        let _view = fs.read_view();
        fs.survey_held(&nodes)
    };
    let mut r = Revalidated::default();
    for h in held {
        let nodeid = NodeId::from_inode(h.ino, h.generation.unwrap_or_default());
        match h.state {
            HeldState::Stale => {
                notifier.drop_cached(nodeid, -1, "recovery");
                r.stale.push(nodeid);
            }
            HeldState::Live { dir, atime_pending } => {
                if checked {
                    notifier.drop_cached(nodeid, -1, "recovery");
                } else if atime_pending {
                    r.atimes.push(nodeid);
                }
                if dir {
                    r.dirs.push(nodeid);
                } else if checked {
                    r.files.push(nodeid);
                }
            }
        }
    }
    r
}

/// Drops what [`revalidate`] left for later: the attributes of nodes
/// whose cached atime may be lost, then cached pages (listings first,
/// then the data of stale nodes and, after a checker run, of every file).
/// Run it on its own thread once the session serves.
pub fn drop_cached_pages(r: &Revalidated, notifier: &Notifier) {
    for &nodeid in &r.atimes {
        notifier.drop_cached(nodeid, -1, "recovery");
    }
    for &nodeid in r.dirs.iter().chain(&r.stale).chain(&r.files) {
        notifier.drop_cached(nodeid, 0, "recovery");
    }
}
