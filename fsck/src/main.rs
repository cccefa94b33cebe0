//! `fuse4fs-fsck`: check and repair an ext2/3/4 filesystem, with e2fsck's
//! common flags and exit codes.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use fuse4fs_fsck::{Mode, Options, check_path, exit};

mod docs;

/// Check (and repair) an ext2/ext3/ext4 filesystem image or device.
#[derive(Parser, Debug)]
#[command(name = "fuse4fs-fsck", version)]
struct Cli {
    /// Open read-only and answer "no" to every question.
    #[arg(short = 'n')]
    no: bool,
    /// Answer "yes" to every question.
    #[arg(short = 'y')]
    yes: bool,
    /// Repair automatically what is safe to repair (preen).
    #[arg(short = 'p', short_alias = 'a')]
    preen: bool,
    /// Check even if the filesystem seems clean.
    #[arg(short = 'f')]
    force: bool,
    /// Verbose.
    #[arg(short = 'v')]
    verbose: bool,
    /// Write the man page and shell completions into DIR (for packaging:
    /// they follow these definitions).
    #[arg(long, hide = true, exclusive = true, value_name = "DIR")]
    generate_docs: Option<PathBuf>,
    /// Where the filesystem starts in the image, in bytes (a partition of
    /// a whole-disk image: `fuse4fs --list IMAGE` shows the starts);
    /// nothing before it is read or written.
    #[arg(long, value_name = "BYTES", default_value_t = 0)]
    offset: u64,
    /// The filesystem's room from --offset, in bytes (the partition's
    /// size); nothing past it is read or written. Default: to the end.
    #[arg(long, value_name = "BYTES")]
    size: Option<u64>,
    /// The image file or block device.
    #[arg(required = true)]
    device: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if e.use_stderr() => {
            let _ = e.print();
            return ExitCode::from(exit::USAGE as u8);
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    if let Some(dir) = &cli.generate_docs {
        return match docs::generate(dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("fuse4fs-fsck: {}: {e}", dir.display());
                ExitCode::from(exit::ERROR as u8)
            }
        };
    }
    let Some(device) = &cli.device else {
        unreachable!("clap requires DEVICE without --generate-docs");
    };
    let mode = match (cli.no, cli.yes, cli.preen) {
        (true, false, false) => Mode::Check,
        (false, true, false) => Mode::Yes,
        (false, false, true) => Mode::Preen,
        (false, false, false) => {
            // e2fsck would ask question by question; this checker does
            // not ask, so it must be told.
            eprintln!("fuse4fs-fsck: give -n (check only), -y (repair) or -p (preen)");
            return ExitCode::from(exit::USAGE as u8);
        }
        _ => {
            eprintln!("fuse4fs-fsck: only one of -n, -y and -p may be given");
            return ExitCode::from(exit::USAGE as u8);
        }
    };
    let opts = Options {
        mode,
        force: cli.force,
        verbose: cli.verbose,
        progress: std::io::stdout().is_terminal() && mode != Mode::Preen,
        print: true,
        offset: cli.offset,
        size: cli.size,
        ..Options::default()
    };
    match check_path(device, &opts) {
        Ok(out) => {
            let code = out.exit_code();
            if out.modified && mode != Mode::Preen {
                // A closed pipe is no reason to fail.
                let _ = writeln!(
                    std::io::stdout().lock(),
                    "\n{}: ***** FILE SYSTEM WAS MODIFIED *****",
                    device.display()
                );
            }
            ExitCode::from(code as u8)
        }
        Err(e) => {
            eprintln!("fuse4fs-fsck: {}: {e}", device.display());
            ExitCode::from(exit::ERROR as u8)
        }
    }
}
