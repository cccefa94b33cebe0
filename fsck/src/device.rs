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
    len: u64,
    writable: bool,
}

impl Device {
    /// Opens `path`, for writing when `writable`.
    pub fn open(path: &Path, writable: bool) -> Result<Self> {
        let raw = OpenOptions::new()
            .read(true)
            .write(writable)
            .open(path)
            .map_err(|e| FsckError::io(format!("open {}", path.display()), e))?;
        Self::from_file(raw, writable)
    }

    /// Wraps an open file (for writing only if it was opened so and
    /// `writable`).
    pub fn from_file(raw: File, writable: bool) -> Result<Self> {
        let len = device_len(&raw)?;
        let file = RandomAccessFile::try_new(
            raw.try_clone()
                .map_err(|e| FsckError::io("duplicate the device handle", e))?,
        )
        .map_err(|e| FsckError::io("open the device", e))?;
        Ok(Device {
            file,
            raw,
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
        Self::from_file(raw, self.writable)
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
            .read_exact_at(off, buf)
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
        f.write_all_at(off, buf)
            .map_err(|e| FsckError::io(format!("write {} bytes at {off}", buf.len()), e))
    }

    /// Tells the kernel `len` bytes at `off` will be read soon (the
    /// inode-table read-ahead).
    pub fn will_need(&self, off: u64, len: u64) {
        // SAFETY: plain advice on an fd we own; a failure only loses the hint.
        unsafe {
            libc::posix_fadvise(
                self.raw.as_raw_fd(),
                off as libc::off_t,
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
