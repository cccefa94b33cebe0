//! Decoding of one request read from the device: the header, then typed
//! arguments and NUL-terminated names taken from the body in order.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::abi::FuseInHeader;
use super::ops::{Errno, RequestCtx};

/// A request as the kernel writes it: a header for `opcode`, `unique` and
/// `nodeid`, then `body`. For tests, which build requests by hand.
#[cfg(test)]
pub(crate) fn request_bytes(opcode: u32, unique: u64, nodeid: u64, body: &[u8]) -> Vec<u8> {
    let h = FuseInHeader {
        len: (core::mem::size_of::<FuseInHeader>() + body.len()) as u32,
        opcode,
        unique: super::ids::RequestId(unique),
        nodeid: super::ids::NodeId(nodeid),
        ..Default::default()
    };
    [h.as_bytes(), body].concat()
}

/// One request: its header and the not yet consumed part of its body.
#[derive(Debug)]
pub struct Request<'a> {
    pub header: FuseInHeader,
    body: &'a [u8],
}

impl<'a> Request<'a> {
    /// Parses the header and bounds the body by `header.len`, leaving out
    /// any request extensions (`total_extlen`). `Err` means the message is
    /// malformed; the caller answers EIO when the header itself was readable.
    pub fn parse(buf: &'a [u8]) -> Result<Self, Option<FuseInHeader>> {
        let (header, _) = FuseInHeader::read_from_prefix(buf).map_err(|_| None)?;
        let len = header.len as usize;
        let hlen = core::mem::size_of::<FuseInHeader>();
        let ext = usize::from(header.total_extlen) * 8;
        if len > buf.len() || len < hlen + ext {
            return Err(Some(header));
        }
        Ok(Request {
            header,
            body: &buf[hlen..len - ext],
        })
    }

    /// The handler-visible context (the unique id keeps the resend bit).
    pub fn ctx(&self) -> RequestCtx {
        RequestCtx {
            unique: self.header.unique,
            uid: self.header.uid,
            gid: self.header.gid,
            pid: self.header.pid,
        }
    }

    /// Takes a fixed-size argument struct off the front of the body.
    pub fn arg<T: FromBytes + KnownLayout + Immutable>(&mut self) -> Result<T, Errno> {
        let (v, rest) = T::read_from_prefix(self.body).map_err(|_| Errno::EINVAL)?;
        self.body = rest;
        Ok(v)
    }

    /// Takes a NUL-terminated name off the front of the body (without NUL).
    pub fn name(&mut self) -> Result<&'a [u8], Errno> {
        let end = self
            .body
            .iter()
            .position(|&b| b == 0)
            .ok_or(Errno::EINVAL)?;
        let name = &self.body[..end];
        self.body = &self.body[end + 1..];
        Ok(name)
    }

    /// Takes a directory entry name: non-empty, without '/', NUL-terminated
    /// within the request; anything else is EINVAL.
    pub fn entry_name(&mut self) -> Result<&'a [u8], Errno> {
        let name = self.name()?;
        if name.is_empty() || name.contains(&b'/') {
            return Err(Errno::EINVAL);
        }
        Ok(name)
    }

    /// Takes a fixed-size argument that older kernels may send shortened
    /// (e.g. `fuse_setxattr_in` without FUSE_SETXATTR_EXT): `len` bytes are
    /// consumed and the rest of the struct is zero.
    pub fn arg_prefix<T: FromBytes + IntoBytes + KnownLayout + Immutable>(
        &mut self,
        len: usize,
    ) -> Result<T, Errno> {
        let mut v = T::new_zeroed();
        let n = len.min(core::mem::size_of::<T>());
        let bytes = self.take(n)?;
        v.as_mut_bytes()[..n].copy_from_slice(bytes);
        Ok(v)
    }

    /// Takes exactly `n` raw bytes off the front of the body.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Errno> {
        if self.body.len() < n {
            return Err(Errno::EINVAL);
        }
        let (head, rest) = self.body.split_at(n);
        self.body = rest;
        Ok(head)
    }

    /// Whatever is left of the body.
    pub fn rest(&self) -> &'a [u8] {
        self.body
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuse::abi::FuseGetxattrIn;
    use zerocopy::IntoBytes;

    #[test]
    fn parses_args_and_names() {
        let arg = FuseGetxattrIn {
            size: 7,
            padding: 0,
        };
        let body = [arg.as_bytes(), b"user.x\0"].concat();
        let mut buf = request_bytes(0, 1 << 63 | 5, 0, &body);
        buf.extend_from_slice(&[0xee; 16]); // garbage past `len`
        let mut r = Request::parse(&buf).unwrap();
        assert!(r.ctx().is_resend());
        assert_eq!(r.arg::<FuseGetxattrIn>().unwrap().size, 7);
        assert_eq!(r.name().unwrap(), b"user.x");
        assert!(r.rest().is_empty());
        assert_eq!(r.name(), Err(Errno::EINVAL));

        let short = FuseInHeader {
            len: 1000,
            ..Default::default()
        };
        assert!(Request::parse(short.as_bytes()).is_err());
    }

    fn req(body: &[u8]) -> Vec<u8> {
        request_bytes(0, 0, 0, body)
    }

    #[test]
    fn entry_names_are_validated() {
        for bad in [&b"\0"[..], b"a/b\0", b"/\0", b"noterm"] {
            let buf = req(bad);
            let mut r = Request::parse(&buf).unwrap();
            assert_eq!(r.entry_name(), Err(Errno::EINVAL), "{bad:?}");
        }
        let buf = req(b"ok\0next\0");
        let mut r = Request::parse(&buf).unwrap();
        assert_eq!(r.entry_name().unwrap(), b"ok");
        assert_eq!(r.entry_name().unwrap(), b"next");
        assert_eq!(r.entry_name(), Err(Errno::EINVAL));
    }

    #[test]
    fn short_args_and_take() {
        let buf = req(&[1, 0, 0, 0, 2, 0, 0, 0, 9]);
        let mut r = Request::parse(&buf).unwrap();
        let g: FuseGetxattrIn = r.arg_prefix(4).unwrap();
        assert_eq!((g.size, g.padding), (1, 0));
        assert_eq!(r.take(6), Err(Errno::EINVAL));
        assert_eq!(r.take(4).unwrap(), &[2, 0, 0, 0]);
        assert_eq!(r.rest(), &[9]);
        assert_eq!(r.arg::<FuseGetxattrIn>(), Err(Errno::EINVAL));
    }
}
