//! The reader the partition table crates get: the image file seen through
//! `Read + Seek`, never past its end, with a budget of bytes so that a
//! hostile table (an endless chain of extended boot records, a huge entry
//! array) ends in an error instead of a long or unbounded scan.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;

/// Bytes the table crates may read in all (a GPT's 4096-entry array is
/// 512 KiB; both sector sizes and the backup header are tried).
pub const READ_BUDGET: u64 = 8 << 20;

/// Reads are served from one cached chunk of this size: the crates decode
/// field by field.
const CHUNK: u64 = 64 << 10;

/// A bounded, budgeted reader over the image file.
pub struct TableReader<'a> {
    file: &'a File,
    len: u64,
    pos: u64,
    spent: u64,
    chunk_at: u64,
    chunk: Vec<u8>,
    /// Set once a read was refused for the budget (the crates replace our
    /// error by their own).
    exhausted: bool,
}

impl<'a> TableReader<'a> {
    /// A reader over the first `len` bytes of `file`.
    pub fn new(file: &'a File, len: u64) -> Self {
        TableReader {
            file,
            len,
            pos: 0,
            spent: 0,
            chunk_at: 0,
            chunk: Vec::new(),
            exhausted: false,
        }
    }

    /// Fills `buf` from `at` (whole, or an error): for reads of our own.
    pub fn read_exact_at(&mut self, at: u64, buf: &mut [u8]) -> io::Result<()> {
        self.pos = at;
        self.read_exact(buf)
    }

    /// The error for a crate's failure `what`: the budget's, if that was
    /// the cause (the crates report it as a failed decode).
    pub fn failure(&self, what: String) -> super::TableError {
        super::TableError::Unreadable(if self.exhausted {
            budget_message()
        } else {
            what
        })
    }

    /// Loads the chunk holding `pos`.
    fn load(&mut self) -> io::Result<()> {
        let at = self.pos - self.pos % CHUNK;
        let n = CHUNK.min(self.len - at);
        self.spent += n;
        if self.spent > READ_BUDGET {
            self.exhausted = true;
            return Err(io::Error::new(io::ErrorKind::InvalidData, budget_message()));
        }
        self.chunk.resize(n as usize, 0);
        self.file.read_exact_at(&mut self.chunk, at)?;
        self.chunk_at = at;
        Ok(())
    }
}

fn budget_message() -> String {
    format!(
        "it needs more than {READ_BUDGET} bytes read (a chain of extended boot records or an entry array that long): refused"
    )
}

impl Read for TableReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let cached =
            self.pos >= self.chunk_at && self.pos < self.chunk_at + self.chunk.len() as u64;
        if !cached {
            self.load()?;
        }
        let from = (self.pos - self.chunk_at) as usize;
        let n = buf.len().min(self.chunk.len() - from);
        buf[..n].copy_from_slice(&self.chunk[from..from + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for TableReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let base = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        // Past the end is allowed (reads there return nothing), before
        // the start is not, as with a file.
        self.pos = base.ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_stop_at_the_end_and_at_the_budget() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&[7u8; 1000]).unwrap();
        let mut r = TableReader::new(&f, 1000);
        let mut b = [0u8; 16];
        r.read_exact_at(992, &mut b[..8]).unwrap();
        assert_eq!(b[..8], [7u8; 8]);
        assert!(r.read_exact_at(995, &mut b).is_err(), "past the end");
        assert_eq!(r.seek(SeekFrom::End(0)).unwrap(), 1000);
        assert!(r.seek(SeekFrom::Current(-2000)).is_err());

        let big = tempfile::tempfile().unwrap();
        big.set_len(READ_BUDGET * 2).unwrap();
        let mut r = TableReader::new(&big, READ_BUDGET * 2);
        let mut at = 0;
        let e = loop {
            match r.read_exact_at(at, &mut b) {
                Ok(()) => at += CHUNK,
                Err(e) => break e,
            }
        };
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert_eq!(at, READ_BUDGET, "refused once the budget is spent");
    }
}
