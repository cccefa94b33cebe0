//! Positioned I/O on the image file.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::fs::io::log::{IoEvent, IoLog};

/// The unit in which the host writes its page cache back (for the I/O log).
const HOST_PAGE: u64 = 4096;

/// The image, read with pread so that workers never share a file offset.
///
/// A plain `File` with `FileExt`, not positioned_io's `RandomAccessFile`:
/// that one advises POSIX_FADV_RANDOM, which turns off the host's
/// read-ahead, so a cold pass over consecutive inode-table or directory
/// blocks (stat or unlink of a directory's files) paid one disk read per
/// block (docs/performance.md, "Host read-ahead").
pub struct Image {
    file: File,
    /// Where the filesystem starts in the file: every offset below is
    /// relative to it (a partition of a whole-disk image).
    base: u64,
    /// Bytes from `base` the filesystem may use (the partition's size,
    /// or up to the end of the file): nothing outside is read or written.
    len: u64,
    writable: bool,
    /// A block device (space goes back with BLKDISCARD, not fallocate).
    block_device: bool,
    /// Where writes and flushes are recorded (crash-point testing).
    io_log: Option<Arc<IoLog>>,
    /// Set by a shutdown (FS_IOC_SHUTDOWN): nothing more is written.
    shut: AtomicBool,
    /// Writes and punches issued so far (counted once they returned).
    changes: AtomicU64,
    /// One more than `changes` when the latest-begun flush that succeeded
    /// began (0 before the first: another process may have written the
    /// file).
    flushed: AtomicU64,
    /// The same two for the writes the journal does not make durable on
    /// its own (everything but [`Image::write_logged_at`]'s): what an
    /// fsync needs a flush for (file data; metadata without a journal).
    unlogged: AtomicU64,
    flushed_unlogged: AtomicU64,
    /// Set when a flush failed: the host reports a write-back error to a
    /// file once and may have dropped the writes it lost, so a later
    /// flush that succeeds proves nothing; every later one fails.
    flush_failed: AtomicBool,
}

/// The byte range of the image file that holds the filesystem.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Region {
    /// Where the filesystem starts (`-o offset=`, or a partition's start).
    pub offset: u64,
    /// Its size (a partition's); None: up to the end of the file.
    pub len: Option<u64>,
}

impl Region {
    /// The whole file.
    pub const WHOLE: Region = Region {
        offset: 0,
        len: None,
    };

    /// The region's length within a file of `file_len` bytes; an error
    /// when it starts or ends past the end of the file.
    pub fn fit(&self, file_len: u64) -> io::Result<u64> {
        if self.offset > file_len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "offset {} is past the end of the image ({file_len} bytes)",
                    self.offset
                ),
            ));
        }
        let room = file_len - self.offset;
        match self.len {
            None => Ok(room),
            Some(len) if len <= room => Ok(len),
            Some(len) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "the partition ({len} bytes at offset {}) runs past the end of the image \
                     ({file_len} bytes)",
                    self.offset
                ),
            )),
        }
    }
}

impl Image {
    /// Wraps an open image file; `writable` when it was opened for writing.
    pub fn new(file: File, writable: bool) -> io::Result<Self> {
        Self::new_in(file, writable, Region::WHOLE)
    }

    /// Wraps the `region` of an open image file: offsets are relative to
    /// its start, and nothing outside it is ever read, written or punched.
    pub fn new_in(file: File, writable: bool, region: Region) -> io::Result<Self> {
        let len = region.fit(image_len(&file)?)?;
        let block_device = {
            use std::os::unix::fs::FileTypeExt;
            file.metadata()?.file_type().is_block_device()
        };
        Ok(Image {
            file,
            base: region.offset,
            len,
            writable,
            block_device,
            io_log: None,
            changes: AtomicU64::new(0),
            flushed: AtomicU64::new(0),
            unlogged: AtomicU64::new(0),
            flushed_unlogged: AtomicU64::new(0),
            shut: AtomicBool::new(false),
            flush_failed: AtomicBool::new(false),
        })
    }

    /// Records every later write and flush in `log` (None: stop recording).
    pub fn set_io_log(&mut self, log: Option<Arc<IoLog>>) {
        self.io_log = log;
    }

    /// The recorder, if any.
    pub fn io_log(&self) -> Option<&Arc<IoLog>> {
        self.io_log.as_ref()
    }

    /// Whether writes are allowed.
    pub fn writable(&self) -> bool {
        self.writable
    }

    /// Size of the image in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Fills `buf` from `offset`; reading past the end is an error.
    pub fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.check_span(offset, buf.len(), "read", io::ErrorKind::UnexpectedEof)?;
        self.file.read_exact_at(buf, self.base + offset)
    }
}

impl Image {
    /// Asks the host to start reading `len` bytes from `offset` into its
    /// page cache (POSIX_FADV_WILLNEED), without waiting. A hint: clipped
    /// to the image, and a refusal changes nothing but speed.
    pub fn will_need(&self, offset: u64, len: u64) {
        let len = len.min(self.len.saturating_sub(offset));
        if len == 0 {
            return;
        }
        let (Ok(off), Ok(len)) = (i64::try_from(self.base + offset), i64::try_from(len)) else {
            return;
        };
        // SAFETY: posix_fadvise reads no memory of ours; the fd is open.
        unsafe {
            libc::posix_fadvise(
                std::os::fd::AsRawFd::as_raw_fd(&self.file),
                off,
                len,
                libc::POSIX_FADV_WILLNEED,
            );
        }
    }

    /// Refuses an access that would reach past the end of the image.
    fn check_span(
        &self,
        offset: u64,
        len: usize,
        what: &str,
        kind: io::ErrorKind,
    ) -> io::Result<()> {
        if offset
            .checked_add(len as u64)
            .is_none_or(|end| end > self.len)
        {
            let msg = format!(
                "{what} of {len} bytes at {offset} past the end of the image ({} bytes)",
                self.len
            );
            return Err(io::Error::new(kind, msg));
        }
        Ok(())
    }

    /// Writes `buf` at `offset`. Never past the end of the image: the
    /// filesystem lives inside it, and nothing is written outside.
    pub fn write_all_at(&self, offset: u64, buf: &[u8]) -> io::Result<()> {
        let written = self.write_at(offset, buf);
        self.unlogged.fetch_add(1, Ordering::SeqCst);
        written
    }

    /// [`Image::write_all_at`] for a write the journal makes durable by
    /// its own flushes when it matters (the log, the journal superblock,
    /// a checkpoint: a durable transaction holds what it writes), so that
    /// an fsync covered by a durable commit needs no flush for it.
    pub fn write_logged_at(&self, offset: u64, buf: &[u8]) -> io::Result<()> {
        self.write_at(offset, buf)
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> io::Result<()> {
        if !self.writable {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "the image is open read-only",
            ));
        }
        self.check_span(offset, buf.len(), "write", io::ErrorKind::InvalidInput)?;
        self.refuse_if_shut()?;
        let written = self.file.write_all_at(buf, self.base + offset);
        // Recorded only once the write succeeded: a failed write changed
        // nothing the caller relies on. Recorded before it is counted: a
        // flush that counted it comes after it in the log.
        if written.is_ok() {
            self.record_write(offset, buf);
        }
        // Counted even when it failed: part of it may have been written.
        self.changes.fetch_add(1, Ordering::SeqCst);
        written?;
        Ok(())
    }
}

/// A stretch of the image mapped MAP_SHARED, written with a memory copy
/// instead of a pwrite ([`Image::map_shared`], [`Image::write_mapped`]):
/// the redo stream's appends, one system call fewer per operation. The
/// bytes land in the host's page cache as a pwrite's do, so a server that
/// dies right after keeps them (promise 1 of docs/journal.md), and the
/// image's flush (fdatasync) writes them back with the rest.
pub struct SharedMap {
    /// Image offset (relative to the region's start) of the first mapped
    /// byte the caller asked for, and how many bytes from there.
    start: u64,
    len: u64,
    /// The mapping, from `start` rounded down to a host page.
    raw: memmap2::MmapRaw,
    /// `start` less the mapping's first byte.
    lead: usize,
}

impl std::fmt::Debug for SharedMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedMap({}+{})", self.start, self.len)
    }
}

impl SharedMap {
    /// Whether `len` bytes from image offset `offset` lie inside.
    pub fn covers(&self, offset: u64, len: usize) -> bool {
        offset >= self.start
            && offset
                .checked_add(len as u64)
                .is_some_and(|end| end <= self.start + self.len)
    }
}

/// Host filesystems on which a write through a shared mapping of space
/// fallocate reserved never needs a new block (so never faults with
/// SIGBUS on a full disk): ext2/3/4 (one magic; ext2 refuses fallocate,
/// so it is never mapped) and tmpfs. Not btrfs, nor xfs, whose reflinked
/// extents are copied on write (a new block at the fault, ENOSPC there is
/// a SIGBUS), nor network filesystems.
const MAPPABLE_HOSTS: [i64; 2] = [0xEF53, 0x0102_1994];

impl Image {
    /// Maps `len` bytes from `offset` for [`Image::write_mapped`], where
    /// that is safe: a writable image on a block device, or in a file on
    /// a host filesystem where the range, once fallocated, never needs
    /// space at a write fault ([`MAPPABLE_HOSTS`]). None where it is not
    /// (the caller writes with pwrite); an error only for a range outside
    /// the image.
    pub fn map_shared(&self, offset: u64, len: u64) -> io::Result<Option<SharedMap>> {
        let n = usize::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        self.check_span(offset, n, "mapping", io::ErrorKind::InvalidInput)?;
        if !self.writable || len == 0 || self.is_shut_down() {
            return Ok(None);
        }
        let fd = std::os::fd::AsRawFd::as_raw_fd(&self.file);
        let at = self.base + offset;
        if !self.block_device {
            // SAFETY: fstatfs writes one statfs into `st`, which we own.
            let mut st: libc::statfs = unsafe { std::mem::zeroed() };
            if unsafe { libc::fstatfs(fd, &mut st) } != 0
                || !MAPPABLE_HOSTS.contains(&(st.f_type as i64))
            {
                return Ok(None);
            }
            // Blocks behind every page of the range, so that no write
            // fault allocates (a full host disk would be a SIGBUS there,
            // where a pwrite returns ENOSPC). KEEP_SIZE: the image's size
            // stays as it is; space already allocated is left alone.
            // SAFETY: fallocate reads no memory of ours; the fd is open.
            let rc = unsafe {
                libc::fallocate(
                    fd,
                    libc::FALLOC_FL_KEEP_SIZE,
                    at as libc::off_t,
                    len as libc::off_t,
                )
            };
            if rc != 0 {
                tracing::debug!(
                    "log not mapped (fallocate: {}): records written with pwrite",
                    io::Error::last_os_error()
                );
                return Ok(None);
            }
        }
        let lead = (at % HOST_PAGE) as usize;
        let mapped = memmap2::MmapOptions::new()
            .offset(at - lead as u64)
            .len(lead + n)
            .map_raw(&self.file);
        match mapped {
            Ok(raw) => Ok(Some(SharedMap {
                start: offset,
                len,
                raw,
                lead,
            })),
            Err(e) => {
                tracing::debug!("log not mapped ({e}): records written with pwrite");
                Ok(None)
            }
        }
    }

    /// [`Image::write_logged_at`] through `map`, which must cover the
    /// range (else a pwrite): a copy into the host's page cache, no system
    /// call. Recorded and counted as a write, so that crash-point testing
    /// sees it in order and the next flush is not skipped. Only for bytes
    /// of pages a pwrite already wrote since the last flush or that the
    /// host holds (the redo stream's later pieces of a block whose first
    /// piece was written whole): a fault then reads nothing from disk.
    pub fn write_mapped(&self, map: &SharedMap, offset: u64, buf: &[u8]) -> io::Result<()> {
        if !map.covers(offset, buf.len()) {
            return self.write_at(offset, buf);
        }
        self.refuse_if_shut()?;
        let i = map.lead + (offset - map.start) as usize;
        // SAFETY: `covers` keeps `i..i + buf.len()` inside the mapping,
        // which lives as long as `map`; the bytes are the image's page
        // cache, which other threads only read through pread (never
        // through this mapping), and the journal's lock serialises the
        // appends to the stream.
        unsafe {
            std::ptr::copy_nonoverlapping(buf.as_ptr(), map.raw.as_mut_ptr().add(i), buf.len());
        }
        self.record_write(offset, buf);
        self.changes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// Records a write that succeeded in the I/O log, one event per host
    /// page touched: the host writes its page cache back a page at a time,
    /// so a write spanning pages may reach the disk in part.
    fn record_write(&self, offset: u64, buf: &[u8]) {
        if let Some(log) = &self.io_log {
            let mut at = offset;
            let mut rest = buf;
            while !rest.is_empty() {
                let n = ((HOST_PAGE - at % HOST_PAGE) as usize).min(rest.len());
                log.push(IoEvent::Write {
                    offset: at,
                    data: rest[..n].to_vec(),
                });
                at += n as u64;
                rest = &rest[n..];
            }
        }
    }
}

impl Image {
    /// Makes every write so far durable (fdatasync); nothing to do when
    /// nothing was written since a flush that succeeded began (the second
    /// of several fsyncs that one durable commit covered).
    pub fn sync(&self) -> io::Result<()> {
        if self.writable {
            self.refuse_if_shut()?;
            if self.flush_failed.load(Ordering::SeqCst) {
                return Err(io::Error::from_raw_os_error(libc::EIO));
            }
            // Loaded in this order: a write counted in `at` but not in
            // `unlogged_at` is counted by the next flush.
            let unlogged_at = self.unlogged.load(Ordering::SeqCst);
            let at = self.changes.load(Ordering::SeqCst);
            if self.flushed.load(Ordering::SeqCst) > at {
                return Ok(());
            }
            // Where the flush began in the log: every write recorded
            // before it had returned, and is made durable by it; writes of
            // other threads recorded while it runs may not be.
            let began = self.io_log.as_ref().map(|l| l.pushed());
            if let Err(e) = self.file.sync_data() {
                self.flush_failed.store(true, Ordering::SeqCst);
                return Err(e);
            }
            // Flushes may overlap: the mark only moves forward.
            self.flushed.fetch_max(at + 1, Ordering::SeqCst);
            self.flushed_unlogged
                .fetch_max(unlogged_at + 1, Ordering::SeqCst);
            if let (Some(log), Some(i)) = (&self.io_log, began) {
                log.insert(i, IoEvent::Flush);
            }
        }
        Ok(())
    }
}

impl Image {
    /// Makes every write counted by `mark` durable: a flush, unless one
    /// that began after them already did.
    pub fn sync_since(&self, mark: u64) -> io::Result<()> {
        // After a shutdown or a failed flush a flush fails, even one with
        // nothing to do.
        if self.writable {
            self.refuse_if_shut()?;
            if self.flush_failed.load(Ordering::SeqCst) {
                return Err(io::Error::from_raw_os_error(libc::EIO));
            }
        }
        if self.flushed_since(mark) {
            return Ok(());
        }
        self.sync()
    }

    /// A mark of the writes issued so far that an fsync needs flushed
    /// (all but [`Image::write_logged_at`]'s), for
    /// [`Image::flushed_since`].
    pub fn write_mark(&self) -> u64 {
        self.unlogged.load(Ordering::SeqCst)
    }

    /// Whether a flush that succeeded began after every write counted by
    /// `mark` had returned (so they are all durable).
    pub fn flushed_since(&self, mark: u64) -> bool {
        self.flushed_unlogged.load(Ordering::SeqCst) > mark
    }
}

impl Image {
    /// Gives `len` bytes from `offset` back to the host: a hole punched in
    /// an image file (the size kept), a discard on a block device, as a
    /// loop device does for ext4's discards. What is read there afterwards
    /// is zeros (a file) or unspecified (a device): only for free blocks.
    /// Unsupported by the host: an error of kind Unsupported.
    pub fn punch(&self, offset: u64, len: u64) -> io::Result<()> {
        if !self.writable {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "the image is open read-only",
            ));
        }
        let Ok(n) = usize::try_from(len) else {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        };
        self.check_span(offset, n, "punch", io::ErrorKind::InvalidInput)?;
        self.refuse_if_shut()?;
        if len == 0 {
            return Ok(());
        }
        let fd = std::os::fd::AsRawFd::as_raw_fd(&self.file);
        let rc = self.punch_raw(fd, self.base + offset, len);
        let failed = (rc != 0).then(io::Error::last_os_error);
        self.changes.fetch_add(1, Ordering::SeqCst);
        if let Some(e) = failed {
            return Err(match e.raw_os_error() {
                Some(libc::EOPNOTSUPP) => io::Error::new(io::ErrorKind::Unsupported, e),
                _ => e,
            });
        }
        Ok(())
    }

    /// BLKDISCARD or a punched hole; the syscall's return value.
    fn punch_raw(&self, fd: i32, offset: u64, len: u64) -> i32 {
        if self.block_device {
            let range: [u64; 2] = [offset, len];
            // SAFETY: BLKDISCARD (_IO(0x12, 119)) reads two u64 from the
            // pointer, which `range` provides for the call.
            unsafe { libc::ioctl(fd, 0x1277, range.as_ptr()) }
        } else {
            // SAFETY: fallocate reads no memory of ours; the fd is open.
            unsafe {
                libc::fallocate(
                    fd,
                    libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                    offset as libc::off_t,
                    len as libc::off_t,
                )
            }
        }
    }
}

impl Image {
    /// Refuses every later write and flush, for good: the image stays as
    /// the writes before left it (a shutdown, as if the power went).
    pub fn shut_down(&self) {
        self.shut.store(true, Ordering::SeqCst);
    }

    /// Whether [`Image::shut_down`] was called.
    pub fn is_shut_down(&self) -> bool {
        self.shut.load(Ordering::Relaxed)
    }

    fn refuse_if_shut(&self) -> io::Result<()> {
        if self.is_shut_down() {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        Ok(())
    }
}

/// The length of a regular file or block device.
pub(crate) fn image_len(file: &File) -> io::Result<u64> {
    use std::os::unix::fs::FileTypeExt;
    let md = file.metadata()?;
    if md.file_type().is_block_device() {
        let mut size: u64 = 0;
        // BLKGETSIZE64 = _IOR(0x12, 114, size_t)
        let rc = unsafe {
            libc::ioctl(
                std::os::fd::AsRawFd::as_raw_fd(file),
                0x8008_1272,
                &mut size,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        return Ok(size);
    }
    Ok(md.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writable 8 KiB image whose writes and flushes `log` records.
    fn recorded_image() -> (Image, Arc<IoLog>) {
        let f = tempfile::tempfile().unwrap();
        f.set_len(8192).unwrap();
        let mut img = Image::new(f, true).unwrap();
        let log = IoLog::new();
        img.set_io_log(Some(log.clone()));
        (img, log)
    }

    #[test]
    fn records_successful_writes_and_flushes_in_order() {
        let (img, log) = recorded_image();
        img.write_all_at(4096, b"abc").unwrap();
        img.sync().unwrap();
        // Refused (past the end): not recorded.
        assert!(img.write_all_at(8190, b"xyz").is_err());
        img.write_all_at(0, b"d").unwrap();
        img.write_all_at(4095, b"pq").unwrap(); // straddles two pages
        let events = log.events();
        assert_eq!(
            &events[3..],
            &[
                IoEvent::Write {
                    offset: 4095,
                    data: b"p".to_vec()
                },
                IoEvent::Write {
                    offset: 4096,
                    data: b"q".to_vec()
                },
            ]
        );
        assert_eq!(
            events[..3].to_vec(),
            vec![
                IoEvent::Write {
                    offset: 4096,
                    data: b"abc".to_vec()
                },
                IoEvent::Flush,
                IoEvent::Write {
                    offset: 0,
                    data: b"d".to_vec()
                },
            ]
        );
    }

    #[test]
    fn a_mapped_write_lands_in_the_file_is_recorded_and_counted() {
        // Where tempfile puts it: ext4 and tmpfs map, other hosts do not
        // (the writes fall back to pwrite, tested elsewhere).
        let f = tempfile::tempfile().unwrap();
        f.set_len(4 * 4096).unwrap();
        let mut img = Image::new_in(
            f.try_clone().unwrap(),
            true,
            Region {
                offset: 512,
                len: None,
            },
        )
        .unwrap();
        let log = IoLog::new();
        img.set_io_log(Some(log.clone()));
        let Some(map) = img.map_shared(4096 - 512, 8192).unwrap() else {
            eprintln!("the host filesystem of the temporary directory does not map: skipped");
            return;
        };
        assert!(map.covers(4096 - 512, 8192) && !map.covers(4096 - 513, 1));
        assert!(!map.covers(4096 - 512 + 8191, 2));
        img.sync().unwrap();
        // Straddles a page (of the image's offsets, as a pwrite's events
        // are split): two events, as a pwrite's.
        img.write_mapped(&map, 8190, b"wxyz").unwrap();
        let mut b = [0u8; 4];
        f.read_exact_at(&mut b, 8190 + 512).unwrap();
        assert_eq!(&b, b"wxyz", "in the file at once, through the page cache");
        assert_eq!(
            log.events()[1..],
            [
                IoEvent::Write {
                    offset: 8190,
                    data: b"wx".to_vec()
                },
                IoEvent::Write {
                    offset: 8192,
                    data: b"yz".to_vec()
                },
            ]
        );
        // Counted: the next flush is not skipped as one with nothing new.
        img.sync().unwrap();
        assert_eq!(log.events().last(), Some(&IoEvent::Flush));
        assert_eq!(log.len(), 4);
        // Outside the mapping: a pwrite.
        img.write_mapped(&map, 0, b"q").unwrap();
        f.read_exact_at(&mut b[..1], 512).unwrap();
        assert_eq!(b[0], b'q');
        // Refused after a shutdown, as every write.
        img.shut_down();
        let e = img.write_mapped(&map, 4096, b"n").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EIO));
        // Outside the image: refused; read-only: never mapped.
        let ro = Image::new(f.try_clone().unwrap(), false).unwrap();
        assert!(ro.map_shared(0, 4096).unwrap().is_none());
        assert!(ro.map_shared(4096, 4 * 4096).is_err());
    }

    #[test]
    fn a_region_bounds_every_access() {
        let f = tempfile::tempfile().unwrap();
        f.write_all_at(&[0xaa; 16384], 0).unwrap();
        let region = Region {
            offset: 4096,
            len: Some(8192),
        };
        let img = Image::new_in(f.try_clone().unwrap(), true, region).unwrap();
        assert_eq!(img.len(), 8192);
        img.write_all_at(0, &[1; 8192]).unwrap();
        let mut b = [0u8; 8192];
        img.read_exact_at(0, &mut b).unwrap();
        assert_eq!(b, [1; 8192]);
        assert!(img.write_all_at(8191, b"xy").is_err(), "past the region");
        assert!(img.write_all_at(u64::MAX, b"x").is_err());
        assert!(img.read_exact_at(8192, &mut b[..1]).is_err());
        assert!(img.punch(4096, 8192).is_err(), "punch past the region");
        img.punch(4096, 4096).unwrap();
        let mut whole = vec![0u8; 16384];
        f.read_exact_at(&mut whole, 0).unwrap();
        assert!(
            whole[..4096].iter().all(|&x| x == 0xaa),
            "before the region"
        );
        assert!(whole[4096..8192].iter().all(|&x| x == 1));
        assert!(whole[8192..12288].iter().all(|&x| x == 0), "punched");
        assert!(
            whole[12288..].iter().all(|&x| x == 0xaa),
            "after the region"
        );
        // A region past the end of the file is refused at once.
        for bad in [
            Region {
                offset: 16385,
                len: None,
            },
            Region {
                offset: 8192,
                len: Some(8193),
            },
        ] {
            assert!(Image::new_in(f.try_clone().unwrap(), false, bad).is_err());
        }
        let to_end = Region {
            offset: 512,
            len: None,
        };
        assert_eq!(Image::new_in(f, false, to_end).unwrap().len(), 16384 - 512);
    }

    #[test]
    fn writes_and_flushes_refused_after_shutdown() {
        let (img, log) = recorded_image();
        img.write_all_at(0, b"a").unwrap();
        img.shut_down();
        assert!(img.is_shut_down());
        let e = img.write_all_at(0, b"b").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EIO));
        assert_eq!(img.sync().unwrap_err().raw_os_error(), Some(libc::EIO));
        assert_eq!(log.events().len(), 1);
        let mut b = [0u8; 1];
        img.read_exact_at(0, &mut b).unwrap();
        assert_eq!(&b, b"a");
    }
}
