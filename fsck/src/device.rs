//! The image or block device under check: positioned reads and writes,
//! never outside it, never a write when opened read-only.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::Path;

use positioned_io::{RandomAccessFile, ReadAt, WriteAt};

use crate::error::{FsckError, Result};

/// An open device.
pub struct Device {
    file: RandomAccessFile,
    raw: File,
    /// Where the filesystem starts in the file: offsets are relative to it.
    base: u64,
    /// Bytes from `base` that may be read or written.
    len: u64,
    writable: bool,
}

impl Device {
    /// Opens `path`, for writing when `writable`.
    pub fn open(path: &Path, writable: bool) -> Result<Self> {
        Self::open_in(path, writable, 0, None)
    }

    /// Opens the `size` bytes (None: up to the end) from `offset` of
    /// `path` (a partition of a whole-disk image) as the device.
    pub fn open_in(path: &Path, writable: bool, offset: u64, size: Option<u64>) -> Result<Self> {
        let raw = OpenOptions::new()
            .read(true)
            .write(writable)
            .open(path)
            .map_err(|e| FsckError::io(format!("open {}", path.display()), e))?;
        Self::from_file_in(raw, writable, offset, size)
    }

    /// Wraps an open file (for writing only if it was opened so and
    /// `writable`).
    pub fn from_file(raw: File, writable: bool) -> Result<Self> {
        Self::from_file_in(raw, writable, 0, None)
    }

    /// [`Device::from_file`] for the `size` bytes from `offset`.
    fn from_file_in(raw: File, writable: bool, offset: u64, size: Option<u64>) -> Result<Self> {
        let file_len = device_len(&raw)?;
        let room = file_len.checked_sub(offset).ok_or_else(|| {
            FsckError::io(
                format!("offset {offset}"),
                std::io::Error::other(format!("past the end of the image ({file_len} bytes)")),
            )
        })?;
        let len = match size {
            None => room,
            Some(s) if s <= room => s,
            Some(s) => {
                return Err(FsckError::io(
                    format!("{s} bytes at offset {offset}"),
                    std::io::Error::other(format!("past the end of the image ({file_len} bytes)")),
                ));
            }
        };
        let file = RandomAccessFile::try_new(
            raw.try_clone()
                .map_err(|e| FsckError::io("duplicate the device handle", e))?,
        )
        .map_err(|e| FsckError::io("open the device", e))?;
        Ok(Device {
            file,
            raw,
            base: offset,
            len,
            writable,
        })
    }

    /// A second handle on the same device (for a read-ahead thread);
    /// writable only if this one is.
    pub fn try_clone(&self) -> Result<Device> {
        let raw = self
            .raw
            .try_clone()
            .map_err(|e| FsckError::io("duplicate the device handle", e))?;
        Self::from_file_in(raw, self.writable, self.base, Some(self.len))
    }

    /// Size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the device is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether writes are allowed.
    pub fn writable(&self) -> bool {
        self.writable
    }

    /// Reads `buf.len()` bytes at `off`; reading past the end is an error.
    pub fn read_at(&self, off: u64, buf: &mut [u8]) -> Result<()> {
        if off
            .checked_add(buf.len() as u64)
            .is_none_or(|e| e > self.len)
        {
            return Err(FsckError::io(
                format!("read {} bytes at {off}", buf.len()),
                std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
            ));
        }
        self.file
            .read_exact_at(self.base + off, buf)
            .map_err(|e| FsckError::io(format!("read {} bytes at {off}", buf.len()), e))
    }

    /// Writes `buf` at `off`, inside the device only.
    pub fn write_at(&self, off: u64, buf: &[u8]) -> Result<()> {
        if !self.writable {
            return Err(FsckError::ReadOnly(format!(
                "a repair needs to write at {off} but the device is open read-only"
            )));
        }
        if off
            .checked_add(buf.len() as u64)
            .is_none_or(|e| e > self.len)
        {
            return Err(FsckError::io(
                format!("write {} bytes at {off}", buf.len()),
                std::io::Error::other("past the end of the device"),
            ));
        }
        let mut f = &self.file;
        f.write_all_at(self.base + off, buf)
            .map_err(|e| FsckError::io(format!("write {} bytes at {off}", buf.len()), e))
    }

    /// Tells the kernel `len` bytes at `off` will be read soon (the
    /// inode-table read-ahead). Nothing for `len` 0: to posix_fadvise a
    /// length of 0 means "up to the end of the file", which on a large
    /// sparse image read gigabytes of zeros for a group with no inode
    /// table in use.
    pub fn will_need(&self, off: u64, len: u64) {
        if len == 0 {
            return;
        }
        // SAFETY: plain advice on an fd we own; a failure only loses the hint.
        unsafe {
            libc::posix_fadvise(
                self.raw.as_raw_fd(),
                (self.base + off) as libc::off_t,
                len as libc::off_t,
                libc::POSIX_FADV_WILLNEED,
            );
        }
    }

    /// Makes every write durable.
    pub fn flush(&self) -> Result<()> {
        if !self.writable {
            return Ok(());
        }
        self.raw
            .sync_all()
            .map_err(|e| FsckError::io("flush the device", e))
    }
}

fn device_len(f: &File) -> Result<u64> {
    let meta = f
        .metadata()
        .map_err(|e| FsckError::io("stat the device", e))?;
    if meta.is_file() {
        return Ok(meta.len());
    }
    // A block device: its size comes from seeking to the end.
    use std::io::{Seek, SeekFrom};
    let mut g = f;
    g.seek(SeekFrom::End(0))
        .map_err(|e| FsckError::io("find the device size", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages of `f` in the page cache (mincore over a mapping of it).
    fn cached_pages(f: &File, len: usize) -> usize {
        let page = 4096;
        // SAFETY: a private read-only mapping of a file we hold open,
        // unmapped before returning; mincore writes one byte per page
        // into a vector of that many bytes.
        unsafe {
            let map = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                0,
            );
            assert_ne!(map, libc::MAP_FAILED, "mmap");
            let mut vec = vec![0u8; len.div_ceil(page)];
            let rc = libc::mincore(map, len, vec.as_mut_ptr());
            libc::munmap(map, len);
            assert_eq!(rc, 0, "mincore");
            vec.iter().filter(|&&b| b & 1 != 0).count()
        }
    }

    /// A read-ahead of nothing (a group with no inode table in use)
    /// reads nothing: posix_fadvise takes a length of 0 as "to the end
    /// of the file", which made a check of a large sparse image read
    /// the whole of it.
    #[test]
    fn will_need_of_nothing_reads_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("img");
        let len = 32usize << 20;
        std::fs::write(&path, vec![0x5Au8; len]).unwrap();
        let dev = Device::open(&path, false).unwrap();
        let f = File::open(&path).unwrap();
        f.sync_all().unwrap();
        // SAFETY: advice on an fd we own.
        let rc = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        assert_eq!(rc, 0);
        let before = cached_pages(&f, len);
        assert!(before < 64, "the page cache kept {before} pages");
        // The kernel may read ahead asynchronously: give it time.
        let settle = || std::thread::sleep(std::time::Duration::from_millis(300));
        dev.will_need(1 << 20, 0);
        settle();
        let after = cached_pages(&f, len);
        assert_eq!(after, before, "pages read ahead for nothing");
        // A real request is still passed on (the kernel caps how much
        // one call reads).
        // Asynchronous, and slower on a loaded machine: waited for up to
        // 10 s (a fixed 300 ms failed once under load).
        dev.will_need(1 << 20, 4 << 20);
        let mut real = cached_pages(&f, len);
        for _ in 0..100 {
            if real > before {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            real = cached_pages(&f, len);
        }
        assert!(real > before, "nothing read ahead ({real} pages)");
    }

    /// --offset/--size: offsets are relative to the partition, and
    /// nothing outside it is read or written, even by a clone.
    #[test]
    fn a_partition_bounds_every_access() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("img");
        std::fs::write(&path, vec![0xAAu8; 16384]).unwrap();
        let dev = Device::open_in(&path, true, 4096, Some(8192)).unwrap();
        assert_eq!(dev.len(), 8192);
        dev.write_at(0, &[1; 8192]).unwrap();
        let mut b = [0u8; 8192];
        dev.try_clone().unwrap().read_at(0, &mut b).unwrap();
        assert_eq!(b, [1; 8192]);
        assert!(dev.write_at(8190, b"xyz").is_err());
        assert!(dev.try_clone().unwrap().write_at(8192, b"x").is_err());
        assert!(dev.read_at(8191, &mut b[..2]).is_err());
        let all = std::fs::read(&path).unwrap();
        assert!(all[..4096].iter().all(|&x| x == 0xAA));
        assert!(all[4096..12288].iter().all(|&x| x == 1));
        assert!(all[12288..].iter().all(|&x| x == 0xAA));
        assert!(Device::open_in(&path, false, 16385, None).is_err());
        assert!(Device::open_in(&path, false, 8192, Some(8193)).is_err());
        assert_eq!(
            Device::open_in(&path, false, 512, None).unwrap().len(),
            16384 - 512
        );
    }
}
