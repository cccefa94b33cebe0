#!/usr/bin/env python3
"""fallocate(2) ranges that reach past EOF, for rw/095.

usage: eofalloc.py run DIR      make one file per case under DIR and print
                                "CASE: size S blocks B mtime M sha H"
       eofalloc.py map IMAGE DIR  print each case's extents in IMAGE (from
                                debugfs: logical ranges, written or
                                Uninit, adjacent ones of a kind merged)

The kernel's ext4 (6.18) punches no further than the end of the page
that holds EOF (nothing at all when the range starts at or past EOF), so
a KEEP_SIZE preallocation past EOF outlives a punch over it.  Both times
change in every mode, even when nothing was allocated or punched.  Each case writes data, may preallocate with
KEEP_SIZE, then makes one fallocate call; sizes are chosen around the
page (4096) and the 1 KiB and 4 KiB block sizes.
"""
import ctypes
import hashlib
import os
import re
import subprocess
import sys

KEEP = 0x01
PUNCH = 0x02
ZERO = 0x10
MIB = 1 << 20

libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]

# name: (bytes written at offset 0 (or (offset, length)), KEEP_SIZE
# preallocation (offset, length) or None, the call (mode, offset, length))
CASES = {
    "punch-from-0": (10000, (0, MIB), (PUNCH | KEEP, 0, MIB)),
    "punch-empty": (0, (0, MIB), (PUNCH | KEEP, 0, MIB)),
    "punch-aligned-eof": (8192, (0, MIB), (PUNCH | KEEP, 4096, MIB)),
    "punch-past-eof": (10000, (0, MIB), (PUNCH | KEEP, 20000, 100000)),
    "punch-at-eof": (10000, (0, MIB), (PUNCH | KEEP, 10000, 4096)),
    "punch-across-eof": (10000, (0, MIB), (PUNCH | KEEP, 9000, 8000)),
    "punch-inside": (20000, (0, MIB), (PUNCH | KEEP, 4096, 8192)),
    "punch-no-prealloc": ((100000, 10000), None, (PUNCH | KEEP, 0, MIB)),
    "zero-keep-across-eof": (10000, (0, 65536), (ZERO | KEEP, 9000, 100000)),
    "zero-across-eof": (10000, None, (ZERO, 9000, 100000)),
    "zero-keep-past-eof": (10000, None, (ZERO | KEEP, 50000, 10000)),
    "alloc-keep-across-eof": (10000, None, (KEEP, 5000, 50000)),
    "alloc-inside": (10000, None, (0, 0, 4096)),
    "alloc-extend": (10000, None, (0, 8192, 8192)),
}


def fallocate(fd, mode, off, length):
    if libc.fallocate(fd, mode, off, length) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def run(top):
    for name, (data, prealloc, (mode, off, length)) in CASES.items():
        path = os.path.join(top, name)
        where, count = (0, data) if isinstance(data, int) else data
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            if count:
                os.pwrite(fd, bytes((i * 7 + 1) & 0xFF for i in range(count)), where)
            if prealloc:
                fallocate(fd, KEEP, *prealloc)
            os.fsync(fd)
            os.utime(fd, (0, 0))
            try:
                fallocate(fd, mode, off, length)
                res = "ok"
            except OSError as e:
                res = os.strerror(e.errno)
            st = os.fstat(fd)
            body = os.pread(fd, st.st_size, 0)
        finally:
            os.close(fd)
        print(f"{name}: {res} size {st.st_size} blocks {st.st_blocks} "
              f"mtime {'changed' if st.st_mtime else 'kept'} "
              f"sha {hashlib.sha256(body).hexdigest()[:16]}")


def extents(img, path):
    out = subprocess.run(["debugfs", "-R", "ex " + path, img], capture_output=True,
                         text=True, check=True).stdout
    runs = []  # [first, last, flag]; adjacent runs of one kind are merged,
    # so that how a tree splits its extents does not count
    for line in out.splitlines():
        # " 0/ 0   1/  2     0 -     8 32769 - 32777      9 Uninit"
        m = re.match(r"\s*(\d+)/\s*(\d+)\s+\d+/\s*\d+\s+(\d+)\s*-\s*(\d+)\s+\d+\s*-\s*\d+"
                     r"\s+(\d+)\s*(\S*)", line)
        if m and m.group(1) == m.group(2):
            first, last, flag = int(m.group(3)), int(m.group(4)), m.group(6)
            if runs and runs[-1][1] + 1 == first and runs[-1][2] == flag:
                runs[-1][1] = last
            else:
                runs.append([first, last, flag])
    return [f"{a}-{b}{' ' + f if f else ''}" for a, b, f in runs]


def show_map(img, top):
    for name in CASES:
        print(f"{name}: {', '.join(extents(img, top + '/' + name)) or 'no extents'}")


def main():
    if sys.argv[1:2] == ["run"] and len(sys.argv) == 3:
        run(sys.argv[2])
    elif sys.argv[1:2] == ["map"] and len(sys.argv) == 4:
        show_map(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
