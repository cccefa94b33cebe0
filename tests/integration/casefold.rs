//! Casefolded directories (feature casefold) at the filesystem layer,
//! judged by e2fsprogs (this kernel has no CONFIG_UNICODE): an htree
//! directory e2fsck indexed with its own folding is read back by other
//! spellings; a directory grown by fuse4fs to an htree of thousands of
//! mixed-case and non-ASCII names passes `e2fsck -fn` (which checks
//! casefolded hashes and duplicate names) and debugfs finds every name
//! by another spelling; case variants are EEXIST; strict encodings refuse
//! invalid UTF-8; chattr +F and its inheritance.

use std::path::{Path, PathBuf};

use fuse4fs::ext4::InodeNo;
use fuse4fs::ext4::inode::{Inode, flags, mode};
use fuse4fs::fs::permission::{Caller, Extra};
use fuse4fs::fs::{Fs, FsError, FsOptions};
use fuse4fs_fsck::{Finding, Kind, Mode, Options as FsckOptions, Problem, check_path};
use fuse4fs_testkit::e2fs;

use crate::common::{assert_fsck_clean, mkfs, open_rw, root_node};

const TOOLS: &[&str] = &["mkfs.ext4", "e2fsck", "debugfs"];

/// What `fuse4fs-fsck -fn` reports on `img`.
fn our_fsck(img: &Path) -> Vec<Finding> {
    let opts = FsckOptions {
        mode: Mode::Check,
        force: true,
        ..FsckOptions::default()
    };
    check_path(img, &opts).unwrap().problems
}

fn root() -> Caller {
    Caller::new(
        0,
        0,
        Extra {
            groups: vec![],
            caps: !0,
            other_namespace: None,
        },
    )
}

/// A casefold image (`extra` mkfs -E options) with an empty casefolded
/// directory /cf made through fuse4fs (mkdir, then chattr +F).
fn image(tmp: &Path, extra: &str) -> (PathBuf, InodeNo) {
    let img = mkfs(
        tmp,
        &["-b", "1024", "-O", "casefold", "-E", extra, "-N", "20000"],
        "64M",
    );
    let fs = open_rw(&img);
    let cf = fs
        .make_node(InodeNo::ROOT, b"cf", &root_node(mode::S_IFDIR | 0o755))
        .unwrap();
    let f = fs.get_flags(cf.ino).unwrap();
    fs.set_flags(cf.ino, &root(), f | flags::CASEFOLD).unwrap();
    drop(fs);
    (img, cf.ino)
}

/// The i-th test name: mixed case ASCII, German ß, Greek with final
/// sigma, Turkish dotted İ, precomposed and combining accents.
fn name(i: usize) -> String {
    match i % 6 {
        0 => format!("File{i}.TXT"),
        1 => format!("Straße-{i}"),
        2 => format!("ΣΊΣΥΦΟΣ{i}ς"),
        3 => format!("İstanbul{i}"),
        4 => format!("caf\u{e9}{i}"),
        _ => format!("Mixed{i}CaSe"),
    }
}

/// Another spelling of `name(i)` that folds to the same name.
fn variant(i: usize) -> String {
    match i % 6 {
        0 => format!("file{i}.txt"),
        1 => format!("STRASSE-{i}"),
        2 => format!("σίσυφος{i}Σ"),
        3 => format!("i\u{307}STANBUL{i}"),
        4 => format!("CAFE\u{301}{i}"),
        _ => format!("mIXED{i}cAsE"),
    }
}

/// What a lookup of `n` in `dir` finds (None: ENOENT).
fn lookup(fs: &Fs, dir: InodeNo, n: &str) -> Option<InodeNo> {
    lookup_bytes(fs, dir, n.as_bytes())
}

#[test]
fn an_htree_of_case_variants_kept_as_e2fsprogs_keeps_it() {
    e2fs::require(TOOLS);
    let tmp = tempfile::tempdir().unwrap();
    let (img, cf) = image(tmp.path(), "encoding=utf8");
    let n = 2400;
    let fs = open_rw(&img);
    let mut inos = Vec::new();
    for i in 0..n {
        let ino = fs
            .make_node(cf, name(i).as_bytes(), &root_node(mode::S_IFREG | 0o644))
            .unwrap()
            .ino;
        inos.push(ino);
    }
    // Every spelling finds the entry; creating a variant is EEXIST.
    for (i, &ino) in inos.iter().enumerate() {
        assert_eq!(lookup(&fs, cf, &variant(i)), Some(ino), "{}", variant(i));
        assert_eq!(lookup(&fs, cf, &name(i)), Some(ino));
    }
    for i in (0..n).step_by(7) {
        let r = fs.make_node(cf, variant(i).as_bytes(), &root_node(mode::S_IFREG | 0o644));
        assert!(matches!(r, Err(FsError::Exists)), "{}", variant(i));
    }
    // Different names stay apart: dotless ı is not i.
    assert_eq!(lookup(&fs, cf, "ıstanbul3"), None);
    // Unlink and rename by other spellings.
    for i in (0..n).step_by(10) {
        fs.unlink(cf, variant(i).as_bytes()).unwrap();
        assert_eq!(lookup(&fs, cf, &name(i)), None);
    }
    for i in (5..n).step_by(10) {
        let to = format!("Renamed{i}");
        fs.rename(cf, variant(i).as_bytes(), cf, to.as_bytes(), 0)
            .unwrap();
        assert_eq!(lookup(&fs, cf, &to.to_uppercase()), Some(inos[i]));
    }
    // A subdirectory inherits the flag.
    let sub = fs
        .make_node(cf, b"Sub", &root_node(mode::S_IFDIR | 0o755))
        .unwrap();
    assert!(sub.flags & flags::CASEFOLD != 0);
    let d = fs.inode(cf).unwrap();
    assert!(d.flags & flags::INDEX != 0, "/cf became an htree");
    drop(fs);

    assert_fsck_clean(&img);
    // Our checker hashes casefolded leaves as e2fsck does.
    let ours = our_fsck(&img);
    assert!(ours.is_empty(), "{ours:?}");
    // debugfs 1.47.0 looks names up byte for byte (its ext2_lookup
    // does not fold): each name as stored.
    let mut want = Vec::new();
    for i in (0..n).filter(|i| i % 10 != 0).step_by(11) {
        let stored = if i % 10 == 5 {
            format!("Renamed{i}")
        } else {
            name(i)
        };
        want.push((stored, inos[i]));
    }
    let text = e2fs::debugfs_all(&img, &["ls -l /cf"]);
    // Names are stored as given (debugfs escapes bytes past ASCII).
    assert!(
        text.contains("Stra\\xc3\\x9fe-1\n") && text.contains("Renamed5\n"),
        "{text}"
    );
    let lookups: Vec<String> = want
        .iter()
        .map(|(s, _)| format!("stat \"/cf/{s}\""))
        .collect();
    let refs: Vec<&str> = lookups.iter().map(String::as_str).collect();
    let out = e2fs::debugfs_all(&img, &refs);
    for (s, ino) in &want {
        assert!(
            out.contains(&format!("Inode: {}", ino.0)),
            "debugfs did not find {s} (inode {})",
            ino.0
        );
    }
    assert!(!out.contains("File not found"), "{out}");
}

#[test]
fn e2fsck_indexed_names_are_found_read_only_by_other_spellings() {
    e2fs::require(TOOLS);
    let tmp = tempfile::tempdir().unwrap();
    let (img, _) = image(tmp.path(), "encoding=utf8");
    // e2fsprogs writes the names, and its own -D rebuilds the index.
    let n = 600;
    let script: Vec<String> = (0..n)
        .map(|i| format!("write /dev/null \"/cf/{}\"", name(i)))
        .collect();
    let refs: Vec<&str> = script.iter().map(String::as_str).collect();
    e2fs::debugfs_w(&img, &refs);
    let (code, text) = e2fs::e2fsck(&img, "-fyD");
    assert!(code <= 1, "e2fsck -fyD: {text}");
    assert_fsck_clean(&img);
    let ours = our_fsck(&img);
    assert!(ours.is_empty(), "{ours:?}");
    let fs = Fs::open(&img, &FsOptions::default()).unwrap();
    let root = fs.inode(InodeNo::ROOT).unwrap();
    let cf = fs.lookup(&root, b"cf").unwrap().ino;
    assert!(fs.inode(cf).unwrap().flags & flags::INDEX != 0);
    for i in 0..n {
        let a = lookup(&fs, cf, &name(i)).unwrap();
        assert_eq!(lookup(&fs, cf, &variant(i)), Some(a), "{}", variant(i));
    }
}

#[test]
fn strict_encoding_refuses_invalid_utf8_and_chattr_needs_an_empty_dir() {
    e2fs::require(TOOLS);
    let tmp = tempfile::tempdir().unwrap();
    let (img, cf) = image(tmp.path(), "encoding=utf8,encoding_flags=strict");
    let fs = open_rw(&img);
    let r = fs.make_node(cf, b"bad\xff", &root_node(mode::S_IFREG | 0o644));
    assert!(matches!(r, Err(FsError::Invalid)), "{:?}", r.map(|i| i.ino));
    // Outside a casefolded directory the name is just bytes.
    fs.make_node(InodeNo::ROOT, b"bad\xff", &root_node(mode::S_IFREG | 0o644))
        .unwrap();
    // +F on a non-empty directory: ENOTEMPTY; on a file: ENOTDIR.
    fs.make_node(cf, b"x", &root_node(mode::S_IFREG | 0o644))
        .unwrap();
    let f = fs.get_flags(cf).unwrap();
    assert!(matches!(
        fs.set_flags(cf, &root(), f & !flags::CASEFOLD),
        Err(FsError::NotEmpty)
    ));
    drop(fs);
    assert_fsck_clean(&img);

    // Without strict, an invalid name is kept and matched byte for byte.
    let tmp2 = tempfile::tempdir().unwrap();
    let (img2, cf2) = image(tmp2.path(), "encoding=utf8");
    let fs = open_rw(&img2);
    let ino = fs
        .make_node(cf2, b"Bad\xff", &root_node(mode::S_IFREG | 0o644))
        .unwrap()
        .ino;
    assert_eq!(lookup_bytes(&fs, cf2, b"Bad\xff"), Some(ino));
    assert_eq!(lookup_bytes(&fs, cf2, b"bad\xff"), None);
}

fn lookup_bytes(fs: &Fs, dir: InodeNo, n: &[u8]) -> Option<InodeNo> {
    let d: Inode = fs.inode(dir).unwrap();
    match fs.lookup(&d, n) {
        Ok(f) => Some(f.ino),
        Err(FsError::NotFound) => None,
        Err(e) => panic!("lookup {:?}: {e}", String::from_utf8_lossy(n)),
    }
}

#[test]
fn two_spellings_of_one_name_are_judged_as_e2fsck_judges_them() {
    e2fs::require(TOOLS);
    let tmp = tempfile::tempdir().unwrap();
    let (img, _) = image(tmp.path(), "encoding=utf8");
    // debugfs links byte for byte: two spellings of one name (and a
    // link count one short).
    e2fs::debugfs_w(
        &img,
        &[
            "write /dev/null /cf/Stra\u{df}e",
            "ln /cf/Stra\u{df}e /cf/STRASSE",
        ],
    );
    // e2fsck's pass 2 does not call them duplicates (its -D rehash
    // would): both checkers report the link count only.
    let (code, text) = e2fs::e2fsck(&img, "-fn");
    assert!(code != 0 && !text.contains("Duplicate"), "{text}");
    assert!(text.contains("ref count is 1, should be 2"), "{text}");
    let ours = our_fsck(&img);
    assert!(
        !ours.iter().any(|p| p.kind == Kind::DirEntryDuplicate),
        "{ours:?}"
    );
    assert!(
        ours.iter().any(|p| matches!(
            p.problem,
            Problem::LinkCount {
                have: 1,
                want: 2,
                ..
            }
        )),
        "{ours:?}"
    );
}
