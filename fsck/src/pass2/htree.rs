//! Indexed (htree) directories: the root read before the leaves (its
//! hash version decides every leaf's hashes), interior nodes and leaf
//! hash ranges collected while the blocks stream past, then the tree
//! checked as a whole. A bad tree is repaired by making the directory
//! linear: the INDEX flag cleared and the index blocks turned into empty
//! leaves, which the kernel and e2fsck accept.

use std::collections::{BTreeMap, BTreeSet};

use fuse4fs_format::ext4::dir::{
    TAIL_SIZE, init_dot_dotdot, init_leaf, set_leaf_checksum, set_leaf_tail,
};
use fuse4fs_format::ext4::hash::{DX_HASH_SIPHASH, HashVersion};
use fuse4fs_format::ext4::htree::{
    DxNode, looks_like_node, parse_node, parse_root, set_node_checksum,
};
use fuse4fs_format::ext4::inode::flags;
use fuse4fs_format::ext4::layout::Ext4Inode;
use fuse4fs_format::ext4::superblock::incompat;
use fuse4fs_format::ext4::{BlockNo, Generation, InodeNo};

use super::State;
use super::chain;
use crate::context::{DirBlock, Fsck};
use crate::error::Result;
use crate::problem::Problem;

/// How the names of an indexed directory are placed in its index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LeafHash {
    /// By the hash of each name, computed with this version.
    Computed(HashVersion),
    /// By the hash stored after each name (encrypted and casefolded: a
    /// siphash under the directory's key, which a checker cannot compute).
    Stored,
}

/// What pass 2 learns about one indexed directory.
#[derive(Debug, Default)]
pub(super) struct Tree {
    /// The root's indirect levels and index entries.
    root: Option<(u8, DxNode)>,
    /// Physical block of the root (logical block 0).
    root_pblk: Option<BlockNo>,
    /// The hash every name is placed by.
    pub hash: Option<LeafHash>,
    /// The first problem found; the tree is not checked further.
    pub bad: Option<String>,
    /// Interior nodes by logical block: the node, whether its checksum
    /// matches, and its physical block.
    nodes: BTreeMap<u64, (DxNode, bool, BlockNo)>,
    /// Leaves by logical block, with the hash range of their live entries.
    leaves: BTreeMap<u64, Option<(u32, u32)>>,
}

impl Tree {
    /// The hash for leaves, while the tree is still believed.
    pub fn leaf_hash(&self) -> Option<LeafHash> {
        if self.bad.is_none() { self.hash } else { None }
    }

    /// Records leaf `lblk` and its hash range.
    pub fn add_leaf(&mut self, lblk: u64, range: Option<(u32, u32)>) {
        self.leaves.insert(lblk, range);
    }

    fn fail(&mut self, why: String) {
        if self.bad.is_none() {
            self.bad = Some(why);
        }
    }
}

/// Reads the root of every indexed directory in `blocks` (before the
/// leaves, whose hashes depend on it).
pub(super) fn load_roots(cx: &mut Fsck, st: &mut State, blocks: &[DirBlock]) -> Result<()> {
    let max_levels = if cx.sb.has_incompat(incompat::LARGEDIR) {
        3
    } else {
        2
    };
    let indexed: Vec<InodeNo> = cx
        .found
        .dirs
        .iter()
        .filter(|(_, d)| d.indexed && !d.inline)
        .map(|(&ino, _)| ino)
        .collect();
    for &ino in &indexed {
        st.htrees.insert(ino, Tree::default());
    }
    if indexed.is_empty() {
        return Ok(());
    }
    let mut buf = vec![0u8; st.bs];
    for db in blocks.iter().filter(|d| d.lblk == 0) {
        let Some(tree) = st.htrees.get_mut(&db.ino) else {
            continue;
        };
        if tree.root_pblk.is_some() {
            continue;
        }
        tree.root_pblk = Some(db.pblk);
        cx.read_block_into(db.pblk, &mut buf)?;
        let generation = cx
            .found
            .dirs
            .get(&db.ino)
            .map_or(Generation(0), |d| d.generation);
        match parse_root(&buf, st.csum, db.ino) {
            Err(e) => tree.fail(format!("root node is bad ({e})")),
            Ok((info, node)) => {
                if st.csum && !node.verify_checksum(cx.seed, db.ino, generation, &buf) {
                    tree.fail("root node fails checksum".into());
                }
                let hashed = cx.found.dirs.get(&db.ino).is_some_and(|d| d.hashed);
                match (hashed, info.hash_version == DX_HASH_SIPHASH) {
                    (true, true) => tree.hash = Some(LeafHash::Stored),
                    (true, false) => tree.fail(format!(
                        "hash version {} where the entries keep siphash hashes",
                        info.hash_version
                    )),
                    (false, true) => tree.fail("uses SipHash, but should not".into()),
                    (false, false) => {
                        match HashVersion::effective(info.hash_version, cx.sb.flags) {
                            Some(v) => tree.hash = Some(LeafHash::Computed(v)),
                            None => tree
                                .fail(format!("unsupported hash version ({})", info.hash_version)),
                        }
                    }
                }
                if info.indirect_levels >= max_levels {
                    tree.fail(format!(
                        "root node has too many indirect levels ({})",
                        info.indirect_levels
                    ));
                }
                tree.root = Some((info.indirect_levels, node));
            }
        }
    }
    for tree in st.htrees.values_mut() {
        if tree.root_pblk.is_none() {
            tree.fail("no root block".into());
        }
    }
    Ok(())
}

/// Takes block `db` of an indexed directory as an interior node when it
/// parses as one (it is then not a leaf); false otherwise.
pub(super) fn take_node(cx: &Fsck, st: &mut State, db: DirBlock, block: &[u8]) -> bool {
    let Some(tree) = st.htrees.get_mut(&db.ino) else {
        return false;
    };
    if db.lblk == 0 || !looks_like_node(block) {
        return false;
    }
    let Ok(node) = parse_node(block, st.csum, db.ino, db.lblk) else {
        return false;
    };
    let generation = cx
        .found
        .dirs
        .get(&db.ino)
        .map_or(Generation(0), |d| d.generation);
    let ok = !st.csum || node.verify_checksum(cx.seed, db.ino, generation, block);
    tree.nodes.insert(db.lblk, (node, ok, db.pblk));
    true
}

/// The re-checksum a root whose `.` or `..` a repair changed needs.
pub(super) fn reseal_root(
    cx: &Fsck,
    st: &State,
    dir: InodeNo,
    generation: Generation,
    block: &mut [u8],
) {
    if st.csum && st.htrees.get(&dir).is_some_and(|t| t.root.is_some()) {
        set_node_checksum(cx.seed, dir, generation, block);
    }
}

/// Checks each indexed directory's tree as a whole, and makes the bad
/// ones linear.
pub(super) fn finish(cx: &mut Fsck, st: &mut State) -> Result<()> {
    let trees = std::mem::take(&mut st.htrees);
    for (ino, mut tree) in trees {
        if !cx.found.dirs.contains_key(&ino) {
            continue;
        }
        if tree.bad.is_none()
            && let Err(why) = verify(&tree)
        {
            tree.bad = Some(why);
        }
        let Some(why) = tree.bad.take() else {
            continue;
        };
        if cx.ask(Problem::Htree { dir: ino, why }) {
            make_linear(cx, st, ino, &tree)?;
        }
    }
    Ok(())
}

/// The whole tree: every index entry's child in the directory, at the
/// right depth, referenced once; every leaf's hashes inside its index
/// range; every block referenced.
fn verify(tree: &Tree) -> std::result::Result<(), String> {
    let Some((levels, root)) = &tree.root else {
        return Err("no root".into());
    };
    let mut seen = BTreeSet::new();
    walk(tree, root, 0, *levels, (0, 1 << 32, false), &mut seen)?;
    if let Some(b) = tree
        .nodes
        .keys()
        .chain(tree.leaves.keys())
        .find(|b| !seen.contains(*b))
    {
        return Err(format!("block #{b} not referenced"));
    }
    Ok(())
}

/// One index node at `depth` covering hashes `lo..hi` (up to and with
/// `hi` when `cont`: the next block continues a collision).
fn walk(
    tree: &Tree,
    node: &DxNode,
    depth: u8,
    levels: u8,
    (lo, hi, cont): (u64, u64, bool),
    seen: &mut BTreeSet<u64>,
) -> std::result::Result<(), String> {
    let n = node.entries.len();
    for (i, e) in node.entries.iter().enumerate() {
        let h = if i == 0 { lo } else { (e.hash & !1) as u64 };
        if h < lo || h > hi {
            return Err(format!("index hash {:#x} outside its range", e.hash));
        }
        let (nhi, ncont) = match node.entries.get(i + 1) {
            Some(next) if i + 1 < n => ((next.hash & !1) as u64, next.hash & 1 != 0),
            _ => (hi, cont),
        };
        let child = e.block as u64;
        if child == 0 || !seen.insert(child) {
            return Err(format!("block #{child} referenced twice"));
        }
        if depth < levels {
            let Some((sub, ok, _)) = tree.nodes.get(&child) else {
                return Err(format!("block #{child} is not an index node"));
            };
            if !ok {
                return Err(format!("index block #{child} fails checksum"));
            }
            walk(tree, sub, depth + 1, levels, (h, nhi, ncont), seen)?;
        } else {
            match tree.leaves.get(&child) {
                None => return Err(format!("block #{child} is not a leaf of the directory")),
                Some(None) => {}
                Some(Some((min, max))) => {
                    if (*min as u64) < h {
                        return Err(format!("block #{child} has bad min hash"));
                    }
                    let max = *max as u64;
                    if max > nhi || (max == nhi && !ncont) {
                        return Err(format!("block #{child} has bad max hash"));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Makes `ino` a linear directory: the INDEX flag cleared, the root a
/// leaf holding `.` and `..`, every interior node an empty leaf.
fn make_linear(cx: &mut Fsck, st: &State, ino: InodeNo, tree: &Tree) -> Result<()> {
    let mut raw = cx.read_inode_raw(ino)?;
    let r = Ext4Inode::of_mut(&mut raw).expect("an inode has 128 bytes");
    r.i_flags.set(r.i_flags.get() & !flags::INDEX);
    cx.write_inode_raw(ino, &mut raw)?;
    let generation = match cx.found.dirs.get_mut(&ino) {
        Some(d) => {
            d.indexed = false;
            d.generation
        }
        None => Generation(0),
    };
    let (bs, csum) = (st.bs, st.csum);
    let mut block = vec![0u8; bs];
    if let Some(pblk) = tree.root_pblk {
        cx.read_block_into(pblk, &mut block)?;
        let mut ents = Vec::new();
        let torn = chain::walk(&block, bs, &mut ents).is_some();
        let dot_ok = ents
            .first()
            .is_some_and(|e| e.name_len == 1 && e.name(&block) == b".");
        let dotdot = ents
            .get(1)
            .filter(|e| dot_ok && e.name_len == 2 && e.name(&block) == b"..")
            .map(|e| e.inode);
        let more = ents.iter().skip(2).any(|e| e.inode.0 != 0);
        if !torn && !more && dot_ok {
            // A dx root: '.' and '..' and index data inside '..'.
            init_dot_dotdot(
                &mut block,
                ino.0,
                dotdot.map_or(0, |d| d.0),
                st.filetype,
                csum,
            );
        } else if csum && !fuse4fs_format::ext4::dir::has_tail(&block) {
            // Not a dx root after all (entries pass 2 already checked):
            // only the tail is missing.
            let room = if torn {
                None
            } else {
                super::leaf::make_room_for_tail(&mut block, &mut ents, bs, true)
            };
            if let Some(dropped) = room {
                // Pass 2 counted these entries already.
                for child in dropped {
                    forget_entry(cx, ino, child);
                }
                set_leaf_tail(&mut block);
            } else {
                cx.report
                    .not_fixed("the first block has no room for a checksum tail");
                return Ok(());
            }
        }
        if csum {
            set_leaf_checksum(cx.seed, ino, generation, &mut block);
        }
        cx.write_block(pblk, &block)?;
    }
    for &(_, _, pblk) in tree.nodes.values() {
        init_leaf(&mut block, csum);
        if csum {
            set_leaf_checksum(cx.seed, ino, generation, &mut block);
        }
        debug_assert!(!csum || block.len() > TAIL_SIZE);
        cx.write_block(pblk, &block)?;
    }
    Ok(())
}

/// Takes back what pass 2 counted for an entry of `dir` naming `child`
/// that a repair removed afterwards.
fn forget_entry(cx: &mut Fsck, dir: InodeNo, child: InodeNo) {
    if !cx.inode_in_range(child) {
        return;
    }
    let info = cx.found.inode_mut(child);
    info.refs = info.refs.saturating_sub(1);
    if let Some(d) = cx.found.dirs.get_mut(&child)
        && d.parent == dir
    {
        d.parent = InodeNo(0);
    }
    // The numbers bare (InodeNo's Display says "inode N").
    let (dir, child) = (dir.0, child.0);
    cx.report.note(format!(
        "Directory inode {dir}: entry for inode {child} dropped to make room for the checksum tail."
    ));
}
