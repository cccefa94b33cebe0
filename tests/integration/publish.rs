//! Readers never see half a commit: while one thread grows a directory
//! (htree leaf and index splits, each a multi-block commit), others look
//! up names known to exist and list the directory, each under a read view
//! as the FUSE adapter takes it. A reader that saw a new index block before
//! the leaf it points to would miss a name or meet a "corrupt" block.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use fuse4fs::ext4::InodeNo;

use crate::common::{assert_fsck_clean, mkfs, open_rw, require, root_node};

fn name(i: usize) -> Vec<u8> {
    format!("entry-with-a-longish-name-{i:06}").into_bytes()
}

#[test]
fn readers_never_see_half_a_commit() {
    require(&["mkfs.ext4", "e2fsck"]);
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), &["-b", "1024", "-N", "20000"], "64M");
    let fs = open_rw(&img);
    fs.mount_rw().unwrap();
    let new = root_node;
    let d = fs
        .make_node(InodeNo::ROOT, b"d", &new(0o040755))
        .unwrap()
        .ino;
    let created = AtomicUsize::new(0);
    let done = AtomicBool::new(false);
    let failures = AtomicUsize::new(0);
    const N: usize = 8000;
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..N {
                fs.make_node(d, &name(i), &new(0o100644)).unwrap();
                created.store(i + 1, Ordering::Release);
            }
            done.store(true, Ordering::Release);
        });
        for r in 0..2 {
            let (fs, created, done, failures) = (&fs, &created, &done, &failures);
            s.spawn(move || {
                let mut k = r;
                while !done.load(Ordering::Acquire) {
                    let n = created.load(Ordering::Acquire);
                    if n == 0 {
                        continue;
                    }
                    k = (k * 7919 + 13) % n;
                    let _view = fs.read_view();
                    let dir = fs.inode(d).unwrap();
                    match fs.lookup(&dir, &name(k)) {
                        Ok(_) => {}
                        Err(e) => {
                            eprintln!("lookup of entry {k} of {n}: {e}");
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    if k % 50 == 0 {
                        let mut seen = 0usize;
                        if let Err(e) = fs.readdir(&dir, 0, |_| {
                            seen += 1;
                            true
                        }) {
                            eprintln!("readdir: {e}");
                            failures.fetch_add(1, Ordering::Relaxed);
                        } else if seen < n + 2 {
                            eprintln!("readdir listed {seen} of at least {}", n + 2);
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    assert_eq!(failures.load(Ordering::Relaxed), 0);
    fs.unmount_clean().unwrap();
    drop(fs);
    assert_fsck_clean(&img);
}
