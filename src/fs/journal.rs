//! The journal writer: every transaction goes to the jbd2 log before any of
//! its blocks is written in place (see docs/journal.md).
//!
//! - Commit (before the operation's reply): the transaction's blocks are
//!   logged (descriptor, escaped copies, revoke records for freed blocks
//!   that have copies in the log, commit block) with plain writes. The
//!   blocks become dirty in the cache; nothing is written in place yet.
//! - Durable commit ([`Fs::sync`], every `commit=` seconds, when the log or
//!   the dirty set is full, at unmount): flush; make the transactions
//!   logged since the last durable commit visible to every replayer (the
//!   pending marker in front of them becomes an empty revoke block) and
//!   move the log tail past what earlier checkpoints wrote; flush; then
//!   write the dirty blocks in place (the checkpoint, durable at the next
//!   flush).
//! - Blocks freed by a transaction are not reused until it is durable: a
//!   crash could otherwise bring back the old owner with a new owner's
//!   data in it.
//!
//! Lock order: the commit lock → group locks → the journal state (never
//! held while taking a group lock).

use std::collections::HashMap;
use std::sync::Weak;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::extents::Backing;
use super::{Fs, FsError, Result, error};
use crate::ext4::superblock::incompat;
use crate::ext4::{BlockNo, InodeNo};
use crate::jbd2::block::{
    Layout, Tag, build_commit, build_descriptor, build_revokes, escape, tags_per_descriptor,
};
use crate::jbd2::pending::{build_bridge, build_pending};
use crate::jbd2::superblock::JSB_SIZE;
use crate::jbd2::{JournalSuperblock, feature};

/// Dirty blocks that force a durable commit (bounds memory: 64 MiB at 4K).
const MAX_DIRTY: usize = 16384;
/// The default `commit=` interval.
pub const DEFAULT_COMMIT_INTERVAL: Duration = Duration::from_secs(5);

/// A filesystem's internal journal, open for writing.
pub struct Journal {
    /// Tag and checksum layout (follows the features set at start).
    layout: Mutex<Layout>,
    block_size: usize,
    /// Journal block → filesystem block: (first journal block, first fs
    /// block, length), sorted.
    extents: Vec<JournalRun>,
    first: u32,
    maxlen: u32,
    boot_id: [u8; 16],
    interval: Mutex<Duration>,
    st: Mutex<State>,
}

struct State {
    jsb: JournalSuperblock,
    /// Next log block to write and the id of the next transaction.
    head: u32,
    next_tid: u32,
    /// The oldest log block replay needs, as the journal superblock says.
    tail: u32,
    /// Log blocks in use from the tail to the head.
    used: u32,
    /// Transactions logged since the last durable commit: the position of
    /// their pending marker and the id of the first.
    batch: Option<(u32, u32)>,
    /// Blocks with a copy in the live log: the id of the latest copy.
    journaled: HashMap<u64, u32>,
    /// Blocks freed since the last durable commit: (group, bit).
    freed: Vec<(u32, u32)>,
    last_durable: Instant,
    /// Between start and stop.
    running: bool,
}

/// A run of the journal: (first journal block, first fs block, length).
pub(crate) type JournalRun = (u32, u64, u32);

/// Where the journal lives: its runs in order, and its length in blocks.
pub(crate) fn journal_extents(fs: &Fs) -> Result<(Vec<JournalRun>, u64)> {
    let sb = fs.superblock();
    let inode = fs.inode(InodeNo(sb.journal_inum))?;
    let bs = sb.block_size() as u64;
    let nblocks = inode.size / bs;
    if nblocks > u32::MAX as u64 {
        return Err(error::corrupt(
            "journal inode",
            "larger than a journal can be",
        ));
    }
    let mut extents = Vec::new();
    let mut l = 0u64;
    while l < nblocks {
        let m = fs.map_block(&inode, l)?;
        let Backing::Data(p) = m.backing else {
            return Err(error::corrupt(
                "journal inode",
                format!("hole at block {l}"),
            ));
        };
        let len = m.len.min(nblocks - l).max(1);
        fs.check_range(p, len, || "journal inode".to_string())?;
        extents.push((l as u32, p.0, len as u32));
        l += len;
    }
    Ok((extents, nblocks))
}

/// The filesystem block holding journal block `n`, in `extents` as
/// [`journal_extents`] gives them (None past the end).
pub(crate) fn journal_phys(extents: &[JournalRun], n: u32) -> Option<u64> {
    let i = extents
        .partition_point(|&(l, _, _)| l <= n)
        .checked_sub(1)?;
    let (l, p, len) = extents[i];
    (n - l < len).then(|| p + (n - l) as u64)
}

impl Journal {
    /// Opens the internal journal of `fs` (its superblock must say there is
    /// one). The log must be empty (replayed).
    pub(crate) fn load(fs: &Fs, boot_id: [u8; 16]) -> Result<Journal> {
        let sb = fs.superblock();
        if sb.journal_inum == 0 || sb.has_incompat(incompat::JOURNAL_DEV) {
            // An external journal device: refused before we get here.
            return Err(FsError::Unsupported);
        }
        let bs = sb.block_size() as u64;
        let (extents, nblocks) = journal_extents(fs)?;
        let Some(&(_, p0, _)) = extents.first() else {
            return Err(error::corrupt("journal inode", "empty"));
        };
        let raw = fs.block(BlockNo(p0))?;
        let jsb = JournalSuperblock::parse(&raw)
            .map_err(|e| error::corrupt("journal superblock", e.to_string()))?;
        if jsb.block_size as u64 != bs || jsb.maxlen as u64 > nblocks {
            return Err(error::corrupt(
                "journal superblock",
                format!(
                    "block size {} / length {} do not fit the journal inode ({nblocks} blocks of {bs})",
                    jsb.block_size, jsb.maxlen
                ),
            ));
        }
        if jsb.start != 0 {
            return Err(error::corrupt(
                "journal",
                "holds transactions that were not replayed",
            ));
        }
        let next_tid = jsb.sequence.wrapping_add(1);
        Ok(Journal {
            layout: Mutex::new(Layout::of(&jsb)),
            block_size: bs as usize,
            extents,
            first: jsb.first,
            maxlen: jsb.maxlen,
            boot_id,
            interval: Mutex::new(DEFAULT_COMMIT_INTERVAL),
            st: Mutex::new(State {
                head: jsb.first,
                tail: jsb.first,
                next_tid,
                used: 0,
                jsb,
                batch: None,
                journaled: HashMap::new(),
                freed: Vec::new(),
                last_durable: Instant::now(),
                running: false,
            }),
        })
    }

    fn ring(&self) -> u32 {
        self.maxlen - self.first
    }

    fn advance(&self, pos: u32, n: u32) -> u32 {
        self.first + (pos - self.first + n) % self.ring()
    }

    /// The filesystem block holding journal block `n`.
    fn phys(&self, n: u32) -> u64 {
        // Every position used lies below maxlen, which load checked
        // against the journal inode's length.
        journal_phys(&self.extents, n).unwrap_or(self.extents[0].1)
    }

    /// Writes `blocks` to the log from position `pos`, one write per run of
    /// physically contiguous blocks.
    fn write_log(&self, fs: &Fs, pos: u32, blocks: &[Vec<u8>]) -> Result<()> {
        let bs = self.block_size as u64;
        let mut run: Vec<u8> = Vec::new();
        let mut run_start = 0u64;
        let mut next = u64::MAX;
        let mut p = pos;
        for b in blocks {
            let phys = self.phys(p);
            if phys != next && !run.is_empty() {
                fs.image.write_all_at(run_start * bs, &run)?;
                run.clear();
            }
            if run.is_empty() {
                run_start = phys;
            }
            run.extend_from_slice(b);
            next = phys + 1;
            p = self.advance(p, 1);
        }
        if !run.is_empty() {
            fs.image.write_all_at(run_start * bs, &run)?;
        }
        Ok(())
    }

    fn write_jsb(&self, fs: &Fs, jsb: &JournalSuperblock) -> Result<()> {
        let bytes = jsb.to_bytes();
        let bs = self.block_size as u64;
        fs.image
            .write_all_at(self.phys(0) * bs, &bytes[..JSB_SIZE])?;
        // Keep the cached copy of the journal's first block honest.
        fs.cache.remove(BlockNo(self.phys(0)));
        Ok(())
    }

    /// Points the journal superblock at the log's oldest transaction
    /// (`start` 0: the log is empty) and writes it, unless it already says
    /// so. No flush.
    fn set_log_start(&self, fs: &Fs, st: &mut State, start: u32, sequence: u32) -> Result<()> {
        if st.jsb.start == start && st.jsb.sequence == sequence {
            return Ok(());
        }
        let mut jsb = st.jsb.clone();
        jsb.start = start;
        jsb.sequence = sequence;
        self.write_jsb(fs, &jsb)?;
        st.jsb = jsb;
        Ok(())
    }

    /// The most log blocks a transaction with `blocks` logged blocks and
    /// `revokes` revoke records can take.
    fn blocks_needed(&self, blocks: usize, revokes: usize) -> u32 {
        let layout = *self.layout.lock();
        let per = tags_per_descriptor(&layout).max(1);
        let rec = layout.revoke_record();
        let per_rev = (layout.block_size - layout.tail() - 16) / rec;
        (1 + revokes.div_ceil(per_rev) + blocks.div_ceil(per) + blocks + 1) as u32
    }
}

impl Fs {
    /// Starts journalling at a read-write mount: the log begins empty at its
    /// first block, with the checksum features the kernel turns on for this
    /// filesystem.
    pub(crate) fn journal_start(&self) -> Result<()> {
        let Some(j) = &self.journal else {
            return Ok(());
        };
        let _commit = self.commit_lock.lock();
        let mut st = j.st.lock();
        let mut jsb = st.jsb.clone();
        if jsb.version_blocktype == crate::jbd2::blocktype::SUPERBLOCK_V2 {
            if self.sb.metadata_csum() {
                jsb.enable_csum_v3();
            }
            if self.sb.has_incompat(incompat::BIT64) {
                jsb.incompat |= feature::INCOMPAT_64BIT;
            }
            jsb.incompat |= feature::INCOMPAT_REVOKE;
        }
        jsb.start = j.first;
        jsb.sequence = st.next_tid;
        jsb.errno = 0;
        j.write_jsb(self, &jsb)?;
        self.image.sync()?;
        // The layout follows the features now on disk.
        *j.layout.lock() = Layout::of(&jsb);
        st.jsb = jsb;
        st.head = j.first;
        st.tail = j.first;
        st.used = 0;
        st.running = true;
        st.last_durable = Instant::now();
        Ok(())
    }

    /// Logs the blocks of one transaction (commit lock held). `freed` are
    /// the blocks it frees; those with copies in the log get revoke
    /// records.
    pub(crate) fn journal_log(&self, blocks: &[(u64, Vec<u8>)], freed: &[u64]) -> Result<bool> {
        let Some(j) = &self.journal else {
            return Ok(false);
        };
        let mut st = j.st.lock();
        if !st.running {
            return Ok(false);
        }
        let layout = *j.layout.lock();
        let tid = st.next_tid;
        let revokes: Vec<u64> = freed
            .iter()
            .copied()
            .filter(|b| st.journaled.contains_key(b))
            .collect();
        let n = j.blocks_needed(blocks.len(), revokes.len());
        // journal_make_room ran under the same commit lock: only a
        // transaction larger than its estimate could end up here.
        if st.used + n >= j.ring() {
            return Err(FsError::TooBig);
        }
        let mut out: Vec<Vec<u8>> = Vec::with_capacity(n as usize);
        let start = st.head;
        if st.batch.is_none() {
            out.push(build_pending(&layout, tid, &j.boot_id));
            st.batch = Some((start, tid));
        }
        if !revokes.is_empty() {
            out.extend(build_revokes(&layout, tid, &revokes));
        }
        let per = tags_per_descriptor(&layout).max(1);
        for chunk in blocks.chunks(per) {
            let copies: Vec<(Vec<u8>, Tag)> = chunk
                .iter()
                .map(|(b, bytes)| {
                    let (copy, flags) = escape(bytes);
                    let checksum = if layout.csum() {
                        layout.data_checksum(tid, &copy)
                    } else {
                        0
                    };
                    let tag = Tag {
                        block: *b,
                        flags,
                        checksum,
                    };
                    (copy, tag)
                })
                .collect();
            let tags: Vec<Tag> = copies.iter().map(|(_, t)| *t).collect();
            out.push(build_descriptor(&layout, tid, &tags));
            out.extend(copies.into_iter().map(|(c, _)| c));
        }
        let now = super::create::now();
        out.push(build_commit(&layout, tid, now.sec.max(0) as u64, now.nsec));
        self.observe_commit(Some(tid));
        // Two writes, so that a test can crash between them (a torn
        // transaction: no commit block, never replayed).
        let half = out.len() / 2;
        let written = j.write_log(self, start, &out[..half]).and_then(|()| {
            crate::crashpoint::hit("mid-log");
            j.write_log(self, j.advance(start, half as u32), &out[half..])
        });
        if let Err(e) = written {
            // The id was announced to the observer: never give it to
            // another transaction.
            st.next_tid = tid.wrapping_add(1);
            return Err(e);
        }
        crate::crashpoint::hit("after-commit");
        st.head = j.advance(start, out.len() as u32);
        st.used += out.len() as u32;
        st.next_tid = tid.wrapping_add(1);
        for b in &revokes {
            st.journaled.remove(b);
        }
        for (b, _) in blocks {
            st.journaled.insert(*b, tid);
        }
        Ok(true)
    }

    /// Makes room in the log for a transaction of at most `blocks` logged
    /// blocks and `revokes` revoke records, and keeps the dirty set
    /// bounded, by durable commits (commit lock held).
    pub(crate) fn journal_make_room(&self, blocks: usize, revokes: usize) -> Result<()> {
        let Some(j) = self.journal.as_ref().filter(|j| j.st.lock().running) else {
            return Ok(());
        };
        let n = j.blocks_needed(blocks, revokes);
        if n >= j.ring() / 2 {
            tracing::error!(
                "a transaction of {n} journal blocks does not fit a journal of {} blocks",
                j.ring()
            );
            return Err(FsError::TooBig);
        }
        for _ in 0..2 {
            let used = j.st.lock().used;
            if used + n < j.ring() * 3 / 4 && self.cache.dirty_count() < MAX_DIRTY {
                return Ok(());
            }
            self.journal_durable()?;
        }
        if j.st.lock().used + n >= j.ring() {
            return Err(FsError::TooBig);
        }
        Ok(())
    }

    /// A durable commit (commit lock held): see the module comment.
    pub(crate) fn journal_durable(&self) -> Result<()> {
        let Some(j) = &self.journal else {
            return Ok(self.image.sync()?);
        };
        self.image.sync()?;
        let mut st = j.st.lock();
        if !st.running {
            return Ok(());
        }
        let layout = *j.layout.lock();
        let (tail, tail_tid) = match st.batch.take() {
            Some((pos, tid)) => {
                j.write_log(self, pos, &[build_bridge(&layout, tid)])?;
                (pos, tid)
            }
            None => (st.head, st.next_tid),
        };
        j.set_log_start(self, &mut st, tail, tail_tid)?;
        self.image.sync()?;
        st.tail = tail;
        st.used = (st.head + j.ring() - tail) % j.ring();
        st.journaled
            .retain(|_, t| crate::jbd2::tid_geq(*t, tail_tid));
        let freed = std::mem::take(&mut st.freed);
        st.last_durable = Instant::now();
        drop(st);
        self.checkpoint()?;
        for (g, bit) in freed {
            self.alloc_state[g as usize].lock().freed.remove(&bit);
        }
        Ok(())
    }

    /// Writes every dirty block in place (their transactions are durable).
    fn checkpoint(&self) -> Result<()> {
        let dirty = self.cache.dirty_blocks();
        let bs = self.sb.block_size() as u64;
        let mut i = 0;
        let mut crash_at = dirty.len() / 2;
        while i < dirty.len() {
            if i >= crash_at {
                crate::crashpoint::hit("mid-checkpoint");
                crash_at = usize::MAX;
            }
            let mut e = i + 1;
            while e < dirty.len() && dirty[e].0 == dirty[e - 1].0 + 1 && e - i < 256 {
                e += 1;
            }
            let run: Vec<u8> = dirty[i..e]
                .iter()
                .flat_map(|(_, d)| d.iter().copied())
                .collect();
            self.image.write_all_at(dirty[i].0 * bs, &run)?;
            i = e;
        }
        for (b, d) in &dirty {
            self.cache.clean(*b, d);
        }
        Ok(())
    }

    /// Blocks freed by a committed transaction: reusable after the next
    /// durable commit (group locks of their groups held by the caller).
    pub(crate) fn journal_note_freed(&self, g: u32, bit: u32) {
        if let Some(j) = &self.journal {
            j.st.lock().freed.push((g, bit));
        }
    }

    /// Whether blocks freed since the last durable commit wait for it.
    pub(crate) fn journal_has_freed(&self) -> bool {
        self.journal
            .as_ref()
            .is_some_and(|j| !j.st.lock().freed.is_empty())
    }

    /// A durable commit, taking the commit lock (fsync, syncfs, a full
    /// journal, ENOSPC while freed blocks wait).
    pub(crate) fn durable_commit(&self) -> Result<()> {
        let _commit = self.commit_lock.lock();
        self.journal_durable()
    }

    /// Runs a durable commit if one is due (`commit=` seconds since the
    /// last and something is pending). Returns false once the journal has
    /// stopped (the caller's timer can end).
    pub fn commit_due(&self) -> bool {
        let Some(j) = &self.journal else {
            return false;
        };
        // Held atime updates go with the periodic commit, as they would
        // with ext4's (not with lazytime).
        let (elapsed, running) = {
            let st = j.st.lock();
            (st.last_durable.elapsed() >= *j.interval.lock(), st.running)
        };
        if elapsed
            && running
            && let Err(e) = self.flush_atimes_for(None)
        {
            tracing::error!("writing access times: {e}");
        }
        let (due, running) = {
            let st = j.st.lock();
            let pending = st.batch.is_some() || !st.freed.is_empty();
            (
                pending && st.last_durable.elapsed() >= *j.interval.lock(),
                st.running,
            )
        };
        if due
            && running
            && let Err(e) = self.durable_commit()
        {
            tracing::error!("periodic journal commit: {e}");
        }
        running
    }

    /// Sets the `commit=` interval (0: the default, as the kernel).
    pub fn set_commit_interval(&self, d: Duration) {
        if let Some(j) = &self.journal {
            *j.interval.lock() = if d.is_zero() {
                DEFAULT_COMMIT_INTERVAL
            } else {
                d
            };
        }
    }

    /// Whether transactions are being logged (between mount and unmount).
    pub(crate) fn journal_running(&self) -> bool {
        self.journal.as_ref().is_some_and(|j| j.st.lock().running)
    }

    /// Whether changes go through a journal.
    pub fn journaled(&self) -> bool {
        self.journal.is_some()
    }

    /// Stops journalling at a clean unmount: everything durable and in
    /// place, the log marked empty (`s_start` 0).
    pub(crate) fn journal_stop(&self) -> Result<()> {
        let Some(j) = &self.journal else {
            return Ok(());
        };
        let _commit = self.commit_lock.lock();
        if !j.st.lock().running {
            return Ok(());
        }
        // The first makes everything visible and writes it in place; the
        // second makes the in-place writes durable and empties the log.
        self.journal_durable()?;
        self.journal_durable()?;
        let mut st = j.st.lock();
        let next = st.next_tid;
        j.set_log_start(self, &mut st, 0, next)?;
        self.image.sync()?;
        st.running = false;
        Ok(())
    }
}

/// Spawns the thread running [`Fs::commit_due`] four times a second until
/// the journal stops or the owner of the filesystem is dropped.
pub fn spawn_commit_timer<T: Send + Sync + 'static>(owner: Weak<T>, fs_of: fn(&T) -> &Fs) {
    let spawned = std::thread::Builder::new()
        .name("fuse4fs-commit".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(250));
                let Some(o) = owner.upgrade() else { return };
                if !fs_of(&o).commit_due() {
                    return;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the journal commit timer: {e}");
    }
}
