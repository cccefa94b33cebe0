//! The request adapter: maps FUSE requests onto [`Fs`] operations.
//!
//! Node ids are derived from the inode, never stored
//! ([`NodeId::from_inode`]). A node id whose inode was freed or reused
//! answers ESTALE. Which nodes the kernel holds is counted
//! ([`HeldNodes`]) only to leave their attributes out of listings.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::held::{HeldNodes, Stamp, Window};
use super::ids::{FileHandle, NodeId};
use super::notify::DirAttrReplies;
use super::ops::{
    Attr, DirEntry, DirSink, Entry, Errno, FuseOps, Ioctl, IoctlReply, OpResult, Open, RequestCtx,
    SetAttr, StatFs, TimeOrNow, Timespec, xattr_flags,
};
use crate::ext4::InodeNo;
use crate::ext4::dir::ft_to_dtype;
use crate::ext4::inode::{Inode, Timestamp, mode};
use crate::fs::copy::CopyTo;
use crate::fs::create::NewNode;
use crate::fs::file::SeekWhat;
use crate::fs::permission::{Caller, access, cap, open_access};
use crate::fs::rename::Renamer;
use crate::fs::setattr::{Changes, SetTime};
use crate::fs::sync_mode::Change;
use crate::fs::xattr::write::SetMode;
use crate::fs::{Fs, FsError, InodeRef};

/// FOPEN_KEEP_CACHE: the page cache stays valid across opens.
const FOPEN_KEEP_CACHE: u32 = 1 << 1;
/// FOPEN_CACHE_DIR: the kernel may cache readdir results.
const FOPEN_CACHE_DIR: u32 = 1 << 3;
/// FOPEN_NOFLUSH: no FLUSH at each close(2) of the file (Linux 5.16). A
/// FLUSH has nothing to do here: writes are written through before they
/// are answered (no writeback cache), POSIX locks are the kernel's own
/// (FUSE_POSIX_LOCKS is not asked for), and a close must not wait for a
/// server that is being restarted (a FLUSH waits unkillably).
const FOPEN_NOFLUSH: u32 = 1 << 5;
const SEEK_DATA: u32 = 3;
const SEEK_HOLE: u32 = 4;

/// The inode a change is for, as `inode` was when it was read.
fn target_of(inode: &Inode) -> InodeRef {
    InodeRef {
        ino: inode.ino,
        generation: Some(inode.generation),
    }
}

/// Serves an ext4 filesystem over the FUSE transport.
pub struct Ext4Adapter {
    fs: Fs,
    /// How long the kernel may cache entries and attributes.
    ttl: Duration,
    /// POSIX ACLs are served (`-o acl`): system.posix_acl_* may be set.
    acl: bool,
    /// How long the kernel may cache a name, in nanoseconds (0 when the
    /// server checks permissions: every path walk must come here to be
    /// checked; see also [`Ext4Adapter::limit_entry_ttl`]).
    entry_ttl_ns: AtomicU64,
    /// The server checks permissions (`no_default_permissions`).
    checks: Option<Checks>,
    /// Every caller passes the server's permission checks as root would
    /// (fuse2fs's `-o fakeroot`).
    fakeroot: bool,
    /// statfs counts every block of the filesystem, metadata too (ext4's
    /// and fuse2fs's `minixdf`), not only what files can use (`bsddf`).
    minixdf: bool,
    /// The session's notifier (see [`FuseOps::attach`]).
    notifier: std::sync::OnceLock<super::notify::Notifier>,
    /// Which replies carrying directories' attributes may be unapplied,
    /// to leave out the notification after an entry change where none
    /// can be; None: always notify (a connection this server did not
    /// initialise, see [`Ext4Adapter::with_dir_reply_proofs`]).
    dir_replies: Option<DirAttrReplies>,
    /// The nodes the kernel holds: a READDIRPLUS entry for one whose
    /// attributes are fresh there goes without them (no inode read).
    /// Empty at start, also when adopting a live connection: every entry
    /// is then sent whole once (see [`HeldNodes`]).
    held: HeldNodes,
}

/// How the server checks permissions when the kernel does not.
#[derive(Debug, Clone, Copy)]
struct Checks {
    /// The host's fs.protected_hardlinks.
    protected_hardlinks: bool,
}

const O_ACCMODE: u32 = 0o3;
const O_TRUNC: u32 = 0o1000;
const O_APPEND: u32 = 0o2000;
const S_ISUID: u16 = 0o4000;
const S_ISGID: u16 = 0o2000;

/// The file handle of an open: the open flags that matter later (the
/// access mode and O_APPEND, which copy_file_range must honour). Kept in
/// the handle itself, so it means the same to a restarted server.
fn handle_of(flags: u32) -> FileHandle {
    FileHandle((flags & (O_ACCMODE | O_APPEND)) as u64)
}

impl Ext4Adapter {
    /// `ttl` is how long the kernel may trust what it was told (long for a
    /// read-only mount: nothing changes underneath).
    pub fn new(fs: Fs, ttl: Duration) -> Self {
        Ext4Adapter {
            fs,
            ttl,
            acl: false,
            entry_ttl_ns: AtomicU64::new(ttl.as_nanos() as u64),
            checks: None,
            fakeroot: false,
            minixdf: false,
            notifier: std::sync::OnceLock::new(),
            dir_replies: None,
            held: HeldNodes::default(),
        }
    }

    /// Leaves out a directory's attribute notification after an entry
    /// change in it when every reply that carried its attributes is known
    /// applied ([`DirAttrReplies`]). Only for a connection this server
    /// initialised: a dead predecessor's replies may still be unapplied,
    /// and nothing records who asked for them.
    pub fn with_dir_reply_proofs(mut self, on: bool) -> Self {
        self.dir_replies = on.then(DirAttrReplies::default);
        self
    }

    /// The server checks every request's permissions itself: for a mount
    /// without `default_permissions`, where the kernel leaves them to it.
    /// Names are then not cached by the kernel (a cached name would skip
    /// the search permission check of a path walk).
    pub fn with_permission_checks(mut self, on: bool) -> Self {
        self.checks = on.then(|| Checks {
            protected_hardlinks: super::credentials::protected_hardlinks(),
        });
        let ttl = if on { Duration::ZERO } else { self.ttl };
        self.entry_ttl_ns = AtomicU64::new(ttl.as_nanos() as u64);
        self
    }

    /// Every caller passes the server's permission checks as root would,
    /// keeping its own ids for what it creates (fuse2fs's `-o fakeroot`:
    /// an image built by a plain user can hold root's files). Only where
    /// the server checks: with [`Ext4Adapter::with_permission_checks`].
    pub fn with_fakeroot(mut self, on: bool) -> Self {
        self.fakeroot = on;
        self
    }

    /// statfs reports the whole filesystem's size (`minixdf`) rather than
    /// the size less the metadata overhead (`bsddf`, the default).
    pub fn with_minixdf(mut self, on: bool) -> Self {
        self.minixdf = on;
        self
    }

    /// The caller of `ctx` for a permission decision (`for_access`: an
    /// ACCESS request): as root with `fakeroot`.
    fn decider(&self, ctx: &RequestCtx, for_access: bool) -> Caller {
        if self.fakeroot {
            super::credentials::fake_root(ctx)
        } else {
            super::credentials::caller(ctx, for_access)
        }
    }

    /// Caps how long the kernel may cache names. A read-write mount's
    /// long entry time-out relies on a recovering server making every
    /// cached dentry revalidate (FUSE_NOTIFY_INC_EPOCH, protocol 7.44):
    /// on an older kernel a checker run at recovery could leave a name
    /// cached that it removed, so names keep a short time-out there. Set
    /// before the session serves.
    pub fn limit_entry_ttl(&self, max: Duration) {
        self.entry_ttl_ns
            .fetch_min(max.as_nanos() as u64, Ordering::Relaxed);
    }

    /// How long the kernel may cache a name.
    fn entry_ttl(&self) -> Duration {
        Duration::from_nanos(self.entry_ttl_ns.load(Ordering::Relaxed))
    }

    /// The caller to check `ctx` as, when the server checks permissions.
    fn caller(&self, ctx: &RequestCtx) -> Option<Caller> {
        self.checks.is_some().then(|| self.decider(ctx, false))
    }

    /// Runs the check `f` under a view for the caller of `ctx`, when the
    /// server checks permissions; nothing otherwise.
    fn check(
        &self,
        ctx: &RequestCtx,
        f: impl FnOnce(&Fs, &Caller) -> Result<(), FsError>,
    ) -> OpResult<()> {
        match self.caller(ctx) {
            Some(c) => self.viewed(|fs| f(fs, &c)),
            None => Ok(()),
        }
    }

    /// May the caller of `ctx` make an entry in `parent`?
    fn check_create(&self, ctx: &RequestCtx, parent: NodeId) -> OpResult<()> {
        let acl = self.acl;
        self.check(ctx, |fs, c| {
            fs.check_create(c, &Self::live(fs, parent)?, acl)
        })
    }

    /// A node `make` adds to directory `parent` (MKNOD, MKDIR, SYMLINK,
    /// CREATE), once the caller of `ctx` may make an entry there: the change
    /// settled, then [`Ext4Adapter::dir_changed`], as for every change to
    /// its entries.
    fn make_in(
        &self,
        ctx: &RequestCtx,
        parent: NodeId,
        make: impl FnOnce(&Fs, InodeRef) -> Result<Inode, FsError>,
    ) -> OpResult<Inode> {
        let p = self.target(parent)?;
        self.check_create(ctx, parent)?;
        let inode = self.settled(make(&self.fs, p), &[Change::Entries(p.ino)])?;
        self.dir_changed(parent);
        Ok(inode)
    }

    /// UNLINK and RMDIR: `remove` takes `name` out of `parent` once the
    /// caller may delete it, then the parent's attributes are stale.
    fn remove_in(
        &self,
        ctx: &RequestCtx,
        parent: NodeId,
        name: &[u8],
        remove: impl FnOnce(&Fs, InodeRef, &[u8]) -> Result<(), FsError>,
    ) -> OpResult<()> {
        let _quota = super::credentials::quota_requester(ctx);
        let p = self.target(parent)?;
        self.check(ctx, |fs, c| {
            fs.check_delete(c, &Self::live(fs, parent)?, name, self.acl)
        })?;
        self.settled(remove(&self.fs, p, name), &[Change::Entries(p.ino)])?;
        self.dir_changed(parent);
        Ok(())
    }

    /// Serves POSIX ACLs (the kernel enforces them with FUSE_POSIX_ACL).
    pub fn with_acl(mut self, acl: bool) -> Self {
        self.acl = acl;
        self
    }

    /// The inode number behind a node id, checked to be alive.
    fn ino(&self, nodeid: NodeId) -> OpResult<InodeNo> {
        self.node(nodeid).map(|i| i.ino)
    }

    /// The inode a change through `nodeid` is for: its number and
    /// generation, checked again under the inode's lock by the change.
    fn target(&self, nodeid: NodeId) -> OpResult<InodeRef> {
        self.node(nodeid).map(|i| target_of(&i))
    }

    fn fs_err<T>(&self, r: Result<T, FsError>) -> OpResult<T> {
        r.map_err(|e| self.errno(e))
    }

    /// A change's result, made durable first when `sync`, `dirsync` or
    /// the inodes' flags ask (see [`Fs::settle`]).
    fn settled<T>(&self, r: Result<T, FsError>, changes: &[Change]) -> OpResult<T> {
        let v = self.fs_err(r)?;
        self.fs_err(self.fs.settle(changes))?;
        Ok(v)
    }

    /// Counts a read or a listing that reached the server for atime; a
    /// failed update does not fail the read (as touch_atime). When it set
    /// atime the kernel marks only atime stale after the reply (READ,
    /// READDIR, READLINK: fuse_invalidate_atime), which a GETATTR answered
    /// before the update but processed after it would undo for the whole
    /// attribute time-out: see `attrs_changed`.
    fn accessed(&self, nodeid: NodeId, inode: &Inode) {
        match self.fs.note_access(inode) {
            Ok(true) => self.attrs_changed(nodeid),
            Ok(false) => {}
            Err(e) => tracing::warn!("atime of inode {}: {e}", inode.ino.0),
        }
    }

    /// `nodeid`'s attributes changed in a way the kernel marks stale after
    /// the reply without moving the inode's attribute version
    /// (fuse_invalidate_attr_mask: a directory's after an entry changed in
    /// it, ctime after SETXATTR, REMOVEXATTR and RENAME, the times and
    /// blocks after FALLOCATE with KEEP_SIZE, atime after a read). A
    /// GETATTR the server answered before the change but the kernel
    /// processes after its invalidation would then be kept for the whole
    /// attribute time-out; the notification, sent before the reply, moves
    /// the attribute version so that the kernel drops such a GETATTR
    /// answer. It is a write(2) to /dev/fuse, not a round trip.
    fn attrs_changed(&self, nodeid: NodeId) {
        self.invalidate(nodeid, -1, "attributes");
    }

    /// Directory `nodeid`'s entries changed (the kernel's
    /// `fuse_dir_changed` marks its attributes stale): [`attrs_changed`]
    /// (Self::attrs_changed), unless no reply carrying its attributes can
    /// still be unapplied ([`DirAttrReplies`]).
    fn dir_changed(&self, nodeid: NodeId) {
        if self.dir_replies.as_ref().is_none_or(|d| d.changed(nodeid)) {
            self.attrs_changed(nodeid);
        }
    }

    /// An open: checked live and counted under the inode's lock (an
    /// unlink in between would free the inode under the open), so an
    /// unlinked file lives until its release; O_TRUNC (FUSE_ATOMIC_O_TRUNC)
    /// truncates here, whatever the access mode: Linux truncates on
    /// O_RDONLY|O_TRUNC too (the open needed write permission), and the
    /// kernel sets its cached size to 0 after it. The setuid/setgid bits
    /// of `drop` (asked by FUSE_OPEN_KILL_SUIDGID) go with the truncation,
    /// as with the kernel's own O_TRUNC by a caller without CAP_FSETID.
    fn open_inode(&self, inode: &Inode, flags: u32, drop: u16) -> OpResult<Open> {
        let inode = self.fs_err(self.fs.open_live(inode.ino, Some(inode.generation)))?;
        let kill = drop & inode.mode != 0;
        if flags & O_TRUNC != 0 && inode.is_reg() && (inode.size != 0 || kill) {
            let c = Changes {
                size: (inode.size != 0).then_some(0),
                drop_suidgid: drop,
                ..Default::default()
            };
            let truncated = self.settled(
                self.fs.setattr(target_of(&inode), &c),
                &[Change::Inode(inode.ino)],
            );
            if let Err(e) = truncated {
                let _ = self.fs.released(inode.ino);
                return Err(e);
            }
            self.mode_changed(
                NodeId::from_inode(inode.ino, inode.generation),
                &inode,
                kill,
            );
        }
        // A read that must set atime has to reach the server: the kernel
        // drops its cached pages at an open without KEEP_CACHE.
        let keep = if self.fs.access_sets_atime(&inode) {
            0
        } else {
            FOPEN_KEEP_CACHE
        };
        Ok(Open {
            fh: handle_of(flags),
            open_flags: keep | FOPEN_NOFLUSH,
        })
    }

    /// chattr/lsattr: reads or sets the flags (and project id) of
    /// `nodeid` for the caller of `ctx`.
    fn attr_ioctl(
        &self,
        ctx: &RequestCtx,
        nodeid: NodeId,
        req: super::attr_flags::AttrIoctl,
        out_size: u32,
    ) -> OpResult<IoctlReply> {
        use super::attr_flags::{AttrIoctl, flags_reply, fsxattr_reply};
        let node = self.target(nodeid)?;
        let set = match req {
            AttrIoctl::GetFlags => {
                return Ok(flags_reply(
                    self.fs_err(self.fs.get_flags(node.ino))?,
                    out_size,
                ));
            }
            AttrIoctl::GetXattr => {
                return Ok(fsxattr_reply(
                    self.fs_err(self.fs.get_fsxattr(node.ino))?,
                    out_size,
                ));
            }
            AttrIoctl::SetFlags(f) => {
                let c = self.decider(ctx, false);
                self.fs.set_flags(node, &c, f)
            }
            AttrIoctl::SetXattr(x) => {
                let c = self.decider(ctx, false);
                self.fs.set_fsxattr(node, &c, x)
            }
        };
        self.settled(set, &[Change::Inode(node.ino)])?;
        self.attrs_changed(nodeid);
        Ok(IoctlReply::default())
    }

    /// The setuid/setgid bits a change of `inode`'s data by the caller of
    /// `ctx` clears, when the change clears them at all (`asked`: the
    /// kernel's KILL_SUIDGID flag, or an operation that always does). The
    /// kernel's flag says only that the caller lacks CAP_FSETID: which
    /// bits go depends on the mode and on the caller's groups (a setgid
    /// file without group execute loses the bit only to a writer outside
    /// its group), read only when a bit is set.
    fn suidgid_to_drop(&self, ctx: &RequestCtx, inode: &Inode, asked: bool) -> u16 {
        if !asked || inode.mode & (S_ISUID | S_ISGID) == 0 {
            return 0;
        }
        (self.fs).suidgid_to_drop(&super::credentials::caller(ctx, false), inode)
    }

    /// Setuid/setgid may have been cleared by a change of `inode`'s data
    /// (`kill`): the kernel must not keep the mode it has cached. With
    /// FUSE_HANDLE_KILLPRIV_V2 it leaves the clearing to the server and,
    /// after a WRITE, marks only size and times stale (a `stat` asking for
    /// the mode alone kept seeing the bits for the attribute time-out).
    /// Sent before the answer: a GETATTR answered in between is older than
    /// the invalidation and the kernel drops it.
    fn mode_changed(&self, nodeid: NodeId, inode: &Inode, kill: bool) {
        if !kill || inode.mode & (S_ISUID | S_ISGID) == 0 {
            return;
        }
        self.invalidate(nodeid, -1, "mode");
    }

    /// The server changed what a listing of directory `nodeid` shows
    /// without the kernel knowing: its cached pages (FOPEN_CACHE_DIR) and
    /// attributes go. Sent before the answer, as `mode_changed`.
    fn listing_changed(&self, nodeid: NodeId) {
        self.invalidate(nodeid, 0, "listing");
    }

    /// Drops the kernel's cached attributes (off < 0) or attributes and
    /// pages from `off` of `nodeid`; a node the kernel does not hold is
    /// nothing to do.
    fn invalidate(&self, nodeid: NodeId, off: i64, what: &str) {
        // The next listing carries the node's attributes again (as every
        // listing did before `held`): a kill loop's treedump once saw an
        // atime older than the one on disk when listings left it out.
        self.held.renew(u64::from(nodeid.inode().0));
        if let Some(n) = self.notifier.get() {
            n.drop_cached(nodeid, off, what);
        }
    }

    fn release_inode(&self, nodeid: NodeId) -> OpResult<()> {
        let ino = nodeid.inode();
        self.fs_err(self.fs.released(ino))
    }

    fn check_xattr_name(&self, name: &[u8]) -> OpResult<()> {
        if name.starts_with(b"system.posix_acl_") && !self.acl {
            return Err(Errno::EOPNOTSUPP);
        }
        Ok(())
    }

    /// The filesystem served.
    pub fn fs(&self) -> &Fs {
        &self.fs
    }

    /// Loads the inode behind a node id, or ESTALE.
    fn node(&self, nodeid: NodeId) -> OpResult<Inode> {
        let (ino, generation) = (nodeid.inode(), nodeid.generation());
        self.viewed(|fs| fs.live_inode(ino, generation))
    }

    /// Runs a reading step under the filesystem's read view (so it never
    /// sees half a commit); errors are mapped after the view is dropped,
    /// since recording damage commits.
    fn viewed<T>(&self, f: impl FnOnce(&Fs) -> Result<T, FsError>) -> OpResult<T> {
        let r = {
            let _view = self.fs.read_view();
            f(&self.fs)
        };
        self.fs_err(r)
    }

    /// The live inode behind a node id, inside a view.
    fn live(fs: &Fs, nodeid: NodeId) -> Result<Inode, FsError> {
        let (ino, generation) = (nodeid.inode(), nodeid.generation());
        fs.live_inode(ino, generation)
    }

    /// The one place an [`FsError`] becomes an errno; damage is logged.
    fn errno(&self, e: FsError) -> Errno {
        if e.is_corruption() {
            tracing::error!("{e}");
            if self.fs.writable() {
                self.fs.record_error(&e, None, "fuse4fs");
            }
        }
        Errno(e.errno())
    }

    fn attr(&self, inode: &Inode) -> Attr {
        let ts = |t: Timestamp| Timespec {
            sec: t.sec,
            nsec: t.nsec,
        };
        let ft = inode.file_type();
        if ft == mode::S_IFDIR
            && let Some(d) = &self.dir_replies
        {
            let node = NodeId::from_inode(inode.ino, inode.generation);
            if d.noted(node) {
                self.attrs_changed(node);
            }
        }
        Attr {
            ino: inode.ino.0 as u64,
            size: self.fs.shown_size(inode),
            blocks: self.fs.shown_blocks(inode),
            atime: ts(self.fs.held_atime(inode).unwrap_or(inode.atime)),
            mtime: ts(inode.mtime),
            ctime: ts(inode.ctime),
            crtime: inode.crtime.map(ts),
            mode: inode.mode as u32,
            nlink: inode.links_count as u32,
            uid: inode.uid,
            gid: inode.gid,
            rdev: if ft == mode::S_IFCHR || ft == mode::S_IFBLK {
                inode.rdev()
            } else {
                0
            },
            blksize: self.fs.block_size(),
            statx_attributes: super::attr_flags::statx_attributes(inode.flags),
        }
    }

    /// [`entry`](Self::entry) for a name in directory node `parent`:
    /// not cached when the directory is casefolded.
    fn entry_under(&self, parent: NodeId, inode: &Inode) -> Entry {
        let e = self.entry(inode);
        // Loading the parent costs an inode read per CREATE, MKDIR...:
        // only where casefolding is possible at all.
        if self.fs.has_casefold()
            && self
                .node(parent)
                .is_ok_and(|d| self.fs.is_casefolded_dir(&d))
        {
            Self::uncached(e)
        } else {
            e
        }
    }

    /// An entry the kernel must look up again at every use: in a
    /// casefolded directory another spelling of the name may be created,
    /// removed or renamed without the kernel's case-sensitive dentry
    /// cache knowing this one is concerned.
    fn uncached(mut e: Entry) -> Entry {
        e.entry_ttl = Duration::ZERO;
        e
    }

    /// LOOKUP's answer: the entry for `name` in `parent`, negative where
    /// the kernel may keep the miss.
    fn find(&self, ctx: &RequestCtx, parent: NodeId, name: &[u8]) -> OpResult<Entry> {
        let caller = self.caller(ctx);
        // The directory is loaded once, for both the casefold question
        // and the search.
        let (inode, ci) = self.viewed(|fs| {
            let dir = Self::live(fs, parent)?;
            let ci = fs.is_casefolded_dir(&dir);
            if name == b"." {
                // Sent for any node type by open_by_handle_at: the node itself.
                return Ok((Some(dir), ci));
            }
            // ".." comes only from the kernel's export code (no path walk).
            if let Some(c) = caller.as_ref().filter(|_| name != b"..")
                && dir.is_dir()
            {
                fs.check_permission(c, &dir, access::EXEC, self.acl)?;
            }
            match fs.lookup(&dir, name) {
                Ok(found) => fs.entry_inode(found.ino).map(|i| (Some(i), ci)),
                Err(FsError::NotFound) => Ok((None, ci)),
                Err(e) => Err(e),
            }
        })?;
        match inode {
            Some(inode) if ci => Ok(Self::uncached(self.entry(&inode))),
            Some(inode) => Ok(self.entry(&inode)),
            // A casefolded directory's names are never cached: see
            // docs/casefold.md (the kernel's dentry cache is case-sensitive).
            None if ci => Err(Errno::ENOENT),
            // Every change to a directory comes through the kernel, which
            // turns the negative dentry positive itself (CREATE, MKDIR,
            // LINK, RENAME...); a recovering server bumps the dentry epoch.
            // With the server checking permissions names are not cached
            // at all (entry_ttl 0: a plain ENOENT).
            None if !self.entry_ttl().is_zero() => Ok(Entry::negative(self.entry_ttl())),
            None => Err(Errno::ENOENT),
        }
    }

    /// `e` as it goes to the kernel in a reply: a positive entry is one
    /// lookup more of its node.
    fn handed(&self, e: Entry) -> Entry {
        if !e.is_negative() {
            self.held.took(e.attr.ino, e.nodeid, Stamp::now());
        }
        e
    }

    /// How long the attributes of an entry sent now stay fresh in the
    /// kernel (`uncached`: a casefolded directory's entry, whose name the
    /// kernel does not keep).
    fn fresh_window(&self, uncached: bool) -> Window {
        let entry_ttl = if uncached {
            Duration::ZERO
        } else {
            self.entry_ttl()
        };
        Window::of(self.ttl, entry_ttl)
    }

    /// The kernel's lookups of `nodeid` as counted (for tests and tools).
    pub fn kernel_lookups(&self, nodeid: NodeId) -> u32 {
        self.held.count(u64::from(nodeid.inode().0), nodeid)
    }

    fn entry(&self, inode: &Inode) -> Entry {
        Entry {
            nodeid: NodeId::from_inode(inode.ino, inode.generation),
            // The kernel knows the root (node 1) with generation 0.
            generation: if inode.ino == InodeNo::ROOT {
                0
            } else {
                inode.generation.0 as u64
            },
            attr: self.attr(inode),
            entry_ttl: self.entry_ttl(),
            attr_ttl: self.ttl,
        }
    }
}

/// A node the caller creates with `mode` (type and permission bits).
fn new_node(ctx: &RequestCtx, mode: u16, umask: u32, rdev: u32) -> NewNode {
    NewNode {
        mode,
        uid: ctx.uid,
        gid: ctx.gid,
        umask,
        rdev,
    }
}

/// The caller of a rename, owner of the whiteout RENAME_WHITEOUT leaves.
fn renamer(ctx: &RequestCtx) -> Renamer {
    Renamer {
        uid: ctx.uid,
        gid: ctx.gid,
    }
}

fn timestamp(t: Timespec) -> Timestamp {
    Timestamp {
        sec: t.sec,
        nsec: t.nsec,
    }
}

/// Each method that may change the filesystem first names its caller for
/// quota limits ([`super::credentials::quota_requester`]): a limit that
/// would refuse the change then exempts a caller with CAP_SYS_RESOURCE.
impl FuseOps for Ext4Adapter {
    fn attach(&self, notifier: super::notify::Notifier) {
        let _ = self.notifier.set(notifier);
    }

    fn lookup(&self, ctx: &RequestCtx, parent: NodeId, name: &[u8]) -> OpResult<Entry> {
        self.find(ctx, parent, name).map(|e| self.handed(e))
    }

    fn forget(&self, nodeid: NodeId, nlookup: u64) {
        self.held
            .forgot(u64::from(nodeid.inode().0), nodeid, nlookup);
    }

    fn getattr(
        &self,
        _ctx: &RequestCtx,
        nodeid: NodeId,
        _fh: Option<FileHandle>,
    ) -> OpResult<(Attr, Duration)> {
        let inode = self.node(nodeid)?;
        Ok((self.attr(&inode), self.ttl))
    }

    fn readlink(&self, _ctx: &RequestCtx, nodeid: NodeId) -> OpResult<Vec<u8>> {
        // Reading a link counts as an access (touch_atime in vfs_readlink
        // and when a path walk follows it, both of which send READLINK).
        let (target, inode) = self.viewed(|fs| {
            let inode = Self::live(fs, nodeid)?;
            Ok((fs.readlink(&inode)?, inode))
        })?;
        self.accessed(nodeid, &inode);
        Ok(target)
    }

    fn open(
        &self,
        ctx: &RequestCtx,
        nodeid: NodeId,
        flags: u32,
        open_flags: u32,
    ) -> OpResult<Open> {
        let _quota = super::credentials::quota_requester(ctx);
        let inode = self.node(nodeid)?;
        if inode.is_dir() {
            return Err(Errno::EISDIR);
        }
        self.check(ctx, |fs, c| {
            fs.check_permission(c, &inode, open_access(flags), self.acl)
        })?;
        self.fs_err(crate::fs::attr_flags::may_open(&inode, flags))?;
        self.fs_err(self.fs.check_key_for_open(&inode))?;
        let kill = open_flags & super::abi::open_in_flags::FUSE_OPEN_KILL_SUIDGID != 0;
        let drop = self.suidgid_to_drop(ctx, &inode, kill && flags & O_TRUNC != 0);
        self.open_inode(&inode, flags, drop)
    }

    fn release(
        &self,
        _ctx: &RequestCtx,
        nodeid: NodeId,
        _fh: FileHandle,
        _flags: u32,
    ) -> OpResult<()> {
        self.release_inode(nodeid)
    }

    fn read(
        &self,
        _ctx: &RequestCtx,
        nodeid: NodeId,
        _fh: FileHandle,
        offset: u64,
        size: u32,
    ) -> OpResult<Vec<u8>> {
        let (data, inode) = self.viewed(|fs| {
            let inode = Self::live(fs, nodeid)?;
            if inode.is_dir() {
                return Err(FsError::IsDir);
            }
            Ok((fs.read(&inode, offset, size as usize)?, inode))
        })?;
        self.accessed(nodeid, &inode);
        Ok(data)
    }

    fn opendir(&self, ctx: &RequestCtx, nodeid: NodeId, _flags: u32) -> OpResult<Open> {
        let inode = self.node(nodeid)?;
        if !inode.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        self.check(ctx, |fs, c| {
            fs.check_permission(c, &inode, access::READ, self.acl)
        })?;
        self.fs_err(self.fs.open_live(inode.ino, Some(inode.generation)))?;
        // The kernel may keep the listing (FOPEN_CACHE_DIR; KEEP_CACHE so
        // that this open does not drop it) and reuses it while the
        // directory's iversion and cached mtime stand still: its own
        // changes in the directory bump them, and the server invalidates
        // the pages where it changes a listing itself (the ".." of a
        // directory moved to another parent: `rename`; recovery). A
        // listing that must set atime has to reach the server, as a read
        // of a file (see open_inode): such an open gets no flags, and the
        // kernel drops the cached listing and asks.
        let cache = if self.fs.access_sets_atime(&inode) {
            0
        } else {
            FOPEN_KEEP_CACHE | FOPEN_CACHE_DIR
        };
        Ok(Open {
            fh: FileHandle(0),
            open_flags: cache,
        })
    }

    fn releasedir(&self, _ctx: &RequestCtx, nodeid: NodeId, _fh: FileHandle) -> OpResult<()> {
        self.release_inode(nodeid)
    }

    fn readdir(
        &self,
        _ctx: &RequestCtx,
        nodeid: NodeId,
        _fh: FileHandle,
        offset: u64,
        plus: bool,
        sink: &mut dyn DirSink,
    ) -> OpResult<()> {
        let view = self.fs.read_view();
        let dir = match Self::live(&self.fs, nodeid) {
            Ok(d) => d,
            Err(e) => {
                drop(view);
                return Err(self.errno(e));
            }
        };
        let ci = self.fs.is_casefolded_dir(&dir);
        // A node the kernel holds with fresh attributes is listed without
        // them (node id 0): no inode read here, no dentry and inode update
        // in the kernel, which has what an entry would tell it (every
        // change comes through it or is notified). One clock read a reply.
        let (at, window) = (Stamp::now(), self.fresh_window(ci));
        // The nodes sent: the kernel takes a lookup of each only if the
        // listing is answered ("." and ".." never carry one here).
        let mut sent = Vec::new();
        let r = self.fs.readdir(&dir, offset, |e| {
            let dots = e.name == b"." || e.name == b"..";
            // An entry whose inode cannot be served is still listed,
            // without a lookup; its stat then answers the error.
            let inode = if plus && !dots && !self.held.fresh(u64::from(e.ino), at, window) {
                self.fs
                    .check_entry_target(&dir, e.ino, e.name)
                    .and_then(|()| self.fs.entry_inode(InodeNo(e.ino)))
                    .ok()
            } else {
                None
            };
            // The entry's own type, in plain and plus listings alike.
            let kind = ft_to_dtype(e.file_type);
            let dirent = DirEntry {
                ino: e.ino as u64,
                next_offset: e.next,
                kind,
                name: e.name,
            };
            let entry = inode.as_ref().map(|i| self.entry(i));
            let entry = entry.map(|e| if ci { Self::uncached(e) } else { e });
            let added = sink.add(&dirent, entry.as_ref());
            if added && let Some(e) = entry {
                sent.push((e.attr.ino, e.nodeid));
            }
            added
        });
        drop(view);
        self.fs_err(r)?;
        for (ino, node) in sent {
            self.held.took(ino, node, at);
        }
        self.accessed(nodeid, &dir);
        Ok(())
    }

    fn statfs(&self, _ctx: &RequestCtx, nodeid: NodeId) -> OpResult<StatFs> {
        let s = self.fs.stats();
        let blocks = if self.minixdf {
            self.fs.superblock().blocks_count
        } else {
            s.blocks
        };
        let mut v = [
            blocks,
            s.free_blocks,
            s.avail_blocks,
            s.inodes,
            s.free_inodes,
        ];
        // ext4_statfs: a project-inherit directory (the kernel's FUSE
        // client names the path's node) under prjquota shows its
        // project's limits.
        if self
            .fs
            .quota_enforced(crate::ext4::quota::QuotaType::Project)
            && let Some(p) = self.viewed(|fs| fs.project_statfs(&Self::live(fs, nodeid)?))?
        {
            v = p.clamp(v);
        }
        let [blocks, bfree, bavail, files, ffree] = v;
        Ok(StatFs {
            blocks,
            bfree,
            bavail,
            files,
            ffree,
            bsize: s.block_size,
            namelen: s.name_max,
            frsize: s.block_size,
        })
    }

    fn getxattr(&self, ctx: &RequestCtx, nodeid: NodeId, name: &[u8]) -> OpResult<Vec<u8>> {
        let caller = self.caller(ctx);
        self.viewed(|fs| {
            let inode = Self::live(fs, nodeid)?;
            if let Some(c) = &caller {
                fs.check_xattr(c, &inode, name, false, self.acl)?;
            }
            fs.getxattr(&inode, name)
        })
    }

    fn listxattr(&self, ctx: &RequestCtx, nodeid: NodeId) -> OpResult<Vec<u8>> {
        let names = self.viewed(|fs| fs.listxattr(&Self::live(fs, nodeid)?))?;
        // ext4 lists trusted.* names only to CAP_SYS_ADMIN
        // (`ext4_xattr_trusted_list`); the kernel's FUSE client passes
        // the list through, so the filter is ours. The caller's
        // capabilities are read only when such a name is there.
        let caller = self.decider(ctx, false);
        let mut out = Vec::new();
        for n in names {
            if n.starts_with(b"trusted.") && !caller.capable(cap::SYS_ADMIN) {
                continue;
            }
            out.extend_from_slice(&n);
            out.push(0);
        }
        Ok(out)
    }

    fn access(&self, ctx: &RequestCtx, nodeid: NodeId, mask: u32) -> OpResult<()> {
        // With default_permissions the kernel checks and never asks; a
        // mount without it asks here (F_OK is mask 0: alive is enough).
        let inode = self.node(nodeid)?;
        let want = mask & (access::READ | access::WRITE | access::EXEC);
        if self.checks.is_none() || want == 0 {
            return Ok(());
        }
        let c = self.decider(ctx, true);
        self.viewed(|fs| fs.check_permission(&c, &inode, want, self.acl))
    }

    fn lseek(
        &self,
        _ctx: &RequestCtx,
        nodeid: NodeId,
        _fh: FileHandle,
        offset: u64,
        whence: u32,
    ) -> OpResult<u64> {
        let what = match whence {
            SEEK_DATA => SeekWhat::Data,
            SEEK_HOLE => SeekWhat::Hole,
            _ => return Err(Errno::EINVAL),
        };
        self.viewed(|fs| fs.seek(&Self::live(fs, nodeid)?, offset, what))
    }

    fn setattr(
        &self,
        ctx: &RequestCtx,
        nodeid: NodeId,
        set: &SetAttr,
    ) -> OpResult<(Attr, Duration)> {
        let _quota = super::credentials::quota_requester(ctx);
        let inode = self.node(nodeid)?;
        let node = target_of(&inode);
        let ino = node.ino;
        let when = |t: TimeOrNow| match t {
            TimeOrNow::Now => SetTime::Now,
            TimeOrNow::Set(ts) => SetTime::At(timestamp(ts)),
        };
        let c = Changes {
            mode: set.mode.map(|m| m as u16),
            uid: set.uid,
            gid: set.gid,
            size: set.size,
            atime: set.atime.map(when),
            mtime: set.mtime.map(when),
            ctime: set.ctime.map(timestamp),
            drop_suidgid: self.suidgid_to_drop(ctx, &inode, set.kill_suidgid),
            acl: self.acl,
        };
        let mut c = c;
        if let Some(caller) = self.caller(ctx) {
            self.viewed(|fs| {
                let inode = Self::live(fs, nodeid)?;
                fs.check_setattr(&caller, &inode, &mut c, set.fh.is_some(), self.acl)
            })?;
        }
        let inode = self.settled(self.fs.setattr(node, &c), &[Change::Inode(ino)])?;
        Ok((self.attr(&inode), self.ttl))
    }

    fn mknod(
        &self,
        ctx: &RequestCtx,
        parent: NodeId,
        name: &[u8],
        mode: u32,
        rdev: u32,
        umask: u32,
    ) -> OpResult<Entry> {
        let _quota = super::credentials::quota_requester(ctx);
        let new = new_node(ctx, mode as u16, umask, rdev);
        let inode = self.make_in(ctx, parent, |fs, p| {
            if !matches!(
                new.mode & mode::S_IFMT,
                mode::S_IFREG | mode::S_IFCHR | mode::S_IFBLK | mode::S_IFIFO | mode::S_IFSOCK
            ) {
                return Err(FsError::Invalid);
            }
            fs.make_node(p, name, &new)
        })?;
        Ok(self.handed(self.entry_under(parent, &inode)))
    }

    fn mkdir(
        &self,
        ctx: &RequestCtx,
        parent: NodeId,
        name: &[u8],
        mode: u32,
        umask: u32,
    ) -> OpResult<Entry> {
        let _quota = super::credentials::quota_requester(ctx);
        let new = new_node(ctx, mode::S_IFDIR | (mode as u16 & 0o7777), umask, 0);
        let inode = self.make_in(ctx, parent, |fs, p| fs.make_node(p, name, &new))?;
        Ok(self.handed(self.entry_under(parent, &inode)))
    }

    fn symlink(
        &self,
        ctx: &RequestCtx,
        parent: NodeId,
        name: &[u8],
        target: &[u8],
    ) -> OpResult<Entry> {
        let _quota = super::credentials::quota_requester(ctx);
        let inode = self.make_in(ctx, parent, |fs, p| {
            fs.symlink(p, name, target, ctx.uid, ctx.gid)
        })?;
        Ok(self.handed(self.entry_under(parent, &inode)))
    }

    fn link(
        &self,
        ctx: &RequestCtx,
        nodeid: NodeId,
        newparent: NodeId,
        newname: &[u8],
    ) -> OpResult<Entry> {
        let _quota = super::credentials::quota_requester(ctx);
        let node = self.target(nodeid)?;
        let p = self.target(newparent)?;
        if let Some(checks) = self.checks {
            self.check(ctx, |fs, c| {
                let inode = Self::live(fs, nodeid)?;
                let dir = Self::live(fs, newparent)?;
                fs.check_link(c, &inode, &dir, checks.protected_hardlinks, self.acl)
            })?;
        }
        let inode = self.settled(self.fs.link(node, p, newname), &[Change::Entries(p.ino)])?;
        self.dir_changed(newparent);
        Ok(self.handed(self.entry_under(newparent, &inode)))
    }

    fn unlink(&self, ctx: &RequestCtx, parent: NodeId, name: &[u8]) -> OpResult<()> {
        self.remove_in(ctx, parent, name, Fs::unlink)
    }

    fn rmdir(&self, ctx: &RequestCtx, parent: NodeId, name: &[u8]) -> OpResult<()> {
        self.remove_in(ctx, parent, name, Fs::rmdir)
    }

    fn rename(
        &self,
        ctx: &RequestCtx,
        parent: NodeId,
        name: &[u8],
        newparent: NodeId,
        newname: &[u8],
        flags: u32,
    ) -> OpResult<()> {
        let _quota = super::credentials::quota_requester(ctx);
        let sp = self.target(parent)?;
        let dp = self.target(newparent)?;
        let exchange = flags & super::ops::rename_flags::RENAME_EXCHANGE != 0;
        self.check(ctx, |fs, c| {
            let (sdir, ddir) = (Self::live(fs, parent)?, Self::live(fs, newparent)?);
            fs.check_rename(c, &sdir, name, &ddir, newname, exchange, self.acl)
        })?;
        // What moves: its ctime changes (the kernel marks only ctime stale,
        // see attrs_changed), and a directory moving to another parent
        // gets a new "..", which the kernel's cached listing of it would
        // keep.
        let moved = self.viewed(|fs| {
            let mut moved = Vec::new();
            let mut add = |dir: NodeId, n: &[u8]| -> Result<(), FsError> {
                match fs.lookup(&Self::live(fs, dir)?, n) {
                    Ok(f) => {
                        let i = fs.entry_inode(f.ino)?;
                        moved.push((NodeId::from_inode(i.ino, i.generation), i.is_dir()));
                        Ok(())
                    }
                    Err(FsError::NotFound) => Ok(()),
                    Err(e) => Err(e),
                }
            };
            add(parent, name)?;
            if exchange {
                add(newparent, newname)?;
            }
            Ok(moved)
        })?;
        self.settled(
            self.fs
                .rename_as(sp, name, dp, newname, flags, renamer(ctx)),
            &[Change::Entries(sp.ino), Change::Entries(dp.ino)],
        )?;
        for (n, dir) in moved {
            if dir && sp.ino != dp.ino {
                self.listing_changed(n);
            } else {
                self.attrs_changed(n);
            }
        }
        self.dir_changed(parent);
        if newparent != parent {
            self.dir_changed(newparent);
        }
        Ok(())
    }

    fn create(
        &self,
        ctx: &RequestCtx,
        parent: NodeId,
        name: &[u8],
        mode: u32,
        umask: u32,
        flags: u32,
    ) -> OpResult<(Entry, Open)> {
        let _quota = super::credentials::quota_requester(ctx);
        let new = new_node(ctx, mode::S_IFREG | (mode as u16 & 0o7777), umask, 0);
        let inode = self.make_in(ctx, parent, |fs, p| fs.make_node(p, name, &new))?;
        let open = self.open_inode(&inode, flags & !O_TRUNC, 0)?;
        Ok((self.handed(self.entry_under(parent, &inode)), open))
    }

    fn tmpfile(
        &self,
        ctx: &RequestCtx,
        parent: NodeId,
        mode: u32,
        umask: u32,
        flags: u32,
    ) -> OpResult<(Entry, Open)> {
        let _quota = super::credentials::quota_requester(ctx);
        let p = self.target(parent)?;
        self.check_create(ctx, parent)?;
        let new = new_node(ctx, mode::S_IFREG | (mode as u16 & 0o7777), umask, 0);
        // Counted as open by the filesystem already.
        let inode = self.fs_err(self.fs.tmpfile(p, &new))?;
        self.fs_err(self.fs.settle(&[Change::Inode(inode.ino)]))?;
        Ok((
            self.handed(self.entry(&inode)),
            Open {
                fh: handle_of(flags),
                open_flags: FOPEN_KEEP_CACHE | FOPEN_NOFLUSH,
            },
        ))
    }

    fn write(
        &self,
        ctx: &RequestCtx,
        nodeid: NodeId,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        write_flags: u32,
        _flags: u32,
    ) -> OpResult<u32> {
        let _quota = super::credentials::quota_requester(ctx);
        let inode = self.node(nodeid)?;
        let kill = write_flags & super::abi::write_flags::FUSE_WRITE_KILL_SUIDGID != 0;
        let drop = self.suidgid_to_drop(ctx, &inode, kill);
        let n = self.settled(
            self.fs.write(target_of(&inode), offset, data, drop),
            &[Change::Write(inode.ino)],
        )?;
        self.mode_changed(nodeid, &inode, drop != 0);
        Ok(n as u32)
    }

    fn fsync(
        &self,
        _ctx: &RequestCtx,
        nodeid: NodeId,
        _fh: FileHandle,
        datasync: bool,
    ) -> OpResult<()> {
        let ino = self.ino(nodeid)?;
        if datasync {
            self.fs_err(self.fs.datasync_inode(ino))
        } else {
            self.fs_err(self.fs.sync_inode(ino))
        }
    }

    fn fsyncdir(
        &self,
        _ctx: &RequestCtx,
        nodeid: NodeId,
        _fh: FileHandle,
        _datasync: bool,
    ) -> OpResult<()> {
        let ino = self.ino(nodeid)?;
        self.fs_err(self.fs.sync_inode(ino))
    }

    fn syncfs(&self, _ctx: &RequestCtx, _nodeid: NodeId) -> OpResult<()> {
        self.fs_err(self.fs.sync())
    }

    fn fallocate(
        &self,
        ctx: &RequestCtx,
        nodeid: NodeId,
        _fh: FileHandle,
        offset: u64,
        length: u64,
        mode: u32,
    ) -> OpResult<()> {
        let _quota = super::credentials::quota_requester(ctx);
        let inode = self.node(nodeid)?;
        let node = target_of(&inode);
        // fallocate, every mode, clears setuid/setgid first, as a write by
        // this caller would (file_modified); with FUSE_HANDLE_KILLPRIV_V2
        // the kernel leaves that to the server and sends no flag.
        let drop = self.suidgid_to_drop(ctx, &inode, true);
        let kill = drop != 0;
        if kill {
            let c = Changes {
                drop_suidgid: drop,
                ..Default::default()
            };
            self.settled(self.fs.setattr(node, &c), &[Change::Inode(node.ino)])?;
        }
        let r = self.settled(
            self.fs.fallocate(node, offset, length, mode),
            &[Change::Inode(node.ino)],
        );
        // With KEEP_SIZE the kernel marks times and blocks stale without
        // moving the attribute version (see attrs_changed).
        if r.is_ok() {
            self.attrs_changed(nodeid);
        } else {
            self.mode_changed(nodeid, &inode, kill);
        }
        r
    }

    fn copy_file_range(
        &self,
        ctx: &RequestCtx,
        nodeid_in: NodeId,
        _fh_in: FileHandle,
        offset_in: u64,
        nodeid_out: NodeId,
        fh_out: FileHandle,
        offset_out: u64,
        len: u64,
        _flags: u64,
    ) -> OpResult<u64> {
        let _quota = super::credentials::quota_requester(ctx);
        let src = self.ino(nodeid_in)?;
        let dst = self.node(nodeid_out)?;
        // A write by this caller would clear them: so does its copy.
        let drop = self.suidgid_to_drop(ctx, &dst, true);
        let to = CopyTo {
            node: target_of(&dst),
            offset: offset_out,
            append: fh_out.0 & O_APPEND as u64 != 0,
            drop_suidgid: drop,
        };
        let n = self.settled(
            self.fs.copy_range(src, offset_in, &to, len),
            &[Change::Inode(dst.ino)],
        )?;
        self.mode_changed(nodeid_out, &dst, drop != 0);
        Ok(n)
    }

    fn setxattr(
        &self,
        ctx: &RequestCtx,
        nodeid: NodeId,
        name: &[u8],
        value: &[u8],
        flags: u32,
        setxattr_flags: u32,
    ) -> OpResult<()> {
        let _quota = super::credentials::quota_requester(ctx);
        self.check_xattr_name(name)?;
        let node = self.target(nodeid)?;
        self.check(ctx, |fs, c| {
            fs.check_xattr(c, &Self::live(fs, nodeid)?, name, true, self.acl)
        })?;
        let how = match flags & (xattr_flags::XATTR_CREATE | xattr_flags::XATTR_REPLACE) {
            0 => SetMode::Any,
            xattr_flags::XATTR_CREATE => SetMode::Create,
            xattr_flags::XATTR_REPLACE => SetMode::Replace,
            _ => return Err(Errno::EINVAL),
        };
        let kill_sgid = setxattr_flags & super::abi::FUSE_SETXATTR_ACL_KILL_SGID != 0
            && name == b"system.posix_acl_access";
        // ctime, and st_blocks when the xattr block came or went.
        self.settled(
            self.fs.setxattr(node, name, value, how, kill_sgid),
            &[Change::Inode(node.ino)],
        )?;
        self.attrs_changed(nodeid);
        Ok(())
    }

    fn removexattr(&self, ctx: &RequestCtx, nodeid: NodeId, name: &[u8]) -> OpResult<()> {
        let _quota = super::credentials::quota_requester(ctx);
        self.check_xattr_name(name)?;
        let node = self.target(nodeid)?;
        self.check(ctx, |fs, c| {
            fs.check_xattr(c, &Self::live(fs, nodeid)?, name, true, self.acl)
        })?;
        self.settled(self.fs.removexattr(node, name), &[Change::Inode(node.ino)])?;
        self.attrs_changed(nodeid);
        Ok(())
    }

    /// FS_IOC_SHUTDOWN (see src/fuse/shutdown.rs), FITRIM
    /// (src/fuse/trim.rs), FS_IOC_GETFSLABEL (src/fuse/fslabel.rs), the
    /// attribute flag ioctls
    /// (src/fuse/attr_flags.rs) and the fscrypt ones that read
    /// (src/fuse/crypt.rs); every other command is unknown here
    /// (ENOTTY, as ext4 answers).
    fn ioctl(&self, ctx: &RequestCtx, nodeid: NodeId, io: &Ioctl<'_>) -> OpResult<IoctlReply> {
        let _quota = super::credentials::quota_requester(ctx);
        if let Some(req) = super::attr_flags::decode(io) {
            return self.attr_ioctl(ctx, nodeid, req?, io.out_size);
        }
        if super::crypt::handles(io.cmd) {
            return self.viewed(|fs| super::crypt::answer(fs, &Self::live(fs, nodeid)?, io))?;
        }
        if io.cmd == super::fslabel::FS_IOC_GETFSLABEL {
            return Ok(super::fslabel::reply(
                self.fs.superblock().label(),
                io.out_size,
            ));
        }
        if io.cmd == super::trim::FITRIM {
            let range = super::trim::requested_range(ctx, io)?;
            let done = self.fs_err(self.fs.trim(range))?;
            return Ok(super::trim::reply(&range, done, io.out_size));
        }
        if io.cmd != super::shutdown::FS_IOC_SHUTDOWN {
            return Err(Errno::ENOTTY);
        }
        let mode = super::shutdown::requested_mode(ctx, io.arg)?;
        // Read before the stop: afterwards every inode read is refused.
        let open: Vec<NodeId> = (self.fs.open_inodes().into_iter())
            .filter_map(|ino| self.fs.inode(ino).ok())
            .map(|i| NodeId::from_inode(i.ino, i.generation))
            .collect();
        self.fs.shut_down(mode);
        if let Some(n) = self.notifier.get() {
            super::shutdown::drop_kernel_caches(n, &open);
        }
        Ok(IoctlReply::default())
    }
}
