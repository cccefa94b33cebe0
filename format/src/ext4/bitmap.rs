//! Block and inode bitmaps: bit access, free-space searches, the padding
//! rule for bits past a group's end, and the metadata_csum checksums.
//!
//! Bit `i` lives in byte `i / 8`, at bit `i % 8` (little-endian bit order,
//! as the kernel's `ext4_test_bit`). A set bit means "in use".

use super::csum::crc32c_raw;

/// A bitmap over a block's bytes. `B` is `&[u8]` for reading, `&mut [u8]`
/// to edit a buffer in place, or `Vec<u8>` for an owned copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap<B> {
    bytes: B,
}

/// An owned bitmap.
pub type OwnedBitmap = Bitmap<Vec<u8>>;

impl<B: AsRef<[u8]>> Bitmap<B> {
    /// Wraps `bytes` (normally one whole block).
    pub fn new(bytes: B) -> Self {
        Bitmap { bytes }
    }

    /// The underlying bytes.
    pub fn bytes(&self) -> &[u8] {
        self.bytes.as_ref()
    }

    /// Gives the bytes back.
    pub fn into_inner(self) -> B {
        self.bytes
    }

    /// Number of bits the buffer holds.
    pub fn bit_len(&self) -> usize {
        self.bytes.as_ref().len() * 8
    }

    /// Whether bit `i` is set. Panics past the buffer.
    pub fn get(&self, i: usize) -> bool {
        self.bytes.as_ref()[i / 8] & (1 << (i % 8)) != 0
    }

    /// First clear bit in `from..limit` (limit is capped at the buffer).
    pub fn find_first_zero(&self, from: usize, limit: usize) -> Option<usize> {
        self.find_first(from, limit, false)
    }

    /// First set bit in `from..limit` (limit is capped at the buffer).
    pub fn find_first_set(&self, from: usize, limit: usize) -> Option<usize> {
        self.find_first(from, limit, true)
    }

    fn find_first(&self, from: usize, limit: usize, want: bool) -> Option<usize> {
        let b = self.bytes.as_ref();
        let limit = limit.min(b.len() * 8);
        // Whole bytes that cannot hold the wanted bit are skipped.
        let skip = if want { 0x00 } else { 0xFF };
        let mut i = from;
        while i < limit {
            if i.is_multiple_of(8) && b[i / 8] == skip {
                i += 8;
                continue;
            }
            if self.get(i) == want {
                return Some(i);
            }
            i += 1;
        }
        None
    }

    /// Start of the first run of `len` clear bits lying wholly in
    /// `from..limit`, for contiguous allocation. `len == 0` finds nothing.
    pub fn find_zero_run(&self, from: usize, limit: usize, len: usize) -> Option<usize> {
        if len == 0 {
            return None;
        }
        let limit = limit.min(self.bit_len());
        let mut start = from;
        loop {
            start = self.find_first_zero(start, limit)?;
            if limit - start < len {
                return None;
            }
            match self.find_first_set(start, start + len) {
                None => return Some(start),
                Some(used) => start = used + 1,
            }
        }
    }

    /// Clear bits in `0..limit` (limit is capped at the buffer): the free
    /// count a group descriptor should hold.
    pub fn count_zeros(&self, limit: usize) -> usize {
        let b = self.bytes.as_ref();
        let limit = limit.min(b.len() * 8);
        let whole = limit / 8;
        let mut n: usize = b[..whole].iter().map(|x| x.count_zeros() as usize).sum();
        n += (whole * 8..limit).filter(|&i| !self.get(i)).count();
        n
    }

    /// The raw crc32c of the first `nbytes` bytes (see
    /// [`block_bitmap_checksum`] and [`inode_bitmap_checksum`]).
    pub fn checksum(&self, seed: u32, nbytes: usize) -> u32 {
        crc32c_raw(seed, &self.bytes.as_ref()[..nbytes])
    }
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Bitmap<B> {
    /// Sets bit `i` (marks it in use). Panics past the buffer.
    pub fn set(&mut self, i: usize) {
        self.bytes.as_mut()[i / 8] |= 1 << (i % 8);
    }

    /// Clears bit `i` (marks it free). Panics past the buffer.
    pub fn clear(&mut self, i: usize) {
        self.bytes.as_mut()[i / 8] &= !(1 << (i % 8));
    }

    /// Sets every bit from `limit` to the end of the buffer, as the kernel's
    /// `ext4_mark_bitmap_end` and mke2fs do: bits past the last inode of a
    /// group, past `clusters_per_group`, and past the end of the
    /// filesystem in the last group never look free.
    pub fn mark_tail(&mut self, limit: usize) {
        let len = self.bit_len();
        let mut i = limit.min(len);
        while i < len && !i.is_multiple_of(8) {
            self.set(i);
            i += 1;
        }
        for byte in &mut self.bytes.as_mut()[i / 8..] {
            *byte = 0xFF;
        }
    }
}

/// Checksum of a block bitmap: raw crc32c of its first
/// `clusters_per_group / 8` bytes, which the caller passes in `bitmap`.
/// The low 16 bits go to `bg_block_bitmap_csum_lo`, the high 16 to
/// `bg_block_bitmap_csum_hi` only with 64-byte descriptors.
pub fn block_bitmap_checksum(seed: u32, bitmap: &[u8]) -> u32 {
    crc32c_raw(seed, bitmap)
}

/// Checksum of an inode bitmap: raw crc32c of its first
/// `inodes_per_group / 8` bytes, which the caller passes in `bitmap`.
/// Split between lo and hi as for [`block_bitmap_checksum`].
pub fn inode_bitmap_checksum(seed: u32, bitmap: &[u8]) -> u32 {
    crc32c_raw(seed, bitmap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_set_clear_bit_order() {
        let mut b = Bitmap::new(vec![0u8; 4]);
        b.set(0);
        b.set(9);
        b.set(31);
        assert_eq!(b.bytes(), &[0x01, 0x02, 0x00, 0x80]);
        assert!(b.get(9) && !b.get(8));
        b.clear(9);
        assert!(!b.get(9));
        assert_eq!(b.bytes(), &[0x01, 0x00, 0x00, 0x80]);
    }

    #[test]
    fn borrowed_in_place() {
        let mut raw = [0u8; 2];
        Bitmap::new(&mut raw[..]).set(15);
        assert_eq!(raw, [0, 0x80]);
        assert!(Bitmap::new(&raw[..]).get(15));
    }

    #[test]
    fn find_first_zero_edges() {
        let mut b = Bitmap::new(vec![0xFFu8; 4]);
        assert_eq!(b.find_first_zero(0, 32), None);
        b.clear(31);
        assert_eq!(b.find_first_zero(0, 32), Some(31));
        assert_eq!(b.find_first_zero(0, 31), None); // limit is exclusive
        assert_eq!(b.find_first_zero(31, 1000), Some(31)); // limit capped
        b.clear(3);
        assert_eq!(b.find_first_zero(0, 32), Some(3));
        assert_eq!(b.find_first_zero(4, 32), Some(31));
        assert_eq!(b.find_first_zero(32, 40), None);
        assert_eq!(b.find_first_set(3, 4), None);
        assert_eq!(b.find_first_set(3, 5), Some(4));
    }

    #[test]
    fn zero_run_across_byte_boundaries() {
        // Bits 0..6 used, 6..13 free (crosses byte 0/1), 13 used,
        // 14..30 free (crosses bytes 1/2/3).
        let mut b = Bitmap::new(vec![0u8; 4]);
        for i in 0..6 {
            b.set(i);
        }
        b.set(13);
        b.set(30);
        b.set(31);
        assert_eq!(b.find_zero_run(0, 32, 1), Some(6));
        assert_eq!(b.find_zero_run(0, 32, 7), Some(6));
        assert_eq!(b.find_zero_run(0, 32, 8), Some(14));
        assert_eq!(b.find_zero_run(0, 32, 16), Some(14));
        assert_eq!(b.find_zero_run(0, 32, 17), None);
        assert_eq!(b.find_zero_run(0, 29, 16), None); // run cut by limit
        assert_eq!(b.find_zero_run(8, 32, 5), Some(8));
        assert_eq!(b.find_zero_run(0, 32, 0), None);
        let all_free = Bitmap::new(vec![0u8; 2]);
        assert_eq!(all_free.find_zero_run(0, 16, 16), Some(0));
        assert_eq!(all_free.find_zero_run(1, 16, 16), None);
    }

    #[test]
    fn count_zeros_with_partial_byte_limit() {
        let mut b = Bitmap::new(vec![0u8; 3]);
        b.set(1);
        b.set(10);
        assert_eq!(b.count_zeros(24), 22);
        assert_eq!(b.count_zeros(11), 9);
        assert_eq!(b.count_zeros(10), 9);
        assert_eq!(b.count_zeros(0), 0);
        assert_eq!(b.count_zeros(100), 22);
    }

    #[test]
    fn mark_tail_pads_to_the_end() {
        let mut b = Bitmap::new(vec![0u8; 4]);
        b.mark_tail(13);
        assert_eq!(b.bytes(), &[0x00, 0xE0, 0xFF, 0xFF]);
        assert_eq!(b.count_zeros(13), 13);
        let mut c = Bitmap::new(vec![0u8; 2]);
        c.mark_tail(16);
        assert_eq!(c.bytes(), &[0, 0]);
        c.mark_tail(8);
        assert_eq!(c.bytes(), &[0, 0xFF]);
        c.mark_tail(0);
        assert_eq!(c.bytes(), &[0xFF, 0xFF]);
    }

    #[test]
    fn checksums_cover_only_the_given_bytes() {
        let mut b = Bitmap::new(vec![0u8; 1024]);
        b.set(5);
        b.mark_tail(4096);
        let c = block_bitmap_checksum(0x1234, &b.bytes()[..512]);
        assert_eq!(c, crc32c_raw(0x1234, &b.bytes()[..512]));
        assert_eq!(b.checksum(0x1234, 512), c);
        assert_eq!(inode_bitmap_checksum(0x1234, &b.bytes()[..512]), c);
        assert_ne!(b.checksum(0x1234, 1024), c);
    }
}
