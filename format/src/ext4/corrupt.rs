//! The kinds of damage a parser or writer finds in an on-disk structure,
//! each with the numbers that place it ([`CorruptKind`]). The messages
//! read "what: why", as `FormatError::Corrupt` prints them after
//! "corrupt ".

use std::fmt;

use super::{BlockNo, FormatError, InodeNo};

/// Which xattr area an entry list lies in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XattrArea {
    /// The in-inode area after i_extra_isize.
    Ibody,
    /// An external xattr block.
    Block,
}

impl fmt::Display for XattrArea {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            XattrArea::Ibody => "in-inode xattrs",
            XattrArea::Block => "xattr block",
        })
    }
}

/// Which encoding of a POSIX ACL a value claims to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclForm {
    /// ext4's compact on-disk form (`ext4_acl_header`).
    Disk,
    /// The VFS `posix_acl_xattr` form.
    Vfs,
}

impl fmt::Display for AclForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AclForm::Disk => "on-disk POSIX ACL",
            AclForm::Vfs => "POSIX ACL xattr",
        })
    }
}

/// Which extent tree node a parser read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtentAt {
    /// The root in inode `ino`'s i_block.
    Root { ino: InodeNo },
    /// Block `block` of inode `ino`'s tree.
    Block { ino: InodeNo, block: BlockNo },
}

impl fmt::Display for ExtentAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtentAt::Root { ino } => write!(f, "inode {} extent root", ino.0),
            ExtentAt::Block { ino, block } => {
                write!(f, "inode {} extent block {}", ino.0, block.0)
            }
        }
    }
}

/// Which htree index block of a directory a parser read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DxAt {
    /// Block 0 of directory `dir`, the dx root.
    Root { dir: InodeNo },
    /// The interior node at logical block `lblk` of directory `dir` (a
    /// block of the directory's file, not of the filesystem).
    Node { dir: InodeNo, lblk: u64 },
}

impl fmt::Display for DxAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DxAt::Root { dir } => write!(f, "directory {} htree root", dir.0),
            DxAt::Node { dir, lblk } => write!(f, "directory {} htree block {lblk}", dir.0),
        }
    }
}

/// What a block range found outside the filesystem was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeUse {
    /// A run of the journal inode.
    JournalInode,
    /// An indirect block of inode `ino`'s block map.
    IndirectBlock { ino: InodeNo },
    /// Data blocks inode `ino`'s block map points at.
    DataBlocks { ino: InodeNo },
    /// The blocks of an extent of inode `ino`.
    Extent { ino: InodeNo },
    /// Inode `ino`'s xattr block.
    XattrBlock { ino: InodeNo },
    /// Blocks to free.
    Free,
    /// Blocks a data write goes to.
    DataWrite,
}

impl fmt::Display for RangeUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RangeUse::JournalInode => write!(f, "journal inode"),
            RangeUse::IndirectBlock { ino } => write!(f, "inode {} indirect block", ino.0),
            RangeUse::DataBlocks { ino } => write!(f, "inode {} data blocks", ino.0),
            RangeUse::Extent { ino } => write!(f, "inode {} extent", ino.0),
            RangeUse::XattrBlock { ino } => write!(f, "inode {} xattr block", ino.0),
            RangeUse::Free => write!(f, "free"),
            RangeUse::DataWrite => write!(f, "data write"),
        }
    }
}

/// Why an i_blocks count cannot be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IBlocksLimit {
    /// Over 2^32-1 sectors without the huge_file feature.
    NeedHugeFile,
    /// Over 2^48-1 sectors and not a whole number of blocks.
    NotWholeBlocks,
    /// Over 2^48-1 filesystem blocks.
    Over48Bits,
}

/// Damage the server finds in one inode or what hangs off it (the
/// kernel's EXT4_ERROR_INODE cases), with its numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InodeDamage {
    // ---- directories ----
    EntryMoved,
    DxRootWithoutTail,
    DxNodeWithoutTail,
    NoBlockMapped,
    NoFirstDirBlock,
    NoDotDotdot,
    NoDotdot,
    AncestryLoops,
    NoBlockForHole,
    EntryPastRegion,
    EntryNamePastRegion,
    InlineDirWithoutData,
    InlineDataTooLarge,
    /// The in-inode xattr values overlap, so the area cannot be rebuilt.
    IbodyNotRebuildable,
    UnwrittenDirBlock {
        lblk: u64,
    },
    DirBlockPastSize {
        lblk: u64,
    },
    FirstBlockWithoutDots,
    DotdotRecLen,
    /// An entry naming a reserved inode.
    ReservedEntry {
        target: u32,
    },
    /// An entry other than "." naming its own directory.
    SelfLink,
    // ---- hashed directories ----
    NoDxRoot,
    EmptyHtreePath,
    DxIndexPastEnd {
        lblk: u32,
    },
    DxIndexHole {
        lblk: u32,
    },
    DxLevels {
        levels: u8,
    },
    DxHashVersion {
        version: u8,
    },
    DxLeafOutside {
        lblk: u64,
    },
    DxLeafHole,
    DxNodeCount {
        count: usize,
        limit: usize,
    },
    DxNoRoom,
    // ---- the inode itself ----
    OutOfRange,
    GroupDamaged {
        group: u32,
    },
    UninitialisedSlot,
    Deleted,
    /// An xattr value inode reached by a name.
    EaInodeByName,
    EmptySlowSymlink,
    SymlinkWithoutBlock,
    // ---- extent trees (`block` None: the root in i_block) ----
    ExtentMax {
        block: Option<u64>,
        max: u16,
    },
    ExtentIndexEmpty {
        block: Option<u64>,
    },
    /// A node's entries reach outside what its parent's entry gives it.
    ExtentRange {
        block: Option<u64>,
        first: u64,
        end: u64,
        floor: u64,
        hi: u64,
    },
    ExtentNoChecksumRoom {
        block: u64,
    },
    /// An extent to insert overlaps the leaf's neighbours.
    ExtentNoHole {
        lblk: u32,
        end: u64,
    },
    // ---- block maps ----
    IndirectTwice {
        block: u64,
    },
    MappedTwice {
        block: u64,
    },
    IndirectLoop {
        block: u64,
    },
    DataOverIndirect {
        block: u64,
        len: u64,
    },
    MapOverMetadata {
        block: u64,
        len: u64,
    },
    // ---- xattr value inodes (`ea`: the value's inode) ----
    EaInodeSize {
        ea: InodeNo,
        size: u64,
        entry_size: u32,
    },
    EaInodeValueHash {
        ea: InodeNo,
    },
    EaInodeEntryHash {
        ea: InodeNo,
        hash: u32,
    },
    EaInodeWithoutFeature {
        ea: InodeNo,
    },
    EaInodeOutOfRange {
        ea: InodeNo,
    },
    NotEaInode {
        ea: InodeNo,
    },
    // ---- xattr blocks ----
    XattrBlockUnreferenced {
        block: u64,
    },
    AccessAclUnparsable,
}

/// "extent root" or "extent block N".
fn extent_node(f: &mut fmt::Formatter<'_>, block: &Option<u64>) -> fmt::Result {
    match block {
        None => write!(f, "extent root"),
        Some(b) => write!(f, "extent block {b}"),
    }
}

impl fmt::Display for InodeDamage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use InodeDamage::*;
        match self {
            EntryMoved => write!(f, "entry moved while removing"),
            DxRootWithoutTail => write!(f, "dx root without tail"),
            DxNodeWithoutTail => write!(f, "dx node without tail"),
            NoBlockMapped => write!(f, "block map gave no block"),
            NoFirstDirBlock => write!(f, "no first directory block"),
            NoDotDotdot => write!(f, "directory without . and .."),
            NoDotdot => write!(f, "directory without .."),
            AncestryLoops => write!(f, "directory ancestry loops"),
            NoBlockForHole => write!(f, "no block for a hole"),
            EntryPastRegion => write!(f, "entry past its region"),
            EntryNamePastRegion => write!(f, "entry name past its region"),
            InlineDirWithoutData => write!(f, "inline dir without system.data"),
            InlineDataTooLarge => write!(f, "inline data larger than a block"),
            IbodyNotRebuildable => write!(
                f,
                "in-inode xattrs: values overlap: the area cannot be rebuilt"
            ),
            UnwrittenDirBlock { lblk } => {
                write!(f, "block {lblk}: unwritten extent in a directory")
            }
            DirBlockPastSize { lblk } => write!(
                f,
                "block {lblk}: directory block past i_size is already mapped"
            ),
            FirstBlockWithoutDots => write!(f, "first block does not start with . and .."),
            DotdotRecLen => write!(f, "invalid rec_len for '..'"),
            ReservedEntry { target } => write!(f, "entry names reserved inode {target}"),
            SelfLink => write!(f, "entry links the directory to itself"),
            NoDxRoot => write!(f, "no dx root"),
            EmptyHtreePath => write!(f, "empty htree path"),
            DxIndexPastEnd { lblk } => write!(f, "htree block {lblk}: index points past the end"),
            DxIndexHole { lblk } => write!(f, "htree block {lblk}: index points at a hole"),
            DxLevels { levels } => write!(f, "htree root: {levels} index levels"),
            DxHashVersion { version } => write!(f, "htree root: hash version {version}"),
            DxLeafOutside { lblk } => write!(f, "htree: leaf {lblk} outside the directory"),
            DxLeafHole => write!(f, "htree: leaf is a hole"),
            DxNodeCount { count, limit } => write!(f, "dx node with {count} of {limit} entries"),
            DxNoRoom => write!(f, "htree: no room after splitting"),
            OutOfRange => write!(f, "inode number out of range"),
            GroupDamaged { group } => write!(f, "group {group} descriptor is damaged"),
            UninitialisedSlot => write!(f, "entry names an uninitialised inode slot"),
            Deleted => write!(f, "deleted inode referenced by a directory entry"),
            EaInodeByName => write!(
                f,
                "xattr value inode (EA_INODE_FL) referenced by a directory entry"
            ),
            EmptySlowSymlink => write!(f, "empty slow symlink"),
            SymlinkWithoutBlock => write!(f, "symlink without a data block"),
            ExtentMax { block, max } => {
                extent_node(f, block)?;
                write!(f, ": eh_max {max}")
            }
            ExtentIndexEmpty { block } => {
                extent_node(f, block)?;
                write!(f, ": index node without entries")
            }
            ExtentRange {
                block,
                first,
                end,
                floor,
                hi,
            } => {
                extent_node(f, block)?;
                write!(
                    f,
                    ": entries [{first}, {end}) outside the parent's [{floor}, {hi})"
                )
            }
            ExtentNoChecksumRoom { block } => {
                write!(f, "extent block {block}: no room for the checksum")
            }
            ExtentNoHole { lblk, end } => write!(f, "extent tree: no hole for [{lblk}, {end})"),
            IndirectTwice { block } => {
                write!(f, "indirect block {block}: appears twice in the block map")
            }
            MappedTwice { block } => write!(f, "block map: block {block} is mapped twice"),
            IndirectLoop { block } => {
                write!(f, "indirect block {block}: points back into its own path")
            }
            DataOverIndirect { block, len } => write!(
                f,
                "data blocks {block}+{len}: overlap their own indirect block"
            ),
            MapOverMetadata { block, len } => write!(
                f,
                "block map: blocks {block}+{len} overlap filesystem metadata"
            ),
            EaInodeSize {
                ea,
                size,
                entry_size,
            } => write!(
                f,
                "EA inode {}: i_size {size} but the entry says {entry_size}",
                ea.0
            ),
            EaInodeValueHash { ea } => {
                write!(f, "EA inode {}: the value does not match its hash", ea.0)
            }
            EaInodeEntryHash { ea, hash } => {
                write!(f, "EA inode {}: entry hash {hash:#x} does not match", ea.0)
            }
            EaInodeWithoutFeature { ea } => write!(
                f,
                "EA inode {}: value in an inode without the ea_inode feature",
                ea.0
            ),
            EaInodeOutOfRange { ea } => write!(f, "EA inode {}: inode number out of range", ea.0),
            NotEaInode { ea } => write!(
                f,
                "EA inode {}: not an EA inode (flag, type or link count)",
                ea.0
            ),
            XattrBlockUnreferenced { block } => write!(f, "xattr block {block}: h_refcount 0"),
            AccessAclUnparsable => write!(f, "access ACL does not parse"),
        }
    }
}

/// One kind of corruption, with its numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorruptKind {
    // ---- superblock ----
    /// Fewer than 1024 bytes to parse.
    SuperblockShort,
    /// Fewer than 1024 bytes to write into.
    SuperblockShortBuffer,
    /// A free block count over 32 bits without the 64bit feature.
    FreeBlocksWithout64bit {
        free_blocks: u64,
    },
    /// A superblock time that does not fit 40 bits.
    SuperblockTime {
        field: &'static str,
        time: u64,
    },
    BlockSizeTooLarge {
        log_block_size: u32,
    },
    ClusterSize {
        log_cluster_size: u32,
        log_block_size: u32,
    },
    ClustersPerGroup {
        clusters_per_group: u32,
    },
    /// s_blocks_per_group is not s_clusters_per_group clusters.
    BlocksPerCluster {
        blocks_per_group: u32,
        clusters_per_group: u32,
    },
    BlocksPerGroup {
        blocks_per_group: u32,
    },
    InodesPerGroup {
        inodes_per_group: u32,
    },
    InodeSize {
        inode_size: u64,
    },
    FirstDataBlockBeyondEnd,
    DescSize {
        desc_size: u16,
    },
    GroupCount {
        groups: u64,
    },
    /// s_inodes_count is not the group count times s_inodes_per_group.
    InodesCount {
        inodes_count: u32,
        groups: u64,
        inodes_per_group: u32,
    },
    FirstIno {
        first_ino: u32,
    },
    BlocksWithout64bit,
    /// The filesystem is larger than its device.
    LargerThanDevice {
        blocks: u64,
        block_size: u64,
        device_len: u64,
    },
    /// As [`CorruptKind::InodesCount`], as the checker words it.
    InodesInGroups {
        inodes_count: u32,
        groups: u32,
        inodes_per_group: u32,
    },

    // ---- group descriptors ----
    /// A buffer shorter than a descriptor.
    GroupDescShort,
    /// A value the 32-byte descriptor cannot hold.
    GroupDescTooWide {
        field: &'static str,
        value: u64,
        desc_size: usize,
    },
    /// A bitmap or the inode table outside the filesystem.
    GroupDescOutside {
        group: u32,
    },

    // ---- inodes ----
    /// Fewer bytes than s_inode_size.
    InodeShort {
        ino: u32,
    },
    /// A buffer to write into shorter than s_inode_size.
    InodeShortBuffer {
        ino: u32,
    },
    ExtraIsize {
        ino: u32,
        extra_isize: u16,
    },
    /// i_extra_isize and the in-inode xattr area do not add up.
    ExtraIsizeAndXattrs {
        ino: u32,
        extra_isize: usize,
        xattr_len: usize,
    },
    ExtraFieldsInSmallInode {
        ino: u32,
    },
    ISize {
        ino: u32,
        size: u64,
    },
    FileAclWithout64bit {
        ino: u32,
        file_acl: u64,
    },
    FileAcl {
        ino: u32,
        file_acl: u64,
    },
    VersionWithoutHi {
        ino: u32,
        version: u64,
    },
    /// A time the inode's fields cannot hold.
    Timestamp {
        sec: i64,
        nsec: u32,
        with_extra: bool,
    },
    /// An i_blocks count the inode cannot hold.
    IBlocks {
        blocks_512: u64,
        limit: IBlocksLimit,
    },

    // ---- xattrs ----
    XattrUnterminated {
        area: XattrArea,
        off: usize,
    },
    XattrEntryTruncated {
        area: XattrArea,
        off: usize,
    },
    XattrNamePastEnd {
        area: XattrArea,
        off: usize,
    },
    XattrNameNul {
        area: XattrArea,
        off: usize,
    },
    XattrValueInode {
        area: XattrArea,
        off: usize,
        inum: u32,
        size: usize,
    },
    XattrValueOverlapsList {
        area: XattrArea,
        off: usize,
        start: usize,
        list_end: usize,
    },
    XattrValuePastEnd {
        area: XattrArea,
        off: usize,
        size: usize,
        start: usize,
        len: usize,
    },
    XattrBlockShort {
        len: usize,
    },
    XattrBlockCount {
        h_blocks: u32,
    },
    /// An on-disk ACL shorter than its header.
    AclShort {
        len: usize,
    },
    /// A VFS ACL whose length is not a header and whole entries.
    AclLength {
        len: usize,
    },
    AclVersion {
        form: AclForm,
        version: u32,
    },
    AclEntryTruncated {
        off: usize,
    },
    AclTag {
        form: AclForm,
        off: usize,
        tag: u16,
    },

    // ---- directories ----
    DirEntryTruncated {
        off: usize,
    },
    DirEntryRecLen {
        rec_len: usize,
        name_len: usize,
        off: usize,
    },
    DirEntryInode {
        inode: u32,
        off: usize,
    },
    /// An entry of an encrypted and casefolded directory whose record has
    /// no room for the (hash, minor hash) after its name.
    DirEntryNoHashes {
        rec_len: usize,
        off: usize,
    },
    /// A region to extend without an entry.
    DirEntriesEmpty,
    /// A full leaf to split with fewer than two live entries.
    DirLeafUnsplittable {
        count: usize,
    },

    // ---- encryption ----
    EncryptedNameShort {
        len: usize,
    },
    EncryptedSymlinkArea {
        len: usize,
    },
    EncryptedSymlinkLength {
        len: usize,
        area: usize,
    },

    // ---- extent trees (`at`: the node) ----
    ExtentMagic {
        at: ExtentAt,
    },
    ExtentEntries {
        at: ExtentAt,
        entries: u16,
        max: u16,
    },
    ExtentDepth {
        at: ExtentAt,
        depth: u16,
    },
    ExtentOrder {
        at: ExtentAt,
    },
    ExtentIndexOrder {
        at: ExtentAt,
    },
    /// A node to write whose entries or eh_max do not fit its buffer.
    ExtentNodeOverfull {
        count: usize,
        max: u16,
        len: usize,
    },
    /// A node to write whose depth disagrees with its kind.
    ExtentNodeDepth {
        depth: u16,
    },
    /// An extent length the on-disk form cannot hold.
    ExtentLength {
        len: u16,
        unwritten: bool,
    },
    /// A block number over 48 bits in a node to write.
    ExtentBlockTooFar {
        block: u64,
    },

    // ---- hashed directories (`at`: the index block) ----
    DxNodeTooSmall {
        at: DxAt,
    },
    DxCountLimit {
        at: DxAt,
        count: u16,
        limit: u16,
        want_limit: usize,
    },
    DxHashOrder {
        at: DxAt,
    },
    DxRootTooSmall {
        at: DxAt,
    },
    DxRootDots {
        at: DxAt,
    },
    DxRootInfo {
        at: DxAt,
    },
    DxNodeHeader {
        at: DxAt,
    },

    // ---- MMP ----
    MmpShort,

    // ---- quota files ----
    QuotaBlockPastEnd {
        block: u32,
        len: usize,
    },
    QuotaShort,
    QuotaMagic {
        magic: u32,
        qtype: &'static str,
    },
    QuotaVersion {
        version: u32,
    },
    QuotaReference {
        block: u32,
        blocks: u32,
    },
    QuotaEntryPastEnd {
        at: usize,
    },
    QuotaDuplicateId {
        id: u32,
    },
    QuotaEntryCount {
        block: u32,
        counted: u16,
        held: usize,
    },
    QuotaNoRoom,
    QuotaFreeListFull {
        block: u32,
    },
    QuotaBlockFull {
        block: u32,
        used: usize,
    },
    QuotaIdExists {
        id: u32,
    },

    // ---- found by the server ----
    /// Damage in inode `ino`.
    Inode {
        ino: u32,
        why: InodeDamage,
    },
    /// s_def_hash_version names no hash.
    DefaultHashVersion {
        version: u8,
    },
    /// The journal inode's size over 2^32 blocks.
    JournalTooLarge,
    JournalHole {
        lblk: u64,
    },
    JournalEmpty,
    /// The journal's block size or length disagrees with the inode.
    JournalGeometry {
        block_size: u32,
        maxlen: u32,
        blocks: u64,
        fs_block_size: u64,
    },
    /// A journal block size unlike the filesystem's.
    JournalBlockSize {
        block_size: u32,
    },
    /// A log left to replay where it should be empty.
    JournalNotReplayed,
    /// A block number outside the filesystem.
    BlockOutside {
        block: u64,
    },
    /// `len` blocks from `block` reach outside the filesystem (`at`: what
    /// they were for).
    RangeOutside {
        at: RangeUse,
        block: u64,
        len: u64,
    },
    /// A data write onto fixed metadata.
    DataWriteOnMetadata {
        block: u64,
        len: u64,
    },
    /// A group descriptor block past the end.
    GroupDescTableOutside {
        block: u64,
    },
    /// A reserved inode (`what`) whose inode does not parse (`inner`).
    SpecialUnreadable {
        what: &'static str,
        ino: u32,
        inner: Box<FormatError>,
    },
    SpecialUnallocated {
        what: &'static str,
        ino: u32,
    },
    RootNotDir,
    JournalInodeNotFile {
        ino: u32,
    },
    OrphanFileNotFile {
        ino: u32,
    },
    OrphanFileTooBig {
        ino: u32,
        size: u64,
    },
    OrphanFileHole {
        ino: u32,
        lblk: u64,
    },
    /// An orphan file block's tail is wrong (`why`: orphan::tail_problem).
    OrphanFileTail {
        ino: u32,
        lblk: u64,
        why: &'static str,
    },
    QuotaFileSize {
        qtype: &'static str,
        ino: u32,
        size: u64,
    },
    /// `inner`, found in a quota file (`qtype` when known).
    InQuotaFile {
        qtype: Option<&'static str>,
        ino: u32,
        inner: Box<CorruptKind>,
    },
    OrphanListBadInode {
        ino: u32,
    },
    OrphanListLoop {
        ino: u32,
    },
    OrphanListTooLong,
    /// A stored ACL that parses but whose VFS form does not.
    StoredAclUnconvertible,
    InheritedAclMalformed,
    AccessAclWithoutGroup,
    AccessAclWithoutOther,
    /// A bitmap bit that already had the value a change gives it.
    BitmapBit {
        group: u32,
        bitmap: &'static str,
        bit: u32,
        set: bool,
    },
    /// A group counter a change would take out of its range.
    GroupCounter {
        group: u32,
        counter: &'static str,
        value: u32,
        by: i64,
    },
    /// A block a transaction both owns (for an inode) and shares as
    /// filesystem metadata.
    BlockOwnedAndShared {
        block: u64,
    },
    /// A committed inode slot reused since a change read it.
    InodeSlotReused {
        ino: u32,
        read: u32,
        now: u32,
    },
    ExtentPathEmpty,
    ExtentPathEndsInIndex,
    ExtentPathRootBelowTop,
    ExtentPathLeafAboveNode,
    /// An EA inode's reference count would go below zero.
    EaInodeRefcount {
        ea: InodeNo,
        refcount: u64,
        lose: i64,
    },

    // ---- where ----
    /// `inner`, found in inode `ino`.
    InInode {
        ino: u32,
        inner: Box<CorruptKind>,
    },
    /// `inner`, found in logical block `lblk` of directory `ino`.
    InDirBlock {
        ino: u32,
        lblk: u64,
        inner: Box<CorruptKind>,
    },
    /// `inner`, found in the inline directory `ino`.
    InInlineDir {
        ino: u32,
        inner: Box<CorruptKind>,
    },
}

impl fmt::Display for CorruptKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use CorruptKind::*;
        const SB: &str = "superblock";
        const GD: &str = "group descriptor";
        const DE: &str = "directory entry";
        const Q: &str = "quota file";
        const EN: &str = "extent node";
        match self {
            SuperblockShort => write!(f, "{SB}: short read"),
            SuperblockShortBuffer => write!(f, "{SB}: short buffer"),
            FreeBlocksWithout64bit { free_blocks } => {
                write!(f, "{SB}: {free_blocks} free blocks without 64bit")
            }
            SuperblockTime { field, time } => write!(f, "{SB}: {field} {time} beyond 40 bits"),
            BlockSizeTooLarge { log_block_size } => {
                write!(f, "{SB}: block size 2^(10+{log_block_size}) is too large")
            }
            ClusterSize {
                log_cluster_size,
                log_block_size,
            } => write!(
                f,
                "{SB}: cluster size 2^(10+{log_cluster_size}) with block size 2^(10+{log_block_size})"
            ),
            ClustersPerGroup { clusters_per_group } => {
                write!(f, "{SB}: {clusters_per_group} clusters per group")
            }
            BlocksPerCluster {
                blocks_per_group,
                clusters_per_group,
            } => write!(
                f,
                "{SB}: {blocks_per_group} blocks per group and {clusters_per_group} clusters per group inconsistent"
            ),
            BlocksPerGroup { blocks_per_group } => {
                write!(f, "{SB}: {blocks_per_group} blocks per group")
            }
            InodesPerGroup { inodes_per_group } => {
                write!(f, "{SB}: {inodes_per_group} inodes per group")
            }
            InodeSize { inode_size } => write!(f, "{SB}: inode size {inode_size}"),
            FirstDataBlockBeyondEnd => write!(f, "{SB}: first data block beyond the end"),
            DescSize { desc_size } => write!(f, "{SB}: descriptor size {desc_size}"),
            GroupCount { groups } => write!(f, "{SB}: {groups} block groups"),
            InodesCount {
                inodes_count,
                groups,
                inodes_per_group,
            } => write!(
                f,
                "{SB}: {inodes_count} inodes, not {groups} groups of {inodes_per_group}"
            ),
            FirstIno { first_ino } => write!(f, "{SB}: first inode {first_ino}"),
            BlocksWithout64bit => write!(f, "{SB}: over 2^32 blocks without 64bit"),
            LargerThanDevice {
                blocks,
                block_size,
                device_len,
            } => write!(
                f,
                "{SB}: {blocks} blocks of {block_size} bytes do not fit in the device's {device_len} bytes"
            ),
            InodesInGroups {
                inodes_count,
                groups,
                inodes_per_group,
            } => write!(
                f,
                "{SB}: {inodes_count} inodes in {groups} groups of {inodes_per_group}"
            ),

            GroupDescShort => write!(f, "{GD}: short buffer"),
            GroupDescTooWide {
                field,
                value,
                desc_size,
            } => write!(
                f,
                "{GD}: {field} {value} does not fit a {desc_size}-byte descriptor"
            ),
            GroupDescOutside { group } => write!(
                f,
                "{GD} {group}: bitmap or inode table outside the filesystem"
            ),

            InodeShort { ino } => write!(f, "inode {ino}: short inode"),
            InodeShortBuffer { ino } => write!(f, "inode {ino}: short buffer"),
            ExtraIsize { ino, extra_isize } => {
                write!(f, "inode {ino}: i_extra_isize {extra_isize}")
            }
            ExtraIsizeAndXattrs {
                ino,
                extra_isize,
                xattr_len,
            } => write!(
                f,
                "inode {ino}: i_extra_isize {extra_isize} with {xattr_len} bytes of in-inode xattrs"
            ),
            ExtraFieldsInSmallInode { ino } => {
                write!(f, "inode {ino}: extra fields in a 128-byte inode")
            }
            ISize { ino, size } => write!(f, "inode {ino}: i_size {size}"),
            FileAclWithout64bit { ino, file_acl } => {
                write!(f, "inode {ino}: i_file_acl {file_acl} without 64bit")
            }
            FileAcl { ino, file_acl } => write!(f, "inode {ino}: i_file_acl {file_acl}"),
            VersionWithoutHi { ino, version } => {
                write!(f, "inode {ino}: i_version {version} without i_version_hi")
            }
            Timestamp {
                sec,
                nsec,
                with_extra,
            } => write!(
                f,
                "timestamp: {sec}.{nsec:09} not representable{}",
                if *with_extra {
                    ""
                } else {
                    " without an extra word"
                }
            ),
            IBlocks { blocks_512, limit } => write!(
                f,
                "i_blocks: {blocks_512} sectors {}",
                match limit {
                    IBlocksLimit::NeedHugeFile => "need huge_file",
                    IBlocksLimit::NotWholeBlocks => "are not a whole number of blocks",
                    IBlocksLimit::Over48Bits => "exceed 2^48-1 filesystem blocks",
                }
            ),

            XattrUnterminated { area, off } => write!(
                f,
                "{area}: entry list at {off} runs past the end without a terminator"
            ),
            XattrEntryTruncated { area, off } => write!(f, "{area}: entry at {off} truncated"),
            XattrNamePastEnd { area, off } => {
                write!(f, "{area}: name of entry at {off} runs past the end")
            }
            XattrNameNul { area, off } => write!(f, "{area}: name of entry at {off} contains NUL"),
            XattrValueInode {
                area,
                off,
                inum,
                size,
            } => write!(
                f,
                "{area}: entry at {off} names value inode {inum} with a value of {size} bytes"
            ),
            XattrValueOverlapsList {
                area,
                off,
                start,
                list_end,
            } => write!(
                f,
                "{area}: value of entry at {off} (at {start}) overlaps the entry list (ends at {list_end})"
            ),
            XattrValuePastEnd {
                area,
                off,
                size,
                start,
                len,
            } => write!(
                f,
                "{area}: value of entry at {off} ({size} bytes at {start}) runs past the end ({len})"
            ),
            XattrBlockShort { len } => write!(f, "{}: only {len} bytes", XattrArea::Block),
            XattrBlockCount { h_blocks } => {
                write!(f, "{}: h_blocks is {h_blocks}, not 1", XattrArea::Block)
            }
            AclShort { len } => write!(f, "{}: only {len} bytes", AclForm::Disk),
            AclLength { len } => write!(f, "{}: length {len}", AclForm::Vfs),
            AclVersion { form, version } => write!(f, "{form}: version {version}"),
            AclEntryTruncated { off } => {
                write!(f, "{}: entry at {off} truncated", AclForm::Disk)
            }
            AclTag { form, off, tag } => write!(f, "{form}: entry at {off} has tag {tag:#x}"),

            DirEntryTruncated { off } => write!(f, "{DE}: truncated entry at offset {off}"),
            DirEntryRecLen {
                rec_len,
                name_len,
                off,
            } => write!(
                f,
                "{DE}: rec_len {rec_len} name_len {name_len} at offset {off}"
            ),
            DirEntryInode { inode, off } => {
                write!(f, "{DE}: inode {inode} out of range at offset {off}")
            }
            DirEntryNoHashes { rec_len, off } => write!(
                f,
                "{DE}: rec_len {rec_len} has no room for the name's hashes at offset {off}"
            ),

            DirEntriesEmpty => write!(f, "directory entries: empty region"),
            DirLeafUnsplittable { count } => write!(
                f,
                "directory leaf: full block with {count} entries cannot be split"
            ),

            EncryptedNameShort { len } => {
                write!(f, "encrypted name: {len} bytes, shorter than one block")
            }
            EncryptedSymlinkArea { len } => write!(f, "encrypted symlink: {len}-byte area"),
            EncryptedSymlinkLength { len, area } => write!(
                f,
                "encrypted symlink: ciphertext length {len} in {area} bytes"
            ),

            ExtentMagic { at } => write!(f, "{at}: bad extent header magic"),
            ExtentEntries { at, entries, max } => {
                write!(f, "{at}: extent header {entries} of {max} entries")
            }
            ExtentDepth { at, depth } => write!(f, "{at}: extent node depth {depth}"),
            ExtentOrder { at } => write!(f, "{at}: extents overlap or are out of order"),
            ExtentIndexOrder { at } => write!(f, "{at}: index entries out of order"),
            ExtentNodeOverfull { count, max, len } => {
                write!(f, "{EN}: {count} entries, max {max}, in {len} bytes")
            }
            ExtentNodeDepth { depth } => write!(f, "{EN}: depth {depth}"),
            ExtentLength { len, unwritten } => {
                write!(f, "{EN}: extent length {len} (unwritten {unwritten})")
            }
            ExtentBlockTooFar { block } => write!(f, "{EN}: block {block}"),

            DxNodeTooSmall { at } => write!(f, "{at}: index node too small"),
            DxCountLimit {
                at,
                count,
                limit,
                want_limit,
            } => write!(
                f,
                "{at}: dx count {count} limit {limit} (expected limit {want_limit})"
            ),
            DxHashOrder { at } => write!(f, "{at}: dx hashes out of order"),
            DxRootTooSmall { at } => write!(f, "{at}: dx root too small"),
            DxRootDots { at } => write!(f, "{at}: dx root without . and .."),
            DxRootInfo { at } => write!(f, "{at}: bad dx_root_info"),
            DxNodeHeader { at } => write!(f, "{at}: bad dx node header"),

            MmpShort => write!(f, "MMP block: short read"),

            QuotaBlockPastEnd { block, len } => {
                write!(f, "{Q}: block {block} is past the end ({len} bytes)")
            }
            QuotaShort => write!(f, "{Q}: short"),
            QuotaMagic { magic, qtype } => {
                write!(f, "{Q}: magic 0x{magic:08x} is not a {qtype} quota file's")
            }
            QuotaVersion { version } => write!(f, "{Q}: version {version}"),
            QuotaReference { block, blocks } => {
                write!(f, "{Q}: reference to block {block} of {blocks}")
            }
            QuotaEntryPastEnd { at } => write!(f, "{Q}: entry at {at} is past the end"),
            QuotaDuplicateId { id } => write!(f, "{Q}: id {id} has two entries"),
            QuotaEntryCount {
                block,
                counted,
                held,
            } => write!(
                f,
                "{Q}: data block {block} counts {counted} entries and holds {held}"
            ),
            QuotaNoRoom => write!(f, "{Q}: the file has no room for another block"),
            QuotaFreeListFull { block } => {
                write!(f, "{Q}: data block {block} on the free entry list is full")
            }
            QuotaBlockFull { block, used } => write!(
                f,
                "{Q}: data block {block} counts {used} entries and is full"
            ),
            QuotaIdExists { id } => write!(f, "{Q}: id {id} already has an entry"),

            Inode { ino, why } => write!(f, "inode {ino}: {why}"),
            DefaultHashVersion { version } => {
                write!(f, "{SB}: default hash version {version}")
            }
            JournalTooLarge => write!(f, "journal inode: larger than a journal can be"),
            JournalHole { lblk } => write!(f, "journal inode: hole at block {lblk}"),
            JournalEmpty => write!(f, "journal inode: empty"),
            JournalGeometry {
                block_size,
                maxlen,
                blocks,
                fs_block_size,
            } => write!(
                f,
                "journal superblock: block size {block_size} / length {maxlen} do not fit the journal inode ({blocks} blocks of {fs_block_size})"
            ),
            JournalBlockSize { block_size } => {
                write!(f, "journal superblock: block size {block_size}")
            }
            JournalNotReplayed => write!(f, "journal: holds transactions that were not replayed"),
            BlockOutside { block } => write!(f, "block {block}: outside the filesystem"),
            RangeOutside { at, block, len } => {
                write!(f, "{at}: block {block}+{len} outside the filesystem")
            }
            DataWriteOnMetadata { block, len } => write!(
                f,
                "data write at block {block}+{len}: the blocks are filesystem metadata"
            ),
            GroupDescTableOutside { block } => write!(
                f,
                "group descriptor table: block {block} outside the filesystem"
            ),
            SpecialUnreadable { what, ino, inner } => write!(f, "{what} (inode {ino}): {inner}"),
            SpecialUnallocated { what, ino } => write!(
                f,
                "{what} (inode {ino}): special inode unallocated (link count 0)"
            ),
            RootNotDir => write!(f, "root inode (inode 2): not a directory with contents"),
            JournalInodeNotFile { ino } => {
                write!(f, "journal inode (inode {ino}): not a regular file")
            }
            OrphanFileNotFile { ino } => write!(f, "orphan file (inode {ino}): not a regular file"),
            OrphanFileTooBig { ino, size } => {
                write!(f, "orphan file (inode {ino}): too big: {size} bytes")
            }
            OrphanFileHole { ino, lblk } => {
                write!(f, "orphan file (inode {ino}): block {lblk} is a hole")
            }
            OrphanFileTail { ino, lblk, why } => {
                write!(f, "orphan file (inode {ino}): block {lblk}: {why}")
            }
            QuotaFileSize { qtype, ino, size } => {
                write!(f, "{qtype} quota file (inode {ino}): size {size}")
            }
            InQuotaFile { qtype, ino, inner } => match qtype {
                Some(q) => write!(f, "{q} quota file (inode {ino}): {inner}"),
                None => write!(f, "quota file (inode {ino}): {inner}"),
            },
            OrphanListBadInode { ino } => write!(f, "orphan list: bad inode {ino}"),
            OrphanListLoop { ino } => write!(f, "orphan list: loop at inode {ino}"),
            OrphanListTooLong => write!(f, "orphan list: longer than the inode count"),
            StoredAclUnconvertible => write!(f, "stored POSIX ACL: does not convert back"),
            InheritedAclMalformed => write!(f, "inherited default ACL: malformed"),
            AccessAclWithoutGroup => write!(f, "access ACL: no group or mask entry"),
            AccessAclWithoutOther => write!(f, "access ACL: no other entry"),
            BitmapBit {
                group,
                bitmap,
                bit,
                set,
            } => write!(
                f,
                "group {group} {bitmap}: bit {bit} {}",
                if *set {
                    "allocated twice"
                } else {
                    "freed while free"
                }
            ),
            GroupCounter {
                group,
                counter,
                value,
                by,
            } => write!(f, "group {group}: {counter} {value} cannot change by {by}"),
            BlockOwnedAndShared { block } => write!(
                f,
                "block {block}: owned by one inode and shared metadata at once"
            ),
            InodeSlotReused { ino, read, now } => write!(
                f,
                "inode {ino}: a change read generation {read} but the slot now holds {now}: refused"
            ),
            ExtentPathEmpty => write!(f, "extent path: empty"),
            ExtentPathEndsInIndex => write!(f, "extent path: ends in an index node"),
            ExtentPathRootBelowTop => write!(f, "extent path: a root below the top"),
            ExtentPathLeafAboveNode => write!(f, "extent path: a leaf above a node"),
            EaInodeRefcount { ea, refcount, lose } => write!(
                f,
                "EA inode {}: reference count {refcount} cannot lose {lose}",
                ea.0
            ),

            InInode { ino, inner } => write!(f, "inode {ino} {inner}"),
            InInlineDir { ino, inner } => write!(f, "inode {ino} inline directory: {inner}"),
            InDirBlock { ino, lblk, inner } => write!(f, "inode {ino} block {lblk}: {inner}"),
        }
    }
}

impl CorruptKind {
    /// `self`, placed in inode `ino`.
    pub fn in_inode(self, ino: u32) -> CorruptKind {
        CorruptKind::InInode {
            ino,
            inner: Box::new(self),
        }
    }

    /// `self`, placed in logical block `lblk` of directory `ino`.
    pub fn in_dir_block(self, ino: u32, lblk: u64) -> CorruptKind {
        CorruptKind::InDirBlock {
            ino,
            lblk,
            inner: Box::new(self),
        }
    }
}

impl InodeDamage {
    /// This damage, in inode `ino`.
    pub fn at(self, ino: u32) -> CorruptKind {
        CorruptKind::Inode { ino, why: self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text of the places and the EA inode kinds, as the bare numbers
    /// printed it before they were typed: messages that tests and goldens
    /// assert must not change.
    #[test]
    fn typed_numbers_print_as_before() {
        let ino = InodeNo(12);
        let ea = InodeNo(13);
        let cases: [(String, &str); 12] = [
            (ExtentAt::Root { ino }.to_string(), "inode 12 extent root"),
            (
                ExtentAt::Block {
                    ino,
                    block: BlockNo(99),
                }
                .to_string(),
                "inode 12 extent block 99",
            ),
            (
                DxAt::Root { dir: InodeNo(2) }.to_string(),
                "directory 2 htree root",
            ),
            (
                DxAt::Node {
                    dir: InodeNo(2),
                    lblk: 4,
                }
                .to_string(),
                "directory 2 htree block 4",
            ),
            (
                RangeUse::IndirectBlock { ino }.to_string(),
                "inode 12 indirect block",
            ),
            (
                RangeUse::DataBlocks { ino }.to_string(),
                "inode 12 data blocks",
            ),
            (RangeUse::Extent { ino }.to_string(), "inode 12 extent"),
            (
                RangeUse::XattrBlock { ino }.to_string(),
                "inode 12 xattr block",
            ),
            (
                InodeDamage::EaInodeSize {
                    ea,
                    size: 5,
                    entry_size: 6,
                }
                .to_string(),
                "EA inode 13: i_size 5 but the entry says 6",
            ),
            (
                InodeDamage::EaInodeOutOfRange { ea }.to_string(),
                "EA inode 13: inode number out of range",
            ),
            (
                CorruptKind::EaInodeRefcount {
                    ea,
                    refcount: 1,
                    lose: 2,
                }
                .to_string(),
                "EA inode 13: reference count 1 cannot lose 2",
            ),
            (
                CorruptKind::RangeOutside {
                    at: RangeUse::DataBlocks { ino },
                    block: 7,
                    len: 3,
                }
                .to_string(),
                "inode 12 data blocks: block 7+3 outside the filesystem",
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }
}
