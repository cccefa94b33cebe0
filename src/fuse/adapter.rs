//! Maps FUSE requests onto the fs layer (in progress).
