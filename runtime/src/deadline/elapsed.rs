use std::fmt;

/// The error of a deadline that passed: returned by
/// [`deadline::scope`](crate::deadline::scope) and by a timed-out attempt.
///
/// Converts into the error types of the calls it cuts short: into
/// `tonic::Status` as `DEADLINE_EXCEEDED` (feature `tonic`), into
/// [`std::io::Error`] as [`TimedOut`](std::io::ErrorKind::TimedOut), and, as a
/// [`std::error::Error`], into `Box<dyn Error>` and `anyhow::Error`.
///
/// ```
/// use steadfast::Elapsed;
///
/// let io: std::io::Error = Elapsed::new().into();
/// assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
/// assert_eq!(Elapsed::new().to_string(), "deadline exceeded");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Elapsed(());

impl Elapsed {
    /// A new `Elapsed`. Mostly for tests and for classifiers.
    ///
    /// ```
    /// assert_eq!(steadfast::Elapsed::new(), steadfast::Elapsed::default());
    /// ```
    pub const fn new() -> Self {
        Self(())
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline exceeded")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(elapsed: Elapsed) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, elapsed)
    }
}

impl From<tokio::time::error::Elapsed> for Elapsed {
    fn from(_: tokio::time::error::Elapsed) -> Self {
        Self::new()
    }
}
