//! Writing file data: blocks mapped (holes allocated, unwritten extents
//! converted) in the same transaction that records the new size and
//! times; data reaches the image before that transaction commits.

use super::create::now;
use super::journal::transaction::Transaction;
use super::map_dispatch::Run;
use super::{Fs, FsError, InodeRef, Result};
use crate::ext4::InodeNo;
use crate::ext4::blockmap::route;
use crate::ext4::inode::{Inode, flags};
use crate::ext4::superblock::ro_compat;

impl Fs {
    /// Writes `data` at byte `offset` of the regular file `ino`; returns the
    /// bytes written (all of them, or an error and no change; or, when a
    /// quota limit refuses all of them, as many as it allows: see
    /// [`Fs::write_within_quota`]).
    /// The setuid/setgid bits of `drop_suidgid` (the writer's
    /// [`Fs::suidgid_to_drop`]; 0 for none) go in the same transaction.
    pub fn write(
        &self,
        node: impl Into<InodeRef>,
        offset: u64,
        data: &[u8],
        drop_suidgid: u16,
    ) -> Result<usize> {
        let node = node.into();
        match self.write_whole(node, offset, data, drop_suidgid) {
            Err(FsError::QuotaExceeded) => {
                self.write_within_quota(node, offset, data, drop_suidgid)
            }
            r => r,
        }
    }

    /// [`Fs::write`] of all of `data`, or an error and no change.
    pub(crate) fn write_whole(
        &self,
        node: InodeRef,
        offset: u64,
        data: &[u8],
        drop_suidgid: u16,
    ) -> Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        let _locks = self.inode_locks.lock(&[node.ino]);
        let mut tx = self.begin()?;
        let mut inode = tx.live_inode(node)?;
        super::attr_flags::may_write(&inode)?;
        if !inode.is_reg() {
            return Err(if inode.is_dir() {
                FsError::IsDir
            } else {
                FsError::Invalid
            });
        }
        let end = offset
            .checked_add(data.len() as u64)
            .ok_or(FsError::TooBig)?;
        if end > self.max_file_size(&inode) {
            return Err(FsError::TooBig);
        }
        // Inline while the bytes fit in the inode; converted (in this
        // same transaction) when they stop fitting.
        if !self.write_inline(&mut tx, &mut inode, offset, data)? {
            if inode.has_flag(flags::INLINE_DATA) {
                self.uninline(&mut tx, &mut inode)?;
            }
            self.write_blocks(&mut tx, &mut inode, offset, data)?;
        }
        if end > inode.size {
            inode.size = end;
            self.note_large_file(&mut tx, end);
        }
        let t = now();
        inode.mtime = t;
        inode.ctime = t;
        super::setattr::drop_suidgid(&mut inode, drop_suidgid);
        tx.put_inode(inode);
        tx.commit()?;
        Ok(data.len())
    }

    /// Maps the blocks under `[offset, offset + data.len())` and writes the
    /// data, zero-filling the parts of fresh blocks the data does not
    /// cover (their old contents are garbage).
    pub(crate) fn write_blocks(
        &self,
        tx: &mut Transaction<'_>,
        inode: &mut Inode,
        offset: u64,
        data: &[u8],
    ) -> Result<()> {
        let bs = self.block_size() as u64;
        let end = offset + data.len() as u64;
        let first = offset / bs;
        let last = (end - 1) / bs;
        let runs = tx.map_write(inode, first, last - first + 1)?;
        for run in runs {
            self.write_run(&run, offset, data)?;
        }
        Ok(())
    }

    fn write_run(&self, run: &Run, offset: u64, data: &[u8]) -> Result<()> {
        let bs = self.block_size() as u64;
        let end = offset + data.len() as u64;
        let (rs, re) = (run.lblk * bs, (run.lblk + run.len) * bs);
        let (ws, we) = (offset.max(rs), end.min(re));
        // Writes image bytes for file bytes [from, to) of this run.
        let put = |from: u64, bytes: &[u8]| {
            let rel = from - rs;
            self.write_data(
                crate::ext4::BlockNo(run.pblk.0 + rel / bs),
                (rel % bs) as usize,
                bytes,
            )
        };
        let slice = |from: u64, to: u64| &data[(from - offset) as usize..(to - offset) as usize];
        if !run.fresh {
            return if ws < we {
                put(ws, slice(ws, we))
            } else {
                Ok(())
            };
        }
        // Fresh blocks hold garbage: every byte of the run is written,
        // and a block the data covers in part is written whole (zeros
        // around the data) in one write. Two writes to parts of a page
        // the host does not cache would make it read the page from disk
        // first: a synchronous disk read for each new small file.
        // Writes the run's bytes [from, to): the data where it reaches,
        // zeros elsewhere; straight from the data when it covers them.
        let whole = |from: u64, to: u64| -> Result<()> {
            if from >= to {
                return Ok(());
            }
            let (ds, de) = (ws.max(from), we.min(to));
            if (ds, de) == (from, to) {
                return put(from, slice(from, to));
            }
            let mut buf = vec![0u8; (to - from) as usize];
            if ds < de {
                buf[(ds - from) as usize..(de - from) as usize].copy_from_slice(slice(ds, de));
            }
            put(from, &buf)
        };
        // Up to the end of the block where the data begins; the blocks the
        // data covers whole; from the block where it ends.
        let first_end = ws.next_multiple_of(bs).min(re);
        let last_start = (we - we % bs).max(first_end);
        whole(rs, first_end)?;
        whole(first_end, last_start)?;
        whole(last_start, re)
    }

    /// Largest size a file may reach: what its mapping can address, and
    /// without huge_file what i_blocks can count.
    pub(crate) fn max_file_size(&self, inode: &Inode) -> u64 {
        let bs = self.block_size() as u64;
        let sb = self.superblock();
        let blocks = if inode.has_flag(flags::EXTENTS) {
            (1u64 << 32) - 1
        } else {
            let per = bs / 4;
            let mut n = 12 + per + per * per + per * per * per;
            // Block numbers and i_blocks are 32-bit without huge_file.
            if !sb.has_ro_compat(ro_compat::HUGE_FILE) {
                n = n.min(((1u64 << 32) - 1) / (bs / 512));
            }
            debug_assert!(route(n - 1, per).is_some());
            n
        };
        (blocks * bs).min(i64::MAX as u64)
    }

    /// A file past 2 GiB needs the large_file feature (ext2/3 images made
    /// without it).
    pub(crate) fn note_large_file(&self, tx: &mut Transaction<'_>, size: u64) {
        if size > (1 << 31) - 1 && !self.live_sb.lock().has_ro_compat(ro_compat::LARGE_FILE) {
            tx.edit_superblock(|sb| sb.feature_ro_compat |= ro_compat::LARGE_FILE);
        }
    }

    /// Moves an inline-data file's bytes into a block so it can grow:
    /// the inode becomes extent-mapped (block-mapped without extents).
    pub(crate) fn uninline(&self, tx: &mut Transaction<'_>, inode: &mut Inode) -> Result<()> {
        let bytes = self.read(inode, 0, inode.size as usize)?;
        tx.remove_inline_data_xattr(inode)?;
        inode.flags &= !flags::INLINE_DATA;
        inode.block = [0; 60];
        if self
            .superblock()
            .has_incompat(crate::ext4::superblock::incompat::EXTENTS)
        {
            inode.flags |= flags::EXTENTS;
            super::extent::write::init_extent_root(inode)?;
        }
        if !bytes.is_empty() {
            self.write_blocks(tx, inode, 0, &bytes)?;
        }
        Ok(())
    }

    /// Makes every answered change durable (syncfs): a durable journal
    /// commit, or a flush of the image without a journal. Atime updates
    /// held in memory are written first.
    pub fn sync(&self) -> Result<()> {
        self.flush_held_atimes()?;
        self.sync_commit(false)
    }

    /// [`Fs::sync`] for an fsync of `ino`: every answered change becomes
    /// durable, and the held atime updates ext4's commit would take (with
    /// lazytime only this inode's).
    pub fn sync_inode(&self, ino: InodeNo) -> Result<()> {
        self.flush_atimes_for(Some(ino))?;
        self.sync_commit(false)
    }

    /// [`Fs::sync_inode`] for an fdatasync of `ino`: its data, and what
    /// reading it back needs. As ext4's, it skips the commit when every
    /// change not yet durable only moved one inode's timestamps (an
    /// overwrite in place): then it is one flush of the image. Any other
    /// change pending (of this inode or another: this does not track
    /// which inode a change concerns) and it is a full [`Fs::sync_inode`].
    pub fn datasync_inode(&self, ino: InodeNo) -> Result<()> {
        self.flush_atimes_for(Some(ino))?;
        self.sync_commit(true)
    }
}
