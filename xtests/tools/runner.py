#!/usr/bin/env python3
"""Run one xtests test script under a timeout, as a child subreaper.

usage: runner.py --timeout SECS --test-dir DIR --stdout F --stderr F -- CMD...

* The test runs in its own session/process group.
* This process is a child subreaper (PR_SET_CHILD_SUBREAPER): a daemon that
  forks into the background (fuse4fs without -f) becomes our child when its
  parent exits, so we can reap it and record its exit status.  Each reaped
  orphan is appended to DIR/.reaped as "PID STATUS" (STATUS is the exit
  code, or 128+signal).  common/rc waits on that file in _fuse4fs_unmount.
* On timeout the test's process group gets SIGTERM, then SIGKILL.
* Whatever happens, afterwards every mount under DIR is cleaned up (FUSE
  connections aborted, lazy unmount), loop devices backed by files under DIR
  are detached and all remaining descendants are killed and reaped.

Exit status: the test's exit status, or 124 if it timed out.
"""
import argparse
import ctypes
import os
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def log(msg):
    sys.stderr.write("runner: %s\n" % msg)
    sys.stderr.flush()


def status_code(st):
    if os.WIFEXITED(st):
        return os.WEXITSTATUS(st)
    if os.WIFSIGNALED(st):
        return 128 + os.WTERMSIG(st)
    return 255


def unescape_mountinfo(s):
    # mountinfo escapes space, tab, newline and backslash as \ooo
    out = bytearray()
    b = s.encode("utf-8", "surrogateescape")
    i = 0
    while i < len(b):
        if b[i:i + 1] == b"\\" and i + 4 <= len(b) and b[i + 1:i + 4].isdigit():
            out.append(int(b[i + 1:i + 4], 8))
            i += 4
        else:
            out.append(b[i])
            i += 1
    return out.decode("utf-8", "surrogateescape")


def mounts_under(root):
    """(mountpoint, fstype, major:minor) under root, deepest first."""
    res = []
    root = os.path.realpath(root)
    try:
        with open("/proc/self/mountinfo") as f:
            lines = f.readlines()
    except OSError:
        return res
    for line in lines:
        parts = line.split()
        sep = parts.index("-")
        mnt = unescape_mountinfo(parts[4])
        fstype = parts[sep + 1]
        if mnt == root or mnt.startswith(root + "/"):
            res.append((mnt, fstype, parts[2]))
    res.sort(key=lambda m: -len(m[0]))
    return res


def abort_fuse(devno):
    minor = devno.split(":")[1]
    path = "/sys/fs/fuse/connections/%s/abort" % minor
    try:
        with open(path, "w") as f:
            f.write("1")
        return True
    except OSError:
        return False


def children_of(pid):
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        # field 4 (ppid) follows the ")" that ends the command name
        rest = st[st.rindex(")") + 2:].split()
        if int(rest[1]) == pid:
            kids.append(int(d))
    return kids


class Reaper:
    def __init__(self, reaped_file, main_pid):
        self.reaped_file = reaped_file
        self.main_pid = main_pid
        self.main_status = None

    def reap(self):
        while True:
            try:
                pid, st = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            code = status_code(st)
            if pid == self.main_pid:
                self.main_status = code
            else:
                with open(self.reaped_file, "a") as f:
                    f.write("%d %d\n" % (pid, code))


def cleanup(test_dir, reaper, report):
    # 1. kill FUSE connections and unmount everything below test_dir
    for _ in range(3):
        ms = mounts_under(test_dir)
        if not ms:
            break
        for mnt, fstype, devno in ms:
            if report:
                log("left mounted: %s (%s)" % (mnt, fstype))
            if fstype.startswith("fuse"):
                abort_fuse(devno)
            subprocess.run(["umount", "-l", mnt], stderr=subprocess.DEVNULL)
    # 2. kill remaining descendants (they are our children now)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        kids = children_of(os.getpid())
        if not kids:
            break
        for k in kids:
            if report:
                try:
                    with open("/proc/%d/cmdline" % k, "rb") as f:
                        cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
                except OSError:
                    cmd = "?"
                log("killing leftover process %d (%s) with %s" % (k, cmd.strip(), sig.name))
            try:
                os.kill(k, sig)
                os.kill(k, signal.SIGCONT)   # a stopped process ignores TERM
            except ProcessLookupError:
                pass
        deadline = time.time() + 5
        while time.time() < deadline and children_of(os.getpid()):
            reaper.reap()
            time.sleep(0.05)
        reaper.reap()
    # 3. loop devices backed by files under test_dir
    root = os.path.realpath(test_dir)
    try:
        loops = os.listdir("/sys/block")
    except OSError:
        loops = []
    for dev in loops:
        if not dev.startswith("loop"):
            continue
        try:
            with open("/sys/block/%s/loop/backing_file" % dev) as f:
                backing = f.read().strip()
        except OSError:
            continue
        if backing.startswith(root + "/"):
            if report:
                log("detaching /dev/%s (%s)" % (dev, backing))
            subprocess.run(["losetup", "-d", "/dev/" + dev], stderr=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--test-dir", required=True)
    ap.add_argument("--stdout", required=True)
    ap.add_argument("--stderr", required=True)
    ap.add_argument("--cleanup-only", action="store_true")
    ap.add_argument("cmd", nargs="*")
    a = ap.parse_args()

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        log("warning: cannot become child subreaper")

    reaped_file = os.path.join(a.test_dir, ".reaped")
    if a.cleanup_only:
        cleanup(a.test_dir, Reaper(reaped_file, -1), True)
        return 0

    out = open(a.stdout, "wb")
    err = open(a.stderr, "wb")
    p = subprocess.Popen(a.cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                         start_new_session=True)
    reaper = Reaper(reaped_file, p.pid)
    stop = []
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: stop.append(signum))
    # We reap ourselves; keep subprocess from trying to.
    deadline = time.monotonic() + a.timeout
    timed_out = False
    while reaper.main_status is None:
        reaper.reap()
        if reaper.main_status is not None:
            break
        if time.monotonic() > deadline or stop:
            timed_out = True
            break
        time.sleep(0.05)

    # stderr of the runner itself goes into the test's stderr log
    os.dup2(err.fileno(), 2)
    if timed_out:
        if stop:
            log("interrupted; killing the test")
        else:
            log("test timed out after %gs; killing it" % a.timeout)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
            end = time.monotonic() + 5
            while time.monotonic() < end and reaper.main_status is None:
                # A process stuck on a dead FUSE server can only die once the
                # connection is aborted: do that between the signals.
                reaper.reap()
                time.sleep(0.05)
            if reaper.main_status is not None:
                break
            for mnt, fstype, devno in mounts_under(a.test_dir):
                if fstype.startswith("fuse"):
                    abort_fuse(devno)
        # the test's process group might outlive its leader
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    cleanup(a.test_dir, reaper, True)
    reaper.reap()
    if stop:
        return 130
    if timed_out:
        return 124
    return reaper.main_status if reaper.main_status is not None else 255


if __name__ == "__main__":
    sys.exit(main())
