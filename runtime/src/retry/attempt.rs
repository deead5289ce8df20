//! Which attempt of a retried call is running, for code that needs to know
//! (the gRPC glue sends it as `grpc-previous-rpc-attempts`).

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

/// What an attempt being polled tells the code it runs.
#[derive(Debug, Clone, Copy)]
struct Running {
    /// Attempts of the call before this one.
    previous: u32,
    /// An outer loop retries: loops inside make one attempt each.
    outer_retries: bool,
}

thread_local! {
    static RUNNING: Cell<Running> = const { Cell::new(Running { previous: 0, outer_retries: false }) };
}

/// How many attempts of the current call came before this one: 0 on the
/// first attempt and outside any retry loop.
///
/// Set by [`retry`](crate::retry()) and `#[retry]` while an attempt is polled;
/// the innermost retry loop owns it.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use resilient::{retry::previous_attempts, Backoff, Elapsed, RetryPolicy};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let policy = RetryPolicy::new().max_attempts(3).backoff(Backoff::none());
/// let seen = std::sync::Mutex::new(Vec::new());
/// let _ = resilient::retry(&policy, || async {
///     seen.lock().unwrap().push(previous_attempts());
///     Err::<(), _>(Elapsed::new())
/// })
/// .await;
/// assert_eq!(*seen.lock().unwrap(), [0, 1, 2]);
/// # }
/// ```
pub fn previous_attempts() -> u32 {
    running().previous
}

fn running() -> Running {
    crate::local::get(
        &RUNNING,
        Running {
            previous: 0,
            outer_retries: false,
        },
    )
}

/// Whether the code runs inside the attempt of a retry loop whose policy
/// says [`Nested::Once`](super::Nested::Once): then a retry loop here makes
/// one attempt and leaves retrying to that outer loop.
pub(crate) fn outer_retries() -> bool {
    running().outer_retries
}

pin_project! {
    /// An attempt future that reports its number while polled.
    ///
    /// Every attempt sets the number, the first one (0) included: a retry
    /// loop nested in another numbers its own attempts, so a call retried
    /// inside an outer retry starts again from "no previous attempt";
    /// unless the outer loop's policy says [`Nested::Once`](super::Nested::Once),
    /// and then the outer loop's number stands.
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
pub fn attempt<F: Future>(previous: u32, once_inside: bool, inner: F) -> Attempt<F> {
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
        let own = Running {
            previous: *this.previous,
            outer_retries: *this.once_inside,
        };
        let merge = |outer: Running| if outer.outer_retries { outer } else { own };
        crate::local::with_merged(&RUNNING, merge, || this.inner.poll(cx))
    }
}
