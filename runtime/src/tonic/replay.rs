//! A streamed request sent again, as gRPC A6 replays one: what the caller's
//! stream gave is recorded (up to a limit) as it goes out, and the next
//! attempt sends the record, then goes on with the stream where it stood.
//! The one core of both clients: `ServiceConfigLayer` records the request
//! body's bytes, generated clients the request's messages.
//!
//! Every attempt reads through a [`Cursor`] over the same [`Shared`]
//! record, so each sends the same sequence from its start, whichever
//! attempt pulled an item from the caller's stream first. Once the record
//! is spoiled (past the limit, an item that cannot be kept, or the call
//! committed) no attempt can start again from the beginning: the call is
//! the running attempt's.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

/// The caller's stream, as the record reads it.
pub(crate) trait Source: Send {
    /// What the stream yields (a body frame, a message).
    type Item;
    /// What is kept of an item to send it again.
    type Kept: Send;

    /// The stream's next item.
    fn poll_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<Self::Item>>;

    /// What to keep of `item` and its size (never zero, so that the limit
    /// bounds how many are kept too), or `None` when it cannot be sent again
    /// (a body's trailers or error).
    fn keep(item: &Self::Item) -> Option<(Self::Kept, usize)>;

    /// The item again, from what was kept.
    fn again(kept: &Self::Kept) -> Self::Item;

    /// Whether the stream has ended before it says so with `None`.
    fn ended(&self) -> bool {
        false
    }
}

/// The caller's stream and what the call's attempts took of it.
pub(crate) struct Shared<S: Source> {
    source: S,
    kept: Vec<S::Kept>,
    /// Items taken from the source so far, by every attempt together.
    taken: usize,
    size: usize,
    limit: usize,
    /// The source ended: no item after `taken`.
    ended: bool,
    /// Nothing more is kept: past the limit, an item not kept, or the call
    /// committed.
    spoiled: bool,
}

impl<S: Source> std::fmt::Debug for Shared<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("taken", &self.taken)
            .field("size", &self.size)
            .field("ended", &self.ended)
            .field("spoiled", &self.spoiled)
            .finish_non_exhaustive()
    }
}

/// A record shared by the attempts of one call.
pub(crate) type Record<S> = Arc<Mutex<Shared<S>>>;

/// Locks `record`. Nothing panics while holding it; a poisoned record is
/// still whole.
fn lock<S: Source>(record: &Mutex<Shared<S>>) -> MutexGuard<'_, Shared<S>> {
    record.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A record of `source` that keeps up to `limit` (of [`Source::keep`]'s
/// sizes).
pub(crate) fn record<S: Source>(source: S, limit: usize) -> Record<S> {
    let ended = source.ended();
    Arc::new(Mutex::new(Shared {
        source,
        kept: Vec::new(),
        taken: 0,
        size: 0,
        limit,
        ended,
        spoiled: false,
    }))
}

/// Whether an attempt may send the stream again from its start.
pub(crate) fn replayable<S: Source>(record: &Mutex<Shared<S>>) -> bool {
    !lock(record).spoiled
}

/// Keeps nothing more: the call is committed (a response came), so it will
/// not be sent again; what was kept is freed.
pub(crate) fn commit<S: Source>(record: &Mutex<Shared<S>>) {
    lock(record).spoil();
}

impl<S: Source> Shared<S> {
    fn spoil(&mut self) {
        self.spoiled = true;
        self.kept = Vec::new();
    }

    fn keep(&mut self, item: &S::Item) {
        if self.spoiled {
            return;
        }
        match S::keep(item) {
            Some((kept, size)) => match self.size.checked_add(size) {
                Some(total) if total <= self.limit => {
                    self.size = total;
                    self.kept.push(kept);
                }
                _ => self.spoil(),
            },
            None => self.spoil(),
        }
    }
}

/// One attempt's reading of the stream, from its start.
#[derive(Debug)]
pub(crate) struct Cursor<S: Source> {
    record: Record<S>,
    /// The items this attempt has sent.
    next: usize,
}

impl<S: Source> Cursor<S> {
    /// An attempt's stream from the start, or `None` when what was sent
    /// before was not all kept.
    pub(crate) fn start(record: &Record<S>) -> Option<Self> {
        let spoiled = lock(record).spoiled;
        (!spoiled).then(|| Self {
            record: Arc::clone(record),
            next: 0,
        })
    }

    /// The attempt's next item: a kept one again, or the source's next.
    pub(crate) fn poll_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut shared = lock(&self.record);
        if self.next < shared.taken {
            let Some(kept) = shared.kept.get(self.next) else {
                // Spoiled while this attempt was behind: it was given up
                // (no attempt starts again from a spoiled record), and
                // must not end its stream early as if it were complete.
                return Poll::Pending;
            };
            self.next += 1;
            return Poll::Ready(Some(S::again(kept)));
        }
        if shared.ended {
            return Poll::Ready(None);
        }
        let item = std::task::ready!(shared.source.poll_item(cx));
        match &item {
            Some(item) => {
                shared.keep(item);
                shared.taken += 1;
                self.next += 1;
            }
            None => shared.ended = true,
        }
        shared.ended |= shared.source.ended();
        Poll::Ready(item)
    }

    /// Whether this attempt has sent the whole stream.
    pub(crate) fn is_end(&self) -> bool {
        let shared = lock(&self.record);
        shared.ended && self.next >= shared.taken
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::task::Waker;

    use super::*;

    /// Items, `None` standing for "not ready yet".
    struct Script(VecDeque<Option<&'static str>>);

    impl Source for Script {
        type Item = &'static str;
        type Kept = &'static str;

        fn poll_item(&mut self, _: &mut Context<'_>) -> Poll<Option<&'static str>> {
            match self.0.pop_front() {
                Some(Some(item)) => Poll::Ready(Some(item)),
                Some(None) => Poll::Pending,
                None => Poll::Ready(None),
            }
        }

        fn keep(item: &&'static str) -> Option<(&'static str, usize)> {
            (*item != "trailers").then_some((*item, item.len()))
        }

        fn again(kept: &&'static str) -> &'static str {
            kept
        }
    }

    fn script(items: &[Option<&'static str>]) -> Script {
        Script(items.iter().copied().collect())
    }

    /// What `cursor` gives until it waits or ends.
    fn drain(cursor: &mut Cursor<Script>) -> Vec<&'static str> {
        let mut cx = Context::from_waker(Waker::noop());
        let mut out = Vec::new();
        while let Poll::Ready(Some(item)) = cursor.poll_item(&mut cx) {
            out.push(item);
        }
        out
    }

    #[test]
    fn a_later_attempt_sends_what_was_sent_then_goes_on_with_the_stream() {
        let record = record(script(&[Some("a"), Some("b"), None, Some("c")]), 100);
        let mut first = Cursor::start(&record).unwrap();
        assert_eq!(drain(&mut first), ["a", "b"], "the stream waits after b");
        assert!(replayable(&record));
        let mut second = Cursor::start(&record).unwrap();
        assert_eq!(drain(&mut second), ["a", "b", "c"]);
        assert!(second.is_end());
        assert!(!first.is_end(), "the first attempt did not send c");
    }

    #[test]
    fn past_the_limit_no_attempt_starts_again_and_the_running_one_goes_on() {
        let record = record(script(&[Some("aaa"), Some("bbb"), Some("c")]), 4);
        let mut first = Cursor::start(&record).unwrap();
        assert_eq!(drain(&mut first), ["aaa", "bbb", "c"]);
        assert!(!replayable(&record));
        assert!(Cursor::start(&record).is_none());
    }

    #[test]
    fn an_item_that_cannot_be_kept_spoils_the_record() {
        let record = record(script(&[Some("a"), Some("trailers")]), 100);
        let mut first = Cursor::start(&record).unwrap();
        assert_eq!(drain(&mut first), ["a", "trailers"]);
        assert!(!replayable(&record));
    }

    #[test]
    fn a_committed_call_keeps_nothing_more_and_frees_what_it_kept() {
        let record = record(script(&[Some("a"), None, Some("b")]), 100);
        let mut first = Cursor::start(&record).unwrap();
        assert_eq!(drain(&mut first), ["a"]);
        commit(&record);
        assert_eq!(drain(&mut first), ["b"], "the running attempt goes on");
        assert!(lock(&record).kept.is_empty());
        assert!(Cursor::start(&record).is_none());
    }

    #[test]
    fn an_attempt_left_behind_a_spoiled_record_waits_rather_than_end_short() {
        let record = record(script(&[Some("a"), Some("b")]), 100);
        let mut first = Cursor::start(&record).unwrap();
        let mut second = Cursor::start(&record).unwrap();
        assert_eq!(drain(&mut second), ["a", "b"]);
        commit(&record);
        let mut cx = Context::from_waker(Waker::noop());
        assert!(first.poll_item(&mut cx).is_pending());
    }
}
