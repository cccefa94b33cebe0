//! Before pass 1: the orphan list (s_last_orphan, chained through each
//! inode's i_dtime) and the orphan file. An orphan is an inode the last
//! user still held open when it was unlinked (links 0: free it) or while
//! it was being truncated (links > 0: finish the truncation, see
//! [`truncate`], and take it off the list).

mod truncate;

use fuse4fs_format::ext4::InodeNo;
use std::collections::BTreeSet;

use fuse4fs_format::ext4::inode::mode;
use fuse4fs_format::ext4::layout::Ext4Inode;
use fuse4fs_format::ext4::orphan::{block_slots, block_slots_mut, seal_block};
use fuse4fs_format::ext4::superblock::{STATE_ERROR, compat, ro_compat};

use crate::blockwalk::{Item, has_block_tree, walk};
use crate::context::Fsck;
use crate::error::Result;
use crate::problem::{OrphanId, Problem};

/// Where s_orphan_file_inum lives in the superblock (the tests damage it
/// there).
#[cfg(test)]
const ORPHAN_FILE_INUM: usize = core::mem::offset_of!(
    fuse4fs_format::ext4::layout::Ext4SuperBlock,
    s_orphan_file_inum
);
/// Orphan file blocks looked at, at most (mke2fs makes a few hundred).
const MAX_ORPHAN_FILE_BLOCKS: u64 = 1 << 16;

/// Processes the orphan list and the orphan file.
pub(crate) fn run(cx: &mut Fsck) -> Result<()> {
    list(cx)?;
    orphan_file(cx)
}

/// What the orphan list says about one inode.
struct Orphan {
    ino: InodeNo,
    links: u16,
    mode: u16,
    size: u64,
    uid: u32,
    gid: u32,
}

/// Reads the fields of inode `ino` the orphan list needs, and the next
/// inode on the list (its i_dtime).
fn orphan_inode(cx: &Fsck, ino: InodeNo) -> Result<(Orphan, InodeNo)> {
    let raw = cx.read_inode_raw(ino)?;
    let r = Ext4Inode::of(&raw).expect("an inode has 128 bytes");
    let size = r.i_size_lo.get() as u64 | (r.i_size_high.get() as u64) << 32;
    Ok((
        Orphan {
            ino,
            links: r.i_links_count.get(),
            mode: r.i_mode.get(),
            size,
            uid: r.i_uid.get() as u32 | (r.l_i_uid_high.get() as u32) << 16,
            gid: r.i_gid.get() as u32 | (r.l_i_gid_high.get() as u32) << 16,
        },
        InodeNo(r.i_dtime.get()),
    ))
}

/// Walks s_last_orphan's chain; frees or releases each orphan.
fn list(cx: &mut Fsck) -> Result<()> {
    let head = InodeNo(cx.sb.last_orphan);
    if head.0 == 0 {
        return Ok(());
    }
    if cx.sb.state & STATE_ERROR != 0 {
        // As e2fsck: a filesystem that met errors cannot be trusted to
        // have kept its list; the passes judge the inodes instead.
        if cx.ask(Problem::OrphanListWithErrors { head }) {
            cx.sb.last_orphan = 0;
            cx.write_superblock()?;
        }
        return Ok(());
    }
    let first = cx.sb.first_ino.max(1);
    let mut seen = BTreeSet::new();
    let mut chain = Vec::new();
    let mut bad = None;
    let mut ino = head;
    // `seen` bounds the walk: every step visits a new inode number.
    while ino.0 != 0 {
        if ino.0 < first || ino.0 > cx.sb.inodes_count {
            bad = Some(Problem::OrphanListOutOfRange { ino });
            break;
        }
        if !seen.insert(ino) {
            bad = Some(Problem::OrphanListLoop { ino });
            break;
        }
        let (o, next) = orphan_inode(cx, ino)?;
        if o.mode & mode::S_IFMT == 0 {
            bad = Some(Problem::OrphanListFree { ino });
            break;
        }
        chain.push(o);
        ino = next;
    }
    let mut all_fixed = true;
    let mut kept = Vec::new();
    for o in &chain {
        cx.found.orphans.insert(o.ino);
        if cx.opts.keep_orphans.contains(&o.ino) {
            // Held open by a live mount: it stays, on the list.
            kept.push(o.ino);
            continue;
        }
        all_fixed &= release(cx, o, true)?;
    }
    if let Some(problem) = bad {
        all_fixed &= cx.ask(problem);
    }
    if all_fixed && cx.dev.writable() {
        relink(cx, &kept)?;
    }
    Ok(())
}

/// Makes the orphan list hold `kept` alone, in order (usually none:
/// the list is emptied).
fn relink(cx: &mut Fsck, kept: &[InodeNo]) -> Result<()> {
    for (i, &ino) in kept.iter().enumerate() {
        let next = kept.get(i + 1).map_or(0, |n| n.0);
        // A damaged inode is pass 1's to judge; the chain then ends at
        // it, which the next check reports.
        if let Ok(mut inode) = cx.read_inode(ino)?
            && inode.dtime != next
        {
            inode.dtime = next;
            cx.write_inode(&inode)?;
        }
    }
    let head = kept.first().map_or(0, |n| n.0);
    if cx.sb.last_orphan != head {
        cx.sb.last_orphan = head;
        cx.write_superblock()?;
    }
    Ok(())
}

/// Frees an unlinked orphan or takes a linked one off the list; returns
/// whether it was repaired. `chained`: its i_dtime links the list and
/// must be cleared when the inode stays.
fn release(cx: &mut Fsck, o: &Orphan, chained: bool) -> Result<bool> {
    let orphan = OrphanId {
        ino: o.ino,
        uid: o.uid,
        gid: o.gid,
        mode: o.mode,
        size: o.size,
    };
    if o.links == 0 {
        if !cx.ask(Problem::OrphanClear { orphan }) {
            return Ok(false);
        }
        cx.clear_inode(o.ino)?;
        return Ok(true);
    }
    if !cx.dev.writable() {
        // e2fsck -n says nothing of a file whose truncation was cut
        // short (the file is whole, its tail merely not yet freed), and
        // neither fails the check for it.
        cx.report
            .note(format!("Not truncating {orphan}: read-only check."));
        return Ok(false);
    }
    if !cx.ask(Problem::OrphanTruncate { orphan }) {
        return Ok(false);
    }
    // A damaged inode is pass 1's to judge, its dtime and tree with it.
    if let Ok(mut inode) = cx.read_inode(o.ino)? {
        truncate::truncate(cx, &mut inode)?;
        if chained {
            inode.dtime = 0;
        }
        cx.write_inode(&inode)?;
    }
    Ok(true)
}

/// The orphan file (feature orphan_file): every nonzero slot names an
/// orphan.
fn orphan_file(cx: &mut Fsck) -> Result<()> {
    if !cx.sb.has_compat(compat::ORPHAN_FILE) {
        return Ok(());
    }
    let ino = InodeNo(cx.sb.orphan_file_inum);
    if !cx.inode_in_range(ino) {
        if cx.ask(Problem::OrphanFileOutOfRange { ino }) {
            cx.report
                .not_fixed("rebuilding the orphan file is not supported; use e2fsck");
        }
        return Ok(());
    }
    let inode = match cx.read_inode(ino)? {
        // Only a regular file: a superblock naming a directory (or any
        // other file) must not have its blocks read as slots and zeroed.
        Ok(i) if i.mode & mode::S_IFMT == mode::S_IFREG && has_block_tree(&i, cx.bs as u32) => i,
        Ok(_) | Err(_) => {
            if cx.ask(Problem::OrphanFileDamaged { ino }) {
                cx.report
                    .not_fixed("rebuilding the orphan file is not supported; use e2fsck");
            }
            return Ok(());
        }
    };
    let mut blocks = Vec::new();
    let damage = walk(cx, &inode, &mut |item| {
        if let Item::Data { pblk, len, .. } = item {
            for b in pblk.up_to(pblk.saturating_plus(len)) {
                if (blocks.len() as u64) < MAX_ORPHAN_FILE_BLOCKS {
                    blocks.push(b);
                }
            }
        }
    })?;
    if !damage.is_empty() {
        // Pass 1 reports the tree itself.
        return Ok(());
    }
    let mut all_fixed = true;
    let mut any_kept = false;
    for &b in &blocks {
        let mut buf = cx.read_block(b)?;
        let mut changed = false;
        for s in 0..block_slots(&buf).len() {
            let o_ino = InodeNo(block_slots(&buf)[s].get());
            if o_ino.0 == 0 {
                continue;
            }
            if !cx.inode_in_range(o_ino) || o_ino.0 < cx.sb.first_ino {
                if cx.ask(Problem::OrphanSlotOutOfRange { ino: o_ino }) {
                    block_slots_mut(&mut buf)[s].set(0);
                    changed = true;
                } else {
                    all_fixed = false;
                }
                continue;
            }
            if cx.opts.keep_orphans.contains(&o_ino) && cx.found.orphans.insert(o_ino) {
                // Held open by a live mount: it stays in the file.
                any_kept = true;
                continue;
            }
            let (o, _) = orphan_inode(cx, o_ino)?;
            // A second slot naming an inode already seen (here or on the
            // list) is stale: the inode is dealt with once.
            let dup = !cx.found.orphans.insert(o_ino);
            if dup || o.mode & mode::S_IFMT == 0 {
                let problem = if dup {
                    Problem::OrphanSlotTwice { ino: o_ino }
                } else {
                    Problem::OrphanSlotFree { ino: o_ino }
                };
                if cx.ask(problem) {
                    block_slots_mut(&mut buf)[s].set(0);
                    changed = true;
                } else {
                    all_fixed = false;
                }
                continue;
            }
            if release(cx, &o, false)? {
                block_slots_mut(&mut buf)[s].set(0);
                changed = true;
            } else {
                all_fixed = false;
            }
        }
        if changed {
            if cx.sb.metadata_csum() {
                seal_block(cx.seed, ino.0, inode.generation.0, b.0, &mut buf);
            }
            cx.write_block(b, &buf)?;
        }
    }
    if all_fixed && !any_kept && cx.sb.has_ro_compat(ro_compat::ORPHAN_PRESENT) && cx.dev.writable()
    {
        cx.sb.feature_ro_compat &= !ro_compat::ORPHAN_PRESENT;
        cx.write_superblock()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use fuse4fs_format::ext4::orphan::{BLOCK_MAGIC, block_checksum, block_tail};
    use fuse4fs_format::ext4::superblock::ro_compat;

    use super::*;
    use crate::device::Device;
    use crate::options::{Mode, Options};
    use crate::pass5::testkit::*;
    use crate::problem::Kind;

    fn image(args: &[&str]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let img = mkfs(
            dir.path(),
            args,
            "16M",
            &[
                ("a", b"hello\n".to_vec()),
                ("b", vec![7u8; 100_000]),
                ("c", vec![9u8; 50_000]),
            ],
        );
        (dir, img)
    }

    fn open(img: &Path) -> Fsck {
        Fsck::open(Device::open(img, false).unwrap(), Options::default(), "img").unwrap()
    }

    fn inode_free(img: &Path, ino: u32) -> bool {
        let cx = open(img);
        let raw = cx.read_inode_raw(InodeNo(ino)).unwrap();
        let r = Ext4Inode::of(&raw).unwrap();
        r.i_mode.get() == 0 && r.i_links_count.get() == 0
    }

    #[test]
    fn unlinked_orphans_are_freed() {
        require(&["mkfs.ext4", "e2fsck", "debugfs"]);
        let (_d, img) = image(&["-b", "4096"]);
        // /b (13) and /c (14) unlinked while open: a chain 13 -> 14.
        debugfs(
            &img,
            "unlink /b\nunlink /c\nsif <13> links_count 0\nsif <14> links_count 0\nsif <13> dtime 14\nssv last_orphan 13",
        );
        let (p, _, _) = check(&img, Mode::Check);
        // Left on the list, they are in use (unlinked): only the list
        // is reported.
        assert_eq!(kinds(&p), vec![Kind::Orphan, Kind::Orphan], "{p:#?}");
        let orphan = OrphanId {
            ino: InodeNo(13),
            uid: 0,
            gid: 0,
            mode: 0o100644,
            size: 100000,
        };
        assert_eq!(p[0].problem, Problem::OrphanClear { orphan });
        // e2fsck's words.
        assert_eq!(
            p[0].message,
            "Clearing orphaned inode 13 (uid=0, gid=0, mode=0100644, size=100000)"
        );
        let (p, _, m) = check(&img, Mode::Yes);
        assert!(m && p.iter().all(|p| p.fixed), "{p:#?}");
        assert!(inode_free(&img, 13) && inode_free(&img, 14));
        assert_eq!(open(&img).sb.last_orphan, 0);
        let (p, _, _) = check(&img, Mode::Check);
        assert!(p.is_empty(), "{p:#?}");
        e2fsck_clean(&img).unwrap();
    }

    #[test]
    fn a_truncated_orphan_is_taken_off_the_list() {
        require(&["mkfs.ext4", "e2fsck", "debugfs"]);
        let (_d, img) = image(&["-b", "1024"]);
        // 12 (links 1) chained to 13 (links 1): dtime 13 on 12.
        debugfs(&img, "sif <12> dtime 13\nssv last_orphan 12");
        // -n: not a failure, as e2fsck -fn.
        let (p, notes, _) = check(&img, Mode::Check);
        assert!(p.is_empty(), "{p:#?}");
        assert_eq!(notes.len(), 2, "{notes:?}");
        let (p, _, _) = check(&img, Mode::Yes);
        assert_eq!(kinds(&p), vec![Kind::Orphan; 2]);
        assert!(p.iter().all(|p| p.fixed));
        let cx = open(&img);
        assert_eq!(cx.sb.last_orphan, 0);
        assert_eq!(cx.read_inode(InodeNo(12)).unwrap().unwrap().dtime, 0);
        drop(cx);
        let (p, notes, _) = check(&img, Mode::Check);
        assert!(p.is_empty() && notes.is_empty(), "{p:#?} {notes:?}");
        e2fsck_clean(&img).unwrap();
    }

    #[test]
    fn damaged_lists() {
        require(&["mkfs.ext4", "e2fsck", "debugfs"]);
        for (script, want) in [
            (
                "sif <12> dtime 13\nsif <13> dtime 12\nssv last_orphan 12",
                Problem::OrphanListLoop { ino: InodeNo(12) },
            ),
            (
                "ssv last_orphan 99999",
                Problem::OrphanListOutOfRange {
                    ino: InodeNo(99999),
                },
            ),
            (
                "ssv last_orphan 3",
                Problem::OrphanListOutOfRange { ino: InodeNo(3) },
            ),
            (
                "ssv last_orphan 200",
                Problem::OrphanListFree { ino: InodeNo(200) },
            ),
        ] {
            let (_d, img) = image(&["-b", "4096"]);
            debugfs(&img, script);
            let (p, _, _) = check(&img, Mode::Check);
            let bad: Vec<_> = p.iter().filter(|p| p.kind == Kind::OrphanListBad).collect();
            assert_eq!(bad.len(), 1, "{script}: {p:#?}");
            assert_eq!(bad[0].problem, want, "{script}");
            let (p, _, _) = check(&img, Mode::Yes);
            assert!(p.iter().all(|p| p.fixed), "{p:#?}");
            assert_eq!(open(&img).sb.last_orphan, 0);
            e2fsck_clean(&img).unwrap();
        }
    }

    #[test]
    fn the_orphan_file() {
        require(&["mkfs.ext4", "e2fsck", "debugfs"]);
        let (_d, img) = image(&["-b", "4096", "-O", "orphan_file"]);
        // Inode 12 is the orphan file: /b is 14.
        debugfs(&img, "unlink /b\nsif <14> links_count 0");
        let cx = open(&img);
        let ino = cx.sb.orphan_file_inum;
        let inode = cx.read_inode(InodeNo(ino)).unwrap().unwrap();
        let mut first = None;
        walk(&cx, &inode, &mut |item| {
            if let Item::Data { pblk, .. } = item {
                first.get_or_insert(pblk);
            }
        })
        .unwrap();
        let b = first.unwrap();
        let mut buf = cx.read_block(b).unwrap();
        let bs = buf.len();
        // mke2fs's checksum is the one computed here.
        assert_eq!(block_tail(&buf).ob_magic.get(), BLOCK_MAGIC);
        let c = block_checksum(cx.seed, ino, inode.generation.0, b.0, &buf);
        assert_eq!(block_tail(&buf).ob_checksum.get(), c);
        block_slots_mut(&mut buf)[0].set(14);
        seal_block(cx.seed, ino, inode.generation.0, b.0, &mut buf);
        drop(cx);
        let mut all = std::fs::read(&img).unwrap();
        all[b.0 as usize * bs..(b.0 as usize + 1) * bs].copy_from_slice(&buf);
        std::fs::write(&img, &all).unwrap();
        debugfs(&img, "feature orphan_present");
        let (p, _, _) = check(&img, Mode::Check);
        assert_eq!(kinds(&p)[0], Kind::Orphan, "{p:#?}");
        let (p, _, _) = check(&img, Mode::Yes);
        assert!(p.iter().all(|p| p.fixed), "{p:#?}");
        let cx = open(&img);
        assert!(!cx.sb.has_ro_compat(ro_compat::ORPHAN_PRESENT));
        assert_eq!(block_slots(&cx.read_block(b).unwrap())[0].get(), 0);
        drop(cx);
        assert!(inode_free(&img, 14));
        let (p, _, _) = check(&img, Mode::Check);
        assert!(p.is_empty(), "{p:#?}");
        e2fsck_clean(&img).unwrap();
    }

    /// s_orphan_file_inum naming a directory (the root): its entries are
    /// not orphan slots, and -y must not zero them.
    #[test]
    fn an_orphan_file_that_is_a_directory_is_left_alone() {
        require(&["mkfs.ext4", "e2fsck", "debugfs"]);
        let (_d, img) = image(&["-b", "4096", "-O", "orphan_file"]);
        let mut all = std::fs::read(&img).unwrap();
        all[1024 + ORPHAN_FILE_INUM..1024 + ORPHAN_FILE_INUM + 4]
            .copy_from_slice(&2u32.to_le_bytes());
        std::fs::write(&img, &all).unwrap();
        // The superblock checksum, recomputed.
        debugfs(&img, "ssv mtime 1700000000");
        let root = open(&img).read_inode(InodeNo(2)).unwrap().unwrap();
        let mut blocks = Vec::new();
        walk(&open(&img), &root, &mut |item| {
            if let Item::Data { pblk, .. } = item {
                blocks.push(pblk);
            }
        })
        .unwrap();
        let before: Vec<Vec<u8>> = blocks
            .iter()
            .map(|&b| open(&img).read_block(b).unwrap())
            .collect();
        let (p, _, _) = check(&img, Mode::Yes);
        assert!(p.iter().any(|p| p.kind == Kind::OrphanListBad), "{p:#?}");
        let after: Vec<Vec<u8>> = blocks
            .iter()
            .map(|&b| open(&img).read_block(b).unwrap())
            .collect();
        assert!(before == after, "the root's blocks were rewritten");
    }

    /// Orphan chains through random inodes with random links and
    /// dtimes: never a panic, always finished.
    #[test]
    fn random_orphan_chains_never_panic() {
        require(&["mkfs.ext4", "e2fsck", "debugfs"]);
        let (_d, img) = image(&["-b", "1024"]);
        let base = std::fs::read(&img).unwrap();
        let mut rng = crate::journal::tests::Rng(0xDEAD_BEEF_1234_5678);
        for _ in 0..30 {
            std::fs::write(&img, &base).unwrap();
            let pick = |r: &mut crate::journal::tests::Rng| 1 + r.next() % 20;
            let mut script = format!("ssv last_orphan {}", pick(&mut rng));
            for _ in 0..6 {
                let ino = pick(&mut rng);
                script += &format!(
                    "\nsif <{ino}> dtime {}\nsif <{ino}> links_count {}",
                    pick(&mut rng) * (rng.next() % 3).min(1),
                    rng.next() % 3
                );
            }
            debugfs(&img, &script);
            for mode in [Mode::Check, Mode::Yes, Mode::Check] {
                if let Err(e) = try_check(&img, mode) {
                    eprintln!("{script}: {e}");
                }
            }
        }
    }

    /// Orphans a live mount holds open stay on the list, the others go.
    #[test]
    fn orphans_held_open_are_kept() {
        require(&["mkfs.ext4", "e2fsck", "debugfs"]);
        let (_d, img) = image(&["-b", "4096"]);
        debugfs(
            &img,
            "unlink /a\nunlink /b\nunlink /c\nsif <12> links_count 0\nsif <13> links_count 0\nsif <14> links_count 0\nsif <12> dtime 13\nsif <13> dtime 14\nssv last_orphan 12",
        );
        let (p, _, _) = check_keeping(&img, Mode::Yes, &[12, 14]);
        // 13 is freed (pass 5 then frees its blocks), 12 and 14 stay.
        let orphans: Vec<_> = p.iter().filter(|p| p.kind == Kind::Orphan).collect();
        assert_eq!(orphans.len(), 1, "{p:#?}");
        assert!(
            matches!(orphans[0].problem, Problem::OrphanClear { orphan } if orphan.ino == InodeNo(13)),
            "{orphans:#?}"
        );
        assert!(p.iter().all(|p| p.fixed));
        let cx = open(&img);
        assert_eq!(cx.sb.last_orphan, 12);
        assert_eq!(cx.read_inode(InodeNo(12)).unwrap().unwrap().dtime, 14);
        assert_eq!(cx.read_inode(InodeNo(14)).unwrap().unwrap().dtime, 0);
        drop(cx);
        assert!(inode_free(&img, 13));
        let (p, _, _) = check_keeping(&img, Mode::Check, &[12, 14]);
        assert!(p.is_empty(), "{p:#?}");
        // Once they are closed, the next check frees them.
        let (p, _, _) = check(&img, Mode::Yes);
        assert_eq!(kinds(&p)[..2], [Kind::Orphan, Kind::Orphan], "{p:#?}");
        assert!(inode_free(&img, 12) && inode_free(&img, 14));
        e2fsck_clean(&img).unwrap();
    }

    /// `debugfs -R 'stat <ino>'`'s Blockcount.
    fn blockcount(img: &Path, ino: u32) -> u64 {
        let out = std::process::Command::new("debugfs")
            .args(["-R", &format!("stat <{ino}>")])
            .arg(img)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let at = text.find("Blockcount: ").expect("stat output");
        text[at + 12..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }

    /// The data blocks of inode `ino`, in logical order.
    fn data_blocks(img: &Path, ino: u32) -> Vec<(u64, u64)> {
        let cx = open(img);
        let inode = cx.read_inode(InodeNo(ino)).unwrap().unwrap();
        let mut v = Vec::new();
        walk(&cx, &inode, &mut |item| {
            if let Item::Data {
                lblk, pblk, len, ..
            } = item
            {
                v.extend((0..len).map(|i| (lblk + i, pblk.0 + i)));
            }
        })
        .unwrap();
        v
    }

    /// `debugfs -R 'dump <ino> OUT'`: the file's contents.
    fn contents(img: &Path, ino: u32) -> Vec<u8> {
        let out = img.with_extension("dump");
        let st = std::process::Command::new("debugfs")
            .args(["-R", &format!("dump <{ino}> {}", out.display())])
            .arg(img)
            .output()
            .unwrap();
        assert!(st.status.success());
        std::fs::read(out).unwrap()
    }

    /// Files whose truncation to `size` was cut short are truncated as
    /// e2fsck -y truncates them: same blocks left, contents up to the
    /// size kept.
    #[test]
    fn interrupted_truncations_are_finished() {
        require(&["mkfs.ext4", "e2fsck", "debugfs"]);
        // A sparse file of many extents (an extent tree of depth 1 with
        // 1 KiB blocks).
        let mut sparse = vec![0u8; 2_000_000];
        for i in 0..500 {
            sparse[i * 4000..i * 4000 + 1000].fill(i as u8 | 1);
        }
        let big: Vec<u8> = (0..400_000u32).map(|i| (i % 251) as u8).collect();
        for (args, data, size) in [
            (&["-b", "4096"][..], big.clone(), 10_000u64),
            (&["-b", "4096"][..], big.clone(), 0),
            (&["-b", "1024"][..], sparse.clone(), 1_000_500),
            (&["-b", "1024"][..], sparse.clone(), 3_000),
            (&["-t", "ext3", "-b", "1024"][..], big.clone(), 5_000),
            (&["-t", "ext3", "-b", "1024"][..], big.clone(), 300_000),
            (&["-t", "ext3", "-b", "1024"][..], big.clone(), 100_000),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let img = mkfs(dir.path(), args, "16M", &[("f", data.clone())]);
            debugfs(&img, &format!("sif <12> size {size}\nssv last_orphan 12"));
            let theirs = dir.path().join("theirs");
            std::fs::copy(&img, &theirs).unwrap();
            let st = std::process::Command::new("e2fsck")
                .arg("-fy")
                .arg(&theirs)
                .output()
                .unwrap();
            assert!(st.status.code().unwrap() <= 1, "{st:?}");
            let (p, _, _) = check(&img, Mode::Yes);
            assert_eq!(p[0].kind, Kind::Orphan, "{p:#?}");
            assert!(p.iter().all(|p| p.fixed), "{p:#?}");
            let label = format!("{args:?} size {size}");
            // The same data blocks left; the tree's own blocks may differ
            // (e2fsck -y also rebuilds trees it finds too deep).
            assert_eq!(data_blocks(&img, 12), data_blocks(&theirs, 12), "{label}");
            let tree = |img: &Path| {
                blockcount(img, 12) / (open(img).bs / 512) - data_blocks(img, 12).len() as u64
            };
            let (ours, e2) = (tree(&img), tree(&theirs));
            assert!(ours <= e2 + 1, "{label}: {ours} tree blocks, e2fsck {e2}");
            assert_eq!(contents(&img, 12), data[..size as usize], "{label}");
            let (p, _, _) = check(&img, Mode::Check);
            assert!(p.is_empty(), "{label}: {p:#?}");
            e2fsck_clean(&img).unwrap();
        }
    }
}
