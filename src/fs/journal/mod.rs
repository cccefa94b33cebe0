//! The journal: transactions (the metadata changes of one operation), the
//! writer that logs them before anything is written in place, and the
//! replay of a log left by a crash at open.

pub(super) mod replay;
pub mod transaction;
pub mod writer;
