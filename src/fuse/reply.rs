//! Reply encoding: the out header plus a body, and conversions from the
//! plain [`ops`](super::ops) types into kernel structs.

use std::io::{self, IoSlice};
use std::time::Duration;

use zerocopy::{Immutable, IntoBytes};

use super::abi::FuseIoctlOut;
use super::abi::{
    FuseAttr, FuseAttrOut, FuseEntryOut, FuseKstatfs, FuseOpenOut, FuseOutHeader, FuseStatx,
    FuseStatxOut, FuseSxTime, FuseWriteOut, statx_mask::*,
};
use super::channel::Channel;
use super::ids::RequestId;
use super::ops::{Attr, Entry, Errno, IoctlReply, Open, StatFs, Timespec};

/// The body of a successful reply, or the errno of a failed one.
pub type Response = Result<Vec<u8>, Errno>;

/// A reply body made of one fixed-size struct.
pub fn body<T: IntoBytes + Immutable>(v: &T) -> Response {
    Ok(v.as_bytes().to_vec())
}

/// An empty successful reply.
pub fn empty() -> Response {
    Ok(Vec::new())
}

/// The out header for a reply of `body_len` bytes; `errno` is positive
/// (0 for success) and is sent negated.
pub fn out_header(unique: RequestId, errno: i32, body_len: usize) -> FuseOutHeader {
    FuseOutHeader {
        len: (core::mem::size_of::<FuseOutHeader>() + body_len) as u32,
        error: -errno,
        unique,
    }
}

/// Sends `response` for request `unique`: header + body with one writev.
pub fn send(channel: &Channel, unique: RequestId, response: &Response) -> io::Result<()> {
    match response {
        Ok(data) => {
            let h = out_header(unique, 0, data.len());
            channel.send_reply(&[IoSlice::new(h.as_bytes()), IoSlice::new(data)])
        }
        Err(e) => send_error(channel, unique, *e),
    }
}

/// Sends an error reply (header only, negative errno).
pub fn send_error(channel: &Channel, unique: RequestId, errno: Errno) -> io::Result<()> {
    let h = out_header(unique, errno.0, 0);
    channel.send_reply(&[IoSlice::new(h.as_bytes())])
}

/// A FUSE_IOCTL reply: `fuse_ioctl_out`, then the output bytes.
pub fn ioctl_out(r: &IoctlReply) -> Response {
    let out = FuseIoctlOut {
        result: r.result,
        ..Default::default()
    };
    let mut v = out.as_bytes().to_vec();
    v.extend_from_slice(&r.output);
    Ok(v)
}

/// Splits a time-out into the (seconds, nanoseconds) pair FUSE uses.
pub fn ttl(d: Duration) -> (u64, u32) {
    (d.as_secs(), d.subsec_nanos())
}

/// `fuse_attr` from [`Attr`].
pub fn fuse_attr(a: &Attr) -> FuseAttr {
    FuseAttr {
        ino: a.ino,
        size: a.size,
        blocks: a.blocks,
        atime: a.atime.sec as u64,
        mtime: a.mtime.sec as u64,
        ctime: a.ctime.sec as u64,
        atimensec: a.atime.nsec,
        mtimensec: a.mtime.nsec,
        ctimensec: a.ctime.nsec,
        mode: a.mode,
        nlink: a.nlink,
        uid: a.uid,
        gid: a.gid,
        rdev: a.rdev,
        blksize: a.blksize,
        flags: 0,
    }
}

/// `fuse_entry_out` from [`Entry`] (time-outs from the entry).
pub fn entry_out(e: &Entry) -> FuseEntryOut {
    let (entry_valid, entry_valid_nsec) = ttl(e.entry_ttl);
    let (attr_valid, attr_valid_nsec) = ttl(e.attr_ttl);
    FuseEntryOut {
        nodeid: e.nodeid,
        generation: e.generation,
        entry_valid,
        attr_valid,
        entry_valid_nsec,
        attr_valid_nsec,
        attr: fuse_attr(&e.attr),
    }
}

/// `fuse_attr_out` for GETATTR.
pub fn attr_out(a: &Attr, valid: Duration) -> FuseAttrOut {
    let (attr_valid, attr_valid_nsec) = ttl(valid);
    FuseAttrOut {
        attr_valid,
        attr_valid_nsec,
        dummy: 0,
        attr: fuse_attr(a),
    }
}

fn sx_time(t: Timespec) -> FuseSxTime {
    FuseSxTime {
        tv_sec: t.sec,
        tv_nsec: t.nsec,
        reserved: 0,
    }
}

/// `fuse_statx_out` for STATX: all basic fields, plus btime when the
/// attributes carry a creation time.
pub fn statx_out(a: &Attr, valid: Duration) -> FuseStatxOut {
    let (attr_valid, attr_valid_nsec) = ttl(valid);
    let mut mask = STATX_BASIC_STATS;
    let btime = match a.crtime {
        Some(t) => {
            mask |= STATX_BTIME;
            sx_time(t)
        }
        None => FuseSxTime::default(),
    };
    // `rdev` is in the kernel's new_encode_dev() form.
    let (rdev_major, rdev_minor) = crate::ext4::inode::decode_dev(a.rdev);
    FuseStatxOut {
        attr_valid,
        attr_valid_nsec,
        flags: 0,
        spare: [0; 2],
        stat: FuseStatx {
            mask,
            blksize: a.blksize,
            attributes: a.statx_attributes,
            nlink: a.nlink,
            uid: a.uid,
            gid: a.gid,
            mode: a.mode as u16,
            spare0: [0],
            ino: a.ino,
            size: a.size,
            blocks: a.blocks,
            attributes_mask: super::attr_flags::STATX_ATTRS_KEPT,
            atime: sx_time(a.atime),
            btime,
            ctime: sx_time(a.ctime),
            mtime: sx_time(a.mtime),
            rdev_major,
            rdev_minor,
            dev_major: 0,
            dev_minor: 0,
            spare2: [0; 14],
        },
    }
}

/// `fuse_open_out` from [`Open`].
pub fn open_out(o: &Open) -> FuseOpenOut {
    FuseOpenOut {
        fh: o.fh,
        open_flags: o.open_flags,
        backing_id: 0,
    }
}

/// The CREATE / TMPFILE reply: `fuse_entry_out` followed by `fuse_open_out`.
pub fn create_reply(e: &Entry, o: &Open) -> Response {
    let mut v = entry_out(e).as_bytes().to_vec();
    v.extend_from_slice(open_out(o).as_bytes());
    Ok(v)
}

/// The WRITE (and 32-bit COPY_FILE_RANGE) reply.
pub fn write_out(size: u32) -> Response {
    body(&FuseWriteOut { size, padding: 0 })
}

/// `fuse_kstatfs` from [`StatFs`].
pub fn kstatfs(s: &StatFs) -> FuseKstatfs {
    FuseKstatfs {
        blocks: s.blocks,
        bfree: s.bfree,
        bavail: s.bavail,
        files: s.files,
        ffree: s.ffree,
        bsize: s.bsize,
        namelen: s.namelen,
        frsize: s.frsize,
        padding: 0,
        spare: [0; 6],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuse::ids::{FileHandle, NodeId};

    #[test]
    fn statx_sets_btime_only_when_known() {
        let mut a = Attr {
            mode: 0o100644,
            rdev: (8 << 8) | 1,
            ..Default::default()
        };
        let s = statx_out(&a, Duration::from_millis(1500));
        assert_eq!(s.stat.mask, STATX_BASIC_STATS);
        assert_eq!((s.attr_valid, s.attr_valid_nsec), (1, 500_000_000));
        assert_eq!((s.stat.rdev_major, s.stat.rdev_minor), (8, 1));
        a.crtime = Some(Timespec { sec: 42, nsec: 7 });
        let s = statx_out(&a, Duration::ZERO);
        assert_eq!(s.stat.mask, STATX_BASIC_STATS | STATX_BTIME);
        assert_eq!((s.stat.btime.tv_sec, s.stat.btime.tv_nsec), (42, 7));
    }

    #[test]
    fn statx_carries_the_attribute_flags_as_ext4_reports_them() {
        use crate::ext4::inode::flags;
        let a = Attr {
            mode: 0o100644,
            statx_attributes: super::super::attr_flags::statx_attributes(
                flags::IMMUTABLE | flags::NODUMP | flags::EXTENTS | flags::NOATIME,
            ),
            ..Default::default()
        };
        let s = statx_out(&a, Duration::ZERO);
        // STATX_ATTR_IMMUTABLE | STATX_ATTR_NODUMP; extents and noatime
        // have no statx bit.
        assert_eq!(s.stat.attributes, 0x10 | 0x40);
        assert_eq!(
            s.stat.attributes_mask,
            0x4 | 0x10 | 0x20 | 0x40 | 0x800 | 0x10_0000
        );
        let a = Attr {
            statx_attributes: super::super::attr_flags::statx_attributes(flags::APPEND),
            ..a
        };
        assert_eq!(statx_out(&a, Duration::ZERO).stat.attributes, 0x20);
    }

    #[test]
    fn create_and_write_replies() {
        let e = Entry {
            nodeid: NodeId(42),
            generation: 3,
            attr: Attr {
                ino: 7,
                mode: 0o100600,
                ..Default::default()
            },
            entry_ttl: Duration::from_secs(2),
            attr_ttl: Duration::from_millis(250),
        };
        let o = Open {
            fh: FileHandle(99),
            open_flags: 2,
        };
        let r = create_reply(&e, &o).unwrap();
        assert_eq!(r.len(), 128 + 16);
        assert_eq!(&r[..8], &42u64.to_ne_bytes());
        assert_eq!(&r[16..24], &2u64.to_ne_bytes(), "entry_valid");
        assert_eq!(&r[36..40], &250_000_000u32.to_ne_bytes(), "attr_valid_nsec");
        assert_eq!(&r[128..136], &99u64.to_ne_bytes(), "fh");
        assert_eq!(&r[136..140], &2u32.to_ne_bytes(), "open_flags");
        assert_eq!(write_out(4096).unwrap(), [0, 16, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn error_header_is_negative() {
        let h = out_header(RequestId(9), libc::ENOENT, 0);
        assert_eq!(h.error, -libc::ENOENT);
        assert_eq!(h.len, 16);
    }
}
