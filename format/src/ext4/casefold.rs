//! Case-insensitive names (incompat `casefold`), as the kernel's
//! fs/unicode and e2fsprogs' lib/ext2fs/nls_utf8.c.
//!
//! A directory with `EXT4_CASEFOLD_FL` compares names after the "nfdicf"
//! normalisation of the encoding the superblock names (`s_encoding`; 1 is
//! UTF-8 with Unicode 12.1 tables): every code point is replaced by its
//! full case folding (CaseFolding.txt statuses C and F) or, when it has
//! none, by its canonical decomposition, recursively, and the combining
//! marks of the result are put in canonical order. Its htree hashes are
//! taken over that folded form. Names are stored as given.
//!
//! A name that is not valid UTF-8 has no folded form: it is hashed and
//! compared as raw bytes, except that with `s_encoding_flags` strict such
//! a name cannot be created.
//!
//! The tables come from the `caseless` (case folding) and
//! `unicode-normalization` (decomposition, combining classes) crates,
//! whose Unicode versions are newer than 12.1. Unicode's stability
//! policies keep the decomposition, combining class and case folding of
//! an already assigned character unchanged, so the only differences are
//! the characters assigned after 12.1: [`NEWER_THAN_12_1`] lists those
//! with a folding, decomposition or combining class, which are treated
//! as the 12.1 tables treat unassigned code points (themselves, class 0).
//! Default_Ignorable_Code_Point characters (U+200B, the variation
//! selectors, ...) map to nothing, as in the 12.1 tables e2fsprogs and
//! the kernel carry: the kernel stopped stripping them in 6.12 (commit
//! 5c26d2f1d3f5) and went back because on-disk hashes depended on it
//! (231825b2e1ff); [`IGNORABLE`] lists them.
//!
//! The test `folds_like_libext2fs` in format/tests/casefold_oracle.rs
//! compares every code point with e2fsprogs' own tables (both lists
//! were derived from that comparison).

use caseless::Caseless;
use unicode_normalization::char::{canonical_combining_class, decompose_canonical};

use super::FormatError;

/// `s_encoding` value of UTF-8 with the Unicode 12.1 tables.
pub const ENCODING_UTF8_12_1: u16 = 1;
/// `s_encoding_flags` bit: names that are not valid UTF-8 are refused.
pub const ENCODING_FLAG_STRICT: u16 = 0x0001;

/// The encoding of a casefold filesystem, from its superblock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoding {
    /// Names that are not valid UTF-8 are refused at creation (EINVAL).
    pub strict: bool,
}

impl Encoding {
    /// Checks `s_encoding` and `s_encoding_flags` as the kernel's
    /// ext4_sb_read_encoding does: only UTF-8 12.1, only the strict flag.
    pub fn from_superblock(encoding: u16, flags: u16) -> Result<Self, FormatError> {
        if encoding != ENCODING_UTF8_12_1 {
            return Err(FormatError::Unsupported(format!(
                "casefold encoding {encoding} (only 1, utf8-12.1, is known)"
            )));
        }
        if flags & !ENCODING_FLAG_STRICT != 0 {
            return Err(FormatError::Unsupported(format!(
                "casefold encoding flags 0x{flags:x}"
            )));
        }
        Ok(Encoding {
            strict: flags & ENCODING_FLAG_STRICT != 0,
        })
    }

    /// Whether `name` may be created in a casefolded directory: always,
    /// unless the encoding is strict and the name is not valid UTF-8.
    pub fn name_allowed(&self, name: &[u8]) -> bool {
        !self.strict || std::str::from_utf8(name).is_ok()
    }
}

/// The folded ("nfdicf") form of `name` as UTF-8 bytes, or None when the
/// name is not valid UTF-8 (the kernel's utf8_casefold returning
/// -EINVAL).
pub fn fold(name: &[u8]) -> Option<Vec<u8>> {
    let s = std::str::from_utf8(name).ok()?;
    let mut marks: Vec<(char, u8)> = Vec::with_capacity(name.len() + 8);
    for c in s.chars() {
        push_folded(c, &mut marks);
    }
    canonical_order(&mut marks);
    let mut out = Vec::with_capacity(marks.len() + 8);
    let mut buf = [0u8; 4];
    for (c, _) in marks.into_iter().filter(|&(c, _)| c != STOPPER) {
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
    Some(out)
}

/// Whether a directory entry called `entry` answers to `name` in a
/// casefolded directory whose caller folded `name` once into
/// `name_folded` (None when `name` is not valid UTF-8): equal bytes, or
/// equal folded forms (generic_ci_match: an invalid name on either side
/// matches only byte for byte).
pub fn matches(name: &[u8], name_folded: Option<&[u8]>, entry: &[u8]) -> bool {
    if name == entry {
        return true;
    }
    let Some(f) = name_folded else {
        return false;
    };
    if entry.is_ascii() {
        // An ASCII name folds to its ASCII lower case: no table walk for
        // the common entry while a directory is scanned.
        return f.len() == entry.len()
            && f.iter()
                .zip(entry)
                .all(|(a, b)| *a == b.to_ascii_lowercase());
    }
    fold(entry).is_some_and(|e| e == f)
}

/// Whether two names are the same in a casefolded directory.
pub fn same_name(a: &[u8], b: &[u8]) -> bool {
    matches(a, fold(a).as_deref(), b)
}

/// The bytes a casefolded directory hashes for `name`: its folded form,
/// or the name itself when it has none (ext4fs_dirhash's "opaque"
/// fallback).
pub fn hash_input(name: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    match fold(name) {
        Some(f) => std::borrow::Cow::Owned(f),
        None => std::borrow::Cow::Borrowed(name),
    }
}

/// Stands for an ignorable code point while marks are ordered; not
/// written out (names cannot hold NUL, so no real NUL is dropped).
const STOPPER: char = '\0';

/// Appends the nfdicf mapping of `c` with each code point's combining
/// class: case folding first, else the canonical decomposition, each
/// result mapped again (mkutf8data's nfdicf_decompose).
fn push_folded(c: char, out: &mut Vec<(char, u8)>) {
    if newer_than_12_1(c) {
        out.push((c, 0));
        return;
    }
    if ignorable(c) {
        // Maps to nothing, yet ends a run of marks as a starter would.
        out.push((STOPPER, 0));
        return;
    }
    let mut folded = [c; 3];
    let mut n = 0;
    for f in std::iter::once(c).default_case_fold() {
        // CaseFolding.txt maps to at most three code points.
        if n < folded.len() {
            folded[n] = f;
        }
        n += 1;
    }
    if n != 1 || folded[0] != c {
        for &f in &folded[..n.min(folded.len())] {
            push_folded(f, out);
        }
        return;
    }
    let mut parts: [char; 4] = ['\0'; 4];
    let mut n = 0;
    let mut long: Vec<char> = Vec::new();
    decompose_canonical(c, |d| {
        if n < parts.len() {
            parts[n] = d;
        } else {
            long.push(d);
        }
        n += 1;
    });
    if n == 1 && parts[0] == c {
        out.push((c, canonical_combining_class(c)));
        return;
    }
    for &d in parts.iter().take(n.min(parts.len())).chain(long.iter()) {
        push_folded(d, out);
    }
}

/// Sorts each run of combining marks (class != 0) by class, keeping the
/// order of equal classes: the Canonical Ordering Algorithm.
fn canonical_order(s: &mut [(char, u8)]) {
    let mut i = 0;
    while i < s.len() {
        if s[i].1 == 0 {
            i += 1;
            continue;
        }
        let start = i;
        while i < s.len() && s[i].1 != 0 {
            i += 1;
        }
        s[start..i].sort_by_key(|&(_, ccc)| ccc);
    }
}

/// Whether `c` is in a sorted table of inclusive ranges.
fn in_ranges(table: &[(u32, u32)], c: char) -> bool {
    let c = c as u32;
    table
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

fn newer_than_12_1(c: char) -> bool {
    in_ranges(NEWER_THAN_12_1, c)
}

fn ignorable(c: char) -> bool {
    in_ranges(IGNORABLE, c)
}

/// Code points assigned after Unicode 12.1 that the crates give a case
/// folding, a decomposition or a combining class: the 12.1 tables know
/// them as unassigned, which fold to themselves with class 0.
pub const NEWER_THAN_12_1: &[(u32, u32)] = &[
    (0x05C8, 0x05C9),
    (0x0897, 0x089F),
    (0x08CA, 0x08D2),
    (0x0C3C, 0x0C3C),
    (0x1715, 0x1715),
    (0x1ABF, 0x1AF0),
    (0x1C89, 0x1C89),
    (0x1DFA, 0x1DFA),
    (0x2C2F, 0x2C2F),
    (0xA7C0, 0xA7C0),
    (0xA7C7, 0xA7C7),
    (0xA7C9, 0xA7C9),
    (0xA7CB, 0xA7CC),
    (0xA7D0, 0xA7D0),
    (0xA7D6, 0xA7D6),
    (0xA7D8, 0xA7D8),
    (0xA7DA, 0xA7DA),
    (0xA7DC, 0xA7DC),
    (0xA7F5, 0xA7F5),
    (0xA82C, 0xA82C),
    (0x10570, 0x1057A),
    (0x1057C, 0x1058A),
    (0x1058C, 0x10592),
    (0x10594, 0x10595),
    (0x105C9, 0x105C9),
    (0x105E4, 0x105E4),
    (0x10D50, 0x10D65),
    (0x10D69, 0x10D6D),
    (0x10EAB, 0x10EAC),
    (0x10ECB, 0x10ECF),
    (0x10EF0, 0x10EFB),
    (0x10EFD, 0x10EFF),
    (0x10F82, 0x10F85),
    (0x11070, 0x11070),
    (0x11383, 0x11383),
    (0x11385, 0x11385),
    (0x1138E, 0x1138E),
    (0x11391, 0x11391),
    (0x113C5, 0x113C5),
    (0x113C7, 0x113C8),
    (0x113CE, 0x113D0),
    (0x11938, 0x11938),
    (0x1193D, 0x1193E),
    (0x11943, 0x11943),
    (0x11F41, 0x11F42),
    (0x16121, 0x16128),
    (0x1612F, 0x1612F),
    (0x16D68, 0x16D6A),
    (0x16FF0, 0x16FF1),
    (0x1D127, 0x1D128),
    (0x1D250, 0x1D252),
    (0x1D25B, 0x1D25C),
    (0x1D25F, 0x1D25F),
    (0x1D280, 0x1D281),
    (0x1E08F, 0x1E08F),
    (0x1E2AE, 0x1E2AE),
    (0x1E4EC, 0x1E4EF),
    (0x1E5EE, 0x1E5EF),
    (0x1E6E3, 0x1E6E3),
    (0x1E6E6, 0x1E6E6),
    (0x1E6EE, 0x1E6EF),
    (0x1E6F5, 0x1E6F5),
];

/// Default_Ignorable_Code_Point (Unicode 12.1): mapped to nothing.
pub const IGNORABLE: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: &str, b: &str) -> bool {
        same_name(a.as_bytes(), b.as_bytes())
    }

    #[test]
    fn case_variants_are_the_same_name() {
        assert!(same("README.txt", "readme.TXT"));
        // ß folds to "ss" (full folding), and so does capital ẞ.
        assert!(same("Straße", "STRASSE"));
        assert!(same("stra\u{1e9e}e", "strasse"));
        // Final sigma, capital and small sigma are one letter.
        assert!(same("ΣΊΣΥΦΟΣ", "σίσυφος"));
        // Precomposed and combining forms are one name.
        assert!(same("\u{e9}t\u{e9}", "E\u{301}TE\u{301}"));
        // Ignorables vanish: a zero-width space changes nothing.
        assert!(same("ab", "a\u{200b}B"));
    }

    #[test]
    fn different_names_stay_different() {
        // Dotted capital I folds to i + combining dot, dotless ı to
        // itself: neither is "i".
        assert!(!same("\u{130}", "i"));
        assert!(same("\u{130}", "i\u{307}"));
        assert!(!same("\u{131}", "i"));
        assert!(!same("a", "b"));
        assert!(!same("ss", "s"));
    }

    #[test]
    fn invalid_utf8_matches_only_itself() {
        assert_eq!(fold(b"a\xffB"), None);
        assert!(same_name(b"a\xffB", b"a\xffB"));
        assert!(!same_name(b"a\xffB", b"A\xffb"));
        assert_eq!(&*hash_input(b"a\xff"), b"a\xff");
        assert_eq!(&*hash_input(b"AB"), b"ab");
    }

    #[test]
    fn encoding_comes_from_the_superblock() {
        assert!(!Encoding::from_superblock(1, 0).unwrap().strict);
        let strict = Encoding::from_superblock(1, 1).unwrap();
        assert!(strict.strict && !strict.name_allowed(b"\xff") && strict.name_allowed(b"x"));
        assert!(Encoding::from_superblock(2, 0).is_err());
        assert!(Encoding::from_superblock(1, 2).is_err());
    }
}
