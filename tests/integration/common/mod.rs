//! Helpers shared by the integration tests that build images with
//! e2fsprogs and check them with e2fsck and dumpe2fs. Each test module uses
//! a subset, hence the dead_code allowance.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use fuse4fs::ext4::InodeNo;
use fuse4fs::fs::{Fs, FsOptions};
use fuse4fs::fuse::ids::RequestId;

pub use fuse4fs_testkit::e2fs::require;

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

/// The inode of `name` in the root of `fs` (an image recovered after a
/// cut), which must hold at least `len` bytes: the bytes whose sync had
/// returned before the cut. `what` names the state in a failure.
pub fn synced_file(fs: &Fs, name: &str, len: u64, what: &str) -> fuse4fs::ext4::inode::Inode {
    let root = fs.inode(InodeNo::ROOT).unwrap();
    let found = fs
        .lookup(&root, name.as_bytes())
        .unwrap_or_else(|e| panic!("{what}: {name} missing ({e})"));
    let inode = fs.inode(found.ino).unwrap();
    assert!(
        inode.size >= len,
        "{what}: {name} has {} bytes, {len} were synced",
        inode.size
    );
    inode
}

/// Waits for `child` at most `limit`; None if it is still running.
pub fn wait_child(
    child: &mut std::process::Child,
    limit: std::time::Duration,
) -> Option<std::process::ExitStatus> {
    let t = std::time::Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        if t.elapsed() > limit {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Fails the test unless it may mount images with the kernel (root) and
/// `tools` are installed.
pub fn require_kernel_mounts(tools: &[&str]) {
    require_root("kernel mounts of the images");
    require(tools);
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

/// Opens `img` writable as a server restarted in another boot would
/// (boot id `boot`, not the one the image's pending-checkpoint marker
/// names): the replay goes no further than the kernel's would.
pub fn open_in_new_boot(img: &Path, boot: u8) -> Result<Fs, fuse4fs::fs::mount::open::OpenError> {
    Fs::open(
        img,
        &FsOptions {
            writable: true,
            boot_id: Some([boot; 16]),
            ..Default::default()
        },
    )
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
    kernel_mounted(img, "loop,ro", f)
}

/// Mounts `img` read-write with the kernel's ext4 (so that it replays a
/// journal itself: a read-only loop device cannot be recovered), runs `f`
/// on the mountpoint, unmounts. Panics when the mount fails.
pub fn with_kernel_mount_rw<T>(img: &Path, f: impl FnOnce(&Path) -> T) -> T {
    kernel_mounted(img, "loop", f).unwrap_or_else(|| panic!("kernel mount of {}", img.display()))
}

/// Mounts `img` with the kernel's ext4 and `opts` on a fresh directory,
/// runs `f` on the mountpoint and unmounts, also when `f` panics (the
/// panic goes on after). None when the mount fails (`f` not run).
fn kernel_mounted<T>(img: &Path, opts: &str, f: impl FnOnce(&Path) -> T) -> Option<T> {
    let mnt = tempfile::tempdir().unwrap();
    let ok = Command::new("mount")
        .args(["-t", "ext4", "-o", opts])
        .arg(img)
        .arg(mnt.path())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return None;
    }
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(mnt.path())));
    let _ = Command::new("umount").arg(mnt.path()).status();
    Some(r.unwrap_or_else(|p| std::panic::resume_unwind(p)))
}

/// Unmounts `mnt`, retrying for up to 5 s while something (udev's probes
/// of a new loop device) holds the mount briefly; panics if it stays.
pub fn umount_retrying(mnt: &Path) {
    let mut tries = 0;
    while !Command::new("umount").arg(mnt).status().unwrap().success() {
        tries += 1;
        assert!(tries < 20, "umount failed");
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

/// The FUSE_IOCTL message the kernel sends for `arg` on `nodeid` from
/// `ctx`, followed by `input` (what it copies in), through the session's
/// dispatch: the reply (a FuseIoctlOut, then the output), or the errno.
pub fn ioctl_via_dispatch<F: fuse4fs::fuse::ops::FuseOps + ?Sized>(
    ops: &F,
    ctx: &fuse4fs::fuse::ops::RequestCtx,
    nodeid: fuse4fs::fuse::ids::NodeId,
    arg: &fuse4fs::fuse::abi::FuseIoctlIn,
    input: &[u8],
) -> fuse4fs::fuse::ops::OpResult<Vec<u8>> {
    use fuse4fs::fuse::abi::FuseInHeader;
    use zerocopy::IntoBytes;
    let len = size_of::<FuseInHeader>() + size_of_val(arg) + input.len();
    let h = FuseInHeader {
        len: len as u32,
        opcode: fuse4fs::fuse::abi::opcode::FUSE_IOCTL,
        unique: ctx.unique,
        nodeid,
        uid: ctx.uid,
        gid: ctx.gid,
        pid: ctx.pid,
        total_extlen: 0,
        padding: 0,
    };
    let mut buf = h.as_bytes().to_vec();
    buf.extend_from_slice(arg.as_bytes());
    buf.extend_from_slice(input);
    let req = fuse4fs::fuse::request::Request::parse(&buf).unwrap();
    fuse4fs::fuse::dispatch::dispatch(ops, req, &fuse4fs::fuse::init::Negotiated::default())
        .expect("IOCTL takes a reply")
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

/// A session negotiating INIT with `config` on the FUSE connection `fd`
/// mounted at `mp`; when INIT fails, unmounts before panicking.
pub fn init_or_unmount<F>(
    fd: std::os::fd::OwnedFd,
    ops: std::sync::Arc<F>,
    config: &fuse4fs::fuse::InitConfig,
    mp: &Path,
) -> fuse4fs::fuse::Session<F>
where
    F: fuse4fs::fuse::ops::FuseOps,
{
    match fuse4fs::fuse::Session::new(fd, ops, config) {
        Ok(s) => s,
        Err(e) => {
            let _ = fuse4fs::fuse::mount::unmount(mp);
            panic!("INIT failed: {e}");
        }
    }
}

/// Serves `session` on `workers` threads while `f` runs, then unmounts
/// `mp` with `unmount`, also when `f` panics (its panic goes on once the
/// server had up to 5 s to stop). Asserts the unmount worked and the
/// session's run returned within 10 s of it, without error.
pub fn serve_while<F>(
    session: fuse4fs::fuse::Session<F>,
    workers: usize,
    mp: &Path,
    unmount: impl FnOnce(&Path) -> Result<(), fuse4fs::fuse::mount::MountError>,
    f: impl FnOnce(),
) where
    F: fuse4fs::fuse::ops::FuseOps + Send + Sync + 'static,
{
    use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
    use std::time::Duration;
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        let r = session.run(workers);
        let _ = done_tx.send(());
        r
    });
    let outcome = catch_unwind(AssertUnwindSafe(f));
    let unmounted = unmount(mp);
    if let Err(e) = outcome {
        let _ = done_rx.recv_timeout(Duration::from_secs(5));
        resume_unwind(e);
    }
    unmounted.expect("unmount");
    done_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("run() returns after unmount");
    server.join().unwrap().expect("run() result");
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
    let session = init_or_unmount(fd, ops, config, &mp);
    let seen = inspect(&session);
    serve_while(session, workers, &mp, mount::unmount, || f(&mp, &seen));
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
pub const fn root_node(mode: u16) -> fuse4fs::fs::create::NewNode {
    owned_node(mode, 0)
}

/// A new node of `mode` owned by `uid` and the group of that number, with
/// no umask.
pub const fn owned_node(mode: u16, uid: u32) -> fuse4fs::fs::create::NewNode {
    fuse4fs::fs::create::NewNode {
        mode,
        uid,
        gid: uid,
        umask: 0,
        rdev: 0,
    }
}

/// A new node of `mode` as an ordinary user (uid and gid 1000) makes it,
/// under umask 022.
pub const fn user_node(mode: u16) -> fuse4fs::fs::create::NewNode {
    fuse4fs::fs::create::NewNode {
        umask: 0o022,
        ..owned_node(mode, 1000)
    }
}

/// A regular file `name` in `dir` made by [`user_node`] with mode 0666
/// (0644 once the umask is applied); its inode number.
pub fn user_file(fs: &Fs, dir: InodeNo, name: &str) -> InodeNo {
    let new = user_node(fuse4fs::ext4::inode::mode::S_IFREG | 0o666);
    fs.make_node(dir, name.as_bytes(), &new).unwrap().ino
}

/// A directory `name` in `parent` made by [`user_node`] with mode 0777
/// (0755 once the umask is applied); its inode number.
pub fn user_dir(fs: &Fs, parent: InodeNo, name: &str) -> InodeNo {
    let new = user_node(fuse4fs::ext4::inode::mode::S_IFDIR | 0o777);
    fs.make_node(parent, name.as_bytes(), &new).unwrap().ino
}

/// Makes nodes `PREFIX0`, `PREFIX1`... of `mode` in `dir` (by
/// [`user_node`]) until the filesystem answers ENOSPC; how many it made.
pub fn fill_with_nodes(fs: &Fs, dir: InodeNo, prefix: &str, mode: u16) -> usize {
    let mut n = 0;
    loop {
        let name = format!("{prefix}{n}");
        match fs.make_node(dir, name.as_bytes(), &user_node(mode)) {
            Ok(_) => n += 1,
            Err(fuse4fs::fs::FsError::NoSpace) => return n,
            Err(e) => panic!("making {name}: {e}"),
        }
    }
}

/// The inode `name` in `dir` names.
pub fn lookup(fs: &Fs, dir: InodeNo, name: &str) -> fuse4fs::fs::Result<InodeNo> {
    fs.lookup(&fs.inode(dir).unwrap(), name.as_bytes())
        .map(|f| f.ino)
}
