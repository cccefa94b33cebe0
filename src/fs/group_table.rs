//! The group descriptors as last committed, with their free counts summed.
//!
//! A commit changes one or two descriptors; it used to clone the whole
//! table, change the copy and swap it in, and sum every descriptor's free
//! counts for the superblock: a copy of 8 descriptors on a small image,
//! of 65,536 (4 MiB) on an 8 TiB one, per operation. Now the commit keeps
//! the descriptors it changes aside and applies them under one write lock
//! (readers, under the read lock, see all of a commit or none of it), and
//! the sums are kept current as descriptors change.

use std::ops::Deref;

use crate::ext4::group::GroupDesc;

/// Every group's descriptor in group order, and the sums of their free
/// cluster and inode counts. Read it as a slice; change it only through
/// [`GroupTable::push`] and [`GroupTable::set`], which keep the sums.
#[derive(Debug, Default)]
pub(crate) struct GroupTable {
    descs: Vec<GroupDesc>,
    free_clusters: u64,
    free_inodes: u64,
}

impl GroupTable {
    /// Appends the next group's descriptor (at mount).
    pub(crate) fn push(&mut self, gd: GroupDesc) {
        self.free_clusters += gd.free_blocks_count as u64;
        self.free_inodes += gd.free_inodes_count as u64;
        self.descs.push(gd);
    }

    /// Replaces group `g`'s descriptor.
    ///
    /// Panics if `g` is not a group: a commit finds every descriptor it
    /// changes in this table first (under the commit lock, the only
    /// writer), so a missing one is a bug, not damage.
    pub(crate) fn set(&mut self, g: u32, gd: GroupDesc) {
        (self.free_clusters, self.free_inodes) = self.free_with(&[(g, gd)]);
        self.descs[g as usize] = gd;
    }

    /// Free clusters and free inodes of the whole filesystem, as they
    /// would be with `changes` (descriptors by group, each group at most
    /// once) applied.
    pub(crate) fn free_with(&self, changes: &[(u32, GroupDesc)]) -> (u64, u64) {
        changes.iter().fold(
            (self.free_clusters, self.free_inodes),
            |(clusters, inodes), (g, new)| {
                let old = &self.descs[*g as usize];
                (
                    clusters - old.free_blocks_count as u64 + new.free_blocks_count as u64,
                    inodes - old.free_inodes_count as u64 + new.free_inodes_count as u64,
                )
            },
        )
    }
}

impl Deref for GroupTable {
    type Target = [GroupDesc];

    fn deref(&self) -> &[GroupDesc] {
        &self.descs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext4::BlockNo;

    fn desc(free_blocks: u32, free_inodes: u32) -> GroupDesc {
        GroupDesc {
            block_bitmap: BlockNo(0),
            inode_bitmap: BlockNo(0),
            inode_table: BlockNo(0),
            free_blocks_count: free_blocks,
            free_inodes_count: free_inodes,
            used_dirs_count: 0,
            flags: 0,
            itable_unused: 0,
            block_bitmap_csum: 0,
            inode_bitmap_csum: 0,
            checksum: 0,
        }
    }

    fn summed(t: &GroupTable) -> (u64, u64) {
        (
            t.iter().map(|g| g.free_blocks_count as u64).sum(),
            t.iter().map(|g| g.free_inodes_count as u64).sum(),
        )
    }

    /// The kept sums equal the sums over the descriptors after every push
    /// and set, and `free_with` answers what the table holds once the
    /// same changes are set.
    #[test]
    fn sums_follow_every_change() {
        let mut t = GroupTable::default();
        for g in 0..5u32 {
            t.push(desc(32768 - g * 100, 8192 - g));
        }
        assert_eq!(t.free_with(&[]), summed(&t));
        let changes = [(1, desc(0, 8192)), (4, desc(32768, 0))];
        let predicted = t.free_with(&changes);
        for (g, gd) in changes {
            t.set(g, gd);
            assert_eq!(t.free_with(&[]), summed(&t));
        }
        assert_eq!(predicted, summed(&t));
        assert_eq!(t[1], desc(0, 8192));
        assert_eq!(t.len(), 5);
    }
}
