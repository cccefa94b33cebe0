//! Errors found while parsing on-disk structures.

use thiserror::Error;

pub use super::corrupt::CorruptKind;

/// A structure on disk is not what the format allows.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FormatError {
    #[error("bad magic in {what}")]
    BadMagic { what: &'static str },
    #[error("checksum mismatch in {what}")]
    BadChecksum { what: String },
    #[error("corrupt {0}")]
    Corrupt(CorruptKind),
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl From<CorruptKind> for FormatError {
    fn from(k: CorruptKind) -> Self {
        FormatError::Corrupt(k)
    }
}
