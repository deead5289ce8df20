//! Retry-policy words and their ranges: backoff schedules, jitter, attempt
//! counts, multipliers and gRPC status codes.

/// A delay schedule's shape.
///
/// ```
/// use steadfast_grammar::policy::Growth;
/// assert_eq!(Growth::from_name("exponential"), Some(Growth::Exponential));
/// assert_eq!(Growth::Exponential.name(), "exp");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Growth {
    /// `initial * multiplier^(n-1)`.
    Exponential,
    /// `initial` every time.
    Constant,
    /// `initial * n`.
    Linear,
    /// `initial * fib(n)`.
    Fibonacci,
    /// No delay.
    None,
}

/// Every accepted spelling of a backoff, with what it means.
pub const BACKOFFS: &[(&str, Growth)] = &[
    ("exp", Growth::Exponential),
    ("exponential", Growth::Exponential),
    ("const", Growth::Constant),
    ("constant", Growth::Constant),
    ("linear", Growth::Linear),
    ("fib", Growth::Fibonacci),
    ("fibonacci", Growth::Fibonacci),
    ("none", Growth::None),
];

/// Every accepted spelling of a backoff, for error messages.
pub const BACKOFF_NAMES: &[&str] = &[
    "exp",
    "exponential",
    "const",
    "constant",
    "linear",
    "fib",
    "fibonacci",
    "none",
];

/// Spellings people reach for that mean an accepted one.
pub const BACKOFF_ALIASES: &[(&str, &str)] = &[("expo", "exp"), ("fixed", "constant")];

impl Growth {
    /// The schedule a name stands for.
    ///
    /// ```
    /// use steadfast_grammar::policy::Growth;
    /// assert_eq!(Growth::from_name("const"), Some(Growth::Constant));
    /// assert_eq!(Growth::from_name("expo"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        BACKOFFS
            .iter()
            .find(|(spelling, _)| *spelling == name)
            .map(|(_, growth)| *growth)
    }

    /// Whether the schedule takes a `multiplier` (only exponential does).
    ///
    /// ```
    /// use steadfast_grammar::policy::Growth;
    /// assert!(Growth::Exponential.takes_multiplier());
    /// assert!(!Growth::Linear.takes_multiplier());
    /// ```
    pub const fn takes_multiplier(self) -> bool {
        matches!(self, Self::Exponential)
    }

    /// The short name the `#[retry]` attribute writes.
    ///
    /// ```
    /// assert_eq!(steadfast_grammar::policy::Growth::Fibonacci.name(), "fib");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Self::Exponential => "exp",
            Self::Constant => "const",
            Self::Linear => "linear",
            Self::Fibonacci => "fib",
            Self::None => "none",
        }
    }
}

/// How delays are randomised.
///
/// ```
/// use steadfast_grammar::policy::Jitter;
/// assert_eq!(Jitter::parse("full"), Ok(Jitter::Full));
/// assert!(Jitter::parse("1.5").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Jitter {
    /// `random(0, delay)`.
    Full,
    /// `delay / 2 + random(0, delay / 2)`.
    Equal,
    /// AWS's decorrelated jitter.
    Decorrelated,
    /// Exact delays.
    None,
    /// `delay * random(1 - f, 1 + f)`, `f` in `0.0..=1.0` (gRPC A6's is `0.2`).
    Fraction(f64),
}

/// The named jitters.
pub const JITTER_NAMES: &[&str] = &["full", "equal", "decorrelated", "none"];

/// What every jitter error ends with.
pub const JITTER_EXPECTED: &str =
    "expected `full`, `equal`, `decorrelated`, `none` or a fraction such as `0.2`";

impl Jitter {
    /// A jitter by name (`"full"`, `"equal"`, `"decorrelated"`, `"none"`).
    ///
    /// ```
    /// use steadfast_grammar::policy::Jitter;
    /// assert_eq!(Jitter::from_name("equal"), Some(Jitter::Equal));
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "full" => Some(Self::Full),
            "equal" => Some(Self::Equal),
            "decorrelated" => Some(Self::Decorrelated),
            "none" => Some(Self::None),
            _ => None,
        }
    }

    /// A fraction, checked to lie in `0.0..=1.0`.
    ///
    /// ```
    /// use steadfast_grammar::policy::Jitter;
    /// assert_eq!(Jitter::fraction(0.1), Ok(Jitter::Fraction(0.1)));
    /// assert!(Jitter::fraction(-0.1).is_err());
    /// ```
    pub fn fraction(f: f64) -> Result<Self, String> {
        if (0.0..=1.0).contains(&f) {
            Ok(Self::Fraction(f))
        } else {
            Err("a jitter fraction is between 0.0 and 1.0 (`0.2` is ±20%)".to_owned())
        }
    }

    /// A name or a fraction, as proto options and service configs write it.
    ///
    /// ```
    /// use steadfast_grammar::policy::Jitter;
    /// assert_eq!(Jitter::parse("0.25"), Ok(Jitter::Fraction(0.25)));
    /// assert!(Jitter::parse("ful").unwrap_err().contains("expected"));
    /// ```
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(jitter) = Self::from_name(text) {
            return Ok(jitter);
        }
        match text.parse::<f64>() {
            Ok(f) => Self::fraction(f),
            Err(_) => Err(format!("unknown jitter `{text}`: {JITTER_EXPECTED}")),
        }
    }
}

/// The fewest attempts a policy may allow: the first one always runs.
pub const MIN_ATTEMPTS: u32 = 1;

/// Checks an attempt count (every attempt, the first included).
///
/// ```
/// use steadfast_grammar::policy::check_max_attempts;
/// assert_eq!(check_max_attempts(3), Ok(3));
/// assert!(check_max_attempts(0).is_err());
/// ```
pub fn check_max_attempts(n: u32) -> Result<u32, &'static str> {
    if n >= MIN_ATTEMPTS {
        Ok(n)
    } else {
        Err("must be at least 1 (it counts every attempt, the first included)")
    }
}

/// Checks an exponential schedule's multiplier: finite and greater than 1.
///
/// ```
/// use steadfast_grammar::policy::check_multiplier;
/// assert_eq!(check_multiplier(1.5), Ok(1.5));
/// assert!(check_multiplier(1.0).is_err());
/// ```
pub fn check_multiplier(m: f64) -> Result<f64, &'static str> {
    if m > 1.0 && m.is_finite() {
        Ok(m)
    } else {
        Err("must be greater than 1, as in `2.0`")
    }
}

/// gRPC status codes: the name gRPC gives each (its number is the index)
/// and tonic's `Code` variant.
pub const CODES: [(&str, &str); 17] = [
    ("OK", "Ok"),
    ("CANCELLED", "Cancelled"),
    ("UNKNOWN", "Unknown"),
    ("INVALID_ARGUMENT", "InvalidArgument"),
    ("DEADLINE_EXCEEDED", "DeadlineExceeded"),
    ("NOT_FOUND", "NotFound"),
    ("ALREADY_EXISTS", "AlreadyExists"),
    ("PERMISSION_DENIED", "PermissionDenied"),
    ("RESOURCE_EXHAUSTED", "ResourceExhausted"),
    ("FAILED_PRECONDITION", "FailedPrecondition"),
    ("ABORTED", "Aborted"),
    ("OUT_OF_RANGE", "OutOfRange"),
    ("UNIMPLEMENTED", "Unimplemented"),
    ("INTERNAL", "Internal"),
    ("UNAVAILABLE", "Unavailable"),
    ("DATA_LOSS", "DataLoss"),
    ("UNAUTHENTICATED", "Unauthenticated"),
];

/// tonic's `Code` variant for a gRPC code name (`"UNAVAILABLE"`, any case),
/// number (`"14"`) or tonic variant name (`"Unavailable"`).
///
/// ```
/// use steadfast_grammar::policy::code_variant;
/// assert_eq!(code_variant("UNAVAILABLE"), Some("Unavailable"));
/// assert_eq!(code_variant("unavailable"), Some("Unavailable"));
/// assert_eq!(code_variant("ResourceExhausted"), Some("ResourceExhausted"));
/// assert_eq!(code_variant("14"), Some("Unavailable"));
/// assert_eq!(code_variant("17"), None);
/// ```
pub fn code_variant(code: &str) -> Option<&'static str> {
    let code = code.trim();
    if let Ok(n) = code.parse::<usize>() {
        return CODES.get(n).map(|(_, variant)| *variant);
    }
    CODES
        .iter()
        .find(|(name, variant)| name.eq_ignore_ascii_case(code) || *variant == code)
        .map(|(_, variant)| *variant)
}

/// tonic's `Code` variant names, as the `on = [..]` key of `#[retry]` takes them.
///
/// ```
/// assert!(steadfast_grammar::policy::code_variants().any(|v| v == "Aborted"));
/// ```
pub fn code_variants() -> impl Iterator<Item = &'static str> {
    CODES.iter().map(|(_, variant)| *variant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_backoff_spelling_has_a_name_listed() {
        for (spelling, growth) in BACKOFFS {
            assert!(BACKOFF_NAMES.contains(spelling));
            assert_eq!(Growth::from_name(growth.name()), Some(*growth));
        }
        assert_eq!(BACKOFFS.len(), BACKOFF_NAMES.len());
    }

    #[test]
    fn every_jitter_name_parses() {
        for name in JITTER_NAMES {
            assert_eq!(
                Jitter::parse(name),
                Jitter::from_name(name).ok_or(String::new())
            );
        }
        assert!(Jitter::parse("NaN").is_err());
    }

    #[test]
    fn codes_by_name_number_and_variant() {
        for (n, (name, variant)) in CODES.iter().enumerate() {
            assert_eq!(code_variant(name), Some(*variant));
            assert_eq!(code_variant(&n.to_string()), Some(*variant));
            assert_eq!(code_variant(variant), Some(*variant));
        }
        assert_eq!(code_variant("BUSY"), None);
    }
}
