//! Inline-data directories: the parent's number in the first 4 bytes of
//! i_block, entries in the other 56, and more in the `system.data`
//! xattr's value inside the inode.

use fuse4fs_format::ext4::InodeNo;
use fuse4fs_format::ext4::inode::GOOD_OLD_INODE_SIZE;
use fuse4fs_format::ext4::layout::{Ext4InlineDotdot, Ext4Inode, Ext4InodeExtra};
use fuse4fs_format::ext4::xattr::parse_ibody_placed;

use super::{State, chain, entry};
use crate::context::Fsck;
use crate::error::Result;
use crate::problem::Problem;

/// Where i_block lies in the raw inode (i_generation follows it).
const I_BLOCK: usize = std::mem::offset_of!(Ext4Inode, i_block);
const I_BLOCK_END: usize = std::mem::offset_of!(Ext4Inode, i_generation);
/// e_name_index of the `system.` namespace.
const INDEX_SYSTEM: u8 = 7;

/// Checks every inline-data directory.
pub(super) fn run(cx: &mut Fsck, st: &mut State) -> Result<()> {
    let dirs: Vec<InodeNo> = cx
        .found
        .dirs
        .iter()
        .filter(|(_, d)| d.inline)
        .map(|(&ino, _)| ino)
        .collect();
    for dir in dirs {
        check(cx, st, dir)?;
    }
    Ok(())
}

/// Checks inline directory `dir`.
fn check(cx: &mut Fsck, st: &mut State, dir: InodeNo) -> Result<()> {
    let mut raw = cx.read_inode_raw(dir)?;
    let isz = raw.len();
    let parent = InodeNo(
        Ext4InlineDotdot::of(&raw[I_BLOCK..])
            .expect("i_block lies inside the inode")
            .inode
            .get(),
    );
    let dotdot = if cx.inode_in_range(parent) && cx.found.inode(parent).is_dir() {
        parent
    } else {
        InodeNo(0)
    };
    if let Some(d) = cx.found.dirs.get_mut(&dir) {
        d.dotdot = dotdot;
    }
    let mut regions = vec![(I_BLOCK + Ext4InlineDotdot::SIZE, I_BLOCK_END)];
    if isz > 128 + 2 {
        let start = GOOD_OLD_INODE_SIZE + Ext4InodeExtra::read(&raw).i_extra_isize.get() as usize;
        if start + 4 <= isz
            && let Ok(list) = parse_ibody_placed(&raw[start..])
            && let Some(p) = list
                .iter()
                .find(|p| p.entry.index == INDEX_SYSTEM && p.entry.name == b"data")
            && !p.entry.value.is_empty()
        {
            let at = start + 4 + p.value_offs as usize;
            regions.push((at, at + p.entry.value.len()));
        }
    }
    let mut changed = false;
    let mut ents = std::mem::take(&mut st.ents);
    for (a, b) in regions {
        if b > isz || a >= b {
            continue;
        }
        let region = &mut raw[a..b];
        if let Some(bad) = chain::walk(region, st.bs, &mut ents)
            && cx.ask(Problem::InlineDirCorrupted { dir, offset: bad })
        {
            chain::salvage(region, bad, &ents, st.bs);
            if chain::walk(region, st.bs, &mut ents).is_some() {
                cx.report
                    .not_fixed("the inline area is too short to hold an entry");
            }
            changed = true;
        }
        let (c, _) = entry::check(cx, st, dir, region, &mut ents, 0, None);
        changed |= c;
    }
    st.ents = ents;
    if changed {
        cx.write_inode_raw(dir, &mut raw)?;
    }
    Ok(())
}
