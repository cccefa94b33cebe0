//! Before everything else: the internal journal. A filesystem marked
//! needs_recovery has its log replayed (with `-y`/`-p`) through the
//! format crate's jbd2 replay, over the journal inode's blocks, and the
//! superblock and descriptors are read again since the replay may have
//! rewritten them. With `-n` the log is left alone and the filesystem is
//! checked as it is on disk (as e2fsck -n does, warning that it skips
//! the recovery).

use fuse4fs_format::ext4::inode::{Inode, mode};
use fuse4fs_format::ext4::superblock::{compat, incompat};
use fuse4fs_format::ext4::{BlockNo, InodeNo};
use fuse4fs_format::jbd2::layout::JournalSuperblockRaw;
use fuse4fs_format::jbd2::recovery::{JournalDev, RecoverOptions, Recovery, recover};
use fuse4fs_format::jbd2::superblock::JSB_SIZE;
use fuse4fs_format::jbd2::{Jbd2Error, JournalSuperblock};

use crate::blockwalk::{Item, has_block_tree, walk};
use crate::context::Fsck;
use crate::device::Device;
use crate::error::Result;
use crate::problem::Problem;

/// Journal lengths past this are refused as damage (the kernel's limit
/// is 2^32 blocks; mke2fs makes at most 1 GiB, 2^18 blocks of 4 KiB).
const MAX_JOURNAL_BLOCKS: u64 = 1 << 30;

/// Checks the journal and replays it when the filesystem needs recovery.
pub(crate) fn run(cx: &mut Fsck) -> Result<()> {
    let recover_flag = cx.sb.has_incompat(incompat::RECOVER);
    if !cx.sb.has_compat(compat::HAS_JOURNAL) {
        if recover_flag && cx.ask(Problem::RecoverFlagWithoutJournal) {
            cx.sb.feature_incompat &= !incompat::RECOVER;
            cx.write_superblock()?;
        }
        return Ok(());
    }
    if cx.sb.has_incompat(incompat::JOURNAL_DEV) || cx.sb.journal_inum == 0 {
        if recover_flag && cx.ask(Problem::ExternalJournalRecovery) {
            cx.report
                .not_fixed("external journals are not supported; use e2fsck");
        }
        return Ok(());
    }
    let journal = match load(cx)? {
        Ok(j) => j,
        Err(Unusable::Unsupported { what, empty }) if empty && !recover_flag => {
            // Nothing to replay: the kernel reads such a journal, and
            // the filesystem is checked as it is.
            cx.report.note(format!(
                "The journal uses {what}, which this checker cannot replay; its log is empty."
            ));
            return Ok(());
        }
        Err(Unusable::Unsupported { what, .. }) => {
            if cx.ask(Problem::JournalUnsupported { what }) {
                cx.report.not_fixed("replay it with the kernel or e2fsck");
            }
            return Ok(());
        }
        Err(Unusable::Bad(why)) => {
            let ino = InodeNo(cx.sb.journal_inum);
            if cx.ask(Problem::JournalInvalid { ino, why }) {
                // e2fsck would clear the journal inode and make a new
                // one; this checker cannot make a journal. The kernel
                // will not replay a journal it cannot read either, so
                // the checks that follow stay meaningful.
                cx.report
                    .not_fixed("rebuilding a journal is not supported; use e2fsck or tune2fs");
            }
            return Ok(());
        }
    };
    let has_data = journal.jsb.start != 0;
    if !recover_flag && !has_data {
        return Ok(());
    }
    let problem = if recover_flag {
        Problem::JournalNeedsRecovery
    } else {
        Problem::JournalDataWithoutFlag
    };
    if !cx.ask(problem) {
        if !cx.dev.writable() {
            cx.report.note(
                "Warning: skipping journal recovery because doing a read-only filesystem check."
                    .to_string(),
            );
        }
        return Ok(());
    }
    replay(cx, journal)
}

/// The journal as found: its superblock and where its blocks lie.
struct Journal {
    jsb: JournalSuperblock,
    /// (first logical block, first physical block, length), in logical order.
    runs: Vec<(u64, BlockNo, u64)>,
}

/// Reads the journal inode and superblock; the inner error says what is
/// wrong with them (a problem, not an operational error).
fn load(cx: &Fsck) -> Result<std::result::Result<Journal, Unusable>> {
    let ino = InodeNo(cx.sb.journal_inum);
    if !cx.inode_in_range(ino) {
        // InodeNo's Display: "inode N is out of range".
        return Ok(Err(Unusable::Bad(format!("{ino} is out of range"))));
    }
    let inode: Inode = match cx.read_inode(ino)? {
        Ok(i) => i,
        Err(e) => return Ok(Err(Unusable::Bad(e.to_string()))),
    };
    if inode.mode & mode::S_IFMT != mode::S_IFREG || !has_block_tree(&inode, cx.bs as u32) {
        return Ok(Err(Unusable::Bad("not a regular file with blocks".into())));
    }
    let nblocks = inode.size / cx.bs;
    if nblocks == 0 || nblocks > MAX_JOURNAL_BLOCKS {
        return Ok(Err(Unusable::Bad(format!("size {} bytes", inode.size))));
    }
    let mut runs: Vec<(u64, BlockNo, u64)> = Vec::new();
    let mut order_ok = true;
    let damage = walk(cx, &inode, &mut |item| {
        if let Item::Data {
            lblk, pblk, len, ..
        } = item
        {
            if let Some(&(l, _, n)) = runs.last() {
                order_ok &= l + n <= lblk;
            }
            if lblk < nblocks {
                runs.push((lblk, pblk, len.min(nblocks - lblk)));
            }
        }
    })?;
    if !damage.is_empty() {
        return Ok(Err(Unusable::Bad("its block tree is damaged".into())));
    }
    if !order_ok {
        return Ok(Err(Unusable::Bad(
            "its blocks are out of logical order".into(),
        )));
    }
    let jsb = match read_jsb(cx, &runs)? {
        Ok(jsb) => jsb,
        Err(e) => return Ok(Err(e)),
    };
    let j = Journal { jsb, runs };
    if j.jsb.block_size as u64 != cx.bs {
        return Ok(Err(Unusable::Bad(format!(
            "journal block size {} differs from the filesystem's {}",
            j.jsb.block_size, cx.bs
        ))));
    }
    // Every block of the log must be mapped (no holes).
    let mut next = 0u64;
    for &(l, _, n) in &j.runs {
        if l != next {
            break;
        }
        next = l + n;
    }
    if (j.jsb.maxlen as u64) > next {
        return Ok(Err(Unusable::Bad(format!(
            "the journal superblock says {} blocks, the inode maps {next} without a hole",
            j.jsb.maxlen
        ))));
    }
    Ok(Ok(j))
}

fn read_jsb(
    cx: &Fsck,
    runs: &[(u64, BlockNo, u64)],
) -> Result<std::result::Result<JournalSuperblock, Unusable>> {
    let Some(p0) = phys(runs, 0) else {
        return Ok(Err(Unusable::Bad("its first block is a hole".into())));
    };
    let raw = cx.read_block(p0)?;
    Ok(JournalSuperblock::parse(&raw).map_err(|e| match e {
        Jbd2Error::Unsupported(what) => Unusable::Unsupported {
            what,
            // s_start: 0 when the log is empty.
            empty: JournalSuperblockRaw::of(&raw).is_some_and(|r| r.s_start.get() == 0),
        },
        e => Unusable::Bad(e.to_string()),
    }))
}

/// Why the journal cannot be used.
#[derive(Debug)]
enum Unusable {
    /// Damaged: what is wrong.
    Bad(String),
    /// Well-formed but using features the replay does not know
    /// (fast_commit...); `empty`: its log holds nothing to replay.
    Unsupported { what: String, empty: bool },
}

/// The physical block of journal block `n`.
fn phys(runs: &[(u64, BlockNo, u64)], n: u64) -> Option<BlockNo> {
    let i = runs.partition_point(|&(l, _, _)| l <= n).checked_sub(1)?;
    let (l, p, len) = runs[i];
    (n - l < len).then(|| p.plus(n - l))
}

/// The journal and the filesystem over the device, for the replay.
struct DevJournal<'a> {
    dev: &'a Device,
    runs: &'a [(u64, BlockNo, u64)],
    bs: u64,
    fs_blocks: u64,
}

fn io_err(e: crate::error::FsckError) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl JournalDev for DevJournal<'_> {
    fn block_size(&self) -> usize {
        self.bs as usize
    }

    fn read_journal(&self, n: u32, buf: &mut [u8]) -> std::io::Result<()> {
        let p = phys(self.runs, n as u64).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("journal block {n} past the end of the journal inode"),
            )
        })?;
        self.dev.read_at(p.0 * self.bs, buf).map_err(io_err)
    }

    fn write_fs_block(&self, b: u64, data: &[u8]) -> std::io::Result<()> {
        if b >= self.fs_blocks {
            return Err(std::io::Error::other(format!(
                "replayed block {b} is outside the filesystem"
            )));
        }
        self.dev.write_at(b * self.bs, data).map_err(io_err)
    }

    fn read_fs_block(&self, b: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.dev.read_at(b * self.bs, buf).map_err(io_err)
    }

    fn fs_blocks(&self) -> u64 {
        self.fs_blocks
    }

    fn flush(&self) -> std::io::Result<()> {
        self.dev.flush().map_err(io_err)
    }
}

/// Replays the log, empties it, clears needs_recovery and reads the
/// superblock and descriptors again.
fn replay(cx: &mut Fsck, journal: Journal) -> Result<()> {
    let dev = DevJournal {
        dev: &cx.dev,
        runs: &journal.runs,
        bs: cx.bs,
        fs_blocks: cx.sb.blocks_count,
    };
    let result = recover(&dev, &journal.jsb, &RecoverOptions::default());
    cx.modified = true;
    let mut clean = journal.jsb.clone();
    clean.start = 0;
    match result {
        Ok(rec) => {
            clean.sequence = rec.next_sequence;
            for w in rec.warnings.iter().chain(&rec.checksum_stop) {
                cx.report.note(w.clone());
            }
            cx.report.note(describe(&rec));
        }
        Err(e) => {
            // What was replayed stays; the rest of the log cannot be
            // trusted. e2fsck offers to clear the journal here: the
            // passes then check the filesystem as it is.
            let why = e.to_string();
            if !cx.ask(Problem::JournalReplayFailed { why }) {
                return Ok(());
            }
            clean.sequence = journal.jsb.sequence.wrapping_add(1);
        }
    }
    // The replay may have brought back another superblock and other
    // descriptors: work from what is on disk now. If that superblock is
    // unusable the check stops here with the log still full, so that
    // nothing is lost for a checker that can use a backup superblock.
    cx.reload()?;
    let p0 = phys(&journal.runs, 0).expect("the journal superblock was read from it");
    let bytes = clean.to_bytes();
    cx.dev.write_at(cx.block_offset(p0), &bytes[..JSB_SIZE])?;
    cx.dev.flush()?;
    cx.sb.feature_incompat &= !incompat::RECOVER;
    cx.write_superblock()?;
    cx.dev.flush()
}

/// One line about a replay.
fn describe(rec: &Recovery) -> String {
    let n = rec.end_tid.wrapping_sub(rec.first_tid);
    format!(
        "journal replayed: {n} transaction(s), {} block(s), {} revoked",
        rec.replayed_blocks, rec.revoked_hits
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::Path;

    use fuse4fs_format::ext4::superblock::{SUPERBLOCK_OFFSET, incompat};
    use fuse4fs_format::jbd2::block::{Layout, Tag, build_commit, build_descriptor, escape};

    use super::*;
    use crate::options::{Mode, Options};
    use crate::pass5::testkit::*;
    use crate::problem::Kind;

    fn open(img: &Path, writable: bool) -> Fsck {
        let mode = if writable { Mode::Yes } else { Mode::Check };
        let opts = Options {
            mode,
            ..Options::default()
        };
        Fsck::open(Device::open(img, writable).unwrap(), opts, "img").unwrap()
    }

    /// Writes one committed transaction logging `blocks` (home block,
    /// contents) at the head of the log, points the journal superblock
    /// at it, and sets needs_recovery when `flag`. Returns the journal
    /// superblock as it was.
    fn log_transaction(img: &Path, blocks: &[(u64, Vec<u8>)], flag: bool) -> JournalSuperblock {
        let mut cx = open(img, true);
        let j = load(&cx).unwrap().unwrap();
        let jsb = j.jsb.clone();
        let l = Layout::of(&jsb);
        let seq = jsb.sequence;
        let mut tags = Vec::new();
        let mut copies = Vec::new();
        for (home, data) in blocks {
            let (copy, flags) = escape(data);
            tags.push(Tag {
                block: *home,
                flags,
                checksum: if l.csum() {
                    l.data_checksum(seq, &copy)
                } else {
                    0
                },
            });
            copies.push(copy);
        }
        let mut at = jsb.first as u64;
        let mut put = |cx: &Fsck, data: &[u8]| {
            let p = phys(&j.runs, at).unwrap();
            cx.dev.write_at(cx.block_offset(p), data).unwrap();
            at += 1;
        };
        put(&cx, &build_descriptor(&l, seq, &tags));
        for c in &copies {
            put(&cx, c);
        }
        put(&cx, &build_commit(&l, seq, 1_700_000_000, 0));
        let mut dirty = jsb.clone();
        dirty.start = jsb.first;
        let p0 = phys(&j.runs, 0).unwrap();
        cx.dev
            .write_at(cx.block_offset(p0), &dirty.to_bytes())
            .unwrap();
        if flag {
            cx.sb.feature_incompat |= incompat::RECOVER;
            cx.write_superblock().unwrap();
        }
        jsb
    }

    fn fs_image(args: &[&str]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..50_000u32).map(|i| i as u8).collect();
        let img = mkfs(dir.path(), args, "16M", &[("f", data)]);
        (dir, img)
    }

    /// A transaction logging a data block of /f and the superblock's
    /// block with a new label.
    fn dirty_image(args: &[&str], flag: bool) -> (tempfile::TempDir, std::path::PathBuf, u64) {
        let (d, img) = fs_image(args);
        let data_blk: u64 = debugfs(&img, "bmap /f 1").trim().parse().unwrap();
        let cx = open(&img, false);
        let sb_blk = SUPERBLOCK_OFFSET / cx.bs;
        let mut sb_block = cx.read_block(BlockNo(sb_blk)).unwrap();
        let off = (SUPERBLOCK_OFFSET % cx.bs) as usize;
        let mut raw = cx.sb_raw.clone();
        raw[0x78..0x88].copy_from_slice(b"replayed-label\0\0");
        raw[0x60..0x64]
            .copy_from_slice(&(cx.sb.feature_incompat | incompat::RECOVER).to_le_bytes());
        fuse4fs_format::ext4::superblock::set_superblock_checksum(&mut raw);
        sb_block[off..off + 1024].copy_from_slice(&raw);
        drop(cx);
        let logged = vec![0xABu8; sb_block.len()];
        log_transaction(&img, &[(data_blk, logged), (sb_blk, sb_block)], flag);
        (d, img, data_blk)
    }

    #[test]
    fn n_reports_a_journal_needing_recovery_and_writes_nothing() {
        require(&["mkfs.ext4", "e2fsck", "debugfs"]);
        let (_d, img, _) = dirty_image(&["-b", "4096"], true);
        let before = std::fs::read(&img).unwrap();
        let (p, notes, m) = check(&img, Mode::Check);
        assert_eq!(kinds(&p), vec![Kind::JournalNeedsRecovery], "{p:#?}");
        assert!(!p[0].fixed && !m);
        assert!(
            notes
                .iter()
                .any(|n| n.contains("skipping journal recovery"))
        );
        assert_eq!(std::fs::read(&img).unwrap(), before);
    }

    #[test]
    fn y_replays_the_journal() {
        require(&["mkfs.ext4", "e2fsck", "debugfs"]);
        for args in [
            &["-b", "4096"][..],
            &["-b", "1024", "-O", "^metadata_csum"][..],
        ] {
            let (_d, img, data_blk) = dirty_image(args, true);
            let (p, notes, m) = check(&img, Mode::Yes);
            assert_eq!(kinds(&p), vec![Kind::JournalNeedsRecovery], "{p:#?}");
            assert!(p[0].fixed && m);
            assert!(
                notes
                    .iter()
                    .any(|n| n.starts_with("journal replayed: 1 transaction(s), 2 block(s)")),
                "{notes:?}"
            );
            let cx = open(&img, false);
            assert_eq!(
                cx.read_block(BlockNo(data_blk)).unwrap(),
                vec![0xAB; cx.bs as usize]
            );
            assert_eq!(cx.sb.label(), b"replayed-label");
            assert!(!cx.sb.has_incompat(incompat::RECOVER));
            let j = load(&cx).unwrap().unwrap();
            assert_eq!(j.jsb.start, 0);
            drop(cx);
            let (p, _, _) = check(&img, Mode::Check);
            assert!(p.is_empty(), "{p:#?}");
            e2fsck_clean(&img).unwrap();
        }
    }

    #[test]
    fn a_log_with_data_but_no_recovery_flag_is_replayed_on_request() {
        require(&["mkfs.ext4", "e2fsck", "debugfs"]);
        let (_d, img, data_blk) = dirty_image(&["-b", "4096"], false);
        let (p, _, _) = check(&img, Mode::Check);
        assert_eq!(kinds(&p), vec![Kind::JournalNeedsRecovery]);
        let (p, _, _) = check(&img, Mode::Yes);
        assert!(p[0].fixed);
        let cx = open(&img, false);
        assert_eq!(cx.read_block(BlockNo(data_blk)).unwrap()[0], 0xAB);
        drop(cx);
        e2fsck_clean(&img).unwrap();
    }

    #[test]
    fn an_unreadable_journal_is_reported_not_repaired() {
        require(&["mkfs.ext4", "e2fsck", "debugfs"]);
        let (_d, img) = fs_image(&["-b", "4096"]);
        let mut cx = open(&img, true);
        let j = load(&cx).unwrap().unwrap();
        let p0 = phys(&j.runs, 0).unwrap();
        cx.dev.write_at(cx.block_offset(p0), &[0u8; 4]).unwrap();
        cx.sb.feature_incompat |= incompat::RECOVER;
        cx.write_superblock().unwrap();
        drop(cx);
        let (p, _, _) = check(&img, Mode::Yes);
        assert_eq!(kinds(&p), vec![Kind::JournalBad], "{p:#?}");
        assert!(!p[0].fixed);
        let cx = open(&img, false);
        assert!(cx.sb.has_incompat(incompat::RECOVER), "flag kept");
    }

    /// A journal with a feature the replay does not know (fast_commit):
    /// fine while its log is empty, not replayable otherwise.
    #[test]
    fn a_journal_with_an_unknown_feature() {
        require(&["mkfs.ext4", "e2fsck", "debugfs"]);
        for (start, flag) in [(false, false), (true, true)] {
            let (_d, img) = fs_image(&["-b", "4096"]);
            let mut cx = open(&img, true);
            let j = load(&cx).unwrap().unwrap();
            let mut jsb = j.jsb.clone();
            jsb.incompat |= fuse4fs_format::jbd2::feature::INCOMPAT_FAST_COMMIT;
            if start {
                jsb.start = jsb.first;
            }
            let p0 = phys(&j.runs, 0).unwrap();
            cx.dev
                .write_at(cx.block_offset(p0), &jsb.to_bytes())
                .unwrap();
            if flag {
                cx.sb.feature_incompat |= incompat::RECOVER;
                cx.write_superblock().unwrap();
            }
            drop(cx);
            let before = std::fs::read(&img).unwrap();
            let (p, notes, _) = check(&img, Mode::Yes);
            if start {
                assert_eq!(kinds(&p), vec![Kind::JournalBad], "{p:#?}");
                assert!(!p[0].fixed);
                assert!(open(&img, false).sb.has_incompat(incompat::RECOVER));
            } else {
                assert!(p.is_empty(), "{p:#?}");
                assert!(notes[0].contains("fast_commit"), "{notes:?}");
                let after = std::fs::read(&img).unwrap();
                let j0 = (phys(&j.runs, 0).unwrap().0 * 4096) as usize;
                assert_eq!(after[j0..j0 + 4096], before[j0..j0 + 4096]);
            }
        }
    }

    #[test]
    fn a_recovery_flag_without_a_journal_is_cleared() {
        require(&["mkfs.ext4", "e2fsck", "debugfs"]);
        let (_d, img) = fs_image(&["-t", "ext2"]);
        debugfs(&img, "feature needs_recovery");
        let (p, _, _) = check(&img, Mode::Check);
        assert_eq!(kinds(&p), vec![Kind::JournalBad]);
        let (p, _, _) = check(&img, Mode::Yes);
        assert!(p[0].fixed);
        let (p, _, _) = check(&img, Mode::Check);
        assert!(p.is_empty(), "{p:#?}");
        e2fsck_clean(&img).unwrap();
    }

    /// A deterministic stream of pseudo-random numbers (xorshift).
    pub(crate) struct Rng(pub u64);

    impl Rng {
        pub fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Damaged journals (superblock, descriptor, commit, logged block
    /// bytes flipped): never a panic, whatever the answers.
    #[test]
    fn damaged_journals_never_panic() {
        require(&["mkfs.ext4", "e2fsck", "debugfs"]);
        let (_d, img, _) = dirty_image(&["-b", "1024"], true);
        let base = std::fs::read(&img).unwrap();
        let cx = open(&img, false);
        let j = load(&cx).unwrap().unwrap();
        let bs = cx.bs as usize;
        // The superblock, the descriptor, the logged data block and the
        // commit block (not the logged superblock: a damaged copy of it,
        // replayed, makes every later open fail, which is right but
        // ends the round).
        let blocks: Vec<BlockNo> = [0, 1, 2, 4]
            .into_iter()
            .map(|n| phys(&j.runs, n).unwrap())
            .collect();
        drop(cx);
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for round in 0..60 {
            let mut bytes = base.clone();
            for _ in 0..1 + rng.next() % 4 {
                let b = blocks[(rng.next() % blocks.len() as u64) as usize].0 as usize;
                // Mostly the headers and tags, sometimes anywhere.
                let off = if rng.next().is_multiple_of(4) {
                    rng.next() as usize % bs
                } else {
                    rng.next() as usize % 128
                };
                bytes[b * bs + off] = rng.next() as u8;
            }
            std::fs::write(&img, &bytes).unwrap();
            for mode in [Mode::Check, Mode::Yes, Mode::Check] {
                // Errors are fine (exit 8); a panic fails the test.
                if let Err(e) = try_check(&img, mode) {
                    eprintln!("round {round}: {e}");
                }
            }
        }
    }
}
