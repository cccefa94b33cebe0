#!/usr/bin/env python3
"""Large-xattr workload for the ea_inode tests (rw/031, rw/032).

usage: ea_workload.py write DIR     # create files, set, replace, remove
       ea_workload.py cycle DIR     # set/replace/remove/unlink cycles
       ea_workload.py dump DIR      # every file's xattrs: name, size, sha1

Each step prints one line with its result ("ok" or the errno name), so
the same run on the kernel's ext4 and on fuse4fs prints the same lines
when both behave alike.  Values are deterministic (seeded bytes).
"""
import errno
import hashlib
import os
import sys


def val(n, seed):
    return bytes(((i * seed + 7) % 251) for i in range(n))


def step(what, fn, *args):
    try:
        fn(*args)
        print("%s: ok" % what)
    except OSError as e:
        print("%s: %s" % (what, errno.errorcode.get(e.errno, str(e.errno))))


def write(d):
    f = os.path.join(d, "big")
    open(f, "w").close()
    for name, n, s in [("user.v4k", 4096, 3), ("user.v16k", 16384, 5),
                       ("user.v60k", 61440, 7), ("user.small", 10, 11),
                       ("user.mid", 3000, 13)]:
        step("set %s (%d)" % (name, n), os.setxattr, f, name, val(n, s))
    # Small values until the block is full: the last fitting ones go to
    # EA inodes (the block keeps its reserve), then ENOSPC.
    for i in range(60):
        try:
            os.setxattr(f, "user.many%03d" % i, val(50, i + 1))
        except OSError as e:
            print("many: %d set, then %s" % (i, errno.errorcode[e.errno]))
            break
    step("set user.max (65536)", os.setxattr, f, "user.max", val(65536, 17))
    step("set user.over (65537)", os.setxattr, f, "user.over", b"x" * 65537)
    step("replace v16k by 20000 bytes", os.setxattr, f, "user.v16k", val(20000, 19))
    step("replace mid by 5000 bytes", os.setxattr, f, "user.mid", val(5000, 23))
    step("replace v4k by 100 bytes", os.setxattr, f, "user.v4k", val(100, 29))
    step("create v60k again", os.setxattr, f, "user.v60k", b"y", os.XATTR_CREATE)
    step("remove max", os.removexattr, f, "user.max")
    step("remove max again", os.removexattr, f, "user.max")
    # A file that keeps a large value, one that had one, and one removed.
    g = os.path.join(d, "kept")
    open(g, "w").close()
    step("kept: set user.k (30000)", os.setxattr, g, "user.k", val(30000, 31))
    h = os.path.join(d, "gone")
    open(h, "w").close()
    step("gone: set user.g (40000)", os.setxattr, h, "user.g", val(40000, 37))
    step("unlink gone", os.unlink, h)
    t = os.path.join(d, "trusted")
    os.mkdir(t)
    step("dir: set trusted.t (9000)", os.setxattr, t, "trusted.t", val(9000, 41))
    for p in (f, g, t):
        fd = os.open(p, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)


def cycle(d):
    c = os.path.join(d, "cycle")
    for r in range(3):
        open(c, "w").close()
        for k in range(4):
            step("round %d set %d" % (r, k), os.setxattr, c, "user.c%d" % k,
                 val(8000 + 4000 * k + r, 43 + k))
        step("round %d replace c0 small" % r, os.setxattr, c, "user.c0", b"s")
        step("round %d replace c1 large" % r, os.setxattr, c, "user.c1",
             val(50000, 47 + r))
        step("round %d remove c2" % r, os.removexattr, c, "user.c2")
        if r < 2:
            step("round %d unlink" % r, os.unlink, c)
    fd = os.open(d, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)


def dump(d):
    for root, dirs, files in os.walk(d):
        dirs.sort()
        for name in sorted(dirs + files):
            p = os.path.join(root, name)
            rel = os.path.relpath(p, d)
            if rel == "lost+found":
                continue
            for x in sorted(os.listxattr(p)):
                v = os.getxattr(p, x)
                print("%s %s %d %s" % (rel, x, len(v), hashlib.sha1(v).hexdigest()[:16]))


{"write": write, "cycle": cycle, "dump": dump}[sys.argv[1]](sys.argv[2])
