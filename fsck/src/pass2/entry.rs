//! The checks of one directory entry against the inode it names: the
//! inode number, the name, the file type, duplicates and second links to
//! a directory; entries that survive are counted for pass 4.

use fuse4fs_format::ext4::InodeNo;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use fuse4fs_format::ext4::casefold;
use fuse4fs_format::ext4::dir::{DirEntryRef, stored_hashes};
use fuse4fs_format::ext4::hash::dx_hash;
use fuse4fs_format::ext4::layout::Ext4DirEntry2;

use super::State;
use super::chain::{self, Ent};
use super::htree::LeafHash;
use fuse4fs_format::ext4::group::BG_INODE_UNINIT;

use crate::context::Fsck;
use crate::problem::Problem;

/// The names seen so far in each directory, to find duplicates across
/// its blocks without an allocation per name: a map from a hash of
/// (directory, name) to the name's place in one arena.
#[derive(Default)]
pub(super) struct Names {
    map: HashMap<u64, (InodeNo, u32), BuildHasherDefault<Prehashed>>,
    arena: Vec<u8>,
}

impl Names {
    /// Room for about `n` names.
    pub fn with_capacity(n: usize) -> Self {
        Names {
            map: HashMap::with_capacity_and_hasher(n, Default::default()),
            arena: Vec::with_capacity(n * 16),
        }
    }

    /// Records `name` in `dir`; false when it was already there.
    pub fn insert(&mut self, dir: InodeNo, name: &[u8]) -> bool {
        let key = fnv1a(name) ^ (dir.0 as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        match self.map.get(&key) {
            Some(&(d, at)) => {
                let at = at as usize;
                let len = self.arena[at] as usize;
                // Two names with one 64-bit hash but different bytes are
                // not duplicates; the second is simply not remembered.
                d != dir || self.arena[at + 1..at + 1 + len] != *name
            }
            None => {
                if let Ok(at) = u32::try_from(self.arena.len()) {
                    self.arena.push(name.len() as u8);
                    self.arena.extend_from_slice(name);
                    self.map.insert(key, (dir, at));
                }
                true
            }
        }
    }
}

/// A hasher for keys that are hashes already.
#[derive(Default)]
pub(super) struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) ^ b as u64;
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

fn fnv1a(b: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &x in b {
        h ^= x as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// What an entry's checks concluded.
enum Verdict {
    /// The entry must go, for this problem.
    Clear(Problem),
    Keep,
}

/// Checks the entries of `region` (a leaf block's entry area or an
/// inline area) of directory `dir` from index `skip` on (past `.` and
/// `..` in a first block). Returns whether the region was changed, and
/// the range of major hashes of the live entries when `hash` is given
/// (an indexed directory's leaf).
pub(super) fn check(
    cx: &mut Fsck,
    st: &mut State,
    dir: InodeNo,
    region: &mut [u8],
    ents: &mut Vec<Ent>,
    skip: usize,
    hash: Option<LeafHash>,
) -> (bool, Option<(u32, u32)>) {
    let bs = st.bs;
    let ci = cx.found.dirs.get(&dir).is_some_and(|d| d.casefold);
    let mut changed = false;
    let mut range: Option<(u32, u32)> = None;
    let mut i = skip;
    // Each turn either advances or removes an entry: bounded by the count.
    while i < ents.len() {
        let e = ents[i];
        if e.inode.0 == 0 {
            i += 1;
            continue;
        }
        let verdict = verdict(cx, dir, region, &e);
        if let Verdict::Clear(Problem::UnusedInode { .. }) = verdict
            && (skipped_by_pass1(cx, dir, region, &e) || !cx.restart.is_empty())
        {
            // Pass 1 may not have read the inode: neither cleared nor
            // counted; the check restarts after this pass.
            i += 1;
            continue;
        }
        if let Verdict::Clear(problem) = verdict {
            if cx.ask(problem) {
                i = chain::remove_next(region, ents, i, bs);
                changed = true;
            } else {
                i += 1;
            }
            continue;
        }
        let name = e.name(region);
        // Ciphertext may hold any byte (e2fsck's check_name is skipped in
        // an encrypted directory).
        let encrypted = cx.found.encrypted.contains(&dir);
        if !encrypted && name.iter().any(|&c| c == b'/' || c == 0) {
            let name = name.to_vec();
            if cx.ask(Problem::IllegalCharacters { dir, name }) {
                let name_at = e.off + Ext4DirEntry2::NAME_OFFSET;
                for c in &mut region[name_at..][..e.name_len] {
                    if *c == b'/' || *c == 0 {
                        *c = b'.';
                    }
                }
                changed = true;
            }
        }
        let info = *cx.found.inode(e.inode);
        let want_ft = if st.filetype { info.entry_type() } else { 0 };
        if e.ft != want_ft
            && cx.ask(Problem::FileType {
                dir,
                name: e.name(region).to_vec(),
                ino: e.inode,
                have: e.ft,
                want: want_ft,
            })
        {
            chain::head_mut(region, e.off).file_type = want_ft;
            ents[i].ft = want_ft;
            changed = true;
        }
        if encrypted
            && let Some(problem) = encrypted_problem(cx, dir, e.name(region), &e)
            && cx.ask(problem)
        {
            i = chain::remove_next(region, ents, i, bs);
            changed = true;
            continue;
        }
        let name = e.name(region);
        // Byte for byte even in a casefolded directory: e2fsck's pass 2
        // does not flag two spellings of one name (only its -D rehash
        // does; docs/casefold.md).
        if !st.names.insert(dir, name) {
            let name = name.to_vec();
            if cx.ask(Problem::DuplicateEntry { dir, name }) {
                i = chain::remove_next(region, ents, i, bs);
                changed = true;
                continue;
            }
        }
        if info.is_dir() {
            let parent = cx.found.dirs.get(&e.inode).map_or(InodeNo(0), |d| d.parent);
            if parent.0 != 0 {
                // Not counted either way: the directory has one parent.
                if cx.ask(Problem::DirectoryHardLink {
                    dir,
                    name: e.name(region).to_vec(),
                    ino: e.inode,
                    parent,
                }) {
                    i = chain::remove_next(region, ents, i, bs);
                    changed = true;
                } else {
                    i += 1;
                }
                continue;
            }
            if let Some(d) = cx.found.dirs.get_mut(&e.inode) {
                d.parent = dir;
            }
        }
        let refs = &mut cx.found.inode_mut(e.inode).refs;
        *refs = refs.saturating_add(1);
        let placed = match hash {
            Some(LeafHash::Computed(v)) => {
                let name = e.name(region);
                let input = if ci {
                    casefold::hash_input(name)
                } else {
                    std::borrow::Cow::Borrowed(name)
                };
                Some(dx_hash(&input, v, &cx.sb.hash_seed).0)
            }
            Some(LeafHash::Stored) => {
                let at = DirEntryRef {
                    offset: e.off,
                    inode: e.inode.0,
                    rec_len: e.rec_len,
                    file_type: e.ft,
                    name: e.name(region),
                };
                // A record without room for its hashes places nothing.
                stored_hashes(region, &at).ok().map(|(h, _)| h)
            }
            None => None,
        };
        if let Some(h) = placed {
            range = Some(range.map_or((h, h), |(lo, hi)| (lo.min(h), hi.max(h))));
        }
        i += 1;
    }
    (changed, range)
}

/// Whether the entry names an inode pass 1 skipped because its group's
/// descriptor says it was never used (INODE_UNINIT, or past
/// itable_unused). Asks to repair the descriptor (in memory; written
/// after this pass, when the check starts again, as e2fsck's does).
fn skipped_by_pass1(cx: &mut Fsck, dir: InodeNo, region: &[u8], e: &Ent) -> bool {
    if !(cx.sb.metadata_csum() || cx.sb.gdt_csum()) {
        return false;
    }
    let ipg = cx.sb.inodes_per_group;
    let g = (e.inode.0 - 1) / ipg;
    let Some(gd) = cx.groups.get(g as usize).copied() else {
        return false;
    };
    let uninit = gd.flags & BG_INODE_UNINIT != 0;
    let first_unused = g as u64 * ipg as u64 + 1 + ipg.saturating_sub(gd.itable_unused) as u64;
    if !uninit && (e.inode.0 as u64) < first_unused {
        return false;
    }
    let (name, ino, group) = (e.name(region).to_vec(), e.inode, g);
    let problem = if uninit {
        Problem::EntryInUninitGroup {
            dir,
            name,
            ino,
            group,
        }
    } else {
        Problem::EntryInUnusedArea {
            dir,
            name,
            ino,
            group,
        }
    };
    if !cx.ask(problem) {
        return false;
    }
    let gd = &mut cx.groups[g as usize];
    if uninit {
        gd.flags &= !BG_INODE_UNINIT;
    } else {
        gd.itable_unused = 0;
    }
    cx.restart.push(g);
    true
}

/// The checks whose repair is removing the entry, in e2fsck's order.
fn verdict(cx: &Fsck, dir: InodeNo, region: &[u8], e: &Ent) -> Verdict {
    let name = e.name(region);
    let ino = e.inode;
    if name.is_empty() {
        return Verdict::Clear(Problem::ZeroLengthName { dir, ino });
    }
    if name == b"." || name == b".." {
        let name = name.to_vec();
        return Verdict::Clear(Problem::DuplicateDot { dir, name });
    }
    if ino.0 > cx.sb.inodes_count || (ino.0 < cx.sb.first_ino && ino != InodeNo::ROOT) {
        let name = name.to_vec();
        return Verdict::Clear(Problem::BadInodeNumber { dir, name, ino });
    }
    if ino == InodeNo::ROOT {
        let name = name.to_vec();
        return Verdict::Clear(Problem::LinkToRoot { dir, name });
    }
    if ino == dir {
        let name = name.to_vec();
        return Verdict::Clear(Problem::LinkToDot { dir, name });
    }
    if !cx.found.inode(ino).in_use() {
        let name = name.to_vec();
        return Verdict::Clear(Problem::UnusedInode { dir, name, ino });
    }
    Verdict::Keep
}

/// What is wrong with an entry of an encrypted directory, as e2fsck's
/// check_encrypted_dirent: a ciphertext name is at least one AES block
/// long, and what the entry names is encrypted too unless it is a device,
/// fifo or socket (judged by the entry's file type when it has one).
/// Whether both have the same policy is not compared here. An entry kept
/// against the advice is counted as any other (e2fsck -n goes on).
fn encrypted_problem(cx: &Fsck, dir: InodeNo, name: &[u8], e: &Ent) -> Option<Problem> {
    use fuse4fs_format::ext4::dir::ft;
    if name.len() < fuse4fs_format::ext4::crypt::MIN_CIPHERTEXT {
        let name = name.to_vec();
        return Some(Problem::EncryptedNameShort { dir, name });
    }
    let ftype = if e.ft != ft::UNKNOWN {
        e.ft
    } else {
        cx.found.inode(e.inode).entry_type()
    };
    let needs = matches!(ftype, ft::REG | ft::DIR | ft::SYMLINK);
    if needs && !cx.found.encrypted.contains(&e.inode) {
        let name = name.to_vec();
        let ino = e.inode;
        return Some(Problem::EncryptedToUnencrypted { dir, name, ino });
    }
    None
}
