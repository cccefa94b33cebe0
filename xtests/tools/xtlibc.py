"""libc calls Python's os module lacks, shared by the xtest tools.

A tool run as a file ("$PYTHON $TOOLS/x.py") finds this module beside it:
Python puts the script's directory first on sys.path.
"""
import ctypes
import os

FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02
FALLOC_FL_COLLAPSE_RANGE = 0x08
FALLOC_FL_ZERO_RANGE = 0x10
FALLOC_FL_INSERT_RANGE = 0x20

libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]


def fallocate(fd, mode, off, length):
    """fallocate(2) on fd; raises OSError with the call's errno."""
    if libc.fallocate(fd, mode, off, length) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def fallocate_path(path, mode, off, length, flags=os.O_WRONLY):
    """fallocate(2) on path opened with flags (closed again)."""
    fd = os.open(path, flags)
    try:
        fallocate(fd, mode, off, length)
    finally:
        os.close(fd)
