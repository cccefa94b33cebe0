//! fallocate COLLAPSE_RANGE and INSERT_RANGE on extent trees: every
//! extent past a point moves by a distance, and every index entry with
//! it, as the kernel's ext4_ext_shift_extents does. Only the nodes right
//! of the point are rewritten.

use crate::ext4::inode::Inode;
use crate::fs::extent::path::{Entries, LBLK_END, write_root};
use crate::fs::extent::write::{end_of, push_piece};
use crate::fs::journal::transaction::Transaction;
use crate::fs::{FsError, Result};

impl Transaction<'_> {
    /// fallocate COLLAPSE_RANGE on whole blocks: frees `[lblk, lblk +
    /// len)` and moves every later extent `len` blocks down. The caller
    /// checks alignment and that the range ends before EOF, and lowers
    /// i_size by the range.
    pub fn extent_collapse_range(&mut self, inode: &mut Inode, lblk: u64, len: u64) -> Result<()> {
        let end = lblk
            .checked_add(len)
            .filter(|&e| e <= LBLK_END)
            .ok_or(FsError::Invalid)?;
        if len == 0 {
            return Ok(());
        }
        self.extent_unmap(inode, lblk, end)?;
        self.shift_tree(inode, end, -(len as i64))
    }

    /// fallocate INSERT_RANGE on whole blocks: moves every extent from
    /// `lblk` on `len` blocks up, leaving a hole (the extent across
    /// `lblk` is split there first). TooBig when an extent would pass the
    /// last addressable block. The caller raises i_size by the range.
    pub fn extent_insert_range(&mut self, inode: &mut Inode, lblk: u64, len: u64) -> Result<()> {
        if len == 0 || lblk >= LBLK_END {
            return Ok(());
        }
        if len >= LBLK_END {
            return Err(FsError::TooBig);
        }
        // Split, without merging the halves back.
        self.edit_range(inode, lblk, lblk + 1, false, |_, _, e, cs, _| {
            if cs == e.lblk as u64 {
                return Ok(None);
            }
            let mut p = Vec::with_capacity(2);
            push_piece(&mut p, &e, e.lblk as u64, cs, e.unwritten);
            push_piece(&mut p, &e, cs, end_of(&e), e.unwritten);
            Ok(Some(p))
        })?;
        self.shift_tree(inode, lblk, len as i64)
    }

    /// Moves every extent starting at or after `from` by `delta` blocks.
    fn shift_tree(&mut self, inode: &mut Inode, from: u64, delta: i64) -> Result<()> {
        let (depth, ents) = self.load_node(inode, None, None)?;
        let (ents, changed) = self.shift_node(inode, ents, depth, from, delta)?;
        if changed {
            write_root(inode, depth, &ents)?;
        }
        Ok(())
    }

    /// Shifts the entries of one node (and of its subtrees that hold
    /// blocks at or after `from`); says whether anything changed. Index
    /// entries take their child's new first block.
    fn shift_node(
        &mut self,
        inode: &Inode,
        ents: Entries,
        depth: u16,
        from: u64,
        delta: i64,
    ) -> Result<(Entries, bool)> {
        let mut changed = false;
        match ents {
            Entries::Leaf(mut v) => {
                for e in v.iter_mut().filter(|e| e.lblk as u64 >= from) {
                    let start = e.lblk as i64 + delta;
                    if start < 0 || start + e.len as i64 > LBLK_END as i64 {
                        return Err(FsError::TooBig);
                    }
                    e.lblk = start as u32;
                    changed = true;
                }
                Ok((Entries::Leaf(v), changed))
            }
            Entries::Index(mut v) => {
                for i in 0..v.len() {
                    // The subtree holds blocks before the next entry only.
                    if v.get(i + 1).is_some_and(|n| n.lblk as u64 <= from) {
                        continue;
                    }
                    let child = v[i].child;
                    let (_, cents) = self.load_node(inode, Some(child), Some(depth - 1))?;
                    let (cents, moved) = self.shift_node(inode, cents, depth - 1, from, delta)?;
                    if moved {
                        self.store_block(inode, child, depth - 1, &cents)?;
                        if let Some(first) = cents.first_lblk() {
                            v[i].lblk = first;
                        }
                        changed = true;
                    }
                }
                Ok((Entries::Index(v), changed))
            }
        }
    }
}
