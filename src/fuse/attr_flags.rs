//! The file attribute ioctls as FUSE delivers them (see docs/chattr.md).
//!
//! On Linux the VFS serves FS_IOC_GETFLAGS/SETFLAGS and
//! FS_IOC_FSGETXATTR/FSSETXATTR itself (vfs_fileattr_get/set) and asks a
//! FUSE filesystem through `fuse_fileattr_get/set`, which sends them as
//! FUSE_IOCTL on a handle it opens for the purpose, with a 4-byte flags
//! word (whatever the `long` in the command number says) or a whole
//! `struct fsxattr`, copied in for a set and out for a get.

use super::ops::{Errno, Ioctl, IoctlReply};
use crate::ext4::inode::flags;
use crate::fs::attr_flags::FsXattr;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// FS_IOC_GETFLAGS: `_IOR('f', 1, long)` on a 64-bit kernel.
pub const FS_IOC_GETFLAGS: u32 = 0x8008_6601;
/// FS_IOC_SETFLAGS: `_IOW('f', 2, long)`.
pub const FS_IOC_SETFLAGS: u32 = 0x4008_6602;
/// FS_IOC32_GETFLAGS: `_IOR('f', 1, int)` (32-bit callers).
pub const FS_IOC32_GETFLAGS: u32 = 0x8004_6601;
/// FS_IOC32_SETFLAGS: `_IOW('f', 2, int)`.
pub const FS_IOC32_SETFLAGS: u32 = 0x4004_6602;
/// FS_IOC_FSGETXATTR: `_IOR('X', 31, struct fsxattr)`.
pub const FS_IOC_FSGETXATTR: u32 = 0x801C_581F;
/// FS_IOC_FSSETXATTR: `_IOW('X', 32, struct fsxattr)`.
pub const FS_IOC_FSSETXATTR: u32 = 0x401C_5820;

/// STATX_ATTR_* bits and the i_flags bit each one reports, as ext4_getattr
/// maps them.
const STATX_FROM_FLAGS: [(u64, u32); 6] = [
    (0x4, flags::COMPR),        // STATX_ATTR_COMPRESSED
    (0x10, flags::IMMUTABLE),   // STATX_ATTR_IMMUTABLE
    (0x20, flags::APPEND),      // STATX_ATTR_APPEND
    (0x40, flags::NODUMP),      // STATX_ATTR_NODUMP
    (0x800, flags::ENCRYPT),    // STATX_ATTR_ENCRYPTED
    (0x10_0000, flags::VERITY), // STATX_ATTR_VERITY
];

/// statx's `attributes_mask`: the bits above, which ext4 always says it
/// keeps (whether or not a file has them).
pub const STATX_ATTRS_KEPT: u64 = 0x4 | 0x10 | 0x20 | 0x40 | 0x800 | 0x10_0000;

/// statx's `attributes` for an inode with these i_flags.
pub fn statx_attributes(i_flags: u32) -> u64 {
    (STATX_FROM_FLAGS.iter())
        .filter(|(_, f)| i_flags & f != 0)
        .fold(0, |acc, (bit, _)| acc | bit)
}

/// `struct fsxattr` (include/uapi/linux/fs.h), in the caller's byte
/// order; ext4 uses only the flags and the project id.
#[derive(Debug, Clone, Copy, Default, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
struct Fsxattr {
    fsx_xflags: u32,
    fsx_extsize: u32,
    fsx_nextents: u32,
    fsx_projid: u32,
    fsx_cowextsize: u32,
    fsx_pad: [u8; 8],
}

const FSXATTR_SIZE: usize = size_of::<Fsxattr>();
const _: () = assert!(FSXATTR_SIZE == 28);

/// What an attribute ioctl asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrIoctl {
    GetFlags,
    SetFlags(u32),
    GetXattr,
    SetXattr(FsXattr),
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Decodes `io` when it is one of the attribute ioctls; None for any
/// other command, EINVAL when the data it carries is short.
pub fn decode(io: &Ioctl<'_>) -> Option<Result<AttrIoctl, Errno>> {
    let r = match io.cmd {
        FS_IOC_GETFLAGS | FS_IOC32_GETFLAGS => Ok(AttrIoctl::GetFlags),
        FS_IOC_SETFLAGS | FS_IOC32_SETFLAGS => u32_at(io.input, 0)
            .map(AttrIoctl::SetFlags)
            .ok_or(Errno::EINVAL),
        FS_IOC_FSGETXATTR => Ok(AttrIoctl::GetXattr),
        FS_IOC_FSSETXATTR => Fsxattr::read_from_prefix(io.input)
            .map(|(x, _)| {
                AttrIoctl::SetXattr(FsXattr {
                    xflags: x.fsx_xflags,
                    projid: x.fsx_projid,
                })
            })
            .map_err(|_| Errno::EINVAL),
        _ => return None,
    };
    Some(r)
}

/// The reply to GETFLAGS: the flags, in exactly the `out_size` bytes the
/// kernel waits for (4 from the VFS; 8 for a `long` sent as is).
pub fn flags_reply(flags: u32, out_size: u32) -> IoctlReply {
    let mut output = flags.to_ne_bytes().to_vec();
    output.resize((out_size as usize).clamp(4, 8), 0);
    output.truncate(out_size as usize);
    IoctlReply { result: 0, output }
}

/// The reply to FSGETXATTR: a `struct fsxattr` with the flags and the
/// project id (ext4 fills nothing else).
pub fn fsxattr_reply(x: FsXattr, out_size: u32) -> IoctlReply {
    let mut output = Fsxattr {
        fsx_xflags: x.xflags,
        fsx_projid: x.projid,
        ..Fsxattr::default()
    }
    .as_bytes()
    .to_vec();
    output.truncate(out_size as usize);
    IoctlReply { result: 0, output }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuse::ids::FileHandle;

    fn io(cmd: u32, input: &[u8], out_size: u32) -> Ioctl<'_> {
        Ioctl {
            fh: FileHandle(0),
            flags: 0,
            cmd,
            arg: 0,
            input,
            out_size,
        }
    }

    #[test]
    fn commands_decode() {
        assert_eq!(decode(&io(0x1234, &[], 0)), None);
        assert_eq!(
            decode(&io(FS_IOC_GETFLAGS, &[], 4)),
            Some(Ok(AttrIoctl::GetFlags))
        );
        let f = 0x10u32.to_ne_bytes();
        assert_eq!(
            decode(&io(FS_IOC_SETFLAGS, &f, 0)),
            Some(Ok(AttrIoctl::SetFlags(0x10)))
        );
        assert_eq!(
            decode(&io(FS_IOC_SETFLAGS, &f[..2], 0)),
            Some(Err(Errno::EINVAL))
        );
        // struct fsxattr: fsx_xflags at 0, fsx_projid at 12 (uapi fs.h).
        let mut x = [0u8; FSXATTR_SIZE];
        x[0..4].copy_from_slice(&0x8u32.to_ne_bytes());
        x[12..16].copy_from_slice(&7u32.to_ne_bytes());
        assert_eq!(
            decode(&io(FS_IOC_FSSETXATTR, &x[..20], 0)),
            Some(Err(Errno::EINVAL))
        );
        assert_eq!(
            decode(&io(FS_IOC_FSSETXATTR, &x, 0)),
            Some(Ok(AttrIoctl::SetXattr(FsXattr {
                xflags: 8,
                projid: 7
            })))
        );
    }

    #[test]
    fn replies_fill_what_the_kernel_waits_for() {
        assert_eq!(flags_reply(0x80010, 4).output, 0x80010u32.to_ne_bytes());
        assert_eq!(flags_reply(1, 8).output.len(), 8);
        let r = fsxattr_reply(
            FsXattr {
                xflags: 8,
                projid: 3,
            },
            28,
        );
        assert_eq!(r.output.len(), 28);
        assert_eq!(u32_at(&r.output, 12), Some(3));
    }
}
