//! Mounting and unmounting: mount(2) on `/dev/fuse` when privileged, else
//! `fusermount3`, which passes the device fd back over a unix socket
//! (`_FUSE_COMMFD`, SCM_RIGHTS).
//!
//! Nothing here unmounts implicitly: there is no `Drop` that unmounts; call
//! [`unmount`] explicitly.

use std::ffi::CString;
use std::io::{self, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rustix::fs::{Mode, OFlags};
use rustix::mount::{MountFlags, UnmountFlags};
use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SocketFlags, SocketType,
};
use thiserror::Error;
use tracing::debug;

use super::userns::IdMap;
use crate::fs::atime::AtimeMode;

/// The helper binary for unprivileged mounts.
pub const FUSERMOUNT: &str = "fusermount3";

/// How to mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// Read-only mount (MS_RDONLY / `ro`).
    pub ro: bool,
    /// Let other users access the mount.
    pub allow_other: bool,
    /// Let the kernel check permissions from the mode bits (default on).
    pub default_permissions: bool,
    /// The mount source shown in /proc/mounts.
    pub fsname: String,
    /// Mount type becomes `fuse.<subtype>`.
    pub subtype: String,
    /// Maximum READ size (`max_read=`).
    pub max_read: Option<u32>,
    /// Use fusermount3 even when mount(2) would be allowed.
    pub force_fusermount: bool,
    /// Set-user-ID bits are ignored (MS_NOSUID; libfuse's default).
    pub nosuid: bool,
    /// Device nodes cannot be opened (MS_NODEV; libfuse's default).
    pub nodev: bool,
    /// Nothing can be executed (MS_NOEXEC).
    pub noexec: bool,
    /// MS_SYNCHRONOUS (the server makes every change durable itself).
    pub sync: bool,
    /// MS_DIRSYNC (likewise for directory changes).
    pub dirsync: bool,
    /// The atime flag the kernel shows and applies to its own cached times.
    pub atime: AtimeMode,
    /// MS_NODIRATIME.
    pub nodiratime: bool,
    /// MS_LAZYTIME.
    pub lazytime: bool,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            ro: false,
            allow_other: false,
            default_permissions: true,
            fsname: "fuse4fs".into(),
            subtype: "fuse4fs".into(),
            max_read: None,
            force_fusermount: false,
            nosuid: true,
            nodev: true,
            noexec: false,
            sync: false,
            dirsync: false,
            atime: AtimeMode::Relative,
            nodiratime: false,
            lazytime: false,
        }
    }
}

/// Mount and unmount failures.
#[derive(Debug, Error)]
pub enum MountError {
    #[error("mountpoint {0} does not exist")]
    MountpointMissing(PathBuf),
    #[error("mountpoint {0} is not a directory")]
    NotADirectory(PathBuf),
    #[error("cannot stat mountpoint {0}: {1}")]
    Mountpoint(PathBuf, io::Error),
    #[error("invalid mount option (contains ',' or NUL): {0:?}")]
    BadOption(String),
    #[error("cannot open /dev/fuse: {0}")]
    DeviceOpen(io::Error),
    #[error("mount(2) of {path} failed: {errno}")]
    MountFailed { path: PathBuf, errno: io::Error },
    #[error("umount2 of {path} failed: {errno}")]
    UnmountFailed { path: PathBuf, errno: io::Error },
    #[error("{FUSERMOUNT} not found in PATH")]
    FusermountNotFound,
    #[error("{FUSERMOUNT} failed ({status}): {stderr}")]
    FusermountFailed {
        status: std::process::ExitStatus,
        stderr: String,
    },
    #[error("{FUSERMOUNT} did not pass a /dev/fuse fd back")]
    NoFdReceived,
    #[error("I/O error talking to {FUSERMOUNT}: {0}")]
    Io(#[from] io::Error),
    /// A failure inside a user namespace, where the setuid fusermount3
    /// cannot help: only mount(2) with CAP_SYS_ADMIN there can mount.
    #[error(
        "{0} (in a user namespace {FUSERMOUNT} cannot act as root; mount(2) needs root with \
         CAP_SYS_ADMIN in a user namespace that owns the mount namespace: `unshare -Urm`, or \
         bwrap --unshare-user --uid 0 --cap-add CAP_SYS_ADMIN)"
    )]
    InUserNamespace(Box<MountError>),
}

fn check_mountpoint(mountpoint: &Path) -> Result<(), MountError> {
    match std::fs::metadata(mountpoint) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(MountError::NotADirectory(mountpoint.to_path_buf())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            Err(MountError::MountpointMissing(mountpoint.to_path_buf()))
        }
        Err(e) => Err(MountError::Mountpoint(mountpoint.to_path_buf(), e)),
    }
}

fn check_value(v: &str) -> Result<(), MountError> {
    if v.contains(',') || v.contains('\0') || v.is_empty() {
        return Err(MountError::BadOption(v.to_string()));
    }
    Ok(())
}

/// Mounts a FUSE filesystem at `mountpoint` and returns the `/dev/fuse`
/// fd for [`Session::new`](super::session::Session::new). Uses mount(2)
/// when running as root (falling back to fusermount3 on EPERM), else
/// fusermount3. Root of a user namespace that owns its mount namespace
/// (`unshare -Urm`) mounts with mount(2) as well: FUSE allows it there.
pub fn mount(mountpoint: &Path, opts: &MountOptions) -> Result<OwnedFd, MountError> {
    check_mountpoint(mountpoint)?;
    check_value(&opts.fsname)?;
    check_value(&opts.subtype)?;
    if !opts.force_fusermount && rustix::process::geteuid().is_root() {
        match mount_privileged(mountpoint, opts) {
            Err(MountError::MountFailed { errno, .. })
                if errno.raw_os_error() == Some(libc::EPERM) =>
            {
                debug!("mount(2) denied, trying {FUSERMOUNT}");
            }
            r => return r,
        }
    }
    mount_fusermount(mountpoint, opts).map_err(|e| {
        if IdMap::own_uids().is_initial() {
            e
        } else {
            MountError::InUserNamespace(Box::new(e))
        }
    })
}

/// The `data` string for mount(2).
pub fn kernel_mount_data(fd: i32, uid: u32, gid: u32, opts: &MountOptions) -> String {
    let mut data = format!("fd={fd},rootmode=40000,user_id={uid},group_id={gid}");
    if opts.allow_other {
        data.push_str(",allow_other");
    }
    if opts.default_permissions {
        data.push_str(",default_permissions");
    }
    if let Some(n) = opts.max_read {
        data.push_str(&format!(",max_read={n}"));
    }
    data
}

/// The mount(2) flags (MS_*) the options ask for.
pub fn mount_flags(opts: &MountOptions) -> MountFlags {
    let mut flags = MountFlags::empty();
    for (on, f) in [
        (opts.ro, MountFlags::RDONLY),
        (opts.nosuid, MountFlags::NOSUID),
        (opts.nodev, MountFlags::NODEV),
        (opts.noexec, MountFlags::NOEXEC),
        (opts.sync, MountFlags::SYNCHRONOUS),
        (opts.dirsync, MountFlags::DIRSYNC),
        (opts.nodiratime, MountFlags::NODIRATIME),
        (opts.lazytime, MountFlags::LAZYTIME),
    ] {
        if on {
            flags |= f;
        }
    }
    flags |= match opts.atime {
        AtimeMode::Never => MountFlags::NOATIME,
        AtimeMode::Relative => MountFlags::RELATIME,
        AtimeMode::Always => MountFlags::STRICTATIME,
    };
    flags
}

/// The `-o` option string for fusermount3 (which ignores `suid` and `dev`
/// from users other than root, and forces nosuid,nodev for them).
pub fn fusermount_options(opts: &MountOptions) -> String {
    let word = |on: bool, yes: &str, no: &str| if on { yes } else { no }.to_string();
    let mut o = vec![
        word(opts.ro, "ro", "rw"),
        word(opts.nosuid, "nosuid", "suid"),
        word(opts.nodev, "nodev", "dev"),
        word(opts.noexec, "noexec", "exec"),
        word(opts.sync, "sync", "async"),
    ];
    // Not strictatime, nodiratime or lazytime: fusermount3 (3.14) refuses
    // them as unknown. The server applies them all the same; only the
    // kernel's flag (and /proc/mounts) is missing.
    for (on, name) in [
        (opts.atime == AtimeMode::Never, "noatime"),
        (opts.dirsync, "dirsync"),
    ] {
        if on {
            o.push(name.into());
        }
    }
    o.push(format!("fsname={}", opts.fsname));
    o.push(format!("subtype={}", opts.subtype));
    if opts.allow_other {
        o.push("allow_other".into());
    }
    if opts.default_permissions {
        o.push("default_permissions".into());
    }
    if let Some(n) = opts.max_read {
        o.push(format!("max_read={n}"));
    }
    o.join(",")
}

fn mount_privileged(mountpoint: &Path, opts: &MountOptions) -> Result<OwnedFd, MountError> {
    let fd = rustix::fs::open("/dev/fuse", OFlags::RDWR | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| MountError::DeviceOpen(e.into()))?;
    let uid = rustix::process::getuid().as_raw();
    let gid = rustix::process::getgid().as_raw();
    let data = CString::new(kernel_mount_data(fd.as_raw_fd(), uid, gid, opts))
        .expect("no NUL in mount data");
    let flags = mount_flags(opts);
    let fstype = format!("fuse.{}", opts.subtype);
    rustix::mount::mount(
        opts.fsname.as_str(),
        mountpoint,
        fstype.as_str(),
        flags,
        data.as_c_str(),
    )
    .map_err(|e| MountError::MountFailed {
        path: mountpoint.to_path_buf(),
        errno: e.into(),
    })?;
    debug!(mountpoint = %mountpoint.display(), "mounted with mount(2)");
    Ok(fd)
}

fn spawn_error(e: io::Error) -> MountError {
    if e.kind() == io::ErrorKind::NotFound {
        MountError::FusermountNotFound
    } else {
        MountError::Io(e)
    }
}

fn mount_fusermount(mountpoint: &Path, opts: &MountOptions) -> Result<OwnedFd, MountError> {
    let (ours, theirs) = rustix::net::socketpair(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .map_err(io::Error::from)?;
    let their_raw = theirs.as_raw_fd();
    let mut cmd = Command::new(FUSERMOUNT);
    cmd.arg("-o")
        .arg(fusermount_options(opts))
        .arg("--")
        .arg(mountpoint)
        .env("_FUSE_COMMFD", their_raw.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: the closure only calls fcntl(2), which is async-signal-safe,
    // on an fd number that stays open in the child (we hold `theirs` until
    // after spawn). It clears FD_CLOEXEC so fusermount3 inherits the socket.
    unsafe {
        cmd.pre_exec(move || {
            if libc::fcntl(their_raw, libc::F_SETFD, 0) == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(spawn_error)?;
    // Our copy must go, or recvmsg would never see EOF if fusermount3 fails.
    drop(theirs);

    let received = receive_fd(&ours);
    let output = child.wait_with_output()?;
    if !output.status.success() {
        return Err(MountError::FusermountFailed {
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    let fd = received?.ok_or(MountError::NoFdReceived)?;
    debug!(mountpoint = %mountpoint.display(), "mounted with {FUSERMOUNT}");
    Ok(fd)
}

/// Receives one fd sent with SCM_RIGHTS; `None` if the peer closed first.
fn receive_fd(sock: &OwnedFd) -> Result<Option<OwnedFd>, MountError> {
    let mut byte = [0u8; 1];
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    loop {
        let mut iov = [IoSliceMut::new(&mut byte)];
        match rustix::net::recvmsg(sock, &mut iov, &mut control, RecvFlags::CMSG_CLOEXEC) {
            Ok(_) => break,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(io::Error::from(e).into()),
        }
    }
    let mut fd = None;
    for msg in control.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = msg {
            for f in fds {
                // Keep the first; any extra fds are closed on drop.
                if fd.is_none() {
                    fd = Some(f);
                }
            }
        }
    }
    Ok(fd)
}

/// Unmounts lazily: umount2(MNT_DETACH) as root, else `fusermount3 -u -z`.
pub fn unmount(mountpoint: &Path) -> Result<(), MountError> {
    if rustix::process::geteuid().is_root() {
        match rustix::mount::unmount(mountpoint, UnmountFlags::DETACH) {
            Ok(()) => return Ok(()),
            Err(rustix::io::Errno::PERM) => {}
            Err(e) => {
                return Err(MountError::UnmountFailed {
                    path: mountpoint.to_path_buf(),
                    errno: e.into(),
                });
            }
        }
    }
    unmount_fusermount(mountpoint)
}

/// Unmounts lazily with `fusermount3 -u -z`.
pub fn unmount_fusermount(mountpoint: &Path) -> Result<(), MountError> {
    let output = Command::new(FUSERMOUNT)
        .arg("-u")
        .arg("-z")
        .arg("--")
        .arg(mountpoint)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(spawn_error)?;
    if !output.status.success() {
        return Err(MountError::FusermountFailed {
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_strings() {
        let o = MountOptions {
            ro: true,
            allow_other: true,
            max_read: Some(131072),
            ..Default::default()
        };
        assert_eq!(
            kernel_mount_data(5, 1000, 100, &o),
            "fd=5,rootmode=40000,user_id=1000,group_id=100,allow_other,default_permissions,max_read=131072"
        );
        assert_eq!(
            fusermount_options(&o),
            "ro,nosuid,nodev,exec,async,fsname=fuse4fs,subtype=fuse4fs,allow_other,default_permissions,max_read=131072"
        );
        let o = MountOptions {
            default_permissions: false,
            ..Default::default()
        };
        assert_eq!(
            kernel_mount_data(3, 0, 0, &o),
            "fd=3,rootmode=40000,user_id=0,group_id=0"
        );
    }

    #[test]
    fn vfs_flags() {
        let d = MountOptions::default();
        assert_eq!(
            mount_flags(&d),
            MountFlags::NOSUID | MountFlags::NODEV | MountFlags::RELATIME
        );
        let o = MountOptions {
            nosuid: false,
            nodev: false,
            noexec: true,
            sync: true,
            dirsync: true,
            atime: AtimeMode::Never,
            nodiratime: true,
            lazytime: true,
            ..Default::default()
        };
        assert_eq!(
            mount_flags(&o),
            MountFlags::NOEXEC
                | MountFlags::SYNCHRONOUS
                | MountFlags::DIRSYNC
                | MountFlags::NOATIME
                | MountFlags::NODIRATIME
                | MountFlags::LAZYTIME
        );
        assert_eq!(
            fusermount_options(&o),
            "rw,suid,dev,noexec,sync,noatime,dirsync,fsname=fuse4fs,subtype=fuse4fs,default_permissions"
        );
        let strict = MountOptions {
            atime: AtimeMode::Always,
            ..Default::default()
        };
        assert!(mount_flags(&strict).contains(MountFlags::STRICTATIME));
        assert!(!fusermount_options(&strict).contains("atime"));
    }

    #[test]
    fn mountpoint_errors() {
        let e = mount(
            Path::new("/nonexistent/fuse4fs-mp"),
            &MountOptions::default(),
        )
        .unwrap_err();
        assert!(matches!(e, MountError::MountpointMissing(_)), "{e}");
        let e = mount(Path::new("/proc/self/status"), &MountOptions::default()).unwrap_err();
        assert!(matches!(e, MountError::NotADirectory(_)), "{e}");
        let bad = MountOptions {
            fsname: "a,b".into(),
            ..Default::default()
        };
        assert!(matches!(
            mount(Path::new("/"), &bad),
            Err(MountError::BadOption(_))
        ));
    }
}
