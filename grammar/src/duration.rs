//! Durations: `150ms`, `2s`, `1.5s`, `1m30s`.
//!
//! A duration is one or more `<number><unit>` parts written without spaces,
//! largest unit first: `150ms`, `2s`, `1.5s`, `1m`, `500us`, `1m30s`, `1h`.
//! Numbers are decimal and may have a fraction (`1.5s`, `0.25ms`); units are
//! `h`, `m`, `s`, `ms`, `us` (or `µs`) and `ns`.
//!
//! ```
//! use std::time::Duration;
//!
//! assert_eq!(steadfast_grammar::parse("1m30s"), Ok(Duration::from_secs(90)));
//! let err = steadfast_grammar::parse("2").unwrap_err();
//! assert_eq!(err.to_string(), "`2` has no unit: add one, as in `2s` (units: h, m, s, ms, us, ns)");
//! ```

use std::fmt;
use std::time::Duration;

/// The units of the grammar, longest spelling first so that `ms` wins over `m`.
const UNITS: &[(&str, u128)] = &[
    ("ms", 1_000_000),
    ("us", 1_000),
    ("µs", 1_000),
    ("ns", 1),
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
];

const UNIT_LIST: &str = "h, m, s, ms, us, ns";

/// Parses a duration such as `150ms`, `2s`, `1.5s` or `1m30s`.
///
/// Fractions finer than a nanosecond are rounded up, so a parsed duration
/// never comes out shorter than written.
///
/// # Errors
///
/// A [`DurationError`] that says what was wrong and at which byte of `input`:
/// an empty string, a sign, a number without a unit, an unknown unit, units
/// out of order or repeated, or a value too large for [`Duration`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use steadfast_grammar::parse;
///
/// assert_eq!(parse("150ms"), Ok(Duration::from_millis(150)));
/// assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
/// assert_eq!(parse("500us"), Ok(Duration::from_micros(500)));
/// assert!(parse("-1s").is_err());
/// ```
pub fn parse(input: &str) -> Result<Duration, DurationError> {
    if input.is_empty() {
        return Err(DurationError::new(ErrorKind::Empty, 0, input));
    }
    let mut total: u128 = 0;
    let mut pos = 0;
    // Units must strictly shrink from part to part (`1m30s`, not `30s1m` or `1s1s`).
    let mut previous_unit: Option<u128> = None;
    while pos < input.len() {
        let rest = &input[pos..];
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_len == 0 {
            let kind = match rest.chars().next() {
                Some('-') => ErrorKind::Negative,
                Some('+') => ErrorKind::Sign,
                _ => ErrorKind::ExpectedNumber,
            };
            return Err(DurationError::new(kind, pos, input));
        }
        let number = &rest[..number_len];
        let (whole, fraction) = split_number(number)
            .ok_or_else(|| DurationError::new(ErrorKind::BadNumber, pos, input))?;
        let unit_at = pos + number_len;
        let unit_text = &input[unit_at..];
        if unit_text.is_empty() {
            return Err(DurationError::new(
                ErrorKind::MissingUnit(number.to_owned()),
                pos,
                input,
            ));
        }
        let (unit, nanos_per_unit) = UNITS
            .iter()
            .find(|(name, _)| unit_text.starts_with(name))
            .copied()
            .ok_or_else(|| {
                let word: String = unit_text
                    .chars()
                    .take_while(|c| c.is_alphabetic())
                    .collect();
                let kind = if word.is_empty() {
                    ErrorKind::MissingUnit(number.to_owned())
                } else {
                    ErrorKind::UnknownUnit(word)
                };
                DurationError::new(kind, unit_at, input)
            })?;
        // A unit is a whole word: `2sec` is an unknown unit, not `2s` + `ec`.
        let after = unit_at + unit.len();
        if input[after..].starts_with(|c: char| c.is_alphabetic()) {
            let word: String = unit_text
                .chars()
                .take_while(|c| c.is_alphabetic())
                .collect();
            return Err(DurationError::new(
                ErrorKind::UnknownUnit(word),
                unit_at,
                input,
            ));
        }
        if previous_unit.is_some_and(|prev| prev <= nanos_per_unit) {
            return Err(DurationError::new(ErrorKind::UnitOrder, unit_at, input));
        }
        previous_unit = Some(nanos_per_unit);
        let part = part_nanos(whole, fraction, nanos_per_unit)
            .ok_or_else(|| DurationError::new(ErrorKind::Overflow, pos, input))?;
        total = total
            .checked_add(part)
            .ok_or_else(|| DurationError::new(ErrorKind::Overflow, pos, input))?;
        pos = after;
    }
    nanos_to_duration(total).ok_or_else(|| DurationError::new(ErrorKind::Overflow, 0, input))
}

/// Splits `12.5` into `("12", "5")`; `None` for `.5`, `1.`, or two dots.
fn split_number(number: &str) -> Option<(&str, &str)> {
    match number.split_once('.') {
        None => Some((number, "")),
        Some((whole, fraction))
            if !whole.is_empty() && !fraction.is_empty() && !fraction.contains('.') =>
        {
            Some((whole, fraction))
        }
        Some(_) => None,
    }
}

/// `whole.fraction` units in nanoseconds, the fraction rounded up.
fn part_nanos(whole: &str, fraction: &str, nanos_per_unit: u128) -> Option<u128> {
    let mut nanos = whole.parse::<u128>().ok()?.checked_mul(nanos_per_unit)?;
    // Digits beyond the 20th cannot matter below a nanosecond of an hour; they only round up.
    let (kept, dropped) = fraction.split_at(fraction.len().min(20));
    if !kept.is_empty() {
        let digits = kept.parse::<u128>().ok()?;
        let scale = 10u128.pow(u32::try_from(kept.len()).ok()?);
        let scaled = digits.checked_mul(nanos_per_unit)?;
        let rounded_up = scaled.div_ceil(scale)
            + u128::from(scaled % scale == 0 && dropped.bytes().any(|b| b != b'0'));
        nanos = nanos.checked_add(rounded_up)?;
    }
    Some(nanos)
}

fn nanos_to_duration(nanos: u128) -> Option<Duration> {
    let secs = u64::try_from(nanos / 1_000_000_000).ok()?;
    // The remainder is below 1e9, so it always fits in a u32.
    let subsec = (nanos % 1_000_000_000) as u32;
    Some(Duration::new(secs, subsec))
}

/// Why a duration did not parse, and where.
///
/// Its [`Display`](fmt::Display) is a sentence for a person; [`position`](Self::position)
/// is the byte offset in the input where the problem starts, so a macro or a
/// build script can point at the exact character.
///
/// ```
/// let err = steadfast_grammar::parse("1m30x").unwrap_err();
/// assert_eq!(err.position(), 4);
/// assert_eq!(err.to_string(), "unknown unit `x` at byte 4 of `1m30x` (units: h, m, s, ms, us, ns)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError {
    kind: ErrorKind,
    position: usize,
    input: String,
}

/// What kind of mistake a [`DurationError`] reports.
///
/// ```
/// use steadfast_grammar::{parse, ErrorKind};
///
/// assert_eq!(parse("2").unwrap_err().kind(), &ErrorKind::MissingUnit("2".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input was empty.
    Empty,
    /// The input started with `-`: durations are never negative.
    Negative,
    /// The input started with `+`.
    Sign,
    /// Something other than a number stood where a number was expected.
    ExpectedNumber,
    /// A number such as `1.` or `1.2.3`.
    BadNumber,
    /// A number with no unit after it (holds the number).
    MissingUnit(String),
    /// A unit the grammar does not know (holds the word).
    UnknownUnit(String),
    /// Units not strictly largest first, as in `30s1m` or `1s2s`.
    UnitOrder,
    /// The value does not fit in a [`Duration`].
    Overflow,
}

impl DurationError {
    fn new(kind: ErrorKind, position: usize, input: &str) -> Self {
        Self {
            kind,
            position,
            input: input.to_owned(),
        }
    }

    /// What was wrong.
    ///
    /// ```
    /// use steadfast_grammar::{parse, ErrorKind};
    /// assert_eq!(parse("-1s").unwrap_err().kind(), &ErrorKind::Negative);
    /// ```
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Byte offset in the input where the problem starts.
    ///
    /// ```
    /// assert_eq!(steadfast_grammar::parse("2sec").unwrap_err().position(), 1);
    /// ```
    pub fn position(&self) -> usize {
        self.position
    }
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (at, input) = (self.position, &self.input);
        match &self.kind {
            ErrorKind::Empty => write!(f, "empty duration: write one as in `2s` or `150ms`"),
            ErrorKind::Negative => write!(f, "durations cannot be negative: `{input}`"),
            ErrorKind::Sign => write!(f, "remove the `+` sign from `{input}`"),
            ErrorKind::ExpectedNumber => {
                write!(f, "expected a number at byte {at} of `{input}`")
            }
            ErrorKind::BadNumber => write!(f, "malformed number at byte {at} of `{input}`"),
            ErrorKind::MissingUnit(number) => write!(
                f,
                "`{number}` has no unit: add one, as in `{number}s` (units: {UNIT_LIST})"
            ),
            ErrorKind::UnknownUnit(word) => write!(
                f,
                "unknown unit `{word}` at byte {at} of `{input}` (units: {UNIT_LIST})"
            ),
            ErrorKind::UnitOrder => write!(
                f,
                "units must go from largest to smallest, each once, as in `1m30s`: byte {at} of `{input}`"
            ),
            ErrorKind::Overflow => write!(f, "duration `{input}` is too large"),
        }
    }
}

impl std::error::Error for DurationError {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(s: &str) -> Duration {
        parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_every_unit() {
        assert_eq!(ok("150ms"), Duration::from_millis(150));
        assert_eq!(ok("2s"), Duration::from_secs(2));
        assert_eq!(ok("1.5s"), Duration::from_millis(1500));
        assert_eq!(ok("1m"), Duration::from_secs(60));
        assert_eq!(ok("500us"), Duration::from_micros(500));
        assert_eq!(ok("500µs"), Duration::from_micros(500));
        assert_eq!(ok("7ns"), Duration::from_nanos(7));
        assert_eq!(ok("1h"), Duration::from_secs(3600));
        assert_eq!(ok("1m30s"), Duration::from_secs(90));
        assert_eq!(ok("1h1m1s1ms1us1ns"), Duration::new(3661, 1_001_001));
        assert_eq!(ok("0s"), Duration::ZERO);
        assert_eq!(ok("0.000000001s"), Duration::from_nanos(1));
    }

    #[test]
    fn sub_nanosecond_fractions_round_up() {
        assert_eq!(ok("1.5ns"), Duration::from_nanos(2));
        assert_eq!(ok("0.0000000001s"), Duration::from_nanos(1));
        assert_eq!(ok("0.000000000000000000000001s"), Duration::from_nanos(1));
        assert_eq!(ok("1.000000000000000000000000s"), Duration::from_secs(1));
    }

    #[test]
    fn errors_say_what_and_where() {
        let cases: &[(&str, ErrorKind, usize)] = &[
            ("", ErrorKind::Empty, 0),
            ("-1s", ErrorKind::Negative, 0),
            ("+1s", ErrorKind::Sign, 0),
            ("s", ErrorKind::ExpectedNumber, 0),
            ("2", ErrorKind::MissingUnit("2".into()), 0),
            ("1m30", ErrorKind::MissingUnit("30".into()), 2),
            ("2 s", ErrorKind::MissingUnit("2".into()), 1),
            ("2sec", ErrorKind::UnknownUnit("sec".into()), 1),
            ("2x", ErrorKind::UnknownUnit("x".into()), 1),
            ("1.s", ErrorKind::BadNumber, 0),
            (".5s", ErrorKind::BadNumber, 0),
            ("1.2.3s", ErrorKind::BadNumber, 0),
            ("30s1m", ErrorKind::UnitOrder, 4),
            ("1s1s", ErrorKind::UnitOrder, 3),
            ("99999999999999999999999h", ErrorKind::Overflow, 0),
            ("18446744073709551616s", ErrorKind::Overflow, 0),
        ];
        for (input, kind, position) in cases {
            let err = parse(input).expect_err(input);
            assert_eq!((err.kind(), err.position()), (kind, *position), "{input}");
            assert!(!err.to_string().is_empty());
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = parse(&s);
        }

        #[test]
        fn millis_round_trip(ms in 0u64..=u64::MAX / 1_000_000) {
            prop_assert_eq!(parse(&format!("{ms}ms")), Ok(Duration::from_millis(ms)));
        }

        #[test]
        fn compound_is_the_sum(m in 0u64..10_000, s in 0u64..60, ms in 0u64..1000) {
            let text = format!("{m}m{s}s{ms}ms");
            let expected = Duration::from_secs(m * 60 + s) + Duration::from_millis(ms);
            prop_assert_eq!(parse(&text), Ok(expected));
        }

        #[test]
        fn fractions_match_decimal_value(whole in 0u64..1000, frac in 0u32..1000) {
            let text = format!("{whole}.{frac:03}s");
            let expected = Duration::from_secs(whole) + Duration::from_millis(u64::from(frac));
            prop_assert_eq!(parse(&text), Ok(expected));
        }
    }
}
