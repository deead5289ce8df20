//! `(resilient.policy)`, `(resilient.default_policy)` and
//! `(resilient.file_policy)` options, read with prost-reflect.

use prost_reflect::{DynamicMessage, ExtensionDescriptor, FileDescriptor, ReflectMessage, Value};

use crate::policy::{code_variant, Backoff, Policy, Retry};

/// The schema users import as `resilient/options.proto`.
pub(crate) const OPTIONS_PROTO: &str = include_str!("../proto/resilient/options.proto");
pub(crate) const OPTIONS_FILE: &str = "resilient/options.proto";

/// Field numbers of the extensions and of `options` in the descriptors.
pub(crate) const METHOD_EXTENSION: i32 = 51001;
pub(crate) const SERVICE_EXTENSION: i32 = 51002;
pub(crate) const FILE_EXTENSION: i32 = 51003;

/// `file.proto:line:col` of the element at `path` (or of its nearest
/// enclosing element that has a location).
pub(crate) fn location(file: &FileDescriptor, path: &[i32]) -> String {
    let name = file.name();
    let Some(info) = &file.file_descriptor_proto().source_code_info else {
        return name.to_owned();
    };
    let mut path = path.to_vec();
    loop {
        if let Some(loc) = info.location.iter().find(|l| l.path == path) {
            if let [line, col, ..] = loc.span[..] {
                return format!("{name}:{}:{}", line + 1, col + 1);
            }
        }
        if path.pop().is_none() {
            return name.to_owned();
        }
    }
}

/// Reads the policy set by `extension` on `options`, if any. Problems are
/// pushed to `problems`, each prefixed with `place`.
pub(crate) fn read(
    options: &DynamicMessage,
    extension: Option<&ExtensionDescriptor>,
    place: &str,
    problems: &mut Vec<String>,
) -> Option<Policy> {
    let extension = extension?;
    if !options.has_extension(extension) {
        return None;
    }
    let value = options.get_extension(extension);
    let Value::Message(message) = value.as_ref() else {
        return None;
    };
    let mut policy = Policy::new();
    let mut problem = |what: String| problems.push(format!("{place}: {what}"));
    if let Some(text) = string(message, "deadline") {
        match resilient_grammar::parse(&text) {
            Ok(d) => policy.deadline = Some(d),
            Err(e) => problem(format!("deadline: {e}")),
        }
    }
    if let Some(Value::Bool(true)) = field(message, "unsafe_retry") {
        policy.unsafe_retry = true;
    }
    if let Some(Value::Message(retry)) = field(message, "retry") {
        match read_retry(&retry) {
            Ok(retry) => policy.retry = Some(retry),
            Err(errors) => errors
                .into_iter()
                .for_each(|e| problem(format!("retry: {e}"))),
        }
    }
    Some(policy)
}

fn field(message: &DynamicMessage, name: &str) -> Option<Value> {
    let desc = message.descriptor().get_field_by_name(name)?;
    message
        .has_field(&desc)
        .then(|| message.get_field(&desc).into_owned())
}

fn string(message: &DynamicMessage, name: &str) -> Option<String> {
    match field(message, name)? {
        Value::String(s) if !s.is_empty() => Some(s),
        _ => None,
    }
}

fn read_retry(message: &DynamicMessage) -> Result<Retry, Vec<String>> {
    let mut problems = Vec::new();
    let max_attempts = match field(message, "max_attempts") {
        Some(Value::U32(n)) if n >= 1 => n,
        _ => {
            problems.push(
                "max_attempts must be at least 1 (it counts every attempt, the first included)"
                    .to_owned(),
            );
            1
        }
    };
    let mut retry = Retry::new(max_attempts);
    retry.backoff = match field(message, "backoff") {
        Some(Value::EnumNumber(2)) => Backoff::Constant,
        Some(Value::EnumNumber(3)) => Backoff::Linear,
        Some(Value::EnumNumber(4)) => Backoff::Fibonacci,
        Some(Value::EnumNumber(5)) => Backoff::None,
        _ => Backoff::Exponential,
    };
    let duration = |name: &str, problems: &mut Vec<String>| {
        let text = string(message, name)?;
        resilient_grammar::parse(&text)
            .map_err(|e| problems.push(format!("{name}: {e}")))
            .ok()
    };
    retry.initial = duration("initial", &mut problems);
    retry.max_delay = duration("max_delay", &mut problems);
    retry.per_attempt = duration("per_attempt", &mut problems);
    if let Some(Value::F64(m)) = field(message, "multiplier") {
        if retry.backoff != Backoff::Exponential {
            problems.push("multiplier only applies to backoff: EXPONENTIAL".to_owned());
        } else if !(m > 1.0 && m.is_finite()) {
            problems.push(format!("multiplier must be greater than 1, not {m}"));
        } else {
            retry.multiplier = Some(m);
        }
    }
    if let Some(jitter) = string(message, "jitter") {
        match check_jitter(&jitter) {
            Ok(()) => retry.jitter = Some(jitter),
            Err(e) => problems.push(e),
        }
    }
    if let Some(Value::List(codes)) = field(message, "on") {
        for code in codes {
            if let Value::String(code) = code {
                if code_variant(&code).is_none() {
                    problems.push(format!(
                        "unknown status code \"{code}\" in `on`: use gRPC names such as \"UNAVAILABLE\" or numbers 0-16"
                    ));
                }
                retry.on.push(code);
            }
        }
    }
    if problems.is_empty() {
        Ok(retry)
    } else {
        Err(problems)
    }
}

pub(crate) fn check_jitter(jitter: &str) -> Result<(), String> {
    if matches!(jitter, "full" | "equal" | "decorrelated" | "none") {
        return Ok(());
    }
    match jitter.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(()),
        _ => Err(format!(
            "jitter \"{jitter}\": expected \"full\", \"equal\", \"decorrelated\", \"none\" or a fraction such as \"0.2\""
        )),
    }
}
