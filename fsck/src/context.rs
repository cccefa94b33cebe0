//! The state of one check: the device, the superblock and group
//! descriptors as read (and as repaired), and what the passes have found
//! so far. Passes read and write the device only through here.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use fuse4fs_format::ext4::bitmap::Bitmap;
use fuse4fs_format::ext4::group::GroupDesc;
use fuse4fs_format::ext4::inode::{GOOD_OLD_INODE_SIZE, Inode, set_inode_checksum};
use fuse4fs_format::ext4::layout::{Ext4Inode, Ext4InodeExtra};
use fuse4fs_format::ext4::superblock::{
    SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, Superblock, ro_compat, set_superblock_checksum,
};
use fuse4fs_format::ext4::{BlockNo, CorruptKind, FormatError, Generation, InodeNo};

use crate::device::Device;
use crate::error::{FsckError, Result};
use crate::inode_table::InodeTable;
use crate::options::Options;
use crate::problem::Problem;
use crate::progress::Progress;
use crate::report::Report;

/// What pass 1 learnt about one inode, for the later passes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InodeInfo {
    /// File type (i_mode >> 12); 0 when the inode is not in use.
    pub ftype: u8,
    /// i_links_count as on disk (or as repaired).
    pub links: u16,
    /// Directory entries naming the inode, counted by pass 2 (`.` and
    /// `..` not counted; pass 4 adds a directory's own link from its
    /// parent and its subdirectories' `..`).
    pub refs: u32,
    /// Whether the inode has no data (size 0, no blocks): pass 4 clears
    /// such an unattached inode instead of moving it to lost+found.
    pub empty: bool,
}

impl InodeInfo {
    /// Whether pass 1 found the inode in use.
    pub fn in_use(&self) -> bool {
        self.ftype != 0
    }

    /// The directory-entry file type code an entry naming it carries.
    pub fn entry_type(&self) -> u8 {
        fuse4fs_format::ext4::dir::ft_of_mode((self.ftype as u16) << 12)
    }

    /// Whether it is a directory.
    pub fn is_dir(&self) -> bool {
        self.ftype == (fuse4fs_format::ext4::inode::mode::S_IFDIR >> 12) as u8
    }
}

/// One directory as pass 1 found it, for pass 2 and pass 3.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirInfo {
    pub generation: Generation,
    /// Whether the htree flag is set (and the filesystem has dir_index).
    pub indexed: bool,
    /// Whether the directory lives in the inode (inline_data).
    pub inline: bool,
    /// i_size in bytes.
    pub size: u64,
    /// What its `..` entry names (pass 2; 0 when missing).
    pub dotdot: InodeNo,
    /// The directory whose entry names it (pass 2; 0 when none found).
    pub parent: InodeNo,
    /// Whether names compare casefolded (the casefold flag on a
    /// filesystem with the feature): its htree hashes are over folded
    /// names.
    pub casefold: bool,
    /// Whether each entry keeps its name's hash after the name
    /// (encrypted and casefolded: `ext4_hash_in_dirent`).
    pub hashed: bool,
}

/// A directory block to check in pass 2 (the list is sorted by
/// physical block so that pass 2 reads the device in order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DirBlock {
    pub pblk: BlockNo,
    pub ino: InodeNo,
    /// Logical block within the directory.
    pub lblk: u64,
}

/// Everything the passes find, by inode and block.
pub struct Found {
    /// Every block something owns: fixed metadata first, then each
    /// in-use inode's data and tree blocks (pass 1), maintained by later
    /// repairs (a cleared inode gives its blocks back).
    pub blocks: Bitmap<Vec<u8>>,
    /// Blocks claimed more than once (pass 1), for pass 1B.
    pub dup_blocks: BTreeSet<BlockNo>,
    /// Fixed metadata (superblock and descriptor copies, reserved GDT
    /// blocks, bitmaps, inode tables) as sorted, disjoint [start, end)
    /// runs, set before pass 1.
    pub fixed: Vec<(BlockNo, BlockNo)>,
    /// Per inode.
    pub inodes: InodeTable,
    /// Directories by inode number.
    pub dirs: BTreeMap<InodeNo, DirInfo>,
    /// Directory blocks for pass 2.
    pub dir_blocks: Vec<DirBlock>,
    /// xattr blocks: inodes naming each, counted by pass 1.
    pub xattr_refs: HashMap<BlockNo, u32>,
    /// What each xattr block's EA inode entries cost every inode naming
    /// the block (pass 1, with ea_inode).
    pub xattr_ea_charge: HashMap<BlockNo, crate::pass1::EaCharge>,
    /// EA inodes: the xattr entries naming each (pass 1, for pass 4).
    pub ea_refs: HashMap<InodeNo, u64>,
    /// With the quota feature: each in-use inode's owners and bytes,
    /// recorded by pass 1 for the quota check (which sums those still in
    /// use after the later passes).
    pub quota_owners: HashMap<InodeNo, crate::quota::Owner>,
    /// Inodes on the orphan list (processed before pass 1).
    pub orphans: BTreeSet<InodeNo>,
    /// The lost+found directory once found or made (pass 3).
    pub lost_found: Option<InodeNo>,
    /// Bitmaps whose descriptor places them outside the filesystem or on
    /// other metadata: (group, true for the block bitmap / false for the
    /// inode bitmap), with whether to relocate them (`-y`) before pass 5.
    /// Pass 5 cannot compare what is on disk there.
    pub misplaced_bitmaps: Vec<(u32, bool, bool)>,
    /// Inodes with the encrypt flag on an encrypt filesystem (pass 1):
    /// their names are ciphertext, checked as such by pass 2.
    pub encrypted: BTreeSet<InodeNo>,
}

impl Found {
    fn new(sb: &Superblock) -> Self {
        let nblocks = sb.blocks_count as usize;
        Found {
            blocks: Bitmap::new(vec![0u8; nblocks.div_ceil(8)]),
            dup_blocks: BTreeSet::new(),
            fixed: Vec::new(),
            inodes: InodeTable::new(sb.inodes_count),
            dirs: BTreeMap::new(),
            dir_blocks: Vec::new(),
            xattr_refs: HashMap::new(),
            xattr_ea_charge: HashMap::new(),
            ea_refs: HashMap::new(),
            quota_owners: HashMap::new(),
            orphans: BTreeSet::new(),
            lost_found: None,
            misplaced_bitmaps: Vec::new(),
            encrypted: BTreeSet::new(),
        }
    }

    /// The entry for `ino` (which the caller has range-checked).
    pub fn inode(&self, ino: InodeNo) -> &InodeInfo {
        self.inodes.get(ino)
    }

    /// The entry for `ino`, mutable.
    pub fn inode_mut(&mut self, ino: InodeNo) -> &mut InodeInfo {
        self.inodes.get_mut(ino)
    }

    /// Whether block `b` is fixed metadata.
    pub fn is_fixed(&self, b: BlockNo) -> bool {
        let i = self.fixed.partition_point(|&(_, end)| end <= b);
        self.fixed.get(i).is_some_and(|&(start, _)| start <= b)
    }

    /// Records fixed metadata from `start` for `len` blocks (call
    /// [`Found::seal_fixed`] once all are in).
    pub fn add_fixed(&mut self, start: BlockNo, len: u64) {
        if len > 0 {
            self.fixed.push((start, start.saturating_plus(len)));
        }
    }

    /// Sorts and merges the fixed runs.
    pub fn seal_fixed(&mut self) {
        self.fixed.sort_unstable();
        let mut out: Vec<(BlockNo, BlockNo)> = Vec::with_capacity(self.fixed.len());
        for &(s, e) in &self.fixed {
            match out.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => out.push((s, e)),
            }
        }
        self.fixed = out;
    }

    /// Marks block `b` owned; returns false (and records it in
    /// `dup_blocks`) when something already owned it.
    pub fn claim(&mut self, b: BlockNo) -> bool {
        if self.blocks.get(b.bit()) {
            self.dup_blocks.insert(b);
            false
        } else {
            self.blocks.set(b.bit());
            true
        }
    }
}

/// One check in progress.
pub struct Fsck {
    pub dev: Device,
    pub opts: Options,
    pub sb: Superblock,
    /// The superblock's 1024 bytes as read (repairs edit and rewrite them).
    pub sb_raw: Vec<u8>,
    pub groups: Vec<GroupDesc>,
    /// Each descriptor's raw bytes (`desc_size`), for rewriting.
    pub gd_raw: Vec<Vec<u8>>,
    /// Block size in bytes.
    pub bs: u64,
    /// The metadata_csum seed.
    pub seed: u32,
    pub report: Report,
    pub found: Found,
    pub progress: Progress,
    /// Whether anything was written.
    pub modified: bool,
    /// Pass 2 found an entry naming an inode pass 1 skipped (in a group
    /// marked INODE_UNINIT, or past its itable_unused) and the
    /// descriptor was repaired in memory: these groups' descriptors are
    /// written after pass 2 and the check starts again, as e2fsck's does.
    pub restart: Vec<u32>,
}

/// Refuses a filesystem with features the checker cannot read, and, when
/// it may write, one with ro_compat features no writer here knows (as
/// e2fsck refuses features newer than itself): a repair would not keep
/// their invariants.
fn check_features(sb: &Superblock, opts: &Options) -> Result<()> {
    sb.check_features_for_read()
        .map_err(|e| FsckError::Unsupported(e.to_string()))?;
    // The server reads bigalloc images, but every pass here counts blocks
    // where bigalloc counts clusters (i_blocks, the bitmaps, the free
    // counts): a check would call a good image damaged.
    if sb.has_ro_compat(ro_compat::BIGALLOC) {
        return Err(FsckError::Unsupported(
            "feature bigalloc (not checked here; use e2fsck)".into(),
        ));
    }
    let unknown = sb.unknown_ro_compat();
    if opts.writable() && unknown != 0 {
        return Err(FsckError::Unsupported(format!(
            "repairs with unknown ro_compat feature 0x{unknown:x} (use -n)"
        )));
    }
    Ok(())
}

impl Fsck {
    /// Reads the superblock and group descriptors of `dev`. Fails (exit
    /// code 8) only when the superblock is unusable or the filesystem uses
    /// a feature this checker does not understand; damaged descriptors
    /// are problems of the setup pass.
    pub fn open(dev: Device, opts: Options, label: &str) -> Result<Self> {
        let mut sb_raw = vec![0u8; SUPERBLOCK_SIZE];
        dev.read_at(SUPERBLOCK_OFFSET, &mut sb_raw)?;
        let sb = Superblock::parse(&sb_raw)?;
        check_features(&sb, &opts)?;
        validate(&sb, &dev)?;
        let bs = sb.block_size() as u64;
        let report = Report::new(&opts, label);
        let progress = Progress::new(opts.progress);
        let found = Found::new(&sb);
        let seed = sb.csum_seed();
        let mut cx = Fsck {
            dev,
            opts,
            seed,
            bs,
            groups: Vec::new(),
            gd_raw: Vec::new(),
            sb,
            sb_raw,
            report,
            found,
            progress,
            modified: false,
            restart: Vec::new(),
        };
        cx.load_groups()?;
        Ok(cx)
    }

    /// Reads the superblock and the group descriptors again and starts
    /// `found` afresh: a journal replay (before setup) may have rewritten
    /// them.
    pub fn reload(&mut self) -> Result<()> {
        let mut sb_raw = vec![0u8; SUPERBLOCK_SIZE];
        self.dev.read_at(SUPERBLOCK_OFFSET, &mut sb_raw)?;
        let sb = Superblock::parse(&sb_raw)?;
        check_features(&sb, &self.opts)?;
        validate(&sb, &self.dev)?;
        self.bs = sb.block_size() as u64;
        self.seed = sb.csum_seed();
        self.found = Found::new(&sb);
        self.sb = sb;
        self.sb_raw = sb_raw;
        self.groups.clear();
        self.gd_raw.clear();
        self.load_groups()
    }

    fn load_groups(&mut self) -> Result<()> {
        let n = self.sb.group_count();
        let ds = self.sb.desc_size as usize;
        let mut block: Option<(BlockNo, Vec<u8>)> = None;
        for g in 0..n {
            let (b, off) = self.sb.group_desc_location(g);
            if block.as_ref().is_none_or(|(cur, _)| *cur != b) {
                block = Some((b, self.read_block(b)?));
            }
            let raw = block.as_ref().expect("just read").1[off..off + ds].to_vec();
            self.groups.push(GroupDesc::parse(&self.sb, &raw));
            self.gd_raw.push(raw);
        }
        Ok(())
    }

    /// Whether `b` is a block of the filesystem that files may own (at or
    /// past `s_first_data_block`, before the end).
    pub fn block_in_fs(&self, b: BlockNo) -> bool {
        b.0 >= self.sb.first_data_block as u64 && b.0 < self.sb.blocks_count
    }

    /// Byte offset of block `b` on the device.
    pub fn block_offset(&self, b: BlockNo) -> u64 {
        b.0 * self.bs
    }

    /// Every inode number, 1 to s_inodes_count, in order.
    pub fn inode_numbers(&self) -> impl Iterator<Item = InodeNo> + use<> {
        (1..=self.sb.inodes_count).map(InodeNo)
    }

    /// Whether `ino` is a valid inode number.
    pub fn inode_in_range(&self, ino: InodeNo) -> bool {
        ino.0 >= 1 && ino.0 <= self.sb.inodes_count
    }

    /// The group holding inode `ino`, and its index in the group.
    pub fn inode_slot(&self, ino: InodeNo) -> (u32, u32) {
        (
            (ino.0 - 1) / self.sb.inodes_per_group,
            (ino.0 - 1) % self.sb.inodes_per_group,
        )
    }

    /// Byte offset of inode `ino` on the device.
    ///
    /// A table the descriptor places absurdly far (before setup has
    /// judged the descriptors: the journal inode is read first) gives an
    /// offset past any device, which reads and writes refuse, rather than
    /// an overflow.
    pub fn inode_offset(&self, ino: InodeNo) -> u64 {
        let (g, i) = self.inode_slot(ino);
        self.groups[g as usize]
            .inode_table
            .0
            .saturating_mul(self.bs)
            .saturating_add(i as u64 * self.sb.inode_size as u64)
    }

    /// Reads block `b`.
    pub fn read_block(&self, b: BlockNo) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; self.bs as usize];
        self.read_block_into(b, &mut buf)?;
        Ok(buf)
    }

    /// Reads block `b` into `buf` (one block long).
    pub fn read_block_into(&self, b: BlockNo, buf: &mut [u8]) -> Result<()> {
        if b.0 >= self.sb.blocks_count {
            // BlockNo's Display: "read block N".
            return Err(FsckError::io(
                format!("read {b}"),
                std::io::Error::other("past the end of the filesystem"),
            ));
        }
        self.dev.read_at(self.block_offset(b), buf)
    }

    /// Writes block `b` (a repair): inside the filesystem only (never the
    /// boot block of a 1 KiB-block filesystem).
    pub fn write_block(&mut self, b: BlockNo, data: &[u8]) -> Result<()> {
        if !self.block_in_fs(b) {
            return Err(FsckError::io(
                format!("write {b}"),
                std::io::Error::other("outside the filesystem"),
            ));
        }
        self.modified = true;
        self.dev.write_at(self.block_offset(b), data)
    }

    /// Reads the raw bytes of inode `ino` (`s_inode_size` of them).
    pub fn read_inode_raw(&self, ino: InodeNo) -> Result<Vec<u8>> {
        let mut raw = vec![0u8; self.sb.inode_size as usize];
        self.dev.read_at(self.inode_offset(ino), &mut raw)?;
        Ok(raw)
    }

    /// Reads and parses inode `ino` (checksum verified).
    pub fn read_inode(&self, ino: InodeNo) -> Result<std::result::Result<Inode, FormatError>> {
        let raw = self.read_inode_raw(ino)?;
        Ok(Inode::parse(&self.sb, ino, &raw))
    }

    /// Writes raw inode bytes back, checksum set first.
    pub fn write_inode_raw(&mut self, ino: InodeNo, raw: &mut [u8]) -> Result<()> {
        set_inode_checksum(&self.sb, ino, raw);
        self.modified = true;
        self.dev.write_at(self.inode_offset(ino), raw)
    }

    /// Writes a parsed (and edited) inode back over its on-disk bytes.
    pub fn write_inode(&mut self, inode: &Inode) -> Result<()> {
        let ino = inode.ino;
        let mut raw = self.read_inode_raw(ino)?;
        inode.write_to(&self.sb, &mut raw)?;
        self.write_inode_raw(ino, &mut raw)
    }

    /// Zeroes inode `ino` on disk but for its generation (what e2fsck's
    /// "Clear" does, keeping stale handles stale), and forgets it.
    pub fn clear_inode(&mut self, ino: InodeNo) -> Result<()> {
        let mut raw = self.read_inode_raw(ino)?;
        let (_, generation) = fuse4fs_format::ext4::inode::links_and_generation(&raw);
        let extra = if raw.len() > GOOD_OLD_INODE_SIZE {
            size_of::<Ext4InodeExtra>().min(raw.len() - GOOD_OLD_INODE_SIZE)
        } else {
            0
        };
        raw.fill(0);
        if extra >= 4 {
            // Keep i_extra_isize sane for the next user of the slot.
            let want = self.sb.want_extra_isize.max(32).min(extra as u16);
            let mut x = Ext4InodeExtra::read(&raw);
            x.i_extra_isize.set(want);
            x.write(&mut raw);
        }
        let r = Ext4Inode::of_mut(&mut raw).expect("an inode has 128 bytes");
        r.i_generation.set(generation.0);
        // A cleared inode's deletion time marks it free.
        r.i_dtime.set(now_secs());
        self.write_inode_raw(ino, &mut raw)?;
        let info = self.found.inode_mut(ino);
        *info = InodeInfo::default();
        self.found.dirs.remove(&ino);
        self.found.dir_blocks.retain(|d| d.ino != ino);
        Ok(())
    }

    /// Rewrites group descriptor `g` from `self.groups[g]`, checksum
    /// included, in the primary table.
    pub fn write_group_desc(&mut self, g: u32) -> Result<()> {
        let gd = self.groups[g as usize];
        let mut raw = self.gd_raw[g as usize].clone();
        gd.write_to(&self.sb, &mut raw)?;
        if let Some(c) = GroupDesc::set_checksum(&self.sb, g, &mut raw) {
            self.groups[g as usize].checksum = c;
        }
        let (b, off) = self.sb.group_desc_location(g);
        self.modified = true;
        self.dev.write_at(self.block_offset(b) + off as u64, &raw)?;
        self.gd_raw[g as usize] = raw;
        Ok(())
    }

    /// Rewrites the superblock from `self.sb` (checksum included).
    pub fn write_superblock(&mut self) -> Result<()> {
        let mut raw = self.sb_raw.clone();
        self.sb.write_to(&mut raw)?;
        set_superblock_checksum(&mut raw);
        self.modified = true;
        self.dev.write_at(SUPERBLOCK_OFFSET, &raw)?;
        self.sb_raw = raw;
        Ok(())
    }

    /// Asks about a problem (see [`Report::ask`]).
    pub fn ask(&mut self, problem: Problem) -> bool {
        let report = &mut self.report;
        self.progress.suspend(|| report.ask(problem))
    }
}

/// Refuses a superblock whose geometry the device or the inode count
/// contradicts (an operational error: nothing sensible can be checked).
fn validate(sb: &Superblock, dev: &Device) -> Result<()> {
    let bs = sb.block_size() as u64;
    if sb.blocks_count.saturating_mul(bs) > dev.len() {
        return Err(FsckError::Format(FormatError::Corrupt(
            CorruptKind::LargerThanDevice {
                blocks: sb.blocks_count,
                block_size: bs,
                device_len: dev.len(),
            },
        )));
    }
    if sb.inodes_count as u64 != sb.inodes_per_group as u64 * sb.group_count() as u64 {
        return Err(FsckError::Format(FormatError::Corrupt(
            CorruptKind::InodesInGroups {
                inodes_count: sb.inodes_count,
                groups: sb.group_count(),
                inodes_per_group: sb.inodes_per_group,
            },
        )));
    }
    Ok(())
}

/// Seconds since the epoch, for dtime and the superblock's check time.
pub fn now_secs() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0)
}
