//! Each attempt's request: the caller's own for the first, remade from the
//! call's template for the next, stamped with what is left of the
//! deadline and the attempt's number.

use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri, Version};
use tonic::body::Body;
use tonic::Status;

use crate::tonic::client::{stamp, PREVIOUS_ATTEMPTS_NAME};

/// The parts of the call's request, for making each attempt's.
pub(super) struct Template {
    pub(super) method: Method,
    pub(super) uri: Uri,
    pub(super) version: Version,
    /// A copy of the caller's headers, kept as a list: the first attempt
    /// sends the caller's own map, and a map is made again only for an
    /// attempt after it (a copied map costs every call two allocations and
    /// a hash of each name).
    pub(super) headers: Vec<(HeaderName, HeaderValue)>,
    pub(super) extensions: KeptExtensions,
}

/// What of the caller's request its call's first attempt sends as it is.
pub(super) struct CallerParts {
    pub(super) headers: HeaderMap,
    pub(super) extensions: http::Extensions,
}

/// The call's request extensions, as kept for its later attempts (the
/// first sends the caller's own). Most hold only tonic's `GrpcMethod`, kept
/// as itself: a copy of the map would cost every call three allocations
/// for attempts that are seldom made.
pub(super) enum KeptExtensions {
    Method(tonic::GrpcMethod<'static>),
    Copied(http::Extensions),
}

impl KeptExtensions {
    pub(super) fn of(extensions: &http::Extensions) -> Self {
        match extensions.get::<tonic::GrpcMethod<'static>>() {
            Some(method) if extensions.len() == 1 => Self::Method(method.clone()),
            _ => Self::Copied(extensions.clone()),
        }
    }

    /// The extensions again, for a later attempt.
    pub(super) fn extensions(&self) -> http::Extensions {
        match self {
            Self::Method(method) => {
                let mut extensions = http::Extensions::new();
                extensions.insert(method.clone());
                extensions
            }
            Self::Copied(extensions) => extensions.clone(),
        }
    }
}

impl Template {
    /// The template of a call whose request has `parts`: copies of what
    /// its later attempts send again.
    pub(super) fn of(parts: &http::request::Parts) -> Self {
        Self {
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            version: parts.version,
            headers: parts
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
            extensions: KeptExtensions::of(&parts.extensions),
        }
    }

    /// The request of the attempt that `previous` attempts came before,
    /// stamped with what is left of the deadline (or the status that stops
    /// it: the deadline has passed); with the `caller`'s own headers and
    /// extensions (the first attempt), or copies of them.
    pub(super) fn request(
        &self,
        body: Body,
        previous: u32,
        caller: Option<CallerParts>,
    ) -> Result<Request<Body>, Status> {
        let mut request = Request::new(body);
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.version_mut() = self.version;
        match caller {
            Some(CallerParts {
                headers,
                extensions,
            }) => {
                *request.headers_mut() = headers;
                *request.extensions_mut() = extensions;
            }
            None => {
                // With room for what the stamp adds.
                let headers = request.headers_mut();
                headers.reserve(self.headers.len() + 2);
                for (name, value) in &self.headers {
                    headers.append(name, value.clone());
                }
                *request.extensions_mut() = self.extensions.extensions();
            }
        }
        stamp(request.headers_mut())?;
        if previous > 0 {
            let headers = request.headers_mut();
            headers.insert(&PREVIOUS_ATTEMPTS_NAME, HeaderValue::from(previous));
        }
        Ok(request)
    }
}

/// Where an attempt's request comes from, made once the service is ready:
/// inside the attempt's span (traceparent) and scope, as it goes out.
pub(super) trait MakeRequest {
    fn make(&mut self) -> Result<Request<Body>, Status>;
}

/// The request of the attempt that `previous` attempts came before, remade
/// from the call's template.
pub(super) struct FromTemplate<'a> {
    pub(super) template: &'a Template,
    pub(super) body: Option<Body>,
    pub(super) previous: u32,
    /// The caller's own headers and extensions until the first attempt
    /// made takes them.
    pub(super) caller: &'a mut Option<CallerParts>,
}

impl MakeRequest for FromTemplate<'_> {
    fn make(&mut self) -> Result<Request<Body>, Status> {
        let Some(body) = self.body.take() else {
            // Unreachable: an attempt makes its request once.
            return Err(Status::internal("attempt polled after it was sent"));
        };
        self.template
            .request(body, self.previous, self.caller.take())
    }
}
