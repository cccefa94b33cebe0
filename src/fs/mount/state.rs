//! The superblock's record of a read-write mount: with a journal,
//! needs_recovery while mounted (a crash leaves a log to replay) and the
//! log emptied at unmount; without one, marked not clean while mounted (so
//! a crash sends e2fsck through a full check, as fuse2fs does). Mount count
//! and times either way.

use std::sync::atomic::Ordering;

use std::sync::Arc;

use crate::ext4::superblock::{
    ErrorRecord, STATE_ERROR, STATE_VALID, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, Superblock,
    incompat, set_superblock_checksum,
};
use crate::ext4::{FormatError, InodeNo};
use crate::fs::{Fs, FsError, Result};

/// Seconds since the epoch, for the superblock's time fields.
fn unix_now() -> u64 {
    crate::fs::create::now().sec.max(0) as u64
}

impl Fs {
    /// Records a read-write mount: state not clean, one more mount, mount
    /// time; then frees the orphans a crash left. Returns how many. A
    /// damaged orphan list is recorded as an error, not a refusal.
    pub fn mount_rw(&self) -> Result<usize> {
        let now = unix_now();
        *self.mount_state.lock() = self.live_superblock().state;
        if self.journaled() {
            // Written in place before the log starts, and durable before
            // the first transaction can be logged: a log with data under a
            // superblock without needs_recovery is damage to e2fsck.
            self.write_superblock_in_place(move |sb| {
                sb.feature_incompat |= incompat::RECOVER;
                sb.mnt_count = sb.mnt_count.wrapping_add(1);
                sb.mtime = now;
                sb.wtime = now;
            })?;
            self.journal_start()?;
            return self.mount_orphans();
        }
        let mut tx = self.begin()?;
        tx.edit_superblock(move |sb| {
            sb.state &= !STATE_VALID;
            sb.mnt_count = sb.mnt_count.wrapping_add(1);
            sb.mtime = now;
            sb.wtime = now;
        });
        tx.commit()?;
        self.sync()?;
        self.mount_orphans()
    }

    /// Records a clean unmount and flushes the image: the state goes back
    /// to what it was at mount (an image mounted unchecked stays so, as
    /// the kernel does), keeping any error recorded since.
    /// After errors=remount-ro stopped changes, only the flush happens
    /// (the superblock already says "with errors").
    /// After a shutdown nothing is written: the image keeps needs_recovery
    /// and the next mount replays the log.
    /// With multi-mount protection, the MMP block is left clean after.
    pub fn unmount_clean(&self) -> Result<()> {
        let left = self.leave_clean();
        let released = self.mmp_release();
        left.and(released)
    }

    fn leave_clean(&self) -> Result<()> {
        if self.is_shut_down() {
            return Ok(());
        }
        self.flush_held_atimes()?;
        if self.journaled() {
            // Everything durable and in place, the log empty; only then
            // may needs_recovery go.
            self.journal_stop()?;
            let now = unix_now();
            return self.write_superblock_in_place(move |sb| {
                sb.feature_incompat &= !incompat::RECOVER;
                sb.wtime = now;
            });
        }
        if self.is_stopped() {
            return self.sync();
        }
        let mut tx = self.begin()?;
        let now = unix_now();
        let at_mount = *self.mount_state.lock();
        tx.edit_superblock(move |sb| {
            sb.state = (sb.state & !STATE_VALID) | (at_mount & STATE_VALID);
            sb.wtime = now;
        });
        tx.commit()?;
        self.sync()
    }
}

impl Fs {
    /// Applies `edit` to the live superblock and writes it in place, then
    /// flushes. Only while no transaction can be logged (before the
    /// journal starts or after it stopped).
    fn write_superblock_in_place(&self, edit: impl FnOnce(&mut Superblock)) -> Result<()> {
        let _commit = self.commit_lock.lock();
        let mut live = self.live_sb.lock();
        edit(&mut live);
        let (blk, off) = self.superblock_location();
        let mut block = self.block(blk)?.to_vec();
        let raw = &mut block[off..off + SUPERBLOCK_SIZE];
        live.write_to(raw)?;
        set_superblock_checksum(raw);
        self.image.write_all_at(SUPERBLOCK_OFFSET, raw)?;
        self.cache.put(blk, Arc::from(block));
        self.image.sync()?;
        Ok(())
    }
}

/// What to do after damage is found on a writable filesystem
/// (`-o errors=`, else the superblock's s_errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Record it and go on.
    Continue,
    /// Record it and refuse every later change (EROFS).
    RemountRo,
    /// Record it and stop the server.
    Panic,
}

impl OnError {
    /// The policy s_errors names (the kernel's default for 0 or unknown
    /// values is continue).
    pub fn from_superblock(errors: u16) -> Self {
        match errors {
            2 => OnError::RemountRo,
            3 => OnError::Panic,
            _ => OnError::Continue,
        }
    }
}

/// EXT4_ERR_* codes for the superblock's error records.
fn errcode(e: &FsError) -> u8 {
    match e {
        FsError::Io(_) => 2,
        FsError::Format(FormatError::BadChecksum { .. }) => 4,
        _ => 5,
    }
}

impl Fs {
    /// Chooses the reaction to damage (None: the superblock's s_errors).
    pub fn set_error_policy(&self, p: Option<OnError>) {
        let p = p.unwrap_or_else(|| OnError::from_superblock(self.superblock().errors));
        *self.on_error.lock() = p;
    }

    /// Records damage met by an operation on `ino` as the kernel's
    /// ext4_error does (state ERROR_FS, error count, first and last error
    /// records), then applies the policy. Returns the policy applied.
    pub fn record_error(&self, e: &FsError, ino: Option<InodeNo>, op: &str) -> OnError {
        let policy = *self.on_error.lock();
        if !self.image.writable() || self.stopped.load(Ordering::Relaxed) || self.is_shut_down() {
            return policy;
        }
        let now = unix_now();
        let mut func = [0u8; 32];
        let n = op.len().min(32);
        func[..n].copy_from_slice(&op.as_bytes()[..n]);
        let rec = ErrorRecord {
            time: now,
            ino: ino.map_or(0, |i| i.0),
            block: 0,
            func,
            line: 0,
            errcode: errcode(e),
        };
        if self.journal_aborted() {
            // Nothing more goes through the log; the unmount leaves it
            // for replay (the policy below still applies).
            tracing::error!("journal aborted: the error is not recorded in the superblock");
        } else {
            let mut tx = self.begin_unchecked();
            tx.edit_superblock(move |sb| {
                sb.state |= STATE_ERROR;
                if sb.error_count == 0 {
                    sb.first_error = rec;
                }
                sb.error_count = sb.error_count.saturating_add(1);
                sb.last_error = rec;
            });
            if let Err(w) = tx.commit().and_then(|()| self.sync()) {
                tracing::error!("recording the error in the superblock failed: {w}");
            }
        }
        match policy {
            OnError::Continue => {}
            OnError::RemountRo => {
                tracing::error!("errors=remount-ro: refusing every change from now on");
                self.stopped.store(true, Ordering::Relaxed);
            }
            OnError::Panic => {
                tracing::error!("errors=panic: stopping");
                std::process::abort();
            }
        }
        policy
    }

    /// Whether changes are refused after an error (errors=remount-ro), or
    /// after a failed durable commit aborted the journal (as ext4 refuses
    /// them with EROFS whatever errors= says).
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed) || self.journal_aborted()
    }
}
