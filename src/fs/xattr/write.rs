//! Setting and removing extended attributes, as the kernel's
//! fs/ext4/xattr.c does: in the inode body first, then the external
//! block; shared blocks copied on write with refcounts; ACLs converted to
//! ext4's encoding, with the mode updates and inheritance the VFS applies
//! (fs/posix_acl.c), which a FUSE server has to do itself.
//!
//! Each change is worked out on parsed copies of the two places, then
//! written whole: the in-inode area into `inode`, the block as a new
//! image. Everything that can fail (parsing, space, allocation) happens
//! before anything is recorded in the transaction or `inode`, so a failed
//! call changes nothing.
//!
//! Layout follows the kernel so that e2fsck and the kernel's lookups agree
//! with us: in-inode entries stay in insertion order with `e_hash` 0;
//! block entries are sorted by (index, name length, name) — the kernel's
//! lookup stops at the first larger entry — each with its hash and the
//! block hash over them; values are packed down from the end, existing
//! ones in their old order and a new or resized one lowest.
//!
//! With `ea_inode`, a value too large for the block goes to an EA inode
//! (see `ea_inode`); ACLs are read and written through the same places,
//! EA inodes included. Not done, unlike the kernel: identical blocks are
//! not shared between inodes (the kernel's mbcache).
//!
//! Shared blocks: an inode whose block has `h_refcount` > 1 never changes
//! it; it gets a private copy, and the shared block's refcount is lowered
//! through [`Transaction::block_mut`] although other inodes (not locked
//! here) reference it. Only the refcount and checksum change, which no
//! reader of those other inodes looks at, so readers are safe. Two
//! concurrent transactions releasing the same shared block would however
//! each write their own image and one decrement would be lost; closing that
//! needs a refcount delta applied at commit (as inode deltas are).

use crate::ext4::BlockNo;
use crate::ext4::InodeDamage;
use crate::ext4::InodeNo;
use crate::ext4::ea_inode;
use crate::ext4::inode::Inode;
use crate::ext4::superblock::{compat, incompat};
use crate::ext4::xattr::{
    self, INDEX_POSIX_ACL_ACCESS, INDEX_POSIX_ACL_DEFAULT, PlacedEntry, ValueInode, XATTR_NAME_MAX,
    XattrEntry,
};
use crate::fs::journal::transaction::Transaction;
use crate::fs::xattr::acl::{self, AclEntry};
use crate::fs::xattr::ea_inode::{RefDeltas, charged_blocks, count_refs};
use crate::fs::xattr::read::in_inode;
use crate::fs::{FsError, Result, error};

/// XATTR_CREATE / XATTR_REPLACE semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetMode {
    /// Create or replace.
    Any,
    /// Fail with EEXIST when the attribute exists.
    Create,
    /// Fail with ENODATA when it does not.
    Replace,
}

/// The attributes of one place (inode body or block) while a change is
/// worked out, with each value's layout rank (see `xattr::build_ibody`).
#[derive(Debug, Clone, Default)]
struct Place {
    entries: Vec<XattrEntry>,
    rank: Vec<u32>,
}

impl Place {
    fn parsed(placed: Vec<PlacedEntry>) -> Place {
        let rank = placed.iter().map(|p| p.value_offs as u32).collect();
        let entries = placed.into_iter().map(|p| p.entry).collect();
        Place { entries, rank }
    }

    /// The entry stored as (`index`, `name`). Every entry is compared, not
    /// just up to the sort position, so a block sorted wrongly by someone
    /// else still never gets a duplicate.
    fn find(&self, index: u8, name: &[u8]) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.index == index && e.name == name)
    }

    fn remove(&mut self, i: usize) {
        self.entries.remove(i);
        self.rank.remove(i);
    }

    /// A new value for entry `i`: kept in place when its padded size is
    /// unchanged (the kernel overwrites it there), else moved lowest.
    fn replace(&mut self, i: usize, new: &XattrEntry) {
        let e = &mut self.entries[i];
        if new.value.is_empty()
            || xattr::value_len(new.value.len()) != xattr::value_len(e.value.len())
        {
            self.rank[i] = 0;
        }
        e.value = new.value.clone();
        e.value_inode = new.value_inode;
    }

    /// Adds an entry: at the end (in-inode) or at its sorted position
    /// (block).
    fn insert(&mut self, entry: XattrEntry, sorted: bool) {
        let at = if sorted {
            self.entries
                .iter()
                .position(|e| xattr::block_order(&entry, e).is_le())
                .unwrap_or(self.entries.len())
        } else {
            self.entries.len()
        };
        self.entries.insert(at, entry);
        self.rank.insert(at, 0);
    }

    /// This place with (`index`, `name`) set to `value`, or removed.
    fn with(&self, index: u8, name: &[u8], value: Option<&[u8]>, sorted: bool) -> Place {
        let entry = value.map(|v| XattrEntry {
            index,
            name: name.to_vec(),
            value: v.to_vec(),
            value_inode: None,
        });
        self.with_entry(index, name, entry.as_ref(), sorted)
    }

    /// This place with (`index`, `name`) set to `entry` (whose value may
    /// live in an EA inode), or removed.
    fn with_entry(
        &self,
        index: u8,
        name: &[u8],
        entry: Option<&XattrEntry>,
        sorted: bool,
    ) -> Place {
        let mut p = self.clone();
        match (p.find(index, name), entry) {
            (Some(i), Some(e)) => p.replace(i, e),
            (Some(i), None) => p.remove(i),
            (None, Some(e)) => p.insert(e.clone(), sorted),
            (None, None) => {}
        }
        p
    }
}

/// An inode's external xattr block as found.
struct Loaded {
    nr: BlockNo,
    refcount: u32,
    place: Place,
}

/// Both places of an inode.
struct Attrs {
    ibody: Place,
    block: Option<Loaded>,
}

impl Attrs {
    fn get(&self, index: u8, name: &[u8]) -> Option<&XattrEntry> {
        if let Some(i) = self.ibody.find(index, name) {
            return Some(&self.ibody.entries[i]);
        }
        let b = self.block.as_ref()?;
        b.place.find(index, name).map(|i| &b.place.entries[i])
    }
}

/// The places an attribute change rewrites (`None`: left as it is).
#[derive(Default)]
struct Change {
    ibody: Option<Place>,
    block: Option<Place>,
}

/// The room of an inode's two places.
struct Fit {
    ibody_len: usize,
    bs: usize,
    /// The filesystem has ea_inode (values may go to EA inodes).
    ea_on: bool,
}

impl Fit {
    fn ibody(&self, p: &Place) -> Option<Vec<u8>> {
        xattr::build_ibody(&p.entries, &p.rank, self.ibody_len)
    }

    fn block_fits(&self, p: &Place) -> bool {
        xattr::build_block(&p.entries, &p.rank, 1, self.bs).is_some()
    }

    /// Where `entry` goes (`ext4_xattr_ibody_set`, then
    /// `ext4_xattr_block_set`): the inode body when it fits there, any copy
    /// in the block then removed; else the block, any copy in the inode
    /// body removed. `None` when it fits neither.
    fn plan(&self, attrs: &Attrs, entry: &XattrEntry) -> Option<Change> {
        let (index, name) = (entry.index, entry.name.as_slice());
        let in_block = attrs
            .block
            .as_ref()
            .filter(|b| b.place.find(index, name).is_some());
        let ibody = attrs.ibody.with_entry(index, name, Some(entry), false);
        if self.ibody(&ibody).is_some() {
            return Some(Change {
                ibody: Some(ibody),
                block: in_block.map(|b| b.place.with(index, name, None, true)),
            });
        }
        let base = attrs
            .block
            .as_ref()
            .map(|b| b.place.clone())
            .unwrap_or_default();
        let block = base.with_entry(index, name, Some(entry), true);
        if !self.block_fits(&block) {
            return None;
        }
        // ext4_xattr_set_entry: with ea_inode, a value kept in the block
        // may not reach the reserve at its start.
        let values: usize = block
            .entries
            .iter()
            .filter(|e| e.value_inode.is_none())
            .map(|e| xattr::value_len(e.value.len()))
            .sum();
        if self.ea_on
            && !entry.value.is_empty()
            && self.bs.saturating_sub(values) < ea_inode::block_reserve(self.bs)
        {
            return None;
        }
        let ibody = attrs
            .ibody
            .find(index, name)
            .map(|_| attrs.ibody.with(index, name, None, false));
        Some(Change {
            ibody,
            block: Some(block),
        })
    }
}

impl Transaction<'_> {
    /// Sets attribute `name` (full name with its namespace prefix, as the
    /// VFS passes it) of the locked `inode`; updates `inode` (caller puts
    /// it and sets ctime).
    ///
    /// Errors as the kernel's: EOPNOTSUPP for a namespace ext4 does not
    /// store (including `system.data`), ERANGE for a name suffix over 255
    /// bytes, EEXIST/ENODATA for [`SetMode::Create`]/[`SetMode::Replace`],
    /// ENOSPC when the value fits neither in the inode nor in a block.
    /// Setting a value equal to the stored one changes nothing (the kernel
    /// then leaves ctime alone too).
    ///
    /// `system.posix_acl_access` / `_default` take the VFS encoding and
    /// behave as the kernel's `ext4_set_acl` behind the VFS: the ACL is
    /// validated (EINVAL), `how` is ignored (the VFS never passes ACL
    /// flags down), an access ACL updates the mode's permission bits
    /// (`posix_acl_update_mode`) and is not stored when the mode says it
    /// all, an empty ACL removes, and a default ACL on a non-directory is
    /// EACCES. Clearing S_ISGID for a caller outside the group
    /// (FUSE_SETXATTR_ACL_KILL_SGID) needs the caller's credentials and is
    /// left to the adapter.
    pub fn set_xattr(
        &mut self,
        inode: &mut Inode,
        name: &[u8],
        value: &[u8],
        how: SetMode,
    ) -> Result<()> {
        let (index, suffix) = split(name)?;
        match index {
            INDEX_POSIX_ACL_ACCESS | INDEX_POSIX_ACL_DEFAULT => {
                let acl = acl::parse_vfs(value)?;
                if let Some(acl) = &acl {
                    acl::validate(acl)?;
                }
                self.set_acl(inode, index, acl.as_deref())
            }
            _ => self.set_stored(inode, index, suffix, Some(value), how),
        }
    }

    /// Removes attribute `name` (NoAttr when absent). Removing an absent
    /// POSIX ACL succeeds, as on the kernel (it sets "no ACL").
    pub fn remove_xattr(&mut self, inode: &mut Inode, name: &[u8]) -> Result<()> {
        let (index, suffix) = split(name)?;
        match index {
            INDEX_POSIX_ACL_ACCESS | INDEX_POSIX_ACL_DEFAULT => self.set_acl(inode, index, None),
            _ => self.set_stored(inode, index, suffix, None, SetMode::Replace),
        }
    }

    /// After a chmod with ACLs on: the stored access ACL follows the new
    /// mode (`posix_acl_chmod`); nothing to do without one.
    pub(crate) fn acl_chmod(&mut self, inode: &mut Inode) -> Result<()> {
        let Some(mut a) = self.stored_acl(inode, INDEX_POSIX_ACL_ACCESS)? else {
            return Ok(());
        };
        acl::chmod_masq(&mut a, inode.mode)?;
        let disk = acl::to_disk(&a)?;
        self.set_stored(
            inode,
            INDEX_POSIX_ACL_ACCESS,
            b"",
            Some(&disk),
            SetMode::Any,
        )
    }

    /// Drops an inline-data inode's `system.data` attribute (the data is
    /// moving into blocks); absent is fine.
    pub(crate) fn remove_inline_data_xattr(&mut self, inode: &mut Inode) -> Result<()> {
        self.set_stored(
            inode,
            crate::ext4::xattr::INDEX_SYSTEM,
            b"data",
            None,
            SetMode::Any,
        )
    }

    /// Sets an inline-data inode's `system.data` value in the inode body
    /// (created last when absent, as `ext4_create_inline_data`); it never
    /// goes to the block: ENOSPC if the body cannot hold it (callers
    /// check the room first).
    pub(crate) fn set_inline_data_xattr(&mut self, inode: &mut Inode, value: &[u8]) -> Result<()> {
        let placed =
            xattr::parse_ibody_placed(&inode.ibody_xattrs).map_err(|e| in_inode(inode, e))?;
        let place = Place::parsed(placed).with(xattr::INDEX_SYSTEM, b"data", Some(value), false);
        inode.ibody_xattrs =
            xattr::build_ibody(&place.entries, &place.rank, inode.ibody_xattrs.len())
                .ok_or(FsError::NoSpace)?;
        Ok(())
    }

    /// [`Fs::ea_refs_of`] as this transaction sees `inode`.
    pub(crate) fn ea_refs_of(&self, inode: &Inode) -> Result<i64> {
        if !self.fs().superblock().has_incompat(incompat::EA_INODE) {
            return Ok(0);
        }
        let a = self.attrs(inode)?;
        let block = a.block.as_ref().map_or(&[][..], |b| &b.place.entries[..]);
        Ok(a.ibody
            .entries
            .iter()
            .chain(block)
            .filter(|e| e.value_inode.is_some())
            .count() as i64)
    }

    /// Gives up the EA inode references of the inode's attributes: its
    /// body's entries, and its block's when the block goes with it (the
    /// last user). The inode is being freed, so its own charge for them
    /// goes with its i_blocks.
    pub(crate) fn drop_ea_refs(&mut self, inode: &Inode) -> Result<()> {
        // An EA inode holds no references of its own (the kernel gives it
        // no attributes): a damaged one naming others must not start a
        // chain, or a cycle, of frees.
        if !self.fs().superblock().has_incompat(incompat::EA_INODE)
            || inode.has_flag(crate::ext4::inode::flags::EA_INODE)
        {
            return Ok(());
        }
        let attrs = self.attrs(inode)?;
        let mut refs = RefDeltas::new();
        count_refs(&mut refs, &attrs.ibody.entries, -1);
        if let Some(b) = attrs.block.as_ref().filter(|b| b.refcount == 1) {
            count_refs(&mut refs, &b.place.entries, -1);
        }
        self.adjust_ea_refs(inode, &refs)
    }

    /// Releases the inode's external xattr block (refcount, freeing it at
    /// zero): the inode is being freed. Clears `file_acl` and takes the
    /// block out of `i_blocks`.
    pub fn drop_xattr_block(&mut self, inode: &mut Inode) -> Result<()> {
        if let Some(block) = self.load_block(inode)? {
            self.release_block(inode, &block)?;
            inode.file_acl = 0;
        }
        Ok(())
    }

    /// Applies POSIX ACL inheritance to the new `child` of `dir`
    /// (posix_acl_create): with a default ACL on `dir`, the child's mode is
    /// masked by it and it gets an access ACL (directories also inherit
    /// the default ACL); without one the umask applies.
    ///
    /// Symlinks are left alone (no ACL, no umask), as by the kernel. As in
    /// `ext4_init_acl`, the default ACL is stored before the access ACL.
    pub fn init_acl(&mut self, dir: &Inode, child: &mut Inode, umask: u32) -> Result<()> {
        if child.is_symlink() {
            return Ok(());
        }
        let Some(default) = self.stored_acl(dir, INDEX_POSIX_ACL_DEFAULT)? else {
            child.mode &= !(umask as u16 & 0o777);
            return Ok(());
        };
        let mut access = default.clone();
        let (mode, store_access) = acl::create_masq(&mut access, child.mode)?;
        let mut new = child.clone();
        new.mode = mode;
        if new.is_dir() {
            let disk = acl::to_disk(&default)?;
            self.set_stored(
                &mut new,
                INDEX_POSIX_ACL_DEFAULT,
                b"",
                Some(&disk),
                SetMode::Create,
            )?;
        }
        if store_access {
            let disk = acl::to_disk(&access)?;
            self.set_stored(
                &mut new,
                INDEX_POSIX_ACL_ACCESS,
                b"",
                Some(&disk),
                SetMode::Create,
            )?;
        }
        *child = new;
        Ok(())
    }

    /// The ACL `inode` stores under `index` (`ext4_get_acl`), wherever
    /// the xattr code put it: the inode body, the block, or an EA inode
    /// (a large ACL under `ea_inode`).
    fn stored_acl(&self, inode: &Inode, index: u8) -> Result<Option<Vec<AclEntry>>> {
        let attrs = self.attrs(inode)?;
        let Some(e) = attrs.get(index, b"") else {
            return Ok(None);
        };
        let value = match &e.value_inode {
            // The EA inode's value never changes once written (a new value
            // gets a new EA inode), so the committed copy is the one.
            Some(v) => self.fs().ea_inode_value(inode, e, v)?,
            None => e.value.clone(),
        };
        acl::from_disk(&value).map_err(|e| match e {
            FsError::Format(f) => in_inode(inode, f),
            other => other,
        })
    }

    /// `ext4_set_acl` after the VFS: `acl` `None` removes.
    fn set_acl(&mut self, inode: &mut Inode, index: u8, acl: Option<&[AclEntry]>) -> Result<()> {
        let mut new = inode.clone();
        let mut acl = acl;
        if index == INDEX_POSIX_ACL_DEFAULT && !inode.is_dir() {
            return if acl.is_some() {
                Err(FsError::Access)
            } else {
                Ok(())
            };
        }
        if index == INDEX_POSIX_ACL_ACCESS
            && let Some(a) = acl
        {
            let (mode, not_equiv) = acl::equiv_mode(a, inode.mode)?;
            new.mode = mode;
            if !not_equiv {
                acl = None;
            }
        }
        let disk = acl.map(acl::to_disk).transpose()?;
        // Flags 0, as ext4_set_acl passes them: removing a missing ACL is
        // not an error.
        self.set_stored(&mut new, index, b"", disk.as_deref(), SetMode::Any)?;
        *inode = new;
        Ok(())
    }

    /// `ext4_xattr_set_handle`: sets (`Some`) or removes (`None`) the
    /// stored attribute (`index`, `name`).
    fn set_stored(
        &mut self,
        inode: &mut Inode,
        index: u8,
        name: &[u8],
        value: Option<&[u8]>,
        how: SetMode,
    ) -> Result<()> {
        if name.len() > XATTR_NAME_MAX {
            return Err(FsError::Range);
        }
        let attrs = self.attrs(inode)?;
        let in_ibody = attrs.ibody.find(index, name);
        let in_block = attrs
            .block
            .as_ref()
            .and_then(|b| b.place.find(index, name).map(|i| (b, i)));
        if in_ibody.is_none() && in_block.is_none() {
            if how == SetMode::Replace {
                return Err(FsError::NoAttr);
            }
            if value.is_none() {
                return Ok(());
            }
        } else if how == SetMode::Create {
            return Err(FsError::Exists);
        }
        // A value in an EA inode is never compared (ext4_xattr_value_same):
        // setting it again makes a new one.
        let same = |v: &XattrEntry| v.value_inode.is_none() && Some(v.value.as_slice()) == value;
        if in_ibody.is_some_and(|i| same(&attrs.ibody.entries[i]))
            || in_block.is_some_and(|(b, i)| same(&b.place.entries[i]))
        {
            return Ok(());
        }

        let fs = self.fs();
        let bs = fs.block_size() as usize;
        let ibody_len = inode.ibody_xattrs.len();
        let ea_on = fs.superblock().has_incompat(incompat::EA_INODE);
        let fits = Fit {
            ibody_len,
            bs,
            ea_on,
        };
        let change = match value {
            None => {
                if in_ibody.is_some() {
                    Change {
                        ibody: Some(attrs.ibody.with(index, name, None, false)),
                        block: None,
                    }
                } else if let Some(bp) = attrs.block.as_ref().map(|b| &b.place) {
                    Change {
                        ibody: None,
                        block: Some(bp.with(index, name, None, true)),
                    }
                } else {
                    Change::default()
                }
            }
            Some(v) => {
                let entry = |value_inode: Option<ValueInode>| XattrEntry {
                    index,
                    name: name.to_vec(),
                    value: if value_inode.is_some() {
                        Vec::new()
                    } else {
                        v.to_vec()
                    },
                    value_inode,
                };
                // ext4_xattr_set_handle: with ea_inode, a value too large
                // for a block goes to an EA inode at once; a smaller one
                // only when it fits neither the inode body nor the block.
                let large = ea_on && xattr::value_len(v.len()) > ea_inode::min_large_value(bs);
                let plain = if large {
                    None
                } else {
                    fits.plan(&attrs, &entry(None))
                };
                match plain {
                    Some(c) => c,
                    None if ea_on => {
                        // Where the entry goes depends only on its name, so
                        // the place is known before the EA inode exists.
                        let probe = entry(Some(ValueInode {
                            ino: InodeNo(0),
                            size: 0,
                            hash: 0,
                        }));
                        fits.plan(&attrs, &probe).ok_or(FsError::NoSpace)?;
                        let vi = self.create_ea_inode(inode, name, v)?;
                        fits.plan(&attrs, &entry(Some(vi)))
                            .ok_or(FsError::NoSpace)?
                    }
                    None => return Err(FsError::NoSpace),
                }
            }
        };

        let mut new = inode.clone();
        let mut refs = RefDeltas::new();
        let mut charge = 0;
        let old_block = attrs.block.as_ref();
        if let Some(p) = &change.ibody {
            new.ibody_xattrs = fits.ibody(p).ok_or(FsError::NoSpace)?;
            count_refs(&mut refs, &attrs.ibody.entries, -1);
            count_refs(&mut refs, &p.entries, 1);
            charge += charged_blocks(fs, &p.entries) - charged_blocks(fs, &attrs.ibody.entries);
        }
        if let Some(p) = &change.block {
            self.store_xattr_block(&mut new, old_block, p)?;
            // The block's entries are its own references: a private block
            // changed or freed gives up its old ones; a shared block keeps
            // them, and the private copy that replaces it takes new ones
            // (ext4_xattr_inode_inc_ref_all).
            if let Some(old) = old_block.filter(|b| b.refcount == 1) {
                count_refs(&mut refs, &old.place.entries, -1);
            }
            count_refs(&mut refs, &p.entries, 1);
            let before = old_block.map_or(0, |b| charged_blocks(fs, &b.place.entries));
            charge += charged_blocks(fs, &p.entries) - before;
        }
        self.charge_blocks(&mut new, charge);
        self.adjust_ea_refs(inode, &refs)?;
        // ext4_xattr_update_super_block: the first attribute sets the
        // ext_attr feature.
        if !self.fs().live_superblock().has_compat(compat::EXT_ATTR) {
            self.edit_superblock(|sb| sb.feature_compat |= compat::EXT_ATTR);
        }
        *inode = new;
        Ok(())
    }

    /// Both places of `inode`'s attributes as this transaction sees them.
    fn attrs(&self, inode: &Inode) -> Result<Attrs> {
        let ibody =
            xattr::parse_ibody_placed(&inode.ibody_xattrs).map_err(|e| in_inode(inode, e))?;
        Ok(Attrs {
            ibody: Place::parsed(ibody),
            block: self.load_block(inode)?,
        })
    }

    /// The inode's xattr block, checked as the kernel's
    /// `ext4_xattr_check_block` does (range, checksum, header, entries).
    fn load_block(&self, inode: &Inode) -> Result<Option<Loaded>> {
        if inode.file_acl == 0 {
            return Ok(None);
        }
        let nr = BlockNo(inode.file_acl);
        let block = self.fs().xattr_block(inode, |b| self.read_block(b))?;
        let (header, placed) = xattr::parse_block_placed(&block).map_err(|e| in_inode(inode, e))?;
        if header.refcount == 0 {
            return Err(error::damaged(
                inode.ino,
                InodeDamage::XattrBlockUnreferenced { block: nr.0 },
            ));
        }
        Ok(Some(Loaded {
            nr,
            refcount: header.refcount,
            place: Place::parsed(placed),
        }))
    }

    /// `ext4_xattr_block_set` once the new contents are known: a private
    /// block changes in place (freed when emptied); a shared one is left to
    /// its other users and replaced by a new private copy. The block image
    /// is built and the new block allocated before anything is recorded.
    fn store_xattr_block(
        &mut self,
        inode: &mut Inode,
        old: Option<&Loaded>,
        new: &Place,
    ) -> Result<()> {
        let fs = self.fs();
        let image = if new.entries.is_empty() {
            None
        } else {
            let bs = fs.block_size() as usize;
            Some(xattr::build_block(&new.entries, &new.rank, 1, bs).ok_or(FsError::NoSpace)?)
        };
        let csum = fs.superblock().metadata_csum();
        match (old, image) {
            (Some(old), Some(mut image)) if old.refcount == 1 => {
                if csum {
                    xattr::set_block_checksum(fs.csum_seed(), old.nr.0, &mut image);
                }
                self.block_mut(old.nr)?.copy_from_slice(&image);
            }
            (old, Some(mut image)) => {
                let sb = fs.superblock();
                let group = (inode.ino.0.saturating_sub(1)) / sb.inodes_per_group;
                let (nr, _) = self.alloc_blocks(sb.group_first_block(group), 1)?;
                if csum {
                    xattr::set_block_checksum(fs.csum_seed(), nr.0, &mut image);
                }
                self.block_new(nr).copy_from_slice(&image);
                self.charge_clusters(inode, 1);
                inode.file_acl = nr.0;
                if let Some(old) = old {
                    self.release_block(inode, old)?;
                }
            }
            (Some(old), None) => {
                self.release_block(inode, old)?;
                inode.file_acl = 0;
            }
            (None, None) => {}
        }
        Ok(())
    }

    /// `ext4_xattr_release_block`: one user fewer. The last one frees the
    /// block; otherwise the refcount drops (see the module comment on
    /// shared blocks). Either way the inode stops paying for it.
    fn release_block(&mut self, inode: &mut Inode, old: &Loaded) -> Result<()> {
        if old.refcount == 1 {
            self.free_blocks(old.nr, 1)?;
        } else {
            let fs = self.fs();
            let (seed, csum) = (fs.csum_seed(), fs.superblock().metadata_csum());
            let block = self.block_mut(old.nr)?;
            xattr::set_block_refcount(block, old.refcount - 1);
            if csum {
                xattr::set_block_checksum(seed, old.nr.0, block);
            }
        }
        self.charge_clusters(inode, -1);
        Ok(())
    }
}

/// The stored (index, suffix) of a VFS name: EOPNOTSUPP for namespaces
/// ext4 does not serve, ERANGE for a suffix that cannot be stored.
fn split(name: &[u8]) -> Result<(u8, &[u8])> {
    let (index, suffix) = xattr::split_vfs_name(name).ok_or(FsError::Unsupported)?;
    if suffix.len() > XATTR_NAME_MAX {
        return Err(FsError::Range);
    }
    Ok((index, suffix))
}
