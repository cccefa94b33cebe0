//! Delta debugging: shrink a failing operation list to a small one that
//! still fails.

/// Returns a subsequence of `ops` for which `fails` still holds, trying at
/// most `budget` candidates. `fails(ops)` must hold on entry.
pub fn minimise<T: Clone>(ops: &[T], budget: usize, mut fails: impl FnMut(&[T]) -> bool) -> Vec<T> {
    let mut cur = ops.to_vec();
    let mut n = 2usize;
    let mut tries = 0;
    while cur.len() >= 2 && tries < budget {
        let chunk = cur.len().div_ceil(n);
        let mut reduced = false;
        for start in (0..cur.len()).step_by(chunk) {
            // Try the complement of one chunk.
            let cand: Vec<T> = cur[..start]
                .iter()
                .chain(cur[(start + chunk).min(cur.len())..].iter())
                .cloned()
                .collect();
            tries += 1;
            if !cand.is_empty() && fails(&cand) {
                cur = cand;
                n = (n - 1).max(2);
                reduced = true;
                break;
            }
            if tries >= budget {
                break;
            }
        }
        if !reduced {
            if n >= cur.len() {
                break;
            }
            n = (n * 2).min(cur.len());
        }
    }
    cur
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_two_culprits() {
        let ops: Vec<u32> = (0..100).collect();
        let min = minimise(&ops, 1000, |s| s.contains(&17) && s.contains(&64));
        assert_eq!(min, vec![17, 64]);
    }
}
