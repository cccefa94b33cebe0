//! Removing names: unlink and rmdir. An inode losing its last name is
//! freed, or put on the orphan list while it is open.

use super::attr_flags::may_remove;
use super::create::{dec_dir_links, live_dir, now};
use super::journal::transaction::Transaction;
use super::{Fs, FsError, InodeRef, Result};
use crate::ext4::inode::Inode;

impl Fs {
    /// Removes the non-directory `parent/name`.
    pub fn unlink(&self, parent: impl Into<InodeRef>, name: &[u8]) -> Result<()> {
        // Directories both (the VFS's EISDIR for a last component that is
        // not a plain name); `remove` would refuse them as no entry.
        if name == b"." || name == b".." {
            return Err(FsError::IsDir);
        }
        self.remove(parent.into(), name, false)
    }

    /// Removes the empty directory `parent/name`.
    pub fn rmdir(&self, parent: impl Into<InodeRef>, name: &[u8]) -> Result<()> {
        if name == b"." {
            return Err(FsError::Invalid);
        }
        if name == b".." {
            return Err(FsError::NotEmpty);
        }
        self.remove(parent.into(), name, true)
    }

    fn remove(&self, parent_ref: InodeRef, name: &[u8], want_dir: bool) -> Result<()> {
        let parent = parent_ref.ino;
        loop {
            // Find the victim without locks, then lock both and check the
            // name still leads there.
            let target = self.lookup(&self.inode(parent)?, name)?.ino;
            let _locks = self.inode_locks.lock(&[parent, target]);
            let orphans = self.orphan_lock.lock();
            let mut tx = self.begin()?;
            let mut dir = live_dir(&tx, parent_ref)?;
            // The entry is taken out at once, in this transaction only
            // (every refusal below drops it unwritten): one search of the
            // directory under the locks, not one to check the name still
            // leads to `target` and another to remove it.
            if tx.dir_remove(&mut dir, name)? != target {
                continue;
            }
            let mut victim = tx.inode(target)?;
            may_remove(&dir, &victim)?;
            if want_dir != victim.is_dir() {
                return Err(if want_dir {
                    FsError::NotDir
                } else {
                    FsError::IsDir
                });
            }
            if want_dir && !tx.dir_is_empty(&victim)? {
                return Err(FsError::NotEmpty);
            }
            let t = now();
            dir.mtime = t;
            dir.ctime = t;
            victim.ctime = t;
            if want_dir {
                dec_dir_links(&mut dir);
                victim.links_count = 0;
            } else {
                victim.links_count = victim.links_count.saturating_sub(1);
            }
            if victim.links_count == 0 {
                self.drop_last_link(&mut tx, &mut victim)?;
            }
            tx.put_inode(dir);
            tx.put_inode(victim);
            tx.commit()?;
            drop(orphans);
            return Ok(());
        }
    }

    /// `inode` just lost its last name: free it, or keep it on the orphan
    /// list while it is open. Caller holds its lock and the orphan lock.
    pub(crate) fn drop_last_link(&self, tx: &mut Transaction<'_>, inode: &mut Inode) -> Result<()> {
        if self.is_open(inode.ino) {
            self.orphan_add(tx, inode);
            Ok(())
        } else {
            self.free_inode_and_blocks(tx, inode)
        }
    }
}
