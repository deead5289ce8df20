//! The `build.rs` helper of `resilient`: compiles `.proto` files with
//! protox (no `protoc` anywhere), generates tonic's messages, clients and
//! servers, and beside each client a `Resilient<Name>Client<T>` whose
//! methods carry `#[resilient::deadline(..)]` and `#[resilient::retry(..)]`
//! taken from the policy.
//!
//! ```no_run
//! // build.rs
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     resilient_build::configure()
//!         .service_config("proto/service_config.json") // optional, gRPC service config JSON
//!         .compile(&["proto/user.proto"], &["proto"])?;
//!     Ok(())
//! }
//! ```
//!
//! and in the crate, `resilient::include_proto!("user");`.
//!
//! Policy sources, most specific first; the deadline and the retry settings
//! are each taken from the first source that sets them:
//!
//! 1. the method option `(resilient.policy)`;
//! 2. the service option `(resilient.default_policy)`;
//! 3. the file option `(resilient.file_policy)`;
//! 4. the service config's `methodConfig`: exact method, then service, then global;
//! 5. the builder: [`Builder::method`], then [`Builder::default_policy`].
//!
//! Retries duplicate calls, so they need `option idempotency_level =
//! IDEMPOTENT;` or `NO_SIDE_EFFECTS` on the method. A retry declared for one
//! method that is neither is a build error at its `file.proto:line:col`,
//! unless the policy says `unsafe_retry: true`; a retry inherited from a
//! service, file, config or builder default is left off such a method, with
//! a warning. Client- and bidi-streaming methods get the deadline and no
//! retry (their requests cannot be replayed); server-streaming calls are
//! retried until the response starts.
//!
//! The option schema is `resilient/options.proto` (in this crate's `proto/`
//! folder); it is provided to the compiler, so `import
//! "resilient/options.proto";` works without copying it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod codegen;
mod error;
mod options;
mod plan;
mod policy;
mod service_config;

use std::path::{Path, PathBuf};

pub use error::Error;
pub use policy::{Backoff, Policy, Retry};

/// A [`Builder`] with no defaults.
///
/// ```
/// let builder = resilient_build::configure();
/// # let _ = builder;
/// ```
pub fn configure() -> Builder {
    Builder::default()
}

/// Configures and runs the code generation.
///
/// ```no_run
/// use std::time::Duration;
/// use resilient_build::{Policy, Retry};
///
/// resilient_build::configure()
///     .default_policy(Policy::new().deadline(Duration::from_secs(5)))
///     .method("user.UserService/GetUser", Policy::new().retry(Retry::new(3)))
///     .compile(&["proto/user.proto"], &["proto"])
///     .unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct Builder {
    service_config: Option<PathBuf>,
    default_policy: Option<Policy>,
    methods: Vec<(String, Policy)>,
    out_dir: Option<PathBuf>,
}

impl Builder {
    /// Reads policies from a gRPC service config JSON file (`methodConfig`
    /// with `timeout` and A6 `retryPolicy`).
    ///
    /// ```
    /// let mut b = resilient_build::configure();
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
    /// let mut b = resilient_build::configure();
    /// b.default_policy(resilient_build::Policy::new().deadline(Duration::from_secs(10)));
    /// ```
    pub fn default_policy(&mut self, policy: Policy) -> &mut Self {
        self.default_policy = Some(policy);
        self
    }

    /// The policy of one method, named `"package.Service/Method"`, below
    /// what the proto options and the service config say.
    ///
    /// ```
    /// let mut b = resilient_build::configure();
    /// b.method("user.UserService/GetUser", resilient_build::Policy::new());
    /// ```
    pub fn method(&mut self, name: impl Into<String>, policy: Policy) -> &mut Self {
        self.methods.push((name.into(), policy));
        self
    }

    /// Where to write the generated files (default: `OUT_DIR`).
    ///
    /// ```
    /// let mut b = resilient_build::configure();
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
    /// resilient_build::configure().compile(&["proto/user.proto"], &["proto"])?;
    /// # Ok::<(), resilient_build::Error>(())
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
