//! Filesystem operations by inode number (in progress).
