//! The FUSE side: kernel protocol transport and the request adapter.

pub mod adapter;
pub mod ops;
