//! Loading inodes by number, and checking that a node still names the
//! inode it was handed out for.

use super::io::verified::{self, Kind, Owner};
use super::journal::transaction::Transaction;
use super::{Fs, FsError, Result, error};
use crate::ext4::InodeDamage;
use crate::ext4::inode::{Inode, links_and_generation};
use crate::ext4::{Generation, InodeNo};

/// Inode-table blocks read ahead on a miss: ext4's default
/// inode_readahead_blks (fs/ext4/super.c, EXT4_DEF_INODE_READAHEAD_BLKS).
const INODE_READAHEAD_BLOCKS: u64 = 32;

/// The inode a change is meant for: its number and, when the caller knows
/// it (a FUSE node id carries it), the generation it had when it was
/// looked up. Without the generation a change applies to whatever live
/// inode holds the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InodeRef {
    pub ino: InodeNo,
    pub generation: Option<Generation>,
}

impl From<InodeNo> for InodeRef {
    fn from(ino: InodeNo) -> Self {
        InodeRef {
            ino,
            generation: None,
        }
    }
}

/// A node the kernel holds, as a recovering server finds it
/// ([`Fs::survey_held`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldNode {
    pub ino: InodeNo,
    pub generation: Option<Generation>,
    pub state: HeldState,
}

/// See [`HeldNode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeldState {
    /// Freed, or freed and reused, while no server ran.
    Stale,
    /// Alive: a directory or not; its atime may have been shown newer than
    /// the disk's by the dead server.
    Live { dir: bool, atime_pending: bool },
}

impl Fs {
    /// Reads and checks inode `ino`. Checksum or structural damage is an
    /// error naming the inode.
    pub fn inode(&self, ino: InodeNo) -> Result<Inode> {
        #[cfg(test)]
        tests::INODE_READS.with(|n| n.set(n.get() + 1));
        let sb = self.superblock();
        if ino.0 == 0 || ino.0 > sb.inodes_count {
            return Err(error::damaged(ino, InodeDamage::OutOfRange));
        }
        let index = ino.0 - 1;
        let group = index / sb.inodes_per_group;
        if self.bad_groups[group as usize] {
            return Err(error::damaged(ino, InodeDamage::GroupDamaged { group }));
        }
        let (blk, within) = self.inode_location(ino)?;
        let block = self.block_hinted(blk, || self.inode_table_readahead(ino, blk))?;
        let isz = sb.inode_size as usize;
        let raw = &block[within..within + isz];
        // An inode is read several times per operation (LOOKUP, CREATE,
        // WRITE each load the directory and the file): its checksum is
        // verified once per cached copy of its table block.
        let owner = Owner {
            seed: self.csum_seed(),
            ino,
            generation: Generation(0),
        };
        if verified::remembered(Kind::Inode, owner, &block) {
            return Ok(Inode::parse_unverified(sb, ino, raw)?);
        }
        let inode = Inode::parse(sb, ino, raw)?;
        verified::remember(Kind::Inode, owner, &block);
        Ok(inode)
    }

    /// On a miss in the inode table, asks the host for the aligned window
    /// of [`INODE_READAHEAD_BLOCKS`] table blocks around `blk`, as ext4's
    /// inode_readahead_blks does: a cold walk over a directory's files
    /// (stat, unlink, recovery's revalidation) then reads the table in a
    /// few large requests instead of one per block. The window stops at
    /// the first block with no initialised slot (bg_itable_unused).
    fn inode_table_readahead(&self, ino: InodeNo, blk: crate::ext4::BlockNo) {
        let sb = self.superblock();
        let index = ino.0 - 1;
        let gd = self.groups.read()[(index / sb.inodes_per_group) as usize];
        let bs = sb.block_size() as u64;
        let per_block = (bs / sb.inode_size as u64).max(1);
        let table_blocks = sb.inode_table_blocks();
        let Some(k) = blk.0.checked_sub(gd.inode_table.0) else {
            return;
        };
        let start = k - k % INODE_READAHEAD_BLOCKS;
        let mut end = start;
        while end < (start + INODE_READAHEAD_BLOCKS).min(table_blocks)
            && gd.inode_slot_initialised(sb, (end * per_block) as u32)
        {
            end += 1;
        }
        if end > start + 1 {
            self.image
                .will_need((gd.inode_table.0 + start) * bs, (end - start) * bs);
        }
    }

    /// The inode-table block holding `ino` and the byte offset within it.
    pub(crate) fn inode_location(&self, ino: InodeNo) -> Result<(crate::ext4::BlockNo, usize)> {
        let sb = self.superblock();
        let index = ino.0 - 1;
        let gd = self.groups.read()[(index / sb.inodes_per_group) as usize];
        let byte = (index % sb.inodes_per_group) as u64 * sb.inode_size as u64;
        let bs = sb.block_size() as u64;
        Ok((
            crate::ext4::BlockNo(gd.inode_table.0 + byte / bs),
            (byte % bs) as usize,
        ))
    }

    /// Whether inode slot `ino` may hold a live inode at all (its group's
    /// table is initialised there).
    pub(crate) fn slot_initialised(&self, ino: InodeNo) -> bool {
        let sb = self.superblock();
        let index = ino.0 - 1;
        let gd = self.groups.read()[(index / sb.inodes_per_group) as usize];
        gd.inode_slot_initialised(sb, index % sb.inodes_per_group)
    }

    /// Whether `ino` names a slot that can hold a node: the root or an
    /// ordinary inode number, in an initialised part of its group's table.
    pub(crate) fn node_slot(&self, ino: InodeNo) -> bool {
        self.valid_entry_inode(ino.0) && self.slot_initialised(ino)
    }

    /// What a recovering server must tell the kernel about each node it
    /// holds (see `recovery::revalidate`): whether it is stale (freed, or
    /// freed and reused, while no server ran), a directory (its cached
    /// listing may be out of date), or a node whose atime the dead server
    /// may have shown but not written (an update held in memory dies with
    /// the process). A held update exists only where a read would set
    /// atime, and any later change of the inode wrote it, so the on-disk
    /// inode of such a node still says a read would set it: those are the
    /// nodes whose cached atime may be newer than the disk's. A node whose
    /// inode cannot be read is left out (its next use finds the damage).
    pub fn survey_held(&self, nodes: &[(InodeNo, Option<Generation>)]) -> Vec<HeldNode> {
        let mut sorted: Vec<_> = nodes.to_vec();
        sorted.sort_unstable_by_key(|(ino, _)| ino.0);
        let sb = self.superblock();
        let isz = sb.inode_size as usize;
        let mut out = Vec::with_capacity(sorted.len());
        let mut cur: Option<(crate::ext4::BlockNo, super::io::cache::Block)> = None;
        for (ino, generation) in sorted {
            let state = (|| {
                if !self.node_slot(ino) {
                    return Some(HeldState::Stale);
                }
                let (blk, off) = self.inode_location(ino).ok()?;
                if cur.as_ref().is_none_or(|(b, _)| *b != blk) {
                    let block = self.block_hinted(blk, || self.inode_table_readahead(ino, blk));
                    cur = Some((blk, block.ok()?));
                }
                let raw = &cur.as_ref()?.1[off..];
                let (links, on_disk) = links_and_generation(raw);
                if !((links != 0 || self.is_open(ino)) && generation.is_none_or(|g| g == on_disk)) {
                    return Some(HeldState::Stale);
                }
                // Unverified: a checksum failure is found on the node's next use.
                let inode = Inode::parse_unverified(sb, ino, raw.get(..isz)?).ok()?;
                Some(HeldState::Live {
                    dir: inode.is_dir(),
                    atime_pending: self.access_sets_atime(&inode),
                })
            })();
            if let Some(state) = state {
                out.push(HeldNode {
                    ino,
                    generation,
                    state,
                });
            }
        }
        out
    }

    /// Loads the inode a node refers to. `generation` None skips the
    /// generation check (the root). A freed inode, an uninitialised slot or
    /// a different generation is [`FsError::Stale`].
    pub fn live_inode(&self, ino: InodeNo, generation: Option<Generation>) -> Result<Inode> {
        if !self.node_slot(ino) {
            return Err(FsError::Stale);
        }
        let inode = self.inode(ino)?;
        self.check_live(&inode, generation)?;
        Ok(inode)
    }

    /// Stale unless `inode` is live (it has links, or is open: unlinked
    /// and O_TMPFILE files) and of `generation` (if given). An xattr
    /// value inode (EA_INODE_FL) is never a node: no lookup gives it out,
    /// so a node id or file handle naming one is forged or stale.
    fn check_live(&self, inode: &Inode, generation: Option<Generation>) -> Result<()> {
        let gone = inode.is_unused() && !self.is_open(inode.ino);
        let value_inode = inode.has_flag(crate::ext4::inode::flags::EA_INODE);
        if gone || value_inode || generation.is_some_and(|g| g != inode.generation) {
            return Err(FsError::Stale);
        }
        Ok(())
    }

    /// Whether `ino` may appear in a directory entry (the kernel's
    /// ext4_valid_inum).
    pub fn valid_entry_inode(&self, ino: u32) -> bool {
        let sb = self.superblock();
        ino == InodeNo::ROOT.0 || (ino >= sb.first_ino && ino <= sb.inodes_count)
    }
}

impl Transaction<'_> {
    /// The inode `r` means, for a change: Stale when it was freed, or
    /// freed and its number reused, since the caller looked it up. The
    /// caller holds its inode lock, so the answer holds until the commit.
    /// A change by number that skipped this check wrote a freed inode's
    /// old contents over the next inode to take the number (which
    /// allocation does not lock), leaving its name on a freed inode.
    pub fn live_inode(&self, r: InodeRef) -> Result<Inode> {
        let inode = self.inode(r.ino)?;
        self.fs().check_live(&inode, r.generation)?;
        Ok(inode)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::fs::FsOptions;

    thread_local! {
        /// Inodes this thread read through [`Fs::inode`]: what an
        /// operation costs, counted rather than timed.
        pub(crate) static INODE_READS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

    /// A fresh 4 KiB-block metadata_csum image without a journal, opened
    /// (and mounted read-write when `writable`).
    pub(crate) fn fresh(writable: bool) -> (tempfile::TempDir, Fs) {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("img");
        std::fs::File::create(&img).unwrap();
        let st = std::process::Command::new("mkfs.ext4")
            .args(["-q", "-F", "-b", "4096", "-O", "metadata_csum,^has_journal"])
            .arg(&img)
            .arg("8M")
            .status()
            .expect("mkfs.ext4 is needed (scripts/install-deps installs e2fsprogs)");
        assert!(st.success());
        let fs = Fs::open(
            &img,
            &FsOptions {
                writable,
                ..Default::default()
            },
        )
        .unwrap();
        if writable {
            fs.mount_rw().unwrap();
        }
        (dir, fs)
    }

    #[test]
    fn a_remembered_inode_is_trusted_only_in_its_own_copy_of_the_table_block() {
        let (_dir, fs) = fresh(false);
        let root = fs.inode(InodeNo::ROOT).unwrap();
        // Remembered: the same copy answers again.
        assert_eq!(fs.inode(InodeNo::ROOT).unwrap().mode, root.mode);
        // A new copy of the table block (what a commit or a re-read puts in
        // the cache) with the root's bytes damaged is checked again.
        let (blk, off) = fs.inode_location(InodeNo::ROOT).unwrap();
        let mut bad = fs.block(blk).unwrap().to_vec();
        bad[off + 0x10] ^= 1;
        fs.cache.put(blk, bad.into());
        assert!(fs.inode(InodeNo::ROOT).is_err());
        // Another inode of that copy is checked for itself (and is good).
        let other = InodeNo(fs.superblock().first_ino);
        let (oblk, _) = fs.inode_location(other).unwrap();
        assert_eq!(oblk, blk, "first_ino shares the root's table block");
        fs.inode(other).unwrap();
        assert!(fs.inode(InodeNo::ROOT).is_err());
    }
}
