//! Server-side cost of metadata operations, without FUSE: the adapter's
//! handlers called in a loop on one thread, as the kernel would call them
//! for `open(O_CREAT|O_EXCL)` (LOOKUP, CREATE), `write(100 B)` (GETXATTR,
//! WRITE), `close` (RELEASE), then `stat` of each file, `ls -l` of each
//! directory (OPENDIR, READDIRPLUS of 25 entries at a time as a 4 KiB
//! reply holds, RELEASEDIR; per entry), and `unlink` of each file. Prints CPU microseconds (user + system, from
//! getrusage), wall microseconds and log bytes per operation (durable
//! commits that fell inside a step included). What FUSE adds on top is the
//! transport; scripts/bench measures the whole.
//!
//!     cargo run --release --example fsops -- IMAGE [FILES]
//!
//! IMAGE is overwritten with a fresh 1 GiB ext4 (mkfs.ext4 must exist;
//! MKFS_ARGS adds arguments, e.g. "-O ^has_journal"; FSOPS_SIZE another
//! size, e.g. "8T" with MKFS_ARGS="-E lazy_itable_init=1,lazy_journal_init=1"
//! for a sparse image with many groups).

use std::time::{Duration, Instant};

use fuse4fs::fs::{Fs, FsOptions};
use fuse4fs::fuse::adapter::Ext4Adapter;
use fuse4fs::fuse::ops::{DirEntry, DirSink, Entry, FuseOps, NodeId, RequestCtx, RequestId};

const ROOT: NodeId = NodeId::ROOT;

/// Entries a 4 KiB READDIRPLUS reply holds (about 160 bytes each).
const PER_REPLY: usize = 25;

/// Counts the entries of one READDIRPLUS reply.
struct Count {
    entries: usize,
    next: u64,
}

impl DirSink for Count {
    fn add(&mut self, dirent: &DirEntry<'_>, _entry: Option<&Entry>) -> bool {
        if self.entries == PER_REPLY {
            return false;
        }
        self.entries += 1;
        self.next = dirent.next_offset;
        true
    }
}

fn cpu() -> Duration {
    let (user, sys) = user_sys();
    user + sys
}

/// User and system CPU time of this process so far.
fn user_sys() -> (Duration, Duration) {
    // SAFETY: getrusage fills the struct it is given.
    let r = unsafe {
        let mut r: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut r);
        r
    };
    let t = |tv: libc::timeval| Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000);
    (t(r.ru_utime), t(r.ru_stime))
}

/// Bytes this process has written with write(2) and friends (the
/// `wchar` of /proc/self/io): log, checkpoints and file data.
fn written() -> u64 {
    let io = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
    io.lines()
        .find_map(|l| l.strip_prefix("wchar: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Bytes written to the journal so far.
fn log_bytes(a: &Ext4Adapter) -> u64 {
    a.fs().journal_bytes()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let img = args.next().expect("usage: fsops IMAGE [FILES]");
    let files: u32 = args.next().map(|s| s.parse().unwrap()).unwrap_or(20000);
    let extra = std::env::var("MKFS_ARGS").unwrap_or_default();
    let size = std::env::var("FSOPS_SIZE").unwrap_or_else(|_| "1G".into());
    let st = std::process::Command::new("mkfs.ext4")
        .args(["-q", "-F"])
        .args(extra.split_whitespace())
        .args([&img, &size])
        .status()
        .expect("mkfs.ext4");
    assert!(st.success());
    let fs = Fs::open(
        std::path::Path::new(&img),
        &FsOptions {
            writable: true,
            ..Default::default()
        },
    )
    .unwrap();
    fs.mount_rw().unwrap();
    let a = Ext4Adapter::new(fs, Duration::from_secs(1));
    let c = RequestCtx {
        unique: RequestId(1),
        uid: 0,
        gid: 0,
        pid: 1,
    };
    let dirs: Vec<NodeId> = (0..10)
        .map(|d| {
            a.mkdir(&c, ROOT, format!("d{d}").as_bytes(), 0o755, 0)
                .unwrap()
                .nodeid
        })
        .collect();
    let name = |i: u32| format!("f{i}").into_bytes();
    let step = |what: &str, f: &mut dyn FnMut(NodeId, &[u8])| {
        let (c0, w0, l0, b0) = (user_sys(), Instant::now(), log_bytes(&a), written());
        for i in 0..files {
            f(dirs[(i % 10) as usize], &name(i));
        }
        let (c1, w1, l1, b1) = (user_sys(), Instant::now(), log_bytes(&a), written());
        let us = |d: Duration| d.as_secs_f64() * 1e6 / files as f64;
        println!(
            "{what:8} {:7.1} us cpu/op  {:7.1} us wall/op  {:7} log bytes/op  {:7} bytes written/op  (user {:.1}, system {:.1})",
            us(c1.0 + c1.1 - c0.0 - c0.1),
            us(w1 - w0),
            (l1 - l0) / files as u64,
            (b1 - b0) / files as u64,
            us(c1.0 - c0.0),
            us(c1.1 - c0.1),
        );
    };
    // Wall time per request of a create, summed over the files.
    let mut per = [Duration::ZERO; 5];
    step("create", &mut |d, n| {
        let mut t = Instant::now();
        let mut lap = |i: usize| {
            per[i] += t.elapsed();
            t = Instant::now();
        };
        let _ = a.lookup(&c, d, n);
        lap(0);
        let (e, o) = a.create(&c, d, n, 0o644, 0, libc::O_WRONLY as u32).unwrap();
        lap(1);
        let _ = a.getxattr(&c, e.nodeid, b"security.capability");
        lap(2);
        a.write(&c, e.nodeid, o.fh, 0, &[b'x'; 100], 0, 0).unwrap();
        lap(3);
        // No FLUSH: opens answer FOPEN_NOFLUSH.
        a.release(&c, e.nodeid, o.fh, 0).unwrap();
        lap(4);
    });
    let names = ["LOOKUP", "CREATE", "GETXATTR", "WRITE", "RELEASE"];
    let each: Vec<String> = names
        .iter()
        .zip(per)
        .map(|(n, d)| format!("{n} {:.1}", d.as_secs_f64() * 1e6 / files as f64))
        .collect();
    println!("  create's requests, us wall each: {}", each.join(", "));
    step("stat", &mut |d, n| {
        a.lookup(&c, d, n).unwrap();
    });
    let (c0, w0) = (cpu(), Instant::now());
    let mut listed = 0usize;
    for &d in &dirs {
        let o = a.opendir(&c, d, 0).unwrap();
        let mut offset = 0;
        loop {
            let mut sink = Count {
                entries: 0,
                next: offset,
            };
            a.readdir(&c, d, o.fh, offset, true, &mut sink).unwrap();
            if sink.entries == 0 {
                break;
            }
            listed += sink.entries;
            offset = sink.next;
        }
        a.releasedir(&c, d, o.fh).unwrap();
    }
    let (c1, w1) = (cpu(), Instant::now());
    println!(
        "readdir+ {:7.1} us cpu/entry {:7.1} us wall/entry ({listed} entries)",
        (c1 - c0).as_secs_f64() * 1e6 / listed as f64,
        (w1 - w0).as_secs_f64() * 1e6 / listed as f64,
    );
    step("unlink", &mut |d, n| {
        a.unlink(&c, d, n).unwrap();
    });
}
