//! The quota files of the `quota` and `project` features (the kernel's
//! quota format v2, revision 1, as fs/quota/quota_tree.c and
//! quotaio_v2.h lay it out, and e2fsprogs' lib/support/quotaio_tree.c):
//! a file of 1 KiB quota blocks, a header and info in block 0, a radix
//! tree of depth 4 from block 1 (one byte of the id per level, 256 block
//! references per tree block), and data blocks holding up to 14 entries
//! of 72 bytes, one per user, group or project id.

use std::collections::{BTreeMap, HashSet};

use zerocopy::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::FormatError;

/// The quota types, in the order of their superblock fields and e2fsck's
/// numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum QuotaType {
    User = 0,
    Group = 1,
    Project = 2,
}

impl QuotaType {
    /// All three, in order.
    pub const ALL: [QuotaType; 3] = [QuotaType::User, QuotaType::Group, QuotaType::Project];

    /// dqh_magic for a file of this type.
    pub fn magic(self) -> u32 {
        match self {
            QuotaType::User => 0xD9C0_1F11,
            QuotaType::Group => 0xD9C0_1927,
            QuotaType::Project => 0xD9C0_3F14,
        }
    }

    /// The name e2fsck and quota tools use.
    pub fn name(self) -> &'static str {
        match self {
            QuotaType::User => "user",
            QuotaType::Group => "group",
            QuotaType::Project => "project",
        }
    }
}

/// dqh_version of the v2r1 format (64-bit limits).
pub const V2R1_VERSION: u32 = 1;
/// The quota block size, whatever the filesystem's (QT_BLKSIZE_BITS 10).
pub const QUOTA_BLOCK: usize = 1024;
/// Tree levels above the data blocks.
pub const TREE_DEPTH: usize = 4;
/// The tree's root block.
pub const TREE_ROOT: u32 = 1;

/// `struct v2_disk_dqheader`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct DiskHeader {
    pub dqh_magic: U32,
    pub dqh_version: U32,
}

/// `struct v2_disk_dqinfo`, right after the header.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct DiskInfo {
    /// Grace period for the block soft limit, seconds.
    pub dqi_bgrace: U32,
    /// Grace period for the inode soft limit, seconds.
    pub dqi_igrace: U32,
    pub dqi_flags: U32,
    /// Quota blocks in the file.
    pub dqi_blocks: U32,
    pub dqi_free_blk: U32,
    pub dqi_free_entry: U32,
}

/// `struct qt_disk_dqdbheader`: the start of each data block.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct DataHeader {
    pub dqdh_next_free: U32,
    pub dqdh_prev_free: U32,
    /// Entries in use in the block.
    pub dqdh_entries: U16,
    pub dqdh_pad1: U16,
    pub dqdh_pad2: U32,
}

/// `struct v2r1_disk_dqblk`: one id's limits and usage.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, PartialEq, Eq)]
#[repr(C)]
pub struct DiskDquot {
    pub dqb_id: U32,
    pub dqb_pad: U32,
    pub dqb_ihardlimit: U64,
    pub dqb_isoftlimit: U64,
    pub dqb_curinodes: U64,
    /// Limits in 1 KiB units.
    pub dqb_bhardlimit: U64,
    pub dqb_bsoftlimit: U64,
    /// Bytes in use.
    pub dqb_curspace: U64,
    pub dqb_btime: U64,
    pub dqb_itime: U64,
}

const _: () = assert!(size_of::<DiskHeader>() == 8);
const _: () = assert!(size_of::<DiskInfo>() == 24);
const _: () = assert!(size_of::<DataHeader>() == 16);
const _: () = assert!(size_of::<DiskDquot>() == 72);

/// Entries a data block holds.
pub const ENTRIES_PER_BLOCK: usize =
    (QUOTA_BLOCK - size_of::<DataHeader>()) / size_of::<DiskDquot>();

/// A parsed quota file.
#[derive(Debug, Clone)]
pub struct QuotaFile {
    pub info: DiskInfo,
    /// Every entry in use, by id.
    pub entries: BTreeMap<u32, DiskDquot>,
    /// Where each id's entry is: its byte offset in the file.
    pub offsets: BTreeMap<u32, usize>,
}

fn corrupt(why: String) -> FormatError {
    FormatError::corrupt("quota file", why)
}

fn block(data: &[u8], n: u32) -> Result<&[u8], FormatError> {
    let at = n as usize * QUOTA_BLOCK;
    data.get(at..at + QUOTA_BLOCK)
        .ok_or_else(|| corrupt(format!("block {n} is past the end ({} bytes)", data.len())))
}

impl QuotaFile {
    /// Parses the whole file `data` of type `qtype`: header, info, and
    /// every entry reachable from the tree.
    pub fn parse(data: &[u8], qtype: QuotaType) -> Result<QuotaFile, FormatError> {
        let b0 = block(data, 0)?;
        let (h, rest) = DiskHeader::read_from_prefix(b0).map_err(|_| corrupt("short".into()))?;
        if h.dqh_magic.get() != qtype.magic() {
            return Err(corrupt(format!(
                "magic 0x{:08x} is not a {} quota file's",
                h.dqh_magic.get(),
                qtype.name()
            )));
        }
        if h.dqh_version.get() != V2R1_VERSION {
            return Err(corrupt(format!("version {}", h.dqh_version.get())));
        }
        let (info, _) = DiskInfo::read_from_prefix(rest).map_err(|_| corrupt("short".into()))?;
        let mut out = QuotaFile {
            info,
            entries: BTreeMap::new(),
            offsets: BTreeMap::new(),
        };
        let mut seen = HashSet::new();
        out.walk(data, TREE_ROOT, 0, &mut seen)?;
        Ok(out)
    }

    /// Visits tree block `n` at `depth`; data blocks are read once however
    /// many references reach them (a data block holds entries of any ids:
    /// the kernel fills whichever block has room).
    fn walk(
        &mut self,
        data: &[u8],
        n: u32,
        depth: usize,
        seen: &mut HashSet<u32>,
    ) -> Result<(), FormatError> {
        let blocks = self.info.dqi_blocks.get();
        if n == 0 || n >= blocks {
            return Err(corrupt(format!("reference to block {n} of {blocks}")));
        }
        let b = block(data, n)?;
        if depth == TREE_DEPTH {
            if !seen.insert(n) {
                return Ok(());
            }
            return self.data_block(b, n);
        }
        for r in b.chunks_exact(4) {
            let r = u32::from_le_bytes(r.try_into().unwrap());
            if r != 0 {
                self.walk(data, r, depth + 1, seen)?;
            }
        }
        Ok(())
    }

    /// Sets the usage of the entry at byte `at` of the file `data` (an
    /// offset from [`QuotaFile::offsets`]).
    pub fn set_usage(
        data: &mut [u8],
        at: usize,
        bytes: u64,
        inodes: u64,
    ) -> Result<(), FormatError> {
        let raw = data
            .get_mut(at..at + size_of::<DiskDquot>())
            .ok_or_else(|| corrupt(format!("entry at {at} is past the end")))?;
        let (d, _) = DiskDquot::mut_from_prefix(raw).map_err(|_| corrupt("short".into()))?;
        d.dqb_curspace.set(bytes);
        d.dqb_curinodes.set(inodes);
        Ok(())
    }

    fn data_block(&mut self, b: &[u8], n: u32) -> Result<(), FormatError> {
        let (h, rest) = DataHeader::read_from_prefix(b).map_err(|_| corrupt("short".into()))?;
        let mut used = 0;
        let esz = size_of::<DiskDquot>();
        for (slot, raw) in rest.chunks_exact(esz).take(ENTRIES_PER_BLOCK).enumerate() {
            // An all-zero entry is free (id 0's entry has dqb_itime 1 when
            // it would otherwise be all zeros, as the kernel writes it).
            if raw.iter().all(|&c| c == 0) {
                continue;
            }
            let (d, _) = DiskDquot::read_from_prefix(raw).map_err(|_| corrupt("short".into()))?;
            used += 1;
            if self.entries.insert(d.dqb_id.get(), d).is_some() {
                return Err(corrupt(format!("id {} has two entries", d.dqb_id.get())));
            }
            let at = n as usize * QUOTA_BLOCK + size_of::<DataHeader>() + slot * esz;
            self.offsets.insert(d.dqb_id.get(), at);
        }
        if used != h.dqdh_entries.get() as usize {
            return Err(corrupt(format!(
                "data block {n} counts {} entries and holds {used}",
                h.dqdh_entries.get()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerocopy::FromZeros;

    /// A file with the given ids, each in its own path of the tree, the
    /// data blocks shared when ids share their first three bytes.
    fn build(qtype: QuotaType, ids: &[(u32, u64, u64)]) -> Vec<u8> {
        // Blocks: 0 header, 1 root, then allocated as needed.
        let mut blocks: Vec<[u8; QUOTA_BLOCK]> = vec![[0; QUOTA_BLOCK]; 2];
        for &(id, space, inodes) in ids {
            let mut at = TREE_ROOT;
            for depth in 0..TREE_DEPTH {
                let idx = ((id >> ((TREE_DEPTH - 1 - depth) * 8)) & 0xff) as usize;
                let r = u32::from_le_bytes(
                    blocks[at as usize][idx * 4..idx * 4 + 4]
                        .try_into()
                        .unwrap(),
                );
                let next = if r != 0 {
                    r
                } else {
                    blocks.push([0; QUOTA_BLOCK]);
                    let n = (blocks.len() - 1) as u32;
                    blocks[at as usize][idx * 4..idx * 4 + 4].copy_from_slice(&n.to_le_bytes());
                    n
                };
                at = next;
            }
            let blk = &mut blocks[at as usize];
            let mut h = DataHeader::read_from_prefix(&blk[..]).unwrap().0;
            let slot = h.dqdh_entries.get() as usize;
            h.dqdh_entries.set(h.dqdh_entries.get() + 1);
            blk[..16].copy_from_slice(h.as_bytes());
            let mut d = DiskDquot::new_zeroed();
            d.dqb_id.set(id);
            d.dqb_curspace.set(space);
            d.dqb_curinodes.set(inodes);
            d.dqb_itime.set(1);
            let off = 16 + slot * 72;
            blk[off..off + 72].copy_from_slice(d.as_bytes());
        }
        let mut h = DiskHeader::new_zeroed();
        h.dqh_magic.set(qtype.magic());
        h.dqh_version.set(V2R1_VERSION);
        let mut info = DiskInfo::new_zeroed();
        info.dqi_blocks.set(blocks.len() as u32);
        blocks[0][..8].copy_from_slice(h.as_bytes());
        blocks[0][8..32].copy_from_slice(info.as_bytes());
        blocks.concat()
    }

    #[test]
    fn finds_every_entry_through_the_tree() {
        let ids = [
            (0, 4096, 2),
            (1000, 8192, 3),
            (1001, 0, 1),
            (70000, 1 << 40, 9),
        ];
        let f = QuotaFile::parse(&build(QuotaType::Group, &ids), QuotaType::Group).unwrap();
        assert_eq!(f.entries.len(), 4);
        let bytes = build(QuotaType::Group, &ids);
        for (id, space, inodes) in ids {
            let d = &f.entries[&id];
            assert_eq!(
                (d.dqb_curspace.get(), d.dqb_curinodes.get()),
                (space, inodes)
            );
            let at = f.offsets[&id];
            assert_eq!(&bytes[at..at + 72], d.as_bytes());
        }
        let mut bytes = bytes;
        QuotaFile::set_usage(&mut bytes, f.offsets[&1000], 1, 2).unwrap();
        let f = QuotaFile::parse(&bytes, QuotaType::Group).unwrap();
        let d = &f.entries[&1000];
        assert_eq!(
            (d.dqb_curspace.get(), d.dqb_curinodes.get(), d.dqb_id.get()),
            (1, 2, 1000)
        );
    }

    #[test]
    fn refuses_a_wrong_type_a_bad_reference_and_a_miscounted_block() {
        let good = build(QuotaType::User, &[(5, 1, 1)]);
        assert!(QuotaFile::parse(&good, QuotaType::Project).is_err());
        let mut bad = good.clone();
        // Root's reference for id byte 0 points past the file.
        bad[QUOTA_BLOCK..QUOTA_BLOCK + 4].copy_from_slice(&99u32.to_le_bytes());
        assert!(QuotaFile::parse(&bad, QuotaType::User).is_err());
        let mut bad = good.clone();
        let last = good.len() - QUOTA_BLOCK;
        bad[last + 8] = 3; // dqdh_entries
        assert!(QuotaFile::parse(&bad, QuotaType::User).is_err());
    }
}
