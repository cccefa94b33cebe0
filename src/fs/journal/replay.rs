//! Journal replay at open: a filesystem marked needs_recovery has its log
//! replayed by our jbd2 code (src/jbd2/recovery.rs) before anything else
//! reads it, as the kernel does at mount.

use crate::ext4::CorruptKind;
use crate::ext4::superblock::{
    SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, Superblock, incompat, set_superblock_checksum,
};
use crate::fs::io::image::Image;
use crate::fs::journal::writer::{JournalRun, journal_extents, journal_phys};
use crate::fs::{Fs, Result, error};
use crate::jbd2::JournalSuperblock;
use crate::jbd2::recovery::{JournalDev, RecoverOptions, Recovery, recover};
use crate::jbd2::superblock::JSB_SIZE;

/// The internal journal and the filesystem, over the image.
struct ImageJournal<'a> {
    image: &'a Image,
    extents: Vec<JournalRun>,
    block_size: usize,
    fs_blocks: u64,
}

impl ImageJournal<'_> {
    fn offset(&self, n: u32) -> std::io::Result<u64> {
        journal_phys(&self.extents, n)
            .map(|p| p * self.block_size as u64)
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("journal block {n} past the end of the journal inode"),
                )
            })
    }
}

impl JournalDev for ImageJournal<'_> {
    fn block_size(&self) -> usize {
        self.block_size
    }

    fn read_journal(&self, n: u32, buf: &mut [u8]) -> std::io::Result<()> {
        self.image.read_exact_at(self.offset(n)?, buf)
    }

    fn write_fs_block(&self, b: u64, data: &[u8]) -> std::io::Result<()> {
        self.image.write_all_at(b * self.block_size as u64, data)
    }

    fn read_fs_block(&self, b: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.image.read_exact_at(b * self.block_size as u64, buf)
    }

    fn fs_blocks(&self) -> u64 {
        self.fs_blocks
    }

    fn flush(&self) -> std::io::Result<()> {
        self.image.sync()
    }
}

impl Fs {
    /// Replays the journal of a filesystem opened for it (writable, before
    /// any other use), tells `replayed` what it found while the log still
    /// holds it (an error stops here: the next open replays again), then
    /// marks the log empty and clears needs_recovery.
    pub(crate) fn replay_journal(
        &self,
        boot_id: Option<[u8; 16]>,
        replayed: &ReplayHook<'_>,
    ) -> Result<Recovery> {
        let (extents, _) = journal_extents(self)?;
        let dev = ImageJournal {
            image: &self.image,
            block_size: self.block_size() as usize,
            fs_blocks: self.sb.blocks_count,
            extents,
        };
        let mut raw = vec![0u8; dev.block_size];
        dev.read_journal(0, &mut raw)?;
        let jsb = JournalSuperblock::parse(&raw)?;
        if jsb.block_size as usize != dev.block_size {
            return Err(error::corrupted(CorruptKind::JournalBlockSize {
                block_size: jsb.block_size,
            }));
        }
        let rec = recover(&dev, &jsb, &RecoverOptions { boot_id })?;
        replayed(&rec)?;
        crate::crashpoint::hit("after-replay");
        // The log is empty from here on: restart it past every id seen.
        let mut clean = jsb.clone();
        clean.start = 0;
        clean.sequence = rec.next_sequence;
        let bytes = clean.to_bytes();
        self.image
            .write_all_at(dev.offset(0)?, &bytes[..JSB_SIZE])?;
        self.image.sync()?;
        // The replay may have brought back an older superblock: clear
        // needs_recovery in what is on disk now.
        let mut sbraw = vec![0u8; SUPERBLOCK_SIZE];
        self.image.read_exact_at(SUPERBLOCK_OFFSET, &mut sbraw)?;
        let mut sb = Superblock::parse(&sbraw)?;
        sb.feature_incompat &= !incompat::RECOVER;
        sb.write_to(&mut sbraw)?;
        set_superblock_checksum(&mut sbraw);
        self.image.write_all_at(SUPERBLOCK_OFFSET, &sbraw)?;
        self.image.sync()?;
        Ok(rec)
    }
}

/// Told what a replay found before the log is emptied (see
/// [`Fs::open_with_replay_hook`]).
pub type ReplayHook<'a> = dyn Fn(&Recovery) -> std::io::Result<()> + 'a;

/// One line for the log about a replay.
pub fn describe(rec: &Recovery) -> String {
    let n = rec.end_tid.wrapping_sub(rec.first_tid);
    let mut s = format!(
        "journal replayed: {n} transaction(s), {} block(s), {} revoked",
        rec.replayed_blocks, rec.revoked_hits
    );
    if rec.pending_replayed > 0 {
        s += &format!(
            "; {} committed after the last durable commit (same boot)",
            rec.pending_replayed
        );
    }
    if rec.pending_dropped {
        s += "; transactions after the last durable commit were not replayed (written before a reboot)";
    }
    s
}
