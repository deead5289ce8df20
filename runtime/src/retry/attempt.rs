//! Which attempt of a retried call is running, for code that needs to know
//! (the gRPC glue sends it as `grpc-previous-rpc-attempts`), and whether
//! the attempt that just failed had been committed (gRPC A6: a call whose
//! response had started is the caller's, and is not retried).

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

/// What the attempt being polled knows of itself, in one cell so that an
/// attempt's poll sets both with the one write it makes anyway.
#[derive(Debug, Clone, Copy)]
struct Current {
    /// Attempts of the current call before the one being polled.
    previous: u32,
    /// A committed call failed in this task poll: set only on that failure
    /// path, cleared as every attempt's poll begins, kept when the poll
    /// ends (only the number is put back), and read by the retry loop in
    /// the same task poll as the failure (the error goes up to it without
    /// an await), so no other task's word is taken for its own.
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

/// Says that a call whose response had started (headers without a
/// status) has failed: the retry loop the failure reaches in this task poll
/// does not retry it. What the response guard calls on such a failure.
#[cfg(feature = "tonic")]
pub(crate) fn commit() {
    let _ = CURRENT.try_with(|cell| {
        cell.set(Current {
            committed: true,
            ..cell.get()
        });
    });
}

/// Whether the attempt that just failed was committed, and forgets it.
pub(crate) fn take_committed() -> bool {
    CURRENT
        .try_with(|cell| {
            let current = cell.get();
            cell.set(Current {
                committed: false,
                ..current
            });
            current.committed
        })
        .unwrap_or(false)
}

/// Runs `poll` as the attempt that `previous` attempts came before: the
/// number set and the commit flag cleared in one write, the outer number
/// put back after (on unwind too) and the flag left for the retry loop.
/// Also what runs the send of an attempt made before it is polled.
#[inline(always)]
pub(crate) fn numbered<R>(previous: u32, poll: impl FnOnce() -> R) -> R {
    struct Restore(u32);

    impl Drop for Restore {
        #[inline]
        fn drop(&mut self) {
            let _ = CURRENT.try_with(|cell| {
                cell.set(Current {
                    previous: self.0,
                    ..cell.get()
                });
            });
        }
    }

    let current = Current {
        previous,
        committed: false,
    };
    match CURRENT.try_with(|cell| cell.replace(current).previous) {
        Ok(outer) => {
            let _restore = Restore(outer);
            poll()
        }
        Err(_) => poll(),
    }
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

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let previous = *this.previous;
        if *this.once_inside {
            let deeper = |depth: u32| depth.saturating_add(1);
            return crate::local::with_merged(&ONCE_DEPTH, deeper, || {
                numbered(previous, || this.inner.poll(cx))
            });
        }
        numbered(previous, || this.inner.poll(cx))
    }
}
