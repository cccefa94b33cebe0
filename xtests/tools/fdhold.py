#!/usr/bin/env python3
"""Hold files open for a test and act on them on request.

usage: fdhold.py  (commands on stdin, one answer line per command on stdout)

  open NAME PATH          open PATH read-write as NAME          -> ok
  read NAME               pread everything from offset 0        -> sha256=<hex> len=<n>
  write NAME OFF TEXT     pwrite TEXT (utf-8) at OFF            -> ok
  fstat NAME              fstat                                 -> nlink N size N
  fsync NAME              fsync                                 -> ok
  close NAME              close                                 -> ok
  quit

Errors answer "error ENAME" (ESTALE, ENOTCONN, ...).  Meant to run as a
coprocess: the test shell never holds a descriptor of the FUSE mount
itself, so commands it forks while no server runs do not block in their
exit's FLUSH.
"""
import errno
import hashlib
import os
import sys

fds = {}


def ename(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def main():
    for line in sys.stdin:
        w = line.rstrip("\n").split(None, 3)
        if not w:
            continue
        try:
            if w[0] == "quit":
                break
            if w[0] == "open":
                fds[w[1]] = os.open(w[2], os.O_RDWR)
                r = "ok"
            elif w[0] == "read":
                b = bytearray()
                while True:
                    c = os.pread(fds[w[1]], 1 << 20, len(b))
                    if not c:
                        break
                    b += c
                r = "sha256=%s len=%d" % (hashlib.sha256(b).hexdigest(), len(b))
            elif w[0] == "write":
                os.pwrite(fds[w[1]], w[3].encode(), int(w[2]))
                r = "ok"
            elif w[0] == "fstat":
                st = os.fstat(fds[w[1]])
                r = "nlink %d size %d" % (st.st_nlink, st.st_size)
            elif w[0] == "fsync":
                os.fsync(fds[w[1]])
                r = "ok"
            elif w[0] == "close":
                os.close(fds.pop(w[1]))
                r = "ok"
            else:
                r = "unknown command"
        except OSError as e:
            r = "error " + ename(e)
        except (KeyError, IndexError, ValueError) as e:
            r = "bad command: %r" % (e,)
        print(r, flush=True)


if __name__ == "__main__":
    main()
