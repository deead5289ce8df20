//! Build errors: every problem found, each with where it is.

use std::fmt;

/// What `compile` could not accept. Each line names its place, as
/// `file.proto:line:col` or `service_config.json: methodConfig[0]...`,
/// and says what is wrong; all problems are reported at once.
///
/// ```
/// let err = steadfast_build::configure()
///     .out_dir(std::env::temp_dir())
///     .compile(&["does/not/exist.proto"], &["does/not"])
///     .unwrap_err();
/// assert!(err.to_string().contains("exist.proto"));
/// ```
///
/// `Debug` prints the same lines, so that `fn main() -> Result<(), Box<dyn Error>>`
/// in a build script shows one problem a line, its place first.
pub struct Error {
    problems: Vec<String>,
}

impl Error {
    pub(crate) fn new(problems: Vec<String>) -> Self {
        Self { problems }
    }

    pub(crate) fn one(problem: impl Into<String>) -> Self {
        Self {
            problems: vec![problem.into()],
        }
    }

    /// Each problem, as one line.
    ///
    /// ```
    /// let err = steadfast_build::configure().compile(&["nope.proto"], &["."]).unwrap_err();
    /// assert!(!err.problems().is_empty());
    /// ```
    pub fn problems(&self) -> &[String] {
        &self.problems
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            f.write_str(problem)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Error {}

impl From<protox::Error> for Error {
    fn from(error: protox::Error) -> Self {
        let place = locate(&error)
            .or_else(|| error.file().map(str::to_owned))
            .map(|place| format!("{place}: "))
            .unwrap_or_default();
        let mut message = format!("{place}{error}");
        // The detail (which field, which name) is in the labels, help and causes.
        let mut details = Vec::new();
        if let Some(labels) = miette::Diagnostic::labels(&error) {
            details.extend(labels.filter_map(|l| l.label().map(str::to_owned)));
        }
        if let Some(help) = miette::Diagnostic::help(&error) {
            details.push(help.to_string());
        }
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            details.push(cause.to_string());
            source = cause.source();
        }
        if let Some(related) = miette::Diagnostic::related(&error) {
            details.extend(related.map(ToString::to_string));
        }
        details.dedup();
        details.retain(|d| d != "found here");
        if message.contains("'steadfast.Policy'")
            || message.contains("'steadfast.Retry'")
            || message.contains("'steadfast.Breaker'")
        {
            // protox does not say which field or value it rejected: say
            // what each field is and how its value is written.
            details.push(
                "`Policy` fields are deadline, retry, hedge, unsafe_retry, breaker; `retry` fields are \
                 max_attempts, backoff, initial, multiplier, max_delay, jitter, per_attempt, on; \
                 `breaker` fields are failure_ratio, min_calls, window, open_for, half_open, slow, \
                 slow_ratio, failures. Values: `on` is a list of status-code names in quotes \
                 (`on: [\"UNAVAILABLE\", \"RESOURCE_EXHAUSTED\"]`); durations and `jitter` are \
                 strings (`initial: \"100ms\"`, `jitter: \"0.2\"`); `backoff` is a name without \
                 quotes (EXPONENTIAL, CONSTANT, LINEAR, FIBONACCI, NONE); numbers are bare \
                 (`max_attempts: 3`, `failure_ratio: 0.5`)"
                    .to_owned(),
            );
        }
        if !details.is_empty() {
            message.push_str(&format!(": {}", details.join("; ")));
        }
        Self::one(message)
    }
}

/// `file:line:col` of a protox error's first label.
fn locate(error: &protox::Error) -> Option<String> {
    use miette::Diagnostic;
    let label = error.labels()?.next()?;
    let source = error.source_code()?;
    let contents = source.read_span(label.inner(), 0, 0).ok()?;
    let name = contents
        .name()
        .map(str::to_owned)
        .or_else(|| error.file().map(str::to_owned))?;
    Some(format!(
        "{name}:{}:{}",
        contents.line() + 1,
        contents.column() + 1
    ))
}

impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Self {
        Self::one(error.to_string())
    }
}
