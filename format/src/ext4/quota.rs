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

use super::{CorruptKind, FormatError};

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

/// Whether inode `ino` is charged to its owners' quota, as e2fsck counts:
/// the root directory and every inode from s_first_ino on except the
/// project quota file and the orphan file (the other reserved inodes,
/// the journal and the user and group quota files among them, are not).
pub fn charged_inode(sb: &super::superblock::Superblock, ino: u32) -> bool {
    ino == 2
        || (ino >= sb.first_ino
            && ino != sb.quota_inums[QuotaType::Project as usize]
            && ino != sb.orphan_file_inum)
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

fn corrupt(kind: CorruptKind) -> FormatError {
    FormatError::Corrupt(kind)
}

fn block(data: &[u8], n: u32) -> Result<&[u8], FormatError> {
    let at = n as usize * QUOTA_BLOCK;
    data.get(at..at + QUOTA_BLOCK).ok_or_else(|| {
        corrupt(CorruptKind::QuotaBlockPastEnd {
            block: n,
            len: data.len(),
        })
    })
}

/// A tree block as its references (`__le32 ref[]`, the block numbers of
/// the next level; 0 for none).
fn refs(b: &[u8]) -> &[U32] {
    <[U32]>::ref_from_bytes(b).expect("a quota block is whole words")
}

/// [`refs`], to change in place.
fn refs_mut(b: &mut [u8]) -> &mut [U32] {
    <[U32]>::mut_from_bytes(b).expect("a quota block is whole words")
}

impl QuotaFile {
    /// Parses the whole file `data` of type `qtype`: header, info, and
    /// every entry reachable from the tree.
    pub fn parse(data: &[u8], qtype: QuotaType) -> Result<QuotaFile, FormatError> {
        let b0 = block(data, 0)?;
        let (h, rest) =
            DiskHeader::read_from_prefix(b0).map_err(|_| corrupt(CorruptKind::QuotaShort))?;
        if h.dqh_magic.get() != qtype.magic() {
            return Err(corrupt(CorruptKind::QuotaMagic {
                magic: h.dqh_magic.get(),
                qtype: qtype.name(),
            }));
        }
        if h.dqh_version.get() != V2R1_VERSION {
            return Err(corrupt(CorruptKind::QuotaVersion {
                version: h.dqh_version.get(),
            }));
        }
        let (info, _) =
            DiskInfo::read_from_prefix(rest).map_err(|_| corrupt(CorruptKind::QuotaShort))?;
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
            return Err(corrupt(CorruptKind::QuotaReference { block: n, blocks }));
        }
        let b = block(data, n)?;
        if depth == TREE_DEPTH {
            if !seen.insert(n) {
                return Ok(());
            }
            return self.data_block(b, n);
        }
        for r in refs(b) {
            let r = r.get();
            if r != 0 {
                self.walk(data, r, depth + 1, seen)?;
            }
        }
        Ok(())
    }

    /// Sets the usage of the entry at byte `at` of the file `data` (an
    /// offset from [`QuotaFile::offsets`]). As the kernel's
    /// v2r1_mem2diskdqblk: an entry that would be all zeros (id 0, nothing
    /// used, no limits) gets dqb_itime 1 so it does not read as free, and
    /// that marker is not kept once the entry holds something.
    pub fn set_usage(
        data: &mut [u8],
        at: usize,
        bytes: u64,
        inodes: u64,
    ) -> Result<(), FormatError> {
        let d = entry_mut(data, at)?;
        if d.dqb_itime.get() == 1
            && is_blank(&DiskDquot {
                dqb_itime: 0.into(),
                ..*d
            })
        {
            d.dqb_itime.set(0);
        }
        d.dqb_curspace.set(bytes);
        d.dqb_curinodes.set(inodes);
        if is_blank(d) {
            d.dqb_itime.set(1);
        }
        Ok(())
    }

    /// The entry at byte `at` of `data`.
    pub fn entry_at(data: &[u8], at: usize) -> Result<DiskDquot, FormatError> {
        let raw = data
            .get(at..at + size_of::<DiskDquot>())
            .ok_or_else(|| corrupt(CorruptKind::QuotaEntryPastEnd { at }))?;
        Ok(DiskDquot::read_from_prefix(raw)
            .map_err(|_| corrupt(CorruptKind::QuotaShort))?
            .0)
    }

    /// Adds an entry for `id` (nothing used, no limits) to the file `data`
    /// as the kernel's qtree_write_dquot does for an id it has never
    /// written: the tree path from the root is completed with new blocks,
    /// the entry goes in the first data block with a free slot (the free
    /// entry list), and new blocks come from the free block list or the
    /// end of the file, which then grows by one quota block. Pure layout:
    /// the caller writes back the quota blocks returned as changed.
    pub fn insert(data: &mut Vec<u8>, id: u32) -> Result<Inserted, FormatError> {
        let info = Self::info_of_bytes(data)?;
        let mut t = Tree {
            data,
            info,
            dirty: std::collections::BTreeSet::new(),
        };
        let at = t.insert_at(TREE_ROOT, 0, id)?;
        let info = t.info;
        let block0 = t.block_mut(0)?;
        block0[size_of::<DiskHeader>()..size_of::<DiskHeader>() + size_of::<DiskInfo>()]
            .copy_from_slice(info.as_bytes());
        let d = entry_mut(t.data, at)?;
        d.dqb_id.set(id);
        if is_blank(d) {
            d.dqb_itime.set(1);
        }
        Ok(Inserted {
            at,
            dirty: t.dirty.into_iter().collect(),
        })
    }

    fn info_of_bytes(data: &[u8]) -> Result<DiskInfo, FormatError> {
        let b0 = block(data, 0)?;
        Ok(DiskInfo::read_from_prefix(&b0[size_of::<DiskHeader>()..])
            .map_err(|_| corrupt(CorruptKind::QuotaShort))?
            .0)
    }

    fn data_block(&mut self, b: &[u8], n: u32) -> Result<(), FormatError> {
        let (h, rest) =
            DataHeader::read_from_prefix(b).map_err(|_| corrupt(CorruptKind::QuotaShort))?;
        let mut used = 0;
        let esz = size_of::<DiskDquot>();
        for (slot, raw) in rest.chunks_exact(esz).take(ENTRIES_PER_BLOCK).enumerate() {
            // An all-zero entry is free (id 0's entry has dqb_itime 1 when
            // it would otherwise be all zeros, as the kernel writes it).
            if raw.iter().all(|&c| c == 0) {
                continue;
            }
            let (d, _) =
                DiskDquot::read_from_prefix(raw).map_err(|_| corrupt(CorruptKind::QuotaShort))?;
            used += 1;
            if self.entries.insert(d.dqb_id.get(), d).is_some() {
                return Err(corrupt(CorruptKind::QuotaDuplicateId {
                    id: d.dqb_id.get(),
                }));
            }
            let at = n as usize * QUOTA_BLOCK + size_of::<DataHeader>() + slot * esz;
            self.offsets.insert(d.dqb_id.get(), at);
        }
        if used != h.dqdh_entries.get() as usize {
            return Err(corrupt(CorruptKind::QuotaEntryCount {
                block: n,
                counted: h.dqdh_entries.get(),
                held: used,
            }));
        }
        Ok(())
    }
}

impl QuotaFile {
    /// The grace periods (block, inode; seconds) of the file `data`'s
    /// info block.
    pub fn grace(data: &[u8]) -> Result<(u64, u64), FormatError> {
        let info = Self::info_of_bytes(data)?;
        Ok((info.dqi_bgrace.get() as u64, info.dqi_igrace.get() as u64))
    }

    /// Sets the grace periods of the file `data` (block 0 changes).
    pub fn set_grace(data: &mut [u8], bgrace: u32, igrace: u32) -> Result<(), FormatError> {
        let mut info = Self::info_of_bytes(data)?;
        info.dqi_bgrace.set(bgrace);
        info.dqi_igrace.set(igrace);
        let at = size_of::<DiskHeader>();
        data[at..at + size_of::<DiskInfo>()].copy_from_slice(info.as_bytes());
        Ok(())
    }

    /// The entry at byte `at` of `data` as the kernel holds it in memory.
    pub fn dquot_at(data: &[u8], at: usize) -> Result<Dquot, FormatError> {
        Ok(Dquot::from_disk(&Self::entry_at(data, at)?))
    }

    /// Writes `q` into the entry at byte `at` of `data` (its id kept), as
    /// the kernel's v2r1_mem2diskdqblk: block limits rounded up to 1 KiB
    /// units, and an entry that would be all zeros marked with
    /// dqb_itime 1 so it does not read as free.
    pub fn set_dquot(data: &mut [u8], at: usize, q: &Dquot) -> Result<(), FormatError> {
        let d = entry_mut(data, at)?;
        d.dqb_ihardlimit.set(q.ihardlimit);
        d.dqb_isoftlimit.set(q.isoftlimit);
        d.dqb_curinodes.set(q.curinodes);
        d.dqb_bhardlimit
            .set(q.bhardlimit.div_ceil(QUOTA_BLOCK as u64));
        d.dqb_bsoftlimit
            .set(q.bsoftlimit.div_ceil(QUOTA_BLOCK as u64));
        d.dqb_curspace.set(q.curspace);
        d.dqb_btime.set(q.btime);
        d.dqb_itime.set(q.itime);
        if is_blank(d) {
            d.dqb_itime.set(1);
        }
        Ok(())
    }
}

/// One id's limits, usage and grace deadlines as the kernel's dquot code
/// holds them (`struct mem_dqblk`): block limits and usage in bytes,
/// limits 0 for none, deadlines in seconds since the epoch (0: no grace
/// period running).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dquot {
    pub bhardlimit: u64,
    pub bsoftlimit: u64,
    pub curspace: u64,
    pub ihardlimit: u64,
    pub isoftlimit: u64,
    pub curinodes: u64,
    pub btime: u64,
    pub itime: u64,
}

/// Why a charge is refused (EDQUOT), as the kernel's warnings name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeded {
    /// The block hard limit (QUOTA_NL_BHARDWARN).
    BlockHard,
    /// Over the block soft limit past its grace time (QUOTA_NL_BSOFTLONGWARN).
    BlockGrace,
    /// The inode hard limit (QUOTA_NL_IHARDWARN).
    InodeHard,
    /// Over the inode soft limit past its grace time (QUOTA_NL_ISOFTLONGWARN).
    InodeGrace,
}

/// How a charge is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enforcement {
    /// Whether limits are enforced for this type (the mount's usrquota,
    /// grpquota, prjquota): without, usage moves and nothing is refused
    /// or started.
    pub limits: bool,
    /// Now, seconds since the epoch.
    pub now: u64,
    /// The file's grace periods (block, inode), seconds.
    pub grace: (u64, u64),
}

impl Dquot {
    /// From the disk entry (v2r1_disk2memdqblk): block limits from 1 KiB
    /// units to bytes; id 0's all-zero marker (dqb_itime 1) read as 0.
    pub fn from_disk(d: &DiskDquot) -> Dquot {
        let marker = d.dqb_itime.get() == 1
            && is_blank(&DiskDquot {
                dqb_itime: 0.into(),
                ..*d
            });
        let kib = |v: U64| v.get().saturating_mul(QUOTA_BLOCK as u64);
        Dquot {
            bhardlimit: kib(d.dqb_bhardlimit),
            bsoftlimit: kib(d.dqb_bsoftlimit),
            curspace: d.dqb_curspace.get(),
            ihardlimit: d.dqb_ihardlimit.get(),
            isoftlimit: d.dqb_isoftlimit.get(),
            curinodes: d.dqb_curinodes.get(),
            btime: d.dqb_btime.get(),
            itime: if marker { 0 } else { d.dqb_itime.get() },
        }
    }

    /// Moves `bytes` and `inodes` of usage (either sign) as the kernel's
    /// dquot code does: growth through dquot_add_inodes and
    /// dquot_add_space (with DQUOT_SPACE_WARN, as ext4's block charges),
    /// shrinking through dquot_decr_inodes and dquot_decr_space.
    ///
    /// With limits enforced, growth is refused when it would take usage
    /// past a hard limit, or past a soft limit whose grace time has run
    /// out, unless `may_exceed` (CAP_SYS_RESOURCE: the kernel's
    /// ignore_hardlimit) says yes; it is asked only then. Growth past a
    /// soft limit with no grace time running starts one (even for
    /// whoever may exceed). Shrinking to the soft limit or below stops it,
    /// limits enforced or not. Usage never goes below zero. On a refusal
    /// `self` is unchanged.
    pub fn charge(
        &mut self,
        bytes: i64,
        inodes: i64,
        how: &Enforcement,
        may_exceed: &mut dyn FnMut() -> bool,
    ) -> Result<(), Exceeded> {
        let mut next = *self;
        let limits = how.limits.then_some(how.now);
        (next.curinodes, next.itime) = move_usage(
            Counter {
                cur: self.curinodes,
                soft: self.isoftlimit,
                hard: self.ihardlimit,
                time: self.itime,
                grace: how.grace.1,
            },
            inodes,
            limits,
            may_exceed,
        )
        .map_err(|hard| {
            if hard {
                Exceeded::InodeHard
            } else {
                Exceeded::InodeGrace
            }
        })?;
        (next.curspace, next.btime) = move_usage(
            Counter {
                cur: self.curspace,
                soft: self.bsoftlimit,
                hard: self.bhardlimit,
                time: self.btime,
                grace: how.grace.0,
            },
            bytes,
            limits,
            may_exceed,
        )
        .map_err(|hard| {
            if hard {
                Exceeded::BlockHard
            } else {
                Exceeded::BlockGrace
            }
        })?;
        *self = next;
        Ok(())
    }

    /// Sets the limits (bytes and inodes, 0 for none) as the kernel's
    /// do_set_dqblk does for a quotactl that gives limits but no times
    /// (setquota(8)): a grace time starts afresh for a soft limit usage
    /// is already over, and stops where usage is within it.
    pub fn set_limits(&mut self, limits: Limits, now: u64, grace: (u64, u64)) {
        self.bsoftlimit = limits.bsoft;
        self.bhardlimit = limits.bhard;
        self.isoftlimit = limits.isoft;
        self.ihardlimit = limits.ihard;
        self.btime = if self.bsoftlimit == 0 || self.curspace <= self.bsoftlimit {
            0
        } else {
            now.saturating_add(grace.0)
        };
        self.itime = if self.isoftlimit == 0 || self.curinodes <= self.isoftlimit {
            0
        } else {
            now.saturating_add(grace.1)
        };
    }
}

/// Limits to set: bytes (kept in 1 KiB units, rounded up) and inodes; 0
/// for none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    pub bsoft: u64,
    pub bhard: u64,
    pub isoft: u64,
    pub ihard: u64,
}

/// Where [`QuotaFile::insert`] put an entry, and what it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inserted {
    /// The new entry's byte offset in the file.
    pub at: usize,
    /// Quota blocks written (header and info, tree and data blocks), in
    /// ascending order; some may be new, past the file's old end.
    pub dirty: Vec<u32>,
}

/// An entry reads as free when all its bytes are zero.
fn is_blank(d: &DiskDquot) -> bool {
    d.as_bytes().iter().all(|&b| b == 0)
}

fn entry_mut(data: &mut [u8], at: usize) -> Result<&mut DiskDquot, FormatError> {
    let raw = data
        .get_mut(at..at + size_of::<DiskDquot>())
        .ok_or_else(|| corrupt(CorruptKind::QuotaEntryPastEnd { at }))?;
    Ok(DiskDquot::mut_from_prefix(raw)
        .map_err(|_| corrupt(CorruptKind::QuotaShort))?
        .0)
}

/// A quota file being changed by an insertion: the kernel's
/// quota_tree.c steps, on bytes.
struct Tree<'d> {
    data: &'d mut Vec<u8>,
    info: DiskInfo,
    dirty: std::collections::BTreeSet<u32>,
}

impl Tree<'_> {
    fn block_mut(&mut self, n: u32) -> Result<&mut [u8], FormatError> {
        let at = n as usize * QUOTA_BLOCK;
        let len = self.data.len();
        self.dirty.insert(n);
        self.data
            .get_mut(at..at + QUOTA_BLOCK)
            .ok_or_else(|| corrupt(CorruptKind::QuotaBlockPastEnd { block: n, len }))
    }

    fn header(&self, n: u32) -> Result<DataHeader, FormatError> {
        Ok(DataHeader::read_from_prefix(block(self.data, n)?)
            .map_err(|_| corrupt(CorruptKind::QuotaShort))?
            .0)
    }

    fn set_header(&mut self, n: u32, h: DataHeader) -> Result<(), FormatError> {
        self.block_mut(n)?[..size_of::<DataHeader>()].copy_from_slice(h.as_bytes());
        Ok(())
    }

    /// get_free_dqblk: the head of the free block list, else a new block
    /// at the end. Returned zeroed.
    fn free_block(&mut self) -> Result<u32, FormatError> {
        let head = self.info.dqi_free_blk.get();
        let n = if head != 0 {
            self.check_ref(head)?;
            let next = self.header(head)?.dqdh_next_free.get();
            self.info.dqi_free_blk.set(next);
            head
        } else {
            let n = self.info.dqi_blocks.get();
            if n == u32::MAX {
                return Err(corrupt(CorruptKind::QuotaNoRoom));
            }
            let end = (n as usize + 1) * QUOTA_BLOCK;
            if self.data.len() < end {
                self.data.resize(end, 0);
            }
            self.info.dqi_blocks.set(n + 1);
            n
        };
        self.block_mut(n)?.fill(0);
        Ok(n)
    }

    fn check_ref(&self, n: u32) -> Result<(), FormatError> {
        let blocks = self.info.dqi_blocks.get();
        if n <= TREE_ROOT || n >= blocks {
            return Err(corrupt(CorruptKind::QuotaReference { block: n, blocks }));
        }
        Ok(())
    }

    /// remove_free_dqentry: unlinks data block `n` from the free entry list.
    fn unlink_free_entry(&mut self, n: u32) -> Result<(), FormatError> {
        let mut h = self.header(n)?;
        let (next, prev) = (h.dqdh_next_free.get(), h.dqdh_prev_free.get());
        if next != 0 {
            self.check_ref(next)?;
            let mut nh = self.header(next)?;
            nh.dqdh_prev_free.set(prev);
            self.set_header(next, nh)?;
        }
        if prev != 0 {
            self.check_ref(prev)?;
            let mut ph = self.header(prev)?;
            ph.dqdh_next_free.set(next);
            self.set_header(prev, ph)?;
        } else {
            self.info.dqi_free_entry.set(next);
        }
        h.dqdh_next_free.set(0);
        h.dqdh_prev_free.set(0);
        self.set_header(n, h)
    }

    /// find_free_dqentry: a slot in the first data block with room (a new
    /// one when none has); returns (data block, entry offset in the file).
    fn free_entry(&mut self) -> Result<(u32, usize), FormatError> {
        let mut n = self.info.dqi_free_entry.get();
        if n != 0 {
            self.check_ref(n)?;
        } else {
            n = self.free_block()?;
            self.info.dqi_free_entry.set(n);
        }
        let h = self.header(n)?;
        let used = h.dqdh_entries.get() as usize;
        if used >= ENTRIES_PER_BLOCK {
            return Err(corrupt(CorruptKind::QuotaFreeListFull { block: n }));
        }
        if used + 1 >= ENTRIES_PER_BLOCK {
            self.unlink_free_entry(n)?;
        }
        let mut h = self.header(n)?;
        h.dqdh_entries.set(used as u16 + 1);
        self.set_header(n, h)?;
        let esz = size_of::<DiskDquot>();
        let b = block(self.data, n)?;
        let slot = (0..ENTRIES_PER_BLOCK)
            .find(|i| {
                let at = size_of::<DataHeader>() + i * esz;
                b[at..at + esz].iter().all(|&c| c == 0)
            })
            .ok_or_else(|| corrupt(CorruptKind::QuotaBlockFull { block: n, used }))?;
        self.dirty.insert(n);
        Ok((
            n,
            n as usize * QUOTA_BLOCK + size_of::<DataHeader>() + slot * esz,
        ))
    }

    /// do_insert_tree from tree block `n` at `depth`; returns the entry's
    /// offset.
    fn insert_at(&mut self, n: u32, depth: usize, id: u32) -> Result<usize, FormatError> {
        let idx = ((id >> ((TREE_DEPTH - 1 - depth) * 8)) & 0xff) as usize;
        let r = refs(block(self.data, n)?)[idx].get();
        let (child, at) = if depth == TREE_DEPTH - 1 {
            if r != 0 {
                return Err(corrupt(CorruptKind::QuotaIdExists { id }));
            }
            self.free_entry()?
        } else {
            let child = if r != 0 {
                self.check_ref(r)?;
                r
            } else {
                self.free_block()?
            };
            (child, self.insert_at(child, depth + 1, id)?)
        };
        if r == 0 {
            refs_mut(self.block_mut(n)?)[idx].set(child);
        }
        Ok(at)
    }
}

/// One usage counter of a dquot (inodes, or space in bytes) with its
/// limits, grace time and grace period.
struct Counter {
    cur: u64,
    soft: u64,
    hard: u64,
    time: u64,
    grace: u64,
}

/// Moves counter `c` by `delta` as [`Dquot::charge`] describes, `limits`
/// being the time now when limits are enforced: the new (usage, grace
/// time), or `Err(true)` past the hard limit, `Err(false)` past the soft
/// limit with its grace time run out.
fn move_usage(
    c: Counter,
    delta: i64,
    limits: Option<u64>,
    may_exceed: &mut dyn FnMut() -> bool,
) -> Result<(u64, u64), bool> {
    if delta < 0 {
        let n = c.cur.saturating_sub(delta.unsigned_abs());
        return Ok((n, if n <= c.soft { 0 } else { c.time }));
    }
    let n = c.cur.saturating_add(delta as u64);
    let mut time = c.time;
    if delta > 0
        && let Some(now) = limits
    {
        if c.hard != 0 && n > c.hard && !may_exceed() {
            return Err(true);
        }
        if c.soft != 0 && n > c.soft && c.time != 0 && now >= c.time && !may_exceed() {
            return Err(false);
        }
        if c.soft != 0 && n > c.soft && c.time == 0 {
            time = now.saturating_add(c.grace);
        }
    }
    Ok((n, time))
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
    fn insertion_grows_the_tree_as_the_kernel_does() {
        let mut data = build(QuotaType::Project, &[(0, 4096, 2)]);
        let blocks0 = data.len() / QUOTA_BLOCK;
        // Many ids: data blocks fill (14 entries each) and leave the free
        // entry list; ids far apart need their own tree paths.
        let ids: Vec<u32> = (1..40).chain([256, 65536, 1 << 24, u32::MAX - 1]).collect();
        for (n, &id) in ids.iter().enumerate() {
            let before = data.len();
            let ins = QuotaFile::insert(&mut data, id).unwrap();
            assert!(ins.dirty.contains(&0), "the info block changes");
            assert!(
                ins.dirty
                    .iter()
                    .all(|&b| (b as usize) < data.len() / QUOTA_BLOCK)
            );
            assert_eq!(data.len() % QUOTA_BLOCK, 0);
            assert!(data.len() >= before);
            QuotaFile::set_usage(&mut data, ins.at, 1000 + n as u64, n as u64 + 1).unwrap();
        }
        let f = QuotaFile::parse(&data, QuotaType::Project).unwrap();
        assert_eq!(f.entries.len(), ids.len() + 1);
        assert_eq!(f.info.dqi_blocks.get() as usize, data.len() / QUOTA_BLOCK);
        for (n, &id) in ids.iter().enumerate() {
            let d = &f.entries[&id];
            assert_eq!(
                (d.dqb_curspace.get(), d.dqb_curinodes.get()),
                (1000 + n as u64, n as u64 + 1)
            );
        }
        // Ids 0..=39 share a tree path: 40 entries fill two data blocks
        // (14 each) and start a third, the only one on the free list.
        let free = f.info.dqi_free_entry.get();
        assert_ne!(free, 0);
        let h = DataHeader::read_from_prefix(&data[free as usize * QUOTA_BLOCK..])
            .unwrap()
            .0;
        assert_eq!(h.dqdh_next_free.get(), 0);
        assert_eq!(h.dqdh_prev_free.get(), 0);
        assert!((h.dqdh_entries.get() as usize) < ENTRIES_PER_BLOCK);
        // Four far ids: 3 + 3 + 3 + 3 tree blocks at most, plus data.
        assert!(data.len() / QUOTA_BLOCK <= blocks0 + 3 + 12 + 4);
        assert!(QuotaFile::insert(&mut data, 7).is_err(), "id 7 is there");
    }

    #[test]
    fn an_empty_id_0_entry_is_marked_and_unmarked() {
        let mut data = build(QuotaType::User, &[(0, 4096, 2)]);
        let f = QuotaFile::parse(&data, QuotaType::User).unwrap();
        let at = f.offsets[&0];
        QuotaFile::set_usage(&mut data, at, 0, 0).unwrap();
        assert_eq!(QuotaFile::entry_at(&data, at).unwrap().dqb_itime.get(), 1);
        let f = QuotaFile::parse(&data, QuotaType::User).unwrap();
        assert!(f.entries.contains_key(&0), "still in use");
        QuotaFile::set_usage(&mut data, at, 1024, 1).unwrap();
        assert_eq!(QuotaFile::entry_at(&data, at).unwrap().dqb_itime.get(), 0);
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

    fn how(limits: bool, now: u64) -> Enforcement {
        Enforcement {
            limits,
            now,
            grace: (100, 50),
        }
    }

    #[test]
    fn hard_limits_refuse_past_them_and_allow_up_to_them() {
        let mut q = Dquot {
            bhardlimit: 8192,
            ihardlimit: 2,
            ..Default::default()
        };
        let mut asked = 0;
        let mut no = || {
            asked += 1;
            false
        };
        q.charge(8192, 2, &how(true, 10), &mut no).unwrap();
        assert_eq!((q.curspace, q.curinodes), (8192, 2));
        let before = q;
        assert_eq!(
            q.charge(1, 0, &how(true, 10), &mut no),
            Err(Exceeded::BlockHard)
        );
        assert_eq!(
            q.charge(0, 1, &how(true, 10), &mut no),
            Err(Exceeded::InodeHard)
        );
        assert_eq!(q, before, "a refused charge changes nothing");
        assert_eq!(asked, 2, "the exemption is asked only when a limit refuses");
        // CAP_SYS_RESOURCE passes the hard limit; limits not enforced
        // (no usrquota) refuse nothing and ask nothing.
        q.charge(4096, 1, &how(true, 10), &mut || true).unwrap();
        assert_eq!((q.curspace, q.curinodes), (12288, 3));
        q.charge(4096, 1, &how(false, 10), &mut || unreachable!())
            .unwrap();
        assert_eq!((q.curspace, q.curinodes), (16384, 4));
    }

    #[test]
    fn a_soft_limit_starts_a_grace_time_that_refuses_once_run_out() {
        let mut q = Dquot {
            bsoftlimit: 4096,
            bhardlimit: 1 << 20,
            isoftlimit: 1,
            ..Default::default()
        };
        let no = &mut || false;
        // Up to the soft limit: nothing starts.
        q.charge(4096, 1, &how(true, 1000), no).unwrap();
        assert_eq!((q.btime, q.itime), (0, 0));
        // Past it: the grace periods of the file's info start.
        q.charge(1, 1, &how(true, 1000), no).unwrap();
        assert_eq!((q.btime, q.itime), (1100, 1050));
        // Within them, more is allowed and the deadlines stay.
        q.charge(10, 1, &how(true, 1049), no).unwrap();
        assert_eq!((q.btime, q.itime), (1100, 1050));
        // At the deadline: refused (the kernel's now >= dqb_itime).
        assert_eq!(
            q.charge(0, 1, &how(true, 1050), no),
            Err(Exceeded::InodeGrace)
        );
        assert_eq!(
            q.charge(1, 0, &how(true, 1100), no),
            Err(Exceeded::BlockGrace)
        );
        // Exempt callers pass; freeing to the soft limit stops the grace
        // time, so the next excess starts a new one.
        q.charge(1, 0, &how(true, 2000), &mut || true).unwrap();
        q.charge(-(q.curspace as i64 - 4096), -2, &how(true, 2000), no)
            .unwrap();
        assert_eq!((q.curspace, q.btime), (4096, 0));
        assert_eq!((q.curinodes, q.itime), (1, 0));
        q.charge(1, 0, &how(true, 3000), no).unwrap();
        assert_eq!(q.btime, 3100);
        // Usage never goes below zero.
        q.charge(-1 << 40, -5, &how(true, 3000), no).unwrap();
        assert_eq!((q.curspace, q.curinodes, q.btime), (0, 0, 0));
    }

    #[test]
    fn exempt_callers_still_start_a_grace_time() {
        let mut q = Dquot {
            bsoftlimit: 1024,
            ..Default::default()
        };
        q.charge(2048, 0, &how(true, 5), &mut || true).unwrap();
        assert_eq!(q.btime, 105);
        // Without enforcement (usage only), no grace time starts.
        let mut r = Dquot {
            bsoftlimit: 1024,
            ..Default::default()
        };
        r.charge(2048, 0, &how(false, 5), &mut || false).unwrap();
        assert_eq!(r.btime, 0);
    }

    #[test]
    fn limits_set_as_quotactl_sets_them_and_round_trip_on_disk() {
        let mut q = Dquot {
            curspace: 10_000,
            curinodes: 3,
            ..Default::default()
        };
        let l = Limits {
            bsoft: 5000,
            bhard: 20_000,
            isoft: 5,
            ihard: 0,
        };
        q.set_limits(l, 100, (7, 9));
        assert_eq!(
            (q.btime, q.itime),
            (107, 0),
            "over the block soft limit only"
        );
        let mut data = build(QuotaType::User, &[(1000, 10_000, 3)]);
        let at = QuotaFile::parse(&data, QuotaType::User).unwrap().offsets[&1000];
        QuotaFile::set_dquot(&mut data, at, &q).unwrap();
        let back = QuotaFile::dquot_at(&data, at).unwrap();
        // Block limits are kept in KiB, rounded up.
        assert_eq!(back.bsoftlimit, 5120);
        assert_eq!(back.bhardlimit, 20_480);
        assert_eq!(
            Dquot {
                bsoftlimit: 5000,
                bhardlimit: 20_000,
                ..back
            },
            q
        );
        QuotaFile::set_grace(&mut data, 60, 70).unwrap();
        assert_eq!(QuotaFile::grace(&data).unwrap(), (60, 70));
        // id 0 with nothing: the all-zero marker on disk, 0 in memory.
        let mut data = build(QuotaType::User, &[(0, 0, 0)]);
        let at = QuotaFile::parse(&data, QuotaType::User).unwrap().offsets[&0];
        QuotaFile::set_dquot(&mut data, at, &Dquot::default()).unwrap();
        assert_eq!(QuotaFile::entry_at(&data, at).unwrap().dqb_itime.get(), 1);
        assert_eq!(QuotaFile::dquot_at(&data, at).unwrap(), Dquot::default());
    }
}
