//! Pass 2 on images made by mkfs.ext4 and damaged with debugfs or byte
//! edits. `found` is filled here by a plain walk of every inode, so that
//! pass 2 is tested on its own, whatever pass 1 would repair first.

use fuse4fs_format::ext4::{BlockNo, InodeNo};
use std::path::{Path, PathBuf};
use std::process::Command;

use fuse4fs_format::ext4::inode::{flags, mode};

use crate::blockwalk::{self, Item};
use crate::context::{DirBlock, DirInfo, Fsck, InodeInfo};
use crate::options::Mode;
use crate::problem::Kind;
use crate::report::Finding;
use crate::testutil::{debugfs, ino_of, kinds, mkfs_filled as mkfs, open, peek, poke, require};

/// The physical block of logical block `lblk` of `path`.
fn bmap(img: &Path, path: &str, lblk: u64) -> u64 {
    let out = fuse4fs_testkit::e2fs::debugfs(img, &format!("bmap {path} {lblk}"));
    out.trim().parse().unwrap()
}

fn block_size(img: &Path) -> u64 {
    let cx = open(img, Mode::Check);
    cx.bs
}

fn read_block(img: &Path, b: u64) -> Vec<u8> {
    let bs = block_size(img);
    peek(img, b * bs, bs as usize)
}

fn write_block(img: &Path, b: u64, data: &[u8]) {
    poke(img, b * data.len() as u64, data);
}

/// Scaffolding standing in for pass 1: every inode with links in use,
/// every directory and its blocks listed.
fn fill_found(cx: &mut Fsck) {
    let bs = cx.bs;
    crate::setup::run(cx).unwrap();
    for ino in cx.inode_numbers() {
        let Ok(inode) = cx.read_inode(ino).unwrap() else {
            continue;
        };
        if inode.links_count == 0 || inode.mode == 0 {
            continue;
        }
        // Every block in use, so that repairs allocate only free ones.
        if inode.file_acl != 0 {
            cx.found.claim(BlockNo(inode.file_acl));
        }
        if blockwalk::has_block_tree(&inode, bs as u32) {
            let mut owned = Vec::new();
            blockwalk::walk(cx, &inode, &mut |item| match item {
                Item::Tree { pblk, .. } => owned.push(pblk),
                Item::Data { pblk, len, .. } => owned.extend(pblk.run(len)),
            })
            .unwrap();
            for b in owned {
                cx.found.claim(b);
            }
        }
        *cx.found.inode_mut(ino) = InodeInfo {
            ftype: (inode.mode >> 12) as u8,
            links: inode.links_count,
            refs: 0,
            empty: inode.size == 0,
        };
        if inode.mode & mode::S_IFMT != mode::S_IFDIR {
            continue;
        }
        let inline = inode.has_flag(flags::INLINE_DATA);
        cx.found.dirs.insert(
            ino,
            DirInfo {
                generation: inode.generation,
                indexed: inode.has_flag(flags::INDEX),
                inline,
                size: inode.size,
                ..DirInfo::default()
            },
        );
        if inline {
            continue;
        }
        let nblocks = inode.size.div_ceil(bs);
        let mut list = Vec::new();
        blockwalk::walk(cx, &inode, &mut |item| {
            if let Item::Data {
                lblk, pblk, len, ..
            } = item
            {
                for k in 0..len {
                    if lblk + k < nblocks {
                        list.push(DirBlock {
                            pblk: pblk.plus(k),
                            ino,
                            lblk: lblk + k,
                        });
                    }
                }
            }
        })
        .unwrap();
        cx.found.dir_blocks.extend(list);
    }
    cx.found.dir_blocks.sort_unstable();
}

/// Pass 2 alone over `img`; its problems and the state it leaves.
fn pass2(img: &Path, mode: Mode) -> (Vec<Finding>, Fsck) {
    let mut cx = open(img, mode);
    fill_found(&mut cx);
    super::run(&mut cx).unwrap();
    let problems = std::mem::take(&mut cx.report.problems);
    (problems, cx)
}

/// e2fsck -fn's exit code and output.
fn e2fsck(img: &Path) -> (i32, String) {
    fuse4fs_testkit::e2fs::e2fsck(img, "-fn")
}

/// What e2fsck -fn says in its pass 2 (empty when pass 2 is clean).
fn e2fsck_pass2(img: &Path) -> String {
    let (_, out) = e2fsck(img);
    let start = out
        .find("Pass 2:")
        .map(|i| i + out[i..].find('\n').unwrap() + 1);
    let end = out.find("Pass 3:");
    match (start, end) {
        (Some(s), Some(e)) if s <= e => out[s..e].trim().to_string(),
        _ => format!("unexpected e2fsck output: {out}"),
    }
}

/// Repairs `img` (scribbled with `seed`) with pass 2 in -y and asserts
/// the repair holds: every problem fixed, none left for a second run.
/// The problems the repair met.
fn assert_repaired(img: &Path, seed: u64) -> Vec<Finding> {
    let (p_first, _) = pass2(img, Mode::Yes);
    assert!(p_first.iter().all(|p| p.fixed), "seed {seed}: {p_first:?}");
    let (p, _) = pass2(img, Mode::Check);
    assert!(p.is_empty(), "seed {seed}: second run found {p:?}");
    p_first
}

/// What e2fsck's pass 2 says but its prompts and a missing '..': a '..'
/// made anew names no inode until pass 3 sets it, and e2fsck still calls
/// it missing (to be dropped once pass 3 is merged).
fn e2fsck_pass2_but_dotdot(img: &Path) -> Vec<String> {
    e2fsck_pass2(img)
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("Fix?") && !l.starts_with("Missing '..'"))
        .map(str::to_string)
        .collect()
}

/// Pass 2 in -n over `img`: asserts it finds nothing and leaves counts
/// that agree with the link counts; its state.
fn assert_clean(img: &Path) -> Fsck {
    let (p, cx) = pass2(img, Mode::Check);
    assert!(p.is_empty(), "{}: {p:?}", img.display());
    assert_counts_match(&cx);
    cx
}

/// Asserts the counts pass 2 leaves agree with the link counts of an
/// undamaged filesystem (what pass 4 will compare).
fn assert_counts_match(cx: &Fsck) {
    let mut subdirs = std::collections::HashMap::<InodeNo, u32>::new();
    for d in cx.found.dirs.values() {
        *subdirs.entry(d.dotdot).or_default() += 1;
    }
    for (ino, info) in cx.found.inodes.iter() {
        if !info.in_use() || ino.0 < cx.sb.first_ino && ino != InodeNo::ROOT {
            continue;
        }
        let want = if info.is_dir() {
            // (The root's own '..' counts among its subdirectories'.)
            info.refs + 1 + subdirs.get(&ino).copied().unwrap_or(0)
        } else {
            info.refs
        };
        assert!(
            info.links as u32 == want || (info.is_dir() && info.links == 1),
            "{ino}: links {} but counted {want}",
            info.links
        );
    }
    for (&ino, d) in &cx.found.dirs {
        if ino != InodeNo(2) {
            assert_eq!(d.parent, d.dotdot, "dir {ino}");
        }
    }
}

fn tree(src: &Path) {
    std::fs::create_dir(src.join("d")).unwrap();
    std::fs::create_dir(src.join("d/sub")).unwrap();
    for i in 0..20 {
        std::fs::write(src.join(format!("d/file{i:02}")), format!("{i}")).unwrap();
    }
    std::os::unix::fs::symlink("file01", src.join("d/link")).unwrap();
    std::fs::write(src.join("top"), b"x").unwrap();
}

/// An image of [`tree`] made with `args` in `dir`; /d's first block:
/// its number and its bytes (for the test to damage).
fn tree_with_d_block(dir: &Path, args: &[&str]) -> (PathBuf, u64, Vec<u8>) {
    let img = mkfs(dir, args, "8M", tree);
    let b = bmap(&img, "/d", 0);
    let blk = read_block(&img, b);
    (img, b, blk)
}

#[test]
fn catalog_images_are_clean_and_counted() {
    let dir = std::env::var("FUSE4FS_IMAGES")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/images"));
    let Ok(rd) = std::fs::read_dir(&dir) else {
        fuse4fs_testkit::skip!("no catalog images in {}", dir.display());
        return;
    };
    let mut n = 0;
    for e in rd {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "img") {
            continue;
        }
        assert_clean(&p);
        n += 1;
    }
    eprintln!("{n} catalog images checked");
}

#[test]
fn fresh_images_are_clean_on_every_layout() {
    require(&["mkfs.ext4"]);
    for args in [
        &["-b", "4096"][..],
        &["-b", "1024", "-O", "^metadata_csum"],
        &["-t", "ext2", "-b", "2048"],
        &["-b", "1024", "-O", "^filetype,^metadata_csum"],
        &["-O", "inline_data", "-I", "256"],
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let img = mkfs(tmp.path(), args, "8M", tree);
        assert_clean(&img);
    }
}

#[test]
fn entry_naming_a_free_inode_is_removed() {
    require(&["mkfs.ext4", "debugfs", "e2fsck"]);
    let tmp = tempfile::tempdir().unwrap();
    let img = mkfs(tmp.path(), &["-b", "4096"], "8M", tree);
    let victim = ino_of(&img, "/d/file07");
    debugfs(&img, &format!("clri <{victim}>"));
    let (p, _) = pass2(&img, Mode::Check);
    assert_eq!(kinds(&p), [Kind::DirEntryFreeInode]);
    let (p, _) = pass2(&img, Mode::Yes);
    assert!(p.iter().all(|p| p.fixed));
    assert_eq!(e2fsck_pass2(&img), "");
    assert_clean(&img);
}

#[test]
fn torn_block_keeps_the_entries_before_the_damage() {
    require(&["mkfs.ext4", "debugfs", "e2fsck"]);
    for args in [&["-b", "4096"][..], &["-b", "1024", "-O", "^metadata_csum"]] {
        let tmp = tempfile::tempdir().unwrap();
        let (img, b, mut blk) = tree_with_d_block(tmp.path(), args);
        // Tear the block after its fifth entry: garbage from there on.
        let (mut off, mut fifth) = (0, 0);
        for _ in 0..5 {
            fifth = off;
            off += u16::from_le_bytes([blk[off + 4], blk[off + 5]]) as usize;
        }
        let kept = off;
        blk[off + 4..off + 6].copy_from_slice(&7u16.to_le_bytes());
        for x in &mut blk[off + 8..off + 200] {
            *x = 0xA5;
        }
        write_block(&img, b, &blk);
        let (p, _) = pass2(&img, Mode::Check);
        assert_eq!(kinds(&p)[0], Kind::DirEntryCorrupt, "{p:?}");
        let (p, _) = pass2(&img, Mode::Yes);
        assert!(p.iter().all(|p| p.fixed), "{p:?}");
        assert_eq!(e2fsck_pass2(&img), "", "{args:?}");
        let (p, _) = pass2(&img, Mode::Check);
        assert!(p.is_empty(), "{p:?}");
        let after = read_block(&img, b);
        // All but the fifth entry's rec_len, which now reaches the end.
        assert_eq!(after[..fifth + 4], blk[..fifth + 4]);
        assert_eq!(after[fifth + 6..kept], blk[fifth + 6..kept]);
    }
}

#[test]
fn bad_leaf_checksum_is_recomputed() {
    require(&["mkfs.ext4", "e2fsck", "debugfs"]);
    let tmp = tempfile::tempdir().unwrap();
    let (img, b, mut blk) = tree_with_d_block(tmp.path(), &["-b", "4096"]);
    let n = blk.len();
    blk[n - 1] ^= 0x55;
    write_block(&img, b, &blk);
    let (p, _) = pass2(&img, Mode::Check);
    assert_eq!(kinds(&p), [Kind::DirBlockChecksum]);
    assert_eq!(e2fsck(&img).0, 4);
    let (p, _) = pass2(&img, Mode::Yes);
    assert!(p[0].fixed);
    assert_eq!(e2fsck(&img), (0, e2fsck(&img).1));
}

#[test]
fn missing_tail_is_made_by_shortening_the_last_entry() {
    require(&["mkfs.ext4", "e2fsck", "debugfs"]);
    let tmp = tempfile::tempdir().unwrap();
    let (img, b, mut blk) = tree_with_d_block(tmp.path(), &["-b", "4096"]);
    let n = blk.len();
    // The last entry swallows the tail.
    let mut off = 0;
    loop {
        let rl = u16::from_le_bytes([blk[off + 4], blk[off + 5]]) as usize;
        if off + rl >= n - 12 {
            blk[off + 4..off + 6].copy_from_slice(&((rl + 12) as u16).to_le_bytes());
            break;
        }
        off += rl;
    }
    blk[n - 12..].fill(0);
    write_block(&img, b, &blk);
    let (p, _) = pass2(&img, Mode::Check);
    assert_eq!(kinds(&p), [Kind::DirTailMissing]);
    let (p, _) = pass2(&img, Mode::Preen);
    assert!(p[0].fixed);
    let (code, out) = e2fsck(&img);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn wrong_file_type_dot_and_bad_name_are_fixed() {
    require(&["mkfs.ext4", "e2fsck", "debugfs"]);
    let tmp = tempfile::tempdir().unwrap();
    let (img, b, mut blk) = tree_with_d_block(tmp.path(), &["-b", "1024"]);
    // '.' names inode 5; the third entry gets file type 6 and a '/'.
    blk[0..4].copy_from_slice(&5u32.to_le_bytes());
    let third = 24;
    let rl = u16::from_le_bytes([blk[12 + 4], blk[12 + 5]]) as usize;
    assert_eq!(rl, 12);
    blk[third + 7] = 6;
    blk[third + 8] = b'/';
    write_block(&img, b, &blk);
    let (p, _) = pass2(&img, Mode::Check);
    let k = kinds(&p);
    assert!(k.contains(&Kind::DirDot), "{p:?}");
    assert!(k.contains(&Kind::DirEntryFileType), "{p:?}");
    assert!(k.contains(&Kind::DirEntryBadName), "{p:?}");
    let (p, _) = pass2(&img, Mode::Yes);
    assert!(p.iter().all(|p| p.fixed), "{p:?}");
    let (code, out) = e2fsck(&img);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn duplicate_names_and_directory_hard_links_are_removed() {
    require(&["mkfs.ext4", "e2fsck", "debugfs"]);
    let tmp = tempfile::tempdir().unwrap();
    let img = mkfs(
        tmp.path(),
        &["-b", "4096", "-O", "^metadata_csum"],
        "8M",
        tree,
    );
    let f = ino_of(&img, "/top");
    let sub = ino_of(&img, "/d/sub");
    let _ = f;
    // A second 'file03': rename 'file04' in place.
    let b = bmap(&img, "/d", 0);
    let mut blk = read_block(&img, b);
    let at = blk.windows(6).position(|w| w == b"file04").unwrap();
    blk[at + 5] = b'3';
    write_block(&img, b, &blk);
    debugfs(&img, &format!("ln <{sub}> /subagain"));
    let (p, _) = pass2(&img, Mode::Check);
    let mut k = kinds(&p);
    k.sort();
    assert_eq!(k, [Kind::DirEntryDuplicate, Kind::DirHardLink], "{p:?}");
    let (p, _) = pass2(&img, Mode::Yes);
    assert!(p.iter().all(|p| p.fixed), "{p:?}");
    assert_eq!(e2fsck_pass2(&img), "");
    let (p, _) = pass2(&img, Mode::Check);
    assert!(p.is_empty(), "{p:?}");
}

fn indexed_image(dir: &Path, args: &[&str]) -> PathBuf {
    indexed_image_of(dir, args, 600)
}

/// An image whose /big holds `files` entries, indexed by e2fsck -D
/// (two index levels from about 5,000 on 1 KiB blocks).
fn indexed_image_of(dir: &Path, args: &[&str], files: usize) -> PathBuf {
    let img = mkfs(dir, args, "32M", |src| {
        std::fs::create_dir(src.join("big")).unwrap();
        for i in 0..files {
            std::fs::write(src.join(format!("big/a-rather-long-file-name-{i:05}")), b"").unwrap();
        }
    });
    // e2fsck -D builds the index.
    let st = Command::new("e2fsck")
        .arg("-fyD")
        .arg(&img)
        .output()
        .unwrap();
    assert!(st.status.code().unwrap_or(8) <= 1);
    img
}

#[test]
fn htree_out_of_order_becomes_linear() {
    require(&["mkfs.ext4", "e2fsck", "debugfs"]);
    for args in [&["-b", "1024"][..], &["-b", "1024", "-O", "^metadata_csum"]] {
        let tmp = tempfile::tempdir().unwrap();
        let img = indexed_image(tmp.path(), args);
        let cx = assert_clean(&img);
        let big = ino_of(&img, "/big");
        assert!(cx.found.dirs[&InodeNo(big)].indexed);
        drop(cx);
        // Swap the hashes of the root's second and third index entries.
        let b = bmap(&img, "/big", 0);
        let mut blk = read_block(&img, b);
        let (h1, h2) = (0x20 + 8, 0x20 + 16);
        let a: [u8; 4] = blk[h1..h1 + 4].try_into().unwrap();
        let c: [u8; 4] = blk[h2..h2 + 4].try_into().unwrap();
        blk[h1..h1 + 4].copy_from_slice(&c);
        blk[h2..h2 + 4].copy_from_slice(&a);
        write_block(&img, b, &blk);
        let (p, _) = pass2(&img, Mode::Check);
        assert_eq!(kinds(&p), [Kind::HtreeBad], "{p:?}");
        let (p, _) = pass2(&img, Mode::Yes);
        assert!(p.iter().all(|p| p.fixed), "{p:?}");
        let (code, out) = e2fsck(&img);
        assert_eq!(code, 0, "{args:?}: {out}");
        let cx = assert_clean(&img);
        assert!(!cx.found.dirs[&InodeNo(big)].indexed);
    }
}

#[test]
fn inline_directory_entry_to_free_inode() {
    require(&["mkfs.ext4", "e2fsck", "debugfs"]);
    let tmp = tempfile::tempdir().unwrap();
    let img = mkfs(
        tmp.path(),
        &["-O", "inline_data", "-I", "256"],
        "8M",
        |src| {
            std::fs::create_dir(src.join("small")).unwrap();
            for n in ["a", "b", "c"] {
                std::fs::write(src.join("small").join(n), b"1").unwrap();
            }
        },
    );
    let cx = assert_clean(&img);
    let small = ino_of(&img, "/small");
    assert!(cx.found.dirs[&InodeNo(small)].inline);
    drop(cx);
    let victim = ino_of(&img, "/small/b");
    debugfs(&img, &format!("clri <{victim}>"));
    let (p, _) = pass2(&img, Mode::Check);
    assert_eq!(kinds(&p), [Kind::DirEntryFreeInode]);
    let (p, _) = pass2(&img, Mode::Yes);
    assert!(p[0].fixed);
    assert_eq!(e2fsck_pass2(&img), "");
}

/// How many seeds a scribbling test runs: PASS2_SCRIBBLE_SEEDS, else
/// `default`.
fn scribble_seeds(default: u64) -> u64 {
    std::env::var("PASS2_SCRIBBLE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// With PASS2_KEEP set, a copy of the scribbled `img` as /tmp/NAME.img
/// (to look at a failing seed).
fn keep(img: &Path, name: &str) {
    if std::env::var("PASS2_KEEP").is_ok() {
        std::fs::copy(img, format!("/tmp/{name}.img")).unwrap();
    }
}

/// A small deterministic generator for the scribbling test.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn scribbled_directory_blocks_are_repaired_for_good() {
    require(&["mkfs.ext4", "e2fsck", "debugfs"]);
    let seeds = scribble_seeds(12);
    let mut found = 0;
    for seed in 0..seeds {
        let tmp = tempfile::tempdir().unwrap();
        let args: &[&str] = match seed % 3 {
            0 => &["-b", "1024"],
            1 => &["-b", "1024", "-O", "^metadata_csum"],
            _ => &["-b", "2048", "-t", "ext3"],
        };
        let img = indexed_image(tmp.path(), args);
        let mut rng = Lcg(seed + 1);
        let (_, cx) = pass2(&img, Mode::Check);
        let blocks: Vec<DirBlock> = cx.found.dir_blocks.clone();
        let bs = cx.bs as usize;
        drop(cx);
        for _ in 0..6 {
            let db = blocks[rng.next() as usize % blocks.len()];
            let mut blk = read_block(&img, db.pblk.0);
            match rng.next() % 8 {
                // A torn write: the block never written, or another's.
                0 => blk.fill(0),
                1 => blk.iter_mut().for_each(|x| *x = rng.next() as u8),
                _ => {
                    let at = rng.next() as usize % bs;
                    let len = 1 + rng.next() as usize % 24;
                    for x in &mut blk[at..(at + len).min(bs)] {
                        *x = rng.next() as u8;
                    }
                }
            }
            write_block(&img, db.pblk.0, &blk);
        }
        let p_first = assert_repaired(&img, seed);
        let e2 = e2fsck_pass2_but_dotdot(&img);
        assert!(e2.is_empty(), "seed {seed}: e2fsck pass 2 says {e2:?}");
        found += p_first.len();
    }
    // The scribbles did damage something.
    assert!(found >= seeds as usize, "{found} problems in {seeds} runs");
}

#[test]
fn scribbled_two_level_index_is_repaired_for_good() {
    require(&["mkfs.ext4", "e2fsck", "debugfs"]);
    let seeds = scribble_seeds(4);
    let tmp = tempfile::tempdir().unwrap();
    let pristine = indexed_image_of(tmp.path(), &["-b", "1024", "-N", "8192"], 6000);
    let big = ino_of(&pristine, "/big");
    let cx = assert_clean(&pristine);
    // The index has interior nodes: the root's levels byte is 1.
    let root = bmap(&pristine, "/big", 0);
    assert_eq!(read_block(&pristine, root)[0x1e], 1);
    let blocks: Vec<DirBlock> = cx
        .found
        .dir_blocks
        .iter()
        .copied()
        .filter(|d| d.ino == InodeNo(big))
        .collect();
    drop(cx);
    let bs = 1024;
    for seed in 0..seeds {
        let img = tmp.path().join(format!("img{seed}"));
        std::fs::copy(&pristine, &img).unwrap();
        let mut rng = Lcg(seed + 100);
        // Mostly the root and the first blocks (interior nodes live there).
        for _ in 0..3 {
            let k = if rng.next().is_multiple_of(2) {
                rng.next() as usize % 4
            } else {
                rng.next() as usize % blocks.len()
            };
            let db = blocks
                .iter()
                .find(|d| d.lblk == k as u64)
                .copied()
                .unwrap_or(blocks[k]);
            let mut blk = read_block(&img, db.pblk.0);
            let at = rng.next() as usize % bs;
            let len = 1 + rng.next() as usize % 8;
            for x in &mut blk[at..(at + len).min(bs)] {
                *x = rng.next() as u8;
            }
            write_block(&img, db.pblk.0, &blk);
        }
        keep(&img, &format!("p2-seed{seed}"));
        let p_first = assert_repaired(&img, seed);
        let e2 = e2fsck_pass2_but_dotdot(&img);
        assert!(
            e2.is_empty(),
            "seed {seed}: after {p_first:?} e2fsck pass 2 says {e2:?}"
        );
    }
}

#[test]
fn directory_hole_gets_an_empty_block() {
    require(&["mkfs.ext4", "e2fsck", "debugfs"]);
    for args in [&["-b", "1024"][..], &["-b", "1024", "-t", "ext3"]] {
        let tmp = tempfile::tempdir().unwrap();
        let img = mkfs(tmp.path(), args, "8M", |src| {
            std::fs::create_dir(src.join("d")).unwrap();
            for i in 0..150 {
                std::fs::write(src.join(format!("d/some-longer-file-name-{i:04}")), b"").unwrap();
            }
        });
        let d = ino_of(&img, "/d");
        // Lose blocks #0 and #2 (their entries go with them: pass 4's
        // to reconnect).
        debugfs(&img, "punch /d 2 2");
        debugfs(&img, "punch /d 0 0");
        let (p, _) = pass2(&img, Mode::Check);
        assert_eq!(kinds(&p), [Kind::DirHole, Kind::DirHole], "{args:?}: {p:?}");
        let (p, cx) = pass2(&img, Mode::Yes);
        assert!(p.iter().all(|p| p.fixed), "{p:?}");
        let lblks: Vec<u64> = cx
            .found
            .dir_blocks
            .iter()
            .filter(|b| b.ino == InodeNo(d))
            .map(|b| b.lblk)
            .collect();
        assert!(lblks.contains(&0) && lblks.contains(&2), "{lblks:?}");
        drop(cx);
        // The new first block's '..' waits for pass 3.
        let e2 = e2fsck_pass2(&img);
        assert!(
            e2.is_empty() || e2.starts_with("Missing '..'"),
            "{args:?}: {e2}"
        );
        let (p, cx) = pass2(&img, Mode::Check);
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(cx.found.dirs[&InodeNo(d)].dotdot, InodeNo(0));
    }
}

/// Times pass 2 alone on the image named by PASS2_PERF_IMAGE (run with
/// `--release --ignored`); e2fsck -fn takes about 0.65 s for all its
/// passes over 200k files here.
#[test]
#[ignore]
fn perf_on_a_large_image() {
    let Ok(img) = std::env::var("PASS2_PERF_IMAGE") else {
        fuse4fs_testkit::skip!("PASS2_PERF_IMAGE not set");
        return;
    };
    let mut cx = open(Path::new(&img), Mode::Check);
    fill_found(&mut cx);
    let t = std::time::Instant::now();
    super::run(&mut cx).unwrap();
    eprintln!(
        "pass 2: {} blocks, {} directories in {:?}",
        cx.found.dir_blocks.len(),
        cx.found.dirs.len(),
        t.elapsed()
    );
    assert!(cx.report.problems.is_empty(), "{:?}", cx.report.problems);
    assert_counts_match(&cx);
}

#[test]
fn scribbled_inline_directories_are_repaired_for_good() {
    require(&["mkfs.ext4", "e2fsck", "debugfs"]);
    let seeds = scribble_seeds(8);
    let tmp = tempfile::tempdir().unwrap();
    let pristine = mkfs(
        tmp.path(),
        &["-O", "inline_data", "-I", "256"],
        "8M",
        |src| {
            std::fs::create_dir(src.join("small")).unwrap();
            // As many as i_block holds (mke2fs -d does not spill them).
            for n in 0..3 {
                std::fs::write(src.join("small").join(format!("name{n}")), b"1").unwrap();
            }
        },
    );
    let cx = assert_clean(&pristine);
    let small = ino_of(&pristine, "/small");
    assert!(cx.found.dirs[&InodeNo(small)].inline);
    assert_eq!(cx.found.inode(InodeNo(small)).links, 2);
    drop(cx);
    let mut found = 0;
    for seed in 0..seeds {
        let img = tmp.path().join(format!("img{seed}"));
        std::fs::copy(&pristine, &img).unwrap();
        let mut rng = Lcg(seed + 7);
        for _ in 0..2 {
            let slot = 1 + rng.next() % 14;
            let v = rng.next() as u32
                & if rng.next().is_multiple_of(3) {
                    0xffff
                } else {
                    0xffff_ffff
                };
            debugfs(&img, &format!("sif /small block[{slot}] {v:#x}"));
        }
        keep(&img, &format!("p2-inline{seed}"));
        let p_first = assert_repaired(&img, seed);
        found += p_first.len();
        let e2 = e2fsck_pass2(&img);
        assert!(
            e2.is_empty(),
            "seed {seed}: after {p_first:?} e2fsck pass 2 says {e2}"
        );
    }
    assert!(found > 0);
}

#[test]
fn full_block_without_tail_drops_its_last_entry_only_with_yes() {
    require(&["mkfs.ext4", "e2fsck", "debugfs"]);
    let tmp = tempfile::tempdir().unwrap();
    let pristine = mkfs(tmp.path(), &["-b", "1024"], "8M", |src| {
        std::fs::create_dir(src.join("d")).unwrap();
        for i in 0..100 {
            std::fs::write(src.join(format!("d/f{i:03}")), b"").unwrap();
        }
    });
    let b = bmap(&pristine, "/d", 0);
    let mut blk = read_block(&pristine, b);
    let n = blk.len();
    // The last entry takes over the tail and a name that fills it all.
    let mut off = 0;
    loop {
        let rl = u16::from_le_bytes([blk[off + 4], blk[off + 5]]) as usize;
        if off + rl >= n - 12 {
            break;
        }
        off += rl;
    }
    let rl = n - off;
    let name_len = rl - 8;
    assert!(name_len <= 255 && name_len > 4, "{name_len}");
    blk[off + 4..off + 6].copy_from_slice(&(rl as u16).to_le_bytes());
    blk[off + 6] = name_len as u8;
    for x in &mut blk[off + 8..n] {
        *x = b'x';
    }
    let victim = u32::from_le_bytes(blk[off..off + 4].try_into().unwrap());
    write_block(&pristine, b, &blk);
    let (p, _) = pass2(&pristine, Mode::Check);
    assert_eq!(kinds(&p), [Kind::DirTailMissing], "{p:?}");

    let img = tmp.path().join("preen");
    std::fs::copy(&pristine, &img).unwrap();
    let (p, _) = pass2(&img, Mode::Preen);
    assert_eq!(kinds(&p), [Kind::DirTailMissing], "{p:?}");
    assert!(!p[0].fixed);
    assert_eq!(read_block(&img, b), blk);

    let (p, cx) = pass2(&pristine, Mode::Yes);
    assert!(p.iter().all(|p| p.fixed), "{p:?}");
    // The whole note, numbers bare (an InodeNo printed with its Display
    // would say "inode inode N").
    let dir = ino_of(&pristine, "/d");
    let note = format!(
        "Directory inode {dir}, block #0: entry for inode {victim} dropped to make room for the checksum tail."
    );
    assert!(cx.report.notes.contains(&note), "{:?}", cx.report.notes);
    // Unattached now: pass 4's to reconnect.
    assert_eq!(cx.found.inode(InodeNo(victim)).refs, 0);
    drop(cx);
    assert_eq!(e2fsck_pass2(&pristine), "");
}
