//! fscrypt without keys: what Linux shows of encrypted names and symlink
//! targets when the key is absent (fs/crypto/fname.c, hooks.c), and how a
//! name it showed finds its entry again.
//!
//! A no-key name is the base64url encoding (RFC 4648 alphabet with `-`
//! and `_`, no `=` padding) of
//! `struct fscrypt_nokey_name { u32 dirhash[2]; u8 bytes[149]; u8 sha256[32]; }`
//! cut after the ciphertext when it fits in `bytes`, else whole with the
//! SHA-256 of the ciphertext past byte 149. The dirhash words are in the
//! machine's byte order in the kernel: little-endian on every host this
//! runs on, and they are written that way here.

use super::layout::{FscryptNokeyNameHead, FscryptSymlinkData};
use super::{CorruptKind, FormatError};
use sha2::{Digest, Sha256};

/// Ciphertext bytes a no-key name carries whole (`bytes[149]`).
pub const NOKEY_BYTES: usize = 149;
/// Size of the two dirhash words at the start of a no-key name.
const DIRHASH_SIZE: usize = size_of::<FscryptNokeyNameHead>();
const SHA256_SIZE: usize = 32;
/// Decoded size of a no-key name that carries the SHA-256
/// (FSCRYPT_NOKEY_NAME_MAX: 8 + 149 + 32).
pub const NOKEY_NAME_MAX: usize = DIRHASH_SIZE + NOKEY_BYTES + SHA256_SIZE;
/// Encoded size of the longest no-key name (252, within NAME_MAX).
pub const NOKEY_NAME_MAX_ENCODED: usize = (NOKEY_NAME_MAX * 4).div_ceil(3);
/// Shortest ciphertext name: names are padded to at least one AES block
/// before encryption (FSCRYPT_FNAME_MIN_MSG_LEN).
pub const MIN_CIPHERTEXT: usize = 16;
/// The xattr name, in index 9 (`xattr::INDEX_ENCRYPTION`), holding an
/// encrypted inode's context.
pub const CONTEXT_XATTR: &[u8] = b"c";

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without padding, as fscrypt_base64url_encode.
pub fn base64url_encode(src: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity((src.len() * 4).div_ceil(3));
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in src {
        acc = (acc << 8) | b as u32;
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            out.push(ALPHABET[((acc >> bits) & 0x3f) as usize]);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (6 - bits)) & 0x3f) as usize]);
    }
    out
}

/// Decodes base64url without padding, as fscrypt_base64url_decode: None
/// for a character outside the alphabet or leftover bits that are not
/// zero (each byte string has exactly one encoding).
pub fn base64url_decode(src: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(src.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in src {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = ((acc << 6) | v) & 0xffff;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if acc & ((1 << bits) - 1) != 0 {
        return None;
    }
    Some(out)
}

/// The name the kernel shows without the key for the entry whose on-disk
/// (ciphertext) name is `ciphertext` and whose dirhash is
/// (`hash`, `minor_hash`) (see the callers for which dirhash: 0 in a
/// directory read linearly). "." and ".." are not encrypted and show as
/// they are. A ciphertext shorter than one AES block is damage (the
/// kernel's EUCLEAN).
pub fn nokey_name(ciphertext: &[u8], hash: u32, minor_hash: u32) -> Result<Vec<u8>, FormatError> {
    if ciphertext == b"." || ciphertext == b".." {
        return Ok(ciphertext.to_vec());
    }
    if ciphertext.len() < MIN_CIPHERTEXT {
        return Err(CorruptKind::EncryptedNameShort {
            len: ciphertext.len(),
        }
        .into());
    }
    let mut raw = Vec::with_capacity(NOKEY_NAME_MAX);
    raw.extend_from_slice(&hash.to_le_bytes());
    raw.extend_from_slice(&minor_hash.to_le_bytes());
    if ciphertext.len() <= NOKEY_BYTES {
        raw.extend_from_slice(ciphertext);
    } else {
        raw.extend_from_slice(&ciphertext[..NOKEY_BYTES]);
        raw.extend_from_slice(&Sha256::digest(&ciphertext[NOKEY_BYTES..]));
    }
    Ok(base64url_encode(&raw))
}

/// A no-key name decoded for a lookup (fscrypt_setup_filename without
/// the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NokeyLookup {
    /// The dirhash the name carries (0 when it came from a linear listing).
    pub hash: u32,
    pub minor_hash: u32,
    ciphertext: Ciphertext,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ciphertext {
    /// A name of at most 149 bytes, carried whole.
    Whole(Vec<u8>),
    /// The first 149 bytes and the SHA-256 of the rest.
    Abbreviated {
        prefix: Vec<u8>,
        rest_sha256: [u8; SHA256_SIZE],
    },
}

impl NokeyLookup {
    /// Decodes `name`; None when it cannot be a no-key name (the kernel's
    /// lookup then answers ENOENT).
    pub fn parse(name: &[u8]) -> Option<Self> {
        if name.len() > NOKEY_NAME_MAX_ENCODED {
            return None;
        }
        let raw = base64url_decode(name)?;
        // At least one ciphertext byte; past `bytes`, only the full size.
        let whole_max = DIRHASH_SIZE + NOKEY_BYTES;
        if raw.len() <= DIRHASH_SIZE || (raw.len() > whole_max && raw.len() != NOKEY_NAME_MAX) {
            return None;
        }
        let head = FscryptNokeyNameHead::of(&raw)?;
        let ciphertext = if raw.len() == NOKEY_NAME_MAX {
            Ciphertext::Abbreviated {
                prefix: raw[DIRHASH_SIZE..whole_max].to_vec(),
                rest_sha256: raw[whole_max..].try_into().unwrap(),
            }
        } else {
            Ciphertext::Whole(raw[DIRHASH_SIZE..].to_vec())
        };
        Some(NokeyLookup {
            hash: head.dirhash[0].get(),
            minor_hash: head.dirhash[1].get(),
            ciphertext,
        })
    }

    /// The whole ciphertext name when the no-key name carries it (the
    /// kernel then hashes it itself rather than trusting `hash`).
    pub fn whole(&self) -> Option<&[u8]> {
        match &self.ciphertext {
            Ciphertext::Whole(c) => Some(c),
            Ciphertext::Abbreviated { .. } => None,
        }
    }

    /// Whether the entry named `on_disk` is this one (fscrypt_match_name):
    /// equal bytes, or for an abbreviated name a longer ciphertext with
    /// the same first 149 bytes and the same SHA-256 of the rest.
    pub fn matches(&self, on_disk: &[u8]) -> bool {
        match &self.ciphertext {
            Ciphertext::Whole(c) => c == on_disk,
            Ciphertext::Abbreviated {
                prefix,
                rest_sha256,
            } => {
                on_disk.len() > NOKEY_BYTES
                    && on_disk[..NOKEY_BYTES] == prefix[..]
                    && Sha256::digest(&on_disk[NOKEY_BYTES..])[..] == rest_sha256[..]
            }
        }
    }
}

/// The `len` field of an encrypted symlink's `struct fscrypt_symlink_data`
/// at the start of `area`, unchecked (None: the area is too short to
/// hold it).
pub fn symlink_stored_len(area: &[u8]) -> Option<u16> {
    FscryptSymlinkData::of(area).map(|d| d.len.get())
}

/// The ciphertext of an encrypted symlink target from the area that holds
/// it (i_block, or the link's first block): `struct fscrypt_symlink_data
/// { le16 len; u8 encrypted_path[len]; }`, checked as
/// fscrypt_get_symlink does.
pub fn symlink_ciphertext(area: &[u8]) -> Result<&[u8], FormatError> {
    let bad = |kind: CorruptKind| Err(kind.into());
    if area.len() < 3 {
        return bad(CorruptKind::EncryptedSymlinkArea { len: area.len() });
    }
    let len = FscryptSymlinkData::of(area)
        .expect("3 bytes or more: checked above")
        .len
        .get() as usize;
    if len == 0 || len + 2 > area.len() {
        return bad(CorruptKind::EncryptedSymlinkLength {
            len,
            area: area.len(),
        });
    }
    Ok(&area[2..2 + len])
}

/// The target the kernel shows for an encrypted symlink without the key:
/// the no-key encoding with a zero dirhash. A target that would start
/// with a NUL is damage, as in fscrypt_get_symlink (it cannot: the
/// encoding of a zero hash starts with 'A').
pub fn nokey_symlink_target(area: &[u8]) -> Result<Vec<u8>, FormatError> {
    nokey_name(symlink_ciphertext(area)?, 0, 0)
}

/// Size of a v1 context (`struct fscrypt_context_v1`): version 1, two
/// modes, flags, an 8-byte key descriptor, the 16-byte nonce.
const CONTEXT_V1_SIZE: usize = 28;
/// Size of a v2 context: version 2, two modes, flags, the data unit size,
/// 3 reserved bytes, a 16-byte key identifier, the nonce.
pub const CONTEXT_V2_SIZE: usize = 40;
const NONCE_SIZE: usize = 16;

/// An inode's encryption context (the "c" xattr), checked as
/// fscrypt_context_is_valid: a known version and that version's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context<'a> {
    raw: &'a [u8],
}

impl<'a> Context<'a> {
    /// None for an unknown version or a size not the version's.
    pub fn parse(raw: &'a [u8]) -> Option<Self> {
        let want = match raw.first()? {
            1 => CONTEXT_V1_SIZE,
            2 => CONTEXT_V2_SIZE,
            _ => return None,
        };
        (raw.len() == want).then_some(Context { raw })
    }

    /// The per-file nonce (FS_IOC_GET_ENCRYPTION_NONCE).
    pub fn nonce(&self) -> &'a [u8] {
        &self.raw[self.raw.len() - NONCE_SIZE..]
    }

    /// The policy the context was made from, as FS_IOC_GET_ENCRYPTION_POLICY_EX
    /// returns it (fscrypt_policy_from_context): the context without its
    /// nonce, a v1 context's version byte 1 becoming policy version 0.
    pub fn policy(&self) -> Vec<u8> {
        let mut p = self.raw[..self.raw.len() - NONCE_SIZE].to_vec();
        if p[0] == 1 {
            p[0] = 0;
        }
        p
    }
}

#[cfg(test)]
mod tests;
