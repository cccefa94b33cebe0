//! File attribute flags (chattr/lsattr: FS_IOC_GETFLAGS/SETFLAGS and
//! FS_IOC_FSGETXATTR/FSSETXATTR) with ext4's rules, and the limits the
//! immutable and append-only flags put on every other change.
//!
//! Under FUSE the kernel does not know an inode's flags (its inodes never
//! carry S_IMMUTABLE/S_APPEND), so every check the VFS makes on them for a
//! local filesystem is made here, with the kernel's errno (EPERM).

use super::create::now;
use super::permission::{Caller, cap};
use super::{Fs, FsError, InodeRef, Result};
use crate::ext4::inode::{Inode, flags, mode};
use crate::ext4::superblock::incompat;

/// EXT4_FL_USER_MODIFIABLE: what SETFLAGS may change.
pub const USER_MODIFIABLE: u32 = flags::SECRM
    | flags::UNRM
    | flags::COMPR
    | flags::SYNC
    | flags::IMMUTABLE
    | flags::APPEND
    | flags::NODUMP
    | flags::NOATIME
    | flags::JOURNAL_DATA
    | flags::NOTAIL
    | flags::DIRSYNC
    | flags::TOPDIR
    | flags::EXTENTS
    | flags::EOFBLOCKS
    | flags::DAX
    | flags::PROJINHERIT
    | flags::CASEFOLD;

/// EXT4_FL_USER_VISIBLE: what GETFLAGS reports (the modifiable flags and
/// the read-only ones: dirty, compressed blocks, no-compress, encrypted,
/// indexed directory, verity, inline data).
pub const USER_VISIBLE: u32 = USER_MODIFIABLE
    | flags::DIRTY
    | flags::COMPRBLK
    | flags::NOCOMPR
    | flags::ENCRYPT
    | flags::INDEX
    | flags::VERITY
    | flags::INLINE_DATA;

/// The flags FS_IOC_FSGETXATTR/FSSETXATTR speak of (EXT4_FL_XFLAG_VISIBLE),
/// each with its FS_XFLAG_* bit.
const XFLAGS: [(u32, u32); 7] = [
    (flags::SYNC, 0x20),
    (flags::IMMUTABLE, 0x8),
    (flags::APPEND, 0x10),
    (flags::NODUMP, 0x80),
    (flags::NOATIME, 0x40),
    (flags::PROJINHERIT, 0x200),
    (flags::DAX, 0x8000),
];

/// `ext4_mask_flags`: of flags `f`, those an inode of type `mode` (full
/// i_mode) may hold.
pub(crate) fn mask_for_type(mode: u16, f: u32) -> u32 {
    match mode & mode::S_IFMT {
        mode::S_IFDIR => f,
        mode::S_IFREG => {
            f & !(flags::DIRSYNC | flags::TOPDIR | flags::CASEFOLD | flags::PROJINHERIT)
        }
        _ => f & (flags::NODUMP | flags::NOATIME),
    }
}

fn mask_for(inode: &Inode, f: u32) -> u32 {
    mask_for_type(inode.mode, f)
}

/// The FS_XFLAG_* bits of ext4 flags `f`.
pub fn to_xflags(f: u32) -> u32 {
    XFLAGS
        .iter()
        .filter(|(fl, _)| f & fl != 0)
        .fold(0, |x, (_, xf)| x | xf)
}

/// The ext4 flags of FS_XFLAG_* bits `x` (the others are not ext4's).
pub fn from_xflags(x: u32) -> u32 {
    XFLAGS
        .iter()
        .filter(|(_, xf)| x & xf != 0)
        .fold(0, |f, (fl, _)| f | fl)
}

/// `fsxattr` as ext4 fills and reads it: the flags and the project id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FsXattr {
    /// FS_XFLAG_* bits.
    pub xflags: u32,
    pub projid: u32,
}

/// Any change of `inode` itself (attributes, xattrs, names of it):
/// refused on an immutable or append-only inode.
pub(crate) fn may_change(inode: &Inode) -> Result<()> {
    if inode.has_flag(flags::IMMUTABLE) || inode.has_flag(flags::APPEND) {
        return Err(FsError::Perm);
    }
    Ok(())
}

/// A change of `inode`'s data: refused on an immutable inode.
pub(crate) fn may_write(inode: &Inode) -> Result<()> {
    if inode.has_flag(flags::IMMUTABLE) {
        return Err(FsError::Perm);
    }
    Ok(())
}

/// A new name in `dir`: refused in an immutable directory.
pub(crate) fn may_add_name(dir: &Inode) -> Result<()> {
    may_write(dir)
}

/// Removing `victim` from `dir` (`may_delete`): refused in an immutable or
/// append-only directory, and for an immutable or append-only victim.
pub(crate) fn may_remove(dir: &Inode, victim: &Inode) -> Result<()> {
    may_change(dir)?;
    may_change(victim)
}

/// An open with `flags` (`may_open`): write access to an immutable file, a
/// truncation of an append-only one or a write not in O_APPEND mode to it.
pub(crate) fn may_open(inode: &Inode, open_flags: u32) -> Result<()> {
    const O_ACCMODE: u32 = 0o3;
    const O_TRUNC: u32 = 0o1000;
    const O_APPEND: u32 = 0o2000;
    let writes = open_flags & O_ACCMODE != 0;
    if (writes || open_flags & O_TRUNC != 0) && inode.has_flag(flags::IMMUTABLE) {
        return Err(FsError::Perm);
    }
    if inode.has_flag(flags::APPEND)
        && ((writes && open_flags & O_APPEND == 0) || open_flags & O_TRUNC != 0)
    {
        return Err(FsError::Perm);
    }
    Ok(())
}

impl Fs {
    /// FS_IOC_GETFLAGS: the inode's user-visible flags.
    pub fn get_flags(&self, ino: crate::ext4::InodeNo) -> Result<u32> {
        Ok(self.inode(ino)?.flags & USER_VISIBLE)
    }

    /// FS_IOC_FSGETXATTR: the xattr-visible flags and the project id.
    pub fn get_fsxattr(&self, ino: crate::ext4::InodeNo) -> Result<FsXattr> {
        let inode = self.inode(ino)?;
        Ok(FsXattr {
            xflags: to_xflags(inode.flags & USER_VISIBLE),
            projid: if self.project_feature() {
                inode.projid.unwrap_or(0)
            } else {
                0
            },
        })
    }

    /// FS_IOC_SETFLAGS by `c`: `vfs_fileattr_set` and `ext4_fileattr_set`.
    /// Flags outside the visible set: EOPNOTSUPP; visible but read-only
    /// ones are dropped silently (chattr passes back what it read).
    pub fn set_flags(&self, node: impl Into<InodeRef>, c: &Caller, new: u32) -> Result<Inode> {
        self.set_attr_flags(node.into(), c, |_| Ok(new), None)
    }

    /// FS_IOC_FSSETXATTR by `c`: the flags it names replace the inode's,
    /// the others stay (`vfs_fileattr_set` with fsx_valid).
    pub fn set_fsxattr(&self, node: impl Into<InodeRef>, c: &Caller, x: FsXattr) -> Result<Inode> {
        let common = from_xflags(u32::MAX);
        self.set_attr_flags(
            node.into(),
            c,
            |old| Ok((old & USER_VISIBLE & !common) | from_xflags(x.xflags)),
            Some(x.projid),
        )
    }

    fn project_feature(&self) -> bool {
        self.superblock().feature_ro_compat & crate::ext4::superblock::ro_compat::PROJECT != 0
    }

    fn set_attr_flags(
        &self,
        node: InodeRef,
        c: &Caller,
        new_of: impl FnOnce(u32) -> Result<u32>,
        projid: Option<u32>,
    ) -> Result<Inode> {
        let _locks = self.inode_locks.lock(&[node.ino]);
        let mut tx = self.begin()?;
        let mut inode = tx.live_inode(node)?;
        let old = inode.flags;
        let wanted = new_of(old)?;
        // vfs_fileattr_set: the owner or CAP_FOWNER over the inode (in a
        // user namespace, only over inodes whose ids it maps); then
        // fileattr_set_prepare: immutable and append-only change only
        // with CAP_LINUX_IMMUTABLE in the initial namespace.
        if !c.owns_or_capable(inode.uid, inode.gid) {
            return Err(FsError::Perm);
        }
        if (wanted ^ old) & (flags::IMMUTABLE | flags::APPEND) != 0
            && !c.capable_initial(cap::LINUX_IMMUTABLE)
        {
            return Err(FsError::Perm);
        }
        // ext4_fileattr_set.
        if wanted & !USER_VISIBLE != 0 {
            return Err(FsError::Unsupported);
        }
        let f = wanted & USER_MODIFIABLE;
        if mask_for(&inode, f) != f {
            return Err(FsError::Unsupported);
        }
        let cur_projid = inode.projid.unwrap_or(0);
        let projid = projid.unwrap_or(if self.project_feature() {
            cur_projid
        } else {
            0
        });
        // ext4_ioctl_check_immutable: an immutable inode that stays
        // immutable may change nothing else.
        if old & flags::IMMUTABLE != 0 && f & flags::IMMUTABLE != 0 {
            if old & !flags::IMMUTABLE != f & !flags::IMMUTABLE {
                return Err(FsError::Perm);
            }
            if self.project_feature() && projid != cur_projid {
                return Err(FsError::Perm);
            }
        }
        // ext4_ioctl_setflags.
        if (f ^ old) & flags::JOURNAL_DATA != 0 && !c.capable_initial(cap::SYS_RESOURCE) {
            return Err(FsError::Perm);
        }
        let dax_bad = flags::VERITY | flags::ENCRYPT | flags::JOURNAL_DATA | flags::INLINE_DATA;
        if f & flags::DAX != 0 && (f | old) & dax_bad != 0 {
            return Err(FsError::Unsupported);
        }
        if (f ^ old) & flags::CASEFOLD != 0 {
            if !self.superblock().has_incompat(incompat::CASEFOLD) {
                return Err(FsError::Unsupported);
            }
            if !inode.is_dir() {
                return Err(FsError::NotDir);
            }
            if !tx.dir_is_empty(&inode)? {
                return Err(FsError::NotEmpty);
            }
        }
        // Per-file data journaling is not served: said rather than
        // pretended.
        if (f ^ old) & flags::JOURNAL_DATA != 0 {
            return Err(FsError::Unsupported);
        }
        // ext4_ioctl_setproject without the project feature: only id 0.
        if !self.project_feature() && projid != 0 {
            return Err(FsError::Unsupported);
        }
        if self.project_feature() && projid != cur_projid {
            // ext4_ioctl_setproject: the id lives in the inode's extra
            // part; an inode too small for it would need its extra part
            // grown (ext4_expand_extra_isize), which is not served here.
            if inode.projid.is_none() {
                return Err(FsError::Unsupported);
            }
            // The commit moves the inode's usage to the new project.
            inode.projid = Some(projid);
        }
        let keep = USER_MODIFIABLE & !(flags::JOURNAL_DATA | flags::EXTENTS);
        inode.flags = (old & !keep) | (f & keep);
        inode.ctime = now();
        // ext4_ioctl_setflags: a change of EXTENTS_FL migrates the block
        // mapping, after the other flags are set: a migration the kernel
        // refuses (EOPNOTSUPP) leaves them set and reports the refusal.
        let migrated = match (f ^ old) & flags::EXTENTS != 0 {
            false => Ok(()),
            true if f & flags::EXTENTS != 0 => tx.migrate_to_extents(&mut inode),
            true => tx.migrate_to_blockmap(&mut inode),
        };
        match migrated {
            Ok(()) | Err(FsError::Unsupported) => {}
            Err(e) => return Err(e),
        }
        tx.put_inode(inode.clone());
        tx.commit()?;
        migrated.map(|()| inode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_are_the_kernels() {
        assert_eq!(USER_MODIFIABLE, 0x624B_C0FF);
        assert_eq!(USER_VISIBLE, 0x725B_DFFF);
    }

    #[test]
    fn xflags_round_trip() {
        let all = from_xflags(u32::MAX);
        assert_eq!(
            all,
            flags::SYNC
                | flags::IMMUTABLE
                | flags::APPEND
                | flags::NODUMP
                | flags::NOATIME
                | flags::PROJINHERIT
                | flags::DAX
        );
        assert_eq!(from_xflags(to_xflags(all)), all);
        // FS_XFLAG_IMMUTABLE | FS_XFLAG_APPEND | FS_XFLAG_NOATIME
        assert_eq!(
            to_xflags(flags::IMMUTABLE | flags::APPEND | flags::NOATIME),
            0x58
        );
    }
}
