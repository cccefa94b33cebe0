//! The problems a check can find, the question each asks, and the tally
//! that decides the exit code.

use std::fmt;

use crate::options::{Mode, Options};

/// Prints a line on stdout, ignoring a closed pipe (`fuse4fs-fsck -fn img |
/// head` must not panic when `head` is done).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// Which part of the check found a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Pass {
    /// Superblock, group descriptors, journal and orphan list, before pass 1.
    Setup,
    Pass1,
    Pass1b,
    Pass2,
    Pass3,
    Pass4,
    Pass5,
}

/// Every kind of problem, named for what is wrong. Tests match on these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    // Setup.
    /// The journal holds transactions not yet written home.
    JournalNeedsRecovery,
    /// The journal superblock or the journal inode is unusable.
    JournalBad,
    /// A group descriptor's checksum does not match.
    GroupDescChecksum,
    /// A group descriptor names bitmaps or an inode table outside the
    /// filesystem or on top of other metadata.
    GroupDescBad,
    /// An inode on the orphan list (kept alive by an open file when the
    /// filesystem was last used) that must now be freed or truncated.
    Orphan,
    /// The orphan list is damaged (names an inode out of range, free, or
    /// still linked, or loops).
    OrphanListBad,

    // Pass 1: inodes.
    /// An inode's checksum does not match its contents.
    InodeChecksum,
    /// i_mode names no file type.
    InodeBadMode,
    /// An in-use inode carries a deletion time.
    InodeDtime,
    /// i_flags combine what cannot be combined, or use a feature the
    /// filesystem lacks.
    InodeBadFlags,
    /// i_extra_isize out of range.
    InodeExtraIsize,
    /// i_faddr (an obsolete fragment address, zero on Linux) is set.
    InodeFaddr,
    /// A reserved inode (root, journal, lost+found …) has the wrong shape.
    ReservedInodeBad,
    /// An extent header (in the inode or in a tree block) is invalid.
    ExtentHeaderBad,
    /// An extent tree block's checksum does not match.
    ExtentChecksum,
    /// An extent or index names blocks outside the filesystem, on fixed
    /// metadata, or out of logical order.
    ExtentBad,
    /// A block-map pointer (direct or indirect) names a block outside the
    /// filesystem or on fixed metadata.
    BlockMapBad,
    /// i_blocks disagrees with the blocks the inode owns.
    IBlocks,
    /// i_size disagrees with the blocks (directories) or is invalid.
    ISize,
    /// A fast symlink or a slow symlink is malformed.
    SymlinkBad,
    /// Inline data is malformed.
    InlineDataBad,
    /// An xattr block is malformed or its checksum does not match.
    XattrBlockBad,
    /// An xattr block's reference count disagrees with the inodes naming it.
    XattrRefcount,
    /// In-inode xattrs are malformed.
    XattrIbodyBad,
    /// Blocks claimed by more than one inode (or by an inode and fixed
    /// metadata).
    MultiplyClaimed,

    // Pass 2: directories.
    /// A directory block's checksum does not match.
    DirBlockChecksum,
    /// A directory leaf block lacks its checksum tail.
    DirTailMissing,
    /// A directory block's entries are malformed (rec_len, name_len).
    DirEntryCorrupt,
    /// An entry names an inode number outside the filesystem.
    DirEntryBadInode,
    /// An entry names an inode that is not in use.
    DirEntryFreeInode,
    /// An entry's file type disagrees with the inode.
    DirEntryFileType,
    /// An entry's name holds '/' or NUL, or is empty.
    DirEntryBadName,
    /// Two entries of one directory have the same name.
    DirEntryDuplicate,
    /// A second link to a directory.
    DirHardLink,
    /// `.` is missing or wrong.
    DirDot,
    /// `..` is missing or wrong.
    DirDotDot,
    /// An htree index is malformed or out of hash order.
    HtreeBad,
    /// A directory has a hole (a logical block with no block behind it).
    DirHole,

    // Pass 3: connectivity.
    /// The root is missing or not a directory.
    RootBad,
    /// A directory cannot be reached from the root.
    DirUnconnected,
    /// `..` names another directory than the one holding the entry.
    DotDotMismatch,
    /// /lost+found is missing or not a directory.
    LostFoundMissing,

    // Pass 4: reference counts.
    /// An in-use inode no directory names.
    InodeUnattached,
    /// i_links_count disagrees with the entries naming the inode.
    LinkCount,
    /// An EA inode's stored reference count disagrees with the xattr
    /// entries naming it.
    EaInodeRefcount,

    // Pass 5: summaries.
    /// The on-disk block bitmap disagrees with the blocks in use.
    BlockBitmap,
    /// The on-disk inode bitmap disagrees with the inodes in use.
    InodeBitmap,
    /// A bitmap checksum in a group descriptor does not match.
    BitmapChecksum,
    /// A group's free block, free inode or directory count is wrong.
    GroupCounts,
    /// A group's uninit flags or itable_unused are wrong.
    GroupFlags,
    /// The superblock's free block or free inode count is wrong.
    SuperblockCounts,
    /// A quota file's usage disagrees with the inodes (after pass 5).
    QuotaUsage,
}

impl Kind {
    /// Whether `-p` may repair this without asking: what an interrupted
    /// writer (or a server killed mid-update without a journal) leaves.
    pub fn preen_ok(self) -> bool {
        use Kind::*;
        matches!(
            self,
            JournalNeedsRecovery
                | Orphan
                | InodeDtime
                | IBlocks
                | XattrRefcount
                | DirEntryFreeInode
                | DirTailMissing
                | InodeUnattached
                | LinkCount
                | EaInodeRefcount
                | BlockBitmap
                | InodeBitmap
                | BitmapChecksum
                | GroupCounts
                | GroupFlags
                | SuperblockCounts
                | QuotaUsage
                | LostFoundMissing
                | DirUnconnected
                | DotDotMismatch
        )
    }
}

/// One problem met, as reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub pass: Pass,
    pub kind: Kind,
    /// The problem in one line, e2fsck-style ("Inode 12, i_blocks is 8,
    /// should be 16.").
    pub message: String,
    /// Whether it was repaired.
    pub fixed: bool,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

/// The problems of one check and how they were answered.
#[derive(Debug, Default)]
pub struct Report {
    mode: Mode,
    print: bool,
    /// Prefix of preen-mode lines (the device name, as e2fsck).
    label: String,
    pass: Option<Pass>,
    pub problems: Vec<Problem>,
    /// Informational lines (journal replayed, counts), also printed.
    pub notes: Vec<String>,
    /// A problem `-p` may not repair was met: e2fsck's "UNEXPECTED
    /// INCONSISTENCY; RUN fsck MANUALLY".
    pub preen_halted: bool,
}

impl Report {
    /// A report for a check with `opts` of the device called `label`.
    pub fn new(opts: &Options, label: &str) -> Self {
        Report {
            mode: opts.mode,
            print: opts.print,
            label: label.to_string(),
            ..Report::default()
        }
    }

    /// Starts pass `p` (its heading is printed outside preen mode).
    pub fn begin(&mut self, p: Pass) {
        self.pass = Some(p);
        if self.print && self.mode != Mode::Preen {
            let heading = match p {
                Pass::Setup => return,
                Pass::Pass1 => "Pass 1: Checking inodes, blocks, and sizes",
                Pass::Pass1b => "Pass 1B: Rescanning for multiply-claimed blocks",
                Pass::Pass2 => "Pass 2: Checking directory structure",
                Pass::Pass3 => "Pass 3: Checking directory connectivity",
                Pass::Pass4 => "Pass 4: Checking reference counts",
                Pass::Pass5 => "Pass 5: Checking group summary information",
            };
            say!("{heading}");
        }
    }

    /// Records a problem and answers whether to repair it: never with
    /// `-n`, always with `-y`, with `-p` only for kinds safe to preen.
    /// A caller told yes must repair (or call [`Report::not_fixed`]).
    pub fn ask(&mut self, kind: Kind, message: String) -> bool {
        let fix = match self.mode {
            Mode::Check => false,
            Mode::Yes => true,
            Mode::Preen => {
                if !kind.preen_ok() {
                    self.preen_halted = true;
                }
                kind.preen_ok() && !self.preen_halted
            }
        };
        if self.print {
            match self.mode {
                Mode::Preen if fix => say!("{}: {message} FIXED.", self.label),
                Mode::Preen => say!(
                    "{}: {message}\n\n{}: UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY.\n\t(i.e., without -a or -p options)",
                    self.label,
                    self.label
                ),
                _ => say!("{message}  Fix? {}\n", if fix { "yes" } else { "no" }),
            }
        }
        self.problems.push(Problem {
            pass: self.pass.unwrap_or(Pass::Setup),
            kind,
            message,
            fixed: fix,
        });
        fix
    }

    /// The last problem asked about could not be repaired after all.
    pub fn not_fixed(&mut self, why: &str) {
        if let Some(p) = self.problems.last_mut() {
            p.fixed = false;
        }
        if self.print {
            say!("{}: could not repair: {why}", self.label);
        }
    }

    /// An informational line.
    pub fn note(&mut self, line: String) {
        if self.print {
            match self.mode {
                Mode::Preen => say!("{}: {line}", self.label),
                _ => say!("{line}"),
            }
        }
        self.notes.push(line);
    }

    /// A line that already names the device (the summary): printed as is.
    pub fn summary(&mut self, line: String) {
        if self.print {
            say!("{line}");
        }
        self.notes.push(line);
    }

    /// Problems left unrepaired.
    pub fn unfixed(&self) -> usize {
        self.problems.iter().filter(|p| !p.fixed).count()
    }

    /// Problems repaired.
    pub fn fixed(&self) -> usize {
        self.problems.iter().filter(|p| p.fixed).count()
    }

    /// Whether a problem of `kind` was reported.
    pub fn has(&self, kind: Kind) -> bool {
        self.problems.iter().any(|p| p.kind == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(mode: Mode) -> Report {
        Report::new(
            &Options {
                mode,
                ..Options::default()
            },
            "img",
        )
    }

    #[test]
    fn answers_follow_the_mode() {
        let mut r = report(Mode::Check);
        assert!(!r.ask(Kind::LinkCount, "x".into()));
        assert_eq!((r.fixed(), r.unfixed()), (0, 1));
        let mut r = report(Mode::Yes);
        assert!(r.ask(Kind::HtreeBad, "x".into()));
        r.not_fixed("no room");
        assert_eq!((r.fixed(), r.unfixed()), (0, 1));
    }

    #[test]
    fn preen_stops_at_the_first_unexpected_problem() {
        let mut r = report(Mode::Preen);
        assert!(r.ask(Kind::LinkCount, "x".into()));
        assert!(!r.ask(Kind::ExtentBad, "y".into()));
        assert!(r.preen_halted);
        // Nothing is repaired after a halt.
        assert!(!r.ask(Kind::BlockBitmap, "z".into()));
        assert_eq!((r.fixed(), r.unfixed()), (1, 2));
    }
}
