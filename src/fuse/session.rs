//! A FUSE session: the channel, the negotiated parameters and the worker
//! threads that read requests, dispatch them to a [`FuseOps`] and reply.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use thiserror::Error;
use tracing::{debug, error, warn};
use zerocopy::IntoBytes;

use super::abi::init_flags::FUSE_OVER_IO_URING;
use super::abi::{self, opcode::*};
use super::channel::{Channel, Received};
use super::dispatch::dispatch;
use super::ids::RequestId;
use super::init::{InitConfig, InitError, InitOutcome, Negotiated, negotiate};
use super::notify::Notifier;
use super::opcount::OpCounts;
use super::ops::{Errno, FuseOps};
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
    Reply(RequestId, Response),
    /// The request takes no answer (FORGET, INTERRUPT).
    NoReply,
    /// The message does not parse; answer EIO when its unique is known.
    Malformed(Option<RequestId>),
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
                    return Ok(Self::serving(channel, ops, negotiated, rings, uring));
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
        Self::serving(channel, ops, negotiated, Rings::new(), false)
    }

    /// The session over `channel` once its parameters are known, fresh or
    /// resumed: `ops` is given the notifier first ([`FuseOps::attach`]).
    fn serving(
        channel: Arc<Channel>,
        ops: Arc<F>,
        negotiated: Negotiated,
        rings: Rings,
        uring: bool,
    ) -> Self {
        ops.attach(Notifier::new(channel.clone()));
        Session {
            channel,
            ops,
            negotiated,
            hook: None,
            counts: Arc::default(),
            ring_counts: Arc::default(),
            rings: parking_lot::Mutex::new(rings),
            uring,
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
                error!(unique = h.unique.0, opcode = h.opcode, "malformed request");
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
            unique = unique.0,
            op = abi::opcode::name(op),
            nodeid = req.header.nodeid.0,
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
                debug!(
                    unique = unique.0,
                    "answered from the record of its first execution"
                );
                Some(r)
            }
            Prior::Applied => {
                debug!(unique = unique.0, "already applied; answer rebuilt");
                applied_answer(ops, msg, n).or_else(|| dispatch(ops, req, n))
            }
            Prior::Maybe => settle_maybe(ops, msg, n, dispatch(ops, req, n)),
            Prior::Execute => dispatch(ops, req, n),
        }))
        .unwrap_or_else(|_| {
            error!(
                unique = unique.0,
                op = abi::opcode::name(op),
                "handler panicked"
            );
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
                    debug!(unique = unique.0, errno = e.0, "reply error");
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The CLI may hold the filesystem as a trait object.
    #[allow(dead_code)]
    fn dyn_session_is_send(s: Session<dyn FuseOps>) -> impl Send {
        s
    }
}
