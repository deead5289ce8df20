//! Unary calls on loopback: raw tonic against the same calls through
//! `resilient` (server `DeadlineLayer`, client `PropagateDeadline`, and an
//! annotated `#[deadline] #[retry]` method), at concurrency 1 and 64.
//!
//! `cargo bench -p resilient-examples --bench grpc`

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use resilient::tonic::PropagateDeadline;
use resilient_examples::faulty::serve_echo;
use resilient_examples::user::user_service_client::UserServiceClient;
use resilient_examples::user::{UserRequest, UserResponse};
use tonic::codegen::InterceptedService;
use tonic::transport::Channel;
use tonic::Status;

type Plain = UserServiceClient<Channel>;
type Resilient = UserServiceClient<InterceptedService<Channel, PropagateDeadline>>;

fn request() -> UserRequest {
    UserRequest {
        user_id: "42".into(),
    }
}

async fn raw(mut client: Plain) -> Result<UserResponse, Status> {
    Ok(client.get_user(request()).await?.into_inner())
}

#[resilient::deadline(2s)]
#[resilient::retry(max = 3, backoff = "exp", initial = 50ms)]
async fn resilient_call(client: &mut Resilient) -> Result<UserResponse, Status> {
    Ok(client.get_user(request()).await?.into_inner())
}

async fn resilient(mut client: Resilient) -> Result<UserResponse, Status> {
    resilient_call(&mut client).await
}

/// Time for `iters` rounds of `concurrency` calls each.
async fn rounds<C, F, Fut>(iters: u64, concurrency: usize, client: &C, call: F) -> Duration
where
    C: Clone + Send + 'static,
    F: Fn(C) -> Fut + Copy + Send + 'static,
    Fut: std::future::Future<Output = Result<UserResponse, Status>> + Send + 'static,
{
    let start = Instant::now();
    for _ in 0..iters {
        if concurrency == 1 {
            let _ = call(client.clone()).await;
            continue;
        }
        let tasks: Vec<_> = (0..concurrency)
            .map(|_| tokio::spawn(call(client.clone())))
            .collect();
        for task in tasks {
            let _ = task.await;
        }
    }
    start.elapsed()
}

fn grpc(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let (plain_addr, resilient_addr) = rt.block_on(async {
        let (plain, _) = serve_echo(false).await.expect("a server");
        let (resilient, _) = serve_echo(true).await.expect("a server");
        (plain, resilient)
    });
    let plain: Plain = rt.block_on(async {
        UserServiceClient::new(
            Channel::from_shared(format!("http://{plain_addr}"))
                .expect("an address")
                .connect()
                .await
                .expect("a connection"),
        )
    });
    let resilient_client: Resilient = rt.block_on(async {
        let channel = Channel::from_shared(format!("http://{resilient_addr}"))
            .expect("an address")
            .connect()
            .await
            .expect("a connection");
        UserServiceClient::with_interceptor(channel, PropagateDeadline)
    });

    for concurrency in [1usize, 64] {
        let mut g = c.benchmark_group(format!("grpc_unary_c{concurrency}"));
        g.throughput(Throughput::Elements(concurrency as u64));
        g.bench_function("raw_tonic", |b| {
            b.to_async(&rt)
                .iter_custom(|iters| rounds(iters, concurrency, &plain, raw))
        });
        g.bench_function("resilient", |b| {
            b.to_async(&rt)
                .iter_custom(|iters| rounds(iters, concurrency, &resilient_client, resilient))
        });
        g.finish();
    }
}

criterion_group!(benches, grpc);
criterion_main!(benches);
