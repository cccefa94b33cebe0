//! Partition tables of whole-disk images (MBR and GPT, read with the
//! `mbrman` and `gptman` crates) and the choice of the filesystem to serve
//! in them: `-o offset=`, `-o partition=`, or the only ext2/3/4 partition.
//!
//! Nothing here writes. Every partition is checked against the file
//! (inside it, no two overlapping) before it is shown or chosen. The
//! fields read here rather than by the crates are read by name through
//! [`layout`].

mod gpt;
pub mod layout;
mod list;
mod mbr;
mod reader;
mod select;

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use zerocopy::{FromZeros, IntoBytes};

pub use list::listing;
pub use select::{Choice, ChooseError, Selection, choose};

use crate::ext4::layout::Ext4SuperBlock;
use crate::ext4::superblock::{self, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE};
use layout::{MBR_SIGNATURE, MasterBootRecord};
use reader::TableReader;

/// Which kind of table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Mbr,
    Gpt,
}

/// A partition's type, as its table gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An MBR type code.
    Mbr(u8),
    /// A GPT type GUID, as stored (mixed-endian).
    Gpt([u8; 16]),
}

/// What was found at a partition's start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ext {
    /// The volume label (may be empty).
    pub label: String,
}

/// One partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// Its number, as Linux names it (`loop0p<number>`).
    pub number: u32,
    /// First byte in the image.
    pub start: u64,
    /// Length in bytes.
    pub size: u64,
    pub kind: Kind,
    /// The GPT partition name (MBR partitions have none).
    pub name: String,
    /// An ext2/3/4 superblock at its start, if any.
    pub ext: Option<Ext>,
}

impl Partition {
    /// Whether it is an MBR extended partition (a container of others).
    pub fn is_container(&self) -> bool {
        matches!(self.kind, Kind::Mbr(sys) if mbr::is_extended(sys))
    }
}

/// A partition table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub scheme: Scheme,
    pub sector_size: u64,
    pub partitions: Vec<Partition>,
}

impl Table {
    /// The partitions that hold an ext2/3/4 filesystem.
    pub fn ext_partitions(&self) -> impl Iterator<Item = &Partition> {
        self.partitions.iter().filter(|p| p.ext.is_some())
    }
}

/// Why a partition table could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("reading the partition table: {0}")]
    Io(#[from] io::Error),
    #[error("the partition table is unreadable: {0}")]
    Unreadable(String),
    #[error("partition {number}: {why}")]
    BadEntry { number: u32, why: String },
    #[error(
        "partition {number} (bytes {start}..{end}) runs past the end of the image ({len} bytes)"
    )]
    PastEnd {
        number: u32,
        start: u64,
        end: u64,
        len: u64,
    },
    #[error("partitions {a} and {b} overlap")]
    Overlap { a: u32, b: u32 },
}

/// The length of the image file (or block device).
pub fn file_len(file: &File) -> io::Result<u64> {
    crate::fs::io::image::image_len(file)
}

/// Whether an ext2/3/4 superblock lies at `offset`.
pub fn ext_at(file: &File, offset: u64, len: u64) -> io::Result<bool> {
    Ok(probe(file, offset, len)?.is_some())
}

/// The ext2/3/4 superblock at `offset` (its label), if any, looking no
/// further than `len`.
fn probe(file: &File, offset: u64, len: u64) -> io::Result<Option<Ext>> {
    let sb_end = SUPERBLOCK_OFFSET + SUPERBLOCK_SIZE as u64;
    if offset.checked_add(sb_end).is_none_or(|end| end > len) {
        return Ok(None);
    }
    let mut sb = Ext4SuperBlock::new_zeroed();
    file.read_exact_at(sb.as_mut_bytes(), offset + SUPERBLOCK_OFFSET)?;
    if sb.s_magic.get() != superblock::MAGIC {
        return Ok(None);
    }
    let label = &sb.s_volume_name;
    let end = label.iter().position(|&b| b == 0).unwrap_or(label.len());
    Ok(Some(Ext {
        label: String::from_utf8_lossy(&label[..end]).into_owned(),
    }))
}

/// Reads the partition table of the image open as `file`: None when the
/// first sector has no boot signature (no table).
pub fn read_table(file: &File) -> Result<Option<Table>, TableError> {
    let len = file_len(file)?;
    let mut r = TableReader::new(file, len);
    let mut sector0 = MasterBootRecord::new_zeroed();
    if len < size_of::<MasterBootRecord>() as u64 {
        return Ok(None);
    }
    r.read_exact_at(0, sector0.as_mut_bytes())?;
    if sector0.signature.get() != MBR_SIGNATURE {
        return Ok(None);
    }
    let (scheme, sector_size, mut partitions) = if mbr::is_protective(&sector0)? {
        let (ss, parts) = gpt::read(&mut r, len)?;
        (Scheme::Gpt, ss, parts)
    } else {
        (Scheme::Mbr, 512, mbr::read(&mut r, len)?)
    };
    for p in partitions.iter_mut().filter(|p| !p.is_container()) {
        p.ext = probe(file, p.start, p.start + p.size)?;
    }
    Ok(Some(Table {
        scheme,
        sector_size,
        partitions,
    }))
}

/// Refuses partitions outside the file or overlapping each other (an MBR
/// extended partition holds its logical ones: it is left out of the
/// overlap check).
fn check_layout(parts: &[Partition], len: u64) -> Result<(), TableError> {
    for p in parts {
        let end = p.start.checked_add(p.size);
        if end.is_none_or(|e| e > len) {
            return Err(TableError::PastEnd {
                number: p.number,
                start: p.start,
                end: end.unwrap_or(u64::MAX),
                len,
            });
        }
    }
    let mut data: Vec<&Partition> = parts.iter().filter(|p| !p.is_container()).collect();
    data.sort_by_key(|p| p.start);
    for w in data.windows(2) {
        if w[0].start + w[0].size > w[1].start {
            return Err(TableError::Overlap {
                a: w[0].number.min(w[1].number),
                b: w[0].number.max(w[1].number),
            });
        }
    }
    Ok(())
}
