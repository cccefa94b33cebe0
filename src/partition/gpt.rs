//! GUID partition tables, read with the `gptman` crate. Before the crate
//! sees a header it would trust (signature and checksum good), the fields
//! it sizes memory and arithmetic by are checked here: gptman asserts on
//! an entry size other than 128 and reserves room for the entry count
//! the header claims.

use zerocopy::{FromZeros, IntoBytes};

use super::layout::{GPT_HEADER_SIGNATURE, GptHeader};
use super::reader::TableReader;
use super::{Kind, Partition, TableError};

/// The largest entry array accepted (sgdisk makes 128 entries; the UEFI
/// minimum array is 16 KiB).
pub const MAX_ENTRIES: u32 = 4096;
/// The only entry size gptman reads.
const ENTRY_SIZE: u32 = 128;
/// The header bytes covered by its checksum (`header_size`).
const HEADER_SIZE: usize = size_of::<GptHeader>();

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
    let mut h = GptHeader::new_zeroed();
    if at.checked_add(HEADER_SIZE as u64).is_none_or(|e| e > len) {
        return Ok(());
    }
    r.read_exact_at(at, h.as_mut_bytes())?;
    if h.signature != GPT_HEADER_SIGNATURE || h.header_size.get() != HEADER_SIZE as u32 {
        return Ok(());
    }
    let mut zeroed = h;
    zeroed.header_crc32.set(0);
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(zeroed.as_bytes());
    if crc != h.header_crc32.get() {
        return Ok(()); // gptman refuses it itself
    }
    let (entries, size, lba) = (
        h.number_of_partition_entries.get(),
        h.size_of_partition_entry.get(),
        h.partition_entry_lba.get(),
    );
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
