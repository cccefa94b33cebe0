#!/usr/bin/env python3
"""Concurrent workload on a mounted filesystem while its server is killed.

usage: killloop.py --mnt DIR --seconds S --pid-cmd 'CMD'
                   [--min-gap 0.3] [--max-gap 1.0] [--workers 6] [--seed 0]
                   [--no-kill] [--json FILE] [--restart-wait 10]

Workers (threads; they block in syscalls, so the GIL is no bottleneck)
each own a subtree DIR/killloop.wN and keep an exact model of it: every
file's contents and mode, every directory.  They create, overwrite,
pwrite, append, truncate, fsync, read back, list directories, stat,
chmod, chattr +i and +a and back (each flag checked in GETFLAGS and in
what it refuses), rename (to new names, over existing files, directories
to other parents), unlink, rmdir, and keep an unlinked file open (an orphan) that
they go on writing and reading through its descriptor.  Since nobody
else touches a subtree, every outcome is known in advance: any syscall
error (EIO, ENOTCONN, ECONNABORTED, ESTALE, but also EEXIST or ENOENT) is
a failure, and so is any difference between what is read and the model
(a "data mismatch").  After an error or a mismatch the worker re-reads
its subtree into its model and goes on (it stops when that fails too).

The killer thread (unless --no-kill): every random gap in [min-gap,
max-gap] seconds it runs CMD with the shell (CMD prints the server's
current pid), sends SIGKILL to that pid and at once stats DIR/.probe-<random>,
a name that never exists, so that the lookup must reach the server.  The
time from the kill to the ENOENT answer is the "SIGKILL to first request
served" time.  When CMD fails or prints the pid killed last (the server
has not been restarted yet) it retries for --restart-wait seconds; no new
pid by then is an error.  A run in kill mode that kills nothing is an
error too.

At the end the workers stop, their orphans are checked and closed, and
every subtree is verified in full (names, types, modes, sizes, contents).
stdout gets stable lines only:

    killloop: errors N
    killloop: data mismatches N
    killloop: final verification ok | killloop: final verification: N problems

stderr gets the details: seed, op counts, every error, every kill with
its recovery time, and "recovery after SIGKILL: median X ms, p99 Y ms,
max Z ms over N kills".  --json FILE writes the same as a JSON object
(ops, kills sent, kill_list and recovery_ms of the answered ones, errors,
mismatches, final).  Exit status 0 when there was no error, no mismatch
and no final problem, 1 otherwise, 2 for bad usage.

Deterministic from --seed as far as threads allow: each worker's choice
of operations, names and contents comes from its own generator.
"""
import argparse
import errno
import fcntl
import json
import os
import random
import shutil
import signal
import stat
import struct
import subprocess
import sys
import threading
import time

# how long a worker or the final check may be stuck in one syscall
# before the run is declared hung
STUCK_SECS = 60
MAX_FILES = 24          # per worker, to bound memory and the final check
MAX_DIRS = 8
MAX_DEPTH = 3
ORPHAN_OPS = 25         # operations an orphan stays open for

# chattr's flags (linux/fs.h)
FS_IOC_GETFLAGS = 0x80086601
FS_IOC_SETFLAGS = 0x40086602
FS_IMMUTABLE_FL = 0x10
FS_APPEND_FL = 0x20


def errname(e):
    return errno.errorcode.get(e.errno, str(e.errno)) if e.errno else str(e)


class Report:
    """Errors, mismatches and op counts shared by all threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.errors = []
        self.mismatches = []
        self.ops = {}
        self.t0 = time.monotonic()

    def now(self):
        return round(time.monotonic() - self.t0, 3)

    def error(self, who, op, path, e):
        rec = {"t": self.now(), "who": who, "op": op, "path": path,
               "errno": errname(e) if isinstance(e, OSError) else None,
               "what": str(e)}
        with self.lock:
            self.errors.append(rec)
        log("error: %s %s %s: %s" % (who, op, path, rec["errno"] or rec["what"]))

    def mismatch(self, who, op, path, what):
        rec = {"t": self.now(), "who": who, "op": op, "path": path, "what": what}
        with self.lock:
            self.mismatches.append(rec)
        log("mismatch: %s %s %s: %s" % (who, op, path, what))

    def count(self, op):
        with self.lock:
            self.ops[op] = self.ops.get(op, 0) + 1


def log(msg):
    sys.stderr.write("killloop: %s\n" % msg)
    sys.stderr.flush()


def getflags(fd):
    return struct.unpack("l", fcntl.ioctl(fd, FS_IOC_GETFLAGS, bytes(8)))[0]


def setflags(fd, flags):
    fcntl.ioctl(fd, FS_IOC_SETFLAGS, struct.pack("l", flags))


def refused(fn):
    """True when fn() fails with EPERM; any other error is raised."""
    try:
        fn()
    except OSError as e:
        if e.errno == errno.EPERM:
            return True
        raise
    return False


def write_all(fd, data, off=None):
    """write (or pwrite at off) all of data: short writes are not errors."""
    view = memoryview(data)
    done = 0
    while done < len(view):
        if off is None:
            n = os.write(fd, view[done:])
        else:
            n = os.pwrite(fd, view[done:], off + done)
        if n <= 0:
            raise OSError(errno.EIO, "write returned %d" % n)
        done += n


def read_all(fd, size_hint):
    """read until EOF from offset 0."""
    chunks = []
    off = 0
    while True:
        b = os.pread(fd, max(size_hint - off, 0) + 65536, off)
        if not b:
            break
        chunks.append(b)
        off += len(b)
    return b"".join(chunks)


def first_diff(a, b):
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


class Mismatch(Exception):
    pass


class Worker(threading.Thread):
    """One subtree, one exact model of it."""

    def __init__(self, idx, mnt, seed, stop, report):
        super().__init__(name="w%d" % idx, daemon=True)
        self.who = "w%d" % idx
        self.root = os.path.join(mnt, "killloop.w%d" % idx)
        self.rng = random.Random("%d/%d" % (seed, idx))
        self.stop = stop
        self.report = report
        self.files = {}     # relpath -> bytes
        self.modes = {}     # relpath -> permission bits (files and dirs)
        self.dirs = {""}    # relpaths, "" is the root
        self.serial = 0
        self.orphan = None  # [fd, bytes, ops left]
        self.current = None  # (op, path, start) while in an operation
        self.dead = False

    # ---------------------------------------------------------- helpers

    def p(self, rel):
        return os.path.join(self.root, rel) if rel else self.root

    def name(self, prefix):
        self.serial += 1
        return "%s%d" % (prefix, self.serial)

    def content(self):
        r = self.rng.random()
        if r < 0.6:
            n = self.rng.randint(0, 4096)
        elif r < 0.9:
            n = self.rng.randint(4097, 65536)
        else:
            n = self.rng.randint(65537, 256 << 10)
        return self.rng.randbytes(n)

    def depth(self, rel):
        return 0 if rel == "" else rel.count("/") + 1

    def children(self, d):
        pre = d + "/" if d else ""
        out = set()
        for x in list(self.files) + [x for x in self.dirs if x]:
            if x.startswith(pre) and "/" not in x[len(pre):]:
                out.add(x[len(pre):])
        return out

    def new_path(self, prefix):
        d = self.rng.choice(sorted(self.dirs))
        n = self.name(prefix)
        return d + "/" + n if d else n

    def pick_file(self):
        return self.rng.choice(sorted(self.files)) if self.files else None

    def begin(self, op, path):
        self.current = (op, path or ".", time.monotonic())
        self.report.count(op)

    # ---------------------------------------------------------- model sync

    def resync(self):
        """Rebuild the model from what the filesystem shows now."""
        files, modes, dirs = {}, {}, {""}
        modes[""] = stat.S_IMODE(os.stat(self.root).st_mode)
        for top, dnames, fnames in os.walk(self.root, onerror=self._raise):
            rel = os.path.relpath(top, self.root)
            rel = "" if rel == "." else rel
            for d in dnames:
                r = rel + "/" + d if rel else d
                dirs.add(r)
                modes[r] = stat.S_IMODE(os.lstat(self.p(r)).st_mode)
            for f in fnames:
                r = rel + "/" + f if rel else f
                fd = os.open(self.p(r), os.O_RDONLY)
                try:
                    files[r] = read_all(fd, 0)
                    modes[r] = stat.S_IMODE(os.fstat(fd).st_mode)
                finally:
                    os.close(fd)
        self.files, self.modes, self.dirs = files, modes, dirs

    @staticmethod
    def _raise(e):
        raise e

    # ---------------------------------------------------------- operations

    def op_create(self):
        rel = self.new_path("f")
        data = self.content()
        mode = self.rng.choice([0o644, 0o600, 0o640])
        self.begin("create", rel)
        fd = os.open(self.p(rel), os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode)
        try:
            write_all(fd, data)
            if self.rng.random() < 0.3:
                os.fsync(fd)
        finally:
            os.close(fd)
        self.files[rel] = data
        self.modes[rel] = mode  # umask 0 is set at start

    def op_overwrite(self):
        rel = self.pick_file()
        if rel is None:
            return
        data = self.content()
        self.begin("overwrite", rel)
        fd = os.open(self.p(rel), os.O_WRONLY | os.O_TRUNC)
        try:
            self.files[rel] = b""
            write_all(fd, data)
            self.files[rel] = data
            if self.rng.random() < 0.3:
                os.fsync(fd)
        finally:
            os.close(fd)

    def op_pwrite(self):
        rel = self.pick_file()
        if rel is None:
            return
        old = self.files[rel]
        off = self.rng.randint(0, len(old) + 4096)
        chunk = self.rng.randbytes(self.rng.randint(1, 16384))
        if off + len(chunk) > 256 << 10:
            return
        self.begin("pwrite", rel)
        fd = os.open(self.p(rel), os.O_RDWR)
        try:
            write_all(fd, chunk, off)
            buf = bytearray(old)
            if len(buf) < off:
                buf.extend(bytes(off - len(buf)))
            buf[off:off + len(chunk)] = chunk
            self.files[rel] = bytes(buf)
            if self.rng.random() < 0.2:
                os.fdatasync(fd)
        finally:
            os.close(fd)

    def op_append(self):
        rel = self.pick_file()
        if rel is None:
            return
        chunk = self.rng.randbytes(self.rng.randint(1, 8192))
        if len(self.files[rel]) + len(chunk) > 256 << 10:
            return
        self.begin("append", rel)
        fd = os.open(self.p(rel), os.O_WRONLY | os.O_APPEND)
        try:
            write_all(fd, chunk)
            self.files[rel] = self.files[rel] + chunk
            if self.rng.random() < 0.3:
                os.fsync(fd)
        finally:
            os.close(fd)

    def op_truncate(self):
        rel = self.pick_file()
        if rel is None:
            return
        old = self.files[rel]
        size = self.rng.randint(0, len(old) + 8192)
        self.begin("truncate", rel)
        os.truncate(self.p(rel), size)
        self.files[rel] = old[:size] + bytes(max(0, size - len(old)))

    def op_read(self):
        rel = self.pick_file()
        if rel is None:
            return
        self.begin("read", rel)
        fd = os.open(self.p(rel), os.O_RDONLY)
        try:
            got = read_all(fd, len(self.files[rel]))
        finally:
            os.close(fd)
        want = self.files[rel]
        if got != want:
            raise Mismatch("contents differ: size %d (want %d), first difference at %d"
                           % (len(got), len(want), first_diff(got, want)))

    def op_stat(self):
        cands = sorted(self.files) + sorted(self.dirs)
        rel = self.rng.choice(cands)
        self.begin("stat", rel)
        st = os.lstat(self.p(rel))
        if rel in self.files:
            if not stat.S_ISREG(st.st_mode):
                raise Mismatch("not a regular file: mode %o" % st.st_mode)
            if st.st_size != len(self.files[rel]):
                raise Mismatch("size %d, want %d" % (st.st_size, len(self.files[rel])))
        elif not stat.S_ISDIR(st.st_mode):
            raise Mismatch("not a directory: mode %o" % st.st_mode)
        if stat.S_IMODE(st.st_mode) != self.modes[rel]:
            raise Mismatch("mode %o, want %o" % (stat.S_IMODE(st.st_mode), self.modes[rel]))

    def op_chmod(self):
        cands = sorted(self.files) + sorted(self.dirs)
        rel = self.rng.choice(cands)
        mode = self.rng.choice([0o755, 0o700, 0o750]) if rel in self.dirs else \
            self.rng.choice([0o644, 0o600, 0o640, 0o755])
        self.begin("chmod", rel)
        os.chmod(self.p(rel), mode)
        self.modes[rel] = mode

    def op_readdir(self):
        d = self.rng.choice(sorted(self.dirs))
        self.begin("readdir", d)
        got = set(os.listdir(self.p(d)))
        want = self.children(d)
        if got != want:
            raise Mismatch("listdir: missing %s, unexpected %s"
                           % (sorted(want - got)[:5], sorted(got - want)[:5]))

    def op_mkdir(self):
        parent = self.rng.choice(sorted(d for d in self.dirs if self.depth(d) < MAX_DEPTH))
        n = self.name("d")
        rel = parent + "/" + n if parent else n
        mode = self.rng.choice([0o755, 0o700])
        self.begin("mkdir", rel)
        os.mkdir(self.p(rel), mode)
        self.dirs.add(rel)
        self.modes[rel] = mode

    def op_rename_file(self):
        src = self.pick_file()
        if src is None:
            return
        others = [f for f in sorted(self.files) if f != src]
        if others and self.rng.random() < 0.4:
            dst = self.rng.choice(others)   # over an existing file
        else:
            dst = self.new_path("f")
        self.begin("rename", src + " -> " + dst)
        os.rename(self.p(src), self.p(dst))
        self.files[dst] = self.files.pop(src)
        self.modes[dst] = self.modes.pop(src)

    def op_rename_dir(self):
        srcs = sorted(d for d in self.dirs if d)
        if not srcs:
            return
        src = self.rng.choice(srcs)
        sub_depth = max(self.depth(d) for d in self.dirs
                        if d == src or d.startswith(src + "/")) - self.depth(src)
        parents = sorted(d for d in self.dirs
                         if d != src and not d.startswith(src + "/")
                         and self.depth(d) + 1 + sub_depth <= MAX_DEPTH)
        if not parents:
            return
        parent = self.rng.choice(parents)
        n = self.name("d")
        dst = parent + "/" + n if parent else n
        self.begin("rename-dir", src + " -> " + dst)
        os.rename(self.p(src), self.p(dst))

        def moved(x):
            if x == src:
                return dst
            if x.startswith(src + "/"):
                return dst + x[len(src):]
            return x
        self.files = {moved(k): v for k, v in self.files.items()}
        self.modes = {moved(k): v for k, v in self.modes.items()}
        self.dirs = {moved(k) for k in self.dirs}

    def op_unlink(self):
        rel = self.pick_file()
        if rel is None:
            return
        self.begin("unlink", rel)
        os.unlink(self.p(rel))
        del self.files[rel]
        del self.modes[rel]

    def op_rmdir(self):
        empty = sorted(d for d in self.dirs if d and not self.children(d))
        if not empty:
            return
        rel = self.rng.choice(empty)
        self.begin("rmdir", rel)
        os.rmdir(self.p(rel))
        self.dirs.discard(rel)
        del self.modes[rel]

    def op_fsync_dir(self):
        d = self.rng.choice(sorted(self.dirs))
        self.begin("fsync-dir", d)
        fd = os.open(self.p(d), os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def op_orphan(self):
        """Open an orphan, or write and read back the one held open."""
        if self.orphan is None:
            rel = self.new_path("o")
            data = self.content()
            self.begin("orphan-make", rel)
            fd = os.open(self.p(rel), os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
            try:
                write_all(fd, data)
                os.unlink(self.p(rel))
            except BaseException:
                os.close(fd)
                raise
            self.orphan = [fd, data, ORPHAN_OPS, rel]
            return
        fd, data, left, rel = self.orphan
        if left <= 0:
            self.orphan = None
            self.begin("orphan-close", rel)
            self.check_orphan(fd, data, rel)
            os.close(fd)
            return
        chunk = self.rng.randbytes(self.rng.randint(1, 8192))
        off = self.rng.randint(0, len(data))
        if off + len(chunk) > 256 << 10:
            off = 0
        self.begin("orphan-write", rel)
        write_all(fd, chunk, off)
        buf = bytearray(data)
        buf[off:off + len(chunk)] = chunk
        data = bytes(buf)
        self.orphan[1] = data
        self.orphan[2] = left - 1
        self.check_orphan(fd, data, rel)

    def op_chattr(self):
        """chattr +i, then +a, then neither, on a file of the model: each
        flag shows in GETFLAGS and refuses what ext4 refuses (opening for
        writing, unlink; append-only still appends), and the clearing
        holds. A server killed between setting and clearing must not
        leave the flag behind (stress-ng's chattr stressor, rw/094, does
        this by the thousand but cannot tell a lost clear from its own
        early exit)."""
        rel = self.pick_file()
        if rel is None:
            return
        path = self.p(rel)
        self.begin("chattr", rel)
        fd = os.open(path, os.O_RDONLY)
        try:
            base = getflags(fd) & ~(FS_IMMUTABLE_FL | FS_APPEND_FL)
            for flag in (FS_IMMUTABLE_FL, FS_APPEND_FL):
                setflags(fd, base | flag)
                got = getflags(fd) & (FS_IMMUTABLE_FL | FS_APPEND_FL)
                if got != flag:
                    raise Mismatch("flags %#x after setting %#x" % (got, flag))
                if not refused(lambda: os.close(os.open(path, os.O_WRONLY))):
                    raise Mismatch("opened for writing with flag %#x" % flag)
                if flag == FS_APPEND_FL:
                    tail = self.rng.randbytes(self.rng.randint(1, 64))
                    w = os.open(path, os.O_WRONLY | os.O_APPEND)
                    try:
                        write_all(w, tail)
                    finally:
                        os.close(w)
                    self.files[rel] += tail
                if not refused(lambda: os.unlink(path)):
                    del self.files[rel]
                    del self.modes[rel]
                    raise Mismatch("unlinked with flag %#x" % flag)
            setflags(fd, base)
            got = getflags(fd) & (FS_IMMUTABLE_FL | FS_APPEND_FL)
            if got:
                raise Mismatch("flags %#x left after clearing" % got)
        except BaseException:
            # Leave the file writable so that one failure is counted
            # once, not again by every later operation on it.
            try:
                setflags(fd, getflags(fd) & ~(FS_IMMUTABLE_FL | FS_APPEND_FL))
            except OSError:
                pass
            raise
        finally:
            os.close(fd)

    def check_orphan(self, fd, data, rel):
        st = os.fstat(fd)
        if st.st_nlink != 0:
            raise Mismatch("orphan has nlink %d" % st.st_nlink)
        if st.st_size != len(data):
            raise Mismatch("orphan size %d, want %d" % (st.st_size, len(data)))
        got = read_all(fd, len(data))
        if got != data:
            raise Mismatch("orphan contents differ at %d" % first_diff(got, data))

    # ---------------------------------------------------------- loop

    def choose(self):
        nf, nd = len(self.files), len(self.dirs)
        table = [
            (self.op_create, 6 if nf < MAX_FILES else 0),
            (self.op_overwrite, 3),
            (self.op_pwrite, 3),
            (self.op_append, 3),
            (self.op_truncate, 1),
            (self.op_read, 8),
            (self.op_stat, 4),
            (self.op_chmod, 1),
            (self.op_readdir, 3),
            (self.op_mkdir, 2 if nd < MAX_DIRS else 0),
            (self.op_rename_file, 3),
            (self.op_rename_dir, 1),
            (self.op_unlink, 3 if nf > MAX_FILES // 2 else 1),
            (self.op_rmdir, 1),
            (self.op_fsync_dir, 1),
            (self.op_orphan, 2),
            (self.op_chattr, 1),
        ]
        ops = [op for op, w in table if w]
        weights = [w for op, w in table if w]
        return self.rng.choices(ops, weights)[0]

    def run(self):
        try:
            self.setup()
        except OSError as e:
            self.report.error(self.who, "setup", self.root, e)
            self.dead = True
            return
        while not self.stop.is_set():
            op = self.choose()
            try:
                op()
            except Mismatch as m:
                op_name, path, _ = self.current
                self.report.mismatch(self.who, op_name, path, str(m))
                self.recover()
            except OSError as e:
                op_name, path, _ = self.current or (op.__name__, "?", 0)
                self.report.error(self.who, op_name, path, e)
                self.recover()
            self.current = None
            if self.dead:
                return
            # let the server have the CPU too (2 cores shared)
            time.sleep(self.rng.random() * 0.004)

    def setup(self):
        self.begin("setup", "")
        if os.path.lexists(self.root):
            shutil.rmtree(self.root)
        os.mkdir(self.root, 0o755)
        self.modes[""] = 0o755
        self.current = None

    def recover(self):
        """After an error or mismatch: take what the filesystem shows."""
        self.current = ("resync", ".", time.monotonic())
        try:
            self.resync()
            if self.orphan is not None:
                self.orphan[1] = read_all(self.orphan[0], len(self.orphan[1]))
        except OSError as e:
            self.report.error(self.who, "resync", getattr(e, "filename", "") or "", e)
            self.dead = True

    def final_check(self, problems):
        """Orphan first, then every name, type, mode, size and content."""
        if self.orphan is not None:
            fd, data, _, rel = self.orphan
            self.orphan = None
            try:
                self.check_orphan(fd, data, rel)
            except Mismatch as m:
                problems.append("%s orphan %s: %s" % (self.who, rel, m))
            except OSError as e:
                problems.append("%s orphan %s: %s" % (self.who, rel, errname(e)))
            try:
                os.close(fd)
            except OSError as e:
                problems.append("%s orphan %s close: %s" % (self.who, rel, errname(e)))
        want_files, want_modes, want_dirs = self.files, self.modes, self.dirs
        try:
            self.resync()
        except OSError as e:
            problems.append("%s walk: %s %s" % (self.who, errname(e), e.filename))
            return
        for d in sorted(want_dirs ^ self.dirs):
            problems.append("%s dir %s: %s" % (self.who, d or ".",
                            "missing" if d in want_dirs else "unexpected"))
        for f in sorted(set(want_files) ^ set(self.files)):
            problems.append("%s file %s: %s" % (self.who, f,
                            "missing" if f in want_files else "unexpected"))
        for f in sorted(set(want_files) & set(self.files)):
            a, b = self.files[f], want_files[f]
            if a != b:
                problems.append("%s file %s: size %d want %d, first difference at %d"
                                % (self.who, f, len(a), len(b), first_diff(a, b)))
        for x in sorted(set(want_modes) & set(self.modes)):
            if want_modes[x] != self.modes[x]:
                problems.append("%s mode %s: %o want %o" % (self.who, x or ".",
                                self.modes[x], want_modes[x]))


class Killer(threading.Thread):
    """SIGKILL the server every gap; time the first request served after."""

    def __init__(self, args, stop, report):
        super().__init__(name="killer", daemon=True)
        self.args = args
        self.stop = stop
        self.report = report
        self.rng = random.Random("%d/killer" % args.seed)
        self.last_pid = None
        self.sent = 0           # SIGKILLs sent
        self.kills = []         # {"t", "pid", "ms"}: kills answered
        self.current = None

    def server_pid(self):
        """A pid other than the last one killed, or None after the wait."""
        deadline = time.monotonic() + self.args.restart_wait
        why = "?"
        while True:
            try:
                out = subprocess.run(self.args.pid_cmd, shell=True, capture_output=True,
                                     text=True, timeout=10)
                txt = out.stdout.strip()
                if out.returncode != 0:
                    why = "pid command exit %d: %s" % (out.returncode, out.stderr.strip()[:200])
                elif not txt.isdigit() or int(txt) <= 1:
                    why = "pid command printed %r" % txt[:100]
                elif int(txt) == self.last_pid:
                    why = "still pid %s (not restarted)" % txt
                else:
                    return int(txt)
            except subprocess.TimeoutExpired:
                why = "pid command timed out"
            if time.monotonic() >= deadline or self.stop.is_set():
                if not self.stop.is_set():
                    self.report.error("killer", "server-pid", self.args.pid_cmd,
                                      RuntimeError("no new server pid within %gs: %s"
                                                   % (self.args.restart_wait, why)))
                return None
            time.sleep(0.05)

    def run(self):
        while not self.stop.wait(self.rng.uniform(self.args.min_gap, self.args.max_gap)):
            pid = self.server_pid()
            if pid is None:
                if not self.stop.is_set():
                    continue
                return
            probe = os.path.join(self.args.mnt, ".probe-%016x" % self.rng.getrandbits(64))
            self.report.count("kill")
            self.current = ("probe", probe, time.monotonic())
            t0 = time.monotonic()
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError as e:
                self.report.error("killer", "kill", str(pid), e)
                self.current = None
                continue
            self.last_pid = pid
            self.sent += 1
            try:
                os.stat(probe)
                self.report.error("killer", "probe", probe,
                                  RuntimeError("probe name exists"))
            except FileNotFoundError:
                t1 = time.monotonic()
                ms = (t1 - t0) * 1000
                self.kills.append({"t": self.report.now(), "pid": pid, "ms": round(ms, 3)})
                log("kill %d: pid %d, first request served after %.1f ms"
                    % (self.sent, pid, ms))
            except OSError as e:
                self.report.error("killer", "probe", os.path.basename(probe), e)
            self.current = None


def percentile(sorted_vals, q):
    if not sorted_vals:
        return 0.0
    k = max(0, min(len(sorted_vals) - 1, int(round(q * (len(sorted_vals) - 1)))))
    return sorted_vals[k]


def stuck(threads):
    """Threads that are inside one operation for longer than STUCK_SECS."""
    out = []
    now = time.monotonic()
    for t in threads:
        cur = t.current
        if t.is_alive() and cur and now - cur[2] > STUCK_SECS:
            out.append("%s stuck in %s %s for %.0fs" % (t.name, cur[0], cur[1], now - cur[2]))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mnt", required=True, help="mounted filesystem to work on")
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--pid-cmd", help="shell command printing the server's pid")
    ap.add_argument("--min-gap", type=float, default=0.3)
    ap.add_argument("--max-gap", type=float, default=1.0)
    ap.add_argument("--workers", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-kill", action="store_true", help="workload only")
    ap.add_argument("--restart-wait", type=float, default=10.0,
                    help="seconds to wait for a new server pid after a kill")
    ap.add_argument("--json", help="write a JSON summary here")
    args = ap.parse_args()
    if not args.no_kill and not args.pid_cmd:
        ap.error("--pid-cmd is required unless --no-kill")
    if args.min_gap < 0 or args.max_gap < args.min_gap or args.workers < 1:
        ap.error("bad --min-gap/--max-gap/--workers")
    if not os.path.isdir(args.mnt):
        ap.error("%s is not a directory" % args.mnt)
    os.umask(0)
    log("seed %d, %d workers, %g s, %s" % (args.seed, args.workers, args.seconds,
        "no kills" if args.no_kill else "kill gap %g..%g s" % (args.min_gap, args.max_gap)))

    report = Report()
    stop = threading.Event()
    workers = [Worker(i, args.mnt, args.seed, stop, report) for i in range(args.workers)]
    killer = None if args.no_kill else Killer(args, stop, report)
    for w in workers:
        w.start()
    if killer:
        killer.start()
    threads = workers + ([killer] if killer else [])
    hung = []
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline and not hung:
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        hung = stuck(threads)
    stop.set()
    end = time.monotonic() + STUCK_SECS
    for t in threads:
        t.join(max(0.0, end - time.monotonic()))
    hung = hung or ["%s did not stop: in %s" % (t.name, t.current) for t in threads if t.is_alive()]
    for h in hung:
        report.error("main", "hang", "", RuntimeError(h))

    problems = []
    if not hung:
        # the final check gets its own thread so that a hang is reported
        checker = threading.Thread(
            target=lambda: [w.final_check(problems) for w in workers if not w.dead],
            daemon=True)
        checker.start()
        checker.join(STUCK_SECS * 2)
        if checker.is_alive():
            problems.append("final verification hung")
        for w in workers:
            if w.dead:
                problems.append("%s: subtree not checked (worker stopped)" % w.who)
    else:
        problems.append("not run: the workload hung")

    kills = killer.kills if killer else []
    sent = killer.sent if killer else 0
    if killer and not sent and not hung:
        report.error("killer", "kill", "", RuntimeError("no kill done in %g s" % args.seconds))
    times = sorted(k["ms"] for k in kills)

    for op in sorted(report.ops):
        log("ops %-13s %d" % (op, report.ops[op]))
    log("ops total %d in %.1f s" % (sum(v for k, v in report.ops.items() if k != "kill"),
                                     args.seconds))
    if killer:
        log("kills %d, %d answered" % (sent, len(kills)))
        if times:
            log("recovery after SIGKILL: median %.1f ms, p99 %.1f ms, max %.1f ms over %d kills"
                % (percentile(times, 0.5), percentile(times, 0.99), times[-1], len(times)))
    for p in problems:
        log("final: %s" % p)

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"seed": args.seed, "seconds": args.seconds, "workers": args.workers,
                       "ops": report.ops, "kills": sent, "kill_list": kills,
                       "recovery_ms": [k["ms"] for k in kills],
                       "errors": report.errors, "mismatches": report.mismatches,
                       "final": problems}, f, indent=1)
            f.write("\n")

    print("killloop: errors %d" % len(report.errors))
    print("killloop: data mismatches %d" % len(report.mismatches))
    if problems:
        print("killloop: final verification: %d problems" % len(problems))
    else:
        print("killloop: final verification ok")
    sys.stdout.flush()
    bad = report.errors or report.mismatches or problems
    if hung:
        # threads stuck in a syscall would keep a normal exit waiting
        sys.stderr.flush()
        os._exit(1)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
