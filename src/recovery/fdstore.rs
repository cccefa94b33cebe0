//! The service manager's side: the fd store (sd_notify FDSTORE=1), READY,
//! and taking stored fds back (LISTEN_FDS), as systemd and
//! `fuse4fs --supervise` speak it.

use std::io;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd};

use sd_notify::NotifyState;

/// FDNAME of the /dev/fuse fd.
pub const FUSE_FD: &str = "fuse";
/// FDNAME of the state memfd.
pub const STATE_FD: &str = "state";

/// Whether a service manager listens (NOTIFY_SOCKET is set): the server
/// then stays in the foreground and hands its fds over.
pub fn managed() -> bool {
    std::env::var_os("NOTIFY_SOCKET").is_some_and(|s| !s.is_empty())
}

/// Stores `fd` under `name`. FDPOLL=0: a /dev/fuse fd polls POLLERR once
/// the connection is aborted, and systemd would drop it.
pub fn store(name: &str, fd: BorrowedFd<'_>) -> io::Result<()> {
    sd_notify::notify_with_fds(
        &[
            NotifyState::FdStore,
            NotifyState::FdName(name),
            NotifyState::Custom("FDPOLL=0"),
        ],
        &[fd],
    )
}

/// Drops what was stored under `name` (a clean unmount: nothing to keep).
pub fn unstore(name: &str) -> io::Result<()> {
    sd_notify::notify(&[NotifyState::FdStoreRemove, NotifyState::FdName(name)])
}

/// Serving.
pub fn ready(status: &str) -> io::Result<()> {
    sd_notify::notify(&[NotifyState::Ready, NotifyState::Status(status)])
}

/// Stopping on purpose.
pub fn stopping() -> io::Result<()> {
    sd_notify::notify(&[NotifyState::Stopping])
}

/// The fds a previous server stored, handed to this one.
pub struct Stored {
    pub fuse: OwnedFd,
    pub state: OwnedFd,
}

/// Takes the stored fds from LISTEN_FDS / LISTEN_FDNAMES (and clears those
/// variables). Ok(None): nothing was handed over. Fds with other names
/// are closed.
///
/// # Safety
/// Changes the environment: call before any other thread exists.
pub unsafe fn take() -> io::Result<Option<Stored>> {
    // SAFETY: the caller guarantees no other thread runs.
    let fds = unsafe { sd_notify::listen_fds_with_names_and_unset_env()? };
    let mut fuse = None;
    let mut state = None;
    for (raw, name) in fds {
        // SAFETY: the service manager passed us this fd; nothing else owns
        // it.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        match name.as_str() {
            FUSE_FD if fuse.is_none() => fuse = Some(fd),
            STATE_FD if state.is_none() => state = Some(fd),
            _ => tracing::warn!("ignoring a stored fd named {name:?}"),
        }
    }
    match (fuse, state) {
        (None, None) => Ok(None),
        (Some(fuse), Some(state)) => Ok(Some(Stored { fuse, state })),
        (Some(_), None) => Err(io::Error::other(
            "the stored /dev/fuse fd came without its state memfd",
        )),
        (None, Some(_)) => Err(io::Error::other(
            "the stored state memfd came without its /dev/fuse fd",
        )),
    }
}
