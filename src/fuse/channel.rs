//! The `/dev/fuse` file descriptor: blocking request reads and reply writes.
//!
//! One fd is shared by all worker threads. We deliberately do not use
//! FUSE_DEV_IOC_CLONE: requests read through a cloned fd that dies with its
//! worker would be lost, whereas the single shared fd keeps them recoverable.

use std::io::{self, IoSlice};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::io::Errno;

/// What a read from the device produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// A request of this many bytes is at the start of the buffer.
    Request(usize),
    /// The filesystem was unmounted (or the connection aborted).
    Unmounted,
}

/// The kernel connection.
#[derive(Debug)]
pub struct Channel {
    fd: OwnedFd,
}

impl Channel {
    /// Wraps an open `/dev/fuse` fd (from [`mount`](super::mount::mount) or
    /// handed over by a previous server process).
    pub fn new(fd: OwnedFd) -> Self {
        Channel { fd }
    }

    /// The device fd, e.g. to pass it on for a later resume.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Gives the fd back.
    pub fn into_fd(self) -> OwnedFd {
        self.fd
    }

    /// Reads one request into `buf`, blocking. EINTR/EAGAIN are retried;
    /// ENODEV (and ECONNABORTED with FUSE_ABORT_ERROR) mean the filesystem
    /// is gone. `buf` must hold max_write plus header room.
    pub fn receive(&self, buf: &mut [u8]) -> io::Result<Received> {
        loop {
            match rustix::io::read(&self.fd, &mut *buf) {
                Ok(n) => return Ok(Received::Request(n)),
                Err(Errno::INTR) | Err(Errno::AGAIN) => continue,
                // ENOENT: the request was interrupted before we read it.
                Err(Errno::NOENT) => continue,
                Err(Errno::NODEV) | Err(Errno::CONNABORTED) => return Ok(Received::Unmounted),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Writes a reply. ENOENT (the request was interrupted and is gone) is
    /// not an error.
    pub fn send_reply(&self, bufs: &[IoSlice<'_>]) -> io::Result<()> {
        match self.write_all(bufs) {
            Err(Errno::NOENT) => Ok(()),
            r => r.map_err(Into::into),
        }
    }

    /// Writes a message and reports any error as is (used for
    /// notifications, where ENOENT means "not cached").
    pub fn send_raw(&self, bufs: &[IoSlice<'_>]) -> Result<(), Errno> {
        self.write_all(bufs)
    }

    fn write_all(&self, bufs: &[IoSlice<'_>]) -> Result<(), Errno> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        loop {
            match rustix::io::writev(&self.fd, bufs) {
                Ok(n) if n == total => return Ok(()),
                // The device consumes a message whole or not at all.
                Ok(_) => return Err(Errno::IO),
                Err(Errno::INTR) => continue,
                Err(e) => return Err(e),
            }
        }
    }
}
