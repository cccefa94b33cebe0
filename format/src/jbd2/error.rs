//! Errors of the journal format and its replay.

/// What is wrong with a journal.
#[derive(Debug, thiserror::Error)]
pub enum Jbd2Error {
    #[error("journal superblock: {0}")]
    BadSuperblock(String),
    #[error("journal uses features this version cannot handle: {0}")]
    Unsupported(String),
    #[error("journal superblock checksum does not match")]
    BadSuperblockChecksum,
    #[error("journal: {0}")]
    Corrupt(String),
    #[error("journal I/O: {0}")]
    Io(#[from] std::io::Error),
}
