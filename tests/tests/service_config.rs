//! `ServiceConfigLayer` under tonic's own generated client, against the
//! fault-injecting server on 127.0.0.1: a service config's timeout,
//! retries, hedges and throttling, applied per method.
#![allow(clippy::unwrap_used)] // test-only

use std::time::{Duration, Instant};

use steadfast::tonic::{ServiceConfigLayer, ServiceConfigService};
use steadfast_examples::faulty::Fault;
use steadfast_examples::user::user_directory_client::UserDirectoryClient;
use steadfast_examples::user::user_service_client::UserServiceClient;
use tonic::transport::Channel;
use tonic::Code;

mod common;
use common::{channel, request, server};

/// A config for `user.UserService`: `retry` is its `retryPolicy`'s fields.
fn retrying(retry: &str) -> String {
    format!(
        r#"{{"methodConfig": [{{
            "name": [{{"service": "user.UserService"}}],
            "retryPolicy": {{"initialBackoff": "0.01s", "maxBackoff": "0.05s",
                             "backoffMultiplier": 2, {retry}}}
        }}]}}"#
    )
}

fn client(
    config: &str,
    addr: std::net::SocketAddr,
) -> UserServiceClient<ServiceConfigService<Channel>> {
    let layer = ServiceConfigLayer::from_json(config).unwrap();
    let channel = tower::ServiceBuilder::new()
        .layer(layer)
        .service(channel(addr));
    UserServiceClient::new(channel)
}

/// tonic's `UserDirectory` client under a `hedgingPolicy` of `max_attempts`,
/// 20 ms apart, `UNAVAILABLE` not fatal.
fn hedged_directory(
    max_attempts: u32,
    addr: std::net::SocketAddr,
) -> UserDirectoryClient<ServiceConfigService<Channel>> {
    let config = format!(
        r#"{{"methodConfig": [{{
            "name": [{{"service": "user.UserDirectory"}}],
            "hedgingPolicy": {{"maxAttempts": {max_attempts}, "hedgingDelay": "0.02s",
                              "nonFatalStatusCodes": ["UNAVAILABLE"]}}
        }}]}}"#
    );
    let layer = ServiceConfigLayer::from_json(&config).unwrap();
    UserDirectoryClient::new(
        tower::ServiceBuilder::new()
            .layer(layer)
            .service(channel(addr)),
    )
}

/// How a call through `config` fails against a server following `script`:
/// its code, and the calls the server got.
async fn fails(config: &str, script: impl IntoIterator<Item = Fault>) -> (Code, usize) {
    let server = server(script).await;
    let status = client(config, server.addr)
        .get_user(request())
        .await
        .unwrap_err();
    (status.code(), server.users.calls())
}

#[tokio::test]
async fn trailers_only_failures_are_retried_and_numbered() {
    let server = server([
        Fault::Fail(Code::Unavailable),
        Fault::Fail(Code::Unavailable),
    ])
    .await;
    let config = retrying(r#""maxAttempts": 3, "retryableStatusCodes": ["UNAVAILABLE"]"#);
    let mut request = tonic::Request::new(request());
    request
        .metadata_mut()
        .insert("x-request-id", "req-7".parse().unwrap());
    let reply = client(&config, server.addr)
        .get_user(request)
        .await
        .unwrap();
    assert_eq!(reply.into_inner().name, "user 42");
    assert_eq!(
        server.previous_attempts(),
        [None, Some("1".to_owned()), Some("2".to_owned())]
    );
    // The caller's metadata goes out with every attempt.
    let ids: Vec<Option<String>> = server
        .users
        .seen()
        .into_iter()
        .map(|s| s.request_id)
        .collect();
    assert_eq!(ids, vec![Some("req-7".to_owned()); 3]);
    // Replayed bodies go out as tonic's client sends a request: without
    // `content-length` (which each end would pay for on every call).
    let lengths: Vec<Option<String>> = server
        .users
        .seen()
        .into_iter()
        .map(|s| s.content_length)
        .collect();
    assert_eq!(lengths, vec![None; 3]);
}

#[tokio::test]
async fn the_last_failure_is_the_callers_and_other_codes_are_not_retried() {
    let config = retrying(r#""maxAttempts": 2, "retryableStatusCodes": ["UNAVAILABLE"]"#);
    let unavailable = std::iter::repeat_n(Fault::Fail(Code::Unavailable), 3);
    assert_eq!(fails(&config, unavailable).await, (Code::Unavailable, 2));
    let invalid = [Fault::Fail(Code::InvalidArgument)];
    assert_eq!(fails(&config, invalid).await, (Code::InvalidArgument, 1));
}

#[tokio::test]
async fn a_pushback_that_says_stop_ends_the_retries() {
    let config = retrying(r#""maxAttempts": 3, "retryableStatusCodes": ["UNAVAILABLE"]"#);
    let script = [Fault::Pushback("-1"), Fault::Ok];
    assert_eq!(fails(&config, script).await, (Code::Unavailable, 1));
}

/// gRPC A6 (and grpc-go's retry tests): a server's pushback is waited in
/// full, not cut to `maxBackoff` (0.05 s here).
#[tokio::test]
async fn a_pushback_longer_than_max_backoff_is_waited_in_full() {
    let server = server([Fault::Pushback("400"), Fault::Ok]).await;
    let config = retrying(r#""maxAttempts": 3, "retryableStatusCodes": ["UNAVAILABLE"]"#);
    client(&config, server.addr)
        .get_user(request())
        .await
        .unwrap();
    let seen = server.users.seen();
    assert_eq!(seen.len(), 2);
    let gap = seen[1].at - seen[0].at;
    assert!(gap >= Duration::from_millis(400), "retried after {gap:?}");
}

#[tokio::test]
async fn methods_without_an_entry_pass_through() {
    let config = r#"{"methodConfig": [{
        "name": [{"service": "other.Service"}],
        "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.01s", "maxBackoff": "0.05s",
                        "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}
    }]}"#;
    let script = [Fault::Fail(Code::Unavailable)];
    assert_eq!(fails(config, script).await, (Code::Unavailable, 1));
}

#[tokio::test]
async fn the_timeout_bounds_the_call_and_travels_as_grpc_timeout() {
    let server = server([Fault::Hang]).await;
    let config =
        r#"{"methodConfig": [{"name": [{"service": "user.UserService"}], "timeout": "0.3s"}]}"#;
    let started = Instant::now();
    let status = client(config, server.addr)
        .get_user(request())
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(status.code(), Code::DeadlineExceeded);
    assert!(took >= Duration::from_millis(250), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    let sent = server.users.seen()[0].timeout.clone().unwrap();
    let sent = steadfast::__private::parse_timeout(sent.as_bytes()).unwrap();
    assert!(
        sent <= Duration::from_millis(300) && sent > Duration::from_millis(100),
        "{sent:?}"
    );

    // The call's own `set_timeout`, when shorter, is the bound.
    let hung = server_hang().await;
    let mut request = tonic::Request::new(request());
    request.set_timeout(Duration::from_millis(100));
    let started = Instant::now();
    let status = client(config, hung.addr)
        .get_user(request)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded);
    assert!(
        started.elapsed() < Duration::from_millis(280),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_timeout_only_method_sends_the_callers_request_once() {
    let server = server([Fault::Fail(Code::Unavailable)]).await;
    let config =
        r#"{"methodConfig": [{"name": [{"service": "user.UserService"}], "timeout": "5s"}]}"#;
    let mut request = tonic::Request::new(request());
    request
        .metadata_mut()
        .insert("x-request-id", "req-9".parse().unwrap());
    let status = client(config, server.addr)
        .get_user(request)
        .await
        .unwrap_err();
    // No retry policy: the failure is the caller's, after one attempt.
    assert_eq!(status.code(), Code::Unavailable);
    let seen = server.users.seen();
    assert_eq!(seen.len(), 1);
    let sent = &seen[0];
    assert_eq!(sent.request_id.as_deref(), Some("req-9"));
    assert_eq!(sent.previous_attempts, None);
    assert_eq!(sent.content_length, None);
    let timeout = sent.timeout.as_deref().unwrap();
    let timeout = steadfast::__private::parse_timeout(timeout.as_bytes()).unwrap();
    assert!(
        timeout <= Duration::from_secs(5) && timeout > Duration::from_secs(4),
        "{timeout:?}"
    );
}

async fn server_hang() -> common::Server {
    server([Fault::Hang]).await
}

#[tokio::test]
async fn retries_stop_when_the_throttling_budget_is_spent() {
    // A6: 3 tokens, each failure takes one, retries only while more than
    // half are left: the second failure leaves 1 of 3, and stops them.
    let config = r#"{
        "methodConfig": [{
            "name": [{"service": "user.UserService"}],
            "retryPolicy": {"maxAttempts": 5, "initialBackoff": "0.01s", "maxBackoff": "0.05s",
                            "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}
        }],
        "retryThrottling": {"maxTokens": 3, "tokenRatio": 0.1}
    }"#;
    let script = std::iter::repeat_n(Fault::Fail(Code::Unavailable), 10);
    assert_eq!(fails(config, script).await, (Code::Unavailable, 2));
}

#[tokio::test]
async fn a_request_larger_than_the_buffer_is_sent_once() {
    let server = server([Fault::Fail(Code::Unavailable), Fault::Ok]).await;
    let config = retrying(r#""maxAttempts": 3, "retryableStatusCodes": ["UNAVAILABLE"]"#);
    let layer = ServiceConfigLayer::from_json(&config)
        .unwrap()
        .buffer_limit(2);
    let channel = tower::ServiceBuilder::new()
        .layer(layer)
        .service(channel(server.addr));
    let status = UserServiceClient::new(channel)
        .get_user(request())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(server.users.calls(), 1);
}

/// gRPC A6: a hedge answered with a pushback that says stop sends no
/// further hedge, and the attempt still running answers the call.
#[tokio::test]
async fn a_stop_pushback_ends_the_hedging_not_the_call() {
    let server = server([
        Fault::Slow(Duration::from_millis(300)),
        Fault::Pushback("-1"),
        Fault::Ok,
    ])
    .await;
    let reply = hedged_directory(3, server.addr)
        .find_user(request())
        .await
        .expect("the first attempt answers");
    assert_eq!(reply.into_inner().name, "user 42");
    assert_eq!(server.users.calls(), 2, "no hedge after the stop");
}

#[tokio::test]
async fn a_slow_attempt_is_hedged() {
    let server = server([Fault::Slow(Duration::from_secs(5)), Fault::Ok]).await;
    let started = Instant::now();
    let reply = hedged_directory(2, server.addr)
        .find_user(request())
        .await
        .unwrap();
    assert_eq!(reply.into_inner().name, "user 42");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.previous_attempts(), [None, Some("1".to_owned())]);
}

#[test]
fn a_malformed_config_is_an_error_that_says_where() {
    let error = ServiceConfigLayer::from_json(
        r#"{"methodConfig": [{"name": [{"service": "a.A"}],
            "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.1s", "maxBackoff": "0s",
                            "backoffMultiplier": 2, "retryableStatusCodes": ["BUSY"]}}]}"#,
    )
    .unwrap_err();
    assert_eq!(
        error.problems(),
        [
            "service config: methodConfig[0].retryPolicy.maxBackoff: must be above zero",
            "service config: methodConfig[0].retryPolicy.retryableStatusCodes[0]: unknown status code \"BUSY\"",
        ]
    );
}

#[tokio::test]
async fn a_server_restarted_under_a_live_client_is_reached_again() {
    use steadfast_examples::faulty::{FaultyUsers, Relay};
    let first = server([]).await;
    let relay = Relay::start(first.addr).await.unwrap();
    // Retries spread over 0.1 + 0.2 + 0.4 + 0.4 s: long enough for the
    // server to come back while the call is still retrying.
    let config = r#"{"methodConfig": [{
        "name": [{"service": "user.UserService"}],
        "timeout": "10s",
        "retryPolicy": {"maxAttempts": 5, "initialBackoff": "0.1s", "maxBackoff": "0.4s",
                        "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}
    }]}"#;
    let mut client = client(config, relay.addr());
    client.get_user(request()).await.unwrap();

    // The server goes away under the live connection…
    relay.point_to(None);
    drop(first);
    let call = tokio::spawn(async move { client.get_user(request()).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    // …and a new one comes back at the same address while the call retries.
    let restarted = FaultyUsers::new([]);
    let (addr, _task) = restarted.serve().await.unwrap();
    relay.point_to(Some(addr));
    let reply = tokio::time::timeout(Duration::from_secs(10), call)
        .await
        .expect("the call ended")
        .unwrap()
        .unwrap();
    assert_eq!(reply.into_inner().name, "user 42");
    // It reached the new server on a retry.
    let seen = restarted.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].previous_attempts.is_some(), "{seen:?}");
}

/// `UserDirectory.FindUser`'s proto options (`deadline: "1s"`, `hedge: {
/// max_attempts: 3, delay: "20ms", on: ["UNAVAILABLE"] }`) written as a
/// service config.
const FIND_USER_CONFIG: &str = r#"{"methodConfig": [{
    "name": [{"service": "user.UserDirectory", "method": "FindUser"}],
    "timeout": "1s",
    "hedgingPolicy": {"maxAttempts": 3, "hedgingDelay": "0.02s",
                      "nonFatalStatusCodes": ["UNAVAILABLE"]}
}]}"#;

#[tokio::test]
async fn proto_options_and_the_same_service_config_behave_alike() {
    use steadfast_examples::user::ResilientUserDirectoryClient;
    let scripts = || {
        [
            // Slow, then a non-fatal failure that starts the third at once.
            vec![
                Fault::Slow(Duration::from_secs(5)),
                Fault::Fail(Code::Unavailable),
                Fault::Ok,
            ],
            // Nothing answers: the deadline ends the call.
            vec![Fault::Hang, Fault::Hang, Fault::Hang],
        ]
    };
    let mut from_options = Vec::new();
    for script in scripts() {
        let server = server(script).await;
        let started = Instant::now();
        let result = ResilientUserDirectoryClient::new(channel(server.addr))
            .find_user(request())
            .await;
        from_options.push((
            result.map(|r| r.into_inner().name).map_err(|s| s.code()),
            server.previous_attempts(),
            started.elapsed(),
        ));
    }
    let mut from_config = Vec::new();
    for script in scripts() {
        let server = server(script).await;
        let layer = ServiceConfigLayer::from_json(FIND_USER_CONFIG).unwrap();
        let channel = tower::ServiceBuilder::new()
            .layer(layer)
            .service(channel(server.addr));
        let started = Instant::now();
        let result = UserDirectoryClient::new(channel).find_user(request()).await;
        from_config.push((
            result.map(|r| r.into_inner().name).map_err(|s| s.code()),
            server.previous_attempts(),
            started.elapsed(),
        ));
    }
    let expected_attempts = [None, Some("1".to_owned()), Some("2".to_owned())];
    for (options, config) in from_options.iter().zip(&from_config) {
        assert_eq!(options.0, config.0);
        assert_eq!(options.1, expected_attempts);
        assert_eq!(config.1, expected_attempts);
    }
    assert_eq!(from_options[0].0, Ok("user 42".to_owned()));
    assert_eq!(from_options[1].0, Err(Code::DeadlineExceeded));
    // Both hedged well before the slow attempt's 5 s, and both waited out
    // the 1 s deadline when nothing answered.
    for run in [&from_options, &from_config] {
        assert!(run[0].2 < Duration::from_secs(3), "{:?}", run[0].2);
        assert!(run[1].2 >= Duration::from_millis(900), "{:?}", run[1].2);
        assert!(run[1].2 < Duration::from_secs(4), "{:?}", run[1].2);
    }
}
