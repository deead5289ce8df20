//! A request whose chain may wait (a queue, or a cluster limit's round
//! trip to Redis): admitted in an `async` block, within the request's
//! deadline, then called.

use std::time::Duration;

use ::tonic::Status;

use super::limits::{Chain, Entry};
use crate::limit::ConcurrencyPermit;
use crate::tonic::headers::find;
use crate::tonic::timeout::{parse_timeout, TIMEOUT_NAME};

/// Asks each limit of the request in turn, waiting where one queues but
/// never past the request's deadline, then calls the handler holding the
/// concurrency places until its response is ready; or answers the refusal.
pub(super) async fn admit_then_call<S, B, RB>(
    chain: &Chain,
    mut ready: S,
    request: http::Request<B>,
) -> Result<http::Response<RB>, S::Error>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<RB>>,
    RB: Default,
{
    let timeout = requested_timeout(&request).unwrap_or(Duration::MAX);
    let admitted = match crate::deadline::emitted::carried(timeout, admit(chain)).await {
        (Ok(admitted), _) => admitted,
        (Err(elapsed), _) => Err(Status::deadline_exceeded(elapsed.to_string())),
    };
    let places = match admitted {
        Ok(places) => places,
        Err(refusal) => return Ok(refusal.into_http()),
    };
    let response = ready.call(request).await;
    places.release();
    response
}

/// The request's own deadline, from its `grpc-timeout` (a malformed one is
/// left to `DeadlineLayer` or tonic to answer).
fn requested_timeout<B>(request: &http::Request<B>) -> Option<Duration> {
    find(request.headers(), &TIMEOUT_NAME).and_then(|value| parse_timeout(value.as_bytes()).ok())
}

/// A concurrency place held by a call: its limit, the place, since when
/// (the crate's clock).
type Place<'a> = (&'a Entry, ConcurrencyPermit<'a>, u64);

/// The places a call holds.
#[derive(Default)]
struct Places<'a>(Vec<Place<'a>>);

impl Places<'_> {
    /// Gives the places back, each limit told how long it was held.
    fn release(self) {
        for (entry, permit, since) in self.0 {
            entry.held_since(since);
            drop(permit);
        }
    }

    /// Gives the places back unused: the request was refused.
    fn refused(self) {
        for (_, permit, _) in self.0 {
            permit.unused();
        }
    }
}

/// Every limit's admission, or the status of the first that refused.
async fn admit(chain: &Chain) -> Result<Places<'_>, Status> {
    let mut places = Places::default();
    for entry in chain.entries.iter() {
        match entry.admit().await {
            Ok(None) => {}
            Ok(Some((permit, since))) => places.0.push((entry, permit, since)),
            Err(refusal) => {
                places.refused();
                return Err(refusal);
            }
        }
    }
    Ok(places)
}
