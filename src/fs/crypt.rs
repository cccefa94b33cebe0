//! Encrypted directories, files and symlinks served as the kernel's ext4
//! serves them without the key (fs/crypto, fs/ext4/dir.c and namei.c):
//! names and link targets shown in their no-key encoding
//! (format/src/ext4/crypt.rs; in encrypted and casefolded directories
//! with the hashes their entries store), entries found again by it,
//! regular files' contents refused (ENOKEY). Stat and listings work.
//! There are no keys here, and nothing is decrypted.

use super::dir::lookup::DxError;
use super::{Fs, FsError, Result};
use crate::ext4::InodeDamage;
use crate::ext4::crypt::{self, NokeyLookup};
use crate::ext4::hash::{DX_HASH_SIPHASH, HashVersion, dx_hash};
use crate::ext4::htree;
use crate::ext4::inode::{I_BLOCK_SIZE, Inode, flags};
use crate::ext4::xattr::INDEX_ENCRYPTION;
use crate::fs::dir::read::{DirEntryInfo, hash_in_dirent};

impl Fs {
    /// Whether `inode` is encrypted and its contents cannot be read here:
    /// the kernel's fscrypt_file_open answers ENOKEY for a regular file
    /// whose key is absent (directories open; symlinks are read by
    /// readlink, special files are never encrypted).
    pub fn check_key_for_open(&self, inode: &Inode) -> Result<()> {
        if inode.is_reg() && inode.has_flag(flags::ENCRYPT) {
            return Err(FsError::NoKey);
        }
        Ok(())
    }

    /// The size stat shows: for an encrypted symlink, the length of the
    /// target readlink gives (fscrypt_symlink_getattr), else i_size.
    pub fn shown_size(&self, inode: &Inode) -> u64 {
        if !(inode.is_symlink() && inode.has_flag(flags::ENCRYPT)) {
            return inode.size;
        }
        // The encoding's length depends only on the ciphertext's, which a
        // fast link keeps in i_block and a slow one in i_size (2 + length);
        // a damaged link shows i_size (its readlink says what is wrong).
        let len = if inode.is_fast_symlink(self.block_size()) {
            crypt::symlink_ciphertext(&inode.block[..I_BLOCK_SIZE])
                .map(|c| c.len())
                .ok()
        } else {
            (inode.size as usize).checked_sub(2).filter(|&n| n > 0)
        };
        match len {
            Some(n) if n >= crypt::MIN_CIPHERTEXT => nokey_len(n) as u64,
            _ => inode.size,
        }
    }

    /// The encryption context of `inode` as the kernel's ext4_get_context
    /// reads it: NoAttr (ENODATA) without one, Range (ERANGE) when it is
    /// larger than any context.
    pub fn encryption_context(&self, inode: &Inode) -> Result<Vec<u8>> {
        let entry = self
            .xattr_entries(inode)?
            .into_iter()
            .find(|e| e.index == INDEX_ENCRYPTION && e.name == crypt::CONTEXT_XATTR)
            .ok_or(FsError::NoAttr)?;
        if entry.value.len() > crypt::CONTEXT_V2_SIZE {
            return Err(FsError::Range);
        }
        Ok(entry.value)
    }

    /// readlink of an encrypted symlink: the no-key encoding of its
    /// ciphertext (fscrypt_get_symlink without the key).
    pub(crate) fn readlink_nokey(&self, inode: &Inode) -> Result<Vec<u8>> {
        let area = if inode.is_fast_symlink(self.block_size()) {
            inode.block[..I_BLOCK_SIZE].to_vec()
        } else {
            let p = self.physical_block(inode, 0)?.ok_or_else(|| {
                super::error::damaged(inode.ino, InodeDamage::SymlinkWithoutBlock)
            })?;
            self.block(p)?.to_vec()
        };
        crypt::nokey_symlink_target(&area).map_err(|e| super::xattr::read::in_inode(inode, e))
    }

    /// Lists encrypted directory `dir` as [`readdir`](Fs::readdir) does,
    /// with each name in its no-key form.
    pub(crate) fn readdir_nokey(
        &self,
        dir: &Inode,
        cookie: u64,
        mut f: impl FnMut(DirEntryInfo<'_>) -> bool,
    ) -> Result<()> {
        // Hashes stored in the entries (encrypted and casefolded) are
        // the ones the kernel puts in no-key names, whichever way it
        // reads the directory.
        let version = if hash_in_dirent(dir) {
            None
        } else {
            self.listing_hash(dir)?
        };
        let seed = self.superblock().hash_seed;
        let mut failed = None;
        self.readdir_raw(dir, cookie, |e| {
            let (hash, minor) = match (e.stored_hash, version) {
                (Some(stored), _) => stored,
                (None, Some(v)) if e.name != b"." && e.name != b".." => dx_hash(e.name, v, &seed),
                _ => (0, 0),
            };
            match crypt::nokey_name(e.name, hash, minor) {
                Ok(shown) => f(DirEntryInfo { name: &shown, ..e }),
                Err(err) => {
                    let lblk = e.next.saturating_sub(1) / self.block_size() as u64;
                    failed = Some(super::dir::read::in_dir(dir, lblk, err));
                    false
                }
            }
        })?;
        failed.map_or(Ok(()), Err)
    }

    /// The entry no-key name `name` stands for in encrypted directory
    /// `dir` (fscrypt_setup_filename and fscrypt_match_name): None when
    /// `name` cannot be a no-key name or nothing matches. Through the
    /// index, a name carrying its whole ciphertext is found by that
    /// ciphertext's hash and an abbreviated one by the dirhash it carries,
    /// as the kernel does; in an encrypted and casefolded directory every
    /// name by the hash it carries (the stored one it was listed with).
    pub(crate) fn lookup_nokey(&self, dir: &Inode, name: &[u8]) -> Result<Option<(u32, u8)>> {
        let Some(key) = NokeyLookup::parse(name) else {
            return Ok(None);
        };
        if self.is_dx(dir) {
            let seed = self.superblock().hash_seed;
            let flags = self.superblock().flags;
            let hashed = hash_in_dirent(dir);
            // dx_probe: an encrypted and casefolded directory is indexed by
            // siphash, and a no-key name brings its hash along; any other
            // pairing of index and directory is a broken index.
            let probe = |raw: u8| match (hashed, raw == DX_HASH_SIPHASH) {
                (true, true) => Ok(key.hash),
                (true, false) => Err(DxError::Bad(format!(
                    "hash version {raw} where the entries keep siphash hashes"
                ))),
                (false, true) => Err(DxError::Bad(
                    "siphash index where the entries keep no hashes".into(),
                )),
                (false, false) => {
                    let v = HashVersion::effective(raw, flags)
                        .ok_or_else(|| DxError::Bad(format!("hash version {raw}")))?;
                    Ok(match key.whole() {
                        Some(ct) => dx_hash(ct, v, &seed).0,
                        None => key.hash,
                    })
                }
            };
            match self.lookup_dx_probe(dir, probe, &|n: &[u8]| key.matches(n)) {
                Ok(hit) => return Ok(hit),
                Err(DxError::Bad(why)) => {
                    tracing::warn!(
                        "{}: htree index unusable ({why}); searching linearly",
                        dir.ino
                    );
                }
                Err(DxError::Fs(e)) => return Err(e),
            }
        }
        let mut found = None;
        self.readdir_raw(dir, 0, |e| {
            if e.name != b"." && e.name != b".." && key.matches(e.name) {
                found = Some((e.ino, e.file_type));
                return false;
            }
            true
        })?;
        Ok(found)
    }

    /// The hash version the kernel's readdir hashes a listing of `dir`
    /// with, or None when it reads it linearly (dirhash 0 in every no-key
    /// name). ext4_readdir goes through the htree code (is_dx_dir) with
    /// dir_index for an indexed directory (the root's hash version), a
    /// one-block one and an inline one (the superblock's default).
    fn listing_hash(&self, dir: &Inode) -> Result<Option<HashVersion>> {
        if !self.has_dir_index() {
            return Ok(None);
        }
        let sb = self.superblock();
        let bs = self.block_size() as u64;
        let raw = if dir.has_flag(flags::INDEX) {
            let Some(root) = self.dir_block(dir, 0)? else {
                return Ok(None);
            };
            match htree::parse_root(&root, sb.metadata_csum(), dir.ino) {
                Ok((info, _)) => info.hash_version,
                // The kernel drops a broken index and reads linearly.
                Err(_) => return Ok(None),
            }
        } else if dir.size / bs == 1 || dir.has_flag(flags::INLINE_DATA) {
            sb.def_hash_version
        } else {
            return Ok(None);
        };
        Ok(HashVersion::effective(raw, sb.flags))
    }
}

/// Length of the no-key encoding of a ciphertext of `n` bytes.
fn nokey_len(n: usize) -> usize {
    let raw = if n <= crypt::NOKEY_BYTES {
        8 + n
    } else {
        crypt::NOKEY_NAME_MAX
    };
    (raw * 4).div_ceil(3)
}

#[cfg(test)]
mod tests {
    use super::nokey_len;

    /// The kernel's `ls -l` sizes of encrypted symlinks (Linux 6.18): a
    /// 32-byte ciphertext shows 54, a 320-byte one 252, a 149-byte one the
    /// longest whole form.
    #[test]
    fn encoded_lengths_are_the_kernels_sizes() {
        assert_eq!(nokey_len(32), 54);
        assert_eq!(nokey_len(320), 252);
        assert_eq!(nokey_len(149), 210);
        assert_eq!(nokey_len(150), 252);
        for n in [16, 17, 100, 149, 150, 4000] {
            let name = crate::ext4::crypt::nokey_name(&vec![1; n], 5, 6).unwrap();
            assert_eq!(name.len(), nokey_len(n), "{n}");
        }
    }
}
