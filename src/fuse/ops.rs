//! The boundary between the FUSE transport and the request adapter.
//!
//! The transport (session, channel, abi) decodes requests and encodes
//! replies; it calls a [`FuseOps`] implementation with plain Rust values and
//! knows nothing about ext4. Node ids are passed through untouched.

use std::time::Duration;

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
}

/// Result of one request handler.
pub type OpResult<T> = Result<T, Errno>;

/// Bit 63 of `unique` marks a request the kernel resent after FUSE_NOTIFY_RESEND.
pub const FUSE_UNIQUE_RESEND: u64 = 1 << 63;

/// What a handler may know about the request that invoked it.
#[derive(Debug, Clone, Copy)]
pub struct RequestCtx {
    /// The kernel's request id, including the resend bit.
    pub unique: u64,
    pub uid: u32,
    pub gid: u32,
    pub pid: u32,
}

impl RequestCtx {
    /// True for a request the kernel delivers again after a server restart.
    pub fn is_resend(&self) -> bool {
        self.unique & FUSE_UNIQUE_RESEND != 0
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
}

/// A reply to LOOKUP (and one READDIRPLUS entry).
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub nodeid: u64,
    pub generation: u64,
    pub attr: Attr,
    pub entry_ttl: Duration,
    pub attr_ttl: Duration,
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
    pub fh: u64,
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

/// The operations a filesystem offers the transport. Every method has a
/// default that answers ENOSYS, so the transport can grow ahead of the
/// adapter. Node id 1 is the root.
#[allow(unused_variables)]
pub trait FuseOps: Send + Sync + 'static {
    fn lookup(&self, ctx: &RequestCtx, parent: u64, name: &[u8]) -> OpResult<Entry> {
        Err(Errno::ENOSYS)
    }
    /// The kernel dropped `nlookup` references to `nodeid`.
    fn forget(&self, nodeid: u64, nlookup: u64) {}
    fn getattr(
        &self,
        ctx: &RequestCtx,
        nodeid: u64,
        fh: Option<u64>,
    ) -> OpResult<(Attr, Duration)> {
        Err(Errno::ENOSYS)
    }
    fn readlink(&self, ctx: &RequestCtx, nodeid: u64) -> OpResult<Vec<u8>> {
        Err(Errno::ENOSYS)
    }
    fn open(&self, ctx: &RequestCtx, nodeid: u64, flags: u32) -> OpResult<Open> {
        Err(Errno::ENOSYS)
    }
    /// Reads up to `size` bytes; a short result means end of file.
    fn read(
        &self,
        ctx: &RequestCtx,
        nodeid: u64,
        fh: u64,
        offset: u64,
        size: u32,
    ) -> OpResult<Vec<u8>> {
        Err(Errno::ENOSYS)
    }
    fn release(&self, ctx: &RequestCtx, nodeid: u64, fh: u64, flags: u32) -> OpResult<()> {
        Ok(())
    }
    fn opendir(&self, ctx: &RequestCtx, nodeid: u64, flags: u32) -> OpResult<Open> {
        Err(Errno::ENOSYS)
    }
    /// Lists entries starting at cookie `offset` (0 = start) into `sink`
    /// until the sink is full or the directory ends.
    fn readdir(
        &self,
        ctx: &RequestCtx,
        nodeid: u64,
        fh: u64,
        offset: u64,
        plus: bool,
        sink: &mut dyn DirSink,
    ) -> OpResult<()> {
        Err(Errno::ENOSYS)
    }
    fn releasedir(&self, ctx: &RequestCtx, nodeid: u64, fh: u64) -> OpResult<()> {
        Ok(())
    }
    fn statfs(&self, ctx: &RequestCtx, nodeid: u64) -> OpResult<StatFs> {
        Err(Errno::ENOSYS)
    }
    /// Returns the whole value; the transport applies the size/ERANGE rules.
    fn getxattr(&self, ctx: &RequestCtx, nodeid: u64, name: &[u8]) -> OpResult<Vec<u8>> {
        Err(Errno::ENOSYS)
    }
    /// Returns the NUL-terminated names, concatenated; the transport applies
    /// the size/ERANGE rules.
    fn listxattr(&self, ctx: &RequestCtx, nodeid: u64) -> OpResult<Vec<u8>> {
        Err(Errno::ENOSYS)
    }
    fn access(&self, ctx: &RequestCtx, nodeid: u64, mask: u32) -> OpResult<()> {
        Err(Errno::ENOSYS)
    }
    /// SEEK_DATA / SEEK_HOLE.
    fn lseek(
        &self,
        ctx: &RequestCtx,
        nodeid: u64,
        fh: u64,
        offset: u64,
        whence: u32,
    ) -> OpResult<u64> {
        Err(Errno::ENOSYS)
    }
}
