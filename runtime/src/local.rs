//! Values carried by the future being polled: a thread-local swapped in
//! around each poll, as tokio's task-locals are, with a `Cell` instead of a
//! `RefCell`, one lookup per poll and nothing to do on drop. The deadline
//! scope and the attempt number both live this way.

use std::cell::Cell;
use std::thread::LocalKey;

/// Runs `f` with `key` set to `value`, restoring the previous value
/// afterwards, also on unwind. While the thread tears down its locals, `f`
/// runs without the value.
#[inline]
pub(crate) fn with<T: Copy + 'static, R>(
    key: &'static LocalKey<Cell<T>>,
    value: T,
    f: impl FnOnce() -> R,
) -> R {
    with_merged(key, |_| value, f)
}

/// Runs `f` with `key` set to what `merge` makes of its current value,
/// restoring the previous value afterwards: one lookup of the key.
#[inline]
pub(crate) fn with_merged<T: Copy + 'static, R>(
    key: &'static LocalKey<Cell<T>>,
    merge: impl FnOnce(T) -> T,
    f: impl FnOnce() -> R,
) -> R {
    struct Restore<T: Copy + 'static>(&'static LocalKey<Cell<T>>, T);

    impl<T: Copy + 'static> Drop for Restore<T> {
        #[inline]
        fn drop(&mut self) {
            let _ = self.0.try_with(|cell| cell.set(self.1));
        }
    }

    match key.try_with(|cell| {
        let previous = cell.get();
        cell.set(merge(previous));
        previous
    }) {
        Ok(previous) => {
            let _restore = Restore(key, previous);
            f()
        }
        Err(_) => f(),
    }
}

/// The value of `key`, or `default` while the thread tears down its locals.
#[inline]
pub(crate) fn get<T: Copy + 'static>(key: &'static LocalKey<Cell<T>>, default: T) -> T {
    key.try_with(Cell::get).unwrap_or(default)
}
