//! A FUSE session: the channel, the negotiated parameters and the worker
//! threads that read requests, dispatch them to a [`FuseOps`] and reply.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use thiserror::Error;
use tracing::{debug, error, warn};
use zerocopy::IntoBytes;

use super::abi::init_flags::{FUSE_OVER_IO_URING, FUSE_SETXATTR_EXT};
use super::abi::{self, FUSE_GETATTR_FH, opcode::*};
use super::channel::{Channel, Received};
use super::dirent::DirBuf;
use super::init::{InitConfig, InitError, InitOutcome, Negotiated, negotiate};
use super::notify::Notifier;
use super::opcount::OpCounts;
use super::ops::{Errno, FuseOps, Ioctl, SetAttr, TimeOrNow, Timespec};
use super::reply::{self, Response};
use super::request::Request;
use super::resend::{Prior, RequestHook, applied_answer, settle_maybe};
use super::uring::{self, Fetched, RingWorker};

/// The rings made for `-o io_uring` before INIT, one per queue.
type Rings = Vec<io_uring::IoUring<io_uring::squeue::Entry128>>;

/// Consecutive refused ring commands after which a ring worker gives up.
const RING_RETRIES: u32 = 3;

/// What became of one request message.
enum Executed {
    /// Send this answer to request `unique`.
    Reply(u64, Response),
    /// The request takes no answer (FORGET, INTERRUPT).
    NoReply,
    /// The message does not parse; answer EIO when its unique is known.
    Malformed(Option<u64>),
}

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
    hook: Option<Arc<dyn RequestHook>>,
    counts: Arc<OpCounts>,
    /// The requests that came over io_uring (a subset of `counts`).
    ring_counts: Arc<OpCounts>,
    /// Rings for the queues while the kernel agreed to FUSE over io_uring
    /// and [`Session::run`] has not yet taken them.
    rings: parking_lot::Mutex<Rings>,
    uring: bool,
}

impl<F: FuseOps + ?Sized> Session<F> {
    /// Takes a freshly mounted `/dev/fuse` fd, waits for the kernel's INIT
    /// and answers it according to `config`.
    ///
    /// With [`InitConfig::io_uring`] the session asks for FUSE over
    /// io_uring; if the kernel does not offer it (or io_uring cannot be set
    /// up) it logs a one-line warning and serves over read(2).
    pub fn new(fd: OwnedFd, ops: Arc<F>, config: &InitConfig) -> Result<Self, SessionError> {
        let channel = Arc::new(Channel::new(fd));
        let mut config = *config;
        let mut rings = Rings::new();
        if config.io_uring {
            match prepare_rings() {
                Ok(r) => rings = r,
                Err(e) => {
                    warn!("io_uring: cannot set up rings ({e}); serving over read(2)");
                    config.io_uring = false;
                }
            }
        }
        let config = &config;
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
                    let uring = negotiated.has(FUSE_OVER_IO_URING);
                    if config.io_uring && !uring {
                        warn!(
                            "io_uring: the kernel does not offer FUSE over io_uring \
                             (/sys/module/fuse/parameters/enable_uring is not 1, or Linux \
                             is older than 6.14); serving over read(2)"
                        );
                        rings.clear();
                    }
                    ops.attach(Notifier::new(channel.clone()));
                    return Ok(Session {
                        channel,
                        ops,
                        negotiated,
                        hook: None,
                        counts: Arc::default(),
                        ring_counts: Arc::default(),
                        rings: parking_lot::Mutex::new(rings),
                        uring,
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
    /// (see [`Negotiated::to_bytes`]). No INIT is exchanged. The session
    /// serves over read(2): requests a dead server held in io_uring
    /// entries cannot be answered by a successor (see docs/performance.md,
    /// "FUSE over io_uring"), so callers do not resume such connections.
    pub fn resume(fd: OwnedFd, ops: Arc<F>, negotiated: Negotiated) -> Self {
        let channel = Arc::new(Channel::new(fd));
        ops.attach(Notifier::new(channel.clone()));
        Session {
            channel,
            ops,
            negotiated,
            hook: None,
            counts: Arc::default(),
            ring_counts: Arc::default(),
            rings: parking_lot::Mutex::new(Rings::new()),
            uring: false,
        }
    }

    /// Has `hook` watch every request (set before [`Session::run`]).
    pub fn set_hook(&mut self, hook: Arc<dyn RequestHook>) {
        self.hook = Some(hook);
    }

    /// The parameters in effect (persist them with [`Negotiated::to_bytes`]).
    pub fn negotiated(&self) -> &Negotiated {
        &self.negotiated
    }

    /// The requests served so far, by opcode (INIT not included).
    pub fn op_counts(&self) -> &Arc<OpCounts> {
        &self.counts
    }

    /// The requests served over io_uring so far, by opcode (the rest of
    /// [`Session::op_counts`] came through read(2)).
    pub fn ring_op_counts(&self) -> &Arc<OpCounts> {
        &self.ring_counts
    }

    /// True when the kernel agreed to FUSE over io_uring: [`Session::run`]
    /// serves requests through per-CPU rings, and only FORGET and
    /// INTERRUPT through read(2).
    pub fn uses_io_uring(&self) -> bool {
        self.uring
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
    ///
    /// Over io_uring, each queue gets `n_workers / queues` (at least one)
    /// ring threads, and one thread reads /dev/fuse for FORGET and
    /// INTERRUPT.
    pub fn run(&self, n_workers: usize) -> Result<(), SessionError> {
        let n_workers = n_workers.max(1);
        let rings = std::mem::take(&mut *self.rings.lock());
        let results: Vec<Result<(), SessionError>> = std::thread::scope(|s| {
            let readers = if rings.is_empty() { n_workers } else { 1 };
            let mut handles: Vec<_> = (0..readers)
                .map(|i| {
                    std::thread::Builder::new()
                        .name(format!("fuse-worker-{i}"))
                        .spawn_scoped(s, || self.worker())
                        .map_err(SessionError::Io)
                })
                .collect();
            let per_queue = n_workers.div_ceil(rings.len().max(1)).max(1);
            let payload = uring::payload_size(&self.negotiated);
            for (qid, first) in rings.into_iter().enumerate() {
                let mut first = Some(first);
                for t in 0..per_queue {
                    let worker = match first.take() {
                        Some(r) => Ok(r),
                        None => uring::new_ring(),
                    }
                    .and_then(|r| RingWorker::new(r, self.channel.fd(), qid as u16, payload));
                    handles.push(match worker {
                        Ok(w) => std::thread::Builder::new()
                            .name(format!("fuse-ring-{qid}.{t}"))
                            .spawn_scoped(s, move || self.ring_worker(w))
                            .map_err(SessionError::Io),
                        Err(e) => Err(SessionError::Io(e)),
                    });
                }
            }
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
        // Every page of the buffer is touched now (a non-zero fill: a zeroed
        // allocation would stay unmapped): if the server is killed while
        // the kernel copies a request into it, a page fault under a fatal
        // signal fails the copy, and the kernel ends that request with EIO
        // instead of keeping it for a resend.
        let mut buf = vec![0xA5u8; self.negotiated.buffer_size()];
        loop {
            let n = match self.channel.receive(&mut buf)? {
                Received::Request(n) => n,
                Received::Unmounted => {
                    debug!("connection closed; worker exits");
                    return Ok(());
                }
            };
            let msg = &buf[..n];
            match self.execute(msg, None) {
                Executed::Reply(unique, response) => {
                    crate::crashpoint::hit("before-reply");
                    if self.reply_failed(reply::send(&self.channel, unique, &response)) {
                        return Ok(());
                    }
                }
                Executed::NoReply => {}
                Executed::Malformed(unique) => {
                    if let Some(unique) = unique
                        && self.reply_failed(reply::send_error(&self.channel, unique, Errno::EIO))
                    {
                        return Ok(());
                    }
                    continue;
                }
            }
            if let Some(h) = &self.hook {
                h.sent(msg);
            }
        }
    }

    /// Serves the requests of one ring entry on queue `worker.qid()` until
    /// the kernel tears the queue down.
    fn ring_worker(&self, mut worker: RingWorker<'_>) -> Result<(), SessionError> {
        // Best effort: the kernel picks the queue by the caller's CPU, so
        // the queue's thread is best placed on that CPU.
        let mut cpus = rustix::thread::CpuSet::new();
        cpus.set(usize::from(worker.qid()));
        let _ = rustix::thread::sched_setaffinity(None, &cpus);
        worker.register()?;
        let mut failures = 0;
        loop {
            match worker.wait() {
                Ok(Fetched::Request) => failures = 0,
                Ok(Fetched::Closed) => {
                    debug!(qid = worker.qid(), "ring queue closed; worker exits");
                    return Ok(());
                }
                // A refused command leaves the entry unregistered: register
                // it again, so that the queue keeps its capacity (a queue
                // without entries would leave its CPU's callers waiting).
                Err(e) if failures < RING_RETRIES => {
                    failures += 1;
                    error!(qid = worker.qid(), error = %e, "io_uring command refused; registering again");
                    worker.register()?;
                    continue;
                }
                Err(e) => {
                    error!(qid = worker.qid(), error = %e, "io_uring command refused; ring worker exits");
                    return Err(e.into());
                }
            }
            let msg = worker.message();
            let (unique, response) = match self.execute(msg, Some(&self.ring_counts)) {
                Executed::Reply(unique, response) => (unique, response),
                Executed::Malformed(_) => (worker.commit_id(), Err(Errno::EIO)),
                // Only FORGET and INTERRUPT take no reply, and the kernel
                // sends those through /dev/fuse; an entry must be
                // committed to get the next request all the same.
                Executed::NoReply => (worker.commit_id(), Err(Errno::EIO)),
            };
            // The message shares the entry's buffer with the reply.
            let sent_msg = self.hook.as_ref().map(|_| msg.to_vec());
            crate::crashpoint::hit("before-reply");
            worker.reply(unique, &response)?;
            if let (Some(h), Some(msg)) = (&self.hook, sent_msg) {
                worker.submit()?;
                h.sent(&msg);
            }
        }
    }

    /// Decodes and executes one request message: hooks, dispatch, the
    /// panic guard and counting (also in `transport_counts`, the ring's),
    /// shared by both transports.
    fn execute(&self, msg: &[u8], transport_counts: Option<&OpCounts>) -> Executed {
        let req = match Request::parse(msg) {
            Ok(r) => r,
            Err(Some(h)) => {
                error!(unique = h.unique, opcode = h.opcode, "malformed request");
                return Executed::Malformed(Some(h.unique));
            }
            Err(None) => {
                error!(len = msg.len(), "short request from the kernel");
                return Executed::Malformed(None);
            }
        };
        let unique = req.header.unique;
        let op = req.header.opcode;
        self.counts.add(op);
        if let Some(c) = transport_counts {
            c.add(op);
        }
        debug!(
            unique,
            op = abi::opcode::name(op),
            nodeid = req.header.nodeid,
            "request"
        );
        crate::crashpoint::set_request(abi::opcode::name(op));
        crate::crashpoint::hit("after-read");
        let prior = match &self.hook {
            Some(h) => h.before(msg),
            None => Prior::Execute,
        };
        let ops = &*self.ops;
        let n = &self.negotiated;
        let replayed = matches!(prior, Prior::Reply(_));
        // Rebuilt answers run handlers too: all under the one guard.
        let response = catch_unwind(AssertUnwindSafe(|| match prior {
            Prior::Reply(r) => {
                debug!(unique, "answered from the record of its first execution");
                Some(r)
            }
            Prior::Applied => {
                debug!(unique, "already applied; answer rebuilt");
                applied_answer(ops, msg, n).or_else(|| dispatch(ops, req, n))
            }
            Prior::Maybe => settle_maybe(ops, msg, n, dispatch(ops, req, n)),
            Prior::Execute => dispatch(ops, req, n),
        }))
        .unwrap_or_else(|_| {
            error!(unique, op = abi::opcode::name(op), "handler panicked");
            Some(Err(Errno::EIO))
        });
        if let Some(h) = &self.hook
            && !replayed
        {
            h.after(msg, response.as_ref());
        }
        match response {
            Some(response) => {
                if let Err(e) = &response {
                    debug!(unique, errno = e.0, "reply error");
                }
                Executed::Reply(unique, response)
            }
            None => Executed::NoReply,
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

/// One io_uring per queue (per possible CPU), made before INIT so that a
/// kernel refusing io_uring itself leads to read(2) rather than to a
/// connection waiting for queues that never register.
fn prepare_rings() -> io::Result<Rings> {
    (0..uring::possible_cpus()?)
        .map(|_| uring::new_ring())
        .collect()
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
/// `negotiated` selects request layouts that depend on INIT flags
/// (FUSE_SETXATTR_EXT).
pub fn dispatch<F: FuseOps + ?Sized>(
    ops: &F,
    mut req: Request<'_>,
    negotiated: &Negotiated,
) -> Option<Response> {
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
        _ => Some(handle(ops, req, negotiated)),
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

fn handle<F: FuseOps + ?Sized>(ops: &F, mut req: Request<'_>, negotiated: &Negotiated) -> Response {
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
                ops.open(&ctx, nodeid, arg.flags, arg.open_flags)?
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
        FUSE_SETATTR => {
            let arg: abi::FuseSetattrIn = req.arg()?;
            let (attr, ttl) = ops.setattr(&ctx, nodeid, &decode_setattr(&arg))?;
            reply::body(&reply::attr_out(&attr, ttl))
        }
        FUSE_MKNOD => {
            let arg: abi::FuseMknodIn = req.arg()?;
            let name = req.entry_name()?;
            let e = ops.mknod(&ctx, nodeid, name, arg.mode, arg.rdev, arg.umask)?;
            reply::body(&reply::entry_out(&e))
        }
        FUSE_MKDIR => {
            let arg: abi::FuseMkdirIn = req.arg()?;
            let name = req.entry_name()?;
            let e = ops.mkdir(&ctx, nodeid, name, arg.mode, arg.umask)?;
            reply::body(&reply::entry_out(&e))
        }
        FUSE_SYMLINK => {
            // The new entry's name, then the link target.
            let name = req.entry_name()?;
            let target = req.name()?;
            if target.is_empty() {
                return Err(Errno::EINVAL);
            }
            let e = ops.symlink(&ctx, nodeid, name, target)?;
            reply::body(&reply::entry_out(&e))
        }
        FUSE_LINK => {
            let arg: abi::FuseLinkIn = req.arg()?;
            let newname = req.entry_name()?;
            let e = ops.link(&ctx, arg.oldnodeid, nodeid, newname)?;
            reply::body(&reply::entry_out(&e))
        }
        FUSE_UNLINK => {
            let name = req.entry_name()?;
            ops.unlink(&ctx, nodeid, name)?;
            reply::empty()
        }
        FUSE_RMDIR => {
            let name = req.entry_name()?;
            ops.rmdir(&ctx, nodeid, name)?;
            reply::empty()
        }
        FUSE_RENAME | FUSE_RENAME2 => {
            let (newdir, flags) = if req.header.opcode == FUSE_RENAME2 {
                let arg: abi::FuseRename2In = req.arg()?;
                (arg.newdir, arg.flags)
            } else {
                let arg: abi::FuseRenameIn = req.arg()?;
                (arg.newdir, 0)
            };
            let name = req.entry_name()?;
            let newname = req.entry_name()?;
            ops.rename(&ctx, nodeid, name, newdir, newname, flags)?;
            reply::empty()
        }
        FUSE_CREATE => {
            let arg: abi::FuseCreateIn = req.arg()?;
            let name = req.entry_name()?;
            let (e, o) = ops.create(&ctx, nodeid, name, arg.mode, arg.umask, arg.flags)?;
            reply::create_reply(&e, &o)
        }
        FUSE_TMPFILE => {
            let arg: abi::FuseCreateIn = req.arg()?;
            // The kernel sends a placeholder name ("/"); it must be there
            // but is not an entry name.
            req.name()?;
            let (e, o) = ops.tmpfile(&ctx, nodeid, arg.mode, arg.umask, arg.flags)?;
            reply::create_reply(&e, &o)
        }
        FUSE_WRITE => {
            let arg: abi::FuseWriteIn = req.arg()?;
            let data = req.rest();
            if data.len() != arg.size as usize {
                return Err(Errno::EINVAL);
            }
            let n = ops.write(
                &ctx,
                nodeid,
                arg.fh,
                arg.offset,
                data,
                arg.write_flags,
                arg.flags,
            )?;
            // Claiming more than was sent would corrupt the kernel's view.
            if n > arg.size {
                return Err(Errno::EIO);
            }
            reply::write_out(n)
        }
        FUSE_FLUSH => {
            let arg: abi::FuseFlushIn = req.arg()?;
            ops.flush(&ctx, nodeid, arg.fh, arg.lock_owner)?;
            reply::empty()
        }
        FUSE_FSYNC | FUSE_FSYNCDIR => {
            let arg: abi::FuseFsyncIn = req.arg()?;
            let datasync = arg.fsync_flags & abi::FUSE_FSYNC_FDATASYNC != 0;
            if req.header.opcode == FUSE_FSYNC {
                ops.fsync(&ctx, nodeid, arg.fh, datasync)?;
            } else {
                ops.fsyncdir(&ctx, nodeid, arg.fh, datasync)?;
            }
            reply::empty()
        }
        FUSE_FALLOCATE => {
            let arg: abi::FuseFallocateIn = req.arg()?;
            ops.fallocate(&ctx, nodeid, arg.fh, arg.offset, arg.length, arg.mode)?;
            reply::empty()
        }
        FUSE_COPY_FILE_RANGE | FUSE_COPY_FILE_RANGE_64 => {
            let arg: abi::FuseCopyFileRangeIn = req.arg()?;
            let wide = req.header.opcode == FUSE_COPY_FILE_RANGE_64;
            // The 32-bit reply cannot carry more; the kernel caps len anyway.
            let len = if wide {
                arg.len
            } else {
                arg.len.min(u64::from(u32::MAX))
            };
            let n = ops.copy_file_range(
                &ctx,
                nodeid,
                arg.fh_in,
                arg.off_in,
                arg.nodeid_out,
                arg.fh_out,
                arg.off_out,
                len,
                arg.flags,
            )?;
            if n > len {
                return Err(Errno::EIO);
            }
            if wide {
                reply::body(&abi::FuseCopyFileRangeOut { bytes_copied: n })
            } else {
                reply::write_out(n as u32)
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
            ops.setxattr(&ctx, nodeid, name, value, arg.flags, arg.setxattr_flags)?;
            reply::empty()
        }
        FUSE_REMOVEXATTR => {
            let name = req.name()?;
            if name.is_empty() {
                return Err(Errno::EINVAL);
            }
            ops.removexattr(&ctx, nodeid, name)?;
            reply::empty()
        }
        FUSE_SYNCFS => {
            let _: abi::FuseSyncfsIn = req.arg()?;
            ops.syncfs(&ctx, nodeid)?;
            reply::empty()
        }
        FUSE_IOCTL => {
            let arg: abi::FuseIoctlIn = req.arg()?;
            let input = req.take(arg.in_size as usize)?;
            let io = Ioctl {
                fh: arg.fh,
                flags: arg.flags,
                cmd: arg.cmd,
                arg: arg.arg,
                input,
                out_size: arg.out_size,
            };
            let r = ops.ioctl(&ctx, nodeid, &io)?;
            // More than the caller takes would fail the whole reply.
            if r.output.len() > arg.out_size as usize {
                return Err(Errno::EIO);
            }
            reply::ioctl_out(&r)
        }
        FUSE_DESTROY => reply::empty(),
        // A second INIT on a live session (e.g. resume() on a fresh fd).
        FUSE_INIT => Err(Errno(libc::EPROTO)),
        _ => Err(Errno::ENOSYS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuse::abi::{FuseGetxattrIn, FuseInHeader};
    use crate::fuse::ops::{Attr, Entry, OpResult, Open, RequestCtx};
    use parking_lot::Mutex;
    use std::time::Duration;

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
        dispatch(ops, Request::parse(&buf).unwrap(), &Negotiated::default())
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
        assert!(dispatch(&ops, Request::parse(&buf).unwrap(), &Negotiated::default()).is_none());
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
        assert!(dispatch(&ops, Request::parse(&buf).unwrap(), &Negotiated::default()).is_none());
        assert_eq!(*ops.forgets.lock(), vec![(7, 3), (8, 1), (9, 2)]);

        let buf = request(
            FUSE_INTERRUPT,
            3,
            0,
            abi::FuseInterruptIn { unique: 2 }.as_bytes(),
        );
        assert!(dispatch(&ops, Request::parse(&buf).unwrap(), &Negotiated::default()).is_none());
        // (A well-formed MKDIR: names are validated before the handler.)
        let buf = request(FUSE_MKDIR, 4, 1, b"\xed\x01\0\0\x12\0\0\0d\0");
        assert_eq!(
            dispatch(&ops, Request::parse(&buf).unwrap(), &Negotiated::default()),
            Some(Err(Errno::ENOSYS))
        );
        let buf = request(FUSE_FLUSH, 5, 1, &[0; 24]);
        assert_eq!(
            dispatch(&ops, Request::parse(&buf).unwrap(), &Negotiated::default()),
            Some(Ok(Vec::new()))
        );
    }

    /// Records each write-side call as a string and answers with fixed
    /// values.
    #[derive(Default)]
    struct Rec {
        calls: Mutex<Vec<String>>,
    }

    fn entry(nodeid: u64) -> Entry {
        Entry {
            nodeid,
            generation: 1,
            attr: Attr {
                ino: nodeid,
                ..Default::default()
            },
            entry_ttl: Duration::from_secs(1),
            attr_ttl: Duration::from_secs(1),
        }
    }

    fn s(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    impl FuseOps for Rec {
        fn setattr(&self, _: &RequestCtx, n: u64, set: &SetAttr) -> OpResult<(Attr, Duration)> {
            self.calls.lock().push(format!("setattr {n} {set:?}"));
            Ok((Attr::default(), Duration::ZERO))
        }
        fn mknod(
            &self,
            _: &RequestCtx,
            p: u64,
            name: &[u8],
            mode: u32,
            rdev: u32,
            umask: u32,
        ) -> OpResult<Entry> {
            self.calls
                .lock()
                .push(format!("mknod {p} {} {mode:o} {rdev} {umask:o}", s(name)));
            Ok(entry(10))
        }
        fn mkdir(
            &self,
            _: &RequestCtx,
            p: u64,
            name: &[u8],
            mode: u32,
            umask: u32,
        ) -> OpResult<Entry> {
            self.calls
                .lock()
                .push(format!("mkdir {p} {} {mode:o} {umask:o}", s(name)));
            Ok(entry(11))
        }
        fn symlink(&self, _: &RequestCtx, p: u64, name: &[u8], t: &[u8]) -> OpResult<Entry> {
            self.calls
                .lock()
                .push(format!("symlink {p} {} {}", s(name), s(t)));
            Ok(entry(12))
        }
        fn link(&self, _: &RequestCtx, n: u64, np: u64, name: &[u8]) -> OpResult<Entry> {
            self.calls.lock().push(format!("link {n} {np} {}", s(name)));
            Ok(entry(n))
        }
        fn unlink(&self, _: &RequestCtx, p: u64, name: &[u8]) -> OpResult<()> {
            self.calls.lock().push(format!("unlink {p} {}", s(name)));
            Ok(())
        }
        fn rmdir(&self, _: &RequestCtx, p: u64, name: &[u8]) -> OpResult<()> {
            self.calls.lock().push(format!("rmdir {p} {}", s(name)));
            Ok(())
        }
        fn rename(
            &self,
            _: &RequestCtx,
            p: u64,
            name: &[u8],
            np: u64,
            nn: &[u8],
            flags: u32,
        ) -> OpResult<()> {
            self.calls
                .lock()
                .push(format!("rename {p} {} {np} {} {flags}", s(name), s(nn)));
            Ok(())
        }
        fn create(
            &self,
            _: &RequestCtx,
            p: u64,
            name: &[u8],
            mode: u32,
            umask: u32,
            flags: u32,
        ) -> OpResult<(Entry, Open)> {
            self.calls.lock().push(format!(
                "create {p} {} {mode:o} {umask:o} {flags:x}",
                s(name)
            ));
            Ok((
                entry(13),
                Open {
                    fh: 5,
                    open_flags: 0,
                },
            ))
        }
        fn tmpfile(
            &self,
            _: &RequestCtx,
            p: u64,
            mode: u32,
            umask: u32,
            flags: u32,
        ) -> OpResult<(Entry, Open)> {
            self.calls
                .lock()
                .push(format!("tmpfile {p} {mode:o} {umask:o} {flags:x}"));
            Ok((
                entry(14),
                Open {
                    fh: 6,
                    open_flags: 0,
                },
            ))
        }
        fn write(
            &self,
            _: &RequestCtx,
            n: u64,
            fh: u64,
            off: u64,
            data: &[u8],
            wf: u32,
            flags: u32,
        ) -> OpResult<u32> {
            self.calls
                .lock()
                .push(format!("write {n} {fh} {off} {} {wf} {flags:x}", s(data)));
            Ok(data.len() as u32)
        }
        fn fsync(&self, _: &RequestCtx, n: u64, fh: u64, ds: bool) -> OpResult<()> {
            self.calls.lock().push(format!("fsync {n} {fh} {ds}"));
            Ok(())
        }
        fn fsyncdir(&self, _: &RequestCtx, n: u64, fh: u64, ds: bool) -> OpResult<()> {
            self.calls.lock().push(format!("fsyncdir {n} {fh} {ds}"));
            Ok(())
        }
        fn fallocate(
            &self,
            _: &RequestCtx,
            n: u64,
            fh: u64,
            off: u64,
            len: u64,
            mode: u32,
        ) -> OpResult<()> {
            self.calls
                .lock()
                .push(format!("fallocate {n} {fh} {off} {len} {mode}"));
            Ok(())
        }
        fn copy_file_range(
            &self,
            _: &RequestCtx,
            ni: u64,
            fi: u64,
            oi: u64,
            no: u64,
            fo: u64,
            oo: u64,
            len: u64,
            flags: u64,
        ) -> OpResult<u64> {
            self.calls
                .lock()
                .push(format!("cfr {ni} {fi} {oi} {no} {fo} {oo} {len} {flags}"));
            Ok(len / 2)
        }
        fn setxattr(
            &self,
            _: &RequestCtx,
            n: u64,
            name: &[u8],
            value: &[u8],
            flags: u32,
            sflags: u32,
        ) -> OpResult<()> {
            self.calls.lock().push(format!(
                "setxattr {n} {} {} {flags} {sflags}",
                s(name),
                s(value)
            ));
            Ok(())
        }
        fn removexattr(&self, _: &RequestCtx, n: u64, name: &[u8]) -> OpResult<()> {
            self.calls
                .lock()
                .push(format!("removexattr {n} {}", s(name)));
            Ok(())
        }
        fn syncfs(&self, _: &RequestCtx, n: u64) -> OpResult<()> {
            self.calls.lock().push(format!("syncfs {n}"));
            Ok(())
        }
        fn flush(&self, _: &RequestCtx, n: u64, fh: u64, owner: u64) -> OpResult<()> {
            self.calls.lock().push(format!("flush {n} {fh} {owner}"));
            Ok(())
        }
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    /// Dispatches one synthetic request to `ops` and returns the response
    /// and the call it made (if any).
    fn run(ops: &Rec, n: &Negotiated, opcode: u32, nodeid: u64, body: &[u8]) -> (Response, String) {
        ops.calls.lock().clear();
        let buf = request(opcode, 1, nodeid, body);
        let r = dispatch(ops, Request::parse(&buf).unwrap(), n).unwrap();
        let call = ops.calls.lock().pop().unwrap_or_default();
        (r, call)
    }

    #[test]
    fn write_side_requests_decode() {
        use abi::fattr::*;
        let ops = Rec::default();
        let n = Negotiated::default();
        let einval = |op: u32, body: &[u8]| {
            let (r, call) = run(&ops, &n, op, 1, body);
            assert_eq!(r, Err(Errno::EINVAL), "{}", abi::opcode::name(op));
            assert_eq!(call, "", "handler not called");
        };

        // SETATTR: NOW beats a set time, unset bits are None.
        let sa = abi::FuseSetattrIn {
            valid: FATTR_MODE
                | FATTR_SIZE
                | FATTR_ATIME
                | FATTR_ATIME_NOW
                | FATTR_MTIME
                | FATTR_FH
                | FATTR_KILL_SUIDGID,
            mode: 0o100600,
            size: 77,
            atime: 5,
            mtime: 6,
            mtimensec: 7,
            fh: 9,
            uid: 1234,
            ..Default::default()
        };
        let (r, call) = run(&ops, &n, FUSE_SETATTR, 4, sa.as_bytes());
        assert_eq!(r.unwrap().len(), 104);
        let want = SetAttr {
            mode: Some(0o100600),
            size: Some(77),
            atime: Some(TimeOrNow::Now),
            mtime: Some(TimeOrNow::Set(Timespec { sec: 6, nsec: 7 })),
            fh: Some(9),
            kill_suidgid: true,
            ..Default::default()
        };
        assert_eq!(call, format!("setattr 4 {want:?}"));
        einval(FUSE_SETATTR, &sa.as_bytes()[..80]);

        // MKNOD / MKDIR carry the umask.
        let mk = abi::FuseMknodIn {
            mode: 0o10644,
            rdev: 0x801,
            umask: 0o22,
            padding: 0,
        };
        let (r, call) = run(&ops, &n, FUSE_MKNOD, 1, &cat(&[mk.as_bytes(), b"fifo\0"]));
        assert_eq!(r.unwrap().len(), 128);
        assert_eq!(call, "mknod 1 fifo 10644 2049 22");
        einval(FUSE_MKNOD, &cat(&[mk.as_bytes(), b"fifo"]));
        einval(FUSE_MKNOD, &mk.as_bytes()[..12]);
        let md = abi::FuseMkdirIn {
            mode: 0o755,
            umask: 0o27,
        };
        let (r, call) = run(&ops, &n, FUSE_MKDIR, 3, &cat(&[md.as_bytes(), b"d\0"]));
        assert_eq!(&r.unwrap()[..8], &11u64.to_ne_bytes());
        assert_eq!(call, "mkdir 3 d 755 27");
        einval(FUSE_MKDIR, &cat(&[md.as_bytes(), b"a/b\0"]));
        einval(FUSE_MKDIR, &cat(&[md.as_bytes(), b"\0"]));

        // SYMLINK: name first, then target (which may contain '/').
        let (_, call) = run(&ops, &n, FUSE_SYMLINK, 1, b"l\0../x/y\0");
        assert_eq!(call, "symlink 1 l ../x/y");
        einval(FUSE_SYMLINK, b"l\0../x/y");
        einval(FUSE_SYMLINK, b"l\0\0");

        // LINK: header node is the new parent.
        let li = abi::FuseLinkIn { oldnodeid: 42 };
        let (r, call) = run(&ops, &n, FUSE_LINK, 5, &cat(&[li.as_bytes(), b"again\0"]));
        assert_eq!(&r.unwrap()[..8], &42u64.to_ne_bytes());
        assert_eq!(call, "link 42 5 again");
        einval(FUSE_LINK, &cat(&[li.as_bytes(), b"again"]));

        assert_eq!(run(&ops, &n, FUSE_UNLINK, 2, b"f\0").1, "unlink 2 f");
        assert_eq!(run(&ops, &n, FUSE_RMDIR, 2, b"d\0").1, "rmdir 2 d");
        einval(FUSE_UNLINK, b"f");
        einval(FUSE_RMDIR, b"x/\0");

        // RENAME / RENAME2.
        let rn = abi::FuseRenameIn { newdir: 8 };
        let (r, call) = run(&ops, &n, FUSE_RENAME, 2, &cat(&[rn.as_bytes(), b"a\0b\0"]));
        assert_eq!(r, Ok(Vec::new()));
        assert_eq!(call, "rename 2 a 8 b 0");
        let rn2 = abi::FuseRename2In {
            newdir: 9,
            flags: 1,
            padding: 0,
        };
        let (_, call) = run(
            &ops,
            &n,
            FUSE_RENAME2,
            2,
            &cat(&[rn2.as_bytes(), b"a\0b\0"]),
        );
        assert_eq!(call, "rename 2 a 9 b 1");
        einval(FUSE_RENAME2, &cat(&[rn2.as_bytes(), b"a\0b"]));
        einval(FUSE_RENAME, &cat(&[rn.as_bytes(), b"a\0"]));

        // CREATE / TMPFILE: entry_out + open_out.
        let ci = abi::FuseCreateIn {
            flags: 0o100101,
            mode: 0o100644,
            umask: 0o22,
            open_flags: 0,
        };
        let (r, call) = run(&ops, &n, FUSE_CREATE, 1, &cat(&[ci.as_bytes(), b"new\0"]));
        let r = r.unwrap();
        assert_eq!(r.len(), 144);
        assert_eq!(&r[128..136], &5u64.to_ne_bytes());
        assert_eq!(call, "create 1 new 100644 22 8041");
        einval(FUSE_CREATE, &cat(&[ci.as_bytes(), b"new"]));
        let (r, call) = run(&ops, &n, FUSE_TMPFILE, 1, &cat(&[ci.as_bytes(), b"/\0"]));
        assert_eq!(&r.unwrap()[128..136], &6u64.to_ne_bytes());
        assert_eq!(call, "tmpfile 1 100644 22 8041");
        einval(FUSE_TMPFILE, ci.as_bytes());

        // WRITE: the size must match the payload.
        let wi = abi::FuseWriteIn {
            fh: 3,
            offset: 4096,
            size: 5,
            write_flags: abi::write_flags::FUSE_WRITE_KILL_SUIDGID,
            flags: 2,
            ..Default::default()
        };
        let (r, call) = run(&ops, &n, FUSE_WRITE, 7, &cat(&[wi.as_bytes(), b"hello"]));
        assert_eq!(
            r.unwrap(),
            abi::FuseWriteOut {
                size: 5,
                padding: 0
            }
            .as_bytes()
        );
        assert_eq!(call, "write 7 3 4096 hello 4 2");
        einval(FUSE_WRITE, &cat(&[wi.as_bytes(), b"hell"]));
        einval(FUSE_WRITE, &cat(&[wi.as_bytes(), b"hello!"]));
        einval(FUSE_WRITE, &wi.as_bytes()[..30]);

        // FLUSH reaches the handler now; FSYNC / FSYNCDIR decode datasync.
        let fl = abi::FuseFlushIn {
            fh: 3,
            lock_owner: 77,
            ..Default::default()
        };
        assert_eq!(
            run(&ops, &n, FUSE_FLUSH, 7, fl.as_bytes()).1,
            "flush 7 3 77"
        );
        let fs = abi::FuseFsyncIn {
            fh: 3,
            fsync_flags: abi::FUSE_FSYNC_FDATASYNC,
            padding: 0,
        };
        assert_eq!(
            run(&ops, &n, FUSE_FSYNC, 7, fs.as_bytes()).1,
            "fsync 7 3 true"
        );
        let fs0 = abi::FuseFsyncIn {
            fsync_flags: 0,
            ..fs
        };
        assert_eq!(
            run(&ops, &n, FUSE_FSYNCDIR, 1, fs0.as_bytes()).1,
            "fsyncdir 1 3 false"
        );
        einval(FUSE_FSYNC, &fs.as_bytes()[..8]);

        let fa = abi::FuseFallocateIn {
            fh: 3,
            offset: 10,
            length: 20,
            mode: 1,
            padding: 0,
        };
        assert_eq!(
            run(&ops, &n, FUSE_FALLOCATE, 7, fa.as_bytes()).1,
            "fallocate 7 3 10 20 1"
        );

        // COPY_FILE_RANGE (32-bit reply) and COPY_FILE_RANGE_64.
        let cf = abi::FuseCopyFileRangeIn {
            fh_in: 1,
            off_in: 2,
            nodeid_out: 3,
            fh_out: 4,
            off_out: 5,
            len: 1 << 40,
            flags: 0,
        };
        let (r, call) = run(&ops, &n, FUSE_COPY_FILE_RANGE, 7, cf.as_bytes());
        assert_eq!(call, format!("cfr 7 1 2 3 4 5 {} 0", u32::MAX));
        assert_eq!(
            r.unwrap(),
            abi::FuseWriteOut {
                size: u32::MAX / 2,
                padding: 0
            }
            .as_bytes()
        );
        let (r, _) = run(&ops, &n, FUSE_COPY_FILE_RANGE_64, 7, cf.as_bytes());
        assert_eq!(r.unwrap(), (1u64 << 39).to_ne_bytes());

        // SETXATTR in both layouts.
        let old = &abi::FuseSetxattrIn {
            size: 3,
            flags: 1,
            setxattr_flags: 0,
            padding: 0,
        }
        .as_bytes()[..abi::FUSE_COMPAT_SETXATTR_IN_SIZE];
        let (r, call) = run(&ops, &n, FUSE_SETXATTR, 7, &cat(&[old, b"user.x\0abc"]));
        assert_eq!(r, Ok(Vec::new()));
        assert_eq!(call, "setxattr 7 user.x abc 1 0");
        einval(FUSE_SETXATTR, &cat(&[old, b"user.x\0ab"]));
        einval(FUSE_SETXATTR, &cat(&[old, b"user.x"]));
        einval(FUSE_SETXATTR, &cat(&[old, b"\0abc"]));
        let ext = Negotiated {
            flags: FUSE_SETXATTR_EXT as u32,
            ..Default::default()
        };
        let new = abi::FuseSetxattrIn {
            size: 3,
            flags: 2,
            setxattr_flags: abi::FUSE_SETXATTR_ACL_KILL_SGID,
            padding: 0,
        };
        let (_, call) = run(
            &ops,
            &ext,
            FUSE_SETXATTR,
            7,
            &cat(&[new.as_bytes(), b"user.x\0abc"]),
        );
        assert_eq!(call, "setxattr 7 user.x abc 2 1");

        assert_eq!(
            run(&ops, &n, FUSE_REMOVEXATTR, 7, b"user.x\0").1,
            "removexattr 7 user.x"
        );
        einval(FUSE_REMOVEXATTR, b"user.x");
        assert_eq!(run(&ops, &n, FUSE_SYNCFS, 1, &[0; 8]).1, "syncfs 1");
    }

    #[test]
    fn write_side_defaults_are_enosys() {
        let ops = Fake::default();
        let n = Negotiated::default();
        for (op, body) in [
            (FUSE_SETATTR, &[0u8; 88][..]),
            (FUSE_UNLINK, b"x\0"),
            (FUSE_CREATE, b"0123456789abcdefx\0"),
            (FUSE_WRITE, &[0u8; 40]),
            (FUSE_FSYNC, &[0u8; 16]),
            (FUSE_SYNCFS, &[0u8; 8]),
            (FUSE_GETLK, &[0u8; 64]),
        ] {
            let buf = request(op, 1, 1, body);
            assert_eq!(
                dispatch(&ops, Request::parse(&buf).unwrap(), &n),
                Some(Err(Errno::ENOSYS)),
                "{}",
                abi::opcode::name(op)
            );
        }
    }
}
