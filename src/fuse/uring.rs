//! FUSE over io_uring (Linux 6.14+, `fs/fuse/dev_uring.c`): requests and
//! replies travel through ring entries instead of read(2)/writev(2).
//!
//! The kernel keeps one queue per possible CPU and hands a request to the
//! queue of the CPU its caller runs on (`fuse_uring_task_to_queue`); it
//! switches the connection to the ring only once every queue has an entry
//! (`is_ring_ready`). An entry is a pair of user buffers registered with
//! an IORING_OP_URING_CMD (FUSE_IO_URING_CMD_REGISTER, on a ring set up
//! with IORING_SETUP_SQE128: the command lives in the SQE's 80-byte area):
//! a [`FuseUringReqHeader`] and a payload buffer of at least
//! max(FUSE_MIN_READ_BUFFER, max_write, max_pages pages). The command
//! completes when a request was copied into the entry: its `fuse_in_header`
//! into `in_out`, its first argument into `op_in`, the other arguments
//! into the payload (`fuse_uring_args_to_ring`). The reply goes back the
//! same way with FUSE_IO_URING_CMD_COMMIT_AND_FETCH, which also waits for
//! the next request: one io_uring_enter(2) per request.
//!
//! Not on the ring: FORGET, BATCH_FORGET and INTERRUPT (the kernel still
//! queues them on /dev/fuse: `fuse_io_uring_ops.send_forget` /
//! `send_interrupt`), and notifications (written to /dev/fuse).
//!
//! Each [`RingWorker`] owns one io_uring and one entry, so a thread serves
//! one request at a time, as a read(2) worker does; a queue may have
//! several workers.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use io_uring::{IoUring, cqueue, opcode, squeue, types};
use memmap2::MmapMut;
use zerocopy::{FromBytes, IntoBytes};

use super::abi::uring_cmd::{FUSE_IO_URING_CMD_COMMIT_AND_FETCH, FUSE_IO_URING_CMD_REGISTER};
use super::abi::{
    FUSE_MIN_READ_BUFFER, FUSE_URING_IOV_SEGS, FUSE_URING_OP_IN_OUT_SZ, FuseInHeader,
    FuseOutHeader, FuseUringCmdReq, FuseUringEntInOut, FuseUringReqHeader,
};
use super::ids::RequestId;
use super::init::Negotiated;
use super::reply::{Response, out_header};

/// Where the payload starts in an entry's memory. Below it: the
/// [`FuseUringReqHeader`] at 0, and room to put the in header and the
/// first argument right in front of the payload, so that a request reads
/// as one contiguous message without copying its payload.
const PAYLOAD_OFFSET: usize = 8192;
/// SQEs per ring: one entry's command at a time, one spare.
const RING_ENTRIES: u32 = 2;
/// Byte offset of `len` in `struct io_uring_sqe` (uapi io_uring.h).
const SQE_LEN_OFFSET: usize = 24;
/// Byte offset of `opcode` in `struct io_uring_sqe`.
const SQE_OPCODE_OFFSET: usize = 0;

/// The number of ring queues the kernel expects: one per possible CPU
/// (`num_possible_cpus()`), read from /sys/devices/system/cpu/possible.
pub fn possible_cpus() -> io::Result<usize> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/possible")?;
    parse_cpu_list(text.trim()).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unreadable CPU list {text:?}"),
        )
    })
}

/// Counts the CPUs in a list such as `0-3,8,10-11`.
fn parse_cpu_list(s: &str) -> Option<usize> {
    let mut n = 0;
    for part in s.split(',') {
        n += match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.parse().ok()?, b.parse().ok()?);
                b.checked_sub(a)? + 1
            }
            None => {
                part.parse::<usize>().ok()?;
                1
            }
        };
    }
    (n > 0).then_some(n)
}

/// The payload buffer size the kernel requires of every entry
/// (`fuse_uring_create`: max(FUSE_MIN_READ_BUFFER, max_write,
/// max_pages * PAGE_SIZE)).
pub fn payload_size(n: &Negotiated) -> usize {
    FUSE_MIN_READ_BUFFER
        .max(n.max_write as usize)
        .max(usize::from(n.max_pages) * 4096)
}

/// A fresh io_uring with 128-byte SQEs. Made before INIT answers with
/// FUSE_OVER_IO_URING: if the kernel refuses io_uring (e.g.
/// kernel.io_uring_disabled), the server asks for read(2) instead.
pub fn new_ring() -> io::Result<IoUring<squeue::Entry128, cqueue::Entry>> {
    IoUring::<squeue::Entry128, cqueue::Entry>::builder().build(RING_ENTRIES)
}

/// What [`RingWorker::wait`] brought.
#[derive(Debug, PartialEq, Eq)]
pub enum Fetched {
    /// A request is in the entry: [`RingWorker::message`] reads it.
    Request,
    /// The kernel tore the queue down (unmount or abort).
    Closed,
}

/// One thread's ring and entry on queue `qid`.
pub struct RingWorker<'fd> {
    ring: IoUring<squeue::Entry128, cqueue::Entry>,
    fd: BorrowedFd<'fd>,
    qid: u16,
    /// Header at 0, payload at [`PAYLOAD_OFFSET`]. The kernel writes into
    /// it only while a command is outstanding, when we do not touch it.
    mem: MmapMut,
    payload_len: usize,
    /// The two iovecs REGISTER points at (header, payload).
    iov: Box<[libc::iovec; 2]>,
    /// Where the current request's message starts and ends in `mem`.
    msg: (usize, usize),
    /// The current request's commit id.
    commit_id: RequestId,
    /// A command is queued but not yet submitted.
    queued: bool,
}

// SAFETY: the raw pointers in `iov` point into `mem`, which moves with the
// worker; nothing else shares them.
unsafe impl Send for RingWorker<'_> {}

impl<'fd> RingWorker<'fd> {
    /// An entry for queue `qid` with a payload of `payload_len` bytes,
    /// served through `ring`; call [`RingWorker::register`] next.
    pub fn new(
        ring: IoUring<squeue::Entry128, cqueue::Entry>,
        fd: BorrowedFd<'fd>,
        qid: u16,
        payload_len: usize,
    ) -> io::Result<Self> {
        let mut mem = MmapMut::map_anon(PAYLOAD_OFFSET + payload_len)?;
        // Touch every page now: a request copied in later never faults.
        for page in mem.chunks_mut(4096) {
            page[0] = 0xA5;
        }
        let base = mem.as_mut_ptr();
        let iov = Box::new([
            libc::iovec {
                iov_base: base.cast(),
                iov_len: core::mem::size_of::<FuseUringReqHeader>(),
            },
            libc::iovec {
                // SAFETY: PAYLOAD_OFFSET is inside the mapping.
                iov_base: unsafe { base.add(PAYLOAD_OFFSET) }.cast(),
                iov_len: payload_len,
            },
        ]);
        Ok(RingWorker {
            ring,
            fd,
            qid,
            mem,
            payload_len,
            iov,
            msg: (0, 0),
            commit_id: RequestId(0),
            queued: false,
        })
    }

    /// The queue this worker serves.
    pub fn qid(&self) -> u16 {
        self.qid
    }

    /// Queues the REGISTER of this worker's entry (sent by the next
    /// [`RingWorker::submit`] or [`RingWorker::wait`]).
    pub fn register(&mut self) -> io::Result<()> {
        let addr = self.iov.as_ptr() as u64;
        self.queue_cmd(FUSE_IO_URING_CMD_REGISTER, RequestId(0), Some(addr))
    }

    /// Writes `response` for the current request into the entry and queues
    /// its COMMIT_AND_FETCH. A body larger than the payload buffer (which
    /// the kernel never asks for) is answered with EIO.
    pub fn reply(&mut self, unique: RequestId, response: &Response) -> io::Result<()> {
        let (errno, body): (i32, &[u8]) = match response {
            Ok(b) if b.len() <= self.payload_len => (0, b),
            Ok(_) => (libc::EIO, &[]),
            Err(e) => (e.0, &[]),
        };
        let out: FuseOutHeader = out_header(unique, errno, body.len());
        self.mem[PAYLOAD_OFFSET..PAYLOAD_OFFSET + body.len()].copy_from_slice(body);
        let header = self.header_mut();
        header.in_out[..core::mem::size_of::<FuseOutHeader>()].copy_from_slice(out.as_bytes());
        header.ring_ent_in_out = FuseUringEntInOut {
            payload_sz: body.len() as u32,
            ..Default::default()
        };
        let commit_id = self.commit_id;
        self.queue_cmd(FUSE_IO_URING_CMD_COMMIT_AND_FETCH, commit_id, None)
    }

    /// Hands the queued command to the kernel without waiting (the commit
    /// of a reply is done when this returns).
    pub fn submit(&mut self) -> io::Result<()> {
        if self.queued {
            retry_eintr(|| self.ring.submit())?;
            self.queued = false;
        }
        Ok(())
    }

    /// Submits the queued command and waits for the entry's next request.
    /// A refused command (other than by teardown) is an error, after
    /// which the entry is no longer registered. A request whose sizes do
    /// not add up comes back as an empty [`RingWorker::message`].
    pub fn wait(&mut self) -> io::Result<Fetched> {
        let cqe = loop {
            if let Some(c) = self.ring.completion().next() {
                break c;
            }
            retry_eintr(|| self.ring.submit_and_wait(1))?;
            self.queued = false;
        };
        match cqe.result() {
            0 => {}
            // fuse_uring_entry_teardown / cancel: ENOTCONN; a command
            // issued on an aborted connection: ECONNABORTED.
            r if r == -libc::ENOTCONN || r == -libc::ECONNABORTED || r == -libc::ENODEV => {
                return Ok(Fetched::Closed);
            }
            r => return Err(io::Error::from_raw_os_error(-r)),
        }
        if let Err(e) = self.take_request() {
            // Still answered (an empty message does not parse: EIO), or
            // the request would wait in the entry for ever.
            tracing::error!(qid = self.qid, error = %e, "malformed ring request");
            self.msg = (PAYLOAD_OFFSET, PAYLOAD_OFFSET);
        }
        Ok(Fetched::Request)
    }

    /// The current request as one message (header, first argument,
    /// payload), as read(2) would have returned it.
    pub fn message(&self) -> &[u8] {
        &self.mem[self.msg.0..self.msg.1]
    }

    /// The current request's commit id (its `unique`), e.g. to answer a
    /// message that does not parse.
    pub fn commit_id(&self) -> RequestId {
        self.commit_id
    }

    /// Lays the request out contiguously in front of the payload.
    fn take_request(&mut self) -> io::Result<()> {
        let header = FuseUringReqHeader::read_from_bytes(
            &self.mem[..core::mem::size_of::<FuseUringReqHeader>()],
        )
        .expect("the header fits the mapping");
        let ent = header.ring_ent_in_out;
        self.commit_id = ent.commit_id;
        let hlen = core::mem::size_of::<FuseInHeader>();
        let (inh, _) = FuseInHeader::read_from_prefix(&header.in_out).expect("128 >= 40 bytes");
        let payload = ent.payload_sz as usize;
        // The first argument's size is what the header's total leaves.
        let arg0 = (inh.len as usize)
            .checked_sub(hlen + payload)
            .filter(|&a| a <= FUSE_URING_OP_IN_OUT_SZ && payload <= self.payload_len)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "ring request of {} bytes with a {payload}-byte payload",
                        inh.len
                    ),
                )
            })?;
        let start = PAYLOAD_OFFSET - arg0 - hlen;
        self.mem[start..start + hlen].copy_from_slice(&header.in_out[..hlen]);
        self.mem[start + hlen..PAYLOAD_OFFSET].copy_from_slice(&header.op_in[..arg0]);
        self.msg = (start, PAYLOAD_OFFSET + payload);
        Ok(())
    }

    fn header_mut(&mut self) -> &mut FuseUringReqHeader {
        FuseUringReqHeader::mut_from_bytes(
            &mut self.mem[..core::mem::size_of::<FuseUringReqHeader>()],
        )
        .expect("the header fits the mapping")
    }

    fn queue_cmd(
        &mut self,
        cmd_op: u32,
        commit_id: RequestId,
        addr: Option<u64>,
    ) -> io::Result<()> {
        let req = FuseUringCmdReq {
            flags: 0,
            commit_id,
            qid: self.qid,
            padding: [0; 6],
        };
        let mut cmd = [0u8; 80];
        cmd[..core::mem::size_of::<FuseUringCmdReq>()].copy_from_slice(req.as_bytes());
        let mut sqe = opcode::UringCmd80::new(types::Fd(self.fd.as_raw_fd()), cmd_op)
            .cmd(cmd)
            .addr(addr)
            .build();
        if addr.is_some() {
            sqe = with_sqe_len(sqe, FUSE_URING_IOV_SEGS);
        }
        // SAFETY: the iovecs and the entry memory the command refers to
        // live in `self` as long as the ring does.
        unsafe { self.ring.submission().push(&sqe) }
            .map_err(|_| io::Error::other("io_uring submission queue full"))?;
        self.queued = true;
        Ok(())
    }
}

/// Sets the SQE's `len` (the iovec count of a REGISTER), which the io-uring
/// crate's UringCmd80 builder has no setter for. `Entry128` is
/// `#[repr(C)]` around the kernel's 128-byte `struct io_uring_sqe`.
fn with_sqe_len(sqe: squeue::Entry128, len: u32) -> squeue::Entry128 {
    // SAFETY: same size (checked by transmute), plain integer fields: every
    // bit pattern is a valid SQE.
    let mut raw: [u8; 128] = unsafe { core::mem::transmute(sqe) };
    debug_assert_eq!(
        u32::from(raw[SQE_OPCODE_OFFSET]),
        u32::from(io_uring::opcode::UringCmd80::CODE)
    );
    raw[SQE_LEN_OFFSET..SQE_LEN_OFFSET + 4].copy_from_slice(&len.to_ne_bytes());
    // SAFETY: as above.
    unsafe { core::mem::transmute::<[u8; 128], squeue::Entry128>(raw) }
}

fn retry_eintr(mut f: impl FnMut() -> io::Result<usize>) -> io::Result<usize> {
    loop {
        match f() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuse::ids::FileHandle;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-1"), Some(2));
        assert_eq!(parse_cpu_list("0"), Some(1));
        assert_eq!(parse_cpu_list("0-3,8,10-11"), Some(7));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }

    #[test]
    fn payload_covers_max_write_and_pages() {
        let mut n = Negotiated {
            max_write: 4096,
            ..Default::default()
        };
        assert_eq!(payload_size(&n), FUSE_MIN_READ_BUFFER);
        n.max_write = 1 << 20;
        assert_eq!(payload_size(&n), 1 << 20);
        n.max_pages = 512;
        assert_eq!(payload_size(&n), 2 << 20);
    }

    /// A worker whose entry the test fills in place of the kernel.
    fn fake_worker(payload: usize) -> RingWorker<'static> {
        let fd = unsafe { BorrowedFd::borrow_raw(0) };
        RingWorker::new(new_ring().expect("io_uring_setup"), fd, 1, payload).unwrap()
    }

    #[test]
    fn request_is_reassembled_and_reply_laid_out() {
        use crate::fuse::abi::FuseWriteIn;
        use crate::fuse::request::Request;
        let mut w = fake_worker(8192);
        let arg = FuseWriteIn {
            fh: FileHandle(3),
            offset: 4096,
            size: 5,
            ..Default::default()
        };
        let hlen = core::mem::size_of::<FuseInHeader>();
        let inh = FuseInHeader {
            len: (hlen + core::mem::size_of::<FuseWriteIn>() + 5) as u32,
            opcode: 16,
            unique: RequestId(77),
            ..Default::default()
        };
        let h = w.header_mut();
        h.in_out[..hlen].copy_from_slice(inh.as_bytes());
        h.op_in[..core::mem::size_of::<FuseWriteIn>()].copy_from_slice(arg.as_bytes());
        h.ring_ent_in_out = FuseUringEntInOut {
            commit_id: RequestId(77),
            payload_sz: 5,
            ..Default::default()
        };
        w.mem[PAYLOAD_OFFSET..PAYLOAD_OFFSET + 5].copy_from_slice(b"hello");
        w.take_request().unwrap();
        assert_eq!(w.commit_id(), RequestId(77));
        let mut req = Request::parse(w.message()).unwrap();
        assert_eq!(req.header.unique, RequestId(77));
        assert_eq!(req.arg::<FuseWriteIn>().unwrap().offset, 4096);
        assert_eq!(req.rest(), b"hello");

        // The reply: out header in in_out, body in the payload.
        w.reply(RequestId(77), &Ok(b"0123456789".to_vec())).unwrap();
        let h = FuseUringReqHeader::read_from_bytes(
            &w.mem[..core::mem::size_of::<FuseUringReqHeader>()],
        )
        .unwrap();
        let (out, _) = FuseOutHeader::read_from_prefix(&h.in_out).unwrap();
        assert_eq!((out.len, out.error, out.unique), (26, 0, RequestId(77)));
        assert_eq!(h.ring_ent_in_out.payload_sz, 10);
        assert_eq!(&w.mem[PAYLOAD_OFFSET..PAYLOAD_OFFSET + 10], b"0123456789");
        // Too big for the payload buffer: EIO, no body.
        w.reply(RequestId(77), &Ok(vec![0; 8193])).unwrap();
        let (out, _) = FuseOutHeader::read_from_prefix(&w.header_mut().in_out).unwrap();
        assert_eq!((out.len, out.error), (16, -libc::EIO));
        assert_eq!(w.header_mut().ring_ent_in_out.payload_sz, 0);
    }

    #[test]
    fn inconsistent_sizes_are_refused() {
        let mut w = fake_worker(8192);
        let inh = FuseInHeader {
            len: 40 + 200,
            ..Default::default()
        };
        // A first argument larger than op_in.
        w.header_mut().in_out[..40].copy_from_slice(inh.as_bytes());
        w.header_mut().ring_ent_in_out.payload_sz = 0;
        assert!(w.take_request().is_err());
        // A payload larger than the header's total.
        w.header_mut().ring_ent_in_out.payload_sz = 300;
        assert!(w.take_request().is_err());
    }

    #[test]
    fn register_sqe_carries_iovec_count_and_command() {
        let sqe = opcode::UringCmd80::new(types::Fd(7), FUSE_IO_URING_CMD_REGISTER)
            .addr(Some(0x1234))
            .build();
        let raw: [u8; 128] = unsafe { core::mem::transmute(with_sqe_len(sqe, 2)) };
        assert_eq!(raw[0], opcode::UringCmd80::CODE);
        assert_eq!(&raw[4..8], &7i32.to_ne_bytes(), "fd");
        assert_eq!(
            &raw[8..12],
            &FUSE_IO_URING_CMD_REGISTER.to_ne_bytes(),
            "cmd_op"
        );
        assert_eq!(&raw[16..24], &0x1234u64.to_ne_bytes(), "addr");
        assert_eq!(&raw[24..28], &2u32.to_ne_bytes(), "len");
    }
}
