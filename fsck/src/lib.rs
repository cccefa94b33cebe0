//! fuse4fs-fsck: an ext2/3/4 checker and repairer, modelled on e2fsck.
//!
//! Built on the format crate alone (`fuse4fs-format`): no filesystem
//! operations, no FUSE. The passes follow e2fsck's:
//! - setup ([`journal`], [`setup`], [`orphan`]): the journal replayed
//!   (or reported with `-n`), the group descriptors checked, the orphan
//!   list processed;
//! - [`pass1`]: every in-use inode and the blocks it owns; [`pass1b`]:
//!   blocks claimed twice;
//! - [`pass2`]: every directory block;
//! - [`pass3`]: every directory reachable from the root;
//! - [`pass4`]: link counts against the entries naming each inode;
//! - [`pass5`]: bitmaps and counters against what the passes found.
//!
//! Every pass reads and writes the device through [`context::Fsck`].

pub mod alloc;
pub mod blockwalk;
pub mod context;
pub mod device;
pub mod dirops;
pub mod error;
pub mod inode_table;
pub mod journal;
pub mod options;
pub mod orphan;
pub mod pass1;
pub mod pass1b;
pub mod pass2;
pub mod pass3;
pub mod pass4;
pub mod pass5;
pub mod problem;
pub mod progress;
pub mod quota;
pub mod report;
pub mod setup;
#[cfg(test)]
mod testutil;
#[cfg(test)]
mod unused_inodes_tests;

use std::path::Path;

use fuse4fs_format::ext4::layout::Ext4SuperBlock;
use fuse4fs_format::ext4::superblock::{STATE_ERROR, STATE_VALID, incompat};

pub use context::Fsck;
pub use device::Device;
pub use error::{FsckError, Result};
pub use options::{Mode, Options};
pub use problem::{Kind, Preen, Problem, Prompt};
pub use report::{Finding, Pass};

/// e2fsck's exit codes.
pub mod exit {
    /// No problems.
    pub const CLEAN: i32 = 0;
    /// Problems found and all repaired.
    pub const FIXED: i32 = 1;
    /// Problems left unrepaired.
    pub const UNCORRECTED: i32 = 4;
    /// The check could not be carried out.
    pub const ERROR: i32 = 8;
    /// Wrong usage.
    pub const USAGE: i32 = 16;
}

/// What a check found and did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub problems: Vec<Finding>,
    /// Informational lines (journal replayed, the final counts).
    pub notes: Vec<String>,
    /// Whether the device was changed (repairs or a journal replay).
    pub modified: bool,
    /// The filesystem was marked clean and `-f` was not given: nothing
    /// was checked.
    pub skipped_clean: bool,
    /// `-p` met a problem it may not repair.
    pub preen_halted: bool,
    /// Inodes and blocks in use, as the summary line reports them.
    pub inodes_used: u64,
    pub blocks_used: u64,
}

impl Outcome {
    /// The exit code e2fsck would give.
    pub fn exit_code(&self) -> i32 {
        if self.preen_halted || self.problems.iter().any(|p| !p.fixed) {
            exit::UNCORRECTED
        } else if self.modified {
            exit::FIXED
        } else {
            exit::CLEAN
        }
    }

    /// Problems of one kind.
    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &Finding> {
        self.problems.iter().filter(move |p| p.kind == kind)
    }
}

/// Checks the filesystem in the image or device at `path`.
pub fn check_path(path: &Path, opts: &Options) -> Result<Outcome> {
    let dev = Device::open_in(path, opts.writable(), opts.offset, opts.size)?;
    check(dev, opts, &path.display().to_string())
}

/// Checks the filesystem on `dev`; `label` names it in messages.
pub fn check(dev: Device, opts: &Options, label: &str) -> Result<Outcome> {
    let mut cx = Fsck::open(dev, opts.clone(), label)?;
    let sb = &cx.sb;
    let needs_check = opts.force
        || sb.state & STATE_VALID == 0
        || sb.state & STATE_ERROR != 0
        || sb.has_incompat(incompat::RECOVER)
        || sb.last_orphan != 0
        // Impossible free counts (as e2fsck: "contains a file system
        // with errors").
        || sb.free_inodes_count > sb.inodes_count
        || sb.free_blocks_count > sb.blocks_count;
    if !needs_check {
        let inodes_used = sb.inodes_count.saturating_sub(sb.free_inodes_count) as u64;
        let blocks_used = sb.blocks_count.saturating_sub(sb.free_blocks_count);
        let line = format!(
            "{label}: clean, {inodes_used}/{} files, {blocks_used}/{} blocks",
            sb.inodes_count, sb.blocks_count
        );
        cx.report.summary(line);
        return Ok(Outcome {
            notes: cx.report.notes,
            skipped_clean: true,
            inodes_used,
            blocks_used,
            ..Outcome::default()
        });
    }
    if cx.sb.state & STATE_ERROR != 0 {
        // Not a problem of its own (e2fsck -n exits 0 for it): a full
        // check follows, and a writable one clears the flag (exit 1).
        cx.report.note(format!(
            "{label} contains a file system with errors, check forced."
        ));
    }
    run_passes(&mut cx)?;
    finish(&mut cx)?;
    cx.progress.finish();
    // Reserved inodes count as used whatever they hold (as the bitmaps
    // and e2fsck's summary have them).
    let reserved = cx.sb.first_ino.saturating_sub(1).min(cx.sb.inodes_count);
    let inodes_used = reserved as u64
        + cx.found
            .inodes
            .iter()
            .filter(|(ino, n)| ino.0 > reserved && n.in_use())
            .count() as u64;
    let nblocks = cx.sb.blocks_count;
    let blocks_used = nblocks - cx.found.blocks.count_zeros(nblocks as usize) as u64;
    let summary = format!(
        "{label}: {inodes_used}/{} files, {blocks_used}/{} blocks",
        cx.sb.inodes_count, cx.sb.blocks_count
    );
    cx.report.summary(summary);
    if opts.verbose {
        for line in census(&cx, inodes_used, blocks_used) {
            cx.report.summary(line);
        }
    }
    Ok(Outcome {
        problems: std::mem::take(&mut cx.report.problems),
        notes: std::mem::take(&mut cx.report.notes),
        modified: cx.modified,
        skipped_clean: false,
        preen_halted: cx.report.preen_halted,
        inodes_used,
        blocks_used,
    })
}

/// `-v`: what the filesystem holds, as e2fsck -v lists it.
fn census(cx: &Fsck, inodes_used: u64, blocks_used: u64) -> Vec<String> {
    use fuse4fs_format::ext4::InodeNo;
    use fuse4fs_format::ext4::inode::mode;
    let mut by_type = [0u64; 16];
    let mut links = 0u64;
    for (ino, n) in cx.found.inodes.iter() {
        if n.in_use() && (ino.0 >= cx.sb.first_ino || ino == InodeNo::ROOT) {
            by_type[n.ftype as usize & 15] += 1;
            links += n.refs as u64;
        }
    }
    let t = |m: u16| by_type[(m >> 12) as usize];
    let pct = |a: u64, b: u64| {
        if b == 0 {
            0.0
        } else {
            a as f64 * 100.0 / b as f64
        }
    };
    vec![
        format!(
            "{inodes_used:>12} inodes used ({:.2}%, out of {})",
            pct(inodes_used, cx.sb.inodes_count as u64),
            cx.sb.inodes_count
        ),
        format!(
            "{blocks_used:>12} blocks used ({:.2}%, out of {})",
            pct(blocks_used, cx.sb.blocks_count),
            cx.sb.blocks_count
        ),
        format!("{:>12} regular files", t(mode::S_IFREG)),
        format!("{:>12} directories", t(mode::S_IFDIR)),
        format!("{:>12} character device files", t(mode::S_IFCHR)),
        format!("{:>12} block device files", t(mode::S_IFBLK)),
        format!("{:>12} fifos", t(mode::S_IFIFO)),
        format!("{:>12} symbolic links", t(mode::S_IFLNK)),
        format!("{:>12} sockets", t(mode::S_IFSOCK)),
        format!("{links:>12} directory entries naming them"),
    ]
}

/// The passes in e2fsck's order.
fn run_passes(cx: &mut Fsck) -> Result<()> {
    cx.report.begin(Pass::Setup);
    journal::run(cx)?;
    // Each restart has cleared an INODE_UNINIT flag or an itable_unused
    // for good: there are at most two per group.
    loop {
        setup::run(cx)?;
        orphan::run(cx)?;
        cx.report.begin(Pass::Pass1);
        pass1::run(cx)?;
        if !cx.found.dup_blocks.is_empty() {
            cx.report.begin(Pass::Pass1b);
            pass1b::run(cx)?;
        }
        cx.report.begin(Pass::Pass2);
        pass2::run(cx)?;
        if cx.restart.is_empty() {
            break;
        }
        for g in std::mem::take(&mut cx.restart) {
            cx.write_group_desc(g)?;
        }
        cx.report
            .note("Restarting e2fsck from the beginning...".to_string());
        cx.reload()?;
        cx.report.begin(Pass::Setup);
    }
    cx.report.begin(Pass::Pass3);
    pass3::run(cx)?;
    cx.report.begin(Pass::Pass4);
    pass4::run(cx)?;
    setup::relocate_bitmaps(cx)?;
    cx.report.begin(Pass::Pass5);
    pass5::run(cx)?;
    quota::run(cx)?;
    Ok(())
}

/// After a writable check with nothing left unrepaired: the filesystem
/// is marked valid and free of errors, and the check time recorded.
fn finish(cx: &mut Fsck) -> Result<()> {
    if !cx.dev.writable() || cx.report.unfixed() > 0 || cx.report.preen_halted {
        return Ok(());
    }
    let modified = cx.modified;
    let had_errors = cx.sb.state & STATE_ERROR != 0;
    cx.sb.state = (cx.sb.state | STATE_VALID) & !STATE_ERROR;
    cx.sb.mnt_count = 0;
    let now = context::now_secs();
    // s_lastcheck: not modelled by the format crate's superblock.
    Ext4SuperBlock::of_mut(&mut cx.sb_raw)
        .expect("the raw superblock has 1024 bytes")
        .s_lastcheck
        .set(now);
    cx.write_superblock()?;
    cx.dev.flush()?;
    // Recording the check is not a repair (e2fsck exits 0 after it);
    // clearing the error flag is.
    cx.modified = modified || had_errors;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{debugfs, mkfs, require};

    fn opts(mode: Mode, force: bool) -> Options {
        Options {
            mode,
            force,
            ..Options::default()
        }
    }

    #[test]
    fn clean_skips_unless_forced_and_error_flag_forces_a_check() {
        require(&["mkfs.ext4", "debugfs", "e2fsck"]);
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir(&src).unwrap();
        std::fs::write(src.join("f"), b"data").unwrap();
        let img = mkfs(dir.path(), &["-b", "4096"], &src, "8M");
        let out = check_path(&img, &opts(Mode::Check, false)).unwrap();
        assert!(out.skipped_clean);
        assert_eq!(out.exit_code(), exit::CLEAN);
        let out = check_path(&img, &opts(Mode::Check, true)).unwrap();
        assert!(!out.skipped_clean && out.problems.is_empty());
        // The error flag: checked without -f, not a problem by itself
        // with -n (as e2fsck), cleared by a writable check (exit 1).
        debugfs(&img, "ssv state 3");
        let out = check_path(&img, &opts(Mode::Check, false)).unwrap();
        assert!(!out.skipped_clean);
        assert_eq!(out.exit_code(), exit::CLEAN, "{:?}", out.problems);
        let out = check_path(&img, &opts(Mode::Yes, false)).unwrap();
        assert_eq!(out.exit_code(), exit::FIXED);
        let out = check_path(&img, &opts(Mode::Check, false)).unwrap();
        assert!(
            out.skipped_clean,
            "the flag was cleared and the state made valid"
        );
        assert!(crate::testutil::e2fsck(&img).0);
    }

    /// A filesystem marked clean whose free counts exceed its totals is
    /// checked (e2fsck: "contains a file system with errors"), and its
    /// counts never underflow.
    #[test]
    fn impossible_free_counts_force_a_check() {
        require(&["mkfs.ext4", "debugfs"]);
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(&src).unwrap();
        let img = mkfs(dir.path(), &["-b", "1024"], &src, "8M");
        for field in [
            "free_inodes_count 4000000000",
            "free_blocks_count 4000000000",
        ] {
            let copy = dir.path().join("copy");
            std::fs::copy(&img, &copy).unwrap();
            debugfs(&copy, &format!("ssv {field}"));
            let out = check_path(&copy, &Options::default()).unwrap();
            assert!(!out.skipped_clean, "{field}");
            let yes = Options {
                mode: Mode::Yes,
                ..Options::default()
            };
            let out = check_path(&copy, &yes).unwrap();
            assert!(!out.skipped_clean && out.modified, "{field}");
            let cx =
                Fsck::open(Device::open(&copy, false).unwrap(), Options::default(), "x").unwrap();
            assert!(cx.sb.free_inodes_count <= cx.sb.inodes_count, "{field}");
            assert!(cx.sb.free_blocks_count <= cx.sb.blocks_count, "{field}");
        }
    }
}
