//! After pass 5, with the `quota` feature: the usage each quota file
//! records for each user, group and project id, against what the inodes
//! still in use hold (e2fsck's quota check: `[QUOTA WARNING]` lines, then
//! "Update quota info for quota type N"). Counted as e2fsck counts: the
//! root directory and every inode from s_first_ino on except the project
//! quota file and the orphan file, one inode and i_blocks * 512 bytes
//! each, under its uid, gid and (with `project`) project id.
//!
//! A repair rewrites the usage of the entries the file has and adds the
//! missing ones to the file's tree (as the server does); a file that
//! would need more blocks for them is left to e2fsck (reported as not
//! repaired).

use fuse4fs_format::ext4::{BlockNo, InodeNo};
use std::collections::BTreeMap;

use fuse4fs_format::ext4::inode::{Inode, flags};
use fuse4fs_format::ext4::quota::{QUOTA_BLOCK, QuotaFile, QuotaType, charged_inode};
use fuse4fs_format::ext4::superblock::ro_compat;

use crate::blockwalk::{self, Item};
use crate::context::Fsck;
use crate::error::Result;
use crate::problem::Problem;
use fuse4fs_format::ext4::layout::Ext4SuperBlock;

/// Whom an inode's usage is charged to, and how much.
#[derive(Debug, Clone, Copy)]
pub struct Owner {
    pub ids: [u32; 3],
    pub bytes: u64,
    /// Inodes charged: the inode itself and, with ea_inode, one for each
    /// of its entries naming an EA inode.
    pub inodes: u64,
}

/// Records `inode` (checked by pass 1, in use) for the quota check.
/// `ea_refs` is how many of its xattr entries name an EA inode; an EA
/// inode itself is charged to nobody (as e2fsck counts).
pub(crate) fn record(cx: &mut Fsck, inode: &Inode, ea_refs: u64) {
    if !cx.sb.has_ro_compat(ro_compat::QUOTA) {
        return;
    }
    let ino = inode.ino;
    if !charged_inode(&cx.sb, ino.0) || inode.has_flag(flags::EA_INODE) {
        return;
    }
    let owner = Owner {
        ids: [inode.uid, inode.gid, inode.projid.unwrap_or(0)],
        bytes: inode.blocks_512 * 512,
        inodes: 1 + ea_refs,
    };
    cx.found.quota_owners.insert(ino, owner);
}

/// Usage by id: (bytes, inodes).
type Usage = BTreeMap<u32, (u64, u64)>;

/// The usage of the inodes still in use, per quota type.
fn computed(cx: &Fsck) -> [Usage; 3] {
    let mut out: [Usage; 3] = Default::default();
    for (&ino, o) in &cx.found.quota_owners {
        if !cx.found.inode(ino).in_use() {
            continue;
        }
        for (t, usage) in out.iter_mut().enumerate() {
            let u = usage.entry(o.ids[t]).or_default();
            u.0 += o.bytes;
            u.1 += o.inodes;
        }
    }
    out
}

/// A quota file's bytes, and where each of its filesystem blocks is.
struct Loaded {
    data: Vec<u8>,
    /// Physical block of each logical block (block 0: a hole).
    map: Vec<BlockNo>,
}

fn load(cx: &Fsck, ino: InodeNo) -> Result<std::result::Result<Loaded, String>> {
    let inode = match cx.read_inode(ino)? {
        Ok(i) => i,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let bs = cx.bs;
    let size = inode.size;
    if size > (64 << 20) || size % QUOTA_BLOCK as u64 != 0 || size == 0 {
        return Ok(Err(format!("size {size}")));
    }
    let mut map = vec![BlockNo(0); size.div_ceil(bs) as usize];
    let damage = blockwalk::walk(cx, &inode, &mut |item| {
        if let Item::Data {
            lblk, pblk, len, ..
        } = item
        {
            for i in 0..len {
                if let Some(slot) = map.get_mut((lblk + i) as usize) {
                    *slot = pblk.plus(i);
                }
            }
        }
    })?;
    if !damage.is_empty() {
        return Ok(Err("its block tree is damaged".into()));
    }
    let mut data = vec![0u8; map.len() * bs as usize];
    for (i, &p) in map.iter().enumerate() {
        if p.0 != 0 {
            cx.read_block_into(p, &mut data[i * bs as usize..(i + 1) * bs as usize])?;
        }
    }
    data.truncate(size as usize);
    Ok(Ok(Loaded { data, map }))
}

/// Whether `ino` may hold a quota file: none of the reserved inodes
/// with another use (bad blocks, root, boot loader, undelete directory,
/// resize, journal, exclude, replica: 1, 2 and 5 to 10), and within the
/// inode table (e2fsck_validate_quota_inodes).
fn may_be_quota_file(cx: &Fsck, ino: InodeNo) -> bool {
    !matches!(ino.0, 0..=2 | 5..=10) && ino.0 <= cx.sb.inodes_count
}

/// Setup: a quota inode number the superblock names that cannot be a
/// quota file is cleared (e2fsck's PR_0_INVALID_QUOTA_INO), whether or
/// not the quota feature is on, as e2fsck does before pass 1.
pub(crate) fn validate_inodes(cx: &mut Fsck) -> Result<()> {
    for qtype in QuotaType::ALL {
        let ino = InodeNo(cx.sb.quota_inums[qtype as usize]);
        if ino.0 == 0 || may_be_quota_file(cx, ino) {
            continue;
        }
        if !cx.ask(Problem::InvalidQuotaInode { qtype, ino }) {
            continue;
        }
        cx.sb.quota_inums[qtype as usize] = 0;
        // The format crate's superblock writes only the fields it owns.
        let raw =
            Ext4SuperBlock::of_mut(&mut cx.sb_raw).expect("the raw superblock has 1024 bytes");
        match qtype {
            QuotaType::User => raw.s_usr_quota_inum.set(0),
            QuotaType::Group => raw.s_grp_quota_inum.set(0),
            QuotaType::Project => raw.s_prj_quota_inum.set(0),
        }
        cx.write_superblock()?;
    }
    Ok(())
}

/// Checks each quota file the superblock names.
pub(crate) fn run(cx: &mut Fsck) -> Result<()> {
    if !cx.sb.has_ro_compat(ro_compat::QUOTA) {
        return Ok(());
    }
    let usage = computed(cx);
    for qtype in QuotaType::ALL {
        let ino = InodeNo(cx.sb.quota_inums[qtype as usize]);
        // An invalid number was reported at setup (and kept with -n).
        if !may_be_quota_file(cx, ino) {
            continue;
        }
        check_file(cx, qtype, ino, &usage[qtype as usize])?;
    }
    Ok(())
}

fn check_file(cx: &mut Fsck, qtype: QuotaType, ino: InodeNo, usage: &Usage) -> Result<()> {
    let update = Problem::QuotaUsage {
        qtype: qtype as u32,
    };
    // `{ino}` below prints "inode N" (InodeNo's Display), e2fsck's words.
    let file = match load(cx, ino)? {
        Ok(l) => match QuotaFile::parse(&l.data, qtype) {
            Ok(f) => Some((l, f)),
            Err(e) => {
                cx.report.note(format!(
                    "[QUOTA WARNING] {} quota file ({ino}): {e}",
                    qtype.name()
                ));
                None
            }
        },
        Err(why) => {
            cx.report.note(format!(
                "[QUOTA WARNING] {} quota {ino}: {why}",
                qtype.name()
            ));
            None
        }
    };
    let Some((mut loaded, parsed)) = file else {
        if cx.ask(update) {
            cx.report
                .not_fixed("rebuilding a quota file is left to e2fsck");
        }
        return Ok(());
    };
    let mut wrong = Vec::new();
    let mut missing = Vec::new();
    for (&id, d) in &parsed.entries {
        let (bytes, inodes) = usage.get(&id).copied().unwrap_or_default();
        let (fbytes, finodes) = (d.dqb_curspace.get(), d.dqb_curinodes.get());
        if (bytes, inodes) != (fbytes, finodes) {
            cx.report.note(format!(
                "[QUOTA WARNING] Usage inconsistent for ID {id}:actual ({bytes}, {inodes}) != expected ({fbytes}, {finodes})"
            ));
            wrong.push((id, bytes, inodes));
        }
    }
    for (&id, &(bytes, inodes)) in usage {
        if !parsed.entries.contains_key(&id) && (bytes, inodes) != (0, 0) {
            cx.report
                .note(format!("[QUOTA WARNING] Missing quota entry ID {id}"));
            missing.push((id, bytes, inodes));
        }
    }
    if wrong.is_empty() && missing.is_empty() {
        return Ok(());
    }
    if !cx.ask(update) {
        return Ok(());
    }
    for (id, bytes, inodes) in wrong {
        rewrite_usage(cx, &mut loaded, parsed.offsets[&id], bytes, inodes)?;
    }
    if !missing.is_empty() {
        add_entries(cx, ino, &mut loaded, &missing)?;
    }
    Ok(())
}

/// Adds entries for the ids in `missing` (id, bytes, inodes) as the
/// server does (QuotaFile::insert), when the blocks the file already has
/// hold the new tree and data blocks; a file that would need more blocks
/// is left to e2fsck (allocating after pass 5 would unsettle the bitmaps
/// it just checked).
fn add_entries(
    cx: &mut Fsck,
    ino: InodeNo,
    l: &mut Loaded,
    missing: &[(u32, u64, u64)],
) -> Result<()> {
    let mut data = l.data.clone();
    let mut dirty = std::collections::BTreeSet::new();
    for &(id, bytes, inodes) in missing {
        let done = QuotaFile::insert(&mut data, id).and_then(|ins| {
            dirty.extend(ins.dirty);
            dirty.insert((ins.at / QUOTA_BLOCK) as u32);
            QuotaFile::set_usage(&mut data, ins.at, bytes, inodes)
        });
        if let Err(e) = done {
            cx.report.not_fixed(&e.to_string());
            return Ok(());
        }
    }
    let bs = cx.bs as usize;
    let fsbs: std::collections::BTreeSet<usize> = dirty
        .iter()
        .map(|&q| q as usize * QUOTA_BLOCK / bs)
        .collect();
    if fsbs.iter().any(|&i| l.map.get(i).is_none_or(|b| b.0 == 0)) {
        cx.report
            .not_fixed("the quota file needs more blocks for the new entries: left to e2fsck");
        return Ok(());
    }
    for &i in &fsbs {
        write_file_block(cx, &l.map, &data, i)?;
    }
    if data.len() > l.data.len()
        && let Ok(mut inode) = cx.read_inode(ino)?
    {
        inode.size = data.len() as u64;
        cx.write_inode(&inode)?;
    }
    l.data = data;
    Ok(())
}

/// Sets `id`'s usage in its entry, in place.
fn rewrite_usage(cx: &mut Fsck, l: &mut Loaded, at: usize, bytes: u64, inodes: u64) -> Result<()> {
    if let Err(e) = QuotaFile::set_usage(&mut l.data, at, bytes, inodes) {
        cx.report.not_fixed(&e.to_string());
        return Ok(());
    }
    write_file_block(cx, &l.map, &l.data, at / cx.bs as usize)
}

/// Writes filesystem block `i` of a quota file whose bytes are `data`:
/// the file's last block may hold less than a block of it (6 KiB of
/// quota blocks in two 4 KiB blocks), the rest stays as it is on disk.
fn write_file_block(cx: &mut Fsck, map: &[BlockNo], data: &[u8], i: usize) -> Result<()> {
    let bs = cx.bs as usize;
    let mut block = cx.read_block(map[i])?;
    let end = ((i + 1) * bs).min(data.len());
    block[..end - i * bs].copy_from_slice(&data[i * bs..end]);
    cx.write_block(map[i], &block)
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use crate::options::{Mode, Options};
    use crate::problem::Kind;
    use crate::testutil::{debugfs, mkfs, require};

    fn check(img: &std::path::Path, mode: Mode) -> crate::Outcome {
        let opts = Options {
            mode,
            force: true,
            ..Options::default()
        };
        crate::check_path(img, &opts).unwrap()
    }

    /// e2fsck -fn's `[QUOTA WARNING]` lines (it prints them on stderr).
    fn e2fsck_warnings(img: &std::path::Path) -> Vec<String> {
        let out = Command::new("e2fsck").arg("-fn").arg(img).output().unwrap();
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .chain(String::from_utf8_lossy(&out.stdout).lines())
            .filter(|l| l.starts_with("[QUOTA WARNING]"))
            .map(str::to_string)
            .collect()
    }

    fn ours(out: &crate::Outcome) -> Vec<String> {
        (out.notes.iter())
            .filter(|l| l.starts_with("[QUOTA WARNING]"))
            .cloned()
            .collect()
    }

    /// An image whose quota files say less than its inodes hold: mkfs -d
    /// does not count the files it copies in (e2fsck reports them).
    fn populated(dir: &std::path::Path) -> std::path::PathBuf {
        populated_with(dir, &["-O", "quota,project"])
    }

    fn populated_with(dir: &std::path::Path, args: &[&str]) -> std::path::PathBuf {
        let src = dir.join("src");
        std::fs::create_dir_all(src.join("d")).unwrap();
        std::fs::write(src.join("a"), vec![7u8; 10_000]).unwrap();
        std::fs::write(src.join("b"), vec![8u8; 5_000]).unwrap();
        std::fs::write(src.join("d/c"), b"hi").unwrap();
        std::os::unix::fs::chown(src.join("a"), Some(1000), Some(1000)).unwrap();
        std::os::unix::fs::chown(src.join("b"), Some(1001), Some(100)).unwrap();
        mkfs(dir, args, &src, "32M")
    }

    #[test]
    fn the_warnings_are_e2fscks() {
        require(&["mkfs.ext4", "e2fsck"]);
        let dir = tempfile::tempdir().unwrap();
        let img = populated(dir.path());
        let want = e2fsck_warnings(&img);
        assert!(want.len() >= 5, "{want:?}");
        let out = check(&img, Mode::Check);
        assert_eq!(ours(&out), want);
        let kinds: Vec<Kind> = out.problems.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, vec![Kind::QuotaUsage; 3]);
    }

    #[test]
    fn an_invalid_quota_inode_number_is_reported_and_cleared_not_read() {
        require(&["mkfs.ext4", "debugfs"]);
        let dir = tempfile::tempdir().unwrap();
        let img = populated(dir.path());
        // Past the inode table (read, it panicked) and the journal's inode.
        debugfs(&img, "ssv usr_quota_inum 99999");
        debugfs(&img, "ssv grp_quota_inum 8");
        let out = check(&img, Mode::Check);
        let messages: Vec<&str> = out.problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            messages[..2],
            [
                "Invalid user quota inode 99999.",
                "Invalid group quota inode 8."
            ]
        );
        assert!(
            out.problems[..2]
                .iter()
                .all(|p| p.kind == Kind::QuotaInodeBad && !p.fixed)
        );
        let out = check(&img, Mode::Yes);
        assert!(
            out.problems[..2].iter().all(|p| p.fixed),
            "{:#?}",
            out.problems
        );
        let out = check(&img, Mode::Check);
        assert!(
            !out.problems.iter().any(|p| p.kind == Kind::QuotaInodeBad),
            "{:#?}",
            out.problems
        );
    }

    #[test]
    fn a_fresh_quota_image_is_clean() {
        require(&["mkfs.ext4"]);
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(&src).unwrap();
        let img = mkfs(dir.path(), &["-O", "quota,project"], &src, "32M");
        let out = check(&img, Mode::Check);
        assert!(out.problems.is_empty(), "{:#?}", out.problems);
    }

    #[test]
    fn a_repair_rewrites_the_entries_and_adds_those_the_blocks_hold() {
        require(&["mkfs.ext4", "e2fsck"]);
        // 1 KiB blocks: mkfs's quota files fill their blocks exactly, so
        // a new entry needs a block: left to e2fsck.
        let dir = tempfile::tempdir().unwrap();
        let img = populated_with(dir.path(), &["-b", "1024", "-O", "quota,project"]);
        check(&img, Mode::Yes);
        let left = e2fsck_warnings(&img);
        assert!(!left.is_empty());
        assert!(
            left.iter().all(|l| l.contains("Missing quota entry")),
            "{left:?}"
        );
        assert_eq!(ours(&check(&img, Mode::Check)), left);
        // 4 KiB blocks: six quota blocks in two filesystem blocks leave
        // room for the new tree and data blocks: every entry is added.
        let dir = tempfile::tempdir().unwrap();
        let img = populated_with(dir.path(), &["-b", "4096", "-O", "quota,project"]);
        assert!(!e2fsck_warnings(&img).is_empty());
        let out = check(&img, Mode::Yes);
        assert!(out.problems.iter().all(|p| p.fixed), "{:#?}", out.problems);
        assert_eq!(e2fsck_warnings(&img), Vec::<String>::new());
        assert!(check(&img, Mode::Check).problems.is_empty());
    }
}
