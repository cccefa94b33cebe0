//! Quota usage (features `quota` and `project`), kept as the kernel's ext4
//! keeps it with the quota feature: each user, group and project id's
//! entry in its quota file holds the bytes (i_blocks * 512: data, extent
//! tree and xattr blocks alike) and the inodes charged to it, changed in
//! the same transaction as the inodes they count.
//!
//! Rather than charging at every allocation, a commit compares each inode
//! it writes with the committed one (owner, group, project id, i_blocks,
//! in use or not) and moves the difference: one place that no change of
//! blocks or owner can bypass. The quota files are held in memory, and
//! changed only by commits (under the quota lock, taken before the commit
//! lock), so the blocks a commit logs are the files' current contents.
//!
//! Limits (mount options usrquota, grpquota, prjquota) are judged in the
//! same place, on each id's net change ([`Dquot::charge`], the kernel's
//! dquot arithmetic): a refusal fails the commit before anything is
//! written, so the whole operation is dropped. Whether the caller may
//! exceed them (CAP_SYS_RESOURCE) comes from the [`Requester`] the FUSE
//! layer sets for each request.

use crate::ext4::CorruptKind;
use std::collections::BTreeMap;

use super::journal::transaction::Transaction;
use super::{Fs, FsError, Result, error};
use crate::ext4::InodeNo;
use crate::ext4::inode::Inode;
use crate::ext4::quota::{
    Dquot, Enforcement, Limits, QUOTA_BLOCK, QuotaFile, QuotaType, charged_inode,
};
use crate::ext4::superblock::ro_compat;

/// One quota file as the last commit left it.
#[derive(Debug, Clone)]
pub(crate) struct LoadedFile {
    ino: u32,
    /// The file's bytes (i_size of them).
    data: Vec<u8>,
    /// Byte offset of each id's entry.
    offsets: BTreeMap<u32, usize>,
    /// Physical block of each logical block of the file (0: a hole).
    map: Vec<u64>,
}

/// The quota files of a writable filesystem, by [`QuotaType`].
#[derive(Debug, Clone, Default)]
pub(crate) struct QuotaState {
    files: [Option<LoadedFile>; 3],
    /// Types whose limits are enforced (usrquota, grpquota, prjquota).
    enforce: [bool; 3],
}

/// A change of the quota files' limits or grace periods, made by a
/// transaction's commit (see [`Fs::set_quota_limits`]).
#[derive(Debug, Clone, Copy)]
pub(crate) enum QuotaEdit {
    Limits(QuotaType, u32, Limits),
    Grace(QuotaType, u32, u32),
}

/// One id's entry in a quota file, for a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaEntry {
    pub qtype: QuotaType,
    pub id: u32,
    pub dquot: Dquot,
}

/// A project's limits as statfs of a project-inherit directory reports
/// them (ext4_statfs_project), in filesystem blocks and inodes: each
/// `(total, free)` pair caps the filesystem's own figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProjectStatfs {
    pub blocks: Option<(u64, u64)>,
    pub files: Option<(u64, u64)>,
}

/// Who asks for a request's changes: ids (uid, gid, pid), and how to find
/// whether they may exceed quota limits (CAP_SYS_RESOURCE). Plain data,
/// so that setting it for every request allocates nothing.
type Asker = ([u32; 3], fn([u32; 3]) -> bool);

thread_local! {
    /// The caller of the request this thread serves; asked only when a
    /// limit refuses.
    static ASKER: std::cell::Cell<Option<Asker>> = const { std::cell::Cell::new(None) };
}

/// While alive, limits refusing a change on this thread ask whether the
/// caller is exempt (the kernel's ignore_hardlimit: the current task's
/// CAP_SYS_RESOURCE). Without one, nobody is.
pub struct Requester {
    prev: Option<Asker>,
}

impl Requester {
    /// Sets the caller of the request this thread is about to serve:
    /// `ids` (uid, gid, pid), judged by `may_exceed` when a limit refuses.
    pub fn enter(ids: [u32; 3], may_exceed: fn([u32; 3]) -> bool) -> Requester {
        Requester {
            prev: ASKER.with(|c| c.replace(Some((ids, may_exceed)))),
        }
    }
}

impl Drop for Requester {
    fn drop(&mut self) {
        ASKER.with(|c| c.set(self.prev));
    }
}

fn requester_may_exceed() -> bool {
    ASKER.with(|c| c.get()).is_some_and(|(ids, f)| f(ids))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Usage changes: (type, id) -> (bytes, inodes).
type Deltas = BTreeMap<(usize, u32), (i64, i64)>;

/// Whom an inode is charged to, and how much: bytes, inodes.
type Charge = ([u32; 3], i64, i64);

impl Fs {
    /// Reads the quota files the superblock names (a writable mount of a
    /// quota filesystem), checking each parses.
    pub(crate) fn load_quota(&self) -> Result<QuotaState> {
        let mut st = QuotaState::default();
        if !self.sb.has_ro_compat(ro_compat::QUOTA) {
            return Ok(st);
        }
        for qtype in QuotaType::ALL {
            let ino = self.sb.quota_inums[qtype as usize];
            if ino == 0 {
                continue;
            }
            let inode = self.inode(InodeNo(ino))?;
            if !inode.is_reg() || inode.size > (64 << 20) || inode.size % QUOTA_BLOCK as u64 != 0 {
                return Err(error::corrupted(CorruptKind::QuotaFileSize {
                    qtype: qtype.name(),
                    ino,
                    size: inode.size,
                }));
            }
            let data = self.read(&inode, 0, inode.size as usize)?;
            let parsed = QuotaFile::parse(&data, qtype)
                .map_err(|e| in_quota_file(Some(qtype.name()), ino, e))?;
            let bs = self.block_size() as u64;
            let mut map = vec![0u64; inode.size.div_ceil(bs) as usize];
            for (lblk, slot) in map.iter_mut().enumerate() {
                if let super::extent::map::Backing::Data(p) =
                    self.map_block(&inode, lblk as u64)?.backing
                {
                    *slot = p.0;
                }
            }
            st.files[qtype as usize] = Some(LoadedFile {
                ino,
                data,
                offsets: parsed.offsets,
                map,
            });
        }
        Ok(st)
    }

    /// Whether this filesystem keeps quota usage (feature quota).
    pub(crate) fn quota_on(&self) -> bool {
        self.sb.has_ro_compat(ro_compat::QUOTA)
    }

    /// Enforces the limits of the quota types `types` (the mount options
    /// usrquota, grpquota, prjquota) from now on. Refused, naming what is
    /// missing, on a filesystem without the quota feature, without a
    /// quota file of a type asked for (or project quota without the
    /// project feature); accepted and moot on a read-only filesystem.
    pub fn enforce_quota_limits(&self, types: &[QuotaType]) -> std::result::Result<(), String> {
        if types.is_empty() {
            return Ok(());
        }
        if !self.quota_on() {
            return Err("the image has no quota feature (tune2fs -O quota adds it)".into());
        }
        for &t in types {
            if t == QuotaType::Project && !self.sb.has_ro_compat(ro_compat::PROJECT) {
                // ext4_check_quota_consistency refuses it likewise.
                return Err("the image has no project feature (tune2fs -O project adds it): cannot enforce project quota".into());
            }
            // The kernel enables limits only for the types it has files
            // of, silently: asked for explicitly, say so instead.
            if self.sb.quota_inums[t as usize] == 0 {
                return Err(format!(
                    "the image keeps no {} quota file (tune2fs -Q {} adds one)",
                    t.name(),
                    option_of(t)
                ));
            }
        }
        // Nothing changes on a read-only mount: nothing to enforce.
        if !self.writable() {
            return Ok(());
        }
        let mut st = self.quota.lock();
        for &t in types {
            st.enforce[t as usize] = true;
        }
        Ok(())
    }

    /// Whether the limits of `qtype` are enforced.
    pub fn quota_enforced(&self, qtype: QuotaType) -> bool {
        self.quota.lock().enforce[qtype as usize]
    }

    /// What statfs of `dir` reports of its project when project limits
    /// are enforced and `dir` has the project-inherit flag, as ext4_statfs
    /// (ext4_statfs_project): None otherwise.
    pub fn project_statfs(&self, dir: &Inode) -> Result<Option<ProjectStatfs>> {
        if !dir.has_flag(crate::ext4::inode::flags::PROJINHERIT) {
            return Ok(None);
        }
        let st = self.quota.lock();
        let t = QuotaType::Project as usize;
        if !st.enforce[t] {
            return Ok(None);
        }
        let Some(file) = st.files[t].as_ref() else {
            return Ok(None);
        };
        // An id without an entry has no limits (and no usage).
        let Some(&at) = file.offsets.get(&dir.projid.unwrap_or(0)) else {
            return Ok(Some(ProjectStatfs::default()));
        };
        let q = QuotaFile::dquot_at(&file.data, at).map_err(|e| quota_damage(file.ino, e))?;
        Ok(Some(project_statfs_of(&q, self.block_size())))
    }

    /// Every entry of the quota files, by type and id (read from the
    /// image, as the last commit left it).
    pub fn quota_report(&self) -> Result<Vec<QuotaEntry>> {
        let st = self.load_quota()?;
        let mut out = Vec::new();
        for qtype in QuotaType::ALL {
            let Some(file) = st.files[qtype as usize].as_ref() else {
                continue;
            };
            for (&id, &at) in &file.offsets {
                let dquot =
                    QuotaFile::dquot_at(&file.data, at).map_err(|e| quota_damage(file.ino, e))?;
                out.push(QuotaEntry { qtype, id, dquot });
            }
        }
        Ok(out)
    }

    /// The grace periods (block, inode; seconds) of `qtype`'s quota file,
    /// None without one.
    pub fn quota_grace(&self, qtype: QuotaType) -> Result<Option<(u64, u64)>> {
        let st = self.load_quota()?;
        match st.files[qtype as usize].as_ref() {
            Some(f) => Ok(Some(
                QuotaFile::grace(&f.data).map_err(|e| quota_damage(f.ino, e))?,
            )),
            None => Ok(None),
        }
    }

    /// Sets `id`'s limits in `qtype`'s quota file, in one transaction, as
    /// setquota(8) through the kernel's quotactl (do_set_dqblk): the
    /// entry is added if the id has none, and a grace time starts afresh
    /// for a soft limit usage is over already.
    pub fn set_quota_limits(&self, qtype: QuotaType, id: u32, limits: Limits) -> Result<()> {
        self.edit_quota(QuotaEdit::Limits(qtype, id, limits))
    }

    /// Sets the grace periods (seconds) of `qtype`'s quota file.
    pub fn set_quota_grace(&self, qtype: QuotaType, bgrace: u32, igrace: u32) -> Result<()> {
        self.edit_quota(QuotaEdit::Grace(qtype, bgrace, igrace))
    }

    /// A write quota limits refused whole: the longest prefix ending on a
    /// block boundary that they allow, written, as the kernel's ext4
    /// writes up to the block that fails its charge and returns a short
    /// count (EDQUOT when not even the first block fits). Found by
    /// bisection, each try a whole transaction that is dropped if refused.
    pub(crate) fn write_within_quota(
        &self,
        node: super::InodeRef,
        offset: u64,
        data: &[u8],
        drop_suidgid: u16,
    ) -> Result<usize> {
        let bs = self.block_size() as u64;
        // Prefix lengths ending on block boundaries, shortest first.
        let first_end = (offset / bs + 1) * bs;
        let end = offset + data.len() as u64;
        let ends: Vec<u64> = (0..)
            .map(|k| first_end + k * bs)
            .take_while(|&e| e < end)
            .collect();
        // Bisection over `ends`: each prefix that fits is committed, and
        // the search goes on past it with the rest.
        let (mut lo, mut hi, mut done) = (0, ends.len(), offset);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let piece = &data[(done - offset) as usize..(ends[mid] - offset) as usize];
            match self.write_whole(node, done, piece, drop_suidgid) {
                Ok(_) => {
                    done = ends[mid];
                    lo = mid + 1;
                }
                Err(FsError::QuotaExceeded) => hi = mid,
                Err(e) if done == offset => return Err(e),
                // What was written stands: report it, as a short write.
                Err(_) => break,
            }
        }
        if done == offset {
            return Err(FsError::QuotaExceeded);
        }
        Ok((done - offset) as usize)
    }

    fn edit_quota(&self, edit: QuotaEdit) -> Result<()> {
        let (QuotaEdit::Limits(t, ..) | QuotaEdit::Grace(t, ..)) = edit;
        if !self.quota_on() || self.quota.lock().files[t as usize].is_none() {
            return Err(FsError::Unsupported);
        }
        let mut tx = self.begin()?;
        tx.quota_edits.push(edit);
        tx.commit()
    }
}

/// The mount option enforcing `t`'s limits (and tune2fs -Q's word for it).
pub fn option_of(t: QuotaType) -> &'static str {
    match t {
        QuotaType::User => "usrquota",
        QuotaType::Group => "grpquota",
        QuotaType::Project => "prjquota",
    }
}

/// ext4_statfs_project's arithmetic on project entry `q`: the limit is the
/// soft limit, else the hard one; blocks in filesystem blocks of `bs`
/// bytes (usage rounded down).
fn project_statfs_of(q: &Dquot, bs: u32) -> ProjectStatfs {
    let min_not_zero = |a: u64, b: u64| match (a, b) {
        (0, b) => b,
        (a, 0) => a,
        (a, b) => a.min(b),
    };
    let shift = bs.trailing_zeros();
    let blimit = min_not_zero(q.bsoftlimit, q.bhardlimit) >> shift;
    let ilimit = min_not_zero(q.isoftlimit, q.ihardlimit);
    ProjectStatfs {
        blocks: (blimit != 0).then(|| (blimit, blimit.saturating_sub(q.curspace >> shift))),
        files: (ilimit != 0).then(|| (ilimit, ilimit.saturating_sub(q.curinodes))),
    }
}

impl ProjectStatfs {
    /// Caps the filesystem's statfs figures (blocks, bfree, bavail, files,
    /// ffree) with the project's.
    pub fn clamp(&self, s: [u64; 5]) -> [u64; 5] {
        let [mut blocks, mut bfree, mut bavail, mut files, mut ffree] = s;
        if let Some((total, free)) = self.blocks {
            blocks = blocks.min(total);
            bfree = bfree.min(free);
            bavail = bavail.min(free);
        }
        if let Some((total, free)) = self.files {
            files = files.min(total);
            ffree = ffree.min(free);
        }
        [blocks, bfree, bavail, files, ffree]
    }
}

/// EXDEV when `dir` has the project-inherit flag and `inode` belongs to
/// another project (ext4_link, ext4_rename): a name there would put the
/// inode's usage outside the directory's project.
pub(crate) fn same_project(dir: &Inode, inode: &Inode) -> Result<()> {
    if dir.has_flag(crate::ext4::inode::flags::PROJINHERIT)
        && dir.projid.unwrap_or(0) != inode.projid.unwrap_or(0)
    {
        return Err(FsError::CrossDevice);
    }
    Ok(())
}

/// What `inode`, in use, is charged. With ea_inode, as the kernel and
/// e2fsck count: an EA inode nothing, its owners one inode more per entry
/// naming one (`ea_refs`; the values' blocks are in their i_blocks).
fn charge_of(fs: &Fs, inode: &Inode, ea_refs: i64) -> Option<Charge> {
    if !charged_inode(fs.superblock(), inode.ino.0)
        || inode.has_flag(crate::ext4::inode::flags::EA_INODE)
    {
        return None;
    }
    Some((
        [inode.uid, inode.gid, inode.projid.unwrap_or(0)],
        inode.blocks_512 as i64 * 512,
        1 + ea_refs,
    ))
}

fn add(deltas: &mut Deltas, c: Option<Charge>, sign: i64) {
    if let Some((ids, bytes, inodes)) = c {
        for (t, id) in ids.into_iter().enumerate() {
            let d = deltas.entry((t, id)).or_default();
            d.0 += sign * bytes;
            d.1 += sign * inodes;
        }
    }
}

impl<'a> Transaction<'a> {
    /// The usage this transaction moves: each inode it writes, allocates
    /// or frees, new charge less committed charge. The inodes are locked
    /// by the operation, so their committed versions cannot change.
    fn quota_deltas(&self, freed: &[u32]) -> Result<Deltas> {
        let fs = self.fs();
        let mut deltas = Deltas::new();
        let mut inos: Vec<u32> = self.pending_inodes().chain(freed.iter().copied()).collect();
        inos.sort_unstable();
        inos.dedup();
        for ino in inos {
            if !charged_inode(fs.superblock(), ino) {
                continue;
            }
            let fresh = self.is_fresh_inode(ino);
            let gone = freed.contains(&ino);
            let old = if fresh {
                None
            } else {
                let inode = fs.inode(InodeNo(ino))?;
                charge_of(fs, &inode, fs.ea_refs_of(&inode)?)
            };
            let new = if gone {
                None
            } else {
                let inode = self.inode(InodeNo(ino))?;
                charge_of(fs, &inode, self.ea_refs_of(&inode)?)
            };
            if old != new {
                add(&mut deltas, old, -1);
                add(&mut deltas, new, 1);
            }
        }
        deltas.retain(|_, d| *d != (0, 0));
        Ok(deltas)
    }

    /// Applies this transaction's usage changes to a copy of the quota
    /// files in `st`: new entries for ids the files lack, the quota file
    /// growing (blocks allocated in this transaction) when a new entry
    /// needs a block, and every changed file block added to the
    /// transaction. Returns the files as they will be once this commits
    /// (None: nothing to change). Called with the quota lock held and
    /// before the commit lock (allocation may force a durable commit).
    pub(super) fn account_quota(
        &mut self,
        st: &QuotaState,
        freed: &[u32],
    ) -> Result<Option<QuotaState>> {
        let fs = self.fs();
        if !fs.quota_on() {
            return Ok(None);
        }
        let deltas = self.quota_deltas(freed)?;
        if deltas.is_empty() && self.quota_edits.is_empty() {
            return Ok(None);
        }
        let now = unix_now();
        // Asked once per commit, and only when a limit would refuse.
        let mut exempt = None;
        let mut may_exceed = || *exempt.get_or_insert_with(requester_may_exceed);
        let mut next = st.clone();
        for t in 0..3 {
            let enforce = next.enforce[t];
            let Some(file) = next.files[t].as_mut() else {
                continue;
            };
            let mut mine: Vec<(u32, (i64, i64))> = deltas
                .range((t, 0)..=(t, u32::MAX))
                .map(|(&(_, id), &d)| (id, d))
                .collect();
            let edits: Vec<QuotaEdit> = (self.quota_edits.iter())
                .filter(|e| matches!(e, QuotaEdit::Limits(q, ..) | QuotaEdit::Grace(q, ..) if *q as usize == t))
                .copied()
                .collect();
            if mine.is_empty() && edits.is_empty() {
                continue;
            }
            let mut dirty = std::collections::BTreeSet::new();
            for e in &edits {
                match *e {
                    QuotaEdit::Grace(_, b, i) => {
                        QuotaFile::set_grace(&mut file.data, b, i)
                            .map_err(|e| quota_damage(file.ino, e))?;
                        dirty.insert(0);
                    }
                    // Applied with the usage below.
                    QuotaEdit::Limits(_, id, _) => mine.push((id, (0, 0))),
                }
            }
            let grace = QuotaFile::grace(&file.data).map_err(|e| quota_damage(file.ino, e))?;
            let how = Enforcement {
                limits: enforce,
                now,
                grace,
            };
            for (id, (bytes, inodes)) in mine {
                let at = match file.offsets.get(&id) {
                    Some(&at) => at,
                    None => {
                        let ins = QuotaFile::insert(&mut file.data, id)
                            .map_err(|e| quota_damage(file.ino, e))?;
                        dirty.extend(ins.dirty);
                        file.offsets.insert(id, ins.at);
                        ins.at
                    }
                };
                let mut q =
                    QuotaFile::dquot_at(&file.data, at).map_err(|e| quota_damage(file.ino, e))?;
                // As the kernel: usage never goes below zero (a file that
                // was already short stays short, for e2fsck to fix).
                q.charge(bytes, inodes, &how, &mut may_exceed)
                    .map_err(|_| FsError::QuotaExceeded)?;
                for e in &edits {
                    if let QuotaEdit::Limits(_, eid, limits) = *e
                        && eid == id
                    {
                        q.set_limits(limits, now, grace);
                    }
                }
                QuotaFile::set_dquot(&mut file.data, at, &q)
                    .map_err(|e| quota_damage(file.ino, e))?;
                dirty.insert((at / QUOTA_BLOCK) as u32);
            }
            self.write_quota_blocks(file, &dirty)?;
        }
        Ok(Some(next))
    }

    /// Puts the file blocks holding the quota blocks `dirty` into this
    /// transaction, mapping new ones (the file grew) first.
    fn write_quota_blocks(
        &mut self,
        file: &mut LoadedFile,
        dirty: &std::collections::BTreeSet<u32>,
    ) -> Result<()> {
        let bs = self.fs().block_size() as usize;
        let per = bs / QUOTA_BLOCK;
        let blocks: std::collections::BTreeSet<usize> =
            dirty.iter().map(|&q| q as usize / per).collect();
        let mut inode = None;
        for &i in &blocks {
            if file.map.get(i).copied().unwrap_or(0) == 0 {
                let q = match inode.as_mut() {
                    Some(q) => q,
                    None => inode.insert(self.inode(InodeNo(file.ino))?),
                };
                let runs = self.map_write(q, i as u64, 1)?;
                let run = runs.first().ok_or(FsError::NoSpace)?;
                if file.map.len() <= i {
                    file.map.resize(i + 1, 0);
                }
                file.map[i] = run.pblk.0;
            }
        }
        if let Some(mut q) = inode.take() {
            q.size = q.size.max(file.data.len() as u64);
            self.put_inode(q);
        } else if (file.data.len() as u64) > self.inode(InodeNo(file.ino))?.size {
            let mut q = self.inode(InodeNo(file.ino))?;
            q.size = file.data.len() as u64;
            self.put_inode(q);
        }
        for i in blocks {
            let mut bytes = vec![0u8; bs];
            let from = (i * bs).min(file.data.len());
            let to = ((i + 1) * bs).min(file.data.len());
            bytes[..to - from].copy_from_slice(&file.data[from..to]);
            self.put_block(crate::ext4::BlockNo(file.map[i]), bytes);
        }
        Ok(())
    }
}

fn quota_damage(ino: u32, e: crate::ext4::FormatError) -> FsError {
    in_quota_file(None, ino, e)
}

/// `e` placed in quota file `ino` (of type `qtype` when known).
fn in_quota_file(qtype: Option<&'static str>, ino: u32, e: crate::ext4::FormatError) -> FsError {
    match e {
        crate::ext4::FormatError::Corrupt(kind) => error::corrupted(CorruptKind::InQuotaFile {
            qtype,
            ino,
            inner: Box::new(kind),
        }),
        other => other.into(),
    }
}
