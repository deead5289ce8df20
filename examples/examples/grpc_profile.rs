//! Runs 2,000 unary calls (`GRPC_PROFILE_CALLS`) on loopback through one variant, for counting
//! instructions with callgrind (wall-clock runs of this machine drift by
//! more than the costs looked for):
//!
//! ```sh
//! cargo build --release -p steadfast-examples --no-default-features --example grpc_profile
//! valgrind --tool=callgrind target/release/examples/grpc_profile <raw|timeout|floor|generated|generated-traced|annotated|layer|layer-timeout|layer-plain|layer-retry>
//! ```
//!
//! Built with `--features config`, also `configured`: the generated client
//! made `from_config` from a file that says what the proto says.
//!
//! One current-thread runtime runs client and server, so that the counts
//! repeat. The variants are those of `benches/grpc_ab.rs`, and `floor`: a
//! unary call made with nothing but what the wire needs (the message framed
//! by hand, a one-chunk body, the trailers' `grpc-status` read, the
//! message decoded; the same `grpc-timeout` as `timeout`) over the same
//! `Channel`: not a client (no compression, limits, status details or
//! metadata), a measure of what tonic's generic streaming machinery costs a
//! unary call.

use steadfast::tonic::PropagateDeadline;
use steadfast_examples::faulty::{
    serve_echo, ECHO_RETRIES_ONLY, ECHO_SERVICE_CONFIG, ECHO_TIMEOUT_ONLY,
};
use steadfast_examples::user::user_service_client::UserServiceClient;
use steadfast_examples::user::{ResilientUserServiceClient, UserRequest, UserResponse};
use tonic::codegen::InterceptedService;
use tonic::transport::Channel;
use tonic::Status;

/// Calls a run (`GRPC_PROFILE_CALLS` to change: two runs of different
/// lengths cancel what setting up costs).
fn calls() -> usize {
    std::env::var("GRPC_PROFILE_CALLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000)
}

/// A body of one chunk.
struct OneChunk(Option<tonic::codegen::Bytes>);

impl http_body::Body for OneChunk {
    type Data = tonic::codegen::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Ready(self.0.take().map(|data| Ok(http_body::Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.0.as_ref().map_or(0, |data| data.len() as u64))
    }
}

/// `GetUser` with nothing but what the wire needs (see the module's doc).
async fn floor(channel: &mut Channel, message: &UserRequest) -> Result<UserResponse, Status> {
    use http_body::Body as _;
    use prost::Message as _;
    use tonic::codegen::http::{self, header, HeaderName, HeaderValue};
    use tower::Service as _;
    static TIMEOUT: HeaderName = HeaderName::from_static("grpc-timeout");
    static STATUS: HeaderName = HeaderName::from_static("grpc-status");
    let len = message.encoded_len();
    let mut frame = Vec::with_capacity(5 + len);
    frame.push(0);
    frame.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
    message
        .encode(&mut frame)
        .map_err(|e| Status::internal(e.to_string()))?;
    let body = OneChunk(Some(frame.into()));
    let mut request = http::Request::new(tonic::body::Body::new(body));
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = http::Uri::from_static("/user.UserService/GetUser");
    let headers = request.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    headers.insert(header::TE, HeaderValue::from_static("trailers"));
    headers.insert(&TIMEOUT, HeaderValue::from_static("2000000u"));
    std::future::poll_fn(|cx| channel.poll_ready(cx))
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let response = channel
        .call(request)
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let mut body = response.into_body();
    let (mut data, mut ok) = (None, false);
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        match frame?.into_data() {
            Ok(chunk) => data = Some(chunk),
            Err(frame) => {
                if let Ok(trailers) = frame.into_trailers() {
                    ok = trailers.get(&STATUS).is_some_and(|v| v == "0");
                }
            }
        }
    }
    let data = data
        .filter(|_| ok)
        .ok_or_else(|| Status::unknown("no message or status"))?;
    UserResponse::decode(data.get(5..).unwrap_or_default())
        .map_err(|e| Status::internal(e.to_string()))
}

/// A layer that enables everything and records nothing.
struct Listen;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Listen {}

fn request() -> UserRequest {
    UserRequest {
        user_id: "42".into(),
    }
}

#[steadfast::deadline(2s)]
#[steadfast::retry(max = 3, backoff = "exp", initial = 50ms)]
async fn annotated(
    client: &mut UserServiceClient<InterceptedService<Channel, PropagateDeadline>>,
) -> Result<UserResponse, Status> {
    Ok(client.get_user(request()).await?.into_inner())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    steadfast_examples::note_features();
    let variant = std::env::args().nth(1).unwrap_or_default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let calls = calls();
    rt.block_on(async {
        // The `-plain` and `-retry` layer variants talk to a server without
        // layers, as raw tonic's.
        let plain = ["raw", "timeout", "floor", "layer-plain", "layer-retry"];
        let layered = !plain.contains(&variant.as_str());
        let (addr, _server) = serve_echo(layered).await?;
        let channel = Channel::from_shared(format!("http://{addr}"))?
            .connect()
            .await?;
        match variant.as_str() {
            "raw" => {
                let mut client = UserServiceClient::new(channel);
                for _ in 0..calls {
                    client.get_user(request()).await?;
                }
            }
            "timeout" => {
                let mut client = UserServiceClient::new(channel);
                for _ in 0..calls {
                    let mut request = tonic::Request::new(request());
                    request.set_timeout(std::time::Duration::from_secs(2));
                    client.get_user(request).await?;
                }
            }
            "floor" => {
                let mut channel = channel;
                for _ in 0..calls {
                    floor(&mut channel, &request()).await?;
                }
            }
            "generated" => {
                let mut client = ResilientUserServiceClient::new(channel);
                for _ in 0..calls {
                    client.get_user(request()).await?;
                }
            }
            // The generated client made from a settings file that says what
            // the proto says (feature `config`; `generated` in the same build
            // is the client made with `new`).
            #[cfg(feature = "config")]
            "configured" => {
                let file = format!(
                    "grpc:\n  client:\n    users:\n      address: 'static://{addr}'\n      timeout: 2s\n      \
                     maxRetryAttempts: 2\n      backoff: exp\n      initialBackoff: 50ms\n      \
                     perTryTimeout: 300ms\n      retryOn: [UNAVAILABLE]\n"
                );
                let clients = steadfast::config::Clients::parse(&file, steadfast::config::Format::Yaml)?;
                let mut client = ResilientUserServiceClient::from_config(&clients, "users")?;
                for _ in 0..calls {
                    client.get_user(request()).await?;
                }
            }
            "generated-traced" => {
                // A subscriber that wants every span (tracing-subscriber's
                // registry, which keeps each span's data): what the spans and
                // events cost when someone listens.
                use tracing_subscriber::layer::SubscriberExt;
                use tracing_subscriber::Layer;
                // steadfast's spans and events only: h2's and hyper's own
                // would be most of the cost otherwise.
                let ours = tracing_subscriber::filter::filter_fn(|meta| {
                    meta.target().starts_with("steadfast")
                        || meta.name().starts_with("Sent.")
                        || meta.name().starts_with("Attempt.")
                });
                let subscriber = tracing_subscriber::registry().with(Listen.with_filter(ours));
                let _guard = tracing::subscriber::set_default(subscriber);
                let mut client = ResilientUserServiceClient::new(channel);
                for _ in 0..calls {
                    client.get_user(request()).await?;
                }
            }
            "annotated" => {
                let mut client = UserServiceClient::with_interceptor(channel, PropagateDeadline);
                for _ in 0..calls {
                    annotated(&mut client).await?;
                }
            }
            "layer" | "layer-plain" | "layer-retry" => {
                // tonic's client over `ServiceConfigLayer`, grpc_ab's config
                // (or its retries alone).
                let config = match variant.as_str() {
                    "layer-retry" => ECHO_RETRIES_ONLY,
                    _ => ECHO_SERVICE_CONFIG,
                };
                let layer = steadfast::tonic::ServiceConfigLayer::from_json(config)?;
                let channel = tower::ServiceBuilder::new().layer(layer).service(channel);
                let mut client = UserServiceClient::new(channel);
                for _ in 0..calls {
                    client.get_user(request()).await?;
                }
            }
            "layer-timeout" => {
                // The same, for a method whose policy is a timeout only.
                let layer = steadfast::tonic::ServiceConfigLayer::from_json(ECHO_TIMEOUT_ONLY)?;
                let channel = tower::ServiceBuilder::new().layer(layer).service(channel);
                let mut client = UserServiceClient::new(channel);
                for _ in 0..calls {
                    client.get_user(request()).await?;
                }
            }
            other => return Err(format!("unknown variant {other:?}").into()),
        }
        Ok(())
    })
}
