//! Which attempt of a retried call is running, for code that needs to know
//! (the gRPC glue sends it as `grpc-previous-rpc-attempts`).

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

thread_local! {
    /// Attempts of the current call before the one being polled.
    static PREVIOUS: Cell<u32> = const { Cell::new(0) };
    /// How many attempts of loops whose policy says `Nested::Once` are
    /// being polled around the code that runs.
    static ONCE_DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// How many attempts of the current call came before this one: 0 on the
/// first attempt and outside any retry loop.
///
/// Set by [`retry`](crate::retry()) and `#[retry]` while an attempt is polled;
/// the innermost retry loop owns it.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use steadfast::{retry::previous_attempts, Backoff, Elapsed, RetryPolicy};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let policy = RetryPolicy::new().max_attempts(3).backoff(Backoff::none());
/// let seen = std::sync::Mutex::new(Vec::new());
/// let _ = steadfast::retry(&policy, || async {
///     seen.lock().unwrap().push(previous_attempts());
///     Err::<(), _>(Elapsed::new())
/// })
/// .await;
/// assert_eq!(*seen.lock().unwrap(), [0, 1, 2]);
/// # }
/// ```
pub fn previous_attempts() -> u32 {
    crate::local::get(&PREVIOUS, 0)
}

/// Whether the code runs inside the attempt of a retry loop whose policy
/// says [`Nested::Once`](super::Nested::Once): then a retry loop here makes
/// one attempt and leaves retrying to that outer loop.
pub(crate) fn outer_retries() -> bool {
    crate::local::get(&ONCE_DEPTH, 0) > 0
}

pin_project! {
    /// An attempt future that reports its number while polled.
    ///
    /// Every attempt sets the number, the first one (0) included: a retry
    /// loop nested in another numbers its own attempts, so a call retried
    /// inside an outer retry starts again from "no previous attempt". The
    /// attempt of a loop whose policy says [`Nested::Once`](super::Nested::Once)
    /// also tells the loops inside to make one attempt each.
    #[doc(hidden)]
    #[derive(Debug)]
    pub struct Attempt<F> {
        previous: u32,
        once_inside: bool,
        #[pin]
        inner: F,
    }
}

/// Wraps the attempt that `previous` attempts came before; `once_inside`:
/// retry loops inside it make one attempt each.
#[doc(hidden)]
#[inline]
pub(crate) fn attempt<F: Future>(previous: u32, once_inside: bool, inner: F) -> Attempt<F> {
    Attempt {
        previous,
        once_inside,
        inner,
    }
}

impl<F: Future> Future for Attempt<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let previous = *this.previous;
        if *this.once_inside {
            let deeper = |depth: u32| depth.saturating_add(1);
            return crate::local::with_merged(&ONCE_DEPTH, deeper, || {
                crate::local::with(&PREVIOUS, previous, || this.inner.poll(cx))
            });
        }
        crate::local::with(&PREVIOUS, previous, || this.inner.poll(cx))
    }
}
