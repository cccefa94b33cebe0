//! Extended attributes: the in-inode area, external xattr blocks, their
//! checksum, the mapping between on-disk name indexes and the names the VFS
//! shows, and ext4's compact POSIX ACL encoding.
//!
//! Layout (both places): a magic word (plus, in a block, the rest of a
//! 32-byte header), then a list of entries padded to 4 bytes and ended by
//! four zero bytes, then values growing down from the end of the area. An
//! entry is
//!
//! ```text
//! 0  u8    e_name_len
//! 1  u8    e_name_index   namespace, see vfs_name()
//! 2  le16  e_value_offs   from the first entry (in-inode) or block start
//! 4  le32  e_value_inum   nonzero: value lives in an inode (ea_inode)
//! 8  le32  e_value_size
//! 12 le32  e_hash
//! 16 [u8]  e_name         not NUL-terminated
//! ```
//!
//! Everything here treats its input as hostile: every offset and length is
//! checked against the slice and a bad one is a [`FormatError`], never a
//! panic. The checks follow the kernel's `check_xattrs()`: entries must stay
//! inside the area with room for the terminator, names may not contain NUL,
//! and a value may not overlap the entry list or run (padded) past the end.

use zerocopy::{FromBytes, IntoBytes};

use super::corrupt::{AclForm, CorruptKind, XattrArea};
use super::csum::crc32c_raw;
use super::error::FormatError;
use super::layout::xattr::{
    Ext4AclEntry, Ext4AclEntryShort, Ext4AclHeader, Ext4XattrEntry, Ext4XattrHeader,
    Ext4XattrIbodyHeader, PosixAclXattrEntry,
};
use super::types::InodeNo;

/// `h_magic` of an xattr block and of the in-inode xattr area.
pub const XATTR_MAGIC: u32 = 0xEA02_0000;
/// Size of an external xattr block's header; entries follow it.
pub const XATTR_BLOCK_HEADER_LEN: usize = size_of::<Ext4XattrHeader>();
/// Offset of `h_checksum` in an xattr block.
pub const XATTR_BLOCK_CHECKSUM_OFFSET: usize = core::mem::offset_of!(Ext4XattrHeader, h_checksum);
/// Size of the in-inode area's header (its magic); entries follow it.
const IBODY_HEADER_LEN: usize = size_of::<Ext4XattrIbodyHeader>();

/// Fixed part of an entry, before the name.
const ENTRY_HEADER_LEN: usize = size_of::<Ext4XattrEntry>();
/// The four zero bytes ending the entry list (a zero e_name_len,
/// e_name_index and e_value_offs, read as one word as the kernel's
/// IS_LAST_ENTRY).
const TERMINATOR_LEN: usize = 4;

/// On-disk name indexes (`e_name_index`).
pub const INDEX_USER: u8 = 1;
pub const INDEX_POSIX_ACL_ACCESS: u8 = 2;
pub const INDEX_POSIX_ACL_DEFAULT: u8 = 3;
pub const INDEX_TRUSTED: u8 = 4;
pub const INDEX_LUSTRE: u8 = 5;
pub const INDEX_SECURITY: u8 = 6;
/// "system." attributes with no VFS handler, e.g. `system.data` of
/// inline_data inodes.
pub const INDEX_SYSTEM: u8 = 7;
pub const INDEX_RICHACL: u8 = 8;
pub const INDEX_ENCRYPTION: u8 = 9;
pub const INDEX_HURD: u8 = 10;

const POSIX_ACL_ACCESS_NAME: &[u8] = b"system.posix_acl_access";
const POSIX_ACL_DEFAULT_NAME: &[u8] = b"system.posix_acl_default";

/// Namespaces the kernel's ext4 exposes through the VFS: index, and the
/// prefix put before the stored suffix. For the two ACL indexes the
/// "prefix" is the whole name and the stored suffix is empty.
const VFS_NAMESPACES: &[(u8, &[u8])] = &[
    (INDEX_USER, b"user."),
    (INDEX_POSIX_ACL_ACCESS, POSIX_ACL_ACCESS_NAME),
    (INDEX_POSIX_ACL_DEFAULT, POSIX_ACL_DEFAULT_NAME),
    (INDEX_TRUSTED, b"trusted."),
    (INDEX_SECURITY, b"security."),
    (INDEX_HURD, b"gnu."),
];

/// Rounds an xattr name or value length up to the 4-byte padding.
fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

/// An entry as parsed, with what the serialisers need to keep the
/// kernel's layout: where its value sat and the hash it carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedEntry {
    pub entry: XattrEntry,
    /// `e_value_offs` as stored (0 for an empty value).
    pub value_offs: u16,
    /// `e_hash` as stored.
    pub hash: u32,
}

/// Where the value of an entry lives when it is in its own inode
/// (`ea_inode`, see [`super::ea_inode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueInode {
    /// `e_value_inum`.
    pub ino: InodeNo,
    /// `e_value_size`: the value's length (the EA inode's i_size).
    pub size: u32,
    /// `e_hash` as stored or to store: the entry hash over the name and
    /// the EA inode's value hash ([`super::ea_inode::entry_hash_of`]).
    pub hash: u32,
}

/// One extended attribute as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XattrEntry {
    /// `e_name_index`: the namespace.
    pub index: u8,
    /// The name with the namespace prefix stripped, as stored.
    pub name: Vec<u8>,
    /// The value as stored (for ACLs, ext4's compact encoding); empty when
    /// it lives in an EA inode.
    pub value: Vec<u8>,
    /// Set when the value lives in its own inode (`e_value_inum` != 0):
    /// the area holds no value bytes for this entry.
    pub value_inode: Option<ValueInode>,
}

impl XattrEntry {
    /// The full name as `listxattr` shows it, or `None` for namespaces the
    /// kernel does not list.
    ///
    /// Listed: 1 `user.`, 2 `system.posix_acl_access`, 3
    /// `system.posix_acl_default`, 4 `trusted.`, 6 `security.`, 10 `gnu.`
    /// (the Hurd namespace, which Linux ext4 also serves). Not listed: 7
    /// (`system.data` of inline_data and other internal "system"
    /// attributes), 5 (lustre), 8 (richacl), 9 (encryption context) and
    /// unknown indexes. Linux also refuses `getxattr("system.data")` with
    /// EOPNOTSUPP (no handler claims it; checked on a loop-mounted
    /// inline_data image), so [`split_vfs_name`] does not map it either.
    ///
    /// Like the kernel, the prefix and stored suffix are simply joined; an
    /// ACL entry should have an empty suffix. Whether `trusted.` is shown
    /// (CAP_SYS_ADMIN), ACLs (`acl` mount option) or `gnu.`/`user.`
    /// (`user_xattr`) is the caller's policy.
    pub fn vfs_name(&self) -> Option<Vec<u8>> {
        let (_, prefix) = VFS_NAMESPACES.iter().find(|(i, _)| *i == self.index)?;
        let mut full = Vec::with_capacity(prefix.len() + self.name.len());
        full.extend_from_slice(prefix);
        full.extend_from_slice(&self.name);
        Some(full)
    }

    /// The value as `getxattr` returns it: POSIX ACLs are converted from
    /// ext4's compact form to the VFS `posix_acl_xattr` form, everything
    /// else is passed through.
    pub fn vfs_value(&self) -> Result<Vec<u8>, FormatError> {
        match self.index {
            INDEX_POSIX_ACL_ACCESS | INDEX_POSIX_ACL_DEFAULT => acl_disk_to_vfs(&self.value),
            _ => Ok(self.value.clone()),
        }
    }
}

/// Splits a full VFS name into `(index, stored suffix)` for lookups and
/// writes. `None` means no ext4 namespace handles it (EOPNOTSUPP), which
/// includes an empty suffix after a prefix (`"user."`, which the VFS
/// rejects with EINVAL) and anything after the exact ACL names.
///
/// The suffix is not length-checked; a suffix over 255 bytes cannot be
/// stored and the kernel answers ERANGE.
pub fn split_vfs_name(full: &[u8]) -> Option<(u8, &[u8])> {
    for &(index, prefix) in VFS_NAMESPACES {
        let Some(rest) = full.strip_prefix(prefix) else {
            continue;
        };
        let whole_name = matches!(index, INDEX_POSIX_ACL_ACCESS | INDEX_POSIX_ACL_DEFAULT);
        // Prefix namespaces need a suffix; whole names must match exactly.
        if whole_name == rest.is_empty() {
            return Some((index, rest));
        }
    }
    None
}

/// Parses the entry list of an xattr area.
///
/// `area` is the whole region (in-inode body or block), the list starts at
/// `first`, and value offsets count from `value_base`.
fn parse_entries(
    area: &[u8],
    first: usize,
    value_base: usize,
    area_kind: XattrArea,
) -> Result<Vec<PlacedEntry>, FormatError> {
    let corrupt = FormatError::Corrupt;

    // Pass 1: walk the entry list to find its end.
    let mut heads = Vec::new();
    let mut off = first;
    loop {
        if off
            .checked_add(TERMINATOR_LEN)
            .is_none_or(|end| end > area.len())
        {
            return Err(corrupt(CorruptKind::XattrUnterminated {
                area: area_kind,
                off,
            }));
        }
        if area[off..off + TERMINATOR_LEN].iter().all(|&b| b == 0) {
            break;
        }
        if off + ENTRY_HEADER_LEN > area.len() {
            return Err(corrupt(CorruptKind::XattrEntryTruncated {
                area: area_kind,
                off,
            }));
        }
        let name_len = Ext4XattrEntry::at(area, off)
            .expect("checked above")
            .e_name_len as usize;
        let next = off + pad4(ENTRY_HEADER_LEN + name_len);
        // The next entry (or the terminator) must start inside the area.
        if next >= area.len() {
            return Err(corrupt(CorruptKind::XattrNamePastEnd {
                area: area_kind,
                off,
            }));
        }
        let name = &area[off + ENTRY_HEADER_LEN..off + ENTRY_HEADER_LEN + name_len];
        if name.contains(&0) {
            return Err(corrupt(CorruptKind::XattrNameNul {
                area: area_kind,
                off,
            }));
        }
        heads.push(off);
        off = next;
    }
    let list_end = off + TERMINATOR_LEN;

    // Pass 2: resolve values.
    let mut entries = Vec::with_capacity(heads.len());
    for off in heads {
        let e = Ext4XattrEntry::at(area, off).expect("walked in pass 1");
        let name_len = e.e_name_len as usize;
        let index = e.e_name_index;
        let value_offs = e.e_value_offs.get() as usize;
        let value_inum = e.e_value_inum.get();
        let value_size = e.e_value_size.get() as usize;
        let hash = e.e_hash.get();
        let name = area[off + ENTRY_HEADER_LEN..off + ENTRY_HEADER_LEN + name_len].to_vec();

        if value_inum != 0 {
            // No value bytes here: e_value_offs means nothing (the kernel
            // writes 0 and ignores it). Whether the inode number is sane is
            // for the caller, which knows the filesystem.
            if value_size == 0 || value_size > super::ea_inode::MAX_VALUE_SIZE {
                return Err(corrupt(CorruptKind::XattrValueInode {
                    area: area_kind,
                    off,
                    inum: value_inum,
                    size: value_size,
                }));
            }
            entries.push(PlacedEntry {
                entry: XattrEntry {
                    index,
                    name,
                    value: Vec::new(),
                    value_inode: Some(ValueInode {
                        ino: InodeNo(value_inum),
                        size: value_size as u32,
                        hash,
                    }),
                },
                value_offs: 0,
                hash,
            });
            continue;
        }
        let value = if value_size == 0 {
            Vec::new()
        } else {
            let start = value_base + value_offs;
            if start < list_end {
                return Err(corrupt(CorruptKind::XattrValueOverlapsList {
                    area: area_kind,
                    off,
                    start,
                    list_end,
                }));
            }
            let fits = start
                .checked_add(pad4(value_size.min(area.len())))
                .is_some_and(|end| value_size <= area.len() && end <= area.len());
            if !fits {
                return Err(corrupt(CorruptKind::XattrValuePastEnd {
                    area: area_kind,
                    off,
                    size: value_size,
                    start,
                    len: area.len(),
                }));
            }
            area[start..start + value_size].to_vec()
        };
        entries.push(PlacedEntry {
            entry: XattrEntry {
                index,
                name,
                value,
                value_inode: None,
            },
            value_offs: value_offs as u16,
            hash,
        });
    }
    Ok(entries)
}

/// Parses the in-inode xattr area: the bytes of the inode after
/// `128 + i_extra_isize`, up to the inode size. Without the magic word
/// there are no in-inode attributes and the list is empty.
pub fn parse_ibody(ibody: &[u8]) -> Result<Vec<XattrEntry>, FormatError> {
    Ok(strip(parse_ibody_placed(ibody)?))
}

/// [`parse_ibody`], keeping where each value sits and each stored hash.
pub fn parse_ibody_placed(ibody: &[u8]) -> Result<Vec<PlacedEntry>, FormatError> {
    match Ext4XattrIbodyHeader::ref_from_prefix(ibody) {
        Ok((h, _)) if h.h_magic.get() == XATTR_MAGIC => {}
        _ => return Ok(Vec::new()),
    }
    // Value offsets are relative to the first entry, right after the magic.
    parse_entries(ibody, IBODY_HEADER_LEN, IBODY_HEADER_LEN, XattrArea::Ibody)
}

fn strip(placed: Vec<PlacedEntry>) -> Vec<XattrEntry> {
    placed.into_iter().map(|p| p.entry).collect()
}

/// The header of an external xattr block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XattrBlockHeader {
    /// `h_magic`, always [`XATTR_MAGIC`] once parsed.
    pub magic: u32,
    /// `h_refcount`: how many inodes share this block.
    pub refcount: u32,
    /// `h_blocks`: always 1 on Linux.
    pub blocks: u32,
    /// `h_hash`: hash over the entry hashes, used for block sharing.
    pub hash: u32,
    /// `h_checksum` (metadata_csum), see [`block_checksum`].
    pub checksum: u32,
}

/// Parses an external xattr block (the whole filesystem block). The
/// checksum is not checked here; see [`verify_block_checksum`].
pub fn parse_block(block: &[u8]) -> Result<(XattrBlockHeader, Vec<XattrEntry>), FormatError> {
    let (header, placed) = parse_block_placed(block)?;
    Ok((header, strip(placed)))
}

/// [`parse_block`], keeping where each value sits and each stored hash.
pub fn parse_block_placed(
    block: &[u8],
) -> Result<(XattrBlockHeader, Vec<PlacedEntry>), FormatError> {
    const WHAT: &str = "xattr block";
    if block.len() < XATTR_BLOCK_HEADER_LEN + TERMINATOR_LEN {
        return Err(CorruptKind::XattrBlockShort { len: block.len() }.into());
    }
    let h = Ext4XattrHeader::of(block).expect("checked above");
    let header = XattrBlockHeader {
        magic: h.h_magic.get(),
        refcount: h.h_refcount.get(),
        blocks: h.h_blocks.get(),
        hash: h.h_hash.get(),
        checksum: h.h_checksum.get(),
    };
    if header.magic != XATTR_MAGIC {
        return Err(FormatError::BadMagic { what: WHAT });
    }
    if header.blocks != 1 {
        return Err(CorruptKind::XattrBlockCount {
            h_blocks: header.blocks,
        }
        .into());
    }
    let entries = parse_entries(block, XATTR_BLOCK_HEADER_LEN, 0, XattrArea::Block)?;
    Ok((header, entries))
}

/// The metadata_csum checksum of an xattr block: crc32c seeded with the
/// filesystem's checksum seed over the little-endian 64-bit block number,
/// then the block with `h_checksum` taken as zero.
pub fn block_checksum(seed: u32, block_nr: u64, block: &[u8]) -> u32 {
    let crc = crc32c_raw(seed, &block_nr.to_le_bytes());
    if block.len() < XATTR_BLOCK_CHECKSUM_OFFSET + 4 {
        return crc32c_raw(crc, block);
    }
    let crc = crc32c_raw(crc, &block[..XATTR_BLOCK_CHECKSUM_OFFSET]);
    let crc = crc32c_raw(crc, &[0; 4]);
    crc32c_raw(crc, &block[XATTR_BLOCK_CHECKSUM_OFFSET + 4..])
}

/// Whether the block's stored `h_checksum` matches [`block_checksum`].
/// A block too short to hold a header never verifies.
pub fn verify_block_checksum(seed: u32, block_nr: u64, block: &[u8]) -> bool {
    Ext4XattrHeader::of(block)
        .is_some_and(|h| h.h_checksum.get() == block_checksum(seed, block_nr, block))
}

/// Longest stored name suffix (`e_name_len` is one byte).
pub const XATTR_NAME_MAX: usize = 255;

/// Bytes an entry with a `name_len`-byte name takes in the entry list
/// (the kernel's `EXT4_XATTR_LEN`).
pub fn entry_len(name_len: usize) -> usize {
    pad4(ENTRY_HEADER_LEN + name_len)
}

/// Bytes a value of `size` bytes takes in the value area
/// (`EXT4_XATTR_SIZE`).
pub fn value_len(size: usize) -> usize {
    pad4(size)
}

/// `e_hash` of a block entry, as the kernel's `ext4_xattr_hash_entry`
/// computes it: the name's bytes (unsigned) folded with a 5-bit rotation,
/// then the value as little-endian 32-bit words, zero-padded, folded with a
/// 16-bit rotation. (Kernels before 6.2 hashed the name as signed chars;
/// e2fsck accepts both, the kernel writes this one.)
pub fn entry_hash(name: &[u8], value: &[u8]) -> u32 {
    let mut hash = 0u32;
    for &c in name {
        hash = (hash << 5) ^ (hash >> 27) ^ c as u32;
    }
    for word in value.chunks(4) {
        let mut w = [0u8; 4];
        w[..word.len()].copy_from_slice(word);
        hash = (hash << 16) ^ (hash >> 16) ^ u32::from_le_bytes(w);
    }
    hash
}

/// `h_hash` of a block from its entries' hashes, in list order
/// (`ext4_xattr_rehash`); an entry hash of 0 marks the block unshareable
/// and makes the block hash 0.
pub fn block_hash(entry_hashes: impl IntoIterator<Item = u32>) -> u32 {
    let mut hash = 0u32;
    for h in entry_hashes {
        if h == 0 {
            return 0;
        }
        hash = (hash << 16) ^ (hash >> 16) ^ h;
    }
    hash
}

/// The order of entries in an xattr block: by index, name length, then
/// name bytes, which the kernel's lookup (`xattr_find_entry` with
/// `sorted`) relies on to stop early. In-inode entries are not sorted.
pub fn block_order(a: &XattrEntry, b: &XattrEntry) -> std::cmp::Ordering {
    (a.index, a.name.len(), &a.name).cmp(&(b.index, b.name.len(), &b.name))
}

/// Bytes `entries` need in an area: the entry list, its terminator and
/// the padded values (headers not included).
pub fn space_needed(entries: &[XattrEntry]) -> usize {
    entries
        .iter()
        .map(|e| {
            let value = if e.value_inode.is_some() {
                0
            } else {
                value_len(e.value.len())
            };
            entry_len(e.name.len()) + value
        })
        .sum::<usize>()
        + 4
}

/// Writes `entries` into `area`: the list from `first`, a terminator,
/// values packed down from the end of the area, offsets counted from
/// `value_base`. Values are laid out by descending `value_rank` (the
/// highest nearest the end; parsed entries pass their old `e_value_offs`
/// and a new value 0), which reproduces the kernel's layout: it keeps
/// existing values packed in their order and puts each new one lowest.
/// With `hashes`, each entry gets its [`entry_hash`] (blocks); otherwise
/// 0 (the kernel leaves in-inode hashes 0). `None` if they do not fit or
/// a name is too long; the area is zeroed first either way.
fn lay_out(
    area: &mut [u8],
    first: usize,
    value_base: usize,
    entries: &[XattrEntry],
    value_rank: &[u32],
    hashes: bool,
) -> Option<Vec<u32>> {
    area.fill(0);
    if entries.len() != value_rank.len()
        || entries.iter().any(|e| e.name.len() > XATTR_NAME_MAX)
        || first + space_needed(entries) > area.len()
    {
        return None;
    }
    let mut by_rank: Vec<usize> = (0..entries.len()).collect();
    by_rank.sort_by_key(|&i| std::cmp::Reverse(value_rank[i]));
    let mut offs = vec![0usize; entries.len()];
    let mut value_end = area.len();
    for i in by_rank {
        let v = &entries[i].value;
        if v.is_empty() || entries[i].value_inode.is_some() {
            continue;
        }
        value_end -= value_len(v.len());
        area[value_end..value_end + v.len()].copy_from_slice(v);
        offs[i] = value_end - value_base;
    }
    let mut entry_hashes = Vec::with_capacity(entries.len());
    let mut off = first;
    for (e, &value_offs) in entries.iter().zip(&offs) {
        // The stored padding is zero, which entry_hash assumes. An entry
        // whose value is in an EA inode carries its hash in both places
        // (ext4_xattr_set_entry computes it whenever the value is outside).
        let (hash, inum, size) = match e.value_inode {
            Some(v) => (v.hash, v.ino.0, v.size),
            None if hashes => (entry_hash(&e.name, &e.value), 0, e.value.len() as u32),
            None => (0, 0, e.value.len() as u32),
        };
        entry_hashes.push(hash);
        let h = Ext4XattrEntry::at_mut(area, off)?;
        h.e_name_len = e.name.len() as u8;
        h.e_name_index = e.index;
        h.e_value_offs.set(value_offs as u16);
        h.e_value_inum.set(inum);
        h.e_value_size.set(size);
        h.e_hash.set(hash);
        area[off + ENTRY_HEADER_LEN..off + ENTRY_HEADER_LEN + e.name.len()]
            .copy_from_slice(&e.name);
        off += entry_len(e.name.len());
    }
    Some(entry_hashes)
}

/// A new in-inode xattr area of `len` bytes holding `entries` in the given
/// order (see [`lay_out`] for `value_rank`); `None` if they do not fit.
/// With no entries the area is all zero (no magic), as the kernel leaves
/// it.
pub fn build_ibody(entries: &[XattrEntry], value_rank: &[u32], len: usize) -> Option<Vec<u8>> {
    let mut area = vec![0u8; len];
    if entries.is_empty() {
        return Some(area);
    }
    let (h, rest) = Ext4XattrIbodyHeader::mut_from_prefix(&mut area).ok()?;
    h.h_magic.set(XATTR_MAGIC);
    lay_out(rest, 0, 0, entries, value_rank, false)?;
    Some(area)
}

/// A new external xattr block of `block_size` bytes: header with
/// `refcount`, `h_blocks` 1 and the block hash, then `entries` in the
/// given order (callers keep them in [`block_order`]) with their hashes.
/// `h_checksum` is left 0 (see [`set_block_checksum`]). `None` if they do
/// not fit.
pub fn build_block(
    entries: &[XattrEntry],
    value_rank: &[u32],
    refcount: u32,
    block_size: usize,
) -> Option<Vec<u8>> {
    let mut block = vec![0u8; block_size];
    if block_size < XATTR_BLOCK_HEADER_LEN {
        return None;
    }
    let hashes = lay_out(
        &mut block,
        XATTR_BLOCK_HEADER_LEN,
        0,
        entries,
        value_rank,
        true,
    )?;
    let h = Ext4XattrHeader::of_mut(&mut block)?;
    h.h_magic.set(XATTR_MAGIC);
    h.h_refcount.set(refcount);
    h.h_blocks.set(1);
    h.h_hash.set(block_hash(hashes));
    Some(block)
}

/// Sets `h_refcount` of an xattr block image (the checksum must be set
/// again afterwards).
pub fn set_block_refcount(block: &mut [u8], refcount: u32) {
    if let Some(h) = Ext4XattrHeader::of_mut(block) {
        h.h_refcount.set(refcount);
    }
}

/// Stores [`block_checksum`] in `h_checksum` (metadata_csum only).
pub fn set_block_checksum(seed: u32, block_nr: u64, block: &mut [u8]) {
    if block.len() >= XATTR_BLOCK_HEADER_LEN {
        let c = block_checksum(seed, block_nr, block);
        Ext4XattrHeader::of_mut(block)
            .expect("checked above")
            .h_checksum
            .set(c);
    }
}

/// POSIX ACL entry tags.
pub const ACL_USER_OBJ: u16 = 0x01;
pub const ACL_USER: u16 = 0x02;
pub const ACL_GROUP_OBJ: u16 = 0x04;
pub const ACL_GROUP: u16 = 0x08;
pub const ACL_MASK: u16 = 0x10;
pub const ACL_OTHER: u16 = 0x20;
/// The id the VFS format carries for tags that have none.
pub const ACL_UNDEFINED_ID: u32 = 0xFFFF_FFFF;
/// `a_version` of ext4's on-disk ACL encoding.
pub const EXT4_ACL_VERSION: u32 = 1;
/// `a_version` of the VFS `posix_acl_xattr` encoding.
pub const POSIX_ACL_XATTR_VERSION: u32 = 2;

/// Whether a tag carries an id (long entry on disk).
fn acl_tag_has_id(tag: u16) -> Option<bool> {
    match tag {
        ACL_USER | ACL_GROUP => Some(true),
        ACL_USER_OBJ | ACL_GROUP_OBJ | ACL_MASK | ACL_OTHER => Some(false),
        _ => None,
    }
}

/// Converts an ACL from ext4's on-disk form (le32 version 1; entries of
/// le16 tag, le16 perm and, for `ACL_USER`/`ACL_GROUP` only, le32 id) to
/// the VFS form (le32 version 2; 8-byte entries, id `0xFFFFFFFF` where
/// there is none).
///
/// Only the encoding is checked (version, tags, lengths), not the ACL's
/// semantics (ordering, required entries). An ACL with no entries converts
/// to a bare header; the kernel reports such an ACL as absent (ENODATA).
pub fn acl_disk_to_vfs(disk: &[u8]) -> Result<Vec<u8>, FormatError> {
    let Ok((header, _)) = Ext4AclHeader::ref_from_prefix(disk) else {
        return Err(CorruptKind::AclShort { len: disk.len() }.into());
    };
    let version = header.a_version.get();
    if version != EXT4_ACL_VERSION {
        return Err(CorruptKind::AclVersion {
            form: AclForm::Disk,
            version,
        }
        .into());
    }
    const HEADER: usize = size_of::<Ext4AclHeader>();
    let mut out = Vec::with_capacity(HEADER + 2 * (disk.len() - HEADER));
    out.extend_from_slice(&POSIX_ACL_XATTR_VERSION.to_le_bytes());
    let mut off = HEADER;
    let truncated = |off| FormatError::from(CorruptKind::AclEntryTruncated { off });
    while off < disk.len() {
        let Ok((short, _)) = Ext4AclEntryShort::ref_from_prefix(&disk[off..]) else {
            return Err(truncated(off));
        };
        let tag = short.e_tag.get();
        let perm = short.e_perm.get();
        let id = match acl_tag_has_id(tag) {
            Some(true) => {
                let Ok((e, _)) = Ext4AclEntry::ref_from_prefix(&disk[off..]) else {
                    return Err(truncated(off));
                };
                off += size_of::<Ext4AclEntry>();
                e.e_id.get()
            }
            Some(false) => {
                off += size_of::<Ext4AclEntryShort>();
                ACL_UNDEFINED_ID
            }
            None => {
                return Err(CorruptKind::AclTag {
                    form: AclForm::Disk,
                    off,
                    tag,
                }
                .into());
            }
        };
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&perm.to_le_bytes());
        out.extend_from_slice(&id.to_le_bytes());
    }
    Ok(out)
}

/// Converts an ACL from the VFS form (as `setxattr` receives it) to ext4's
/// on-disk form; the inverse of [`acl_disk_to_vfs`]. Ids of tags that have
/// none are dropped. Only the encoding is checked; validating the ACL
/// itself (as the kernel's `posix_acl_valid`) is the caller's job.
pub fn acl_vfs_to_disk(vfs: &[u8]) -> Result<Vec<u8>, FormatError> {
    const HEADER: usize = size_of::<Ext4AclHeader>();
    const ENTRY: usize = size_of::<PosixAclXattrEntry>();
    let parsed = Ext4AclHeader::ref_from_prefix(vfs)
        .ok()
        .and_then(|(h, rest)| {
            <[PosixAclXattrEntry]>::ref_from_bytes(rest)
                .ok()
                .map(|e| (h, e))
        });
    let Some((header, entries)) = parsed else {
        return Err(CorruptKind::AclLength { len: vfs.len() }.into());
    };
    let version = header.a_version.get();
    if version != POSIX_ACL_XATTR_VERSION {
        return Err(CorruptKind::AclVersion {
            form: AclForm::Vfs,
            version,
        }
        .into());
    }
    let mut out = Vec::with_capacity(vfs.len());
    out.extend_from_slice(&EXT4_ACL_VERSION.to_le_bytes());
    for (i, e) in entries.iter().enumerate() {
        let tag = e.e_tag.get();
        let has_id = acl_tag_has_id(tag).ok_or_else(|| {
            let off = HEADER + i * ENTRY;
            FormatError::from(CorruptKind::AclTag {
                form: AclForm::Vfs,
                off,
                tag,
            })
        })?;
        let short = Ext4AclEntryShort {
            e_tag: e.e_tag,
            e_perm: e.e_perm,
        };
        out.extend_from_slice(short.as_bytes());
        if has_id {
            out.extend_from_slice(e.e_id.as_bytes());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext4::types::get_le16;
    use proptest::prelude::*;

    /// Lays out an xattr area the way ext4 does: `header`, the entries from
    /// `header.len()`, a terminator, and values packed (padded) down from
    /// the end. Value offsets count from `value_base`. Returns the area and
    /// the offset of each entry.
    fn build(
        header: &[u8],
        entries: &[(u8, &[u8], &[u8])],
        len: usize,
        value_base: usize,
    ) -> (Vec<u8>, Vec<usize>) {
        let mut area = vec![0u8; len];
        area[..header.len()].copy_from_slice(header);
        let mut off = header.len();
        let mut value_end = len;
        let mut heads = Vec::new();
        for &(index, name, value) in entries {
            heads.push(off);
            let start = value_end - pad4(value.len());
            area[start..start + value.len()].copy_from_slice(value);
            value_end = start;
            area[off] = name.len() as u8;
            area[off + 1] = index;
            let offs = if value.is_empty() {
                0
            } else {
                start - value_base
            };
            area[off + 2..off + 4].copy_from_slice(&(offs as u16).to_le_bytes());
            area[off + 8..off + 12].copy_from_slice(&(value.len() as u32).to_le_bytes());
            area[off + 16..off + 16 + name.len()].copy_from_slice(name);
            off += pad4(16 + name.len());
        }
        assert!(off + 4 <= value_end, "test area too small");
        (area, heads)
    }

    fn ibody(entries: &[(u8, &[u8], &[u8])]) -> (Vec<u8>, Vec<usize>) {
        build(&XATTR_MAGIC.to_le_bytes(), entries, 96, 4)
    }

    fn block(entries: &[(u8, &[u8], &[u8])]) -> (Vec<u8>, Vec<usize>) {
        let mut header = [0u8; 32];
        header[0..4].copy_from_slice(&XATTR_MAGIC.to_le_bytes());
        header[4..8].copy_from_slice(&1u32.to_le_bytes());
        header[8..12].copy_from_slice(&1u32.to_le_bytes());
        header[12..16].copy_from_slice(&0xdead_beefu32.to_le_bytes());
        build(&header, entries, 1024, 0)
    }

    fn set16(b: &mut [u8], off: usize, v: u16) {
        b[off..off + 2].copy_from_slice(&v.to_le_bytes());
    }

    fn set32(b: &mut [u8], off: usize, v: u32) {
        b[off..off + 4].copy_from_slice(&v.to_le_bytes());
    }

    fn is_corrupt<T: std::fmt::Debug>(r: Result<T, FormatError>) -> bool {
        matches!(r, Err(FormatError::Corrupt(_)))
    }

    const SAMPLE: &[(u8, &[u8], &[u8])] = &[
        (INDEX_USER, b"small", b"\x01\x02\x03\x04"),
        (INDEX_USER, b"empty", b""),
        (INDEX_TRUSTED, b"t", b"hello"),
    ];

    fn sample_entries() -> Vec<XattrEntry> {
        SAMPLE
            .iter()
            .map(|&(index, name, value)| XattrEntry {
                index,
                name: name.to_vec(),
                value: value.to_vec(),
                value_inode: None,
            })
            .collect()
    }

    #[test]
    fn ibody_valid() {
        let (area, _) = ibody(SAMPLE);
        assert_eq!(parse_ibody(&area).unwrap(), sample_entries());
    }

    #[test]
    fn ibody_without_magic_is_empty() {
        let (mut area, _) = ibody(SAMPLE);
        area[3] = 0; // 0xEA020000 little-endian: 00 00 02 EA
        assert_eq!(parse_ibody(&area).unwrap(), vec![]);
        assert_eq!(parse_ibody(&[]).unwrap(), vec![]);
        assert_eq!(parse_ibody(&[0, 0, 2]).unwrap(), vec![]);
        // Magic and an immediate terminator: no attributes.
        let mut only = XATTR_MAGIC.to_le_bytes().to_vec();
        only.extend_from_slice(&[0; 4]);
        assert_eq!(parse_ibody(&only).unwrap(), vec![]);
    }

    #[test]
    fn ibody_truncated() {
        let (area, heads) = ibody(SAMPLE);
        // Cut inside the entry list: no terminator in reach.
        for cut in [4, 6, heads[1] + 3, heads[2] + 10] {
            assert!(is_corrupt(parse_ibody(&area[..cut])), "cut at {cut}");
        }
        // Cut through the values.
        assert!(is_corrupt(parse_ibody(&area[..area.len() - 2])));
    }

    #[test]
    fn ibody_name_past_end() {
        let (mut area, heads) = ibody(SAMPLE);
        area[heads[2]] = 200;
        assert!(is_corrupt(parse_ibody(&area)));
    }

    #[test]
    fn name_with_nul_rejected() {
        let (mut area, heads) = ibody(SAMPLE);
        area[heads[0] + 16 + 2] = 0;
        assert!(is_corrupt(parse_ibody(&area)));
    }

    #[test]
    fn value_offsets_checked() {
        let (area, heads) = ibody(SAMPLE);
        let e = heads[0];
        // Value pointing into the entry list (offset 0 = first entry).
        let mut a = area.clone();
        set16(&mut a, e + 2, 0);
        assert!(is_corrupt(parse_ibody(&a)));
        // Value starting on the terminator.
        let mut a = area.clone();
        let terminator = heads[2] + pad4(16 + 1);
        set16(&mut a, e + 2, (terminator - 4) as u16);
        assert!(is_corrupt(parse_ibody(&a)));
        // Right after the terminator is fine.
        let mut a = area.clone();
        set16(&mut a, e + 2, terminator as u16);
        assert_eq!(
            parse_ibody(&a).unwrap()[0].value,
            &a[terminator + 4..terminator + 8]
        );
        // Offset beyond the end.
        let mut a = area.clone();
        set16(&mut a, e + 2, 0xffff);
        assert!(is_corrupt(parse_ibody(&a)));
        // Size beyond the end, and sizes that overflow when padded.
        for size in [93, 0x1_0000, 0xffff_fffd, u32::MAX] {
            let mut a = area.clone();
            set32(&mut a, e + 8, size);
            assert!(is_corrupt(parse_ibody(&a)), "size {size:#x}");
        }
        // Padded value must fit too: 4 bytes at len-3 with size 3 fits
        // unpadded but not padded.
        let mut a = area.clone();
        let near_end = (a.len() - 4 - 3) as u16;
        set16(&mut a, e + 2, near_end);
        set32(&mut a, e + 8, 3);
        assert!(is_corrupt(parse_ibody(&a)));
    }

    #[test]
    fn value_inode_entry_parses_without_value_bytes() {
        let (mut area, heads) = ibody(SAMPLE);
        // Entry 1 now says its value (5000 bytes) is in inode 42.
        set16(&mut area, heads[1] + 2, 0);
        set32(&mut area, heads[1] + 4, 42);
        set32(&mut area, heads[1] + 8, 5000);
        set32(&mut area, heads[1] + 12, 0x1234);
        let placed = parse_ibody_placed(&area).unwrap();
        assert_eq!(
            placed[1].entry.value_inode,
            Some(ValueInode {
                ino: InodeNo(42),
                size: 5000,
                hash: 0x1234
            })
        );
        assert!(placed[1].entry.value.is_empty());
        assert_eq!(placed[1].hash, 0x1234);
        // The others are unchanged.
        assert_eq!(placed[0].entry, sample_entries()[0]);
        // An EA inode reference with no value, or one over the kernel's
        // EXT4_XATTR_SIZE_MAX, is corrupt.
        set32(&mut area, heads[1] + 8, 0);
        assert!(is_corrupt(parse_ibody(&area)));
        set32(&mut area, heads[1] + 8, (1 << 24) + 1);
        assert!(is_corrupt(parse_ibody(&area)));
        set32(&mut area, heads[1] + 8, 1 << 24);
        assert!(parse_ibody(&area).is_ok());
    }

    /// The layout of an entry whose value is in an EA inode, as the kernel
    /// writes it: value offset 0, the inode number, the size, the hash in
    /// both places, no value bytes, and its hash in the block hash.
    #[test]
    fn value_inode_entry_layout() {
        let big = XattrEntry {
            index: INDEX_USER,
            name: b"big".to_vec(),
            value: vec![],
            value_inode: Some(ValueInode {
                ino: InodeNo(13),
                size: 65536,
                hash: 0xabcd_0123,
            }),
        };
        let small = XattrEntry {
            index: INDEX_USER,
            name: b"s".to_vec(),
            value: b"vv".to_vec(),
            value_inode: None,
        };
        let entries = [big.clone(), small.clone()];
        assert_eq!(space_needed(&entries), entry_len(3) + entry_len(1) + 4 + 4);
        let area = build_ibody(&entries, &[0, 0], 64).unwrap();
        let e = Ext4XattrEntry::at(&area, 4).unwrap();
        assert_eq!(e.e_value_offs.get(), 0);
        assert_eq!(e.e_value_inum.get(), 13);
        assert_eq!(e.e_value_size.get(), 65536);
        assert_eq!(e.e_hash.get(), 0xabcd_0123);
        // Only the small value occupies the value area.
        assert_eq!(&area[60..62], b"vv");
        assert!(area[4 + 48..60].iter().all(|&b| b == 0));
        let back: Vec<_> = parse_ibody(&area).unwrap();
        assert_eq!(back, entries);

        let mut sorted = vec![small.clone(), big.clone()];
        sorted.sort_by(block_order);
        let blk = build_block(&sorted, &[0, 0], 1, 1024).unwrap();
        let (h, placed) = parse_block_placed(&blk).unwrap();
        assert_eq!(placed[1].entry, big);
        assert_eq!(placed[1].hash, 0xabcd_0123);
        assert_eq!(h.hash, block_hash([entry_hash(b"s", b"vv"), 0xabcd_0123]));
    }

    #[test]
    fn block_valid() {
        let (blk, _) = block(SAMPLE);
        let (h, entries) = parse_block(&blk).unwrap();
        assert_eq!(
            h,
            XattrBlockHeader {
                magic: XATTR_MAGIC,
                refcount: 1,
                blocks: 1,
                hash: 0xdead_beef,
                checksum: 0
            }
        );
        assert_eq!(entries, sample_entries());
    }

    #[test]
    fn block_value_offsets_are_from_block_start() {
        // The same entries laid out with ibody-style offsets must not parse
        // to the same values.
        let (blk, heads) = block(SAMPLE);
        let mut shifted = blk.clone();
        let offs = get_le16(&blk, heads[0] + 2);
        set16(&mut shifted, heads[0] + 2, offs - 4);
        let (_, entries) = parse_block(&shifted).unwrap();
        assert_ne!(entries[0].value, b"\x01\x02\x03\x04");
    }

    #[test]
    fn block_bad_header() {
        let (blk, heads) = block(SAMPLE);
        let mut a = blk.clone();
        a[3] = 0;
        assert_eq!(
            parse_block(&a),
            Err(FormatError::BadMagic {
                what: "xattr block"
            })
        );
        let mut a = blk.clone();
        set32(&mut a, 8, 2);
        assert!(is_corrupt(parse_block(&a)));
        assert!(is_corrupt(parse_block(&blk[..20])));
        assert!(is_corrupt(parse_block(&blk[..heads[1]])));
        // Value offset pointing into the header.
        let mut a = blk.clone();
        set16(&mut a, heads[0] + 2, 8);
        assert!(is_corrupt(parse_block(&a)));
    }

    #[test]
    fn build_round_trip() {
        let entries = sample_entries();
        let ranks = vec![0; entries.len()];
        let area = build_ibody(&entries, &ranks, 96).unwrap();
        assert_eq!(parse_ibody(&area).unwrap(), entries);
        assert!(
            parse_ibody_placed(&area)
                .unwrap()
                .iter()
                .all(|p| p.hash == 0)
        );
        // Exactly full, then one byte short.
        let need = 4 + space_needed(&entries);
        assert!(build_ibody(&entries, &ranks, need).is_some());
        assert!(build_ibody(&entries, &ranks, need - 1).is_none());
        assert_eq!(build_ibody(&[], &[], 96).unwrap(), vec![0; 96]);

        let mut sorted = entries.clone();
        sorted.sort_by(block_order);
        let blk = build_block(&sorted, &ranks, 3, 1024).unwrap();
        let (header, placed) = parse_block_placed(&blk).unwrap();
        assert_eq!((header.refcount, header.blocks), (3, 1));
        assert_eq!(
            placed.iter().map(|p| p.entry.clone()).collect::<Vec<_>>(),
            sorted
        );
        for p in &placed {
            assert_eq!(p.hash, entry_hash(&p.entry.name, &p.entry.value));
        }
        assert_eq!(header.hash, block_hash(placed.iter().map(|p| p.hash)));
        // A longer name than e_name_len holds, or ranks not matching the
        // entries, are refused.
        let long = XattrEntry {
            index: INDEX_USER,
            name: vec![b'a'; 256],
            value: vec![],
            value_inode: None,
        };
        assert!(build_block(&[long], &[0], 1, 4096).is_none());
        assert!(build_block(&sorted, &[], 3, 1024).is_none());
    }

    #[test]
    fn value_ranks_order_values() {
        // Higher rank nearer the end.
        let entries = sample_entries();
        let area = build_ibody(&entries, &[0, 0, 100], 96).unwrap();
        let placed = parse_ibody_placed(&area).unwrap();
        assert!(placed[0].value_offs < placed[2].value_offs);
        let area = build_ibody(&entries, &[100, 0, 0], 96).unwrap();
        let placed = parse_ibody_placed(&area).unwrap();
        assert!(placed[0].value_offs > placed[2].value_offs);
        assert_eq!(placed[1].value_offs, 0, "empty values have no offset");
    }

    #[test]
    fn hashes() {
        // By hand: "ab" -> ((0 << 5) ^ 'a') << 5 ^ 'b'.
        let name = ((b'a' as u32) << 5) ^ b'b' as u32;
        assert_eq!(entry_hash(b"ab", b""), name);
        let word = u32::from_le_bytes([1, 2, 3, 0]);
        assert_eq!(
            entry_hash(b"ab", &[1, 2, 3]),
            (name << 16) ^ (name >> 16) ^ word
        );
        assert_eq!(block_hash([5, 0, 7]), 0);
        assert_eq!(block_hash([5, 7]), (5 << 16) ^ 7);
        assert_eq!(block_hash([]), 0);
    }

    #[test]
    fn block_checksum_round_trip() {
        let (mut blk, _) = block(SAMPLE);
        let seed = 0x1234_5678;
        let c = block_checksum(seed, 1163, &blk);
        // h_checksum's stored value does not feed into the checksum.
        set32(&mut blk, XATTR_BLOCK_CHECKSUM_OFFSET, c);
        assert_eq!(block_checksum(seed, 1163, &blk), c);
        assert!(verify_block_checksum(seed, 1163, &blk));
        // Same as chaining the documented pieces.
        let mut zeroed = blk.clone();
        set32(&mut zeroed, XATTR_BLOCK_CHECKSUM_OFFSET, 0);
        let chained = crate::ext4::csum::crc32c_chain(seed, &[&1163u64.to_le_bytes(), &zeroed]);
        assert_eq!(chained, c);
        // Wrong block number, seed, or contents.
        assert!(!verify_block_checksum(seed, 1164, &blk));
        assert!(!verify_block_checksum(seed ^ 1, 1163, &blk));
        blk[600] ^= 0x40;
        assert!(!verify_block_checksum(seed, 1163, &blk));
        assert!(!verify_block_checksum(seed, 1163, &blk[..8]));
    }

    #[test]
    fn vfs_names() {
        let e = |index: u8, name: &[u8]| XattrEntry {
            index,
            name: name.to_vec(),
            value: vec![],
            value_inode: None,
        };
        type Case = (u8, &'static [u8], Option<&'static [u8]>);
        let cases: &[Case] = &[
            (1, b"mime", Some(b"user.mime")),
            (2, b"", Some(b"system.posix_acl_access")),
            (3, b"", Some(b"system.posix_acl_default")),
            (4, b"t", Some(b"trusted.t")),
            (6, b"selinux", Some(b"security.selinux")),
            (10, b"translator", Some(b"gnu.translator")),
            (5, b"lov", None),
            (7, b"data", None),
            (8, b"", None),
            (9, b"c", None),
            (0, b"x", None),
            (200, b"x", None),
        ];
        for &(index, suffix, full) in cases {
            assert_eq!(
                e(index, suffix).vfs_name().as_deref(),
                full,
                "index {index}"
            );
            if let Some(full) = full {
                assert_eq!(split_vfs_name(full), Some((index, suffix)));
            }
        }
        for bad in [
            &b"system.data"[..],
            b"system.posix_acl_accessX",
            b"system.",
            b"user.",
            b"user",
            b"trusted.",
            b"",
            b"other.x",
            b"lustre.lov",
        ] {
            assert_eq!(
                split_vfs_name(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    /// user_obj rw-, user 1234 rw-, group_obj r--, group 5678 r--,
    /// mask rw-, other r--.
    const ACL_DISK: &[u8] = b"\x01\x00\x00\x00\
        \x01\x00\x06\x00\
        \x02\x00\x06\x00\xd2\x04\x00\x00\
        \x04\x00\x04\x00\
        \x08\x00\x04\x00\x2e\x16\x00\x00\
        \x10\x00\x06\x00\
        \x20\x00\x04\x00";
    const ACL_VFS: &[u8] = b"\x02\x00\x00\x00\
        \x01\x00\x06\x00\xff\xff\xff\xff\
        \x02\x00\x06\x00\xd2\x04\x00\x00\
        \x04\x00\x04\x00\xff\xff\xff\xff\
        \x08\x00\x04\x00\x2e\x16\x00\x00\
        \x10\x00\x06\x00\xff\xff\xff\xff\
        \x20\x00\x04\x00\xff\xff\xff\xff";

    #[test]
    fn acl_conversion() {
        assert_eq!(acl_disk_to_vfs(ACL_DISK).unwrap(), ACL_VFS);
        assert_eq!(acl_vfs_to_disk(ACL_VFS).unwrap(), ACL_DISK);
        assert_eq!(acl_disk_to_vfs(b"\x01\0\0\0").unwrap(), b"\x02\0\0\0");
        let entry = XattrEntry {
            index: INDEX_POSIX_ACL_DEFAULT,
            name: vec![],
            value: ACL_DISK.to_vec(),
            value_inode: None,
        };
        assert_eq!(entry.vfs_value().unwrap(), ACL_VFS);
        let entry = XattrEntry {
            index: INDEX_USER,
            name: b"a".to_vec(),
            value: ACL_DISK.to_vec(),
            value_inode: None,
        };
        assert_eq!(entry.vfs_value().unwrap(), ACL_DISK);
    }

    #[test]
    fn acl_bad_encodings() {
        assert!(is_corrupt(acl_disk_to_vfs(b"")));
        assert!(is_corrupt(acl_disk_to_vfs(b"\x02\0\0\0")));
        // Long entry cut short, short entry cut short, unknown tag.
        assert!(is_corrupt(acl_disk_to_vfs(
            &ACL_DISK[..ACL_DISK.len() - 22]
        )));
        assert!(is_corrupt(acl_disk_to_vfs(&ACL_DISK[..ACL_DISK.len() - 2])));
        assert!(is_corrupt(acl_disk_to_vfs(b"\x01\0\0\0\x40\0\x07\0")));
        assert!(is_corrupt(acl_vfs_to_disk(b"")));
        assert!(is_corrupt(acl_vfs_to_disk(b"\x01\0\0\0")));
        assert!(is_corrupt(acl_vfs_to_disk(&ACL_VFS[..ACL_VFS.len() - 1])));
        assert!(is_corrupt(acl_vfs_to_disk(
            b"\x02\0\0\0\x03\0\x07\0\0\0\0\0"
        )));
        let entry = XattrEntry {
            index: INDEX_POSIX_ACL_ACCESS,
            name: vec![],
            value: b"junk".to_vec(),
            value_inode: None,
        };
        assert!(is_corrupt(entry.vfs_value()));
    }

    proptest! {
        #[test]
        fn hostile_ibody_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..160)) {
            let mut area = XATTR_MAGIC.to_le_bytes().to_vec();
            area.extend_from_slice(&tail);
            let _ = parse_ibody(&area);
        }

        #[test]
        fn hostile_block_never_panics(
            tail in proptest::collection::vec(any::<u8>(), 0..300),
            blocks in 0u32..3,
        ) {
            let mut blk = XATTR_MAGIC.to_le_bytes().to_vec();
            blk.extend_from_slice(&[0; 4]);
            blk.extend_from_slice(&blocks.to_le_bytes());
            blk.extend_from_slice(&tail);
            let _ = parse_block(&blk);
            let _ = verify_block_checksum(1, 2, &blk);
        }

        #[test]
        fn mutated_sample_never_panics(pos in 0usize..96, byte in any::<u8>()) {
            let (mut area, _) = ibody(SAMPLE);
            area[pos] = byte;
            let _ = parse_ibody(&area);
        }

        #[test]
        fn acl_round_trip(entries in proptest::collection::vec(
            (prop::sample::select(vec![ACL_USER_OBJ, ACL_USER, ACL_GROUP_OBJ, ACL_GROUP, ACL_MASK, ACL_OTHER]),
             0u16..8, any::<u32>()), 0..12)) {
            let mut vfs = POSIX_ACL_XATTR_VERSION.to_le_bytes().to_vec();
            for (tag, perm, id) in entries {
                let id = if acl_tag_has_id(tag) == Some(true) { id } else { ACL_UNDEFINED_ID };
                vfs.extend_from_slice(&tag.to_le_bytes());
                vfs.extend_from_slice(&perm.to_le_bytes());
                vfs.extend_from_slice(&id.to_le_bytes());
            }
            let disk = acl_vfs_to_disk(&vfs).unwrap();
            prop_assert_eq!(acl_disk_to_vfs(&disk).unwrap(), vfs);
        }

        #[test]
        fn hostile_acl_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = acl_disk_to_vfs(&bytes);
            let _ = acl_vfs_to_disk(&bytes);
        }
    }
}

/// Parses the xattrs of a real image written by the kernel and compares
/// them with what `getfattr` saw while it was mounted. Needs root, loop
/// devices and e2fsprogs/attr/acl; skips (with a message) otherwise.
#[cfg(test)]
mod real_image {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::PathBuf;
    use std::process::Command;

    fn run(cmd: &str, args: &[&str]) -> Result<String, String> {
        let out = Command::new(cmd)
            .args(args)
            .output()
            .map_err(|e| format!("{cmd}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{cmd} {args:?}: {}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Unmounts on drop, so a failing assertion does not leave a mount.
    struct Mounted(PathBuf);
    impl Drop for Mounted {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// `getfattr -d -m - -e hex --absolute-names` output → path → name → hex.
    fn parse_getfattr(out: &str) -> BTreeMap<String, BTreeMap<String, String>> {
        let mut all = BTreeMap::new();
        let mut cur = None;
        for line in out.lines() {
            if let Some(path) = line.strip_prefix("# file: ") {
                cur = Some(path.to_string());
                all.insert(path.to_string(), BTreeMap::new());
            } else if let Some((name, value)) = line.split_once('=') {
                let value = value.strip_prefix("0x").expect("hex value");
                all.get_mut(cur.as_ref().unwrap())
                    .unwrap()
                    .insert(name.to_string(), value.to_string());
            }
        }
        all
    }

    /// Where debugfs says the inode of `path` lives: (block, byte offset).
    fn imap(img: &str, path: &str) -> (u64, usize) {
        let out = run("debugfs", &["-R", &format!("imap {path}"), img]).unwrap();
        let rest = out.split("located at block ").nth(1).expect("imap output");
        let (blk, rest) = rest.split_once(", offset 0x").unwrap();
        let off = rest.split_whitespace().next().unwrap();
        (
            blk.parse().unwrap(),
            usize::from_str_radix(off, 16).unwrap(),
        )
    }

    #[test]
    fn kernel_written_xattrs() {
        if unsafe { libc::geteuid() } != 0 {
            fuse4fs_testkit::skip!("not root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let img_path = dir.path().join("img");
        let mnt = dir.path().join("mnt");
        std::fs::create_dir(&mnt).unwrap();
        let img = img_path.to_str().unwrap();
        let mnt_s = mnt.to_str().unwrap();
        if let Err(e) = run(
            "mkfs.ext4",
            &[
                "-F",
                "-q",
                "-b",
                "4096",
                "-I",
                "256",
                "-O",
                "metadata_csum",
                img,
                "8M",
            ],
        ) {
            fuse4fs_testkit::skip!("{e}");
            return;
        }
        if let Err(e) = run("mount", &["-o", "loop", img, mnt_s]) {
            fuse4fs_testkit::skip!("{e}");
            return;
        }
        let mounted = Mounted(mnt.clone());

        let f = mnt.join("f");
        let d = mnt.join("d");
        std::fs::write(&f, b"x").unwrap();
        std::fs::create_dir(&d).unwrap();
        let (fs, ds) = (f.to_str().unwrap(), d.to_str().unwrap());
        let big: String = (0..1500u32)
            .map(|i| format!("{:02x}", (i * 37 % 251) as u8))
            .collect();
        let big = format!("0x{big}");
        let setters: &[(&str, Vec<&str>)] = &[
            ("setfattr", vec!["-n", "user.small", "-v", "0x01020304", fs]),
            ("setfattr", vec!["-n", "user.empty", fs]),
            ("setfattr", vec!["-n", "trusted.t", "-v", "hello", fs]),
            ("setfattr", vec!["-n", "security.test", "-v", "sec", fs]),
            ("setfattr", vec!["-n", "gnu.h", "-v", "hurd", fs]),
            ("setfattr", vec!["-n", "user.big", "-v", &big, fs]),
            ("setfacl", vec!["-m", "u:1234:rw,g:5678:r,u:4321:x", fs]),
            ("setfacl", vec!["-m", "u:77:r", ds]),
            ("setfacl", vec!["-d", "-m", "u:1000:rwx,g:2000:rx", ds]),
        ];
        for (cmd, args) in setters {
            if let Err(e) = run(cmd, args) {
                fuse4fs_testkit::skip!("{e}");
                return;
            }
        }
        let seen = parse_getfattr(
            &run(
                "getfattr",
                &["-d", "-m", "-", "-e", "hex", "--absolute-names", fs, ds],
            )
            .unwrap(),
        );
        drop(mounted);

        let image = std::fs::read(&img_path).unwrap();
        let sb = crate::ext4::layout::Ext4SuperBlock::of(&image[1024..2048]).unwrap();
        let block_size = 1024usize << sb.s_log_block_size.get();
        let inode_size = sb.s_inode_size.get() as usize;
        assert_eq!((block_size, inode_size), (4096, 256));
        // metadata_csum_seed (incompat 0x2000) stores the seed; otherwise
        // it is the crc32c of the UUID.
        let csum_seed = if sb.s_feature_incompat.get() & 0x2000 != 0 {
            sb.s_checksum_seed.get()
        } else {
            crc32c_raw(!0, &sb.s_uuid)
        };

        let mut from_block = 0;
        let mut from_ibody = 0;
        for (path, disk_path) in [(fs, "/f"), (ds, "/d")] {
            let (blk, off) = imap(img, disk_path);
            let at = blk as usize * block_size + off;
            let inode = &image[at..at + inode_size];
            let extra = crate::ext4::layout::Ext4InodeExtra::read(inode)
                .i_extra_isize
                .get() as usize;
            let ibody_area = &inode[128 + extra..];
            let mut entries = parse_ibody(ibody_area).unwrap();
            from_ibody += entries.len();
            // Our serialiser lays the same entries out byte for byte as
            // the kernel did (in-inode hashes 0, values in stored order).
            let placed = parse_ibody_placed(ibody_area).unwrap();
            assert!(placed.iter().all(|p| p.hash == 0), "{path} ibody hashes");
            let (es, ranks): (Vec<_>, Vec<_>) = placed
                .iter()
                .map(|p| (p.entry.clone(), p.value_offs as u32))
                .unzip();
            assert_eq!(
                build_ibody(&es, &ranks, ibody_area.len()).unwrap(),
                ibody_area,
                "{path} ibody layout"
            );
            let r = crate::ext4::layout::Ext4Inode::of(inode).unwrap();
            let acl_block = r.i_file_acl_lo.get() as u64 | (r.l_i_file_acl_high.get() as u64) << 32;
            if acl_block != 0 {
                let b = acl_block as usize * block_size;
                let block = &image[b..b + block_size];
                assert!(
                    verify_block_checksum(csum_seed, acl_block, block),
                    "{path} block checksum"
                );
                let mut bad = block.to_vec();
                bad[block_size - 1] ^= 1;
                assert!(!verify_block_checksum(csum_seed, acl_block, &bad));
                let (header, more) = parse_block(block).unwrap();
                assert_eq!((header.refcount, header.blocks), (1, 1));
                // Entry hashes, block hash, sort order and layout as the
                // kernel wrote them.
                let (_, placed) = parse_block_placed(block).unwrap();
                for p in &placed {
                    assert_eq!(
                        p.hash,
                        entry_hash(&p.entry.name, &p.entry.value),
                        "{path} hash of {:?}",
                        p.entry
                    );
                }
                assert_eq!(header.hash, block_hash(placed.iter().map(|p| p.hash)));
                assert!(
                    placed
                        .windows(2)
                        .all(|w| block_order(&w[0].entry, &w[1].entry).is_lt()),
                    "{path} block order"
                );
                let (es, ranks): (Vec<_>, Vec<_>) = placed
                    .iter()
                    .map(|p| (p.entry.clone(), p.value_offs as u32))
                    .unzip();
                let mut rebuilt = build_block(&es, &ranks, 1, block_size).unwrap();
                set_block_checksum(csum_seed, acl_block, &mut rebuilt);
                assert_eq!(rebuilt, block, "{path} block layout");
                from_block += more.len();
                entries.extend(more);
            }
            let mut parsed = BTreeMap::new();
            for e in &entries {
                if let Some(name) = e.vfs_name() {
                    parsed.insert(
                        String::from_utf8(name).unwrap(),
                        hex(&e.vfs_value().unwrap()),
                    );
                }
            }
            assert_eq!(&parsed, &seen[path], "{path}");
        }
        // The layout exercised both places (the 1500-byte value cannot fit
        // in a 256-byte inode).
        assert!(
            from_ibody > 0 && from_block > 0,
            "{from_ibody} {from_block}"
        );
        for name in [
            "user.small",
            "user.empty",
            "user.big",
            "system.posix_acl_access",
            "gnu.h",
        ] {
            assert!(seen[fs].contains_key(name), "{name}");
        }
        assert!(seen[ds].contains_key("system.posix_acl_default"));
    }
}
