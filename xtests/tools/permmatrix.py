#!/usr/bin/env python3
"""A matrix of (caller, file mode/ACL, operation) cells for permission tests.

usage: permmatrix.py setup ROOT       make one fixture per cell under ROOT (as root)
       permmatrix.py run ROOT WHO     run WHO's cells, print "WHO SCENE OP RESULT"
       permmatrix.py state ROOT       print what each cell left: "SCENE/OP WHO ..."
       permmatrix.py callers          print "WHO SETPRIV-ARGS" per caller

Every cell has its own directory ROOT/WHO/SCENE/OP holding `d/` (the
scene's directory, with the scene's mode and owner), `d/f` (the scene's
file), `d/sub/` (an empty directory owned like the file), `d/o` (a file
of someone else) and `other/` (a root-owned 0777 directory, the far side
of cross-directory renames and links).  `run` must be started with WHO's
credentials (setpriv with the arguments `callers` prints); RESULT is OK
or the errno name (access(2) cells: OK or EACCES for False).
$PERM_SCENES (comma separated) limits every command to those scenes.
"""
import errno
import os
import struct
import sys

# Callers: name -> setpriv arguments (empty: the driver's own root).
CALLERS = {
    "root": [],
    "root-nodac": ["--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search"],
    "root-nofowner": ["--inh-caps=-all", "--bounding-set=-fowner,-chown,-fsetid"],
    "u1000": ["--reuid=1000", "--regid=1000", "--clear-groups", "--inh-caps=-all"],
    "u1001g": ["--reuid=1001", "--regid=1001", "--groups=2000,2001", "--inh-caps=-all"],
    "u1002": ["--reuid=1002", "--regid=1002", "--clear-groups", "--inh-caps=-all"],
}

ACL_USER_OBJ, ACL_USER, ACL_GROUP_OBJ, ACL_GROUP, ACL_MASK, ACL_OTHER = 1, 2, 4, 8, 0x10, 0x20


def acl(*entries):
    """The system.posix_acl_access value for (tag, perm, id) entries."""
    out = struct.pack("<I", 2)
    for tag, perm, ident in entries:
        out += struct.pack("<HHI", tag, perm, ident if ident is not None else 0xFFFFFFFF)
    return out


# Scenes: (dir uid, dir gid, dir mode, file uid, file gid, file mode, ACL of f or None)
SCENES = {
    "priv": (0, 0, 0o755, 0, 0, 0o600, None),
    "grp": (0, 2000, 0o775, 0, 2000, 0o640, None),
    "sticky": (0, 0, 0o1777, 1001, 1001, 0o666, None),
    "searchonly": (1000, 1000, 0o711, 1000, 2000, 0o604, None),
    "closed": (1000, 1000, 0o700, 1000, 1000, 0o644, None),
    "setid": (0, 0, 0o777, 1000, 2001, 0o6775, None),
    "sgidnox": (1000, 2001, 0o2777, 1000, 2001, 0o2666, None),
    "acl": (0, 0, 0o755, 0, 0, 0o640, acl(
        (ACL_USER_OBJ, 6, None), (ACL_USER, 6, 1002), (ACL_GROUP_OBJ, 4, None),
        (ACL_GROUP, 2, 2001), (ACL_MASK, 6, None), (ACL_OTHER, 0, None))),
    "aclmask": (0, 0, 0o755, 0, 2000, 0o604, acl(
        (ACL_USER_OBJ, 6, None), (ACL_USER, 7, 1000), (ACL_GROUP_OBJ, 6, None),
        (ACL_MASK, 0, None), (ACL_OTHER, 4, None))),
}


def _open(p, flags):
    os.close(os.open(p, flags, 0o644))


def _write(p, flags):
    fd = os.open(p, flags)
    try:
        os.write(fd, b"x")
    finally:
        os.close(fd)


def _access(p, m):
    if not os.access(p, m):
        raise OSError(errno.EACCES, "access")


def _chdir(p):
    here = os.getcwd()
    os.chdir(p)
    os.chdir(here)


OPS = {
    "stat": lambda c: os.stat(c + "/d/f"),
    "read": lambda c: _open(c + "/d/f", os.O_RDONLY),
    "write": lambda c: _write(c + "/d/f", os.O_WRONLY),
    "append": lambda c: _write(c + "/d/f", os.O_WRONLY | os.O_APPEND),
    "otrunc": lambda c: _open(c + "/d/f", os.O_WRONLY | os.O_TRUNC),
    "rdtrunc": lambda c: _open(c + "/d/f", os.O_RDONLY | os.O_TRUNC),
    "truncate": lambda c: os.truncate(c + "/d/f", 1),
    "create": lambda c: _open(c + "/d/new", os.O_CREAT | os.O_WRONLY),
    "creatx": lambda c: _open(c + "/d/f", os.O_CREAT | os.O_WRONLY),
    "mkdir": lambda c: os.mkdir(c + "/d/nd"),
    "mkfifo": lambda c: os.mkfifo(c + "/d/fifo"),
    "symlink": lambda c: os.symlink("f", c + "/d/sl"),
    "unlink": lambda c: os.unlink(c + "/d/f"),
    "unlinko": lambda c: os.unlink(c + "/d/o"),
    "rmdir": lambda c: os.rmdir(c + "/d/sub"),
    "rename": lambda c: os.rename(c + "/d/f", c + "/d/g"),
    "renameover": lambda c: os.rename(c + "/d/f", c + "/d/o"),
    "renameout": lambda c: os.rename(c + "/d/f", c + "/other/g"),
    "renamein": lambda c: os.rename(c + "/other/x", c + "/d/x"),
    "renamedir": lambda c: os.rename(c + "/d/sub", c + "/other/sub"),
    "link": lambda c: os.link(c + "/d/f", c + "/d/l"),
    "linkout": lambda c: os.link(c + "/d/f", c + "/other/l"),
    "chmod": lambda c: os.chmod(c + "/d/f", 0o2755),
    "chmodsub": lambda c: os.chmod(c + "/d/sub", 0o3777),
    "chown": lambda c: os.chown(c + "/d/f", 1002, -1),
    "chownsame": lambda c: os.chown(c + "/d/f", os.stat(c + "/d/f").st_uid, -1),
    "chgrp": lambda c: os.chown(c + "/d/f", -1, 2000),
    "chgrp2": lambda c: os.chown(c + "/d/f", -1, 2001),
    "utimenow": lambda c: os.utime(c + "/d/f", None),
    "utimeset": lambda c: os.utime(c + "/d/f", (1, 1)),
    "utimenow1": lambda c: _utime_one_now(c + "/d/f"),
    "setxattr": lambda c: os.setxattr(c + "/d/f", "user.t", b"v"),
    "getxattr": lambda c: os.getxattr(c + "/d/f", "user.a"),
    "rmxattr": lambda c: os.removexattr(c + "/d/f", "user.a"),
    "setxattrdir": lambda c: os.setxattr(c + "/d", "user.t", b"v"),
    "trusted": lambda c: os.setxattr(c + "/d/f", "trusted.t", b"v"),
    "readdir": lambda c: os.listdir(c + "/d"),
    "chdir": lambda c: _chdir(c + "/d"),
    "accessR": lambda c: _access(c + "/d/f", os.R_OK),
    "accessW": lambda c: _access(c + "/d/f", os.W_OK),
    "accessX": lambda c: _access(c + "/d/f", os.X_OK),
    "accessdirW": lambda c: _access(c + "/d", os.W_OK | os.X_OK),
}


def _utime_one_now(p):
    """utimensat(p, {UTIME_NOW, UTIME_OMIT}): needs ownership, unlike both NOW."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)

    class Ts(ctypes.Structure):
        _fields_ = [("sec", ctypes.c_long), ("nsec", ctypes.c_long)]

    ts = (Ts * 2)(Ts(0, (1 << 30) - 1), Ts(0, (1 << 30) - 2))
    if libc.utimensat(-100, p.encode(), ts, 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def scenes():
    """The scenes to use: all, or those named in $PERM_SCENES (comma separated)."""
    only = os.environ.get("PERM_SCENES")
    return {k: v for k, v in SCENES.items() if not only or k in only.split(",")}


def setup(root):
    for who in CALLERS:
        for scene, (du, dg, dm, fu, fg, fm, facl) in scenes().items():
            for op in OPS:
                c = os.path.join(root, who, scene, op)
                os.makedirs(c + "/other")
                os.chmod(c + "/other", 0o777)
                os.mkdir(c + "/d")
                with open(c + "/other/x", "w") as f:
                    f.write("x")
                with open(c + "/d/f", "w") as f:
                    f.write("data")
                with open(c + "/d/o", "w") as f:
                    f.write("other")
                os.mkdir(c + "/d/sub")
                os.setxattr(c + "/d/f", "user.a", b"1")
                os.chown(c + "/d/o", 1002, 1002)
                os.chown(c + "/d/sub", fu, fg)
                os.chown(c + "/d/f", fu, fg)
                os.chmod(c + "/d/f", fm)
                if facl is not None:
                    try:
                        os.setxattr(c + "/d/f", "system.posix_acl_access", facl)
                    except OSError as e:
                        if e.errno != errno.EOPNOTSUPP:
                            raise
                os.chown(c + "/d", du, dg)
                os.chmod(c + "/d", dm)


def run(root, who):
    for scene in scenes():
        for op, fn in OPS.items():
            c = os.path.join(root, who, scene, op)
            try:
                fn(c)
                r = "OK"
            except OSError as e:
                r = errno.errorcode.get(e.errno, str(e.errno))
            print(who, scene, op, r)


def state(root):
    for who in CALLERS:
        for scene in scenes():
            for op in OPS:
                c = os.path.join(root, who, scene, op)
                parts = []
                for sub in ("d", "other"):
                    for name in sorted(os.listdir(os.path.join(c, sub))):
                        p = os.path.join(c, sub, name)
                        st = os.lstat(p)
                        parts.append("%s/%s:%o:%d:%d:%d" % (sub, name, st.st_mode, st.st_uid, st.st_gid, st.st_size))
                print("%s/%s %s %s" % (scene, op, who, " ".join(parts)))


def main():
    cmd = sys.argv[1]
    if cmd == "setup":
        setup(sys.argv[2])
    elif cmd == "run":
        run(sys.argv[2], sys.argv[3])
    elif cmd == "state":
        state(sys.argv[2])
    elif cmd == "callers":
        for who, args in CALLERS.items():
            print(who, " ".join(args))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
