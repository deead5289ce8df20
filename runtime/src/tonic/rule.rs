//! gRPC A6's rule for one failed attempt, written once: the attributes,
//! `retry()`, the generated clients and [`ServiceConfigLayer`] all judge a
//! failure by these two functions (through [`Retryable`] for `Status`,
//! [`Codes`], and the layer's reading of response headers).
//!
//! [`ServiceConfigLayer`]: super::ServiceConfigLayer
//! [`Retryable`]: crate::Retryable
//! [`Codes`]: super::Codes

use ::tonic::Code;

use super::Pushback;
use crate::retry::Verdict;

/// The verdict on a failed attempt whose code (seen through the
/// transport's own errors: [`effective_code`](super::effective_code)) the
/// policy `retries` or not, and whose server said `pushback`:
///
/// - retried when its code is retried and no pushback said stop;
/// - a pushback delay replaces the schedule's next one, exactly;
/// - a "stop" pushback (negative, malformed, several values) on a code
///   that would be retried is a stop: no retry, no further hedge (running
///   hedges go on), a throttling failure;
/// - it ran out of time when [`reports_timeout`] and the deadline passed.
pub(crate) fn verdict(code: Code, pushback: Pushback, retries: bool) -> Verdict {
    let stop = pushback == Pushback::Stop;
    Verdict {
        retryable: retries && !stop,
        pushback: pushback.delay(),
        timeout: reports_timeout(code),
        stop: retries && stop,
    }
}

/// Whether a failure with `code` reports a deadline that passed:
/// `DEADLINE_EXCEEDED` (the server's, or tonic's own expiry of
/// `grpc-timeout`), or `CANCELLED` (what tonic's server answers when its
/// copy of the deadline runs out). Such a failure at or after the call's
/// deadline ran out of time (`deadline::ran_out`): the caller gets
/// `DEADLINE_EXCEEDED`, whichever side's timer fired first. Before the
/// deadline, it is the failure it says.
pub(crate) fn reports_timeout(code: Code) -> bool {
    matches!(code, Code::DeadlineExceeded | Code::Cancelled)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_stop_pushback_stops_only_a_code_that_would_be_retried() {
        let stop = verdict(Code::Unavailable, Pushback::Stop, true);
        assert!(!stop.retryable && stop.stop);
        let not_retried = verdict(Code::Internal, Pushback::Stop, false);
        assert!(!not_retried.retryable && !not_retried.stop);
    }

    #[test]
    fn a_pushback_delay_is_carried_exactly_even_when_huge() {
        let huge = Duration::from_millis(u64::MAX);
        let v = verdict(Code::Unavailable, Pushback::Delay(huge), true);
        assert_eq!((v.retryable, v.pushback), (true, Some(huge)));
    }

    #[test]
    fn deadline_exceeded_and_cancelled_report_a_timeout_nothing_else_does() {
        for code in [Code::DeadlineExceeded, Code::Cancelled] {
            assert!(verdict(code, Pushback::Absent, false).timeout, "{code:?}");
        }
        for code in [Code::Ok, Code::Unavailable, Code::Unknown, Code::Internal] {
            assert!(!verdict(code, Pushback::Absent, true).timeout, "{code:?}");
        }
    }
}
