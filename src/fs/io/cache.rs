//! A shared LRU cache of metadata blocks.
//!
//! Sharded by block number so that concurrent workers rarely contend on one
//! lock; a miss reads the block without holding any lock. Blocks committed
//! to the journal but not yet written in place are dirty: kept outside the
//! LRU (never evicted) until the checkpoint writes them.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use lru::LruCache;
use parking_lot::Mutex;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::ext4::BlockNo;
use crate::fs::io::image::Image;

const SHARDS: usize = 16;

/// A block's bytes, shared between readers.
pub type Block = Arc<[u8]>;

/// The metadata block cache.
pub struct BlockCache {
    shards: Vec<Mutex<Shard>>,
    block_size: usize,
    /// Dirty blocks in all shards, changed under the shard lock with the
    /// shard's map: every commit asks (twice), and summing the shards took
    /// sixteen lock round trips each time.
    dirty_total: AtomicUsize,
}

struct Shard {
    lru: LruCache<u64, Block, BlockHash>,
    /// Newest committed version of blocks not yet written in place.
    dirty: HashMap<u64, Block, BlockHash>,
}

/// Hashes block numbers for a shard's maps: one 128-bit multiply of the
/// number with a per-cache random key (the default SipHash took a tenth
/// of a cached block read). The random key keeps an image's block numbers
/// from being chosen to collide.
#[derive(Clone, Copy)]
struct BlockHash {
    key: u64,
}

impl BuildHasher for BlockHash {
    type Hasher = BlockHasher;
    fn build_hasher(&self) -> BlockHasher {
        BlockHasher(self.key)
    }
}

struct BlockHasher(u64);

impl Hasher for BlockHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        let m = ((self.0 ^ n) as u128).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835);
        self.0 = (m as u64) ^ ((m >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl Shard {
    fn get(&mut self, b: u64) -> Option<Block> {
        match self.dirty.get(&b) {
            Some(d) => Some(d.clone()),
            None => self.lru.get(&b).cloned(),
        }
    }
}

impl BlockCache {
    /// A cache holding about `capacity` blocks of `block_size` bytes.
    pub fn new(capacity: usize, block_size: usize) -> Self {
        let per = NonZeroUsize::new((capacity / SHARDS).max(8)).unwrap();
        let hash = BlockHash {
            key: fastrand::u64(..),
        };
        BlockCache {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        lru: LruCache::with_hasher(per, hash),
                        dirty: HashMap::with_hasher(hash),
                    })
                })
                .collect(),
            block_size,
            dirty_total: AtomicUsize::new(0),
        }
    }

    fn shard(&self, b: BlockNo) -> &Mutex<Shard> {
        &self.shards[(b.0 as usize) % SHARDS]
    }

    /// Returns block `b`, reading it from `image` on a miss.
    pub fn get(&self, image: &Image, b: BlockNo) -> std::io::Result<Block> {
        self.get_hinted(image, b, || {})
    }

    /// [`BlockCache::get`], calling `on_miss` before a miss reads the
    /// block (to start a read-ahead around it).
    pub fn get_hinted(
        &self,
        image: &Image,
        b: BlockNo,
        on_miss: impl FnOnce(),
    ) -> std::io::Result<Block> {
        if let Some(hit) = self.shard(b).lock().get(b.0) {
            return Ok(hit);
        }
        on_miss();
        let mut buf = vec![0u8; self.block_size];
        let off = b.0.checked_mul(self.block_size as u64).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{b} overflows"))
        })?;
        image.read_exact_at(off, &mut buf)?;
        let block: Block = buf.into();
        let mut shard = self.shard(b).lock();
        // A commit may have made the block dirty while it was being read:
        // its version wins.
        if let Some(d) = shard.dirty.get(&b.0) {
            return Ok(d.clone());
        }
        shard.lru.put(b.0, block.clone());
        Ok(block)
    }

    /// Replaces the cached copy of `b` after it was written in place.
    pub fn put(&self, b: BlockNo, bytes: Block) {
        let mut shard = self.shard(b).lock();
        if shard.dirty.remove(&b.0).is_some() {
            self.dirty_total.fetch_sub(1, Ordering::Relaxed);
        }
        shard.lru.put(b.0, bytes);
    }

    /// Records the newest committed version of `b`, not yet in place: it
    /// stays cached until [`clean`](Self::clean).
    pub fn put_dirty(&self, b: BlockNo, bytes: Block) {
        let mut shard = self.shard(b).lock();
        shard.lru.pop(&b.0);
        if shard.dirty.insert(b.0, bytes).is_none() {
            self.dirty_total.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Every dirty block, by block number.
    pub fn dirty_blocks(&self) -> Vec<(u64, Block)> {
        let mut all: Vec<(u64, Block)> = self
            .shards
            .iter()
            .flat_map(|s| {
                s.lock()
                    .dirty
                    .iter()
                    .map(|(b, d)| (*b, d.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        all.sort_unstable_by_key(|(b, _)| *b);
        all
    }

    /// How many blocks are dirty.
    pub fn dirty_count(&self) -> usize {
        self.dirty_total.load(Ordering::Relaxed)
    }

    /// `bytes`, the dirty version of `b`, was written in place: unless a
    /// newer version replaced it meanwhile, it becomes an ordinary cached
    /// block.
    pub fn clean(&self, b: u64, bytes: &Block) {
        let mut shard = self.shard(BlockNo(b)).lock();
        if shard.dirty.get(&b).is_some_and(|d| Arc::ptr_eq(d, bytes)) {
            shard.dirty.remove(&b);
            self.dirty_total.fetch_sub(1, Ordering::Relaxed);
            shard.lru.put(b, bytes.clone());
        }
    }

    /// Forgets block `b`, dirty or not (freed: its next use may be as file
    /// data, which bypasses the cache, and no checkpoint may write it).
    pub fn remove(&self, b: BlockNo) {
        let mut shard = self.shard(b).lock();
        shard.lru.pop(&b.0);
        if shard.dirty.remove(&b.0).is_some() {
            self.dirty_total.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirty_blocks_are_never_evicted_and_clean_only_when_unchanged() {
        let cache = BlockCache::new(8, 16);
        let v1: Block = vec![1u8; 16].into();
        cache.put_dirty(BlockNo(3), v1.clone());
        // Far more clean blocks than the cache holds.
        for b in 100..400 {
            cache.put(BlockNo(b), vec![0u8; 16].into());
        }
        assert_eq!(cache.dirty_count(), 1);
        assert_eq!(cache.dirty_blocks()[0].1[0], 1);
        // A newer version replaces it; cleaning the old one changes nothing.
        let v2: Block = vec![2u8; 16].into();
        cache.put_dirty(BlockNo(3), v2.clone());
        cache.clean(3, &v1);
        assert_eq!(cache.dirty_count(), 1);
        cache.clean(3, &v2);
        assert_eq!(cache.dirty_count(), 0);
        // Freed: gone from both.
        cache.put_dirty(BlockNo(5), v1);
        cache.remove(BlockNo(5));
        assert_eq!(cache.dirty_count(), 0);
        // Written in place: clean again, counted once however often.
        cache.put_dirty(BlockNo(6), vec![6u8; 16].into());
        cache.put_dirty(BlockNo(6), vec![7u8; 16].into());
        cache.put_dirty(BlockNo(7), vec![7u8; 16].into());
        assert_eq!(cache.dirty_count(), 2);
        cache.put(BlockNo(6), vec![7u8; 16].into());
        cache.remove(BlockNo(8));
        assert_eq!(cache.dirty_count(), 1);
        assert_eq!(cache.dirty_blocks().len(), 1);
    }
}
