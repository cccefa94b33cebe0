//! fuse4fs's pending marker: the block that holds back transactions
//! committed since the last durable commit from replayers other than ours.
//!
//! Every answered operation is committed to the journal (descriptor,
//! logged blocks, commit block) before its reply, without waiting for the
//! disk. A machine crash may then keep any subset of those writes, and a
//! commit block that reached the disk before its logged blocks makes the
//! kernel's and e2fsck's replay fail on the tag checksum. So the first
//! block of the transactions written since the last durable commit is not
//! a journal block but this marker: other replayers stop there (no magic),
//! and at the next durable commit (flush, then rewrite the marker as an
//! empty revoke block, then flush) they become visible to everyone.
//!
//! After a crash of the server alone the host kept every write, so our
//! replay may go past the marker: it records the boot it was written in,
//! and is honoured only in that same boot (a different boot means the
//! machine went down and the blocks after it cannot be trusted).

use zerocopy::{FromBytes, IntoBytes};

use super::block::{Header, Layout, REVOKE_HEADER_SIZE};
use super::layout::{Jbd2JournalRevokeHeader, PendingMarker};
use super::{blocktype, jbd2_crc};

/// Not the journal magic: the kernel and e2fsck end their scan here.
pub const PENDING_MAGIC: u32 = 0x4634_5053; // "F4PS"
/// The bytes p_checksum covers.
const CSUM_OFF: usize = core::mem::offset_of!(PendingMarker, p_checksum);

/// Writes the marker for transaction `sequence`, written in boot `boot_id`.
pub fn build_pending(l: &Layout, sequence: u32, boot_id: &[u8; 16]) -> Vec<u8> {
    let mut b = vec![0u8; l.block_size];
    let (m, _) = PendingMarker::mut_from_prefix(&mut b).expect("a block holds the marker");
    let h = &mut m.p_header;
    h.r_header.h_magic.set(PENDING_MAGIC);
    h.r_header.h_blocktype.set(blocktype::REVOKE);
    h.r_header.h_sequence.set(sequence);
    h.r_count.set(REVOKE_HEADER_SIZE as u32);
    m.p_boot_id = *boot_id;
    let c = jbd2_crc(!0, &m.as_bytes()[..CSUM_OFF]);
    m.p_checksum.set(c);
    b
}

/// If `b` is a marker: its transaction id and boot id.
pub fn parse_pending(b: &[u8]) -> Option<(u32, [u8; 16])> {
    let (m, _) = PendingMarker::ref_from_prefix(b).ok()?;
    if m.p_header.r_header.h_magic.get() != PENDING_MAGIC {
        return None;
    }
    if m.p_checksum.get() != jbd2_crc(!0, &m.as_bytes()[..CSUM_OFF]) {
        return None;
    }
    Some((m.p_header.r_header.h_sequence.get(), m.p_boot_id))
}

/// The marker made visible: an empty revoke block of the same
/// transaction, which every replayer reads and skips.
pub fn build_bridge(l: &Layout, sequence: u32) -> Vec<u8> {
    let mut b = vec![0u8; l.block_size];
    Header {
        blocktype: blocktype::REVOKE,
        sequence,
    }
    .write(&mut b);
    Jbd2JournalRevokeHeader::mut_from_prefix(&mut b)
        .expect("a block holds its header")
        .0
        .r_count
        .set(REVOKE_HEADER_SIZE as u32);
    l.set_tail_checksum(&mut b);
    b
}

/// This machine's boot id (/proc/sys/kernel/random/boot_id), as 16 bytes.
pub fn current_boot_id() -> std::io::Result<[u8; 16]> {
    let s = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")?;
    let hex: String = s.trim().chars().filter(|c| *c != '-').collect();
    let mut out = [0u8; 16];
    if hex.len() != 32 {
        return Err(std::io::Error::other(format!("boot id {s:?}")));
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
            .map_err(|_| std::io::Error::other(format!("boot id {s:?}")))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jbd2::block::parse_revoke;

    #[test]
    fn marker_round_trips_and_bridge_is_an_empty_revoke() {
        let l = Layout {
            block_size: 4096,
            csum_v2: false,
            csum_v3: true,
            is_64bit: false,
            seed: 3,
            uuid: [1; 16],
        };
        let p = build_pending(&l, 77, &[9; 16]);
        assert_eq!(Header::parse(&p), None, "other replayers must stop here");
        assert_eq!(parse_pending(&p), Some((77, [9; 16])));
        let mut torn = p.clone();
        torn[20] ^= 1;
        assert_eq!(parse_pending(&torn), None);
        let b = build_bridge(&l, 77);
        assert_eq!(Header::parse(&b).unwrap().sequence, 77);
        assert!(l.tail_checksum_ok(&b));
        assert!(parse_revoke(&l, &b).unwrap().is_empty());
        assert_eq!(current_boot_id().unwrap().len(), 16);
    }
}
