//! The ids the kernel and a FUSE server name things by: a node
//! ([`NodeId`]), an open file ([`FileHandle`]) and a request
//! ([`RequestId`]). Each is the `u64` the kernel ABI carries, wrapped so
//! that one is never passed where another is meant; `repr(transparent)`,
//! so the [`abi`](super::abi) structs hold them as they are and decoding
//! converts nothing.
//!
//! The transport passes node ids and file handles through untouched: what
//! they mean is the filesystem's. The ext4 adapter's meaning of a node id
//! is here too ([`NodeId::from_inode`]), so that it and recovery, which
//! reads the node ids the kernel held, share one definition.

use std::fmt;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::ext4::{Generation, InodeNo};

/// Declares one id: a `repr(transparent)` `u64` of the ABI, comparable and
/// hashable, shown as its number. The three ids are alike in all of that
/// and differ only in what they mean, so they are declared in one place.
macro_rules! abi_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[repr(transparent)]
        #[derive(
            Debug,
            Clone,
            Copy,
            Default,
            PartialEq,
            Eq,
            PartialOrd,
            Ord,
            Hash,
            FromBytes,
            IntoBytes,
            KnownLayout,
            Immutable,
        )]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

abi_id! {
    /// The kernel's name for a node of the mount: what a LOOKUP answers and
    /// what later requests are for, until the kernel forgets it. 1 is the root.
    NodeId
}

impl NodeId {
    /// No node: the node id of a negative entry, and of a READDIRPLUS
    /// entry without a lookup.
    pub const NONE: NodeId = NodeId(0);
    /// The root directory (FUSE_ROOT_ID).
    pub const ROOT: NodeId = NodeId(1);

    /// The node id of ext4 inode `ino` with i_generation `generation`:
    /// `generation << 32 | ino`, and [`NodeId::ROOT`] for the root inode
    /// (whatever its generation). Derived from the inode, never stored, so
    /// a restarted server means the same by it; a node id whose inode was
    /// freed or reused names a generation the inode no longer has.
    pub fn from_inode(ino: InodeNo, generation: Generation) -> NodeId {
        if ino == InodeNo::ROOT {
            NodeId::ROOT
        } else {
            NodeId(u64::from(generation.0) << 32 | u64::from(ino.0))
        }
    }

    /// The ext4 inode number this node id names (see
    /// [`NodeId::from_inode`]).
    pub fn inode(self) -> InodeNo {
        if self == NodeId::ROOT {
            InodeNo::ROOT
        } else {
            InodeNo(self.0 as u32)
        }
    }

    /// The i_generation this node id names, or None for the root, which
    /// is the root whatever its generation.
    pub fn generation(self) -> Option<Generation> {
        (self != NodeId::ROOT).then_some(Generation((self.0 >> 32) as u32))
    }
}

impl fmt::LowerHex for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::LowerHex::fmt(&self.0, f)
    }
}

abi_id! {
    /// The server's name for one open of a file or directory, given in its
    /// answer to OPEN, OPENDIR or CREATE and sent back with each request made
    /// through that open. Its meaning is the filesystem's alone.
    FileHandle
}

abi_id! {
    /// The kernel's id of a request (`unique`), which its reply carries back.
    /// Bit 63 marks a request the kernel resent after FUSE_NOTIFY_RESEND
    /// ([`RequestId::is_resend`]).
    RequestId
}

impl RequestId {
    /// The id of a message that answers no request: a notification.
    pub const NOTIFY: RequestId = RequestId(0);
    /// Bit 63: the kernel resent the request after FUSE_NOTIFY_RESEND.
    pub const RESEND_BIT: u64 = 1 << 63;

    /// True for a request the kernel delivers again after a server
    /// restart.
    pub fn is_resend(self) -> bool {
        self.0 & Self::RESEND_BIT != 0
    }

    /// The id without the resend bit: the same for a request and its
    /// resending.
    pub fn first(self) -> RequestId {
        RequestId(self.0 & !Self::RESEND_BIT)
    }

    /// This id with the resend bit set, as the kernel resends it.
    pub fn resent(self) -> RequestId {
        RequestId(self.0 | Self::RESEND_BIT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_round_trip() {
        assert_eq!(
            NodeId::from_inode(InodeNo::ROOT, Generation(77)),
            NodeId::ROOT
        );
        assert_eq!(NodeId::ROOT.inode(), InodeNo::ROOT);
        assert_eq!(NodeId::ROOT.generation(), None);
        let id = NodeId::from_inode(InodeNo(12), Generation(0xDEAD_BEEF));
        assert_eq!(id, NodeId(0xDEAD_BEEF_0000_000C));
        assert_eq!(id.inode(), InodeNo(12));
        assert_eq!(id.generation(), Some(Generation(0xDEAD_BEEF)));
    }

    #[test]
    fn resend_bit() {
        let id = RequestId(9);
        assert!(!id.is_resend());
        assert!(id.resent().is_resend());
        assert_eq!(id.resent(), RequestId(1 << 63 | 9));
        assert_eq!(id.resent().first(), id);
    }

    #[test]
    fn ids_are_their_abi_u64() {
        use zerocopy::IntoBytes;
        assert_eq!(NodeId(5).as_bytes(), 5u64.as_bytes());
        assert_eq!(FileHandle(6).as_bytes(), 6u64.as_bytes());
        assert_eq!(RequestId(7).as_bytes(), 7u64.as_bytes());
    }
}
