//! The integration tests, one module per area (each was a tests/*.rs file
//! of its own), linked as one test binary: cargo linked each file
//! against the whole library and its debug info, 46 links of ~55 MB.
//! `cargo test --test integration dir_write::` runs one area;
//! tests/integration/common is the shared set-up.

mod common;
mod hostile_images;

mod atime;
mod attr_flags;
mod balloc;
mod bigalloc;
mod blockmap_write;
mod casefold;
mod checkpoint_deferral;
mod copy_range;
mod dir_write;
mod ea_inode;
mod extent_write;
mod fallocate_tree;
mod features;
mod group_commit;
mod hostile;
mod hostile_write;
mod huge_sizes;
mod ialloc;
mod inline_write;
mod jbd2_replay;
mod journal;
mod journal_abort;
mod manpages;
mod mmp;
mod mount_helper;
mod namei;
mod namespace_race;
mod open_unlink_race;
mod oracle;
mod orphan_crash;
mod partition_tables;
mod publish;
mod quota;
mod readdirplus;
mod recover_cli;
mod rename_whiteout;
mod serialize_blocks;
mod serialize_meta;
mod shutdown;
mod suidgid_drop;
mod supervise;
mod transaction;
mod transport;
mod trim;
mod uring;
mod xattr_write;
mod zeroing;
