//! One call under its method's policy: its timeout (`Bounded`), its
//! records (`CallRecord`), and what the caller gets of its attempts
//! (`Answer`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;

use http::{Request, Response};
use tonic::body::Body;
use tonic::{Code, Status};

use super::attempt::{result_code, Failure};
use super::spans;
use crate::tonic::guard::Guarded;
use crate::tonic::metrics::{CallStats, Target};
use crate::tonic::parse_timeout;
use crate::tonic::rule;
use crate::tonic::timeout::TIMEOUT_NAME;
use crate::trace::Span;

/// A call's own records: its span (its attempts' parent; not entered
/// around the call, its decisions enter it) and its gRPC A66/A96 metrics
/// (feature `opentelemetry`; the channel's target is not the layer's to
/// see: "other").
pub(super) struct CallRecord {
    pub(super) span: Span,
    pub(super) stats: CallStats,
}

impl CallRecord {
    /// A call to `path` starts.
    pub(super) fn start(path: &str, hedged: bool) -> Self {
        let method = path.trim_start_matches('/');
        Self {
            span: spans::call(path),
            stats: CallStats::start_owned(method, hedged, &Target::OTHER),
        }
    }

    /// The call ended: the caller gets `answer`.
    pub(super) fn finish<RB>(&self, answer: &Answer<RB>) {
        spans::record(&self.span, &answer.response);
        self.stats.finish_code(answer.code);
    }
}

/// The call's own timeout (`Request::set_timeout`, sent down as
/// `grpc-timeout`) and the config's: the shorter bounds the whole call,
/// retries included.
pub(super) fn call_timeout(config: Option<Duration>, request: &Request<Body>) -> Option<Duration> {
    let own = request
        .headers()
        .get(&TIMEOUT_NAME)
        .and_then(|value| parse_timeout(value.as_bytes()).ok());
    match (config, own) {
        (Some(config), Some(own)) => Some(config.min(own)),
        (config, own) => config.or(own),
    }
}

pin_project_lite::pin_project! {
    /// A call bounded by its timeout, when it has one: `DEADLINE_EXCEEDED`
    /// when the timeout runs out, or when the call failed at or after it
    /// with a code that reports a timeout (`rule::reports_timeout`: the
    /// server's copy of the deadline may run out first), as for every
    /// other client.
    ///
    /// Through a service that enforces the `grpc-timeout` it sends (tonic's
    /// `Channel`: its `GrpcTimeout`), the deadline is carried without a
    /// timer of the layer's own: every attempt goes out with what is left
    /// of it (rounded up, so the service's timer fires at or after it) and
    /// every wait between attempts ends before it. A second timer per call
    /// cost ~2% of a call's throughput at concurrency 1 (BENCHMARKS.md §14):
    /// each registration into tokio's idle timer wheel wakes its driver.
    #[project = BoundedProj]
    pub(super) enum Bounded<F> {
        Free { #[pin] call: F },
        Timed { #[pin] call: crate::deadline::Timed<F> },
        Carried { #[pin] call: crate::deadline::Carried<F> },
    }
}

impl<F: Future> Bounded<F> {
    pub(super) fn new(timeout: Option<Duration>, enforced_below: bool, call: F) -> Self {
        Self::sent(timeout, enforced_below, || call)
    }

    /// The rest of a call that began under the deadline `until` (`None`:
    /// it has none), bounded by it as the call's start was: never refused
    /// at its first poll, so that it can decide on what came before it,
    /// even when the deadline has passed (then it sends nothing more).
    pub(super) fn resumed(until: Option<Instant>, enforced_below: bool, call: F) -> Self {
        match until {
            None => Bounded::Free { call },
            Some(until) if enforced_below => Bounded::Carried {
                call: crate::deadline::emitted::carried_on(until, call),
            },
            Some(until) => Bounded::Timed {
                call: crate::deadline::emitted::timed_on(until, call),
            },
        }
    }

    /// The call `make` starts, bounded as [`new`](Self::new)'s: made inside
    /// the deadline's scope, for a call that starts as it is made (sent
    /// when the layer is called) and must see the deadline it runs under.
    pub(super) fn sent(
        timeout: Option<Duration>,
        enforced_below: bool,
        make: impl FnOnce() -> F,
    ) -> Self {
        match timeout {
            None => Bounded::Free { call: make() },
            Some(timeout) if enforced_below => Bounded::Carried {
                call: crate::deadline::emitted::carried_with(timeout, make),
            },
            Some(timeout) => Bounded::Timed {
                call: crate::deadline::emitted::timed_with(timeout, make),
            },
        }
    }

    /// The call's output, or `None` when its timeout ran out first; with the
    /// deadline it ran under, when it had one.
    pub(super) fn poll_bounded(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<(Option<F::Output>, Option<Instant>)> {
        Poll::Ready(match self.project() {
            BoundedProj::Free { call } => (Some(std::task::ready!(call.poll(cx))), None),
            BoundedProj::Timed { call } => {
                let (result, until) = std::task::ready!(call.poll(cx));
                (result.ok(), Some(until))
            }
            BoundedProj::Carried { call } => {
                let (result, until) = std::task::ready!(call.poll(cx));
                (result.ok(), Some(until))
            }
        })
    }
}

/// What the caller gets of a bounded call: its answer, or
/// `DEADLINE_EXCEEDED` when the timeout ran out first (`None`) or the call
/// failed at or after its deadline (`until`) with a code that reports a
/// timeout.
pub(super) fn bounded_answer<RB>(answer: Option<Answer<RB>>, until: Option<Instant>) -> Answer<RB> {
    match (answer, until) {
        (Some(answer), Some(until))
            if crate::deadline::ran_out(until, rule::reports_timeout(answer.code)) =>
        {
            Answer::expired()
        }
        (Some(answer), _) => answer,
        (None, _) => Answer::expired(),
    }
}

/// Whether a call through `S` is bounded by the `grpc-timeout` it carries
/// without a timer of the layer's: tonic's `Channel` enforces it (its
/// `GrpcTimeout` layer), and so does `steadfast::tonic::Channel` (tonic's,
/// sending the deadline). Any other service, a `Channel` under other
/// layers included, gets the layer's own timer.
#[cfg_attr(not(feature = "channel"), allow(clippy::extra_unused_type_parameters))]
pub(super) fn enforces_grpc_timeout<S: 'static>() -> bool {
    #[cfg(feature = "channel")]
    {
        use std::any::TypeId;
        let service = TypeId::of::<S>();
        service == TypeId::of::<tonic::transport::Channel>()
            || service == TypeId::of::<crate::tonic::Channel>()
    }
    #[cfg(not(feature = "channel"))]
    {
        false
    }
}

impl<F, RB> Future for Bounded<F>
where
    F: Future<Output = Answer<RB>>,
{
    type Output = Answer<RB>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let (answer, until) = std::task::ready!(self.poll_bounded(cx));
        Poll::Ready(bounded_answer(answer, until))
    }
}

/// A call's response and the status its headers say: `OK` for one
/// committed (its own status comes in its trailers). Carried with the
/// response so that nothing after the attempt reads its headers again.
pub(super) struct Answer<RB> {
    pub(super) response: Response<Guarded<RB>>,
    pub(super) code: Code,
}

impl<RB> Answer<RB> {
    /// What the caller gets of an attempt's result.
    pub(super) fn of(result: Result<Response<Guarded<RB>>, Failure<Guarded<RB>>>) -> Self {
        let code = result_code(&result);
        let response = result.unwrap_or_else(|failure| failure.response);
        Self { response, code }
    }

    /// A call whose deadline ran out before its answer.
    pub(super) fn expired() -> Self {
        Self::failed(Status::deadline_exceeded(
            "deadline exceeded before a response",
        ))
    }

    /// A call that ends with `status`, made here.
    pub(super) fn failed(status: Status) -> Self {
        Self {
            code: status.code(),
            response: status.into_http(),
        }
    }
}
