//! Retrying failed work: the policy, the decisions, and the loops that run
//! them.
//!
//! [`RetryPolicy`] says what to do; [`RetryState`] makes the decisions of one
//! call; [`retry`](crate::retry()) and [`retry_blocking`]
//! are ready-made loops over it. The `#[retry]` attribute expands to the
//! same decisions, inline.

mod attempt;
mod budget;
mod classify;
mod policy;
mod ratio;
mod run;
mod state;

pub use attempt::previous_attempts;
#[doc(hidden)]
pub use attempt::{attempt, Attempt};
pub use budget::{Budget, NoBudget, RetryBudget};
pub use classify::{Always, ByRetryable, Classify, Retryable, Verdict, When};
pub use policy::{Nested, RetryPolicy, DEFAULT_MAX_ATTEMPTS};
pub use ratio::RatioBudget;
pub use run::{retry, retry_blocking};
pub use state::{Decision, Next, RetryState};
