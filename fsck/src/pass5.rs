//! Pass 5: the group summaries against what the passes found. Each
//! group's block and inode bitmap is compared with the blocks and inodes
//! found in use (an uninitialised group's bitmap is the one it implies),
//! then the bitmap checksums, the group counts and flags, and last the
//! superblock's free counts. Repairs rewrite the bitmaps from `found`
//! (padding set as the kernel sets it), then the descriptors, then the
//! superblock: nothing before this pass touches them.

use fuse4fs_format::ext4::bitmap::{Bitmap, block_bitmap_checksum, inode_bitmap_checksum};
use fuse4fs_format::ext4::group::{BG_BLOCK_UNINIT, BG_INODE_UNINIT, GroupDesc};
use fuse4fs_format::ext4::{BlockNo, InodeNo};

use crate::context::{Fsck, InodeInfo};
use crate::error::Result;
use crate::options::Mode;
use crate::problem::{Count, Problem, WhichBitmap};

/// Ranges listed in one "bitmap differences" line at most; the count of
/// the rest is given instead (a wiped bitmap would otherwise make a line
/// of megabytes).
const MAX_RANGES: usize = 200;

/// Checks and repairs bitmaps, group counts and flags, and the
/// superblock counts.
pub(crate) fn run(cx: &mut Fsck) -> Result<()> {
    let ngroups = cx.sb.group_count();
    cx.progress
        .start("Pass 5: group summaries", ngroups as u64 * 2);
    let uninit_ok = cx.sb.metadata_csum() || cx.sb.gdt_csum();
    let meta = metadata_by_group(cx);
    let bs = cx.bs as usize;
    let mut expect = vec![0u8; bs];
    let mut disk = vec![0u8; bs];
    // The checksums of the on-disk bitmaps (block, inode) of groups
    // that have them, computed as they are read.
    let csum = cx.sb.metadata_csum();
    let mut disk_csums = vec![(None::<u32>, None::<u32>); ngroups as usize];

    // Block bitmaps.
    let mut diffs = Diffs::default();
    let mut block_bad = vec![false; ngroups as usize];
    let mut padding_fix = vec![false; ngroups as usize];
    let mut free_blocks = vec![0u32; ngroups as usize];
    for g in 0..ngroups {
        expected_block_bitmap(cx, g, &mut expect);
        let uninit = uninit_ok && cx.groups[g as usize].flags & BG_BLOCK_UNINIT != 0;
        let misplaced = cx
            .found
            .misplaced_bitmaps
            .iter()
            .any(|m| (m.0, m.1) == (g, true));
        if misplaced {
            // Nothing to read (reported by setup): taken as right.
            disk.copy_from_slice(&expect);
        } else if uninit {
            implied_block_bitmap(cx, g, &meta[g as usize], &mut disk);
        } else {
            cx.read_block_into(cx.groups[g as usize].block_bitmap, &mut disk)?;
            if csum {
                disk_csums[g as usize].0 = Some(block_csum(cx, &disk));
            }
        }
        let nblocks = cx.sb.group_blocks(g) as usize;
        let bpg = cx.sb.blocks_per_group as usize;
        let first = cx.sb.group_first_block(g).0;
        let mut padding = !uninit && !tail_set(&disk, bpg);
        diff_bits(&expect, &disk, bpg, |i, used| {
            if i < nblocks {
                diffs.push(first + i as u64, used);
            } else {
                padding = true;
            }
        });
        padding_fix[g as usize] = padding;
        if diffs.touched {
            block_bad[g as usize] = true;
            diffs.touched = false;
        }
        free_blocks[g as usize] = Bitmap::new(&expect[..]).count_zeros(nblocks) as u32;
        cx.progress.inc(1);
    }
    if diffs.count > 0 && !cx.ask(diffs.problem(WhichBitmap::Block)) {
        block_bad.iter_mut().for_each(|b| *b = false);
    }
    if padding_fix.contains(&true)
        && cx.ask(Problem::BitmapPadding {
            which: WhichBitmap::Block,
        })
    {
        for (bad, pad) in block_bad.iter_mut().zip(&padding_fix) {
            *bad |= *pad;
        }
    }

    // Inode bitmaps.
    let ipg = cx.sb.inodes_per_group as usize;
    let mut diffs = Diffs::default();
    let mut inode_bad = vec![false; ngroups as usize];
    let mut inode_padding = vec![false; ngroups as usize];
    let mut free_inodes = vec![0u32; ngroups as usize];
    let mut dirs = vec![0u32; ngroups as usize];
    let mut last_used = vec![None::<u32>; ngroups as usize];
    for g in 0..ngroups {
        let (used, ndirs, last) = expected_inode_bitmap(cx, g, &mut expect);
        dirs[g as usize] = ndirs;
        last_used[g as usize] = last;
        free_inodes[g as usize] = cx.sb.inodes_per_group - used;
        let uninit = uninit_ok && cx.groups[g as usize].flags & BG_INODE_UNINIT != 0;
        let misplaced = cx
            .found
            .misplaced_bitmaps
            .iter()
            .any(|m| (m.0, m.1) == (g, false));
        if misplaced {
            disk.copy_from_slice(&expect);
        } else if uninit {
            disk.fill(0);
            Bitmap::new(&mut disk[..]).mark_tail(ipg);
        } else {
            cx.read_block_into(cx.groups[g as usize].inode_bitmap, &mut disk)?;
            if csum {
                disk_csums[g as usize].1 = Some(inode_csum(cx, &disk));
            }
        }
        let base = g as u64 * ipg as u64 + 1;
        diff_bits(&expect, &disk, ipg, |i, used| {
            diffs.push(base + i as u64, used)
        });
        inode_padding[g as usize] = !uninit && !tail_set(&disk, ipg);
        if diffs.touched {
            inode_bad[g as usize] = true;
            diffs.touched = false;
        }
        cx.progress.inc(1);
    }
    if diffs.count > 0 && !cx.ask(diffs.problem(WhichBitmap::Inode)) {
        inode_bad.iter_mut().for_each(|b| *b = false);
    }
    if inode_padding.contains(&true)
        && cx.ask(Problem::BitmapPadding {
            which: WhichBitmap::Inode,
        })
    {
        for (bad, pad) in inode_bad.iter_mut().zip(&inode_padding) {
            *bad |= *pad;
        }
    }

    let mut dirty = vec![false; ngroups as usize];

    // Flags: an inode in use where the descriptor says the table is
    // unused, or a group still marked uninitialised with inodes in use.
    if uninit_ok {
        for g in 0..ngroups as usize {
            let gd = cx.groups[g];
            let in_use = last_used[g].map_or(0, |l| l + 1);
            let may_be_unused = cx.sb.inodes_per_group - in_use;
            let uninit_in_use = gd.flags & BG_INODE_UNINIT != 0 && in_use > 0;
            if !uninit_in_use && gd.itable_unused <= may_be_unused {
                continue;
            }
            let group = g as u32;
            let problem = if uninit_in_use {
                Problem::InodeUninitInUse {
                    group,
                    ino: InodeNo(group * cx.sb.inodes_per_group + in_use),
                }
            } else {
                Problem::ItableUnusedTooLarge {
                    group,
                    unused: gd.itable_unused,
                    max: may_be_unused,
                }
            };
            if cx.ask(problem) {
                let gd = &mut cx.groups[g];
                if uninit_in_use {
                    gd.flags &= !BG_INODE_UNINIT;
                    // The on-disk bitmap was never written: write it.
                    inode_bad[g] = true;
                }
                gd.itable_unused = gd.itable_unused.min(may_be_unused);
                dirty[g] = true;
            }
        }
    }

    // Rewrite the bitmaps that were wrong (BLOCK_UNINIT cleared: the
    // group now has a real bitmap). A bitmap still misplaced (no free
    // block to move it to) lies on other metadata or outside the
    // filesystem: never written there.
    for g in 0..ngroups {
        let gi = g as usize;
        for m in &cx.found.misplaced_bitmaps {
            if m.0 == g {
                if m.1 {
                    block_bad[gi] = false;
                } else {
                    inode_bad[gi] = false;
                }
            }
        }
        if block_bad[gi] {
            expected_block_bitmap(cx, g, &mut expect);
            cx.write_block(cx.groups[gi].block_bitmap, &expect)?;
            cx.groups[gi].flags &= !BG_BLOCK_UNINIT;
            cx.groups[gi].block_bitmap_csum = block_csum(cx, &expect);
            dirty[gi] = true;
        }
        if inode_bad[gi] {
            expected_inode_bitmap(cx, g, &mut expect);
            cx.write_block(cx.groups[gi].inode_bitmap, &expect)?;
            cx.groups[gi].flags &= !BG_INODE_UNINIT;
            cx.groups[gi].inode_bitmap_csum = inode_csum(cx, &expect);
            dirty[gi] = true;
        }
    }

    // Bitmap checksums of the bitmaps left as they are.
    let mask = if cx.sb.desc_size >= 64 {
        u32::MAX
    } else {
        0xFFFF
    };
    for g in 0..ngroups as usize {
        let (bc, ic) = disk_csums[g];
        for (which, computed, bad) in [
            (WhichBitmap::Block, bc, block_bad[g]),
            (WhichBitmap::Inode, ic, inode_bad[g]),
        ] {
            let have = *bitmap_csum(&mut cx.groups[g], which) & mask;
            if let Some(want) = computed
                && !bad
                && have != want & mask
                && cx.ask(Problem::BitmapChecksum {
                    which,
                    group: g as u32,
                    have,
                    want: want & mask,
                })
            {
                *bitmap_csum(&mut cx.groups[g], which) = want;
                dirty[g] = true;
            }
        }
    }

    // Group counts.
    for g in 0..ngroups as usize {
        let gd = cx.groups[g];
        let checks = [
            (Count::FreeBlocks, gd.free_blocks_count, free_blocks[g]),
            (Count::FreeInodes, gd.free_inodes_count, free_inodes[g]),
            (Count::Directories, gd.used_dirs_count, dirs[g]),
        ];
        for (count, have, counted) in checks {
            if have == counted {
                continue;
            }
            if cx.ask(Problem::GroupCount {
                group: g as u32,
                count,
                have,
                want: counted,
            }) {
                let gd = &mut cx.groups[g];
                match count {
                    Count::FreeBlocks => gd.free_blocks_count = counted,
                    Count::FreeInodes => gd.free_inodes_count = counted,
                    Count::Directories => gd.used_dirs_count = counted,
                }
                dirty[g] = true;
            }
        }
    }

    for g in 0..ngroups {
        if dirty[g as usize] {
            cx.write_group_desc(g)?;
        }
    }
    cx.progress.finish();
    superblock_counts(cx, &free_blocks, &free_inodes)
}

/// The superblock's free counts against the groups'. The kernel keeps
/// them only approximately (it writes them back at unmount), so e2fsck
/// does not hold a stale pair against the filesystem: `-n` notes it
/// without failing, `-p` fixes it without a word; `-y` asks (and so
/// exits 1).
fn superblock_counts(cx: &mut Fsck, free_blocks: &[u32], free_inodes: &[u32]) -> Result<()> {
    let blocks: u64 = free_blocks.iter().map(|&n| n as u64).sum();
    let inodes: u64 = free_inodes.iter().map(|&n| n as u64).sum();
    let inodes = u32::try_from(inodes).unwrap_or(u32::MAX);
    let mut change = false;
    for (count, have, want) in [
        (Count::FreeBlocks, cx.sb.free_blocks_count, blocks),
        (
            Count::FreeInodes,
            cx.sb.free_inodes_count as u64,
            inodes as u64,
        ),
    ] {
        if have != want {
            // A Preen::Quiet row: a note with -n, silent with -p.
            change |= cx.ask(Problem::SuperblockCount { count, have, want });
        }
    }
    if change {
        cx.sb.free_blocks_count = blocks;
        cx.sb.free_inodes_count = inodes;
        let was = cx.modified;
        cx.write_superblock()?;
        // A quiet fix (preen) is no repair: e2fsck exits 0 after it.
        if cx.opts.mode == Mode::Preen {
            cx.modified = was;
        }
    }
    Ok(())
}

/// Checksum of a block bitmap block (its first clusters_per_group bits).
fn block_csum(cx: &Fsck, bitmap: &[u8]) -> u32 {
    let n = (cx.sb.blocks_per_group as usize / 8).min(bitmap.len());
    block_bitmap_checksum(cx.seed, &bitmap[..n])
}

/// Checksum of an inode bitmap block (its first inodes_per_group bits).
fn inode_csum(cx: &Fsck, bitmap: &[u8]) -> u32 {
    let n = (cx.sb.inodes_per_group as usize / 8).min(bitmap.len());
    inode_bitmap_checksum(cx.seed, &bitmap[..n])
}

/// For each group, the bitmaps and inode tables (of any group) lying in
/// it: an uninitialised group's implied bitmap marks them (as libext2fs
/// reads such a group), so that flex_bg layouts compare cleanly.
fn metadata_by_group(cx: &Fsck) -> Vec<Vec<(BlockNo, u64)>> {
    let n = cx.sb.group_count();
    let mut out = vec![Vec::new(); n as usize];
    let itb = cx.sb.inode_table_blocks();
    let first = BlockNo(cx.sb.first_data_block as u64);
    let bpg = cx.sb.blocks_per_group as u64;
    for gd in &cx.groups {
        for (start, len) in [
            (gd.block_bitmap, 1),
            (gd.inode_bitmap, 1),
            (gd.inode_table, itb),
        ] {
            // Setup refused descriptors outside the filesystem; split
            // ranges across group boundaries.
            let end = start.saturating_plus(len).min(BlockNo(cx.sb.blocks_count));
            let mut b = start.max(first);
            while b < end {
                let g = b.offset_from(first) / bpg;
                let group_end = first.plus((g + 1) * bpg).min(end);
                if let Some(list) = out.get_mut(g as usize) {
                    list.push((b, group_end.offset_from(b)));
                }
                b = group_end;
            }
        }
    }
    out
}

/// The block bitmap of group `g` as `found` has it, padded.
fn expected_block_bitmap(cx: &Fsck, g: u32, out: &mut [u8]) {
    out.fill(0);
    let first = cx.sb.group_first_block(g).bit();
    let n = cx.sb.group_blocks(g) as usize;
    copy_bits(cx.found.blocks.bytes(), first, n, out);
    Bitmap::new(out).mark_tail(n);
}

/// The bitmap an uninitialised group implies: its superblock backup and
/// descriptor blocks, and the group metadata lying in it.
fn implied_block_bitmap(cx: &Fsck, g: u32, meta: &[(BlockNo, u64)], out: &mut [u8]) {
    out.fill(0);
    let n = cx.sb.group_blocks(g) as usize;
    let first = cx.sb.group_first_block(g);
    let mut bm = Bitmap::new(out);
    for i in 0..(cx.sb.group_base_meta_blocks(g) as usize).min(n) {
        bm.set(i);
    }
    for &(start, len) in meta {
        for b in start.run(len) {
            let i = b.offset_from(first) as usize;
            if i < n {
                bm.set(i);
            }
        }
    }
    bm.mark_tail(n);
}

/// Where group descriptor `gd` stores its `which` bitmap's checksum.
fn bitmap_csum(gd: &mut GroupDesc, which: WhichBitmap) -> &mut u32 {
    match which {
        WhichBitmap::Block => &mut gd.block_bitmap_csum,
        WhichBitmap::Inode => &mut gd.inode_bitmap_csum,
    }
}

/// The inode bitmap of group `g` as `found` has it, padded; returns the
/// inodes in use, the directories, and the index of the last inode in use.
fn expected_inode_bitmap(cx: &Fsck, g: u32, out: &mut [u8]) -> (u32, u32, Option<u32>) {
    out.fill(0);
    let ipg = cx.sb.inodes_per_group;
    // In u64: a hostile geometry's groups may hold more inodes than a
    // u32 counts (the table ends at s_inodes_count).
    let base = g as u64 * ipg as u64;
    let first_ino = cx.sb.first_ino as u64;
    let (mut used, mut dirs, mut last) = (0u32, 0u32, None);
    let mut bm = Bitmap::new(out);
    let infos = &cx.found.inodes;
    // A group where nothing was recorded has only its reserved inodes.
    let recorded = infos.any_recorded(
        InodeNo(base as u32 + 1),
        InodeNo((base + ipg as u64) as u32),
    );
    for i in 0..ipg {
        let n = base + i as u64 + 1;
        if !recorded && n >= first_ino {
            break;
        }
        let info = if n <= infos.len() as u64 {
            *infos.get(InodeNo(n as u32))
        } else {
            InodeInfo::default()
        };
        // Reserved inodes are in use whatever they hold, as mke2fs
        // leaves them.
        if n < first_ino || info.in_use() {
            bm.set(i as usize);
            used += 1;
            last = Some(i);
            dirs += info.is_dir() as u32;
        }
    }
    bm.mark_tail(ipg as usize);
    (used, dirs, last)
}

/// Whether every byte of the bitmap block past the first `nbits` bits
/// is 0xFF, as the kernel and mke2fs leave them (libext2fs checks this
/// when it reads the bitmaps).
fn tail_set(block: &[u8], nbits: usize) -> bool {
    block
        .get(nbits.div_ceil(8)..)
        .is_none_or(|t| t.iter().all(|&b| b == 0xFF))
}

/// Copies bits `start .. start + nbits` of `src` to bits `0 .. nbits` of
/// `dst` (which must hold them); bits of `dst` past `nbits` are cleared
/// in the last byte written and left alone after it.
fn copy_bits(src: &[u8], start: usize, nbits: usize, dst: &mut [u8]) {
    let nbytes = nbits.div_ceil(8);
    let base = start / 8;
    let shift = start % 8;
    if shift == 0 {
        let end = (base + nbytes).min(src.len());
        let n = end.saturating_sub(base);
        dst[..n].copy_from_slice(&src[base..end]);
    } else {
        for (i, d) in dst[..nbytes].iter_mut().enumerate() {
            let lo = src.get(base + i).map_or(0, |b| b >> shift);
            let hi = src.get(base + i + 1).map_or(0, |b| b << (8 - shift));
            *d = lo | hi;
        }
    }
    if !nbits.is_multiple_of(8) {
        dst[nbytes - 1] &= (1u8 << (nbits % 8)) - 1;
    }
}

/// Calls `f(i, set_in_expected)` for every bit below `nbits` where
/// `expected` and `disk` differ, comparing whole bytes first.
fn diff_bits(expected: &[u8], disk: &[u8], nbits: usize, mut f: impl FnMut(usize, bool)) {
    let nbytes = nbits.div_ceil(8).min(expected.len()).min(disk.len());
    for (k, (&a, &b)) in expected[..nbytes].iter().zip(&disk[..nbytes]).enumerate() {
        let x = a ^ b;
        if x == 0 {
            continue;
        }
        for bit in 0..8 {
            let i = k * 8 + bit;
            if x & (1 << bit) != 0 && i < nbits {
                f(i, a & (1 << bit) != 0);
            }
        }
    }
}

/// Differences between a bitmap and what was found, as e2fsck lists
/// them: `+n` in use but marked free, `-n` marked in use but free,
/// consecutive ones of one sign as `-(a--b)`.
#[derive(Default)]
struct Diffs {
    ranges: Vec<(u64, u64, bool)>,
    /// Bits that differ.
    count: u64,
    /// Ranges not kept (past [`MAX_RANGES`]).
    dropped: u64,
    /// Whether anything was pushed since the caller last cleared it.
    touched: bool,
}

impl Diffs {
    fn push(&mut self, n: u64, used: bool) {
        self.count += 1;
        self.touched = true;
        if let Some(last) = self.ranges.last_mut()
            && last.2 == used
            && last.1 + 1 == n
        {
            last.1 = n;
            return;
        }
        if self.ranges.len() < MAX_RANGES {
            self.ranges.push((n, n, used));
        } else {
            self.dropped += 1;
        }
    }

    /// The differences of bitmap `which`, as one problem.
    fn problem(&self, which: WhichBitmap) -> Problem {
        Problem::BitmapDifferences {
            which,
            ranges: self.ranges.clone(),
            more: self.dropped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_bits_at_any_offset() {
        let src = [0b1010_1100u8, 0b0000_1111, 0xFF];
        let mut dst = [0u8; 2];
        copy_bits(&src, 0, 12, &mut dst);
        assert_eq!(dst, [0b1010_1100, 0b0000_1111]);
        let mut dst = [0u8; 2];
        copy_bits(&src, 2, 10, &mut dst);
        // Bits 2..12 of src: 101011 then 0011 (bits 8..11 of src = 1111).
        assert_eq!(dst, [0b1110_1011, 0b11]);
        let mut dst = [0u8; 1];
        copy_bits(&src, 1, 3, &mut dst);
        assert_eq!(dst, [0b110]);
    }

    #[test]
    fn diffs_merge_runs_and_print_like_e2fsck() {
        let mut d = Diffs::default();
        for n in 1292..=1316 {
            d.push(n, false);
        }
        d.push(1317, true);
        d.push(2000, true);
        assert_eq!(
            d.problem(WhichBitmap::Block).message(),
            "Block bitmap differences: -(1292--1316) +1317 +2000"
        );
        assert_eq!(d.count, 27);
    }

    #[test]
    fn diff_bits_reports_each_bit_below_the_limit() {
        let mut seen = Vec::new();
        diff_bits(&[0b0000_0101, 0xFF], &[0b0000_0110, 0x00], 12, |i, u| {
            seen.push((i, u))
        });
        assert_eq!(
            seen,
            vec![
                (0, true),
                (1, false),
                (8, true),
                (9, true),
                (10, true),
                (11, true)
            ]
        );
    }
}

/// Helpers for the tests of the journal, orphan and pass 5 modules:
/// images made with mke2fs and damaged with debugfs, and a check that
/// runs the setup passes, a minimal pass 1 (enough to know which blocks
/// and inodes are in use on a well-formed image) and pass 5.
#[cfg(test)]
pub(crate) mod testkit {
    use std::path::{Path, PathBuf};

    use fuse4fs_format::ext4::superblock::{STATE_ERROR, STATE_VALID};
    use fuse4fs_format::ext4::{BlockNo, InodeNo};

    use crate::blockwalk::{Item, has_block_tree, walk};
    use crate::context::{DirInfo, Fsck, InodeInfo};
    use crate::device::Device;
    use crate::options::{Mode, Options};
    use crate::problem::Kind;
    use crate::report::Finding;

    pub use crate::testutil::require;

    /// `mkfs.ext4 -q -F ARGS -d SRC DIR/img SIZE` with `files` in SRC.
    pub fn mkfs(dir: &Path, args: &[&str], size: &str, files: &[(&str, Vec<u8>)]) -> PathBuf {
        crate::testutil::mkfs_filled(dir, args, size, |src| {
            for (name, data) in files {
                std::fs::write(src.join(name), data).unwrap();
            }
        })
    }

    /// `debugfs -w -f CMDS img`: the lines of `cmd` in one session.
    pub fn debugfs(img: &Path, cmd: &str) -> String {
        let text = fuse4fs_testkit::e2fs::debugfs_w_text(img, &[cmd]);
        // The last line answers the last command (each is echoed).
        text.lines().last().unwrap_or("").to_string()
    }

    pub use fuse4fs_testkit::e2fs::e2fsck_clean;

    /// What pass 1 will find on a well-formed image: inodes in use (with
    /// links) and the blocks they own. `strict`: damage is a test
    /// failure (otherwise damaged inodes are skipped, for hostile images).
    pub fn mini_pass1(cx: &mut Fsck, strict: bool) -> crate::error::Result<()> {
        for ino in cx.inode_numbers() {
            // Every slot, even past itable_unused: the tests' images have
            // zeroed tables, and a test may move the unused mark.
            let Ok(inode) = cx.read_inode(ino)? else {
                continue;
            };
            // As pass 1: an orphan left on the list is in use unlinked.
            let orphan = cx.found.orphans.contains(&ino);
            if inode.mode == 0 || (inode.links_count == 0 && !orphan) {
                continue;
            }
            let mut owned = Vec::new();
            if has_block_tree(&inode, cx.bs as u32) {
                let damage = walk(cx, &inode, &mut |item| match item {
                    Item::Tree { pblk, .. } => owned.push(pblk),
                    Item::Data { pblk, len, .. } => owned.extend(pblk.run(len)),
                })?;
                assert!(!strict || damage.is_empty(), "{ino}: {damage:?}");
                if !damage.is_empty() {
                    continue;
                }
            }
            if inode.file_acl != 0 {
                let acl = BlockNo(inode.file_acl);
                if !cx.block_in_fs(acl) {
                    assert!(!strict, "{ino}: xattr block {}", inode.file_acl);
                    continue;
                }
                owned.push(acl);
            }
            *cx.found.inode_mut(ino) = InodeInfo {
                ftype: (inode.mode >> 12) as u8,
                links: inode.links_count,
                refs: 0,
                empty: false,
            };
            if inode.is_dir() {
                cx.found.dirs.insert(ino, DirInfo::default());
            }
            for b in owned {
                cx.found.blocks.set(b.bit());
            }
        }
        Ok(())
    }

    /// The check with `mode`: journal, setup, orphans, the minimal pass
    /// 1, pass 5, and the final superblock update.
    pub fn check(img: &Path, mode: Mode) -> (Vec<Finding>, Vec<String>, bool) {
        run_check(img, mode, true).unwrap()
    }

    /// [`check`] keeping the orphans `keep` (held open by a mount).
    pub fn check_keeping(
        img: &Path,
        mode: Mode,
        keep: &[u32],
    ) -> (Vec<Finding>, Vec<String>, bool) {
        let opts = Options {
            mode,
            force: true,
            keep_orphans: keep.iter().map(|&n| InodeNo(n)).collect(),
            ..Options::default()
        };
        run_opts(img, opts, true).unwrap()
    }

    /// [`check`] on a hostile image: errors are returned, damaged inodes
    /// skipped.
    pub fn try_check(
        img: &Path,
        mode: Mode,
    ) -> crate::error::Result<(Vec<Finding>, Vec<String>, bool)> {
        run_check(img, mode, false)
    }

    fn run_check(
        img: &Path,
        mode: Mode,
        strict: bool,
    ) -> crate::error::Result<(Vec<Finding>, Vec<String>, bool)> {
        let opts = Options {
            mode,
            force: true,
            ..Options::default()
        };
        run_opts(img, opts, strict)
    }

    fn run_opts(
        img: &Path,
        opts: Options,
        strict: bool,
    ) -> crate::error::Result<(Vec<Finding>, Vec<String>, bool)> {
        let dev = Device::open(img, opts.writable())?;
        let mut cx = Fsck::open(dev, opts, "img")?;
        super::super::journal::run(&mut cx)?;
        crate::setup::run(&mut cx)?;
        super::super::orphan::run(&mut cx)?;
        mini_pass1(&mut cx, strict)?;
        cx.report.begin(crate::report::Pass::Pass5);
        super::run(&mut cx)?;
        if cx.dev.writable() && cx.report.unfixed() == 0 {
            cx.sb.state = (cx.sb.state | STATE_VALID) & !STATE_ERROR;
            let m = cx.modified;
            cx.write_superblock()?;
            cx.modified = m;
        }
        Ok((
            std::mem::take(&mut cx.report.problems),
            std::mem::take(&mut cx.report.notes),
            cx.modified,
        ))
    }

    /// The kinds of `problems`, in order.
    pub fn kinds(problems: &[Finding]) -> Vec<Kind> {
        problems.iter().map(|p| p.kind).collect()
    }

    /// Checks with `-n` (expecting `want` kinds), then `-y` (the same
    /// kinds, all fixed), then `-n` again (clean) and e2fsck -fn (clean).
    pub fn expect_repaired(img: &Path, want: &[Kind]) -> Vec<Finding> {
        let before = std::fs::read(img).unwrap();
        let (p, _, m) = check(img, Mode::Check);
        assert!(!m);
        assert_eq!(std::fs::read(img).unwrap(), before, "-n wrote");
        let mut got = kinds(&p);
        got.dedup();
        assert_eq!(got, want, "{p:#?}");
        assert!(p.iter().all(|p| !p.fixed));
        let (py, _, m) = check(img, Mode::Yes);
        assert!(m, "nothing written");
        assert!(py.iter().all(|p| p.fixed), "{py:#?}");
        let (p2, _, _) = check(img, Mode::Check);
        assert!(p2.is_empty(), "after -y: {p2:#?}");
        e2fsck_clean(img).unwrap();
        p
    }
}

#[cfg(test)]
mod image_tests {
    use super::testkit::*;
    use crate::options::Mode;
    use crate::problem::{Kind, Problem};
    use fuse4fs_format::ext4::group::BG_BLOCK_UNINIT;

    fn files() -> Vec<(&'static str, Vec<u8>)> {
        vec![
            ("a", b"hello\n".to_vec()),
            ("b", (0..100_000u32).map(|i| (i * 7) as u8).collect()),
            ("c", vec![1u8; 40_000]),
        ]
    }

    fn group0_block_bitmap(img: &std::path::Path) -> u64 {
        let dev = crate::device::Device::open(img, false).unwrap();
        let cx = crate::context::Fsck::open(dev, Default::default(), "img").unwrap();
        cx.groups[0].block_bitmap.0
    }

    fn image(args: &[&str], size: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let img = mkfs(dir.path(), args, size, &files());
        (dir, img)
    }

    #[test]
    fn fresh_images_are_clean() {
        require(&["mkfs.ext4", "e2fsck"]);
        for (args, size) in [
            (&["-b", "4096"][..], "16M"),
            (&["-b", "1024"][..], "40M"),
            (&["-b", "2048", "-O", "^flex_bg"][..], "40M"),
            (&["-t", "ext2", "-b", "1024"][..], "20M"),
            (&["-t", "ext3"][..], "20M"),
            (&["-O", "^metadata_csum,uninit_bg"][..], "40M"),
            (&["-O", "^metadata_csum,^uninit_bg"][..], "40M"),
            (&["-O", "meta_bg,^resize_inode", "-b", "1024"][..], "40M"),
            (&["-O", "sparse_super2", "-b", "1024"][..], "40M"),
            (&["-I", "128", "-b", "1024"][..], "20M"),
            (&["-b", "4096", "-g", "16384", "-N", "3000"][..], "200M"),
            (
                &["-O", "^flex_bg,^resize_inode", "-b", "4096", "-g", "8192"][..],
                "100M",
            ),
        ] {
            let (_d, img) = image(args, size);
            let (p, notes, m) = check(&img, Mode::Check);
            assert!(p.is_empty(), "{args:?}: {p:#?}");
            assert!(notes.is_empty(), "{args:?}: {notes:?}");
            assert!(!m);
        }
    }

    /// The catalog images (built by the root crate's tests) must pass
    /// the setup passes and pass 5 without a word. Skipped when they
    /// have not been built.
    #[test]
    fn catalog_images_are_clean() {
        let dir = std::env::var_os("FUSE4FS_IMAGES")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/images")
            });
        let Ok(entries) = std::fs::read_dir(&dir) else {
            fuse4fs_testkit::skip!("no catalog images in {}", dir.display());
            return;
        };
        for e in entries {
            let path = e.unwrap().path();
            if path.extension().is_none_or(|x| x != "img") {
                continue;
            }
            let (p, notes, m) = check(&path, Mode::Check);
            assert!(p.is_empty(), "{}: {p:#?}", path.display());
            assert!(notes.is_empty(), "{}: {notes:?}", path.display());
            assert!(!m);
            eprintln!("{}: clean", path.display());
        }
    }

    /// Images left by a crash (set FUSE4FS_CRASH_IMAGES to a directory
    /// of them): a copy of each is repaired with -y, then must be clean
    /// for this check and for e2fsck -fn.
    #[test]
    fn crash_images_are_repaired() {
        let Some(dir) = std::env::var_os("FUSE4FS_CRASH_IMAGES") else {
            fuse4fs_testkit::skip!("FUSE4FS_CRASH_IMAGES not set");
            return;
        };
        let tmp = tempfile::tempdir().unwrap();
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            let work = tmp.path().join(path.file_name().unwrap());
            std::fs::copy(&path, &work).unwrap();
            let (p, notes, _) = check(&work, Mode::Check);
            eprintln!("{}: -n: {p:#?} {notes:?}", path.display());
            let (p, notes, _) = check(&work, Mode::Yes);
            eprintln!("{}: -y: {p:#?} {notes:?}", path.display());
            assert!(p.iter().all(|p| p.fixed));
            let (p, _, _) = check(&work, Mode::Check);
            assert!(p.is_empty(), "{}: {p:#?}", path.display());
            e2fsck_clean(&work).unwrap();
        }
    }

    #[test]
    fn a_block_marked_free_and_one_marked_used() {
        require(&["mkfs.ext4", "e2fsck", "debugfs"]);
        let (_d, img) = image(&["-b", "4096"], "16M");
        let stat = debugfs(&img, "bmap /b 0");
        let used: u64 = stat.trim().parse().unwrap();
        // freeb also moves the group's and the superblock's free counts.
        debugfs(&img, &format!("freeb {used}"));
        debugfs(&img, "setb 4000");
        // debugfs leaves the counts alone.
        let p = expect_repaired(&img, &[Kind::BlockBitmap]);
        assert_eq!(
            p[0].message,
            format!("Block bitmap differences: +{used} -4000")
        );
    }

    #[test]
    fn inodes_marked_wrongly() {
        require(&["mkfs.ext4", "e2fsck", "debugfs"]);
        let (_d, img) = image(&["-b", "1024"], "40M");
        debugfs(&img, "freei <13>");
        debugfs(&img, "seti <100>");
        let p = expect_repaired(&img, &[Kind::InodeBitmap]);
        assert_eq!(p[0].message, "Inode bitmap differences: +13 -100");
    }

    #[test]
    fn group_counts_wrong() {
        require(&["mkfs.ext4", "e2fsck", "debugfs"]);
        let (_d, img) = image(&["-b", "1024"], "40M");
        debugfs(
            &img,
            "set_bg 1 free_blocks_count 17\nset_bg 1 checksum calc\nset_bg 0 used_dirs_count 9\nset_bg 0 checksum calc",
        );
        let p = expect_repaired(&img, &[Kind::GroupCounts]);
        assert_eq!(p.len(), 2);
        assert!(
            p[0].message
                .starts_with("Directories count wrong for group #0 (9, counted=")
        );
        assert!(
            p[1].message
                .starts_with("Free blocks count wrong for group #1 (17, counted=")
        );
    }

    #[test]
    fn stale_superblock_counts_are_not_an_error_without_y() {
        require(&["mkfs.ext4", "e2fsck", "debugfs"]);
        let (_d, img) = image(&["-b", "4096"], "16M");
        debugfs(&img, "ssv free_blocks_count 100");
        debugfs(&img, "ssv free_inodes_count 7");
        let (p, notes, m) = check(&img, Mode::Check);
        assert!(p.is_empty() && !m, "{p:?}");
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].starts_with("Free blocks count wrong (100, counted="));
        // Preen fixes them quietly.
        let work = img.with_extension("p");
        std::fs::copy(&img, &work).unwrap();
        let (p, _, m) = check(&work, Mode::Preen);
        assert!(p.is_empty() && !m, "{p:?}");
        let (_, notes, _) = check(&work, Mode::Check);
        assert!(notes.is_empty(), "{notes:?}");
        // -y asks.
        let (p, _, m) = check(&img, Mode::Yes);
        assert_eq!(kinds(&p), vec![Kind::SuperblockCounts; 2]);
        assert!(m && p.iter().all(|p| p.fixed));
        let (_, notes, _) = check(&img, Mode::Check);
        assert!(notes.is_empty(), "{notes:?}");
        e2fsck_clean(&img).unwrap();
    }

    #[test]
    fn bitmap_checksums() {
        require(&["mkfs.ext4", "e2fsck", "debugfs"]);
        let (_d, img) = image(&["-b", "4096"], "16M");
        debugfs(
            &img,
            "set_bg 0 block_bitmap_csum 0x1234\nset_bg 0 inode_bitmap_csum 0x4321\nset_bg 0 checksum calc",
        );
        let p = expect_repaired(&img, &[Kind::BitmapChecksum]);
        assert_eq!(p.len(), 2);
    }

    #[test]
    fn a_byte_of_a_bitmap_block_overwritten() {
        require(&["mkfs.ext4", "e2fsck", "debugfs"]);
        let (_d, img) = image(&["-b", "1024", "-O", "^metadata_csum"], "40M");
        let at = group0_block_bitmap(&img);
        let mut bytes = std::fs::read(&img).unwrap();
        // Blocks 4001..4008 of group 0 (byte 500) marked in use.
        bytes[(at * 1024 + 500) as usize] = 0xFF;
        std::fs::write(&img, &bytes).unwrap();
        let p = expect_repaired(&img, &[Kind::BlockBitmap]);
        assert_eq!(p[0].message, "Block bitmap differences: -(4001--4008)");
    }

    #[test]
    fn a_used_block_in_a_block_uninit_group() {
        require(&["mkfs.ext4", "e2fsck", "debugfs"]);
        // 1 KiB blocks: groups of 8192 blocks; a 12 MB file reaches past
        // group 0.
        let dir = tempfile::tempdir().unwrap();
        let big: Vec<u8> = (0..12_000_000u32).map(|i| (i / 1000) as u8).collect();
        let img = mkfs(dir.path(), &["-b", "1024"], "64M", &[("big", big)]);
        let last: u64 = debugfs(&img, "bmap /big 11000").trim().parse().unwrap();
        let g = (last - 1) / 8192;
        let flags = {
            let dev = crate::device::Device::open(&img, false).unwrap();
            let cx = crate::context::Fsck::open(dev, Default::default(), "img").unwrap();
            cx.groups[g as usize].flags
        };
        assert_eq!(flags & BG_BLOCK_UNINIT, 0);
        debugfs(
            &img,
            &format!(
                "set_bg {g} flags {}\nset_bg {g} checksum calc",
                flags | BG_BLOCK_UNINIT
            ),
        );
        let (p, _, _) = check(&img, Mode::Check);
        assert_eq!(p[0].kind, Kind::BlockBitmap, "{p:#?}");
        // Blocks in use that the implied (all free) bitmap leaves out.
        assert!(
            matches!(&p[0].problem, Problem::BitmapDifferences { ranges, .. }
                if ranges.iter().any(|&(_, _, in_use)| in_use)),
            "{}",
            p[0].message
        );
        let (p, _, _) = check(&img, Mode::Yes);
        assert!(p.iter().all(|p| p.fixed));
        let (p, _, _) = check(&img, Mode::Check);
        assert!(p.is_empty(), "{p:#?}");
        e2fsck_clean(&img).unwrap();
    }

    #[test]
    fn an_inode_past_the_unused_mark() {
        require(&["mkfs.ext4", "e2fsck", "debugfs"]);
        let (_d, img) = image(&["-b", "4096"], "16M");
        let ipg: u32 = 4096;
        debugfs(
            &img,
            &format!(
                "set_bg 0 itable_unused {}\nset_bg 0 checksum calc",
                ipg - 12
            ),
        );
        let (p, _, _) = check(&img, Mode::Check);
        assert!(p.iter().any(|p| p.kind == Kind::GroupFlags), "{p:#?}");
        check(&img, Mode::Yes);
        let (p, _, _) = check(&img, Mode::Check);
        assert!(p.is_empty(), "{p:#?}");
        e2fsck_clean(&img).unwrap();
    }

    /// Random bytes in the bitmaps and the group descriptors: never a
    /// panic; what -y leaves passes pass 5.
    #[test]
    fn damaged_bitmaps_and_descriptors_never_panic() {
        require(&["mkfs.ext4", "e2fsck", "debugfs"]);
        let (_d, img) = image(&["-b", "1024"], "40M");
        let base = std::fs::read(&img).unwrap();
        let (targets, desc_block) = {
            let dev = crate::device::Device::open(&img, false).unwrap();
            let cx = crate::context::Fsck::open(dev, Default::default(), "img").unwrap();
            let t: Vec<u64> = cx
                .groups
                .iter()
                .flat_map(|g| [g.block_bitmap.0, g.inode_bitmap.0])
                .collect();
            (t, cx.sb.group_desc_location(0).0.0)
        };
        let mut rng = crate::journal::tests::Rng(0x0123_4567_89AB_CDEF);
        for round in 0..40 {
            let mut bytes = base.clone();
            for _ in 0..1 + rng.next() % 8 {
                let b = if rng.next().is_multiple_of(3) {
                    desc_block
                } else {
                    targets[(rng.next() % targets.len() as u64) as usize]
                };
                let off = (rng.next() % 1024) as usize;
                bytes[b as usize * 1024 + off] = rng.next() as u8;
            }
            std::fs::write(&img, &bytes).unwrap();
            for mode in [Mode::Check, Mode::Yes] {
                if let Err(e) = try_check(&img, mode) {
                    eprintln!("round {round}: {e}");
                }
            }
            // Once -y has run, the summaries agree with what was found
            // (unless a descriptor could not be used at all).
            if let Ok((p, _, _)) = try_check(&img, Mode::Check) {
                let left: Vec<_> = p
                    .iter()
                    .filter(|p| p.pass == crate::report::Pass::Pass5)
                    .collect();
                assert!(left.is_empty(), "round {round}: {left:#?}");
            }
        }
    }
}
