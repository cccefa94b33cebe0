//! Changing how a file maps its blocks, as `chattr -e` / `chattr +e`
//! (FS_IOC_SETFLAGS with EXTENTS_FL changed) do on the kernel's ext4
//! (fs/ext4/migrate.c):
//!
//! - to a block map (`ext4_ind_migrate`): only a file whose extent tree
//!   is its root alone, with at most one written extent, inside the
//!   twelve direct pointers, on a filesystem whose blocks all fit in 32
//!   bits and without bigalloc; anything else is EOPNOTSUPP;
//! - to an extent tree (`ext4_ext_migrate`): any block-mapped file; its
//!   data blocks stay where they are, its indirect blocks are freed and
//!   an extent tree is built over the same blocks (the way ext3 files
//!   are brought to ext4 after `tune2fs -O extents`).
//!
//! Both run inside the caller's transaction, so a crash leaves the old
//! mapping or the new one, never a mix.

use crate::ext4::blockmap::DIRECT;
use crate::ext4::extents::{Extent, ExtentNode, INIT_MAX_LEN};
use crate::ext4::inode::{Inode, flags};
use crate::ext4::layout::blockmap::block_ptrs_mut;
use crate::ext4::superblock::{incompat, ro_compat};
use crate::ext4::{BlockNo, ExtentAt};
use crate::fs::extent::map::Backing;
use crate::fs::extent::write::init_extent_root;
use crate::fs::journal::transaction::Transaction;
use crate::fs::{FsError, Result};

impl Transaction<'_> {
    /// `ext4_ind_migrate`: turns `inode`'s extent tree into direct block
    /// pointers and clears EXTENTS_FL, or refuses with `Unsupported`
    /// when the kernel would (leaving `inode` untouched).
    pub(crate) fn migrate_to_blockmap(&mut self, inode: &mut Inode) -> Result<()> {
        if !inode.has_flag(flags::EXTENTS) {
            return Err(FsError::Invalid);
        }
        let sb = self.fs().superblock();
        if sb.has_ro_compat(ro_compat::BIGALLOC) || sb.blocks_count > u32::MAX as u64 {
            return Err(FsError::Unsupported);
        }
        let ino = inode.ino;
        let root = ExtentNode::parse(&inode.block, None, ExtentAt::Root { ino })?;
        let ExtentNode::Leaf(_, extents) = root else {
            return Err(FsError::Unsupported);
        };
        let mut pointers = [0u32; DIRECT as usize];
        match extents.as_slice() {
            [] => {}
            [e] => {
                let end = e.lblk as u64 + e.len as u64;
                // An unwritten extent's raw length is above 32768, past
                // the direct pointers in the kernel's test as well.
                if e.unwritten || end > DIRECT {
                    return Err(FsError::Unsupported);
                }
                for i in 0..e.len as usize {
                    pointers[e.lblk as usize + i] = (e.pblk.0 + i as u64) as u32;
                }
            }
            _ => return Err(FsError::Unsupported),
        }
        inode.block = [0; 60];
        for (slot, p) in block_ptrs_mut(&mut inode.block).iter_mut().zip(pointers) {
            slot.set(p);
        }
        inode.flags &= !flags::EXTENTS;
        Ok(())
    }

    /// `ext4_ext_migrate`: builds an extent tree over `inode`'s mapped
    /// blocks, frees its indirect blocks and sets EXTENTS_FL.
    pub(crate) fn migrate_to_extents(&mut self, inode: &mut Inode) -> Result<()> {
        if !self.fs().superblock().has_incompat(incompat::EXTENTS)
            || inode.has_flag(flags::INLINE_DATA)
            || inode.has_flag(flags::EXTENTS)
        {
            return Err(FsError::Invalid);
        }
        // A fast symlink keeps its target in i_block: nothing to move
        // (the kernel returns at once for it too).
        if inode.is_symlink() && inode.blocks_512 == 0 {
            return Ok(());
        }
        let runs = self.blockmap_runs(inode)?;
        self.blockmap_drop_pointer_blocks(inode)?;
        init_extent_root(inode)?;
        inode.flags |= flags::EXTENTS;
        for e in runs {
            self.insert_extent(inode, e)?;
        }
        Ok(())
    }

    /// The written runs of a block-mapped inode as extents (at most
    /// 32768 blocks each), in logical order.
    fn blockmap_runs(&self, inode: &Inode) -> Result<Vec<Extent>> {
        let mut out: Vec<Extent> = Vec::new();
        let mut at = 0u64;
        let end = self.max_lblk();
        while at < end {
            let m = self.blockmap_map(inode, at)?;
            let len = m.len.min(end - at);
            if let Backing::Data(p) = m.backing {
                let mut done = 0;
                while done < len {
                    let n = (len - done).min(INIT_MAX_LEN as u64);
                    out.push(Extent {
                        lblk: u32::try_from(at + done).map_err(|_| FsError::TooBig)?,
                        len: n as u16,
                        pblk: BlockNo(p.0 + done),
                        unwritten: false,
                    });
                    done += n;
                }
            }
            at += len.max(1);
        }
        Ok(out)
    }
}
