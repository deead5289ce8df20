//! A call's attempts under a settings file's policy, for a caller that
//! makes each attempt itself: a generated client, whose attempts borrow it
//! mutably (which a closure handed to [`CallPolicy::run`] cannot lend, so
//! that path clones the client for each). The decisions stay in
//! `RetryState`; the caller's loop only starts an attempt, hands its
//! outcome back, and sleeps when told:
//!
//! ```text
//! let mut attempts = Attempts::new(&policy);
//! loop {
//!     let outcome = attempts.start(self.attempt(&request)).await;
//!     match attempts.end(outcome) {
//!         Next::Return(result) => return result,
//!         Next::Retry { error, delay } => { drop(error); sleep(delay).await }
//!     }
//! }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ::tonic::Status;
use tokio::time::Instant;

use super::call::CodeMask;
use super::gated::Gated;
use super::CallPolicy;
use crate::backoff::Backoff;
use crate::retry::{Attempt, Classify, Next, RetryState};
use crate::{Elapsed, RetryBudget};

/// The attempts of one call under `policy`.
#[derive(Debug)]
pub struct Attempts<'p> {
    policy: &'p CallPolicy,
    state: RetryState<'p, Backoff, CodeMask, Option<Arc<RetryBudget>>>,
}

/// How an attempt ended: on its own, or (with `perTryTimeout`) within its
/// own deadline or not.
#[derive(Debug)]
pub enum Outcome<T> {
    /// An attempt without a timeout of its own.
    Plain(Result<T, Status>),
    /// An attempt under its own timeout, and the deadline that applied.
    Timed(Result<Result<T, Status>, Elapsed>, Instant),
}

impl<'p> Attempts<'p> {
    /// The first attempt is next.
    pub fn new(policy: &'p CallPolicy) -> Self {
        Self {
            policy,
            state: RetryState::new(policy.retry()),
        }
    }

    /// The attempts made so far.
    pub fn previous_attempts(&self) -> u32 {
        self.state.previous_attempts()
    }

    /// The next attempt: through the gates, numbered, under its own
    /// timeout when the policy gives one.
    pub fn start<F, T>(&self, attempt: F) -> Start<'p, F>
    where
        F: Future<Output = Result<T, Status>>,
    {
        let attempt = self.state.begin(Gated::new(self.policy.gates(), attempt));
        let inner = match self.state.attempt_timeout() {
            None => Started::Plain { attempt },
            Some(timeout) => Started::Timed {
                attempt: crate::deadline::timed(timeout, attempt),
            },
        };
        Start { inner }
    }

    /// What follows an attempt's `outcome`: the call's result, or a retry
    /// after a delay.
    pub fn end<T>(&mut self, outcome: Outcome<T>) -> Next<T, Status> {
        let classify = self.policy.retry().classifier();
        match outcome {
            Outcome::Plain(result) => self.state.end(result, |e| classify.verdict(e)),
            Outcome::Timed(scoped, until) => {
                self.state
                    .end_timed(scoped, until, |e| classify.verdict(e), Status::from)
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Attempts::start`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Start<'g, F> {
        #[pin]
        inner: Started<'g, F>,
    }
}

pin_project_lite::pin_project! {
    #[project = StartedProj]
    enum Started<'g, F> {
        Plain { #[pin] attempt: Attempt<Gated<'g, F>> },
        Timed { #[pin] attempt: crate::deadline::Timed<Attempt<Gated<'g, F>>> },
    }
}

impl<F, T> Future for Start<'_, F>
where
    F: Future<Output = Result<T, Status>>,
{
    type Output = Outcome<T>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().inner.project() {
            StartedProj::Plain { attempt } => attempt.poll(cx).map(Outcome::Plain),
            StartedProj::Timed { attempt } => attempt
                .poll(cx)
                .map(|(scoped, until)| Outcome::Timed(scoped, until)),
        }
    }
}
