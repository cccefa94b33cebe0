#!/usr/bin/env python3
"""Deterministic content generator for the fuse4fs test-image catalog.

Used by images/build.  Every tree is a pure function of its arguments: file
contents come from random.Random seeded with the file's path, names and sizes
are fixed tables, and `stamp` sets every mtime/atime to a fixed value at the
end.  Usage:  gen.py TREE DIR [ARGS...]   (see the COMMANDS table at the end).

Some trees are written into a source directory that `mke2fs -d` then copies;
others (marked "kernel") are written into a loop-mounted ext4 so that the
kernel makes shapes mke2fs cannot (htree splits, extent trees, shared xattr
blocks, nanosecond times, ...).  Paths are handled as bytes throughout so
names that are not valid UTF-8 survive.
"""
import os
import random
import socket
import stat
import subprocess
import sys

BASE_TIME = 1700000000  # 2023-11-14 22:13:20 UTC
KIB = 1024
MIB = 1024 * KIB


def rng(*key):
    return random.Random(repr(key))


def content(path, size, kind=None, base=0):
    """Deterministic bytes for `path`; kind picks text, random or patterned.
    `base` is the file offset the bytes will land at (used by "pattern")."""
    r = rng("content", path, size)
    kind = kind or r.choice(["text", "random", "pattern", "zeros-mixed"])
    if kind == "text":
        words = [b"ext4", b"inode", b"extent", b"journal", b"block", b"fuse",
                 b"htree", b"xattr", b"bitmap", b"group", b"checksum", b"\n"]
        out = bytearray()
        while len(out) < size:
            out += r.choice(words) + b" "
        return bytes(out[:size])
    if kind == "random":
        return r.randbytes(size)
    if kind == "pattern":
        # each 8-byte word holds (its file offset + 1): handy to spot
        # misplaced blocks, and never an all-zero block (mke2fs -d would
        # turn that into a hole)
        start = base - base % 8
        out = bytearray()
        off = start
        while off < base + size:
            out += (off + 1).to_bytes(8, "little")
            off += 8
        return bytes(out[base - start:base - start + size])
    # random chunks separated by zero runs (still fully allocated)
    out = bytearray()
    while len(out) < size:
        out += r.randbytes(r.randint(1, 3000)) + bytes(r.randint(1, 5000))
    return bytes(out[:size])


def wfile(path, size, kind=None, mode=0o644):
    data = content(path, size, kind)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def wsparse(path, size, extents):
    """Sparse file of apparent `size` with data only at (offset, length)."""
    with open(path, "wb") as f:
        for off, length in extents:
            f.seek(off)
            f.write(content(path, length, "pattern", off))
        f.truncate(size)


def mksock(path):
    d, n = os.path.split(path)
    cwd = os.getcwd()
    os.chdir(d or b".")
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(n)
        s.close()
    finally:
        os.chdir(cwd)


def mkdirs(*paths):
    for p in paths:
        os.makedirs(p, exist_ok=True)


def J(*parts):
    return os.path.join(*[p if isinstance(p, bytes) else p.encode() for p in parts])


# ---------------------------------------------------------------- trees

def tree_mixed(root, variant="ext4", blocksize="4096"):
    """The "mixed" tree shared by most images.  A symlink target must fit
    in one block, so the "~4000-byte" one is blocksize-1 on small blocks."""
    longest = min(3999, int(blocksize) - 1)
    mkdirs(J(root, "small"), J(root, "medium"), J(root, "big"),
           J(root, "a/b/c/d/e"), J(root, "links"), J(root, "symlinks"),
           J(root, "special"), J(root, "modes"), J(root, "owners"),
           J(root, "sparse"), J(root, "bigdir"))
    open(J(root, "empty"), "wb").close()
    for i, size in enumerate([1, 7, 59, 60, 61, 100, 511, 512, 513, 1000,
                              1023, 1024, 1025, 2047, 2048, 4095, 4096, 4097,
                              8191, 12345]):
        wfile(J(root, "small", "f%02d_%d" % (i, size)), size)
    wfile(J(root, "medium", "text_100000"), 100000, "text")
    wfile(J(root, "medium", "random_262161"), 256 * KIB + 17, "random")
    wfile(J(root, "medium", "pattern_65536"), 64 * KIB, "pattern")
    wfile(J(root, "medium", "mixed_300000"), 300000, "zeros-mixed")
    wfile(J(root, "big", "one_mib"), MIB, "random")
    wfile(J(root, "big", "one_mib_pattern"), MIB, "pattern")
    path = b"a"
    for d in "bcde":
        path = J(path, d)
        wfile(J(root, path, "file_at_" + d), 100 + ord(d), "text")
    # hard links: same dir, across dirs, 3 names for one inode
    wfile(J(root, "links", "target"), 5000, "text")
    os.link(J(root, "links", "target"), J(root, "links", "same_dir_link"))
    os.link(J(root, "links", "target"), J(root, "a/b/cross_dir_link"))
    wfile(J(root, "links", "pair"), 10, "text")
    os.link(J(root, "links", "pair"), J(root, "a/b/c/d/e/pair_deep"))
    # symlinks: fast (<= 59 bytes in i_block), boundary, slow, ~4000 bytes
    sl = J(root, "symlinks")
    os.symlink(b"../small/f00_1", J(sl, "fast_rel"))
    os.symlink(b"/" + b"x" * 58, J(sl, "fast_59"))  # 59 bytes: inline
    os.symlink(b"/" + b"y" * 59, J(sl, "slow_60"))  # 60 bytes: block
    os.symlink(b"../" + b"long_component_name/" * 4 + b"end", J(sl, "slow_86"))
    target = ((b"d" * 99 + b"/") * 40)[:longest - 1] + b"z"
    os.symlink(target, J(sl, "slow_%d" % longest))
    os.symlink(b"../links/target", J(sl, "to_file"))
    os.symlink(b"../a/b", J(sl, "to_dir"))
    os.symlink(b"does/not/exist", J(sl, "dangling"))
    # special files
    sp = J(root, "special")
    os.mkfifo(J(sp, "fifo"))
    os.mknod(J(sp, "null_like"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    os.chmod(J(sp, "null_like"), 0o666)
    os.mknod(J(sp, "sda1_like"), 0o660 | stat.S_IFBLK, os.makedev(8, 1))
    os.chmod(J(sp, "fifo"), 0o600)
    mksock(J(sp, "socket"))
    # modes
    md = J(root, "modes")
    for name, mode in [("m4755", 0o4755), ("m2755", 0o2755), ("m6755", 0o6755),
                       ("m0000", 0o000), ("m0600", 0o600), ("m0444", 0o444),
                       ("m0777", 0o777)]:
        wfile(J(md, name), 32, "text", mode)
    for name, mode in [("sticky_1777", 0o1777), ("dir_0711", 0o711),
                       ("dir_0000", 0o000), ("dir_2775", 0o2775)]:
        os.mkdir(J(md, name))
        os.chmod(J(md, name), mode)
    # owners (incl. > 16-bit ids, which need the *_high fields)
    ow = J(root, "owners")
    for uid, gid in [(1000, 1000), (65534, 65534), (0, 100), (1, 2),
                     (123456, 654321), (4000000000, 7)]:
        p = J(ow, "u%d_g%d" % (uid, gid))
        wfile(p, 20, "text")
        os.lchown(p, uid, gid)
    os.symlink(b"u1000_g1000", J(ow, "link_owned_1000"))
    os.lchown(J(ow, "link_owned_1000"), 1000, 1000)
    os.mkdir(J(ow, "dir_1000"))
    os.chown(J(ow, "dir_1000"), 1000, 100)
    # sparse files
    wsparse(J(root, "sparse", "holes"), 8 * MIB + 123,
            [(0, 4096), (MIB, 10000), (3 * MIB + 5, 100), (8 * MIB, 123)])
    wsparse(J(root, "sparse", "all_hole"), 2 * MIB, [])
    wsparse(J(root, "sparse", "leading_hole"), 300000, [(200000, 100000)])
    # a multi-block directory (~300 entries, varied name lengths)
    r = rng("bigdir")
    for i in range(300):
        name = "e%03d_%s" % (i, "n" * r.randint(0, 40))
        wfile(J(root, "bigdir", name), r.randint(0, 64), "text")
    if variant == "ext3":
        # 4 KiB blocks: 12 direct + 1024 single-indirect = 4.04 MiB, so this
        # file reaches well into the double-indirect range.
        wfile(J(root, "big", "double_indirect_6mib"), 6 * MIB, "pattern")
    if variant == "ext2":
        # 1 KiB blocks: direct 0-11, single 12-267, double 268-65803,
        # triple from block 65804 (byte 67,383,296).
        wsparse(J(root, "big", "triple_indirect_sparse"), 80 * MIB, [
            (0, 5 * KIB),                 # direct
            (100 * KIB, 3 * KIB),         # single indirect
            (5 * MIB, 4 * KIB),           # double indirect
            (65804 * KIB, 2 * KIB),       # first triple-indirect block
            (70 * MIB + 512, 3000),       # deeper into triple
            (80 * MIB - 1000, 1000),      # tail
        ])
        wfile(J(root, "big", "dense_300k"), 300 * KIB, "pattern")


def tree_small(root):
    mkdirs(J(root, "dir/sub"))
    wfile(J(root, "hello.txt"), 13, "text")
    wfile(J(root, "dir", "data.bin"), 200 * KIB, "random")
    wfile(J(root, "dir/sub", "pattern"), 3 * MIB + 7, "pattern")
    os.symlink(b"dir/sub/pattern", J(root, "link"))
    os.link(J(root, "hello.txt"), J(root, "dir", "hello_link"))
    r = rng("small")
    for i in range(40):
        wfile(J(root, "dir", "f%02d" % i), r.randint(0, 9000))


def tree_all_types(root):
    wfile(J(root, "regular"), 1234, "text")
    open(J(root, "regular_empty"), "wb").close()
    os.mkdir(J(root, "directory"))
    os.mkdir(J(root, "empty_dir"))
    wfile(J(root, "directory", "inner"), 10, "text")
    os.symlink(b"regular", J(root, "symlink_fast"))
    os.symlink(b"directory/" + b"s" * 80 + b"/target", J(root, "symlink_slow"))
    os.link(J(root, "regular"), J(root, "hardlink_1"))
    os.link(J(root, "regular"), J(root, "directory", "hardlink_2"))
    os.mkfifo(J(root, "fifo"))
    mksock(J(root, "socket"))
    for name, kind, maj, mi in [
            ("chr_1_3", stat.S_IFCHR, 1, 3),          # old encoding
            ("chr_255_255", stat.S_IFCHR, 255, 255),  # old encoding, max
            ("chr_256_0", stat.S_IFCHR, 256, 0),      # new encoding
            ("chr_300_70000", stat.S_IFCHR, 300, 70000),
            ("chr_4095_1048575", stat.S_IFCHR, 4095, 1048575),
            ("blk_8_1", stat.S_IFBLK, 8, 1),
            ("blk_259_65536", stat.S_IFBLK, 259, 65536),
            ("blk_300_70000", stat.S_IFBLK, 300, 70000)]:
        os.mknod(J(root, name), 0o640 | kind, os.makedev(maj, mi))
    for name, mode in [("setuid", 0o4755), ("setgid", 0o2755),
                       ("setuid_setgid_sticky", 0o7755), ("sticky_file", 0o1644),
                       ("no_perms", 0o000), ("all_perms", 0o7777)]:
        wfile(J(root, name), 8, "text", mode)
    os.mkdir(J(root, "sticky_dir"))
    os.chmod(J(root, "sticky_dir"), 0o1777)
    os.mkdir(J(root, "setgid_dir"))
    os.chmod(J(root, "setgid_dir"), 0o2775)


def tree_nonascii(root):
    names = [
        "café", "naïve résumé", "Ωμέγα", "Привет мир", "日本語のファイル",
        "中文目录", "한국어", "emoji_😀🎉", "👨‍👩‍👧‍👦 family", "mixed-Ā-ā-ﬁ",
        "e\u0301_decomposed", "\u00e9_precomposed",
    ]
    bnames = [n.encode() for n in names]
    bnames += [
        b"latin1_caf\xe9",           # not valid UTF-8
        b"lone_continuation_\x80",
        b"overlong_\xc0\xaf",
        b"truncated_\xe6\x97",
        b"all_high_\xff\xfe\xfd",
        b"with space", b" leading space", b"trailing space ",
        b"new\nline", b"tab\there", b"\x01\x02ctrl", b"back\\slash",
        b"quote\"s'", b"-dash", b"*star?",
    ]
    bnames.append(b"a" * 255)                     # 255 ASCII bytes
    bnames.append("語".encode() * 85)              # 255 bytes of 3-byte chars
    bnames.append("😀".encode() * 63 + b"abc")     # 255 bytes, 4-byte chars
    bnames.append(b"\xff" * 255)                   # 255 invalid bytes
    for i, n in enumerate(bnames):
        wfile(J(root, n), 10 + i, "text")
    d = J(root, "目录 dir \xe9".encode("utf-8", "surrogateescape"))
    os.mkdir(d)
    os.mkdir(J(d, b"sub\xffdir"))
    wfile(J(d, b"sub\xffdir", "ファイル.txt"), 100, "text")
    os.symlink("../café".encode(), J(d, "link→café"))
    os.symlink(b"\xff\xfe target", J(root, b"link_to_invalid"))


def tree_sparse_large(root):
    GIB = 1024 * MIB
    wsparse(J(root, "five_gib"), 5 * GIB, [
        (0, 64 * KIB),
        (2 * GIB - 4096, 12288),          # straddles 2 GiB
        (4 * GIB + 4096, 8192),           # just past 4 GiB
        (4 * GIB - 10, 20),               # straddles the 4 GiB boundary
        (5 * GIB - 100000, 100000),       # the end
    ])
    wsparse(J(root, "exactly_4gib_plus_1"), 4 * GIB + 1, [(4 * GIB, 1)])
    wfile(J(root, "small"), 100, "text")


# kernel trees: DIR is a directory on a loop-mounted ext4 -------------------

def htree_names(count, tag, nonascii):
    r = rng("htree", tag, count)
    alpha = "abcdefghijklmnopqrstuvwxyz0123456789_-."
    extra = ["é", "ü", "ß", "日", "本", "😀", "Ж", "λ"]
    bad = [b"\x80", b"\xff", b"\xc0", b"\xfe\xfe", b"\xe9"]
    seen = set()
    out = []
    while len(out) < count:
        n = "".join(r.choice(alpha) for _ in range(r.randint(3, 12)))
        if n in (".", "..") or n.startswith("."):
            n = "x" + n
        b = n.encode()
        if nonascii:
            k = len(out) % 4
            if k == 1:
                b = r.choice(extra).encode() + b
            elif k == 2:
                b = b + r.choice(bad)
            elif k == 3:
                b = r.choice(bad) + b + r.choice(extra).encode()
        b = b"%s_%d" % (b, len(out))
        if b not in seen:
            seen.add(b)
            out.append(b)
    return out


def kernel_htree(root, sub, count, tag="plain", nonascii="0"):
    """Create COUNT entries in ROOT/SUB in a fixed pseudo-random order;
    mostly empty files, every 7th with data, every 97th a directory."""
    d = J(root, sub)
    os.makedirs(d, exist_ok=True)
    for i, n in enumerate(htree_names(int(count), tag, nonascii == "1")):
        p = J(d, n)
        if i % 97 == 0:
            os.mkdir(p)
        elif i % 7 == 0:
            with open(p, "wb") as f:
                f.write(n)
        else:
            os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o644))


def kernel_htree_large(root):
    kernel_htree(root, b"big", 50000, "large")
    kernel_htree(root, b"medium", 3000, "medium")
    os.mkdir(J(root, "small"))
    wfile(J(root, "small", "only"), 5, "text")


def kernel_inline(root):
    """On an inline_data fs with 256-byte inodes."""
    d = J(root, "files")
    os.mkdir(d)
    for size in [0, 1, 30, 59, 60, 61, 100, 128, 150, 160, 500, 5000]:
        # <= 60: i_block only; 61..~150: i_block + system.data xattr;
        # larger: converted to extents by the kernel.
        wfile(J(d, "s%04d" % size), size, "text")
    # grow a file past inline in two steps (kernel converts on write)
    p = J(d, "grown")
    with open(p, "wb") as f:
        f.write(b"x" * 40)
    with open(p, "ab") as f:
        f.write(content(p, 3000, "text"))
    # tiny inline directories
    for n in range(4):
        t = J(root, "tinydir%d" % n)
        os.mkdir(t)
        for i in range(n):
            wfile(J(t, "e%d" % i), 5, "text")
    os.mkdir(J(root, "emptydir"))
    # a directory that outgrew inline (60 bytes + xattr space -> block)
    g = J(root, "grown_dir")
    os.mkdir(g)
    for i in range(40):
        wfile(J(g, "entry_number_%02d" % i), 3, "text")
    # one that holds a few entries in system.data, not just i_block
    m = J(root, "medium_dir")
    os.mkdir(m)
    for i in range(6):
        wfile(J(m, "m%d" % i), 2, "text")
    os.symlink(b"files/s0030", J(root, "link"))


def kernel_deep_extent(root, nextents):
    """1 KiB blocks: 4 extents in the inode, 84 per tree block.  Depth 3
    needs > 4*84*84 = 28224 extents when leaves are full.  Allocating
    single, non-adjacent blocks in a shuffled order makes the kernel split
    nodes in the middle, so nodes are ~half full and depth 3 comes sooner.
    fallocate() makes unwritten extents; we then write data into a fixed
    subset (converting them to written extents) and leave the rest
    unwritten (reads as zeros)."""
    nextents = int(nextents)
    p = J(root, "deep")
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
    blocks = [2 * i for i in range(nextents)]
    rng("deep-order").shuffle(blocks)
    for b in blocks:
        os.posix_fallocate(fd, b * KIB, KIB)
    for b in range(0, 2 * nextents, 2):
        if (b // 2) % 3 == 0:
            os.pwrite(fd, content(b"deep@%d" % b, KIB, "pattern")[:16]
                      + b"block%08d" % b, b * KIB)
    os.fsync(fd)
    os.close(fd)
    # plain unwritten-extent file: fallocate 1 MiB, write in the middle
    p = J(root, "unwritten")
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
    os.posix_fallocate(fd, 0, MIB)
    os.pwrite(fd, content(p, 100 * KIB, "pattern"), 300 * KIB)
    os.fsync(fd)
    os.close(fd)
    # fallocate with KEEP_SIZE beyond EOF via the util
    p = J(root, "prealloc_beyond_eof")
    wfile(p, 5000, "text")
    subprocess.run(["fallocate", "-n", "-o", "8192", "-l", "65536", p],
                   check=True)
    # an ordinary fragmented file made by interleaving writes of two files
    a = os.open(J(root, "frag_a"), os.O_CREAT | os.O_WRONLY, 0o644)
    b = os.open(J(root, "frag_b"), os.O_CREAT | os.O_WRONLY, 0o644)
    for i in range(400):
        os.pwrite(a, content(b"frag_a%d" % i, KIB, "pattern"), i * KIB)
        os.fsync(a)
        os.pwrite(b, content(b"frag_b%d" % i, KIB, "pattern"), i * KIB)
        os.fsync(b)
    os.close(a)
    os.close(b)


def setfacl(args):
    subprocess.run(["setfacl"] + args, check=True)


def kernel_xattrs(root):
    sx = os.setxattr
    p = J(root, "small_inline")
    wfile(p, 10, "text")
    sx(p, b"user.a", b"1")
    sx(p, b"user.empty", b"")
    sx(p, b"user.comment", b"stored in the inode body")
    p = J(root, "large_value")
    wfile(p, 10, "text")
    sx(p, b"user.big", content(p, 2048, "random"))
    p = J(root, "many")
    wfile(p, 10, "text")
    for i in range(60):
        sx(p, b"user.attr_%03d" % i, content(p + b"%d" % i, 10 + i, "text"))
    # identical xattr sets on two files -> one shared block (refcount 2)
    shared = content(b"shared", 1500, "random")
    for n in ("shared_1", "shared_2", "shared_3"):
        p = J(root, n)
        wfile(p, 10, "text")
        sx(p, b"user.shared", shared)
        sx(p, b"user.shared_small", b"same")
    p = J(root, "namespaces")
    wfile(p, 10, "text")
    sx(p, b"trusted.t1", b"trusted value")
    sx(p, b"security.s1", b"security value")
    sx(p, b"user.u1", b"user value")
    sx(p, b"trusted.big", content(p, 1200, "text"))
    p = J(root, "acl_file")
    wfile(p, 10, "text")
    os.chmod(p, 0o640)
    setfacl(["-m", "u:1000:rw-,u:2000:r--,g:100:r-x,g:3000:---,m::rwx", p])
    d = J(root, "acl_dir")
    os.mkdir(d)
    setfacl(["-m", "u:1000:rwx,g:100:r-x,m::rwx", d])
    setfacl(["-d", "-m", "u::rwx,g::r-x,o::---,u:1000:rwx,g:100:rx,m::rwx", d])
    wfile(J(d, "inherits"), 10, "text")  # gets an access ACL from default
    os.mkdir(J(d, "subdir_inherits"))
    p = J(root, "symlink_with_xattr")
    os.symlink(b"small_inline", p)
    sx(p, b"trusted.on_link", b"x", follow_symlinks=False)
    d = J(root, "dir_with_xattr")
    os.mkdir(d)
    sx(d, b"user.on_dir", b"dir value")
    p = J(root, "xattr_then_removed")
    wfile(p, 10, "text")
    sx(p, b"user.gone", b"bye")
    os.removexattr(p, b"user.gone")
    sx(p, b"user.kept", b"here")


def kernel_times(root):
    """Set on a 256-byte-inode fs: extra epoch bits and nanoseconds."""
    cases = [
        ("epoch", 0, 0),
        ("y2038_minus_1", 2**31 - 1, 0),
        ("y2038", 2**31, 0),
        ("y2100", 4102444800, 0),                 # 2100-01-01
        ("y2446_max", 15032385535, 999999999),    # 2446-05-10 22:38:55, ext4 max
        ("y2446_05_10", 15032304000, 0),          # 2446-05-10 00:00:00
        ("pre1970_1960", -315619200, 0),          # 1960-01-01
        ("pre1970_1901_min", -2**31, 0),          # 1901-12-13 20:45:52
        ("y1901_12_14", -2147472000, 0),          # 1901-12-14 00:00:00
        ("neg_with_ns", -1, 500000000),           # 1969-12-31 23:59:59.5
        ("ns_123456789", BASE_TIME, 123456789),
        ("ns_1", BASE_TIME, 1),
        ("ns_999999999", BASE_TIME, 999999999),
    ]
    for name, sec, ns in cases:
        p = J(root, name)
        wfile(p, 8, "text")
        t = sec * 10**9 + ns
        os.utime(p, ns=(t + 7, t))  # atime 7 ns after mtime
    p = J(root, "atime_differs")
    wfile(p, 8, "text")
    os.utime(p, ns=(4102444800 * 10**9 + 123456789, -315619200 * 10**9))
    d = J(root, "dir_2100")
    os.mkdir(d)
    os.symlink(b"../epoch", J(d, "link_1960"))
    os.utime(J(d, "link_1960"), ns=(-315619200 * 10**9,) * 2,
             follow_symlinks=False)
    os.utime(d, ns=(4102444800 * 10**9 + 42,) * 2)


def stamp(root, skip=""):
    """Fixed atime/mtime on every entry below root (children first)."""
    skip = set(skip.encode().split(b",")) if skip else set()
    entries = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for n in sorted(dirnames) + sorted(filenames):
            entries.append(J(dirpath, n))
    entries.sort(key=lambda p: -p.count(b"/"))
    for i, p in enumerate(sorted(entries, key=lambda p: (-p.count(b"/"), p))):
        if os.path.basename(p) in skip:
            continue
        t = (BASE_TIME + (hash_int(p) % 10**6)) * 10**9
        os.utime(p, ns=(t + 10**9, t), follow_symlinks=False)
    os.utime(root, ns=(BASE_TIME * 10**9,) * 2)


def inodes(root):
    """Print the inode number of every entry (root included), once each."""
    seen = {os.lstat(root).st_ino}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            seen.add(os.lstat(J(dirpath, n)).st_ino)
    sys.stdout.write("".join("%d\n" % i for i in sorted(seen)))


def hash_int(p):
    return rng("time", p).getrandbits(32)


COMMANDS = {
    "mixed": tree_mixed,
    "small": tree_small,
    "all-types": tree_all_types,
    "nonascii": tree_nonascii,
    "sparse-large": tree_sparse_large,
    "k-htree": kernel_htree,
    "k-htree-large": kernel_htree_large,
    "k-inline": kernel_inline,
    "k-deep-extent": kernel_deep_extent,
    "k-xattrs": kernel_xattrs,
    "k-times": kernel_times,
    "stamp": stamp,
    "inodes": inodes,
}

if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in COMMANDS:
        sys.exit("usage: gen.py {%s} DIR [ARGS...]" % ",".join(COMMANDS))
    os.umask(0o022)
    # Work relative to DIR: content seeds and times are keyed by path, and
    # must not depend on where the tree happens to be built.
    os.chdir(sys.argv[2])
    COMMANDS[sys.argv[1]](b".", *sys.argv[3:])
