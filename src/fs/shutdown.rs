//! Shutdown (FS_IOC_SHUTDOWN, ext4's "going down"): the filesystem stops
//! for good until it is unmounted; every later operation fails with EIO
//! and nothing more is written to the image, so the next mount finds it
//! as a crash at that moment would have left it (needs_recovery kept, the
//! log replayed). See docs/shutdown.md.

use super::{Fs, FsError, Result};

/// How much is made durable before the filesystem stops (the ioctl's
/// flags, EXT4_GOING_FLAGS_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownMode {
    /// 0: everything answered made durable and written in place (ext4
    /// freezes the device: a journal flush), then stop.
    Default,
    /// 1: everything answered made durable in the log, then stop.
    LogFlush,
    /// 2: stop at once, as if the power went: only what the last durable
    /// commit holds survives a replay by the kernel or e2fsck.
    NoLogFlush,
}

impl ShutdownMode {
    /// The mode the ioctl's flags name; None for anything above 2 (EINVAL).
    pub fn from_flags(flags: u32) -> Option<Self> {
        match flags {
            0 => Some(ShutdownMode::Default),
            1 => Some(ShutdownMode::LogFlush),
            2 => Some(ShutdownMode::NoLogFlush),
            _ => None,
        }
    }
}

impl Fs {
    /// Shuts the filesystem down (once: a second call changes nothing, as
    /// ext4 answers it). The stop is taken under the commit lock, after
    /// the flush `mode` asks for: every change answered before it is in
    /// that flush, every later one is refused. A failed flush is logged
    /// and the filesystem stops anyway (ext4 ignores it too).
    pub fn shut_down(&self, mode: ShutdownMode) {
        if self.is_shut_down() {
            return;
        }
        tracing::warn!("shut down requested ({mode:?})");
        if mode != ShutdownMode::NoLogFlush
            && self.writable()
            && let Err(e) = self.flush_held_atimes()
        {
            tracing::error!("shutdown: writing access times: {e}");
        }
        let _commit = self.commit_lock.lock();
        if self.is_shut_down() {
            return; // a concurrent shutdown came first
        }
        if self.writable() {
            let flushed = match mode {
                ShutdownMode::NoLogFlush => Ok(()),
                ShutdownMode::LogFlush => self.journal_durable(),
                // The second commit makes the first one's in-place writes
                // durable and empties the log, as a freeze does.
                ShutdownMode::Default => self
                    .journal_commit(true)
                    .and_then(|()| self.journal_commit(true)),
            };
            if let Err(e) = flushed {
                tracing::error!("shutdown: flushing: {e}");
            }
        }
        self.image.shut_down();
    }

    /// Whether the filesystem was shut down.
    pub fn is_shut_down(&self) -> bool {
        self.image.is_shut_down()
    }

    /// EIO (as [`FsError::ShutDown`]) once the filesystem was shut down.
    pub(crate) fn refuse_if_shut_down(&self) -> Result<()> {
        if self.is_shut_down() {
            return Err(FsError::ShutDown);
        }
        Ok(())
    }
}
