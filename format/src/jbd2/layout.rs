//! The jbd2 on-disk structures as typed big-endian layouts, with the
//! kernel's names (include/linux/jbd2.h) and compile-time size checks;
//! offsets appear nowhere else.

use zerocopy::big_endian::{U16, U32, U64};
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

/// `journal_header_t`: the first 12 bytes of every journal metadata block.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct JournalHeader {
    pub h_magic: U32,
    pub h_blocktype: U32,
    pub h_sequence: U32,
}

/// `journal_superblock_t`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct JournalSuperblockRaw {
    pub s_header: JournalHeader,
    pub s_blocksize: U32,
    pub s_maxlen: U32,
    pub s_first: U32,
    pub s_sequence: U32,
    pub s_start: U32,
    pub s_errno: U32,
    // Version 2 superblocks only:
    pub s_feature_compat: U32,
    pub s_feature_incompat: U32,
    pub s_feature_ro_compat: U32,
    pub s_uuid: [u8; 16],
    pub s_nr_users: U32,
    pub s_dynsuper: U32,
    pub s_max_transaction: U32,
    pub s_max_trans_data: U32,
    pub s_checksum_type: u8,
    pub s_padding2: [u8; 3],
    pub s_num_fc_blks: U32,
    pub s_head: U32,
    pub s_padding: [U32; 40],
    /// crc32c(~0) of the superblock with this field zero.
    pub s_checksum: U32,
    pub s_users: [u8; 16 * 48],
}

/// `struct commit_header`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct CommitHeader {
    pub h_magic: U32,
    pub h_blocktype: U32,
    pub h_sequence: U32,
    pub h_chksum_type: u8,
    pub h_chksum_size: u8,
    pub h_padding: [u8; 2],
    pub h_chksum: [U32; 8],
    pub h_commit_sec: U64,
    pub h_commit_nsec: U32,
}

/// `journal_block_tag3_t`: a descriptor tag with csum v3.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct JournalBlockTag3 {
    pub t_blocknr: U32,
    pub t_flags: U32,
    pub t_blocknr_high: U32,
    pub t_checksum: U32,
}

/// `journal_block_tag_t`: a descriptor tag without csum v3. Only the
/// first 8 bytes are on disk without the 64bit feature (the kernel's
/// `journal_tag_bytes`); see [`JournalBlockTag::read`].
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct JournalBlockTag {
    pub t_blocknr: U32,
    /// Low 16 bits of the crc32c, with csum v2.
    pub t_checksum: U16,
    pub t_flags: U16,
    pub t_blocknr_high: U32,
}

/// `struct jbd2_journal_block_tail`: the last 4 bytes of descriptor and
/// revoke blocks with csum v2/v3.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct Jbd2JournalBlockTail {
    pub t_checksum: U32,
}

/// `jbd2_journal_revoke_header_t`; the records (4 or 8 bytes) follow.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct Jbd2JournalRevokeHeader {
    pub r_header: JournalHeader,
    /// Bytes used in the block, header included.
    pub r_count: U32,
}

const _: () = assert!(size_of::<JournalHeader>() == 12);
const _: () = assert!(size_of::<JournalSuperblockRaw>() == 1024);
const _: () = assert!(size_of::<CommitHeader>() == 0x3C);
const _: () = assert!(size_of::<JournalBlockTag3>() == 16);
const _: () = assert!(size_of::<JournalBlockTag>() == 12);
const _: () = assert!(size_of::<Jbd2JournalBlockTail>() == 4);
const _: () = assert!(size_of::<Jbd2JournalRevokeHeader>() == 16);
const _: () = {
    use core::mem::offset_of;
    assert!(offset_of!(JournalSuperblockRaw, s_uuid) == 0x30);
    assert!(offset_of!(JournalSuperblockRaw, s_checksum_type) == 0x50);
    assert!(offset_of!(JournalSuperblockRaw, s_num_fc_blks) == 0x54);
    assert!(offset_of!(JournalSuperblockRaw, s_checksum) == 0xFC);
    assert!(offset_of!(CommitHeader, h_chksum) == 0x10);
    assert!(offset_of!(CommitHeader, h_commit_sec) == 0x30);
};

impl JournalBlockTag {
    /// The tag in the first `bytes` (8 or more) of `t`; fields past them
    /// read as zero.
    pub fn read(t: &[u8], bytes: usize) -> JournalBlockTag {
        let mut tag = JournalBlockTag::new_zeroed();
        let n = bytes.min(size_of::<JournalBlockTag>()).min(t.len());
        tag.as_mut_bytes()[..n].copy_from_slice(&t[..n]);
        tag
    }

    /// Writes the first `bytes` of the tag into `t`.
    pub fn write(&self, t: &mut [u8], bytes: usize) {
        let n = bytes.min(size_of::<JournalBlockTag>()).min(t.len());
        t[..n].copy_from_slice(&self.as_bytes()[..n]);
    }
}

/// fuse4fs's pending marker (not a kernel structure; see
/// [`crate::jbd2::pending`]): a revoke header under another magic, the
/// boot it was written in, and a crc32c(~0) of what comes before.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct PendingMarker {
    pub p_header: Jbd2JournalRevokeHeader,
    pub p_boot_id: [u8; 16],
    pub p_checksum: U32,
}

const _: () = assert!(size_of::<PendingMarker>() == 36);

impl JournalSuperblockRaw {
    /// The superblock laid over `raw`, None when shorter than 1024 bytes.
    pub fn of(raw: &[u8]) -> Option<&JournalSuperblockRaw> {
        JournalSuperblockRaw::ref_from_prefix(raw)
            .ok()
            .map(|(r, _)| r)
    }
}
