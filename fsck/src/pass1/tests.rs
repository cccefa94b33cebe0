//! Tests of pass 1.
