//! Before pass 1: the group descriptors (checksums, where their bitmaps
//! and inode tables lie) and the fixed metadata every group holds, marked
//! in use so that pass 1 sees any inode claiming it.

use fuse4fs_format::ext4::group::GroupDesc;

use crate::context::Fsck;
use crate::error::Result;
use crate::problem::Kind;

/// Checks every group descriptor and marks the fixed metadata in use.
pub(crate) fn run(cx: &mut Fsck) -> Result<()> {
    if cx.sb.first_data_block > 0 {
        // Block 0 of a 1 KiB-block filesystem holds the boot sector; no
        // group covers it and nothing may be allocated there.
        cx.found.blocks.set(0);
    }
    let itb = cx.sb.inode_table_blocks();
    for g in 0..cx.sb.group_count() {
        let gd = cx.groups[g as usize];
        let first = cx.sb.group_first_block(g).0;
        for b in first..first + cx.sb.group_base_meta_blocks(g) as u64 {
            cx.found.claim(b);
        }
        let in_fs = |b: u64, len: u64| {
            b >= cx.sb.first_data_block as u64
                && b.checked_add(len).is_some_and(|e| e <= cx.sb.blocks_count)
        };
        let placed = in_fs(gd.block_bitmap.0, 1)
            && in_fs(gd.inode_bitmap.0, 1)
            && in_fs(gd.inode_table.0, itb);
        if !placed {
            let msg = format!(
                "Group descriptor {g} places its bitmaps ({}, {}) or inode table ({}) outside the filesystem.",
                gd.block_bitmap.0, gd.inode_bitmap.0, gd.inode_table.0
            );
            if cx.ask(Kind::GroupDescBad, msg) {
                cx.report
                    .not_fixed("relocating group metadata is not supported; use e2fsck");
            }
            return Err(crate::error::FsckError::Unsupported(format!(
                "group descriptor {g} is unusable"
            )));
        }
        let mut overlap = !cx.found.claim(gd.block_bitmap.0);
        overlap |= !cx.found.claim(gd.inode_bitmap.0);
        for b in gd.inode_table.0..gd.inode_table.0 + itb {
            overlap |= !cx.found.claim(b);
        }
        if overlap {
            let msg =
                format!("Group descriptor {g}: its bitmaps or inode table overlap other metadata.");
            if cx.ask(Kind::GroupDescBad, msg) {
                cx.report
                    .not_fixed("relocating group metadata is not supported; use e2fsck");
            }
        }
        if let Some(want) = GroupDesc::expected_checksum(&cx.sb, g, &cx.gd_raw[g as usize])
            && want != gd.checksum
        {
            let msg = format!(
                "One or more block group descriptor checksums are invalid (group {g}: 0x{:04x}, should be 0x{want:04x}).",
                gd.checksum
            );
            if cx.ask(Kind::GroupDescChecksum, msg) {
                cx.write_group_desc(g)?;
            }
        }
    }
    // What fixed metadata overlapped is a descriptor problem, reported
    // above; pass 1B deals only with blocks inodes claim twice.
    cx.found.dup_blocks.clear();
    Ok(())
}
