//! Data mode: random operations on one file, every read checked against an
//! in-memory model of its contents.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::ddmin;

#[derive(Debug, Clone, Copy)]
enum Op {
    Write(u64, usize, u8),
    Read(u64, usize),
    Truncate(u64),
    /// fallocate mode, offset, length.
    Falloc(i32, u64, u64),
    MapWrite(u64, usize, u8),
    MapRead(u64, usize),
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Write(o, l, b) => write!(f, "write off={o} len={l} byte={b}"),
            Op::Read(o, l) => write!(f, "read off={o} len={l}"),
            Op::Truncate(l) => write!(f, "truncate {l}"),
            Op::Falloc(m, o, l) => write!(f, "fallocate mode={m:#x} off={o} len={l}"),
            Op::MapWrite(o, l, b) => write!(f, "mmap-write off={o} len={l} byte={b}"),
            Op::MapRead(o, l) => write!(f, "mmap-read off={o} len={l}"),
        }
    }
}

const FALLOC_MODES: [i32; 4] = [
    0,
    libc::FALLOC_FL_KEEP_SIZE,
    libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
    libc::FALLOC_FL_ZERO_RANGE,
];

fn generate(seed: u64, n: usize, max: u64) -> Vec<(usize, Op)> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let range = |rng: &mut fastrand::Rng| {
        let off = rng.u64(0..max);
        let len = rng.u64(1..=(max - off).clamp(1, 256 * 1024));
        (off, len)
    };
    (0..n)
        .map(|i| {
            let (off, len) = range(&mut rng);
            let op = match rng.u8(0..10) {
                0..=2 => Op::Write(off, len as usize, rng.u8(1..)),
                3 | 4 => Op::Read(off, len as usize),
                5 => Op::Truncate(rng.u64(0..max)),
                6 | 7 => Op::Falloc(FALLOC_MODES[rng.usize(0..4)], off, len),
                8 => Op::MapWrite(off, len as usize, rng.u8(1..)),
                _ => Op::MapRead(off, len as usize),
            };
            (i, op)
        })
        .collect()
}

/// Applies `op` to the model; `applied` says whether the filesystem took it
/// (an unsupported fallocate mode is skipped on both sides).
fn model_apply(model: &mut Vec<u8>, op: Op) {
    let end = |o: u64, l: u64| (o + l) as usize;
    match op {
        Op::Write(o, l, b) => {
            if model.len() < end(o, l as u64) {
                model.resize(end(o, l as u64), 0);
            }
            model[o as usize..end(o, l as u64)].fill(b);
        }
        Op::Truncate(l) => model.resize(l as usize, 0),
        Op::Falloc(mode, o, l) => {
            let keep = mode & libc::FALLOC_FL_KEEP_SIZE != 0;
            if mode & (libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_ZERO_RANGE) != 0 {
                let stop = end(o, l).min(model.len());
                if (o as usize) < stop {
                    model[o as usize..stop].fill(0);
                }
            }
            if !keep && model.len() < end(o, l) {
                model.resize(end(o, l), 0);
            }
        }
        Op::MapWrite(o, l, b) => {
            // Only within the current size (a mapping cannot extend a file).
            let stop = end(o, l as u64).min(model.len());
            if (o as usize) < stop {
                model[o as usize..stop].fill(b);
            }
        }
        Op::Read(..) | Op::MapRead(..) => {}
    }
}

/// Performs `op` on the file; Err on an unexpected failure or a mismatch.
fn file_apply(f: &File, op: Op, model: &[u8]) -> Result<bool, String> {
    let io = |e: std::io::Error| e.to_string();
    match op {
        Op::Write(o, l, b) => f.write_all_at(&vec![b; l], o).map_err(io)?,
        Op::Read(o, l) => {
            let mut buf = vec![0u8; l];
            let n = read_full(f, &mut buf, o).map_err(io)?;
            check(&buf[..n], model, o, l)?;
        }
        Op::Truncate(l) => f.set_len(l).map_err(io)?,
        Op::Falloc(mode, o, l) => {
            // SAFETY: a plain fallocate on an open fd.
            let r = unsafe { libc::fallocate(f.as_raw_fd(), mode, o as i64, l as i64) };
            if r < 0 {
                let e = std::io::Error::last_os_error();
                if e.raw_os_error() == Some(libc::EOPNOTSUPP) {
                    return Ok(false);
                }
                return Err(format!("fallocate: {e}"));
            }
        }
        Op::MapWrite(o, l, b) => {
            let size = f.metadata().map_err(io)?.len();
            let stop = (o + l as u64).min(size);
            if o < stop {
                // SAFETY: the file is not resized while mapped (one thread).
                let mut m = unsafe { memmap2::MmapMut::map_mut(f) }.map_err(io)?;
                m[o as usize..stop as usize].fill(b);
                m.flush().map_err(io)?;
            }
        }
        Op::MapRead(o, l) => {
            let size = f.metadata().map_err(io)?.len();
            if o < size && size > 0 {
                // SAFETY: as above.
                let m = unsafe { memmap2::Mmap::map(f) }.map_err(io)?;
                let stop = (o + l as u64).min(size) as usize;
                check(&m[o as usize..stop], model, o, l)?;
            }
        }
    }
    Ok(true)
}

fn read_full(f: &File, buf: &mut [u8], off: u64) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read_at(&mut buf[n..], off + n as u64)? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Compares what was read at `off` with the model.
fn check(got: &[u8], model: &[u8], off: u64, len: usize) -> Result<(), String> {
    let start = (off as usize).min(model.len());
    let want = &model[start..(start + len).min(model.len())];
    if got == want {
        return Ok(());
    }
    let first = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    Err(format!(
        "read {} bytes at {off}, model has {}; first difference at {}",
        got.len(),
        want.len(),
        off + first as u64
    ))
}

/// Runs `ops` on a fresh file; the first failure, if any.
fn failure(ops: &[(usize, Op)], inject: Option<usize>, dir: &Path) -> Option<String> {
    let path = dir.join("fsdiff-data");
    let f = match OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) => return Some(format!("cannot create {}: {e}", path.display())),
    };
    let mut model = Vec::new();
    for (i, op) in ops {
        let taken = if inject == Some(*i) {
            Ok(true)
        } else {
            file_apply(&f, *op, &model)
        };
        match taken {
            Ok(true) => model_apply(&mut model, *op),
            Ok(false) => {}
            Err(e) => return Some(format!("op {i} `{op}`: {e}")),
        }
        match f.metadata() {
            Ok(md) if md.len() == model.len() as u64 => {}
            Ok(md) => {
                return Some(format!(
                    "op {i} `{op}`: size {} but model {}",
                    md.len(),
                    model.len()
                ));
            }
            Err(e) => return Some(format!("op {i} `{op}`: stat: {e}")),
        }
    }
    // A last full read catches damage no read op happened to cover.
    let mut all = vec![0u8; model.len()];
    match read_full(&f, &mut all, 0) {
        Ok(n) if all[..n] == model[..] => None,
        Ok(_) => Some("final contents differ from the model".into()),
        Err(e) => Some(format!("final read: {e}")),
    }
}

/// Runs the sequence for `seed`; Ok(true) when the file always matched.
pub fn run(
    seed: u64,
    n: usize,
    max: u64,
    inject: Option<usize>,
    keep: bool,
    dir: &Path,
) -> Result<bool, String> {
    if max == 0 {
        return Err("--max-size must be positive".into());
    }
    let ops = generate(seed, n, max);
    let Some(first) = failure(&ops, inject, dir) else {
        println!("fsdiff data: seed {seed}: {n} ops, file always matched the model");
        if !keep {
            let _ = std::fs::remove_file(dir.join("fsdiff-data"));
        }
        return Ok(true);
    };
    println!("fsdiff data: seed {seed}: MISMATCH: {first}");
    let min = ddmin::minimise(&ops, 300, |cand| failure(cand, inject, dir).is_some());
    println!("minimal failing sequence ({} of {n} ops):", min.len());
    for (i, op) in &min {
        println!("  [{i}] {op}");
    }
    if let Some(d) = failure(&min, inject, dir) {
        println!("which gives: {d}");
    }
    let _ = std::fs::remove_file(dir.join("fsdiff-data"));
    Ok(false)
}
