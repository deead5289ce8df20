//! Hedging: cut the tail of a call's latency by starting another attempt
//! when the first is slow, and taking whichever answers first ("The Tail at
//! Scale"; gRPC A6's `hedgingPolicy`).
//!
//! [`HedgePolicy`] says how many attempts and after how long; the
//! runtime's state machine makes the decisions of one call; [`hedge`](hedge())
//! drives them, polling the attempts concurrently inside the caller's task.
//! `#[hedge]` expands to it; [`Latency`] gives `delay = "p95"` its running
//! percentile.

mod latency;
mod policy;
mod run;
pub(crate) mod state;

pub use latency::Latency;
pub use policy::HedgePolicy;
pub use run::{hedge, Hedged};
pub(crate) use state::{AfterError, HedgeState};

#[cfg(test)]
mod tests;
