use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

use super::local::{self, WithDeadline};
use super::Elapsed;

pin_project! {
    /// The future of [`deadline::scope`](super::scope): the inner future with
    /// its deadline set and enforced.
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::deadline::{self, Scope};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scoped: Scope<_> = deadline::scope(Duration::from_secs(1), async { 7 });
    /// assert_eq!(scoped.await, Ok(7));
    /// # }
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct Scope<F> {
        deadline: Instant,
        // Made when the work first waits: work that finishes at its first
        // poll (a handler answering at once, a cached reply) never builds or
        // registers a timer at all.
        #[pin]
        timer: Option<Sleep>,
        #[pin]
        inner: F,
        // Already past when the scope was made: fail without polling the work.
        expired: bool,
    }
}

impl<F: Future> Scope<F> {
    #[inline]
    pub(super) fn new(deadline: Instant, expired: bool, future: F) -> Self {
        Self {
            deadline,
            timer: None,
            inner: future,
            expired,
        }
    }

    /// The deadline this scope enforces.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tokio::time::Instant;
    /// use steadfast::deadline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let at = Instant::now() + Duration::from_secs(3);
    /// assert_eq!(deadline::scope_at(at, async {}).deadline(), at);
    /// # }
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

impl<F: Future> Future for Scope<F> {
    type Output = Result<F::Output, Elapsed>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if *this.expired {
            return Poll::Ready(Err(Elapsed::new()));
        }
        let deadline = *this.deadline;
        if let Poll::Ready(output) = local::with(deadline, || this.inner.poll(cx)) {
            return Poll::Ready(Ok(output));
        }
        if this.timer.is_none() {
            this.timer.set(Some(tokio::time::sleep_until(deadline)));
        }
        let Some(timer) = this.timer.as_pin_mut() else {
            return Poll::Pending;
        };
        // Outside the task's cooperative budget, as tokio's `Timeout` does: a
        // work future that spends the whole budget must not starve its timer.
        let mut timer = tokio::task::unconstrained(timer);
        match Pin::new(&mut timer).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed::new())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F> std::fmt::Debug for Scope<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope")
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

pin_project! {
    /// The future of [`deadline::timed`](super::timed): a [`Scope`] whose
    /// output carries the deadline it enforced.
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::deadline;
    /// use steadfast::__private::Timed;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let timed: Timed<_> = steadfast::__private::timed(Duration::from_secs(1), async { 1 });
    /// assert_eq!(timed.await.0, Ok(1));
    /// # }
    /// ```
    #[must_use = "futures do nothing unless polled"]
    #[derive(Debug)]
    pub struct Timed<F> {
        #[pin]
        scope: Scope<F>,
    }
}

impl<F: Future> Timed<F> {
    #[inline]
    pub(super) fn new(scope: Scope<F>) -> Self {
        Self { scope }
    }
}

impl<F: Future> Future for Timed<F> {
    type Output = (Result<F::Output, Elapsed>, Instant);

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut scope = self.project().scope;
        match scope.as_mut().poll(cx) {
            Poll::Ready(result) => Poll::Ready((result, scope.deadline())),
            Poll::Pending => Poll::Pending,
        }
    }
}

pin_project! {
    /// A deadline scope without a timer of its own, for work whose every
    /// wait is already bounded by the deadline: a retry loop whose attempts
    /// each run in a scope shrunk to it, and whose sleeps never pass it.
    /// It sets the deadline for everything below, fails at once when the
    /// deadline has already passed, and reports the deadline with the
    /// result, as [`Timed`] does.
    #[doc(hidden)]
    #[must_use = "futures do nothing unless polled"]
    #[derive(Debug)]
    pub struct Carried<F> {
        deadline: Instant,
        expired: bool,
        #[pin]
        inner: F,
    }
}

impl<F: Future> Carried<F> {
    #[inline]
    pub(super) fn new(deadline: Instant, expired: bool, inner: F) -> Self {
        Self {
            deadline,
            expired,
            inner,
        }
    }
}

impl<F: Future> Future for Carried<F> {
    type Output = (Result<F::Output, Elapsed>, Instant);

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let deadline = *this.deadline;
        if *this.expired {
            return Poll::Ready((Err(Elapsed::new()), deadline));
        }
        match local::with(deadline, || this.inner.poll(cx)) {
            Poll::Ready(output) => Poll::Ready((Ok(output), deadline)),
            Poll::Pending => Poll::Pending,
        }
    }
}

pin_project! {
    /// The future of [`deadline::propagate`](super::propagate).
    ///
    /// ```
    /// use steadfast::deadline::{self, Propagate};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let fut: Propagate<_> = deadline::propagate(async { 1 });
    /// assert_eq!(fut.await, 1);
    /// # }
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct Propagate<F> {
        #[pin]
        inner: WithDeadline<F>,
    }
}

impl<F: Future> Propagate<F> {
    pub(crate) fn new(deadline: Option<Instant>, future: F) -> Self {
        Self {
            inner: WithDeadline::new(deadline, future),
        }
    }
}

impl<F: Future> Future for Propagate<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.project().inner.poll(cx)
    }
}

impl<F> std::fmt::Debug for Propagate<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Propagate")
    }
}
