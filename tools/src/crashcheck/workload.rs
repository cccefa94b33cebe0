//! The seeded workloads, run in process against the `Fs` API with every
//! image write recorded, and the expected tree after each operation.
//!
//! The op mixes follow the differential tester (`fsdiff ns` and `fsdiff
//! data`), with calls going to `Fs` instead of a mount; `tar` is the
//! create-temp-then-rename-over pattern of tar, rsync and dpkg.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use fuse4fs::ext4::InodeNo;
use fuse4fs::ext4::inode::mode;
use fuse4fs::fs::create::NewNode;
use fuse4fs::fs::fallocate::{FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE};
use fuse4fs::fs::io::log::{IoEvent, IoLog};
use fuse4fs::fs::rename::{RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT, Renamer};
use fuse4fs::fs::setattr::Changes;
use fuse4fs::fs::xattr::write::SetMode;
use fuse4fs::fs::{Fs, FsError, FsOptions};

use crate::tree::{self, Contents, Kind, Tree};

/// Which operation mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    Ns,
    Data,
    Tar,
    Reuse,
    Xattr,
}

impl Workload {
    pub const ALL: [Workload; 5] = [
        Workload::Ns,
        Workload::Data,
        Workload::Tar,
        Workload::Reuse,
        Workload::Xattr,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::Ns => "ns",
            Workload::Data => "data",
            Workload::Tar => "tar",
            Workload::Reuse => "reuse",
            Workload::Xattr => "xattr",
        }
    }
}

/// One operation on paths relative to the root.
pub type Op = fuse4fs_tools::op::Op<Own>;

/// The operations of crashcheck's own, beside the namespace ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Own {
    /// Path, offset, length, pattern seed.
    Write(String, u64, usize, u8),
    /// Path, mode, offset, length.
    Fallocate(String, u32, u64, u64),
    /// fsync of one file: `Fs::sync` (the whole image is flushed).
    Fsync(String),
    /// Path, name number, value length, pattern seed: sets `user.xN`.
    SetXattr(String, u8, usize, u8),
    /// Path, name number: removes `user.xN`.
    RemoveXattr(String, u8),
}

impl fmt::Display for Own {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Own::Write(p, o, l, s) => write!(f, "write {p} off={o} len={l} pattern={s}"),
            Own::Fallocate(p, m, o, l) => write!(f, "fallocate {p} mode={m:#x} off={o} len={l}"),
            Own::Fsync(p) => write!(f, "fsync {p}"),
            Own::SetXattr(p, n, l, s) => write!(f, "setxattr {p} user.x{n} len={l} pattern={s}"),
            Own::RemoveXattr(p, n) => write!(f, "removexattr {p} user.x{n}"),
        }
    }
}

/// The bytes a Write puts at `off..off+len`: position dependent, so that
/// a block of an older write, or a block landed at the wrong offset,
/// never hashes the same as the right one.
pub fn pattern(seed: u8, off: u64, len: usize) -> Vec<u8> {
    (off..off + len as u64)
        .map(|p| (p.wrapping_mul(31) ^ (p >> 8) ^ (seed as u64).wrapping_mul(0x9d)) as u8)
        .collect()
}

/// Where operations come from: data and tar are fixed sequences; ns picks
/// its names from the tree as it is now, so that most operations act on
/// something (fsdiff's blind random paths need thousands of operations to
/// build a tree; this checker runs a hundred).
pub struct Gen {
    rng: fastrand::Rng,
    fixed: Option<std::vec::IntoIter<Op>>,
}

impl Gen {
    /// The generator of `w` for `seed`; `n` operations for the fixed
    /// sequences, `bs` the unit data offsets are counted in (the block
    /// size, or smaller to keep inline files inline).
    pub fn new(w: Workload, seed: u64, n: usize, bs: u64) -> Gen {
        let mut rng = fastrand::Rng::with_seed(seed);
        let fixed = match w {
            Workload::Ns => None,
            Workload::Data => Some(data_ops(&mut rng, n, bs).into_iter()),
            Workload::Tar => Some(tar_ops(&mut rng, n).into_iter()),
            Workload::Reuse => Some(reuse_ops(n, bs).into_iter()),
            Workload::Xattr => Some(xattr_ops(&mut rng, n).into_iter()),
        };
        Gen { rng, fixed }
    }

    /// The next operation, given the live tree; None when a fixed
    /// sequence is over.
    pub fn next(&mut self, live: &Tree) -> Option<Op> {
        match &mut self.fixed {
            Some(ops) => ops.next(),
            None => Some(ns_op(&mut self.rng, live)),
        }
    }
}

/// fsdiff's small name space (d0..d2, f0..f4; directories at most three
/// deep) so that collisions are frequent: rename over a file, a directory
/// over an empty one, rmdir of a full one, create over an existing name.
fn ns_new_path(rng: &mut fastrand::Rng, dirs: &[&String]) -> String {
    let dirs: Vec<&&String> = dirs.iter().filter(|d| d.matches('/').count() < 2).collect();
    let parent = dirs
        .get(rng.usize(0..dirs.len().max(1)))
        .map_or("", |d| d.as_str());
    let leaf = if rng.bool() {
        format!("d{}", rng.u8(0..3))
    } else {
        format!("f{}", rng.u8(0..5))
    };
    tree::join(parent, &leaf)
}

/// The fsdiff ns mix, names drawn from the live tree: mostly existing
/// names for operations that need one, new names in existing directories
/// for those that make one; removals only once the tree passes 60 names.
fn ns_op(rng: &mut fastrand::Rng, live: &Tree) -> Op {
    let names: Vec<&String> = live
        .keys()
        .filter(|p| !p.is_empty() && !p.starts_with("lost+found"))
        .collect();
    let mut dirs: Vec<&String> = live
        .iter()
        .filter(|(p, e)| e.kind == Kind::Dir && !p.starts_with("lost+found"))
        .map(|(p, _)| p)
        .collect();
    let files: Vec<&String> = live
        .iter()
        .filter(|(_, e)| e.kind == Kind::File)
        .map(|(p, _)| p)
        .collect();
    let pick = |rng: &mut fastrand::Rng, from: &[&String], dirs: &[&String]| -> String {
        match from.get(rng.usize(0..from.len().max(1))) {
            Some(p) if rng.u8(0..6) != 0 => p.to_string(),
            // Now and then a name that may not exist (ENOENT paths).
            _ => ns_new_path(rng, dirs),
        }
    };
    let choice = if names.len() > 60 {
        [4, 5][rng.usize(0..2)]
    } else {
        rng.u8(0..17)
    };
    // The root ("") is a parent for new names, never a victim.
    let parents = dirs.clone();
    dirs.retain(|d| !d.is_empty());
    match choice {
        0 | 1 => Op::Create(ns_new_path(rng, &parents), 0o644),
        2 | 3 => Op::Mkdir(ns_new_path(rng, &parents), 0o755),
        4 => Op::Rmdir(pick(rng, &dirs, &parents)),
        5 => Op::Unlink(pick(rng, &names, &parents)),
        6..=8 => {
            let flags = [
                0,
                0,
                RENAME_NOREPLACE,
                RENAME_EXCHANGE,
                RENAME_WHITEOUT,
                RENAME_WHITEOUT | RENAME_NOREPLACE,
            ][rng.usize(0..6)];
            let src = pick(rng, &names, &parents);
            let dst = if rng.bool() {
                pick(rng, &names, &parents)
            } else {
                ns_new_path(rng, &parents)
            };
            Op::Rename(src, dst, flags)
        }
        9 => Op::Link(pick(rng, &files, &parents), ns_new_path(rng, &parents)),
        10 => Op::Symlink(
            format!("t{}", rng.u8(0..4)).repeat(rng.usize(1..40)),
            ns_new_path(rng, &parents),
        ),
        11 => Op::Chmod(
            pick(rng, &names, &parents),
            [0o600, 0o755, 0o4755, 0o1777][rng.usize(0..4)],
        ),
        12 => Op::Truncate(pick(rng, &files, &parents), rng.u64(0..70_000)),
        13..=15 => Op::Own(Own::Write(
            pick(rng, &files, &parents),
            rng.u64(0..70_000),
            rng.usize(1..9000),
            rng.u8(..),
        )),
        _ => Op::Own(Own::Fsync(pick(rng, &names, &parents))),
    }
}

const FALLOC_MODES: [u32; 4] = [
    0,
    FALLOC_FL_KEEP_SIZE,
    FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
    FALLOC_FL_ZERO_RANGE,
];

/// A few files written at random offsets (holes, extensions, overwrites),
/// truncated, preallocated, punched, fsync'd, removed and made again.
fn data_ops(rng: &mut fastrand::Rng, n: usize, bs: u64) -> Vec<Op> {
    let files = ["f0", "f1", "f2", "d/f3"];
    let mut ops = vec![Op::Mkdir("d".into(), 0o755)];
    ops.extend(files.iter().map(|f| Op::Create(f.to_string(), 0o644)));
    while ops.len() < n {
        let f = files[rng.usize(0..files.len())].to_string();
        let off = rng.u64(0..8 * bs);
        let len = rng.u64(1..=3 * bs);
        ops.push(match rng.u8(0..12) {
            0..=4 => Op::Own(Own::Write(f, off, len as usize, rng.u8(..))),
            5 => Op::Truncate(f, rng.u64(0..8 * bs)),
            6 | 7 => Op::Own(Own::Fallocate(f, FALLOC_MODES[rng.usize(0..4)], off, len)),
            8 | 9 => Op::Own(Own::Fsync(f)),
            10 => Op::Unlink(f),
            _ => Op::Create(f, 0o644),
        });
    }
    ops.truncate(n);
    ops
}

/// Value sizes of the xattr workload: in the inode body, in the block,
/// just over the size that goes straight to an EA inode (4 KiB blocks),
/// and large ones (with ea_inode each in its own inode; without, ENOSPC).
const XATTR_SIZES: [usize; 6] = [10, 900, 3000, 4100, 20_000, 65_536];

/// A few files whose attributes are set, replaced (between every size
/// class), removed, fsync'd, and whose owners are unlinked and made again.
fn xattr_ops(rng: &mut fastrand::Rng, n: usize) -> Vec<Op> {
    let files = ["f0", "f1", "d/f2"];
    let mut ops = vec![Op::Mkdir("d".into(), 0o755)];
    ops.extend(files.iter().map(|f| Op::Create(f.to_string(), 0o644)));
    while ops.len() < n {
        let f = files[rng.usize(0..files.len())].to_string();
        let x = rng.u8(0..4);
        ops.push(match rng.u8(0..12) {
            0..=5 => Op::Own(Own::SetXattr(
                f,
                x,
                XATTR_SIZES[rng.usize(0..XATTR_SIZES.len())],
                rng.u8(..),
            )),
            6 | 7 => Op::Own(Own::RemoveXattr(f, x)),
            8 => Op::Own(Own::Fsync(f)),
            9 => Op::Unlink(f),
            _ => Op::Create(f, 0o644),
        });
    }
    ops.truncate(n);
    ops
}

/// A tree extracted once (dirs, files written in full in tar-sized
/// chunks, modes, a symlink and a hard link), then extracted again and
/// again over itself: each file to a temporary name, optionally fsync'd
/// (dpkg), then renamed over the old one.
fn tar_ops(rng: &mut fastrand::Rng, n: usize) -> Vec<Op> {
    let dirs = ["t", "t/a", "t/b", "t/a/c"];
    let files: Vec<(String, usize, u16)> = (0..10)
        .map(|i| {
            let d = dirs[rng.usize(0..dirs.len())];
            let size = [0, rng.usize(1..200), rng.usize(1..30_000)][rng.usize(0..3)];
            (
                format!("{d}/file{i}"),
                size,
                [0o644, 0o755, 0o600][rng.usize(0..3)],
            )
        })
        .collect();
    let mut ops: Vec<Op> = dirs
        .iter()
        .map(|d| Op::Mkdir(d.to_string(), 0o700))
        .collect();
    let write_all = |ops: &mut Vec<Op>, path: &str, size: usize, seed: u8| {
        // tar writes in 10 KiB records.
        let mut off = 0;
        while off < size {
            let len = (size - off).min(10_240);
            ops.push(Op::Own(Own::Write(path.to_string(), off as u64, len, seed)));
            off += len;
        }
    };
    for (path, size, m) in &files {
        ops.push(Op::Create(path.clone(), 0o600));
        write_all(&mut ops, path, *size, 1);
        ops.push(Op::Chmod(path.clone(), *m));
    }
    ops.push(Op::Symlink("file0".into(), "t/link".into()));
    ops.push(Op::Link(files[0].0.clone(), "t/hard".into()));
    for d in dirs {
        ops.push(Op::Chmod(d.to_string(), 0o755));
    }
    let mut round: u8 = 2;
    while ops.len() < n {
        for (path, size, m) in &files {
            let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
            let tmp = tree::join(dir, &format!(".{name}.tmp"));
            // Sizes change between rounds: some files grow, some shrink.
            let size = (size + rng.usize(0..5000)).saturating_sub(rng.usize(0..5000));
            ops.push(Op::Create(tmp.clone(), 0o600));
            write_all(&mut ops, &tmp, size, round);
            ops.push(Op::Chmod(tmp.clone(), *m));
            if rng.u8(0..3) == 0 {
                ops.push(Op::Own(Own::Fsync(tmp.clone())));
            }
            ops.push(Op::Rename(tmp, path.clone(), 0));
        }
        round = round.wrapping_add(1);
    }
    ops.truncate(n);
    ops
}

/// Metadata blocks freed and reused as file data across fsyncs: each
/// round builds a file with an extent tree (scattered single blocks) and
/// a directory of several blocks, fsyncs (a durable commit logs those
/// blocks), removes both and fsyncs another file (they are freed), then
/// writes a new file long enough to take the freed blocks as data,
/// fsync after fsync. A replay that brought back a logged block over
/// data written in its place after the reuse shows as torn data.
fn reuse_ops(n: usize, bs: u64) -> Vec<Op> {
    let mut ops = vec![Op::Create("keep".into(), 0o644)];
    let mut round: u8 = 0;
    while ops.len() < n {
        let (tree_file, dir, new) = (
            format!("x{round}"),
            format!("d{round}"),
            format!("n{round}"),
        );
        ops.push(Op::Create(tree_file.clone(), 0o644));
        // Every other block: more extents than the inode holds.
        for i in 0..6u64 {
            ops.push(Op::Own(Own::Write(
                tree_file.clone(),
                2 * i * bs,
                bs as usize,
                round,
            )));
        }
        ops.push(Op::Mkdir(dir.clone(), 0o755));
        // Long names: a few dozen fill more than one directory block.
        let names: Vec<String> = (0..24)
            .map(|i| format!("{dir}/{i:03}{}", "e".repeat(240)))
            .collect();
        ops.extend(names.iter().map(|p| Op::Create(p.clone(), 0o644)));
        ops.push(Op::Own(Own::Fsync(tree_file.clone())));
        ops.push(Op::Unlink(tree_file));
        ops.extend(names.into_iter().map(Op::Unlink));
        ops.push(Op::Rmdir(dir));
        ops.push(Op::Own(Own::Write("keep".into(), 0, 100, round)));
        ops.push(Op::Own(Own::Fsync("keep".into())));
        ops.push(Op::Create(new.clone(), 0o644));
        for i in 0..4u64 {
            ops.push(Op::Own(Own::Write(
                new.clone(),
                4 * i * bs,
                4 * bs as usize,
                round,
            )));
            ops.push(Op::Own(Own::Fsync(new.clone())));
        }
        round = round.wrapping_add(1);
    }
    ops.truncate(n);
    ops
}

/// What a workload run produced.
pub struct Run {
    pub ops: Vec<Op>,
    /// Each operation's outcome (errors are expected: the ops are random).
    pub results: Vec<Result<(), FsError>>,
    /// `snapshots[j]`: the tree after the first j operations.
    pub snapshots: Vec<Tree>,
    /// Every file content the snapshots name.
    pub contents: Contents,
    /// Every write, flush and mark, from the open on: the mount's own
    /// writes come before the first mark, the unmount's after the last.
    pub events: Vec<IoEvent>,
}

/// Runs `n` operations of workload `w` (seeded) on the image at `img`
/// (opened writable, mounted as the server does, cleanly unmounted at the
/// end), recording every image write and pushing `Mark(i)` once
/// operation i returned. `bs` is the data workload's unit (see
/// [`Gen::new`]).
pub fn run(img: &Path, w: Workload, seed: u64, n: usize, bs: u64) -> Result<Run, String> {
    let log = IoLog::new();
    let fs = Fs::open(
        img,
        &FsOptions {
            writable: true,
            io_log: Some(Arc::clone(&log)),
            ..Default::default()
        },
    )
    .map_err(|e| e.to_string())?;
    fs.mount_rw().map_err(|e| format!("mount_rw: {e}"))?;
    let mut contents = Contents::new();
    let mut snapshots =
        vec![tree::read(&fs, &mut contents).map_err(|e| format!("before op 0: {e}"))?];
    let mut source = Gen::new(w, seed, n, bs);
    let mut ops = Vec::with_capacity(n);
    let mut results = Vec::with_capacity(n);
    for i in 0..n {
        let Some(op) = source.next(&snapshots[i]) else {
            break;
        };
        results.push(apply(&fs, &op));
        log.mark(i as u64);
        snapshots
            .push(tree::read(&fs, &mut contents).map_err(|e| format!("after op {i} `{op}`: {e}"))?);
        ops.push(op);
    }
    fs.unmount_clean()
        .map_err(|e| format!("unmount_clean: {e}"))?;
    drop(fs);
    Ok(Run {
        ops,
        results,
        snapshots,
        contents,
        events: log.take(),
    })
}

/// The inode `path` names (no symlink is followed, as with *at(...,
/// AT_SYMLINK_NOFOLLOW) on the last component).
fn resolve(fs: &Fs, path: &str) -> Result<InodeNo, FsError> {
    let mut ino = InodeNo::ROOT;
    for part in path.split('/') {
        let dir = fs.inode(ino)?;
        ino = fs.lookup(&dir, part.as_bytes())?.ino;
    }
    Ok(ino)
}

/// The directory holding `path`, and the last component.
fn parent<'p>(fs: &Fs, path: &'p str) -> Result<(InodeNo, &'p [u8]), FsError> {
    match path.rsplit_once('/') {
        Some((dir, name)) => Ok((resolve(fs, dir)?, name.as_bytes())),
        None => Ok((InodeNo::ROOT, path.as_bytes())),
    }
}

/// A new node named `name`: its owner and group come from the name, so
/// that a quota image's files charge several users and groups (and new
/// ids' entries are added to the quota files as the workload runs).
fn node(name: &[u8], perm: u16, kind: u16) -> NewNode {
    let h = name
        .iter()
        .fold(0u32, |h, &b| h.wrapping_mul(31).wrapping_add(b as u32));
    NewNode {
        mode: kind | perm,
        uid: 1000 + h % 5,
        gid: 2000 + h % 3,
        umask: 0o022,
        rdev: 0,
    }
}

/// Performs `op` as the FUSE adapter would after the kernel's own checks
/// (truncate and chmod of what the VFS refuses never reach the server).
fn apply(fs: &Fs, op: &Op) -> Result<(), FsError> {
    match op {
        Op::Create(p, m) => {
            let (dir, name) = parent(fs, p)?;
            fs.make_node(dir, name, &node(name, *m, mode::S_IFREG))?;
        }
        Op::Mkdir(p, m) => {
            let (dir, name) = parent(fs, p)?;
            fs.make_node(dir, name, &node(name, *m, mode::S_IFDIR))?;
        }
        Op::Rmdir(p) => {
            let (dir, name) = parent(fs, p)?;
            fs.rmdir(dir, name)?;
        }
        Op::Unlink(p) => {
            let (dir, name) = parent(fs, p)?;
            fs.unlink(dir, name)?;
        }
        Op::Rename(a, b, flags) => {
            let (sd, sn) = parent(fs, a)?;
            let (dd, dn) = parent(fs, b)?;
            fs.rename_as(sd, sn, dd, dn, *flags, Renamer { uid: 0, gid: 0 })?;
        }
        Op::Link(a, b) => {
            let ino = resolve(fs, a)?;
            let (dir, name) = parent(fs, b)?;
            fs.link(ino, dir, name)?;
        }
        Op::Symlink(t, p) => {
            let (dir, name) = parent(fs, p)?;
            fs.symlink(dir, name, t.as_bytes(), 0, 0)?;
        }
        Op::Own(Own::SetXattr(p, n, len, seed)) => {
            let ino = resolve(fs, p)?;
            let name = format!("user.x{n}");
            let value = pattern(*seed, 0, *len);
            fs.setxattr(ino, name.as_bytes(), &value, SetMode::Any, false)?;
        }
        Op::Own(Own::RemoveXattr(p, n)) => {
            let ino = resolve(fs, p)?;
            fs.removexattr(ino, format!("user.x{n}").as_bytes())?;
        }
        Op::Chmod(p, m) => {
            let ino = resolve(fs, p)?;
            if fs.inode(ino)?.is_symlink() {
                // chmod follows symlinks and lchmod is refused: the
                // symlink's own mode never changes.
                return Err(FsError::Unsupported);
            }
            let c = Changes {
                mode: Some(*m),
                ..Default::default()
            };
            fs.setattr(ino, &c)?;
        }
        Op::Truncate(p, len) => {
            let ino = resolve(fs, p)?;
            let c = Changes {
                size: Some(*len),
                ..Default::default()
            };
            fs.setattr(ino, &c)?;
        }
        Op::Own(Own::Write(p, off, len, seed)) => {
            let ino = resolve(fs, p)?;
            fs.write(ino, *off, &pattern(*seed, *off, *len), 0)?;
        }
        Op::Own(Own::Fallocate(p, m, off, len)) => {
            let ino = resolve(fs, p)?;
            fs.fallocate(ino, *off, *len, *m)?;
        }
        Op::Own(Own::Fsync(p)) => {
            resolve(fs, p)?;
            fs.sync()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(w: Workload, seed: u64, n: usize) -> Vec<Op> {
        let mut g = Gen::new(w, seed, n, 4096);
        std::iter::from_fn(|| g.next(&Tree::new()))
            .take(n)
            .collect()
    }

    #[test]
    fn generation_is_seeded_and_sized() {
        for w in Workload::ALL {
            let a = all(w, 5, 70);
            assert_eq!(a.len(), 70, "{w:?}");
            assert_eq!(a, all(w, 5, 70), "{w:?}");
            // reuse is a fixed script (log, free, reuse, fsync): the seed
            // does not change it.
            if w == Workload::Reuse {
                assert_eq!(a, all(w, 6, 70), "{w:?}");
            } else {
                assert_ne!(a, all(w, 6, 70), "{w:?}");
            }
        }
    }

    fn entry(kind: Kind) -> tree::Entry {
        tree::Entry {
            kind,
            mode: 0o755,
            size: 0,
            nlink: 1,
            content: 0,
            target: Vec::new(),
            xattrs: 0,
        }
    }

    #[test]
    fn ns_acts_mostly_on_names_that_exist() {
        let mut live = Tree::new();
        live.insert(String::new(), entry(Kind::Dir));
        live.insert("d1".into(), entry(Kind::Dir));
        live.insert("d1/f2".into(), entry(Kind::File));
        live.insert("f0".into(), entry(Kind::File));
        let mut rng = fastrand::Rng::with_seed(3);
        let (mut existing, mut needing) = (0, 0);
        for _ in 0..500 {
            let target = match ns_op(&mut rng, &live) {
                Op::Own(Own::Write(p, ..)) | Op::Truncate(p, _) | Op::Unlink(p) | Op::Rmdir(p) => p,
                Op::Create(p, _) | Op::Mkdir(p, _) => {
                    let parent = p.rsplit_once('/').map_or("", |(d, _)| d);
                    assert!(live.contains_key(parent), "{p}: parent exists");
                    continue;
                }
                _ => continue,
            };
            needing += 1;
            existing += live.contains_key(&target) as usize;
        }
        assert!(existing * 10 > needing * 7, "{existing} of {needing}");
    }

    #[test]
    fn ns_renames_with_every_flag() {
        let mut live = Tree::new();
        live.insert(String::new(), entry(Kind::Dir));
        live.insert("f0".into(), entry(Kind::File));
        let mut rng = fastrand::Rng::with_seed(4);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..1000 {
            if let Op::Rename(_, _, flags) = ns_op(&mut rng, &live) {
                seen.insert(flags);
            }
        }
        let want = [
            0,
            RENAME_NOREPLACE,
            RENAME_EXCHANGE,
            RENAME_WHITEOUT,
            RENAME_WHITEOUT | RENAME_NOREPLACE,
        ];
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), want);
    }

    #[test]
    fn tar_renames_temporaries_over_the_extracted_files() {
        let ops = all(Workload::Tar, 1, 400);
        let renames: Vec<_> = ops
            .iter()
            .filter_map(|o| match o {
                Op::Rename(a, b, 0) => Some((a.clone(), b.clone())),
                _ => None,
            })
            .collect();
        assert!(renames.len() >= 10, "{renames:?}");
        for (a, b) in renames {
            assert!(a.ends_with(".tmp") && b.contains("/file"), "{a} {b}");
        }
    }

    #[test]
    fn pattern_depends_on_seed_and_position() {
        assert_ne!(pattern(1, 0, 64), pattern(2, 0, 64));
        assert_eq!(pattern(1, 10, 6), pattern(1, 0, 16)[10..].to_vec());
        assert_ne!(pattern(1, 0, 512), pattern(1, 4096, 512));
    }
}
