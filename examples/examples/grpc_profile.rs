//! Runs 2,000 unary calls on loopback through one variant, for counting
//! instructions with callgrind (wall-clock runs of this machine drift by
//! more than the costs looked for):
//!
//! ```sh
//! cargo build --release -p resilient-examples --no-default-features --example grpc_profile
//! valgrind --tool=callgrind target/release/examples/grpc_profile <raw|timeout|generated|generated-traced|annotated|layer>
//! ```
//!
//! One current-thread runtime runs client and server, so that the counts
//! repeat. The variants are those of `benches/grpc_ab.rs`.

use resilient::tonic::PropagateDeadline;
use resilient_examples::faulty::serve_echo;
use resilient_examples::user::user_service_client::UserServiceClient;
use resilient_examples::user::{ResilientUserServiceClient, UserRequest, UserResponse};
use tonic::codegen::InterceptedService;
use tonic::transport::Channel;
use tonic::Status;

const CALLS: usize = 2_000;

/// A layer that enables everything and records nothing.
struct Listen;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Listen {}

fn request() -> UserRequest {
    UserRequest {
        user_id: "42".into(),
    }
}

#[resilient::deadline(2s)]
#[resilient::retry(max = 3, backoff = "exp", initial = 50ms)]
async fn annotated(
    client: &mut UserServiceClient<InterceptedService<Channel, PropagateDeadline>>,
) -> Result<UserResponse, Status> {
    Ok(client.get_user(request()).await?.into_inner())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    resilient_examples::note_features();
    let variant = std::env::args().nth(1).unwrap_or_default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let layered = !matches!(variant.as_str(), "raw" | "timeout");
        let (addr, _server) = serve_echo(layered).await?;
        let channel = Channel::from_shared(format!("http://{addr}"))?
            .connect()
            .await?;
        match variant.as_str() {
            "raw" => {
                let mut client = UserServiceClient::new(channel);
                for _ in 0..CALLS {
                    client.get_user(request()).await?;
                }
            }
            "timeout" => {
                let mut client = UserServiceClient::new(channel);
                for _ in 0..CALLS {
                    let mut request = tonic::Request::new(request());
                    request.set_timeout(std::time::Duration::from_secs(2));
                    client.get_user(request).await?;
                }
            }
            "generated" => {
                let mut client = ResilientUserServiceClient::new(channel);
                for _ in 0..CALLS {
                    client.get_user(request()).await?;
                }
            }
            "generated-traced" => {
                // A subscriber that wants every span (tracing-subscriber's
                // registry, which keeps each span's data): what the spans and
                // events cost when someone listens.
                use tracing_subscriber::layer::SubscriberExt;
                use tracing_subscriber::Layer;
                // resilient's spans and events only: h2's and hyper's own
                // would be most of the cost otherwise.
                let ours = tracing_subscriber::filter::filter_fn(|meta| {
                    meta.target().starts_with("resilient")
                        || meta.name().starts_with("Sent.")
                        || meta.name().starts_with("Attempt.")
                });
                let subscriber = tracing_subscriber::registry().with(Listen.with_filter(ours));
                let _guard = tracing::subscriber::set_default(subscriber);
                let mut client = ResilientUserServiceClient::new(channel);
                for _ in 0..CALLS {
                    client.get_user(request()).await?;
                }
            }
            "annotated" => {
                let mut client = UserServiceClient::with_interceptor(channel, PropagateDeadline);
                for _ in 0..CALLS {
                    annotated(&mut client).await?;
                }
            }
            "layer" => {
                // tonic's client over `ServiceConfigLayer`, grpc_ab's config.
                let layer = resilient::tonic::ServiceConfigLayer::from_json(
                    r#"{"methodConfig": [{
                        "name": [{"service": "user.UserService"}],
                        "timeout": "2s",
                        "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.05s",
                                        "maxBackoff": "1s", "backoffMultiplier": 2,
                                        "retryableStatusCodes": ["UNAVAILABLE"]}
                    }]}"#,
                )?;
                let channel = tower::ServiceBuilder::new().layer(layer).service(channel);
                let mut client = UserServiceClient::new(channel);
                for _ in 0..CALLS {
                    client.get_user(request()).await?;
                }
            }
            other => return Err(format!("unknown variant {other:?}").into()),
        }
        Ok(())
    })
}
