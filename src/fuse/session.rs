//! A FUSE session: the channel, the negotiated parameters and the worker
//! threads that read requests, dispatch them to a [`FuseOps`] and reply.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use thiserror::Error;
use tracing::{debug, error, warn};
use zerocopy::IntoBytes;

use super::abi::{self, FUSE_GETATTR_FH, opcode::*};
use super::channel::{Channel, Received};
use super::dirent::DirBuf;
use super::init::{InitConfig, InitError, InitOutcome, Negotiated, negotiate};
use super::notify::Notifier;
use super::ops::{Errno, FuseOps};
use super::reply::{self, Response};
use super::request::Request;

/// Errors that end a session.
#[derive(Debug, Error)]
pub enum SessionError {
    #[error("I/O error on /dev/fuse: {0}")]
    Io(#[from] io::Error),
    #[error("INIT negotiation failed: {0}")]
    Init(#[from] InitError),
    #[error("expected INIT as first request, got opcode {0}")]
    NotInit(u32),
    #[error("the filesystem was unmounted before INIT")]
    UnmountedBeforeInit,
    #[error("malformed request from the kernel")]
    Malformed,
    #[error("a worker thread panicked")]
    WorkerPanicked,
}

/// A connected, initialized FUSE session.
pub struct Session<F: FuseOps + ?Sized> {
    channel: Arc<Channel>,
    ops: Arc<F>,
    negotiated: Negotiated,
}

impl<F: FuseOps + ?Sized> Session<F> {
    /// Takes a freshly mounted `/dev/fuse` fd, waits for the kernel's INIT
    /// and answers it according to `config`.
    pub fn new(fd: OwnedFd, ops: Arc<F>, config: &InitConfig) -> Result<Self, SessionError> {
        let channel = Arc::new(Channel::new(fd));
        let mut buf =
            vec![0u8; (config.max_write as usize).max(1 << 20) + super::init::HEADER_ROOM];
        loop {
            let n = match channel.receive(&mut buf)? {
                Received::Request(n) => n,
                Received::Unmounted => return Err(SessionError::UnmountedBeforeInit),
            };
            let req = Request::parse(&buf[..n]).map_err(|_| SessionError::Malformed)?;
            let unique = req.header.unique;
            if req.header.opcode != FUSE_INIT {
                // Nothing else may come first: this is not a fresh
                // connection (use `resume` for a live one).
                warn!(opcode = req.header.opcode, "request before INIT");
                reply::send_error(&channel, unique, Errno(libc::EIO))?;
                return Err(SessionError::NotInit(req.header.opcode));
            }
            match negotiate(req.rest(), config) {
                Ok(InitOutcome::Done {
                    reply,
                    reply_len,
                    negotiated,
                }) => {
                    reply::send(
                        &channel,
                        unique,
                        &Ok(reply.as_bytes()[..reply_len].to_vec()),
                    )?;
                    debug!(?negotiated, "FUSE INIT done");
                    return Ok(Session {
                        channel,
                        ops,
                        negotiated,
                    });
                }
                Ok(InitOutcome::Retry { reply, reply_len }) => {
                    reply::send(
                        &channel,
                        unique,
                        &Ok(reply.as_bytes()[..reply_len].to_vec()),
                    )?;
                }
                Err(e) => {
                    reply::send_error(&channel, unique, Errno(libc::EPROTO))?;
                    return Err(e.into());
                }
            }
        }
    }

    /// Takes over a live, already initialized connection (a `/dev/fuse` fd
    /// kept across a server restart) with the parameters saved from its INIT
    /// (see [`Negotiated::to_bytes`]). No INIT is exchanged.
    pub fn resume(fd: OwnedFd, ops: Arc<F>, negotiated: Negotiated) -> Self {
        Session {
            channel: Arc::new(Channel::new(fd)),
            ops,
            negotiated,
        }
    }

    /// The parameters in effect (persist them with [`Negotiated::to_bytes`]).
    pub fn negotiated(&self) -> &Negotiated {
        &self.negotiated
    }

    /// A handle for sending invalidation / resend notifications.
    pub fn notifier(&self) -> Notifier {
        Notifier::new(self.channel.clone())
    }

    /// The device fd (e.g. to hand it to a successor process).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.channel.fd()
    }

    /// Serves requests with `n_workers` threads (all reading the one shared
    /// fd) until the filesystem is unmounted; returns when all workers have
    /// finished. `Err` if a worker hit an unexpected device read error or
    /// panicked outside a handler (the others keep serving until unmount).
    pub fn run(&self, n_workers: usize) -> Result<(), SessionError> {
        let n_workers = n_workers.max(1);
        let results: Vec<Result<(), SessionError>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..n_workers)
                .map(|i| {
                    std::thread::Builder::new()
                        .name(format!("fuse-worker-{i}"))
                        .spawn_scoped(s, || self.worker())
                        .map_err(SessionError::Io)
                })
                .collect();
            handles
                .into_iter()
                .map(|h| match h {
                    Ok(h) => h.join().unwrap_or(Err(SessionError::WorkerPanicked)),
                    Err(e) => Err(e),
                })
                .collect()
        });
        results.into_iter().collect()
    }

    fn worker(&self) -> Result<(), SessionError> {
        let mut buf = vec![0u8; self.negotiated.buffer_size()];
        loop {
            let n = match self.channel.receive(&mut buf)? {
                Received::Request(n) => n,
                Received::Unmounted => {
                    debug!("connection closed; worker exits");
                    return Ok(());
                }
            };
            let req = match Request::parse(&buf[..n]) {
                Ok(r) => r,
                Err(Some(h)) => {
                    error!(unique = h.unique, opcode = h.opcode, "malformed request");
                    if self.reply_failed(reply::send_error(&self.channel, h.unique, Errno::EIO)) {
                        return Ok(());
                    }
                    continue;
                }
                Err(None) => {
                    error!(len = n, "short read from /dev/fuse");
                    continue;
                }
            };
            let unique = req.header.unique;
            let op = req.header.opcode;
            debug!(
                unique,
                op = abi::opcode::name(op),
                nodeid = req.header.nodeid,
                "request"
            );
            let ops = &*self.ops;
            let response =
                catch_unwind(AssertUnwindSafe(|| dispatch(ops, req))).unwrap_or_else(|_| {
                    error!(unique, op = abi::opcode::name(op), "handler panicked");
                    Some(Err(Errno::EIO))
                });
            if let Some(response) = response {
                if let Err(e) = &response {
                    debug!(unique, errno = e.0, "reply error");
                }
                if self.reply_failed(reply::send(&self.channel, unique, &response)) {
                    return Ok(());
                }
            }
        }
    }

    /// Logs a failed reply write; true when the connection is gone (the
    /// worker should stop). A reply the kernel rejects (e.g. EINVAL) only
    /// fails that request, so the worker keeps serving.
    fn reply_failed(&self, r: io::Result<()>) -> bool {
        match r {
            Ok(()) => false,
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENODEV) | Some(libc::ECONNABORTED)
                ) =>
            {
                debug!("connection closed while replying; worker exits");
                true
            }
            Err(e) => {
                error!(error = %e, "reply rejected by the kernel");
                false
            }
        }
    }
}

/// Applies the getxattr/listxattr size rules: size 0 asks for the length;
/// a value longer than `size` is ERANGE.
fn xattr_reply(value: Vec<u8>, size: u32) -> Response {
    if size == 0 {
        reply::body(&abi::FuseGetxattrOut {
            size: value.len() as u32,
            padding: 0,
        })
    } else if value.len() > size as usize {
        Err(Errno::ERANGE)
    } else {
        Ok(value)
    }
}

/// Decodes one request, calls the filesystem and encodes its answer.
/// `None` means the request takes no reply (FORGET, BATCH_FORGET, INTERRUPT).
pub fn dispatch<F: FuseOps + ?Sized>(ops: &F, mut req: Request<'_>) -> Option<Response> {
    match req.header.opcode {
        FUSE_FORGET => {
            if let Ok(arg) = req.arg::<abi::FuseForgetIn>() {
                ops.forget(req.header.nodeid, arg.nlookup);
            }
            None
        }
        FUSE_BATCH_FORGET => {
            if let Ok(arg) = req.arg::<abi::FuseBatchForgetIn>() {
                for _ in 0..arg.count {
                    match req.arg::<abi::FuseForgetOne>() {
                        Ok(one) => ops.forget(one.nodeid, one.nlookup),
                        Err(_) => break,
                    }
                }
            }
            None
        }
        // Handlers do not block in a way an interrupt could shorten.
        FUSE_INTERRUPT => None,
        _ => Some(handle(ops, req)),
    }
}

fn handle<F: FuseOps + ?Sized>(ops: &F, mut req: Request<'_>) -> Response {
    let ctx = req.ctx();
    let nodeid = req.header.nodeid;
    match req.header.opcode {
        FUSE_LOOKUP => {
            let name = req.name()?;
            let e = ops.lookup(&ctx, nodeid, name)?;
            reply::body(&reply::entry_out(&e))
        }
        FUSE_GETATTR => {
            let arg: abi::FuseGetattrIn = req.arg()?;
            let fh = (arg.getattr_flags & FUSE_GETATTR_FH != 0).then_some(arg.fh);
            let (attr, ttl) = ops.getattr(&ctx, nodeid, fh)?;
            reply::body(&reply::attr_out(&attr, ttl))
        }
        FUSE_STATX => {
            let arg: abi::FuseStatxIn = req.arg()?;
            let fh = (arg.getattr_flags & FUSE_GETATTR_FH != 0).then_some(arg.fh);
            let (attr, ttl) = ops.getattr(&ctx, nodeid, fh)?;
            reply::body(&reply::statx_out(&attr, ttl))
        }
        FUSE_READLINK => ops.readlink(&ctx, nodeid),
        FUSE_OPEN | FUSE_OPENDIR => {
            let arg: abi::FuseOpenIn = req.arg()?;
            let o = if req.header.opcode == FUSE_OPEN {
                ops.open(&ctx, nodeid, arg.flags)?
            } else {
                ops.opendir(&ctx, nodeid, arg.flags)?
            };
            reply::body(&abi::FuseOpenOut {
                fh: o.fh,
                open_flags: o.open_flags,
                backing_id: 0,
            })
        }
        FUSE_READ => {
            let arg: abi::FuseReadIn = req.arg()?;
            let mut data = ops.read(&ctx, nodeid, arg.fh, arg.offset, arg.size)?;
            data.truncate(arg.size as usize);
            Ok(data)
        }
        FUSE_RELEASE => {
            let arg: abi::FuseReleaseIn = req.arg()?;
            ops.release(&ctx, nodeid, arg.fh, arg.flags)?;
            reply::empty()
        }
        FUSE_RELEASEDIR => {
            let arg: abi::FuseReleaseIn = req.arg()?;
            ops.releasedir(&ctx, nodeid, arg.fh)?;
            reply::empty()
        }
        FUSE_READDIR | FUSE_READDIRPLUS => {
            let plus = req.header.opcode == FUSE_READDIRPLUS;
            let arg: abi::FuseReadIn = req.arg()?;
            let mut sink = DirBuf::new(arg.size as usize, plus);
            ops.readdir(&ctx, nodeid, arg.fh, arg.offset, plus, &mut sink)?;
            Ok(sink.into_bytes())
        }
        FUSE_STATFS => {
            let s = ops.statfs(&ctx, nodeid)?;
            reply::body(&abi::FuseStatfsOut {
                st: reply::kstatfs(&s),
            })
        }
        FUSE_GETXATTR => {
            let arg: abi::FuseGetxattrIn = req.arg()?;
            let name = req.name()?;
            xattr_reply(ops.getxattr(&ctx, nodeid, name)?, arg.size)
        }
        FUSE_LISTXATTR => {
            let arg: abi::FuseGetxattrIn = req.arg()?;
            xattr_reply(ops.listxattr(&ctx, nodeid)?, arg.size)
        }
        FUSE_ACCESS => {
            let arg: abi::FuseAccessIn = req.arg()?;
            ops.access(&ctx, nodeid, arg.mask)?;
            reply::empty()
        }
        FUSE_LSEEK => {
            let arg: abi::FuseLseekIn = req.arg()?;
            let offset = ops.lseek(&ctx, nodeid, arg.fh, arg.offset, arg.whence)?;
            reply::body(&abi::FuseLseekOut { offset })
        }
        FUSE_FLUSH | FUSE_DESTROY => reply::empty(),
        // A second INIT on a live session (e.g. resume() on a fresh fd).
        FUSE_INIT => Err(Errno(libc::EPROTO)),
        _ => Err(Errno::ENOSYS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuse::abi::{FuseGetxattrIn, FuseInHeader};
    use crate::fuse::ops::{OpResult, RequestCtx};
    use parking_lot::Mutex;

    #[derive(Default)]
    struct Fake {
        forgets: Mutex<Vec<(u64, u64)>>,
        seen_unique: Mutex<Option<u64>>,
    }

    impl FuseOps for Fake {
        fn forget(&self, nodeid: u64, nlookup: u64) {
            self.forgets.lock().push((nodeid, nlookup));
        }
        fn getxattr(&self, ctx: &RequestCtx, _n: u64, name: &[u8]) -> OpResult<Vec<u8>> {
            *self.seen_unique.lock() = Some(ctx.unique);
            if name == b"user.a" {
                Ok(b"12345".to_vec())
            } else {
                Err(Errno::ENODATA)
            }
        }
    }

    fn request(opcode: u32, unique: u64, nodeid: u64, body: &[u8]) -> Vec<u8> {
        let len = core::mem::size_of::<FuseInHeader>() + body.len();
        let h = FuseInHeader {
            len: len as u32,
            opcode,
            unique,
            nodeid,
            ..Default::default()
        };
        let mut v = h.as_bytes().to_vec();
        v.extend_from_slice(body);
        v
    }

    fn getxattr(ops: &Fake, size: u32, unique: u64) -> Option<Response> {
        let mut body = FuseGetxattrIn { size, padding: 0 }.as_bytes().to_vec();
        body.extend_from_slice(b"user.a\0");
        let buf = request(FUSE_GETXATTR, unique, 5, &body);
        dispatch(ops, Request::parse(&buf).unwrap())
    }

    /// The CLI may hold the filesystem as a trait object.
    #[allow(dead_code)]
    fn dyn_session_is_send(s: Session<dyn FuseOps>) -> impl Send {
        s
    }

    #[test]
    fn xattr_size_rules_and_resend_bit() {
        let ops = Fake::default();
        let probe = getxattr(&ops, 0, 1 << 63 | 9).unwrap().unwrap();
        assert_eq!(
            probe,
            abi::FuseGetxattrOut {
                size: 5,
                padding: 0
            }
            .as_bytes()
        );
        assert_eq!(
            *ops.seen_unique.lock(),
            Some(1 << 63 | 9),
            "handler sees the resend bit"
        );
        assert_eq!(getxattr(&ops, 4, 1), Some(Err(Errno::ERANGE)));
        assert_eq!(getxattr(&ops, 5, 1), Some(Ok(b"12345".to_vec())));
    }

    #[test]
    fn forgets_take_no_reply_and_unknown_is_enosys() {
        let ops = Fake::default();
        let buf = request(
            FUSE_FORGET,
            1,
            7,
            abi::FuseForgetIn { nlookup: 3 }.as_bytes(),
        );
        assert!(dispatch(&ops, Request::parse(&buf).unwrap()).is_none());
        let mut body = abi::FuseBatchForgetIn { count: 2, dummy: 0 }
            .as_bytes()
            .to_vec();
        body.extend_from_slice(
            abi::FuseForgetOne {
                nodeid: 8,
                nlookup: 1,
            }
            .as_bytes(),
        );
        body.extend_from_slice(
            abi::FuseForgetOne {
                nodeid: 9,
                nlookup: 2,
            }
            .as_bytes(),
        );
        let buf = request(FUSE_BATCH_FORGET, 2, 0, &body);
        assert!(dispatch(&ops, Request::parse(&buf).unwrap()).is_none());
        assert_eq!(*ops.forgets.lock(), vec![(7, 3), (8, 1), (9, 2)]);

        let buf = request(
            FUSE_INTERRUPT,
            3,
            0,
            abi::FuseInterruptIn { unique: 2 }.as_bytes(),
        );
        assert!(dispatch(&ops, Request::parse(&buf).unwrap()).is_none());
        let buf = request(FUSE_MKDIR, 4, 1, &[0; 16]);
        assert_eq!(
            dispatch(&ops, Request::parse(&buf).unwrap()),
            Some(Err(Errno::ENOSYS))
        );
        let buf = request(FUSE_FLUSH, 5, 1, &[0; 24]);
        assert_eq!(
            dispatch(&ops, Request::parse(&buf).unwrap()),
            Some(Ok(Vec::new()))
        );
    }
}
