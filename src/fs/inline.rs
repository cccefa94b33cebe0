//! New inline data, as the kernel's fs/ext4/inline.c makes it on an
//! inline_data filesystem: a regular file's first bytes and a new
//! directory's entries live in the inode (i_block's 60 bytes, then the
//! value of the in-inode `system.data` attribute) until they no longer fit.
//!
//! What the kernel does, checked on a loop-mounted image (4 KiB blocks,
//! 256-byte inodes, i_extra_isize 32, 128 bytes of inline room):
//! - a new regular file is not inline (EXTENTS, size 0, no system.data);
//!   a write ending at most at the inline room makes it inline (flag
//!   INLINE_DATA alone, no blocks, system.data `end - 60` bytes, empty up
//!   to 60); a write past the room converts it to an extent file;
//! - truncating an inline file down keeps it inline (system.data cut to
//!   `size - 60`, i_block zeroed past the size); truncating it up stays
//!   inline within the bytes it stores (60 + the value), else converts;
//! - mkdir makes ".." (the parent's number in i_block's first 4 bytes)
//!   and one empty record over the other 56 bytes, size 60, system.data
//!   empty; when i_block is full, system.data takes all the room at
//!   once (68 bytes here, size 128), and the directory converts to a
//!   block when an entry fits neither (`dir/write.rs`).
//!
//! The kernel decides on an in-memory state (EXT4_STATE_MAY_INLINE_DATA)
//! set on a new inode and dropped at a conversion or when the inode
//! leaves its cache (reloaded, only inodes already inline get it back).
//! A server keeps no such state across restarts; here a regular file
//! without inline data may become inline when it maps no block, which is
//! what a new file is and what a kernel-cached one would do.

use super::journal::transaction::Transaction;
use super::{Fs, FsError, Result};
use crate::ext4::InodeNo;
use crate::ext4::inode::{I_BLOCK_SIZE, Inode, flags};
use crate::ext4::layout::xattr::Ext4XattrIbodyHeader;
use crate::ext4::layout::{Ext4DirEntry2, Ext4ExtentHeader, Ext4InlineDotdot};
use crate::ext4::superblock::incompat;
use crate::ext4::xattr;

/// Bytes of a new inline directory's i_block before its entries: the
/// parent's inode number (EXT4_INLINE_DOTDOT_SIZE).
const DOTDOT: usize = Ext4InlineDotdot::SIZE;

/// Bytes of the in-inode xattr header (the magic).
const IBODY_HEADER: usize = Ext4XattrIbodyHeader::SIZE;

/// The in-inode name of the attribute holding inline data past i_block.
const DATA_NAME: &[u8] = b"data";

/// The kernel's `get_max_inline_xattr_value_size`: how long the
/// `system.data` value of `inode` may grow, from the free room of its
/// in-inode xattr area (the value it already has counts as free). 0 when
/// the inode has no such area.
pub(crate) fn max_value_size(inode: &Inode) -> usize {
    let area = inode.ibody_xattrs.len();
    if inode.extra_isize == 0 || area < IBODY_HEADER {
        return 0;
    }
    // Value offsets count from the first entry, after the header.
    let mut min_offs = area - IBODY_HEADER;
    let name_entry = xattr::entry_len(DATA_NAME.len());
    let Ok(placed) = xattr::parse_ibody_placed(&inode.ibody_xattrs) else {
        return 0;
    };
    if placed.is_empty() {
        // The kernel keeps 4 bytes for the list's terminator and rounds.
        return pad4(min_offs.saturating_sub(name_entry + 3 + 4));
    }
    let mut list_end = 0;
    let mut data_value = None;
    for p in &placed {
        if !p.entry.value.is_empty() {
            min_offs = min_offs.min(p.value_offs as usize);
        }
        if is_data(&p.entry) {
            data_value = Some(p.entry.value.len());
        }
        list_end += xattr::entry_len(p.entry.name.len());
    }
    let free = min_offs as isize - list_end as isize - 4;
    if let Some(len) = data_value {
        return (free + xattr::value_len(len) as isize).max(0) as usize;
    }
    let free = free - name_entry as isize;
    if free > 3 { pad4(free as usize - 3) } else { 0 }
}

/// The kernel's `ext4_get_max_inline_size`: the most bytes `inode` can
/// hold inline, 0 when system.data could hold no value at all.
pub(crate) fn max_inline_size(inode: &Inode) -> usize {
    match max_value_size(inode) {
        0 => 0,
        v => I_BLOCK_SIZE + v,
    }
}

/// Bytes an inline inode stores: i_block plus its system.data value
/// (the kernel's i_inline_size).
fn stored_size(inode: &Inode) -> usize {
    I_BLOCK_SIZE + data_value(inode).len()
}

fn data_value(inode: &Inode) -> Vec<u8> {
    xattr::parse_ibody(&inode.ibody_xattrs)
        .unwrap_or_default()
        .into_iter()
        .find(is_data)
        .map(|e| e.value)
        .unwrap_or_default()
}

/// Whether `e` is system.data, where inline data past i_block lives.
pub(super) fn is_data(e: &xattr::XattrEntry) -> bool {
    e.index == xattr::INDEX_SYSTEM && e.name == DATA_NAME
}

fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

/// Whether a file without inline data maps no block: an empty extent
/// root, or a block map of zeros.
fn maps_nothing(inode: &Inode) -> bool {
    if inode.has_flag(flags::EXTENTS) {
        // eh_entries 0 in a root of depth 0.
        let h = Ext4ExtentHeader::of(&inode.block).expect("i_block holds a header");
        h.eh_entries.get() == 0 && h.eh_depth.get() == 0
    } else {
        inode.block.iter().all(|&b| b == 0)
    }
}

impl Fs {
    /// st_blocks as the kernel's ext4_file_getattr shows it: i_blocks,
    /// plus the bytes of an inline-data regular file counted in sectors
    /// (so that tools do not take it for a sparse file).
    pub fn shown_blocks(&self, inode: &Inode) -> u64 {
        let inline = if inode.is_reg() && inode.has_flag(flags::INLINE_DATA) {
            inode.size.div_ceil(512)
        } else {
            0
        };
        inode.blocks_512 + inline
    }

    fn inline_data_fs(&self) -> bool {
        self.superblock().has_incompat(incompat::INLINE_DATA)
    }

    /// Writes `data` at `offset` into the inode itself when the file is
    /// inline, or may become inline, and the bytes up to the write's end
    /// fit (`ext4_try_to_write_inline_data`); false when they do not (the
    /// caller converts an inline file and writes blocks). The caller sets
    /// the size and times.
    pub(crate) fn write_inline(
        &self,
        tx: &mut Transaction<'_>,
        inode: &mut Inode,
        offset: u64,
        data: &[u8],
    ) -> Result<bool> {
        let inline = inode.has_flag(flags::INLINE_DATA);
        let may = inline
            || (self.inline_data_fs()
                && inode.is_reg()
                && !inode.has_flag(flags::DAX)
                && maps_nothing(inode));
        let end = offset + data.len() as u64;
        if !may || end.max(inode.size) > max_inline_size(inode) as u64 {
            return Ok(false);
        }
        let end = end as usize;
        // What is stored now (nothing for a file becoming inline: its
        // i_block held an empty mapping).
        let mut bytes = if inline {
            let mut b = inode.block.to_vec();
            b.extend_from_slice(&data_value(inode));
            b
        } else {
            vec![0u8; I_BLOCK_SIZE]
        };
        // A file becoming inline stores up to its size, as the kernel's
        // ext4_create_inline_data; an inline one grows to the write's end.
        let want = if inline {
            end
        } else {
            end.max(inode.size as usize)
        };
        if bytes.len() < want {
            bytes.resize(want, 0);
        }
        // Stored bytes past the size are zeros to a reader; a write past
        // the end must not bring back what another writer left there.
        let size = (inode.size as usize).min(bytes.len());
        bytes[size..].fill(0);
        bytes[offset as usize..end].copy_from_slice(data);
        // The room was worked out as the kernel does; should the area
        // still not take the value, the bytes go to blocks instead.
        match tx.set_inline_data_xattr(inode, &bytes[I_BLOCK_SIZE..]) {
            Err(FsError::NoSpace) => return Ok(false),
            r => r?,
        }
        inode.block.copy_from_slice(&bytes[..I_BLOCK_SIZE]);
        inode.flags = (inode.flags | flags::INLINE_DATA) & !flags::EXTENTS;
        Ok(true)
    }

    /// Sets the size of an inline file when it stays inline
    /// (`ext4_inline_data_truncate` down; up within the bytes it stores),
    /// false when it has to convert first. Stored bytes past the new size
    /// are zeroed and system.data cut to it.
    pub(crate) fn truncate_inline(
        &self,
        tx: &mut Transaction<'_>,
        inode: &mut Inode,
        size: u64,
    ) -> Result<bool> {
        let stored = stored_size(inode);
        if size > stored as u64 {
            return Ok(false);
        }
        let size = size as usize;
        let mut bytes = inode.block.to_vec();
        bytes.extend_from_slice(&data_value(inode));
        let from = size.min(inode.size as usize).min(bytes.len());
        bytes[from..].fill(0);
        let keep = if size < stored {
            I_BLOCK_SIZE.max(size)
        } else {
            stored
        };
        tx.set_inline_data_xattr(inode, &bytes[I_BLOCK_SIZE..keep])?;
        inode.block.copy_from_slice(&bytes[..I_BLOCK_SIZE]);
        Ok(true)
    }
}

impl Transaction<'_> {
    /// Makes the new directory `dir` inline as `ext4_try_create_inline_dir`
    /// does, when the filesystem has inline_data and the inode has room;
    /// false otherwise (the caller gives it a block).
    pub(crate) fn inline_dir_init(&mut self, dir: &mut Inode, parent: InodeNo) -> Result<bool> {
        if !self.fs().superblock().has_incompat(incompat::INLINE_DATA)
            || max_inline_size(dir) < I_BLOCK_SIZE
        {
            return Ok(false);
        }
        match self.set_inline_data_xattr(dir, &[]) {
            Err(FsError::NoSpace) => return Ok(false),
            r => r?,
        }
        let mut block = [0u8; I_BLOCK_SIZE];
        Ext4InlineDotdot::of_mut(&mut block)
            .expect("i_block holds the parent")
            .inode
            .set(parent.0);
        // One empty record (inode 0) over the rest.
        let rec_len = (I_BLOCK_SIZE - DOTDOT) as u16;
        Ext4DirEntry2::of_mut(&mut block[DOTDOT..])
            .expect("i_block holds an entry after the parent")
            .rec_len
            .set(rec_len);
        dir.block = block;
        dir.flags = (dir.flags | flags::INLINE_DATA) & !flags::EXTENTS;
        dir.size = I_BLOCK_SIZE as u64;
        Ok(true)
    }

    /// `ext4_update_inline_dir`: the inline directory `dir`, its i_block
    /// full and its system.data value empty, takes all the room its inode
    /// has for the value at once (one empty record over it) when that is
    /// more than the smallest record; its size grows to match. Nothing
    /// changes otherwise (the caller then converts it to a block).
    pub(crate) fn grow_inline_dir(&mut self, dir: &mut Inode) -> Result<()> {
        // ext4_dir_rec_len(1): the smallest record.
        const MIN_REC: usize = 12;
        let room = max_value_size(dir);
        if room <= MIN_REC || room > u16::MAX as usize {
            return Ok(());
        }
        let mut value = vec![0u8; room];
        Ext4DirEntry2::of_mut(&mut value)
            .expect("room for the smallest record")
            .rec_len
            .set(room as u16);
        match self.set_inline_data_xattr(dir, &value) {
            Err(FsError::NoSpace) => return Ok(()),
            r => r?,
        }
        dir.size = (I_BLOCK_SIZE + room) as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext4::superblock::{Superblock, test_superblock_bytes};

    fn inode_with(ibody: Vec<u8>) -> Inode {
        let sb = Superblock::parse(&test_superblock_bytes(2, 0, 0, 0)).unwrap();
        let mut i = Inode::new_empty(&sb, InodeNo(12));
        i.extra_isize = 32;
        i.ibody_xattrs = ibody;
        i
    }

    fn area(entries: &[xattr::XattrEntry]) -> Vec<u8> {
        let rank = vec![0; entries.len()];
        xattr::build_ibody(entries, &rank, 96).unwrap()
    }

    fn entry(index: u8, name: &[u8], len: usize) -> xattr::XattrEntry {
        xattr::XattrEntry {
            index,
            name: name.to_vec(),
            value: vec![7; len],
            value_inode: None,
        }
    }

    /// 256-byte inodes with i_extra_isize 32 hold 128 bytes inline (what
    /// the kernel stored in a 128-byte file and refused for 129).
    #[test]
    fn room_of_a_256_byte_inode() {
        assert_eq!(max_inline_size(&inode_with(vec![0; 96])), 128);
        // With system.data present (any length) the room is the same.
        for len in [0, 1, 40, 68] {
            let i = inode_with(area(&[entry(xattr::INDEX_SYSTEM, b"data", len)]));
            assert_eq!(max_inline_size(&i), 128, "value {len}");
        }
        // No in-inode area, or no extra fields: nothing inline.
        assert_eq!(max_inline_size(&inode_with(Vec::new())), 0);
        let mut i = inode_with(vec![0; 96]);
        i.extra_isize = 0;
        assert_eq!(max_inline_size(&i), 0);
    }

    /// Another attribute takes its entry and value from the room; when
    /// no value byte is left the inode cannot be inline at all.
    #[test]
    fn room_after_other_attributes() {
        // 92 bytes after the header, less the terminator: user.a takes
        // 20 + its value, system.data's entry 20.
        let i = inode_with(area(&[entry(xattr::INDEX_USER, b"a", 8)]));
        assert_eq!(max_value_size(&i), 88 - 28 - 20);
        let i = inode_with(area(&[entry(xattr::INDEX_USER, b"a", 44)]));
        assert_eq!(max_value_size(&i), 4);
        let i = inode_with(area(&[entry(xattr::INDEX_USER, b"a", 48)]));
        assert_eq!(max_value_size(&i), 0);
        assert_eq!(max_inline_size(&i), 0);
    }

    #[test]
    fn an_inline_files_bytes_count_in_its_shown_blocks() {
        let (_dir, fs) = crate::fs::inode::tests::fresh(true);
        let mut i = inode_with(Vec::new());
        i.mode = crate::ext4::inode::mode::S_IFREG | 0o644;
        i.size = 513;
        i.blocks_512 = 8;
        assert_eq!(fs.shown_blocks(&i), 8);
        i.flags |= flags::INLINE_DATA;
        assert_eq!(fs.shown_blocks(&i), 8 + 2);
        i.mode = crate::ext4::inode::mode::S_IFDIR | 0o755;
        assert_eq!(fs.shown_blocks(&i), 8);
    }
}
