//! What `#[fallback]` needs of an error: whether it is a local refusal —
//! a limit, a bulkhead, an open breaker or a deadline of this process said
//! no — rather than the same code sent by a server.
//!
//! The dispatch of handlers (by arity, sync or async) is in `handler`,
//! reached by emitted code through `__private`.

pub(crate) mod handler;

use std::error::Error;

use crate::{CircuitOpen, Elapsed, Limited};

/// Whether an error is a local refusal: a [`Limited`] (rate limit,
/// bulkhead), a [`CircuitOpen`] or an [`Elapsed`] deadline of this process,
/// told apart from the same status sent by a server.
///
/// `#[fallback(handler)]` runs its handler on the errors this says are
/// local refusals. `tonic::Status` and `std::io::Error` carry the refusal
/// they were made from (`Status::from(Limited)` keeps it as the status's
/// source, which never crosses the wire), so a server's `RESOURCE_EXHAUSTED`
/// is not a local refusal. For an error type of your own, say which of its
/// values are:
///
/// ```
/// use steadfast::{CircuitOpen, Elapsed, Limited, LocalRefusal};
///
/// #[derive(Debug)]
/// enum OrderError {
///     Busy(Limited),
///     Open(CircuitOpen),
///     TimedOut(Elapsed),
///     Rejected(String),
/// }
///
/// impl LocalRefusal for OrderError {
///     fn is_local_refusal(&self) -> bool {
///         !matches!(self, OrderError::Rejected(_))
///     }
/// }
///
/// assert!(OrderError::TimedOut(Elapsed::new()).is_local_refusal());
/// assert!(!OrderError::Rejected("out of stock".into()).is_local_refusal());
/// ```
#[diagnostic::on_unimplemented(
    message = "`#[fallback]` answers local refusals, so it must tell them apart, and `{Self}` does not implement `steadfast::LocalRefusal`",
    label = "the error type of this `Result` must implement `steadfast::LocalRefusal`",
    note = "`tonic::Status`, `std::io::Error` and `Box<dyn Error>` do; implement it for your own type, or say which errors the handler answers with `when = ..`"
)]
pub trait LocalRefusal {
    /// Whether this error is a refusal made here: a limit, a bulkhead, an
    /// open breaker or a deadline of this process.
    fn is_local_refusal(&self) -> bool;
}

impl LocalRefusal for Limited {
    fn is_local_refusal(&self) -> bool {
        true
    }
}

impl LocalRefusal for CircuitOpen {
    fn is_local_refusal(&self) -> bool {
        true
    }
}

impl LocalRefusal for Elapsed {
    fn is_local_refusal(&self) -> bool {
        true
    }
}

/// Whether `error` is one of the refusals the runtime makes.
pub(crate) fn is_refusal(error: &(dyn Error + 'static)) -> bool {
    error.is::<Limited>() || error.is::<CircuitOpen>() || error.is::<Elapsed>()
}

/// A refusal made into an `io::Error` (`io::Error::from(Limited)`) carries
/// it; an error from the operating system or a peer never does.
///
/// ```
/// use std::io;
/// use steadfast::{Elapsed, LocalRefusal};
///
/// assert!(io::Error::from(Elapsed::new()).is_local_refusal());
/// assert!(!io::Error::new(io::ErrorKind::TimedOut, "peer timed out").is_local_refusal());
/// ```
impl LocalRefusal for std::io::Error {
    fn is_local_refusal(&self) -> bool {
        self.get_ref()
            .is_some_and(|inner| is_refusal(inner as &(dyn Error + 'static)))
    }
}

/// A boxed refusal (`Box::<dyn Error>::from(Limited)`, or `?` on one).
impl LocalRefusal for Box<dyn Error + Send + Sync> {
    fn is_local_refusal(&self) -> bool {
        is_refusal(&**self)
    }
}

/// A boxed refusal (`Box::<dyn Error>::from(Limited)`, or `?` on one).
impl LocalRefusal for Box<dyn Error> {
    fn is_local_refusal(&self) -> bool {
        is_refusal(&**self)
    }
}
