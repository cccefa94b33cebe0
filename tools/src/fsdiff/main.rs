//! `fsdiff`: a seeded, reproducible differential tester for filesystems.
//!
//! - `fsdiff ns DIR_A DIR_B`: runs one random sequence of namespace
//!   operations (create, mkdir, rename with flags, link, unlink, rmdir,
//!   symlink, chmod, truncate, write, xattrs, utimes) in two directories and
//!   requires every return code and the final trees to match, in the spirit
//!   of fsstress run against a reference filesystem.
//! - `fsdiff data DIR`: runs random data operations on one file (buffered,
//!   O_DIRECT and mmap writes, copy_file_range, truncates, fallocate modes,
//!   reads) and checks every read against an in-memory model of the file,
//!   in the spirit of fsx.
//!
//! A divergence is minimised (delta debugging over the operation list) and
//! the smallest failing sequence is printed; the exit status is then 1.

mod data;
mod ddmin;
mod ns;
mod sys;
mod tree;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Seeded differential filesystem tester.
#[derive(Parser, Debug)]
#[command(name = "fsdiff", version, about)]
struct Args {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand, Debug)]
enum Mode {
    /// Namespace operations in two directories; results and trees must match.
    Ns {
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 500)]
        ops: usize,
        /// Test hook: skip operation K on the second directory, to prove that
        /// a divergence is caught and minimised.
        #[arg(long)]
        inject: Option<usize>,
        /// Leave the final trees in place after a clean run (for checking
        /// the filesystem afterwards).
        #[arg(long)]
        keep: bool,
        dir_a: PathBuf,
        dir_b: PathBuf,
    },
    /// Data operations on one file, checked against an in-memory model.
    Data {
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 1000)]
        ops: usize,
        /// Largest file offset used.
        #[arg(long, default_value_t = 1 << 20)]
        max_size: u64,
        /// Longest operation. Small ones on a large file scatter it into
        /// thousands of extents (16 MiB and 16 KiB: extent trees of depth 2).
        #[arg(long, default_value_t = 256 * 1024)]
        max_len: u64,
        /// Test hook: skip operation K on the file (the model still applies it).
        #[arg(long)]
        inject: Option<usize>,
        /// Leave the final file in place after a clean run.
        #[arg(long)]
        keep: bool,
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.mode {
        Mode::Ns {
            seed,
            ops,
            inject,
            keep,
            dir_a,
            dir_b,
        } => ns::run(seed, ops, inject, keep, &dir_a, &dir_b),
        Mode::Data {
            seed,
            ops,
            max_size,
            max_len,
            inject,
            keep,
            dir,
        } => data::run(seed, ops, max_size, max_len, inject, keep, &dir),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("fsdiff: {e}");
            ExitCode::from(2)
        }
    }
}
