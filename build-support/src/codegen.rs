//! `Resilient<Name>Client<T>`: tonic's client with each method's policy as
//! `#[steadfast::deadline]` / `#[steadfast::retry]` attributes.
//!
//! [`Generator`] wraps tonic-prost-build's own service generator: tonic
//! writes its `<name>_client` / `<name>_server` modules from prost's
//! `Service` model, and the resilient client is written beside them from the
//! same model, so method names (keywords as `r#type`), Rust types
//! (`extern_path` included), comments and `deprecated` are prost's, never
//! re-derived. Token generation is pure; formatting happens once per service.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use proc_macro2::TokenStream;
use prost_build::{Method, Service, ServiceGenerator};
use quote::{format_ident, quote};

use crate::limits::{Adaptive, Concurrency, RateLimit};
use crate::options::Channel;
use crate::policy::{duration_literal, Breaker, Hedge, Retry};
use crate::tonic_output;

/// One method's resolved policy.
#[derive(Debug, Clone)]
pub(crate) struct MethodPlan {
    pub(crate) deadline: Option<std::time::Duration>,
    pub(crate) retry: Option<Retry>,
    pub(crate) breaker: Option<Breaker>,
    pub(crate) hedge: Option<Hedge>,
    pub(crate) rate_limit: Option<RateLimit>,
    pub(crate) concurrency: Option<Concurrency>,
    /// Where each part of the policy came from, and what was left out why.
    pub(crate) notes: Vec<String>,
}

/// A gRPC A6 `retryThrottling` budget shared by a client's methods.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Throttling {
    pub(crate) max_tokens: u32,
    pub(crate) token_ratio: f64,
}

/// What the generator hands back after prost has run.
#[derive(Debug, Default)]
pub(crate) struct Output {
    /// The resilient clients' code, by package.
    pub(crate) clients: BTreeMap<String, String>,
    /// Problems found while writing code.
    pub(crate) problems: Vec<String>,
}

/// tonic's service generator, followed by the resilient client of each
/// service tonic wrote a client for.
pub(crate) struct Generator {
    runtime: Runtime,
    tonic: Box<dyn ServiceGenerator>,
    /// By `package.Service/Method`.
    plans: HashMap<String, MethodPlan>,
    /// By `package.Service`.
    throttling: HashMap<String, Throttling>,
    /// `(steadfast.channel)`, by `package.Service`.
    channels: HashMap<String, Channel>,
    output: Rc<RefCell<Output>>,
}

/// The runtime the generated code names: `::steadfast` or the builder's
/// `crate_path`. Generated code names nothing of it but its `__private`
/// module (the contract, see `CONTRACT`).
#[derive(Debug, Clone)]
pub(crate) struct Runtime {
    /// `<root>::__private`.
    private: TokenStream,
    /// `, crate = "<root>"` for the outermost attribute, unless the root is
    /// the default.
    crate_arg: TokenStream,
    /// `Builder::from_config`: clients made from a settings file.
    pub(crate) from_config: bool,
}

impl Runtime {
    pub(crate) fn new(path: Option<&str>) -> Result<Self, String> {
        let Some(path) = path else {
            return Ok(Self {
                private: quote!(::steadfast::__private),
                crate_arg: TokenStream::new(),
                from_config: false,
            });
        };
        let parsed = syn::parse_str::<syn::Path>(path)
            .ok()
            .filter(|p| p.segments.iter().all(|s| s.arguments.is_empty()))
            .ok_or_else(|| {
                format!("crate_path `{path}` is not a path, as in `::my_crate::steadfast`")
            })?;
        Ok(Self {
            private: quote!(#parsed::__private),
            crate_arg: {
                let path = quote!(#parsed).to_string().replace(' ', "");
                quote!(, crate = #path)
            },
            from_config: false,
        })
    }

    /// The codec generated clients and servers use.
    pub(crate) fn codec(&self) -> String {
        format!("{}::tonic_prost::ProstCodec", self.private).replace(' ', "")
    }
}

impl Generator {
    pub(crate) fn new(
        runtime: Runtime,
        tonic: Box<dyn ServiceGenerator>,
        plans: HashMap<String, MethodPlan>,
        throttling: HashMap<String, Throttling>,
        channels: HashMap<String, Channel>,
    ) -> (Self, Rc<RefCell<Output>>) {
        let output = Rc::new(RefCell::new(Output::default()));
        let generator = Self {
            runtime,
            tonic,
            plans,
            throttling,
            channels,
            output: Rc::clone(&output),
        };
        (generator, output)
    }
}

impl ServiceGenerator for Generator {
    fn generate(&mut self, service: Service, buf: &mut String) {
        let start = buf.len();
        self.tonic.generate(service.clone(), buf);
        let tonic_code = &buf[start..];
        // `build_client(false)`: tonic wrote no client, so there is nothing to wrap.
        if !tonic_output::wrote_client(tonic_code, &service.name) {
            return;
        }
        let full_name = if service.package.is_empty() {
            service.proto_name.clone()
        } else {
            format!("{}.{}", service.package, service.proto_name)
        };
        let connect = tonic_output::wrote_connect(tonic_code)
            .then(|| self.channels.get(&full_name).copied().unwrap_or_default());
        // steadfast's own unary calls encode with prost: only where tonic's
        // client does too (a `codec_path` set through `Builder::tonic` keeps
        // tonic's path for every call).
        let own_unary = tonic_output::encodes_with(tonic_code, &self.runtime.codec());
        let tokens = client(
            &self.runtime,
            &service,
            &self.plans,
            &self.throttling,
            connect,
            own_unary,
        );
        let mut output = self.output.borrow_mut();
        match syn::parse2::<syn::File>(tokens) {
            Ok(file) => {
                let code = prettyplease::unparse(&file);
                buf.push_str("\n// Resilient client, generated by steadfast-build.\n");
                buf.push_str(&code);
                output
                    .clients
                    .entry(service.package.clone())
                    .or_default()
                    .push_str(&code);
            }
            Err(e) => output.problems.push(format!(
                "{}.{}: the generated client does not parse ({e}); please report this",
                service.package, service.proto_name
            )),
        }
    }

    fn finalize(&mut self, buf: &mut String) {
        self.tonic.finalize(buf);
    }

    fn finalize_package(&mut self, package: &str, buf: &mut String) {
        self.tonic.finalize_package(package, buf);
    }
}

/// A Rust path prost resolved, as tokens; `()` for one that is not a path.
fn rust_type(path: &str) -> Result<syn::Type, String> {
    syn::parse_str(path).map_err(|e| format!("type `{path}`: {e}"))
}

fn client(
    rt: &Runtime,
    service: &Service,
    plans: &HashMap<String, MethodPlan>,
    throttling: &HashMap<String, Throttling>,
    connect: Option<Channel>,
    own_unary: bool,
) -> TokenStream {
    let p = &rt.private;
    let client_mod = format_ident!("{}_client", tonic_output::module_name(&service.name));
    let tonic_client = format_ident!("{}Client", service.name);
    let ours = format_ident!("Resilient{}Client", service.name);
    let full_name = if service.package.is_empty() {
        service.proto_name.clone()
    } else {
        format!("{}.{}", service.package, service.proto_name)
    };
    let budget = throttling.get(&full_name).map(|t| {
        let name = format_ident!(
            "STEADFAST_{}_BUDGET",
            tonic_output::module_name(&service.name).to_uppercase()
        );
        let (tokens, ratio) = (t.max_tokens, t.token_ratio);
        let doc =
            format!(" gRPC A6 `retryThrottling` of the service config, shared by every `{ours}`.");
        let item = quote! {
            #[doc = #doc]
            static #name: #p::RetryBudget = #p::RetryBudget::new(#tokens, #ratio);
        };
        (name, item)
    });
    let budget_name = budget.as_ref().map(|(name, _)| name);
    let budget_item = budget.as_ref().map(|(_, item)| item);
    let mut docs: Vec<String> = service.comments.leading.clone();
    if !docs.is_empty() {
        docs.push(String::new());
    }
    docs.push(format!(
        " `{tonic_client}` for `{full_name}`, with each method's deadline and retry policy (from `steadfast` \
         proto options, the service config, or the build's defaults) and what is left of the caller's \
         deadline sent as `grpc-timeout`."
    ));
    let docs = docs.iter().map(|line| doc_line(line));
    let methods = service.methods.iter().enumerate().map(|(index, m)| {
        let key = format!("{full_name}/{}", m.proto_name);
        let plan = plans.get(&key).cloned().unwrap_or(MethodPlan {
            deadline: None,
            retry: None,
            breaker: None,
            hedge: None,
            rate_limit: None,
            concurrency: None,
            notes: vec!["No policy.".to_owned()],
        });
        method(rt, &full_name, (index, m), &plan, budget_name, own_unary)
    });
    // One breaker per method that has one, in a struct the client and its
    // clones share.
    let breakers: Vec<(&Method, Breaker)> = service
        .methods
        .iter()
        .filter_map(|m| {
            let key = format!("{full_name}/{}", m.proto_name);
            let breaker = plans.get(&key)?.breaker.clone()?;
            Some((m, breaker))
        })
        .collect();
    let breakers_type = format_ident!("{}Breakers", ours);
    let (breakers_field, breakers_init, breakers_item, breakers_lookup) = if breakers.is_empty() {
        (quote!(), quote!(), quote!(), quote!(None))
    } else {
        let fields = breakers.iter().map(|(m, _)| field_name(m));
        let inits = breakers.iter().map(|(m, b)| {
            let field = field_name(m);
            let name = format!("{full_name}/{}", m.proto_name);
            let construction = breaker_construction(p, b);
            quote!(#field: #construction.name(#name))
        });
        let arms = breakers.iter().map(|(m, _)| {
            let field = field_name(m);
            let proto = &m.proto_name;
            quote!(#proto => Some(&self.breakers.#field))
        });
        (
            quote!(breakers: ::std::sync::Arc<#breakers_type>,),
            quote!(breakers: ::std::sync::Arc::new(#breakers_type::new()),),
            quote! {
                /// The circuit breakers of a client's methods, shared by its clones.
                #[derive(Debug)]
                struct #breakers_type {
                    #(#fields: #p::CircuitBreaker,)*
                }

                impl #breakers_type {
                    const fn new() -> Self {
                        Self { #(#inits,)* }
                    }
                }
            },
            quote! {
                match method {
                    #(#arms,)*
                    _ => None,
                }
            },
        )
    };
    // One rate limiter and one bulkhead per method that has them, in a
    // struct the client and its clones share.
    let limited: Vec<(&Method, &MethodPlan)> = service
        .methods
        .iter()
        .filter_map(|m| {
            let plan = plans.get(&format!("{full_name}/{}", m.proto_name))?;
            (plan.rate_limit.is_some() || plan.concurrency.is_some()).then_some((m, plan))
        })
        .collect();
    let limits_type = format_ident!("{}Limits", ours);
    let rate_arms = limited
        .iter()
        .filter_map(|(m, plan)| Some((m, plan.rate_limit.as_ref()?)))
        .map(|(m, limit)| {
            let field = limit_field(m, "rate");
            let proto = &m.proto_name;
            match limit.shared {
                None => quote!(#proto => Some(&self.limits.#field)),
                Some(_) => quote!(#proto => Some(&*self.limits.#field)),
            }
        });
    let concurrency_arms = limited
        .iter()
        .filter(|(_, plan)| plan.concurrency.is_some())
        .map(|(m, _)| {
            let field = limit_field(m, "concurrency");
            let proto = &m.proto_name;
            quote!(#proto => Some(&self.limits.#field))
        });
    // An empty `match` would be a lint in the user's crate.
    let lookup = |arms: Vec<TokenStream>| {
        if arms.is_empty() {
            quote!(None)
        } else {
            quote!(match method { #(#arms,)* _ => None })
        }
    };
    let rate_lookup = lookup(rate_arms.collect());
    let concurrency_lookup = lookup(concurrency_arms.collect());
    let (limits_field, limits_init, limits_item) = if limited.is_empty() {
        (quote!(), quote!(), quote!())
    } else {
        let mut fields = Vec::new();
        let mut inits = Vec::new();
        // `const` (the settings checked as the client compiles) unless a
        // limit is looked up among the registered ones.
        let constness = if limited
            .iter()
            .any(|(_, plan)| plan.rate_limit.as_ref().is_some_and(|l| l.shared.is_some()))
        {
            quote!()
        } else {
            quote!(const)
        };
        for (m, plan) in &limited {
            let name = format!("{full_name}/{}", m.proto_name);
            if let Some(limit) = &plan.rate_limit {
                let field = limit_field(m, "rate");
                let construction = rate_construction(p, limit);
                match &limit.shared {
                    None => {
                        fields.push(quote!(#field: #p::RateLimiter));
                        inits.push(quote!(#field: #construction.named(#name)));
                    }
                    Some(shared) => {
                        fields.push(quote!(#field: ::std::sync::Arc<#p::RateLimiter>));
                        inits.push(quote!(#field: #p::registered_rate_limiter(#shared, #construction.named(#name))));
                    }
                }
            }
            if let Some(limit) = &plan.concurrency {
                let field = limit_field(m, "concurrency");
                let construction = concurrency_construction(p, limit, &name);
                fields.push(quote!(#field: #p::ConcurrencyLimit));
                inits.push(quote!(#field: #construction));
            }
        }
        (
            quote!(limits: ::std::sync::Arc<#limits_type>,),
            quote!(limits: ::std::sync::Arc::new(#limits_type::new()),),
            quote! {
                /// The rate and concurrency limits of a client's methods, shared by its clones.
                #[derive(Debug)]
                struct #limits_type {
                    #(#fields,)*
                }

                impl #limits_type {
                    #constness fn new() -> Self {
                        Self { #(#inits,)* }
                    }
                }
            },
        )
    };
    // Only where tonic wrote its own (`build_transport`).
    let connect = connect.map(|channel| {
        let (doc, apply) = channel_policy(p, &channel);
        quote! {
            impl #ours<tonic::transport::Channel> {
                /// Connects to `dst`, as tonic's `connect` does.
                #doc
                pub async fn connect<D>(dst: D) -> ::core::result::Result<Self, tonic::transport::Error>
                where
                    D: ::core::convert::TryInto<tonic::transport::Endpoint>,
                    D::Error: ::core::convert::Into<tonic::codegen::StdError>,
                {
                    let endpoint = tonic::transport::Endpoint::new(dst)?;
                    #apply
                    let target = #p::Target::of(endpoint.uri());
                    let channel = endpoint.connect().await?;
                    let mut client = Self::new(channel);
                    client.target = target;
                    ::core::result::Result::Ok(client)
                }
            }
        }
    });
    let not_clone = format!(
        " A transport that is not `Clone` goes through tonic's client alone: \
         `{ours}::from({tonic_client}::new(ResponseGuard::new(transport)))`."
    );
    let from_doc = format!(
        " Adds the policies to a tonic client as it is configured, made on a guarded transport: \
         `{tonic_client}::new(steadfast::tonic::ResponseGuard::new(channel))`. Every call goes \
         through that client (`new` and `connect` send unary calls without tonic's streaming \
         machinery, at the same behaviour)."
    );
    let (settings_field, settings_init, from_config) = if rt.from_config {
        let budget = throttling
            .get(&full_name)
            .map(|t| (t.max_tokens, t.token_ratio));
        config_items(p, &ours, &full_name, service, plans, budget)
    } else {
        (quote!(), quote!(), quote!())
    };
    let contract = proc_macro2::Literal::u32_unsuffixed(crate::CONTRACT);
    quote! {
        #p::contract!(#contract);
        #from_config
        #budget_item
        #breakers_item
        #limits_item

        #(#docs)*
        #[derive(Debug, Clone)]
        pub struct #ours<T> {
            inner: #client_mod::#tonic_client<#p::ResponseGuard<T>>,
            /// The same transport for unary calls sent without tonic's streaming
            /// machinery, with the settings of `inner` they read; `None` for a client
            /// made `from` a tonic client, or one that compresses.
            unary: ::core::option::Option<#p::UnaryClient<#p::ResponseGuard<T>>>,
            /// `grpc.target` in the metrics (feature `opentelemetry`).
            target: #p::Target,
            #breakers_field
            #limits_field
            #settings_field
        }

        #connect

        impl<T> ::core::convert::From<#client_mod::#tonic_client<#p::ResponseGuard<T>>> for #ours<T> {
            #[doc = #from_doc]
            fn from(inner: #client_mod::#tonic_client<#p::ResponseGuard<T>>) -> Self {
                Self {
                    inner,
                    unary: ::core::option::Option::None,
                    target: #p::Target::OTHER,
                    #breakers_init
                    #limits_init
                    #settings_init
                }
            }
        }

        impl<T> #ours<T>
        where
            #p::ResponseGuard<T>: tonic::client::GrpcService<tonic::body::Body>,
            <#p::ResponseGuard<T> as tonic::client::GrpcService<tonic::body::Body>>::Error:
                ::core::convert::Into<tonic::codegen::StdError>,
            <#p::ResponseGuard<T> as tonic::client::GrpcService<tonic::body::Body>>::ResponseBody:
                tonic::codegen::Body<Data = tonic::codegen::Bytes> + ::core::marker::Send + 'static,
            <<#p::ResponseGuard<T> as tonic::client::GrpcService<tonic::body::Body>>::ResponseBody as tonic::codegen::Body>::Error:
                ::core::convert::Into<tonic::codegen::StdError> + ::core::marker::Send,
        {
            /// Wraps a transport such as a `Channel`, as tonic's `new` does. The transport is
            /// cloned (a `Channel` clone is a handle onto the same connection): unary calls go
            /// out on one handle without tonic's streaming machinery, the rest through tonic's
            /// client on the other.
            #[doc = #not_clone]
            pub fn new(inner: T) -> Self
            where
                T: ::core::clone::Clone,
            {
                let guarded = #p::ResponseGuard::new(inner);
                let mut client = Self::from(#client_mod::#tonic_client::new(::core::clone::Clone::clone(&guarded)));
                client.unary = ::core::option::Option::Some(#p::UnaryClient::new(guarded));
                client
            }

            /// Wraps a transport that sends every request to `origin`, as tonic's `with_origin`
            /// does; the transport is cloned, as by [`new`](Self::new).
            pub fn with_origin(inner: T, origin: tonic::codegen::http::Uri) -> Self
            where
                T: ::core::clone::Clone,
            {
                let target = #p::Target::of(&origin);
                let guarded = #p::ResponseGuard::new(inner);
                let mut client = Self::from(#client_mod::#tonic_client::with_origin(
                    ::core::clone::Clone::clone(&guarded),
                    ::core::clone::Clone::clone(&origin),
                ));
                client.unary = ::core::option::Option::Some(#p::UnaryClient::with_origin(guarded, origin));
                client.target = target;
                client
            }

            /// Runs `interceptor` on every request, every attempt of a retried call included,
            /// as tonic's `with_interceptor` does; the transport and the interceptor are cloned,
            /// as by [`new`](Self::new).
            pub fn with_interceptor<F>(inner: T, interceptor: F) -> #ours<tonic::codegen::InterceptedService<T, F>>
            where
                T: ::core::clone::Clone,
                F: tonic::service::Interceptor + ::core::clone::Clone,
                #p::ResponseGuard<tonic::codegen::InterceptedService<T, F>>:
                    tonic::client::GrpcService<tonic::body::Body>,
                <#p::ResponseGuard<tonic::codegen::InterceptedService<T, F>> as tonic::client::GrpcService<tonic::body::Body>>::Error:
                    ::core::convert::Into<tonic::codegen::StdError>,
                <#p::ResponseGuard<tonic::codegen::InterceptedService<T, F>> as tonic::client::GrpcService<tonic::body::Body>>::ResponseBody:
                    tonic::codegen::Body<Data = tonic::codegen::Bytes> + ::core::marker::Send + 'static,
                <<#p::ResponseGuard<tonic::codegen::InterceptedService<T, F>> as tonic::client::GrpcService<tonic::body::Body>>::ResponseBody as tonic::codegen::Body>::Error:
                    ::core::convert::Into<tonic::codegen::StdError> + ::core::marker::Send,
            {
                #ours::new(tonic::codegen::InterceptedService::new(inner, interceptor))
            }

            /// The circuit breaker of `method` (its proto name, as `"GetUser"`), if its policy
            /// has one. Shared by this client's clones; a client made with `new`, `connect` or
            /// `from` has breakers of its own. A client made `from_config` (`Builder::from_config`)
            /// asks, for its unary methods, the settings' breaker instead:
            /// `clients.client(name)?.call(method).circuit_breaker()`.
            #[allow(unused_variables)]
            pub fn circuit_breaker(&self, method: &str) -> ::core::option::Option<&#p::CircuitBreaker> {
                #breakers_lookup
            }

            /// The rate limiter of `method` (its proto name, as `"GetUser"`), if its policy has
            /// one: shared by this client's clones, changed while running with `set_rate`. A
            /// client made `from_config` asks the settings' instead (`CallPolicy::rate_limiter`).
            #[allow(unused_variables)]
            pub fn rate_limiter(&self, method: &str) -> ::core::option::Option<&#p::RateLimiter> {
                #rate_lookup
            }

            /// The concurrency limit of `method` (its proto name), if its policy has one: shared
            /// by this client's clones, changed while running with `set_max`. A client made
            /// `from_config` asks the settings' instead (`CallPolicy::concurrency_limit`).
            #[allow(unused_variables)]
            pub fn concurrency_limit(&self, method: &str) -> ::core::option::Option<&#p::ConcurrencyLimit> {
                #concurrency_lookup
            }

            /// Compresses requests with `encoding` (the server must accept it). Every call
            /// then goes through tonic's client.
            #[must_use]
            pub fn send_compressed(mut self, encoding: tonic::codec::CompressionEncoding) -> Self {
                self.inner = self.inner.send_compressed(encoding);
                self.unary = ::core::option::Option::None;
                self
            }

            /// Accepts responses compressed with `encoding`. Every call then goes through
            /// tonic's client.
            #[must_use]
            pub fn accept_compressed(mut self, encoding: tonic::codec::CompressionEncoding) -> Self {
                self.inner = self.inner.accept_compressed(encoding);
                self.unary = ::core::option::Option::None;
                self
            }

            /// Limits the size of a decoded message (tonic's default: 4 MiB).
            #[must_use]
            pub fn max_decoding_message_size(mut self, limit: usize) -> Self {
                self.inner = self.inner.max_decoding_message_size(limit);
                self.unary = self.unary.map(|unary| unary.max_decoding_message_size(limit));
                self
            }

            /// Limits the size of an encoded message (tonic's default: `usize::MAX`).
            #[must_use]
            pub fn max_encoding_message_size(mut self, limit: usize) -> Self {
                self.inner = self.inner.max_encoding_message_size(limit);
                self.unary = self.unary.map(|unary| unary.max_encoding_message_size(limit));
                self
            }

            /// The plain tonic client underneath.
            pub fn into_inner(self) -> #client_mod::#tonic_client<#p::ResponseGuard<T>> {
                self.inner
            }

            #(#methods)*
        }
    }
}

/// How a method takes a settings file's policy (`config_kind`), and its
/// compiled policy in the file's words, for `from_config`.
fn config_base(method: &Method, plan: Option<&MethodPlan>) -> (syn::Ident, String) {
    let streaming = method.client_streaming || method.server_streaming;
    let Some(plan) = plan else {
        let kind = if streaming { "FIXED" } else { "ONCE" };
        return (
            format_ident!("{kind}"),
            "{ maxRetryAttempts: 0 }".to_owned(),
        );
    };
    let hedged = plan.hedge.is_some();
    let mut entries = Vec::new();
    if let Some(d) = plan.deadline {
        entries.push(format!("timeout: {}", duration_literal(d)));
    }
    // The gates every attempt asks, unless the file changes them.
    entries.extend(plan.breaker.as_ref().map(Breaker::settings_entry));
    entries.extend(plan.rate_limit.as_ref().map(RateLimit::settings_entry));
    entries.extend(plan.concurrency.as_ref().map(Concurrency::settings_entry));
    let kind = match &plan.retry {
        _ if streaming || hedged => "FIXED",
        Some(retry) => {
            entries.extend(retry.settings_entries());
            "RETRIED"
        }
        None => {
            entries.push("maxRetryAttempts: 0".to_owned());
            "ONCE"
        }
    };
    (
        format_ident!("{kind}"),
        format!("{{ {} }}", entries.join(", ")),
    )
}

/// With `Builder::from_config`: the client's settings field, its empty
/// value, and `from_config` itself.
fn config_items(
    p: &TokenStream,
    ours: &syn::Ident,
    full_name: &str,
    service: &Service,
    plans: &HashMap<String, MethodPlan>,
    budget: Option<(u32, f64)>,
) -> (TokenStream, TokenStream, TokenStream) {
    let entries = service.methods.iter().map(|m| {
        let plan = plans.get(&format!("{full_name}/{}", m.proto_name));
        let (kind, base) = config_base(m, plan);
        let proto = &m.proto_name;
        quote!((#proto, #p::config_kind::#kind, #base))
    });
    let budget = match budget {
        Some((tokens, ratio)) => quote!(::core::option::Option::Some((#tokens, #ratio))),
        None => quote!(::core::option::Option::None),
    };
    let doc = format!(
        " A client of `{full_name}` as the settings file says (`grpc.client.<name>`): its \
         `address` (`static://a,b` balanced over), `connectTimeout` and keepalive, and each unary \
         call's policy, the file's settings over the proto options', read afresh by each call (a \
         reload applies to the next calls). A method the proto options do not retry is never \
         retried; streaming and hedged methods keep their compiled policy."
    );
    (
        quote!(
            /// The settings file this client was made from (`from_config`), read by each call.
            settings: ::core::option::Option<#p::Configured>,
        ),
        quote!(settings: ::core::option::Option::None,),
        quote! {
            #p::config_enabled!();

            impl #ours<tonic::transport::Channel> {
                #[doc = #doc]
                ///
                /// # Errors
                ///
                /// No client `name` in the file; settings for a method the service does not have,
                /// for a streaming or hedged one, or retries for one its proto does not retry; an
                /// address tonic refuses. While the client lives, a reload that breaks these rules
                /// is refused.
                pub fn from_config(
                    clients: &#p::ConfigClients,
                    name: &str,
                ) -> ::core::result::Result<Self, #p::ConfigError> {
                    let settings = #p::configure(clients, name, #full_name, &[#(#entries),*], #budget)?;
                    let (channel, target) = settings.channel()?;
                    let mut client = Self::new(channel);
                    client.target = target;
                    client.settings = ::core::option::Option::Some(settings);
                    ::core::result::Result::Ok(client)
                }
            }
        },
    )
}

fn doc_line(line: &str) -> TokenStream {
    let line = if line.is_empty() || line.starts_with(' ') {
        line.to_owned()
    } else {
        format!(" {line}")
    };
    quote!(#[doc = #line])
}

// Input:  a prost method (and its place in the service) and its policy.
// Output: the public method, named and typed as tonic's, taking what tonic's
//         takes, and a private one that carries the policy's attributes:
//         - unary or server-streaming, retried: the request is taken apart
//           once (`ReplayableRequest`) and rebuilt for each attempt;
//         - client-streaming or bidi, retried: the messages are recorded as
//           sent and replayed (`ReplayableStream`), until a response commits;
//         - otherwise (not retried): it goes out once, stamped with the
//           deadline, no copy kept.
//         - unary, hedged: each attempt on a clone of the client.
//         A timeout the caller set on the request bounds the whole call.
//         tonic's call future is boxed: it is large, and every layer of
//         policy around it would otherwise copy it when it is made (a
//         measured 1.3k instructions a call; the allocation costs less).
fn method(
    rt: &Runtime,
    service: &str,
    (index, method): (usize, &Method),
    plan: &MethodPlan,
    budget: Option<&syn::Ident>,
    own_unary: bool,
) -> TokenStream {
    let p = &rt.private;
    let name = format_ident!("{}", method.name);
    let private = format_ident!("__steadfast_{}", method.name.trim_start_matches("r#"));
    let (input, output) = match (
        rust_type(&method.input_type),
        rust_type(&method.output_type),
    ) {
        (Ok(input), Ok(output)) => (input, output),
        (Err(e), _) | (_, Err(e)) => {
            let message = format!("{}: {e}", method.proto_name);
            return quote!(::core::compile_error!(#message););
        }
    };
    // The gRPC method, for the spans (`Sent.<service>.<method>` per call,
    // `Attempt.<service>.<method>` per attempt).
    let proto_method = &method.proto_name;
    let crate_arg = &rt.crate_arg;
    let mut attrs = vec![quote!(#[#p::rpc(#service, #proto_method, self.target #crate_arg)])];
    if let Some(d) = plan.deadline {
        let args: TokenStream = literal_tokens(&duration_literal(d));
        attrs.push(quote!(#[#p::deadline(#args)]));
    }
    let retried = plan.retry.is_some();
    if let (Some(retry), true) = (&plan.retry, retried) {
        let mut args = retry.attribute_args();
        if let Some(budget) = budget {
            args.push_str(&format!(", budget = {budget}"));
        }
        let args = literal_tokens(&args);
        attrs.push(quote!(#[#p::retry(#args)]));
    }
    let hedged = plan.hedge.is_some() && !method.client_streaming && !method.server_streaming;
    if let (Some(hedge), true) = (&plan.hedge, hedged) {
        let mut args = hedge.attribute_args();
        if let Some(budget) = budget {
            args.push_str(&format!(", budget = {budget}"));
        }
        let args = literal_tokens(&args);
        attrs.push(quote!(#[#p::hedge(#args)]));
    }
    // What every attempt asks, below the retry: the breaker, then,
    // innermost, the limits.
    let mut per_attempt = Vec::new();
    if plan.breaker.is_some() {
        let field = field_name(method);
        per_attempt.push(quote!(#[#p::circuit_breaker(self.breakers.#field)]));
    }
    if plan.rate_limit.is_some() {
        let field = limit_field(method, "rate");
        per_attempt.push(quote!(#[#p::rate_limit(self.limits.#field)]));
    }
    if plan.concurrency.is_some() {
        let field = limit_field(method, "concurrency");
        per_attempt.push(quote!(#[#p::concurrency_limit(self.limits.#field)]));
    }
    let rpc = attrs[0].clone();
    attrs.extend(per_attempt.iter().cloned());
    let mut docs: Vec<String> = method.comments.leading.clone();
    if !docs.is_empty() {
        docs.push(String::new());
    }
    docs.push(format!(
        " Policy: {}.",
        describe(plan.deadline, plan.retry.as_ref().filter(|_| retried))
    ));
    if let Some(breaker) = &plan.breaker {
        docs.push(format!(
            " Circuit breaker: `#[circuit_breaker({})]`, one per client, shared by its clones{}.",
            breaker.attribute_args(),
            if retried {
                ", asked before each attempt"
            } else {
                ""
            }
        ));
    }
    if let Some(limit) = &plan.rate_limit {
        docs.push(match &limit.shared {
            None => format!(
                " Rate limit: `#[rate_limit({})]`, one per client, shared by its clones, asked by every attempt.",
                limit.attribute_args()
            ),
            Some(shared) => format!(
                " Rate limit: the limiter registered as `{shared}` (`steadfast::limit::register`) when the \
                 client is made, else `#[rate_limit({})]` of its own; asked by every attempt.",
                limit.attribute_args()
            ),
        });
    }
    if let Some(limit) = &plan.concurrency {
        docs.push(format!(
            " Concurrency limit: `#[concurrency_limit({})]`, one per client, shared by its clones, a place per attempt.",
            limit.attribute_args()
        ));
    }
    docs.extend(plan.notes.iter().map(|n| format!(" {n}")));
    let docs = docs.iter().map(|line| doc_line(line));
    let deprecated = method
        .options
        .deprecated
        .unwrap_or(false)
        .then(|| quote!(#[deprecated]));
    let response = if method.server_streaming {
        quote!(tonic::Response<tonic::codec::Streaming<#output>>)
    } else {
        quote!(tonic::Response<#output>)
    };
    let result = quote!(::core::result::Result<#response, tonic::Status>);
    // A unary call goes out through the client's `UnaryClient` when it has
    // one and takes the request; otherwise through tonic's client.
    let unary = own_unary && !method.client_streaming && !method.server_streaming;
    let path = format!("/{service}/{proto_method}");
    let send_own = |client: TokenStream| {
        quote! {
            let request = match #client {
                ::core::option::Option::Some(unary) => match unary.call::<#input, #output>(
                    request,
                    #path,
                    tonic::GrpcMethod::new(#service, #proto_method),
                ) {
                    ::core::result::Result::Ok(call) => return ::std::boxed::Box::pin(call).await,
                    ::core::result::Result::Err(declined) => declined,
                },
                ::core::option::Option::None => request,
            };
        }
    };
    let own = if unary {
        send_own(quote!(self.unary.as_mut()))
    } else {
        quote!()
    };
    let hedged_unary = if unary {
        send_own(quote!(::core::clone::Clone::clone(&self.unary).as_mut()))
    } else {
        quote!()
    };
    if hedged {
        // Attempts run at the same time: each on its own clone of the
        // client (a handle onto the same channel), the request rebuilt for
        // each.
        return quote! {
            #(#docs)*
            #deprecated
            pub async fn #name(&mut self, request: impl tonic::IntoRequest<#input>) -> #result
            where
                T: ::core::clone::Clone,
            {
                let request = #p::ReplayableRequest::new(request);
                #p::within(request.timeout(), self.#private(&request)).await
            }

            #(#attrs)*
            #[allow(deprecated)]
            async fn #private(&self, request: &#p::ReplayableRequest<#input>) -> #result
            where
                T: ::core::clone::Clone,
            {
                let request = request.attempt()?;
                #hedged_unary
                let mut client = ::core::clone::Clone::clone(&self.inner);
                ::std::boxed::Box::pin(client.#name(request)).await
            }
        };
    }
    // With `from_config`: a unary call of a client made from a settings
    // file runs under the file's policy (`CallPolicy::run`: the same retry
    // rules), each attempt through the file's breaker and limits (the
    // compiled ones' settings under the file's).
    let configured = rt.from_config && !method.client_streaming && !method.server_streaming;
    let (config_branch, config_fns, clone_bound) = if configured {
        let configured_fn = format_ident!("{}_configured", private);
        let hedged_fn = format_ident!("{}_hedged", private);
        let attempt_fn = format_ident!("{}_attempt", private);
        (
            quote! {
                if let ::core::option::Option::Some(settings) = &self.settings {
                    let policy = settings.call(#index);
                    let request = #p::ReplayableRequest::new(request);
                    // Boxed: the compiled path's future stays as small as without a file.
                    if policy.is_hedged() {
                        // `CallPolicy::run` keeps the call's timeout itself.
                        let call = self.#hedged_fn(&request, &policy);
                        return #p::within(request.timeout(), ::std::boxed::Box::pin(call)).await;
                    }
                    let call = policy.within_timeout(self.#configured_fn(&request, &policy));
                    return #p::within(request.timeout(), ::std::boxed::Box::pin(call)).await;
                }
            },
            quote! {
                // The file's policy: its attempts made one after another on this
                // client, each decided by the runtime (`__driven_by`), in the
                // same spans and metrics as the compiled path's.
                #rpc
                #[#p::retry(__driven_by = policy)]
                #[allow(deprecated)]
                async fn #configured_fn(
                    &mut self,
                    request: &#p::ReplayableRequest<#input>,
                    policy: &#p::CallPolicy,
                ) -> #result {
                    self.#attempt_fn(request).await
                }

                // A hedge the file asks for: attempts side by side, each on a clone.
                #rpc
                #[allow(deprecated)]
                async fn #hedged_fn(
                    &self,
                    request: &#p::ReplayableRequest<#input>,
                    policy: &#p::CallPolicy,
                ) -> #result
                where
                    T: ::core::clone::Clone,
                {
                    policy
                        .run(|| {
                            let mut client = ::core::clone::Clone::clone(self);
                            async move { client.#attempt_fn(request).await }
                        })
                        .await
                }

                #[allow(deprecated)]
                async fn #attempt_fn(&mut self, request: &#p::ReplayableRequest<#input>) -> #result {
                    let request = request.attempt()?;
                    #own
                    ::std::boxed::Box::pin(self.inner.#name(request)).await
                }
            },
            quote!(where T: ::core::clone::Clone,),
        )
    } else {
        (quote!(), quote!(), quote!())
    };
    if !retried {
        // Sent once: stamped with the deadline, no copy kept for a retry.
        let (takes, into) = if method.client_streaming {
            (
                quote!(impl tonic::IntoStreamingRequest<Message = #input>),
                quote!(into_streaming_request),
            )
        } else {
            (
                quote!(impl tonic::IntoRequest<#input>),
                quote!(into_request),
            )
        };
        return quote! {
            #(#docs)*
            #deprecated
            pub async fn #name(&mut self, request: #takes) -> #result
            #clone_bound
            {
                #config_branch
                let request = request.#into();
                let timeout = #p::request_timeout(request.metadata());
                #p::within(timeout, self.#private(request)).await
            }

            #config_fns

            #(#attrs)*
            #[allow(deprecated)]
            async fn #private(&mut self, request: #takes) -> #result {
                let request = #p::propagate_deadline(request.#into())?;
                #own
                ::std::boxed::Box::pin(self.inner.#name(request)).await
            }
        };
    }
    if method.client_streaming {
        // Retried: the messages are recorded as they are sent and replayed
        // by the next attempt, which goes on with the caller's stream; a
        // response commits the call (`ReplayableStream::settle`).
        return quote! {
            #(#docs)*
            #deprecated
            pub async fn #name(
                &mut self,
                request: impl tonic::IntoStreamingRequest<Message = #input>,
            ) -> #result {
                let request = #p::ReplayableStream::new(request);
                #p::within(request.timeout(), self.#private(&request)).await
            }

            #(#attrs)*
            #[allow(deprecated)]
            async fn #private(&mut self, request: &#p::ReplayableStream<#input>) -> #result {
                let attempt = request.attempt()?;
                request.settle(::std::boxed::Box::pin(self.inner.#name(attempt)).await)
            }
        };
    }
    quote! {
        #(#docs)*
        #deprecated
        pub async fn #name(&mut self, request: impl tonic::IntoRequest<#input>) -> #result
        #clone_bound
        {
            #config_branch
            let request = #p::ReplayableRequest::new(request);
            #p::within(request.timeout(), self.#private(&request)).await
        }

        #config_fns

        #(#attrs)*
        #[allow(deprecated)]
        async fn #private(&mut self, request: &#p::ReplayableRequest<#input>) -> #result {
            let request = request.attempt()?;
            #own
            ::std::boxed::Box::pin(self.inner.#name(request)).await
        }
    }
}

/// The field of a method's breaker: its Rust name, without `r#`.
fn field_name(method: &Method) -> syn::Ident {
    format_ident!("{}", method.name.trim_start_matches("r#"))
}

/// The field of a method's `which` limit: `<method>_rate`, `<method>_concurrency`.
fn limit_field(method: &Method, which: &str) -> syn::Ident {
    format_ident!("{}_{which}", method.name.trim_start_matches("r#"))
}

/// `RateLimiter::per(..)` with the settings, as a constant expression.
fn rate_construction(p: &TokenStream, limit: &RateLimit) -> TokenStream {
    let (count, secs, nanos) = (
        limit.count,
        limit.period.as_secs(),
        limit.period.subsec_nanos(),
    );
    let mut tokens =
        quote!(#p::RateLimiter::per(#count, ::core::time::Duration::new(#secs, #nanos)));
    if let Some(burst) = limit.burst {
        tokens = quote!(#tokens.burst(#burst));
    }
    if let Some(queue) = limit.queue {
        let (secs, nanos) = (queue.as_secs(), queue.subsec_nanos());
        tokens = quote!(#tokens.queue(::core::time::Duration::new(#secs, #nanos)));
    }
    if let Some(warm_up) = limit.warm_up {
        let (secs, nanos) = (warm_up.as_secs(), warm_up.subsec_nanos());
        tokens = quote!(#tokens.warm_up(::core::time::Duration::new(#secs, #nanos)));
    }
    tokens
}

/// `ConcurrencyLimit::new(..)` (or an `AdaptiveLimit` made one) with the
/// settings and `name`, as a constant expression.
fn concurrency_construction(p: &TokenStream, limit: &Concurrency, name: &str) -> TokenStream {
    let max = limit.max as usize;
    let duration = |d: std::time::Duration| {
        let (secs, nanos) = (d.as_secs(), d.subsec_nanos());
        quote!(::core::time::Duration::new(#secs, #nanos))
    };
    let mut tokens = match limit.adaptive {
        None => quote!(#p::ConcurrencyLimit::new(#max)),
        Some(adaptive) => {
            let algorithm = match adaptive {
                Adaptive::Gradient => quote!(#p::AdaptiveLimit::gradient()),
                Adaptive::Vegas => quote!(#p::AdaptiveLimit::vegas()),
                Adaptive::Aimd(timeout) => {
                    let timeout = duration(timeout);
                    quote!(#p::AdaptiveLimit::aimd(#timeout))
                }
            };
            let initial = max.min(20);
            quote!(#algorithm.bounds(1usize, #initial, #max))
        }
    };
    if let Some(queue) = limit.queue {
        let queue = duration(queue);
        tokens = quote!(#tokens.queue(#queue));
    }
    tokens = quote!(#tokens.named(#name));
    if limit.adaptive.is_some() {
        tokens = quote!(#tokens.into_limit());
    }
    tokens
}

/// `CircuitBreaker::new()` with the settings, as a constant expression.
fn breaker_construction(p: &TokenStream, b: &Breaker) -> TokenStream {
    let duration = |d: std::time::Duration| {
        let (secs, nanos) = (d.as_secs(), d.subsec_nanos());
        quote!(::core::time::Duration::new(#secs, #nanos))
    };
    if let Some(k) = b.throttle {
        let mut tokens = quote!(#p::AdaptiveThrottle::new().k(#k));
        if let Some(d) = b.window {
            let d = duration(d);
            tokens = quote!(#tokens.window(#d));
        }
        return quote!(#tokens.into_breaker());
    }
    let mut tokens = quote!(#p::CircuitBreaker::new());
    if let Some(r) = b.failure_ratio {
        tokens = quote!(#tokens.failure_ratio(#r));
    }
    if let Some(n) = b.min_calls {
        tokens = quote!(#tokens.min_calls(#n));
    }
    if let Some(d) = b.window {
        let d = duration(d);
        tokens = quote!(#tokens.window(#d));
    }
    if let Some(d) = b.open_for {
        let d = duration(d);
        tokens = quote!(#tokens.open_for(#d));
    }
    if let Some(n) = b.half_open {
        tokens = quote!(#tokens.half_open_calls(#n));
    }
    if let Some((d, r)) = b.slow {
        let d = duration(d);
        tokens = quote!(#tokens.slow_calls(#d, #r));
    }
    if let Some(n) = b.failures {
        tokens = quote!(#tokens.failure_count(#n));
    }
    tokens
}

/// Attribute arguments as tokens; they are written by this crate from
/// validated values, so they always parse.
fn literal_tokens(text: &str) -> TokenStream {
    text.parse().unwrap_or_else(|e| {
        let message = format!("steadfast-build wrote arguments that do not parse ({e}): {text}");
        quote!(::core::compile_error!(#message))
    })
}

/// "deadline 2s; retry max = 3, backoff = "exp", ..." for docs and warnings.
pub(crate) fn describe(deadline: Option<std::time::Duration>, retry: Option<&Retry>) -> String {
    let deadline = deadline.map_or("no deadline".to_owned(), |d| {
        format!("deadline {}", duration_literal(d))
    });
    let retry = retry.map_or("not retried".to_owned(), |r| {
        format!("`#[retry({})]`", r.attribute_args())
    });
    format!("{deadline}; {retry}")
}

/// `(steadfast.channel)` in a generated `connect`: a doc line saying what
/// is set, and the statement that applies it to `endpoint`.
fn channel_policy(p: &TokenStream, channel: &Channel) -> (TokenStream, TokenStream) {
    if *channel == Channel::default() {
        return (TokenStream::new(), TokenStream::new());
    }
    let nanos = |d: std::time::Duration| {
        let (secs, nanos) = (d.as_secs(), d.subsec_nanos());
        quote!(::core::time::Duration::new(#secs, #nanos))
    };
    let mut said = Vec::new();
    let mut calls = Vec::new();
    if let Some(d) = channel.connect_timeout {
        said.push(format!("connect within {d:?}"));
        let d = nanos(d);
        calls.push(quote!(.connect_timeout(#d)));
    }
    if let Some((interval, timeout)) = channel.keepalive {
        said.push(format!(
            "ping every {interval:?}, answered within {timeout:?}"
        ));
        let (i, t) = (nanos(interval), nanos(timeout));
        calls.push(quote!(.keepalive(#i, #t)));
    }
    if channel.keepalive_while_idle {
        said.push("ping with no call open too".to_owned());
        calls.push(quote!(.keepalive_while_idle(true)));
    }
    if let Some(d) = channel.tcp_keepalive {
        said.push(format!("TCP keepalive after {d:?} idle"));
        let d = nanos(d);
        calls.push(quote!(.tcp_keepalive(#d)));
    }
    let doc = doc_line(&format!(
        " `(steadfast.channel)`: {} (`steadfast::tonic::ChannelPolicy`).",
        said.join(", ")
    ));
    let apply = quote! {
        let endpoint = #p::ChannelPolicy::new() #(#calls)* .apply(endpoint);
    };
    (quote!(#doc), apply)
}
