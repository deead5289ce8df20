//! Where the current deadline lives while a scoped future is polled.
//!
//! A thread-local swapped in around each poll, as tokio's task-locals do,
//! but with a `Cell` instead of a `RefCell` and nothing to do on drop: the
//! success path of a scope costs two swaps per poll.

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
pub(super) fn get() -> Option<Instant> {
    CURRENT.try_with(Cell::get).ok().flatten()
}

/// Sets `deadline` until the guard drops (also on unwind).
fn enter(deadline: Instant) -> Restore {
    Restore(
        CURRENT
            .try_with(|c| c.replace(Some(deadline)))
            .ok()
            .flatten(),
    )
}

struct Restore(Option<Instant>);

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| c.set(self.0));
    }
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
            Some(deadline) => {
                let _restore = enter(deadline);
                this.inner.poll(cx)
            }
            None => this.inner.poll(cx),
        }
    }
}
