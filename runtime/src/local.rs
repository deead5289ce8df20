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
    struct Restore<'a, T: Copy>(&'a Cell<T>, T);

    impl<T: Copy> Drop for Restore<'_, T> {
        #[inline]
        fn drop(&mut self) {
            self.0.set(self.1);
        }
    }

    let mut f = Some(f);
    let result = key.try_with(|cell| {
        let _restore = Restore(cell, cell.replace(value));
        f.take().map(|f| f())
    });
    match (result, f) {
        (Ok(Some(result)), _) => result,
        (_, Some(f)) => f(),
        (_, None) => unreachable!("`f` ran, so its result is there"),
    }
}

/// The value of `key`, or `default` while the thread tears down its locals.
#[inline]
pub(crate) fn get<T: Copy + 'static>(key: &'static LocalKey<Cell<T>>, default: T) -> T {
    key.try_with(Cell::get).unwrap_or(default)
}
