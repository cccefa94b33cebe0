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

use std::collections::{BTreeMap, HashMap};

use super::block::{CRC32_CHKSUM, Commit, Header, Layout, Tag, parse_revoke, parse_tags};
use super::pending::parse_pending;
use super::redo::{STREAM_HEADER_SIZE, is_stream_block, parse_record};
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
    /// Reads filesystem block `b` (to apply a redo record's patches to).
    fn read_fs_block(&self, b: u64, buf: &mut [u8]) -> std::io::Result<()>;
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
    /// Transactions replayed past a pending marker of this boot (jbd2
    /// transactions, or records of a redo stream: see [`super::redo`]).
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
        redo: None,
        revoked: HashMap::new(),
        out,
    };
    w.pass(Pass::Scan)?;
    w.pass(Pass::Revoke)?;
    w.pass(Pass::Replay)?;
    if let Some((at, stream)) = w.redo {
        w.end = w.replay_redo(at, stream)?;
    }
    dev.flush()?;
    let mut out = w.out;
    out.end_tid = w.end;
    out.next_sequence = w.end.wrapping_add(1);
    if let Some(p) = w.pending_from
        && tid_gt(w.end, p)
    {
        out.pending_replayed = w.end.wrapping_sub(p);
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
    /// A redo stream after that marker: its first log block and its id.
    redo: Option<(u32, u32)>,
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
                if self.pending_marker(pass, &buf, next_id, cur.next)? {
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
    /// is expected (`after`: the log block that follows it): whether the
    /// pass goes on past it (it is then an empty revoke block of that
    /// transaction). When a redo stream follows, the jbd2 log ends here
    /// and the stream is noted for [`Walker::replay_redo`].
    fn pending_marker(
        &mut self,
        pass: Pass,
        buf: &[u8],
        next_id: u32,
        after: u32,
    ) -> Result<bool, Jbd2Error> {
        let Some((seq, boot)) = parse_pending(buf) else {
            return Ok(false);
        };
        if seq != next_id {
            return Ok(false);
        }
        if self.boot_id != Some(boot) {
            if pass == Pass::Scan {
                self.out.pending_dropped = true;
            }
            return Ok(false);
        }
        if pass == Pass::Scan && self.pending_from.is_none() {
            self.pending_from = Some(seq);
        }
        let mut next = vec![0u8; self.l.block_size];
        self.read(after, &mut next)?;
        if is_stream_block(&next, seq) {
            if pass == Pass::Scan {
                self.redo = Some((after, seq));
            }
            return Ok(false);
        }
        Ok(true)
    }

    /// Applies the records of redo stream `stream` (log blocks from `at`)
    /// in order, up to the first that is not whole and intact; returns the
    /// id after the last one applied.
    fn replay_redo(&mut self, at: u32, stream: u32) -> Result<u32, Jbd2Error> {
        let bs = self.l.block_size;
        let mut bytes = Vec::new();
        let mut cur = Cursor::new(self.jsb);
        cur.next = at;
        let mut buf = vec![0u8; bs];
        while cur.consumed < cur.ring as u64 {
            let n = cur.take();
            self.read(n, &mut buf)?;
            if !is_stream_block(&buf, stream) {
                break;
            }
            bytes.extend_from_slice(&buf[STREAM_HEADER_SIZE..]);
        }
        let mut blocks: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        let mut tid = stream;
        let mut pos = 0;
        while let Some(rec) = parse_record(&bytes[pos..], tid, bs) {
            for p in &rec.patches {
                if p.block >= self.dev.fs_blocks() {
                    return Err(Jbd2Error::Corrupt(format!(
                        "redo record {tid} patches block {} beyond the filesystem's {} blocks",
                        p.block,
                        self.dev.fs_blocks()
                    )));
                }
                let b = match blocks.entry(p.block) {
                    std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::btree_map::Entry::Vacant(v) => {
                        let mut b = vec![0u8; bs];
                        self.dev.read_fs_block(p.block, &mut b)?;
                        v.insert(b)
                    }
                };
                b[p.offset..p.offset + p.bytes.len()].copy_from_slice(p.bytes);
            }
            pos += rec.size;
            tid = tid.wrapping_add(1);
        }
        for (b, data) in &blocks {
            self.dev.write_fs_block(*b, data)?;
        }
        self.out.replayed_blocks += blocks.len() as u64;
        Ok(tid)
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
        if let Some(&r) = self.revoked.get(&tag.block)
            && tid_geq(r, tid)
        {
            self.out.revoked_hits += 1;
            return Ok(());
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

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::jbd2::block::{
        build_commit, build_descriptor, build_revokes, escape, tags_per_descriptor,
    };
    use crate::jbd2::pending::{build_bridge, build_pending};
    use crate::jbd2::superblock::{CSUM_TYPE_CRC32C, JSB_SIZE};
    use crate::jbd2::{put_be32, put_be64};

    const BS: usize = 1024;
    const MAXLEN: u32 = 400;
    const FS_BLOCKS: u64 = 1 << 40;

    /// A journal in memory and a filesystem of sparse blocks.
    struct MemDev {
        journal: RefCell<Vec<u8>>,
        fs: RefCell<HashMap<u64, Vec<u8>>>,
        fs_blocks: u64,
        flushed: RefCell<bool>,
    }

    impl JournalDev for MemDev {
        fn block_size(&self) -> usize {
            BS
        }
        fn read_journal(&self, n: u32, buf: &mut [u8]) -> std::io::Result<()> {
            let j = self.journal.borrow();
            let at = n as usize * BS;
            buf.copy_from_slice(&j[at..at + BS]);
            Ok(())
        }
        fn write_fs_block(&self, b: u64, data: &[u8]) -> std::io::Result<()> {
            assert!(b < self.fs_blocks);
            self.fs.borrow_mut().insert(b, data.to_vec());
            Ok(())
        }
        fn read_fs_block(&self, b: u64, buf: &mut [u8]) -> std::io::Result<()> {
            match self.fs.borrow().get(&b) {
                Some(d) => buf.copy_from_slice(d),
                None => buf.fill(0),
            }
            Ok(())
        }
        fn fs_blocks(&self) -> u64 {
            self.fs_blocks
        }
        fn flush(&self) -> std::io::Result<()> {
            *self.flushed.borrow_mut() = true;
            Ok(())
        }
    }

    /// Which checksums and block numbers a test journal uses.
    #[derive(Debug, Clone, Copy)]
    struct Kind {
        v1: bool,
        v2: bool,
        v3: bool,
        b64: bool,
    }

    fn kinds() -> Vec<Kind> {
        let mut v = Vec::new();
        for (v1, v2, v3) in [
            (false, false, false),
            (true, false, false),
            (false, true, false),
            (false, false, true),
        ] {
            for b64 in [false, true] {
                v.push(Kind { v1, v2, v3, b64 });
            }
        }
        v
    }

    fn superblock(k: Kind, sequence: u32, start: u32) -> JournalSuperblock {
        let mut b = vec![0u8; JSB_SIZE];
        put_be32(&mut b, 0, MAGIC);
        put_be32(&mut b, 4, blocktype::SUPERBLOCK_V2);
        put_be32(&mut b, 0xC, BS as u32);
        put_be32(&mut b, 0x10, MAXLEN);
        put_be32(&mut b, 0x14, 1);
        put_be32(&mut b, 0x18, sequence);
        put_be32(&mut b, 0x1C, start);
        b[0x30..0x40].copy_from_slice(&[0x5A; 16]);
        put_be32(&mut b, 0x40, 1);
        let mut sb = JournalSuperblock::parse(&b).unwrap();
        sb.incompat = feature::INCOMPAT_REVOKE;
        if k.v1 {
            sb.compat |= feature::COMPAT_CHECKSUM;
        }
        if k.v2 {
            sb.incompat |= feature::INCOMPAT_CSUM_V2;
        }
        if k.v3 {
            sb.incompat |= feature::INCOMPAT_CSUM_V3;
        }
        if k.v2 || k.v3 {
            sb.checksum_type = CSUM_TYPE_CRC32C;
        }
        if k.b64 {
            sb.incompat |= feature::INCOMPAT_64BIT;
        }
        JournalSuperblock::parse(&sb.to_bytes()).unwrap()
    }

    /// Writes transactions into a journal image the way jbd2 lays them out.
    struct Log {
        k: Kind,
        l: Layout,
        jsb: JournalSuperblock,
        journal: Vec<u8>,
        pos: u32,
        seq: u32,
        time: u64,
    }

    /// One transaction: home block → contents, and revoked blocks.
    #[derive(Default)]
    struct Tx {
        blocks: Vec<(u64, Vec<u8>)>,
        revokes: Vec<u64>,
    }

    impl Tx {
        /// Home blocks `blocks` of a journal of kind `k`, block n holding
        /// `content(n)`; nothing revoked.
        fn of(k: Kind, blocks: &[u64]) -> Tx {
            Tx {
                blocks: blocks
                    .iter()
                    .map(|&n| (home(k, n), content(n as u8)))
                    .collect(),
                revokes: Vec::new(),
            }
        }
    }

    impl Log {
        fn new(k: Kind, sequence: u32, start: u32) -> Log {
            let jsb = superblock(k, sequence, start);
            Log {
                k,
                l: Layout::of(&jsb),
                jsb,
                journal: vec![0u8; MAXLEN as usize * BS],
                pos: start,
                seq: sequence,
                time: 1_700_000_000,
            }
        }

        /// Writes a block at the current log position; returns where.
        fn put(&mut self, b: &[u8]) -> u32 {
            let at = self.pos;
            self.journal[at as usize * BS..(at as usize + 1) * BS].copy_from_slice(b);
            self.pos += 1;
            if self.pos >= MAXLEN {
                self.pos = self.jsb.first;
            }
            at
        }

        /// Appends three transactions of one, two and one blocks: home
        /// blocks 1, then 2 and 3, then 4 of this log's kind.
        fn three_transactions(&mut self) {
            for blocks in [&[1][..], &[2, 3], &[4]] {
                self.tx(&Tx::of(self.k, blocks));
            }
        }

        /// Appends a transaction; returns the log block of its commit.
        fn tx(&mut self, t: &Tx) -> u32 {
            let at = self.tx_body(t);
            self.commit(at)
        }

        /// Descriptors, logged blocks and revoke blocks of a transaction;
        /// returns the running v1 checksum.
        fn tx_body(&mut self, t: &Tx) -> u32 {
            let mut crc = !0u32;
            for chunk in t.blocks.chunks(tags_per_descriptor(&self.l)) {
                let mut tags = Vec::new();
                let mut copies = Vec::new();
                for (home, data) in chunk {
                    let (copy, flags) = escape(data);
                    let checksum = self.l.data_checksum(self.seq, &copy);
                    tags.push(Tag {
                        block: *home,
                        flags,
                        checksum,
                    });
                    copies.push(copy);
                }
                let d = build_descriptor(&self.l, self.seq, &tags);
                crc = crc32_be(crc, &d);
                self.put(&d);
                for c in copies {
                    crc = crc32_be(crc, &c);
                    self.put(&c);
                }
            }
            if !t.revokes.is_empty() {
                for r in build_revokes(&self.l, self.seq, &t.revokes) {
                    self.put(&r);
                }
            }
            crc
        }

        fn commit(&mut self, crc: u32) -> u32 {
            self.time += 10;
            let mut c = build_commit(&self.l, self.seq, self.time, 0);
            if self.k.v1 {
                c[12] = CRC32_CHKSUM;
                c[13] = CRC32_CHKSUM_SIZE;
                put_be32(&mut c, 16, crc);
            }
            self.seq += 1;
            self.put(&c)
        }

        fn block_mut(&mut self, at: u32) -> &mut [u8] {
            &mut self.journal[at as usize * BS..(at as usize + 1) * BS]
        }

        fn run(&self, opts: &RecoverOptions) -> (Recovery, HashMap<u64, Vec<u8>>) {
            let dev = MemDev {
                journal: RefCell::new(self.journal.clone()),
                fs: RefCell::new(HashMap::new()),
                fs_blocks: FS_BLOCKS,
                flushed: RefCell::new(false),
            };
            let r = recover(&dev, &self.jsb, opts).unwrap();
            assert!(*dev.flushed.borrow() || self.jsb.start == 0);
            (r, dev.fs.into_inner())
        }
    }

    fn content(tag: u8) -> Vec<u8> {
        let mut b = vec![tag; BS];
        b[BS - 1] = tag.wrapping_add(1);
        b
    }

    /// A block starting with the journal magic (logged escaped).
    fn magic_content(tag: u8) -> Vec<u8> {
        let mut b = content(tag);
        b[..4].copy_from_slice(&MAGIC.to_be_bytes());
        b
    }

    fn home(k: Kind, n: u64) -> u64 {
        if k.b64 { (1u64 << 33) + n } else { n }
    }

    fn none() -> RecoverOptions {
        RecoverOptions::default()
    }

    #[test]
    fn replays_every_layout_with_escapes() {
        for k in kinds() {
            let mut log = Log::new(k, 100, 1);
            log.tx(&Tx {
                blocks: vec![(home(k, 10), content(1)), (home(k, 11), magic_content(2))],
                ..Tx::default()
            });
            log.tx(&Tx {
                blocks: vec![(home(k, 10), content(3)), (home(k, 12), content(4))],
                ..Tx::default()
            });
            let (r, fs) = log.run(&none());
            assert_eq!(
                (r.first_tid, r.end_tid, r.next_sequence),
                (100, 102, 103),
                "{k:?}"
            );
            assert_eq!(r.replayed_blocks, 4, "{k:?}");
            assert_eq!(r.checksum_stop, None, "{k:?}");
            assert_eq!(fs[&home(k, 10)], content(3), "{k:?}");
            assert_eq!(fs[&home(k, 11)], magic_content(2), "{k:?}: un-escaped");
            assert_eq!(fs[&home(k, 12)], content(4), "{k:?}");
            assert_eq!(fs.len(), 3);
        }
    }

    #[test]
    fn many_blocks_take_several_descriptors() {
        for k in kinds() {
            let mut log = Log::new(k, 7, 1);
            let n = tags_per_descriptor(&log.l) as u64 + 3;
            let blocks = (0..n)
                .map(|i| (home(k, 100 + i), content(i as u8)))
                .collect();
            log.tx(&Tx {
                blocks,
                ..Tx::default()
            });
            let (r, fs) = log.run(&none());
            assert_eq!(r.replayed_blocks, n, "{k:?}");
            assert_eq!(fs[&home(k, 100 + n - 1)], content((n - 1) as u8));
        }
    }

    #[test]
    fn revokes_hide_earlier_copies_only() {
        for k in kinds() {
            let mut log = Log::new(k, 1, 1);
            log.tx(&Tx {
                blocks: vec![
                    (home(k, 10), content(1)),
                    (home(k, 20), content(2)),
                    (home(k, 30), content(3)),
                ],
                ..Tx::default()
            });
            // Revokes 10 (logged before: hidden), 20 (logged again after:
            // the later copy is replayed) and 30 in the same transaction
            // that logs it (hidden: same transaction).
            log.tx(&Tx {
                blocks: vec![(home(k, 30), content(4))],
                revokes: vec![home(k, 10), home(k, 20), home(k, 30)],
            });
            log.tx(&Tx {
                blocks: vec![(home(k, 20), content(5))],
                ..Tx::default()
            });
            let (r, fs) = log.run(&none());
            assert_eq!(r.end_tid, 4, "{k:?}");
            assert!(!fs.contains_key(&home(k, 10)), "{k:?}");
            assert_eq!(fs[&home(k, 20)], content(5), "{k:?}");
            assert!(!fs.contains_key(&home(k, 30)), "{k:?}");
            assert_eq!((r.revoke_records, r.revoked_hits), (3, 4), "{k:?}");
            assert_eq!(r.replayed_blocks, 1, "{k:?}");
        }
    }

    #[test]
    fn wraps_round_the_ring() {
        for k in kinds() {
            // Start four blocks before the end: the second transaction's
            // descriptor and logged blocks straddle the end of the ring.
            let mut log = Log::new(k, 50, MAXLEN - 4);
            log.three_transactions();
            assert!(log.pos < MAXLEN - 4, "the log wrapped");
            let (r, fs) = log.run(&none());
            assert_eq!(r.end_tid, 53, "{k:?}");
            assert_eq!(fs[&home(k, 2)], content(2), "{k:?}");
            assert_eq!(fs[&home(k, 3)], content(3), "{k:?}");
            assert_eq!(fs[&home(k, 4)], content(4), "{k:?}");
        }
    }

    #[test]
    fn a_torn_transaction_is_discarded_and_stale_blocks_ignored() {
        for k in kinds() {
            // An older generation of the log (sequence 5..) fills the ring;
            // the current one (sequence 20) overwrites its beginning.
            let mut old = Log::new(k, 5, 1);
            for i in 0..6 {
                old.tx(&Tx {
                    blocks: vec![(home(k, 40 + i), content(40 + i as u8))],
                    ..Tx::default()
                });
            }
            let mut log = Log::new(k, 20, 1);
            log.journal = old.journal.clone();
            log.tx(&Tx::of(k, &[1]));
            let clean_end = log.pos;
            // Torn: descriptor and blocks, no commit.
            log.tx_body(&Tx::of(k, &[2]));
            let (r, fs) = log.run(&none());
            assert_eq!((r.end_tid, r.next_sequence), (21, 22), "{k:?}");
            assert_eq!(fs.len(), 1, "{k:?}: {:?}", fs.keys());
            assert_eq!(r.checksum_stop, None);
            // Without the torn one, the next block is a stale commit.
            let mut log2 = Log::new(k, 20, 1);
            log2.journal = old.journal;
            log2.tx(&Tx::of(k, &[1]));
            assert_eq!(log2.pos, clean_end);
            let (r, fs) = log2.run(&none());
            assert_eq!(r.end_tid, 21, "{k:?}");
            assert_eq!(fs.len(), 1, "{k:?}");
        }
    }

    #[test]
    fn a_bad_commit_checksum_stops_at_the_last_valid_transaction() {
        for k in kinds().into_iter().filter(|k| k.v1 || k.v2 || k.v3) {
            let mut log = Log::new(k, 1, 1);
            log.tx(&Tx::of(k, &[1]));
            let bad = log.tx(&Tx::of(k, &[2]));
            log.tx(&Tx::of(k, &[3]));
            if k.v1 {
                log.block_mut(bad)[16] ^= 1;
            } else {
                // Anywhere in the commit block but the checksum itself.
                log.block_mut(bad)[0x100] ^= 1;
            }
            let (r, fs) = log.run(&none());
            assert_eq!(r.end_tid, 2, "{k:?}");
            assert_eq!(fs.len(), 1, "{k:?}");
            let line = r.checksum_stop.expect("reported");
            assert!(
                line.contains("transaction 2") && !line.contains('\n'),
                "{line}"
            );
        }
    }

    #[test]
    fn a_v1_crc_covers_the_logged_blocks() {
        let k = Kind {
            v1: true,
            v2: false,
            v3: false,
            b64: false,
        };
        let mut log = Log::new(k, 1, 1);
        log.tx(&Tx {
            blocks: vec![(1, content(1))],
            ..Tx::default()
        });
        log.tx(&Tx {
            blocks: vec![(2, content(2))],
            ..Tx::default()
        });
        // The second transaction's logged block (after its descriptor).
        log.block_mut(5)[7] ^= 1;
        let (r, fs) = log.run(&none());
        assert_eq!(r.end_tid, 2);
        assert_eq!(fs.len(), 1);
        assert!(r.checksum_stop.is_some());
        // An unused v1 checksum (type 0, size 0, value 0) is accepted.
        let mut log = Log::new(k, 1, 1);
        let c = log.tx(&Tx {
            blocks: vec![(1, content(1))],
            ..Tx::default()
        });
        log.block_mut(c)[12..20].fill(0);
        let (r, _) = log.run(&none());
        assert_eq!((r.end_tid, r.checksum_stop), (2, None));
    }

    #[test]
    fn a_bad_tag_checksum_stops_at_the_last_valid_transaction() {
        for k in kinds().into_iter().filter(|k| k.v2 || k.v3) {
            let mut log = Log::new(k, 1, 1);
            // Transaction 2: descriptor at 4, blocks at 5 and 6.
            log.three_transactions();
            log.block_mut(6)[9] ^= 1;
            let (r, fs) = log.run(&none());
            assert_eq!(r.end_tid, 2, "{k:?}");
            assert_eq!(fs.keys().copied().collect::<Vec<_>>(), vec![home(k, 1)]);
            let line = r.checksum_stop.expect("reported");
            assert!(line.contains(&format!("block {}", home(k, 3))), "{line}");
        }
    }

    #[test]
    fn a_bad_descriptor_checksum_is_judged_by_the_commit_time() {
        for k in kinds().into_iter().filter(|k| k.v2 || k.v3) {
            for older in [false, true] {
                let mut log = Log::new(k, 1, 1);
                log.tx(&Tx::of(k, &[1]));
                let c = log.tx(&Tx::of(k, &[2]));
                // The descriptor of transaction 2 (blocks 1-3 are the first).
                log.block_mut(4)[200] ^= 1;
                if older {
                    // A stale transaction left by an earlier use of the log.
                    put_be64(log.block_mut(c), 0x30, 1);
                    let l = log.l;
                    let b = log.block_mut(c);
                    b[16..20].fill(0);
                    let sum = crate::jbd2::jbd2_crc(l.seed, b);
                    put_be32(b, 16, sum);
                }
                let (r, fs) = log.run(&none());
                assert_eq!(r.end_tid, 2, "{k:?}");
                assert_eq!(fs.len(), 1, "{k:?}");
                assert_eq!(r.checksum_stop.is_some(), !older, "{k:?}");
            }
        }
    }

    #[test]
    fn the_pending_marker_is_honoured_in_its_own_boot_only() {
        let me = [1u8; 16];
        let other = [2u8; 16];
        for k in kinds() {
            let mut log = Log::new(k, 1, 1);
            log.tx(&Tx::of(k, &[1]));
            // A durable marker, already turned into an empty revoke block.
            let b = build_bridge(&log.l, 2);
            log.put(&b);
            log.tx(&Tx::of(k, &[2]));
            // The marker of the undurable transactions 3 and 4.
            let p = build_pending(&log.l, 3, &me);
            let marker = log.put(&p);
            log.tx(&Tx::of(k, &[3]));
            log.tx(&Tx {
                blocks: vec![(home(k, 4), content(4))],
                revokes: vec![home(k, 1)],
            });
            let (r, fs) = log.run(&RecoverOptions { boot_id: Some(me) });
            assert_eq!((r.end_tid, r.pending_replayed), (5, 2), "{k:?}");
            assert!(!r.pending_dropped);
            assert_eq!(fs.len(), 3, "{k:?}: block 1 revoked");
            assert_eq!(fs[&home(k, 4)], content(4));
            for opts in [
                RecoverOptions {
                    boot_id: Some(other),
                },
                none(),
            ] {
                let (r, fs) = log.run(&opts);
                assert_eq!((r.end_tid, r.pending_replayed), (3, 0), "{k:?}");
                assert!(r.pending_dropped);
                assert_eq!(fs.len(), 2, "{k:?}");
            }
            // A marker of an older transaction is just a stale block.
            let p = build_pending(&log.l, 2, &me);
            log.block_mut(marker).copy_from_slice(&p);
            let (r, _) = log.run(&RecoverOptions { boot_id: Some(me) });
            assert_eq!((r.end_tid, r.pending_dropped), (3, false), "{k:?}");
        }
    }

    #[test]
    fn an_unknown_block_type_ends_the_log() {
        for k in kinds() {
            let mut log = Log::new(k, 1, 1);
            log.tx(&Tx::of(k, &[1]));
            // Fast-commit blocks are not part of the ring's log.
            let mut odd = vec![0u8; BS];
            Header {
                blocktype: blocktype::FAST_COMMIT,
                sequence: 2,
            }
            .write(&mut odd);
            log.put(&odd);
            log.tx(&Tx::of(k, &[2]));
            let (r, fs) = log.run(&none());
            assert_eq!((r.end_tid, fs.len()), (2, 1), "{k:?}");
        }
    }

    #[test]
    fn an_empty_journal_replays_nothing() {
        let k = kinds()[0];
        let mut log = Log::new(k, 9, 0);
        log.pos = 1;
        log.tx(&Tx {
            blocks: vec![(1, content(1))],
            ..Tx::default()
        });
        let (r, fs) = log.run(&none());
        assert_eq!((r.end_tid, r.next_sequence, r.replayed_blocks), (9, 9, 0));
        assert!(fs.is_empty());
    }

    #[test]
    fn blocks_outside_the_filesystem_are_skipped() {
        let k = kinds()[0];
        let mut log = Log::new(k, 1, 1);
        log.tx(&Tx {
            blocks: vec![(0, content(9)), (1000, content(1)), (5, content(2))],
            ..Tx::default()
        });
        let dev = MemDev {
            journal: RefCell::new(log.journal.clone()),
            fs: RefCell::new(HashMap::new()),
            fs_blocks: 1000,
            flushed: RefCell::new(false),
        };
        let r = recover(&dev, &log.jsb, &none()).unwrap();
        assert_eq!(r.replayed_blocks, 2);
        assert_eq!(r.warnings.len(), 1);
        assert!(r.warnings[0].contains("1000"));
        assert_eq!(dev.fs.borrow()[&0], content(9), "block 0 is replayed");
    }

    #[test]
    fn a_log_claiming_more_blocks_than_the_ring_ends() {
        let k = kinds()[0];
        let mut log = Log::new(k, 1, 1);
        log.tx(&Tx {
            blocks: vec![(1, content(1))],
            ..Tx::default()
        });
        // Transaction 2: a descriptor with as many tags as fit, repeated
        // so that they add up to more than the ring.
        let tags: Vec<Tag> = (0..tags_per_descriptor(&log.l) as u64)
            .map(|i| Tag {
                block: 100 + i,
                flags: 0,
                checksum: 0,
            })
            .collect();
        let d = build_descriptor(&log.l, 2, &tags);
        for at in 1..MAXLEN {
            if at > 3 {
                log.block_mut(at).copy_from_slice(&d);
            }
        }
        let (r, fs) = log.run(&none());
        assert_eq!(r.end_tid, 2);
        assert_eq!(fs.len(), 1);
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        // A full ring of descriptors of transaction 1 at every block.
        let mut log = Log::new(k, 1, 1);
        let d = build_descriptor(&log.l, 1, &tags[..1]);
        for at in 1..MAXLEN {
            log.block_mut(at).copy_from_slice(&d);
        }
        let (r, _) = log.run(&none());
        assert_eq!(r.end_tid, 1);
    }
}
