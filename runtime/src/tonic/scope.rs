//! [`deadline::scope`](crate::deadline::scope) for a gRPC call: the
//! `tonic::Status` a gRPC client reports when its deadline runs out.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use ::tonic::Status;

use crate::{deadline, Elapsed, Retryable};

/// Runs `call` (a tonic call, or `steadfast::retry` or
/// `steadfast::hedge::hedge` around one) under a deadline `timeout` from
/// now, and answers as a gRPC client does: `DEADLINE_EXCEEDED` when the
/// time runs out, and when the call failed at or after its deadline with a
/// status that reports one (tonic's own expiry of `grpc-timeout` or a
/// server's answer to it, `CANCELLED` included), whichever timer fired
/// first. The rule every client of this crate follows
/// ([`ServiceConfigLayer`](super::ServiceConfigLayer), the generated
/// clients, `#[deadline]`).
///
/// ```
/// use std::time::Duration;
/// use tonic::{Code, Status};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let slow = async {
///     tokio::time::sleep(Duration::from_secs(5)).await;
///     Ok::<(), Status>(())
/// };
/// let status = steadfast::tonic::scope(Duration::from_millis(100), slow).await.unwrap_err();
/// assert_eq!(status.code(), Code::DeadlineExceeded);
///
/// // The server's copy of the deadline ran out first, and it said CANCELLED.
/// let answered_late = async {
///     tokio::time::sleep(Duration::from_millis(100)).await;
///     Err::<(), _>(Status::cancelled("Timeout expired"))
/// };
/// let status = steadfast::tonic::scope(Duration::from_millis(100), answered_late).await.unwrap_err();
/// assert_eq!(status.code(), Code::DeadlineExceeded);
/// # }
/// ```
pub fn scope<F, T>(timeout: Duration, call: F) -> Scoped<F>
where
    F: Future<Output = Result<T, Status>>,
{
    Scoped {
        call: deadline::scope(timeout, call),
    }
}

pin_project_lite::pin_project! {
    /// The future of [`scope`].
    #[derive(Debug)]
    pub struct Scoped<F> {
        #[pin]
        call: deadline::Scope<F>,
    }
}

impl<F, T> Future for Scoped<F>
where
    F: Future<Output = Result<T, Status>>,
{
    type Output = Result<T, Status>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let call = self.project().call;
        let until = call.deadline();
        Poll::Ready(match std::task::ready!(call.poll(cx)) {
            Ok(Err(status)) if deadline::ran_out(until, status.is_timeout()) => {
                Err(Elapsed::new().into())
            }
            Ok(result) => result,
            Err(elapsed) => Err(elapsed.into()),
        })
    }
}
