//! The boundary between the FUSE transport and the request adapter.
//!
//! The transport (session, channel, abi) decodes requests and encodes
//! replies; it calls a [`FuseOps`] implementation with plain Rust values and
//! knows nothing about ext4. Node ids and file handles are passed through
//! untouched.

use std::time::Duration;

pub use super::ids::{FileHandle, NodeId, RequestId};
use super::notify::Notifier;

/// A positive errno value, as carried in a FUSE reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    pub const ENOENT: Errno = Errno(libc::ENOENT);
    pub const EIO: Errno = Errno(libc::EIO);
    pub const ENOSYS: Errno = Errno(libc::ENOSYS);
    pub const ESTALE: Errno = Errno(libc::ESTALE);
    pub const EROFS: Errno = Errno(libc::EROFS);
    pub const EINVAL: Errno = Errno(libc::EINVAL);
    pub const ENOTDIR: Errno = Errno(libc::ENOTDIR);
    pub const EISDIR: Errno = Errno(libc::EISDIR);
    pub const ENODATA: Errno = Errno(libc::ENODATA);
    pub const ERANGE: Errno = Errno(libc::ERANGE);
    pub const EACCES: Errno = Errno(libc::EACCES);
    pub const ENAMETOOLONG: Errno = Errno(libc::ENAMETOOLONG);
    pub const EEXIST: Errno = Errno(libc::EEXIST);
    pub const ENOTEMPTY: Errno = Errno(libc::ENOTEMPTY);
    pub const EPERM: Errno = Errno(libc::EPERM);
    pub const EOPNOTSUPP: Errno = Errno(libc::EOPNOTSUPP);
    pub const EXDEV: Errno = Errno(libc::EXDEV);
    pub const ENOSPC: Errno = Errno(libc::ENOSPC);
    pub const ENOTTY: Errno = Errno(libc::ENOTTY);
}

/// Result of one request handler.
pub type OpResult<T> = Result<T, Errno>;

/// What a handler may know about the request that invoked it.
#[derive(Debug, Clone, Copy)]
pub struct RequestCtx {
    /// The kernel's request id, including the resend bit.
    pub unique: RequestId,
    pub uid: u32,
    pub gid: u32,
    pub pid: u32,
}

impl RequestCtx {
    /// A request made by this process, with its effective ids, as tests
    /// and tools calling handlers directly make them.
    pub fn this_process(unique: RequestId) -> RequestCtx {
        // SAFETY: plain getters, no arguments.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        RequestCtx {
            unique,
            uid,
            gid,
            pid: std::process::id(),
        }
    }

    /// True for a request the kernel delivers again after a server restart.
    pub fn is_resend(&self) -> bool {
        self.unique.is_resend()
    }
}

/// A timestamp as seconds since the epoch plus nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: u32,
}

/// Attributes of a node, as `stat` shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attr {
    /// st_ino (the ext4 inode number, not the node id).
    pub ino: u64,
    pub size: u64,
    /// 512-byte sectors.
    pub blocks: u64,
    pub atime: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
    /// Creation time, reported through FUSE_STATX when present.
    pub crtime: Option<Timespec>,
    /// Full st_mode: file type bits and permission bits.
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    /// Device number in the kernel's `new_encode_dev` form.
    pub rdev: u32,
    pub blksize: u32,
    /// STATX_ATTR_* bits (immutable, append-only, ...), reported through
    /// FUSE_STATX.
    pub statx_attributes: u64,
}

/// A reply to LOOKUP (and one READDIRPLUS entry).
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub nodeid: NodeId,
    pub generation: u64,
    pub attr: Attr,
    pub entry_ttl: Duration,
    pub attr_ttl: Duration,
}

impl Entry {
    /// A LOOKUP answer that says "no such name" and lets the kernel keep
    /// that answer for `ttl` (node id 0: a negative dentry; an ENOENT
    /// error instead is never cached). Only for a server that sees every
    /// change to its directories: a name created behind the kernel's
    /// back would stay invisible for `ttl`.
    pub fn negative(ttl: Duration) -> Self {
        Entry {
            nodeid: NodeId::NONE,
            generation: 0,
            attr: Attr::default(),
            entry_ttl: ttl,
            attr_ttl: Duration::ZERO,
        }
    }

    /// True for a [`Entry::negative`] answer.
    pub fn is_negative(&self) -> bool {
        self.nodeid == NodeId::NONE
    }
}

/// An entry for node `nodeid` (its st_ino the same number) that the
/// kernel may keep for a second: what the transport's test filesystems
/// answer.
#[cfg(test)]
pub(crate) fn test_entry(nodeid: u64, generation: u64) -> Entry {
    Entry {
        nodeid: NodeId(nodeid),
        generation,
        attr: Attr {
            ino: nodeid,
            ..Default::default()
        },
        entry_ttl: Duration::from_secs(1),
        attr_ttl: Duration::from_secs(1),
    }
}

/// One directory entry handed to a [`DirSink`].
#[derive(Debug, Clone)]
pub struct DirEntry<'a> {
    /// st_ino of the entry.
    pub ino: u64,
    /// The cookie that resumes the listing *after* this entry.
    pub next_offset: u64,
    /// DT_* type.
    pub kind: u8,
    pub name: &'a [u8],
}

/// Collects directory entries into the reply buffer.
pub trait DirSink {
    /// Adds one entry; `entry` is Some for READDIRPLUS (None there means
    /// "no lookup": the kernel gets a zero node id). Returns false, adding
    /// nothing, when the reply buffer is full: the handler must stop and must
    /// not count a lookup for that entry.
    fn add(&mut self, dirent: &DirEntry<'_>, entry: Option<&Entry>) -> bool;
}

/// A reply to OPEN / OPENDIR.
#[derive(Debug, Clone, Copy, Default)]
pub struct Open {
    pub fh: FileHandle,
    /// FOPEN_* flags (e.g. FOPEN_KEEP_CACHE).
    pub open_flags: u32,
}

/// A reply to STATFS.
#[derive(Debug, Clone, Copy, Default)]
pub struct StatFs {
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub bsize: u32,
    pub namelen: u32,
    pub frsize: u32,
}

/// A new access or modification time in a [`SetAttr`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeOrNow {
    /// The server's current time (FATTR_ATIME_NOW / FATTR_MTIME_NOW).
    Now,
    Set(Timespec),
}

/// The changes a SETATTR asks for; `None` leaves a field alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetAttr {
    /// Permission bits (and, as sent, the file type bits).
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// Truncate or extend to this size.
    pub size: Option<u64>,
    pub atime: Option<TimeOrNow>,
    pub mtime: Option<TimeOrNow>,
    pub ctime: Option<Timespec>,
    /// The open file the change came through (ftruncate, fchmod, ...).
    pub fh: Option<FileHandle>,
    /// FATTR_KILL_SUIDGID: also clear setuid/setgid (HANDLE_KILLPRIV_V2).
    pub kill_suidgid: bool,
}

/// An ioctl(2) on a file or directory of the mount (FUSE_IOCTL; the
/// kernel's restricted form: sizes come from the command number).
#[derive(Debug, Clone, Copy)]
pub struct Ioctl<'a> {
    /// The handle of the open file or directory it was made on.
    pub fh: FileHandle,
    /// FUSE_IOCTL_* flags (see `abi::ioctl_flags`).
    pub flags: u32,
    pub cmd: u32,
    /// The caller's argument, as it passed it: for a command carrying data,
    /// an address in the caller's memory.
    pub arg: u64,
    /// What the kernel copied in for an _IOW command.
    pub input: &'a [u8],
    /// The most output the caller takes (for an _IOR command).
    pub out_size: u32,
}

/// The answer to an [`Ioctl`]: ioctl(2)'s return value and the bytes
/// copied out to the caller (at most `out_size`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IoctlReply {
    pub result: i32,
    pub output: Vec<u8>,
}

/// `renameat2` flags as passed to [`FuseOps::rename`].
pub mod rename_flags {
    pub const RENAME_NOREPLACE: u32 = 1 << 0;
    pub const RENAME_EXCHANGE: u32 = 1 << 1;
    pub const RENAME_WHITEOUT: u32 = 1 << 2;
}

/// `setxattr` flags as passed to [`FuseOps::setxattr`].
pub mod xattr_flags {
    pub const XATTR_CREATE: u32 = 1;
    pub const XATTR_REPLACE: u32 = 2;
}

/// The operations a filesystem offers the transport. Every method has a
/// default that answers ENOSYS, so the transport can grow ahead of the
/// adapter. Node id 1 is the root.
#[allow(unused_variables)]
pub trait FuseOps: Send + Sync + 'static {
    /// Called once by the session before it serves: how the filesystem
    /// tells the kernel about changes it did not see coming.
    fn attach(&self, notifier: Notifier) {}
    fn lookup(&self, ctx: &RequestCtx, parent: NodeId, name: &[u8]) -> OpResult<Entry> {
        Err(Errno::ENOSYS)
    }
    /// The kernel dropped `nlookup` references to `nodeid`.
    fn forget(&self, nodeid: NodeId, nlookup: u64) {}
    fn getattr(
        &self,
        ctx: &RequestCtx,
        nodeid: NodeId,
        fh: Option<FileHandle>,
    ) -> OpResult<(Attr, Duration)> {
        Err(Errno::ENOSYS)
    }
    fn readlink(&self, ctx: &RequestCtx, nodeid: NodeId) -> OpResult<Vec<u8>> {
        Err(Errno::ENOSYS)
    }
    /// `flags` are the open(2) flags; `open_flags` are FUSE_OPEN_*
    /// ([`open_in_flags`](super::abi::open_in_flags)).
    fn open(
        &self,
        ctx: &RequestCtx,
        nodeid: NodeId,
        flags: u32,
        open_flags: u32,
    ) -> OpResult<Open> {
        Err(Errno::ENOSYS)
    }
    /// Reads up to `size` bytes; a short result means end of file.
    fn read(
        &self,
        ctx: &RequestCtx,
        nodeid: NodeId,
        fh: FileHandle,
        offset: u64,
        size: u32,
    ) -> OpResult<Vec<u8>> {
        Err(Errno::ENOSYS)
    }
    fn release(
        &self,
        ctx: &RequestCtx,
        nodeid: NodeId,
        fh: FileHandle,
        flags: u32,
    ) -> OpResult<()> {
        Ok(())
    }
    fn opendir(&self, ctx: &RequestCtx, nodeid: NodeId, flags: u32) -> OpResult<Open> {
        Err(Errno::ENOSYS)
    }
    /// Lists entries starting at cookie `offset` (0 = start) into `sink`
    /// until the sink is full or the directory ends.
    fn readdir(
        &self,
        ctx: &RequestCtx,
        nodeid: NodeId,
        fh: FileHandle,
        offset: u64,
        plus: bool,
        sink: &mut dyn DirSink,
    ) -> OpResult<()> {
        Err(Errno::ENOSYS)
    }
    fn releasedir(&self, ctx: &RequestCtx, nodeid: NodeId, fh: FileHandle) -> OpResult<()> {
        Ok(())
    }
    fn statfs(&self, ctx: &RequestCtx, nodeid: NodeId) -> OpResult<StatFs> {
        Err(Errno::ENOSYS)
    }
    /// Returns the whole value; the transport applies the size/ERANGE rules.
    fn getxattr(&self, ctx: &RequestCtx, nodeid: NodeId, name: &[u8]) -> OpResult<Vec<u8>> {
        Err(Errno::ENOSYS)
    }
    /// Returns the NUL-terminated names, concatenated; the transport applies
    /// the size/ERANGE rules.
    fn listxattr(&self, ctx: &RequestCtx, nodeid: NodeId) -> OpResult<Vec<u8>> {
        Err(Errno::ENOSYS)
    }
    fn access(&self, ctx: &RequestCtx, nodeid: NodeId, mask: u32) -> OpResult<()> {
        Err(Errno::ENOSYS)
    }
    /// SEEK_DATA / SEEK_HOLE.
    fn lseek(
        &self,
        ctx: &RequestCtx,
        nodeid: NodeId,
        fh: FileHandle,
        offset: u64,
        whence: u32,
    ) -> OpResult<u64> {
        Err(Errno::ENOSYS)
    }

    /// Changes attributes; returns the attributes after the change. With
    /// FUSE_HANDLE_KILLPRIV_V2, `set.kill_suidgid` asks the server to clear
    /// setuid/setgid as well (truncate by an unprivileged writer).
    fn setattr(
        &self,
        ctx: &RequestCtx,
        nodeid: NodeId,
        set: &SetAttr,
    ) -> OpResult<(Attr, Duration)> {
        Err(Errno::ENOSYS)
    }
    /// Creates a node of any type; `mode` includes the type bits, `rdev` is
    /// in new_encode_dev form. `umask` is the caller's (FUSE_DONT_MASK: the
    /// kernel did not apply it).
    fn mknod(
        &self,
        ctx: &RequestCtx,
        parent: NodeId,
        name: &[u8],
        mode: u32,
        rdev: u32,
        umask: u32,
    ) -> OpResult<Entry> {
        Err(Errno::ENOSYS)
    }
    /// `mode` holds permission bits only (the kernel sends no S_IFDIR).
    fn mkdir(
        &self,
        ctx: &RequestCtx,
        parent: NodeId,
        name: &[u8],
        mode: u32,
        umask: u32,
    ) -> OpResult<Entry> {
        Err(Errno::ENOSYS)
    }
    fn symlink(
        &self,
        ctx: &RequestCtx,
        parent: NodeId,
        name: &[u8],
        target: &[u8],
    ) -> OpResult<Entry> {
        Err(Errno::ENOSYS)
    }
    /// Adds `newparent/newname` as another name of `nodeid`.
    fn link(
        &self,
        ctx: &RequestCtx,
        nodeid: NodeId,
        newparent: NodeId,
        newname: &[u8],
    ) -> OpResult<Entry> {
        Err(Errno::ENOSYS)
    }
    fn unlink(&self, ctx: &RequestCtx, parent: NodeId, name: &[u8]) -> OpResult<()> {
        Err(Errno::ENOSYS)
    }
    fn rmdir(&self, ctx: &RequestCtx, parent: NodeId, name: &[u8]) -> OpResult<()> {
        Err(Errno::ENOSYS)
    }
    /// RENAME and RENAME2; `flags` are [`rename_flags`] (0 for RENAME).
    fn rename(
        &self,
        ctx: &RequestCtx,
        parent: NodeId,
        name: &[u8],
        newparent: NodeId,
        newname: &[u8],
        flags: u32,
    ) -> OpResult<()> {
        Err(Errno::ENOSYS)
    }
    /// Creates and opens a regular file (`flags` are the open(2) flags;
    /// with FUSE_ATOMIC_O_TRUNC, O_TRUNC in OPEN flags is the server's job).
    /// ENOSYS makes the kernel fall back to MKNOD + OPEN.
    fn create(
        &self,
        ctx: &RequestCtx,
        parent: NodeId,
        name: &[u8],
        mode: u32,
        umask: u32,
        flags: u32,
    ) -> OpResult<(Entry, Open)> {
        Err(Errno::ENOSYS)
    }
    /// O_TMPFILE: an open, unnamed regular file in `parent`.
    fn tmpfile(
        &self,
        ctx: &RequestCtx,
        parent: NodeId,
        mode: u32,
        umask: u32,
        flags: u32,
    ) -> OpResult<(Entry, Open)> {
        Err(Errno::ENOSYS)
    }
    /// Writes `data` (a slice of the request buffer) at `offset`; returns
    /// the number of bytes written (never more than `data.len()`).
    /// `write_flags` are FUSE_WRITE_* (FUSE_WRITE_KILL_SUIDGID: clear
    /// setuid/setgid, with FUSE_HANDLE_KILLPRIV_V2), `flags` the file's
    /// open flags.
    #[allow(clippy::too_many_arguments)]
    fn write(
        &self,
        ctx: &RequestCtx,
        nodeid: NodeId,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        write_flags: u32,
        flags: u32,
    ) -> OpResult<u32> {
        Err(Errno::ENOSYS)
    }
    /// Called on each close(2) of a file descriptor.
    fn flush(
        &self,
        ctx: &RequestCtx,
        nodeid: NodeId,
        fh: FileHandle,
        lock_owner: u64,
    ) -> OpResult<()> {
        Ok(())
    }
    fn fsync(
        &self,
        ctx: &RequestCtx,
        nodeid: NodeId,
        fh: FileHandle,
        datasync: bool,
    ) -> OpResult<()> {
        Err(Errno::ENOSYS)
    }
    fn fsyncdir(
        &self,
        ctx: &RequestCtx,
        nodeid: NodeId,
        fh: FileHandle,
        datasync: bool,
    ) -> OpResult<()> {
        Err(Errno::ENOSYS)
    }
    /// `mode` holds FALLOC_FL_* bits.
    fn fallocate(
        &self,
        ctx: &RequestCtx,
        nodeid: NodeId,
        fh: FileHandle,
        offset: u64,
        length: u64,
        mode: u32,
    ) -> OpResult<()> {
        Err(Errno::ENOSYS)
    }
    /// Returns the number of bytes copied.
    #[allow(clippy::too_many_arguments)]
    fn copy_file_range(
        &self,
        ctx: &RequestCtx,
        nodeid_in: NodeId,
        fh_in: FileHandle,
        offset_in: u64,
        nodeid_out: NodeId,
        fh_out: FileHandle,
        offset_out: u64,
        len: u64,
        flags: u64,
    ) -> OpResult<u64> {
        Err(Errno::ENOSYS)
    }
    /// `flags` are [`xattr_flags`]; `setxattr_flags` are FUSE_SETXATTR_*
    /// (0 unless FUSE_SETXATTR_EXT was negotiated).
    fn setxattr(
        &self,
        ctx: &RequestCtx,
        nodeid: NodeId,
        name: &[u8],
        value: &[u8],
        flags: u32,
        setxattr_flags: u32,
    ) -> OpResult<()> {
        Err(Errno::ENOSYS)
    }
    fn removexattr(&self, ctx: &RequestCtx, nodeid: NodeId, name: &[u8]) -> OpResult<()> {
        Err(Errno::ENOSYS)
    }
    /// syncfs(2) on the mount.
    fn syncfs(&self, ctx: &RequestCtx, nodeid: NodeId) -> OpResult<()> {
        Err(Errno::ENOSYS)
    }
    /// ioctl(2) on a file or directory. ENOTTY by default: what a
    /// filesystem answers for a command it does not know (the kernel turns
    /// an ENOSYS into it too).
    fn ioctl(&self, ctx: &RequestCtx, nodeid: NodeId, io: &Ioctl<'_>) -> OpResult<IoctlReply> {
        Err(Errno::ENOTTY)
    }
}
