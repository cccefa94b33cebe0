//! GUID partition tables, read with the `gptman` crate. Before the crate
//! sees a header it would trust (signature and checksum good), the fields
//! it sizes memory and arithmetic by are checked here: gptman asserts on
//! an entry size other than 128 and reserves room for the entry count
//! the header claims.

use super::reader::TableReader;
use super::{Kind, Partition, TableError};

/// The largest entry array accepted (sgdisk makes 128 entries; the UEFI
/// minimum array is 16 KiB).
pub const MAX_ENTRIES: u32 = 4096;
/// The only entry size gptman reads.
const ENTRY_SIZE: u32 = 128;
/// The header bytes covered by its checksum.
const HEADER_SIZE: usize = 92;

/// The partitions of the GPT, for the sector size it is found with.
pub fn read(r: &mut TableReader<'_>, len: u64) -> Result<(u64, Vec<Partition>), TableError> {
    for ss in [512u64, 4096] {
        check_header(r, ss, ss, len)?;
        if len >= ss {
            check_header(r, (len / ss - 1) * ss, ss, len)?;
        }
        match gptman::GPT::read_from(r, ss) {
            Ok(gpt) => return Ok((ss, partitions(&gpt, ss, len)?)),
            // No header at this sector size: try the next (as gptman's
            // find_from); any other failure is the answer.
            Err(gptman::Error::InvalidSignature) => {}
            Err(e) => return Err(r.failure(format!("GPT: {e}"))),
        }
    }
    Err(r.failure(
        "GPT: the protective MBR names one, but no GPT header is found (512- or 4096-byte sectors)"
            .into(),
    ))
}

/// Refuses a header at `at` that gptman would trust but that claims an
/// entry array it cannot read safely.
fn check_header(r: &mut TableReader<'_>, at: u64, ss: u64, len: u64) -> Result<(), TableError> {
    let mut h = [0u8; HEADER_SIZE];
    if at.checked_add(HEADER_SIZE as u64).is_none_or(|e| e > len) {
        return Ok(());
    }
    r.read_exact_at(at, &mut h)?;
    let u32_at = |o: usize| u32::from_le_bytes(h[o..o + 4].try_into().expect("4 bytes"));
    let u64_at = |o: usize| u64::from_le_bytes(h[o..o + 8].try_into().expect("8 bytes"));
    if &h[..8] != b"EFI PART" || u32_at(12) != HEADER_SIZE as u32 {
        return Ok(());
    }
    let mut zeroed = h;
    zeroed[16..20].fill(0);
    if crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(&zeroed) != u32_at(16) {
        return Ok(()); // gptman refuses it itself
    }
    let (entries, size, lba) = (u32_at(80), u32_at(84), u64_at(72));
    let bad = |why: String| {
        Err(TableError::Unreadable(format!(
            "GPT header at byte {at}: {why}"
        )))
    };
    if size != ENTRY_SIZE {
        return bad(format!("entry size {size}, not {ENTRY_SIZE}"));
    }
    if entries > MAX_ENTRIES {
        return bad(format!(
            "{entries} entries (at most {MAX_ENTRIES} accepted)"
        ));
    }
    let end = lba
        .checked_mul(ss)
        .and_then(|o| o.checked_add(u64::from(entries) * u64::from(size)));
    if end.is_none_or(|e| e > len) {
        return bad(format!(
            "the entry array at sector {lba} lies past the end of the image"
        ));
    }
    Ok(())
}

/// The used entries, numbered as Linux does (the entry's index from 1).
fn partitions(gpt: &gptman::GPT, ss: u64, len: u64) -> Result<Vec<Partition>, TableError> {
    let mut out = Vec::new();
    for (n, e) in gpt.iter() {
        if !e.is_used() {
            continue;
        }
        let span = (e.starting_lba <= e.ending_lba)
            .then(|| {
                let start = e.starting_lba.checked_mul(ss)?;
                let size = (e.ending_lba - e.starting_lba + 1).checked_mul(ss)?;
                Some((start, size))
            })
            .flatten();
        let Some((start, size)) = span else {
            return Err(TableError::BadEntry {
                number: n,
                why: format!(
                    "sectors {}..{} are not a range",
                    e.starting_lba, e.ending_lba
                ),
            });
        };
        out.push(Partition {
            number: n,
            start,
            size,
            kind: Kind::Gpt(e.partition_type_guid),
            name: e.partition_name.as_str().trim_end_matches('\0').to_string(),
            ext: None,
        });
    }
    super::check_layout(&out, len)?;
    Ok(out)
}
