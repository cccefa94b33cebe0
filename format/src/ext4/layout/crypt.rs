//! fscrypt's byte formats that ext4 stores or hands out: the length
//! header of an encrypted symlink target (`struct fscrypt_symlink_data`)
//! and the head of a no-key name (`struct fscrypt_nokey_name`, before it
//! is base64url-encoded).

use zerocopy::little_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `struct fscrypt_symlink_data` up to its ciphertext
/// (`encrypted_path[len]` follows).
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct FscryptSymlinkData {
    pub len: U16,
}

/// `struct fscrypt_nokey_name` up to its bytes: the entry's dx hash and
/// minor hash (`bytes[149]` and `sha256[32]` follow).
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct FscryptNokeyNameHead {
    pub dirhash: [U32; 2],
}

const _: () = assert!(size_of::<FscryptSymlinkData>() == 2);
const _: () = assert!(size_of::<FscryptNokeyNameHead>() == 8);

impl FscryptSymlinkData {
    /// The header at the start of `area`, None when shorter.
    pub fn of(area: &[u8]) -> Option<&FscryptSymlinkData> {
        FscryptSymlinkData::ref_from_prefix(area)
            .ok()
            .map(|(d, _)| d)
    }
}

impl FscryptNokeyNameHead {
    /// The head of the decoded no-key name `raw`, None when shorter.
    pub fn of(raw: &[u8]) -> Option<&FscryptNokeyNameHead> {
        FscryptNokeyNameHead::ref_from_prefix(raw)
            .ok()
            .map(|(h, _)| h)
    }
}
