//! READDIRPLUS through the ext4 adapter: an entry for a node the kernel
//! holds (it has not forgotten every entry it was sent for it) with fresh
//! attributes goes without them (node id 0), and is sent whole again once
//! the kernel forgot the node or the attributes grew old there. The
//! adapter's handlers are called as the kernel would call them.

use std::collections::BTreeMap;
use std::time::Duration;

use fuse4fs::ext4::InodeNo;
use fuse4fs::fuse::adapter::Ext4Adapter;
use fuse4fs::fuse::dirent::DirBuf;
use fuse4fs::fuse::ids::NodeId;
use fuse4fs::fuse::ops::{DirEntry, DirSink, Entry, FuseOps};

use crate::common::{mkfs, mount_rw, root_ctx as ctx, user_file};

/// One READDIRPLUS reply: each name with the node its entry carried
/// (None: node id 0), also packed as the kernel gets it.
struct Listing {
    names: BTreeMap<String, Option<NodeId>>,
    packed: DirBuf,
}

impl DirSink for Listing {
    fn add(&mut self, d: &DirEntry<'_>, e: Option<&Entry>) -> bool {
        if !self.packed.add(d, e) {
            return false;
        }
        let name = String::from_utf8_lossy(d.name).into_owned();
        self.names.insert(name, e.map(|e| e.nodeid));
        true
    }
}

/// Lists directory `dir` whole, as one READDIRPLUS from position 0.
fn list(a: &Ext4Adapter, dir: NodeId) -> BTreeMap<String, Option<NodeId>> {
    let o = a.opendir(&ctx(), dir, 0).unwrap();
    let mut l = Listing {
        names: BTreeMap::new(),
        packed: DirBuf::new(1 << 16, true),
    };
    a.readdir(&ctx(), dir, o.fh, 0, true, &mut l).unwrap();
    a.releasedir(&ctx(), dir, o.fh).unwrap();
    l.names
}

/// The names of `l` that carried a node.
fn with_nodes(l: &BTreeMap<String, Option<NodeId>>) -> Vec<&str> {
    l.iter()
        .filter(|(_, n)| n.is_some())
        .map(|(k, _)| k.as_str())
        .collect()
}

/// A fresh image with directory "d" (made through the adapter: the
/// kernel holds it) and files "a" and "b" in it made behind the kernel's
/// back (it holds neither).
fn setup(ttl: Duration) -> (tempfile::TempDir, Ext4Adapter, NodeId) {
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), &["-b", "4096"], "32M");
    let a = Ext4Adapter::new(mount_rw(&img), ttl);
    let d = a.mkdir(&ctx(), NodeId::ROOT, b"d", 0o755, 0).unwrap();
    let ino = InodeNo(d.attr.ino as u32);
    user_file(a.fs(), ino, "a");
    user_file(a.fs(), ino, "b");
    (dir, a, d.nodeid)
}

#[test]
fn held_nodes_are_listed_without_attributes_until_forgotten() {
    let (_dir, a, d) = setup(Duration::from_secs(3600));
    let first = list(&a, d);
    assert_eq!(with_nodes(&first), ["a", "b"], "{first:?}");
    let (na, nb) = (first["a"].unwrap(), first["b"].unwrap());
    assert_eq!((a.kernel_lookups(na), a.kernel_lookups(nb)), (1, 1));
    // The kernel holds both now: a second listing tells it nothing.
    let second = list(&a, d);
    assert_eq!(with_nodes(&second), Vec::<&str>::new(), "{second:?}");
    assert_eq!((a.kernel_lookups(na), a.kernel_lookups(nb)), (1, 1));

    // Forgotten: sent whole again.
    a.forget(na, 1);
    assert_eq!(with_nodes(&list(&a, d)), ["a"]);
    assert_eq!(a.kernel_lookups(na), 1);

    // Two lookups held (a LOOKUP and the first listing): one FORGET of
    // one leaves the node held.
    assert_eq!(a.lookup(&ctx(), d, b"b").unwrap().nodeid, nb);
    assert_eq!(a.kernel_lookups(nb), 2);
    a.forget(nb, 1);
    assert_eq!(with_nodes(&list(&a, d)), Vec::<&str>::new());
    a.forget(nb, 1);
    assert_eq!(with_nodes(&list(&a, d)), ["b"]);

    // "." and ".." never carry a node, and the kernel takes no lookup
    // for them: the directory's count is its MKDIR's.
    assert_eq!(a.kernel_lookups(d), 1);
    assert_eq!((first["."], first[".."]), (None, None));
    // A negative LOOKUP is no node the kernel holds.
    assert!(a.lookup(&ctx(), d, b"nothing").unwrap().is_negative());
}

#[test]
fn entries_made_through_the_kernel_are_held_from_their_reply() {
    let (_dir, a, d) = setup(Duration::from_secs(3600));
    let ctx = ctx();
    let (c, _) = a
        .create(&ctx, d, b"c", 0o644, 0, libc::O_RDONLY as u32)
        .unwrap();
    let s = a.symlink(&ctx, d, b"s", b"c").unwrap();
    let m = a.mkdir(&ctx, d, b"m", 0o755, 0).unwrap();
    let n = a.mknod(&ctx, d, b"n", libc::S_IFIFO | 0o644, 0, 0).unwrap();
    let l = a.link(&ctx, c.nodeid, d, b"l").unwrap();
    assert_eq!(l.nodeid, c.nodeid);
    assert_eq!(a.kernel_lookups(c.nodeid), 2, "CREATE and LINK");
    for e in [s, m, n] {
        assert_eq!(a.kernel_lookups(e.nodeid), 1);
    }
    // Only the files made behind the kernel's back carry attributes.
    assert_eq!(with_nodes(&list(&a, d)), ["a", "b"]);
}

#[test]
fn attributes_are_sent_again_in_the_second_half_of_their_time_out() {
    // Entry and attribute time-out 2 s: a node's attributes count as
    // fresh for 1 s after its last entry.
    let (_dir, a, d) = setup(Duration::from_secs(2));
    assert_eq!(with_nodes(&list(&a, d)), ["a", "b"]);
    assert_eq!(with_nodes(&list(&a, d)), Vec::<&str>::new());
    std::thread::sleep(Duration::from_millis(1200));
    // Still held, but a listing now renews what the kernel would soon
    // have to ask for again (a GETATTR or LOOKUP at the next stat).
    let renewed = list(&a, d);
    assert_eq!(with_nodes(&renewed), ["a", "b"]);
    assert_eq!(a.kernel_lookups(renewed["a"].unwrap()), 2);
    assert_eq!(with_nodes(&list(&a, d)), Vec::<&str>::new());
}
