//! The FUSE kernel ABI (`include/uapi/linux/fuse.h`), as plain `#[repr(C)]`
//! structs that zerocopy can read from and write to byte buffers.
//!
//! Only what the transport uses is declared. Every struct is explicitly
//! padded to a multiple of 8 bytes, as the kernel header does, so that the
//! `IntoBytes` derive (which rejects implicit padding) accepts it.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::ids::{FileHandle, NodeId, RequestId};

/// Protocol major version we speak.
pub const FUSE_KERNEL_VERSION: u32 = 7;
/// Highest protocol minor version we implement.
pub const FUSE_KERNEL_MINOR_VERSION: u32 = 44;
/// Oldest protocol minor version we accept (Linux 3.15).
pub const FUSE_MIN_MINOR_VERSION: u32 = 23;
/// The kernel refuses reads into buffers smaller than this.
pub const FUSE_MIN_READ_BUFFER: usize = 8192;
/// Longest name the kernel accepts in notifications.
pub const FUSE_NAME_MAX: usize = 1024;

// ---------------------------------------------------------------------------
// Opcodes
// ---------------------------------------------------------------------------

pub mod opcode {
    pub const FUSE_LOOKUP: u32 = 1;
    pub const FUSE_FORGET: u32 = 2;
    pub const FUSE_GETATTR: u32 = 3;
    pub const FUSE_SETATTR: u32 = 4;
    pub const FUSE_READLINK: u32 = 5;
    pub const FUSE_SYMLINK: u32 = 6;
    pub const FUSE_MKNOD: u32 = 8;
    pub const FUSE_MKDIR: u32 = 9;
    pub const FUSE_UNLINK: u32 = 10;
    pub const FUSE_RMDIR: u32 = 11;
    pub const FUSE_RENAME: u32 = 12;
    pub const FUSE_LINK: u32 = 13;
    pub const FUSE_OPEN: u32 = 14;
    pub const FUSE_READ: u32 = 15;
    pub const FUSE_WRITE: u32 = 16;
    pub const FUSE_STATFS: u32 = 17;
    pub const FUSE_RELEASE: u32 = 18;
    pub const FUSE_FSYNC: u32 = 20;
    pub const FUSE_SETXATTR: u32 = 21;
    pub const FUSE_GETXATTR: u32 = 22;
    pub const FUSE_LISTXATTR: u32 = 23;
    pub const FUSE_REMOVEXATTR: u32 = 24;
    pub const FUSE_FLUSH: u32 = 25;
    pub const FUSE_INIT: u32 = 26;
    pub const FUSE_OPENDIR: u32 = 27;
    pub const FUSE_READDIR: u32 = 28;
    pub const FUSE_RELEASEDIR: u32 = 29;
    pub const FUSE_FSYNCDIR: u32 = 30;
    pub const FUSE_GETLK: u32 = 31;
    pub const FUSE_SETLK: u32 = 32;
    pub const FUSE_SETLKW: u32 = 33;
    pub const FUSE_ACCESS: u32 = 34;
    pub const FUSE_CREATE: u32 = 35;
    pub const FUSE_INTERRUPT: u32 = 36;
    pub const FUSE_BMAP: u32 = 37;
    pub const FUSE_DESTROY: u32 = 38;
    pub const FUSE_IOCTL: u32 = 39;
    pub const FUSE_POLL: u32 = 40;
    pub const FUSE_NOTIFY_REPLY: u32 = 41;
    pub const FUSE_BATCH_FORGET: u32 = 42;
    pub const FUSE_FALLOCATE: u32 = 43;
    pub const FUSE_READDIRPLUS: u32 = 44;
    pub const FUSE_RENAME2: u32 = 45;
    pub const FUSE_LSEEK: u32 = 46;
    pub const FUSE_COPY_FILE_RANGE: u32 = 47;
    pub const FUSE_SETUPMAPPING: u32 = 48;
    pub const FUSE_REMOVEMAPPING: u32 = 49;
    pub const FUSE_SYNCFS: u32 = 50;
    pub const FUSE_TMPFILE: u32 = 51;
    pub const FUSE_STATX: u32 = 52;
    /// 7.45: COPY_FILE_RANGE with a 64-bit result.
    pub const FUSE_COPY_FILE_RANGE_64: u32 = 53;

    /// A short name for logging.
    pub fn name(op: u32) -> &'static str {
        match op {
            FUSE_LOOKUP => "LOOKUP",
            FUSE_FORGET => "FORGET",
            FUSE_GETATTR => "GETATTR",
            FUSE_SETATTR => "SETATTR",
            FUSE_READLINK => "READLINK",
            FUSE_SYMLINK => "SYMLINK",
            FUSE_MKNOD => "MKNOD",
            FUSE_MKDIR => "MKDIR",
            FUSE_UNLINK => "UNLINK",
            FUSE_RMDIR => "RMDIR",
            FUSE_RENAME => "RENAME",
            FUSE_LINK => "LINK",
            FUSE_OPEN => "OPEN",
            FUSE_READ => "READ",
            FUSE_WRITE => "WRITE",
            FUSE_STATFS => "STATFS",
            FUSE_RELEASE => "RELEASE",
            FUSE_FSYNC => "FSYNC",
            FUSE_SETXATTR => "SETXATTR",
            FUSE_GETXATTR => "GETXATTR",
            FUSE_LISTXATTR => "LISTXATTR",
            FUSE_REMOVEXATTR => "REMOVEXATTR",
            FUSE_FLUSH => "FLUSH",
            FUSE_INIT => "INIT",
            FUSE_OPENDIR => "OPENDIR",
            FUSE_READDIR => "READDIR",
            FUSE_RELEASEDIR => "RELEASEDIR",
            FUSE_FSYNCDIR => "FSYNCDIR",
            FUSE_GETLK => "GETLK",
            FUSE_SETLK => "SETLK",
            FUSE_SETLKW => "SETLKW",
            FUSE_ACCESS => "ACCESS",
            FUSE_CREATE => "CREATE",
            FUSE_INTERRUPT => "INTERRUPT",
            FUSE_BMAP => "BMAP",
            FUSE_DESTROY => "DESTROY",
            FUSE_IOCTL => "IOCTL",
            FUSE_POLL => "POLL",
            FUSE_NOTIFY_REPLY => "NOTIFY_REPLY",
            FUSE_BATCH_FORGET => "BATCH_FORGET",
            FUSE_FALLOCATE => "FALLOCATE",
            FUSE_READDIRPLUS => "READDIRPLUS",
            FUSE_RENAME2 => "RENAME2",
            FUSE_LSEEK => "LSEEK",
            FUSE_COPY_FILE_RANGE => "COPY_FILE_RANGE",
            FUSE_SETUPMAPPING => "SETUPMAPPING",
            FUSE_REMOVEMAPPING => "REMOVEMAPPING",
            FUSE_SYNCFS => "SYNCFS",
            FUSE_TMPFILE => "TMPFILE",
            FUSE_STATX => "STATX",
            FUSE_COPY_FILE_RANGE_64 => "COPY_FILE_RANGE_64",
            _ => "UNKNOWN",
        }
    }
}

// ---------------------------------------------------------------------------
// INIT flags. Bits 32..63 travel in the `flags2` field (only honoured when
// FUSE_INIT_EXT is set in `flags`); we keep them as one u64 in Rust.
// ---------------------------------------------------------------------------

pub mod init_flags {
    pub const FUSE_ASYNC_READ: u64 = 1 << 0;
    pub const FUSE_POSIX_LOCKS: u64 = 1 << 1;
    pub const FUSE_FILE_OPS: u64 = 1 << 2;
    pub const FUSE_ATOMIC_O_TRUNC: u64 = 1 << 3;
    pub const FUSE_EXPORT_SUPPORT: u64 = 1 << 4;
    pub const FUSE_BIG_WRITES: u64 = 1 << 5;
    pub const FUSE_DONT_MASK: u64 = 1 << 6;
    pub const FUSE_SPLICE_WRITE: u64 = 1 << 7;
    pub const FUSE_SPLICE_MOVE: u64 = 1 << 8;
    pub const FUSE_SPLICE_READ: u64 = 1 << 9;
    pub const FUSE_FLOCK_LOCKS: u64 = 1 << 10;
    pub const FUSE_HAS_IOCTL_DIR: u64 = 1 << 11;
    pub const FUSE_AUTO_INVAL_DATA: u64 = 1 << 12;
    pub const FUSE_DO_READDIRPLUS: u64 = 1 << 13;
    pub const FUSE_READDIRPLUS_AUTO: u64 = 1 << 14;
    pub const FUSE_ASYNC_DIO: u64 = 1 << 15;
    pub const FUSE_WRITEBACK_CACHE: u64 = 1 << 16;
    pub const FUSE_NO_OPEN_SUPPORT: u64 = 1 << 17;
    pub const FUSE_PARALLEL_DIROPS: u64 = 1 << 18;
    pub const FUSE_HANDLE_KILLPRIV: u64 = 1 << 19;
    pub const FUSE_POSIX_ACL: u64 = 1 << 20;
    pub const FUSE_ABORT_ERROR: u64 = 1 << 21;
    pub const FUSE_MAX_PAGES: u64 = 1 << 22;
    pub const FUSE_CACHE_SYMLINKS: u64 = 1 << 23;
    pub const FUSE_NO_OPENDIR_SUPPORT: u64 = 1 << 24;
    pub const FUSE_EXPLICIT_INVAL_DATA: u64 = 1 << 25;
    pub const FUSE_MAP_ALIGNMENT: u64 = 1 << 26;
    pub const FUSE_SUBMOUNTS: u64 = 1 << 27;
    pub const FUSE_HANDLE_KILLPRIV_V2: u64 = 1 << 28;
    pub const FUSE_SETXATTR_EXT: u64 = 1 << 29;
    pub const FUSE_INIT_EXT: u64 = 1 << 30;
    pub const FUSE_INIT_RESERVED: u64 = 1 << 31;
    // flags2 (bit - 32)
    pub const FUSE_SECURITY_CTX: u64 = 1 << 32;
    pub const FUSE_HAS_INODE_DAX: u64 = 1 << 33;
    pub const FUSE_CREATE_SUPP_GROUP: u64 = 1 << 34;
    pub const FUSE_HAS_EXPIRE_ONLY: u64 = 1 << 35;
    pub const FUSE_DIRECT_IO_ALLOW_MMAP: u64 = 1 << 36;
    pub const FUSE_PASSTHROUGH: u64 = 1 << 37;
    pub const FUSE_NO_EXPORT_SUPPORT: u64 = 1 << 38;
    pub const FUSE_HAS_RESEND: u64 = 1 << 39;
    pub const FUSE_ALLOW_IDMAP: u64 = 1 << 40;
    pub const FUSE_OVER_IO_URING: u64 = 1 << 41;
    pub const FUSE_REQUEST_TIMEOUT: u64 = 1 << 42;
}

/// Flags of the OPEN / OPENDIR reply.
pub mod fopen {
    pub const FOPEN_DIRECT_IO: u32 = 1 << 0;
    pub const FOPEN_KEEP_CACHE: u32 = 1 << 1;
    pub const FOPEN_NONSEEKABLE: u32 = 1 << 2;
    pub const FOPEN_CACHE_DIR: u32 = 1 << 3;
    pub const FOPEN_STREAM: u32 = 1 << 4;
    pub const FOPEN_NOFLUSH: u32 = 1 << 5;
    pub const FOPEN_PARALLEL_DIRECT_WRITES: u32 = 1 << 6;
    pub const FOPEN_PASSTHROUGH: u32 = 1 << 7;
}

/// `fuse_getattr_in.getattr_flags` / `fuse_statx_in.getattr_flags`.
pub const FUSE_GETATTR_FH: u32 = 1 << 0;

/// `fuse_setattr_in.valid` bits.
pub mod fattr {
    pub const FATTR_MODE: u32 = 1 << 0;
    pub const FATTR_UID: u32 = 1 << 1;
    pub const FATTR_GID: u32 = 1 << 2;
    pub const FATTR_SIZE: u32 = 1 << 3;
    pub const FATTR_ATIME: u32 = 1 << 4;
    pub const FATTR_MTIME: u32 = 1 << 5;
    pub const FATTR_FH: u32 = 1 << 6;
    pub const FATTR_ATIME_NOW: u32 = 1 << 7;
    pub const FATTR_MTIME_NOW: u32 = 1 << 8;
    pub const FATTR_LOCKOWNER: u32 = 1 << 9;
    pub const FATTR_CTIME: u32 = 1 << 10;
    pub const FATTR_KILL_SUIDGID: u32 = 1 << 11;
}

/// `fuse_open_in.open_flags` (and `fuse_create_in.open_flags`).
pub mod open_in_flags {
    /// With FUSE_HANDLE_KILLPRIV_V2: an O_TRUNC open by a caller without
    /// CAP_FSETID; the server clears setuid (and setgid if group
    /// executable) as it truncates.
    pub const FUSE_OPEN_KILL_SUIDGID: u32 = 1 << 0;
}

/// `fuse_write_in.write_flags`.
pub mod write_flags {
    pub const FUSE_WRITE_CACHE: u32 = 1 << 0;
    pub const FUSE_WRITE_LOCKOWNER: u32 = 1 << 1;
    pub const FUSE_WRITE_KILL_SUIDGID: u32 = 1 << 2;
}

/// `fuse_fsync_in.fsync_flags`: sync data only.
pub const FUSE_FSYNC_FDATASYNC: u32 = 1 << 0;

/// `fuse_setxattr_in.setxattr_flags`: clear SGID when setting a POSIX ACL.
pub const FUSE_SETXATTR_ACL_KILL_SGID: u32 = 1 << 0;

/// Unsolicited notification codes (carried in `fuse_out_header.error`).
pub mod notify_code {
    pub const FUSE_NOTIFY_POLL: i32 = 1;
    pub const FUSE_NOTIFY_INVAL_INODE: i32 = 2;
    pub const FUSE_NOTIFY_INVAL_ENTRY: i32 = 3;
    pub const FUSE_NOTIFY_STORE: i32 = 4;
    pub const FUSE_NOTIFY_RETRIEVE: i32 = 5;
    pub const FUSE_NOTIFY_DELETE: i32 = 6;
    pub const FUSE_NOTIFY_RESEND: i32 = 7;
    pub const FUSE_NOTIFY_INC_EPOCH: i32 = 8;
}

/// statx(2) mask bits used in `fuse_statx.mask`.
pub mod statx_mask {
    pub const STATX_TYPE: u32 = 0x0001;
    pub const STATX_MODE: u32 = 0x0002;
    pub const STATX_NLINK: u32 = 0x0004;
    pub const STATX_UID: u32 = 0x0008;
    pub const STATX_GID: u32 = 0x0010;
    pub const STATX_ATIME: u32 = 0x0020;
    pub const STATX_MTIME: u32 = 0x0040;
    pub const STATX_CTIME: u32 = 0x0080;
    pub const STATX_INO: u32 = 0x0100;
    pub const STATX_SIZE: u32 = 0x0200;
    pub const STATX_BLOCKS: u32 = 0x0400;
    pub const STATX_BASIC_STATS: u32 = 0x07ff;
    pub const STATX_BTIME: u32 = 0x0800;
}

// ---------------------------------------------------------------------------
// Headers
// ---------------------------------------------------------------------------

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseInHeader {
    pub len: u32,
    pub opcode: u32,
    pub unique: RequestId,
    pub nodeid: NodeId,
    pub uid: u32,
    pub gid: u32,
    pub pid: u32,
    /// Length of request extensions, in 8-byte units (7.38+).
    pub total_extlen: u16,
    pub padding: u16,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseOutHeader {
    pub len: u32,
    /// Negative errno for replies; the notify code for notifications.
    pub error: i32,
    pub unique: RequestId,
}

// ---------------------------------------------------------------------------
// Attributes
// ---------------------------------------------------------------------------

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseAttr {
    pub ino: u64,
    pub size: u64,
    pub blocks: u64,
    pub atime: u64,
    pub mtime: u64,
    pub ctime: u64,
    pub atimensec: u32,
    pub mtimensec: u32,
    pub ctimensec: u32,
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u32,
    pub blksize: u32,
    pub flags: u32,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseSxTime {
    pub tv_sec: i64,
    pub tv_nsec: u32,
    pub reserved: i32,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseStatx {
    pub mask: u32,
    pub blksize: u32,
    pub attributes: u64,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub mode: u16,
    pub spare0: [u16; 1],
    pub ino: u64,
    pub size: u64,
    pub blocks: u64,
    pub attributes_mask: u64,
    pub atime: FuseSxTime,
    pub btime: FuseSxTime,
    pub ctime: FuseSxTime,
    pub mtime: FuseSxTime,
    pub rdev_major: u32,
    pub rdev_minor: u32,
    pub dev_major: u32,
    pub dev_minor: u32,
    pub spare2: [u64; 14],
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseKstatfs {
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub bsize: u32,
    pub namelen: u32,
    pub frsize: u32,
    pub padding: u32,
    pub spare: [u32; 6],
}

// ---------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseInitIn {
    pub major: u32,
    pub minor: u32,
    pub max_readahead: u32,
    pub flags: u32,
    /// 7.36+: flag bits 32..63, valid when FUSE_INIT_EXT is in `flags`.
    pub flags2: u32,
    pub unused: [u32; 11],
}

/// Size of `fuse_init_in` before 7.36.
pub const FUSE_COMPAT_INIT_IN_SIZE: usize = 16;

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseInitOut {
    pub major: u32,
    pub minor: u32,
    pub max_readahead: u32,
    pub flags: u32,
    pub max_background: u16,
    pub congestion_threshold: u16,
    pub max_write: u32,
    pub time_gran: u32,
    pub max_pages: u16,
    pub map_alignment: u16,
    pub flags2: u32,
    pub max_stack_depth: u32,
    pub request_timeout: u16,
    pub unused: [u16; 11],
}

/// Reply size for protocol minor < 5.
pub const FUSE_COMPAT_INIT_OUT_SIZE: usize = 8;
/// Reply size for protocol minor < 23.
pub const FUSE_COMPAT_22_INIT_OUT_SIZE: usize = 24;

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseForgetIn {
    pub nlookup: u64,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseForgetOne {
    pub nodeid: NodeId,
    pub nlookup: u64,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseBatchForgetIn {
    pub count: u32,
    pub dummy: u32,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseGetattrIn {
    pub getattr_flags: u32,
    pub dummy: u32,
    pub fh: FileHandle,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseStatxIn {
    pub getattr_flags: u32,
    pub reserved: u32,
    pub fh: FileHandle,
    pub sx_flags: u32,
    pub sx_mask: u32,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseOpenIn {
    pub flags: u32,
    pub open_flags: u32,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseReleaseIn {
    pub fh: FileHandle,
    pub flags: u32,
    pub release_flags: u32,
    pub lock_owner: u64,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseFlushIn {
    pub fh: FileHandle,
    pub unused: u32,
    pub padding: u32,
    pub lock_owner: u64,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseReadIn {
    pub fh: FileHandle,
    pub offset: u64,
    pub size: u32,
    pub read_flags: u32,
    pub lock_owner: u64,
    pub flags: u32,
    pub padding: u32,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseGetxattrIn {
    pub size: u32,
    pub padding: u32,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseAccessIn {
    pub mask: u32,
    pub padding: u32,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseInterruptIn {
    pub unique: RequestId,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseLseekIn {
    pub fh: FileHandle,
    pub offset: u64,
    pub whence: u32,
    pub padding: u32,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseSetattrIn {
    pub valid: u32,
    pub padding: u32,
    pub fh: FileHandle,
    pub size: u64,
    pub lock_owner: u64,
    pub atime: u64,
    pub mtime: u64,
    pub ctime: u64,
    pub atimensec: u32,
    pub mtimensec: u32,
    pub ctimensec: u32,
    pub mode: u32,
    pub unused4: u32,
    pub uid: u32,
    pub gid: u32,
    pub unused5: u32,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseMknodIn {
    pub mode: u32,
    pub rdev: u32,
    pub umask: u32,
    pub padding: u32,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseMkdirIn {
    pub mode: u32,
    pub umask: u32,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseRenameIn {
    pub newdir: NodeId,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseRename2In {
    pub newdir: NodeId,
    pub flags: u32,
    pub padding: u32,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseLinkIn {
    pub oldnodeid: NodeId,
}

/// CREATE and TMPFILE.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseCreateIn {
    pub flags: u32,
    pub mode: u32,
    pub umask: u32,
    pub open_flags: u32,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseWriteIn {
    pub fh: FileHandle,
    pub offset: u64,
    pub size: u32,
    pub write_flags: u32,
    pub lock_owner: u64,
    pub flags: u32,
    pub padding: u32,
}

/// FSYNC and FSYNCDIR.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseFsyncIn {
    pub fh: FileHandle,
    pub fsync_flags: u32,
    pub padding: u32,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseFallocateIn {
    pub fh: FileHandle,
    pub offset: u64,
    pub length: u64,
    pub mode: u32,
    pub padding: u32,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseCopyFileRangeIn {
    pub fh_in: FileHandle,
    pub off_in: u64,
    pub nodeid_out: NodeId,
    pub fh_out: FileHandle,
    pub off_out: u64,
    pub len: u64,
    pub flags: u64,
}

/// The FUSE_SETXATTR_EXT layout; without that flag the kernel sends only
/// the first [`FUSE_COMPAT_SETXATTR_IN_SIZE`] bytes.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseSetxattrIn {
    pub size: u32,
    pub flags: u32,
    pub setxattr_flags: u32,
    pub padding: u32,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseSyncfsIn {
    pub padding: u64,
}

/// `fuse_ioctl_in`: the command and the caller's argument (a pointer in
/// the caller's memory for commands that carry data); `in_size` bytes of
/// input follow, at most `out_size` bytes of output may be returned.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseIoctlIn {
    pub fh: FileHandle,
    pub flags: u32,
    pub cmd: u32,
    pub arg: u64,
    pub in_size: u32,
    pub out_size: u32,
}

/// `fuse_ioctl_out`: the ioctl's return value, then the output bytes.
/// The iovec fields serve only unrestricted (CUSE) ioctls.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseIoctlOut {
    pub result: i32,
    pub flags: u32,
    pub in_iovs: u32,
    pub out_iovs: u32,
}

/// `fuse_ioctl_in.flags`.
pub mod ioctl_flags {
    /// The caller is a 32-bit process on a 64-bit kernel.
    pub const FUSE_IOCTL_32BIT: u32 = 1 << 3;
    /// The ioctl was made on a directory (needs FUSE_HAS_IOCTL_DIR).
    pub const FUSE_IOCTL_DIR: u32 = 1 << 4;
}

/// Size of `fuse_setxattr_in` without FUSE_SETXATTR_EXT.
pub const FUSE_COMPAT_SETXATTR_IN_SIZE: usize = 8;

// ---------------------------------------------------------------------------
// Reply bodies
// ---------------------------------------------------------------------------

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseEntryOut {
    pub nodeid: NodeId,
    pub generation: u64,
    pub entry_valid: u64,
    pub attr_valid: u64,
    pub entry_valid_nsec: u32,
    pub attr_valid_nsec: u32,
    pub attr: FuseAttr,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseAttrOut {
    pub attr_valid: u64,
    pub attr_valid_nsec: u32,
    pub dummy: u32,
    pub attr: FuseAttr,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseStatxOut {
    pub attr_valid: u64,
    pub attr_valid_nsec: u32,
    pub flags: u32,
    pub spare: [u64; 2],
    pub stat: FuseStatx,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseOpenOut {
    pub fh: FileHandle,
    pub open_flags: u32,
    /// 7.40+: passthrough backing id; 0 here.
    pub backing_id: i32,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseStatfsOut {
    pub st: FuseKstatfs,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseGetxattrOut {
    pub size: u32,
    pub padding: u32,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseLseekOut {
    pub offset: u64,
}

/// WRITE and (32-bit) COPY_FILE_RANGE.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseWriteOut {
    pub size: u32,
    pub padding: u32,
}

/// COPY_FILE_RANGE_64 (7.45).
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseCopyFileRangeOut {
    pub bytes_copied: u64,
}

/// The fixed part of a READDIR record; the name follows, and the record is
/// padded with zeros to a multiple of 8 bytes.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseDirent {
    pub ino: u64,
    pub off: u64,
    pub namelen: u32,
    pub typ: u32,
}

/// The fixed part of a READDIRPLUS record: entry, then dirent, then name.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseDirentplus {
    pub entry_out: FuseEntryOut,
    pub dirent: FuseDirent,
}

/// Rounds up to the 8-byte record alignment of directory listings.
pub const fn fuse_rec_align(len: usize) -> usize {
    (len + 7) & !7
}

// ---------------------------------------------------------------------------
// Notifications
// ---------------------------------------------------------------------------

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseNotifyInvalInodeOut {
    pub ino: NodeId,
    pub off: i64,
    pub len: i64,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseNotifyInvalEntryOut {
    pub parent: NodeId,
    pub namelen: u32,
    pub flags: u32,
}

#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct FuseNotifyDeleteOut {
    pub parent: NodeId,
    pub child: NodeId,
    pub namelen: u32,
    pub padding: u32,
}

// ---------------------------------------------------------------------------
// FUSE over io_uring (7.42+, Linux 6.14+; fs/fuse/dev_uring.c)
// ---------------------------------------------------------------------------

/// io_uring command codes (`cmd_op` of an IORING_OP_URING_CMD on /dev/fuse).
pub mod uring_cmd {
    /// Registers one ring entry (header + payload iovecs) with a queue and
    /// waits for a request.
    pub const FUSE_IO_URING_CMD_REGISTER: u32 = 1;
    /// Commits the reply to the entry's request and waits for the next.
    pub const FUSE_IO_URING_CMD_COMMIT_AND_FETCH: u32 = 2;
}

/// Bytes for `fuse_in_header` / `fuse_out_header` in a ring entry's header.
pub const FUSE_URING_IN_OUT_HEADER_SZ: usize = 128;
/// Bytes for the per-opcode argument struct (the request's first argument).
pub const FUSE_URING_OP_IN_OUT_SZ: usize = 128;
/// A REGISTER carries exactly two iovecs: the header, then the payload.
pub const FUSE_URING_IOV_SEGS: u32 = 2;

/// `fuse_uring_ent_in_out`: per-entry bookkeeping shared with the kernel.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct FuseUringEntInOut {
    pub flags: u64,
    /// The id a COMMIT_AND_FETCH names the request by (its `unique`).
    pub commit_id: RequestId,
    /// Bytes used in the payload buffer (request or reply).
    pub payload_sz: u32,
    pub padding: u32,
    pub reserved: u64,
}

/// `fuse_uring_req_header`: the first iovec of a ring entry.
#[repr(C)]
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct FuseUringReqHeader {
    /// `fuse_in_header` from the kernel, `fuse_out_header` back.
    pub in_out: [u8; FUSE_URING_IN_OUT_HEADER_SZ],
    /// The request's first argument (its fixed per-opcode struct).
    pub op_in: [u8; FUSE_URING_OP_IN_OUT_SZ],
    pub ring_ent_in_out: FuseUringEntInOut,
}

/// `fuse_uring_cmd_req`: the start of the SQE's 80-byte command area.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct FuseUringCmdReq {
    pub flags: u64,
    /// 0 for REGISTER; the request's `commit_id` for COMMIT_AND_FETCH.
    pub commit_id: RequestId,
    /// The queue (one per possible CPU).
    pub qid: u16,
    pub padding: [u8; 6],
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::size_of;

    #[test]
    fn sizes_match_the_kernel_header() {
        assert_eq!(size_of::<FuseInHeader>(), 40);
        assert_eq!(size_of::<FuseOutHeader>(), 16);
        assert_eq!(size_of::<FuseAttr>(), 88);
        assert_eq!(size_of::<FuseEntryOut>(), 128);
        assert_eq!(size_of::<FuseAttrOut>(), 104);
        assert_eq!(size_of::<FuseStatx>(), 256);
        assert_eq!(size_of::<FuseStatxOut>(), 288);
        assert_eq!(size_of::<FuseKstatfs>(), 80);
        assert_eq!(size_of::<FuseInitIn>(), 64);
        assert_eq!(size_of::<FuseInitOut>(), 64);
        assert_eq!(size_of::<FuseReadIn>(), 40);
        assert_eq!(size_of::<FuseReleaseIn>(), 24);
        assert_eq!(size_of::<FuseDirent>(), 24);
        assert_eq!(size_of::<FuseDirentplus>(), 152);
        assert_eq!(size_of::<FuseStatxIn>(), 24);
        assert_eq!(size_of::<FuseNotifyDeleteOut>(), 24);
        assert_eq!(size_of::<FuseSetattrIn>(), 88);
        assert_eq!(size_of::<FuseMknodIn>(), 16);
        assert_eq!(size_of::<FuseMkdirIn>(), 8);
        assert_eq!(size_of::<FuseRename2In>(), 16);
        assert_eq!(size_of::<FuseIoctlIn>(), 32);
        assert_eq!(size_of::<FuseIoctlOut>(), 16);
        assert_eq!(size_of::<FuseCreateIn>(), 16);
        assert_eq!(size_of::<FuseWriteIn>(), 40);
        assert_eq!(size_of::<FuseWriteOut>(), 8);
        assert_eq!(size_of::<FuseFsyncIn>(), 16);
        assert_eq!(size_of::<FuseFallocateIn>(), 32);
        assert_eq!(size_of::<FuseCopyFileRangeIn>(), 56);
        assert_eq!(size_of::<FuseSetxattrIn>(), 16);
        assert_eq!(size_of::<FuseUringEntInOut>(), 32);
        assert_eq!(size_of::<FuseUringReqHeader>(), 288);
        assert_eq!(size_of::<FuseUringCmdReq>(), 24);
    }
}
