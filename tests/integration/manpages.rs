//! The man pages and completions `fuse4fs --generate-docs` writes hold to
//! the program as it is: every flag and every `-o` option `--help` lists is
//! in fuse4fs(1), and the other way round; mount.fuse.fuse4fs(8) documents
//! exactly the flags scripts/mount.fuse.fuse4fs takes; the pages render
//! without a warning; the completions offer every long flag.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use fuse4fs_testkit::manpage::{
    generate_docs, help_flags, help_list_names, man_flags, man_list_names, man_tags,
    render_warnings,
};

const FUSE4FS: &str = env!("CARGO_BIN_EXE_fuse4fs");

/// The `--help` heading of the `-o` list.
const MOUNT_OPTIONS_HELP: &str = "Mount options (-o):";

/// Runs `fuse4fs --generate-docs` into a fresh directory.
fn generate() -> tempfile::TempDir {
    generate_docs(FUSE4FS)
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn help() -> String {
    let out = Command::new(FUSE4FS).arg("--help").output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn fuse4fs_page_has_every_flag_help_has() {
    let docs = generate();
    let page = read(docs.path(), "fuse4fs.1");
    let help = help();
    let in_help = help_flags(&help);
    assert!(
        in_help.contains("-o") && in_help.contains("--help"),
        "{in_help:?}"
    );
    assert_eq!(
        in_help,
        man_flags(&page),
        "flags: --help (left), fuse4fs(1) (right)"
    );
}

#[test]
fn fuse4fs_page_has_every_mount_option_help_has() {
    let docs = generate();
    let page = read(docs.path(), "fuse4fs.1");
    let in_help = help_list_names(&help(), MOUNT_OPTIONS_HELP);
    assert!(
        in_help.contains("ro") && in_help.contains("errors"),
        "{in_help:?}"
    );
    assert_eq!(
        in_help,
        man_list_names(&page, "MOUNT OPTIONS"),
        "-o options: --help (left), fuse4fs(1) (right)"
    );
}

#[test]
fn every_listed_mount_option_is_taken() {
    // The list is what the parser takes: a name it shows is not refused
    // as unknown, alone or with a value (which may still be wrong for it).
    let dir = tempfile::tempdir().unwrap();
    let unknown = |opt: &str| {
        let out = Command::new(FUSE4FS)
            .args(["-o", opt, "/nonexistent.img"])
            .arg(dir.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        err.contains("unknown mount option").then_some(err)
    };
    for name in help_list_names(&help(), MOUNT_OPTIONS_HELP) {
        let name = name.replace('*', "any");
        if let Some(err) = unknown(&name) {
            assert!(unknown(&format!("{name}=1")).is_none(), "-o {name}: {err}");
        }
    }
    assert!(unknown("frobnicate").is_some());
}

#[test]
fn pages_render_without_warnings() {
    let docs = generate();
    let mut pages = 0;
    for entry in std::fs::read_dir(docs.path()).unwrap() {
        let path = entry.unwrap().path();
        if matches!(path.extension().and_then(|e| e.to_str()), Some("1" | "8")) {
            let said = render_warnings(&path);
            assert!(said.is_empty(), "{}:\n{said}", path.display());
            pages += 1;
        }
    }
    assert_eq!(pages, 2, "fuse4fs.1 and mount.fuse.fuse4fs.8");
}

#[test]
fn completions_offer_every_long_flag() {
    let docs = generate();
    let bash = read(docs.path(), "fuse4fs.bash");
    let zsh = read(docs.path(), "_fuse4fs");
    assert!(zsh.starts_with("#compdef fuse4fs"), "{zsh}");
    let long: BTreeSet<String> = help_flags(&help())
        .into_iter()
        .filter(|f| f.starts_with("--"))
        .collect();
    assert!(long.contains("--supervise"), "{long:?}");
    for flag in long {
        assert!(bash.contains(&flag), "bash completion lacks {flag}");
        assert!(zsh.contains(&flag), "zsh completion lacks {flag}");
    }
}

#[test]
fn version_names_the_package_version() {
    let out = Command::new(FUSE4FS).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("fuse4fs {}", env!("CARGO_PKG_VERSION"))
    );
}

/// scripts/mount.fuse.fuse4fs in its dry-run mode with `args` after the
/// image and directory: whether it accepts them.
fn helper_accepts(args: &[&str]) -> bool {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/mount.fuse.fuse4fs");
    Command::new("sh")
        .arg(script)
        .args(["/img/a.img", "/mnt/a"])
        .args(args)
        .env("FUSE4FS_MOUNT_DRY_RUN", "supervise")
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn helper_page_documents_exactly_the_flags_the_helper_takes() {
    let docs = generate();
    let page = read(docs.path(), "mount.fuse.fuse4fs.8");
    // Flag → whether it takes a value (`-t <TYPE>`).
    let mut documented = std::collections::BTreeMap::new();
    for tag in man_tags(&page, "OPTIONS") {
        if let Some(flag) = tag.strip_prefix('-').and_then(|t| t.chars().next()) {
            documented.insert(flag, tag.contains('<'));
        }
    }
    assert!(documented.contains_key(&'o'), "{documented:?}");
    for letter in ('a'..='z').chain('A'..='Z') {
        let flag = format!("-{letter}");
        match documented.get(&letter) {
            Some(true) => assert!(helper_accepts(&[&flag, "ro"]), "{flag} VALUE refused"),
            Some(false) => assert!(helper_accepts(&[&flag]), "{flag} refused"),
            None => assert!(!helper_accepts(&[&flag]), "{flag} taken but not documented"),
        }
    }
}
