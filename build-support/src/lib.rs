//! The `build.rs` helper of `steadfast`: compiles `.proto` files with
//! protox (no `protoc` anywhere), generates tonic's messages, clients and
//! servers, and beside each client a `Resilient<Name>Client<T>` whose
//! methods carry `#[steadfast::deadline(..)]` and `#[steadfast::retry(..)]`
//! taken from the policy.
//!
//! ```no_run
//! // build.rs
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     steadfast_build::configure()
//!         .service_config("proto/service_config.json") // optional, gRPC service config JSON
//!         .compile(&["proto/user.proto"], &["proto"])?;
//!     Ok(())
//! }
//! ```
//!
//! and in the crate, `steadfast::include_proto!("user");`.
//!
//! Policy sources, most specific first; the deadline and the retry settings
//! are each taken from the first source that sets them:
//!
//! 1. the method option `(steadfast.policy)`;
//! 2. the service option `(steadfast.default_policy)`;
//! 3. the file option `(steadfast.file_policy)`;
//! 4. the service config's `methodConfig`: exact method, then service, then global;
//! 5. the builder: [`Builder::method`], then [`Builder::default_policy`].
//!
//! Retries duplicate calls, so the ones the client's author writes need
//! `option idempotency_level = IDEMPOTENT;` or `NO_SIDE_EFFECTS` on the
//! method. A retry declared for one method that is neither is a build error
//! at its `file.proto:line:col`, unless the policy says `unsafe_retry: true`;
//! one inherited from a service, file or builder default is left off such a
//! method, with a warning. A service config's explicit `retryPolicy` is the
//! service owner's statement of what is safe to repeat (gRPC A6) and is
//! honoured as written, as for the configs Google publishes for APIs whose
//! protos mark no idempotency; its `retryThrottling` becomes one
//! `steadfast::RetryBudget` shared by the clients of the services it
//! configures. Every kind of method is retried until its response starts
//! (gRPC A6's commit): a client- or bidi-streaming request is recorded as it
//! is sent (up to 256 KiB of messages) and replayed by the next attempt,
//! which then goes on with the caller's stream. A `hedge` policy (or a service
//! config's `hedgingPolicy`) hedges a unary method under the same
//! idempotency rule (the service config's is the owner's word); each hedge
//! runs on a clone of the client. A method is retried or hedged, not both
//! (gRPC A6): the more specific source wins, and both in one source is a
//! build error. A `breaker` gives the method a circuit breaker per client; a
//! `rate_limit` and a `concurrency` a rate limiter and a bulkhead per client,
//! asked by every attempt.
//! Nothing is silently ignored.
//!
//! The generated client is named, built and called like tonic's (see the
//! README): `Resilient<Name>Client<Channel>`, `new`, `connect`,
//! `with_origin`, `with_interceptor`, compression and size limits, methods
//! taking `impl tonic::IntoRequest<Msg>` whose metadata and extensions go
//! out with every attempt. Its names, types, comments and `deprecated` are
//! prost's, as tonic's are: it is written by a wrapper around
//! tonic-prost-build's own service generator, whose settings
//! [`Builder::tonic`] reaches.
//!
//! The option schema is `steadfast/options.proto` (in this crate's `proto/`
//! folder); it is provided to the compiler, so `import
//! "steadfast/options.proto";` works without copying it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod codegen;
mod error;
mod limits;
mod options;
mod plan;
mod policy;
mod service_config;
mod tonic_output;

use std::path::{Path, PathBuf};
use std::rc::Rc;

pub use error::Error;
pub use limits::{Concurrency, RateLimit};
pub use policy::{Backoff, Breaker, Hedge, Policy, Retry};
/// tonic-prost-build, for [`Builder::tonic`].
pub use tonic_prost_build;

/// A [`Builder`] with no defaults.
///
/// ```
/// let builder = steadfast_build::configure();
/// # let _ = builder;
/// ```
pub fn configure() -> Builder {
    Builder::default()
}

/// Configures and runs the code generation.
///
/// ```no_run
/// use std::time::Duration;
/// use steadfast_build::{Policy, Retry};
///
/// steadfast_build::configure()
///     .default_policy(Policy::new().deadline(Duration::from_secs(5)))
///     .method("user.UserService/GetUser", Policy::new().retry(Retry::new(3)))
///     .compile(&["proto/user.proto"], &["proto"])
///     .unwrap();
/// ```
#[derive(Clone, Default)]
pub struct Builder {
    service_config: Option<PathBuf>,
    default_policy: Option<Policy>,
    methods: Vec<(String, Policy)>,
    out_dir: Option<PathBuf>,
    tonic: Option<Rc<TonicSettings>>,
    crate_path: Option<String>,
    from_config: bool,
}

/// The version of the contract between the code this crate emits and the
/// `steadfast` runtime's hidden module: every generated file opens with
/// `contract!(N)`, which a runtime of another version refuses to compile.
#[doc(hidden)]
pub const CONTRACT: u32 = 3;

type TonicSettings = dyn Fn(tonic_prost_build::Builder) -> tonic_prost_build::Builder;

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("service_config", &self.service_config)
            .field("default_policy", &self.default_policy)
            .field("methods", &self.methods)
            .field("out_dir", &self.out_dir)
            .field("tonic", &self.tonic.as_ref().map(|_| "Fn(..)"))
            .field("crate_path", &self.crate_path)
            .field("from_config", &self.from_config)
            .finish()
    }
}

impl Builder {
    /// Reads policies from a gRPC service config JSON file (`methodConfig`
    /// with `timeout` and A6 `retryPolicy`).
    ///
    /// ```
    /// let mut b = steadfast_build::configure();
    /// b.service_config("proto/service_config.json");
    /// ```
    pub fn service_config(&mut self, path: impl AsRef<Path>) -> &mut Self {
        self.service_config = Some(path.as_ref().to_owned());
        self
    }

    /// The policy of every method nothing else gives one.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut b = steadfast_build::configure();
    /// b.default_policy(steadfast_build::Policy::new().deadline(Duration::from_secs(10)));
    /// ```
    pub fn default_policy(&mut self, policy: Policy) -> &mut Self {
        self.default_policy = Some(policy);
        self
    }

    /// The policy of one method, named `"package.Service/Method"`, below
    /// what the proto options and the service config say.
    ///
    /// ```
    /// let mut b = steadfast_build::configure();
    /// b.method("user.UserService/GetUser", steadfast_build::Policy::new());
    /// ```
    pub fn method(&mut self, name: impl Into<String>, policy: Policy) -> &mut Self {
        self.methods.push((name.into(), policy));
        self
    }

    /// Sets tonic-prost-build's own options: `build_server(false)`,
    /// `extern_path`, `type_attribute`, `compile_well_known_types`, and the
    /// rest of [`tonic_prost_build::Builder`]. The resilient clients follow
    /// what tonic generates: none for `build_client(false)`, no `connect`
    /// for `build_transport(false)`, prost's paths for `extern_path` types.
    ///
    /// The generated code reaches its codec through `steadfast`, so a user
    /// crate needs no `tonic-prost`; set `codec_path` here to use another.
    ///
    /// ```
    /// let mut b = steadfast_build::configure();
    /// b.tonic(|tonic| tonic.build_server(false).type_attribute(".", "#[derive(Hash)]"));
    /// ```
    pub fn tonic(
        &mut self,
        settings: impl Fn(tonic_prost_build::Builder) -> tonic_prost_build::Builder + 'static,
    ) -> &mut Self {
        self.tonic = Some(Rc::new(settings));
        self
    }

    /// The path of the `steadfast` runtime in the generated code, for a
    /// crate that re-exports it (default `::steadfast`): what `crate = ..`
    /// is to the attributes. A path that does not parse is an error of
    /// [`compile`](Self::compile).
    ///
    /// ```
    /// let mut b = steadfast_build::configure();
    /// b.crate_path("::my_platform::steadfast");
    /// ```
    pub fn crate_path(&mut self, path: impl Into<String>) -> &mut Self {
        self.crate_path = Some(path.into());
        self
    }

    /// Gives every client a `from_config(&clients, "name")` constructor:
    /// the client made from a settings file (`steadfast::config::Clients`,
    /// the runtime's feature `config`), each unary call under the file's
    /// policy over the proto options', read afresh by each call. Its unary
    /// methods then need a `Clone` transport (as tonic's `Channel` is).
    ///
    /// ```
    /// let mut b = steadfast_build::configure();
    /// b.from_config(true);
    /// ```
    pub fn from_config(&mut self, enabled: bool) -> &mut Self {
        self.from_config = enabled;
        self
    }

    /// The runtime the generated code names, checked.
    pub(crate) fn runtime(&self) -> Result<codegen::Runtime, Error> {
        let mut runtime = codegen::Runtime::new(self.crate_path.as_deref()).map_err(Error::one)?;
        runtime.from_config = self.from_config;
        Ok(runtime)
    }

    /// tonic-prost-build's builder with this crate's defaults and the user's settings.
    pub(crate) fn tonic_builder(&self, runtime: &codegen::Runtime) -> tonic_prost_build::Builder {
        let tonic = tonic_prost_build::configure()
            .codec_path(runtime.codec())
            .emit_rerun_if_changed(false);
        match &self.tonic {
            Some(settings) => settings(tonic),
            None => tonic,
        }
    }

    /// Where to write the generated files (default: `OUT_DIR`).
    ///
    /// ```
    /// let mut b = steadfast_build::configure();
    /// b.out_dir("src/generated");
    /// ```
    pub fn out_dir(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        self.out_dir = Some(dir.as_ref().to_owned());
        self
    }

    /// Compiles `protos`, finding imports in `includes`, and writes one
    /// file per package into the output directory.
    ///
    /// # Errors
    ///
    /// Every problem found, each with its place: proto syntax and type
    /// errors from protox, bad policy options at `file.proto:line:col`,
    /// service config problems by JSON path, retries on methods that are
    /// not idempotent, and I/O errors.
    ///
    /// ```no_run
    /// steadfast_build::configure().compile(&["proto/user.proto"], &["proto"])?;
    /// # Ok::<(), steadfast_build::Error>(())
    /// ```
    pub fn compile<P: AsRef<Path>>(&self, protos: &[P], includes: &[P]) -> Result<(), Error> {
        let out_dir = match &self.out_dir {
            Some(dir) => dir.clone(),
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or_else(|| {
                    Error::one("OUT_DIR is not set: call `compile` from build.rs, or set `out_dir`")
                })?,
        };
        let in_build_script = std::env::var_os("CARGO_MANIFEST_DIR").is_some()
            && std::env::var_os("OUT_DIR").is_some();
        if in_build_script {
            for path in protos
                .iter()
                .map(AsRef::as_ref)
                .chain(includes.iter().map(AsRef::as_ref))
            {
                println!("cargo:rerun-if-changed={}", path.display());
            }
            if let Some(config) = &self.service_config {
                println!("cargo:rerun-if-changed={}", config.display());
            }
        }
        let generated = plan::generate(self, protos, includes, &out_dir)?;
        for warning in &generated.warnings {
            if in_build_script {
                println!("cargo:warning={warning}");
            }
        }
        Ok(())
    }
}
