#!/usr/bin/env python3
"""Many O_TMPFILE files (orphans from the moment they exist), for rw/054.

  orphans.py rates DIR N PROCS
      PROCS processes open N O_TMPFILE files in DIR between them, all
      open at once, then close them all; prints one line on stdout:
      "opened N closed N free inodes back" when the free inode count
      (statvfs) is back where it was, and on stderr the rates: opens/s
      (first open to last open) and closes/s (first close until the free
      inode count is back, i.e. until the server has freed them all).
  orphans.py hold DIR N PROCS
      PROCS processes open N O_TMPFILE files between them, write a few
      bytes to each; prints "held N"; then reads commands on stdin, one
      answer line each:
      "check" (every file still reads back its bytes and has nlink 0:
      "ok" or the first failure), "close" (closes them all: "closed"),
      "quit".

A process may hold at most RLIMIT_NOFILE descriptors: the soft limit is
raised to the hard one; a share above it fails the opens (EMFILE).
"""

import multiprocessing as mp
import os
import resource
import sys
import time


def raise_nofile():
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def rates_worker(d, n, q, go_open, go_close):
    raise_nofile()
    try:
        go_open.wait()
        t0 = time.monotonic()
        fds = [os.open(d, os.O_TMPFILE | os.O_RDWR, 0o600) for _ in range(n)]
        q.put(("opened", t0, time.monotonic()))
        go_close.wait()
        for fd in fds:
            os.close(fd)
        q.put(("closed", 0, 0))
    except OSError as e:
        q.put(("error", str(e), 0))


def rates(d, n, procs):
    share = n // procs
    free0 = os.statvfs(d).f_ffree
    q = mp.Queue()
    go_open, go_close = mp.Event(), mp.Event()
    ps = [
        mp.Process(target=rates_worker, args=(d, share, q, go_open, go_close))
        for _ in range(procs)
    ]
    for p in ps:
        p.start()
    go_open.set()
    got = [q.get() for _ in ps]
    errors = [g[1] for g in got if g[0] == "error"]
    if errors:
        go_close.set()
        sys.exit(f"open failed: {errors[0]}")
    t0 = min(g[1] for g in got)
    t1 = max(g[2] for g in got)
    go_close.set()
    got = [q.get() for _ in ps]
    errors = [g[1] for g in got if g[0] == "error"]
    if errors:
        sys.exit(f"close failed: {errors[0]}")
    # The closes return at once (RELEASE is asynchronous): the server is
    # done when every inode is free again.
    deadline = time.monotonic() + 600
    while os.statvfs(d).f_ffree < free0:
        if time.monotonic() > deadline:
            sys.exit("free inode count not back after 600 s")
        time.sleep(0.005)
    t2 = time.monotonic()
    for p in ps:
        p.join()
    total = share * procs
    print(f"opened {total} closed {total} free inodes back")
    print(
        f"{total} tmpfiles, {procs} processes: {total / (t1 - t0):.0f} opens/s, "
        f"{total / (t2 - t1):.0f} closes/s, {t2 - t0:.2f} s in all",
        file=sys.stderr,
    )


def hold_worker(d, first, n, conn):
    raise_nofile()
    fds = []
    try:
        for i in range(first, first + n):
            fd = os.open(d, os.O_TMPFILE | os.O_RDWR, 0o600)
            os.pwrite(fd, b"orphan %d" % i, 0)
            fds.append((i, fd))
    except OSError as e:
        conn.send(f"open: {e.strerror}")
        return
    conn.send("ok")
    while True:
        cmd = conn.recv()
        if cmd == "check":
            bad = "ok"
            for i, fd in fds:
                try:
                    want = b"orphan %d" % i
                    got = os.pread(fd, len(want), 0)
                    nlink = os.fstat(fd).st_nlink
                except OSError as e:
                    bad = f"file {i}: {e.strerror}"
                    break
                if got != want or nlink != 0:
                    bad = f"file {i}: {got!r} nlink {nlink}"
                    break
            conn.send(bad)
        elif cmd == "close":
            for _, fd in fds:
                os.close(fd)
            fds = []
            conn.send("ok")
        else:
            conn.send("ok")
            return


def hold(d, n, procs):
    share = n // procs
    pipes = [mp.Pipe() for _ in range(procs)]
    ps = [
        mp.Process(target=hold_worker, args=(d, k * share, share, child))
        for k, (_, child) in enumerate(pipes)
    ]
    for p in ps:
        p.start()

    def everyone(cmd):
        if cmd is not None:
            for parent, _ in pipes:
                parent.send(cmd)
        answers = [parent.recv() for parent, _ in pipes]
        return next((a for a in answers if a != "ok"), "ok")

    first = everyone(None)
    print(f"held {share * procs}" if first == "ok" else first, flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "check":
            print(everyone("check"), flush=True)
        elif cmd == "close":
            a = everyone("close")
            print("closed" if a == "ok" else a, flush=True)
        elif cmd == "quit":
            break
        else:
            print(f"unknown command {cmd}", flush=True)
    everyone("quit")
    for p in ps:
        p.join()


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "rates":
        rates(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) == 5 and sys.argv[1] == "hold":
        hold(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
