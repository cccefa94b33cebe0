//! Damaged images for the hostile tests (read side in hostile.rs, write
//! side in hostile_write.rs): small images built from one tree with
//! `mkfs.ext4 -d` and indexed with `e2fsck -fyD` (a 2000-entry htree
//! directory, a file with an extent tree or indirect blocks, symlinks,
//! in-inode and block xattrs), the byte ranges of their metadata located
//! with debugfs on the pristine image, and a seeded generator of damage
//! to those ranges. Each test module uses a subset, hence the allowance.
#![allow(dead_code)]

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::Command;

use fuse4fs::ext4::InodeNo;
use fuse4fs::fs::{Fs, FsOptions};

pub const FIXED_UUID: &str = "0f5e4d3c-2b1a-4098-8776-655443322110";

/// splitmix64: small, seedable, good enough to pick offsets.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

pub use fuse4fs_testkit::e2fs::run;

/// Runs debugfs commands (read-only unless `write`) on `img`.
pub fn debugfs(img: &Path, cmds: &str, write: bool) -> String {
    let cmds: Vec<&str> = cmds.lines().collect();
    let out = fuse4fs_testkit::e2fs::debugfs_script(img, write, &cmds);
    assert!(out.status.success(), "debugfs {cmds:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn build_tree(root: &Path) {
    fs::create_dir_all(root.join("a/b/c")).unwrap();
    fs::create_dir(root.join("h")).unwrap();
    for i in 0..2000 {
        let p = root.join(format!("h/entry-with-a-longer-name-{i:05}"));
        fs::write(p, if i % 100 == 0 { vec![b'x'; i] } else { vec![] }).unwrap();
    }
    fs::write(root.join("small"), b"hello\n").unwrap();
    fs::write(root.join("a/b/c/deep"), vec![7u8; 5000]).unwrap();
    let big: Vec<u8> = (0..300_000u32).map(|i| ((i * 31) >> 3) as u8).collect();
    fs::write(root.join("a/big"), big).unwrap();
    // Islands of data between holes: an extent tree (ext4) or indirect
    // blocks with holes (ext2).
    let f = fs::File::create(root.join("frag")).unwrap();
    for i in 0..12u64 {
        f.write_all_at(&[i as u8 + 1; 4096], i * 65536).unwrap();
    }
    drop(f);
    std::os::unix::fs::symlink("small", root.join("fast")).unwrap();
    std::os::unix::fs::symlink("a/".repeat(40) + "target", root.join("a/slow")).unwrap();
    fs::hard_link(root.join("small"), root.join("a/b/hard")).unwrap();
}

/// A pristine image and the byte ranges of its metadata.
pub struct Fixture {
    pub name: &'static str,
    pub pristine: Vec<u8>,
    pub regions: Vec<(u64, u64)>,
    /// Every inode reachable from the root.
    pub inodes: Vec<u32>,
    /// Those that are directories.
    pub dirs: Vec<u32>,
    /// Every reachable path ("/a/b") and its inode.
    pub path_inodes: Vec<(String, u32)>,
}

pub fn number_after(s: &str, key: &str) -> Option<u64> {
    let rest = &s[s.find(key)? + key.len()..];
    let end = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let t = &rest[..end];
    match t.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => t.parse().ok(),
    }
}

/// Every "(TAG):N" in debugfs stat output for the tree-block tags.
pub fn tree_blocks(stat: &str) -> Vec<u64> {
    let mut out = Vec::new();
    for tok in stat.split(|c: char| c.is_whitespace() || c == ',') {
        let Some((tag, n)) = tok.split_once("):") else {
            continue;
        };
        let tag = tag.trim_start_matches('(');
        let is_tree = tag.starts_with("ETB") || tag == "IND" || tag == "DIND" || tag == "TIND";
        if let (true, Ok(n)) = (is_tree, n.parse::<u64>()) {
            out.push(n);
        }
    }
    out
}

/// Builds the image `name` of `size` from the tree at `src` in `dir`.
pub fn make_fixture(
    name: &'static str,
    dir: &Path,
    src: &Path,
    mkfs_args: &[&str],
    size: &str,
) -> Fixture {
    let img = dir.join(format!("{name}.img"));
    // Fixed UUID and hash seed: the same seed damages the same bytes of
    // the same layout on every run.
    run(Command::new("mkfs.ext4")
        .args(["-q", "-F", "-U", FIXED_UUID, "-E"])
        .arg(format!("hash_seed={FIXED_UUID}"))
        .args(mkfs_args)
        .arg("-d")
        .arg(src)
        .arg(&img)
        .arg(size));
    // -D indexes the directories; exit status 1 means "changed".
    let st = Command::new("e2fsck")
        .arg("-fyD")
        .arg(&img)
        .output()
        .unwrap()
        .status;
    assert!(matches!(st.code(), Some(0 | 1)), "e2fsck -fyD {name}: {st}");
    // Xattrs: one in the inode, one too big for it (an xattr block).
    // 700 bytes fit a 1 KiB block (1500 did not: ext2-1k's big file had
    // no xattr block, and the unchecked debugfs run said nothing).
    let value = dir.join("xattr-value");
    fs::write(&value, vec![b'v'; 700]).unwrap();
    let big = format!("ea_set -f {} /a/big user.big", value.display());
    fuse4fs_testkit::e2fs::debugfs_w(
        &img,
        &[
            "ea_set /small user.small tiny",
            &big,
            "ea_set /h user.dir dirattr",
        ],
    );
    let dump = debugfs(&img, "htree_dump /h\n", false);
    assert!(dump.contains("Root node dump"), "{name}: /h has no htree");

    // Walk the pristine image with our own reader to list the inodes.
    let fs = Fs::open(&img, &FsOptions::default()).unwrap();
    let bs = fs.block_size() as u64;
    let sb = fs.superblock().clone();
    let mut inodes = Vec::new();
    let mut dirs = Vec::new();
    let mut path_inodes = Vec::new();
    let mut stack = vec![(InodeNo::ROOT, String::new())];
    let mut seen = HashSet::new();
    while let Some((ino, path)) = stack.pop() {
        path_inodes.push((path.clone(), ino.0));
        if !seen.insert(ino.0) {
            continue;
        }
        let inode = fs.inode(ino).unwrap();
        inodes.push(ino.0);
        if inode.is_dir() {
            dirs.push(ino.0);
            fs.readdir(&inode, 0, |e| {
                if e.name != b"." && e.name != b".." {
                    let name = String::from_utf8_lossy(e.name);
                    stack.push((InodeNo(e.ino), format!("{path}/{name}")));
                }
                true
            })
            .unwrap();
        }
    }
    drop(fs);
    assert!(inodes.len() > 2000, "{name}: walked {}", inodes.len());

    let mut regions = vec![(1024u64, 1024u64)];
    let gdt_first = sb.first_data_block as u64 + 1;
    let gdt_blocks = (sb.group_count() as u64 * sb.desc_size as u64).div_ceil(bs);
    for b in gdt_first..gdt_first + gdt_blocks {
        regions.push((b * bs, bs));
    }
    // Inode slots: the interesting ones (not the 2000 files of /h) each,
    // plus a sample of the rest.
    let mut cmds = String::new();
    let interesting: Vec<u32> = inodes
        .iter()
        .copied()
        .enumerate()
        .filter(|(i, ino)| *ino < 30 || dirs.contains(ino) || i % 50 == 0)
        .map(|(_, ino)| ino)
        .collect();
    for ino in &interesting {
        cmds.push_str(&format!("imap <{ino}>\nstat <{ino}>\n"));
    }
    for d in &dirs {
        cmds.push_str(&format!("blocks <{d}>\n"));
    }
    let out = debugfs(&img, &cmds, false);
    let isz = sb.inode_size as u64;
    let mut n_slots = 0;
    for part in out.split("is part of block group").skip(1) {
        let (Some(blk), Some(off)) = (
            number_after(part, "located at block "),
            number_after(part, "offset "),
        ) else {
            continue;
        };
        regions.push((blk * bs + off, isz));
        n_slots += 1;
    }
    assert_eq!(
        n_slots,
        interesting.len(),
        "{name}: imap output: {}",
        &out[..out.len().min(2000)]
    );
    for b in tree_blocks(&out) {
        regions.push((b * bs, bs));
    }
    for line in out.lines() {
        if let Some(b) = number_after(line, "File ACL: ").filter(|&b| b != 0) {
            regions.push((b * bs, bs));
        }
        // "blocks <ino>" prints a line of block numbers.
        let nums: Vec<u64> = line
            .split_whitespace()
            .map_while(|t| t.parse().ok())
            .collect();
        if !nums.is_empty() && nums.len() == line.split_whitespace().count() {
            regions.extend(nums.into_iter().map(|b| (b * bs, bs)));
        }
    }
    regions.sort();
    regions.dedup();
    assert!(
        regions.len() > 20,
        "{name}: only {} metadata regions",
        regions.len()
    );
    eprintln!(
        "{name}: {} inodes, {} metadata regions",
        inodes.len(),
        regions.len()
    );
    Fixture {
        name,
        pristine: fs::read(&img).unwrap(),
        regions,
        inodes,
        dirs,
        path_inodes,
    }
}

/// Writes `pristine` to `to` (a fresh copy to damage).
pub fn write_copy(pristine: &[u8], to: &Path) {
    fs::File::create(to).unwrap().write_all(pristine).unwrap();
}

/// Damages `img` (a copy of the pristine image) for `seed`: one to four
/// small writes (a bit flip, a random or extreme byte, an interesting
/// aligned 32-bit value) into the metadata regions. Returns the byte
/// ranges written, to restore afterwards.
pub fn corrupt(fx: &Fixture, img: &fs::File, seed: u64) -> Vec<(u64, usize)> {
    let mut rng = Rng(seed);
    let mut touched = Vec::new();
    let n = 1 + rng.below(4);
    for _ in 0..n {
        let (start, len) = fx.regions[rng.below(fx.regions.len() as u64) as usize];
        let off = start + rng.below(len);
        let bytes: Vec<u8> = match rng.below(6) {
            // Flip one bit.
            0 => vec![fx.pristine[off as usize] ^ (1 << rng.below(8))],
            1 => vec![rng.next() as u8],
            2 => vec![0],
            3 => vec![0xFF],
            // A 32-bit field (aligned) set to something interesting.
            _ => {
                let v: u32 = match rng.below(6) {
                    0 => 0,
                    1 => 1,
                    2 => u32::MAX,
                    3 => 0x7FFF_FFFF,
                    4 => rng.below(64) as u32,
                    _ => rng.next() as u32,
                };
                let aligned = off & !3;
                if aligned + 4 > start + len {
                    vec![v as u8]
                } else {
                    touched.push((aligned, 4));
                    img.write_all_at(&v.to_le_bytes(), aligned).unwrap();
                    continue;
                }
            }
        };
        touched.push((off, bytes.len()));
        img.write_all_at(&bytes, off).unwrap();
    }
    touched
}

/// Seed of iteration `i` on fixture number `f`.
pub fn seed_of(f: usize, i: u64) -> u64 {
    (f as u64) << 32 | i
}

/// The message of a caught panic.
pub fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "non-string panic".into())
}
