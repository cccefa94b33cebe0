//! A hostile i_size must not make a walk over holes slow: directories and
//! files whose size claims far more blocks than they have are skipped in
//! steps of whole unmapped subtrees (extent gaps, zero indirect pointers).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use fuse4fs::fs::file::SeekWhat;
use fuse4fs::fs::{Fs, FsOptions};
use fuse4fs_testkit::e2fs::require;

fn run(cmd: &str, args: &[&str]) {
    fuse4fs_testkit::e2fs::run(Command::new(cmd).args(args));
}

/// Builds an image with a small directory and a small file, then inflates
/// the file's size to 2^40 bytes and the directory's to just under 4 GiB
/// (directories keep only the low 32 bits of i_size without large_dir).
fn image(dir: &Path, kind: &[&str]) -> std::path::PathBuf {
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("d")).unwrap();
    for i in 0..20 {
        std::fs::write(src.join("d").join(format!("f{i}")), b"x").unwrap();
    }
    std::fs::write(src.join("file"), vec![7u8; 5000]).unwrap();
    let img = dir.join("img");
    let mut args = vec!["-q", "-F", "-b", "1024"];
    args.extend_from_slice(kind);
    let (src_s, img_s) = (src.to_str().unwrap(), img.to_str().unwrap());
    args.extend_from_slice(&["-d", src_s, img_s, "8M"]);
    run("mkfs.ext4", &args);
    run(
        "debugfs",
        &["-w", "-R", "sif /file size 0x10000000000", img_s],
    );
    run("debugfs", &["-w", "-R", "sif /d size 0xfffff000", img_s]);
    img
}

fn check(kind: &[&str]) {
    require(&["mkfs.ext4", "debugfs"]);
    let dir = tempfile::tempdir().unwrap();
    let fs = Fs::open(&image(dir.path(), kind), &FsOptions::default()).unwrap();
    let root = fs.inode(fuse4fs::ext4::InodeNo::ROOT).unwrap();
    let start = Instant::now();

    let d = fs.inode(fs.lookup(&root, b"d").unwrap().ino).unwrap();
    let mut names = 0;
    fs.readdir(&d, 0, |_| {
        names += 1;
        true
    })
    .unwrap();
    assert_eq!(names, 22, "20 files plus . and ..");

    let f = fs.inode(fs.lookup(&root, b"file").unwrap().ino).unwrap();
    assert_eq!(fs.read(&f, 0, 5000).unwrap(), vec![7u8; 5000]);
    assert_eq!(fs.read(&f, 1 << 39, 4096).unwrap(), vec![0u8; 4096]);
    assert_eq!(fs.seek(&f, 0, SeekWhat::Hole).unwrap(), 5120);
    assert!(
        fs.seek(&f, 8192, SeekWhat::Data).is_err(),
        "no data after the first blocks"
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn block_mapped_holes_are_skipped_whole() {
    check(&["-t", "ext2"]);
}

#[test]
fn extent_holes_are_skipped_whole() {
    check(&["-t", "ext4"]);
}
