//! The checker's repair pass at recovery (`--fsck`, `-o fsck`, and always
//! for images without a journal or marked with errors): what a crash of an
//! unjournaled server leaves (leaked blocks, wrong counts, entries naming
//! freed inodes) is repaired before the kernel's requests are served again.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use fuse4fs_fsck::{Mode, Options, check_path};

use crate::ext4::InodeNo;
use crate::fs::io::image::Region;
use crate::recovery::state::CheckResult;

/// Runs the checker over the (closed) image. Orphans in `held` are files
/// the kernel still has open: they stay. Asked for explicitly (`asked`),
/// every problem found is repaired (`-y`); otherwise only what is safe
/// without a human (`-p`). Never fails the recovery: the mount stays up
/// whatever the checker finds, and what it could not repair is logged
/// (and returned, for `fuse4fs --status`). The checker sees only
/// `region` of the image (the mount's partition).
pub fn repair(image: &Path, region: Region, held: &[(InodeNo, u32)], asked: bool) -> CheckResult {
    let t0 = Instant::now();
    let opts = Options {
        mode: if asked { Mode::Yes } else { Mode::Preen },
        force: true,
        keep_orphans: held
            .iter()
            .map(|&(ino, _)| ino)
            .collect::<BTreeSet<InodeNo>>(),
        offset: region.offset,
        size: region.len,
        ..Options::default()
    };
    match check_path(image, &opts) {
        Ok(out) => {
            for p in &out.problems {
                // The prompt says what the repair is ("Connect to
                // /lost+found"); the message only what was wrong.
                let asked = match p.problem.prompt().question() {
                    "" => String::new(),
                    q => format!(" [{q}]"),
                };
                if p.fixed {
                    tracing::warn!("fsck: {}{asked} (repaired)", p.message);
                } else {
                    tracing::error!("fsck: {}{asked} (NOT repaired)", p.message);
                }
            }
            let unfixed = out.problems.iter().filter(|p| !p.fixed).count();
            tracing::info!(
                "fsck of {} in {:.1} ms: {} problem(s), {} repaired{}",
                image.display(),
                t0.elapsed().as_secs_f64() * 1e3,
                out.problems.len(),
                out.problems.len() - unfixed,
                if out.preen_halted {
                    "; stopped at a problem only `fuse4fs-fsck -y` repairs"
                } else {
                    ""
                }
            );
            let problems = out.problems.len().min(u32::MAX as usize) as u32;
            match (problems, unfixed.min(u32::MAX as usize) as u32) {
                (0, _) => CheckResult::Clean,
                (problems, 0) => CheckResult::Repaired { problems },
                (problems, unrepaired) => CheckResult::Unrepaired {
                    problems,
                    unrepaired,
                },
            }
        }
        Err(e) => {
            tracing::error!("fsck of {}: {e}", image.display());
            CheckResult::Failed
        }
    }
}
