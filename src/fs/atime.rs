//! Access times: whether a read or a directory listing sets atime, by the
//! mount's policy, as the kernel's touch_atime applies it to ext4
//! (`noatime`, `relatime` (the default), `strictatime`, `nodiratime`, the
//! inode's NOATIME flag), and when the new atime reaches the disk.
//!
//! As on ext4, where touch_atime only dirties the inode in the running
//! transaction, an update costs no log write of its own: it is held in
//! memory (and shown at once) and written with the inode's next change,
//! or else by the next periodic commit (`commit=` seconds), an fsync, a
//! syncfs or the unmount. With `lazytime` the periodic commit leaves it
//! alone, and an fsync writes only its own inode's. Held updates die with
//! the process, as ext4's uncommitted ones with the machine. Without a
//! journal (every change written in place) an update is written at once.
//!
//! The FUSE client never tells the server about reads it answers from its
//! page cache: only reads that reach the server (READ, READDIR, READLINK)
//! count. So that the first read after an open does, a file whose atime a
//! read would change is opened without FOPEN_KEEP_CACHE (see the adapter):
//! with relatime that is the first open after a change (or a day), with
//! strictatime every open. Reads of pages already cached within one open
//! still go unseen.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

use super::create::now;
use super::{Fs, FsError, InodeRef, Result};
use crate::ext4::inode::{Inode, Timestamp, flags};
use crate::ext4::{Generation, InodeNo};

/// relatime also updates an atime older than this (the kernel's rule).
const RELATIME_MAX_AGE_SECS: i64 = 24 * 60 * 60;
/// Updates held before they are written anyway (bounds memory).
const MAX_HELD: usize = 4096;
/// Inodes written per transaction when held updates are written.
const FLUSH_BATCH: usize = 64;

/// When a read updates atime.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AtimeMode {
    /// Never (`noatime`).
    Never,
    /// When atime is not after mtime or ctime, or is a day old
    /// (`relatime`, the default).
    #[default]
    Relative,
    /// On every read (`strictatime`).
    Always,
}

/// The mount's access-time policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AtimePolicy {
    pub mode: AtimeMode,
    /// Directories never get atime updates (`nodiratime`).
    pub nodiratime: bool,
    /// Updates stay in memory until something else writes the inode, its
    /// fsync, a syncfs or the unmount, not just until the next periodic
    /// commit (`lazytime`).
    pub lazytime: bool,
}

impl AtimePolicy {
    /// Whether an access to `inode` at `now` sets its atime (the kernel's
    /// atime_needs_update and relatime_need_update).
    pub fn needs_update(&self, inode: &Inode, now: Timestamp) -> bool {
        self.needs_update_from(inode, inode.atime, now)
    }

    /// [`needs_update`](Self::needs_update) with `atime` as the inode's
    /// current atime (a lazy update's, not yet written).
    fn needs_update_from(&self, inode: &Inode, atime: Timestamp, now: Timestamp) -> bool {
        if self.mode == AtimeMode::Never
            || inode.has_flag(flags::NOATIME)
            || (self.nodiratime && inode.is_dir())
            || atime == now
        {
            return false;
        }
        match self.mode {
            AtimeMode::Never => false,
            AtimeMode::Always => true,
            AtimeMode::Relative => {
                let later = |t: Timestamp| (t.sec, t.nsec) >= (atime.sec, atime.nsec);
                later(inode.mtime)
                    || later(inode.ctime)
                    || now.sec - atime.sec >= RELATIME_MAX_AGE_SECS
            }
        }
    }
}

/// An atime update held in memory.
#[derive(Debug, Clone, Copy)]
struct Held {
    generation: Generation,
    /// The atime on disk when the update was noted: a transaction whose
    /// inode still has it did not set atime itself.
    base: Timestamp,
    atime: Timestamp,
}

/// Atime updates held in memory, by inode number.
#[derive(Debug, Default)]
pub(crate) struct HeldAtimes {
    map: Mutex<HashMap<u32, Held>>,
    /// The map's length: read without the lock on every attribute reply
    /// and every commit, which need nothing while it is 0.
    count: AtomicUsize,
}

impl HeldAtimes {
    fn is_empty(&self) -> bool {
        self.count.load(Ordering::Relaxed) == 0
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<u32, Held>) -> T) -> T {
        let mut map = self.map.lock();
        let r = f(&mut map);
        self.count.store(map.len(), Ordering::Relaxed);
        r
    }
}

impl AtimePolicy {
    /// The policy in one byte (kept in an atomic: read on every READ).
    pub(crate) fn to_bits(self) -> u8 {
        let mode = match self.mode {
            AtimeMode::Never => 0,
            AtimeMode::Relative => 1,
            AtimeMode::Always => 2,
        };
        mode | (self.nodiratime as u8) << 2 | (self.lazytime as u8) << 3
    }

    pub(crate) fn from_bits(b: u8) -> Self {
        AtimePolicy {
            mode: match b & 3 {
                0 => AtimeMode::Never,
                2 => AtimeMode::Always,
                _ => AtimeMode::Relative,
            },
            nodiratime: b & 4 != 0,
            lazytime: b & 8 != 0,
        }
    }
}

impl Fs {
    /// Sets the access-time policy (at mount).
    pub fn set_atime_policy(&self, p: AtimePolicy) {
        self.atime_policy.store(p.to_bits(), Ordering::Relaxed);
    }

    /// The access-time policy.
    pub fn atime_policy(&self) -> AtimePolicy {
        AtimePolicy::from_bits(self.atime_policy.load(Ordering::Relaxed))
    }

    /// Whether a read of `inode` now would set its atime: the opener
    /// then drops the kernel's cached pages, or the read would not reach
    /// the server and atime would stay behind ext4's.
    pub fn access_sets_atime(&self, inode: &Inode) -> bool {
        let atime = self.held_atime(inode).unwrap_or(inode.atime);
        self.writable()
            && !self.is_stopped()
            && self.atime_policy().needs_update_from(inode, atime, now())
    }

    /// Records an access to `seen` (a read, a listing, a readlink that
    /// reached the server): sets atime if the policy asks, held in memory
    /// (see the module comment). Returns whether it set atime (the
    /// caller's cached attributes are then out of date).
    pub fn note_access(&self, seen: &Inode) -> Result<bool> {
        if !self.writable() || self.is_stopped() {
            return Ok(false);
        }
        let policy = self.atime_policy();
        let t = now();
        let atime = self.held_atime(seen).unwrap_or(seen.atime);
        if !policy.needs_update_from(seen, atime, t) {
            return Ok(false);
        }
        if !self.journaled() && !policy.lazytime {
            return self.write_atime_now(seen, policy, t).map(|()| true);
        }
        let full = self.held_atimes.with(|held| {
            // `seen` is the committed inode: its atime is the disk's.
            let base = match held.get(&seen.ino.0) {
                Some(h) if h.generation == seen.generation => h.base,
                _ => seen.atime,
            };
            held.insert(
                seen.ino.0,
                Held {
                    generation: seen.generation,
                    base,
                    atime: t,
                },
            );
            held.len() >= MAX_HELD
        });
        if full {
            self.flush_held_atimes()?;
        }
        Ok(true)
    }

    /// An atime update in a transaction of its own (no journal: written
    /// in place, as every change).
    fn write_atime_now(&self, seen: &Inode, policy: AtimePolicy, t: Timestamp) -> Result<()> {
        let _lock = self.inode_locks.lock(&[seen.ino]);
        let mut tx = self.begin()?;
        let seen_ref = InodeRef {
            ino: seen.ino,
            generation: Some(seen.generation),
        };
        // Freed (or freed and reused) since it was read: nothing to do.
        let mut inode = match tx.live_inode(seen_ref) {
            Err(FsError::Stale) => return Ok(()),
            r => r?,
        };
        if !policy.needs_update(&inode, t) {
            return Ok(());
        }
        inode.atime = t;
        tx.put_inode(inode);
        tx.commit()
    }

    /// The atime held in memory for `inode` (not yet written), if any.
    pub fn held_atime(&self, inode: &Inode) -> Option<Timestamp> {
        if self.held_atimes.is_empty() {
            return None;
        }
        let map = self.held_atimes.map.lock();
        let h = map.get(&inode.ino.0)?;
        (h.generation == inode.generation && inode.atime == h.base).then_some(h.atime)
    }

    /// Takes the held update of an inode a transaction writes (under the
    /// commit lock): it is written with it, unless the transaction set
    /// atime itself.
    pub(crate) fn merge_held_atime(&self, inode: &Inode) -> Option<Inode> {
        if self.held_atimes.is_empty() {
            return None;
        }
        let h = self.held_atimes.with(|held| held.remove(&inode.ino.0))?;
        if h.generation != inode.generation || inode.atime != h.base || inode.mode == 0 {
            return None;
        }
        let mut merged = inode.clone();
        merged.atime = h.atime;
        Some(merged)
    }

    /// Writes every held atime update (syncfs, unmount, too many held;
    /// without lazytime also the periodic commit, an fsync, a sync mount's
    /// settle).
    pub fn flush_held_atimes(&self) -> Result<()> {
        if self.held_atimes.is_empty() {
            return Ok(());
        }
        let mut pending: Vec<u32> = self.held_atimes.with(|held| held.keys().copied().collect());
        pending.sort_unstable();
        self.write_held_atimes(&pending)
    }

    /// Before a durable commit made for `ino` (its fsync): the held
    /// updates the commit takes, as ext4's running transaction holds them
    /// (all of them; with lazytime only this inode's).
    pub(crate) fn flush_atimes_for(&self, ino: Option<InodeNo>) -> Result<()> {
        match ino {
            Some(ino) if self.atime_policy().lazytime => {
                if self.held_atimes.with(|held| held.contains_key(&ino.0)) {
                    self.write_held_atimes(&[ino.0])
                } else {
                    Ok(())
                }
            }
            None if self.atime_policy().lazytime => Ok(()),
            _ => self.flush_held_atimes(),
        }
    }

    /// Writes the held updates of `pending` (sorted inode numbers).
    fn write_held_atimes(&self, pending: &[u32]) -> Result<()> {
        if pending.is_empty() || !self.writable() || self.is_stopped() {
            return Ok(());
        }
        for chunk in pending.chunks(FLUSH_BATCH) {
            let inos: Vec<InodeNo> = chunk.iter().map(|&i| InodeNo(i)).collect();
            let _locks = self.inode_locks.lock(&inos);
            let mut tx = self.begin()?;
            for &ino in &inos {
                // The commit merges the held atime into the unchanged inode.
                // A freed inode is left alone: its number may be being
                // handed out again, and the new inode is not ours to write.
                match tx.live_inode(ino.into()) {
                    Ok(inode) => tx.put_inode(inode),
                    Err(FsError::Stale) => {
                        self.held_atimes.with(|held| held.remove(&ino.0));
                    }
                    Err(e) => return Err(e),
                }
            }
            tx.commit()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(sec: i64) -> Timestamp {
        Timestamp { sec, nsec: 0 }
    }

    fn file(atime: i64, mtime: i64, ctime: i64) -> Inode {
        Inode {
            ino: InodeNo(12),
            mode: 0o100644,
            uid: 0,
            gid: 0,
            size: 0,
            atime: ts(atime),
            ctime: ts(ctime),
            mtime: ts(mtime),
            crtime: None,
            dtime: 0,
            links_count: 1,
            version: 0,
            projid: None,
            blocks_512: 0,
            flags: 0,
            block: [0; crate::ext4::inode::I_BLOCK_SIZE],
            generation: Generation(1),
            file_acl: 0,
            extra_isize: 32,
            ibody_xattrs: Vec::new(),
        }
    }

    #[test]
    fn relatime_as_the_kernel() {
        let p = AtimePolicy::default();
        let now = ts(1_000_000);
        // atime not after mtime or ctime: updated.
        assert!(p.needs_update(&file(500, 500, 400), now));
        assert!(p.needs_update(&file(500, 400, 600), now));
        // atime after both, and recent: not updated.
        assert!(!p.needs_update(&file(999_000, 500, 500), now));
        // A day old: updated.
        assert!(p.needs_update(&file(1_000_000 - 86_400, 500, 500), now));
        assert!(!p.needs_update(&file(1_000_000 - 86_399, 500, 500), now));
        // Already now: nothing to write.
        assert!(!p.needs_update(&file(1_000_000, 1_000_000, 1_000_000), now));
    }

    #[test]
    fn strict_never_nodiratime_and_the_inode_flag() {
        let now = ts(1_000_000);
        let recent = file(999_000, 500, 500);
        let strict = AtimePolicy {
            mode: AtimeMode::Always,
            ..Default::default()
        };
        assert!(strict.needs_update(&recent, now));
        let never = AtimePolicy {
            mode: AtimeMode::Never,
            ..Default::default()
        };
        assert!(!never.needs_update(&file(1, 500, 500), now));
        let mut noatime_flag = file(1, 500, 500);
        noatime_flag.flags |= flags::NOATIME;
        assert!(!strict.needs_update(&noatime_flag, now));
        let mut dir = file(1, 500, 500);
        dir.mode = 0o040755;
        let nodiratime = AtimePolicy {
            mode: AtimeMode::Always,
            nodiratime: true,
            ..Default::default()
        };
        assert!(!nodiratime.needs_update(&dir, now));
        assert!(nodiratime.needs_update(&file(1, 500, 500), now));
    }

    #[test]
    fn policy_bits_round_trip() {
        for mode in [AtimeMode::Never, AtimeMode::Relative, AtimeMode::Always] {
            for nodiratime in [false, true] {
                for lazytime in [false, true] {
                    let p = AtimePolicy {
                        mode,
                        nodiratime,
                        lazytime,
                    };
                    assert_eq!(AtimePolicy::from_bits(p.to_bits()), p);
                }
            }
        }
        assert_eq!(AtimePolicy::from_bits(0).mode, AtimeMode::Never);
        assert_eq!(
            AtimePolicy::default(),
            AtimePolicy::from_bits(AtimePolicy::default().to_bits())
        );
    }
}
