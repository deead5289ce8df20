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
    /// use resilient::deadline::{self, Scope};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scoped: Scope<_> = deadline::scope(Duration::from_secs(1), async { 7 });
    /// assert_eq!(scoped.await, Ok(7));
    /// # }
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct Scope<F> {
        // The timer doubles as the store of the deadline: keeping this
        // future no bigger than `tokio::time::Timeout` keeps moving it cheap.
        #[pin]
        timer: Sleep,
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
            timer: tokio::time::sleep_until(deadline),
            inner: future,
            expired,
        }
    }

    /// The deadline this scope enforces.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tokio::time::Instant;
    /// use resilient::deadline;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let at = Instant::now() + Duration::from_secs(3);
    /// assert_eq!(deadline::scope_at(at, async {}).deadline(), at);
    /// # }
    /// ```
    pub fn deadline(&self) -> Instant {
        self.timer.deadline()
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
        let deadline = this.timer.deadline();
        if let Poll::Ready(output) = local::with(deadline, || this.inner.poll(cx)) {
            return Poll::Ready(Ok(output));
        }
        // Outside the task's cooperative budget, as tokio's `Timeout` does: a
        // work future that spends the whole budget must not starve its timer.
        let mut timer = tokio::task::unconstrained(this.timer.as_mut());
        match Pin::new(&mut timer).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed::new())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F> std::fmt::Debug for Scope<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope")
            .field("deadline", &self.timer.deadline())
            .finish_non_exhaustive()
    }
}

pin_project! {
    /// The future of [`deadline::propagate`](super::propagate).
    ///
    /// ```
    /// use resilient::deadline::{self, Propagate};
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
