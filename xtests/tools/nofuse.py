#!/usr/bin/env python3
"""What the kernel's FUSE client does not carry to a server, for rw/061.

    nofuse.py DIR

Makes DIR/a (three 4 KiB blocks of data) and DIR/b (empty), then tries
each call below on them and prints "NAME: RESULT", RESULT being "ok" (with
what the call returned, where that differs between filesystems) or the
errno name:

    fiemap          FS_IOC_FIEMAP on a: "ok, N extents"
    fibmap          FIBMAP of block 0 of a: "ok, a block" or "ok, block 0"
    copy_file_range a's first block into b (carried: FUSE_COPY_FILE_RANGE)
    seek_hole       lseek(SEEK_HOLE) on a (carried: FUSE_LSEEK)
    collapse range  fallocate(FALLOC_FL_COLLAPSE_RANGE) of a's first block
    insert range    fallocate(FALLOC_FL_INSERT_RANGE) at a's first block
    ficlone         FICLONE of a into b (what `cp --reflink` calls)
    ficlonerange    FICLONERANGE of a's first block into b
    dedupe          FIDEDUPERANGE of a's first block against b's
    freeze          FIFREEZE on DIR (then FITHAW if it worked)
    getfsuuid       FS_IOC_GETFSUUID on DIR: "ok, N bytes"
    getfssysfspath  FS_IOC_GETFSSYSFSPATH on DIR: "ok, ext4/..." (the
                    device part left out)

The calls that need capabilities (FIBMAP: CAP_SYS_RAWIO, FIFREEZE:
CAP_SYS_ADMIN) are made as root.  Nothing here changes a's contents when
the call is refused; DIR is left with a and b.
"""

import errno
import fcntl
import os
import struct
import sys

from xtlibc import FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_INSERT_RANGE, fallocate

FS_IOC_FIEMAP = 0xC020660B
FIBMAP = 1
FICLONE = 0x40049409
FICLONERANGE = 0x4020940D
FIDEDUPERANGE = 0xC0189436
FIFREEZE = 0xC0045877
FITHAW = 0xC0045878
FS_IOC_GETFSUUID = 0x80111500  # _IOR(0x15, 0, struct fsuuid2): len + 16 bytes
FS_IOC_GETFSSYSFSPATH = 0x80811501  # _IOR(0x15, 1, struct fs_sysfs_path): len + 128
SEEK_HOLE = 4
BLOCK = 4096



def ename(e):
    return errno.errorcode.get(e, str(e))


def fiemap(a, _b, _d):
    # struct fiemap: start, length, flags, mapped, count, reserved; then
    # room for 8 struct fiemap_extent of 56 bytes.
    buf = bytearray(struct.pack("=QQIIII", 0, 2**64 - 1, 0, 0, 8, 0) + bytes(8 * 56))
    fcntl.ioctl(a, FS_IOC_FIEMAP, buf)
    return "ok, %d extents" % struct.unpack_from("=I", buf, 20)[0]


def fibmap(a, _b, _d):
    buf = bytearray(struct.pack("=i", 0))
    fcntl.ioctl(a, FIBMAP, buf)
    return "ok, a block" if struct.unpack("=i", buf)[0] else "ok, block 0"


def collapse(a, _b, _d):
    fallocate(a, FALLOC_FL_COLLAPSE_RANGE, 0, BLOCK)
    return "ok"


def insert(a, _b, _d):
    fallocate(a, FALLOC_FL_INSERT_RANGE, 0, BLOCK)
    return "ok"


def ficlone(a, b, _d):
    fcntl.ioctl(b, FICLONE, a)
    return "ok"


def ficlonerange(a, b, _d):
    fcntl.ioctl(b, FICLONERANGE, struct.pack("=qQQQ", a, 0, BLOCK, 0))
    return "ok"


def dedupe(a, b, _d):
    # struct file_dedupe_range with one file_dedupe_range_info: the
    # per-destination status says what happened when the call itself works.
    buf = bytearray(struct.pack("=QQHHI", 0, BLOCK, 1, 0, 0) + struct.pack("=qQQiI", b, 0, 0, 0, 0))
    fcntl.ioctl(a, FIDEDUPERANGE, buf)
    status = struct.unpack_from("=i", buf, 24 + 24)[0]
    return "ok" if status >= 0 else "ok, status " + ename(-status)


def freeze(_a, _b, d):
    fcntl.ioctl(d, FIFREEZE, struct.pack("=i", 0))
    fcntl.ioctl(d, FITHAW, struct.pack("=i", 0))
    return "ok"


def getfsuuid(_a, _b, d):
    buf = bytearray(17)
    fcntl.ioctl(d, FS_IOC_GETFSUUID, buf)
    return "ok, %d bytes" % buf[0]


def getfssysfspath(_a, _b, d):
    buf = bytearray(129)
    fcntl.ioctl(d, FS_IOC_GETFSSYSFSPATH, buf)
    path = bytes(buf[1:1 + buf[0]]).decode(errors="replace")
    return "ok, %s/..." % path.split("/")[0]


def copy_range(a, b, _d):
    n = os.copy_file_range(a, b, BLOCK, 0, 0)
    return "ok" if n == BLOCK else "ok, %d bytes" % n


def seek_hole(a, _b, _d):
    return "ok, hole at %d" % os.lseek(a, 0, SEEK_HOLE)


PROBES = [
    ("fiemap", fiemap),
    ("fibmap", fibmap),
    ("copy_file_range", copy_range),
    ("seek_hole", seek_hole),
    ("collapse range", collapse),
    ("insert range", insert),
    ("ficlone", ficlone),
    ("ficlonerange", ficlonerange),
    ("dedupe", dedupe),
    ("freeze", freeze),
    ("getfsuuid", getfsuuid),
    ("getfssysfspath", getfssysfspath),
]


def main():
    d = sys.argv[1]
    data = bytes(range(256)) * (3 * BLOCK // 256)
    # os.open, not open(): Python's open() asks isatty(), an ioctl that
    # FUSE carries, and the test counts the ioctls the server sees.
    a = os.open(os.path.join(d, "a"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    b = os.open(os.path.join(d, "b"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(a, data)
    os.fsync(a)
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    for name, probe in PROBES:
        try:
            result = probe(a, b, dfd)
        except OSError as e:
            result = ename(e.errno)
        print("%s: %s" % (name, result))
    # A refused collapse or insert must leave a as it was.
    intact = os.pread(a, len(data) + 1, 0) == data
    print("a unchanged" if intact else "a changed")
    for fd in (a, b, dfd):
        os.close(fd)


if __name__ == "__main__":
    main()
