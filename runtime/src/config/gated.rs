//! One attempt of a call under a settings file, through the gates the file
//! gives it, as `#[circuit_breaker]`, `#[rate_limit]` and
//! `#[concurrency_limit]` in that order gate an attempt: the breaker asked
//! first and told the outcome, then a turn of the rate, then a place held
//! while the attempt runs. A refusal is the `Status` the attributes'
//! refusals are.
//!
//! Written by hand rather than as an `async fn`: the attempt's future is
//! held once, in place, and a gate that has to wait (a queue, a limit
//! kept in Redis) is the only part boxed.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use ::tonic::Status;

use super::gates::Set;
use crate::breaker::Permit;
use crate::limit::{ConcurrencyPermit, Limited};

type Wait<'g, T> = Pin<Box<dyn Future<Output = Result<T, Limited>> + Send + 'g>>;

/// Where an attempt stands in its gates.
enum Stage<'g> {
    /// Not asked yet.
    Start,
    /// Waiting for a turn of the rate.
    Turn(Option<Permit<'g>>, Wait<'g, ()>),
    /// Waiting for a place.
    Place(Option<Permit<'g>>, Wait<'g, ConcurrencyPermit<'g>>),
    /// Running, holding what the gates gave.
    Running(Option<Permit<'g>>, Option<ConcurrencyPermit<'g>>),
    Done,
}

pin_project_lite::pin_project! {
    /// `attempt` through `gates` (none: the attempt alone).
    pub(super) struct Gated<'g, F> {
        gates: Option<&'g Set>,
        stage: Stage<'g>,
        #[pin]
        attempt: F,
    }
}

impl<'g, F> Gated<'g, F> {
    pub(super) fn new(gates: Option<&'g Set>, attempt: F) -> Self {
        Self {
            gates,
            stage: Stage::Start,
            attempt,
        }
    }
}

impl<'g, F, T> Future for Gated<'g, F>
where
    F: Future<Output = Result<T, Status>>,
{
    type Output = Result<T, Status>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let Some(gates) = *this.gates else {
            return this.attempt.poll(cx);
        };
        loop {
            match std::mem::replace(this.stage, Stage::Done) {
                Stage::Start => {
                    let permit = match &gates.breaker {
                        Some((_, breaker)) => Some(breaker.acquire().map_err(Status::from)?),
                        None => None,
                    };
                    // A turn that may take waiting (a queue, a limit kept in
                    // Redis) is awaited; otherwise it is had at once or not.
                    *this.stage = match &gates.rate {
                        Some((_, limiter))
                            if !limiter.max_wait().is_zero() || limiter.is_cluster() =>
                        {
                            Stage::Turn(permit, Box::pin(limiter.acquire()))
                        }
                        Some((_, limiter)) => match limiter.try_acquire() {
                            Ok(()) => place(gates, permit)?,
                            Err(limited) => return Poll::Ready(refused(permit, limited)),
                        },
                        None => place(gates, permit)?,
                    };
                }
                Stage::Turn(permit, mut wait) => match wait.as_mut().poll(cx) {
                    Poll::Pending => {
                        *this.stage = Stage::Turn(permit, wait);
                        return Poll::Pending;
                    }
                    Poll::Ready(Ok(())) => *this.stage = place(gates, permit)?,
                    Poll::Ready(Err(limited)) => return Poll::Ready(refused(permit, limited)),
                },
                Stage::Place(permit, mut wait) => match wait.as_mut().poll(cx) {
                    Poll::Pending => {
                        *this.stage = Stage::Place(permit, wait);
                        return Poll::Pending;
                    }
                    Poll::Ready(Ok(held)) => *this.stage = Stage::Running(permit, Some(held)),
                    Poll::Ready(Err(limited)) => return Poll::Ready(refused(permit, limited)),
                },
                Stage::Running(permit, held) => {
                    let Poll::Ready(result) = this.attempt.as_mut().poll(cx) else {
                        *this.stage = Stage::Running(permit, held);
                        return Poll::Pending;
                    };
                    drop(held);
                    if let Some(permit) = permit {
                        match &result {
                            Ok(_) => permit.success(),
                            Err(status) => permit.record(crate::breaker::Fault::is_fault(status)),
                        }
                    }
                    return Poll::Ready(result);
                }
                // Polled after it finished: nothing more comes.
                Stage::Done => return Poll::Pending,
            }
        }
    }
}

/// The next stage after the rate: a place of the concurrency limit (at
/// once, or waited for in its queue), or running.
fn place<'g>(gates: &'g Set, permit: Option<Permit<'g>>) -> Result<Stage<'g>, Status> {
    let Some((_, limit)) = &gates.concurrency else {
        return Ok(Stage::Running(permit, None));
    };
    if !limit.max_wait().is_zero() {
        return Ok(Stage::Place(permit, Box::pin(limit.acquire())));
    }
    match limit.try_acquire() {
        Ok(held) => Ok(Stage::Running(permit, Some(held))),
        Err(limited) => refused(permit, limited),
    }
}

/// A limit's refusal, the breaker told as `#[circuit_breaker]` above
/// `#[rate_limit]` tells it (a refusal here is the caller's, not a fault).
fn refused<T>(permit: Option<Permit<'_>>, limited: Limited) -> Result<T, Status> {
    let status = Status::from(limited);
    if let Some(permit) = permit {
        permit.record(crate::breaker::Fault::is_fault(&status));
    }
    Err(status)
}
