//! The ext4 superblock: parsing, validation, feature checks and the
//! geometry derived from it (group count, descriptor locations, backups).

use super::csum::crc32c_raw;
use zerocopy::little_endian::U32;
use zerocopy::{FromBytes, FromZeros, IntoBytes};

use super::layout::Ext4SuperBlock;
use super::{BlockNo, ChecksumOf, CorruptKind, FormatError};

/// Byte offset of the primary superblock in the image.
pub const SUPERBLOCK_OFFSET: u64 = 1024;
/// Size of the on-disk superblock.
pub const SUPERBLOCK_SIZE: usize = size_of::<Ext4SuperBlock>();
/// `s_magic` of every ext2/3/4 superblock (`EXT4_SUPER_MAGIC`).
pub const MAGIC: u16 = 0xEF53;

/// compat features.
pub mod compat {
    pub const HAS_JOURNAL: u32 = 0x4;
    pub const EXT_ATTR: u32 = 0x8;
    pub const RESIZE_INODE: u32 = 0x10;
    pub const DIR_INDEX: u32 = 0x20;
    pub const SPARSE_SUPER2: u32 = 0x200;
    pub const FAST_COMMIT: u32 = 0x400;
    pub const ORPHAN_FILE: u32 = 0x1000;
}

/// incompat features.
pub mod incompat {
    pub const COMPRESSION: u32 = 0x1;
    pub const FILETYPE: u32 = 0x2;
    pub const RECOVER: u32 = 0x4;
    pub const JOURNAL_DEV: u32 = 0x8;
    pub const META_BG: u32 = 0x10;
    pub const EXTENTS: u32 = 0x40;
    pub const BIT64: u32 = 0x80;
    pub const MMP: u32 = 0x100;
    pub const FLEX_BG: u32 = 0x200;
    pub const EA_INODE: u32 = 0x400;
    pub const DIRDATA: u32 = 0x1000;
    pub const CSUM_SEED: u32 = 0x2000;
    pub const LARGEDIR: u32 = 0x4000;
    pub const INLINE_DATA: u32 = 0x8000;
    pub const ENCRYPT: u32 = 0x10000;
    pub const CASEFOLD: u32 = 0x20000;
}

/// ro_compat features.
pub mod ro_compat {
    pub const SPARSE_SUPER: u32 = 0x1;
    pub const LARGE_FILE: u32 = 0x2;
    pub const HUGE_FILE: u32 = 0x8;
    pub const GDT_CSUM: u32 = 0x10;
    pub const DIR_NLINK: u32 = 0x20;
    pub const EXTRA_ISIZE: u32 = 0x40;
    pub const HAS_SNAPSHOT: u32 = 0x80;
    pub const QUOTA: u32 = 0x100;
    pub const BIGALLOC: u32 = 0x200;
    pub const METADATA_CSUM: u32 = 0x400;
    pub const REPLICA: u32 = 0x800;
    pub const READONLY: u32 = 0x1000;
    pub const PROJECT: u32 = 0x2000;
    pub const SHARED_BLOCKS: u32 = 0x4000;
    pub const VERITY: u32 = 0x8000;
    pub const ORPHAN_PRESENT: u32 = 0x10000;
}

const INCOMPAT_NAMES: &[(u32, &str)] = &[
    (incompat::COMPRESSION, "compression"),
    (incompat::FILETYPE, "filetype"),
    (incompat::RECOVER, "needs_recovery"),
    (incompat::JOURNAL_DEV, "journal_dev"),
    (incompat::META_BG, "meta_bg"),
    (incompat::EXTENTS, "extent"),
    (incompat::BIT64, "64bit"),
    (incompat::MMP, "mmp"),
    (incompat::FLEX_BG, "flex_bg"),
    (incompat::EA_INODE, "ea_inode"),
    (incompat::DIRDATA, "dirdata"),
    (incompat::CSUM_SEED, "metadata_csum_seed"),
    (incompat::LARGEDIR, "large_dir"),
    (incompat::INLINE_DATA, "inline_data"),
    (incompat::ENCRYPT, "encrypt"),
    (incompat::CASEFOLD, "casefold"),
];

/// incompat features this implementation reads.
const INCOMPAT_SUPPORTED: u32 = incompat::FILETYPE
    | incompat::RECOVER
    | incompat::META_BG
    | incompat::EXTENTS
    | incompat::BIT64
    | incompat::MMP
    | incompat::FLEX_BG
    | incompat::CSUM_SEED
    | incompat::LARGEDIR
    | incompat::INLINE_DATA
    | incompat::EA_INODE
    | incompat::CASEFOLD
    // Read without keys (names encoded, contents refused); never written.
    | incompat::ENCRYPT;

/// ro_compat features that change how data is laid out so that reading
/// without understanding them would show wrong contents.
const RO_COMPAT_REFUSED: &[(u32, &str)] = &[
    (ro_compat::HAS_SNAPSHOT, "snapshot"),
    (ro_compat::REPLICA, "replica"),
    (ro_compat::SHARED_BLOCKS, "shared_blocks"),
];

/// ro_compat features a writer knows how to keep (the kernel's
/// EXT4_FEATURE_RO_COMPAT_SUPP less what `check_features_for_write`
/// refuses by name). Any other bit is a feature from a newer writer whose
/// invariants nobody here keeps: as the kernel does, read-only only.
const RO_COMPAT_WRITABLE: u32 = ro_compat::SPARSE_SUPER
    | ro_compat::LARGE_FILE
    | ro_compat::HUGE_FILE
    | ro_compat::GDT_CSUM
    | ro_compat::DIR_NLINK
    | ro_compat::EXTRA_ISIZE
    | ro_compat::METADATA_CSUM
    | ro_compat::QUOTA
    | ro_compat::PROJECT;

/// s_flags bits.
pub const FLAG_SIGNED_HASH: u32 = 0x1;
pub const FLAG_UNSIGNED_HASH: u32 = 0x2;

/// s_state bits.
pub const STATE_VALID: u16 = 0x1;
pub const STATE_ERROR: u16 = 0x2;
pub const STATE_ORPHANS: u16 = 0x4;

/// One of the two error records the kernel keeps in the superblock
/// (s_first_error_* and s_last_error_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ErrorRecord {
    /// Seconds since the epoch: 32-bit field plus the 8-bit `_hi` byte.
    pub time: u64,
    pub ino: u32,
    pub block: u64,
    /// Function name, NUL-padded, not necessarily NUL-terminated.
    pub func: [u8; 32],
    pub line: u32,
    /// EXT4_ERR_* code (s_first_error_errcode / s_last_error_errcode).
    pub errcode: u8,
}

impl ErrorRecord {
    /// s_first_error_*.
    fn first(r: &Ext4SuperBlock) -> Self {
        ErrorRecord {
            time: Ext4SuperBlock::tstamp(r.s_first_error_time, r.s_first_error_time_hi),
            ino: r.s_first_error_ino.get(),
            block: r.s_first_error_block.get(),
            func: r.s_first_error_func,
            line: r.s_first_error_line.get(),
            errcode: r.s_first_error_errcode,
        }
    }

    /// s_last_error_*.
    fn last(r: &Ext4SuperBlock) -> Self {
        ErrorRecord {
            time: Ext4SuperBlock::tstamp(r.s_last_error_time, r.s_last_error_time_hi),
            ino: r.s_last_error_ino.get(),
            block: r.s_last_error_block.get(),
            func: r.s_last_error_func,
            line: r.s_last_error_line.get(),
            errcode: r.s_last_error_errcode,
        }
    }

    fn write_first(&self, r: &mut Ext4SuperBlock) {
        Ext4SuperBlock::set_tstamp(
            &mut r.s_first_error_time,
            &mut r.s_first_error_time_hi,
            self.time,
        );
        r.s_first_error_ino.set(self.ino);
        r.s_first_error_block.set(self.block);
        r.s_first_error_func = self.func;
        r.s_first_error_line.set(self.line);
        r.s_first_error_errcode = self.errcode;
    }

    fn write_last(&self, r: &mut Ext4SuperBlock) {
        Ext4SuperBlock::set_tstamp(
            &mut r.s_last_error_time,
            &mut r.s_last_error_time_hi,
            self.time,
        );
        r.s_last_error_ino.set(self.ino);
        r.s_last_error_block.set(self.block);
        r.s_last_error_func = self.func;
        r.s_last_error_line.set(self.line);
        r.s_last_error_errcode = self.errcode;
    }
}

/// Writes the metadata_csum superblock checksum (crc32c(~0) of the bytes
/// before s_checksum) into `raw` when the ro_compat word in `raw` enables
/// metadata_csum; otherwise leaves `raw` alone.
pub fn set_superblock_checksum(raw: &mut [u8]) {
    let Ok((r, _)) = Ext4SuperBlock::mut_from_prefix(raw) else {
        return;
    };
    if r.s_feature_ro_compat.get() & ro_compat::METADATA_CSUM != 0 {
        let c = crc32c_raw(!0, &r.as_bytes()[..Ext4SuperBlock::CSUM_OFFSET]);
        r.s_checksum.set(c);
    }
}

/// The parsed superblock with the fields fuse4fs uses.
#[derive(Debug, Clone)]
pub struct Superblock {
    pub inodes_count: u32,
    pub blocks_count: u64,
    pub r_blocks_count: u64,
    pub free_blocks_count: u64,
    pub free_inodes_count: u32,
    pub first_data_block: u32,
    pub log_block_size: u32,
    /// s_log_cluster_size (meaningful with bigalloc).
    pub log_cluster_size: u32,
    pub blocks_per_group: u32,
    /// s_clusters_per_group: bits in a group's block bitmap (equal to
    /// blocks_per_group without bigalloc, where mkfs writes it the same).
    pub clusters_per_group: u32,
    pub inodes_per_group: u32,
    pub state: u16,
    pub rev_level: u32,
    pub first_ino: u32,
    pub inode_size: u16,
    pub feature_compat: u32,
    pub feature_incompat: u32,
    pub feature_ro_compat: u32,
    pub uuid: [u8; 16],
    pub volume_name: [u8; 16],
    pub reserved_gdt_blocks: u16,
    /// s_overhead_clusters: metadata overhead mkfs (or resize2fs) counted;
    /// 0 when unknown.
    pub overhead_clusters: u32,
    pub journal_inum: u32,
    pub last_orphan: u32,
    /// s_orphan_file_inum: the orphan file (compat orphan_file).
    pub orphan_file_inum: u32,
    pub hash_seed: [u32; 4],
    pub def_hash_version: u8,
    pub desc_size: u16,
    pub first_meta_bg: u32,
    pub min_extra_isize: u16,
    /// s_want_extra_isize: i_extra_isize for new inodes (0: the default).
    pub want_extra_isize: u16,
    pub flags: u32,
    pub backup_bgs: [u32; 2],
    pub checksum_seed: u32,
    pub checksum: u32,
    /// s_mmp_update_interval: seconds between the owner's MMP updates.
    pub mmp_update_interval: u16,
    /// s_mmp_block: where the MMP block is (feature mmp).
    pub mmp_block: u64,
    /// s_usr_quota_inum, s_grp_quota_inum, s_prj_quota_inum (0: none),
    /// indexed by [`crate::ext4::quota::QuotaType`].
    pub quota_inums: [u32; 3],
    /// s_mtime (last mount), with s_mtime_hi.
    pub mtime: u64,
    /// s_wtime (last write), with s_wtime_hi.
    pub wtime: u64,
    pub mnt_count: u16,
    /// s_errors: behaviour on error (1 continue, 2 remount-ro, 3 panic).
    pub errors: u16,
    /// s_kbytes_written.
    pub kbytes_written: u64,
    pub error_count: u32,
    pub first_error: ErrorRecord,
    pub last_error: ErrorRecord,
    /// s_encoding: the casefold encoding (1: UTF-8 12.1).
    pub encoding: u16,
    /// s_encoding_flags (bit 0: strict).
    pub encoding_flags: u16,
}

impl Superblock {
    /// Parses and validates the 1024 bytes at [`SUPERBLOCK_OFFSET`].
    pub fn parse(b: &[u8]) -> Result<Self, FormatError> {
        let Ok((r, _)) = Ext4SuperBlock::ref_from_prefix(b) else {
            return Err(CorruptKind::SuperblockShort.into());
        };
        if r.s_magic.get() != MAGIC {
            return Err(FormatError::BadMagic {
                what: "superblock (not an ext2/3/4 filesystem)",
            });
        }
        let incompat = r.s_feature_incompat.get();
        let bit64 = incompat & incompat::BIT64 != 0;
        let with_hi =
            |lo: U32, hi: U32| lo.get() as u64 | if bit64 { (hi.get() as u64) << 32 } else { 0 };
        let rev_level = r.s_rev_level.get();
        let sb = Superblock {
            inodes_count: r.s_inodes_count.get(),
            blocks_count: with_hi(r.s_blocks_count_lo, r.s_blocks_count_hi),
            r_blocks_count: with_hi(r.s_r_blocks_count_lo, r.s_r_blocks_count_hi),
            free_blocks_count: with_hi(r.s_free_blocks_count_lo, r.s_free_blocks_count_hi),
            free_inodes_count: r.s_free_inodes_count.get(),
            first_data_block: r.s_first_data_block.get(),
            log_block_size: r.s_log_block_size.get(),
            log_cluster_size: r.s_log_cluster_size.get(),
            blocks_per_group: r.s_blocks_per_group.get(),
            clusters_per_group: r.s_clusters_per_group.get(),
            inodes_per_group: r.s_inodes_per_group.get(),
            state: r.s_state.get(),
            rev_level,
            first_ino: if rev_level == 0 {
                11
            } else {
                r.s_first_ino.get()
            },
            inode_size: if rev_level == 0 {
                128
            } else {
                r.s_inode_size.get()
            },
            feature_compat: r.s_feature_compat.get(),
            feature_incompat: incompat,
            feature_ro_compat: r.s_feature_ro_compat.get(),
            uuid: r.s_uuid,
            volume_name: r.s_volume_name,
            reserved_gdt_blocks: r.s_reserved_gdt_blocks.get(),
            overhead_clusters: r.s_overhead_clusters.get(),
            journal_inum: r.s_journal_inum.get(),
            last_orphan: r.s_last_orphan.get(),
            orphan_file_inum: r.s_orphan_file_inum.get(),
            hash_seed: r.s_hash_seed.map(|w| w.get()),
            def_hash_version: r.s_def_hash_version,
            desc_size: if bit64 { r.s_desc_size.get() } else { 32 },
            first_meta_bg: r.s_first_meta_bg.get(),
            min_extra_isize: r.s_min_extra_isize.get(),
            want_extra_isize: r.s_want_extra_isize.get(),
            flags: r.s_flags.get(),
            backup_bgs: r.s_backup_bgs.map(|g| g.get()),
            checksum_seed: r.s_checksum_seed.get(),
            checksum: r.s_checksum.get(),
            mmp_update_interval: r.s_mmp_update_interval.get(),
            mmp_block: r.s_mmp_block.get(),
            quota_inums: [
                r.s_usr_quota_inum.get(),
                r.s_grp_quota_inum.get(),
                r.s_prj_quota_inum.get(),
            ],
            mtime: Ext4SuperBlock::tstamp(r.s_mtime, r.s_mtime_hi),
            wtime: Ext4SuperBlock::tstamp(r.s_wtime, r.s_wtime_hi),
            mnt_count: r.s_mnt_count.get(),
            errors: r.s_errors.get(),
            kbytes_written: r.s_kbytes_written.get(),
            error_count: r.s_error_count.get(),
            first_error: ErrorRecord::first(r),
            last_error: ErrorRecord::last(r),
            encoding: r.s_encoding.get(),
            encoding_flags: r.s_encoding_flags.get(),
        };
        if sb.has_ro_compat(ro_compat::METADATA_CSUM) {
            let want = crc32c_raw(!0, &r.as_bytes()[..Ext4SuperBlock::CSUM_OFFSET]);
            if want != sb.checksum {
                return Err(FormatError::BadChecksum {
                    what: ChecksumOf::Superblock,
                });
            }
        }
        sb.validate()?;
        Ok(sb)
    }

    /// Writes the fields a writer changes into `raw` (the 1024 on-disk
    /// bytes this superblock was parsed from), leaving every other byte
    /// as it is: free counts (high halves with 64bit), s_state, s_errors,
    /// s_flags, s_last_orphan, the three feature words, mount/write
    /// times, the mount count, s_kbytes_written and the error records.
    /// The checksum is not touched: call [`set_superblock_checksum`] last.
    pub fn write_to(&self, raw: &mut [u8]) -> Result<(), FormatError> {
        let bit64 = self.has_incompat(incompat::BIT64);
        if !bit64 && self.free_blocks_count > u32::MAX as u64 {
            return Err(CorruptKind::FreeBlocksWithout64bit {
                free_blocks: self.free_blocks_count,
            }
            .into());
        }
        for (what, t) in [("s_mtime", self.mtime), ("s_wtime", self.wtime)]
            .into_iter()
            .chain([
                ("s_first_error_time", self.first_error.time),
                ("s_last_error_time", self.last_error.time),
            ])
        {
            if t >= 1 << 40 {
                return Err(CorruptKind::SuperblockTime {
                    field: what,
                    time: t,
                }
                .into());
            }
        }
        let r = Ext4SuperBlock::mut_from_prefix(raw)
            .map_err(|_| CorruptKind::SuperblockShortBuffer)?
            .0;
        r.s_free_blocks_count_lo.set(self.free_blocks_count as u32);
        if bit64 {
            r.s_free_blocks_count_hi
                .set((self.free_blocks_count >> 32) as u32);
        }
        r.s_free_inodes_count.set(self.free_inodes_count);
        Ext4SuperBlock::set_tstamp(&mut r.s_mtime, &mut r.s_mtime_hi, self.mtime);
        Ext4SuperBlock::set_tstamp(&mut r.s_wtime, &mut r.s_wtime_hi, self.wtime);
        r.s_mnt_count.set(self.mnt_count);
        r.s_state.set(self.state);
        r.s_errors.set(self.errors);
        r.s_feature_compat.set(self.feature_compat);
        r.s_feature_incompat.set(self.feature_incompat);
        r.s_feature_ro_compat.set(self.feature_ro_compat);
        r.s_last_orphan.set(self.last_orphan);
        r.s_flags.set(self.flags);
        r.s_kbytes_written.set(self.kbytes_written);
        r.s_error_count.set(self.error_count);
        self.first_error.write_first(r);
        self.last_error.write_last(r);
        Ok(())
    }

    fn validate(&self) -> Result<(), FormatError> {
        let bad = |kind: CorruptKind| Err(kind.into());
        if self.log_block_size > 6 {
            return bad(CorruptKind::BlockSizeTooLarge {
                log_block_size: self.log_block_size,
            });
        }
        let bs = self.block_size() as u64;
        // With bigalloc the group bitmap counts clusters: the kernel's
        // ext4_handle_clustersize checks the cluster geometry the same way.
        let cluster_shift = if self.has_ro_compat(ro_compat::BIGALLOC) {
            if !(self.log_block_size..=20).contains(&self.log_cluster_size) {
                return bad(CorruptKind::ClusterSize {
                    log_cluster_size: self.log_cluster_size,
                    log_block_size: self.log_block_size,
                });
            }
            if self.clusters_per_group == 0 || self.clusters_per_group as u64 > bs * 8 {
                return bad(CorruptKind::ClustersPerGroup {
                    clusters_per_group: self.clusters_per_group,
                });
            }
            let shift = self.log_cluster_size - self.log_block_size;
            if (self.clusters_per_group as u64) << shift != self.blocks_per_group as u64 {
                return bad(CorruptKind::BlocksPerCluster {
                    blocks_per_group: self.blocks_per_group,
                    clusters_per_group: self.clusters_per_group,
                });
            }
            shift
        } else {
            0
        };
        if self.blocks_per_group == 0 || self.blocks_per_group as u64 > (bs * 8) << cluster_shift {
            return bad(CorruptKind::BlocksPerGroup {
                blocks_per_group: self.blocks_per_group,
            });
        }
        let inodes_per_block = bs / (self.inode_size.max(128) as u64);
        if (self.inodes_per_group as u64) < inodes_per_block
            || self.inodes_per_group as u64 > bs * 8
        {
            return bad(CorruptKind::InodesPerGroup {
                inodes_per_group: self.inodes_per_group,
            });
        }
        let isz = self.inode_size as u64;
        if isz < 128 || !isz.is_power_of_two() || isz > bs {
            return bad(CorruptKind::InodeSize { inode_size: isz });
        }
        if self.first_data_block as u64 >= self.blocks_count {
            return bad(CorruptKind::FirstDataBlockBeyondEnd);
        }
        if self.has_incompat(incompat::BIT64) {
            let ds = self.desc_size;
            if !(64..=1024).contains(&ds) || !ds.is_power_of_two() {
                return bad(CorruptKind::DescSize { desc_size: ds });
            }
        }
        // As the kernel: the group count must fit in 32 bits with room for
        // one descriptor block, and every group holds exactly
        // inodes_per_group inodes.
        let groups = (self.blocks_count - self.first_data_block as u64)
            .div_ceil(self.blocks_per_group as u64);
        if groups > (1u64 << 32) - (bs / self.desc_size.max(32) as u64) {
            return bad(CorruptKind::GroupCount { groups });
        }
        if groups * self.inodes_per_group as u64 != self.inodes_count as u64 {
            return bad(CorruptKind::InodesCount {
                inodes_count: self.inodes_count,
                groups,
                inodes_per_group: self.inodes_per_group,
            });
        }
        if self.first_ino < 11 || self.first_ino > self.inodes_count {
            return bad(CorruptKind::FirstIno {
                first_ino: self.first_ino,
            });
        }
        Ok(())
    }

    /// Refuses features that this implementation cannot read correctly,
    /// naming them.
    pub fn check_features_for_read(&self) -> Result<(), FormatError> {
        let unknown = self.feature_incompat & !INCOMPAT_SUPPORTED;
        if unknown != 0 {
            let names: Vec<String> = (0..32)
                .map(|bit| 1u32 << bit)
                .filter(|f| unknown & f != 0)
                .map(|f| {
                    INCOMPAT_NAMES
                        .iter()
                        .find(|(v, _)| *v == f)
                        .map(|(_, n)| n.to_string())
                        .unwrap_or_else(|| format!("unknown incompat 0x{f:x}"))
                })
                .collect();
            return Err(FormatError::Unsupported(format!(
                "feature {}",
                names.join(", ")
            )));
        }
        for (f, name) in RO_COMPAT_REFUSED {
            if self.feature_ro_compat & f != 0 {
                return Err(FormatError::Unsupported(format!("feature {name}")));
            }
        }
        self.casefold_encoding()?;
        if self.feature_incompat & incompat::BIT64 == 0 && self.blocks_count > u32::MAX as u64 {
            return Err(CorruptKind::BlocksWithout64bit.into());
        }
        Ok(())
    }

    /// Refuses, naming them, features whose invariants a writer would have
    /// to keep and this implementation does not (encryption, verity, an orphan file with entries, the read-only flag, and every
    /// ro_compat bit it does not know, in hex).
    pub fn check_features_for_write(&self) -> Result<(), FormatError> {
        let refused: &[(bool, &str)] = &[
            (
                self.feature_ro_compat & ro_compat::READONLY != 0,
                "read-only",
            ),
            (
                self.feature_ro_compat & ro_compat::ORPHAN_PRESENT != 0,
                "orphan_present (run e2fsck)",
            ),
            (self.feature_incompat & incompat::ENCRYPT != 0, "encrypt"),
            // Read: data up to i_size, the Merkle tree past EOF left alone.
            // Writing would need the kernel's fs-verity to build trees.
            (self.has_ro_compat(ro_compat::VERITY), "verity"),
        ];
        let mut names: Vec<String> = refused
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, n)| n.to_string())
            .collect();
        let unknown = self.unknown_ro_compat();
        names.extend(
            (0..32)
                .map(|bit| 1u32 << bit)
                .filter(|f| unknown & f != 0)
                .map(|f| format!("unknown ro_compat 0x{f:x}")),
        );
        if names.is_empty() {
            Ok(())
        } else {
            Err(FormatError::Unsupported(format!(
                "writing with feature {}",
                names.join(", ")
            )))
        }
    }

    /// The ro_compat bits no writer here knows (neither kept while writing
    /// nor refused by name): a newer tool's features, whose invariants a
    /// write would break.
    pub fn unknown_ro_compat(&self) -> u32 {
        let named = ro_compat::QUOTA
            | ro_compat::PROJECT
            | ro_compat::READONLY
            | ro_compat::ORPHAN_PRESENT
            | ro_compat::BIGALLOC
            | ro_compat::VERITY;
        let refused_for_read = RO_COMPAT_REFUSED.iter().fold(0, |a, (f, _)| a | f);
        self.feature_ro_compat & !(RO_COMPAT_WRITABLE | named | refused_for_read)
    }

    /// The casefold encoding (None without the feature); an encoding
    /// or flag the kernel would not load is an error.
    pub fn casefold_encoding(&self) -> Result<Option<super::casefold::Encoding>, FormatError> {
        if !self.has_incompat(incompat::CASEFOLD) {
            return Ok(None);
        }
        super::casefold::Encoding::from_superblock(self.encoding, self.encoding_flags).map(Some)
    }

    pub fn has_compat(&self, f: u32) -> bool {
        self.feature_compat & f != 0
    }
    pub fn has_incompat(&self, f: u32) -> bool {
        self.feature_incompat & f != 0
    }
    pub fn has_ro_compat(&self, f: u32) -> bool {
        self.feature_ro_compat & f != 0
    }

    /// True when metadata_csum checksums are present.
    pub fn metadata_csum(&self) -> bool {
        self.has_ro_compat(ro_compat::METADATA_CSUM)
    }

    /// True when group descriptors carry the older crc16 (gdt_csum).
    pub fn gdt_csum(&self) -> bool {
        !self.metadata_csum() && self.has_ro_compat(ro_compat::GDT_CSUM)
    }

    /// The seed for every metadata_csum checksum except the superblock's.
    pub fn csum_seed(&self) -> u32 {
        if self.has_incompat(incompat::CSUM_SEED) {
            self.checksum_seed
        } else {
            crc32c_raw(!0, &self.uuid)
        }
    }

    pub fn block_size(&self) -> u32 {
        1024 << self.log_block_size
    }

    /// log2 of blocks per cluster (the kernel's s_cluster_bits): 0 without
    /// bigalloc.
    pub fn cluster_bits(&self) -> u32 {
        if self.has_ro_compat(ro_compat::BIGALLOC) {
            self.log_cluster_size - self.log_block_size
        } else {
            0
        }
    }

    /// Bits in a group's block bitmap: clusters with bigalloc, else blocks.
    pub fn bitmap_bits_per_group(&self) -> u32 {
        self.blocks_per_group >> self.cluster_bits()
    }

    /// Clusters counted in `blocks` blocks, rounding down (EXT4_B2C).
    pub fn blocks_to_clusters(&self, blocks: u64) -> u64 {
        blocks >> self.cluster_bits()
    }

    /// Clusters needed to hold `blocks` blocks, rounding up (EXT4_NUM_B2C).
    pub fn clusters_for_blocks(&self, blocks: u64) -> u64 {
        blocks.div_ceil(1 << self.cluster_bits())
    }

    /// Blocks in `clusters` clusters (EXT4_C2B).
    pub fn clusters_to_blocks(&self, clusters: u64) -> u64 {
        clusters << self.cluster_bits()
    }

    pub fn group_count(&self) -> u32 {
        let data = self.blocks_count - self.first_data_block as u64;
        data.div_ceil(self.blocks_per_group as u64) as u32
    }

    /// Group descriptors per block.
    pub fn descs_per_block(&self) -> u32 {
        self.block_size() / self.desc_size as u32
    }

    /// First block of group `g`.
    pub fn group_first_block(&self, g: u32) -> BlockNo {
        BlockNo(self.first_data_block as u64 + g as u64 * self.blocks_per_group as u64)
    }

    /// Whether group `g` holds a superblock backup (and so a GDT copy).
    pub fn group_has_super(&self, g: u32) -> bool {
        if g == 0 {
            return true;
        }
        if self.has_compat(compat::SPARSE_SUPER2) {
            return self.backup_bgs.contains(&g);
        }
        if !self.has_ro_compat(ro_compat::SPARSE_SUPER) || g == 1 {
            return true;
        }
        if g.is_multiple_of(2) {
            return false;
        }
        [3u32, 5, 7].iter().any(|&base| {
            let mut p = base;
            while p < g {
                p = match p.checked_mul(base) {
                    Some(p) => p,
                    None => return false,
                };
            }
            p == g
        })
    }

    /// Descriptor-table blocks stored in group `g` (the kernel's
    /// ext4_bg_num_gdb): with meta_bg, the first, second and last group of
    /// each metagroup hold one; otherwise groups with a superblock backup
    /// hold the whole table.
    pub fn group_gdt_blocks(&self, g: u32) -> u32 {
        let dpb = self.descs_per_block();
        let meta = self.has_incompat(incompat::META_BG);
        if meta && g as u64 >= self.first_meta_bg as u64 * dpb as u64 {
            let idx = g % dpb;
            return (idx == 0 || idx == 1 || idx == dpb - 1) as u32;
        }
        if !self.group_has_super(g) {
            0
        } else if meta {
            self.first_meta_bg
        } else {
            self.group_count().div_ceil(dpb)
        }
    }

    /// Blocks at the start of group `g` taken by its superblock backup,
    /// descriptor table and reserved descriptor blocks (the kernel's
    /// ext4_num_base_meta_clusters).
    pub fn group_base_meta_blocks(&self, g: u32) -> u32 {
        let has_super = self.group_has_super(g);
        let before_meta = !self.has_incompat(incompat::META_BG)
            || (g as u64) < self.first_meta_bg as u64 * self.descs_per_block() as u64;
        let reserved = if has_super && before_meta {
            self.reserved_gdt_blocks as u32
        } else {
            0
        };
        has_super as u32 + self.group_gdt_blocks(g) + reserved
    }

    /// Blocks in group `g` (the last group may be short).
    pub fn group_blocks(&self, g: u32) -> u32 {
        let first = self.group_first_block(g).0;
        (self.blocks_count - first).min(self.blocks_per_group as u64) as u32
    }

    /// Inode-table blocks per group.
    pub fn inode_table_blocks(&self) -> u64 {
        (self.inodes_per_group as u64 * self.inode_size as u64).div_ceil(self.block_size() as u64)
    }

    /// Block holding the descriptor of group `g` (primary copy).
    pub fn group_desc_location(&self, g: u32) -> (BlockNo, usize) {
        let dpb = self.descs_per_block();
        let index = g / dpb;
        let within = (g % dpb) as usize * self.desc_size as usize;
        let first_meta = self.first_meta_bg;
        // The table follows the block holding the primary superblock (the
        // kernel's descriptor_loc), which is not first_data_block + 1 on a
        // 1 KiB-block bigalloc filesystem, where first_data_block is 0.
        let sb_block = SUPERBLOCK_OFFSET / self.block_size() as u64;
        if !self.has_incompat(incompat::META_BG) || index < first_meta {
            return (BlockNo(sb_block + 1 + index as u64), within);
        }
        // meta_bg: each metagroup's descriptors live in its first group,
        // after the superblock backup if that group has one (and after the
        // boot block too when group 0 starts at block 0 with 1 KiB blocks).
        let first_group = index * dpb;
        let base = self.group_first_block(first_group).0;
        let skip = self.group_has_super(first_group) as u64
            + (first_group == 0 && sb_block == 1 && self.first_data_block == 0) as u64;
        (BlockNo(base + skip), within)
    }

    /// Whether the filesystem's hash uses unsigned char arithmetic.
    pub fn unsigned_hash(&self) -> bool {
        self.flags & FLAG_UNSIGNED_HASH != 0
    }

    /// The volume label as bytes up to the first NUL.
    pub fn label(&self) -> &[u8] {
        let end = self.volume_name.iter().position(|&c| c == 0).unwrap_or(16);
        &self.volume_name[..end]
    }
}

/// A small valid superblock for unit tests elsewhere in the format layer:
/// one group of 8192 blocks and 2048 256-byte inodes. Public (hidden) for
/// the unit tests of the crates built on this one.
#[doc(hidden)]
pub fn test_superblock_bytes(
    log_block_size: u32,
    incompat: u32,
    ro_compat: u32,
    desc_size: u16,
) -> Vec<u8> {
    let mut r = Ext4SuperBlock::new_zeroed();
    r.s_inodes_count.set(2048);
    r.s_blocks_count_lo.set(8192);
    r.s_first_data_block.set((log_block_size == 0) as u32);
    r.s_log_block_size.set(log_block_size);
    r.s_blocks_per_group.set(8192);
    r.s_inodes_per_group.set(2048);
    r.s_magic.set(MAGIC);
    r.s_rev_level.set(1);
    r.s_first_ino.set(11);
    r.s_inode_size.set(256);
    r.s_feature_incompat.set(incompat);
    r.s_feature_ro_compat.set(ro_compat);
    if incompat & self::incompat::BIT64 != 0 {
        r.s_desc_size.set(desc_size);
    }
    let mut b = r.as_bytes().to_vec();
    set_superblock_checksum(&mut b);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> Vec<u8> {
        test_superblock_bytes(0, 0, 0, 32)
    }

    #[test]
    fn parses_minimal_superblock() {
        let sb = Superblock::parse(&minimal()).unwrap();
        assert_eq!(sb.block_size(), 1024);
        assert_eq!(sb.group_count(), 1);
        assert_eq!(sb.group_desc_location(0), (BlockNo(2), 0));
    }

    #[test]
    fn rejects_bad_magic_and_bad_geometry() {
        let mut b = minimal();
        b[0x38] = 0;
        assert!(matches!(
            Superblock::parse(&b),
            Err(FormatError::BadMagic { .. })
        ));
        let mut b = minimal();
        b[0x18] = 40;
        assert!(Superblock::parse(&b).is_err());
        let mut b = minimal();
        b[0x28..0x2C].copy_from_slice(&0u32.to_le_bytes());
        assert!(Superblock::parse(&b).is_err());
    }

    #[test]
    fn huge_block_counts_are_refused_not_wrapped() {
        // 2^52 blocks: the group count and the byte size both overflow
        // 32/64-bit arithmetic if taken at face value.
        let mut b = minimal();
        b[0x60..0x64].copy_from_slice(&incompat::BIT64.to_le_bytes());
        b[0xFE..0x100].copy_from_slice(&64u16.to_le_bytes());
        b[0x150..0x154].copy_from_slice(&(1u32 << 20).to_le_bytes());
        assert!(Superblock::parse(&b).is_err());
        // An inode count that does not fill the groups exactly.
        let mut b = minimal();
        b[0x0..0x4].copy_from_slice(&2047u32.to_le_bytes());
        assert!(Superblock::parse(&b).is_err());
    }

    #[test]
    fn metadata_csum_is_verified() {
        let mut b = minimal();
        b[0x64..0x68].copy_from_slice(&ro_compat::METADATA_CSUM.to_le_bytes());
        let c = crc32c_raw(!0, &b[..0x3FC]);
        b[0x3FC..].copy_from_slice(&c.to_le_bytes());
        Superblock::parse(&b).unwrap();
        b[0x3FC] ^= 1;
        assert!(matches!(
            Superblock::parse(&b),
            Err(FormatError::BadChecksum { .. })
        ));
    }

    #[test]
    fn unsupported_features_are_named() {
        let mut b = minimal();
        b[0x60..0x64].copy_from_slice(&(incompat::COMPRESSION | incompat::DIRDATA).to_le_bytes());
        let sb = Superblock::parse(&b).unwrap();
        let e = sb.check_features_for_read().unwrap_err().to_string();
        assert!(e.contains("compression") && e.contains("dirdata"), "{e}");
    }

    /// Encrypted images are served without keys, read-only.
    #[test]
    fn encrypt_is_read_only() {
        let mut b = minimal();
        b[0x60..0x64].copy_from_slice(&incompat::ENCRYPT.to_le_bytes());
        let sb = Superblock::parse(&b).unwrap();
        sb.check_features_for_read().unwrap();
        let e = sb.check_features_for_write().unwrap_err().to_string();
        assert!(e.contains("encrypt"), "{e}");
    }

    #[test]
    fn casefold_is_read_with_a_known_encoding_only() {
        let mut b = minimal();
        b[0x60..0x64].copy_from_slice(&incompat::CASEFOLD.to_le_bytes());
        b[0x27C..0x27E].copy_from_slice(&1u16.to_le_bytes());
        let sb = Superblock::parse(&b).unwrap();
        sb.check_features_for_read().unwrap();
        assert!(!sb.casefold_encoding().unwrap().unwrap().strict);
        b[0x27C..0x27E].copy_from_slice(&7u16.to_le_bytes());
        let sb = Superblock::parse(&b).unwrap();
        let e = sb.check_features_for_read().unwrap_err().to_string();
        assert!(e.contains("encoding 7"), "{e}");
    }

    #[test]
    fn unknown_ro_compat_refuses_writing_only() {
        let mut b = minimal();
        let bits = ro_compat::SPARSE_SUPER | 1 << 20 | 1 << 31;
        b[0x64..0x68].copy_from_slice(&bits.to_le_bytes());
        let sb = Superblock::parse(&b).unwrap();
        sb.check_features_for_read().unwrap();
        let e = sb.check_features_for_write().unwrap_err().to_string();
        assert!(
            e.contains("unknown ro_compat 0x100000") && e.contains("unknown ro_compat 0x80000000"),
            "{e}"
        );
        assert!(!e.contains("0x1,") && !e.ends_with("0x1"), "{e}");
        // Every ro_compat bit a writer keeps is accepted.
        b[0x64..0x68].copy_from_slice(&RO_COMPAT_WRITABLE.to_le_bytes());
        set_superblock_checksum(&mut b);
        Superblock::parse(&b)
            .unwrap()
            .check_features_for_write()
            .unwrap();
    }

    /// mkfs.ext4 -O bigalloc -C 16384 with 4 KiB blocks: 32768 clusters of
    /// 4 blocks per group.
    fn bigalloc_16k() -> Vec<u8> {
        let mut b = minimal();
        b[0x18..0x1C].copy_from_slice(&2u32.to_le_bytes()); // 4 KiB blocks
        b[0x1C..0x20].copy_from_slice(&4u32.to_le_bytes()); // 16 KiB clusters
        b[0x14..0x18].copy_from_slice(&0u32.to_le_bytes());
        b[0x20..0x24].copy_from_slice(&131072u32.to_le_bytes());
        b[0x24..0x28].copy_from_slice(&32768u32.to_le_bytes());
        b[0x4..0x8].copy_from_slice(&131072u32.to_le_bytes());
        b[0x64..0x68].copy_from_slice(&ro_compat::BIGALLOC.to_le_bytes());
        b
    }

    #[test]
    fn bigalloc_is_read_and_written() {
        let mut b = bigalloc_16k();
        let sb = Superblock::parse(&b).unwrap();
        sb.check_features_for_read().unwrap();
        sb.check_features_for_write().unwrap();
        // Without bigalloc the same geometry is corrupt.
        b[0x64..0x68].copy_from_slice(&0u32.to_le_bytes());
        assert!(Superblock::parse(&b).is_err());
    }

    #[test]
    fn cluster_arithmetic() {
        let sb = Superblock::parse(&bigalloc_16k()).unwrap();
        assert_eq!(sb.cluster_bits(), 2);
        assert_eq!(sb.bitmap_bits_per_group(), 32768);
        assert_eq!(sb.blocks_to_clusters(131072), 32768);
        assert_eq!(sb.blocks_to_clusters(7), 1);
        assert_eq!(sb.clusters_for_blocks(7), 2);
        assert_eq!(sb.clusters_for_blocks(8), 2);
        assert_eq!(sb.clusters_for_blocks(0), 0);
        assert_eq!(sb.clusters_to_blocks(3), 12);
        // Without bigalloc a cluster is a block, whatever s_log_cluster_size.
        let plain = Superblock::parse(&minimal()).unwrap();
        assert_eq!(plain.cluster_bits(), 0);
        assert_eq!(plain.clusters_for_blocks(7), 7);
        assert_eq!(plain.bitmap_bits_per_group(), plain.blocks_per_group);
    }

    #[test]
    fn bigalloc_geometry_is_checked_as_the_kernel_does() {
        // Clusters per group that do not make up blocks per group.
        let mut b = bigalloc_16k();
        b[0x24..0x28].copy_from_slice(&16384u32.to_le_bytes());
        let e = Superblock::parse(&b).unwrap_err().to_string();
        assert!(e.contains("inconsistent"), "{e}");
        // More clusters per group than a bitmap block holds.
        let mut b = bigalloc_16k();
        b[0x24..0x28].copy_from_slice(&65536u32.to_le_bytes());
        b[0x20..0x24].copy_from_slice(&262144u32.to_le_bytes());
        assert!(Superblock::parse(&b).is_err());
        // A cluster smaller than a block.
        let mut b = bigalloc_16k();
        b[0x1C..0x20].copy_from_slice(&1u32.to_le_bytes());
        assert!(Superblock::parse(&b).is_err());
    }

    #[test]
    fn descriptors_follow_the_superblock_block() {
        // mkfs.ext4 -b 1024 -O bigalloc -C 16384: first_data_block is 0,
        // the superblock is in block 1 and the descriptor table in block 2.
        let mut b = minimal();
        b[0x14..0x18].copy_from_slice(&0u32.to_le_bytes());
        b[0x1C..0x20].copy_from_slice(&4u32.to_le_bytes());
        b[0x20..0x24].copy_from_slice(&131072u32.to_le_bytes());
        b[0x24..0x28].copy_from_slice(&8192u32.to_le_bytes());
        b[0x4..0x8].copy_from_slice(&131072u32.to_le_bytes());
        b[0x64..0x68].copy_from_slice(&ro_compat::BIGALLOC.to_le_bytes());
        let sb = Superblock::parse(&b).unwrap();
        assert_eq!(sb.first_data_block, 0);
        assert_eq!(sb.group_desc_location(0), (BlockNo(2), 0));
        // 1 KiB blocks without bigalloc: first_data_block 1, table in 2.
        let sb = Superblock::parse(&minimal()).unwrap();
        assert_eq!(sb.group_desc_location(1), (BlockNo(2), 32));
    }

    #[test]
    fn verity_is_read_and_refused_for_writing_by_name() {
        let mut b = minimal();
        b[0x64..0x68].copy_from_slice(&ro_compat::VERITY.to_le_bytes());
        let sb = Superblock::parse(&b).unwrap();
        sb.check_features_for_read().unwrap();
        let e = sb.check_features_for_write().unwrap_err().to_string();
        assert!(e.contains("verity") && !e.contains("unknown"), "{e}");
    }

    #[test]
    fn sparse_super_backups() {
        let mut b = minimal();
        b[0x64..0x68].copy_from_slice(&ro_compat::SPARSE_SUPER.to_le_bytes());
        let sb = Superblock::parse(&b).unwrap();
        let with: Vec<u32> = (0..100).filter(|&g| sb.group_has_super(g)).collect();
        assert_eq!(with, vec![0, 1, 3, 5, 7, 9, 25, 27, 49, 81]);
    }

    #[test]
    fn write_to_round_trips_every_written_field() {
        let mut b = minimal();
        b[0x60..0x64].copy_from_slice(&incompat::BIT64.to_le_bytes());
        b[0xFE..0x100].copy_from_slice(&64u16.to_le_bytes());
        b[0x64..0x68].copy_from_slice(&ro_compat::METADATA_CSUM.to_le_bytes());
        set_superblock_checksum(&mut b);
        let mut sb = Superblock::parse(&b).unwrap();
        sb.free_blocks_count = 0x1_0000_0007;
        sb.free_inodes_count = 99;
        sb.state = STATE_ERROR;
        sb.errors = 2;
        sb.feature_compat = compat::HAS_JOURNAL;
        sb.feature_ro_compat |= ro_compat::ORPHAN_PRESENT;
        sb.last_orphan = 77;
        sb.flags = FLAG_UNSIGNED_HASH;
        // Times past 2106 use the _hi bytes.
        sb.mtime = (1 << 32) + 5;
        sb.wtime = (0xAB << 32) | 6;
        sb.mnt_count = 3;
        sb.kbytes_written = 1 << 40;
        sb.error_count = 2;
        let mut func = [0u8; 32];
        func[..9].copy_from_slice(b"ext4_iget");
        sb.first_error = ErrorRecord {
            time: (2 << 32) | 1,
            ino: 12,
            block: 1 << 33,
            func,
            line: 4711,
            errcode: 5,
        };
        sb.last_error = ErrorRecord {
            time: (3 << 32) | 2,
            ino: 13,
            block: 5,
            func: [b'x'; 32],
            line: 1,
            errcode: 7,
        };
        let mut out = b.clone();
        sb.write_to(&mut out).unwrap();
        set_superblock_checksum(&mut out);
        let back = Superblock::parse(&out).unwrap();
        assert_eq!(back.free_blocks_count, sb.free_blocks_count);
        assert_eq!(back.free_inodes_count, 99);
        assert_eq!((back.state, back.errors, back.flags), (STATE_ERROR, 2, 2));
        assert_eq!(back.feature_compat, compat::HAS_JOURNAL);
        assert_eq!(back.feature_ro_compat, sb.feature_ro_compat);
        assert_eq!(back.last_orphan, 77);
        assert_eq!((back.mtime, back.wtime), (sb.mtime, sb.wtime));
        assert_eq!(out[0x274], 0xAB);
        assert_eq!(out[0x275], 1);
        assert_eq!(out[0x278], 2);
        assert_eq!(out[0x279], 3);
        assert_eq!((out[0x27A], out[0x27B]), (5, 7));
        assert_eq!(back.mnt_count, 3);
        assert_eq!(back.kbytes_written, 1 << 40);
        assert_eq!(back.error_count, 2);
        assert_eq!(back.first_error, sb.first_error);
        assert_eq!(back.last_error, sb.last_error);
        // Nothing outside the written fields moved.
        let owned: &[(usize, usize)] = &[
            (0xC, 8),
            (0x2C, 10),
            (0x3A, 4),
            (0x5C, 12),
            (0xE8, 4),
            (0x158, 4),
            (0x160, 4),
            (0x178, 8),
            (0x194, 108),
            (0x274, 2),
            (0x278, 4),
            (0x3FC, 4),
        ];
        for i in 0..SUPERBLOCK_SIZE {
            if !owned.iter().any(|&(o, n)| (o..o + n).contains(&i)) {
                assert_eq!(out[i], b[i], "byte 0x{i:x}");
            }
        }
    }

    #[test]
    fn write_to_refuses_what_does_not_fit() {
        let b = minimal();
        let mut sb = Superblock::parse(&b).unwrap();
        sb.free_blocks_count = 1 << 32; // no 64bit
        assert!(sb.write_to(&mut b.clone()).is_err());
        let mut sb = Superblock::parse(&b).unwrap();
        sb.wtime = 1 << 40;
        assert!(sb.write_to(&mut b.clone()).is_err());
        // Without metadata_csum the checksum field is left alone.
        let mut out = b.clone();
        out[0x3FC] = 0x55;
        set_superblock_checksum(&mut out);
        assert_eq!(out[0x3FC], 0x55);
    }
}
