//! gRPC A66/A96 client metrics of generated clients (feature
//! `opentelemetry`): the instruments, named, united and bucketed as the
//! gRFCs say, and what one call records. Without the feature, the same
//! calls compile to nothing.

#[cfg(not(feature = "opentelemetry"))]
use std::time::Duration;

#[cfg(not(feature = "opentelemetry"))]
use ::tonic::Status;

use std::sync::Arc;

/// The `grpc.target` a generated client's metrics carry: the URI it was
/// connected to (`connect(dst)`, `with_origin`), or gRPC A66's `"other"`
/// for a client made on a channel whose target it cannot see (`new`,
/// `from`). Kept by feature `opentelemetry`; without it, never read.
#[derive(Debug, Clone, Default)]
pub struct Target(Option<Arc<str>>);

impl Target {
    /// `"other"`.
    pub const OTHER: Target = Target(None);

    /// The target `uri` names.
    pub fn of(uri: &impl std::fmt::Display) -> Self {
        Target(Some(Arc::from(uri.to_string())))
    }

    /// The attribute's value.
    pub fn as_str(&self) -> &str {
        self.0.as_deref().unwrap_or("other")
    }
}

#[cfg(feature = "opentelemetry")]
mod record {
    use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
    use std::sync::{Arc, OnceLock};
    use std::time::{Duration, Instant};

    use ::tonic::{Code, Status};
    use opentelemetry::metrics::{Counter, Histogram};
    use opentelemetry::{KeyValue, StringValue};

    use super::Target;

    /// gRPC A66's latency buckets, in seconds.
    pub(super) const LATENCY_BUCKETS: [f64; 41] = [
        0.0, 0.00001, 0.00005, 0.0001, 0.0003, 0.0006, 0.0008, 0.001, 0.002, 0.003, 0.004, 0.005,
        0.006, 0.008, 0.01, 0.013, 0.016, 0.02, 0.025, 0.03, 0.04, 0.05, 0.065, 0.08, 0.1, 0.13,
        0.16, 0.2, 0.25, 0.3, 0.4, 0.5, 0.65, 0.8, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0,
    ];

    /// gRPC A96's buckets for retries and hedges per call.
    pub(super) const COUNT_BUCKETS: [f64; 5] = [1.0, 2.0, 3.0, 4.0, 5.0];

    struct Instruments {
        attempt_started: Counter<u64>,
        attempt_duration: Histogram<f64>,
        call_duration: Histogram<f64>,
        call_retries: Histogram<u64>,
        call_hedges: Histogram<u64>,
        retry_delay: Histogram<f64>,
    }

    /// Made on first use from opentelemetry's global meter provider: set it
    /// before the first call.
    fn instruments() -> &'static Instruments {
        static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();
        INSTRUMENTS.get_or_init(|| {
            let meter = opentelemetry::global::meter("steadfast");
            let latency = |name: &'static str, description: &'static str| {
                meter
                    .f64_histogram(name)
                    .with_unit("s")
                    .with_description(description)
                    .with_boundaries(LATENCY_BUCKETS.to_vec())
                    .build()
            };
            let count = |name: &'static str, unit: &'static str, description: &'static str| {
                meter
                    .u64_histogram(name)
                    .with_unit(unit)
                    .with_description(description)
                    .with_boundaries(COUNT_BUCKETS.to_vec())
                    .build()
            };
            Instruments {
                attempt_started: meter
                    .u64_counter("grpc.client.attempt.started")
                    .with_unit("{attempt}")
                    .with_description("Number of client call attempts started.")
                    .build(),
                attempt_duration: latency(
                    "grpc.client.attempt.duration",
                    "End-to-end time taken to complete a client call attempt.",
                ),
                call_duration: latency(
                    "grpc.client.call.duration",
                    "Time taken by gRPC to complete an RPC from application's perspective.",
                ),
                call_retries: count(
                    "grpc.client.call.retries",
                    "{retry}",
                    "Number of retries during the client call. If there were no retries, 0 is not reported.",
                ),
                call_hedges: count(
                    "grpc.client.call.hedges",
                    "{hedge}",
                    "Number of hedges during the client call. If there were no hedges, 0 is not reported.",
                ),
                retry_delay: meter
                    .f64_histogram("grpc.client.call.retry_delay")
                    .with_unit("s")
                    .with_description("Total time of delay while there is no active attempt during the client call.")
                    .with_boundaries(LATENCY_BUCKETS.to_vec())
                    .build(),
            }
        })
    }

    fn status_name<T>(result: &Result<T, Status>) -> &'static str {
        code_name(match result {
            Ok(_) => Code::Ok,
            Err(status) => crate::tonic::effective_code(status),
        })
    }

    fn code_name(code: Code) -> &'static str {
        match code {
            Code::Ok => "OK",
            Code::Cancelled => "CANCELLED",
            Code::Unknown => "UNKNOWN",
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Code::NotFound => "NOT_FOUND",
            Code::AlreadyExists => "ALREADY_EXISTS",
            Code::PermissionDenied => "PERMISSION_DENIED",
            Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Code::FailedPrecondition => "FAILED_PRECONDITION",
            Code::Aborted => "ABORTED",
            Code::OutOfRange => "OUT_OF_RANGE",
            Code::Unimplemented => "UNIMPLEMENTED",
            Code::Internal => "INTERNAL",
            Code::Unavailable => "UNAVAILABLE",
            Code::DataLoss => "DATA_LOSS",
            Code::Unauthenticated => "UNAUTHENTICATED",
        }
    }

    /// What one call records.
    #[derive(Debug)]
    pub struct CallStats {
        method: StringValue,
        target: StringValue,
        hedged: bool,
        started: Instant,
        attempts: AtomicU32,
        delay_nanos: AtomicU64,
    }

    impl CallStats {
        /// A call to `method` (`package.Service/Method`) starts.
        pub fn start(method: &'static str, hedged: bool, target: &Target) -> Self {
            Self::named(StringValue::from(method), hedged, target)
        }

        /// A call to `method` (`package.Service/Method`) known at run time.
        pub fn start_owned(method: &str, hedged: bool, target: &Target) -> Self {
            Self::named(StringValue::from(Arc::<str>::from(method)), hedged, target)
        }

        fn named(method: StringValue, hedged: bool, target: &Target) -> Self {
            let target = match &target.0 {
                Some(uri) => StringValue::from(Arc::clone(uri)),
                None => StringValue::from("other"),
            };
            Self {
                method,
                target,
                hedged,
                started: Instant::now(),
                attempts: AtomicU32::new(0),
                delay_nanos: AtomicU64::new(0),
            }
        }

        fn attributes(&self) -> [KeyValue; 2] {
            [
                KeyValue::new("grpc.method", self.method.clone()),
                KeyValue::new("grpc.target", self.target.clone()),
            ]
        }

        /// An attempt of the call starts.
        pub fn attempt(&self) -> AttemptStats<'_> {
            AttemptStats {
                call: self,
                start: Some(self.start_attempt()),
            }
        }

        /// An attempt of the call starts, its record kept by whoever keeps
        /// the call's (a future that owns both), and ended through it.
        pub(crate) fn start_attempt(&self) -> AttemptStart {
            self.attempts.fetch_add(1, Relaxed);
            instruments().attempt_started.add(1, &self.attributes());
            AttemptStart {
                started: Instant::now(),
            }
        }

        /// The attempt `start` began ended with `code`.
        pub(crate) fn end_attempt(&self, start: AttemptStart, code: Code) {
            self.record_attempt(start, code_name(code));
        }

        /// The attempt `start` began was dropped before it ended (a hedge
        /// that lost, an attempt whose time ran out).
        pub(crate) fn cancel_attempt(&self, start: AttemptStart) {
            self.record_attempt(start, "CANCELLED");
        }

        fn record_attempt(&self, start: AttemptStart, status: &'static str) {
            let [method, target] = self.attributes();
            instruments().attempt_duration.record(
                start.started.elapsed().as_secs_f64(),
                &[method, target, KeyValue::new("grpc.status", status)],
            );
        }

        /// The call waited `delay` with no attempt running.
        pub fn delayed(&self, delay: Duration) {
            let nanos = u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX);
            self.delay_nanos.fetch_add(nanos, Relaxed);
        }

        /// The call ended with `result`.
        pub fn finish<T>(&self, result: &Result<T, Status>) {
            self.finish_as(status_name(result));
        }

        /// The call ended with `code`.
        pub fn finish_code(&self, code: Code) {
            self.finish_as(code_name(code));
        }

        fn finish_as(&self, status: &'static str) {
            let [method, target] = self.attributes();
            let with_status = [
                method.clone(),
                target.clone(),
                KeyValue::new("grpc.status", status),
            ];
            let instruments = instruments();
            instruments
                .call_duration
                .record(self.started.elapsed().as_secs_f64(), &with_status);
            let more = u64::from(self.attempts.load(Relaxed).saturating_sub(1));
            if more > 0 {
                let attributes = [method, target];
                if self.hedged {
                    instruments.call_hedges.record(more, &attributes);
                } else {
                    instruments.call_retries.record(more, &attributes);
                    let delay = Duration::from_nanos(self.delay_nanos.load(Relaxed));
                    instruments
                        .retry_delay
                        .record(delay.as_secs_f64(), &attributes);
                }
            }
        }
    }

    /// When an attempt began: what [`CallStats::start_attempt`] gives and
    /// [`CallStats::end_attempt`] takes.
    #[derive(Debug)]
    pub(crate) struct AttemptStart {
        started: Instant,
    }

    /// One attempt: its duration is recorded when it ends, with its status,
    /// or `CANCELLED` when its future is dropped first (a hedge that lost,
    /// an attempt whose time ran out).
    #[derive(Debug)]
    pub struct AttemptStats<'a> {
        call: &'a CallStats,
        start: Option<AttemptStart>,
    }

    impl AttemptStats<'_> {
        /// The attempt ended with `result`.
        pub fn end<T>(mut self, result: &Result<T, Status>) {
            if let Some(start) = self.start.take() {
                self.call.record_attempt(start, status_name(result));
            }
        }

        /// The attempt ended with `code`.
        pub fn end_code(mut self, code: Code) {
            if let Some(start) = self.start.take() {
                self.call.end_attempt(start, code);
            }
        }
    }

    impl Drop for AttemptStats<'_> {
        fn drop(&mut self) {
            if let Some(start) = self.start.take() {
                self.call.cancel_attempt(start);
            }
        }
    }
}

#[cfg(feature = "opentelemetry")]
pub(crate) use record::AttemptStart;
#[cfg(feature = "opentelemetry")]
pub use record::{AttemptStats, CallStats};

/// What one call records: nothing, without feature `opentelemetry`.
#[cfg(not(feature = "opentelemetry"))]
#[derive(Debug)]
pub struct CallStats;

/// One attempt's record: nothing, without feature `opentelemetry` (its
/// lifetime is the call's record's, as with the feature).
#[cfg(not(feature = "opentelemetry"))]
#[derive(Debug)]
pub struct AttemptStats<'a>(std::marker::PhantomData<&'a CallStats>);

#[cfg(not(feature = "opentelemetry"))]
impl CallStats {
    /// Nothing.
    #[inline(always)]
    pub fn start(_method: &'static str, _hedged: bool, _target: &Target) -> Self {
        Self
    }
    /// Nothing.
    #[inline(always)]
    pub fn start_owned(_method: &str, _hedged: bool, _target: &Target) -> Self {
        Self
    }
    /// Nothing.
    #[inline(always)]
    pub fn finish_code(&self, _code: ::tonic::Code) {}
    /// Nothing.
    #[inline(always)]
    pub fn attempt(&self) -> AttemptStats<'_> {
        AttemptStats(std::marker::PhantomData)
    }
    /// Nothing.
    #[inline(always)]
    pub fn delayed(&self, _delay: Duration) {}
    /// Nothing.
    #[inline(always)]
    pub fn finish<T>(&self, _result: &Result<T, Status>) {}
}

/// When an attempt began: nothing, without feature `opentelemetry`.
#[cfg(not(feature = "opentelemetry"))]
#[derive(Debug)]
pub(crate) struct AttemptStart;

#[cfg(not(feature = "opentelemetry"))]
impl CallStats {
    /// Nothing.
    #[inline(always)]
    pub(crate) fn start_attempt(&self) -> AttemptStart {
        AttemptStart
    }
    /// Nothing.
    #[inline(always)]
    pub(crate) fn end_attempt(&self, _start: AttemptStart, _code: ::tonic::Code) {}
    /// Nothing.
    #[inline(always)]
    pub(crate) fn cancel_attempt(&self, _start: AttemptStart) {}
}

#[cfg(not(feature = "opentelemetry"))]
impl AttemptStats<'_> {
    /// Nothing.
    #[inline(always)]
    pub fn end<T>(self, _result: &Result<T, Status>) {}
    /// Nothing.
    #[inline(always)]
    pub fn end_code(self, _code: ::tonic::Code) {}
}
