//! Extended attribute writes: the same sequence of operations done by the
//! kernel (loop mount) and by us leaves byte-identical in-inode areas and
//! xattr blocks and the same answers; e2fsck is clean; shared blocks are
//! copied on write; POSIX ACLs update the mode and are inherited as the
//! kernel does; damage is an error, not a panic.
//!
//! Needs root (loop mounts), e2fsprogs and attr/acl (getfattr, getfacl);
//! skips with a message otherwise.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use fuse4fs::ext4::inode::Inode;
use fuse4fs::ext4::xattr;
use fuse4fs::ext4::{BlockNo, InodeNo};
use fuse4fs::fs::journal::transaction::Transaction;
use fuse4fs::fs::xattr::write::SetMode;
use fuse4fs::fs::{Fs, FsError, FsOptions};

use crate::common::{assert_fsck_clean, mkfs, open_rw, require_kernel_mounts, run};

/// The tests compare with the kernel's view of a twin image, read with
/// getfattr and getfacl.
const TOOLS: &[&str] = &["mkfs.ext4", "e2fsck", "debugfs", "getfattr", "getfacl"];

/// Runs debugfs -w commands on the image.
fn debugfs(img: &Path, cmds: &[&str]) {
    fuse4fs_testkit::e2fs::debugfs_w(img, cmds);
}

/// A fresh image in `dir` (mkfs `args`, `size`) holding the empty files
/// and directories debugfs makes from `cmds`.
fn image(dir: &Path, args: &[&str], size: &str, cmds: &[&str]) -> PathBuf {
    let img = mkfs(dir, args, size);
    debugfs(&img, cmds);
    img
}

fn ino_of(fs: &Fs, path: &str) -> InodeNo {
    let mut cur = InodeNo::ROOT;
    for part in path.split('/').filter(|p| !p.is_empty()) {
        let dir = fs.inode(cur).unwrap();
        cur = fs.lookup(&dir, part.as_bytes()).unwrap().ino;
    }
    cur
}

/// One operation in its own transaction: `op` changes the inode, which is
/// then put and committed. An error drops the transaction.
fn apply(
    fs: &Fs,
    ino: InodeNo,
    op: impl FnOnce(&mut Transaction, &mut Inode) -> Result<(), FsError>,
) -> Result<(), FsError> {
    let mut tx = fs.begin()?;
    let mut inode = tx.inode(ino)?;
    op(&mut tx, &mut inode)?;
    tx.put_inode(inode);
    tx.commit()
}

/// Unmounts (and removes the mount point's loop) on drop.
struct Mount(PathBuf);
impl Mount {
    fn new(img: &Path, rw: bool) -> Mount {
        let mnt = img.with_extension("mnt");
        std::fs::create_dir_all(&mnt).unwrap();
        let opts = if rw { "loop" } else { "loop,ro" };
        run(
            "mount",
            &["-o", opts, img.to_str().unwrap(), mnt.to_str().unwrap()],
        );
        Mount(mnt)
    }
    fn path(&self, p: &str) -> String {
        format!("{}/{p}", self.0.display())
    }
}
impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

type View = BTreeMap<String, Vec<u8>>;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// What the kernel shows for each path: name → value.
fn kernel_view(img: &Path, paths: &[&str]) -> BTreeMap<String, View> {
    let m = Mount::new(img, false);
    let mut all = BTreeMap::new();
    for p in paths {
        let out = Command::new("getfattr")
            .args(["-d", "-m", "-", "-e", "hex", "--absolute-names"])
            .arg(m.path(p))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "getfattr {p}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut view = View::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some((name, value)) = line.split_once('=') {
                view.insert(name.to_string(), unhex(value.trim_start_matches("0x")));
            } else if !line.is_empty() && !line.starts_with('#') {
                // A name without a value is an empty value.
                view.insert(line.to_string(), Vec::new());
            }
        }
        all.insert(p.to_string(), view);
    }
    all
}

/// What we serve for `ino`: name → value.
fn our_view(fs: &Fs, ino: InodeNo) -> View {
    let inode = fs.inode(ino).unwrap();
    fs.listxattr(&inode)
        .unwrap()
        .into_iter()
        .map(|n| {
            let v = fs.getxattr(&inode, &n).unwrap();
            (String::from_utf8(n).unwrap(), v)
        })
        .collect()
}

fn value(seed: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((seed * 31 + i * 7) % 251) as u8)
        .collect()
}

/// A VFS-format ACL from (tag, perm, id) triples.
fn acl(entries: &[(u16, u16, u32)]) -> Vec<u8> {
    let mut v = 2u32.to_le_bytes().to_vec();
    for &(tag, perm, id) in entries {
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&perm.to_le_bytes());
        v.extend_from_slice(&id.to_le_bytes());
    }
    v
}
const NOID: u32 = u32::MAX;

#[derive(Debug, Clone)]
enum Op {
    Set(String, Vec<u8>, SetMode),
    Remove(String),
}

fn errname(e: &FsError) -> &'static str {
    match e.errno() {
        libc::EEXIST => "EEXIST",
        libc::ENODATA => "ENODATA",
        libc::ENOSPC => "ENOSPC",
        libc::ERANGE => "ERANGE",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EINVAL => "EINVAL",
        libc::EACCES => "EACCES",
        _ => "other",
    }
}

/// A deterministic mix of sets (any/create/replace), replacements with
/// other sizes and removals over a pool of names in every namespace, with
/// values from empty to `big` bytes and a few ACLs.
fn ops(seed: u64, n: usize, big: usize) -> Vec<(usize, Op)> {
    let mut rng = fuse4fs_testkit::XorShift(seed);
    let mut next = move || rng.next().unwrap();
    let names = [
        "user.a",
        "user.bb",
        "user.ccc",
        "user.dddd",
        "user.a_rather_long_attribute_name_0123456789",
        "trusted.t",
        "trusted.overlay.opaque",
        "security.s",
        "gnu.h",
        "user.e",
        "user.f",
        "user.g",
        // Bytes above 0x7F: the kernel hashes names as unsigned bytes
        // (before 6.2 as signed chars).
        "user.\u{e9}t\u{e9}",
    ];
    let sizes = [0, 1, 3, 4, 5, 17, 32, 60, 100, 250, 400, big / 2, big];
    let acls = [
        acl(&[(1, 6, NOID), (4, 4, NOID), (0x20, 4, NOID)]),
        acl(&[
            (1, 7, NOID),
            (2, 6, 1000),
            (2, 4, 1001),
            (4, 5, NOID),
            (8, 4, 50),
            (0x10, 7, NOID),
            (0x20, 1, NOID),
        ]),
        acl(&[(1, 5, NOID), (4, 0, NOID), (0x20, 0, NOID)]),
    ];
    // First a fixed prelude: an attribute pushed into the block by a full
    // inode body is set again to the same value once the body has room;
    // the kernel leaves it where it is.
    let prelude = [
        Op::Set("user.fill".into(), value(1000, 60), SetMode::Any),
        Op::Set("user.y".into(), value(1001, 10), SetMode::Any),
        Op::Remove("user.fill".into()),
        Op::Set("user.y".into(), value(1001, 10), SetMode::Any),
    ];
    let prelude = prelude.into_iter().map(|op| (0, op));
    prelude
        .chain((0..n).map(|k| {
            let file = (next() % 2) as usize;
            let r = next() % 100;
            let op = if r < 5 {
                let a = &acls[(next() % acls.len() as u64) as usize];
                Op::Set("system.posix_acl_access".into(), a.clone(), SetMode::Any)
            } else if r < 30 {
                Op::Remove(names[(next() % names.len() as u64) as usize].into())
            } else {
                let name = names[(next() % names.len() as u64) as usize];
                let size = sizes[(next() % sizes.len() as u64) as usize];
                let how = match next() % 6 {
                    0 => SetMode::Create,
                    1 => SetMode::Replace,
                    _ => SetMode::Any,
                };
                Op::Set(name.into(), value(k, size), how)
            };
            (file, op)
        }))
        .collect()
}

/// Applies `ops` to the files through the kernel (rw loop mount, a Python
/// script calling setxattr/removexattr); the errno names.
fn kernel_apply(img: &Path, files: &[&str], ops: &[(usize, Op)]) -> Vec<String> {
    let m = Mount::new(img, true);
    let mut script = String::from(
        "import os, errno, sys\nres = []\ndef do(f):\n    try:\n        f(); res.append('ok')\n    except OSError as e:\n        res.append(errno.errorcode[e.errno])\n",
    );
    for (file, op) in ops {
        let path = m.path(files[*file]);
        let line = match op {
            Op::Set(name, v, how) => {
                let flags = match how {
                    SetMode::Any => "0",
                    SetMode::Create => "os.XATTR_CREATE",
                    SetMode::Replace => "os.XATTR_REPLACE",
                };
                format!(
                    "do(lambda: os.setxattr({path:?}, {name:?}, bytes.fromhex({:?}), {flags}))\n",
                    v.iter().map(|b| format!("{b:02x}")).collect::<String>()
                )
            }
            Op::Remove(name) => format!("do(lambda: os.removexattr({path:?}, {name:?}))\n"),
        };
        script.push_str(&line);
    }
    script.push_str("print('\\n'.join(res))\n");
    let file = img.with_extension("py");
    std::fs::write(&file, script).unwrap();
    let out = run("python3", &[file.to_str().unwrap()]);
    drop(m);
    out.lines().map(str::to_string).collect()
}

/// Applies `ops` through our API, one transaction each; the errno names.
/// A failed call must leave `inode` as it was, and committing its
/// transaction anyway must change nothing either.
fn our_apply(fs: &Fs, inos: &[InodeNo], ops: &[(usize, Op)]) -> Vec<String> {
    ops.iter()
        .map(|(file, op)| {
            let mut tx = fs.begin().unwrap();
            let mut inode = tx.inode(inos[*file]).unwrap();
            let before = format!("{inode:?}");
            let r = match op {
                Op::Set(name, v, how) => tx.set_xattr(&mut inode, name.as_bytes(), v, *how),
                Op::Remove(name) => tx.remove_xattr(&mut inode, name.as_bytes()),
            };
            match r {
                Ok(()) => {
                    tx.put_inode(inode);
                    tx.commit().unwrap();
                    "ok".to_string()
                }
                Err(e) => {
                    assert_eq!(format!("{inode:?}"), before, "{op:?} failed but changed");
                    tx.put_inode(inode);
                    tx.commit().unwrap();
                    errname(&e).to_string()
                }
            }
        })
        .collect()
}

/// The xattr bytes of an inode: its in-inode area, and its block with the
/// checksum field cleared (block numbers may differ between the two
/// images, and the checksum covers the number).
fn raw_xattrs(img: &Path, ino: InodeNo) -> (Vec<u8>, Option<Vec<u8>>, u16, u64) {
    let fs = Fs::open(img, &FsOptions::default()).unwrap();
    let inode = fs.inode(ino).unwrap();
    let block = (inode.file_acl != 0).then(|| {
        let bs = fs.block_size() as u64;
        let bytes = std::fs::read(img).unwrap();
        let at = (inode.file_acl * bs) as usize;
        let mut b = bytes[at..at + bs as usize].to_vec();
        b[16..20].fill(0);
        b
    });
    (inode.ibody_xattrs, block, inode.mode, inode.blocks_512)
}

/// The kernel twin: identical images, the same operations by the kernel
/// and by us, then the same answers, the same bytes, e2fsck clean and the
/// kernel reading back what we serve.
fn twin(args: &[&str], size: &str, seed: u64, n: usize, big: usize) {
    let dir = tempfile::tempdir().unwrap();
    let cmds = ["write /dev/null f", "write /dev/null g"];
    let kdir = dir.path().join("k");
    let odir = dir.path().join("o");
    std::fs::create_dir_all(&kdir).unwrap();
    std::fs::create_dir_all(&odir).unwrap();
    let kimg = image(&kdir, args, size, &cmds);
    let oimg = image(&odir, args, size, &cmds);
    let files = ["f", "g"];
    let ops = ops(seed, n, big);

    let kernel = kernel_apply(&kimg, &files, &ops);
    let fs = open_rw(&oimg);
    let inos: Vec<InodeNo> = files.iter().map(|f| ino_of(&fs, f)).collect();
    let ours = our_apply(&fs, &inos, &ops);
    for (i, (k, o)) in kernel.iter().zip(&ours).enumerate() {
        assert_eq!(k, o, "op {i} {:?}", ops[i]);
    }
    assert_eq!(kernel.len(), ours.len());
    for want in ["ok", "ENOSPC", "EEXIST", "ENODATA"] {
        assert!(
            ours.iter().any(|r| r == want) || (want == "ENOSPC" && big < 900),
            "the sequence never answered {want}: {ours:?}"
        );
    }
    assert_fsck_clean(&oimg);
    for &ino in &inos {
        let (ki, kb, km, kblocks) = raw_xattrs(&kimg, ino);
        let (oi, ob, om, oblocks) = raw_xattrs(&oimg, ino);
        assert_eq!(ki, oi, "in-inode area of {ino:?}");
        assert_eq!(kb, ob, "xattr block of {ino:?}");
        assert_eq!((km, kblocks), (om, oblocks), "mode, i_blocks of {ino:?}");
    }
    let seen = kernel_view(&oimg, &files);
    let fs = Fs::open(&oimg, &FsOptions::default()).unwrap();
    for (f, &ino) in files.iter().zip(&inos) {
        assert_eq!(seen[*f], our_view(&fs, ino), "{f}");
    }
}

#[test]
fn twin_4k_256_byte_inodes() {
    require_kernel_mounts(TOOLS);
    twin(&["-b", "4096"], "32M", 0x9e37_79b9, 400, 3000);
}

#[test]
fn twin_128_byte_inodes_everything_in_the_block() {
    require_kernel_mounts(TOOLS);
    twin(&["-b", "4096", "-I", "128"], "32M", 0x1234_5678, 300, 2000);
}

#[test]
fn twin_without_metadata_csum_1k_blocks() {
    require_kernel_mounts(TOOLS);
    twin(
        &["-b", "1024", "-O", "^metadata_csum"],
        "16M",
        0xdead_beef,
        300,
        900,
    );
}

#[test]
fn twin_1k_blocks_metadata_csum() {
    require_kernel_mounts(TOOLS);
    twin(&["-b", "1024"], "16M", 42, 300, 900);
}

/// Fills one inode until ENOSPC, with the kernel filling its twin: the
/// same attributes fit; the failing call leaves the image byte for byte
/// as it was.
#[test]
fn fill_to_enospc() {
    require_kernel_mounts(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let (kdir, odir) = (dir.path().join("k"), dir.path().join("o"));
    std::fs::create_dir_all(&kdir).unwrap();
    std::fs::create_dir_all(&odir).unwrap();
    let cmds = ["write /dev/null f"];
    let kimg = image(&kdir, &["-b", "1024"], "16M", &cmds);
    let oimg = image(&odir, &["-b", "1024"], "16M", &cmds);
    let ops: Vec<(usize, Op)> = (0..60)
        .map(|i| {
            let name = format!("user.fill{i:03}");
            (
                0,
                Op::Set(name, value(i, 20 + (i * 13) % 70), SetMode::Create),
            )
        })
        .collect();
    let kernel = kernel_apply(&kimg, &["f"], &ops);
    let first_fail = kernel
        .iter()
        .position(|r| r != "ok")
        .expect("kernel filled");
    assert_eq!(kernel[first_fail], "ENOSPC");

    // Smaller values still fit after the first failure: the same ones.
    let fs = open_rw(&oimg);
    let ino = ino_of(&fs, "f");
    let ours = our_apply(&fs, &[ino], &ops);
    assert_eq!(ours, kernel);
    drop(fs);
    let before = std::fs::read(&oimg).unwrap();
    let fs = open_rw(&oimg);
    let mut tx = fs.begin().unwrap();
    let mut inode = tx.inode(ino).unwrap();
    let was = format!("{inode:?}");
    // The first refused attribute is still refused, changing nothing.
    let (name, v) = match &ops[first_fail].1 {
        Op::Set(n, v, _) => (n.clone(), v.clone()),
        Op::Remove(_) => unreachable!(),
    };
    let err = tx
        .set_xattr(&mut inode, name.as_bytes(), &v, SetMode::Create)
        .unwrap_err();
    assert!(matches!(err, FsError::NoSpace), "{err:?}");
    assert_eq!(format!("{inode:?}"), was);
    tx.put_inode(inode);
    tx.commit().unwrap();
    drop(fs);
    assert!(std::fs::read(&oimg).unwrap() == before, "image changed");
    assert_fsck_clean(&oimg);
    let (ki, kb, _, _) = raw_xattrs(&kimg, ino);
    let (oi, ob, _, _) = raw_xattrs(&oimg, ino);
    assert_eq!((ki, kb), (oi, ob));
}

/// Sets `pairs` on `ino` (Any), one transaction.
fn set_all(fs: &Fs, ino: InodeNo, pairs: &[(&str, Vec<u8>)]) {
    apply(fs, ino, |tx, inode| {
        for (n, v) in pairs {
            tx.set_xattr(inode, n.as_bytes(), v, SetMode::Any)?;
        }
        Ok(())
    })
    .unwrap();
}

/// h_refcount of block `b` as committed.
fn refcount(img: &Path, b: u64, bs: u64) -> u32 {
    let bytes = std::fs::read(img).unwrap();
    let at = (b * bs) as usize;
    let (header, _) = xattr::parse_block(&bytes[at..at + bs as usize]).unwrap();
    header.refcount
}

/// Makes `g` share `f`'s xattr block (refcount + 1, `g` charged for it),
/// the way the kernel's mbcache sharing leaves two inodes.
fn share_block(fs: &Fs, f: InodeNo, g: InodeNo) -> u64 {
    let b = fs.inode(f).unwrap().file_acl;
    assert_ne!(b, 0);
    let seed = fs.superblock().csum_seed();
    let csum = fs.superblock().metadata_csum();
    let bs = fs.block_size() as i64;
    let mut tx = fs.begin().unwrap();
    let block = tx.block_mut(BlockNo(b)).unwrap();
    let (header, _) = xattr::parse_block(block).unwrap();
    xattr::set_block_refcount(block, header.refcount + 1);
    if csum {
        xattr::set_block_checksum(seed, b, block);
    }
    let mut gi = tx.inode(g).unwrap();
    assert_eq!(gi.file_acl, 0);
    gi.file_acl = b;
    gi.blocks_512 += (bs / 512) as u64;
    tx.put_inode(gi);
    tx.commit().unwrap();
    b
}

#[test]
fn shared_block_copy_on_write() {
    require_kernel_mounts(TOOLS);
    for args in [
        &["-b", "4096"][..],
        &["-b", "4096", "-I", "128", "-O", "^metadata_csum"],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let cmds = [
            "write /dev/null f",
            "write /dev/null g",
            "write /dev/null h",
        ];
        let img = image(dir.path(), args, "32M", &cmds);
        let fs = open_rw(&img);
        let bs = fs.block_size() as u64;
        let [f, g, h] = ["f", "g", "h"].map(|n| ino_of(&fs, n));
        // Values too big for the inode body: everything in the block.
        let shared = vec![
            ("user.big", value(1, 700)),
            ("user.other", value(2, 300)),
            ("trusted.t", value(3, 200)),
        ];
        set_all(&fs, f, &shared);
        let b = share_block(&fs, f, g);
        share_block(&fs, f, h);
        drop(fs);
        assert_fsck_clean(&img);
        assert_eq!(refcount(&img, b, bs), 3);
        let want: View = shared
            .iter()
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect();
        let seen = kernel_view(&img, &["f", "g", "h"]);
        assert!(seen.values().all(|v| *v == want), "{seen:?}");

        // g changes a value: g gets its own block; f and h keep theirs.
        let fs = open_rw(&img);
        set_all(&fs, g, &[("user.other", value(9, 310))]);
        let gb = fs.inode(g).unwrap().file_acl;
        assert!(gb != 0 && gb != b);
        // h removes everything: it lets go of the shared block.
        apply(&fs, h, |tx, inode| {
            for (n, _) in &shared {
                tx.remove_xattr(inode, n.as_bytes())?;
            }
            Ok(())
        })
        .unwrap();
        let hi = fs.inode(h).unwrap();
        assert_eq!((hi.file_acl, hi.blocks_512), (0, 0));
        drop(fs);
        assert_fsck_clean(&img);
        assert_eq!(refcount(&img, b, bs), 1);
        assert_eq!(refcount(&img, gb, bs), 1);
        let mut g_want = want.clone();
        g_want.insert("user.other".into(), value(9, 310));
        let seen = kernel_view(&img, &["f", "g", "h"]);
        assert_eq!(seen["f"], want);
        assert_eq!(seen["g"], g_want);
        assert!(seen["h"].is_empty());

        // Share again, then delete both users' claims: the first drop
        // lowers the refcount, the last frees the block.
        let fs = open_rw(&img);
        share_block(&fs, f, h);
        apply(&fs, h, |tx, inode| tx.drop_xattr_block(inode)).unwrap();
        assert_eq!(fs.inode(h).unwrap().file_acl, 0);
        drop(fs);
        assert_fsck_clean(&img);
        assert_eq!(refcount(&img, b, bs), 1);
        let fs = open_rw(&img);
        let free_before = fs.live_superblock().free_blocks_count;
        apply(&fs, f, |tx, inode| tx.drop_xattr_block(inode)).unwrap();
        let fi = fs.inode(f).unwrap();
        assert_eq!((fi.file_acl, fi.blocks_512), (0, 0));
        assert_eq!(fs.live_superblock().free_blocks_count, free_before + 1);
        drop(fs);
        assert_fsck_clean(&img);
    }
}

/// getfacl's view without the comment lines.
fn getfacl(m: &Mount, p: &str) -> String {
    run("getfacl", &["-p", "-n", &m.path(p)])
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A default ACL on a directory; children made with open(0666) and
/// mkdir(0777) by the kernel, and by us (debugfs-made children given the
/// requested mode, then init_acl): the same ACLs and modes.
#[test]
fn acl_inheritance_like_the_kernel() {
    require_kernel_mounts(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let img = image(
        dir.path(),
        &["-b", "4096"],
        "32M",
        &["mkdir d", "mkdir plain", "mkdir s"],
    );
    let default = acl(&[
        (1, 7, NOID),
        (2, 7, 1000),
        (4, 5, NOID),
        (8, 3, 2000),
        (0x10, 5, NOID),
        (0x20, 5, NOID),
    ]);
    // No named entries, no mask: the group entry takes the masking and
    // the children's ACLs are equivalent to their modes.
    let simple = acl(&[(1, 7, NOID), (4, 5, NOID), (0x20, 0, NOID)]);
    let access = acl(&[(1, 7, NOID), (4, 5, NOID), (0x20, 5, NOID)]);
    let fs = open_rw(&img);
    let d = ino_of(&fs, "d");
    set_all(
        &fs,
        d,
        &[
            ("system.posix_acl_default", default.clone()),
            ("system.posix_acl_access", access.clone()),
        ],
    );
    set_all(
        &fs,
        ino_of(&fs, "s"),
        &[("system.posix_acl_default", simple)],
    );
    // The access ACL is equivalent to a mode: nothing stored, mode rwxr-xr-x.
    let di = fs.inode(d).unwrap();
    assert_eq!(di.mode & 0o777, 0o755);
    assert_eq!(
        fs.listxattr(&di).unwrap(),
        vec![b"system.posix_acl_default".to_vec()]
    );
    drop(fs);

    // The kernel's children, in a copy of the image.
    let kimg = dir.path().join("kimg");
    std::fs::copy(&img, &kimg).unwrap();
    {
        let m = Mount::new(&kimg, true);
        let script = format!(
            "import os\nos.umask(0o022)\nos.close(os.open({:?}, os.O_CREAT|os.O_WRONLY, 0o666))\nos.mkdir({:?}, 0o777)\nos.close(os.open({:?}, os.O_CREAT|os.O_WRONLY, 0o640))\nos.close(os.open({:?}, os.O_CREAT|os.O_WRONLY, 0o666))\nos.close(os.open({:?}, os.O_CREAT|os.O_WRONLY, 0o666))\nos.mkdir({:?}, 0o777)\n",
            m.path("d/file"),
            m.path("d/sub"),
            m.path("d/narrow"),
            m.path("plain/file"),
            m.path("s/file"),
            m.path("s/sub"),
        );
        let py = dir.path().join("mk.py");
        std::fs::write(&py, script).unwrap();
        run("python3", &[py.to_str().unwrap()]);
    }

    // Ours.
    debugfs(
        &img,
        &[
            "write /dev/null d/file",
            "mkdir d/sub",
            "write /dev/null d/narrow",
            "write /dev/null plain/file",
            "write /dev/null s/file",
            "mkdir s/sub",
        ],
    );
    let fs = open_rw(&img);
    for (path, parent, mode) in [
        ("d/file", "d", 0o100666),
        ("d/sub", "d", 0o40777),
        ("d/narrow", "d", 0o100640),
        ("plain/file", "plain", 0o100666),
        ("s/file", "s", 0o100666),
        ("s/sub", "s", 0o40777),
    ] {
        let dir_ino = ino_of(&fs, parent);
        let child = ino_of(&fs, path);
        apply(&fs, child, |tx, inode| {
            let dir = tx.inode(dir_ino)?;
            inode.mode = mode;
            tx.init_acl(&dir, inode, 0o022)
        })
        .unwrap();
    }
    drop(fs);
    assert_fsck_clean(&img);
    let km = Mount::new(&kimg, false);
    let om = Mount::new(&img, false);
    for p in [
        "d",
        "d/file",
        "d/sub",
        "d/narrow",
        "plain/file",
        "s",
        "s/file",
        "s/sub",
    ] {
        let (k, o) = (getfacl(&km, p), getfacl(&om, p));
        assert_eq!(k, o, "{p}");
        let mode = |m: &Mount| std::fs::metadata(m.path(p)).unwrap().permissions();
        assert_eq!(mode(&km), mode(&om), "{p}");
    }
    // The inherited ACLs are really there (not just equal emptiness).
    assert!(getfacl(&om, "d/sub").contains("default:user:1000:rwx"));
    assert!(getfacl(&om, "d/file").contains("user:1000:rwx"));
}

/// Access ACLs through set_xattr: mode bits follow, equivalent ACLs are
/// not stored, a default ACL on a file is EACCES, invalid ACLs EINVAL;
/// the kernel's getfacl agrees.
#[test]
fn access_acl_updates_mode() {
    require_kernel_mounts(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path(), &["-b", "4096"], "32M", &["write /dev/null f"]);
    let fs = open_rw(&img);
    let f = ino_of(&fs, "f");
    let named = acl(&[
        (1, 6, NOID),
        (2, 7, 1234),
        (4, 4, NOID),
        (0x10, 5, NOID),
        (0x20, 0, NOID),
    ]);
    set_all(&fs, f, &[("system.posix_acl_access", named.clone())]);
    let fi = fs.inode(f).unwrap();
    assert_eq!(fi.mode & 0o7777, 0o650, "group bits from the mask");
    assert_eq!(fs.getxattr(&fi, b"system.posix_acl_access").unwrap(), named);
    for (bad, want) in [
        (
            acl(&[(1, 6, NOID), (2, 7, 1234), (4, 4, NOID), (0x20, 0, NOID)]),
            "EINVAL",
        ),
        (
            acl(&[(4, 4, NOID), (1, 6, NOID), (0x20, 0, NOID)]),
            "EINVAL",
        ),
        (b"\x02\0\0\0\x01\0".to_vec(), "EINVAL"),
        (b"\x01\0\0\0".to_vec(), "EOPNOTSUPP"),
    ] {
        let r = apply(&fs, f, |tx, inode| {
            tx.set_xattr(inode, b"system.posix_acl_access", &bad, SetMode::Any)
        });
        assert_eq!(errname(&r.unwrap_err()), want);
    }
    let r = apply(&fs, f, |tx, inode| {
        tx.set_xattr(inode, b"system.posix_acl_default", &named, SetMode::Any)
    });
    assert_eq!(errname(&r.unwrap_err()), "EACCES");
    drop(fs);
    assert_fsck_clean(&img);
    {
        let m = Mount::new(&img, false);
        let seen = getfacl(&m, "f");
        assert_eq!(
            seen,
            "user::rw-\nuser:1234:rwx\t#effective:r-x\ngroup::r--\nmask::r-x\nother::---"
        );
    }
    // An equivalent ACL replaces the stored one by mode bits; removing a
    // missing ACL succeeds as on the kernel.
    let fs = open_rw(&img);
    let plain = acl(&[(1, 7, NOID), (4, 0, NOID), (0x20, 4, NOID)]);
    set_all(&fs, f, &[("system.posix_acl_access", plain)]);
    let fi = fs.inode(f).unwrap();
    assert_eq!(fi.mode & 0o777, 0o704);
    assert!(fs.listxattr(&fi).unwrap().is_empty());
    apply(&fs, f, |tx, inode| {
        tx.remove_xattr(inode, b"system.posix_acl_access")
    })
    .unwrap();
    drop(fs);
    assert_fsck_clean(&img);
    let m = Mount::new(&img, false);
    assert_eq!(getfacl(&m, "f"), "user::rwx\ngroup::---\nother::r--");
}

#[test]
fn errors_like_the_kernel() {
    require_kernel_mounts(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path(), &["-b", "4096"], "32M", &["write /dev/null f"]);
    let fs = open_rw(&img);
    let f = ino_of(&fs, "f");
    let set = |name: &[u8], v: &[u8], how| {
        apply(&fs, f, |tx, inode| tx.set_xattr(inode, name, v, how)).map_err(|e| errname(&e))
    };
    let long = [b"user.".as_slice(), &[b'n'; 256]].concat();
    assert_eq!(set(&long, b"v", SetMode::Any), Err("ERANGE"));
    assert_eq!(set(&long[..260], b"v", SetMode::Any), Ok(()));
    for bad in [&b"system.data"[..], b"other.x", b"user.", b"system.foo"] {
        assert_eq!(set(bad, b"v", SetMode::Any), Err("EOPNOTSUPP"));
    }
    assert_eq!(set(b"user.x", b"1", SetMode::Replace), Err("ENODATA"));
    assert_eq!(set(b"user.x", b"1", SetMode::Create), Ok(()));
    assert_eq!(set(b"user.x", b"2", SetMode::Create), Err("EEXIST"));
    assert_eq!(set(b"user.x", b"2", SetMode::Replace), Ok(()));
    // The largest value a 4 KiB block takes next to nothing else: 4096 -
    // 32 (header) - 20 (entry) - 4 (terminator).
    assert_eq!(set(b"user.big", &[7; 4041], SetMode::Any), Err("ENOSPC"));
    let r = apply(&fs, f, |tx, inode| tx.remove_xattr(inode, b"user.nope"));
    assert_eq!(errname(&r.unwrap_err()), "ENODATA");
    drop(fs);
    assert_fsck_clean(&img);
    let fs = open_rw(&img);
    let f = ino_of(&fs, "f");
    // Room for it once the long-named attribute is gone (user.x stays in
    // the inode body); that empties and frees the block first.
    let long = [b"user.".as_slice(), &[b'n'; 255]].concat();
    apply(&fs, f, |tx, inode| tx.remove_xattr(inode, &long)).unwrap();
    assert_eq!(fs.inode(f).unwrap().file_acl, 0);
    apply(&fs, f, |tx, inode| {
        tx.set_xattr(inode, b"user.big", &[7; 4040], SetMode::Any)
    })
    .unwrap();
    drop(fs);
    assert_fsck_clean(&img);
    let seen = kernel_view(&img, &["f"]);
    assert_eq!(seen["f"]["user.big"], vec![7; 4040]);
    assert_eq!(seen["f"]["user.x"], b"2");
}

/// An inline-data file's system.data stays in the inode body, untouched,
/// while attributes come and go around it.
#[test]
fn inline_data_survives() {
    require_kernel_mounts(TOOLS);
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    // Longer than i_block (60 bytes): the tail lives in system.data.
    let content: Vec<u8> = (0..90u8).map(|i| b'a' + i % 26).collect();
    std::fs::write(src.join("small"), &content).unwrap();
    let img = mkfs(
        dir.path(),
        &[
            "-b",
            "4096",
            "-O",
            "inline_data",
            "-d",
            src.to_str().unwrap(),
        ],
        "32M",
    );
    let fs = open_rw(&img);
    let f = ino_of(&fs, "small");
    let data_before = xattr::parse_ibody(&fs.inode(f).unwrap().ibody_xattrs)
        .unwrap()
        .into_iter()
        .find(|e| e.index == 7 && e.name == b"data")
        .expect("system.data");
    set_all(
        &fs,
        f,
        &[
            ("user.a", value(1, 8)),
            ("user.big", value(2, 500)),
            ("user.c", value(3, 4)),
        ],
    );
    apply(&fs, f, |tx, inode| tx.remove_xattr(inode, b"user.a")).unwrap();
    let inode = fs.inode(f).unwrap();
    let data_after = xattr::parse_ibody(&inode.ibody_xattrs)
        .unwrap()
        .into_iter()
        .find(|e| e.index == 7 && e.name == b"data")
        .expect("system.data kept in the inode");
    assert_eq!(data_before, data_after);
    assert_eq!(fs.read(&inode, 0, 200).unwrap(), content);
    drop(fs);
    assert_fsck_clean(&img);
    let m = Mount::new(&img, false);
    assert_eq!(std::fs::read(m.path("small")).unwrap(), content);
    drop(m);
    let seen = kernel_view(&img, &["small"]);
    assert_eq!(seen["small"].len(), 2);
    assert_eq!(seen["small"]["user.big"], value(2, 500));
}

/// Damaged xattr blocks make the call fail with a corruption error.
#[test]
fn damaged_block_is_an_error() {
    require_kernel_mounts(TOOLS);
    for (what, at, byte) in [
        ("magic", 0usize, 0x55u8),
        ("checksum", 17, 0x55),
        ("h_blocks", 8, 2),
        ("entry name length", 32, 0xF0),
        ("value offset", 34, 0xFF),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let img = image(
            dir.path(),
            &["-b", "4096", "-I", "128"],
            "32M",
            &["write /dev/null f"],
        );
        let fs = open_rw(&img);
        let f = ino_of(&fs, "f");
        set_all(&fs, f, &[("user.a", value(1, 40))]);
        let b = fs.inode(f).unwrap().file_acl;
        let bs = fs.block_size() as u64;
        drop(fs);
        let mut bytes = std::fs::read(&img).unwrap();
        bytes[(b * bs) as usize + at] = byte;
        if what != "checksum" {
            // Keep the checksum right so the structure check is what fails.
            let sb = Fs::open(&img, &FsOptions::default())
                .unwrap()
                .superblock()
                .csum_seed();
            let blk = &mut bytes[(b * bs) as usize..((b + 1) * bs) as usize];
            xattr::set_block_checksum(sb, b, blk);
        }
        std::fs::write(&img, &bytes).unwrap();
        let fs = open_rw(&img);
        for r in [
            apply(&fs, f, |tx, i| {
                tx.set_xattr(i, b"user.b", b"x", SetMode::Any)
            }),
            apply(&fs, f, |tx, i| tx.remove_xattr(i, b"user.a")),
            apply(&fs, f, |tx, i| tx.drop_xattr_block(i)),
        ] {
            let e = r.unwrap_err();
            assert!(e.is_corruption(), "{what}: {e:?}");
        }
    }
}
