//! End-to-end test of the FUSE transport: an in-memory `FuseOps` is mounted
//! for real (mount(2) as root, and through fusermount3) and inspected with
//! ordinary system calls.

use std::ffi::CString;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fuse4fs::fuse::abi::{self, init_flags};
use fuse4fs::fuse::ids::{FileHandle, NodeId};
use fuse4fs::fuse::memfs::{MemFs as RwFs, MemFsConfig};
use fuse4fs::fuse::mount::{self, MountOptions};
use fuse4fs::fuse::notify::NotifyError;
use fuse4fs::fuse::opcount::OpCounts;
use fuse4fs::fuse::ops::{
    Attr, DirEntry, DirSink, Entry, Errno, FuseOps, OpResult, Open, RequestCtx, StatFs, Timespec,
};
use fuse4fs::fuse::{InitConfig, Negotiated, Notifier, Session};

use crate::common;

const HELLO: &[u8] = b"Hello, FUSE world!\n";
const SLOW: &[u8] = b"slow but resent\n";
const BIG_LEN: usize = 300 * 1024;
const TTL: Duration = Duration::from_secs(1);
const MTIME: Timespec = Timespec {
    sec: 1_700_000_000,
    nsec: 123_456_789,
};
const CRTIME: Timespec = Timespec {
    sec: 1_600_000_000,
    nsec: 987_654_321,
};

fn big_byte(i: usize) -> u8 {
    (i.wrapping_mul(7) ^ (i >> 9)) as u8
}

struct Node {
    nodeid: NodeId,
    name: &'static [u8],
    kind: u8,
    attr: Attr,
}

/// root (1) with hello (2), big (3), link -> hello (4), sub/ (5), slow (6).
struct MemFs {
    nodes: Vec<Node>,
    big: Vec<u8>,
    forgets: AtomicU64,
    plus_readdirs: AtomicU64,
    /// Reads of "slow" that arrived with the resend bit.
    resent_reads: AtomicU64,
    /// The first (non-resent) read of "slow" blocks until released.
    slow_blocked: AtomicBool,
    slow_entered: Mutex<mpsc::Sender<()>>,
    slow_release: Mutex<mpsc::Receiver<()>>,
}

/// The test's ends of the "slow" file's gate.
struct SlowGate {
    entered: mpsc::Receiver<()>,
    release: mpsc::Sender<()>,
}

fn attr(ino: u64, mode: u32, size: u64, nlink: u32) -> Attr {
    Attr {
        ino,
        size,
        blocks: size.div_ceil(512),
        atime: MTIME,
        mtime: MTIME,
        ctime: MTIME,
        crtime: Some(CRTIME),
        mode,
        nlink,
        uid: 0,
        gid: 0,
        rdev: 0,
        blksize: 4096,
        statx_attributes: 0,
    }
}

impl MemFs {
    fn new() -> (Self, SlowGate) {
        let (entered_tx, entered_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel();
        let nodes = vec![
            Node {
                nodeid: NodeId::ROOT,
                name: b"",
                kind: libc::DT_DIR,
                attr: attr(2, 0o40755, 4096, 3),
            },
            Node {
                nodeid: NodeId(2),
                name: b"hello",
                kind: libc::DT_REG,
                attr: attr(12, 0o100644, HELLO.len() as u64, 1),
            },
            Node {
                nodeid: NodeId(3),
                name: b"big",
                kind: libc::DT_REG,
                attr: attr(13, 0o100600, BIG_LEN as u64, 1),
            },
            Node {
                nodeid: NodeId(4),
                name: b"link",
                kind: libc::DT_LNK,
                attr: attr(14, 0o120777, 5, 1),
            },
            Node {
                nodeid: NodeId(5),
                name: b"sub",
                kind: libc::DT_DIR,
                attr: attr(15, 0o40755, 4096, 2),
            },
            Node {
                nodeid: NodeId(6),
                name: b"slow",
                kind: libc::DT_REG,
                attr: attr(16, 0o100444, SLOW.len() as u64, 1),
            },
        ];
        let fs = MemFs {
            nodes,
            big: (0..BIG_LEN).map(big_byte).collect(),
            forgets: AtomicU64::new(0),
            plus_readdirs: AtomicU64::new(0),
            resent_reads: AtomicU64::new(0),
            slow_blocked: AtomicBool::new(false),
            slow_entered: Mutex::new(entered_tx),
            slow_release: Mutex::new(release_rx),
        };
        let gate = SlowGate {
            entered: entered_rx,
            release: release_tx,
        };
        (fs, gate)
    }

    fn node(&self, nodeid: NodeId) -> OpResult<&Node> {
        self.nodes
            .iter()
            .find(|n| n.nodeid == nodeid)
            .ok_or(Errno::ENOENT)
    }

    fn entry(&self, n: &Node) -> Entry {
        Entry {
            nodeid: n.nodeid,
            generation: 1,
            attr: n.attr,
            entry_ttl: TTL,
            attr_ttl: TTL,
        }
    }

    fn data(&self, nodeid: NodeId) -> OpResult<&[u8]> {
        match nodeid.0 {
            2 => Ok(HELLO),
            3 => Ok(&self.big),
            6 => Ok(SLOW),
            _ => Err(Errno::EISDIR),
        }
    }
}

impl FuseOps for MemFs {
    fn lookup(&self, _: &RequestCtx, parent: NodeId, name: &[u8]) -> OpResult<Entry> {
        if parent != NodeId::ROOT {
            return Err(Errno::ENOENT);
        }
        let n = self
            .nodes
            .iter()
            .skip(1)
            .find(|n| n.name == name)
            .ok_or(Errno::ENOENT)?;
        Ok(self.entry(n))
    }
    fn forget(&self, _nodeid: NodeId, nlookup: u64) {
        self.forgets.fetch_add(nlookup, Ordering::Relaxed);
    }
    fn getattr(
        &self,
        _: &RequestCtx,
        nodeid: NodeId,
        _fh: Option<FileHandle>,
    ) -> OpResult<(Attr, Duration)> {
        Ok((self.node(nodeid)?.attr, TTL))
    }
    fn readlink(&self, _: &RequestCtx, nodeid: NodeId) -> OpResult<Vec<u8>> {
        if nodeid == NodeId(4) {
            Ok(b"hello".to_vec())
        } else {
            Err(Errno::EINVAL)
        }
    }
    fn open(&self, _: &RequestCtx, nodeid: NodeId, flags: u32, _: u32) -> OpResult<Open> {
        self.data(nodeid)?;
        if flags as i32 & libc::O_ACCMODE != libc::O_RDONLY {
            return Err(Errno::EROFS);
        }
        Ok(Open {
            fh: FileHandle(nodeid.0 * 100),
            open_flags: 0,
        })
    }
    fn read(
        &self,
        ctx: &RequestCtx,
        nodeid: NodeId,
        fh: FileHandle,
        offset: u64,
        size: u32,
    ) -> OpResult<Vec<u8>> {
        assert_eq!(fh, FileHandle(nodeid.0 * 100), "fh passed through");
        if nodeid == NodeId(6) {
            if ctx.is_resend() {
                self.resent_reads.fetch_add(1, Ordering::SeqCst);
            } else if !self.slow_blocked.swap(true, Ordering::SeqCst) {
                // Hold this request (as a crashed server would) until the
                // test has made the kernel resend it.
                let _ = self.slow_entered.lock().unwrap().send(());
                let _ = self
                    .slow_release
                    .lock()
                    .unwrap()
                    .recv_timeout(Duration::from_secs(10));
            }
        }
        let data = self.data(nodeid)?;
        let start = (offset as usize).min(data.len());
        let end = start.saturating_add(size as usize).min(data.len());
        Ok(data[start..end].to_vec())
    }
    fn opendir(&self, _: &RequestCtx, nodeid: NodeId, _flags: u32) -> OpResult<Open> {
        let n = self.node(nodeid)?;
        if n.kind != libc::DT_DIR {
            return Err(Errno::ENOTDIR);
        }
        Ok(Open {
            fh: FileHandle(7),
            open_flags: 0,
        })
    }
    fn readdir(
        &self,
        _: &RequestCtx,
        nodeid: NodeId,
        _fh: FileHandle,
        offset: u64,
        plus: bool,
        sink: &mut dyn DirSink,
    ) -> OpResult<()> {
        let me = self.node(nodeid)?;
        if plus {
            self.plus_readdirs.fetch_add(1, Ordering::Relaxed);
        }
        let mut list: Vec<(&[u8], &Node)> = vec![(b".", me), (b"..", self.node(NodeId::ROOT)?)];
        if nodeid == NodeId::ROOT {
            list.extend(self.nodes.iter().skip(1).map(|n| (n.name, n)));
        }
        for (i, (name, n)) in list.iter().enumerate().skip(offset as usize) {
            let d = DirEntry {
                ino: n.attr.ino,
                next_offset: i as u64 + 1,
                kind: n.kind,
                name,
            };
            let dot = *name == b"." || *name == b"..";
            let e = (plus && !dot).then(|| self.entry(n));
            if !sink.add(&d, e.as_ref()) {
                break;
            }
        }
        Ok(())
    }
    fn statfs(&self, _: &RequestCtx, _nodeid: NodeId) -> OpResult<StatFs> {
        Ok(StatFs {
            blocks: 1000,
            bfree: 400,
            bavail: 300,
            files: 100,
            ffree: 50,
            bsize: 4096,
            namelen: 255,
            frsize: 4096,
        })
    }
    fn getxattr(&self, _: &RequestCtx, nodeid: NodeId, name: &[u8]) -> OpResult<Vec<u8>> {
        if nodeid == NodeId(2) && name == b"user.greeting" {
            Ok(b"hi there".to_vec())
        } else {
            Err(Errno::ENODATA)
        }
    }
    fn listxattr(&self, _: &RequestCtx, nodeid: NodeId) -> OpResult<Vec<u8>> {
        Ok(if nodeid == NodeId(2) {
            b"user.greeting\0".to_vec()
        } else {
            Vec::new()
        })
    }
    fn access(&self, _: &RequestCtx, _nodeid: NodeId, _mask: u32) -> OpResult<()> {
        Ok(())
    }
}

fn fuse_available() -> bool {
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
    {
        Ok(_) => true,
        Err(e) => {
            fuse4fs_testkit::skip!("/dev/fuse unavailable ({e})");
            false
        }
    }
}

fn cpath(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap()
}

/// getxattr(2) with a buffer of `size` bytes: Ok(length or bytes) / Err(errno).
fn getxattr(p: &Path, name: &str, size: usize) -> Result<Vec<u8>, i32> {
    let (p, name) = (cpath(p), CString::new(name).unwrap());
    let mut buf = vec![0u8; size];
    // SAFETY: valid NUL-terminated strings and a buffer of `size` bytes.
    let n = unsafe { libc::getxattr(p.as_ptr(), name.as_ptr(), buf.as_mut_ptr().cast(), size) };
    if n < 0 {
        return Err(std::io::Error::last_os_error().raw_os_error().unwrap());
    }
    buf.truncate(n as usize);
    Ok(if size == 0 {
        (n as u64).to_ne_bytes().to_vec()
    } else {
        buf
    })
}

fn listxattr(p: &Path, size: usize) -> Result<(usize, Vec<u8>), i32> {
    let p = cpath(p);
    let mut buf = vec![0u8; size];
    // SAFETY: valid NUL-terminated path and a buffer of `size` bytes.
    let n = unsafe { libc::listxattr(p.as_ptr(), buf.as_mut_ptr().cast(), size) };
    if n < 0 {
        return Err(std::io::Error::last_os_error().raw_os_error().unwrap());
    }
    buf.truncate(if size == 0 { 0 } else { n as usize });
    Ok((n as usize, buf))
}

/// Everything checked through the mounted filesystem.
fn check_mounted(mp: &Path, negotiated: &Negotiated) {
    assert_eq!(negotiated.major, 7);
    assert!(negotiated.minor >= 36, "minor {}", negotiated.minor);
    assert!(negotiated.has(init_flags::FUSE_MAX_PAGES));
    assert!(negotiated.max_write >= 1 << 20);

    // Directory listing (READDIRPLUS on first read; names only here).
    let mut names: Vec<String> = std::fs::read_dir(mp)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["big", "hello", "link", "slow", "sub"]);
    assert_eq!(std::fs::read_dir(mp.join("sub")).unwrap().count(), 0);

    // Contents.
    let hello = mp.join("hello");
    assert_eq!(std::fs::read(&hello).unwrap(), HELLO);
    let f = std::fs::File::open(&hello).unwrap();
    let mut buf = [0u8; 5];
    f.read_exact_at(&mut buf, 7).unwrap();
    assert_eq!(&buf, b"FUSE ");
    assert_eq!(f.read_at(&mut buf, 100).unwrap(), 0, "EOF");
    drop(f);

    let big = mp.join("big");
    let all = std::fs::read(&big).unwrap();
    assert_eq!(all.len(), BIG_LEN);
    assert!(all.iter().enumerate().all(|(i, &b)| b == big_byte(i)));
    let f = std::fs::File::open(&big).unwrap();
    let mut chunk = vec![0u8; 200 * 1024];
    f.read_exact_at(&mut chunk, 1000).unwrap();
    assert!(
        chunk
            .iter()
            .enumerate()
            .all(|(i, &b)| b == big_byte(i + 1000))
    );
    // A single large read() call (O_DIRECT-free path goes through the cache).
    let mut f = std::fs::File::open(&big).unwrap();
    let mut whole = vec![0u8; BIG_LEN + 10];
    let mut got = 0;
    while got < BIG_LEN {
        let n = f.read(&mut whole[got..]).unwrap();
        assert!(n > 0);
        got += n;
    }
    assert!(
        whole[..BIG_LEN]
            .iter()
            .enumerate()
            .all(|(i, &b)| b == big_byte(i))
    );
    drop(f);

    // Writes are refused by the filesystem.
    let e = std::fs::OpenOptions::new()
        .write(true)
        .open(&hello)
        .unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EROFS));

    // Metadata.
    let m = std::fs::metadata(&hello).unwrap();
    assert_eq!(m.mode(), 0o100644);
    assert_eq!(m.size(), HELLO.len() as u64);
    assert_eq!(m.ino(), 12);
    assert_eq!(m.nlink(), 1);
    assert_eq!(m.mtime(), MTIME.sec);
    assert_eq!(m.mtime_nsec(), i64::from(MTIME.nsec));
    let root = std::fs::metadata(mp).unwrap();
    assert_eq!((root.ino(), root.nlink(), root.mode()), (2, 3, 0o40755));
    let l = std::fs::symlink_metadata(mp.join("link")).unwrap();
    assert!(l.file_type().is_symlink());
    assert_eq!(
        std::fs::read_link(mp.join("link")).unwrap(),
        Path::new("hello")
    );
    assert_eq!(
        std::fs::read(mp.join("link")).unwrap(),
        HELLO,
        "follows the symlink"
    );
    assert_eq!(
        std::fs::metadata(mp.join("missing"))
            .unwrap_err()
            .raw_os_error(),
        Some(libc::ENOENT)
    );

    // Extended attributes: probe, exact, too small, missing, list.
    let probe = getxattr(&hello, "user.greeting", 0).unwrap();
    assert_eq!(u64::from_ne_bytes(probe.try_into().unwrap()), 8);
    assert_eq!(getxattr(&hello, "user.greeting", 64).unwrap(), b"hi there");
    assert_eq!(getxattr(&hello, "user.greeting", 8).unwrap(), b"hi there");
    assert_eq!(getxattr(&hello, "user.greeting", 3), Err(libc::ERANGE));
    assert_eq!(getxattr(&hello, "user.nope", 64), Err(libc::ENODATA));
    assert_eq!(listxattr(&hello, 0).unwrap().0, 14);
    assert_eq!(listxattr(&hello, 100).unwrap().1, b"user.greeting\0");
    assert_eq!(listxattr(&hello, 4), Err(libc::ERANGE));

    // statfs.
    let s = rustix::fs::statvfs(mp).unwrap();
    assert_eq!((s.f_blocks, s.f_bfree, s.f_bavail), (1000, 400, 300));
    assert_eq!((s.f_files, s.f_ffree), (100, 50));
    assert_eq!((s.f_bsize, s.f_frsize, s.f_namemax), (4096, 4096, 255));

    // statx with btime (forces FUSE_STATX).
    let sx = rustix::fs::statx(
        rustix::fs::CWD,
        &hello,
        rustix::fs::AtFlags::STATX_FORCE_SYNC,
        rustix::fs::StatxFlags::BASIC_STATS | rustix::fs::StatxFlags::BTIME,
    )
    .unwrap();
    assert!(
        sx.stx_mask & rustix::fs::StatxFlags::BTIME.bits() != 0,
        "btime reported"
    );
    assert_eq!(
        (sx.stx_btime.tv_sec, sx.stx_btime.tv_nsec),
        (CRTIME.sec, CRTIME.nsec)
    );
    assert_eq!(sx.stx_ino, 12);
    assert_eq!(
        (sx.stx_mtime.tv_sec, sx.stx_mtime.tv_nsec),
        (MTIME.sec, MTIME.nsec)
    );
}

fn check_notifications(session_notifier: &Notifier, mp: &Path) {
    // Make sure "hello" is cached, then invalidate it.
    std::fs::metadata(mp.join("hello")).unwrap();
    session_notifier.inval_inode(NodeId(2), 0, 0).unwrap();
    session_notifier
        .inval_entry(NodeId::ROOT, b"hello")
        .unwrap();
    assert_eq!(
        session_notifier.inval_entry(NodeId::ROOT, b"never-looked-up"),
        Err(NotifyError::NotFound)
    );
    assert_eq!(
        session_notifier.inval_inode(NodeId(999), 0, 0),
        Err(NotifyError::NotFound)
    );
    // Nothing in flight: resend is a no-op on kernels that support it.
    match session_notifier.resend() {
        Ok(()) | Err(NotifyError::Unsupported) => {}
        Err(e) => panic!("resend: {e}"),
    }
    match session_notifier.inc_epoch() {
        Ok(()) | Err(NotifyError::Unsupported) => {}
        Err(e) => panic!("inc_epoch: {e}"),
    }
    // Still works afterwards.
    assert_eq!(std::fs::read(mp.join("hello")).unwrap(), HELLO);
}

/// A request held by one worker is resent by the kernel after
/// FUSE_NOTIFY_RESEND, reaches the other worker with bit 63 set in `unique`,
/// and is answered there; the stale reply from the first worker is then
/// dropped by the kernel (ENOENT), which the transport must shrug off.
fn check_resend(fs: &MemFs, gate: &SlowGate, notifier: &Notifier, mp: &Path, n: &Negotiated) {
    if !n.kernel_has_resend() {
        fuse4fs_testkit::skip!("kernel lacks FUSE_HAS_RESEND: resend not checked");
        return;
    }
    let path = mp.join("slow");
    let reader = std::thread::spawn(move || std::fs::read(path));
    gate.entered
        .recv_timeout(Duration::from_secs(5))
        .expect("READ of slow reached the handler");
    notifier.resend().expect("FUSE_NOTIFY_RESEND");
    let data = reader.join().unwrap().expect("read of slow");
    assert_eq!(data, SLOW);
    assert!(
        fs.resent_reads.load(Ordering::SeqCst) >= 1,
        "handler saw the resend bit"
    );
    // Let the stale handler finish; its reply must not break the worker.
    gate.release.send(()).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(std::fs::read(mp.join("hello")).unwrap(), HELLO);
}

/// Mounts, serves, runs `checks`, unmounts and checks that run() returns.
fn mount_serve_check(opts: MountOptions, use_fusermount_unmount: bool, resume: bool) {
    if !fuse_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mp = dir.path().join("mnt");
    std::fs::create_dir(&mp).unwrap();

    let fd = match mount::mount(&mp, &opts) {
        Ok(fd) => fd,
        Err(e @ mount::MountError::FusermountNotFound) => {
            fuse4fs_testkit::skip!("{e}");
            return;
        }
        Err(e) => panic!("mount failed: {e}"),
    };
    let (fs, gate) = MemFs::new();
    let fs = Arc::new(fs);
    let session = common::init_or_unmount(fd, fs.clone(), &InitConfig::default(), &mp);
    let negotiated = *session.negotiated();
    eprintln!("negotiated: {negotiated:?}");
    let session = if resume {
        // Simulate a server restart: keep the live fd, persist the INIT
        // parameters, drop the first session and take over without INIT.
        let fd = session.fd().try_clone_to_owned().unwrap();
        let saved = session.negotiated().to_bytes();
        drop(session);
        Session::resume(fd, fs.clone(), Negotiated::from_bytes(&saved).unwrap())
    } else {
        session
    };
    let notifier = session.notifier();
    let unmount = if use_fusermount_unmount {
        mount::unmount_fusermount
    } else {
        mount::unmount
    };
    common::serve_while(session, 2, &mp, unmount, || {
        check_mounted(&mp, &negotiated);
        check_notifications(&notifier, &mp);
        check_resend(&fs, &gate, &notifier, &mp, &negotiated);
        assert!(
            fs.plus_readdirs.load(Ordering::Relaxed) > 0,
            "READDIRPLUS was used"
        );
    });
    // After unmount, notifications fail cleanly instead of panicking.
    assert!(notifier.inval_inode(NodeId(2), 0, 0).is_err());
}

#[test]
fn mount_with_mount_syscall() {
    mount_serve_check(
        MountOptions {
            ro: true,
            fsname: "memfs".into(),
            ..Default::default()
        },
        false,
        false,
    );
}

#[test]
fn resume_live_connection_without_init() {
    mount_serve_check(MountOptions::default(), false, true);
}

#[test]
fn mount_with_fusermount3() {
    mount_serve_check(
        MountOptions {
            force_fusermount: true,
            max_read: Some(1 << 20),
            ..Default::default()
        },
        true,
        false,
    );
}

// ---------------------------------------------------------------------------
// A writable in-memory filesystem, mounted read-write.
// ---------------------------------------------------------------------------

// The library's in-memory filesystem (fuse4fs::fuse::memfs), with zero
// time-outs: every check sees the server's state.

fn errno<T: std::fmt::Debug>(r: std::io::Result<T>) -> i32 {
    r.unwrap_err().raw_os_error().unwrap()
}

/// Returns Err(errno) when a libc call returned -1.
fn check_rc(rc: i64) -> Result<i64, i32> {
    if rc < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap())
    } else {
        Ok(rc)
    }
}

fn renameat2(from: &Path, to: &Path, flags: u32) -> Result<(), i32> {
    let (a, b) = (cpath(from), cpath(to));
    // SAFETY: valid NUL-terminated paths.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            flags,
        )
    };
    check_rc(rc.into()).map(|_| ())
}

fn utimensat(p: &Path, atime: libc::timespec, mtime: libc::timespec) {
    let p = cpath(p);
    let ts = [atime, mtime];
    // SAFETY: valid path and a two-element timespec array.
    let rc = unsafe { libc::utimensat(libc::AT_FDCWD, p.as_ptr(), ts.as_ptr(), 0) };
    check_rc(rc.into()).expect("utimensat");
}

fn setxattr(p: &Path, name: &str, value: &[u8], flags: i32) -> Result<(), i32> {
    let (p, name) = (cpath(p), CString::new(name).unwrap());
    // SAFETY: valid strings and a value buffer of value.len() bytes.
    let rc = unsafe {
        libc::setxattr(
            p.as_ptr(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            flags,
        )
    };
    check_rc(rc.into()).map(|_| ())
}

fn ts(sec: i64, nsec: i64) -> libc::timespec {
    libc::timespec {
        tv_sec: sec,
        tv_nsec: nsec,
    }
}

fn check_read_write(mp: &Path, fs: &RwFs, n: &Negotiated) {
    let st = &fs.stats;
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};

    // Clearing setuid/setgid is the server's (see READ_WRITE_WANTED_FLAGS).
    for f in [
        init_flags::FUSE_ATOMIC_O_TRUNC,
        init_flags::FUSE_HANDLE_KILLPRIV_V2,
        init_flags::FUSE_SETXATTR_EXT,
        init_flags::FUSE_DONT_MASK,
    ] {
        assert!(n.has(f), "flag {f:#x} negotiated");
    }

    // CREATE + WRITE + READ back, including one 1 MiB write.
    let a = mp.join("a");
    let mut f = std::fs::OpenOptions::new()
        .create_new(true)
        .write(true)
        .read(true)
        .mode(0o640)
        .open(&a)
        .unwrap();
    f.write_all(b"hello, world").unwrap();
    let big: Vec<u8> = (0..1 << 20).map(big_byte).collect();
    f.write_all_at(&big, 4096).unwrap();
    if n.max_write >= 1 << 20 {
        assert_eq!(
            st.max_write.load(Ordering::SeqCst),
            1 << 20,
            "one WRITE of 1 MiB"
        );
    }
    let mut back = vec![0u8; 12];
    f.read_exact_at(&mut back, 0).unwrap();
    assert_eq!(back, b"hello, world");
    drop(f);
    let all = std::fs::read(&a).unwrap();
    assert_eq!(all.len(), 4096 + (1 << 20));
    assert!(all[12..4096].iter().all(|&b| b == 0));
    assert!(all[4096..] == big[..]);
    let m = std::fs::metadata(&a).unwrap();
    assert_eq!(m.mode(), 0o100640);
    assert!(
        st.flushes.load(Ordering::SeqCst) > 0,
        "FLUSH reached the handler"
    );
    assert!(
        st.umasks.load(Ordering::SeqCst) > 0,
        "umask passed (DONT_MASK)"
    );

    // Truncation: ftruncate (SETATTR size) and O_TRUNC (ATOMIC_O_TRUNC).
    let f = std::fs::OpenOptions::new().write(true).open(&a).unwrap();
    f.set_len(5).unwrap();
    assert_eq!(std::fs::metadata(&a).unwrap().len(), 5);
    f.set_len(10).unwrap();
    drop(f);
    assert_eq!(std::fs::read(&a).unwrap(), b"hello\0\0\0\0\0");
    std::fs::write(&a, b"again").unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), b"again");
    std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(std::fs::metadata(&a).unwrap().mode(), 0o100600);

    // mkdir / rmdir.
    let d = mp.join("d");
    std::fs::create_dir(&d).unwrap();
    assert!(std::fs::metadata(&d).unwrap().is_dir());
    assert_eq!(errno(std::fs::create_dir(&d)), libc::EEXIST);
    std::fs::write(d.join("inner"), b"x").unwrap();
    assert_eq!(errno(std::fs::remove_dir(&d)), libc::ENOTEMPTY);
    std::fs::remove_file(d.join("inner")).unwrap();
    std::fs::remove_dir(&d).unwrap();
    assert_eq!(errno(std::fs::metadata(&d)), libc::ENOENT);

    // symlink / readlink.
    std::os::unix::fs::symlink("a", mp.join("sl")).unwrap();
    assert_eq!(std::fs::read_link(mp.join("sl")).unwrap(), Path::new("a"));
    assert_eq!(std::fs::read(mp.join("sl")).unwrap(), b"again");

    // link / unlink.
    std::fs::hard_link(&a, mp.join("a2")).unwrap();
    assert_eq!(std::fs::metadata(&a).unwrap().nlink(), 2);
    assert_eq!(
        std::fs::metadata(mp.join("a2")).unwrap().ino(),
        std::fs::metadata(&a).unwrap().ino()
    );
    std::fs::remove_file(mp.join("a2")).unwrap();
    assert_eq!(std::fs::metadata(&a).unwrap().nlink(), 1);
    assert_eq!(errno(std::fs::remove_file(mp.join("a2"))), libc::ENOENT);

    // mknod (a FIFO).
    let fifo = cpath(&mp.join("fifo"));
    // SAFETY: valid path.
    check_rc(unsafe { libc::mknod(fifo.as_ptr(), libc::S_IFIFO | 0o644, 0) }.into()).unwrap();
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(
        &std::fs::metadata(mp.join("fifo")).unwrap().file_type()
    ));

    // rename: plain, NOREPLACE onto an existing name, EXCHANGE.
    std::fs::write(mp.join("b"), b"bee").unwrap();
    std::fs::rename(mp.join("b"), mp.join("c")).unwrap();
    assert_eq!(errno(std::fs::metadata(mp.join("b"))), libc::ENOENT);
    assert_eq!(std::fs::read(mp.join("c")).unwrap(), b"bee");
    assert_eq!(
        renameat2(&mp.join("c"), &a, libc::RENAME_NOREPLACE),
        Err(libc::EEXIST)
    );
    renameat2(&mp.join("c"), &a, libc::RENAME_EXCHANGE).unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), b"bee");
    assert_eq!(std::fs::read(mp.join("c")).unwrap(), b"again");
    renameat2(&mp.join("c"), &mp.join("e"), libc::RENAME_NOREPLACE).unwrap();
    assert_eq!(std::fs::read(mp.join("e")).unwrap(), b"again");
    // Plain rename over an existing file replaces it.
    std::fs::rename(mp.join("e"), &a).unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), b"again");

    // utimensat with UTIME_OMIT and UTIME_NOW.
    utimensat(&a, ts(1_000_000, 5), ts(0, libc::UTIME_OMIT));
    let m = std::fs::metadata(&a).unwrap();
    assert_eq!((m.atime(), m.atime_nsec()), (1_000_000, 5));
    let mtime_before = (m.mtime(), m.mtime_nsec());
    assert_ne!(mtime_before.0, 1_000_000, "mtime omitted");
    utimensat(&a, ts(0, libc::UTIME_OMIT), ts(2_000_000, 7));
    let m = std::fs::metadata(&a).unwrap();
    assert_eq!((m.atime(), m.atime_nsec()), (1_000_000, 5), "atime omitted");
    assert_eq!((m.mtime(), m.mtime_nsec()), (2_000_000, 7));
    utimensat(&a, ts(0, libc::UTIME_NOW), ts(0, libc::UTIME_NOW));
    let m = std::fs::metadata(&a).unwrap();
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((t - m.atime()).abs() < 60 && (t - m.mtime()).abs() < 60);
    assert!(st.saw_atime_now.load(Ordering::SeqCst), "FATTR_ATIME_NOW");

    // xattrs: create, XATTR_CREATE on an existing name, replace, remove.
    setxattr(&a, "user.k", b"v1", 0).unwrap();
    assert_eq!(
        setxattr(&a, "user.k", b"v2", libc::XATTR_CREATE),
        Err(libc::EEXIST)
    );
    assert_eq!(
        setxattr(&a, "user.nope", b"v", libc::XATTR_REPLACE),
        Err(libc::ENODATA)
    );
    setxattr(&a, "user.k", b"v3", libc::XATTR_REPLACE).unwrap();
    assert_eq!(getxattr(&a, "user.k", 64).unwrap(), b"v3");
    assert_eq!(listxattr(&a, 100).unwrap().1, b"user.k\0");
    let (p, name) = (cpath(&a), CString::new("user.k").unwrap());
    // SAFETY: valid strings.
    check_rc(unsafe { libc::removexattr(p.as_ptr(), name.as_ptr()) }.into()).unwrap();
    assert_eq!(getxattr(&a, "user.k", 64), Err(libc::ENODATA));
    // SAFETY: valid strings.
    let rc = unsafe { libc::removexattr(p.as_ptr(), name.as_ptr()) };
    assert_eq!(check_rc(rc.into()), Err(libc::ENODATA));

    // fsync / fdatasync, fallocate, copy_file_range, syncfs.
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&a)
        .unwrap();
    f.sync_all().unwrap();
    f.sync_data().unwrap();
    assert!(st.fsyncs.load(Ordering::SeqCst) >= 1);
    assert!(st.datasyncs.load(Ordering::SeqCst) >= 1);
    // SAFETY: a valid fd.
    check_rc(unsafe { libc::fallocate(f.as_raw_fd(), 0, 0, 8192) }.into()).unwrap();
    assert_eq!(f.metadata().unwrap().len(), 8192);
    f.write_all_at(b"0123456789", 100).unwrap();
    let g = std::fs::OpenOptions::new()
        .create_new(true)
        .read(true)
        .write(true)
        .open(mp.join("copy"))
        .unwrap();
    let (mut off_in, mut off_out): (libc::loff_t, libc::loff_t) = (102, 3);
    // SAFETY: valid fds and offset pointers.
    let copied = unsafe {
        libc::copy_file_range(
            f.as_raw_fd(),
            &mut off_in,
            g.as_raw_fd(),
            &mut off_out,
            5,
            0,
        )
    };
    assert_eq!(check_rc(copied as i64), Ok(5));
    assert!(
        st.copies.load(Ordering::SeqCst) >= 1,
        "COPY_FILE_RANGE reached us"
    );
    assert_eq!(std::fs::read(mp.join("copy")).unwrap(), b"\0\0\x0023456");
    // SAFETY: a valid fd. (/dev/fuse mounts do not forward syncfs; it must
    // simply succeed.)
    check_rc(unsafe { libc::syncfs(f.as_raw_fd()) }.into()).unwrap();
    drop((f, g));

    // O_TMPFILE (FUSE_TMPFILE).
    let t = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_TMPFILE)
        .mode(0o600)
        .open(mp)
        .unwrap();
    t.write_all_at(b"tmp", 0).unwrap();
    let mut buf = [0u8; 3];
    t.read_exact_at(&mut buf, 0).unwrap();
    assert_eq!(&buf, b"tmp");
    assert_eq!(t.metadata().unwrap().nlink(), 0);

    // The directory shows exactly what is left.
    let mut names: Vec<String> = std::fs::read_dir(mp)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["a", "copy", "fifo", "sl"]);
}

#[test]
fn read_write_mount() {
    if !fuse_available() {
        return;
    }
    let fs = Arc::new(RwFs::new(MemFsConfig::default()));
    common::serve_scratch_mount(
        "memfs-rw",
        fs.clone(),
        &InitConfig::read_write(),
        2,
        |session| *session.negotiated(),
        |mp, negotiated| check_read_write(mp, &fs, negotiated),
    );
}

/// Every request is counted by opcode: a create/write/close, a stat and an
/// unlink with zero time-outs cost exactly these round trips.
#[test]
fn requests_counted_by_opcode() {
    use abi::opcode::*;
    use std::io::Write;
    let counts = with_counted_memfs(MemFsConfig::default(), |mp, counts| {
        let before = |op| counts.get(op);
        let (lookups, getattrs) = (before(FUSE_LOOKUP), before(FUSE_GETATTR));
        let p = mp.join("f");
        let mut f = std::fs::OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(&p)
            .unwrap();
        f.write_all(b"0123456789").unwrap();
        drop(f);
        assert_eq!(counts.get(FUSE_CREATE), 1);
        assert_eq!(counts.get(FUSE_WRITE), 1);
        assert_eq!(counts.get(FUSE_FLUSH), 1);
        // The negative lookup before CREATE.
        assert_eq!(counts.get(FUSE_LOOKUP), lookups + 1);
        // A zero attribute time-out: each stat asks the server again.
        for _ in 0..3 {
            std::fs::symlink_metadata(&p).unwrap();
        }
        assert!(counts.get(FUSE_LOOKUP) + counts.get(FUSE_GETATTR) >= lookups + getattrs + 4);
        std::fs::remove_file(&p).unwrap();
        assert_eq!(counts.get(FUSE_UNLINK), 1);
        assert_eq!(counts.get(FUSE_MKDIR), 0);
        // INIT is answered before the workers start and is not counted.
        assert_eq!(counts.get(FUSE_INIT), 0);
        let rendered = counts.render();
        assert!(rendered.contains("CREATE 1\n"), "{rendered}");
    });
    // The RELEASE of the closed file may arrive after close(2) returns,
    // but always before the connection ends.
    assert_eq!(counts.get(FUSE_RELEASE), 1);
}

/// Mounts the library's memfs with `config`, runs `f` on the mount point
/// with the session's request counts, and unmounts; the counts once the
/// session has ended. A test using it does not skip: no /dev/fuse is a
/// broken test machine.
fn with_counted_memfs(config: MemFsConfig, f: impl FnOnce(&Path, &OpCounts)) -> Arc<OpCounts> {
    common::serve_scratch_mount(
        "memfs-rtrip",
        Arc::new(RwFs::new(config)),
        &InitConfig::read_write(),
        2,
        |session| session.op_counts().clone(),
        |mp, counts| f(mp, counts),
    )
}

/// A LOOKUP answered with a negative entry (node id 0 and a time-out) is
/// cached by the kernel: a second stat of a missing name, or an O_CREAT
/// open right after the miss, costs no LOOKUP, and the name made then is
/// seen at once. Opens answered with FOPEN_NOFLUSH send no FLUSH at close.
/// Without them (negative_ttl 0, no flag) each miss and each close costs
/// its request, as before.
#[test]
fn negative_entries_and_noflush_save_round_trips() {
    use abi::opcode::*;
    let missing = |p: &Path| {
        let e = std::fs::symlink_metadata(p).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOENT), "{}", p.display());
    };
    // (negative time-out, FOPEN_* flags, LOOKUPs and FLUSHes expected)
    let cases = [
        (
            TTL,
            abi::fopen::FOPEN_KEEP_CACHE | abi::fopen::FOPEN_NOFLUSH,
            1,
            0,
        ),
        (Duration::ZERO, abi::fopen::FOPEN_KEEP_CACHE, 2, 1),
    ];
    for (negative_ttl, file_open_flags, lookups, flushes) in cases {
        let config = MemFsConfig {
            ttl: TTL,
            file_open_flags,
            dir_open_flags: 0,
            negative_ttl,
        };
        with_counted_memfs(config, |mp, counts| {
            let p = mp.join("f");
            let l0 = counts.get(FUSE_LOOKUP);
            missing(&p);
            missing(&p);
            assert_eq!(counts.get(FUSE_LOOKUP) - l0, lookups, "two stats of a miss");
            let l0 = counts.get(FUSE_LOOKUP);
            missing(&mp.join("g"));
            let f = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(mp.join("g"))
                .unwrap();
            f.write_at(b"abc", 0).unwrap();
            drop(f);
            assert_eq!(
                counts.get(FUSE_LOOKUP) - l0,
                lookups,
                "a miss, then O_CREAT"
            );
            assert_eq!(std::fs::metadata(mp.join("g")).unwrap().len(), 3);
            assert_eq!(counts.get(FUSE_FLUSH), flushes);
            // What is made under a cached miss is there at once.
            std::fs::create_dir(&p).unwrap();
            assert!(std::fs::metadata(&p).unwrap().is_dir());
            missing(&mp.join("h"));
            std::fs::rename(mp.join("g"), mp.join("h")).unwrap();
            assert_eq!(std::fs::metadata(mp.join("h")).unwrap().len(), 3);
            missing(&mp.join("g"));
        });
    }
}

/// Runs `attempt` (given its number) until it passes, at most 3 times;
/// one that fails while something else on the machine dropped the
/// kernel's caches (`echo 3 > /proc/sys/vm/drop_caches`, as scripts/bench
/// does: the kernel forgets every node no one uses) is tried again, any
/// other failure is the test's. `disturbed` says whether that happened
/// during the attempt that just ran.
fn undisturbed(mut attempt: impl FnMut(usize) -> Result<(), String>, disturbed: impl Fn() -> bool) {
    for n in 0..3 {
        match attempt(n) {
            Ok(()) => return,
            Err(e) if disturbed() && n < 2 => eprintln!("attempt {n} disturbed: {e}"),
            Err(e) => panic!("{e}"),
        }
    }
}

/// A memfs with fuse4fs's read-write open flags and time-outs of `ttl`,
/// whose listings always reach the server (no cached directory pages).
fn listing_memfs(ttl: Duration) -> Arc<RwFs> {
    Arc::new(RwFs::new(MemFsConfig {
        ttl,
        file_open_flags: abi::fopen::FOPEN_KEEP_CACHE | abi::fopen::FOPEN_NOFLUSH,
        dir_open_flags: 0,
        negative_ttl: ttl,
    }))
}

/// Makes directory `d` with files f0 to f9 through the mount; their names.
fn ten_files(d: &Path) -> Vec<String> {
    std::fs::create_dir(d).unwrap();
    let names: Vec<String> = (0..10).map(|i| format!("f{i}")).collect();
    for n in &names {
        std::fs::write(d.join(n), b"x").unwrap();
    }
    names
}

/// Fails the attempt with `what` unless `ok`.
fn check(ok: bool, what: String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what) }
}

/// READDIRPLUS leaves out the nodes the kernel holds, and the counts it
/// goes by are the kernel's own: a listing of files the kernel got from
/// CREATE sends no entries (each node's count stays at the CREATE's one);
/// when the kernel drops some names (FUSE_NOTIFY_INVAL_ENTRY) it forgets
/// their nodes, their counts fall to zero, and the next listing sends them
/// whole again; a stat of every name then costs no request: the dentries
/// kept and the ones the listing made answer them all.
#[test]
fn listings_leave_out_nodes_the_kernel_holds() {
    use abi::opcode::*;
    let fs = listing_memfs(Duration::from_secs(3600));
    common::serve_scratch_mount(
        "memfs-held",
        fs.clone(),
        &InitConfig::read_write(),
        2,
        |session| (session.op_counts().clone(), session.notifier()),
        |mp, (counts, notifier)| {
            let dnode = std::cell::Cell::new(NodeId::NONE);
            let attempt = |n: usize| -> Result<(), String> {
                let d = mp.join(format!("d{n}"));
                let names = ten_files(&d);
                let node = |n: &str| NodeId(std::fs::symlink_metadata(d.join(n)).unwrap().ino());
                let nodes: Vec<NodeId> = names.iter().map(|n| node(n)).collect();
                dnode.set(NodeId(std::fs::metadata(&d).unwrap().ino()));
                let held = || -> Vec<u32> { nodes.iter().map(|&n| fs.kernel_lookups(n)).collect() };
                let listed = || {
                    let before = counts.get(FUSE_READDIRPLUS);
                    let n = std::fs::read_dir(&d).unwrap().count();
                    assert_eq!(n, names.len());
                    assert!(
                        counts.get(FUSE_READDIRPLUS) > before,
                        "READDIRPLUS was used"
                    );
                };
                check(
                    held() == vec![1; 10],
                    format!("one CREATE each: {:?}", held()),
                )?;
                listed();
                check(
                    held() == vec![1; 10],
                    format!("a listing of held nodes sends none: {:?}", held()),
                )?;

                // The kernel drops the first five names; their nodes are
                // forgotten (a FORGET or a BATCH_FORGET comes a moment later).
                for n in &names[..5] {
                    notifier.inval_entry(dnode.get(), n.as_bytes()).unwrap();
                }
                let deadline = std::time::Instant::now() + Duration::from_secs(10);
                while held()[..5] != [0; 5] {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "not forgotten: {:?}",
                        held()
                    );
                    std::thread::sleep(Duration::from_millis(10));
                }
                check(
                    held()[5..] == [1; 5],
                    format!("the others still held: {:?}", held()),
                )?;
                listed();
                check(
                    held() == vec![1; 10],
                    format!("the forgotten ones sent again, once: {:?}", held()),
                )?;

                let asked = || counts.get(FUSE_LOOKUP) + counts.get(FUSE_GETATTR);
                let before = asked();
                for n in &names {
                    std::fs::symlink_metadata(d.join(n)).unwrap();
                }
                check(
                    asked() == before,
                    "every stat answered by the kernel".into(),
                )
            };
            // Nothing pins the directory: a drop of the caches forgets it.
            undisturbed(attempt, || fs.kernel_lookups(dnode.get()) == 0);
        },
    );
}

/// With finite time-outs a listing renews what the kernel holds once its
/// attributes and names are past half their time-out: `ls -l` after they
/// expired costs no request per name (sent without attributes, each lstat
/// would revalidate its name with a LOOKUP).
#[test]
fn a_listing_renews_expired_entries_of_held_nodes() {
    use abi::opcode::*;
    let ttl = Duration::from_secs(2);
    let fs = listing_memfs(ttl);
    common::serve_scratch_mount(
        "memfs-renew",
        fs.clone(),
        &InitConfig::read_write(),
        2,
        |session| session.op_counts().clone(),
        |mp, counts| {
            let forgets = || counts.get(FUSE_FORGET) + counts.get(FUSE_BATCH_FORGET);
            let f0 = std::cell::Cell::new(0);
            let attempt = |n: usize| -> Result<(), String> {
                f0.set(forgets());
                let d = mp.join(format!("d{n}"));
                let names = ten_files(&d);
                let node = NodeId(std::fs::symlink_metadata(d.join("f0")).unwrap().ino());
                std::thread::sleep(ttl + Duration::from_millis(200));
                let plus = counts.get(FUSE_READDIRPLUS);
                assert_eq!(std::fs::read_dir(&d).unwrap().count(), names.len());
                assert!(counts.get(FUSE_READDIRPLUS) > plus, "READDIRPLUS was used");
                let asked = || counts.get(FUSE_LOOKUP) + counts.get(FUSE_GETATTR);
                let before = asked();
                for n in &names {
                    std::fs::symlink_metadata(d.join(n)).unwrap();
                }
                let (lookups, getattrs) = (counts.get(FUSE_LOOKUP), counts.get(FUSE_GETATTR));
                let asked_now = asked();
                check(
                    asked_now == before,
                    format!(
                        "the listing renewed every name: {} requests for 10 lstats \
                         (LOOKUP {lookups}, GETATTR {getattrs} in all)",
                        asked_now - before
                    ),
                )?;
                check(
                    fs.kernel_lookups(node) == 2,
                    format!("CREATE and the listing: {}", fs.kernel_lookups(node)),
                )
            };
            // A drop of the caches while the entries age makes the kernel
            // forget them: the listing then sends them for that reason.
            undisturbed(attempt, || forgets() != f0.get());
        },
    );
}
