//! Background operation: the image lock, and (from the library's
//! `fuse::background`, shared with fuse4fs-memfs) forking away from the
//! terminal once the mount is live and unmounting on SIGINT/SIGTERM.

use std::fs::File;
use std::path::Path;

use super::CliError;
pub use fuse4fs::fuse::background::{Ready, unmount_on_signal};

/// Locks the image: shared for read-only mounts, exclusive otherwise, so
/// that no two servers write one image.
pub fn lock_image(image: &Path, ro: bool) -> Result<File, CliError> {
    let f = File::open(image).map_err(|e| CliError::Usage(format!("{}: {e}", image.display())))?;
    let how = if ro {
        rustix::fs::FlockOperation::NonBlockingLockShared
    } else {
        rustix::fs::FlockOperation::NonBlockingLockExclusive
    };
    rustix::fs::flock(&f, how).map_err(|_| {
        CliError::Usage(format!(
            "{}: image is in use by another fuse4fs",
            image.display()
        ))
    })?;
    Ok(f)
}

/// [`fuse4fs::fuse::background::daemonize`], its error as the CLI's.
pub fn daemonize(logfile: Option<&Path>) -> Result<Ready, CliError> {
    Ok(fuse4fs::fuse::background::daemonize(logfile)?)
}
