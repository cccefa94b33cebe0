//! Entries whose value lives in an EA inode (`ea_inode`), checked as
//! e2fsck's `check_large_ea_inode`: the inode number in range, the entry's
//! hash over the EA inode's stored value hash (an old Lustre-style EA
//! inode, which names its owner in i_mtime and i_generation, is taken as
//! it is), the EA_INODE flag. Each good entry costs its owner the value's
//! clusters in i_blocks and one inode in quota, and is one reference to
//! the EA inode, compared in pass 4 with the count the EA inode stores.

use fuse4fs_format::ext4::InodeNo;
use fuse4fs_format::ext4::ea_inode;
use fuse4fs_format::ext4::inode::flags;
use fuse4fs_format::ext4::xattr::{ValueInode, XattrEntry};

use crate::context::Fsck;
use crate::error::Result;
use crate::problem::Problem;

/// What an inode's (or a block's) EA inode entries cost their owner.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EaCharge {
    /// Filesystem blocks counted in the owner's i_blocks.
    pub blocks: u64,
    /// Entries naming an EA inode (each one inode of quota).
    pub refs: u64,
}

/// Checks the EA inode entries of one place of inode `owner` (its
/// `generation` for the Lustre case). Returns what they cost, or the
/// problem with the first bad one.
pub(super) fn check_entries(
    cx: &Fsck,
    owner: InodeNo,
    generation: u32,
    entries: &[XattrEntry],
) -> Result<std::result::Result<EaCharge, Problem>> {
    let mut charge = EaCharge::default();
    for e in entries {
        let Some(v) = e.value_inode else {
            continue;
        };
        match check_one(cx, owner, generation, e, &v)? {
            Ok(blocks) => {
                charge.blocks += blocks;
                charge.refs += 1;
            }
            Err(why) => return Ok(Err(why)),
        }
    }
    Ok(Ok(charge))
}

/// The EA inodes `entries` name, one reference each.
pub(super) fn count_refs(cx: &mut Fsck, entries: &[XattrEntry]) {
    for v in entries.iter().filter_map(|e| e.value_inode) {
        *cx.found.ea_refs.entry(v.ino).or_default() += 1;
    }
}

fn check_one(
    cx: &Fsck,
    owner: InodeNo,
    generation: u32,
    e: &XattrEntry,
    v: &ValueInode,
) -> Result<std::result::Result<u64, Problem>> {
    let illegal = || Problem::EaValueInodeIllegal {
        ino: owner,
        ea_ino: v.ino,
    };
    if !cx
        .sb
        .has_incompat(fuse4fs_format::ext4::superblock::incompat::EA_INODE)
        || v.ino.0 < cx.sb.first_ino
        || v.ino.0 > cx.sb.inodes_count
    {
        return Ok(Err(illegal()));
    }
    let ea = match cx.read_inode(v.ino)? {
        Ok(i) => i,
        Err(_) => return Ok(Err(illegal())),
    };
    let has_flag = ea.has_flag(flags::EA_INODE);
    if ea_inode::entry_hash_matches(&e.name, ea_inode::stored_hash(&ea), v.hash) {
        if !has_flag {
            return Ok(Err(Problem::EaInodeFlagMissing {
                ino: owner,
                ea_ino: v.ino,
            }));
        }
        let cluster = 1u64 << cx.sb.log_cluster_size.saturating_sub(cx.sb.log_block_size);
        return Ok(Ok(ea_inode::charged_blocks(v.size as u64, cx.bs, cluster)));
    }
    if ea.mtime.sec as u32 == owner.0 && ea.generation.0 == generation {
        return Ok(Ok(0));
    }
    if !has_flag {
        return Ok(Err(illegal()));
    }
    Ok(Err(Problem::XattrHash {
        ino: owner,
        hash: v.hash,
    }))
}

/// Pass 4 for an in-use EA inode: how many entries name it, and the
/// stored count checked against that (e2fsck's `check_ea_inode`; a
/// Lustre-style EA inode, i_ctime equal to i_atime, keeps no count).
/// Returns false when nothing names it: it is then unattached.
pub(crate) fn check_refcount(cx: &mut Fsck, ino: InodeNo) -> Result<bool> {
    let Ok(mut inode) = cx.read_inode(ino)? else {
        return Ok(false);
    };
    if !inode.has_flag(flags::EA_INODE) {
        return Ok(false);
    }
    let actual = cx.found.ea_refs.get(&ino).copied().unwrap_or(0);
    if actual == 0 {
        return Ok(false);
    }
    let stored = ea_inode::refcount(&inode);
    if stored != actual
        && inode.ctime.sec != inode.atime.sec
        && cx.ask(Problem::EaInodeRefcount {
            ino,
            have: stored,
            want: actual,
        })
    {
        ea_inode::set_refcount(&mut inode, actual);
        cx.write_inode(&inode)?;
    }
    Ok(true)
}
