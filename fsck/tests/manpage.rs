//! The man page and completions `fuse4fs-fsck --generate-docs` writes hold
//! to the program: every flag `--help` lists is in fuse4fs-fsck(8) and the
//! other way round, the page renders without a warning, the completions
//! offer every flag.

use std::process::Command;

use fuse4fs_testkit::manpage::{generate_docs, help_flags, man_flags, render_warnings};

const FSCK: &str = env!("CARGO_BIN_EXE_fuse4fs-fsck");

#[test]
fn page_and_completions_follow_help() {
    let dir = generate_docs(FSCK);
    let page_path = dir.path().join("fuse4fs-fsck.8");
    let page = std::fs::read_to_string(&page_path).unwrap();

    let out = Command::new(FSCK).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    let in_help = help_flags(&help);
    assert!(
        in_help.contains("-n") && in_help.contains("--help"),
        "{in_help:?}"
    );
    assert_eq!(
        in_help,
        man_flags(&page),
        "flags: --help (left), fuse4fs-fsck(8) (right)"
    );

    let said = render_warnings(&page_path);
    assert!(said.is_empty(), "{said}");

    let bash = std::fs::read_to_string(dir.path().join("fuse4fs-fsck.bash")).unwrap();
    let zsh = std::fs::read_to_string(dir.path().join("_fuse4fs-fsck")).unwrap();
    for flag in &in_help {
        assert!(bash.contains(flag.as_str()), "bash completion lacks {flag}");
        assert!(zsh.contains(flag.as_str()), "zsh completion lacks {flag}");
    }
}
