//! Data mode: random operations on one file, every read checked against an
//! in-memory model of its contents: buffered, O_DIRECT and mmap writes
//! (past EOF too), copy_file_range from a source file and within the
//! file, truncates, and every fallocate mode ext4 has for a file's data.
//! With small operations (`--max-len`) on a file of 16 MiB the file
//! gets thousands of extents: trees of depth 2.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
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
    /// O_DIRECT write: offset and length are multiples of [`DIO_ALIGN`].
    DirectWrite(u64, usize, u8),
    /// copy_file_range from the source file (`true`) or from the file
    /// itself at a range that does not overlap the destination: source
    /// offset, destination offset, length.
    Copy(bool, u64, u64, usize),
}

/// Alignment of O_DIRECT offsets, lengths and buffers (the largest block
/// size the tests use).
const DIO_ALIGN: u64 = 4096;

/// Size of the source file copy_file_range copies from.
const SRC_SIZE: u64 = 1 << 20;

/// Byte `i` of the source file.
fn src_byte(i: u64) -> u8 {
    (i ^ (i >> 9) ^ (i >> 17)) as u8 | 1
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
            Op::DirectWrite(o, l, b) => write!(f, "direct-write off={o} len={l} byte={b}"),
            Op::Copy(src, i, o, l) => {
                let from = if *src { "source" } else { "self" };
                write!(f, "copy_file_range from={from} in={i} off={o} len={l}")
            }
        }
    }
}

const FALLOC_MODES: [i32; 5] = [
    0,
    libc::FALLOC_FL_KEEP_SIZE,
    libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
    libc::FALLOC_FL_ZERO_RANGE,
    libc::FALLOC_FL_ZERO_RANGE | libc::FALLOC_FL_KEEP_SIZE,
];

/// `n` operations on offsets below `max`, each at most `max_len` bytes.
fn generate(seed: u64, n: usize, max: u64, max_len: u64) -> Vec<(usize, Op)> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let range = |rng: &mut fastrand::Rng| {
        let off = rng.u64(0..max);
        let len = rng.u64(1..=(max - off).clamp(1, max_len));
        (off, len)
    };
    (0..n)
        .map(|i| {
            let (off, len) = range(&mut rng);
            let op = match rng.u8(0..20) {
                0..=4 => Op::Write(off, len as usize, rng.u8(1..)),
                5 | 6 => Op::Read(off, len as usize),
                // Mostly near the end, so that truncates do not undo
                // the scattering that builds deep trees.
                7 if rng.u8(0..8) != 0 => Op::Truncate(rng.u64(max - max / 8..=max)),
                7 => Op::Truncate(rng.u64(0..max)),
                8..=12 => match FALLOC_MODES[rng.usize(0..5)] {
                    // KEEP_SIZE modes also reach past the largest size, where
                    // what they leave stays past EOF to the end of the run.
                    m if m & libc::FALLOC_FL_KEEP_SIZE != 0 => {
                        Op::Falloc(m, rng.u64(0..max + max / 8), len)
                    }
                    m => Op::Falloc(m, off, len),
                },
                13 | 14 => Op::MapWrite(off, len as usize, rng.u8(1..)),
                15 => Op::MapRead(off, len as usize),
                16 | 17 => {
                    let o = off / DIO_ALIGN * DIO_ALIGN;
                    let l = (len / DIO_ALIGN).max(1) * DIO_ALIGN;
                    Op::DirectWrite(o, l as usize, rng.u8(1..))
                }
                _ if rng.bool() => {
                    let l = len.min(SRC_SIZE);
                    Op::Copy(true, rng.u64(0..=SRC_SIZE - l), off, l as usize)
                }
                _ => match rng.u64(0..max) {
                    from if from == off => Op::Read(off, len as usize),
                    // From elsewhere in the file, not overlapping.
                    from => Op::Copy(false, from, off, len.min(from.abs_diff(off)) as usize),
                },
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
        Op::DirectWrite(o, l, b) => model_apply(model, Op::Write(o, l, b)),
        Op::Copy(from_src, i, o, l) => {
            let bytes: Vec<u8> = if from_src {
                (i..i + l as u64).map(src_byte).collect()
            } else {
                // Up to the file's end, as read(2) would give them.
                let stop = (i as usize + l).min(model.len());
                model.get(i as usize..stop).unwrap_or(&[]).to_vec()
            };
            if !bytes.is_empty() {
                let stop = o as usize + bytes.len();
                if model.len() < stop {
                    model.resize(stop, 0);
                }
                model[o as usize..stop].copy_from_slice(&bytes);
            }
        }
        Op::Read(..) | Op::MapRead(..) => {}
    }
}

/// The files one run works on.
struct Files {
    /// The file under test.
    f: File,
    /// The same file opened with O_DIRECT.
    direct: File,
    /// The source of copies ([`src_byte`]).
    src: File,
}

/// A buffer aligned for O_DIRECT, filled with `b`.
struct Aligned {
    ptr: *mut u8,
    layout: std::alloc::Layout,
}

impl Aligned {
    fn new(len: usize, b: u8) -> Option<Aligned> {
        let layout = std::alloc::Layout::from_size_align(len, DIO_ALIGN as usize).ok()?;
        // SAFETY: the layout has a non-zero size (len >= DIO_ALIGN).
        let ptr = unsafe { std::alloc::alloc(layout) };
        if ptr.is_null() {
            return None;
        }
        // SAFETY: ptr points to len writable bytes.
        unsafe { std::ptr::write_bytes(ptr, b, len) };
        Some(Aligned { ptr, layout })
    }
}

impl Drop for Aligned {
    fn drop(&mut self) {
        // SAFETY: allocated in new with this layout.
        unsafe { std::alloc::dealloc(self.ptr, self.layout) };
    }
}

/// copy_file_range of `len` bytes until done or the source's end; the
/// bytes copied.
fn copy_range(from: &File, at: u64, to: &File, off: u64, len: usize) -> std::io::Result<usize> {
    let mut done = 0;
    while done < len {
        let (mut i, mut o) = ((at + done as u64) as i64, (off + done as u64) as i64);
        // SAFETY: both offsets point to live i64s; the fds are open.
        let r = unsafe {
            libc::copy_file_range(
                from.as_raw_fd(),
                &mut i,
                to.as_raw_fd(),
                &mut o,
                len - done,
                0,
            )
        };
        match r {
            r if r < 0 => return Err(std::io::Error::last_os_error()),
            0 => break,
            r => done += r as usize,
        }
    }
    Ok(done)
}

/// Performs `op` on the file; Err on an unexpected failure or a mismatch.
fn file_apply(files: &Files, op: Op, model: &[u8]) -> Result<bool, String> {
    let io = |e: std::io::Error| e.to_string();
    let f = &files.f;
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
        Op::DirectWrite(o, l, b) => {
            let buf = Aligned::new(l, b).ok_or("cannot allocate an aligned buffer")?;
            // SAFETY: buf holds l bytes; the fd is open.
            let r = unsafe { libc::pwrite(files.direct.as_raw_fd(), buf.ptr.cast(), l, o as i64) };
            if r < 0 {
                return Err(format!(
                    "O_DIRECT write: {}",
                    std::io::Error::last_os_error()
                ));
            }
            if r as usize != l {
                return Err(format!("O_DIRECT write: {r} of {l} bytes"));
            }
        }
        Op::Copy(from_src, i, o, l) => {
            // Within the file, only what lies before its EOF is asked for:
            // a copy that extends the file would otherwise go on reading
            // what it just appended (the kernel clamps each call to EOF).
            let (from, want) = if from_src {
                (&files.src, l)
            } else {
                (f, model.len().saturating_sub(i as usize).min(l))
            };
            if want > 0 {
                let n =
                    copy_range(from, i, f, o, want).map_err(|e| format!("copy_file_range: {e}"))?;
                if n != want {
                    return Err(format!("copy_file_range copied {n} bytes, expected {want}"));
                }
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
    let files = match open_files(dir) {
        Ok(files) => files,
        Err(e) => return Some(e),
    };
    let f = &files.f;
    let mut model = Vec::new();
    for (i, op) in ops {
        let taken = if inject == Some(*i) {
            Ok(true)
        } else {
            file_apply(&files, *op, &model)
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
    match read_full(f, &mut all, 0) {
        Ok(n) if all[..n] == model[..] => None,
        Ok(_) => Some("final contents differ from the model".into()),
        Err(e) => Some(format!("final read: {e}")),
    }
}

/// Creates the file (empty), opens it twice (buffered and O_DIRECT), and
/// writes the copy source.
fn open_files(dir: &Path) -> Result<Files, String> {
    let path = dir.join("fsdiff-data");
    let open = |p: &Path, direct: bool, create: bool| {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(create)
            .custom_flags(if direct { libc::O_DIRECT } else { 0 })
            .open(p)
            .map_err(|e| format!("cannot open {}: {e}", p.display()))
    };
    let f = open(&path, false, true)?;
    let direct = open(&path, true, false)?;
    let src_path = dir.join("fsdiff-src");
    let src = open(&src_path, false, true)?;
    let bytes: Vec<u8> = (0..SRC_SIZE).map(src_byte).collect();
    src.write_all_at(&bytes, 0)
        .map_err(|e| format!("cannot write {}: {e}", src_path.display()))?;
    Ok(Files { f, direct, src })
}

/// Runs the sequence for `seed`; Ok(true) when the file always matched.
pub fn run(
    seed: u64,
    n: usize,
    max: u64,
    max_len: u64,
    inject: Option<usize>,
    keep: bool,
    dir: &Path,
) -> Result<bool, String> {
    if max < DIO_ALIGN || max_len == 0 {
        return Err(format!(
            "--max-size must be at least {DIO_ALIGN} and --max-len positive"
        ));
    }
    let ops = generate(seed, n, max, max_len);
    let Some(first) = failure(&ops, inject, dir) else {
        println!("fsdiff data: seed {seed}: {n} ops, file always matched the model");
        if !keep {
            let _ = std::fs::remove_file(dir.join("fsdiff-data"));
            let _ = std::fs::remove_file(dir.join("fsdiff-src"));
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
    let _ = std::fs::remove_file(dir.join("fsdiff-src"));
    Ok(false)
}
