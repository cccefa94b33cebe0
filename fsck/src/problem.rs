//! The problems a check can find: one table, as e2fsck's `problem.c`.
//!
//! Every problem is a [`Problem`] variant carrying its context as typed
//! fields (inode, block, group, counts, names). [`Problem::row`] is the
//! table: for each variant its [`Kind`] (the family tests and callers
//! match on), its preen rule and its message. Nothing else words a
//! problem; call sites build the variant and ask
//! ([`crate::report::Report::ask`]). docs/fsck-problems.md says how to
//! add one.

use std::fmt;

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
    Inode(u32),
    /// Fixed metadata (superblock, descriptors, bitmaps, inode tables).
    Metadata,
    /// An xattr block.
    XattrBlock,
}

impl fmt::Display for Claimant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Claimant::Inode(o) => write!(f, "inode #{o}"),
            Claimant::Metadata => f.write_str("<filesystem metadata>"),
            Claimant::XattrBlock => f.write_str("<extended attribute block>"),
        }
    }
}

/// An orphan as the orphan messages name it (e2fsck's "%s orphaned
/// inode %i (uid=%Iu, gid=%Ig, mode=%Im, size=%Is)").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrphanId {
    pub ino: u32,
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
            self.ino, self.uid, self.gid, self.mode, self.size
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
        block: u64,
    },
    InodeTableOverlap {
        group: u32,
    },
    BitmapOutside {
        group: u32,
        which: WhichBitmap,
        block: u64,
    },
    BitmapOverlap {
        group: u32,
        which: WhichBitmap,
        block: u64,
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

    // Setup: the journal.
    RecoverFlagWithoutJournal,
    ExternalJournalRecovery,
    JournalUnsupported {
        what: String,
    },
    JournalInvalid {
        ino: u32,
        why: String,
    },
    JournalNeedsRecovery,
    JournalDataWithoutFlag,
    JournalReplayFailed {
        why: String,
    },

    // Setup: the orphan list and the orphan file.
    OrphanListWithErrors {
        head: u32,
    },
    OrphanListOutOfRange {
        ino: u32,
    },
    OrphanListLoop {
        ino: u32,
    },
    OrphanListFree {
        ino: u32,
    },
    OrphanClear {
        orphan: OrphanId,
    },
    OrphanTruncate {
        orphan: OrphanId,
    },
    OrphanFileOutOfRange {
        ino: u32,
    },
    OrphanFileDamaged {
        ino: u32,
    },
    OrphanSlotOutOfRange {
        ino: u32,
    },
    OrphanSlotTwice {
        ino: u32,
    },
    OrphanSlotFree {
        ino: u32,
    },

    // Pass 1: inode fields.
    InodeGarbage {
        ino: u32,
    },
    InodeUnreadable {
        ino: u32,
        why: String,
    },
    OrphanDtime {
        ino: u32,
    },
    DeletedZeroDtime {
        ino: u32,
    },
    ExtraIsize {
        ino: u32,
        have: u16,
        want: u16,
    },
    IbodyCorrupt {
        ino: u32,
        why: String,
    },
    XattrHash {
        ino: u32,
        hash: u32,
    },
    EaValueInodeIllegal {
        ino: u32,
        ea_ino: u32,
    },
    EaInodeFlagMissing {
        ino: u32,
        ea_ino: u32,
    },
    SizeHighDir {
        ino: u32,
        high: u32,
    },
    BlocksHigh {
        ino: u32,
        high: u16,
    },
    FileAclHigh {
        ino: u32,
        high: u16,
    },
    Faddr {
        ino: u32,
        faddr: u32,
    },
    SizeTooLarge {
        ino: u32,
        high: u32,
    },
    BadMode {
        ino: u32,
        mode: u16,
    },
    RootNotDirectory,
    JournalInodeNotRegular {
        ino: u32,
    },
    InUseDtime {
        ino: u32,
    },
    ExtentsFlagWithoutFeature {
        ino: u32,
    },
    InlineFlagWithoutFeature {
        ino: u32,
    },
    EncryptFlagWithoutXattr {
        ino: u32,
    },
    ImagicFlag {
        ino: u32,
    },
    SpecialFlags {
        ino: u32,
        flags: u32,
    },
    SpecialSize {
        ino: u32,
        size: u64,
    },
    ExtentsAndInline {
        ino: u32,
    },
    IndexFlagNotDirectory {
        ino: u32,
    },
    IndexFlagWithoutFeature {
        ino: u32,
    },
    ExtentsFlagMissing {
        ino: u32,
    },
    FastSymlinkExtents {
        ino: u32,
    },
    FastSymlinkSize {
        ino: u32,
        len: usize,
        size: u64,
    },
    InlineWithoutXattr {
        ino: u32,
    },
    InlineSize {
        ino: u32,
        size: u64,
        want: u64,
    },
    InodeChecksum {
        ino: u32,
    },

    // Pass 1: block trees, sizes and xattr blocks.
    TooManyBlocks {
        ino: u32,
        extents: bool,
    },
    ZeroLengthDirectory {
        ino: u32,
    },
    SlowSymlinkSize {
        ino: u32,
        size: u64,
    },
    ExtentRoot {
        ino: u32,
        why: String,
    },
    ExtentNode {
        ino: u32,
        block: u64,
        why: String,
    },
    ExtentChecksum {
        ino: u32,
        block: u64,
    },
    Extent {
        ino: u32,
        lblk: u64,
        block: u64,
        len: u64,
        fault: ExtentFault,
    },
    ExtentIndex {
        ino: u32,
        child: u64,
    },
    ExtentIndexStart {
        ino: u32,
        first: u64,
    },
    IllegalBlock {
        ino: u32,
        index: usize,
        block: u64,
    },
    IBlocks {
        ino: u32,
        have: u64,
        want: u64,
    },
    ISize {
        ino: u32,
        have: u64,
        want: u64,
    },
    XattrBlockChecksum {
        block: u64,
    },
    XattrBlock {
        ino: u32,
        block: u64,
        why: String,
    },
    XattrRefcount {
        block: u64,
        have: u32,
        want: u32,
    },
    EaInodeRefcount {
        ino: u32,
        have: u64,
        want: u64,
    },

    // Pass 1B.
    MultiplyClaimed {
        ino: u32,
        blocks: usize,
        with: Vec<Claimant>,
    },

    // Pass 2: directory blocks.
    DirCorrupted {
        dir: u32,
        lblk: u64,
        offset: usize,
    },
    InlineDirCorrupted {
        dir: u32,
        offset: usize,
    },
    DirNoChecksum {
        dir: u32,
        lblk: u64,
        offset: usize,
    },
    DirBlockChecksum {
        dir: u32,
        lblk: u64,
    },
    DirHoles {
        dir: u32,
        count: u64,
    },
    DirHole {
        dir: u32,
        lblk: u64,
    },
    Htree {
        dir: u32,
        why: String,
    },

    // Pass 2: '.' and '..'.
    DotMissing {
        dir: u32,
    },
    DotWrong {
        dir: u32,
        ino: u32,
    },
    DotFileType {
        dir: u32,
        dotdot: bool,
        have: u8,
        want: u8,
    },
    DotBig {
        dir: u32,
    },
    DotDotInvalid {
        dir: u32,
        ino: u32,
    },
    DotDotMissing {
        dir: u32,
    },

    // Pass 2: entries.
    ZeroLengthName {
        dir: u32,
        ino: u32,
    },
    DuplicateDot {
        dir: u32,
        name: Vec<u8>,
    },
    BadInodeNumber {
        dir: u32,
        name: Vec<u8>,
        ino: u32,
    },
    LinkToRoot {
        dir: u32,
        name: Vec<u8>,
    },
    LinkToDot {
        dir: u32,
        name: Vec<u8>,
    },
    UnusedInode {
        dir: u32,
        name: Vec<u8>,
        ino: u32,
    },
    IllegalCharacters {
        dir: u32,
        name: Vec<u8>,
    },
    FileType {
        dir: u32,
        name: Vec<u8>,
        ino: u32,
        have: u8,
        want: u8,
    },
    EncryptedNameShort {
        dir: u32,
        name: Vec<u8>,
    },
    EncryptedToUnencrypted {
        dir: u32,
        name: Vec<u8>,
        ino: u32,
    },
    DuplicateEntry {
        dir: u32,
        name: Vec<u8>,
    },
    DirectoryHardLink {
        dir: u32,
        name: Vec<u8>,
        ino: u32,
        parent: u32,
    },
    EntryInUninitGroup {
        dir: u32,
        name: Vec<u8>,
        ino: u32,
        group: u32,
    },
    EntryInUnusedArea {
        dir: u32,
        name: Vec<u8>,
        ino: u32,
        group: u32,
    },

    // Pass 3.
    RootNotDirectoryInUse,
    RootNotAllocated,
    LostFoundNotDirectory {
        ino: u32,
    },
    LostFoundMissing,
    Unconnected {
        dir: u32,
        was: u32,
    },
    DotDotMismatch {
        dir: u32,
        have: u32,
        want: u32,
    },

    // Pass 4.
    LinkCount {
        ino: u32,
        have: u32,
        want: u32,
    },
    UnattachedEmpty {
        ino: u32,
    },
    Unattached {
        ino: u32,
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
        ino: u64,
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

/// One row of the table: a problem's family, preen rule and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub kind: Kind,
    pub preen: Preen,
    pub message: String,
}

fn row(kind: Kind, preen: Preen, message: String) -> Row {
    Row {
        kind,
        preen,
        message,
    }
}

impl Problem {
    /// The table: family, preen rule and message of every problem.
    pub fn row(&self) -> Row {
        use Kind as K;
        use Preen::{Fix, Halt, Quiet};
        use Problem::*;
        match self {
            ReservedBlocks { r_blocks } => row(
                K::SuperblockCounts,
                Fix,
                format!("Corruption found in superblock.  (r_blocks_count = {r_blocks})."),
            ),
            InodeTableOutside { group, block } => row(
                K::GroupDescBad,
                Halt,
                format!("Inode table for group {group} is not in the filesystem (block {block})."),
            ),
            InodeTableOverlap { group } => row(
                K::GroupDescBad,
                Halt,
                format!("Inode table for group {group} overlaps other filesystem metadata."),
            ),
            BitmapOutside {
                group,
                which,
                block,
            } => row(
                K::GroupDescBad,
                Halt,
                format!("{which} for group {group} is not in the filesystem (block {block}). Relocate."),
            ),
            BitmapOverlap {
                group,
                which,
                block,
            } => row(
                K::GroupDescBad,
                Halt,
                format!(
                    "{which} for group {group} (block {block}) overlaps other filesystem metadata. Relocate."
                ),
            ),
            GroupDescChecksum { group, have, want } => row(
                K::GroupDescChecksum,
                Halt,
                format!(
                    "One or more block group descriptor checksums are invalid (group {group}: 0x{have:04x}, should be 0x{want:04x})."
                ),
            ),
            ItableUnusedInvalid { group, unused } => row(
                K::GroupFlags,
                Fix,
                format!("Group descriptor {group} has invalid unused inodes count {unused}."),
            ),

            RecoverFlagWithoutJournal => row(
                K::JournalBad,
                Halt,
                "Superblock needs_recovery flag is set, but no journal is present.  Clear the flag?"
                    .into(),
            ),
            ExternalJournalRecovery => row(
                K::JournalBad,
                Halt,
                "The filesystem needs recovery from an external journal device.".into(),
            ),
            JournalUnsupported { what } => row(
                K::JournalBad,
                Halt,
                format!(
                    "The journal holds transactions to replay but uses {what}, which this checker cannot replay."
                ),
            ),
            JournalInvalid { ino, why } => row(
                K::JournalBad,
                Halt,
                format!("Superblock has an invalid journal (inode {ino}): {why}."),
            ),
            JournalNeedsRecovery => row(
                K::JournalNeedsRecovery,
                Fix,
                "The filesystem needs recovery: the journal holds transactions not yet written home. Replay the journal?".into(),
            ),
            JournalDataWithoutFlag => row(
                K::JournalNeedsRecovery,
                Fix,
                "Superblock needs_recovery flag is clear, but journal has data.  Run journal anyway?"
                    .into(),
            ),
            JournalReplayFailed { why } => row(
                K::JournalBad,
                Halt,
                format!("The journal cannot be replayed ({why}).  Clear journal?"),
            ),

            OrphanListWithErrors { head } => row(
                K::OrphanListBad,
                Halt,
                format!(
                    "The filesystem has errors: its orphan list (from inode {head}) is not processed.  Clear it?"
                ),
            ),
            OrphanListOutOfRange { ino } => row(
                K::OrphanListBad,
                Halt,
                format!("The orphan list names inode {ino}, out of range.  Clear the rest of it?"),
            ),
            OrphanListLoop { ino } => row(
                K::OrphanListBad,
                Halt,
                format!("The orphan list loops back to inode {ino}.  Clear the rest of it?"),
            ),
            OrphanListFree { ino } => row(
                K::OrphanListBad,
                Halt,
                format!(
                    "The orphan list names inode {ino}, which is not in use.  Clear the rest of it?"
                ),
            ),
            OrphanClear { orphan } => row(K::Orphan, Fix, format!("Clearing {orphan}.")),
            OrphanTruncate { orphan } => row(K::Orphan, Fix, format!("Truncating {orphan}.")),
            OrphanFileOutOfRange { ino } => row(
                K::OrphanListBad,
                Halt,
                format!("The orphan file inode {ino} is out of range."),
            ),
            OrphanFileDamaged { ino } => row(
                K::OrphanListBad,
                Halt,
                format!("The orphan file (inode {ino}) is damaged."),
            ),
            OrphanSlotOutOfRange { ino } => row(
                K::OrphanListBad,
                Halt,
                format!("The orphan file names inode {ino}, out of range.  Clear?"),
            ),
            OrphanSlotTwice { ino } => row(
                K::OrphanListBad,
                Halt,
                format!("The orphan file names inode {ino} twice.  Clear?"),
            ),
            OrphanSlotFree { ino } => row(
                K::OrphanListBad,
                Halt,
                format!("The orphan file names inode {ino}, which is not in use.  Clear?"),
            ),

            InodeGarbage { ino } => row(
                K::InodeChecksum,
                Halt,
                format!("Inode {ino} seems to contain garbage."),
            ),
            InodeUnreadable { ino, why } => row(
                K::InodeBadMode,
                Halt,
                format!("Inode {ino} is unreadable ({why})."),
            ),
            OrphanDtime { ino } => row(
                K::InodeDtime,
                Fix,
                format!("Inode {ino} was part of the orphaned inode list."),
            ),
            DeletedZeroDtime { ino } => row(
                K::InodeDtime,
                Fix,
                format!("Deleted inode {ino} has zero dtime."),
            ),
            ExtraIsize { ino, have, want } => row(
                K::InodeExtraIsize,
                Halt,
                format!("Inode {ino} has an invalid extra size ({have}), should be {want}."),
            ),
            IbodyCorrupt { ino, why } => row(
                K::XattrIbodyBad,
                Halt,
                format!("Inode {ino} has corrupt in-inode extended attributes ({why})."),
            ),
            XattrHash { ino, hash } => row(
                K::XattrIbodyBad,
                Halt,
                format!("Extended attribute in inode {ino} has a hash ({hash}) which is invalid."),
            ),
            EaValueInodeIllegal { ino, ea_ino } => row(
                K::XattrIbodyBad,
                Halt,
                format!("Inode {ino} has illegal extended attribute value inode {ea_ino}."),
            ),
            EaInodeFlagMissing { ino, ea_ino } => row(
                K::XattrIbodyBad,
                Halt,
                format!("EA inode {ea_ino} for parent inode {ino} missing EA_INODE flag."),
            ),
            SizeHighDir { ino, high } => row(
                K::ISize,
                Halt,
                format!("i_size_high for directory inode {ino} is {high}, should be zero."),
            ),
            BlocksHigh { ino, high } => row(
                K::IBlocks,
                Fix,
                format!("i_blocks_hi for inode {ino} is {high}, should be zero."),
            ),
            FileAclHigh { ino, high } => row(
                K::XattrBlockBad,
                Halt,
                format!("i_file_acl_hi for inode {ino} is {high}, should be zero."),
            ),
            Faddr { ino, faddr } => row(
                K::InodeFaddr,
                Halt,
                format!("i_faddr for inode {ino} is {faddr}, should be zero."),
            ),
            SizeTooLarge { ino, high } => row(
                K::ISize,
                Halt,
                format!("Inode {ino}, i_size is too large (high word 0x{high:08x})."),
            ),
            BadMode { ino, mode } => row(
                K::InodeBadMode,
                Halt,
                format!("Inode {ino} has an invalid mode (0{mode:o})."),
            ),
            RootNotDirectory => row(
                K::ReservedInodeBad,
                Halt,
                "Root inode is not a directory.".into(),
            ),
            JournalInodeNotRegular { ino } => row(
                K::ReservedInodeBad,
                Halt,
                format!("Journal inode {ino} is not a regular file."),
            ),
            InUseDtime { ino } => row(
                K::InodeDtime,
                Fix,
                format!("Inode {ino} is in use, but has dtime set."),
            ),
            ExtentsFlagWithoutFeature { ino } => row(
                K::InodeBadFlags,
                Halt,
                format!("Inode {ino} has EXTENTS_FL flag set on filesystem without extents support."),
            ),
            InlineFlagWithoutFeature { ino } => row(
                K::InodeBadFlags,
                Halt,
                format!(
                    "Inode {ino} has INLINE_DATA_FL flag on filesystem without inline data support."
                ),
            ),
            EncryptFlagWithoutXattr { ino } => row(
                K::InodeBadFlags,
                Halt,
                format!("Inode {ino} has encrypt flag but no encryption extended attribute."),
            ),
            ImagicFlag { ino } => row(
                K::InodeBadFlags,
                Halt,
                format!("Inode {ino} has imagic flag set."),
            ),
            SpecialFlags { ino, flags } => row(
                K::InodeBadFlags,
                Halt,
                format!(
                    "Special (device/socket/fifo) inode {ino} has extents, inline-data or index flags set (0x{flags:x})."
                ),
            ),
            SpecialSize { ino, size } => row(
                K::ISize,
                Halt,
                format!("Special (device/socket/fifo) inode {ino} has non-zero i_size {size}."),
            ),
            ExtentsAndInline { ino } => row(
                K::InodeBadFlags,
                Halt,
                format!("Inode {ino} has both extent and inline data flags set."),
            ),
            IndexFlagNotDirectory { ino } => row(
                K::InodeBadFlags,
                Halt,
                format!("Inode {ino} has INDEX_FL flag set on a non-directory."),
            ),
            IndexFlagWithoutFeature { ino } => row(
                K::InodeBadFlags,
                Halt,
                format!("Inode {ino} has INDEX_FL flag set on filesystem without htree support."),
            ),
            ExtentsFlagMissing { ino } => row(
                K::InodeBadFlags,
                Halt,
                format!("Inode {ino} missing EXTENT_FL, but is in extents format."),
            ),
            FastSymlinkExtents { ino } => row(
                K::SymlinkBad,
                Halt,
                format!("Symlink inode {ino} is invalid (has EXTENTS_FL)."),
            ),
            FastSymlinkSize { ino, len, size } => row(
                K::SymlinkBad,
                Halt,
                format!("Symlink inode {ino} is invalid (target of {len} bytes, i_size {size})."),
            ),
            InlineWithoutXattr { ino } => row(
                K::InlineDataBad,
                Halt,
                format!("Inode {ino} has INLINE_DATA_FL flag but extended attribute not found."),
            ),
            InlineSize { ino, size, want } => row(
                K::InlineDataBad,
                Halt,
                format!("Inode {ino} has inline data, but i_size is {size}, should be {want}."),
            ),
            InodeChecksum { ino } => row(
                K::InodeChecksum,
                Halt,
                format!("Inode {ino} passes checks, but checksum does not match inode."),
            ),

            TooManyBlocks { ino, extents } => row(
                if *extents { K::ExtentBad } else { K::BlockMapBad },
                Halt,
                format!("Inode {ino} maps more blocks than the filesystem holds."),
            ),
            ZeroLengthDirectory { ino } => row(
                K::ISize,
                Halt,
                format!("Inode {ino} is a zero-length directory."),
            ),
            SlowSymlinkSize { ino, size } => row(
                K::SymlinkBad,
                Halt,
                format!("Symlink inode {ino} is invalid (size {size})."),
            ),
            ExtentRoot { ino, why } => row(
                K::ExtentHeaderBad,
                Halt,
                format!("Inode {ino} has an invalid extent tree root ({why})."),
            ),
            ExtentNode { ino, block, why } => row(
                K::ExtentHeaderBad,
                Halt,
                format!("Inode {ino} has an invalid extent node (block {block}: {why})."),
            ),
            ExtentChecksum { ino, block } => row(
                K::ExtentChecksum,
                Halt,
                format!(
                    "Inode {ino} extent block {block} passes checks, but checksum does not match extent."
                ),
            ),
            Extent {
                ino,
                lblk,
                block,
                len,
                fault,
            } => row(
                K::ExtentBad,
                Halt,
                format!(
                    "Inode {ino} has an invalid extent (logical block {lblk}, physical block {block}, len {len}: {fault})."
                ),
            ),
            ExtentIndex { ino, child } => row(
                K::ExtentBad,
                Halt,
                format!("Inode {ino} has an invalid extent index entry (child block {child})."),
            ),
            ExtentIndexStart { ino, first } => row(
                K::ExtentBad,
                Halt,
                format!(
                    "Inode {ino} has an extent index entry whose start does not match its subtree's first block {first}."
                ),
            ),
            IllegalBlock { ino, index, block } => row(
                K::BlockMapBad,
                Halt,
                format!("Illegal block #{index} ({block}) in inode {ino}."),
            ),
            IBlocks { ino, have, want } => row(
                K::IBlocks,
                Fix,
                format!("Inode {ino}, i_blocks is {have}, should be {want}."),
            ),
            ISize { ino, have, want } => row(
                K::ISize,
                Halt,
                format!("Inode {ino}, i_size is {have}, should be {want}."),
            ),
            XattrBlockChecksum { block } => row(
                K::XattrBlockBad,
                Halt,
                format!("Extended attribute block {block} passes checks, but checksum does not match."),
            ),
            XattrBlock { ino, block, why } => row(
                K::XattrBlockBad,
                Halt,
                format!("Inode {ino} has a bad extended attribute block {block} ({why})."),
            ),
            XattrRefcount { block, have, want } => row(
                K::XattrRefcount,
                Fix,
                format!("Extended attribute block {block} has reference count {have}, should be {want}."),
            ),
            EaInodeRefcount { ino, have, want } => row(
                K::EaInodeRefcount,
                Fix,
                format!("Extended attribute inode {ino} ref count is {have}, should be {want}."),
            ),

            MultiplyClaimed { ino, blocks, with } => {
                let names: Vec<String> = with.iter().map(|c| c.to_string()).collect();
                row(
                    K::MultiplyClaimed,
                    Halt,
                    format!(
                        "File inode #{ino} has {blocks} multiply-claimed block(s), shared with {} file(s): {}.",
                        with.len(),
                        names.join(", ")
                    ),
                )
            }

            DirCorrupted { dir, lblk, offset } => row(
                K::DirEntryCorrupt,
                Halt,
                format!("Directory inode {dir}, block #{lblk}, offset {offset}: directory corrupted."),
            ),
            InlineDirCorrupted { dir, offset } => row(
                K::DirEntryCorrupt,
                Halt,
                format!("Directory inode {dir}, inline data, offset {offset}: directory corrupted."),
            ),
            DirNoChecksum { dir, lblk, offset } => row(
                K::DirTailMissing,
                Fix,
                format!(
                    "Directory inode {dir}, block #{lblk}, offset {offset}: directory has no checksum."
                ),
            ),
            DirBlockChecksum { dir, lblk } => row(
                K::DirBlockChecksum,
                Halt,
                format!("Directory inode {dir}, block #{lblk}: passes checks, but fails checksum."),
            ),
            DirHoles { dir, count } => row(
                K::DirHole,
                Halt,
                format!("Directory inode {dir} has {count} unallocated blocks."),
            ),
            DirHole { dir, lblk } => row(
                K::DirHole,
                Halt,
                format!("Directory inode {dir} has an unallocated block #{lblk}."),
            ),
            Htree { dir, why } => row(
                K::HtreeBad,
                Halt,
                format!("Problem in HTREE directory inode {dir}: {why}."),
            ),

            DotMissing { dir } => row(
                K::DirDot,
                Halt,
                format!("Missing '.' in directory inode {dir}."),
            ),
            DotWrong { dir, ino } => row(
                K::DirDot,
                Halt,
                format!("'.' in directory inode {dir} names inode {ino}, should be {dir}."),
            ),
            DotFileType {
                dir,
                dotdot,
                have,
                want,
            } => row(
                K::DirEntryFileType,
                Halt,
                format!(
                    "Entry '{}' in directory inode {dir} has an incorrect filetype (was {have}, should be {want}).",
                    if *dotdot { ".." } else { "." }
                ),
            ),
            DotBig { dir } => row(
                K::DirDot,
                Halt,
                format!("Directory entry for '.' in directory inode {dir} is big."),
            ),
            DotDotInvalid { dir, ino } => row(
                K::DirDotDot,
                Halt,
                format!("Entry '..' in directory inode {dir} has invalid inode #: {ino}."),
            ),
            DotDotMissing { dir } => row(
                K::DirDotDot,
                Halt,
                format!("Missing '..' in directory inode {dir}."),
            ),

            ZeroLengthName { dir, ino } => row(
                K::DirEntryBadName,
                Halt,
                format!("Entry in directory inode {dir} ({ino}) has a zero-length name."),
            ),
            DuplicateDot { dir, name } => {
                let name = show(name);
                row(
                    K::DirEntryDuplicate,
                    Halt,
                    format!("Entry '{name}' in directory inode {dir} is a duplicate '{name}' entry."),
                )
            }
            BadInodeNumber { dir, name, ino } => row(
                K::DirEntryBadInode,
                Halt,
                format!(
                    "Entry '{}' in directory inode {dir} has bad inode #: {ino}.",
                    show(name)
                ),
            ),
            LinkToRoot { dir, name } => row(
                K::DirHardLink,
                Halt,
                format!(
                    "Entry '{}' in directory inode {dir} is a link to the root inode.",
                    show(name)
                ),
            ),
            LinkToDot { dir, name } => row(
                K::DirHardLink,
                Halt,
                format!("Entry '{}' in directory inode {dir} is a link to '.'.", show(name)),
            ),
            UnusedInode { dir, name, ino } => row(
                K::DirEntryFreeInode,
                Fix,
                format!(
                    "Entry '{}' in directory inode {dir} has deleted/unused inode {ino}.",
                    show(name)
                ),
            ),
            IllegalCharacters { dir, name } => row(
                K::DirEntryBadName,
                Halt,
                format!(
                    "Entry '{}' in directory inode {dir} has illegal characters in its name.",
                    show(name)
                ),
            ),
            FileType {
                dir,
                name,
                ino,
                have,
                want,
            } => row(
                K::DirEntryFileType,
                Halt,
                format!(
                    "Entry '{}' in directory inode {dir} ({ino}) has an incorrect filetype (was {have}, should be {want}).",
                    show(name)
                ),
            ),
            EncryptedNameShort { dir, name } => row(
                K::DirEntryBadName,
                Halt,
                format!(
                    "Encrypted entry '{}' in directory inode {dir} is too short.",
                    show(name)
                ),
            ),
            EncryptedToUnencrypted { dir, name, ino } => row(
                K::DirEntryBadInode,
                Halt,
                format!(
                    "Encrypted entry '{}' in directory inode {dir} references unencrypted inode {ino}.",
                    show(name)
                ),
            ),
            DuplicateEntry { dir, name } => row(
                K::DirEntryDuplicate,
                Halt,
                format!(
                    "Duplicate entry '{}' found in directory inode {dir}.",
                    show(name)
                ),
            ),
            DirectoryHardLink {
                dir,
                name,
                ino,
                parent,
            } => row(
                K::DirHardLink,
                Halt,
                format!(
                    "Entry '{}' in directory inode {dir} is a link to directory {ino}, already in directory inode {parent}.",
                    show(name)
                ),
            ),
            EntryInUninitGroup {
                dir,
                name,
                ino,
                group,
            } => row(
                K::GroupFlags,
                Fix,
                format!(
                    "Entry '{}' in directory inode {dir} references inode {ino} in group {group} where _INODE_UNINIT is set.",
                    show(name)
                ),
            ),
            EntryInUnusedArea {
                dir,
                name,
                ino,
                group,
            } => row(
                K::GroupFlags,
                Fix,
                format!(
                    "Entry '{}' in directory inode {dir} references inode {ino} found in group {group}'s unused inodes area.",
                    show(name)
                ),
            ),

            RootNotDirectoryInUse => {
                row(K::RootBad, Halt, "Root inode is not a directory.".into())
            }
            RootNotAllocated => row(K::RootBad, Halt, "Root inode not allocated.".into()),
            LostFoundNotDirectory { ino } => row(
                K::LostFoundMissing,
                Fix,
                format!("/lost+found is not a directory (ino={ino})."),
            ),
            LostFoundMissing => row(K::LostFoundMissing, Fix, "/lost+found not found.".into()),
            Unconnected { dir, was } => row(
                K::DirUnconnected,
                Fix,
                format!("Unconnected directory inode {dir} (was in {was})."),
            ),
            DotDotMismatch { dir, have, want } => row(
                K::DotDotMismatch,
                Fix,
                format!("'..' in directory inode {dir} is {have}, should be {want}."),
            ),

            LinkCount { ino, have, want } => row(
                K::LinkCount,
                Fix,
                format!("Inode {ino} ref count is {have}, should be {want}."),
            ),
            UnattachedEmpty { ino } => row(
                K::InodeUnattached,
                Fix,
                format!("Unattached zero-length inode {ino} (clear it)."),
            ),
            Unattached { ino } => row(
                K::InodeUnattached,
                Fix,
                format!("Unattached inode {ino} (connect it to /lost+found)."),
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
                row(which.kind(), Fix, s)
            }
            BitmapPadding { which } => row(
                which.kind(),
                Fix,
                format!("Padding at end of {} is not set.", which.lower()),
            ),
            InodeUninitInUse { group, ino } => row(
                K::GroupFlags,
                Fix,
                format!("Group {group} is marked INODE_UNINIT but inode {ino} is in use."),
            ),
            ItableUnusedTooLarge { group, unused, max } => row(
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
                K::GroupCounts,
                Fix,
                format!("{count} count wrong for group #{group} ({have}, counted={want})."),
            ),
            SuperblockCount { count, have, want } => row(
                K::SuperblockCounts,
                Quiet,
                format!("{count} count wrong ({have}, counted={want})."),
            ),

            QuotaUsage { qtype } => row(
                K::QuotaUsage,
                Fix,
                format!("Update quota info for quota type {qtype}."),
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
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl WhichBitmap {
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
            ino: 12,
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
