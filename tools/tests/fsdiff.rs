//! The differential tester itself: it passes when both sides agree, and it
//! catches and minimises a divergence injected on one side.

use std::process::Command;

fn fsdiff(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fsdiff"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn namespace_mode_agrees_with_itself_and_catches_an_injected_skip() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (pa, pb) = (a.path().to_str().unwrap(), b.path().to_str().unwrap());
    let (rc, out) = fsdiff(&["ns", "--seed", "7", "--ops", "1500", pa, pb]);
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("results and trees match"), "{out}");

    // Skip op 0 on one side; seed 7's first op must then diverge, and the
    // minimal sequence must be tiny.
    let (rc, out) = fsdiff(&[
        "ns", "--seed", "7", "--ops", "1500", "--inject", "0", pa, pb,
    ]);
    assert_eq!(rc, 1, "{out}");
    assert!(out.contains("DIVERGENCE"), "{out}");
    let n: usize = out
        .split("minimal failing sequence (")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(n <= 3, "not minimised: {out}");
}

#[test]
fn data_mode_matches_the_model_and_catches_a_lost_write() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().to_str().unwrap();
    let (rc, out) = fsdiff(&["data", "--seed", "3", "--ops", "1500", p]);
    assert_eq!(rc, 0, "{out}");
    // Op 3 of seed 3 is a write: dropping it must be noticed.
    let (rc, out) = fsdiff(&["data", "--seed", "3", "--ops", "1500", "--inject", "3", p]);
    assert_eq!(rc, 1, "{out}");
    assert!(
        out.contains("[3] write"),
        "the lost write is in the minimal sequence: {out}"
    );
}
