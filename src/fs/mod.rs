//! Filesystem operations by inode number: no FUSE types here.
//!
//! [`Fs`] owns the image, the parsed superblock and group descriptors and
//! the shared block cache. Every method takes `&self`; readers run in
//! parallel (the cache is sharded, image reads are positioned).

pub mod alloc;
pub mod atime;
pub mod attr_flags;
mod blockmap;

pub mod copy;
pub mod create;
pub mod crypt;
pub mod dir;
pub mod error;
pub mod extent;
pub mod fallocate;
pub mod file;
mod group_table;
mod inline;
pub mod inode;
pub mod io;
pub mod journal;
pub mod locks;
pub mod map_dispatch;
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

use crate::ext4::group::GroupDesc;
use crate::ext4::superblock::{SUPERBLOCK_OFFSET, Superblock, compat, incompat};
use crate::ext4::{BlockNo, CorruptKind};
pub use error::{FsError, Result};
use group_table::GroupTable;
pub use inode::InodeRef;
use io::cache::BlockCache;
use io::image::Image;

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
/// group descriptors, as they are with `changes` (descriptors by group)
/// applied.
fn set_free_counts(sb: &mut Superblock, groups: &GroupTable, changes: &[(u32, GroupDesc)]) {
    let (clusters, inodes) = groups.free_with(changes);
    // The descriptors count free clusters; the superblock counts blocks
    // (the kernel's ext4_commit_super: EXT4_C2B of the cluster counter).
    sb.free_blocks_count = sb.clusters_to_blocks(clusters);
    // At most s_inodes_count, a u32, in a filesystem that mounted.
    sb.free_inodes_count = inodes as u32;
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
    groups: parking_lot::RwLock<GroupTable>,
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
    /// Serialises commits and durable commits (see journal/transaction.rs).
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
        self.check_range(b, n, crate::ext4::RangeUse::DataWrite)?;
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

    /// Checks that `len` blocks from `b`, used as `at` says, lie inside
    /// the filesystem.
    pub(crate) fn check_range(
        &self,
        b: BlockNo,
        len: u64,
        at: crate::ext4::RangeUse,
    ) -> Result<()> {
        let end = b.0.checked_add(len);
        if b.0 < self.sb.first_data_block as u64 || end.is_none_or(|e| e > self.sb.blocks_count) {
            return Err(error::corrupted(CorruptKind::RangeOutside {
                at,
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
        let (free_clusters, free_inodes) = self.groups.read().free_with(&[]);
        let free_blocks = sb.clusters_to_blocks(free_clusters);
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
