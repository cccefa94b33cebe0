//! The on-disk inode: fields, timestamps, checksum.

use super::csum::crc32c_raw;
use super::superblock::{Superblock, incompat, ro_compat};
use core::mem::offset_of;

use zerocopy::FromBytes;
use zerocopy::little_endian::U32;

use super::corrupt::IBlocksLimit;
use super::layout::{Ext4Inode, Ext4InodeExtra};
use super::{ChecksumOf, CorruptKind, FormatError, Generation, InodeNo};

/// The part of an inode every revision has.
pub const GOOD_OLD_INODE_SIZE: usize = size_of::<Ext4Inode>();

/// i_flags bits.
pub mod flags {
    /// Secure deletion (chattr +s; stored, not acted on).
    pub const SECRM: u32 = 0x1;
    /// Undelete (chattr +u; stored, not acted on).
    pub const UNRM: u32 = 0x2;
    /// Compress (chattr +c; stored, not acted on).
    pub const COMPR: u32 = 0x4;
    /// Writes are synchronous (chattr +S).
    pub const SYNC: u32 = 0x8;
    /// EXT4_IMMUTABLE_FL: no change at all.
    pub const IMMUTABLE: u32 = 0x10;
    /// EXT4_APPEND_FL: writes only at the end.
    pub const APPEND: u32 = 0x20;
    /// Left out by dump(8) (chattr +d).
    pub const NODUMP: u32 = 0x40;
    /// atime is never updated (chattr +A).
    pub const NOATIME: u32 = 0x80;
    /// Compression: dirty data (reported by lsattr, never set here).
    pub const DIRTY: u32 = 0x100;
    /// Compression: compressed blocks (reported, never set here).
    pub const COMPRBLK: u32 = 0x200;
    /// Do not compress (chattr +m; stored, not acted on).
    pub const NOCOMPR: u32 = 0x400;
    /// Data goes through the journal (chattr +j).
    pub const JOURNAL_DATA: u32 = 0x4000;
    /// No tail merging (chattr +t; stored, not acted on).
    pub const NOTAIL: u32 = 0x8000;
    pub const INDEX: u32 = 0x1000;
    /// Directory changes are synchronous (chattr +D).
    pub const DIRSYNC: u32 = 0x10000;
    /// Top of a directory hierarchy for the Orlov allocator (chattr +T).
    pub const TOPDIR: u32 = 0x20000;
    pub const HUGE_FILE: u32 = 0x40000;
    pub const EXTENTS: u32 = 0x80000;
    pub const VERITY: u32 = 0x100000;
    pub const EA_INODE: u32 = 0x200000;
    /// Formerly EOFBLOCKS; still accepted by SETFLAGS.
    pub const EOFBLOCKS: u32 = 0x400000;
    /// DAX access (chattr +x).
    pub const DAX: u32 = 0x2000000;
    pub const INLINE_DATA: u32 = 0x10000000;
    /// New children take the directory's project id (chattr +P).
    pub const PROJINHERIT: u32 = 0x20000000;
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

/// Whether i_extra_isize covers the named 4-byte field of
/// [`Ext4InodeExtra`].
macro_rules! covers {
    ($extra_isize:expr, $field:ident) => {
        Ext4InodeExtra::covers($extra_isize as usize, offset_of!(Ext4InodeExtra, $field))
    };
}

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

    /// The earliest time an inode field can hold (1901-12-13).
    pub const MIN_SEC: i64 = -(1 << 31);
    /// The latest time a field with an extra word can hold (2446-05-10):
    /// a signed 32-bit base plus three epochs of 2^32 s.
    pub const MAX_SEC_EXTRA: i64 = (1 << 34) - (1 << 31) - 1;
    /// The latest time a field without an extra word can hold (2038-01-19).
    pub const MAX_SEC_BASE: i64 = (1 << 31) - 1;

    /// The inverse of [`Timestamp::decode`] with an extra word, as the
    /// kernel's `ext4_encode_extra_time`: the base is the low 32 bits of
    /// the seconds, the extra word carries the epoch (how many 2^32 s the
    /// signed base is short of the time) and the nanoseconds. Times
    /// outside [`Self::MIN_SEC`]..=[`Self::MAX_SEC_EXTRA`] or with
    /// `nsec` ≥ 10^9 do not survive the trip; [`Self::check`] refuses them.
    pub fn encode(self) -> (u32, u32) {
        let base = self.sec as u32;
        let epoch = ((self.sec - base as i32 as i64) >> 32) as u32 & 3;
        (base, epoch | self.nsec << 2)
    }

    /// Refuses a time the field cannot hold: with an extra word the range
    /// is 1901..2446 with nanoseconds; without one, 1901..2038 and the
    /// nanoseconds are dropped (as the kernel does).
    pub fn check(self, with_extra: bool) -> Result<(), FormatError> {
        let max = if with_extra {
            Self::MAX_SEC_EXTRA
        } else {
            Self::MAX_SEC_BASE
        };
        if self.sec < Self::MIN_SEC || self.sec > max || self.nsec > 999_999_999 {
            return Err(CorruptKind::Timestamp {
                sec: self.sec,
                nsec: self.nsec,
                with_extra,
            }
            .into());
        }
        Ok(())
    }
}

/// The largest i_blocks value in 512-byte units that fits without
/// HUGE_FILE: 48 bits (i_blocks_lo and l_i_blocks_high).
pub const MAX_BLOCKS_48: u64 = (1 << 48) - 1;

/// Decodes i_blocks into 512-byte units: the high 16 bits count only with
/// the huge_file feature, and the HUGE_FILE inode flag makes the unit the
/// filesystem block.
pub fn decode_i_blocks(lo: u32, hi: u16, huge_flag: bool, huge_feature: bool, bs: u32) -> u64 {
    if !huge_feature {
        return lo as u64;
    }
    let blocks = lo as u64 | (hi as u64) << 32;
    if huge_flag {
        blocks * (bs as u64 / 512)
    } else {
        blocks
    }
}

/// Encodes a count of 512-byte units as the kernel's
/// `ext4_inode_blocks_set`: (i_blocks_lo, l_i_blocks_high, HUGE_FILE flag).
/// Up to 2^32-1 needs no feature; up to 2^48-1 needs huge_file; beyond
/// that the count is stored in filesystem blocks with the HUGE_FILE flag,
/// which requires a whole number of blocks and at most 2^48-1 of them.
pub fn encode_i_blocks(
    blocks_512: u64,
    huge_feature: bool,
    bs: u32,
) -> Result<(u32, u16, bool), FormatError> {
    let refuse = |limit| Err(CorruptKind::IBlocks { blocks_512, limit }.into());
    if blocks_512 <= u32::MAX as u64 {
        return Ok((blocks_512 as u32, 0, false));
    }
    if !huge_feature {
        return refuse(IBlocksLimit::NeedHugeFile);
    }
    if blocks_512 <= MAX_BLOCKS_48 {
        return Ok((blocks_512 as u32, (blocks_512 >> 32) as u16, false));
    }
    let per_block = bs as u64 / 512;
    if !blocks_512.is_multiple_of(per_block) {
        return refuse(IBlocksLimit::NotWholeBlocks);
    }
    let fs_blocks = blocks_512 / per_block;
    if fs_blocks > MAX_BLOCKS_48 {
        return refuse(IBlocksLimit::Over48Bits);
    }
    Ok((fs_blocks as u32, (fs_blocks >> 32) as u16, true))
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
    /// i_version: l_i_version, plus i_version_hi when the extra part
    /// covers it.
    pub version: u64,
    /// i_projid, when the extra part covers it.
    pub projid: Option<u32>,
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

/// The kernel's `new_decode_dev`: the major and minor of a device number
/// in `new_encode_dev` form (what i_block[1] and FUSE's rdev carry).
pub fn decode_dev(dev: u32) -> (u32, u32) {
    ((dev & 0xfff00) >> 8, (dev & 0xff) | ((dev >> 12) & 0xfff00))
}

/// The kernel's `new_encode_dev`: the inverse of [`decode_dev`].
pub fn encode_dev(major: u32, minor: u32) -> u32 {
    (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12)
}

impl Inode {
    /// Parses an inode of `sb.inode_size` bytes and verifies its checksum.
    pub fn parse(sb: &Superblock, ino: InodeNo, raw: &[u8]) -> Result<Self, FormatError> {
        Self::parse_checked(sb, ino, raw, true)
    }

    /// Parses an inode whose checksum the caller has already verified in
    /// these same bytes (every other check is made).
    pub fn parse_unverified(
        sb: &Superblock,
        ino: InodeNo,
        raw: &[u8],
    ) -> Result<Self, FormatError> {
        Self::parse_checked(sb, ino, raw, false)
    }

    fn parse_checked(
        sb: &Superblock,
        ino: InodeNo,
        raw: &[u8],
        checksum: bool,
    ) -> Result<Self, FormatError> {
        let isz = sb.inode_size as usize;
        if raw.len() < isz {
            return Err(CorruptKind::InodeShort { ino: ino.0 }.into());
        }
        let raw = &raw[..isz];
        let Some(r) = Ext4Inode::of(raw) else {
            return Err(CorruptKind::InodeShort { ino: ino.0 }.into());
        };
        let x = Ext4InodeExtra::read(raw);
        let extra_isize = if isz > GOOD_OLD_INODE_SIZE {
            x.i_extra_isize.get()
        } else {
            0
        };
        if isz > GOOD_OLD_INODE_SIZE
            && (GOOD_OLD_INODE_SIZE + extra_isize as usize > isz || extra_isize % 4 != 0)
        {
            return Err(CorruptKind::ExtraIsize {
                ino: ino.0,
                extra_isize,
            }
            .into());
        }
        if checksum && sb.metadata_csum() {
            verify_checksum(sb, ino, raw, extra_isize)?;
        }
        // An extra field, when i_extra_isize covers it.
        macro_rules! extra {
            ($field:ident) => {
                covers!(extra_isize, $field).then(|| x.$field.get())
            };
        }
        let flags = r.i_flags.get();
        let blocks = decode_i_blocks(
            r.i_blocks_lo.get(),
            r.l_i_blocks_high.get(),
            flags & flags::HUGE_FILE != 0,
            sb.has_ro_compat(ro_compat::HUGE_FILE),
            sb.block_size(),
        );
        let ibody_start = GOOD_OLD_INODE_SIZE + extra_isize as usize;
        let ibody_xattrs = if isz > GOOD_OLD_INODE_SIZE {
            raw[ibody_start..].to_vec()
        } else {
            Vec::new()
        };
        // The kernel refuses the whole inode when its in-inode xattrs are
        // damaged (ext4_iget_extra_inode), not just the xattr calls.
        if let Err(e) = super::xattr::parse_ibody(&ibody_xattrs) {
            return Err(in_inode(ino, e));
        }
        let mode = r.i_mode.get();
        // ext4_isize: the high half counts for regular files, and for
        // everything else only with large_dir.
        let size_hi = if mode & mode::S_IFMT == mode::S_IFREG || sb.has_incompat(incompat::LARGEDIR)
        {
            r.i_size_high.get() as u64
        } else {
            0
        };
        let size = r.i_size_lo.get() as u64 | size_hi << 32;
        if size > i64::MAX as u64 {
            return Err(CorruptKind::ISize { ino: ino.0, size }.into());
        }
        let acl_hi = if sb.has_incompat(incompat::BIT64) {
            (r.l_i_file_acl_high.get() as u64) << 32
        } else {
            0
        };
        let (links_count, generation) = links_and_generation(raw);
        Ok(Inode {
            ino,
            mode,
            uid: r.i_uid.get() as u32 | (r.l_i_uid_high.get() as u32) << 16,
            gid: r.i_gid.get() as u32 | (r.l_i_gid_high.get() as u32) << 16,
            size,
            atime: Timestamp::decode(r.i_atime.get(), extra!(i_atime_extra)),
            ctime: Timestamp::decode(r.i_ctime.get(), extra!(i_ctime_extra)),
            mtime: Timestamp::decode(r.i_mtime.get(), extra!(i_mtime_extra)),
            crtime: extra!(i_crtime).map(|base| Timestamp::decode(base, extra!(i_crtime_extra))),
            dtime: r.i_dtime.get(),
            links_count,
            version: r.l_i_version.get() as u64 | (extra!(i_version_hi).unwrap_or(0) as u64) << 32,
            projid: extra!(i_projid),
            blocks_512: blocks,
            flags,
            block: r.i_block,
            generation,
            file_acl: r.i_file_acl_lo.get() as u64 | acl_hi,
            extra_isize,
            ibody_xattrs,
        })
    }

    /// Writes the inode into `raw` (its `sb.inode_size` on-disk bytes),
    /// leaving the bytes it does not model (i_faddr, l_i_reserved, the
    /// checksum fields) as they are. Extra timestamp words, i_version_hi
    /// and i_projid are written only where `extra_isize` covers them;
    /// i_size_high for every file type (as the kernel); the high half of
    /// i_file_acl only with 64bit; i_blocks as `ext4_inode_blocks_set`,
    /// which may set or clear the HUGE_FILE flag. The in-inode xattr area
    /// is copied back verbatim and must fill the rest of the inode.
    /// Values the fields cannot hold are refused. The checksum is not
    /// touched: call [`set_inode_checksum`] last.
    pub fn write_to(&self, sb: &Superblock, raw: &mut [u8]) -> Result<(), FormatError> {
        let isz = sb.inode_size as usize;
        let ino = self.ino.0;
        let bad = |kind: CorruptKind| Err(kind.into());
        if raw.len() < isz {
            return bad(CorruptKind::InodeShortBuffer { ino });
        }
        let raw = &mut raw[..isz];
        let extra_isize = self.extra_isize as usize;
        if isz == GOOD_OLD_INODE_SIZE {
            if extra_isize != 0 || !self.ibody_xattrs.is_empty() {
                return bad(CorruptKind::ExtraFieldsInSmallInode { ino });
            }
        } else if GOOD_OLD_INODE_SIZE + extra_isize > isz
            || !extra_isize.is_multiple_of(4)
            || self.ibody_xattrs.len() != isz - GOOD_OLD_INODE_SIZE - extra_isize
        {
            return bad(CorruptKind::ExtraIsizeAndXattrs {
                ino,
                extra_isize,
                xattr_len: self.ibody_xattrs.len(),
            });
        }
        if self.size > i64::MAX as u64 {
            return bad(CorruptKind::ISize {
                ino,
                size: self.size,
            });
        }
        let bit64 = sb.has_incompat(incompat::BIT64);
        if !bit64 && self.file_acl > u32::MAX as u64 {
            return bad(CorruptKind::FileAclWithout64bit {
                ino,
                file_acl: self.file_acl,
            });
        }
        if self.file_acl >> 48 != 0 {
            return bad(CorruptKind::FileAcl {
                ino,
                file_acl: self.file_acl,
            });
        }
        if self.version >> 32 != 0 && !covers!(extra_isize, i_version_hi) {
            return bad(CorruptKind::VersionWithoutHi {
                ino,
                version: self.version,
            });
        }
        let (blocks_lo, blocks_hi, huge) = encode_i_blocks(
            self.blocks_512,
            sb.has_ro_compat(ro_compat::HUGE_FILE),
            sb.block_size(),
        )
        .map_err(|e| in_inode(self.ino, e))?;
        let flags = if huge {
            self.flags | flags::HUGE_FILE
        } else {
            self.flags & !flags::HUGE_FILE
        };
        // Timestamps first: they are the likeliest values to be refused,
        // and nothing is written when one is.
        let crtime = self.crtime.filter(|_| covers!(extra_isize, i_crtime));
        let with_extra = [
            covers!(extra_isize, i_atime_extra),
            covers!(extra_isize, i_ctime_extra),
            covers!(extra_isize, i_mtime_extra),
            covers!(extra_isize, i_crtime_extra),
        ];
        for (t, with_extra) in [self.atime, self.ctime, self.mtime]
            .into_iter()
            .chain(crtime)
            .zip(with_extra)
        {
            t.check(with_extra).map_err(|e| in_inode(self.ino, e))?;
        }
        let mut x = Ext4InodeExtra::read(raw);
        let Some(r) = Ext4Inode::of_mut(raw) else {
            return bad(CorruptKind::InodeShortBuffer { ino });
        };
        // Sets a timestamp's base field, and its extra word where
        // i_extra_isize covers it.
        macro_rules! put_time {
            ($t:expr, $base:ident, $extra:ident) => {{
                let (base, extra) = $t.encode();
                r.$base.set(base);
                if covers!(extra_isize, $extra) {
                    x.$extra.set(extra);
                }
            }};
        }
        put_time!(self.atime, i_atime, i_atime_extra);
        put_time!(self.ctime, i_ctime, i_ctime_extra);
        put_time!(self.mtime, i_mtime, i_mtime_extra);
        if let Some(cr) = crtime {
            let (base, extra) = cr.encode();
            x.i_crtime.set(base);
            if covers!(extra_isize, i_crtime_extra) {
                x.i_crtime_extra.set(extra);
            }
        }
        r.i_mode.set(self.mode);
        r.i_uid.set(self.uid as u16);
        r.i_size_lo.set(self.size as u32);
        r.i_dtime.set(self.dtime);
        r.i_gid.set(self.gid as u16);
        r.i_links_count.set(self.links_count);
        r.i_blocks_lo.set(blocks_lo);
        r.i_flags.set(flags);
        r.l_i_version.set(self.version as u32);
        r.i_block = self.block;
        r.i_generation.set(self.generation.0);
        r.i_file_acl_lo.set(self.file_acl as u32);
        r.i_size_high.set((self.size >> 32) as u32);
        r.l_i_blocks_high.set(blocks_hi);
        if bit64 {
            r.l_i_file_acl_high.set((self.file_acl >> 32) as u16);
        }
        r.l_i_uid_high.set((self.uid >> 16) as u16);
        r.l_i_gid_high.set((self.gid >> 16) as u16);
        if isz > GOOD_OLD_INODE_SIZE {
            x.i_extra_isize.set(self.extra_isize);
            if covers!(extra_isize, i_version_hi) {
                x.i_version_hi.set((self.version >> 32) as u32);
            }
            if let Some(p) = self.projid
                && covers!(extra_isize, i_projid)
            {
                x.i_projid.set(p);
            }
            x.write(raw);
            raw[GOOD_OLD_INODE_SIZE + extra_isize..].copy_from_slice(&self.ibody_xattrs);
        }
        Ok(())
    }

    /// A fresh inode for slot `ino`: everything zero, the extra part sized
    /// as the kernel sizes it for new inodes (s_want_extra_isize, 32 by
    /// default, never more than the slot holds), empty in-inode xattrs.
    pub fn new_empty(sb: &Superblock, ino: InodeNo) -> Self {
        let isz = sb.inode_size as usize;
        let extra_isize = if isz > GOOD_OLD_INODE_SIZE {
            let want = match sb.want_extra_isize {
                0 => 32,
                w => w as usize,
            };
            want.min(isz - GOOD_OLD_INODE_SIZE) & !3
        } else {
            0
        };
        let zero = Timestamp { sec: 0, nsec: 0 };
        Inode {
            ino,
            mode: 0,
            uid: 0,
            gid: 0,
            size: 0,
            atime: zero,
            ctime: zero,
            mtime: zero,
            crtime: covers!(extra_isize, i_crtime).then_some(zero),
            dtime: 0,
            links_count: 0,
            version: 0,
            projid: None,
            blocks_512: 0,
            flags: 0,
            block: [0; I_BLOCK_SIZE],
            generation: Generation(0),
            file_acl: 0,
            extra_isize: extra_isize as u16,
            ibody_xattrs: if isz > GOOD_OLD_INODE_SIZE {
                vec![0; isz - GOOD_OLD_INODE_SIZE - extra_isize]
            } else {
                Vec::new()
            },
        }
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
        let words = <[U32; 15]>::read_from_bytes(&self.block).expect("i_block is 15 words");
        let old = words[0].get();
        if old != 0 {
            // old_decode_dev: 8-bit major and minor.
            return encode_dev((old >> 8) & 0xFF, old & 0xFF);
        }
        words[1].get()
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

/// `e` placed in inode `ino` (a corruption; other errors as they are).
fn in_inode(ino: InodeNo, e: FormatError) -> FormatError {
    match e {
        FormatError::Corrupt(kind) => kind.in_inode(ino.0).into(),
        other => other,
    }
}

fn verify_checksum(
    sb: &Superblock,
    ino: InodeNo,
    raw: &[u8],
    extra_isize: u16,
) -> Result<(), FormatError> {
    let stored_lo = Ext4Inode::of(raw).map_or(0, |r| r.l_i_checksum_lo.get()) as u32;
    let has_hi = raw.len() > GOOD_OLD_INODE_SIZE && extra_isize >= 4;
    let stored = if has_hi {
        stored_lo | (Ext4InodeExtra::read(raw).i_checksum_hi.get() as u32) << 16
    } else {
        stored_lo
    };
    let want = inode_checksum(sb, ino, raw, extra_isize);
    let want = if has_hi { want } else { want & 0xFFFF };
    if want != stored {
        return Err(FormatError::BadChecksum {
            what: ChecksumOf::Inode(ino),
        });
    }
    Ok(())
}

/// Stores the metadata_csum checksum of the inode bytes `raw` (of
/// `sb.inode_size` bytes): the low half always, the high half when the
/// inode is larger than 128 bytes and its i_extra_isize (read from `raw`)
/// is at least 4. Does nothing without metadata_csum. Returns the full
/// 32-bit checksum, or None.
pub fn set_inode_checksum(sb: &Superblock, ino: InodeNo, raw: &mut [u8]) -> Option<u32> {
    if !sb.metadata_csum() {
        return None;
    }
    let raw = &mut raw[..sb.inode_size as usize];
    let mut x = Ext4InodeExtra::read(raw);
    let extra_isize = if raw.len() > GOOD_OLD_INODE_SIZE {
        x.i_extra_isize.get()
    } else {
        0
    };
    let c = inode_checksum(sb, ino, raw, extra_isize);
    Ext4Inode::of_mut(raw)?.l_i_checksum_lo.set(c as u16);
    if raw.len() > GOOD_OLD_INODE_SIZE && extra_isize >= 4 {
        x.i_checksum_hi.set((c >> 16) as u16);
        x.write(raw);
    }
    Some(c)
}

/// The link count and generation of a raw inode (at least 128 bytes),
/// without parsing or checking the rest: enough to tell whether a node id
/// still names the inode, for many inodes at once.
pub fn links_and_generation(raw: &[u8]) -> (u16, Generation) {
    let r = Ext4Inode::of(raw).expect("a raw inode has at least 128 bytes");
    (r.i_links_count.get(), Generation(r.i_generation.get()))
}

/// The full 32-bit metadata_csum of an inode (both checksum fields taken as zero).
pub fn inode_checksum(sb: &Superblock, ino: InodeNo, raw: &[u8], extra_isize: u16) -> u32 {
    const GEN: usize = offset_of!(Ext4Inode, i_generation);
    const CSUM_LO: usize = offset_of!(Ext4Inode, l_i_checksum_lo);
    const CSUM_HI: usize = GOOD_OLD_INODE_SIZE + offset_of!(Ext4InodeExtra, i_checksum_hi);
    let mut head = [0u8; 8];
    head[..4].copy_from_slice(&ino.0.to_le_bytes());
    head[4..].copy_from_slice(&raw[GEN..GEN + 4]);
    let mut crc = crc32c_raw(sb.csum_seed(), &head);
    // The usual sizes in one pass over a copy with the checksum fields
    // zeroed: each crc32c call has a fixed cost larger than hashing 256
    // bytes, and an inode is checksummed at every read and write.
    const ONE_PASS: usize = 256;
    if raw.len() <= ONE_PASS {
        let mut copy = [0u8; ONE_PASS];
        let copy = &mut copy[..raw.len()];
        copy.copy_from_slice(raw);
        copy[CSUM_LO..CSUM_LO + 2].fill(0);
        if raw.len() > GOOD_OLD_INODE_SIZE && extra_isize >= 4 {
            copy[CSUM_HI..CSUM_HI + 2].fill(0);
        }
        return crc32c_raw(crc, copy);
    }
    crc = crc32c_raw(crc, &raw[..CSUM_LO]);
    crc = crc32c_raw(crc, &[0, 0]);
    crc = crc32c_raw(crc, &raw[CSUM_LO + 2..GOOD_OLD_INODE_SIZE]);
    if raw.len() > GOOD_OLD_INODE_SIZE {
        if extra_isize >= 4 {
            crc = crc32c_raw(crc, &raw[GOOD_OLD_INODE_SIZE..CSUM_HI]);
            crc = crc32c_raw(crc, &[0, 0]);
            crc = crc32c_raw(crc, &raw[CSUM_HI + 2..]);
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
    fn device_numbers_encode_as_the_kernel_does() {
        // sda1 (8:1) and a large pair that needs every field.
        assert_eq!(encode_dev(8, 1), 0x801);
        assert_eq!(decode_dev(0x801), (8, 1));
        let big = encode_dev(0xabc, 0x12345);
        // Minor bits 8-19 above the major, its low 8 below.
        assert_eq!(big, 0x123a_bc45);
        assert_eq!(decode_dev(big), (0xabc, 0x12345));
    }

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

    #[test]
    fn timestamp_encode_edges() {
        for (sec, nsec) in [
            (Timestamp::MIN_SEC, 0),
            (-1, 999_999_999),
            (0, 0),
            (Timestamp::MAX_SEC_BASE, 5),
            (Timestamp::MAX_SEC_BASE + 1, 1),
            (Timestamp::MAX_SEC_EXTRA, 999_999_999),
        ] {
            let t = Timestamp { sec, nsec };
            let (b, e) = t.encode();
            assert_eq!(Timestamp::decode(b, Some(e)), t, "{sec}");
            t.check(true).unwrap();
        }
        let past = Timestamp {
            sec: Timestamp::MAX_SEC_EXTRA + 1,
            nsec: 0,
        };
        assert!(past.check(true).is_err());
        assert!(
            Timestamp {
                sec: Timestamp::MAX_SEC_BASE + 1,
                nsec: 0
            }
            .check(false)
            .is_err()
        );
        assert!(
            Timestamp {
                sec: 0,
                nsec: 1_000_000_000
            }
            .check(true)
            .is_err()
        );
        // Without an extra word the base alone round-trips in 1901..2038.
        let (b, _) = Timestamp { sec: -5, nsec: 0 }.encode();
        assert_eq!(Timestamp::decode(b, None).sec, -5);
    }

    proptest::proptest! {
        #[test]
        fn timestamp_round_trip(
            sec in Timestamp::MIN_SEC..=Timestamp::MAX_SEC_EXTRA,
            nsec in 0u32..1_000_000_000,
        ) {
            let t = Timestamp { sec, nsec };
            let (b, e) = t.encode();
            proptest::prop_assert_eq!(Timestamp::decode(b, Some(e)), t);
        }

        #[test]
        fn blocks_round_trip_without_huge_file(n in 0u64..=u32::MAX as u64) {
            let (lo, hi, flag) = encode_i_blocks(n, false, 4096).unwrap();
            proptest::prop_assert!(!flag && hi == 0);
            proptest::prop_assert_eq!(decode_i_blocks(lo, hi, flag, false, 4096), n);
        }

        #[test]
        fn blocks_round_trip_with_huge_file(
            n in 0u64..=MAX_BLOCKS_48,
            fs_blocks in (MAX_BLOCKS_48 / 8 + 1)..=MAX_BLOCKS_48,
            log in 0u32..=6,
        ) {
            let bs = 1024u32 << log;
            let (lo, hi, flag) = encode_i_blocks(n, true, bs).unwrap();
            proptest::prop_assert!(!flag);
            proptest::prop_assert_eq!(decode_i_blocks(lo, hi, flag, true, bs), n);
            // Counts past 48 bits go in filesystem blocks.
            let big = fs_blocks * (bs as u64 / 512);
            if big > MAX_BLOCKS_48 {
                let (lo, hi, flag) = encode_i_blocks(big, true, bs).unwrap();
                proptest::prop_assert!(flag);
                proptest::prop_assert_eq!(decode_i_blocks(lo, hi, flag, true, bs), big);
            }
        }
    }

    #[test]
    fn blocks_limits_are_refused() {
        assert!(encode_i_blocks(1 << 32, false, 4096).is_err());
        assert_eq!(encode_i_blocks(1 << 32, true, 4096).unwrap(), (0, 1, false));
        // Past 48 bits: must be whole blocks, at most 2^48-1 of them.
        assert!(encode_i_blocks(MAX_BLOCKS_48 + 2, true, 4096).is_err());
        assert_eq!(
            encode_i_blocks(1 << 48, true, 4096).unwrap(),
            (0, 0x2000, true)
        );
        assert!(encode_i_blocks(8 * (MAX_BLOCKS_48 + 1), true, 4096).is_err());
        assert!(encode_i_blocks(8 * MAX_BLOCKS_48, true, 4096).is_ok());
        assert!(encode_i_blocks(u64::MAX, true, 65536).is_err());
    }

    fn test_sb(ro: u32) -> Superblock {
        let raw = crate::ext4::superblock::test_superblock_bytes(2, 0, ro, 32);
        Superblock::parse(&raw).unwrap()
    }

    /// The checksum as the kernel computes it: the inode number, the
    /// generation, then the bytes with both checksum fields as zero.
    fn checksum_by_pieces(sb: &Superblock, ino: InodeNo, raw: &[u8], extra_isize: u16) -> u32 {
        let mut zeroed = raw.to_vec();
        zeroed[0x7C..0x7E].fill(0);
        if raw.len() > GOOD_OLD_INODE_SIZE && extra_isize >= 4 {
            zeroed[0x82..0x84].fill(0);
        }
        crate::ext4::csum::crc32c_chain(
            sb.csum_seed(),
            &[&ino.0.to_le_bytes(), &raw[0x64..0x68], &zeroed],
        )
    }

    #[test]
    fn inode_checksum_matches_the_kernels_order_at_every_size() {
        let sb = test_sb(ro_compat::METADATA_CSUM);
        for size in [128usize, 160, 256, 512, 1024] {
            for extra in [0u16, 2, 4, 32] {
                let raw: Vec<u8> = (0..size)
                    .map(|i| (i * 37 + size + extra as usize) as u8)
                    .collect();
                assert_eq!(
                    inode_checksum(&sb, InodeNo(77), &raw, extra),
                    checksum_by_pieces(&sb, InodeNo(77), &raw, extra),
                    "inode size {size}, i_extra_isize {extra}"
                );
            }
        }
    }

    #[test]
    fn write_to_sets_and_clears_huge_file() {
        let sb = test_sb(ro_compat::HUGE_FILE | ro_compat::METADATA_CSUM);
        let mut raw = vec![0u8; 256];
        raw[0x80] = 32; // i_extra_isize
        raw[0xA0..0xA4].copy_from_slice(&0xEA02_0000u32.to_le_bytes());
        raw[0x1A] = 1;
        set_inode_checksum(&sb, InodeNo(12), &mut raw);
        let mut inode = Inode::parse(&sb, InodeNo(12), &raw).unwrap();
        assert_eq!(inode.projid, Some(0));
        inode.blocks_512 = 8 << 47;
        inode.version = 1 << 40;
        inode.projid = Some(42);
        inode.crtime = Some(Timestamp { sec: -7, nsec: 9 });
        inode.write_to(&sb, &mut raw).unwrap();
        set_inode_checksum(&sb, InodeNo(12), &mut raw);
        let back = Inode::parse(&sb, InodeNo(12), &raw).unwrap();
        assert!(back.has_flag(flags::HUGE_FILE));
        assert_eq!(back.blocks_512, 8 << 47);
        assert_eq!((back.version, back.projid), (1 << 40, Some(42)));
        assert_eq!(back.crtime, inode.crtime);
        assert_eq!(&raw[0xA0..0xA4], &0xEA02_0000u32.to_le_bytes());
        let mut small = back.clone();
        small.blocks_512 = 8;
        small.write_to(&sb, &mut raw).unwrap();
        set_inode_checksum(&sb, InodeNo(12), &mut raw);
        let back = Inode::parse(&sb, InodeNo(12), &raw).unwrap();
        assert!(!back.has_flag(flags::HUGE_FILE));
        assert_eq!(back.blocks_512, 8);
        // Refusals leave the bytes alone.
        let before = raw.clone();
        let mut bad = back.clone();
        bad.ibody_xattrs.pop();
        assert!(bad.write_to(&sb, &mut raw).is_err());
        let mut bad = back.clone();
        bad.atime.nsec = 1_000_000_000;
        assert!(bad.write_to(&sb, &mut raw).is_err());
        let mut bad = back.clone();
        bad.file_acl = 1 << 32; // no 64bit
        assert!(bad.write_to(&sb, &mut raw).is_err());
        assert_eq!(raw, before);
        // Without huge_file, more than 2^32-1 sectors is refused.
        let sb = test_sb(0);
        let mut bad = back.clone();
        bad.blocks_512 = 1 << 32;
        assert!(bad.write_to(&sb, &mut raw).is_err());
    }
}
