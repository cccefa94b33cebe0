//! Namespace operations racing on a few names, through the FUSE adapter
//! as the kernel drives it: node ids remembered from earlier lookups (so
//! often stale), files held open across unlinks, links, renames (plain,
//! NOREPLACE, EXCHANGE, WHITEOUT) over files and directories, mkdir, rmdir,
//! symlinks, and calls by path (truncate, chmod, setxattr). Every error
//! must be one the races explain; afterwards every name leads to a live
//! inode and e2fsck finds the image clean.
//!
//! The concurrent soak (xtests rw/030) once left a name on a freed inode:
//! a truncate by path checked its node id, then (before it took the
//! inode's lock) the file was unlinked and freed and a create took the
//! number; the truncate then wrote the freed inode over the new one. The
//! race test reaches that in a second; the others pin each call's check.

use std::sync::Arc;
use std::time::Duration;

use fuse4fs::ext4::InodeNo;
use fuse4fs::fs::setattr::Changes;
use fuse4fs::fs::xattr::write::SetMode;
use fuse4fs::fs::{FsError, InodeRef};
use fuse4fs::fuse::adapter::Ext4Adapter;
use fuse4fs::fuse::ops::{
    Entry, Errno, FileHandle, FuseOps, NodeId, OpResult, RequestCtx, SetAttr,
};

use crate::common::{assert_fsck_clean, fsck, mkfs, open_rw, require, root_ctx as ctx, root_node};

const ROOT: NodeId = NodeId::ROOT;
const DIRS: usize = 3;
const NAMES: u32 = 6;

/// A lookup as the kernel takes it: a negative entry (node id 0, a miss
/// the kernel may cache) is ENOENT.
fn lookup(a: &Ext4Adapter, c: &RequestCtx, dir: NodeId, name: &[u8]) -> OpResult<Entry> {
    a.lookup(c, dir, name).and_then(|e| {
        if e.is_negative() {
            Err(Errno(libc::ENOENT))
        } else {
            Ok(e)
        }
    })
}

/// Errors the races explain (a name taken or gone, a node id outlived by
/// its inode, a directory where a file was meant or the reverse, a
/// directory filled meanwhile, a hard link to a directory).
const EXPECTED: &[i32] = &[
    libc::EEXIST,
    libc::ENOENT,
    libc::ESTALE,
    libc::ENOTEMPTY,
    libc::EISDIR,
    libc::ENOTDIR,
    libc::EPERM,
];

struct Churn<'a> {
    a: &'a Ext4Adapter,
    dirs: &'a [NodeId],
    rng: fastrand::Rng,
    /// Node ids this thread looked up, as the kernel's dentry cache keeps
    /// them: they may outlive their inode.
    seen: Vec<NodeId>,
    /// Open files: (node id, handle).
    open: Vec<(NodeId, FileHandle)>,
}

impl Churn<'_> {
    fn place(&mut self) -> (NodeId, Vec<u8>) {
        let d = self.dirs[self.rng.usize(..self.dirs.len())];
        (d, format!("n{}", self.rng.u32(..NAMES)).into_bytes())
    }

    fn remember(&mut self, nodeid: NodeId) {
        if self.seen.len() >= 16 {
            let i = self.rng.usize(..self.seen.len());
            self.seen.swap_remove(i);
        }
        self.seen.push(nodeid);
    }

    fn some_seen(&mut self) -> Option<NodeId> {
        (!self.seen.is_empty()).then(|| self.seen[self.rng.usize(..self.seen.len())])
    }

    /// One random operation; its error, if any.
    fn step(&mut self) -> Result<(), (&'static str, Errno)> {
        let a = self.a;
        let c = ctx();
        let (d, n) = self.place();
        match self.rng.u8(..15) {
            0 => {
                let (e, open) = a
                    .create(&c, d, &n, 0o644, 0, libc::O_RDWR as u32)
                    .map_err(|e| ("create", e))?;
                self.remember(e.nodeid);
                a.write(&c, e.nodeid, open.fh, 0, b"data", 0, 0)
                    .map_err(|e| ("write", e))?;
                if self.rng.bool() && self.open.len() < 4 {
                    self.open.push((e.nodeid, open.fh));
                } else {
                    a.release(&c, e.nodeid, open.fh, 0)
                        .map_err(|e| ("release", e))?;
                }
            }
            1 => {
                let e = lookup(a, &c, d, &n).map_err(|e| ("lookup", e))?;
                self.remember(e.nodeid);
            }
            2 => {
                if let Some(node) = self.some_seen() {
                    let e = a.link(&c, node, d, &n).map_err(|e| ("link", e))?;
                    self.remember(e.nodeid);
                }
            }
            3 => a.unlink(&c, d, &n).map_err(|e| ("unlink", e))?,
            4 | 5 => {
                let (d2, n2) = self.place();
                // Plain, NOREPLACE, EXCHANGE, WHITEOUT, WHITEOUT|NOREPLACE.
                let flags = [0, 0, 1, 2, 4, 5][self.rng.usize(..6)];
                a.rename(&c, d, &n, d2, &n2, flags)
                    .map_err(|e| ("rename", e))?;
            }
            6 => {
                let e = a.mkdir(&c, d, &n, 0o755, 0).map_err(|e| ("mkdir", e))?;
                self.remember(e.nodeid);
            }
            7 => a.rmdir(&c, d, &n).map_err(|e| ("rmdir", e))?,
            8 => {
                let e = a
                    .symlink(&c, d, &n, b"../d0/n1")
                    .map_err(|e| ("symlink", e))?;
                self.remember(e.nodeid);
            }
            9 => {
                if let Some(node) = self.some_seen()
                    && self.open.len() < 4
                {
                    let open = a
                        .open(&c, node, libc::O_RDWR as u32, 0)
                        .map_err(|e| ("open", e))?;
                    self.open.push((node, open.fh));
                }
            }
            // Calls by path (truncate(2), chmod(2), setxattr(2)) reach the
            // server as a node id the inode may have outlived.
            11 => {
                if let Some(node) = self.some_seen() {
                    let set = SetAttr {
                        size: Some(self.rng.u64(..20_000)),
                        ..Default::default()
                    };
                    a.setattr(&c, node, &set).map_err(|e| ("truncate", e))?;
                }
            }
            12 => {
                if let Some(node) = self.some_seen() {
                    let set = SetAttr {
                        mode: Some(0o600),
                        ..Default::default()
                    };
                    a.setattr(&c, node, &set).map_err(|e| ("chmod", e))?;
                }
            }
            13 => {
                if let Some(node) = self.some_seen() {
                    let value = vec![b'v'; self.rng.usize(1..300)];
                    a.setxattr(&c, node, b"user.x", &value, 0, 0)
                        .map_err(|e| ("setxattr", e))?;
                }
            }
            _ => {
                if !self.open.is_empty() {
                    let (node, fh) = self.open.swap_remove(self.rng.usize(..self.open.len()));
                    a.release(&c, node, fh, 0).map_err(|e| ("release", e))?;
                }
            }
        }
        Ok(())
    }
}

/// One thread: `rounds` operations; panics on an error no race explains.
fn churn(a: &Ext4Adapter, dirs: &[NodeId], seed: u64, rounds: u32) {
    let mut me = Churn {
        a,
        dirs,
        rng: fastrand::Rng::with_seed(seed),
        seen: Vec::new(),
        open: Vec::new(),
    };
    for _ in 0..rounds {
        // Only a symlink's size cannot be set (the kernel follows them).
        if let Err((op, e)) = me.step()
            && !EXPECTED.contains(&e.0)
            && !(op == "truncate" && e.0 == libc::EINVAL)
        {
            panic!("seed {seed}: {op}: unexpected {e:?}");
        }
    }
    for (node, fh) in me.open.drain(..) {
        a.release(&ctx(), node, fh, 0).unwrap();
    }
}

/// Every name in the test directories leads to an inode with links.
fn check_names(a: &Ext4Adapter, dirs: &[NodeId]) {
    for &d in dirs {
        for k in 0..NAMES {
            let n = format!("n{k}");
            match lookup(a, &ctx(), d, n.as_bytes()) {
                Ok(e) => assert!(e.attr.nlink > 0, "{d}/{n} leads to an inode without links"),
                Err(Errno(libc::ENOENT)) => {}
                Err(e) => panic!("{d}/{n}: {e:?}"),
            }
        }
    }
}

fn race(threads: u64, rounds: u32, seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), &["-b", "1024", "-N", "512"], "16M");
    let a = Arc::new(Ext4Adapter::new(open_rw(&img), Duration::from_secs(1)));
    let dirs: Vec<NodeId> = (0..DIRS)
        .map(|i| {
            a.mkdir(&ctx(), ROOT, format!("d{i}").as_bytes(), 0o755, 0)
                .unwrap()
                .nodeid
        })
        .collect();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let a = a.clone();
            let dirs = dirs.clone();
            std::thread::spawn(move || churn(&a, &dirs, seed * 1000 + t, rounds))
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    check_names(&a, &dirs);
    a.fs().sync().unwrap();
    drop(a);
    let (clean, text) = fsck(&img);
    assert!(clean, "seed {seed}: e2fsck -fn:\n{text}");
}

#[test]
fn namespace_races_leave_every_name_on_a_live_inode() {
    need_e2fsprogs();
    let seeds: u64 = std::env::var("NAMESPACE_RACE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    for seed in 0..seeds {
        race(4, 4000, seed);
    }
}

/// A file created, unlinked and freed, then a second file that takes its
/// inode number: (the first one as a caller holding its node id names it,
/// the second one's node id).
fn reused_number(a: &Ext4Adapter) -> (InodeRef, NodeId) {
    let (first, open) = a
        .create(&ctx(), ROOT, b"first", 0o644, 0, libc::O_RDWR as u32)
        .unwrap();
    a.release(&ctx(), first.nodeid, open.fh, 0).unwrap();
    a.unlink(&ctx(), ROOT, b"first").unwrap();
    let (second, open) = a
        .create(&ctx(), ROOT, b"second", 0o644, 0, libc::O_RDWR as u32)
        .unwrap();
    a.write(&ctx(), second.nodeid, open.fh, 0, b"second's data", 0, 0)
        .unwrap();
    a.release(&ctx(), second.nodeid, open.fh, 0).unwrap();
    assert_eq!(
        first.nodeid.inode(),
        second.nodeid.inode(),
        "the second file did not take the freed number: the test proves nothing"
    );
    assert_ne!(first.nodeid, second.nodeid, "same generation");
    (of_node(first.nodeid), second.nodeid)
}

/// New tests do not skip: without e2fsprogs the machine is not set up.
fn need_e2fsprogs() {
    require(&["mkfs.ext4", "e2fsck"]);
}

fn is_stale(r: Result<(), FsError>, what: &str) {
    assert!(matches!(r, Err(FsError::Stale)), "{what}: {r:?}");
}

/// What a node id names, as the adapter hands it to the filesystem.
fn of_node(nodeid: NodeId) -> InodeRef {
    InodeRef {
        ino: nodeid.inode(),
        generation: nodeid.generation(),
    }
}

/// Changes for an inode that was freed and whose number now belongs to
/// another file are Stale and leave that file alone. The adapter checks
/// the node id first, but only under the inode's lock does the answer
/// hold: these are the calls that lost the race in the soak.
#[test]
fn changes_for_a_freed_inode_never_reach_the_inode_that_took_its_number() {
    need_e2fsprogs();
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), &["-b", "1024"], "8M");
    let a = Ext4Adapter::new(open_rw(&img), Duration::from_secs(1));
    let (stale, second) = reused_number(&a);
    let fs = a.fs();
    let truncate = Changes {
        size: Some(0),
        ..Default::default()
    };
    is_stale(fs.setattr(stale, &truncate).map(|_| ()), "truncate");
    let chmod = Changes {
        mode: Some(0o600),
        ..Default::default()
    };
    is_stale(fs.setattr(stale, &chmod).map(|_| ()), "chmod");
    is_stale(fs.write(stale, 0, b"x", 0).map(|_| ()), "write");
    is_stale(fs.fallocate(stale, 0, 4096, 0), "fallocate");
    is_stale(
        fs.setxattr(stale, b"user.x", b"v", SetMode::Any, false)
            .map(|_| ()),
        "setxattr",
    );
    is_stale(fs.removexattr(stale, b"user.x"), "removexattr");
    is_stale(fs.link(stale, InodeNo::ROOT, b"third").map(|_| ()), "link");
    let attr = a.getattr(&ctx(), second, None).unwrap().0;
    assert_eq!(attr.size, 13, "the second file's size");
    assert_eq!(attr.mode & 0o7777, 0o644, "the second file's mode");
    assert_eq!(attr.nlink, 1, "the second file's links");
    assert_eq!(
        lookup(&a, &ctx(), ROOT, b"third").map(|_| ()),
        Err(Errno(libc::ENOENT))
    );
    drop(a);
    assert_fsck_clean(&img);
}

/// The same for a directory: names made or removed for a removed
/// directory never land in the directory that took its number.
#[test]
fn names_for_a_removed_directory_never_land_in_its_successor() {
    need_e2fsprogs();
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), &["-b", "1024"], "8M");
    let a = Ext4Adapter::new(open_rw(&img), Duration::from_secs(1));
    let c = ctx();
    let old = a.mkdir(&c, ROOT, b"old", 0o755, 0).unwrap().nodeid;
    a.rmdir(&c, ROOT, b"old").unwrap();
    let new = a.mkdir(&c, ROOT, b"new", 0o755, 0).unwrap().nodeid;
    assert_eq!(old.inode(), new.inode(), "the number was not reused");
    a.mkdir(&c, new, b"kept", 0o755, 0).unwrap();
    let fs = a.fs();
    let old = of_node(old);
    let file = root_node(0o100644);
    is_stale(fs.make_node(old, b"f", &file).map(|_| ()), "create");
    is_stale(fs.symlink(old, b"s", b"t", 0, 0).map(|_| ()), "symlink");
    is_stale(fs.tmpfile(old, &file).map(|_| ()), "tmpfile");
    is_stale(fs.rmdir(old, b"kept"), "rmdir");
    is_stale(fs.unlink(old, b"kept"), "unlink");
    is_stale(
        fs.rename(old, b"kept", InodeNo::ROOT, b"moved", 0),
        "rename from",
    );
    is_stale(
        fs.rename(InodeNo::ROOT, b"new", old, b"x", 0),
        "rename into",
    );
    is_stale(fs.link(of_node(new), old, b"l").map(|_| ()), "link into");
    for name in [&b"f"[..], b"s"] {
        assert_eq!(
            lookup(&a, &c, new, name).map(|_| ()),
            Err(Errno(libc::ENOENT))
        );
    }
    a.lookup(&c, new, b"kept").unwrap();
    a.lookup(&c, ROOT, b"new").unwrap();
    drop(a);
    assert_fsck_clean(&img);
}
