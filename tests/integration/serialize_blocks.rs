//! The write-side primitives against what mke2fs, e2fsck and the kernel
//! write: every directory leaf, dx node, extent node and both bitmaps of
//! every group are rebuilt from their parsed form (checksums recomputed)
//! and must come out byte for byte as found on disk. Then one edit: a new
//! entry added with `dir::insert_entry` into a linear directory's leaf
//! must pass `e2fsck -fn` and be visible through a kernel mount.
//!
//! Images (each with and without metadata_csum, 4 KiB blocks, groups of
//! 8192 blocks so the last group is partial):
//! - base: `mkfs.ext4 -d` with a 300-entry linear directory, then a
//!   kernel loop mount writes every other block of a file until its
//!   extent tree has an index block (depth 2);
//! - indexed: a copy of base after `e2fsck -fyD` (htree directories).
//!
//! Skipped with a message without mkfs.ext4/debugfs/e2fsck or root.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use fuse4fs::ext4::bitmap::{Bitmap, block_bitmap_checksum, inode_bitmap_checksum};
use fuse4fs::ext4::dir::{self, DirIter, TAIL_SIZE, ft};
use fuse4fs::ext4::extents::{Extent, ExtentNode, set_block_checksum};
use fuse4fs::ext4::group::{BG_BLOCK_UNINIT, BG_INODE_UNINIT, GroupDesc};
use fuse4fs::ext4::htree::{self, DxRootInfo};
use fuse4fs::ext4::inode::{Inode, flags};
use fuse4fs::ext4::superblock::Superblock;
use fuse4fs::ext4::{ExtentAt, InodeNo};
use fuse4fs::fs::{Fs, FsOptions};

const LINEAR_ENTRIES: usize = 300;
const HASHED_ENTRIES: usize = 600;
/// Long names: with 1 KiB blocks three fit in a leaf, so the htree needs
/// more leaves than a dx root holds and gets interior nodes.
const DEEP_ENTRIES: usize = 700;
/// Written blocks of the fragmented file: past 4 leaves of 340 extents.
const FRAG_BLOCKS: u64 = 1500;

fn get_le32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}

/// `cmd args`: its exit code and its output (stdout then stderr).
fn run(cmd: &str, args: &[&str]) -> (i32, String) {
    fuse4fs_testkit::e2fs::output(Command::new(cmd).args(args))
}

fn run_ok(cmd: &str, args: &[&str]) -> String {
    let (code, text) = run(cmd, args);
    assert_eq!(code, 0, "{cmd} {args:?}:\n{text}");
    text
}

/// Unmounts on drop, so a failed assertion leaves no mount behind.
struct Mounted(PathBuf);

impl Mounted {
    fn new(img: &Path, mnt: &Path, opts: &str) -> Self {
        fs::create_dir_all(mnt).unwrap();
        run_ok(
            "mount",
            &["-o", opts, img.to_str().unwrap(), mnt.to_str().unwrap()],
        );
        Mounted(mnt.to_path_buf())
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let (code, text) = run("umount", &[self.0.to_str().unwrap()]);
        if code != 0 {
            eprintln!("umount {}: {text}", self.0.display());
        }
    }
}

fn target_contents() -> Vec<u8> {
    (0..10_000u32).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn build_source(src: &Path) {
    fs::create_dir_all(src.join("linear")).unwrap();
    fs::create_dir_all(src.join("hashed")).unwrap();
    for i in 0..LINEAR_ENTRIES {
        // Names of every length 1.. (wrapping at 255): records of all sizes.
        let len = 1 + (i * 37) % 255;
        let name = format!("{i:03}{}", "n".repeat(len.saturating_sub(3)));
        fs::write(src.join("linear").join(&name[..len.max(3)]), b"x").unwrap();
    }
    for i in 0..HASHED_ENTRIES {
        fs::write(src.join("hashed").join(format!("entry-{i:05}")), b"").unwrap();
    }
    fs::create_dir_all(src.join("deep")).unwrap();
    for i in 0..DEEP_ENTRIES {
        let name = format!("{i:05}-{}", "d".repeat(240));
        fs::write(src.join("deep").join(name), b"").unwrap();
    }
    fs::write(src.join("target"), target_contents()).unwrap();
}

/// mkfs -d, then a kernel mount writes the fragmented file.
fn make_base(work: &Path, src: &Path, csum: bool, bs: usize) -> PathBuf {
    let img = work.join(format!(
        "base-{bs}-{}.img",
        if csum { "csum" } else { "nocsum" }
    ));
    File::create(&img).unwrap().set_len(100 << 20).unwrap();
    let bs_arg = bs.to_string();
    let mut args = vec!["-q", "-F", "-b", &bs_arg, "-g", "8192", "-N", "4096"];
    if !csum {
        args.extend(["-O", "^metadata_csum"]);
    }
    args.extend(["-d", src.to_str().unwrap(), img.to_str().unwrap()]);
    run_ok("mkfs.ext4", &args);
    {
        let mnt = work.join("mnt");
        let _m = Mounted::new(&img, &mnt, "loop");
        let f = File::create(mnt.join("frag")).unwrap();
        let block: Vec<u8> = (0..bs).map(|i| (i % 253) as u8).collect();
        for i in 0..FRAG_BLOCKS {
            f.write_all_at(&block, 2 * i * bs as u64).unwrap();
        }
        f.sync_all().unwrap();
    }
    run_ok("e2fsck", &["-fn", img.to_str().unwrap()]);
    img
}

fn make_indexed(base: &Path) -> PathBuf {
    let img = base.with_extension("indexed.img");
    fs::copy(base, &img).unwrap();
    let (code, text) = run("e2fsck", &["-fyD", img.to_str().unwrap()]);
    assert!(code == 0 || code == 1, "e2fsck -fyD: {text}");
    let dump = run_ok(
        "debugfs",
        &["-R", "htree_dump /hashed", img.to_str().unwrap()],
    );
    assert!(dump.contains("Root node dump"), "not indexed:\n{dump}");
    img
}

#[derive(Default, Debug)]
struct Counts {
    leaves: usize,
    dx_roots: usize,
    dx_nodes: usize,
    extent_roots: usize,
    extent_blocks: usize,
    max_depth: u16,
    block_bitmaps: usize,
    inode_bitmaps: usize,
}

struct Image {
    file: File,
    bs: usize,
    sb: Superblock,
    seed: u32,
    csum: bool,
}

impl Image {
    fn block(&self, b: u64) -> Vec<u8> {
        let mut v = vec![0u8; self.bs];
        self.file.read_exact_at(&mut v, b * self.bs as u64).unwrap();
        v
    }
}

/// Walks the extent tree of `inode`, rebuilding each node; returns the
/// leaf extents in order.
fn walk_extents(img: &Image, inode: &Inode, n: &mut Counts) -> Vec<Extent> {
    let ino = inode.ino;
    let root = ExtentNode::parse(&inode.block, None, ExtentAt::Root { ino }).unwrap();
    let used = 12 + 12 * root.header().entries as usize;
    let mut out = [0u8; 60];
    root.write_to(&mut out).unwrap();
    // Slots past eh_entries may keep stale entries (the kernel leaves
    // them when the tree grows): only header and entries are compared.
    assert_eq!(out[..used], inode.block[..used], "{} root", inode.ino);
    n.extent_roots += 1;
    n.max_depth = n.max_depth.max(root.header().depth);
    let mut extents = Vec::new();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        match node {
            ExtentNode::Leaf(_, v) => extents.extend(v),
            ExtentNode::Index(h, v) => {
                for idx in v.iter().rev() {
                    let raw = img.block(idx.child.0);
                    let at = ExtentAt::Block {
                        ino,
                        block: idx.child,
                    };
                    let child = ExtentNode::parse(&raw, Some(h.depth - 1), at).unwrap();
                    let mut out = vec![0u8; img.bs];
                    child.write_to(&mut out).unwrap();
                    if img.csum {
                        assert!(set_block_checksum(
                            img.seed,
                            inode.ino,
                            inode.generation,
                            &mut out
                        ));
                    }
                    assert!(out == raw, "{} extent block {}", inode.ino, idx.child);
                    n.extent_blocks += 1;
                    stack.push(child);
                }
            }
        }
    }
    extents
}

fn physical(extents: &[Extent], lblk: u32) -> u64 {
    let e = extents
        .iter()
        .find(|e| e.lblk <= lblk && lblk < e.lblk + e.len as u32)
        .unwrap_or_else(|| panic!("logical block {lblk} unmapped"));
    e.pblk.0 + (lblk - e.lblk) as u64
}

/// The dx root and interior node logical blocks of an indexed directory,
/// each rebuilt and compared.
fn check_htree(img: &Image, dir: &Inode, extents: &[Extent], n: &mut Counts) -> BTreeSet<u32> {
    let raw = img.block(physical(extents, 0));
    let (info, root) = htree::parse_root(&raw, img.csum, dir.ino).unwrap();
    let mut out = vec![0u8; img.bs];
    let off = htree::write_root_head(
        &mut out,
        get_le32(&raw, 0),
        get_le32(&raw, 12),
        true,
        DxRootInfo { ..info },
        img.csum,
    );
    assert_eq!(off, root.entries_offset);
    root.write_to(&mut out);
    if img.csum {
        assert!(htree::set_node_checksum(
            img.seed,
            dir.ino,
            dir.generation,
            &mut out
        ));
    }
    assert!(out == raw, "{} dx root", dir.ino);
    n.dx_roots += 1;
    let mut nodes = BTreeSet::from([0u32]);
    let mut level = vec![root];
    for _ in 0..info.indirect_levels {
        let mut next = Vec::new();
        for node in &level {
            for e in &node.entries {
                let raw = img.block(physical(extents, e.block));
                let child = htree::parse_node(&raw, img.csum, dir.ino, e.block as u64).unwrap();
                let mut out = vec![0u8; img.bs];
                let off = htree::init_node(&mut out, img.csum);
                assert_eq!(off, child.entries_offset);
                child.write_to(&mut out);
                if img.csum {
                    assert!(htree::set_node_checksum(
                        img.seed,
                        dir.ino,
                        dir.generation,
                        &mut out
                    ));
                }
                assert!(out == raw, "{} dx node {}", dir.ino, e.block);
                n.dx_nodes += 1;
                nodes.insert(e.block);
                next.push(child);
            }
        }
        level = next;
    }
    nodes
}

fn check_leaf(img: &Image, dir: &Inode, raw: &[u8], lblk: u32, n: &mut Counts) -> Vec<u32> {
    let usable = if img.csum { img.bs - TAIL_SIZE } else { img.bs };
    if img.csum {
        assert!(dir::has_tail(raw), "{} block {lblk}: no tail", dir.ino);
    }
    let mut out = vec![0u8; img.bs];
    if img.csum {
        dir::set_leaf_tail(&mut out);
    }
    let mut children = Vec::new();
    for e in DirIter::new(&raw[..usable], img.bs, u32::MAX, true) {
        let e = e.unwrap();
        dir::write_entry(&mut out, e.offset, e.inode, e.rec_len, e.name, e.file_type);
        if e.inode != 0 && e.name != b"." && e.name != b".." {
            children.push(e.inode);
        }
    }
    if img.csum {
        dir::set_leaf_checksum(img.seed, dir.ino, dir.generation, &mut out);
    }
    assert!(out == raw, "{} leaf block {lblk}", dir.ino);
    n.leaves += 1;
    children
}

/// Rebuilds bitmap block `raw` from its first `bits` bits (the group's
/// share; the rest marked as the tail) and asserts it comes out as found,
/// with `free` of those bits clear. `what` names it in failures.
fn rebuild_bitmap(raw: &[u8], bits: usize, free: u32, what: &str) {
    let parsed = Bitmap::new(raw);
    let mut out = Bitmap::new(vec![0u8; raw.len()]);
    for i in (0..bits).filter(|&i| parsed.get(i)) {
        out.set(i);
    }
    out.mark_tail(bits);
    assert!(out.bytes() == raw, "{what} bitmap");
    assert_eq!(parsed.count_zeros(bits) as u32, free, "{what}: free bits");
}

fn check_bitmaps(img: &Image, n: &mut Counts) {
    let sb = &img.sb;
    let bpg = sb.blocks_per_group as u64;
    let ipg = sb.inodes_per_group as usize;
    let uninit_flags = img.csum || sb.gdt_csum();
    for g in 0..sb.group_count() {
        let (blk, off) = sb.group_desc_location(g);
        let raw = img.block(blk.0);
        let desc = &raw[off..off + sb.desc_size as usize];
        let gd = GroupDesc::parse(sb, desc);
        let wide = sb.desc_size >= 64;
        let stored = |lo_hi: u32| if wide { lo_hi } else { lo_hi & 0xFFFF };
        let fold = |c: u32| if wide { c } else { c & 0xFFFF };
        let in_group = (sb.blocks_count - sb.first_data_block as u64 - g as u64 * bpg).min(bpg);
        let in_group = in_group as usize;

        if !(uninit_flags && gd.flags & BG_BLOCK_UNINIT != 0) {
            let raw = img.block(gd.block_bitmap.0);
            rebuild_bitmap(
                &raw,
                in_group,
                gd.free_blocks_count,
                &format!("group {g} block"),
            );
            if img.csum {
                let c = block_bitmap_checksum(img.seed, &raw[..bpg as usize / 8]);
                assert_eq!(fold(c), stored(gd.block_bitmap_csum), "group {g} bb csum");
            }
            n.block_bitmaps += 1;
        }
        if !(uninit_flags && gd.flags & BG_INODE_UNINIT != 0) {
            let raw = img.block(gd.inode_bitmap.0);
            rebuild_bitmap(&raw, ipg, gd.free_inodes_count, &format!("group {g} inode"));
            if img.csum {
                let c = inode_bitmap_checksum(img.seed, &raw[..ipg / 8]);
                assert_eq!(fold(c), stored(gd.inode_bitmap_csum), "group {g} ib csum");
            }
            n.inode_bitmaps += 1;
        }
    }
}

/// Rebuilds every block named in the module doc; returns what was seen.
fn check_image(path: &Path) -> Counts {
    let fs = Fs::open(path, &FsOptions::default()).unwrap();
    let sb = fs.superblock().clone();
    let img = Image {
        file: File::open(path).unwrap(),
        bs: sb.block_size() as usize,
        seed: sb.csum_seed(),
        csum: sb.metadata_csum(),
        sb,
    };
    let mut n = Counts::default();
    check_bitmaps(&img, &mut n);

    let mut queue = vec![InodeNo::ROOT.0, 8];
    let mut seen = BTreeSet::new();
    while let Some(ino) = queue.pop() {
        if !seen.insert(ino) {
            continue;
        }
        let inode = fs.inode(InodeNo(ino)).unwrap();
        if !inode.has_flag(flags::EXTENTS) || !(inode.is_dir() || inode.is_reg()) {
            continue;
        }
        let extents = walk_extents(&img, &inode, &mut n);
        if !inode.is_dir() {
            continue;
        }
        let nodes = if inode.has_flag(flags::INDEX) {
            check_htree(&img, &inode, &extents, &mut n)
        } else {
            BTreeSet::new()
        };
        for lblk in 0..(inode.size / img.bs as u64) as u32 {
            if nodes.contains(&lblk) {
                continue;
            }
            let raw = img.block(physical(&extents, lblk));
            queue.extend(check_leaf(&img, &inode, &raw, lblk, &mut n));
        }
    }
    n
}

/// Reads logical block `lblk` of `dir`, lets `edit` change it, and when
/// it says so writes it back with a fresh leaf checksum. The tail must
/// come through untouched and a refused edit must change nothing.
fn edit_leaf(
    img: &Image,
    dir: &Inode,
    extents: &[Extent],
    lblk: u32,
    edit: impl FnOnce(&mut [u8], usize) -> bool,
) -> bool {
    let usable = if img.csum { img.bs - TAIL_SIZE } else { img.bs };
    let pblk = physical(extents, lblk);
    let mut raw = img.block(pblk);
    let before = raw.clone();
    if !edit(&mut raw, usable) {
        assert_eq!(raw, before, "a refused edit changed block {lblk}");
        return false;
    }
    assert_eq!(raw[usable..], before[usable..], "tail touched");
    if img.csum {
        dir::set_leaf_checksum(img.seed, dir.ino, dir.generation, &mut raw);
    }
    img.file.write_all_at(&raw, pblk * img.bs as u64).unwrap();
    true
}

/// In a copy of `base`, with our functions only: adds
/// `linear/added-by-fuse4fs` naming /target's inode (its link count then
/// bumped by debugfs), and moves the first entry of a later leaf into
/// another leaf (remove_entry on a first entry, then insert_entry).
/// e2fsck and the kernel judge the result.
fn edit_and_verify(work: &Path, base: &Path) {
    let img_path = base.with_extension("edit.img");
    fs::copy(base, &img_path).unwrap();
    let added = b"added-by-fuse4fs";
    let target_ino;
    let moved: Vec<u8>;
    {
        let fs = Fs::open(&img_path, &FsOptions::default()).unwrap();
        let sb = fs.superblock().clone();
        let root = fs.inode(InodeNo::ROOT).unwrap();
        target_ino = fs.lookup(&root, b"target").unwrap().ino;
        assert_eq!(fs.inode(target_ino).unwrap().links_count, 1);
        let linear = fs.inode(fs.lookup(&root, b"linear").unwrap().ino).unwrap();
        assert!(!linear.has_flag(flags::INDEX), "linear dir got indexed");
        let img = Image {
            bs: sb.block_size() as usize,
            file: OpenOptions::new()
                .read(true)
                .write(true)
                .open(&img_path)
                .unwrap(),
            seed: sb.csum_seed(),
            csum: sb.metadata_csum(),
            sb,
        };
        let nblocks = (linear.size / img.bs as u64) as u32;
        assert!(nblocks > 2, "linear dir has {nblocks} blocks");
        let mut n = Counts::default();
        let extents = walk_extents(&img, &linear, &mut n);

        let fitted = (0..nblocks).any(|lblk| {
            edit_leaf(&img, &linear, &extents, lblk, |b, usable| {
                dir::insert_entry(b, usable, target_ino.0, added, ft::REG).unwrap()
            })
        });
        assert!(fitted, "no leaf of /linear had room");

        // Move the first entry of the leaf (past block 0) whose first name
        // is shortest into another leaf (or, failing that, back into the
        // slot it left).
        let first_of = |lblk: u32| {
            let raw = img.block(physical(&extents, lblk));
            let e = DirIter::new(&raw, img.bs, u32::MAX, true)
                .next()
                .unwrap()
                .unwrap();
            (
                e.name.len(),
                lblk,
                e.inode,
                e.file_type,
                e.rec_len,
                e.name.to_vec(),
            )
        };
        let (_, from, ino, ftype, rec_len, name) = (1..nblocks).map(first_of).min().unwrap();
        assert_ne!(ino, 0);
        moved = name;
        assert!(edit_leaf(&img, &linear, &extents, from, |b, usable| {
            assert_eq!(dir::remove_entry(b, usable, &moved).unwrap(), Some(ino));
            // A first entry keeps its rec_len and loses inode and name.
            assert_eq!(get_le32(b, 0), 0);
            assert_eq!(u16::from_le_bytes([b[4], b[5]]) as usize, rec_len);
            assert!(b[6..rec_len].iter().all(|&x| x == 0));
            true
        }));
        let order = (0..nblocks).filter(|&l| l != from).chain([from]);
        let into = order.into_iter().find(|&lblk| {
            edit_leaf(&img, &linear, &extents, lblk, |b, usable| {
                dir::insert_entry(b, usable, ino, &moved, ftype).unwrap()
            })
        });
        eprintln!(
            "moved a {}-byte name from leaf {from} to leaf {into:?}",
            moved.len()
        );
        assert!(into.is_some());
        img.file.sync_all().unwrap();
    }
    let imgs = img_path.to_str().unwrap();
    run_ok(
        "debugfs",
        &[
            "-w",
            "-R",
            &format!("sif <{}> links_count 2", target_ino.0),
            imgs,
        ],
    );
    let (code, text) = run("e2fsck", &["-fn", imgs]);
    assert_eq!(code, 0, "e2fsck -fn after the edits:\n{text}");
    let mnt = work.join("mnt-edit");
    let _m = Mounted::new(&img_path, &mnt, "loop,ro");
    let names: Vec<_> = fs::read_dir(mnt.join("linear"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), LINEAR_ENTRIES + 1);
    let p = mnt.join("linear").join(std::str::from_utf8(added).unwrap());
    assert_eq!(fs::read(&p).unwrap(), target_contents());
    use std::os::unix::fs::MetadataExt;
    let md = fs::metadata(&p).unwrap();
    assert_eq!((md.ino(), md.nlink()), (target_ino.0 as u64, 2));
    let moved_path = mnt
        .join("linear")
        .join(std::str::from_utf8(&moved).unwrap());
    assert_eq!(fs::read(moved_path).unwrap(), b"x");
}

#[test]
fn serialized_blocks_match_mkfs_e2fsck_and_kernel() {
    crate::common::require_kernel_mounts(&["mkfs.ext4", "debugfs", "e2fsck", "mount", "umount"]);
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let src = work.join("src");
    build_source(&src);
    for (csum, bs) in [(true, 4096), (false, 4096), (true, 1024)] {
        let base = make_base(work, &src, csum, bs);
        let indexed = make_indexed(&base);
        let b = check_image(&base);
        let i = check_image(&indexed);
        eprintln!("csum {csum} bs {bs}: base {b:?}\nindexed {i:?}");
        // 300 entries of up to 255-byte names need many blocks.
        assert!(b.leaves > 10, "{b:?}");
        assert_eq!(b.dx_roots, 0, "mkfs -d made an htree: {b:?}");
        assert!(b.max_depth >= 2 && b.extent_blocks > 5, "{b:?}");
        assert!(b.block_bitmaps >= 2 && b.inode_bitmaps >= 1, "{b:?}");
        assert!(i.dx_roots >= 3, "{i:?}");
        if bs == 1024 {
            assert!(i.dx_nodes >= 2, "no interior dx nodes: {i:?}");
        }
        assert!(i.leaves > 10, "{i:?}");
        edit_and_verify(work, &base);
    }
}
