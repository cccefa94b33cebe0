//! Unsolicited notifications to the kernel, written on the session's fd:
//! a message with `unique` 0 and the notify code in the header's `error`.

use std::io::IoSlice;
use std::sync::Arc;

use rustix::io::Errno;
use thiserror::Error;
use zerocopy::{Immutable, IntoBytes};

use super::abi::{
    FUSE_NAME_MAX, FuseNotifyDeleteOut, FuseNotifyInvalEntryOut, FuseNotifyInvalInodeOut,
    FuseOutHeader, notify_code::*,
};
use super::channel::Channel;
use super::ids::{NodeId, RequestId};

/// Why the kernel refused a notification.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum NotifyError {
    /// The kernel does not know this notification (older protocol).
    #[error("notification not supported by this kernel")]
    Unsupported,
    /// The inode or entry is not in the kernel's cache (nothing to do).
    #[error("no such inode or entry cached in the kernel")]
    NotFound,
    /// The filesystem is unmounted.
    #[error("FUSE connection is gone")]
    Disconnected,
    #[error("name longer than {FUSE_NAME_MAX} bytes")]
    NameTooLong,
    #[error("kernel rejected notification: {0}")]
    Rejected(Errno),
}

impl From<Errno> for NotifyError {
    fn from(e: Errno) -> Self {
        match e {
            Errno::NOSYS | Errno::INVAL => NotifyError::Unsupported,
            Errno::NOENT => NotifyError::NotFound,
            Errno::NODEV | Errno::CONNABORTED => NotifyError::Disconnected,
            e => NotifyError::Rejected(e),
        }
    }
}

/// Sends notifications; cheap to clone and usable from any thread.
#[derive(Debug, Clone)]
pub struct Notifier {
    channel: Arc<Channel>,
}

impl Notifier {
    pub(crate) fn new(channel: Arc<Channel>) -> Self {
        Notifier { channel }
    }

    fn send(&self, code: i32, parts: &[&[u8]]) -> Result<(), NotifyError> {
        let body_len: usize = parts.iter().map(|p| p.len()).sum();
        let h = FuseOutHeader {
            len: (core::mem::size_of::<FuseOutHeader>() + body_len) as u32,
            error: code,
            unique: RequestId::NOTIFY,
        };
        let mut iov = Vec::with_capacity(parts.len() + 1);
        iov.push(IoSlice::new(h.as_bytes()));
        iov.extend(parts.iter().map(|p| IoSlice::new(p)));
        self.channel.send_raw(&iov).map_err(NotifyError::from)
    }

    fn send_struct_name<T: IntoBytes + Immutable>(
        &self,
        code: i32,
        arg: &T,
        name: &[u8],
    ) -> Result<(), NotifyError> {
        self.send(code, &[arg.as_bytes(), name, b"\0"])
    }

    /// Drops cached data of `nodeid` in `[off, off + len)` (len 0: to the
    /// end; off < 0: attributes only) and its cached attributes.
    pub fn inval_inode(&self, nodeid: NodeId, off: i64, len: i64) -> Result<(), NotifyError> {
        let arg = FuseNotifyInvalInodeOut {
            ino: nodeid,
            off,
            len,
        };
        self.send(FUSE_NOTIFY_INVAL_INODE, &[arg.as_bytes()])
    }

    /// [`Notifier::inval_inode`] from `off` to the end, for a server that
    /// goes on whatever happens: a node the kernel does not hold has
    /// nothing to drop, and any other failure is logged (naming `why`).
    pub fn drop_cached(&self, nodeid: NodeId, off: i64, why: &str) {
        match self.inval_inode(nodeid, off, 0) {
            Ok(()) | Err(NotifyError::NotFound) => {}
            Err(e) => {
                tracing::warn!("{why}: dropping what the kernel caches of node {nodeid:#x}: {e}")
            }
        }
    }

    /// Drops the cached lookup of `name` in directory `parent`.
    pub fn inval_entry(&self, parent: NodeId, name: &[u8]) -> Result<(), NotifyError> {
        if name.len() > FUSE_NAME_MAX {
            return Err(NotifyError::NameTooLong);
        }
        let arg = FuseNotifyInvalEntryOut {
            parent,
            namelen: name.len() as u32,
            flags: 0,
        };
        self.send_struct_name(FUSE_NOTIFY_INVAL_ENTRY, &arg, name)
    }

    /// Tells the kernel that `name` (node `child`) was removed from `parent`.
    pub fn delete(&self, parent: NodeId, child: NodeId, name: &[u8]) -> Result<(), NotifyError> {
        if name.len() > FUSE_NAME_MAX {
            return Err(NotifyError::NameTooLong);
        }
        let arg = FuseNotifyDeleteOut {
            parent,
            child,
            namelen: name.len() as u32,
            padding: 0,
        };
        self.send_struct_name(FUSE_NOTIFY_DELETE, &arg, name)
    }

    /// Asks the kernel to queue again every request it sent but got no
    /// reply for (needs FUSE_HAS_RESEND; resent requests have bit 63 set in
    /// `unique`).
    pub fn resend(&self) -> Result<(), NotifyError> {
        self.send(FUSE_NOTIFY_RESEND, &[])
    }

    /// Bumps the connection epoch so the kernel revalidates all cached
    /// dentries (protocol 7.44+).
    pub fn inc_epoch(&self) -> Result<(), NotifyError> {
        self.send(FUSE_NOTIFY_INC_EPOCH, &[])
    }
}

/// Which directories' attribute notifications can be left out.
///
/// The kernel marks a directory's attributes stale after an entry change
/// in it (`fuse_dir_changed`) without moving its attribute version, so a
/// reply carrying the directory's attributes that the server built before
/// the change but the kernel applies after it would be kept for the whole
/// time-out; the server's FUSE_NOTIFY_INVAL_INODE before the change's
/// reply moves the version and the kernel drops such a reply
/// (docs/performance.md, "Caching on read-write mounts": the race). The
/// notification is only needed while such a reply may still be unapplied.
///
/// A reply is known applied once its caller has sent another request it
/// waits for: the caller is one task (the header's pid), which applies a
/// LOOKUP's, GETATTR's, SETATTR's or READDIRPLUS's attributes in the same
/// system call that waited for the reply, before it can send anything
/// else but a request queued in the background earlier (which may be
/// served later, so it proves nothing: [`may_be_background`]). So
/// each reply carrying a directory's attributes is noted (its caller and
/// the caller's request number) before it leaves, and a change of the
/// directory notifies only if one of those is not followed by a later
/// request of the same task. A single client creating or unlinking in a
/// directory sends its LOOKUPs and then the change itself: the
/// notification is never needed there.
///
/// A reply whose attributes were read before a change but noted after the
/// change looked (two threads) is caught by its reader: a directory change
/// that happened after the reader's request began makes it notify itself.
/// Requests without a task (pid 0: FORGET, a caller in another pid
/// namespace) never prove anything. Only for a connection this server
/// initialised: after a restart, replies of the dead server may still be
/// unapplied, and nothing records their callers.
#[derive(Default)]
pub struct DirAttrReplies {
    /// Directory node id → the replies carrying its attributes not yet
    /// known applied: (caller's pid, the request's number).
    shards: [Shard; SHARDS],
}

/// Directory node id → (pid, request number) of each reply not yet known
/// applied.
type Shard = parking_lot::Mutex<std::collections::HashMap<u64, Vec<(u32, u64)>>>;

const SHARDS: usize = 16;
/// Directories whose unproven replies a shard keeps before it sweeps.
const SHARD_SWEEP: usize = 1024;
/// Slots of [`LAST_REQUEST`]: a task's slot is its pid modulo this.
const TASK_SLOTS: usize = 4096;
/// A pid and a request number packed into one word for [`LAST_REQUEST`].
const PID_BITS: u32 = 22;
const SEQ_MASK: u64 = (1 << (64 - PID_BITS)) - 1;

use std::sync::atomic::{AtomicU64, Ordering};

/// Requests begun in this process (numbers them; global because a task
/// that sent a request to any session has applied its earlier replies).
static REQUESTS: AtomicU64 = AtomicU64::new(0);
/// Directory changes noted in this process (a reader whose request began
/// before one notifies for itself, see [`DirAttrReplies::noted`]).
static DIR_CHANGES: AtomicU64 = AtomicU64::new(0);
/// Per task slot: the pid and number of the latest request of a task
/// whose pid falls there (another task overwriting it only loses a
/// proof, never makes one).
static LAST_REQUEST: [AtomicU64; TASK_SLOTS] = [const { AtomicU64::new(0) }; TASK_SLOTS];

thread_local! {
    /// The request this thread serves: (caller's pid, its number, the
    /// directory changes counted when it began).
    static CURRENT: std::cell::Cell<Option<(u32, u64, u64)>> = const { std::cell::Cell::new(None) };
}

/// Marks the request this thread serves until the guard drops: what
/// [`DirAttrReplies`] proves with.
pub(crate) struct Serving;

/// Whether the kernel may send a request with `opcode` in the background:
/// queued for the task in the header, which goes on without waiting for
/// the reply (`fuse_simple_background`: RELEASE and RELEASEDIR from
/// `fuse_file_put`, READ from readahead and async direct I/O, WRITE from
/// writeback and async direct I/O; INIT; the retrieve reply). Such a
/// request may have been sent before an earlier-served request of the
/// same task (several workers take requests in turn, and a background
/// request waits in the kernel's background queue), so it proves nothing
/// about that task's replies.
fn may_be_background(opcode: u32) -> bool {
    use super::abi::opcode::*;
    matches!(
        opcode,
        FUSE_READ | FUSE_WRITE | FUSE_RELEASE | FUSE_RELEASEDIR | FUSE_INIT | FUSE_NOTIFY_REPLY
    )
}

impl Serving {
    /// Request `opcode` from task `pid` (0: none) begins on this thread.
    /// Only a request its task waits for proves that the task applied the
    /// replies to its requests served before ([`may_be_background`]).
    pub(crate) fn begin(pid: u32, opcode: u32) -> Serving {
        let seq = REQUESTS.fetch_add(1, Ordering::SeqCst) + 1;
        let changes = DIR_CHANGES.load(Ordering::SeqCst);
        if pid != 0 && pid < (1 << PID_BITS) && seq <= SEQ_MASK && !may_be_background(opcode) {
            LAST_REQUEST[pid as usize % TASK_SLOTS]
                .store(u64::from(pid) << (64 - PID_BITS) | seq, Ordering::SeqCst);
        }
        CURRENT.with(|c| c.set(Some((pid, seq, changes))));
        Serving
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(None));
    }
}

/// Whether task `pid` sent a request after its request number `seq` (so
/// it has applied that request's reply).
fn followed(pid: u32, seq: u64) -> bool {
    if pid == 0 || pid >= (1 << PID_BITS) {
        return false;
    }
    let last = LAST_REQUEST[pid as usize % TASK_SLOTS].load(Ordering::SeqCst);
    (last >> (64 - PID_BITS)) as u32 == pid && last & SEQ_MASK > seq
}

impl DirAttrReplies {
    fn shard(
        &self,
        dir: NodeId,
    ) -> &parking_lot::Mutex<std::collections::HashMap<u64, Vec<(u32, u64)>>> {
        &self.shards[(dir.0 ^ dir.0 >> 32) as usize % SHARDS]
    }

    /// A reply is about to carry directory `dir`'s attributes, read
    /// already. True when the reader must notify `dir` itself: a
    /// directory change was noted after its request began, and may have
    /// looked before this reply was noted (or no request is being served
    /// on this thread, so nothing says when it began).
    pub(crate) fn noted(&self, dir: NodeId) -> bool {
        let (pid, seq, began) = CURRENT.with(|c| c.get()).unwrap_or((0, 0, 0));
        {
            let mut map = self.shard(dir).lock();
            if map.len() >= SHARD_SWEEP {
                map.retain(|_, v| {
                    v.retain(|&(p, s)| !followed(p, s));
                    !v.is_empty()
                });
            }
            let v = map.entry(dir.0).or_default();
            v.retain(|&(p, s)| !followed(p, s));
            v.push((pid, seq));
        }
        DIR_CHANGES.load(Ordering::SeqCst) != began
    }

    /// Directory `dir`'s entries changed (the change is done; its reply
    /// has not left). True when a reply built before may still be
    /// unapplied: the caller notifies before replying.
    pub(crate) fn changed(&self, dir: NodeId) -> bool {
        DIR_CHANGES.fetch_add(1, Ordering::SeqCst);
        // The request's own changes are not a reason for it to notify
        // about the directories its reply carries (MKDIR's new one).
        CURRENT.with(|c| {
            if let Some((pid, seq, began)) = c.get() {
                c.set(Some((pid, seq, began + 1)));
            }
        });
        let mut map = self.shard(dir).lock();
        let Some(mut v) = map.remove(&dir.0) else {
            return false;
        };
        v.retain(|&(p, s)| !followed(p, s));
        // Every reply noted so far is dropped by the kernel once the
        // notification is processed: nothing stays noted.
        !v.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Pids of their own (slots no other test uses): the statics are shared
    // by every test thread of the process.
    const A: u32 = 4_000_001;
    const B: u32 = 4_000_002;
    const C: u32 = 4_000_003;
    const D: u32 = 4_000_004;
    const E: u32 = 4_000_005;
    use super::super::abi::opcode::{FUSE_GETATTR as GETATTR, FUSE_MKDIR as MKDIR};
    use super::super::abi::opcode::{FUSE_READ, FUSE_RELEASE, FUSE_WRITE};

    #[test]
    fn a_background_request_served_later_proves_nothing() {
        // D closed a file (RELEASE, queued in the background) and then
        // stat'ed the directory: a worker may begin the GETATTR before
        // another begins the RELEASE, and D may not have applied the
        // GETATTR's reply when the RELEASE is served.
        let d = DirAttrReplies::default();
        let dir = NodeId(0x1_0000_0407);
        {
            let _s = Serving::begin(D, GETATTR);
            d.noted(dir);
        }
        for op in [FUSE_RELEASE, FUSE_READ, FUSE_WRITE] {
            drop(Serving::begin(D, op));
        }
        {
            let _s = Serving::begin(E, MKDIR);
            assert!(d.changed(dir), "D's reply may still be unapplied");
        }
        // A request D waited for does prove it.
        {
            let _s = Serving::begin(D, GETATTR);
            d.noted(dir);
        }
        drop(Serving::begin(D, GETATTR));
        let _s = Serving::begin(E, MKDIR);
        assert!(!d.changed(dir));
    }

    #[test]
    fn a_change_after_the_callers_own_lookups_needs_no_notification() {
        let d = DirAttrReplies::default();
        let dir = NodeId(0x1_0000_0400);
        assert!(!d.changed(dir), "nothing was ever noted");
        {
            let _s = Serving::begin(A, GETATTR);
            d.noted(dir);
        }
        // The same task's next request is the change: it applied the
        // reply before it could send it.
        let _s = Serving::begin(A, GETATTR);
        assert!(!d.changed(dir));
    }

    #[test]
    fn a_reply_to_another_task_not_yet_followed_is_notified_once() {
        let d = DirAttrReplies::default();
        let dir = NodeId(0x1_0000_0401);
        {
            let _s = Serving::begin(B, GETATTR);
            d.noted(dir);
        }
        {
            let _s = Serving::begin(C, GETATTR);
            assert!(d.changed(dir), "B may not have applied its reply yet");
        }
        {
            // The notification covered it: a second change has nothing
            // left to cover.
            let _s = Serving::begin(C, GETATTR);
            assert!(!d.changed(dir));
        }
        {
            let _s = Serving::begin(B, GETATTR);
            d.noted(dir);
        }
        // B sent another request since: its reply is applied.
        drop(Serving::begin(B, GETATTR));
        let _s = Serving::begin(C, GETATTR);
        assert!(!d.changed(dir));
    }

    #[test]
    fn a_reply_without_a_task_or_outside_a_request_is_never_proven() {
        let d = DirAttrReplies::default();
        let dir = NodeId(0x1_0000_0402);
        {
            let _s = Serving::begin(0, GETATTR);
            d.noted(dir);
        }
        {
            let _s = Serving::begin(0, GETATTR);
        }
        let _s = Serving::begin(A, GETATTR);
        assert!(d.changed(dir), "pid 0 proves nothing");
        drop(_s);
        // Noted on a thread serving no request (recovery, a tool).
        d.noted(dir);
        let _s = Serving::begin(A, GETATTR);
        assert!(d.changed(dir));
    }

    #[test]
    fn a_reader_overtaken_by_a_change_notifies_itself() {
        let d = DirAttrReplies::default();
        let dir = NodeId(0x1_0000_0403);
        let other = NodeId(0x1_0000_0404);
        let _s = Serving::begin(B, GETATTR);
        // A change on another thread after this request began, which
        // looked before this reply was noted.
        std::thread::spawn(move || {
            let d = DirAttrReplies::default();
            let _s = Serving::begin(C, GETATTR);
            d.changed(other);
        })
        .join()
        .unwrap();
        assert!(d.noted(dir));
    }

    #[test]
    fn a_requests_own_change_does_not_make_its_reply_notify() {
        // MKDIR: the parent changes, then the reply carries the new
        // directory's attributes. Only this thread's changes may count
        // between begin and noted for the assertion to hold, so the
        // global counter is compared around it.
        let d = DirAttrReplies::default();
        let _s = Serving::begin(A, GETATTR);
        let before = DIR_CHANGES.load(Ordering::SeqCst);
        d.changed(NodeId(0x1_0000_0405));
        let notified = d.noted(NodeId(0x1_0000_0406));
        let others = DIR_CHANGES.load(Ordering::SeqCst) - before - 1;
        let began = CURRENT.with(|c| c.get()).unwrap().2;
        if others == 0 && began == before + 1 {
            assert!(!notified);
        }
    }
}
