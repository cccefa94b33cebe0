//! Multi-mount protection: the kernel's protocol for taking the MMP block
//! (with a stand-in for the waits that plays another node), the periodic
//! update and its takeover check, the clean release, adoption by a
//! restarted server, and a read-write open and unmount of an `-O mmp`
//! image as e2fsck and debugfs see it.

use std::cell::RefCell;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Duration;

use crate::common::{assert_fsck_clean, mkfs, run};
use fuse4fs::ext4::mmp::{self, MmpBlock};
use fuse4fs::ext4::superblock::{SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, Superblock};
use fuse4fs::fs::mount::mmp::{MmpError, MmpHolder, MmpStart};
use fuse4fs::fs::{Fs, FsOptions};
use zerocopy::FromZeros;

fn superblock(img: &Path) -> Superblock {
    let f = std::fs::File::open(img).unwrap();
    let mut raw = vec![0u8; SUPERBLOCK_SIZE];
    f.read_exact_at(&mut raw, SUPERBLOCK_OFFSET).unwrap();
    Superblock::parse(&raw).unwrap()
}

fn seed(sb: &Superblock) -> Option<u32> {
    sb.metadata_csum().then(|| sb.csum_seed())
}

/// The MMP block as on disk (checksum verified).
fn read_mmp(img: &Path) -> MmpBlock {
    let sb = superblock(img);
    let f = std::fs::File::open(img).unwrap();
    let mut raw = vec![0u8; mmp::MMP_SIZE];
    f.read_exact_at(&mut raw, sb.mmp_block * sb.block_size() as u64)
        .unwrap();
    MmpBlock::parse(&raw, seed(&sb)).unwrap()
}

/// Writes the MMP block as another node would.
fn write_mmp(img: &Path, seq: u32, node: &str) {
    let sb = superblock(img);
    let mut m = MmpBlock::new_zeroed();
    m.stamp(seq, 1_700_000_000, node, "sdz", 5);
    let f = std::fs::OpenOptions::new().write(true).open(img).unwrap();
    f.write_all_at(
        &m.to_bytes(seed(&sb)),
        sb.mmp_block * sb.block_size() as u64,
    )
    .unwrap();
}

fn mmp_image(dir: &Path, extra: &[&str]) -> std::path::PathBuf {
    let mut args = vec!["-O", "mmp"];
    args.extend_from_slice(extra);
    mkfs(dir, &args, "32M")
}

fn hostname() -> String {
    run("uname", &["-n"]).trim().to_string()
}

#[test]
fn a_clean_block_is_taken_at_once_and_names_this_node() {
    let dir = tempfile::tempdir().unwrap();
    let img = mmp_image(dir.path(), &[]);
    assert_eq!(read_mmp(&img).mmp_seq.get(), mmp::SEQ_CLEAN);
    let waits = RefCell::new(Vec::new());
    let h = MmpHolder::take(&img, MmpStart::Fresh, &|d| waits.borrow_mut().push(d))
        .unwrap()
        .expect("the image has mmp");
    // As the kernel: no wait before, and a zero one after writing.
    assert!(
        waits.borrow().iter().all(|d| d.is_zero()),
        "{:?}",
        waits.borrow()
    );
    let m = read_mmp(&img);
    assert_eq!(m.mmp_seq.get(), h.seq());
    assert!(h.seq() <= mmp::SEQ_MAX);
    assert_eq!((m.node(), m.device()), (hostname(), "img".to_string()));
    // debugfs reads what was written, checksum and all.
    let dump = run("debugfs", &["-R", "dump_mmp", img.to_str().unwrap()]);
    assert!(
        dump.contains(&format!("sequence: {:08x}", h.seq())),
        "{dump}"
    );
    assert!(!dump.to_lowercase().contains("checksum error"), "{dump}");
}

#[test]
fn a_sequence_that_moves_while_watched_refuses_the_mount() {
    let dir = tempfile::tempdir().unwrap();
    let img = mmp_image(dir.path(), &[]);
    write_mmp(&img, 0x1234, "other-node");
    let waits = RefCell::new(Vec::new());
    let r = MmpHolder::take(&img, MmpStart::Fresh, &|d| {
        waits.borrow_mut().push(d);
        // The other node is alive: it updates while we watch.
        write_mmp(&img, 0x1235, "other-node");
    });
    match r {
        Err(MmpError::InUse { node, .. }) => assert_eq!(node, "other-node"),
        other => panic!(
            "expected InUse, got {:?}",
            other.map(|h| h.map(|h| h.seq()))
        ),
    }
    // Watched for twice the check interval plus one second (the block
    // says 5, the superblock's update interval is 5).
    assert_eq!(*waits.borrow(), vec![Duration::from_secs(11)]);
    // Nothing of ours was written.
    assert_eq!(read_mmp(&img).mmp_seq.get(), 0x1235);
}

#[test]
fn a_silent_owner_is_taken_over_after_two_waits() {
    let dir = tempfile::tempdir().unwrap();
    let img = mmp_image(dir.path(), &[]);
    write_mmp(&img, 0x1234, "dead-node");
    let waits = RefCell::new(Vec::new());
    let h = MmpHolder::take(&img, MmpStart::Fresh, &|d| waits.borrow_mut().push(d))
        .unwrap()
        .unwrap();
    assert_eq!(
        *waits.borrow(),
        vec![Duration::from_secs(11), Duration::from_secs(11)]
    );
    assert_eq!(read_mmp(&img).node(), hostname());
    assert_eq!(read_mmp(&img).mmp_seq.get(), h.seq());
}

#[test]
fn a_node_that_writes_during_the_second_wait_wins() {
    let dir = tempfile::tempdir().unwrap();
    let img = mmp_image(dir.path(), &[]);
    let r = MmpHolder::take(&img, MmpStart::Fresh, &|_| {
        // Both started from a clean block; the other wrote last.
        write_mmp(&img, 77, "racer");
    });
    assert!(
        matches!(&r, Err(MmpError::InUse { node, .. }) if node == "racer"),
        "{:?}",
        r.map(|h| h.map(|h| h.seq()))
    );
}

#[test]
fn fsck_running_is_refused_without_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let img = mmp_image(dir.path(), &["-E", "mmp_update_interval=1"]);
    write_mmp(&img, mmp::SEQ_FSCK, "checker");
    let r = MmpHolder::take(&img, MmpStart::Fresh, &|_| panic!("no wait"));
    assert!(matches!(r, Err(MmpError::FsckRunning { .. })));
}

#[test]
fn updates_check_for_a_takeover_and_release_leaves_it_clean() {
    let dir = tempfile::tempdir().unwrap();
    let img = mmp_image(dir.path(), &["-E", "mmp_update_interval=1"]);
    let mut h = MmpHolder::take(&img, MmpStart::Fresh, &|_| {})
        .unwrap()
        .unwrap();
    let first = h.seq();
    std::thread::sleep(Duration::from_millis(1100));
    h.tick().unwrap();
    assert_ne!(h.seq(), first);
    assert_eq!(read_mmp(&img).mmp_seq.get(), h.seq());
    h.release().unwrap();
    assert_eq!(read_mmp(&img).mmp_seq.get(), mmp::SEQ_CLEAN);

    // Another node writes over a held block: the next update finds it,
    // stops, and the release leaves the other node's block alone.
    let mut h = MmpHolder::take(&img, MmpStart::Fresh, &|_| {})
        .unwrap()
        .unwrap();
    write_mmp(&img, 4242, "intruder");
    std::thread::sleep(Duration::from_millis(1100));
    assert!(matches!(h.tick(), Err(MmpError::TakenOver { node, .. }) if node == "intruder"));
    h.tick().unwrap();
    h.release().unwrap();
    let m = read_mmp(&img);
    assert_eq!((m.mmp_seq.get(), m.node()), (4242, "intruder".to_string()));
}

#[test]
fn nothing_is_written_before_the_interval() {
    let dir = tempfile::tempdir().unwrap();
    let img = mmp_image(dir.path(), &["-E", "mmp_update_interval=300"]);
    let mut h = MmpHolder::take(&img, MmpStart::Fresh, &|_| {})
        .unwrap()
        .unwrap();
    let first = h.seq();
    h.tick().unwrap();
    assert_eq!(read_mmp(&img).mmp_seq.get(), first);
}

#[test]
fn a_restarted_server_adopts_its_own_block_only() {
    let dir = tempfile::tempdir().unwrap();
    let img = mmp_image(dir.path(), &[]);
    let dead = MmpHolder::take(&img, MmpStart::Fresh, &|_| {})
        .unwrap()
        .unwrap();
    let h = MmpHolder::take(&img, MmpStart::Adopt, &|_| panic!("no wait"))
        .unwrap()
        .unwrap();
    assert_ne!(h.seq(), dead.seq());
    assert_eq!(read_mmp(&img).mmp_seq.get(), h.seq());
    write_mmp(&img, 99, "elsewhere");
    let r = MmpHolder::take(&img, MmpStart::Adopt, &|_| panic!("no wait"));
    assert!(matches!(r, Err(MmpError::TakenOver { node, .. }) if node == "elsewhere"));
}

#[test]
fn a_read_write_mount_holds_the_block_and_leaves_it_clean() {
    for extra in [&[][..], &["-O", "^metadata_csum", "-b", "1024"][..]] {
        let dir = tempfile::tempdir().unwrap();
        let img = mmp_image(dir.path(), extra);
        // Read-only: the block is not touched.
        let before = std::fs::read(&img).unwrap();
        drop(Fs::open(&img, &FsOptions::default()).unwrap());
        assert_eq!(std::fs::read(&img).unwrap(), before, "{extra:?}");
        let opts = FsOptions {
            writable: true,
            ..Default::default()
        };
        let fs = Fs::open(&img, &opts).unwrap();
        fs.mount_rw().unwrap();
        let seq = fs.mmp_seq().expect("held");
        assert_eq!(read_mmp(&img).mmp_seq.get(), seq, "{extra:?}");
        fs.unmount_clean().unwrap();
        drop(fs);
        assert_eq!(read_mmp(&img).mmp_seq.get(), mmp::SEQ_CLEAN, "{extra:?}");
        assert_fsck_clean(&img);
    }
}
