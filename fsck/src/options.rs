//! How a check runs: e2fsck's `-n`, `-y`, `-p`, `-f` and `-v`.

/// What to do with a problem found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// `-n`: open read-only, answer no to every question.
    #[default]
    Check,
    /// `-y`: answer yes to every question.
    Yes,
    /// `-p`: repair what is safe without a human (what an interrupted
    /// writer leaves); anything else stops the repair with exit code 4.
    Preen,
}

/// The options of one check.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub mode: Mode,
    /// `-f`: check even when the filesystem is marked clean.
    pub force: bool,
    /// `-v`: after the summary line, what the filesystem holds (inodes
    /// and blocks used, files of each type), as e2fsck -v.
    pub verbose: bool,
    /// Draw a progress bar (the CLI sets this on a terminal).
    pub progress: bool,
    /// Print problems as they are found (the library's callers inside a
    /// server keep this off and read [`crate::Outcome::problems`]).
    pub print: bool,
    /// Orphans to leave alone: inodes a live mount still holds open (a
    /// recovering server checks before it hands them back to the kernel's
    /// open files). They stay on the orphan list, in use, with no links.
    pub keep_orphans: std::collections::BTreeSet<fuse4fs_format::ext4::InodeNo>,
    /// Where the filesystem starts in the image (`--offset`: a partition
    /// of a whole-disk image); nothing before it is read or written.
    pub offset: u64,
    /// Its length from `offset` (`--size`: the partition's); None: to the
    /// end of the file. Nothing past it is read or written.
    pub size: Option<u64>,
}

impl Options {
    /// Whether the device may be written.
    pub fn writable(&self) -> bool {
        self.mode != Mode::Check
    }
}
