//! Images built and judged with e2fsprogs: the tool checks, `mkfs.ext4`,
//! `e2fsck` and `debugfs` runs that the tests of every crate share, so that
//! each test says what it builds and checks rather than how to call a tool.

use std::path::Path;
use std::process::{Command, Stdio};

/// Fails the running test unless every named tool runs (`TOOL -V`),
/// with one message naming the missing ones and how to install them. A
/// test that needs a tool it cannot find fails rather than skips: a
/// machine without the tools is not set up for the tests, and a skipped
/// test is not a passed one.
#[track_caller]
pub fn require(tools: &[&str]) {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !installed(t)).collect();
    assert!(
        missing.is_empty(),
        "this test needs {} (not found): scripts/install-deps installs them",
        missing.join(", ")
    );
}

/// Whether `tool -V` runs at all (the e2fsprogs tools print their version
/// on stderr and some exit non-zero for it), with no skip recorded.
pub fn installed(tool: &str) -> bool {
    Command::new(tool)
        .arg("-V")
        .stdin(Stdio::null())
        .output()
        .is_ok()
}

/// Runs `cmd`, which must exit 0; its standard output.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `cmd`; its exit code (-1 when killed by a signal) and its standard
/// output followed by its standard error.
pub fn output(cmd: &mut Command) -> (i32, String) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

/// `mkfs.ext4 -q -F ARGS IMG SIZE` (creating IMG), which must succeed.
/// Put `-d SRC` in `args` to fill the image from a directory.
pub fn mkfs_ext4(img: &Path, args: &[&str], size: &str) {
    run(Command::new("mkfs.ext4")
        .args(["-q", "-F"])
        .args(args)
        .arg(img)
        .arg(size));
}

/// `e2fsck FLAGS IMG`: its exit code and what it printed (stdout, then
/// stderr without the version banner, so that a clean run prints only
/// the pass headers and the summary).
pub fn e2fsck(img: &Path, flags: &str) -> (i32, String) {
    let out = Command::new("e2fsck")
        .arg(flags)
        .arg(img)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("e2fsck: {e}"));
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    for l in String::from_utf8_lossy(&out.stderr).lines() {
        if !l.starts_with("e2fsck ") {
            text.push_str(l);
            text.push('\n');
        }
    }
    (out.status.code().unwrap_or(-1), text)
}

/// Whether `e2fsck -fn` finds the image clean; what it said otherwise.
pub fn e2fsck_clean(img: &Path) -> Result<(), String> {
    match e2fsck(img, "-fn") {
        (0, _) => Ok(()),
        (_, text) => Err(text),
    }
}

/// `debugfs -R REQ IMG`, read-only: its standard output (debugfs exits 0
/// even when a request fails; the failure is on stderr).
pub fn debugfs(img: &Path, req: &str) -> String {
    debugfs_req(img, req, false)
}

/// `debugfs -w -R REQ IMG`: its standard output, with no check that the
/// request succeeded (for requests that print what they did, or that a
/// test expects to fail). Prefer [`debugfs_w`] to change an image.
pub fn debugfs_rw(img: &Path, req: &str) -> String {
    debugfs_req(img, req, true)
}

fn debugfs_req(img: &Path, req: &str, write: bool) -> String {
    let mut cmd = Command::new("debugfs");
    if write {
        cmd.arg("-w");
    }
    let out = cmd
        .arg("-R")
        .arg(req)
        .arg(img)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("debugfs: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `cmds` in one read-only `debugfs` (`-f`, one open of the image
/// for all of them); its standard output.
pub fn debugfs_all(img: &Path, cmds: &[&str]) -> String {
    String::from_utf8_lossy(&debugfs_script(img, false, cmds).stdout).into_owned()
}

/// Runs `cmds` in one `debugfs -w` (so that an edit and the checksum
/// fix-up after it share one open of the image); panics when debugfs
/// complains about any of them (it exits 0 on a failed request and says
/// so on stderr, after its version banner).
pub fn debugfs_w(img: &Path, cmds: &[&str]) {
    debugfs_w_text(img, cmds);
}

/// [`debugfs_w`], returning debugfs's standard output, where it echoes
/// each request before its answer.
pub fn debugfs_w_text(img: &Path, cmds: &[&str]) -> String {
    let out = debugfs_script(img, true, cmds);
    let err = String::from_utf8_lossy(&out.stderr);
    let complaints: Vec<&str> = err
        .lines()
        .filter(|l| !l.starts_with("debugfs ") && !l.trim().is_empty())
        .collect();
    assert!(
        out.status.success() && complaints.is_empty(),
        "debugfs -w {cmds:?}: {err}"
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `debugfs [-w] -f SCRIPT IMG` with `cmds` one per line in SCRIPT, with
/// no check of what debugfs said (for scripts that may fail on purpose,
/// such as the hostile tests' random damage).
pub fn debugfs_script(img: &Path, write: bool, cmds: &[&str]) -> std::process::Output {
    let script = img.with_extension("debugfs-cmds");
    std::fs::write(&script, cmds.join("\n") + "\n")
        .unwrap_or_else(|e| panic!("{}: {e}", script.display()));
    let mut cmd = Command::new("debugfs");
    if write {
        cmd.arg("-w");
    }
    let out = cmd
        .arg("-f")
        .arg(&script)
        .arg(img)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("debugfs: {e}"));
    let _ = std::fs::remove_file(&script);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_tool_is_not_installed() {
        assert!(!installed("fuse4fs-no-such-tool"));
    }

    #[test]
    fn a_missing_tool_fails_the_test_by_name() {
        let err = std::panic::catch_unwind(|| {
            require(&["sh", "fuse4fs-no-such-tool", "fuse4fs-nor-this-one"])
        })
        .expect_err("a missing tool fails");
        let text = err.downcast_ref::<String>().cloned().unwrap_or_default();
        assert_eq!(
            text,
            "this test needs fuse4fs-no-such-tool, fuse4fs-nor-this-one (not found): \
             scripts/install-deps installs them"
        );
        require(&["sh"]);
    }

    #[test]
    fn an_image_is_built_changed_and_judged() {
        require(&["mkfs.ext4", "debugfs", "e2fsck"]);
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("img");
        mkfs_ext4(&img, &["-b", "1024"], "4M");
        debugfs_w(&img, &["mkdir d", "write /dev/null d/f"]);
        assert!(debugfs(&img, "ls -p /d").contains("/f/"));
        let (code, text) = e2fsck(&img, "-fn");
        assert_eq!(code, 0, "{text}");
        assert!(
            !text.contains("e2fsck 1."),
            "the banner is left out: {text}"
        );
        // A request that fails is a complaint.
        let bad = std::panic::catch_unwind(|| debugfs_w(&img, &["rm /no-such-file"]));
        assert!(bad.is_err());
        // A wrong link count is seen by e2fsck.
        debugfs_rw(&img, "sif /d/f links_count 5");
        assert_eq!(e2fsck(&img, "-fn").0, 4);
    }
}
