//! Errors found while parsing on-disk structures.

use thiserror::Error;

/// A structure on disk is not what the format allows.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FormatError {
    #[error("bad magic in {what}")]
    BadMagic { what: &'static str },
    #[error("checksum mismatch in {what}")]
    BadChecksum { what: String },
    #[error("corrupt {what}: {why}")]
    Corrupt { what: String, why: String },
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl FormatError {
    /// Shorthand for a [`FormatError::Corrupt`].
    pub fn corrupt(what: impl Into<String>, why: impl Into<String>) -> Self {
        FormatError::Corrupt {
            what: what.into(),
            why: why.into(),
        }
    }
}
