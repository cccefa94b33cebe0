//! The visible tree of a filesystem, read through the `Fs` API: every
//! path with its kind, permission bits, size, link count and a hash of its
//! contents (or its symlink target). Times are left out: a replay may
//! legitimately land on an older or newer ctime than the live view had.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::Hasher;
use std::sync::Arc;

use fuse4fs::ext4::InodeNo;
use fuse4fs::ext4::inode::{Inode, mode};
use fuse4fs::fs::Fs;

/// Deepest directory nesting read; the workloads stay far below it, so a
/// deeper tree is damage (a directory loop the visited set missed).
const MAX_DEPTH: usize = 32;
/// Most names read; the workloads make at most a few hundred.
const MAX_NAMES: usize = 20_000;
/// Largest file whose contents are hashed; the workloads write far less,
/// so a bigger size is damage and reading it would only cost time.
const MAX_FILE: u64 = 64 << 20;

/// What a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
    Symlink,
    /// Devices, fifos, sockets: the file type bits.
    Other(u16),
}

/// One path's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: Kind,
    /// Permission bits (setuid, setgid, sticky included).
    pub mode: u16,
    pub size: u64,
    pub nlink: u16,
    /// Hash of a regular file's bytes; 0 for anything else.
    pub content: u64,
    /// A symlink's target; empty for anything else.
    pub target: Vec<u8>,
    /// Hash of the extended attributes (names and values, in name
    /// order); 0 when there are none.
    pub xattrs: u64,
}

/// Path (relative, '/'-separated) → its state. The root itself is "".
pub type Tree = BTreeMap<String, Entry>;

/// File contents by their hash (`Entry::content`): every version seen,
/// once each, for comparisons finer than whole files.
pub type Contents = HashMap<u64, Arc<Vec<u8>>>;

/// Reads the whole tree from the root. Errors (damage met on the way) are
/// returned as text: for the checker an unreadable tree is a failure.
/// Every file's bytes are added to `store` under their hash.
pub fn read(fs: &Fs, store: &mut Contents) -> Result<Tree, String> {
    let mut tree = Tree::new();
    let mut seen = HashSet::new();
    let root = fs
        .inode(InodeNo::ROOT)
        .map_err(|e| format!("root inode: {e}"))?;
    let mut w = Walk {
        fs,
        seen: &mut seen,
        tree: &mut tree,
        store,
    };
    w.walk(&root, String::new(), 0)?;
    Ok(tree)
}

struct Walk<'a> {
    fs: &'a Fs,
    seen: &'a mut HashSet<u32>,
    tree: &'a mut Tree,
    store: &'a mut Contents,
}

impl Walk<'_> {
    fn walk(&mut self, dir: &Inode, path: String, depth: usize) -> Result<(), String> {
        let e = entry(self.fs, dir, &path, self.store)?;
        self.tree.insert(path.clone(), e);
        if depth > MAX_DEPTH {
            return Err(format!("{path}: nested deeper than {MAX_DEPTH}"));
        }
        if !self.seen.insert(dir.ino.0) {
            return Err(format!("{path}: directory {} reached twice", dir.ino));
        }
        let mut names: Vec<(Vec<u8>, u32)> = Vec::new();
        self.fs
            .readdir(dir, 0, |e| {
                if e.name != b"." && e.name != b".." {
                    names.push((e.name.to_vec(), e.ino));
                }
                names.len() < MAX_NAMES
            })
            .map_err(|e| format!("readdir {path:?}: {e}"))?;
        if names.len() >= MAX_NAMES || self.tree.len() + names.len() > MAX_NAMES {
            return Err(format!("{path}: more than {MAX_NAMES} names"));
        }
        for (name, ino) in names {
            let child = join(&path, &String::from_utf8_lossy(&name));
            let inode = self
                .fs
                .inode(InodeNo(ino))
                .map_err(|e| format!("{child}: inode {ino}: {e}"))?;
            if inode.is_dir() {
                self.walk(&inode, child, depth + 1)?;
            } else {
                let e = entry(self.fs, &inode, &child, self.store)?;
                self.tree.insert(child, e);
            }
        }
        Ok(())
    }
}

/// `dir/name`, or `name` under the root.
pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// [`Entry::xattrs`] of `inode`.
fn xattrs(fs: &Fs, inode: &Inode, path: &str) -> Result<u64, String> {
    let mut names = fs
        .listxattr(inode)
        .map_err(|e| format!("{path}: listxattr: {e}"))?;
    if names.is_empty() {
        return Ok(0);
    }
    names.sort();
    let mut h = std::hash::DefaultHasher::new();
    for n in names {
        let v = fs
            .getxattr(inode, &n)
            .map_err(|e| format!("{path}: getxattr: {e}"))?;
        h.write(&n);
        h.write_usize(v.len());
        h.write(&v);
    }
    Ok(h.finish())
}

fn entry(fs: &Fs, inode: &Inode, path: &str, store: &mut Contents) -> Result<Entry, String> {
    let kind = match inode.mode & mode::S_IFMT {
        mode::S_IFDIR => Kind::Dir,
        mode::S_IFREG => Kind::File,
        mode::S_IFLNK => Kind::Symlink,
        t => Kind::Other(t),
    };
    let mut e = Entry {
        kind,
        mode: inode.mode & 0o7777,
        size: inode.size,
        nlink: inode.links_count,
        content: 0,
        target: Vec::new(),
        xattrs: xattrs(fs, inode, path)?,
    };
    match kind {
        Kind::File => {
            let bytes = contents(fs, inode, path)?;
            let mut h = std::hash::DefaultHasher::new();
            h.write(&bytes);
            e.content = h.finish();
            store.entry(e.content).or_insert_with(|| Arc::new(bytes));
        }
        Kind::Symlink => {
            e.target = fs
                .readlink(inode)
                .map_err(|err| format!("{path}: readlink: {err}"))?;
        }
        Kind::Dir | Kind::Other(_) => {}
    }
    Ok(e)
}

fn contents(fs: &Fs, inode: &Inode, path: &str) -> Result<Vec<u8>, String> {
    if inode.size > MAX_FILE {
        return Err(format!("{path}: size {} is implausible", inode.size));
    }
    let mut out = Vec::with_capacity(inode.size as usize);
    while (out.len() as u64) < inode.size {
        let off = out.len() as u64;
        let chunk = fs
            .read(inode, off, 1 << 20)
            .map_err(|e| format!("{path}: read at {off}: {e}"))?;
        if chunk.is_empty() {
            return Err(format!("{path}: short read at {off} of {}", inode.size));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// The first difference between `want` and `got`, in path order, as a
/// line; None when they are equal.
pub fn first_diff(want: &Tree, got: &Tree) -> Option<String> {
    let mut paths: Vec<&String> = want.keys().chain(got.keys()).collect();
    paths.sort();
    paths.dedup();
    for p in paths {
        let shown = if p.is_empty() { "/" } else { p.as_str() };
        match (want.get(p), got.get(p)) {
            (Some(_), None) => return Some(format!("{shown}: missing")),
            (None, Some(g)) => return Some(format!("{shown}: unexpected ({})", describe(g))),
            (Some(w), Some(g)) if w != g => {
                return Some(format!(
                    "{shown}: expected {}, found {}",
                    describe(w),
                    describe(g)
                ));
            }
            _ => {}
        }
    }
    None
}

/// How many paths differ between the two trees.
pub fn distance(a: &Tree, b: &Tree) -> usize {
    let only_a = a.iter().filter(|(p, e)| b.get(*p) != Some(e)).count();
    let only_b = b.keys().filter(|p| !a.contains_key(*p)).count();
    only_a + only_b
}

/// One entry, short.
pub fn describe(e: &Entry) -> String {
    let kind = match e.kind {
        Kind::Dir => "dir".to_string(),
        Kind::File => "file".to_string(),
        Kind::Symlink => "symlink".to_string(),
        Kind::Other(t) => format!("type {t:o}"),
    };
    let mut s = format!("{kind} mode {:o} size {} nlink {}", e.mode, e.size, e.nlink);
    match e.kind {
        Kind::File => s += &format!(" content {:016x}", e.content),
        Kind::Symlink => s += &format!(" -> {}", String::from_utf8_lossy(&e.target)),
        _ => {}
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(size: u64, content: u64) -> Entry {
        Entry {
            kind: Kind::File,
            mode: 0o644,
            size,
            nlink: 1,
            content,
            target: Vec::new(),
            xattrs: 0,
        }
    }

    #[test]
    fn first_diff_names_the_first_differing_path() {
        let mut a = Tree::new();
        a.insert("a".into(), file(1, 1));
        a.insert("b".into(), file(2, 2));
        let mut b = a.clone();
        assert_eq!(first_diff(&a, &b), None);
        assert_eq!(distance(&a, &b), 0);
        b.get_mut("b").unwrap().content = 3;
        b.insert("c".into(), file(0, 0));
        let d = first_diff(&a, &b).unwrap();
        assert!(d.starts_with("b: expected file"), "{d}");
        assert_eq!(distance(&a, &b), 2);
        b.remove("a");
        assert_eq!(first_diff(&a, &b).unwrap(), "a: missing");
    }
}
