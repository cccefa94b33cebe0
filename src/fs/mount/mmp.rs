//! Multi-mount protection (feature `mmp`), as the kernel's fs/ext4/mmp.c
//! keeps it for a read-write mount: at mount the MMP block is read; a
//! sequence left by an owner that did not unmount cleanly is watched for
//! twice its check interval (plus a second) and the mount refused if it
//! moves; then a new random sequence is written and read back after the
//! same wait. While mounted the sequence is rewritten every
//! s_mmp_update_interval seconds (after checking nobody else wrote the
//! block), and at a clean unmount it becomes SEQ_CLEAN.
//!
//! The holder has its own handle on the image: it is taken before the
//! journal replay (which writes) and kept by the filesystem served after.
//! Its writes go straight to the device range of the block
//! (sync_file_range), and its reads drop the host's cached copy first, so
//! that another host sharing a block device sees them as it would the
//! kernel's REQ_SYNC writes.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

use zerocopy::FromZeros;

use crate::ext4::mmp::{self, MmpBlock};
use crate::ext4::superblock::{SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, Superblock, incompat};
use crate::fs::io::image::Region;

/// Why the MMP block could not be taken or kept.
#[derive(Debug, thiserror::Error)]
pub enum MmpError {
    #[error(
        "the filesystem is in use on node '{node}' (device '{device}'): its MMP sequence moved"
    )]
    InUse { node: String, device: String },
    #[error(
        "e2fsck is running on the filesystem (node '{node}'); if it is not, run 'tune2fs -f -E clear_mmp' on the image"
    )]
    FsckRunning { node: String },
    #[error("MMP block {block} lies outside the filesystem")]
    BadBlock { block: u64 },
    #[error("MMP block: {0}")]
    Format(#[from] crate::ext4::FormatError),
    #[error("MMP block: {0}")]
    Io(#[from] std::io::Error),
    #[error("the MMP block was taken over by node '{node}' (device '{device}') while mounted")]
    TakenOver { node: String, device: String },
}

/// How a mount comes to hold the block.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MmpStart {
    /// A new mount: the kernel's protocol, waits included.
    #[default]
    Fresh,
    /// A restarted server adopting its predecessor's live mount: the block
    /// must still name this node; no wait (the mount never went away).
    Adopt,
}

/// The MMP block of a mounted filesystem, held.
pub struct MmpHolder {
    file: File,
    offset: u64,
    csum_seed: Option<u32>,
    block: MmpBlock,
    interval: Duration,
    last_write: Instant,
    /// Set after a takeover was found or writing failed for good: no more
    /// updates, and no SEQ_CLEAN at unmount (the block is not ours).
    lost: bool,
}

/// This host's name, as the kernel's utsname nodename.
fn nodename() -> String {
    uname_nodename().unwrap_or_else(|| "unknown".into())
}

fn uname_nodename() -> Option<String> {
    // SAFETY: uname fills a zeroed utsname.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return None;
    }
    let bytes: Vec<u8> = u
        .nodename
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

fn unix_now() -> u64 {
    crate::fs::create::now().sec.max(0) as u64
}

/// A sequence number for a new owner: random, at most SEQ_MAX.
fn new_seq() -> u32 {
    fastrand::u32(..=mmp::SEQ_MAX)
}

impl MmpHolder {
    /// Takes the MMP block of the image at `path` for a read-write mount,
    /// if the filesystem has the feature (None otherwise). `sleep` is how
    /// the protocol waits (tests pass one that plays another node).
    pub fn take(
        path: &Path,
        start: MmpStart,
        sleep: &dyn Fn(Duration),
    ) -> Result<Option<MmpHolder>, MmpError> {
        Self::take_in(path, Region::WHOLE, start, sleep)
    }

    /// [`MmpHolder::take`] for a filesystem in `region` of the image file
    /// (a partition): the block is found and kept inside it.
    pub fn take_in(
        path: &Path,
        region: Region,
        start: MmpStart,
        sleep: &dyn Fn(Duration),
    ) -> Result<Option<MmpHolder>, MmpError> {
        let file = File::options().read(true).write(true).open(path)?;
        let room = region.fit(crate::fs::io::image::image_len(&file)?)?;
        let mut raw = vec![0u8; SUPERBLOCK_SIZE];
        if room < SUPERBLOCK_OFFSET + SUPERBLOCK_SIZE as u64 {
            return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
        }
        file.read_exact_at(&mut raw, region.offset + SUPERBLOCK_OFFSET)?;
        let sb = Superblock::parse(&raw)?;
        if !sb.has_incompat(incompat::MMP) {
            return Ok(None);
        }
        let device = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let mut h = MmpHolder::open(file, &sb, region.offset, room)?;
        match start {
            MmpStart::Fresh => h.take_fresh(&device, sleep)?,
            MmpStart::Adopt => h.adopt(&device)?,
        }
        Ok(Some(h))
    }

    /// The holder of the block `sb` names, in a filesystem `room` bytes
    /// long starting `base` bytes into `file`.
    fn open(file: File, sb: &Superblock, base: u64, room: u64) -> Result<MmpHolder, MmpError> {
        let b = sb.mmp_block;
        let bs = sb.block_size() as u64;
        if b < sb.first_data_block as u64
            || b >= sb.blocks_count
            || b.checked_mul(bs)
                .and_then(|o| o.checked_add(bs))
                .is_none_or(|end| end > room)
        {
            return Err(MmpError::BadBlock { block: b });
        }
        let interval = sb.mmp_update_interval.clamp(1, mmp::MAX_UPDATE_INTERVAL);
        Ok(MmpHolder {
            file,
            offset: base + b * bs,
            csum_seed: sb.metadata_csum().then(|| sb.csum_seed()),
            block: MmpBlock::new_zeroed(),
            interval: Duration::from_secs(interval as u64),
            last_write: Instant::now(),
            lost: false,
        })
    }

    /// Reads the block from the device (the host's cached copy dropped).
    fn read(&self) -> Result<MmpBlock, MmpError> {
        // SAFETY: advice on a range of our own descriptor.
        unsafe {
            libc::posix_fadvise(
                self.file.as_raw_fd(),
                self.offset as libc::off_t,
                mmp::MMP_SIZE as libc::off_t,
                libc::POSIX_FADV_DONTNEED,
            )
        };
        let mut raw = [0u8; mmp::MMP_SIZE];
        self.file.read_exact_at(&mut raw, self.offset)?;
        Ok(MmpBlock::parse(&raw, self.csum_seed)?)
    }

    /// Writes the block and waits for the device to have it.
    fn write(&mut self) -> Result<(), MmpError> {
        let raw = self.block.to_bytes(self.csum_seed);
        self.file.write_all_at(&raw, self.offset)?;
        // SAFETY: a plain syscall on our own descriptor and range.
        let rc = unsafe {
            libc::sync_file_range(
                self.file.as_raw_fd(),
                self.offset as libc::off64_t,
                mmp::MMP_SIZE as libc::off64_t,
                libc::SYNC_FILE_RANGE_WAIT_BEFORE
                    | libc::SYNC_FILE_RANGE_WRITE
                    | libc::SYNC_FILE_RANGE_WAIT_AFTER,
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        self.last_write = Instant::now();
        Ok(())
    }

    /// The check interval a waiting node uses: the superblock's update
    /// interval, at least the minimum, or the block's own if larger.
    fn check_interval(&self, on_disk: &MmpBlock) -> u64 {
        let sb_interval = (self.interval.as_secs() as u16).max(mmp::MIN_CHECK_INTERVAL);
        sb_interval.max(on_disk.mmp_check_interval.get()) as u64
    }

    /// The check interval this holder writes for others to wait by: twice
    /// its update interval, at least the minimum (as kmmpd starts).
    fn own_check_interval(&self) -> u16 {
        (2 * self.interval.as_secs() as u16).max(mmp::MIN_CHECK_INTERVAL)
    }

    /// Reads the block again after a wait: it must still hold `seq`, or
    /// another node wrote it meanwhile (in use, named by what it wrote).
    fn seq_still(&self, seq: u32) -> Result<(), MmpError> {
        let now = self.read()?;
        if now.mmp_seq.get() != seq {
            return Err(MmpError::InUse {
                node: now.node(),
                device: now.device(),
            });
        }
        Ok(())
    }

    fn take_fresh(&mut self, device: &str, sleep: &dyn Fn(Duration)) -> Result<(), MmpError> {
        let found = self.read()?;
        let check = self.check_interval(&found);
        let seq = found.mmp_seq.get();
        let mut wait = Duration::ZERO;
        if seq != mmp::SEQ_CLEAN {
            if seq == mmp::SEQ_FSCK {
                return Err(MmpError::FsckRunning { node: found.node() });
            }
            // Another owner, or one that died: it must stay silent for
            // longer than it would take to update.
            wait = Duration::from_secs((check * 2 + 1).min(check + 60));
            // Said only when the wait is long, as the kernel does.
            if wait.as_secs() > 4 * mmp::MIN_CHECK_INTERVAL as u64 {
                tracing::warn!(
                    "MMP: the block names node '{}' and was not left clean; watching it for {} s",
                    found.node(),
                    wait.as_secs()
                );
            }
            sleep(wait);
            self.seq_still(seq)?;
        }
        let ours = new_seq();
        self.block = found;
        let check_interval = self.own_check_interval();
        self.block
            .stamp(ours, unix_now(), &nodename(), device, check_interval);
        self.write()?;
        sleep(wait);
        self.seq_still(ours)
    }

    fn adopt(&mut self, device: &str) -> Result<(), MmpError> {
        let found = self.read()?;
        let seq = found.mmp_seq.get();
        if seq == mmp::SEQ_FSCK || seq == mmp::SEQ_CLEAN || found.node() != nodename() {
            return Err(MmpError::TakenOver {
                node: found.node(),
                device: found.device(),
            });
        }
        self.block = found;
        let check_interval = self.own_check_interval();
        self.block.stamp(
            next_seq(seq),
            unix_now(),
            &nodename(),
            device,
            check_interval,
        );
        self.write()
    }

    /// Rewrites the sequence if the update interval has passed, after
    /// checking that the block is still as this holder left it. An error
    /// means the block is no longer ours (or cannot be written); the
    /// holder stops updating.
    pub fn tick(&mut self) -> Result<(), MmpError> {
        if self.lost || self.last_write.elapsed() < self.interval {
            return Ok(());
        }
        let result = self.update();
        if result.is_err() {
            self.lost = true;
        }
        result
    }

    fn update(&mut self) -> Result<(), MmpError> {
        let on_disk = self.read()?;
        if on_disk.mmp_seq.get() != self.block.mmp_seq.get()
            || on_disk.mmp_nodename != self.block.mmp_nodename
        {
            return Err(MmpError::TakenOver {
                node: on_disk.node(),
                device: on_disk.device(),
            });
        }
        let seq = next_seq(self.block.mmp_seq.get());
        self.block.mmp_seq.set(seq);
        self.block.mmp_time.set(unix_now());
        self.write()
    }

    /// Marks the block clean (a clean unmount). Nothing is written if the
    /// block was lost to another node.
    pub fn release(&mut self) -> Result<(), MmpError> {
        if self.lost {
            return Ok(());
        }
        self.lost = true;
        self.block.mmp_seq.set(mmp::SEQ_CLEAN);
        self.block.mmp_time.set(unix_now());
        self.write()
    }

    /// Stops every later write (a shutdown: the image stays as it was).
    pub fn abandon(&mut self) {
        self.lost = true;
    }

    /// The sequence last written.
    pub fn seq(&self) -> u32 {
        self.block.mmp_seq.get()
    }
}

/// The sequence after `seq` (the kernel's kmmpd counts up from there,
/// wrapping to 1 after SEQ_MAX).
fn next_seq(seq: u32) -> u32 {
    if seq >= mmp::SEQ_MAX { 1 } else { seq + 1 }
}

impl crate::fs::Fs {
    /// Keeps the MMP block (see [`MmpHolder::tick`]). Returns false when
    /// there is nothing (more) to keep. A block found taken over stops
    /// every later change, whatever `errors=` says: two nodes writing one
    /// filesystem destroy it.
    pub fn mmp_tick(&self) -> bool {
        let mut held = self.mmp.lock();
        let Some(h) = held.as_mut() else {
            return false;
        };
        if self.is_shut_down() {
            h.abandon();
            return false;
        }
        match h.tick() {
            Ok(()) => true,
            Err(e) => {
                self.stopped
                    .store(true, std::sync::atomic::Ordering::SeqCst);
                tracing::error!("multi-mount protection: {e}; refusing every change from now on");
                false
            }
        }
    }

    /// Leaves the MMP block clean (at unmount); after a shutdown nothing
    /// is written.
    pub(crate) fn mmp_release(&self) -> crate::fs::Result<()> {
        let mut held = self.mmp.lock();
        let Some(h) = held.as_mut() else {
            return Ok(());
        };
        if self.is_shut_down() {
            h.abandon();
            return Ok(());
        }
        h.release()
            .map_err(|e| crate::fs::FsError::Io(std::io::Error::other(e.to_string())))
    }

    /// The sequence number last written to the MMP block, if held.
    pub fn mmp_seq(&self) -> Option<u32> {
        self.mmp.lock().as_ref().map(MmpHolder::seq)
    }
}

/// Spawns the thread running [`Fs::mmp_tick`] every second until the
/// block is no longer held or the owner of the filesystem is dropped.
pub fn spawn_mmp_timer<T: Send + Sync + 'static>(
    owner: std::sync::Weak<T>,
    fs_of: fn(&T) -> &crate::fs::Fs,
) {
    crate::fs::journal::writer::spawn_periodic(
        "fuse4fs-mmp",
        Duration::from_secs(1),
        owner,
        move |o| fs_of(o).mmp_tick(),
    );
}
