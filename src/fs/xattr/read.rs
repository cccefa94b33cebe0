//! Extended attributes of an inode: the in-inode area, then the external
//! block, as the kernel lists them.

use crate::ext4::BlockNo;
use crate::ext4::RangeUse;
use crate::ext4::inode::Inode;
use crate::ext4::xattr::{self, XattrEntry};
use crate::ext4::{ChecksumOf, FormatError};
use crate::fs::{Fs, FsError, Result};

/// xattr name index of the "system." namespace (holds system.data).
const INDEX_SYSTEM: u8 = 7;

impl Fs {
    /// `inode`'s xattr block (`file_acl`, not 0) as `read` reads it (from
    /// the cache, or through a transaction), once its number is in range
    /// and, with metadata_csum, its checksum right: both before any parse,
    /// for the readers and the writers alike.
    pub(super) fn xattr_block<B: std::ops::Deref<Target = [u8]>>(
        &self,
        inode: &Inode,
        read: impl FnOnce(BlockNo) -> Result<B>,
    ) -> Result<B> {
        let b = BlockNo(inode.file_acl);
        self.check_range(b, 1, RangeUse::XattrBlock { ino: inode.ino })?;
        let block = read(b)?;
        if self.superblock().metadata_csum()
            && !xattr::verify_block_checksum(self.csum_seed(), b.0, &block)
        {
            return Err(FormatError::BadChecksum {
                what: ChecksumOf::XattrBlock {
                    block: b,
                    ino: inode.ino,
                },
            }
            .into());
        }
        Ok(block)
    }

    /// All xattr entries of `inode`: in-inode ones first, then the block's.
    pub fn xattr_entries(&self, inode: &Inode) -> Result<Vec<XattrEntry>> {
        let mut all = if inode.ibody_xattrs.is_empty() {
            Vec::new()
        } else {
            xattr::parse_ibody(&inode.ibody_xattrs).map_err(|e| in_inode(inode, e))?
        };
        if inode.file_acl != 0 {
            let block = self.xattr_block(inode, |b| self.block(b))?;
            let (_, entries) = xattr::parse_block(&block).map_err(|e| in_inode(inode, e))?;
            all.extend(entries);
        }
        Ok(all)
    }

    /// The value of the xattr the VFS calls `name` (read from its EA
    /// inode when it lives in one).
    pub fn getxattr(&self, inode: &Inode, name: &[u8]) -> Result<Vec<u8>> {
        for mut e in self.xattr_entries(inode)? {
            if e.vfs_name().as_deref() == Some(name) {
                if let Some(v) = e.value_inode {
                    e.value = self.ea_inode_value(inode, &e, &v)?;
                    e.value_inode = None;
                }
                return Ok(e.vfs_value()?);
            }
        }
        Err(FsError::NoAttr)
    }

    /// The names the VFS lists, each NUL-terminated.
    pub fn listxattr(&self, inode: &Inode) -> Result<Vec<Vec<u8>>> {
        Ok(self
            .xattr_entries(inode)?
            .iter()
            .filter_map(|e| e.vfs_name())
            .collect())
    }

    /// The system.data value of an inline-data inode (may be empty).
    pub(crate) fn inline_xattr(&self, inode: &Inode) -> Result<Vec<u8>> {
        let entries = xattr::parse_ibody(&inode.ibody_xattrs).map_err(|e| in_inode(inode, e))?;
        Ok(entries
            .into_iter()
            .find(|e| e.index == INDEX_SYSTEM && e.name == b"data")
            .map(|e| e.value)
            .unwrap_or_default())
    }
}

/// Names the inode in a parse error so the log line points at it.
pub(crate) fn in_inode(inode: &Inode, e: FormatError) -> FsError {
    match e {
        FormatError::Corrupt(kind) => FormatError::Corrupt(kind.in_inode(inode.ino.0)),
        other => other,
    }
    .into()
}
