//! The fscrypt ioctls that read an inode's encryption settings, as far as
//! the kernel's restricted FUSE ioctl carries them (docs/encrypt.md).
//!
//! The kernel's FUSE client sizes the data it copies from the command
//! number (fs/fuse/ioctl.c, fuse_do_ioctl): FS_IOC_GET_ENCRYPTION_NONCE
//! (`_IOR`, 16 bytes) carries the whole answer; FS_IOC_GET_ENCRYPTION_POLICY
//! is declared `_IOW` (nothing comes back) and
//! FS_IOC_GET_ENCRYPTION_POLICY_EX `_IOWR` with 9 bytes, so neither can
//! return a policy: they give the kernel's errors where one applies
//! (ENODATA for an unencrypted inode, EINVAL, EOVERFLOW) and EOPNOTSUPP
//! where the policy itself would be the answer. The ioctls that add,
//! remove or query keys are ENOTTY, as every command not served.

use super::ops::{Errno, Ioctl, IoctlReply};
use crate::ext4::crypt::Context;
use crate::ext4::inode::{Inode, flags};
use crate::fs::{Fs, FsError};

/// `_IOW('f', 21, struct fscrypt_policy_v1)` (12 bytes).
pub const FS_IOC_GET_ENCRYPTION_POLICY: u32 = 0x400C_6615;
/// `_IOWR('f', 22, __u8[9])`.
pub const FS_IOC_GET_ENCRYPTION_POLICY_EX: u32 = 0xC009_6616;
/// `_IOR('f', 27, __u8[16])`.
pub const FS_IOC_GET_ENCRYPTION_NONCE: u32 = 0x8010_661B;

/// Whether `cmd` is one of the commands answered here.
pub fn handles(cmd: u32) -> bool {
    matches!(
        cmd,
        FS_IOC_GET_ENCRYPTION_POLICY
            | FS_IOC_GET_ENCRYPTION_POLICY_EX
            | FS_IOC_GET_ENCRYPTION_NONCE
    )
}

/// The answer to `io` (a command [`handles`] accepts) on `inode`; errors
/// from the filesystem come back as FsError for the caller to map.
pub fn answer(
    fs: &Fs,
    inode: &Inode,
    io: &Ioctl<'_>,
) -> Result<Result<IoctlReply, Errno>, FsError> {
    // fscrypt_get_policy refuses an unencrypted inode before reading;
    // fscrypt_ioctl_get_nonce goes by the context alone.
    if io.cmd != FS_IOC_GET_ENCRYPTION_NONCE && !inode.has_flag(flags::ENCRYPT) {
        return Ok(Err(Errno::ENODATA));
    }
    let raw = fs.encryption_context(inode)?;
    let Some(ctx) = Context::parse(&raw) else {
        return Ok(Err(Errno::EINVAL));
    };
    Ok(match io.cmd {
        FS_IOC_GET_ENCRYPTION_NONCE => {
            let mut output = ctx.nonce().to_vec();
            output.truncate(io.out_size as usize);
            Ok(IoctlReply { result: 0, output })
        }
        FS_IOC_GET_ENCRYPTION_POLICY => {
            // The v1 ioctl answers only v1 policies.
            if ctx.policy()[0] != 0 {
                Err(Errno::EINVAL)
            } else {
                Err(Errno::EOPNOTSUPP)
            }
        }
        _ => {
            let asked = io
                .input
                .get(..8)
                .map(|b| u64::from_ne_bytes(b.try_into().unwrap()));
            match asked {
                None => Err(Errno::EINVAL),
                Some(n) if n < ctx.policy().len() as u64 => Err(Errno(libc::EOVERFLOW)),
                Some(_) => Err(Errno::EOPNOTSUPP),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The numbers are the kernel's _IOR/_IOW/_IOWR encodings.
    #[test]
    fn command_numbers() {
        let ioc =
            |dir: u32, nr: u32, size: u32| (dir << 30) | (size << 16) | ((b'f' as u32) << 8) | nr;
        assert_eq!(FS_IOC_GET_ENCRYPTION_POLICY, ioc(1, 21, 12));
        assert_eq!(FS_IOC_GET_ENCRYPTION_POLICY_EX, ioc(3, 22, 9));
        assert_eq!(FS_IOC_GET_ENCRYPTION_NONCE, ioc(2, 27, 16));
    }
}
