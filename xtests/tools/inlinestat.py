#!/usr/bin/env python3
"""Inline-data layout of paths in an ext4 image, for rw/052 and rw/053.

    inlinestat.py bytes N SEED     N deterministic bytes (pattern SEED)
    inlinestat.py table IMG PATH…  per path, what `debugfs stat` says:
                                   type, flags, size, block count, links,
                                   the system.data xattr's size and the
                                   inline size ("-" when absent)
    inlinestat.py sums IMG PATH…   per regular file, an md5 of its bytes
                                   (`debugfs cat`)

Inode numbers and times are left out: they differ between two images
written by different drivers even when the layouts agree.
"""

import hashlib
import re
import subprocess
import sys


def debugfs(img, cmd):
    return subprocess.run(["debugfs", "-R", cmd, img], capture_output=True,
                          check=False).stdout


def field(text, pattern):
    m = re.search(pattern, text)
    return m.group(1) if m else "-"


def table(img, paths):
    for p in paths:
        t = debugfs(img, "stat /" + p).decode("utf-8", "replace")
        print(p, field(t, r"Type: (\w+)"),
              "flags=" + field(t, r"Flags: (0x[0-9a-f]+)"),
              "size=" + field(t, r"\sSize: (\d+)"),
              "blocks=" + field(t, r"Blockcount: (\d+)"),
              "links=" + field(t, r"Links: (\d+)"),
              "system.data=" + field(t, r"system\.data \((\d+)\)"),
              "inline=" + field(t, r"Size of inline data: (\d+)"))


def sums(img, paths):
    for p in paths:
        t = debugfs(img, "stat /" + p).decode("utf-8", "replace")
        if field(t, r"Type: (\w+)") != "regular":
            continue
        print(p, hashlib.md5(debugfs(img, "cat /" + p)).hexdigest())


def main():
    cmd = sys.argv[1]
    if cmd == "bytes":
        n, seed = int(sys.argv[2]), int(sys.argv[3])
        sys.stdout.buffer.write(bytes((seed * 31 + i * 7) % 251 + 1
                                      for i in range(n)))
    elif cmd == "table":
        table(sys.argv[2], sys.argv[3:])
    elif cmd == "sums":
        sums(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
