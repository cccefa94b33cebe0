//! Adding, removing and repointing directory entries (linear leaves, the
//! htree via htree.rs, inline directories), and new directories' first
//! block.
//!
//! Everything reads through the transaction (`read_block`, `map`), so a
//! second call in one transaction sees the first one's changes. The
//! behaviour follows the kernel's fs/ext4/namei.c and inline.c: entries
//! go into the first leaf with room, a one-block directory that fills up
//! becomes indexed when the filesystem has dir_index, and deletes never
//! shrink a directory.

use crate::ext4::dir::{self, DirIter, EditError, TAIL_SIZE};
use crate::ext4::htree;
use crate::ext4::inode::{Inode, flags};
use crate::ext4::layout::{Ext4DirEntry2, Ext4InlineDotdot};
use crate::ext4::superblock::incompat;
use crate::ext4::xattr::{self, XattrEntry};
use crate::ext4::{BlockNo, ChecksumOf, CorruptKind, FormatError, InodeDamage, InodeNo};
use crate::fs::dir::casefold::{self, EntryMatch, NameKey};
use crate::fs::extent::map::Backing;
use crate::fs::inline::is_data;
use crate::fs::io::verified::{self, Kind, Owner};
use crate::fs::journal::transaction::{Transaction, TxBlock};
use crate::fs::{FsError, Result, error};

/// An entry found in a leaf: its offset and inode number.
type Hit = (usize, u32);

/// Bytes of i_block an inline directory starts with: the parent's inode
/// number (there are no "." and ".." entries).
const INLINE_DOTDOT: usize = Ext4InlineDotdot::SIZE;

/// Where an entry was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// In directory block `pblk`, at byte `offset`.
    Block { pblk: BlockNo, offset: usize },
    /// In an inline directory's i_block, at `offset` after the parent.
    IBlock { offset: usize },
    /// In an inline directory's system.data value, at `offset`.
    Xattr { offset: usize },
}

/// Where a name that [`Transaction::dir_plan_add`] found absent goes:
/// the leaf and the record in it, found by the walk that checked the
/// name (None: the generic insertion searches again, as when the leaf
/// is full or the directory is inline, casefolded or linear over several
/// blocks).
pub struct AddPlan(Option<Planned>);

struct Planned {
    pblk: BlockNo,
    slot: dir::Slot,
}

impl Transaction<'_> {
    /// Adds `name` → `ino` (file type code `ftype`, ext4::dir::ft) to the
    /// locked directory `dir`. The caller has checked that the name is
    /// absent. Grows, splits or indexes the directory as the kernel does;
    /// updates `dir`'s size, i_blocks and flags (not its times).
    pub fn dir_add(&mut self, dir: &mut Inode, name: &[u8], ino: InodeNo, ftype: u8) -> Result<()> {
        self.check_dir(dir)?;
        check_name(name)?;
        casefold::check_new_name(self.fs(), dir, name)?;
        let ft = if self.fs().has_filetype() { ftype } else { 0 };
        // A full inline directory becomes a block directory (false) and
        // takes the entry below.
        if dir.has_flag(flags::INLINE_DATA) && self.inline_add(dir, name, ino.0, ft)? {
            return Ok(());
        }
        if !self.fs().has_dir_index() {
            // As ext4_update_dx_flag: without the feature the index is
            // dead weight and the directory is linear.
            dir.flags &= !flags::INDEX;
        }
        if self.fs().is_dx(dir) {
            return self.dx_add(dir, name, ino.0, ft);
        }
        self.linear_add(dir, name, ino.0, ft)
    }

    /// Checks that `name` is absent from the locked directory `dir`
    /// (Exists when not) and, where one walk of a leaf can both check and
    /// place it, notes where it goes: [`dir_add_planned`] then writes it
    /// there without searching the leaf again (a create walked its leaf
    /// three times: LOOKUP's search, this check and the insertion).
    ///
    /// [`dir_add_planned`]: Self::dir_add_planned
    pub fn dir_plan_add(&self, dir: &Inode, name: &[u8]) -> Result<AddPlan> {
        if let Some(planned) = self.plan_slot(dir, name)? {
            return Ok(AddPlan(planned));
        }
        if self.dir_lookup(dir, name)?.is_some() {
            return Err(FsError::Exists);
        }
        Ok(AddPlan(None))
    }

    /// [`dir_add`](Self::dir_add) of a name checked absent by
    /// [`dir_plan_add`](Self::dir_plan_add) in this transaction, `dir`
    /// locked all along: at the planned record when this transaction has
    /// not changed that leaf since (the committed bytes cannot change
    /// under the lock).
    pub fn dir_add_planned(
        &mut self,
        dir: &mut Inode,
        name: &[u8],
        ino: InodeNo,
        ftype: u8,
        plan: AddPlan,
    ) -> Result<()> {
        match plan.0 {
            Some(p) if !self.owns_block(p.pblk) => {
                if !self.fs().has_dir_index() {
                    dir.flags &= !flags::INDEX;
                }
                let ft = if self.fs().has_filetype() { ftype } else { 0 };
                dir::insert_at(self.block_mut(p.pblk)?, p.slot, ino.0, name, ft);
                // The plan's walk checked every record of this copy.
                self.seal_leaf_as(dir, p.pblk, true)
            }
            _ => self.dir_add(dir, name, ino, ftype),
        }
    }

    /// The leaf a new `name` goes into when one leaf decides it (an
    /// indexed directory's leaf for the name's hash, unless names of that
    /// hash may continue into the next leaf; a linear directory of one
    /// block), checked and placed in one walk: Some(slot, None when the
    /// leaf is full) when `name` is absent, Exists when present. None
    /// when the caller must search the whole directory.
    fn plan_slot(&self, dir: &Inode, name: &[u8]) -> Result<Option<Option<Planned>>> {
        // Other comparisons (casefolded, encrypted), inline directories
        // and names dir_add refuses take the generic path.
        if !dir.is_dir()
            || check_name(name).is_err()
            || dir.has_flag(flags::INLINE_DATA)
            || dir.has_flag(flags::ENCRYPT)
            || dir.has_flag(flags::CASEFOLD)
        {
            return Ok(None);
        }
        let (lblk, pblk) = if self.fs().is_dx(dir) {
            let path = self.dx_probe(dir, name)?;
            if self.dx_may_continue(&path) {
                return Ok(None);
            }
            self.dx_leaf(dir, &path)?
        } else if dir.size / self.block_size() as u64 == 1 {
            match self.dir_pblk(dir, 0)? {
                Some(pblk) => (0, pblk),
                None => return Ok(None),
            }
        } else {
            return Ok(None);
        };
        let blk = self.read_block(pblk)?;
        let owner = self.leaf_owner(dir);
        // As read_leaf: a copy not checked before has its checksum and
        // every record checked, here in the walk that places the name.
        let known = matches!(&blk, TxBlock::Shared(b)
            if verified::remembered(Kind::DirLeafEntries, owner, b));
        if !known && self.csum() && !self.leaf_good(dir, &blk) {
            return Err(FormatError::BadChecksum {
                what: ChecksumOf::DirBlock { dir: dir.ino, lblk },
            }
            .into());
        }
        let found = if known {
            dir::find_slot_checked(&blk, self.leaf_usable(), name)
        } else {
            dir::find_slot(&blk, self.leaf_usable(), self.max_inode(), name)
        };
        let slot = match found {
            Ok(slot) => slot,
            Err(e) => return Err(edit_error(dir, lblk, e)),
        };
        if let TxBlock::Shared(b) = &blk
            && !known
        {
            verified::remember(Kind::DirLeafEntries, owner, b);
        }
        Ok(Some(slot.map(|slot| Planned { pblk, slot })))
    }

    /// Removes entry `name` from `dir`; returns the inode it named
    /// (NotFound when absent).
    pub fn dir_remove(&mut self, dir: &mut Inode, name: &[u8]) -> Result<InodeNo> {
        self.check_dir(dir)?;
        if name == b"." || name == b".." {
            return Err(FsError::Invalid);
        }
        let (place, ino) = self.dir_find(dir, name)?.ok_or(FsError::NotFound)?;
        // In a casefolded directory the entry may be spelt otherwise.
        let stored;
        let name = if self.fs().is_casefolded_dir(dir) {
            stored = self.stored_name(dir, place)?;
            &stored[..]
        } else {
            name
        };
        let usable = self.leaf_usable();
        let gone = match place {
            Place::Block { pblk, .. } => {
                let gone = dir::remove_entry(self.block_mut(pblk)?, usable, name)?;
                // dir_find's search checked this copy whole (read_leaf).
                self.seal_leaf_as(dir, pblk, true)?;
                gone
            }
            Place::IBlock { .. } => {
                let area = &mut dir.block[INLINE_DOTDOT..];
                let len = area.len();
                dir::remove_entry(area, len, name)?
            }
            Place::Xattr { .. } => self.edit_inline_value(dir, |v| {
                let len = v.len();
                Ok(dir::remove_entry(v, len, name)?)
            })?,
        };
        if gone != Some(ino) {
            return Err(error::damaged(dir.ino, InodeDamage::EntryMoved));
        }
        Ok(InodeNo(ino))
    }

    /// Points the existing entry `name` at `ino`/`ftype`; returns the inode
    /// it named before (NotFound when absent).
    pub fn dir_replace(
        &mut self,
        dir: &mut Inode,
        name: &[u8],
        ino: InodeNo,
        ftype: u8,
    ) -> Result<InodeNo> {
        self.check_dir(dir)?;
        if name == b"." || name == b".." {
            return Err(FsError::Invalid);
        }
        let ft = if self.fs().has_filetype() { ftype } else { 0 };
        let (place, old) = self.dir_find(dir, name)?.ok_or(FsError::NotFound)?;
        let repoint = |region: &mut [u8], offset: usize| {
            let e = Ext4DirEntry2::of_mut(&mut region[offset..]).expect("dir_find found it there");
            e.inode.set(ino.0);
            e.file_type = ft;
        };
        match place {
            Place::Block { pblk, offset } => {
                repoint(self.block_mut(pblk)?, offset);
                self.seal_leaf(dir, pblk)?;
            }
            Place::IBlock { offset } => repoint(&mut dir.block[INLINE_DOTDOT..], offset),
            Place::Xattr { offset } => self.edit_inline_value(dir, |v| {
                repoint(v, offset);
                Ok(())
            })?,
        }
        Ok(InodeNo(old))
    }

    /// Looks `name` up in `dir` as this transaction sees it.
    pub fn dir_lookup(&self, dir: &Inode, name: &[u8]) -> Result<Option<InodeNo>> {
        self.check_dir(dir)?;
        match name {
            b"." => return Ok(Some(dir.ino)),
            b".." => return self.dotdot(dir).map(Some),
            _ => {}
        }
        Ok(self.dir_find(dir, name)?.map(|(_, ino)| InodeNo(ino)))
    }

    /// Gives the new directory `dir` "." and "..": inline on an
    /// inline_data filesystem when the inode has room (as the kernel's
    /// ext4_init_new_dir), else in a first block; sets its size.
    pub fn dir_init(&mut self, dir: &mut Inode, parent: InodeNo) -> Result<()> {
        if !dir.is_dir() {
            return Err(FsError::NotDir);
        }
        if dir.size != 0 || dir.has_flag(flags::INLINE_DATA) {
            return Err(FsError::Invalid);
        }
        if self.inline_dir_init(dir, parent)? {
            return Ok(());
        }
        let (filetype, csum) = (self.fs().has_filetype(), self.csum());
        let (_, pblk) = self.dir_append(dir)?;
        dir::init_dot_dotdot(self.block_mut(pblk)?, dir.ino.0, parent.0, filetype, csum);
        self.seal_leaf(dir, pblk)
    }

    /// Points `dir`'s ".." at `parent` (a directory moved elsewhere).
    pub fn dir_set_dotdot(&mut self, dir: &mut Inode, parent: InodeNo) -> Result<()> {
        self.check_dir(dir)?;
        if dir.has_flag(flags::INLINE_DATA) {
            Ext4InlineDotdot::of_mut(&mut dir.block)
                .expect("i_block holds the parent")
                .inode
                .set(parent.0);
            return Ok(());
        }
        let (pblk, offset) = self.first_block_dotdot(dir)?;
        let (dx, csum, seed) = (self.fs().is_dx(dir), self.csum(), self.fs().csum_seed());
        let blk = self.block_mut(pblk)?;
        Ext4DirEntry2::of_mut(&mut blk[offset..])
            .expect("first_block_dotdot found it there")
            .inode
            .set(parent.0);
        if !dx {
            return self.seal_leaf(dir, pblk);
        }
        // The dx root's checksum covers ".." too.
        if csum && !htree::set_node_checksum(seed, dir.ino, dir.generation, blk) {
            return Err(error::damaged(dir.ino, InodeDamage::DxRootWithoutTail));
        }
        Ok(())
    }

    /// Whether `dir` holds nothing but "." and "..".
    pub fn dir_is_empty(&self, dir: &Inode) -> Result<bool> {
        self.check_dir(dir)?;
        if dir.has_flag(flags::INLINE_DATA) {
            let mut empty = true;
            self.inline_scan(dir, |_, e| {
                empty &= e.inode == 0;
                !empty
            })?;
            return Ok(empty);
        }
        let bs = self.block_size();
        // "." and ".." must open block 0; the walk starts after them.
        let (_, dotdot_at) = self.first_block_dotdot(dir)?;
        let mut busy = false;
        self.for_each_dir_block(dir, |tx, lblk, pblk| {
            let blk = tx.read_any_dir_block(dir, lblk, pblk)?;
            for e in DirIter::new(&blk, bs, tx.max_inode(), true) {
                let e = e.map_err(|e| crate::fs::dir::read::in_dir(dir, lblk, e))?;
                if lblk == 0 && e.offset <= dotdot_at {
                    continue;
                }
                busy |= e.inode != 0;
            }
            Ok(busy)
        })?;
        Ok(!busy)
    }

    // ---- shared helpers (htree.rs uses them too) ----

    fn check_dir(&self, dir: &Inode) -> Result<()> {
        if !dir.is_dir() {
            return Err(FsError::NotDir);
        }
        // Encrypted names hash and compare differently.
        if dir.has_flag(flags::ENCRYPT) {
            return Err(FsError::Unsupported);
        }
        Ok(())
    }

    pub(crate) fn csum(&self) -> bool {
        self.fs().superblock().metadata_csum()
    }

    pub(crate) fn block_size(&self) -> usize {
        self.fs().block_size() as usize
    }

    pub(crate) fn max_inode(&self) -> u32 {
        self.fs().superblock().inodes_count
    }

    /// Bytes of a leaf block that hold entries (before the checksum tail).
    pub(crate) fn leaf_usable(&self) -> usize {
        self.block_size() - if self.csum() { TAIL_SIZE } else { 0 }
    }

    /// The physical block behind logical block `lblk` of `dir`, None for
    /// a hole.
    pub(crate) fn dir_pblk(&self, dir: &Inode, lblk: u64) -> Result<Option<BlockNo>> {
        match self.map(dir, lblk)?.backing {
            Backing::Data(p) => Ok(Some(p)),
            Backing::Hole => Ok(None),
            Backing::Unwritten => Err(error::damaged(
                dir.ino,
                InodeDamage::UnwrittenDirBlock { lblk },
            )),
        }
    }

    /// Calls `f(tx, lblk, pblk)` for each mapped block of `dir` below
    /// i_size until it returns true. Holes are skipped whole, so a huge
    /// hostile i_size over an empty mapping costs nothing.
    fn for_each_dir_block(
        &self,
        dir: &Inode,
        mut f: impl FnMut(&Self, u64, BlockNo) -> Result<bool>,
    ) -> Result<()> {
        let nblocks = dir.size / self.block_size() as u64;
        let mut lblk = 0;
        while lblk < nblocks {
            let m = self.map(dir, lblk)?;
            match m.backing {
                Backing::Data(pblk) => {
                    if f(self, lblk, pblk)? {
                        return Ok(());
                    }
                    lblk += 1;
                }
                Backing::Hole => lblk += m.len.max(1),
                Backing::Unwritten => {
                    return Err(error::damaged(
                        dir.ino,
                        InodeDamage::UnwrittenDirBlock { lblk },
                    ));
                }
            }
        }
        Ok(())
    }

    /// Reads leaf `lblk` (at `pblk`) of `dir` and checks it as the
    /// kernel's ext4_read_dirblock does: the tail checksum with
    /// metadata_csum, then every record.
    pub(crate) fn read_leaf(&self, dir: &Inode, lblk: u64, pblk: BlockNo) -> Result<TxBlock<'_>> {
        Ok(self.read_leaf_finding(dir, lblk, pblk, None)?.0)
    }

    /// [`read_leaf`](Self::read_leaf), and when it walks every record (a
    /// copy not checked before), the first live entry called `name` met on
    /// the way: Some(hit or None). None when it did not walk (the caller
    /// searches itself).
    fn read_leaf_finding(
        &self,
        dir: &Inode,
        lblk: u64,
        pblk: BlockNo,
        name: Option<&NameKey<'_>>,
    ) -> Result<(TxBlock<'_>, Option<Option<Hit>>)> {
        let blk = self.read_block(pblk)?;
        // A committed copy already checked whole (checksum and every
        // record) is not walked again: a lookup and the change after it
        // read the same leaf, and a leaf our own insertion or removal
        // sealed is remembered so (seal_leaf_as).
        let owner = self.leaf_owner(dir);
        if let TxBlock::Shared(b) = &blk
            && verified::remembered(Kind::DirLeafEntries, owner, b)
        {
            return Ok((blk, None));
        }
        if self.csum() && !self.leaf_good(dir, &blk) {
            return Err(FormatError::BadChecksum {
                what: ChecksumOf::DirBlock { dir: dir.ino, lblk },
            }
            .into());
        }
        let usable = self.leaf_usable();
        let mut hit = None;
        for e in DirIter::new(&blk[..usable], blk.len(), self.max_inode(), true) {
            let e = e.map_err(|e| crate::fs::dir::read::in_dir(dir, lblk, e))?;
            if hit.is_none() && e.inode != 0 && name.is_some_and(|k| k.matches(e.name)) {
                hit = Some((e.offset, e.inode));
            }
        }
        if let TxBlock::Shared(b) = &blk {
            verified::remember(Kind::DirLeafEntries, owner, b);
        }
        Ok((blk, Some(hit)))
    }

    /// The checksum inputs of `dir`'s leaves, for the verified memo.
    fn leaf_owner(&self, dir: &Inode) -> Owner {
        Owner {
            seed: self.fs().csum_seed(),
            ino: dir.ino,
            generation: dir.generation,
        }
    }

    /// Whether leaf `blk` of `dir` carries a good checksum.
    fn leaf_good(&self, dir: &Inode, blk: &TxBlock<'_>) -> bool {
        match blk {
            TxBlock::Shared(b) => self.fs().leaf_checksum_ok(dir, b),
            TxBlock::Own(b) => dir::verify_leaf(self.fs().csum_seed(), dir.ino, dir.generation, b),
        }
    }

    /// Reads a block that may be a leaf or an index node (as the read
    /// side tells them apart), verifying whichever checksum it carries.
    fn read_any_dir_block(&self, dir: &Inode, lblk: u64, pblk: BlockNo) -> Result<TxBlock<'_>> {
        let blk = self.read_block(pblk)?;
        let dx = self.fs().is_dx(dir) && (lblk == 0 || htree::looks_like_node(&blk));
        if !dx {
            drop(blk);
            return self.read_leaf(dir, lblk, pblk);
        }
        if self.csum() {
            let (at, node) = if lblk == 0 {
                let at = crate::ext4::DxAt::Root { dir: dir.ino };
                (at, htree::parse_root(&blk, true, dir.ino)?.1)
            } else {
                let at = crate::ext4::DxAt::Node { dir: dir.ino, lblk };
                (at, htree::parse_node(&blk, true, dir.ino, lblk)?)
            };
            if !node.verify_checksum(self.fs().csum_seed(), dir.ino, dir.generation, &blk) {
                return Err(FormatError::BadChecksum {
                    what: ChecksumOf::Dx(at),
                }
                .into());
            }
        }
        Ok(blk)
    }

    /// Stores the checksum of leaf `pblk` (changed by this transaction).
    pub(crate) fn seal_leaf(&mut self, dir: &Inode, pblk: BlockNo) -> Result<()> {
        self.seal_leaf_as(dir, pblk, false)
    }

    /// [`seal_leaf`](Self::seal_leaf) of a leaf whose records are known
    /// good (`entries`: this transaction's copy was checked whole, as
    /// read_leaf does, and changed since only by an insertion or removal
    /// of a checked name): its committed copy is then remembered as
    /// checked whole, and the next search in it walks only to the name.
    fn seal_leaf_as(&mut self, dir: &Inode, pblk: BlockNo, entries: bool) -> Result<()> {
        if self.csum() {
            let seed = self.fs().csum_seed();
            let blk = self.block_mut(pblk)?;
            if !dir::has_tail(blk) {
                dir::set_leaf_tail(blk);
            }
            dir::set_leaf_checksum(seed, dir.ino, dir.generation, blk);
            let owner = Owner {
                seed,
                ino: dir.ino,
                generation: dir.generation,
            };
            self.note_sealed_leaf(pblk, owner, entries);
        }
        Ok(())
    }

    /// Appends a block to `dir` as the kernel's ext4_append: the next
    /// logical block after i_size must be unmapped; it is mapped, given
    /// a zeroed image, and i_size grows by a block. Returns the logical
    /// and physical block.
    pub(crate) fn dir_append(&mut self, dir: &mut Inode) -> Result<(u32, BlockNo)> {
        let bs = self.block_size() as u64;
        let lblk = dir.size / bs;
        let end = (lblk + 1) * bs;
        // Without large_dir, a directory's size must fit in 32 bits
        // (e2fsck rejects i_size_high on directories).
        let max = if self.fs().has_largedir() {
            1u64 << 32 // logical block numbers are 32 bits
        } else {
            u32::MAX as u64 / bs
        };
        if lblk >= max {
            return Err(FsError::NoSpace);
        }
        if !matches!(self.map(dir, lblk)?.backing, Backing::Hole) {
            return Err(error::damaged(
                dir.ino,
                InodeDamage::DirBlockPastSize { lblk },
            ));
        }
        let runs = self.map_write(dir, lblk, 1)?;
        let pblk = match runs.first() {
            Some(r) if r.lblk == lblk => r.pblk,
            _ => {
                return Err(error::damaged(dir.ino, InodeDamage::NoBlockMapped));
            }
        };
        self.block_new(pblk);
        dir.size = end;
        Ok((lblk as u32, pblk))
    }

    /// Block and offset of ".." in `dir`'s first block, after checking
    /// that "." and ".." open it.
    fn first_block_dotdot(&self, dir: &Inode) -> Result<(BlockNo, usize)> {
        let pblk = self
            .dir_pblk(dir, 0)?
            .filter(|_| dir.size >= self.block_size() as u64)
            .ok_or_else(|| error::damaged(dir.ino, InodeDamage::NoFirstDirBlock))?;
        let blk = self.read_any_dir_block(dir, 0, pblk)?;
        let mut it = DirIter::new(&blk, blk.len(), self.max_inode(), true);
        let dot = it
            .next()
            .transpose()
            .map_err(|e| crate::fs::dir::read::in_dir(dir, 0, e))?;
        let dotdot = it
            .next()
            .transpose()
            .map_err(|e| crate::fs::dir::read::in_dir(dir, 0, e))?;
        match (dot, dotdot) {
            (Some(d), Some(dd)) if d.name == b"." && dd.name == b".." => Ok((pblk, dd.offset)),
            _ => Err(error::damaged(dir.ino, InodeDamage::NoDotDotdot)),
        }
    }

    /// ".." of `dir`.
    fn dotdot(&self, dir: &Inode) -> Result<InodeNo> {
        if dir.has_flag(flags::INLINE_DATA) {
            return Ok(InodeNo(super::read::inline_parent(dir)));
        }
        let (pblk, offset) = self.first_block_dotdot(dir)?;
        let blk = self.read_block(pblk)?;
        let e = Ext4DirEntry2::of(&blk[offset..]).expect("first_block_dotdot found it there");
        Ok(InodeNo(e.inode.get()))
    }

    /// Finds the live entry `name` (not "." or "..").
    pub(crate) fn dir_find(&self, dir: &Inode, name: &[u8]) -> Result<Option<(Place, u32)>> {
        let key = NameKey::new(self.fs(), dir, name);
        if dir.has_flag(flags::INLINE_DATA) {
            let mut hit = None;
            self.inline_scan(dir, |xattr, e| {
                if e.inode != 0 && key.matches(e.name) {
                    let offset = e.offset;
                    let place = if xattr {
                        Place::Xattr { offset }
                    } else {
                        Place::IBlock { offset }
                    };
                    hit = Some((place, e.inode));
                    return true;
                }
                false
            })?;
            return Ok(hit);
        }
        if self.fs().is_dx(dir) {
            let hit = self.dx_find(dir, &key)?;
            // The kernel's fallback for casefolded directories: a miss
            // through the index is searched for linearly.
            if hit.is_some() || !key.casefolded() {
                return Ok(hit);
            }
        }
        let mut hit = None;
        self.for_each_dir_block(dir, |tx, lblk, pblk| {
            if tx.fs().is_dx(dir) && (lblk == 0 || tx.is_index_block(pblk)?) {
                return Ok(false);
            }
            hit = tx
                .search_leaf(dir, lblk, pblk, &key)?
                .map(|(offset, ino)| (Place::Block { pblk, offset }, ino));
            Ok(hit.is_some())
        })?;
        Ok(hit)
    }

    /// Searches one leaf for `name`: its offset and inode.
    pub(crate) fn search_leaf(
        &self,
        dir: &Inode,
        lblk: u64,
        pblk: BlockNo,
        name: &NameKey<'_>,
    ) -> Result<Option<(usize, u32)>> {
        let (blk, walked) = self.read_leaf_finding(dir, lblk, pblk, Some(name))?;
        // Checking every record found it (or not) already: one walk.
        if let Some(hit) = walked {
            return Ok(hit);
        }
        // Remembered as checked whole: its records need no checks again.
        let usable = self.leaf_usable();
        Ok(name
            .find_checked(&blk[..usable], blk.len())
            .map(|e| (e.offset, e.inode)))
    }

    /// Inserts into leaf `pblk` if it has room (the kernel's
    /// add_dirent_to_buf); false when it is full.
    pub(crate) fn leaf_insert(
        &mut self,
        dir: &Inode,
        lblk: u64,
        pblk: BlockNo,
        name: &[u8],
        ino: u32,
        ft: u8,
    ) -> Result<bool> {
        let usable = self.leaf_usable();
        let mut copy = self.read_leaf(dir, lblk, pblk)?.to_vec();
        if !edit(
            dir,
            lblk,
            dir::insert_entry(&mut copy, usable, ino, name, ft),
        )? {
            return Ok(false);
        }
        self.block_mut(pblk)?.copy_from_slice(&copy);
        self.seal_leaf(dir, pblk)?;
        Ok(true)
    }

    /// ext4_add_entry for a directory without an index.
    fn linear_add(&mut self, dir: &mut Inode, name: &[u8], ino: u32, ft: u8) -> Result<()> {
        let bs = self.block_size() as u64;
        let nblocks = dir.size / bs;
        for lblk in 0..nblocks {
            let Some(pblk) = self.dir_pblk(dir, lblk)? else {
                // A hole inside the directory: the kernel puts a new
                // block there.
                let runs = self.map_write(dir, lblk, 1)?;
                let pblk = runs
                    .first()
                    .ok_or_else(|| error::damaged(dir.ino, InodeDamage::NoBlockForHole))?
                    .pblk;
                return self.new_leaf_with(dir, lblk, pblk, name, ino, ft);
            };
            if self.leaf_insert(dir, lblk, pblk, name, ino, ft)? {
                return Ok(());
            }
            if nblocks == 1 && self.fs().has_dir_index() {
                return self.make_indexed_dir(dir, pblk, name, ino, ft);
            }
        }
        let (lblk, pblk) = self.dir_append(dir)?;
        self.new_leaf_with(dir, lblk as u64, pblk, name, ino, ft)
    }

    /// Formats `pblk` as an empty leaf holding only the new entry.
    fn new_leaf_with(
        &mut self,
        dir: &Inode,
        lblk: u64,
        pblk: BlockNo,
        name: &[u8],
        ino: u32,
        ft: u8,
    ) -> Result<()> {
        let (csum, usable) = (self.csum(), self.leaf_usable());
        let blk = self.block_new(pblk);
        dir::init_leaf(blk, csum);
        if !edit(dir, lblk, dir::insert_entry(blk, usable, ino, name, ft))? {
            return Err(FsError::NameTooLong);
        }
        self.seal_leaf(dir, pblk)
    }

    /// The name of the live entry at `place` (as stored: in a casefolded
    /// directory it may differ in case from the name looked up).
    fn stored_name(&self, dir: &Inode, place: Place) -> Result<Vec<u8>> {
        let name_at = |region: &[u8], offset: usize| -> Result<Vec<u8>> {
            let len = region
                .get(offset..)
                .and_then(Ext4DirEntry2::of)
                .ok_or_else(|| error::damaged(dir.ino, InodeDamage::EntryPastRegion))?
                .name_len as usize;
            let name = offset + Ext4DirEntry2::NAME_OFFSET;
            region
                .get(name..name + len)
                .map(<[u8]>::to_vec)
                .ok_or_else(|| error::damaged(dir.ino, InodeDamage::EntryNamePastRegion))
        };
        match place {
            Place::Block { pblk, offset } => name_at(&self.read_block(pblk)?, offset),
            Place::IBlock { offset } => name_at(&dir.block[INLINE_DOTDOT..], offset),
            Place::Xattr { offset } => name_at(&inline_value(dir)?, offset),
        }
    }

    /// Whether block `pblk` of an indexed directory is an interior index
    /// node (skipped by a linear search).
    fn is_index_block(&self, pblk: BlockNo) -> Result<bool> {
        Ok(htree::looks_like_node(&self.read_block(pblk)?))
    }

    // ---- inline directories ----

    /// Calls `f(in_xattr, entry)` for every record of an inline
    /// directory (i_block after the parent, then the system.data value)
    /// until it returns true; records are checked as the kernel does.
    fn inline_scan(
        &self,
        dir: &Inode,
        mut f: impl FnMut(bool, dir::DirEntryRef<'_>) -> bool,
    ) -> Result<()> {
        let value = inline_value(dir)?;
        let regions: [(bool, &[u8]); 2] = [(false, &dir.block[INLINE_DOTDOT..]), (true, &value)];
        let bs = self.block_size();
        for (in_xattr, region) in regions {
            for e in DirIter::new(region, bs, self.max_inode(), true) {
                let e = e.map_err(|e| crate::fs::dir::read::in_dir(dir, 0, e))?;
                if f(in_xattr, e) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// ext4_try_add_inline_entry: the entry goes into i_block, else into
    /// the system.data value (an empty one first grows to all the room
    /// the inode has, once, as ext4_update_inline_dir), else the
    /// directory becomes a block directory (false: the caller adds the
    /// entry to it).
    fn inline_add(&mut self, dir: &mut Inode, name: &[u8], ino: u32, ft: u8) -> Result<bool> {
        // Validate both regions (and the inode numbers) first.
        self.inline_scan(dir, |_, _| false)?;
        let mut area = dir.block[INLINE_DOTDOT..].to_vec();
        let len = area.len();
        if edit(dir, 0, dir::insert_entry(&mut area, len, ino, name, ft))? {
            dir.block[INLINE_DOTDOT..].copy_from_slice(&area);
            return Ok(true);
        }
        if inline_value(dir)?.is_empty() {
            self.grow_inline_dir(dir)?;
        }
        if !inline_value(dir)?.is_empty() {
            let d = dir.ino;
            let added = self.edit_inline_value(dir, |v| {
                let len = v.len();
                edit_at(d, dir::insert_entry(v, len, ino, name, ft))
            })?;
            if added {
                return Ok(true);
            }
        }
        self.inline_to_block(dir)?;
        Ok(false)
    }

    /// Changes the system.data value of `dir` in place (same length);
    /// the entry's hash is cleared, as the kernel leaves in-inode
    /// entries' e_hash zero.
    fn edit_inline_value<T>(
        &self,
        dir: &mut Inode,
        f: impl FnOnce(&mut [u8]) -> Result<T>,
    ) -> Result<T> {
        let mut attrs = IbodyAttrs::parse(&dir.ibody_xattrs)?;
        let Some(value) = attrs.data_mut() else {
            return Err(error::damaged(dir.ino, InodeDamage::InlineDirWithoutData));
        };
        let r = f(value)?;
        dir.ibody_xattrs = attrs.build(dir.ino, dir.ibody_xattrs.len())?;
        Ok(r)
    }

    /// ext4_convert_inline_data_nolock for a directory: one block with
    /// ".", "..", the i_block entries and the system.data entries, the
    /// last record reaching the block's end; system.data is removed, the
    /// inode becomes extent-mapped (when the filesystem has extents) and
    /// one block long.
    fn inline_to_block(&mut self, dir: &mut Inode) -> Result<()> {
        let (bs, usable, csum) = (self.block_size(), self.leaf_usable(), self.csum());
        let value = inline_value(dir)?;
        let parent = super::read::inline_parent(dir);
        let ft = if self.fs().has_filetype() {
            dir::ft::DIR
        } else {
            0
        };
        let mut blk = vec![0u8; bs];
        let area = &dir.block[INLINE_DOTDOT..];
        // "." and ".." in the smallest records, then the inline entries.
        let (dot_len, dotdot_len) = (dir::rec_len_for(1), dir::rec_len_for(2));
        let start = dot_len + dotdot_len;
        let old_end = start + area.len() + value.len();
        if old_end > usable {
            return Err(error::damaged(dir.ino, InodeDamage::InlineDataTooLarge));
        }
        dir::write_entry(&mut blk, 0, dir.ino.0, dot_len, b".", ft);
        dir::write_entry(&mut blk, dot_len, parent, dotdot_len, b"..", ft);
        blk[start..start + area.len()].copy_from_slice(area);
        blk[start + area.len()..old_end].copy_from_slice(&value);
        dir::extend_last_entry(&mut blk, old_end, usable)?;
        if csum {
            dir::set_leaf_tail(&mut blk);
        }

        let mut attrs = IbodyAttrs::parse(&dir.ibody_xattrs)?;
        if attrs.remove_data() {
            dir.ibody_xattrs = attrs.build(dir.ino, dir.ibody_xattrs.len())?;
        }
        dir.flags &= !flags::INLINE_DATA;
        dir.block = [0; 60];
        dir.size = 0;
        if self.fs().superblock().has_incompat(incompat::EXTENTS) {
            dir.flags |= flags::EXTENTS;
            crate::fs::extent::write::init_extent_root(dir)?;
        }
        let (_, pblk) = self.dir_append(dir)?;
        self.block_mut(pblk)?.copy_from_slice(&blk);
        self.seal_leaf(dir, pblk)
    }
}

/// Turns the result of a leaf edit into an fs result.
fn edit(dir: &Inode, lblk: u64, r: std::result::Result<bool, EditError>) -> Result<bool> {
    r.map_err(|e| edit_error(dir, lblk, e))
}

/// The error a refused edit of leaf `lblk` of `dir` answers.
fn edit_error(dir: &Inode, lblk: u64, e: EditError) -> FsError {
    match e {
        EditError::Format(e) => crate::fs::dir::read::in_dir(dir, lblk, e),
        EditError::Exists => FsError::Exists,
        EditError::BadName => FsError::Invalid,
    }
}

/// As [`edit`], for an inline region (no block to name).
fn edit_at(ino: InodeNo, r: std::result::Result<bool, EditError>) -> Result<bool> {
    match r {
        Ok(b) => Ok(b),
        Err(EditError::Exists) => Err(FsError::Exists),
        Err(EditError::BadName) => Err(FsError::Invalid),
        Err(EditError::Format(FormatError::Corrupt(kind))) => {
            Err(FormatError::Corrupt(CorruptKind::InInlineDir {
                ino: ino.0,
                inner: Box::new(kind),
            })
            .into())
        }
        Err(EditError::Format(e)) => Err(e.into()),
    }
}

fn check_name(name: &[u8]) -> Result<()> {
    if name.len() > dir::NAME_MAX {
        return Err(FsError::NameTooLong);
    }
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') {
        return Err(FsError::Invalid);
    }
    Ok(())
}

/// The system.data value of an inline directory (empty when absent).
fn inline_value(dir: &Inode) -> Result<Vec<u8>> {
    Ok(xattr::parse_ibody(&dir.ibody_xattrs)?
        .into_iter()
        .find(is_data)
        .map(|e| e.value)
        .unwrap_or_default())
}

/// An in-inode xattr area as the format layer parses and builds it, each
/// value with its layout rank: rebuilt, the values stay packed at the
/// area's end in their order, which is where the kernel's
/// ext4_xattr_set_entry leaves them after a same-size change or a
/// removal (the values below a removed one move up over it). Entries'
/// e_hash are written 0, as the kernel leaves them in the inode body.
struct IbodyAttrs {
    entries: Vec<XattrEntry>,
    rank: Vec<u32>,
}

impl IbodyAttrs {
    fn parse(ibody: &[u8]) -> Result<IbodyAttrs> {
        let placed = xattr::parse_ibody_placed(ibody)?;
        Ok(IbodyAttrs {
            rank: placed.iter().map(|p| p.value_offs as u32).collect(),
            entries: placed.into_iter().map(|p| p.entry).collect(),
        })
    }

    /// The system.data value, to change in place (same length).
    fn data_mut(&mut self) -> Option<&mut Vec<u8>> {
        self.entries
            .iter_mut()
            .find(|e| is_data(e))
            .map(|e| &mut e.value)
    }

    /// Removes system.data; false when there was none.
    fn remove_data(&mut self) -> bool {
        let Some(i) = self.entries.iter().position(is_data) else {
            return false;
        };
        self.entries.remove(i);
        self.rank.remove(i);
        true
    }

    /// The area of `len` bytes holding the entries (all zero, without the
    /// magic, when none is left).
    fn build(&self, ino: InodeNo, len: usize) -> Result<Vec<u8>> {
        xattr::build_ibody(&self.entries, &self.rank, len)
            .ok_or_else(|| error::damaged(ino, InodeDamage::IbodyNotRebuildable))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext4::xattr::INDEX_SYSTEM;

    /// An xattr area with `user.a` = "xyz" and `system.data` = `data`,
    /// values packed from the end as the kernel stores them.
    fn area(data: &[u8], data_first: bool) -> Vec<u8> {
        let mut a = vec![0u8; 100];
        a[..4].copy_from_slice(&xattr::XATTR_MAGIC.to_le_bytes());
        let mut top = 100 - 4; // value offsets count from byte 4
        let mut off = 4;
        let mut put = |a: &mut Vec<u8>, index: u8, name: &[u8], value: &[u8]| {
            let vo = if value.is_empty() {
                0
            } else {
                top -= xattr::value_len(value.len());
                a[4 + top..4 + top + value.len()].copy_from_slice(value);
                top
            };
            a[off] = name.len() as u8;
            a[off + 1] = index;
            a[off + 2..off + 4].copy_from_slice(&(vo as u16).to_le_bytes());
            a[off + 8..off + 12].copy_from_slice(&(value.len() as u32).to_le_bytes());
            a[off + 12..off + 16].copy_from_slice(&0x1234u32.to_le_bytes());
            a[off + 16..off + 16 + name.len()].copy_from_slice(name);
            off += xattr::entry_len(name.len());
        };
        if data_first {
            put(&mut a, INDEX_SYSTEM, b"data", data);
            put(&mut a, 1, b"a", b"xyz");
        } else {
            put(&mut a, 1, b"a", b"xyz");
            put(&mut a, INDEX_SYSTEM, b"data", data);
        }
        a
    }

    #[test]
    fn removing_system_data_keeps_other_attributes() {
        for data_first in [true, false] {
            for data in [&b""[..], b"0123456789"] {
                let a = area(data, data_first);
                assert_eq!(inline_value_of(&a), data);
                let a = without_data(&a);
                let left = xattr::parse_ibody(&a).unwrap();
                assert_eq!(left.len(), 1, "{data_first} {data:?}");
                assert_eq!(left[0].name, b"a");
                assert_eq!(left[0].value, b"xyz");
                assert!(!left.iter().any(is_data));
            }
        }
    }

    #[test]
    fn removing_the_only_attribute_clears_the_magic() {
        let mut a = vec![0u8; 64];
        a[..4].copy_from_slice(&xattr::XATTR_MAGIC.to_le_bytes());
        a[4] = 4;
        a[5] = INDEX_SYSTEM;
        a[20..24].copy_from_slice(b"data");
        assert!(without_data(&a).iter().all(|&b| b == 0));
    }

    #[test]
    fn a_remembered_leaf_is_trusted_only_in_its_own_copy() {
        let (_dir, fs) = crate::fs::inode::tests::fresh(true);
        let root = fs.inode(InodeNo::ROOT).unwrap();
        let tx = fs.begin().unwrap();
        assert!(tx.dir_lookup(&root, b"lost+found").unwrap().is_some());
        // Remembered: the same copy answers again.
        assert!(tx.dir_lookup(&root, b"lost+found").unwrap().is_some());
        // A new copy of the leaf with a broken record (its checksum made
        // good again) is walked again, and refused.
        let pblk = tx.dir_pblk(&root, 0).unwrap().unwrap();
        let mut bad = fs.block(pblk).unwrap().to_vec();
        let usable = tx.leaf_usable();
        let at = DirIter::new(&bad[..usable], bad.len(), u32::MAX, true)
            .flatten()
            .find(|e| e.name == b"lost+found")
            .unwrap()
            .offset;
        bad[at + 4..at + 6].copy_from_slice(&5u16.to_le_bytes());
        dir::set_leaf_checksum(fs.csum_seed(), root.ino, root.generation, &mut bad);
        fs.cache.put(pblk, bad.into());
        assert!(tx.dir_lookup(&root, b"lost+found").is_err());
    }

    #[test]
    fn a_committed_leaf_is_remembered_only_if_untouched_since_its_checksum() {
        let (_dir, fs) = crate::fs::inode::tests::fresh(true);
        let root = fs.inode(InodeNo::ROOT).unwrap();
        let owner = Owner {
            seed: fs.csum_seed(),
            ino: root.ino,
            generation: root.generation,
        };
        for touched_after in [false, true] {
            let mut tx = fs.begin().unwrap();
            let pblk = tx.dir_pblk(&root, 0).unwrap().unwrap();
            tx.seal_leaf(&root, pblk).unwrap();
            if touched_after {
                // Any mutable use after the checksum may change the bytes.
                tx.block_mut(pblk).unwrap();
            }
            tx.commit().unwrap();
            let now = fs.block(pblk).unwrap();
            assert_eq!(
                verified::remembered(Kind::DirLeaf, owner, &now),
                !touched_after
            );
        }
    }

    /// A planned add writes the bytes dir_add writes, in a one-block
    /// linear directory and in an indexed one, refuses a present name,
    /// and its committed leaf is remembered as checked whole.
    #[test]
    fn a_planned_add_writes_what_dir_add_writes_and_refuses_a_present_name() {
        use crate::fs::create::NewNode;
        let (_dir, fs) = crate::fs::inode::tests::fresh(true);
        let node = |mode| NewNode {
            mode,
            uid: 0,
            gid: 0,
            umask: 0,
            rdev: 0,
        };
        let big = fs
            .make_node(InodeNo::ROOT, b"big", &node(0o040755))
            .unwrap();
        // Just past one block: two leaves, each with room for the names below.
        for i in 0..260 {
            let name = format!("entry-{i}");
            fs.make_node(big.ino, name.as_bytes(), &node(0o100644))
                .unwrap();
        }
        let big = fs.inode(big.ino).unwrap();
        assert!(fs.is_dx(&big), "260 entries index the directory");
        let root = fs.inode(InodeNo::ROOT).unwrap();
        let long = [b'x'; 255];
        for (d, present) in [(&root, &b"lost+found"[..]), (&big, b"entry-123")] {
            for name in [&b"a"[..], b"a-longer-name", &long] {
                let mut planned_dir = d.clone();
                let mut tx = fs.begin().unwrap();
                let plan = tx.dir_plan_add(&planned_dir, name).unwrap();
                let pblk = match &plan.0 {
                    Some(p) => p.pblk,
                    None => panic!("no slot planned in {} for {} bytes", d.ino, name.len()),
                };
                tx.dir_add_planned(&mut planned_dir, name, InodeNo(11), dir::ft::REG, plan)
                    .unwrap();
                let planned = tx.read_block(pblk).unwrap().to_vec();
                let mut plain_dir = d.clone();
                let mut plain = fs.begin().unwrap();
                plain
                    .dir_add(&mut plain_dir, name, InodeNo(11), dir::ft::REG)
                    .unwrap();
                assert_eq!(planned, plain.read_block(pblk).unwrap().to_vec());
                assert_eq!(
                    (planned_dir.size, planned_dir.flags),
                    (plain_dir.size, plain_dir.flags)
                );
                drop(plain);
                tx.put_inode(planned_dir);
                tx.commit().unwrap();
                let owner = Owner {
                    seed: fs.csum_seed(),
                    ino: d.ino,
                    generation: d.generation,
                };
                let now = fs.block(pblk).unwrap();
                assert!(verified::remembered(Kind::DirLeafEntries, owner, &now));
                // Added once: a second plan refuses it.
                let dir_now = fs.inode(d.ino).unwrap();
                let tx = fs.begin().unwrap();
                assert!(matches!(
                    tx.dir_plan_add(&dir_now, name),
                    Err(FsError::Exists)
                ));
            }
            let tx = fs.begin().unwrap();
            assert!(matches!(tx.dir_plan_add(d, present), Err(FsError::Exists)));
        }
    }

    fn inline_value_of(a: &[u8]) -> Vec<u8> {
        let mut attrs = IbodyAttrs::parse(a).unwrap();
        attrs.data_mut().unwrap().clone()
    }

    fn without_data(a: &[u8]) -> Vec<u8> {
        let mut attrs = IbodyAttrs::parse(a).unwrap();
        assert!(attrs.remove_data());
        attrs.build(InodeNo(12), a.len()).unwrap()
    }
}
