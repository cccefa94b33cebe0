//! FITRIM (`fstrim`) as FUSE delivers it (see docs/discard.md).
//!
//! The command is `_IOWR('X', 121, struct fstrim_range)`: the kernel's
//! restricted FUSE ioctl copies the 24-byte range in and the 24 bytes of
//! the answer out (`len` becomes the bytes trimmed). As ext4 asks, the
//! caller must have CAP_SYS_ADMIN.

use super::credentials;
use super::ops::{Errno, Ioctl, IoctlReply, RequestCtx};
use crate::fs::alloc::trim::{TrimRange, Trimmed};
use crate::fs::permission::cap;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// FITRIM = `_IOWR('X', 121, struct fstrim_range)`.
pub const FITRIM: u32 = 0xC018_5879;

/// `struct fstrim_range` (include/uapi/linux/fs.h), in the caller's
/// byte order.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
struct FstrimRange {
    start: u64,
    len: u64,
    minlen: u64,
}

const RANGE_SIZE: usize = size_of::<FstrimRange>();
const _: () = assert!(RANGE_SIZE == 24);

/// The range a FITRIM from `ctx` asks for, or why it is refused: EPERM
/// without CAP_SYS_ADMIN (or from a caller the server cannot identify,
/// pid 0), EINVAL when the range did not come with it.
pub fn requested_range(ctx: &RequestCtx, io: &Ioctl<'_>) -> Result<TrimRange, Errno> {
    if ctx.pid == 0 || !credentials::caller(ctx, false).capable(cap::SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    let (r, _) = FstrimRange::read_from_prefix(io.input).map_err(|_| Errno::EINVAL)?;
    Ok(TrimRange {
        start: r.start,
        len: r.len,
        minlen: r.minlen,
    })
}

/// The answer: the range with `len` the bytes trimmed and `minlen` the
/// minimum used, `start` as given; at most the `out_size` bytes the
/// caller takes.
pub fn reply(r: &TrimRange, t: Trimmed, out_size: u32) -> IoctlReply {
    let mut output = FstrimRange {
        start: r.start,
        len: t.bytes,
        minlen: t.minlen,
    }
    .as_bytes()
    .to_vec();
    output.truncate(out_size as usize);
    IoctlReply { result: 0, output }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuse::ids::{FileHandle, RequestId};

    fn me() -> RequestCtx {
        RequestCtx::this_process(RequestId(1))
    }

    fn io(input: &[u8]) -> Ioctl<'_> {
        Ioctl {
            fh: FileHandle(0),
            flags: 0,
            cmd: FITRIM,
            arg: 0,
            input,
            out_size: RANGE_SIZE as u32,
        }
    }

    #[test]
    fn range_decodes_and_reply_carries_the_count() {
        let mut b = Vec::new();
        for v in [4096u64, u64::MAX, 8192] {
            b.extend_from_slice(&v.to_ne_bytes());
        }
        let want = TrimRange {
            start: 4096,
            len: u64::MAX,
            minlen: 8192,
        };
        if credentials::caller(&me(), false).capable(cap::SYS_ADMIN) {
            assert_eq!(requested_range(&me(), &io(&b)), Ok(want));
            assert_eq!(requested_range(&me(), &io(&b[..16])), Err(Errno::EINVAL));
        } else {
            assert_eq!(requested_range(&me(), &io(&b)), Err(Errno::EPERM));
        }
        let kernel = RequestCtx { pid: 0, ..me() };
        assert_eq!(requested_range(&kernel, &io(&b)), Err(Errno::EPERM));
        let r = reply(
            &want,
            Trimmed {
                bytes: 1 << 20,
                minlen: 8192,
            },
            24,
        );
        let at = |i: usize| u64::from_ne_bytes(r.output[i..i + 8].try_into().unwrap());
        assert_eq!((at(0), at(8), at(16)), (4096, 1 << 20, 8192));
    }

    #[test]
    fn the_command_number_is_the_kernels() {
        // _IOWR: dir 3 << 30, size 24 << 16, type 'X' << 8, nr 121.
        assert_eq!(FITRIM, (3 << 30) | (24 << 16) | ((b'X' as u32) << 8) | 121);
    }
}
