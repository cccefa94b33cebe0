//! Extent tree nodes: header, index and leaf entries, tail checksum.
//!
//! A node is either the 60-byte root in i_block or a whole block. This
//! module parses and checks one node; walking the tree is the fs layer's.

use zerocopy::FromBytes;

use super::csum::crc32c_raw;
use super::layout::{Ext4Extent, Ext4ExtentHeader, Ext4ExtentIdx, Ext4ExtentTail};
use super::{BlockNo, CorruptKind, ExtentAt, FormatError, Generation, InodeNo};

/// Bytes of the node header.
const HEADER: usize = size_of::<Ext4ExtentHeader>();
/// Bytes of one entry, leaf or index (the same size).
const ENTRY: usize = size_of::<Ext4Extent>();
const _: () = assert!(size_of::<Ext4ExtentIdx>() == ENTRY);

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
    /// `want_depth` is the depth the parent promised (None for the root);
    /// `at` names the node in the errors.
    pub fn parse(b: &[u8], want_depth: Option<u16>, at: ExtentAt) -> Result<Self, FormatError> {
        let (hdr, body) = match Ext4ExtentHeader::ref_from_prefix(b) {
            Ok((hdr, body)) if hdr.eh_magic.get() == EXTENT_MAGIC => (hdr, body),
            _ => return Err(CorruptKind::ExtentMagic { at }.into()),
        };
        let h = ExtentHeader {
            entries: hdr.eh_entries.get(),
            max: hdr.eh_max.get(),
            depth: hdr.eh_depth.get(),
        };
        let capacity = body.len() / ENTRY;
        if h.max as usize > capacity || h.entries > h.max {
            return Err(CorruptKind::ExtentEntries {
                at,
                entries: h.entries,
                max: h.max,
            }
            .into());
        }
        if h.depth > MAX_DEPTH || want_depth.is_some_and(|d| d != h.depth) {
            return Err(CorruptKind::ExtentDepth { at, depth: h.depth }.into());
        }
        if h.depth == 0 {
            let (ents, _) = <[Ext4Extent]>::ref_from_prefix_with_elems(body, h.entries as usize)
                .expect("entries fit: checked against the capacity");
            let mut v: Vec<Extent> = Vec::with_capacity(h.entries as usize);
            for e in ents {
                let raw_len = e.ee_len.get();
                let (len, unwritten) = if raw_len > INIT_MAX_LEN {
                    (raw_len - INIT_MAX_LEN, true)
                } else {
                    (raw_len, false)
                };
                let x = Extent {
                    lblk: e.ee_block.get(),
                    len,
                    pblk: BlockNo((e.ee_start_hi.get() as u64) << 32 | e.ee_start_lo.get() as u64),
                    unwritten,
                };
                if let Some(prev) = v.last()
                    && (prev.lblk as u64 + prev.len as u64) > x.lblk as u64
                {
                    return Err(CorruptKind::ExtentOrder { at }.into());
                }
                v.push(x);
            }
            Ok(ExtentNode::Leaf(h, v))
        } else {
            let (ents, _) = <[Ext4ExtentIdx]>::ref_from_prefix_with_elems(body, h.entries as usize)
                .expect("entries fit: checked against the capacity");
            let mut v: Vec<ExtentIndex> = Vec::with_capacity(h.entries as usize);
            for e in ents {
                let x = ExtentIndex {
                    lblk: e.ei_block.get(),
                    child: BlockNo((e.ei_leaf_hi.get() as u64) << 32 | e.ei_leaf_lo.get() as u64),
                };
                if v.last().is_some_and(|p| p.lblk >= x.lblk) {
                    return Err(CorruptKind::ExtentIndexOrder { at }.into());
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

    /// As [`Self::write_to`], and zeroes the free slots after the entries
    /// up to `eh_max`: a tree block that lost entries keeps no stale ones.
    pub fn write_zeroing_free_slots(&self, buf: &mut [u8]) -> Result<(), FormatError> {
        self.write_to(buf)?;
        let count = match self {
            ExtentNode::Index(_, v) => v.len(),
            ExtentNode::Leaf(_, v) => v.len(),
        };
        let max = self.header().max as usize;
        buf[HEADER + ENTRY * count..HEADER + ENTRY * max].fill(0);
        Ok(())
    }

    /// Serializes the node into `buf` (the 60-byte i_block or a whole
    /// block): header with `eh_entries` taken from the entry list and
    /// `eh_generation` 0, then the entries; unwritten extents store
    /// `len + 32768`. Bytes past the last entry (and the checksum tail)
    /// are left alone. Fails when the entries exceed `max`, `max` exceeds
    /// what `buf` holds, the depth disagrees with the node kind, or a
    /// length cannot be encoded.
    pub fn write_to(&self, buf: &mut [u8]) -> Result<(), FormatError> {
        let h = self.header();
        let count = match self {
            ExtentNode::Index(_, v) => v.len(),
            ExtentNode::Leaf(_, v) => v.len(),
        };
        if buf.len() < HEADER
            || h.max as usize > (buf.len() - HEADER) / ENTRY
            || count > h.max as usize
        {
            return Err(CorruptKind::ExtentNodeOverfull {
                count,
                max: h.max,
                len: buf.len(),
            }
            .into());
        }
        if matches!(self, ExtentNode::Leaf(..)) != (h.depth == 0) || h.depth > MAX_DEPTH {
            return Err(CorruptKind::ExtentNodeDepth { depth: h.depth }.into());
        }
        let (hdr, body) =
            Ext4ExtentHeader::mut_from_prefix(buf).expect("the header fits: checked above");
        hdr.eh_magic.set(EXTENT_MAGIC);
        hdr.eh_entries.set(count as u16);
        hdr.eh_max.set(h.max);
        hdr.eh_depth.set(h.depth);
        hdr.eh_generation.set(0);
        match self {
            ExtentNode::Leaf(_, v) => {
                for (i, x) in v.iter().enumerate() {
                    let raw_len = match (x.unwritten, x.len) {
                        (false, 1..=INIT_MAX_LEN) => x.len,
                        (true, 1..INIT_MAX_LEN) => x.len + INIT_MAX_LEN,
                        _ => {
                            return Err(CorruptKind::ExtentLength {
                                len: x.len,
                                unwritten: x.unwritten,
                            }
                            .into());
                        }
                    };
                    if x.pblk.0 >> 48 != 0 {
                        return Err(CorruptKind::ExtentBlockTooFar { block: x.pblk.0 }.into());
                    }
                    let e = Ext4Extent::mut_from_bytes(&mut body[ENTRY * i..ENTRY * (i + 1)])
                        .expect("entries fit: checked above");
                    e.ee_block.set(x.lblk);
                    e.ee_len.set(raw_len);
                    e.ee_start_hi.set((x.pblk.0 >> 32) as u16);
                    e.ee_start_lo.set(x.pblk.0 as u32);
                }
            }
            ExtentNode::Index(_, v) => {
                for (i, x) in v.iter().enumerate() {
                    if x.child.0 >> 48 != 0 {
                        return Err(CorruptKind::ExtentBlockTooFar { block: x.child.0 }.into());
                    }
                    let e = Ext4ExtentIdx::mut_from_bytes(&mut body[ENTRY * i..ENTRY * (i + 1)])
                        .expect("entries fit: checked above");
                    e.ei_block.set(x.lblk);
                    e.ei_leaf_lo.set(x.child.0 as u32);
                    e.ei_leaf_hi.set((x.child.0 >> 32) as u16);
                    e.ei_unused.set(0);
                }
            }
        }
        Ok(())
    }
}

/// Largest `eh_max` for a node of `len` bytes: 4 for the 60-byte root,
/// `(block_size - 12) / 12` for a block (the kernel leaves the slack,
/// which holds the checksum tail, past the last slot).
pub fn max_entries(len: usize) -> u16 {
    ((len.saturating_sub(HEADER)) / ENTRY) as u16
}

/// Stores the tail checksum of an extent block (metadata_csum), at
/// `12 + 12 * eh_max`: the inverse of [`verify_block_checksum`]. Returns
/// false, writing nothing, when the header's `eh_max` leaves no room
/// for the tail.
pub fn set_block_checksum(
    seed: u32,
    ino: InodeNo,
    generation: Generation,
    block: &mut [u8],
) -> bool {
    let Some(off) = tail_slot(block) else {
        return false;
    };
    let c = block_checksum(seed, ino, generation, &block[..off]);
    let (tail, _) =
        Ext4ExtentTail::mut_from_prefix(&mut block[off..]).expect("tail_slot found room");
    tail.et_checksum.set(c);
    true
}

/// Offset of the checksum tail of an extent block (after eh_max entries),
/// or None when the block is too small to hold one.
fn tail_slot(block: &[u8]) -> Option<usize> {
    let (hdr, _) = Ext4ExtentHeader::ref_from_prefix(block).ok()?;
    let off = HEADER + ENTRY * hdr.eh_max.get() as usize;
    (off + size_of::<Ext4ExtentTail>() <= block.len()).then_some(off)
}

/// Verifies the tail checksum of an extent block (metadata_csum).
pub fn verify_block_checksum(
    seed: u32,
    ino: InodeNo,
    generation: Generation,
    block: &[u8],
) -> bool {
    let Some(off) = tail_slot(block) else {
        return false;
    };
    let (tail, _) = Ext4ExtentTail::ref_from_prefix(&block[off..]).expect("tail_slot found room");
    block_checksum(seed, ino, generation, &block[..off]) == tail.et_checksum.get()
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

    /// The node the tests parse.
    const AT: ExtentAt = ExtentAt::Root { ino: InodeNo(12) };

    #[test]
    fn parses_leaf_with_unwritten() {
        let b = node(0, &[[0, 10, 100], [20, 32768 + 5, 200]]);
        let ExtentNode::Leaf(_, v) = ExtentNode::parse(&b, None, AT).unwrap() else {
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

    /// A block node written over a larger one: its free slots are zeroed
    /// up to eh_max, the checksum tail past them is left alone.
    #[test]
    fn free_slots_are_zeroed_up_to_max() {
        let mut b = vec![0xAAu8; 1024];
        let max = max_entries(b.len());
        let h = ExtentHeader {
            entries: 1,
            max,
            depth: 0,
        };
        let e = Extent {
            lblk: 3,
            len: 2,
            pblk: BlockNo(40),
            unwritten: false,
        };
        let n = ExtentNode::Leaf(h, vec![e]);
        n.write_zeroing_free_slots(&mut b).unwrap();
        let slots_end = HEADER + ENTRY * max as usize;
        assert!(b[HEADER + ENTRY..slots_end].iter().all(|&x| x == 0));
        assert!(b[slots_end..].iter().all(|&x| x == 0xAA), "the tail");
        let ExtentNode::Leaf(h2, v) = ExtentNode::parse(&b, Some(0), AT).unwrap() else {
            panic!("a leaf was written")
        };
        assert_eq!((h2, v), (h, vec![e]));
    }

    #[test]
    fn rejects_overlap_depth_mismatch_and_overflow() {
        assert!(ExtentNode::parse(&node(0, &[[0, 10, 1], [5, 1, 2]]), None, AT).is_err());
        assert!(ExtentNode::parse(&node(1, &[[0, 0, 7]]), Some(0), AT).is_err());
        let mut b = node(0, &[]);
        b[4..6].copy_from_slice(&5u16.to_le_bytes());
        assert!(ExtentNode::parse(&b, None, AT).is_err());
        assert!(ExtentNode::parse(&[0u8; 60], None, AT).is_err());
    }

    #[test]
    fn errors_name_the_node_by_its_numbers() {
        let at = ExtentAt::Block {
            ino: InodeNo(12),
            block: BlockNo(7),
        };
        let e = ExtentNode::parse(&[0u8; 1024], Some(0), at).unwrap_err();
        assert_eq!(e, CorruptKind::ExtentMagic { at }.into());
        assert_eq!(
            e.to_string(),
            "corrupt inode 12 extent block 7: bad extent header magic"
        );
        let e = ExtentNode::parse(&node(1, &[[0, 0, 7]]), Some(0), AT).unwrap_err();
        assert_eq!(
            e.to_string(),
            "corrupt inode 12 extent root: extent node depth 1"
        );
    }

    #[test]
    fn write_to_round_trips_root_and_block() {
        let b = node(0, &[[0, 10, 100], [20, 32768 + 5, 200], [30, 32768, 300]]);
        let n = ExtentNode::parse(&b, None, AT).unwrap();
        let mut out = vec![0u8; 60];
        n.write_to(&mut out).unwrap();
        assert_eq!(out, b);
        let ExtentNode::Leaf(_, v) = &n else { panic!() };
        assert!(v[1].unwritten && !v[2].unwritten && v[2].len == 32768);

        let idx = node(2, &[[0, 0, 7], [500, 0, 9]]);
        let n = ExtentNode::parse(&idx, None, AT).unwrap();
        let mut out = vec![0xEEu8; 60];
        out[36..].fill(0);
        n.write_to(&mut out).unwrap();
        assert_eq!(out, idx);

        // A full block with 48-bit block numbers, and its checksum.
        let max = max_entries(1024);
        assert_eq!(max, 84);
        let h = ExtentHeader {
            entries: max,
            max,
            depth: 0,
        };
        let ext: Vec<Extent> = (0..max as u32)
            .map(|i| Extent {
                lblk: i * 100,
                len: 1 + (i as u16 % 7),
                pblk: BlockNo(0x1234_0000_0000 + i as u64 * 3),
                unwritten: i % 3 == 0,
            })
            .collect();
        let mut blk = vec![0u8; 1024];
        ExtentNode::Leaf(h, ext.clone()).write_to(&mut blk).unwrap();
        assert!(set_block_checksum(5, InodeNo(12), Generation(77), &mut blk));
        assert!(verify_block_checksum(5, InodeNo(12), Generation(77), &blk));
        assert!(!verify_block_checksum(5, InodeNo(12), Generation(78), &blk));
        let ExtentNode::Leaf(h2, back) = ExtentNode::parse(&blk, Some(0), AT).unwrap() else {
            panic!()
        };
        assert_eq!((h2, back), (h, ext));
    }

    #[test]
    fn write_to_refuses_what_cannot_be_encoded() {
        let h = ExtentHeader {
            entries: 1,
            max: 4,
            depth: 0,
        };
        let one = |len, unwritten| {
            ExtentNode::Leaf(
                h,
                vec![Extent {
                    lblk: 0,
                    len,
                    pblk: BlockNo(1),
                    unwritten,
                }],
            )
        };
        let mut b = [0u8; 60];
        assert!(one(0, false).write_to(&mut b).is_err());
        assert!(one(32768, true).write_to(&mut b).is_err());
        assert!(one(32767, true).write_to(&mut b).is_ok());
        let big = ExtentNode::Leaf(ExtentHeader { max: 5, ..h }, vec![]);
        assert!(big.write_to(&mut b).is_err());
        let wrong_depth = ExtentNode::Index(h, vec![]);
        assert!(wrong_depth.write_to(&mut b).is_err());
        let mut tiny = [0u8; 1024];
        tiny[4..6].copy_from_slice(&85u16.to_le_bytes());
        assert!(!set_block_checksum(1, InodeNo(1), Generation(0), &mut tiny));
    }
}
