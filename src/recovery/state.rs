//! The server's state in a memfd that outlives the server (it is kept in
//! the fd store with the /dev/fuse fd).
//!
//! Layout: a header page (magic, version, incarnation, the active-region
//! word), the static part (what the mount is: INIT parameters, image,
//! mount point, options; written once), then two regions of records. The
//! active region holds a snapshot followed by the records appended since;
//! a compaction writes a new snapshot into the other region and flips the
//! active word, one atomic store. A record counts once the active word's
//! length covers it, so a server killed in the middle of an append leaves
//! the state as it was before that append.

use std::ffi::OsString;
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::MmapMut;
use parking_lot::Mutex;
use thiserror::Error;

use crate::fuse::ids::{NodeId, RequestId};

const MAGIC: &[u8; 8] = b"F4FSSTAT";
const VERSION: u32 = 2;
/// Header and static part.
const STATIC_END: usize = 64 << 10;
const STATIC_START: usize = 64;
/// The history of the mount (its start, its recoveries), in the last page
/// of the static part; the static info ends before it. A file from before
/// it has zeros there: no recorded start, no recovery.
const HISTORY: usize = STATIC_END - 4096;
const OFF_MOUNTED: usize = HISTORY;
const OFF_RECOVERIES: usize = HISTORY + 8;
/// Two slots for the last recovery's summary: recovery number k fills slot
/// k % 2, then publishes k, so a server killed while filling it leaves the
/// previous summary whole.
const OFF_SLOTS: usize = HISTORY + 64;
const SLOT: usize = 256;
/// Each record region; memfd pages cost memory only once written.
pub const REGION: usize = 64 << 20;
const FILE_SIZE: usize = STATIC_END + 2 * REGION;
const OFF_VERSION: usize = 8;
const OFF_STATIC_LEN: usize = 12;
const OFF_INCARNATION: usize = 16;
const OFF_ACTIVE: usize = 24;
const OFF_POISONED: usize = 32;
const REGION_BIT: u64 = 1 << 63;

/// Why a state file cannot be used.
#[derive(Debug, Error)]
pub enum StateError {
    #[error("state memfd: {0}")]
    Io(#[from] std::io::Error),
    #[error("state memfd: not a fuse4fs state file")]
    BadMagic,
    #[error("state memfd: version {0}, this fuse4fs reads {VERSION}")]
    Version(u32),
    #[error("state memfd: damaged ({0})")]
    Damaged(&'static str),
    #[error("state memfd: full")]
    Full,
    #[error("state memfd: its server stopped keeping it (it was full): nothing to recover from")]
    Poisoned,
}

/// What the mount is, fixed for its lifetime.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StaticInfo {
    /// The INIT parameters (`Negotiated::to_bytes`).
    pub negotiated: Vec<u8>,
    /// The image as given (absolute).
    pub image: PathBuf,
    pub image_dev: u64,
    pub image_ino: u64,
    /// The ext4 UUID.
    pub uuid: [u8; 16],
    /// The mount point (absolute).
    pub mountpoint: PathBuf,
    /// The `-o` arguments, as given.
    pub options: Vec<String>,
}

impl StaticInfo {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut field = |b: &[u8]| {
            out.extend_from_slice(&(b.len() as u32).to_le_bytes());
            out.extend_from_slice(b);
        };
        field(&self.negotiated);
        field(self.image.as_os_str().as_bytes());
        field(&self.image_dev.to_le_bytes());
        field(&self.image_ino.to_le_bytes());
        field(&self.uuid);
        field(self.mountpoint.as_os_str().as_bytes());
        field(self.options.join("\n").as_bytes());
        out
    }

    fn decode(mut b: &[u8]) -> Result<StaticInfo, StateError> {
        let mut field = || -> Result<Vec<u8>, StateError> {
            let len = take(&mut b, 4).map(|l| u32::from_le_bytes(l.try_into().unwrap()))?;
            Ok(take(&mut b, len as usize)?.to_vec())
        };
        let u64_of = |v: Vec<u8>| -> Result<u64, StateError> {
            Ok(u64::from_le_bytes(
                v.try_into()
                    .map_err(|_| StateError::Damaged("static part"))?,
            ))
        };
        let negotiated = field()?;
        let image = PathBuf::from(OsString::from_vec(field()?));
        let image_dev = u64_of(field()?)?;
        let image_ino = u64_of(field()?)?;
        let uuid = field()?
            .try_into()
            .map_err(|_| StateError::Damaged("static part"))?;
        let mountpoint = PathBuf::from(OsString::from_vec(field()?));
        let options = String::from_utf8(field()?)
            .map_err(|_| StateError::Damaged("static part"))?
            .split('\n')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        Ok(StaticInfo {
            negotiated,
            image,
            image_dev,
            image_ino,
            uuid,
            mountpoint,
            options,
        })
    }
}

fn take<'a>(b: &mut &'a [u8], n: usize) -> Result<&'a [u8], StateError> {
    if b.len() < n {
        return Err(StateError::Damaged("truncated record"));
    }
    let (head, rest) = b.split_at(n);
    *b = rest;
    Ok(head)
}

/// One fact about the mount, as kept in the state file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// The kernel took `n` more lookups of a node id.
    Lookup { nodeid: NodeId, n: u64 },
    /// The kernel dropped `n` lookups.
    Forget { nodeid: NodeId, n: u64 },
    /// `n` more opens of a node id (files and directories).
    Open { nodeid: NodeId, n: u64 },
    /// One open released.
    Release { nodeid: NodeId },
    /// Request `unique` (without the resend bit) is about to write
    /// transaction `tid` (None: an unjournaled in-place write).
    Commit { unique: RequestId, tid: Option<u32> },
    /// Request `unique` was answered (errno, or the reply body); recorded
    /// before the answer is sent.
    Reply {
        unique: RequestId,
        reply: Result<Vec<u8>, i32>,
    },
    /// Request `unique`'s effect is on disk (`certain`) or may be (an
    /// unjournaled image), its answer was never recorded.
    Applied { unique: RequestId, certain: bool },
    /// Request `unique`'s transactions never committed: its `Commit`
    /// records are void (their ids will be used again).
    Drop { unique: RequestId },
    /// Request `unique`'s answer was written: nothing about it is needed
    /// any more (it will not be resent).
    Sent { unique: RequestId },
}

mod kind {
    pub const LOOKUP: u8 = 1;
    pub const FORGET: u8 = 2;
    pub const OPEN: u8 = 3;
    pub const RELEASE: u8 = 4;
    pub const COMMIT: u8 = 5;
    pub const REPLY: u8 = 6;
    pub const APPLIED: u8 = 7;
    pub const DROP: u8 = 8;
    pub const SENT: u8 = 9;
}

impl Record {
    /// Appends the encoding: a u64 header (kind, payload length << 8),
    /// then the payload padded to 8 bytes.
    fn encode(&self, out: &mut Vec<u8>) {
        let mut p = Vec::with_capacity(32);
        let k = match self {
            Record::Lookup { nodeid, n } => {
                p.extend_from_slice(&nodeid.0.to_le_bytes());
                p.extend_from_slice(&n.to_le_bytes());
                kind::LOOKUP
            }
            Record::Forget { nodeid, n } => {
                p.extend_from_slice(&nodeid.0.to_le_bytes());
                p.extend_from_slice(&n.to_le_bytes());
                kind::FORGET
            }
            Record::Open { nodeid, n } => {
                p.extend_from_slice(&nodeid.0.to_le_bytes());
                p.extend_from_slice(&n.to_le_bytes());
                kind::OPEN
            }
            Record::Release { nodeid } => {
                p.extend_from_slice(&nodeid.0.to_le_bytes());
                kind::RELEASE
            }
            Record::Commit { unique, tid } => {
                p.extend_from_slice(&unique.0.to_le_bytes());
                let t = tid.map_or(u64::MAX, u64::from);
                p.extend_from_slice(&t.to_le_bytes());
                kind::COMMIT
            }
            Record::Reply { unique, reply } => {
                p.extend_from_slice(&unique.0.to_le_bytes());
                match reply {
                    Ok(body) => {
                        p.extend_from_slice(&0i32.to_le_bytes());
                        p.extend_from_slice(body);
                    }
                    Err(e) => p.extend_from_slice(&e.to_le_bytes()),
                }
                kind::REPLY
            }
            Record::Applied { unique, certain } => {
                p.extend_from_slice(&unique.0.to_le_bytes());
                p.extend_from_slice(&u32::from(*certain).to_le_bytes());
                kind::APPLIED
            }
            Record::Drop { unique } => {
                p.extend_from_slice(&unique.0.to_le_bytes());
                kind::DROP
            }
            Record::Sent { unique } => {
                p.extend_from_slice(&unique.0.to_le_bytes());
                kind::SENT
            }
        };
        out.extend_from_slice(&(k as u64 | (p.len() as u64) << 8).to_le_bytes());
        let padded = p.len().div_ceil(8) * 8;
        p.resize(padded, 0);
        out.extend_from_slice(&p);
    }

    /// Decodes the records of `b` (a region's published part).
    fn decode_all(mut b: &[u8]) -> Result<Vec<Record>, StateError> {
        let mut out = Vec::new();
        while !b.is_empty() {
            let h = u64::from_le_bytes(take(&mut b, 8)?.try_into().unwrap());
            let k = (h & 0xff) as u8;
            let len = (h >> 8) as usize;
            let mut p = take(&mut b, len.div_ceil(8) * 8)?;
            p = &p[..len];
            let u64_at = |p: &mut &[u8]| -> Result<u64, StateError> {
                Ok(u64::from_le_bytes(take(p, 8)?.try_into().unwrap()))
            };
            let u32_at = |p: &mut &[u8]| -> Result<u32, StateError> {
                Ok(u32::from_le_bytes(take(p, 4)?.try_into().unwrap()))
            };
            let r = match k {
                kind::LOOKUP => Record::Lookup {
                    nodeid: NodeId(u64_at(&mut p)?),
                    n: u64_at(&mut p)?,
                },
                kind::FORGET => Record::Forget {
                    nodeid: NodeId(u64_at(&mut p)?),
                    n: u64_at(&mut p)?,
                },
                kind::OPEN => Record::Open {
                    nodeid: NodeId(u64_at(&mut p)?),
                    n: u64_at(&mut p)?,
                },
                kind::RELEASE => Record::Release {
                    nodeid: NodeId(u64_at(&mut p)?),
                },
                kind::COMMIT => {
                    let unique = RequestId(u64_at(&mut p)?);
                    let t = u64_at(&mut p)?;
                    Record::Commit {
                        unique,
                        tid: (t != u64::MAX).then_some(t as u32),
                    }
                }
                kind::REPLY => {
                    let unique = RequestId(u64_at(&mut p)?);
                    let e = u32_at(&mut p)? as i32;
                    Record::Reply {
                        unique,
                        reply: if e == 0 { Ok(p.to_vec()) } else { Err(e) },
                    }
                }
                kind::APPLIED => Record::Applied {
                    unique: RequestId(u64_at(&mut p)?),
                    certain: u32_at(&mut p)? != 0,
                },
                kind::DROP => Record::Drop {
                    unique: RequestId(u64_at(&mut p)?),
                },
                kind::SENT => Record::Sent {
                    unique: RequestId(u64_at(&mut p)?),
                },
                _ => return Err(StateError::Damaged("unknown record kind")),
            };
            out.push(r);
        }
        Ok(out)
    }
}

/// The state memfd, mapped.
pub struct StateFile {
    file: File,
    map: MmapMut,
    /// Serialises appends and compactions.
    lock: Mutex<()>,
}

impl StateFile {
    /// Makes a new state memfd holding `info` and no records.
    pub fn create(info: &StaticInfo) -> Result<StateFile, StateError> {
        let fd = rustix::fs::memfd_create("fuse4fs-state", rustix::fs::MemfdFlags::CLOEXEC)
            .map_err(std::io::Error::from)?;
        let file = File::from(fd);
        file.set_len(FILE_SIZE as u64)?;
        // SAFETY: the memfd is ours; only this process (and, after it, its
        // successor) maps it, and every access goes through this struct.
        let mut map = unsafe { MmapMut::map_mut(&file)? };
        let st = info.encode();
        if STATIC_START + st.len() > HISTORY {
            return Err(StateError::Damaged("static part too long"));
        }
        map[..8].copy_from_slice(MAGIC);
        map[OFF_VERSION..OFF_VERSION + 4].copy_from_slice(&VERSION.to_le_bytes());
        map[OFF_STATIC_LEN..OFF_STATIC_LEN + 4].copy_from_slice(&(st.len() as u32).to_le_bytes());
        map[STATIC_START..STATIC_START + st.len()].copy_from_slice(&st);
        map[OFF_MOUNTED..OFF_MOUNTED + 8].copy_from_slice(&unix_now().to_le_bytes());
        Ok(StateFile {
            file,
            map,
            lock: Mutex::new(()),
        })
    }

    /// Maps a state memfd a previous server left; returns what it says.
    pub fn adopt(fd: OwnedFd) -> Result<(StateFile, StaticInfo, Vec<Record>), StateError> {
        let file = File::from(fd);
        if file.metadata()?.len() != FILE_SIZE as u64 {
            return Err(StateError::Damaged("size"));
        }
        // SAFETY: as in `create`; the previous owner is dead.
        let map = unsafe { MmapMut::map_mut(&file)? };
        if &map[..8] != MAGIC {
            return Err(StateError::BadMagic);
        }
        let v = u32::from_le_bytes(map[OFF_VERSION..OFF_VERSION + 4].try_into().unwrap());
        if v != VERSION {
            return Err(StateError::Version(v));
        }
        let st_len = u32::from_le_bytes(map[OFF_STATIC_LEN..OFF_STATIC_LEN + 4].try_into().unwrap())
            as usize;
        if STATIC_START + st_len > HISTORY {
            return Err(StateError::Damaged("static part length"));
        }
        let info = StaticInfo::decode(&map[STATIC_START..STATIC_START + st_len])?;
        if map[OFF_POISONED..OFF_POISONED + 8] != [0; 8] {
            return Err(StateError::Poisoned);
        }
        let sf = StateFile {
            file,
            map,
            lock: Mutex::new(()),
        };
        let (region, tail) = sf.active();
        if tail > REGION {
            return Err(StateError::Damaged("record length"));
        }
        let base = region_base(region);
        let records = Record::decode_all(&sf.map[base..base + tail])?;
        Ok((sf, info, records))
    }

    fn word(&self, off: usize) -> &AtomicU64 {
        // SAFETY: `off` is 8-aligned inside the page-aligned mapping, which
        // lives as long as `self`; the word is only accessed atomically.
        unsafe { AtomicU64::from_ptr(self.map.as_ptr().add(off) as *mut u64) }
    }

    fn active(&self) -> (usize, usize) {
        let w = self.word(OFF_ACTIVE).load(Ordering::Acquire);
        ((w >> 63) as usize, (w & !REGION_BIT) as usize)
    }

    fn base_ptr(&self, region: usize) -> *mut u8 {
        // SAFETY: within the mapping (region_base + REGION <= FILE_SIZE).
        unsafe { (self.map.as_ptr() as *mut u8).add(region_base(region)) }
    }

    /// Marks the records incomplete: no successor may recover from them.
    pub fn poison(&self) {
        self.word(OFF_POISONED).store(1, Ordering::Release);
    }

    /// The restart count of this mount (0: the first server).
    pub fn incarnation(&self) -> u32 {
        self.word(OFF_INCARNATION).load(Ordering::Acquire) as u32
    }

    /// Counts one more server of this mount; returns the new count.
    pub fn bump_incarnation(&self) -> u32 {
        self.word(OFF_INCARNATION).fetch_add(1, Ordering::AcqRel) as u32 + 1
    }

    /// When the mount was made (seconds since the epoch; 0: a state file
    /// from before this was recorded).
    pub fn mounted_at(&self) -> u64 {
        self.word(OFF_MOUNTED).load(Ordering::Acquire)
    }

    /// How many recoveries of this mount completed.
    pub fn recoveries(&self) -> u64 {
        self.word(OFF_RECOVERIES).load(Ordering::Acquire)
    }

    fn slot(&self, k: u64) -> usize {
        OFF_SLOTS + (k % 2) as usize * SLOT
    }

    /// Records a completed recovery; returns its number (1: the first).
    pub fn record_recovery(&self, r: &RecoverySummary) -> u64 {
        let k = self.recoveries() + 1;
        let base = self.slot(k);
        for (i, v) in r.words().into_iter().enumerate() {
            self.word(base + 8 * i).store(v, Ordering::Relaxed);
        }
        self.word(OFF_RECOVERIES).store(k, Ordering::Release);
        k
    }

    /// The last completed recovery's summary (None: there was none).
    pub fn last_recovery(&self) -> Option<RecoverySummary> {
        let k = self.recoveries();
        if k == 0 {
            return None;
        }
        let base = self.slot(k);
        let mut w = [0u64; SUMMARY_WORDS];
        for (i, v) in w.iter_mut().enumerate() {
            *v = self.word(base + 8 * i).load(Ordering::Relaxed);
        }
        Some(RecoverySummary::from_words(&w))
    }

    /// Counts one request the kernel resent to the last recovery's server
    /// (the dead server had read it and not answered).
    pub fn note_resent(&self) {
        let k = self.recoveries();
        if k > 0 {
            self.word(self.slot(k) + 8 * RESENT_WORD)
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Bytes in the active region.
    pub fn len(&self) -> usize {
        self.active().1
    }

    /// Whether no record is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `records`; they count all together or not at all.
    pub fn append(&self, records: &[Record]) -> Result<(), StateError> {
        let mut bytes = Vec::with_capacity(records.len() * 24);
        for r in records {
            r.encode(&mut bytes);
        }
        let _g = self.lock.lock();
        let (region, tail) = self.active();
        if tail + bytes.len() > REGION {
            return Err(StateError::Full);
        }
        // SAFETY: [tail, tail + len) is inside the active region and past
        // what any reader takes as published; appends are serialised.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.base_ptr(region).add(tail),
                bytes.len(),
            );
        }
        let w = (region as u64) << 63 | (tail + bytes.len()) as u64;
        self.word(OFF_ACTIVE).store(w, Ordering::Release);
        Ok(())
    }

    /// Replaces every record by `records` (a snapshot), in the other
    /// region, then frees the old region's memory.
    pub fn rewrite(&self, records: &[Record]) -> Result<(), StateError> {
        let mut bytes = Vec::new();
        for r in records {
            r.encode(&mut bytes);
        }
        if bytes.len() > REGION {
            return Err(StateError::Full);
        }
        let _g = self.lock.lock();
        let (old, _) = self.active();
        let new = 1 - old;
        // SAFETY: the inactive region is not read by anyone until the flip.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.base_ptr(new), bytes.len());
        }
        let w = (new as u64) << 63 | bytes.len() as u64;
        self.word(OFF_ACTIVE).store(w, Ordering::Release);
        // Give the old region's pages back (best effort: only memory).
        let _ = rustix::fs::fallocate(
            &self.file,
            rustix::fs::FallocateFlags::PUNCH_HOLE | rustix::fs::FallocateFlags::KEEP_SIZE,
            region_base(old) as u64,
            REGION as u64,
        );
        Ok(())
    }

    /// The memfd (to store it).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

/// What the checker did at a recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CheckResult {
    /// Not run (a journaled image, not marked with errors, not asked for).
    #[default]
    NotRun,
    /// Ran and found nothing.
    Clean,
    /// Found problems and repaired them all.
    Repaired { problems: u32 },
    /// Found problems some of which are not repaired.
    Unrepaired { problems: u32, unrepaired: u32 },
    /// Could not check the image.
    Failed,
}

impl CheckResult {
    fn encode(self) -> (u64, u64, u64) {
        match self {
            CheckResult::NotRun => (0, 0, 0),
            CheckResult::Clean => (1, 0, 0),
            CheckResult::Repaired { problems } => (2, problems.into(), 0),
            CheckResult::Unrepaired {
                problems,
                unrepaired,
            } => (3, problems.into(), unrepaired.into()),
            CheckResult::Failed => (4, 0, 0),
        }
    }

    fn decode(code: u64, problems: u64, unrepaired: u64) -> CheckResult {
        let n = |v: u64| v.min(u32::MAX.into()) as u32;
        match code {
            1 => CheckResult::Clean,
            2 => CheckResult::Repaired {
                problems: n(problems),
            },
            3 => CheckResult::Unrepaired {
                problems: n(problems),
                unrepaired: n(unrepaired),
            },
            4 => CheckResult::Failed,
            _ => CheckResult::NotRun,
        }
    }
}

/// What one recovery found and did, kept in the state file so that the
/// servers after it can report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecoverySummary {
    /// When it completed (seconds since the epoch).
    pub finished_at: u64,
    /// From taking the stored fds to asking the kernel to resend.
    pub duration_us: u64,
    /// Journal transactions the replay applied.
    pub transactions_replayed: u64,
    /// Journal blocks written in place by the replay.
    pub blocks_replayed: u64,
    /// Interrupted requests found committed, maybe committed, and to run
    /// again.
    pub requests_committed: u64,
    pub requests_maybe: u64,
    pub requests_to_rerun: u64,
    /// Node ids the kernel held, and those whose inode was gone.
    pub nodes_held: u64,
    pub nodes_stale: u64,
    /// Node ids held open.
    pub nodes_open: u64,
    pub check: CheckResult,
    /// Requests the kernel resent to this recovery's server (counted as
    /// they arrive).
    pub requests_resent: u64,
}

const SUMMARY_WORDS: usize = 14;
const RESENT_WORD: usize = 13;

impl RecoverySummary {
    fn words(&self) -> [u64; SUMMARY_WORDS] {
        let (code, problems, unrepaired) = self.check.encode();
        [
            self.finished_at,
            self.duration_us,
            self.transactions_replayed,
            self.blocks_replayed,
            self.requests_committed,
            self.requests_maybe,
            self.requests_to_rerun,
            self.nodes_held,
            self.nodes_stale,
            self.nodes_open,
            code,
            problems,
            unrepaired,
            self.requests_resent,
        ]
    }

    fn from_words(w: &[u64; SUMMARY_WORDS]) -> RecoverySummary {
        RecoverySummary {
            finished_at: w[0],
            duration_us: w[1],
            transactions_replayed: w[2],
            blocks_replayed: w[3],
            requests_committed: w[4],
            requests_maybe: w[5],
            requests_to_rerun: w[6],
            nodes_held: w[7],
            nodes_stale: w[8],
            nodes_open: w[9],
            check: CheckResult::decode(w[10], w[11], w[12]),
            requests_resent: w[RESENT_WORD],
        }
    }
}

/// Seconds since the epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn region_base(region: usize) -> usize {
    STATIC_END + region * REGION
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> StaticInfo {
        StaticInfo {
            negotiated: vec![1, 2, 3],
            image: "/img/a b.img".into(),
            image_dev: 0x803,
            image_ino: 12345,
            uuid: [7; 16],
            mountpoint: "/mnt/x".into(),
            options: vec!["rw,acl".into(), "commit=1".into()],
        }
    }

    fn reopen(sf: &StateFile) -> (StateFile, StaticInfo, Vec<Record>) {
        let fd = rustix::io::fcntl_dupfd_cloexec(sf.fd(), 0).unwrap();
        StateFile::adopt(fd).unwrap()
    }

    fn samples() -> Vec<Record> {
        vec![
            Record::Lookup {
                nodeid: NodeId(1 << 32 | 12),
                n: 3,
            },
            Record::Forget {
                nodeid: NodeId(1 << 32 | 12),
                n: 1,
            },
            Record::Open {
                nodeid: NodeId(13),
                n: 2,
            },
            Record::Release { nodeid: NodeId(13) },
            Record::Commit {
                unique: RequestId(40),
                tid: Some(7),
            },
            Record::Commit {
                unique: RequestId(42),
                tid: None,
            },
            Record::Reply {
                unique: RequestId(40),
                reply: Ok(vec![9; 13]),
            },
            Record::Reply {
                unique: RequestId(44),
                reply: Err(17),
            },
            Record::Applied {
                unique: RequestId(46),
                certain: true,
            },
            Record::Drop {
                unique: RequestId(48),
            },
            Record::Sent {
                unique: RequestId(50),
            },
        ]
    }

    #[test]
    fn records_and_static_part_survive_the_owner() {
        let sf = StateFile::create(&info()).unwrap();
        let recs = samples();
        sf.append(&recs[..3]).unwrap();
        sf.append(&recs[3..]).unwrap();
        assert_eq!(sf.bump_incarnation(), 1);
        let (again, i, got) = reopen(&sf);
        drop(sf);
        assert_eq!(i, info());
        assert_eq!(got, recs);
        assert_eq!(again.incarnation(), 1);
    }

    #[test]
    fn recovery_history_survives_the_owner() {
        let sf = StateFile::create(&info()).unwrap();
        assert!(sf.mounted_at() > 0);
        assert_eq!((sf.recoveries(), sf.last_recovery()), (0, None));
        sf.note_resent();
        let first = RecoverySummary {
            finished_at: 1000,
            duration_us: 1234,
            transactions_replayed: 3,
            nodes_stale: 1,
            check: CheckResult::Unrepaired {
                problems: 4,
                unrepaired: 1,
            },
            ..Default::default()
        };
        assert_eq!(sf.record_recovery(&first), 1);
        sf.note_resent();
        sf.note_resent();
        let (again, _, _) = reopen(&sf);
        drop(sf);
        assert_eq!(again.recoveries(), 1);
        let got = again.last_recovery().unwrap();
        assert_eq!(got.requests_resent, 2);
        assert_eq!(
            got,
            RecoverySummary {
                requests_resent: 2,
                ..first
            }
        );
        let second = RecoverySummary {
            finished_at: 2000,
            check: CheckResult::Repaired { problems: 2 },
            ..Default::default()
        };
        assert_eq!(again.record_recovery(&second), 2);
        assert_eq!(reopen(&again).0.last_recovery(), Some(second));
    }

    #[test]
    fn a_torn_summary_leaves_the_previous_one() {
        let sf = StateFile::create(&info()).unwrap();
        let first = RecoverySummary {
            finished_at: 1,
            transactions_replayed: 5,
            ..Default::default()
        };
        sf.record_recovery(&first);
        // A server killed while filling the next slot: the count is not
        // yet published.
        let next = sf.slot(2);
        for i in 0..SUMMARY_WORDS {
            sf.word(next + 8 * i).store(0xdead, Ordering::Relaxed);
        }
        assert_eq!(reopen(&sf).0.last_recovery(), Some(first));
    }

    #[test]
    fn rewrite_replaces_and_flips() {
        let sf = StateFile::create(&info()).unwrap();
        sf.append(&samples()).unwrap();
        let snap = vec![Record::Lookup {
            nodeid: NodeId(5),
            n: 1,
        }];
        sf.rewrite(&snap).unwrap();
        assert_eq!(reopen(&sf).2, snap);
        sf.append(&[Record::Release { nodeid: NodeId(5) }]).unwrap();
        sf.rewrite(&[]).unwrap();
        assert!(reopen(&sf).2.is_empty());
        sf.append(&snap).unwrap();
        assert_eq!(reopen(&sf).2, snap);
    }

    #[test]
    fn an_unpublished_append_is_not_seen() {
        let sf = StateFile::create(&info()).unwrap();
        sf.append(&samples()[..1]).unwrap();
        // Bytes past the published length (a server killed mid-append).
        let (region, tail) = sf.active();
        unsafe { std::ptr::write_bytes(sf.base_ptr(region).add(tail), 0xAB, 64) };
        assert_eq!(reopen(&sf).2, samples()[..1]);
    }

    #[test]
    fn damage_is_an_error_not_a_panic() {
        let sf = StateFile::create(&info()).unwrap();
        sf.append(&samples()).unwrap();
        let (region, _) = sf.active();
        // A record header claiming more than there is.
        unsafe { std::ptr::write_bytes(sf.base_ptr(region), 0x7F, 8) };
        let fd = rustix::io::fcntl_dupfd_cloexec(sf.fd(), 0).unwrap();
        assert!(StateFile::adopt(fd).is_err());
        let other =
            File::from(rustix::fs::memfd_create("x", rustix::fs::MemfdFlags::CLOEXEC).unwrap());
        other.set_len(FILE_SIZE as u64).unwrap();
        assert!(matches!(
            StateFile::adopt(other.into()),
            Err(StateError::BadMagic)
        ));
    }
}
