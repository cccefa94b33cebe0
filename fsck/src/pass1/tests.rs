//! Tests of pass 1 and pass 1B: clean images stay clean, each corruption
//! is found with the right kind, and `-y` leaves what e2fsck's pass 1
//! accepts (the whole image once the other passes repair their part).

use fuse4fs_format::ext4::InodeNo;
use std::path::{Path, PathBuf};
use std::process::Command;

use fuse4fs_format::ext4::superblock::Superblock;
use fuse4fs_format::ext4::xattr::{set_block_checksum, set_block_refcount};

use crate::problem::Claimant;
use crate::testutil::{
    check as run, e2fsck, forced, imap, inode_table, mkfs_filled as image, number_after, peek,
    poke, require, stat,
};
use crate::{Kind, Mode, Outcome, Pass, Problem};

fn files(src: &Path) {
    std::fs::write(src.join("a"), b"hello\n").unwrap();
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(src.join("big"), &big).unwrap();
    std::fs::write(src.join("b"), &big[..20_000]).unwrap();
    std::os::unix::fs::symlink("a", src.join("fast")).unwrap();
    std::os::unix::fs::symlink("x".repeat(100), src.join("slow")).unwrap();
    std::fs::create_dir(src.join("d")).unwrap();
    std::fs::write(src.join("d/c"), b"c").unwrap();
}

fn debugfs(img: &Path, cmd: &str) {
    fuse4fs_testkit::e2fs::debugfs_w(img, &[cmd]);
}

/// The first physical block of the first extent in `debugfs stat`.
fn first_block(img: &Path, path: &str) -> u64 {
    let s = stat(img, path);
    let ext = s.split("EXTENTS:").nth(1).expect("extent list");
    number_after(ext, ":")
}

/// What e2fsck -fn says in its pass 1 (and 1B-1D): nothing when pass 1
/// left the inodes as e2fsck wants them.
fn e2fsck_pass1(img: &Path) -> String {
    let (_, out) = e2fsck(img);
    let start = out.find("Pass 1:").unwrap_or(0);
    let end = out.find("Pass 2:").unwrap_or(out.len());
    out[start..end]
        .lines()
        .filter(|l| !l.starts_with("Pass 1") && !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn pass1_problems(o: &Outcome) -> Vec<String> {
    o.problems
        .iter()
        .filter(|p| matches!(p.pass, Pass::Pass1 | Pass::Pass1b))
        .map(|p| format!("{:?}: {}", p.kind, p.message))
        .collect()
}

/// Corrupts a fresh image with `corrupt`, expects `kind` from -n, then
/// repairs with -y and expects e2fsck's pass 1 clean (and the whole
/// image when `whole`), and our own -n clean of pass 1 problems.
fn case(corrupt: impl Fn(&Path), kind: Kind, whole: bool) {
    case_with(&["-b", "4096"], corrupt, kind, whole)
}

/// [`case`] where the damage is one `debugfs sif` (`INODE FIELD VALUE`).
fn sif_case(edit: &str, kind: Kind, whole: bool) {
    sif_case_with(&["-b", "4096"], edit, kind, whole)
}

/// [`sif_case`] on an image made with mkfs.ext4 `args`.
fn sif_case_with(args: &[&str], edit: &str, kind: Kind, whole: bool) {
    case_with(
        args,
        |img| debugfs(img, &format!("sif {edit}")),
        kind,
        whole,
    )
}

fn case_with(args: &[&str], corrupt: impl Fn(&Path), kind: Kind, whole: bool) {
    require(&["mkfs.ext4", "debugfs", "e2fsck"]);
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path(), args, "16M", files);
    assert_eq!(
        pass1_problems(&run(&img, Mode::Check)),
        Vec::<String>::new()
    );
    corrupt(&img);
    let o = run(&img, Mode::Check);
    assert!(
        o.of_kind(kind).count() > 0,
        "want {kind:?}, got {:?}",
        pass1_problems(&o)
    );
    assert_eq!(o.exit_code(), crate::exit::UNCORRECTED);
    let o = run(&img, Mode::Yes);
    assert!(o.of_kind(kind).all(|p| p.fixed), "{:?}", o.problems);
    assert_eq!(e2fsck_pass1(&img), "", "e2fsck pass 1 after -y");
    if whole {
        let (ok, out) = e2fsck(&img);
        assert!(ok, "e2fsck -fn after -y:\n{out}");
    }
    let o = run(&img, Mode::Check);
    assert_eq!(pass1_problems(&o), Vec::<String>::new(), "second run");
}

#[test]
fn catalog_images_have_no_pass1_problem() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/images");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        fuse4fs_testkit::skip!("no catalog images in {}", dir.display());
        return;
    };
    for e in entries {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "img") {
            let o = run(&p, Mode::Check);
            assert_eq!(pass1_problems(&o), Vec::<String>::new(), "{}", p.display());
        }
    }
}

#[test]
fn fresh_images_are_clean() {
    require(&["mkfs.ext4"]);
    for args in [
        &["-b", "4096"][..],
        &["-b", "1024", "-I", "128"],
        &["-t", "ext2"],
        &["-O", "inline_data"],
        &["-O", "orphan_file,quota,project", "-I", "256"],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let img = image(dir.path(), args, "16M", files);
        let o = run(&img, Mode::Check);
        assert_eq!(pass1_problems(&o), Vec::<String>::new(), "{args:?}");
        // The project quota and orphan files have no entry: no pass
        // may call them unattached. The quota files of an image made
        // with mkfs -d do not count the files it copied in: e2fsck asks
        // to update them, and so must we, once per quota type.
        let quota: Vec<_> = (o.problems.iter())
            .filter(|p| p.kind == crate::problem::Kind::QuotaUsage)
            .collect();
        let others: Vec<_> = (o.problems.iter())
            .filter(|p| p.kind != crate::problem::Kind::QuotaUsage)
            .collect();
        assert_eq!(others, Vec::<&crate::report::Finding>::new(), "{args:?}");
        let e2fsck = std::process::Command::new("e2fsck")
            .arg("-fn")
            .arg(&img)
            .output()
            .unwrap();
        let asks = String::from_utf8_lossy(&e2fsck.stdout)
            .matches("Update quota info")
            .count();
        assert_eq!(quota.len(), asks, "{args:?}");
        // Root, lost+found, the seven files, and the reserved inodes
        // with a file type (the resize inode and the journal, if any).
        assert!(o.inodes_used >= 10, "{args:?}: {}", o.inodes_used);
    }
}

#[test]
fn wrong_i_blocks() {
    sif_case("/big blocks 8", Kind::IBlocks, true);
}

#[test]
fn dtime_on_a_live_inode() {
    sif_case("/a dtime 12345", Kind::InodeDtime, true);
}

/// An unused inode left holding an orphan list's link (what a hostile
/// list leaves once the server or our own orphan pass stops at its
/// damage): e2fsck's "was part of the orphaned inode list".
#[test]
fn orphan_link_left_in_an_unused_inode() {
    // Without group descriptor checksums every inode slot is scanned.
    sif_case_with(
        &["-b", "4096", "-O", "^metadata_csum,^uninit_bg"],
        "<40> dtime 17",
        Kind::InodeDtime,
        true,
    );
}

/// A deleted inode (no links) with a file type and no deletion time.
#[test]
fn deleted_inode_without_dtime() {
    sif_case("/a links_count 0", Kind::InodeDtime, false);
}

/// A directory block that is also fixed metadata (a reserved GDT block,
/// the resize inode's): pass 1B gives the directory a copy, and pass 2
/// must repair the copy, not the original (it salvaged the original, and
/// e2fsck then found the resize inode invalid).
#[test]
fn directory_block_shared_with_metadata_is_repaired_in_its_copy() {
    case_with(
        &["-t", "ext2", "-b", "1024"],
        |img| {
            debugfs(img, "sif /d block[1] 6");
            debugfs(img, "sif /d size 2048");
        },
        Kind::MultiplyClaimed,
        true,
    );
}

/// An indirect block that is an inode table block: read as pointers, its
/// inodes looked like illegal blocks to clear, and the "repair" zeroed
/// fields of the inodes in it (hostile seed rw ext2-1k 0x200000099: /h's
/// entries then named deleted inodes). The pointer is cut instead.
#[test]
fn indirect_block_on_the_inode_table_is_cut_not_edited() {
    case_with(
        &["-t", "ext2", "-b", "1024"],
        |img| {
            let (block, _) = imap(img, "/a");
            debugfs(img, &format!("sif /big block[IND] {block}"));
        },
        Kind::BlockMapBad,
        true,
    );
}

/// The imagic flag without the imagic_inodes feature (hostile seed fsck
/// ext2-1k 0x200000125).
#[test]
fn imagic_flag_without_the_feature() {
    sif_case("/a flags 0x2000", Kind::InodeBadFlags, true);
}

/// A reserved block count past half the filesystem (hostile seed rw
/// ext4-nocsum 0x100000198): e2fsck gives up on such a superblock, so our
/// -y must not leave one.
#[test]
fn reserved_block_count_past_half_the_filesystem() {
    case(
        |img| debugfs(img, "ssv r_blocks_count 0xFF000000FF"),
        Kind::SuperblockCounts,
        true,
    );
}

/// The encrypt flag on a filesystem without the encrypt feature
/// (hostile seed rw ext4-nocsum 0x1000001f7).
#[test]
fn encrypt_flag_without_the_feature() {
    sif_case("/a flags 0x80800", Kind::InodeBadFlags, true);
}

/// An in-inode xattr whose stored hash is wrong (hostile seed rw
/// ext4-nocsum 0x100000200): e2fsck drops the in-inode attributes.
#[test]
fn in_inode_xattr_with_a_bad_hash() {
    case_with(
        &["-b", "4096", "-I", "256"],
        |img| {
            debugfs(img, "ea_set /a user.k v");
            // The first entry follows i_extra_isize (32) and the 4-byte
            // magic: its e_hash is at 128 + 32 + 4 + 12.
            let (block, off) = imap(img, "/a");
            poke(
                img,
                block * 4096 + off + 128 + 32 + 4 + 12,
                &185u32.to_le_bytes(),
            );
            debugfs(img, "sif /a checksum calc");
        },
        Kind::XattrIbodyBad,
        true,
    );
}

/// e2fsck clears i_faddr, an obsolete fragment address.
#[test]
fn fragment_address_set() {
    sif_case("/a faddr 255", Kind::InodeFaddr, true);
}

/// Without huge_file (ext2), the high half of i_blocks must be zero.
#[test]
fn blocks_hi_without_huge_file() {
    sif_case_with(
        &["-t", "ext2", "-b", "1024"],
        "/a blocks_hi 512",
        Kind::IBlocks,
        true,
    );
}

/// Without 64bit, the high half of i_file_acl must be zero.
#[test]
fn file_acl_hi_without_64bit() {
    sif_case_with(
        &["-t", "ext2", "-b", "1024"],
        "/a file_acl_hi 3",
        Kind::XattrBlockBad,
        true,
    );
}

#[test]
fn bad_inode_checksum() {
    sif_case("/a checksum 0x1234", Kind::InodeChecksum, true);
}

#[test]
fn bad_extra_isize() {
    sif_case("/a extra_isize 6", Kind::InodeExtraIsize, true);
}

#[test]
fn directory_size() {
    sif_case("/d size 100", Kind::ISize, true);
}

#[test]
fn file_size_short_of_its_blocks() {
    sif_case("/big size 10", Kind::ISize, true);
}

#[test]
fn invalid_mode() {
    sif_case("/b mode 0170644", Kind::InodeBadMode, false);
}

#[test]
fn fast_symlink_size() {
    sif_case("/fast size 7", Kind::SymlinkBad, false);
}

#[test]
fn slow_symlink_size() {
    sif_case("/slow size 3", Kind::SymlinkBad, false);
}

#[test]
fn extent_outside_the_filesystem() {
    // i_block[5] is ee_start_lo of the root's first extent.
    sif_case("/b block[5] 99999999", Kind::ExtentBad, false);
}

#[test]
fn extent_root_unusable() {
    sif_case("/b block[0] 0", Kind::ExtentHeaderBad, false);
}

#[test]
fn index_flag_on_a_file() {
    sif_case("/a flags 0x81000", Kind::InodeBadFlags, true);
}

#[test]
fn block_map_pointer_outside() {
    sif_case_with(
        &["-t", "ext3", "-b", "1024"],
        "/b block[3] 99999999",
        Kind::BlockMapBad,
        false,
    );
}

/// Pass 1B looks for duplicates among each group's bitmaps: a 64-bit
/// descriptor naming a bitmap at the last block number (setup reports it
/// misplaced, pass 5 relocates it) must not overflow there.
#[test]
fn multiply_claimed_blocks_with_a_bitmap_at_the_last_block_number() {
    require(&["mkfs.ext4", "debugfs"]);
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path(), &["-b", "4096", "-O", "64bit"], "16M", files);
    let big = first_block(&img, "/big");
    debugfs(&img, &format!("sif /b block[5] {}", big + 1));
    debugfs(&img, "set_bg 0 block_bitmap 0xffffffffffffffff");
    debugfs(&img, "set_bg 0 inode_bitmap 0xffffffffffffffff");
    debugfs(&img, "set_bg 0 checksum calc");
    let before = std::fs::read(&img).unwrap();
    let o = run(&img, Mode::Check);
    assert_eq!(std::fs::read(&img).unwrap(), before);
    assert!(
        o.of_kind(Kind::MultiplyClaimed).count() >= 1,
        "{:?}",
        o.problems
    );
    run(&img, Mode::Yes);
}

#[test]
fn multiply_claimed_blocks_are_cloned() {
    require(&["mkfs.ext4", "debugfs", "e2fsck"]);
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path(), &["-b", "4096"], "16M", files);
    let big = first_block(&img, "/big");
    let before = read_file(&img, "/big");
    // /b's single extent now starts inside /big's.
    debugfs(&img, &format!("sif /b block[5] {}", big + 1));
    let o = run(&img, Mode::Check);
    assert_eq!(
        o.of_kind(Kind::MultiplyClaimed).count(),
        2,
        "{:?}",
        o.problems
    );
    run(&img, Mode::Yes);
    assert_eq!(e2fsck_pass1(&img), "");
    assert_eq!(
        read_file(&img, "/big"),
        before,
        "the last owner keeps its data"
    );
    assert_ne!(first_block(&img, "/b"), big + 1, "/b got a copy");
    assert_eq!(
        read_file(&img, "/b"),
        before[4096..4096 + 20_000],
        "the copy holds the shared data"
    );
}

#[test]
fn blocks_on_fixed_metadata_are_cloned() {
    require(&["mkfs.ext4", "debugfs", "e2fsck"]);
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path(), &["-b", "4096"], "16M", files);
    // Block 1 holds the group descriptors.
    debugfs(&img, "sif /b block[5] 1");
    let o = run(&img, Mode::Check);
    assert!(
        o.of_kind(Kind::MultiplyClaimed).any(
            |p| matches!(&p.problem, Problem::MultiplyClaimed { with, .. }
                if with.contains(&Claimant::Metadata))
        ),
        "{:?}",
        o.problems
    );
    run(&img, Mode::Yes);
    assert_eq!(e2fsck_pass1(&img), "");
}

fn read_file(img: &Path, path: &str) -> Vec<u8> {
    let out = Command::new("debugfs")
        .args(["-R", &format!("cat {path}")])
        .arg(img)
        .output()
        .unwrap();
    out.stdout
}

/// The block number of a file's xattr block, from debugfs.
fn file_acl(img: &Path, path: &str) -> u64 {
    number_after(&stat(img, path), "File ACL: ")
}

/// The image's metadata_csum seed.
fn seed(img: &Path) -> u32 {
    Superblock::parse(&peek(img, 1024, 1024))
        .unwrap()
        .csum_seed()
}

#[test]
fn xattr_block_refcount() {
    case(
        |img| {
            let value = "v".repeat(2000);
            debugfs(img, &format!("ea_set /a user.big {value}"));
            let b = file_acl(img, "/a");
            assert_ne!(b, 0);
            // A wrong refcount under a right checksum.
            let mut block = peek(img, b * 4096, 4096);
            set_block_refcount(&mut block, 7);
            set_block_checksum(seed(img), b, &mut block);
            poke(img, b * 4096, &block);
        },
        Kind::XattrRefcount,
        true,
    );
}

#[test]
fn xattr_block_garbage() {
    case(
        |img| {
            let value = "v".repeat(2000);
            debugfs(img, &format!("ea_set /a user.big {value}"));
            let b = file_acl(img, "/a");
            poke(img, b * 4096, &[0xAB; 64]);
        },
        Kind::XattrBlockBad,
        false,
    );
}

/// An image holding /sparse, 20 one-block extents two blocks apart (an
/// extent tree with one leaf block), and that leaf block's number.
fn sparse_image(dir: &Path) -> (PathBuf, u64) {
    let img = image(dir, &["-b", "4096"], "16M", |src| {
        use std::os::unix::fs::FileExt;
        let f = std::fs::File::create(src.join("sparse")).unwrap();
        for i in 0..20u64 {
            f.write_all_at(b"data", i * 2 * 4096).unwrap();
        }
    });
    let leaf = number_after(&stat(&img, "/sparse"), "(ETB0):");
    (img, leaf)
}

#[test]
fn cutting_a_leaf_s_first_extent_moves_its_index_start() {
    require(&["mkfs.ext4", "debugfs", "e2fsck"]);
    let dir = tempfile::tempdir().unwrap();
    let (img, leaf) = sparse_image(dir.path());
    // The leaf's first extent (lblk 0) points outside the filesystem;
    // the leaf checksum is set again so that only the extent is wrong.
    let mut block = peek(&img, leaf * 4096, 4096);
    block[20..24].copy_from_slice(&99_999_999u32.to_le_bytes());
    let s = stat(&img, "/sparse");
    let ino = number_after(&s, "Inode: ") as u32;
    let generation = number_after(&s, "Generation: ") as u32;
    fuse4fs_format::ext4::extents::set_block_checksum(
        seed(&img),
        InodeNo(ino),
        fuse4fs_format::ext4::Generation(generation),
        &mut block,
    );
    poke(&img, leaf * 4096, &block);
    let o = run(&img, Mode::Check);
    assert_eq!(pass1_problems(&o).len(), 2, "{:?}", pass1_problems(&o));
    assert_eq!(o.of_kind(Kind::ExtentBad).count(), 1);
    run(&img, Mode::Yes);
    let (ok, out) = e2fsck(&img);
    assert!(ok, "{out}");
    assert_eq!(
        pass1_problems(&run(&img, Mode::Check)),
        Vec::<String>::new()
    );
}

#[test]
fn extent_block_checksum() {
    require(&["mkfs.ext4", "debugfs", "e2fsck"]);
    let dir = tempfile::tempdir().unwrap();
    // A sparse file of many extents has an extent tree block.
    let (img, leaf) = sparse_image(dir.path());
    // The tail after eh_max = 340 entries: 12 + 12 * 340.
    poke(&img, leaf * 4096 + 12 + 12 * 340, &[1, 2, 3, 4]);
    let o = run(&img, Mode::Check);
    assert_eq!(
        o.of_kind(Kind::ExtentChecksum).count(),
        1,
        "{:?}",
        o.problems
    );
    run(&img, Mode::Yes);
    let (ok, out) = e2fsck(&img);
    assert!(ok, "{out}");
}

#[test]
fn garbage_inode_table_never_panics() {
    require(&["mkfs.ext4"]);
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path(), &["-b", "1024"], "8M", files);
    let table = inode_table(&img);
    let mut rng = fuse4fs_testkit::XorShift(0x2545_F491_4F6C_DD1D);
    for round in 0..4 {
        let copy = dir.path().join(format!("copy{round}"));
        std::fs::copy(&img, &copy).unwrap();
        let mut junk = vec![0u8; 8 * 1024];
        for (b, x) in junk.iter_mut().zip(&mut rng) {
            *b = x as u8;
        }
        // Keep the root (inode 2) sane half the time.
        let skip = if round % 2 == 0 { 256 } else { 0 };
        poke(&copy, table * 1024 + skip, &junk[skip as usize..]);
        let _ = run(&copy, Mode::Check);
        // Repairs may give up on such damage (an error, not a panic).
        let _ = crate::check_path(&copy, &forced(Mode::Yes));
    }
}

#[test]
fn directory_without_blocks() {
    // An extent root with no entries: a directory of no blocks.
    sif_case("/d block[0] 0xF30A", Kind::ISize, false);
}

#[test]
fn dir_size_high_without_large_dir() {
    sif_case("/d size 0x100001000", Kind::ISize, true);
}

#[test]
fn inline_data_size() {
    sif_case_with(
        &["-O", "inline_data"],
        "/d size 300",
        Kind::InlineDataBad,
        true,
    );
}

#[test]
fn extents_flag_without_the_feature() {
    sif_case_with(
        &["-t", "ext3"],
        "/a flags 0x80000",
        Kind::InodeBadFlags,
        false,
    );
}

#[test]
fn a_garbage_inode_table_block_is_cleared_not_patched() {
    require(&["mkfs.ext4", "debugfs", "e2fsck", "dumpe2fs"]);
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path(), &["-b", "4096", "-I", "256"], "16M", |src| {
        for i in 0..40 {
            std::fs::write(src.join(format!("f{i}")), b"x").unwrap();
        }
    });
    let table = inode_table(&img);
    // Inodes 17..32 fill the table's second block: change each one's
    // atime without its checksum. The byte is flipped, not set: a set
    // value the atime already held (1 run in 256) changed nothing.
    for i in 0..16u64 {
        let off = (table + 1) * 4096 + i * 256 + 8;
        poke(&img, off, &[!peek(&img, off, 1)[0]]);
    }
    let (_, e2) = e2fsck(&img);
    assert!(e2.contains("seems to contain garbage"), "{e2}");
    let o = run(&img, Mode::Check);
    let garbage = o
        .of_kind(Kind::InodeChecksum)
        .filter(|p| matches!(p.problem, Problem::InodeGarbage { .. }))
        .count();
    assert_eq!(garbage, 16, "{:?}", o.problems);
    run(&img, Mode::Yes);
    assert_eq!(e2fsck_pass1(&img), "");
}

#[test]
fn a_long_inline_file_is_fine() {
    require(&["mkfs.ext4", "debugfs"]);
    // The kernel extends an inline file in place (truncate -s): e2fsck
    // accepts a size past the inline data.
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path(), &["-O", "inline_data"], "16M", files);
    debugfs(&img, "sif /a size 100000");
    let o = run(&img, Mode::Check);
    assert_eq!(pass1_problems(&o), Vec::<String>::new());
}

#[test]
fn inline_data_without_its_attribute() {
    // i_extra_isize moved: the in-inode attributes (system.data) are
    // no longer where the inode says.
    sif_case_with(
        &["-O", "inline_data"],
        "/a extra_isize 64",
        Kind::InlineDataBad,
        true,
    );
}

#[test]
fn directory_block_past_two_gib() {
    // ee_block of the directory's only extent: far past what a
    // directory without large_dir may map.
    sif_case("/d block[3] 99999999", Kind::ExtentBad, false);
}

#[test]
fn multiply_claimed_block_map_blocks_are_cloned() {
    require(&["mkfs.ext4", "debugfs", "e2fsck"]);
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path(), &["-t", "ext3", "-b", "1024"], "16M", files);
    let s = stat(&img, "/big");
    let big = number_after(&s, "(0-11):");
    let before = read_file(&img, "/big");
    let b_before = read_file(&img, "/b");
    // /b's third block is /big's first, and /b's single indirect block is
    // /big's too.
    let big_ind = number_after(&s, "(IND):");
    debugfs(&img, &format!("sif /b block[2] {big}"));
    debugfs(&img, &format!("sif /b block[IND] {big_ind}"));
    let o = run(&img, Mode::Check);
    assert!(
        o.of_kind(Kind::MultiplyClaimed).count() >= 2,
        "{:?}",
        o.problems
    );
    run(&img, Mode::Yes);
    assert_eq!(e2fsck_pass1(&img), "");
    assert_eq!(
        read_file(&img, "/big"),
        before,
        "the last owner keeps its data"
    );
    // /b now maps what /big's indirect block maps: pass 1 grew its size
    // to cover it (as e2fsck), so compare only its first blocks.
    let after = read_file(&img, "/b");
    assert_eq!(
        &after[2048..3072],
        &before[..1024],
        "/b's copy of the shared block"
    );
    assert_eq!(
        &after[..2048],
        &b_before[..2048],
        "/b's own blocks unchanged"
    );
}
