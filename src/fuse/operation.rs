//! One request decoded into a typed operation: what the kernel asks, with
//! its arguments by name (as fuser's `ll::request` does), before any
//! filesystem code runs. [`super::dispatch`] maps each onto a
//! [`super::ops::FuseOps`] call and encodes the answer.
//!
//! Decoding checks what the request alone can tell (argument sizes, names
//! without '/' or NUL, a WRITE's data the length it says); a failure is
//! the errno the request is answered with (EINVAL for a malformed one).

use zerocopy::FromBytes;

use super::abi::init_flags::FUSE_SETXATTR_EXT;
use super::abi::{self, FUSE_GETATTR_FH, opcode::*};
use super::ids::{FileHandle, NodeId};
use super::init::Negotiated;
use super::ops::{Errno, Ioctl, SetAttr, TimeOrNow, Timespec};
use super::request::Request;

/// A decoded request: a notice, which takes no reply, or an operation,
/// which takes one.
#[derive(Debug)]
pub enum Decoded<'a> {
    Notice(Notice<'a>),
    Operation(Operation<'a>),
}

/// The requests the kernel expects no reply to.
#[derive(Debug)]
pub enum Notice<'a> {
    /// Drop `nlookup` references to the request's node.
    Forget { nlookup: u64 },
    /// Drop references to many nodes.
    BatchForget(Forgets<'a>),
    /// Interrupt an earlier request (handlers do not block in a way an
    /// interrupt could shorten).
    Interrupt,
}

/// A request's operation and its arguments. Node ids other than the
/// request's own (its header's `nodeid`) are named fields.
#[derive(Debug)]
pub enum Operation<'a> {
    Lookup {
        name: &'a [u8],
    },
    /// GETATTR, or STATX (`statx`: answered with `fuse_statx_out`).
    Getattr {
        fh: Option<FileHandle>,
        statx: bool,
    },
    Readlink,
    Open {
        flags: u32,
        open_flags: u32,
    },
    Opendir {
        flags: u32,
    },
    Read {
        fh: FileHandle,
        offset: u64,
        size: u32,
    },
    Release {
        fh: FileHandle,
        flags: u32,
    },
    Releasedir {
        fh: FileHandle,
    },
    /// READDIR, or READDIRPLUS (`plus`).
    Readdir {
        fh: FileHandle,
        offset: u64,
        size: u32,
        plus: bool,
    },
    Statfs,
    Getxattr {
        name: &'a [u8],
        size: u32,
    },
    Listxattr {
        size: u32,
    },
    Access {
        mask: u32,
    },
    Lseek {
        fh: FileHandle,
        offset: u64,
        whence: u32,
    },
    Setattr(SetAttr),
    Mknod {
        name: &'a [u8],
        mode: u32,
        rdev: u32,
        umask: u32,
    },
    Mkdir {
        name: &'a [u8],
        mode: u32,
        umask: u32,
    },
    Symlink {
        name: &'a [u8],
        target: &'a [u8],
    },
    /// A new link to `oldnodeid` named `newname` in the request's node.
    Link {
        oldnodeid: NodeId,
        newname: &'a [u8],
    },
    Unlink {
        name: &'a [u8],
    },
    Rmdir {
        name: &'a [u8],
    },
    /// RENAME, or RENAME2 with its renameat2 flags.
    Rename {
        name: &'a [u8],
        newdir: NodeId,
        newname: &'a [u8],
        flags: u32,
    },
    Create {
        name: &'a [u8],
        mode: u32,
        umask: u32,
        flags: u32,
    },
    Tmpfile {
        mode: u32,
        umask: u32,
        flags: u32,
    },
    Write {
        fh: FileHandle,
        offset: u64,
        data: &'a [u8],
        write_flags: u32,
        flags: u32,
    },
    Flush {
        fh: FileHandle,
        lock_owner: u64,
    },
    /// FSYNC, or FSYNCDIR (`dir`).
    Fsync {
        fh: FileHandle,
        datasync: bool,
        dir: bool,
    },
    Fallocate {
        fh: FileHandle,
        offset: u64,
        length: u64,
        mode: u32,
    },
    /// COPY_FILE_RANGE (`len` capped to what its 32-bit reply carries), or
    /// COPY_FILE_RANGE_64 (`wide`).
    CopyFileRange {
        fh_in: FileHandle,
        off_in: u64,
        nodeid_out: NodeId,
        fh_out: FileHandle,
        off_out: u64,
        len: u64,
        flags: u64,
        wide: bool,
    },
    Setxattr {
        name: &'a [u8],
        value: &'a [u8],
        flags: u32,
        setxattr_flags: u32,
    },
    Removexattr {
        name: &'a [u8],
    },
    Syncfs,
    Ioctl(Ioctl<'a>),
    Destroy,
    /// A second INIT on a live session (e.g. resume() on a fresh fd).
    Init,
    /// An opcode this server does not know.
    Unknown(u32),
}

/// The forgets of a BATCH_FORGET, read one at a time from the request.
#[derive(Debug)]
pub struct Forgets<'a> {
    left: u32,
    body: &'a [u8],
}

impl Iterator for Forgets<'_> {
    /// (node id, nlookup)
    type Item = (NodeId, u64);

    /// Stops at the first entry the request is too short to hold.
    fn next(&mut self) -> Option<(NodeId, u64)> {
        if self.left == 0 {
            return None;
        }
        let (one, rest) = abi::FuseForgetOne::read_from_prefix(self.body).ok()?;
        self.left -= 1;
        self.body = rest;
        Some((one.nodeid, one.nlookup))
    }
}

impl<'a> Decoded<'a> {
    /// Decodes `req` (whose header was parsed). `negotiated` selects
    /// layouts that depend on INIT flags (FUSE_SETXATTR_EXT).
    pub fn decode(mut req: Request<'a>, negotiated: &Negotiated) -> Result<Self, Errno> {
        let notice = match req.header.opcode {
            FUSE_FORGET => Notice::Forget {
                nlookup: req.arg::<abi::FuseForgetIn>()?.nlookup,
            },
            FUSE_BATCH_FORGET => {
                let arg: abi::FuseBatchForgetIn = req.arg()?;
                Notice::BatchForget(Forgets {
                    left: arg.count,
                    body: req.rest(),
                })
            }
            FUSE_INTERRUPT => Notice::Interrupt,
            _ => return Ok(Decoded::Operation(Operation::decode(req, negotiated)?)),
        };
        Ok(Decoded::Notice(notice))
    }

    /// Whether the kernel expects no reply to a request with `opcode`,
    /// even one that does not decode.
    pub fn takes_no_reply(opcode: u32) -> bool {
        matches!(opcode, FUSE_FORGET | FUSE_BATCH_FORGET | FUSE_INTERRUPT)
    }
}

impl<'a> Operation<'a> {
    /// Decodes the operation of `req`, a request that takes a reply.
    fn decode(mut req: Request<'a>, negotiated: &Negotiated) -> Result<Self, Errno> {
        let opcode = req.header.opcode;
        let req = &mut req;
        Ok(match opcode {
            FUSE_LOOKUP => Operation::Lookup { name: req.name()? },
            FUSE_GETATTR => {
                let arg: abi::FuseGetattrIn = req.arg()?;
                Operation::Getattr {
                    fh: (arg.getattr_flags & FUSE_GETATTR_FH != 0).then_some(arg.fh),
                    statx: false,
                }
            }
            FUSE_STATX => {
                let arg: abi::FuseStatxIn = req.arg()?;
                Operation::Getattr {
                    fh: (arg.getattr_flags & FUSE_GETATTR_FH != 0).then_some(arg.fh),
                    statx: true,
                }
            }
            FUSE_READLINK => Operation::Readlink,
            FUSE_OPEN => {
                let arg: abi::FuseOpenIn = req.arg()?;
                Operation::Open {
                    flags: arg.flags,
                    open_flags: arg.open_flags,
                }
            }
            FUSE_OPENDIR => Operation::Opendir {
                flags: req.arg::<abi::FuseOpenIn>()?.flags,
            },
            FUSE_READ => {
                let arg: abi::FuseReadIn = req.arg()?;
                Operation::Read {
                    fh: arg.fh,
                    offset: arg.offset,
                    size: arg.size,
                }
            }
            FUSE_RELEASE => {
                let arg: abi::FuseReleaseIn = req.arg()?;
                Operation::Release {
                    fh: arg.fh,
                    flags: arg.flags,
                }
            }
            FUSE_RELEASEDIR => Operation::Releasedir {
                fh: req.arg::<abi::FuseReleaseIn>()?.fh,
            },
            FUSE_READDIR | FUSE_READDIRPLUS => {
                let arg: abi::FuseReadIn = req.arg()?;
                Operation::Readdir {
                    fh: arg.fh,
                    offset: arg.offset,
                    size: arg.size,
                    plus: opcode == FUSE_READDIRPLUS,
                }
            }
            FUSE_STATFS => Operation::Statfs,
            FUSE_GETXATTR => {
                let arg: abi::FuseGetxattrIn = req.arg()?;
                Operation::Getxattr {
                    name: req.name()?,
                    size: arg.size,
                }
            }
            FUSE_LISTXATTR => Operation::Listxattr {
                size: req.arg::<abi::FuseGetxattrIn>()?.size,
            },
            FUSE_ACCESS => Operation::Access {
                mask: req.arg::<abi::FuseAccessIn>()?.mask,
            },
            FUSE_LSEEK => {
                let arg: abi::FuseLseekIn = req.arg()?;
                Operation::Lseek {
                    fh: arg.fh,
                    offset: arg.offset,
                    whence: arg.whence,
                }
            }
            FUSE_SETATTR => Operation::Setattr(decode_setattr(&req.arg()?)),
            FUSE_MKNOD => {
                let arg: abi::FuseMknodIn = req.arg()?;
                Operation::Mknod {
                    name: req.entry_name()?,
                    mode: arg.mode,
                    rdev: arg.rdev,
                    umask: arg.umask,
                }
            }
            FUSE_MKDIR => {
                let arg: abi::FuseMkdirIn = req.arg()?;
                Operation::Mkdir {
                    name: req.entry_name()?,
                    mode: arg.mode,
                    umask: arg.umask,
                }
            }
            FUSE_SYMLINK => {
                // The new entry's name, then the link target.
                let name = req.entry_name()?;
                let target = req.name()?;
                if target.is_empty() {
                    return Err(Errno::EINVAL);
                }
                Operation::Symlink { name, target }
            }
            FUSE_LINK => {
                let arg: abi::FuseLinkIn = req.arg()?;
                Operation::Link {
                    oldnodeid: arg.oldnodeid,
                    newname: req.entry_name()?,
                }
            }
            FUSE_UNLINK => Operation::Unlink {
                name: req.entry_name()?,
            },
            FUSE_RMDIR => Operation::Rmdir {
                name: req.entry_name()?,
            },
            FUSE_RENAME | FUSE_RENAME2 => {
                let (newdir, flags) = if opcode == FUSE_RENAME2 {
                    let arg: abi::FuseRename2In = req.arg()?;
                    (arg.newdir, arg.flags)
                } else {
                    (req.arg::<abi::FuseRenameIn>()?.newdir, 0)
                };
                Operation::Rename {
                    name: req.entry_name()?,
                    newdir,
                    newname: req.entry_name()?,
                    flags,
                }
            }
            FUSE_CREATE => {
                let arg: abi::FuseCreateIn = req.arg()?;
                Operation::Create {
                    name: req.entry_name()?,
                    mode: arg.mode,
                    umask: arg.umask,
                    flags: arg.flags,
                }
            }
            FUSE_TMPFILE => {
                let arg: abi::FuseCreateIn = req.arg()?;
                // The kernel sends a placeholder name ("/"); it must be
                // there but is not an entry name.
                req.name()?;
                Operation::Tmpfile {
                    mode: arg.mode,
                    umask: arg.umask,
                    flags: arg.flags,
                }
            }
            FUSE_WRITE => {
                let arg: abi::FuseWriteIn = req.arg()?;
                let data = req.rest();
                if data.len() != arg.size as usize {
                    return Err(Errno::EINVAL);
                }
                Operation::Write {
                    fh: arg.fh,
                    offset: arg.offset,
                    data,
                    write_flags: arg.write_flags,
                    flags: arg.flags,
                }
            }
            FUSE_FLUSH => {
                let arg: abi::FuseFlushIn = req.arg()?;
                Operation::Flush {
                    fh: arg.fh,
                    lock_owner: arg.lock_owner,
                }
            }
            FUSE_FSYNC | FUSE_FSYNCDIR => {
                let arg: abi::FuseFsyncIn = req.arg()?;
                Operation::Fsync {
                    fh: arg.fh,
                    datasync: arg.fsync_flags & abi::FUSE_FSYNC_FDATASYNC != 0,
                    dir: opcode == FUSE_FSYNCDIR,
                }
            }
            FUSE_FALLOCATE => {
                let arg: abi::FuseFallocateIn = req.arg()?;
                Operation::Fallocate {
                    fh: arg.fh,
                    offset: arg.offset,
                    length: arg.length,
                    mode: arg.mode,
                }
            }
            FUSE_COPY_FILE_RANGE | FUSE_COPY_FILE_RANGE_64 => {
                let arg: abi::FuseCopyFileRangeIn = req.arg()?;
                let wide = opcode == FUSE_COPY_FILE_RANGE_64;
                Operation::CopyFileRange {
                    fh_in: arg.fh_in,
                    off_in: arg.off_in,
                    nodeid_out: arg.nodeid_out,
                    fh_out: arg.fh_out,
                    off_out: arg.off_out,
                    // The 32-bit reply cannot carry more; the kernel caps
                    // len anyway.
                    len: if wide {
                        arg.len
                    } else {
                        arg.len.min(u64::from(u32::MAX))
                    },
                    flags: arg.flags,
                    wide,
                }
            }
            FUSE_SETXATTR => {
                let arg: abi::FuseSetxattrIn = if negotiated.has(FUSE_SETXATTR_EXT) {
                    req.arg()?
                } else {
                    req.arg_prefix(abi::FUSE_COMPAT_SETXATTR_IN_SIZE)?
                };
                let name = req.name()?;
                if name.is_empty() {
                    return Err(Errno::EINVAL);
                }
                let value = req.rest();
                if value.len() != arg.size as usize {
                    return Err(Errno::EINVAL);
                }
                Operation::Setxattr {
                    name,
                    value,
                    flags: arg.flags,
                    setxattr_flags: arg.setxattr_flags,
                }
            }
            FUSE_REMOVEXATTR => {
                let name = req.name()?;
                if name.is_empty() {
                    return Err(Errno::EINVAL);
                }
                Operation::Removexattr { name }
            }
            FUSE_SYNCFS => {
                let _: abi::FuseSyncfsIn = req.arg()?;
                Operation::Syncfs
            }
            FUSE_IOCTL => {
                let arg: abi::FuseIoctlIn = req.arg()?;
                Operation::Ioctl(Ioctl {
                    fh: arg.fh,
                    flags: arg.flags,
                    cmd: arg.cmd,
                    arg: arg.arg,
                    input: req.take(arg.in_size as usize)?,
                    out_size: arg.out_size,
                })
            }
            FUSE_DESTROY => Operation::Destroy,
            FUSE_INIT => Operation::Init,
            other => Operation::Unknown(other),
        })
    }
}

/// Decodes `fuse_setattr_in` into [`SetAttr`].
fn decode_setattr(a: &abi::FuseSetattrIn) -> SetAttr {
    use abi::fattr::*;
    let has = |bit: u32| a.valid & bit != 0;
    let time = |set: u32, now: u32, sec: u64, nsec: u32| {
        if has(now) {
            Some(TimeOrNow::Now)
        } else if has(set) {
            Some(TimeOrNow::Set(Timespec {
                sec: sec as i64,
                nsec,
            }))
        } else {
            None
        }
    };
    SetAttr {
        mode: has(FATTR_MODE).then_some(a.mode),
        uid: has(FATTR_UID).then_some(a.uid),
        gid: has(FATTR_GID).then_some(a.gid),
        size: has(FATTR_SIZE).then_some(a.size),
        atime: time(FATTR_ATIME, FATTR_ATIME_NOW, a.atime, a.atimensec),
        mtime: time(FATTR_MTIME, FATTR_MTIME_NOW, a.mtime, a.mtimensec),
        ctime: has(FATTR_CTIME).then_some(Timespec {
            sec: a.ctime as i64,
            nsec: a.ctimensec,
        }),
        fh: has(FATTR_FH).then_some(a.fh),
        kill_suidgid: has(FATTR_KILL_SUIDGID),
    }
}
