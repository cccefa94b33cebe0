//! Directory edits for the repairs of passes 3 and 4: looking a name up,
//! adding and removing an entry, rewriting `..`, and making a directory
//! (lost+found, or a new root).
//!
//! Every edit keeps the metadata_csum tails right. Allocation goes
//! through [`crate::alloc`], so only `found` learns of new blocks and
//! inodes; pass 5 then writes the bitmaps and counters to match.

use fuse4fs_format::ext4::dir::{
    self, DirIter, TAIL_SIZE, ft, has_tail, init_dot_dotdot, init_leaf, insert_entry, rec_len_for,
    set_leaf_checksum,
};
use fuse4fs_format::ext4::extents::{
    Extent, ExtentHeader, ExtentNode, INIT_MAX_LEN, MAX_DEPTH, max_entries, set_block_checksum,
};
use fuse4fs_format::ext4::htree::{looks_like_node, set_node_checksum};
use fuse4fs_format::ext4::inode::{I_BLOCK_SIZE, Inode, Timestamp, flags, mode};
use fuse4fs_format::ext4::layout::blockmap::block_ptrs_mut;
use fuse4fs_format::ext4::layout::{Ext4DirEntry2, Ext4InlineDotdot, Ext4Inode};
use fuse4fs_format::ext4::superblock::incompat;
use fuse4fs_format::ext4::xattr;
use fuse4fs_format::ext4::{BlockNo, ExtentAt, Generation, InodeNo};

use crate::alloc::{alloc_blocks, alloc_inode};
use crate::blockwalk::{Item, walk};
use crate::context::{DirBlock, DirInfo, Fsck, InodeInfo, now_secs};
use crate::error::Result;

/// Why a directory edit could not be made (the caller reports it with
/// [`crate::problem::Report::not_fixed`]).
pub type Refused = String;

/// The directory's inode, parsed; refused when it does not parse or is
/// not a directory.
fn dir_inode(cx: &Fsck, dir: InodeNo) -> Result<std::result::Result<Inode, Refused>> {
    if !cx.inode_in_range(dir) {
        return Ok(Err(format!("inode {} is out of range", dir.0)));
    }
    Ok(match cx.read_inode(dir)? {
        Ok(i) if i.is_dir() => Ok(i),
        Ok(_) => Err(format!("inode {} is not a directory", dir.0)),
        Err(e) => Err(format!("inode {} is unreadable: {e}", dir.0)),
    })
}

/// The directory's blocks as `(logical, physical)` pairs in logical
/// order, within i_size (a damaged tree yields what could be walked).
pub fn dir_blocks(cx: &Fsck, inode: &Inode) -> Result<Vec<(u64, BlockNo)>> {
    let nblocks = inode.size.div_ceil(cx.bs);
    let mut out = Vec::new();
    if inode.has_flag(flags::INLINE_DATA) {
        return Ok(out);
    }
    walk(cx, inode, &mut |item| {
        if let Item::Data {
            lblk,
            pblk,
            len,
            unwritten: false,
        } = item
        {
            let end = lblk.saturating_add(len).min(nblocks);
            for l in lblk..end {
                out.push((l, pblk.plus(l - lblk)));
            }
        }
    })?;
    out.sort_unstable();
    out.dedup_by_key(|p| p.0);
    Ok(out)
}

/// Whether the filesystem's entries carry file types.
fn filetype(cx: &Fsck) -> bool {
    cx.sb.has_incompat(incompat::FILETYPE)
}

/// Byte range of a block that holds entries: all of it but the
/// checksum tail, when it has one. The tail's bytes alone do not tell:
/// an htree root keeps stale tail bytes in its dx_tail's reserved
/// word, so the entries must also end where the tail begins.
pub(crate) fn usable_len(block: &[u8]) -> usize {
    let n = block.len();
    if !has_tail(block) {
        return n;
    }
    let end = n - TAIL_SIZE;
    for e in DirIter::new(block, n, u32::MAX, true) {
        match e {
            Ok(e) if e.offset + e.rec_len == end => return end,
            Ok(e) if e.offset + e.rec_len > end => return n,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    end
}

/// Writes back a directory block of `inode`, its checksum (leaf tail or
/// htree node tail) set first on metadata_csum filesystems.
fn write_dir_block(
    cx: &mut Fsck,
    inode: &Inode,
    lblk: u64,
    pblk: BlockNo,
    block: &mut [u8],
) -> Result<()> {
    if cx.sb.metadata_csum() {
        let (ino, generation) = (inode.ino, inode.generation);
        if inode.has_flag(flags::INDEX) && (lblk == 0 || looks_like_node(block)) {
            set_node_checksum(cx.seed, ino, generation, block);
        } else if has_tail(block) {
            set_leaf_checksum(cx.seed, ino, generation, block);
        }
    }
    cx.write_block(pblk, block)
}

/// The inode `name` names in directory `dir`, with its entry's file
/// type, or None. Damaged blocks are skipped (pass 2 has judged them).
pub fn lookup(cx: &Fsck, dir: InodeNo, name: &[u8]) -> Result<Option<(InodeNo, u8)>> {
    let Ok(inode) = dir_inode(cx, dir)? else {
        return Ok(None);
    };
    let max = cx.sb.inodes_count;
    let ftype = filetype(cx);
    let bs = cx.bs as usize;
    if inode.has_flag(flags::INLINE_DATA) {
        let found = inline_entries(&inode, max, ftype)
            .into_iter()
            .find(|(n, ino, _)| ino.0 != 0 && n == name)
            .map(|(_, ino, t)| (ino, t));
        return Ok(found);
    }
    let mut buf = vec![0u8; bs];
    for (_, pblk) in dir_blocks(cx, &inode)? {
        cx.read_block_into(pblk, &mut buf)?;
        let usable = usable_len(&buf);
        let hit = DirIter::new(&buf[..usable], bs, max, ftype)
            .map_while(|e| e.ok())
            .find(|e| e.inode != 0 && e.name == name)
            .map(|e| (InodeNo(e.inode), e.file_type));
        if hit.is_some() {
            return Ok(hit);
        }
    }
    Ok(None)
}

/// The entries of an inline directory as `(name, inode, file type)`:
/// `..` from the first word of i_block, then the entries in the rest of
/// i_block and in the `system.data` xattr. Damaged entries end a part.
pub fn inline_entries(
    inode: &Inode,
    max_inode: u32,
    filetype: bool,
) -> Vec<(Vec<u8>, InodeNo, u8)> {
    let parent = Ext4InlineDotdot::of(&inode.block).map_or(0, |d| d.inode.get());
    let mut out = vec![(b"..".to_vec(), InodeNo(parent), ft::DIR)];
    let mut part = |bytes: &[u8]| {
        for e in DirIter::new(bytes, bytes.len().max(12), max_inode, filetype).map_while(|e| e.ok())
        {
            out.push((e.name.to_vec(), InodeNo(e.inode), e.file_type));
        }
    };
    part(&inode.block[Ext4InlineDotdot::SIZE..]);
    if let Ok(xattrs) = xattr::parse_ibody(&inode.ibody_xattrs)
        && let Some(data) = xattrs
            .iter()
            .find(|x| x.index == xattr::INDEX_SYSTEM && x.name == b"data")
    {
        part(&data.value);
    }
    out
}

/// Removes the entry `name` from directory `dir`; returns the inode it
/// named (None when absent or refused).
pub fn remove(cx: &mut Fsck, dir: InodeNo, name: &[u8]) -> Result<Option<InodeNo>> {
    let Ok(inode) = dir_inode(cx, dir)? else {
        return Ok(None);
    };
    let mut buf = vec![0u8; cx.bs as usize];
    for (lblk, pblk) in dir_blocks(cx, &inode)? {
        cx.read_block_into(pblk, &mut buf)?;
        let usable = usable_len(&buf);
        if let Ok(Some(child)) = dir::remove_entry(&mut buf, usable, name) {
            write_dir_block(cx, &inode, lblk, pblk, &mut buf)?;
            return Ok(Some(InodeNo(child)));
        }
    }
    Ok(None)
}

/// Adds the entry `name` → `child` (entry file type `ft_code`) to
/// directory `dir`: in the first block with room, else in a new block
/// appended to it. An indexed directory loses its index first (its
/// index blocks become empty leaves; a later e2fsck -D can rebuild it).
pub fn add_entry(
    cx: &mut Fsck,
    dir: InodeNo,
    name: &[u8],
    child: InodeNo,
    ft_code: u8,
) -> Result<std::result::Result<(), Refused>> {
    let mut inode = match dir_inode(cx, dir)? {
        Ok(i) => i,
        Err(why) => return Ok(Err(why)),
    };
    if inode.has_flag(flags::INLINE_DATA) {
        return Ok(Err(format!(
            "directory {} keeps its entries in the inode (inline data)",
            dir.0
        )));
    }
    let ft_code = if filetype(cx) { ft_code } else { 0 };
    let csum = cx.sb.metadata_csum();
    let blocks = dir_blocks(cx, &inode)?;
    if inode.has_flag(flags::INDEX) {
        drop_index(cx, &mut inode, &blocks)?;
    }
    let bs = cx.bs as usize;
    let mut buf = vec![0u8; bs];
    for &(lblk, pblk) in &blocks {
        cx.read_block_into(pblk, &mut buf)?;
        if csum && !has_tail(&buf) {
            // No room for a checksum: leave the block as pass 2 left it.
            continue;
        }
        let usable = usable_len(&buf);
        match insert_entry(&mut buf, usable, child.0, name, ft_code) {
            Ok(true) => {
                write_dir_block(cx, &inode, lblk, pblk, &mut buf)?;
                return Ok(Ok(()));
            }
            Ok(false) | Err(dir::EditError::Format(_)) => {}
            Err(dir::EditError::Exists) => {
                return Ok(Err(format!("directory {} already holds that name", dir.0)));
            }
            Err(dir::EditError::BadName) => return Ok(Err("bad name".into())),
        }
    }
    // A new block past the end.
    let lblk = inode.size.div_ceil(cx.bs);
    let goal = blocks.last().map_or(BlockNo(0), |&(_, p)| p.plus(1));
    let Some(pblk) = alloc_blocks(cx, goal, 1) else {
        return Ok(Err("no free block".into()));
    };
    if let Err(why) = map_block(cx, &mut inode, lblk, pblk)? {
        cx.found.blocks.clear(pblk.bit());
        return Ok(Err(why));
    }
    init_leaf(&mut buf, csum);
    let usable = bs - if csum { TAIL_SIZE } else { 0 };
    if insert_entry(&mut buf, usable, child.0, name, ft_code) != Ok(true) {
        return Ok(Err("the name does not fit in a block".into()));
    }
    write_dir_block(cx, &inode, lblk, pblk, &mut buf)?;
    inode.size = (lblk + 1) * cx.bs;
    inode.blocks_512 += cx.bs / 512;
    cx.write_inode(&inode)?;
    if let Some(d) = cx.found.dirs.get_mut(&dir) {
        d.size = inode.size;
        d.indexed = false;
    }
    remember_block(cx, dir, lblk, pblk);
    Ok(Ok(()))
}

/// Records a new directory block in `found.dir_blocks` (kept sorted).
fn remember_block(cx: &mut Fsck, ino: InodeNo, lblk: u64, pblk: BlockNo) {
    let d = DirBlock { pblk, ino, lblk };
    let at = cx.found.dir_blocks.partition_point(|x| *x < d);
    cx.found.dir_blocks.insert(at, d);
}

/// Turns an indexed directory into a linear one: the index flag cleared,
/// the dx root's `..` cut short of a new leaf tail, and interior index
/// blocks made empty leaves (with a tail on metadata_csum filesystems,
/// where an index block has none).
fn drop_index(cx: &mut Fsck, inode: &mut Inode, blocks: &[(u64, BlockNo)]) -> Result<()> {
    let csum = cx.sb.metadata_csum();
    let bs = cx.bs as usize;
    let mut buf = vec![0u8; bs];
    inode.flags &= !flags::INDEX;
    for &(lblk, pblk) in blocks {
        cx.read_block_into(pblk, &mut buf)?;
        if lblk == 0 {
            // "." (12 bytes) then ".." spanning the rest: keep both.
            let inode_at = |off: usize| Ext4DirEntry2::of(&buf[off..]).map_or(0, |e| e.inode.get());
            let (dot, dotdot) = (inode_at(0), inode_at(rec_len_for(1)));
            init_dot_dotdot(&mut buf, dot, dotdot, filetype(cx), csum);
        } else if looks_like_node(&buf) {
            // An interior index node: a fake entry spanning the block
            // and no leaf tail. It becomes an empty leaf.
            init_leaf(&mut buf, csum);
        } else {
            continue;
        }
        write_dir_block(cx, inode, lblk, pblk, &mut buf)?;
    }
    cx.write_inode(inode)?;
    if let Some(d) = cx.found.dirs.get_mut(&inode.ino) {
        d.indexed = false;
    }
    Ok(())
}

/// Maps logical block `lblk` of `inode` to `pblk`: the last extent grown
/// or a new extent in the last leaf (root or block), or a direct
/// pointer of a block map. The inode itself is the caller's to write.
fn map_block(
    cx: &mut Fsck,
    inode: &mut Inode,
    lblk: u64,
    pblk: BlockNo,
) -> Result<std::result::Result<(), Refused>> {
    if !inode.has_flag(flags::EXTENTS) {
        if lblk >= 12 {
            return Ok(Err(
                "the directory's block map has no free direct pointer".into()
            ));
        }
        let Ok(p32) = u32::try_from(pblk.0) else {
            return Ok(Err("block number too large for a block map".into()));
        };
        block_ptrs_mut(&mut inode.block)[lblk as usize].set(p32);
        return Ok(Ok(()));
    }
    let Ok(lblk32) = u32::try_from(lblk) else {
        return Ok(Err("directory too large".into()));
    };
    let ino = inode.ino;
    let root = match ExtentNode::parse(&inode.block, None, ExtentAt::Root { ino }) {
        Ok(n) => n,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let mut leaf = root;
    let mut leaf_block = None;
    let mut buf = vec![0u8; cx.bs as usize];
    for _ in 0..=MAX_DEPTH {
        let ExtentNode::Index(h, ix) = &leaf else {
            break;
        };
        let Some(&last) = ix.last() else {
            return Ok(Err("empty extent index".into()));
        };
        if !cx.block_in_fs(last.child) {
            return Ok(Err("extent index outside the filesystem".into()));
        }
        cx.read_block_into(last.child, &mut buf)?;
        let want = h.depth - 1;
        leaf = match ExtentNode::parse(
            &buf,
            Some(want),
            ExtentAt::Block {
                ino,
                block: last.child,
            },
        ) {
            Ok(n) => n,
            Err(e) => return Ok(Err(e.to_string())),
        };
        leaf_block = Some(last.child);
    }
    let ExtentNode::Leaf(h, mut extents) = leaf else {
        return Ok(Err("extent tree too deep".into()));
    };
    let grow = extents.last_mut().filter(|x| {
        !x.unwritten
            && x.lblk as u64 + x.len as u64 == lblk
            && x.pblk.plus(x.len as u64) == pblk
            && x.len < INIT_MAX_LEN
    });
    if let Some(x) = grow {
        x.len += 1;
    } else if extents.len() < h.max as usize {
        extents.push(Extent {
            lblk: lblk32,
            len: 1,
            pblk,
            unwritten: false,
        });
    } else {
        return Ok(Err(
            "the directory's last extent leaf is full (growing the tree is not supported)".into(),
        ));
    }
    let node = ExtentNode::Leaf(h, extents);
    match leaf_block {
        None => {
            if let Err(e) = node.write_to(&mut inode.block) {
                return Ok(Err(e.to_string()));
            }
        }
        Some(b) => {
            if let Err(e) = node.write_to(&mut buf) {
                return Ok(Err(e.to_string()));
            }
            if cx.sb.metadata_csum() {
                set_block_checksum(cx.seed, inode.ino, inode.generation, &mut buf);
            }
            cx.write_block(b, &buf)?;
        }
    }
    Ok(Ok(()))
}

/// Rewrites the `..` entry of directory `dir` to name `parent` (the
/// entry after `.` in block 0, or the inline parent field).
pub fn set_dotdot(
    cx: &mut Fsck,
    dir: InodeNo,
    parent: InodeNo,
) -> Result<std::result::Result<(), Refused>> {
    let mut inode = match dir_inode(cx, dir)? {
        Ok(i) => i,
        Err(why) => return Ok(Err(why)),
    };
    if inode.has_flag(flags::INLINE_DATA) {
        Ext4InlineDotdot::of_mut(&mut inode.block)
            .expect("i_block holds the parent word")
            .inode
            .set(parent.0);
        cx.write_inode(&inode)?;
        return Ok(Ok(()));
    }
    let blocks = dir_blocks(cx, &inode)?;
    let Some(&(0, pblk)) = blocks.first() else {
        return Ok(Err(format!("directory {} has no block 0", dir.0)));
    };
    let mut buf = vec![0u8; cx.bs as usize];
    cx.read_block_into(pblk, &mut buf)?;
    let bs = buf.len();
    let offset = {
        let mut it = DirIter::new(&buf, bs, u32::MAX, filetype(cx));
        let dot = it.next().and_then(|e| e.ok());
        let dotdot = it.next().and_then(|e| e.ok());
        match (dot, dotdot) {
            (Some(d), Some(dd)) if d.name == b"." && dd.name == b".." => dd.offset,
            _ => return Ok(Err(format!("directory {} has no '..' entry", dir.0))),
        }
    };
    Ext4DirEntry2::of_mut(&mut buf[offset..])
        .expect("'..' was read from here")
        .inode
        .set(parent.0);
    write_dir_block(cx, &inode, 0, pblk, &mut buf)?;
    Ok(Ok(()))
}

/// Makes a directory in slot `ino` (or a newly allocated inode when
/// None) whose `..` names `parent`, with one block holding `.` and `..`,
/// mode 0700 (root: 0755). When `name` is given it is linked into
/// `parent` under that name and the parent's link count grows by one.
/// `found` learns of the inode, its block and the links.
pub fn make_dir(
    cx: &mut Fsck,
    ino: Option<InodeNo>,
    parent: InodeNo,
    name: Option<&[u8]>,
) -> Result<std::result::Result<InodeNo, Refused>> {
    let ino = match ino {
        Some(i) => {
            *cx.found.inode_mut(i) = InodeInfo {
                ftype: (mode::S_IFDIR >> 12) as u8,
                ..InodeInfo::default()
            };
            i
        }
        None => match alloc_inode(cx, parent, mode::S_IFDIR) {
            Some(i) => i,
            None => return Ok(Err("no free inode".into())),
        },
    };
    let goal = cx.sb.group_first_block(cx.inode_slot(ino).0);
    let Some(pblk) = alloc_blocks(cx, goal, 1) else {
        *cx.found.inode_mut(ino) = InodeInfo::default();
        return Ok(Err("no free block".into()));
    };
    let old = cx.read_inode_raw(ino)?;
    let (_, old_gen) = fuse4fs_format::ext4::inode::links_and_generation(&old);
    let mut inode = Inode::new_empty(&cx.sb, ino);
    let now = Timestamp {
        sec: now_secs() as i64,
        nsec: 0,
    };
    inode.mode = mode::S_IFDIR | if ino == InodeNo::ROOT { 0o755 } else { 0o700 };
    inode.links_count = 2;
    inode.size = cx.bs;
    inode.blocks_512 = cx.bs / 512;
    inode.atime = now;
    inode.ctime = now;
    inode.mtime = now;
    if inode.crtime.is_some() {
        inode.crtime = Some(now);
    }
    inode.generation = Generation(old_gen.0.wrapping_add(1));
    if cx.sb.has_incompat(incompat::EXTENTS) {
        inode.flags |= flags::EXTENTS;
        let node = ExtentNode::Leaf(
            ExtentHeader {
                entries: 1,
                max: max_entries(I_BLOCK_SIZE),
                depth: 0,
            },
            vec![Extent {
                lblk: 0,
                len: 1,
                pblk,
                unwritten: false,
            }],
        );
        if let Err(e) = node.write_to(&mut inode.block) {
            return Ok(Err(e.to_string()));
        }
    } else {
        block_ptrs_mut(&mut inode.block)[0].set(pblk.0 as u32);
    }
    let csum = cx.sb.metadata_csum();
    let mut buf = vec![0u8; cx.bs as usize];
    init_dot_dotdot(&mut buf, ino.0, parent.0, filetype(cx), csum);
    write_dir_block(cx, &inode, 0, pblk, &mut buf)?;
    // A fresh slot: no stale bytes the parsed inode does not model.
    let mut raw = vec![0u8; cx.sb.inode_size as usize];
    if let Err(e) = inode.write_to(&cx.sb, &mut raw) {
        return Ok(Err(e.to_string()));
    }
    cx.write_inode_raw(ino, &mut raw)?;
    *cx.found.inode_mut(ino) = InodeInfo {
        ftype: (mode::S_IFDIR >> 12) as u8,
        links: 2,
        refs: 0,
        empty: false,
    };
    cx.found.dirs.insert(
        ino,
        DirInfo {
            generation: inode.generation,
            indexed: false,
            inline: false,
            size: cx.bs,
            dotdot: parent,
            parent: if ino == parent { parent } else { InodeNo(0) },
            casefold: false,
            hashed: false,
        },
    );
    remember_block(cx, ino, 0, pblk);
    if let Some(name) = name {
        if let Err(why) = add_entry(cx, parent, name, ino, ft::DIR)? {
            // Unlinked, the new directory would only be found again as
            // unconnected: give its inode and block back.
            cx.clear_inode(ino)?;
            cx.found.blocks.clear(pblk.bit());
            return Ok(Err(why));
        }
        cx.found.inode_mut(ino).refs += 1;
        if let Some(d) = cx.found.dirs.get_mut(&ino) {
            d.parent = parent;
        }
        bump_links(cx, parent, 1)?;
    }
    Ok(Ok(ino))
}

/// Adds `delta` to the on-disk link count of `ino` (and to what `found`
/// records of it), as a repair that adds or removes a link does.
pub fn bump_links(cx: &mut Fsck, ino: InodeNo, delta: i32) -> Result<()> {
    let mut raw = cx.read_inode_raw(ino)?;
    let r = Ext4Inode::of_mut(&mut raw).expect("an inode has 128 bytes");
    let links = r.i_links_count.get() as i32;
    let new = (links + delta).clamp(0, u16::MAX as i32) as u16;
    r.i_links_count.set(new);
    cx.write_inode_raw(ino, &mut raw)?;
    cx.found.inode_mut(ino).links = new;
    Ok(())
}

/// Sets the on-disk link count of `ino` to `links`.
pub fn set_links(cx: &mut Fsck, ino: InodeNo, links: u16) -> Result<()> {
    let mut raw = cx.read_inode_raw(ino)?;
    Ext4Inode::of_mut(&mut raw)
        .expect("an inode has 128 bytes")
        .i_links_count
        .set(links);
    cx.write_inode_raw(ino, &mut raw)?;
    cx.found.inode_mut(ino).links = links;
    Ok(())
}

/// Links `ino` into lost+found as `#ino` (pass 3's unconnected
/// directories, pass 4's unattached inodes); a directory's `..` then
/// names lost+found. `found` learns of the new entry (pass 4 sets the
/// link counts that follow from it).
pub fn link_into_lost_found(
    cx: &mut Fsck,
    ino: InodeNo,
) -> Result<std::result::Result<(), Refused>> {
    let Some(lf) = cx.found.lost_found else {
        return Ok(Err("there is no /lost+found".into()));
    };
    let name = format!("#{}", ino.0);
    let ft_code = cx.found.inode(ino).entry_type();
    if let Err(why) = add_entry(cx, lf, name.as_bytes(), ino, ft_code)? {
        return Ok(Err(format!("cannot add {name} to /lost+found: {why}")));
    }
    cx.found.inode_mut(ino).refs += 1;
    if cx.found.inode(ino).is_dir() {
        if let Some(d) = cx.found.dirs.get_mut(&ino) {
            d.parent = lf;
        }
        if let Err(why) = set_dotdot(cx, ino, lf)? {
            return Ok(Err(format!(
                "cannot point '..' of {} at /lost+found: {why}",
                ino.0
            )));
        }
        if let Some(d) = cx.found.dirs.get_mut(&ino) {
            d.dotdot = lf;
        }
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::options::{Mode, Options};
    use crate::testutil::{assert_clean_before_pass5, debugfs, e2fsck, mkfs, require, scan};
    use crate::{Device, Fsck};

    fn tools() {
        require(&["mkfs.ext4", "debugfs", "e2fsck"]);
    }

    /// An image holding /a and /dir (with `files` files).
    fn image(dir: &Path, args: &[&str], files: usize) -> PathBuf {
        let src = dir.join("src");
        fs::create_dir_all(src.join("dir")).unwrap();
        fs::write(src.join("a"), b"a").unwrap();
        for i in 0..files {
            fs::write(
                src.join(format!("dir/file-with-a-longish-name-{i:05}")),
                b"x",
            )
            .unwrap();
        }
        mkfs(dir, args, &src, "8M")
    }

    fn open(img: &Path) -> Fsck {
        let opts = Options {
            mode: Mode::Yes,
            ..Options::default()
        };
        let mut cx = Fsck::open(Device::open(img, true).unwrap(), opts, "img").unwrap();
        crate::setup::run(&mut cx).unwrap();
        scan(&mut cx);
        cx
    }

    fn ino_of(cx: &Fsck, dir: InodeNo, name: &str) -> InodeNo {
        lookup(cx, dir, name.as_bytes())
            .unwrap()
            .expect("present")
            .0
    }

    #[test]
    fn entries_past_the_last_block_go_into_new_blocks() {
        tools();
        for args in [
            &["-b", "1024"][..],
            &["-b", "1024", "-O", "^metadata_csum"][..],
            &["-t", "ext2", "-b", "1024"][..],
            &["-b", "4096"][..],
        ] {
            let t = tempfile::tempdir().unwrap();
            let img = image(t.path(), args, 0);
            let mut cx = open(&img);
            let (dir, a) = (
                ino_of(&cx, InodeNo::ROOT, "dir"),
                ino_of(&cx, InodeNo::ROOT, "a"),
            );
            let before = cx.read_inode(dir).unwrap().unwrap().size;
            let names: Vec<String> = (0..40)
                .map(|i| format!("{i:03}{}", "n".repeat(200)))
                .collect();
            for n in &names {
                add_entry(&mut cx, dir, n.as_bytes(), a, ft::REG)
                    .unwrap()
                    .unwrap();
            }
            let after = cx.read_inode(dir).unwrap().unwrap().size;
            assert!(after > before, "{args:?}: the directory grew");
            for n in &names {
                assert_eq!(lookup(&cx, dir, n.as_bytes()).unwrap(), Some((a, 1)));
            }
            // Same name twice: refused, nothing written.
            assert!(
                add_entry(&mut cx, dir, names[0].as_bytes(), a, ft::REG)
                    .unwrap()
                    .is_err()
            );
            drop(cx);
            debugfs(&img, "sif /a links_count 41");
            // The new blocks reach the bitmap in pass 5 (another
            // helper's); passes 1 to 4 must agree now.
            assert_clean_before_pass5(&img, &format!("{args:?}"));
        }
    }

    #[test]
    fn an_indexed_directory_loses_its_index_when_added_to() {
        tools();
        for args in [
            &["-b", "1024"][..],
            &["-b", "1024", "-O", "^metadata_csum"][..],
        ] {
            let t = tempfile::tempdir().unwrap();
            let img = image(t.path(), args, 300);
            let out = std::process::Command::new("e2fsck")
                .args(["-fyD"])
                .arg(&img)
                .output()
                .unwrap();
            assert!(out.status.code().unwrap_or(8) < 4);
            let mut cx = open(&img);
            let (dir, a) = (
                ino_of(&cx, InodeNo::ROOT, "dir"),
                ino_of(&cx, InodeNo::ROOT, "a"),
            );
            assert!(cx.read_inode(dir).unwrap().unwrap().has_flag(flags::INDEX));
            add_entry(&mut cx, dir, b"newcomer", a, ft::REG)
                .unwrap()
                .unwrap();
            assert!(!cx.read_inode(dir).unwrap().unwrap().has_flag(flags::INDEX));
            assert_eq!(lookup(&cx, dir, b"newcomer").unwrap(), Some((a, 1)));
            let f = ino_of(&cx, dir, "file-with-a-longish-name-00299");
            assert!(cx.found.inode(f).in_use());
            drop(cx);
            debugfs(&img, "sif /a links_count 2");
            assert_clean_before_pass5(&img, &format!("{args:?}"));
        }
    }

    #[test]
    fn link_counts_follow_bump_and_set() {
        tools();
        let t = tempfile::tempdir().unwrap();
        let img = image(t.path(), &["-b", "4096"], 0);
        let mut cx = open(&img);
        let a = ino_of(&cx, InodeNo::ROOT, "a");
        bump_links(&mut cx, a, 2).unwrap();
        assert_eq!(cx.read_inode(a).unwrap().unwrap().links_count, 3);
        set_links(&mut cx, a, 1).unwrap();
        assert_eq!(cx.found.inode(a).links, 1);
        drop(cx);
        assert!(e2fsck(&img).0);
    }
}
