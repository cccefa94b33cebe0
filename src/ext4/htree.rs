//! Hashed directory index (htree) nodes: dx_root, interior nodes, their
//! checksum tail, and the search for the child that covers a hash.

use super::csum::crc32c_raw;
use super::dir::rec_len_from_disk;
use super::types::{le16, le32};
use super::{FormatError, Generation, InodeNo};

/// Offset of dx_root_info in block 0 (after the "." and ".." entries).
const ROOT_INFO_OFFSET: usize = 0x18;
/// Offset of count/limit in block 0.
const ROOT_ENTRIES_OFFSET: usize = 0x20;
/// Offset of count/limit in an interior node (after a fake empty dirent).
const NODE_ENTRIES_OFFSET: usize = 8;

/// One index entry: children from `hash` onwards live in logical block `block`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DxEntry {
    pub hash: u32,
    pub block: u32,
}

/// A parsed index node (root or interior).
#[derive(Debug, Clone)]
pub struct DxNode {
    /// Entries; the first one's hash is implicitly 0.
    pub entries: Vec<DxEntry>,
    pub limit: u16,
    /// Offset of count/limit within the block.
    pub entries_offset: usize,
}

/// The dx_root_info fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DxRootInfo {
    pub hash_version: u8,
    pub indirect_levels: u8,
}

fn parse_entries(
    b: &[u8],
    off: usize,
    csum: bool,
    what: &dyn Fn() -> String,
) -> Result<DxNode, FormatError> {
    if off + 8 > b.len() {
        return Err(FormatError::corrupt(what(), "index node too small"));
    }
    let limit = le16(b, off);
    let count = le16(b, off + 2);
    let tail = if csum { 8 } else { 0 };
    let want_limit = (b.len() - off - tail) / 8;
    if limit as usize != want_limit || count == 0 || count > limit {
        return Err(FormatError::corrupt(
            what(),
            format!("dx count {count} limit {limit} (expected limit {want_limit})"),
        ));
    }
    let mut entries = Vec::with_capacity(count as usize);
    for i in 0..count as usize {
        let o = off + 8 * i;
        let hash = if i == 0 { 0 } else { le32(b, o) };
        if i > 1 && hash < entries.last().map_or(0, |e: &DxEntry| e.hash) {
            return Err(FormatError::corrupt(what(), "dx hashes out of order"));
        }
        entries.push(DxEntry {
            hash,
            block: le32(b, o + 4),
        });
    }
    Ok(DxNode {
        entries,
        limit,
        entries_offset: off,
    })
}

/// Parses block 0 of an indexed directory.
pub fn parse_root(
    b: &[u8],
    csum: bool,
    what: &dyn Fn() -> String,
) -> Result<(DxRootInfo, DxNode), FormatError> {
    if b.len() < ROOT_ENTRIES_OFFSET + 8 {
        return Err(FormatError::corrupt(what(), "dx root too small"));
    }
    // "." must be first, ".." second with rec_len reaching the block end.
    if le16(b, 4) != 12
        || b[6] != 1
        || b[8] != b'.'
        || rec_len_from_disk(le16(b, 12 + 4), b.len()) != b.len() - 12
    {
        return Err(FormatError::corrupt(what(), "dx root without . and .."));
    }
    let info_len = b[ROOT_INFO_OFFSET + 5];
    if le32(b, ROOT_INFO_OFFSET) != 0 || info_len != 8 {
        return Err(FormatError::corrupt(what(), "bad dx_root_info"));
    }
    let info = DxRootInfo {
        hash_version: b[ROOT_INFO_OFFSET + 4],
        indirect_levels: b[ROOT_INFO_OFFSET + 6],
    };
    let node = parse_entries(b, ROOT_ENTRIES_OFFSET, csum, what)?;
    Ok((info, node))
}

/// Parses an interior index block.
pub fn parse_node(b: &[u8], csum: bool, what: &dyn Fn() -> String) -> Result<DxNode, FormatError> {
    if b.len() < 16 || le32(b, 0) != 0 || rec_len_from_disk(le16(b, 4), b.len()) != b.len() {
        return Err(FormatError::corrupt(what(), "bad dx node header"));
    }
    parse_entries(b, NODE_ENTRIES_OFFSET, csum, what)
}

/// Whether a block of an indexed directory looks like an interior node
/// (a single empty entry spanning the block).
pub fn looks_like_node(b: &[u8]) -> bool {
    b.len() >= 8
        && le32(b, 0) == 0
        && rec_len_from_disk(le16(b, 4), b.len()) == b.len()
        && b[6] == 0
}

impl DxNode {
    /// Index of the entry whose subtree covers `hash`.
    pub fn find(&self, hash: u32) -> usize {
        self.entries
            .partition_point(|e| e.hash <= hash)
            .saturating_sub(1)
    }

    /// Verifies the dx_tail checksum of a node held in `block`.
    pub fn verify_checksum(
        &self,
        seed: u32,
        ino: InodeNo,
        generation: Generation,
        block: &[u8],
    ) -> bool {
        let count = self.entries.len();
        let tail = self.entries_offset + self.limit as usize * 8;
        if tail + 8 > block.len() {
            return false;
        }
        let mut crc = crc32c_raw(seed, &ino.0.to_le_bytes());
        crc = crc32c_raw(crc, &generation.0.to_le_bytes());
        crc = crc32c_raw(crc, &block[..self.entries_offset + count * 8]);
        crc = crc32c_raw(crc, &block[tail..tail + 4]);
        crc = crc32c_raw(crc, &[0; 4]);
        crc == le32(block, tail + 4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_picks_last_entry_not_above_hash() {
        let n = DxNode {
            entries: vec![
                DxEntry { hash: 0, block: 1 },
                DxEntry {
                    hash: 100,
                    block: 2,
                },
                DxEntry {
                    hash: 200,
                    block: 3,
                },
            ],
            limit: 10,
            entries_offset: 8,
        };
        assert_eq!(n.find(0), 0);
        assert_eq!(n.find(99), 0);
        assert_eq!(n.find(100), 1);
        assert_eq!(n.find(u32::MAX), 2);
    }

    #[test]
    fn node_rejects_bad_counts() {
        let mut b = vec![0u8; 1024];
        b[4..6].copy_from_slice(&1024u16.to_le_bytes());
        b[8..10].copy_from_slice(&127u16.to_le_bytes());
        b[10..12].copy_from_slice(&1u16.to_le_bytes());
        let what = || "t".to_string();
        assert!(parse_node(&b, false, &what).is_ok());
        b[10..12].copy_from_slice(&0u16.to_le_bytes());
        assert!(parse_node(&b, false, &what).is_err());
        b[10..12].copy_from_slice(&1u16.to_le_bytes());
        assert!(parse_node(&b, true, &what).is_err()); // limit must leave room for the tail
    }
}
