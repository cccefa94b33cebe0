//! `fuse4fs [-o opts] [-f] [-d] IMAGE MOUNTPOINT`: serve an ext2/3/4 image
//! over FUSE. Like fuse2fs it returns once the mount is live and keeps
//! serving in the background; `-f` stays in the foreground.
//! `fuse4fs -u MOUNTPOINT` unmounts and waits for the server to finish.

use std::process::ExitCode;

mod cli;

fn main() -> ExitCode {
    one_malloc_arena();
    match cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fuse4fs: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Has glibc's malloc serve every thread from its main arena. By default
/// each worker thread gets an arena of its own, and such an arena grows a
/// page at a time with an mprotect(2) and a page fault per page while the
/// block cache fills (0.65 mprotect per create, 0.13 per unlink, in a
/// bench-like run of 3,000 files), and a block copied by one worker is
/// freed into its arena by another. The main arena grows with brk(2) 128 KiB
/// at a time (0.013 calls per create), and the heap a request touches is
/// the one the previous request, on whatever worker, just used
/// (docs/performance.md, "The server's whole cost of a create and an
/// unlink"). Small allocations stay in each thread's own cache (tcache)
/// without the arena's lock. Before any thread starts: a thread keeps the
/// arena it first allocated from.
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a parameter of the allocator; no other
    // thread exists yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}
