//! Journal replay: the kernel's three passes over the log (fs/jbd2/recovery.c,
//! mirrored by e2fsprogs' e2fsck/recovery.c), written again here.
//!
//! SCAN walks the log from `s_start` to find the last complete transaction
//! and checks every checksum; REVOKE collects the revoke records of the
//! transactions SCAN kept (block → newest revoking transaction); REPLAY
//! writes every logged block of those transactions to its home unless a
//! revoke record of the same or a later transaction names it.
//!
//! Where the kernel would fail the whole recovery on a checksum error we
//! stop at the last valid transaction instead (what the kernel's replay
//! keeps when it stops on a bad commit block) and say so in
//! [`Recovery::checksum_stop`]. fuse4fs's pending marker (see
//! [`super::pending`]) is honoured only in the boot that wrote it.

use std::collections::HashMap;

use super::block::{CRC32_CHKSUM, Commit, Header, Layout, Tag, parse_revoke, parse_tags};
use super::pending::parse_pending;
use super::{Jbd2Error, JournalSuperblock, MAGIC, blocktype, feature, tid_geq, tid_gt};

/// Access to the journal and the filesystem it protects.
pub trait JournalDev {
    /// Journal block size in bytes (= fs block size for an internal journal).
    fn block_size(&self) -> usize;
    /// Reads journal block `n` (0 = the block holding the journal
    /// superblock) into `buf`.
    fn read_journal(&self, n: u32, buf: &mut [u8]) -> std::io::Result<()>;
    /// Writes filesystem block `b` (a replayed block).
    fn write_fs_block(&self, b: u64, data: &[u8]) -> std::io::Result<()>;
    /// Number of blocks in the filesystem (replayed blocks must lie below it).
    fn fs_blocks(&self) -> u64;
    /// Makes every write so far durable.
    fn flush(&self) -> std::io::Result<()>;
}

/// How to replay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoverOptions {
    /// This boot's id; a pending marker written in this boot lets the
    /// replay go past it. None: a pending marker always ends the log.
    pub boot_id: Option<[u8; 16]>,
}

/// What a replay found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// The first transaction of the log (`s_sequence`).
    pub first_tid: u32,
    /// Transactions `first_tid..end_tid` (exclusive, modulo 2^32) were
    /// replayed.
    pub end_tid: u32,
    /// Logged blocks written to the filesystem.
    pub replayed_blocks: u64,
    /// Logged blocks skipped because a revoke record names them.
    pub revoked_hits: u64,
    /// Revoke records read.
    pub revoke_records: u64,
    /// Transactions replayed past a pending marker of this boot.
    pub pending_replayed: u32,
    /// A pending marker of another boot (or with no boot id given) ended
    /// the log.
    pub pending_dropped: bool,
    /// One line when a checksum failure ended the log early: the
    /// transactions before the damaged one were replayed, it and the
    /// rest were not.
    pub checksum_stop: Option<String>,
    /// What the journal superblock's `s_sequence` must become (the end
    /// plus one, as the kernel restarts the log past every id it saw).
    pub next_sequence: u32,
    /// Other oddities met and worked around, one line each (logged
    /// blocks whose home lies outside the filesystem, a log that runs
    /// round the whole ring, malformed revoke blocks).
    pub warnings: Vec<String>,
}

/// Replays the journal described by `jsb` into the filesystem, then
/// flushes. Writes neither the journal superblock nor the filesystem
/// superblock: the caller sets `s_start = 0` and `s_sequence =
/// next_sequence` and clears needs_recovery once this returns.
pub fn recover(
    dev: &dyn JournalDev,
    jsb: &JournalSuperblock,
    opts: &RecoverOptions,
) -> Result<Recovery, Jbd2Error> {
    let out = Recovery {
        first_tid: jsb.sequence,
        end_tid: jsb.sequence,
        next_sequence: jsb.sequence,
        ..Recovery::default()
    };
    // s_start is zero if and only if the journal was emptied cleanly.
    if jsb.start == 0 {
        return Ok(out);
    }
    if dev.block_size() != jsb.block_size as usize {
        return Err(Jbd2Error::BadSuperblock(format!(
            "journal block size {} differs from the device's {}",
            jsb.block_size,
            dev.block_size()
        )));
    }
    let mut w = Walker {
        dev,
        jsb,
        l: Layout::of(jsb),
        v1_checksum: jsb.version_blocktype == blocktype::SUPERBLOCK_V2
            && jsb.compat & feature::COMPAT_CHECKSUM != 0,
        boot_id: opts.boot_id,
        end: jsb.sequence,
        pending_from: None,
        revoked: HashMap::new(),
        out,
    };
    w.pass(Pass::Scan)?;
    w.pass(Pass::Revoke)?;
    w.pass(Pass::Replay)?;
    dev.flush()?;
    let mut out = w.out;
    out.end_tid = w.end;
    out.next_sequence = w.end.wrapping_add(1);
    if let Some(p) = w.pending_from {
        if tid_gt(w.end, p) {
            out.pending_replayed = w.end.wrapping_sub(p);
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    Scan,
    Revoke,
    Replay,
}

/// The position in the log ring, and how many blocks a pass has consumed
/// (a damaged log could otherwise lead it round the ring for ever).
struct Cursor {
    next: u32,
    first: u32,
    ring: u32,
    consumed: u64,
}

impl Cursor {
    fn new(jsb: &JournalSuperblock) -> Cursor {
        Cursor {
            next: jsb.start,
            first: jsb.first,
            ring: jsb.log_end() - jsb.first,
            consumed: 0,
        }
    }

    /// The next log block, advancing past it (wrapping from the end of
    /// the log back to `s_first`).
    fn take(&mut self) -> u32 {
        let at = self.next;
        self.skip(1);
        at
    }

    fn skip(&mut self, n: usize) {
        // Modulo rather than the kernel's single subtraction, so that even
        // a descriptor with more tags than the ring has blocks keeps the
        // cursor inside the log (the overrun is caught by `consumed`).
        let off = (self.next - self.first) as u64 + n as u64;
        self.next = self.first + (off % self.ring as u64) as u32;
        self.consumed += n as u64;
    }
}

struct Walker<'a> {
    dev: &'a dyn JournalDev,
    jsb: &'a JournalSuperblock,
    l: Layout,
    /// Checksum v1: a crc32 of each transaction in its commit block.
    v1_checksum: bool,
    boot_id: Option<[u8; 16]>,
    /// The first transaction not replayed (set by the scan).
    end: u32,
    /// The transaction whose first block was a pending marker of this boot.
    pending_from: Option<u32>,
    /// Revoked block → the newest transaction revoking it.
    revoked: HashMap<u64, u32>,
    out: Recovery,
}

/// crc32_be as the kernel computes it for checksum v1: MSB first,
/// polynomial 0x04C11DB7, no inversion (chained over the transaction).
fn crc32_be(seed: u32, data: &[u8]) -> u32 {
    const CRC32_BE: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_MPEG_2);
    let mut d = CRC32_BE.digest_with_initial(seed);
    d.update(data);
    d.finalize()
}

/// `h_chksum_size` of a v1 commit block.
const CRC32_CHKSUM_SIZE: u8 = 4;

impl Walker<'_> {
    fn read(&self, n: u32, buf: &mut [u8]) -> Result<(), Jbd2Error> {
        self.dev.read_journal(n, buf).map_err(Jbd2Error::Io)
    }

    fn stop_line(&self, tid: u32, why: &str) -> String {
        format!(
            "journal: transaction {tid}: {why}; replaying transactions {}..{tid} only (the kernel stops at the last valid transaction)",
            self.jsb.sequence
        )
    }

    /// One pass over the log, as the kernel's do_one_pass.
    fn pass(&mut self, pass: Pass) -> Result<(), Jbd2Error> {
        let bs = self.l.block_size;
        let mut buf = vec![0u8; bs];
        let mut data = vec![0u8; bs];
        let mut cur = Cursor::new(self.jsb);
        let mut next_id = self.jsb.sequence;
        // Scan only: the running v1 checksum of the transaction, whether a
        // descriptor or revoke block failed its checksum (decided at the
        // commit block by its time), the previous commit's time, and what
        // is wrong with the transaction being read, if anything.
        let mut crc32_sum = !0u32;
        let mut need_check_commit_time = false;
        let mut last_commit_time = 0u64;
        let mut damage: Option<(bool, String)> = None;
        loop {
            if pass != Pass::Scan && tid_geq(next_id, self.end) {
                break;
            }
            if cur.consumed >= cur.ring as u64 {
                // Exactly a whole ring: the next block is s_start again,
                // which holds an older transaction. More: the descriptors
                // claimed more blocks than the log has.
                if cur.consumed > cur.ring as u64 && pass == Pass::Scan {
                    self.out.warnings.push(format!(
                        "journal: transaction {next_id} runs round the whole log; ending the log before it"
                    ));
                }
                break;
            }
            let at = cur.take();
            self.read(at, &mut buf)?;
            let Some(h) = Header::parse(&buf) else {
                if self.pending_marker(pass, &buf, next_id) {
                    continue;
                }
                break;
            };
            if h.sequence != next_id {
                break;
            }
            match h.blocktype {
                blocktype::DESCRIPTOR => {
                    if !self.l.tail_checksum_ok(&buf) {
                        if pass != Pass::Scan {
                            // The scan ends the log at such a transaction.
                            return Err(Jbd2Error::Corrupt(format!(
                                "descriptor block {at} of transaction {next_id} changed between passes"
                            )));
                        }
                        // Lazy journal init can leave stale blocks: the
                        // commit block's time decides.
                        need_check_commit_time = true;
                    }
                    let tags = parse_tags(&self.l, &buf);
                    match pass {
                        Pass::Scan => {
                            let v1 = self.v1_checksum && !need_check_commit_time;
                            let verify = self.l.csum() && !need_check_commit_time;
                            if !v1 && !verify {
                                cur.skip(tags.len());
                                continue;
                            }
                            if v1 {
                                crc32_sum = crc32_be(crc32_sum, &buf);
                            }
                            for tag in &tags {
                                let at = cur.take();
                                self.read(at, &mut data)?;
                                if v1 {
                                    crc32_sum = crc32_be(crc32_sum, &data);
                                }
                                if verify
                                    && damage.is_none()
                                    && !tag.checksum_ok(&self.l, next_id, &data)
                                {
                                    damage = Some((
                                        true,
                                        format!(
                                            "the logged copy of block {} (journal block {at}) fails its checksum",
                                            tag.block
                                        ),
                                    ));
                                }
                            }
                        }
                        Pass::Revoke => cur.skip(tags.len()),
                        Pass::Replay => {
                            for tag in &tags {
                                let at = cur.take();
                                self.replay_one(tag, at, next_id, &mut data)?;
                            }
                        }
                    }
                }
                blocktype::COMMIT => {
                    if pass == Pass::Scan {
                        let c = Commit::parse(&buf);
                        if need_check_commit_time {
                            // A commit older than the previous one: the
                            // bad block was stale, the log ends quietly.
                            if c.sec >= last_commit_time {
                                self.out.checksum_stop = Some(self.stop_line(
                                    next_id,
                                    "a descriptor or revoke block fails its checksum",
                                ));
                            }
                            break;
                        }
                        let mut bad = None;
                        if self.v1_checksum {
                            let unused = c.chksum_type == 0 && c.chksum_size == 0 && c.chksum == 0;
                            let ok = c.chksum == crc32_sum
                                && c.chksum_type == CRC32_CHKSUM
                                && c.chksum_size == CRC32_CHKSUM_SIZE;
                            if !(ok || unused) {
                                bad = Some("the crc32 in its commit block does not match");
                            }
                            crc32_sum = !0;
                        }
                        if bad.is_none() && !Commit::checksum_ok(&self.l, &buf) {
                            bad = Some("its commit block fails its checksum");
                        }
                        if let Some(why) = bad {
                            if c.sec >= last_commit_time {
                                self.out.checksum_stop = Some(self.stop_line(next_id, why));
                            }
                            break;
                        }
                        if let Some((is_csum, why)) = damage.take() {
                            let line = self.stop_line(next_id, &why);
                            if is_csum {
                                self.out.checksum_stop = Some(line);
                            } else {
                                self.out.warnings.push(line);
                            }
                            break;
                        }
                        last_commit_time = c.sec;
                    }
                    next_id = next_id.wrapping_add(1);
                }
                blocktype::REVOKE => match pass {
                    Pass::Scan => {
                        if !self.l.tail_checksum_ok(&buf) {
                            need_check_commit_time = true;
                        } else if let Err(why) = parse_revoke(&self.l, &buf) {
                            // The kernel fails its revoke pass here.
                            damage.get_or_insert((false, format!("revoke block {at}: {why}")));
                        }
                    }
                    Pass::Revoke => {
                        let blocks = parse_revoke(&self.l, &buf).map_err(|why| {
                            Jbd2Error::Corrupt(format!(
                                "revoke block {at} changed between passes: {why}"
                            ))
                        })?;
                        for b in blocks {
                            let e = self.revoked.entry(b).or_insert(next_id);
                            if tid_gt(next_id, *e) {
                                *e = next_id;
                            }
                            self.out.revoke_records += 1;
                        }
                    }
                    Pass::Replay => {}
                },
                // Unknown block types end the log.
                _ => break,
            }
        }
        if pass == Pass::Scan {
            self.end = next_id;
        } else if next_id != self.end {
            return Err(Jbd2Error::Corrupt(format!(
                "recovery pass {pass:?} ended at transaction {next_id}, the scan at {}",
                self.end
            )));
        }
        Ok(())
    }

    /// A pending marker met where the next block of transaction `next_id`
    /// is expected: whether the pass goes on past it (it is then an empty
    /// revoke block of that transaction).
    fn pending_marker(&mut self, pass: Pass, buf: &[u8], next_id: u32) -> bool {
        let Some((seq, boot)) = parse_pending(buf) else {
            return false;
        };
        if seq != next_id {
            return false;
        }
        if self.boot_id == Some(boot) {
            if pass == Pass::Scan && self.pending_from.is_none() {
                self.pending_from = Some(seq);
            }
            return true;
        }
        if pass == Pass::Scan {
            self.out.pending_dropped = true;
        }
        false
    }

    /// Writes one logged block of transaction `tid` (at log block `at`)
    /// home, unless revoked.
    fn replay_one(
        &mut self,
        tag: &Tag,
        at: u32,
        tid: u32,
        data: &mut [u8],
    ) -> Result<(), Jbd2Error> {
        self.read(at, data)?;
        if let Some(&r) = self.revoked.get(&tag.block) {
            if tid_geq(r, tid) {
                self.out.revoked_hits += 1;
                return Ok(());
            }
        }
        if !tag.checksum_ok(&self.l, tid, data) {
            // The scan checked every tag of the transactions it kept.
            return Err(Jbd2Error::Corrupt(format!(
                "journal block {at} changed between passes"
            )));
        }
        if tag.escaped() {
            data[..4].copy_from_slice(&MAGIC.to_be_bytes());
        }
        if tag.block >= self.dev.fs_blocks() {
            self.out.warnings.push(format!(
                "journal: transaction {tid} logs block {} beyond the filesystem's {} blocks; skipped",
                tag.block,
                self.dev.fs_blocks()
            ));
            return Ok(());
        }
        self.dev.write_fs_block(tag.block, data)?;
        self.out.replayed_blocks += 1;
        Ok(())
    }
}
