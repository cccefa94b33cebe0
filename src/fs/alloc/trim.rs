//! Giving free space back to the host (see docs/discard.md): FITRIM
//! (`fstrim`) punches the free blocks' ranges out of the image, and the
//! `discard` mount option does it for blocks as their free becomes
//! durable, as ext4 on a loop device does.
//!
//! Only blocks free in the last durable state are ever punched: a crash
//! brings that state back, and whatever it still points at must still
//! hold its bytes. So blocks freed by a transaction not yet durable (the
//! group's `freed` set) wait, as do blocks reserved by a running
//! transaction; fixed metadata (the system zone) never goes, whatever a
//! bitmap says. Each group is read and punched under its group lock, the
//! lock an allocator takes to reserve blocks there.

use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

use crate::ext4::BlockNo;
use crate::fs::{Fs, FsError, Result};

/// What FITRIM asks for, in bytes (`struct fstrim_range`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrimRange {
    /// The first byte of the filesystem considered.
    pub start: u64,
    /// How many bytes from `start` are considered.
    pub len: u64,
    /// Free runs shorter than this are left alone.
    pub minlen: u64,
}

/// What a trim did: the bytes of free runs given back (`range.len` on
/// return) and the minimum run length it used (`range.minlen` on return:
/// at least a block).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trimmed {
    pub bytes: u64,
    pub minlen: u64,
}

/// Filesystem-wide trim state.
#[derive(Debug, Default)]
pub(crate) struct TrimState {
    /// `-o discard`: punch blocks once their free is durable.
    discard: AtomicBool,
    /// The minimum run length (blocks) of the last whole trim: a group
    /// trimmed since its last free is skipped unless a smaller one is
    /// asked (ext4's EXT4_GROUP_INFO_WAS_TRIMMED and s_last_trim_minblks).
    last_minlen: Mutex<u64>,
}

impl Fs {
    /// Sets the `discard` mount option.
    pub fn set_discard(&self, on: bool) {
        self.trim.discard.store(on, Ordering::Relaxed);
    }

    /// Whether freed blocks are punched once durable (`-o discard`).
    pub fn discard(&self) -> bool {
        self.trim.discard.load(Ordering::Relaxed)
    }

    /// FITRIM: punches every run of at least `r.minlen` bytes of blocks
    /// free in the last durable state within `r`, as ext4_trim_fs counts
    /// them. EINVAL for a start past the end, a length under a block or a
    /// minimum longer than a group; EROFS read-only; EOPNOTSUPP when the
    /// host cannot punch.
    pub fn trim(&self, r: TrimRange) -> Result<Trimmed> {
        self.refuse_if_shut_down()?;
        if !self.writable() || self.is_stopped() {
            return Err(FsError::ReadOnly);
        }
        let sb = self.superblock();
        let bs = sb.block_size() as u64;
        let start = r.start / bs;
        // With bigalloc the bitmaps count clusters, and so does the trim
        // (ext4_trim_fs: EXT4_NUM_B2C of the minimum, cluster offsets).
        let bits = sb.cluster_bits();
        let mut minlen = sb.clusters_for_blocks(r.minlen / bs);
        if minlen > sb.bitmap_bits_per_group() as u64 || start >= sb.blocks_count || r.len < bs {
            return Err(FsError::Invalid);
        }
        // Nothing smaller than a block can be given back.
        let mut reported_minlen = r.minlen;
        if minlen == 0 {
            minlen = 1;
            reported_minlen = bs;
        }
        let done = |blocks: u64| Trimmed {
            bytes: sb.clusters_to_blocks(blocks) * bs,
            minlen: reported_minlen,
        };
        let end = start
            .saturating_add(r.len / bs - 1)
            .min(sb.blocks_count - 1);
        let first_data = sb.first_data_block as u64;
        if end <= first_data {
            return Ok(done(0));
        }
        let start = start.max(first_data);
        let last_minlen = *self.trim.last_minlen.lock();
        let (g0, g1) = (
            self.group_of_block(BlockNo(start)),
            self.group_of_block(BlockNo(end)),
        );
        let mut trimmed = 0u64;
        for g in g0..=g1 {
            let first = sb.group_first_block(g).0;
            let size = self.group_clusters(g) as u64;
            if size == 0 {
                continue;
            }
            let lo = start.saturating_sub(first) >> bits;
            let hi = ((end - first) >> bits).min(size - 1);
            trimmed += self.trim_group(g, lo as u32, hi as u32, minlen as u32, last_minlen)?;
        }
        *self.trim.last_minlen.lock() = minlen;
        Ok(done(trimmed))
    }

    /// Punches the free runs of at least `minlen` bits (clusters with
    /// bigalloc) between bits `lo` and `hi` (inclusive) of group `g`;
    /// returns how many bits they hold. A group trimmed whole since its last free is skipped
    /// unless `minlen` is below the last trim's.
    fn trim_group(&self, g: u32, lo: u32, hi: u32, minlen: u32, last_minlen: u64) -> Result<u64> {
        let bits = self.superblock().cluster_bits();
        if self.bad_groups[g as usize]
            || (self.groups.read()[g as usize].free_blocks_count as u64) < minlen as u64
        {
            return Ok(0);
        }
        let mut state = self.alloc_state[g as usize].lock();
        if state.trimmed && minlen as u64 >= last_minlen {
            return Ok(0);
        }
        let size = self.group_clusters(g);
        let bm = self.unavailable_bits(g, &state)?;
        let limit = hi as usize + 1;
        let mut count = 0u64;
        let mut at = lo as usize;
        while let Some(s) = bm.find_first_zero(at, limit) {
            let e = bm.find_first_set(s, limit).unwrap_or(limit);
            if e - s >= minlen as usize {
                self.punch_blocks(self.bit_block(g, s as u32), ((e - s) as u64) << bits)?;
                count += (e - s) as u64;
            }
            at = e;
        }
        if lo == 0 && hi + 1 == size {
            state.trimmed = true;
        }
        Ok(count)
    }

    /// Gives `len` blocks from `b` back to the host.
    fn punch_blocks(&self, b: u64, len: u64) -> Result<()> {
        let bs = self.block_size() as u64;
        self.image.punch(b * bs, len * bs).map_err(|e| {
            if e.kind() == std::io::ErrorKind::Unsupported {
                FsError::Unsupported
            } else {
                FsError::Io(e)
            }
        })
    }

    /// `-o discard`: punches `freed` blocks ((group, bit), their free now
    /// durable, not yet reusable: the caller releases them after). A
    /// failure is logged, never fatal: the blocks stay free either way.
    pub(crate) fn discard_freed(&self, freed: &[(u32, u32)]) {
        if !self.discard() || freed.is_empty() {
            return;
        }
        let mut blocks: Vec<u64> = freed
            .iter()
            .flat_map(|&(g, bit)| self.bit_block(g, bit)..self.bit_block(g, bit + 1))
            .collect();
        blocks.sort_unstable();
        blocks.dedup();
        let mut i = 0;
        while i < blocks.len() {
            let mut e = i + 1;
            while e < blocks.len() && blocks[e] == blocks[e - 1] + 1 {
                e += 1;
            }
            if let Err(err) = self.punch_blocks(blocks[i], (e - i) as u64) {
                tracing::warn!("discard of {} block(s) at {}: {err}", e - i, blocks[i]);
                return;
            }
            i = e;
        }
    }
}
