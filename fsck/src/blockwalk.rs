//! Walking the blocks an inode owns: its extent tree or its block map,
//! each tree block and each run of data blocks, with what is damaged on
//! the way and where (so that pass 1 can cut it out).
//!
//! The walk never trusts the image: it stops at depth limits, never
//! visits a tree block twice within one inode, and reports pointers
//! outside the filesystem instead of following them.

use std::collections::HashSet;

use fuse4fs_format::ext4::blockmap::DIRECT;
use fuse4fs_format::ext4::extents::{ExtentNode, verify_block_checksum};
use fuse4fs_format::ext4::inode::{Inode, flags, mode};
use fuse4fs_format::ext4::types::le32;

use crate::context::Fsck;
use crate::error::Result;

/// Where a node of an extent tree, or a pointer of a block map, lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeLoc {
    /// In the inode's i_block.
    Root,
    /// In tree block `0`.
    Block(u64),
}

/// Something the inode owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// A tree block: an extent index or leaf block (`level` its depth
    /// above the leaves), or an indirect block (`level` 1 = single).
    Tree { pblk: u64, level: u16 },
    /// `len` data blocks from logical `lblk` at physical `pblk`.
    Data {
        lblk: u64,
        pblk: u64,
        len: u64,
        unwritten: bool,
    },
}

/// Damage met on the way, with where to cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Damage {
    /// A node that does not parse (bad magic, counts, depth or order);
    /// nothing below it was walked. `parent` is the index entry naming
    /// it (None for the root in the inode).
    Node {
        loc: NodeLoc,
        parent: Option<(NodeLoc, usize)>,
        why: String,
    },
    /// An extent block whose tail checksum does not match (walked anyway).
    Checksum { pblk: u64 },
    /// Leaf entry `index` of node `loc` names blocks outside the
    /// filesystem or has length zero.
    Extent {
        loc: NodeLoc,
        index: usize,
        lblk: u64,
        pblk: u64,
        len: u64,
    },
    /// Index entry `index` of node `loc` names a child outside the
    /// filesystem or one already visited in this tree.
    Index {
        loc: NodeLoc,
        index: usize,
        child: u64,
    },
    /// Block-map pointer `index` of `loc` (i_block slot or indirect
    /// block) names a block outside the filesystem, or an indirect block
    /// already visited in this tree.
    Pointer {
        loc: NodeLoc,
        index: usize,
        pblk: u64,
    },
}

/// Whether the inode's i_block holds a block tree to walk (not a fast
/// symlink, inline data or a device number).
pub fn has_block_tree(inode: &Inode, block_size: u32) -> bool {
    if inode.has_flag(flags::INLINE_DATA) {
        return false;
    }
    match inode.mode & mode::S_IFMT {
        mode::S_IFREG | mode::S_IFDIR => true,
        mode::S_IFLNK => !inode.is_fast_symlink(block_size),
        _ => false,
    }
}

/// Walks every block `inode` owns, calling `visit` for each item in
/// logical order (a tree block before what it maps), and returns the
/// damage met. Errors are I/O errors only.
pub fn walk(cx: &Fsck, inode: &Inode, visit: &mut dyn FnMut(Item)) -> Result<Vec<Damage>> {
    let mut w = Walker {
        cx,
        inode,
        visit,
        seen: HashSet::new(),
        damage: Vec::new(),
        buf_pool: Vec::new(),
    };
    if inode.has_flag(flags::EXTENTS) {
        w.extent_node(NodeLoc::Root, None, &inode.block, None)?;
    } else {
        w.block_map()?;
    }
    Ok(w.damage)
}

struct Walker<'a> {
    cx: &'a Fsck,
    inode: &'a Inode,
    visit: &'a mut dyn FnMut(Item),
    /// Tree blocks visited in this inode (loops and shared subtrees).
    seen: HashSet<u64>,
    damage: Vec<Damage>,
    buf_pool: Vec<Vec<u8>>,
}

impl Walker<'_> {
    fn buf(&mut self) -> Vec<u8> {
        self.buf_pool
            .pop()
            .unwrap_or_else(|| vec![0u8; self.cx.bs as usize])
    }

    fn extent_node(
        &mut self,
        loc: NodeLoc,
        parent: Option<(NodeLoc, usize)>,
        bytes: &[u8],
        want_depth: Option<u16>,
    ) -> Result<()> {
        let ino = self.inode.ino;
        let node = match ExtentNode::parse(bytes, want_depth, &|| format!("{ino} extent node")) {
            Ok(n) => n,
            Err(e) => {
                self.damage.push(Damage::Node {
                    loc,
                    parent,
                    why: e.to_string(),
                });
                return Ok(());
            }
        };
        let fs_end = self.cx.sb.blocks_count;
        let first = self.cx.sb.first_data_block as u64;
        match node {
            ExtentNode::Leaf(_, extents) => {
                for (index, x) in extents.iter().enumerate() {
                    let (pblk, len) = (x.pblk.0, x.len as u64);
                    if len == 0 || pblk < first || pblk.saturating_add(len) > fs_end {
                        self.damage.push(Damage::Extent {
                            loc,
                            index,
                            lblk: x.lblk as u64,
                            pblk,
                            len,
                        });
                        continue;
                    }
                    (self.visit)(Item::Data {
                        lblk: x.lblk as u64,
                        pblk,
                        len,
                        unwritten: x.unwritten,
                    });
                }
            }
            ExtentNode::Index(h, children) => {
                for (index, c) in children.iter().enumerate() {
                    let child = c.child.0;
                    if child < first || child >= fs_end || !self.seen.insert(child) {
                        self.damage.push(Damage::Index { loc, index, child });
                        continue;
                    }
                    (self.visit)(Item::Tree {
                        pblk: child,
                        level: h.depth - 1,
                    });
                    let mut buf = self.buf();
                    self.cx.read_block_into(child, &mut buf)?;
                    if self.cx.sb.metadata_csum()
                        && !verify_block_checksum(self.cx.seed, ino, self.inode.generation, &buf)
                    {
                        self.damage.push(Damage::Checksum { pblk: child });
                    }
                    self.extent_node(
                        NodeLoc::Block(child),
                        Some((loc, index)),
                        &buf,
                        Some(h.depth - 1),
                    )?;
                    self.buf_pool.push(buf);
                }
            }
        }
        Ok(())
    }

    fn block_map(&mut self) -> Result<()> {
        let per_block = self.cx.bs / 4;
        let mut lblk = 0u64;
        for slot in 0..15usize {
            let p = le32(&self.inode.block, slot * 4) as u64;
            let level = if slot < DIRECT as usize {
                0
            } else {
                slot as u16 - 11
            };
            let span = per_block.saturating_pow(level as u32);
            if p != 0 {
                self.pointer(NodeLoc::Root, slot, p, level, lblk)?;
            }
            lblk = lblk.saturating_add(span);
        }
        Ok(())
    }

    /// Pointer `index` of `loc` to `p`, covering logical blocks from
    /// `lblk` through a subtree `level` deep (0: a data block).
    fn pointer(&mut self, loc: NodeLoc, index: usize, p: u64, level: u16, lblk: u64) -> Result<()> {
        if !self.cx.block_in_fs(p) || (level > 0 && !self.seen.insert(p)) {
            self.damage.push(Damage::Pointer {
                loc,
                index,
                pblk: p,
            });
            return Ok(());
        }
        if level == 0 {
            (self.visit)(Item::Data {
                lblk,
                pblk: p,
                len: 1,
                unwritten: false,
            });
            return Ok(());
        }
        (self.visit)(Item::Tree { pblk: p, level });
        let mut buf = self.buf();
        self.cx.read_block_into(p, &mut buf)?;
        let per_block = self.cx.bs / 4;
        let span = per_block.saturating_pow(level as u32 - 1);
        for i in 0..per_block as usize {
            let q = le32(&buf, i * 4) as u64;
            if q != 0 {
                self.pointer(
                    NodeLoc::Block(p),
                    i,
                    q,
                    level - 1,
                    lblk.saturating_add(i as u64 * span),
                )?;
            }
        }
        self.buf_pool.push(buf);
        Ok(())
    }
}
