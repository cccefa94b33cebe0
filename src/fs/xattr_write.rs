//! Setting and removing extended attributes: in the inode first, then an
//! external block; shared blocks copied on write with refcounts; ACL
//! inheritance for new inodes.
//!
//! INTERIM: signatures only, until the implementation lands.

use super::transaction::Transaction;
use super::{FsError, Result};
use crate::ext4::inode::Inode;

/// XATTR_CREATE / XATTR_REPLACE semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetMode {
    /// Create or replace.
    Any,
    /// Fail with EEXIST when the attribute exists.
    Create,
    /// Fail with ENODATA when it does not.
    Replace,
}

impl Transaction<'_> {
    /// Sets attribute `name` (full name with its namespace prefix, as the
    /// VFS passes it) of the locked `inode`; updates `inode` (caller puts
    /// it and sets ctime).
    pub fn set_xattr(
        &mut self,
        _inode: &mut Inode,
        _name: &[u8],
        _value: &[u8],
        _how: SetMode,
    ) -> Result<()> {
        Err(FsError::Unsupported)
    }

    /// Removes attribute `name` (NoAttr when absent).
    pub fn remove_xattr(&mut self, _inode: &mut Inode, _name: &[u8]) -> Result<()> {
        Err(FsError::Unsupported)
    }

    /// Releases the inode's external xattr block (refcount, freeing it at
    /// zero): the inode is being freed.
    pub fn drop_xattr_block(&mut self, _inode: &mut Inode) -> Result<()> {
        Ok(())
    }

    /// Applies POSIX ACL inheritance to the new `child` of `dir`
    /// (posix_acl_create): with a default ACL on `dir`, the child's mode is
    /// masked by it and it gets an access ACL (directories also inherit
    /// the default ACL); without one the umask applies.
    pub fn init_acl(&mut self, _dir: &Inode, child: &mut Inode, umask: u32) -> Result<()> {
        child.mode &= !(umask as u16 & 0o777);
        Ok(())
    }
}
