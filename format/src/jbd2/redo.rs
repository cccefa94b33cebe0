//! fuse4fs's redo stream: the operations answered since the last durable
//! commit, each as a small record of the bytes it changed.
//!
//! Between durable commits fuse4fs logs no jbd2 transactions. The first
//! operation after a durable commit writes a pending marker (see
//! [`super::pending`]); from the next log block on, every operation
//! appends one record: for each block it changed, the byte ranges that
//! changed and their new contents. A record is written before the
//! operation's reply, so a server that dies keeps every answered change
//! in the host's page cache; our replay, in the same boot only, applies
//! the records in order on top of the last durable state. A durable
//! commit writes one ordinary jbd2 transaction holding every block the
//! records changed and points the journal superblock at it; the kernel
//! and e2fsck only ever replay such transactions.
//!
//! Layout: each log block of the stream begins with a [`StreamHeader`]
//! (so no stream block can begin with the jbd2 magic: after a machine
//! crash that lost the marker, the kernel's scan must not mistake record
//! bytes, which hold user-controlled metadata such as xattr values, for a
//! journal block); the rest of each block carries the records as one
//! byte stream. A record is a [`RecordHeader`] then, for each block it
//! changed, a [`BlockHeader`], a [`RangeHeader`] per changed range, and
//! the ranges' bytes (a few hundred bytes for a create). Records of one stream have consecutive
//! transaction ids starting at the marker's; the first record that fails
//! its magic, id or crc32c ends the stream (a torn last write, or what an
//! earlier pass round the ring left).

use zerocopy::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::ext4::csum::crc32c_raw;

/// The first field of every stream block ("F4RS").
pub const STREAM_MAGIC: u32 = 0x4634_5253;
/// The first field of every record ("F4RR").
pub const RECORD_MAGIC: u32 = 0x4634_5252;
/// Ranges closer than this are logged as one: a range header costs 4.
const MERGE_GAP: usize = 4;

/// The head of each log block of a stream.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct StreamHeader {
    pub magic: U32,
    /// The transaction id of the stream's marker.
    pub stream: U32,
}

/// Bytes at the head of each stream block.
pub const STREAM_HEADER_SIZE: usize = size_of::<StreamHeader>();

/// The head of one record (one operation).
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RecordHeader {
    pub magic: U32,
    pub tid: U32,
    /// Bytes of patches that follow.
    pub len: U32,
    /// crc32c (seed !0) of this header with `crc` zero, then the patches.
    pub crc: U32,
}

const RECORD_HEADER_SIZE: usize = size_of::<RecordHeader>();

/// The head of the changes to one filesystem block.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct BlockHeader {
    pub block: U64,
    /// Range headers that follow.
    pub ranges: U16,
    pub reserved: U16,
}

/// One changed range of a block: `len_minus_one + 1` bytes (a range is
/// never empty, and a whole 64 KiB block must fit) at `offset`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RangeHeader {
    pub offset: U16,
    pub len_minus_one: U16,
}

const RANGE_HEADER_SIZE: usize = size_of::<RangeHeader>();

/// New bytes for part of one filesystem block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch<'a> {
    pub block: u64,
    pub offset: usize,
    pub bytes: &'a [u8],
}

/// The ranges `[start, end)` where `new` differs from `old` (same length),
/// ranges closer than a patch header merged.
pub fn changed_ranges(old: &[u8], new: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    push_changed_ranges(old, new, 0, &mut out);
    out
}

/// [`changed_ranges`] of `old` and `new`, each moved by `shift`, appended
/// to `out` (a commit collects every block's ranges in one vector).
///
/// Works 64 bytes at a time: an equal stretch is one test, and a stretch
/// with differences becomes a mask of its differing bytes, whose runs are
/// found with bit operations. Walking the differing bytes one at a time
/// (as before) cost about eight instructions per byte, which for a new
/// inode (its 256 bytes differ nearly everywhere from the empty slot) and
/// a directory entry was most of a create's 10.6k instructions here.
pub fn push_changed_ranges(old: &[u8], new: &[u8], shift: usize, out: &mut Vec<(usize, usize)>) {
    debug_assert_eq!(old.len(), new.len());
    let n = old.len().min(new.len());
    // The range being extended: the next difference joins it when fewer
    // than MERGE_GAP equal bytes lie between.
    let mut open: Option<(usize, usize)> = None;
    let mut at = 0;
    while at < n {
        let len = (n - at).min(64);
        let mut mask = difference_mask(&old[at..at + len], &new[at..at + len]);
        while mask != 0 {
            let i = mask.trailing_zeros() as usize;
            // The run of differing bytes from i (zeros shift in above).
            let run = (!(mask >> i)).trailing_zeros() as usize;
            let (s, e) = (at + i, at + i + run);
            match &mut open {
                Some(o) if s - o.1 < MERGE_GAP => o.1 = e,
                _ => {
                    if let Some((os, oe)) = open.replace((s, e)) {
                        out.push((os + shift, oe + shift));
                    }
                }
            }
            mask = if i + run >= 64 {
                0
            } else {
                mask & !(((1u64 << run) - 1) << i)
            };
        }
        at += len;
    }
    if let Some((os, oe)) = open {
        out.push((os + shift, oe + shift));
    }
}

/// Bit k set where `a[k] != b[k]` (at most 64 bytes). An equal 64-byte
/// stretch is found by OR-ing the XOR of eight words, which compiles to a
/// few vector instructions (a `memcmp` call per stretch cost a create
/// 2 µs); a different one is turned into the mask eight bytes at a time.
fn difference_mask(a: &[u8], b: &[u8]) -> u64 {
    if a.len() == 64 && b.len() == 64 {
        let mut acc = 0u64;
        for (wx, wy) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
            acc |= word(wx) ^ word(wy);
        }
        if acc == 0 {
            return 0;
        }
        let mut mask = 0u64;
        for (k, (wx, wy)) in a.chunks_exact(8).zip(b.chunks_exact(8)).enumerate() {
            mask |= byte_mask(word(wx) ^ word(wy)) << (8 * k);
        }
        return mask;
    }
    a.iter()
        .zip(b)
        .enumerate()
        .fold(0u64, |m, (k, (x, y))| m | (u64::from(x != y) << k))
}

/// The eight bytes at the start of `s`, little-endian (inlined: called
/// as a function it cost more than the comparison).
#[inline(always)]
fn word(s: &[u8]) -> u64 {
    u64::from_le_bytes(s[..8].try_into().expect("eight bytes"))
}

/// Bit k set where byte k (little-endian) of `x` is not zero.
#[inline(always)]
fn byte_mask(x: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // The top bit of each byte: set if any of its bits is.
    let high = (((x & LOW7) + LOW7) | x) & !LOW7;
    // Gathers the eight top bits into the top byte: each lands at its own
    // position, so the product has no carries into it.
    (high >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

/// One record: transaction `tid` made `patches` (non-empty, inside
/// blocks of at most 64 KiB; patches of one block together).
pub fn build_record(tid: u32, patches: &[Patch<'_>]) -> Vec<u8> {
    let bytes: usize = patches.iter().map(|p| p.bytes.len()).sum();
    let mut out = Vec::with_capacity(
        RECORD_HEADER_SIZE
            + size_of::<BlockHeader>() * patches.len()
            + RANGE_HEADER_SIZE * patches.len()
            + bytes,
    );
    out.resize(RECORD_HEADER_SIZE, 0);
    for group in patches.chunk_by(|a, b| a.block == b.block) {
        for part in group.chunks(u16::MAX as usize) {
            let bh = BlockHeader {
                block: part[0].block.into(),
                ranges: (part.len() as u16).into(),
                reserved: 0.into(),
            };
            out.extend_from_slice(bh.as_bytes());
            for p in part {
                debug_assert!(!p.bytes.is_empty() && p.offset + p.bytes.len() <= 1 << 16);
                let rh = RangeHeader {
                    offset: (p.offset as u16).into(),
                    len_minus_one: ((p.bytes.len() - 1) as u16).into(),
                };
                out.extend_from_slice(rh.as_bytes());
            }
            for p in part {
                out.extend_from_slice(p.bytes);
            }
        }
    }
    let head = RecordHeader {
        magic: RECORD_MAGIC.into(),
        tid: tid.into(),
        len: ((out.len() - RECORD_HEADER_SIZE) as u32).into(),
        crc: 0.into(),
    };
    out[..RECORD_HEADER_SIZE].copy_from_slice(head.as_bytes());
    let crc = crc32c_raw(!0, &out);
    RecordHeader::mut_from_prefix(&mut out)
        .expect("the header was written above")
        .0
        .crc
        .set(crc);
    out
}

/// A record read back: its patches (blocks, offsets and bytes checked
/// against `block_size`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub tid: u32,
    pub patches: Vec<Patch<'a>>,
    /// Bytes the record takes in the stream.
    pub size: usize,
}

/// The record at the start of `bytes` if it is record `tid`, whole and
/// intact, with every patch inside a block of `block_size` bytes.
pub fn parse_record(bytes: &[u8], tid: u32, block_size: usize) -> Option<Record<'_>> {
    let (head, rest) = RecordHeader::read_from_prefix(bytes).ok()?;
    if head.magic.get() != RECORD_MAGIC || head.tid.get() != tid {
        return None;
    }
    let len = head.len.get() as usize;
    let body = rest.get(..len)?;
    let mut zeroed = head;
    zeroed.crc = 0.into();
    let crc = crc32c_raw(crc32c_raw(!0, zeroed.as_bytes()), body);
    if crc != head.crc.get() {
        return None;
    }
    let mut patches = Vec::new();
    let mut at = body;
    while !at.is_empty() {
        let (bh, rest) = BlockHeader::read_from_prefix(at).ok()?;
        let n = bh.ranges.get() as usize;
        let heads = rest.get(..n * RANGE_HEADER_SIZE)?;
        let mut data = &rest[n * RANGE_HEADER_SIZE..];
        for h in heads.chunks_exact(RANGE_HEADER_SIZE) {
            let (rh, _) = RangeHeader::read_from_prefix(h).ok()?;
            let offset = rh.offset.get() as usize;
            let len = rh.len_minus_one.get() as usize + 1;
            if offset + len > block_size {
                return None;
            }
            let bytes = data.get(..len)?;
            patches.push(Patch {
                block: bh.block.get(),
                offset,
                bytes,
            });
            data = &data[len..];
        }
        at = data;
    }
    Some(Record {
        tid,
        patches,
        size: RECORD_HEADER_SIZE + len,
    })
}

/// The stream header of a block of stream `stream`.
pub fn stream_header(stream: u32) -> [u8; STREAM_HEADER_SIZE] {
    let h = StreamHeader {
        magic: STREAM_MAGIC.into(),
        stream: stream.into(),
    };
    let mut out = [0u8; STREAM_HEADER_SIZE];
    out.copy_from_slice(h.as_bytes());
    out
}

/// Whether log block `b` is a block of stream `stream`.
pub fn is_stream_block(b: &[u8], stream: u32) -> bool {
    StreamHeader::read_from_prefix(b)
        .is_ok_and(|(h, _)| h.magic.get() == STREAM_MAGIC && h.stream.get() == stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_every_change_and_merge_close_ones() {
        let old = vec![0u8; 4096];
        let mut new = old.clone();
        new[10] = 1;
        new[13] = 1; // a gap of 2: one range
        new[20] = 1; // a gap of 6: another
        new[1000] = 2;
        new[4095] = 3;
        let r = changed_ranges(&old, &new);
        assert_eq!(r, vec![(10, 14), (20, 21), (1000, 1001), (4095, 4096)]);
        let mut patched = old.clone();
        for (s, e) in r {
            patched[s..e].copy_from_slice(&new[s..e]);
        }
        assert_eq!(patched, new);
        assert!(changed_ranges(&old, &old).is_empty());
    }

    /// A seeded xorshift64 generator: random blocks, the same every run.
    fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }

    #[test]
    fn ranges_are_exact_on_random_blocks() {
        let mut next = xorshift(0x1234_5678u64);
        for _ in 0..500 {
            let old: Vec<u8> = (0..1024).map(|_| next() as u8).collect();
            let mut new = old.clone();
            for _ in 0..(next() % 40) {
                let i = (next() % 1024) as usize;
                new[i] = next() as u8;
            }
            let mut patched = old.clone();
            for (s, e) in changed_ranges(&old, &new) {
                assert!(s < e && e <= 1024);
                patched[s..e].copy_from_slice(&new[s..e]);
            }
            assert_eq!(patched, new);
        }
    }

    /// The same ranges as the byte-by-byte definition, at every length and
    /// around the 64-byte steps of the fast scan.
    #[test]
    fn ranges_match_the_byte_by_byte_definition() {
        let reference = |old: &[u8], new: &[u8]| {
            let mut out: Vec<(usize, usize)> = Vec::new();
            for d in (0..old.len()).filter(|&d| old[d] != new[d]) {
                match out.last_mut() {
                    Some(last) if d - last.1 < MERGE_GAP => last.1 = d + 1,
                    _ => out.push((d, d + 1)),
                }
            }
            out
        };
        let mut next = xorshift(0x9e37_79b9u64);
        for len in [0usize, 1, 7, 63, 64, 65, 127, 128, 200, 4096] {
            for _ in 0..200 {
                let old: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                let mut new = old.clone();
                let changes = if next().is_multiple_of(4) {
                    next() % 200
                } else {
                    next() % 6
                };
                for _ in 0..changes {
                    if len > 0 {
                        // Often right at a step's edge.
                        let i = if next().is_multiple_of(2) {
                            (next() as usize % len.div_ceil(64)) * 64 + (next() % 3) as usize
                        } else {
                            next() as usize
                        } % len;
                        new[i] ^= 1 + (next() % 255) as u8;
                    }
                }
                assert_eq!(
                    changed_ranges(&old, &new),
                    reference(&old, &new),
                    "len {len}"
                );
            }
        }
    }

    /// The gathered mask names exactly the non-zero bytes, whatever the
    /// other bytes hold (no carry from one byte into another's bit).
    #[test]
    fn byte_mask_marks_exactly_the_non_zero_bytes() {
        let mut next = xorshift(0x51_7cc1_b727_220au64);
        for _ in 0..20_000 {
            // Random words with random bytes zeroed, and the edge values.
            let mut x = next();
            for k in 0..8 {
                if next().is_multiple_of(2) {
                    x &= !(0xffu64 << (8 * k));
                } else if next().is_multiple_of(4) {
                    x |= [0x01u64, 0x80, 0x7f, 0xff][(next() % 4) as usize] << (8 * k);
                }
            }
            let want = (0..8).fold(0u64, |m, k| {
                m | (u64::from((x >> (8 * k)) & 0xff != 0) << k)
            });
            assert_eq!(byte_mask(x), want, "{x:#018x}");
        }
        // A block that differs everywhere, and in every other byte.
        let old = vec![0u8; 4096];
        assert_eq!(changed_ranges(&old, &[1u8; 4096]), vec![(0, 4096)]);
        let alternate: Vec<u8> = (0..4096).map(|i| (i % 2) as u8).collect();
        assert_eq!(changed_ranges(&old, &alternate), vec![(1, 4096)]);
        // Appended with a shift, after what is there.
        let mut out = vec![(0, 1)];
        push_changed_ranges(&old[..100], &alternate[..100], 1000, &mut out);
        assert_eq!(out, vec![(0, 1), (1001, 1100)]);
    }

    /// The journal sizes its room on this bound.
    #[test]
    fn a_blocks_patches_never_take_more_than_its_size_plus_16() {
        let bs = 4096;
        let old = vec![0u8; bs];
        for period in 1..12 {
            for width in 1..period + 1 {
                let new: Vec<u8> = (0..bs).map(|i| u8::from(i % period < width)).collect();
                let ranges = changed_ranges(&old, &new);
                let patches: Vec<Patch<'_>> = ranges
                    .iter()
                    .map(|&(s, e)| Patch {
                        block: 1,
                        offset: s,
                        bytes: &new[s..e],
                    })
                    .collect();
                let rec = build_record(1, &patches);
                assert!(
                    rec.len() <= 16 + bs + 16,
                    "period {period} width {width}: {} bytes",
                    rec.len()
                );
            }
        }
    }

    #[test]
    fn records_round_trip_and_reject_damage() {
        let a = [1u8, 2, 3];
        let b = [9u8; 40];
        let patches = vec![
            Patch {
                block: 7,
                offset: 100,
                bytes: &a,
            },
            Patch {
                block: 1 << 40,
                offset: 0,
                bytes: &b,
            },
        ];
        let r = build_record(42, &patches);
        let back = parse_record(&r, 42, 1024).unwrap();
        assert_eq!(back.patches, patches);
        assert_eq!(back.size, r.len());
        // Another id, a flipped bit, a torn end, a patch past the block.
        assert!(parse_record(&r, 43, 1024).is_none());
        for i in [0, 5, 13, 20, r.len() - 1] {
            let mut bad = r.clone();
            bad[i] ^= 0x10;
            assert!(parse_record(&bad, 42, 1024).is_none(), "flip at {i}");
        }
        assert!(parse_record(&r[..r.len() - 1], 42, 1024).is_none());
        assert!(parse_record(&r, 42, 102).is_none());
    }

    #[test]
    fn stream_blocks_never_begin_with_the_journal_magic() {
        let h = stream_header(5);
        assert_ne!(&h[..4], &super::super::MAGIC.to_be_bytes());
        let mut blk = vec![0u8; 1024];
        blk[..STREAM_HEADER_SIZE].copy_from_slice(&h);
        assert!(is_stream_block(&blk, 5));
        assert!(!is_stream_block(&blk, 6));
    }
}
