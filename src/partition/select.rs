//! Which part of the image holds the filesystem to serve.

use std::fs::File;
use std::path::Path;

use super::list::{brief, type_name};
use super::{TableError, ext_at, file_len, read_table};
use crate::fs::io::image::Region;

/// What the options asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Selection {
    /// The filesystem at offset 0, else the only ext2/3/4 partition.
    #[default]
    Auto,
    /// `-o offset=BYTES`: from there to the end of the file.
    Offset(u64),
    /// `-o partition=N`.
    Partition(u32),
}

/// The region chosen, and which partition it is (None: no partition).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    pub region: Region,
    pub partition: Option<u32>,
}

/// Why no region could be chosen (each a one-line message).
#[derive(Debug, thiserror::Error)]
pub enum ChooseError {
    #[error("{image}: {source}")]
    Table { image: String, source: TableError },
    #[error("{image}: {source}")]
    Io {
        image: String,
        source: std::io::Error,
    },
    #[error("offset={offset}: not a multiple of 512 bytes (a sector)")]
    Unaligned { offset: u64 },
    #[error("offset={offset}: past the end of {image} ({len} bytes)")]
    OffsetPastEnd {
        image: String,
        offset: u64,
        len: u64,
    },
    #[error("partition={number}: {image} has no partition table")]
    NoTable { image: String, number: u32 },
    #[error("partition={number}: no such partition in {image} (it has {have})")]
    NoSuchPartition {
        image: String,
        number: u32,
        have: String,
    },
    #[error("partition={number}: no ext2/3/4 filesystem in it ({what})")]
    NotExt { number: u32, what: String },
    #[error(
        "{image}: no ext2/3/4 filesystem at offset 0 nor in any partition ({have}; `fuse4fs --list {image}` shows the table)"
    )]
    NoExt { image: String, have: String },
    #[error(
        "{image}: {count} partitions hold ext2/3/4 filesystems ({have}): choose one with -o partition=N (`fuse4fs --list {image}` shows the table)"
    )]
    Ambiguous {
        image: String,
        count: usize,
        have: String,
    },
    #[error("{image}: no ext2/3/4 filesystem at offset 0, and {source}")]
    AutoTable { image: String, source: TableError },
}

/// Chooses the region of `image` (open as `file`) that `sel` names.
pub fn choose(image: &Path, file: &File, sel: Selection) -> Result<Choice, ChooseError> {
    let name = image.display().to_string();
    let io = |source| ChooseError::Io {
        image: name.clone(),
        source,
    };
    let len = file_len(file).map_err(io)?;
    let whole = Choice {
        region: Region::WHOLE,
        partition: None,
    };
    match sel {
        Selection::Offset(offset) => {
            if offset % 512 != 0 {
                return Err(ChooseError::Unaligned { offset });
            }
            if offset >= len {
                return Err(ChooseError::OffsetPastEnd {
                    image: name,
                    offset,
                    len,
                });
            }
            Ok(Choice {
                region: Region { offset, len: None },
                partition: None,
            })
        }
        Selection::Partition(number) => {
            let table = read_table(file)
                .map_err(|source| ChooseError::Table {
                    image: name.clone(),
                    source,
                })?
                .ok_or_else(|| ChooseError::NoTable {
                    image: name.clone(),
                    number,
                })?;
            let Some(p) = table.partitions.iter().find(|p| p.number == number) else {
                let have = table
                    .partitions
                    .iter()
                    .map(|p| p.number.to_string())
                    .collect::<Vec<_>>();
                let have = if have.is_empty() {
                    "no partitions".into()
                } else {
                    format!("partitions {}", have.join(", "))
                };
                return Err(ChooseError::NoSuchPartition {
                    image: name,
                    number,
                    have,
                });
            };
            if p.ext.is_none() {
                return Err(ChooseError::NotExt {
                    number,
                    what: type_name(&p.kind),
                });
            }
            Ok(Choice {
                region: Region {
                    offset: p.start,
                    len: Some(p.size),
                },
                partition: Some(number),
            })
        }
        Selection::Auto => {
            if ext_at(file, 0, len).map_err(io)? {
                return Ok(whole);
            }
            let table = match read_table(file) {
                Ok(Some(t)) => t,
                // No table: the open says what is wrong with offset 0.
                Ok(None) => return Ok(whole),
                Err(source) => {
                    return Err(ChooseError::AutoTable {
                        image: name,
                        source,
                    });
                }
            };
            let ext: Vec<_> = table.ext_partitions().collect();
            let have = |ps: &mut dyn Iterator<Item = &super::Partition>| {
                let v: Vec<String> = ps.map(brief).collect();
                if v.is_empty() {
                    "the table is empty".into()
                } else {
                    v.join("; ")
                }
            };
            match ext.as_slice() {
                [p] => Ok(Choice {
                    region: Region {
                        offset: p.start,
                        len: Some(p.size),
                    },
                    partition: Some(p.number),
                }),
                [] => Err(ChooseError::NoExt {
                    have: have(&mut table.partitions.iter()),
                    image: name,
                }),
                many => Err(ChooseError::Ambiguous {
                    count: many.len(),
                    have: have(&mut many.iter().copied()),
                    image: name,
                }),
            }
        }
    }
}
