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

use std::collections::BTreeMap;

use super::transaction::Transaction;
use super::{Fs, FsError, Result, error};
use crate::ext4::InodeNo;
use crate::ext4::inode::Inode;
use crate::ext4::quota::{QUOTA_BLOCK, QuotaFile, QuotaType, charged_inode};
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
            let what = || format!("{} quota file (inode {ino})", qtype.name());
            let inode = self.inode(InodeNo(ino))?;
            if !inode.is_reg() || inode.size > (64 << 20) || inode.size % QUOTA_BLOCK as u64 != 0 {
                return Err(error::corrupt(what(), format!("size {}", inode.size)));
            }
            let data = self.read(&inode, 0, inode.size as usize)?;
            let parsed = QuotaFile::parse(&data, qtype)
                .map_err(|e| error::corrupt(what(), e.to_string()))?;
            let bs = self.block_size() as u64;
            let mut map = vec![0u64; inode.size.div_ceil(bs) as usize];
            for (lblk, slot) in map.iter_mut().enumerate() {
                if let super::extents::Backing::Data(p) =
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
        if deltas.is_empty() {
            return Ok(None);
        }
        let mut next = st.clone();
        for t in 0..3 {
            let Some(file) = next.files[t].as_mut() else {
                continue;
            };
            let mine: Vec<(u32, (i64, i64))> = deltas
                .range((t, 0)..=(t, u32::MAX))
                .map(|(&(_, id), &d)| (id, d))
                .collect();
            if mine.is_empty() {
                continue;
            }
            let mut dirty = std::collections::BTreeSet::new();
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
                let d =
                    QuotaFile::entry_at(&file.data, at).map_err(|e| quota_damage(file.ino, e))?;
                // As the kernel: usage never goes below zero (a file that
                // was already short stays short, for e2fsck to fix).
                let space = (d.dqb_curspace.get() as i64).saturating_add(bytes).max(0) as u64;
                let count = (d.dqb_curinodes.get() as i64).saturating_add(inodes).max(0) as u64;
                QuotaFile::set_usage(&mut file.data, at, space, count)
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
    error::corrupt(format!("quota file (inode {ino})"), e.to_string())
}
