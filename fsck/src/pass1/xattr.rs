//! Extended attribute blocks: each inode's i_file_acl checked (in the
//! filesystem, a sane block, its checksum), references counted, the
//! block claimed once; at the end each block's h_refcount compared with
//! the inodes naming it.

use fuse4fs_format::ext4::BlockNo;
use fuse4fs_format::ext4::inode::Inode;
use fuse4fs_format::ext4::layout::xattr::Ext4XattrHeader;
use fuse4fs_format::ext4::superblock::compat;
use fuse4fs_format::ext4::xattr::{
    parse_block_placed, set_block_checksum, set_block_refcount, verify_block_checksum,
};

use super::{Scan, State};
use crate::context::Fsck;
use crate::error::Result;
use crate::problem::Problem;

/// Checks the inode's xattr block; true when it counts in i_blocks.
pub(super) fn check_block(s: &mut Scan, inode: &mut Inode, st: &mut State) -> Result<bool> {
    let b = BlockNo(inode.file_acl);
    if b.0 == 0 {
        return Ok(false);
    }
    let ino = inode.ino;
    if let Some(n) = s.cx.found.xattr_refs.get_mut(&b) {
        *n += 1;
        // Every inode naming the block pays for its EA inode values.
        let charge =
            s.cx.found
                .xattr_ea_charge
                .get(&b)
                .copied()
                .unwrap_or_default();
        s.ea_charge.blocks += charge.blocks;
        s.ea_charge.refs += charge.refs;
        return Ok(true);
    }
    let mut ea_entries = Vec::new();
    let why = if !s.cx.sb.has_compat(compat::EXT_ATTR) {
        Some("the filesystem has no ext_attr feature".to_string())
    } else if !s.cx.block_in_fs(b) {
        Some("outside the filesystem".to_string())
    } else if s.bad_xattr.contains(&b) {
        Some("unusable".to_string())
    } else {
        let buf = s.cx.read_block(b)?;
        match parse_block_placed(&buf) {
            Err(e) => {
                s.bad_xattr.insert(b);
                Some(e.to_string())
            }
            Ok((_, placed)) => {
                ea_entries = placed.into_iter().map(|p| p.entry).collect();
                if s.cx.sb.metadata_csum()
                    && !verify_block_checksum(s.cx.seed, b.0, &buf)
                    && s.cx.ask(Problem::XattrBlockChecksum { block: b })
                {
                    let mut buf = buf;
                    set_block_checksum(s.cx.seed, b.0, &mut buf);
                    s.cx.write_block(b, &buf)?;
                }
                let generation = inode.generation.0;
                match super::ea_inode::check_entries(s.cx, ino, generation, &ea_entries)? {
                    Ok(charge) => {
                        s.cx.found.xattr_ea_charge.insert(b, charge);
                        s.ea_charge.blocks += charge.blocks;
                        s.ea_charge.refs += charge.refs;
                        None
                    }
                    Err(problem) => {
                        s.bad_xattr.insert(b);
                        Some(problem.message())
                    }
                }
            }
        }
    };
    if let Some(why) = why {
        st.answer(s.cx.ask(Problem::XattrBlock { ino, block: b, why }));
        inode.file_acl = 0;
        return Ok(false);
    }
    s.cx.found.claim(b);
    s.cx.found.xattr_refs.insert(b, 1);
    // The block's entries are its references to EA inodes, once.
    super::ea_inode::count_refs(s.cx, &ea_entries);
    Ok(true)
}

/// Compares every xattr block's h_refcount with the inodes naming it.
pub(super) fn check_refcounts(cx: &mut Fsck) -> Result<()> {
    let mut blocks: Vec<(BlockNo, u32)> =
        cx.found.xattr_refs.iter().map(|(&b, &n)| (b, n)).collect();
    blocks.sort_unstable();
    for (b, n) in blocks {
        let mut buf = cx.read_block(b)?;
        let stored = Ext4XattrHeader::of(&buf).map_or(0, |h| h.h_refcount.get());
        if stored != n
            && cx.ask(Problem::XattrRefcount {
                block: b,
                have: stored,
                want: n,
            })
        {
            set_block_refcount(&mut buf, n);
            if cx.sb.metadata_csum() {
                set_block_checksum(cx.seed, b.0, &mut buf);
            }
            cx.write_block(b, &buf)?;
        }
    }
    Ok(())
}
