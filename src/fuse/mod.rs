//! The FUSE side: kernel protocol transport and the request adapter.
//!
//! Transport layout (one concern per file):
//! - [`abi`]: kernel ABI structs and constants (zerocopy, no unsafe casts);
//! - [`ids`]: the node id, file handle and request id newtypes;
//! - [`init`]: INIT negotiation and the persistable [`init::Negotiated`];
//! - [`channel`]: the shared `/dev/fuse` fd (blocking read, writev);
//! - [`request`]: reading a request's header, arguments and names;
//! - [`operation`]: a request decoded into a typed [`operation::Operation`];
//! - [`dispatch`]: each operation to its [`ops::FuseOps`] call and reply;
//! - [`reply`]: encoding replies and converting [`ops`] types;
//! - [`dirent`]: READDIR / READDIRPLUS record packing (a [`ops::DirSink`]);
//! - [`held`]: the nodes the kernel holds (READDIRPLUS entries without
//!   attributes for them);
//! - [`session`]: INIT and the worker threads' loop;
//! - [`uring`]: FUSE over io_uring, the alternative to read(2)/writev(2);
//! - [`resend`]: answers for requests resent after a server restart;
//! - [`notify`]: unsolicited notifications ([`notify::Notifier`]);
//! - [`mount`]: mount(2) / fusermount3 and unmount;
//! - [`userns`]: the user namespace the server runs in (its uid map);
//! - [`opcount`]: requests counted by opcode (round trips per workload);
//! - [`memfs`]: an in-memory filesystem (the FUSE floor in benchmarks,
//!   and the transport tests' read-write filesystem).
//!
//! # Use
//!
//! ```no_run
//! use std::sync::Arc;
//! use fuse4fs::fuse::{InitConfig, MountOptions, Negotiated, Session, mount, unmount};
//! # struct Fs;
//! # impl fuse4fs::fuse::ops::FuseOps for Fs {}
//! let mp = std::path::Path::new("/mnt/image");
//! let fd = mount(mp, &MountOptions { ro: true, ..Default::default() })?;
//! // Answers the kernel's INIT; `InitConfig::wanted_flags` selects features.
//! let session = Session::new(fd, Arc::new(Fs), &InitConfig::default())?;
//! let saved: Vec<u8> = session.negotiated().to_bytes(); // for a later resume
//! let notifier = session.notifier(); // cloneable, usable from any thread
//! // Serves until someone calls `unmount(mp)` (e.g. a signal-handling thread).
//! session.run(4)?;
//!
//! // A successor process holding a dup of the same /dev/fuse fd takes over
//! // without INIT:
//! # let fd: std::os::fd::OwnedFd = unimplemented!();
//! let session = Session::resume(fd, Arc::new(Fs), Negotiated::from_bytes(&saved)?);
//! # let _ = (notifier, unmount(mp));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod abi;
pub mod adapter;
pub mod attr_flags;
pub mod background;
pub mod channel;
pub mod credentials;
pub mod crypt;
pub mod dirent;
pub mod dispatch;
pub mod fslabel;
pub mod held;
pub mod ids;
pub mod init;
pub mod memfs;
pub mod mount;
pub mod notify;
pub mod opcount;
pub mod operation;
pub mod ops;
pub mod reply;
pub mod request;
pub mod resend;
pub mod session;
pub mod shutdown;
pub mod trim;
pub mod uring;
pub mod userns;

pub use init::{InitConfig, Negotiated};
pub use mount::{MountError, MountOptions, mount, unmount};
pub use notify::{Notifier, NotifyError};
pub use session::{Session, SessionError};
