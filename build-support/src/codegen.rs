//! `Resilient<Name>Client<T>`: tonic's client with each method's policy as
//! `#[resilient::deadline]` / `#[resilient::retry]` attributes. Pure
//! functions from plans to tokens; formatted once by the caller.

use heck::{ToSnakeCase, ToUpperCamelCase};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::policy::{duration_literal, Retry};

/// One service to generate.
#[derive(Debug, Clone)]
pub(crate) struct ServicePlan {
    pub(crate) name: String,
    pub(crate) full_name: String,
    pub(crate) methods: Vec<MethodPlan>,
}

/// One method, with its resolved policy.
#[derive(Debug, Clone)]
pub(crate) struct MethodPlan {
    pub(crate) name: String,
    pub(crate) input: String,
    pub(crate) output: String,
    pub(crate) client_streaming: bool,
    pub(crate) server_streaming: bool,
    pub(crate) deadline: Option<std::time::Duration>,
    pub(crate) retry: Option<Retry>,
    /// Where each part of the policy came from, and what was left out why.
    pub(crate) notes: Vec<String>,
}

pub(crate) fn service(plan: &ServicePlan) -> TokenStream {
    let client_mod = format_ident!("{}_client", plan.name.to_snake_case());
    let tonic_client = format_ident!("{}Client", plan.name.to_upper_camel_case());
    let ours = format_ident!("Resilient{}Client", plan.name.to_upper_camel_case());
    let doc = format!(
        " A client for `{}` whose methods carry their deadline and retry policy \
         (from `resilient` proto options, the service config, or the build's defaults), \
         and send what is left of the caller's deadline as `grpc-timeout`.",
        plan.full_name
    );
    let methods = plan.methods.iter().map(method);
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone)]
        pub struct #ours<T> {
            inner: #client_mod::#tonic_client<T>,
        }

        impl #ours<::resilient::tonic::PropagateDeadlineService<tonic::transport::Channel>> {
            /// Connects to `dst`, as tonic's `connect` does.
            pub async fn connect<D>(dst: D) -> ::core::result::Result<Self, tonic::transport::Error>
            where
                D: ::core::convert::TryInto<tonic::transport::Endpoint>,
                D::Error: ::core::convert::Into<tonic::codegen::StdError>,
            {
                let channel = tonic::transport::Endpoint::new(dst)?.connect().await?;
                ::core::result::Result::Ok(Self::new(channel))
            }
        }

        impl<T> #ours<::resilient::tonic::PropagateDeadlineService<T>>
        where
            ::resilient::tonic::PropagateDeadlineService<T>: tonic::client::GrpcService<tonic::body::Body>,
            <::resilient::tonic::PropagateDeadlineService<T> as tonic::client::GrpcService<tonic::body::Body>>::Error:
                ::core::convert::Into<tonic::codegen::StdError>,
            <::resilient::tonic::PropagateDeadlineService<T> as tonic::client::GrpcService<tonic::body::Body>>::ResponseBody:
                tonic::codegen::Body<Data = tonic::codegen::Bytes> + ::core::marker::Send + 'static,
            <<::resilient::tonic::PropagateDeadlineService<T> as tonic::client::GrpcService<tonic::body::Body>>::ResponseBody as tonic::codegen::Body>::Error:
                ::core::convert::Into<tonic::codegen::StdError> + ::core::marker::Send,
        {
            /// Wraps a transport such as a `Channel`, sending deadlines as `grpc-timeout`.
            pub fn new(inner: T) -> Self {
                Self {
                    inner: #client_mod::#tonic_client::new(::resilient::tonic::PropagateDeadlineService::new(inner)),
                }
            }
        }

        impl<T> ::core::convert::From<#client_mod::#tonic_client<T>> for #ours<T> {
            /// Uses a client as it is: put `resilient::tonic::PropagateDeadline` (or its
            /// layer) under it for deadlines to reach the server.
            fn from(inner: #client_mod::#tonic_client<T>) -> Self {
                Self { inner }
            }
        }

        impl<T> #ours<T>
        where
            T: tonic::client::GrpcService<tonic::body::Body>,
            T::Error: ::core::convert::Into<tonic::codegen::StdError>,
            T::ResponseBody: tonic::codegen::Body<Data = tonic::codegen::Bytes> + ::core::marker::Send + 'static,
            <T::ResponseBody as tonic::codegen::Body>::Error: ::core::convert::Into<tonic::codegen::StdError> + ::core::marker::Send,
        {
            /// The plain tonic client underneath.
            pub fn into_inner(self) -> #client_mod::#tonic_client<T> {
                self.inner
            }

            #(#methods)*
        }
    }
}

fn method(plan: &MethodPlan) -> TokenStream {
    let name = format_ident!("{}", plan.name.to_snake_case());
    let input: syn::Type = syn::parse_str(&plan.input).unwrap_or_else(|_| syn::parse_quote!(()));
    let output: syn::Type = syn::parse_str(&plan.output).unwrap_or_else(|_| syn::parse_quote!(()));
    let mut attrs = Vec::new();
    if let Some(d) = plan.deadline {
        let args: TokenStream = duration_literal(d).parse().unwrap_or_default();
        attrs.push(quote!(#[::resilient::deadline(#args)]));
    }
    if let Some(retry) = &plan.retry {
        let args: TokenStream = retry.attribute_args().parse().unwrap_or_default();
        attrs.push(quote!(#[::resilient::retry(#args)]));
    }
    let mut doc = vec![format!(" `{}`.", plan.name)];
    doc.push(String::new());
    doc.push(format!(
        " Policy: {}.",
        describe(plan.deadline, plan.retry.as_ref())
    ));
    doc.extend(plan.notes.iter().map(|n| format!(" {n}")));
    let docs = doc.iter().map(|line| quote!(#[doc = #line]));
    let response = if plan.server_streaming {
        quote!(tonic::Response<tonic::codec::Streaming<#output>>)
    } else {
        quote!(tonic::Response<#output>)
    };
    let request = if plan.client_streaming {
        quote!(impl tonic::IntoStreamingRequest<Message = #input>)
    } else {
        quote!(#input)
    };
    quote! {
        #(#docs)*
        #(#attrs)*
        pub async fn #name(&mut self, request: #request) -> ::core::result::Result<#response, tonic::Status> {
            self.inner.#name(request).await
        }
    }
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
