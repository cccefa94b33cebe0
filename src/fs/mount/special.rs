//! The reserved inodes the kernel checks at mount (ext4_fill_super,
//! ext4_get_journal_inode, ext4_init_orphan_info): an image whose root,
//! journal or orphan file is unusable is refused with one line naming the
//! inode and what is wrong, rather than mounted and then failing every
//! operation.

use crate::ext4::CorruptKind;
use crate::ext4::InodeNo;
use crate::ext4::inode::{Inode, flags};
use crate::ext4::orphan;
use crate::ext4::superblock::compat;
use crate::fs::extent::map::Backing;
use crate::fs::{Fs, FsError, Result, error};

/// Which reserved inodes to check: before a journal replay only the
/// journal (the replay may rewrite the others, as the kernel replays
/// before it reads the root).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    BeforeReplay,
    Mount,
}

impl Fs {
    /// Checks the reserved inodes as the kernel does at mount.
    pub(crate) fn check_special_inodes(&self, stage: Stage) -> Result<()> {
        if self.sb.has_compat(compat::HAS_JOURNAL) && self.sb.journal_inum != 0 {
            self.check_journal_inode()?;
        }
        if stage == Stage::BeforeReplay {
            return Ok(());
        }
        self.check_root()?;
        if self.sb.has_compat(compat::ORPHAN_FILE) {
            self.check_orphan_file()?;
        }
        // Quota inodes are read by the kernel only on read-write mounts of
        // quota filesystems, which are refused here (check_features_for_write).
        Ok(())
    }

    /// A reserved inode in use (the kernel's iget with EXT4_IGET_SPECIAL:
    /// "special inode unallocated").
    fn special_inode(&self, ino: InodeNo, what: &'static str) -> Result<Inode> {
        let inode = self.inode(ino).map_err(|e| match e {
            FsError::Format(inner) => error::corrupted(CorruptKind::SpecialUnreadable {
                what,
                ino: ino.0,
                inner: Box::new(inner),
            }),
            other => other,
        })?;
        if inode.is_unused() {
            return Err(error::corrupted(CorruptKind::SpecialUnallocated {
                what,
                ino: ino.0,
            }));
        }
        Ok(inode)
    }

    /// The root must be in use, a directory with blocks (or inline data)
    /// and a size.
    fn check_root(&self) -> Result<()> {
        let root = self.special_inode(InodeNo::ROOT, "root inode")?;
        let has_data = root.blocks_512 != 0 || root.has_flag(flags::INLINE_DATA);
        if !root.is_dir() || !has_data || root.size == 0 {
            return Err(error::corrupted(CorruptKind::RootNotDir));
        }
        Ok(())
    }

    /// The journal inode must be in use and a regular file.
    fn check_journal_inode(&self) -> Result<()> {
        let ino = InodeNo(self.sb.journal_inum);
        let j = self.special_inode(ino, "journal inode")?;
        if !j.is_reg() {
            return Err(error::corrupted(CorruptKind::JournalInodeNotFile {
                ino: ino.0,
            }));
        }
        Ok(())
    }

    /// The orphan file must be in use, at most 512 blocks, every block
    /// mapped and its tail's magic (and checksum) right.
    fn check_orphan_file(&self) -> Result<()> {
        let ino = InodeNo(self.sb.orphan_file_inum);
        let of = self.special_inode(ino, "orphan file")?;
        let bs = self.sb.block_size() as u64;
        if !of.is_reg() {
            return Err(error::corrupted(CorruptKind::OrphanFileNotFile {
                ino: ino.0,
            }));
        }
        if of.size > orphan::MAX_BLOCKS * bs {
            return Err(error::corrupted(CorruptKind::OrphanFileTooBig {
                ino: ino.0,
                size: of.size,
            }));
        }
        let csum = self.sb.metadata_csum();
        for lblk in 0..of.size / bs {
            let m = self.map_block(&of, lblk)?;
            let Backing::Data(p) = m.backing else {
                return Err(error::corrupted(CorruptKind::OrphanFileHole {
                    ino: ino.0,
                    lblk,
                }));
            };
            let pblk = crate::ext4::BlockNo(p.0 + (lblk - m.lblk));
            let block = self.block(pblk)?;
            let seal = csum.then_some((self.csum_seed, ino.0, of.generation.0, pblk.0));
            if let Some(why) = orphan::tail_problem(&block, seal) {
                return Err(error::corrupted(CorruptKind::OrphanFileTail {
                    ino: ino.0,
                    lblk,
                    why,
                }));
            }
        }
        Ok(())
    }
}
