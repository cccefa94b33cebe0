//! Block allocation: group block bitmaps (built from the geometry for
//! BLOCK_UNINIT groups, as ext4_init_block_bitmap does), reservations that
//! keep concurrent transactions from taking the same block, and the search
//! for a free run near a goal.

use std::collections::BTreeSet;

use crate::ext4::bitmap::{Bitmap, block_bitmap_checksum};
use crate::ext4::group::BG_BLOCK_UNINIT;
use crate::ext4::{BlockNo, CorruptKind, Generation, InodeNo, RangeUse};
use crate::fs::io::cache::Block;
use crate::fs::io::verified::{Kind, Owner, check_once, remember};
use crate::fs::journal::transaction::{GroupDelta, Transaction};
use crate::fs::{Fs, FsError, Result, error};

/// Per-group allocation state; its mutex is the group lock.
#[derive(Debug, Default)]
pub(crate) struct GroupAlloc {
    /// Blocks (group-relative) handed to transactions not yet committed.
    pub reserved: BTreeSet<u32>,
    /// Inode bits (group-relative) likewise.
    pub reserved_inodes: BTreeSet<u32>,
    /// Blocks freed by transactions not yet durable: free in the bitmap,
    /// not reusable until the journal says so.
    pub freed: BTreeSet<u32>,
    /// Trimmed whole (FITRIM) since the last free became durable.
    pub trimmed: bool,
}

impl Fs {
    /// The committed block bitmap of group `g` (one block).
    pub(crate) fn block_bitmap(&self, g: u32) -> Result<Vec<u8>> {
        Ok(self.block_bitmap_block(g)?.to_vec())
    }

    /// The committed block bitmap of group `g`, as cached (or built, for a
    /// BLOCK_UNINIT group). Its checksum is verified once per cached copy
    /// and descriptor checksum: an allocation and its commit read the same
    /// copy, and a commit remembers the copy it makes (see
    /// [`Fs::remember_block_bitmap`]).
    pub(crate) fn block_bitmap_block(&self, g: u32) -> Result<Block> {
        let sb = self.superblock();
        let gd = self.groups.read()[g as usize];
        if gd.flags & BG_BLOCK_UNINIT != 0 && (sb.metadata_csum() || sb.gdt_csum()) {
            return Ok(Block::from(self.uninit_block_bitmap(g)));
        }
        self.checked_bitmap(
            Kind::BlockBitmap,
            g,
            gd.block_bitmap,
            gd.block_bitmap_csum,
            |bytes| self.block_bitmap_csum_of(bytes),
        )
    }

    /// Group `g`'s block or inode bitmap (`kind`) read from `at`, its
    /// checksum checked against the descriptor's `stored` field once per
    /// cached copy and descriptor checksum (with metadata_csum).
    pub(super) fn checked_bitmap(
        &self,
        kind: Kind,
        g: u32,
        at: BlockNo,
        stored: u32,
        csum_of: impl Fn(&[u8]) -> u32,
    ) -> Result<Block> {
        let block = self.block(at)?;
        if self.superblock().metadata_csum()
            && !check_once(kind, self.bitmap_owner(g, stored), &block, |bytes| {
                csum_of(bytes) == stored
            })
        {
            let what = match kind {
                Kind::InodeBitmap => crate::ext4::ChecksumOf::InodeBitmap { group: g },
                _ => crate::ext4::ChecksumOf::BlockBitmap { group: g },
            };
            return Err(crate::ext4::FormatError::BadChecksum { what }.into());
        }
        Ok(block)
    }

    /// A bitmap checksum as the descriptor holds it: 16 bits with 32-byte
    /// descriptors.
    pub(super) fn desc_bitmap_csum(&self, c: u32) -> u32 {
        if self.superblock().desc_size >= 64 {
            c
        } else {
            c & 0xFFFF
        }
    }

    /// The descriptor's checksum field for block bitmap `bytes` (16 bits
    /// with 32-byte descriptors).
    pub(crate) fn block_bitmap_csum_of(&self, bytes: &[u8]) -> u32 {
        let sb = self.superblock();
        let bits = sb.bitmap_bits_per_group() as usize;
        self.desc_bitmap_csum(block_bitmap_checksum(self.csum_seed(), &bytes[..bits / 8]))
    }

    /// Notes that `block`, the new block bitmap of group `g` a commit
    /// built, has descriptor checksum `csum` (computed from these bytes).
    pub(crate) fn remember_block_bitmap(&self, g: u32, csum: u32, block: &Block) {
        remember(Kind::BlockBitmap, self.bitmap_owner(g, csum), block);
    }

    /// The memo key of group `g`'s block or inode bitmap with descriptor
    /// checksum `csum` (the memo's `Kind` tells the two apart).
    pub(super) fn bitmap_owner(&self, g: u32, csum: u32) -> Owner {
        Owner {
            seed: self.csum_seed(),
            ino: InodeNo(g),
            generation: Generation(csum),
        }
    }

    /// The bitmap of a group whose bitmap block was never written: its own
    /// base metadata, every bitmap and inode table (of any group, with
    /// flex_bg) that lies in it, and the padding past its end.
    pub(crate) fn uninit_block_bitmap(&self, g: u32) -> Vec<u8> {
        let sb = self.superblock();
        let bits = sb.cluster_bits();
        let mut bm = Bitmap::new(vec![0u8; sb.block_size() as usize]);
        // With bigalloc a bit is a cluster: any metadata block in it
        // takes the whole cluster (ext4_init_block_bitmap's EXT4_B2C).
        for i in 0..sb.group_base_meta_blocks(g) as usize {
            bm.set(i >> bits);
        }
        let first = sb.group_first_block(g).0;
        let len = sb.group_blocks(g) as u64;
        let itb = sb.inode_table_blocks();
        let mut mark = |b: u64| {
            if (first..first + len).contains(&b) {
                bm.set(((b - first) >> bits) as usize);
            }
        };
        for gd in self.groups.read().iter() {
            mark(gd.block_bitmap.0);
            mark(gd.inode_bitmap.0);
            for t in 0..itb {
                mark(gd.inode_table.0 + t);
            }
        }
        bm.mark_tail(self.group_clusters(g) as usize);
        bm.into_inner()
    }

    /// Bits (clusters) of group `g`'s block bitmap that name whole
    /// clusters inside the filesystem.
    pub(crate) fn group_clusters(&self, g: u32) -> u32 {
        let sb = self.superblock();
        sb.group_blocks(g) >> sb.cluster_bits()
    }

    /// The first block of the cluster that bit `bit` of group `g`'s
    /// block bitmap stands for.
    pub(crate) fn bit_block(&self, g: u32, bit: u32) -> u64 {
        let sb = self.superblock();
        sb.group_first_block(g).0 + ((bit as u64) << sb.cluster_bits())
    }

    /// Group `g`'s block bitmap with every bit no allocation may take set
    /// too: the system zone, the bits reserved by running transactions,
    /// and those freed by transactions not yet durable.
    pub(crate) fn unavailable_bits(&self, g: u32, state: &GroupAlloc) -> Result<Bitmap<Vec<u8>>> {
        let bits = self.superblock().cluster_bits();
        let mut bm = Bitmap::new(self.block_bitmap(g)?);
        let limit = self.group_clusters(g) as usize;
        for &(start, len) in &self.system_zone[g as usize] {
            if len == 0 {
                continue;
            }
            let first = (start >> bits) as usize;
            let last = ((start + len - 1) >> bits) as usize;
            for bit in first..=last.min(limit.saturating_sub(1)) {
                bm.set(bit);
            }
        }
        for &bit in state.reserved.iter().chain(&state.freed) {
            bm.set(bit as usize);
        }
        Ok(bm)
    }

    /// Per group, the runs (group-relative) of fixed metadata in it: its
    /// superblock and descriptor copies with the reserved GDT blocks, and
    /// every bitmap and inode table (of any group, with flex_bg) that
    /// lies in it. The kernel keeps the same "system zone" out of every
    /// allocation, so that a damaged bitmap cannot hand out metadata.
    pub(crate) fn compute_system_zone(&self) -> Vec<Vec<(u32, u32)>> {
        let sb = self.superblock();
        let n = sb.group_count();
        let mut zone: Vec<Vec<(u32, u32)>> = (0..n)
            .map(|g| match sb.group_base_meta_blocks(g) {
                0 => Vec::new(),
                n => vec![(0, n)],
            })
            .collect();
        let itb = sb.inode_table_blocks();
        let mut add = |start: u64, len: u64| {
            let mut b = start;
            let end = start.saturating_add(len).min(sb.blocks_count);
            while b < end && b >= sb.first_data_block as u64 {
                let g = self.group_of_block(BlockNo(b));
                let first = sb.group_first_block(g).0;
                let stop = end.min(first + sb.group_blocks(g) as u64);
                zone[g as usize].push(((b - first) as u32, (stop - b) as u32));
                b = stop;
            }
        };
        for gd in self.groups.read().iter() {
            add(gd.block_bitmap.0, 1);
            add(gd.inode_bitmap.0, 1);
            add(gd.inode_table.0, itb);
        }
        zone
    }

    /// Whether any of `len` blocks from `b` is fixed metadata (see
    /// [`Fs::compute_system_zone`]).
    pub(crate) fn in_system_zone(&self, b: BlockNo, len: u64) -> bool {
        let sb = self.superblock();
        let end = b.0.saturating_add(len);
        if len == 0 || end > sb.blocks_count || b.0 < sb.first_data_block as u64 {
            return false;
        }
        let (g0, g1) = (
            self.group_of_block(b),
            self.group_of_block(BlockNo(end - 1)),
        );
        (g0..=g1).any(|g| {
            let first = sb.group_first_block(g).0;
            self.system_zone.get(g as usize).is_some_and(|runs| {
                runs.iter().any(|&(s, n)| {
                    let s = first + s as u64;
                    n > 0 && s < end && b.0 < s + n as u64
                })
            })
        })
    }

    /// The group holding block `b`.
    pub(crate) fn group_of_block(&self, b: BlockNo) -> u32 {
        let sb = self.superblock();
        ((b.0.saturating_sub(sb.first_data_block as u64)) / sb.blocks_per_group as u64) as u32
    }
}

impl Transaction<'_> {
    /// Allocates up to `want` contiguous blocks, as near `goal` as possible
    /// (the goal's group first, then the following groups). Returns the
    /// first block and the count (≥ 1); ENOSPC when no block is free.
    /// With bigalloc it allocates whole clusters: the first block of the
    /// first one and every block of them (a metadata block takes a
    /// cluster, as ext4_new_meta_blocks does).
    pub fn alloc_blocks(&mut self, goal: BlockNo, want: u32) -> Result<(BlockNo, u32)> {
        let bits = self.fs().superblock().cluster_bits();
        let clusters = want.max(1).div_ceil(1 << bits);
        let (b, n) = self.alloc_clusters(goal, clusters)?;
        Ok((b, n << bits))
    }

    /// Allocates up to `want` contiguous clusters (blocks without
    /// bigalloc) near `goal`; returns the first block and the count of
    /// clusters.
    pub(crate) fn alloc_clusters(&mut self, goal: BlockNo, want: u32) -> Result<(BlockNo, u32)> {
        match self.alloc_clusters_once(goal, want) {
            // Space freed by transactions not yet durable comes back with
            // a durable commit (as ext4 forces a commit before ENOSPC).
            Err(FsError::NoSpace) if self.fs().journal_has_freed() => {
                self.fs().durable_commit()?;
                self.alloc_clusters_once(goal, want)
            }
            other => other,
        }
    }

    fn alloc_clusters_once(&mut self, goal: BlockNo, want: u32) -> Result<(BlockNo, u32)> {
        let fs = self.fs();
        let sb = fs.superblock();
        let bits = sb.cluster_bits();
        let ngroups = sb.group_count();
        let goal = if goal.0 >= sb.first_data_block as u64 && goal.0 < sb.blocks_count {
            goal
        } else {
            BlockNo(sb.first_data_block as u64)
        };
        let goal_group = fs.group_of_block(goal);
        let want = want.max(1);
        for k in 0..ngroups {
            let g = (goal_group + k) % ngroups;
            if fs.bad_groups[g as usize] || fs.groups.read()[g as usize].free_blocks_count == 0 {
                continue;
            }
            let mut state = fs.alloc_state[g as usize].lock();
            let mut bm = fs.unavailable_bits(g, &state)?;
            for &bit in self.pending_block_bits(g) {
                bm.set(bit as usize);
            }
            let limit = fs.group_clusters(g) as usize;
            let from = if k == 0 {
                ((goal.0 - sb.group_first_block(g).0) >> bits) as usize
            } else {
                0
            };
            let Some((start, len)) = find_run(&bm, from, limit, want as usize) else {
                continue;
            };
            for bit in start..start + len {
                state.reserved.insert(bit as u32);
            }
            drop(state);
            self.record_block_alloc(g, start as u32, len as u32);
            self.adjust_group(
                g,
                GroupDelta {
                    free_blocks: -(len as i64),
                    ..Default::default()
                },
            );
            return Ok((BlockNo(fs.bit_block(g, start as u32)), len as u32));
        }
        Err(FsError::NoSpace)
    }

    /// Frees `len` blocks from `start` (applied at commit; until then they
    /// stay in use, so nobody reuses them early). With bigalloc it frees
    /// every cluster the range touches: the caller passes only ranges
    /// whose clusters no other block still uses.
    pub fn free_blocks(&mut self, start: BlockNo, len: u32) -> Result<()> {
        let fs = self.fs();
        fs.check_range(start, len as u64, RangeUse::Free)?;
        if len == 0 {
            return Ok(());
        }
        let sb = fs.superblock();
        let bits = sb.cluster_bits();
        let first_data = sb.first_data_block as u64;
        // Cluster numbers counted from the first data block.
        let mut c = (start.0 - first_data) >> bits;
        let end = ((start.0 + len as u64 - 1 - first_data) >> bits) + 1;
        let per_group = sb.bitmap_bits_per_group() as u64;
        while c < end {
            let g = (c / per_group) as u32;
            let stop = end.min((g as u64 + 1) * per_group);
            let bit = (c - g as u64 * per_group) as u32;
            self.record_block_free(g, bit, (stop - c) as u32);
            self.adjust_group(
                g,
                GroupDelta {
                    free_blocks: (stop - c) as i64,
                    ..Default::default()
                },
            );
            c = stop;
        }
        Ok(())
    }
}

/// A run of free bits: `want` of them from `from` on, else the first free
/// stretch from `from`, else the same from the group start.
fn find_run(
    bm: &Bitmap<Vec<u8>>,
    from: usize,
    limit: usize,
    want: usize,
) -> Option<(usize, usize)> {
    if let Some(s) = bm.find_zero_run(from, limit, want) {
        return Some((s, want));
    }
    for origin in [from, 0] {
        if let Some(s) = bm.find_first_zero(origin, limit) {
            let mut e = s;
            while e < limit && e - s < want && !bm.get(e) {
                e += 1;
            }
            return Some((s, e - s));
        }
    }
    None
}

/// Applies one group's recorded bit changes to a bitmap's bytes; a block or
/// inode allocated twice or freed while free is damage.
/// Applies `changes` (bit, set) to group `g`'s bitmap `bytes`; `what`
/// names the bitmap in the error when a bit already had its new value.
pub(crate) fn apply_bits(
    bytes: &mut [u8],
    changes: &[(u32, bool)],
    what: &'static str,
    g: u32,
) -> Result<()> {
    let mut bm = Bitmap::new(bytes);
    for &(bit, set) in changes {
        if bm.get(bit as usize) == set {
            return Err(error::corrupted(CorruptKind::BitmapBit {
                group: g,
                bitmap: what,
                bit,
                set,
            }));
        }
        if set {
            bm.set(bit as usize)
        } else {
            bm.clear(bit as usize)
        }
    }
    Ok(())
}
