//! The binary's flags and exit codes (e2fsck's): 16 for wrong usage, 8
//! when the check cannot run, 0 for a clean image.

use std::process::Command;

fn fsck(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fuse4fs-fsck"))
        .args(args)
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn usage_errors_exit_16() {
    let (rc, text) = fsck(&["img"]);
    assert_eq!(rc, 16, "{text}");
    assert!(text.contains("give -n"), "{text}");
    let (rc, text) = fsck(&["-n", "-y", "img"]);
    assert_eq!(rc, 16, "{text}");
    let (rc, _) = fsck(&["-n", "--no-such-flag", "img"]);
    assert_eq!(rc, 16);
}

#[test]
fn what_cannot_be_checked_exits_8_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.img");
    let (rc, text) = fsck(&["-fn", missing.to_str().unwrap()]);
    assert_eq!(rc, 8, "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");
    let junk = dir.path().join("junk.img");
    std::fs::write(&junk, vec![0x5Au8; 1 << 20]).unwrap();
    let (rc, text) = fsck(&["-fy", junk.to_str().unwrap()]);
    assert_eq!(rc, 8, "{text}");
    assert_eq!(std::fs::read(&junk).unwrap(), vec![0x5Au8; 1 << 20]);
}

#[test]
fn a_fresh_image_is_clean() {
    fuse4fs_testkit::e2fs::require(&["mkfs.ext4"]);
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("img");
    let ok = Command::new("mkfs.ext4")
        .args(["-q", "-F"])
        .arg(&img)
        .arg("8M")
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let img = img.to_str().unwrap();
    let (rc, text) = fsck(&["-n", img]);
    assert_eq!(rc, 0, "{text}");
    assert!(text.contains("clean"), "{text}");
    let (rc, text) = fsck(&["-fp", img]);
    assert_eq!(rc, 0, "{text}");
    let (rc, text) = fsck(&["-fnv", img]);
    assert_eq!(rc, 0, "{text}");
    assert!(text.contains("Pass 5"), "{text}");
    assert!(
        text.contains("directories"),
        "-v lists what the filesystem holds: {text}"
    );
    let (_, text) = fsck(&["-fn", img]);
    assert!(!text.contains("directories"), "{text}");
}

#[test]
fn unknown_ro_compat_is_checked_but_not_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("img");
    let ok = Command::new("mkfs.ext4")
        .args(["-q", "-F", "-O", "^metadata_csum"])
        .arg(&img)
        .arg("8M")
        .status()
        .expect("mkfs.ext4 (e2fsprogs) must be installed: scripts/install-deps")
        .success();
    assert!(ok);
    // ro_compat bit 20, unknown to every tool here (no metadata_csum: no
    // superblock checksum to reseal).
    let mut raw = std::fs::read(&img).unwrap();
    let at = 1024 + 0x64;
    let v = u32::from_le_bytes(raw[at..at + 4].try_into().unwrap()) | 1 << 20;
    raw[at..at + 4].copy_from_slice(&v.to_le_bytes());
    std::fs::write(&img, &raw).unwrap();
    let p = img.to_str().unwrap();
    let (rc, text) = fsck(&["-fn", p]);
    assert_eq!(rc, 0, "{text}");
    let (rc, text) = fsck(&["-fy", p]);
    assert_eq!(rc, 8, "{text}");
    assert!(text.contains("0x100000"), "{text}");
    assert_eq!(std::fs::read(&img).unwrap(), raw, "-y wrote to the image");
}

#[test]
fn bigalloc_is_refused_by_name_without_checking() {
    // Every pass counts blocks where bigalloc counts clusters: a check
    // would call a good image damaged, so the checker says it cannot.
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("bigalloc.img");
    let st = Command::new("mkfs.ext4")
        .args(["-q", "-F", "-O", "bigalloc", "-C", "16384"])
        .arg(&img)
        .arg("32M")
        .status()
        .expect("mkfs.ext4 is needed (scripts/install-deps)");
    assert!(st.success());
    let before = std::fs::read(&img).unwrap();
    for flag in ["-fn", "-fy", "-p"] {
        let (rc, text) = fsck(&[flag, img.to_str().unwrap()]);
        assert_eq!(rc, 8, "{flag}: {text}");
        assert_eq!(text.lines().count(), 1, "{flag}: {text}");
        assert!(text.contains("bigalloc"), "{flag}: {text}");
    }
    assert!(std::fs::read(&img).unwrap() == before, "the image changed");
}
