//! rename(2) and renameat2's RENAME_NOREPLACE, RENAME_EXCHANGE and
//! RENAME_WHITEOUT, with the ".." fix-up and link counts of a directory
//! that changes parent.
//!
//! RENAME_WHITEOUT (overlayfs upper layers) leaves a whiteout at the
//! source name: a new character device 0/0 with mode 0, owned as any new
//! inode of the caller's, made in the same transaction as the move, as
//! ext4_rename does.

use super::attr_flags::{may_add_name, may_remove};
use super::create::{NewNode, dec_dir_links, live_dir, now};
use super::journal::transaction::Transaction;
use super::{Fs, FsError, InodeRef, Result, error};
use crate::ext4::InodeDamage;
use crate::ext4::InodeNo;
use crate::ext4::dir::ft_of_mode;
use crate::ext4::inode::{Inode, mode};

/// renameat2 flags.
pub const RENAME_NOREPLACE: u32 = 1;
pub const RENAME_EXCHANGE: u32 = 2;
pub const RENAME_WHITEOUT: u32 = 4;

/// Who renames: the owner of the whiteout RENAME_WHITEOUT leaves (fsuid
/// and fsgid; a setgid source directory gives its group instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Renamer {
    pub uid: u32,
    pub gid: u32,
}

impl Fs {
    /// Moves `sp/sn` to `dp/dn` with RENAME_NOREPLACE or RENAME_EXCHANGE
    /// (a whiteout needs an owner: [`Fs::rename_as`]).
    pub fn rename(
        &self,
        sp: impl Into<InodeRef>,
        sn: &[u8],
        dp: impl Into<InodeRef>,
        dn: &[u8],
        flags: u32,
    ) -> Result<()> {
        if flags & RENAME_WHITEOUT != 0 {
            return Err(FsError::Invalid);
        }
        self.rename_as(sp, sn, dp, dn, flags, Renamer { uid: 0, gid: 0 })
    }

    /// Moves `sp/sn` to `dp/dn` for `who`, with any renameat2 flags (see
    /// the module doc); EINVAL for unknown flags and for RENAME_EXCHANGE
    /// with either of the others, as renameat2.
    pub fn rename_as(
        &self,
        sp: impl Into<InodeRef>,
        sn: &[u8],
        dp: impl Into<InodeRef>,
        dn: &[u8],
        flags: u32,
        who: Renamer,
    ) -> Result<()> {
        let (sp_ref, dp_ref) = (sp.into(), dp.into());
        let (sp, dp) = (sp_ref.ino, dp_ref.ino);
        if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) != 0
            || (flags & RENAME_EXCHANGE != 0 && flags != RENAME_EXCHANGE)
        {
            return Err(FsError::Invalid);
        }
        for name in [sn, dn] {
            if name == b"." || name == b".." {
                return Err(FsError::Busy);
            }
        }
        loop {
            let src = self.lookup(&self.inode(sp)?, sn)?.ino;
            let dst = match self.lookup(&self.inode(dp)?, dn) {
                Ok(f) => Some(f.ino),
                Err(FsError::NotFound) => None,
                Err(e) => return Err(e),
            };
            // A directory changing parent could make a loop with a
            // concurrent move: those serialise on the rename lock, which
            // also keeps every directory's ancestry still while we check.
            let moves_dir = sp != dp && {
                let s = self.inode(src)?;
                s.is_dir()
                    || dst
                        .map(|d| self.inode(d))
                        .transpose()?
                        .is_some_and(|d| d.is_dir())
            };
            let _rename = moves_dir.then(|| self.rename_lock.lock());
            let mut set = vec![sp, dp, src];
            set.extend(dst);
            let _locks = self.inode_locks.lock(&set);
            let orphans = self.orphan_lock.lock();
            let mut tx = self.begin()?;
            let sdir = live_dir(&tx, sp_ref)?;
            let ddir = live_dir(&tx, dp_ref)?;
            if tx.dir_lookup(&sdir, sn)? != Some(src) || tx.dir_lookup(&ddir, dn)? != dst {
                continue;
            }
            self.rename_locked(&mut tx, sp, sn, dp, dn, src, dst, flags, who)?;
            tx.commit()?;
            drop(orphans);
            return Ok(());
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn rename_locked(
        &self,
        tx: &mut Transaction<'_>,
        sp: InodeNo,
        sn: &[u8],
        dp: InodeNo,
        dn: &[u8],
        src: InodeNo,
        dst: Option<InodeNo>,
        flags: u32,
        who: Renamer,
    ) -> Result<()> {
        let s = tx.inode(src)?;
        // Two names of one inode: nothing to do (POSIX).
        if dst == Some(src) {
            return Ok(());
        }
        // may_delete of the source, then may_create or may_delete of the
        // target, as vfs_rename.
        let (sdir, ddir) = (tx.inode(sp)?, tx.inode(dp)?);
        may_remove(&sdir, &s)?;
        match dst {
            Some(d) => may_remove(&ddir, &tx.inode(d)?)?,
            None => may_add_name(&ddir)?,
        }
        // ext4_rename / ext4_cross_rename: nothing enters a project-inherit
        // directory from another project.
        super::quota::same_project(&ddir, &s)?;
        if flags & RENAME_EXCHANGE != 0 {
            let dst = dst.ok_or(FsError::NotFound)?;
            let d = tx.inode(dst)?;
            super::quota::same_project(&sdir, &d)?;
            if sp != dp {
                if s.is_dir() {
                    self.check_not_ancestor(tx, src, dp)?;
                }
                if d.is_dir() {
                    self.check_not_ancestor(tx, dst, sp)?;
                }
            }
            let mut dd = tx.inode(dp)?;
            tx.dir_replace(&mut dd, dn, src, ft_of_mode(s.mode))?;
            tx.put_inode(dd);
            let mut sd = tx.inode(sp)?;
            tx.dir_replace(&mut sd, sn, dst, ft_of_mode(d.mode))?;
            tx.put_inode(sd);
            if sp != dp && s.is_dir() != d.is_dir() {
                // One directory crosses each way: link counts move with it.
                let (gains, loses) = if s.is_dir() { (dp, sp) } else { (sp, dp) };
                let mut g = tx.inode(gains)?;
                self.inc_dir_links(tx, &mut g)?;
                tx.put_inode(g);
                let mut l = tx.inode(loses)?;
                dec_dir_links(&mut l);
                tx.put_inode(l);
            }
            for (ino, new_parent) in [(src, dp), (dst, sp)] {
                let mut i = tx.inode(ino)?;
                if i.is_dir() && sp != dp {
                    tx.dir_set_dotdot(&mut i, new_parent)?;
                }
                i.ctime = now();
                tx.put_inode(i);
            }
            self.touch_dirs(tx, sp, dp)?;
            return Ok(());
        }
        if s.is_dir() && sp != dp {
            self.check_not_ancestor(tx, src, dp)?;
        }
        match dst {
            Some(_) if flags & RENAME_NOREPLACE != 0 => return Err(FsError::Exists),
            Some(dst) => {
                let mut d = tx.inode(dst)?;
                match (s.is_dir(), d.is_dir()) {
                    (true, false) => return Err(FsError::NotDir),
                    (false, true) => return Err(FsError::IsDir),
                    (true, true) if !tx.dir_is_empty(&d)? => return Err(FsError::NotEmpty),
                    _ => {}
                }
                let mut dd = tx.inode(dp)?;
                tx.dir_replace(&mut dd, dn, src, ft_of_mode(s.mode))?;
                tx.put_inode(dd);
                // A replaced directory's ".." gives way to the moved one's:
                // the new parent's count stays (as ext4_rename).
                if d.is_dir() {
                    d.links_count = 0;
                } else {
                    d.links_count = d.links_count.saturating_sub(1);
                }
                d.ctime = now();
                if d.links_count == 0 {
                    self.drop_last_link(tx, &mut d)?;
                }
                tx.put_inode(d);
            }
            None => {
                let mut dd = tx.inode(dp)?;
                if s.is_dir() && sp != dp {
                    self.inc_dir_links(tx, &mut dd)?;
                }
                tx.dir_add(&mut dd, dn, src, ft_of_mode(s.mode))?;
                tx.put_inode(dd);
            }
        }
        let mut sd = tx.inode(sp)?;
        if flags & RENAME_WHITEOUT != 0 {
            let wh = self.whiteout(tx, &sd, who)?;
            tx.dir_replace(&mut sd, sn, wh, ft_of_mode(mode::S_IFCHR))?;
        } else {
            tx.dir_remove(&mut sd, sn)?;
        }
        // The old parent loses the moved directory's "..": within one
        // directory this cancels the increment above, or accounts for the
        // directory it replaced.
        if s.is_dir() && (sp != dp || dst.is_some()) {
            dec_dir_links(&mut sd);
        }
        tx.put_inode(sd);
        let mut s = tx.inode(src)?;
        if s.is_dir() && sp != dp {
            tx.dir_set_dotdot(&mut s, dp)?;
        }
        s.ctime = now();
        tx.put_inode(s);
        self.touch_dirs(tx, sp, dp)
    }

    /// A new whiteout in `dir` for `who`: a character device 0/0 with mode
    /// 0 and one link (ext4_whiteout_for_rename; no umask, as no mknod
    /// mode is given; a default ACL applies as for any new inode).
    fn whiteout(&self, tx: &mut Transaction<'_>, dir: &Inode, who: Renamer) -> Result<InodeNo> {
        let new = NewNode {
            mode: mode::S_IFCHR,
            uid: who.uid,
            gid: who.gid,
            umask: 0,
            rdev: 0,
        };
        let mut wh = self.new_inode(tx, dir, &new)?;
        tx.init_acl(dir, &mut wh, 0)?;
        wh.links_count = 1;
        let ino = wh.ino;
        tx.put_new_inode(wh);
        Ok(ino)
    }

    /// A directory may not move below itself: EINVAL when `dir` is `to` or
    /// one of its ancestors. Caller holds the rename lock (ancestry is
    /// still).
    fn check_not_ancestor(&self, tx: &Transaction<'_>, dir: InodeNo, to: InodeNo) -> Result<()> {
        let mut cur = to;
        for _ in 0..=self.superblock().inodes_count {
            if cur == dir {
                return Err(FsError::Invalid);
            }
            if cur == InodeNo::ROOT {
                return Ok(());
            }
            let i = tx.inode(cur)?;
            cur = tx
                .dir_lookup(&i, b"..")?
                .ok_or_else(|| error::damaged(cur, InodeDamage::NoDotdot))?;
        }
        Err(error::damaged(to, InodeDamage::AncestryLoops))
    }

    fn touch_dirs(&self, tx: &mut Transaction<'_>, sp: InodeNo, dp: InodeNo) -> Result<()> {
        let t = now();
        for p in [sp, dp] {
            let mut d = tx.inode(p)?;
            d.mtime = t;
            d.ctime = t;
            tx.put_inode(d);
        }
        Ok(())
    }
}
