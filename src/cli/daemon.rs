//! Background operation: the image lock, and (from the library's
//! `fuse::background`, shared with fuse4fs-memfs) forking away from the
//! terminal once the mount is live and unmounting on SIGINT/SIGTERM.

use std::fs::File;
use std::path::Path;

use std::os::fd::AsRawFd;

use fuse4fs::fs::io::image::Region;

use super::CliError;
pub use fuse4fs::fuse::background::{Ready, unmount_on_signal};

/// Locks the image's `region`: shared for read-only mounts, exclusive
/// otherwise, so that no two servers write one filesystem. A byte-range
/// lock (open file description lock), so that two partitions of one
/// whole-disk image can be served at once, while a mount of the whole file
/// and a mount of a partition in it exclude each other.
pub fn lock_image(image: &Path, ro: bool, region: Region) -> Result<File, CliError> {
    // A write lock needs a descriptor open for writing.
    let f = File::options()
        .read(true)
        .write(!ro)
        .open(image)
        .map_err(|e| CliError::Usage(format!("{}: {e}", image.display())))?;
    // SAFETY: a zeroed flock is a valid value; every field used is set.
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    lock.l_type = if ro { libc::F_RDLCK } else { libc::F_WRLCK } as i16;
    lock.l_whence = libc::SEEK_SET as i16;
    lock.l_start = region.offset as libc::off_t;
    // 0: to the end of the file, however long it grows.
    lock.l_len = region.len.unwrap_or(0) as libc::off_t;
    // SAFETY: F_OFD_SETLK reads the flock we pass; the fd is open.
    let rc = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_OFD_SETLK, &lock) };
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        return Err(CliError::Usage(match e.raw_os_error() {
            Some(libc::EAGAIN | libc::EACCES) => {
                format!("{}: image is in use by another fuse4fs", image.display())
            }
            _ => format!("{}: locking the image: {e}", image.display()),
        }));
    }
    Ok(f)
}

/// [`fuse4fs::fuse::background::daemonize`], its error as the CLI's.
pub fn daemonize(logfile: Option<&Path>) -> Result<Ready, CliError> {
    Ok(fuse4fs::fuse::background::daemonize(logfile)?)
}
