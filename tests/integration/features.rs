//! `fuse4fs --help` lists the filesystem features by how far they are
//! served: each one mkfs can make is checked here against what an open of
//! such an image does (read-write, read-only only, or refused, naming it).

use std::process::Command;

use crate::common::mkfs;
use fuse4fs::fs::{Fs, FsOptions};

/// The help's list after `label`.
fn listed(help: &str, label: &str) -> Vec<String> {
    let line = help
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no '{label}' line in --help:\n{help}"));
    let list = &line[line.find(':').unwrap() + 1..];
    list.split(',').map(|f| f.trim().to_string()).collect()
}

/// mkfs arguments making an image with `feature`, if mkfs can.
fn mkfs_args(feature: &str) -> Option<Vec<&str>> {
    Some(match feature {
        "sparse_super2" | "orphan_file" | "mmp" | "quota" | "project" | "ea_inode" | "encrypt"
        | "casefold" | "verity" | "large_dir" | "inline_data" | "metadata_csum_seed" => {
            vec!["-O", feature]
        }
        "bigalloc" => vec!["-O", "bigalloc", "-C", "16384"],
        "meta_bg" => vec!["-O", "meta_bg,^resize_inode"],
        "uninit_bg" => vec!["-O", "uninit_bg,^metadata_csum"],
        _ => return None,
    })
}

fn open(img: &std::path::Path, writable: bool) -> Result<(), String> {
    let opts = FsOptions {
        writable,
        ..Default::default()
    };
    Fs::open(img, &opts).map(drop).map_err(|e| e.to_string())
}

#[test]
fn the_help_says_what_each_feature_gets() {
    let out = Command::new(env!("CARGO_BIN_EXE_fuse4fs"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut checked = 0;
    for (label, rw, ro) in [
        ("read-write:", true, true),
        ("read-only", false, true),
        ("refused:", false, false),
    ] {
        for feature in listed(&help, label) {
            let Some(args) = mkfs_args(&feature) else {
                continue;
            };
            let dir = tempfile::tempdir().unwrap();
            let img = mkfs(dir.path(), &args, "32M");
            for (writable, want) in [(true, rw), (false, ro)] {
                match open(&img, writable) {
                    Ok(()) => assert!(want, "{feature}: writable={writable} opened"),
                    Err(e) => {
                        assert!(!want, "{feature}: writable={writable}: {e}");
                        assert!(e.contains(&feature), "{feature}: the refusal names it: {e}");
                    }
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 14, "only {checked} features checked");
}
