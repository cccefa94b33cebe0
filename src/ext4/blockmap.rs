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
}

/// Computes the route for `lblk` with `per_block` pointers per block, or
/// None past the triple-indirect range.
pub fn route(lblk: u64, per_block: u64) -> Option<Route> {
    if lblk < DIRECT {
        return Some(Route {
            slot: lblk as usize,
            path: vec![],
        });
    }
    let mut rest = lblk - DIRECT;
    let mut span = per_block;
    for (level, slot) in [12usize, 13, 14].into_iter().enumerate() {
        if rest < span {
            let mut path = Vec::with_capacity(level + 1);
            let mut unit = span / per_block;
            for _ in 0..=level {
                path.push((rest / unit) as u32);
                rest %= unit;
                unit /= per_block.max(1);
                if unit == 0 {
                    unit = 1;
                }
            }
            return Some(Route { slot, path });
        }
        rest -= span;
        span = span.checked_mul(per_block)?;
    }
    None
}

/// How many logical blocks the subtree under one pointer at `depth` levels
/// above the data covers (1 at depth 0).
pub fn span(depth: usize, per_block: u64) -> u64 {
    per_block.pow(depth as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let p = 256;
        assert_eq!(
            route(0, p),
            Some(Route {
                slot: 0,
                path: vec![]
            })
        );
        assert_eq!(
            route(11, p),
            Some(Route {
                slot: 11,
                path: vec![]
            })
        );
        assert_eq!(
            route(12, p),
            Some(Route {
                slot: 12,
                path: vec![0]
            })
        );
        assert_eq!(
            route(12 + 255, p),
            Some(Route {
                slot: 12,
                path: vec![255]
            })
        );
        assert_eq!(
            route(12 + 256, p),
            Some(Route {
                slot: 13,
                path: vec![0, 0]
            })
        );
        assert_eq!(
            route(12 + 256 + 257, p),
            Some(Route {
                slot: 13,
                path: vec![1, 1]
            })
        );
        let t = 12 + 256 + 65536;
        assert_eq!(
            route(t, p),
            Some(Route {
                slot: 14,
                path: vec![0, 0, 0]
            })
        );
        assert_eq!(
            route(t + 65536 + 256 + 1, p),
            Some(Route {
                slot: 14,
                path: vec![1, 1, 1]
            })
        );
        assert_eq!(route(t + 256 * 65536, p), None);
    }
}
