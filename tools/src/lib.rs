//! What the development tools share (a library of this package only, so
//! that `crashcheck` and `fsdiff` describe their workloads alike).

pub mod op;
