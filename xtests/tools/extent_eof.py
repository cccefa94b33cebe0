#!/usr/bin/env python3
"""Where a file's extent tree lies against its EOF, from debugfs.

usage: extent_eof.py IMAGE PATH

e2fsck ends the root's last index entry at EOF (libext2fs gives it the
blocks up to i_size) and so reports an index entry that starts past EOF
as "end of extent exceeds allowed value", although the kernel makes such
trees too (a KEEP_SIZE preallocation past EOF that splits a leaf of a
depth-2 tree).  Prints one line:

  "index-past-eof END" - an index entry starts past EOF and every leaf
      extent past EOF is unwritten (what e2fsck would have checked);
      END is the byte one past the last block the tree maps;
  "written-past-eof LBLK" - a written extent reaches past EOF;
  "ok" - no index entry starts past EOF.
"""
import re
import subprocess
import sys


def debugfs(img, cmd):
    return subprocess.run(["debugfs", "-R", cmd, img], capture_output=True,
                          text=True, check=True).stdout


def main():
    img, path = sys.argv[1], sys.argv[2]
    stat = debugfs(img, "stat " + path)
    size = int(re.search(r"Size: (\d+)\s*$", stat, re.M).group(1))
    sb = subprocess.run(["dumpe2fs", "-h", img], capture_output=True, text=True,
                        check=True).stdout
    bs = int(re.search(r"^Block size:\s*(\d+)", sb, re.M).group(1))
    eof = (size + bs - 1) // bs
    index_past, end = False, 0
    for line in debugfs(img, "ex " + path).splitlines()[1:]:
        # " 1/ 2   4/  9  3854 -  4000  7593   147" (index) or
        # " 2/ 2   1/231  3854 -  3855  7592 -  7593   2 Uninit" (leaf;
        # one block: "3854  7592  1").
        f = line.replace("/", " / ").split()
        if len(f) < 7 or f[1] != "/" or f[4] != "/":
            continue
        nums = [int(x) for x in f[6:] if x.isdigit()]
        if f[0] != f[2]:
            index_past |= nums[0] >= eof
            continue
        lblk, ln = nums[0], nums[-1]
        end = max(end, lblk + ln)
        if lblk + ln > eof and "Uninit" not in line:
            print("written-past-eof %d" % lblk)
            return
    print("index-past-eof %d" % (end * bs) if index_past else "ok")


if __name__ == "__main__":
    main()
