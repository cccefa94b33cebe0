//! The orphan file (compat feature orphan_file): blocks of inode-number
//! slots, each block ending in a tail of magic and checksum
//! ([`Ext4OrphanBlockTail`]), as e2fsprogs' lib/ext2fs/orphan.c.

use zerocopy::little_endian::U32;
use zerocopy::{FromBytes, IntoBytes};

use super::csum::crc32c_raw;
use super::layout::Ext4OrphanBlockTail;

/// ob_magic, the first word of every block's tail.
pub const BLOCK_MAGIC: u32 = 0x0b10_ca04;
/// Bytes of the tail (ob_magic, ob_checksum) at the end of each block.
pub const TAIL_SIZE: usize = size_of::<Ext4OrphanBlockTail>();
/// The most blocks the kernel accepts in an orphan file
/// (EXT4_MAX_ORPHAN_FILE_BLOCKS): a larger one fails the mount.
pub const MAX_BLOCKS: u64 = 512;

/// Inode-number slots in one block of `block_size` bytes.
pub fn slots(block_size: usize) -> usize {
    (block_size - TAIL_SIZE) / size_of::<U32>()
}

/// The inode-number slots of an orphan file block.
pub fn block_slots(block: &[u8]) -> &[U32] {
    <[U32]>::ref_from_bytes(&block[..slots(block.len()) * size_of::<U32>()])
        .expect("slots are whole words")
}

/// The inode-number slots of an orphan file block, to change.
pub fn block_slots_mut(block: &mut [u8]) -> &mut [U32] {
    let n = slots(block.len()) * size_of::<U32>();
    <[U32]>::mut_from_bytes(&mut block[..n]).expect("slots are whole words")
}

/// The tail of an orphan file block.
pub fn block_tail(block: &[u8]) -> &Ext4OrphanBlockTail {
    Ext4OrphanBlockTail::ref_from_suffix(block)
        .expect("a block holds its tail")
        .1
}

/// The checksum of one orphan file block at physical block `pblk`: seeded
/// with the fs seed, the orphan file's inode number and generation, then
/// the block number (64 bits) and the slots.
pub fn block_checksum(fs_seed: u32, ino: u32, generation: u32, pblk: u64, block: &[u8]) -> u32 {
    let seed = crc32c_raw(
        crc32c_raw(fs_seed, &ino.to_le_bytes()),
        &generation.to_le_bytes(),
    );
    crc32c_raw(
        crc32c_raw(seed, &pblk.to_le_bytes()),
        block_slots(block).as_bytes(),
    )
}

/// Writes the tail of orphan file block `block` (at physical block
/// `pblk` of inode `ino`): the magic and the metadata_csum checksum.
pub fn seal_block(fs_seed: u32, ino: u32, generation: u32, pblk: u64, block: &mut [u8]) {
    let c = block_checksum(fs_seed, ino, generation, pblk, block);
    let tail = Ext4OrphanBlockTail::mut_from_suffix(block)
        .expect("a block holds its tail")
        .1;
    tail.ob_magic.set(BLOCK_MAGIC);
    tail.ob_checksum.set(c);
}

/// What is wrong with a block's tail, if anything (the checksum only
/// judged when `fs_seed` is given, i.e. with metadata_csum).
pub fn tail_problem(block: &[u8], csum: Option<(u32, u32, u32, u64)>) -> Option<&'static str> {
    let tail = block_tail(block);
    if tail.ob_magic.get() != BLOCK_MAGIC {
        return Some("bad magic");
    }
    if let Some((seed, ino, generation, pblk)) = csum
        && tail.ob_checksum.get() != block_checksum(seed, ino, generation, pblk, block)
    {
        return Some("bad checksum");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_magic_and_checksum() {
        let mut b = vec![0u8; 1024];
        b[0..4].copy_from_slice(&77u32.to_le_bytes());
        assert_eq!(tail_problem(&b, None), Some("bad magic"));
        b[1016..1020].copy_from_slice(&BLOCK_MAGIC.to_le_bytes());
        assert_eq!(tail_problem(&b, None), None);
        let c = block_checksum(1, 12, 3, 500, &b);
        b[1020..].copy_from_slice(&c.to_le_bytes());
        assert_eq!(tail_problem(&b, Some((1, 12, 3, 500))), None);
        // Another block number, generation or slot gives another checksum.
        assert_eq!(
            tail_problem(&b, Some((1, 12, 3, 501))),
            Some("bad checksum")
        );
        assert_eq!(
            tail_problem(&b, Some((1, 12, 4, 500))),
            Some("bad checksum")
        );
        b[8] = 1;
        assert_eq!(
            tail_problem(&b, Some((1, 12, 3, 500))),
            Some("bad checksum")
        );
        assert_eq!(slots(4096), 1022);
    }
}
