//! Whether a cluster limit's Redis answers: after a miss, calls stop asking
//! it and a background task probes it until it answers again.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use redis::aio::ConnectionManager;

/// The first pause between two probes of an unreachable Redis, doubled
/// after each miss up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(50);
const LONGEST_PAUSE: Duration = Duration::from_secs(1);
/// How long a probe waits for `PING`'s answer.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// One cluster limit's view of its Redis.
#[derive(Debug)]
pub(super) struct Reach {
    /// The limit's name, in events and metrics.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    name: &'static str,
    down: AtomicBool,
}

impl Reach {
    pub(super) fn new(name: &'static str) -> Self {
        Self {
            name,
            down: AtomicBool::new(false),
        }
    }

    pub(super) fn is_up(&self) -> bool {
        !self.down.load(Ordering::Acquire)
    }

    /// Redis missed a call (`why`): from now on calls decide without it,
    /// until a probe reaches it. The first miss is an event and starts the
    /// probe (in the background, on the current tokio runtime).
    #[allow(unused_variables)] // `why` is only told with feature `tracing`
    pub(super) fn lost(self: &Arc<Self>, redis: &ConnectionManager, why: &dyn fmt::Display) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime to probe from: the next call asks Redis again.
            return;
        };
        if self.down.swap(true, Ordering::AcqRel) {
            return;
        }
        crate::trace::warning!(
            limit = self.name,
            error = %why,
            "cluster rate limit: Redis unreachable, deciding locally until it answers"
        );
        #[cfg(feature = "opentelemetry")]
        super::super::metrics::reachable(self.name, false);
        runtime.spawn(probe(Probing(Arc::downgrade(self)), redis.clone()));
    }

    /// A call was decided without Redis.
    #[allow(clippy::unused_self)]
    pub(super) fn decided_locally(&self) {
        #[cfg(feature = "opentelemetry")]
        super::super::metrics::decided_locally(self.name);
    }

    fn found(&self) {
        self.down.store(false, Ordering::Release);
        crate::trace::event!(
            limit = self.name,
            "cluster rate limit: Redis answers again, deciding there"
        );
        #[cfg(feature = "opentelemetry")]
        super::super::metrics::reachable(self.name, true);
    }
}

/// `PING`s Redis, pausing longer after each miss, until it answers (or the
/// limiter is gone).
///
/// Dropped unfinished (its runtime shut down, even before it first ran), the
/// probe leaves Redis to be asked again: the next call, on whatever runtime,
/// finds out.
async fn probe(probing: Probing, mut redis: ConnectionManager) {
    let reach = &probing.0;
    let mut pause = FIRST_PAUSE;
    loop {
        tokio::time::sleep(pause).await;
        if reach.strong_count() == 0 {
            return;
        }
        let ping = redis::cmd("PING");
        let answer = tokio::time::timeout(PROBE_TIMEOUT, ping.query_async::<String>(&mut redis));
        if let Ok(Ok(_)) = answer.await {
            if let Some(reach) = reach.upgrade() {
                reach.found();
            }
            return;
        }
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

/// A probe under way: when it ends, however it ends, calls ask Redis again.
struct Probing(Weak<Reach>);

impl Drop for Probing {
    fn drop(&mut self) {
        if let Some(reach) = self.0.upgrade() {
            reach.down.store(false, Ordering::Release);
        }
    }
}
