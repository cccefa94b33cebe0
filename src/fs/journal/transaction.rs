//! Transactions: the metadata changes of one operation, committed as a
//! unit (see docs/write-path.md).
//!
//! Two kinds of change are recorded. Owned blocks (reachable only through
//! inodes the operation has locked: directory, extent, indirect blocks) are
//! whole new images. Shared blocks (inode tables, descriptors, superblock)
//! are deltas (an inode's new contents, a group's counter changes) applied
//! at commit, under the commit lock, to the blocks' current versions, so
//! two transactions touching different inodes of one table block never
//! lose each other's update. With a journal, commit logs the blocks
//! (src/fs/journal/writer.rs) and they reach their place at the next checkpoint;
//! without one, commit writes them in place.
//!
//! Lock order: inode locks (ascending) → the commit lock → group locks →
//! the journal state → block-cache shards.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::ops::Deref;
use std::sync::Arc;

use crate::ext4::group::{BG_BLOCK_UNINIT, BG_INODE_UNINIT, GroupDesc};
use crate::ext4::inode::{Inode, links_and_generation, set_inode_checksum};
use crate::ext4::superblock::{SUPERBLOCK_SIZE, Superblock, set_superblock_checksum};
use crate::ext4::{BlockNo, CorruptKind, InodeNo};
use crate::fs::alloc::block::apply_bits;
use crate::fs::io::cache::Block;
use crate::fs::io::verified::{self, Kind, Owner};
use crate::fs::journal::writer::LoggedBlock;
use crate::fs::{Fs, FsError, Result, error};

/// Counter changes for one block group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupDelta {
    pub free_blocks: i64,
    pub free_inodes: i64,
    pub used_dirs: i64,
}

/// The changes of one operation. Dropping it without [`commit`] writes
/// nothing.
///
/// [`commit`]: Transaction::commit
pub struct Transaction<'a> {
    fs: &'a Fs,
    /// New images, built where the cache will hold them: a commit hands
    /// them over without copying 4 KiB again (each is unique until then).
    owned: BTreeMap<u64, Image>,
    /// Owned directory leaves whose checksum was stored over their final
    /// bytes (no change since): the commit remembers their new copies as
    /// verified, so the next lookup in the directory skips a 4 KiB crc32c;
    /// and, when true, that every record was checked too (an edit by
    /// `dir::insert_at` or `dir::remove_entry` of a copy checked whole),
    /// so the next search in the leaf does not walk it to check it.
    sealed: SmallMap<u64, (Owner, bool)>,
    inodes: SmallMap<u32, Inode>,
    /// Inodes newly allocated here: their whole slot is zeroed before the
    /// inode is written, so no byte of a previous life survives.
    fresh_inodes: SmallMap<u32, ()>,
    /// Edits of the superblock's own fields (orphan list head, feature
    /// bits), applied in order at commit to the live superblock.
    sb_edits: Vec<SbEdit>,
    groups: SmallMap<u32, GroupDelta>,
    /// Block bitmap changes per group: (bit, set).
    block_bits: SmallMap<u32, Vec<(u32, bool)>>,
    /// Inode bitmap changes per group: (bit, set).
    inode_bits: SmallMap<u32, Vec<(u32, bool)>>,
    /// Reservations to release when the transaction ends: (group, bit).
    reserved: Vec<(u32, u32)>,
    /// Inode reservations likewise.
    reserved_inodes: Vec<(u32, u32)>,
    /// Overwrites of file data in blocks the file keeps (block, offset in
    /// it, bytes), written at commit just before the log: see
    /// [`Transaction::write_data_at_commit`].
    data_at_commit: Vec<(u64, usize, Vec<u8>)>,
    /// Changes of the orphan list, applied to the orphan index once this
    /// transaction is published (never if it fails or is dropped).
    orphan_moves: Vec<crate::fs::orphan::OrphanMove>,
    /// Limits and grace periods to set in the quota files at commit.
    pub(in crate::fs) quota_edits: Vec<crate::fs::quota::QuotaEdit>,
}

/// A block's new image and the committed version it was copied from
/// (none for a block built from nothing): the commit's redo record is the
/// difference between the two, and keeping the version copied saves the
/// commit looking each block up in the cache again.
struct Image {
    new: Block,
    base: Option<Block>,
}

/// A shared block's new image while a commit builds it: its base, and
/// the window where it can differ (every byte outside was copied from the
/// base), so the log compares only those bytes, not 4 KiB, per table,
/// bitmap or descriptor block.
struct SharedImage {
    image: Image,
    window: (usize, usize),
}

impl Fs {
    /// Starts a transaction; the image must be open for writing.
    pub fn begin(&self) -> Result<Transaction<'_>> {
        self.refuse_if_shut_down()?;
        if !self.writable() || self.is_stopped() {
            return Err(FsError::ReadOnly);
        }
        Ok(self.begin_unchecked())
    }

    /// A transaction even after errors=remount-ro stopped changes: only
    /// for recording the error itself.
    pub(crate) fn begin_unchecked(&self) -> Transaction<'_> {
        Transaction {
            fs: self,
            owned: BTreeMap::new(),
            sealed: SmallMap::new(),
            inodes: SmallMap::new(),
            fresh_inodes: SmallMap::new(),
            sb_edits: Vec::new(),
            groups: SmallMap::new(),
            block_bits: SmallMap::new(),
            inode_bits: SmallMap::new(),
            reserved: Vec::new(),
            reserved_inodes: Vec::new(),
            data_at_commit: Vec::new(),
            orphan_moves: Vec::new(),
            quota_edits: Vec::new(),
        }
    }
}

impl<'a> Transaction<'a> {
    /// The new image of a block this operation owns (copied from the
    /// current version on first use). Only for blocks reachable solely
    /// through inodes the caller has locked.
    pub fn block_mut(&mut self, b: BlockNo) -> Result<&mut [u8]> {
        self.sealed.remove(&b.0);
        let image = match self.owned.entry(b.0) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(v) => v.insert(copied(self.fs, b)?),
        };
        Ok(Arc::make_mut(&mut image.new))
    }

    /// A block newly allocated by this transaction, as an all-zero image
    /// (never read: its old contents are garbage).
    pub fn block_new(&mut self, b: BlockNo) -> &mut [u8] {
        self.sealed.remove(&b.0);
        let bs = self.fs.block_size() as usize;
        let v = match self.owned.entry(b.0) {
            Entry::Occupied(e) => {
                let v = &mut e.into_mut().new;
                Arc::make_mut(v).fill(0);
                v
            }
            // Zeroed where the Arc lives (a zeroed Vec turned into an Arc
            // was a second 4 KiB copy).
            Entry::Vacant(e) => {
                &mut e
                    .insert(Image {
                        new: std::iter::repeat_n(0u8, bs).collect(),
                        base: None,
                    })
                    .new
            }
        };
        Arc::make_mut(v)
    }

    /// Notes that leaf `b`'s checksum (for `owner`) was just stored over
    /// its bytes, and whether its records are known good (`entries`); any
    /// later [`block_mut`](Self::block_mut) of it forgets this.
    pub(crate) fn note_sealed_leaf(&mut self, b: BlockNo, owner: Owner, entries: bool) {
        self.sealed.insert(b.0, (owner, entries));
    }

    /// Whether this transaction holds a new image of block `b`.
    pub(crate) fn owns_block(&self, b: BlockNo) -> bool {
        self.owned.contains_key(&b.0)
    }

    /// Block `b` as this transaction sees it: its own new image if it has
    /// one, else the committed block.
    pub fn read_block(&self, b: BlockNo) -> Result<TxBlock<'_>> {
        Ok(match self.owned.get(&b.0) {
            Some(v) => TxBlock::Own(&v.new),
            None => TxBlock::Shared(self.fs.block(b)?),
        })
    }

    /// Inode `ino` as this transaction sees it (its pending contents, else
    /// the committed inode).
    pub fn inode(&self, ino: InodeNo) -> Result<Inode> {
        match self.inodes.get(&ino.0) {
            Some(i) => Ok(i.clone()),
            None => self.fs.inode(ino),
        }
    }

    /// Records a newly allocated inode: its slot is cleared, then `inode`
    /// written into it.
    pub fn put_new_inode(&mut self, inode: Inode) {
        self.fresh_inodes.insert(inode.ino.0, ());
        self.put_inode(inode);
    }

    /// Changes the superblock's own fields at commit (applied in order to
    /// the live superblock, under the commit lock).
    pub fn edit_superblock(&mut self, edit: impl FnOnce(&mut Superblock) + Send + 'static) {
        self.sb_edits.push(Box::new(edit));
    }

    /// Records a change of the orphan list for the orphan index (applied
    /// when this transaction is published).
    pub(crate) fn note_orphan_move(&mut self, m: crate::fs::orphan::OrphanMove) {
        self.orphan_moves.push(m);
    }

    /// Records `inode`'s new contents (written into its table block at
    /// commit; later calls for the same inode replace earlier ones).
    pub fn put_inode(&mut self, inode: Inode) {
        self.inodes.insert(inode.ino.0, inode);
    }

    /// Overwrites `bytes` at offset `within` of data block `b` as part of
    /// this transaction: written at commit, after every check that can
    /// refuse it and before the commit record (data=ordered). So a refused
    /// call leaves the data as it was, and a committed one has it (a
    /// recovering server treats a committed request as done and runs
    /// nothing of it again). For zeroing that only makes sense with the
    /// metadata change: the tail of a truncated file's last block, the
    /// partial blocks at the edges of a punched or zeroed range.
    pub fn write_data_at_commit(&mut self, b: BlockNo, within: usize, bytes: Vec<u8>) {
        self.data_at_commit.push((b.0, within, bytes));
    }

    pub(crate) fn fs(&self) -> &'a Fs {
        self.fs
    }

    /// The inodes this transaction writes.
    pub(crate) fn pending_inodes(&self) -> impl Iterator<Item = u32> + '_ {
        self.inodes.keys().copied()
    }

    /// Whether `ino` was allocated by this transaction.
    pub(crate) fn is_fresh_inode(&self, ino: u32) -> bool {
        self.fresh_inodes.contains_key(&ino)
    }

    /// Replaces block `b`'s image with `bytes` (a whole block), for blocks
    /// only commits change (the quota files, under the quota lock).
    pub(crate) fn put_block(&mut self, b: BlockNo, bytes: Vec<u8>) {
        self.sealed.remove(&b.0);
        self.owned.insert(
            b.0,
            Image {
                new: Arc::from(bytes),
                base: None,
            },
        );
    }

    /// Inodes this transaction frees.
    fn freed_inodes(&self) -> Vec<u32> {
        let ipg = self.fs.superblock().inodes_per_group;
        self.inode_bits
            .iter()
            .flat_map(|(g, changes)| {
                changes
                    .iter()
                    .filter(|(_, set)| !*set)
                    .map(move |(bit, _)| g * ipg + bit + 1)
            })
            .collect()
    }

    /// Bits this transaction allocated in group `g`.
    pub(crate) fn pending_block_bits(&self, g: u32) -> impl Iterator<Item = &u32> {
        self.block_bits
            .get(&g)
            .into_iter()
            .flatten()
            .filter(|(_, set)| *set)
            .map(|(bit, _)| bit)
    }

    pub(crate) fn record_block_alloc(&mut self, g: u32, start: u32, len: u32) {
        let bits = self.block_bits.get_or_default(g);
        for bit in start..start + len {
            bits.push((bit, true));
            self.reserved.push((g, bit));
        }
    }

    /// Inodes this transaction allocated in group `g`.
    pub(crate) fn pending_inode_bits(&self, g: u32) -> impl Iterator<Item = &u32> {
        self.inode_bits
            .get(&g)
            .into_iter()
            .flatten()
            .filter(|(_, set)| *set)
            .map(|(bit, _)| bit)
    }

    /// Records an inode allocation. A group holding inodes must have an
    /// initialised block bitmap (e2fsck insists), so a BLOCK_UNINIT group's
    /// bitmap is written too.
    pub(crate) fn record_inode_alloc(&mut self, g: u32, bit: u32) {
        self.inode_bits.get_or_default(g).push((bit, true));
        self.reserved_inodes.push((g, bit));
        // Only an uninitialised bitmap needs writing (the flag is only ever
        // cleared, so a stale read at worst writes it once more).
        let uninit = self
            .fs
            .groups
            .read()
            .get(g as usize)
            .is_some_and(|gd| gd.flags & BG_BLOCK_UNINIT != 0);
        if uninit {
            self.block_bits.get_or_default(g);
        }
    }

    pub(crate) fn record_inode_free(&mut self, g: u32, bit: u32) {
        self.inode_bits.get_or_default(g).push((bit, false));
    }

    pub(crate) fn record_block_free(&mut self, g: u32, start: u32, len: u32) {
        // A freed block's new image (if any) must not be written.
        // Bits are clusters with bigalloc: every block of them goes.
        let range = self.fs.bit_block(g, start)..self.fs.bit_block(g, start + len);
        let gone: Vec<u64> = self.owned.range(range.clone()).map(|(b, _)| *b).collect();
        for b in gone {
            self.owned.remove(&b);
            self.sealed.remove(&b);
        }
        self.data_at_commit.retain(|(b, _, _)| !range.contains(b));
        self.block_bits
            .get_or_default(g)
            .extend((start..start + len).map(|bit| (bit, false)));
    }

    /// Adds counter changes to group `group`.
    pub fn adjust_group(&mut self, group: u32, delta: GroupDelta) {
        let d = self.groups.get_or_default(group);
        d.free_blocks += delta.free_blocks;
        d.free_inodes += delta.free_inodes;
        d.used_dirs += delta.used_dirs;
    }

    /// Applies every change and writes the blocks. On an error before the
    /// first write nothing is changed.
    pub fn commit(mut self) -> Result<()> {
        let fs = self.fs;
        let sb = fs.superblock();
        // Quota usage first, before the commit lock: a new entry may need
        // a block for the quota file, and allocation may force a durable
        // commit. The quota lock is held until the new files are published.
        let mut quota = fs.quota_on().then(|| fs.quota.lock());
        let new_quota = match quota.as_deref() {
            Some(st) if fs.writable() => {
                let freed_inodes = self.freed_inodes();
                self.account_quota(st, &freed_inodes)?
            }
            _ => None,
        };
        let _commit = fs.commit_lock.lock();
        // Checked under the lock a shutdown takes: a commit is either in
        // the shutdown's flush or refused.
        fs.refuse_if_shut_down()?;
        // Room in the journal first: a durable commit made for room takes
        // group locks itself. The estimate bounds what is logged below.
        let freed: Vec<(u32, u32)> = self
            .block_bits
            .iter()
            .flat_map(|(g, changes)| {
                changes
                    .iter()
                    .filter(|(_, set)| !*set)
                    .map(move |(bit, _)| (*g, *bit))
            })
            .collect();
        let estimate = self.owned.len()
            + self.inodes.len()
            + 2 * self.block_bits.len()
            + 2 * self.inode_bits.len()
            + self.groups.len()
            + 1;
        fs.journal_make_room(estimate)?;
        // The group locks of every bitmap this commit changes, ascending:
        // allocators read a bitmap and its checksum (in the descriptor)
        // under that lock, and must never see the new bitmap with the old
        // descriptor.
        // Inode bitmaps too: the inode allocator checks a bitmap against
        // its descriptor checksum under the same lock.
        let bitmap_groups = sorted_groups(self.block_bits.keys().chain(self.inode_bits.keys()));
        // Vectors, not ordered maps: a commit touches a group or two, and
        // building and dropping the maps cost more than the rest of it.
        let mut group_locks: Vec<(u32, _)> = bitmap_groups
            .into_iter()
            .map(|g| (g, fs.alloc_state[g as usize].lock()))
            .collect();
        let mut shared: BTreeMap<u64, SharedImage> = BTreeMap::new();

        let isz = sb.inode_size as usize;
        // Whether the one inode changed moved only its timestamps (and
        // checksum): then, if nothing else changed, an fdatasync needs no
        // commit for it (see Fs::datasync_inode).
        let mut times_only = self.inodes.len() == 1 && self.fresh_inodes.is_empty();
        for (ino, inode) in &self.inodes {
            // A held atime update is written with the inode's next change.
            let merged = fs.merge_held_atime(inode);
            let inode = merged.as_ref().unwrap_or(inode);
            let (blk, off) = fs.inode_location(InodeNo(*ino))?;
            let raw = shared_window(fs, &mut shared, blk, off, off + isz)?;
            if self.fresh_inodes.contains_key(ino) {
                raw.fill(0);
            } else {
                // Changes hold the inode's lock, and allocation picks only
                // free numbers, so the slot still holds the inode this
                // transaction read. If not, a change read a freed inode and
                // its number was taken since: writing would put the old
                // inode over the new one.
                let (_, now_there) = links_and_generation(raw);
                if now_there != inode.generation {
                    return Err(error::corrupted(CorruptKind::InodeSlotReused {
                        ino: *ino,
                        read: inode.generation.0,
                        now: now_there.0,
                    }));
                }
            }
            let before = times_only.then(|| raw.to_vec());
            inode.write_to(sb, raw)?;
            set_inode_checksum(sb, InodeNo(*ino), raw);
            if let Some(before) = before {
                times_only = only_times_differ(&before, raw);
            }
        }

        let touched = sorted_groups(self.groups.keys().chain(self.block_bits.keys()));
        // The descriptors this commit changes, by group, applied to the
        // table at publication (see GroupTable).
        let mut new_groups: Vec<(u32, GroupDesc)> = Vec::new();
        let mut new_sb = None;
        if !touched.is_empty() || !self.sb_edits.is_empty() {
            for (&g, changes) in &self.block_bits {
                let gd = changed_desc(&mut new_groups, fs, g)?;
                // A copy of the cached bitmap, made where the cache will
                // hold it.
                let current = fs.block_bitmap_block(g)?;
                let mut bytes: Block = Arc::from(&current[..]);
                apply_bits(Arc::make_mut(&mut bytes), changes, "block bitmap", g)?;
                if sb.metadata_csum() {
                    gd.block_bitmap_csum = fs.block_bitmap_csum_of(&bytes);
                    fs.remember_block_bitmap(g, gd.block_bitmap_csum, &bytes);
                }
                let uninit = gd.flags & BG_BLOCK_UNINIT != 0;
                gd.flags &= !BG_BLOCK_UNINIT;
                shared.insert(
                    gd.block_bitmap.0,
                    bitmap_image(bytes, current, uninit, changes),
                );
            }
            let ipg = sb.inodes_per_group;
            for (&g, changes) in &self.inode_bits {
                let gd = changed_desc(&mut new_groups, fs, g)?;
                let current = fs.inode_bitmap_block(g)?;
                let mut bytes: Block = Arc::from(&current[..]);
                apply_bits(Arc::make_mut(&mut bytes), changes, "inode bitmap", g)?;
                if sb.metadata_csum() {
                    gd.inode_bitmap_csum = fs.inode_bitmap_csum_of(&bytes);
                    fs.remember_inode_bitmap(g, gd.inode_bitmap_csum, &bytes);
                }
                let image = bitmap_image(bytes, current, gd.flags & BG_INODE_UNINIT != 0, changes);
                gd.flags &= !BG_INODE_UNINIT;
                // No used inode may lie in the tail the descriptor calls unused.
                if let Some(top) = changes
                    .iter()
                    .filter(|(_, set)| *set)
                    .map(|(bit, _)| *bit)
                    .max()
                {
                    gd.itable_unused = gd.itable_unused.min(ipg - (top + 1));
                }
                shared.insert(gd.inode_bitmap.0, image);
            }
            let ds = sb.desc_size as usize;
            for &g in &touched {
                let gd = changed_desc(&mut new_groups, fs, g)?;
                if let Some(d) = self.groups.get(&g) {
                    *gd = apply_delta(gd, d, g)?;
                }
                let (blk, off) = sb.group_desc_location(g);
                let raw = shared_window(fs, &mut shared, blk, off, off + ds)?;
                gd.write_to(sb, raw)?;
                GroupDesc::set_checksum(sb, g, raw);
            }
            let mut live = fs.live_sb.lock().clone();
            let edited = !self.sb_edits.is_empty();
            for edit in self.sb_edits.drain(..) {
                edit(&mut live);
            }
            crate::fs::set_free_counts(&mut live, &fs.groups.read(), &new_groups);
            // With the journal running the superblock's free counts are a
            // summary, as in the kernel: kept current in memory and logged
            // with the superblock's own changes (and written at unmount),
            // not with every allocation; mount and e2fsck count from the
            // group descriptors. One block less per operation in the log.
            if edited || !fs.journal_running() {
                let (blk, off) = fs.superblock_location();
                let raw = shared_window(fs, &mut shared, blk, off, off + SUPERBLOCK_SIZE)?;
                live.write_to(raw)?;
                set_superblock_checksum(raw);
            }
            new_sb = Some(live);
        }

        let owned = std::mem::take(&mut self.owned);
        if let Some(b) = owned.keys().find(|b| shared.contains_key(b)) {
            return Err(error::corrupted(CorruptKind::BlockOwnedAndShared {
                block: *b,
            }));
        }
        let mut all: Vec<LoggedBlock> = Vec::with_capacity(owned.len() + shared.len());
        all.extend(owned.into_iter().map(|(b, image)| LoggedBlock {
            block: b,
            window: 0..image.new.len(),
            bytes: image.new,
            base: image.base,
        }));
        all.extend(shared.into_iter().map(|(b, s)| LoggedBlock {
            block: b,
            window: s.window.0..s.window.1,
            bytes: s.image.new,
            base: s.image.base,
        }));
        for lb in &all {
            if let Some(&(owner, entries)) = self.sealed.get(&lb.block) {
                verified::remember(Kind::DirLeaf, owner, &lb.bytes);
                if entries {
                    verified::remember(Kind::DirLeafEntries, owner, &lb.bytes);
                }
            }
        }
        let times_only =
            times_only && all.len() == 1 && self.data_at_commit.is_empty() && freed.is_empty();
        let bs = sb.block_size() as u64;
        let _publish = fs.publish.write();
        // Data first (data=ordered): once the commit record is on disk the
        // operation counts as done, by a replay and by a recovering server.
        for (b, within, bytes) in std::mem::take(&mut self.data_at_commit) {
            fs.write_data(BlockNo(b), within, &bytes)?;
        }
        if fs.journal_log(&all)? {
            if !times_only {
                fs.journal_note_datasync();
            }
            // In place only after a durable commit (the checkpoint).
            for lb in all {
                fs.cache.put_dirty(BlockNo(lb.block), lb.bytes);
            }
            // Not reused before this transaction is durable.
            for &(g, bit) in &freed {
                if let Some((_, state)) = group_locks.iter_mut().find(|(l, _)| *l == g) {
                    state.freed.insert(bit);
                }
                fs.journal_note_freed(g, bit);
            }
        } else {
            fs.observe_commit(None);
            for lb in all {
                fs.image.write_all_at(lb.block * bs, &lb.bytes)?;
                fs.cache.put(BlockNo(lb.block), lb.bytes);
            }
            // No journal: free at once, as ext4 without one discards.
            fs.discard_freed(&freed);
            for &(g, _) in &freed {
                if let Some((_, state)) = group_locks.iter_mut().find(|(l, _)| *l == g) {
                    state.trimmed = false;
                }
            }
        }
        if !new_groups.is_empty() {
            // One write lock for all of them: readers see the commit's
            // descriptors together or not at all.
            let mut groups = fs.groups.write();
            for (g, gd) in new_groups {
                groups.set(g, gd);
            }
        }
        if let Some(live) = new_sb {
            *fs.live_sb.lock() = live;
        }
        if let (Some(q), Some(guard)) = (new_quota, quota.as_mut()) {
            **guard = q;
        }
        fs.orphan_index_apply(&self.orphan_moves);
        // A freed block's next life may be file data, written around the
        // cache: forget it now (and never checkpoint it).
        for &(g, bit) in &freed {
            for b in fs.bit_block(g, bit)..fs.bit_block(g, bit + 1) {
                fs.cache.remove(BlockNo(b));
            }
        }
        drop(group_locks);
        // Reservations are released by Drop, after the bitmaps are visible.
        Ok(())
    }
}

/// Group `g`'s descriptor as this commit changes it: the one in `changed`,
/// or a copy of the table's added there. Under the commit lock the table
/// has no other writer, so each copy is of the descriptor as committed.
fn changed_desc<'a>(
    changed: &'a mut Vec<(u32, GroupDesc)>,
    fs: &Fs,
    g: u32,
) -> Result<&'a mut GroupDesc> {
    let at = match changed.iter().position(|(c, _)| *c == g) {
        Some(at) => at,
        None => {
            let gd = *fs.groups.read().get(g as usize).ok_or(FsError::Invalid)?;
            changed.push((g, gd));
            changed.len() - 1
        }
    };
    Ok(&mut changed[at].1)
}

/// A map of a few entries, sorted in a vector: a transaction's inodes,
/// groups, bitmaps and sealed leaves are one or two each, and an ordered
/// map's node (for the inodes, eleven inodes' room) was allocated, filled
/// and freed per operation for them.
struct SmallMap<K, V>(Vec<(K, V)>);

impl<K: Ord + Copy, V> SmallMap<K, V> {
    fn new() -> Self {
        SmallMap(Vec::new())
    }

    fn find(&self, k: &K) -> std::result::Result<usize, usize> {
        self.0.binary_search_by(|(x, _)| x.cmp(k))
    }

    fn get(&self, k: &K) -> Option<&V> {
        self.find(k).ok().map(|i| &self.0[i].1)
    }

    fn contains_key(&self, k: &K) -> bool {
        self.find(k).is_ok()
    }

    fn insert(&mut self, k: K, v: V) -> Option<V> {
        match self.find(&k) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, v)),
            Err(i) => {
                self.0.insert(i, (k, v));
                None
            }
        }
    }

    fn remove(&mut self, k: &K) -> Option<V> {
        self.find(k).ok().map(|i| self.0.remove(i).1)
    }

    fn get_or_default(&mut self, k: K) -> &mut V
    where
        V: Default,
    {
        let i = match self.find(&k) {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(i, (k, V::default()));
                i
            }
        };
        &mut self.0[i].1
    }

    fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    fn keys(&self) -> impl Iterator<Item = &K> {
        self.0.iter().map(|(k, _)| k)
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'m, K, V> IntoIterator for &'m SmallMap<K, V> {
    type Item = (&'m K, &'m V);
    type IntoIter = std::iter::Map<std::slice::Iter<'m, (K, V)>, fn(&'m (K, V)) -> (&'m K, &'m V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

/// A deferred change of the superblock's own fields.
type SbEdit = Box<dyn FnOnce(&mut Superblock) + Send>;

/// A block as a transaction sees it.
pub enum TxBlock<'t> {
    /// This transaction's new image.
    Own(&'t [u8]),
    /// The committed block.
    Shared(crate::fs::io::cache::Block),
}

impl Deref for TxBlock<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            TxBlock::Own(b) => b,
            TxBlock::Shared(b) => b,
        }
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        for (g, bit) in self.reserved.drain(..) {
            self.fs.alloc_state[g as usize].lock().reserved.remove(&bit);
        }
        for (g, bit) in self.reserved_inodes.drain(..) {
            self.fs.alloc_state[g as usize]
                .lock()
                .reserved_inodes
                .remove(&bit);
        }
    }
}

/// A copy of block `b`'s committed version, with that version as base.
fn copied(fs: &Fs, b: BlockNo) -> Result<Image> {
    let base = fs.block(b)?;
    Ok(Image {
        new: Arc::from(&base[..]),
        base: Some(base),
    })
}

/// Bytes `[lo, hi)` of shared block `b`'s new image in `map` (copied from
/// its current version the first time), its window widened to them.
fn shared_window<'m>(
    fs: &Fs,
    map: &'m mut BTreeMap<u64, SharedImage>,
    b: BlockNo,
    lo: usize,
    hi: usize,
) -> Result<&'m mut [u8]> {
    let s = match map.entry(b.0) {
        Entry::Occupied(e) => {
            let s = e.into_mut();
            s.window = (s.window.0.min(lo), s.window.1.max(hi));
            s
        }
        Entry::Vacant(v) => v.insert(SharedImage {
            image: copied(fs, b)?,
            window: (lo, hi),
        }),
    };
    Ok(&mut Arc::make_mut(&mut s.image.new)[lo..hi])
}

/// A group bitmap's new image `new`, made from `current` by `changes`
/// (bit, set). Only the bytes those bits live in can differ, unless the
/// group was uninitialised: then `current` was built from the geometry,
/// the block on disk is not it, and the log compares the whole block
/// with what is on disk.
fn bitmap_image(new: Block, current: Block, uninit: bool, changes: &[(u32, bool)]) -> SharedImage {
    if uninit {
        SharedImage {
            window: (0, new.len()),
            image: Image { new, base: None },
        }
    } else {
        SharedImage {
            window: bit_bytes(changes),
            image: Image {
                new,
                base: Some(current),
            },
        }
    }
}

/// The groups `groups` names, ascending, each once.
fn sorted_groups<'g>(groups: impl Iterator<Item = &'g u32>) -> Vec<u32> {
    let mut v: Vec<u32> = groups.copied().collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The bytes of a bitmap that `changes` (bit, set) touch: [first, end).
fn bit_bytes(changes: &[(u32, bool)]) -> (usize, usize) {
    let lo = changes.iter().map(|(bit, _)| *bit).min();
    let hi = changes.iter().map(|(bit, _)| *bit).max();
    match (lo, hi) {
        (Some(lo), Some(hi)) => (lo as usize / 8, hi as usize / 8 + 1),
        _ => (0, 0),
    }
}

/// A descriptor with `d` applied; a counter that would leave its range is
/// damage (the caller's bookkeeping and the disk disagree).
fn apply_delta(gd: &GroupDesc, d: &GroupDelta, g: u32) -> Result<GroupDesc> {
    let add = |value: u32, by: i64, counter: &'static str| {
        u32::try_from(value as i64 + by).map_err(|_| {
            error::corrupted(CorruptKind::GroupCounter {
                group: g,
                counter,
                value,
                by,
            })
        })
    };
    Ok(GroupDesc {
        free_blocks_count: add(gd.free_blocks_count, d.free_blocks, "free blocks")?,
        free_inodes_count: add(gd.free_inodes_count, d.free_inodes, "free inodes")?,
        used_dirs_count: add(gd.used_dirs_count, d.used_dirs, "directories")?,
        ..*gd
    })
}

/// Whether two images of an on-disk inode differ only in their timestamps
/// (atime, ctime, mtime and their extra words) and checksum: what an
/// fdatasync need not make durable.
fn only_times_differ(a: &[u8], b: &[u8]) -> bool {
    use crate::ext4::layout::{Ext4Inode, Ext4InodeExtra};
    use core::mem::offset_of;
    // Byte ranges of i_atime, i_ctime, i_mtime, i_checksum_lo,
    // i_checksum_hi, i_ctime_extra, i_mtime_extra, i_atime_extra.
    const X: usize = Ext4InodeExtra::OFFSET;
    const IGNORED: [(usize, usize); 3] = [
        (
            offset_of!(Ext4Inode, i_atime),
            offset_of!(Ext4Inode, i_dtime),
        ),
        (
            offset_of!(Ext4Inode, l_i_checksum_lo),
            offset_of!(Ext4Inode, l_i_reserved),
        ),
        (
            X + offset_of!(Ext4InodeExtra, i_checksum_hi),
            X + offset_of!(Ext4InodeExtra, i_crtime),
        ),
    ];
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .enumerate()
            .all(|(i, (x, y))| x == y || IGNORED.iter().any(|&(lo, hi)| (lo..hi).contains(&i)))
}
