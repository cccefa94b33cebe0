//! Attribute changes: mode, owner, times, and size (truncate, extend).

use super::attr_flags;
use super::create::now;
use super::extent::map::Backing;
use super::journal::transaction::Transaction;
use super::{Fs, FsError, InodeRef, Result};
use crate::ext4::inode::{Inode, Timestamp, flags, mode};

const S_ISUID: u16 = 0o4000;
const S_ISGID: u16 = 0o2000;
const S_IXGRP: u16 = 0o0010;

/// A time to set: the server's clock, or a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetTime {
    Now,
    At(Timestamp),
}

/// The changes one SETATTR asks for; None leaves a field alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changes {
    /// Permission bits (the file type is kept).
    pub mode: Option<u16>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub atime: Option<SetTime>,
    pub mtime: Option<SetTime>,
    pub ctime: Option<Timestamp>,
    /// The setuid/setgid bits a truncation by this caller clears, as
    /// [`Fs::suidgid_to_drop`] computed them (0: none).
    pub drop_suidgid: u16,
    /// ACLs are served: a mode change rewrites the access ACL as well.
    pub acl: bool,
}

/// Clears setuid, and setgid when the group may execute (otherwise it
/// means mandatory locking and stays), on anything but a directory: what
/// a change of owner drops.
pub(crate) fn kill_suidgid(inode: &mut Inode) {
    let sgid = if inode.mode & S_IXGRP != 0 {
        S_ISGID
    } else {
        0
    };
    drop_suidgid(inode, S_ISUID | sgid);
}

/// Clears the setuid/setgid bits of `bits` (a caller's
/// [`Fs::suidgid_to_drop`]) from anything but a directory.
pub(crate) fn drop_suidgid(inode: &mut Inode, bits: u16) {
    if !inode.is_dir() {
        inode.mode &= !(bits & (S_ISUID | S_ISGID));
    }
}

/// The bytes past `size` in the block holding it must read as zeros if
/// the file grows again: zeroed with the transaction that makes `size` the
/// file's size (a crash after its commit must not leave them to do).
pub(crate) fn zero_tail(tx: &mut Transaction<'_>, inode: &Inode, size: u64) -> Result<()> {
    let bs = tx.fs().block_size() as u64;
    let within = (size % bs) as usize;
    if within != 0
        && let Backing::Data(b) = tx.map(inode, size / bs)?.backing
    {
        tx.write_data_at_commit(b, within, vec![0u8; bs as usize - within]);
    }
    Ok(())
}

/// `notify_change` and the truncate paths on an immutable or append-only
/// inode: no truncation, no change of mode, owner or given times; setting
/// times to now (utimes(NULL)) is refused on an immutable inode only.
fn may_set(inode: &Inode, c: &Changes) -> Result<()> {
    let explicit =
        matches!(c.atime, Some(SetTime::At(_))) || matches!(c.mtime, Some(SetTime::At(_)));
    if c.size.is_some() || c.mode.is_some() || c.uid.is_some() || c.gid.is_some() || explicit {
        attr_flags::may_change(inode)?;
    }
    if c.atime.is_some() || c.mtime.is_some() {
        attr_flags::may_write(inode)?;
    }
    Ok(())
}

impl Fs {
    /// Applies `c` to inode `ino`; returns the inode after the change.
    /// ctime becomes now on any change (or the given ctime); a size change
    /// also sets mtime, as ext4_setattr does.
    pub fn setattr(&self, node: impl Into<InodeRef>, c: &Changes) -> Result<Inode> {
        let node = node.into();
        let _locks = self.inode_locks.lock(&[node.ino]);
        let mut tx = self.begin()?;
        let mut inode = tx.live_inode(node)?;
        may_set(&inode, c)?;
        let t = now();
        let resolve = |s: SetTime| match s {
            SetTime::Now => t,
            SetTime::At(x) => x,
        };
        if let Some(size) = c.size {
            if inode.is_dir() {
                return Err(FsError::IsDir);
            }
            if !inode.is_reg() {
                return Err(FsError::Invalid);
            }
            if size > self.max_file_size(&inode) {
                return Err(FsError::TooBig);
            }
            if size != inode.size {
                // An inline file stays inline down, and up within what
                // it stores (ext4_setattr); beyond, it converts first.
                if inode.has_flag(flags::INLINE_DATA)
                    && !self.truncate_inline(&mut tx, &mut inode, size)?
                {
                    self.uninline(&mut tx, &mut inode)?;
                }
                let bs = self.block_size() as u64;
                if inode.has_flag(flags::INLINE_DATA) {
                    // Done by truncate_inline.
                } else if size < inode.size {
                    let keep = size.div_ceil(bs);
                    tx.unmap_from(&mut inode, keep)?;
                    zero_tail(&mut tx, &inode, size)?;
                } else {
                    self.note_large_file(&mut tx, size);
                }
                inode.size = size;
                inode.mtime = t;
            }
        }
        if let Some(m) = c.mode {
            inode.mode = (inode.mode & mode::S_IFMT) | (m & 0o7777);
            if c.acl && !inode.is_symlink() {
                tx.acl_chmod(&mut inode)?;
            }
        }
        if let Some(u) = c.uid {
            inode.uid = u;
        }
        if let Some(g) = c.gid {
            inode.gid = g;
        }
        // A change of owner drops setuid/setgid as chown_common asks
        // (this server handles KILLPRIV_V2: the kernel leaves it to us).
        if (c.uid.is_some() || c.gid.is_some()) && c.mode.is_none() {
            kill_suidgid(&mut inode);
        }
        drop_suidgid(&mut inode, c.drop_suidgid);
        if let Some(a) = c.atime {
            inode.atime = resolve(a);
        }
        if let Some(m) = c.mtime {
            inode.mtime = resolve(m);
        }
        inode.ctime = c.ctime.unwrap_or(t);
        tx.put_inode(inode.clone());
        tx.commit()?;
        Ok(inode)
    }
}
