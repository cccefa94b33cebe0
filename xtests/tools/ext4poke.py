#!/usr/bin/env python3
"""Small, targeted corruptions of an (unmounted) ext4 image, for the hostile
image tests.  Inode locations come from debugfs ("imap"); checksums of the
blocks we rewrite are recomputed (metadata_csum) so that the *structural*
problem is what a reader has to catch.

usage:
  ext4poke.py IMG info
  ext4poke.py IMG flip-inode-csum INO   # break the inode checksum only
  ext4poke.py IMG extent-loop INO       # first index entry -> block that
                                        # indexes itself
  ext4poke.py IMG dir-reclen INO        # rec_len 0 on the first entry after
                                        # ".." in the first dir block
"""
import re
import struct
import subprocess
import sys

# ------------------------------------------------------------------ crc32c
_T = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    _T.append(c)


def crc32c(crc, data):
    """crc32c as ext4 uses it: no pre/post inversion (the kernel's crc32c())."""
    for b in data:
        crc = _T[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


# ------------------------------------------------------------------ image
class Img:
    def __init__(self, path):
        self.path = path
        self.f = open(path, "r+b")
        sb = self.pread(1024, 1024)
        if struct.unpack_from("<H", sb, 0x38)[0] != 0xEF53:
            sys.exit("ext4poke: %s: no ext4 superblock" % path)
        self.bs = 1024 << struct.unpack_from("<I", sb, 0x18)[0]
        incompat = struct.unpack_from("<I", sb, 0x60)[0]
        ro_compat = struct.unpack_from("<I", sb, 0x64)[0]
        self.is64 = bool(incompat & 0x80)
        lo = struct.unpack_from("<I", sb, 0x4)[0]
        hi = struct.unpack_from("<I", sb, 0x150)[0] if self.is64 else 0
        self.blocks = lo | hi << 32
        self.csum = bool(ro_compat & 0x400)
        if incompat & 0x2000:      # csum_seed
            self.seed = struct.unpack_from("<I", sb, 0x270)[0]
        else:
            self.seed = crc32c(0xFFFFFFFF, sb[0x68:0x78])

    def pread(self, off, n):
        self.f.seek(off)
        return self.f.read(n)

    def pwrite(self, off, data):
        self.f.seek(off)
        self.f.write(data)
        self.f.flush()

    def block(self, n):
        return bytearray(self.pread(n * self.bs, self.bs))

    def inode_offset(self, ino):
        out = subprocess.run(["debugfs", "-R", "imap <%d>" % ino, self.path],
                             capture_output=True, text=True).stdout
        m = re.search(r"located at block (\d+), offset 0x([0-9a-f]+)", out)
        if not m:
            sys.exit("ext4poke: debugfs imap failed for inode %d" % ino)
        return int(m.group(1)) * self.bs + int(m.group(2), 16)

    def inode(self, ino):
        off = self.inode_offset(ino)
        raw = self.pread(off, 256)
        return off, raw

    def inode_seed(self, ino, raw):
        gen = struct.unpack_from("<I", raw, 0x64)[0]
        return crc32c(crc32c(self.seed, struct.pack("<I", ino)), struct.pack("<I", gen))


def extent_tail_off(blk):
    eh_max = struct.unpack_from("<H", blk, 4)[0]
    return 12 + 12 * eh_max


def cmd_info(img, args):
    print("block_size %d blocks %d metadata_csum %s" % (img.bs, img.blocks, img.csum))


def cmd_flip_inode_csum(img, args):
    ino = int(args[0])
    off, raw = img.inode(ino)
    if not img.csum:
        sys.exit("ext4poke: image has no metadata_csum")
    # i_checksum_lo (osd2 l_i_checksum_lo) at 0x7C
    b = raw[0x7C]
    img.pwrite(off + 0x7C, bytes([b ^ 0xFF]))
    print("flipped checksum byte of inode %d at offset %d" % (ino, off + 0x7C))


def cmd_extent_loop(img, args):
    ino = int(args[0])
    off, raw = img.inode(ino)
    root = raw[0x28:0x28 + 60]
    magic, entries, emax, depth = struct.unpack_from("<HHHH", root, 0)
    if magic != 0xF30A or depth < 1 or entries < 1:
        sys.exit("ext4poke: inode %d has no extent index (depth %d)" % (ino, depth))
    leaf_lo, leaf_hi = struct.unpack_from("<IH", root, 12 + 4)
    child = leaf_lo | leaf_hi << 32
    blk = img.block(child)
    seed = img.inode_seed(ino, raw)
    tail = extent_tail_off(blk)
    if img.csum:
        stored = struct.unpack_from("<I", blk, tail)[0]
        if crc32c(seed, bytes(blk[:tail])) != stored:
            sys.exit("ext4poke: extent block %d checksum does not verify before the change" % child)
    # the child becomes an index node (same depth as the root, which is
    # itself wrong) whose only entry points back at the child itself
    struct.pack_into("<HHHH", blk, 0, 0xF30A, 1, struct.unpack_from("<H", blk, 4)[0], depth)
    struct.pack_into("<IIHH", blk, 12, 0, child & 0xFFFFFFFF, child >> 32, 0)
    if img.csum:
        struct.pack_into("<I", blk, tail, crc32c(seed, bytes(blk[:tail])))
    img.pwrite(child * img.bs, bytes(blk))
    print("extent block %d of inode %d now indexes itself" % (child, ino))


def cmd_dir_reclen(img, args):
    ino = int(args[0])
    off, raw = img.inode(ino)
    root = raw[0x28:0x28 + 60]
    magic, entries, emax, depth = struct.unpack_from("<HHHH", root, 0)
    if magic != 0xF30A or depth != 0 or entries < 1:
        sys.exit("ext4poke: directory inode %d: want a depth-0 extent tree" % ino)
    ee_block, ee_len, start_hi, start_lo = struct.unpack_from("<IHHI", root, 12)
    bno = start_lo | start_hi << 32
    blk = img.block(bno)
    seed = img.inode_seed(ino, raw)
    csum_off = img.bs - 12 + 8
    if img.csum:
        # ext4_dir_entry_tail: inode 0, rec_len 12, name_len 0, type 0xDE
        if struct.unpack_from("<IHBB", blk, img.bs - 12) != (0, 12, 0, 0xDE):
            sys.exit("ext4poke: dir block %d has no checksum tail" % bno)
        if crc32c(seed, bytes(blk[:img.bs - 12])) != struct.unpack_from("<I", blk, csum_off)[0]:
            sys.exit("ext4poke: dir block %d checksum does not verify before the change" % bno)
    # walk "." and "..", corrupt the next entry
    pos = 0
    for _ in range(2):
        pos += struct.unpack_from("<H", blk, pos + 4)[0]
    if pos >= img.bs - (12 if img.csum else 0):
        sys.exit("ext4poke: directory inode %d has no entry after '..'" % ino)
    struct.pack_into("<H", blk, pos + 4, 0)
    if img.csum:
        struct.pack_into("<I", blk, csum_off, crc32c(seed, bytes(blk[:img.bs - 12])))
    img.pwrite(bno * img.bs, bytes(blk))
    print("dir block %d of inode %d: rec_len 0 at offset %d" % (bno, ino, pos))


CMDS = {"info": cmd_info, "flip-inode-csum": cmd_flip_inode_csum,
        "extent-loop": cmd_extent_loop, "dir-reclen": cmd_dir_reclen}

if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[2] not in CMDS:
        sys.exit(__doc__)
    CMDS[sys.argv[2]](Img(sys.argv[1]), sys.argv[3:])
