//! Mapping logical blocks through an extent tree.

use crate::ext4::extents::{self, ExtentNode};
use crate::ext4::inode::Inode;
use crate::ext4::{BlockNo, ExtentAt, Generation, InodeNo, RangeUse};
use crate::fs::io::cache::Block;
use crate::fs::io::verified::{Kind, Owner, check_once};
use crate::fs::{Fs, Result};

/// What backs a run of logical blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backing {
    /// Data at this physical block (for the first block of the run).
    Data(BlockNo),
    /// Nothing allocated: reads as zeros.
    Hole,
    /// Allocated but never written: reads as zeros.
    Unwritten,
}

/// `len` logical blocks from `lblk` share one [`Backing`] (contiguous).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    pub lblk: u64,
    pub len: u64,
    pub backing: Backing,
}

/// One past the last logical block an extent tree can address.
const LBLK_END: u64 = 1 << 32;

impl Fs {
    /// Maps `lblk` of an extent-mapped inode.
    pub(crate) fn map_extent(&self, inode: &Inode, lblk: u64) -> Result<Mapping> {
        let hole_to = |end: u64| Mapping {
            lblk,
            len: end.saturating_sub(lblk).max(1),
            backing: Backing::Hole,
        };
        if lblk >= LBLK_END {
            return Ok(hole_to(u64::MAX));
        }
        let target = lblk as u32;
        let ino = inode.ino;
        let mut node = ExtentNode::parse(&inode.block, None, ExtentAt::Root { ino })?;
        // End (exclusive) of the range the current node covers.
        let mut end = LBLK_END;
        loop {
            match node {
                ExtentNode::Index(h, entries) => {
                    let Some(i) = extents::search(&entries, target, |e| e.lblk) else {
                        return Ok(hole_to(entries.first().map_or(end, |e| e.lblk as u64)));
                    };
                    if let Some(next) = entries.get(i + 1) {
                        end = end.min(next.lblk as u64);
                    }
                    let child = entries[i].child;
                    let at = ExtentAt::Block { ino, block: child };
                    let block = self.block(child)?;
                    if self.superblock().metadata_csum()
                        && !checksum_ok(self.csum_seed(), inode.ino, inode.generation, &block)
                    {
                        return Err(crate::ext4::FormatError::BadChecksum {
                            what: crate::ext4::ChecksumOf::Extent(at),
                        }
                        .into());
                    }
                    node = ExtentNode::parse(&block, Some(h.depth - 1), at)?;
                }
                ExtentNode::Leaf(_, exts) => {
                    let found = extents::search(&exts, target, |e| e.lblk);
                    if let Some(i) = found {
                        let e = exts[i];
                        let e_end = e.lblk as u64 + e.len as u64;
                        if lblk < e_end {
                            self.check_range(e.pblk, e.len as u64, RangeUse::Extent { ino })?;
                            let off = lblk - e.lblk as u64;
                            let backing = if e.unwritten {
                                Backing::Unwritten
                            } else {
                                Backing::Data(BlockNo(e.pblk.0 + off))
                            };
                            return Ok(Mapping {
                                lblk,
                                len: e_end - lblk,
                                backing,
                            });
                        }
                    }
                    let next = found.map_or(0, |i| i + 1);
                    return Ok(hole_to(exts.get(next).map_or(end, |e| e.lblk as u64)));
                }
            }
        }
    }
}

/// Whether extent block `block` of inode `ino` (of `generation`) has a
/// good tail checksum (checked once per cached copy: see
/// [`crate::fs::io::verified`]).
pub(crate) fn checksum_ok(seed: u32, ino: InodeNo, generation: Generation, block: &Block) -> bool {
    let owner = Owner {
        seed,
        ino,
        generation,
    };
    check_once(Kind::ExtentBlock, owner, block, |b| {
        extents::verify_block_checksum(seed, ino, generation, b)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An empty extent leaf block of 4 KiB with its checksum for `ino`.
    fn leaf(seed: u32, ino: u32, generation: u32) -> Block {
        let mut b = vec![0u8; 4096];
        b[0..2].copy_from_slice(&0xF30Au16.to_le_bytes());
        b[4..6].copy_from_slice(&extents::max_entries(4096).to_le_bytes());
        assert!(extents::set_block_checksum(
            seed,
            InodeNo(ino),
            Generation(generation),
            &mut b
        ));
        b.into()
    }

    #[test]
    fn a_remembered_block_is_trusted_only_for_its_own_bytes_and_inode() {
        let ok = |seed, ino, generation, b: &Block| {
            checksum_ok(seed, InodeNo(ino), Generation(generation), b)
        };
        let good = leaf(7, 12, 3);
        assert!(ok(7, 12, 3, &good));
        assert!(ok(7, 12, 3, &good), "remembered");
        // The same block read for another inode, generation or filesystem
        // is checked again (and fails: those are checksum inputs).
        assert!(!ok(7, 13, 3, &good));
        assert!(!ok(7, 12, 4, &good));
        assert!(!ok(8, 12, 3, &good));
        // A new copy of the block (what a commit or a re-read puts in the
        // cache) with one bit changed is refused.
        let mut bad = good.to_vec();
        bad[20] ^= 1;
        let bad: Block = bad.into();
        assert!(!ok(7, 12, 3, &bad));
        // More blocks than the memory holds: the answers stay right.
        for i in 0..48 {
            assert!(ok(7, 100 + i, 1, &leaf(7, 100 + i, 1)));
        }
        assert!(ok(7, 12, 3, &good));
        assert!(!ok(7, 12, 3, &bad));
    }
}
