//! Where the current deadline lives while a scoped future is polled (see
//! [`crate::local`]).

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio::time::Instant;

thread_local! {
    static CURRENT: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// The deadline set by the innermost future being polled on this thread.
#[inline]
pub(super) fn get() -> Option<Instant> {
    crate::local::get(&CURRENT, None)
}

/// Runs `f` with `deadline` set, restoring the previous value afterwards.
#[inline]
pub(super) fn with<R>(deadline: Instant, f: impl FnOnce() -> R) -> R {
    crate::local::with(&CURRENT, Some(deadline), f)
}

pin_project! {
    /// `inner` polled with `deadline` set, or as it is when there is none.
    pub(super) struct WithDeadline<F> {
        deadline: Option<Instant>,
        #[pin]
        inner: F,
    }
}

impl<F> WithDeadline<F> {
    pub(super) fn new(deadline: Option<Instant>, inner: F) -> Self {
        Self { deadline, inner }
    }
}

impl<F: Future> Future for WithDeadline<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        match *this.deadline {
            Some(deadline) => with(deadline, || this.inner.poll(cx)),
            None => this.inner.poll(cx),
        }
    }
}
