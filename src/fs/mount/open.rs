//! Opening an image, as the kernel's super.c mounts one: the MMP block
//! taken, the journal replayed when it needs recovery, the superblock,
//! features and group descriptors checked, the reserved inodes checked,
//! the free counts and the overhead computed, the journal writer and
//! the quota files loaded.

use std::fs::File;
use std::path::Path;

use crate::ext4::superblock::{
    SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, Superblock, compat, incompat, ro_compat,
};
use crate::ext4::{CorruptKind, FormatError, group::GroupDesc};
use crate::fs::io::cache::BlockCache;
use crate::fs::io::image::Image;
use crate::fs::{
    Fs, FsError, FsOptions, Result, atime, journal, locks, mount, orphan, set_free_counts,
};

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
    #[error("{path}: journal: {source}")]
    Journal {
        path: String,
        #[source]
        source: FsError,
    },
    /// A mount step failed on an error that is neither I/O nor a format
    /// error (those are [`OpenError::Io`] and [`OpenError::Format`]).
    #[error("{path}: {step}: {source}")]
    Step {
        path: String,
        step: MountStep,
        #[source]
        source: FsError,
    },
    #[error("{path}: multi-mount protection: {source}")]
    Mmp {
        path: String,
        source: mount::mmp::MmpError,
    },
}

/// A step of the open that reads the filesystem after the superblock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountStep {
    /// Reading and checking the group descriptors.
    Groups,
    /// Checking the reserved inodes (root, journal, orphan file).
    ReservedInodes,
    /// Loading the quota files of a writable mount.
    QuotaFiles,
}

impl std::fmt::Display for MountStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MountStep::Groups => "group descriptors",
            MountStep::ReservedInodes => "reserved inodes",
            MountStep::QuotaFiles => "quota files",
        })
    }
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
            let rec = fs
                .replay_journal(opts.boot().ok(), hook)
                .map_err(|source| OpenError::Journal {
                    path: p.clone(),
                    source,
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
            groups: parking_lot::RwLock::new(Default::default()),
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
            source => OpenError::Step {
                path: p.to_string(),
                step: MountStep::Groups,
                source,
            },
        })?;
        let stage = if replaying {
            mount::special::Stage::BeforeReplay
        } else {
            mount::special::Stage::Mount
        };
        fs.check_special_inodes(stage)
            .map_err(|e| step_error(p, MountStep::ReservedInodes, e))?;
        fs.system_zone = fs.compute_system_zone();
        fs.overhead = fs.compute_overhead();
        // As the kernel at mount: the free counts come from the group
        // descriptors (the superblock's are a summary written lazily).
        set_free_counts(fs.live_sb.get_mut(), &fs.groups.read(), &[]);
        if opts.writable && !replaying && fs.sb.has_compat(compat::HAS_JOURNAL) {
            let boot = opts.boot().map_err(|source| OpenError::Io {
                path: p.to_string(),
                source,
            })?;
            fs.journal = Some(journal::writer::Journal::load(&fs, boot).map_err(|source| {
                OpenError::Journal {
                    path: p.to_string(),
                    source,
                }
            })?);
        }
        if opts.writable && !replaying {
            let q = fs
                .load_quota()
                .map_err(|e| step_error(p, MountStep::QuotaFiles, e))?;
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
                return Err(crate::fs::error::corrupted(
                    CorruptKind::GroupDescTableOutside { block: blk.0 },
                ));
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
}

/// The open's error for `step` failing with `e`: a format error as itself
/// (it names what is damaged), anything else with the step it stopped.
fn step_error(path: &str, step: MountStep, e: FsError) -> OpenError {
    match e {
        FsError::Format(source) => OpenError::Format {
            path: path.to_string(),
            source,
        },
        source => OpenError::Step {
            path: path.to_string(),
            step,
            source,
        },
    }
}
