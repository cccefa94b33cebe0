//! FUSE over io_uring end to end: the library's memfs mounted with
//! `InitConfig::io_uring`, driven with ordinary system calls. The tests
//! set /sys/module/fuse/parameters/enable_uring and restore it; they hold
//! one lock so that they never see each other's setting.

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use fuse4fs::fuse::InitConfig;
use fuse4fs::fuse::abi::init_flags::FUSE_OVER_IO_URING;
use fuse4fs::fuse::abi::opcode::*;
use fuse4fs::fuse::memfs::{MemFs, MemFsConfig};
use fuse4fs::fuse::opcount::OpCounts;

use crate::common;

const ENABLE_URING: &str = "/sys/module/fuse/parameters/enable_uring";
/// Larger than max_write (1 MiB): WRITEs of a full payload buffer.
const BIG: usize = 4 << 20 | 12345;

static PARAM_LOCK: Mutex<()> = Mutex::new(());

/// Sets enable_uring for the test's life and puts the old value back.
struct UringParam {
    old: String,
}

impl UringParam {
    fn set(on: bool) -> Self {
        let old = std::fs::read_to_string(ENABLE_URING).unwrap_or_else(|e| {
            panic!("{ENABLE_URING}: {e} (FUSE over io_uring needs Linux 6.14+; run as root)")
        });
        std::fs::write(ENABLE_URING, if on { "1" } else { "0" })
            .unwrap_or_else(|e| panic!("setting {ENABLE_URING}: {e} (run as root)"));
        UringParam {
            old: old.trim().to_string(),
        }
    }
}

impl Drop for UringParam {
    fn drop(&mut self) {
        let v = if self.old == "Y" || self.old == "1" {
            "1"
        } else {
            "0"
        };
        let _ = std::fs::write(ENABLE_URING, v);
    }
}

/// What a mount served: every request, the ones that came over the ring,
/// and whether the session used io_uring.
struct Served {
    /// The largest WRITE payload the filesystem got.
    max_write: u64,
    all: Arc<OpCounts>,
    ring: Arc<OpCounts>,
    uring: bool,
    negotiated_uring: bool,
}

/// Mounts a memfs asking for io_uring, runs `f` on the mount point and
/// unmounts.
fn with_uring_memfs(f: impl FnOnce(&Path)) -> Served {
    let fs = Arc::new(MemFs::new(MemFsConfig::default()));
    let memfs = fs.clone();
    let config = InitConfig {
        io_uring: true,
        ..InitConfig::read_write()
    };
    let mut served = common::serve_scratch_mount(
        "memfs-uring",
        fs,
        &config,
        4,
        |session| Served {
            max_write: 0,
            all: session.op_counts().clone(),
            ring: session.ring_op_counts().clone(),
            uring: session.uses_io_uring(),
            negotiated_uring: session.negotiated().has(FUSE_OVER_IO_URING),
        },
        |mp, _| f(mp),
    );
    served.max_write = memfs
        .stats
        .max_write
        .load(std::sync::atomic::Ordering::Relaxed);
    served
}

fn pattern(i: usize) -> u8 {
    (i.wrapping_mul(31) ^ (i >> 11)) as u8
}

/// The usual operations, and a file larger than max_write.
fn workload(mp: &Path) {
    let a = mp.join("a");
    std::fs::write(&a, b"hello ring").unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), b"hello ring");
    let md = std::fs::metadata(&a).unwrap();
    assert_eq!(md.len(), 10);
    assert!(md.is_file());
    std::fs::create_dir(mp.join("d")).unwrap();
    std::fs::rename(&a, mp.join("d/b")).unwrap();
    assert!(!a.exists());
    let mut names: Vec<_> = std::fs::read_dir(mp)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["d"]);
    let inner: Vec<_> = std::fs::read_dir(mp.join("d"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(inner, ["b"]);
    std::fs::remove_file(mp.join("d/b")).unwrap();
    std::fs::remove_dir(mp.join("d")).unwrap();

    let data: Vec<u8> = (0..BIG).map(pattern).collect();
    let big = mp.join("big");
    let mut f = std::fs::OpenOptions::new()
        .create_new(true)
        .read(true)
        .write(true)
        .open(&big)
        .unwrap();
    f.write_all(&data).unwrap();
    f.sync_all().unwrap();
    assert_eq!(f.metadata().unwrap().size(), BIG as u64);
    f.seek(SeekFrom::Start(0)).unwrap();
    let mut back = Vec::new();
    f.read_to_end(&mut back).unwrap();
    drop(f);
    assert!(back == data, "big file read back differs");
    // Past the page cache: the server's copy.
    let fresh = std::fs::read(&big).unwrap();
    assert!(fresh == data, "big file differs on a fresh open");
    std::fs::remove_file(&big).unwrap();
}

#[test]
fn requests_go_over_the_ring() {
    let _lock = PARAM_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let _param = UringParam::set(true);
    let served = with_uring_memfs(workload);
    assert!(served.negotiated_uring, "INIT did not agree to io_uring");
    assert!(served.uring, "the session does not use the ring");
    let ring_total: u64 = (0..64).map(|op| served.ring.get(op)).sum();
    assert!(ring_total > 20, "only {ring_total} requests over the ring");
    for op in [
        FUSE_CREATE,
        FUSE_WRITE,
        FUSE_RENAME,
        FUSE_UNLINK,
        FUSE_MKDIR,
    ] {
        assert!(served.ring.get(op) > 0, "no {} over the ring", name(op));
    }
    // BIG bytes in WRITEs of max_write (1 MiB): four full ones and the
    // tail (plus the small file's), all carried by ring payload buffers.
    assert!(served.ring.get(FUSE_WRITE) >= 6, "{}", served.ring.render());
    assert_eq!(served.max_write, 1 << 20, "a full payload buffer");
    // What came through read(2): only what the kernel never puts on the
    // ring.
    for op in 0..64 {
        let by_read = served.all.get(op) - served.ring.get(op);
        if by_read > 0 {
            assert!(
                matches!(op, FUSE_FORGET | FUSE_BATCH_FORGET | FUSE_INTERRUPT),
                "{by_read} {} served through read(2):\nall:\n{}ring:\n{}",
                name(op),
                served.all.render(),
                served.ring.render()
            );
        }
    }
}

#[test]
fn refused_io_uring_falls_back_to_read() {
    let _lock = PARAM_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let _param = UringParam::set(false);
    let served = with_uring_memfs(workload);
    assert!(!served.negotiated_uring);
    assert!(!served.uring);
    let ring_total: u64 = (0..64).map(|op| served.ring.get(op)).sum();
    assert_eq!(ring_total, 0);
    assert!(served.all.get(FUSE_WRITE) >= 6);
}
