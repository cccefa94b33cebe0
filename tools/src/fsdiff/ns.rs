//! Namespace mode: one seeded operation sequence, two directories.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::sys::{c, errname, rc};
use crate::{ddmin, tree};

/// One operation on paths relative to the test root.
type Op = fuse4fs_tools::op::Op<Own>;

/// The operations of fsdiff's own, beside the namespace ones.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Own {
    /// Path, offset, length, the byte written throughout.
    Write(String, i64, usize, u8),
    /// Path, name, value length, setxattr flags.
    SetXattr(String, String, usize, i32),
    RemoveXattr(String, String),
    /// Path, the atime and mtime to set (seconds).
    Utimes(String, i64),
    Mkfifo(String),
}

impl fmt::Display for Own {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Own::Write(p, o, l, b) => write!(f, "write {p} off={o} len={l} byte={b}"),
            Own::SetXattr(p, n, l, fl) => write!(f, "setxattr {p} {n} len={l} flags={fl}"),
            Own::RemoveXattr(p, n) => write!(f, "removexattr {p} {n}"),
            Own::Utimes(p, t) => write!(f, "utimes {p} {t}"),
            Own::Mkfifo(p) => write!(f, "mkfifo {p}"),
        }
    }
}

/// A small name space so that operations collide often.
fn path(rng: &mut fastrand::Rng) -> String {
    let depth = rng.usize(0..3);
    let mut parts: Vec<String> = (0..depth).map(|_| format!("d{}", rng.u8(0..3))).collect();
    let leaf = if rng.bool() {
        format!("d{}", rng.u8(0..3))
    } else {
        format!("f{}", rng.u8(0..5))
    };
    parts.push(leaf);
    parts.join("/")
}

fn generate(seed: u64, n: usize) -> Vec<(usize, Op)> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..n)
        .map(|i| {
            let op = match rng.u8(0..15) {
                0 | 1 => Op::Create(path(&mut rng), 0o644),
                2 | 3 => Op::Mkdir(path(&mut rng), 0o755),
                4 => Op::Rmdir(path(&mut rng)),
                5 => Op::Unlink(path(&mut rng)),
                6 | 7 => {
                    let flags = [
                        0,
                        0,
                        libc::RENAME_NOREPLACE,
                        libc::RENAME_EXCHANGE,
                        libc::RENAME_WHITEOUT,
                    ][rng.usize(0..5)];
                    Op::Rename(path(&mut rng), path(&mut rng), flags)
                }
                8 => Op::Link(path(&mut rng), path(&mut rng)),
                9 => Op::Symlink(
                    format!("t{}", rng.u8(0..4)).repeat(rng.usize(1..40)),
                    path(&mut rng),
                ),
                10 => Op::Chmod(
                    path(&mut rng),
                    [0o600, 0o755, 0o4755, 0o1777][rng.usize(0..4)],
                ),
                11 => Op::Truncate(path(&mut rng), rng.u64(0..70_000)),
                12 => Op::Own(Own::Write(
                    path(&mut rng),
                    rng.i64(0..70_000),
                    rng.usize(1..9000),
                    rng.u8(..),
                )),
                13 => {
                    let flags = [0, libc::XATTR_CREATE, libc::XATTR_REPLACE][rng.usize(0..3)];
                    if rng.u8(0..3) == 0 {
                        Op::Own(Own::RemoveXattr(
                            path(&mut rng),
                            format!("user.x{}", rng.u8(0..3)),
                        ))
                    } else {
                        Op::Own(Own::SetXattr(
                            path(&mut rng),
                            format!("user.x{}", rng.u8(0..3)),
                            rng.usize(0..3000),
                            flags,
                        ))
                    }
                }
                _ => {
                    if rng.bool() {
                        Op::Own(Own::Utimes(path(&mut rng), rng.i64(0..4_000_000_000)))
                    } else {
                        Op::Own(Own::Mkfifo(path(&mut rng)))
                    }
                }
            };
            (i, op)
        })
        .collect()
}

/// Performs `op` under `root`, returning 0 or the errno.
fn apply(root: &Path, op: &Op) -> i32 {
    let p = |s: &str| c(&root.join(s));
    // SAFETY: every call gets valid C strings and buffers.
    unsafe {
        match op {
            Op::Create(f, m) => {
                let fd = libc::open(
                    p(f).as_ptr(),
                    libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY,
                    libc::c_uint::from(*m),
                );
                if fd >= 0 {
                    libc::close(fd);
                }
                rc(fd)
            }
            Op::Mkdir(d, m) => rc(libc::mkdir(p(d).as_ptr(), (*m).into())),
            Op::Rmdir(d) => rc(libc::rmdir(p(d).as_ptr())),
            Op::Unlink(f) => rc(libc::unlink(p(f).as_ptr())),
            Op::Rename(a, b, fl) => rc(libc::renameat2(
                libc::AT_FDCWD,
                p(a).as_ptr(),
                libc::AT_FDCWD,
                p(b).as_ptr(),
                *fl,
            )),
            Op::Link(a, b) => rc(libc::link(p(a).as_ptr(), p(b).as_ptr())),
            Op::Symlink(t, l) => {
                let t = std::ffi::CString::new(t.as_str()).unwrap();
                rc(libc::symlink(t.as_ptr(), p(l).as_ptr()))
            }
            Op::Chmod(f, m) => rc(libc::fchmodat(
                libc::AT_FDCWD,
                p(f).as_ptr(),
                (*m).into(),
                0,
            )),
            Op::Truncate(f, l) => rc(libc::truncate(p(f).as_ptr(), *l as libc::off_t)),
            Op::Own(Own::Write(f, off, len, byte)) => {
                // O_NONBLOCK: a FIFO without a reader answers ENXIO instead of blocking.
                let fd = libc::open(
                    p(f).as_ptr(),
                    libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK,
                );
                if fd < 0 {
                    return rc(fd);
                }
                let buf = vec![*byte; *len];
                let r = libc::pwrite(fd, buf.as_ptr().cast(), buf.len(), *off);
                let e = if r < 0 { rc(-1) } else { 0 };
                libc::close(fd);
                e
            }
            Op::Own(Own::SetXattr(f, n, len, fl)) => {
                let n = std::ffi::CString::new(n.as_str()).unwrap();
                let v = vec![b'v'; *len];
                rc(libc::lsetxattr(
                    p(f).as_ptr(),
                    n.as_ptr(),
                    v.as_ptr().cast(),
                    v.len(),
                    *fl,
                ))
            }
            Op::Own(Own::RemoveXattr(f, n)) => {
                let n = std::ffi::CString::new(n.as_str()).unwrap();
                rc(libc::lremovexattr(p(f).as_ptr(), n.as_ptr()))
            }
            Op::Own(Own::Utimes(f, t)) => {
                let ts = [libc::timespec {
                    tv_sec: *t,
                    tv_nsec: 0,
                }; 2];
                rc(libc::utimensat(
                    libc::AT_FDCWD,
                    p(f).as_ptr(),
                    ts.as_ptr(),
                    libc::AT_SYMLINK_NOFOLLOW,
                ))
            }
            Op::Own(Own::Mkfifo(f)) => rc(libc::mkfifo(p(f).as_ptr(), 0o644)),
        }
    }
}

/// Runs `ops` in fresh subdirectories of `a` and `b`; returns the first
/// divergence found, if any.
fn divergence(
    ops: &[(usize, Op)],
    inject: Option<usize>,
    a: &Path,
    b: &Path,
    attempt: usize,
) -> Option<String> {
    let (ra, rb) = (fresh(a, attempt), fresh(b, attempt));
    let (ra, rb) = match (ra, rb) {
        (Ok(x), Ok(y)) => (x, y),
        (Err(e), _) | (_, Err(e)) => return Some(format!("cannot make a run directory: {e}")),
    };
    for (i, op) in ops {
        let ea = apply(&ra, op);
        let eb = if inject == Some(*i) {
            0
        } else {
            apply(&rb, op)
        };
        if ea != eb {
            return Some(format!(
                "op {i} `{op}`: {} in A, {} in B",
                errname(ea),
                errname(eb)
            ));
        }
    }
    match (tree::snapshot(&ra), tree::snapshot(&rb)) {
        (Ok(ta), Ok(tb)) => {
            let d = tree::diff(&ta, &tb);
            (!d.is_empty()).then(|| format!("final trees differ:\n{}", d.join("\n")))
        }
        (Err(e), _) | (_, Err(e)) => Some(format!("cannot read a tree: {e}")),
    }
}

fn fresh(base: &Path, attempt: usize) -> std::io::Result<PathBuf> {
    let d = base.join(format!("fsdiff-run-{attempt}"));
    if d.exists() {
        std::fs::remove_dir_all(&d)?;
    }
    std::fs::create_dir(&d)?;
    Ok(d)
}

/// Runs the sequence for `seed`; Ok(true) when both sides agree.
/// With `keep`, a clean run leaves its final trees (fsdiff-run-0).
pub fn run(
    seed: u64,
    n: usize,
    inject: Option<usize>,
    keep: bool,
    a: &Path,
    b: &Path,
) -> Result<bool, String> {
    // A fixed umask so that modes compare.
    // SAFETY: umask only changes this process's mask.
    unsafe { libc::umask(0o022) };
    let ops = generate(seed, n);
    let Some(first) = divergence(&ops, inject, a, b, 0) else {
        println!("fsdiff ns: seed {seed}: {n} ops, results and trees match");
        if !keep {
            cleanup(a, b, 1);
        }
        return Ok(true);
    };
    println!("fsdiff ns: seed {seed}: DIVERGENCE: {first}");
    let mut attempt = 1;
    let min = ddmin::minimise(&ops, 300, |cand| {
        attempt += 1;
        divergence(cand, inject, a, b, attempt).is_some()
    });
    println!("minimal failing sequence ({} of {n} ops):", min.len());
    for (i, op) in &min {
        println!("  [{i}] {op}");
    }
    if let Some(d) = divergence(&min, inject, a, b, attempt + 1) {
        println!("which gives: {d}");
    }
    cleanup(a, b, attempt + 2);
    Ok(false)
}

fn cleanup(a: &Path, b: &Path, runs: usize) {
    for base in [a, b] {
        for i in 0..runs {
            let _ = std::fs::remove_dir_all(base.join(format!("fsdiff-run-{i}")));
        }
    }
}
