#!/usr/bin/env python3
"""Print the statfs fields that must agree between two mounts of one image.

usage: statfs.py MOUNTPOINT
"""
import os
import sys

if len(sys.argv) != 2:
    sys.exit(__doc__)
s = os.statvfs(sys.argv[1])
for field in ("f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail",
              "f_files", "f_ffree", "f_namemax"):
    print("%s %d" % (field, getattr(s, field)))
