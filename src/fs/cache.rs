//! A shared LRU cache of metadata blocks.
//!
//! Sharded by block number so that concurrent workers rarely contend on one
//! lock; a miss reads the block without holding any lock.

use lru::LruCache;
use parking_lot::Mutex;
use std::num::NonZeroUsize;
use std::sync::Arc;

use super::image::Image;
use crate::ext4::BlockNo;

const SHARDS: usize = 16;

/// A block's bytes, shared between readers.
pub type Block = Arc<[u8]>;

/// The metadata block cache.
pub struct BlockCache {
    shards: Vec<Mutex<LruCache<u64, Block>>>,
    block_size: usize,
}

impl BlockCache {
    /// A cache holding about `capacity` blocks of `block_size` bytes.
    pub fn new(capacity: usize, block_size: usize) -> Self {
        let per = NonZeroUsize::new((capacity / SHARDS).max(8)).unwrap();
        BlockCache {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(LruCache::new(per)))
                .collect(),
            block_size,
        }
    }

    fn shard(&self, b: BlockNo) -> &Mutex<LruCache<u64, Block>> {
        &self.shards[(b.0 as usize) % SHARDS]
    }

    /// Returns block `b`, reading it from `image` on a miss.
    pub fn get(&self, image: &Image, b: BlockNo) -> std::io::Result<Block> {
        if let Some(hit) = self.shard(b).lock().get(&b.0) {
            return Ok(hit.clone());
        }
        let mut buf = vec![0u8; self.block_size];
        let off = b.0.checked_mul(self.block_size as u64).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{b} overflows"))
        })?;
        image.read_exact_at(off, &mut buf)?;
        let block: Block = buf.into();
        self.shard(b).lock().put(b.0, block.clone());
        Ok(block)
    }

    /// Replaces the cached copy of `b` after it was written.
    pub fn put(&self, b: BlockNo, bytes: Block) {
        self.shard(b).lock().put(b.0, bytes);
    }

    /// Forgets block `b` (freed: its next use may be as file data, which
    /// bypasses the cache).
    pub fn remove(&self, b: BlockNo) {
        self.shard(b).lock().pop(&b.0);
    }

    /// Drops every cached block (after the image changed under us).
    pub fn clear(&self) {
        for s in &self.shards {
            s.lock().clear();
        }
    }
}
