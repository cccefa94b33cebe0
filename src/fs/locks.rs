//! Inode locks: a fixed table of mutexes keyed by inode number.
//!
//! Lock order (see docs/write-path.md): the rename lock, then inode locks,
//! then group locks, then the commit lock, then cache shards. Inode locks
//! are always taken together, through [`InodeLocks::lock`], in ascending
//! slot order, so two operations can never wait on each other. Readers take
//! none: they see committed blocks only.

use parking_lot::{Mutex, MutexGuard};

use crate::ext4::InodeNo;

const SLOTS: usize = 1024;

/// The inode lock table.
pub struct InodeLocks {
    slots: Vec<Mutex<()>>,
}

/// Held inode locks; dropping it releases them.
pub struct InodeGuard<'a> {
    _held: Vec<MutexGuard<'a, ()>>,
}

impl Default for InodeLocks {
    fn default() -> Self {
        InodeLocks {
            slots: (0..SLOTS).map(|_| Mutex::new(())).collect(),
        }
    }
}

impl InodeLocks {
    /// Locks every inode in `inos` (duplicates allowed), in ascending slot
    /// order. Inodes sharing a slot share its lock.
    pub fn lock(&self, inos: &[InodeNo]) -> InodeGuard<'_> {
        let mut slots: Vec<usize> = inos.iter().map(|i| i.0 as usize % SLOTS).collect();
        slots.sort_unstable();
        slots.dedup();
        InodeGuard {
            _held: slots.into_iter().map(|s| self.slots[s].lock()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn overlapping_sets_in_any_order_do_not_deadlock() {
        let locks = Arc::new(InodeLocks::default());
        let threads: Vec<_> = (0..4u32)
            .map(|t| {
                let locks = locks.clone();
                std::thread::spawn(move || {
                    for i in 0..2000u32 {
                        // Reversed and colliding (i and i + SLOTS share a slot).
                        let set = [
                            InodeNo(i % 7 + t),
                            InodeNo(3),
                            InodeNo(i % 5 + SLOTS as u32),
                        ];
                        let mut set = set.to_vec();
                        if t % 2 == 0 {
                            set.reverse();
                        }
                        let _g = locks.lock(&set);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }

    #[test]
    fn a_held_inode_blocks_another_locker() {
        let locks = InodeLocks::default();
        let g = locks.lock(&[InodeNo(12)]);
        assert!(locks.slots[12].try_lock().is_none());
        drop(g);
        assert!(locks.slots[12].try_lock().is_some());
    }
}
