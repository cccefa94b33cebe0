//! Directory writes (src/fs/dir/write.rs, src/fs/dir/htree.rs): many names
//! added to and removed from one directory in batches of transactions,
//! then checked three ways — `e2fsck -fn` (which validates the htree
//! thoroughly), the kernel's view through a read-only loop mount (readdir
//! lists exactly the model's names, lookup of each name finds its inode)
//! and fuse4fs's own lookup — on 4 KiB and 1 KiB blocks, with and without
//! metadata_csum, indexed and linear, inline directories, and names whose
//! hashes collide across a leaf split.

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirEntryExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use fuse4fs::ext4::InodeNo;
use fuse4fs::ext4::dir::ft;
use fuse4fs::ext4::hash::{HashVersion, dx_hash};
use fuse4fs::ext4::inode::{Inode, flags, mode};
use fuse4fs::fs::extent::write::init_extent_root;
use fuse4fs::fs::{Fs, FsError, FsOptions};

use crate::common::{
    assert_fsck_clean, fsck, mkfs, open_rw, require_kernel_mounts, umount_retrying,
};

const TOOLS: &[&str] = &["mkfs.ext4", "e2fsck", "debugfs"];

/// An image with an empty directory /d (and /d2 for moves) and `nfiles`
/// regular files the names will point at.
struct Setup {
    _tmp: tempfile::TempDir,
    img: PathBuf,
    dir: InodeNo,
    files: Vec<InodeNo>,
    /// name → inode, what the directory should hold (besides . and ..).
    model: BTreeMap<Vec<u8>, InodeNo>,
}

fn setup(args: &[&str], size: &str, nfiles: usize) -> Setup {
    setup_with(args, size, nfiles, None)
}

/// As [`setup`], running `debugfs -w -R CMD` on the new image first.
fn setup_with(args: &[&str], size: &str, nfiles: usize, debugfs: Option<&str>) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(src.join("d")).unwrap();
    std::fs::create_dir_all(src.join("d2")).unwrap();
    let mut a: Vec<&str> = args.to_vec();
    let s = src.to_str().unwrap().to_string();
    a.extend(["-d", &s]);
    let img = mkfs(tmp.path(), &a, size);
    if let Some(cmd) = debugfs {
        let st = Command::new("debugfs")
            .args(["-w", "-R", cmd])
            .arg(&img)
            .output()
            .unwrap();
        assert!(st.status.success());
    }
    let fs = open_rw(&img);
    let root = fs.inode(InodeNo::ROOT).unwrap();
    let dir = fs.lookup(&root, b"d").unwrap().ino;
    let d2 = fs.lookup(&root, b"d2").unwrap().ino;
    let mut tx = fs.begin().unwrap();
    let mut keep = tx.inode(d2).unwrap();
    // Each file keeps one name in /d2 whatever happens in /d.
    let files = (0..nfiles)
        .map(|k| {
            let ino = tx.alloc_inode(0, false).unwrap();
            let mut i = Inode::new_empty(fs.superblock(), ino);
            i.mode = mode::S_IFREG | 0o644;
            i.flags |= flags::EXTENTS;
            i.links_count = 1;
            init_extent_root(&mut i).unwrap();
            tx.put_new_inode(i);
            let n = format!("keep{k}");
            tx.dir_add(&mut keep, n.as_bytes(), ino, ft::REG).unwrap();
            ino
        })
        .collect();
    tx.put_inode(keep);
    tx.commit().unwrap();
    Setup {
        _tmp: tmp,
        img,
        dir,
        files,
        model: BTreeMap::new(),
    }
}

/// A name of varied length (1..=255 bytes) unique to `i` and `tag`.
fn name(tag: &str, i: usize) -> Vec<u8> {
    let mut n = format!("{tag}{i}-").into_bytes();
    let want = 1 + (i * 7919 + tag.len() * 31) % 80;
    let want = if i.is_multiple_of(97) { 250 } else { want };
    let mut x = i as u64 * 2654435761 + 1;
    while n.len() < want {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        n.push(
            b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"
                [(x >> 58) as usize],
        );
    }
    n
}

impl Setup {
    /// Adds `names` (each to file `files[k % n]`) in transactions of
    /// `batch`, keeping the files' link counts equal to their names.
    fn add(&mut self, names: &[Vec<u8>], batch: usize) {
        let fs = open_rw(&self.img);
        for chunk in names.chunks(batch) {
            let mut tx = fs.begin().unwrap();
            let mut dir = tx.inode(self.dir).unwrap();
            for n in chunk {
                let k = self.model.len() + n.len();
                let f = self.files[k % self.files.len()];
                tx.dir_add(&mut dir, n, f, ft::REG).unwrap();
                assert_eq!(tx.dir_lookup(&dir, n).unwrap(), Some(f), "{n:?}");
                self.model.insert(n.clone(), f);
            }
            tx.put_inode(dir);
            self.fix_links(&mut tx);
            tx.commit().unwrap();
        }
    }

    fn remove(&mut self, names: &[Vec<u8>], batch: usize) {
        let fs = open_rw(&self.img);
        for chunk in names.chunks(batch) {
            let mut tx = fs.begin().unwrap();
            let mut dir = tx.inode(self.dir).unwrap();
            for n in chunk {
                let want = self.model.remove(n).unwrap();
                assert_eq!(tx.dir_remove(&mut dir, n).unwrap(), want);
                assert_eq!(tx.dir_lookup(&dir, n).unwrap(), None);
                assert!(matches!(tx.dir_remove(&mut dir, n), Err(FsError::NotFound)));
            }
            tx.put_inode(dir);
            self.fix_links(&mut tx);
            tx.commit().unwrap();
        }
    }

    fn fix_links(&self, tx: &mut fuse4fs::fs::journal::transaction::Transaction<'_>) {
        for &f in &self.files {
            let n = 1 + self.model.values().filter(|&&v| v == f).count();
            let mut i = tx.inode(f).unwrap();
            if i.links_count as usize != n {
                i.links_count = n as u16;
                tx.put_inode(i);
            }
        }
    }

    /// e2fsck clean, the kernel and fuse4fs agree with the model.
    fn check(&self) {
        assert_fsck_clean(&self.img);
        let kernel = kernel_view(&self.img, "d");
        assert_eq!(kernel.len(), self.model.len(), "kernel entry count");
        for (n, ino) in &self.model {
            assert_eq!(kernel.get(n), Some(ino), "kernel view of {n:?}");
        }
        let fs = Fs::open(&self.img, &FsOptions::default()).unwrap();
        let dir = fs.inode(self.dir).unwrap();
        for (n, ino) in &self.model {
            assert_eq!(fs.lookup(&dir, n).unwrap().ino, *ino, "{n:?}");
        }
    }

    fn levels(&self) -> Option<u32> {
        htree_levels(&self.img, "/d")
    }
}

/// Mounts the image read-only and reads directory `rel`: readdir's names
/// with their inode numbers, each checked against a lookup (stat) of the
/// same name.
fn kernel_view(img: &Path, rel: &str) -> BTreeMap<Vec<u8>, InodeNo> {
    let mnt = tempfile::tempdir().unwrap();
    let st = Command::new("mount")
        .args(["-o", "loop,ro"])
        .arg(img)
        .arg(mnt.path())
        .status()
        .unwrap();
    assert!(st.success(), "mount failed");
    let read = || -> std::io::Result<BTreeMap<Vec<u8>, InodeNo>> {
        let mut out = BTreeMap::new();
        let d = mnt.path().join(rel);
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            let looked = std::fs::symlink_metadata(e.path())?.ino();
            assert_eq!(looked, e.ino(), "lookup vs readdir of {:?}", e.file_name());
            out.insert(e.file_name().as_bytes().to_vec(), InodeNo(e.ino() as u32));
        }
        Ok(out)
    };
    let r = read();
    umount_retrying(mnt.path());
    r.unwrap_or_else(|e| panic!("kernel read of {rel}: {e}"))
}

/// `debugfs -R "htree DIR"`: the root's indirect levels (None when the
/// directory is not indexed).
fn htree_levels(img: &Path, dir: &str) -> Option<u32> {
    let out = Command::new("debugfs")
        .arg("-R")
        .arg(format!("htree {dir}"))
        .arg(img)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Indirect levels: "))
        .map(|v| v.trim().parse().unwrap())
}

/// The full cycle on one geometry: `n` names in, most out, new ones in.
fn cycle(args: &[&str], size: &str, n: usize, batch: usize, want_levels: Option<u32>) {
    require_kernel_mounts(TOOLS);
    let mut s = setup(args, size, 37);
    let first: Vec<_> = (0..n).map(|i| name("n", i)).collect();
    s.add(&first, batch);
    assert_eq!(s.levels(), want_levels);
    s.check();
    // Remove four in five (keeping every file linked), then add others.
    let gone: Vec<_> = first
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 5 != 0)
        .map(|(_, n)| n.clone())
        .collect();
    s.remove(&gone, batch);
    s.check();
    let again: Vec<_> = (0..n / 3).map(|i| name("m", i)).collect();
    s.add(&again, batch);
    // Re-add some removed names too.
    s.add(&gone[..gone.len() / 4], batch);
    assert_eq!(s.levels(), want_levels, "deletes never shrink the tree");
    s.check();
    // ".." of the (indexed) directory: pointed at /d2, e2fsck sees it
    // (the kernel's path walk uses its dcache, not the entry); pointed
    // back, e2fsck is content.
    let fs = open_rw(&s.img);
    let d2 = fs
        .lookup(&fs.inode(InodeNo::ROOT).unwrap(), b"d2")
        .unwrap()
        .ino;
    for parent in [d2, InodeNo::ROOT] {
        let mut tx = fs.begin().unwrap();
        let mut d = tx.inode(s.dir).unwrap();
        tx.dir_set_dotdot(&mut d, parent).unwrap();
        assert_eq!(tx.dir_lookup(&d, b"..").unwrap(), Some(parent));
        tx.put_inode(d);
        tx.commit().unwrap();
        let ro = Fs::open(&s.img, &FsOptions::default()).unwrap();
        assert_eq!(ro.parent_of(&ro.inode(s.dir).unwrap()).unwrap(), parent);
        let (clean, text) = fsck(&s.img);
        assert_eq!(clean, parent == InodeNo::ROOT, "{text}");
        assert_eq!(text.contains("'..' in /d"), parent == d2, "{text}");
    }
    s.check();
}

#[test]
fn thousand_names_4k_csum() {
    cycle(&["-b", "4096"], "32M", 1000, 100, Some(0));
}

#[test]
fn thousand_names_4k_no_csum() {
    cycle(
        &["-b", "4096", "-O", "^metadata_csum"],
        "32M",
        1000,
        100,
        Some(0),
    );
}

#[test]
fn thousand_names_1k_csum() {
    cycle(&["-b", "1024"], "32M", 1000, 250, Some(0));
}

#[test]
fn twenty_thousand_names_two_levels_1k() {
    cycle(&["-b", "1024"], "64M", 20000, 2500, Some(1));
}

#[test]
fn twenty_thousand_names_two_levels_1k_no_csum() {
    cycle(
        &["-b", "1024", "-O", "^metadata_csum"],
        "64M",
        20000,
        2500,
        Some(1),
    );
}

#[test]
fn linear_directory_without_dir_index() {
    cycle(&["-b", "1024", "-O", "^dir_index"], "32M", 600, 100, None);
}

/// Two long names with equal hashes land in one leaf below a third; the
/// conversion to an index splits that leaf between them, so the new
/// index entry carries the collision bit and lookups of both names
/// continue into the next leaf.
#[test]
fn equal_hashes_straddle_a_split() {
    require_kernel_mounts(TOOLS);
    let mut s = setup_with(
        &["-b", "1024"],
        "16M",
        3,
        Some("ssv def_hash_version legacy"),
    );
    let (a, b, h) = {
        let fs = open_rw(&s.img);
        let sb = fs.superblock();
        let v = HashVersion::effective(sb.def_hash_version, sb.flags).unwrap();
        assert!(matches!(
            v,
            HashVersion::Legacy | HashVersion::LegacyUnsigned
        ));
        let hash = |n: &[u8]| dx_hash(n, v, &sb.hash_seed).0;
        let mut seen: std::collections::HashMap<u32, Vec<u8>> = Default::default();
        let prefix = "c".repeat(240);
        let mut found = None;
        for i in 0u64.. {
            let n = format!("{prefix}{i:012}").into_bytes();
            let h = hash(&n);
            // Keep the colliding pair in the lower half of the hash space
            // so a third name can sort above them.
            if h >= 0x8000_0000 {
                continue;
            }
            if let Some(o) = seen.insert(h, n.clone()) {
                found = Some((o, n, h));
                break;
            }
        }
        let (a, b, h) = found.unwrap();
        (a, b, h)
    };
    let high = (0..)
        .map(|i: u64| format!("{}{i:012}", "h".repeat(240)).into_bytes())
        .find(|n| {
            let fs = open_rw(&s.img);
            let sb = fs.superblock();
            let v = HashVersion::effective(sb.def_hash_version, sb.flags).unwrap();
            dx_hash(n, v, &sb.hash_seed).0 > h
        })
        .unwrap();
    // ". .." and three 260-byte records fill most of block 0; the fourth
    // name forces make_indexed_dir. In block order the high name comes
    // first and b last (its record reaching the block end), so do_split
    // moves half the entries by count and the split falls between a and b.
    s.add(&[high, a.clone(), b.clone()], 10);
    assert_eq!(s.levels(), None);
    s.add(&["x".repeat(250).into_bytes()], 10);
    assert_eq!(s.levels(), Some(0));
    let out = Command::new("debugfs")
        .args(["-R", "htree /d"])
        .arg(&s.img)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains(&format!("0x{:08x}", h | 1)),
        "collision bit in the index:\n{text}"
    );
    s.check();
    // More names around them keep everything findable.
    let more: Vec<_> = (0..300).map(|i| name("y", i)).collect();
    s.add(&more, 50);
    s.check();
    // b moved to the new leaf: finding it goes through the root entry
    // below the split hash, then continues into the next leaf.
    s.remove(&[b, a], 1);
    s.check();
}

/// New directories, moves between parents and emptiness.
#[test]
fn init_move_replace_and_emptiness() {
    require_kernel_mounts(TOOLS);
    for args in [&["-b", "4096"][..], &["-O", "^metadata_csum", "-b", "1024"]] {
        let s = setup(args, "16M", 2);
        let fs = open_rw(&s.img);
        let root = fs.inode(InodeNo::ROOT).unwrap();
        let d2 = fs.lookup(&root, b"d2").unwrap().ino;
        // mkdir d/sub
        let mut tx = fs.begin().unwrap();
        let sub_ino = tx.alloc_inode(0, true).unwrap();
        let mut sub = Inode::new_empty(fs.superblock(), sub_ino);
        sub.mode = mode::S_IFDIR | 0o755;
        sub.flags |= flags::EXTENTS;
        sub.links_count = 2;
        init_extent_root(&mut sub).unwrap();
        tx.dir_init(&mut sub, s.dir).unwrap();
        assert_eq!(sub.size, fs.block_size() as u64);
        assert!(tx.dir_is_empty(&sub).unwrap());
        assert_eq!(tx.dir_lookup(&sub, b"..").unwrap(), Some(s.dir));
        let mut d = tx.inode(s.dir).unwrap();
        tx.dir_add(&mut d, b"sub", sub_ino, ft::DIR).unwrap();
        d.links_count += 1;
        // a file in it, then repointed at the other file
        tx.dir_add(&mut sub, b"f", s.files[0], ft::REG).unwrap();
        assert!(!tx.dir_is_empty(&sub).unwrap());
        assert_eq!(
            tx.dir_replace(&mut sub, b"f", s.files[1], ft::REG).unwrap(),
            s.files[0]
        );
        let mut f1 = tx.inode(s.files[1]).unwrap();
        f1.links_count = 2;
        tx.put_inode(f1);
        let mut f0 = tx.inode(s.files[0]).unwrap();
        f0.links_count = 2;
        tx.put_inode(f0);
        tx.dir_add(&mut d, b"f0", s.files[0], ft::REG).unwrap();
        tx.put_inode(sub.clone());
        tx.put_inode(d);
        tx.commit().unwrap();
        assert_fsck_clean(&s.img);
        let k = kernel_view(&s.img, "d/sub");
        assert_eq!(k.get(&b"f"[..]), Some(&s.files[1]));
        assert_eq!(k.len(), 1);

        // mv d/sub d2/sub
        let mut tx = fs.begin().unwrap();
        let mut d = tx.inode(s.dir).unwrap();
        let mut d2i = tx.inode(d2).unwrap();
        let mut sub = tx.inode(sub_ino).unwrap();
        assert_eq!(tx.dir_remove(&mut d, b"sub").unwrap(), sub_ino);
        tx.dir_add(&mut d2i, b"sub", sub_ino, ft::DIR).unwrap();
        tx.dir_set_dotdot(&mut sub, d2).unwrap();
        assert_eq!(tx.dir_lookup(&sub, b"..").unwrap(), Some(d2));
        d.links_count -= 1;
        d2i.links_count += 1;
        tx.put_inode(d);
        tx.put_inode(d2i);
        tx.put_inode(sub);
        tx.commit().unwrap();
        assert_fsck_clean(&s.img);
        let k = kernel_view(&s.img, "d2/sub");
        assert_eq!(k.get(&b"f"[..]), Some(&s.files[1]));
        assert_eq!(k.len(), 1);
        let mnt_check = kernel_view(&s.img, "d2");
        assert_eq!(mnt_check.get(&b"sub"[..]), Some(&sub_ino));

        // rm d2/sub/f; the directory is empty again
        let mut tx = fs.begin().unwrap();
        let mut sub = tx.inode(sub_ino).unwrap();
        assert!(!tx.dir_is_empty(&sub).unwrap());
        tx.dir_remove(&mut sub, b"f").unwrap();
        assert!(tx.dir_is_empty(&sub).unwrap());
        let mut f1 = tx.inode(s.files[1]).unwrap();
        f1.links_count = 1;
        tx.put_inode(f1);
        tx.put_inode(sub);
        tx.commit().unwrap();
        assert_fsck_clean(&s.img);
        assert!(kernel_view(&s.img, "d2/sub").is_empty());
    }
}

/// An inline directory takes names in i_block until full, then in a
/// system.data value grown to the inode's room, then becomes a one-block
/// directory holding all of them.
#[test]
fn inline_directory_fills_and_converts() {
    require_kernel_mounts(TOOLS);
    for args in [
        &["-O", "inline_data"][..],
        &["-O", "inline_data,^metadata_csum"],
    ] {
        let mut s = setup(args, "16M", 4);
        let fs = open_rw(&s.img);
        let d = fs.inode(s.dir).unwrap();
        assert!(d.has_flag(flags::INLINE_DATA), "mkfs made /d inline");
        drop(fs);
        // 56 bytes of i_block: three 12-byte records (names up to 4
        // bytes) and one of 20.
        s.add(&[b"a".to_vec(), b"bb".to_vec(), b"ccc".to_vec()], 10);
        let fs = open_rw(&s.img);
        assert!(fs.inode(s.dir).unwrap().has_flag(flags::INLINE_DATA));
        drop(fs);
        s.check();
        s.remove(&[b"bb".to_vec()], 1);
        s.check();
        // "dddd" fits in the slack "bb" left, "eeeeeeeeeeee" after
        // "ccc"; "ffff" does not fit any more.
        s.add(&[b"dddd".to_vec(), b"eeeeeeeeeeee".to_vec()], 10);
        let fs = open_rw(&s.img);
        assert!(fs.inode(s.dir).unwrap().has_flag(flags::INLINE_DATA));
        drop(fs);
        // i_block is full: "ffff" goes to system.data, which takes all
        // the room the inode has at once (ext4_update_inline_dir; 68
        // bytes in a 256-byte inode), the size growing to match.
        s.add(&[b"ffff".to_vec()], 10);
        let fs = open_rw(&s.img);
        let d = fs.inode(s.dir).unwrap();
        assert!(d.has_flag(flags::INLINE_DATA), "grown into system.data");
        let room = d.size as usize - 60;
        assert!(room >= 12, "size {}", d.size);
        drop(fs);
        s.check();
        // 12-byte records fill it; the next one converts.
        let fill: Vec<_> = (1..room / 12)
            .map(|i| format!("g{i:03}").into_bytes())
            .collect();
        s.add(&fill, 10);
        let fs = open_rw(&s.img);
        assert!(
            fs.inode(s.dir).unwrap().has_flag(flags::INLINE_DATA),
            "full"
        );
        drop(fs);
        s.check();
        s.add(&[b"hhhh".to_vec()], 10);
        let fs = open_rw(&s.img);
        let d = fs.inode(s.dir).unwrap();
        assert!(!d.has_flag(flags::INLINE_DATA), "converted");
        assert!(d.has_flag(flags::EXTENTS));
        let attrs = fuse4fs::ext4::xattr::parse_ibody(&d.ibody_xattrs).unwrap();
        assert!(
            !attrs.iter().any(|a| a.name == b"data"),
            "system.data removed"
        );
        assert_eq!(d.size, fs.block_size() as u64);
        drop(fs);
        s.check();
        let more: Vec<_> = (0..200).map(|i| name("z", i)).collect();
        s.add(&more, 50);
        s.check();
    }
}

/// Damage under the write path is an error, never a panic.
#[test]
fn damaged_index_and_leaf_are_errors() {
    require_kernel_mounts(TOOLS);
    let mut s = setup(&["-b", "1024"], "16M", 3);
    let names: Vec<_> = (0..300).map(|i| name("n", i)).collect();
    s.add(&names, 300);
    s.check();
    let bs = 1024u64;
    let pblk = |lblk: u64| -> u64 {
        let out = Command::new("debugfs")
            .arg("-R")
            .arg(format!("bmap /d {lblk}"))
            .arg(&s.img)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    let (root, leaf) = (pblk(0), pblk(1));
    let poke = |blk: u64, off: u64, bytes: &[u8]| {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&s.img)
            .unwrap();
        f.write_all_at(bytes, blk * bs + off).unwrap();
    };
    let read = |blk: u64, off: u64, len: usize| {
        use std::os::unix::fs::FileExt;
        let f = std::fs::File::open(&s.img).unwrap();
        let mut b = vec![0; len];
        f.read_exact_at(&mut b, blk * bs + off).unwrap();
        b
    };
    let try_ops = |expect_err: bool| {
        let fs = open_rw(&s.img);
        let mut tx = fs.begin().unwrap();
        let mut dir = tx.inode(s.dir).unwrap();
        let mut errs = 0;
        for (i, n) in names.iter().enumerate().take(60) {
            errs += tx.dir_lookup(&dir, n).is_err() as usize;
            errs += tx
                .dir_add(&mut dir, &name("q", i), s.files[0], ft::REG)
                .is_err() as usize;
            errs += tx.dir_remove(&mut dir, n).is_err() as usize;
        }
        errs += tx.dir_is_empty(&dir).is_err() as usize;
        assert_eq!(errs > 0, expect_err);
    };
    // count (at 0x22 in the root) above the limit
    let saved = read(root, 0x22, 2);
    poke(root, 0x22, &[0xff, 0x00]);
    try_ops(true);
    poke(root, 0x22, &saved);
    // a flipped byte in a leaf's name: its checksum fails
    let saved = read(leaf, 20, 1);
    poke(leaf, 20, &[saved[0] ^ 0x40]);
    try_ops(true);
    // a leaf record length of zero
    poke(leaf, 20, &saved);
    let saved = read(leaf, 4, 2);
    poke(leaf, 4, &[0, 0]);
    try_ops(true);
    poke(leaf, 4, &saved);
    try_ops(false);
    let (clean, text) = fsck(&s.img);
    assert!(clean, "{text}");
}

/// The htree's logical shape as debugfs prints it: index entries (hash,
/// logical block), counts, levels, and per leaf its entries' hashes,
/// record lengths and names in block order — no inode numbers, physical
/// blocks or checksums.
fn htree_shape(img: &Path, dir: &str) -> Vec<String> {
    let out = Command::new("debugfs")
        .arg("-R")
        .arg(format!("htree {dir}"))
        .arg(img)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut shape = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with("Entry #")
            || l.starts_with("Number of entries")
            || l.starts_with("Indirect levels")
        {
            shape.push(l.to_string());
        } else if let Some(r) = l.strip_prefix("Reading directory block ") {
            shape.push(format!("leaf {}", r.split(',').next().unwrap()));
        } else {
            let t: Vec<&str> = l.split_whitespace().collect();
            for w in t.windows(3) {
                if w[0].starts_with("0x") && w[0].len() == 19 && w[1].starts_with('(') {
                    shape.push(format!("{} {} {}", w[0], w[1], w[2]));
                }
            }
        }
    }
    shape
}

/// The kernel and fuse4fs, given the same names in the same order on
/// copies of one image, build the same htree: the same splits (median
/// by size, then by count), the same hashes in the index, the same
/// logical blocks, and each leaf's entries in the same order.
#[test]
fn same_htree_as_the_kernel() {
    require_kernel_mounts(TOOLS);
    for (args, n) in [
        (&["-b", "1024"][..], 6000),
        (&["-b", "4096", "-O", "^metadata_csum"][..], 3000),
        (&["-b", "4096"][..], 3000),
    ] {
        // A fixed hash seed (mkfs picks a random one): under about 1% of
        // seeds two of these names share a major hash, and equal hashes
        // may leave a split in another order than the kernel's (its
        // dx_sort_map is an unstable comb sort). Under this seed the
        // 6000 names have 6000 distinct hashes (debugfs dx_hash).
        let seed = "ssv hash_seed 4f0b5c1e-6a5b-4c59-9d2e-3a7f8e1d2c44";
        let mut s = setup_with(args, "64M", 1, Some(seed));
        let names: Vec<_> = (0..n).map(|i| name("k", i)).collect();
        // The kernel's copy: hard links to the one file.
        let kimg = s._tmp.path().join("kimg");
        std::fs::copy(&s.img, &kimg).unwrap();
        let mnt = tempfile::tempdir().unwrap();
        assert!(
            Command::new("mount")
                .args(["-o", "loop"])
                .arg(&kimg)
                .arg(mnt.path())
                .status()
                .unwrap()
                .success()
        );
        let target = mnt.path().join("d2/keep0");
        let r = names.iter().try_for_each(|nm| {
            let p = mnt.path().join("d").join(std::ffi::OsStr::from_bytes(nm));
            std::fs::hard_link(&target, p)
        });
        umount_retrying(mnt.path());
        r.unwrap();
        assert_fsck_clean(&kimg);
        s.add(&names, 1000);
        s.check();
        let (ours, theirs) = (htree_shape(&s.img, "/d"), htree_shape(&kimg, "/d"));
        assert!(ours.len() > n, "debugfs printed the leaves");
        let levels = if n == 6000 { Some(1) } else { Some(0) };
        assert_eq!(s.levels(), levels);
        if ours != theirs {
            let at = ours.iter().zip(&theirs).position(|(a, b)| a != b);
            panic!(
                "htree differs from the kernel's at line {at:?}: ours {:?} kernel {:?}",
                at.map(|i| &ours[i]),
                at.map(|i| &theirs[i])
            );
        }
    }
}

/// An inline directory the kernel grew into system.data: names are
/// found, removed, repointed and added in both regions, then the
/// directory converts to a block (dropping the non-empty system.data).
#[test]
fn kernel_inline_directory_with_system_data() {
    require_kernel_mounts(TOOLS);
    let tmp = tempfile::tempdir().unwrap();
    let img = mkfs(tmp.path(), &["-b", "4096", "-O", "inline_data"], "16M");
    let mnt = tempfile::tempdir().unwrap();
    let run = |cmd: &mut Command| assert!(cmd.status().unwrap().success());
    run(Command::new("mount")
        .args(["-o", "loop"])
        .arg(&img)
        .arg(mnt.path()));
    let names = [
        "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
    ];
    std::fs::create_dir(mnt.path().join("x")).unwrap();
    for n in names {
        std::fs::write(mnt.path().join("x").join(n), b"").unwrap();
    }
    umount_retrying(mnt.path());
    let mut model = kernel_view(&img, "x");
    assert_eq!(model.len(), names.len());

    let fs = open_rw(&img);
    let root = fs.inode(InodeNo::ROOT).unwrap();
    let x = fs.lookup(&root, b"x").unwrap().ino;
    let value_len = |d: &Inode| {
        fuse4fs::ext4::xattr::parse_ibody(&d.ibody_xattrs)
            .unwrap()
            .into_iter()
            .find(|a| a.name == b"data")
            .map(|a| a.value.len())
    };
    let d = fs.inode(x).unwrap();
    assert!(d.has_flag(flags::INLINE_DATA));
    assert!(value_len(&d).unwrap() > 0, "the kernel used system.data");

    let mut tx = fs.begin().unwrap();
    let mut d = tx.inode(x).unwrap();
    for (n, ino) in &model {
        assert_eq!(tx.dir_lookup(&d, n).unwrap(), Some(*ino));
    }
    assert!(!tx.dir_is_empty(&d).unwrap());
    // theta (the last name: in system.data) and alpha (in i_block) get
    // new names; gamma is repointed at its own inode (rewritten in place).
    let t = tx.dir_remove(&mut d, b"theta").unwrap();
    let a = tx.dir_remove(&mut d, b"alpha").unwrap();
    tx.dir_add(&mut d, b"th2", t, ft::REG).unwrap();
    tx.dir_add(&mut d, b"al", a, ft::REG).unwrap();
    let g = model[&b"gamma"[..]];
    assert_eq!(tx.dir_replace(&mut d, b"gamma", g, ft::REG).unwrap(), g);
    assert!(d.has_flag(flags::INLINE_DATA), "still inline");
    let before = value_len(&d);
    tx.put_inode(d);
    tx.commit().unwrap();
    for (old, new, ino) in [("theta", "th2", t), ("alpha", "al", a)] {
        model.remove(old.as_bytes());
        model.insert(new.as_bytes().to_vec(), ino);
    }
    assert_fsck_clean(&img);
    assert_eq!(kernel_view(&img, "x"), model);

    // Forty more names for theta's inode: the directory converts.
    let mut tx = fs.begin().unwrap();
    let mut d = tx.inode(x).unwrap();
    assert_eq!(value_len(&d), before, "system.data never grows");
    for i in 0..40 {
        let n = format!("more-{i}");
        tx.dir_add(&mut d, n.as_bytes(), t, ft::REG).unwrap();
        model.insert(n.into_bytes(), t);
    }
    assert!(!d.has_flag(flags::INLINE_DATA));
    assert_eq!(value_len(&d), None, "system.data removed");
    let mut ti = tx.inode(t).unwrap();
    ti.links_count += 40;
    tx.put_inode(ti);
    tx.put_inode(d);
    tx.commit().unwrap();
    assert_fsck_clean(&img);
    assert_eq!(kernel_view(&img, "x"), model);
}

/// Adds long names on 1 KiB blocks (three records a leaf) until the
/// first error; returns it with the number of names committed.
fn fill_with_long_names(s: &mut Setup, max: usize) -> (Option<FsError>, usize) {
    let long = |i: usize| format!("{i:08}{}", "l".repeat(240)).into_bytes();
    let fs = open_rw(&s.img);
    let mut i = 0;
    while i < max {
        let mut tx = fs.begin().unwrap();
        let mut dir = tx.inode(s.dir).unwrap();
        let mut added = Vec::new();
        for _ in 0..2000.min(max - i) {
            let n = long(i);
            i += 1;
            if let Err(e) = tx.dir_add(&mut dir, &n, s.files[0], ft::REG) {
                return (Some(e), s.model.len());
            }
            added.push(n);
        }
        tx.put_inode(dir);
        for n in added {
            s.model.insert(n, s.files[0]);
        }
        s.fix_links(&mut tx);
        tx.commit().unwrap();
    }
    (None, s.model.len())
}

/// Long names on 1 KiB blocks fill a two-level index: the next add that
/// needs a third level answers NoSpace without large_dir (the kernel's
/// "Directory index full"), and what was committed stays consistent.
/// With large_dir the same names and more make a third level.
#[test]
fn full_two_level_index_is_enospc_unless_large_dir() {
    require_kernel_mounts(TOOLS);
    let mut s = setup(
        &["-b", "1024", "-O", "^metadata_csum", "-N", "256"],
        "96M",
        1,
    );
    let (err, n) = fill_with_long_names(&mut s, usize::MAX);
    assert!(
        matches!(err, Some(FsError::NoSpace)),
        "{err:?} after {n} names"
    );
    assert_eq!(s.levels(), Some(1));
    s.check();

    let mut s = setup(&["-b", "1024", "-O", "large_dir", "-N", "256"], "128M", 1);
    let (err, m) = fill_with_long_names(&mut s, n + 3000);
    assert!(err.is_none(), "{err:?} after {m} names");
    assert_eq!(s.levels(), Some(2));
    s.check();
}
