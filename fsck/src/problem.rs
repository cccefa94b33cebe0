//! The problems a check can find: one table, as e2fsck's `problem.c`.
//!
//! Every problem is a [`Problem`] variant carrying its context as typed
//! fields (inode, block, group, counts, names). [`Problem::row`] is the
//! table: for each variant the [`Prompt`] it asks (e2fsck's for the same
//! problem code, which the row names), its [`Kind`] (the family tests and
//! callers match on), its preen rule and its message. Nothing else words a
//! problem; call sites build the variant and ask
//! ([`crate::report::Report::ask`]). docs/fsck-problems.md says how to
//! add one.

use std::fmt;

use fuse4fs_format::ext4::quota::QuotaType;
use fuse4fs_format::ext4::{BlockNo, InodeNo};

/// Every family of problem, named for what is wrong. Tests and callers
/// match on these; a family holds the several [`Problem`]s that repair
/// the same structure.
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
    /// The superblock names a quota file at an inode that cannot be one.
    QuotaInodeBad,

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

/// What `-p` does with a problem (e2fsck's PR_PREEN_OK, PR_PREEN_NOMSG
/// and PR_NO_NOMSG flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preen {
    /// Repaired without asking: what an interrupted writer (or a server
    /// killed mid-update without a journal) leaves.
    Fix,
    /// Needs a human: preen stops repairing ("UNEXPECTED
    /// INCONSISTENCY; RUN fsck MANUALLY").
    Halt,
    /// Repaired silently with `-p`, a note (not a problem) with `-n`,
    /// asked with `-y`: stale summary counts every mount rewrites.
    Quiet,
}

/// Which of a group's two bitmaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhichBitmap {
    Block,
    Inode,
}

impl fmt::Display for WhichBitmap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WhichBitmap::Block => "Block bitmap",
            WhichBitmap::Inode => "Inode bitmap",
        })
    }
}

/// A summary count, of a group or of the superblock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    FreeBlocks,
    FreeInodes,
    Directories,
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Count::FreeBlocks => "Free blocks",
            Count::FreeInodes => "Free inodes",
            Count::Directories => "Directories",
        })
    }
}

/// Why an extent is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtentFault {
    ZeroLength,
    OutsideFilesystem,
    OutOfOrder,
}

impl fmt::Display for ExtentFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExtentFault::ZeroLength => "zero length",
            ExtentFault::OutsideFilesystem => "blocks outside the filesystem",
            ExtentFault::OutOfOrder => "out of order or outside its parent's range",
        })
    }
}

/// Another claimant of a multiply-claimed block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claimant {
    Inode(InodeNo),
    /// Fixed metadata (superblock, descriptors, bitmaps, inode tables).
    Metadata,
    /// An xattr block.
    XattrBlock,
}

impl fmt::Display for Claimant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Claimant::Inode(InodeNo(o)) => write!(f, "inode #{o}"),
            Claimant::Metadata => f.write_str("<filesystem metadata>"),
            Claimant::XattrBlock => f.write_str("<extended attribute block>"),
        }
    }
}

/// An orphan as the orphan messages name it (e2fsck's "%s orphaned
/// inode %i (uid=%Iu, gid=%Ig, mode=%Im, size=%Is)").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrphanId {
    pub ino: InodeNo,
    pub uid: u32,
    pub gid: u32,
    pub mode: u16,
    pub size: u64,
}

impl fmt::Display for OrphanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "orphaned inode {} (uid={}, gid={}, mode=0{:o}, size={})",
            self.ino.0, self.uid, self.gid, self.mode, self.size
        )
    }
}

/// Every problem with its context. `ino` is an inode, `dir` the
/// directory holding an entry, `block` a physical block, `lblk` a logical
/// one, `group` a block group, `have`/`want` a stored value and the
/// right one; `name` an entry's raw bytes. The wording is in
/// [`Problem::row`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    // Setup: superblock and group descriptors.
    ReservedBlocks {
        r_blocks: u64,
    },
    InodeTableOutside {
        group: u32,
        block: BlockNo,
    },
    InodeTableOverlap {
        group: u32,
    },
    BitmapOutside {
        group: u32,
        which: WhichBitmap,
        block: BlockNo,
    },
    BitmapOverlap {
        group: u32,
        which: WhichBitmap,
        block: BlockNo,
    },
    GroupDescChecksum {
        group: u32,
        have: u16,
        want: u16,
    },
    ItableUnusedInvalid {
        group: u32,
        unused: u32,
    },
    InvalidQuotaInode {
        qtype: QuotaType,
        ino: InodeNo,
    },

    // Setup: the journal.
    RecoverFlagWithoutJournal,
    ExternalJournalRecovery,
    JournalUnsupported {
        what: String,
    },
    JournalInvalid {
        ino: InodeNo,
        why: String,
    },
    JournalNeedsRecovery,
    JournalDataWithoutFlag,
    JournalReplayFailed {
        why: String,
    },

    // Setup: the orphan list and the orphan file.
    OrphanListWithErrors {
        head: InodeNo,
    },
    OrphanListOutOfRange {
        ino: InodeNo,
    },
    OrphanListLoop {
        ino: InodeNo,
    },
    OrphanListFree {
        ino: InodeNo,
    },
    OrphanClear {
        orphan: OrphanId,
    },
    OrphanTruncate {
        orphan: OrphanId,
    },
    OrphanFileOutOfRange {
        ino: InodeNo,
    },
    OrphanFileDamaged {
        ino: InodeNo,
    },
    OrphanSlotOutOfRange {
        ino: InodeNo,
    },
    OrphanSlotTwice {
        ino: InodeNo,
    },
    OrphanSlotFree {
        ino: InodeNo,
    },

    // Pass 1: inode fields.
    InodeGarbage {
        ino: InodeNo,
    },
    InodeUnreadable {
        ino: InodeNo,
        why: String,
    },
    OrphanDtime {
        ino: InodeNo,
    },
    DeletedZeroDtime {
        ino: InodeNo,
    },
    ExtraIsize {
        ino: InodeNo,
        have: u16,
        want: u16,
    },
    IbodyCorrupt {
        ino: InodeNo,
        why: String,
    },
    XattrHash {
        ino: InodeNo,
        hash: u32,
    },
    EaValueInodeIllegal {
        ino: InodeNo,
        ea_ino: InodeNo,
    },
    EaInodeFlagMissing {
        ino: InodeNo,
        ea_ino: InodeNo,
    },
    SizeHighDir {
        ino: InodeNo,
        high: u32,
    },
    BlocksHigh {
        ino: InodeNo,
        high: u16,
    },
    FileAclHigh {
        ino: InodeNo,
        high: u16,
    },
    Faddr {
        ino: InodeNo,
        faddr: u32,
    },
    SizeTooLarge {
        ino: InodeNo,
        high: u32,
    },
    BadMode {
        ino: InodeNo,
        mode: u16,
    },
    RootNotDirectory,
    JournalInodeNotRegular {
        ino: InodeNo,
    },
    InUseDtime {
        ino: InodeNo,
    },
    ExtentsFlagWithoutFeature {
        ino: InodeNo,
    },
    InlineFlagWithoutFeature {
        ino: InodeNo,
    },
    EncryptFlagWithoutXattr {
        ino: InodeNo,
    },
    ImagicFlag {
        ino: InodeNo,
    },
    SpecialFlags {
        ino: InodeNo,
        flags: u32,
    },
    SpecialSize {
        ino: InodeNo,
        size: u64,
    },
    ExtentsAndInline {
        ino: InodeNo,
    },
    IndexFlagNotDirectory {
        ino: InodeNo,
    },
    IndexFlagWithoutFeature {
        ino: InodeNo,
    },
    ExtentsFlagMissing {
        ino: InodeNo,
    },
    FastSymlinkExtents {
        ino: InodeNo,
    },
    FastSymlinkSize {
        ino: InodeNo,
        len: usize,
        size: u64,
    },
    InlineWithoutXattr {
        ino: InodeNo,
    },
    InlineSize {
        ino: InodeNo,
        size: u64,
        want: u64,
    },
    InodeChecksum {
        ino: InodeNo,
    },

    // Pass 1: block trees, sizes and xattr blocks.
    TooManyBlocks {
        ino: InodeNo,
        extents: bool,
    },
    ZeroLengthDirectory {
        ino: InodeNo,
    },
    SlowSymlinkSize {
        ino: InodeNo,
        size: u64,
    },
    ExtentRoot {
        ino: InodeNo,
        why: String,
    },
    ExtentNode {
        ino: InodeNo,
        block: BlockNo,
        why: String,
    },
    ExtentChecksum {
        ino: InodeNo,
        block: BlockNo,
    },
    Extent {
        ino: InodeNo,
        lblk: u64,
        block: BlockNo,
        len: u64,
        fault: ExtentFault,
    },
    ExtentIndex {
        ino: InodeNo,
        child: BlockNo,
    },
    ExtentIndexStart {
        ino: InodeNo,
        first: u64,
    },
    IllegalBlock {
        ino: InodeNo,
        index: usize,
        block: BlockNo,
    },
    IBlocks {
        ino: InodeNo,
        have: u64,
        want: u64,
    },
    ISize {
        ino: InodeNo,
        have: u64,
        want: u64,
    },
    XattrBlockChecksum {
        block: BlockNo,
    },
    XattrBlock {
        ino: InodeNo,
        block: BlockNo,
        why: String,
    },
    XattrRefcount {
        block: BlockNo,
        have: u32,
        want: u32,
    },
    EaInodeRefcount {
        ino: InodeNo,
        have: u64,
        want: u64,
    },

    // Pass 1B.
    MultiplyClaimed {
        ino: InodeNo,
        blocks: usize,
        with: Vec<Claimant>,
    },

    // Pass 2: directory blocks.
    DirCorrupted {
        dir: InodeNo,
        lblk: u64,
        offset: usize,
    },
    InlineDirCorrupted {
        dir: InodeNo,
        offset: usize,
    },
    DirNoChecksum {
        dir: InodeNo,
        lblk: u64,
        offset: usize,
    },
    DirBlockChecksum {
        dir: InodeNo,
        lblk: u64,
    },
    DirHoles {
        dir: InodeNo,
        count: u64,
    },
    DirHole {
        dir: InodeNo,
        lblk: u64,
    },
    Htree {
        dir: InodeNo,
        why: String,
    },

    // Pass 2: '.' and '..'.
    DotMissing {
        dir: InodeNo,
    },
    DotWrong {
        dir: InodeNo,
        ino: InodeNo,
    },
    DotFileType {
        dir: InodeNo,
        dotdot: bool,
        have: u8,
        want: u8,
    },
    DotBig {
        dir: InodeNo,
    },
    DotDotInvalid {
        dir: InodeNo,
        ino: InodeNo,
    },
    DotDotMissing {
        dir: InodeNo,
    },

    // Pass 2: entries.
    ZeroLengthName {
        dir: InodeNo,
        ino: InodeNo,
    },
    DuplicateDot {
        dir: InodeNo,
        name: Vec<u8>,
    },
    BadInodeNumber {
        dir: InodeNo,
        name: Vec<u8>,
        ino: InodeNo,
    },
    LinkToRoot {
        dir: InodeNo,
        name: Vec<u8>,
    },
    LinkToDot {
        dir: InodeNo,
        name: Vec<u8>,
    },
    UnusedInode {
        dir: InodeNo,
        name: Vec<u8>,
        ino: InodeNo,
    },
    IllegalCharacters {
        dir: InodeNo,
        name: Vec<u8>,
    },
    FileType {
        dir: InodeNo,
        name: Vec<u8>,
        ino: InodeNo,
        have: u8,
        want: u8,
    },
    EncryptedNameShort {
        dir: InodeNo,
        name: Vec<u8>,
    },
    EncryptedToUnencrypted {
        dir: InodeNo,
        name: Vec<u8>,
        ino: InodeNo,
    },
    DuplicateEntry {
        dir: InodeNo,
        name: Vec<u8>,
    },
    DirectoryHardLink {
        dir: InodeNo,
        name: Vec<u8>,
        ino: InodeNo,
        parent: InodeNo,
    },
    EntryInUninitGroup {
        dir: InodeNo,
        name: Vec<u8>,
        ino: InodeNo,
        group: u32,
    },
    EntryInUnusedArea {
        dir: InodeNo,
        name: Vec<u8>,
        ino: InodeNo,
        group: u32,
    },

    // Pass 3.
    RootNotDirectoryInUse,
    RootNotAllocated,
    LostFoundNotDirectory {
        ino: InodeNo,
    },
    LostFoundMissing,
    Unconnected {
        dir: InodeNo,
        was: InodeNo,
    },
    DotDotMismatch {
        dir: InodeNo,
        have: InodeNo,
        want: InodeNo,
    },

    // Pass 4.
    LinkCount {
        ino: InodeNo,
        have: u32,
        want: u32,
    },
    UnattachedEmpty {
        ino: InodeNo,
    },
    Unattached {
        ino: InodeNo,
    },

    // Pass 5.
    /// `ranges`: (first, last, in use) as e2fsck lists them; `more`:
    /// ranges left out of the list.
    BitmapDifferences {
        which: WhichBitmap,
        ranges: Vec<(u64, u64, bool)>,
        more: u64,
    },
    BitmapPadding {
        which: WhichBitmap,
    },
    InodeUninitInUse {
        group: u32,
        ino: InodeNo,
    },
    ItableUnusedTooLarge {
        group: u32,
        unused: u32,
        max: u32,
    },
    BitmapChecksum {
        which: WhichBitmap,
        group: u32,
        have: u32,
        want: u32,
    },
    GroupCount {
        group: u32,
        count: Count,
        have: u32,
        want: u32,
    },
    SuperblockCount {
        count: Count,
        have: u64,
        want: u64,
    },

    // After pass 5.
    QuotaUsage {
        qtype: u32,
    },
}

/// The question a problem asks, e2fsck's `PROMPT_*` (problem.c's
/// `prompt[]`, and `preen_msg[]` for what `-p` prints when it repairs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    /// `PROMPT_NONE`: no question; the message says what is done.
    None,
    Fix,
    Clear,
    Relocate,
    Allocate,
    Expand,
    /// "Connect to /lost+found".
    Connect,
    Create,
    Salvage,
    Truncate,
    ClearInode,
    Abort,
    Split,
    Continue,
    /// "Clone multiply-claimed blocks".
    Clone,
    /// "Delete file".
    Delete,
    /// "Suppress messages".
    Suppress,
    Unlink,
    /// "Clear HTree index".
    ClearHtree,
    Recreate,
    Optimize,
    ClearFlag,
    /// `PROMPT_NULL`: the message ends with its own question ("Run
    /// journal anyway"); "?" and the answer follow it directly.
    Null,
}

impl Prompt {
    /// The question, as e2fsck prints it before "? yes" or "? no".
    pub fn question(self) -> &'static str {
        match self {
            Prompt::None => "",
            Prompt::Fix => "Fix",
            Prompt::Clear => "Clear",
            Prompt::Relocate => "Relocate",
            Prompt::Allocate => "Allocate",
            Prompt::Expand => "Expand",
            Prompt::Connect => "Connect to /lost+found",
            Prompt::Create => "Create",
            Prompt::Salvage => "Salvage",
            Prompt::Truncate => "Truncate",
            Prompt::ClearInode => "Clear inode",
            Prompt::Abort => "Abort",
            Prompt::Split => "Split",
            Prompt::Continue => "Continue",
            Prompt::Clone => "Clone multiply-claimed blocks",
            Prompt::Delete => "Delete file",
            Prompt::Suppress => "Suppress messages",
            Prompt::Unlink => "Unlink",
            Prompt::ClearHtree => "Clear HTree index",
            Prompt::Recreate => "Recreate",
            Prompt::Optimize => "Optimize",
            Prompt::ClearFlag => "Clear flag",
            Prompt::Null => "",
        }
    }

    /// What `-p` prints after the message when it repairs (followed by
    /// "."), e2fsck's `preen_msg[]`.
    pub fn preen_message(self) -> &'static str {
        match self {
            Prompt::None => "",
            Prompt::Fix => "FIXED",
            Prompt::Clear => "CLEARED",
            Prompt::Relocate => "RELOCATED",
            Prompt::Allocate => "ALLOCATED",
            Prompt::Expand => "EXPANDED",
            Prompt::Connect => "RECONNECTED",
            Prompt::Create => "CREATED",
            Prompt::Salvage => "SALVAGED",
            Prompt::Truncate => "TRUNCATED",
            Prompt::ClearInode => "INODE CLEARED",
            Prompt::Abort => "ABORTED",
            Prompt::Split => "SPLIT",
            Prompt::Continue => "CONTINUING",
            Prompt::Clone => "MULTIPLY-CLAIMED BLOCKS CLONED",
            Prompt::Delete => "FILE DELETED",
            Prompt::Suppress => "SUPPRESSED",
            Prompt::Unlink => "UNLINKED",
            Prompt::ClearHtree => "HTREE INDEX CLEARED",
            Prompt::Recreate => "WILL RECREATE",
            Prompt::Optimize => "WILL OPTIMIZE",
            Prompt::ClearFlag => "FLAG CLEARED",
            Prompt::Null => "",
        }
    }
}

/// One row of the table: a problem's question, e2fsck's code for it,
/// family, preen rule and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The question asked: e2fsck's prompt for `code`, or for the
    /// checker's own problems the one naming what "yes" does.
    pub prompt: Prompt,
    /// e2fsck's problem code (`PR_1_BAD_I_BLOCKS`...) for the same
    /// problem, `None` for the checker's own.
    pub code: Option<&'static str>,
    pub kind: Kind,
    pub preen: Preen,
    pub message: String,
}

fn row(
    prompt: Prompt,
    code: Option<&'static str>,
    kind: Kind,
    preen: Preen,
    message: String,
) -> Row {
    Row {
        prompt,
        code,
        kind,
        preen,
        message,
    }
}

impl Problem {
    /// The table: prompt, e2fsck code, family, preen rule and message of
    /// every problem.
    pub fn row(&self) -> Row {
        use Kind as K;
        use Preen::{Fix, Halt, Quiet};
        use Problem::*;
        match self {
            InvalidQuotaInode {
                qtype,
                ino: InodeNo(ino),
            } => row(
                Prompt::Fix,
                Some("PR_0_INVALID_QUOTA_INO"),
                K::QuotaInodeBad,
                Halt,
                format!("Invalid {} quota inode {ino}.", qtype.name()),
            ),
            ReservedBlocks { r_blocks } => row(
                Prompt::None,
                Some("PR_0_MISC_CORRUPT_SUPER"),
                K::SuperblockCounts,
                Fix,
                format!("Corruption found in superblock.  (r_blocks_count = {r_blocks})."),
            ),
            InodeTableOutside { group, block: BlockNo(block) } => row(
                Prompt::Relocate,
                Some("PR_0_ITABLE_NOT_GROUP"),
                K::GroupDescBad,
                Halt,
                format!("Inode table for group {group} is not in the filesystem (block {block})."),
            ),
            InodeTableOverlap { group } => row(
                Prompt::Relocate,
                Some("PR_1_ITABLE_CONFLICT"),
                K::GroupDescBad,
                Halt,
                format!("Inode table for group {group} overlaps other filesystem metadata."),
            ),
            BitmapOutside {
                group,
                which,
                block: BlockNo(block),
            } => row(
                Prompt::Relocate,
                Some(which.pick("PR_0_BB_NOT_GROUP", "PR_0_IB_NOT_GROUP")),
                K::GroupDescBad,
                Halt,
                format!("{which} for group {group} is not in the filesystem (block {block})."),
            ),
            BitmapOverlap {
                group,
                which,
                block: BlockNo(block),
            } => row(
                Prompt::Relocate,
                Some(which.pick("PR_1_BB_CONFLICT", "PR_1_IB_CONFLICT")),
                K::GroupDescBad,
                Halt,
                format!(
                    "{which} for group {group} (block {block}) overlaps other filesystem metadata."
                ),
            ),
            GroupDescChecksum { group, have, want } => row(
                Prompt::Fix,
                Some("PR_0_GDT_CSUM"),
                K::GroupDescChecksum,
                Halt,
                format!(
                    "One or more block group descriptor checksums are invalid (group {group}: 0x{have:04x}, should be 0x{want:04x})."
                ),
            ),
            ItableUnusedInvalid { group, unused } => row(
                Prompt::Fix,
                Some("PR_0_GDT_ITABLE_UNUSED"),
                K::GroupFlags,
                Fix,
                format!("Group descriptor {group} has invalid unused inodes count {unused}."),
            ),

            RecoverFlagWithoutJournal => row(
                Prompt::Clear,
                Some("PR_0_JOURNAL_RECOVER_SET"),
                K::JournalBad,
                Halt,
                "Superblock needs_recovery flag is set, but no journal is present."
                    .into(),
            ),
            ExternalJournalRecovery => row(
                Prompt::Fix,
                None,
                K::JournalBad,
                Halt,
                "The filesystem needs recovery from an external journal device.".into(),
            ),
            JournalUnsupported { what } => row(
                Prompt::Fix,
                None,
                K::JournalBad,
                Halt,
                format!(
                    "The journal holds transactions to replay but uses {what}, which this checker cannot replay."
                ),
            ),
            JournalInvalid { ino: InodeNo(ino), why } => row(
                Prompt::Clear,
                Some("PR_0_JOURNAL_BAD_INODE"),
                K::JournalBad,
                Halt,
                format!("Superblock has an invalid journal (inode {ino}): {why}."),
            ),
            JournalNeedsRecovery => row(
                Prompt::Null,
                None,
                K::JournalNeedsRecovery,
                Fix,
                "The filesystem needs recovery: the journal holds transactions not yet written home.  Replay the journal".into(),
            ),
            JournalDataWithoutFlag => row(
                Prompt::Null,
                Some("PR_0_JOURNAL_RUN"),
                K::JournalNeedsRecovery,
                Fix,
                "Superblock needs_recovery flag is clear, but journal has data.  Run journal anyway"
                    .into(),
            ),
            JournalReplayFailed { why } => row(
                Prompt::Null,
                Some("PR_0_JOURNAL_RESET_JOURNAL"),
                K::JournalBad,
                Halt,
                format!("The journal cannot be replayed ({why}).  Clear journal"),
            ),

            OrphanListWithErrors { head: InodeNo(head) } => row(
                Prompt::Null,
                None,
                K::OrphanListBad,
                Halt,
                format!(
                    "The filesystem has errors: its orphan list (from inode {head}) is not processed.  Clear it"
                ),
            ),
            OrphanListOutOfRange { ino: InodeNo(ino) } => row(
                Prompt::Null,
                None,
                K::OrphanListBad,
                Halt,
                format!("The orphan list names inode {ino}, out of range.  Clear the rest of it"),
            ),
            OrphanListLoop { ino: InodeNo(ino) } => row(
                Prompt::Null,
                None,
                K::OrphanListBad,
                Halt,
                format!("The orphan list loops back to inode {ino}.  Clear the rest of it"),
            ),
            OrphanListFree { ino: InodeNo(ino) } => row(
                Prompt::Null,
                None,
                K::OrphanListBad,
                Halt,
                format!(
                    "The orphan list names inode {ino}, which is not in use.  Clear the rest of it"
                ),
            ),
            OrphanClear { orphan } => row(
                Prompt::None,
                Some("PR_0_ORPHAN_CLEAR_INODE"),
                K::Orphan,
                Fix,
                format!("Clearing {orphan}"),
            ),
            OrphanTruncate { orphan } => row(
                Prompt::None,
                Some("PR_0_ORPHAN_CLEAR_INODE"),
                K::Orphan,
                Fix,
                format!("Truncating {orphan}"),
            ),
            OrphanFileOutOfRange { ino: InodeNo(ino) } => row(
                Prompt::Recreate,
                None,
                K::OrphanListBad,
                Halt,
                format!("The orphan file inode {ino} is out of range."),
            ),
            OrphanFileDamaged { ino: InodeNo(ino) } => row(
                Prompt::Recreate,
                None,
                K::OrphanListBad,
                Halt,
                format!("The orphan file (inode {ino}) is damaged."),
            ),
            OrphanSlotOutOfRange { ino: InodeNo(ino) } => row(
                Prompt::Clear,
                None,
                K::OrphanListBad,
                Halt,
                format!("The orphan file names inode {ino}, out of range."),
            ),
            OrphanSlotTwice { ino: InodeNo(ino) } => row(
                Prompt::Clear,
                None,
                K::OrphanListBad,
                Halt,
                format!("The orphan file names inode {ino} twice."),
            ),
            OrphanSlotFree { ino: InodeNo(ino) } => row(
                Prompt::Clear,
                None,
                K::OrphanListBad,
                Halt,
                format!("The orphan file names inode {ino}, which is not in use."),
            ),

            InodeGarbage { ino: InodeNo(ino) } => row(
                Prompt::Clear,
                Some("PR_1_INODE_IS_GARBAGE"),
                K::InodeChecksum,
                Halt,
                format!("Inode {ino} seems to contain garbage."),
            ),
            InodeUnreadable { ino: InodeNo(ino), why } => row(
                Prompt::Clear,
                None,
                K::InodeBadMode,
                Halt,
                format!("Inode {ino} is unreadable ({why})."),
            ),
            OrphanDtime { ino: InodeNo(ino) } => row(
                Prompt::Fix,
                Some("PR_1_LOW_DTIME"),
                K::InodeDtime,
                Fix,
                format!("Inode {ino} was part of the orphaned inode list."),
            ),
            DeletedZeroDtime { ino: InodeNo(ino) } => row(
                Prompt::Fix,
                Some("PR_1_ZERO_DTIME"),
                K::InodeDtime,
                Fix,
                format!("Deleted inode {ino} has zero dtime."),
            ),
            ExtraIsize { ino: InodeNo(ino), have, want } => row(
                Prompt::Fix,
                Some("PR_1_EXTRA_ISIZE"),
                K::InodeExtraIsize,
                Halt,
                format!("Inode {ino} has an invalid extra size ({have}), should be {want}."),
            ),
            IbodyCorrupt { ino: InodeNo(ino), why } => row(
                Prompt::Clear,
                Some("PR_1_INODE_EA_ALLOC_COLLISION"),
                K::XattrIbodyBad,
                Halt,
                format!("Inode {ino} has corrupt in-inode extended attributes ({why})."),
            ),
            XattrHash { ino: InodeNo(ino), hash } => row(
                Prompt::Clear,
                Some("PR_1_ATTR_HASH"),
                K::XattrIbodyBad,
                Halt,
                format!("Extended attribute in inode {ino} has a hash ({hash}) which is invalid."),
            ),
            EaValueInodeIllegal { ino: InodeNo(ino), ea_ino: InodeNo(ea_ino) } => row(
                Prompt::Clear,
                Some("PR_1_ATTR_VALUE_EA_INODE"),
                K::XattrIbodyBad,
                Halt,
                format!("Inode {ino} has illegal extended attribute value inode {ea_ino}."),
            ),
            EaInodeFlagMissing { ino: InodeNo(ino), ea_ino: InodeNo(ea_ino) } => row(
                Prompt::Clear,
                Some("PR_1_ATTR_NO_EA_INODE_FL"),
                K::XattrIbodyBad,
                Halt,
                format!("EA inode {ea_ino} for parent inode {ino} missing EA_INODE flag."),
            ),
            SizeHighDir { ino: InodeNo(ino), high } => row(
                Prompt::Clear,
                Some("PR_2_DIR_SIZE_HIGH_ZERO"),
                K::ISize,
                Halt,
                format!("i_size_high for directory inode {ino} is {high}, should be zero."),
            ),
            BlocksHigh { ino: InodeNo(ino), high } => row(
                Prompt::Clear,
                Some("PR_2_BLOCKS_HI_ZERO"),
                K::IBlocks,
                Fix,
                format!("i_blocks_hi for inode {ino} is {high}, should be zero."),
            ),
            FileAclHigh { ino: InodeNo(ino), high } => row(
                Prompt::Clear,
                Some("PR_2_I_FILE_ACL_HI_ZERO"),
                K::XattrBlockBad,
                Halt,
                format!("i_file_acl_hi for inode {ino} is {high}, should be zero."),
            ),
            Faddr { ino: InodeNo(ino), faddr } => row(
                Prompt::Clear,
                Some("PR_2_FADDR_ZERO"),
                K::InodeFaddr,
                Halt,
                format!("i_faddr for inode {ino} is {faddr}, should be zero."),
            ),
            SizeTooLarge { ino: InodeNo(ino), high } => row(
                Prompt::Fix,
                Some("PR_1_BAD_I_SIZE"),
                K::ISize,
                Halt,
                format!("Inode {ino}, i_size is too large (high word 0x{high:08x})."),
            ),
            BadMode { ino: InodeNo(ino), mode } => row(
                Prompt::Clear,
                Some("PR_2_BAD_MODE"),
                K::InodeBadMode,
                Halt,
                format!("Inode {ino} has an invalid mode (0{mode:o})."),
            ),
            RootNotDirectory => row(
                Prompt::Clear,
                Some("PR_1_ROOT_NO_DIR"),
                K::ReservedInodeBad,
                Halt,
                "Root inode is not a directory.".into(),
            ),
            JournalInodeNotRegular { ino: InodeNo(ino) } => row(
                Prompt::Fix,
                Some("PR_1_JOURNAL_BAD_MODE"),
                K::ReservedInodeBad,
                Halt,
                format!("Journal inode {ino} is not a regular file."),
            ),
            InUseDtime { ino: InodeNo(ino) } => row(
                Prompt::Fix,
                Some("PR_1_SET_DTIME"),
                K::InodeDtime,
                Fix,
                format!("Inode {ino} is in use, but has dtime set."),
            ),
            ExtentsFlagWithoutFeature { ino: InodeNo(ino) } => row(
                Prompt::Clear,
                Some("PR_1_EXTENTS_SET"),
                K::InodeBadFlags,
                Halt,
                format!("Inode {ino} has EXTENTS_FL flag set on filesystem without extents support."),
            ),
            InlineFlagWithoutFeature { ino: InodeNo(ino) } => row(
                Prompt::Clear,
                Some("PR_1_INLINE_DATA_SET"),
                K::InodeBadFlags,
                Halt,
                format!(
                    "Inode {ino} has INLINE_DATA_FL flag on filesystem without inline data support."
                ),
            ),
            EncryptFlagWithoutXattr { ino: InodeNo(ino) } => row(
                Prompt::ClearFlag,
                Some("PR_1_MISSING_ENCRYPTION_XATTR"),
                K::InodeBadFlags,
                Halt,
                format!("Inode {ino} has encrypt flag but no encryption extended attribute."),
            ),
            ImagicFlag { ino: InodeNo(ino) } => row(
                Prompt::Clear,
                Some("PR_1_SET_IMAGIC"),
                K::InodeBadFlags,
                Halt,
                format!("Inode {ino} has imagic flag set."),
            ),
            SpecialFlags { ino: InodeNo(ino), flags } => row(
                Prompt::Clear,
                Some("PR_1_SPECIAL_EXTENTS_IDATA"),
                K::InodeBadFlags,
                Halt,
                format!(
                    "Special (device/socket/fifo) inode {ino} has extents, inline-data or index flags set (0x{flags:x})."
                ),
            ),
            SpecialSize { ino: InodeNo(ino), size } => row(
                Prompt::Fix,
                Some("PR_1_SET_NONZSIZE"),
                K::ISize,
                Halt,
                format!("Special (device/socket/fifo) inode {ino} has non-zero i_size {size}."),
            ),
            ExtentsAndInline { ino: InodeNo(ino) } => row(
                Prompt::Fix,
                Some("PR_1_CLEAR_EXTENT_FOR_INLINE_DATA"),
                K::InodeBadFlags,
                Halt,
                format!("Inode {ino} has both extent and inline data flags set."),
            ),
            IndexFlagNotDirectory { ino: InodeNo(ino) } => row(
                Prompt::ClearHtree,
                Some("PR_1_HTREE_NODIR"),
                K::InodeBadFlags,
                Halt,
                format!("Inode {ino} has INDEX_FL flag set on a non-directory."),
            ),
            IndexFlagWithoutFeature { ino: InodeNo(ino) } => row(
                Prompt::ClearHtree,
                Some("PR_1_HTREE_SET"),
                K::InodeBadFlags,
                Halt,
                format!("Inode {ino} has INDEX_FL flag set on filesystem without htree support."),
            ),
            ExtentsFlagMissing { ino: InodeNo(ino) } => row(
                Prompt::Fix,
                Some("PR_1_UNSET_EXTENT_FL"),
                K::InodeBadFlags,
                Halt,
                format!("Inode {ino} missing EXTENT_FL, but is in extents format."),
            ),
            FastSymlinkExtents { ino: InodeNo(ino) } => row(
                Prompt::Clear,
                Some("PR_1_FAST_SYMLINK_EXTENT_FL"),
                K::SymlinkBad,
                Halt,
                format!("Symlink inode {ino} is invalid (has EXTENTS_FL)."),
            ),
            FastSymlinkSize { ino: InodeNo(ino), len, size } => row(
                Prompt::Clear,
                Some("PR_2_INVALID_SYMLINK"),
                K::SymlinkBad,
                Halt,
                format!("Symlink inode {ino} is invalid (target of {len} bytes, i_size {size})."),
            ),
            InlineWithoutXattr { ino: InodeNo(ino) } => row(
                Prompt::Truncate,
                Some("PR_1_INLINE_DATA_NO_ATTR"),
                K::InlineDataBad,
                Halt,
                format!("Inode {ino} has INLINE_DATA_FL flag but extended attribute not found."),
            ),
            InlineSize { ino: InodeNo(ino), size, want } => row(
                Prompt::Fix,
                Some("PR_1_BAD_I_SIZE"),
                K::InlineDataBad,
                Halt,
                format!("Inode {ino} has inline data, but i_size is {size}, should be {want}."),
            ),
            InodeChecksum { ino: InodeNo(ino) } => row(
                Prompt::Fix,
                Some("PR_1_INODE_ONLY_CSUM_INVALID"),
                K::InodeChecksum,
                Halt,
                format!("Inode {ino} passes checks, but checksum does not match inode."),
            ),

            TooManyBlocks { ino: InodeNo(ino), extents } => row(
                Prompt::ClearInode,
                Some("PR_1_TOO_MANY_BAD_BLOCKS"),
                if *extents { K::ExtentBad } else { K::BlockMapBad },
                Halt,
                format!("Inode {ino} maps more blocks than the filesystem holds."),
            ),
            ZeroLengthDirectory { ino: InodeNo(ino) } => row(
                Prompt::Clear,
                Some("PR_1_ZERO_LENGTH_DIR"),
                K::ISize,
                Halt,
                format!("Inode {ino} is a zero-length directory."),
            ),
            SlowSymlinkSize { ino: InodeNo(ino), size } => row(
                Prompt::Clear,
                Some("PR_2_INVALID_SYMLINK"),
                K::SymlinkBad,
                Halt,
                format!("Symlink inode {ino} is invalid (size {size})."),
            ),
            ExtentRoot { ino: InodeNo(ino), why } => row(
                Prompt::ClearInode,
                Some("PR_1_MISSING_EXTENT_HEADER"),
                K::ExtentHeaderBad,
                Halt,
                format!("Inode {ino} has an invalid extent tree root ({why})."),
            ),
            ExtentNode { ino: InodeNo(ino), block: BlockNo(block), why } => row(
                Prompt::Clear,
                Some("PR_1_EXTENT_HEADER_INVALID"),
                K::ExtentHeaderBad,
                Halt,
                format!("Inode {ino} has an invalid extent node (block {block}: {why})."),
            ),
            ExtentChecksum { ino: InodeNo(ino), block: BlockNo(block) } => row(
                Prompt::Fix,
                Some("PR_1_EXTENT_ONLY_CSUM_INVALID"),
                K::ExtentChecksum,
                Halt,
                format!(
                    "Inode {ino} extent block {block} passes checks, but checksum does not match extent."
                ),
            ),
            Extent {
                ino: InodeNo(ino),
                lblk,
                block: BlockNo(block),
                len,
                fault,
            } => row(
                Prompt::Clear,
                Some(fault.code()),
                K::ExtentBad,
                Halt,
                format!(
                    "Inode {ino} has an invalid extent (logical block {lblk}, physical block {block}, len {len}: {fault})."
                ),
            ),
            ExtentIndex { ino: InodeNo(ino), child: BlockNo(child) } => row(
                Prompt::Clear,
                Some("PR_1_EXTENT_BAD_START_BLK"),
                K::ExtentBad,
                Halt,
                format!("Inode {ino} has an invalid extent index entry (child block {child})."),
            ),
            ExtentIndexStart { ino: InodeNo(ino), first } => row(
                Prompt::Fix,
                Some("PR_1_EXTENT_INDEX_START_INVALID"),
                K::ExtentBad,
                Halt,
                format!(
                    "Inode {ino} has an extent index entry whose start does not match its subtree's first block {first}."
                ),
            ),
            IllegalBlock { ino: InodeNo(ino), index, block: BlockNo(block) } => row(
                Prompt::Clear,
                Some("PR_1_ILLEGAL_BLOCK_NUM"),
                K::BlockMapBad,
                Halt,
                format!("Illegal block #{index} ({block}) in inode {ino}."),
            ),
            IBlocks { ino: InodeNo(ino), have, want } => row(
                Prompt::Fix,
                Some("PR_1_BAD_I_BLOCKS"),
                K::IBlocks,
                Fix,
                format!("Inode {ino}, i_blocks is {have}, should be {want}."),
            ),
            ISize { ino: InodeNo(ino), have, want } => row(
                Prompt::Fix,
                Some("PR_1_BAD_I_SIZE"),
                K::ISize,
                Halt,
                format!("Inode {ino}, i_size is {have}, should be {want}."),
            ),
            XattrBlockChecksum { block: BlockNo(block) } => row(
                Prompt::Fix,
                Some("PR_1_EA_BLOCK_ONLY_CSUM_INVALID"),
                K::XattrBlockBad,
                Halt,
                format!("Extended attribute block {block} passes checks, but checksum does not match."),
            ),
            XattrBlock { ino: InodeNo(ino), block: BlockNo(block), why } => row(
                Prompt::Clear,
                Some("PR_1_BAD_EA_BLOCK"),
                K::XattrBlockBad,
                Halt,
                format!("Inode {ino} has a bad extended attribute block {block} ({why})."),
            ),
            XattrRefcount { block: BlockNo(block), have, want } => row(
                Prompt::Fix,
                Some("PR_1_EXTATTR_REFCOUNT"),
                K::XattrRefcount,
                Fix,
                format!("Extended attribute block {block} has reference count {have}, should be {want}."),
            ),
            EaInodeRefcount { ino: InodeNo(ino), have, want } => row(
                Prompt::Fix,
                Some("PR_4_EA_INODE_REF_COUNT"),
                K::EaInodeRefcount,
                Fix,
                format!("Extended attribute inode {ino} ref count is {have}, should be {want}."),
            ),

            MultiplyClaimed { ino: InodeNo(ino), blocks, with } => {
                let names: Vec<String> = with.iter().map(|c| c.to_string()).collect();
                row(
                    Prompt::Clone,
                    Some("PR_1D_CLONE_QUESTION"),
                    K::MultiplyClaimed,
                    Halt,
                    format!(
                        "File inode #{ino} has {blocks} multiply-claimed block(s), shared with {} file(s): {}.",
                        with.len(),
                        names.join(", ")
                    ),
                )
            }

            DirCorrupted { dir: InodeNo(dir), lblk, offset } => row(
                Prompt::Salvage,
                Some("PR_2_DIR_CORRUPTED"),
                K::DirEntryCorrupt,
                Halt,
                format!("Directory inode {dir}, block #{lblk}, offset {offset}: directory corrupted."),
            ),
            InlineDirCorrupted { dir: InodeNo(dir), offset } => row(
                Prompt::Salvage,
                Some("PR_2_DIR_CORRUPTED"),
                K::DirEntryCorrupt,
                Halt,
                format!("Directory inode {dir}, inline data, offset {offset}: directory corrupted."),
            ),
            DirNoChecksum { dir: InodeNo(dir), lblk, offset } => row(
                Prompt::Fix,
                Some("PR_2_LEAF_NODE_MISSING_CSUM"),
                K::DirTailMissing,
                Fix,
                format!(
                    "Directory inode {dir}, block #{lblk}, offset {offset}: directory has no checksum."
                ),
            ),
            DirBlockChecksum { dir: InodeNo(dir), lblk } => row(
                Prompt::Fix,
                Some("PR_2_LEAF_NODE_ONLY_CSUM_INVALID"),
                K::DirBlockChecksum,
                Halt,
                format!("Directory inode {dir}, block #{lblk}: passes checks, but fails checksum."),
            ),
            DirHoles { dir: InodeNo(dir), count } => row(
                Prompt::Allocate,
                Some("PR_2_DIRECTORY_HOLE"),
                K::DirHole,
                Halt,
                format!("Directory inode {dir} has {count} unallocated blocks."),
            ),
            DirHole { dir: InodeNo(dir), lblk } => row(
                Prompt::Allocate,
                Some("PR_2_DIRECTORY_HOLE"),
                K::DirHole,
                Halt,
                format!("Directory inode {dir} has an unallocated block #{lblk}."),
            ),
            Htree { dir: InodeNo(dir), why } => row(
                Prompt::ClearHtree,
                Some("PR_2_HTREE_CLEAR"),
                K::HtreeBad,
                Halt,
                format!("Problem in HTREE directory inode {dir}: {why}."),
            ),

            DotMissing { dir: InodeNo(dir) } => row(
                Prompt::Fix,
                Some("PR_2_MISSING_DOT"),
                K::DirDot,
                Halt,
                format!("Missing '.' in directory inode {dir}."),
            ),
            DotWrong { dir: InodeNo(dir), ino: InodeNo(ino) } => row(
                Prompt::Fix,
                Some("PR_2_BAD_INODE_DOT"),
                K::DirDot,
                Halt,
                format!("'.' in directory inode {dir} names inode {ino}, should be {dir}."),
            ),
            DotFileType {
                dir: InodeNo(dir),
                dotdot,
                have,
                want,
            } => row(
                Prompt::Fix,
                Some("PR_2_BAD_FILETYPE"),
                K::DirEntryFileType,
                Halt,
                format!(
                    "Entry '{}' in directory inode {dir} has an incorrect filetype (was {have}, should be {want}).",
                    if *dotdot { ".." } else { "." }
                ),
            ),
            DotBig { dir: InodeNo(dir) } => row(
                Prompt::Split,
                Some("PR_2_SPLIT_DOT"),
                K::DirDot,
                Halt,
                format!("Directory entry for '.' in directory inode {dir} is big."),
            ),
            DotDotInvalid { dir: InodeNo(dir), ino: InodeNo(ino) } => row(
                Prompt::Clear,
                Some("PR_2_BAD_INO"),
                K::DirDotDot,
                Halt,
                format!("Entry '..' in directory inode {dir} has invalid inode #: {ino}."),
            ),
            DotDotMissing { dir: InodeNo(dir) } => row(
                Prompt::Fix,
                Some("PR_2_MISSING_DOT_DOT"),
                K::DirDotDot,
                Halt,
                format!("Missing '..' in directory inode {dir}."),
            ),

            ZeroLengthName { dir: InodeNo(dir), ino: InodeNo(ino) } => row(
                Prompt::Clear,
                Some("PR_2_NULL_NAME"),
                K::DirEntryBadName,
                Halt,
                format!("Entry in directory inode {dir} ({ino}) has a zero-length name."),
            ),
            DuplicateDot { dir: InodeNo(dir), name } => {
                let name = show(name);
                row(
                    Prompt::Fix,
                    Some(dup_dot_code(&name)),
                    K::DirEntryDuplicate,
                    Halt,
                    format!("Entry '{name}' in directory inode {dir} is a duplicate '{name}' entry."),
                )
            }
            BadInodeNumber { dir: InodeNo(dir), name, ino: InodeNo(ino) } => row(
                Prompt::Clear,
                Some("PR_2_BAD_INO"),
                K::DirEntryBadInode,
                Halt,
                format!(
                    "Entry '{}' in directory inode {dir} has bad inode #: {ino}.",
                    show(name)
                ),
            ),
            LinkToRoot { dir: InodeNo(dir), name } => row(
                Prompt::Clear,
                Some("PR_2_LINK_ROOT"),
                K::DirHardLink,
                Halt,
                format!(
                    "Entry '{}' in directory inode {dir} is a link to the root inode.",
                    show(name)
                ),
            ),
            LinkToDot { dir: InodeNo(dir), name } => row(
                Prompt::Clear,
                Some("PR_2_LINK_DOT"),
                K::DirHardLink,
                Halt,
                format!("Entry '{}' in directory inode {dir} is a link to '.'.", show(name)),
            ),
            UnusedInode { dir: InodeNo(dir), name, ino: InodeNo(ino) } => row(
                Prompt::Clear,
                Some("PR_2_UNUSED_INODE"),
                K::DirEntryFreeInode,
                Fix,
                format!(
                    "Entry '{}' in directory inode {dir} has deleted/unused inode {ino}.",
                    show(name)
                ),
            ),
            IllegalCharacters { dir: InodeNo(dir), name } => row(
                Prompt::Fix,
                Some("PR_2_BAD_NAME"),
                K::DirEntryBadName,
                Halt,
                format!(
                    "Entry '{}' in directory inode {dir} has illegal characters in its name.",
                    show(name)
                ),
            ),
            FileType {
                dir: InodeNo(dir),
                name,
                ino: InodeNo(ino),
                have,
                want,
            } => row(
                Prompt::Fix,
                Some("PR_2_BAD_FILETYPE"),
                K::DirEntryFileType,
                Halt,
                format!(
                    "Entry '{}' in directory inode {dir} ({ino}) has an incorrect filetype (was {have}, should be {want}).",
                    show(name)
                ),
            ),
            EncryptedNameShort { dir: InodeNo(dir), name } => row(
                Prompt::Clear,
                Some("PR_2_BAD_ENCRYPTED_NAME"),
                K::DirEntryBadName,
                Halt,
                format!(
                    "Encrypted entry '{}' in directory inode {dir} is too short.",
                    show(name)
                ),
            ),
            EncryptedToUnencrypted { dir: InodeNo(dir), name, ino: InodeNo(ino) } => row(
                Prompt::Clear,
                Some("PR_2_UNENCRYPTED_FILE"),
                K::DirEntryBadInode,
                Halt,
                format!(
                    "Encrypted entry '{}' in directory inode {dir} references unencrypted inode {ino}.",
                    show(name)
                ),
            ),
            DuplicateEntry { dir: InodeNo(dir), name } => row(
                Prompt::Clear,
                Some("PR_2_DUPLICATE_DIRENT"),
                K::DirEntryDuplicate,
                Halt,
                format!(
                    "Duplicate entry '{}' found in directory inode {dir}.",
                    show(name)
                ),
            ),
            DirectoryHardLink {
                dir: InodeNo(dir),
                name,
                ino: InodeNo(ino),
                parent: InodeNo(parent),
            } => row(
                Prompt::Clear,
                Some("PR_2_LINK_DIR"),
                K::DirHardLink,
                Halt,
                format!(
                    "Entry '{}' in directory inode {dir} is a link to directory {ino}, already in directory inode {parent}.",
                    show(name)
                ),
            ),
            EntryInUninitGroup {
                dir: InodeNo(dir),
                name,
                ino: InodeNo(ino),
                group,
            } => row(
                Prompt::Fix,
                Some("PR_2_INOREF_BG_INO_UNINIT"),
                K::GroupFlags,
                Fix,
                format!(
                    "Entry '{}' in directory inode {dir} references inode {ino} in group {group} where _INODE_UNINIT is set.",
                    show(name)
                ),
            ),
            EntryInUnusedArea {
                dir: InodeNo(dir),
                name,
                ino: InodeNo(ino),
                group,
            } => row(
                Prompt::Fix,
                Some("PR_2_INOREF_IN_UNUSED"),
                K::GroupFlags,
                Fix,
                format!(
                    "Entry '{}' in directory inode {dir} references inode {ino} found in group {group}'s unused inodes area.",
                    show(name)
                ),
            ),

            RootNotDirectoryInUse => row(
                Prompt::Clear,
                Some("PR_1_ROOT_NO_DIR"),
                K::RootBad,
                Halt,
                "Root inode is not a directory.".into(),
            ),
            RootNotAllocated => row(
                Prompt::Allocate,
                Some("PR_3_NO_ROOT_INODE"),
                K::RootBad,
                Halt,
                "Root inode not allocated.".into(),
            ),
            LostFoundNotDirectory { ino: InodeNo(ino) } => row(
                Prompt::Unlink,
                Some("PR_3_LPF_NOTDIR"),
                K::LostFoundMissing,
                Fix,
                format!("/lost+found is not a directory (ino={ino})."),
            ),
            LostFoundMissing => row(
                Prompt::Create,
                Some("PR_3_NO_LF_DIR"),
                K::LostFoundMissing,
                Fix,
                "/lost+found not found.".into(),
            ),
            Unconnected { dir: InodeNo(dir), was: InodeNo(was) } => row(
                Prompt::Connect,
                Some("PR_3_UNCONNECTED_DIR"),
                K::DirUnconnected,
                Fix,
                format!("Unconnected directory inode {dir} (was in {was})."),
            ),
            DotDotMismatch { dir: InodeNo(dir), have: InodeNo(have), want: InodeNo(want) } => row(
                Prompt::Fix,
                Some("PR_3_BAD_DOT_DOT"),
                K::DotDotMismatch,
                Fix,
                format!("'..' in directory inode {dir} is {have}, should be {want}."),
            ),

            LinkCount { ino: InodeNo(ino), have, want } => row(
                Prompt::Fix,
                Some("PR_4_BAD_REF_COUNT"),
                K::LinkCount,
                Fix,
                format!("Inode {ino} ref count is {have}, should be {want}."),
            ),
            UnattachedEmpty { ino: InodeNo(ino) } => row(
                Prompt::Clear,
                Some("PR_4_ZERO_LEN_INODE"),
                K::InodeUnattached,
                Fix,
                format!("Unattached zero-length inode {ino}."),
            ),
            Unattached { ino: InodeNo(ino) } => row(
                Prompt::Connect,
                Some("PR_4_UNATTACHED_INODE"),
                K::InodeUnattached,
                Fix,
                format!("Unattached inode {ino}."),
            ),

            BitmapDifferences {
                which,
                ranges,
                more,
            } => {
                let mut s = format!("{which} differences:");
                for &(a, b, used) in ranges {
                    let sign = if used { '+' } else { '-' };
                    if a == b {
                        s += &format!(" {sign}{a}");
                    } else {
                        s += &format!(" {sign}({a}--{b})");
                    }
                }
                if *more > 0 {
                    s += &format!(" and {more} more ranges");
                }
                row(
                    Prompt::Fix,
                    Some(which.pick("PR_5_BLOCK_BITMAP_END", "PR_5_INODE_BITMAP_END")),
                    which.kind(),
                    Fix,
                    s,
                )
            }
            BitmapPadding { which } => row(
                Prompt::Fix,
                Some(which.pick("PR_5_BLOCK_BMAP_PADDING", "PR_5_INODE_BMAP_PADDING")),
                which.kind(),
                Fix,
                format!("Padding at end of {} is not set.", which.lower()),
            ),
            InodeUninitInUse { group, ino: InodeNo(ino) } => row(
                Prompt::Fix,
                Some("PR_5_INODE_UNINIT"),
                K::GroupFlags,
                Fix,
                format!("Group {group} is marked INODE_UNINIT but inode {ino} is in use."),
            ),
            ItableUnusedTooLarge { group, unused, max } => row(
                Prompt::Fix,
                Some("PR_0_GDT_ITABLE_UNUSED"),
                K::GroupFlags,
                Fix,
                format!(
                    "Group {group} has {unused} unused inodes at the end of its table, at most {max} are unused."
                ),
            ),
            BitmapChecksum {
                which,
                group,
                have,
                want,
            } => row(
                Prompt::Fix,
                Some(which.pick("PR_5_BLOCK_BITMAP_CSUM_INVALID", "PR_5_INODE_BITMAP_CSUM_INVALID")),
                K::BitmapChecksum,
                Fix,
                format!("{which} checksum of group {group} is 0x{have:x}, should be 0x{want:x}."),
            ),
            GroupCount {
                group,
                count,
                have,
                want,
            } => row(
                Prompt::Fix,
                Some(count.group_code()),
                K::GroupCounts,
                Fix,
                format!("{count} count wrong for group #{group} ({have}, counted={want})."),
            ),
            SuperblockCount { count, have, want } => row(
                Prompt::Fix,
                Some(count.superblock_code()),
                K::SuperblockCounts,
                Quiet,
                format!("{count} count wrong ({have}, counted={want})."),
            ),

            QuotaUsage { qtype } => row(
                Prompt::Null,
                Some("PR_6_UPDATE_QUOTAS"),
                K::QuotaUsage,
                Fix,
                format!("Update quota info for quota type {qtype}"),
            ),
        }
    }

    /// The problem's family.
    pub fn kind(&self) -> Kind {
        self.row().kind
    }

    /// The problem in one line, e2fsck-style.
    pub fn message(&self) -> String {
        self.row().message
    }

    /// What `-p` does with it.
    pub fn preen(&self) -> Preen {
        self.row().preen
    }

    /// The question it asks.
    pub fn prompt(&self) -> Prompt {
        self.row().prompt
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl WhichBitmap {
    /// `block` for the block bitmap, `inode` for the inode bitmap: e2fsck
    /// has a code for each.
    fn pick(self, block: &'static str, inode: &'static str) -> &'static str {
        match self {
            WhichBitmap::Block => block,
            WhichBitmap::Inode => inode,
        }
    }

    fn kind(self) -> Kind {
        match self {
            WhichBitmap::Block => Kind::BlockBitmap,
            WhichBitmap::Inode => Kind::InodeBitmap,
        }
    }

    fn lower(self) -> &'static str {
        match self {
            WhichBitmap::Block => "block bitmap",
            WhichBitmap::Inode => "inode bitmap",
        }
    }
}

impl ExtentFault {
    /// e2fsck's code for an extent with this fault.
    fn code(self) -> &'static str {
        match self {
            ExtentFault::ZeroLength => "PR_1_EXTENT_LENGTH_ZERO",
            ExtentFault::OutsideFilesystem => "PR_1_EXTENT_BAD_START_BLK",
            ExtentFault::OutOfOrder => "PR_1_OUT_OF_ORDER_EXTENTS",
        }
    }
}

impl Count {
    /// e2fsck's code for a group's count.
    fn group_code(self) -> &'static str {
        match self {
            Count::FreeBlocks => "PR_5_FREE_BLOCK_COUNT_GROUP",
            Count::FreeInodes => "PR_5_FREE_INODE_COUNT_GROUP",
            Count::Directories => "PR_5_FREE_DIR_COUNT_GROUP",
        }
    }

    /// e2fsck's code for the superblock's count (it keeps no directory
    /// count: the free inodes' code stands for it).
    fn superblock_code(self) -> &'static str {
        match self {
            Count::FreeBlocks => "PR_5_FREE_BLOCK_COUNT",
            Count::FreeInodes | Count::Directories => "PR_5_FREE_INODE_COUNT",
        }
    }
}

/// e2fsck's code for a second '.' or '..' entry.
fn dup_dot_code(name: &str) -> &'static str {
    if name == "." {
        "PR_2_DUP_DOT"
    } else {
        "PR_2_DUP_DOT_DOT"
    }
}

/// The printable form of a name in a message, as e2fsck's safe_print
/// writes it: a byte over 128 as `M-` and the byte less 128, then a
/// control character as `^` and the character xor 0x40. Names are bytes
/// (an encrypted one is ciphertext): a raw newline would cut the message.
pub fn show(name: &[u8]) -> String {
    let mut out = String::with_capacity(name.len());
    for &b in name {
        let mut c = b;
        if c > 128 {
            out.push_str("M-");
            c -= 128;
        }
        if c < 32 || c == 0x7f {
            out.push('^');
            c ^= 0x40;
        }
        out.push(char::from(c));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use Problem as P;

    /// e2fsck's prompts and problem codes (tests/data of this crate,
    /// extracted from e2fsprogs' e2fsck/problem.c).
    const E2FSCK: &str = include_str!("../testdata/e2fsck-prompts.tsv");

    /// e2fsck's name for a prompt.
    fn e2fsck_name(p: Prompt) -> &'static str {
        match p {
            Prompt::None => "PROMPT_NONE",
            Prompt::Fix => "PROMPT_FIX",
            Prompt::Clear => "PROMPT_CLEAR",
            Prompt::Relocate => "PROMPT_RELOCATE",
            Prompt::Allocate => "PROMPT_ALLOCATE",
            Prompt::Expand => "PROMPT_EXPAND",
            Prompt::Connect => "PROMPT_CONNECT",
            Prompt::Create => "PROMPT_CREATE",
            Prompt::Salvage => "PROMPT_SALVAGE",
            Prompt::Truncate => "PROMPT_TRUNCATE",
            Prompt::ClearInode => "PROMPT_CLEAR_INODE",
            Prompt::Abort => "PROMPT_ABORT",
            Prompt::Split => "PROMPT_SPLIT",
            Prompt::Continue => "PROMPT_CONTINUE",
            Prompt::Clone => "PROMPT_CLONE",
            Prompt::Delete => "PROMPT_DELETE",
            Prompt::Suppress => "PROMPT_SUPPRESS",
            Prompt::Unlink => "PROMPT_UNLINK",
            Prompt::ClearHtree => "PROMPT_CLEAR_HTREE",
            Prompt::Recreate => "PROMPT_RECREATE",
            Prompt::Optimize => "PROMPT_OPTIMIZE",
            Prompt::ClearFlag => "PROMPT_CLEAR_FLAG",
            Prompt::Null => "PROMPT_NULL",
        }
    }

    /// The fixture's rows of `prefix` ("PROMPT_" or "PR_"), split at tabs.
    fn fixture(prefix: &str) -> Vec<Vec<&'static str>> {
        E2FSCK
            .lines()
            .filter(|l| l.starts_with(prefix))
            .map(|l| {
                l.split('\t')
                    .map(|f| if f == "\"\"" { "" } else { f })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn prompt_words_are_problem_c_words() {
        let all = [
            Prompt::None,
            Prompt::Fix,
            Prompt::Clear,
            Prompt::Relocate,
            Prompt::Allocate,
            Prompt::Expand,
            Prompt::Connect,
            Prompt::Create,
            Prompt::Salvage,
            Prompt::Truncate,
            Prompt::ClearInode,
            Prompt::Abort,
            Prompt::Split,
            Prompt::Continue,
            Prompt::Clone,
            Prompt::Delete,
            Prompt::Suppress,
            Prompt::Unlink,
            Prompt::ClearHtree,
            Prompt::Recreate,
            Prompt::Optimize,
            Prompt::ClearFlag,
            Prompt::Null,
        ];
        let rows = fixture("PROMPT_");
        assert_eq!(rows.len(), all.len());
        for p in all {
            let row = rows
                .iter()
                .find(|r| r[0] == e2fsck_name(p))
                .expect("in problem.c");
            if p == Prompt::None {
                // "(no prompt)" and "(NONE)" are never printed.
                assert_eq!((p.question(), p.preen_message()), ("", ""));
                continue;
            }
            assert_eq!((p.question(), p.preen_message()), (row[1], row[2]), "{p:?}");
        }
    }

    #[test]
    fn known_problems_ask_e2fsck_question() {
        let orphan = OrphanId {
            ino: InodeNo(12),
            uid: 0,
            gid: 0,
            mode: 0o100644,
            size: 0,
        };
        let asked = [
            (
                P::IBlocks {
                    ino: InodeNo(12),
                    have: 8,
                    want: 16,
                },
                "Fix",
            ),
            (
                P::UnusedInode {
                    dir: InodeNo(2),
                    name: b"f".to_vec(),
                    ino: InodeNo(12),
                },
                "Clear",
            ),
            (
                P::Unconnected {
                    dir: InodeNo(12),
                    was: InodeNo(13),
                },
                "Connect to /lost+found",
            ),
            (P::Unattached { ino: InodeNo(12) }, "Connect to /lost+found"),
            (P::LostFoundMissing, "Create"),
            (
                P::DirCorrupted {
                    dir: InodeNo(12),
                    lblk: 0,
                    offset: 0,
                },
                "Salvage",
            ),
            (
                P::Htree {
                    dir: InodeNo(12),
                    why: "x".into(),
                },
                "Clear HTree index",
            ),
            (
                P::MultiplyClaimed {
                    ino: InodeNo(12),
                    blocks: 1,
                    with: vec![Claimant::Inode(InodeNo(13))],
                },
                "Clone multiply-claimed blocks",
            ),
            (
                P::BitmapOutside {
                    group: 0,
                    which: WhichBitmap::Block,
                    block: BlockNo(1 << 40),
                },
                "Relocate",
            ),
            (
                P::DirHole {
                    dir: InodeNo(12),
                    lblk: 1,
                },
                "Allocate",
            ),
            (P::DotBig { dir: InodeNo(12) }, "Split"),
            (P::LostFoundNotDirectory { ino: InodeNo(11) }, "Unlink"),
            (P::InlineWithoutXattr { ino: InodeNo(12) }, "Truncate"),
            (
                P::EncryptFlagWithoutXattr { ino: InodeNo(12) },
                "Clear flag",
            ),
            (
                P::ExtentRoot {
                    ino: InodeNo(12),
                    why: "x".into(),
                },
                "Clear inode",
            ),
        ];
        for (p, q) in asked {
            assert_eq!(p.prompt().question(), q, "{p:?}");
        }
        // PROMPT_NULL: the message ends with its own question.
        let p = P::QuotaUsage { qtype: 0 };
        assert_eq!(
            (p.prompt(), p.message().as_str()),
            (Prompt::Null, "Update quota info for quota type 0")
        );
        // PROMPT_NONE: the message says what is done.
        assert_eq!(P::OrphanClear { orphan }.prompt(), Prompt::None);
    }

    /// One of each variant (and of each code a field picks).
    fn samples() -> Vec<Problem> {
        let orphan = OrphanId {
            ino: InodeNo(12),
            uid: 0,
            gid: 0,
            mode: 0o100644,
            size: 0,
        };
        vec![
            P::ReservedBlocks { r_blocks: 1 },
            P::InodeTableOutside {
                group: 1,
                block: BlockNo(1),
            },
            P::InodeTableOverlap { group: 1 },
            P::BitmapOutside {
                group: 1,
                which: WhichBitmap::Block,
                block: BlockNo(1),
            },
            P::BitmapOverlap {
                group: 1,
                which: WhichBitmap::Block,
                block: BlockNo(1),
            },
            P::GroupDescChecksum {
                group: 1,
                have: 1,
                want: 1,
            },
            P::ItableUnusedInvalid {
                group: 1,
                unused: 1,
            },
            P::RecoverFlagWithoutJournal,
            P::ExternalJournalRecovery,
            P::JournalUnsupported { what: "x".into() },
            P::JournalInvalid {
                ino: InodeNo(1),
                why: "x".into(),
            },
            P::JournalNeedsRecovery,
            P::JournalDataWithoutFlag,
            P::JournalReplayFailed { why: "x".into() },
            P::OrphanListWithErrors { head: InodeNo(1) },
            P::OrphanListOutOfRange { ino: InodeNo(1) },
            P::OrphanListLoop { ino: InodeNo(1) },
            P::OrphanListFree { ino: InodeNo(1) },
            P::OrphanClear { orphan },
            P::OrphanTruncate { orphan },
            P::OrphanFileOutOfRange { ino: InodeNo(1) },
            P::OrphanFileDamaged { ino: InodeNo(1) },
            P::OrphanSlotOutOfRange { ino: InodeNo(1) },
            P::OrphanSlotTwice { ino: InodeNo(1) },
            P::OrphanSlotFree { ino: InodeNo(1) },
            P::InodeGarbage { ino: InodeNo(1) },
            P::InodeUnreadable {
                ino: InodeNo(1),
                why: "x".into(),
            },
            P::OrphanDtime { ino: InodeNo(1) },
            P::DeletedZeroDtime { ino: InodeNo(1) },
            P::ExtraIsize {
                ino: InodeNo(1),
                have: 1,
                want: 1,
            },
            P::IbodyCorrupt {
                ino: InodeNo(1),
                why: "x".into(),
            },
            P::XattrHash {
                ino: InodeNo(1),
                hash: 1,
            },
            P::EaValueInodeIllegal {
                ino: InodeNo(1),
                ea_ino: InodeNo(1),
            },
            P::EaInodeFlagMissing {
                ino: InodeNo(1),
                ea_ino: InodeNo(1),
            },
            P::SizeHighDir {
                ino: InodeNo(1),
                high: 1,
            },
            P::BlocksHigh {
                ino: InodeNo(1),
                high: 1,
            },
            P::FileAclHigh {
                ino: InodeNo(1),
                high: 1,
            },
            P::Faddr {
                ino: InodeNo(1),
                faddr: 1,
            },
            P::SizeTooLarge {
                ino: InodeNo(1),
                high: 1,
            },
            P::BadMode {
                ino: InodeNo(1),
                mode: 1,
            },
            P::RootNotDirectory,
            P::JournalInodeNotRegular { ino: InodeNo(1) },
            P::InUseDtime { ino: InodeNo(1) },
            P::ExtentsFlagWithoutFeature { ino: InodeNo(1) },
            P::InlineFlagWithoutFeature { ino: InodeNo(1) },
            P::EncryptFlagWithoutXattr { ino: InodeNo(1) },
            P::ImagicFlag { ino: InodeNo(1) },
            P::SpecialFlags {
                ino: InodeNo(1),
                flags: 1,
            },
            P::SpecialSize {
                ino: InodeNo(1),
                size: 1,
            },
            P::ExtentsAndInline { ino: InodeNo(1) },
            P::IndexFlagNotDirectory { ino: InodeNo(1) },
            P::IndexFlagWithoutFeature { ino: InodeNo(1) },
            P::ExtentsFlagMissing { ino: InodeNo(1) },
            P::FastSymlinkExtents { ino: InodeNo(1) },
            P::FastSymlinkSize {
                ino: InodeNo(1),
                len: 1,
                size: 1,
            },
            P::InlineWithoutXattr { ino: InodeNo(1) },
            P::InlineSize {
                ino: InodeNo(1),
                size: 1,
                want: 1,
            },
            P::InodeChecksum { ino: InodeNo(1) },
            P::TooManyBlocks {
                ino: InodeNo(1),
                extents: false,
            },
            P::ZeroLengthDirectory { ino: InodeNo(1) },
            P::SlowSymlinkSize {
                ino: InodeNo(1),
                size: 1,
            },
            P::ExtentRoot {
                ino: InodeNo(1),
                why: "x".into(),
            },
            P::ExtentNode {
                ino: InodeNo(1),
                block: BlockNo(1),
                why: "x".into(),
            },
            P::ExtentChecksum {
                ino: InodeNo(1),
                block: BlockNo(1),
            },
            P::Extent {
                ino: InodeNo(1),
                lblk: 1,
                block: BlockNo(1),
                len: 1,
                fault: ExtentFault::ZeroLength,
            },
            P::ExtentIndex {
                ino: InodeNo(1),
                child: BlockNo(1),
            },
            P::ExtentIndexStart {
                ino: InodeNo(1),
                first: 1,
            },
            P::IllegalBlock {
                ino: InodeNo(1),
                index: 1,
                block: BlockNo(1),
            },
            P::IBlocks {
                ino: InodeNo(1),
                have: 1,
                want: 1,
            },
            P::ISize {
                ino: InodeNo(1),
                have: 1,
                want: 1,
            },
            P::XattrBlockChecksum { block: BlockNo(1) },
            P::XattrBlock {
                ino: InodeNo(1),
                block: BlockNo(1),
                why: "x".into(),
            },
            P::XattrRefcount {
                block: BlockNo(1),
                have: 1,
                want: 1,
            },
            P::EaInodeRefcount {
                ino: InodeNo(1),
                have: 1,
                want: 1,
            },
            P::MultiplyClaimed {
                ino: InodeNo(1),
                blocks: 1,
                with: vec![Claimant::Metadata],
            },
            P::DirCorrupted {
                dir: InodeNo(1),
                lblk: 1,
                offset: 1,
            },
            P::InlineDirCorrupted {
                dir: InodeNo(1),
                offset: 1,
            },
            P::DirNoChecksum {
                dir: InodeNo(1),
                lblk: 1,
                offset: 1,
            },
            P::DirBlockChecksum {
                dir: InodeNo(1),
                lblk: 1,
            },
            P::DirHoles {
                dir: InodeNo(1),
                count: 1,
            },
            P::DirHole {
                dir: InodeNo(1),
                lblk: 1,
            },
            P::Htree {
                dir: InodeNo(1),
                why: "x".into(),
            },
            P::DotMissing { dir: InodeNo(1) },
            P::DotWrong {
                dir: InodeNo(1),
                ino: InodeNo(1),
            },
            P::DotFileType {
                dir: InodeNo(1),
                dotdot: false,
                have: 1,
                want: 1,
            },
            P::DotBig { dir: InodeNo(1) },
            P::DotDotInvalid {
                dir: InodeNo(1),
                ino: InodeNo(1),
            },
            P::DotDotMissing { dir: InodeNo(1) },
            P::ZeroLengthName {
                dir: InodeNo(1),
                ino: InodeNo(1),
            },
            P::DuplicateDot {
                dir: InodeNo(1),
                name: b"n".to_vec(),
            },
            P::BadInodeNumber {
                dir: InodeNo(1),
                name: b"n".to_vec(),
                ino: InodeNo(1),
            },
            P::LinkToRoot {
                dir: InodeNo(1),
                name: b"n".to_vec(),
            },
            P::LinkToDot {
                dir: InodeNo(1),
                name: b"n".to_vec(),
            },
            P::UnusedInode {
                dir: InodeNo(1),
                name: b"n".to_vec(),
                ino: InodeNo(1),
            },
            P::IllegalCharacters {
                dir: InodeNo(1),
                name: b"n".to_vec(),
            },
            P::FileType {
                dir: InodeNo(1),
                name: b"n".to_vec(),
                ino: InodeNo(1),
                have: 1,
                want: 1,
            },
            P::EncryptedNameShort {
                dir: InodeNo(1),
                name: b"n".to_vec(),
            },
            P::EncryptedToUnencrypted {
                dir: InodeNo(1),
                name: b"n".to_vec(),
                ino: InodeNo(1),
            },
            P::DuplicateEntry {
                dir: InodeNo(1),
                name: b"n".to_vec(),
            },
            P::DirectoryHardLink {
                dir: InodeNo(1),
                name: b"n".to_vec(),
                ino: InodeNo(1),
                parent: InodeNo(1),
            },
            P::EntryInUninitGroup {
                dir: InodeNo(1),
                name: b"n".to_vec(),
                ino: InodeNo(1),
                group: 1,
            },
            P::EntryInUnusedArea {
                dir: InodeNo(1),
                name: b"n".to_vec(),
                ino: InodeNo(1),
                group: 1,
            },
            P::RootNotDirectoryInUse,
            P::RootNotAllocated,
            P::LostFoundNotDirectory { ino: InodeNo(1) },
            P::LostFoundMissing,
            P::Unconnected {
                dir: InodeNo(1),
                was: InodeNo(1),
            },
            P::DotDotMismatch {
                dir: InodeNo(1),
                have: InodeNo(1),
                want: InodeNo(1),
            },
            P::LinkCount {
                ino: InodeNo(1),
                have: 1,
                want: 1,
            },
            P::UnattachedEmpty { ino: InodeNo(1) },
            P::Unattached { ino: InodeNo(1) },
            P::BitmapDifferences {
                which: WhichBitmap::Block,
                ranges: vec![(1, 1, true)],
                more: 1,
            },
            P::BitmapPadding {
                which: WhichBitmap::Block,
            },
            P::InodeUninitInUse {
                group: 1,
                ino: InodeNo(1),
            },
            P::ItableUnusedTooLarge {
                group: 1,
                unused: 1,
                max: 1,
            },
            P::BitmapChecksum {
                which: WhichBitmap::Block,
                group: 1,
                have: 1,
                want: 1,
            },
            P::GroupCount {
                group: 1,
                count: Count::FreeBlocks,
                have: 1,
                want: 1,
            },
            P::SuperblockCount {
                count: Count::FreeBlocks,
                have: 1,
                want: 1,
            },
            P::QuotaUsage { qtype: 1 },
            P::InvalidQuotaInode {
                qtype: QuotaType::Group,
                ino: InodeNo(8),
            },
            P::BitmapOutside {
                group: 1,
                which: WhichBitmap::Inode,
                block: BlockNo(1),
            },
            P::BitmapOverlap {
                group: 1,
                which: WhichBitmap::Inode,
                block: BlockNo(1),
            },
            P::Extent {
                ino: InodeNo(1),
                lblk: 1,
                block: BlockNo(1),
                len: 1,
                fault: ExtentFault::OutsideFilesystem,
            },
            P::Extent {
                ino: InodeNo(1),
                lblk: 1,
                block: BlockNo(1),
                len: 1,
                fault: ExtentFault::OutOfOrder,
            },
            P::DuplicateDot {
                dir: InodeNo(1),
                name: b"..".to_vec(),
            },
            P::BitmapDifferences {
                which: WhichBitmap::Inode,
                ranges: vec![],
                more: 0,
            },
            P::BitmapPadding {
                which: WhichBitmap::Inode,
            },
            P::BitmapChecksum {
                which: WhichBitmap::Inode,
                group: 1,
                have: 1,
                want: 2,
            },
            P::GroupCount {
                group: 1,
                count: Count::FreeInodes,
                have: 1,
                want: 2,
            },
            P::GroupCount {
                group: 1,
                count: Count::Directories,
                have: 1,
                want: 2,
            },
            P::SuperblockCount {
                count: Count::FreeInodes,
                have: 1,
                want: 2,
            },
        ]
    }

    /// Which variant `p` is. Exhaustive: a new variant does not compile
    /// until it has a number here, and then fails
    /// `every_row_asks_what_e2fsck_asks` until [`samples`] has it.
    fn variant(p: &Problem) -> usize {
        match p {
            P::ReservedBlocks { .. } => 0,
            P::InodeTableOutside { .. } => 1,
            P::InodeTableOverlap { .. } => 2,
            P::BitmapOutside { .. } => 3,
            P::BitmapOverlap { .. } => 4,
            P::GroupDescChecksum { .. } => 5,
            P::ItableUnusedInvalid { .. } => 6,
            P::RecoverFlagWithoutJournal => 7,
            P::ExternalJournalRecovery => 8,
            P::JournalUnsupported { .. } => 9,
            P::JournalInvalid { .. } => 10,
            P::JournalNeedsRecovery => 11,
            P::JournalDataWithoutFlag => 12,
            P::JournalReplayFailed { .. } => 13,
            P::OrphanListWithErrors { .. } => 14,
            P::OrphanListOutOfRange { .. } => 15,
            P::OrphanListLoop { .. } => 16,
            P::OrphanListFree { .. } => 17,
            P::OrphanClear { .. } => 18,
            P::OrphanTruncate { .. } => 19,
            P::OrphanFileOutOfRange { .. } => 20,
            P::OrphanFileDamaged { .. } => 21,
            P::OrphanSlotOutOfRange { .. } => 22,
            P::OrphanSlotTwice { .. } => 23,
            P::OrphanSlotFree { .. } => 24,
            P::InodeGarbage { .. } => 25,
            P::InodeUnreadable { .. } => 26,
            P::OrphanDtime { .. } => 27,
            P::DeletedZeroDtime { .. } => 28,
            P::ExtraIsize { .. } => 29,
            P::IbodyCorrupt { .. } => 30,
            P::XattrHash { .. } => 31,
            P::EaValueInodeIllegal { .. } => 32,
            P::EaInodeFlagMissing { .. } => 33,
            P::SizeHighDir { .. } => 34,
            P::BlocksHigh { .. } => 35,
            P::FileAclHigh { .. } => 36,
            P::Faddr { .. } => 37,
            P::SizeTooLarge { .. } => 38,
            P::BadMode { .. } => 39,
            P::RootNotDirectory => 40,
            P::JournalInodeNotRegular { .. } => 41,
            P::InUseDtime { .. } => 42,
            P::ExtentsFlagWithoutFeature { .. } => 43,
            P::InlineFlagWithoutFeature { .. } => 44,
            P::EncryptFlagWithoutXattr { .. } => 45,
            P::ImagicFlag { .. } => 46,
            P::SpecialFlags { .. } => 47,
            P::SpecialSize { .. } => 48,
            P::ExtentsAndInline { .. } => 49,
            P::IndexFlagNotDirectory { .. } => 50,
            P::IndexFlagWithoutFeature { .. } => 51,
            P::ExtentsFlagMissing { .. } => 52,
            P::FastSymlinkExtents { .. } => 53,
            P::FastSymlinkSize { .. } => 54,
            P::InlineWithoutXattr { .. } => 55,
            P::InlineSize { .. } => 56,
            P::InodeChecksum { .. } => 57,
            P::TooManyBlocks { .. } => 58,
            P::ZeroLengthDirectory { .. } => 59,
            P::SlowSymlinkSize { .. } => 60,
            P::ExtentRoot { .. } => 61,
            P::ExtentNode { .. } => 62,
            P::ExtentChecksum { .. } => 63,
            P::Extent { .. } => 64,
            P::ExtentIndex { .. } => 65,
            P::ExtentIndexStart { .. } => 66,
            P::IllegalBlock { .. } => 67,
            P::IBlocks { .. } => 68,
            P::ISize { .. } => 69,
            P::XattrBlockChecksum { .. } => 70,
            P::XattrBlock { .. } => 71,
            P::XattrRefcount { .. } => 72,
            P::EaInodeRefcount { .. } => 73,
            P::MultiplyClaimed { .. } => 74,
            P::DirCorrupted { .. } => 75,
            P::InlineDirCorrupted { .. } => 76,
            P::DirNoChecksum { .. } => 77,
            P::DirBlockChecksum { .. } => 78,
            P::DirHoles { .. } => 79,
            P::DirHole { .. } => 80,
            P::Htree { .. } => 81,
            P::DotMissing { .. } => 82,
            P::DotWrong { .. } => 83,
            P::DotFileType { .. } => 84,
            P::DotBig { .. } => 85,
            P::DotDotInvalid { .. } => 86,
            P::DotDotMissing { .. } => 87,
            P::ZeroLengthName { .. } => 88,
            P::DuplicateDot { .. } => 89,
            P::BadInodeNumber { .. } => 90,
            P::LinkToRoot { .. } => 91,
            P::LinkToDot { .. } => 92,
            P::UnusedInode { .. } => 93,
            P::IllegalCharacters { .. } => 94,
            P::FileType { .. } => 95,
            P::EncryptedNameShort { .. } => 96,
            P::EncryptedToUnencrypted { .. } => 97,
            P::DuplicateEntry { .. } => 98,
            P::DirectoryHardLink { .. } => 99,
            P::EntryInUninitGroup { .. } => 100,
            P::EntryInUnusedArea { .. } => 101,
            P::RootNotDirectoryInUse => 102,
            P::RootNotAllocated => 103,
            P::LostFoundNotDirectory { .. } => 104,
            P::LostFoundMissing => 105,
            P::Unconnected { .. } => 106,
            P::DotDotMismatch { .. } => 107,
            P::LinkCount { .. } => 108,
            P::UnattachedEmpty { .. } => 109,
            P::Unattached { .. } => 110,
            P::BitmapDifferences { .. } => 111,
            P::BitmapPadding { .. } => 112,
            P::InodeUninitInUse { .. } => 113,
            P::ItableUnusedTooLarge { .. } => 114,
            P::BitmapChecksum { .. } => 115,
            P::GroupCount { .. } => 116,
            P::SuperblockCount { .. } => 117,
            P::QuotaUsage { .. } => 118,
            P::InvalidQuotaInode { .. } => 119,
        }
    }

    #[test]
    fn every_row_asks_what_e2fsck_asks() {
        let codes = fixture("PR_");
        let samples = samples();
        let seen: std::collections::BTreeSet<usize> = samples.iter().map(variant).collect();
        assert_eq!(seen, (0..=119).collect(), "a variant without a sample");
        for p in samples {
            let row = p.row();
            let Some(code) = row.code else {
                // The checker's own problem: it still asks something
                // unless its message says what is done.
                continue;
            };
            let e2 = codes
                .iter()
                .find(|r| r[0] == code)
                .unwrap_or_else(|| panic!("{code} is not in problem.c"));
            assert_eq!(e2fsck_name(row.prompt), e2[1], "{p:?} ({code})");
        }
    }

    #[test]
    fn names_print_as_e2fsck_prints_them() {
        assert_eq!(show(b"plain.txt"), "plain.txt");
        assert_eq!(show(b"a\nb\x7f"), "a^Jb^?");
        // 0xc3 -> M-C, 0x9f -> M-^_, 0xff -> M-^?, 0x80 stays (e2fsck tests > 128).
        assert_eq!(show(&[0xc3, 0x9f, 0xff, 0x80]), "M-CM-^_M-^?\u{80}");
    }

    #[test]
    fn rows_carry_fields_into_e2fsck_wording() {
        let p = Problem::IBlocks {
            ino: InodeNo(12),
            have: 8,
            want: 16,
        };
        assert_eq!(p.kind(), Kind::IBlocks);
        assert_eq!(p.preen(), Preen::Fix);
        assert_eq!(p.message(), "Inode 12, i_blocks is 8, should be 16.");
        let p = Problem::BitmapDifferences {
            which: WhichBitmap::Block,
            ranges: vec![(5, 5, true), (7, 9, false)],
            more: 2,
        };
        assert_eq!(p.kind(), Kind::BlockBitmap);
        assert_eq!(
            p.message(),
            "Block bitmap differences: +5 -(7--9) and 2 more ranges"
        );
        let p = Problem::BitmapPadding {
            which: WhichBitmap::Inode,
        };
        assert_eq!(
            (p.kind(), p.message().as_str()),
            (
                Kind::InodeBitmap,
                "Padding at end of inode bitmap is not set."
            )
        );
        let p = Problem::SuperblockCount {
            count: Count::FreeBlocks,
            have: 10,
            want: 12,
        };
        assert_eq!(p.preen(), Preen::Quiet);
        assert_eq!(p.message(), "Free blocks count wrong (10, counted=12).");
    }
}
