//! Flow control: how many calls may start per unit of time
//! ([`RateLimiter`], Sentinel's QPS flow rule, resilience4j's RateLimiter,
//! governor), and how many may be in flight at once ([`ConcurrencyLimit`],
//! a bulkhead: resilience4j's Bulkhead, Sentinel's thread-count rule).
//!
//! Both are `const`-constructible, so that a limit can be a `static` that
//! many functions name, or a field that a client's clones share in an
//! `Arc`; both change while running (`set_rate`, `set_max`), taking effect
//! at the next call. A call they refuse fails at once with [`Limited`],
//! which says which limit refused it and when to try again; it converts
//! into `tonic::Status` `RESOURCE_EXHAUSTED` carrying that time as
//! `grpc-retry-pushback-ms` (feature `tonic`), and into
//! [`std::io::Error`]. With a queue, a call waits for its turn instead, up
//! to the queue's bound and never past the current deadline
//! ([`deadline::current`](crate::deadline::current)): a call that could only
//! start after its deadline is refused at once.
//!
//! With feature `redis`, `RateLimiter::cluster` shares one limit among
//! every replica of a service through Redis (`Cluster`, `Unreachable`),
//! and [`register`] names a limiter for the generated clients whose proto
//! options ask for it (`rate_limit { shared: "orders" }`).
//!
//! Time is the CPU's time-stamp counter (about half the cost of a
//! monotonic clock reading); with feature `test-util`, tokio's clock, so
//! that a paused clock drives limits in tests (as breakers and budgets).
//!
//! Every refusal is an `INFO` event (target `steadfast`, the limit's name);
//! with feature `opentelemetry`, the counter `steadfast.limit.refusals` (by
//! `limit` and `kind`) and the histogram `steadfast.limit.queue_wait` (the
//! seconds an admitted call waited in a queue) beside the breaker's.
//!
//! ```
//! use std::time::Duration;
//! use steadfast::{ConcurrencyLimit, RateLimiter};
//!
//! static ORDERS: RateLimiter = RateLimiter::per_second(50).burst(10);
//! static DB: ConcurrencyLimit = ConcurrencyLimit::new(32).queue(Duration::from_millis(100));
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! for _ in 0..10 {
//!     ORDERS.try_acquire().unwrap(); // the burst: ten at once
//! }
//! let refused = ORDERS.try_acquire().unwrap_err();
//! assert_eq!(refused.retry_after(), Some(Duration::from_millis(20))); // one every 20 ms
//!
//! let permit = DB.acquire().await.unwrap(); // one of 32 places, until dropped
//! assert_eq!(DB.in_flight(), 1);
//! drop(permit);
//! # }
//! ```

mod adaptive;
#[cfg(feature = "redis")]
mod cluster;
mod concurrency;
mod keyed;
mod limited;
#[cfg(feature = "opentelemetry")]
mod metrics;
mod rate;
pub(crate) mod registry;
mod warm_up;

pub use adaptive::AdaptiveLimit;
#[cfg(feature = "redis")]
pub use cluster::{Cluster, Unreachable};
pub use concurrency::{ConcurrencyLimit, ConcurrencyPermit};
pub use keyed::KeyedRateLimiter;
pub use limited::{LimitError, Limited, Which};
pub use rate::RateLimiter;
pub use registry::{register, registered};

/// A limit refused a call: its event, and its metric.
#[allow(unused_variables)]
fn refused(which: Which, name: &'static str) {
    crate::trace::event!(limit = name, kind = which.as_str(), "refused by a limit");
    #[cfg(feature = "opentelemetry")]
    metrics::refused(which, name);
}

/// A call of `key` refused by a keyed limit: the event names the key, the
/// metric does not (one series per key would be unbounded).
#[allow(unused_variables)]
fn refused_key(which: Which, name: &'static str, key: &dyn std::fmt::Debug) {
    crate::trace::event!(limit = name, kind = which.as_str(), key = ?key, "refused by a limit");
    #[cfg(feature = "opentelemetry")]
    metrics::refused(which, name);
}

/// A call waited `wait` in a limit's queue and was admitted.
#[allow(unused_variables)]
fn waited(which: Which, name: &'static str, wait: std::time::Duration) {
    #[cfg(feature = "opentelemetry")]
    metrics::waited(which, name, wait);
}
