use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio::time::{Instant, Timeout};

use super::local::WithDeadline;
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
        deadline: Instant,
        // Already past when the scope was made: fail without polling the work.
        expired: bool,
        #[pin]
        inner: WithDeadline<Timeout<F>>,
    }
}

impl<F: Future> Scope<F> {
    pub(super) fn new(deadline: Instant, expired: bool, future: F) -> Self {
        Self {
            deadline,
            expired,
            inner: WithDeadline::new(Some(deadline), tokio::time::timeout_at(deadline, future)),
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
        self.deadline
    }
}

impl<F: Future> Future for Scope<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if *this.expired {
            return Poll::Ready(Err(Elapsed::new()));
        }
        this.inner.poll(cx).map(|r| r.map_err(Elapsed::from))
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
