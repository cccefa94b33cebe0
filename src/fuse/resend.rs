//! Requests the kernel resends after a server restart (FUSE_NOTIFY_RESEND,
//! bit 63 of `unique`): a [`RequestHook`] says what is known of their first
//! execution, and the answers here give the reply that execution would
//! have given when its effect is already on disk, so a non-idempotent
//! request (mkdir, unlink, rename, …) is never answered EEXIST or ENOENT
//! for its own earlier success.

use zerocopy::{FromBytes, IntoBytes};

use super::abi::{self, FuseInHeader, opcode::*};
use super::dispatch::dispatch;
use super::ids::NodeId;
use super::init::Negotiated;
use super::ops::{Errno, FuseOps};
use super::reply::Response;
use super::request::Request;

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
/// it: the entry the creating request made. A negative entry (node id 0,
/// see [`Entry::negative`](super::ops::Entry::negative)) is ENOENT here:
/// it is no answer to a creating request.
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
    let found = run(ops, h2, &body, negotiated)?;
    let negative = matches!(&found, Ok(b) if abi::FuseEntryOut::read_from_prefix(b)
        .is_ok_and(|(e, _)| e.nodeid == NodeId::NONE));
    Some(if negative { Err(Errno::ENOENT) } else { found })
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use parking_lot::Mutex;

    use super::*;
    use crate::fuse::ids::{FileHandle, RequestId};
    use crate::fuse::ops::{Attr, Entry, OpResult, Open, RequestCtx};
    use crate::fuse::reply;
    use crate::fuse::request::request_bytes;

    /// The disk after a first execution: lookups find entry 40, creating
    /// again says EEXIST, removing again ENOENT. Every call is recorded.
    #[derive(Default)]
    struct Disk {
        calls: Mutex<Vec<String>>,
    }

    fn entry(nodeid: u64) -> Entry {
        crate::fuse::ops::test_entry(nodeid, 3)
    }

    impl FuseOps for Disk {
        fn lookup(&self, _: &RequestCtx, p: NodeId, name: &[u8]) -> OpResult<Entry> {
            let name = String::from_utf8_lossy(name);
            self.calls.lock().push(format!("lookup {p} {name}"));
            if name == "gone" {
                // A server that lets the kernel cache "no such name".
                return Ok(Entry::negative(Duration::from_secs(1)));
            }
            Ok(entry(40))
        }
        fn getattr(
            &self,
            _: &RequestCtx,
            n: NodeId,
            fh: Option<FileHandle>,
        ) -> OpResult<(Attr, Duration)> {
            self.calls
                .lock()
                .push(format!("getattr {n} {:?}", fh.map(|f| f.0)));
            Ok((entry(n.0).attr, Duration::from_secs(1)))
        }
        fn open(&self, _: &RequestCtx, n: NodeId, flags: u32, _: u32) -> OpResult<Open> {
            self.calls.lock().push(format!("open {n} {flags:o}"));
            Ok(Open {
                fh: FileHandle(0),
                open_flags: 2,
            })
        }
        fn mkdir(&self, _: &RequestCtx, _: NodeId, _: &[u8], _: u32, _: u32) -> OpResult<Entry> {
            self.calls.lock().push("mkdir".into());
            Err(Errno::EEXIST)
        }
        fn unlink(&self, _: &RequestCtx, _: NodeId, _: &[u8]) -> OpResult<()> {
            self.calls.lock().push("unlink".into());
            Err(Errno::ENOENT)
        }
    }

    fn msg(opcode: u32, nodeid: u64, body: &[u8]) -> Vec<u8> {
        request_bytes(opcode, RequestId(8).resent().0, nodeid, body)
    }

    fn applied(d: &Disk, m: &[u8]) -> Option<Response> {
        applied_answer(d, m, &Negotiated::default())
    }

    fn calls(d: &Disk) -> Vec<String> {
        std::mem::take(&mut *d.calls.lock())
    }

    #[test]
    fn answers_rebuilt_for_changes_already_on_disk() {
        let d = Disk::default();
        // Creating requests: the entry their first execution made.
        let mk = [
            abi::FuseMkdirIn {
                mode: 0o755,
                umask: 0,
            }
            .as_bytes(),
            b"d\0",
        ]
        .concat();
        let want = reply::body(&reply::entry_out(&entry(40)));
        assert_eq!(applied(&d, &msg(FUSE_MKDIR, 1, &mk)), Some(want.clone()));
        assert_eq!(calls(&d), ["lookup 1 d"]);
        let link = [
            abi::FuseLinkIn {
                oldnodeid: NodeId(40),
            }
            .as_bytes(),
            b"l\0",
        ]
        .concat();
        assert_eq!(applied(&d, &msg(FUSE_LINK, 5, &link)), Some(want));
        assert_eq!(calls(&d), ["lookup 5 l"]);
        // Create: that entry, opened without creating or truncating again.
        let cr = abi::FuseCreateIn {
            flags: (libc::O_CREAT | libc::O_EXCL | libc::O_TRUNC | libc::O_WRONLY) as u32,
            mode: 0o644,
            ..Default::default()
        };
        let r = applied(&d, &msg(FUSE_CREATE, 1, &[cr.as_bytes(), b"f\0"].concat()));
        let open = Open {
            fh: FileHandle(0),
            open_flags: 2,
        };
        assert_eq!(r, Some(reply::create_reply(&entry(40), &open)));
        assert_eq!(calls(&d), ["lookup 1 f", "open 40 1"]);
        // Removals and renames: success, nothing run.
        assert_eq!(
            applied(&d, &msg(FUSE_UNLINK, 1, b"f\0")),
            Some(Ok(Vec::new()))
        );
        assert!(calls(&d).is_empty());
    }

    #[test]
    fn negative_lookup_is_no_answer_to_a_create() {
        let d = Disk::default();
        let mk = [abi::FuseMkdirIn::default().as_bytes(), b"gone\0"].concat();
        assert_eq!(
            applied(&d, &msg(FUSE_MKDIR, 1, &mk)),
            Some(Err(Errno::ENOENT))
        );
        let cr = abi::FuseCreateIn {
            flags: (libc::O_CREAT | libc::O_WRONLY) as u32,
            ..Default::default()
        };
        let r = applied(
            &d,
            &msg(FUSE_CREATE, 1, &[cr.as_bytes(), b"gone\0"].concat()),
        );
        assert_eq!(r, Some(Err(Errno::ENOENT)));
        // Nothing was opened for it.
        assert_eq!(calls(&d), ["lookup 1 gone", "lookup 1 gone"]);
    }

    #[test]
    fn repeatable_changes_are_not_run_again() {
        let d = Disk::default();
        let w = abi::FuseWriteIn {
            size: 5,
            ..Default::default()
        };
        let r = applied(&d, &msg(FUSE_WRITE, 40, &[w.as_bytes(), b"hello"].concat()));
        let out = abi::FuseWriteOut {
            size: 5,
            padding: 0,
        };
        assert_eq!(r, Some(Ok(out.as_bytes().to_vec())));
        let set = abi::FuseSetattrIn {
            valid: abi::fattr::FATTR_SIZE | abi::fattr::FATTR_FH,
            fh: FileHandle(9),
            ..Default::default()
        };
        let r = applied(&d, &msg(FUSE_SETATTR, 40, set.as_bytes()));
        let attr = reply::body(&reply::attr_out(&entry(40).attr, Duration::from_secs(1)));
        assert_eq!(r, Some(attr));
        let o = abi::FuseOpenIn {
            flags: (libc::O_TRUNC | libc::O_RDWR) as u32,
            open_flags: 0,
        };
        assert!(applied(&d, &msg(FUSE_OPEN, 40, o.as_bytes())).is_some());
        // No write and no truncate happened again.
        assert_eq!(calls(&d), ["getattr 40 Some(9)", "open 40 2"]);
        // A nameless file cannot be found again: run it.
        let t = abi::FuseCreateIn::default();
        assert_eq!(
            applied(&d, &msg(FUSE_TMPFILE, 1, &[t.as_bytes(), b"/\0"].concat())),
            None
        );
    }

    #[test]
    fn maybe_takes_exists_and_not_found_as_its_own_success() {
        let d = Disk::default();
        let n = Negotiated::default();
        let mk = msg(
            FUSE_MKDIR,
            1,
            &[abi::FuseMkdirIn::default().as_bytes(), b"d\0"].concat(),
        );
        let r = settle_maybe(&d, &mk, &n, Some(Err(Errno::EEXIST)));
        assert_eq!(r, Some(reply::body(&reply::entry_out(&entry(40)))));
        let ul = msg(FUSE_UNLINK, 1, b"x\0");
        assert_eq!(
            settle_maybe(&d, &ul, &n, Some(Err(Errno::ENOENT))),
            Some(Ok(Vec::new()))
        );
        // Other failures stand.
        let r = settle_maybe(&d, &mk, &n, Some(Err(Errno::EACCES)));
        assert_eq!(r, Some(Err(Errno::EACCES)));
        let r = settle_maybe(&d, &ul, &n, Some(Err(Errno::EEXIST)));
        assert_eq!(r, Some(Err(Errno::EEXIST)));
    }
}
