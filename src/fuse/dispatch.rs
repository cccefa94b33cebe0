//! From a decoded [`Operation`] to the [`FuseOps`] call that serves it and
//! the reply the kernel expects, with the reply-side checks (a handler
//! claiming more bytes than were asked for is EIO, not a reply that would
//! corrupt the kernel's view).

use super::abi;
use super::dirent::DirBuf;
use super::ids::NodeId;
use super::init::Negotiated;
use super::operation::{Decoded, Notice, Operation};
use super::ops::{Errno, FuseOps, RequestCtx};
use super::reply::{self, Response};
use super::request::Request;

/// Decodes one request, calls the filesystem and encodes its answer.
/// `None` means the request takes no reply (FORGET, BATCH_FORGET, INTERRUPT).
/// `negotiated` selects request layouts that depend on INIT flags
/// (FUSE_SETXATTR_EXT).
pub fn dispatch<F: FuseOps + ?Sized>(
    ops: &F,
    req: Request<'_>,
    negotiated: &Negotiated,
) -> Option<Response> {
    let ctx = req.ctx();
    // Numbered and its caller noted before anything is read: what proves
    // that the caller applied its earlier replies (notify::DirAttrReplies).
    let nodeid = req.header.nodeid;
    let opcode = req.header.opcode;
    let _serving = super::notify::Serving::begin(ctx.pid, opcode);
    match Decoded::decode(req, negotiated) {
        Ok(Decoded::Notice(notice)) => {
            take_notice(ops, nodeid, notice);
            None
        }
        Ok(Decoded::Operation(op)) => Some(answer(ops, &ctx, nodeid, op)),
        Err(_) if Decoded::takes_no_reply(opcode) => None,
        Err(e) => Some(Err(e)),
    }
}

/// Acts on a request that takes no reply, sent for node `nodeid`.
fn take_notice<F: FuseOps + ?Sized>(ops: &F, nodeid: NodeId, notice: Notice<'_>) {
    match notice {
        Notice::Forget { nlookup } => ops.forget(nodeid, nlookup),
        Notice::BatchForget(forgets) => {
            for (node, nlookup) in forgets {
                ops.forget(node, nlookup);
            }
        }
        Notice::Interrupt => {}
    }
}

/// The answer to an operation that takes one.
fn answer<F: FuseOps + ?Sized>(
    ops: &F,
    ctx: &RequestCtx,
    nodeid: NodeId,
    op: Operation<'_>,
) -> Response {
    match op {
        Operation::Lookup { name } => {
            reply::body(&reply::entry_out(&ops.lookup(ctx, nodeid, name)?))
        }
        Operation::Getattr { fh, statx } => {
            let (attr, ttl) = ops.getattr(ctx, nodeid, fh)?;
            if statx {
                reply::body(&reply::statx_out(&attr, ttl))
            } else {
                reply::body(&reply::attr_out(&attr, ttl))
            }
        }
        Operation::Readlink => ops.readlink(ctx, nodeid),
        Operation::Open { flags, open_flags } => {
            open_out(ops.open(ctx, nodeid, flags, open_flags)?)
        }
        Operation::Opendir { flags } => open_out(ops.opendir(ctx, nodeid, flags)?),
        Operation::Read { fh, offset, size } => {
            let mut data = ops.read(ctx, nodeid, fh, offset, size)?;
            data.truncate(size as usize);
            Ok(data)
        }
        Operation::Release { fh, flags } => {
            ops.release(ctx, nodeid, fh, flags)?;
            reply::empty()
        }
        Operation::Releasedir { fh } => {
            ops.releasedir(ctx, nodeid, fh)?;
            reply::empty()
        }
        Operation::Readdir {
            fh,
            offset,
            size,
            plus,
        } => {
            let mut sink = DirBuf::new(size as usize, plus);
            ops.readdir(ctx, nodeid, fh, offset, plus, &mut sink)?;
            Ok(sink.into_bytes())
        }
        Operation::Statfs => {
            let s = ops.statfs(ctx, nodeid)?;
            reply::body(&abi::FuseStatfsOut {
                st: reply::kstatfs(&s),
            })
        }
        Operation::Getxattr { name, size } => xattr_reply(ops.getxattr(ctx, nodeid, name)?, size),
        Operation::Listxattr { size } => xattr_reply(ops.listxattr(ctx, nodeid)?, size),
        Operation::Access { mask } => {
            ops.access(ctx, nodeid, mask)?;
            reply::empty()
        }
        Operation::Lseek { fh, offset, whence } => {
            let offset = ops.lseek(ctx, nodeid, fh, offset, whence)?;
            reply::body(&abi::FuseLseekOut { offset })
        }
        Operation::Setattr(set) => {
            let (attr, ttl) = ops.setattr(ctx, nodeid, &set)?;
            reply::body(&reply::attr_out(&attr, ttl))
        }
        Operation::Mknod {
            name,
            mode,
            rdev,
            umask,
        } => reply::body(&reply::entry_out(
            &ops.mknod(ctx, nodeid, name, mode, rdev, umask)?,
        )),
        Operation::Mkdir { name, mode, umask } => reply::body(&reply::entry_out(
            &ops.mkdir(ctx, nodeid, name, mode, umask)?,
        )),
        Operation::Symlink { name, target } => {
            reply::body(&reply::entry_out(&ops.symlink(ctx, nodeid, name, target)?))
        }
        Operation::Link { oldnodeid, newname } => reply::body(&reply::entry_out(
            &ops.link(ctx, oldnodeid, nodeid, newname)?,
        )),
        Operation::Unlink { name } => {
            ops.unlink(ctx, nodeid, name)?;
            reply::empty()
        }
        Operation::Rmdir { name } => {
            ops.rmdir(ctx, nodeid, name)?;
            reply::empty()
        }
        Operation::Rename {
            name,
            newdir,
            newname,
            flags,
        } => {
            ops.rename(ctx, nodeid, name, newdir, newname, flags)?;
            reply::empty()
        }
        Operation::Create {
            name,
            mode,
            umask,
            flags,
        } => {
            let (e, o) = ops.create(ctx, nodeid, name, mode, umask, flags)?;
            reply::create_reply(&e, &o)
        }
        Operation::Tmpfile { mode, umask, flags } => {
            let (e, o) = ops.tmpfile(ctx, nodeid, mode, umask, flags)?;
            reply::create_reply(&e, &o)
        }
        Operation::Write {
            fh,
            offset,
            data,
            write_flags,
            flags,
        } => {
            let n = ops.write(ctx, nodeid, fh, offset, data, write_flags, flags)?;
            // Claiming more than was sent would corrupt the kernel's view.
            if n as usize > data.len() {
                return Err(Errno::EIO);
            }
            reply::write_out(n)
        }
        Operation::Flush { fh, lock_owner } => {
            ops.flush(ctx, nodeid, fh, lock_owner)?;
            reply::empty()
        }
        Operation::Fsync { fh, datasync, dir } => {
            if dir {
                ops.fsyncdir(ctx, nodeid, fh, datasync)?;
            } else {
                ops.fsync(ctx, nodeid, fh, datasync)?;
            }
            reply::empty()
        }
        Operation::Fallocate {
            fh,
            offset,
            length,
            mode,
        } => {
            ops.fallocate(ctx, nodeid, fh, offset, length, mode)?;
            reply::empty()
        }
        Operation::CopyFileRange {
            fh_in,
            off_in,
            nodeid_out,
            fh_out,
            off_out,
            len,
            flags,
            wide,
        } => {
            let n = ops.copy_file_range(
                ctx, nodeid, fh_in, off_in, nodeid_out, fh_out, off_out, len, flags,
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
        Operation::Setxattr {
            name,
            value,
            flags,
            setxattr_flags,
        } => {
            ops.setxattr(ctx, nodeid, name, value, flags, setxattr_flags)?;
            reply::empty()
        }
        Operation::Removexattr { name } => {
            ops.removexattr(ctx, nodeid, name)?;
            reply::empty()
        }
        Operation::Syncfs => {
            ops.syncfs(ctx, nodeid)?;
            reply::empty()
        }
        Operation::Ioctl(io) => {
            let r = ops.ioctl(ctx, nodeid, &io)?;
            // More than the caller takes would fail the whole reply.
            if r.output.len() > io.out_size as usize {
                return Err(Errno::EIO);
            }
            reply::ioctl_out(&r)
        }
        Operation::Destroy => reply::empty(),
        Operation::Init => Err(Errno(libc::EPROTO)),
        Operation::Unknown(_) => Err(Errno::ENOSYS),
    }
}

/// The reply to OPEN and OPENDIR.
fn open_out(o: super::ops::Open) -> Response {
    reply::body(&abi::FuseOpenOut {
        fh: o.fh,
        open_flags: o.open_flags,
        backing_id: 0,
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuse::abi::FuseGetxattrIn;
    use crate::fuse::abi::init_flags::FUSE_SETXATTR_EXT;
    use crate::fuse::abi::opcode::*;
    use crate::fuse::ids::{FileHandle, RequestId};
    use crate::fuse::ops::{Attr, Entry, OpResult, Open, RequestCtx};
    use crate::fuse::ops::{SetAttr, TimeOrNow, Timespec};
    use crate::fuse::request::request_bytes;
    use parking_lot::Mutex;
    use std::time::Duration;
    use zerocopy::IntoBytes;

    #[derive(Default)]
    struct Fake {
        forgets: Mutex<Vec<(NodeId, u64)>>,
        seen_unique: Mutex<Option<RequestId>>,
    }

    impl FuseOps for Fake {
        fn forget(&self, nodeid: NodeId, nlookup: u64) {
            self.forgets.lock().push((nodeid, nlookup));
        }
        fn getxattr(&self, ctx: &RequestCtx, _n: NodeId, name: &[u8]) -> OpResult<Vec<u8>> {
            *self.seen_unique.lock() = Some(ctx.unique);
            if name == b"user.a" {
                Ok(b"12345".to_vec())
            } else {
                Err(Errno::ENODATA)
            }
        }
    }

    fn getxattr(ops: &Fake, size: u32, unique: u64) -> Option<Response> {
        let mut body = FuseGetxattrIn { size, padding: 0 }.as_bytes().to_vec();
        body.extend_from_slice(b"user.a\0");
        let buf = request_bytes(FUSE_GETXATTR, unique, 5, &body);
        dispatch(ops, Request::parse(&buf).unwrap(), &Negotiated::default())
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
            Some(RequestId(1 << 63 | 9)),
            "handler sees the resend bit"
        );
        assert_eq!(getxattr(&ops, 4, 1), Some(Err(Errno::ERANGE)));
        assert_eq!(getxattr(&ops, 5, 1), Some(Ok(b"12345".to_vec())));
    }

    #[test]
    fn forgets_take_no_reply_and_unknown_is_enosys() {
        let ops = Fake::default();
        let buf = request_bytes(
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
                nodeid: NodeId(8),
                nlookup: 1,
            }
            .as_bytes(),
        );
        body.extend_from_slice(
            abi::FuseForgetOne {
                nodeid: NodeId(9),
                nlookup: 2,
            }
            .as_bytes(),
        );
        let buf = request_bytes(FUSE_BATCH_FORGET, 2, 0, &body);
        assert!(dispatch(&ops, Request::parse(&buf).unwrap(), &Negotiated::default()).is_none());
        assert_eq!(
            *ops.forgets.lock(),
            vec![(NodeId(7), 3), (NodeId(8), 1), (NodeId(9), 2)]
        );

        let buf = request_bytes(
            FUSE_INTERRUPT,
            3,
            0,
            abi::FuseInterruptIn {
                unique: RequestId(2),
            }
            .as_bytes(),
        );
        assert!(dispatch(&ops, Request::parse(&buf).unwrap(), &Negotiated::default()).is_none());
        // (A well-formed MKDIR: names are validated before the handler.)
        let buf = request_bytes(FUSE_MKDIR, 4, 1, b"\xed\x01\0\0\x12\0\0\0d\0");
        assert_eq!(
            dispatch(&ops, Request::parse(&buf).unwrap(), &Negotiated::default()),
            Some(Err(Errno::ENOSYS))
        );
        let buf = request_bytes(FUSE_FLUSH, 5, 1, &[0; 24]);
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
        crate::fuse::ops::test_entry(nodeid, 1)
    }

    fn s(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    impl FuseOps for Rec {
        fn setattr(&self, _: &RequestCtx, n: NodeId, set: &SetAttr) -> OpResult<(Attr, Duration)> {
            self.calls.lock().push(format!("setattr {n} {set:?}"));
            Ok((Attr::default(), Duration::ZERO))
        }
        fn mknod(
            &self,
            _: &RequestCtx,
            p: NodeId,
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
            p: NodeId,
            name: &[u8],
            mode: u32,
            umask: u32,
        ) -> OpResult<Entry> {
            self.calls
                .lock()
                .push(format!("mkdir {p} {} {mode:o} {umask:o}", s(name)));
            Ok(entry(11))
        }
        fn symlink(&self, _: &RequestCtx, p: NodeId, name: &[u8], t: &[u8]) -> OpResult<Entry> {
            self.calls
                .lock()
                .push(format!("symlink {p} {} {}", s(name), s(t)));
            Ok(entry(12))
        }
        fn link(&self, _: &RequestCtx, n: NodeId, np: NodeId, name: &[u8]) -> OpResult<Entry> {
            self.calls.lock().push(format!("link {n} {np} {}", s(name)));
            Ok(entry(n.0))
        }
        fn unlink(&self, _: &RequestCtx, p: NodeId, name: &[u8]) -> OpResult<()> {
            self.calls.lock().push(format!("unlink {p} {}", s(name)));
            Ok(())
        }
        fn rmdir(&self, _: &RequestCtx, p: NodeId, name: &[u8]) -> OpResult<()> {
            self.calls.lock().push(format!("rmdir {p} {}", s(name)));
            Ok(())
        }
        fn rename(
            &self,
            _: &RequestCtx,
            p: NodeId,
            name: &[u8],
            np: NodeId,
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
            p: NodeId,
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
                    fh: FileHandle(5),
                    open_flags: 0,
                },
            ))
        }
        fn tmpfile(
            &self,
            _: &RequestCtx,
            p: NodeId,
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
                    fh: FileHandle(6),
                    open_flags: 0,
                },
            ))
        }
        fn write(
            &self,
            _: &RequestCtx,
            n: NodeId,
            fh: FileHandle,
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
        fn fsync(&self, _: &RequestCtx, n: NodeId, fh: FileHandle, ds: bool) -> OpResult<()> {
            self.calls.lock().push(format!("fsync {n} {fh} {ds}"));
            Ok(())
        }
        fn fsyncdir(&self, _: &RequestCtx, n: NodeId, fh: FileHandle, ds: bool) -> OpResult<()> {
            self.calls.lock().push(format!("fsyncdir {n} {fh} {ds}"));
            Ok(())
        }
        fn fallocate(
            &self,
            _: &RequestCtx,
            n: NodeId,
            fh: FileHandle,
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
            ni: NodeId,
            fi: FileHandle,
            oi: u64,
            no: NodeId,
            fo: FileHandle,
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
            n: NodeId,
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
        fn removexattr(&self, _: &RequestCtx, n: NodeId, name: &[u8]) -> OpResult<()> {
            self.calls
                .lock()
                .push(format!("removexattr {n} {}", s(name)));
            Ok(())
        }
        fn syncfs(&self, _: &RequestCtx, n: NodeId) -> OpResult<()> {
            self.calls.lock().push(format!("syncfs {n}"));
            Ok(())
        }
        fn flush(&self, _: &RequestCtx, n: NodeId, fh: FileHandle, owner: u64) -> OpResult<()> {
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
        let buf = request_bytes(opcode, 1, nodeid, body);
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
            fh: FileHandle(9),
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
            fh: Some(FileHandle(9)),
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
        let li = abi::FuseLinkIn {
            oldnodeid: NodeId(42),
        };
        let (r, call) = run(&ops, &n, FUSE_LINK, 5, &cat(&[li.as_bytes(), b"again\0"]));
        assert_eq!(&r.unwrap()[..8], &42u64.to_ne_bytes());
        assert_eq!(call, "link 42 5 again");
        einval(FUSE_LINK, &cat(&[li.as_bytes(), b"again"]));

        assert_eq!(run(&ops, &n, FUSE_UNLINK, 2, b"f\0").1, "unlink 2 f");
        assert_eq!(run(&ops, &n, FUSE_RMDIR, 2, b"d\0").1, "rmdir 2 d");
        einval(FUSE_UNLINK, b"f");
        einval(FUSE_RMDIR, b"x/\0");

        // RENAME / RENAME2.
        let rn = abi::FuseRenameIn { newdir: NodeId(8) };
        let (r, call) = run(&ops, &n, FUSE_RENAME, 2, &cat(&[rn.as_bytes(), b"a\0b\0"]));
        assert_eq!(r, Ok(Vec::new()));
        assert_eq!(call, "rename 2 a 8 b 0");
        let rn2 = abi::FuseRename2In {
            newdir: NodeId(9),
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
            fh: FileHandle(3),
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
            fh: FileHandle(3),
            lock_owner: 77,
            ..Default::default()
        };
        assert_eq!(
            run(&ops, &n, FUSE_FLUSH, 7, fl.as_bytes()).1,
            "flush 7 3 77"
        );
        let fs = abi::FuseFsyncIn {
            fh: FileHandle(3),
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
            fh: FileHandle(3),
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
            fh_in: FileHandle(1),
            off_in: 2,
            nodeid_out: NodeId(3),
            fh_out: FileHandle(4),
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
            let buf = request_bytes(op, 1, 1, body);
            assert_eq!(
                dispatch(&ops, Request::parse(&buf).unwrap(), &n),
                Some(Err(Errno::ENOSYS)),
                "{}",
                abi::opcode::name(op)
            );
        }
    }
}
