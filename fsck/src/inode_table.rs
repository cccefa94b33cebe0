//! What the passes learn per inode, kept in pages allocated on first
//! write: a large filesystem whose inodes are mostly never used costs
//! memory and time only for the pages where something was recorded (an
//! 8 TiB filesystem has 268 million inodes: 2 GiB as one flat array).

use fuse4fs_format::ext4::InodeNo;

use crate::context::InodeInfo;

/// Inodes per page (48 KiB of [`InodeInfo`] at most).
pub const PAGE: u32 = 4096;

/// The entry every unrecorded inode has.
static UNUSED: InodeInfo = InodeInfo {
    ftype: 0,
    links: 0,
    refs: 0,
    empty: false,
};

/// Per-inode facts for inodes `1..=len`.
#[derive(Debug)]
pub struct InodeTable {
    pages: Vec<Option<Box<[InodeInfo]>>>,
    len: u32,
}

impl InodeTable {
    /// A table for `len` inodes, all unrecorded.
    pub fn new(len: u32) -> Self {
        InodeTable {
            pages: vec![None; len.div_ceil(PAGE) as usize],
            len,
        }
    }

    /// The number of inodes.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether the table has no inodes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entry for `ino` (1-based, at most `len`).
    pub fn get(&self, ino: InodeNo) -> &InodeInfo {
        let i = ino.0 - 1;
        match &self.pages[(i / PAGE) as usize] {
            Some(page) => &page[(i % PAGE) as usize],
            None => &UNUSED,
        }
    }

    /// The entry for `ino`, mutable (its page allocated if need be).
    pub fn get_mut(&mut self, ino: InodeNo) -> &mut InodeInfo {
        let i = ino.0 - 1;
        let page = self.pages[(i / PAGE) as usize]
            .get_or_insert_with(|| vec![InodeInfo::default(); PAGE as usize].into_boxed_slice());
        &mut page[(i % PAGE) as usize]
    }

    /// The first inode after `ino` that may hold a record: `ino + 1`
    /// within a recorded page, else the first inode of the next
    /// recorded page (`len + 1` when there is none). `InodeNo(0)` asks
    /// for the first.
    pub fn next_recorded(&self, ino: InodeNo) -> InodeNo {
        let next = ino.0.saturating_add(1);
        if next > self.len {
            return InodeNo(self.len.saturating_add(1));
        }
        let p = ((next - 1) / PAGE) as usize;
        if self.pages[p].is_some() {
            return InodeNo(next);
        }
        match self.pages[p..].iter().position(Option::is_some) {
            Some(k) => InodeNo(((p + k) as u32 * PAGE + 1).max(next)),
            None => InodeNo(self.len.saturating_add(1)),
        }
    }

    /// Whether any inode in `first..=last` has a recorded page.
    pub fn any_recorded(&self, first: InodeNo, last: InodeNo) -> bool {
        let (first, last) = (first.0, last.0.min(self.len));
        if first == 0 || first > last {
            return false;
        }
        let (a, b) = (((first - 1) / PAGE) as usize, ((last - 1) / PAGE) as usize);
        self.pages[a..=b].iter().any(Option::is_some)
    }

    /// Every recorded entry with its inode number, in order (unrecorded
    /// inodes are [`InodeInfo::default`]: not in use, never named).
    pub fn iter(&self) -> impl Iterator<Item = (InodeNo, &InodeInfo)> {
        let len = self.len;
        self.pages
            .iter()
            .enumerate()
            .filter_map(|(p, page)| page.as_ref().map(|page| (p as u32 * PAGE, page)))
            .flat_map(move |(base, page)| {
                page.iter()
                    .enumerate()
                    .map(move |(i, info)| (base + i as u32 + 1, info))
                    .take_while(move |(ino, _)| *ino <= len)
                    .map(|(ino, info)| (InodeNo(ino), info))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn n(ino: u32) -> InodeNo {
        InodeNo(ino)
    }

    #[test]
    fn pages_appear_on_first_write_only() {
        let mut t = InodeTable::new(3 * PAGE + 10);
        assert_eq!(t.iter().count(), 0);
        assert!(!t.get(n(5)).in_use());
        assert_eq!(t.next_recorded(n(0)), n(3 * PAGE + 11));
        t.get_mut(n(PAGE + 2)).ftype = 8;
        t.get_mut(n(3 * PAGE + 10)).refs = 1;
        assert!(t.get(n(PAGE + 2)).in_use());
        assert_eq!(t.get(n(3 * PAGE + 10)).refs, 1);
        // Two pages recorded, the last one cut at len.
        assert_eq!(t.iter().count(), (PAGE + 10) as usize);
        let used: Vec<InodeNo> = t
            .iter()
            .filter(|(_, i)| i.in_use())
            .map(|(n, _)| n)
            .collect();
        assert_eq!(used, [n(PAGE + 2)]);
        assert_eq!(t.next_recorded(n(0)), n(PAGE + 1));
        assert_eq!(t.next_recorded(n(PAGE + 1)), n(PAGE + 2));
        assert_eq!(t.next_recorded(n(2 * PAGE)), n(3 * PAGE + 1));
        assert_eq!(t.next_recorded(n(3 * PAGE + 10)), n(3 * PAGE + 11));
        assert!(t.any_recorded(n(1), n(PAGE + 1)));
        assert!(!t.any_recorded(n(1), n(PAGE)));
        assert!(!t.any_recorded(n(2 * PAGE + 1), n(3 * PAGE)));
        assert!(t.any_recorded(n(3 * PAGE), n(4 * PAGE)));
    }
}
