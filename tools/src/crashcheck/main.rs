//! crashcheck: crash-point testing of the write path.
//!
//! Runs a seeded workload in process against the `Fs` API on a fresh
//! image, recording every image write, flush and operation reply; then
//! rebuilds the image as a crash could leave it at many points of that
//! record (process crashes: every write so far; machine crashes: what the
//! last flush made durable plus a random subset of the rest), recovers
//! each one with our own replay and with e2fsck, and checks that the
//! result is consistent (e2fsck -fn clean) and shows the tree of a
//! moment the operations allow (see check.rs and states.rs).
//!
//!     crashcheck [--workload ns|data|tar|reuse|xattr|all]
//!                [--variant 4k|1k|ext3|inline|quota|ea_inode|bigalloc|all]
//!                [--seed N] [--ops N] [--states N | --long | --boundaries]
//!                [--jobs N] [--show N] [--size 32M]

mod check;
mod states;
mod tree;
mod workload;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use clap::{Parser, ValueEnum};
use fuse4fs::fs::io::log::IoEvent;
use fuse4fs::fs::{Fs, FsOptions};

use check::{BaseImage, Expect, Failure, output_of};
use states::{Budget, Crash};
use workload::Workload;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum WhichWorkload {
    Ns,
    Data,
    Tar,
    Reuse,
    Xattr,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum WhichVariant {
    /// 4 KiB blocks, mkfs defaults (metadata_csum, extents, journal).
    #[value(name = "4k")]
    K4,
    /// 1 KiB blocks without metadata_csum.
    #[value(name = "1k")]
    K1,
    /// ext3: block maps, no extents, no checksums.
    Ext3,
    /// 4 KiB blocks with inline_data: small files and new directories
    /// live in their inodes until they grow out.
    Inline,
    /// 4 KiB blocks with quota and project: each commit's usage changes
    /// (new ids' entries too: files get owners from their names) in the
    /// quota files, e2fsck-clean at every crash point.
    Quota,
    /// 4 KiB blocks with ea_inode: xattr values past a block's worth in
    /// their own inodes, created, shared by nobody, freed with their
    /// last reference, each step in one transaction.
    #[value(name = "ea_inode")]
    EaInode,
    /// 1 KiB blocks in 16 KiB clusters (bigalloc): block-sized offsets
    /// that share clusters, partial clusters kept by truncates and
    /// punches, metadata taking whole clusters.
    Bigalloc,
    All,
}

/// An image layout to test on.
struct Variant {
    name: &'static str,
    mkfs: &'static [&'static str],
    /// The unit the data workload counts offsets and lengths in (the
    /// block size when `None`); small units keep files inline, growing
    /// out and truncated back.
    data_unit: Option<u64>,
}

const VARIANTS: [(WhichVariant, Variant); 7] = [
    (
        WhichVariant::K4,
        Variant {
            name: "4k",
            mkfs: &["-b", "4096"],
            data_unit: None,
        },
    ),
    (
        WhichVariant::K1,
        Variant {
            name: "1k",
            mkfs: &["-b", "1024", "-O", "^metadata_csum"],
            data_unit: None,
        },
    ),
    (
        WhichVariant::Ext3,
        Variant {
            name: "ext3",
            mkfs: &["-t", "ext3"],
            data_unit: None,
        },
    ),
    (
        WhichVariant::Inline,
        Variant {
            name: "inline",
            mkfs: &["-b", "4096", "-I", "256", "-O", "inline_data"],
            // Writes end below 512 bytes: inline (up to 128), converted
            // past it, truncated back.
            data_unit: Some(64),
        },
    ),
    (
        WhichVariant::Quota,
        Variant {
            name: "quota",
            mkfs: &["-b", "4096", "-O", "quota,project"],
            data_unit: None,
        },
    ),
    (
        WhichVariant::EaInode,
        Variant {
            name: "ea_inode",
            mkfs: &["-b", "4096", "-I", "256", "-O", "ea_inode"],
            data_unit: None,
        },
    ),
    (
        WhichVariant::Bigalloc,
        Variant {
            name: "bigalloc",
            mkfs: &["-b", "1024", "-O", "bigalloc", "-C", "16384"],
            data_unit: None,
        },
    ),
];

/// Fixed so that a seed replays exactly: the UUID seeds the checksums and
/// the hash seed the htree order, both of which steer allocation.
const FS_UUID: &str = "6f0e2d4a-0c1b-4e55-9a51-3c2b1d0e9f77";

#[derive(Parser, Debug)]
#[command(about = "Crash-point testing: recover the image at many crash points of a workload")]
struct Args {
    /// Which workload.
    #[arg(long, value_enum, default_value = "all")]
    workload: WhichWorkload,
    /// Which image layout.
    #[arg(long, value_enum, default_value = "all")]
    variant: WhichVariant,
    /// Seeds the operations and the choice of crash states.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Operations per workload.
    #[arg(long, default_value_t = 100)]
    ops: usize,
    /// Crash states per workload and variant (half process, half machine).
    #[arg(long, default_value_t = 300)]
    states: usize,
    /// Every prefix as a process crash, every flush point and four random
    /// subsets at every prefix as machine crashes (slow).
    #[arg(long, conflicts_with = "boundaries")]
    long: bool,
    /// Only the states a filesystem without a journal survives too: a
    /// process crash between operations, a machine crash right at a flush.
    #[arg(long)]
    boundaries: bool,
    /// Worker threads checking states.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Failures printed in full per workload and variant.
    #[arg(long, default_value_t = 5)]
    show: usize,
    /// Image size for mkfs.
    #[arg(long, default_value = "32M")]
    size: String,
    /// Machine-crash states per workload and variant that the kernel's
    /// ext4 also replays (a loop mount): its tree must equal ours.
    #[arg(long, default_value_t = 6)]
    kernel: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let workloads: Vec<Workload> = match args.workload {
        WhichWorkload::Ns => vec![Workload::Ns],
        WhichWorkload::Data => vec![Workload::Data],
        WhichWorkload::Tar => vec![Workload::Tar],
        WhichWorkload::Reuse => vec![Workload::Reuse],
        WhichWorkload::Xattr => vec![Workload::Xattr],
        WhichWorkload::All => Workload::ALL.to_vec(),
    };
    let variants: Vec<&Variant> = VARIANTS
        .iter()
        .filter(|(w, _)| args.variant == WhichVariant::All || *w == args.variant)
        .map(|(_, v)| v)
        .collect();
    let mut failed = false;
    for w in &workloads {
        for v in &variants {
            match one(&args, *w, v) {
                Ok(0) => {}
                Ok(_) => failed = true,
                Err(e) => {
                    eprintln!("crashcheck: {} {}: {e}", w.name(), v.name);
                    return ExitCode::from(2);
                }
            }
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// mkfs.ext4 for variant `v` at `img`.
fn mkfs(v: &Variant, img: &Path, size: &str) -> Result<(), String> {
    output_of(
        Command::new("mkfs.ext4")
            .args(["-q", "-F", "-U", FS_UUID, "-E"])
            .arg(format!("root_owner=0:0,hash_seed={FS_UUID}"))
            .args(v.mkfs)
            .arg(img)
            .arg(size),
        &format!("mkfs.ext4 {:?}", v.mkfs),
    )?;
    Ok(())
}

/// The blocks of the journal inode (debugfs), to count the writes that
/// go to the journal: none means the filesystem does not journal.
fn journal_blocks(img: &Path) -> Result<HashSet<u64>, String> {
    let out = output_of(
        Command::new("debugfs").args(["-R", "blocks <8>"]).arg(img),
        "debugfs blocks <8>",
    )?;
    Ok(String::from_utf8_lossy(&out)
        .split_whitespace()
        .filter_map(|b| b.parse().ok())
        .collect())
}

/// Runs workload `w` on variant `v` and checks its crash states; the
/// number of failed states.
fn one(args: &Args, w: Workload, v: &Variant) -> Result<usize, String> {
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("crashcheck-")
        .tempdir()
        .map_err(|e| format!("temporary directory: {e}"))?;
    let img = dir.path().join("img");
    mkfs(v, &img, &args.size)?;
    let base = BaseImage::new(&std::fs::read(&img).map_err(|e| e.to_string())?);
    let bs = Fs::open(&img, &FsOptions::default())
        .map_err(|e| e.to_string())?
        .block_size() as u64;
    let run = workload::run(&img, w, args.seed, args.ops, v.data_unit.unwrap_or(bs))?;
    let exp = Expect::new(&run, bs as usize);
    let journal = journal_blocks(&img)?;
    let budget = if args.long {
        Budget::Long { subsets: 4 }
    } else if args.boundaries {
        Budget::Boundaries
    } else {
        Budget::Bounded {
            process: args.states / 2,
            machine: args.states - args.states / 2,
        }
    };
    // Different variants and workloads draw different subsets.
    let tag = (w.name().to_string() + v.name)
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
    let plan_seed = args.seed ^ tag << 32;
    let plan = states::plan(&run.events, budget, plan_seed);

    let results = check_all(
        &base,
        &exp,
        &plan,
        dir.path(),
        args.jobs.max(1),
        args.kernel,
    );

    let secs = started.elapsed().as_secs_f64();
    let process = plan.iter().filter(|s| s.crash == Crash::Process).count();
    let bad: Vec<(usize, &Vec<Failure>)> = results
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.is_empty())
        .collect();
    println!(
        "crashcheck: {} {}: {} crash states checked ({} process, {} machine), {} failed",
        w.name(),
        v.name,
        plan.len(),
        process,
        plan.len() - process,
        bad.len()
    );
    let l = states::Layout::new(&run.events);
    let journal_writes = run
        .events
        .iter()
        .filter(|e| matches!(e, IoEvent::Write { offset, .. } if journal.contains(&(offset / bs))))
        .count();
    println!(
        "  seed {}, {} ops ({} succeeded), {} writes ({} to the journal), {} flushes; {:.1} s, {:.1} states/s",
        args.seed,
        run.ops.len(),
        run.results.iter().filter(|r| r.is_ok()).count(),
        l.writes.len(),
        journal_writes,
        l.flushes.len(),
        secs,
        plan.len() as f64 / secs
    );
    if !bad.is_empty() {
        let mut by_check: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, fs) in &bad {
            for f in fs.iter() {
                *by_check.entry(f.check).or_default() += 1;
            }
        }
        let counts: Vec<String> = by_check.iter().map(|(c, n)| format!("{c} {n}")).collect();
        println!("  failed checks: {}", counts.join(", "));
        for (i, fs) in bad.iter().take(args.show) {
            println!("  FAIL {}", check::describe(&exp, &plan[*i]));
            for f in fs.iter() {
                println!("    [{}] {}", f.check, f.detail);
            }
        }
    }
    Ok(bad.len())
}

/// Checks every state of `plan` on `jobs` threads; the failures of each.
fn check_all(
    base: &BaseImage,
    exp: &Expect<'_>,
    plan: &[states::State],
    dir: &Path,
    jobs: usize,
    kernel: usize,
) -> Vec<Vec<Failure>> {
    // The machine-crash states the kernel replays too, spread evenly.
    let machine: Vec<usize> = plan
        .iter()
        .enumerate()
        .filter(|(_, st)| matches!(st.crash, states::Crash::Machine { .. }))
        .map(|(i, _)| i)
        .collect();
    let by_kernel: std::collections::HashSet<usize> = (0..kernel.min(machine.len()))
        .map(|k| machine[k * machine.len() / kernel.min(machine.len())])
        .collect();
    let by_kernel = &by_kernel;
    let next = AtomicUsize::new(0);
    let results: Vec<parking_lot::Mutex<Vec<Failure>>> =
        plan.iter().map(|_| Default::default()).collect();
    std::thread::scope(|s| {
        for j in 0..jobs {
            let (next, results) = (&next, &results);
            s.spawn(move || {
                let a = dir.join(format!("w{j}-ours.img"));
                let b = dir.join(format!("w{j}-e2fsck.img"));
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(st) = plan.get(i) else { break };
                    // A panic on a damaged image is a finding, not the end
                    // of the run.
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        check::check(base, exp, st, &a, &b, by_kernel.contains(&i))
                    }));
                    *results[i].lock() = r.unwrap_or_else(|p| {
                        let msg = p
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default();
                        vec![Failure {
                            check: "panic",
                            detail: msg,
                        }]
                    });
                }
            });
        }
    });
    results.into_iter().map(|m| m.into_inner()).collect()
}
