//! Before pass 1: the group descriptors (checksums, where their bitmaps
//! and inode tables lie) and the fixed metadata every group holds, marked
//! in use so that pass 1 sees any inode claiming it.

use fuse4fs_format::ext4::BlockNo;
use fuse4fs_format::ext4::group::{BG_BLOCK_UNINIT, BG_INODE_UNINIT, GroupDesc};
use fuse4fs_format::ext4::layout::Ext4SuperBlock;
use fuse4fs_format::ext4::superblock::incompat;

use crate::context::Fsck;
use crate::error::Result;
use crate::problem::{Problem, WhichBitmap};

/// The reserved block count may be at most half the filesystem (e2fsck's
/// check_super_block, which then gives up: "Corruption found in
/// superblock"). The count is a policy, not a structure: it is reset to
/// mke2fs' default, 5 %.
fn reserved_blocks(cx: &mut Fsck) -> Result<()> {
    let (r, n) = (cx.sb.r_blocks_count, cx.sb.blocks_count);
    if r <= n / 2 {
        return Ok(());
    }
    if cx.ask(Problem::ReservedBlocks { r_blocks: r }) {
        let new = n / 20;
        cx.sb.r_blocks_count = new;
        let r = Ext4SuperBlock::of_mut(&mut cx.sb_raw).expect("the raw superblock has 1024 bytes");
        r.s_r_blocks_count_lo.set(new as u32);
        r.s_r_blocks_count_hi.set((new >> 32) as u32);
        cx.write_superblock()?;
    }
    Ok(())
}

/// Whether group `g` claims more unused inodes at the end of its table
/// than it has free, or than it has at all (e2fsck's check_super_block);
/// only group checksums give the count a meaning.
fn itable_unused_impossible(cx: &Fsck, g: u32) -> bool {
    let gd = &cx.groups[g as usize];
    (cx.sb.metadata_csum() || cx.sb.gdt_csum())
        && (gd.itable_unused > gd.free_inodes_count || gd.itable_unused > cx.sb.inodes_per_group)
}

/// Checks every group descriptor and marks the fixed metadata in use.
pub(crate) fn run(cx: &mut Fsck) -> Result<()> {
    reserved_blocks(cx)?;
    crate::quota::validate_inodes(cx)?;
    if cx.sb.first_data_block > 0 {
        // Block 0 of a 1 KiB-block filesystem holds the boot sector; no
        // group covers it and nothing may be allocated there.
        cx.found.blocks.set(0);
    }
    let itb = cx.sb.inode_table_blocks();
    for g in 0..cx.sb.group_count() {
        let gd = cx.groups[g as usize];
        let first = cx.sb.group_first_block(g);
        // s_reserved_gdt_blocks is the superblock's word: never claim
        // past the end of the filesystem on its say-so.
        let meta_end = first
            .plus(cx.sb.group_base_meta_blocks(g) as u64)
            .min(BlockNo(cx.sb.blocks_count));
        for b in first.up_to(meta_end) {
            cx.found.claim(b);
        }
        cx.found
            .add_fixed(first, meta_end.0.saturating_sub(first.0));
        let (fs_first, fs_end) = (cx.sb.first_data_block as u64, cx.sb.blocks_count);
        let in_fs = move |b: BlockNo, len: u64| {
            b.0 >= fs_first && b.0.checked_add(len).is_some_and(|e| e <= fs_end)
        };
        if !in_fs(gd.inode_table, itb) {
            if cx.ask(Problem::InodeTableOutside {
                group: g,
                block: gd.inode_table,
            }) {
                cx.report
                    .not_fixed("an inode table cannot be rebuilt; use e2fsck, which clears it");
            }
            return Err(crate::error::FsckError::Unsupported(format!(
                "the inode table of group {g} lies outside the filesystem"
            )));
        }
        cx.found.add_fixed(gd.inode_table, itb);
        let mut overlap = false;
        for b in gd.inode_table.run(itb) {
            overlap |= !cx.found.claim(b);
        }
        if overlap && cx.ask(Problem::InodeTableOverlap { group: g }) {
            cx.report
                .not_fixed("an inode table cannot be moved; use e2fsck");
        }
        for (is_block, what, block) in [
            (true, WhichBitmap::Block, gd.block_bitmap),
            (false, WhichBitmap::Inode, gd.inode_bitmap),
        ] {
            let outside = !in_fs(block, 1);
            if !outside {
                cx.found.add_fixed(block, 1);
            }
            if !outside && cx.found.claim(block) {
                continue;
            }
            let (group, which) = (g, what);
            let relocate = cx.ask(if outside {
                Problem::BitmapOutside {
                    group,
                    which,
                    block,
                }
            } else {
                Problem::BitmapOverlap {
                    group,
                    which,
                    block,
                }
            });
            cx.found.misplaced_bitmaps.push((g, is_block, relocate));
        }
        if let Some(want) = GroupDesc::expected_checksum(&cx.sb, g, &cx.gd_raw[g as usize])
            && want != gd.checksum
            && cx.ask(Problem::GroupDescChecksum {
                group: g,
                have: gd.checksum,
                want,
            })
        {
            // A descriptor that fails its checksum is not trusted to
            // say which parts of the group were never used (as
            // e2fsck): pass 1 reads the whole inode table, pass 5
            // the bitmaps on disk.
            let gd = &mut cx.groups[g as usize];
            gd.flags &= !(BG_BLOCK_UNINIT | BG_INODE_UNINIT);
            gd.itable_unused = 0;
            cx.write_group_desc(g)?;
        }
        if itable_unused_impossible(cx, g) {
            // Pass 1 would skip inodes in use on its say-so: e2fsck
            // rereads the whole table instead.
            if cx.ask(Problem::ItableUnusedInvalid {
                group: g,
                unused: gd.itable_unused,
            }) {
                cx.groups[g as usize].itable_unused = 0;
                cx.write_group_desc(g)?;
            }
        }
    }
    mmp_block(cx);
    cx.found.seal_fixed();
    // What fixed metadata overlapped is a descriptor problem, reported
    // above; pass 1B deals only with blocks inodes claim twice.
    cx.found.dup_blocks.clear();
    Ok(())
}

/// The MMP block is in use though no inode owns it (e2fsck's pass 1 marks
/// it the same way, when it lies inside the filesystem).
fn mmp_block(cx: &mut Fsck) {
    let b = BlockNo(cx.sb.mmp_block);
    if cx.sb.has_incompat(incompat::MMP)
        && b.0 > cx.sb.first_data_block as u64
        && b.0 < cx.sb.blocks_count
    {
        cx.found.claim(b);
        cx.found.add_fixed(b, 1);
    }
}

/// Gives each misplaced bitmap the repair chose to move a new block in
/// its group (once passes 1–4 know which blocks are free); pass 5 then
/// writes its contents. Run just before pass 5.
pub(crate) fn relocate_bitmaps(cx: &mut Fsck) -> Result<()> {
    let moves: Vec<(u32, bool)> = cx
        .found
        .misplaced_bitmaps
        .iter()
        .filter(|m| m.2)
        .map(|m| (m.0, m.1))
        .collect();
    for (g, is_block) in moves {
        let goal = cx.sb.group_first_block(g);
        let Some(b) = crate::alloc::alloc_blocks(cx, goal, 1) else {
            cx.report
                .not_fixed(&format!("no free block to move a bitmap of group {g} to"));
            continue;
        };
        let gd = &mut cx.groups[g as usize];
        if is_block {
            gd.block_bitmap = b;
        } else {
            gd.inode_bitmap = b;
        }
        // Zeroed so that pass 5 finds every used bit to set and writes
        // the bitmap whole.
        cx.write_block(b, &vec![0u8; cx.bs as usize])?;
        cx.write_group_desc(g)?;
        cx.found
            .misplaced_bitmaps
            .retain(|m| (m.0, m.1) != (g, is_block));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::options::{Mode, Options};
    use crate::testutil::{debugfs, mkfs, require};

    /// s_reserved_gdt_blocks reaching past the end of the filesystem:
    /// no block past it is claimed (which panicked).
    #[test]
    fn reserved_gdt_blocks_past_the_end() {
        require(&["mkfs.ext4", "debugfs"]);
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(&src).unwrap();
        let img = mkfs(dir.path(), &["-t", "ext2", "-b", "1024"], &src, "8M");
        debugfs(&img, "ssv reserved_gdt_blocks 60000");
        for mode in [Mode::Check, Mode::Yes] {
            let opts = Options {
                mode,
                force: true,
                ..Options::default()
            };
            let _ = crate::check_path(&img, &opts);
        }
    }

    /// The MMP block belongs to no inode but is in use: a fresh `-O mmp`
    /// image is clean (it was reported free: "Block bitmap differences").
    #[test]
    fn the_mmp_block_is_in_use() {
        require(&["mkfs.ext4"]);
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(&src).unwrap();
        for args in [
            &["-O", "mmp"][..],
            &["-O", "mmp,^metadata_csum", "-b", "1024"],
        ] {
            let img = mkfs(dir.path(), args, &src, "16M");
            let opts = Options {
                mode: Mode::Check,
                force: true,
                ..Options::default()
            };
            let out = crate::check_path(&img, &opts).unwrap();
            assert!(out.problems.is_empty(), "{args:?}: {:#?}", out.problems);
        }
    }

    /// A 64-bit descriptor whose inode table lies past any device: the
    /// journal inode is read through it before setup judges it, which
    /// must be an operational error (exit 8), not an overflow.
    #[test]
    fn an_inode_table_past_2_64_bytes_is_refused() {
        require(&["mkfs.ext4", "debugfs"]);
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(&src).unwrap();
        let img = mkfs(dir.path(), &["-b", "1024", "-O", "64bit"], &src, "8M");
        debugfs(&img, "set_bg 0 inode_table 0x40000000000000");
        debugfs(&img, "set_bg 0 checksum calc");
        for mode in [Mode::Check, Mode::Yes] {
            let before = std::fs::read(&img).unwrap();
            let opts = Options {
                mode,
                force: true,
                ..Options::default()
            };
            assert!(crate::check_path(&img, &opts).is_err(), "{mode:?}");
            assert_eq!(std::fs::read(&img).unwrap(), before, "{mode:?}");
        }
    }
}
