//! Build errors: every problem found, each with where it is.

use std::fmt;

/// What `compile` could not accept. Each line names its place, as
/// `file.proto:line:col` or `service_config.json: methodConfig[0]...`,
/// and says what is wrong; all problems are reported at once.
///
/// ```
/// let err = resilient_build::configure()
///     .out_dir(std::env::temp_dir())
///     .compile(&["does/not/exist.proto"], &["does/not"])
///     .unwrap_err();
/// assert!(err.to_string().contains("exist.proto"));
/// ```
#[derive(Debug)]
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
    /// let err = resilient_build::configure().compile(&["nope.proto"], &["."]).unwrap_err();
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

impl std::error::Error for Error {}

impl From<protox::Error> for Error {
    fn from(error: protox::Error) -> Self {
        let place = locate(&error)
            .or_else(|| error.file().map(str::to_owned))
            .map(|place| format!("{place}: "))
            .unwrap_or_default();
        let mut message = format!("{place}{error}");
        if let Some(help) = miette::Diagnostic::help(&error) {
            message.push_str(&format!(" ({help})"));
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
