//! `fuse4fs --recover` refuses clearly: nothing to adopt, or stored state
//! that names another image or mount point (the fds are handed over as
//! systemd does: fds 3 and 4, LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES).

use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use fuse4fs::recovery::state::{StateFile, StaticInfo};

use crate::common;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_fuse4fs")
}

#[test]
fn recover_without_stored_fds_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args(["--recover", "img", dir.path().to_str().unwrap()])
        .env_remove("LISTEN_FDS")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no stored /dev/fuse fd"), "{err}");
}

/// Runs `fuse4fs IMAGE MNT` with `state` as the stored state memfd (and
/// /dev/null standing in for the FUSE fd); returns (exit code, stderr).
fn recover_with(state: &StateFile, image: &Path, mnt: &Path) -> (Option<i32>, String) {
    let fuse = std::fs::File::open("/dev/null").unwrap();
    let (f, s) = (fuse.as_raw_fd(), state.fd().as_raw_fd());
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "LISTEN_PID=$$ exec \"$0\" \"$@\"", bin()])
        .arg(image)
        .arg(mnt)
        .env("LISTEN_FDS", "2")
        .env("LISTEN_FDNAMES", "fuse:state");
    // SAFETY: dup2 only, between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // Through high numbers first: either source may be fd 3 or 4.
            if libc::dup2(f, 100) < 0
                || libc::dup2(s, 101) < 0
                || libc::dup2(100, 3) < 0
                || libc::dup2(101, 4) < 0
            {
                return Err(std::io::Error::last_os_error());
            }
            libc::close(100);
            libc::close(101);
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn recover_refuses_another_image_or_mount_point() {
    common::require(&["mkfs.ext4"]);
    let dir = tempfile::tempdir().unwrap();
    let a = common::mkfs(dir.path(), &[], "8M");
    let b = dir.path().join("other.img");
    std::fs::copy(&a, &b).unwrap();
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let a = std::fs::canonicalize(&a).unwrap();
    let md = std::fs::metadata(&a).unwrap();
    let info = StaticInfo {
        image: a.clone(),
        image_dev: md.dev(),
        image_ino: md.ino(),
        mountpoint: std::fs::canonicalize(&mnt).unwrap(),
        options: vec!["rw".into()],
        negotiated: fuse4fs::fuse::Negotiated {
            format: fuse4fs::fuse::Negotiated::FORMAT,
            major: 7,
            minor: 45,
            ..Default::default()
        }
        .to_bytes(),
        ..Default::default()
    };
    let state = StateFile::create(&info).unwrap();

    let (code, err) = recover_with(&state, &b, &mnt);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("image: the stored state is for") && err.contains(a.to_str().unwrap()),
        "{err}"
    );
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let (code, err) = recover_with(&state, &a, &elsewhere);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("mount point: the stored state is for"),
        "{err}"
    );
    // The right image and mount point, but the UUID is not the state's
    // (all zero here): refused before anything is served.
    let (code, err) = recover_with(&state, &a, &mnt);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("filesystem UUID"), "{err}");
}
