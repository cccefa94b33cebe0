//! Extent trees as a transaction sees them: the path from the root in
//! i_block down to one leaf, and putting a path back after its leaf was
//! edited (`settle`): full nodes split (at the edit, as the kernel's
//! ext4_ext_split does), emptied nodes are freed, parents' index entries
//! follow their child's first block, the root grows a level when it
//! overflows and shrinks when it empties (or, at depth 1, when its only
//! leaf fits back into i_block, as ext4_ext_try_to_merge_up does).
//!
//! Every node read is checked (magic, depth against its parent, eh_max,
//! the tail checksum with metadata_csum, entries inside the range the
//! parent gives them), so a hostile tree is an error, never a loop: depth
//! strictly decreases along a path.

use crate::ext4::BlockNo;
use crate::ext4::extents::{self, Extent, ExtentHeader, ExtentIndex, ExtentNode, MAX_DEPTH};
use crate::ext4::inode::Inode;
use crate::ext4::{CorruptKind, ExtentAt, InodeDamage};
use crate::fs::journal::transaction::{Transaction, TxBlock};
use crate::fs::{FsError, Result, error};

/// One past the last logical block an extent tree can address.
pub(super) const LBLK_END: u64 = 1 << 32;

/// eh_max of the root node in i_block.
const ROOT_MAX: usize = 4;

/// The entries of one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Entries {
    Leaf(Vec<Extent>),
    Index(Vec<ExtentIndex>),
}

impl Entries {
    pub(super) fn len(&self) -> usize {
        match self {
            Entries::Leaf(v) => v.len(),
            Entries::Index(v) => v.len(),
        }
    }

    /// The first logical block the node maps (what its parent's index
    /// entry must say).
    pub(super) fn first_lblk(&self) -> Option<u32> {
        match self {
            Entries::Leaf(v) => v.first().map(|e| e.lblk),
            Entries::Index(v) => v.first().map(|e| e.lblk),
        }
    }

    /// Splits off the entries from `at` on.
    fn split_off(&mut self, at: usize) -> Entries {
        match self {
            Entries::Leaf(v) => Entries::Leaf(v.split_off(at)),
            Entries::Index(v) => Entries::Index(v.split_off(at)),
        }
    }

    /// Where new tree blocks for these entries should go: near the data
    /// they map (the kernel's ext4_ext_find_goal), or near a sibling.
    fn goal(&self) -> Option<BlockNo> {
        match self {
            Entries::Leaf(v) => v.first().map(|e| e.pblk),
            Entries::Index(v) => v.first().map(|e| e.child),
        }
    }

    fn node(&self, depth: u16, max: usize) -> ExtentNode {
        let h = ExtentHeader {
            entries: self.len() as u16,
            max: max as u16,
            depth,
        };
        match self {
            Entries::Leaf(v) => ExtentNode::Leaf(h, v.clone()),
            Entries::Index(v) => ExtentNode::Index(h, v.clone()),
        }
    }
}

/// One node on a path from the root.
#[derive(Debug, Clone)]
pub(super) struct Level {
    /// The node's block; None for the root in i_block.
    pub at: Option<BlockNo>,
    pub depth: u16,
    pub ents: Entries,
    /// Index nodes: the entry the path goes through.
    pub pos: usize,
    /// The logical blocks `[lo, hi)` this subtree answers for: an extent
    /// starting there is inserted into it.
    pub lo: u64,
    pub hi: u64,
    /// Set when the entries were changed: should the node overflow, the
    /// entries from this position on move to the new sibling.
    pub edit: Option<usize>,
}

impl Level {
    /// The entries of a leaf level.
    pub(super) fn leaf_mut(&mut self) -> Result<&mut Vec<Extent>> {
        match &mut self.ents {
            Entries::Leaf(v) => Ok(v),
            Entries::Index(_) => Err(error::corrupted(CorruptKind::ExtentPathEndsInIndex)),
        }
    }
}

impl Transaction<'_> {
    /// The path from the root to the leaf whose range holds `lblk` (the
    /// first leaf when `lblk` lies before every extent).
    pub(super) fn ext_path(&self, inode: &Inode, lblk: u64) -> Result<Vec<Level>> {
        let target = lblk.min(LBLK_END - 1) as u32;
        let (depth, ents) = self.load_node(inode, None, None)?;
        let mut path = vec![Level {
            at: None,
            depth,
            ents,
            pos: 0,
            lo: 0,
            hi: LBLK_END,
            edit: None,
        }];
        // The index entry's start the current node's entries may not
        // precede.
        let mut floor = 0u64;
        loop {
            let k = path.len() - 1;
            let lvl = &mut path[k];
            check_range(inode, lvl, floor)?;
            let Entries::Index(v) = &lvl.ents else {
                return Ok(path);
            };
            let i = extents::search(v, target, |e| e.lblk).unwrap_or(0);
            let entry = v[i];
            let lo = if i == 0 { lvl.lo } else { entry.lblk as u64 };
            let hi = v.get(i + 1).map_or(lvl.hi, |n| n.lblk as u64);
            let depth = lvl.depth - 1;
            lvl.pos = i;
            floor = entry.lblk as u64;
            let (_, ents) = self.load_node(inode, Some(entry.child), Some(depth))?;
            path.push(Level {
                at: Some(entry.child),
                depth,
                ents,
                pos: 0,
                lo,
                hi,
                edit: None,
            });
        }
    }

    /// Reads and checks one node: the root (`at` None) or a tree block
    /// whose parent says it has depth `want_depth`.
    pub(super) fn load_node(
        &self,
        inode: &Inode,
        at: Option<BlockNo>,
        want_depth: Option<u16>,
    ) -> Result<(u16, Entries)> {
        let node_at = match at {
            None => ExtentAt::Root { ino: inode.ino },
            Some(block) => ExtentAt::Block {
                ino: inode.ino,
                block,
            },
        };
        let node = match at {
            None => ExtentNode::parse(&inode.block, None, node_at)?,
            Some(b) => {
                let block = self.read_block(b)?;
                let fs = self.fs();
                let seed = fs.csum_seed();
                let good = || match &block {
                    TxBlock::Shared(c) => {
                        crate::fs::extent::map::checksum_ok(seed, inode.ino, inode.generation, c)
                    }
                    TxBlock::Own(o) => {
                        extents::verify_block_checksum(seed, inode.ino, inode.generation, o)
                    }
                };
                if fs.superblock().metadata_csum() && !good() {
                    return Err(crate::ext4::FormatError::BadChecksum {
                        what: crate::ext4::ChecksumOf::Extent(node_at),
                    }
                    .into());
                }
                ExtentNode::parse(&block, want_depth, node_at)?
            }
        };
        let h = *node.header();
        let want_max = match at {
            None => ROOT_MAX,
            Some(_) => self.block_max(),
        };
        if h.max as usize != want_max {
            return Err(error::damaged(
                inode.ino,
                InodeDamage::ExtentMax {
                    block: at.map(|b| b.0),
                    max: h.max,
                },
            ));
        }
        let ents = match node {
            ExtentNode::Leaf(_, v) => Entries::Leaf(v),
            ExtentNode::Index(_, v) if v.is_empty() => {
                return Err(error::damaged(
                    inode.ino,
                    InodeDamage::ExtentIndexEmpty {
                        block: at.map(|b| b.0),
                    },
                ));
            }
            ExtentNode::Index(_, v) => Entries::Index(v),
        };
        Ok((h.depth, ents))
    }

    /// eh_max of a tree block.
    fn block_max(&self) -> usize {
        extents::max_entries(self.fs().block_size() as usize) as usize
    }

    /// Writes the path back after its leaf (and only its leaf) was edited,
    /// marking it with [`Level::edit`]. Updates i_block and i_blocks in
    /// `inode`.
    pub(super) fn settle(&mut self, inode: &mut Inode, mut path: Vec<Level>) -> Result<()> {
        let max = self.block_max();
        while path.len() > 1 {
            let Some(lvl) = path.pop() else { break };
            let Some(hint) = lvl.edit else { continue };
            let at = lvl
                .at
                .ok_or_else(|| error::corrupted(CorruptKind::ExtentPathRootBelowTop))?;
            let n = lvl.ents.len();
            let mut repl = Vec::new();
            if n == 0 {
                self.free_blocks(at, 1)?;
                self.charge_clusters(inode, -1);
            } else {
                let mut parts = vec![lvl.ents];
                if n > max {
                    parts = split_parts(parts.remove(0), n, max, hint);
                }
                for (i, part) in parts.into_iter().enumerate() {
                    let b = if i == 0 {
                        at
                    } else {
                        self.new_tree_block(inode, part.goal().unwrap_or(at))?
                    };
                    self.store_block(inode, b, lvl.depth, &part)?;
                    repl.push(ExtentIndex {
                        lblk: part.first_lblk().unwrap_or(0),
                        child: b,
                    });
                }
            }
            let k = path.len() - 1;
            let parent = &mut path[k];
            let pos = parent.pos;
            let Entries::Index(v) = &mut parent.ents else {
                return Err(error::corrupted(CorruptKind::ExtentPathLeafAboveNode));
            };
            if repl.len() == 1 && v[pos] == repl[0] {
                continue;
            }
            let grew = repl.len() > 1;
            v.splice(pos..pos + 1, repl);
            // A new sibling and what follows it move on a split of the
            // parent (ext4_ext_split moves the entries after the path's).
            parent.edit = Some(if grew { pos + 1 } else { pos });
        }
        let root = path
            .pop()
            .ok_or_else(|| error::corrupted(CorruptKind::ExtentPathEmpty))?;
        self.settle_root(inode, root)
    }

    fn settle_root(&mut self, inode: &mut Inode, root: Level) -> Result<()> {
        let n = root.ents.len();
        if n > ROOT_MAX {
            // ext4_ext_grow_indepth: the root's entries move into a new
            // block, the root becomes one index entry above it.
            if root.depth >= MAX_DEPTH {
                return Err(FsError::TooBig);
            }
            let goal = root.ents.goal().unwrap_or(BlockNo(0));
            let b = self.new_tree_block(inode, goal)?;
            let first = root.ents.first_lblk().unwrap_or(0);
            let top = Level {
                at: None,
                depth: root.depth + 1,
                ents: Entries::Index(vec![ExtentIndex {
                    lblk: first,
                    child: b,
                }]),
                pos: 0,
                lo: 0,
                hi: LBLK_END,
                edit: Some(0),
            };
            let child = Level {
                at: Some(b),
                edit: Some(root.edit.unwrap_or(0)),
                ..root
            };
            return self.settle(inode, vec![top, child]);
        }
        if let Entries::Index(v) = &root.ents {
            if v.is_empty() {
                // Everything is gone: an empty depth-0 root, as after a
                // truncate to 0.
                return write_root(inode, 0, &Entries::Leaf(Vec::new()));
            }
            if v.len() == 1 && root.depth == 1 {
                let child = v[0].child;
                let (_, ents) = self.load_node(inode, Some(child), Some(0))?;
                if ents.len() <= ROOT_MAX {
                    write_root(inode, 0, &ents)?;
                    self.free_blocks(child, 1)?;
                    self.charge_clusters(inode, -1);
                    return Ok(());
                }
            }
        }
        if root.edit.is_some() {
            write_root(inode, root.depth, &root.ents)?;
        }
        Ok(())
    }

    /// Allocates a tree block near `goal`, charged to the inode, with an
    /// all-zero image.
    fn new_tree_block(&mut self, inode: &mut Inode, goal: BlockNo) -> Result<BlockNo> {
        let (b, _) = self.alloc_blocks(goal, 1)?;
        self.charge_clusters(inode, 1);
        self.block_new(b);
        Ok(b)
    }

    /// Writes a tree block: header, entries, zeroed free slots, and the
    /// tail checksum (metadata_csum).
    pub(super) fn store_block(
        &mut self,
        inode: &Inode,
        b: BlockNo,
        depth: u16,
        ents: &Entries,
    ) -> Result<()> {
        let max = self.block_max();
        let fs = self.fs();
        let csum = fs.superblock().metadata_csum().then(|| fs.csum_seed());
        let node = ents.node(depth, max);
        let buf = self.block_mut(b)?;
        node.write_zeroing_free_slots(buf)?;
        if let Some(seed) = csum
            && !extents::set_block_checksum(seed, inode.ino, inode.generation, buf)
        {
            return Err(error::damaged(
                inode.ino,
                InodeDamage::ExtentNoChecksumRoom { block: b.0 },
            ));
        }
        Ok(())
    }
}

/// Writes the root node into i_block.
pub(super) fn write_root(inode: &mut Inode, depth: u16, ents: &Entries) -> Result<()> {
    let mut block = [0u8; 60];
    ents.node(depth, ROOT_MAX).write_to(&mut block)?;
    inode.block = block;
    Ok(())
}

/// Cuts an overflowing node's `n` entries into nodes of at most `max`:
/// at `hint` (the edit point) when both halves fit, else evenly.
fn split_parts(mut ents: Entries, n: usize, max: usize, hint: usize) -> Vec<Entries> {
    let s = hint.clamp(1, n - 1);
    if s <= max && n - s <= max {
        let right = ents.split_off(s);
        return vec![ents, right];
    }
    let parts = n.div_ceil(max);
    let mut out = Vec::with_capacity(parts);
    for i in (1..parts).rev() {
        out.push(ents.split_off(n * i / parts));
    }
    out.push(ents);
    out.reverse();
    out
}

/// Checks that a node's entries lie in the range its parent gives it:
/// none before the parent's index entry, none at or past the next one.
fn check_range(inode: &Inode, lvl: &Level, floor: u64) -> Result<()> {
    let (first, end) = match &lvl.ents {
        Entries::Leaf(v) => match (v.first(), v.last()) {
            (Some(f), Some(l)) => (f.lblk as u64, l.lblk as u64 + l.len as u64),
            _ => return Ok(()),
        },
        Entries::Index(v) => match (v.first(), v.last()) {
            (Some(f), Some(l)) => (f.lblk as u64, l.lblk as u64 + 1),
            _ => return Ok(()),
        },
    };
    if first < floor || end > lvl.hi {
        return Err(error::damaged(
            inode.ino,
            InodeDamage::ExtentRange {
                block: lvl.at.map(|b| b.0),
                first,
                end,
                floor,
                hi: lvl.hi,
            },
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(n: u32) -> Entries {
        Entries::Leaf(
            (0..n)
                .map(|i| Extent {
                    lblk: i * 2,
                    len: 1,
                    pblk: BlockNo(100 + i as u64),
                    unwritten: false,
                })
                .collect(),
        )
    }

    #[test]
    fn split_at_the_edit_or_evenly() {
        let p = split_parts(leaf(85), 85, 84, 84);
        assert_eq!((p[0].len(), p[1].len()), (84, 1));
        let p = split_parts(leaf(85), 85, 84, 10);
        assert_eq!((p[0].len(), p[1].len()), (10, 75));
        // The hint would leave one side too big: halves.
        let p = split_parts(leaf(86), 86, 84, 1);
        assert_eq!((p[0].len(), p[1].len()), (43, 43));
        let p = split_parts(leaf(200), 200, 84, 0);
        assert_eq!(p.iter().map(Entries::len).collect::<Vec<_>>(), [66, 67, 67]);
        assert_eq!(p[1].first_lblk(), Some(132));
    }
}
