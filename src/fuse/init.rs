//! FUSE_INIT negotiation and the negotiated connection parameters.
//!
//! [`negotiate`] is a pure function from the kernel's `fuse_init_in` bytes
//! and an [`InitConfig`] to the reply and a [`Negotiated`] record. The record
//! is the single source of truth for the connection's parameters; it can be
//! serialized ([`Negotiated::to_bytes`]) so that a restarted server can take
//! over a live `/dev/fuse` fd without a new INIT (see
//! [`Session::resume`](super::session::Session::resume)).

use thiserror::Error;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::abi::{
    FUSE_COMPAT_22_INIT_OUT_SIZE, FUSE_COMPAT_INIT_IN_SIZE, FUSE_COMPAT_INIT_OUT_SIZE,
    FUSE_KERNEL_MINOR_VERSION, FUSE_KERNEL_VERSION, FUSE_MIN_MINOR_VERSION, FuseInHeader,
    FuseInitIn, FuseInitOut, init_flags::*,
};
use super::ids::{NodeId, RequestId};

/// Page size assumed for `max_pages` (the kernel's PAGE_SIZE on x86-64/arm64 4K).
const PAGE_SIZE: u32 = 4096;
/// Room for the request header and the largest fixed request struct in
/// front of a max_write payload.
pub const HEADER_ROOM: usize = 4096;

/// What the server asks for in INIT. Callers may change any field before
/// creating the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitConfig {
    /// INIT flags we would like (bits 32.. go to flags2). The reply carries
    /// the intersection with what the kernel offers.
    pub wanted_flags: u64,
    /// Largest WRITE payload (and READ size with FUSE_MAX_PAGES).
    pub max_write: u32,
    /// Upper bound for readahead; the kernel's own value caps it.
    pub max_readahead: u32,
    /// Background request limit (0: kernel default).
    pub max_background: u16,
    /// Congestion threshold (0: kernel default).
    pub congestion_threshold: u16,
    /// Timestamp granularity in nanoseconds (1 for ext4's nanosecond times).
    pub time_gran: u32,
    /// Ask for FUSE_POSIX_ACL (the kernel then enforces ACLs stored in
    /// `system.posix_acl_*` xattrs and sends ACL updates as SETXATTR).
    /// Off by default.
    pub posix_acl: bool,
    /// Ask for FUSE over io_uring (FUSE_OVER_IO_URING; see
    /// [`uring`](super::uring)). Off by default; the session falls back
    /// to read(2) when the kernel does not offer it.
    pub io_uring: bool,
}

/// Flags requested by default: read-only-friendly, no writeback cache and no
/// POSIX ACL handling.
pub const DEFAULT_WANTED_FLAGS: u64 = FUSE_ASYNC_READ
    | FUSE_EXPORT_SUPPORT
    | FUSE_BIG_WRITES
    | FUSE_DO_READDIRPLUS
    | FUSE_READDIRPLUS_AUTO
    | FUSE_PARALLEL_DIROPS
    | FUSE_MAX_PAGES
    | FUSE_CACHE_SYMLINKS
    | FUSE_INIT_EXT
    | FUSE_HAS_RESEND
    // ioctls on directories reach the server too (FS_IOC_SHUTDOWN is
    // commonly made on the mountpoint).
    | FUSE_HAS_IOCTL_DIR;

/// Flags for a read-write mount: the defaults plus what a writable server
/// handles itself.
/// - FUSE_ATOMIC_O_TRUNC: O_TRUNC arrives in OPEN/CREATE flags (the server
///   truncates) instead of as a separate SETATTR;
/// - FUSE_HANDLE_KILLPRIV_V2: the server clears setuid/setgid on WRITE
///   (FUSE_WRITE_KILL_SUIDGID), truncate (FATTR_KILL_SUIDGID) and chown,
///   and on fallocate and copy_file_range itself; the kernel then sets
///   SB_NOSEC, so that after a file's first write found no
///   security.capability (S_NOSEC) the next writes ask no GETXATTR (one
///   round trip per write(2) saved). The kernel keeps its cached mode
///   after a write: when a write cleared bits the adapter invalidates the
///   cached attributes (FUSE_NOTIFY_INVAL_INODE) before it answers;
/// - FUSE_SETXATTR_EXT: SETXATTR carries `setxattr_flags`;
/// - FUSE_DONT_MASK: the kernel leaves the umask to the server (it is
///   passed with MKNOD/MKDIR/CREATE/TMPFILE).
///
/// FUSE_WRITEBACK_CACHE and FUSE_POSIX_ACL stay off (see
/// [`InitConfig::posix_acl`]); FUSE_EXPLICIT_INVAL_DATA too: this server is
/// the only writer, and the kernel's automatic handling is sufficient.
pub const READ_WRITE_WANTED_FLAGS: u64 = DEFAULT_WANTED_FLAGS
    | FUSE_ATOMIC_O_TRUNC
    | FUSE_HANDLE_KILLPRIV_V2
    | FUSE_SETXATTR_EXT
    | FUSE_DONT_MASK;

impl InitConfig {
    /// The defaults with [`READ_WRITE_WANTED_FLAGS`].
    pub fn read_write() -> Self {
        InitConfig {
            wanted_flags: READ_WRITE_WANTED_FLAGS,
            ..Default::default()
        }
    }

    /// The flags asked for in INIT ([`Self::wanted_flags`] plus the
    /// optional features).
    pub fn requested_flags(&self) -> u64 {
        let mut f = self.wanted_flags;
        if self.posix_acl {
            f |= FUSE_POSIX_ACL;
        }
        if self.io_uring {
            f |= FUSE_OVER_IO_URING;
        }
        f
    }
}

impl Default for InitConfig {
    fn default() -> Self {
        InitConfig {
            wanted_flags: DEFAULT_WANTED_FLAGS,
            max_write: 1 << 20,
            max_readahead: 1 << 20,
            max_background: 64,
            congestion_threshold: 48,
            time_gran: 1,
            posix_acl: false,
            io_uring: false,
        }
    }
}

/// Errors of INIT negotiation and of loading a saved [`Negotiated`].
#[derive(Debug, Error, PartialEq, Eq)]
pub enum InitError {
    #[error("INIT request too short ({0} bytes)")]
    Truncated(usize),
    #[error("kernel FUSE protocol {major}.{minor} is too old (need 7.{min})", min = FUSE_MIN_MINOR_VERSION)]
    TooOld { major: u32, minor: u32 },
    #[error("saved negotiated parameters are malformed ({0})")]
    BadSavedState(&'static str),
}

/// The parameters in effect on a connection after INIT.
///
/// `repr(C)` without padding, so it round-trips through bytes unchanged;
/// `format` guards against loading a record written by an incompatible
/// version of this struct.
#[repr(C)]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct Negotiated {
    /// Layout version of this record ([`Negotiated::FORMAT`]).
    pub format: u32,
    pub major: u32,
    pub minor: u32,
    pub max_readahead: u32,
    /// Flags in effect (what we replied), bits 0..31.
    pub flags: u32,
    /// Flags in effect, bits 32..63.
    pub flags2: u32,
    /// What the kernel offered, bits 0..31.
    pub kernel_flags: u32,
    /// What the kernel offered, bits 32..63 (0 without FUSE_INIT_EXT).
    pub kernel_flags2: u32,
    pub max_write: u32,
    pub time_gran: u32,
    pub max_pages: u16,
    pub max_background: u16,
    pub congestion_threshold: u16,
    pub reserved: u16,
}

impl Negotiated {
    /// Current layout version of the serialized record.
    pub const FORMAT: u32 = 1;
    /// Serialized size in bytes.
    pub const SIZE: usize = core::mem::size_of::<Negotiated>();

    /// All flags in effect as one 64-bit set.
    pub fn flags64(&self) -> u64 {
        u64::from(self.flags) | (u64::from(self.flags2) << 32)
    }

    /// All flags the kernel offered as one 64-bit set.
    pub fn kernel_flags64(&self) -> u64 {
        u64::from(self.kernel_flags) | (u64::from(self.kernel_flags2) << 32)
    }

    /// True when `flag` (an `init_flags` constant) is in effect.
    pub fn has(&self, flag: u64) -> bool {
        self.flags64() & flag == flag
    }

    /// True when the kernel can resend pending requests (FUSE_HAS_RESEND).
    pub fn kernel_has_resend(&self) -> bool {
        self.kernel_flags64() & FUSE_HAS_RESEND != 0
    }

    /// Size of the per-worker read buffer this connection needs.
    pub fn buffer_size(&self) -> usize {
        (self.max_write as usize).max(1 << 20) + HEADER_ROOM
    }

    /// Serializes the record (native endianness, fixed size [`Self::SIZE`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }

    /// Loads a record written by [`Self::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, InitError> {
        let n = Negotiated::read_from_bytes(bytes)
            .map_err(|_| InitError::BadSavedState("wrong length"))?;
        if n.format != Self::FORMAT {
            return Err(InitError::BadSavedState("unknown format version"));
        }
        if n.major != FUSE_KERNEL_VERSION || n.minor < FUSE_MIN_MINOR_VERSION {
            return Err(InitError::BadSavedState("unsupported protocol version"));
        }
        Ok(n)
    }
}

/// What to do with an INIT request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitOutcome {
    /// Send `reply` (its first `reply_len` bytes); the connection is ready.
    Done {
        reply: FuseInitOut,
        reply_len: usize,
        negotiated: Negotiated,
    },
    /// The kernel speaks a newer major version: send `reply` (our major
    /// only) and wait for another INIT.
    Retry {
        reply: FuseInitOut,
        reply_len: usize,
    },
}

/// Computes the INIT reply for the kernel's `fuse_init_in` (the request body
/// after the header; it may be the 16-byte pre-7.36 form).
pub fn negotiate(init_in: &[u8], config: &InitConfig) -> Result<InitOutcome, InitError> {
    if init_in.len() < FUSE_COMPAT_INIT_IN_SIZE {
        return Err(InitError::Truncated(init_in.len()));
    }
    // Older kernels send a shorter struct: copy into a zeroed full-size one.
    let mut arg = FuseInitIn::default();
    let n = init_in.len().min(core::mem::size_of::<FuseInitIn>());
    arg.as_mut_bytes()[..n].copy_from_slice(&init_in[..n]);

    if arg.major > FUSE_KERNEL_VERSION {
        let reply = FuseInitOut {
            major: FUSE_KERNEL_VERSION,
            minor: FUSE_KERNEL_MINOR_VERSION,
            ..Default::default()
        };
        return Ok(InitOutcome::Retry {
            reply,
            reply_len: FUSE_COMPAT_INIT_OUT_SIZE,
        });
    }
    if arg.major < FUSE_KERNEL_VERSION || arg.minor < FUSE_MIN_MINOR_VERSION {
        return Err(InitError::TooOld {
            major: arg.major,
            minor: arg.minor,
        });
    }
    let minor = arg.minor.min(FUSE_KERNEL_MINOR_VERSION);

    let mut kernel_flags = u64::from(arg.flags);
    if kernel_flags & FUSE_INIT_EXT != 0 {
        kernel_flags |= u64::from(arg.flags2) << 32;
    }
    let mut flags = config.requested_flags() & kernel_flags;
    // flags2 is only read by the kernel when FUSE_INIT_EXT is set.
    if flags >> 32 != 0 {
        flags |= FUSE_INIT_EXT;
    } else {
        flags &= !FUSE_INIT_EXT;
    }

    let max_write = config.max_write.max(PAGE_SIZE);
    let max_pages = if flags & FUSE_MAX_PAGES != 0 {
        max_write.div_ceil(PAGE_SIZE).min(u16::MAX as u32) as u16
    } else {
        0
    };
    let max_readahead = config.max_readahead.min(arg.max_readahead);

    let reply = FuseInitOut {
        major: FUSE_KERNEL_VERSION,
        minor,
        max_readahead,
        flags: flags as u32,
        max_background: config.max_background,
        congestion_threshold: config.congestion_threshold,
        max_write,
        time_gran: config.time_gran.max(1),
        max_pages,
        map_alignment: 0,
        flags2: (flags >> 32) as u32,
        max_stack_depth: 0,
        request_timeout: 0,
        unused: [0; 11],
    };
    let reply_len = if minor < 5 {
        FUSE_COMPAT_INIT_OUT_SIZE
    } else if minor < 23 {
        FUSE_COMPAT_22_INIT_OUT_SIZE
    } else {
        core::mem::size_of::<FuseInitOut>()
    };
    let negotiated = Negotiated {
        format: Negotiated::FORMAT,
        major: FUSE_KERNEL_VERSION,
        minor,
        max_readahead,
        flags: reply.flags,
        flags2: reply.flags2,
        kernel_flags: kernel_flags as u32,
        kernel_flags2: (kernel_flags >> 32) as u32,
        max_write,
        time_gran: reply.time_gran,
        max_pages,
        max_background: config.max_background,
        congestion_threshold: config.congestion_threshold,
        reserved: 0,
    };
    Ok(InitOutcome::Done {
        reply,
        reply_len,
        negotiated,
    })
}

/// Convenience for tests and tools: the bytes of a complete INIT request
/// (header + body) as the kernel would send it.
pub fn synthetic_init_request(
    unique: RequestId,
    major: u32,
    minor: u32,
    max_readahead: u32,
    flags: u64,
) -> Vec<u8> {
    let body = FuseInitIn {
        major,
        minor,
        max_readahead,
        flags: flags as u32
            | if flags >> 32 != 0 {
                FUSE_INIT_EXT as u32
            } else {
                0
            },
        flags2: (flags >> 32) as u32,
        unused: [0; 11],
    };
    let len = core::mem::size_of::<FuseInHeader>() + core::mem::size_of::<FuseInitIn>();
    let header = FuseInHeader {
        len: len as u32,
        opcode: super::abi::opcode::FUSE_INIT,
        unique,
        nodeid: NodeId::NONE,
        ..Default::default()
    };
    let mut v = header.as_bytes().to_vec();
    v.extend_from_slice(body.as_bytes());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything a 6.18 kernel offers (7.44/7.45-era flag set).
    const KERNEL_FLAGS: u64 = ((1 << 31) - 1) & !FUSE_INIT_RESERVED
        | FUSE_SECURITY_CTX
        | FUSE_CREATE_SUPP_GROUP
        | FUSE_HAS_EXPIRE_ONLY
        | FUSE_DIRECT_IO_ALLOW_MMAP
        | FUSE_PASSTHROUGH
        | FUSE_NO_EXPORT_SUPPORT
        | FUSE_HAS_RESEND
        | FUSE_ALLOW_IDMAP
        | FUSE_REQUEST_TIMEOUT;

    fn body(major: u32, minor: u32, readahead: u32, flags: u64) -> Vec<u8> {
        let req = synthetic_init_request(RequestId(1), major, minor, readahead, flags);
        req[core::mem::size_of::<FuseInHeader>()..].to_vec()
    }

    #[test]
    fn negotiates_modern_kernel() {
        let cfg = InitConfig::default();
        let out = negotiate(&body(7, 45, 128 * 1024, KERNEL_FLAGS), &cfg).unwrap();
        let InitOutcome::Done {
            reply,
            reply_len,
            negotiated,
        } = out
        else {
            panic!("expected Done")
        };
        assert_eq!(reply_len, 64);
        assert_eq!((reply.major, reply.minor), (7, FUSE_KERNEL_MINOR_VERSION));
        assert_eq!(
            reply.max_readahead,
            128 * 1024,
            "capped by the kernel's value"
        );
        assert_eq!(reply.max_write, 1 << 20);
        assert_eq!(reply.max_pages, 256);
        let flags = u64::from(reply.flags) | u64::from(reply.flags2) << 32;
        for f in [
            FUSE_ASYNC_READ,
            FUSE_EXPORT_SUPPORT,
            FUSE_BIG_WRITES,
            FUSE_DO_READDIRPLUS,
            FUSE_READDIRPLUS_AUTO,
            FUSE_PARALLEL_DIROPS,
            FUSE_MAX_PAGES,
            FUSE_CACHE_SYMLINKS,
            FUSE_INIT_EXT,
            FUSE_HAS_RESEND,
        ] {
            assert_ne!(flags & f, 0, "flag {f:#x} missing");
        }
        assert_eq!(flags & FUSE_WRITEBACK_CACHE, 0);
        assert_eq!(flags & FUSE_POSIX_ACL, 0);
        assert_eq!(
            reply.flags2 & (1 << 7),
            1 << 7,
            "HAS_RESEND is flags2 bit 7"
        );
        assert!(negotiated.kernel_has_resend());
        assert_eq!(negotiated.flags64(), flags);
        assert_eq!(negotiated.minor, reply.minor);
        assert_eq!(negotiated.kernel_flags64(), KERNEL_FLAGS | FUSE_INIT_EXT);

        // Round trip through bytes.
        let bytes = negotiated.to_bytes();
        assert_eq!(bytes.len(), Negotiated::SIZE);
        assert_eq!(Negotiated::from_bytes(&bytes).unwrap(), negotiated);
        assert!(Negotiated::from_bytes(&bytes[1..]).is_err());
        let mut bad = bytes.clone();
        bad[0] = 99;
        assert!(Negotiated::from_bytes(&bad).is_err());
    }

    #[test]
    fn old_kernel_without_init_ext() {
        // 7.31: 16-byte fuse_init_in, no flags2.
        let b = body(7, 31, 1 << 20, KERNEL_FLAGS & 0x3fff_ffff);
        let out = negotiate(&b[..FUSE_COMPAT_INIT_IN_SIZE], &InitConfig::default()).unwrap();
        let InitOutcome::Done {
            reply, negotiated, ..
        } = out
        else {
            panic!()
        };
        assert_eq!(reply.minor, 31);
        assert_eq!(reply.flags2, 0);
        assert_eq!(
            u64::from(reply.flags) & FUSE_INIT_EXT,
            0,
            "no flags2, so no INIT_EXT"
        );
        assert!(!negotiated.kernel_has_resend());
    }

    #[test]
    fn wanted_flags_are_configurable() {
        let cfg = InitConfig {
            wanted_flags: FUSE_ASYNC_READ | FUSE_WRITEBACK_CACHE,
            ..Default::default()
        };
        let InitOutcome::Done { reply, .. } =
            negotiate(&body(7, 45, 0, KERNEL_FLAGS), &cfg).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            u64::from(reply.flags),
            FUSE_ASYNC_READ | FUSE_WRITEBACK_CACHE
        );
        assert_eq!(reply.max_pages, 0, "no FUSE_MAX_PAGES");
        assert_eq!(reply.max_readahead, 0);
    }

    #[test]
    fn read_write_flags_and_posix_acl_switch() {
        let rw_only = FUSE_ATOMIC_O_TRUNC
            | FUSE_HANDLE_KILLPRIV_V2
            | FUSE_SETXATTR_EXT
            | FUSE_DONT_MASK
            | FUSE_POSIX_ACL
            | FUSE_WRITEBACK_CACHE;
        assert_eq!(DEFAULT_WANTED_FLAGS & rw_only, 0, "defaults stay read-only");
        let flags_of = |cfg: &InitConfig| {
            let InitOutcome::Done { negotiated, .. } =
                negotiate(&body(7, 45, 0, KERNEL_FLAGS), cfg).unwrap()
            else {
                panic!()
            };
            negotiated.flags64()
        };
        let mut cfg = InitConfig::read_write();
        let f = flags_of(&cfg);
        for want in [
            FUSE_ATOMIC_O_TRUNC,
            FUSE_HANDLE_KILLPRIV_V2,
            FUSE_SETXATTR_EXT,
            FUSE_DONT_MASK,
            FUSE_HAS_RESEND,
        ] {
            assert_ne!(f & want, 0, "flag {want:#x} missing");
        }
        assert_eq!(f & (FUSE_WRITEBACK_CACHE | FUSE_POSIX_ACL), 0);
        cfg.posix_acl = true;
        assert_ne!(flags_of(&cfg) & FUSE_POSIX_ACL, 0);
    }

    #[test]
    fn newer_major_asks_for_retry_and_old_minor_fails() {
        let out = negotiate(&body(8, 0, 0, 0), &InitConfig::default()).unwrap();
        let InitOutcome::Retry { reply, reply_len } = out else {
            panic!()
        };
        assert_eq!(reply.major, 7);
        assert_eq!(reply_len, 8);
        assert!(matches!(
            negotiate(&body(7, 12, 0, 0), &InitConfig::default()),
            Err(InitError::TooOld { .. })
        ));
        assert_eq!(
            negotiate(&[0u8; 8], &InitConfig::default()),
            Err(InitError::Truncated(8))
        );
    }
}
