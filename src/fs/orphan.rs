//! Open counts and the orphan list.
//!
//! An inode whose last name goes while it is open stays allocated, with no
//! links, on the superblock's orphan list (s_last_orphan, chained through
//! i_dtime, as ext4's classic list), until its last release frees it. A
//! normal read-write mount frees the orphans a crash left behind.
//!
//! The orphan lock comes after the inode locks: whoever changes the list
//! holds the inodes it edits, then the orphan lock until its transaction
//! has committed, so two changes never work from the same head.

use std::collections::HashMap;

use super::transaction::Transaction;
use super::{Fs, Result, error};
use crate::ext4::inode::{Inode, flags};
use crate::ext4::{Generation, InodeNo};

/// Open counts by inode number.
#[derive(Default)]
pub struct OpenTable {
    counts: parking_lot::Mutex<HashMap<u32, u32>>,
}

impl Fs {
    /// The inodes open now (a shutdown drops what the kernel cached of
    /// them).
    pub fn open_inodes(&self) -> Vec<InodeNo> {
        let counts = self.opens.counts.lock();
        counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(i, _)| InodeNo(*i))
            .collect()
    }

    /// Records one more open of `ino`.
    pub fn opened(&self, ino: InodeNo) {
        *self.opens.counts.lock().entry(ino.0).or_default() += 1;
    }

    /// Opens `ino` (of `generation`, if given): checks that it is live and
    /// counts the open under its lock, so that an unlink racing with the
    /// open either finds it open (and keeps it as an orphan) or freed it
    /// before (Stale). Counting after a check made outside the lock let
    /// an open land on a freed inode, whose writes then went to blocks
    /// no live inode owned.
    pub fn open_live(&self, ino: InodeNo, generation: Option<Generation>) -> Result<Inode> {
        let _lock = self.inode_locks.lock(&[ino]);
        let inode = {
            let _view = self.read_view();
            self.live_inode(ino, generation)?
        };
        self.opened(ino);
        Ok(inode)
    }

    /// Drops one open; returns how many remain.
    pub(crate) fn open_count_drop(&self, ino: InodeNo) -> u32 {
        let mut c = self.opens.counts.lock();
        match c.get_mut(&ino.0) {
            Some(n) if *n > 1 => {
                *n -= 1;
                *n
            }
            _ => {
                c.remove(&ino.0);
                0
            }
        }
    }

    /// Whether `ino` is open.
    pub(crate) fn is_open(&self, ino: InodeNo) -> bool {
        self.opens.counts.lock().contains_key(&ino.0)
    }

    /// One release of `ino`: after the last one, an inode without links is
    /// freed and leaves the orphan list.
    pub fn released(&self, ino: InodeNo) -> Result<()> {
        if self.open_count_drop(ino) > 0 || !self.writable() {
            return Ok(());
        }
        self.reap_orphan(ino)
    }

    /// Frees the orphan `ino` if it has no links and nobody holds it open.
    fn reap_orphan(&self, ino: InodeNo) -> Result<()> {
        loop {
            let place = {
                let _o = self.orphan_lock.lock();
                self.orphan_place(ino)?
            };
            let Some(pred) = place else {
                return Ok(());
            };
            let mut set = vec![ino];
            set.extend(pred);
            let _locks = self.inode_locks.lock(&set);
            let _o = self.orphan_lock.lock();
            if self.orphan_place(ino)? != place {
                continue;
            }
            let mut inode = self.inode(ino)?;
            if inode.links_count != 0 || self.is_open(ino) {
                return Ok(());
            }
            let mut tx = self.begin()?;
            self.orphan_remove(&mut tx, &mut inode, pred)?;
            self.free_inode_and_blocks(&mut tx, &mut inode)?;
            tx.put_inode(inode);
            return tx.commit();
        }
    }

    /// Puts `inode` at the head of the orphan list (caller holds the orphan
    /// lock until commit).
    pub(crate) fn orphan_add(&self, tx: &mut Transaction<'_>, inode: &mut Inode) {
        inode.dtime = self.live_sb.lock().last_orphan;
        let ino = inode.ino.0;
        tx.edit_superblock(move |sb| sb.last_orphan = ino);
    }

    /// Takes `inode` off the list; `pred` is the orphan before it (None:
    /// it is the head). Caller holds the orphan lock and both inode locks.
    pub(crate) fn orphan_remove(
        &self,
        tx: &mut Transaction<'_>,
        inode: &mut Inode,
        pred: Option<InodeNo>,
    ) -> Result<()> {
        let next = inode.dtime;
        match pred {
            None => tx.edit_superblock(move |sb| sb.last_orphan = next),
            Some(p) => {
                let mut p = tx.inode(p)?;
                p.dtime = next;
                tx.put_inode(p);
            }
        }
        inode.dtime = 0;
        Ok(())
    }

    /// Where `ino` is on the orphan list: None when it is not on it, else
    /// the orphan just before it (None inside: it is the head).
    pub(crate) fn orphan_place(&self, ino: InodeNo) -> Result<Option<Option<InodeNo>>> {
        let mut prev = None;
        for cur in self.orphan_list()? {
            if cur == ino {
                return Ok(Some(prev));
            }
            prev = Some(cur);
        }
        Ok(None)
    }

    /// The orphan list, head first; a loop or a bad number is damage.
    fn orphan_list(&self) -> Result<Vec<InodeNo>> {
        let sb = self.superblock();
        let mut out = Vec::new();
        let mut cur = self.live_sb.lock().last_orphan;
        while cur != 0 {
            if cur < sb.first_ino || cur > sb.inodes_count || out.len() > sb.inodes_count as usize {
                return Err(error::corrupt("orphan list", format!("bad inode {cur}")));
            }
            if out.contains(&InodeNo(cur)) {
                return Err(error::corrupt(
                    "orphan list",
                    format!("loop at inode {cur}"),
                ));
            }
            out.push(InodeNo(cur));
            cur = self.inode(InodeNo(cur))?.dtime;
        }
        Ok(out)
    }

    /// At a read-write mount: frees every orphan a crash left, except
    /// those still open (a recovering server restores the open counts of
    /// the files the kernel holds first: they stay until their release).
    /// Returns how many were freed.
    pub fn cleanup_orphans(&self) -> Result<usize> {
        let mut freed = 0;
        let sb = self.superblock();
        let _o = self.orphan_lock.lock();
        let mut pred: Option<InodeNo> = None;
        let mut cur = self.live_sb.lock().last_orphan;
        for _ in 0..=sb.inodes_count {
            if cur == 0 {
                return Ok(freed);
            }
            if cur < sb.first_ino || cur > sb.inodes_count {
                return Err(error::corrupt("orphan list", format!("bad inode {cur}")));
            }
            let mut inode = self.inode(InodeNo(cur))?;
            let next = inode.dtime;
            if inode.links_count == 0 && self.is_open(inode.ino) {
                pred = Some(inode.ino);
                cur = next;
                continue;
            }
            let mut tx = self.begin()?;
            self.orphan_remove(&mut tx, &mut inode, pred)?;
            if inode.links_count == 0 {
                self.free_inode_and_blocks(&mut tx, &mut inode)?;
                freed += 1;
            } else {
                // A truncate cut short: the blocks past i_size go, and
                // the tail of the last one is zeroed (ext4_truncate); an
                // inline file's i_block holds data, not a mapping: its
                // inline data is cut instead (ext4_inline_data_truncate).
                let size = inode.size;
                if inode.has_flag(flags::INLINE_DATA) {
                    if inode.is_reg() {
                        self.truncate_inline(&mut tx, &mut inode, size)?;
                    }
                } else {
                    let keep = size.div_ceil(self.block_size() as u64);
                    tx.unmap_from(&mut inode, keep)?;
                    if inode.is_reg() {
                        super::setattr::zero_tail(&mut tx, &inode, size)?;
                    }
                }
            }
            tx.put_inode(inode);
            tx.commit()?;
            cur = next;
        }
        Err(error::corrupt("orphan list", "longer than the inode count"))
    }

    /// The orphan processing of a read-write mount. As the kernel's
    /// ext4_orphan_cleanup, damage in the list (a bad inode number, a
    /// loop, an inode that cannot be freed) does not refuse the mount: it
    /// is recorded as an error (the `errors=` policy applies), the rest of
    /// the list is dropped (the orphans before the damage are freed
    /// already; those after it are fsck's), and the mount goes on.
    pub(crate) fn mount_orphans(&self) -> Result<usize> {
        match self.cleanup_orphans() {
            Err(e) if e.is_corruption() => {
                tracing::error!("orphan list: {e}; dropping the rest of it");
                self.record_error(&e, None, "orphan cleanup");
                if !self.is_stopped() {
                    let _o = self.orphan_lock.lock();
                    let mut tx = self.begin()?;
                    tx.edit_superblock(|sb| sb.last_orphan = 0);
                    tx.commit()?;
                }
                Ok(0)
            }
            r => r,
        }
    }

    /// Restores open counts a previous server of this mount recorded (the
    /// kernel still holds those files open), before [`Fs::mount_rw`] so
    /// that their orphans survive.
    pub fn restore_opens(&self, opens: impl IntoIterator<Item = (InodeNo, u32)>) {
        let mut c = self.opens.counts.lock();
        for (ino, n) in opens {
            if n > 0 {
                *c.entry(ino.0).or_default() += n;
            }
        }
    }

    /// Releases everything `inode` holds and frees it: blocks (not for
    /// fast symlinks and devices, whose i_block holds no pointers), the
    /// xattr block, the inode. The caller puts `inode`.
    pub(crate) fn free_inode_and_blocks(
        &self,
        tx: &mut Transaction<'_>,
        inode: &mut Inode,
    ) -> Result<()> {
        use crate::ext4::inode::mode;
        let kind = inode.file_type();
        let has_blocks = match kind {
            mode::S_IFREG | mode::S_IFDIR => true,
            mode::S_IFLNK => !inode.is_fast_symlink(self.block_size()),
            _ => false,
        } && !inode.has_flag(flags::INLINE_DATA);
        if has_blocks {
            tx.unmap_from(inode, 0)?;
        }
        tx.drop_xattr_block(inode)?;
        let t = super::create::now();
        inode.dtime = t.sec as u32;
        inode.size = 0;
        inode.links_count = 0;
        inode.blocks_512 = 0;
        tx.free_inode(inode.ino, kind == mode::S_IFDIR)
    }
}
