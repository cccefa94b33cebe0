//! Block-mapped (ext2/ext3) files: where the pointer for a logical block
//! lives in the direct, single-, double- and triple-indirect tree.

/// Number of direct pointers in i_block.
pub const DIRECT: u64 = 12;

/// The route to a logical block: the i_block slot to start from, then the
/// index to take in each indirect block on the way down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub slot: usize,
    pub path: Vec<u32>,
    /// First logical block covered by this slot's pointer.
    pub first: u64,
}

/// Computes the route for `lblk` with `per_block` pointers per block, or
/// None past the triple-indirect range.
pub fn route(lblk: u64, per_block: u64) -> Option<Route> {
    if lblk < DIRECT {
        return Some(Route {
            slot: lblk as usize,
            path: vec![],
            first: lblk,
        });
    }
    let mut rest = lblk - DIRECT;
    let mut first = DIRECT;
    let mut span = per_block;
    for (level, slot) in [12usize, 13, 14].into_iter().enumerate() {
        if rest < span {
            // Digits of `rest` in base `per_block`, most significant first.
            let path = (0..=level as u32)
                .rev()
                .map(|d| ((rest / per_block.pow(d)) % per_block) as u32)
                .collect();
            return Some(Route { slot, path, first });
        }
        rest -= span;
        first += span;
        span = span.checked_mul(per_block)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(lblk: u64, p: u64) -> Option<(usize, Vec<u32>)> {
        route(lblk, p).map(|r| (r.slot, r.path))
    }

    #[test]
    fn routes() {
        let p = 256;
        assert_eq!(sp(0, p), Some((0, vec![])));
        assert_eq!(sp(11, p), Some((11, vec![])));
        assert_eq!(sp(12, p), Some((12, vec![0])));
        assert_eq!(sp(12 + 255, p), Some((12, vec![255])));
        assert_eq!(sp(12 + 256, p), Some((13, vec![0, 0])));
        assert_eq!(sp(12 + 256 + 257, p), Some((13, vec![1, 1])));
        let t = 12 + 256 + 65536;
        assert_eq!(sp(t, p), Some((14, vec![0, 0, 0])));
        assert_eq!(sp(t + 65536 + 256 + 1, p), Some((14, vec![1, 1, 1])));
        assert_eq!(sp(t + 256 * 65536, p), None);
    }

    #[test]
    fn first_block_of_each_slot() {
        let p = 256;
        let t = 12 + 256 + 65536;
        assert_eq!(route(7, p).unwrap().first, 7);
        assert_eq!(route(12 + 100, p).unwrap().first, 12);
        assert_eq!(route(12 + 300, p).unwrap().first, 12 + 256);
        assert_eq!(route(t + 5, p).unwrap().first, t);
    }
}
