//! The serializers invert the parsers: for images made by mkfs.ext4 -d in
//! several layouts, the superblock, every group descriptor and every
//! in-use inode, parsed and written back into a copy of their bytes with
//! the checksum recomputed, come out byte for byte as mke2fs wrote them.
//! Then a few fields are changed through the serializers, and e2fsck and
//! debugfs must accept and see the new values.

use std::path::Path;
use std::process::Command;

use fuse4fs::ext4::InodeNo;
use fuse4fs::ext4::group::GroupDesc;
use fuse4fs::ext4::inode::{Inode, Timestamp, set_inode_checksum};
use fuse4fs::ext4::superblock::{
    SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, Superblock, set_superblock_checksum,
};
use fuse4fs_testkit::e2fs::require;

fn run(cmd: &str, args: &[&str]) -> String {
    fuse4fs_testkit::e2fs::run(Command::new(cmd).args(args))
}

/// A small tree: directories, files of a few sizes, fast and slow
/// symlinks, a hard link, and (when the tools allow) an xattr and a device.
fn tree(src: &Path) {
    std::fs::create_dir_all(src.join("d/e")).unwrap();
    for i in 0..30 {
        std::fs::write(src.join("d").join(format!("f{i}")), vec![i as u8; i * 97]).unwrap();
    }
    std::fs::write(src.join("big"), vec![0x5Au8; 300_000]).unwrap();
    std::fs::write(src.join("d/e/tiny"), b"x").unwrap();
    std::os::unix::fs::symlink("d/e/tiny", src.join("fast")).unwrap();
    std::os::unix::fs::symlink("l".repeat(200), src.join("slow")).unwrap();
    std::fs::hard_link(src.join("big"), src.join("big-link")).unwrap();
    let _ = Command::new("setfattr")
        .args(["-n", "user.note", "-v", "hello"])
        .arg(src.join("d/e/tiny"))
        .output();
    let _ = Command::new("mknod")
        .arg(src.join("chr"))
        .args(["c", "1", "3"])
        .output();
}

fn image(dir: &Path, name: &str, opts: &[&str]) -> std::path::PathBuf {
    let src = dir.join("src");
    if !src.exists() {
        tree(&src);
    }
    let img = dir.join(name);
    let mut args = vec!["-q", "-F"];
    args.extend_from_slice(opts);
    args.extend_from_slice(&["-d", src.to_str().unwrap(), img.to_str().unwrap(), "8M"]);
    run("mkfs.ext4", &args);
    img
}

/// Where one parsed image keeps things.
struct Layout {
    sb: Superblock,
    /// (group, byte offset of its descriptor in the image)
    descs: Vec<(u32, usize, GroupDesc)>,
}

fn layout(img: &[u8]) -> Layout {
    let off = SUPERBLOCK_OFFSET as usize;
    let sb = Superblock::parse(&img[off..off + SUPERBLOCK_SIZE]).unwrap();
    let bs = sb.block_size() as usize;
    let ds = sb.desc_size as usize;
    let descs = (0..sb.group_count())
        .map(|g| {
            let (blk, within) = sb.group_desc_location(g);
            let at = blk.0 as usize * bs + within;
            let d = GroupDesc::parse(&sb, &img[at..at + ds]);
            d.verify(&sb, g, &img[at..at + ds]).unwrap();
            (g, at, d)
        })
        .collect();
    Layout { sb, descs }
}

fn inode_offset(l: &Layout, ino: u32) -> usize {
    let g = (ino - 1) / l.sb.inodes_per_group;
    let index = (ino - 1) % l.sb.inodes_per_group;
    let table = l.descs[g as usize].2.inode_table.0 as usize;
    table * l.sb.block_size() as usize + index as usize * l.sb.inode_size as usize
}

/// Inode numbers marked in use in the inode bitmaps.
fn used_inodes(img: &[u8], l: &Layout) -> Vec<u32> {
    let bs = l.sb.block_size() as usize;
    let mut out = Vec::new();
    for (g, _, d) in &l.descs {
        if d.flags & fuse4fs::ext4::group::BG_INODE_UNINIT != 0
            && (l.sb.metadata_csum() || l.sb.gdt_csum())
        {
            continue;
        }
        let bitmap = &img[d.inode_bitmap.0 as usize * bs..][..bs];
        for i in 0..l.sb.inodes_per_group {
            if bitmap[i as usize / 8] & (1 << (i % 8)) != 0 {
                out.push(g * l.sb.inodes_per_group + i + 1);
            }
        }
    }
    out
}

/// The superblock fields write_to owns, (offset, length), from the
/// kernel's struct ext4_super_block.
const SB_WRITTEN: &[(usize, usize)] = &[
    (0xC, 4),    // s_free_blocks_count_lo
    (0x10, 4),   // s_free_inodes_count
    (0x2C, 4),   // s_mtime
    (0x30, 4),   // s_wtime
    (0x34, 2),   // s_mnt_count
    (0x3A, 2),   // s_state
    (0x3C, 2),   // s_errors
    (0x5C, 12),  // the feature words
    (0xE8, 4),   // s_last_orphan
    (0x158, 4),  // s_free_blocks_hi
    (0x160, 4),  // s_flags
    (0x178, 8),  // s_kbytes_written
    (0x194, 56), // s_error_count .. s_first_error_line
    (0x1CC, 52), // s_last_error_time .. s_last_error_func
    (0x274, 2),  // s_wtime_hi, s_mtime_hi
    (0x278, 4),  // error time _hi bytes and errcodes
];

/// Parse → write_to into a copy → checksum: identical bytes everywhere.
fn round_trip(img: &[u8]) -> usize {
    let l = layout(img);
    let sb = &l.sb;

    let off = SUPERBLOCK_OFFSET as usize;
    let orig = &img[off..off + SUPERBLOCK_SIZE];
    let mut copy = orig.to_vec();
    sb.write_to(&mut copy).unwrap();
    set_superblock_checksum(&mut copy);
    assert_eq!(copy, orig, "superblock");
    // Mangling every byte the struct models and writing again must
    // restore them all.
    let mut mangled = orig.to_vec();
    for &(o, n) in SB_WRITTEN {
        mangled[o..o + n].iter_mut().for_each(|b| *b = !*b);
    }
    let bit64 = sb.has_incompat(fuse4fs::ext4::superblock::incompat::BIT64);
    sb.write_to(&mut mangled).unwrap();
    set_superblock_checksum(&mut mangled);
    let mut want = orig.to_vec();
    if !bit64 {
        // s_free_blocks_hi is not ours without 64bit.
        want[0x158..0x15C].iter_mut().for_each(|b| *b = !*b);
        set_superblock_checksum(&mut want);
    }
    assert_eq!(mangled, want, "superblock after mangling");

    let ds = sb.desc_size as usize;
    for (g, at, d) in &l.descs {
        let orig = &img[*at..*at + ds];
        let mut copy = orig.to_vec();
        d.write_to(sb, &mut copy).unwrap();
        let c = GroupDesc::set_checksum(sb, *g, &mut copy);
        assert_eq!(c.is_some(), sb.metadata_csum() || sb.gdt_csum());
        assert_eq!(copy, orig, "descriptor of group {g}");
        let mut mangled: Vec<u8> = orig.iter().map(|b| !b).collect();
        d.write_to(sb, &mut mangled).unwrap();
        GroupDesc::set_checksum(sb, *g, &mut mangled);
        // Not ours: the exclude bitmap (snapshots), the checksum without
        // descriptor checksums, and the padding of the 64-byte form.
        let mut want = orig.to_vec();
        let mut not_ours = vec![(0x14, 4)];
        if c.is_none() {
            not_ours.push((0x1E, 2));
        }
        if ds >= 64 {
            not_ours.extend([(0x34, 4), (0x3C, ds - 0x3C)]);
        } else {
            not_ours.push((0x20, ds - 0x20));
        }
        for (o, n) in not_ours {
            want[o..o + n].iter_mut().for_each(|b| *b = !*b);
        }
        GroupDesc::set_checksum(sb, *g, &mut want);
        assert_eq!(mangled, want, "descriptor of group {g} after mangling");
    }

    let isz = sb.inode_size as usize;
    let used = used_inodes(img, &l);
    for &ino in &used {
        let at = inode_offset(&l, ino);
        let orig = &img[at..at + isz];
        let inode =
            Inode::parse(sb, InodeNo(ino), orig).unwrap_or_else(|e| panic!("inode {ino}: {e}"));
        let mut copy = orig.to_vec();
        inode.write_to(sb, &mut copy).unwrap();
        let c = set_inode_checksum(sb, InodeNo(ino), &mut copy);
        assert_eq!(c.is_some(), sb.metadata_csum());
        assert_eq!(copy, orig, "inode {ino}");
        // Mangling every byte and writing again must restore all but
        // the bytes the struct does not model.
        let mut mangled: Vec<u8> = orig.iter().map(|b| !b).collect();
        // (i_extra_isize, mangled too, comes back from the struct, so the
        // xattr area lands where it was.)
        inode.write_to(sb, &mut mangled).unwrap();
        set_inode_checksum(sb, InodeNo(ino), &mut mangled);
        let mut want = orig.to_vec();
        let mut not_ours = vec![(0x70, 4), (0x7E, 2)]; // i_faddr, l_i_reserved
        if !sb.has_incompat(fuse4fs::ext4::superblock::incompat::BIT64) {
            not_ours.push((0x76, 2)); // i_file_acl_high
        }
        let extra = inode.extra_isize as usize;
        if !sb.metadata_csum() {
            not_ours.push((0x7C, 2));
            if isz > 128 && extra >= 4 {
                not_ours.push((0x82, 2));
            }
        }
        for (o, n) in not_ours {
            want[o..o + n].iter_mut().for_each(|b| *b = !*b);
        }
        set_inode_checksum(sb, InodeNo(ino), &mut want);
        assert_eq!(mangled, want, "inode {ino} after mangling");
        if extra > 0 {
            assert!(extra >= 32, "inode {ino}: i_extra_isize {extra}");
        }
    }
    used.len()
}

/// Changes an inode's mode, uid and times, and the superblock's mount
/// count and write time, through the serializers; rewrites a descriptor.
fn mutate(path: &Path) {
    let mut img = std::fs::read(path).unwrap();
    let l = layout(&img);
    let sb = &l.sb;
    let isz = sb.inode_size as usize;
    let big_extra = isz > 128;

    // /big is the first regular file large enough: find it by size.
    let target = used_inodes(&img, &l)
        .into_iter()
        .find(|&ino| {
            let at = inode_offset(&l, ino);
            let i = Inode::parse(sb, InodeNo(ino), &img[at..at + isz]).unwrap();
            i.is_reg() && i.size == 300_000
        })
        .expect("the 300000-byte file");
    let at = inode_offset(&l, target);
    let mut inode = Inode::parse(sb, InodeNo(target), &img[at..at + isz]).unwrap();
    inode.mode = (inode.mode & 0o170000) | 0o640;
    inode.uid = 0x0001_E240; // 123456: needs the high half
    inode.gid = 70_000;
    let (mtime, atime) = if big_extra {
        // 2106-02-07 and later, with nanoseconds; atime before 1970.
        (
            Timestamp {
                sec: (1 << 32) + 12_345,
                nsec: 123_456_789,
            },
            Timestamp {
                sec: -1_000_000,
                nsec: 5,
            },
        )
    } else {
        (
            Timestamp {
                sec: 2_000_000_000,
                nsec: 0,
            },
            Timestamp {
                sec: -1_000_000,
                nsec: 0,
            },
        )
    };
    inode.mtime = mtime;
    inode.atime = atime;
    if !big_extra {
        // No extra words: a time past 2038 is refused, not wrapped.
        let mut bad = inode.clone();
        bad.mtime.sec = 1 << 32;
        let mut scratch = img[at..at + isz].to_vec();
        assert!(bad.write_to(sb, &mut scratch).is_err());
        assert_eq!(scratch, &img[at..at + isz], "nothing written on refusal");
    }
    inode.write_to(sb, &mut img[at..at + isz]).unwrap();
    set_inode_checksum(sb, InodeNo(target), &mut img[at..at + isz]);

    let (g, dat, d) = l.descs[0];
    let ds = sb.desc_size as usize;
    d.write_to(sb, &mut img[dat..dat + ds]).unwrap();
    GroupDesc::set_checksum(sb, g, &mut img[dat..dat + ds]);

    let mut sb2 = sb.clone();
    sb2.mnt_count = 7;
    sb2.kbytes_written += 1;
    let off = SUPERBLOCK_OFFSET as usize;
    sb2.write_to(&mut img[off..off + SUPERBLOCK_SIZE]).unwrap();
    set_superblock_checksum(&mut img[off..off + SUPERBLOCK_SIZE]);
    std::fs::write(path, &img).unwrap();

    // Our own parser reads back what we wrote.
    let l2 = layout(&img);
    assert_eq!(l2.sb.mnt_count, 7);
    let back = Inode::parse(&l2.sb, InodeNo(target), &img[at..at + isz]).unwrap();
    assert_eq!(
        (back.mode, back.uid, back.gid),
        (inode.mode, 123_456, 70_000)
    );
    assert_eq!((back.mtime, back.atime), (mtime, atime));
    assert_eq!(back.generation, inode.generation);

    let p = path.to_str().unwrap();
    let fsck = Command::new("e2fsck").args(["-fn", p]).output().unwrap();
    assert!(
        fsck.status.success(),
        "e2fsck -fn: {}{}",
        String::from_utf8_lossy(&fsck.stdout),
        String::from_utf8_lossy(&fsck.stderr)
    );
    let stat = run("debugfs", &["-R", &format!("stat <{target}>"), p]);
    assert!(stat.contains("Mode:  0640"), "{stat}");
    assert!(stat.contains("User: 123456"), "{stat}");
    assert!(stat.contains("Group: 70000"), "{stat}");
    let (base, extra) = mtime.encode();
    let want = if big_extra {
        format!("mtime: 0x{base:08x}:{extra:08x}")
    } else {
        format!("mtime: 0x{base:08x}")
    };
    assert!(stat.contains(&want), "{want} not in {stat}");
    let stats = run("debugfs", &["-R", "stats", p]);
    assert!(
        stats
            .lines()
            .any(|l| l.starts_with("Mount count:") && l.ends_with(" 7")),
        "{stats}"
    );
}

/// The error records and times land where debugfs (and so the kernel's
/// struct) puts them. debugfs 1.47's ssv truncates times to 32 bits, so
/// the `_hi` bytes are checked in the unit tests instead.
#[test]
fn superblock_fields_match_debugfs() {
    require(&["mkfs.ext4", "debugfs"]);
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path(), "ssv", &[]);
    let script = dir.path().join("ssv.cmd");
    std::fs::write(
        &script,
        "ssv error_count 3\n\
         ssv first_error_time 21000101000000\n\
         ssv first_error_ino 12\n\
         ssv first_error_block 0x123456789\n\
         ssv first_error_func ext4_first\n\
         ssv first_error_line 111\n\
         ssv last_error_time 20300101000000\n\
         ssv last_error_ino 13\n\
         ssv last_error_line 222\n\
         ssv last_error_block 0x987654321\n\
         ssv last_error_func ext4_last\n\
         ssv mtime 20900101000000\n\
         ssv mnt_count 9\n\
         ssv kbytes_written 4242\n\
         ssv errors 2\n\
         ssv last_orphan 0\n",
    )
    .unwrap();
    run(
        "debugfs",
        &["-w", "-f", script.to_str().unwrap(), img.to_str().unwrap()],
    );
    let bytes = std::fs::read(&img).unwrap();
    let sb = layout(&bytes).sb;
    let func = |s: &str| {
        let mut f = [0u8; 32];
        f[..s.len()].copy_from_slice(s.as_bytes());
        f
    };
    assert_eq!(sb.error_count, 3);
    let (fe, le) = (sb.first_error, sb.last_error);
    assert_eq!(fe.time, 4_102_444_800); // 2100-01-01
    assert_eq!((fe.ino, fe.block, fe.line), (12, 0x1_2345_6789, 111));
    assert_eq!(fe.func, func("ext4_first"));
    assert_eq!(le.time, 1_893_456_000); // 2030-01-01
    assert_eq!((le.ino, le.block, le.line), (13, 0x9_8765_4321, 222));
    assert_eq!(le.func, func("ext4_last"));
    assert_eq!(sb.mtime, 3_786_912_000); // 2090-01-01
    // debugfs stamps s_wtime itself when it closes the image.
    assert!(sb.wtime > 1_735_689_600, "{}", sb.wtime);
    assert_eq!((sb.mnt_count, sb.kbytes_written, sb.errors), (9, 4242, 2));
    round_trip(&bytes);
}

fn check(name: &str, opts: &[&str]) {
    require(&["mkfs.ext4", "debugfs", "e2fsck"]);
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path(), name, opts);
    let n = round_trip(&std::fs::read(&img).unwrap());
    assert!(n > 40, "{name}: only {n} inodes in use");
    mutate(&img);
}

#[test]
fn default_ext4() {
    check("default", &[]);
}

#[test]
fn gdt_csum_without_metadata_csum() {
    check("gdtcsum", &["-O", "^metadata_csum,uninit_bg"]);
}

#[test]
fn small_inodes_many_groups() {
    check("i128", &["-I", "128", "-b", "1024", "-g", "2048"]);
}

#[test]
fn without_64bit() {
    check("no64", &["-O", "^64bit", "-b", "1024", "-g", "1024"]);
}

#[test]
fn ext2() {
    check("ext2", &["-t", "ext2"]);
}
