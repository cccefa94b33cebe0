#!/usr/bin/env python3
"""A deterministic workload for bigalloc images, run the same on a fuse4fs
mount and on a kernel ext4 mount so that their free space can be compared.

Every offset and length is chosen not to fall on a cluster boundary (the
cluster is 16 KiB or 64 KiB, the block 1 KiB or 4 KiB): symlinks, writes into holes
next to mapped blocks of the same cluster, extends, truncates into a
cluster, punches and zero-ranges with partial clusters at both edges,
fallocate, many small files, a deep tree, xattrs that need a block.

    bigalloc_workload.py MNT build    # leaves a tree behind
    bigalloc_workload.py MNT unlink   # removes everything build made
"""

import ctypes
import ctypes.util
import os
import sys

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE = 0x01, 0x02, 0x10


def fallocate(fd, mode, off, length):
    if libc.fallocate(fd, mode, off, length) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def pattern(seed, n):
    """n bytes that differ from one seed to another."""
    base = bytes((seed * 7 + i) % 251 for i in range(251))
    return (base * (n // 251 + 1))[:n]


def pwrite(path, off, data, mode=os.O_WRONLY | os.O_CREAT):
    fd = os.open(path, mode, 0o644)
    try:
        os.pwrite(fd, data, off)
        # The kernel then allocates as it goes, as fuse4fs does (no
        # delayed allocation to merge or drop blocks before writeback).
        os.fsync(fd)
    finally:
        os.close(fd)


def with_fd(path, fn):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fn(fd)
    finally:
        os.close(fd)


def build(mnt):
    os.makedirs(os.path.join(mnt, "small"))
    # Many small files: each takes a cluster of its own.
    for i in range(120):
        pwrite(os.path.join(mnt, "small", "f%03d" % i), 0, pattern(i, 1 + i * 37))
    # A deep tree with a file at each level.
    d = os.path.join(mnt, "deep")
    for i in range(20):
        d = os.path.join(d, "d%02d" % i)
        os.makedirs(d)
        pwrite(os.path.join(d, "leaf"), 0, pattern(i, 100 + i))
    # A slow symlink (its target in a data block: a cluster) and a fast one.
    os.symlink("t" * 200, os.path.join(mnt, "small", "slow-link"))
    os.symlink("f001", os.path.join(mnt, "small", "fast-link"))
    # A directory big enough for several directory blocks.
    wide = os.path.join(mnt, "wide")
    os.makedirs(wide)
    for i in range(300):
        open(os.path.join(wide, "entry-with-a-long-name-%04d" % i), "w").close()
    # Sparse file: scattered writes into holes, some sharing a cluster.
    sp = os.path.join(mnt, "sparse")
    for k, off in enumerate([5000, 1, 70000, 73000, 300001, 1 << 20, 3_000_007, 2_999_000]):
        pwrite(sp, off, pattern(k, 3001))
    # Extended past a cluster, then truncated into the middle of one.
    ext = os.path.join(mnt, "extend")
    pwrite(ext, 0, pattern(1, 100_000))
    pwrite(ext, 250_000, pattern(2, 12_345))
    truncate(ext, 170_003)
    truncate(ext, 400_009)
    truncate(ext, 90_001)
    # Punch holes with partial clusters at both edges, then refill part.
    ph = os.path.join(mnt, "punch")
    pwrite(ph, 0, pattern(3, 600_000))
    with_fd(ph, lambda fd: fallocate(fd, PUNCH_HOLE | KEEP_SIZE, 10_000, 170_001))
    with_fd(ph, lambda fd: fallocate(fd, PUNCH_HOLE | KEEP_SIZE, 300_500, 3_000))
    with_fd(ph, lambda fd: fallocate(fd, PUNCH_HOLE | KEEP_SIZE, 400_000, 150_000))
    pwrite(ph, 20_001, pattern(4, 9_000))
    pwrite(ph, 450_003, pattern(5, 70_000))
    # Zero ranges, unaligned, on written data and over holes.
    zr = os.path.join(mnt, "zero")
    pwrite(zr, 0, pattern(6, 500_000))
    with_fd(zr, lambda fd: fallocate(fd, ZERO_RANGE, 7_001, 100_003))
    with_fd(zr, lambda fd: fallocate(fd, ZERO_RANGE | KEEP_SIZE, 450_001, 200_000))
    pwrite(zr, 50_000, pattern(7, 1_000))
    # fallocate: past EOF, keep size, into the holes of a sparse file.
    fa = os.path.join(mnt, "falloc")
    pwrite(fa, 100_001, pattern(8, 2_000))
    with_fd(fa, lambda fd: fallocate(fd, 0, 3, 50_000))
    with_fd(fa, lambda fd: fallocate(fd, KEEP_SIZE, 200_003, 333_333))
    pwrite(fa, 210_000, pattern(9, 4_000))
    with_fd(fa, lambda fd: fallocate(fd, PUNCH_HOLE | KEEP_SIZE, 100_500, 100_000))
    # A file long enough for an extent tree below the root: every other
    # block written, so that each extent is one block.
    tree = os.path.join(mnt, "tree")
    fd = os.open(tree, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        bs = os.statvfs(mnt).f_bsize
        for i in range(0, 400, 2):
            os.pwrite(fd, pattern(i, 10), i * bs + 3)
        os.fsync(fd)
        fallocate(fd, PUNCH_HOLE | KEEP_SIZE, 37 * bs + 11, 150 * bs)
        os.ftruncate(fd, 300 * bs + 5)
    finally:
        os.close(fd)
    # xattrs: small ones in the inode, big ones in an xattr block.
    for i in range(10):
        f = os.path.join(mnt, "small", "f%03d" % i)
        os.setxattr(f, "user.a", pattern(i, 20))
        if i % 2:
            os.setxattr(f, "user.big", pattern(i, 600))
    os.removexattr(os.path.join(mnt, "small", "f003"), "user.big")


def truncate(path, size):
    fd = os.open(path, os.O_RDWR)
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    finally:
        os.close(fd)


def unlink(mnt):
    for root, dirs, files in os.walk(mnt, topdown=False):
        for f in files:
            os.unlink(os.path.join(root, f))
        for d in dirs:
            if root == mnt and d == "lost+found":
                continue
            os.rmdir(os.path.join(root, d))


def main():
    mnt, what = sys.argv[1], sys.argv[2]
    {"build": build, "unlink": unlink}[what](mnt)


if __name__ == "__main__":
    main()
