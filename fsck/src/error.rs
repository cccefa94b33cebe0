//! What stops a check before it can finish (e2fsck's exit code 8).

use fuse4fs_format::ext4::FormatError;
use fuse4fs_format::jbd2::Jbd2Error;
use thiserror::Error;

/// An operational error: the check could not be carried out.
#[derive(Debug, Error)]
pub enum FsckError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The superblock or the group descriptors are beyond what this
    /// checker can work from.
    #[error("{0}")]
    Format(#[from] FormatError),
    #[error("journal: {0}")]
    Journal(#[from] Jbd2Error),
    /// A feature this checker does not understand: checking anyway could
    /// only produce nonsense.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A repair was needed but the device was opened read-only.
    #[error("{0}")]
    ReadOnly(String),
}

impl FsckError {
    /// An I/O error with what was being done.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        FsckError::Io {
            what: what.into(),
            source,
        }
    }
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, FsckError>;
