//! Clients' settings from a file (`steadfast::config`) against real tonic
//! servers on 127.0.0.1: calls made under the file, a reload that changes
//! the next calls' attempts, a `static://` address balanced over two
//! servers, a watched file edited (and broken) while running, and 200
//! concurrent calls while the file changes 50 times.
#![allow(clippy::unwrap_used)] // test-only

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use steadfast::config::{Clients, Format};
use steadfast_examples::faulty::{AlwaysUnavailable, FaultyUsers};
use steadfast_examples::user::user_service_client::UserServiceClient;
use steadfast_examples::user::UserRequest;
use tonic::{Code, Status};

fn request() -> UserRequest {
    UserRequest {
        user_id: "42".into(),
    }
}

/// The settings of one client `users` at `address`, with `rest` (YAML
/// flow-map entries).
fn settings(address: &str, rest: &str) -> String {
    format!("grpc:\n  client:\n    users: {{ address: 'static://{address}', {rest} }}\n")
}

/// A file of this test's own in the temporary directory.
fn temp_file(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("steadfast-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

#[tokio::test]
async fn a_reload_changes_the_attempts_of_the_next_calls_and_a_bad_one_changes_nothing() {
    let server = AlwaysUnavailable::default();
    let (addr, _task) = server.serve().await.unwrap();
    let clients = Clients::parse(
        &settings(
            &addr.to_string(),
            "timeout: 2s, maxRetryAttempts: 1, initialBackoff: 1ms",
        ),
        Format::Yaml,
    )
    .unwrap();
    let users = clients.client("users").unwrap();
    let client = UserServiceClient::new(users.channel().unwrap());
    let call = |client: &UserServiceClient<steadfast::tonic::Channel>| {
        let policy = users.call("GetUser");
        let client = client.clone();
        async move {
            policy
                .run(|| {
                    let mut client = client.clone();
                    async move { client.get_user(request()).await.map(drop) }
                })
                .await
        }
    };
    let answer = call(&client).await;
    assert_eq!(answer.unwrap_err().code(), Code::Unavailable);
    assert_eq!(server.calls(), 2, "one retry");

    clients
        .reload(&settings(
            &addr.to_string(),
            "timeout: 2s, maxRetryAttempts: 4, initialBackoff: 1ms",
        ))
        .unwrap();
    call(&client).await.unwrap_err();
    assert_eq!(server.calls(), 2 + 5, "four retries after the reload");

    let bad = settings(&addr.to_string(), "timeout: 2s, maxRetryAttempts: -4");
    let refused = clients.reload(&bad).unwrap_err();
    let col = bad.lines().nth(2).unwrap().find("-4").unwrap() + 1;
    assert_eq!(
        refused.problems(),
        [format!("<text>:3:{col}: maxRetryAttempts: -4 is negative: it counts the retries after the first attempt (0: none)")]
    );
    call(&client).await.unwrap_err();
    assert_eq!(server.calls(), 7 + 5, "the settings in force stayed");
}

#[tokio::test]
async fn a_static_address_balances_calls_over_every_server_it_lists() {
    let (first, second) = (FaultyUsers::default(), FaultyUsers::default());
    let (a, _task_a) = first.serve().await.unwrap();
    let (b, _task_b) = second.serve().await.unwrap();
    let clients = Clients::parse(
        &settings(&format!("{a},{b}"), "connectTimeout: 1s"),
        Format::Yaml,
    )
    .unwrap();
    let mut client = UserServiceClient::new(clients.client("users").unwrap().channel().unwrap());
    for _ in 0..40 {
        client.get_user(request()).await.unwrap();
    }
    assert_eq!(first.calls() + second.calls(), 40usize);
    assert!(
        first.calls() > 0 && second.calls() > 0,
        "{} and {}",
        first.calls(),
        second.calls()
    );
}

#[tokio::test]
async fn the_files_timeout_is_the_calls_deadline_sent_to_the_server() {
    let server = FaultyUsers::new(vec![steadfast_examples::faulty::Fault::Hang]);
    let (addr, _task) = server.serve().await.unwrap();
    let clients = Clients::parse(
        &settings(&addr.to_string(), "timeout: 200ms, maxRetryAttempts: 0"),
        Format::Yaml,
    )
    .unwrap();
    let users = clients.client("users").unwrap();
    let client = UserServiceClient::new(users.channel().unwrap());
    let start = Instant::now();
    let answer: Result<(), Status> = users
        .call("GetUser")
        .run(|| {
            let mut client = client.clone();
            async move { client.get_user(request()).await.map(drop) }
        })
        .await;
    assert_eq!(answer.unwrap_err().code(), Code::DeadlineExceeded);
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(190) && took < Duration::from_secs(2),
        "{took:?}"
    );
    let seen = server.seen();
    let sent = seen[0].timeout.as_deref().expect("grpc-timeout sent");
    let sent = steadfast::__private::parse_timeout(sent.as_bytes()).unwrap();
    assert!(
        sent <= Duration::from_millis(200) && sent > Duration::from_millis(100),
        "{sent:?}"
    );
}

#[tokio::test]
async fn a_watched_file_edited_while_running_applies_and_a_broken_edit_is_refused() {
    let path = temp_file("watched.yaml");
    std::fs::write(&path, settings("127.0.0.1:1", "maxRetryAttempts: 1")).unwrap();
    let clients = Clients::load(&path).unwrap();
    let users = clients.client("users").unwrap();
    let _watch = clients.watch(&path);
    assert_eq!(users.call("GetUser").max_attempts(), 2);

    std::fs::write(&path, settings("127.0.0.1:1", "maxRetryAttempts: 6")).unwrap();
    let start = Instant::now();
    while users.call("GetUser").max_attempts() != 7 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the edit was never applied"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    std::fs::write(
        &path,
        settings("127.0.0.1:1", "maxRetryAttempts: 9, timout: 1s"),
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await; // three looks at the file
    assert_eq!(
        users.call("GetUser").max_attempts(),
        7,
        "the broken edit changed nothing"
    );

    std::fs::write(&path, settings("127.0.0.1:1", "maxRetryAttempts: 2")).unwrap();
    let start = Instant::now();
    while users.call("GetUser").max_attempts() != 3 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the mended file was never applied"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = std::fs::remove_file(&path);
}

/// 200 calls at once against a server that fails every call, while the
/// settings change 50 times: each version `k` says `maxRetryAttempts: k % 4`
/// and `timeout: (k % 4 + 1) s`. Every call makes exactly the attempts of
/// the version it started under, and its two settings come from that one
/// version; no call fails for anything but the server's `UNAVAILABLE`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_during_fifty_reloads_each_run_under_one_whole_version() {
    let server = AlwaysUnavailable::default();
    let (addr, _task) = server.serve().await.unwrap();
    let version = |k: u32| {
        settings(
            &addr.to_string(),
            &format!(
                "maxRetryAttempts: {}, timeout: {}s, backoff: none",
                k % 4,
                k % 4 + 1
            ),
        )
    };
    let clients = Clients::parse(&version(0), Format::Yaml).unwrap();
    let users = clients.client("users").unwrap();
    let channel = users.channel().unwrap();
    let mismatched = Arc::new(AtomicU32::new(0));
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..200 {
        let (users, channel, mismatched) = (users.clone(), channel.clone(), mismatched.clone());
        calls.spawn(async move {
            for _ in 0..5 {
                let policy = users.call("GetUser");
                let whole =
                    policy.timeout() == Some(Duration::from_secs(u64::from(policy.max_attempts())));
                let attempts = AtomicU32::new(0);
                let answer: Result<(), Status> = policy
                    .run(|| {
                        attempts.fetch_add(1, SeqCst);
                        let mut client = UserServiceClient::new(channel.clone());
                        async move { client.get_user(request()).await.map(drop) }
                    })
                    .await;
                assert_eq!(answer.unwrap_err().code(), Code::Unavailable);
                if !whole || attempts.load(SeqCst) != policy.max_attempts() {
                    mismatched.fetch_add(1, SeqCst);
                }
            }
        });
    }
    for k in 1..=50 {
        clients.reload(&version(k)).unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    while let Some(done) = calls.join_next().await {
        done.unwrap();
    }
    assert_eq!(mismatched.load(SeqCst), 0);
}

/// The events a reload leaves: (level, message, file).
#[derive(Clone, Default)]
struct Reloads(Arc<std::sync::Mutex<Vec<(tracing::Level, String, String)>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Reloads {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        #[derive(Default)]
        struct Fields(String, String);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                match field.name() {
                    "message" => self.0 = format!("{value:?}"),
                    "file" => self.1 = format!("{value:?}"),
                    _ => {}
                }
            }
        }
        if event.metadata().target() == "steadfast" {
            let mut fields = Fields::default();
            event.record(&mut fields);
            if fields.0.starts_with("client settings") {
                let seen = (*event.metadata().level(), fields.0, fields.1);
                self.0.lock().unwrap().push(seen);
            }
        }
    }
}

#[test]
fn each_reload_applied_or_refused_is_an_event() {
    use tracing_subscriber::layer::SubscriberExt;
    let reloads = Reloads::default();
    let _subscriber =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(reloads.clone()));
    let clients = Clients::parse("grpc:\n  client:\n    a: {}\n", Format::Yaml).unwrap();
    clients
        .reload("grpc:\n  client:\n    a: { timeout: 1s }\n")
        .unwrap();
    clients
        .reload("grpc:\n  client:\n    a: { timeout: never }\n")
        .unwrap_err();
    let seen = reloads.0.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            (
                tracing::Level::INFO,
                "client settings reloaded".to_owned(),
                "<text>".to_owned()
            ),
            (
                tracing::Level::WARN,
                "client settings refused: the ones in force stay".to_owned(),
                "<text>".to_owned()
            ),
        ]
    );
}

#[test]
fn files_are_read_by_their_extension_and_an_unknown_client_gets_a_did_you_mean() {
    let toml = temp_file("clients.toml");
    std::fs::write(
        &toml,
        "[grpc.client.user-service]\ntimeout = \"2s\"\nmaxRetryAttempts = 3\n",
    )
    .unwrap();
    let clients = Clients::load(&toml).unwrap();
    assert_eq!(
        clients
            .client("user-service")
            .unwrap()
            .call("GetUser")
            .max_attempts(),
        4
    );
    let error = clients.client("user-servce").unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}: no client `user-servce` under `grpc.client`: did you mean `user-service`?",
            toml.display()
        )
    );

    let json = temp_file("clients.json");
    std::fs::write(
        &json,
        r#"{"grpc": {"client": {"a": {"perTryTimeout": "1s"}}}}"#,
    )
    .unwrap();
    let per_try = Clients::load(&json)
        .unwrap()
        .client("a")
        .unwrap()
        .call("M")
        .per_try_timeout();
    assert_eq!(per_try, Some(Duration::from_secs(1)));

    let ini = temp_file("clients.ini");
    std::fs::write(&ini, "").unwrap();
    let error = Clients::load(&ini).unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("a settings file ends in .yaml, .yml, .toml or .json"),
        "{error}"
    );
    for path in [toml, json, ini] {
        let _ = std::fs::remove_file(path);
    }
}

mod generated {
    //! A generated client made `from_config` (`tests/proto/limits.proto`'s
    //! `Accounts`, built with `Builder::from_config`): the file's settings
    //! over the proto options', per key, read afresh by each call; the rules
    //! a file must keep for a live client.

    use super::*;
    use steadfast_tests::configured::accounts_server::{Accounts, AccountsServer};
    use steadfast_tests::configured::{Order, ResilientAccountsClient};
    use tonic::{Request, Response};

    /// Fails every call with `UNAVAILABLE` (or hangs, when `hang`), counting them.
    #[derive(Clone, Default)]
    struct Failing {
        calls: Arc<AtomicU32>,
        hang: bool,
    }

    #[tonic::async_trait]
    impl Accounts for Failing {
        async fn get(&self, _: Request<Order>) -> Result<Response<Order>, Status> {
            self.calls.fetch_add(1, SeqCst);
            if self.hang {
                std::future::pending::<()>().await;
            }
            Err(Status::unavailable("down"))
        }

        async fn charge(&self, _: Request<Order>) -> Result<Response<Order>, Status> {
            self.calls.fetch_add(1, SeqCst);
            Err(Status::unavailable("down"))
        }

        type WatchStream = tokio_stream_empty::Empty;

        async fn watch(&self, _: Request<Order>) -> Result<Response<Self::WatchStream>, Status> {
            Ok(Response::new(tokio_stream_empty::Empty))
        }
    }

    mod tokio_stream_empty {
        /// A stream with no messages.
        pub(super) struct Empty;

        impl tonic::codegen::tokio_stream::Stream for Empty {
            type Item = Result<steadfast_tests::configured::Order, tonic::Status>;

            fn poll_next(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Option<Self::Item>> {
                std::task::Poll::Ready(None)
            }
        }
    }

    async fn serve(server: Failing) -> std::net::SocketAddr {
        let (addr, incoming) = steadfast_examples::faulty::bind().await.unwrap();
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(AccountsServer::new(server))
                .serve_with_incoming(incoming),
        );
        addr
    }

    fn accounts(address: std::net::SocketAddr, rest: &str) -> String {
        format!("grpc:\n  client:\n    accounts:\n      address: 'static://{address}'\n{rest}")
    }

    #[tokio::test]
    async fn where_the_file_is_silent_the_proto_policy_applies_and_where_it_speaks_it_wins() {
        let server = Failing::default();
        let addr = serve(server.clone()).await;
        let clients = Clients::parse(&accounts(addr, ""), Format::Yaml).unwrap();
        let mut client = ResilientAccountsClient::from_config(&clients, "accounts").unwrap();
        client.get(Order::default()).await.unwrap_err();
        assert_eq!(server.calls.load(SeqCst), 3, "the proto's max_attempts: 3");

        clients
            .reload(&accounts(
                addr,
                "      maxRetryAttempts: 5\n      initialBackoff: 1ms\n",
            ))
            .unwrap();
        client.get(Order::default()).await.unwrap_err();
        assert_eq!(
            server.calls.load(SeqCst),
            3 + 6,
            "the file's five retries, after the reload"
        );

        clients
            .reload(&accounts(
                addr,
                "      maxRetryAttempts: 5\n      methods:\n        Get: { maxRetryAttempts: 1 }\n",
            ))
            .unwrap();
        client.get(Order::default()).await.unwrap_err();
        assert_eq!(
            server.calls.load(SeqCst),
            9 + 2,
            "the method's own setting over the client's"
        );

        // Not idempotent: never retried, whatever the client's settings say.
        client.charge(Order::default()).await.unwrap_err();
        assert_eq!(server.calls.load(SeqCst), 11 + 1);
    }

    #[tokio::test]
    async fn the_files_timeout_replaces_the_protos_deadline() {
        let server = Failing {
            hang: true,
            ..Failing::default()
        };
        let addr = serve(server.clone()).await;
        let clients = Clients::parse(
            &accounts(addr, "      timeout: 200ms\n      maxRetryAttempts: 0\n"),
            Format::Yaml,
        )
        .unwrap();
        let mut client = ResilientAccountsClient::from_config(&clients, "accounts").unwrap();
        let start = Instant::now();
        let status = client.get(Order::default()).await.unwrap_err();
        assert_eq!(status.code(), Code::DeadlineExceeded);
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(190) && took < Duration::from_secs(1),
            "{took:?}"
        );
    }

    #[tokio::test]
    async fn a_file_a_live_client_cannot_follow_is_refused_whole() {
        let addr = serve(Failing::default()).await;
        let unknown = Clients::parse(
            &accounts(addr, "      methods:\n        Gett: { timeout: 1s }\n"),
            Format::Yaml,
        )
        .unwrap();
        let error = ResilientAccountsClient::from_config(&unknown, "accounts").unwrap_err();
        assert_eq!(
            error.problems(),
            ["<text>:6:9: grpc.client.accounts.methods.Gett: limits.testing.Accounts has no method `Gett`: did you mean `Get`?"]
        );
        let error = ResilientAccountsClient::from_config(&unknown, "acounts").unwrap_err();
        assert!(
            error.to_string().ends_with("did you mean `accounts`?"),
            "{error}"
        );

        let clients = Clients::parse(&accounts(addr, ""), Format::Yaml).unwrap();
        let _client = ResilientAccountsClient::from_config(&clients, "accounts").unwrap();
        let refused = clients
            .reload(&accounts(
                addr,
                "      methods:\n        Charge: { maxRetryAttempts: 2 }\n        Watch: { timeout: 1s }\n",
            ))
            .unwrap_err();
        assert_eq!(
            refused.problems(),
            [
                "<text>:6:9: grpc.client.accounts.methods.Charge: its proto options do not retry it (not idempotent, or no retry policy): the file cannot make it retried or hedged",
                "<text>:7:9: grpc.client.accounts.methods.Watch: a streaming or hedged method is not configured from the file yet: set its policy in proto options",
            ]
        );
        let gone = clients.reload("grpc:\n  client: {}\n").unwrap_err();
        assert_eq!(
            gone.problems(),
            ["<text>: grpc.client.accounts: a live limits.testing.Accounts client is made from it: it cannot go"]
        );
        drop(_client);
        clients.reload("grpc:\n  client: {}\n").unwrap();
    }
}
