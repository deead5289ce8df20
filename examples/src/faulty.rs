//! A `UserService` that misbehaves on purpose, by script: fail with a
//! status, answer slowly, hang, send pushback, or drop the connection.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
use tonic::{Code, Request, Response, Status};

use crate::user::user_directory_server::{UserDirectory, UserDirectoryServer};
use crate::user::user_service_server::{UserService, UserServiceServer};
use crate::user::{UserRequest, UserResponse};

/// What the server does with one call.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer at once.
    Ok,
    /// Fail with this code.
    Fail(Code),
    /// Fail with `UNAVAILABLE` and a `grpc-retry-pushback-ms` trailer.
    Pushback(&'static str),
    /// Answer after this long.
    Slow(Duration),
    /// Never answer.
    Hang,
}

/// What the server saw of one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The `grpc-timeout` header, if any.
    pub timeout: Option<String>,
    /// The `grpc-previous-rpc-attempts` header, if any.
    pub previous_attempts: Option<String>,
    /// The caller's `x-request-id` metadata, if any.
    pub request_id: Option<String>,
    /// The `content-length` header, if any (tonic's client sends none).
    pub content_length: Option<String>,
    /// What the handler's `steadfast::deadline::remaining()` said, in ms.
    pub remaining_ms: Option<u128>,
    /// When the call arrived.
    pub at: tokio::time::Instant,
}

/// The scripted service. Calls past the end of the script answer `Ok`.
#[derive(Debug, Clone, Default)]
pub struct FaultyUsers {
    script: Arc<Mutex<VecDeque<Fault>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FaultyUsers {
    /// A server that follows `script`, one entry per call.
    pub fn new(script: impl IntoIterator<Item = Fault>) -> Self {
        Self {
            script: Arc::new(Mutex::new(script.into_iter().collect())),
            seen: Arc::default(),
        }
    }

    /// Replaces the rest of the script.
    pub fn script(&self, script: impl IntoIterator<Item = Fault>) {
        if let Ok(mut s) = self.script.lock() {
            *s = script.into_iter().collect();
        }
        if let Ok(mut seen) = self.seen.lock() {
            seen.clear();
        }
    }

    /// Every call received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Calls received so far.
    pub fn calls(&self) -> usize {
        self.seen.lock().map(|s| s.len()).unwrap_or(0)
    }

    /// Serves on a free port of 127.0.0.1, with `steadfast`'s
    /// `DeadlineLayer`, until the returned task is aborted.
    pub async fn serve(&self) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
        let (addr, incoming) = bind().await?;
        let routes = Routes::new(UserServiceServer::new(self.clone()))
            .add_service(UserDirectoryServer::new(self.clone()));
        Ok((addr, serve_with_deadlines(routes, incoming)))
    }
}

#[tonic::async_trait]
impl UserService for FaultyUsers {
    async fn get_user(
        &self,
        request: Request<UserRequest>,
    ) -> Result<Response<UserResponse>, Status> {
        self.answer(request).await
    }
}

/// The directory answers as the service does, from the same script.
#[tonic::async_trait]
impl UserDirectory for FaultyUsers {
    async fn find_user(
        &self,
        request: Request<UserRequest>,
    ) -> Result<Response<UserResponse>, Status> {
        self.answer(request).await
    }
}

impl FaultyUsers {
    /// One call: recorded, then the script's next fault.
    async fn answer(
        &self,
        request: Request<UserRequest>,
    ) -> Result<Response<UserResponse>, Status> {
        let header = |name: &str| {
            request
                .metadata()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let seen = Seen {
            timeout: header("grpc-timeout"),
            previous_attempts: header("grpc-previous-rpc-attempts"),
            request_id: header("x-request-id"),
            content_length: header("content-length"),
            remaining_ms: steadfast::deadline::remaining().map(|d| d.as_millis()),
            at: tokio::time::Instant::now(),
        };
        if let Ok(mut all) = self.seen.lock() {
            all.push(seen);
        }
        let fault = self
            .script
            .lock()
            .ok()
            .and_then(|mut s| s.pop_front())
            .unwrap_or(Fault::Ok);
        match fault {
            Fault::Ok => {}
            Fault::Fail(code) => return Err(Status::new(code, "injected fault")),
            Fault::Pushback(ms) => {
                let mut status = Status::unavailable("overloaded, back off");
                if let Ok(value) = ms.parse() {
                    status
                        .metadata_mut()
                        .insert("grpc-retry-pushback-ms", value);
                }
                return Err(status);
            }
            Fault::Slow(delay) => tokio::time::sleep(delay).await,
            Fault::Hang => std::future::pending::<()>().await,
        }
        let id = request.into_inner().user_id;
        Ok(Response::new(UserResponse {
            name: format!("user {id}"),
            age: 42,
        }))
    }
}

/// A TCP proxy in front of `target` that accepts and at once closes its
/// first `close_first` connections, as a crashing or restarting server
/// would, then forwards the rest. Runs until the returned task is aborted.
pub async fn closing_proxy(
    target: SocketAddr,
    close_first: usize,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let mut closed = 0;
        while let Ok((mut inbound, _)) = listener.accept().await {
            if closed < close_first {
                closed += 1;
                drop(inbound);
                continue;
            }
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    Ok((addr, task))
}

/// A TCP proxy in front of `target` that forwards until [`freeze`](Self::freeze),
/// then moves no more bytes either way while keeping every connection open:
/// a peer that died without a FIN or RST (power lost, a network partition),
/// which only keepalive or a deadline can notice.
#[derive(Debug)]
pub struct FreezingProxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    frozen: tokio::sync::watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl FreezingProxy {
    /// Starts forwarding to `target` from a free port of 127.0.0.1.
    pub async fn start(target: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (frozen, watch) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let watch = watch.clone();
                tokio::spawn(async move {
                    let Ok(outbound) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    let (in_read, in_write) = inbound.into_split();
                    let (out_read, out_write) = outbound.into_split();
                    let up = pipe(in_read, out_write, watch.clone());
                    let down = pipe(out_read, in_write, watch);
                    tokio::join!(up, down);
                });
            }
        });
        Ok(Self { addr, frozen, task })
    }

    /// From now on, nothing passes; the connections stay open.
    pub fn freeze(&self) {
        self.frozen.send_replace(true);
    }
}

impl Drop for FreezingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copies `from` into `to` until either closes or the proxy freezes, then
/// holds both open, silent, for as long as the task lives.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut frozen: tokio::sync::watch::Receiver<bool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if *frozen.borrow() {
            break;
        }
        let n = tokio::select! {
            read = from.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            _ = frozen.changed() => break,
        };
        if *frozen.borrow() || to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    // Frozen: keep both halves, move nothing.
    std::future::pending::<()>().await;
    drop((from, to));
}

/// A `UserService` that answers at once and records nothing: the baseline
/// for benchmarks.
#[derive(Debug, Clone, Copy, Default)]
pub struct Echo;

#[tonic::async_trait]
impl UserService for Echo {
    async fn get_user(
        &self,
        request: Request<UserRequest>,
    ) -> Result<Response<UserResponse>, Status> {
        Ok(Response::new(UserResponse {
            name: request.into_inner().user_id,
            age: 42,
        }))
    }
}

/// The service config the benchmarks' `layer` variant puts under tonic's
/// client (`ServiceConfigLayer`): `user.UserService` gets a 2 s timeout and
/// 3 attempts on `UNAVAILABLE`, as the generated client's `GetUser` does.
///
/// ```
/// let layer = steadfast::tonic::ServiceConfigLayer::from_json(steadfast_examples::faulty::ECHO_SERVICE_CONFIG);
/// assert!(layer.is_ok());
/// ```
pub const ECHO_SERVICE_CONFIG: &str = r#"{"methodConfig": [{
    "name": [{"service": "user.UserService"}],
    "timeout": "2s",
    "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.05s", "maxBackoff": "1s",
                    "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}
}]}"#;

/// [`ECHO_SERVICE_CONFIG`]'s `retryPolicy` alone (no timeout): what the
/// benchmarks measure of the layer's retries apart from its deadline.
///
/// ```
/// use steadfast_examples::faulty::ECHO_RETRIES_ONLY;
/// assert!(steadfast::tonic::ServiceConfigLayer::from_json(ECHO_RETRIES_ONLY).is_ok());
/// ```
pub const ECHO_RETRIES_ONLY: &str = r#"{"methodConfig": [{
    "name": [{"service": "user.UserService"}],
    "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.05s", "maxBackoff": "1s",
                    "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}
}]}"#;

/// [`ECHO_SERVICE_CONFIG`]'s `timeout` alone (no retries).
///
/// ```
/// use steadfast_examples::faulty::ECHO_TIMEOUT_ONLY;
/// assert!(steadfast::tonic::ServiceConfigLayer::from_json(ECHO_TIMEOUT_ONLY).is_ok());
/// ```
pub const ECHO_TIMEOUT_ONLY: &str =
    r#"{"methodConfig": [{"name": [{"service": "user.UserService"}], "timeout": "2s"}]}"#;

/// Serves [`Echo`] on a free port of 127.0.0.1, with `DeadlineLayer` or
/// without, until the returned task is aborted.
pub async fn serve_echo(
    with_deadline_layer: bool,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let (addr, incoming) = bind().await?;
    let service = UserServiceServer::new(Echo);
    if with_deadline_layer {
        return Ok((addr, serve_with_deadlines(Routes::new(service), incoming)));
    }
    let task = tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(incoming)
            .await;
    });
    Ok((addr, task))
}

/// Serves `routes` (any tonic services, `Routes::new(..).add_service(..)`)
/// on `incoming` behind `steadfast`'s `DeadlineLayer`, until the returned
/// task is aborted.
pub fn serve_with_deadlines(routes: Routes, incoming: TcpIncoming) -> JoinHandle<()> {
    tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .layer(steadfast::tonic::DeadlineLayer::new())
            .add_routes(routes)
            .serve_with_incoming(incoming)
            .await;
    })
}

/// A listener on a free port of 127.0.0.1, with `TCP_NODELAY` on accepted
/// connections as tonic's own `serve` sets it.
pub async fn bind() -> std::io::Result<(SocketAddr, TcpIncoming)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    Ok((addr, TcpIncoming::from(listener).with_nodelay(Some(true))))
}

/// A TCP relay on 127.0.0.1 in front of a server that can be taken away
/// and brought back, as a load balancer's address stays while the server
/// behind it dies and restarts. While no server is behind it, every live
/// connection is cut and new ones are closed at once (the caller sees
/// `UNAVAILABLE`, as with a dead host).
#[derive(Debug)]
pub struct Relay {
    addr: SocketAddr,
    target: Arc<Mutex<Option<SocketAddr>>>,
    cut: tokio::sync::watch::Sender<u64>,
    accepted: Arc<std::sync::atomic::AtomicUsize>,
    task: JoinHandle<()>,
}

impl Relay {
    /// A relay to `target`.
    pub async fn start(target: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let target = Arc::new(Mutex::new(Some(target)));
        let (cut, _) = tokio::sync::watch::channel(0u64);
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let task = {
            let (target, cut, accepted) = (target.clone(), cut.clone(), accepted.clone());
            tokio::spawn(async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(to) = target.lock().ok().and_then(|t| *t) else {
                        continue; // dropped: closed at once
                    };
                    let mut cut = cut.subscribe();
                    tokio::spawn(async move {
                        let Ok(mut outbound) = tokio::net::TcpStream::connect(to).await else {
                            return;
                        };
                        let _ = outbound.set_nodelay(true);
                        let _ = inbound.set_nodelay(true);
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                            _ = cut.changed() => {}
                        }
                    });
                }
            })
        };
        Ok(Self {
            addr,
            target,
            cut,
            accepted,
            task,
        })
    }

    /// The relay's address, which stays the same.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted so far, closed at once or relayed.
    pub fn connections(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Relays to `target` from now on, or to nothing (`None`); cuts every
    /// live connection either way.
    pub fn point_to(&self, target: Option<SocketAddr>) {
        if let Ok(mut t) = self.target.lock() {
            *t = target;
        }
        self.cut.send_modify(|n| *n += 1);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
        self.cut.send_modify(|n| *n += 1);
    }
}

/// A `UserService` that fails every call with `UNAVAILABLE` and counts the
/// calls: the sick backend of the amplification benchmark.
#[derive(Debug, Clone, Default)]
pub struct AlwaysUnavailable {
    calls: Arc<std::sync::atomic::AtomicU64>,
}

impl AlwaysUnavailable {
    /// Calls received so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Serves it on a free port of 127.0.0.1 until the task is aborted.
    pub async fn serve(&self) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
        let (addr, incoming) = bind().await?;
        let routes = Routes::new(UserServiceServer::new(self.clone()));
        Ok((addr, serve_with_deadlines(routes, incoming)))
    }
}

#[tonic::async_trait]
impl UserService for AlwaysUnavailable {
    async fn get_user(&self, _: Request<UserRequest>) -> Result<Response<UserResponse>, Status> {
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Err(Status::unavailable("sick"))
    }
}

/// A `UserDirectory` with a tail: a set share of its calls (spread evenly,
/// by a fixed pseudo-random sequence) answers after a delay, the rest at
/// once; it counts the calls. The server of the hedging benchmark.
#[derive(Debug, Clone, Default)]
pub struct TailLatency {
    calls: Arc<std::sync::atomic::AtomicU64>,
    slow_percent: Arc<std::sync::atomic::AtomicU64>,
    slow_for: Duration,
}

impl TailLatency {
    /// `slow_percent` of the calls take `slow_for`.
    pub fn new(slow_percent: u64, slow_for: Duration) -> Self {
        Self {
            calls: Arc::default(),
            slow_percent: Arc::new(std::sync::atomic::AtomicU64::new(slow_percent)),
            slow_for,
        }
    }

    /// Changes the share of slow calls.
    pub fn set_slow_percent(&self, percent: u64) {
        self.slow_percent
            .store(percent, std::sync::atomic::Ordering::Relaxed);
    }

    /// Calls received so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Serves it on a free port of 127.0.0.1 until the task is aborted.
    pub async fn serve(&self) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
        let (addr, incoming) = bind().await?;
        let routes = Routes::new(UserDirectoryServer::new(self.clone()));
        Ok((addr, serve_with_deadlines(routes, incoming)))
    }
}

#[tonic::async_trait]
impl UserDirectory for TailLatency {
    async fn find_user(
        &self,
        request: Request<UserRequest>,
    ) -> Result<Response<UserResponse>, Status> {
        let n = self
            .calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // A multiplicative hash of the call number: an even spread of slow
        // calls that does not line up with any client's pattern.
        let draw = (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) % 100;
        if draw < self.slow_percent.load(std::sync::atomic::Ordering::Relaxed) {
            tokio::time::sleep(self.slow_for).await;
        }
        Ok(Response::new(UserResponse {
            name: request.into_inner().user_id,
            age: 42,
        }))
    }
}

/// A `UserService` that forwards every call to another server through a
/// generated client: a middle hop (A in gateway -> A -> B).
#[derive(Debug, Clone)]
pub struct Forward {
    next: crate::user::ResilientUserServiceClient<tonic::transport::Channel>,
}

impl Forward {
    /// Forwards to the server at `next` (connecting on first use).
    pub fn to(next: SocketAddr) -> Self {
        let channel = tonic::transport::Endpoint::from(http_uri(next)).connect_lazy();
        Self {
            next: crate::user::ResilientUserServiceClient::new(channel),
        }
    }

    /// Serves it on a free port of 127.0.0.1, behind `DeadlineLayer`, until
    /// the task is aborted.
    pub async fn serve(self) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
        let (addr, incoming) = bind().await?;
        let routes = Routes::new(UserServiceServer::new(self));
        Ok((addr, serve_with_deadlines(routes, incoming)))
    }
}

/// `http://addr`, which every loopback address makes a valid URI.
fn http_uri(addr: SocketAddr) -> tonic::codegen::http::Uri {
    tonic::codegen::http::Uri::builder()
        .scheme("http")
        .authority(addr.to_string())
        .path_and_query("/")
        .build()
        .unwrap_or_default()
}

#[tonic::async_trait]
impl UserService for Forward {
    async fn get_user(
        &self,
        request: Request<UserRequest>,
    ) -> Result<Response<UserResponse>, Status> {
        let mut next = self.next.clone();
        next.get_user(request.into_inner()).await
    }
}
