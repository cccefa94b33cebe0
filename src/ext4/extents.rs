//! Extent tree nodes: header, index and leaf entries, tail checksum.
//!
//! A node is either the 60-byte root in i_block or a whole block. This
//! module parses and checks one node; walking the tree is the fs layer's.

use super::csum::crc32c_raw;
use super::types::{le16, le32};
use super::{BlockNo, FormatError, Generation, InodeNo};

pub const EXTENT_MAGIC: u16 = 0xF30A;
/// Deepest tree the kernel builds (and accepts).
pub const MAX_DEPTH: u16 = 5;
/// ee_len above this marks an unwritten extent.
pub const INIT_MAX_LEN: u16 = 32768;

/// Node header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtentHeader {
    pub entries: u16,
    pub max: u16,
    pub depth: u16,
}

/// A leaf entry: `len` blocks from logical `lblk` at physical `pblk`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    pub lblk: u32,
    pub len: u16,
    pub pblk: BlockNo,
    /// Reads as zeros (preallocated, never written).
    pub unwritten: bool,
}

/// An index entry: the subtree covering logical blocks from `lblk`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtentIndex {
    pub lblk: u32,
    pub child: BlockNo,
}

/// A parsed node.
#[derive(Debug, Clone)]
pub enum ExtentNode {
    Index(ExtentHeader, Vec<ExtentIndex>),
    Leaf(ExtentHeader, Vec<Extent>),
}

impl ExtentNode {
    /// Parses a node held in `b` (60 bytes for the root, a block otherwise).
    /// `want_depth` is the depth the parent promised (None for the root).
    pub fn parse(
        b: &[u8],
        want_depth: Option<u16>,
        what: &dyn Fn() -> String,
    ) -> Result<Self, FormatError> {
        if b.len() < 12 || le16(b, 0) != EXTENT_MAGIC {
            return Err(FormatError::corrupt(what(), "bad extent header magic"));
        }
        let h = ExtentHeader {
            entries: le16(b, 2),
            max: le16(b, 4),
            depth: le16(b, 6),
        };
        let capacity = (b.len() - 12) / 12;
        if h.max as usize > capacity || h.entries > h.max {
            return Err(FormatError::corrupt(
                what(),
                format!("extent header {} of {} entries", h.entries, h.max),
            ));
        }
        if h.depth > MAX_DEPTH || want_depth.is_some_and(|d| d != h.depth) {
            return Err(FormatError::corrupt(
                what(),
                format!("extent node depth {}", h.depth),
            ));
        }
        let ents = (0..h.entries as usize).map(|i| &b[12 + 12 * i..24 + 12 * i]);
        if h.depth == 0 {
            let mut v: Vec<Extent> = Vec::with_capacity(h.entries as usize);
            for e in ents {
                let raw_len = le16(e, 4);
                let (len, unwritten) = if raw_len > INIT_MAX_LEN {
                    (raw_len - INIT_MAX_LEN, true)
                } else {
                    (raw_len, false)
                };
                let x = Extent {
                    lblk: le32(e, 0),
                    len,
                    pblk: BlockNo((le16(e, 6) as u64) << 32 | le32(e, 8) as u64),
                    unwritten,
                };
                if let Some(prev) = v.last()
                    && (prev.lblk as u64 + prev.len as u64) > x.lblk as u64
                {
                    return Err(FormatError::corrupt(
                        what(),
                        "extents overlap or are out of order",
                    ));
                }
                v.push(x);
            }
            Ok(ExtentNode::Leaf(h, v))
        } else {
            let mut v: Vec<ExtentIndex> = Vec::with_capacity(h.entries as usize);
            for e in ents {
                let x = ExtentIndex {
                    lblk: le32(e, 0),
                    child: BlockNo((le16(e, 8) as u64) << 32 | le32(e, 4) as u64),
                };
                if v.last().is_some_and(|p| p.lblk >= x.lblk) {
                    return Err(FormatError::corrupt(what(), "index entries out of order"));
                }
                v.push(x);
            }
            Ok(ExtentNode::Index(h, v))
        }
    }

    pub fn header(&self) -> &ExtentHeader {
        match self {
            ExtentNode::Index(h, _) | ExtentNode::Leaf(h, _) => h,
        }
    }
}

/// Offset of the checksum tail in an extent block with `max` entries.
fn tail_offset(max: u16) -> usize {
    12 + 12 * max as usize
}

/// Verifies the tail checksum of an extent block (metadata_csum).
pub fn verify_block_checksum(
    seed: u32,
    ino: InodeNo,
    generation: Generation,
    block: &[u8],
) -> bool {
    if block.len() < 12 {
        return false;
    }
    let off = tail_offset(le16(block, 4));
    if off + 4 > block.len() {
        return false;
    }
    block_checksum(seed, ino, generation, &block[..off]) == le32(block, off)
}

/// The checksum of the extent block bytes before the tail.
pub fn block_checksum(seed: u32, ino: InodeNo, generation: Generation, head: &[u8]) -> u32 {
    let mut crc = crc32c_raw(seed, &ino.0.to_le_bytes());
    crc = crc32c_raw(crc, &generation.0.to_le_bytes());
    crc32c_raw(crc, head)
}

/// Index of the last entry whose start is ≤ `lblk` among sorted starts.
pub fn search<T>(entries: &[T], lblk: u32, start: impl Fn(&T) -> u32) -> Option<usize> {
    let n = entries.partition_point(|e| start(e) <= lblk);
    n.checked_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(depth: u16, entries: &[[u32; 3]]) -> Vec<u8> {
        let mut b = vec![0u8; 60];
        b[0..2].copy_from_slice(&EXTENT_MAGIC.to_le_bytes());
        b[2..4].copy_from_slice(&(entries.len() as u16).to_le_bytes());
        b[4..6].copy_from_slice(&4u16.to_le_bytes());
        b[6..8].copy_from_slice(&depth.to_le_bytes());
        for (i, e) in entries.iter().enumerate() {
            let o = 12 + 12 * i;
            b[o..o + 4].copy_from_slice(&e[0].to_le_bytes());
            if depth == 0 {
                b[o + 4..o + 6].copy_from_slice(&(e[1] as u16).to_le_bytes());
                b[o + 8..o + 12].copy_from_slice(&e[2].to_le_bytes());
            } else {
                b[o + 4..o + 8].copy_from_slice(&e[2].to_le_bytes());
            }
        }
        b
    }

    fn what() -> String {
        "test".into()
    }

    #[test]
    fn parses_leaf_with_unwritten() {
        let b = node(0, &[[0, 10, 100], [20, 32768 + 5, 200]]);
        let ExtentNode::Leaf(_, v) = ExtentNode::parse(&b, None, &what).unwrap() else {
            panic!()
        };
        assert_eq!(
            v[1],
            Extent {
                lblk: 20,
                len: 5,
                pblk: BlockNo(200),
                unwritten: true
            }
        );
        assert_eq!(search(&v, 25, |e| e.lblk), Some(1));
        assert_eq!(search(&v, 0, |e| e.lblk), Some(0));
    }

    #[test]
    fn rejects_overlap_depth_mismatch_and_overflow() {
        assert!(ExtentNode::parse(&node(0, &[[0, 10, 1], [5, 1, 2]]), None, &what).is_err());
        assert!(ExtentNode::parse(&node(1, &[[0, 0, 7]]), Some(0), &what).is_err());
        let mut b = node(0, &[]);
        b[4..6].copy_from_slice(&5u16.to_le_bytes());
        assert!(ExtentNode::parse(&b, None, &what).is_err());
        assert!(ExtentNode::parse(&[0u8; 60], None, &what).is_err());
    }
}
