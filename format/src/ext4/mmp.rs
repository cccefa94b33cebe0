//! The multi-mount protection block (`struct mmp_struct`, feature `mmp`):
//! the block s_mmp_block names, which a mounted filesystem's owner
//! rewrites with a new sequence number every s_mmp_update_interval
//! seconds, so that another node finds the sequence moving and keeps off.

use zerocopy::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::csum::crc32c_raw;
use super::{ChecksumOf, CorruptKind, FormatError};

/// mmp_magic.
pub const MAGIC: u32 = 0x004D_4D50;
/// mmp_seq of a filesystem nobody has mounted.
pub const SEQ_CLEAN: u32 = 0xFF4D_4D50;
/// mmp_seq while e2fsck runs on the filesystem.
pub const SEQ_FSCK: u32 = 0xE24D_4D50;
/// The largest sequence number a mounted owner writes.
pub const SEQ_MAX: u32 = 0xE24D_4D4F;
/// The shortest check interval the kernel uses, seconds
/// (EXT4_MMP_MIN_CHECK_INTERVAL).
pub const MIN_CHECK_INTERVAL: u16 = 5;
/// The longest update interval the kernel accepts, seconds
/// (EXT4_MMP_MAX_UPDATE_INTERVAL).
pub const MAX_UPDATE_INTERVAL: u16 = 300;

/// `struct mmp_struct`: 1024 bytes at the start of the MMP block.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct MmpBlock {
    pub mmp_magic: U32,
    pub mmp_seq: U32,
    /// Seconds since the epoch of the last update.
    pub mmp_time: U64,
    /// The owner's host name, NUL-padded.
    pub mmp_nodename: [u8; 64],
    /// The owner's device (or image) name, NUL-padded.
    pub mmp_bdevname: [u8; 32],
    /// How long another node waits for the sequence to move, seconds.
    pub mmp_check_interval: U16,
    pub mmp_pad1: U16,
    pub mmp_pad2: [U32; 226],
    /// crc32c of everything before it, with metadata_csum.
    pub mmp_checksum: U32,
}

/// The size of [`MmpBlock`].
pub const MMP_SIZE: usize = 1024;
const _: () = assert!(size_of::<MmpBlock>() == MMP_SIZE);

/// Bytes the checksum covers.
const CSUM_OFFSET: usize = core::mem::offset_of!(MmpBlock, mmp_checksum);

fn name_bytes<const N: usize>(name: &str) -> [u8; N] {
    let mut out = [0u8; N];
    // Kept NUL-terminated, as the kernel's strscpy leaves it.
    let n = name.len().min(N - 1);
    out[..n].copy_from_slice(&name.as_bytes()[..n]);
    out
}

fn name_str(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

impl MmpBlock {
    /// Reads the block's first 1024 bytes. With `csum_seed` (metadata_csum)
    /// the checksum must match; the magic must always.
    pub fn parse(b: &[u8], csum_seed: Option<u32>) -> Result<MmpBlock, FormatError> {
        let (m, _) = MmpBlock::read_from_prefix(b).map_err(|_| CorruptKind::MmpShort)?;
        if m.mmp_magic.get() != MAGIC {
            return Err(FormatError::BadMagic { what: "MMP block" });
        }
        if let Some(seed) = csum_seed
            && crc32c_raw(seed, &b[..CSUM_OFFSET]) != m.mmp_checksum.get()
        {
            return Err(FormatError::BadChecksum {
                what: ChecksumOf::Mmp,
            });
        }
        Ok(m)
    }

    /// Sets the owner's names, sequence, time and check interval.
    pub fn stamp(&mut self, seq: u32, time: u64, node: &str, device: &str, check_interval: u16) {
        self.mmp_magic.set(MAGIC);
        self.mmp_seq.set(seq);
        self.mmp_time.set(time);
        self.mmp_nodename = name_bytes(node);
        self.mmp_bdevname = name_bytes(device);
        self.mmp_check_interval.set(check_interval);
    }

    /// The 1024 bytes to write, checksummed when `csum_seed` is given.
    pub fn to_bytes(&self, csum_seed: Option<u32>) -> [u8; MMP_SIZE] {
        let mut out = [0u8; MMP_SIZE];
        out.copy_from_slice(self.as_bytes());
        let csum = csum_seed.map_or(0, |seed| crc32c_raw(seed, &out[..CSUM_OFFSET]));
        MmpBlock::mut_from_bytes(&mut out)
            .expect("MMP_SIZE is the layout's size")
            .mmp_checksum
            .set(csum);
        out
    }

    /// The owner's host name.
    pub fn node(&self) -> String {
        name_str(&self.mmp_nodename)
    }

    /// The owner's device name.
    pub fn device(&self) -> String {
        name_str(&self.mmp_bdevname)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerocopy::FromZeros;

    #[test]
    fn round_trips_with_its_checksum() {
        let mut m = MmpBlock::new_zeroed();
        m.stamp(0x1234, 1_700_000_000, "host-a", "/images/disk.img", 7);
        let b = m.to_bytes(Some(0xDEAD));
        let back = MmpBlock::parse(&b, Some(0xDEAD)).unwrap();
        assert_eq!(back.mmp_seq.get(), 0x1234);
        assert_eq!(
            (back.node().as_str(), back.device().as_str()),
            ("host-a", "/images/disk.img")
        );
        assert_eq!(back.mmp_check_interval.get(), 7);
        assert!(matches!(
            MmpBlock::parse(&b, Some(0xBEEF)),
            Err(FormatError::BadChecksum { .. })
        ));
        // Without metadata_csum the checksum field is neither kept nor read.
        assert!(MmpBlock::parse(&m.to_bytes(None), None).is_ok());
        let mut bad = b;
        bad[0] ^= 1;
        assert!(matches!(
            MmpBlock::parse(&bad, None),
            Err(FormatError::BadMagic { .. })
        ));
    }

    #[test]
    fn long_names_are_cut_and_stay_terminated() {
        let mut m = MmpBlock::new_zeroed();
        let long = "n".repeat(100);
        m.stamp(1, 0, &long, &long, 5);
        assert_eq!(m.node().len(), 63);
        assert_eq!(m.device().len(), 31);
        assert_eq!((m.mmp_nodename[63], m.mmp_bdevname[31]), (0, 0));
    }
}
