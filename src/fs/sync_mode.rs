//! `sync` and `dirsync`: which changes are durable before their reply, as
//! ext4 makes them (a journal commit waited for in ext4_handle_sync). The
//! inode flags do the same for one file or directory: SYNC (chattr +S)
//! for every change of that inode, DIRSYNC (chattr +D) for the entries of
//! that directory.

use std::sync::atomic::Ordering;

use super::{Fs, Result};
use crate::ext4::InodeNo;
use crate::ext4::inode::flags;

/// The mount's synchronous-change options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncMode {
    /// Every change (`sync`, MS_SYNCHRONOUS).
    pub sync: bool,
    /// Changes of directory entries (`dirsync`, MS_DIRSYNC).
    pub dirsync: bool,
}

/// What an operation changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// An entry of this directory (create, link, unlink, rename, ...).
    Entries(InodeNo),
    /// This inode's data or attributes (setattr, xattrs, fallocate, ...).
    Inode(InodeNo),
    /// This inode's data by WRITE. On a `sync` mount the kernel follows
    /// every write with FSYNC itself (generic_write_sync), so only the
    /// inode's SYNC flag, which the kernel does not know, asks here.
    Write(InodeNo),
}

impl SyncMode {
    fn to_bits(self) -> u8 {
        self.sync as u8 | (self.dirsync as u8) << 1
    }

    fn from_bits(b: u8) -> Self {
        SyncMode {
            sync: b & 1 != 0,
            dirsync: b & 2 != 0,
        }
    }

    /// Whether `change` must be durable before its reply, given the flags
    /// of the inode it names.
    pub fn wants_sync(&self, change: Change, inode_flags: u32) -> bool {
        if inode_flags & flags::SYNC != 0 {
            return true;
        }
        if self.sync {
            return !matches!(change, Change::Write(_));
        }
        matches!(change, Change::Entries(_)) && (self.dirsync || inode_flags & flags::DIRSYNC != 0)
    }
}

impl Fs {
    /// Sets `sync` / `dirsync` (at mount).
    pub fn set_sync_mode(&self, m: SyncMode) {
        self.sync_mode.store(m.to_bits(), Ordering::Relaxed);
    }

    /// The mount's `sync` / `dirsync` options.
    pub fn sync_mode(&self) -> SyncMode {
        SyncMode::from_bits(self.sync_mode.load(Ordering::Relaxed))
    }

    /// Called after an operation made `changes`: a durable commit if the
    /// mount or an inode named asks for one.
    pub fn settle(&self, changes: &[Change]) -> Result<()> {
        if !self.writable() {
            return Ok(());
        }
        let mode = self.sync_mode();
        let wanted = changes.iter().any(|&c| {
            // The inode's own flags matter only when the mount does not
            // already decide (an inode just removed has none to read).
            mode.wants_sync(c, 0) || {
                let (Change::Entries(ino) | Change::Inode(ino) | Change::Write(ino)) = c;
                self.inode(ino).is_ok_and(|i| mode.wants_sync(c, i.flags))
            }
        });
        // The changed inodes' held atimes went with their transactions;
        // the others go as ext4's commit would take them.
        if wanted {
            self.flush_atimes_for(None)?;
            self.sync_commit(false)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_changes_are_synchronous() {
        let d = Change::Entries(InodeNo(2));
        let f = Change::Inode(InodeNo(12));
        let none = SyncMode::default();
        assert!(!none.wants_sync(d, 0) && !none.wants_sync(f, 0));
        let sync = SyncMode {
            sync: true,
            dirsync: false,
        };
        assert!(sync.wants_sync(d, 0) && sync.wants_sync(f, 0));
        let dirsync = SyncMode {
            sync: false,
            dirsync: true,
        };
        assert!(dirsync.wants_sync(d, 0) && !dirsync.wants_sync(f, 0));
        // A write on a sync mount: the kernel sends FSYNC after it.
        let w = Change::Write(InodeNo(12));
        assert!(!sync.wants_sync(w, 0) && !dirsync.wants_sync(w, 0));
        assert!(none.wants_sync(w, flags::SYNC));
        // chattr +S on the inode, +D on the directory.
        assert!(none.wants_sync(f, flags::SYNC) && none.wants_sync(d, flags::SYNC));
        assert!(none.wants_sync(d, flags::DIRSYNC) && !none.wants_sync(f, flags::DIRSYNC));
        for m in [none, sync, dirsync] {
            assert_eq!(SyncMode::from_bits(m.to_bits()), m);
        }
    }
}
