//! Directory entries (ext4_dir_entry_2), the leaf-block checksum tail, and
//! the file type codes.

use zerocopy::FromBytes;

use super::csum::crc32c_raw;
use super::layout::{Ext4DirEntry2, Ext4DirEntryHash, Ext4DirEntryTail};
use super::{CorruptKind, FormatError, Generation, InodeNo};

/// Size of the checksum tail at the end of a leaf block.
pub const TAIL_SIZE: usize = size_of::<Ext4DirEntryTail>();
/// Where an entry's name starts.
const NAME: usize = Ext4DirEntry2::NAME_OFFSET;
const TAIL_FT: u8 = 0xDE;

/// File type codes stored in directory entries (same values as DT_* >> 0
/// after mapping below).
pub mod ft {
    pub const UNKNOWN: u8 = 0;
    pub const REG: u8 = 1;
    pub const DIR: u8 = 2;
    pub const CHRDEV: u8 = 3;
    pub const BLKDEV: u8 = 4;
    pub const FIFO: u8 = 5;
    pub const SOCK: u8 = 6;
    pub const SYMLINK: u8 = 7;
}

/// Maps an ext4 file type code to the DT_* value readdir reports.
pub fn ft_to_dtype(code: u8) -> u8 {
    match code {
        ft::REG => libc::DT_REG,
        ft::DIR => libc::DT_DIR,
        ft::CHRDEV => libc::DT_CHR,
        ft::BLKDEV => libc::DT_BLK,
        ft::FIFO => libc::DT_FIFO,
        ft::SOCK => libc::DT_SOCK,
        ft::SYMLINK => libc::DT_LNK,
        _ => libc::DT_UNKNOWN,
    }
}

/// The directory-entry file type code for an inode's `i_mode` (only the
/// type bits count).
pub fn ft_of_mode(m: u16) -> u8 {
    use super::inode::mode;
    match m & mode::S_IFMT {
        mode::S_IFREG => ft::REG,
        mode::S_IFDIR => ft::DIR,
        mode::S_IFCHR => ft::CHRDEV,
        mode::S_IFBLK => ft::BLKDEV,
        mode::S_IFIFO => ft::FIFO,
        mode::S_IFSOCK => ft::SOCK,
        mode::S_IFLNK => ft::SYMLINK,
        _ => ft::UNKNOWN,
    }
}

/// Minimum record length for a name of `name_len` bytes.
pub fn rec_len_for(name_len: usize) -> usize {
    (8 + name_len + 3) & !3
}

/// One entry as found in a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirEntryRef<'a> {
    /// Byte offset of the entry within the buffer it was parsed from.
    pub offset: usize,
    pub inode: u32,
    pub rec_len: usize,
    pub file_type: u8,
    pub name: &'a [u8],
}

/// Decodes rec_len, including the 64 KiB-block encoding.
pub(crate) fn rec_len_from_disk(raw: u16, block_size: usize) -> usize {
    if block_size >= 65536 && (raw == 65535 || raw == 0) {
        return block_size;
    }
    if block_size >= 65536 {
        return (raw as usize & 65532) | ((raw as usize & 3) << 16);
    }
    raw as usize
}

/// Iterates over the entries of a region of directory bytes, validating
/// each record as the kernel's `ext4_check_dir_entry` does. `filetype`
/// tells whether the high byte of name_len is a file type.
pub struct DirIter<'a> {
    buf: &'a [u8],
    pos: usize,
    block_size: usize,
    max_inode: u32,
    filetype: bool,
    failed: bool,
}

impl<'a> DirIter<'a> {
    /// `buf` is one block (or an inline-data region); `block_size` is used
    /// only for the rec_len encoding.
    pub fn new(buf: &'a [u8], block_size: usize, max_inode: u32, filetype: bool) -> Self {
        DirIter {
            buf,
            pos: 0,
            block_size,
            max_inode,
            filetype,
            failed: false,
        }
    }

    /// Starts at `pos` instead of 0 (must be an entry boundary).
    pub fn starting_at(mut self, pos: usize) -> Self {
        self.pos = pos;
        self
    }
}

impl<'a> Iterator for DirIter<'a> {
    type Item = Result<DirEntryRef<'a>, FormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.buf.len() {
            return None;
        }
        let b = &self.buf[self.pos..];
        let fail = |kind: CorruptKind| Some(Err(FormatError::Corrupt(kind)));
        let Some(e) = Ext4DirEntry2::of(b) else {
            self.failed = true;
            return fail(CorruptKind::DirEntryTruncated { off: self.pos });
        };
        let inode = e.inode.get();
        let rec_len = rec_len_from_disk(e.rec_len.get(), self.block_size);
        // Without the filetype feature the kernel still reads an 8-bit
        // name_len and ignores file_type.
        let name_len = e.name_len as usize;
        let file_type = if self.filetype { e.file_type } else { 0 };
        if rec_len < 12
            || !rec_len.is_multiple_of(4)
            || rec_len < rec_len_for(name_len)
            || rec_len > b.len()
        {
            self.failed = true;
            return fail(CorruptKind::DirEntryRecLen {
                rec_len,
                name_len,
                off: self.pos,
            });
        }
        if inode > self.max_inode {
            self.failed = true;
            return fail(CorruptKind::DirEntryInode {
                inode,
                off: self.pos,
            });
        }
        let entry = DirEntryRef {
            offset: self.pos,
            inode,
            rec_len,
            file_type,
            name: &b[NAME..NAME + name_len],
        };
        self.pos += rec_len;
        Some(Ok(entry))
    }
}

/// Iterates over the records of a region that [`DirIter`] already walked
/// whole without finding fault (a leaf the verified-block memo holds as
/// checked entry by entry, which cannot change: a change is a new copy).
/// Nothing is checked again, so a walk costs a few loads per record
/// instead of `DirIter`'s checks and error values; bounds are still
/// kept, and a record that could not have passed (too short to move on,
/// past the end) ends the walk.
pub struct CheckedIter<'a> {
    buf: &'a [u8],
    pos: usize,
    block_size: usize,
}

impl<'a> CheckedIter<'a> {
    /// `buf` and `block_size` as [`DirIter::new`] was given them.
    pub fn new(buf: &'a [u8], block_size: usize) -> Self {
        CheckedIter {
            buf,
            pos: 0,
            block_size,
        }
    }
}

impl<'a> Iterator for CheckedIter<'a> {
    type Item = DirEntryRef<'a>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let b = self.buf.get(self.pos..)?;
        let e = Ext4DirEntry2::of(b)?;
        let rec_len = rec_len_from_disk(e.rec_len.get(), self.block_size);
        let name = b.get(NAME..NAME + e.name_len as usize)?;
        if rec_len < 12 || rec_len > b.len() {
            debug_assert!(false, "a checked region holds a bad record");
            return None;
        }
        let entry = DirEntryRef {
            offset: self.pos,
            inode: e.inode.get(),
            rec_len,
            file_type: e.file_type,
            name,
        };
        self.pos += rec_len;
        Some(entry)
    }
}

/// Whether entry name `stored` is `name`, byte for byte. The last bytes
/// are compared first: names of one directory often differ only at the
/// end (file1, file2, ...), and most records are told apart there
/// without a call to memcmp. The last eight as one word: numbered names
/// that go round-robin over directories (f0000123 in the directory of
/// the names ending in 3, as scripts/bench and examples/fsops make them)
/// share their last byte too, and comparing one byte called memcmp for
/// every such record of a leaf.
#[inline]
pub fn same_name(stored: &[u8], name: &[u8]) -> bool {
    let n = name.len();
    if stored.len() != n {
        return false;
    }
    if n >= 8 {
        let last8 = |s: &[u8]| u64::from_ne_bytes(s[n - 8..].try_into().expect("eight bytes"));
        last8(stored) == last8(name) && stored[..n - 8] == name[..n - 8]
    } else {
        stored
            .iter()
            .rev()
            .zip(name.iter().rev())
            .all(|(a, b)| a == b)
    }
}

/// A name looked for in the records of a leaf, its last bytes (up to
/// eight) kept as one word: a record whose name has the same length is
/// told apart by one load and compare of the eight bytes that end its
/// name (the record's eight-byte header before a shorter name is masked
/// out), without a call per record. Names of one directory most often
/// share their start and length and differ near the end.
struct NameProbe<'n> {
    name: &'n [u8],
    tail: u64,
    mask: u64,
}

impl<'n> NameProbe<'n> {
    /// `name` must not be empty.
    fn new(name: &'n [u8]) -> Self {
        let k = name.len().min(8);
        let mut last = [0u8; 8];
        last[8 - k..].copy_from_slice(&name[name.len() - k..]);
        NameProbe {
            name,
            tail: u64::from_le_bytes(last),
            mask: !0u64 << (8 * (8 - k)),
        }
    }

    /// Whether the record at `pos` of `buf`, whose name is as long as
    /// this one and lies inside `buf`, is called this name.
    #[inline]
    fn matches(&self, buf: &[u8], pos: usize) -> bool {
        let n = self.name.len();
        let end = pos + NAME + n;
        let word = u64::from_le_bytes(buf[end - 8..end].try_into().expect("eight bytes"));
        (word ^ self.tail) & self.mask == 0
            && (n <= 8 || buf[pos + NAME..end - 8] == self.name[..n - 8])
    }
}

/// The first live entry called `name` (compared byte for byte) in a
/// region walked whole before (see [`CheckedIter`]).
///
/// The walk reads each record's header and slices a name only where the
/// length matches and the record is live: building an entry per record,
/// as [`CheckedIter`] does, cost three times as much.
pub fn find_checked<'a>(buf: &'a [u8], block_size: usize, name: &[u8]) -> Option<DirEntryRef<'a>> {
    if name.is_empty() {
        return None;
    }
    let probe = NameProbe::new(name);
    let mut pos = 0;
    while let Some(e) = buf.get(pos..).and_then(Ext4DirEntry2::of) {
        let rec_len = rec_len_from_disk(e.rec_len.get(), block_size);
        if e.name_len as usize == name.len() && e.inode.get() != 0 {
            let stored = buf.get(pos + NAME..pos + NAME + name.len())?;
            if probe.matches(buf, pos) {
                return Some(DirEntryRef {
                    offset: pos,
                    inode: e.inode.get(),
                    rec_len,
                    file_type: e.file_type,
                    name: stored,
                });
            }
        }
        if rec_len < 12 {
            debug_assert!(false, "a checked region holds a bad record");
            return None;
        }
        pos += rec_len;
    }
    None
}

/// The (hash, minor hash) an encrypted and casefolded directory keeps
/// after entry `e`'s name (`EXT4_DIRENT_HASHES`: two le32 at the name's
/// end rounded up to 4 bytes; the kernel's readdir and no-key names use
/// them, as it cannot hash a name without the key). `region` is the
/// buffer `e` was parsed from. A record too short to hold them is
/// damage, as the kernel's `ext4_check_dir_entry` says.
pub fn stored_hashes(region: &[u8], e: &DirEntryRef<'_>) -> Result<(u32, u32), FormatError> {
    let at = e.offset + rec_len_for(e.name.len());
    let end = at + size_of::<Ext4DirEntryHash>();
    let stored = region
        .get(at..end)
        .filter(|_| end <= e.offset + e.rec_len)
        .and_then(|b| Ext4DirEntryHash::ref_from_bytes(b).ok());
    let Some(h) = stored else {
        return Err(CorruptKind::DirEntryNoHashes {
            rec_len: e.rec_len,
            off: e.offset,
        }
        .into());
    };
    Ok((h.hash.get(), h.minor_hash.get()))
}

/// Whether `block` ends in a leaf checksum tail.
pub fn has_tail(block: &[u8]) -> bool {
    Ext4DirEntryTail::of(block).is_some_and(|t| {
        t.det_reserved_zero1.get() == 0
            && t.det_rec_len.get() as usize == TAIL_SIZE
            && t.det_reserved_zero2 == 0
            && t.det_reserved_ft == TAIL_FT
    })
}

/// The checksum of a leaf block (bytes before the tail).
pub fn leaf_checksum(seed: u32, ino: InodeNo, generation: Generation, block: &[u8]) -> u32 {
    let mut crc = crc32c_raw(seed, &ino.0.to_le_bytes());
    crc = crc32c_raw(crc, &generation.0.to_le_bytes());
    crc32c_raw(crc, &block[..block.len() - TAIL_SIZE])
}

/// Verifies a leaf block's tail checksum; a missing tail is an error on a
/// metadata_csum filesystem, as in the kernel.
pub fn verify_leaf(seed: u32, ino: InodeNo, generation: Generation, block: &[u8]) -> bool {
    has_tail(block)
        && Ext4DirEntryTail::of(block)
            .is_some_and(|t| leaf_checksum(seed, ino, generation, block) == t.det_checksum.get())
}

/// Encodes rec_len for the disk, the inverse of `rec_len_from_disk`
/// (the kernel's `ext4_rec_len_to_disk`): with 64 KiB blocks a record
/// spanning the whole block is 65535 and longer lengths keep bits 16-17
/// in the low two bits.
pub fn rec_len_to_disk(len: usize, block_size: usize) -> u16 {
    if len < 65536 {
        return len as u16;
    }
    if len == block_size {
        return if block_size == 65536 { 65535 } else { 0 };
    }
    ((len & 65532) | ((len >> 16) & 3)) as u16
}

/// Why an entry could not be added to a leaf block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditError {
    /// The name is empty or longer than 255 bytes (ENAMETOOLONG / EINVAL).
    BadName,
    /// An entry with this name is already in the block (EEXIST).
    Exists,
    /// The block's entries are damaged (EIO / EFSCORRUPTED).
    Format(FormatError),
}

impl From<FormatError> for EditError {
    fn from(e: FormatError) -> Self {
        EditError::Format(e)
    }
}

/// Longest name an entry can hold.
pub const NAME_MAX: usize = 255;

/// Writes one entry header and name at `offset`, encoding `rec_len` for
/// a block of `block.len()` bytes. The bytes from the end of the name to
/// the entry's minimal length are zeroed; the rest of the record is left
/// alone. Panics if the entry does not fit in `block`.
pub fn write_entry(
    block: &mut [u8],
    offset: usize,
    inode: u32,
    rec_len: usize,
    name: &[u8],
    file_type: u8,
) {
    let bs = block.len();
    let e = &mut block[offset..offset + rec_len_for(name.len()).max(NAME)];
    let h = Ext4DirEntry2::of_mut(e).expect("an entry has its header");
    h.inode.set(inode);
    h.rec_len.set(rec_len_to_disk(rec_len, bs));
    h.name_len = name.len() as u8;
    h.file_type = file_type;
    e[NAME..NAME + name.len()].copy_from_slice(name);
    e[NAME + name.len()..].fill(0);
}

fn set_rec_len(block: &mut [u8], offset: usize, rec_len: usize) {
    let raw = rec_len_to_disk(rec_len, block.len());
    Ext4DirEntry2::of_mut(&mut block[offset..])
        .expect("an entry has its header")
        .rec_len
        .set(raw);
}

/// Formats `block` as an empty leaf: zeroed, one unused entry spanning
/// it, or spanning up to the 12-byte tail which is then written (with a
/// zero checksum) when `csum` is set — as the kernel makes a new
/// directory block.
pub fn init_leaf(block: &mut [u8], csum: bool) {
    block.fill(0);
    let usable = block.len() - if csum { TAIL_SIZE } else { 0 };
    set_rec_len(block, 0, usable);
    if csum {
        set_leaf_tail(block);
    }
}

/// Writes the 12-byte checksum tail at the end of `block` with a zero
/// checksum (the kernel's `ext4_initialize_dirent_tail`).
pub fn set_leaf_tail(block: &mut [u8]) {
    let t = Ext4DirEntryTail::of_mut(block).expect("a leaf block holds its tail");
    t.det_reserved_zero1.set(0);
    t.det_rec_len.set(TAIL_SIZE as u16);
    t.det_reserved_zero2 = 0;
    t.det_reserved_ft = TAIL_FT;
    t.det_checksum.set(0);
}

/// Stores the leaf checksum in the tail of `block` (which must have one;
/// see [`set_leaf_tail`]).
pub fn set_leaf_checksum(seed: u32, ino: InodeNo, generation: Generation, block: &mut [u8]) {
    let c = leaf_checksum(seed, ino, generation, block);
    Ext4DirEntryTail::of_mut(block)
        .expect("a leaf block holds its tail")
        .det_checksum
        .set(c);
}

/// Adds an entry to a leaf block as the kernel's `ext4_find_dest_de` and
/// `ext4_insert_dentry` do: the first unused entry long enough is taken
/// over, else the first entry whose record has room past its own minimal
/// length is split. Only `block[..usable_len]` is touched (pass
/// `block.len() - TAIL_SIZE` when the block has a checksum tail); the
/// checksum is not updated. Returns `Ok(false)` when there is no room.
pub fn insert_entry(
    block: &mut [u8],
    usable_len: usize,
    inode: u32,
    name: &[u8],
    file_type: u8,
) -> Result<bool, EditError> {
    let Some(slot) = find_slot(block, usable_len, u32::MAX, name)? else {
        return Ok(false);
    };
    insert_at(block, slot, inode, name, file_type);
    Ok(true)
}

/// Where [`insert_entry`] puts a new name in a leaf block, as
/// [`find_slot`] found it: the record taken over or split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    offset: usize,
    rec_len: usize,
    /// Bytes the record keeps for its own entry (0: taken over whole).
    used: usize,
    /// The length of the name the room was found for.
    need: usize,
}

impl Slot {
    /// The room the record at `offset`, `rec_len` bytes long, gives a new
    /// entry of `need` bytes: all of it when free (`live_name_len` None),
    /// else what follows its own entry; None when that is too little.
    /// [`find_slot`] and [`find_slot_checked`] take the first such record.
    fn in_record(
        offset: usize,
        rec_len: usize,
        live_name_len: Option<usize>,
        need: usize,
    ) -> Option<Slot> {
        let used = live_name_len.map_or(0, rec_len_for);
        (rec_len.saturating_sub(used) >= need).then_some(Slot {
            offset,
            rec_len,
            used,
            need,
        })
    }
}

/// A name an entry can be given: 1 to [`NAME_MAX`] bytes.
fn check_new_name(name: &[u8]) -> Result<(), EditError> {
    if name.is_empty() || name.len() > NAME_MAX {
        return Err(EditError::BadName);
    }
    Ok(())
}

/// The search half of [`insert_entry`], one walk over every record of
/// `block[..usable_len]` that also checks them as `DirIter` does (inode
/// numbers up to `max_inode`): `Exists` when a live entry is called
/// `name`, else the slot a new entry of that name takes (None when the
/// block is full). A caller may check a block and place a name in the
/// same walk, and write it later with [`insert_at`] into the same bytes.
pub fn find_slot(
    block: &[u8],
    usable_len: usize,
    max_inode: u32,
    name: &[u8],
) -> Result<Option<Slot>, EditError> {
    let entries = DirIter::new(&block[..usable_len], block.len(), max_inode, true);
    slot_in(entries, name)
}

/// [`find_slot`] in a leaf whose records were all found good before (see
/// [`CheckedIter`]): the same answer without checking them again.
///
/// A create walks its whole leaf here (a duplicate may lie past the
/// slot), so the walk reads each record's header in place, as
/// [`find_checked`] does, and stops looking for room once it has the
/// slot: over [`CheckedIter`] it built an entry per record and was the
/// largest walk of a create.
pub fn find_slot_checked(
    block: &[u8],
    usable_len: usize,
    name: &[u8],
) -> Result<Option<Slot>, EditError> {
    check_new_name(name)?;
    let buf = &block[..usable_len];
    let block_size = block.len();
    let need = rec_len_for(name.len());
    let probe = NameProbe::new(name);
    let mut slot = None;
    let mut pos = 0;
    while let Some(e) = buf.get(pos..).and_then(Ext4DirEntry2::of) {
        let rec_len = rec_len_from_disk(e.rec_len.get(), block_size);
        let name_len = e.name_len as usize;
        // CheckedIter's bounds: a record whose name or length runs past
        // the region ends the walk (it could not have been checked).
        if rec_len < 12 || rec_len > buf.len() - pos || NAME + name_len > buf.len() - pos {
            debug_assert!(false, "a checked region holds a bad record");
            break;
        }
        let live = e.inode.get() != 0;
        if live && name_len == name.len() && probe.matches(buf, pos) {
            return Err(EditError::Exists);
        }
        if slot.is_none() {
            slot = Slot::in_record(pos, rec_len, live.then_some(name_len), need);
        }
        pos += rec_len;
    }
    Ok(slot)
}

/// The walk of [`find_slot`] over `entries`.
fn slot_in<'a>(
    entries: impl Iterator<Item = Result<DirEntryRef<'a>, FormatError>>,
    name: &[u8],
) -> Result<Option<Slot>, EditError> {
    check_new_name(name)?;
    let need = rec_len_for(name.len());
    let mut slot = None;
    for e in entries {
        let e = e?;
        let live = e.inode != 0;
        if live && same_name(e.name, name) {
            return Err(EditError::Exists);
        }
        if slot.is_none() {
            slot = Slot::in_record(e.offset, e.rec_len, live.then_some(e.name.len()), need);
        }
    }
    Ok(slot)
}

/// Writes the entry `name` → `inode` at `slot`, found by [`find_slot`]
/// for this name in these same bytes.
pub fn insert_at(block: &mut [u8], slot: Slot, inode: u32, name: &[u8], file_type: u8) {
    let Slot {
        offset,
        rec_len,
        used,
        need,
    } = slot;
    assert_eq!(
        need,
        rec_len_for(name.len()),
        "a slot found for another name"
    );
    if used == 0 {
        write_entry(block, offset, inode, rec_len, name, file_type);
    } else {
        set_rec_len(block, offset, used);
        write_entry(block, offset + used, inode, rec_len - used, name, file_type);
    }
}

/// Removes the entry called `name` from a leaf block as the kernel's
/// `ext4_generic_delete_entry` does: its record is merged into the
/// previous entry's and wiped, or, when it is the first entry of the
/// block, its inode and name are zeroed and its rec_len kept. Only
/// `block[..usable_len]` is touched; the checksum is not updated.
/// Returns the inode the entry named, or None when it is absent.
pub fn remove_entry(
    block: &mut [u8],
    usable_len: usize,
    name: &[u8],
) -> Result<Option<u32>, FormatError> {
    let bs = block.len();
    let mut prev: Option<DirEntryRef> = None;
    let mut found = None;
    for e in DirIter::new(&block[..usable_len], bs, u32::MAX, true) {
        let e = e?;
        if e.inode != 0 && e.name == name {
            found = Some((
                prev.map(|p| (p.offset, p.rec_len)),
                e.offset,
                e.rec_len,
                e.inode,
            ));
            break;
        }
        prev = Some(e);
    }
    let Some((prev, offset, rec_len, inode)) = found else {
        return Ok(None);
    };
    match prev {
        Some((p_off, p_len)) => {
            set_rec_len(block, p_off, p_len + rec_len);
            block[offset..offset + rec_len].fill(0);
        }
        None => {
            // The first entry keeps its rec_len; the rest is zeroed.
            let e = Ext4DirEntry2::of_mut(&mut block[offset..]).expect("an entry has its header");
            e.inode.set(0);
            e.name_len = 0;
            e.file_type = 0;
            block[offset + NAME..offset + rec_len].fill(0);
        }
    }
    Ok(Some(inode))
}

/// Writes "." naming `dir` (rec_len 12) and ".." naming `parent`
/// (spanning the rest of the block, up to the checksum tail when `csum`)
/// into a zeroed new directory block, then the tail with a zero checksum
/// — the kernel's `ext4_init_dot_dotdot` and `ext4_initialize_dirent_tail`.
pub fn init_dot_dotdot(block: &mut [u8], dir: u32, parent: u32, filetype: bool, csum: bool) {
    block.fill(0);
    let usable = block.len() - if csum { TAIL_SIZE } else { 0 };
    let ft = if filetype { ft::DIR } else { 0 };
    write_entry(block, 0, dir, rec_len_for(1), b".", ft);
    write_entry(block, 12, parent, usable - 12, b"..", ft);
    if csum {
        set_leaf_tail(block);
    }
}

/// Makes the last entry of `block[..old_end]` (whose records must tile
/// it exactly) reach `new_end`, as the kernel's `ext4_update_final_de`
/// and the rec_len fix-up of `make_indexed_dir` do when entries move to
/// a larger region.
pub fn extend_last_entry(
    block: &mut [u8],
    old_end: usize,
    new_end: usize,
) -> Result<(), FormatError> {
    let bs = block.len();
    let mut last = None;
    for e in DirIter::new(&block[..old_end], bs, u32::MAX, true) {
        last = Some(e?.offset);
    }
    let Some(off) = last else {
        return Err(CorruptKind::DirEntriesEmpty.into());
    };
    set_rec_len(block, off, new_end - off);
    Ok(())
}

/// Where a full leaf was split: the first hash of the entries moved to
/// the new block, and whether the entry before them has the same hash
/// (the index entry then carries the collision bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeafSplit {
    pub hash: u32,
    pub continued: bool,
}

/// Splits the full leaf `src` as the kernel's `do_split`: the live
/// entries are ordered by hash (`hash_of` gives an entry's major hash),
/// the upper entries — as many as fill at most half a block, counting
/// their records as they stand, else half of them by count — move to
/// the zeroed block `dst` with minimal records; the rest are packed at
/// the front of `src`. Both blocks' last records reach the tail (written
/// with a zero checksum when `csum`); unused bytes are zeroed. Entries
/// with equal hashes end on either side of the split only when the
/// split point falls among them, which `continued` reports.
pub fn split_leaf(
    src: &mut [u8],
    dst: &mut [u8],
    csum: bool,
    hash_of: &dyn Fn(&[u8]) -> u32,
) -> Result<LeafSplit, FormatError> {
    let bs = src.len();
    let usable = bs - if csum { TAIL_SIZE } else { 0 };
    // (hash, offset, rec_len) of each live entry: dx_make_map.
    let mut map = Vec::new();
    for e in DirIter::new(&src[..usable], bs, u32::MAX, true) {
        let e = e?;
        if e.inode != 0 && !e.name.is_empty() {
            map.push((hash_of(e.name), e.offset, e.rec_len));
        }
    }
    let count = map.len();
    if count < 2 {
        return Err(CorruptKind::DirLeafUnsplittable { count }.into());
    }
    map.sort_by_key(|m| m.0);
    // Move entries from the top while they fill at most half a block.
    let (mut size, mut moved) = (0usize, 0usize);
    let mut stopped_at: isize = -1;
    for i in (0..count).rev() {
        if size + map[i].2 / 2 > bs / 2 {
            stopped_at = i as isize;
            break;
        }
        size += map[i].2;
        moved += 1;
    }
    let split = if stopped_at > 0 {
        count - moved
    } else {
        count / 2
    };
    let hash = map[split].0;
    let continued = hash == map[split - 1].0;

    let entry_of = |b: &[u8], off: usize| {
        let e = Ext4DirEntry2::of(&b[off..]).expect("an entry has its header");
        let name = off + NAME;
        (
            e.inode.get(),
            e.file_type,
            b[name..name + e.name_len as usize].to_vec(),
        )
    };
    // The moving entries, in hash order (dx_move_dirents).
    dst.fill(0);
    let mut to = 0;
    let mut last2 = 0;
    for &(_, off, _) in &map[split..] {
        let (ino, ft, name) = entry_of(src, off);
        let len = rec_len_for(name.len());
        write_entry(dst, to, ino, len, &name, ft);
        last2 = to;
        to += len;
    }
    set_rec_len(dst, last2, usable - last2);
    // The staying entries, packed in their block order (dx_pack_dirents).
    let mut stay: Vec<usize> = map[..split].iter().map(|m| m.1).collect();
    stay.sort_unstable();
    let kept: Vec<_> = stay.iter().map(|&off| entry_of(src, off)).collect();
    src.fill(0);
    let mut to = 0;
    let mut last1 = 0;
    for (ino, ft, name) in &kept {
        let len = rec_len_for(name.len());
        write_entry(src, to, *ino, len, name, *ft);
        last1 = to;
        to += len;
    }
    set_rec_len(src, last1, usable - last1);
    if csum {
        set_leaf_tail(src);
        set_leaf_tail(dst);
    }
    Ok(LeafSplit { hash, continued })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext4::types::{get_le16, get_le32};

    /// The checked walks answer as `DirIter`'s: the same records, the
    /// same first live entry of a name (or none), the same slot for a new
    /// one, in leaves of every rec_len encoding with removed entries,
    /// names of equal length and equal last byte, and an unused first
    /// record.
    #[test]
    fn checked_walks_agree_with_dir_iter() {
        for (bs, csum) in [(1024, false), (4096, true), (65536, true)] {
            let usable = bs - if csum { TAIL_SIZE } else { 0 };
            let mut b = vec![0u8; bs];
            init_leaf(&mut b, csum);
            let names: Vec<Vec<u8>> = (0..400)
                .map(|i| match i % 4 {
                    0 => format!("f{i}").into_bytes(),
                    1 => format!("g{:03}", i % 100).into_bytes(),
                    2 => format!("{i}-x").into_bytes(),
                    _ => "n".repeat(1 + i % 200).into_bytes(),
                })
                .collect();
            let mut added = Vec::new();
            for (i, n) in names.iter().enumerate() {
                if insert_entry(&mut b, usable, 10 + i as u32, n, ft::REG) == Ok(true) {
                    added.push(n.clone());
                }
            }
            assert!(added.len() > 5, "{bs}: only {} names", added.len());
            // Remove the first entry (its record stays, unused) and every
            // third one (merged into the previous record).
            for n in added.iter().step_by(3) {
                remove_entry(&mut b, usable, n).unwrap().unwrap();
            }
            let region = &b[..usable];
            let walked: Vec<_> = DirIter::new(region, bs, u32::MAX, true)
                .map(Result::unwrap)
                .collect();
            let checked: Vec<_> = CheckedIter::new(region, bs).collect();
            assert_eq!(walked, checked, "{bs}");
            let search = |n: &[u8]| walked.iter().find(|e| e.inode != 0 && e.name == n).copied();
            let mut probes = names.clone();
            probes.extend([b"f".to_vec(), b"zz".to_vec(), "n".repeat(255).into_bytes()]);
            for n in &probes {
                assert_eq!(find_checked(region, bs, n), search(n), "{bs}: {n:?}");
                assert_eq!(
                    find_slot_checked(&b, usable, n),
                    find_slot(&b, usable, u32::MAX, n),
                    "{bs}: {n:?}"
                );
            }
            assert!(search(&added[1]).is_some() && search(&added[0]).is_none());
        }
    }

    /// `same_name` and `NameProbe` answer as `==` for names of every
    /// length up to 255 differing at every position (the probe reading a
    /// record whose header bytes differ from the name's), and
    /// `same_name` for names of other lengths.
    #[test]
    fn same_name_is_equality() {
        // A record of `stored` after a header of bytes unlike any name's.
        let record = |stored: &[u8]| [&[0xa5u8; NAME][..], stored].concat();
        for len in 1..=255usize {
            let a: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(same_name(&a, &a.clone()), "{len}");
            let probe = NameProbe::new(&a);
            assert!(probe.matches(&record(&a), 0), "{len}");
            for at in 0..len {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!same_name(&a, &b), "{len} at {at}");
                assert!(!probe.matches(&record(&b), 0), "{len} at {at}");
            }
            assert!(!same_name(&a, &a[..len - 1]), "{len} shorter");
            let mut longer = a.clone();
            longer.push(b'z');
            assert!(!same_name(&a, &longer), "{len} longer");
        }
    }

    #[test]
    fn file_types_map_to_entry_codes() {
        use crate::ext4::inode::mode;
        assert_eq!(ft_of_mode(mode::S_IFDIR | 0o755), ft::DIR);
        assert_eq!(ft_of_mode(mode::S_IFREG | 0o4755), ft::REG);
        assert_eq!(ft_of_mode(mode::S_IFLNK), ft::SYMLINK);
        assert_eq!(ft_of_mode(mode::S_IFSOCK), ft::SOCK);
        assert_eq!(ft_of_mode(mode::S_IFCHR), ft::CHRDEV);
        assert_eq!(ft_of_mode(mode::S_IFBLK), ft::BLKDEV);
        assert_eq!(ft_of_mode(mode::S_IFIFO), ft::FIFO);
        assert_eq!(ft_of_mode(0o0644), ft::UNKNOWN);
    }

    #[test]
    fn hashes_after_the_name_are_read_or_refused() {
        // name_len 5: the hashes at 8 + 5 rounded up to 16.
        let mut block = entry(12, 24, b"abcde", ft::REG);
        block.truncate(16);
        block.extend(0x1122_3344u32.to_le_bytes());
        block.extend(0x5566_7788u32.to_le_bytes());
        block.extend(entry(13, 16, b"xyzw", ft::REG));
        let e: Vec<_> = DirIter::new(&block, 1024, 100, true)
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            stored_hashes(&block, &e[0]).unwrap(),
            (0x1122_3344, 0x5566_7788)
        );
        // 8 + 4 = 12 leaves 4 bytes of a 16-byte record: no room.
        assert!(stored_hashes(&block, &e[1]).is_err());
    }

    fn entry(inode: u32, rec_len: u16, name: &[u8], ft: u8) -> Vec<u8> {
        let mut v = inode.to_le_bytes().to_vec();
        v.extend(rec_len.to_le_bytes());
        v.push(name.len() as u8);
        v.push(ft);
        v.extend(name);
        v.resize(rec_len as usize, 0);
        v
    }

    #[test]
    fn iterates_and_validates() {
        let mut b = entry(2, 12, b".", 2);
        b.extend(entry(2, 12, b"..", 2));
        b.extend(entry(12, 40, b"hello", 1));
        let v: Vec<_> = DirIter::new(&b, 1024, 100, true)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[2].name, b"hello");
        assert_eq!(v[2].offset, 24);
        let again: Vec<_> = DirIter::new(&b, 1024, 100, true).starting_at(24).collect();
        assert_eq!(again.len(), 1);
    }

    #[test]
    fn zero_rec_len_is_an_error_not_a_loop() {
        let b = entry(2, 12, b".", 2);
        let mut bad = b.clone();
        bad[4] = 0;
        let v: Vec<_> = DirIter::new(&bad, 1024, 100, true).collect();
        assert_eq!(v.len(), 1);
        assert!(v[0].is_err());
        let mut past = b;
        past[4] = 16;
        assert!(
            DirIter::new(&past, 1024, 100, true)
                .next()
                .unwrap()
                .is_err()
        );
    }

    #[test]
    fn tail_detection() {
        let mut b = vec![0u8; 1024];
        b[1012 + 4] = 12;
        b[1012 + 7] = 0xDE;
        assert!(has_tail(&b));
        let c = leaf_checksum(1, InodeNo(2), Generation(0), &b);
        b[1020..].copy_from_slice(&c.to_le_bytes());
        assert!(verify_leaf(1, InodeNo(2), Generation(0), &b));
        assert!(!verify_leaf(1, InodeNo(3), Generation(0), &b));
    }

    fn names(block: &[u8], usable: usize) -> Vec<(u32, Vec<u8>)> {
        DirIter::new(&block[..usable], block.len(), u32::MAX, true)
            .map(|e| e.unwrap())
            .filter(|e| e.inode != 0)
            .map(|e| (e.inode, e.name.to_vec()))
            .collect()
    }

    #[test]
    fn rec_len_encoding_round_trips() {
        for bs in [1024usize, 4096, 65536] {
            for len in (12..=bs).step_by(4) {
                let raw = rec_len_to_disk(len, bs);
                assert_eq!(rec_len_from_disk(raw, bs), len, "bs {bs} len {len}");
            }
        }
        assert_eq!(rec_len_to_disk(65536, 65536), 65535);
        assert_eq!(rec_len_to_disk(65524, 65536), 65524);
    }

    #[test]
    fn init_leaf_with_and_without_tail() {
        let mut b = vec![0xAAu8; 1024];
        init_leaf(&mut b, false);
        assert_eq!(&b[..8], &[0, 0, 0, 0, 0, 4, 0, 0]);
        assert!(b[8..].iter().all(|&x| x == 0));
        init_leaf(&mut b, true);
        assert_eq!(get_le16(&b, 4), 1012);
        assert!(has_tail(&b));
        set_leaf_checksum(9, InodeNo(12), Generation(3), &mut b);
        assert!(verify_leaf(9, InodeNo(12), Generation(3), &b));
        let mut big = vec![0u8; 65536];
        init_leaf(&mut big, false);
        assert_eq!(get_le16(&big, 4), 65535);
        assert_eq!(DirIter::new(&big, 65536, 10, true).count(), 1);
    }

    #[test]
    fn insert_until_full_remove_and_reinsert() {
        let mut b = vec![0u8; 1024];
        init_leaf(&mut b, true);
        let usable = 1024 - TAIL_SIZE;
        let tail: Vec<u8> = b[usable..].to_vec();
        let mut n = 0u32;
        // 12-byte names take 20-byte records: 1012 / 20 = 50 fit.
        while insert_entry(
            &mut b,
            usable,
            100 + n,
            format!("name-{n:07}").as_bytes(),
            ft::REG,
        )
        .unwrap()
        {
            n += 1;
        }
        assert_eq!(n, 50);
        assert_eq!(&b[usable..], &tail[..], "tail untouched");
        assert_eq!(names(&b, usable).len(), 50);
        // The last record absorbs the 12 spare bytes; a 4-byte name (12)
        // still fits there, a 5-byte one (16) does not.
        assert!(!insert_entry(&mut b, usable, 7, b"abcde", 1).unwrap());
        assert!(insert_entry(&mut b, usable, 7, b"abcd", 1).unwrap());
        assert!(!insert_entry(&mut b, usable, 7, b"x", 1).unwrap());
        assert_eq!(
            insert_entry(&mut b, usable, 7, b"abcd", 1),
            Err(EditError::Exists)
        );
        // Remove one in the middle: its record merges into the previous.
        assert_eq!(
            remove_entry(&mut b, usable, b"name-0000010").unwrap(),
            Some(110)
        );
        assert_eq!(remove_entry(&mut b, usable, b"name-0000010").unwrap(), None);
        assert_eq!(names(&b, usable).len(), 50);
        let prev = DirIter::new(&b[..usable], 1024, u32::MAX, true)
            .map(|e| e.unwrap())
            .find(|e| e.name == b"name-0000009")
            .map(|e| (e.offset, e.rec_len))
            .unwrap();
        let (p_off, p_len) = prev;
        assert_eq!(p_len, 40);
        assert!(b[p_off + 20..p_off + 40].iter().all(|&x| x == 0));
        // Now a longer name fits only in that hole.
        assert!(insert_entry(&mut b, usable, 8, b"twelve-chars", 2).unwrap());
        let e = DirIter::new(&b[..usable], 1024, u32::MAX, true)
            .map(|e| e.unwrap())
            .find(|e| e.name == b"twelve-chars")
            .unwrap();
        assert_eq!(
            (e.offset, e.rec_len, e.inode, e.file_type),
            (p_off + 20, 20, 8, 2)
        );
        assert!(!insert_entry(&mut b, usable, 9, b"y", 1).unwrap());
        assert_eq!(&b[usable..], &tail[..]);
        set_leaf_checksum(1, InodeNo(2), Generation(0), &mut b);
        assert!(verify_leaf(1, InodeNo(2), Generation(0), &b));
    }

    #[test]
    fn removed_first_entry_is_reused() {
        let mut b = vec![0u8; 1024];
        init_leaf(&mut b, false);
        assert!(insert_entry(&mut b, 1024, 11, b"first", 1).unwrap());
        assert!(insert_entry(&mut b, 1024, 12, b"second", 1).unwrap());
        assert_eq!(get_le32(&b, 0), 11);
        assert_eq!(get_le16(&b, 4), 16);
        assert_eq!(remove_entry(&mut b, 1024, b"first").unwrap(), Some(11));
        // First entry: inode and name zeroed, rec_len kept.
        assert_eq!(&b[..16], &[0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(names(&b, 1024), vec![(12, b"second".to_vec())]);
        // A name too long for the 16-byte slot goes after "second".
        assert!(insert_entry(&mut b, 1024, 13, b"longer-name", 1).unwrap());
        assert_eq!(get_le32(&b, 0), 0);
        // One that fits takes the empty first slot, keeping its rec_len.
        assert!(insert_entry(&mut b, 1024, 14, b"abcdefgh", 1).unwrap());
        assert_eq!(get_le32(&b, 0), 14);
        assert_eq!(get_le16(&b, 4), 16);
        assert_eq!(names(&b, 1024).len(), 3);
    }

    #[test]
    fn name_lengths_one_and_255() {
        let mut b = vec![0u8; 4096];
        init_leaf(&mut b, true);
        let usable = 4096 - TAIL_SIZE;
        let long = vec![b'z'; 255];
        assert!(insert_entry(&mut b, usable, 20, b"a", ft::DIR).unwrap());
        assert!(insert_entry(&mut b, usable, 21, &long, ft::SYMLINK).unwrap());
        assert_eq!(
            insert_entry(&mut b, usable, 22, &[b'z'; 256], 1),
            Err(EditError::BadName)
        );
        assert_eq!(
            insert_entry(&mut b, usable, 22, b"", 1),
            Err(EditError::BadName)
        );
        let v: Vec<_> = DirIter::new(&b[..usable], 4096, u32::MAX, true)
            .map(|e| e.unwrap())
            .collect();
        assert_eq!(
            (v[0].rec_len, v[0].name, v[0].file_type),
            (12, &b"a"[..], ft::DIR)
        );
        assert_eq!((v[1].offset, v[1].rec_len), (12, usable - 12));
        assert_eq!((v[1].name.len(), v[1].file_type), (255, ft::SYMLINK));
        assert_eq!(remove_entry(&mut b, usable, &long).unwrap(), Some(21));
        assert_eq!(remove_entry(&mut b, usable, b"a").unwrap(), Some(20));
        assert!(names(&b, usable).is_empty());
        assert_eq!(get_le16(&b, 4) as usize, usable);
        assert!(has_tail(&b));
    }

    #[test]
    fn insert_refuses_damaged_blocks_and_never_writes_the_tail() {
        let mut b = vec![0u8; 1024];
        init_leaf(&mut b, true);
        // A record running into the tail is damage, not room.
        b[4..6].copy_from_slice(&1024u16.to_le_bytes());
        assert!(matches!(
            insert_entry(&mut b, 1012, 5, b"x", 1),
            Err(EditError::Format(_))
        ));
        assert!(remove_entry(&mut b, 1012, b"x").is_err());
    }
}
