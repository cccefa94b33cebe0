//! `fuse4fs [-o opts] [-f] [-d] IMAGE MOUNTPOINT`: serve an ext2/3/4 image
//! over FUSE. Like fuse2fs it returns once the mount is live and keeps
//! serving in the background; `-f` stays in the foreground.
//! `fuse4fs -u MOUNTPOINT` unmounts and waits for the server to finish.

use std::process::ExitCode;

mod cli;

fn main() -> ExitCode {
    match cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fuse4fs: {e}");
            ExitCode::FAILURE
        }
    }
}
