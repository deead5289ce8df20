//! End-to-end and compile-time tests of `steadfast`; nothing to use here.
