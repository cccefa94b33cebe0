//! fuse4fs: an ext4 filesystem server in user space over FUSE.
//!
//! Layers, dependencies pointing one way:
//! - [`ext4`] (from the `fuse4fs-format` crate, `format/`): the on-disk format (parse, serialize, checksums); no policy.
//! - [`jbd2`] (same crate): the journal format and its replay.
//! - [`fs`]: operations by inode number (block cache, extent mapping,
//!   directories, xattrs); no FUSE types.
//! - [`fuse`]: the kernel protocol transport and the request adapter that
//!   maps FUSE requests onto [`fs`].
//! - [`recovery`] (beside `fuse`): the state kept across a crash of the
//!   server, the fd store, and adopting a live connection.
//! - [`partition`] (beside `fs`): the partition tables of whole-disk images
//!   and the choice of the filesystem in them.

pub mod crashpoint;
pub mod fs;
pub mod fuse;
pub mod partition;
pub mod recovery;

pub use fuse4fs_format::{ext4, jbd2};
