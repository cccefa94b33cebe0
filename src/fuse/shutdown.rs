//! FS_IOC_SHUTDOWN as FUSE delivers it (see docs/shutdown.md).
//!
//! The command is `_IOR('X', 125, __u32)`: the kernel's restricted FUSE
//! ioctl takes the direction bits at their word, so it copies nothing in
//! and the server gets only the caller's pointer (`arg`), never the flags.
//! They are read from the caller's memory (process_vm_readv), which a
//! server running as root may do; when it cannot, the safest mode,
//! DEFAULT (flush everything, then stop), is taken. The caller must have
//! CAP_SYS_ADMIN, as ext4 asks.

use super::credentials;
use super::ids::NodeId;
use super::notify::Notifier;
use super::ops::{Errno, OpResult, RequestCtx};
use crate::fs::permission::cap;
use crate::fs::shutdown::ShutdownMode;

/// FS_IOC_SHUTDOWN = EXT4_IOC_SHUTDOWN = XFS_IOC_GOINGDOWN.
pub const FS_IOC_SHUTDOWN: u32 = 0x8004_587D;

/// The mode a shutdown request from `ctx` asks for, or why it is refused:
/// EPERM without CAP_SYS_ADMIN (or when the caller cannot be identified:
/// a process outside the server's pid namespace arrives as pid 0), EINVAL
/// for flags above 2.
pub fn requested_mode(ctx: &RequestCtx, arg: u64) -> OpResult<ShutdownMode> {
    if ctx.pid == 0 || !credentials::caller(ctx, false).capable(cap::SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    let flags = match read_caller_u32(ctx.pid, arg) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(
                "shutdown: cannot read the flags from process {} ({e}); flushing everything (DEFAULT)",
                ctx.pid
            );
            0
        }
    };
    ShutdownMode::from_flags(flags).ok_or(Errno::EINVAL)
}

/// After a shutdown, makes what the kernel cached meet the EIO as ext4's
/// reads do: every cached name is looked up again (a new epoch), and the
/// pages and attributes of the files open now (`open`, node ids; files
/// are opened with FOPEN_KEEP_CACHE) are dropped, so a read through a
/// descriptor opened before comes here. Sent before the ioctl's answer.
pub fn drop_kernel_caches(n: &Notifier, open: &[NodeId]) {
    if let Err(e) = n.inc_epoch() {
        tracing::debug!("shutdown: no epoch bump: {e}");
    }
    for &id in open {
        n.drop_cached(id, 0, "shutdown");
    }
}

/// Reads a u32 at `addr` in process `pid`'s memory.
fn read_caller_u32(pid: u32, addr: u64) -> std::io::Result<u32> {
    let mut buf = [0u8; 4];
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as usize as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: the local iovec covers `buf`, alive for the call; the remote
    // one is only read by the kernel, in the other process, with checks.
    let n = unsafe { libc::process_vm_readv(pid as libc::pid_t, &local, 1, &remote, 1, 0) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if n as usize != buf.len() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("read {n} of 4 bytes"),
        ));
    }
    Ok(u32::from_ne_bytes(buf))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuse::ids::RequestId;

    fn me() -> RequestCtx {
        RequestCtx::this_process(RequestId(1))
    }

    #[test]
    fn flags_come_from_the_caller_memory() {
        let has_admin = credentials::caller(&me(), false).capable(cap::SYS_ADMIN);
        for (flags, want) in [
            (0u32, Ok(ShutdownMode::Default)),
            (1, Ok(ShutdownMode::LogFlush)),
            (2, Ok(ShutdownMode::NoLogFlush)),
            (3, Err(Errno::EINVAL)),
            (0xffff_ffff, Err(Errno::EINVAL)),
        ] {
            let v = Box::new(flags);
            let addr = &*v as *const u32 as u64;
            let got = requested_mode(&me(), addr);
            if has_admin {
                assert_eq!(got, want, "flags {flags}");
            } else {
                assert_eq!(got, Err(Errno::EPERM));
            }
        }
    }

    #[test]
    fn unreadable_flags_mean_default_and_pid_0_is_refused() {
        if credentials::caller(&me(), false).capable(cap::SYS_ADMIN) {
            // Address 0 is never mapped.
            assert_eq!(requested_mode(&me(), 0), Ok(ShutdownMode::Default));
        }
        let kernel = RequestCtx { pid: 0, ..me() };
        assert_eq!(requested_mode(&kernel, 0), Err(Errno::EPERM));
    }
}
