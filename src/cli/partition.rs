//! Whole-disk images: the region of the image a mount serves (`-o
//! offset=`, `-o partition=`, or the only ext2/3/4 partition), and
//! `fuse4fs --list`.

use std::fs::File;
use std::path::Path;

use fuse4fs::fs::io::image::Region;
use fuse4fs::partition::{self, Selection};

use super::{CliError, Options};

/// The region of `image` that `opts` choose. Every open of the image
/// (mount, journal replay, MMP, the checker at recovery, a recovered
/// server) goes through here, so all see the same partition.
pub fn region(image: &Path, opts: &Options) -> Result<Region, CliError> {
    let file =
        File::open(image).map_err(|e| CliError::Usage(format!("{}: {e}", image.display())))?;
    let choice = partition::choose(image, &file, opts.selection())
        .map_err(|e| CliError::Usage(e.to_string()))?;
    if let Some(n) = choice.partition
        && opts.selection() == Selection::Auto
    {
        tracing::info!(
            "{}: serving partition {n}, the only one holding ext2/3/4",
            image.display()
        );
    }
    Ok(choice.region)
}

/// Prints the partition table of `image` (`fuse4fs --list`).
pub fn list(image: &Path) -> Result<(), CliError> {
    let name = image.display().to_string();
    let file = File::open(image).map_err(|e| CliError::Usage(format!("{name}: {e}")))?;
    let table =
        partition::read_table(&file).map_err(|e| CliError::Usage(format!("{name}: {e}")))?;
    match table {
        Some(t) => print!("{}", partition::listing(&name, &t)),
        None => {
            let len = partition::file_len(&file)?;
            let fs = if partition::ext_at(&file, 0, len)? {
                "an ext2/3/4 filesystem at offset 0"
            } else {
                "no ext2/3/4 filesystem at offset 0"
            };
            println!("{name}: no partition table; {fs}");
        }
    }
    Ok(())
}
