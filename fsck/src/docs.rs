//! `fuse4fs-fsck --generate-docs DIR` (the binary's, not the library's):
//! the man page fuse4fs-fsck(8) and the bash and zsh completions. The
//! options come from the clap definitions; the rest is written here.

use std::io;
use std::path::Path;

use clap::CommandFactory;
use fuse4fs_docgen::{Page, bold, write_completions};
use fuse4fs_fsck::exit;

/// Writes the page and the completion files into `dir` (made if missing).
pub fn generate(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let cmd = super::Cli::command();
    page(cmd.clone())?.write_to(dir)?;
    write_completions(cmd, dir)
}

/// fuse4fs-fsck(8).
fn page(cmd: clap::Command) -> io::Result<Page> {
    let source = format!("fuse4fs {}", env!("CARGO_PKG_VERSION"));
    let mut p = Page::new(cmd, "8", "System Administration", &source)?;
    p.section("DESCRIPTION");
    p.para(
        "fuse4fs-fsck checks an unmounted ext2, ext3 or ext4 filesystem, and \
         repairs it when asked, as e2fsck(8) does: the same passes, the same \
         common flags and the same exit codes. It is built on fuse4fs's own \
         format code alone, and is what fuse4fs runs after a crash with -o fsck \
         (see fuse4fs(1)). A journal that needs recovery is replayed first \
         (not with -n). One of -n, -y and -p must be given: it never asks \
         question by question. On a terminal it shows a progress bar.",
    );
    p.options()?;
    p.section("EXIT STATUS");
    let codes = [
        (exit::CLEAN, "No problem found."),
        (exit::FIXED, "Problems were found and all repaired."),
        (
            exit::UNCORRECTED,
            "Problems are left unrepaired (always so with -n when there are any).",
        ),
        (
            exit::ERROR,
            "The check could not be carried out (the device cannot be read, or is not ext2/3/4).",
        ),
        (
            exit::USAGE,
            "A command line fuse4fs-fsck cannot parse, or not exactly one of -n, -y, -p.",
        ),
    ];
    for (code, what) in codes {
        p.tagged([bold(code.to_string())], what);
    }
    p.section("EXAMPLES");
    p.example(
        "Check an image without changing it, even if it is marked clean:",
        &["fuse4fs-fsck -fn disk.img"],
    );
    p.example(
        "Repair everything it finds:",
        &["fuse4fs-fsck -fy disk.img"],
    );
    p.see_also(&[
        ("fuse4fs", "1"),
        ("e2fsck", "8"),
        ("debugfs", "8"),
        ("ext4", "5"),
    ]);
    Ok(p)
}
