//! Directory index (htree) name hashes.
//!
//! An indexed directory's dx_root names one of three hash functions: the
//! "legacy" hash, a halved MD4 and a TEA-based hash. Each comes in two
//! flavours that differ only in whether name bytes are taken as `signed
//! char` (what x86 compilers do) or `unsigned char`; the superblock's
//! `s_flags` records which one the filesystem was created with. The result
//! is a 32-bit major hash, always even because the low bit is reserved by
//! the index as a "collision continues in the next block" marker, and a
//! minor hash used only to order readdir cookies.
//!
//! The hash of encrypted and casefolded directories (siphash, on-disk
//! value 6) needs the directory's key and is not implemented: such
//! directories store each name's hash in its entry.

/// The on-disk hash version of an encrypted and casefolded directory's
/// index (`DX_HASH_SIPHASH`).
pub const DX_HASH_SIPHASH: u8 = 6;

/// Superblock `s_flags` bit: directory hashes use signed chars.
pub const EXT2_FLAGS_SIGNED_HASH: u32 = 0x0001;
/// Superblock `s_flags` bit: directory hashes use unsigned chars.
pub const EXT2_FLAGS_UNSIGNED_HASH: u32 = 0x0002;

/// The largest major hash a 32-bit readdir cookie may carry; the kernel
/// keeps `EOF << 1` free as the end-of-directory position.
const HTREE_EOF_32BIT: u32 = 0x7fff_ffff;

/// The MD4 initial state, used when the superblock seed is all zeroes.
const DEFAULT_SEED: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// A directory hash function as stored on disk (`dx_root.info.hash_version`
/// or `s_def_hash_version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashVersion {
    /// 0: the original ext3 hash, signed chars.
    Legacy,
    /// 1: half MD4, signed chars.
    HalfMd4,
    /// 2: TEA, signed chars.
    Tea,
    /// 3: legacy, unsigned chars.
    LegacyUnsigned,
    /// 4: half MD4, unsigned chars.
    HalfMd4Unsigned,
    /// 5: TEA, unsigned chars.
    TeaUnsigned,
}

impl HashVersion {
    /// Decodes an on-disk hash version. Returns `None` for siphash (6,
    /// casefolded directories) and anything unknown.
    pub fn from_disk(v: u8) -> Option<Self> {
        Some(match v {
            0 => HashVersion::Legacy,
            1 => HashVersion::HalfMd4,
            2 => HashVersion::Tea,
            3 => HashVersion::LegacyUnsigned,
            4 => HashVersion::HalfMd4Unsigned,
            5 => HashVersion::TeaUnsigned,
            _ => return None,
        })
    }

    /// The on-disk value.
    pub fn to_disk(self) -> u8 {
        match self {
            HashVersion::Legacy => 0,
            HashVersion::HalfMd4 => 1,
            HashVersion::Tea => 2,
            HashVersion::LegacyUnsigned => 3,
            HashVersion::HalfMd4Unsigned => 4,
            HashVersion::TeaUnsigned => 5,
        }
    }

    /// The hash actually used for a directory whose dx_root says
    /// `root_version`, on a filesystem with superblock flags `s_flags`.
    ///
    /// As in the kernel's `dx_probe`, versions 0..=2 are moved to their
    /// unsigned twins when `EXT2_FLAGS_UNSIGNED_HASH` is set. When neither
    /// flag is set the kernel picks the build machine's `char` signedness
    /// (and records it on a read-write mount); we pick signed, as an x86
    /// kernel would. mke2fs normally sets one of the two flags.
    pub fn effective(root_version: u8, s_flags: u32) -> Option<Self> {
        let v = Self::from_disk(root_version)?;
        if s_flags & EXT2_FLAGS_UNSIGNED_HASH != 0 {
            Some(v.unsigned())
        } else {
            Some(v)
        }
    }

    /// The unsigned-char twin of this version (itself if already unsigned).
    pub fn unsigned(self) -> Self {
        match self {
            HashVersion::Legacy => HashVersion::LegacyUnsigned,
            HashVersion::HalfMd4 => HashVersion::HalfMd4Unsigned,
            HashVersion::Tea => HashVersion::TeaUnsigned,
            other => other,
        }
    }

    fn is_unsigned(self) -> bool {
        matches!(
            self,
            HashVersion::LegacyUnsigned | HashVersion::HalfMd4Unsigned | HashVersion::TeaUnsigned
        )
    }
}

/// Widens a name byte to 32 bits the way C widens `char` to `int`.
fn widen(b: u8, unsigned: bool) -> u32 {
    if unsigned {
        b as u32
    } else {
        b as i8 as i32 as u32
    }
}

/// The ext3 "dx_hack_hash".
fn legacy_hash(name: &[u8], unsigned: bool) -> u32 {
    let mut h0: u32 = 0x12a3_fe2d;
    let mut h1: u32 = 0x37ab_e8f9;
    for &b in name {
        let mut h = h1.wrapping_add(h0 ^ widen(b, unsigned).wrapping_mul(7_152_373));
        if h & 0x8000_0000 != 0 {
            h = h.wrapping_sub(0x7fff_ffff);
        }
        h1 = h0;
        h0 = h;
    }
    h0 << 1
}

/// Packs up to `out.len() * 4` bytes of `msg` into big-endian-ish words,
/// filling the remainder with a pad derived from the length of `msg`
/// (which is the whole rest of the name, not just this chunk).
fn pack_words(msg: &[u8], unsigned: bool, out: &mut [u32]) {
    let len = msg.len() as u32;
    let mut pad = len | (len << 8);
    pad |= pad << 16;

    let take = msg.len().min(out.len() * 4);
    let mut val = pad;
    let mut w = 0;
    for (i, &b) in msg[..take].iter().enumerate() {
        val = widen(b, unsigned).wrapping_add(val << 8);
        if i % 4 == 3 {
            out[w] = val;
            w += 1;
            val = pad;
        }
    }
    if w < out.len() {
        // A partial word (or, when the chunk ended on a word boundary, a
        // pad word) follows the bytes, then pad words to the end.
        out[w] = val;
        w += 1;
    }
    for slot in &mut out[w..] {
        *slot = pad;
    }
}

/// The three-round, eight-word MD4 variant used by ext3's htree.
fn half_md4_transform(buf: &mut [u32; 4], x: &[u32; 8]) {
    fn f(x: u32, y: u32, z: u32) -> u32 {
        z ^ (x & (y ^ z))
    }
    fn g(x: u32, y: u32, z: u32) -> u32 {
        (x & y).wrapping_add((x ^ y) & z)
    }
    fn h(x: u32, y: u32, z: u32) -> u32 {
        x ^ y ^ z
    }
    const K2: u32 = 0x5a82_7999;
    const K3: u32 = 0x6ed9_eba1;

    let [mut a, mut b, mut c, mut d] = *buf;
    macro_rules! step {
        ($fun:ident, $a:ident, $b:ident, $c:ident, $d:ident, $x:expr, $s:expr) => {
            $a = $a
                .wrapping_add($fun($b, $c, $d))
                .wrapping_add($x)
                .rotate_left($s);
        };
    }

    // Round 1: words in order.
    for i in [0usize, 4] {
        step!(f, a, b, c, d, x[i], 3);
        step!(f, d, a, b, c, x[i + 1], 7);
        step!(f, c, d, a, b, x[i + 2], 11);
        step!(f, b, c, d, a, x[i + 3], 19);
    }
    // Round 2: odd words, then even words.
    for i in [1usize, 0] {
        step!(g, a, b, c, d, x[i].wrapping_add(K2), 3);
        step!(g, d, a, b, c, x[i + 2].wrapping_add(K2), 5);
        step!(g, c, d, a, b, x[i + 4].wrapping_add(K2), 9);
        step!(g, b, c, d, a, x[i + 6].wrapping_add(K2), 13);
    }
    // Round 3.
    for (p, q, r, s) in [(3usize, 7usize, 2usize, 6usize), (1, 5, 0, 4)] {
        step!(h, a, b, c, d, x[p].wrapping_add(K3), 3);
        step!(h, d, a, b, c, x[q].wrapping_add(K3), 9);
        step!(h, c, d, a, b, x[r].wrapping_add(K3), 11);
        step!(h, b, c, d, a, x[s].wrapping_add(K3), 15);
    }

    buf[0] = buf[0].wrapping_add(a);
    buf[1] = buf[1].wrapping_add(b);
    buf[2] = buf[2].wrapping_add(c);
    buf[3] = buf[3].wrapping_add(d);
}

/// Sixteen rounds of TEA over the first two state words.
fn tea_transform(buf: &mut [u32; 4], x: &[u32; 4]) {
    const DELTA: u32 = 0x9e37_79b9;
    let (mut b0, mut b1) = (buf[0], buf[1]);
    let mut sum: u32 = 0;
    for _ in 0..16 {
        sum = sum.wrapping_add(DELTA);
        b0 = b0.wrapping_add(
            (b1 << 4).wrapping_add(x[0]) ^ b1.wrapping_add(sum) ^ (b1 >> 5).wrapping_add(x[1]),
        );
        b1 = b1.wrapping_add(
            (b0 << 4).wrapping_add(x[2]) ^ b0.wrapping_add(sum) ^ (b0 >> 5).wrapping_add(x[3]),
        );
    }
    buf[0] = buf[0].wrapping_add(b0);
    buf[1] = buf[1].wrapping_add(b1);
}

/// Final adjustment of a major hash: clear the collision bit, and keep
/// clear of the value the kernel reserves for end-of-directory.
fn finish_major(hash: u32) -> u32 {
    let hash = hash & !1;
    if hash == HTREE_EOF_32BIT << 1 {
        (HTREE_EOF_32BIT - 1) << 1
    } else {
        hash
    }
}

/// Runs `transform` over `name` in chunks of `N` words (32 bytes for
/// half-MD4, 16 for TEA), each packed as the kernel's `str2hashbuf` does.
fn hash_chunks<const N: usize>(
    name: &[u8],
    unsigned: bool,
    buf: &mut [u32; 4],
    transform: fn(&mut [u32; 4], &[u32; N]),
) {
    let mut words = [0u32; N];
    for start in (0..name.len()).step_by(4 * N) {
        pack_words(&name[start..], unsigned, &mut words);
        transform(buf, &words);
    }
}

/// Hashes a directory entry name. Returns `(major, minor)`; the major hash
/// is what the index orders by (low bit always clear), the minor hash is
/// zero for the legacy function.
///
/// `seed` is the superblock's `s_hash_seed` as four little-endian words;
/// all zeroes selects the default MD4 initial state.
pub fn dx_hash(name: &[u8], version: HashVersion, seed: &[u32; 4]) -> (u32, u32) {
    let mut buf = if seed.iter().any(|&w| w != 0) {
        *seed
    } else {
        DEFAULT_SEED
    };
    let unsigned = version.is_unsigned();

    let (major, minor) = match version {
        HashVersion::Legacy | HashVersion::LegacyUnsigned => (legacy_hash(name, unsigned), 0),
        HashVersion::HalfMd4 | HashVersion::HalfMd4Unsigned => {
            hash_chunks(name, unsigned, &mut buf, half_md4_transform);
            (buf[1], buf[2])
        }
        HashVersion::Tea | HashVersion::TeaUnsigned => {
            hash_chunks(name, unsigned, &mut buf, tea_transform);
            (buf[0], buf[1])
        }
    };
    (finish_major(major), minor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// (name, on-disk version, seed words, major, minor).
    type Vector = (&'static [u8], u8, [u32; 4], u32, u32);

    /// Every row was obtained from e2fsprogs 1.47.0:
    /// `debugfs -R "dx_hash -h VERSION [-s SEED-UUID] NAME" /dev/null`.
    /// Seed words are the UUID's bytes read as little-endian u32s, which is
    /// how both debugfs and the superblock's `s_hash_seed` store them.
    /// Seeds: none (all zero), 01234567-89ab-cdef-0123-456789abcdef,
    /// f3a1c9e2-5b7d-4e08-9a6c-2d1e3f405b67. Long names cover the TEA
    /// (16-byte) and half-MD4 (32-byte) chunk sizes and ±1 around them.
    #[rustfmt::skip]
    const DEBUGFS_VECTORS: &[Vector] = &[
        (b"hello", 0, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x32252546, 0x00000000),
        (b"a", 0, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xe74b53e2, 0x00000000),
        (b"lost+found", 0, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x5e2aba24, 0x00000000),
        (b"caf\xe9", 0, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x65f23bce, 0x00000000),
        (b"\xff\xfe\x80abc", 0, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x6a488f64, 0x00000000),
        (b"\xc3\xbc-utf8", 0, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xc6dca084, 0x00000000),
        (b"\x80", 0, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x26f2c94c, 0x00000000),
        (b"\xe9\xe9\xe9\xe9\xe9\xe9\xe9", 0, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xed1eadf0, 0x00000000),
        (b"ahovcjqxelszgnu", 0, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xe0f2f202, 0x00000000),
        (b"ahovcjqxelszgnub", 0, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x9309dc80, 0x00000000),
        (b"ahovcjqxelszgnubi", 0, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xab82627e, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovc", 0, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x6f99ed28, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcj", 0, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x37aaf1f8, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjq", 0, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xc78c1ada, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxels", 0, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x415a18a4, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelsz", 0, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x32b1c46e, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszg", 0, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xa6bdfdec, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkr", 0, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x4be64578, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdk", 0, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x828ab0d8, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3", 0, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xfd65c240, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3i", 0, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x77ca0908, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86j", 0, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xbbf493d0, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq", 0, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x46b46c36, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3g", 0, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x3a0da95a, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3gn\xdabi\x81wd\xa8ry\xcfmt\xf6ho\x9dcj\xc4xe\xebsz\x92nu\xb9ip\xe0dk\x87yf\xaeta\xd5ov\xfcjq\xa3el\xcazg\xf1ub\x98pw\xbfkr\xe6fm\x8dah\xb4vc\xdbqx\x82ls\xa9gn\xd0bi\xf7wd\x9ery\xc5mt\xecho\x93cj\xbaxe\xe1sz\x88nu\xafip\xd6dk\xfdyf\xa4ta\xcbov\xf2jq\x99el\xc0zg\xe7ub\x8epw\xb5kr\xdcfm\x83ah\xaavc\xd1qx\xf8ls\x9fgn\xc6bi\xedwd\x94ry\xbbmt\xe2ho\x89cj\xb0xe\xd7sz\xfenu\xa5ip\xccdk", 0, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xf77a9c02, 0x00000000),
        (b"hello", 1, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x1746da32, 0x420013b5),
        (b"a", 1, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xd5fa7d7a, 0xacb48187),
        (b"lost+found", 1, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x591de422, 0x6ffc56e0),
        (b"caf\xe9", 1, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x9be4a372, 0xc33d4f19),
        (b"\xff\xfe\x80abc", 1, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xa51304d2, 0xc84aba77),
        (b"\xc3\xbc-utf8", 1, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xee6c2248, 0xe57ba8e4),
        (b"\x80", 1, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xae8e789e, 0xf88feddf),
        (b"\xe9\xe9\xe9\xe9\xe9\xe9\xe9", 1, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x401a0df8, 0xd692c56f),
        (b"ahovcjqxelszgnu", 1, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x4aad8fce, 0x059f833b),
        (b"ahovcjqxelszgnub", 1, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x432c2374, 0x8ea8e99c),
        (b"ahovcjqxelszgnubi", 1, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xef544b06, 0x30bdef15),
        (b"ahovcjqxelszgnubipwdkryfmtahovc", 1, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xabdaef28, 0x590ffcaa),
        (b"ahovcjqxelszgnubipwdkryfmtahovcj", 1, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x963a224c, 0x4ff6214b),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjq", 1, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x00eb841c, 0x06d36093),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxels", 1, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xdb8d593a, 0xecef1adf),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelsz", 1, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x3fbba70e, 0xff33711c),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszg", 1, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x902cb404, 0x67206f4c),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkr", 1, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x1a8289f2, 0x36cf4e1f),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdk", 1, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xc7d0d9ec, 0xd2a48b0f),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3", 1, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x56c63d90, 0xc13329fa),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3i", 1, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x48dd0ade, 0x956145a6),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86j", 1, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x2b4e7994, 0xed557cee),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq", 1, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x17c6f138, 0xfca844f0),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3g", 1, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x18ce9f2e, 0x2665ecaa),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3gn\xdabi\x81wd\xa8ry\xcfmt\xf6ho\x9dcj\xc4xe\xebsz\x92nu\xb9ip\xe0dk\x87yf\xaeta\xd5ov\xfcjq\xa3el\xcazg\xf1ub\x98pw\xbfkr\xe6fm\x8dah\xb4vc\xdbqx\x82ls\xa9gn\xd0bi\xf7wd\x9ery\xc5mt\xecho\x93cj\xbaxe\xe1sz\x88nu\xafip\xd6dk\xfdyf\xa4ta\xcbov\xf2jq\x99el\xc0zg\xe7ub\x8epw\xb5kr\xdcfm\x83ah\xaavc\xd1qx\xf8ls\x9fgn\xc6bi\xedwd\x94ry\xbbmt\xe2ho\x89cj\xb0xe\xd7sz\xfenu\xa5ip\xccdk", 1, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xfacd73b0, 0xe89ac983),
        (b"hello", 2, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x6f5bb1a8, 0x231917c2),
        (b"a", 2, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x6d0ea4c0, 0xc18922df),
        (b"lost+found", 2, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x2dbf9e80, 0xbfebee4f),
        (b"caf\xe9", 2, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x84b3a194, 0x1cf71779),
        (b"\xff\xfe\x80abc", 2, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x249d9dd4, 0xe4612e5d),
        (b"\xc3\xbc-utf8", 2, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x05996ae4, 0xa580c33a),
        (b"\x80", 2, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x4c9e4a68, 0xd1de8ff7),
        (b"\xe9\xe9\xe9\xe9\xe9\xe9\xe9", 2, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xffc5fb02, 0x7bbdc137),
        (b"ahovcjqxelszgnu", 2, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xe0fbafa4, 0x3e742d45),
        (b"ahovcjqxelszgnub", 2, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x62f58c0e, 0xdbf4c88c),
        (b"ahovcjqxelszgnubi", 2, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x3bd112be, 0x9d0e131e),
        (b"ahovcjqxelszgnubipwdkryfmtahovc", 2, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xfdbc7010, 0x1ff7cc5a),
        (b"ahovcjqxelszgnubipwdkryfmtahovcj", 2, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xa13493f4, 0x51b12e79),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjq", 2, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xddd1ea72, 0x4d84ef87),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxels", 2, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xd5e37ebe, 0xb1ee9b16),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelsz", 2, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xf8550182, 0x4530445b),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszg", 2, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x394f5e92, 0xf7655d63),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkr", 2, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x35b11442, 0x088fc15a),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdk", 2, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x96e60cf0, 0x856ad6b5),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3", 2, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x6a5c48f0, 0xf9c87090),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3i", 2, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x9c5f74d6, 0x72126fbe),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86j", 2, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x74a04566, 0x891dc44b),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq", 2, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x10a8e984, 0xe9822cbc),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3g", 2, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x6ed41b96, 0x6d974ba5),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3gn\xdabi\x81wd\xa8ry\xcfmt\xf6ho\x9dcj\xc4xe\xebsz\x92nu\xb9ip\xe0dk\x87yf\xaeta\xd5ov\xfcjq\xa3el\xcazg\xf1ub\x98pw\xbfkr\xe6fm\x8dah\xb4vc\xdbqx\x82ls\xa9gn\xd0bi\xf7wd\x9ery\xc5mt\xecho\x93cj\xbaxe\xe1sz\x88nu\xafip\xd6dk\xfdyf\xa4ta\xcbov\xf2jq\x99el\xc0zg\xe7ub\x8epw\xb5kr\xdcfm\x83ah\xaavc\xd1qx\xf8ls\x9fgn\xc6bi\xedwd\x94ry\xbbmt\xe2ho\x89cj\xb0xe\xd7sz\xfenu\xa5ip\xccdk", 2, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xb139cc32, 0xc2b8ca26),
        (b"hello", 3, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x32252546, 0x00000000),
        (b"a", 3, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xe74b53e2, 0x00000000),
        (b"lost+found", 3, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x5e2aba24, 0x00000000),
        (b"caf\xe9", 3, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x7c3849d0, 0x00000000),
        (b"\xff\xfe\x80abc", 3, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x610be5e2, 0x00000000),
        (b"\xc3\xbc-utf8", 3, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x61b45a66, 0x00000000),
        (b"\x80", 3, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xb7bcdb4c, 0x00000000),
        (b"\xe9\xe9\xe9\xe9\xe9\xe9\xe9", 3, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xaea78b84, 0x00000000),
        (b"ahovcjqxelszgnu", 3, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xe0f2f202, 0x00000000),
        (b"ahovcjqxelszgnub", 3, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x9309dc80, 0x00000000),
        (b"ahovcjqxelszgnubi", 3, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xab82627e, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovc", 3, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x6f99ed28, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcj", 3, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x37aaf1f8, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjq", 3, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xc78c1ada, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxels", 3, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x415a18a4, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelsz", 3, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x32b1c46e, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszg", 3, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xa6bdfdec, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkr", 3, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x4be64578, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdk", 3, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x828ab0d8, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3", 3, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x95f6b8fa, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3i", 3, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x2a01ef0a, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86j", 3, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x89b42254, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq", 3, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xe210ad2a, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3g", 3, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x0f2e9548, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3gn\xdabi\x81wd\xa8ry\xcfmt\xf6ho\x9dcj\xc4xe\xebsz\x92nu\xb9ip\xe0dk\x87yf\xaeta\xd5ov\xfcjq\xa3el\xcazg\xf1ub\x98pw\xbfkr\xe6fm\x8dah\xb4vc\xdbqx\x82ls\xa9gn\xd0bi\xf7wd\x9ery\xc5mt\xecho\x93cj\xbaxe\xe1sz\x88nu\xafip\xd6dk\xfdyf\xa4ta\xcbov\xf2jq\x99el\xc0zg\xe7ub\x8epw\xb5kr\xdcfm\x83ah\xaavc\xd1qx\xf8ls\x9fgn\xc6bi\xedwd\x94ry\xbbmt\xe2ho\x89cj\xb0xe\xd7sz\xfenu\xa5ip\xccdk", 3, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xd06ba796, 0x00000000),
        (b"hello", 4, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x1746da32, 0x420013b5),
        (b"a", 4, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xd5fa7d7a, 0xacb48187),
        (b"lost+found", 4, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x591de422, 0x6ffc56e0),
        (b"caf\xe9", 4, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xab408964, 0x07893b5c),
        (b"\xff\xfe\x80abc", 4, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xa58c4eb0, 0x7889f364),
        (b"\xc3\xbc-utf8", 4, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xe2eff5ba, 0x64a48b47),
        (b"\x80", 4, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x6f46e5d6, 0x8298a36e),
        (b"\xe9\xe9\xe9\xe9\xe9\xe9\xe9", 4, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xbae0328a, 0xc6a07f2f),
        (b"ahovcjqxelszgnu", 4, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x4aad8fce, 0x059f833b),
        (b"ahovcjqxelszgnub", 4, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x432c2374, 0x8ea8e99c),
        (b"ahovcjqxelszgnubi", 4, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xef544b06, 0x30bdef15),
        (b"ahovcjqxelszgnubipwdkryfmtahovc", 4, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xabdaef28, 0x590ffcaa),
        (b"ahovcjqxelszgnubipwdkryfmtahovcj", 4, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x963a224c, 0x4ff6214b),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjq", 4, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x00eb841c, 0x06d36093),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxels", 4, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xdb8d593a, 0xecef1adf),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelsz", 4, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x3fbba70e, 0xff33711c),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszg", 4, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x902cb404, 0x67206f4c),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkr", 4, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x1a8289f2, 0x36cf4e1f),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdk", 4, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xc7d0d9ec, 0xd2a48b0f),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3", 4, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xe1bec54c, 0xd67da2b6),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3i", 4, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xf3b5993c, 0xd4762b6b),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86j", 4, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xe511a1fa, 0x3bf61f92),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq", 4, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x0caeec80, 0x526d9b01),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3g", 4, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x6a92535e, 0x454fa3b9),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3gn\xdabi\x81wd\xa8ry\xcfmt\xf6ho\x9dcj\xc4xe\xebsz\x92nu\xb9ip\xe0dk\x87yf\xaeta\xd5ov\xfcjq\xa3el\xcazg\xf1ub\x98pw\xbfkr\xe6fm\x8dah\xb4vc\xdbqx\x82ls\xa9gn\xd0bi\xf7wd\x9ery\xc5mt\xecho\x93cj\xbaxe\xe1sz\x88nu\xafip\xd6dk\xfdyf\xa4ta\xcbov\xf2jq\x99el\xc0zg\xe7ub\x8epw\xb5kr\xdcfm\x83ah\xaavc\xd1qx\xf8ls\x9fgn\xc6bi\xedwd\x94ry\xbbmt\xe2ho\x89cj\xb0xe\xd7sz\xfenu\xa5ip\xccdk", 4, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xe5261d82, 0xaaba87c7),
        (b"hello", 5, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x6f5bb1a8, 0x231917c2),
        (b"a", 5, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x6d0ea4c0, 0xc18922df),
        (b"lost+found", 5, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x2dbf9e80, 0xbfebee4f),
        (b"caf\xe9", 5, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xe665cc26, 0x417d943d),
        (b"\xff\xfe\x80abc", 5, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x7ab9002a, 0x37436b6d),
        (b"\xc3\xbc-utf8", 5, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xd34277ca, 0xdbebb54b),
        (b"\x80", 5, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x56476c30, 0x931808a5),
        (b"\xe9\xe9\xe9\xe9\xe9\xe9\xe9", 5, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xf63f73d8, 0xeaa6b93b),
        (b"ahovcjqxelszgnu", 5, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xe0fbafa4, 0x3e742d45),
        (b"ahovcjqxelszgnub", 5, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x62f58c0e, 0xdbf4c88c),
        (b"ahovcjqxelszgnubi", 5, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x3bd112be, 0x9d0e131e),
        (b"ahovcjqxelszgnubipwdkryfmtahovc", 5, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xfdbc7010, 0x1ff7cc5a),
        (b"ahovcjqxelszgnubipwdkryfmtahovcj", 5, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xa13493f4, 0x51b12e79),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjq", 5, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xddd1ea72, 0x4d84ef87),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxels", 5, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xd5e37ebe, 0xb1ee9b16),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelsz", 5, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0xf8550182, 0x4530445b),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszg", 5, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x394f5e92, 0xf7655d63),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkr", 5, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x35b11442, 0x088fc15a),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdk", 5, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x96e60cf0, 0x856ad6b5),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3", 5, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x9707e080, 0xa1cce3de),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3i", 5, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x014aa240, 0xb43396a4),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86j", 5, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x63f4649c, 0xad7e0fcb),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq", 5, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x62190f22, 0xeb3e8b15),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3g", 5, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x4b532ee6, 0xb46acccb),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3gn\xdabi\x81wd\xa8ry\xcfmt\xf6ho\x9dcj\xc4xe\xebsz\x92nu\xb9ip\xe0dk\x87yf\xaeta\xd5ov\xfcjq\xa3el\xcazg\xf1ub\x98pw\xbfkr\xe6fm\x8dah\xb4vc\xdbqx\x82ls\xa9gn\xd0bi\xf7wd\x9ery\xc5mt\xecho\x93cj\xbaxe\xe1sz\x88nu\xafip\xd6dk\xfdyf\xa4ta\xcbov\xf2jq\x99el\xc0zg\xe7ub\x8epw\xb5kr\xdcfm\x83ah\xaavc\xd1qx\xf8ls\x9fgn\xc6bi\xedwd\x94ry\xbbmt\xe2ho\x89cj\xb0xe\xd7sz\xfenu\xa5ip\xccdk", 5, [0x00000000, 0x00000000, 0x00000000, 0x00000000], 0x354ac5f2, 0x408f210c),
        (b"hello", 0, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x32252546, 0x00000000),
        (b"a", 0, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xe74b53e2, 0x00000000),
        (b"lost+found", 0, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x5e2aba24, 0x00000000),
        (b"caf\xe9", 0, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x65f23bce, 0x00000000),
        (b"\xff\xfe\x80abc", 0, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x6a488f64, 0x00000000),
        (b"\xc3\xbc-utf8", 0, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xc6dca084, 0x00000000),
        (b"\x80", 0, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x26f2c94c, 0x00000000),
        (b"\xe9\xe9\xe9\xe9\xe9\xe9\xe9", 0, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xed1eadf0, 0x00000000),
        (b"ahovcjqxelszgnu", 0, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xe0f2f202, 0x00000000),
        (b"ahovcjqxelszgnub", 0, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x9309dc80, 0x00000000),
        (b"ahovcjqxelszgnubi", 0, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xab82627e, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovc", 0, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x6f99ed28, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcj", 0, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x37aaf1f8, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjq", 0, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xc78c1ada, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxels", 0, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x415a18a4, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelsz", 0, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x32b1c46e, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszg", 0, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xa6bdfdec, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkr", 0, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x4be64578, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdk", 0, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x828ab0d8, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3", 0, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xfd65c240, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3i", 0, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x77ca0908, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86j", 0, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xbbf493d0, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq", 0, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x46b46c36, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3g", 0, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x3a0da95a, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3gn\xdabi\x81wd\xa8ry\xcfmt\xf6ho\x9dcj\xc4xe\xebsz\x92nu\xb9ip\xe0dk\x87yf\xaeta\xd5ov\xfcjq\xa3el\xcazg\xf1ub\x98pw\xbfkr\xe6fm\x8dah\xb4vc\xdbqx\x82ls\xa9gn\xd0bi\xf7wd\x9ery\xc5mt\xecho\x93cj\xbaxe\xe1sz\x88nu\xafip\xd6dk\xfdyf\xa4ta\xcbov\xf2jq\x99el\xc0zg\xe7ub\x8epw\xb5kr\xdcfm\x83ah\xaavc\xd1qx\xf8ls\x9fgn\xc6bi\xedwd\x94ry\xbbmt\xe2ho\x89cj\xb0xe\xd7sz\xfenu\xa5ip\xccdk", 0, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xf77a9c02, 0x00000000),
        (b"hello", 1, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xa26e4a80, 0x97e5b7f7),
        (b"a", 1, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x35dc0cc4, 0x3f1dacef),
        (b"lost+found", 1, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x663bdc72, 0x562ef5d8),
        (b"caf\xe9", 1, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x25f83f6a, 0x975a3862),
        (b"\xff\xfe\x80abc", 1, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x42e5c5ce, 0x8bb2edd0),
        (b"\xc3\xbc-utf8", 1, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xf7054a9a, 0xc3a4088f),
        (b"\x80", 1, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x19fd7f02, 0x869819ee),
        (b"\xe9\xe9\xe9\xe9\xe9\xe9\xe9", 1, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xbd1fae34, 0x01497fd6),
        (b"ahovcjqxelszgnu", 1, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x6892282c, 0x0cf9d321),
        (b"ahovcjqxelszgnub", 1, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xe5777502, 0x785f2529),
        (b"ahovcjqxelszgnubi", 1, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x2aae34be, 0x7b087872),
        (b"ahovcjqxelszgnubipwdkryfmtahovc", 1, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xbbb15438, 0x53ebab70),
        (b"ahovcjqxelszgnubipwdkryfmtahovcj", 1, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xc974797e, 0xa37ebe75),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjq", 1, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x96507bea, 0x8a15c71a),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxels", 1, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xa32498b8, 0x5c420084),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelsz", 1, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x63dfef78, 0x3c3ca500),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszg", 1, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x6a3d8daa, 0x32970570),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkr", 1, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x1c6e90c6, 0xd4b8eb48),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdk", 1, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x153f9f6e, 0x862d87ac),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3", 1, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x76971ee4, 0x003cc6be),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3i", 1, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xab1cf202, 0xf5471e19),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86j", 1, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xc49f6ae4, 0x49b32946),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq", 1, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x2c575c62, 0x4d08cf1a),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3g", 1, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x06e34566, 0x65aac3dd),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3gn\xdabi\x81wd\xa8ry\xcfmt\xf6ho\x9dcj\xc4xe\xebsz\x92nu\xb9ip\xe0dk\x87yf\xaeta\xd5ov\xfcjq\xa3el\xcazg\xf1ub\x98pw\xbfkr\xe6fm\x8dah\xb4vc\xdbqx\x82ls\xa9gn\xd0bi\xf7wd\x9ery\xc5mt\xecho\x93cj\xbaxe\xe1sz\x88nu\xafip\xd6dk\xfdyf\xa4ta\xcbov\xf2jq\x99el\xc0zg\xe7ub\x8epw\xb5kr\xdcfm\x83ah\xaavc\xd1qx\xf8ls\x9fgn\xc6bi\xedwd\x94ry\xbbmt\xe2ho\x89cj\xb0xe\xd7sz\xfenu\xa5ip\xccdk", 1, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x9eb93da6, 0x43ad4c55),
        (b"hello", 2, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x6f5bb1a8, 0x231917c2),
        (b"a", 2, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x6d0ea4c0, 0xc18922df),
        (b"lost+found", 2, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x2dbf9e80, 0xbfebee4f),
        (b"caf\xe9", 2, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x84b3a194, 0x1cf71779),
        (b"\xff\xfe\x80abc", 2, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x249d9dd4, 0xe4612e5d),
        (b"\xc3\xbc-utf8", 2, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x05996ae4, 0xa580c33a),
        (b"\x80", 2, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x4c9e4a68, 0xd1de8ff7),
        (b"\xe9\xe9\xe9\xe9\xe9\xe9\xe9", 2, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xffc5fb02, 0x7bbdc137),
        (b"ahovcjqxelszgnu", 2, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xe0fbafa4, 0x3e742d45),
        (b"ahovcjqxelszgnub", 2, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x62f58c0e, 0xdbf4c88c),
        (b"ahovcjqxelszgnubi", 2, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x3bd112be, 0x9d0e131e),
        (b"ahovcjqxelszgnubipwdkryfmtahovc", 2, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xfdbc7010, 0x1ff7cc5a),
        (b"ahovcjqxelszgnubipwdkryfmtahovcj", 2, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xa13493f4, 0x51b12e79),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjq", 2, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xddd1ea72, 0x4d84ef87),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxels", 2, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xd5e37ebe, 0xb1ee9b16),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelsz", 2, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xf8550182, 0x4530445b),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszg", 2, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x394f5e92, 0xf7655d63),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkr", 2, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x35b11442, 0x088fc15a),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdk", 2, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x96e60cf0, 0x856ad6b5),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3", 2, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x6a5c48f0, 0xf9c87090),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3i", 2, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x9c5f74d6, 0x72126fbe),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86j", 2, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x74a04566, 0x891dc44b),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq", 2, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x10a8e984, 0xe9822cbc),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3g", 2, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x6ed41b96, 0x6d974ba5),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3gn\xdabi\x81wd\xa8ry\xcfmt\xf6ho\x9dcj\xc4xe\xebsz\x92nu\xb9ip\xe0dk\x87yf\xaeta\xd5ov\xfcjq\xa3el\xcazg\xf1ub\x98pw\xbfkr\xe6fm\x8dah\xb4vc\xdbqx\x82ls\xa9gn\xd0bi\xf7wd\x9ery\xc5mt\xecho\x93cj\xbaxe\xe1sz\x88nu\xafip\xd6dk\xfdyf\xa4ta\xcbov\xf2jq\x99el\xc0zg\xe7ub\x8epw\xb5kr\xdcfm\x83ah\xaavc\xd1qx\xf8ls\x9fgn\xc6bi\xedwd\x94ry\xbbmt\xe2ho\x89cj\xb0xe\xd7sz\xfenu\xa5ip\xccdk", 2, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xb139cc32, 0xc2b8ca26),
        (b"hello", 3, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x32252546, 0x00000000),
        (b"a", 3, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xe74b53e2, 0x00000000),
        (b"lost+found", 3, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x5e2aba24, 0x00000000),
        (b"caf\xe9", 3, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x7c3849d0, 0x00000000),
        (b"\xff\xfe\x80abc", 3, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x610be5e2, 0x00000000),
        (b"\xc3\xbc-utf8", 3, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x61b45a66, 0x00000000),
        (b"\x80", 3, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xb7bcdb4c, 0x00000000),
        (b"\xe9\xe9\xe9\xe9\xe9\xe9\xe9", 3, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xaea78b84, 0x00000000),
        (b"ahovcjqxelszgnu", 3, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xe0f2f202, 0x00000000),
        (b"ahovcjqxelszgnub", 3, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x9309dc80, 0x00000000),
        (b"ahovcjqxelszgnubi", 3, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xab82627e, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovc", 3, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x6f99ed28, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcj", 3, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x37aaf1f8, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjq", 3, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xc78c1ada, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxels", 3, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x415a18a4, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelsz", 3, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x32b1c46e, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszg", 3, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xa6bdfdec, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkr", 3, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x4be64578, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdk", 3, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x828ab0d8, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3", 3, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x95f6b8fa, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3i", 3, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x2a01ef0a, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86j", 3, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x89b42254, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq", 3, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xe210ad2a, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3g", 3, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x0f2e9548, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3gn\xdabi\x81wd\xa8ry\xcfmt\xf6ho\x9dcj\xc4xe\xebsz\x92nu\xb9ip\xe0dk\x87yf\xaeta\xd5ov\xfcjq\xa3el\xcazg\xf1ub\x98pw\xbfkr\xe6fm\x8dah\xb4vc\xdbqx\x82ls\xa9gn\xd0bi\xf7wd\x9ery\xc5mt\xecho\x93cj\xbaxe\xe1sz\x88nu\xafip\xd6dk\xfdyf\xa4ta\xcbov\xf2jq\x99el\xc0zg\xe7ub\x8epw\xb5kr\xdcfm\x83ah\xaavc\xd1qx\xf8ls\x9fgn\xc6bi\xedwd\x94ry\xbbmt\xe2ho\x89cj\xb0xe\xd7sz\xfenu\xa5ip\xccdk", 3, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xd06ba796, 0x00000000),
        (b"hello", 4, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xa26e4a80, 0x97e5b7f7),
        (b"a", 4, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x35dc0cc4, 0x3f1dacef),
        (b"lost+found", 4, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x663bdc72, 0x562ef5d8),
        (b"caf\xe9", 4, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xae46a75c, 0x0c6be2ec),
        (b"\xff\xfe\x80abc", 4, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x06ae6712, 0xd5cc7c1c),
        (b"\xc3\xbc-utf8", 4, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x766fdc10, 0x60cdb0b7),
        (b"\x80", 4, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x623a549e, 0x2359c194),
        (b"\xe9\xe9\xe9\xe9\xe9\xe9\xe9", 4, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x80b76988, 0xe3a13c0f),
        (b"ahovcjqxelszgnu", 4, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x6892282c, 0x0cf9d321),
        (b"ahovcjqxelszgnub", 4, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xe5777502, 0x785f2529),
        (b"ahovcjqxelszgnubi", 4, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x2aae34be, 0x7b087872),
        (b"ahovcjqxelszgnubipwdkryfmtahovc", 4, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xbbb15438, 0x53ebab70),
        (b"ahovcjqxelszgnubipwdkryfmtahovcj", 4, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xc974797e, 0xa37ebe75),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjq", 4, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x96507bea, 0x8a15c71a),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxels", 4, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xa32498b8, 0x5c420084),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelsz", 4, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x63dfef78, 0x3c3ca500),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszg", 4, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x6a3d8daa, 0x32970570),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkr", 4, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x1c6e90c6, 0xd4b8eb48),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdk", 4, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x153f9f6e, 0x862d87ac),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3", 4, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x0179097e, 0x2c3db604),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3i", 4, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x5ed4d6d2, 0xb9260364),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86j", 4, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x7d7430a8, 0xe7b5a959),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq", 4, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x99b894d2, 0x3de04640),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3g", 4, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xd56196f0, 0x0f2ed90a),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3gn\xdabi\x81wd\xa8ry\xcfmt\xf6ho\x9dcj\xc4xe\xebsz\x92nu\xb9ip\xe0dk\x87yf\xaeta\xd5ov\xfcjq\xa3el\xcazg\xf1ub\x98pw\xbfkr\xe6fm\x8dah\xb4vc\xdbqx\x82ls\xa9gn\xd0bi\xf7wd\x9ery\xc5mt\xecho\x93cj\xbaxe\xe1sz\x88nu\xafip\xd6dk\xfdyf\xa4ta\xcbov\xf2jq\x99el\xc0zg\xe7ub\x8epw\xb5kr\xdcfm\x83ah\xaavc\xd1qx\xf8ls\x9fgn\xc6bi\xedwd\x94ry\xbbmt\xe2ho\x89cj\xb0xe\xd7sz\xfenu\xa5ip\xccdk", 4, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x2b063c88, 0xe978b9b3),
        (b"hello", 5, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x6f5bb1a8, 0x231917c2),
        (b"a", 5, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x6d0ea4c0, 0xc18922df),
        (b"lost+found", 5, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x2dbf9e80, 0xbfebee4f),
        (b"caf\xe9", 5, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xe665cc26, 0x417d943d),
        (b"\xff\xfe\x80abc", 5, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x7ab9002a, 0x37436b6d),
        (b"\xc3\xbc-utf8", 5, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xd34277ca, 0xdbebb54b),
        (b"\x80", 5, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x56476c30, 0x931808a5),
        (b"\xe9\xe9\xe9\xe9\xe9\xe9\xe9", 5, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xf63f73d8, 0xeaa6b93b),
        (b"ahovcjqxelszgnu", 5, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xe0fbafa4, 0x3e742d45),
        (b"ahovcjqxelszgnub", 5, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x62f58c0e, 0xdbf4c88c),
        (b"ahovcjqxelszgnubi", 5, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x3bd112be, 0x9d0e131e),
        (b"ahovcjqxelszgnubipwdkryfmtahovc", 5, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xfdbc7010, 0x1ff7cc5a),
        (b"ahovcjqxelszgnubipwdkryfmtahovcj", 5, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xa13493f4, 0x51b12e79),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjq", 5, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xddd1ea72, 0x4d84ef87),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxels", 5, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xd5e37ebe, 0xb1ee9b16),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelsz", 5, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0xf8550182, 0x4530445b),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszg", 5, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x394f5e92, 0xf7655d63),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkr", 5, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x35b11442, 0x088fc15a),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdk", 5, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x96e60cf0, 0x856ad6b5),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3", 5, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x9707e080, 0xa1cce3de),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3i", 5, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x014aa240, 0xb43396a4),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86j", 5, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x63f4649c, 0xad7e0fcb),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq", 5, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x62190f22, 0xeb3e8b15),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3g", 5, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x4b532ee6, 0xb46acccb),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3gn\xdabi\x81wd\xa8ry\xcfmt\xf6ho\x9dcj\xc4xe\xebsz\x92nu\xb9ip\xe0dk\x87yf\xaeta\xd5ov\xfcjq\xa3el\xcazg\xf1ub\x98pw\xbfkr\xe6fm\x8dah\xb4vc\xdbqx\x82ls\xa9gn\xd0bi\xf7wd\x9ery\xc5mt\xecho\x93cj\xbaxe\xe1sz\x88nu\xafip\xd6dk\xfdyf\xa4ta\xcbov\xf2jq\x99el\xc0zg\xe7ub\x8epw\xb5kr\xdcfm\x83ah\xaavc\xd1qx\xf8ls\x9fgn\xc6bi\xedwd\x94ry\xbbmt\xe2ho\x89cj\xb0xe\xd7sz\xfenu\xa5ip\xccdk", 5, [0x67452301, 0xefcdab89, 0x67452301, 0xefcdab89], 0x354ac5f2, 0x408f210c),
        (b"hello", 0, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x32252546, 0x00000000),
        (b"a", 0, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xe74b53e2, 0x00000000),
        (b"lost+found", 0, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x5e2aba24, 0x00000000),
        (b"caf\xe9", 0, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x65f23bce, 0x00000000),
        (b"\xff\xfe\x80abc", 0, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x6a488f64, 0x00000000),
        (b"\xc3\xbc-utf8", 0, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xc6dca084, 0x00000000),
        (b"\x80", 0, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x26f2c94c, 0x00000000),
        (b"\xe9\xe9\xe9\xe9\xe9\xe9\xe9", 0, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xed1eadf0, 0x00000000),
        (b"ahovcjqxelszgnu", 0, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xe0f2f202, 0x00000000),
        (b"ahovcjqxelszgnub", 0, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x9309dc80, 0x00000000),
        (b"ahovcjqxelszgnubi", 0, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xab82627e, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovc", 0, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x6f99ed28, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcj", 0, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x37aaf1f8, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjq", 0, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xc78c1ada, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxels", 0, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x415a18a4, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelsz", 0, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x32b1c46e, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszg", 0, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xa6bdfdec, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkr", 0, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x4be64578, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdk", 0, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x828ab0d8, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3", 0, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xfd65c240, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3i", 0, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x77ca0908, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86j", 0, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xbbf493d0, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq", 0, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x46b46c36, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3g", 0, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x3a0da95a, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3gn\xdabi\x81wd\xa8ry\xcfmt\xf6ho\x9dcj\xc4xe\xebsz\x92nu\xb9ip\xe0dk\x87yf\xaeta\xd5ov\xfcjq\xa3el\xcazg\xf1ub\x98pw\xbfkr\xe6fm\x8dah\xb4vc\xdbqx\x82ls\xa9gn\xd0bi\xf7wd\x9ery\xc5mt\xecho\x93cj\xbaxe\xe1sz\x88nu\xafip\xd6dk\xfdyf\xa4ta\xcbov\xf2jq\x99el\xc0zg\xe7ub\x8epw\xb5kr\xdcfm\x83ah\xaavc\xd1qx\xf8ls\x9fgn\xc6bi\xedwd\x94ry\xbbmt\xe2ho\x89cj\xb0xe\xd7sz\xfenu\xa5ip\xccdk", 0, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xf77a9c02, 0x00000000),
        (b"hello", 1, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xcd043172, 0x81e5c170),
        (b"a", 1, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xd5831e62, 0xa4e23e17),
        (b"lost+found", 1, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x14f348e4, 0x281ffa77),
        (b"caf\xe9", 1, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x2f93cbf8, 0x44aea4d6),
        (b"\xff\xfe\x80abc", 1, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x023f0db6, 0xff2f5e61),
        (b"\xc3\xbc-utf8", 1, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x059f5150, 0x399dd62d),
        (b"\x80", 1, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x1990ea4e, 0xc986901e),
        (b"\xe9\xe9\xe9\xe9\xe9\xe9\xe9", 1, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xeb3915e2, 0x578be92f),
        (b"ahovcjqxelszgnu", 1, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xf9e18fc4, 0xa5e1fb31),
        (b"ahovcjqxelszgnub", 1, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x2feffcca, 0xb69e14b1),
        (b"ahovcjqxelszgnubi", 1, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x6180dcd6, 0xf52f820d),
        (b"ahovcjqxelszgnubipwdkryfmtahovc", 1, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xb76d461a, 0x225a12eb),
        (b"ahovcjqxelszgnubipwdkryfmtahovcj", 1, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x1e26ad7a, 0x40100e12),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjq", 1, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xde3ebcbc, 0x5b315186),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxels", 1, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x52281714, 0x8cd5c689),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelsz", 1, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x97000092, 0xadd97ae2),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszg", 1, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x52de2d54, 0xda6c079b),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkr", 1, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x1048ae18, 0x7db1b5fc),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdk", 1, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x75227ef0, 0x49151445),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3", 1, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x46a88d26, 0x4146493a),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3i", 1, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x51115d08, 0x13d3f49b),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86j", 1, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x0ef5341e, 0x3ca2bc6a),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq", 1, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xbd229a2a, 0xa72c5155),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3g", 1, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xe3304f52, 0x0ec1c311),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3gn\xdabi\x81wd\xa8ry\xcfmt\xf6ho\x9dcj\xc4xe\xebsz\x92nu\xb9ip\xe0dk\x87yf\xaeta\xd5ov\xfcjq\xa3el\xcazg\xf1ub\x98pw\xbfkr\xe6fm\x8dah\xb4vc\xdbqx\x82ls\xa9gn\xd0bi\xf7wd\x9ery\xc5mt\xecho\x93cj\xbaxe\xe1sz\x88nu\xafip\xd6dk\xfdyf\xa4ta\xcbov\xf2jq\x99el\xc0zg\xe7ub\x8epw\xb5kr\xdcfm\x83ah\xaavc\xd1qx\xf8ls\x9fgn\xc6bi\xedwd\x94ry\xbbmt\xe2ho\x89cj\xb0xe\xd7sz\xfenu\xa5ip\xccdk", 1, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xd8aa3f72, 0x6f5adc22),
        (b"hello", 2, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x680d2408, 0xf5a2e5f3),
        (b"a", 2, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x3cdb843e, 0xf6cd5d56),
        (b"lost+found", 2, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xf071c810, 0x585edd22),
        (b"caf\xe9", 2, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xabcb3f48, 0x0913478f),
        (b"\xff\xfe\x80abc", 2, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x1a593c94, 0x5c152dda),
        (b"\xc3\xbc-utf8", 2, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xc8db1a52, 0x838c5eb0),
        (b"\x80", 2, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x0feca580, 0x38aceffa),
        (b"\xe9\xe9\xe9\xe9\xe9\xe9\xe9", 2, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xf85ca9ec, 0x8fc57641),
        (b"ahovcjqxelszgnu", 2, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xee29d94e, 0xcff00549),
        (b"ahovcjqxelszgnub", 2, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xf702e7c2, 0x3f52591f),
        (b"ahovcjqxelszgnubi", 2, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xf676c604, 0x99821d5e),
        (b"ahovcjqxelszgnubipwdkryfmtahovc", 2, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x84818442, 0x5c482d14),
        (b"ahovcjqxelszgnubipwdkryfmtahovcj", 2, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x8dc4d38c, 0xa253b119),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjq", 2, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xfd7f35ec, 0x423b4523),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxels", 2, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xddf909a0, 0x12530592),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelsz", 2, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xb87bf35e, 0x3dfb2321),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszg", 2, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xba0dd9de, 0x3f2a7d81),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkr", 2, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xf3a67860, 0x2dc44fd0),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdk", 2, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x3e96d5ec, 0x8314e910),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3", 2, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x2103a272, 0xe704bdc6),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3i", 2, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xfdcf9000, 0xd7f3fe39),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86j", 2, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xb1be7fa4, 0x65c2bb55),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq", 2, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x04d6f994, 0xb6bc16c1),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3g", 2, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x3e4619b4, 0x3cefce42),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3gn\xdabi\x81wd\xa8ry\xcfmt\xf6ho\x9dcj\xc4xe\xebsz\x92nu\xb9ip\xe0dk\x87yf\xaeta\xd5ov\xfcjq\xa3el\xcazg\xf1ub\x98pw\xbfkr\xe6fm\x8dah\xb4vc\xdbqx\x82ls\xa9gn\xd0bi\xf7wd\x9ery\xc5mt\xecho\x93cj\xbaxe\xe1sz\x88nu\xafip\xd6dk\xfdyf\xa4ta\xcbov\xf2jq\x99el\xc0zg\xe7ub\x8epw\xb5kr\xdcfm\x83ah\xaavc\xd1qx\xf8ls\x9fgn\xc6bi\xedwd\x94ry\xbbmt\xe2ho\x89cj\xb0xe\xd7sz\xfenu\xa5ip\xccdk", 2, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xd5f62a1a, 0x40137e7b),
        (b"hello", 3, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x32252546, 0x00000000),
        (b"a", 3, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xe74b53e2, 0x00000000),
        (b"lost+found", 3, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x5e2aba24, 0x00000000),
        (b"caf\xe9", 3, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x7c3849d0, 0x00000000),
        (b"\xff\xfe\x80abc", 3, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x610be5e2, 0x00000000),
        (b"\xc3\xbc-utf8", 3, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x61b45a66, 0x00000000),
        (b"\x80", 3, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xb7bcdb4c, 0x00000000),
        (b"\xe9\xe9\xe9\xe9\xe9\xe9\xe9", 3, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xaea78b84, 0x00000000),
        (b"ahovcjqxelszgnu", 3, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xe0f2f202, 0x00000000),
        (b"ahovcjqxelszgnub", 3, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x9309dc80, 0x00000000),
        (b"ahovcjqxelszgnubi", 3, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xab82627e, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovc", 3, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x6f99ed28, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcj", 3, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x37aaf1f8, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjq", 3, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xc78c1ada, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxels", 3, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x415a18a4, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelsz", 3, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x32b1c46e, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszg", 3, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xa6bdfdec, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkr", 3, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x4be64578, 0x00000000),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdk", 3, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x828ab0d8, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3", 3, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x95f6b8fa, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3i", 3, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x2a01ef0a, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86j", 3, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x89b42254, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq", 3, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xe210ad2a, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3g", 3, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x0f2e9548, 0x00000000),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3gn\xdabi\x81wd\xa8ry\xcfmt\xf6ho\x9dcj\xc4xe\xebsz\x92nu\xb9ip\xe0dk\x87yf\xaeta\xd5ov\xfcjq\xa3el\xcazg\xf1ub\x98pw\xbfkr\xe6fm\x8dah\xb4vc\xdbqx\x82ls\xa9gn\xd0bi\xf7wd\x9ery\xc5mt\xecho\x93cj\xbaxe\xe1sz\x88nu\xafip\xd6dk\xfdyf\xa4ta\xcbov\xf2jq\x99el\xc0zg\xe7ub\x8epw\xb5kr\xdcfm\x83ah\xaavc\xd1qx\xf8ls\x9fgn\xc6bi\xedwd\x94ry\xbbmt\xe2ho\x89cj\xb0xe\xd7sz\xfenu\xa5ip\xccdk", 3, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xd06ba796, 0x00000000),
        (b"hello", 4, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xcd043172, 0x81e5c170),
        (b"a", 4, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xd5831e62, 0xa4e23e17),
        (b"lost+found", 4, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x14f348e4, 0x281ffa77),
        (b"caf\xe9", 4, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x7262a3b8, 0x59d1d9da),
        (b"\xff\xfe\x80abc", 4, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xb9f27aa0, 0x3e7e945f),
        (b"\xc3\xbc-utf8", 4, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xeda3dc96, 0x23676b48),
        (b"\x80", 4, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xb3a13d9e, 0xb6386a3c),
        (b"\xe9\xe9\xe9\xe9\xe9\xe9\xe9", 4, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x4355ac64, 0x62617365),
        (b"ahovcjqxelszgnu", 4, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xf9e18fc4, 0xa5e1fb31),
        (b"ahovcjqxelszgnub", 4, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x2feffcca, 0xb69e14b1),
        (b"ahovcjqxelszgnubi", 4, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x6180dcd6, 0xf52f820d),
        (b"ahovcjqxelszgnubipwdkryfmtahovc", 4, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xb76d461a, 0x225a12eb),
        (b"ahovcjqxelszgnubipwdkryfmtahovcj", 4, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x1e26ad7a, 0x40100e12),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjq", 4, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xde3ebcbc, 0x5b315186),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxels", 4, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x52281714, 0x8cd5c689),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelsz", 4, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x97000092, 0xadd97ae2),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszg", 4, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x52de2d54, 0xda6c079b),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkr", 4, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x1048ae18, 0x7db1b5fc),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdk", 4, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x75227ef0, 0x49151445),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3", 4, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x96ab6700, 0xca2ece11),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3i", 4, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x97925560, 0x3f948daa),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86j", 4, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x489f7aa8, 0xfa07623b),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq", 4, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xd4c436c0, 0x9dd6f9b7),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3g", 4, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x16a01088, 0xec38ec04),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3gn\xdabi\x81wd\xa8ry\xcfmt\xf6ho\x9dcj\xc4xe\xebsz\x92nu\xb9ip\xe0dk\x87yf\xaeta\xd5ov\xfcjq\xa3el\xcazg\xf1ub\x98pw\xbfkr\xe6fm\x8dah\xb4vc\xdbqx\x82ls\xa9gn\xd0bi\xf7wd\x9ery\xc5mt\xecho\x93cj\xbaxe\xe1sz\x88nu\xafip\xd6dk\xfdyf\xa4ta\xcbov\xf2jq\x99el\xc0zg\xe7ub\x8epw\xb5kr\xdcfm\x83ah\xaavc\xd1qx\xf8ls\x9fgn\xc6bi\xedwd\x94ry\xbbmt\xe2ho\x89cj\xb0xe\xd7sz\xfenu\xa5ip\xccdk", 4, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x258cb0b0, 0x9953e94c),
        (b"hello", 5, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x680d2408, 0xf5a2e5f3),
        (b"a", 5, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x3cdb843e, 0xf6cd5d56),
        (b"lost+found", 5, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xf071c810, 0x585edd22),
        (b"caf\xe9", 5, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x8e7c0290, 0x8205299e),
        (b"\xff\xfe\x80abc", 5, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xb7d611e0, 0x37bf4aa2),
        (b"\xc3\xbc-utf8", 5, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xb5e6f1d4, 0x03cab089),
        (b"\x80", 5, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x92058d84, 0x3034082f),
        (b"\xe9\xe9\xe9\xe9\xe9\xe9\xe9", 5, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x468c25b6, 0xb76afdbf),
        (b"ahovcjqxelszgnu", 5, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xee29d94e, 0xcff00549),
        (b"ahovcjqxelszgnub", 5, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xf702e7c2, 0x3f52591f),
        (b"ahovcjqxelszgnubi", 5, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xf676c604, 0x99821d5e),
        (b"ahovcjqxelszgnubipwdkryfmtahovc", 5, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x84818442, 0x5c482d14),
        (b"ahovcjqxelszgnubipwdkryfmtahovcj", 5, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x8dc4d38c, 0xa253b119),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjq", 5, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xfd7f35ec, 0x423b4523),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxels", 5, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xddf909a0, 0x12530592),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelsz", 5, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xb87bf35e, 0x3dfb2321),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszg", 5, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xba0dd9de, 0x3f2a7d81),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkr", 5, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xf3a67860, 0x2dc44fd0),
        (b"ahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdkryfmtahovcjqxelszgnubipwdk", 5, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x3e96d5ec, 0x8314e910),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3", 5, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x5c346288, 0xd9b0491f),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3i", 5, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x5947812e, 0xeb44a56d),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86j", 5, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x6d56c1a2, 0x1e00692d),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq", 5, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0x0aa4a474, 0x84a5d361),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3g", 5, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xa44a2a0c, 0x493ac0c5),
        (b"\x80ho\xa7cj\xcexe\xf5sz\x9cnu\xc3ip\xeadk\x91yf\xb8ta\xdfov\x86jq\xadel\xd4zg\xfbub\xa2pw\xc9kr\xf0fm\x97ah\xbevc\xe5qx\x8cls\xb3gn\xdabi\x81wd\xa8ry\xcfmt\xf6ho\x9dcj\xc4xe\xebsz\x92nu\xb9ip\xe0dk\x87yf\xaeta\xd5ov\xfcjq\xa3el\xcazg\xf1ub\x98pw\xbfkr\xe6fm\x8dah\xb4vc\xdbqx\x82ls\xa9gn\xd0bi\xf7wd\x9ery\xc5mt\xecho\x93cj\xbaxe\xe1sz\x88nu\xafip\xd6dk\xfdyf\xa4ta\xcbov\xf2jq\x99el\xc0zg\xe7ub\x8epw\xb5kr\xdcfm\x83ah\xaavc\xd1qx\xf8ls\x9fgn\xc6bi\xedwd\x94ry\xbbmt\xe2ho\x89cj\xb0xe\xd7sz\xfenu\xa5ip\xccdk", 5, [0xe2c9a1f3, 0x084e7d5b, 0x1e2d6c9a, 0x675b403f], 0xf397a952, 0xee3e29af),
    ];

    #[test]
    fn matches_debugfs() {
        for &(name, v, seed, major, minor) in DEBUGFS_VECTORS {
            let version = HashVersion::from_disk(v).unwrap();
            assert_eq!(
                dx_hash(name, version, &seed),
                (major, minor),
                "name {:?} version {v} seed {seed:x?}",
                String::from_utf8_lossy(name)
            );
        }
    }

    #[test]
    fn version_round_trip_and_siphash_unsupported() {
        for v in 0..=5u8 {
            assert_eq!(HashVersion::from_disk(v).unwrap().to_disk(), v);
        }
        assert_eq!(HashVersion::from_disk(6), None);
        assert_eq!(HashVersion::from_disk(0xff), None);
    }

    #[test]
    fn effective_version_follows_superblock_flags() {
        use HashVersion::*;
        assert_eq!(
            HashVersion::effective(1, EXT2_FLAGS_SIGNED_HASH),
            Some(HalfMd4)
        );
        assert_eq!(
            HashVersion::effective(1, EXT2_FLAGS_UNSIGNED_HASH),
            Some(HalfMd4Unsigned)
        );
        assert_eq!(
            HashVersion::effective(0, EXT2_FLAGS_UNSIGNED_HASH),
            Some(LegacyUnsigned)
        );
        assert_eq!(
            HashVersion::effective(2, EXT2_FLAGS_UNSIGNED_HASH),
            Some(TeaUnsigned)
        );
        assert_eq!(HashVersion::effective(2, 0), Some(Tea));
        // Already-unsigned versions stay as they are.
        assert_eq!(
            HashVersion::effective(4, EXT2_FLAGS_SIGNED_HASH),
            Some(HalfMd4Unsigned)
        );
        assert_eq!(
            HashVersion::effective(4, EXT2_FLAGS_UNSIGNED_HASH),
            Some(HalfMd4Unsigned)
        );
        assert_eq!(HashVersion::effective(6, EXT2_FLAGS_UNSIGNED_HASH), None);
    }

    #[test]
    fn signedness_only_matters_for_high_bytes() {
        let seed = [1, 2, 3, 4];
        for (s, u) in [
            (HashVersion::Legacy, HashVersion::LegacyUnsigned),
            (HashVersion::HalfMd4, HashVersion::HalfMd4Unsigned),
            (HashVersion::Tea, HashVersion::TeaUnsigned),
        ] {
            assert_eq!(
                dx_hash(b"plain-ascii.txt", s, &seed),
                dx_hash(b"plain-ascii.txt", u, &seed)
            );
            assert_ne!(
                dx_hash(b"caf\xc3\xa9", s, &seed),
                dx_hash(b"caf\xc3\xa9", u, &seed)
            );
        }
    }

    #[test]
    fn eof_hash_is_moved_down() {
        assert_eq!(finish_major(0xffff_ffff), 0xffff_fffc);
        assert_eq!(finish_major(0xffff_fffe), 0xffff_fffc);
        assert_eq!(finish_major(0xffff_fffd), 0xffff_fffc);
        assert_eq!(finish_major(0x1234_5679), 0x1234_5678);
        assert_eq!(finish_major(0), 0);
    }

    #[test]
    fn empty_name_hashes_to_seed_state() {
        // No chunk is processed; the kernel returns the untouched state.
        assert_eq!(
            dx_hash(b"", HashVersion::HalfMd4, &[0; 4]),
            (0xefcd_ab88, 0x98ba_dcfe)
        );
        assert_eq!(
            dx_hash(b"", HashVersion::Tea, &[0; 4]),
            (0x6745_2300, 0xefcd_ab89)
        );
        assert_eq!(dx_hash(b"", HashVersion::Legacy, &[0; 4]), (0x2547_fc5a, 0));
    }

    proptest! {
        #[test]
        fn major_hash_is_even_and_not_eof(
            name in proptest::collection::vec(any::<u8>(), 1..=255),
            v in 0u8..=5,
            seed in any::<[u32; 4]>(),
        ) {
            let (major, _) = dx_hash(&name, HashVersion::from_disk(v).unwrap(), &seed);
            prop_assert_eq!(major & 1, 0);
            prop_assert_ne!(major, HTREE_EOF_32BIT << 1);
        }
    }
}
