//! `struct ext4_super_block`: the 1024 bytes at byte 1024 of the image
//! (and of each backup group's first block).

use zerocopy::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `struct ext4_super_block`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct Ext4SuperBlock {
    pub s_inodes_count: U32,
    pub s_blocks_count_lo: U32,
    pub s_r_blocks_count_lo: U32,
    pub s_free_blocks_count_lo: U32,
    pub s_free_inodes_count: U32,
    pub s_first_data_block: U32,
    pub s_log_block_size: U32,
    pub s_log_cluster_size: U32,
    pub s_blocks_per_group: U32,
    pub s_clusters_per_group: U32,
    pub s_inodes_per_group: U32,
    pub s_mtime: U32,
    pub s_wtime: U32,
    pub s_mnt_count: U16,
    pub s_max_mnt_count: U16,
    pub s_magic: U16,
    pub s_state: U16,
    pub s_errors: U16,
    pub s_minor_rev_level: U16,
    pub s_lastcheck: U32,
    pub s_checkinterval: U32,
    pub s_creator_os: U32,
    pub s_rev_level: U32,
    pub s_def_resuid: U16,
    pub s_def_resgid: U16,
    // EXT4_DYNAMIC_REV superblocks only.
    pub s_first_ino: U32,
    pub s_inode_size: U16,
    pub s_block_group_nr: U16,
    pub s_feature_compat: U32,
    pub s_feature_incompat: U32,
    pub s_feature_ro_compat: U32,
    pub s_uuid: [u8; 16],
    pub s_volume_name: [u8; 16],
    pub s_last_mounted: [u8; 64],
    pub s_algorithm_usage_bitmap: U32,
    pub s_prealloc_blocks: u8,
    pub s_prealloc_dir_blocks: u8,
    pub s_reserved_gdt_blocks: U16,
    pub s_journal_uuid: [u8; 16],
    pub s_journal_inum: U32,
    pub s_journal_dev: U32,
    pub s_last_orphan: U32,
    pub s_hash_seed: [U32; 4],
    pub s_def_hash_version: u8,
    pub s_jnl_backup_type: u8,
    pub s_desc_size: U16,
    pub s_default_mount_opts: U32,
    pub s_first_meta_bg: U32,
    pub s_mkfs_time: U32,
    pub s_jnl_blocks: [U32; 17],
    // 64bit support.
    pub s_blocks_count_hi: U32,
    pub s_r_blocks_count_hi: U32,
    pub s_free_blocks_count_hi: U32,
    pub s_min_extra_isize: U16,
    pub s_want_extra_isize: U16,
    pub s_flags: U32,
    pub s_raid_stride: U16,
    pub s_mmp_update_interval: U16,
    pub s_mmp_block: U64,
    pub s_raid_stripe_width: U32,
    pub s_log_groups_per_flex: u8,
    pub s_checksum_type: u8,
    pub s_encryption_level: u8,
    pub s_reserved_pad: u8,
    pub s_kbytes_written: U64,
    pub s_snapshot_inum: U32,
    pub s_snapshot_id: U32,
    pub s_snapshot_r_blocks_count: U64,
    pub s_snapshot_list: U32,
    pub s_error_count: U32,
    pub s_first_error_time: U32,
    pub s_first_error_ino: U32,
    pub s_first_error_block: U64,
    pub s_first_error_func: [u8; 32],
    pub s_first_error_line: U32,
    pub s_last_error_time: U32,
    pub s_last_error_ino: U32,
    pub s_last_error_line: U32,
    pub s_last_error_block: U64,
    pub s_last_error_func: [u8; 32],
    pub s_mount_opts: [u8; 64],
    pub s_usr_quota_inum: U32,
    pub s_grp_quota_inum: U32,
    pub s_overhead_clusters: U32,
    pub s_backup_bgs: [U32; 2],
    pub s_encrypt_algos: [u8; 4],
    pub s_encrypt_pw_salt: [u8; 16],
    pub s_lpf_ino: U32,
    pub s_prj_quota_inum: U32,
    pub s_checksum_seed: U32,
    pub s_wtime_hi: u8,
    pub s_mtime_hi: u8,
    pub s_mkfs_time_hi: u8,
    pub s_lastcheck_hi: u8,
    pub s_first_error_time_hi: u8,
    pub s_last_error_time_hi: u8,
    pub s_first_error_errcode: u8,
    pub s_last_error_errcode: u8,
    pub s_encoding: U16,
    pub s_encoding_flags: U16,
    pub s_orphan_file_inum: U32,
    pub s_reserved: [U32; 94],
    /// crc32c(~0) of every byte before it, with metadata_csum.
    pub s_checksum: U32,
}

const _: () = assert!(size_of::<Ext4SuperBlock>() == 1024);
// Spot checks against the kernel's offsets, so that a field dropped or
// doubled in the middle cannot hide behind the total size.
const _: () = {
    use core::mem::offset_of;
    assert!(offset_of!(Ext4SuperBlock, s_magic) == 0x38);
    assert!(offset_of!(Ext4SuperBlock, s_feature_compat) == 0x5C);
    assert!(offset_of!(Ext4SuperBlock, s_reserved_gdt_blocks) == 0xCE);
    assert!(offset_of!(Ext4SuperBlock, s_hash_seed) == 0xEC);
    assert!(offset_of!(Ext4SuperBlock, s_blocks_count_hi) == 0x150);
    assert!(offset_of!(Ext4SuperBlock, s_mmp_block) == 0x168);
    assert!(offset_of!(Ext4SuperBlock, s_kbytes_written) == 0x178);
    assert!(offset_of!(Ext4SuperBlock, s_first_error_func) == 0x1A8);
    assert!(offset_of!(Ext4SuperBlock, s_last_error_block) == 0x1D8);
    assert!(offset_of!(Ext4SuperBlock, s_usr_quota_inum) == 0x240);
    assert!(offset_of!(Ext4SuperBlock, s_checksum_seed) == 0x270);
    assert!(offset_of!(Ext4SuperBlock, s_wtime_hi) == 0x274);
    assert!(offset_of!(Ext4SuperBlock, s_orphan_file_inum) == 0x280);
    assert!(offset_of!(Ext4SuperBlock, s_checksum) == 0x3FC);
};

impl Ext4SuperBlock {
    /// The superblock laid over `raw`, None when shorter than 1024 bytes.
    pub fn of(raw: &[u8]) -> Option<&Ext4SuperBlock> {
        Ext4SuperBlock::ref_from_prefix(raw).ok().map(|(r, _)| r)
    }

    /// The superblock laid over `raw` to change in place.
    pub fn of_mut(raw: &mut [u8]) -> Option<&mut Ext4SuperBlock> {
        Ext4SuperBlock::mut_from_prefix(raw).ok().map(|(r, _)| r)
    }

    /// The bytes s_checksum covers (all before it).
    pub const CSUM_OFFSET: usize = core::mem::offset_of!(Ext4SuperBlock, s_checksum);

    /// A superblock time: the 32-bit field (unsigned) plus its 8-bit
    /// `_hi` byte, as the kernel's `ext4_get_tstamp`.
    pub fn tstamp(lo: U32, hi: u8) -> u64 {
        lo.get() as u64 | (hi as u64) << 32
    }

    /// The inverse of [`Ext4SuperBlock::tstamp`] (`ext4_update_tstamp`).
    pub fn set_tstamp(lo: &mut U32, hi: &mut u8, t: u64) {
        lo.set(t as u32);
        *hi = (t >> 32) as u8;
    }
}
