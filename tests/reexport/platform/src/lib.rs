//! Re-exports `steadfast`, so that its users need no dependency of their own.

pub use steadfast;
