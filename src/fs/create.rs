//! Making new inodes and names: create, mknod, mkdir, symlink, O_TMPFILE,
//! and link.
//!
//! Permission checks are the kernel's (`-o default_permissions`) or the
//! adapter's through `permission` (`no_default_permissions`); this layer
//! enforces the filesystem's own rules: names absent, link limits, setgid
//! directories.

use super::attr_flags::{may_add_name, may_change};
use super::extent::write::init_extent_root;
use super::journal::transaction::Transaction;
use super::{Fs, FsError, InodeRef, Result};
use crate::ext4::dir::ft_of_mode;
use crate::ext4::inode::{I_BLOCK_SIZE, Inode, Timestamp, decode_dev, flags, mode};
use crate::ext4::layout::Ext4Inode;
use crate::ext4::superblock::{incompat, ro_compat};

/// The kernel's EXT4_LINK_MAX: most links an inode (or subdirectories a
/// non-indexed directory) may have.
pub const LINK_MAX: u16 = 65000;

const S_ISGID: u16 = 0o2000;

/// Flags a new inode inherits from its directory (EXT4_FL_INHERITED),
/// before `mask_for_type` keeps those its type may hold.
const INHERITED: u32 = flags::SECRM
    | flags::UNRM
    | flags::COMPR
    | flags::SYNC
    | flags::NODUMP
    | flags::NOATIME
    | flags::NOCOMPR
    | flags::JOURNAL_DATA
    | flags::NOTAIL
    | flags::DIRSYNC
    | flags::PROJINHERIT
    | flags::CASEFOLD
    | flags::DAX;

/// Who creates a node, and with which mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewNode {
    /// File type and permission bits.
    pub mode: u16,
    pub uid: u32,
    pub gid: u32,
    /// The caller's umask (FUSE_DONT_MASK: applied here, unless a default
    /// ACL governs).
    pub umask: u32,
    /// Device number (new_encode_dev form) for character and block devices.
    pub rdev: u32,
}

/// The current time as an inode timestamp.
pub fn now() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp {
        sec: d.as_secs() as i64,
        nsec: d.subsec_nanos(),
    }
}

impl Fs {
    /// Creates `name` in `parent` as a regular file, device, fifo, socket
    /// or directory (mkdir); returns the new inode.
    pub fn make_node(
        &self,
        parent: impl Into<InodeRef>,
        name: &[u8],
        new: &NewNode,
    ) -> Result<Inode> {
        self.make(parent.into(), name, new, None)
    }

    /// Creates the symlink `name` → `target` in `parent`.
    pub fn symlink(
        &self,
        parent: impl Into<InodeRef>,
        name: &[u8],
        target: &[u8],
        uid: u32,
        gid: u32,
    ) -> Result<Inode> {
        if target.is_empty() {
            return Err(FsError::NotFound);
        }
        if target.len() >= self.block_size() as usize {
            return Err(FsError::NameTooLong);
        }
        let new = NewNode {
            mode: mode::S_IFLNK | 0o777,
            uid,
            gid,
            umask: 0,
            rdev: 0,
        };
        self.make(parent.into(), name, &new, Some(target))
    }

    fn make(
        &self,
        parent_ref: InodeRef,
        name: &[u8],
        new: &NewNode,
        target: Option<&[u8]>,
    ) -> Result<Inode> {
        let parent = parent_ref.ino;
        let _locks = self.inode_locks.lock(&[parent]);
        let mut tx = self.begin()?;
        let mut dir = live_dir(&tx, parent_ref)?;
        let plan = tx.dir_plan_add(&dir, name)?;
        may_add_name(&dir)?;
        let is_dir = new.mode & mode::S_IFMT == mode::S_IFDIR;
        if is_dir {
            self.inc_dir_links(&mut tx, &mut dir)?;
        }
        let mut inode = self.new_inode(&mut tx, &dir, new)?;
        if new.mode & mode::S_IFMT != mode::S_IFLNK {
            tx.init_acl(&dir, &mut inode, new.umask)?;
        }
        if is_dir {
            inode.links_count = 2;
            tx.dir_init(&mut inode, parent)?;
        } else {
            inode.links_count = 1;
        }
        if let Some(t) = target {
            self.write_symlink(&mut tx, &mut inode, t)?;
        }
        tx.dir_add_planned(&mut dir, name, inode.ino, ft_of_mode(inode.mode), plan)?;
        let t = now();
        dir.mtime = t;
        dir.ctime = t;
        tx.put_inode(dir);
        tx.put_new_inode(inode.clone());
        tx.commit()?;
        Ok(inode)
    }

    /// O_TMPFILE: a regular file with no name, open once, on the orphan
    /// list until it is linked or released.
    pub fn tmpfile(&self, parent: impl Into<InodeRef>, new: &NewNode) -> Result<Inode> {
        let parent = parent.into();
        let _locks = self.inode_locks.lock(&[parent.ino]);
        let orphans = self.orphan_lock.lock();
        let mut tx = self.begin()?;
        let dir = live_dir(&tx, parent)?;
        may_add_name(&dir)?;
        let mut inode = self.new_inode(&mut tx, &dir, new)?;
        tx.init_acl(&dir, &mut inode, new.umask)?;
        inode.links_count = 0;
        self.orphan_add(&mut tx, &mut inode);
        tx.put_new_inode(inode.clone());
        self.opened(inode.ino);
        if let Err(e) = tx.commit() {
            self.open_count_drop(inode.ino);
            return Err(e);
        }
        drop(orphans);
        Ok(inode)
    }

    /// Adds `newparent/newname` as another name of `node`. Linking an
    /// O_TMPFILE file takes it off the orphan list.
    pub fn link(
        &self,
        node: impl Into<InodeRef>,
        newparent: impl Into<InodeRef>,
        newname: &[u8],
    ) -> Result<Inode> {
        let node = node.into();
        let ino = node.ino;
        let parent_ref = newparent.into();
        let newparent = parent_ref.ino;
        loop {
            // The orphan before `ino` (if it is an orphan) is edited too, so
            // it is locked with the rest; checked again under the locks.
            let place = if self.inode(ino)?.links_count == 0 {
                let _o = self.orphan_lock.lock();
                self.orphan_place(ino)?
            } else {
                None
            };
            let mut set = vec![ino, newparent];
            set.extend(place.flatten());
            let _locks = self.inode_locks.lock(&set);
            let orphans = self.orphan_lock.lock();
            let mut tx = self.begin()?;
            let mut dir = live_dir(&tx, parent_ref)?;
            let mut inode = tx.live_inode(node)?;
            if inode.is_dir() {
                return Err(FsError::Perm);
            }
            if inode.links_count >= LINK_MAX {
                return Err(FsError::TooManyLinks);
            }
            let plan = tx.dir_plan_add(&dir, newname)?;
            may_add_name(&dir)?;
            may_change(&inode)?;
            super::quota::same_project(&dir, &inode)?;
            if inode.links_count == 0 {
                let now = self.orphan_place(ino)?;
                if now != place {
                    continue;
                }
                let Some(pred) = now else {
                    return Err(FsError::NotFound);
                };
                if !self.is_open(ino) {
                    return Err(FsError::NotFound);
                }
                self.orphan_remove(&mut tx, &mut inode, pred)?;
            }
            tx.dir_add_planned(&mut dir, newname, ino, ft_of_mode(inode.mode), plan)?;
            let t = now();
            inode.links_count += 1;
            inode.ctime = t;
            dir.mtime = t;
            dir.ctime = t;
            tx.put_inode(dir);
            tx.put_inode(inode.clone());
            tx.commit()?;
            drop(orphans);
            return Ok(inode);
        }
    }

    /// A fresh inode near `dir`: owner, mode (setgid directories), times,
    /// a random generation, flags inherited as the kernel does, extents
    /// for files, directories and symlinks when the filesystem has them.
    pub(super) fn new_inode(
        &self,
        tx: &mut Transaction<'_>,
        dir: &Inode,
        new: &NewNode,
    ) -> Result<Inode> {
        let sb = self.superblock();
        let kind = new.mode & mode::S_IFMT;
        let is_dir = kind == mode::S_IFDIR;
        let ino = tx.alloc_inode((dir.ino.0 - 1) / sb.inodes_per_group, is_dir)?;
        let mut inode = Inode::new_empty(sb, ino);
        let (mut m, mut gid) = (new.mode, new.gid);
        if dir.mode & S_ISGID != 0 {
            gid = dir.gid;
            if is_dir {
                m |= S_ISGID;
            }
        }
        inode.mode = m;
        inode.uid = new.uid;
        inode.gid = gid;
        let t = now();
        inode.atime = t;
        inode.mtime = t;
        inode.ctime = t;
        if inode.crtime.is_some() {
            inode.crtime = Some(t);
        }
        inode.generation = crate::ext4::Generation(fastrand::u32(..));
        inode.flags = super::attr_flags::mask_for_type(new.mode, dir.flags & INHERITED);
        // __ext4_new_inode: the directory's project id when it has the
        // project-inherit flag, else the default project (0).
        if sb.has_ro_compat(ro_compat::PROJECT) && inode.extra_isize >= 32 {
            inode.projid = Some(if dir.has_flag(flags::PROJINHERIT) {
                dir.projid.unwrap_or(0)
            } else {
                0
            });
        }
        match kind {
            mode::S_IFREG | mode::S_IFDIR | mode::S_IFLNK if sb.has_incompat(incompat::EXTENTS) => {
                inode.flags |= flags::EXTENTS;
                init_extent_root(&mut inode)?;
            }
            mode::S_IFCHR | mode::S_IFBLK => encode_rdev(&mut inode, new.rdev),
            _ => {}
        }
        Ok(inode)
    }

    /// Stores a symlink target: in i_block when it fits with its NUL (a
    /// fast symlink, no extent tree, as ext4_symlink), else in one block.
    fn write_symlink(
        &self,
        tx: &mut Transaction<'_>,
        inode: &mut Inode,
        target: &[u8],
    ) -> Result<()> {
        inode.size = target.len() as u64;
        if target.len() < I_BLOCK_SIZE {
            inode.flags &= !flags::EXTENTS;
            inode.block = [0; I_BLOCK_SIZE];
            inode.block[..target.len()].copy_from_slice(target);
            return Ok(());
        }
        let runs = tx.map_write(inode, 0, 1)?;
        let run = runs.first().ok_or(FsError::NoSpace)?;
        let mut block = vec![0u8; self.block_size() as usize];
        block[..target.len()].copy_from_slice(target);
        self.write_data(run.pblk, 0, &block)
    }

    /// One more subdirectory in `dir`: past LINK_MAX an indexed directory
    /// counts as 1 ("many", dir_nlink) as the kernel's ext4_inc_count; a
    /// linear one refuses (EMLINK).
    pub(crate) fn inc_dir_links(&self, tx: &mut Transaction<'_>, dir: &mut Inode) -> Result<()> {
        let indexed = dir.has_flag(flags::INDEX);
        if dir.links_count >= LINK_MAX && !indexed {
            return Err(FsError::TooManyLinks);
        }
        if dir.links_count == 1 {
            return Ok(());
        }
        dir.links_count += 1;
        if indexed && dir.links_count >= LINK_MAX {
            dir.links_count = 1;
            if !self.superblock().has_ro_compat(ro_compat::DIR_NLINK) {
                tx.edit_superblock(|sb| sb.feature_ro_compat |= ro_compat::DIR_NLINK);
            }
        }
        Ok(())
    }
}

/// One fewer subdirectory in `dir` (ext4_dec_count: a count of 1 means
/// "many" and stays).
pub(crate) fn dec_dir_links(dir: &mut Inode) {
    if dir.links_count > 2 {
        dir.links_count -= 1;
    }
}

/// The directory `r` as the transaction sees it, refusing non-directories,
/// directories already removed (ENOENT, as the kernel) and, when the
/// generation is given, another inode that took the number since (ESTALE).
pub(crate) fn live_dir(tx: &Transaction<'_>, r: InodeRef) -> Result<Inode> {
    let dir = tx.inode(r.ino)?;
    if r.generation.is_some_and(|g| g != dir.generation) {
        return Err(FsError::Stale);
    }
    if !dir.is_dir() {
        return Err(FsError::NotDir);
    }
    if dir.links_count == 0 {
        return Err(FsError::NotFound);
    }
    Ok(dir)
}

/// Stores a device number as ext4_special does: the old 8:8 encoding in
/// i_block[0] when it fits, else the new encoding in i_block[1].
fn encode_rdev(inode: &mut Inode, rdev: u32) {
    let (major, minor) = decode_dev(rdev);
    inode.block = [0; I_BLOCK_SIZE];
    let i_block = Ext4Inode::i_block_words_mut(&mut inode.block);
    if major < 256 && minor < 256 {
        i_block[0].set((major << 8) | minor);
    } else {
        i_block[1].set(rdev);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext4::InodeNo;

    #[test]
    fn rdev_round_trips_in_both_encodings() {
        let sb_less = |rdev| {
            let sb = crate::ext4::superblock::Superblock::parse(
                &crate::ext4::superblock::test_superblock_bytes(2, 0, 0, 0),
            )
            .unwrap();
            let mut i = Inode::new_empty(&sb, InodeNo(12));
            i.mode = mode::S_IFCHR;
            encode_rdev(&mut i, rdev);
            i
        };
        // 1:3 fits the old encoding; 300:70000 needs the new one.
        let small = (1 << 8) | 3;
        let i = sb_less(small);
        assert_eq!(crate::ext4::types::get_le32(&i.block, 0), small);
        assert_eq!(i.rdev(), small);
        let big = (70000 & 0xff) | (300 << 8) | ((70000 & !0xff) << 12);
        let i = sb_less(big);
        assert_eq!(crate::ext4::types::get_le32(&i.block, 0), 0);
        assert_eq!(i.rdev(), big);
    }
}
