#!/usr/bin/env python3
"""Turn an encrypted directory the kernel made into an encrypted AND
casefolded one as a 5.13+ kernel with the key would have laid it out: each
entry keeps (hash, minor hash) after its name (EXT4_DIRENT_HASHES: two le32
at 8 + name_len rounded up to 4), and an index root says siphash (6).  This
kernel has no CONFIG_UNICODE and cannot make such directories itself.

usage: cfhash.py convert IMG BS BLOCKS NAMES MODE [indexed]
           BLOCKS: the directory's physical blocks, comma-separated, in
           logical order; NAMES: a file with the kernel's no-key names of
           its entries (one a line, as a listing without the key shows
           them); rewrites every leaf block in place (no metadata_csum:
           nothing to re-checksum) and, when indexed, the root's hash
           version
       cfhash.py expect NAMES MODE
           prints the no-key names a reader of the converted directory
           must show, one a line, in the order of NAMES

MODE "kernel": each entry stores the hash its kernel no-key name carries
(an index stays valid: its leaves are ordered by those hashes).
MODE "fresh": each entry stores a made-up even hash, so a reader that
computes hashes instead of taking the stored ones shows other names.
"""
import base64
import hashlib
import struct
import sys

NOKEY_BYTES = 149  # struct fscrypt_nokey_name.bytes


def b64d(name):
    return base64.urlsafe_b64decode(name + "=" * (-len(name) % 4))


def b64e(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def tail_of(ciphertext):
    """What a no-key name carries after its dirhash."""
    if len(ciphertext) <= NOKEY_BYTES:
        return ciphertext
    return ciphertext[:NOKEY_BYTES] + hashlib.sha256(ciphertext[NOKEY_BYTES:]).digest()


def fresh(tail):
    h = hashlib.sha256(b"casefold " + tail).digest()
    major, minor = struct.unpack("<II", h[:8])
    return major & ~1, minor


def hashes(names_file, mode):
    """tail -> (hash, minor) and the names in order."""
    out, order = {}, []
    for line in open(names_file):
        name = line.strip()
        if name in ("", ".", ".."):
            continue
        raw = b64d(name)
        tail = raw[8:]
        out[tail] = struct.unpack("<II", raw[:8]) if mode == "kernel" else fresh(tail)
        order.append(tail)
    return out, order


def rec_len(name_len):
    return (8 + name_len + 3) & ~3


def rewrite_leaf(block, bs, table, first):
    entries, pos = [], 0
    while pos < bs:
        ino, rl, nl, ft = struct.unpack_from("<IHBB", block, pos)
        if rl < 8 or pos + rl > bs:
            sys.exit("bad rec_len %d at %d" % (rl, pos))
        entries.append((ino, nl, ft, bytes(block[pos + 8:pos + 8 + nl])))
        pos += rl
    out = bytearray(bs)
    pos, last = 0, None
    for ino, nl, ft, name in entries:
        if ino == 0 and not (first and pos == 0):
            continue
        dot = name in (b".", b"..") and first
        size = rec_len(nl) + (0 if dot else 8)
        if pos + size > bs:
            sys.exit("the entries with hashes do not fit in one block")
        struct.pack_into("<IHBB", out, pos, ino, size, nl, ft)
        out[pos + 8:pos + 8 + nl] = name
        if not dot:
            if tail_of(name) not in table:
                sys.exit("no no-key name for an entry of %d bytes" % nl)
            struct.pack_into("<II", out, pos + rec_len(nl), *table[tail_of(name)])
        last = pos
        pos += size
    if last is None:
        struct.pack_into("<IH", out, 0, 0, bs)
    else:
        struct.pack_into("<H", out, last + 4, bs - last)
    block[:] = out


def convert(img, bs, blocks, names_file, mode, indexed):
    table, _ = hashes(names_file, mode)
    with open(img, "r+b") as f:
        for i, nr in enumerate(blocks):
            f.seek(nr * bs)
            block = bytearray(f.read(bs))
            if indexed and i == 0:
                block[0x1C] = 6  # dx_root_info.hash_version = DX_HASH_SIPHASH
            elif indexed and struct.unpack_from("<IH", block, 0) == (0, bs):
                continue  # an interior index node: no names
            else:
                rewrite_leaf(block, bs, table, first=(i == 0))
            f.seek(nr * bs)
            f.write(block)


def main():
    if sys.argv[1] == "convert":
        img, bs, blocks, names, mode = sys.argv[2:7]
        convert(img, int(bs), [int(b) for b in blocks.split(",")], names, mode,
                len(sys.argv) > 7 and sys.argv[7] == "indexed")
    elif sys.argv[1] == "expect":
        table, order = hashes(sys.argv[2], sys.argv[3])
        for tail in order:
            print(b64e(struct.pack("<II", *table[tail]) + tail))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
