//! Errors of filesystem operations, and their one mapping to errno.

use crate::ext4::{CorruptKind, FormatError, InodeDamage, InodeNo};
use thiserror::Error;

/// Why an operation failed.
#[derive(Debug, Error)]
pub enum FsError {
    /// A structure on disk is corrupt or fails its checksum.
    #[error("{0}")]
    Format(#[from] FormatError),
    #[error("I/O error on the image: {0}")]
    Io(#[from] std::io::Error),
    /// The journal's superblock or log, as the journal format's parser
    /// and replay report it (the log's I/O errors included).
    #[error("{0}")]
    Journal(#[from] crate::jbd2::Jbd2Error),
    #[error("no such entry")]
    NotFound,
    #[error("not a directory")]
    NotDir,
    #[error("is a directory")]
    IsDir,
    /// The node names an inode that was freed or reused.
    #[error("stale file handle")]
    Stale,
    #[error("no such attribute")]
    NoAttr,
    #[error("name too long")]
    NameTooLong,
    #[error("invalid argument")]
    Invalid,
    /// No free block or inode is left.
    #[error("no space left on the filesystem")]
    NoSpace,
    /// A change was asked of a read-only filesystem.
    #[error("read-only filesystem")]
    ReadOnly,
    /// SEEK_DATA/SEEK_HOLE past the last data.
    #[error("no more data")]
    NoData,
    #[error("operation not supported")]
    Unsupported,
    #[error("entry exists")]
    Exists,
    #[error("directory not empty")]
    NotEmpty,
    #[error("operation not permitted")]
    Perm,
    #[error("permission denied")]
    Access,
    #[error("too many links")]
    TooManyLinks,
    #[error("file too large")]
    TooBig,
    /// A value does not fit the buffer or the space it must go into.
    #[error("result out of range")]
    Range,
    /// A mutation while the filesystem is marked erroneous and errors=remount-ro.
    #[error("device or resource busy")]
    Busy,
    /// fallocate on something that is not a regular file.
    #[error("no such device")]
    NoDev,
    /// The open file does not allow the operation (a copy into a file
    /// opened with O_APPEND).
    #[error("bad file descriptor")]
    BadFile,
    /// An offset plus a length wraps around.
    #[error("value too large for defined data type")]
    Overflow,
    /// A link or rename into a project-inherit directory of another
    /// project (ext4's EXDEV: the caller copies instead).
    #[error("invalid cross-device link")]
    CrossDevice,
    /// The contents of an encrypted file, whose key fuse4fs never has.
    #[error("required key not available")]
    NoKey,
    /// A quota limit refuses the change (EDQUOT: a hard limit, or a soft
    /// limit past its grace time, on a mount enforcing that type).
    #[error("disk quota exceeded")]
    QuotaExceeded,
    /// The filesystem was shut down (FS_IOC_SHUTDOWN): EIO until unmount.
    #[error("the filesystem was shut down")]
    ShutDown,
}

impl FsError {
    /// The errno a caller should see. The only place errors become errnos.
    pub fn errno(&self) -> i32 {
        match self {
            FsError::Format(FormatError::Unsupported(_)) => libc::EOPNOTSUPP,
            FsError::Format(_) | FsError::Io(_) | FsError::Journal(_) | FsError::ShutDown => {
                libc::EIO
            }
            FsError::NotFound => libc::ENOENT,
            FsError::NotDir => libc::ENOTDIR,
            FsError::IsDir => libc::EISDIR,
            FsError::Stale => libc::ESTALE,
            FsError::NoAttr => libc::ENODATA,
            FsError::NameTooLong => libc::ENAMETOOLONG,
            FsError::Invalid => libc::EINVAL,
            FsError::NoData => libc::ENXIO,
            FsError::ReadOnly => libc::EROFS,
            FsError::NoSpace => libc::ENOSPC,
            FsError::Unsupported => libc::EOPNOTSUPP,
            FsError::Exists => libc::EEXIST,
            FsError::NotEmpty => libc::ENOTEMPTY,
            FsError::Perm => libc::EPERM,
            FsError::Access => libc::EACCES,
            FsError::TooManyLinks => libc::EMLINK,
            FsError::TooBig => libc::EFBIG,
            FsError::Range => libc::ERANGE,
            FsError::Busy => libc::EBUSY,
            FsError::NoDev => libc::ENODEV,
            FsError::BadFile => libc::EBADF,
            FsError::Overflow => libc::EOVERFLOW,
            FsError::CrossDevice => libc::EXDEV,
            FsError::NoKey => libc::ENOKEY,
            FsError::QuotaExceeded => libc::EDQUOT,
        }
    }

    /// Whether the error reports damage worth a log line.
    pub fn is_corruption(&self) -> bool {
        matches!(
            self,
            FsError::Format(_) | FsError::Io(_) | FsError::Journal(_)
        )
    }
}

/// Result of a filesystem operation.
pub type Result<T> = std::result::Result<T, FsError>;

/// Damage `why` found in inode `ino`.
pub(crate) fn damaged(ino: InodeNo, why: InodeDamage) -> FsError {
    FsError::Format(FormatError::Corrupt(why.at(ino.0)))
}

/// A corruption of kind `kind`.
pub(crate) fn corrupted(kind: CorruptKind) -> FsError {
    FsError::Format(FormatError::Corrupt(kind))
}
