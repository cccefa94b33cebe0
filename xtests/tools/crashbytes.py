#!/usr/bin/env python3
"""Size changes and fallocate across a server crash, byte for byte, for rw/027.

    crashbytes.py fixture DIR            the files every case starts from
    crashbytes.py opcode CASE            OPCODE@N: where its crash point waits
    crashbytes.py run   MNT CASE RESULT  the case's calls; RESULT gets the outcome
    crashbytes.py check MNT CASE RESULT  the bytes fuse4fs serves afterwards
    crashbytes.py kern  DIR CASE RESULT  the bytes another mount shows

`fixture` writes the files the image is made from (mkfs.ext4 -d): f, 16 KiB
of 0xAA, and g, 5000 bytes of 0xBB (its last block only partly used).

`opcode` names the request the case's crash waits for and which of its
hits (FUSE4FS_CRASH=POINT:OPCODE@N): the first SETATTR or FALLOCATE, the
second SETATTR for `truncate-up`, the first FSYNC for a `+fsync` case.

`run` makes the case's calls in order (truncate(2), fallocate(2), and for
the `+fsync` variants an fsync of the file at the end) and writes "ok", or
the first call that failed and its errno, to RESULT.  When a call never
returns RESULT is never written.

`check` and `kern` print one line per problem and nothing when all is
right: the outcome, and every byte of every file against what the calls
make of the fixture (size, then the first differing stretch, e.g. stale
0xAA where zeros belong).  `check` reads each file twice through the
mount, once after dropping the page cache and once with O_DIRECT, so that
neither the kernel's cached pages nor the server's answer alone decide.
"""

import errno
import mmap
import os
import sys

from xtlibc import (FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE,
                    FALLOC_FL_ZERO_RANGE, fallocate_path)

FIXTURE = {"f": b"\xaa" * 16384, "g": b"\xbb" * 5000}

PUNCH = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
ZERO = FALLOC_FL_ZERO_RANGE
KEEP = FALLOC_FL_KEEP_SIZE

# name: calls, each ("truncate", file, size) or ("fallocate", file, mode,
# offset, length).  A call after the one that crashes shows what the
# crashed one left past the end of the file.
CASES = {
    # the crash in the truncate down; growing again shows its tail
    "truncate-down": [("truncate", "f", 100), ("truncate", "f", 16384)],
    # the crash in the truncate up that follows a truncate down
    "truncate-up": [("truncate", "f", 100), ("truncate", "f", 16384)],
    # edges in two blocks, one whole block between
    "punch": [("fallocate", "f", PUNCH, 100, 5000)],
    # both edges in one block
    "punch-in-block": [("fallocate", "f", PUNCH, 5000, 1000)],
    "zero": [("fallocate", "f", ZERO, 100, 5000)],
    # past the end: the size stays, the blocks past it are zeroed or
    # unwritten, which growing the file shows
    "zero-keep": [("fallocate", "f", ZERO | KEEP, 10000, 10000),
                  ("truncate", "f", 20480)],
    "alloc": [("fallocate", "g", 0, 0, 12000)],
    "alloc-keep": [("fallocate", "g", KEEP, 0, 12000), ("truncate", "g", 12000)],
}

# The opcode each case's crash point waits for, and at which of its hits.
CRASH_AT = {
    "truncate-down": ("SETATTR", 1),
    "truncate-up": ("SETATTR", 2),
    "punch": ("FALLOCATE", 1),
    "punch-in-block": ("FALLOCATE", 1),
    "zero": ("FALLOCATE", 1),
    "zero-keep": ("FALLOCATE", 1),
    "alloc": ("FALLOCATE", 1),
    "alloc-keep": ("FALLOCATE", 1),
}


def split(case):
    """(base case, whether an fsync ends it)."""
    if case.endswith("+fsync"):
        return case[:-len("+fsync")], True
    return case, False


def expected(case):
    """name -> the bytes each file must hold after the case's calls."""
    files = {k: bytearray(v) for k, v in FIXTURE.items()}
    for call in CASES[split(case)[0]]:
        data = files[call[1]]
        if call[0] == "truncate":
            size = call[2]
            del data[size:]
            data.extend(bytes(size - len(data)))
            continue
        _, _, mode, off, length = call
        end = off + length
        if mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE):
            stop = min(end, len(data))
            if off < stop:
                data[off:stop] = bytes(stop - off)
        if not mode & FALLOC_FL_KEEP_SIZE and end > len(data):
            data.extend(bytes(end - len(data)))
    return {k: bytes(v) for k, v in files.items()}


def do_call(root, call):
    path = os.path.join(root, call[1])
    if call[0] == "truncate":
        os.truncate(path, call[2])
        return
    _, _, mode, off, length = call
    fallocate_path(path, mode, off, length, os.O_RDWR)


def fsync(root, name):
    fd = os.open(os.path.join(root, name), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def describe(got, want):
    """The first difference between two byte strings, in words."""
    if len(got) != len(want):
        return "size %d, expected %d" % (len(got), len(want))
    i = next(k for k in range(len(got)) if got[k] != want[k])
    j = i
    while j < len(got) and got[j] != want[j]:
        j += 1
    bad = sum(1 for a, b in zip(got, want) if a != b)
    return ("%d bytes differ; first at %d..%d: %r where %r belongs"
            % (bad, i, j, bytes(got[i:i + 4]), bytes(want[i:i + 4])))


def read_plain(path):
    with open(path, "rb") as f:
        return f.read()


def read_direct(path):
    """The file read with O_DIRECT in page-aligned chunks."""
    size = os.stat(path).st_size
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    out = bytearray()
    buf = mmap.mmap(-1, 65536)
    try:
        while len(out) < size:
            n = os.preadv(fd, [buf], len(out))
            if n == 0:
                break
            out += buf[:n]
    finally:
        os.close(fd)
        buf.close()
    return bytes(out)


def drop_caches():
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def compare(root, case, result, through_mount):
    problems = []
    if result is None:
        return ["the calls did not finish"]
    if result != "ok":
        problems.append("the calls returned %s, expected ok" % result)
    want = expected(case)
    if through_mount:
        drop_caches()
    for name in sorted(want):
        path = os.path.join(root, name)
        readers = [("", read_plain)]
        if through_mount:
            readers = [(" (after drop_caches)", read_plain),
                       (" (O_DIRECT)", read_direct)]
        for how, read in readers:
            try:
                got = read(path)
            except OSError as e:
                problems.append("%s%s: %s" % (name, how, e))
                continue
            if got != want[name]:
                problems.append("%s%s: %s" % (name, how, describe(got, want[name])))
    return problems


def main():
    cmd = sys.argv[1]
    if cmd == "fixture":
        for name, data in FIXTURE.items():
            with open(os.path.join(sys.argv[2], name), "wb") as f:
                f.write(data)
        return
    if cmd == "opcode":
        op, nth = CRASH_AT[split(sys.argv[2])[0]]
        if split(sys.argv[2])[1]:
            op, nth = "FSYNC", 1
        print("%s@%d" % (op, nth))
        return
    root, case, result_path = sys.argv[2:5]
    base, sync = split(case)
    if base not in CASES:
        sys.exit("unknown case %s" % case)
    if cmd == "run":
        result = "ok"
        for call in CASES[base]:
            try:
                do_call(root, call)
            except OSError as e:
                result = "%s: %s" % (call, errno.errorcode.get(e.errno, e.errno))
                break
        if result == "ok" and sync:
            for name in FIXTURE:
                try:
                    fsync(root, name)
                except OSError as e:
                    result = "fsync %s: %s" % (name, errno.errorcode.get(e.errno, e.errno))
                    break
        with open(result_path + ".tmp", "w") as f:
            f.write(result + "\n")
        os.rename(result_path + ".tmp", result_path)
        return
    if cmd in ("check", "kern"):
        try:
            with open(result_path) as f:
                result = f.read().strip()
        except FileNotFoundError:
            result = None
        for p in compare(root, case, result, cmd == "check"):
            print(p)
        return
    sys.exit("unknown command %s" % cmd)


if __name__ == "__main__":
    main()
