//! The journal superblock: the first block of the journal (1024 bytes
//! used), naming the log's extent and, when the log holds transactions to
//! replay, where the oldest one starts (`s_start` != 0) and its id.

use zerocopy::{FromBytes, IntoBytes};

use super::layout::JournalSuperblockRaw;
use super::{Jbd2Error, MAGIC, blocktype, feature, jbd2_crc};

/// Bytes of the journal superblock that are read and written.
pub const JSB_SIZE: usize = size_of::<JournalSuperblockRaw>();
/// `s_checksum_type` for crc32c.
pub const CSUM_TYPE_CRC32C: u8 = 4;

/// A parsed journal superblock. Fields not listed here are preserved from
/// the raw bytes when written back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalSuperblock {
    /// 3 (v1) or 4 (v2).
    pub version_blocktype: u32,
    pub block_size: u32,
    /// Journal length in blocks.
    pub maxlen: u32,
    /// First block of the log ring.
    pub first: u32,
    /// The id expected of the transaction at `start`.
    pub sequence: u32,
    /// Log block of the oldest transaction to replay; 0: nothing to replay.
    pub start: u32,
    pub errno: i32,
    pub compat: u32,
    pub incompat: u32,
    pub ro_compat: u32,
    pub uuid: [u8; 16],
    pub nr_users: u32,
    pub checksum_type: u8,
    /// Fast-commit blocks at the end of the journal (0: the default when
    /// the feature is on).
    pub num_fc_blocks: u32,
    raw: Vec<u8>,
}

impl JournalSuperblock {
    /// Parses and checks the first 1024 bytes of the journal.
    pub fn parse(b: &[u8]) -> Result<Self, Jbd2Error> {
        let Ok((r, _)) = JournalSuperblockRaw::ref_from_prefix(b) else {
            return Err(Jbd2Error::BadSuperblock("shorter than 1024 bytes".into()));
        };
        if r.s_header.h_magic.get() != MAGIC {
            return Err(Jbd2Error::BadSuperblock("bad magic".into()));
        }
        let version_blocktype = r.s_header.h_blocktype.get();
        if version_blocktype != blocktype::SUPERBLOCK_V1
            && version_blocktype != blocktype::SUPERBLOCK_V2
        {
            return Err(Jbd2Error::BadSuperblock(format!(
                "block type {version_blocktype} is not a superblock"
            )));
        }
        let v2 = version_blocktype == blocktype::SUPERBLOCK_V2;
        // A version 1 superblock ends after s_errno.
        let v2_field = |f: &zerocopy::big_endian::U32| if v2 { f.get() } else { 0 };
        let sb = JournalSuperblock {
            version_blocktype,
            block_size: r.s_blocksize.get(),
            maxlen: r.s_maxlen.get(),
            first: r.s_first.get(),
            sequence: r.s_sequence.get(),
            start: r.s_start.get(),
            errno: r.s_errno.get() as i32,
            compat: v2_field(&r.s_feature_compat),
            incompat: v2_field(&r.s_feature_incompat),
            ro_compat: v2_field(&r.s_feature_ro_compat),
            uuid: if v2 { r.s_uuid } else { [0; 16] },
            nr_users: v2_field(&r.s_nr_users),
            checksum_type: if v2 { r.s_checksum_type } else { 0 },
            num_fc_blocks: v2_field(&r.s_num_fc_blks),
            raw: b[..JSB_SIZE].to_vec(),
        };
        sb.check()?;
        Ok(sb)
    }

    fn check(&self) -> Result<(), Jbd2Error> {
        let bad = |m: String| Err(Jbd2Error::BadSuperblock(m));
        if !(1024..=65536).contains(&self.block_size) || !self.block_size.is_power_of_two() {
            return bad(format!("block size {}", self.block_size));
        }
        if self.first == 0 || self.first >= self.maxlen {
            return bad(format!(
                "log starts at block {} of {}",
                self.first, self.maxlen
            ));
        }
        if self.start != 0 && (self.start < self.first || self.start >= self.maxlen) {
            return bad(format!(
                "log head {} outside {}..{}",
                self.start, self.first, self.maxlen
            ));
        }
        let unknown = self.incompat & !feature::INCOMPAT_KNOWN;
        if unknown != 0 {
            let what = if unknown & feature::INCOMPAT_FAST_COMMIT != 0 {
                "fast_commit".to_string()
            } else {
                format!("incompat 0x{unknown:x}")
            };
            return Err(Jbd2Error::Unsupported(what));
        }
        if self.ro_compat != 0 {
            return Err(Jbd2Error::Unsupported(format!(
                "ro_compat 0x{:x}",
                self.ro_compat
            )));
        }
        if self.csum_v2or3() {
            if self.compat & feature::COMPAT_CHECKSUM != 0 {
                return bad("both checksum v1 and v2/v3".into());
            }
            if self.checksum_type != CSUM_TYPE_CRC32C {
                return bad(format!("checksum type {}", self.checksum_type));
            }
            let want = superblock_checksum(&self.raw);
            if raw_of(&self.raw).s_checksum.get() != want {
                return Err(Jbd2Error::BadSuperblockChecksum);
            }
        }
        if self.nr_users > 1 {
            return Err(Jbd2Error::Unsupported(format!(
                "a journal shared by {} filesystems",
                self.nr_users
            )));
        }
        Ok(())
    }

    /// Whether block checksums are v2 or v3 (crc32c).
    pub fn csum_v2or3(&self) -> bool {
        self.incompat & (feature::INCOMPAT_CSUM_V2 | feature::INCOMPAT_CSUM_V3) != 0
    }

    pub fn has_incompat(&self, f: u32) -> bool {
        self.incompat & f != 0
    }

    /// The seed of every block checksum: crc32c(~0, uuid).
    pub fn csum_seed(&self) -> u32 {
        jbd2_crc(!0, &self.uuid)
    }

    /// Blocks usable by the log ring (the fast-commit area, when present,
    /// sits after it).
    pub fn log_end(&self) -> u32 {
        self.maxlen
    }

    /// Serializes into 1024 bytes (other fields kept as read), with the
    /// checksum when the journal has checksums v2/v3.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = self.raw.clone();
        let r = raw_of_mut(&mut b);
        r.s_header.h_magic.set(MAGIC);
        r.s_header.h_blocktype.set(self.version_blocktype);
        r.s_blocksize.set(self.block_size);
        r.s_maxlen.set(self.maxlen);
        r.s_first.set(self.first);
        r.s_sequence.set(self.sequence);
        r.s_start.set(self.start);
        r.s_errno.set(self.errno as u32);
        if self.version_blocktype == blocktype::SUPERBLOCK_V2 {
            r.s_feature_compat.set(self.compat);
            r.s_feature_incompat.set(self.incompat);
            r.s_feature_ro_compat.set(self.ro_compat);
            r.s_uuid = self.uuid;
            r.s_nr_users.set(self.nr_users);
            r.s_checksum_type = self.checksum_type;
            r.s_num_fc_blks.set(self.num_fc_blocks);
            let c = if self.csum_v2or3() {
                superblock_checksum(&b)
            } else {
                0
            };
            raw_of_mut(&mut b).s_checksum.set(c);
        }
        b
    }

    /// Turns on the checksum features the kernel turns on when it mounts a
    /// metadata_csum filesystem (v3, crc32c), dropping v1/v2. Needs a v2
    /// superblock; returns whether anything changed.
    pub fn enable_csum_v3(&mut self) -> bool {
        if self.version_blocktype != blocktype::SUPERBLOCK_V2 {
            return false;
        }
        let before = (self.compat, self.incompat, self.checksum_type);
        self.compat &= !feature::COMPAT_CHECKSUM;
        self.incompat &= !feature::INCOMPAT_CSUM_V2;
        self.incompat |= feature::INCOMPAT_CSUM_V3;
        self.checksum_type = CSUM_TYPE_CRC32C;
        before != (self.compat, self.incompat, self.checksum_type)
    }
}

/// The superblock laid over `raw` (a copy of at least [`JSB_SIZE`]
/// bytes, which `parse` checked).
fn raw_of(raw: &[u8]) -> &JournalSuperblockRaw {
    JournalSuperblockRaw::ref_from_prefix(raw)
        .expect("parse kept 1024 bytes")
        .0
}

fn raw_of_mut(raw: &mut [u8]) -> &mut JournalSuperblockRaw {
    JournalSuperblockRaw::mut_from_prefix(raw)
        .expect("parse kept 1024 bytes")
        .0
}

/// crc32c(~0, the 1024 bytes with s_checksum zeroed).
fn superblock_checksum(b: &[u8]) -> u32 {
    let mut copy = *raw_of(b);
    copy.s_checksum.set(0);
    jbd2_crc(!0, copy.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jbd2::put_be32;

    fn sample() -> Vec<u8> {
        let mut b = vec![0u8; JSB_SIZE];
        put_be32(&mut b, 0, MAGIC);
        put_be32(&mut b, 4, blocktype::SUPERBLOCK_V2);
        put_be32(&mut b, 0xC, 4096);
        put_be32(&mut b, 0x10, 1024);
        put_be32(&mut b, 0x14, 1);
        put_be32(&mut b, 0x18, 7);
        put_be32(&mut b, 0x40, 1);
        b[0x30..0x40].copy_from_slice(&[0xAB; 16]);
        b
    }

    #[test]
    fn round_trips_and_checksums() {
        let mut sb = JournalSuperblock::parse(&sample()).unwrap();
        assert_eq!(
            (sb.maxlen, sb.first, sb.sequence, sb.start),
            (1024, 1, 7, 0)
        );
        assert!(sb.enable_csum_v3());
        sb.start = 5;
        let bytes = sb.to_bytes();
        let again = JournalSuperblock::parse(&bytes).unwrap();
        assert_eq!(again.start, 5);
        assert!(again.has_incompat(feature::INCOMPAT_CSUM_V3));
        let mut broken = bytes.clone();
        broken[0x18] ^= 1;
        assert!(matches!(
            JournalSuperblock::parse(&broken),
            Err(Jbd2Error::BadSuperblockChecksum)
        ));
    }

    #[test]
    fn refuses_bad_geometry_and_unknown_features() {
        let mut b = sample();
        put_be32(&mut b, 0x14, 2000);
        assert!(JournalSuperblock::parse(&b).is_err());
        let mut b = sample();
        put_be32(&mut b, 0x28, feature::INCOMPAT_FAST_COMMIT);
        assert!(matches!(
            JournalSuperblock::parse(&b),
            Err(Jbd2Error::Unsupported(_))
        ));
        let mut b = sample();
        put_be32(&mut b, 0x1C, 5000);
        assert!(JournalSuperblock::parse(&b).is_err());
    }
}
