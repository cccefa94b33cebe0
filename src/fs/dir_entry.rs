//! Adding, removing and repointing directory entries (linear leaves, the
//! htree via htree.rs, inline directories), and new directories' first
//! block.
//!
//! INTERIM: signatures only, until the implementation lands.

use super::transaction::Transaction;
use super::{FsError, Result};
use crate::ext4::InodeNo;
use crate::ext4::inode::Inode;

impl Transaction<'_> {
    /// Adds `name` → `ino` (file type code `ftype`, ext4::dir::ft) to the
    /// locked directory `dir`. The caller has checked that the name is
    /// absent. Grows, splits or indexes the directory as the kernel does;
    /// updates `dir`'s size, i_blocks and flags (not its times).
    pub fn dir_add(
        &mut self,
        _dir: &mut Inode,
        _name: &[u8],
        _ino: InodeNo,
        _ftype: u8,
    ) -> Result<()> {
        Err(FsError::Unsupported)
    }

    /// Removes entry `name` from `dir`; returns the inode it named
    /// (NotFound when absent).
    pub fn dir_remove(&mut self, _dir: &mut Inode, _name: &[u8]) -> Result<InodeNo> {
        Err(FsError::Unsupported)
    }

    /// Points the existing entry `name` at `ino`/`ftype`; returns the inode
    /// it named before (NotFound when absent).
    pub fn dir_replace(
        &mut self,
        _dir: &mut Inode,
        _name: &[u8],
        _ino: InodeNo,
        _ftype: u8,
    ) -> Result<InodeNo> {
        Err(FsError::Unsupported)
    }

    /// Looks `name` up in `dir` as this transaction sees it.
    pub fn dir_lookup(&self, _dir: &Inode, _name: &[u8]) -> Result<Option<InodeNo>> {
        Err(FsError::Unsupported)
    }

    /// Gives the new directory `dir` its first block holding "." and
    /// "..", and sets its size.
    pub fn dir_init(&mut self, _dir: &mut Inode, _parent: InodeNo) -> Result<()> {
        Err(FsError::Unsupported)
    }

    /// Points `dir`'s ".." at `parent` (a directory moved elsewhere).
    pub fn dir_set_dotdot(&mut self, _dir: &mut Inode, _parent: InodeNo) -> Result<()> {
        Err(FsError::Unsupported)
    }

    /// Whether `dir` holds nothing but "." and "..".
    pub fn dir_is_empty(&self, _dir: &Inode) -> Result<bool> {
        Err(FsError::Unsupported)
    }
}
