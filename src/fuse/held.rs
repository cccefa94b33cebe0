//! The nodes the kernel holds: for each, how many lookups the kernel has
//! taken and not yet forgotten, and when it was last sent the node's
//! attributes in an entry. A READDIRPLUS entry for a node the kernel holds,
//! with attributes that are still fresh there, can go without them (node
//! id 0: "no lookup"; the kernel lists the name and does nothing else for
//! it, `fuse_direntplus_link`), which saves the server the inode read and
//! the kernel a dentry and inode update per entry.
//!
//! The count follows the kernel's `nlookup`: one more for every reply that
//! carries an entry (LOOKUP, MKNOD, MKDIR, SYMLINK, LINK, CREATE, TMPFILE
//! and each READDIRPLUS entry with a node id other than "." and ".."), and
//! FORGET / BATCH_FORGET take away what they name. The kernel sends a
//! FORGET for every entry it received but did not keep
//! (`fuse_force_forget`, `fuse_queue_forget`), and once a request has been
//! read by the server the kernel waits for its reply, so the counts stay
//! exact while the connection lives.
//!
//! Being wrong either way costs a request, never a wrong answer: a node
//! counted but forgotten (a count left after a reply that never arrived)
//! is listed without its attributes and the kernel LOOKUPs the name when
//! it is used; a node held but not counted (a table that started empty
//! when a server adopted a live connection) is listed with them, a
//! refresh, as before this table.
//!
//! A listing names an inode number, not a node: the count is kept per
//! inode number, for the one node (inode and generation) last handed out
//! under it. A reply for another generation of the inode (the inode was
//! freed and reused) starts that node's count afresh, and a FORGET of a
//! node that is no longer the inode's newest leaves the newest alone.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Duration;

use parking_lot::Mutex;

use super::ids::NodeId;

/// Shards of the table: the workers answer LOOKUPs and listings at once.
const SHARDS: usize = 16;
/// Clock ticks per second of a [`Stamp`].
const TICKS_PER_SEC: u64 = 64;

/// A coarse monotonic time, in 1/64 s, wrapping (after two years: ages
/// are taken with wrapping arithmetic, and only compared against windows
/// far shorter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp(u32);

impl Stamp {
    /// Now, from CLOCK_MONOTONIC_COARSE (a read of the vDSO's page, no
    /// system call: cheap enough for every LOOKUP).
    pub fn now() -> Stamp {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime fills the timespec it is given.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
        let ticks =
            ts.tv_sec as u64 * TICKS_PER_SEC + ts.tv_nsec as u64 * TICKS_PER_SEC / 1_000_000_000;
        Stamp(ticks as u32)
    }

    /// `self` moved on by `d` (for tests of the windows).
    pub fn after(self, d: Duration) -> Stamp {
        Stamp(self.0.wrapping_add(ticks(d)))
    }
}

/// Whole ticks in `d`, capped where wrapping ages stop meaning anything.
fn ticks(d: Duration) -> u32 {
    let t = d.as_millis() * u128::from(TICKS_PER_SEC) / 1000;
    t.min(u128::from(u32::MAX / 2)) as u32
}

/// How long after its last entry a node's attributes count as fresh in
/// the kernel: half of the shorter of the attribute and (when not zero)
/// entry time-outs, so that a listing in the second half of their life
/// sends them again and the kernel keeps them (and the name) for another
/// time-out, rather than a `stat` after it asking for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window(u32);

impl Window {
    /// The window for entries sent with these time-outs. An entry
    /// time-out of zero (names never cached: the server checks
    /// permissions, or a casefolded directory) does not shorten it: a
    /// listing's entry would not keep the name either. Zero attribute
    /// time-outs make a zero window: every entry is sent whole.
    pub fn of(attr_ttl: Duration, entry_ttl: Duration) -> Window {
        let ttl = if entry_ttl.is_zero() {
            attr_ttl
        } else {
            attr_ttl.min(entry_ttl)
        };
        Window(ticks(ttl / 2))
    }
}

/// One inode number's node the kernel holds.
#[derive(Debug, Clone, Copy)]
struct Held {
    node: NodeId,
    /// Lookups not yet forgotten, saturating: a FORGET carries the
    /// kernel's whole count, so one at the cap still empties it.
    count: u32,
    /// When the node was last sent in an entry.
    sent: Stamp,
}

/// A multiplicative hash of an inode number (the table's keys are
/// numbers handed out by the filesystem, not chosen by a caller).
#[derive(Default)]
struct InoHasher(u64);

impl Hasher for InoHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type Shard = HashMap<u64, Held, BuildHasherDefault<InoHasher>>;

/// The nodes the kernel holds, by inode number (see the module's text).
pub struct HeldNodes {
    shards: Box<[Mutex<Shard>]>,
}

impl Default for HeldNodes {
    fn default() -> Self {
        HeldNodes {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
        }
    }
}

impl HeldNodes {
    fn shard(&self, ino: u64) -> &Mutex<Shard> {
        // The top bits of the product: the map itself indexes by the low.
        let h = ino.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        &self.shards[(h >> 60) as usize % SHARDS]
    }

    /// The kernel is sent `node`, inode number `ino`, in an entry at `at`:
    /// one lookup more.
    pub fn took(&self, ino: u64, node: NodeId, at: Stamp) {
        let mut s = self.shard(ino).lock();
        let h = s.entry(ino).or_insert(Held {
            node,
            count: 0,
            sent: at,
        });
        if h.node != node {
            // Another generation of the inode: the entry is the newest
            // (a reply carries only a live inode).
            *h = Held {
                node,
                count: 0,
                sent: at,
            };
        }
        h.count = h.count.saturating_add(1);
        h.sent = at;
    }

    /// The kernel forgot `nlookup` lookups of `node`, inode number `ino`.
    pub fn forgot(&self, ino: u64, node: NodeId, nlookup: u64) {
        let mut s = self.shard(ino).lock();
        let Some(h) = s.get_mut(&ino) else {
            return;
        };
        if h.node != node {
            return;
        }
        h.count = h
            .count
            .saturating_sub(nlookup.min(u64::from(u32::MAX)) as u32);
        if h.count == 0 {
            s.remove(&ino);
            // Give back the room of a large listing the kernel has dropped.
            if s.capacity() > 1024 && s.len() * 8 < s.capacity() {
                let keep = s.len() * 2;
                s.shrink_to(keep);
            }
        }
    }

    /// The server changed the attributes of inode number `ino` behind the
    /// kernel's back (it notified the kernel): the next listing sends the
    /// node whole again, as every listing did before this table, rather
    /// than count on the notification alone.
    pub fn renew(&self, ino: u64) {
        if let Some(h) = self.shard(ino).lock().get_mut(&ino) {
            h.sent = Stamp(h.sent.0.wrapping_sub(u32::MAX / 2));
        }
    }

    /// Whether the kernel holds a node under inode number `ino` whose
    /// attributes it was sent less than `window` before `at`.
    pub fn fresh(&self, ino: u64, at: Stamp, window: Window) -> bool {
        self.shard(ino)
            .lock()
            .get(&ino)
            .is_some_and(|h| at.0.wrapping_sub(h.sent.0) < window.0)
    }

    /// The kernel's lookups of `node` under `ino` as counted (0: not held).
    pub fn count(&self, ino: u64, node: NodeId) -> u32 {
        self.shard(ino)
            .lock()
            .get(&ino)
            .filter(|h| h.node == node)
            .map_or(0, |h| h.count)
    }

    /// How many nodes are held.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len()).sum()
    }

    /// True when the kernel holds nothing this table knows of.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn counts_follow_entries_and_forgets() {
        let t = HeldNodes::default();
        let (w, at) = (Window::of(HOUR, HOUR), Stamp::now());
        let a = NodeId(7 << 32 | 12);
        assert!(!t.fresh(12, at, w));
        t.took(12, a, at);
        t.took(12, a, at);
        assert!(t.fresh(12, at, w));
        assert_eq!(t.count(12, a), 2);
        t.forgot(12, a, 1);
        assert!(t.fresh(12, at, w), "one lookup left");
        t.forgot(12, a, 1);
        assert!(!t.fresh(12, at, w));
        assert!(t.is_empty());
        // More forgotten than counted (a table that started empty while
        // the kernel held the node): nothing left, nothing below zero.
        t.took(12, a, at);
        t.forgot(12, a, 5);
        assert!(t.is_empty());
        t.forgot(13, NodeId(13), 1);
        assert!(t.is_empty());
    }

    #[test]
    fn another_generation_is_another_node() {
        let t = HeldNodes::default();
        let (w, at) = (Window::of(HOUR, HOUR), Stamp::now());
        let old = NodeId(1 << 32 | 20);
        let new = NodeId(2 << 32 | 20);
        t.took(20, old, at);
        t.took(20, old, at);
        // The inode was freed and made again: its new node is handed out
        // before the kernel forgets the old one.
        t.took(20, new, at);
        assert_eq!((t.count(20, old), t.count(20, new)), (0, 1));
        t.forgot(20, old, 2);
        assert_eq!(t.count(20, new), 1, "the old node's forget");
        assert!(t.fresh(20, at, w));
        t.forgot(20, new, 1);
        assert!(!t.fresh(20, at, w));
    }

    #[test]
    fn attributes_go_stale_after_half_the_time_out() {
        let t = HeldNodes::default();
        let at = Stamp::now();
        let node = NodeId(5);
        t.took(5, node, at);
        let w = Window::of(Duration::from_secs(10), Duration::from_secs(10));
        assert!(t.fresh(5, at.after(Duration::from_secs(4)), w));
        assert!(!t.fresh(5, at.after(Duration::from_secs(5)), w));
        assert!(!t.fresh(5, at.after(Duration::from_secs(60)), w));
        // A short entry time-out shortens the window; a zero one does not.
        let short = Window::of(Duration::from_secs(10), Duration::from_secs(1));
        assert!(!t.fresh(5, at.after(Duration::from_millis(600)), short));
        let names_uncached = Window::of(Duration::from_secs(10), Duration::ZERO);
        assert_eq!(names_uncached, w);
        // Zero attribute time-outs: nothing is ever fresh.
        assert!(!t.fresh(5, at, Window::of(Duration::ZERO, Duration::ZERO)));
        // A change behind the kernel's back makes it stale at once.
        t.renew(5);
        assert!(!t.fresh(5, at, w));
        assert_eq!(t.count(5, node), 1);
        // A later entry refreshes it, and the count stays one per entry.
        t.took(5, node, at.after(Duration::from_secs(60)));
        assert!(t.fresh(5, at.after(Duration::from_secs(61)), w));
        assert_eq!(t.count(5, node), 2);
        // Far-off stamps wrap without panicking; very long time-outs are
        // capped where wrapped ages still compare.
        let forever = Window::of(Duration::MAX, Duration::MAX);
        assert!(t.fresh(5, at.after(Duration::from_secs(61)), forever));
    }

    #[test]
    fn counts_saturate_and_a_whole_forget_still_empties() {
        let t = HeldNodes::default();
        let at = Stamp::now();
        t.shard(9).lock().insert(
            9,
            Held {
                node: NodeId(9),
                count: u32::MAX - 1,
                sent: at,
            },
        );
        t.took(9, NodeId(9), at);
        t.took(9, NodeId(9), at);
        assert_eq!(t.count(9, NodeId(9)), u32::MAX);
        t.forgot(9, NodeId(9), 1);
        assert_eq!(t.count(9, NodeId(9)), u32::MAX - 1);
        t.forgot(9, NodeId(9), 1 << 40);
        assert!(t.is_empty());
    }

    #[test]
    fn a_forgotten_listing_gives_its_room_back() {
        let t = HeldNodes::default();
        let at = Stamp::now();
        for ino in 0..100_000u64 {
            t.took(ino, NodeId(ino), at);
        }
        assert_eq!(t.len(), 100_000);
        let room = |t: &HeldNodes| t.shards.iter().map(|s| s.lock().capacity()).sum::<usize>();
        let full = room(&t);
        for ino in 0..99_990u64 {
            t.forgot(ino, NodeId(ino), 1);
        }
        assert_eq!(t.len(), 10);
        assert!(room(&t) * 2 < full, "{} of {full}", room(&t));
    }
}
