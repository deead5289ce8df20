//! Rates: `50/s`, `3000/m`, `10/h`, `5/100ms`: a number of calls, a slash,
//! and the period, a unit alone (`s`, `m`, `h`) or any duration.
//!
//! ```
//! use std::time::Duration;
//! use steadfast_grammar::rate::{parse_rate, Rate};
//!
//! assert_eq!(parse_rate("50/s"), Ok(Rate { count: 50, period: Duration::from_secs(1) }));
//! assert_eq!(parse_rate("3000/m").unwrap().period, Duration::from_secs(60));
//! assert_eq!(parse_rate("5/100ms").unwrap().period, Duration::from_millis(100));
//! assert_eq!(
//!     parse_rate("0/s").unwrap_err().to_string(),
//!     "`0/s`: a rate admits at least one call per period"
//! );
//! ```

use std::fmt;
use std::time::Duration;

/// A number of calls per period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Calls admitted per period (at least 1).
    pub count: u32,
    /// The period (longer than zero).
    pub period: Duration,
}

/// Why a rate did not parse; its message quotes the input.
///
/// ```
/// let error = steadfast_grammar::rate::parse_rate("50").unwrap_err();
/// assert_eq!(error.to_string(), "`50`: a rate is written calls/period, as in `50/s` or `3000/m`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateError {
    input: String,
    reason: String,
}

impl fmt::Display for RateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.input, self.reason)
    }
}

impl std::error::Error for RateError {}

/// Parses a rate such as `50/s`, `3000/m` or `5/100ms`.
///
/// # Errors
///
/// A [`RateError`]: no slash, a count that is not a whole number from 1 to
/// 4,294,967,295, or a period that is not a unit or a duration longer than
/// zero.
pub fn parse_rate(input: &str) -> Result<Rate, RateError> {
    let error = |reason: String| RateError {
        input: input.to_owned(),
        reason,
    };
    let Some((count, period)) = input.split_once('/') else {
        return Err(error(
            "a rate is written calls/period, as in `50/s` or `3000/m`".to_owned(),
        ));
    };
    let count: u32 = match count.trim().parse() {
        Ok(0) => {
            return Err(error(
                "a rate admits at least one call per period".to_owned(),
            ))
        }
        Ok(count) => count,
        Err(_) => {
            return Err(error(format!(
                "`{}` is not a number of calls (a whole number from 1 to {})",
                count.trim(),
                u32::MAX
            )))
        }
    };
    let period = period.trim();
    let period = match period {
        "s" | "sec" | "second" => Duration::from_secs(1),
        "m" | "min" | "minute" => Duration::from_secs(60),
        "h" | "hour" => Duration::from_secs(3600),
        written => match crate::parse(written) {
            Ok(d) if d.is_zero() => return Err(error("the period is longer than zero".to_owned())),
            Ok(d) => d,
            Err(e) => return Err(error(format!("the period: {e}"))),
        },
    };
    Ok(Rate { count, period })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mistake_says_what_to_write() {
        for (input, message) in [
            ("s", "a rate is written calls/period"),
            ("x/s", "`x` is not a number of calls"),
            ("-1/s", "`-1` is not a number of calls"),
            ("99999999999/s", "is not a number of calls"),
            ("1/0s", "the period is longer than zero"),
            ("1/fortnight", "the period: "),
        ] {
            let error = parse_rate(input).unwrap_err().to_string();
            assert!(error.contains(message), "{input}: {error}");
        }
        assert_eq!(parse_rate(" 7 / 2s ").unwrap().count, 7);
    }
}
