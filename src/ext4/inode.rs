//! The on-disk inode: fields, timestamps, checksum.

use super::csum::crc32c_raw;
use super::superblock::{Superblock, incompat, ro_compat};
use super::types::{le16, le32};
use super::{FormatError, Generation, InodeNo};

/// The part of an inode every revision has.
pub const GOOD_OLD_INODE_SIZE: usize = 128;

/// i_flags bits.
pub mod flags {
    pub const INDEX: u32 = 0x1000;
    pub const HUGE_FILE: u32 = 0x40000;
    pub const EXTENTS: u32 = 0x80000;
    pub const VERITY: u32 = 0x100000;
    pub const EA_INODE: u32 = 0x200000;
    pub const INLINE_DATA: u32 = 0x10000000;
    pub const ENCRYPT: u32 = 0x800;
    pub const CASEFOLD: u32 = 0x40000000;
}

/// File type bits of i_mode.
pub mod mode {
    pub const S_IFMT: u16 = 0o170000;
    pub const S_IFSOCK: u16 = 0o140000;
    pub const S_IFLNK: u16 = 0o120000;
    pub const S_IFREG: u16 = 0o100000;
    pub const S_IFBLK: u16 = 0o060000;
    pub const S_IFDIR: u16 = 0o040000;
    pub const S_IFCHR: u16 = 0o020000;
    pub const S_IFIFO: u16 = 0o010000;
}

/// Size of i_block.
pub const I_BLOCK_SIZE: usize = 60;

/// A timestamp decoded from a 32-bit base and the optional extra word.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timestamp {
    pub sec: i64,
    pub nsec: u32,
}

impl Timestamp {
    /// Decodes as the kernel does: the base is signed; the extra word's two
    /// low bits add multiples of 2^32 seconds, its upper 30 bits are ns.
    pub fn decode(base: u32, extra: Option<u32>) -> Self {
        let mut sec = base as i32 as i64;
        let mut nsec = 0;
        if let Some(extra) = extra {
            sec += ((extra & 3) as i64) << 32;
            nsec = extra >> 2;
            if nsec > 999_999_999 {
                nsec = 999_999_999;
            }
        }
        Timestamp { sec, nsec }
    }
}

/// A parsed inode.
#[derive(Debug, Clone)]
pub struct Inode {
    pub ino: InodeNo,
    pub mode: u16,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub atime: Timestamp,
    pub ctime: Timestamp,
    pub mtime: Timestamp,
    pub crtime: Option<Timestamp>,
    pub dtime: u32,
    pub links_count: u16,
    /// i_blocks in 512-byte units (huge_file already applied).
    pub blocks_512: u64,
    pub flags: u32,
    pub block: [u8; I_BLOCK_SIZE],
    pub generation: Generation,
    pub file_acl: u64,
    pub extra_isize: u16,
    /// The in-inode xattr area (after i_extra_isize), possibly empty.
    pub ibody_xattrs: Vec<u8>,
}

impl Inode {
    /// Parses an inode of `sb.inode_size` bytes and verifies its checksum.
    pub fn parse(sb: &Superblock, ino: InodeNo, raw: &[u8]) -> Result<Self, FormatError> {
        let isz = sb.inode_size as usize;
        if raw.len() < isz {
            return Err(FormatError::corrupt(ino.to_string(), "short inode"));
        }
        let raw = &raw[..isz];
        let extra_isize = if isz > GOOD_OLD_INODE_SIZE {
            le16(raw, 0x80)
        } else {
            0
        };
        if isz > GOOD_OLD_INODE_SIZE
            && (GOOD_OLD_INODE_SIZE + extra_isize as usize > isz || extra_isize % 4 != 0)
        {
            return Err(FormatError::corrupt(
                ino.to_string(),
                format!("i_extra_isize {extra_isize}"),
            ));
        }
        if sb.metadata_csum() {
            verify_checksum(sb, ino, raw, extra_isize)?;
        }
        let fits = |off: usize| off + 4 <= GOOD_OLD_INODE_SIZE + extra_isize as usize;
        let extra = |off: usize| fits(off).then(|| le32(raw, off));
        let blocks_lo = le32(raw, 0x1C) as u64;
        let flags = le32(raw, 0x20);
        let huge = sb.has_ro_compat(ro_compat::HUGE_FILE);
        let mut blocks = blocks_lo
            | if huge {
                (le16(raw, 0x74) as u64) << 32
            } else {
                0
            };
        if huge && flags & flags::HUGE_FILE != 0 {
            blocks *= sb.block_size() as u64 / 512;
        }
        let ibody_start = GOOD_OLD_INODE_SIZE + extra_isize as usize;
        let ibody_xattrs = if isz > GOOD_OLD_INODE_SIZE {
            raw[ibody_start..].to_vec()
        } else {
            Vec::new()
        };
        // The kernel refuses the whole inode when its in-inode xattrs are
        // damaged (ext4_iget_extra_inode), not just the xattr calls.
        if let Err(e) = super::xattr::parse_ibody(&ibody_xattrs) {
            return Err(FormatError::corrupt(
                format!("{ino} in-inode xattrs"),
                e.to_string(),
            ));
        }
        let mode = le16(raw, 0x0);
        // ext4_isize: the high half counts for regular files, and for
        // everything else only with large_dir.
        let size_hi = if mode & mode::S_IFMT == mode::S_IFREG || sb.has_incompat(incompat::LARGEDIR)
        {
            le32(raw, 0x6C) as u64
        } else {
            0
        };
        let size = le32(raw, 0x4) as u64 | size_hi << 32;
        if size > i64::MAX as u64 {
            return Err(FormatError::corrupt(
                ino.to_string(),
                format!("i_size {size}"),
            ));
        }
        let acl_hi = if sb.has_incompat(incompat::BIT64) {
            (le16(raw, 0x76) as u64) << 32
        } else {
            0
        };
        Ok(Inode {
            ino,
            mode,
            uid: le16(raw, 0x2) as u32 | (le16(raw, 0x78) as u32) << 16,
            gid: le16(raw, 0x18) as u32 | (le16(raw, 0x7A) as u32) << 16,
            size,
            atime: Timestamp::decode(le32(raw, 0x8), extra(0x8C)),
            ctime: Timestamp::decode(le32(raw, 0xC), extra(0x84)),
            mtime: Timestamp::decode(le32(raw, 0x10), extra(0x88)),
            crtime: extra(0x90).map(|base| Timestamp::decode(base, extra(0x94))),
            dtime: le32(raw, 0x14),
            links_count: le16(raw, 0x1A),
            blocks_512: blocks,
            flags,
            block: raw[0x28..0x28 + I_BLOCK_SIZE].try_into().unwrap(),
            generation: Generation(le32(raw, 0x64)),
            file_acl: le32(raw, 0x68) as u64 | acl_hi,
            extra_isize,
            ibody_xattrs,
        })
    }

    pub fn file_type(&self) -> u16 {
        self.mode & mode::S_IFMT
    }
    pub fn is_dir(&self) -> bool {
        self.file_type() == mode::S_IFDIR
    }
    pub fn is_reg(&self) -> bool {
        self.file_type() == mode::S_IFREG
    }
    pub fn is_symlink(&self) -> bool {
        self.file_type() == mode::S_IFLNK
    }
    pub fn has_flag(&self, f: u32) -> bool {
        self.flags & f != 0
    }

    /// True when the inode is not in use (deleted or never allocated), as
    /// the kernel's iget judges it: no links.
    pub fn is_unused(&self) -> bool {
        self.links_count == 0
    }

    /// Device number of a character or block device, in the kernel's
    /// `new_encode_dev` form (what FUSE's attr.rdev carries).
    pub fn rdev(&self) -> u32 {
        let old = le32(&self.block, 0);
        if old != 0 {
            // old_decode_dev: 8-bit major and minor.
            let (major, minor) = ((old >> 8) & 0xFF, old & 0xFF);
            return (minor & 0xFF) | (major << 8) | ((minor & !0xFF) << 12);
        }
        le32(&self.block, 4)
    }

    /// A fast symlink keeps its target in i_block: the kernel's test is
    /// "no blocks besides an xattr block".
    pub fn is_fast_symlink(&self, block_size: u32) -> bool {
        let ea_blocks = if self.file_acl != 0 {
            block_size as u64 / 512
        } else {
            0
        };
        self.is_symlink()
            && !self.has_flag(flags::INLINE_DATA)
            // Unsigned arithmetic as in the kernel: fewer blocks than the
            // xattr block's share wraps, and the link counts as slow.
            && self.blocks_512.wrapping_sub(ea_blocks) == 0
    }
}

fn verify_checksum(
    sb: &Superblock,
    ino: InodeNo,
    raw: &[u8],
    extra_isize: u16,
) -> Result<(), FormatError> {
    let stored_lo = le16(raw, 0x7C) as u32;
    let has_hi = raw.len() > GOOD_OLD_INODE_SIZE && extra_isize >= 4;
    let stored = if has_hi {
        stored_lo | (le16(raw, 0x82) as u32) << 16
    } else {
        stored_lo
    };
    let want = inode_checksum(sb, ino, raw, extra_isize);
    let want = if has_hi { want } else { want & 0xFFFF };
    if want != stored {
        return Err(FormatError::BadChecksum {
            what: ino.to_string(),
        });
    }
    Ok(())
}

/// The full 32-bit metadata_csum of an inode (both checksum fields taken as zero).
pub fn inode_checksum(sb: &Superblock, ino: InodeNo, raw: &[u8], extra_isize: u16) -> u32 {
    let gen_bytes = &raw[0x64..0x68];
    let mut crc = crc32c_raw(sb.csum_seed(), &ino.0.to_le_bytes());
    crc = crc32c_raw(crc, gen_bytes);
    crc = crc32c_raw(crc, &raw[..0x7C]);
    crc = crc32c_raw(crc, &[0, 0]);
    crc = crc32c_raw(crc, &raw[0x7E..GOOD_OLD_INODE_SIZE]);
    if raw.len() > GOOD_OLD_INODE_SIZE {
        if extra_isize >= 4 {
            crc = crc32c_raw(crc, &raw[0x80..0x82]);
            crc = crc32c_raw(crc, &[0, 0]);
            crc = crc32c_raw(crc, &raw[0x84..]);
        } else {
            crc = crc32c_raw(crc, &raw[GOOD_OLD_INODE_SIZE..]);
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_with_epoch_bits() {
        // 2446-05-10 is past the 2038 limit: base wraps negative, epoch 1.
        let t = Timestamp::decode(0x8000_0000, Some((123 << 2) | 1));
        assert_eq!(t.sec, -(1i64 << 31) + (1i64 << 32));
        assert_eq!(t.nsec, 123);
        // Pre-1970 without extra.
        assert_eq!(Timestamp::decode((-5i32) as u32, None).sec, -5);
        // Epoch 0 with a negative base stays before 1970.
        assert_eq!(Timestamp::decode((-5i32) as u32, Some(0)).sec, -5);
    }
}
