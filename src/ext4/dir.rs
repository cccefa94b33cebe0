//! Directory entries (ext4_dir_entry_2), the leaf-block checksum tail, and
//! the file type codes.

use super::csum::crc32c_raw;
use super::types::{le16, le32};
use super::{FormatError, Generation, InodeNo};

/// Size of the checksum tail at the end of a leaf block.
pub const TAIL_SIZE: usize = 12;
const TAIL_FT: u8 = 0xDE;

/// File type codes stored in directory entries (same values as DT_* >> 0
/// after mapping below).
pub mod ft {
    pub const UNKNOWN: u8 = 0;
    pub const REG: u8 = 1;
    pub const DIR: u8 = 2;
    pub const CHRDEV: u8 = 3;
    pub const BLKDEV: u8 = 4;
    pub const FIFO: u8 = 5;
    pub const SOCK: u8 = 6;
    pub const SYMLINK: u8 = 7;
}

/// Maps an ext4 file type code to the DT_* value readdir reports.
pub fn ft_to_dtype(code: u8) -> u8 {
    match code {
        ft::REG => libc::DT_REG,
        ft::DIR => libc::DT_DIR,
        ft::CHRDEV => libc::DT_CHR,
        ft::BLKDEV => libc::DT_BLK,
        ft::FIFO => libc::DT_FIFO,
        ft::SOCK => libc::DT_SOCK,
        ft::SYMLINK => libc::DT_LNK,
        _ => libc::DT_UNKNOWN,
    }
}

/// Minimum record length for a name of `name_len` bytes.
pub fn rec_len_for(name_len: usize) -> usize {
    (8 + name_len + 3) & !3
}

/// One entry as found in a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirEntryRef<'a> {
    /// Byte offset of the entry within the buffer it was parsed from.
    pub offset: usize,
    pub inode: u32,
    pub rec_len: usize,
    pub file_type: u8,
    pub name: &'a [u8],
}

/// Decodes rec_len, including the 64 KiB-block encoding.
pub(crate) fn rec_len_from_disk(raw: u16, block_size: usize) -> usize {
    if block_size >= 65536 && (raw == 65535 || raw == 0) {
        return block_size;
    }
    if block_size >= 65536 {
        return (raw as usize & 65532) | ((raw as usize & 3) << 16);
    }
    raw as usize
}

/// Iterates over the entries of a region of directory bytes, validating
/// each record as the kernel's `ext4_check_dir_entry` does. `filetype`
/// tells whether the high byte of name_len is a file type.
pub struct DirIter<'a> {
    buf: &'a [u8],
    pos: usize,
    block_size: usize,
    max_inode: u32,
    filetype: bool,
    failed: bool,
}

impl<'a> DirIter<'a> {
    /// `buf` is one block (or an inline-data region); `block_size` is used
    /// only for the rec_len encoding.
    pub fn new(buf: &'a [u8], block_size: usize, max_inode: u32, filetype: bool) -> Self {
        DirIter {
            buf,
            pos: 0,
            block_size,
            max_inode,
            filetype,
            failed: false,
        }
    }

    /// Starts at `pos` instead of 0 (must be an entry boundary).
    pub fn starting_at(mut self, pos: usize) -> Self {
        self.pos = pos;
        self
    }
}

impl<'a> Iterator for DirIter<'a> {
    type Item = Result<DirEntryRef<'a>, FormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.buf.len() {
            return None;
        }
        let b = &self.buf[self.pos..];
        let fail = |why: String| Some(Err(FormatError::corrupt("directory entry", why)));
        if b.len() < 8 {
            self.failed = true;
            return fail(format!("truncated entry at offset {}", self.pos));
        }
        let inode = le32(b, 0);
        let rec_len = rec_len_from_disk(le16(b, 4), self.block_size);
        // Without the filetype feature the kernel still reads an 8-bit
        // name_len and ignores byte 7.
        let name_len = b[6] as usize;
        let file_type = if self.filetype { b[7] } else { 0 };
        if rec_len < 12
            || !rec_len.is_multiple_of(4)
            || rec_len < rec_len_for(name_len)
            || rec_len > b.len()
        {
            self.failed = true;
            return fail(format!(
                "rec_len {rec_len} name_len {name_len} at offset {}",
                self.pos
            ));
        }
        if inode > self.max_inode {
            self.failed = true;
            return fail(format!("inode {inode} out of range at offset {}", self.pos));
        }
        let entry = DirEntryRef {
            offset: self.pos,
            inode,
            rec_len,
            file_type,
            name: &b[8..8 + name_len],
        };
        self.pos += rec_len;
        Some(Ok(entry))
    }
}

/// Whether `block` ends in a leaf checksum tail.
pub fn has_tail(block: &[u8]) -> bool {
    let n = block.len();
    n >= TAIL_SIZE && {
        let t = &block[n - TAIL_SIZE..];
        le32(t, 0) == 0 && le16(t, 4) as usize == TAIL_SIZE && t[6] == 0 && t[7] == TAIL_FT
    }
}

/// The checksum of a leaf block (bytes before the tail).
pub fn leaf_checksum(seed: u32, ino: InodeNo, generation: Generation, block: &[u8]) -> u32 {
    let mut crc = crc32c_raw(seed, &ino.0.to_le_bytes());
    crc = crc32c_raw(crc, &generation.0.to_le_bytes());
    crc32c_raw(crc, &block[..block.len() - TAIL_SIZE])
}

/// Verifies a leaf block's tail checksum; a missing tail is an error on a
/// metadata_csum filesystem, as in the kernel.
pub fn verify_leaf(seed: u32, ino: InodeNo, generation: Generation, block: &[u8]) -> bool {
    has_tail(block) && leaf_checksum(seed, ino, generation, block) == le32(block, block.len() - 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(inode: u32, rec_len: u16, name: &[u8], ft: u8) -> Vec<u8> {
        let mut v = inode.to_le_bytes().to_vec();
        v.extend(rec_len.to_le_bytes());
        v.push(name.len() as u8);
        v.push(ft);
        v.extend(name);
        v.resize(rec_len as usize, 0);
        v
    }

    #[test]
    fn iterates_and_validates() {
        let mut b = entry(2, 12, b".", 2);
        b.extend(entry(2, 12, b"..", 2));
        b.extend(entry(12, 40, b"hello", 1));
        let v: Vec<_> = DirIter::new(&b, 1024, 100, true)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[2].name, b"hello");
        assert_eq!(v[2].offset, 24);
        let again: Vec<_> = DirIter::new(&b, 1024, 100, true).starting_at(24).collect();
        assert_eq!(again.len(), 1);
    }

    #[test]
    fn zero_rec_len_is_an_error_not_a_loop() {
        let b = entry(2, 12, b".", 2);
        let mut bad = b.clone();
        bad[4] = 0;
        let v: Vec<_> = DirIter::new(&bad, 1024, 100, true).collect();
        assert_eq!(v.len(), 1);
        assert!(v[0].is_err());
        let mut past = b;
        past[4] = 16;
        assert!(
            DirIter::new(&past, 1024, 100, true)
                .next()
                .unwrap()
                .is_err()
        );
    }

    #[test]
    fn tail_detection() {
        let mut b = vec![0u8; 1024];
        b[1012 + 4] = 12;
        b[1012 + 7] = 0xDE;
        assert!(has_tail(&b));
        let c = leaf_checksum(1, InodeNo(2), Generation(0), &b);
        b[1020..].copy_from_slice(&c.to_le_bytes());
        assert!(verify_leaf(1, InodeNo(2), Generation(0), &b));
        assert!(!verify_leaf(1, InodeNo(3), Generation(0), &b));
    }
}
