//! Which attempt of a retried call is running, for code that needs to know
//! (the gRPC glue sends it as `grpc-previous-rpc-attempts`), and whether
//! the call it makes has been committed (gRPC A6: once a response has
//! started, the call is the caller's and is not retried).

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

/// What the attempt being polled knows of itself: one cell, so that an
/// attempt sets both with one thread-local write.
#[derive(Debug, Clone, Copy)]
struct Current {
    /// Attempts of the current call before the one being polled.
    previous: u32,
    /// The call this attempt makes was committed while it was polled.
    committed: bool,
}

const OUTSIDE: Current = Current {
    previous: 0,
    committed: false,
};

thread_local! {
    static CURRENT: Cell<Current> = const { Cell::new(OUTSIDE) };
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
    crate::local::get(&CURRENT, OUTSIDE).previous
}

/// Says that the call the running attempt makes is committed: its response
/// has started (headers without a status), so a failure that follows is the
/// caller's and is not retried (gRPC A6). What a transport that reads the
/// response itself calls; outside an attempt, nothing.
pub(crate) fn commit() {
    let _ = CURRENT.try_with(|cell| {
        cell.set(Current {
            committed: true,
            ..cell.get()
        });
    });
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
    /// A commit reported while it is polled is stored in `committed`,
    /// the retry state's flag (atomic so that the caller's future stays
    /// `Send` while it lends it).
    #[doc(hidden)]
    #[derive(Debug)]
    pub struct Attempt<'s, F> {
        previous: u32,
        once_inside: bool,
        committed: Option<&'s AtomicBool>,
        #[pin]
        inner: F,
    }
}

/// Wraps the attempt that `previous` attempts came before; `once_inside`:
/// retry loops inside it make one attempt each; `committed`: where to say
/// that its call was committed (none for a hedge's attempts: hedging is
/// for unary calls, committed only by their answer).
#[doc(hidden)]
#[inline]
pub(crate) fn attempt<F: Future>(
    previous: u32,
    once_inside: bool,
    committed: Option<&AtomicBool>,
    inner: F,
) -> Attempt<'_, F> {
    Attempt {
        previous,
        once_inside,
        committed,
        inner,
    }
}

impl<F: Future> Future for Attempt<'_, F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let current = Current {
            previous: *this.previous,
            committed: false,
        };
        let committed = *this.committed;
        let inner = this.inner;
        let run = move || {
            let poll = inner.poll(cx);
            if let Some(flag) = committed {
                if crate::local::get(&CURRENT, OUTSIDE).committed {
                    flag.store(true, Relaxed);
                }
            }
            poll
        };
        if *this.once_inside {
            let deeper = |depth: u32| depth.saturating_add(1);
            return crate::local::with_merged(&ONCE_DEPTH, deeper, || {
                crate::local::with(&CURRENT, current, run)
            });
        }
        crate::local::with(&CURRENT, current, run)
    }
}
