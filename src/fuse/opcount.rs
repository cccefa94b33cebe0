//! Requests counted by opcode: how many round trips a workload's system
//! calls cost. Always on (one relaxed atomic add per request); the counts
//! reach a file named by `FUSE4FS_OPCOUNT` on SIGUSR1 and at unmount.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::abi::opcode;

/// The environment variable naming the file the counts are written to.
pub const OPCOUNT_ENV: &str = "FUSE4FS_OPCOUNT";

/// Opcodes below this get a counter each; larger ones (CUSE_INIT) share
/// the last slot.
const SLOTS: usize = 64;

/// One counter per opcode.
pub struct OpCounts {
    slots: [AtomicU64; SLOTS],
}

impl Default for OpCounts {
    fn default() -> Self {
        OpCounts {
            slots: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl OpCounts {
    /// Counts one request with opcode `op`.
    pub fn add(&self, op: u32) {
        self.slots[(op as usize).min(SLOTS - 1)].fetch_add(1, Ordering::Relaxed);
    }

    /// The requests counted so far with opcode `op`.
    pub fn get(&self, op: u32) -> u64 {
        self.slots[(op as usize).min(SLOTS - 1)].load(Ordering::Relaxed)
    }

    /// The non-zero counts as `NAME count` lines, in opcode order.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (op, slot) in self.slots.iter().enumerate() {
            let n = slot.load(Ordering::Relaxed);
            if n > 0 {
                out += &format!("{} {n}\n", opcode::name(op as u32));
            }
        }
        out
    }

    /// Writes [`OpCounts::render`] to `path`, replacing it whole (a
    /// reader never sees half a file).
    pub fn write_to(&self, path: &Path) -> io::Result<()> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        std::fs::write(&tmp, self.render())?;
        std::fs::rename(&tmp, path)
    }
}

/// SIGUSR1 alone, as a set.
fn dump_signal() -> libc::sigset_t {
    // SAFETY: plain calls on a zeroed sigset_t.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        set
    }
}

/// With `FUSE4FS_OPCOUNT` set, blocks SIGUSR1 in the calling thread. Call
/// it before the process starts any thread: a thread that does not block
/// SIGUSR1 could take it, and its default action ends the process.
pub fn block_dump_signal() {
    if std::env::var_os(OPCOUNT_ENV).is_some() {
        let set = dump_signal();
        // SAFETY: blocks a signal in the calling thread.
        unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    }
}

/// With `FUSE4FS_OPCOUNT` set, writes `counts` to that file whenever the
/// process gets SIGUSR1 (blocked beforehand by [`block_dump_signal`]), and
/// returns the path for the final write once serving ends.
pub fn dump_on_signal(counts: &Arc<OpCounts>) -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var_os(OPCOUNT_ENV)?);
    block_dump_signal();
    let set = dump_signal();
    let counts = counts.clone();
    let target = path.clone();
    std::thread::spawn(move || {
        loop {
            let mut sig = 0;
            // SAFETY: waits on a set that every thread blocks.
            if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
                return;
            }
            if let Err(e) = counts.write_to(&target) {
                tracing::error!("writing request counts to {}: {e}", target.display());
            }
        }
    });
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuse::abi::opcode::*;

    #[test]
    fn counts_by_opcode_and_renders_nonzero_ones() {
        let c = OpCounts::default();
        for op in [FUSE_LOOKUP, FUSE_CREATE, FUSE_LOOKUP, FUSE_FLUSH, 4096] {
            c.add(op);
        }
        assert_eq!(c.get(FUSE_LOOKUP), 2);
        assert_eq!(c.get(FUSE_GETATTR), 0);
        assert_eq!(c.render(), "LOOKUP 2\nFLUSH 1\nCREATE 1\nUNKNOWN 1\n");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("counts");
        c.write_to(&p).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), c.render());
    }
}
