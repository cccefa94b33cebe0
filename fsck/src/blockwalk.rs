//! Walking the blocks an inode owns: its extent tree or its block map,
//! each tree block and each run of data blocks, with what is damaged on
//! the way and where (so that pass 1 can cut it out).
//!
//! The walk never trusts the image: it stops at depth limits, never
//! visits a tree block twice within one inode, and reports pointers
//! outside the filesystem instead of following them.

use std::collections::HashSet;

use fuse4fs_format::ext4::blockmap::DIRECT;
use fuse4fs_format::ext4::extents::{
    EXTENT_MAGIC, INIT_MAX_LEN, MAX_DEPTH, set_block_checksum, verify_block_checksum,
};
use fuse4fs_format::ext4::inode::{Inode, flags, mode};
use fuse4fs_format::ext4::layout::blockmap::{block_ptrs, block_ptrs_mut};
use fuse4fs_format::ext4::layout::{Ext4Extent, Ext4ExtentHeader, Ext4ExtentIdx};
use fuse4fs_format::ext4::superblock::incompat;
use fuse4fs_format::ext4::{BlockNo, InodeNo};

/// Bytes of an extent node header, and of one entry.
const EH: usize = Ext4ExtentHeader::entry_offset(0);
const EE: usize = Ext4ExtentHeader::entry_offset(1) - EH;

use crate::context::Fsck;
use crate::error::Result;

/// Where a node of an extent tree, or a pointer of a block map, lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeLoc {
    /// In the inode's i_block.
    Root,
    /// In tree block `0`.
    Block(BlockNo),
}

/// Something the inode owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// A tree block: an extent index or leaf block (`level` its depth
    /// above the leaves), or an indirect block (`level` 1 = single).
    Tree { pblk: BlockNo, level: u16 },
    /// `len` data blocks from logical `lblk` at physical `pblk`.
    Data {
        lblk: u64,
        pblk: BlockNo,
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
    Checksum { pblk: BlockNo },
    /// Leaf entry `index` of node `loc` names blocks outside the
    /// filesystem or has length zero.
    Extent {
        loc: NodeLoc,
        index: usize,
        lblk: u64,
        pblk: BlockNo,
        len: u64,
    },
    /// Index entry `index` of node `loc` names a child outside the
    /// filesystem or one already visited in this tree.
    Index {
        loc: NodeLoc,
        index: usize,
        child: BlockNo,
    },
    /// Index entry `index` of node `loc` says its subtree starts before
    /// the subtree's first entry (`first`, a logical block): lookups of
    /// the blocks between find nothing, and e2fsck wants the two equal.
    IndexStart {
        loc: NodeLoc,
        index: usize,
        first: u64,
    },
    /// Block-map pointer `index` of `loc` (i_block slot or indirect
    /// block) names a block outside the filesystem, or an indirect block
    /// already visited in this tree.
    Pointer {
        loc: NodeLoc,
        index: usize,
        pblk: BlockNo,
    },
}

/// The entry naming an item: the node (i_block or a tree block) and the
/// entry's index in it (an extent, an index entry or a block pointer).
pub type Slot = (NodeLoc, usize);

/// An extent node met on the walk (the root included), for repairs that
/// cut entries and must know when a node is left empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeInfo {
    pub loc: NodeLoc,
    /// The index entry naming it (None for the root).
    pub parent: Option<Slot>,
    /// Entries in its header.
    pub entries: usize,
    pub depth: u16,
}

/// What a located walk found besides the items.
#[derive(Debug, Default)]
pub struct Walk {
    pub damage: Vec<Damage>,
    /// Extent nodes that parsed (empty for block maps).
    pub nodes: Vec<NodeInfo>,
    /// The walk stopped after more blocks than the filesystem holds (a
    /// hostile tree mapping the same blocks again and again).
    pub overflowed: bool,
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
    Ok(walk_located(cx, inode, &mut |item, _| visit(item))?.damage)
}

/// [`walk`], also telling `visit` which entry names each item, and
/// returning the extent nodes met.
pub fn walk_located(cx: &Fsck, inode: &Inode, visit: &mut dyn FnMut(Item, Slot)) -> Result<Walk> {
    let mut w = Walker {
        cx,
        inode,
        visit,
        seen: HashSet::new(),
        out: Walk::default(),
        buf_pool: Vec::new(),
        budget: cx.sb.blocks_count,
        limit: logical_limit(cx, inode),
    };
    if inode.has_flag(flags::EXTENTS) {
        let limit = w.limit;
        w.extent_node(NodeLoc::Root, None, &inode.block, None, 0, limit)?;
    } else {
        w.block_map()?;
    }
    Ok(w.out)
}

struct Walker<'a> {
    cx: &'a Fsck,
    inode: &'a Inode,
    visit: &'a mut dyn FnMut(Item, Slot),
    /// Tree blocks visited in this inode (loops and shared subtrees).
    seen: HashSet<BlockNo>,
    out: Walk,
    buf_pool: Vec<Vec<u8>>,
    /// Blocks still allowed: no inode owns more than the filesystem has.
    budget: u64,
    /// One past the last logical block the inode may map.
    limit: u64,
}

/// One past the last logical block an inode may map: 2^32, but for a
/// directory without large_dir 2^(21 - s_log_block_size) (e2fsck's
/// "directory too big": the kernel never grows one past 2 GiB).
pub fn logical_limit(cx: &Fsck, inode: &Inode) -> u64 {
    if inode.is_dir() && !cx.sb.has_incompat(incompat::LARGEDIR) {
        1 << 21u32.saturating_sub(cx.sb.log_block_size).min(21)
    } else {
        1 << 32
    }
}

/// Why an extent node header is unusable, or None when it is sound.
/// `eh_max` may fall short of the node's capacity by two entries at
/// most (room libext2fs leaves for a tail), as e2fsck accepts.
pub fn extent_header_problem(bytes: &[u8], want_depth: Option<u16>) -> Option<String> {
    if bytes.len() < EH + EE {
        return Some(format!("node of {} bytes", bytes.len()));
    }
    let h = Ext4ExtentHeader::of(bytes).expect("checked above");
    if h.eh_magic.get() != EXTENT_MAGIC {
        return Some(format!("bad magic 0x{:04x}", h.eh_magic.get()));
    }
    let (entries, max, depth) = (h.eh_entries.get(), h.eh_max.get(), h.eh_depth.get());
    let capacity = (bytes.len() - EH) / EE;
    if max as usize > capacity || (max as usize) + 2 < capacity {
        return Some(format!("eh_max {max}, node holds {capacity}"));
    }
    if entries > max {
        return Some(format!("eh_entries {entries} > eh_max {max}"));
    }
    if depth > MAX_DEPTH || want_depth.is_some_and(|d| d != depth) {
        return Some(format!("depth {depth}"));
    }
    None
}

impl Walker<'_> {
    /// Spends `n` blocks of the budget; false (the walk stops) when it
    /// runs out.
    fn spend(&mut self, n: u64) -> bool {
        if self.out.overflowed || n > self.budget {
            self.out.overflowed = true;
            return false;
        }
        self.budget -= n;
        true
    }

    fn buf(&mut self) -> Vec<u8> {
        self.buf_pool
            .pop()
            .unwrap_or_else(|| vec![0u8; self.cx.bs as usize])
    }

    /// Node `loc` (held in `bytes`), mapping logical blocks `lo..hi`.
    fn extent_node(
        &mut self,
        loc: NodeLoc,
        parent: Option<Slot>,
        bytes: &[u8],
        want_depth: Option<u16>,
        lo: u64,
        hi: u64,
    ) -> Result<()> {
        if let Some(why) = extent_header_problem(bytes, want_depth) {
            self.out.damage.push(Damage::Node { loc, parent, why });
            return Ok(());
        }
        let h = Ext4ExtentHeader::of(bytes).expect("checked above");
        let entries = h.eh_entries.get() as usize;
        let depth = h.eh_depth.get();
        self.out.nodes.push(NodeInfo {
            loc,
            parent,
            entries,
            depth,
        });
        let fs_end = BlockNo(self.cx.sb.blocks_count);
        let first = BlockNo(self.cx.sb.first_data_block as u64);
        if depth == 0 {
            let mut prev_end = lo;
            for index in 0..entries {
                let e = Ext4Extent::at(bytes, index).expect("entries <= eh_max, which fits");
                let lblk = e.ee_block.get() as u64;
                let raw_len = e.ee_len.get();
                let (len, unwritten) = if raw_len > INIT_MAX_LEN {
                    ((raw_len - INIT_MAX_LEN) as u64, true)
                } else {
                    (raw_len as u64, false)
                };
                let pblk = e.block();
                // Unwritten extents past the parent's range are the
                // kernel's preallocation past EOF: e2fsck accepts them.
                let bad = len == 0
                    || pblk < first
                    || pblk.saturating_plus(len) > fs_end
                    || lblk < prev_end
                    || lblk + len > self.limit
                    || ((!unwritten || self.limit < 1 << 32) && lblk + len > hi);
                if bad {
                    self.out.damage.push(Damage::Extent {
                        loc,
                        index,
                        lblk,
                        pblk,
                        len,
                    });
                    continue;
                }
                prev_end = lblk + len;
                if !self.spend(len) {
                    return Ok(());
                }
                (self.visit)(
                    Item::Data {
                        lblk,
                        pblk,
                        len,
                        unwritten,
                    },
                    (loc, index),
                );
            }
            return Ok(());
        }
        let mut prev: Option<u64> = None;
        for index in 0..entries {
            let idx = |i| Ext4ExtentIdx::at(bytes, i).expect("entries <= eh_max, which fits");
            let e = idx(index);
            let lblk = e.ei_block.get() as u64;
            let child = e.block();
            let next = (index + 1 < entries)
                .then(|| idx(index + 1).ei_block.get() as u64)
                .filter(|&n| n > lblk)
                .unwrap_or(hi);
            let bad = prev.is_some_and(|p| lblk <= p)
                || lblk >= hi
                || child < first
                || child >= fs_end
                || self.cx.found.is_fixed(child)
                || !self.seen.insert(child);
            if bad {
                self.out.damage.push(Damage::Index { loc, index, child });
                continue;
            }
            prev = Some(lblk);
            if !self.spend(1) {
                return Ok(());
            }
            (self.visit)(
                Item::Tree {
                    pblk: child,
                    level: depth - 1,
                },
                (loc, index),
            );
            let mut buf = self.buf();
            self.cx.read_block_into(child, &mut buf)?;
            if self.cx.sb.metadata_csum()
                && extent_header_problem(&buf, Some(depth - 1)).is_none()
                && !verify_block_checksum(self.cx.seed, self.inode.ino, self.inode.generation, &buf)
            {
                self.out.damage.push(Damage::Checksum { pblk: child });
            }
            if extent_header_problem(&buf, Some(depth - 1)).is_none()
                && Ext4ExtentHeader::of(&buf).is_some_and(|h| h.eh_entries.get() > 0)
            {
                // A leaf's ee_block and an index's ei_block are both the
                // entry's first word.
                let first = Ext4ExtentIdx::at(&buf, 0)
                    .expect("a sound node")
                    .ei_block
                    .get() as u64;
                if first > lblk && first < next.min(hi) {
                    self.out
                        .damage
                        .push(Damage::IndexStart { loc, index, first });
                }
            }
            self.extent_node(
                NodeLoc::Block(child),
                Some((loc, index)),
                &buf,
                Some(depth - 1),
                lblk.max(lo),
                next.min(hi),
            )?;
            self.buf_pool.push(buf);
        }
        Ok(())
    }

    fn block_map(&mut self) -> Result<()> {
        let per_block = self.cx.bs / 4;
        let mut lblk = 0u64;
        for slot in 0..15usize {
            let p = BlockNo(block_ptrs(&self.inode.block)[slot].get() as u64);
            let level = if slot < DIRECT as usize {
                0
            } else {
                slot as u16 - 11
            };
            let span = per_block.saturating_pow(level as u32);
            if p.0 != 0 {
                self.pointer(NodeLoc::Root, slot, p, level, lblk)?;
            }
            lblk = lblk.saturating_add(span);
        }
        Ok(())
    }

    /// Pointer `index` of `loc` to `p`, covering logical blocks from
    /// `lblk` through a subtree `level` deep (0: a data block).
    fn pointer(
        &mut self,
        loc: NodeLoc,
        index: usize,
        p: BlockNo,
        level: u16,
        lblk: u64,
    ) -> Result<()> {
        // A tree block on fixed metadata (an inode table block, say) is
        // not this inode's to read as pointers, nor to repair: cut it.
        // The resize inode's indirect blocks are the reserved GDT blocks.
        let on_metadata =
            level > 0 && self.inode.ino != InodeNo::RESIZE && self.cx.found.is_fixed(p);
        if !self.cx.block_in_fs(p)
            || lblk >= self.limit
            || on_metadata
            || (level > 0 && !self.seen.insert(p))
        {
            self.out.damage.push(Damage::Pointer {
                loc,
                index,
                pblk: p,
            });
            return Ok(());
        }
        if !self.spend(1) {
            return Ok(());
        }
        if level == 0 {
            (self.visit)(
                Item::Data {
                    lblk,
                    pblk: p,
                    len: 1,
                    unwritten: false,
                },
                (loc, index),
            );
            return Ok(());
        }
        (self.visit)(Item::Tree { pblk: p, level }, (loc, index));
        let mut buf = self.buf();
        self.cx.read_block_into(p, &mut buf)?;
        let per_block = self.cx.bs / 4;
        let span = per_block.saturating_pow(level as u32 - 1);
        for i in 0..per_block as usize {
            let q = BlockNo(block_ptrs(&buf)[i].get() as u64);
            if q.0 != 0 && !self.out.overflowed {
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

// Repairs of the tree in place: each edits one node, in i_block (the
// caller writes the inode afterwards) or in a tree block (rewritten here,
// with its checksum for extent blocks).

/// Removes the entries `indices` of extent node `loc`. A root left
/// without entries becomes an empty leaf (an empty file), which is valid;
/// a tree block left empty is the caller's to unlink from its parent.
pub fn cut_extent_entries(
    cx: &mut Fsck,
    inode: &mut Inode,
    loc: NodeLoc,
    indices: &[usize],
) -> Result<()> {
    match loc {
        NodeLoc::Root => {
            remove_entries(&mut inode.block, indices);
            if let Some(h) = Ext4ExtentHeader::of_mut(&mut inode.block)
                && h.eh_entries.get() == 0
            {
                h.eh_depth.set(0);
            }
            Ok(())
        }
        NodeLoc::Block(b) => {
            let mut buf = cx.read_block(b)?;
            remove_entries(&mut buf, indices);
            write_extent_block(cx, inode, b, &mut buf)
        }
    }
}

fn remove_entries(node: &mut [u8], indices: &[usize]) {
    let Some(h) = Ext4ExtentHeader::of(node) else {
        return;
    };
    let n = (h.eh_entries.get() as usize).min((node.len() - EH) / EE);
    let at = Ext4ExtentHeader::entry_offset;
    let mut kept = 0usize;
    for i in 0..n {
        if indices.contains(&i) {
            continue;
        }
        if kept != i {
            node.copy_within(at(i)..at(i + 1), at(kept));
        }
        kept += 1;
    }
    node[at(kept)..at(n)].fill(0);
    Ext4ExtentHeader::of_mut(node)
        .expect("checked above")
        .eh_entries
        .set(kept as u16);
}

/// Writes extent block `b` of `inode`, its checksum set first.
pub fn write_extent_block(cx: &mut Fsck, inode: &Inode, b: BlockNo, buf: &mut [u8]) -> Result<()> {
    if cx.sb.metadata_csum() {
        set_block_checksum(cx.seed, inode.ino, inode.generation, buf);
    }
    cx.write_block(b, buf)
}

/// Applies `set` to extent node `loc` of `inode`: the root in the inode
/// (written with it by the caller), or a block, read and written back
/// with its checksum.
fn edit_extent_node(
    cx: &mut Fsck,
    inode: &mut Inode,
    loc: NodeLoc,
    set: impl Fn(&mut [u8]),
) -> Result<()> {
    match loc {
        NodeLoc::Root => {
            set(&mut inode.block);
            Ok(())
        }
        NodeLoc::Block(b) => {
            let mut buf = cx.read_block(b)?;
            set(&mut buf);
            write_extent_block(cx, inode, b, &mut buf)
        }
    }
}

/// Sets the logical start of extent index entry `slot` to `lblk`.
pub fn set_index_start(cx: &mut Fsck, inode: &mut Inode, slot: Slot, lblk: u32) -> Result<()> {
    let (loc, index) = slot;
    let set = |node: &mut [u8]| {
        if let Some(e) = Ext4ExtentIdx::at_mut(node, index) {
            e.ei_block.set(lblk);
        }
    };
    edit_extent_node(cx, inode, loc, set)
}

/// Zeroes block-map pointer `index` of `loc`.
pub fn cut_pointer(cx: &mut Fsck, inode: &mut Inode, loc: NodeLoc, index: usize) -> Result<()> {
    repoint_map(cx, inode, loc, index, 0)
}

/// Points the entry at `slot` (an extent, an extent index entry or a
/// block-map pointer) at block `new` instead: the clone of what it named.
pub fn repoint(cx: &mut Fsck, inode: &mut Inode, slot: Slot, new: BlockNo) -> Result<()> {
    let (loc, index) = slot;
    if !inode.has_flag(flags::EXTENTS) {
        return repoint_map(cx, inode, loc, index, new.0 as u32);
    }
    let set = |node: &mut [u8]| {
        let leaf = Ext4ExtentHeader::of(node).is_some_and(|h| h.eh_depth.get() == 0);
        if leaf {
            if let Some(e) = Ext4Extent::at_mut(node, index) {
                e.set_block(new);
            }
        } else if let Some(e) = Ext4ExtentIdx::at_mut(node, index) {
            e.set_block(new);
        }
    };
    edit_extent_node(cx, inode, loc, set)
}

fn repoint_map(
    cx: &mut Fsck,
    inode: &mut Inode,
    loc: NodeLoc,
    index: usize,
    new: u32,
) -> Result<()> {
    match loc {
        NodeLoc::Root => {
            if let Some(p) = block_ptrs_mut(&mut inode.block).get_mut(index) {
                p.set(new);
            }
            Ok(())
        }
        NodeLoc::Block(b) => {
            let mut buf = cx.read_block(b)?;
            if let Some(p) = block_ptrs_mut(&mut buf).get_mut(index) {
                p.set(new);
            }
            cx.write_block(b, &buf)
        }
    }
}

/// The block an extent (its first data block) or an extent index entry
/// (its child) names, its 48 bits split in two fields on disk. The
/// format crate's layouts have no accessor for it (its `ExtentNode`
/// parse assembles the halves itself); this is the one place fsck does.
pub trait EntryBlock {
    fn block(&self) -> BlockNo;
    fn set_block(&mut self, b: BlockNo);
}

impl EntryBlock for Ext4Extent {
    fn block(&self) -> BlockNo {
        BlockNo((self.ee_start_hi.get() as u64) << 32 | self.ee_start_lo.get() as u64)
    }

    fn set_block(&mut self, b: BlockNo) {
        self.ee_start_hi.set((b.0 >> 32) as u16);
        self.ee_start_lo.set(b.0 as u32);
    }
}

impl EntryBlock for Ext4ExtentIdx {
    fn block(&self) -> BlockNo {
        BlockNo((self.ei_leaf_hi.get() as u64) << 32 | self.ei_leaf_lo.get() as u64)
    }

    fn set_block(&mut self, b: BlockNo) {
        self.ei_leaf_lo.set(b.0 as u32);
        self.ei_leaf_hi.set((b.0 >> 32) as u16);
    }
}
