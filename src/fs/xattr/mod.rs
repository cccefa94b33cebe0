//! Extended attributes: listing and reading them (in the inode, the
//! external block, and values in their own inodes), setting and removing
//! them, and the POSIX ACLs stored in them, as the kernel keeps both sides
//! in xattr.c (with acl.c for the ACL form).

pub(super) mod acl;
pub mod change;
pub(super) mod ea_inode;
pub mod read;
pub mod write;
