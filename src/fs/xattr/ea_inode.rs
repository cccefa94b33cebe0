//! Xattr values in their own inodes (`ea_inode`): reading them, creating
//! one for a new large value, and keeping their reference counts, as
//! fs/ext4/xattr.c does (layout in `crate::ext4::ea_inode`).
//!
//! Each entry naming an EA inode is one reference: an entry in an inode
//! body belongs to that inode, an entry in an xattr block to the block
//! (however many inodes share it). A change of an inode's attributes
//! compares the references its places held before and after and moves the
//! EA inodes' counts by the difference in the same transaction; one that
//! reaches zero is freed there, so no crash can leave an unreferenced EA
//! inode behind or free one still named. Values are never shared between
//! entries here (the kernel's mbcache lookup is an optimisation; a count
//! the kernel raised is kept and lowered correctly).
//!
//! The EA inodes are locked with nothing: they are reached only through
//! their owners, whose locks the caller holds. An EA inode the kernel
//! shared between two owners changed by two concurrent transactions could
//! lose one count change, as for shared xattr blocks (see xattr_write).

use crate::ext4::{CorruptKind, InodeDamage};
use std::collections::BTreeMap;

use crate::ext4::InodeNo;
use crate::ext4::ea_inode;
use crate::ext4::inode::{Inode, flags, mode};
use crate::ext4::superblock::{incompat, ro_compat};
use crate::ext4::xattr::{ValueInode, XattrEntry};
use crate::fs::create::now;
use crate::fs::extent::write::init_extent_root;
use crate::fs::journal::transaction::Transaction;
use crate::fs::{Fs, FsError, Result, error};

/// Reference count changes by EA inode number.
pub(crate) type RefDeltas = BTreeMap<InodeNo, i64>;

/// Adds `sign` for every EA inode the entries name.
pub(crate) fn count_refs(d: &mut RefDeltas, entries: &[XattrEntry], sign: i64) {
    for v in entries.iter().filter_map(|e| e.value_inode) {
        *d.entry(v.ino).or_default() += sign;
    }
}

/// Blocks the owner of `entries` pays for their EA inode values.
pub(crate) fn charged_blocks(fs: &Fs, entries: &[XattrEntry]) -> i64 {
    let sb = fs.superblock();
    let cluster = 1u64 << sb.log_cluster_size.saturating_sub(sb.log_block_size);
    entries
        .iter()
        .filter_map(|e| e.value_inode)
        .map(|v| ea_inode::charged_blocks(v.size as u64, fs.block_size() as u64, cluster) as i64)
        .sum()
}

impl Fs {
    /// How many of the committed `inode`'s entries (body and block) name
    /// an EA inode: what its owners' quota counts beside the inode.
    pub(crate) fn ea_refs_of(&self, inode: &Inode) -> Result<i64> {
        if !self.superblock().has_incompat(incompat::EA_INODE) {
            return Ok(0);
        }
        let entries = self.xattr_entries(inode)?;
        Ok(entries.iter().filter(|e| e.value_inode.is_some()).count() as i64)
    }

    /// The value of `e`, kept in EA inode `v`, as `ext4_xattr_inode_get`
    /// checks it: the inode exists, carries `EXT4_EA_INODE_FL`, its size is
    /// the entry's, and the value's hash and the entry's hash match what
    /// the EA inode stores (an old Lustre-style EA inode, which names its
    /// owner in i_mtime and i_generation, has no hashes to check).
    pub(crate) fn ea_inode_value(
        &self,
        owner: &Inode,
        e: &XattrEntry,
        v: &ValueInode,
    ) -> Result<Vec<u8>> {
        let ea = self.ea_inode_of(owner, v.ino, |ino| self.inode(ino))?;
        let bad = |why| error::damaged(owner.ino, why);
        if ea.size != v.size as u64 {
            return Err(bad(InodeDamage::EaInodeSize {
                ea: v.ino,
                size: ea.size,
                entry_size: v.size,
            }));
        }
        let value = self.read(&ea, 0, v.size as usize)?;
        let lustre = ea.mtime.sec as u32 == owner.ino.0 && ea.generation == owner.generation;
        if !lustre {
            let stored = ea_inode::stored_hash(&ea);
            if ea_inode::value_hash(self.csum_seed(), &value) != stored {
                return Err(bad(InodeDamage::EaInodeValueHash { ea: v.ino }));
            }
            if !ea_inode::entry_hash_matches(&e.name, stored, v.hash) {
                return Err(bad(InodeDamage::EaInodeEntryHash {
                    ea: v.ino,
                    hash: v.hash,
                }));
            }
        }
        Ok(value)
    }

    /// EA inode `ino` of `owner`'s entry, loaded by `load`, after the
    /// checks `ext4_xattr_inode_iget` makes.
    fn ea_inode_of(
        &self,
        owner: &Inode,
        ino: InodeNo,
        load: impl FnOnce(InodeNo) -> Result<Inode>,
    ) -> Result<Inode> {
        let sb = self.superblock();
        let bad = |why| error::damaged(owner.ino, why);
        if !sb.has_incompat(incompat::EA_INODE) {
            return Err(bad(InodeDamage::EaInodeWithoutFeature { ea: ino }));
        }
        if ino.0 < sb.first_ino || ino.0 > sb.inodes_count || ino == owner.ino {
            return Err(bad(InodeDamage::EaInodeOutOfRange { ea: ino }));
        }
        let ea = load(ino)?;
        if !ea.has_flag(flags::EA_INODE) || ea.file_type() != mode::S_IFREG || ea.links_count == 0 {
            return Err(bad(InodeDamage::NotEaInode { ea: ino }));
        }
        Ok(ea)
    }
}

impl Transaction<'_> {
    /// A new EA inode holding `value` for `owner`'s entry `name`, as
    /// `ext4_xattr_inode_create` makes it: a regular file of mode 0600
    /// owned by the owner's uid and gid, one link, `EXT4_EA_INODE_FL` (and
    /// extents when the filesystem has them), the value's hash in i_atime
    /// and a reference count of 0 (the caller's accounting adds the entry
    /// that names it). The value is written at commit. Returns the entry's
    /// reference to it.
    pub(crate) fn create_ea_inode(
        &mut self,
        owner: &Inode,
        name: &[u8],
        value: &[u8],
    ) -> Result<ValueInode> {
        let fs = self.fs();
        let sb = fs.superblock();
        let size = u32::try_from(value.len())
            .ok()
            .filter(|&n| n as usize <= ea_inode::MAX_VALUE_SIZE)
            .ok_or(FsError::NoSpace)?;
        let ino = self.alloc_inode((owner.ino.0 - 1) / sb.inodes_per_group, false)?;
        let mut ea = Inode::new_empty(sb, ino);
        ea.mode = mode::S_IFREG | 0o600;
        ea.uid = owner.uid;
        ea.gid = owner.gid;
        ea.links_count = 1;
        let t = now();
        ea.mtime = t;
        if ea.crtime.is_some() {
            ea.crtime = Some(t);
        }
        ea.generation = crate::ext4::Generation(fastrand::u32(..));
        ea.flags = flags::EA_INODE;
        // __ext4_new_inode under the root directory: its project when it
        // passes projects on, else the default one.
        if sb.has_ro_compat(ro_compat::PROJECT) && ea.extra_isize >= 32 {
            let root = self.inode(InodeNo(2))?;
            ea.projid = Some(if root.has_flag(flags::PROJINHERIT) {
                root.projid.unwrap_or(0)
            } else {
                0
            });
        }
        if sb.has_incompat(incompat::EXTENTS) {
            ea.flags |= flags::EXTENTS;
            init_extent_root(&mut ea)?;
        }
        ea.size = size as u64;
        let bs = fs.block_size() as usize;
        let runs = self.map_write(&mut ea, 0, value.len().div_ceil(bs) as u64)?;
        for run in runs {
            for k in 0..run.len {
                let from = ((run.lblk + k) as usize * bs).min(value.len());
                let to = (from + bs).min(value.len());
                let mut block = vec![0u8; bs];
                block[..to - from].copy_from_slice(&value[from..to]);
                self.write_data_at_commit(crate::ext4::BlockNo(run.pblk.0 + k), 0, block);
            }
        }
        let hash = ea_inode::value_hash(fs.csum_seed(), value);
        ea_inode::set_stored_hash(&mut ea, hash);
        ea_inode::set_refcount(&mut ea, 0);
        self.put_new_inode(ea);
        Ok(ValueInode {
            ino,
            size,
            hash: ea_inode::entry_hash_of(name, hash),
        })
    }

    /// Moves the EA inodes' reference counts by `deltas`
    /// (`ext4_xattr_inode_update_ref`); one reaching zero is freed with its
    /// blocks. A count that would go below zero, or an inode that is no EA
    /// inode, is corruption and changes nothing.
    pub(crate) fn adjust_ea_refs(&mut self, owner: &Inode, deltas: &RefDeltas) -> Result<()> {
        let fs = self.fs();
        let mut changed = Vec::new();
        for (&ino, &d) in deltas.iter().filter(|(_, d)| **d != 0) {
            let mut ea = fs.ea_inode_of(owner, ino, |i| self.inode(i))?;
            let now = ea_inode::refcount(&ea) as i64 + d;
            if now < 0 {
                return Err(error::corrupted(CorruptKind::EaInodeRefcount {
                    ea: ino,
                    refcount: ea_inode::refcount(&ea),
                    lose: -d,
                }));
            }
            ea_inode::set_refcount(&mut ea, now as u64);
            changed.push(ea);
        }
        for mut ea in changed {
            if ea_inode::refcount(&ea) == 0 {
                fs.free_inode_and_blocks(self, &mut ea)?;
            }
            self.put_inode(ea);
        }
        Ok(())
    }
}
