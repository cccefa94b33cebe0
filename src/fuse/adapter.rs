//! The request adapter: maps FUSE requests onto [`Fs`] operations.
//!
//! Node ids are derived from the inode, never stored: node id =
//! (i_generation << 32) | inode number, with the root (inode 2) as node 1.
//! A node id whose inode was freed or reused answers ESTALE.

use std::time::Duration;

use super::ops::{
    Attr, DirEntry, DirSink, Entry, Errno, FuseOps, OpResult, Open, RequestCtx, StatFs, Timespec,
};
use crate::ext4::dir::ft_to_dtype;
use crate::ext4::inode::{Inode, Timestamp, flags, mode};
use crate::ext4::{Generation, InodeNo};
use crate::fs::file::SeekWhat;
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
}

impl Ext4Adapter {
    /// `ttl` is how long the kernel may trust what it was told (long for a
    /// read-only mount: nothing changes underneath).
    pub fn new(fs: Fs, ttl: Duration) -> Self {
        Ext4Adapter { fs, ttl }
    }

    /// The filesystem served.
    pub fn fs(&self) -> &Fs {
        &self.fs
    }

    /// Loads the inode behind a node id, or ESTALE.
    fn node(&self, nodeid: u64) -> OpResult<Inode> {
        let (ino, generation) = node_inode(nodeid);
        self.fs
            .live_inode(ino, generation)
            .map_err(|e| self.errno(e))
    }

    /// The one place an [`FsError`] becomes an errno; damage is logged.
    fn errno(&self, e: FsError) -> Errno {
        if e.is_corruption() {
            tracing::error!("{e}");
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
        let dir = self.node(parent)?;
        if name == b"." {
            // Sent for any node type by open_by_handle_at: the node itself.
            return Ok(self.entry(&dir));
        }
        let found = self.fs.lookup(&dir, name).map_err(|e| self.errno(e))?;
        let inode = self.fs.entry_inode(found.ino).map_err(|e| self.errno(e))?;
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
        let inode = self.node(nodeid)?;
        self.fs.readlink(&inode).map_err(|e| self.errno(e))
    }

    fn open(&self, _ctx: &RequestCtx, nodeid: u64, _flags: u32) -> OpResult<Open> {
        let inode = self.node(nodeid)?;
        if inode.is_dir() {
            return Err(Errno::EISDIR);
        }
        Ok(Open {
            fh: 0,
            open_flags: FOPEN_KEEP_CACHE,
        })
    }

    fn read(
        &self,
        _ctx: &RequestCtx,
        nodeid: u64,
        _fh: u64,
        offset: u64,
        size: u32,
    ) -> OpResult<Vec<u8>> {
        let inode = self.node(nodeid)?;
        if inode.is_dir() {
            return Err(Errno::EISDIR);
        }
        self.fs
            .read(&inode, offset, size as usize)
            .map_err(|e| self.errno(e))
    }

    fn opendir(&self, _ctx: &RequestCtx, nodeid: u64, _flags: u32) -> OpResult<Open> {
        let inode = self.node(nodeid)?;
        if !inode.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        Ok(Open {
            fh: 0,
            open_flags: FOPEN_KEEP_CACHE | FOPEN_CACHE_DIR,
        })
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
        let dir = self.node(nodeid)?;
        self.fs
            .readdir(&dir, offset, |e| {
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
            })
            .map_err(|e| self.errno(e))
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
        let inode = self.node(nodeid)?;
        self.fs.getxattr(&inode, name).map_err(|e| self.errno(e))
    }

    fn listxattr(&self, _ctx: &RequestCtx, nodeid: u64) -> OpResult<Vec<u8>> {
        let inode = self.node(nodeid)?;
        let names = self.fs.listxattr(&inode).map_err(|e| self.errno(e))?;
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
        let inode = self.node(nodeid)?;
        self.fs
            .seek(&inode, offset, what)
            .map_err(|e| self.errno(e))
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
