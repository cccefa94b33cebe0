//! scripts/skips, which judges the skips a full run recorded: listed with
//! their reasons always, fatal under CI=true unless allowed.

use std::path::Path;
use std::process::Command;

fn run(log: &Path, allow: &Path, ci: bool) -> (i32, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/skips");
    let mut cmd = Command::new(script);
    cmd.arg(log).arg(allow).env_remove("CI");
    if ci {
        cmd.env("CI", "true");
    }
    fuse4fs_testkit::e2fs::output(&mut cmd)
}

#[test]
fn unlisted_skips_fail_under_ci_only() {
    let dir = tempfile::tempdir().unwrap();
    let (log, allow) = (dir.path().join("log"), dir.path().join("allow"));
    std::fs::write(
        &allow,
        "rust a::opt_in_* # needs a directory given by hand\n",
    )
    .unwrap();
    std::fs::write(
        &log,
        "rust a::opt_in_check: FOO not set\nxtest rw/021: fusermount3 is not setuid root\n",
    )
    .unwrap();
    let (rc, text) = run(&log, &allow, false);
    assert_eq!(rc, 0, "{text}");
    assert!(
        text.contains("xtest rw/021: fusermount3 is not setuid root  [NOT ALLOWED]"),
        "{text}"
    );
    assert!(
        text.contains("rust a::opt_in_check: FOO not set\n"),
        "{text}"
    );
    let (rc, text) = run(&log, &allow, true);
    assert_eq!(rc, 1, "{text}");
    // Only allowed skips: CI passes, and still lists them.
    std::fs::write(&log, "rust a::opt_in_check: FOO not set\n").unwrap();
    let (rc, text) = run(&log, &allow, true);
    assert_eq!(rc, 0, "{text}");
    assert!(text.contains("opt_in_check"), "{text}");
}

#[test]
fn an_allow_line_without_a_reason_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (log, allow) = (dir.path().join("log"), dir.path().join("allow"));
    std::fs::write(&allow, "rust a::*\n").unwrap();
    std::fs::write(&log, "").unwrap();
    let (rc, text) = run(&log, &allow, false);
    assert_ne!(rc, 0, "{text}");
    assert!(text.contains("reason"), "{text}");
}
