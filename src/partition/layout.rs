//! The partition-table structures this module reads itself, as typed
//! little-endian layouts with the UEFI specification's field names
//! (section 5, "GUID Partition Table (GPT) Disk Layout"; util-linux's
//! libfdisk names them alike: `struct dos_partition`, `struct
//! gpt_header`). The partition entries themselves are decoded by the
//! `mbrman` and `gptman` crates; these layouts cover what is read before
//! them: the first sector's boot signature and partition types, and the
//! GPT header fields checked before gptman trusts a header.

use zerocopy::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `Signature` of a legacy or protective MBR (bytes 0x55, 0xAA).
pub const MBR_SIGNATURE: u16 = 0xAA55;

/// `Signature` of a GPT header.
pub const GPT_HEADER_SIGNATURE: [u8; 8] = *b"EFI PART";

/// One of the MBR's four partition records (UEFI table 5-2; libfdisk's
/// `struct dos_partition`).
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct MbrPartitionRecord {
    /// 0x80: bootable; 0x00: not (any other value is invalid).
    pub boot_indicator: u8,
    pub starting_chs: [u8; 3],
    /// The partition type (`sys_ind` in libfdisk): 0xEE for a GPT's
    /// protective partition.
    pub os_type: u8,
    pub ending_chs: [u8; 3],
    pub starting_lba: U32,
    pub size_in_lba: U32,
}

/// The legacy MBR, sector 0 of a disk (UEFI table 5-1).
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct MasterBootRecord {
    pub boot_code: [u8; 440],
    pub unique_mbr_disk_signature: U32,
    pub unknown: U16,
    pub partition_record: [MbrPartitionRecord; 4],
    /// [`MBR_SIGNATURE`] when the sector holds a table.
    pub signature: U16,
}

/// The GPT header (UEFI table 5-5; libfdisk's `struct gpt_header`): the
/// first `header_size` (92) bytes of its sector, which its CRC covers.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct GptHeader {
    /// [`GPT_HEADER_SIGNATURE`].
    pub signature: [u8; 8],
    pub revision: U32,
    /// The bytes `header_crc32` covers: 92 in every GPT made so far.
    pub header_size: U32,
    /// CRC-32 of the header's `header_size` bytes, this field zero.
    pub header_crc32: U32,
    pub reserved: U32,
    pub my_lba: U64,
    pub alternate_lba: U64,
    pub first_usable_lba: U64,
    pub last_usable_lba: U64,
    pub disk_guid: EfiGuid,
    pub partition_entry_lba: U64,
    pub number_of_partition_entries: U32,
    pub size_of_partition_entry: U32,
    pub partition_entry_array_crc32: U32,
}

/// `EFI_GUID` (UEFI appendix A): its first three fields little-endian,
/// `data4` as bytes, which is why a GUID's text is not its bytes in order.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct EfiGuid {
    pub data1: U32,
    pub data2: U16,
    pub data3: U16,
    pub data4: [u8; 8],
}

const _: () = assert!(size_of::<MbrPartitionRecord>() == 16);
const _: () = assert!(size_of::<MasterBootRecord>() == 512);
const _: () = assert!(size_of::<GptHeader>() == 92);
const _: () = assert!(size_of::<EfiGuid>() == 16);
// The offsets the UEFI tables give.
const _: () = {
    use core::mem::offset_of;
    assert!(offset_of!(MbrPartitionRecord, os_type) == 4);
    assert!(offset_of!(MbrPartitionRecord, starting_lba) == 8);
    assert!(offset_of!(MasterBootRecord, unique_mbr_disk_signature) == 440);
    assert!(offset_of!(MasterBootRecord, partition_record) == 446);
    assert!(offset_of!(MasterBootRecord, signature) == 510);
    assert!(offset_of!(GptHeader, header_size) == 12);
    assert!(offset_of!(GptHeader, header_crc32) == 16);
    assert!(offset_of!(GptHeader, my_lba) == 24);
    assert!(offset_of!(GptHeader, disk_guid) == 56);
    assert!(offset_of!(GptHeader, partition_entry_lba) == 72);
    assert!(offset_of!(GptHeader, number_of_partition_entries) == 80);
    assert!(offset_of!(GptHeader, size_of_partition_entry) == 84);
    assert!(offset_of!(GptHeader, partition_entry_array_crc32) == 88);
};
