//! Keeps the state file current as requests are served, and answers
//! resent requests from what the previous server recorded (the
//! duplicate-request cache).
//!
//! Exactly-once, whichever side of the commit a crash falls on:
//! - a request that changes something records `Commit{unique, tid}` just
//!   before its transaction is written to the log, and `Reply{unique,
//!   answer}` just before its answer is sent (`Sent{unique}` after);
//! - after a crash, a request with a recorded answer gets it again; one
//!   with a recorded transaction the replay found whole (see
//!   [`Folded::resolve_commits`]) is answered as already done; one whose
//!   transaction never made it to the log runs again. A transaction id is only a hint until the first
//!   recovery after it resolves it (ids are reused after a torn
//!   transaction), so the recovery turns every `Commit` into `Applied` or
//!   drops it before anything new is logged.
//!
//! Lookup and open counts are kept the same way: the deltas of a request
//! are appended with its answer, in one record batch.

use std::cell::Cell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use zerocopy::FromBytes;

use super::state::{Record, StateError, StateFile};
use crate::fuse::abi::{self, FuseInHeader, opcode::*};
use crate::fuse::ids::{NodeId, RequestId};
use crate::fuse::ops::Errno;
use crate::fuse::reply::Response;
use crate::fuse::resend::{Prior, RequestHook, is_non_idempotent, is_repeatable_change};

/// Records of a dead server no resend claimed are dropped after the new
/// one has served this long (every resend comes first).
const PRIOR_KEEP: Duration = Duration::from_secs(10);
/// Compact when the appended records exceed this, or twice the snapshot.
const COMPACT_MIN: usize = 1 << 20;

thread_local! {
    /// The tracked request this thread serves (without the resend bit),
    /// for the commit observer.
    static CURRENT: Cell<Option<RequestId>> = const { Cell::new(None) };
}

/// What a previous server left about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Known {
    Reply(Result<Vec<u8>, i32>),
    Applied { certain: bool },
}

/// The mount's state as the records add up.
#[derive(Default, Debug)]
pub struct Folded {
    /// The kernel's lookup count per node id.
    pub lookups: HashMap<NodeId, u64>,
    /// Open count per node id.
    pub opens: HashMap<NodeId, u64>,
    prior: HashMap<RequestId, Known>,
    commits: HashMap<RequestId, Vec<Option<u32>>>,
    /// What [`Folded::resolve_commits`] decided, to be recorded.
    resolutions: Vec<Record>,
}

impl Folded {
    /// Adds up `records`.
    pub fn fold(records: &[Record]) -> Folded {
        let mut f = Folded::default();
        for r in records {
            f.apply(r);
        }
        f
    }

    fn apply(&mut self, r: &Record) {
        match r {
            Record::Lookup { nodeid, n } => add(&mut self.lookups, *nodeid, *n),
            Record::Forget { nodeid, n } => dec(&mut self.lookups, *nodeid, *n),
            Record::Open { nodeid, n } => add(&mut self.opens, *nodeid, *n),
            Record::Release { nodeid } => dec(&mut self.opens, *nodeid, 1),
            Record::Commit { unique, tid } => self.commits.entry(*unique).or_default().push(*tid),
            Record::Reply { unique, reply } => {
                self.commits.remove(unique);
                self.prior.insert(*unique, Known::Reply(reply.clone()));
            }
            Record::Drop { unique } => {
                self.commits.remove(unique);
            }
            Record::Sent { unique } => {
                self.commits.remove(unique);
                self.prior.remove(unique);
            }
            Record::Applied { unique, certain } => {
                self.commits.remove(unique);
                self.prior
                    .insert(*unique, Known::Applied { certain: *certain });
            }
        }
    }

    /// Settles every request that wrote a transaction without recording
    /// its answer. `replay_end`: the first transaction id the journal
    /// replay did not find whole; a request with a transaction below it is
    /// done, one without never happened. None (no journal, or the log was
    /// already empty so a previous recovery settled everything it could):
    /// maybe done. Called while the log still holds the replayed
    /// transactions, and the verdicts must be recorded
    /// ([`Folded::take_resolutions`]) before the log is emptied:
    /// transaction ids are reused after a torn one. Returns (done, maybe,
    /// not done).
    pub fn resolve_commits(&mut self, replay_end: Option<u32>) -> (usize, usize, usize) {
        let mut counts = (0, 0, 0);
        for (unique, tids) in std::mem::take(&mut self.commits) {
            let certain = match replay_end {
                Some(cb) => {
                    if tids
                        .iter()
                        .any(|t| t.is_some_and(|t| !crate::jbd2::tid_geq(t, cb)))
                    {
                        counts.0 += 1;
                        true
                    } else {
                        counts.2 += 1;
                        self.resolutions.push(Record::Drop { unique });
                        continue;
                    }
                }
                None => {
                    counts.1 += 1;
                    false
                }
            };
            self.resolutions.push(Record::Applied { unique, certain });
            self.prior.insert(unique, Known::Applied { certain });
        }
        counts
    }

    /// The verdicts of [`Folded::resolve_commits`], to be appended to the
    /// state.
    pub fn take_resolutions(&mut self) -> Vec<Record> {
        std::mem::take(&mut self.resolutions)
    }

    /// Requests whose first execution is known (answers for resends).
    pub fn known_requests(&self) -> usize {
        self.prior.len()
    }
}

/// Bytes an answer takes in the state.
fn known_len(k: &Known) -> usize {
    match k {
        Known::Reply(Ok(b)) => b.len(),
        _ => 0,
    }
}

fn add(m: &mut HashMap<NodeId, u64>, k: NodeId, n: u64) {
    let v = m.entry(k).or_default();
    *v = v.saturating_add(n);
}

fn dec(m: &mut HashMap<NodeId, u64>, k: NodeId, n: u64) {
    if let Some(v) = m.get_mut(&k) {
        *v = v.saturating_sub(n);
        if *v == 0 {
            m.remove(&k);
        }
    }
}

struct Mirror {
    folded: Folded,
    /// Since when resends may have arrived (the previous servers' records
    /// are kept [`PRIOR_KEEP`] past it).
    serving_since: Instant,
    /// Answers recorded and not yet sent (current requests).
    pending: HashMap<RequestId, Record>,
    /// Transactions of current requests not yet answered.
    inflight: HashMap<RequestId, Vec<Option<u32>>>,
    /// Bytes of the last snapshot.
    snapshot_len: usize,
    /// Persisting stopped (the state file is full): said once.
    broken: bool,
}

/// The [`RequestHook`] that keeps the state file.
pub struct Tracker {
    state: StateFile,
    mirror: Mutex<Mirror>,
}

impl Tracker {
    /// Tracks into `state` starting from `folded`: empty for a new mount;
    /// for a recovery, what the state's records add up to, settled with
    /// [`Folded::resolve_commits`] (the verdicts are appended; the records
    /// stay as they are until the next compaction).
    pub fn new(state: StateFile, mut folded: Folded) -> Result<Tracker, StateError> {
        let resolutions = std::mem::take(&mut folded.resolutions);
        state.append(&resolutions)?;
        let t = Tracker {
            state,
            mirror: Mutex::new(Mirror {
                folded,
                serving_since: Instant::now(),
                pending: HashMap::new(),
                inflight: HashMap::new(),
                snapshot_len: 0,
                broken: false,
            }),
        };
        // A server killed again and again never reaches the usual
        // threshold (each one starts from what the last left): compact
        // when the records are much longer than what they add up to.
        {
            let mut m = t.mirror.lock();
            let f = &m.folded;
            let estimate = 24 * (f.lookups.len() + f.opens.len())
                + f.prior.values().map(|k| 32 + known_len(k)).sum::<usize>();
            m.snapshot_len = estimate;
            if t.state.len() > compact_at(estimate) {
                t.compact(&mut m)?;
            } else {
                m.snapshot_len = t.state.len();
            }
        }
        Ok(t)
    }

    /// The state file (to store it).
    pub fn state(&self) -> &StateFile {
        &self.state
    }

    /// Records that the request this thread serves writes transaction
    /// `tid` (the commit observer: runs under the commit lock, before the
    /// transaction's first block is written).
    pub fn on_commit(&self, tid: Option<u32>) {
        let Some(unique) = CURRENT.with(|c| c.get()) else {
            return;
        };
        let mut m = self.mirror.lock();
        m.inflight.entry(unique).or_default().push(tid);
        self.append(&mut m, vec![Record::Commit { unique, tid }]);
    }

    fn append(&self, m: &mut Mirror, records: Vec<Record>) {
        if m.broken || records.is_empty() {
            return;
        }
        // The mirror already holds what `records` say: when they do not
        // fit, the snapshot of the mirror takes their place.
        let r = match self.state.append(&records) {
            Err(StateError::Full) => self.compact(m),
            Ok(()) if self.state.len() > compact_at(m.snapshot_len) => self.compact(m),
            r => r,
        };
        if let Err(e) = r {
            self.fail(m, e);
        }
    }

    fn fail(&self, m: &mut Mirror, e: StateError) {
        tracing::error!("{e}: a crash of this server will not be recovered from");
        // A successor must not serve from records that stopped here.
        self.state.poison();
        m.broken = true;
    }

    /// Resends may arrive from now on (the previous servers' records are
    /// dropped [`PRIOR_KEEP`] later).
    pub fn serving(&self) {
        self.mirror.lock().serving_since = Instant::now();
    }

    /// Writes the snapshot: counts, what the previous servers left that is
    /// still wanted, and the current requests' records.
    fn compact(&self, m: &mut Mirror) -> Result<(), StateError> {
        // Every resend comes right after FUSE_NOTIFY_RESEND; what none
        // claimed by now never will be.
        if m.serving_since.elapsed() > PRIOR_KEEP {
            m.folded.prior.clear();
        }
        let f = &m.folded;
        let mut snap: Vec<Record> = Vec::with_capacity(f.lookups.len() + f.opens.len());
        snap.extend(
            f.lookups
                .iter()
                .map(|(&nodeid, &n)| Record::Lookup { nodeid, n }),
        );
        snap.extend(
            f.opens
                .iter()
                .map(|(&nodeid, &n)| Record::Open { nodeid, n }),
        );
        snap.extend(f.prior.iter().map(|(&unique, k)| match k {
            Known::Reply(reply) => Record::Reply {
                unique,
                reply: reply.clone(),
            },
            Known::Applied { certain } => Record::Applied {
                unique,
                certain: *certain,
            },
        }));
        for (&unique, tids) in &m.inflight {
            snap.extend(tids.iter().map(|&tid| Record::Commit { unique, tid }));
        }
        snap.extend(m.pending.values().cloned());
        self.state.rewrite(&snap)?;
        m.snapshot_len = self.state.len();
        Ok(())
    }

    /// Counts as the state file has them now (for tests and reports).
    pub fn counts(&self) -> (usize, usize) {
        let m = self.mirror.lock();
        (m.folded.lookups.len(), m.folded.opens.len())
    }
}

/// The header of a message (None: too short; the session answers it).
fn header(msg: &[u8]) -> Option<FuseInHeader> {
    FuseInHeader::read_from_prefix(msg).ok().map(|(h, _)| h)
}

fn entry_nodeid(body: &[u8]) -> Option<NodeId> {
    abi::FuseEntryOut::read_from_prefix(body)
        .ok()
        .map(|(e, _)| e.nodeid)
        .filter(|&n| n != NodeId::NONE)
}

/// The lookup and open changes a request and its answer make.
fn deltas(h: &FuseInHeader, msg: &[u8], response: Option<&Response>, out: &mut Vec<Record>) {
    let hl = core::mem::size_of::<FuseInHeader>();
    let body = msg.get(hl..h.len as usize).unwrap_or(&[]);
    let ok = match response {
        Some(Ok(b)) => Some(b.as_slice()),
        _ => None,
    };
    match h.opcode {
        FUSE_FORGET => {
            if let Ok((f, _)) = abi::FuseForgetIn::read_from_prefix(body) {
                out.push(Record::Forget {
                    nodeid: h.nodeid,
                    n: f.nlookup,
                });
            }
        }
        FUSE_BATCH_FORGET => {
            if let Ok((b, mut rest)) = abi::FuseBatchForgetIn::read_from_prefix(body) {
                for _ in 0..b.count {
                    let Ok((one, r)) = abi::FuseForgetOne::read_from_prefix(rest) else {
                        break;
                    };
                    rest = r;
                    out.push(Record::Forget {
                        nodeid: one.nodeid,
                        n: one.nlookup,
                    });
                }
            }
        }
        FUSE_LOOKUP | FUSE_MKDIR | FUSE_MKNOD | FUSE_SYMLINK | FUSE_LINK => {
            if let Some(nodeid) = ok.and_then(entry_nodeid) {
                out.push(Record::Lookup { nodeid, n: 1 });
            }
        }
        FUSE_CREATE | FUSE_TMPFILE => {
            if let Some(nodeid) = ok.and_then(entry_nodeid) {
                out.push(Record::Lookup { nodeid, n: 1 });
                out.push(Record::Open { nodeid, n: 1 });
            }
        }
        FUSE_OPEN | FUSE_OPENDIR if ok.is_some() => out.push(Record::Open {
            nodeid: h.nodeid,
            n: 1,
        }),
        // The adapter releases whatever the answer.
        FUSE_RELEASE | FUSE_RELEASEDIR => out.push(Record::Release { nodeid: h.nodeid }),
        FUSE_READDIRPLUS => {
            let mut rest = ok.unwrap_or(&[]);
            while let Ok((d, _)) = abi::FuseDirentplus::read_from_prefix(rest) {
                let fixed = core::mem::size_of::<abi::FuseDirentplus>();
                let nl = d.dirent.namelen as usize;
                let Some(name) = rest.get(fixed..fixed + nl) else {
                    break;
                };
                // The kernel takes no reference for "." and "..".
                if d.entry_out.nodeid != NodeId::NONE && name != b"." && name != b".." {
                    out.push(Record::Lookup {
                        nodeid: d.entry_out.nodeid,
                        n: 1,
                    });
                }
                let step = abi::fuse_rec_align(fixed + nl);
                if step > rest.len() {
                    break;
                }
                rest = &rest[step..];
            }
        }
        _ => {}
    }
}

/// Whether an answer to this opcode is recorded (for resends): the
/// changes, and the requests whose open count must not move twice.
fn recorded(opcode: u32) -> bool {
    tracked(opcode) || matches!(opcode, FUSE_OPENDIR | FUSE_RELEASE | FUSE_RELEASEDIR)
}

/// Whether the transactions of this opcode are tied to its requests.
fn tracked(opcode: u32) -> bool {
    is_non_idempotent(opcode) || is_repeatable_change(opcode)
}

/// The state length past which the records are compacted: twice the last
/// snapshot, at least [`COMPACT_MIN`], and always before the region fills.
fn compact_at(snapshot_len: usize) -> usize {
    COMPACT_MIN
        .max(2 * snapshot_len)
        .min(super::state::REGION / 2)
}

impl RequestHook for Tracker {
    fn before(&self, msg: &[u8]) -> Prior {
        let Some(h) = header(msg) else {
            return Prior::Execute;
        };
        let unique = h.unique.first();
        if tracked(h.opcode) {
            CURRENT.with(|c| c.set(Some(unique)));
        }
        if !h.unique.is_resend() {
            return Prior::Execute;
        }
        self.state().note_resent();
        let m = self.mirror.lock();
        match m.folded.prior.get(&unique) {
            Some(Known::Reply(Ok(b))) => Prior::Reply(Ok(b.clone())),
            Some(Known::Reply(Err(e))) => Prior::Reply(Err(Errno(*e))),
            Some(Known::Applied { certain: true }) => Prior::Applied,
            Some(Known::Applied { certain: false }) => Prior::Maybe,
            None => Prior::Execute,
        }
    }

    fn after(&self, msg: &[u8], response: Option<&Response>) {
        let Some(h) = header(msg) else {
            return;
        };
        let unique = h.unique.first();
        let mut records = Vec::new();
        deltas(&h, msg, response, &mut records);
        let reply = match response {
            Some(r) if recorded(h.opcode) => Some(Record::Reply {
                unique,
                reply: r.clone().map_err(|e| e.0),
            }),
            _ => None,
        };
        if records.is_empty() && reply.is_none() {
            // Reads and the like: nothing to keep, no lock taken.
            return;
        }
        let mut m = self.mirror.lock();
        for r in &records {
            m.folded.apply(r);
        }
        if let Some(r) = reply {
            m.pending.insert(unique, r.clone());
            records.push(r);
        }
        self.append(&mut m, records);
    }

    fn sent(&self, msg: &[u8]) {
        CURRENT.with(|c| c.set(None));
        let Some(h) = header(msg) else {
            return;
        };
        let unique = h.unique.first();
        if !recorded(h.opcode) {
            return;
        }
        let mut m = self.mirror.lock();
        m.pending.remove(&unique);
        m.inflight.remove(&unique);
        // A resend answered: the previous server's record is done with.
        m.folded.prior.remove(&unique);
        // Answered: a successor need not keep its records.
        self.append(&mut m, vec![Record::Sent { unique }]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuse::request::request_bytes as msg;
    use crate::recovery::state::StaticInfo;
    use zerocopy::IntoBytes;

    fn entry(nodeid: u64) -> Vec<u8> {
        abi::FuseEntryOut {
            nodeid: NodeId(nodeid),
            ..Default::default()
        }
        .as_bytes()
        .to_vec()
    }

    /// A tracker on a fresh state file, and a way to "crash" it: adopt a
    /// dup of its memfd as the next server would.
    fn fresh() -> Tracker {
        Tracker::new(
            StateFile::create(&StaticInfo::default()).unwrap(),
            Folded::default(),
        )
        .unwrap()
    }

    fn crash(t: &Tracker) -> (StateFile, Folded) {
        let fd = rustix::io::fcntl_dupfd_cloexec(t.state().fd(), 0).unwrap();
        let (sf, _, recs) = StateFile::adopt(fd).unwrap();
        sf.bump_incarnation();
        (sf, Folded::fold(&recs))
    }

    fn serve(t: &Tracker, m: &[u8], r: Option<Response>, commit: Option<u32>) {
        assert_eq!(t.before(m), Prior::Execute);
        if let Some(tid) = commit {
            t.on_commit(Some(tid));
        }
        t.after(m, r.as_ref());
        t.sent(m);
    }

    #[test]
    fn counts_follow_lookups_opens_and_forgets() {
        let t = fresh();
        serve(
            &t,
            &msg(FUSE_LOOKUP, 2, 1, b"a\0"),
            Some(Ok(entry(77))),
            None,
        );
        serve(
            &t,
            &msg(FUSE_LOOKUP, 4, 1, b"a\0"),
            Some(Ok(entry(77))),
            None,
        );
        serve(
            &t,
            &msg(FUSE_LOOKUP, 5, 1, b"n\0"),
            Some(Ok(entry(0))),
            None,
        );
        serve(
            &t,
            &msg(FUSE_OPEN, 6, 77, &[0; 8]),
            Some(Ok(vec![0; 16])),
            None,
        );
        serve(
            &t,
            &msg(FUSE_OPEN, 8, 77, &[0; 8]),
            Some(Err(Errno::EACCES)),
            None,
        );
        let forget = msg(FUSE_FORGET, 10, 77, &1u64.to_le_bytes());
        t.before(&forget);
        t.after(&forget, None);
        t.sent(&forget);
        let (_, f) = crash(&t);
        assert_eq!(f.lookups, HashMap::from([(NodeId(77), 1)]));
        assert_eq!(f.opens, HashMap::from([(NodeId(77), 1)]));
        let rel = msg(FUSE_RELEASE, 12, 77, &[0; 24]);
        serve(&t, &rel, Some(Ok(vec![])), None);
        let mut batch = abi::FuseBatchForgetIn { count: 1, dummy: 0 }
            .as_bytes()
            .to_vec();
        batch.extend_from_slice(
            abi::FuseForgetOne {
                nodeid: NodeId(77),
                nlookup: 1,
            }
            .as_bytes(),
        );
        let bf = msg(FUSE_BATCH_FORGET, 14, 0, &batch);
        t.before(&bf);
        t.after(&bf, None);
        let (_, f) = crash(&t);
        assert!(f.lookups.is_empty() && f.opens.is_empty(), "{f:?}");
    }

    #[test]
    fn resends_get_the_first_answer_or_are_settled_by_the_journal() {
        let t = fresh();
        let mk = |u| msg(FUSE_MKDIR, u, 1, b"\xed\x01\0\0\0\0\0\0d\0");
        // 20: answer recorded, not yet sent. 22: committed as tid 5,
        // answer lost. 24: its transaction (tid 6) was being written. 26:
        // never got to commit. 28: an unlink answered ENOENT the first
        // time. 30: answered and sent (it will not be resent).
        t.before(&mk(20));
        t.on_commit(Some(4));
        t.after(&mk(20), Some(&Ok(entry(99))));
        serve(&t, &mk(30), Some(Ok(entry(98))), Some(3));
        t.before(&mk(22));
        t.on_commit(Some(5));
        t.before(&mk(24));
        t.on_commit(Some(6));
        t.before(&mk(26));
        let ul = msg(FUSE_UNLINK, 28, 1, b"x\0");
        t.before(&ul);
        t.after(&ul, Some(&Err(Errno::ENOENT)));
        let (sf, mut f) = crash(&t);
        // The replay found tids up to 5 whole: 6 is not committed.
        assert_eq!(f.resolve_commits(Some(6)), (1, 0, 1));
        let t2 = Tracker::new(sf, f).unwrap();
        let r = |m: &[u8]| {
            let mut m = m.to_vec();
            let u = u64::from_le_bytes(m[8..16].try_into().unwrap()) | RequestId::RESEND_BIT;
            m[8..16].copy_from_slice(&u.to_le_bytes());
            t2.before(&m)
        };
        assert_eq!(r(&mk(20)), Prior::Reply(Ok(entry(99))));
        assert_eq!(r(&mk(22)), Prior::Applied);
        assert_eq!(r(&mk(24)), Prior::Execute);
        assert_eq!(r(&mk(26)), Prior::Execute);
        assert_eq!(r(&ul), Prior::Reply(Err(Errno::ENOENT)));
        assert_eq!(r(&mk(30)), Prior::Execute, "a sent answer is not kept");
        // Not a resend: never answered from the records.
        assert_eq!(t2.before(&mk(20)), Prior::Execute);

        // A second crash before the resends were answered keeps them; the
        // transaction ids are settled once and for all.
        let (_, mut f3) = crash(&t2);
        assert_eq!(f3.resolve_commits(Some(1)), (0, 0, 0));
        assert_eq!(f3.known_requests(), 3);
    }

    #[test]
    fn a_release_is_applied_once() {
        let t = fresh();
        serve(
            &t,
            &msg(FUSE_OPEN, 2, 77, &[0; 8]),
            Some(Ok(vec![0; 16])),
            None,
        );
        serve(
            &t,
            &msg(FUSE_OPEN, 4, 77, &[0; 8]),
            Some(Ok(vec![0; 16])),
            None,
        );
        // Killed after recording the release, before answering it.
        let rel = msg(FUSE_RELEASE, 6, 77, &[0; 24]);
        t.before(&rel);
        t.after(&rel, Some(&Ok(Vec::new())));
        let (sf, f) = crash(&t);
        assert_eq!(f.opens, HashMap::from([(NodeId(77), 1)]));
        let t2 = Tracker::new(sf, f).unwrap();
        let mut resent = rel.clone();
        resent[8..16].copy_from_slice(&RequestId(6).resent().0.to_le_bytes());
        // Answered from the record: the adapter does not release again.
        assert_eq!(t2.before(&resent), Prior::Reply(Ok(Vec::new())));
    }

    #[test]
    fn repeatable_changes_are_tied_to_their_transactions() {
        let t = fresh();
        let mut w = abi::FuseWriteIn {
            size: 3,
            ..Default::default()
        }
        .as_bytes()
        .to_vec();
        w.extend_from_slice(b"abc");
        let write = msg(FUSE_WRITE, 8, 77, &w);
        t.before(&write);
        t.on_commit(Some(5));
        let (_, mut f) = crash(&t);
        assert_eq!(f.resolve_commits(Some(6)), (1, 0, 0));
    }

    #[test]
    fn unjournaled_commits_are_maybes() {
        let t = fresh();
        t.before(&msg(FUSE_RMDIR, 30, 1, b"d\0"));
        t.on_commit(None);
        let (_, mut f) = crash(&t);
        assert_eq!(f.resolve_commits(None), (0, 1, 0));
    }

    #[test]
    fn compaction_keeps_what_is_needed() {
        let t = fresh();
        for i in 0..1000u64 {
            serve(
                &t,
                &msg(FUSE_LOOKUP, 2 * i + 2, 1, b"a\0"),
                Some(Ok(entry(100 + i % 10))),
                None,
            );
        }
        t.before(&msg(FUSE_UNLINK, 9000, 1, b"z\0"));
        t.on_commit(Some(3));
        {
            let mut m = t.mirror.lock();
            t.compact(&mut m).unwrap();
        }
        let (_, mut f) = crash(&t);
        assert_eq!(f.lookups.len(), 10);
        assert!(f.lookups.values().all(|&n| n == 100));
        assert_eq!(f.resolve_commits(Some(4)), (1, 0, 0));
    }

    #[test]
    fn readdirplus_counts_entries_but_not_dots() {
        let mut body = Vec::new();
        for (name, nodeid) in [(&b"."[..], 1u64), (b"..", 1), (b"f", 55)] {
            let d = abi::FuseDirentplus {
                entry_out: abi::FuseEntryOut {
                    nodeid: NodeId(nodeid),
                    ..Default::default()
                },
                dirent: abi::FuseDirent {
                    ino: nodeid,
                    off: 1,
                    namelen: name.len() as u32,
                    typ: 0,
                },
            };
            body.extend_from_slice(d.as_bytes());
            body.extend_from_slice(name);
            body.resize(abi::fuse_rec_align(body.len()), 0);
        }
        let t = fresh();
        serve(
            &t,
            &msg(FUSE_READDIRPLUS, 2, 1, &[0; 40]),
            Some(Ok(body)),
            None,
        );
        let (_, f) = crash(&t);
        assert_eq!(f.lookups, HashMap::from([(NodeId(55), 1)]));
    }
}
