#!/usr/bin/env python3
"""Setuid/setgid after a change of data by a plain user, for rw/056.

suidgid.py DIR: as root, makes one file per (operation, case) under DIR
(root-owned, 8 KiB, the case's mode and group), has a child process with
uid/gid 4242, no supplementary groups and so no capabilities make the
change, and prints "OPERATION MODE group G: RESULT MODE-AFTER" (RESULT is
"ok" or the errno name).  G is "other" (the file's group is 0, the user
is outside it) or "own" (the file's group is 4242).
"""
import errno
import os
import stat
import sys

from xtlibc import (FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE,
                    FALLOC_FL_ZERO_RANGE, fallocate_path)

UID = GID = 4242


def falloc(mode):
    def op(path, src):
        fallocate_path(path, mode, 4096, 16384)
    return op


def write(path, src):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, b"written", 100)
    finally:
        os.close(fd)


def ftruncate(path, src):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, 100)
    finally:
        os.close(fd)


def truncate(path, src):
    os.truncate(path, 100)


def open_trunc(path, src):
    os.close(os.open(path, os.O_WRONLY | os.O_TRUNC))


def copy_to(path, src):
    s = os.open(src, os.O_RDONLY)
    d = os.open(path, os.O_WRONLY)
    try:
        os.copy_file_range(s, d, 100, 0, 0)
    finally:
        os.close(s)
        os.close(d)


def read(path, src):
    with open(path, "rb") as f:
        f.read()


OPS = [
    ("fallocate", falloc(0)),
    ("fallocate-keep-size", falloc(FALLOC_FL_KEEP_SIZE)),
    ("fallocate-punch-hole", falloc(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)),
    ("fallocate-zero-range", falloc(FALLOC_FL_ZERO_RANGE)),
    ("write", write),
    ("ftruncate", ftruncate),
    ("truncate", truncate),
    ("open-O_TRUNC", open_trunc),
    ("copy_file_range-to", copy_to),
    ("read", read),
]
CASES = [(0o2666, 0), (0o2666, GID), (0o2676, GID), (0o4777, 0),
         (0o6777, 0), (0o6777, GID), (0o6666, 0), (0o6666, GID)]


def as_user(fn, path, src):
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.setgroups([])
            os.setgid(GID)
            os.setuid(UID)
            fn(path, src)
        except OSError as e:
            code = e.errno or 255
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return "ok" if code == 0 else errno.errorcode.get(code, str(code))


def main():
    top = sys.argv[1]
    src = os.path.join(top, "src")
    with open(src, "wb") as f:
        f.write(b"s" * 8192)
    os.chmod(src, 0o644)
    for i, (name, fn) in enumerate(OPS):
        for j, (mode, gid) in enumerate(CASES):
            path = os.path.join(top, "f%d-%d" % (i, j))
            with open(path, "wb") as f:
                f.write(b"x" * 8192)
            os.chown(path, 0, gid)
            os.chmod(path, mode)
            got = as_user(fn, path, src)
            after = stat.S_IMODE(os.stat(path).st_mode)
            print("%s %04o group %s: %s %04o" % (
                name, mode, "own" if gid == GID else "other", got, after))


main()
