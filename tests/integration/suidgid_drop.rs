//! Setuid/setgid after a change of data by a caller without CAP_FSETID,
//! through the FUSE adapter, as kernel ext4 leaves them: setuid always
//! goes; setgid goes when the file is group-executable or the caller is
//! outside the file's group, and stays for a member of the group on a
//! file without group execute. With FUSE_HANDLE_KILLPRIV_V2 the kernel
//! leaves all of it to the server (and sends no flag with FALLOCATE).
//! A setgid file without group execute (2666) written or fallocated by a
//! user outside its group kept its setgid bit.

use std::time::Duration;

use fuse4fs::fuse::abi::{open_in_flags, write_flags};
use fuse4fs::fuse::adapter::Ext4Adapter;
use fuse4fs::fuse::ops::{FileHandle, FuseOps, NodeId, RequestCtx, RequestId, SetAttr};

use crate::common::{mkfs, open_rw, require, root_ctx};

const ROOT: NodeId = NodeId::ROOT;
const FALLOC_FL_KEEP_SIZE: u32 = 1;
const FALLOC_FL_PUNCH_HOLE: u32 = 2;
const FALLOC_FL_ZERO_RANGE: u32 = 0x10;

/// A plain user (uid 1000, gid 1000, no supplementary groups, no
/// capabilities: pid 0 makes the adapter judge by the header alone).
fn user() -> RequestCtx {
    RequestCtx {
        unique: RequestId(1),
        uid: 1000,
        gid: 1000,
        pid: 0,
    }
}

/// One change of data by `user()` on the open file `(nodeid, fh)`.
#[derive(Debug, Clone, Copy)]
enum Op {
    Fallocate(u32),
    Write,
    Truncate,
    OpenTrunc,
    CopyTo,
}

fn apply(a: &Ext4Adapter, op: Op, nodeid: NodeId, fh: FileHandle, src: (NodeId, FileHandle)) {
    let u = user();
    match op {
        Op::Fallocate(mode) => a.fallocate(&u, nodeid, fh, 0, 8192, mode).unwrap(),
        Op::Write => {
            let kill = write_flags::FUSE_WRITE_KILL_SUIDGID;
            a.write(&u, nodeid, fh, 0, b"data", kill, 0).unwrap();
        }
        Op::Truncate => {
            let set = SetAttr {
                size: Some(10),
                fh: Some(fh),
                kill_suidgid: true,
                ..Default::default()
            };
            a.setattr(&u, nodeid, &set).unwrap();
        }
        Op::OpenTrunc => {
            let flags = (libc::O_WRONLY | libc::O_TRUNC) as u32;
            let o = a
                .open(&u, nodeid, flags, open_in_flags::FUSE_OPEN_KILL_SUIDGID)
                .unwrap();
            a.release(&u, nodeid, o.fh, flags).unwrap();
        }
        Op::CopyTo => {
            let n = a
                .copy_file_range(&u, src.0, src.1, 0, nodeid, fh, 0, 4, 0)
                .unwrap();
            assert_eq!(n, 4);
        }
    }
}

#[test]
fn a_change_of_data_drops_setuid_and_setgid_as_ext4_does() {
    require(&["mkfs.ext4"]);
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), &["-b", "4096"], "32M");
    let a = Ext4Adapter::new(open_rw(&img), Duration::from_secs(1));
    let root = root_ctx();
    let rw = libc::O_RDWR as u32;
    let (s, so) = a.create(&root, ROOT, b"src", 0o644, 0, rw).unwrap();
    a.write(&root, s.nodeid, so.fh, 0, b"0123456789", 0, 0)
        .unwrap();
    let ops = [
        Op::Fallocate(0),
        Op::Fallocate(FALLOC_FL_KEEP_SIZE),
        Op::Fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE),
        Op::Fallocate(FALLOC_FL_ZERO_RANGE),
        Op::Write,
        Op::Truncate,
        Op::OpenTrunc,
        Op::CopyTo,
    ];
    // (mode, the file's group, the mode the change leaves): the user is
    // in group 1000 only.
    let cases = [
        (0o2666, 0, 0o0666),
        (0o2666, 1000, 0o2666),
        (0o4777, 0, 0o0777),
        (0o6777, 0, 0o0777),
        (0o6777, 1000, 0o0777),
        (0o6666, 0, 0o0666),
        (0o6666, 1000, 0o2666),
        (0o0666, 0, 0o0666),
    ];
    let mut wrong = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        for (j, &(mode, gid, want)) in cases.iter().enumerate() {
            let name = format!("f{i}-{j}");
            let (e, o) = a
                .create(&root, ROOT, name.as_bytes(), 0o644, 0, rw)
                .unwrap();
            let set = SetAttr {
                mode: Some(mode),
                gid: Some(gid),
                ..Default::default()
            };
            a.setattr(&root, e.nodeid, &set).unwrap();
            // The chown dropped nothing the mode then set.
            let (before, _) = a.getattr(&root, e.nodeid, None).unwrap();
            assert_eq!(before.mode & 0o7777, mode, "{name} set up");
            apply(&a, *op, e.nodeid, o.fh, (s.nodeid, so.fh));
            let (after, _) = a.getattr(&root, e.nodeid, None).unwrap();
            if after.mode & 0o7777 != want {
                wrong.push(format!(
                    "{op:?} on {mode:o} group {gid}: {:o}, ext4 leaves {want:o}",
                    after.mode & 0o7777
                ));
            }
            a.release(&root, e.nodeid, o.fh, rw).unwrap();
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
