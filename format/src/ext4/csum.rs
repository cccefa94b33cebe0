//! Checksums used by ext4: crc32c for metadata_csum and the crc16 of the
//! older gdt_csum feature.

/// crc32c as ext4 computes it: seeded, without the final inversion
/// (the kernel's `ext4_chksum`).
pub fn crc32c_raw(seed: u32, data: &[u8]) -> u32 {
    !crc32c::crc32c_append(!seed, data)
}

/// Continues a raw crc32c over several pieces.
pub fn crc32c_chain(seed: u32, pieces: &[&[u8]]) -> u32 {
    pieces.iter().fold(seed, |crc, p| crc32c_raw(crc, p))
}

/// CRC-16 (polynomial 0x8005, reflected, i.e. 0xA001) as used by gdt_csum.
pub fn crc16(mut crc: u16, data: &[u8]) -> u16 {
    for &byte in data {
        crc ^= byte as u16;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xA001
            } else {
                crc >> 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_raw_matches_standard_crc_when_inverted() {
        // Standard CRC-32C of "123456789" is 0xE3069283.
        assert_eq!(!crc32c_raw(!0, b"123456789"), 0xE306_9283);
    }

    #[test]
    fn chain_equals_single_pass() {
        let a = crc32c_raw(7, b"hello world");
        assert_eq!(crc32c_chain(7, &[b"hello", b" ", b"world"]), a);
    }

    #[test]
    fn crc16_arc_check_value() {
        // CRC-16/ARC of "123456789" is 0xBB3D (init 0).
        assert_eq!(crc16(0, b"123456789"), 0xBB3D);
    }
}
