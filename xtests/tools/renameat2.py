#!/usr/bin/env python3
"""renameat2(2) from the shell, which has no command for its flags.

    renameat2.py [--as UID:GID] FLAGS OLD NEW

FLAGS: "-" for none, or names joined by "|": noreplace, exchange,
whiteout.  --as drops to that user and group (no supplementary groups)
first.  Prints "ok" or the errno's name (EINVAL, EEXIST, ...) and exits
0 either way; a bad command line exits with a message.
"""

import ctypes
import errno
import os
import platform
import sys

FLAGS = {"noreplace": 1, "exchange": 2, "whiteout": 4}
# renameat2's syscall number by machine (glibc's wrapper may be missing).
SYS_RENAMEAT2 = {"x86_64": 316, "aarch64": 276, "riscv64": 276, "i686": 353}
AT_FDCWD = -100


def main():
    args = sys.argv[1:]
    if len(args) == 5 and args[0] == "--as":
        uid, gid = (int(x) for x in args[1].split(":"))
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        args = args[2:]
    if len(args) != 3:
        sys.exit(__doc__)
    spec, old, new = args
    flags = 0
    if spec != "-":
        for name in spec.split("|"):
            if name not in FLAGS:
                sys.exit("unknown flag %r" % name)
            flags |= FLAGS[name]
    nr = SYS_RENAMEAT2.get(platform.machine())
    if nr is None:
        sys.exit("no renameat2 syscall number for %s" % platform.machine())
    libc = ctypes.CDLL(None, use_errno=True)
    r = libc.syscall(nr, AT_FDCWD, old.encode(), AT_FDCWD, new.encode(),
                     ctypes.c_uint(flags))
    if r == 0:
        print("ok")
    else:
        e = ctypes.get_errno()
        print(errno.errorcode.get(e, str(e)))


if __name__ == "__main__":
    main()
