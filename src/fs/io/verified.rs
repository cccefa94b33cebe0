//! A memory of metadata blocks whose checksum was found good, shared by
//! all threads.
//!
//! Cached blocks never change (a commit puts a new `Arc` in the cache),
//! and holding the `Arc` keeps its address from being reused, so the same
//! pointer checked the same way (kind and checksum inputs) is the same
//! good block. Without it every read through a directory leaf or an
//! extent block checksums the whole block again: a stat, a lookup or a
//! 4 KiB read would spend a fifth of its server time on crc32c.
//!
//! Shared, not per thread: the FUSE workers take requests in turn, so the
//! LOOKUP, CREATE and WRITE of one create, or the next create in the same
//! directory, land on different threads; a per-thread memory missed
//! whenever the thread serving a request was not the one that checked (or
//! committed) the block, and checked it again.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::ext4::{Generation, InodeNo};
use crate::fs::io::cache::Block;

/// How many verified blocks are remembered (each holds its block: at most
/// 4 MiB of 4 KiB blocks outlive their eviction from the cache). A slot
/// is chosen by hashing the block's address and owner, so a lookup is one
/// uncontended lock and one comparison, and work in many directories in
/// turn still finds each one's blocks.
const SLOTS: usize = 1024;

/// What a block was checked as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    ExtentBlock,
    /// A leaf's checksum.
    DirLeaf,
    /// A leaf's checksum (with metadata_csum) and every entry's record
    /// (rec_len, name_len, inode number in range) up to the tail.
    DirLeafEntries,
    /// One inode's checksum in an inode table block (`Owner::ino` the
    /// inode, `Owner::generation` unused: 0).
    Inode,
    /// A group's block bitmap against its descriptor's checksum field
    /// (`Owner::ino` the group, `Owner::generation` that field).
    BlockBitmap,
    /// A group's inode bitmap likewise.
    InodeBitmap,
}

/// A block's checksum inputs besides its bytes: the filesystem's seed and
/// the owning inode's number and generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Owner {
    pub seed: u32,
    pub ino: InodeNo,
    pub generation: Generation,
}

struct Verified {
    block: Block,
    kind: Kind,
    owner: Owner,
}

static VERIFIED: [Mutex<Option<Verified>>; SLOTS] = [const { Mutex::new(None) }; SLOTS];

/// The slot for `block` checked as `kind` for `owner`.
fn slot(kind: Kind, owner: Owner, block: &Block) -> usize {
    let addr = Arc::as_ptr(block) as *const u8 as usize as u64;
    let key = addr ^ ((owner.ino.0 as u64) << 40) ^ ((kind as u64) << 60);
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - SLOTS.ilog2())) as usize
}

/// Whether `block`, checked as `kind` for `owner`, is good: remembered,
/// or `check` says so (and it is remembered).
pub(crate) fn check_once(
    kind: Kind,
    owner: Owner,
    block: &Block,
    check: impl FnOnce(&[u8]) -> bool,
) -> bool {
    if remembered(kind, owner, block) {
        return true;
    }
    if !check(block) {
        return false;
    }
    remember(kind, owner, block);
    true
}

/// Whether `block` was found good when checked as `kind` for `owner`
/// (by any thread).
pub(crate) fn remembered(kind: Kind, owner: Owner, block: &Block) -> bool {
    let same = |v: &Verified| Arc::ptr_eq(&v.block, block) && v.kind == kind && v.owner == owner;
    VERIFIED[slot(kind, owner, block)]
        .lock()
        .as_ref()
        .is_some_and(same)
}

/// Notes that `block` was found good when checked as `kind` for `owner`
/// (the caller checked it just now).
pub(crate) fn remember(kind: Kind, owner: Owner, block: &Block) {
    let new = Some(Verified {
        block: block.clone(),
        kind,
        owner,
    });
    let old = std::mem::replace(&mut *VERIFIED[slot(kind, owner, block)].lock(), new);
    // The block it held (perhaps the last reference) is freed unlocked.
    drop(old);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_copy_checked_the_same_way_is_trusted() {
        let owner = Owner {
            seed: 7,
            ino: InodeNo(12),
            generation: Generation(3),
        };
        let good: Block = vec![1u8; 64].into();
        let says = |v: bool| move |_: &[u8]| v;
        assert!(check_once(Kind::DirLeaf, owner, &good, says(true)));
        // Remembered: the check is not asked again.
        assert!(check_once(Kind::DirLeaf, owner, &good, says(false)));
        // Another kind, owner, or copy of the same bytes is checked.
        assert!(!check_once(Kind::ExtentBlock, owner, &good, says(false)));
        for other in [
            Owner { seed: 8, ..owner },
            Owner {
                ino: InodeNo(13),
                ..owner
            },
            Owner {
                generation: Generation(4),
                ..owner
            },
        ] {
            assert!(!check_once(Kind::DirLeaf, other, &good, says(false)));
        }
        let copy: Block = good.to_vec().into();
        assert!(!check_once(Kind::DirLeaf, owner, &copy, says(false)));
        // More blocks than the memory holds: forgotten ones are checked.
        let mut others = Vec::new();
        while remembered(Kind::DirLeaf, owner, &good) {
            assert!(others.len() < 1000 * SLOTS, "never forgotten");
            let b: Block = vec![0u8; 64].into();
            assert!(check_once(Kind::DirLeaf, owner, &b, says(true)));
            others.push(b);
        }
        assert!(!check_once(Kind::DirLeaf, owner, &good, says(false)));
    }
}
