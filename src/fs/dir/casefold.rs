//! Case-insensitive directories (incompat `casefold`, inode flag
//! `EXT4_CASEFOLD_FL`): how a name is matched against entries and what
//! its htree hash is taken over, as the kernel's generic_ci_match and
//! ext4fs_dirhash. The Unicode side is crate::ext4::casefold.

use crate::ext4::casefold;
use crate::ext4::dir::{CheckedIter, DirEntryRef, find_checked, same_name};
use crate::ext4::inode::{Inode, flags};
use crate::fs::{Fs, FsError, Result};

/// A name looked up, added or removed in one directory, with its folded
/// form computed once when the directory is casefolded.
pub(crate) struct NameKey<'a> {
    name: &'a [u8],
    /// Whether the directory compares names casefolded.
    ci: bool,
    /// The folded name (None: byte comparison, also for a name that is
    /// not valid UTF-8 in a casefolded directory).
    folded: Option<Vec<u8>>,
}

impl<'a> NameKey<'a> {
    /// The key for `name` in `dir`.
    pub(crate) fn new(fs: &Fs, dir: &Inode, name: &'a [u8]) -> Self {
        let ci = is_casefolded(fs, dir);
        NameKey {
            name,
            ci,
            folded: if ci { casefold::fold(name) } else { None },
        }
    }

    /// Whether the directory entry called `entry` is this name.
    pub(crate) fn matches(&self, entry: &[u8]) -> bool {
        if !self.ci {
            return same_name(entry, self.name);
        }
        casefold::matches(self.name, self.folded.as_deref(), entry)
    }

    /// The name as given.
    pub(crate) fn name(&self) -> &'a [u8] {
        self.name
    }

    /// The bytes the directory's htree hashes for this name.
    pub(crate) fn hash_input(&self) -> &[u8] {
        self.folded.as_deref().unwrap_or(self.name)
    }

    /// Whether the directory is casefolded (lookups that miss through
    /// its index fall back to a linear search, as the kernel does since
    /// names hashed by 6.12's briefly different folding may sit in the
    /// wrong leaf).
    pub(crate) fn casefolded(&self) -> bool {
        self.ci
    }
}

/// What a leaf search looks for: a name as a directory compares it, or
/// any test of an entry's name (no-key names of an encrypted directory).
pub(crate) trait EntryMatch {
    /// Whether the entry called `entry` is the one looked for.
    fn matches(&self, entry: &[u8]) -> bool;

    /// The first live entry looked for in `region`, a leaf (its part
    /// before the checksum tail) walked whole before: see [`CheckedIter`].
    fn find_checked<'r>(&self, region: &'r [u8], block_size: usize) -> Option<DirEntryRef<'r>> {
        CheckedIter::new(region, block_size).find(|e| e.inode != 0 && self.matches(e.name))
    }
}

impl<F: Fn(&[u8]) -> bool> EntryMatch for F {
    fn matches(&self, entry: &[u8]) -> bool {
        self(entry)
    }
}

impl EntryMatch for NameKey<'_> {
    fn matches(&self, entry: &[u8]) -> bool {
        NameKey::matches(self, entry)
    }

    fn find_checked<'r>(&self, region: &'r [u8], block_size: usize) -> Option<DirEntryRef<'r>> {
        if !self.ci {
            return find_checked(region, block_size, self.name);
        }
        CheckedIter::new(region, block_size).find(|e| e.inode != 0 && self.matches(e.name))
    }
}

impl Fs {
    /// Whether directory `dir` compares names case-insensitively
    /// (casefold feature and `EXT4_CASEFOLD_FL`).
    pub fn is_casefolded_dir(&self, dir: &Inode) -> bool {
        is_casefolded(self, dir)
    }

    /// Whether any directory can be casefolded (the feature is on): when
    /// not, a caller need not load a directory to ask
    /// [`Fs::is_casefolded_dir`].
    pub fn has_casefold(&self) -> bool {
        self.casefold.is_some()
    }
}

/// Whether `dir` compares names casefolded: the flag on a filesystem
/// with the feature (the kernel ignores the flag without it).
pub(crate) fn is_casefolded(fs: &Fs, dir: &Inode) -> bool {
    dir.has_flag(flags::CASEFOLD) && fs.casefold.is_some()
}

/// The hash input of an entry name in `dir` (for leaf splits).
pub(crate) fn entry_hash_input<'n>(
    fs: &Fs,
    dir: &Inode,
    name: &'n [u8],
) -> std::borrow::Cow<'n, [u8]> {
    if is_casefolded(fs, dir) {
        casefold::hash_input(name)
    } else {
        std::borrow::Cow::Borrowed(name)
    }
}

/// Refuses a new name in a casefolded directory of a strict filesystem
/// when it is not valid UTF-8 (EINVAL, as generic_ci_validate_strict_name).
pub(crate) fn check_new_name(fs: &Fs, dir: &Inode, name: &[u8]) -> Result<()> {
    match fs.casefold {
        Some(enc) if dir.has_flag(flags::CASEFOLD) && !enc.name_allowed(name) => {
            Err(FsError::Invalid)
        }
        _ => Ok(()),
    }
}
