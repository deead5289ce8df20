use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

use super::{AfterError, HedgePolicy, HedgeState};
use crate::retry::{Attempt, Budget, Verdict};

pin_project! {
    /// One place for an attempt of a hedged call.
    #[project = SlotProj]
    #[derive(Debug)]
    enum Slot<F> {
        Empty,
        Running { #[pin] attempt: Attempt<F>, started: Instant },
    }
}

pin_project! {
    /// The future of [`hedge`]: up to five attempts polled in place, in the
    /// caller's task. No task is spawned and nothing is allocated per
    /// attempt; the timer is made when the first hedge is due.
    #[must_use = "futures do nothing unless polled"]
    pub struct Hedged<'p, M, F, V, B, E> {
        make: M,
        verdict: V,
        state: HedgeState<'p, B>,
        // The last failure, returned when nothing runs and nothing may start.
        failed: Option<E>,
        #[pin] s0: Slot<F>,
        #[pin] s1: Slot<F>,
        #[pin] s2: Slot<F>,
        #[pin] s3: Slot<F>,
        #[pin] s4: Slot<F>,
        #[pin] timer: Option<Sleep>,
    }
}

impl<M, F, V, B, E> std::fmt::Debug for Hedged<'_, M, F, V, B, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hedged").finish_non_exhaustive()
    }
}

/// Runs `make(n)`'s future as a hedged call under `policy`: the rules are
/// the runtime's hedging state machine's; `verdict` classifies failures (non-fatal: retryable).
/// `n` is the attempt's number (the attempts before it); while polled, the
/// attempt also reports it to
/// [`previous_attempts`](crate::retry::previous_attempts) (sent as
/// `grpc-previous-rpc-attempts`). Attempts run concurrently inside the
/// caller's task, so `make` may borrow from the caller.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::time::Duration;
/// use steadfast::hedge::{hedge, HedgePolicy};
/// use steadfast::__private::Verdict;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let policy = HedgePolicy::new(2, Duration::from_millis(10));
/// let started = AtomicU32::new(0);
/// let result = hedge(&policy, |_| async {
///     // The first attempt is slow; the hedge started at 10 ms answers at once.
///     if started.fetch_add(1, Ordering::Relaxed) == 0 {
///         tokio::time::sleep(Duration::from_secs(1)).await;
///     }
///     Ok::<_, std::io::Error>(started.load(Ordering::Relaxed))
/// }, |_| Verdict::RETRY)
/// .await;
/// assert_eq!(result.unwrap(), 2);
/// # }
/// ```
pub fn hedge<'p, M, F, T, E, V, B>(
    policy: &'p HedgePolicy<B>,
    make: M,
    verdict: V,
) -> Hedged<'p, M, F, V, B, E>
where
    M: FnMut(u32) -> F,
    F: Future<Output = Result<T, E>>,
    V: FnMut(&E) -> Verdict,
    B: Budget,
{
    Hedged {
        make,
        verdict,
        state: HedgeState::new(policy),
        failed: None,
        s0: Slot::Empty,
        s1: Slot::Empty,
        s2: Slot::Empty,
        s3: Slot::Empty,
        s4: Slot::Empty,
        timer: None,
    }
}

impl<M, F, T, E, V, B> Future for Hedged<'_, M, F, V, B, E>
where
    M: FnMut(u32) -> F,
    F: Future<Output = Result<T, E>>,
    V: FnMut(&E) -> Verdict,
    B: Budget,
{
    type Output = Result<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if this.state.started() == 0 {
            start(this.state, this.make, this.s0.as_mut());
        }
        loop {
            let mut start_next = false;
            for mut slot in [
                this.s0.as_mut(),
                this.s1.as_mut(),
                this.s2.as_mut(),
                this.s3.as_mut(),
                this.s4.as_mut(),
            ] {
                let SlotProj::Running { attempt, started } = slot.as_mut().project() else {
                    continue;
                };
                let Poll::Ready(result) = attempt.poll(cx) else {
                    continue;
                };
                let started = *started;
                slot.set(Slot::Empty);
                match result {
                    Ok(value) => {
                        this.state.after_success(started.elapsed());
                        return Poll::Ready(Ok(value));
                    }
                    Err(error) => match this.state.after_error((this.verdict)(&error)) {
                        AfterError::Return => return Poll::Ready(Err(error)),
                        AfterError::StartNext => {
                            start_next = true;
                            *this.failed = Some(error);
                        }
                        AfterError::Wait => *this.failed = Some(error),
                    },
                }
            }
            let due = this
                .state
                .next_due()
                .is_some_and(|due| Instant::now() >= due);
            if start_next || due {
                let slot = [
                    this.s0.as_mut(),
                    this.s1.as_mut(),
                    this.s2.as_mut(),
                    this.s3.as_mut(),
                    this.s4.as_mut(),
                ]
                .into_iter()
                .find(|s| matches!(**s, Slot::Empty));
                if let Some(slot) = slot {
                    if start(this.state, this.make, slot) {
                        continue; // poll the new attempt
                    }
                }
                let idle = [&this.s0, &this.s1, &this.s2, &this.s3, &this.s4]
                    .iter()
                    .all(|s| matches!(***s, Slot::Empty));
                if idle {
                    if let Some(error) = this.failed.take() {
                        return Poll::Ready(Err(error));
                    }
                }
            }
            if let Some(due) = this.state.next_due() {
                match this.timer.as_mut().as_pin_mut() {
                    Some(timer) => {
                        if timer.deadline() != due {
                            timer.reset(due);
                        }
                    }
                    None => this.timer.set(Some(tokio::time::sleep_until(due))),
                }
                if let Some(timer) = this.timer.as_mut().as_pin_mut() {
                    if timer.poll(cx).is_ready() {
                        continue;
                    }
                }
            }
            return Poll::Pending;
        }
    }
}

/// Starts an attempt in `slot` if the rules allow one; whether it did.
fn start<M, F, B>(state: &mut HedgeState<'_, B>, make: &mut M, mut slot: Pin<&mut Slot<F>>) -> bool
where
    M: FnMut(u32) -> F,
    F: Future,
    B: Budget,
{
    match state.start() {
        Some(number) => {
            slot.set(Slot::Running {
                attempt: crate::retry::attempt(number, false, make(number)),
                started: Instant::now(),
            });
            true
        }
        None => false,
    }
}
