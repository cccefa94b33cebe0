//! MBR (DOS) partition tables, read with the `mbrman` crate, logical
//! partitions of an extended one included (numbered from 5, as Linux).

use super::layout::{MasterBootRecord, MbrPartitionRecord};
use super::reader::TableReader;
use super::{Kind, Partition, TableError};

/// MBR sector size (tables on 4Kn disks are GPT in practice).
const SECTOR: u64 = 512;

/// Whether a type code marks an extended partition (a container).
pub fn is_extended(sys: u8) -> bool {
    matches!(sys, 0x05 | 0x0f | 0x85)
}

/// The partition type of a GPT's protective MBR record.
const PROTECTIVE: u8 = 0xee;

/// Whether the first sector's table (its signature checked) is a GPT's
/// protective MBR. A record whose boot indicator is neither value makes
/// the table unreadable, with mbrman's error, as mbrman's own read of the
/// sector refuses it.
pub fn is_protective(sector0: &MasterBootRecord) -> Result<bool, TableError> {
    let records = &sector0.partition_record;
    let boot_ok = |p: &MbrPartitionRecord| {
        matches!(
            p.boot_indicator,
            mbrman::BOOT_ACTIVE | mbrman::BOOT_INACTIVE
        )
    };
    if !records.iter().all(boot_ok) {
        return Err(TableError::Unreadable(format!(
            "MBR: {}",
            mbrman::Error::InvalidBootFlag
        )));
    }
    Ok(records.iter().any(|p| p.os_type == PROTECTIVE))
}

/// The partitions of the MBR (extended containers included, as Linux lists
/// them).
pub fn read(r: &mut TableReader<'_>, len: u64) -> Result<Vec<Partition>, TableError> {
    let mbr = match mbrman::MBR::read_from(r, SECTOR as u32) {
        Ok(m) => m,
        Err(e) => return Err(r.failure(format!("MBR: {e}"))),
    };
    let extended = mbr
        .header
        .iter()
        .find(|(_, p)| p.is_used() && is_extended(p.sys))
        .map(|(_, p)| p.starting_lba);
    // mbrman adds the table's u32 sector numbers; a sum that wrapped is
    // smaller than what it added.
    for (i, l) in mbr.logical_partitions.iter().enumerate() {
        let wrapped = extended.is_some_and(|x| l.absolute_ebr_lba < x)
            || l.partition.starting_lba < l.absolute_ebr_lba;
        if wrapped {
            return Err(TableError::BadEntry {
                number: (i + 5) as u32,
                why: "its start overflows 32-bit sector numbers".into(),
            });
        }
    }
    let out: Vec<Partition> = mbr
        .iter()
        .filter(|(_, p)| p.is_used() && p.sectors > 0)
        .map(|(n, p)| Partition {
            number: n as u32,
            start: u64::from(p.starting_lba) * SECTOR,
            size: u64::from(p.sectors) * SECTOR,
            kind: Kind::Mbr(p.sys),
            name: String::new(),
            ext: None,
        })
        .collect();
    super::check_layout(&out, len)?;
    Ok(out)
}
