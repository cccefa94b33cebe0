#!/usr/bin/env python3
"""Dump a directory tree, one line per entry, for comparing two mounts.

usage: treedump.py [--no-atime] [--no-hash] [--exclude REL]... ROOT

Entries are walked in sorted (byte) order without following symlinks.  Each
line is

  PATH type=T mode=MMMM uid=U gid=G size=S blocks=B nlink=N ino=I
       atime=NS mtime=NS ctime=NS [rdev=MAJ:MIN] [target=T] [xattr:NAME=HEX]...
       [sha256=H]

(on one line).  PATH is relative to ROOT ("." for ROOT itself) and escaped:
bytes that are not printable UTF-8, spaces, "=" and "\\" become \\xNN, so
non-UTF-8 names and names with newlines stay visible and the line stays
splittable.  When an operation fails, a line "PATH error=OP:ERRNAME" is
printed instead of (or after) the data it would have produced; the walk
goes on.  --exclude REL skips that entry (and, for a directory, its
subtree) entirely.
"""
import errno
import hashlib
import os
import stat
import sys

CHUNK = 1 << 20


def esc(b):
    """Escape a bytes path component for display."""
    s = b.decode("utf-8", "surrogateescape")
    out = []
    for ch in s:
        o = ord(ch)
        if 0xDC80 <= o <= 0xDCFF:          # undecodable byte
            out.append("\\x%02x" % (o - 0xDC00))
        elif ch in " =\\" or not ch.isprintable():
            for byte in ch.encode("utf-8"):
                out.append("\\x%02x" % byte)
        else:
            out.append(ch)
    return "".join(out)


def ename(e):
    return errno.errorcode.get(e.errno, str(e.errno)) if e.errno else "UNKNOWN"


def ftype(m):
    for test, name in ((stat.S_ISREG, "reg"), (stat.S_ISDIR, "dir"),
                       (stat.S_ISLNK, "lnk"), (stat.S_ISCHR, "chr"),
                       (stat.S_ISBLK, "blk"), (stat.S_ISFIFO, "fifo"),
                       (stat.S_ISSOCK, "sock")):
        if test(m):
            return name
    return "unknown"


class Dumper:
    def __init__(self, root, atime=True, hashing=True, excludes=()):
        self.root = os.fsencode(root)
        self.atime = atime
        self.hashing = hashing
        self.excludes = set(os.fsencode(x).strip(b"/") for x in excludes)
        self.out = sys.stdout

    def emit(self, s):
        self.out.write(s + "\n")

    def entry(self, rel, listed=False):
        """One line for REL. Everything that reads it (readlink, the
        contents; the listing, done by walk first when LISTED) comes before
        the lstat the line shows: reading may set atime, and the line must
        show what the filesystem keeps."""
        path = os.path.join(self.root, rel) if rel != b"." else self.root
        name = esc(rel)
        try:
            st = os.lstat(path)
        except OSError as e:
            self.emit("%s error=lstat:%s" % (name, ename(e)))
            return None
        t = ftype(st.st_mode)
        extra = []
        errs = []
        if t == "lnk":
            try:
                extra.append("target=" + esc(os.readlink(path)))
            except OSError as e:
                errs.append("readlink:" + ename(e))
        try:
            names = sorted(os.listxattr(path, follow_symlinks=False))
            for x in names:
                try:
                    v = os.getxattr(path, x, follow_symlinks=False)
                    extra.append("xattr:%s=%s" % (esc(os.fsencode(x)), v.hex()))
                except OSError as e:
                    errs.append("getxattr(%s):%s" % (esc(os.fsencode(x)), ename(e)))
        except OSError as e:
            if e.errno not in (errno.ENOTSUP,):
                errs.append("listxattr:" + ename(e))
        if t == "reg" and self.hashing:
            try:
                h = hashlib.sha256()
                with open(path, "rb", buffering=0) as fh:
                    while True:
                        b = fh.read(CHUNK)
                        if not b:
                            break
                        h.update(b)
                extra.append("sha256=" + h.hexdigest())
            except OSError as e:
                errs.append("read:" + ename(e))
        if t in ("lnk", "reg") or listed:
            try:
                st = os.lstat(path)
            except OSError:
                pass
        f = [name, "type=" + t, "mode=%04o" % stat.S_IMODE(st.st_mode),
             "uid=%d" % st.st_uid, "gid=%d" % st.st_gid,
             "size=%d" % st.st_size, "blocks=%d" % st.st_blocks,
             "nlink=%d" % st.st_nlink, "ino=%d" % st.st_ino]
        if self.atime:
            f.append("atime=%d" % st.st_atime_ns)
        f.append("mtime=%d" % st.st_mtime_ns)
        f.append("ctime=%d" % st.st_ctime_ns)
        if t in ("chr", "blk"):
            f.append("rdev=%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev)))
        self.emit(" ".join(f + extra))
        for e in errs:
            self.emit("%s error=%s" % (name, e))
        return t

    def walk(self, rel):
        path = os.path.join(self.root, rel) if rel != b"." else self.root
        # A directory is listed before its line (see entry).
        names, err = None, None
        try:
            if stat.S_ISDIR(os.lstat(path).st_mode):
                names = sorted(os.listdir(path))
        except OSError as e:
            err = e
        t = self.entry(rel, listed=names is not None)
        if t != "dir":
            return
        if names is None:
            if err is not None:
                self.emit("%s error=readdir:%s" % (esc(rel), ename(err)))
            return
        for n in names:
            child = n if rel == b"." else os.path.join(rel, n)
            if child in self.excludes:
                continue
            self.walk(child)


def main(argv):
    atime = True
    hashing = True
    excludes = []
    args = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--no-atime":
            atime = False
        elif a == "--no-hash":
            hashing = False
        elif a == "--exclude":
            i += 1
            excludes.append(argv[i])
        elif a.startswith("-") and a != "-":
            sys.exit("treedump.py: unknown option %s" % a)
        else:
            args.append(a)
        i += 1
    if len(args) != 1:
        sys.exit(__doc__)
    Dumper(args[0], atime, hashing, excludes).walk(b".")
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
