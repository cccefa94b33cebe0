#!/usr/bin/env python3
"""File attribute flags (chattr) and what they forbid, for rw/049.

    attrflags.py matrix DIR     every (flag, caller, operation) on fresh
                                files under DIR: "ok" or the errno name
    attrflags.py setflags DIR   setting each flag on a file and a directory
                                by root and by a plain user: the errno, and
                                the flags GETFLAGS reads after
    attrflags.py xattr DIR      FS_IOC_FSSETXATTR: each FS_XFLAG_* bit on
                                a file and a directory, and a project id
    attrflags.py inherit DIR    the flags new inodes take from their
                                directory
    attrflags.py exact DIR      SETFLAGS with a value replacing the flags
                                outright (stress-ng's chattr and
                                inode-flags, `chattr =`), so that the
                                extents flag goes too: the block mapping
                                is migrated where ext4 migrates it
                                (chattr -e / +e), with file contents kept
    attrflags.py make DIR       files with flags set, for a look after
                                unmount
    attrflags.py show DIR       the flags (hex, from FS_IOC_GETFLAGS and
                                FS_IOC_FSGETXATTR) of every name in DIR

Must run as root: the plain user is uid/gid 1000, made by a forked child
with setresuid (dropping every capability). Output is the same on any
filesystem that enforces the flags as ext4 does.
"""

import ctypes
import errno
import fcntl
import os
import shutil
import struct
import sys

import xtlibc

FS_IOC_GETFLAGS = 0x80086601
FS_IOC_SETFLAGS = 0x40086602
FS_IOC_FSGETXATTR = 0x801C581F
FS_IOC_FSSETXATTR = 0x401C5820

IMMUTABLE = 0x10
APPEND = 0x20
FLAGS = {
    "-": 0,
    "i": IMMUTABLE,
    "a": APPEND,
}
# chattr letters with their bits, for setflags.
LETTERS = [
    ("s", 0x1), ("u", 0x2), ("c", 0x4), ("S", 0x8), ("i", 0x10), ("a", 0x20),
    ("d", 0x40), ("A", 0x80), ("j", 0x4000), ("t", 0x8000), ("D", 0x10000),
    ("T", 0x20000), ("e", 0x80000), ("x", 0x2000000), ("P", 0x20000000),
    ("F", 0x40000000), ("E", 0x800), ("I", 0x1000), ("N", 0x10000000),
    ("V", 0x100000),
]
USER = 1000
# A descriptor of the file opened for writing before its flag was set.
HELD = [-1]

libc = ctypes.CDLL(None, use_errno=True)


def getflags(path):
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    try:
        buf = fcntl.ioctl(fd, FS_IOC_GETFLAGS, b"\0" * 4)
        return struct.unpack("I", buf)[0]
    finally:
        os.close(fd)


def getxflags(path):
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    try:
        buf = fcntl.ioctl(fd, FS_IOC_FSGETXATTR, b"\0" * 28)
        return struct.unpack("5I8x", buf)
    finally:
        os.close(fd)


def setflags(path, flags):
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    try:
        fcntl.ioctl(fd, FS_IOC_SETFLAGS, struct.pack("I", flags))
    finally:
        os.close(fd)


def setxflags(path, xflags, projid):
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    try:
        fcntl.ioctl(fd, FS_IOC_FSSETXATTR, struct.pack("5I8x", xflags, 0, 0, projid, 0))
    finally:
        os.close(fd)


def fallocate(path, mode):
    xtlibc.fallocate_path(path, mode, 0, 4096, os.O_WRONLY | os.O_APPEND)


def as_user(fn):
    """Runs fn in a child as uid/gid USER; returns "ok" or the errno name."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.setgroups([])
            os.setresgid(USER, USER, USER)
            os.setresuid(USER, USER, USER)
            out = attempt(fn)
        except BaseException as e:  # noqa: BLE001 - reported, never raised
            out = "child:" + repr(e)
        os.write(w, out.encode())
        os._exit(0)
    os.close(w)
    out = b""
    while True:
        b = os.read(r, 256)
        if not b:
            break
        out += b
    os.close(r)
    os.waitpid(pid, 0)
    return out.decode()


def attempt(fn):
    try:
        fn()
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def write_fd(path, flags, data=b"x"):
    fd = os.open(path, flags)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def file_ops(c):
    """(name, fn) on the file c/f (the flag is on f); c also holds o, a
    plain file, and t, a directory."""
    f = c + "/f"
    return [
        ("open-r", lambda: os.close(os.open(f, os.O_RDONLY))),
        ("open-w", lambda: os.close(os.open(f, os.O_WRONLY))),
        ("open-wa", lambda: write_fd(f, os.O_WRONLY | os.O_APPEND)),
        ("open-trunc", lambda: os.close(os.open(f, os.O_WRONLY | os.O_TRUNC))),
        ("open-rtrunc", lambda: os.close(os.open(f, os.O_RDONLY | os.O_TRUNC))),
        ("truncate", lambda: os.truncate(f, 1)),
        ("chmod", lambda: os.chmod(f, 0o640)),
        ("chown", lambda: os.chown(f, os.stat(f).st_uid, -1)),
        ("utime-set", lambda: os.utime(f, (1, 1))),
        ("utime-now", lambda: os.utime(f, None)),
        ("setxattr", lambda: os.setxattr(f, "user.y", b"1")),
        ("removexattr", lambda: os.removexattr(f, "user.x")),
        ("link", lambda: os.link(f, c + "/f2")),
        ("unlink", lambda: os.unlink(f)),
        ("rename-from", lambda: os.rename(f, c + "/f3")),
        ("rename-onto", lambda: os.rename(c + "/o", f)),
        ("write-held", lambda: os.pwrite(HELD[0], b"x", 0)),
        ("fallocate", lambda: fallocate(f, 0)),
        ("punch", lambda: fallocate(f, 3)),
    ]


def dir_ops(c):
    """(name, fn) on the directory c/d (the flag is on d), holding the file
    e and the empty directory sd; c also holds o, a plain file."""
    d = c + "/d"
    return [
        ("create", lambda: os.close(os.open(d + "/n", os.O_CREAT | os.O_WRONLY, 0o644))),
        ("mkdir", lambda: os.mkdir(d + "/nd")),
        ("mknod", lambda: os.mkfifo(d + "/np")),
        ("tmpfile", lambda: os.close(os.open(d, os.O_TMPFILE | os.O_WRONLY, 0o600))),
        ("symlink", lambda: os.symlink("e", d + "/ns")),
        ("link-in", lambda: os.link(c + "/o", d + "/nl")),
        ("unlink-in", lambda: os.unlink(d + "/e")),
        ("rmdir-in", lambda: os.rmdir(d + "/sd")),
        ("rename-in", lambda: os.rename(d + "/e", d + "/e2")),
        ("rename-out", lambda: os.rename(d + "/e", c + "/e2")),
        ("rename-into", lambda: os.rename(c + "/o", d + "/o")),
        ("write-in", lambda: write_fd(d + "/e", os.O_WRONLY)),
        ("chmod", lambda: os.chmod(d, 0o750)),
        ("setxattr", lambda: os.setxattr(d, "user.y", b"1")),
        ("rmdir", lambda: os.rmdir(d)),
        ("listdir", lambda: os.listdir(d)),
    ]


def setup(c, uid):
    os.mkdir(c)
    os.chown(c, uid, uid)
    for name, data in (("f", b"hello\n"), ("o", b"other\n")):
        with open(c + "/" + name, "wb") as fh:
            fh.write(data)
        os.chown(c + "/" + name, uid, uid)
    os.setxattr(c + "/f", "user.x", b"1")
    os.mkdir(c + "/d")
    os.chown(c + "/d", uid, uid)
    with open(c + "/d/e", "wb") as fh:
        fh.write(b"e\n")
    os.chown(c + "/d/e", uid, uid)
    os.mkdir(c + "/d/sd")
    os.chown(c + "/d/sd", uid, uid)


def clear(c):
    for p in (c + "/f", c + "/d", c + "/f2", c + "/f3"):
        if os.path.lexists(p):
            setflags(p, getflags(p) & ~(IMMUTABLE | APPEND))
    shutil.rmtree(c)


def matrix(top):
    n = 0
    for who in ("root", "user"):
        uid = 0 if who == "root" else USER
        for target, ops in (("file", file_ops), ("dir", dir_ops)):
            for letter, bit in FLAGS.items():
                for i in range(len(ops(""))):
                    c = "%s/c%d" % (top, n)
                    n += 1
                    setup(c, uid)
                    victim = c + ("/f" if target == "file" else "/d")
                    # Opened for writing before the flag is set.
                    HELD[0] = os.open(c + "/f", os.O_WRONLY)
                    setflags(victim, getflags(victim) | bit)
                    name, fn = ops(c)[i]
                    out = attempt(fn) if who == "root" else as_user(fn)
                    print("%s %s +%s %s: %s" % (who, target, letter, name, out))
                    os.close(HELD[0])
                    clear(c)


def setflags_table(top):
    for who in ("root", "user"):
        uid = 0 if who == "root" else USER
        for target in ("file", "dir"):
            for letter, bit in LETTERS:
                c = top + "/s"
                setup(c, uid)
                p = c + ("/f" if target == "file" else "/d")
                before = getflags(p)

                def change(p=p, bit=bit):
                    setflags(p, getflags(p) | bit)

                out = attempt(change) if who == "root" else as_user(change)
                after = getflags(p)
                # And off again, by the same caller.
                def back(p=p, before=before):
                    setflags(p, before)

                out2 = attempt(back) if who == "root" else as_user(back)
                print("%s %s +%s: %s, flags %#x; back: %s, flags %#x"
                      % (who, target, letter, out, after & ~before, out2,
                         getflags(p) & ~before))
                clear(c)
    immutable_stays(top)


def xattr_table(top):
    # FS_XFLAG_ SYNC IMMUTABLE APPEND NODUMP NOATIME PROJINHERIT DAX, and
    # REALTIME (not ext4's).
    bits = [0x20, 0x8, 0x10, 0x80, 0x40, 0x200, 0x8000, 0x1]
    for target in ("file", "dir"):
        c = top + "/x"
        setup(c, 0)
        p = c + ("/f" if target == "file" else "/d")
        setflags(p, getflags(p) | 0x1)  # a flag FSSETXATTR does not name
        for bit in bits:
            out = attempt(lambda: setxflags(p, getxflags(p)[0] | bit, 0))
            x = getxflags(p)
            print("%s xflag %#x: %s, xflags %#x, flags %#x"
                  % (target, bit, out, x[0], getflags(p)))
            out = attempt(lambda: setxflags(p, 0, 0))
            print("%s xflags 0: %s, flags %#x" % (target, out, getflags(p)))
        out = attempt(lambda: setxflags(p, 0, 5))
        print("%s projid 5: %s, projid %d" % (target, out, getxflags(p)[3]))
        clear(c)


def immutable_stays(top):
    """On an immutable inode that stays immutable nothing else may change
    (ext4_ioctl_check_immutable); clearing immutable with another change
    in the same call is allowed."""
    c = top + "/m"
    setup(c, 0)
    p = c + "/f"
    base = getflags(p)
    setflags(p, base | IMMUTABLE)
    for what, new in (("+d", base | IMMUTABLE | 0x40), ("same", base | IMMUTABLE),
                      ("-i+d", base | 0x40)):
        print("immutable, %s: %s, flags %#x" % (what, attempt(lambda: setflags(p, new)),
                                               getflags(p) & ~base))
    clear(c)


def inherit(top):
    """What new inodes take from a directory with every inheritable flag
    that can be set (EXT4_FL_INHERITED, masked for the new inode's type)."""
    d = top + "/inh"
    os.mkdir(d)
    setflags(d, getflags(d) | 0x1 | 0x2 | 0x4 | 0x8 | 0x40 | 0x80 | 0x8000 | 0x10000
             | 0x20000 | 0x2000000 | 0x20000000)
    print("directory: flags %#x" % getflags(d))
    with open(d + "/file", "wb"):
        pass
    os.mkdir(d + "/dir")
    os.symlink("file", d + "/link")
    os.mkfifo(d + "/fifo")
    fd = os.open(d, os.O_TMPFILE | os.O_WRONLY, 0o600)
    buf = fcntl.ioctl(fd, FS_IOC_GETFLAGS, b"\0" * 4)
    os.close(fd)
    print("tmpfile: flags %#x" % struct.unpack("I", buf)[0])
    for name in ("file", "dir"):
        print("%s: flags %#x" % (name, getflags(d + "/" + name)))
    # A symlink or a fifo cannot take the ioctl (tests/integration/attr_flags.rs reads
    # theirs).
    for name in ("file", "dir", "link", "fifo"):
        os.unlink(d + "/" + name) if name != "dir" else os.rmdir(d + "/dir")
    os.rmdir(d)


def make(top):
    for name, bits in (("imm", IMMUTABLE), ("app", APPEND),
                       ("nodump_noatime", 0x40 | 0x80), ("sync", 0x8)):
        p = top + "/" + name
        with open(p, "wb") as fh:
            fh.write(name.encode())
        setflags(p, getflags(p) | bits)
    os.mkdir(top + "/dirsync")
    setflags(top + "/dirsync", getflags(top + "/dirsync") | 0x10000 | 0x40)


def show(top):
    for name in sorted(os.listdir(top)):
        p = top + "/" + name
        if name == "lost+found":
            continue
        x = getxflags(p)
        print("%s: flags %#x xflags %#x projid %d" % (name, getflags(p), x[0], x[3]))


EXTENTS = 0x80000


def exact(top):
    """Flags replaced outright, then reset to 0; then block mappings that
    ext4 migrates and those it refuses to, and migrated back."""
    c = top + "/x"
    for target in ("file", "dir"):
        for letter, bit in [("none", 0)] + LETTERS:
            setup(c, 0)
            p = c + ("/f" if target == "file" else "/d")
            # Written back first: with delayed allocation the kernel's
            # ext4 maps new data unwritten until its write-back ends, and
            # refuses to migrate an unwritten extent meanwhile.
            fd = os.open(p, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
            out = attempt(lambda: setflags(p, bit))
            after = getflags(p)
            out2 = attempt(lambda: setflags(p, 0))
            print("%s =%s: %s, flags %#x; =0: %s, flags %#x"
                  % (target, letter, out, after, out2, getflags(p)))
            clear(c)
    os.mkdir(c)
    bs = os.statvfs(c).f_bsize
    # name: (first block, blocks) written, or None for a preallocation.
    shapes = [("empty", []), ("direct", [(0, 3)]), ("two-runs", [(0, 1), (5, 1)]),
              ("past-direct", [(20, 1)]), ("thirteen", [(0, 13)]), ("prealloc", None)]
    for name, writes in shapes:
        p = c + "/" + name
        fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if writes is None:
                os.posix_fallocate(fd, 0, 2 * bs)
            for first, n in writes or []:
                os.pwrite(fd, bytes([65 + first % 26]) * (bs * n), first * bs)
            os.fsync(fd)
            before = os.pread(fd, 64 * bs, 0)
        finally:
            os.close(fd)
        out = attempt(lambda: setflags(p, getflags(p) & ~EXTENTS | 0x80))
        mid = getflags(p)
        same = open(p, "rb").read() == before
        out2 = attempt(lambda: setflags(p, getflags(p) | EXTENTS))
        print("%s: -e %s, flags %#x, data %s; +e %s, flags %#x, data %s"
              % (name, out, mid, "kept" if same else "CHANGED", out2, getflags(p),
                 "kept" if open(p, "rb").read() == before else "CHANGED"))
    shutil.rmtree(c)


def main():
    cmd, top = sys.argv[1], sys.argv[2]
    {"matrix": matrix, "setflags": setflags_table, "xattr": xattr_table, "inherit": inherit,
     "make": make, "show": show, "exact": exact}[cmd](top)


if __name__ == "__main__":
    main()
