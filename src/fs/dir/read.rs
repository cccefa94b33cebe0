//! Directory contents: iterating entries in on-disk order with stable
//! cookies, and the linear name search.
//!
//! Cookies are positions: for block directories the byte offset of the
//! next entry within the directory; for inline directories a virtual
//! position (0 ".", 1 "..", then 2 + offset in i_block, then 2 + 56 +
//! offset in the system.data area). A cookie never holds a pointer.

use crate::ext4::InodeDamage;
use crate::ext4::dir::{DirEntryRef, DirIter, TAIL_SIZE, stored_hashes, verify_leaf};
use crate::ext4::htree;
use crate::ext4::inode::{I_BLOCK_SIZE, Inode, flags};
use crate::ext4::layout::Ext4InlineDotdot;
use crate::ext4::{ChecksumOf, FormatError, InodeNo};
use crate::fs::dir::casefold::{EntryMatch, NameKey};
use crate::fs::extent::map::Backing;
use crate::fs::io::cache::Block;
use crate::fs::io::verified::{self, Kind, Owner, check_once};
use crate::fs::{Fs, FsError, Result};

/// Size of the entry area of an inline directory's i_block (after the
/// parent inode number).
const INLINE_DIR_AREA: usize = I_BLOCK_SIZE - Ext4InlineDotdot::SIZE;

/// Whether `dir` keeps each name's hash after it (`ext4_hash_in_dirent`):
/// encrypted and casefolded, where the hash is of the plaintext name
/// under a key, so a reader without the key can only take it as stored.
pub(crate) fn hash_in_dirent(dir: &Inode) -> bool {
    dir.has_flag(flags::ENCRYPT) && dir.has_flag(flags::CASEFOLD)
}

/// One directory entry handed to a readdir callback.
#[derive(Debug, Clone, Copy)]
pub struct DirEntryInfo<'a> {
    pub ino: u32,
    /// ext4 file type code (0 when the filesystem has none).
    pub file_type: u8,
    pub name: &'a [u8],
    /// Cookie resuming after this entry.
    pub next: u64,
    /// The (hash, minor hash) stored after the name in an encrypted and
    /// casefolded directory (`EXT4_DIRENT_HASHES`); None elsewhere and
    /// for "." and "..".
    pub stored_hash: Option<(u32, u32)>,
}

impl Fs {
    /// Whether `dir` is an htree directory the kernel would index.
    pub(crate) fn is_dx(&self, dir: &Inode) -> bool {
        self.has_dir_index() && dir.has_flag(flags::INDEX)
    }

    /// Reads and verifies one block of a directory; None for a hole.
    pub(crate) fn dir_block(
        &self,
        dir: &Inode,
        lblk: u64,
    ) -> Result<Option<crate::fs::io::cache::Block>> {
        let m = self.map_block(dir, lblk)?;
        let Backing::Data(p) = m.backing else {
            return Ok(None);
        };
        let block = self.block(p)?;
        if self.superblock().metadata_csum() {
            let dx_node = self.is_dx(dir) && (lblk == 0 || htree::looks_like_node(&block));
            let ok = if dx_node {
                self.verify_dx_block(dir, lblk, &block)?
            } else {
                self.leaf_checksum_ok(dir, &block)
            };
            if !ok {
                return Err(FormatError::BadChecksum {
                    what: ChecksumOf::DirBlock { dir: dir.ino, lblk },
                }
                .into());
            }
        }
        Ok(Some(block))
    }

    /// Whether cached leaf `block` of `dir` has a good checksum (checked
    /// once per cached copy: see [`crate::fs::io::verified`]).
    pub(crate) fn leaf_checksum_ok(
        &self,
        dir: &Inode,
        block: &crate::fs::io::cache::Block,
    ) -> bool {
        let owner = Owner {
            seed: self.csum_seed(),
            ino: dir.ino,
            generation: dir.generation,
        };
        check_once(Kind::DirLeaf, owner, block, |b| {
            verify_leaf(owner.seed, dir.ino, dir.generation, b)
        })
    }

    /// Checks the dx_tail checksum of an index block.
    fn verify_dx_block(&self, dir: &Inode, lblk: u64, block: &[u8]) -> Result<bool> {
        let node = if lblk == 0 {
            htree::parse_root(block, true, dir.ino)?.1
        } else {
            htree::parse_node(block, true, dir.ino, lblk)?
        };
        Ok(node.verify_checksum(self.csum_seed(), dir.ino, dir.generation, block))
    }

    /// Calls `f` for each entry from `cookie` on, until it returns false
    /// or the directory ends. Empty slots are skipped. Names in an
    /// encrypted directory are the ones shown without the key
    /// (src/fs/crypt.rs).
    pub fn readdir(
        &self,
        dir: &Inode,
        cookie: u64,
        f: impl FnMut(DirEntryInfo<'_>) -> bool,
    ) -> Result<()> {
        if dir.is_dir() && dir.has_flag(flags::ENCRYPT) {
            return self.readdir_nokey(dir, cookie, f);
        }
        self.readdir_raw(dir, cookie, f)
    }

    /// [`readdir`](Self::readdir) with the names as stored.
    pub(crate) fn readdir_raw(
        &self,
        dir: &Inode,
        cookie: u64,
        mut f: impl FnMut(DirEntryInfo<'_>) -> bool,
    ) -> Result<()> {
        if !dir.is_dir() {
            return Err(FsError::NotDir);
        }
        if dir.has_flag(flags::INLINE_DATA) {
            return self.readdir_inline(dir, cookie, f);
        }
        let bs = self.block_size() as u64;
        self.for_each_leaf(dir, cookie / bs, |lblk, block| {
            self.emit_entries(dir, block, lblk, lblk * bs, cookie, &mut f)
        })
    }

    /// Calls `f` with each leaf block of the block directory `dir` from
    /// logical block `lblk` on (holes and index nodes skipped), until it
    /// returns false or the directory ends.
    fn for_each_leaf(
        &self,
        dir: &Inode,
        mut lblk: u64,
        mut f: impl FnMut(u64, &Block) -> Result<bool>,
    ) -> Result<()> {
        let nblocks = dir.size.div_ceil(self.block_size() as u64);
        while lblk < nblocks {
            let Some(block) = self.dir_block(dir, lblk)? else {
                // A hole: skip all of it (a hostile i_size may be huge).
                lblk += self.map_block(dir, lblk)?.len.max(1);
                continue;
            };
            if self.is_dx(dir) && lblk != 0 && htree::looks_like_node(&block) {
                lblk += 1;
                continue;
            }
            if !f(lblk, &block)? {
                return Ok(());
            }
            lblk += 1;
        }
        Ok(())
    }

    /// Searches leaf `block` (logical block `lblk` of `dir`, as
    /// [`dir_block`](Self::dir_block) gave it) for `key`: the inode and
    /// file type code of the first live entry of that name.
    ///
    /// A copy whose records were all found good before, here or by the
    /// write side (`Kind::DirLeafEntries`), is searched without checking
    /// them again: a lookup of a name not there (every create's first
    /// request) walked every record through `DirIter`'s checks, on a leaf
    /// the create before had just sealed as checked. A copy not seen yet
    /// is checked here as the write side's `read_leaf` checks it (every
    /// record before the tail, and the leaf checksum), in the walk that
    /// searches it, and remembered so.
    pub(crate) fn search_leaf_block(
        &self,
        dir: &Inode,
        lblk: u64,
        block: &Block,
        key: &impl EntryMatch,
    ) -> Result<Option<(u32, u8)>> {
        let bs = self.block_size() as usize;
        let csum = self.superblock().metadata_csum();
        let usable = bs - if csum { TAIL_SIZE } else { 0 };
        let filetype = self.has_filetype();
        let hit = |e: DirEntryRef<'_>| (e.inode, if filetype { e.file_type } else { 0 });
        let owner = Owner {
            seed: self.csum_seed(),
            ino: dir.ino,
            generation: dir.generation,
        };
        if verified::remembered(Kind::DirLeafEntries, owner, block) {
            return Ok(key.find_checked(&block[..usable], bs).map(hit));
        }
        let max_inode = self.superblock().inodes_count;
        let mut found = None;
        let mut whole = true;
        for e in DirIter::new(&block[..usable], bs, max_inode, true) {
            let Ok(e) = e else {
                whole = false;
                break;
            };
            if found.is_none() && e.inode != 0 && key.matches(e.name) {
                found = Some(hit(e));
            }
        }
        // A leaf taken as an index node by dir_block had no leaf checksum
        // checked: it is not remembered.
        if whole && (!csum || self.leaf_checksum_ok(dir, block)) {
            verified::remember(Kind::DirLeafEntries, owner, block);
            return Ok(found);
        }
        // Damaged somewhere (or not a leaf the write side would take):
        // the search as it always was, up to the name or the damage.
        for e in DirIter::new(block, bs, max_inode, filetype) {
            let e = e.map_err(|e| in_dir(dir, lblk, e))?;
            if e.inode != 0 && key.matches(e.name) {
                return Ok(Some((e.inode, e.file_type)));
            }
        }
        Ok(None)
    }

    fn readdir_inline(
        &self,
        dir: &Inode,
        cookie: u64,
        mut f: impl FnMut(DirEntryInfo<'_>) -> bool,
    ) -> Result<()> {
        let ft_dir = crate::ext4::dir::ft::DIR;
        let parent = inline_parent(dir);
        if cookie == 0
            && !f(DirEntryInfo {
                ino: dir.ino.0,
                file_type: ft_dir,
                name: b".",
                next: 1,
                stored_hash: None,
            })
        {
            return Ok(());
        }
        if cookie <= 1
            && !f(DirEntryInfo {
                ino: parent,
                file_type: ft_dir,
                name: b"..",
                next: 2,
                stored_hash: None,
            })
        {
            return Ok(());
        }
        let tail = self.inline_xattr(dir)?;
        let regions: [(&[u8], u64); 2] = [
            (&dir.block[Ext4InlineDotdot::SIZE..], 2),
            (&tail, 2 + INLINE_DIR_AREA as u64),
        ];
        for (region, base) in regions {
            if !self.emit_entries(dir, region, 0, base, cookie, &mut f)? {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Hands the live entries of one region (a block, or an inline area)
    /// at or after `cookie` to `f`; `base` is the region's first position.
    /// Returns false once `f` asked to stop.
    fn emit_entries(
        &self,
        dir: &Inode,
        region: &[u8],
        lblk: u64,
        base: u64,
        cookie: u64,
        f: &mut impl FnMut(DirEntryInfo<'_>) -> bool,
    ) -> Result<bool> {
        let (bs, max_inode) = (self.block_size() as usize, self.superblock().inodes_count);
        let hashed = hash_in_dirent(dir);
        for e in DirIter::new(region, bs, max_inode, self.has_filetype()) {
            let e = e.map_err(|e| in_dir(dir, lblk, e))?;
            let pos = base + e.offset as u64;
            if pos < cookie || e.inode == 0 {
                continue;
            }
            let next = pos + e.rec_len as u64;
            // "." and ".." are made without hashes (ext4_init_dot_dotdot).
            let stored_hash = if hashed && e.name != b"." && e.name != b".." {
                Some(stored_hashes(region, &e).map_err(|e| in_dir(dir, lblk, e))?)
            } else {
                None
            };
            if !f(DirEntryInfo {
                ino: e.inode,
                file_type: e.file_type,
                name: e.name,
                next,
                stored_hash,
            }) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Searches every entry of `dir` for `name` (no index).
    pub(crate) fn lookup_linear(
        &self,
        dir: &Inode,
        name: &NameKey<'_>,
    ) -> Result<Option<(u32, u8)>> {
        let mut found = None;
        if dir.has_flag(flags::INLINE_DATA) {
            self.readdir_raw(dir, 0, |e| {
                if name.matches(e.name) {
                    found = Some((e.ino, e.file_type));
                    return false;
                }
                true
            })?;
            return Ok(found);
        }
        if !dir.is_dir() {
            return Err(FsError::NotDir);
        }
        self.for_each_leaf(dir, 0, |lblk, block| {
            found = self.search_leaf_block(dir, lblk, block, name)?;
            Ok(found.is_none())
        })?;
        Ok(found)
    }

    /// The parent directory's inode number, from "..".
    pub fn parent_of(&self, dir: &Inode) -> Result<InodeNo> {
        if !dir.is_dir() {
            return Err(FsError::NotDir);
        }
        if dir.has_flag(flags::INLINE_DATA) {
            return Ok(InodeNo(inline_parent(dir)));
        }
        let block = self
            .dir_block(dir, 0)?
            .ok_or_else(|| crate::fs::error::damaged(dir.ino, InodeDamage::NoFirstDirBlock))?;
        let bs = self.block_size() as usize;
        let mut it = DirIter::new(
            &block,
            bs,
            self.superblock().inodes_count,
            self.has_filetype(),
        );
        let dot = it.next().transpose().map_err(|e| in_dir(dir, 0, e))?;
        let dotdot = it.next().transpose().map_err(|e| in_dir(dir, 0, e))?;
        match (dot, dotdot) {
            (Some(d), Some(dd)) if d.name == b"." && dd.name == b".." => Ok(InodeNo(dd.inode)),
            _ => Err(crate::fs::error::damaged(dir.ino, InodeDamage::NoDotDotdot)),
        }
    }
}

/// The parent's inode number at the start of the inline directory
/// `dir`'s i_block.
pub(crate) fn inline_parent(dir: &Inode) -> u32 {
    Ext4InlineDotdot::of(&dir.block)
        .expect("i_block holds the parent")
        .inode
        .get()
}

/// Names the directory and block in an entry error.
pub(crate) fn in_dir(dir: &Inode, lblk: u64, e: FormatError) -> FsError {
    match e {
        FormatError::Corrupt(kind) => {
            FormatError::Corrupt(kind.in_dir_block(dir.ino.0, lblk)).into()
        }
        other => other.into(),
    }
}
