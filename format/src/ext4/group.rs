//! Block group descriptors (32-byte and 64-byte forms) and their checksums.

use super::csum::{crc16, crc32c_raw};
use super::superblock::Superblock;
use zerocopy::FromBytes;

use super::layout::{Ext4GroupDesc, Ext4GroupDescHi};
use super::{BlockNo, ChecksumOf, CorruptKind, FormatError};

/// bg_flags bits.
pub const BG_INODE_UNINIT: u16 = 0x1;
pub const BG_BLOCK_UNINIT: u16 = 0x2;
pub const BG_INODE_ZEROED: u16 = 0x4;

const CHECKSUM_OFFSET: usize = Ext4GroupDesc::CSUM_OFFSET;

/// One group descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupDesc {
    pub block_bitmap: BlockNo,
    pub inode_bitmap: BlockNo,
    pub inode_table: BlockNo,
    pub free_blocks_count: u32,
    pub free_inodes_count: u32,
    pub used_dirs_count: u32,
    pub flags: u16,
    pub itable_unused: u32,
    pub block_bitmap_csum: u32,
    pub inode_bitmap_csum: u32,
    pub checksum: u16,
}

impl GroupDesc {
    /// Parses one descriptor of `sb.desc_size` bytes.
    pub fn parse(sb: &Superblock, b: &[u8]) -> Self {
        let (d, rest) = Ext4GroupDesc::ref_from_prefix(b).expect("a descriptor has 32 bytes");
        let hi = (sb.desc_size >= 64)
            .then(|| Ext4GroupDescHi::ref_from_prefix(rest).ok().map(|(h, _)| h))
            .flatten();
        let hi32 = |f: fn(&Ext4GroupDescHi) -> u32| hi.map_or(0, |h| (f(h) as u64) << 32);
        let hi16 = |f: fn(&Ext4GroupDescHi) -> u16| hi.map_or(0, |h| (f(h) as u32) << 16);
        GroupDesc {
            block_bitmap: BlockNo(
                d.bg_block_bitmap_lo.get() as u64 | hi32(|h| h.bg_block_bitmap_hi.get()),
            ),
            inode_bitmap: BlockNo(
                d.bg_inode_bitmap_lo.get() as u64 | hi32(|h| h.bg_inode_bitmap_hi.get()),
            ),
            inode_table: BlockNo(
                d.bg_inode_table_lo.get() as u64 | hi32(|h| h.bg_inode_table_hi.get()),
            ),
            free_blocks_count: d.bg_free_blocks_count_lo.get() as u32
                | hi16(|h| h.bg_free_blocks_count_hi.get()),
            free_inodes_count: d.bg_free_inodes_count_lo.get() as u32
                | hi16(|h| h.bg_free_inodes_count_hi.get()),
            used_dirs_count: d.bg_used_dirs_count_lo.get() as u32
                | hi16(|h| h.bg_used_dirs_count_hi.get()),
            flags: d.bg_flags.get(),
            itable_unused: d.bg_itable_unused_lo.get() as u32
                | hi16(|h| h.bg_itable_unused_hi.get()),
            block_bitmap_csum: d.bg_block_bitmap_csum_lo.get() as u32
                | hi16(|h| h.bg_block_bitmap_csum_hi.get()),
            inode_bitmap_csum: d.bg_inode_bitmap_csum_lo.get() as u32
                | hi16(|h| h.bg_inode_bitmap_csum_hi.get()),
            checksum: d.bg_checksum.get(),
        }
    }

    /// Writes the descriptor into `raw` (its `sb.desc_size` on-disk
    /// bytes), leaving unmodelled bytes (exclude bitmap, padding) as they
    /// are. High halves are written only with descriptors of 64 bytes or
    /// more; a value that does not fit the short form is refused. The
    /// checksum is not touched: call [`GroupDesc::set_checksum`] last.
    pub fn write_to(&self, sb: &Superblock, raw: &mut [u8]) -> Result<(), FormatError> {
        let ds = sb.desc_size as usize;
        if raw.len() < ds || ds < 32 {
            return Err(CorruptKind::GroupDescShort.into());
        }
        let wide = ds >= 64;
        let too_big = |field: &'static str, value: u64, bits: u32| {
            if !wide && value >> bits != 0 {
                Err(CorruptKind::GroupDescTooWide {
                    field,
                    value,
                    desc_size: ds,
                })
            } else {
                Ok(())
            }
        };
        too_big("block bitmap", self.block_bitmap.0, 32)?;
        too_big("inode bitmap", self.inode_bitmap.0, 32)?;
        too_big("inode table", self.inode_table.0, 32)?;
        too_big("free blocks", self.free_blocks_count as u64, 16)?;
        too_big("free inodes", self.free_inodes_count as u64, 16)?;
        too_big("used dirs", self.used_dirs_count as u64, 16)?;
        too_big("unused inodes", self.itable_unused as u64, 16)?;
        // The bitmap checksums are crc32c values: the short form keeps
        // only their low half, by design.
        let (d, rest) =
            Ext4GroupDesc::mut_from_prefix(raw).map_err(|_| CorruptKind::GroupDescShort)?;
        d.bg_block_bitmap_lo.set(self.block_bitmap.0 as u32);
        d.bg_inode_bitmap_lo.set(self.inode_bitmap.0 as u32);
        d.bg_inode_table_lo.set(self.inode_table.0 as u32);
        d.bg_free_blocks_count_lo.set(self.free_blocks_count as u16);
        d.bg_free_inodes_count_lo.set(self.free_inodes_count as u16);
        d.bg_used_dirs_count_lo.set(self.used_dirs_count as u16);
        d.bg_flags.set(self.flags);
        d.bg_block_bitmap_csum_lo.set(self.block_bitmap_csum as u16);
        d.bg_inode_bitmap_csum_lo.set(self.inode_bitmap_csum as u16);
        d.bg_itable_unused_lo.set(self.itable_unused as u16);
        if wide {
            let (h, _) =
                Ext4GroupDescHi::mut_from_prefix(rest).map_err(|_| CorruptKind::GroupDescShort)?;
            h.bg_block_bitmap_hi.set((self.block_bitmap.0 >> 32) as u32);
            h.bg_inode_bitmap_hi.set((self.inode_bitmap.0 >> 32) as u32);
            h.bg_inode_table_hi.set((self.inode_table.0 >> 32) as u32);
            h.bg_free_blocks_count_hi
                .set((self.free_blocks_count >> 16) as u16);
            h.bg_free_inodes_count_hi
                .set((self.free_inodes_count >> 16) as u16);
            h.bg_used_dirs_count_hi
                .set((self.used_dirs_count >> 16) as u16);
            h.bg_itable_unused_hi.set((self.itable_unused >> 16) as u16);
            h.bg_block_bitmap_csum_hi
                .set((self.block_bitmap_csum >> 16) as u16);
            h.bg_inode_bitmap_csum_hi
                .set((self.inode_bitmap_csum >> 16) as u16);
        }
        Ok(())
    }

    /// Computes and stores bg_checksum for the descriptor bytes `raw` of
    /// group `group` (metadata_csum or gdt_csum); returns it, or None
    /// (and leaves `raw` alone) when the filesystem has no descriptor
    /// checksums.
    pub fn set_checksum(sb: &Superblock, group: u32, raw: &mut [u8]) -> Option<u16> {
        let c = Self::expected_checksum(sb, group, raw)?;
        Ext4GroupDesc::mut_from_prefix(raw)
            .ok()?
            .0
            .bg_checksum
            .set(c);
        Some(c)
    }

    /// The checksum the descriptor bytes `b` of group `group` should carry,
    /// or None when the filesystem has no descriptor checksums.
    pub fn expected_checksum(sb: &Superblock, group: u32, b: &[u8]) -> Option<u16> {
        let ds = sb.desc_size as usize;
        let gle = group.to_le_bytes();
        if sb.metadata_csum() {
            let mut crc = crc32c_raw(sb.csum_seed(), &gle);
            crc = crc32c_raw(crc, &b[..CHECKSUM_OFFSET]);
            crc = crc32c_raw(crc, &[0, 0]);
            crc = crc32c_raw(crc, &b[CHECKSUM_OFFSET + 2..ds]);
            Some((crc & 0xFFFF) as u16)
        } else if sb.gdt_csum() {
            let mut crc = crc16(!0, &sb.uuid);
            crc = crc16(crc, &gle);
            crc = crc16(crc, &b[..CHECKSUM_OFFSET]);
            if ds > CHECKSUM_OFFSET + 2 {
                crc = crc16(crc, &b[CHECKSUM_OFFSET + 2..ds]);
            }
            Some(crc)
        } else {
            None
        }
    }

    /// Checks the checksum and that the metadata blocks lie inside the
    /// filesystem.
    pub fn verify(&self, sb: &Superblock, group: u32, b: &[u8]) -> Result<(), FormatError> {
        if let Some(want) = Self::expected_checksum(sb, group, b)
            && want != self.checksum
        {
            return Err(FormatError::BadChecksum {
                what: ChecksumOf::GroupDesc { group },
            });
        }
        let itable_blocks =
            (sb.inodes_per_group as u64 * sb.inode_size as u64).div_ceil(sb.block_size() as u64);
        let in_fs = |b: BlockNo, len: u64| {
            b.0 >= sb.first_data_block as u64
                && b.0.checked_add(len).is_some_and(|e| e <= sb.blocks_count)
        };
        if !in_fs(self.block_bitmap, 1)
            || !in_fs(self.inode_bitmap, 1)
            || !in_fs(self.inode_table, itable_blocks)
        {
            return Err(CorruptKind::GroupDescOutside { group }.into());
        }
        Ok(())
    }

    /// Whether inode slot `index` (0-based within the group) can hold an
    /// initialised inode: uninitialised tables hold garbage.
    pub fn inode_slot_initialised(&self, sb: &Superblock, index: u32) -> bool {
        if !(sb.metadata_csum() || sb.gdt_csum()) {
            return true;
        }
        if self.flags & BG_INODE_UNINIT != 0 {
            return false;
        }
        index < sb.inodes_per_group.saturating_sub(self.itable_unused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sb(desc_size: u16, csum: bool) -> Superblock {
        use crate::ext4::superblock::{incompat, ro_compat, test_superblock_bytes};
        let inc = if desc_size >= 64 { incompat::BIT64 } else { 0 };
        let ro = if csum { ro_compat::METADATA_CSUM } else { 0 };
        Superblock::parse(&test_superblock_bytes(0, inc, ro, desc_size)).unwrap()
    }

    fn desc(wide: bool) -> GroupDesc {
        let big = |v: u64| if wide { v << 32 | 7 } else { 7 };
        let half = |v: u32| if wide { v << 16 | 9 } else { 9 };
        GroupDesc {
            block_bitmap: BlockNo(big(1) + 1),
            inode_bitmap: BlockNo(big(2) + 2),
            inode_table: BlockNo(big(3) + 3),
            free_blocks_count: half(4),
            free_inodes_count: half(5),
            used_dirs_count: half(6),
            flags: BG_INODE_ZEROED,
            itable_unused: half(7),
            block_bitmap_csum: 0xDEAD_BEEF,
            inode_bitmap_csum: 0xFEED_F00D,
            checksum: 0,
        }
    }

    #[test]
    fn write_to_round_trips_both_sizes() {
        for (ds, wide) in [(32u16, false), (64, true), (128, true)] {
            let sb = sb(ds, true);
            let d = desc(wide);
            let mut raw = vec![0xA5u8; ds as usize];
            d.write_to(&sb, &mut raw).unwrap();
            let c = GroupDesc::set_checksum(&sb, 3, &mut raw).unwrap();
            let back = GroupDesc::parse(&sb, &raw);
            let mut want = d;
            if !wide {
                want.block_bitmap_csum &= 0xFFFF;
                want.inode_bitmap_csum &= 0xFFFF;
            }
            want.checksum = c;
            assert_eq!(back, want, "{ds}");
            assert_eq!(
                GroupDesc::expected_checksum(&sb, 3, &raw),
                Some(back.checksum)
            );
            // Unmodelled bytes (exclude bitmap, padding) are untouched.
            assert_eq!(&raw[0x14..0x18], &[0xA5; 4]);
            if wide {
                assert_eq!(&raw[0x34..0x38], &[0xA5; 4]);
                assert!(raw[0x3C..].iter().all(|&b| b == 0xA5));
            }
        }
    }

    #[test]
    fn short_descriptors_refuse_wide_values() {
        let sb = sb(32, false);
        let mut raw = vec![0u8; 32];
        assert!(desc(true).write_to(&sb, &mut raw).is_err());
        assert_eq!(raw, vec![0u8; 32]);
        // No descriptor checksum feature: the field is left alone.
        raw[CHECKSUM_OFFSET] = 0x42;
        assert_eq!(GroupDesc::set_checksum(&sb, 0, &mut raw), None);
        assert_eq!(raw[CHECKSUM_OFFSET], 0x42);
    }
}
