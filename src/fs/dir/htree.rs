//! The htree side of directory writes, as the kernel's fs/ext4/namei.c:
//! lookups through the index as a transaction sees it (dx_probe and the
//! collision continuation of ext4_htree_next_block), inserts with leaf
//! splits (do_split), index node splits and tree growth
//! (ext4_dx_add_entry), and the conversion of a full one-block directory
//! into an indexed one (make_indexed_dir). Deletes never shrink the tree,
//! as in the kernel.

use crate::ext4::InodeDamage;
use crate::ext4::dir::{self, DirIter};
use crate::ext4::hash::{HashVersion, dx_hash};
use crate::ext4::htree::{self, DxEntry, DxNode, DxRootInfo};
use crate::ext4::inode::{Inode, flags};
use crate::ext4::layout;
use crate::ext4::{BlockNo, ChecksumOf, CorruptKind, FormatError};
use crate::fs::dir::casefold::{self, NameKey};
use crate::fs::dir::write::Place;
use crate::fs::journal::transaction::Transaction;
use crate::fs::{FsError, Result, error};

/// One index node on the path from the root to a leaf.
struct Frame {
    pblk: BlockNo,
    node: DxNode,
    /// The entry the path follows.
    at: usize,
}

/// A probed path: the hash function, the tree depth, the name's hash and
/// one frame per index level (the root first).
pub(crate) struct Path {
    version: HashVersion,
    levels: u8,
    hash: u32,
    frames: Vec<Frame>,
}

impl Transaction<'_> {
    /// How many index levels (root included) the tree may have.
    fn dx_max_levels(&self) -> usize {
        if self.fs().has_largedir() { 3 } else { 2 }
    }

    /// The hash of `name` in `dir` (over its folded form when `dir` is
    /// casefolded).
    fn dx_hash(&self, version: HashVersion, dir: &Inode, name: &[u8]) -> u32 {
        let input = casefold::entry_hash_input(self.fs(), dir, name);
        dx_hash(&input, version, &self.fs().superblock().hash_seed).0
    }

    /// Reads and checks index block `lblk` (the root when 0): its
    /// count/limit, and its checksum with metadata_csum.
    fn dx_read(&self, dir: &Inode, lblk: u32) -> Result<(BlockNo, DxNode, Option<DxRootInfo>)> {
        if lblk as u64 >= dir.size / self.block_size() as u64 {
            return Err(error::damaged(
                dir.ino,
                InodeDamage::DxIndexPastEnd { lblk },
            ));
        }
        let pblk = self
            .dir_pblk(dir, lblk as u64)?
            .ok_or_else(|| error::damaged(dir.ino, InodeDamage::DxIndexHole { lblk }))?;
        let blk = self.read_block(pblk)?;
        let csum = self.csum();
        let (info, node) = if lblk == 0 {
            let (info, node) = htree::parse_root(&blk, csum, dir.ino)?;
            (Some(info), node)
        } else {
            (None, htree::parse_node(&blk, csum, dir.ino, lblk as u64)?)
        };
        if csum && !node.verify_checksum(self.fs().csum_seed(), dir.ino, dir.generation, &blk) {
            let at = match lblk {
                0 => crate::ext4::DxAt::Root { dir: dir.ino },
                _ => crate::ext4::DxAt::Node {
                    dir: dir.ino,
                    lblk: lblk as u64,
                },
            };
            return Err(FormatError::BadChecksum {
                what: ChecksumOf::Dx(at),
            }
            .into());
        }
        Ok((pblk, node, info))
    }

    /// dx_probe: the path from the root to the leaf covering `name`.
    pub(crate) fn dx_probe(&self, dir: &Inode, name: &[u8]) -> Result<Path> {
        let (pblk, root, info) = self.dx_read(dir, 0)?;
        let info = info.ok_or_else(|| error::damaged(dir.ino, InodeDamage::NoDxRoot))?;
        if info.indirect_levels as usize >= self.dx_max_levels() {
            return Err(error::damaged(
                dir.ino,
                InodeDamage::DxLevels {
                    levels: info.indirect_levels,
                },
            ));
        }
        let version = HashVersion::effective(info.hash_version, self.fs().superblock().flags)
            .ok_or_else(|| {
                error::damaged(
                    dir.ino,
                    InodeDamage::DxHashVersion {
                        version: info.hash_version,
                    },
                )
            })?;
        let hash = self.dx_hash(version, dir, name);
        let mut frames = Vec::new();
        let mut node = (pblk, root);
        loop {
            let at = node.1.find(hash);
            let child = node.1.entries[at].block;
            frames.push(Frame {
                pblk: node.0,
                node: node.1,
                at,
            });
            if frames.len() > info.indirect_levels as usize {
                break;
            }
            let (p, n, _) = self.dx_read(dir, child)?;
            node = (p, n);
        }
        Ok(Path {
            version,
            levels: info.indirect_levels,
            hash,
            frames,
        })
    }

    /// The leaf the bottom frame points at: its logical and physical block.
    pub(crate) fn dx_leaf(&self, dir: &Inode, path: &Path) -> Result<(u64, BlockNo)> {
        let Some(f) = path.frames.last() else {
            return Err(error::damaged(dir.ino, InodeDamage::EmptyHtreePath));
        };
        let lblk = f.node.entries[f.at].block as u64;
        if lblk == 0 || lblk >= dir.size / self.block_size() as u64 {
            return Err(error::damaged(dir.ino, InodeDamage::DxLeafOutside { lblk }));
        }
        let pblk = self
            .dir_pblk(dir, lblk)?
            .ok_or_else(|| error::damaged(dir.ino, InodeDamage::DxLeafHole))?;
        Ok((lblk, pblk))
    }

    /// Finds `name` through the index, following names of equal hash
    /// into the next leaves as ext4_htree_next_block does.
    pub(crate) fn dx_find(&self, dir: &Inode, key: &NameKey<'_>) -> Result<Option<(Place, u32)>> {
        let mut path = self.dx_probe(dir, key.name())?;
        loop {
            let (lblk, pblk) = self.dx_leaf(dir, &path)?;
            if let Some((offset, ino)) = self.search_leaf(dir, lblk, pblk, key)? {
                return Ok(Some((Place::Block { pblk, offset }, ino)));
            }
            let Some(level) = self.dx_continues_at(&path) else {
                return Ok(None);
            };
            let frames = &mut path.frames;
            frames.truncate(level + 1);
            frames[level].at += 1;
            while frames.len() <= path.levels as usize {
                let Some(f) = frames.last() else {
                    return Ok(None);
                };
                let (pblk, node, _) = self.dx_read(dir, f.node.entries[f.at].block)?;
                frames.push(Frame { pblk, node, at: 0 });
            }
        }
    }

    /// The index level whose next entry continues the leaf of `path`
    /// with names of the same hash (as ext4_htree_next_block decides),
    /// None when the names of that hash end in this leaf.
    fn dx_continues_at(&self, path: &Path) -> Option<usize> {
        let frames = &path.frames;
        let level = frames
            .iter()
            .rposition(|f| f.at + 1 < f.node.entries.len())?;
        let next_hash = frames[level].node.entries[frames[level].at + 1].hash;
        (next_hash & !1 == path.hash).then_some(level)
    }

    /// Whether a name of `path`'s hash may also lie past its leaf.
    pub(crate) fn dx_may_continue(&self, path: &Path) -> bool {
        self.dx_continues_at(path).is_some()
    }

    /// Writes a frame's entries (and count) into its block, zeroing
    /// stale slots, then the node checksum.
    fn dx_write(&mut self, dir: &Inode, f: &Frame) -> Result<()> {
        let (csum, seed) = (self.csum(), self.fs().csum_seed());
        let (off, limit, count) = (
            f.node.entries_offset,
            f.node.limit as usize,
            f.node.entries.len(),
        );
        if count == 0 || count > limit {
            return Err(error::damaged(
                dir.ino,
                InodeDamage::DxNodeCount { count, limit },
            ));
        }
        let blk = self.block_mut(f.pblk)?;
        let slot = size_of::<layout::htree::DxEntry>();
        blk[off + slot * count..off + slot * limit].fill(0);
        f.node.write_to(blk);
        if csum && !htree::set_node_checksum(seed, dir.ino, dir.generation, blk) {
            return Err(error::damaged(dir.ino, InodeDamage::DxNodeWithoutTail));
        }
        Ok(())
    }

    /// A new, empty interior node appended to `dir`.
    fn dx_new_node(&mut self, dir: &mut Inode, entries: Vec<DxEntry>) -> Result<(u32, Frame)> {
        let (lblk, pblk) = self.dir_append(dir)?;
        let csum = self.csum();
        let bs = self.block_size();
        let off = htree::init_node(self.block_mut(pblk)?, csum);
        let node = DxNode {
            entries,
            limit: htree::node_limit(bs, off, csum),
            entries_offset: off,
        };
        Ok((lblk, Frame { pblk, node, at: 0 }))
    }

    /// ext4_dx_add_entry: insert into the leaf the index names; split it
    /// when full, first splitting full index nodes or adding a level.
    pub(crate) fn dx_add(&mut self, dir: &mut Inode, name: &[u8], ino: u32, ft: u8) -> Result<()> {
        // Each pass either inserts, or splits one index node, or grows
        // the tree by a level: a handful of passes at most.
        for _ in 0..2 * self.dx_max_levels() + 2 {
            let mut path = self.dx_probe(dir, name)?;
            let (lblk, pblk) = self.dx_leaf(dir, &path)?;
            if self.leaf_insert(dir, lblk, pblk, name, ino, ft)? {
                return Ok(());
            }
            let bottom = path.frames.len() - 1;
            let full = |f: &Frame| f.node.entries.len() >= f.node.limit as usize;
            if full(&path.frames[bottom]) {
                // The lowest index level with room decides what splits.
                let mut lvl = bottom;
                while lvl > 0 && full(&path.frames[lvl - 1]) {
                    lvl -= 1;
                }
                let add_level = lvl == 0;
                if add_level && path.frames.len() >= self.dx_max_levels() {
                    // "Directory index full, reach max htree level".
                    return Err(FsError::NoSpace);
                }
                if add_level {
                    // The root's entries move to a new node below it.
                    let root = &mut path.frames[0];
                    let moved = std::mem::take(&mut root.node.entries);
                    let (new_lblk, node) = self.dx_new_node(dir, moved)?;
                    let root = &mut path.frames[0];
                    root.node.entries = vec![DxEntry {
                        hash: 0,
                        block: new_lblk,
                    }];
                    let root_pblk = root.pblk;
                    htree::set_root_levels(self.block_mut(root_pblk)?, path.levels + 1);
                    self.dx_write(dir, &node)?;
                    self.dx_write(dir, &path.frames[0])?;
                    continue;
                }
                // Split the full node at `lvl`: its upper half moves to a
                // new node, which the parent indexes right after it.
                let f = &mut path.frames[lvl];
                let keep = f.node.entries.len() / 2;
                let moved = f.node.entries.split_off(keep);
                let hash2 = moved[0].hash;
                let (new_lblk, mut node) = self.dx_new_node(dir, moved)?;
                let f = &mut path.frames[lvl];
                if f.at >= keep {
                    node.at = f.at - keep;
                    std::mem::swap(f, &mut node);
                }
                let parent = &mut path.frames[lvl - 1];
                parent.node.entries.insert(
                    parent.at + 1,
                    DxEntry {
                        hash: hash2,
                        block: new_lblk,
                    },
                );
                self.dx_write(dir, &node)?;
                self.dx_write(dir, &path.frames[lvl])?;
                self.dx_write(dir, &path.frames[lvl - 1])?;
                if lvl != bottom {
                    // The path below changed: probe again.
                    continue;
                }
            }
            let version = path.version;
            let hash = path.hash;
            let frame = &mut path.frames[bottom];
            return self.dx_split_insert(dir, frame, (lblk, pblk), version, hash, name, ino, ft);
        }
        Err(error::damaged(dir.ino, InodeDamage::DxNoRoom))
    }

    /// do_split: splits the full leaf `leaf` (logical, physical) at the
    /// median hash into itself and a new block indexed right after it in
    /// `frame` (with the collision bit when equal hashes straddle the
    /// split), then adds the entry to the half its hash belongs to.
    #[allow(clippy::too_many_arguments)]
    fn dx_split_insert(
        &mut self,
        dir: &mut Inode,
        frame: &mut Frame,
        leaf: (u64, BlockNo),
        version: HashVersion,
        hash: u32,
        name: &[u8],
        ino: u32,
        ft: u8,
    ) -> Result<()> {
        let (lblk, pblk) = leaf;
        let mut d1 = self.read_leaf(dir, lblk, pblk)?.to_vec();
        let (new_lblk, new_pblk) = self.dir_append(dir)?;
        let mut d2 = vec![0u8; d1.len()];
        let hash_of = |n: &[u8]| self.dx_hash(version, dir, n);
        let split = dir::split_leaf(&mut d1, &mut d2, self.csum(), &hash_of)
            .map_err(|e| crate::fs::dir::read::in_dir(dir, lblk, e))?;
        let usable = self.leaf_usable();
        let target = if hash >= split.hash { &mut d2 } else { &mut d1 };
        match dir::insert_entry(target, usable, ino, name, ft) {
            Ok(true) => {}
            Ok(false) => return Err(FsError::NoSpace),
            Err(dir::EditError::Exists) => return Err(FsError::Exists),
            Err(dir::EditError::BadName) => return Err(FsError::Invalid),
            Err(dir::EditError::Format(e)) => {
                return Err(crate::fs::dir::read::in_dir(dir, lblk, e));
            }
        }
        self.block_mut(pblk)?.copy_from_slice(&d1);
        self.block_mut(new_pblk)?.copy_from_slice(&d2);
        self.seal_leaf(dir, pblk)?;
        self.seal_leaf(dir, new_pblk)?;
        frame.node.entries.insert(
            frame.at + 1,
            DxEntry {
                hash: split.hash | split.continued as u32,
                block: new_lblk,
            },
        );
        self.dx_write(dir, frame)
    }

    /// make_indexed_dir: the full one-block directory `dir` (block 0 at
    /// `pblk0`) becomes indexed: its entries after ".." move to a new
    /// block 1, block 0 becomes the dx root over it, and that leaf is
    /// split to make room for `name`.
    pub(crate) fn make_indexed_dir(
        &mut self,
        dir: &mut Inode,
        pblk0: BlockNo,
        name: &[u8],
        ino: u32,
        ft: u8,
    ) -> Result<()> {
        let (bs, usable, csum) = (self.block_size(), self.leaf_usable(), self.csum());
        let sb = self.fs().superblock();
        let b0 = self.read_leaf(dir, 0, pblk0)?.to_vec();
        let mut it = DirIter::new(&b0[..usable], bs, self.max_inode(), true);
        let dot = it.next().transpose()?;
        let dotdot = it.next().transpose()?;
        let dotdot = match (dot, dotdot) {
            (Some(d), Some(dd)) if d.name == b"." && d.rec_len == 12 && dd.name == b".." => dd,
            _ => {
                return Err(error::damaged(dir.ino, InodeDamage::FirstBlockWithoutDots));
            }
        };
        let start = dotdot.offset + dotdot.rec_len;
        if start >= usable {
            return Err(error::damaged(dir.ino, InodeDamage::DotdotRecLen));
        }
        let info = DxRootInfo {
            hash_version: sb.def_hash_version,
            indirect_levels: 0,
        };
        let version = HashVersion::effective(info.hash_version, sb.flags).ok_or_else(|| {
            FsError::from(FormatError::Corrupt(CorruptKind::DefaultHashVersion {
                version: info.hash_version,
            }))
        })?;
        let (filetype, parent) = (self.fs().has_filetype(), dotdot.inode);

        dir.flags |= flags::INDEX;
        let (lblk1, pblk1) = self.dir_append(dir)?;
        let mut d1 = vec![0u8; bs];
        d1[..usable - start].copy_from_slice(&b0[start..usable]);
        dir::extend_last_entry(&mut d1, usable - start, usable)
            .map_err(|e| crate::fs::dir::read::in_dir(dir, 0, e))?;
        if csum {
            dir::set_leaf_tail(&mut d1);
        }
        self.block_mut(pblk1)?.copy_from_slice(&d1);
        self.seal_leaf(dir, pblk1)?;

        let root = self.block_mut(pblk0)?;
        root.fill(0);
        let off = htree::write_root_head(root, dir.ino.0, parent, filetype, info, csum);
        let mut frame = Frame {
            pblk: pblk0,
            node: DxNode {
                entries: vec![DxEntry {
                    hash: 0,
                    block: lblk1,
                }],
                limit: htree::node_limit(bs, off, csum),
                entries_offset: off,
            },
            at: 0,
        };
        self.dx_write(dir, &frame)?;
        let hash = self.dx_hash(version, dir, name);
        self.dx_split_insert(
            dir,
            &mut frame,
            (lblk1 as u64, pblk1),
            version,
            hash,
            name,
            ino,
            ft,
        )
    }
}
