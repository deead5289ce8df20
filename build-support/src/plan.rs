//! From compiled descriptors to generated files: read every policy source,
//! resolve each method's policy, check it is safe, and write the code.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use prost_reflect::{DescriptorPool, MethodDescriptor};
use protox::file::{
    ChainFileResolver, File, FileResolver, GoogleFileResolver, IncludeFileResolver,
};

use crate::codegen::{Generator, MethodPlan};
use crate::options::{
    self, location, Channel, CHANNEL_EXTENSION, FILE_EXTENSION, METHOD_EXTENSION, SERVICE_EXTENSION,
};
use steadfast_grammar::policy::{check_max_attempts, check_multiplier};

use crate::policy::{code_variant, Hedge, Policy, Retry};
use crate::service_config::ServiceConfig;
use crate::{Builder, Error};

/// What a run produced besides the files.
#[derive(Debug, Default)]
pub(crate) struct Generated {
    pub(crate) warnings: Vec<String>,
    /// The generated Rust of each package's resilient clients, for tests.
    #[allow(dead_code)]
    pub(crate) clients: BTreeMap<String, String>,
}

/// Serves `steadfast/options.proto` from this crate, so users import it
/// without copying it.
struct Embedded;

impl FileResolver for Embedded {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        if name == options::OPTIONS_FILE {
            File::from_source(name, options::OPTIONS_PROTO)
        } else {
            Err(protox::Error::file_not_found(name))
        }
    }
}

/// Where a part of a policy came from, most specific first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    MethodOption,
    ServiceOption,
    FileOption,
    ConfigMethod,
    ConfigService,
    BuilderMethod,
    BuilderDefault,
}

impl Source {
    fn describe(self) -> &'static str {
        match self {
            Source::MethodOption => "the method's `(steadfast.policy)`",
            Source::ServiceOption => "the service's `(steadfast.default_policy)`",
            Source::FileOption => "the file's `(steadfast.file_policy)`",
            Source::ConfigMethod => "the service config entry for this method",
            Source::ConfigService => "the service config's service or global entry",
            Source::BuilderMethod => "the build script's `method(..)`",
            Source::BuilderDefault => "the build script's `default_policy(..)`",
        }
    }

    /// Whether the source is a gRPC service config: the service owner's word.
    fn is_service_config(self) -> bool {
        matches!(self, Source::ConfigMethod | Source::ConfigService)
    }

    /// Whether the source names this one method, rather than many.
    fn is_specific(self) -> bool {
        matches!(
            self,
            Source::MethodOption | Source::ConfigMethod | Source::BuilderMethod
        )
    }
}

pub(crate) fn generate<P: AsRef<Path>>(
    builder: &Builder,
    protos: &[P],
    includes: &[P],
    out_dir: &Path,
) -> Result<Generated, Error> {
    let mut resolver = ChainFileResolver::new();
    for include in includes {
        resolver.add(IncludeFileResolver::new(include.as_ref().to_owned()));
    }
    resolver.add(Embedded);
    resolver.add(GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    // Imports included, as `protox::compile` does: prost must see every
    // message a requested file refers to, its own package's other files too.
    compiler.include_source_info(true).include_imports(true);
    compiler.open_files(protos.iter().map(AsRef::as_ref))?;
    let pool = compiler.descriptor_pool();
    let descriptors = compiler.file_descriptor_set();

    let config = match &builder.service_config {
        Some(path) => Some(ServiceConfig::load(path)?),
        None => None,
    };
    let mut generated = Generated::default();
    if let Some(config) = &config {
        generated
            .warnings
            .extend(config.not_applied.iter().cloned());
    }
    let plans = plan(builder, &pool, config.as_ref(), &mut generated.warnings)?;
    let channels = channels(&pool)?;

    std::fs::create_dir_all(out_dir)?;
    let runtime = builder.runtime()?;
    let tonic = builder.tonic_builder(&runtime);
    let throttling = match &config {
        Some(config) => pool
            .services()
            .filter_map(|s| {
                config
                    .throttling_for(s.full_name())
                    .map(|t| (s.full_name().to_owned(), t))
            })
            .collect(),
        None => HashMap::new(),
    };
    let (generator, output) = Generator::new(
        runtime,
        tonic.clone().service_generator(),
        plans,
        throttling,
        channels,
    );
    let mut prost = tonic_prost_build::Config::new();
    prost.service_generator(Box::new(generator));
    // tonic's generator runs inside ours: turned off here, it does not
    // replace ours with itself.
    tonic
        .build_client(false)
        .build_server(false)
        .out_dir(out_dir)
        .compile_fds_with_config(descriptors, prost)
        .map_err(|e| Error::one(format!("generating code: {e}")))?;
    let output = output.take();
    if !output.problems.is_empty() {
        return Err(Error::new(output.problems));
    }
    generated.clients = output.clients;
    Ok(generated)
}

/// Every service's `(steadfast.channel)`, by `package.Service`.
fn channels(pool: &DescriptorPool) -> Result<HashMap<String, Channel>, Error> {
    let extension = pool.get_extension_by_name("steadfast.channel");
    let mut problems = Vec::new();
    let mut channels = HashMap::new();
    for file in pool.files() {
        for service in file.services() {
            let mut option_path = service.path().to_vec();
            option_path.extend([3, CHANNEL_EXTENSION]);
            let place = location(&file, &option_path);
            let options = service.options();
            if let Some(channel) =
                options::read_channel(&options, extension.as_ref(), &place, &mut problems)
            {
                channels.insert(service.full_name().to_owned(), channel);
            }
        }
    }
    if problems.is_empty() {
        Ok(channels)
    } else {
        Err(Error::new(problems))
    }
}

/// Every method's policy, by `package.Service/Method`: the methods of the
/// requested files and of the files they import, as tonic generates clients
/// for all of them.
fn plan(
    builder: &Builder,
    pool: &DescriptorPool,
    config: Option<&ServiceConfig>,
    warnings: &mut Vec<String>,
) -> Result<HashMap<String, MethodPlan>, Error> {
    let mut problems = Vec::new();
    check_builder(builder, &mut problems);
    let method_ext = pool.get_extension_by_name("steadfast.policy");
    let service_ext = pool.get_extension_by_name("steadfast.default_policy");
    let file_ext = pool.get_extension_by_name("steadfast.file_policy");
    let mut plans = HashMap::new();

    for file in pool.files() {
        let file_policy = options::read(
            &file.options(),
            file_ext.as_ref(),
            &location(&file, &[8, FILE_EXTENSION]),
            &mut problems,
        );
        for service in file.services() {
            let mut option_path = service.path().to_vec();
            option_path.extend([3, SERVICE_EXTENSION]);
            let service_policy = options::read(
                &service.options(),
                service_ext.as_ref(),
                &location(&file, &option_path),
                &mut problems,
            );
            for method in service.methods() {
                let mut option_path = method.path().to_vec();
                option_path.extend([4, METHOD_EXTENSION]);
                let option_place = location(&file, &option_path);
                let method_policy = options::read(
                    &method.options(),
                    method_ext.as_ref(),
                    &option_place,
                    &mut problems,
                );
                let full = format!("{}/{}", service.full_name(), method.name());
                let builder_method = builder
                    .methods
                    .iter()
                    .find(|(name, _)| *name == full)
                    .map(|(_, p)| p);
                let (config_method, config_other) = match config {
                    Some(c) => split_config(c, service.full_name(), method.name()),
                    None => (None, None),
                };
                let sources = [
                    (Source::MethodOption, method_policy.as_ref()),
                    (Source::ServiceOption, service_policy.as_ref()),
                    (Source::FileOption, file_policy.as_ref()),
                    (Source::ConfigMethod, config_method),
                    (Source::ConfigService, config_other),
                    (Source::BuilderMethod, builder_method),
                    (Source::BuilderDefault, builder.default_policy.as_ref()),
                ];
                let place = if method_policy.is_some() {
                    option_place
                } else {
                    location(&file, method.path())
                };
                let plan = method_plan(&method, &sources, &place, &full, &mut problems, warnings);
                plans.insert(full, plan);
            }
        }
    }
    if problems.is_empty() {
        Ok(plans)
    } else {
        Err(Error::new(problems))
    }
}

/// The service config's policy for this exact method, and its service or
/// global one, told apart: only the first names one method.
fn split_config<'c>(
    config: &'c ServiceConfig,
    service: &str,
    method: &str,
) -> (Option<&'c Policy>, Option<&'c Policy>) {
    let any = config.lookup(service, method);
    let broad = config.lookup(service, "");
    match (any, broad) {
        (Some(a), Some(b)) if std::ptr::eq(a, b) => (None, Some(b)),
        (a, b) => (a, b),
    }
}

fn method_plan(
    method: &MethodDescriptor,
    sources: &[(Source, Option<&Policy>)],
    place: &str,
    full: &str,
    problems: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> MethodPlan {
    let mut notes = Vec::new();
    let deadline = sources
        .iter()
        .find_map(|(s, p)| p.and_then(|p| p.deadline).map(|d| (*s, d)));
    if let Some((source, _)) = deadline {
        notes.push(format!("Deadline from {}.", source.describe()));
    }
    let mut retry: Option<(Source, Retry, bool)> = sources
        .iter()
        .find_map(|(s, p)| p.and_then(|p| p.retry.clone().map(|r| (*s, r, p.unsafe_retry))));
    let mut hedge: Option<(Source, Hedge, bool)> = sources
        .iter()
        .find_map(|(s, p)| p.and_then(|p| p.hedge.clone().map(|h| (*s, h, p.unsafe_retry))));
    // A method is retried or hedged (gRPC A6): the more specific source wins.
    if let (Some((r, _, _)), Some((h, _, _))) = (&retry, &hedge) {
        match r.cmp(h) {
            std::cmp::Ordering::Less => hedge = None,
            std::cmp::Ordering::Greater => retry = None,
            std::cmp::Ordering::Equal => {
                problems.push(format!(
                    "{place}: `{full}` has both a retry and a hedging policy in {}; gRPC A6 allows one",
                    r.describe()
                ));
                hedge = None;
            }
        }
    }
    if let Some((source, _, _)) = &retry {
        notes.push(format!("Retry from {}.", source.describe()));
    }
    if let Some((source, _, _)) = &hedge {
        notes.push(format!("Hedging from {}.", source.describe()));
    }
    let streaming = method.is_client_streaming() || method.is_server_streaming();
    if let (Some((source, _, _)), true) = (&hedge, streaming) {
        if source.is_specific() {
            problems.push(format!(
                "{place}: `{full}` streams, and only unary methods are hedged: remove the hedging policy"
            ));
        } else {
            notes.push("Not hedged: only unary methods are.".to_owned());
            warnings.push(format!(
                "{place}: `{full}` streams, so the hedging policy it gets from {} is not applied: \
                 only unary methods are hedged",
                source.describe()
            ));
        }
        hedge = None;
    }
    if let (Some(_), true) = (&retry, method.is_client_streaming()) {
        notes.push(
            "The request stream is recorded as it is sent (up to 256 KiB of messages) and \
             replayed by a retry, which then goes on with the stream; the call is committed \
             once the response starts."
                .to_owned(),
        );
    }
    // A service config's explicit retryPolicy / hedgingPolicy is the
    // service owner's statement of what is safe to repeat (gRPC A6):
    // honoured as written, as for Google's published configs, whose protos
    // mark no idempotency_level. The gate is for what the client's author
    // writes.
    let gate = Gate {
        method,
        place,
        full,
    };
    if !gate.allows(&retry, Repeats::Retry, problems, warnings, &mut notes) {
        retry = None;
    }
    if !gate.allows(&hedge, Repeats::Hedge, problems, warnings, &mut notes) {
        hedge = None;
    }
    let breaker = sources
        .iter()
        .find_map(|(s, p)| p.and_then(|p| p.breaker.clone()).map(|b| (*s, b)));
    if let Some((source, _)) = &breaker {
        notes.push(format!("Circuit breaker from {}.", source.describe()));
    }
    let rate_limit = sources
        .iter()
        .find_map(|(s, p)| p.and_then(|p| p.rate_limit.clone()).map(|l| (*s, l)));
    if let Some((source, _)) = &rate_limit {
        notes.push(format!("Rate limit from {}.", source.describe()));
    }
    let concurrency = sources
        .iter()
        .find_map(|(s, p)| p.and_then(|p| p.concurrency.clone()).map(|l| (*s, l)));
    if let Some((source, _)) = &concurrency {
        notes.push(format!("Concurrency limit from {}.", source.describe()));
    }
    MethodPlan {
        deadline: deadline.map(|(_, d)| d),
        retry: retry.map(|(_, r, _)| r),
        breaker: breaker.map(|(_, b)| b),
        hedge: hedge.map(|(_, h, _)| h),
        rate_limit: rate_limit.map(|(_, l)| l),
        concurrency: concurrency.map(|(_, l)| l),
        notes,
    }
}

/// What sends a method more than once.
#[derive(Clone, Copy)]
enum Repeats {
    Retry,
    Hedge,
}

impl Repeats {
    /// (the policy, what it does to the call, the participle, the note's word).
    fn words(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Repeats::Retry => (
                "a retry policy",
                "so a retry could run it twice",
                "retried",
                "Retried",
            ),
            Repeats::Hedge => (
                "a hedging policy",
                "and hedging sends it more than once",
                "hedged",
                "Hedged",
            ),
        }
    }
}

/// The idempotency gate of one method.
struct Gate<'a> {
    method: &'a MethodDescriptor,
    place: &'a str,
    full: &'a str,
}

impl Gate<'_> {
    /// Whether `policy` (its source, settings and `unsafe_retry`) may stay
    /// on the method: a service config's always may; otherwise only on an
    /// idempotent method or with `unsafe_retry`. A policy written for this
    /// method that may not is a build error; an inherited one is left off
    /// with a warning.
    fn allows<P>(
        &self,
        policy: &Option<(Source, P, bool)>,
        kind: Repeats,
        problems: &mut Vec<String>,
        warnings: &mut Vec<String>,
        notes: &mut Vec<String>,
    ) -> bool {
        let Some((source, _, unsafe_repeat)) = policy else {
            return true;
        };
        let (what, why, done, note) = kind.words();
        let (place, full) = (self.place, self.full);
        if source.is_service_config() {
            notes.push(format!(
                "{note} as the service config says (the service owner's statement of what is safe to repeat)."
            ));
            return true;
        }
        if idempotent(self.method) || *unsafe_repeat {
            return true;
        }
        if source.is_specific() {
            problems.push(format!(
                "{place}: `{full}` has {what} but is not idempotent, {why}: \
                 add `option idempotency_level = IDEMPOTENT;` (or NO_SIDE_EFFECTS) if repeating it is harmless, \
                 or `unsafe_retry: true` to the policy to accept duplicates"
            ));
        } else {
            warnings.push(format!(
                "{place}: `{full}` is not {done}: it inherits {what} from {} but is not marked \
                 `idempotency_level = IDEMPOTENT` or `NO_SIDE_EFFECTS`",
                source.describe()
            ));
            notes.push(format!("Not {done}: not marked idempotent."));
        }
        false
    }
}

/// `option idempotency_level = IDEMPOTENT` or `NO_SIDE_EFFECTS`.
fn idempotent(method: &MethodDescriptor) -> bool {
    matches!(
        method
            .method_descriptor_proto()
            .options
            .as_ref()
            .and_then(|o| o.idempotency_level),
        Some(1 | 2)
    )
}

/// Policies given to the builder are checked like any other source.
fn check_builder(builder: &Builder, problems: &mut Vec<String>) {
    let named = builder
        .methods
        .iter()
        .map(|(name, p)| (format!("build script: method(\"{name}\")"), p));
    let default = builder
        .default_policy
        .iter()
        .map(|p| ("build script: default_policy".to_owned(), p));
    for (place, policy) in named.chain(default) {
        if let Some(breaker) = &policy.breaker {
            for problem in breaker.problems() {
                problems.push(format!("{place}: breaker: {problem}"));
            }
        }
        if let Some(hedge) = &policy.hedge {
            for problem in hedge.problems() {
                problems.push(format!("{place}: hedge: {problem}"));
            }
        }
        if let Some(limit) = &policy.rate_limit {
            for problem in limit.problems() {
                problems.push(format!("{place}: rate_limit: {problem}"));
            }
        }
        if let Some(limit) = &policy.concurrency {
            for problem in limit.problems() {
                problems.push(format!("{place}: concurrency: {problem}"));
            }
        }
        if let Some(retry) = &policy.retry {
            if let Err(e) = check_max_attempts(retry.max_attempts) {
                problems.push(format!("{place}: max_attempts {e}"));
            }
            for code in &retry.on {
                if code_variant(code).is_none() {
                    problems.push(format!("{place}: unknown status code \"{code}\""));
                }
            }
            if let Some(jitter) = &retry.jitter {
                if let Err(e) = options::check_jitter(jitter) {
                    problems.push(format!("{place}: {e}"));
                }
            }
            if let Some(m) = retry.multiplier {
                if !retry.backoff.growth().takes_multiplier() {
                    problems.push(format!(
                        "{place}: multiplier only applies to Backoff::Exponential"
                    ));
                } else if let Err(e) = check_multiplier(m) {
                    problems.push(format!("{place}: multiplier {e}, not {m}"));
                }
            }
        }
    }
    for (name, _) in &builder.methods {
        if !name.contains('/') {
            problems.push(format!(
                "build script: method(\"{name}\"): name methods as \"package.Service/Method\""
            ));
        }
    }
}

#[cfg(test)]
mod tests;
