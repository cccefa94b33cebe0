//! Directory contents: iterating entries in on-disk order with stable
//! cookies, and the linear name search.
//!
//! Cookies are positions: for block directories the byte offset of the
//! next entry within the directory; for inline directories a virtual
//! position (0 ".", 1 "..", then 2 + offset in i_block, then 2 + 56 +
//! offset in the system.data area). A cookie never holds a pointer.

use super::extents::Backing;
use super::{Fs, FsError, Result};
use crate::ext4::dir::{DirIter, verify_leaf};
use crate::ext4::htree;
use crate::ext4::inode::{Inode, flags};
use crate::ext4::types::le32;
use crate::ext4::{FormatError, InodeNo};

/// Size of the entry area of an inline directory's i_block (after the
/// 4-byte parent inode number).
const INLINE_DIR_AREA: usize = 56;

/// One directory entry handed to a readdir callback.
#[derive(Debug, Clone, Copy)]
pub struct DirEntryInfo<'a> {
    pub ino: u32,
    /// ext4 file type code (0 when the filesystem has none).
    pub file_type: u8,
    pub name: &'a [u8],
    /// Cookie resuming after this entry.
    pub next: u64,
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
    ) -> Result<Option<crate::fs::cache::Block>> {
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
                verify_leaf(self.csum_seed(), dir.ino, dir.generation, &block)
            };
            if !ok {
                return Err(FormatError::BadChecksum {
                    what: format!("{} directory block {lblk}", dir.ino),
                }
                .into());
            }
        }
        Ok(Some(block))
    }

    /// Checks the dx_tail checksum of an index block.
    fn verify_dx_block(&self, dir: &Inode, lblk: u64, block: &[u8]) -> Result<bool> {
        let what = || format!("{} htree block {lblk}", dir.ino);
        let node = if lblk == 0 {
            htree::parse_root(block, true, &what)?.1
        } else {
            htree::parse_node(block, true, &what)?
        };
        Ok(node.verify_checksum(self.csum_seed(), dir.ino, dir.generation, block))
    }

    /// Calls `f` for each entry from `cookie` on, until it returns false
    /// or the directory ends. Empty slots are skipped.
    pub fn readdir(
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
        let nblocks = dir.size.div_ceil(bs);
        let max_inode = self.superblock().inodes_count;
        let mut lblk = cookie / bs;
        while lblk < nblocks {
            let Some(block) = self.dir_block(dir, lblk)? else {
                // Skip the whole hole, as the kernel's ext4_readdir does
                // (a hostile i_size must not mean one step per block).
                let m = self.map_block(dir, lblk)?;
                lblk = m.lblk.saturating_add(m.len).max(lblk + 1);
                continue;
            };
            if self.is_dx(dir) && lblk != 0 && htree::looks_like_node(&block) {
                lblk += 1;
                continue;
            }
            let base = lblk * bs;
            for e in DirIter::new(&block, bs as usize, max_inode, self.has_filetype()) {
                let e = e.map_err(|e| in_dir(dir, lblk, e))?;
                let pos = base + e.offset as u64;
                if pos < cookie || e.inode == 0 {
                    continue;
                }
                let info = DirEntryInfo {
                    ino: e.inode,
                    file_type: e.file_type,
                    name: e.name,
                    next: pos + e.rec_len as u64,
                };
                if !f(info) {
                    return Ok(());
                }
            }
            lblk += 1;
        }
        Ok(())
    }

    fn readdir_inline(
        &self,
        dir: &Inode,
        cookie: u64,
        mut f: impl FnMut(DirEntryInfo<'_>) -> bool,
    ) -> Result<()> {
        let ft_dir = crate::ext4::dir::ft::DIR;
        let parent = le32(&dir.block, 0);
        if cookie == 0
            && !f(DirEntryInfo {
                ino: dir.ino.0,
                file_type: ft_dir,
                name: b".",
                next: 1,
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
            })
        {
            return Ok(());
        }
        let tail = self.inline_xattr(dir)?;
        let regions: [(&[u8], u64); 2] =
            [(&dir.block[4..], 2), (&tail, 2 + INLINE_DIR_AREA as u64)];
        let max_inode = self.superblock().inodes_count;
        for (region, base) in regions {
            for e in DirIter::new(
                region,
                self.block_size() as usize,
                max_inode,
                self.has_filetype(),
            ) {
                let e = e.map_err(|e| in_dir(dir, 0, e))?;
                let pos = base + e.offset as u64;
                if pos < cookie || e.inode == 0 {
                    continue;
                }
                let info = DirEntryInfo {
                    ino: e.inode,
                    file_type: e.file_type,
                    name: e.name,
                    next: pos + e.rec_len as u64,
                };
                if !f(info) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Searches every entry of `dir` for `name` (no index).
    pub(crate) fn lookup_linear(&self, dir: &Inode, name: &[u8]) -> Result<Option<(u32, u8)>> {
        let mut found = None;
        self.readdir(dir, 0, |e| {
            if e.name == name {
                found = Some((e.ino, e.file_type));
                return false;
            }
            true
        })?;
        Ok(found)
    }

    /// The parent directory's inode number, from "..".
    pub fn parent_of(&self, dir: &Inode) -> Result<InodeNo> {
        if !dir.is_dir() {
            return Err(FsError::NotDir);
        }
        if dir.has_flag(flags::INLINE_DATA) {
            return Ok(InodeNo(le32(&dir.block, 0)));
        }
        let block = self.dir_block(dir, 0)?.ok_or_else(|| {
            super::error::corrupt(dir.ino.to_string(), "no first directory block")
        })?;
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
            _ => Err(super::error::corrupt(
                dir.ino.to_string(),
                "directory without . and ..",
            )),
        }
    }
}

/// Names the directory and block in an entry error.
pub(crate) fn in_dir(dir: &Inode, lblk: u64, e: FormatError) -> FsError {
    match e {
        FormatError::Corrupt { what, why } => FormatError::Corrupt {
            what: format!("{} block {lblk}: {what}", dir.ino),
            why,
        }
        .into(),
        other => other.into(),
    }
}
