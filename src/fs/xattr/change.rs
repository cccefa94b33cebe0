//! setxattr / removexattr as whole operations: inode lock, transaction,
//! ctime.

use crate::ext4::inode::Inode;
use crate::fs::create::now;
use crate::fs::xattr::write::SetMode;
use crate::fs::{Fs, InodeRef, Result};

impl Fs {
    /// Sets attribute `name` of `ino`; returns the inode after the change.
    /// `kill_sgid` (FUSE_SETXATTR_ACL_KILL_SGID: an ACL set by a caller
    /// outside the file's group) also clears setgid.
    pub fn setxattr(
        &self,
        node: impl Into<InodeRef>,
        name: &[u8],
        value: &[u8],
        how: SetMode,
        kill_sgid: bool,
    ) -> Result<Inode> {
        let node = node.into();
        let _locks = self.inode_locks.lock(&[node.ino]);
        let mut tx = self.begin()?;
        let mut inode = tx.live_inode(node)?;
        crate::fs::attr_flags::may_change(&inode)?;
        tx.set_xattr(&mut inode, name, value, how)?;
        if kill_sgid {
            inode.mode &= !0o2000;
        }
        inode.ctime = now();
        tx.put_inode(inode.clone());
        tx.commit()?;
        Ok(inode)
    }

    /// Removes attribute `name` of `ino` (NoAttr when absent).
    pub fn removexattr(&self, node: impl Into<InodeRef>, name: &[u8]) -> Result<()> {
        let node = node.into();
        let _locks = self.inode_locks.lock(&[node.ino]);
        let mut tx = self.begin()?;
        let mut inode = tx.live_inode(node)?;
        crate::fs::attr_flags::may_change(&inode)?;
        tx.remove_xattr(&mut inode, name)?;
        inode.ctime = now();
        tx.put_inode(inode);
        tx.commit()
    }
}
