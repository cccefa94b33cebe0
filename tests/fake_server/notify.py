#!/usr/bin/env python3
"""A stand-in for the fuse4fs server, run by `fuse4fs --supervise` in
tests/integration/supervise.rs (through FUSE4FS_SUPERVISE_EXEC). It speaks the server's
side of the sd_notify fd-store protocol without mounting anything.

Each run writes $FAKE_DIR/run-N (KEY=VALUE lines): its pid, parent pid, arguments, the
LISTEN_* and NOTIFY_SOCKET variables, which fds below 10 are open, what fd
3 is and what fd 4 holds. $FAKE_MODE picks the behaviour (see below)."""
import os
import signal
import socket
import stat
import sys
import time

import ctypes

# Never outlive the holder (PR_SET_PDEATHSIG), even when a test fails.
ctypes.CDLL(None).prctl(1, signal.SIGKILL)
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
d = os.environ["FAKE_DIR"]
mode = os.environ["FAKE_MODE"]

# Before anything else opens an fd. Only below 10: an interpreter shim
# (pyenv's is a bash script) may leave its own fds at 10 and above.
open_fds = []
for fd in range(10):
    try:
        os.fstat(fd)
        open_fds.append(fd)
    except OSError:
        pass

n = len([f for f in os.listdir(d) if f.startswith("run-")]) + 1
report = {
    "pid": os.getpid(),
    "ppid": os.getppid(),
    "argv": " ".join(sys.argv[1:]),
    "time": time.monotonic(),
    "fds": ",".join(map(str, open_fds)),
    "notify": os.environ.get("NOTIFY_SOCKET"),
}
for k in ("LISTEN_FDS", "LISTEN_FDNAMES", "LISTEN_PID"):
    if k in os.environ:
        report[k] = os.environ[k]
if 3 in open_fds:
    st = os.fstat(3)
    report["fd3"] = f"fifo={stat.S_ISFIFO(st.st_mode)} ino={st.st_ino}"
if 4 in open_fds:
    report["fd4"] = os.pread(4, 100, 0).decode()
with open(f"{d}/run-{n}.tmp", "w") as f:
    f.writelines(f"{k}={v}\n" for k, v in report.items())
os.rename(f"{d}/run-{n}.tmp", f"{d}/run-{n}")

sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.connect(os.environ["NOTIFY_SOCKET"])


def notify(msg, fds=()):
    if fds:
        socket.send_fds(sock, [msg.encode()], list(fds))
    else:
        sock.send(msg.encode())


def store():
    """Stores the test's fifo as "fuse" and a memfd as "state"."""
    fifo = os.open(f"{d}/fifo", os.O_WRONLY)
    mem = os.memfd_create("state")
    os.write(mem, f"state from run {n}".encode())
    notify("FDSTORE=1\nFDNAME=fuse\nFDPOLL=0\n", [fifo])
    notify("FDSTORE=1\nFDNAME=state\nFDPOLL=0\n", [mem])


def crash():
    os.kill(os.getpid(), signal.SIGKILL)


def unmount():
    notify("FDSTOREREMOVE=1\nFDNAME=fuse\n")
    notify("FDSTOREREMOVE=1\nFDNAME=state\n")
    notify("STOPPING=1\n")
    sys.exit(0)


if mode == "fail":
    # A first start that fails (bad image): says why, exits non-zero.
    sys.stderr.write("fake: cannot open image\n")
    sys.exit(3)
elif mode == "clean":
    notify("READY=1\n")
    unmount()
elif mode == "crash":
    # Crashes after storing; the second run writes through fd 3.
    if n == 1:
        store()
        notify("READY=1\n")
        crash()
    os.write(3, f"hello from run {n}\n".encode())
    notify("READY=1\n")
    unmount()
elif mode == "backoff":
    # Crashes once ready, then four restarts die before READY=1.
    if n == 1:
        store()
        notify("READY=1\n")
        crash()
    if n < 6:
        sys.exit(1)
    notify("READY=1\n")
    unmount()
elif mode == "aborted":
    # The stored "connection" is dead once we die: a pipe whose only
    # reader goes with us polls POLLERR.
    r, w = os.pipe()
    notify("FDSTORE=1\nFDNAME=fuse\nFDPOLL=0\n", [w])
    notify("READY=1\n")
    crash()
elif mode == "recover":
    # The restarted server is slow to recover and dies of a SIGTERM that
    # arrives before it is ready (the holder must hold it back).
    if n == 1:
        store()
        notify("READY=1\n")
        crash()
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])
    open(f"{d}/recovering", "w").close()
    time.sleep(0.5)
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
    notify("READY=1\n")
    signal.sigwait([signal.SIGTERM])
    open(f"{d}/term", "w").close()
    unmount()
elif mode == "serve":
    # Slow to get ready; serves until SIGTERM, then unmounts cleanly.
    store()
    time.sleep(0.3)
    open(f"{d}/ready", "w").close()
    notify("READY=1\n")
    signal.sigwait([signal.SIGTERM])
    open(f"{d}/term", "w").close()
    unmount()
else:
    sys.exit(f"fake: unknown mode {mode}")
