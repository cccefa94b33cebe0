//! The journal writer: every change goes to the log before any of its
//! blocks is written in place (see docs/journal.md).
//!
//! - Commit (before the operation's reply): one record of the redo stream
//!   (the byte ranges the operation changed, `jbd2::redo`), behind the
//!   pending marker the first operation after a durable commit writes;
//!   plain writes, no flush. The blocks become dirty in the cache; nothing
//!   is written in place yet.
//! - Durable commit ([`Fs::sync`], every `commit=` seconds, when the log or
//!   the dirty set is full, at unmount): one jbd2 transaction holding every
//!   dirty block, after the stream; flush; point the journal superblock at
//!   it (which moves the tail past what the previous checkpoint wrote, now
//!   durable); flush; then write the dirty blocks in place (the
//!   checkpoint, durable at the next flush) — unless at most
//!   [`DEFER_CHECKPOINT_MAX`] are dirty and the last checkpoint is younger
//!   than `commit=`: then they stay dirty, and every later transaction
//!   logs them again until a checkpoint writes them (the periodic thread,
//!   a full log, unmount). Nothing logged or freed since the last: one
//!   flush (docs/journal.md says why two otherwise).
//! - fsync and friends ([`Fs::sync_commit`]): a group commit; an fsync
//!   whose records a commit done or under way covers waits for it rather
//!   than committing again.
//! - Blocks freed by a transaction are not reused until it is durable: a
//!   crash could otherwise bring back the old owner with a new owner's
//!   data in it.
//!
//! Lock order: the commit lock → group locks → the journal state (never
//! held while taking a group lock) → the commit progress.

use crate::ext4::CorruptKind;
use std::sync::Weak;
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::{Condvar, Mutex};

use crate::ext4::superblock::incompat;
use crate::ext4::{BlockNo, InodeNo};
use crate::fs::extent::map::Backing;
use crate::fs::io::image::SharedMap;
use crate::fs::{Fs, FsError, Result, error};
use crate::jbd2::block::{
    Layout, Tag, build_commit, build_descriptor, escape, tags_per_descriptor,
};
use crate::jbd2::pending::build_pending;
use crate::jbd2::redo::{
    Patch, STREAM_HEADER_SIZE, build_record, push_changed_ranges, stream_header,
};
use crate::jbd2::superblock::JSB_SIZE;
use crate::jbd2::{JournalSuperblock, feature};

/// Dirty blocks that force a durable commit (bounds memory: 64 MiB at 4K).
const MAX_DIRTY: usize = 16384;
/// Dirty blocks a durable commit may leave out of place, logged again by
/// each later commit until a checkpoint writes them: an fsync-heavy
/// writer dirties the same few blocks (block bitmap, group descriptors,
/// inode table block) commit after commit, and writing them in place at
/// every fsync cost three writes per call. Bounds what each commit logs
/// again.
pub const DEFER_CHECKPOINT_MAX: usize = 32;
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
    /// Redo records logged since the journal was loaded (an fsync that
    /// saw n waits until a durable commit covers the first n).
    logged: AtomicU64,
    /// `logged` after the last record that changed more than one inode's
    /// timestamps: what an fdatasync waits for.
    datasync: AtomicU64,
    /// Durable commits done and under way, for group commit; apart from
    /// `st`, which a commit holds through its flushes.
    progress: Mutex<Progress>,
    /// Signalled when a commit under way ends.
    progress_done: Condvar,
    /// Set when a durable commit failed (jbd2's journal abort): what it
    /// was to make durable may never be, so every later sync fails and
    /// every later change is refused until unmount.
    aborted: AtomicBool,
}

/// How far durable commits have got, in redo records (see
/// [`Journal::logged`]).
#[derive(Default)]
struct Progress {
    /// The first `durable` records are in a durable commit.
    durable: u64,
    /// A commit under way will cover the first this many.
    committing: Option<u64>,
}

/// Ends a commit's entry in [`Progress`] however the commit ends, waking
/// the fsyncs waiting for it (they retry on their own if it failed).
struct Committing<'a>(&'a Journal);

impl Committing<'_> {
    fn start(j: &Journal, covers: u64) -> Committing<'_> {
        j.progress.lock().committing = Some(covers);
        Committing(j)
    }

    /// The commit is durable: its records are.
    fn done(self) {
        let mut p = self.0.progress.lock();
        if let Some(c) = p.committing {
            p.durable = p.durable.max(c);
        }
    }
}

impl Drop for Committing<'_> {
    fn drop(&mut self) {
        self.0.progress.lock().committing = None;
        self.0.progress_done.notify_all();
    }
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
    /// Operations logged since the last durable commit: the position of
    /// their pending marker and the id of the first.
    batch: Option<(u32, u32)>,
    /// The redo stream after that marker: the log block being filled and
    /// the bytes used in it (0: not begun; it begins with its header).
    stream_block: u32,
    stream_fill: usize,
    /// Bytes written to the log since the journal was loaded.
    written: u64,
    /// Blocks freed since the last durable commit: (group, bit).
    freed: Vec<(u32, u32)>,
    last_durable: Instant,
    /// When a checkpoint last wrote every dirty block in place.
    last_checkpoint: Instant,
    /// Between start and stop.
    running: bool,
    /// The log's runs mapped MAP_SHARED (empty where the host cannot map
    /// them safely, see [`crate::fs::io::image::Image::map_shared`]): a
    /// record's pieces that continue a log block go through them, no
    /// system call (a log block's first piece is still a pwrite of the
    /// whole block, which puts the page in the host's cache).
    maps: Vec<SharedMap>,
}

/// The log's fill, as [`Fs::journal_fill`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalFill {
    /// Log blocks in use from the tail to the head.
    pub used_blocks: u32,
    /// Log blocks in the ring (the journal less its superblock).
    pub log_blocks: u32,
    /// Since the last durable commit (or since the journal was loaded).
    pub since_durable: Duration,
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
        return Err(error::corrupted(CorruptKind::JournalTooLarge));
    }
    let mut extents = Vec::new();
    let mut l = 0u64;
    while l < nblocks {
        let m = fs.map_block(&inode, l)?;
        let Backing::Data(p) = m.backing else {
            return Err(error::corrupted(CorruptKind::JournalHole { lblk: l }));
        };
        let len = m.len.min(nblocks - l).max(1);
        fs.check_range(p, len, crate::ext4::RangeUse::JournalInode)?;
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
            return Err(error::corrupted(CorruptKind::JournalEmpty));
        };
        let raw = fs.block(BlockNo(p0))?;
        let jsb = JournalSuperblock::parse(&raw)?;
        if jsb.block_size as u64 != bs || jsb.maxlen as u64 > nblocks {
            return Err(error::corrupted(CorruptKind::JournalGeometry {
                block_size: jsb.block_size,
                maxlen: jsb.maxlen,
                blocks: nblocks,
                fs_block_size: bs,
            }));
        }
        if jsb.start != 0 {
            return Err(error::corrupted(CorruptKind::JournalNotReplayed));
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
            logged: AtomicU64::new(0),
            datasync: AtomicU64::new(0),
            progress: Mutex::new(Progress::default()),
            progress_done: Condvar::new(),
            aborted: AtomicBool::new(false),
            st: Mutex::new(State {
                head: jsb.first,
                tail: jsb.first,
                next_tid,
                used: 0,
                stream_block: jsb.first,
                stream_fill: 0,
                written: 0,
                jsb,
                batch: None,
                freed: Vec::new(),
                last_durable: Instant::now(),
                last_checkpoint: Instant::now(),
                running: false,
                maps: Vec::new(),
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
                fs.image.write_logged_at(run_start * bs, &run)?;
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
            fs.image.write_logged_at(run_start * bs, &run)?;
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

    /// Log blocks of a jbd2 transaction logging `blocks` blocks.
    fn transaction_blocks(&self, blocks: usize) -> u32 {
        let layout = *self.layout.lock();
        let per = tags_per_descriptor(&layout).max(1);
        (blocks.div_ceil(per) + blocks + 1) as u32
    }

    /// EIO once the journal is aborted.
    fn refuse_if_aborted(&self) -> Result<()> {
        if self.aborted.load(Ordering::SeqCst) {
            return Err(FsError::Io(std::io::Error::from_raw_os_error(libc::EIO)));
        }
        Ok(())
    }

    /// The most log blocks one redo record for `blocks` changed blocks
    /// can take (the marker included). A block's patches never take more
    /// than its size plus 16 bytes: ranges closer than a range header (4
    /// bytes) merge, so every range header is paid for by at least as
    /// many unchanged bytes left out; then the block header.
    fn record_blocks(&self, blocks: usize) -> u32 {
        let bytes = 16 + blocks * (self.block_size + 16);
        (bytes.div_ceil(self.block_size - STREAM_HEADER_SIZE) + 2) as u32
    }

    /// The first log block after the stream (where the durable commit's
    /// transaction goes).
    fn stream_end(&self, st: &State) -> u32 {
        if st.stream_fill > 0 {
            self.advance(st.stream_block, 1)
        } else {
            st.stream_block
        }
    }

    /// Writes a piece of the stream at byte `off` of the image: one that
    /// begins a log block with a pwrite of the whole block; one that
    /// continues a block (whose page the first piece's write put in the
    /// host's cache) through the log's mapping when there is one.
    fn write_stream(&self, fs: &Fs, st: &State, off: u64, bytes: &[u8]) -> Result<()> {
        if !off.is_multiple_of(self.block_size as u64)
            && let Some(map) = st.maps.iter().find(|m| m.covers(off, bytes.len()))
        {
            fs.image.write_mapped(map, off, bytes)?;
        } else {
            fs.image.write_logged_at(off, bytes)?;
        }
        Ok(())
    }

    /// Appends `rec` to the stream (`st.batch` open): one write per log
    /// block touched (with crash points, the last in two, so that a test
    /// can crash between them: a torn record, never replayed). `marker`:
    /// the stream's pending marker (its byte offset and block), written
    /// first, in the same write as the record's first block where that
    /// follows it on disk.
    fn append_record(
        &self,
        fs: &Fs,
        st: &mut State,
        rec: &[u8],
        marker: Option<(u64, Vec<u8>)>,
    ) -> Result<()> {
        let bs = self.block_size;
        let Some((_, stream)) = st.batch else {
            return Err(FsError::Invalid);
        };
        // (where, bytes, how many of them are the stream's)
        let mut pieces: Vec<(u64, Vec<u8>, usize)> = Vec::new();
        let mut rest = rec;
        while !rest.is_empty() {
            if st.stream_fill == bs {
                st.stream_block = self.advance(st.stream_block, 1);
                st.stream_fill = 0;
            }
            let mut piece = Vec::new();
            let at = st.stream_fill;
            if st.stream_fill == 0 {
                piece.extend_from_slice(&stream_header(stream));
                st.stream_fill = STREAM_HEADER_SIZE;
            }
            let n = (bs - st.stream_fill).min(rest.len());
            piece.extend_from_slice(&rest[..n]);
            st.stream_fill += n;
            rest = &rest[n..];
            let meant = piece.len();
            st.written += meant as u64;
            if at == 0 {
                // A block's first piece is written whole, zeros after the
                // record (they end the stream as torn bytes would): a
                // write of a whole page needs no read of the old one,
                // where a partial write to an uncached page makes the
                // host read it from disk first, a synchronous disk read
                // per log block on a cold cache.
                piece.resize(bs, 0);
            }
            pieces.push((
                self.phys(st.stream_block) * bs as u64 + at as u64,
                piece,
                meant,
            ));
        }
        let last = pieces.len() - 1;
        if let Some((at, mut block)) = marker {
            let joined = at + block.len() as u64 == pieces[0].0;
            if joined && (last > 0 || !crate::crashpoint::ENABLED) {
                let (off, piece, _) = pieces.remove(0);
                block.extend_from_slice(&piece);
                pieces.insert(0, (at, block, 0));
                debug_assert!(off == at + bs as u64);
            } else {
                fs.image.write_logged_at(at, &block)?;
            }
        }
        let last = pieces.len() - 1;
        for (i, (off, piece, meant)) in pieces.iter().enumerate() {
            if i < last || !crate::crashpoint::ENABLED {
                self.write_stream(fs, st, *off, piece)?;
            } else {
                let half = meant / 2;
                self.write_stream(fs, st, *off, &piece[..half])?;
                crate::crashpoint::hit("mid-log");
                self.write_stream(fs, st, off + half as u64, &piece[half..])?;
            }
        }
        Ok(())
    }
}

/// One block a commit logs: its new image, the window where it may
/// differ from its committed version (every byte outside is equal), and
/// that version when the transaction kept it (else the log reads it from
/// the cache).
pub(crate) struct LoggedBlock {
    pub block: u64,
    pub bytes: crate::fs::io::cache::Block,
    pub window: std::ops::Range<usize>,
    pub base: Option<crate::fs::io::cache::Block>,
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
        if st.maps.is_empty() {
            let bs = j.block_size as u64;
            for &(_, p, len) in &j.extents {
                match self.image.map_shared(p * bs, len as u64 * bs)? {
                    Some(m) => st.maps.push(m),
                    None => {
                        st.maps.clear();
                        break;
                    }
                }
            }
        }
        // The layout follows the features now on disk.
        *j.layout.lock() = Layout::of(&jsb);
        st.jsb = jsb;
        st.head = j.first;
        st.tail = j.first;
        st.used = 0;
        st.running = true;
        st.last_durable = Instant::now();
        st.last_checkpoint = Instant::now();
        Ok(())
    }

    /// Logs one operation's changes (commit lock held): `blocks` are the
    /// new images of the blocks it changed, compared with their committed
    /// images (the cache's, not yet replaced) into one redo record; each
    /// differs from its committed image only inside its range (the rest
    /// is not compared).
    /// Blocks it freed need no revoke records: only the durable commit's
    /// transaction is ever replayed by others, and it never holds a freed
    /// block.
    pub(crate) fn journal_log(&self, blocks: &[LoggedBlock]) -> Result<bool> {
        let Some(j) = &self.journal else {
            return Ok(false);
        };
        j.refuse_if_aborted()?;
        let mut st = j.st.lock();
        if !st.running {
            return Ok(false);
        }
        // Every block's changed ranges in one vector (a handful per block),
        // then the patches over them: two allocations per record, where a
        // vector per block and a growing patch list cost a create 2.6k
        // instructions.
        let mut ranges: Vec<(usize, usize)> = Vec::with_capacity(8 * blocks.len());
        let mut ends = Vec::with_capacity(blocks.len());
        for lb in blocks {
            let fetched;
            let old: &[u8] = match &lb.base {
                Some(base) => {
                    debug_assert!(
                        self.block(BlockNo(lb.block))
                            .is_ok_and(|now| now[..] == base[..]),
                        "block {} changed since the transaction copied it",
                        lb.block
                    );
                    base
                }
                None => {
                    fetched = self.block(BlockNo(lb.block))?;
                    &fetched
                }
            };
            let new = &lb.bytes;
            let r = lb.window.start.min(new.len())..lb.window.end.min(new.len());
            debug_assert!(
                old[..r.start] == new[..r.start] && old[r.end..] == new[r.end..],
                "block {} changed outside {r:?}",
                lb.block
            );
            push_changed_ranges(&old[r.clone()], &new[r.clone()], r.start, &mut ranges);
            ends.push(ranges.len());
        }
        let mut patches = Vec::with_capacity(ranges.len());
        let mut from = 0;
        for (lb, &end) in blocks.iter().zip(&ends) {
            patches.extend(ranges[from..end].iter().map(|&(s, e)| Patch {
                block: lb.block,
                offset: s,
                bytes: &lb.bytes[s..e],
            }));
            from = end;
        }
        let tid = st.next_tid;
        // Counted before it is written: an fsync that sees it waits for
        // the commit that covers it even if the write fails half-way.
        j.logged.fetch_add(1, Ordering::SeqCst);
        let rec = build_record(tid, &patches);
        // journal_make_room ran under the same commit lock: only a record
        // larger than its estimate could end up here.
        let need = j.record_blocks(blocks.len()) + j.transaction_blocks(self.cache.dirty_count());
        if st.used + need >= j.ring() {
            return Err(FsError::TooBig);
        }
        self.observe_commit(Some(tid));
        let written = {
            let mut marker = None;
            if st.batch.is_none() {
                let layout = *j.layout.lock();
                let at = st.head;
                let block = build_pending(&layout, tid, &j.boot_id);
                marker = Some((j.phys(at) * j.block_size as u64, block));
                st.written += j.block_size as u64;
                st.batch = Some((at, tid));
                st.stream_block = j.advance(at, 1);
                st.stream_fill = 0;
            }
            j.append_record(self, &mut st, &rec, marker)
        };
        if let Err(e) = written {
            // The id was announced to the observer: never give it to
            // another operation. The stream cannot go on past a record
            // that may be half written: the next durable commit (which
            // logs every dirty block anew) ends it.
            st.next_tid = tid.wrapping_add(1);
            return Err(e);
        }
        crate::crashpoint::hit("after-commit");
        st.next_tid = tid.wrapping_add(1);
        let end = j.stream_end(&st);
        st.used = (end + j.ring() - st.tail) % j.ring();
        Ok(true)
    }

    /// Makes room in the log for one more operation changing at most
    /// `blocks` blocks (and, at the next durable commit, for the
    /// transaction logging every dirty block), and keeps the dirty set
    /// bounded, by durable commits (commit lock held).
    pub(crate) fn journal_make_room(&self, blocks: usize) -> Result<()> {
        let Some(j) = self.journal.as_ref().filter(|j| j.st.lock().running) else {
            return Ok(());
        };
        let own = j.record_blocks(blocks) + j.transaction_blocks(blocks);
        if own >= j.ring() / 2 {
            tracing::error!(
                "an operation of {blocks} blocks does not fit a journal of {} blocks",
                j.ring()
            );
            return Err(FsError::TooBig);
        }
        for _ in 0..2 {
            let used = j.st.lock().used;
            let dirty = self.cache.dirty_count();
            let need = own + j.transaction_blocks(dirty);
            if used + need < j.ring() * 3 / 4 && dirty < MAX_DIRTY {
                return Ok(());
            }
            self.journal_commit(true)?;
        }
        let need = own + j.transaction_blocks(self.cache.dirty_count());
        if j.st.lock().used + need >= j.ring() {
            return Err(FsError::TooBig);
        }
        Ok(())
    }

    /// A durable commit (commit lock held): see the module comment.
    pub(crate) fn journal_durable(&self) -> Result<()> {
        self.journal_commit(false)
    }

    /// A durable commit; `free_log`: even with nothing to commit, move the
    /// log's start past the last transaction, and write every dirty block
    /// in place (to make room in the log; at unmount, at shutdown).
    /// A failure aborts the journal (as jbd2 aborts on a failed commit or
    /// checkpoint): the image may hold part of the transaction, and the
    /// host may have dropped writes a failed flush did not make durable.
    pub(crate) fn journal_commit(&self, free_log: bool) -> Result<()> {
        let Some(j) = &self.journal else {
            return Ok(self.image.sync()?);
        };
        j.refuse_if_aborted()?;
        let done = self.journal_commit_in(j, free_log);
        if let Err(e) = &done {
            tracing::error!("journal commit failed, journal aborted: {e}");
            j.aborted.store(true, Ordering::SeqCst);
        }
        done
    }

    fn journal_commit_in(&self, j: &Journal, free_log: bool) -> Result<()> {
        let mut st = j.st.lock();
        if !st.running {
            return Ok(());
        }
        if st.batch.is_none() && st.freed.is_empty() && !free_log {
            // Nothing logged or freed since the last durable commit: its
            // transaction stays the log's start (replaying it again is
            // harmless: none of its blocks was freed since), and one
            // flush makes file data and its checkpoint durable.
            self.image.sync()?;
            st.last_durable = Instant::now();
            return Ok(());
        }
        // Every record logged so far is in the transaction built below
        // (records are logged under the commit lock this caller holds).
        let covers = j.logged.load(Ordering::SeqCst);
        let committing = Committing::start(j, covers);
        // Blocks a deferred checkpoint left out of place are logged again:
        // the start moves past the transaction that held them.
        let logged = st.batch.take().is_some();
        let (tail, tail_tid) = if logged || self.cache.dirty_count() > 0 {
            // One transaction with every block not in place (changed since
            // the last checkpoint), where the stream ends.
            let layout = *j.layout.lock();
            let tid = st.next_tid;
            st.next_tid = tid.wrapping_add(1);
            let at = j.stream_end(&st);
            let dirty = self.cache.dirty_blocks();
            let out = build_transaction(&layout, tid, &dirty);
            // In two writes only where a test can crash between them.
            let half = if crate::crashpoint::ENABLED {
                out.len() / 2
            } else {
                out.len()
            };
            j.write_log(self, at, &out[..half])?;
            crate::crashpoint::hit("mid-log");
            if half < out.len() {
                j.write_log(self, j.advance(at, half as u32), &out[half..])?;
            }
            st.written += (out.len() * j.block_size) as u64;
            st.head = j.advance(at, out.len() as u32);
            st.stream_block = st.head;
            st.stream_fill = 0;
            (at, tid)
        } else {
            (st.head, st.next_tid)
        };
        // The transaction and the data it covers are durable before the
        // superblock names it; so is the previous checkpoint, before the
        // tail leaves the transaction it wrote.
        self.image.sync()?;
        j.set_log_start(self, &mut st, tail, tail_tid)?;
        // The new start is durable before the caller's fsync returns: from
        // the old one, every machine-crash replay stops at the pending
        // marker before this transaction (docs/journal.md).
        self.image.sync()?;
        st.tail = tail;
        st.used = (st.head + j.ring() - tail) % j.ring();
        committing.done();
        let freed = std::mem::take(&mut st.freed);
        st.last_durable = Instant::now();
        // The checkpoint waits while few blocks are dirty and the last is
        // recent: the transaction the log starts at holds every block not
        // in place, so any replay still rebuilds them.
        let checkpoint = free_log
            || self.cache.dirty_count() > DEFER_CHECKPOINT_MAX
            || st.last_checkpoint.elapsed() >= *j.interval.lock()
            || crate::crashpoint::armed("mid-checkpoint");
        if checkpoint {
            st.last_checkpoint = Instant::now();
        }
        drop(st);
        if checkpoint {
            self.checkpoint()?;
        }
        // Punched while still out of the allocator's reach.
        self.discard_freed(&freed);
        for (g, bit) in freed {
            let mut state = self.alloc_state[g as usize].lock();
            state.freed.remove(&bit);
            state.trimmed = false;
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
            // A lone block goes out as it is; a run is joined a block at
            // a time (a byte-wise copy showed in profiles of fsync loops).
            if e == i + 1 {
                self.image.write_logged_at(dirty[i].0 * bs, &dirty[i].1)?;
            } else {
                let mut run = Vec::with_capacity((e - i) * bs as usize);
                for (_, d) in &dirty[i..e] {
                    run.extend_from_slice(d);
                }
                self.image.write_logged_at(dirty[i].0 * bs, &run)?;
            }
            i = e;
        }
        for (b, d) in &dirty {
            self.cache.clean(*b, d);
        }
        Ok(())
    }

    /// The record just logged (commit lock held) changed more than one
    /// inode's timestamps: an fdatasync from now on waits for its commit.
    pub(crate) fn journal_note_datasync(&self) {
        if let Some(j) = &self.journal {
            j.datasync
                .fetch_max(j.logged.load(Ordering::SeqCst), Ordering::SeqCst);
        }
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

    /// A durable commit, taking the commit lock (ENOSPC while freed
    /// blocks wait: it must release them even if nothing new was logged).
    pub(crate) fn durable_commit(&self) -> Result<()> {
        let _commit = self.commit_lock.lock();
        self.journal_durable()
    }

    /// Makes every change answered so far durable, for an fsync, syncfs
    /// or a `sync` mount: a group commit, as jbd2's fsync waits for the
    /// commit of its transaction rather than starting one per caller.
    /// The caller's changes are marked on arrival (redo records logged,
    /// image writes issued outside the log). Covered by a commit done or
    /// under way (another fsync's): it waits for that one and makes none
    /// of its own; otherwise it commits, unless the committer it queued
    /// behind on the commit lock covered it. Then a flush only if none
    /// began after its writes outside the log (file data written since
    /// that commit began).
    pub(crate) fn sync_commit(&self, datasync: bool) -> Result<()> {
        let written = self.image.write_mark();
        if let Some(j) = &self.journal {
            // After an abort nothing more becomes durable, even what an
            // earlier commit covered: ext4's fsync is EIO from then on.
            j.refuse_if_aborted()?;
            let n = if datasync {
                j.datasync.load(Ordering::SeqCst)
            } else {
                j.logged.load(Ordering::SeqCst)
            };
            let covered = {
                let mut p = j.progress.lock();
                // A commit under way that covers them: wait for it (not
                // for the commit lock, which the next committer may take
                // first and hold through its own flushes).
                while p.durable < n && p.committing.is_some_and(|c| c >= n) {
                    j.progress_done.wait(&mut p);
                }
                p.durable >= n
            };
            if !covered {
                let _commit = self.commit_lock.lock();
                // The last committer may have covered them meanwhile.
                if j.progress.lock().durable < n {
                    self.journal_durable()?;
                }
            }
        }
        // Their data: flushed by the commit that covered them, unless
        // written after it began.
        Ok(self.image.sync_since(written)?)
    }

    /// Runs a durable commit if one is due (`commit=` seconds since the
    /// last and something is pending). Returns false once the journal has
    /// stopped (the caller's timer can end).
    pub fn commit_due(&self) -> bool {
        let Some(j) = &self.journal else {
            return false;
        };
        if self.is_shut_down() || j.aborted.load(Ordering::SeqCst) {
            return false;
        }
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
        let (due, checkpoint, running) = {
            let st = j.st.lock();
            let interval = *j.interval.lock();
            let pending = st.batch.is_some() || !st.freed.is_empty();
            (
                pending && st.last_durable.elapsed() >= interval,
                self.cache.dirty_count() > 0 && st.last_checkpoint.elapsed() >= interval,
                st.running,
            )
        };
        if (due || checkpoint) && running {
            // A deferred checkpoint goes with a periodic commit (which logs
            // the blocks again, then writes them in place).
            let _commit = self.commit_lock.lock();
            if let Err(e) = self.journal_commit(checkpoint) {
                tracing::error!("periodic journal commit: {e}");
            }
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

    /// Whether a failed durable commit aborted the journal: changes are
    /// refused (EROFS) and syncs fail (EIO) until unmount.
    pub fn journal_aborted(&self) -> bool {
        self.journal
            .as_ref()
            .is_some_and(|j| j.aborted.load(Ordering::SeqCst))
    }

    /// Bytes written to the log (markers, redo records, durable commits'
    /// transactions) since the mount; 0 without a journal.
    pub fn journal_bytes(&self) -> u64 {
        self.journal.as_ref().map_or(0, |j| j.st.lock().written)
    }

    /// How full the log is and how long ago the last durable commit was
    /// (None without a journal), for `fuse4fs --status`.
    pub fn journal_fill(&self) -> Option<JournalFill> {
        let j = self.journal.as_ref()?;
        let st = j.st.lock();
        Some(JournalFill {
            used_blocks: st.used,
            log_blocks: j.ring(),
            since_durable: st.last_durable.elapsed(),
        })
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
        self.journal_commit(true)?;
        self.journal_commit(true)?;
        let mut st = j.st.lock();
        let next = st.next_tid;
        j.set_log_start(self, &mut st, 0, next)?;
        self.image.sync()?;
        st.running = false;
        Ok(())
    }
}

/// The log blocks of jbd2 transaction `tid` logging `blocks` (block
/// number, image): descriptors with their escaped copies, then the commit
/// block.
fn build_transaction(
    layout: &Layout,
    tid: u32,
    blocks: &[(u64, crate::fs::io::cache::Block)],
) -> Vec<Vec<u8>> {
    let per = tags_per_descriptor(layout).max(1);
    let mut out = Vec::with_capacity(blocks.len() + blocks.len().div_ceil(per) + 1);
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
        out.push(build_descriptor(layout, tid, &tags));
        out.extend(copies.into_iter().map(|(c, _)| c));
    }
    let now = crate::fs::create::now();
    out.push(build_commit(layout, tid, now.sec.max(0) as u64, now.nsec));
    out
}

/// Spawns the thread running [`Fs::commit_due`] four times a second until
/// the journal stops or the owner of the filesystem is dropped.
pub fn spawn_commit_timer<T: Send + Sync + 'static>(owner: Weak<T>, fs_of: fn(&T) -> &Fs) {
    spawn_periodic(
        "fuse4fs-commit",
        Duration::from_millis(250),
        owner,
        move |o| fs_of(o).commit_due(),
    );
}

/// Spawns a thread named `name` calling `tick` on the owner every
/// `period` until `tick` returns false or the owner is dropped (the
/// commit timer, the MMP updates).
pub fn spawn_periodic<T: Send + Sync + 'static>(
    name: &str,
    period: Duration,
    owner: Weak<T>,
    tick: impl Fn(&T) -> bool + Send + 'static,
) {
    let spawned = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            loop {
                std::thread::sleep(period);
                let Some(o) = owner.upgrade() else { return };
                if !tick(&o) {
                    return;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start {name}: {e}");
    }
}
