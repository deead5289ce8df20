//! A sliding window of time buckets holding two counters each, lock-free
//! and allocation-free: what a circuit breaker counts calls and failures
//! in, and what a ratio budget counts requests and retries in.
//!
//! The window is cut into `buckets` slices of `width`. Each slice is one
//! `AtomicU64`: a 20-bit tag naming the slice of time it holds, and two
//! 22-bit counters that saturate at about four million. A slice found with
//! an old tag is started afresh by whoever writes it next, so old counts
//! age out without a timer.
//!
//! The busiest event (a success, a request) need not read the clock:
//! [`Window::add_pending`] counts it in a single atomic, and the pending
//! count is moved into the current slice at the next clock reading: a
//! failure, or every `stride` pending events. The stride adapts: up to 64
//! while events come faster than 32 per slice, 1 (read the clock every
//! time) when they come slower. Pending events count as of the last clock
//! reading before them: after a burst, at most 63 of them can leave the
//! window a little early.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::clock;

/// The most slices a window can have.
pub(crate) const MAX_BUCKETS: usize = 20;

const BITS: u32 = 22;
const COUNT_MAX: u64 = (1 << BITS) - 1;
const TAG_MASK: u64 = (1 << 20) - 1;
const MAX_STRIDE: u32 = 64;

/// Sums over the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) a: u64,
    pub(crate) b: u64,
}

#[derive(Debug)]
pub(crate) struct Window {
    width: u64,
    buckets: usize,
    slices: [AtomicU64; MAX_BUCKETS],
    pending: AtomicU64,
    stride: AtomicU32,
    last_flush: AtomicU64,
}

const fn pack(tag: u64, a: u64, b: u64) -> u64 {
    (tag << (2 * BITS)) | (a << BITS) | b
}

const fn unpack(word: u64) -> (u64, u64, u64) {
    (
        word >> (2 * BITS),
        (word >> BITS) & COUNT_MAX,
        word & COUNT_MAX,
    )
}

impl Window {
    /// A window of `length` cut into `buckets` slices (clamped to
    /// `1..=MAX_BUCKETS`; a slice is at least a microsecond).
    pub(crate) const fn new(length: Duration, buckets: usize) -> Self {
        let buckets = if buckets == 0 {
            1
        } else if buckets > MAX_BUCKETS {
            MAX_BUCKETS
        } else {
            buckets
        };
        let mut width = clock::nanos(length) / buckets as u64;
        if width < 1_000 {
            width = 1_000;
        }
        Self {
            width,
            buckets,
            slices: [const { AtomicU64::new(0) }; MAX_BUCKETS],
            pending: AtomicU64::new(0),
            stride: AtomicU32::new(1),
            last_flush: AtomicU64::new(0),
        }
    }

    /// The window's length.
    pub(crate) const fn length(&self) -> Duration {
        Duration::from_nanos(self.width * self.buckets as u64)
    }

    /// How many slices.
    pub(crate) const fn buckets(&self) -> usize {
        self.buckets
    }

    const fn tick(&self, now: u64) -> u64 {
        now / self.width
    }

    const fn tag(tick: u64) -> u64 {
        (tick + 1) & TAG_MASK
    }

    /// Counts one event of kind `a` without reading the clock, unless the
    /// stride is reached; returns whether it read the clock.
    #[inline]
    pub(crate) fn add_pending(&self) -> bool {
        let pending = self.pending.fetch_add(1, Relaxed) + 1;
        if pending >= u64::from(self.stride.load(Relaxed)) {
            self.flush(clock::now());
            return true;
        }
        false
    }

    /// Moves the pending count into the window, and adapts the stride.
    /// Pending events count as of the last clock reading before them (see
    /// [`counts`](Self::counts)); when that reading has left the window, so
    /// have they.
    pub(crate) fn flush(&self, now: u64) {
        let pending = self.pending.swap(0, Relaxed);
        let last = self.last_flush.swap(now, Relaxed);
        if pending > 0 {
            if last == 0 {
                self.add(now, pending, 0);
            } else if now.saturating_sub(last) < self.length_nanos() {
                // No older than the window's oldest slice, whose slot a
                // newer slice may have taken.
                let oldest = now.saturating_sub(self.length_nanos() - self.width);
                self.add(last.clamp(oldest, now), pending, 0);
            }
        }
        let stride = self.stride.load(Relaxed);
        let next = if now.saturating_sub(last) < self.width / 32 {
            (stride * 2).min(MAX_STRIDE)
        } else {
            1
        };
        if next != stride {
            self.stride.store(next, Relaxed);
        }
    }

    const fn length_nanos(&self) -> u64 {
        self.width * self.buckets as u64
    }

    /// Adds `a` and `b` to the slice of `now`.
    pub(crate) fn add(&self, now: u64, a: u64, b: u64) {
        let tick = self.tick(now);
        let tag = Self::tag(tick);
        let slice = &self.slices[(tick % self.buckets as u64) as usize];
        let _ = slice.fetch_update(Relaxed, Relaxed, |word| {
            let (old, sa, sb) = unpack(word);
            Some(if old == tag {
                pack(tag, (sa + a).min(COUNT_MAX), (sb + b).min(COUNT_MAX))
            } else {
                pack(tag, a.min(COUNT_MAX), b.min(COUNT_MAX))
            })
        });
    }

    /// The sums over the window that ends at `now`, pending events
    /// included unless the clock was last read a whole window ago (they
    /// came after that reading, and most likely soon after: the stride only
    /// grows while events are dense).
    pub(crate) fn counts(&self, now: u64) -> Counts {
        let tick = self.tick(now);
        let n = self.buckets as u64;
        let last = self.last_flush.load(Relaxed);
        let fresh = last == 0 || now.saturating_sub(last) < self.length_nanos();
        let mut counts = Counts {
            a: if fresh { self.pending.load(Relaxed) } else { 0 },
            b: 0,
        };
        for (i, slice) in self.slices[..self.buckets].iter().enumerate() {
            let back = (tick % n + n - i as u64) % n;
            let Some(expected) = tick.checked_sub(back) else {
                continue;
            };
            let (tag, a, b) = unpack(slice.load(Relaxed));
            if tag == Self::tag(expected) && tag != 0 {
                counts.a += a;
                counts.b += b;
            }
        }
        counts
    }

    /// Forgets everything.
    pub(crate) fn clear(&self) {
        self.pending.store(0, Relaxed);
        for slice in &self.slices {
            slice.store(0, Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn counts_age_out_slice_by_slice() {
        let w = Window::new(Duration::from_secs(1), 10);
        w.add(0, 1, 0);
        w.add(150 * MS, 2, 1);
        w.add(950 * MS, 4, 0);
        assert_eq!(w.counts(999 * MS), Counts { a: 7, b: 1 });
        // At 1.05 s the slice of [0, 100ms) is out.
        assert_eq!(w.counts(1_050 * MS), Counts { a: 6, b: 1 });
        assert_eq!(w.counts(1_150 * MS), Counts { a: 4, b: 0 });
        assert_eq!(w.counts(5_000 * MS), Counts::default());
        // Writing a reused slot starts it afresh.
        w.add(1_010 * MS, 1, 1);
        assert_eq!(w.counts(1_020 * MS), Counts { a: 7, b: 2 });
    }

    #[test]
    fn pending_events_are_counted_and_flushed_at_the_current_slice() {
        let w = Window::new(Duration::from_secs(10), 10);
        for _ in 0..100 {
            w.add_pending();
        }
        let now = clock::now();
        assert_eq!(w.counts(now).a, 100);
        w.flush(now);
        assert_eq!(w.pending.load(Relaxed), 0);
        assert_eq!(w.counts(now).a, 100);
    }

    #[test]
    fn counters_saturate_instead_of_wrapping() {
        let w = Window::new(Duration::from_secs(1), 1);
        w.add(0, COUNT_MAX, COUNT_MAX);
        w.add(0, 10, 10);
        assert_eq!(
            w.counts(0),
            Counts {
                a: COUNT_MAX,
                b: COUNT_MAX
            }
        );
    }

    #[test]
    fn stride_grows_when_events_are_dense_and_falls_back_when_sparse() {
        let w = Window::new(Duration::from_secs(10), 10);
        for i in 0..8 {
            w.flush(1_000_000_000 + i);
        }
        assert_eq!(w.stride.load(Relaxed), MAX_STRIDE);
        w.flush(5_000_000_000);
        assert_eq!(w.stride.load(Relaxed), 1);
    }

    #[test]
    fn clear_forgets() {
        let w = Window::new(Duration::from_secs(1), 4);
        w.add(0, 3, 3);
        w.add_pending();
        w.clear();
        assert_eq!(w.counts(0), Counts::default());
    }
}
