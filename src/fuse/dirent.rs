//! Packing READDIR / READDIRPLUS replies: a [`DirSink`] that appends
//! `fuse_dirent` / `fuse_direntplus` records, each padded to 8 bytes, up to
//! the size the kernel asked for.

use zerocopy::IntoBytes;

use super::abi::{FuseDirent, FuseDirentplus, fuse_rec_align};
use super::ops::{DirEntry, DirSink, Entry};
use super::reply::entry_out;

/// A reply buffer for one READDIR(PLUS) request.
#[derive(Debug)]
pub struct DirBuf {
    buf: Vec<u8>,
    capacity: usize,
    plus: bool,
}

impl DirBuf {
    /// A buffer for at most `capacity` bytes of records; `plus` selects the
    /// READDIRPLUS record format.
    pub fn new(capacity: usize, plus: bool) -> Self {
        DirBuf {
            buf: Vec::with_capacity(capacity.min(1 << 20)),
            capacity,
            plus,
        }
    }

    /// Size of the record an entry with a name of `namelen` bytes takes.
    pub fn record_len(namelen: usize, plus: bool) -> usize {
        let fixed = if plus {
            core::mem::size_of::<FuseDirentplus>()
        } else {
            core::mem::size_of::<FuseDirent>()
        };
        fuse_rec_align(fixed + namelen)
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The packed records.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

impl DirSink for DirBuf {
    fn add(&mut self, dirent: &DirEntry<'_>, entry: Option<&Entry>) -> bool {
        let reclen = Self::record_len(dirent.name.len(), self.plus);
        if self.buf.len() + reclen > self.capacity {
            return false;
        }
        let d = FuseDirent {
            ino: dirent.ino,
            off: dirent.next_offset,
            namelen: dirent.name.len() as u32,
            typ: u32::from(dirent.kind),
        };
        let start = self.buf.len();
        if self.plus {
            // No lookup for this entry: a zeroed entry_out (node id 0).
            let e = entry.map(entry_out).unwrap_or_default();
            self.buf.extend_from_slice(
                FuseDirentplus {
                    entry_out: e,
                    dirent: d,
                }
                .as_bytes(),
            );
        } else {
            self.buf.extend_from_slice(d.as_bytes());
        }
        self.buf.extend_from_slice(dirent.name);
        self.buf.resize(start + reclen, 0);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuse::ids::NodeId;
    use crate::fuse::ops::Attr;
    use std::time::Duration;
    use zerocopy::FromBytes;

    fn de(name: &[u8], next: u64) -> DirEntry<'_> {
        DirEntry {
            ino: 10 + next,
            next_offset: next,
            kind: libc::DT_REG,
            name,
        }
    }

    #[test]
    fn records_are_aligned_and_decodable() {
        let mut b = DirBuf::new(4096, false);
        assert!(b.add(&de(b"a", 1), None));
        assert!(b.add(&de(b"12345678", 2), None));
        assert!(b.add(&de(b"123456789", 3), None));
        let bytes = b.into_bytes();
        // 24 + 1 -> 32, 24 + 8 -> 32, 24 + 9 -> 40
        assert_eq!(bytes.len(), 32 + 32 + 40);
        let mut off = 0;
        let mut names = Vec::new();
        while off < bytes.len() {
            assert_eq!(off % 8, 0);
            let (d, _) = FuseDirent::read_from_prefix(&bytes[off..]).unwrap();
            let name = &bytes[off + 24..off + 24 + d.namelen as usize];
            names.push(name.to_vec());
            assert_eq!(d.typ, u32::from(libc::DT_REG));
            assert_eq!(d.ino, 10 + d.off);
            let rec = DirBuf::record_len(name.len(), false);
            assert!(
                bytes[off + 24 + name.len()..off + rec]
                    .iter()
                    .all(|&x| x == 0),
                "zero padding"
            );
            off += rec;
        }
        assert_eq!(
            names,
            vec![b"a".to_vec(), b"12345678".to_vec(), b"123456789".to_vec()]
        );
    }

    #[test]
    fn full_buffer_rejects_without_adding() {
        let mut b = DirBuf::new(64, false);
        assert!(b.add(&de(b"first", 1), None)); // 32 bytes
        assert!(b.add(&de(b"second", 2), None)); // 32 bytes: exactly full
        assert!(!b.add(&de(b"x", 3), None));
        assert_eq!(b.into_bytes().len(), 64);

        let mut b = DirBuf::new(10, false);
        assert!(!b.add(&de(b"x", 1), None));
        assert!(b.is_empty());
    }

    #[test]
    fn plus_records_carry_the_entry() {
        let entry = Entry {
            nodeid: NodeId(77),
            generation: 3,
            attr: Attr {
                ino: 12,
                mode: 0o100644,
                ..Default::default()
            },
            entry_ttl: Duration::from_secs(2),
            attr_ttl: Duration::from_secs(1),
        };
        let mut b = DirBuf::new(1000, true);
        assert!(b.add(&de(b"file", 1), Some(&entry)));
        assert!(b.add(&de(b"nolookup", 2), None));
        let bytes = b.into_bytes();
        assert_eq!(
            bytes.len(),
            DirBuf::record_len(4, true) + DirBuf::record_len(8, true)
        );
        let (p, _) = FuseDirentplus::read_from_prefix(&bytes).unwrap();
        assert_eq!(
            (
                p.entry_out.nodeid,
                p.entry_out.entry_valid,
                p.entry_out.attr.ino
            ),
            (NodeId(77), 2, 12)
        );
        assert_eq!(p.dirent.namelen, 4);
        let second = DirBuf::record_len(4, true);
        let (p2, _) = FuseDirentplus::read_from_prefix(&bytes[second..]).unwrap();
        assert_eq!(p2.entry_out.nodeid, NodeId::NONE);
        assert_eq!(&bytes[second + 152..second + 160], b"nolookup");

        let mut small = DirBuf::new(DirBuf::record_len(4, true), true);
        assert!(small.add(&de(b"file", 1), Some(&entry)));
        assert!(!small.add(&de(b"f", 2), Some(&entry)));
    }
}
