//! The never-used parts of inode tables (a group marked INODE_UNINIT,
//! the tail past bg_itable_unused), which pass 1 does not read when the
//! descriptors are checksummed: a descriptor that hides inodes in use
//! must be found and repaired as e2fsck repairs it (the count reset in
//! setup, or the entry naming a hidden inode found in pass 2 and the
//! check restarted), never by clearing the entries that name them.

use std::path::{Path, PathBuf};

use fuse4fs_format::ext4::InodeNo;

use crate::options::{Mode, Options};
use crate::problem::{Kind, Problem};
use crate::testutil::{check as run, e2fsck, mkfs_filled, require};
use crate::{Outcome, exit};

/// `debugfs -w -f` with these commands, in one run (a descriptor edit
/// and its checksum in the same open).
fn debugfs_all(img: &Path, cmds: &[&str]) {
    fuse4fs_testkit::e2fs::debugfs_w(img, cmds);
}

/// `ls` of a directory in the image, by debugfs.
fn ls(img: &Path, dir: &str) -> String {
    fuse4fs_testkit::e2fs::debugfs(img, &format!("ls -l {dir}"))
}

/// Whether `out` reports a problem `want` accepts.
fn has(out: &Outcome, want: impl Fn(&Problem) -> bool) -> bool {
    out.problems.iter().any(|p| want(&p.problem))
}

/// One group of 64 inodes holding three files and a directory (inodes
/// 11 to 16: lost+found, d, d/g, f1, f2, f3), metadata_csum.
fn one_group(dir: &Path) -> PathBuf {
    mkfs_filled(
        dir,
        &["-O", "metadata_csum", "-b", "1024", "-N", "64"],
        "8M",
        |src| {
            std::fs::create_dir(src.join("d")).unwrap();
            std::fs::write(src.join("d/g"), b"g").unwrap();
            for i in 1..=3 {
                std::fs::write(src.join(format!("f{i}")), format!("hello{i}")).unwrap();
            }
        },
    )
}

/// After `-y`: nothing left for either checker, and the files named.
fn repaired_and_kept(img: &Path, names: &[&str]) {
    let after = run(img, Mode::Check);
    assert!(after.problems.is_empty(), "{:#?}", after.problems);
    let (clean, text) = e2fsck(img);
    assert!(clean, "{text}");
    let list = ls(img, "/");
    for n in names {
        assert!(list.contains(n), "{n} lost: {list}");
    }
}

/// A plausible itable_unused (no more than the free inodes) that hides
/// the last two files: pass 2 finds the entries naming them, the count
/// is reset and the check restarts; the files stay. (The entries were
/// cleared as naming unused inodes, losing both files.)
#[test]
fn an_unused_tail_hiding_inodes_in_use_is_reset_and_rechecked() {
    require(&["mkfs.ext4", "debugfs", "e2fsck"]);
    let dir = tempfile::tempdir().unwrap();
    let img = one_group(dir.path());
    // Inodes 15 and 16 (f2, f3) past the mark; the free count agrees.
    debugfs_all(
        &img,
        &[
            "set_bg 0 itable_unused 50",
            "set_bg 0 free_inodes_count 50",
            "set_bg 0 checksum calc",
        ],
    );
    let (e2_clean, text) = e2fsck(&img);
    assert!(!e2_clean && text.contains("unused inodes area"), "{text}");
    let out = run(&img, Mode::Check);
    assert_eq!(out.exit_code(), exit::UNCORRECTED);
    assert!(
        has(&out, |p| matches!(
            p,
            Problem::EntryInUnusedArea {
                ino: InodeNo(15),
                group: 0,
                ..
            }
        )),
        "{:#?}",
        out.problems
    );
    assert!(!out.modified);
    let out = run(&img, Mode::Yes);
    assert_eq!(out.exit_code(), exit::FIXED, "{:#?}", out.problems);
    assert!(
        out.notes.iter().any(|n| n.contains("Restarting")),
        "{:?}",
        out.notes
    );
    assert!(!out.of_kind(Kind::DirEntryFreeInode).any(|p| p.fixed));
    repaired_and_kept(&img, &["f1", "f2", "f3"]);
}

/// An itable_unused larger than the group's free inodes: reset before
/// pass 1 (e2fsck's "invalid unused inodes count"), so that pass 1 reads
/// every inode; nothing else is wrong.
#[test]
fn an_impossible_itable_unused_is_reset_before_pass_1() {
    require(&["mkfs.ext4", "debugfs", "e2fsck"]);
    let dir = tempfile::tempdir().unwrap();
    let img = one_group(dir.path());
    debugfs_all(
        &img,
        &["set_bg 0 itable_unused 61", "set_bg 0 checksum calc"],
    );
    let (e2_clean, text) = e2fsck(&img);
    assert!(
        !e2_clean && text.contains("invalid unused inodes count 61"),
        "{text}"
    );
    let out = run(&img, Mode::Check);
    assert_eq!(out.exit_code(), exit::UNCORRECTED);
    assert!(
        has(&out, |p| *p
            == Problem::ItableUnusedInvalid {
                group: 0,
                unused: 61
            }),
        "{:#?}",
        out.problems
    );
    let out = run(&img, Mode::Yes);
    let fixed: Vec<_> = out.problems.iter().map(|p| p.kind).collect();
    assert_eq!(fixed, [Kind::GroupFlags], "{:#?}", out.problems);
    repaired_and_kept(&img, &["d", "f1", "f2", "f3", "lost+found"]);
}

/// Four groups of 16 inodes; the directories spread over groups 0 and
/// 1 (mke2fs' Orlov allocator), groups 2 and 3 never used.
fn four_groups(dir: &Path) -> PathBuf {
    let img = mkfs_filled(
        dir,
        &[
            "-O",
            "metadata_csum",
            "-b",
            "1024",
            "-g",
            "2048",
            "-N",
            "64",
        ],
        "8M",
        |src| {
            for d in ["a", "b", "c", "d", "e"] {
                std::fs::create_dir(src.join(d)).unwrap();
                std::fs::write(src.join(d).join("file"), d).unwrap();
            }
        },
    );
    // The test needs inodes in use in group 1 (17..=32).
    let list = ls(&img, "/");
    assert!(
        list.split_whitespace().any(|w| w == "18" || w == "20"),
        "no directory in group 1: {list}"
    );
    img
}

/// A group holding files marked INODE_UNINIT (its descriptor checksum
/// right): pass 2 finds the entries, the flag is cleared and the check
/// restarts. (The entries were cleared, losing the files.)
#[test]
fn an_inode_uninit_group_holding_files_is_rechecked() {
    require(&["mkfs.ext4", "debugfs", "e2fsck"]);
    let dir = tempfile::tempdir().unwrap();
    let img = four_groups(dir.path());
    debugfs_all(
        &img,
        &[
            "set_bg 1 flags 3",
            "set_bg 1 itable_unused 16",
            "set_bg 1 free_inodes_count 16",
            "set_bg 1 checksum calc",
        ],
    );
    let (e2_clean, text) = e2fsck(&img);
    assert!(!e2_clean && text.contains("_INODE_UNINIT is set"), "{text}");
    let out = run(&img, Mode::Check);
    assert_eq!(out.exit_code(), exit::UNCORRECTED);
    assert!(
        has(&out, |p| matches!(
            p,
            Problem::EntryInUninitGroup { group: 1, .. }
        )),
        "{:#?}",
        out.problems
    );
    let out = run(&img, Mode::Yes);
    assert_eq!(out.exit_code(), exit::FIXED, "{:#?}", out.problems);
    assert!(!out.of_kind(Kind::DirEntryFreeInode).any(|p| p.fixed));
    repaired_and_kept(&img, &["a", "b", "c", "d", "e"]);
    for d in ["/a", "/b", "/c", "/d", "/e"] {
        assert!(ls(&img, d).contains("file"), "{d}/file lost");
    }
}

/// A descriptor failing its checksum is not trusted to say its inode
/// table is unused (as e2fsck): the repair clears its uninit flags and
/// itable_unused, and pass 1 reads the whole table. (The flags were
/// kept and the files they hid cleared.)
#[test]
fn a_descriptor_with_a_bad_checksum_loses_its_uninit_flags() {
    require(&["mkfs.ext4", "debugfs", "e2fsck"]);
    let dir = tempfile::tempdir().unwrap();
    let img = four_groups(dir.path());
    // The flag set without a new checksum.
    debugfs_all(&img, &["set_bg 1 flags 3", "set_bg 1 checksum 0x1234"]);
    let (e2_clean, _) = e2fsck(&img);
    assert!(!e2_clean);
    let out = run(&img, Mode::Check);
    assert_eq!(out.exit_code(), exit::UNCORRECTED);
    assert!(out.of_kind(Kind::GroupDescChecksum).next().is_some());
    let out = run(&img, Mode::Yes);
    assert!(out.problems.iter().all(|p| p.fixed), "{:#?}", out.problems);
    assert!(!out.of_kind(Kind::DirEntryFreeInode).any(|_| true));
    repaired_and_kept(&img, &["a", "b", "c", "d", "e"]);
    let cx = crate::Fsck::open(
        crate::Device::open(&img, false).unwrap(),
        Options::default(),
        "img",
    )
    .unwrap();
    let g1 = cx.groups[1];
    assert_eq!(g1.flags & fuse4fs_format::ext4::group::BG_INODE_UNINIT, 0);
}
