//! Where the current deadline lives while a scoped future is polled.
//!
//! A thread-local swapped in around each poll, as tokio's task-locals do,
//! but with a `Cell` instead of a `RefCell`, one lookup per poll, and
//! nothing to do on drop.

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
    CURRENT.try_with(Cell::get).ok().flatten()
}

/// Runs `f` with `deadline` set, restoring the previous value afterwards,
/// also on unwind. One thread-local lookup for both.
#[inline]
pub(super) fn with<R>(deadline: Instant, f: impl FnOnce() -> R) -> R {
    struct Restore<'a>(&'a Cell<Option<Instant>>, Option<Instant>);

    impl Drop for Restore<'_> {
        #[inline]
        fn drop(&mut self) {
            self.0.set(self.1);
        }
    }

    let mut f = Some(f);
    let result = CURRENT.try_with(|cell| {
        let _restore = Restore(cell, cell.replace(Some(deadline)));
        f.take().map(|f| f())
    });
    match (result, f) {
        (Ok(Some(result)), _) => result,
        // The thread is tearing down its locals: run without the deadline.
        (_, Some(f)) => f(),
        (_, None) => unreachable!("`f` ran, so its result is there"),
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
            Some(deadline) => with(deadline, || this.inner.poll(cx)),
            None => this.inner.poll(cx),
        }
    }
}
