use std::time::Duration;

use ::tonic::Status;

/// The trailer a gRPC server sends to say when (or whether) to retry.
///
/// ```
/// use std::time::Duration;
/// use steadfast::__private::PUSHBACK_HEADER;
/// use steadfast::Retryable;
///
/// let mut status = tonic::Status::unavailable("busy");
/// status.metadata_mut().insert(PUSHBACK_HEADER, "250".parse().unwrap());
/// assert_eq!(status.retry_after(), Some(Duration::from_millis(250)));
/// ```
pub const PUSHBACK_HEADER: &str = "grpc-retry-pushback-ms";

/// Sets `status`'s `grpc-retry-pushback-ms` to `after`, rounded up to whole
/// milliseconds (a client never comes back before the time said).
pub(crate) fn set_pushback(status: &mut Status, after: Duration) {
    let ms = u64::try_from(after.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX);
    status
        .metadata_mut()
        .insert(PUSHBACK_HEADER, ::tonic::metadata::MetadataValue::from(ms));
}

/// What a server's `grpc-retry-pushback-ms` says, per gRPC A6: a
/// non-negative integer is the delay before the next attempt; a negative or
/// malformed value means "do not retry".
///
/// ```
/// use std::time::Duration;
/// use steadfast::tonic::Pushback;
///
/// assert_eq!(Pushback::parse(b"250"), Pushback::Delay(Duration::from_millis(250)));
/// assert_eq!(Pushback::parse(b"-1"), Pushback::Stop);
/// assert_eq!(Pushback::parse(b"soon"), Pushback::Stop);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushback {
    /// No pushback: the schedule decides.
    Absent,
    /// Wait this long before the next attempt.
    Delay(Duration),
    /// Do not retry.
    Stop,
}

impl Pushback {
    /// Parses a header value.
    ///
    /// ```
    /// use steadfast::tonic::Pushback;
    /// assert_eq!(Pushback::parse(b"+5"), Pushback::Stop);
    /// ```
    pub fn parse(value: &[u8]) -> Self {
        if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
            return Self::Stop;
        }
        // All digits, so only overflow can fail; saturate rather than stop.
        let ms = std::str::from_utf8(value)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(u64::MAX);
        Self::Delay(Duration::from_millis(ms))
    }

    /// The pushback of a response's `grpc-retry-pushback-ms` values: absent
    /// when it has none, the value when it has one. Several values are
    /// unparseable, as for grpc-go, and unparseable means stop (gRPC A6).
    pub(crate) fn of_values<'a>(mut values: impl Iterator<Item = &'a [u8]>) -> Self {
        match (values.next(), values.next()) {
            (None, _) => Self::Absent,
            (Some(value), None) => Self::parse(value),
            (Some(_), Some(_)) => Self::Stop,
        }
    }

    /// The pushback carried by `status`.
    ///
    /// ```
    /// use steadfast::tonic::Pushback;
    /// use steadfast::__private::PUSHBACK_HEADER;
    /// use tonic::Status;
    ///
    /// let mut status = Status::unavailable("overloaded");
    /// status.metadata_mut().insert(PUSHBACK_HEADER, "100".parse().unwrap());
    /// assert_eq!(Pushback::of(&status), Pushback::Delay(std::time::Duration::from_millis(100)));
    /// assert_eq!(Pushback::of(&Status::unavailable("x")), Pushback::Absent);
    ///
    /// // Two values (`100` and `10`) are unparseable: stop, as grpc-go.
    /// status.metadata_mut().append(PUSHBACK_HEADER, "10".parse().unwrap());
    /// assert_eq!(Pushback::of(&status), Pushback::Stop);
    /// ```
    pub fn of(status: &Status) -> Self {
        Self::of_values(
            status
                .metadata()
                .get_all(PUSHBACK_HEADER)
                .iter()
                .map(|value| value.as_bytes()),
        )
    }

    /// The delay, when there is one.
    ///
    /// ```
    /// use steadfast::tonic::Pushback;
    /// assert_eq!(Pushback::Stop.delay(), None);
    /// ```
    pub const fn delay(self) -> Option<Duration> {
        match self {
            Self::Delay(delay) => Some(delay),
            Self::Absent | Self::Stop => None,
        }
    }
}
