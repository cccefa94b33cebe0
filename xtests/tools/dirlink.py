"""dirlink.py DIR ROUNDS DELAY_US: forces the interleaving in which the
kernel's FUSE client keeps a directory's old attributes after a change
in it, and checks what POSIX and the kernel's ext4 promise: a stat that
begins after mkdir (rmdir) returned shows the new link count.

The kernel marks a directory's attributes stale after an entry change in
it (fuse_dir_changed) without moving its attribute version, so a GETATTR
reply built before the change and applied after it is kept, for the
whole attribute time-out, unless the server moved the version first
(FUSE_NOTIFY_INVAL_INODE before its reply). Per round, with the caller
on CPU 1 and two helper processes on CPU 0:

  1. the reader lists DIR (after the previous change this is a READDIR,
     after which the kernel marks only DIR's atime stale: had every
     attribute been stale, the writer's mkdir would refresh them for its
     permission check and move the version past the reader's), arms the
     blocker DELAY_US ahead and stats DIR: a GETATTR, for the atime;
  2. the blocker (SCHED_FIFO) takes CPU 0 at that time, while the reader
     waits for its reply, so the reader cannot apply the reply;
  3. the writer mkdirs (rmdirs) in DIR, then releases the blocker: the
     reader applies its reply, built before the change if the server
     answered it before, after the change's reply;
  4. the writer stats DIR: this stat began after the change returned.

Prints the rounds, how many held the reader's reply across the change
(the reader's stat not yet returned when the change had), and how many
of the writer's stats showed a wrong count. Needs CPUs 0 and 1 and
SCHED_FIFO (root); run the server on CPU 1.
"""
import mmap
import os
import sys
import time

d, rounds, delay_ns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) * 1000
# Shared words, each one 8-byte load or store: the round the reader is to
# look in, the last round its stat returned, the round the blocker holds
# CPU 0 in, the round it may let go, and when it is to take the CPU.
TURN, READ, HOLDING, RELEASE, DEADLINE = range(5)
w = memoryview(mmap.mmap(-1, 64)).cast('q')
for i in range(5):
    w[i] = -1
arm_r, arm_w = os.pipe()
os.sched_setaffinity(0, {1})

blocker = os.fork()
if blocker == 0:
    os.close(arm_w)
    os.sched_setaffinity(0, {0})
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    while True:
        b = os.read(arm_r, 8)
        if not b:
            os._exit(0)
        k = int.from_bytes(b, 'little')
        t = w[DEADLINE] - time.monotonic_ns()
        if t > 0:
            time.sleep(t * 1e-9)
        w[HOLDING] = k
        # At most 20 ms, so that a lost round never holds the CPU long.
        end = time.monotonic_ns() + 20_000_000
        while w[RELEASE] != k and time.monotonic_ns() < end:
            pass

reader = os.fork()
if reader == 0:
    os.close(arm_r)
    os.sched_setaffinity(0, {0})
    last = -1
    while True:
        k = w[TURN]
        if k == last:
            continue
        if k == -2:
            os._exit(0)
        os.listdir(d)
        w[DEADLINE] = time.monotonic_ns() + delay_ns
        os.write(arm_w, k.to_bytes(8, 'little'))
        os.stat(d)
        w[READ] = k
        last = k
os.close(arm_r)


def wait_for(i, k, secs):
    end = time.monotonic() + secs
    while w[i] != k and time.monotonic() < end:
        pass


base = os.stat(d).st_nlink
wrong = held = 0
n = rounds // 2
for r in range(2 * n):
    k = r if r < n else r - n
    want = base + k + 1 if r < n else base + n - 1 - k
    w[TURN] = r
    wait_for(HOLDING, r, 0.02)
    p = '%s/s%d' % (d, k)
    if r < n:
        os.mkdir(p)
    else:
        os.rmdir(p)
    if w[READ] != r and w[HOLDING] == r:
        held += 1
    w[RELEASE] = r
    wait_for(READ, r, 1)
    if os.stat(d).st_nlink != want:
        wrong += 1
w[TURN] = -2
os.close(arm_w)
os.waitpid(reader, 0)
os.waitpid(blocker, 0)
print('rounds', 2 * n, 'held', held, 'wrong', wrong)
