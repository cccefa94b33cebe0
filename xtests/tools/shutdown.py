#!/usr/bin/env python3
"""FS_IOC_SHUTDOWN and a workload to shut down under, for rw/047 and rw/048.

    shutdown.py down PATH FLAGS      ioctl(FS_IOC_SHUTDOWN, FLAGS) on PATH
    shutdown.py held PATH FLAGS      the same through a descriptor of PATH
                                     that read it, then a read through it
    shutdown.py ioctl PATH CMD       an ioctl with an 8-byte buffer (CMD hex)
    shutdown.py workload DIR LOG     create and write files until an error
    shutdown.py verify DIR LOG       every file LOG names, whole, under DIR
    shutdown.py count DIR            how many workload files DIR has

`down` and `ioctl` print "ok" or the errno name.  `workload` creates
DIR/d0..d3, then files DIR/dN/wNNNNN of a size and contents given by their
number, appending "NAME" to LOG (flushed) once a file is written and
closed; at the first error it prints the errno name of it and exits 0.
`verify` prints "all answered files there" or one line per missing or
wrong file (at most 20) and their count (the number of files LOG names
goes to stderr); `count` prints how many wNNNNN files DIR has.
"""

import errno
import fcntl
import hashlib
import os
import struct
import sys

FS_IOC_SHUTDOWN = 0x8004587D


def ename(e):
    return errno.errorcode.get(e, str(e))


def content(i):
    # 1 KiB to 24 KiB, different for every file.
    n = 1024 * (1 + i % 24)
    seed = hashlib.sha256(b"w%d" % i).digest()
    return (seed * (n // len(seed) + 1))[:n]


def name(i):
    return "d%d/w%05d" % (i % 4, i)


def ioctl(path, cmd, buf):
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.ioctl(fd, cmd, buf)
        return "ok"
    except OSError as e:
        return ename(e.errno)
    finally:
        os.close(fd)


def held(path, flags):
    fd = os.open(path, os.O_RDONLY)
    try:
        while os.read(fd, 1 << 16):
            pass
        try:
            fcntl.ioctl(fd, FS_IOC_SHUTDOWN, struct.pack("I", flags))
            print("shutdown: ok")
        except OSError as e:
            print("shutdown: " + ename(e.errno))
        try:
            os.pread(fd, 4096, 0)
            print("read through a descriptor opened before: ok")
        except OSError as e:
            print("read through a descriptor opened before: " + ename(e.errno))
    finally:
        os.close(fd)


def workload(top, log):
    with open(log, "a") as out:
        try:
            for d in range(4):
                os.makedirs(os.path.join(top, "d%d" % d), exist_ok=True)
            i = 0
            while True:
                with open(os.path.join(top, name(i)), "wb") as f:
                    f.write(content(i))
                out.write(name(i) + "\n")
                out.flush()
                i += 1
        except OSError as e:
            print(ename(e.errno))


def verify(top, log):
    with open(log) as f:
        names = [line.strip() for line in f if line.strip()]
    bad = []
    for n in names:
        i = int(n.rsplit("w", 1)[1])
        try:
            with open(os.path.join(top, n), "rb") as f:
                got = f.read()
        except OSError as e:
            bad.append("%s: %s" % (n, ename(e.errno)))
            continue
        if got != content(i):
            bad.append("%s: %d bytes, not the %d written" % (n, len(got), len(content(i))))
    print("%d files answered" % len(names), file=sys.stderr)
    if not bad:
        print("all answered files there")
        return
    for b in bad[:20]:
        print(b)
    print("%d of %d files missing or wrong" % (len(bad), len(names)))


def count(top):
    n = 0
    for d in range(4):
        try:
            n += sum(1 for e in os.listdir(os.path.join(top, "d%d" % d)) if e.startswith("w"))
        except FileNotFoundError:
            pass
    print(n)


def main():
    cmd = sys.argv[1]
    if cmd == "down":
        print(ioctl(sys.argv[2], FS_IOC_SHUTDOWN, struct.pack("I", int(sys.argv[3]))))
    elif cmd == "held":
        held(sys.argv[2], int(sys.argv[3]))
    elif cmd == "ioctl":
        print(ioctl(sys.argv[2], int(sys.argv[3], 16), bytes(8)))
    elif cmd == "workload":
        workload(sys.argv[2], sys.argv[3])
    elif cmd == "verify":
        verify(sys.argv[2], sys.argv[3])
    elif cmd == "count":
        count(sys.argv[2])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
