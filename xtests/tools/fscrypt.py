#!/usr/bin/env python3
"""Make encrypted directories on a kernel ext4 mount with the raw fscrypt
ioctls (no fscryptctl package on Debian).

usage: fscrypt.py addkey MNT HEXKEY      -> prints the key identifier (hex)
       fscrypt.py policy DIR IDENT [PAD] -> v2 policy on the empty DIR
       fscrypt.py getpolicy PATH [SIZE]  -> "v2 pad=N ident=HEX" or the errno
                                            (SIZE: the policy_size asked, 24)
       fscrypt.py nonce PATH             -> the 16-byte nonce in hex or the errno

The key lives in the filesystem's keyring until it is unmounted, so a
mount made afterwards sees the tree without it (no-key names). Policies are
v2 with AES-256-XTS contents and AES-256-CTS-CBC names; PAD is the name
padding in bytes (4, 8, 16 or 32; 32 by default).
"""
import errno
import fcntl
import os
import struct
import sys


def _ioc(direction, nr, size):
    return (direction << 30) | (size << 16) | (ord("f") << 8) | nr


IOC_READ, IOC_WRITE = 2, 1
# struct fscrypt_add_key_arg: key_spec (type, reserved, 32-byte union),
# raw_size, key_id, 8 reserved words, then the raw key.
ADD_KEY_ARG = 40 + 4 + 4 + 32
FS_IOC_ADD_ENCRYPTION_KEY = _ioc(IOC_READ | IOC_WRITE, 23, ADD_KEY_ARG)
# Declared with struct fscrypt_policy_v1's size (12); v2 is told by its
# version byte.
FS_IOC_SET_ENCRYPTION_POLICY = _ioc(IOC_READ, 19, 12)
FS_IOC_GET_ENCRYPTION_POLICY_EX = _ioc(IOC_READ | IOC_WRITE, 22, 9)
FS_IOC_GET_ENCRYPTION_NONCE = _ioc(IOC_READ, 27, 16)
KEY_SPEC_TYPE_IDENTIFIER = 2
MODE_AES_256_XTS, MODE_AES_256_CTS = 1, 4
PAD_FLAGS = {4: 0, 8: 1, 16: 2, 32: 3}


def ename(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def addkey(mnt, hexkey):
    raw = bytes.fromhex(hexkey)
    arg = bytearray(struct.pack("<II32sII32s", KEY_SPEC_TYPE_IDENTIFIER, 0,
                                b"", len(raw), 0, b"") + raw)
    fd = os.open(mnt, os.O_RDONLY)
    try:
        fcntl.ioctl(fd, FS_IOC_ADD_ENCRYPTION_KEY, arg, True)
    finally:
        os.close(fd)
    print(bytes(arg[8:24]).hex())


def policy(path, ident, pad="32"):
    arg = struct.pack("<BBBBB3s16s", 2, MODE_AES_256_XTS, MODE_AES_256_CTS,
                      PAD_FLAGS[int(pad)], 0, b"", bytes.fromhex(ident))
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.ioctl(fd, FS_IOC_SET_ENCRYPTION_POLICY, arg)
    finally:
        os.close(fd)


def ioctl_out(path, request, buf):
    """Runs ioctl `request` on `path` with `buf` filled in place; prints
    the errno's name (of the open or the ioctl) and returns False when
    either fails."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as e:
        print("open:" + ename(e))
        return False
    try:
        fcntl.ioctl(fd, request, buf, True)
    except OSError as e:
        print(ename(e))
        return False
    finally:
        os.close(fd)
    return True


def getpolicy(path, asked="24"):
    # struct fscrypt_get_policy_ex_arg: u64 policy_size, then the policy.
    arg = bytearray(struct.pack("<Q", int(asked)) + bytes(24))
    if not ioctl_out(path, FS_IOC_GET_ENCRYPTION_POLICY_EX, arg):
        return
    size = struct.unpack_from("<Q", arg)[0]
    p = bytes(arg[8:8 + size])
    pad = 4 << (p[3] & 3)
    print("v%d pad=%d ident=%s" % (p[0], pad, p[8:24].hex()))


def nonce(path):
    out = bytearray(16)
    if ioctl_out(path, FS_IOC_GET_ENCRYPTION_NONCE, out):
        print(bytes(out).hex())


def main():
    cmds = {"addkey": addkey, "policy": policy, "getpolicy": getpolicy,
            "nonce": nonce}
    if len(sys.argv) < 3 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[sys.argv[1]](*sys.argv[2:])


if __name__ == "__main__":
    main()
