//! Name lookup in a directory: through the htree index when the directory
//! has one, linearly otherwise (and when the index is damaged, as the
//! kernel falls back).

use crate::ext4::InodeDamage;
use crate::ext4::hash::{HashVersion, dx_hash};
use crate::ext4::htree::{self, DxNode};
use crate::ext4::inode::{Inode, flags};
use crate::ext4::{ChecksumOf, FormatError, InodeNo};
use crate::fs::dir::casefold::{EntryMatch, NameKey};
use crate::fs::extent::map::Backing;
use crate::fs::{Fs, FsError, Result, error};

/// Longest name a directory entry holds.
pub const NAME_MAX: usize = 255;

/// The inode a name refers to, with the entry's file type code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub ino: InodeNo,
    pub file_type: u8,
}

impl Fs {
    /// Looks `name` up in directory `dir` ("." and ".." included).
    pub fn lookup(&self, dir: &Inode, name: &[u8]) -> Result<Found> {
        if !dir.is_dir() {
            return Err(FsError::NotDir);
        }
        if name.len() > NAME_MAX {
            return Err(FsError::NameTooLong);
        }
        let dir_ft = crate::ext4::dir::ft::DIR;
        match name {
            b"." => {
                return Ok(Found {
                    ino: dir.ino,
                    file_type: dir_ft,
                });
            }
            b".." => {
                let parent = self.parent_of(dir)?;
                self.check_entry_target(dir, parent.0, name)?;
                return Ok(Found {
                    ino: parent,
                    file_type: dir_ft,
                });
            }
            _ => {}
        }
        let key = NameKey::new(self, dir, name);
        let hit = if dir.has_flag(flags::ENCRYPT) {
            // Names shown without the key (src/fs/crypt.rs).
            self.lookup_nokey(dir, name)?
        } else if self.is_dx(dir) {
            let seed = self.superblock().hash_seed;
            let hash = |v| dx_hash(key.hash_input(), v, &seed).0;
            match self.lookup_dx(dir, hash, &key) {
                // The kernel's fallback for casefolded directories: a
                // miss through the index is searched for linearly.
                Ok(None) if key.casefolded() => self.lookup_linear(dir, &key)?,
                Ok(hit) => hit,
                Err(DxError::Bad(why)) => {
                    tracing::warn!(
                        "{}: htree index unusable ({why}); searching linearly",
                        dir.ino
                    );
                    self.lookup_linear(dir, &key)?
                }
                Err(DxError::Fs(e)) => return Err(e),
            }
        } else {
            self.lookup_linear(dir, &key)?
        };
        let (ino, file_type) = hit.ok_or(FsError::NotFound)?;
        self.check_entry_target(dir, ino, name)?;
        Ok(Found {
            ino: InodeNo(ino),
            file_type,
        })
    }

    /// Checks an inode number found in an entry of `dir`, as the kernel's
    /// ext4_lookup does: a reserved inode, or the directory itself under a
    /// name other than "." (or ".." of the root), is damage.
    pub fn check_entry_target(&self, dir: &Inode, ino: u32, name: &[u8]) -> Result<()> {
        if !self.valid_entry_inode(ino) {
            return Err(error::damaged(
                dir.ino,
                InodeDamage::ReservedEntry { target: ino },
            ));
        }
        let self_ok = name == b"." || (name == b".." && dir.ino == InodeNo::ROOT);
        if ino == dir.ino.0 && !self_ok {
            return Err(error::damaged(dir.ino, InodeDamage::SelfLink));
        }
        Ok(())
    }

    /// Loads the inode an entry names: a freed inode or an uninitialised
    /// table slot behind a live name is damage, not staleness.
    pub fn entry_inode(&self, ino: InodeNo) -> Result<Inode> {
        if !self.slot_initialised(ino) {
            return Err(error::damaged(ino, InodeDamage::UninitialisedSlot));
        }
        let inode = self.inode(ino)?;
        if inode.is_unused() {
            return Err(error::damaged(ino, InodeDamage::Deleted));
        }
        // ext4_iget without EXT4_IGET_EA_INODE: an xattr value inode is
        // reached only through its entries, never by a name.
        if inode.has_flag(crate::ext4::inode::flags::EA_INODE) {
            return Err(error::damaged(ino, InodeDamage::EaInodeByName));
        }
        Ok(inode)
    }

    /// Reads an index block of `dir` by logical number.
    fn dx_raw_block(
        &self,
        dir: &Inode,
        lblk: u32,
    ) -> std::result::Result<crate::fs::io::cache::Block, DxError> {
        let nblocks = dir.size.div_ceil(self.block_size() as u64);
        if lblk as u64 >= nblocks {
            return Err(DxError::Bad(format!(
                "index points at block {lblk} past the end"
            )));
        }
        match self.map_block(dir, lblk as u64)?.backing {
            Backing::Data(p) => Ok(self.block(p)?),
            _ => Err(DxError::Bad(format!("index points at hole {lblk}"))),
        }
    }

    fn read_dx_node(&self, dir: &Inode, lblk: u32) -> std::result::Result<DxNode, DxError> {
        let block = self.dx_raw_block(dir, lblk)?;
        let csum = self.superblock().metadata_csum();
        let node = htree::parse_node(&block, csum, dir.ino, lblk as u64)
            .map_err(|e| DxError::Bad(e.to_string()))?;
        if csum && !node.verify_checksum(self.csum_seed(), dir.ino, dir.generation, &block) {
            let at = crate::ext4::DxAt::Node {
                dir: dir.ino,
                lblk: lblk as u64,
            };
            return Err(DxError::Fs(
                FormatError::BadChecksum {
                    what: ChecksumOf::Dx(at),
                }
                .into(),
            ));
        }
        Ok(node)
    }

    /// Searches the htree of `dir` for the entry `matches` accepts, going
    /// down by the hash `hash` gives for the index's hash version.
    pub(crate) fn lookup_dx(
        &self,
        dir: &Inode,
        hash: impl FnOnce(HashVersion) -> u32,
        matches: &impl EntryMatch,
    ) -> std::result::Result<Option<(u32, u8)>, DxError> {
        let flags = self.superblock().flags;
        let probe = |raw: u8| {
            HashVersion::effective(raw, flags)
                .map(hash)
                .ok_or_else(|| DxError::Bad(format!("hash version {raw}")))
        };
        self.lookup_dx_probe(dir, probe, matches)
    }

    /// [`lookup_dx`](Self::lookup_dx) going down by the hash `probe`
    /// gives for the index root's raw hash version (it may refuse it).
    pub(crate) fn lookup_dx_probe(
        &self,
        dir: &Inode,
        probe: impl FnOnce(u8) -> std::result::Result<u32, DxError>,
        matches: &impl EntryMatch,
    ) -> std::result::Result<Option<(u32, u8)>, DxError> {
        let sb = self.superblock();
        let csum = sb.metadata_csum();
        let root_block = self.dx_raw_block(dir, 0)?;
        let (info, root) = htree::parse_root(&root_block, csum, dir.ino)
            .map_err(|e| DxError::Bad(e.to_string()))?;
        if csum && !root.verify_checksum(self.csum_seed(), dir.ino, dir.generation, &root_block) {
            let at = crate::ext4::DxAt::Root { dir: dir.ino };
            return Err(DxError::Fs(
                FormatError::BadChecksum {
                    what: ChecksumOf::Dx(at),
                }
                .into(),
            ));
        }
        let max_levels = if self.has_largedir() { 3 } else { 2 };
        if info.indirect_levels >= max_levels {
            return Err(DxError::Bad(format!(
                "{} index levels",
                info.indirect_levels
            )));
        }
        let hash = probe(info.hash_version)?;

        // The path from the root to the current leaf: (node, chosen entry).
        let mut frames: Vec<(DxNode, usize)> = Vec::new();
        let mut node = root;
        loop {
            let i = node.find(hash);
            let child = node.entries[i].block;
            frames.push((node, i));
            if frames.len() > info.indirect_levels as usize {
                break;
            }
            node = self.read_dx_node(dir, child)?;
        }
        loop {
            let (bottom, i) = frames.last().unwrap();
            let leaf = bottom.entries[*i].block;
            if let Some(hit) = self.search_leaf(dir, leaf, matches)? {
                return Ok(Some(hit));
            }
            // Names with the same hash may continue in the next leaf.
            let Some(level) = frames.iter().rposition(|(n, i)| i + 1 < n.entries.len()) else {
                return Ok(None);
            };
            let next_hash = frames[level].0.entries[frames[level].1 + 1].hash;
            if next_hash & !1 != hash {
                return Ok(None);
            }
            frames.truncate(level + 1);
            frames[level].1 += 1;
            while frames.len() <= info.indirect_levels as usize {
                let (n, i) = frames.last().unwrap();
                let child = self.read_dx_node(dir, n.entries[*i].block)?;
                frames.push((child, 0));
            }
        }
    }

    fn search_leaf(
        &self,
        dir: &Inode,
        lblk: u32,
        matches: &impl EntryMatch,
    ) -> std::result::Result<Option<(u32, u8)>, DxError> {
        let nblocks = dir.size.div_ceil(self.block_size() as u64);
        if lblk as u64 >= nblocks {
            return Err(DxError::Bad(format!("leaf {lblk} past the end")));
        }
        let Some(block) = self.dir_block(dir, lblk as u64)? else {
            return Err(DxError::Bad(format!("leaf {lblk} is a hole")));
        };
        Ok(self.search_leaf_block(dir, lblk as u64, &block, matches)?)
    }
}

/// Why an htree lookup did not finish.
pub(crate) enum DxError {
    /// The index is unusable: fall back to a linear search.
    Bad(String),
    /// A real error for the caller (checksum, I/O).
    Fs(FsError),
}

impl From<FsError> for DxError {
    fn from(e: FsError) -> Self {
        DxError::Fs(e)
    }
}
