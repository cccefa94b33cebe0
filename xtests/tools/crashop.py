#!/usr/bin/env python3
"""One non-idempotent operation across a server crash, for rw/019.

    crashop.py run   MNT CASE STATE [ONCE]   fixture, then the operation
    crashop.py check MNT CASE STATE   the tree fuse4fs serves afterwards
    crashop.py kern  DIR CASE STATE   the same tree as another mount shows it

`run` makes the case's fixture under MNT (with operations of other opcodes
than the one the crash point waits for), records the free inode count and
the fixture's inode numbers in STATE, then does the operation and records
its result (errno name or "ok", the inode number and link count the call
left in the caller's hands) in STATE.op.  When the operation never returns
STATE.op is never written.  If the crash point's ONCE file exists once the
fixture is made, the crash came too early (in an operation of the
fixture): that is recorded, and reported as a problem.

`check` and `kern` print one line per problem and nothing when all is
right: the call's result, the tree (types, modes, link counts, sizes,
contents, symlink targets, user.* xattrs; lost+found left out), which
inode each name is (the one the call returned, or the fixture's), and for
`check` the inode numbers readdir gives and the change of the free inode
count.
"""

import ctypes
import errno
import json
import os
import stat
import sys

libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
RENAME_EXCHANGE = 2
RENAME_WHITEOUT = 4
AT_EMPTY_PATH = 0x1000
SYS_renameat2 = 316  # x86_64


def ename(e):
    return errno.errorcode.get(e, str(e))


def write(path, data, mode=0o644):
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def entry_of(path):
    st = os.lstat(path)
    return {"ino": st.st_ino, "nlink": st.st_nlink}


# ---------------------------------------------------------------- the cases
#
# Each case: setup(state) (cwd = the mount), op(state) -> dict with at
# least "ino"/"nlink" when the call hands out an inode, and expect(state)
# -> (tree lines, {name: inode number}, change of the free inode count).

def root_line(nlink):
    return ". d 755 nlink=%d" % nlink


def f_line(name, data, mode=0o644, nlink=1, xattrs=""):
    return "%s f %o nlink=%d size=%d data=%r%s" % (
        name, mode, nlink, len(data), data, xattrs)


def setup_none(s):
    pass


def op_create(s):
    fd = os.open("f", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    try:
        os.write(fd, b"created\n")
        st = os.fstat(fd)
    finally:
        os.close(fd)
    return {"ino": st.st_ino, "nlink": st.st_nlink}


def exp_create(s):
    return ([root_line(3), f_line("f", b"created\n")],
            {"f": s["op"].get("ino")}, -1)


def op_mkdir(s):
    os.mkdir("d", 0o755)
    return entry_of("d")


def exp_mkdir(s):
    return ([root_line(4), "d d 755 nlink=2"], {"d": s["op"].get("ino")}, -1)


def op_mknod(s):
    os.mkfifo("p", 0o644)
    return entry_of("p")


def exp_mknod(s):
    return ([root_line(3), "p p 644 nlink=1"], {"p": s["op"].get("ino")}, -1)


def op_symlink(s):
    os.symlink("some/target/of/the/link", "s")
    return entry_of("s")


def exp_symlink(s):
    return ([root_line(3), "s l 777 nlink=1 -> 'some/target/of/the/link'"],
            {"s": s["op"].get("ino")}, -1)


def setup_link(s):
    write("f", b"linked\n")
    s["f"] = os.lstat("f").st_ino


def op_link(s):
    os.link("f", "g")
    return entry_of("g")


def exp_link(s):
    return ([root_line(3), f_line("f", b"linked\n", nlink=2),
             f_line("g", b"linked\n", nlink=2)],
            {"f": s["f"], "g": s["f"]}, 0)


def setup_unlink(s):
    write("f", b"doomed\n")
    write("keep", b"kept\n")
    s["keep"] = os.lstat("keep").st_ino


def op_unlink(s):
    os.unlink("f")
    return {}


def exp_unlink(s):
    return ([root_line(3), f_line("keep", b"kept\n")], {"keep": s["keep"]}, 1)


def setup_rmdir(s):
    os.mkdir("d", 0o755)
    os.mkdir("keep", 0o755)
    s["keep"] = os.lstat("keep").st_ino


def op_rmdir(s):
    os.rmdir("d")
    return {}


def exp_rmdir(s):
    return ([root_line(4), "keep d 755 nlink=2"], {"keep": s["keep"]}, 1)


def setup_rename(s):
    write("a", b"moved\n")
    s["a"] = os.lstat("a").st_ino


def op_rename(s):
    os.rename("a", "b")
    return entry_of("b")


def exp_rename(s):
    return ([root_line(3), f_line("b", b"moved\n")], {"b": s["a"]}, 0)


def setup_rename_over(s):
    write("a", b"the new b\n")
    write("b", b"the old b, replaced\n")
    s["a"] = os.lstat("a").st_ino


def exp_rename_over(s):
    return ([root_line(3), f_line("b", b"the new b\n")], {"b": s["a"]}, 1)


def setup_exchange(s):
    write("a", b"first a\n")
    write("b", b"first b, longer\n")
    s["a"] = os.lstat("a").st_ino
    s["b"] = os.lstat("b").st_ino


def op_exchange(s):
    r = libc.syscall(SYS_renameat2, AT_FDCWD, b"a", AT_FDCWD, b"b",
                     RENAME_EXCHANGE)
    if r != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return entry_of("a")


def exp_exchange(s):
    return ([root_line(3), f_line("a", b"first b, longer\n"),
             f_line("b", b"first a\n")],
            {"a": s["b"], "b": s["a"]}, 0)


def op_whiteout(s):
    r = libc.syscall(SYS_renameat2, AT_FDCWD, b"a", AT_FDCWD, b"b",
                     RENAME_WHITEOUT)
    if r != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return entry_of("b")


def exp_whiteout(s):
    # The whiteout (a new inode) at "a", "a" itself moved over "b".
    return ([root_line(3), "a c 0 nlink=1 rdev=0:0",
             f_line("b", b"the new b\n")],
            {"b": s["a"]}, 0)


def setup_setxattr(s):
    # (no other xattr: setting one would be a SETXATTR, which the crash
    # point waits for)
    write("f", b"x\n")
    s["f"] = os.lstat("f").st_ino


def op_setxattr(s):
    os.setxattr("f", "user.new", b"value", os.XATTR_CREATE)
    return {}


def exp_setxattr(s):
    return ([root_line(3), f_line("f", b"x\n", xattrs=" user.new=b'value'")],
            {"f": s["f"]}, 0)


def setup_removexattr(s):
    write("f", b"x\n")
    os.setxattr("f", "user.gone", b"bye")
    os.setxattr("f", "user.keep", b"kept")
    s["f"] = os.lstat("f").st_ino


def op_removexattr(s):
    os.removexattr("f", "user.gone")
    return {}


def exp_removexattr(s):
    return ([root_line(3), f_line("f", b"x\n", xattrs=" user.keep=b'kept'")],
            {"f": s["f"]}, 0)


def op_tmpfile(s):
    fd = os.open(".", os.O_TMPFILE | os.O_RDWR, 0o600)
    try:
        os.write(fd, b"was nameless\n")
        st = os.fstat(fd)
        if st.st_nlink != 0:
            raise OSError(errno.EUCLEAN, "O_TMPFILE file has %d links" % st.st_nlink)
        # give it a name: linkat(fd, "", AT_FDCWD, "t", AT_EMPTY_PATH)
        if libc.linkat(fd, b"", AT_FDCWD, b"t", AT_EMPTY_PATH) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "linkat: " + os.strerror(e))
    finally:
        os.close(fd)
    after = entry_of("t")
    if after["ino"] != st.st_ino:
        raise OSError(errno.EUCLEAN, "linked name is another inode")
    return {"ino": st.st_ino, "nlink": after["nlink"]}


def exp_tmpfile(s):
    return ([root_line(3), f_line("t", b"was nameless\n", mode=0o600)],
            {"t": s["op"].get("ino")}, -1)


def setup_fsync(s):
    os.mkdir("c", 0o755)
    for i in range(24):
        write("c/f%02d" % i, b"file %d\n" % i * (i + 1))


def op_fsync(s):
    fd = os.open("c/f23", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return {}


def exp_fsync(s):
    lines = [root_line(4), "c d 755 nlink=2"]
    lines += [f_line("c/f%02d" % i, b"file %d\n" % i * (i + 1)) for i in range(24)]
    return lines, {}, 0


CASES = {
    # name: (setup, op, expect, what the op answers besides success)
    "create": (setup_none, op_create, exp_create, {"nlink": 1}),
    "mkdir": (setup_none, op_mkdir, exp_mkdir, {"nlink": 2}),
    "mknod": (setup_none, op_mknod, exp_mknod, {"nlink": 1}),
    "symlink": (setup_none, op_symlink, exp_symlink, {"nlink": 1}),
    "link": (setup_link, op_link, exp_link, {"nlink": 2, "ino": "f"}),
    "unlink": (setup_unlink, op_unlink, exp_unlink, {}),
    "rmdir": (setup_rmdir, op_rmdir, exp_rmdir, {}),
    "rename": (setup_rename, op_rename, exp_rename, {"nlink": 1, "ino": "a"}),
    "rename-over": (setup_rename_over, op_rename, exp_rename_over, {"nlink": 1, "ino": "a"}),
    "exchange": (setup_exchange, op_exchange, exp_exchange, {"nlink": 1, "ino": "b"}),
    "whiteout": (setup_rename_over, op_whiteout, exp_whiteout, {"nlink": 1, "ino": "a"}),
    "setxattr": (setup_setxattr, op_setxattr, exp_setxattr, {}),
    "removexattr": (setup_removexattr, op_removexattr, exp_removexattr, {}),
    "tmpfile": (setup_none, op_tmpfile, exp_tmpfile, {"nlink": 1}),
    "fsync": (setup_fsync, op_fsync, exp_fsync, {}),
}


# ---------------------------------------------------------------- the tree

def dump(root):
    """Lines describing the tree (lost+found left out), and name -> (inode
    number from lstat, inode number from readdir)."""
    lines, inos = [], {}
    st = os.lstat(root)
    lines.append(root_line(st.st_nlink))

    def walk(d, rel):
        for e in sorted(os.scandir(d), key=lambda e: e.name):
            r = e.name if not rel else rel + "/" + e.name
            if r == "lost+found":
                continue
            st = os.lstat(e.path)
            inos[r] = (st.st_ino, e.inode())
            perm = "%o" % stat.S_IMODE(st.st_mode)
            if stat.S_ISDIR(st.st_mode):
                lines.append("%s d %s nlink=%d" % (r, perm, st.st_nlink))
                walk(e.path, r)
                continue
            if stat.S_ISLNK(st.st_mode):
                lines.append("%s l %s nlink=%d -> %r" % (
                    r, perm, st.st_nlink, os.readlink(e.path)))
                continue
            if stat.S_ISFIFO(st.st_mode):
                lines.append("%s p %s nlink=%d" % (r, perm, st.st_nlink))
                continue
            if stat.S_ISCHR(st.st_mode):
                lines.append("%s c %s nlink=%d rdev=%d:%d" % (
                    r, perm, st.st_nlink, os.major(st.st_rdev),
                    os.minor(st.st_rdev)))
                continue
            if not stat.S_ISREG(st.st_mode):
                lines.append("%s ? %o" % (r, st.st_mode))
                continue
            with open(e.path, "rb") as f:
                data = f.read()
            xs = sorted(x for x in os.listxattr(e.path) if x.startswith("user."))
            xattrs = "".join(" %s=%r" % (x, os.getxattr(e.path, x)) for x in xs)
            lines.append(f_line(r, data, stat.S_IMODE(st.st_mode), st.st_nlink, xattrs))

    walk(root, "")
    return lines, inos


def compare(root, case, s, fuse):
    setup, op, expect, answer = CASES[case]
    problems = []
    res = s.get("op")
    if res is None:
        return ["the operation did not finish"]
    if s.get("crashed_in_setup"):
        problems.append("the server crashed while the fixture was made, "
                        "not in the operation")
    if res["result"] != "ok":
        problems.append("the call returned %s, expected ok" % res["result"])
    else:
        for k, v in answer.items():
            want = s[v] if k == "ino" else v
            if res.get(k) != want:
                problems.append("the call answered %s=%s, expected %s" % (k, res.get(k), want))
    want_lines, want_inos, dfree = expect(s)
    try:
        lines, inos = dump(root)
    except OSError as e:
        return problems + ["tree walk: %s" % e]
    if lines != want_lines:
        problems.append("tree differs:")
        for l in sorted(set(want_lines) - set(lines)):
            problems.append("  missing: " + l)
        for l in sorted(set(lines) - set(want_lines)):
            problems.append("  unexpected: " + l)
    for name, ino in sorted(want_inos.items()):
        got = inos.get(name)
        if got is None or ino is None:
            continue
        if got[0] != ino:
            problems.append("%s is inode %d, expected %d" % (name, got[0], ino))
    if fuse:
        for name, (a, b) in sorted(inos.items()):
            if a != b:
                problems.append("readdir gives %s inode %d, stat %d" % (name, b, a))
        ffree = os.statvfs(root).f_ffree
        if ffree - s["ffree"] != dfree:
            problems.append("free inodes changed by %+d, expected %+d" % (
                ffree - s["ffree"], dfree))
    return problems


def main():
    cmd, root, case, path = sys.argv[1:5]
    once = sys.argv[5] if len(sys.argv) > 5 else None
    if case not in CASES:
        sys.exit("unknown case %s" % case)
    setup, op, expect, answer = CASES[case]
    if cmd == "run":
        os.chdir(root)
        s = {}
        setup(s)
        if once:
            s["crashed_in_setup"] = os.path.exists(once)
        s["ffree"] = os.statvfs(".").f_ffree
        with open(path, "w") as f:
            json.dump(s, f)
        try:
            res = op(s)
            res["result"] = "ok"
        except OSError as e:
            res = {"result": ename(e.errno)}
            print("%s: %s" % (case, e), file=sys.stderr)
        with open(path + ".tmp", "w") as f:
            json.dump(res, f)
        os.rename(path + ".tmp", path + ".op")
        return
    with open(path) as f:
        s = json.load(f)
    try:
        with open(path + ".op") as f:
            s["op"] = json.load(f)
    except FileNotFoundError:
        pass
    if cmd in ("check", "kern"):
        for p in compare(root, case, s, cmd == "check"):
            print(p)
        return
    sys.exit("unknown command %s" % cmd)


if __name__ == "__main__":
    main()
