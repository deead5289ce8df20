//! Retrying failed work: the policy, the decisions, and the loops that run
//! them.
//!
//! [`RetryPolicy`] says what to do; [`RetryState`] makes the decisions of one
//! call; [`retry`](crate::retry()) and [`retry_blocking`]
//! are ready-made loops over it. The `#[retry]` attribute expands to the
//! same decisions, inline.

pub(crate) mod attempt;
mod budget;
pub(crate) mod classify;
pub(crate) mod policy;
mod ratio;
mod run;
pub(crate) mod state;

#[cfg(feature = "tonic")]
pub(crate) use attempt::numbered;
pub use attempt::previous_attempts;
pub(crate) use attempt::{attempt, Attempt};
pub use budget::{Budget, NoBudget, RetryBudget};
pub(crate) use classify::Verdict;
pub use classify::{Always, ByRetryable, Classify, Retryable, When};
pub use policy::{Nested, RetryPolicy};
pub use ratio::RatioBudget;
pub use run::{retry, retry_blocking};
pub(crate) use state::{Next, RetryState};
