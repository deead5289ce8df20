//! [`ConcurrencyLimit`]: a bulkhead, on tokio's semaphore.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

use super::adaptive::Controller;
use super::limited::{LimitError, Limited, Which};
use crate::{clock, deadline};

/// How many calls may be in flight at once: a bulkhead. A call takes a
/// place ([`ConcurrencyPermit`]) for as long as it runs; a permit dropped
/// (the call done, or its future dropped) frees its place for the next.
///
/// Without a queue a call finds a place at once or is refused; with
/// [`queue`](Self::queue) it waits for one, first come first served, up to
/// the queue's bound and never past the current deadline.
///
/// `const`, so that it can be a `static`; [`set_max`](Self::set_max)
/// changes it while running.
///
/// ```
/// use std::time::Duration;
/// use steadfast::ConcurrencyLimit;
///
/// static DB: ConcurrencyLimit = ConcurrencyLimit::new(2).named("db");
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let a = DB.acquire().await.unwrap();
/// let b = DB.acquire().await.unwrap();
/// assert_eq!(DB.acquire().await.unwrap_err().to_string(), "concurrency limit `db` reached");
/// drop(a);
/// assert!(DB.try_acquire().is_ok());
/// # drop(b);
/// # }
/// ```
#[derive(Debug)]
pub struct ConcurrencyLimit {
    name: &'static str,
    places: Semaphore,
    max: AtomicUsize,
    /// Places taken away by `set_max` while in use: forgotten as their
    /// permits come back.
    owed: AtomicUsize,
    /// One `set_max` at a time.
    resizing: Mutex<()>,
    queue: Duration,
    /// An adaptive limit's algorithm ([`AdaptiveLimit`](super::AdaptiveLimit)),
    /// told each call's latency when its place comes back.
    adaptive: Option<Controller>,
}

impl ConcurrencyLimit {
    /// The most places a limit can have: tokio's semaphore's.
    pub const MAX: usize = Semaphore::MAX_PERMITS;

    /// At most `max` calls in flight.
    ///
    /// # Panics
    ///
    /// When `max` is 0 or above [`MAX`](Self::MAX) (in a `static`, a
    /// compile error); see [`try_new`](Self::try_new).
    ///
    /// ```
    /// static DB: steadfast::ConcurrencyLimit = steadfast::ConcurrencyLimit::new(32);
    /// assert_eq!(DB.max(), 32);
    /// ```
    pub const fn new(max: usize) -> Self {
        assert!(max > 0, "a concurrency limit admits at least one call");
        assert!(
            max <= Self::MAX,
            "a concurrency limit admits at most ConcurrencyLimit::MAX calls"
        );
        Self {
            name: "",
            places: Semaphore::const_new(max),
            max: AtomicUsize::new(max),
            owed: AtomicUsize::new(0),
            resizing: Mutex::new(()),
            queue: Duration::ZERO,
            adaptive: None,
        }
    }

    /// This limit, its `max` following `controller`.
    pub(super) const fn adaptive(self, controller: Controller) -> Self {
        Self {
            adaptive: Some(controller),
            ..self
        }
    }

    /// An adaptive limit started again at `initial` places, kept between
    /// `min` and `max`.
    pub(super) const fn rebound(self, min: usize, initial: usize, max: usize) -> Self {
        let Self {
            name,
            queue,
            adaptive,
            ..
        } = self;
        let adaptive = match adaptive {
            Some(controller) => Some(controller.rebound(min, initial, max)),
            None => None,
        };
        Self {
            name,
            queue,
            adaptive,
            ..Self::new(initial)
        }
    }

    /// [`new`](Self::new), checked.
    ///
    /// # Errors
    ///
    /// When `max` is 0 or above [`MAX`](Self::MAX).
    ///
    /// ```
    /// let error = steadfast::ConcurrencyLimit::try_new(0).unwrap_err();
    /// assert_eq!(error.to_string(), "a concurrency limit admits at least one call, not 0");
    /// ```
    pub fn try_new(max: usize) -> Result<Self, LimitError> {
        check_max(max)?;
        Ok(Self::new(max))
    }

    /// Lets a call wait up to `max_wait` for a place (never past the
    /// current deadline) instead of refusing it at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// let limit = steadfast::ConcurrencyLimit::new(4).queue(Duration::from_millis(100));
    /// assert_eq!(limit.max_wait(), Duration::from_millis(100));
    /// ```
    #[must_use]
    pub const fn queue(self, max_wait: Duration) -> Self {
        Self {
            queue: max_wait,
            ..self
        }
    }

    /// Names the limit in its refusals ([`Limited::name`]) and events.
    ///
    /// ```
    /// assert_eq!(steadfast::ConcurrencyLimit::new(1).named("db").name(), "db");
    /// ```
    #[must_use]
    pub const fn named(self, name: &'static str) -> Self {
        Self { name, ..self }
    }

    /// The limit's name, `""` when it has none.
    ///
    /// ```
    /// assert_eq!(steadfast::ConcurrencyLimit::new(1).name(), "");
    /// ```
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The longest a call waits for a place.
    ///
    /// ```
    /// assert!(steadfast::ConcurrencyLimit::new(1).max_wait().is_zero());
    /// ```
    pub const fn max_wait(&self) -> Duration {
        self.queue
    }

    /// The calls admitted at once.
    ///
    /// ```
    /// assert_eq!(steadfast::ConcurrencyLimit::new(3).max(), 3);
    /// ```
    pub fn max(&self) -> usize {
        self.max.load(Ordering::Relaxed)
    }

    /// The calls in flight now (more than [`max`](Self::max) for a while
    /// after it was lowered under them).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let limit = steadfast::ConcurrencyLimit::new(3);
    /// let _permit = limit.try_acquire().unwrap();
    /// assert_eq!(limit.in_flight(), 1);
    /// # }
    /// ```
    pub fn in_flight(&self) -> usize {
        let _resizing = self.resizing.lock();
        let places = self.max().saturating_add(self.owed.load(Ordering::Relaxed));
        places.saturating_sub(self.places.available_permits())
    }

    /// Changes the calls admitted at once, from the next call on; calls in
    /// flight above a lowered limit finish, and their places go.
    ///
    /// # Errors
    ///
    /// When `max` is 0 or above [`MAX`](Self::MAX); the limit is unchanged.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let limit = steadfast::ConcurrencyLimit::new(2);
    /// let (a, b) = (limit.try_acquire().unwrap(), limit.try_acquire().unwrap());
    /// limit.set_max(1).unwrap();
    /// drop(a);
    /// assert!(limit.try_acquire().is_err(), "still one in flight: the limit is 1");
    /// drop(b);
    /// assert!(limit.try_acquire().is_ok());
    /// # }
    /// ```
    pub fn set_max(&self, max: usize) -> Result<(), LimitError> {
        check_max(max)?;
        let _resizing = self
            .resizing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let old = self.max.swap(max, Ordering::Relaxed);
        if max > old {
            let mut more = max - old;
            // Places owed first: they are still out, and now stay.
            let owed = self.owed.load(Ordering::Relaxed);
            let kept = owed.min(more);
            self.owed.fetch_sub(kept, Ordering::Relaxed);
            more -= kept;
            self.places.add_permits(more);
        } else {
            let fewer = old - max;
            let taken = self.places.forget_permits(fewer);
            self.owed.fetch_add(fewer - taken, Ordering::Relaxed);
        }
        Ok(())
    }

    /// A place now, or a refusal at once (whatever the queue).
    ///
    /// # Errors
    ///
    /// [`Limited`] when every place is taken.
    ///
    /// ```
    /// let limit = steadfast::ConcurrencyLimit::new(1);
    /// let permit = limit.try_acquire().unwrap();
    /// assert!(limit.try_acquire().is_err());
    /// # drop(permit);
    /// ```
    pub fn try_acquire(&self) -> Result<ConcurrencyPermit<'_>, Limited> {
        self.take_place()?;
        Ok(self.guard())
    }

    /// A place, after waiting for one when the limit has a
    /// [`queue`](Self::queue), within it and before the current deadline.
    ///
    /// # Errors
    ///
    /// [`Limited`] when no place came in time.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let limit = steadfast::ConcurrencyLimit::new(1).queue(Duration::from_millis(100));
    /// let permit = limit.acquire().await.unwrap();
    /// let (waited, _) = tokio::join!(limit.acquire(), async {
    ///     tokio::time::sleep(Duration::from_millis(30)).await;
    ///     drop(permit);
    /// });
    /// assert!(waited.is_ok(), "a place freed 30 ms later, within the queue's 100 ms");
    /// # }
    /// ```
    pub async fn acquire(&self) -> Result<ConcurrencyPermit<'_>, Limited> {
        if let Ok(permit) = self.places.try_acquire() {
            return Ok(self.permit(permit));
        }
        let mut wait = self.queue;
        if let Some(deadline) = deadline::current() {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            wait = wait.min(left);
        }
        if wait.is_zero() {
            return Err(self.refused());
        }
        crate::trace::event!(limit = self.name, "waiting for the concurrency limit");
        let start = tokio::time::Instant::now();
        match tokio::time::timeout(wait, self.places.acquire()).await {
            Ok(Ok(permit)) => {
                super::waited(Which::Concurrency, self.name, start.elapsed());
                Ok(self.permit(permit))
            }
            // Timed out (the semaphore is never closed).
            _ => Err(self.refused()),
        }
    }

    fn permit<'a>(&'a self, permit: SemaphorePermit<'a>) -> ConcurrencyPermit<'a> {
        permit.forget();
        self.guard()
    }

    /// The guard of a place just taken, which gives it back when dropped.
    fn guard(&self) -> ConcurrencyPermit<'_> {
        ConcurrencyPermit {
            limit: self,
            since: if self.adaptive.is_some() {
                Some(clock::now())
            } else {
                None
            },
            held: true,
        }
    }

    /// A place now, without a guard, or a refusal at once: under
    /// [`try_acquire`](Self::try_acquire)'s guard, or held by a holder that
    /// keeps its own record of its places (the server's `LimitLayer`) and
    /// gives each back with [`give_back`](Self::give_back).
    pub(crate) fn take_place(&self) -> Result<(), Limited> {
        match self.places.try_acquire() {
            Ok(permit) => {
                permit.forget();
                Ok(())
            }
            Err(_) => Err(self.refused()),
        }
    }

    /// Gives back a place held for `held`, which an adaptive limit takes
    /// as one sample; `None`: a place the call never used (its request
    /// refused by a later limit), no sample.
    pub(crate) fn give_back(&self, held: Option<Duration>) {
        let sample = match (&self.adaptive, held) {
            (Some(_), Some(held)) => {
                let in_flight = self.max().saturating_sub(self.places.available_permits());
                Some((held, in_flight))
            }
            _ => None,
        };
        // A place the limit was lowered under goes, rather than come back.
        let paid = self
            .owed
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok();
        if !paid {
            self.places.add_permits(1);
        }
        if let Some((held, in_flight)) = sample {
            self.adapt(held, in_flight);
        }
    }

    /// An adaptive limit's sample: a call held its place for `held`, with
    /// `in_flight` calls admitted.
    fn adapt(&self, held: Duration, in_flight: usize) {
        let Some(controller) = &self.adaptive else {
            return;
        };
        let current = self.max();
        if let Some(next) = controller.sample(held, in_flight, current) {
            if self.set_max(next).is_ok() {
                crate::trace::detail!(
                    limit = self.name,
                    from = current,
                    to = next,
                    "adaptive limit changed"
                );
                #[cfg(feature = "opentelemetry")]
                super::metrics::adapted(self.name, next);
            }
        }
    }

    fn refused(&self) -> Limited {
        super::refused(Which::Concurrency, self.name);
        Limited::new(Which::Concurrency, self.name, None)
    }
}

/// A place in a [`ConcurrencyLimit`], held while the call runs; dropping it
/// frees the place.
///
/// ```
/// let limit = steadfast::ConcurrencyLimit::new(1);
/// let permit: steadfast::limit::ConcurrencyPermit<'_> = limit.try_acquire().unwrap();
/// drop(permit);
/// assert_eq!(limit.in_flight(), 0);
/// ```
#[derive(Debug)]
pub struct ConcurrencyPermit<'a> {
    limit: &'a ConcurrencyLimit,
    /// When the place was taken, on the crate's clock (an adaptive
    /// limit's only).
    since: Option<u64>,
    /// Whether it still holds its place.
    held: bool,
}

impl ConcurrencyPermit<'_> {
    /// Gives the place back as one the call never used: an adaptive
    /// limit takes no sample from it.
    #[cfg(feature = "tonic")]
    pub(crate) fn unused(mut self) {
        self.held = false;
        self.limit.give_back(None);
    }
}

impl Drop for ConcurrencyPermit<'_> {
    fn drop(&mut self) {
        if std::mem::take(&mut self.held) {
            let held = self
                .since
                .map(|since| Duration::from_nanos(clock::now().saturating_sub(since)));
            self.limit.give_back(held);
        }
    }
}

fn check_max(max: usize) -> Result<(), LimitError> {
    if max == 0 {
        return Err(LimitError(
            "a concurrency limit admits at least one call",
            ", not 0".to_owned(),
        ));
    }
    if max > ConcurrencyLimit::MAX {
        return Err(LimitError(
            "a concurrency limit admits at most ConcurrencyLimit::MAX calls",
            format!(", not {max}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_queued_call_is_refused_when_no_place_frees_before_the_deadline() {
        let limit = ConcurrencyLimit::new(1).queue(Duration::from_secs(10));
        let _held = limit.try_acquire().unwrap();
        let start = tokio::time::Instant::now();
        let waited = deadline::scope(Duration::from_millis(200), limit.acquire())
            .await
            .unwrap();
        assert_eq!(waited.unwrap_err().which(), Which::Concurrency);
        assert_eq!(start.elapsed(), Duration::from_millis(200));
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_waiting_call_whose_future_is_dropped_leaves_its_place_to_the_next() {
        let limit = ConcurrencyLimit::new(1).queue(Duration::from_secs(1));
        let held = limit.try_acquire().unwrap();
        // A waiter given up before a place freed.
        let gave_up = tokio::time::timeout(Duration::from_millis(10), limit.acquire()).await;
        assert!(gave_up.is_err());
        drop(held);
        let next = limit.try_acquire();
        assert!(next.is_ok());
        assert_eq!(limit.in_flight(), 1);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn raising_the_limit_keeps_places_owed_before_adding_new_ones() {
        let limit = ConcurrencyLimit::new(3);
        let permits: Vec<_> = (0..3).map(|_| limit.try_acquire().unwrap()).collect();
        limit.set_max(1).unwrap();
        assert_eq!(limit.in_flight(), 3);
        limit.set_max(2).unwrap();
        drop(permits);
        assert_eq!(limit.in_flight(), 0);
        let two: Vec<_> = (0..2).map(|_| limit.try_acquire().unwrap()).collect();
        assert!(limit.try_acquire().is_err(), "the limit is 2");
        drop(two);
    }

    #[test]
    fn bad_settings_are_errors_and_leave_the_limit_as_it_was() {
        let limit = ConcurrencyLimit::new(2);
        assert!(limit.set_max(0).is_err());
        assert!(limit.set_max(ConcurrencyLimit::MAX + 1).is_err());
        assert_eq!(limit.max(), 2);
        assert!(ConcurrencyLimit::try_new(ConcurrencyLimit::MAX + 1).is_err());
    }
}
