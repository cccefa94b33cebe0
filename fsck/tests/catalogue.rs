//! The corruption catalogue: each case makes a fresh image from a known
//! source tree, injects one kind of damage (with debugfs or a byte edit),
//! and checks that
//! - the damage is real: `e2fsck -fn` exits as recorded (4, except where
//!   e2fsck itself calls the image clean, noted on the case), and
//!   `e2fsck -fy` on a copy repairs it without touching the files the
//!   damage spared (this validates the injection itself);
//! - `fuse4fs-fsck -fn` (library and binary) exits 4 and reports the
//!   expected [`Kind`];
//! - `fuse4fs-fsck -fy` exits 1, after which `e2fsck -fn` and
//!   `fuse4fs-fsck -fn` both exit 0 and every spared file reads back
//!   unchanged.
//!
//! Environment: `FSCK_CATALOGUE=name,name` runs only those cases;
//! `FSCK_CATALOGUE_ORACLE=1` runs only the e2fsck half (checks the
//! injections, not the checker). Skips with a message without e2fsprogs.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use fuse4fs_fsck::{Kind, Mode, Options, check_path};

/// A check of a repaired image: what is wrong, if anything.
type AfterCheck = fn(&Path) -> Result<(), String>;

/// One kind of damage.
#[derive(Clone)]
struct Case {
    name: &'static str,
    /// The problem kind fuse4fs-fsck must report.
    expect: Kind,
    /// `e2fsck -fn`'s exit code on the damaged image (4 unless e2fsck
    /// does not count the damage as an error, or gives up: 12).
    e2fsck_n: i32,
    /// `e2fsck -fy`'s exit code on the damaged image (1 unless e2fsck
    /// repairs it before it starts counting: 0).
    e2fsck_y: i32,
    /// `fuse4fs-fsck -fn`'s exit code: 4, or 0 where the checker, like
    /// e2fsck, does not count the damage as an error (then `expect` need
    /// not be reported, and `after` must show the repair).
    fsck_n: i32,
    /// Files whose contents or place the damage (or its repair) may
    /// change; every other file of the source tree must read back
    /// unchanged after the repair.
    touched: &'static [&'static str],
    inject: fn(&Path),
    /// An extra check on the repaired image.
    after: Option<AfterCheck>,
    /// mkfs.ext4 arguments added to the common ones (`-t ext3` …).
    mkfs: &'static [&'static str],
}

const fn case(
    name: &'static str,
    expect: Kind,
    touched: &'static [&'static str],
    inject: fn(&Path),
) -> Case {
    Case {
        name,
        expect,
        e2fsck_n: 4,
        e2fsck_y: 1,
        fsck_n: 4,
        touched,
        inject,
        after: None,
        mkfs: &[],
    }
}

/// Every file of a directory of the source tree (a prefix match).
const D_ALL: &[&str] = &["/d/"];
const PLAIN_ALL: &[&str] = &["/plain/"];

fn sif(img: &Path, path: &str, field: &str, value: &str) {
    debugfs_w(img, &[&format!("sif {path} {field} {value}")]);
}

/// A block of data that `debugfs jw` journals in the journal case.
const JOURNALED: &[u8] = b"replayed from the journal\n";

fn cases() -> Vec<Case> {
    vec![
        // ---------------------------------------------------- pass 4
        case("link_count_up", Kind::LinkCount, &[], |img| {
            sif(img, "/a/small2", "links_count", "5")
        }),
        case("link_count_down", Kind::LinkCount, &[], |img| {
            // /a/small1 has two names (/a/hl).
            sif(img, "/a/small1", "links_count", "1")
        }),
        case("dir_link_count", Kind::LinkCount, &[], |img| {
            // /a has two subdirectories: 4 links.
            sif(img, "/a", "links_count", "2")
        }),
        case(
            "unattached_inode",
            Kind::InodeUnattached,
            &["/a/small4"],
            |img| debugfs_w(img, &["unlink /a/small4"]),
        ),
        // ---------------------------------------------------- pass 3
        case(
            "unconnected_dir",
            Kind::DirUnconnected,
            &["/u/inner/file"],
            |img| debugfs_w(img, &["unlink /u/inner"]),
        ),
        Case {
            // e2fsck -n does not mention a missing /lost+found; -y makes one.
            e2fsck_n: 0,
            ..case("lost_found_missing", Kind::LostFoundMissing, &[], |img| {
                debugfs_w(img, &["rmdir /lost+found"])
            })
        },
        case("wrong_dotdot", Kind::DotDotMismatch, &[], |img| {
            let other = ino(img, "/plain");
            edit_dir_entry(img, "/a/sub", "..", |b, off| {
                b[off..off + 4].copy_from_slice(&other.to_le_bytes())
            })
        }),
        // ---------------------------------------------------- pass 2
        case(
            "entry_to_freed_inode",
            Kind::DirEntryFreeInode,
            &["/a/small3"],
            |img| debugfs_w(img, &["clri /a/small3"]),
        ),
        case("dir_block_checksum", Kind::DirBlockChecksum, &[], |img| {
            let b = blocks(img, "/plain")[0];
            let mut block = read_block(img, b);
            let n = block.len();
            block[n - 1] ^= 0x5a;
            write_block(img, b, &block);
        }),
        Case {
            // e2fsck -n declines to salvage the block and gives up (exit 12).
            e2fsck_n: 12,
            ..case("torn_dir_block_zero", Kind::DirEntryCorrupt, D_ALL, |img| {
                // A leaf (with small blocks /d is an htree).
                let (b, _) = find_entry(img, "/d", "file_number_000000");
                let mut block = read_block(img, b);
                let n = block.len();
                block[n / 2..].fill(0);
                write_block(img, b, &block);
            })
        },
        Case {
            // e2fsck -n declines to salvage the block and gives up (exit 12).
            e2fsck_n: 12,
            ..case(
                "torn_dir_block_random",
                Kind::DirEntryCorrupt,
                D_ALL,
                |img| {
                    // A leaf (with small blocks /d is an htree).
                    let (b, _) = find_entry(img, "/d", "file_number_000000");
                    let mut block = read_block(img, b);
                    let n = block.len();
                    block[n / 2..].copy_from_slice(&bytes(7, n - n / 2));
                    write_block(img, b, &block);
                },
            )
        },
        Case {
            // e2fsck -n declines to salvage the block and gives up (exit 12).
            e2fsck_n: 12,
            ..case("bad_rec_len", Kind::DirEntryCorrupt, PLAIN_ALL, |img| {
                edit_dir_entry(img, "/plain", "p2", |b, off| {
                    b[off + 4..off + 6].copy_from_slice(&13u16.to_le_bytes())
                })
            })
        },
        case("file_type_wrong", Kind::DirEntryFileType, &[], |img| {
            edit_dir_entry(img, "/plain", "p4", |b, off| b[off + 7] = 2)
        }),
        case(
            "slash_in_name",
            Kind::DirEntryBadName,
            &["/plain/p5"],
            |img| edit_dir_entry(img, "/plain", "p5", |b, off| b[off + 9] = b'/'),
        ),
        case(
            "duplicate_entry",
            Kind::DirEntryDuplicate,
            &["/plain/p6", "/plain/p7"],
            |img| edit_dir_entry(img, "/plain", "p6", |b, off| b[off + 9] = b'7'),
        ),
        case("dir_hard_link", Kind::DirHardLink, &[], |img| {
            debugfs_w(img, &["link /a/sub /plain/again"])
        }),
        case("htree_hash_order", Kind::HtreeBad, &[], |img| {
            // dx_root: count/limit at 0x20, then (hash, block) pairs;
            // swap the hashes of entries 1 and 2.
            let b = blocks(img, "/h")[0];
            let mut block = read_block(img, b);
            let (h1, h2) = (0x28, 0x30);
            let count = u16::from_le_bytes([block[0x22], block[0x23]]);
            assert!(count >= 3, "/h has {count} leaves");
            let a: [u8; 4] = block[h1..h1 + 4].try_into().unwrap();
            let c: [u8; 4] = block[h2..h2 + 4].try_into().unwrap();
            block[h1..h1 + 4].copy_from_slice(&c);
            block[h2..h2 + 4].copy_from_slice(&a);
            reseal_dx(img, "/h", &mut block);
            write_block(img, b, &block);
        }),
        case("htree_limit", Kind::HtreeBad, &[], |img| {
            let b = blocks(img, "/h")[0];
            let mut block = read_block(img, b);
            let limit = u16::from_le_bytes([block[0x20], block[0x21]]);
            block[0x20..0x22].copy_from_slice(&(limit - 100).to_le_bytes());
            reseal_dx(img, "/h", &mut block);
            write_block(img, b, &block);
        }),
        // ---------------------------------------------------- pass 1
        Case {
            mkfs: &["-O", "inline_data"],
            // e2fsck: "Inode N, i_size is 30, should be 60."
            ..case("inline_dir_size", Kind::InlineDataBad, &[], |img| {
                // An empty directory kept inline: i_size 60.
                sif(img, "/a/sub2", "size", "30")
            })
        },
        Case {
            mkfs: &["-O", "inline_data"],
            ..case(
                "inline_data_xattr_missing",
                Kind::InlineDataBad,
                &["/a/small2"],
                |img| debugfs_w(img, &["ea_rm /a/small2 system.data"]),
            )
        },
        case("inode_extra_isize", Kind::InodeExtraIsize, &[], |img| {
            sif(img, "/a/small2", "extra_isize", "3")
        }),
        case("extents_flag_missing", Kind::InodeBadFlags, &[], |img| {
            // An extent-mapped file without EXTENTS_FL.
            sif(img, "/big/other", "flags", "0")
        }),
        Case {
            // e2fsck -fy rewrites the checksum but exits 0 (it does not
            // count this repair as a change).
            e2fsck_y: 0,
            ..case("extent_block_checksum", Kind::ExtentChecksum, &[], |img| {
                let tree = tree_blocks(img, "/big/sparse");
                assert!(!tree.is_empty(), "/big/sparse has no extent tree block");
                let mut block = read_block(img, tree[0]);
                // The tail sits after eh_max entries: 12 + 12 * eh_max.
                let max = u16::from_le_bytes([block[4], block[5]]) as usize;
                block[12 + 12 * max] ^= 0x01;
                write_block(img, tree[0], &block);
            })
        },
        Case {
            mkfs: &["-t", "ext3"],
            ..case(
                "blockmap_outside_fs",
                Kind::BlockMapBad,
                &["/big/other"],
                |img| {
                    // i_block[5]: the sixth direct pointer.
                    sif(img, "/big/other", "block[5]", "0x0fffffff")
                },
            )
        },
        case("inode_checksum", Kind::InodeChecksum, &[], |img| {
            sif(img, "/a/small2", "checksum", "0x1234")
        }),
        case("dtime_in_use", Kind::InodeDtime, &[], |img| {
            sif(img, "/a/small2", "dtime", "1700000000")
        }),
        case("bad_mode", Kind::InodeBadMode, &["/plain/p3"], |img| {
            sif(img, "/plain/p3", "mode", "0170644")
        }),
        case("i_blocks_wrong", Kind::IBlocks, &[], |img| {
            sif(img, "/big/other", "blocks", "8")
        }),
        case("dir_i_size_wrong", Kind::ISize, &[], |img| {
            sif(img, "/plain", "size", "1")
        }),
        case("symlink_size_wrong", Kind::SymlinkBad, &[], |img| {
            sif(img, "/a/sl", "size", "200")
        }),
        case(
            "extent_outside_fs",
            Kind::ExtentBad,
            &["/big/other"],
            |img| {
                // i_block words: header 0-2, first extent 3-5 (ee_start_lo
                // is word 5).
                sif(img, "/big/other", "block[5]", "0x0fffffff")
            },
        ),
        case(
            "extent_tree_magic",
            Kind::ExtentHeaderBad,
            &["/big/sparse"],
            |img| {
                let tree = tree_blocks(img, "/big/sparse");
                assert!(!tree.is_empty(), "/big/sparse has no extent tree block");
                let mut block = read_block(img, tree[0]);
                block[0..2].copy_from_slice(&0x1234u16.to_le_bytes());
                write_block(img, tree[0], &block);
            },
        ),
        case(
            "doubly_claimed_block",
            Kind::MultiplyClaimed,
            &["/a/small5"],
            |img| {
                let theirs = blocks(img, "/a/small4")[0];
                sif(img, "/a/small5", "block[5]", &theirs.to_string())
            },
        ),
        case("xattr_refcount", Kind::XattrRefcount, &[], |img| {
            let b = xattr_block(img, "/x/f1");
            assert_ne!(b, 0, "/x/f1 has no xattr block");
            edit_xattr_block(img, b, |blk| blk[4..8].copy_from_slice(&7u32.to_le_bytes()))
        }),
        case("xattr_bad_magic", Kind::XattrBlockBad, &[], |img| {
            let b = xattr_block(img, "/x/f2");
            assert_ne!(b, 0, "/x/f2 has no xattr block");
            edit_xattr_block(img, b, |blk| {
                blk[0..4].copy_from_slice(&0xdead_beefu32.to_le_bytes())
            })
        }),
        // ---------------------------------------------------- pass 5
        case("leaked_block", Kind::BlockBitmap, &[], |img| {
            let free = first_free(img, "ffb", "Free blocks found:");
            debugfs_w(img, &[&format!("setb {free}")])
        }),
        case("used_block_marked_free", Kind::BlockBitmap, &[], |img| {
            let b = blocks(img, "/big/large")[3];
            debugfs_w(img, &[&format!("freeb {b}")])
        }),
        case("leaked_inode", Kind::InodeBitmap, &[], |img| {
            let free = first_free(img, "ffi", "Free inode found:");
            debugfs_w(img, &[&format!("seti <{free}>")])
        }),
        case("used_inode_marked_free", Kind::InodeBitmap, &[], |img| {
            debugfs_w(img, &["freei /a/small5"])
        }),
        case("group_free_blocks", Kind::GroupCounts, &[], |img| {
            debugfs_w(img, &["set_bg 1 free_blocks_count 3"])
        }),
        case("group_dirs_count", Kind::GroupCounts, &[], |img| {
            debugfs_w(img, &["set_bg 0 used_dirs_count 1"])
        }),
        Case {
            // e2fsck recomputes the superblock's free counts from the
            // groups' without calling it an error (-n says "Free blocks
            // count wrong" but exits 0), and so does the checker.
            e2fsck_n: 0,
            fsck_n: 0,
            after: Some(|img| {
                let sb = superblock(img);
                if sb.free_blocks_count == 17 {
                    Err("the superblock's free blocks count is still 17".into())
                } else {
                    Ok(())
                }
            }),
            ..case(
                "superblock_free_blocks",
                Kind::SuperblockCounts,
                &[],
                |img| debugfs_w(img, &["ssv free_blocks_count 17"]),
            )
        },
        case("block_bitmap_checksum", Kind::BitmapChecksum, &[], |img| {
            debugfs_w(img, &["set_bg 0 block_bitmap_csum 0x1234"])
        }),
        case("group_desc_bad", Kind::GroupDescBad, &[], |img| {
            // Group 3's block bitmap outside the filesystem.
            debugfs_w(img, &["set_bg 3 block_bitmap 99999999"])
        }),
        case("group_desc_checksum", Kind::GroupDescChecksum, &[], |img| {
            debugfs_w(img, &["set_bg 1 checksum 0x1234"])
        }),
        // ---------------------------------------------------- setup
        Case {
            // e2fsck -n leaves the orphan list alone and reports the inode
            // as "Deleted inode N has zero dtime" plus bitmap differences;
            // -y frees it before pass 1 and exits 0.
            e2fsck_y: 0,
            ..case("orphan_zero_links", Kind::Orphan, &["/a/small3"], |img| {
                // What an unlink of an open file leaves when the writer dies:
                // no name, no links, on the orphan list.
                let i = ino(img, "/a/small3");
                debugfs_w(
                    img,
                    &[
                        "unlink /a/small3",
                        &format!("sif <{i}> links_count 0"),
                        &format!("ssv last_orphan {i}"),
                    ],
                )
            })
        },
        Case {
            // e2fsck -n skips the replay and checks the home locations,
            // which are consistent; -y replays and exits 0.
            e2fsck_n: 0,
            e2fsck_y: 0,
            after: Some(|img| {
                let got = contents(img, &["/a/small2".to_string()]);
                match got.get("/a/small2") {
                    // The file keeps its size; its block is the journaled one.
                    Some(Some(data)) if JOURNALED.starts_with(data) => Ok(()),
                    other => Err(format!("/a/small2 after replay: {other:?}")),
                }
            }),
            ..case(
                "journal_needs_recovery",
                Kind::JournalNeedsRecovery,
                &["/a/small2"],
                |img| {
                    let b = blocks(img, "/a/small2")[0];
                    let bs = superblock(img).block_size() as usize;
                    let mut data = JOURNALED.to_vec();
                    data.resize(bs, 0);
                    let file = img.with_extension("journaled");
                    std::fs::write(&file, &data).unwrap();
                    debugfs_w(img, &["jo", &format!("jw -b {b} {}", file.display()), "jc"])
                },
            )
        },
    ]
}

/// Cases run again on other layouts: 1 KiB blocks, group descriptor
/// checksums without metadata_csum, ext2 (block maps, no journal).
const VARIANTS: &[(&str, &[&str], &[&str])] = &[
    (
        "1k",
        &["-b", "1024"],
        &[
            "leaked_block",
            "used_block_marked_free",
            "entry_to_freed_inode",
            "unattached_inode",
            "torn_dir_block_zero",
            "link_count_up",
            "group_free_blocks",
            "doubly_claimed_block",
        ],
    ),
    (
        "nocsum",
        &["-O", "^metadata_csum,uninit_bg"],
        &[
            "leaked_block",
            "used_inode_marked_free",
            "entry_to_freed_inode",
            "unconnected_dir",
            "torn_dir_block_random",
            "group_free_blocks",
            "group_desc_checksum",
            "xattr_refcount",
        ],
    ),
    (
        "ext2",
        &["-t", "ext2"],
        &[
            "leaked_block",
            "used_block_marked_free",
            "entry_to_freed_inode",
            "unattached_inode",
            "link_count_down",
            "i_blocks_wrong",
            "blockmap_outside_fs",
        ],
    ),
];

/// `cases` plus their copies on the [`VARIANTS`] (named `case@variant`).
fn with_variants(mut cases: Vec<Case>) -> Vec<Case> {
    let mut more = Vec::new();
    for (tag, args, names) in VARIANTS {
        for name in *names {
            let base = cases
                .iter()
                .find(|c| c.name == *name)
                .unwrap_or_else(|| panic!("variant of unknown case {name}"));
            more.push(Case {
                name: Box::leak(format!("{name}@{tag}").into_boxed_str()),
                mkfs: args,
                ..base.clone()
            });
        }
    }
    cases.extend(more);
    cases
}

/// The number `debugfs REQ` prints after `label`.
fn first_free(img: &Path, req: &str, label: &str) -> u64 {
    let out = debugfs(img, req);
    let at = out.find(label).unwrap_or_else(|| panic!("{req}: {out}"));
    out[at + label.len()..]
        .split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("{req}: {out}"))
}

/// The image every case starts from: the source tree, two files with an
/// external xattr block each.
fn base_image(src: &Path, img: &Path, extra: &[&str]) {
    // 4 groups of 2048 blocks, so that groups other than 0 exist.
    let mut args = vec!["-b", "4096", "-g", "2048", "-N", "1024"];
    args.extend_from_slice(extra);
    mkfs_from(src, img, &args, "32M");
    let dir = img.parent().unwrap();
    let v1 = dir.join("v1");
    let v2 = dir.join("v2");
    // Too big for the inode: each goes to a block of its own.
    let bs = superblock(img).block_size() as usize;
    std::fs::write(&v1, bytes(11, bs * 3 / 8)).unwrap();
    std::fs::write(&v2, bytes(12, bs * 3 / 7)).unwrap();
    debugfs_w(
        img,
        &[
            &format!("ea_set -f {} /x/f1 user.big", v1.display()),
            &format!("ea_set -f {} /x/f2 user.big", v2.display()),
            "ea_set /x/f2 user.small tiny",
        ],
    );
    let (rc, out) = e2fsck(img, "-fn");
    assert_eq!(rc, 0, "base image not clean:\n{out}");
}

fn fsck_bin() -> &'static str {
    env!("CARGO_BIN_EXE_fuse4fs-fsck")
}

/// Runs the checker binary with `flags` (under `timeout`: a hang is a
/// failure, not a stuck test); its exit code and output.
fn fsck_cli(img: &Path, flags: &str) -> (i32, String) {
    run(Command::new("timeout")
        .args(["-s", "KILL", "120"])
        .arg(fsck_bin())
        .arg(flags)
        .arg(img))
}

/// `check_path -fn` in a thread, with a time limit; the kinds reported
/// and the exit code.
fn fsck_lib(img: &Path) -> Result<(i32, Vec<(Kind, String)>), String> {
    let (tx, rx) = mpsc::channel();
    let path = img.to_path_buf();
    std::thread::spawn(move || {
        let opts = Options {
            mode: Mode::Check,
            force: true,
            ..Options::default()
        };
        let r = std::panic::catch_unwind(|| check_path(&path, &opts));
        let _ = tx.send(match r {
            Ok(Ok(out)) => Ok((
                out.exit_code(),
                out.problems
                    .iter()
                    .map(|p| (p.kind, p.message.clone()))
                    .collect(),
            )),
            Ok(Err(e)) => Err(format!("check_path failed: {e}")),
            Err(_) => Err("check_path panicked".to_string()),
        });
    });
    rx.recv_timeout(Duration::from_secs(120))
        .unwrap_or_else(|_| Err("check_path did not finish in 120 s".to_string()))
}

fn spared(files: &[String], touched: &[&str]) -> Vec<String> {
    files
        .iter()
        .filter(|f| {
            !touched.iter().any(|t| {
                if t.ends_with('/') {
                    f.starts_with(t)
                } else {
                    f == t
                }
            })
        })
        .cloned()
        .collect()
}

fn diff_contents(
    before: &BTreeMap<String, Option<Vec<u8>>>,
    after: &BTreeMap<String, Option<Vec<u8>>>,
) -> Option<String> {
    let changed: Vec<&String> = before
        .iter()
        .filter(|(k, v)| after.get(*k) != Some(*v))
        .map(|(k, _)| k)
        .collect();
    let unreadable = changed
        .iter()
        .filter(|k| matches!(after.get(**k), None | Some(None)))
        .count();
    (!changed.is_empty()).then(|| {
        format!(
            "{} files changed ({unreadable} unreadable), first: {:?}",
            changed.len(),
            &changed[..changed.len().min(8)]
        )
    })
}

/// What one case found wrong: with the injection (e2fsck's side) and
/// with the checker.
#[derive(Default)]
struct Verdict {
    oracle: Vec<String>,
    checker: Vec<String>,
}

fn run_case(c: &Case, src: &Source, oracle_only: bool) -> Verdict {
    let mut v = Verdict::default();
    let tmp = tempfile::tempdir().unwrap();
    let img = tmp.path().join("img");
    base_image(&src.dir, &img, c.mkfs);
    let keep = spared(&src.files, c.touched);
    let before = contents(&img, &keep);
    assert!(
        before.values().all(|d| d.is_some()),
        "{}: unreadable files in the fresh image",
        c.name
    );
    (c.inject)(&img);

    // The injection, judged by e2fsck.
    let (rc, out) = e2fsck(&img, "-fn");
    if rc != c.e2fsck_n {
        v.oracle.push(format!(
            "e2fsck -fn exit {rc}, expected {}:\n{out}",
            c.e2fsck_n
        ));
    }
    let copy = tmp.path().join("e2fsck.img");
    std::fs::copy(&img, &copy).unwrap();
    let (rc, out) = e2fsck(&copy, "-fy");
    if rc != c.e2fsck_y {
        v.oracle.push(format!(
            "e2fsck -fy exit {rc}, expected {}:\n{out}",
            c.e2fsck_y
        ));
    }
    let (rc, out) = e2fsck(&copy, "-fn");
    if rc != 0 {
        v.oracle
            .push(format!("e2fsck -fn after e2fsck -fy exit {rc}:\n{out}"));
    }
    if let Some(d) = diff_contents(&before, &contents(&copy, &keep)) {
        v.oracle.push(format!("after e2fsck -fy, {d}"));
    }
    if let Some(after) = c.after
        && let Err(e) = after(&copy)
    {
        v.oracle.push(format!("after e2fsck -fy: {e}"));
    }
    if oracle_only {
        return v;
    }

    // The checker.
    match fsck_lib(&img) {
        Ok((code, problems)) => {
            if code != c.fsck_n {
                v.checker.push(format!(
                    "check_path -fn exit code {code}, expected {}",
                    c.fsck_n
                ));
            }
            if c.fsck_n != 0 && !problems.iter().any(|(k, _)| *k == c.expect) {
                v.checker
                    .push(format!("no {:?} reported; got {problems:?}", c.expect));
            }
        }
        Err(e) => v.checker.push(e),
    }
    let (rc, out) = fsck_cli(&img, "-fn");
    if rc != c.fsck_n {
        v.checker.push(format!(
            "fuse4fs-fsck -fn exit {rc}, expected {}:\n{out}",
            c.fsck_n
        ));
    }
    let (rc, out) = fsck_cli(&img, "-fy");
    if rc != 1 {
        v.checker
            .push(format!("fuse4fs-fsck -fy exit {rc}, expected 1:\n{out}"));
    }
    let (rc, out) = e2fsck(&img, "-fn");
    if rc != 0 {
        v.checker.push(format!(
            "e2fsck -fn after fuse4fs-fsck -fy exit {rc}:\n{out}"
        ));
    }
    let (rc, out) = fsck_cli(&img, "-fn");
    if rc != 0 {
        v.checker.push(format!(
            "fuse4fs-fsck -fn after fuse4fs-fsck -fy exit {rc}:\n{out}"
        ));
    }
    if let Some(d) = diff_contents(&before, &contents(&img, &keep)) {
        v.checker.push(format!("after fuse4fs-fsck -fy, {d}"));
    }
    if let Some(after) = c.after
        && let Err(e) = after(&img)
    {
        v.checker.push(format!("after fuse4fs-fsck -fy: {e}"));
    }
    v
}

#[test]
fn catalogue() {
    require(&["mkfs.ext4", "e2fsck", "debugfs"]);
    let only: Option<Vec<String>> = std::env::var("FSCK_CATALOGUE")
        .ok()
        .map(|s| s.split(',').map(str::to_string).collect());
    let oracle_only = std::env::var_os("FSCK_CATALOGUE_ORACLE").is_some();
    let all = with_variants(cases());
    assert!(all.len() >= 25, "the catalogue holds {} cases", all.len());
    let selected: Vec<&Case> = all
        .iter()
        .filter(|c| only.as_ref().is_none_or(|o| o.iter().any(|n| n == c.name)))
        .collect();
    let root = tempfile::tempdir().unwrap();
    let src = make_source(root.path());
    let queue = Mutex::new(selected.iter());
    let results: Mutex<Vec<(&str, Verdict)>> = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 8)
        * 2;
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let Some(c) = queue.lock().unwrap().next() else {
                        break;
                    };
                    let v = match std::panic::catch_unwind(|| run_case(c, &src, oracle_only)) {
                        Ok(v) => v,
                        Err(e) => Verdict {
                            oracle: vec![format!(
                                "the case panicked: {}",
                                e.downcast_ref::<String>()
                                    .cloned()
                                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                                    .unwrap_or_default()
                            )],
                            checker: vec![],
                        },
                    };
                    results.lock().unwrap().push((c.name, v));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(n, _)| *n);
    let mut report = String::new();
    let mut failed = 0;
    for (name, v) in &results {
        let kind = all.iter().find(|c| c.name == *name).unwrap().expect;
        if v.oracle.is_empty() && v.checker.is_empty() {
            eprintln!("ok      {name} ({kind:?})");
            continue;
        }
        failed += 1;
        eprintln!(
            "FAILED  {name} ({kind:?}): {}",
            if v.oracle.is_empty() {
                "checker"
            } else {
                "injection"
            }
        );
        for line in v
            .oracle
            .iter()
            .map(|l| format!("injection: {l}"))
            .chain(v.checker.iter().map(|l| format!("checker: {l}")))
        {
            report.push_str(&format!("--- {name}: {line}\n"));
        }
    }
    assert!(
        failed == 0,
        "{failed} of {} cases failed:\n{report}",
        results.len()
    );
}
