//! Journal blocks other than the superblock: the common header,
//! descriptor blocks and their tags, commit blocks and revoke blocks, with
//! their checksums (v1: crc32 of the transaction in the commit block; v2/v3:
//! crc32c per block, seeded with the journal's uuid).

use zerocopy::big_endian::{U32, U64};
use zerocopy::{FromBytes, IntoBytes};

use super::layout::{
    CommitHeader, Jbd2JournalBlockTail, Jbd2JournalRevokeHeader, JournalBlockTag, JournalBlockTag3,
    JournalHeader,
};
use super::superblock::JournalSuperblock;
use super::{MAGIC, blocktype, feature, jbd2_crc};

/// Bytes of the header every journal block starts with.
pub const HEADER_SIZE: usize = size_of::<JournalHeader>();
/// Bytes of the checksum tail of descriptor and revoke blocks (v2/v3).
pub const TAIL_SIZE: usize = size_of::<Jbd2JournalBlockTail>();
/// Bytes of a revoke block's header (block header + r_count).
pub const REVOKE_HEADER_SIZE: usize = size_of::<Jbd2JournalRevokeHeader>();
/// Bytes of the journal uuid following a tag without SAME_UUID.
const UUID_SIZE: usize = 16;

/// The tail of a descriptor or revoke block.
fn block_tail(b: &[u8]) -> &Jbd2JournalBlockTail {
    Jbd2JournalBlockTail::ref_from_suffix(b)
        .expect("a block holds its tail")
        .1
}

/// Tag flags.
pub mod tag_flag {
    /// The logged copy had its first four bytes (the journal magic) zeroed.
    pub const ESCAPE: u32 = 1;
    /// No uuid follows this tag.
    pub const SAME_UUID: u32 = 2;
    pub const DELETED: u32 = 4;
    /// The last tag of the descriptor.
    pub const LAST_TAG: u32 = 8;
}

/// `h_chksum_type` of a v1 commit block.
pub const CRC32_CHKSUM: u8 = 1;

/// The header of a journal block, if it has the journal magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub blocktype: u32,
    pub sequence: u32,
}

impl Header {
    /// The header of `b`, or None when `b` does not start with the magic.
    pub fn parse(b: &[u8]) -> Option<Header> {
        let (h, _) = JournalHeader::ref_from_prefix(b).ok()?;
        (h.h_magic.get() == MAGIC).then(|| Header {
            blocktype: h.h_blocktype.get(),
            sequence: h.h_sequence.get(),
        })
    }

    pub fn write(&self, b: &mut [u8]) {
        let (h, _) = JournalHeader::mut_from_prefix(b).expect("a block holds its header");
        h.h_magic.set(MAGIC);
        h.h_blocktype.set(self.blocktype);
        h.h_sequence.set(self.sequence);
    }
}

/// How tags are laid out, from the journal's features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub block_size: usize,
    pub csum_v2: bool,
    pub csum_v3: bool,
    pub is_64bit: bool,
    pub seed: u32,
    pub uuid: [u8; 16],
}

impl Layout {
    pub fn of(sb: &JournalSuperblock) -> Layout {
        Layout {
            block_size: sb.block_size as usize,
            csum_v2: sb.has_incompat(feature::INCOMPAT_CSUM_V2),
            csum_v3: sb.has_incompat(feature::INCOMPAT_CSUM_V3),
            is_64bit: sb.has_incompat(feature::INCOMPAT_64BIT),
            seed: sb.csum_seed(),
            uuid: sb.uuid,
        }
    }

    /// Whether blocks carry crc32c checksums.
    pub fn csum(&self) -> bool {
        self.csum_v2 || self.csum_v3
    }

    /// Bytes per tag, as the kernel's `journal_tag_bytes`: a v3 tag is
    /// always 16 bytes, with or without 64-bit block numbers.
    pub fn tag_bytes(&self) -> usize {
        if self.csum_v3 {
            return size_of::<JournalBlockTag3>();
        }
        // The kernel adds two bytes for v2 beyond the struct's own
        // 16-bit t_checksum.
        let sz = size_of::<JournalBlockTag>() + if self.csum_v2 { 2 } else { 0 };
        if self.is_64bit {
            sz
        } else {
            sz - size_of::<U32>()
        }
    }

    /// Bytes at the end of descriptor and revoke blocks kept for the tail.
    pub fn tail(&self) -> usize {
        if self.csum() { TAIL_SIZE } else { 0 }
    }

    /// Bytes per revoke record.
    pub fn revoke_record(&self) -> usize {
        if self.is_64bit {
            size_of::<U64>()
        } else {
            size_of::<U32>()
        }
    }

    /// The checksum of a logged block (as written in the journal, escaped)
    /// in transaction `sequence`.
    pub fn data_checksum(&self, sequence: u32, logged: &[u8]) -> u32 {
        let c = jbd2_crc(self.seed, &sequence.to_be_bytes());
        jbd2_crc(c, logged)
    }

    /// Sets the tail checksum of a descriptor or revoke block.
    pub fn set_tail_checksum(&self, b: &mut [u8]) {
        if !self.csum() {
            return;
        }
        let tail = Jbd2JournalBlockTail::mut_from_suffix(b)
            .expect("a block holds its tail")
            .1;
        tail.t_checksum.set(0);
        let c = jbd2_crc(self.seed, b);
        Jbd2JournalBlockTail::mut_from_suffix(b)
            .expect("a block holds its tail")
            .1
            .t_checksum
            .set(c);
    }

    /// Whether a descriptor or revoke block's tail checksum matches.
    pub fn tail_checksum_ok(&self, b: &[u8]) -> bool {
        if !self.csum() {
            return true;
        }
        let mut copy = b.to_vec();
        Jbd2JournalBlockTail::mut_from_suffix(&mut copy)
            .expect("a block holds its tail")
            .1
            .t_checksum
            .set(0);
        block_tail(b).t_checksum.get() == jbd2_crc(self.seed, &copy)
    }
}

/// One descriptor tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    /// The home (filesystem) block of the logged block.
    pub block: u64,
    pub flags: u32,
    /// crc32c of the logged block (v3: 32 bits; v2: low 16 bits).
    pub checksum: u32,
}

impl Tag {
    /// Whether the logged copy was escaped.
    pub fn escaped(&self) -> bool {
        self.flags & tag_flag::ESCAPE != 0
    }

    /// Whether `logged` (the block as read from the journal) matches this
    /// tag's checksum in transaction `sequence` (always true without
    /// v2/v3 checksums).
    pub fn checksum_ok(&self, l: &Layout, sequence: u32, logged: &[u8]) -> bool {
        let c = l.data_checksum(sequence, logged);
        if l.csum_v3 {
            c == self.checksum
        } else if l.csum_v2 {
            (c & 0xFFFF) == (self.checksum & 0xFFFF)
        } else {
            true
        }
    }
}

/// The tags of a descriptor block, in order (as the kernel's count_tags and
/// replay walk them: up to LAST_TAG or the end of the usable space).
pub fn parse_tags(l: &Layout, b: &[u8]) -> Vec<Tag> {
    let tb = l.tag_bytes();
    let end = l.block_size - l.tail();
    let mut pos = HEADER_SIZE;
    let mut tags = Vec::new();
    while pos + tb <= end {
        let t = &b[pos..pos + tb];
        // v3: journal_block_tag3_t. Older: journal_block_tag_t, its
        // checksum used with v2 only, its high half with 64bit only.
        let (lo, flags, checksum, high) = if l.csum_v3 {
            let t = JournalBlockTag3::ref_from_bytes(t).expect("tag_bytes is the v3 size");
            (
                t.t_blocknr.get(),
                t.t_flags.get(),
                t.t_checksum.get(),
                t.t_blocknr_high.get(),
            )
        } else {
            let t = JournalBlockTag::read(t, tb);
            let high = if l.is_64bit {
                t.t_blocknr_high.get()
            } else {
                0
            };
            let csum = if l.csum_v2 {
                t.t_checksum.get() as u32
            } else {
                0
            };
            (t.t_blocknr.get(), t.t_flags.get() as u32, csum, high)
        };
        let mut block = lo as u64;
        if l.is_64bit {
            block |= (high as u64) << 32;
        }
        tags.push(Tag {
            block,
            flags,
            checksum,
        });
        pos += tb;
        if flags & tag_flag::SAME_UUID == 0 {
            pos += UUID_SIZE;
        }
        if flags & tag_flag::LAST_TAG != 0 {
            break;
        }
    }
    tags
}

/// How many tags fit in one descriptor block (the first one followed by
/// the 16-byte uuid).
pub fn tags_per_descriptor(l: &Layout) -> usize {
    let usable = l.block_size - HEADER_SIZE - l.tail();
    let tb = l.tag_bytes();
    if usable < tb + UUID_SIZE {
        return 0;
    }
    1 + (usable - tb - UUID_SIZE) / tb
}

/// Writes a descriptor block for transaction `sequence` holding `tags`
/// (at most [`tags_per_descriptor`]); flags SAME_UUID and LAST_TAG are set
/// here.
pub fn build_descriptor(l: &Layout, sequence: u32, tags: &[Tag]) -> Vec<u8> {
    let mut b = vec![0u8; l.block_size];
    Header {
        blocktype: blocktype::DESCRIPTOR,
        sequence,
    }
    .write(&mut b);
    let tb = l.tag_bytes();
    let mut pos = HEADER_SIZE;
    for (i, tag) in tags.iter().enumerate() {
        let mut flags = tag.flags & !(tag_flag::SAME_UUID | tag_flag::LAST_TAG);
        if i > 0 {
            flags |= tag_flag::SAME_UUID;
        }
        if i + 1 == tags.len() {
            flags |= tag_flag::LAST_TAG;
        }
        let t = &mut b[pos..pos + tb];
        if l.csum_v3 {
            let t = JournalBlockTag3::mut_from_bytes(t).expect("tag_bytes is the v3 size");
            t.t_blocknr.set(tag.block as u32);
            t.t_flags.set(flags);
            t.t_blocknr_high.set((tag.block >> 32) as u32);
            t.t_checksum.set(tag.checksum);
        } else {
            let mut raw = JournalBlockTag::read(t, tb);
            raw.t_blocknr.set(tag.block as u32);
            raw.t_checksum
                .set(if l.csum_v2 { tag.checksum as u16 } else { 0 });
            raw.t_flags.set(flags as u16);
            if l.is_64bit {
                raw.t_blocknr_high.set((tag.block >> 32) as u32);
            }
            raw.write(t, tb);
        }
        pos += tb;
        if i == 0 {
            b[pos..pos + UUID_SIZE].copy_from_slice(&l.uuid);
            pos += UUID_SIZE;
        }
    }
    l.set_tail_checksum(&mut b);
    b
}

/// The journal copy of `block`: escaped (first four bytes zeroed) when it
/// starts with the journal magic. Returns the copy and the tag flags.
pub fn escape(block: &[u8]) -> (Vec<u8>, u32) {
    let mut copy = block.to_vec();
    if let Ok((magic, _)) = U32::mut_from_prefix(&mut copy)
        && magic.get() == MAGIC
    {
        magic.set(0);
        (copy, tag_flag::ESCAPE)
    } else {
        (copy, 0)
    }
}

/// A parsed commit block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Commit {
    pub chksum_type: u8,
    pub chksum_size: u8,
    /// h_chksum[0].
    pub chksum: u32,
    pub sec: u64,
    pub nsec: u32,
}

impl Commit {
    pub fn parse(b: &[u8]) -> Commit {
        let (c, _) = CommitHeader::ref_from_prefix(b).expect("a block holds a commit header");
        Commit {
            chksum_type: c.h_chksum_type,
            chksum_size: c.h_chksum_size,
            chksum: c.h_chksum[0].get(),
            sec: c.h_commit_sec.get(),
            nsec: c.h_commit_nsec.get(),
        }
    }

    /// Whether a commit block's own v2/v3 checksum matches (always true
    /// without v2/v3 checksums).
    pub fn checksum_ok(l: &Layout, b: &[u8]) -> bool {
        if !l.csum() {
            return true;
        }
        let mut copy = b.to_vec();
        let (c, _) =
            CommitHeader::mut_from_prefix(&mut copy).expect("a block holds a commit header");
        let stored = c.h_chksum[0].get();
        c.h_chksum[0].set(0);
        stored == jbd2_crc(l.seed, &copy)
    }
}

/// Writes the commit block of transaction `sequence`, stamped with the
/// commit time.
pub fn build_commit(l: &Layout, sequence: u32, sec: u64, nsec: u32) -> Vec<u8> {
    let mut b = vec![0u8; l.block_size];
    Header {
        blocktype: blocktype::COMMIT,
        sequence,
    }
    .write(&mut b);
    let (c, _) = CommitHeader::mut_from_prefix(&mut b).expect("a block holds a commit header");
    c.h_commit_sec.set(sec);
    c.h_commit_nsec.set(nsec);
    if l.csum() {
        let crc = jbd2_crc(l.seed, &b);
        CommitHeader::mut_from_prefix(&mut b)
            .expect("a block holds a commit header")
            .0
            .h_chksum[0]
            .set(crc);
    }
    b
}

/// The block numbers a revoke block names (r_count bounded by the block,
/// as the kernel's scan_revoke_records).
pub fn parse_revoke(l: &Layout, b: &[u8]) -> Result<Vec<u64>, String> {
    let (h, _) = Jbd2JournalRevokeHeader::ref_from_prefix(b).map_err(|_| "short revoke block")?;
    let count = h.r_count.get() as usize;
    if count > l.block_size - l.tail() {
        return Err(format!("revoke block claims {count} bytes"));
    }
    let rec = l.revoke_record();
    let mut pos = REVOKE_HEADER_SIZE;
    let mut out = Vec::new();
    while pos + rec <= count {
        let r = &b[pos..pos + rec];
        out.push(if rec == size_of::<U64>() {
            U64::read_from_bytes(r).expect("8 bytes").get()
        } else {
            U32::read_from_bytes(r).expect("4 bytes").get() as u64
        });
        pos += rec;
    }
    Ok(out)
}

/// Revoke blocks of transaction `sequence` naming `blocks`.
pub fn build_revokes(l: &Layout, sequence: u32, blocks: &[u64]) -> Vec<Vec<u8>> {
    let rec = l.revoke_record();
    let per = (l.block_size - l.tail() - REVOKE_HEADER_SIZE) / rec;
    blocks
        .chunks(per.max(1))
        .map(|chunk| {
            let mut b = vec![0u8; l.block_size];
            Header {
                blocktype: blocktype::REVOKE,
                sequence,
            }
            .write(&mut b);
            let mut pos = REVOKE_HEADER_SIZE;
            for &blk in chunk {
                let r = &mut b[pos..pos + rec];
                if rec == size_of::<U64>() {
                    r.copy_from_slice(U64::new(blk).as_bytes());
                } else {
                    r.copy_from_slice(U32::new(blk as u32).as_bytes());
                }
                pos += rec;
            }
            Jbd2JournalRevokeHeader::mut_from_prefix(&mut b)
                .expect("a block holds its header")
                .0
                .r_count
                .set(pos as u32);
            l.set_tail_checksum(&mut b);
            b
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layouts() -> Vec<Layout> {
        let mut v = Vec::new();
        for (csum_v2, csum_v3) in [(false, false), (true, false), (false, true)] {
            for is_64bit in [false, true] {
                v.push(Layout {
                    block_size: 1024,
                    csum_v2,
                    csum_v3,
                    is_64bit,
                    seed: 0x1234_5678,
                    uuid: [7; 16],
                });
            }
        }
        v
    }

    #[test]
    fn tag_sizes_follow_the_kernel() {
        let sizes: Vec<usize> = layouts().iter().map(Layout::tag_bytes).collect();
        assert_eq!(sizes, vec![8, 12, 10, 14, 16, 16]);
    }

    #[test]
    fn descriptors_round_trip_in_every_layout() {
        for l in layouts() {
            let n = tags_per_descriptor(&l);
            assert!(n > 10, "{l:?}");
            let tags: Vec<Tag> = (0..n as u64)
                .map(|i| Tag {
                    block: if l.is_64bit { (1 << 33) + i } else { 1000 + i },
                    flags: if i % 3 == 0 { tag_flag::ESCAPE } else { 0 },
                    checksum: if l.csum_v3 {
                        0xDEAD_0000 + i as u32
                    } else if l.csum_v2 {
                        i as u32
                    } else {
                        0
                    },
                })
                .collect();
            let b = build_descriptor(&l, 42, &tags);
            assert_eq!(
                Header::parse(&b),
                Some(Header {
                    blocktype: blocktype::DESCRIPTOR,
                    sequence: 42
                })
            );
            assert!(l.tail_checksum_ok(&b));
            let back = parse_tags(&l, &b);
            assert_eq!(back.len(), n, "{l:?}");
            for (a, t) in back.iter().zip(&tags) {
                assert_eq!(a.block, t.block);
                assert_eq!(a.escaped(), t.escaped());
                assert_eq!(a.checksum, t.checksum);
            }
            assert!(back.last().unwrap().flags & tag_flag::LAST_TAG != 0);
        }
    }

    #[test]
    fn commit_and_revoke_checksums() {
        for l in layouts() {
            let mut c = build_commit(&l, 9, 1_700_000_000, 5);
            assert!(Commit::checksum_ok(&l, &c));
            assert_eq!(Commit::parse(&c).sec, 1_700_000_000);
            c[100] ^= 1;
            assert_eq!(Commit::checksum_ok(&l, &c), !l.csum());
            let blocks: Vec<u64> = (0..600).collect();
            let revs = build_revokes(&l, 9, &blocks);
            let mut all = Vec::new();
            for r in &revs {
                assert!(l.tail_checksum_ok(r));
                all.extend(parse_revoke(&l, r).unwrap());
            }
            assert_eq!(all, blocks);
        }
    }

    #[test]
    fn escaping_hides_the_magic() {
        let mut b = vec![0u8; 1024];
        b[..4].copy_from_slice(&MAGIC.to_be_bytes());
        b[4] = 9;
        let (copy, flags) = escape(&b);
        assert_eq!(flags, tag_flag::ESCAPE);
        assert_eq!(&copy[..5], &[0, 0, 0, 0, 9]);
        assert_eq!(escape(&copy).1, 0);
    }
}
