//! fuse2fs's `-o lockfile=FILE`: a file that exists while a server uses
//! the image, made (exclusively) before the image is opened and removed
//! when the server ends, so that scripts can see the mount is in use. An
//! existing file refuses the mount. A server recovering a live mount
//! (--supervise, systemd) finds the file its predecessor made and removes
//! it in its turn.

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::CliError;

/// The lock file of this server; removed on drop.
#[derive(Debug)]
pub struct LockFile {
    path: PathBuf,
}

impl LockFile {
    /// Makes `path` (mode 0400); refused if it exists.
    pub fn create(path: &Path) -> Result<LockFile, CliError> {
        let fail = |what: &str, e: std::io::Error| {
            CliError::Usage(format!("{}: {what} lockfile failed: {e}", path.display()))
        };
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o400)
            .open(path)
            .map_err(|e| fail("opening", e))?;
        // An absolute name, so that no later change of directory matters.
        match std::fs::canonicalize(path) {
            Ok(path) => Ok(LockFile { path }),
            Err(e) => {
                let _ = std::fs::remove_file(path);
                Err(fail("resolving", e))
            }
        }
    }

    /// Takes over the lock file a dead server of the same mount made (it
    /// is removed when this one ends, whether or not it still exists).
    pub fn adopt(path: &Path) -> LockFile {
        LockFile {
            path: std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
        }
    }
}

impl Drop for LockFile {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!("{}: removing lockfile failed: {e}", self.path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn made_once_and_removed_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let lock = LockFile::create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o400);
        let e = LockFile::create(&path).unwrap_err().to_string();
        assert!(
            e.contains("opening lockfile failed") && !e.contains('\n'),
            "{e}"
        );
        assert!(
            path.exists(),
            "a refused second mount leaves the first one's file"
        );
        drop(lock);
        assert!(!path.exists());
        // A recovering server removes its predecessor's.
        let first = LockFile::create(&path).unwrap();
        std::mem::forget(first);
        drop(LockFile::adopt(&path));
        assert!(!path.exists());
    }
}
