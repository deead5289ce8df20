//! End-to-end and compile-time tests of `resilient`; nothing to use here.
