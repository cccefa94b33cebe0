//! Directories: listing their entries, looking a name up (linearly or
//! through the htree index), and adding, removing and repointing entries,
//! as the kernel keeps both sides in dir.c and namei.c.
//!
//! Case-insensitive names live here too: casefolding only changes how a
//! directory matches a name and hashes it. Encryption stays in
//! `fs::crypt`, as it also answers for regular files and symlinks.

pub(super) mod casefold;
pub(super) mod htree;
pub mod lookup;
pub mod read;
pub mod write;
