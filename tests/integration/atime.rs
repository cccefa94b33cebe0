//! Access times on the filesystem: an update is held in memory (no log
//! write per read) and written with the inode's next change, a sync, an
//! fsync (with lazytime only its own inode's), never over an atime a
//! change set itself; relatime makes one update after a change; without a
//! journal the update is written at once.

use std::path::{Path, PathBuf};

use fuse4fs::ext4::InodeNo;
use fuse4fs::ext4::inode::Timestamp;
use fuse4fs::fs::Fs;
use fuse4fs::fs::atime::{AtimeMode, AtimePolicy};
use fuse4fs::fs::setattr::{Changes, SetTime};

use crate::common::{assert_fsck_clean, mkfs, open_rw, require};

const OLD: Timestamp = Timestamp {
    sec: 1_577_836_800,
    nsec: 0,
};
const MOD: Timestamp = Timestamp {
    sec: 1_609_459_200,
    nsec: 0,
};

fn image(dir: &Path) -> PathBuf {
    image_with(dir, &[])
}

fn image_with(dir: &Path, extra: &[&str]) -> PathBuf {
    require(&["mkfs.ext4", "e2fsck"]);
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    for n in ["f", "g"] {
        std::fs::write(src.join(n), "contents").unwrap();
    }
    let mut args = vec!["-b", "4096", "-d", src.to_str().unwrap()];
    args.extend_from_slice(extra);
    mkfs(dir, &args, "16M")
}

/// Inode `name`, its atime set before its mtime.
fn file(fs: &Fs, name: &str) -> InodeNo {
    let root = fs.inode(InodeNo::ROOT).unwrap();
    let ino = fs.lookup(&root, name.as_bytes()).unwrap().ino;
    let c = Changes {
        atime: Some(SetTime::At(OLD)),
        mtime: Some(SetTime::At(MOD)),
        ..Default::default()
    };
    fs.setattr(ino, &c).unwrap();
    ino
}

#[test]
fn relatime_holds_one_update_until_a_sync() {
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path());
    let fs = open_rw(&img);
    fs.mount_rw().unwrap();
    let f = file(&fs, "f");
    let g = file(&fs, "g");
    let inode = fs.inode(f).unwrap();
    fs.note_access(&inode).unwrap();
    let held = fs
        .held_atime(&inode)
        .expect("relatime: atime before mtime is updated");
    assert_eq!(fs.inode(f).unwrap().atime, OLD, "held, not logged");
    // Now after mtime and ctime, and recent: left alone.
    fs.note_access(&inode).unwrap();
    assert_eq!(fs.held_atime(&inode), Some(held));
    // Without lazytime an fsync of any inode takes every held update (as
    // ext4's commit of its running transaction).
    let g_inode = fs.inode(g).unwrap();
    fs.note_access(&g_inode).unwrap();
    fs.sync_inode(g).unwrap();
    assert_eq!(fs.inode(f).unwrap().atime, held);
    assert_ne!(fs.inode(g).unwrap().atime, OLD);
    assert_eq!(fs.held_atime(&fs.inode(f).unwrap()), None);

    fs.set_atime_policy(AtimePolicy {
        mode: AtimeMode::Never,
        ..Default::default()
    });
    let g = file(&fs, "g");
    let g_inode = fs.inode(g).unwrap();
    fs.note_access(&g_inode).unwrap();
    assert_eq!(fs.held_atime(&g_inode), None, "noatime");
    fs.unmount_clean().unwrap();
    drop(fs);
    assert_fsck_clean(&img);
    assert_eq!(open_rw(&img).inode(g).unwrap().atime, OLD);
}

#[test]
fn without_a_journal_the_update_is_written_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let img = image_with(dir.path(), &["-O", "^has_journal"]);
    let fs = open_rw(&img);
    fs.mount_rw().unwrap();
    let f = file(&fs, "f");
    let inode = fs.inode(f).unwrap();
    fs.note_access(&inode).unwrap();
    assert_eq!(fs.held_atime(&inode), None);
    assert_ne!(fs.inode(f).unwrap().atime, OLD);
    fs.unmount_clean().unwrap();
    drop(fs);
    assert_fsck_clean(&img);
}

#[test]
fn lazytime_holds_updates_until_a_change_or_a_sync() {
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path());
    let fs = open_rw(&img);
    fs.mount_rw().unwrap();
    fs.set_atime_policy(AtimePolicy {
        lazytime: true,
        ..Default::default()
    });
    let f = file(&fs, "f");
    let g = file(&fs, "g");
    let inode = fs.inode(f).unwrap();
    fs.note_access(&inode).unwrap();
    assert_eq!(fs.inode(f).unwrap().atime, OLD, "held, not written");
    let held = fs.held_atime(&inode).expect("an update is held");
    assert!(held.sec > OLD.sec);
    // Another read keeps the held time (relatime: now after mtime).
    fs.note_access(&inode).unwrap();
    assert_eq!(fs.held_atime(&inode), Some(held));

    // A change of the inode carries the held atime with it.
    let chmod = Changes {
        mode: Some(0o600),
        ..Default::default()
    };
    fs.setattr(f, &chmod).unwrap();
    let written = fs.inode(f).unwrap();
    assert_eq!(written.atime, held);
    assert_eq!(fs.held_atime(&written), None);

    // An fsync of another inode leaves g's held; a sync writes it.
    let g_inode = fs.inode(g).unwrap();
    fs.note_access(&g_inode).unwrap();
    fs.sync_inode(f).unwrap();
    assert_eq!(fs.inode(g).unwrap().atime, OLD);
    let g_held = fs.held_atime(&g_inode).unwrap();
    fs.sync_inode(g).unwrap();
    assert_eq!(fs.inode(g).unwrap().atime, g_held);

    // A change that sets atime itself wins over a held update.
    let f_inode = fs.inode(f).unwrap();
    let c = Changes {
        atime: Some(SetTime::At(OLD)),
        mtime: Some(SetTime::At(MOD)),
        ..Default::default()
    };
    fs.setattr(f, &c).unwrap();
    let f_inode2 = fs.inode(f).unwrap();
    fs.note_access(&f_inode2).unwrap();
    assert!(fs.held_atime(&f_inode2).is_some());
    let touch = Changes {
        atime: Some(SetTime::At(MOD)),
        ..Default::default()
    };
    fs.setattr(f, &touch).unwrap();
    let after = fs.inode(f).unwrap();
    assert_eq!(after.atime, MOD, "the explicit atime stays");
    assert_eq!(fs.held_atime(&after), None);
    assert_ne!(f_inode.atime, after.atime);

    // Whatever is held at unmount is written.
    let g = file(&fs, "g");
    let g_inode = fs.inode(g).unwrap();
    fs.note_access(&g_inode).unwrap();
    let g_held = fs.held_atime(&g_inode).unwrap();
    assert_eq!(fs.inode(g).unwrap().atime, OLD);
    fs.unmount_clean().unwrap();
    drop(fs);
    assert_fsck_clean(&img);
    let fs = open_rw(&img);
    assert_eq!(fs.inode(g).unwrap().atime, g_held);
}

/// What a recovering server tells the kernel about the nodes it holds
/// (`Fs::survey_held`): a node whose atime a read would set (relatime:
/// atime before mtime) may have had an update the dead server held in
/// memory only; one whose atime is after its mtime and ctime cannot
/// have; directories are found as such; a wrong generation is stale.
#[test]
fn survey_finds_pending_atimes_directories_and_stale_nodes() {
    use fuse4fs::ext4::Generation;
    use fuse4fs::fs::inode::HeldState;

    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path());
    let fs = open_rw(&img);
    fs.mount_rw().unwrap();
    let f = file(&fs, "f");
    let root = fs.inode(InodeNo::ROOT).unwrap();
    let g = fs.lookup(&root, b"g").unwrap().ino;
    let future = Timestamp {
        sec: 4_102_444_800,
        nsec: 0,
    };
    let c = Changes {
        atime: Some(SetTime::At(future)),
        ..Default::default()
    };
    fs.setattr(g, &c).unwrap();
    let gen_f = fs.inode(f).unwrap().generation;
    let gen_g = fs.inode(g).unwrap().generation;
    let nodes = [
        (InodeNo::ROOT, None),
        (f, Some(gen_f)),
        (g, Some(gen_g)),
        (g, Some(Generation(gen_g.0.wrapping_add(1)))),
    ];
    let got: Vec<_> = fs
        .survey_held(&nodes)
        .into_iter()
        .map(|h| (h.ino, h.state))
        .collect();
    let live = |dir, atime_pending| HeldState::Live { dir, atime_pending };
    assert!(
        got.iter().any(|&(ino, state)| ino == InodeNo::ROOT
            && matches!(state, HeldState::Live { dir: true, .. })),
        "{got:?}"
    );
    assert!(got.contains(&(f, live(false, true))), "{got:?}");
    assert!(got.contains(&(g, live(false, false))), "{got:?}");
    assert!(got.contains(&(g, HeldState::Stale)), "{got:?}");
    assert_eq!(got.len(), 4);
    drop(fs);
    assert_fsck_clean(&img);
}
