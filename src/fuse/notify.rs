//! Unsolicited notifications to the kernel, written on the session's fd:
//! a message with `unique` 0 and the notify code in the header's `error`.

use std::io::IoSlice;
use std::sync::Arc;

use rustix::io::Errno;
use thiserror::Error;
use zerocopy::{Immutable, IntoBytes};

use super::abi::{
    FUSE_NAME_MAX, FuseNotifyDeleteOut, FuseNotifyInvalEntryOut, FuseNotifyInvalInodeOut,
    FuseOutHeader, notify_code::*,
};
use super::channel::Channel;
use super::ids::{NodeId, RequestId};

/// Why the kernel refused a notification.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum NotifyError {
    /// The kernel does not know this notification (older protocol).
    #[error("notification not supported by this kernel")]
    Unsupported,
    /// The inode or entry is not in the kernel's cache (nothing to do).
    #[error("no such inode or entry cached in the kernel")]
    NotFound,
    /// The filesystem is unmounted.
    #[error("FUSE connection is gone")]
    Disconnected,
    #[error("name longer than {FUSE_NAME_MAX} bytes")]
    NameTooLong,
    #[error("kernel rejected notification: {0}")]
    Rejected(Errno),
}

impl From<Errno> for NotifyError {
    fn from(e: Errno) -> Self {
        match e {
            Errno::NOSYS | Errno::INVAL => NotifyError::Unsupported,
            Errno::NOENT => NotifyError::NotFound,
            Errno::NODEV | Errno::CONNABORTED => NotifyError::Disconnected,
            e => NotifyError::Rejected(e),
        }
    }
}

/// Sends notifications; cheap to clone and usable from any thread.
#[derive(Debug, Clone)]
pub struct Notifier {
    channel: Arc<Channel>,
}

impl Notifier {
    pub(crate) fn new(channel: Arc<Channel>) -> Self {
        Notifier { channel }
    }

    fn send(&self, code: i32, parts: &[&[u8]]) -> Result<(), NotifyError> {
        let body_len: usize = parts.iter().map(|p| p.len()).sum();
        let h = FuseOutHeader {
            len: (core::mem::size_of::<FuseOutHeader>() + body_len) as u32,
            error: code,
            unique: RequestId::NOTIFY,
        };
        let mut iov = Vec::with_capacity(parts.len() + 1);
        iov.push(IoSlice::new(h.as_bytes()));
        iov.extend(parts.iter().map(|p| IoSlice::new(p)));
        self.channel.send_raw(&iov).map_err(NotifyError::from)
    }

    fn send_struct_name<T: IntoBytes + Immutable>(
        &self,
        code: i32,
        arg: &T,
        name: &[u8],
    ) -> Result<(), NotifyError> {
        self.send(code, &[arg.as_bytes(), name, b"\0"])
    }

    /// Drops cached data of `nodeid` in `[off, off + len)` (len 0: to the
    /// end; off < 0: attributes only) and its cached attributes.
    pub fn inval_inode(&self, nodeid: NodeId, off: i64, len: i64) -> Result<(), NotifyError> {
        let arg = FuseNotifyInvalInodeOut {
            ino: nodeid,
            off,
            len,
        };
        self.send(FUSE_NOTIFY_INVAL_INODE, &[arg.as_bytes()])
    }

    /// [`Notifier::inval_inode`] from `off` to the end, for a server that
    /// goes on whatever happens: a node the kernel does not hold has
    /// nothing to drop, and any other failure is logged (naming `why`).
    pub fn drop_cached(&self, nodeid: NodeId, off: i64, why: &str) {
        match self.inval_inode(nodeid, off, 0) {
            Ok(()) | Err(NotifyError::NotFound) => {}
            Err(e) => {
                tracing::warn!("{why}: dropping what the kernel caches of node {nodeid:#x}: {e}")
            }
        }
    }

    /// Drops the cached lookup of `name` in directory `parent`.
    pub fn inval_entry(&self, parent: NodeId, name: &[u8]) -> Result<(), NotifyError> {
        if name.len() > FUSE_NAME_MAX {
            return Err(NotifyError::NameTooLong);
        }
        let arg = FuseNotifyInvalEntryOut {
            parent,
            namelen: name.len() as u32,
            flags: 0,
        };
        self.send_struct_name(FUSE_NOTIFY_INVAL_ENTRY, &arg, name)
    }

    /// Tells the kernel that `name` (node `child`) was removed from `parent`.
    pub fn delete(&self, parent: NodeId, child: NodeId, name: &[u8]) -> Result<(), NotifyError> {
        if name.len() > FUSE_NAME_MAX {
            return Err(NotifyError::NameTooLong);
        }
        let arg = FuseNotifyDeleteOut {
            parent,
            child,
            namelen: name.len() as u32,
            padding: 0,
        };
        self.send_struct_name(FUSE_NOTIFY_DELETE, &arg, name)
    }

    /// Asks the kernel to queue again every request it sent but got no
    /// reply for (needs FUSE_HAS_RESEND; resent requests have bit 63 set in
    /// `unique`).
    pub fn resend(&self) -> Result<(), NotifyError> {
        self.send(FUSE_NOTIFY_RESEND, &[])
    }

    /// Bumps the connection epoch so the kernel revalidates all cached
    /// dentries (protocol 7.44+).
    pub fn inc_epoch(&self) -> Result<(), NotifyError> {
        self.send(FUSE_NOTIFY_INC_EPOCH, &[])
    }
}
