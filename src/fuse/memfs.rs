//! An in-memory read-write filesystem served through [`FuseOps`]: what
//! FUSE itself costs on a machine (the floor `scripts/bench` measures with
//! the `fuse4fs-memfs` binary), and the transport tests' filesystem.
//!
//! One mutex guards the whole tree; file data lives in a `Vec` per file.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use super::abi;
use super::held::{HeldNodes, Stamp, Window};
use super::ids::{FileHandle, NodeId};
use super::notify::Notifier;
use super::ops::{
    Attr, DirEntry, DirSink, Entry, Errno, FuseOps, OpResult, Open, RequestCtx, SetAttr, StatFs,
    TimeOrNow, Timespec, rename_flags, xattr_flags,
};

/// Attributes of a new node; times are set by the caller.
fn new_attr(ino: u64, mode: u32, size: u64, nlink: u32) -> Attr {
    Attr {
        ino,
        size,
        blocks: size.div_ceil(512),
        mode,
        nlink,
        blksize: 4096,
        ..Default::default()
    }
}

struct Node {
    attr: Attr,
    kind: u8,
    data: Vec<u8>,
    target: Vec<u8>,
    children: BTreeMap<Vec<u8>, NodeId>,
    xattrs: BTreeMap<Vec<u8>, Vec<u8>>,
}

struct State {
    nodes: HashMap<NodeId, Node>,
    next: u64,
}

/// Counters the transport tests read: which requests reached the handlers.
#[derive(Default)]
pub struct MemFsStats {
    /// The largest WRITE payload seen.
    pub max_write: AtomicU64,
    pub fsyncs: AtomicU64,
    pub datasyncs: AtomicU64,
    pub copies: AtomicU64,
    pub flushes: AtomicU64,
    /// SETATTR with FATTR_ATIME_NOW / FATTR_MTIME_NOW seen.
    pub saw_atime_now: AtomicBool,
    pub saw_mtime_now: AtomicBool,
    /// Requests that carried a umask (MKNOD, MKDIR, CREATE).
    pub umasks: AtomicU64,
}

/// How long the kernel may trust answers, and the FOPEN_* flags of opens.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemFsConfig {
    /// Entry and attribute time-out.
    pub ttl: Duration,
    /// FOPEN_* flags for OPEN and CREATE.
    pub file_open_flags: u32,
    /// FOPEN_* flags for OPENDIR.
    pub dir_open_flags: u32,
    /// How long the kernel may remember that a name does not exist (0:
    /// LOOKUP answers ENOENT, which the kernel does not cache).
    pub negative_ttl: Duration,
}

/// A HashMap-based tree; node id == st_ino. Node ids are never reused, and
/// a node stays in the map after its last name is gone (the kernel may
/// still hold it open).
pub struct MemFs {
    st: Mutex<State>,
    config: MemFsConfig,
    /// What reached the handlers.
    pub stats: MemFsStats,
    /// The session's notifier (see [`FuseOps::attach`]).
    notifier: std::sync::OnceLock<Notifier>,
    /// The nodes the kernel holds: READDIRPLUS leaves out the attributes
    /// of those it has fresh, as the ext4 adapter does (a choice about the
    /// protocol, so the floor makes it too).
    held: HeldNodes,
}

/// The largest file: data lives in memory, and a write far beyond it must
/// fail (EFBIG) rather than abort the server on a failed allocation.
const MAX_FILE_SIZE: u64 = 1 << 32;

/// The handle of an open of `nodeid`: its node id, which read and write
/// check.
fn handle_of(nodeid: NodeId) -> FileHandle {
    FileHandle(nodeid.0)
}

/// `offset + len` as an in-memory size, or EFBIG.
fn end_of(offset: u64, len: u64) -> OpResult<usize> {
    match offset.checked_add(len) {
        Some(end) if end <= MAX_FILE_SIZE => Ok(end as usize),
        _ => Err(Errno(libc::EFBIG)),
    }
}

fn now() -> Timespec {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timespec {
        sec: d.as_secs() as i64,
        nsec: d.subsec_nanos(),
    }
}

fn kind_of(mode: u32) -> u8 {
    match mode & libc::S_IFMT {
        libc::S_IFDIR => libc::DT_DIR,
        libc::S_IFLNK => libc::DT_LNK,
        libc::S_IFIFO => libc::DT_FIFO,
        libc::S_IFCHR => libc::DT_CHR,
        libc::S_IFBLK => libc::DT_BLK,
        libc::S_IFSOCK => libc::DT_SOCK,
        _ => libc::DT_REG,
    }
}

impl Node {
    fn sync_size(&mut self) {
        self.attr.size = self.data.len() as u64;
        self.attr.blocks = self.attr.size.div_ceil(512);
    }
}

impl MemFs {
    /// An empty filesystem (a root directory owned by root, mode 0755).
    pub fn new(config: MemFsConfig) -> Self {
        let mut nodes = HashMap::new();
        let t = now();
        let mut root = new_attr(1, 0o40755, 4096, 2);
        root.atime = t;
        root.mtime = t;
        root.ctime = t;
        nodes.insert(
            NodeId::ROOT,
            Node {
                attr: root,
                kind: libc::DT_DIR,
                data: Vec::new(),
                target: Vec::new(),
                children: BTreeMap::new(),
                xattrs: BTreeMap::new(),
            },
        );
        MemFs {
            st: Mutex::new(State { nodes, next: 2 }),
            config,
            stats: MemFsStats::default(),
            notifier: std::sync::OnceLock::new(),
            held: HeldNodes::default(),
        }
    }

    /// `e` as it goes to the kernel in a reply: one lookup more of its
    /// node (node id == st_ino here).
    fn handed(&self, e: Entry) -> Entry {
        if !e.is_negative() {
            self.held.took(e.nodeid.0, e.nodeid, Stamp::now());
        }
        e
    }

    /// The kernel's lookups of `nodeid` as counted (for tests).
    pub fn kernel_lookups(&self, nodeid: NodeId) -> u32 {
        self.held.count(nodeid.0, nodeid)
    }

    fn entry_of(&self, n: &Node) -> Entry {
        Entry {
            nodeid: NodeId(n.attr.ino),
            generation: 1,
            attr: n.attr,
            entry_ttl: self.config.ttl,
            attr_ttl: self.config.ttl,
        }
    }

    /// `mode` with the caller's `umask` applied, counted in
    /// `stats.umasks` (MKNOD, MKDIR and CREATE carry one; TMPFILE's is
    /// applied uncounted).
    fn umasked(&self, mode: u32, umask: u32) -> u32 {
        self.stats.umasks.fetch_add(1, Ordering::Relaxed);
        mode & !umask
    }

    /// Adds a new node named `name` in directory `parent`.
    fn add(
        &self,
        ctx: &RequestCtx,
        parent: NodeId,
        name: &[u8],
        mode: u32,
        target: &[u8],
    ) -> OpResult<Entry> {
        let mut st = self.st.lock();
        let id = NodeId(st.next);
        let p = st.nodes.get_mut(&parent).ok_or(Errno::ENOENT)?;
        if p.kind != libc::DT_DIR {
            return Err(Errno::ENOTDIR);
        }
        if p.children.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        p.children.insert(name.to_vec(), id);
        let t = now();
        p.attr.mtime = t;
        p.attr.ctime = t;
        let is_dir = mode & libc::S_IFMT == libc::S_IFDIR;
        if is_dir {
            p.attr.nlink += 1;
        }
        let mut a = new_attr(id.0, mode, target.len() as u64, if is_dir { 2 } else { 1 });
        (a.uid, a.gid) = (ctx.uid, ctx.gid);
        (a.atime, a.mtime, a.ctime, a.crtime) = (t, t, t, Some(t));
        let n = Node {
            attr: a,
            kind: kind_of(mode),
            data: Vec::new(),
            target: target.to_vec(),
            children: BTreeMap::new(),
            xattrs: BTreeMap::new(),
        };
        let e = self.entry_of(&n);
        st.nodes.insert(id, n);
        st.next += 1;
        Ok(e)
    }

    fn with<T>(&self, nodeid: NodeId, f: impl FnOnce(&mut Node) -> OpResult<T>) -> OpResult<T> {
        let mut st = self.st.lock();
        f(st.nodes.get_mut(&nodeid).ok_or(Errno::ENOENT)?)
    }

    fn child(st: &State, parent: NodeId, name: &[u8]) -> OpResult<NodeId> {
        st.nodes
            .get(&parent)
            .ok_or(Errno::ENOENT)?
            .children
            .get(name)
            .copied()
            .ok_or(Errno::ENOENT)
    }

    fn remove(&self, parent: NodeId, name: &[u8], dir: bool) -> OpResult<()> {
        let mut st = self.st.lock();
        let id = Self::child(&st, parent, name)?;
        let n = st.nodes.get_mut(&id).unwrap();
        if dir != (n.kind == libc::DT_DIR) {
            return Err(if dir { Errno::ENOTDIR } else { Errno::EISDIR });
        }
        if dir && !n.children.is_empty() {
            return Err(Errno::ENOTEMPTY);
        }
        n.attr.nlink = if dir { 0 } else { n.attr.nlink - 1 };
        n.attr.ctime = now();
        let p = st.nodes.get_mut(&parent).unwrap();
        p.children.remove(name);
        if dir {
            p.attr.nlink -= 1;
        }
        Ok(())
    }
}

impl FuseOps for MemFs {
    fn attach(&self, notifier: Notifier) {
        let _ = self.notifier.set(notifier);
    }
    fn lookup(&self, _: &RequestCtx, parent: NodeId, name: &[u8]) -> OpResult<Entry> {
        let st = self.st.lock();
        match Self::child(&st, parent, name) {
            Ok(id) => Ok(self.handed(self.entry_of(&st.nodes[&id]))),
            // Only a miss in a live directory is cached.
            Err(Errno::ENOENT)
                if !self.config.negative_ttl.is_zero() && st.nodes.contains_key(&parent) =>
            {
                Ok(Entry::negative(self.config.negative_ttl))
            }
            Err(e) => Err(e),
        }
    }
    fn forget(&self, nodeid: NodeId, nlookup: u64) {
        self.held.forgot(nodeid.0, nodeid, nlookup);
    }
    fn getattr(
        &self,
        _: &RequestCtx,
        nodeid: NodeId,
        _: Option<FileHandle>,
    ) -> OpResult<(Attr, Duration)> {
        self.with(nodeid, |n| Ok((n.attr, self.config.ttl)))
    }
    fn setattr(&self, _: &RequestCtx, nodeid: NodeId, set: &SetAttr) -> OpResult<(Attr, Duration)> {
        let resolve = |t: TimeOrNow| match t {
            TimeOrNow::Now => now(),
            TimeOrNow::Set(t) => t,
        };
        if set.atime == Some(TimeOrNow::Now) {
            self.stats.saw_atime_now.store(true, Ordering::Relaxed);
        }
        if set.mtime == Some(TimeOrNow::Now) {
            self.stats.saw_mtime_now.store(true, Ordering::Relaxed);
        }
        self.with(nodeid, |n| {
            if let Some(size) = set.size {
                if n.kind != libc::DT_REG {
                    return Err(Errno::EINVAL);
                }
                n.data.resize(end_of(size, 0)?, 0);
                n.sync_size();
                n.attr.mtime = now();
            }
            if let Some(m) = set.mode {
                n.attr.mode = (n.attr.mode & libc::S_IFMT) | (m & 0o7777);
            }
            if set.kill_suidgid {
                n.attr.mode &= !0o6000;
            }
            n.attr.uid = set.uid.unwrap_or(n.attr.uid);
            n.attr.gid = set.gid.unwrap_or(n.attr.gid);
            if let Some(t) = set.atime {
                n.attr.atime = resolve(t);
            }
            if let Some(t) = set.mtime {
                n.attr.mtime = resolve(t);
            }
            n.attr.ctime = set.ctime.unwrap_or_else(now);
            Ok((n.attr, self.config.ttl))
        })
    }
    fn readlink(&self, _: &RequestCtx, nodeid: NodeId) -> OpResult<Vec<u8>> {
        self.with(nodeid, |n| {
            if n.kind == libc::DT_LNK {
                Ok(n.target.clone())
            } else {
                Err(Errno::EINVAL)
            }
        })
    }
    fn mknod(
        &self,
        ctx: &RequestCtx,
        parent: NodeId,
        name: &[u8],
        mode: u32,
        _rdev: u32,
        umask: u32,
    ) -> OpResult<Entry> {
        self.add(ctx, parent, name, self.umasked(mode, umask), b"")
            .map(|e| self.handed(e))
    }
    fn mkdir(
        &self,
        ctx: &RequestCtx,
        parent: NodeId,
        name: &[u8],
        mode: u32,
        umask: u32,
    ) -> OpResult<Entry> {
        let mode = libc::S_IFDIR | self.umasked(mode & 0o7777, umask);
        self.add(ctx, parent, name, mode, b"")
            .map(|e| self.handed(e))
    }
    fn symlink(
        &self,
        ctx: &RequestCtx,
        parent: NodeId,
        name: &[u8],
        target: &[u8],
    ) -> OpResult<Entry> {
        self.add(ctx, parent, name, libc::S_IFLNK | 0o777, target)
            .map(|e| self.handed(e))
    }
    fn link(
        &self,
        _: &RequestCtx,
        nodeid: NodeId,
        newparent: NodeId,
        newname: &[u8],
    ) -> OpResult<Entry> {
        let mut st = self.st.lock();
        let p = st.nodes.get_mut(&newparent).ok_or(Errno::ENOENT)?;
        if p.children.contains_key(newname) {
            return Err(Errno::EEXIST);
        }
        p.children.insert(newname.to_vec(), nodeid);
        let n = st.nodes.get_mut(&nodeid).ok_or(Errno::ENOENT)?;
        n.attr.nlink += 1;
        n.attr.ctime = now();
        Ok(self.handed(self.entry_of(n)))
    }
    fn unlink(&self, _: &RequestCtx, parent: NodeId, name: &[u8]) -> OpResult<()> {
        self.remove(parent, name, false)
    }
    fn rmdir(&self, _: &RequestCtx, parent: NodeId, name: &[u8]) -> OpResult<()> {
        self.remove(parent, name, true)
    }
    fn rename(
        &self,
        _: &RequestCtx,
        parent: NodeId,
        name: &[u8],
        newparent: NodeId,
        newname: &[u8],
        flags: u32,
    ) -> OpResult<()> {
        let mut st = self.st.lock();
        let src = Self::child(&st, parent, name)?;
        let dst = Self::child(&st, newparent, newname).ok();
        if flags & rename_flags::RENAME_EXCHANGE != 0 {
            let dst = dst.ok_or(Errno::ENOENT)?;
            st.nodes
                .get_mut(&parent)
                .unwrap()
                .children
                .insert(name.to_vec(), dst);
            st.nodes
                .get_mut(&newparent)
                .unwrap()
                .children
                .insert(newname.to_vec(), src);
            return Ok(());
        }
        if flags & !rename_flags::RENAME_NOREPLACE != 0 {
            return Err(Errno::EINVAL);
        }
        if let Some(dst) = dst {
            if flags & rename_flags::RENAME_NOREPLACE != 0 {
                return Err(Errno::EEXIST);
            }
            if dst == src {
                return Ok(());
            }
            let d = st.nodes.get_mut(&dst).unwrap();
            if d.kind == libc::DT_DIR && !d.children.is_empty() {
                return Err(Errno::ENOTEMPTY);
            }
            d.attr.nlink = d.attr.nlink.saturating_sub(1);
        }
        st.nodes.get_mut(&parent).unwrap().children.remove(name);
        st.nodes
            .get_mut(&newparent)
            .unwrap()
            .children
            .insert(newname.to_vec(), src);
        Ok(())
    }
    fn open(&self, _: &RequestCtx, nodeid: NodeId, flags: u32, open_flags: u32) -> OpResult<Open> {
        self.with(nodeid, |n| {
            if n.kind != libc::DT_REG {
                return Err(Errno::EISDIR);
            }
            // FUSE_ATOMIC_O_TRUNC: the truncation is ours.
            if flags as i32 & libc::O_TRUNC != 0 {
                n.data.clear();
                n.sync_size();
                if open_flags & abi::open_in_flags::FUSE_OPEN_KILL_SUIDGID != 0 {
                    n.attr.mode &= !0o6000;
                }
            }
            Ok(Open {
                fh: handle_of(nodeid),
                open_flags: self.config.file_open_flags,
            })
        })
    }
    fn create(
        &self,
        ctx: &RequestCtx,
        parent: NodeId,
        name: &[u8],
        mode: u32,
        umask: u32,
        _flags: u32,
    ) -> OpResult<(Entry, Open)> {
        let e = self.add(ctx, parent, name, self.umasked(mode, umask), b"")?;
        Ok((
            self.handed(e),
            Open {
                fh: handle_of(e.nodeid),
                open_flags: self.config.file_open_flags,
            },
        ))
    }
    fn tmpfile(
        &self,
        ctx: &RequestCtx,
        parent: NodeId,
        mode: u32,
        umask: u32,
        _flags: u32,
    ) -> OpResult<(Entry, Open)> {
        // Linked under a hidden name and unlinked at once: an orphan.
        let e = self.add(ctx, parent, b".tmpfile", mode & !umask, b"")?;
        self.remove(parent, b".tmpfile", false)?;
        let mut e = e;
        e.attr.nlink = 0;
        Ok((
            self.handed(e),
            Open {
                fh: handle_of(e.nodeid),
                open_flags: self.config.file_open_flags,
            },
        ))
    }
    fn read(
        &self,
        _: &RequestCtx,
        nodeid: NodeId,
        fh: FileHandle,
        off: u64,
        size: u32,
    ) -> OpResult<Vec<u8>> {
        // Handles are node ids: another one is a transport bug.
        if fh != handle_of(nodeid) {
            return Err(Errno(libc::EBADF));
        }
        self.with(nodeid, |n| {
            let start = (off as usize).min(n.data.len());
            let end = start.saturating_add(size as usize).min(n.data.len());
            Ok(n.data[start..end].to_vec())
        })
    }
    fn write(
        &self,
        _: &RequestCtx,
        nodeid: NodeId,
        fh: FileHandle,
        off: u64,
        data: &[u8],
        write_flags: u32,
        _flags: u32,
    ) -> OpResult<u32> {
        // Handles are node ids: another one is a transport bug.
        if fh != handle_of(nodeid) {
            return Err(Errno(libc::EBADF));
        }
        self.stats
            .max_write
            .fetch_max(data.len() as u64, Ordering::Relaxed);
        let (written, killed) = self.with(nodeid, |n| {
            let end = end_of(off, data.len() as u64)?;
            if n.data.len() < end {
                n.data.resize(end, 0);
            }
            n.data[off as usize..end].copy_from_slice(data);
            n.sync_size();
            let kill = write_flags & abi::write_flags::FUSE_WRITE_KILL_SUIDGID != 0;
            let killed = kill && n.attr.mode & 0o6000 != 0;
            if kill {
                n.attr.mode &= !0o6000;
            }
            n.attr.mtime = now();
            Ok((data.len() as u32, killed))
        })?;
        // The kernel keeps its cached mode after a WRITE (as the ext4
        // adapter, see READ_WRITE_WANTED_FLAGS).
        if killed && let Some(notifier) = self.notifier.get() {
            let _ = notifier.inval_inode(nodeid, -1, 0);
        }
        Ok(written)
    }
    fn flush(&self, _: &RequestCtx, _nodeid: NodeId, _fh: FileHandle, _owner: u64) -> OpResult<()> {
        self.stats.flushes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
    fn fsync(
        &self,
        _: &RequestCtx,
        _nodeid: NodeId,
        _fh: FileHandle,
        datasync: bool,
    ) -> OpResult<()> {
        if datasync {
            self.stats.datasyncs.fetch_add(1, Ordering::Relaxed);
        } else {
            self.stats.fsyncs.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
    fn fsyncdir(
        &self,
        _: &RequestCtx,
        _nodeid: NodeId,
        _fh: FileHandle,
        _datasync: bool,
    ) -> OpResult<()> {
        Ok(())
    }
    fn fallocate(
        &self,
        _: &RequestCtx,
        nodeid: NodeId,
        _fh: FileHandle,
        off: u64,
        len: u64,
        mode: u32,
    ) -> OpResult<()> {
        if mode != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        self.with(nodeid, |n| {
            let end = end_of(off, len)?;
            if n.data.len() < end {
                n.data.resize(end, 0);
                n.sync_size();
            }
            Ok(())
        })
    }
    fn copy_file_range(
        &self,
        _: &RequestCtx,
        nodeid_in: NodeId,
        _fh_in: FileHandle,
        off_in: u64,
        nodeid_out: NodeId,
        _fh_out: FileHandle,
        off_out: u64,
        len: u64,
        _flags: u64,
    ) -> OpResult<u64> {
        self.stats.copies.fetch_add(1, Ordering::Relaxed);
        let mut st = self.st.lock();
        let src = &st.nodes.get(&nodeid_in).ok_or(Errno::ENOENT)?.data;
        let start = (off_in as usize).min(src.len());
        let end = start.saturating_add(len as usize).min(src.len());
        let bytes = src[start..end].to_vec();
        let out = st.nodes.get_mut(&nodeid_out).ok_or(Errno::ENOENT)?;
        let oend = end_of(off_out, bytes.len() as u64)?;
        if out.data.len() < oend {
            out.data.resize(oend, 0);
        }
        out.data[off_out as usize..oend].copy_from_slice(&bytes);
        out.sync_size();
        Ok(bytes.len() as u64)
    }
    fn opendir(&self, _: &RequestCtx, nodeid: NodeId, _flags: u32) -> OpResult<Open> {
        self.with(nodeid, |n| {
            if n.kind == libc::DT_DIR {
                Ok(Open {
                    fh: FileHandle(0),
                    open_flags: self.config.dir_open_flags,
                })
            } else {
                Err(Errno::ENOTDIR)
            }
        })
    }
    fn readdir(
        &self,
        _: &RequestCtx,
        nodeid: NodeId,
        _fh: FileHandle,
        offset: u64,
        plus: bool,
        sink: &mut dyn DirSink,
    ) -> OpResult<()> {
        let st = self.st.lock();
        let me = st.nodes.get(&nodeid).ok_or(Errno::ENOENT)?;
        let (at, window) = (Stamp::now(), Window::of(self.config.ttl, self.config.ttl));
        let list = me
            .children
            .iter()
            .map(|(k, v)| (k.as_slice(), &st.nodes[v]));
        for (i, (name, n)) in list.enumerate().skip(offset as usize) {
            let d = DirEntry {
                ino: n.attr.ino,
                next_offset: i as u64 + 1,
                kind: n.kind,
                name,
            };
            // READDIRPLUS answers lookups too, as fuse4fs's adapter does,
            // except for nodes the kernel holds with fresh attributes.
            let entry =
                (plus && !self.held.fresh(n.attr.ino, at, window)).then(|| self.entry_of(n));
            if !sink.add(&d, entry.as_ref()) {
                break;
            }
            if let Some(e) = entry {
                self.held.took(e.nodeid.0, e.nodeid, at);
            }
        }
        Ok(())
    }
    fn statfs(&self, _: &RequestCtx, _nodeid: NodeId) -> OpResult<StatFs> {
        Ok(StatFs {
            blocks: 1 << 20,
            bfree: 1 << 19,
            bavail: 1 << 19,
            files: 1000,
            ffree: 900,
            bsize: 4096,
            namelen: 255,
            frsize: 4096,
        })
    }
    fn setxattr(
        &self,
        _: &RequestCtx,
        nodeid: NodeId,
        name: &[u8],
        value: &[u8],
        flags: u32,
        _setxattr_flags: u32,
    ) -> OpResult<()> {
        self.with(nodeid, |n| {
            let exists = n.xattrs.contains_key(name);
            if flags & xattr_flags::XATTR_CREATE != 0 && exists {
                return Err(Errno::EEXIST);
            }
            if flags & xattr_flags::XATTR_REPLACE != 0 && !exists {
                return Err(Errno::ENODATA);
            }
            n.xattrs.insert(name.to_vec(), value.to_vec());
            Ok(())
        })
    }
    fn getxattr(&self, _: &RequestCtx, nodeid: NodeId, name: &[u8]) -> OpResult<Vec<u8>> {
        self.with(nodeid, |n| {
            n.xattrs.get(name).cloned().ok_or(Errno::ENODATA)
        })
    }
    fn listxattr(&self, _: &RequestCtx, nodeid: NodeId) -> OpResult<Vec<u8>> {
        self.with(nodeid, |n| {
            Ok(n.xattrs
                .keys()
                .flat_map(|k| k.iter().copied().chain([0]))
                .collect())
        })
    }
    fn removexattr(&self, _: &RequestCtx, nodeid: NodeId, name: &[u8]) -> OpResult<()> {
        self.with(nodeid, |n| {
            n.xattrs.remove(name).map(|_| ()).ok_or(Errno::ENODATA)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuse::ids::RequestId;

    const CTX: RequestCtx = RequestCtx {
        unique: RequestId(1),
        uid: 0,
        gid: 0,
        pid: 1,
    };

    #[test]
    fn writes_far_beyond_the_size_limit_fail_with_efbig() {
        let fs = MemFs::new(MemFsConfig::default());
        let (e, open) = fs
            .create(&CTX, NodeId(1), b"f", 0o100644, 0o022, 0)
            .unwrap();
        let id = e.nodeid;
        assert_eq!(fs.write(&CTX, id, open.fh, 10, b"abc", 0, 0), Ok(3));
        let far = fs.write(&CTX, id, open.fh, 1 << 40, b"abc", 0, 0);
        assert_eq!(far, Err(Errno(libc::EFBIG)));
        let wrap = fs.write(&CTX, id, open.fh, u64::MAX - 1, b"abc", 0, 0);
        assert_eq!(wrap, Err(Errno(libc::EFBIG)));
        let grow = SetAttr {
            size: Some(u64::MAX),
            ..Default::default()
        };
        assert_eq!(fs.setattr(&CTX, id, &grow).err(), Some(Errno(libc::EFBIG)));
        assert_eq!(fs.getattr(&CTX, id, None).unwrap().0.size, 13);
    }

    /// Each listed name with whether its entry carried a node.
    struct Names(Vec<(Vec<u8>, bool)>);

    impl DirSink for Names {
        fn add(&mut self, d: &DirEntry<'_>, e: Option<&Entry>) -> bool {
            self.0.push((d.name.to_vec(), e.is_some()));
            true
        }
    }

    fn listed(fs: &MemFs) -> Vec<(Vec<u8>, bool)> {
        let mut names = Names(Vec::new());
        fs.readdir(&CTX, NodeId::ROOT, FileHandle(0), 0, true, &mut names)
            .unwrap();
        names.0
    }

    #[test]
    fn listings_leave_out_the_nodes_the_kernel_holds() {
        let fs = MemFs::new(MemFsConfig {
            ttl: Duration::from_secs(3600),
            ..Default::default()
        });
        let (e, _) = fs
            .create(&CTX, NodeId::ROOT, b"f", 0o100644, 0o022, 0)
            .unwrap();
        assert_eq!(fs.kernel_lookups(e.nodeid), 1);
        assert_eq!(listed(&fs), [(b"f".to_vec(), false)]);
        fs.forget(e.nodeid, 1);
        assert_eq!(fs.kernel_lookups(e.nodeid), 0);
        assert_eq!(listed(&fs), [(b"f".to_vec(), true)]);
        assert_eq!(fs.kernel_lookups(e.nodeid), 1);
        // Zero time-outs: nothing the kernel holds stays fresh there.
        let zero = MemFs::new(MemFsConfig::default());
        zero.mkdir(&CTX, NodeId::ROOT, b"d", 0o755, 0).unwrap();
        assert_eq!(listed(&zero), [(b"d".to_vec(), true)]);
    }
}
