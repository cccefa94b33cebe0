#!/usr/bin/env python3
"""name_to_handle_at / open_by_handle_at from the command line.

usage:
  handles.py save PATH HANDLEFILE
      take a file handle for PATH (not following a final symlink) and store
      it (handle_type + f_handle bytes) in HANDLEFILE.
  handles.py open MOUNTPOINT HANDLEFILE
      open the stored handle relative to MOUNTPOINT with open_by_handle_at
      and print "sha256=<hex of the contents>", or the errno name (ESTALE,
      ...) if the open or the read fails.  Exit status 0 either way.

Needs CAP_DAC_READ_SEARCH (root) for open.
"""
import ctypes
import errno
import hashlib
import os
import struct
import sys

libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
MAX_HANDLE_SZ = 128


class FileHandle(ctypes.Structure):
    _fields_ = [("handle_bytes", ctypes.c_uint),
                ("handle_type", ctypes.c_int),
                ("f_handle", ctypes.c_ubyte * MAX_HANDLE_SZ)]


def ename(e):
    return errno.errorcode.get(e, str(e))


def save(path, out):
    fh = FileHandle()
    fh.handle_bytes = MAX_HANDLE_SZ
    mount_id = ctypes.c_int()
    r = libc.name_to_handle_at(AT_FDCWD, os.fsencode(path), ctypes.byref(fh),
                               ctypes.byref(mount_id), 0)
    if r != 0:
        e = ctypes.get_errno()
        print("name_to_handle_at: %s" % ename(e))
        return 1
    data = bytes(fh.f_handle[:fh.handle_bytes])
    with open(out, "wb") as f:
        f.write(struct.pack("<iI", fh.handle_type, fh.handle_bytes) + data)
    return 0


def open_(mnt, hf):
    with open(hf, "rb") as f:
        raw = f.read()
    htype, hbytes = struct.unpack("<iI", raw[:8])
    fh = FileHandle()
    fh.handle_type = htype
    fh.handle_bytes = hbytes
    ctypes.memmove(fh.f_handle, raw[8:8 + hbytes], hbytes)
    mfd = os.open(mnt, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fd = libc.open_by_handle_at(mfd, ctypes.byref(fh), os.O_RDONLY)
        if fd < 0:
            print(ename(ctypes.get_errno()))
            return 0
        h = hashlib.sha256()
        try:
            while True:
                b = os.read(fd, 1 << 20)
                if not b:
                    break
                h.update(b)
        except OSError as e:
            print("read: %s" % ename(e.errno))
            return 0
        finally:
            os.close(fd)
        print("sha256=" + h.hexdigest())
        return 0
    finally:
        os.close(mfd)


def main(a):
    if len(a) == 3 and a[0] == "save":
        return save(a[1], a[2])
    if len(a) == 3 and a[0] == "open":
        return open_(a[1], a[2])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
