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
//!
//! Taking an orphan off the list edits the orphan before it. The list is
//! singly linked, so finding that one would read the list from its head
//! (every close of an unlinked file, O(n) inode reads with n orphans: a
//! process closing 16,000 O_TMPFILE files managed 29 closes/s). As the
//! kernel's in-memory s_orphan list, [`OrphanIndex`] keeps each orphan's
//! predecessor: read from the list once, then kept in step by every
//! committed change.

use crate::ext4::CorruptKind;
use std::collections::HashMap;

use super::journal::transaction::Transaction;
use super::{Fs, Result, error};
use crate::ext4::inode::{Inode, flags};
use crate::ext4::{Generation, InodeNo};

/// Open counts by inode number.
#[derive(Default)]
pub struct OpenTable {
    counts: parking_lot::Mutex<HashMap<u32, u32>>,
}

/// A change of the orphan list, told to the index by the transaction
/// that makes it (see [`Transaction::note_orphan_move`]).
#[derive(Debug, Clone, Copy)]
pub(crate) enum OrphanMove {
    /// `ino` became the head; `old_head` (0: none) follows it.
    Add { ino: u32, old_head: u32 },
    /// `ino` left; `pred` (0: it was the head) now leads to `next`.
    Remove { ino: u32, pred: u32, next: u32 },
    /// The list was dropped whole.
    Clear,
}

/// Each orphan's predecessor on the on-disk list (0: the head), for the
/// committed list: built on first use (after any journal replay: the
/// filesystem is open by then) and changed only by published
/// transactions, whose changes of the list are serialised by the orphan
/// lock. A failed or dropped transaction tells it nothing.
#[derive(Default)]
pub struct OrphanIndex {
    pred: parking_lot::Mutex<Option<HashMap<u32, u32>>>,
}

impl OrphanIndex {
    fn apply(map: &mut HashMap<u32, u32>, m: OrphanMove) {
        match m {
            OrphanMove::Add { ino, old_head } => {
                map.insert(ino, 0);
                if old_head != 0 {
                    map.insert(old_head, ino);
                }
            }
            OrphanMove::Remove { ino, pred, next } => {
                map.remove(&ino);
                if next != 0 {
                    map.insert(next, pred);
                }
            }
            OrphanMove::Clear => map.clear(),
        }
    }
}

impl Fs {
    /// Tells the orphan index what a transaction just published did to
    /// the list (nothing to do before the index is first built: it is
    /// built from the published list).
    pub(super) fn orphan_index_apply(&self, moves: &[OrphanMove]) {
        if moves.is_empty() {
            return;
        }
        if let Some(map) = self.orphan_index.pred.lock().as_mut() {
            for &m in moves {
                OrphanIndex::apply(map, m);
            }
        }
    }

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

    /// Opens held now (files the kernel has open, each open once).
    pub fn open_files(&self) -> u64 {
        self.opens
            .counts
            .lock()
            .values()
            .map(|&n| u64::from(n))
            .sum()
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
        let old_head = self.live_sb.lock().last_orphan;
        inode.dtime = old_head;
        let ino = inode.ino.0;
        tx.edit_superblock(move |sb| sb.last_orphan = ino);
        tx.note_orphan_move(OrphanMove::Add { ino, old_head });
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
        tx.note_orphan_move(OrphanMove::Remove {
            ino: inode.ino.0,
            pred: pred.map_or(0, |p| p.0),
            next,
        });
        inode.dtime = 0;
        Ok(())
    }

    /// Where `ino` is on the orphan list: None when it is not on it, else
    /// the orphan just before it (None inside: it is the head). The
    /// caller holds the orphan lock (the index is the committed list's).
    pub(crate) fn orphan_place(&self, ino: InodeNo) -> Result<Option<Option<InodeNo>>> {
        let mut index = self.orphan_index.pred.lock();
        if index.is_none() {
            *index = Some(self.orphan_preds()?);
        }
        Ok(index
            .as_ref()
            .and_then(|map| map.get(&ino.0))
            .map(|&p| if p == 0 { None } else { Some(InodeNo(p)) }))
    }

    /// Whether `ino` is on the orphan list.
    pub fn is_orphan(&self, ino: InodeNo) -> Result<bool> {
        let _o = self.orphan_lock.lock();
        Ok(self.orphan_place(ino)?.is_some())
    }

    /// Each orphan's predecessor (0: the head), read from the list; a loop
    /// or a bad number is damage.
    fn orphan_preds(&self) -> Result<HashMap<u32, u32>> {
        let sb = self.superblock();
        let mut out = HashMap::new();
        let mut prev = 0;
        let mut cur = self.live_sb.lock().last_orphan;
        while cur != 0 {
            if cur < sb.first_ino || cur > sb.inodes_count {
                return Err(error::corrupted(CorruptKind::OrphanListBadInode {
                    ino: cur,
                }));
            }
            if out.insert(cur, prev).is_some() {
                return Err(error::corrupted(CorruptKind::OrphanListLoop { ino: cur }));
            }
            prev = cur;
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
                return Err(error::corrupted(CorruptKind::OrphanListBadInode {
                    ino: cur,
                }));
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
        Err(error::corrupted(CorruptKind::OrphanListTooLong))
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
                    tx.note_orphan_move(OrphanMove::Clear);
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
        tx.drop_ea_refs(inode)?;
        tx.drop_xattr_block(inode)?;
        let t = super::create::now();
        inode.dtime = t.sec as u32;
        inode.size = 0;
        inode.links_count = 0;
        inode.blocks_512 = 0;
        tx.free_inode(inode.ino, kind == mode::S_IFDIR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::FsOptions;
    use crate::fs::create::NewNode;
    use crate::fs::inode::tests::INODE_READS;

    /// A fresh image with room for `inodes` inodes (mkfs `extra` options
    /// added), mounted read-write.
    fn fresh(inodes: u32, extra: &[&str]) -> (tempfile::TempDir, Fs) {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("img");
        std::fs::File::create(&img).unwrap();
        let st = std::process::Command::new("mkfs.ext4")
            .args(["-q", "-F", "-b", "4096", "-N", &inodes.to_string()])
            .args(extra)
            .arg(&img)
            .arg("64M")
            .status()
            .expect("mkfs.ext4 is needed (scripts/install-deps installs e2fsprogs)");
        assert!(st.success());
        let opts = FsOptions {
            writable: true,
            ..Default::default()
        };
        let fs = Fs::open(&img, &opts).unwrap();
        fs.mount_rw().unwrap();
        (dir, fs)
    }

    fn file() -> NewNode {
        NewNode {
            mode: 0o100600,
            uid: 0,
            gid: 0,
            umask: 0o022,
            rdev: 0,
        }
    }

    fn reads() -> u64 {
        INODE_READS.with(|n| n.get())
    }

    /// The list as it is on disk, head first.
    fn walk(fs: &Fs) -> Vec<u32> {
        let mut out = Vec::new();
        let mut cur = fs.live_superblock().last_orphan;
        while cur != 0 {
            assert!(out.len() < 100_000, "orphan list loops");
            out.push(cur);
            cur = fs.inode(InodeNo(cur)).unwrap().dtime;
        }
        out
    }

    /// The index answers what a walk of the list from the head does.
    fn index_matches_list(fs: &Fs) {
        let list = walk(fs);
        let _o = fs.orphan_lock.lock();
        let map = fs.orphan_index.pred.lock().clone();
        let Some(map) = map else { return };
        assert_eq!(map.len(), list.len(), "index {map:?}, list {list:?}");
        for (i, ino) in list.iter().enumerate() {
            let want = if i == 0 { 0 } else { list[i - 1] };
            assert_eq!(map.get(ino), Some(&want), "predecessor of {ino}");
        }
    }

    /// Closing one of n O_TMPFILE files reads a bounded number of inodes,
    /// whatever n and wherever it sits on the list; the list used to be
    /// read from its head (2n inode reads for the oldest orphan, and a
    /// loop check quadratic in n on top), so that closing n files cost
    /// O(n^2) inode reads.
    #[test]
    fn closing_an_orphan_reads_a_bounded_number_of_inodes() {
        for extra in [&[][..], &["-O", "orphan_file"][..]] {
            let n = 3000;
            let (_dir, fs) = fresh(n + 64, extra);
            let free0 = fs.live_superblock().free_inodes_count;
            // The index is read from the (empty) list once, here.
            assert!(!fs.is_orphan(InodeNo::ROOT).unwrap());
            let mut inos = Vec::new();
            let mut open_reads = 0;
            for _ in 0..n {
                let r0 = reads();
                inos.push(fs.tmpfile(InodeNo::ROOT, &file()).unwrap().ino);
                open_reads = open_reads.max(reads() - r0);
            }
            assert!(
                open_reads <= 16,
                "{extra:?}: an open read {open_reads} inodes"
            );
            // Oldest first: each is at the tail of the list.
            let mut close_reads = 0;
            for (k, &ino) in inos.iter().enumerate() {
                let r0 = reads();
                fs.released(ino).unwrap();
                close_reads = close_reads.max(reads() - r0);
                if k % 500 == 0 {
                    index_matches_list(&fs);
                }
            }
            assert!(
                close_reads <= 16,
                "{extra:?}: a close read {close_reads} inodes with {n} orphans"
            );
            assert_eq!(fs.live_superblock().last_orphan, 0);
            assert_eq!(fs.live_superblock().free_inodes_count, free0);
        }
    }

    /// Orphans made and taken off in every way (O_TMPFILE, unlink of an
    /// open file, link of an O_TMPFILE file, release in random order), the
    /// index always says what the list on disk says; a filesystem opened
    /// again reads the same list into its index.
    #[test]
    fn the_index_follows_every_change_of_the_list() {
        let (dir, fs) = fresh(1024, &[]);
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |m: usize| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng % m as u64) as usize
        };
        let mut held: Vec<InodeNo> = Vec::new();
        for step in 0..1500 {
            match next(5) {
                0 | 1 => held.push(fs.tmpfile(InodeNo::ROOT, &file()).unwrap().ino),
                2 => {
                    let name = format!("f{step}");
                    let ino = fs
                        .make_node(InodeNo::ROOT, name.as_bytes(), &file())
                        .unwrap()
                        .ino;
                    fs.opened(ino);
                    fs.unlink(InodeNo::ROOT, name.as_bytes()).unwrap();
                    held.push(ino);
                }
                3 if !held.is_empty() => {
                    let ino = held.swap_remove(next(held.len()));
                    let name = format!("l{step}");
                    fs.link(ino, InodeNo::ROOT, name.as_bytes()).unwrap();
                    fs.released(ino).unwrap();
                    fs.unlink(InodeNo::ROOT, name.as_bytes()).unwrap();
                }
                _ if !held.is_empty() => {
                    let ino = held.swap_remove(next(held.len()));
                    fs.released(ino).unwrap();
                }
                _ => {}
            }
            if step % 50 == 0 {
                // Built on first use: from here on it is kept in step.
                fs.is_orphan(InodeNo::ROOT).unwrap();
                index_matches_list(&fs);
            }
        }
        index_matches_list(&fs);
        let mut list = walk(&fs);
        let mut want: Vec<u32> = held.iter().map(|i| i.0).collect();
        list.sort_unstable();
        want.sort_unstable();
        assert_eq!(list, want);
        fs.sync().unwrap();
        drop(fs);
        let again = Fs::open(&dir.path().join("img"), &FsOptions::default()).unwrap();
        for ino in &held {
            assert!(again.is_orphan(*ino).unwrap());
        }
        index_matches_list(&again);
    }
}
