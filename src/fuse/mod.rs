//! The FUSE side: kernel protocol transport and the request adapter.
//!
//! Transport layout (one concern per file):
//! - [`abi`]: kernel ABI structs and constants (zerocopy, no unsafe casts);
//! - [`init`]: INIT negotiation and the persistable [`init::Negotiated`];
//! - [`channel`]: the shared `/dev/fuse` fd (blocking read, writev);
//! - [`request`]: decoding a request's header, arguments and names;
//! - [`reply`]: encoding replies and converting [`ops`] types;
//! - [`dirent`]: READDIR / READDIRPLUS record packing (a [`ops::DirSink`]);
//! - [`session`]: INIT, worker threads and opcode dispatch;
//! - [`notify`]: unsolicited notifications ([`notify::Notifier`]);
//! - [`mount`]: mount(2) / fusermount3 and unmount.

pub mod abi;
pub mod adapter;
pub mod channel;
pub mod dirent;
pub mod init;
pub mod mount;
pub mod notify;
pub mod ops;
pub mod reply;
pub mod request;
pub mod session;

pub use init::{InitConfig, Negotiated};
pub use mount::{MountError, MountOptions, mount, unmount};
pub use notify::{Notifier, NotifyError};
pub use session::{Session, SessionError};
