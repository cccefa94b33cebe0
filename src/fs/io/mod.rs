//! The way of a block between the image file and the code that reads it:
//! positioned I/O on the image, the recorder of every write and flush
//! (crash-point tests), the shared metadata block cache, and the
//! memory (shared by the threads) of blocks whose checksum was found good.

pub mod cache;
pub mod image;
pub mod log;
pub(super) mod verified;
