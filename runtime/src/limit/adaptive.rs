//! [`AdaptiveLimit`]: a concurrency limit that finds itself from the
//! latency of the calls it admits.
//!
//! The algorithms follow Envoy's adaptive concurrency filter (its
//! gradient controller) and Netflix's concurrency-limits (`VegasLimit`,
//! `AIMDLimit`); each call's place, when it is given back,
//! is one sample (its latency, and how many calls were in flight), and
//! the algorithm's new estimate becomes the limit's `max` (rounded, and
//! only when it changes: an event, and with `opentelemetry` the gauge
//! `steadfast.limit.adaptive`).

use std::sync::Mutex;
use std::time::Duration;

use super::concurrency::ConcurrencyLimit;

/// A [`ConcurrencyLimit`] whose limit follows the latency of its calls:
/// lower when they queue somewhere below (their latency rises above its
/// long-term level), higher again when they stop.
///
/// It is a `ConcurrencyLimit` (it dereferences to one): a `static` for
/// `#[concurrency_limit(PATH)]`, or a limit of
/// [`LimitLayer`](crate::tonic::LimitLayer) on a server.
///
/// - [`gradient`](Self::gradient): Envoy's adaptive concurrency filter
///   (Netflix's Gradient2 is the same idea): the limit follows the ratio of
///   the latency without load (measured every 5 s at 3 places) to the
///   latest, plus a queue allowance of √limit. Nothing to tune.
/// - [`vegas`](Self::vegas): TCP Vegas: the queue it estimates from the
///   lowest latency seen is kept between 3·log10(limit) and 6·log10(limit).
/// - [`aimd`](Self::aimd): one more place while calls fill the limit within
///   `timeout`, ×0.9 while they take longer.
///
/// ```
/// use std::time::Duration;
/// use steadfast::AdaptiveLimit;
///
/// static BACKEND: AdaptiveLimit = AdaptiveLimit::gradient().named("backend");
///
/// #[steadfast::concurrency_limit(BACKEND)]
/// async fn call_backend() -> Result<(), std::io::Error> {
///     tokio::time::sleep(Duration::from_millis(10)).await;
///     Ok(())
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// assert_eq!(BACKEND.max(), 20); // where it starts
/// call_backend().await.unwrap();
/// # }
/// ```
#[derive(Debug)]
pub struct AdaptiveLimit {
    limit: ConcurrencyLimit,
}

impl std::ops::Deref for AdaptiveLimit {
    type Target = ConcurrencyLimit;

    fn deref(&self) -> &ConcurrencyLimit {
        &self.limit
    }
}

/// Where an adaptive limit starts, Netflix's default.
const INITIAL: usize = 20;
/// The least and most it may reach, by default.
const MIN: usize = 1;
const MAX: usize = 1000;

impl AdaptiveLimit {
    /// The gradient of Envoy's adaptive concurrency filter (Netflix's
    /// Gradient2 is the same idea): every 100 ms,
    /// `next = limit × clamp(1.25 × lowest / latest, 0.5, 2)` and
    /// `new = next + √next`, where `latest` is the mean latency of the calls
    /// that finished since (at least 10) and `lowest` the latency measured
    /// without load: on start and every 5 s the limit drops to 3 places, and
    /// the 25th percentile of the next 50 calls admitted under it is it
    /// (calls admitted before, which may have queued below, are not
    /// samples). No growth while fewer than half the places are in use.
    /// Starts at 20, between 1 and 1000; nothing to tune.
    ///
    /// ```
    /// let limit = steadfast::AdaptiveLimit::gradient();
    /// assert_eq!(limit.max(), 20);
    /// ```
    pub const fn gradient() -> Self {
        Self::with(Algorithm::Gradient)
    }

    /// TCP Vegas: the calls queued below are estimated as
    /// `limit × (1 − lowest latency / latest)`; the limit grows while that is
    /// under 3·log10(limit) and shrinks above 6·log10(limit). Starts at 20,
    /// between 1 and 1000.
    ///
    /// ```
    /// assert_eq!(steadfast::AdaptiveLimit::vegas().max(), 20);
    /// ```
    pub const fn vegas() -> Self {
        Self::with(Algorithm::Vegas)
    }

    /// Additive increase, multiplicative decrease, every 100 ms: +1 when the
    /// calls that finished since took `timeout` or less on average while at
    /// least half the places were in use, ×0.9 when they took longer.
    /// Starts at 20, between 1 and 1000.
    ///
    /// ```
    /// use std::time::Duration;
    /// assert_eq!(steadfast::AdaptiveLimit::aimd(Duration::from_millis(100)).max(), 20);
    /// ```
    pub const fn aimd(timeout: Duration) -> Self {
        Self::with(Algorithm::Aimd { timeout })
    }

    const fn with(algorithm: Algorithm) -> Self {
        Self {
            limit: ConcurrencyLimit::new(INITIAL).adaptive(Controller {
                algorithm,
                min: MIN,
                max: MAX,
                state: Mutex::new(State::new(INITIAL)),
            }),
        }
    }

    /// Starts at `initial`, and stays between `min` and `max`.
    ///
    /// # Panics
    ///
    /// When `min` is 0, `min > max`, or `initial` is outside them (in a
    /// `static`, a compile error).
    ///
    /// ```
    /// let limit = steadfast::AdaptiveLimit::gradient().bounds(4, 10, 64);
    /// assert_eq!(limit.max(), 10);
    /// ```
    #[must_use]
    pub const fn bounds(self, min: usize, initial: usize, max: usize) -> Self {
        assert!(min > 0, "an adaptive limit admits at least one call");
        assert!(min <= initial && initial <= max, "min <= initial <= max");
        assert!(
            max <= ConcurrencyLimit::MAX,
            "at most ConcurrencyLimit::MAX"
        );
        Self {
            limit: self.limit.rebound(min, initial, max),
        }
    }

    /// Names the limit in its refusals, events and gauge.
    ///
    /// ```
    /// assert_eq!(steadfast::AdaptiveLimit::vegas().named("db").name(), "db");
    /// ```
    #[must_use]
    pub const fn named(self, name: &'static str) -> Self {
        Self {
            limit: self.limit.named(name),
        }
    }

    /// Lets a call wait up to `max_wait` for a place, as
    /// [`ConcurrencyLimit::queue`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let limit = steadfast::AdaptiveLimit::gradient().queue(Duration::from_millis(5));
    /// assert_eq!(limit.max_wait(), Duration::from_millis(5));
    /// ```
    #[must_use]
    pub const fn queue(self, max_wait: Duration) -> Self {
        Self {
            limit: self.limit.queue(max_wait),
        }
    }

    /// The limit as a [`ConcurrencyLimit`], to own where one is expected.
    ///
    /// ```
    /// let limit: steadfast::ConcurrencyLimit = steadfast::AdaptiveLimit::aimd(std::time::Duration::from_secs(1)).into_limit();
    /// assert_eq!(limit.max(), 20);
    /// ```
    pub const fn into_limit(self) -> ConcurrencyLimit {
        self.limit
    }
}

/// Which algorithm, with its settings.
#[derive(Debug, Clone, Copy)]
pub(super) enum Algorithm {
    Gradient,
    Vegas,
    Aimd { timeout: Duration },
}

/// An adaptive limit's algorithm and its state, inside the
/// `ConcurrencyLimit` whose places report to it.
#[derive(Debug)]
pub(super) struct Controller {
    algorithm: Algorithm,
    pub(super) min: usize,
    pub(super) max: usize,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The estimated limit, before rounding.
    estimate: f64,
    /// The samples of the window under way, weighed together (as Netflix's
    /// `WindowedLimit` does): one step a window, so that a burst of
    /// completions does not move the limit a burst of times.
    window: Window,
    /// Gradient: the latency without load (ns; 0 until measured).
    no_load: f64,
    /// Gradient: measuring it (the limit pinned low), and the limit to go
    /// back to; or when to measure it next (ns, the crate's clock).
    measuring: Option<Measuring>,
    next_measure: u64,
    /// Vegas: the lowest latency seen (ns).
    lowest: f64,
}

/// The latency without load being measured: the limit pinned at
/// `PINNED` places while `NO_LOAD_SAMPLES` calls admitted since `since`
/// finish (as Envoy's minimum-RTT epoch: a call admitted before, under the
/// higher limit, may have queued below, and is no sample of no load).
#[derive(Debug, Clone, Copy)]
struct Measuring {
    /// When it began (ns, the crate's clock).
    since: u64,
    back_to: f64,
    samples: [f64; NO_LOAD_SAMPLES],
    taken: usize,
}

const PINNED: usize = 3;
const NO_LOAD_SAMPLES: usize = 50;
const REMEASURE: u64 = 5_000_000_000;
const BUFFER: f64 = 1.25;

impl State {
    const fn new(initial: usize) -> Self {
        Self {
            estimate: initial as f64,
            window: Window::EMPTY,
            no_load: 0.0,
            measuring: None,
            next_measure: 0,
            lowest: f64::INFINITY,
        }
    }
}

/// Samples taken together for one step of the algorithm: at least
/// `WINDOW_SAMPLES`, over at least `WINDOW_TIME`.
#[derive(Debug, Clone, Copy)]
struct Window {
    /// When its first sample came (ns, the crate's clock).
    start: u64,
    samples: u32,
    /// The latencies' sum (ns).
    rtt_sum: f64,
    /// The most calls in flight it saw.
    in_flight: usize,
}

impl Window {
    const EMPTY: Self = Self {
        start: 0,
        samples: 0,
        rtt_sum: 0.0,
        in_flight: 0,
    };
}

const WINDOW_SAMPLES: u32 = 10;
const WINDOW_TIME: u64 = 100_000_000;

impl Controller {
    pub(super) const fn rebound(self, min: usize, initial: usize, max: usize) -> Self {
        Self {
            min,
            max,
            state: Mutex::new(State::new(initial)),
            ..self
        }
    }

    /// Gradient's measurement of the latency without load: starts one when
    /// it is due (the limit pinned at `PINNED`), takes `rtt` of a call
    /// admitted `rtt` ago into the one under way when the call was admitted
    /// after it began, and ends it with the 25th percentile. The pinned
    /// limit while one is under way (or just started); `None` otherwise.
    fn measure_no_load(&self, state: &mut State, rtt: f64) -> Option<usize> {
        let now = crate::clock::now();
        match &mut state.measuring {
            None if now >= state.next_measure => {
                state.measuring = Some(Measuring {
                    since: now,
                    back_to: state.estimate,
                    samples: [0.0; NO_LOAD_SAMPLES],
                    taken: 0,
                });
                state.window = Window::EMPTY;
                Some(PINNED.clamp(self.min, self.max))
            }
            None => None,
            Some(measuring) => {
                let admitted = now.saturating_sub(rtt as u64);
                if admitted < measuring.since {
                    return Some(PINNED.clamp(self.min, self.max));
                }
                measuring.samples[measuring.taken] = rtt;
                measuring.taken += 1;
                if measuring.taken < NO_LOAD_SAMPLES {
                    return Some(PINNED.clamp(self.min, self.max));
                }
                let mut samples = measuring.samples;
                samples.sort_by(f64::total_cmp);
                let back_to = measuring.back_to;
                state.no_load = samples[NO_LOAD_SAMPLES / 4];
                state.measuring = None;
                state.next_measure = now.saturating_add(REMEASURE);
                state.estimate = back_to;
                Some((back_to.round() as usize).clamp(self.min, self.max))
            }
        }
    }

    /// A call held its place for `latency` while `in_flight` calls (itself
    /// included) were admitted: the limit's new `max`, when it changes.
    pub(super) fn sample(
        &self,
        latency: Duration,
        in_flight: usize,
        current: usize,
    ) -> Option<usize> {
        let rtt = latency.as_nanos().max(1) as f64;
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Algorithm::Gradient = self.algorithm {
            if let Some(pinned) = self.measure_no_load(&mut state, rtt) {
                return (pinned != current).then_some(pinned);
            }
        }
        let limit = state.estimate;
        let windowed = {
            {
                let now = crate::clock::now();
                let window = &mut state.window;
                if window.samples == 0 {
                    window.start = now;
                }
                window.samples += 1;
                window.rtt_sum += rtt;
                window.in_flight = window.in_flight.max(in_flight);
                if window.samples < WINDOW_SAMPLES || now.saturating_sub(window.start) < WINDOW_TIME
                {
                    return None;
                }
                let taken = std::mem::replace(window, Window::EMPTY);
                (
                    taken.rtt_sum / f64::from(taken.samples),
                    taken.in_flight as f64,
                )
            }
        };
        let (rtt, in_flight) = windowed;
        let estimate = match self.algorithm {
            Algorithm::Gradient => gradient(&mut state, rtt, in_flight, limit),
            Algorithm::Vegas => vegas(&mut state, rtt, in_flight, limit),
            Algorithm::Aimd { timeout } => {
                if rtt > timeout.as_nanos() as f64 {
                    limit * 0.9
                } else if in_flight * 2.0 >= limit {
                    limit + 1.0
                } else {
                    limit
                }
            }
        };
        let estimate = estimate.clamp(self.min as f64, self.max as f64);
        state.estimate = estimate;
        let rounded = (estimate.round() as usize).clamp(self.min, self.max);
        (rounded != current).then_some(rounded)
    }
}

fn gradient(state: &mut State, rtt: f64, in_flight: f64, limit: f64) -> f64 {
    let gradient = (BUFFER * state.no_load / rtt).clamp(0.5, 2.0);
    // Not enough calls to say the limit could be higher.
    if gradient > 1.0 && in_flight < limit / 2.0 {
        return limit;
    }
    let next = limit * gradient;
    next + next.sqrt()
}

fn vegas(state: &mut State, rtt: f64, in_flight: f64, limit: f64) -> f64 {
    state.lowest = state.lowest.min(rtt);
    if in_flight * 2.0 < limit {
        return limit;
    }
    let log = limit.log10().max(1.0);
    let queued = (limit * (1.0 - state.lowest / rtt)).ceil();
    if queued <= log {
        limit + 6.0 * log
    } else if queued < 3.0 * log {
        limit + log
    } else if queued > 6.0 * log {
        limit - log
    } else {
        limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The gradient's no-load latency is measured on calls admitted after
    /// the limit was pinned: the calls still draining from the higher
    /// limit (queued below, slow) are not taken, however many there are.
    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn the_no_load_latency_is_measured_on_calls_admitted_after_the_limit_was_pinned() {
        let controller = Controller {
            algorithm: Algorithm::Gradient,
            min: 1,
            max: 1000,
            state: Mutex::new(State::new(200)),
        };
        let step = Duration::from_millis(1);
        // The first sample starts a measurement: the limit pinned at 3.
        assert_eq!(controller.sample(step, 1, 200), Some(PINNED));
        // 100 calls admitted before it (under 200 places) finish slowly.
        for _ in 0..100 {
            tokio::time::advance(step).await;
            assert_eq!(controller.sample(Duration::from_secs(1), 200, PINNED), None);
        }
        // Then 50 calls admitted since, at 10 ms each.
        let mut back = None;
        for _ in 0..NO_LOAD_SAMPLES {
            tokio::time::advance(Duration::from_millis(10)).await;
            back = controller.sample(Duration::from_millis(10), 3, PINNED);
        }
        assert_eq!(
            back,
            Some(200),
            "the measurement ended, the limit back where it was"
        );
        let no_load = controller.state.lock().unwrap().no_load;
        assert_eq!(no_load, Duration::from_millis(10).as_nanos() as f64);
    }
}
