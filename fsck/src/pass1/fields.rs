//! One inode: which inodes are checked, and the checks of its own fields
//! (checksum, i_extra_isize, mode, dtime, flags, the shapes of symlinks,
//! special files and inline data), before its blocks are walked.

use fuse4fs_format::ext4::inode::{GOOD_OLD_INODE_SIZE, Inode, flags, inode_checksum, mode};
use fuse4fs_format::ext4::layout::xattr::Ext4XattrIbodyHeader;
use fuse4fs_format::ext4::layout::{Ext4Inode, Ext4InodeExtra, Ext4SuperBlock};
use fuse4fs_format::ext4::superblock::{Superblock, compat, incompat, ro_compat};
use fuse4fs_format::ext4::xattr::{INDEX_SYSTEM, parse_ibody_placed};
use fuse4fs_format::ext4::{InodeNo, crypt, xattr};

use super::{Scan, State, blocks};
use crate::blockwalk::extent_header_problem;
use crate::context::InodeInfo;
use crate::error::Result;
use crate::problem::Problem;

/// EXT2_IMAGIC_FL, and the compat feature that gives it a meaning.
const IMAGIC_FL: u32 = 0x2000;
const COMPAT_IMAGIC_INODES: u32 = 0x2;
/// Superblock fields naming inodes that no directory names.
fn sb_inode_fields(r: &Ext4SuperBlock) -> [u32; 4] {
    [
        r.s_usr_quota_inum.get(),
        r.s_grp_quota_inum.get(),
        r.s_prj_quota_inum.get(),
        r.s_orphan_file_inum.get(),
    ]
}

/// The 128-byte part of a raw inode (every inode slot has it).
fn base(raw: &[u8]) -> &Ext4Inode {
    Ext4Inode::of(raw).expect("an inode has 128 bytes")
}

fn base_mut(raw: &mut [u8]) -> &mut Ext4Inode {
    Ext4Inode::of_mut(raw).expect("an inode has 128 bytes")
}

/// Whether inode `ino`'s stored checksum matches its bytes (always
/// without metadata_csum; an all-zero inode passes, as in e2fsprogs).
pub(super) fn checksum_ok(sb: &Superblock, ino: InodeNo, raw: &[u8]) -> bool {
    if !sb.metadata_csum() {
        return true;
    }
    let isz = raw.len();
    let x = Ext4InodeExtra::read(raw);
    let extra = if isz > GOOD_OLD_INODE_SIZE {
        x.i_extra_isize.get()
    } else {
        0
    };
    let has_hi = isz > GOOD_OLD_INODE_SIZE && extra >= 4;
    let stored = base(raw).l_i_checksum_lo.get() as u32
        | if has_hi {
            (x.i_checksum_hi.get() as u32) << 16
        } else {
            0
        };
    let want = inode_checksum(sb, ino, raw, extra);
    stored == if has_hi { want } else { want & 0xFFFF }
        || raw[..GOOD_OLD_INODE_SIZE].iter().all(|&b| b == 0)
}

/// Checks inode `ino` whose on-disk bytes are `raw_in` and whose
/// checksum is `csum_ok` (see [`checksum_ok`]); `garbage` when most
/// inodes of its table block fail their checksums (e2fsck then clears
/// those that fail rather than patching them field by field).
pub(super) fn check_inode(
    s: &mut Scan,
    ino: InodeNo,
    raw_in: &[u8],
    garbage: bool,
    csum_ok: bool,
) -> Result<()> {
    let links = base(raw_in).i_links_count.get();
    let imode = base(raw_in).i_mode.get();
    let first_ino = s.cx.sb.first_ino.max(11);
    let orphan = !s.cx.found.orphans.is_empty() && s.cx.found.orphans.contains(&ino);
    let in_use = if ino.0 < first_ino && ino != InodeNo::ROOT {
        // Reserved inodes are in use whatever their link count (e2fsck
        // marks them all); only those with a file type own anything.
        imode & mode::S_IFMT != 0
    } else {
        links > 0 || (orphan && imode != 0)
    };
    if !in_use {
        if ino.0 >= first_ino && !orphan {
            unused_dtime(s, ino, raw_in)?;
        }
        return Ok(());
    }
    s.raw.clear();
    s.raw.extend_from_slice(raw_in);
    s.ea_charge = super::EaCharge::default();
    let mut st = State {
        csum_bad: !csum_ok,
        ..State::default()
    };
    if !pre_parse(s, ino, &mut st)? {
        return Ok(());
    }
    if garbage && st.csum_bad {
        return clear_if(s, ino, Problem::InodeGarbage { ino });
    }
    let mut inode = match Inode::parse(&s.sb_parse, ino, &s.raw) {
        Ok(i) => i,
        Err(e) => {
            let why = e.to_string();
            return clear_if(s, ino, Problem::InodeUnreadable { ino, why });
        }
    };
    if !check_type_and_flags(s, &mut inode, &mut st, orphan)? {
        return Ok(());
    }
    let Some(counted) = blocks::check(s, &mut inode, &mut st)? else {
        return Ok(());
    };
    record(s, &inode, &counted);
    finish(s, &mut inode, st)
}

/// An inode without links, as e2fsck's pass 1 judges every inode of the
/// table, used or not: a dtime below the inode count is a link of an
/// orphan list left behind (a list cut short, or a server that stopped
/// processing it), and a deleted inode with a file type must carry its
/// deletion time. Either gets the time now.
fn unused_dtime(s: &mut Scan, ino: InodeNo, raw: &[u8]) -> Result<()> {
    let dtime = base(raw).i_dtime.get();
    let problem = if dtime != 0 && dtime < s.cx.sb.inodes_count {
        Problem::OrphanDtime { ino }
    } else if dtime == 0 && base(raw).i_mode.get() != 0 {
        Problem::DeletedZeroDtime { ino }
    } else {
        return Ok(());
    };
    if s.cx.ask(problem) {
        let mut raw = raw.to_vec();
        base_mut(&mut raw).i_dtime.set(crate::context::now_secs());
        s.cx.write_inode_raw(ino, &mut raw)?;
    }
    Ok(())
}

/// Checks that come before the inode can be parsed (its checksum was
/// judged before, in `st`, and is repaired at the end): i_extra_isize, in-inode xattrs, i_size's
/// top bit. False when the inode was cleared.
fn pre_parse(s: &mut Scan, ino: InodeNo, st: &mut State) -> Result<bool> {
    let cx = &mut *s.cx;
    let isz = s.raw.len();
    let extra = if isz > GOOD_OLD_INODE_SIZE {
        Ext4InodeExtra::read(&s.raw).i_extra_isize.get()
    } else {
        0
    };
    if isz > GOOD_OLD_INODE_SIZE {
        let max = (isz - GOOD_OLD_INODE_SIZE) as u16;
        if extra != 0 && (extra < 4 || extra > max || extra % 4 != 0) {
            // As e2fsck: round a misaligned size up, else the default.
            let new = if (4..=max).contains(&extra) {
                ((extra + 3) & !3).min(max)
            } else {
                match cx.sb.want_extra_isize {
                    0 => 32,
                    w => w,
                }
                .min(max)
                    & !3
            };
            st.answer(cx.ask(Problem::ExtraIsize {
                ino,
                have: extra,
                want: new,
            }));
            let mut x = Ext4InodeExtra::read(&s.raw);
            x.i_extra_isize.set(new);
            x.write(&mut s.raw);
        }
        let start = GOOD_OLD_INODE_SIZE + Ext4InodeExtra::read(&s.raw).i_extra_isize.get() as usize;
        let problem = match parse_ibody_placed(&s.raw[start..]) {
            Err(e) => Some(Problem::IbodyCorrupt {
                ino,
                why: e.to_string(),
            }),
            // As e2fsck: a stored hash (0 is allowed) must match the entry;
            // an entry whose value is in an EA inode is checked with it.
            Ok(entries) => {
                let bad = entries
                    .iter()
                    .find(|p| p.entry.value_inode.is_none() && p.hash != 0 && !hash_matches(p));
                match bad {
                    Some(p) => Some(Problem::XattrHash { ino, hash: p.hash }),
                    None => {
                        let list: Vec<_> = entries.into_iter().map(|p| p.entry).collect();
                        let generation = Ext4Inode::of(&s.raw).map_or(0, |r| r.i_generation.get());
                        match super::ea_inode::check_entries(cx, ino, generation, &list)? {
                            Ok(c) => {
                                s.ea_charge = c;
                                None
                            }
                            Err(why) => Some(why),
                        }
                    }
                }
            }
        };
        if let Some(problem) = problem {
            st.answer(cx.ask(problem));
            // Without the magic the area holds no attributes.
            s.raw[start..(start + Ext4XattrIbodyHeader::SIZE).min(isz)].fill(0);
        }
    }
    let ftype = base(&s.raw).i_mode.get() & mode::S_IFMT;
    let size_hi = base(&s.raw).i_size_high.get();
    if size_hi != 0 && ftype == mode::S_IFDIR && !cx.sb.has_incompat(incompat::LARGEDIR) {
        st.answer(cx.ask(Problem::SizeHighDir { ino, high: size_hi }));
        base_mut(&mut s.raw).i_size_high.set(0);
    }
    // The high halves of i_blocks and i_file_acl mean nothing without
    // huge_file and 64bit: e2fsck zeroes them.
    let blocks_hi = base(&s.raw).l_i_blocks_high.get();
    if blocks_hi != 0 && !cx.sb.has_ro_compat(ro_compat::HUGE_FILE) {
        st.answer(cx.ask(Problem::BlocksHigh {
            ino,
            high: blocks_hi,
        }));
        base_mut(&mut s.raw).l_i_blocks_high.set(0);
    }
    let acl_hi = base(&s.raw).l_i_file_acl_high.get();
    if acl_hi != 0 && !cx.sb.has_incompat(incompat::BIT64) {
        st.answer(cx.ask(Problem::FileAclHigh { ino, high: acl_hi }));
        base_mut(&mut s.raw).l_i_file_acl_high.set(0);
    }
    let faddr = base(&s.raw).i_obso_faddr.get();
    if faddr != 0 {
        st.answer(cx.ask(Problem::Faddr { ino, faddr }));
        base_mut(&mut s.raw).i_obso_faddr.set(0);
    }
    if size_hi & 0x8000_0000 != 0
        && (ftype == mode::S_IFREG || cx.sb.has_incompat(incompat::LARGEDIR))
    {
        st.answer(cx.ask(Problem::SizeTooLarge { ino, high: size_hi }));
        base_mut(&mut s.raw).i_size_high.set(0);
    }
    Ok(true)
}

/// Whether an in-inode entry's stored hash is its hash, the name's bytes
/// taken unsigned (the kernel since 6.2) or signed (before).
fn hash_matches(p: &xattr::PlacedEntry) -> bool {
    let e = &p.entry;
    if xattr::entry_hash(&e.name, &e.value) == p.hash {
        return true;
    }
    let mut hash = 0u32;
    for &c in &e.name {
        hash = (hash << 5) ^ (hash >> 27) ^ (c as i8 as i32 as u32);
    }
    for word in e.value.chunks(4) {
        let mut w = [0u8; 4];
        w[..word.len()].copy_from_slice(word);
        hash = (hash << 16) ^ (hash >> 16) ^ u32::from_le_bytes(w);
    }
    hash == p.hash
}

/// Asks about `problem`; clears the inode when told to. Always "stop
/// checking".
pub(super) fn clear_if(s: &mut Scan, ino: InodeNo, problem: Problem) -> Result<()> {
    if s.cx.ask(problem) {
        s.cx.clear_inode(ino)?;
    }
    Ok(())
}

/// Mode, reserved inodes, dtime and flags, and the shapes of the file
/// types whose data is not a block tree. False when the inode was
/// cleared (or its clearing declined: nothing more to check).
fn check_type_and_flags(
    s: &mut Scan,
    inode: &mut Inode,
    st: &mut State,
    orphan: bool,
) -> Result<bool> {
    let ino = inode.ino;
    let ftype = inode.mode & mode::S_IFMT;
    let valid = matches!(
        ftype,
        mode::S_IFREG
            | mode::S_IFDIR
            | mode::S_IFLNK
            | mode::S_IFCHR
            | mode::S_IFBLK
            | mode::S_IFIFO
            | mode::S_IFSOCK
    );
    if !valid {
        let mode = inode.mode;
        clear_if(s, ino, Problem::BadMode { ino, mode })?;
        return Ok(false);
    }
    let sb = &s.cx.sb;
    let reserved = ino.0 < sb.first_ino.max(11);
    if ino == InodeNo::ROOT && ftype != mode::S_IFDIR {
        clear_if(s, ino, Problem::RootNotDirectory)?;
        return Ok(false);
    }
    if sb.has_compat(compat::HAS_JOURNAL) && ino.0 == sb.journal_inum && ftype != mode::S_IFREG {
        if s.cx.ask(Problem::JournalInodeNotRegular { ino }) {
            s.cx.report
                .not_fixed("recreating the journal is not supported; use e2fsck or tune2fs");
        }
        return Ok(false);
    }
    if inode.dtime != 0 && !orphan && (!reserved || ino == InodeNo::ROOT) {
        st.answer(s.cx.ask(Problem::InUseDtime { ino }));
        inode.dtime = 0;
    }
    let sb = &s.cx.sb;
    let extents_fs = sb.has_incompat(incompat::EXTENTS);
    let inline_fs = sb.has_incompat(incompat::INLINE_DATA);
    if inode.has_flag(flags::EXTENTS) && !extents_fs {
        clear_if(s, ino, Problem::ExtentsFlagWithoutFeature { ino })?;
        return Ok(false);
    }
    if inode.has_flag(flags::INLINE_DATA) && !inline_fs {
        clear_if(s, ino, Problem::InlineFlagWithoutFeature { ino })?;
        return Ok(false);
    }
    // Without the encrypt feature no inode holds the encryption context
    // xattr an encrypted inode needs; e2fsck clears the flag.
    if inode.flags & flags::ENCRYPT != 0 && !s.cx.sb.has_incompat(incompat::ENCRYPT) {
        st.answer(s.cx.ask(Problem::EncryptFlagWithoutXattr { ino }));
        inode.flags &= !flags::ENCRYPT;
    }
    // EXT2_IMAGIC_FL means something only with the imagic_inodes
    // feature (AFS server inodes); e2fsck clears it otherwise.
    if inode.flags & IMAGIC_FL != 0 && !s.cx.sb.has_compat(COMPAT_IMAGIC_INODES) {
        st.answer(s.cx.ask(Problem::ImagicFlag { ino }));
        inode.flags &= !IMAGIC_FL;
    }
    let special = matches!(
        ftype,
        mode::S_IFCHR | mode::S_IFBLK | mode::S_IFIFO | mode::S_IFSOCK
    );
    if special {
        let bad = inode.flags & (flags::EXTENTS | flags::INLINE_DATA | flags::INDEX);
        if bad != 0 {
            st.answer(s.cx.ask(Problem::SpecialFlags { ino, flags: bad }));
            inode.flags &= !bad;
        }
        if inode.size != 0 {
            let size = inode.size;
            st.answer(s.cx.ask(Problem::SpecialSize { ino, size }));
            inode.size = 0;
        }
        return Ok(true);
    }
    if inode.has_flag(flags::EXTENTS) && inode.has_flag(flags::INLINE_DATA) {
        // Keep whichever i_block looks like.
        let drop = if extent_header_problem(&inode.block, None).is_none() {
            flags::INLINE_DATA
        } else {
            flags::EXTENTS
        };
        st.answer(s.cx.ask(Problem::ExtentsAndInline { ino }));
        inode.flags &= !drop;
    }
    if inode.has_flag(flags::INDEX) {
        let problem = if ftype != mode::S_IFDIR {
            Some(Problem::IndexFlagNotDirectory { ino })
        } else if !s.cx.sb.has_compat(compat::DIR_INDEX) {
            Some(Problem::IndexFlagWithoutFeature { ino })
        } else {
            None
        };
        if let Some(problem) = problem {
            st.answer(s.cx.ask(problem));
            inode.flags &= !flags::INDEX;
        }
    }
    let fast_symlink = is_fast_symlink(inode);
    if extents_fs
        && !inode.has_flag(flags::EXTENTS | flags::INLINE_DATA)
        && !fast_symlink
        && matches!(ftype, mode::S_IFREG | mode::S_IFDIR | mode::S_IFLNK)
        && extent_header_problem(&inode.block, None).is_none()
    {
        st.answer(s.cx.ask(Problem::ExtentsFlagMissing { ino }));
        inode.flags |= flags::EXTENTS;
    }
    if fast_symlink {
        let len = symlink_len(inode, &inode.block);
        let bad = if inode.has_flag(flags::EXTENTS) {
            Some(Problem::FastSymlinkExtents { ino })
        } else if len >= 60 || len as u64 != inode.size {
            let size = inode.size;
            Some(Problem::FastSymlinkSize { ino, len, size })
        } else {
            None
        };
        if let Some(problem) = bad {
            clear_if(s, ino, problem)?;
            return Ok(false);
        }
    }
    if inode.has_flag(flags::INLINE_DATA) && ino.0 >= s.cx.sb.first_ino.max(11) {
        match inline_capacity(inode) {
            None => {
                // Without system.data there is no telling how much of
                // i_block is data: e2fsck truncates to nothing.
                st.answer(s.cx.ask(Problem::InlineWithoutXattr { ino }));
                inode.size = 0;
                inode.flags &= !flags::INLINE_DATA;
                inode.block = [0; 60];
            }
            // A regular file may be longer than its inline data (the
            // kernel extends one in place; the rest reads as zeros).
            Some(cap) if ftype != mode::S_IFREG && inode.size != cap => {
                let size = inode.size;
                st.answer(s.cx.ask(Problem::InlineSize {
                    ino,
                    size,
                    want: cap,
                }));
                inode.size = cap;
            }
            Some(_) => {}
        }
    }
    Ok(true)
}

/// The length of the target `area` (i_block or the first block) holds,
/// as e2fsck's check_symlink reads it: up to the first NUL (the whole area
/// without one), or for an encrypted link its ciphertext length plus the
/// two bytes that store it. The caller compares it with i_size and wants
/// it shorter than the area.
pub(super) fn symlink_len(inode: &Inode, area: &[u8]) -> usize {
    if inode.has_flag(flags::ENCRYPT) {
        return crypt::symlink_stored_len(area).map_or(area.len(), |n| n as usize + 2);
    }
    area.iter().position(|&c| c == 0).unwrap_or(area.len())
}

/// A fast symlink keeps its target in i_block: e2fsck's test is the size
/// (1 to 59 bytes), not i_blocks, which may be what is wrong.
pub(super) fn is_fast_symlink(inode: &Inode) -> bool {
    inode.is_symlink() && !inode.has_flag(flags::INLINE_DATA) && inode.size > 0 && inode.size < 60
}

/// Bytes an inline-data inode holds: i_block plus the system.data
/// value; None without a system.data attribute.
pub(super) fn inline_capacity(inode: &Inode) -> Option<u64> {
    xattr::parse_ibody(&inode.ibody_xattrs)
        .ok()?
        .into_iter()
        .find(|e| e.index == INDEX_SYSTEM && e.name == b"data")
        .map(|e| 60 + e.value.len() as u64)
}

/// What the later passes need to know of a checked inode.
fn record(s: &mut Scan, inode: &Inode, counted: &blocks::Counted) {
    let ino = inode.ino;
    let ftype = ((inode.mode & mode::S_IFMT) >> 12) as u8;
    let has_ibody_ea = Ext4XattrIbodyHeader::of(&inode.ibody_xattrs)
        .is_some_and(|h| h.h_magic.get() == xattr::XATTR_MAGIC);
    let named_by_sb =
        Ext4SuperBlock::of(&s.cx.sb_raw).is_some_and(|r| sb_inode_fields(r).contains(&ino.0));
    if s.ea_charge.refs > 0 {
        // The body's own references (the block's were counted with it).
        if let Ok(body) = xattr::parse_ibody(&inode.ibody_xattrs) {
            super::ea_inode::count_refs(s.cx, &body);
        }
    }
    crate::quota::record(s.cx, inode, s.ea_charge.refs);
    if inode.has_flag(flags::ENCRYPT) {
        s.cx.found.encrypted.insert(ino);
    }
    let info = s.cx.found.inode_mut(ino);
    *info = InodeInfo {
        ftype,
        links: inode.links_count,
        // The quota and orphan files past the reserved inodes have no
        // directory entry: the superblock's field is their one link.
        refs: if named_by_sb {
            info.refs.max(1)
        } else {
            info.refs
        },
        empty: counted.blocks == 0
            && !has_ibody_ea
            && matches!(inode.mode & mode::S_IFMT, mode::S_IFREG | mode::S_IFDIR),
    };
}

/// Writes the inode back when a repair changed it, or offers to fix a
/// checksum that is all that is wrong.
fn finish(s: &mut Scan, inode: &mut Inode, st: State) -> Result<()> {
    let ino = inode.ino;
    let cx = &mut *s.cx;
    if st.dirty && !st.tainted {
        match inode.write_to(&cx.sb, &mut s.raw) {
            Ok(()) => cx.write_inode_raw(ino, &mut s.raw)?,
            Err(e) => cx.report.not_fixed(&format!("{ino}: {e}")),
        }
    } else if st.csum_bad && !st.dirty && cx.ask(Problem::InodeChecksum { ino }) {
        if st.tainted {
            cx.report
                .not_fixed("other repairs of this inode were declined");
        } else {
            cx.write_inode_raw(ino, &mut s.raw)?;
        }
    }
    Ok(())
}
