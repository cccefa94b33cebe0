//! scripts/mount.fuse.fuse4fs in its dry-run mode (FUSE4FS_MOUNT_DRY_RUN):
//! which options reach fuse4fs, how mount(8)'s flags are read, and what the
//! systemd way writes and starts.

use std::path::Path;
use std::process::Command;

/// Runs the helper under `sh` (dash on Debian: POSIX only) and returns
/// (exit code, stdout, stderr).
fn helper(way: &str, args: &[&str]) -> (i32, String, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mount.fuse.fuse4fs");
    let out = Command::new("sh")
        .arg(script)
        .args(args)
        .env("FUSE4FS_MOUNT_DRY_RUN", way)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The `-o` value of the fuse4fs command line the helper would run.
fn passed_options(opts: &str) -> Option<String> {
    let (code, out, err) = helper("supervise", &["/img/a.img", "/mnt/a", "-o", opts]);
    assert_eq!(code, 0, "{err}");
    let line = out.trim_end();
    let prefix = "'/usr/local/bin/fuse4fs' '--supervise' ";
    let rest = line
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{line}"));
    if rest == "'/img/a.img' '/mnt/a'" {
        return None;
    }
    let o = rest
        .strip_prefix("'-o' '")
        .and_then(|r| r.strip_suffix("' '/img/a.img' '/mnt/a'"))
        .unwrap_or_else(|| panic!("{line}"));
    Some(o.to_string())
}

#[test]
fn drops_what_only_mount_and_fstab_use() {
    for o in [
        "auto",
        "noauto",
        "user",
        "users",
        "nouser",
        "owner",
        "nofail",
        "_netdev",
        "x-systemd.automount",
        "x-gvfs-show",
        "comment=systemd.automount",
        "user=bob",
    ] {
        assert_eq!(passed_options(o).as_deref(), Some("suid,dev"), "{o}");
        assert_eq!(
            passed_options(&format!("{o},acl")).as_deref(),
            Some("acl,suid,dev"),
            "{o} with acl"
        );
    }
}

#[test]
fn passes_the_mount_flags() {
    // An fstab line's flags reach fuse4fs as written.
    for kept in [
        "rw,nosuid,nodev,noatime",
        "ro,nodev,noexec,suid,strictatime",
        "defaults,sync,dirsync,nodiratime,lazytime,relatime",
        "dev,suid,exec,async,atime,diratime",
    ] {
        assert_eq!(passed_options(kept).as_deref(), Some(kept));
    }
    // mount(8) leaves suid and dev out (its defaults): asked for again
    // unless the options decide, as mount.fuse3 does.
    assert_eq!(
        passed_options("noexec,noatime").as_deref(),
        Some("noexec,noatime,suid,dev")
    );
    assert_eq!(passed_options("nosuid").as_deref(), Some("nosuid,dev"));
    assert_eq!(passed_options("nodev").as_deref(), Some("nodev,suid"));
}

#[test]
fn keeps_what_fuse4fs_takes_in_order() {
    let kept = "rw,allow_other,errors=remount-ro,fsname=x,commit=5,ro";
    assert_eq!(
        passed_options(kept).as_deref(),
        Some(format!("{kept},suid,dev").as_str())
    );
    assert_eq!(
        passed_options("defaults,ro,noauto,user,acl,x-a=b,nodev,nosuid,max_read=4096,_netdev")
            .as_deref(),
        Some("defaults,ro,acl,nodev,nosuid,max_read=4096")
    );
    // Which partition of a whole-disk image: to fuse4fs, so that an
    // fstab line or the unit (and every restart of it) serves the same one.
    assert_eq!(
        passed_options("partition=2,noauto").as_deref(),
        Some("partition=2,suid,dev")
    );
    assert_eq!(
        passed_options("offset=1048576").as_deref(),
        Some("offset=1048576,suid,dev")
    );
    // A value that merely contains a dropped word stays.
    assert_eq!(
        passed_options("fsname=noauto,subtype=user,nosuid,nodev").as_deref(),
        Some("fsname=noauto,subtype=user,nosuid,nodev")
    );
}

#[test]
fn reads_mounts_flags_and_repeated_options() {
    let (code, out, err) = helper(
        "supervise",
        &[
            "/img/a b.img",
            "/mnt/it's",
            "-sfnv",
            "-o",
            "ro,noauto",
            "-t",
            "fuse.fuse4fs",
            "-oacl",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "'/usr/local/bin/fuse4fs' '--supervise' '-o' 'ro,acl,suid,dev' '/img/a b.img' '/mnt/it'\\''s'\n"
    );
    let (code, out, err) = helper("supervise", &["/img/a.img", "/mnt/a", "-q"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err, "mount.fuse.fuse4fs: unknown flag -q\n");
    let (code, _, err) = helper("supervise", &["/img/a.img"]);
    assert_eq!(code, 1);
    assert!(err.contains("usage"), "{err}");
}

#[test]
fn systemd_way_writes_the_environment_and_starts_the_unit() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt x");
    std::fs::create_dir(&mnt).unwrap();
    let img = dir.path().join("a\"b.img");
    std::fs::write(&img, b"").unwrap();
    let (code, out, err) = helper(
        "systemd",
        &[
            img.to_str().unwrap(),
            mnt.to_str().unwrap(),
            "-o",
            "defaults,acl,noauto,fsname=a\\b",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let inst = String::from_utf8(
        Command::new("systemd-escape")
            .args(["-p", mnt.to_str().unwrap()])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let inst = inst.trim_end();
    assert!(inst.contains("mnt\\x20x"), "{inst}");
    let img_q = img.to_str().unwrap().replace('"', "\\\"");
    assert_eq!(
        out,
        format!(
            "/run/fuse4fs{}.env:\n\
             FUSE4FS_IMAGE=\"{img_q}\"\n\
             FUSE4FS_MOUNTPOINT=\"{}\"\n\
             FUSE4FS_OPTIONS=\"defaults,acl,fsname=a\\\\b\"\n\
             'systemctl' 'start' 'fuse4fs@{inst}.service'\n",
            mnt.display(),
            mnt.display()
        )
    );
    // The unit needs the mount point's real path to name itself.
    let (code, _, err) = helper("systemd", &["/img/a.img", "/no/such/dir"]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "mount.fuse.fuse4fs: mountpoint /no/such/dir: not found\n"
    );
}
