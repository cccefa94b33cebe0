//! Filesystem operations by inode number: no FUSE types here.
//!
//! [`Fs`] owns the image, the parsed superblock and group descriptors and
//! the shared block cache. Every method takes `&self`; readers run in
//! parallel (the cache is sharded, image reads are positioned).

pub mod alloc;
pub mod atime;
pub mod attr_flags;
mod blockmap;
pub mod bmap;
pub mod copy;
pub mod create;
pub mod crypt;
pub mod dir;
pub mod error;
pub mod extent;
pub mod fallocate;
pub mod file;
mod inline;
pub mod inode;
pub mod io;
pub mod journal;
pub mod locks;
mod migrate;
pub mod mount;
pub mod orphan;
pub mod permission;
pub mod quota;
pub mod remove;
pub mod rename;
pub mod setattr;
pub mod shutdown;
pub mod sync_mode;
pub mod write;
pub mod xattr;
pub use journal::replay::ReplayHook;

use crate::ext4::CorruptKind;
use std::fs::File;
use std::path::Path;

use crate::ext4::group::GroupDesc;
use crate::ext4::superblock::{
    SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, Superblock, compat, incompat, ro_compat,
};
use crate::ext4::{BlockNo, FormatError};
pub use error::{FsError, Result};
pub use inode::InodeRef;
use io::cache::BlockCache;
use io::image::Image;

/// Why an image could not be opened, for the user.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Format { path: String, source: FormatError },
    #[error("{path}: image is truncated: the filesystem needs {need} bytes, the file has {have}")]
    Truncated { path: String, need: u64, have: u64 },
    #[error(
        "{path}: the filesystem ({need} bytes) runs past the end of its partition ({have} bytes at offset {offset}): refused, as writes would leave the partition"
    )]
    PastPartition {
        path: String,
        need: u64,
        have: u64,
        offset: u64,
    },
    #[error(
        "{path}: the journal needs recovery and the image cannot be written for it ({why}); -o norecovery serves it read-only without replay"
    )]
    NeedsRecovery { path: String, why: String },
    #[error(
        "{path}: the filesystem uses an external journal device, which fuse4fs does not support"
    )]
    ExternalJournal { path: String },
    #[error("{path}: journal: {why}")]
    Journal { path: String, why: String },
    #[error("{path}: multi-mount protection: {source}")]
    Mmp {
        path: String,
        source: mount::mmp::MmpError,
    },
}

/// Options that change how the filesystem is served.
#[derive(Debug, Clone, Default)]
pub struct FsOptions {
    /// Blocks held by the metadata cache (0: a default).
    pub cache_blocks: usize,
    /// Open the image for writing (transactions may commit).
    pub writable: bool,
    /// The boot the journal replay assumes it runs in (None: this one).
    /// Transactions logged after the last durable commit are replayed only
    /// when they were written in this same boot (only the process died,
    /// the host kept every write).
    pub boot_id: Option<[u8; 16]>,
    /// Serve a filesystem whose journal needs recovery without replaying
    /// it (read-only only: `-o norecovery`).
    pub norecovery: bool,
    /// Record every write and flush of the image here (crash-point tests).
    pub io_log: Option<std::sync::Arc<io::log::IoLog>>,
    /// How a writable open takes the MMP block (feature mmp).
    pub mmp_start: mount::mmp::MmpStart,
    /// Where the filesystem lies in the image file (a partition of a
    /// whole-disk image); nothing outside it is read or written.
    pub region: io::image::Region,
}

impl FsOptions {
    /// The boot the journal code assumes: `boot_id`, else this machine's.
    fn boot(&self) -> std::io::Result<[u8; 16]> {
        match self.boot_id {
            Some(b) => Ok(b),
            None => crate::jbd2::pending::current_boot_id(),
        }
    }
}

/// Sets the superblock's free block and inode counts to the sums over the
/// group descriptors.
fn set_free_counts(sb: &mut Superblock, groups: &[GroupDesc]) {
    // The descriptors count free clusters; the superblock counts blocks
    // (the kernel's ext4_commit_super: EXT4_C2B of the cluster counter).
    let clusters = groups.iter().map(|g| g.free_blocks_count as u64).sum();
    sb.free_blocks_count = sb.clusters_to_blocks(clusters);
    sb.free_inodes_count = groups.iter().map(|g| g.free_inodes_count).sum();
}

/// Statistics for statfs, computed as the kernel's ext4 does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsStats {
    pub block_size: u32,
    pub blocks: u64,
    pub free_blocks: u64,
    pub avail_blocks: u64,
    pub inodes: u64,
    pub free_inodes: u64,
    pub name_max: u32,
}

/// See [`Fs::set_commit_observer`].
pub type CommitObserver = std::sync::Arc<dyn Fn(Option<u32>) + Send + Sync>;

/// An open ext4 filesystem.
pub struct Fs {
    image: Image,
    sb: Superblock,
    /// The casefold encoding (None without the feature).
    casefold: Option<crate::ext4::casefold::Encoding>,
    /// Group descriptors as last committed; written under the commit lock.
    groups: parking_lot::RwLock<Vec<GroupDesc>>,
    /// Groups whose descriptor failed its checks: their inodes answer EIO.
    bad_groups: Vec<bool>,
    cache: BlockCache,
    /// Per-group allocation state; each mutex is that group's lock.
    alloc_state: Vec<parking_lot::Mutex<alloc::block::GroupAlloc>>,
    /// Per group, the fixed metadata in it (group-relative runs): never
    /// allocated, whatever a damaged bitmap says.
    system_zone: Vec<Vec<(u32, u32)>>,
    /// The superblock as last committed (free counts, orphan head, state,
    /// feature bits); `sb` keeps the mount-time geometry.
    live_sb: parking_lot::Mutex<Superblock>,
    /// Inode locks (after the rename lock, before group locks).
    pub(crate) inode_locks: locks::InodeLocks,
    /// Open counts (an unlinked inode lives until its last release).
    opens: orphan::OpenTable,
    /// Serialises changes of the orphan list (after the inode locks).
    orphan_lock: parking_lot::Mutex<()>,
    /// Each orphan's predecessor on the list (see [`orphan::OrphanIndex`]).
    orphan_index: orphan::OrphanIndex,
    /// The reaction to damage on a writable filesystem.
    on_error: parking_lot::Mutex<mount::state::OnError>,
    /// Set by errors=remount-ro: every change is refused.
    stopped: std::sync::atomic::AtomicBool,
    /// s_state when mounted read-write (restored at unmount).
    mount_state: parking_lot::Mutex<u16>,
    /// Serialises directory moves between parents (the VFS's rename mutex).
    pub(crate) rename_lock: parking_lot::Mutex<()>,
    /// Readers of several blocks hold it shared, commit holds it exclusive
    /// while it publishes: a reader never sees half a commit (a new index
    /// pointing at a leaf not yet written).
    publish: parking_lot::RwLock<()>,
    /// Serialises commits and durable commits (see transaction.rs).
    commit_lock: parking_lot::Mutex<()>,
    /// The quota files as last committed (feature quota, writable):
    /// taken before the commit lock by commits that change usage.
    quota: parking_lot::Mutex<quota::QuotaState>,
    /// The journal, on a writable filesystem that has one.
    journal: Option<journal::writer::Journal>,
    /// The replay done at open.
    replayed: Option<crate::jbd2::recovery::Recovery>,
    /// The MMP block, held while mounted read-write (feature mmp).
    mmp: parking_lot::Mutex<Option<mount::mmp::MmpHolder>>,
    /// Told of every transaction just before it is written (see
    /// [`Fs::set_commit_observer`]).
    commit_observer: parking_lot::RwLock<Option<CommitObserver>>,
    /// When reads set atime (`noatime`, `relatime`, ...).
    atime_policy: std::sync::atomic::AtomicU8,
    /// Atime updates not yet written.
    held_atimes: atime::HeldAtimes,
    /// Which changes are durable before their reply (`sync`, `dirsync`).
    sync_mode: std::sync::atomic::AtomicU8,
    /// `discard` and what FITRIM remembers between calls.
    trim: alloc::trim::TrimState,
    csum_seed: u32,
    overhead: u64,
}

impl Fs {
    /// Opens an image read-only, checking the superblock, the features and
    /// every group descriptor.
    pub fn open(path: &Path, opts: &FsOptions) -> std::result::Result<Fs, OpenError> {
        Self::open_with_replay_hook(path, opts, &|_| Ok(()))
    }

    /// [`Fs::open`], telling `hook` what a journal replay found while
    /// the log still holds it: whatever the hook records is in place before
    /// the journal forgets which transactions were whole (a recovering
    /// server settles its interrupted requests there). An error from the
    /// hook fails the open and leaves the log to be replayed again.
    pub fn open_with_replay_hook(
        path: &Path,
        opts: &FsOptions,
        hook: &journal::replay::ReplayHook<'_>,
    ) -> std::result::Result<Fs, OpenError> {
        let p = path.display().to_string();
        let io_err = |source| OpenError::Io {
            path: p.clone(),
            source,
        };
        // Before the replay, which writes, as the kernel's fill_super.
        let mmp = if opts.writable {
            mount::mmp::MmpHolder::take_in(path, opts.region, opts.mmp_start, &std::thread::sleep)
                .map_err(|source| OpenError::Mmp {
                path: p.clone(),
                source,
            })?
        } else {
            None
        };
        let mut replayed = None;
        if Self::needs_replay(path, opts).map_err(io_err)? {
            let replay_opts = FsOptions {
                writable: true,
                ..opts.clone()
            };
            let file = File::options()
                .read(true)
                .write(true)
                .open(path)
                .map_err(|e| OpenError::NeedsRecovery {
                    path: p.clone(),
                    why: e.to_string(),
                })?;
            let image = Image::new_in(file, true, opts.region).map_err(io_err)?;
            let fs = Self::from_image(image, &p, &replay_opts, true)?;
            // Without a boot id nothing past a pending marker is trusted.
            let rec =
                fs.replay_journal(opts.boot().ok(), hook)
                    .map_err(|e| OpenError::Journal {
                        path: p.clone(),
                        why: e.to_string(),
                    })?;
            tracing::info!("{p}: {}", journal::replay::describe(&rec));
            if let Some(line) = &rec.checksum_stop {
                tracing::warn!("{p}: journal: {line}");
            }
            for w in &rec.warnings {
                tracing::warn!("{p}: journal: {w}");
            }
            replayed = Some(rec);
        }
        let file = File::options()
            .read(true)
            .write(opts.writable)
            .open(path)
            .map_err(io_err)?;
        let mut image = Image::new_in(file, opts.writable, opts.region).map_err(io_err)?;
        image.set_io_log(opts.io_log.clone());
        let mut fs = Self::from_image(image, &p, opts, false)?;
        fs.replayed = replayed;
        *fs.mmp.get_mut() = mmp;
        Ok(fs)
    }

    /// Installs `observer`, called with the id of every transaction just
    /// before its first block is written to the log (None: an unjournaled
    /// filesystem writing in place), on the committing thread, under the
    /// commit lock. Recovery uses it to tie requests to transactions.
    pub fn set_commit_observer(&self, observer: Option<CommitObserver>) {
        *self.commit_observer.write() = observer;
    }

    pub(crate) fn observe_commit(&self, tid: Option<u32>) {
        if let Some(o) = &*self.commit_observer.read() {
            o(tid);
        }
    }

    /// What the journal replay at open found and did, if there was one.
    pub fn replay_report(&self) -> Option<&crate::jbd2::recovery::Recovery> {
        self.replayed.as_ref()
    }

    /// Whether the image's journal must be replayed before it is served:
    /// needs_recovery with an internal journal, unless read-only without
    /// recovery was asked for.
    fn needs_replay(path: &Path, opts: &FsOptions) -> std::io::Result<bool> {
        let image = Image::new_in(File::open(path)?, false, opts.region)?;
        let mut raw = vec![0u8; SUPERBLOCK_SIZE];
        if image.read_exact_at(SUPERBLOCK_OFFSET, &mut raw).is_err() {
            return Ok(false); // too small: from_image says why
        }
        let Ok(sb) = Superblock::parse(&raw) else {
            return Ok(false);
        };
        Ok(sb.has_incompat(incompat::RECOVER)
            && sb.has_compat(compat::HAS_JOURNAL)
            && sb.journal_inum != 0
            && (opts.writable || !opts.norecovery))
    }

    /// Builds the filesystem over `image`; `replaying`: only to replay the
    /// journal (needs_recovery accepted, no journal writer).
    fn from_image(
        image: Image,
        p: &str,
        opts: &FsOptions,
        replaying: bool,
    ) -> std::result::Result<Fs, OpenError> {
        let fmt = |source| OpenError::Format {
            path: p.to_string(),
            source,
        };
        let mut raw = vec![0u8; SUPERBLOCK_SIZE];
        if image.len() < SUPERBLOCK_OFFSET + SUPERBLOCK_SIZE as u64 {
            return Err(fmt(FormatError::BadMagic {
                what: "superblock (image too small for ext2/3/4)",
            }));
        }
        image
            .read_exact_at(SUPERBLOCK_OFFSET, &mut raw)
            .map_err(|source| OpenError::Io {
                path: p.to_string(),
                source,
            })?;
        let sb = Superblock::parse(&raw).map_err(fmt)?;
        sb.check_features_for_read().map_err(fmt)?;
        // A replay copies logged blocks whatever the features mean, as the
        // kernel's replays before a read-only mount of a bigalloc or verity
        // image: only serving read-write needs the write check.
        if opts.writable && !replaying {
            sb.check_features_for_write().map_err(fmt)?;
        }
        let external = sb.has_compat(compat::HAS_JOURNAL) && sb.journal_inum == 0;
        if external && (opts.writable || sb.has_incompat(incompat::RECOVER)) {
            return Err(OpenError::ExternalJournal {
                path: p.to_string(),
            });
        }
        if sb.has_incompat(incompat::RECOVER) && (opts.writable || !opts.norecovery) && !replaying {
            return Err(OpenError::NeedsRecovery {
                path: p.to_string(),
                why: "it has no internal journal to replay".into(),
            });
        }
        let bs = sb.block_size() as u64;
        let need = sb.blocks_count.saturating_mul(bs);
        if image.len() < need && opts.region.len.is_some() {
            return Err(OpenError::PastPartition {
                path: p.to_string(),
                need,
                have: image.len(),
                offset: opts.region.offset,
            });
        }
        if image.len() < need {
            return Err(OpenError::Truncated {
                path: p.to_string(),
                need,
                have: image.len(),
            });
        }
        let cache_blocks = if opts.cache_blocks == 0 {
            16384
        } else {
            opts.cache_blocks
        };
        let cache = BlockCache::new(cache_blocks, bs as usize);
        let mut fs = Fs {
            csum_seed: sb.csum_seed(),
            casefold: sb.casefold_encoding().map_err(fmt)?,
            image,
            groups: parking_lot::RwLock::new(Vec::new()),
            bad_groups: Vec::new(),
            cache,
            alloc_state: Vec::new(),
            system_zone: Vec::new(),
            commit_lock: parking_lot::Mutex::new(()),
            quota: Default::default(),
            journal: None,
            replayed: None,
            mmp: parking_lot::Mutex::new(None),
            commit_observer: parking_lot::RwLock::new(None),
            publish: parking_lot::RwLock::new(()),
            live_sb: parking_lot::Mutex::new(sb.clone()),
            inode_locks: locks::InodeLocks::default(),
            rename_lock: parking_lot::Mutex::new(()),
            opens: orphan::OpenTable::default(),
            orphan_lock: parking_lot::Mutex::new(()),
            orphan_index: orphan::OrphanIndex::default(),
            mount_state: parking_lot::Mutex::new(0),
            on_error: parking_lot::Mutex::new(mount::state::OnError::Continue),
            stopped: std::sync::atomic::AtomicBool::new(false),
            atime_policy: std::sync::atomic::AtomicU8::new(atime::AtimePolicy::default().to_bits()),
            held_atimes: Default::default(),
            sync_mode: std::sync::atomic::AtomicU8::new(0),
            trim: Default::default(),
            overhead: 0,
            sb,
        };
        fs.set_error_policy(None);
        fs.load_groups().map_err(|e| match e {
            FsError::Io(source) => OpenError::Io {
                path: p.to_string(),
                source,
            },
            FsError::Format(source) => OpenError::Format {
                path: p.to_string(),
                source,
            },
            other => OpenError::Format {
                path: p.to_string(),
                source: FormatError::Corrupt(CorruptKind::MountStep {
                    step: "groups",
                    error: other.to_string(),
                }),
            },
        })?;
        let stage = if replaying {
            mount::special::Stage::BeforeReplay
        } else {
            mount::special::Stage::Mount
        };
        fs.check_special_inodes(stage)
            .map_err(|e| OpenError::Format {
                path: p.to_string(),
                source: match e {
                    FsError::Format(f) => f,
                    other => FormatError::Corrupt(CorruptKind::MountStep {
                        step: "reserved inode",
                        error: other.to_string(),
                    }),
                },
            })?;
        fs.system_zone = fs.compute_system_zone();
        fs.overhead = fs.compute_overhead();
        // As the kernel at mount: the free counts come from the group
        // descriptors (the superblock's are a summary written lazily).
        set_free_counts(fs.live_sb.get_mut(), &fs.groups.read());
        if opts.writable && !replaying && fs.sb.has_compat(compat::HAS_JOURNAL) {
            let boot = opts.boot().map_err(|source| OpenError::Io {
                path: p.to_string(),
                source,
            })?;
            fs.journal = Some(journal::writer::Journal::load(&fs, boot).map_err(|e| {
                OpenError::Journal {
                    path: p.to_string(),
                    why: e.to_string(),
                }
            })?);
        }
        if opts.writable && !replaying {
            let q = fs.load_quota().map_err(|e| OpenError::Format {
                path: p.to_string(),
                source: match e {
                    FsError::Format(f) => f,
                    other => FormatError::Corrupt(CorruptKind::MountStep {
                        step: "quota file",
                        error: other.to_string(),
                    }),
                },
            })?;
            *fs.quota.get_mut() = q;
        }
        Ok(fs)
    }

    fn load_groups(&mut self) -> Result<()> {
        let n = self.sb.group_count();
        let ds = self.sb.desc_size as usize;
        for g in 0..n {
            let (blk, off) = self.sb.group_desc_location(g);
            if blk.0 >= self.sb.blocks_count {
                return Err(error::corrupted(CorruptKind::GroupDescTableOutside {
                    block: blk.0,
                }));
            }
            let block = self.cache.get(&self.image, blk)?;
            let raw = &block[off..off + ds];
            let gd = GroupDesc::parse(&self.sb, raw);
            let ok = match gd.verify(&self.sb, g, raw) {
                Ok(()) => true,
                Err(e) => {
                    tracing::error!("group {g}: {e}; inodes of this group will answer EIO");
                    false
                }
            };
            self.groups.get_mut().push(gd);
            self.bad_groups.push(!ok);
            self.alloc_state.push(Default::default());
        }
        Ok(())
    }

    /// Metadata overhead in blocks, as the kernel's ext4_calculate_overhead.
    /// Like the kernel on a filesystem without bigalloc, it ignores the
    /// superblock's s_overhead_clusters and always recomputes; with
    /// bigalloc the kernel takes that field when it is non-zero and not
    /// larger than the block count, and so does this.
    fn compute_overhead(&self) -> u64 {
        let sb = &self.sb;
        let bigalloc = sb.has_ro_compat(ro_compat::BIGALLOC);
        if bigalloc && sb.overhead_clusters != 0 && sb.overhead_clusters as u64 <= sb.blocks_count {
            return sb.clusters_to_blocks(sb.overhead_clusters as u64);
        }
        let itb = sb.inode_table_blocks();
        let mut clusters = sb.blocks_to_clusters(sb.first_data_block as u64);
        for g in 0..sb.group_count() {
            clusters += if bigalloc {
                self.group_overhead_clusters(g)
            } else {
                // count_overhead: reserved GDT blocks count in every group
                // with a backup, whatever meta_bg says.
                let has_super = sb.group_has_super(g);
                let reserved = if has_super {
                    sb.reserved_gdt_blocks as u64
                } else {
                    0
                };
                has_super as u64 + sb.group_gdt_blocks(g) as u64 + reserved + itb + 2
            };
        }
        if sb.has_compat(compat::HAS_JOURNAL) && sb.journal_inum != 0 {
            match self.inode(crate::ext4::InodeNo(sb.journal_inum)) {
                Ok(j) => clusters += sb.clusters_for_blocks(j.size / sb.block_size() as u64),
                Err(e) => tracing::warn!("journal inode: {e}"),
            }
        }
        sb.clusters_to_blocks(clusters)
    }

    /// Clusters of group `g` holding fixed metadata, as the kernel's
    /// count_overhead counts them with bigalloc: every bitmap and inode
    /// table (of any group) lying in it, its superblock backup and its
    /// descriptor blocks, each cluster once. Reserved GDT blocks are not
    /// counted (the kernel does not).
    fn group_overhead_clusters(&self, g: u32) -> u64 {
        let sb = &self.sb;
        let bits = sb.cluster_bits();
        let first = sb.group_first_block(g).0;
        let last = first + sb.blocks_per_group as u64 - 1;
        let itb = sb.inode_table_blocks();
        let mut used = std::collections::BTreeSet::new();
        let mut found = false;
        for gd in self.groups.read().iter() {
            for b in [gd.block_bitmap.0, gd.inode_bitmap.0] {
                if (first..=last).contains(&b) {
                    used.insert((b - first) >> bits);
                    found = true;
                }
            }
            let t = gd.inode_table.0;
            if t >= first && t + itb <= last {
                used.extend((t - first..t - first + itb).map(|b| b >> bits));
                found = true;
            }
        }
        let mut s = 0u64;
        if sb.group_has_super(g) {
            used.insert(0);
            s = 1;
            found = true;
        }
        let gdb =
            (sb.group_gdt_blocks(g) as u64).min((sb.blocks_per_group as u64).saturating_sub(s));
        used.extend((s..s + gdb).map(|b| b >> bits));
        found |= gdb > 0;
        if found { used.len() as u64 } else { 0 }
    }

    /// A consistent view for a reading operation: no commit publishes while
    /// it is held. Hold it for one operation, and never while starting a
    /// transaction.
    pub fn read_view(&self) -> parking_lot::RwLockReadGuard<'_, ()> {
        self.publish.read()
    }

    /// Whether the image is open for writing.
    pub fn writable(&self) -> bool {
        self.image.writable()
    }

    /// The block holding the primary superblock, and the superblock's
    /// offset in it.
    pub(crate) fn superblock_location(&self) -> (BlockNo, usize) {
        let bs = self.block_size() as u64;
        (
            BlockNo(SUPERBLOCK_OFFSET / bs),
            (SUPERBLOCK_OFFSET % bs) as usize,
        )
    }

    /// The parsed superblock.
    pub fn superblock(&self) -> &Superblock {
        &self.sb
    }

    pub fn block_size(&self) -> u32 {
        self.sb.block_size()
    }

    /// Reads a metadata block through the cache, refusing blocks outside
    /// the filesystem.
    pub(crate) fn block(&self, b: BlockNo) -> Result<io::cache::Block> {
        self.block_hinted(b, || {})
    }

    /// [`Fs::block`], calling `on_miss` before a miss reads the block.
    pub(crate) fn block_hinted(
        &self,
        b: BlockNo,
        on_miss: impl FnOnce(),
    ) -> Result<io::cache::Block> {
        self.refuse_if_shut_down()?;
        if b.0 < self.sb.first_data_block as u64 || b.0 >= self.sb.blocks_count {
            return Err(error::corrupted(CorruptKind::BlockOutside { block: b.0 }));
        }
        Ok(self.cache.get_hinted(&self.image, b, on_miss)?)
    }

    /// Reads file data straight from the image, bypassing the cache.
    pub(crate) fn read_data(&self, b: BlockNo, within: usize, buf: &mut [u8]) -> Result<()> {
        self.refuse_if_shut_down()?;
        let off = b.0 * self.sb.block_size() as u64 + within as u64;
        Ok(self.image.read_exact_at(off, buf)?)
    }

    /// Writes file data straight to the image (data=ordered: callers write
    /// data before committing the metadata that makes it reachable).
    /// Never onto fixed metadata: a damaged extent can point anywhere.
    pub(crate) fn write_data(&self, b: BlockNo, within: usize, buf: &[u8]) -> Result<()> {
        self.refuse_if_shut_down()?;
        let bs = self.sb.block_size() as usize;
        let n = (within + buf.len()).div_ceil(bs) as u64;
        self.check_range(b, n, || format!("data write at {b}"))?;
        if self.in_system_zone(b, n) {
            return Err(error::corrupted(CorruptKind::DataWriteOnMetadata {
                block: b.0,
                len: n,
            }));
        }
        let off = b.0 * bs as u64 + within as u64;
        Ok(self.image.write_all_at(off, buf)?)
    }

    /// The superblock as last committed (orphan head, feature bits, state).
    pub fn live_superblock(&self) -> Superblock {
        self.live_sb.lock().clone()
    }

    pub(crate) fn csum_seed(&self) -> u32 {
        self.csum_seed
    }

    /// Checks that `len` blocks from `b` lie inside the filesystem.
    pub(crate) fn check_range(
        &self,
        b: BlockNo,
        len: u64,
        what: impl Fn() -> String,
    ) -> Result<()> {
        let end = b.0.checked_add(len);
        if b.0 < self.sb.first_data_block as u64 || end.is_none_or(|e| e > self.sb.blocks_count) {
            return Err(error::corrupted(CorruptKind::RangeOutside {
                at: what(),
                block: b.0,
                len,
            }));
        }
        Ok(())
    }

    /// statfs figures, as the kernel's ext4_statfs reports them: the
    /// descriptors count free clusters, reported in blocks, and the
    /// kernel's reserve (2% of the clusters, at most 4096) is in clusters.
    pub fn stats(&self) -> FsStats {
        let sb = &self.sb;
        let groups = self.groups.read();
        let free_clusters: u64 = groups.iter().map(|g| g.free_blocks_count as u64).sum();
        let free_blocks = sb.clusters_to_blocks(free_clusters);
        let free_inodes: u64 = groups.iter().map(|g| g.free_inodes_count as u64).sum();
        let resv = if sb.has_incompat(incompat::EXTENTS) {
            sb.clusters_to_blocks((sb.blocks_to_clusters(sb.blocks_count) / 50).min(4096))
        } else {
            0
        };
        let reserved = sb.r_blocks_count + resv;
        FsStats {
            block_size: sb.block_size(),
            blocks: sb.blocks_count.saturating_sub(self.overhead),
            free_blocks,
            avail_blocks: free_blocks.saturating_sub(reserved),
            inodes: sb.inodes_count as u64,
            free_inodes,
            name_max: 255,
        }
    }

    /// Whether directory entries carry a file type.
    pub(crate) fn has_filetype(&self) -> bool {
        self.sb.has_incompat(incompat::FILETYPE)
    }

    /// Whether htree indexes are honoured.
    pub(crate) fn has_dir_index(&self) -> bool {
        self.sb.has_compat(compat::DIR_INDEX)
    }

    /// Whether the htree may have three levels.
    pub(crate) fn has_largedir(&self) -> bool {
        self.sb.has_incompat(incompat::LARGEDIR)
    }
}
