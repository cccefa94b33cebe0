//! The request adapter: maps FUSE requests onto [`Fs`] operations.
//!
//! Node ids are derived from the inode, never stored: node id =
//! (i_generation << 32) | inode number, with the root (inode 2) as node 1.
//! A node id whose inode was freed or reused answers ESTALE.

use std::time::Duration;

use super::ops::{
    Attr, DirEntry, DirSink, Entry, Errno, FuseOps, OpResult, Open, RequestCtx, SetAttr, StatFs,
    TimeOrNow, Timespec, xattr_flags,
};
use crate::ext4::dir::ft_to_dtype;
use crate::ext4::inode::{Inode, Timestamp, flags, mode};
use crate::ext4::{Generation, InodeNo};
use crate::fs::create::NewNode;
use crate::fs::file::SeekWhat;
use crate::fs::setattr::{Changes, SetTime};
use crate::fs::xattr_write::SetMode;
use crate::fs::{Fs, FsError};

/// FOPEN_KEEP_CACHE: the page cache stays valid across opens.
const FOPEN_KEEP_CACHE: u32 = 1 << 1;
/// FOPEN_CACHE_DIR: the kernel may cache readdir results.
const FOPEN_CACHE_DIR: u32 = 1 << 3;
const SEEK_DATA: u32 = 3;
const SEEK_HOLE: u32 = 4;

/// The node id the kernel knows an inode by.
pub fn node_id(ino: InodeNo, generation: Generation) -> u64 {
    if ino == InodeNo::ROOT {
        1
    } else {
        (generation.0 as u64) << 32 | ino.0 as u64
    }
}

/// The inode (and, except for the root, generation) a node id names.
pub fn node_inode(nodeid: u64) -> (InodeNo, Option<Generation>) {
    if nodeid == 1 {
        (InodeNo::ROOT, None)
    } else {
        (
            InodeNo(nodeid as u32),
            Some(Generation((nodeid >> 32) as u32)),
        )
    }
}

/// Serves an ext4 filesystem over the FUSE transport.
pub struct Ext4Adapter {
    fs: Fs,
    /// How long the kernel may cache entries and attributes.
    ttl: Duration,
    /// POSIX ACLs are served (`-o acl`): system.posix_acl_* may be set.
    acl: bool,
}

const O_ACCMODE: u32 = 0o3;
const O_TRUNC: u32 = 0o1000;
/// Longest chunk copy_file_range moves per step.
const COPY_CHUNK: u64 = 1 << 20;

impl Ext4Adapter {
    /// `ttl` is how long the kernel may trust what it was told (long for a
    /// read-only mount: nothing changes underneath).
    pub fn new(fs: Fs, ttl: Duration) -> Self {
        Ext4Adapter {
            fs,
            ttl,
            acl: false,
        }
    }

    /// Serves POSIX ACLs (the kernel enforces them with FUSE_POSIX_ACL).
    pub fn with_acl(mut self, acl: bool) -> Self {
        self.acl = acl;
        self
    }

    /// The inode number behind a node id, checked to be alive.
    fn ino(&self, nodeid: u64) -> OpResult<InodeNo> {
        self.node(nodeid).map(|i| i.ino)
    }

    fn fs_err<T>(&self, r: Result<T, FsError>) -> OpResult<T> {
        r.map_err(|e| self.errno(e))
    }

    /// An open: counted (if the inode is still live), so an unlinked file
    /// lives until its release; O_TRUNC (FUSE_ATOMIC_O_TRUNC) truncates
    /// here.
    fn open_inode(&self, inode: &Inode, flags: u32) -> OpResult<Open> {
        let inode = self.fs_err(self.fs.open_live(inode.ino, Some(inode.generation)))?;
        if flags & O_TRUNC != 0 && flags & O_ACCMODE != 0 && inode.is_reg() && inode.size != 0 {
            let c = Changes {
                size: Some(0),
                ..Default::default()
            };
            if let Err(e) = self.fs.setattr(inode.ino, &c) {
                let _ = self.fs.released(inode.ino);
                return Err(self.errno(e));
            }
        }
        Ok(Open {
            fh: 0,
            open_flags: FOPEN_KEEP_CACHE,
        })
    }

    fn release_inode(&self, nodeid: u64) -> OpResult<()> {
        let (ino, _) = node_inode(nodeid);
        self.fs_err(self.fs.released(ino))
    }

    fn check_xattr_name(&self, name: &[u8]) -> OpResult<()> {
        if name.starts_with(b"system.posix_acl_") && !self.acl {
            return Err(Errno::EOPNOTSUPP);
        }
        Ok(())
    }

    /// The filesystem served.
    pub fn fs(&self) -> &Fs {
        &self.fs
    }

    /// Loads the inode behind a node id, or ESTALE.
    fn node(&self, nodeid: u64) -> OpResult<Inode> {
        let (ino, generation) = node_inode(nodeid);
        self.viewed(|fs| fs.live_inode(ino, generation))
    }

    /// Runs a reading step under the filesystem's read view (so it never
    /// sees half a commit); errors are mapped after the view is dropped,
    /// since recording damage commits.
    fn viewed<T>(&self, f: impl FnOnce(&Fs) -> Result<T, FsError>) -> OpResult<T> {
        let r = {
            let _view = self.fs.read_view();
            f(&self.fs)
        };
        self.fs_err(r)
    }

    /// The live inode behind a node id, inside a view.
    fn live(fs: &Fs, nodeid: u64) -> Result<Inode, FsError> {
        let (ino, generation) = node_inode(nodeid);
        fs.live_inode(ino, generation)
    }

    /// The one place an [`FsError`] becomes an errno; damage is logged.
    fn errno(&self, e: FsError) -> Errno {
        if e.is_corruption() {
            tracing::error!("{e}");
            if self.fs.writable() {
                self.fs.record_error(&e, None, "fuse4fs");
            }
        }
        Errno(e.errno())
    }

    fn attr(&self, inode: &Inode) -> Attr {
        let ts = |t: Timestamp| Timespec {
            sec: t.sec,
            nsec: t.nsec,
        };
        let ft = inode.file_type();
        Attr {
            ino: inode.ino.0 as u64,
            size: inode.size,
            blocks: inode.blocks_512 + inline_blocks(inode),
            atime: ts(inode.atime),
            mtime: ts(inode.mtime),
            ctime: ts(inode.ctime),
            crtime: inode.crtime.map(ts),
            mode: inode.mode as u32,
            nlink: inode.links_count as u32,
            uid: inode.uid,
            gid: inode.gid,
            rdev: if ft == mode::S_IFCHR || ft == mode::S_IFBLK {
                inode.rdev()
            } else {
                0
            },
            blksize: self.fs.block_size(),
        }
    }

    fn entry(&self, inode: &Inode) -> Entry {
        Entry {
            nodeid: node_id(inode.ino, inode.generation),
            // The kernel knows the root (node 1) with generation 0.
            generation: if inode.ino == InodeNo::ROOT {
                0
            } else {
                inode.generation.0 as u64
            },
            attr: self.attr(inode),
            entry_ttl: self.ttl,
            attr_ttl: self.ttl,
        }
    }
}

/// A node the caller creates with `mode` (type and permission bits).
fn new_node(ctx: &RequestCtx, mode: u16, umask: u32, rdev: u32) -> NewNode {
    NewNode {
        mode,
        uid: ctx.uid,
        gid: ctx.gid,
        umask,
        rdev,
    }
}

fn timestamp(t: Timespec) -> Timestamp {
    Timestamp {
        sec: t.sec,
        nsec: t.nsec,
    }
}

/// The kernel counts the bytes of an inline-data regular file in st_blocks
/// (so that tools do not take it for a sparse file).
fn inline_blocks(inode: &Inode) -> u64 {
    if inode.is_reg() && inode.has_flag(flags::INLINE_DATA) {
        inode.size.div_ceil(512)
    } else {
        0
    }
}

impl FuseOps for Ext4Adapter {
    fn lookup(&self, _ctx: &RequestCtx, parent: u64, name: &[u8]) -> OpResult<Entry> {
        let inode = self.viewed(|fs| {
            let dir = Self::live(fs, parent)?;
            if name == b"." {
                // Sent for any node type by open_by_handle_at: the node itself.
                return Ok(dir);
            }
            let found = fs.lookup(&dir, name)?;
            fs.entry_inode(found.ino)
        })?;
        Ok(self.entry(&inode))
    }

    fn getattr(
        &self,
        _ctx: &RequestCtx,
        nodeid: u64,
        _fh: Option<u64>,
    ) -> OpResult<(Attr, Duration)> {
        let inode = self.node(nodeid)?;
        Ok((self.attr(&inode), self.ttl))
    }

    fn readlink(&self, _ctx: &RequestCtx, nodeid: u64) -> OpResult<Vec<u8>> {
        self.viewed(|fs| fs.readlink(&Self::live(fs, nodeid)?))
    }

    fn open(&self, _ctx: &RequestCtx, nodeid: u64, flags: u32) -> OpResult<Open> {
        let inode = self.node(nodeid)?;
        if inode.is_dir() {
            return Err(Errno::EISDIR);
        }
        self.open_inode(&inode, flags)
    }

    fn release(&self, _ctx: &RequestCtx, nodeid: u64, _fh: u64, _flags: u32) -> OpResult<()> {
        self.release_inode(nodeid)
    }

    fn read(
        &self,
        _ctx: &RequestCtx,
        nodeid: u64,
        _fh: u64,
        offset: u64,
        size: u32,
    ) -> OpResult<Vec<u8>> {
        self.viewed(|fs| {
            let inode = Self::live(fs, nodeid)?;
            if inode.is_dir() {
                return Err(FsError::IsDir);
            }
            fs.read(&inode, offset, size as usize)
        })
    }

    fn opendir(&self, _ctx: &RequestCtx, nodeid: u64, _flags: u32) -> OpResult<Open> {
        let inode = self.node(nodeid)?;
        if !inode.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        self.fs_err(self.fs.open_live(inode.ino, Some(inode.generation)))?;
        let cache = if self.fs.writable() {
            0
        } else {
            FOPEN_KEEP_CACHE | FOPEN_CACHE_DIR
        };
        Ok(Open {
            fh: 0,
            open_flags: cache,
        })
    }

    fn releasedir(&self, _ctx: &RequestCtx, nodeid: u64, _fh: u64) -> OpResult<()> {
        self.release_inode(nodeid)
    }

    fn readdir(
        &self,
        _ctx: &RequestCtx,
        nodeid: u64,
        _fh: u64,
        offset: u64,
        plus: bool,
        sink: &mut dyn DirSink,
    ) -> OpResult<()> {
        let view = self.fs.read_view();
        let dir = match Self::live(&self.fs, nodeid) {
            Ok(d) => d,
            Err(e) => {
                drop(view);
                return Err(self.errno(e));
            }
        };
        let r = self.fs.readdir(&dir, offset, |e| {
            let dots = e.name == b"." || e.name == b"..";
            // An entry whose inode cannot be served is still listed,
            // without a lookup; its stat then answers the error.
            let inode = if plus && !dots {
                self.fs
                    .check_entry_target(&dir, e.ino, e.name)
                    .and_then(|()| self.fs.entry_inode(InodeNo(e.ino)))
                    .ok()
            } else {
                None
            };
            // The entry's own type, in plain and plus listings alike.
            let kind = ft_to_dtype(e.file_type);
            let dirent = DirEntry {
                ino: e.ino as u64,
                next_offset: e.next,
                kind,
                name: e.name,
            };
            let entry = inode.as_ref().map(|i| self.entry(i));
            sink.add(&dirent, entry.as_ref())
        });
        drop(view);
        self.fs_err(r)
    }

    fn statfs(&self, _ctx: &RequestCtx, _nodeid: u64) -> OpResult<StatFs> {
        let s = self.fs.stats();
        Ok(StatFs {
            blocks: s.blocks,
            bfree: s.free_blocks,
            bavail: s.avail_blocks,
            files: s.inodes,
            ffree: s.free_inodes,
            bsize: s.block_size,
            namelen: s.name_max,
            frsize: s.block_size,
        })
    }

    fn getxattr(&self, _ctx: &RequestCtx, nodeid: u64, name: &[u8]) -> OpResult<Vec<u8>> {
        self.viewed(|fs| fs.getxattr(&Self::live(fs, nodeid)?, name))
    }

    fn listxattr(&self, _ctx: &RequestCtx, nodeid: u64) -> OpResult<Vec<u8>> {
        let names = self.viewed(|fs| fs.listxattr(&Self::live(fs, nodeid)?))?;
        let mut out = Vec::new();
        for n in names {
            out.extend_from_slice(&n);
            out.push(0);
        }
        Ok(out)
    }

    fn access(&self, _ctx: &RequestCtx, nodeid: u64, _mask: u32) -> OpResult<()> {
        // Permission bits are checked by the kernel (default_permissions);
        // this only confirms the node is alive.
        self.node(nodeid).map(|_| ())
    }

    fn lseek(
        &self,
        _ctx: &RequestCtx,
        nodeid: u64,
        _fh: u64,
        offset: u64,
        whence: u32,
    ) -> OpResult<u64> {
        let what = match whence {
            SEEK_DATA => SeekWhat::Data,
            SEEK_HOLE => SeekWhat::Hole,
            _ => return Err(Errno::EINVAL),
        };
        self.viewed(|fs| fs.seek(&Self::live(fs, nodeid)?, offset, what))
    }

    fn setattr(&self, _ctx: &RequestCtx, nodeid: u64, set: &SetAttr) -> OpResult<(Attr, Duration)> {
        let ino = self.ino(nodeid)?;
        let when = |t: TimeOrNow| match t {
            TimeOrNow::Now => SetTime::Now,
            TimeOrNow::Set(ts) => SetTime::At(timestamp(ts)),
        };
        let c = Changes {
            mode: set.mode.map(|m| m as u16),
            uid: set.uid,
            gid: set.gid,
            size: set.size,
            atime: set.atime.map(when),
            mtime: set.mtime.map(when),
            ctime: set.ctime.map(timestamp),
            kill_suidgid: set.kill_suidgid,
            acl: self.acl,
        };
        let inode = self.fs_err(self.fs.setattr(ino, &c))?;
        Ok((self.attr(&inode), self.ttl))
    }

    fn mknod(
        &self,
        ctx: &RequestCtx,
        parent: u64,
        name: &[u8],
        mode: u32,
        rdev: u32,
        umask: u32,
    ) -> OpResult<Entry> {
        let p = self.ino(parent)?;
        let new = new_node(ctx, mode as u16, umask, rdev);
        if !matches!(
            new.mode & mode::S_IFMT,
            mode::S_IFREG | mode::S_IFCHR | mode::S_IFBLK | mode::S_IFIFO | mode::S_IFSOCK
        ) {
            return Err(Errno::EINVAL);
        }
        let inode = self.fs_err(self.fs.make_node(p, name, &new))?;
        Ok(self.entry(&inode))
    }

    fn mkdir(
        &self,
        ctx: &RequestCtx,
        parent: u64,
        name: &[u8],
        mode: u32,
        umask: u32,
    ) -> OpResult<Entry> {
        let p = self.ino(parent)?;
        let new = new_node(ctx, mode::S_IFDIR | (mode as u16 & 0o7777), umask, 0);
        let inode = self.fs_err(self.fs.make_node(p, name, &new))?;
        Ok(self.entry(&inode))
    }

    fn symlink(
        &self,
        ctx: &RequestCtx,
        parent: u64,
        name: &[u8],
        target: &[u8],
    ) -> OpResult<Entry> {
        let p = self.ino(parent)?;
        let inode = self.fs_err(self.fs.symlink(p, name, target, ctx.uid, ctx.gid))?;
        Ok(self.entry(&inode))
    }

    fn link(
        &self,
        _ctx: &RequestCtx,
        nodeid: u64,
        newparent: u64,
        newname: &[u8],
    ) -> OpResult<Entry> {
        let ino = self.ino(nodeid)?;
        let p = self.ino(newparent)?;
        let inode = self.fs_err(self.fs.link(ino, p, newname))?;
        Ok(self.entry(&inode))
    }

    fn unlink(&self, _ctx: &RequestCtx, parent: u64, name: &[u8]) -> OpResult<()> {
        let p = self.ino(parent)?;
        self.fs_err(self.fs.unlink(p, name))
    }

    fn rmdir(&self, _ctx: &RequestCtx, parent: u64, name: &[u8]) -> OpResult<()> {
        let p = self.ino(parent)?;
        self.fs_err(self.fs.rmdir(p, name))
    }

    fn rename(
        &self,
        _ctx: &RequestCtx,
        parent: u64,
        name: &[u8],
        newparent: u64,
        newname: &[u8],
        flags: u32,
    ) -> OpResult<()> {
        let sp = self.ino(parent)?;
        let dp = self.ino(newparent)?;
        self.fs_err(self.fs.rename(sp, name, dp, newname, flags))
    }

    fn create(
        &self,
        ctx: &RequestCtx,
        parent: u64,
        name: &[u8],
        mode: u32,
        umask: u32,
        flags: u32,
    ) -> OpResult<(Entry, Open)> {
        let p = self.ino(parent)?;
        let new = new_node(ctx, mode::S_IFREG | (mode as u16 & 0o7777), umask, 0);
        let inode = self.fs_err(self.fs.make_node(p, name, &new))?;
        let open = self.open_inode(&inode, flags & !O_TRUNC)?;
        Ok((self.entry(&inode), open))
    }

    fn tmpfile(
        &self,
        ctx: &RequestCtx,
        parent: u64,
        mode: u32,
        umask: u32,
        _flags: u32,
    ) -> OpResult<(Entry, Open)> {
        let p = self.ino(parent)?;
        let new = new_node(ctx, mode::S_IFREG | (mode as u16 & 0o7777), umask, 0);
        // Counted as open by the filesystem already.
        let inode = self.fs_err(self.fs.tmpfile(p, &new))?;
        Ok((
            self.entry(&inode),
            Open {
                fh: 0,
                open_flags: FOPEN_KEEP_CACHE,
            },
        ))
    }

    fn write(
        &self,
        _ctx: &RequestCtx,
        nodeid: u64,
        _fh: u64,
        offset: u64,
        data: &[u8],
        write_flags: u32,
        _flags: u32,
    ) -> OpResult<u32> {
        let ino = self.ino(nodeid)?;
        let kill = write_flags & super::abi::write_flags::FUSE_WRITE_KILL_SUIDGID != 0;
        let n = self.fs_err(self.fs.write(ino, offset, data, kill))?;
        Ok(n as u32)
    }

    fn fsync(&self, _ctx: &RequestCtx, nodeid: u64, _fh: u64, _datasync: bool) -> OpResult<()> {
        self.ino(nodeid)?;
        self.fs_err(self.fs.sync())
    }

    fn fsyncdir(&self, _ctx: &RequestCtx, nodeid: u64, _fh: u64, _datasync: bool) -> OpResult<()> {
        self.ino(nodeid)?;
        self.fs_err(self.fs.sync())
    }

    fn syncfs(&self, _ctx: &RequestCtx, _nodeid: u64) -> OpResult<()> {
        self.fs_err(self.fs.sync())
    }

    fn fallocate(
        &self,
        _ctx: &RequestCtx,
        nodeid: u64,
        _fh: u64,
        offset: u64,
        length: u64,
        mode: u32,
    ) -> OpResult<()> {
        let ino = self.ino(nodeid)?;
        self.fs_err(self.fs.fallocate(ino, offset, length, mode))
    }

    fn copy_file_range(
        &self,
        _ctx: &RequestCtx,
        nodeid_in: u64,
        _fh_in: u64,
        offset_in: u64,
        nodeid_out: u64,
        _fh_out: u64,
        offset_out: u64,
        len: u64,
        _flags: u64,
    ) -> OpResult<u64> {
        let src = self.node(nodeid_in)?;
        let dst = self.ino(nodeid_out)?;
        if !src.is_reg() {
            return Err(Errno::EINVAL);
        }
        // The same file with overlapping ranges is refused (as the VFS).
        if src.ino == dst
            && offset_in < offset_out.saturating_add(len)
            && offset_out < offset_in.saturating_add(len)
        {
            return Err(Errno::EINVAL);
        }
        let mut done = 0u64;
        while done < len {
            let want = (len - done).min(COPY_CHUNK) as usize;
            let at = offset_in + done;
            let chunk = self.viewed(|fs| fs.read(&Self::live(fs, nodeid_in)?, at, want))?;
            if chunk.is_empty() {
                break;
            }
            self.fs_err(self.fs.write(dst, offset_out + done, &chunk, false))?;
            done += chunk.len() as u64;
        }
        Ok(done)
    }

    fn setxattr(
        &self,
        _ctx: &RequestCtx,
        nodeid: u64,
        name: &[u8],
        value: &[u8],
        flags: u32,
        setxattr_flags: u32,
    ) -> OpResult<()> {
        self.check_xattr_name(name)?;
        let ino = self.ino(nodeid)?;
        let how = match flags & (xattr_flags::XATTR_CREATE | xattr_flags::XATTR_REPLACE) {
            0 => SetMode::Any,
            xattr_flags::XATTR_CREATE => SetMode::Create,
            xattr_flags::XATTR_REPLACE => SetMode::Replace,
            _ => return Err(Errno::EINVAL),
        };
        let kill_sgid = setxattr_flags & super::abi::FUSE_SETXATTR_ACL_KILL_SGID != 0
            && name == b"system.posix_acl_access";
        self.fs_err(self.fs.setxattr(ino, name, value, how, kill_sgid))
            .map(|_| ())
    }

    fn removexattr(&self, _ctx: &RequestCtx, nodeid: u64, name: &[u8]) -> OpResult<()> {
        self.check_xattr_name(name)?;
        let ino = self.ino(nodeid)?;
        self.fs_err(self.fs.removexattr(ino, name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_round_trip() {
        assert_eq!(node_id(InodeNo::ROOT, Generation(77)), 1);
        assert_eq!(node_inode(1), (InodeNo::ROOT, None));
        let id = node_id(InodeNo(12), Generation(0xDEAD_BEEF));
        assert_eq!(id, 0xDEAD_BEEF_0000_000C);
        assert_eq!(node_inode(id), (InodeNo(12), Some(Generation(0xDEAD_BEEF))));
    }
}
