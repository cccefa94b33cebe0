//! ext4-view as an independent oracle: images built by `mkfs.ext4 -d` from
//! a generated tree are walked with our `Fs` (by inode number, from the
//! root) and with ext4-view (by path); both must agree with each other and
//! with the source tree on the host: names per directory, file types,
//! sizes, modes, owners, link counts, symlink targets and full contents.
//!
//! Variants: default ext4 (metadata_csum), ext4 without metadata_csum,
//! ext2 with 1 KiB blocks (block maps up to triple indirect), 2 KiB blocks.
//! The tree avoids ext4-view's blind spots: no xattrs, no unwritten
//! extents, no inline data, no 128-byte inodes with checksums.
//!
//! Fails when mkfs.ext4 is not installed.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt, chown, lchown, symlink};
use std::path::Path;

use ext4_view::{Ext4, FileType};
use fuse4fs::ext4::InodeNo;
use fuse4fs::ext4::inode::{Inode, mode};
use fuse4fs::fs::{Fs, FsOptions};

/// Deterministic bytes: a xorshift stream seeded per file.
fn pattern(seed: u64, len: usize) -> Vec<u8> {
    fuse4fs_testkit::XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
        .take(len)
        .map(|x| x as u8)
        .collect()
}

fn write_file(path: &Path, seed: u64, len: usize) {
    fs::write(path, pattern(seed, len)).unwrap();
}

/// The source tree every image is built from.
fn build_tree(root: &Path) {
    fs::create_dir_all(root.join("a/b/c/d")).unwrap();
    fs::create_dir(root.join("empty")).unwrap();
    fs::create_dir(root.join("big")).unwrap();
    for (i, len) in [0usize, 1, 4095, 4096, 4097, (1 << 20) + 3]
        .into_iter()
        .enumerate()
    {
        write_file(&root.join(format!("size-{len}")), i as u64 + 1, len);
    }
    write_file(&root.join("a/b/c/d/deep"), 77, 12345);
    write_file(&root.join("a/b/mid"), 78, 8192);
    fs::write(root.join("a/caf\u{e9}-\u{2603}"), b"non-ascii name\n").unwrap();

    // Sparse: data at 0, a hole, a block at 3 MiB + 5, a hole, a few bytes
    // at 70 MiB (past the double-indirect range of 1 KiB blocks), and a
    // trailing hole.
    let mut f = fs::File::create(root.join("sparse")).unwrap();
    f.write_all(&pattern(90, 100)).unwrap();
    f.seek(SeekFrom::Start((3 << 20) + 5)).unwrap();
    f.write_all(&pattern(91, 4096)).unwrap();
    f.seek(SeekFrom::Start(70 << 20)).unwrap();
    f.write_all(&pattern(92, 10)).unwrap();
    f.set_len(72 << 20).unwrap();
    drop(f);

    // Symlinks: fast (target in i_block) and slow (target in a block).
    symlink("size-1", root.join("fast-link")).unwrap();
    let slow = format!("a/b/{}/target", "x".repeat(90));
    symlink(&slow, root.join("slow-link")).unwrap();
    symlink("../../size-4096", root.join("a/b/rel-link")).unwrap();
    symlink("/nonexistent/dangling", root.join("dangling")).unwrap();

    // Hard links across directories.
    write_file(&root.join("hard-1"), 55, 3000);
    fs::hard_link(root.join("hard-1"), root.join("a/hard-2")).unwrap();
    fs::hard_link(root.join("hard-1"), root.join("a/b/c/hard-3")).unwrap();

    // A 500-entry directory.
    for i in 0..500u64 {
        let name = format!("entry-{i:04}-{}", "n".repeat((i % 40) as usize));
        write_file(
            &root.join("big").join(name),
            1000 + i,
            (i % 7) as usize * 100,
        );
    }

    // Modes and owners.
    let set_mode = |p: &str, m: u32| {
        fs::set_permissions(root.join(p), fs::Permissions::from_mode(m)).unwrap();
    };
    set_mode("size-1", 0o600);
    set_mode("size-4095", 0o4755);
    set_mode("size-4096", 0o2711);
    set_mode("a/b", 0o1777);
    set_mode("empty", 0o700);
    chown(root.join("size-0"), Some(1000), Some(1001)).unwrap();
    chown(root.join("a"), Some(65534), Some(100)).unwrap();
    chown(root.join("hard-1"), Some(70000), Some(80000)).unwrap();
    lchown(root.join("fast-link"), Some(4242), Some(4343)).unwrap();
}

/// One entry as seen by a reader, everything the three sides can agree on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Node {
    kind: char,
    mode: u32,
    uid: u32,
    gid: u32,
    size: u64,
    target: Option<Vec<u8>>,
    data: Option<Vec<u8>>,
}

fn kind_of_mode(m: u32) -> char {
    match m as u16 & mode::S_IFMT {
        mode::S_IFDIR => 'd',
        mode::S_IFREG => 'f',
        mode::S_IFLNK => 'l',
        mode::S_IFCHR => 'c',
        mode::S_IFBLK => 'b',
        mode::S_IFIFO => 'p',
        mode::S_IFSOCK => 's',
        _ => '?',
    }
}

fn kind_of_view(t: FileType) -> char {
    if t.is_dir() {
        'd'
    } else if t.is_regular_file() {
        'f'
    } else if t.is_symlink() {
        'l'
    } else if t.is_char_dev() {
        'c'
    } else if t.is_block_dev() {
        'b'
    } else if t.is_fifo() {
        'p'
    } else if t.is_socket() {
        's'
    } else {
        '?'
    }
}

/// ext4 directory-entry file type codes.
fn kind_of_ft(ft: u8) -> char {
    match ft {
        1 => 'f',
        2 => 'd',
        3 => 'c',
        4 => 'b',
        5 => 'p',
        6 => 's',
        7 => 'l',
        _ => '?',
    }
}

/// The tree as our `Fs` sees it: path -> (node, inode number, nlink).
struct OurWalk {
    nodes: BTreeMap<Vec<u8>, (Node, u32, u16)>,
    /// Directory path -> sorted names (without "." and "..").
    dirs: BTreeMap<Vec<u8>, Vec<Vec<u8>>>,
}

fn our_read_all(fs: &Fs, inode: &Inode) -> Vec<u8> {
    // Odd-sized chunks so reads start and end inside blocks.
    let mut out = Vec::new();
    let chunk = 100_003;
    loop {
        let got = fs.read(inode, out.len() as u64, chunk).unwrap();
        if got.is_empty() {
            break;
        }
        assert!(got.len() <= chunk);
        out.extend_from_slice(&got);
    }
    assert_eq!(out.len() as u64, inode.size, "{} read length", inode.ino);
    out
}

fn our_node(fs: &Fs, inode: &Inode) -> Node {
    let kind = kind_of_mode(inode.mode as u32);
    Node {
        kind,
        mode: inode.mode as u32 & 0o7777,
        uid: inode.uid,
        gid: inode.gid,
        size: inode.size,
        target: (kind == 'l').then(|| fs.readlink(inode).unwrap()),
        data: (kind == 'f').then(|| our_read_all(fs, inode)),
    }
}

fn walk_ours(fs: &Fs) -> OurWalk {
    let mut w = OurWalk {
        nodes: BTreeMap::new(),
        dirs: BTreeMap::new(),
    };
    let root = fs.inode(InodeNo::ROOT).unwrap();
    w.nodes
        .insert(b"/".to_vec(), (our_node(fs, &root), 2, root.links_count));
    walk_dir(fs, &root, b"/".to_vec(), &mut w);
    w
}

fn walk_dir(fs: &Fs, dir: &Inode, path: Vec<u8>, w: &mut OurWalk) {
    let mut entries = Vec::new();
    fs.readdir(dir, 0, |e| {
        entries.push((e.name.to_vec(), e.ino, e.file_type));
        true
    })
    .unwrap();
    let p = String::from_utf8_lossy(&path).into_owned();
    let dots: Vec<_> = entries
        .iter()
        .filter(|e| e.0 == b"." || e.0 == b"..")
        .collect();
    assert_eq!(dots.len(), 2, "{p}: . and ..");
    let parent = fs.lookup(dir, b"..").unwrap().ino;
    assert_eq!(fs.lookup(dir, b".").unwrap().ino, dir.ino, "{p}: .");
    let mut names = Vec::new();
    let mut subdirs = 0;
    for (name, ino, ft) in entries {
        if name == b"." {
            assert_eq!(ino, dir.ino.0, "{p}: . entry");
            continue;
        }
        if name == b".." {
            assert_eq!(ino, parent.0, "{p}: .. entry");
            continue;
        }
        let found = fs.lookup(dir, &name).unwrap();
        assert_eq!(found.ino.0, ino, "{p}: lookup vs readdir for {name:?}");
        assert_eq!(found.file_type, ft, "{p}: lookup vs readdir type");
        let inode = fs.inode(found.ino).unwrap();
        let node = our_node(fs, &inode);
        assert_eq!(kind_of_ft(ft), node.kind, "{p}: entry type vs inode mode");
        let mut child = path.clone();
        if child.len() > 1 {
            child.push(b'/');
        }
        child.extend_from_slice(&name);
        if node.kind == 'd' {
            subdirs += 1;
            assert_eq!(fs.parent_of(&inode).unwrap(), dir.ino, "{p}: child's ..");
            walk_dir(fs, &inode, child.clone(), w);
        }
        w.nodes.insert(child, (node, ino, inode.links_count));
        names.push(name);
    }
    assert_eq!(
        dir.links_count as usize,
        2 + subdirs,
        "{p}: directory link count"
    );
    names.sort();
    w.dirs.insert(path, names);
}

fn view_node(v: &Ext4, path: &[u8], skip_data: bool) -> Node {
    let p = String::from_utf8_lossy(path);
    let md = v.symlink_metadata(path).unwrap();
    let kind = kind_of_view(md.file_type());
    Node {
        kind,
        mode: md.mode() as u32,
        uid: md.uid(),
        gid: md.gid(),
        size: md.len(),
        target: (kind == 'l').then(|| {
            v.read_link(path)
                .unwrap_or_else(|e| panic!("ext4-view readlink {p}: {e:?}"))
                .as_ref()
                .to_vec()
        }),
        data: (kind == 'f' && !skip_data).then(|| {
            v.read(path)
                .unwrap_or_else(|e| panic!("ext4-view read {p}: {e:?}"))
        }),
    }
}

fn host_node(p: &Path) -> (Node, u64, u64) {
    let md = fs::symlink_metadata(p).unwrap();
    let kind = kind_of_mode(md.mode());
    let node = Node {
        kind,
        mode: md.mode() & 0o7777,
        uid: md.uid(),
        gid: md.gid(),
        size: if kind == 'd' { 0 } else { md.len() },
        target: (kind == 'l').then(|| fs::read_link(p).unwrap().as_os_str().as_bytes().to_vec()),
        data: (kind == 'f').then(|| fs::read(p).unwrap()),
    };
    (node, md.nlink(), md.ino())
}

fn short(n: &Node) -> String {
    format!(
        "{} {:o} {}:{} size {} target {:?} data {}",
        n.kind,
        n.mode,
        n.uid,
        n.gid,
        n.size,
        n.target
            .as_ref()
            .map(|t| String::from_utf8_lossy(t).into_owned()),
        n.data.as_ref().map_or(0, |d| d.len())
    )
}

fn check_image(name: &str, img: &Path, src: &Path, block_mapped: bool) {
    let fs =
        Fs::open(img, &FsOptions::default()).unwrap_or_else(|e| panic!("{name}: Fs::open: {e}"));
    let ours = walk_ours(&fs);
    let view = Ext4::load(Box::new(fs::read(img).unwrap()))
        .unwrap_or_else(|e| panic!("{name}: ext4-view load: {e}"));

    // Names per directory: ours vs ext4-view vs host.
    for (dir, names) in &ours.dirs {
        let mut vnames: Vec<Vec<u8>> = v_read_dir(&view, dir);
        vnames.sort();
        assert_eq!(&vnames, names, "{name}: names in {dir:?} (ext4-view)");
        if dir.starts_with(b"/lost+found") {
            continue;
        }
        let host_dir = src.join(OsStr::from_bytes(&dir[1..]));
        let mut hnames: Vec<Vec<u8>> = fs::read_dir(&host_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().as_bytes().to_vec())
            .collect();
        if dir == b"/" {
            hnames.push(b"lost+found".to_vec());
        }
        hnames.sort();
        assert_eq!(&hnames, names, "{name}: names in {dir:?} (host)");
    }

    // Every entry: attributes and contents.
    let mut host_to_ours: HashMap<u64, u32> = HashMap::new();
    let mut ours_to_host: HashMap<u32, u64> = HashMap::new();
    for (path, (node, ino, nlink)) in &ours.nodes {
        let p = String::from_utf8_lossy(path);
        // ext4-view 1.0 reads block 0 for an indirect block that is a
        // hole (a whole hole subtree of a block-mapped file): compare the
        // sparse file's contents only with the host there.
        let skip_data = block_mapped && path == b"/sparse";
        let mut vnode = view_node(&view, path, skip_data);
        if skip_data {
            vnode.data.clone_from(&node.data);
        }
        assert!(
            vnode == *node,
            "{name}: {p}: ours {} vs ext4-view {}",
            short(node),
            short(&vnode)
        );
        if path == b"/" || path.starts_with(b"/lost+found") {
            continue;
        }
        let (hnode, hnlink, hino) = host_node(&src.join(OsStr::from_bytes(&path[1..])));
        let mut cmp = node.clone();
        if cmp.kind == 'd' {
            cmp.size = 0;
        }
        assert!(
            hnode == cmp,
            "{name}: {p}: ours {} vs host {}",
            short(node),
            short(&hnode)
        );
        assert_eq!(*nlink as u64, hnlink, "{name}: {p}: link count vs host");
        // Hard links: the same host inode is the same image inode.
        assert_eq!(
            *host_to_ours.entry(hino).or_insert(*ino),
            *ino,
            "{name}: {p}: hard link"
        );
        assert_eq!(
            *ours_to_host.entry(*ino).or_insert(hino),
            hino,
            "{name}: {p}: hard link"
        );
    }
    assert!(
        ours.nodes.len() >= 525,
        "{name}: walked only {}",
        ours.nodes.len()
    );
}

fn v_read_dir(view: &Ext4, dir: &[u8]) -> Vec<Vec<u8>> {
    view.read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().as_ref().to_vec())
        .filter(|n| n != b"." && n != b"..")
        .collect()
}

fn mkfs(img: &Path, src: &Path, extra: &[&str]) {
    let mut args = extra.to_vec();
    args.extend(["-d", src.to_str().unwrap()]);
    fuse4fs_testkit::e2fs::mkfs_ext4(img, &args, "40M");
}

#[test]
fn ext4_view_agrees() {
    fuse4fs_testkit::e2fs::require(&["mkfs.ext4"]);
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();
    build_tree(&src);
    let variants: &[(&str, &[&str], bool)] = &[
        ("default", &[], false),
        ("nocsum", &["-O", "^metadata_csum"], false),
        ("ext2-1k", &["-t", "ext2", "-b", "1024"], true),
        ("blk2k", &["-b", "2048"], false),
    ];
    for (name, extra, block_mapped) in variants {
        let img = tmp.path().join(format!("{name}.img"));
        mkfs(&img, &src, extra);
        check_image(name, &img, &src, *block_mapped);
        fs::remove_file(&img).unwrap();
    }
}
