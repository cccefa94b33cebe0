//! FS_IOC_SHUTDOWN through the FUSE dispatch and the adapter: each flag,
//! then EIO for every request and nothing written; the image afterwards as
//! our open, e2fsck and the kernel replay it; EPERM and EINVAL.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crate::common::{
    assert_fsck_clean, copy_beside, ioctl_via_dispatch, mkfs, needs_recovery, run,
    with_kernel_mount_rw,
};
use fuse4fs::fs::io::log::{IoEvent, IoLog};
use fuse4fs::fs::{Fs, FsOptions};
use fuse4fs::fuse::abi::{FuseIoctlIn, FuseIoctlOut};
use fuse4fs::fuse::adapter::Ext4Adapter;
use fuse4fs::fuse::ids::{FileHandle, NodeId, RequestId};
use fuse4fs::fuse::ops::{Errno, FuseOps, Ioctl, IoctlReply, RequestCtx};
use fuse4fs::fuse::shutdown::FS_IOC_SHUTDOWN;
use zerocopy::FromBytes;

const O_RDWR: u32 = 2;
const REG: u32 = 0o100644;

/// A request from this process (root, with CAP_SYS_ADMIN: tests run as root).
fn me() -> RequestCtx {
    RequestCtx::this_process(RequestId(7))
}

/// FS_IOC_SHUTDOWN with `flags` from `ctx`, as the kernel sends it: the
/// whole FUSE_IOCTL message through the session's dispatch (an _IOR of 4
/// bytes: nothing copied in, the caller's pointer in `arg`). The ioctl's
/// result (0 or a negative errno), as the caller would see it.
fn shutdown_via_dispatch(a: &Ext4Adapter, ctx: &RequestCtx, nodeid: NodeId, flags: u32) -> i32 {
    let flags = Box::new(flags);
    let arg = FuseIoctlIn {
        fh: FileHandle(0),
        flags: 0,
        cmd: FS_IOC_SHUTDOWN,
        arg: &*flags as *const u32 as u64,
        in_size: 0,
        out_size: 4,
    };
    match ioctl_via_dispatch(a, ctx, nodeid, &arg, &[]) {
        Ok(body) => {
            let (out, rest) = FuseIoctlOut::read_from_prefix(&body).unwrap();
            assert!(rest.len() <= 4, "more output than the caller takes");
            out.result
        }
        Err(e) => -e.0,
    }
}

struct Mounted {
    _dir: tempfile::TempDir,
    img: PathBuf,
    /// The image as mkfs left it, before the mount (the log's start).
    base: PathBuf,
    log: Arc<IoLog>,
    a: Ext4Adapter,
}

fn mounted() -> Mounted {
    mounted_with(&["-b", "4096"])
}

fn mounted_with(mkfs_args: &[&str]) -> Mounted {
    common::require_root("CAP_SYS_ADMIN for the shutdown, loop mounts");
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), mkfs_args, "32M");
    let base = copy_beside(&img, "base");
    let log = IoLog::new();
    let fs = common::mount_rw_recorded(&img, &log);
    fs.set_commit_interval(Duration::from_secs(3600));
    let a = Ext4Adapter::new(fs, Duration::from_secs(1));
    Mounted {
        _dir: dir,
        img,
        base,
        log,
        a,
    }
}

/// Creates `name` in the root with `data`; its node id and open handle.
fn make_file(a: &Ext4Adapter, name: &str, data: &[u8]) -> (NodeId, FileHandle) {
    let (e, o) = a
        .create(&me(), NodeId::ROOT, name.as_bytes(), REG, 0, O_RDWR)
        .unwrap();
    assert_eq!(
        a.write(&me(), e.nodeid, o.fh, 0, data, 0, O_RDWR).unwrap(),
        data.len() as u32
    );
    (e.nodeid, o.fh)
}

fn content(name: &str) -> Vec<u8> {
    format!("contents of {name}\n").repeat(300).into_bytes()
}

/// Every request after the shutdown answers EIO; nothing reaches the
/// image, and the unmount completes without writing either.
fn assert_stopped(m: &Mounted, open: (NodeId, FileHandle)) {
    let written = m.log.events().len();
    let a = &m.a;
    assert!(a.fs().is_shut_down());
    assert_eq!(
        a.lookup(&me(), NodeId::ROOT, b"early").unwrap_err(),
        Errno::EIO
    );
    assert_eq!(
        a.getattr(&me(), NodeId::ROOT, None).unwrap_err(),
        Errno::EIO
    );
    assert_eq!(a.getattr(&me(), open.0, None).unwrap_err(), Errno::EIO);
    assert_eq!(
        a.read(&me(), open.0, open.1, 0, 100).unwrap_err(),
        Errno::EIO
    );
    assert_eq!(
        a.create(&me(), NodeId::ROOT, b"after", REG, 0, O_RDWR)
            .unwrap_err(),
        Errno::EIO
    );
    assert_eq!(
        a.write(&me(), open.0, open.1, 0, b"x", 0, O_RDWR)
            .unwrap_err(),
        Errno::EIO
    );
    assert_eq!(
        a.mkdir(&me(), NodeId::ROOT, b"d2", 0o755, 0).unwrap_err(),
        Errno::EIO
    );
    assert_eq!(a.syncfs(&me(), NodeId::ROOT).unwrap_err(), Errno::EIO);
    // A second shutdown succeeds and changes nothing (as ext4).
    assert_eq!(shutdown_via_dispatch(a, &me(), NodeId::ROOT, 0), 0);
    let _ = a.release(&me(), open.0, open.1, 0);
    // The periodic commit has nothing to do and ends.
    assert!(!a.fs().commit_due());
    a.fs().unmount_clean().unwrap();
    assert_eq!(
        m.log.events().len(),
        written,
        "the image was written after the shutdown"
    );
    if m.a.fs().journaled() {
        assert!(
            needs_recovery(&m.img),
            "needs_recovery must survive a shutdown"
        );
    }
}

/// Names in the root directory of `fs`.
fn names_in_our_open(img: &Path) -> Vec<String> {
    let fs = Fs::open(img, &FsOptions::default()).unwrap();
    let a = Ext4Adapter::new(fs, Duration::from_secs(1));
    ["early", "durable", "late", "d"]
        .iter()
        .filter(|n| a.lookup(&me(), NodeId::ROOT, n.as_bytes()).is_ok())
        .map(|n| n.to_string())
        .collect()
}

/// What the kernel's ext4 shows after its own replay: names and whether
/// each regular file has its contents.
fn names_in_kernel(img: &Path) -> Vec<String> {
    with_kernel_mount_rw(img, |mnt| {
        let mut v: Vec<String> = Vec::new();
        for n in ["early", "durable", "late", "d"] {
            let p = mnt.join(n);
            if p.is_dir() {
                v.push(n.to_string());
            } else if p.exists() {
                assert_eq!(std::fs::read(&p).unwrap(), content(n), "{n}");
                v.push(n.to_string());
            }
        }
        v
    })
}

/// e2fsck's replay (`-E journal_only`: the log and nothing else), then a
/// full read-only check: clean.
fn e2fsck_replays_clean(img: &Path) {
    let out = Command::new("e2fsck")
        .args(["-E", "journal_only", "-y"])
        .arg(img)
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "e2fsck -E journal_only: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!needs_recovery(img), "e2fsck did not replay");
    assert_fsck_clean(img);
}

/// The image as a power cut right now would leave it: mkfs's image plus
/// every recorded write up to the last flush.
fn power_cut_image(m: &Mounted) -> PathBuf {
    use std::os::unix::fs::FileExt;
    let to = copy_beside(&m.base, "power-cut");
    let f = std::fs::OpenOptions::new().write(true).open(&to).unwrap();
    let events = m.log.events();
    let durable = events
        .iter()
        .rposition(|e| *e == IoEvent::Flush)
        .map_or(0, |i| i + 1);
    for e in &events[..durable] {
        if let IoEvent::Write { offset, data } = e {
            f.write_all_at(data, *offset).unwrap();
        }
    }
    to
}

/// Runs the scenario with `flags`: "early" before a durable commit,
/// "durable" committed durably, then "late" and "d" answered but only in
/// the redo log; shutdown; the views afterwards.
fn scenario(flags: u32) -> (Vec<String>, Vec<String>) {
    let m = mounted();
    let a = &m.a;
    let (n, fh) = make_file(a, "early", &content("early"));
    a.release(&me(), n, fh, 0).unwrap();
    let (n, fh) = make_file(a, "durable", &content("durable"));
    a.release(&me(), n, fh, 0).unwrap();
    a.syncfs(&me(), NodeId::ROOT).unwrap();
    let open = make_file(a, "late", &content("late"));
    a.mkdir(&me(), NodeId::ROOT, b"d", 0o755, 0).unwrap();

    assert_eq!(shutdown_via_dispatch(a, &me(), NodeId::ROOT, flags), 0);
    assert_stopped(&m, open);
    // What is durable: a power cut right after the ioctl returned.
    let cut = power_cut_image(&m);
    let in_cut = names_in_kernel(&cut);
    assert_fsck_clean(&cut);

    let ours = copy_beside(&m.img, "ours");
    let kernel = copy_beside(&m.img, "kernel");
    e2fsck_replays_clean(&copy_beside(&m.img, "e2fsck"));
    let in_ours = names_in_our_open(&ours);
    // Our replay takes the redo log too (same boot): every answered change.
    assert_eq!(in_ours, ["early", "durable", "late", "d"], "our open");
    let in_kernel = names_in_kernel(&kernel);
    assert_fsck_clean(&kernel);
    (in_kernel, in_cut)
}

#[test]
fn default_flushes_everything_then_stops() {
    let (kernel, cut) = scenario(0);
    assert_eq!(kernel, ["early", "durable", "late", "d"]);
    assert_eq!(cut, ["early", "durable", "late", "d"], "durable");
}

#[test]
fn logflush_makes_the_log_durable_then_stops() {
    let (kernel, cut) = scenario(1);
    assert_eq!(kernel, ["early", "durable", "late", "d"]);
    assert_eq!(cut, ["early", "durable", "late", "d"], "durable");
}

#[test]
fn nologflush_stops_at_once() {
    let (kernel, cut) = scenario(2);
    // The last durable commit, and nothing after it: no flush happened.
    assert_eq!(kernel, ["early", "durable"]);
    assert_eq!(cut, ["early", "durable"], "durable");
}

#[test]
fn default_leaves_nothing_to_replay() {
    // DEFAULT is a freeze: everything durable in place, so the image is
    // whole even read without its journal (debugfs ignores it).
    let m = mounted();
    let (n, fh) = make_file(&m.a, "early", &content("early"));
    m.a.release(&me(), n, fh, 0).unwrap();
    assert_eq!(shutdown_via_dispatch(&m.a, &me(), NodeId::ROOT, 0), 0);
    let cut = power_cut_image(&m);
    let ls = run("debugfs", &["-R", "ls -l /", cut.to_str().unwrap()]);
    assert!(ls.contains("early"), "{ls}");
}

#[test]
fn without_cap_sys_admin_eperm_and_nothing_changes() {
    let m = mounted();
    let a = &m.a;
    // A root process without CAP_SYS_ADMIN in any of its sets.
    let (mut child, ctx) = common::root_without_sys_admin();
    let r = shutdown_via_dispatch(a, &ctx, NodeId::ROOT, 2);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(r, -libc::EPERM);
    assert!(!a.fs().is_shut_down());
    let (n, fh) = make_file(a, "early", &content("early"));
    a.release(&me(), n, fh, 0).unwrap();
    a.fs().unmount_clean().unwrap();
    assert!(!needs_recovery(&m.img));
    assert_fsck_clean(&m.img);
}

#[test]
fn flags_above_2_are_einval_and_other_commands_enotty() {
    let m = mounted();
    let a = &m.a;
    assert_eq!(
        shutdown_via_dispatch(a, &me(), NodeId::ROOT, 3),
        -libc::EINVAL
    );
    assert!(!a.fs().is_shut_down());
    // `_IOR('f', 99, long)`: a command neither ext4 nor fuse4fs knows.
    let io = Ioctl {
        fh: FileHandle(0),
        flags: 0,
        cmd: 0x8008_6663,
        arg: 0,
        input: &[],
        out_size: 8,
    };
    assert_eq!(
        a.ioctl(&me(), NodeId::ROOT, &io).unwrap_err(),
        Errno::ENOTTY
    );
    // FS_IOC_GETFLAGS is served (docs/chattr.md): the root's flags, in
    // the 8 bytes asked for.
    let io = Ioctl {
        cmd: 0x8008_6601,
        ..io
    };
    let r = a.ioctl(&me(), NodeId::ROOT, &io).unwrap();
    assert_eq!(r.output.len(), 8);
    assert_eq!(r.output[..4], 0x80000u32.to_ne_bytes(), "EXT4_EXTENTS_FL");
    let (n, fh) = make_file(a, "early", &content("early"));
    a.release(&me(), n, fh, 0).unwrap();
    a.fs().unmount_clean().unwrap();
    assert_fsck_clean(&m.img);
}

#[test]
fn unjournaled_default_is_durable_and_left_not_clean() {
    // Without a journal every change is written in place at once: DEFAULT
    // and LOGFLUSH make that durable; the superblock stays "not clean"
    // (written at mount), so the next check is a full one.
    for flags in [0u32, 1] {
        let m = mounted_with(&["-b", "4096", "-O", "^has_journal"]);
        let a = &m.a;
        let (n, fh) = make_file(a, "early", &content("early"));
        a.release(&me(), n, fh, 0).unwrap();
        let open = make_file(a, "late", &content("late"));
        assert_eq!(shutdown_via_dispatch(a, &me(), NodeId::ROOT, flags), 0);
        assert_stopped(&m, open);
        let cut = power_cut_image(&m);
        let dump = run("dumpe2fs", &["-h", cut.to_str().unwrap()]);
        assert!(
            dump.contains("Filesystem state:         not clean"),
            "{dump}"
        );
        let ls = run("debugfs", &["-R", "ls -l /", cut.to_str().unwrap()]);
        assert!(ls.contains("early") && ls.contains("late"), "{ls}");
        let (_, text) = common::fsck(&cut);
        assert!(!text.contains("Fix? no"), "e2fsck -fn:\n{text}");
    }
}

/// An ioctl server that echoes its input, `extra` bytes longer.
struct Echo {
    extra: usize,
}

impl FuseOps for Echo {
    fn ioctl(
        &self,
        _ctx: &RequestCtx,
        _nodeid: NodeId,
        io: &Ioctl<'_>,
    ) -> fuse4fs::fuse::ops::OpResult<IoctlReply> {
        let mut output = io.input.to_vec();
        output.resize(output.len() + self.extra, 0xAB);
        Ok(IoctlReply {
            result: io.cmd as i32 & 0xff,
            output,
        })
    }
}

#[test]
fn ioctl_requests_carry_their_input_and_replies_stay_within_out_size() {
    let ioctl = |ops: &Echo, input: &[u8], in_size: u32, out_size: u32| {
        let arg = FuseIoctlIn {
            fh: FileHandle(3),
            flags: 0,
            cmd: 0xC018_5879, // FITRIM: _IOWR, 24 bytes
            arg: 0x1000,
            in_size,
            out_size,
        };
        let root = RequestCtx {
            unique: RequestId(5),
            uid: 0,
            gid: 0,
            pid: 0,
        };
        ioctl_via_dispatch(ops, &root, NodeId::ROOT, &arg, input)
    };
    let range: Vec<u8> = (0..24).collect();
    let body = ioctl(&Echo { extra: 0 }, &range, 24, 24).unwrap();
    let (out, rest) = FuseIoctlOut::read_from_prefix(&body).unwrap();
    assert_eq!(out.result, 0x79);
    assert_eq!((out.flags, out.in_iovs, out.out_iovs), (0, 0, 0));
    assert_eq!(rest, &range[..]);
    // More output than the caller takes: refused, not sent.
    assert_eq!(ioctl(&Echo { extra: 1 }, &range, 24, 24), Err(Errno::EIO));
    // Less input than announced: malformed.
    assert_eq!(
        ioctl(&Echo { extra: 0 }, &range[..8], 24, 24),
        Err(Errno::EINVAL)
    );
}
