//! `fuse4fs --supervise`: a small holder process that gives hosts without
//! systemd the same crash recovery. It speaks the server's side of the
//! sd_notify fd-store protocol: the server stores its /dev/fuse fd and its
//! state memfd here, and when it crashes the holder starts it again with
//! those fds (systemd's `LISTEN_FDS` convention), so the mount survives.
//!
//! The holder does no filesystem work and never touches FUSE itself; it
//! only keeps fds, restarts, forwards stop signals and relays the server's
//! stderr (so that a backgrounded holder leaves no caller's pipe open).

use std::ffi::{CString, OsStr, OsString};
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags,
    SocketAddrUnix, SocketFlags, SocketType,
};

use super::CliError;
use super::daemon::{self, Ready};

/// Test hook: when set, the holder runs this program as the server instead
/// of its own binary (the path `/proc/self/exe` names at start), with the same arguments.
pub const EXEC_ENV: &str = "FUSE4FS_SUPERVISE_EXEC";

/// Delay before restarting a server that died before it was ready; it
/// doubles with each such death up to [`MAX_DELAY`], so that a server that
/// cannot start does not spin, and resets once a server is ready.
const FIRST_DELAY: Duration = Duration::from_millis(10);
/// Longest delay between restarts.
const MAX_DELAY: Duration = Duration::from_secs(1);
/// Most fds held at once: the server stores two; a bound keeps a confused
/// sender from exhausting the holder's fd table.
const MAX_STORED: usize = 16;
/// Most fds taken from one datagram (more are closed by the kernel).
const MAX_FDS_PER_MSG: usize = 16;
/// systemd's name for fds stored without `FDNAME=`.
const DEFAULT_NAME: &str = "stored";

/// Runs the holder for `fuse4fs --supervise …`. `options` are the `-o`
/// arguments (only `logfile=` matters here), `foreground_flag` whether `-f`
/// was given, `debug` whether `-d` was. Without `-f`/`-d` it returns in
/// the calling process only once the mount is live, like plain fuse4fs.
pub fn run(options: &[String], foreground_flag: bool, debug: bool) -> Result<(), CliError> {
    let opts = super::Options::parse(options)?;
    if opts.io_uring {
        return Err(CliError::Usage(super::options::IO_URING_NO_RECOVERY.into()));
    }
    super::init_logging(debug, foreground_flag || debug);
    let launch = Launch::new(server_args(std::env::args_os(), foreground_flag))?;
    let ready = if foreground_flag || debug {
        None
    } else {
        Some(daemon::daemonize(opts.logfile.as_deref())?)
    };
    let dir = tempfile::Builder::new()
        .prefix("fuse4fs-supervise-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir_in(runtime_dir())?;
    let end = Holder::new(launch, dir.path(), ready).and_then(|mut h| h.run());
    // Removes the socket directory before leaving, whichever way we leave.
    drop(dir);
    match end? {
        End::Clean => Ok(()),
        End::Failed(Some(why)) => Err(CliError::Usage(why)),
        // The server already said why on stderr.
        End::Failed(None) => std::process::exit(1),
    }
}

/// Where the socket directory goes: the user's runtime directory if there
/// is one (private, cleaned at logout), else the temporary directory.
fn runtime_dir() -> PathBuf {
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute() && p.is_dir())
        .unwrap_or_else(std::env::temp_dir)
}

/// The server's argument list: ours without `--supervise` and with `-f`
/// (the server must stay the holder's child). Everything after `--` is
/// left alone.
fn server_args(args: impl IntoIterator<Item = OsString>, has_f: bool) -> Vec<OsString> {
    let mut it = args.into_iter();
    let mut out: Vec<OsString> = it.next().into_iter().collect();
    if !has_f {
        out.push("-f".into());
    }
    let mut literal = false;
    for a in it {
        if !literal && a == "--supervise" {
            continue;
        }
        literal |= a == "--";
        out.push(a);
    }
    out
}

/// How the holder ends.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// The server unmounted and exited 0.
    Clean,
    /// Exit 1, printing the message if any.
    Failed(Option<String>),
}

/// One sd_notify datagram, reduced to the keys the holder acts on.
#[derive(Debug, Default, PartialEq, Eq)]
struct Notify {
    fdstore: bool,
    fdstore_remove: bool,
    fdname: Option<String>,
    ready: bool,
}

impl Notify {
    /// Parses `KEY=VALUE` lines; unknown keys and lines without `=` are
    /// ignored, as systemd does.
    fn parse(msg: &[u8]) -> Notify {
        let mut n = Notify::default();
        for line in msg.split(|&b| b == b'\n') {
            let Some(eq) = line.iter().position(|&b| b == b'=') else {
                continue;
            };
            let (key, value) = (&line[..eq], &line[eq + 1..]);
            match key {
                b"FDSTORE" => n.fdstore = value == b"1",
                b"FDSTOREREMOVE" => n.fdstore_remove = value == b"1",
                b"FDNAME" => n.fdname = Some(String::from_utf8_lossy(value).into_owned()),
                b"READY" => n.ready = value == b"1",
                _ => {}
            }
        }
        n
    }
}

/// A name that can travel in `LISTEN_FDNAMES` (systemd's rule: printable
/// ASCII without `:`, at most 255 bytes).
fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 255 && name.bytes().all(|b| b.is_ascii_graphic() && b != b':')
}

/// The fds the server stored, in the order they were stored.
#[derive(Debug, Default)]
struct FdStore {
    entries: Vec<(String, OwnedFd)>,
}

impl FdStore {
    /// Applies one message with the fds that came with it; fds not meant
    /// for the store are closed. Returns whether it said `READY=1`.
    fn apply(&mut self, n: &Notify, fds: Vec<OwnedFd>) -> bool {
        let name = n.fdname.as_deref().unwrap_or(DEFAULT_NAME);
        // systemd needs a name to remove; a nameless remove does nothing.
        if n.fdstore_remove
            && let Some(name) = &n.fdname
        {
            self.entries.retain(|(k, _)| k != name);
        }
        if n.fdstore && !fds.is_empty() {
            if !valid_name(name) {
                tracing::warn!("supervise: fd name {name:?} refused; fds closed");
            } else {
                self.entries.retain(|(k, _)| k != name);
                if self.entries.len() + fds.len() > MAX_STORED {
                    tracing::warn!("supervise: more than {MAX_STORED} fds to store; {name} closed");
                } else {
                    self.entries
                        .extend(fds.into_iter().map(|fd| (name.to_string(), fd)));
                }
            }
        }
        n.ready
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `LISTEN_FDNAMES`: the names in fd order, joined by `:`.
    fn names(&self) -> String {
        let names: Vec<&str> = self.entries.iter().map(|(k, _)| k.as_str()).collect();
        names.join(":")
    }

    fn get(&self, name: &str) -> Option<BorrowedFd<'_>> {
        self.entries
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, fd)| fd.as_fd())
    }

    fn fds(&self) -> impl Iterator<Item = BorrowedFd<'_>> {
        self.entries.iter().map(|(_, fd)| fd.as_fd())
    }
}

/// True once the kernel has torn the connection down (unmounted or
/// aborted): a /dev/fuse fd then polls POLLERR, and a new server could
/// serve nothing through it.
fn connection_gone(fd: BorrowedFd<'_>) -> bool {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        // POLLERR and POLLHUP are reported whatever is asked for.
        events: 0,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no wait.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n == 1 && p.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0
}

/// "status N" or "signal N" for a wait status.
fn describe(status: i32) -> String {
    if libc::WIFSIGNALED(status) {
        format!("signal {}", libc::WTERMSIG(status))
    } else {
        format!("status {}", libc::WEXITSTATUS(status))
    }
}

fn cstring(b: &[u8]) -> Result<CString, CliError> {
    CString::new(b).map_err(|_| CliError::Usage("argument or environment with a NUL byte".into()))
}

/// What is needed to start the server, prepared once.
struct Launch {
    exe: CString,
    argv: Vec<CString>,
    /// Our environment without the variables the holder sets itself.
    env: Vec<Vec<u8>>,
}

impl Launch {
    fn new(args: Vec<OsString>) -> Result<Launch, CliError> {
        // The binary's path, not /proc/self/exe: exec'd through that
        // magic link the server would be called "exe" in ps and pgrep.
        let exe = std::env::var_os(EXEC_ENV)
            .or_else(|| std::env::current_exe().ok().map(Into::into))
            .unwrap_or_else(|| "/proc/self/exe".into());
        let argv = args
            .iter()
            .map(|a| cstring(a.as_bytes()))
            .collect::<Result<_, _>>()?;
        let ours = |k: &OsStr| {
            k == "NOTIFY_SOCKET"
                || k == "LISTEN_FDS"
                || k == "LISTEN_PID"
                || k == "LISTEN_FDNAMES"
                || k == super::server_record::HOLDER_ENV
        };
        let env = std::env::vars_os()
            .filter(|(k, _)| !ours(k))
            .map(|(k, v)| [k.as_bytes(), b"=", v.as_bytes()].concat())
            .collect();
        Ok(Launch {
            exe: cstring(exe.as_bytes())?,
            argv,
            env,
        })
    }

    /// Forks and execs the server with `NOTIFY_SOCKET=socket`, stdin and
    /// stdout on `null`, stderr on `stderr`, and the stored fds at 3, 4, …
    /// with `LISTEN_*` set when there are any.
    fn spawn(
        &self,
        socket: &Path,
        store: &FdStore,
        null: BorrowedFd<'_>,
        stderr: BorrowedFd<'_>,
    ) -> Result<libc::pid_t, CliError> {
        let n = store.len();
        // Copies above every target number, so that no dup2 in the child
        // overwrites a source it still needs; close-on-exec, so that only
        // the targets reach the server.
        let high = |fd: BorrowedFd<'_>| -> Result<OwnedFd, CliError> {
            Ok(rustix::io::fcntl_dupfd_cloexec(fd, (3 + n) as RawFd)
                .map_err(std::io::Error::from)?)
        };
        let null = high(null)?;
        let stderr = high(stderr)?;
        let stored: Vec<OwnedFd> = store.fds().map(high).collect::<Result<_, _>>()?;
        let stored_raw: Vec<RawFd> = stored.iter().map(|f| f.as_raw_fd()).collect();

        let mut env = self.env.clone();
        env.push([b"NOTIFY_SOCKET=".as_slice(), socket.as_os_str().as_bytes()].concat());
        // The server records the holder beside itself for `fuse4fs -u`,
        // which waits for both.
        env.push(
            format!(
                "{}={}",
                super::server_record::HOLDER_ENV,
                std::process::id()
            )
            .into_bytes(),
        );
        // The pid is only known in the child: room for its digits and the
        // NUL is made here, the digits are written there (no allocation
        // between fork and exec).
        let mut pid_slot: Option<*mut u8> = None;
        if n > 0 {
            env.push(format!("LISTEN_FDS={n}").into_bytes());
            env.push(format!("LISTEN_FDNAMES={}", store.names()).into_bytes());
            let mut e = b"LISTEN_PID=".to_vec();
            e.extend_from_slice(&[0u8; 21]);
            env.push(e);
        }
        for e in &mut env {
            if !e.ends_with(&[0]) {
                e.push(0);
            }
        }
        if n > 0 {
            let last = env.last_mut().expect("LISTEN_PID pushed");
            pid_slot = Some(last[b"LISTEN_PID=".len()..].as_mut_ptr());
        }
        let envp: Vec<*const libc::c_char> = env
            .iter()
            .map(|e| e.as_ptr().cast())
            .chain(std::iter::once(std::ptr::null()))
            .collect();
        let argv: Vec<*const libc::c_char> = self
            .argv
            .iter()
            .map(|a| a.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect();

        // SAFETY: the holder is single-threaded; the child only makes
        // async-signal-safe calls on memory prepared above, then execs or
        // _exits.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        if pid == 0 {
            // SAFETY: see above; every pointer stays valid in the child.
            unsafe {
                let mut none: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut none);
                libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
                // Rust ignores SIGPIPE and an ignored signal survives exec.
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
                libc::dup2(null.as_raw_fd(), 0);
                libc::dup2(null.as_raw_fd(), 1);
                libc::dup2(stderr.as_raw_fd(), 2);
                for (i, &fd) in stored_raw.iter().enumerate() {
                    // dup2 leaves the new fd without close-on-exec.
                    libc::dup2(fd, 3 + i as RawFd);
                }
                // Only the stored fds pass: not what the holder inherited
                // (such as the pipe its waiting parent reads, which must
                // close when the holder dies).
                libc::syscall(
                    libc::SYS_close_range,
                    3 + n as libc::c_uint,
                    libc::c_uint::MAX,
                    0,
                );
                if let Some(slot) = pid_slot {
                    write_decimal(libc::getpid() as u32, slot);
                }
                libc::execve(self.exe.as_ptr(), argv.as_ptr(), envp.as_ptr());
                let msg = b"fuse4fs: supervise: cannot run the server\n";
                libc::write(2, msg.as_ptr().cast(), msg.len());
                libc::_exit(127);
            }
        }
        Ok(pid)
    }
}

/// Writes `v` in decimal and a NUL at `out` (room for 21 bytes).
///
/// # Safety
/// `out` must point at 21 writable bytes. Async-signal-safe.
unsafe fn write_decimal(mut v: u32, out: *mut u8) {
    let mut digits = [0u8; 10];
    let mut n = 0;
    loop {
        digits[n] = b'0' + (v % 10) as u8;
        n += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for i in 0..n {
        // SAFETY: n <= 10 < 21.
        unsafe { *out.add(i) = digits[n - 1 - i] };
    }
    // SAFETY: as above.
    unsafe { *out.add(n) = 0 };
}

/// A stop signal (SIGTERM, SIGINT, SIGHUP) and where it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    None,
    /// Held back until the recovering server is ready: killing it half
    /// way would lose the mount.
    Pending(i32),
    Forwarded,
}

/// The holder's state.
struct Holder {
    launch: Launch,
    socket_path: PathBuf,
    sock: OwnedFd,
    sigfd: OwnedFd,
    null: OwnedFd,
    /// The server's stderr: we read `err_r` and copy to our own stderr;
    /// `err_w` is kept so that the pipe never reports end of file.
    err_r: OwnedFd,
    err_w: OwnedFd,
    store: FdStore,
    server: Option<libc::pid_t>,
    /// The running server has sent READY=1.
    server_ready: bool,
    restart_at: Option<Instant>,
    delay: Duration,
    /// Releases the waiting parent at the first READY=1 (background mode).
    ready: Option<Ready>,
    stop: Stop,
}

impl Holder {
    fn new(launch: Launch, dir: &Path, ready: Option<Ready>) -> Result<Holder, CliError> {
        let io = |e: rustix::io::Errno| CliError::Io(e.into());
        // Signals come through a signalfd so that the single loop below
        // sees them with the socket and the child's exit.
        // SAFETY: plain signal-mask calls on a zeroed sigset_t.
        let sigfd = unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for s in [libc::SIGCHLD, libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
                libc::sigaddset(&mut set, s);
            }
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
            if fd < 0 {
                return Err(std::io::Error::last_os_error().into());
            }
            OwnedFd::from_raw_fd(fd)
        };
        let socket_path = dir.join("notify");
        let sock = rustix::net::socket_with(
            AddressFamily::UNIX,
            SocketType::DGRAM,
            SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
            None,
        )
        .map_err(io)?;
        rustix::net::bind(&sock, &SocketAddrUnix::new(&socket_path).map_err(io)?).map_err(io)?;
        let null = rustix::fs::open(
            "/dev/null",
            rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(io)?;
        let (err_r, err_w) =
            rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(io)?;
        rustix::fs::fcntl_setfl(&err_r, rustix::fs::OFlags::NONBLOCK).map_err(io)?;
        Ok(Holder {
            launch,
            socket_path,
            sock,
            sigfd,
            null,
            err_r,
            err_w,
            store: FdStore::default(),
            server: None,
            server_ready: false,
            restart_at: None,
            delay: FIRST_DELAY,
            ready,
            stop: Stop::None,
        })
    }

    fn start(&mut self) -> Result<(), CliError> {
        let pid = self.launch.spawn(
            &self.socket_path,
            &self.store,
            self.null.as_fd(),
            self.err_w.as_fd(),
        )?;
        self.server = Some(pid);
        self.server_ready = false;
        self.restart_at = None;
        Ok(())
    }

    fn run(&mut self) -> Result<End, CliError> {
        self.start()?;
        loop {
            let timeout = match self.restart_at {
                Some(at) => at
                    .saturating_duration_since(Instant::now())
                    .as_millis()
                    .min(i32::MAX as u128) as i32,
                None => -1,
            };
            let mut fds = [
                libc::pollfd {
                    fd: self.sock.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: self.sigfd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: self.err_r.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            // SAFETY: a valid array of pollfds.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e.into());
            }
            if fds[2].revents != 0 {
                self.relay_stderr();
            }
            if fds[0].revents != 0 {
                self.receive()?;
            }
            if fds[1].revents != 0
                && let Some(end) = self.signals()?
            {
                self.relay_stderr();
                return Ok(end);
            }
            if self.restart_at.is_some_and(|at| Instant::now() >= at) {
                self.start()?;
            }
        }
    }

    /// Copies what the server wrote to its stderr to ours (which, once we
    /// are in the background, is the log file or /dev/null).
    fn relay_stderr(&self) {
        let mut buf = [0u8; 4096];
        while let Ok(n) = rustix::io::read(&self.err_r, &mut buf) {
            if n == 0 {
                break;
            }
            let _ = std::io::stderr().write_all(&buf[..n]);
        }
    }

    /// Takes every queued datagram.
    fn receive(&mut self) -> Result<(), CliError> {
        let mut buf = [0u8; 4096];
        let mut space = [std::mem::MaybeUninit::<u8>::uninit();
            rustix::cmsg_space!(ScmRights(MAX_FDS_PER_MSG))];
        loop {
            let mut control = RecvAncillaryBuffer::new(&mut space);
            let r = rustix::net::recvmsg(
                &self.sock,
                &mut [std::io::IoSliceMut::new(&mut buf)],
                &mut control,
                RecvFlags::CMSG_CLOEXEC | RecvFlags::DONTWAIT,
            );
            let msg = match r {
                Ok(m) => m,
                Err(rustix::io::Errno::AGAIN) => return Ok(()),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(CliError::Io(e.into())),
            };
            let mut fds = Vec::new();
            for m in control.drain() {
                if let RecvAncillaryMessage::ScmRights(rights) = m {
                    fds.extend(rights);
                }
            }
            if msg.flags.contains(ReturnFlags::CTRUNC) {
                tracing::warn!("supervise: a message carried more than {MAX_FDS_PER_MSG} fds");
            }
            let n = Notify::parse(&buf[..msg.bytes.min(buf.len())]);
            if self.store.apply(&n, fds) {
                self.on_ready();
            }
        }
    }

    fn on_ready(&mut self) {
        self.server_ready = true;
        self.delay = FIRST_DELAY;
        if let Some(ready) = self.ready.take() {
            ready.signal();
        }
        if let Stop::Pending(sig) = self.stop {
            self.forward(sig);
        }
    }

    fn forward(&mut self, sig: i32) {
        if let Some(pid) = self.server {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(pid, sig) };
        }
        self.stop = Stop::Forwarded;
    }

    /// Handles queued signals; returns how the holder ends, if it does.
    fn signals(&mut self) -> Result<Option<End>, CliError> {
        let mut info = std::mem::MaybeUninit::<libc::signalfd_siginfo>::uninit();
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        loop {
            // SAFETY: reads at most one siginfo into `info`.
            let n = unsafe { libc::read(self.sigfd.as_raw_fd(), info.as_mut_ptr().cast(), size) };
            if n != size as isize {
                return Ok(None);
            }
            // SAFETY: the kernel filled it.
            let sig = unsafe { info.assume_init_ref() }.ssi_signo as i32;
            let end = if sig == libc::SIGCHLD {
                self.reap()?
            } else {
                self.on_stop(sig)
            };
            if end.is_some() {
                return Ok(end);
            }
        }
    }

    fn on_stop(&mut self, sig: i32) -> Option<End> {
        let Some(_) = self.server else {
            return Some(End::Failed(Some(format!(
                "signal {sig} while the server was down after a crash: the mount is left without a server"
            ))));
        };
        match self.stop {
            // A second signal is forwarded at once: the user insists.
            Stop::Pending(_) => self.forward(sig),
            _ if self.server_ready || self.store.is_empty() => self.forward(sig),
            _ => {
                tracing::info!("signal {sig}: forwarded once the server has recovered");
                self.stop = Stop::Pending(sig);
            }
        }
        None
    }

    /// Collects the server's exit, if it has exited, and decides.
    fn reap(&mut self) -> Result<Option<End>, CliError> {
        let Some(pid) = self.server else {
            return Ok(None);
        };
        let mut status = 0;
        // SAFETY: waits for our own child without blocking.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == 0 {
            return Ok(None);
        }
        if r < 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        self.server = None;
        // Whatever it sent before dying is queued: take it before deciding.
        self.receive()?;
        self.relay_stderr();
        Ok(self.after_exit(status))
    }

    fn after_exit(&mut self, status: i32) -> Option<End> {
        if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
            return Some(End::Clean);
        }
        let how = describe(status);
        if self.stop != Stop::None {
            return Some(End::Failed(Some(format!(
                "server exited with {how} while stopping"
            ))));
        }
        if self.store.is_empty() {
            // A start that failed before the mount was live: the server
            // printed why, unless a signal killed it.
            return Some(End::Failed(
                libc::WIFSIGNALED(status).then(|| format!("server killed by {how}")),
            ));
        }
        if self.store.get("fuse").is_some_and(connection_gone) {
            return Some(End::Failed(Some(format!(
                "server exited with {how} and the FUSE connection is gone (unmounted or aborted): nothing to recover"
            ))));
        }
        tracing::info!(
            "server exited with {how}; restarting with {} stored fds",
            self.store.len()
        );
        let now = Instant::now();
        if self.server_ready {
            self.restart_at = Some(now);
        } else {
            self.restart_at = Some(now + self.delay);
            self.delay = (self.delay * 2).min(MAX_DELAY);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipe() -> (OwnedFd, OwnedFd) {
        let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
        rustix::fs::fcntl_setfl(&r, rustix::fs::OFlags::NONBLOCK).unwrap();
        (r, w)
    }

    /// True when every write end of the pipe is closed.
    fn writer_closed(r: &OwnedFd) -> bool {
        let mut b = [0u8; 1];
        matches!(rustix::io::read(r, &mut b), Ok(0))
    }

    fn store_msg(name: &str) -> Notify {
        Notify::parse(format!("FDSTORE=1\nFDNAME={name}\nFDPOLL=0\n").as_bytes())
    }

    #[test]
    fn parses_protocol_lines() {
        assert_eq!(
            Notify::parse(b"FDSTORE=1\nFDNAME=fuse\nFDPOLL=0\n"),
            Notify {
                fdstore: true,
                fdname: Some("fuse".into()),
                ..Default::default()
            }
        );
        assert_eq!(
            Notify::parse(b"FDSTOREREMOVE=1\nFDNAME=state"),
            Notify {
                fdstore_remove: true,
                fdname: Some("state".into()),
                ..Default::default()
            }
        );
        assert!(Notify::parse(b"READY=1\n").ready);
        assert!(!Notify::parse(b"READY=0\n").ready);
        assert!(!Notify::parse(b"XREADY=1\nREADY\nSTATUS=READY=1\n").ready);
        assert_eq!(Notify::parse(b"STOPPING=1\nnonsense"), Notify::default());
    }

    #[test]
    fn stores_replaces_and_removes() {
        let mut s = FdStore::default();
        let (r1, w1) = pipe();
        let (r2, w2) = pipe();
        let (r3, w3) = pipe();
        assert!(!s.apply(&store_msg("fuse"), vec![w1]));
        assert!(!s.apply(&store_msg("state"), vec![w2]));
        assert_eq!(s.names(), "fuse:state");
        assert!(!writer_closed(&r1) && !writer_closed(&r2));
        // A second fd under a held name replaces the first, which closes.
        s.apply(&store_msg("fuse"), vec![w3]);
        assert!(writer_closed(&r1));
        assert!(!writer_closed(&r3));
        assert_eq!(s.names(), "state:fuse");
        assert_eq!(s.len(), 2);
        s.apply(&Notify::parse(b"FDSTOREREMOVE=1\nFDNAME=state\n"), vec![]);
        assert!(writer_closed(&r2));
        assert_eq!(s.names(), "fuse");
        // Without a name nothing is removed.
        s.apply(&Notify::parse(b"FDSTOREREMOVE=1\n"), vec![]);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn closes_fds_not_meant_for_the_store() {
        let mut s = FdStore::default();
        let (r1, w1) = pipe();
        assert!(s.apply(&Notify::parse(b"READY=1\nFDNAME=x\n"), vec![w1]));
        assert!(writer_closed(&r1));
        let (r2, w2) = pipe();
        s.apply(&store_msg("a:b"), vec![w2]);
        assert!(writer_closed(&r2));
        assert!(s.is_empty());
        let (_r3, w3) = pipe();
        s.apply(&Notify::parse(b"FDSTORE=1\n"), vec![w3]);
        assert_eq!(s.names(), "stored");
    }

    #[test]
    fn caps_the_store() {
        let mut s = FdStore::default();
        let mut readers = Vec::new();
        for i in 0..=MAX_STORED {
            let (r, w) = pipe();
            readers.push(r);
            s.apply(&store_msg(&format!("n{i}")), vec![w]);
        }
        assert_eq!(s.len(), MAX_STORED);
        assert!(writer_closed(readers.last().unwrap()));
    }

    #[test]
    fn server_arguments() {
        let a = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            server_args(
                a(&["fuse4fs", "--supervise", "-o", "rw", "img", "mnt"]),
                false
            ),
            a(&["fuse4fs", "-f", "-o", "rw", "img", "mnt"])
        );
        assert_eq!(
            server_args(a(&["fuse4fs", "-f", "img", "--supervise", "mnt"]), true),
            a(&["fuse4fs", "-f", "img", "mnt"])
        );
        assert_eq!(
            server_args(
                a(&["fuse4fs", "--supervise", "--", "--supervise", "m"]),
                false
            ),
            a(&["fuse4fs", "-f", "--", "--supervise", "m"])
        );
    }

    #[test]
    fn decimal_pid() {
        for (v, s) in [
            (0u32, "0"),
            (7, "7"),
            (4194304, "4194304"),
            (u32::MAX, "4294967295"),
        ] {
            let mut buf = [0xffu8; 21];
            // SAFETY: 21 bytes.
            unsafe { write_decimal(v, buf.as_mut_ptr()) };
            assert_eq!(&buf[..s.len()], s.as_bytes());
            assert_eq!(buf[s.len()], 0);
        }
    }

    #[test]
    fn exit_decisions() {
        let (r, w) = pipe();
        let mut h = FdStoreOnly::new();
        // Nothing stored: a failed first start, already explained.
        assert_eq!(h.decide(1 << 8), Some(End::Failed(None)));
        assert_eq!(h.decide(0), Some(End::Clean));
        h.0.store.apply(&store_msg("fuse"), vec![w]);
        assert_eq!(h.decide(9), None);
        assert!(h.0.restart_at.is_some());
        drop(r);
        // The reader is gone: the stored "connection" polls POLLERR.
        assert!(matches!(h.decide(9), Some(End::Failed(Some(_)))));
    }

    /// A holder with no server, for exercising `after_exit`.
    struct FdStoreOnly(Holder);

    impl FdStoreOnly {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let launch = Launch::new(vec!["x".into()]).unwrap();
            let h = Holder::new(launch, dir.path(), None).unwrap();
            FdStoreOnly(h)
        }

        fn decide(&mut self, status: i32) -> Option<End> {
            self.0.after_exit(status)
        }
    }
}
