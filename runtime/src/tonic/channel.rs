//! Connection settings in one place: what `(steadfast.channel)` sets on a
//! generated client's `connect`, for hand-made channels too.

use std::time::Duration;

use tonic::transport::{Channel, Endpoint, Error};

/// How a channel connects and notices a dead peer: connect timeout, HTTP/2
/// keepalive pings (interval, how long to wait for the answer, whether to
/// ping with no call open) and TCP keepalive. Unset fields keep tonic's
/// defaults.
///
/// ```
/// use std::time::Duration;
/// use steadfast::tonic::ChannelPolicy;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tonic::transport::Error> {
/// let policy = ChannelPolicy::new()
///     .connect_timeout(Duration::from_secs(2))
///     .keepalive(Duration::from_secs(30), Duration::from_secs(10));
/// let channel = policy.connect_lazy("http://127.0.0.1:50051")?;
/// # let _ = channel;
/// # Ok(()) }
/// ```
///
/// Servers police pings: grpc-go's default enforcement allows one every
/// 5 minutes, and only while calls are open; a client that pings more
/// often gets GOAWAY `too_many_pings` and loses its connection. Ping more
/// often only servers that allow it (grpc-go's
/// `keepalive.EnforcementPolicy{MinTime, PermitWithoutStream}`). The
/// presets keep to the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ChannelPolicy {
    connect_timeout: Option<Duration>,
    keepalive_interval: Option<Duration>,
    keepalive_timeout: Option<Duration>,
    keepalive_while_idle: bool,
    tcp_keepalive: Option<Duration>,
}

impl ChannelPolicy {
    /// Nothing set: tonic's defaults.
    ///
    /// ```
    /// assert_eq!(steadfast::tonic::ChannelPolicy::new(), Default::default());
    /// ```
    pub const fn new() -> Self {
        Self {
            connect_timeout: None,
            keepalive_interval: None,
            keepalive_timeout: None,
            keepalive_while_idle: false,
            tcp_keepalive: None,
        }
    }

    /// For short unary calls, each with its own deadline: connect within
    /// 5 s, TCP keepalive every 60 s, no HTTP/2 pings (a dead peer is
    /// found by the call's deadline, and no server is provoked).
    ///
    /// ```
    /// let _ = steadfast::tonic::ChannelPolicy::SHORT_CALLS;
    /// ```
    pub const SHORT_CALLS: Self = Self::new()
        .connect_timeout(Duration::from_secs(5))
        .tcp_keepalive(Duration::from_secs(60));

    /// For long-lived streams, which have no deadline to find a dead peer:
    /// connect within 5 s, an HTTP/2 ping every 5 minutes while a call is
    /// open, answered within 20 s (grpc-go's default enforcement allows no
    /// more), TCP keepalive every 60 s.
    ///
    /// ```
    /// let _ = steadfast::tonic::ChannelPolicy::LONG_STREAMS;
    /// ```
    pub const LONG_STREAMS: Self = Self::new()
        .connect_timeout(Duration::from_secs(5))
        .keepalive(Duration::from_secs(300), Duration::from_secs(20))
        .tcp_keepalive(Duration::from_secs(60));

    /// How long connecting may take.
    ///
    /// ```
    /// let _ = steadfast::tonic::ChannelPolicy::new().connect_timeout(std::time::Duration::from_secs(1));
    /// ```
    #[must_use]
    pub const fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// An HTTP/2 ping every `interval`; a connection whose ping is not
    /// answered within `timeout` is closed and its calls fail `UNAVAILABLE`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let _ = steadfast::tonic::ChannelPolicy::new().keepalive(Duration::from_secs(60), Duration::from_secs(20));
    /// ```
    #[must_use]
    pub const fn keepalive(mut self, interval: Duration, timeout: Duration) -> Self {
        self.keepalive_interval = Some(interval);
        self.keepalive_timeout = Some(timeout);
        self
    }

    /// Pings also while no call is open (grpc-go servers refuse this by
    /// default: `PermitWithoutStream`).
    ///
    /// ```
    /// let _ = steadfast::tonic::ChannelPolicy::new().keepalive_while_idle(true);
    /// ```
    #[must_use]
    pub const fn keepalive_while_idle(mut self, enabled: bool) -> Self {
        self.keepalive_while_idle = enabled;
        self
    }

    /// TCP keepalive probes after `idle` without traffic.
    ///
    /// ```
    /// let _ = steadfast::tonic::ChannelPolicy::new().tcp_keepalive(std::time::Duration::from_secs(60));
    /// ```
    #[must_use]
    pub const fn tcp_keepalive(mut self, idle: Duration) -> Self {
        self.tcp_keepalive = Some(idle);
        self
    }

    /// `endpoint` with these settings.
    ///
    /// ```
    /// use steadfast::tonic::ChannelPolicy;
    /// let endpoint = tonic::transport::Endpoint::from_static("http://127.0.0.1:50051");
    /// let _ = ChannelPolicy::SHORT_CALLS.apply(endpoint);
    /// ```
    pub fn apply(&self, mut endpoint: Endpoint) -> Endpoint {
        if let Some(timeout) = self.connect_timeout {
            endpoint = endpoint.connect_timeout(timeout);
        }
        if let Some(interval) = self.keepalive_interval {
            endpoint = endpoint
                .http2_keep_alive_interval(interval)
                .keep_alive_while_idle(self.keepalive_while_idle);
        }
        if let Some(timeout) = self.keepalive_timeout {
            endpoint = endpoint.keep_alive_timeout(timeout);
        }
        if self.tcp_keepalive.is_some() {
            endpoint = endpoint.tcp_keepalive(self.tcp_keepalive);
        }
        endpoint
    }

    /// An endpoint for `dst` with these settings.
    ///
    /// ```
    /// let endpoint = steadfast::tonic::ChannelPolicy::new().endpoint("http://127.0.0.1:50051").unwrap();
    /// assert_eq!(endpoint.uri(), "http://127.0.0.1:50051/");
    /// ```
    pub fn endpoint<D>(&self, dst: D) -> Result<Endpoint, Error>
    where
        D: TryInto<Endpoint>,
        D::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        Ok(self.apply(Endpoint::new(dst)?))
    }

    /// Connects to `dst` with these settings.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), tonic::transport::Error> {
    /// let channel = steadfast::tonic::ChannelPolicy::SHORT_CALLS.connect("http://127.0.0.1:50051").await?;
    /// # let _ = channel; Ok(()) }
    /// ```
    pub async fn connect<D>(&self, dst: D) -> Result<Channel, Error>
    where
        D: TryInto<Endpoint>,
        D::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        self.endpoint(dst)?.connect().await
    }

    /// A channel to `dst` with these settings that connects on first use.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let _ = steadfast::tonic::ChannelPolicy::LONG_STREAMS.connect_lazy("http://127.0.0.1:50051").unwrap();
    /// # }
    /// ```
    pub fn connect_lazy<D>(&self, dst: D) -> Result<Channel, Error>
    where
        D: TryInto<Endpoint>,
        D::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        Ok(self.endpoint(dst)?.connect_lazy())
    }
}

/// A tonic `Channel` that sends each call's deadline: what is left of the
/// caller's (`#[deadline]`, `deadline::scope`, a handler's under
/// [`DeadlineLayer`](super::DeadlineLayer)) as `grpc-timeout`, the attempt
/// number of a retried call as `grpc-previous-rpc-attempts`, and a call whose
/// deadline has passed fails `DEADLINE_EXCEEDED` unsent. Responses are
/// guarded as [`ResponseGuard`](super::ResponseGuard) guards them. The type
/// to write where a plain `Channel` was: `UserServiceClient<steadfast::tonic::Channel>`.
///
/// A plain `tonic::transport::Channel` knows nothing of the task's deadline:
/// a function under `#[deadline(2s)]` calling through one sends no
/// `grpc-timeout`, and the server gives the call its own default.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tonic::transport::Error> {
/// let channel: steadfast::tonic::Channel = steadfast::tonic::connect_lazy("http://127.0.0.1:50051")?;
/// // From a channel you already have:
/// let plain = tonic::transport::Endpoint::from_static("http://127.0.0.1:50051").connect_lazy();
/// let channel: steadfast::tonic::Channel = steadfast::tonic::PropagateDeadlineService::new(plain);
/// # let _ = channel;
/// # Ok(()) }
/// ```
pub type PropagatingChannel = super::PropagateDeadlineService<Channel>;

/// Connects to `dst` and returns a channel that sends each call's deadline
/// ([`Channel`](super::Channel)).
///
/// ```no_run
/// # async fn f() -> Result<(), tonic::transport::Error> {
/// let channel = steadfast::tonic::connect("http://127.0.0.1:50051").await?;
/// // let mut client = UserServiceClient::new(channel);
/// # let _ = channel; Ok(()) }
/// ```
pub async fn connect<D>(dst: D) -> Result<PropagatingChannel, Error>
where
    D: TryInto<Endpoint>,
    D::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    ChannelPolicy::new()
        .connect(dst)
        .await
        .map(super::PropagateDeadlineService::new)
}

/// [`connect`] that connects on first use.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tonic::transport::Error> {
/// let channel = steadfast::tonic::connect_lazy("http://127.0.0.1:50051")?;
/// # let _ = channel; Ok(()) }
/// ```
pub fn connect_lazy<D>(dst: D) -> Result<PropagatingChannel, Error>
where
    D: TryInto<Endpoint>,
    D::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    ChannelPolicy::new()
        .connect_lazy(dst)
        .map(super::PropagateDeadlineService::new)
}
