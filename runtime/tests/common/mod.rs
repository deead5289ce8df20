//! Helpers shared by the runtime's integration tests.
#![allow(clippy::unwrap_used, dead_code)] // test-only; not every test file uses every helper

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// Records when each attempt starts. Cloning shares the record.
#[derive(Clone, Default)]
pub(crate) struct Log(Arc<Mutex<Vec<Instant>>>);

impl Log {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Records an attempt now; returns how many there have been.
    pub(crate) fn hit(&self) -> usize {
        let mut v = self.0.lock().unwrap();
        v.push(Instant::now());
        v.len()
    }

    pub(crate) fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// Gaps between consecutive attempt starts.
    pub(crate) fn gaps(&self) -> Vec<Duration> {
        let v = self.0.lock().unwrap();
        v.windows(2).map(|w| w[1] - w[0]).collect()
    }
}
