//! Requests the kernel resends after a server restart (FUSE_NOTIFY_RESEND,
//! bit 63 of `unique`): a [`RequestHook`] says what is known of their first
//! execution, and the answers here give the reply that execution would
//! have given when its effect is already on disk, so a non-idempotent
//! request (mkdir, unlink, rename, …) is never answered EEXIST or ENOENT
//! for its own earlier success.

use zerocopy::{FromBytes, IntoBytes};

use super::abi::{self, FuseInHeader, opcode::*};
use super::init::Negotiated;
use super::ops::{Errno, FuseOps};
use super::reply::Response;
use super::request::Request;
use super::session::dispatch;

/// Bit 63 of `unique` marks a resent request.
pub const UNIQUE_RESEND: u64 = 1 << 63;

/// What a hook knows of a request before it is executed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prior {
    /// Nothing: execute it.
    Execute,
    /// Its first execution was answered with this (recorded before the
    /// answer was sent): send it again.
    Reply(Response),
    /// Its first execution committed, the answer is lost: rebuild it.
    Applied,
    /// It may have taken effect (no journal to tell): execute it, and take
    /// "already there" / "already gone" as its own success.
    Maybe,
}

/// Watches requests as a [`super::Session`] serves them (recovery keeps
/// its state and the duplicate-request cache with this).
pub trait RequestHook: Send + Sync {
    /// Before a request (the whole message) is executed.
    fn before(&self, msg: &[u8]) -> Prior;
    /// After it was executed (or answered from [`Prior`]), before the
    /// answer (None: a request without one) is sent. Not called for
    /// answers taken from [`Prior::Reply`].
    fn after(&self, msg: &[u8], response: Option<&Response>);
    /// Once the answer has been written (or there was none).
    fn sent(&self, msg: &[u8]);
}

/// Operations whose second execution would not give the first one's
/// answer: their answers are recorded and their transactions tracked.
pub fn is_non_idempotent(opcode: u32) -> bool {
    matches!(
        opcode,
        FUSE_CREATE
            | FUSE_MKDIR
            | FUSE_MKNOD
            | FUSE_SYMLINK
            | FUSE_LINK
            | FUSE_UNLINK
            | FUSE_RMDIR
            | FUSE_RENAME
            | FUSE_RENAME2
            | FUSE_SETXATTR
            | FUSE_REMOVEXATTR
            | FUSE_TMPFILE
    )
}

/// Operations that change the filesystem but give the same answer when run
/// twice in a row. They are tracked all the same: between the two runs
/// other requests may have used the first one's effect (a write after a
/// truncate, or after a write to the same range, would be undone).
pub fn is_repeatable_change(opcode: u32) -> bool {
    matches!(
        opcode,
        FUSE_SETATTR
            | FUSE_WRITE
            | FUSE_FALLOCATE
            | FUSE_OPEN
            | FUSE_COPY_FILE_RANGE
            | FUSE_COPY_FILE_RANGE_64
    )
}

/// The answer of a request whose effect is on disk, or None when it must
/// simply be executed again (it is idempotent, or its result cannot be
/// rebuilt: tmpfile makes a new nameless file).
pub fn applied_answer<F: FuseOps + ?Sized>(
    ops: &F,
    msg: &[u8],
    negotiated: &Negotiated,
) -> Option<Response> {
    let mut req = Request::parse(msg).ok()?;
    let h = req.header;
    let name = match h.opcode {
        FUSE_UNLINK | FUSE_RMDIR | FUSE_RENAME | FUSE_RENAME2 | FUSE_SETXATTR
        | FUSE_REMOVEXATTR | FUSE_FALLOCATE => return Some(Ok(Vec::new())),
        FUSE_WRITE => {
            // Our writes are all or nothing: it wrote what it was given.
            let arg: abi::FuseWriteIn = req.arg().ok()?;
            return Some(Ok(abi::FuseWriteOut {
                size: arg.size,
                padding: 0,
            }
            .as_bytes()
            .to_vec()));
        }
        FUSE_SETATTR => {
            let arg: abi::FuseSetattrIn = req.arg().ok()?;
            let get = abi::FuseGetattrIn {
                getattr_flags: if arg.valid & abi::fattr::FATTR_FH != 0 {
                    abi::FUSE_GETATTR_FH
                } else {
                    0
                },
                dummy: 0,
                fh: arg.fh,
            };
            let h2 = FuseInHeader {
                opcode: FUSE_GETATTR,
                ..h
            };
            return run(ops, h2, get.as_bytes(), negotiated);
        }
        FUSE_OPEN => {
            // Open again, without truncating again.
            let mut arg: abi::FuseOpenIn = req.arg().ok()?;
            arg.flags &= !(libc::O_TRUNC as u32);
            return run(ops, h, arg.as_bytes(), negotiated);
        }
        FUSE_MKDIR => {
            req.arg::<abi::FuseMkdirIn>().ok()?;
            req.entry_name().ok()?
        }
        FUSE_MKNOD => {
            req.arg::<abi::FuseMknodIn>().ok()?;
            req.entry_name().ok()?
        }
        FUSE_SYMLINK => req.entry_name().ok()?,
        FUSE_LINK => {
            req.arg::<abi::FuseLinkIn>().ok()?;
            req.entry_name().ok()?
        }
        FUSE_CREATE => {
            let arg: abi::FuseCreateIn = req.arg().ok()?;
            let name = req.entry_name().ok()?;
            let entry = lookup(ops, &h, name, negotiated)?;
            let Ok(entry) = entry else {
                return Some(entry);
            };
            let (e, _) = abi::FuseEntryOut::read_from_prefix(&entry).ok()?;
            // Open what the first execution created, without truncating
            // or creating again.
            let flags = arg.flags & !(libc::O_CREAT | libc::O_EXCL | libc::O_TRUNC) as u32;
            let open = abi::FuseOpenIn {
                flags,
                open_flags: 0,
            };
            let h2 = FuseInHeader {
                opcode: FUSE_OPEN,
                nodeid: e.nodeid,
                ..h
            };
            let open = run(ops, h2, open.as_bytes(), negotiated)?;
            return Some(open.map(|o| [entry, o].concat()));
        }
        _ => return None,
    };
    lookup(ops, &h, name, negotiated)
}

/// Settles a [`Prior::Maybe`] request after executing it: "exists" from a
/// creating request and "not found" from a removing one mean the first
/// execution did it.
pub fn settle_maybe<F: FuseOps + ?Sized>(
    ops: &F,
    msg: &[u8],
    negotiated: &Negotiated,
    response: Option<Response>,
) -> Option<Response> {
    let Ok(req) = Request::parse(msg) else {
        return response;
    };
    let op = req.header.opcode;
    match &response {
        Some(Err(e))
            if *e == Errno::EEXIST
                && matches!(
                    op,
                    FUSE_MKDIR | FUSE_MKNOD | FUSE_SYMLINK | FUSE_LINK | FUSE_CREATE
                ) =>
        {
            applied_answer(ops, msg, negotiated).or(response)
        }
        Some(Err(e))
            if (*e == Errno::ENOENT
                && matches!(op, FUSE_UNLINK | FUSE_RMDIR | FUSE_RENAME | FUSE_RENAME2))
                || (*e == Errno::ENODATA && op == FUSE_REMOVEXATTR)
                || (*e == Errno::EEXIST && op == FUSE_SETXATTR) =>
        {
            Some(Ok(Vec::new()))
        }
        _ => response,
    }
}

/// LOOKUP of `name` in the request's directory, as the kernel would send
/// it: the entry the creating request made.
fn lookup<F: FuseOps + ?Sized>(
    ops: &F,
    h: &FuseInHeader,
    name: &[u8],
    negotiated: &Negotiated,
) -> Option<Response> {
    let mut body = name.to_vec();
    body.push(0);
    let h2 = FuseInHeader {
        opcode: FUSE_LOOKUP,
        ..*h
    };
    run(ops, h2, &body, negotiated)
}

fn run<F: FuseOps + ?Sized>(
    ops: &F,
    mut h: FuseInHeader,
    body: &[u8],
    negotiated: &Negotiated,
) -> Option<Response> {
    h.len = (core::mem::size_of::<FuseInHeader>() + body.len()) as u32;
    h.total_extlen = 0;
    let mut msg = h.as_bytes().to_vec();
    msg.extend_from_slice(body);
    dispatch(ops, Request::parse(&msg).ok()?, negotiated)
}
