//! Helpers shared by the integration tests that build images with
//! e2fsprogs and check them with e2fsck and dumpe2fs. Each test binary uses
//! a subset, hence the dead_code allowance.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use fuse4fs::fs::{Fs, FsOptions};
use fuse4fs::fuse::ids::RequestId;

#[allow(unused_imports)] // Each test binary uses a subset.
pub use fuse4fs_testkit::e2fs::have;

/// Runs `cmd args`, which must succeed; its standard output.
pub fn run(cmd: &str, args: &[&str]) -> String {
    fuse4fs_testkit::e2fs::run(Command::new(cmd).args(args))
}

/// `mkfs.ext4 -q -F ARGS DIR/img SIZE`; the image's path.
pub fn mkfs(dir: &Path, args: &[&str], size: &str) -> PathBuf {
    let img = dir.join("img");
    fuse4fs_testkit::e2fs::mkfs_ext4(&img, args, size);
    img
}

/// A request from root (uid 0, pid 1), for calling the adapter as the
/// kernel would.
pub fn root_ctx() -> fuse4fs::fuse::ops::RequestCtx {
    fuse4fs::fuse::ops::RequestCtx {
        unique: RequestId(1),
        uid: 0,
        gid: 0,
        pid: 1,
    }
}

/// Fails the test unless it runs as root; `why` says what needs it.
pub fn require_root(why: &str) {
    // SAFETY: a plain getter.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test needs root ({why})"
    );
}

/// A root process without CAP_SYS_ADMIN in any of its sets (a `sleep`
/// under setpriv, waited for until its exec happened, so that its
/// capabilities are the reduced ones), and a request from it. Kill the
/// child when done.
pub fn root_without_sys_admin() -> (std::process::Child, fuse4fs::fuse::ops::RequestCtx) {
    let child = Command::new("setpriv")
        .args([
            "--bounding-set=-sys_admin",
            "--inh-caps=-sys_admin",
            "sleep",
            "30",
        ])
        .spawn()
        .expect("setpriv (util-linux) is needed: scripts/install-deps");
    let status = format!("/proc/{}/status", child.id());
    for _ in 0..200 {
        if std::fs::read_to_string(&status).is_ok_and(|s| s.contains("Name:\tsleep")) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let ctx = fuse4fs::fuse::ops::RequestCtx {
        pid: child.id(),
        uid: 0,
        gid: 0,
        unique: RequestId(9),
    };
    (child, ctx)
}

/// Opens an image for writing.
pub fn open_rw(img: &Path) -> Fs {
    Fs::open(
        img,
        &FsOptions {
            writable: true,
            ..Default::default()
        },
    )
    .unwrap()
}

/// [`open_rw`], then mounted read-write (the journal running).
pub fn mount_rw(img: &Path) -> Fs {
    let fs = open_rw(img);
    fs.mount_rw().unwrap();
    fs
}

/// [`open_rw`], with every write and flush recorded in `log`, then
/// mounted read-write (the journal running).
pub fn mount_rw_recorded(img: &Path, log: &std::sync::Arc<fuse4fs::fs::io::log::IoLog>) -> Fs {
    let fs = Fs::open(
        img,
        &FsOptions {
            writable: true,
            io_log: Some(log.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    fs.mount_rw().unwrap();
    fs
}

/// `e2fsck -fn`: whether it found the image clean, and what it said.
pub fn fsck(img: &Path) -> (bool, String) {
    let (code, text) = fuse4fs_testkit::e2fs::e2fsck(img, "-fn");
    (code == 0, text)
}

/// Asserts `e2fsck -fn` finds the image clean.
pub fn assert_fsck_clean(img: &Path) {
    if let Err(text) = fuse4fs_testkit::e2fs::e2fsck_clean(img) {
        panic!("e2fsck -fn:\n{text}");
    }
}

/// Per group as dumpe2fs prints it: the "Group N: ... [FLAGS]" line and
/// the unused-inode count.
pub fn dumpe2fs_groups(img: &Path) -> Vec<(String, u32)> {
    let out = Command::new("dumpe2fs").arg(img).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut groups: Vec<(String, u32)> = Vec::new();
    for l in text.lines() {
        // "Group N: (Blocks ...)", not "Group descriptor size: ...".
        if l.strip_prefix("Group ")
            .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        {
            groups.push((l.to_string(), 0));
        } else if let (Some(g), Some(i)) = (groups.last_mut(), l.find(" unused inodes")) {
            g.1 = l[..i]
                .rsplit(' ')
                .next()
                .unwrap()
                .trim()
                .parse()
                .unwrap_or(0);
        }
    }
    groups
}

/// Numbers of the groups whose dumpe2fs line carries `flag`.
pub fn groups_flagged(img: &Path, flag: &str) -> Vec<u32> {
    dumpe2fs_groups(img)
        .iter()
        .enumerate()
        .filter(|(_, (line, _))| line.contains(flag))
        .map(|(g, _)| g as u32)
        .collect()
}

/// Mounts `img` read-only with the kernel's ext4 on a fresh directory,
/// runs `f` on the mountpoint, unmounts. None when loop mounts fail here.
pub fn with_kernel_mount<T>(img: &Path, f: impl FnOnce(&Path) -> T) -> Option<T> {
    let mnt = tempfile::tempdir().unwrap();
    let ok = Command::new("mount")
        .args(["-t", "ext4", "-o", "loop,ro"])
        .arg(img)
        .arg(mnt.path())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return None;
    }
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(mnt.path())));
    let _ = Command::new("umount").arg(mnt.path()).status();
    match r {
        Ok(v) => Some(v),
        Err(p) => std::panic::resume_unwind(p),
    }
}

/// Mounts `img` read-write with the kernel's ext4 (so that it replays a
/// journal itself: a read-only loop device cannot be recovered), runs `f`
/// on the mountpoint, unmounts. Panics when the mount fails.
pub fn with_kernel_mount_rw<T>(img: &Path, f: impl FnOnce(&Path) -> T) -> T {
    let mnt = tempfile::tempdir().unwrap();
    let ok = Command::new("mount")
        .args(["-t", "ext4", "-o", "loop"])
        .arg(img)
        .arg(mnt.path())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kernel mount of {}", img.display());
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(mnt.path())));
    let _ = Command::new("umount").arg(mnt.path()).status();
    r.unwrap_or_else(|p| std::panic::resume_unwind(p))
}

/// A copy of `img` named `name` beside it.
pub fn copy_beside(img: &Path, name: &str) -> PathBuf {
    let to = img.with_file_name(name);
    std::fs::copy(img, &to).unwrap();
    to
}

/// Whether `img`'s superblock has needs_recovery (incompat 0x4).
pub fn needs_recovery(img: &Path) -> bool {
    use std::os::unix::fs::FileExt;
    let mut b = [0u8; 4];
    std::fs::File::open(img)
        .unwrap()
        .read_exact_at(&mut b, 1024 + 0x60)
        .unwrap();
    u32::from_le_bytes(b) & 0x4 != 0
}

/// Mounts `ops` read-write (as `fsname`) on a fresh scratch mount point,
/// negotiates INIT with `config`, takes what the test needs from the
/// session with `inspect` (counters), serves on `workers` threads while
/// `f` runs on the mount point, and unmounts, also when `f` panics. A
/// test using it does not skip: no /dev/fuse is a broken test machine.
pub fn serve_scratch_mount<F, S>(
    fsname: &str,
    ops: std::sync::Arc<F>,
    config: &fuse4fs::fuse::InitConfig,
    workers: usize,
    inspect: impl FnOnce(&fuse4fs::fuse::Session<F>) -> S,
    f: impl FnOnce(&Path, &S),
) -> S
where
    F: fuse4fs::fuse::ops::FuseOps + Send + Sync + 'static,
{
    use fuse4fs::fuse::mount::{self, MountOptions};
    use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
        .expect("/dev/fuse is needed (scripts/install-deps; run as root)");
    let dir = tempfile::tempdir().unwrap();
    let mp = dir.path().join("mnt");
    std::fs::create_dir(&mp).unwrap();
    let opts = MountOptions {
        ro: false,
        fsname: fsname.into(),
        ..Default::default()
    };
    let fd = mount::mount(&mp, &opts).expect("mount");
    let session = match fuse4fs::fuse::Session::new(fd, ops, config) {
        Ok(s) => s,
        Err(e) => {
            let _ = mount::unmount(&mp);
            panic!("INIT failed: {e}");
        }
    };
    let seen = inspect(&session);
    let server = std::thread::spawn(move || session.run(workers));
    let outcome = catch_unwind(AssertUnwindSafe(|| f(&mp, &seen)));
    let unmounted = mount::unmount(&mp);
    let served = server.join();
    if let Err(e) = outcome {
        resume_unwind(e);
    }
    unmounted.expect("unmount");
    served.unwrap().expect("run() result");
    seen
}

/// The image a power cut leaves when only the first `n` writes reached
/// the disk.
pub fn power_cut(base: &[u8], events: &[fuse4fs::fs::io::log::IoEvent], n: usize, out: &Path) {
    let mut img = base.to_vec();
    let writes = events.iter().filter_map(|e| match e {
        fuse4fs::fs::io::log::IoEvent::Write { offset, data } => Some((*offset as usize, data)),
        _ => None,
    });
    for (o, data) in writes.take(n) {
        img[o..o + data.len()].copy_from_slice(data);
    }
    std::fs::write(out, img).unwrap();
}

/// A new node of `mode` owned by root, with no umask (the fs API's
/// create and mkdir argument).
pub fn root_node(mode: u16) -> fuse4fs::fs::create::NewNode {
    fuse4fs::fs::create::NewNode {
        mode,
        uid: 0,
        gid: 0,
        umask: 0,
        rdev: 0,
    }
}
