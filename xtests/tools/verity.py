#!/usr/bin/env python3
"""Lays out fs-verity metadata past EOF of a file, as ext4 stores it.

    verity.py append FILE

FILE's current contents are the verity data.  Appends, at the 64 KiB
boundary past its end (ext4_verity_metadata_pos), the SHA-256 Merkle tree
of 4096-byte blocks (root level first), then the 256-byte descriptor at
the next block boundary and its le32 size in the last 4 bytes of the block
it ends in (ext4_write_verity_descriptor).  Prints the data size and the
root hash: the caller sets i_size back to the data size and the
EXT4_VERITY_FL flag with debugfs, which is what enabling verity leaves.
"""
import hashlib
import struct
import sys

BLOCK = 4096
HASH = 32


def merkle(data):
    """Tree levels (root first) and the root hash."""
    if not data:
        return [], bytes(HASH)
    blocks = [data[i:i + BLOCK].ljust(BLOCK, b"\0") for i in range(0, len(data), BLOCK)]
    levels = []
    while len(blocks) > 1:
        hashes = b"".join(hashlib.sha256(b).digest() for b in blocks)
        level = [hashes[i:i + BLOCK].ljust(BLOCK, b"\0") for i in range(0, len(hashes), BLOCK)]
        levels.append(level)
        blocks = level
    return list(reversed(levels)), hashlib.sha256(blocks[0]).digest()


def append(path):
    with open(path, "r+b") as f:
        data = f.read()
        levels, root = merkle(data)
        pos = -(-len(data) // 65536) * 65536
        tree = b"".join(b"".join(level) for level in levels)
        f.seek(pos)
        f.write(tree)
        desc = struct.pack("<BBBBIQ", 1, 1, 12, 0, 0, len(data))
        desc += root.ljust(64, b"\0") + bytes(32) + bytes(144)
        assert len(desc) == 256
        desc_pos = -(-(pos + len(tree)) // BLOCK) * BLOCK
        f.seek(desc_pos)
        f.write(desc)
        end = desc_pos + len(desc) + 4
        size_pos = -(-end // BLOCK) * BLOCK - 4
        f.seek(size_pos)
        f.write(struct.pack("<I", len(desc)))
    print(len(data), root.hex())


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "append":
        sys.exit(__doc__)
    append(sys.argv[2])
