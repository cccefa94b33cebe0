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
//! holds ([`revalidate`]); bump the kernel's dentry epoch; ask the kernel to
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
use crate::fuse::adapter::{node_id, node_inode};
use crate::fuse::notify::{Notifier, NotifyError};

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
pub fn opens_by_inode(fs: &Fs, opens: &HashMap<u64, u64>) -> Vec<(InodeNo, u32)> {
    let mut by: HashMap<InodeNo, u32> = HashMap::new();
    for (&nodeid, &n) in opens {
        let (ino, generation) = node_inode(nodeid);
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
            matches!(fs.orphan_place(ino), Ok(Some(_)))
        }
        _ => false,
    }
}

/// Finds every node id the kernel holds whose inode was freed or reused
/// while no server ran (such a node id answers ESTALE from now on, as it
/// would anyway) and tells the kernel to drop its attributes. Their cached
/// data is dropped by [`drop_stale_data`] once requests are served again:
/// dropping pages waits on their locks, which requests the dead server had
/// read (a READ, a writeback) hold until they are resent and answered.
/// Cached dentries are left to the epoch bump, which makes each revalidate
/// on its next use. Returns the stale node ids.
pub fn revalidate(fs: &Fs, lookups: &HashMap<u64, u64>, notifier: &Notifier) -> Vec<u64> {
    let nodes: Vec<_> = lookups.keys().map(|&n| node_inode(n)).collect();
    let stale = {
        let _view = fs.read_view();
        fs.stale_among(&nodes)
    };
    let stale: Vec<u64> = stale
        .into_iter()
        .map(|(ino, generation)| node_id(ino, generation.unwrap_or_default()))
        .collect();
    for &nodeid in &stale {
        inval(notifier, nodeid, -1);
    }
    stale
}

/// Drops the cached data of the stale node ids [`revalidate`] found; run it
/// on its own thread once the session serves.
pub fn drop_stale_data(stale: &[u64], notifier: &Notifier) {
    for &nodeid in stale {
        inval(notifier, nodeid, 0);
    }
}

fn inval(notifier: &Notifier, nodeid: u64, off: i64) {
    match notifier.inval_inode(nodeid, off, 0) {
        Ok(()) | Err(NotifyError::NotFound) => {}
        Err(e) => tracing::warn!("invalidating node {nodeid:#x}: {e}"),
    }
}
