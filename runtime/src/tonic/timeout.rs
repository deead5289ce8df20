//! The `grpc-timeout` header: "at most 8 digits and a unit", as the gRPC
//! over HTTP/2 protocol specifies.

use std::fmt;
use std::time::Duration;

/// The header a gRPC client sends with the time it will wait.
///
/// ```
/// use std::time::Duration;
/// use steadfast::__private::{encode_timeout, TIMEOUT_HEADER};
///
/// let mut headers = http::HeaderMap::new();
/// let value = encode_timeout(Duration::from_secs(2));
/// headers.insert(TIMEOUT_HEADER, value.parse().unwrap());
/// assert_eq!(headers["grpc-timeout"], "2000000u");
/// ```
pub const TIMEOUT_HEADER: &str = "grpc-timeout";

/// [`TIMEOUT_HEADER`] as a parsed header name: looking a header up by a
/// `&str` parses the name on every call, which every outgoing and incoming
/// call would pay.
pub(crate) static TIMEOUT_NAME: http::HeaderName = http::HeaderName::from_static(TIMEOUT_HEADER);

const MAX_DIGITS_VALUE: u128 = 99_999_999;

/// Encodes `timeout` for the `grpc-timeout` header: the finest unit whose
/// value fits in 8 digits, rounded up so the server never gets less time
/// than the client will wait. Beyond 99,999,999 hours it saturates.
///
/// ```
/// use std::time::Duration;
/// use steadfast::__private::encode_timeout;
///
/// assert_eq!(encode_timeout(Duration::from_millis(1500)), "1500000u");
/// assert_eq!(encode_timeout(Duration::from_secs(2)), "2000000u");
/// assert_eq!(encode_timeout(Duration::from_secs(100_000)), "100000S");
/// assert_eq!(encode_timeout(Duration::from_nanos(7)), "7n");
/// ```
pub fn encode_timeout(timeout: Duration) -> String {
    let mut buf = [0; ENCODED_MAX];
    let len = encode_into(timeout, &mut buf);
    buf[..len].iter().map(|&b| char::from(b)).collect()
}

/// The longest encoding: 8 digits and a unit.
const ENCODED_MAX: usize = 9;

/// [`encode_timeout`] into a header value, without formatting machinery:
/// it runs on every outgoing call.
pub(crate) fn encode_timeout_value(timeout: Duration) -> Option<http::HeaderValue> {
    let mut buf = [0; ENCODED_MAX];
    let len = encode_into(timeout, &mut buf);
    http::HeaderValue::from_bytes(&buf[..len]).ok()
}

/// Writes the encoding of `timeout` into `buf`; returns its length.
fn encode_into(timeout: Duration, buf: &mut [u8; ENCODED_MAX]) -> usize {
    const UNITS: [(u128, u8); 6] = [
        (1, b'n'),
        (1_000, b'u'),
        (1_000_000, b'm'),
        (1_000_000_000, b'S'),
        (60_000_000_000, b'M'),
        (3_600_000_000_000, b'H'),
    ];
    let nanos = timeout.as_nanos();
    let (value, unit) = UNITS
        .iter()
        .map(|&(per_unit, unit)| (nanos.div_ceil(per_unit), unit))
        .find(|&(value, _)| value <= MAX_DIGITS_VALUE)
        .unwrap_or((MAX_DIGITS_VALUE, b'H'));
    // At most 8 digits: the value fits in a u32.
    let mut value = u32::try_from(value).unwrap_or(99_999_999);
    let mut digits = [0u8; 8];
    let mut n = 0;
    loop {
        digits[n] = b'0' + (value % 10) as u8;
        n += 1;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    for (i, digit) in digits[..n].iter().rev().enumerate() {
        buf[i] = *digit;
    }
    buf[n] = unit;
    n + 1
}

/// Parses a `grpc-timeout` value: 1 to 8 ASCII digits, then one of
/// `H` `M` `S` `m` `u` `n`. Anything else is an error, never a panic.
///
/// ```
/// use std::time::Duration;
/// use steadfast::__private::parse_timeout;
///
/// assert_eq!(parse_timeout(b"250m"), Ok(Duration::from_millis(250)));
/// assert_eq!(parse_timeout(b"1H"), Ok(Duration::from_secs(3600)));
/// assert!(parse_timeout(b"123456789S").is_err()); // nine digits
/// assert!(parse_timeout(b"-1S").is_err());
/// ```
pub fn parse_timeout(value: &[u8]) -> Result<Duration, InvalidTimeout> {
    let Some((&unit, digits)) = value.split_last() else {
        return Err(InvalidTimeout(()));
    };
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(InvalidTimeout(()));
    }
    // At most 8 digits: always fits in a u64.
    let n = digits
        .iter()
        .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    Ok(match unit {
        b'H' => Duration::from_secs(n * 3600),
        b'M' => Duration::from_secs(n * 60),
        b'S' => Duration::from_secs(n),
        b'm' => Duration::from_millis(n),
        b'u' => Duration::from_micros(n),
        b'n' => Duration::from_nanos(n),
        _ => return Err(InvalidTimeout(())),
    })
}

/// A `grpc-timeout` value that is not 1–8 digits and a unit.
///
/// ```
/// let err = steadfast::__private::parse_timeout(b"soon").unwrap_err();
/// assert_eq!(err.to_string(), "malformed grpc-timeout header");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidTimeout(());

impl fmt::Display for InvalidTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("malformed grpc-timeout header")
    }
}

impl std::error::Error for InvalidTimeout {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encodes_with_the_finest_unit_that_fits() {
        let cases = [
            (Duration::ZERO, "0n"),
            (Duration::from_nanos(99_999_999), "99999999n"),
            (Duration::from_nanos(100_000_000), "100000u"),
            (Duration::from_nanos(100_000_001), "100001u"), // rounded up
            (Duration::from_secs(1), "1000000u"),
            (Duration::from_secs(100), "100000m"),
            (Duration::from_secs(100_000), "100000S"),
            (Duration::from_secs(100_000_000), "1666667M"),
            (Duration::from_secs(60 * 100_000_000), "1666667H"),
            (Duration::MAX, "99999999H"),
        ];
        for (d, s) in cases {
            assert_eq!(encode_timeout(d), s, "{d:?}");
        }
    }

    #[test]
    fn rejects_malformed_values() {
        for bad in [
            &b""[..],
            b"S",
            b"1",
            b"1s",
            b"1x",
            b"-1S",
            b"+1S",
            b" 1S",
            b"1S ",
            b"123456789n",
            b"1.5S",
            "１S".as_bytes(),
            b"1\xffS",
        ] {
            assert_eq!(parse_timeout(bad), Err(InvalidTimeout(())), "{bad:?}");
        }
    }

    #[test]
    fn parses_every_unit() {
        assert_eq!(
            parse_timeout(b"99999999H"),
            Ok(Duration::from_secs(99_999_999 * 3600))
        );
        assert_eq!(parse_timeout(b"2M"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_timeout(b"3S"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_timeout(b"4m"), Ok(Duration::from_millis(4)));
        assert_eq!(parse_timeout(b"5u"), Ok(Duration::from_micros(5)));
        assert_eq!(parse_timeout(b"00000006n"), Ok(Duration::from_nanos(6)));
    }

    /// The encoding as the gRPC spec words it, written the obvious way.
    fn reference_encoding(timeout: Duration) -> String {
        let nanos = timeout.as_nanos();
        for (per_unit, unit) in [
            (1, 'n'),
            (1_000, 'u'),
            (1_000_000, 'm'),
            (1_000_000_000, 'S'),
            (60_000_000_000, 'M'),
            (3_600_000_000_000, 'H'),
        ] {
            let value = nanos.div_ceil(per_unit);
            if value <= 99_999_999 {
                return format!("{value}{unit}");
            }
        }
        "99999999H".to_owned()
    }

    proptest! {
        #[test]
        fn encoding_matches_the_reference(secs in any::<u64>(), nanos in 0u32..1_000_000_000) {
            let d = Duration::new(secs, nanos);
            prop_assert_eq!(encode_timeout(d), reference_encoding(d));
            prop_assert_eq!(
                encode_timeout_value(d).map(|v| v.as_bytes().to_vec()),
                Some(reference_encoding(d).into_bytes())
            );
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
            let _ = parse_timeout(&bytes);
        }

        #[test]
        fn round_trip_never_shortens(nanos in any::<u64>(), secs in any::<u64>()) {
            for d in [Duration::from_nanos(nanos), Duration::from_secs(secs / 1_000_000)] {
                let encoded = encode_timeout(d);
                prop_assert!(encoded.len() <= 9);
                let decoded = parse_timeout(encoded.as_bytes()).expect("own encoding parses");
                let cap = Duration::from_secs(99_999_999 * 3600);
                if d >= cap {
                    prop_assert_eq!(decoded, cap);
                    continue;
                }
                // Rounded up, by less than one unit of the unit chosen.
                let unit = match encoded.as_bytes().last() {
                    Some(b'n') => Duration::from_nanos(1),
                    Some(b'u') => Duration::from_micros(1),
                    Some(b'm') => Duration::from_millis(1),
                    Some(b'S') => Duration::from_secs(1),
                    Some(b'M') => Duration::from_secs(60),
                    _ => Duration::from_secs(3600),
                };
                prop_assert!(decoded >= d && decoded - d < unit, "{:?} -> {} -> {:?}", d, encoded, decoded);
                // The finest unit that fits: the next finer one would need a ninth digit.
                let finer = match encoded.as_bytes().last() {
                    Some(b'u') => Some(1),
                    Some(b'm') => Some(1_000),
                    Some(b'S') => Some(1_000_000),
                    Some(b'M') => Some(1_000_000_000),
                    Some(b'H') => Some(60_000_000_000),
                    _ => None,
                };
                if let Some(finer) = finer {
                    prop_assert!(d.as_nanos().div_ceil(finer) > 99_999_999);
                }
            }
        }
    }
}
