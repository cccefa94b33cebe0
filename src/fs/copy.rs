//! copy_file_range between two regular files of the filesystem, with the
//! checks the kernel's `generic_copy_file_checks` makes (a FUSE server
//! must repeat them: the kernel knows neither the destination's
//! immutable flag nor the server's limits). An append-only destination is
//! written as ext4 writes it: only a descriptor opened with O_APPEND
//! (refused here, EBADF) or opened before the flag was set reaches it, and
//! ext4 copies into the latter.

use super::{Fs, FsError, InodeRef, Result};
use crate::ext4::InodeNo;

/// Most bytes moved per step (read, then written): bounds what a copy
/// holds in memory.
pub const COPY_CHUNK: u64 = 1 << 20;

/// The destination of a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyTo {
    pub node: InodeRef,
    pub offset: u64,
    /// The destination was opened with O_APPEND (a copy could not honour it).
    pub append: bool,
    /// The setuid/setgid bits a write by this caller clears
    /// ([`Fs::suidgid_to_drop`]; 0 for none).
    pub drop_suidgid: u16,
}

impl Fs {
    /// Copies up to `len` bytes from `src` at `offset` to `to`; returns
    /// the bytes copied: fewer when the source ends first (0 at or past
    /// its end), or when the destination would pass the largest file
    /// size. Refused: a directory (EISDIR), anything but regular files
    /// (EINVAL), an O_APPEND destination (EBADF), an immutable
    /// destination (EPERM), ranges that wrap (EOVERFLOW),
    /// overlapping ranges of one file (EINVAL), a destination offset at or
    /// past the largest file size (EFBIG).
    pub fn copy_range(&self, src: InodeNo, offset: u64, to: &CopyTo, len: u64) -> Result<u64> {
        let (s, d) = {
            let _view = self.read_view();
            (self.inode(src)?, self.inode(to.node.ino)?)
        };
        if s.is_dir() || d.is_dir() {
            return Err(FsError::IsDir);
        }
        if !s.is_reg() || !d.is_reg() {
            return Err(FsError::Invalid);
        }
        if to.append {
            return Err(FsError::BadFile);
        }
        super::attr_flags::may_write(&d)?;
        let (Some(_), Some(_)) = (offset.checked_add(len), to.offset.checked_add(len)) else {
            return Err(FsError::Overflow);
        };
        let mut count = len.min(s.size.saturating_sub(offset));
        let max = self.max_file_size(&d);
        if to.offset >= max {
            return Err(FsError::TooBig);
        }
        count = count.min(max.saturating_sub(to.offset));
        if src == to.node.ino && to.offset < offset + count && offset < to.offset + count {
            return Err(FsError::Invalid);
        }
        let mut done = 0u64;
        while done < count {
            let want = (count - done).min(COPY_CHUNK) as usize;
            let chunk = {
                let _view = self.read_view();
                self.read(&self.inode(src)?, offset + done, want)
            };
            let r = chunk.and_then(|c| {
                self.write(to.node, to.offset + done, &c, to.drop_suidgid)
                    .map(|_| c.len())
            });
            match r {
                // The source shrank under the copy.
                Ok(0) => break,
                Ok(n) => done += n as u64,
                // What was copied stays copied, as a short write.
                Err(_) if done > 0 => break,
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }
}
