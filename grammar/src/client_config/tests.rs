//! The settings file: the article's example in each format, every key, and
//! each kind of mistake reported where it is.

use std::time::Duration;

use super::*;

const ARTICLE_YAML: &str = "\
grpc:
  client:
    user-service:
      address: 'static://127.0.0.1:8080'
      enableKeepAlive: true
      keepAliveTime: 30s
      connectTimeout: 1s
      timeout: 2s
      maxRetryAttempts: 3
      perTryTimeout: 1s
";

const ARTICLE_TOML: &str = r#"
[grpc.client.user-service]
address = "static://127.0.0.1:8080"
enableKeepAlive = true
keepAliveTime = "30s"
connectTimeout = "1s"
timeout = "2s"
maxRetryAttempts = 3
perTryTimeout = "1s"
"#;

const ARTICLE_JSON: &str = r#"{"grpc": {"client": {"user-service": {
  "address": "static://127.0.0.1:8080", "enableKeepAlive": true, "keepAliveTime": "30s",
  "connectTimeout": "1s", "timeout": "2s", "maxRetryAttempts": 3, "perTryTimeout": "1s"}}}}"#;

fn problems(text: &str, format: Format) -> Vec<String> {
    ClientsFile::parse(text, "clients", format).unwrap_err()
}

#[test]
fn the_articles_settings_read_the_same_in_yaml_toml_and_json() {
    for (text, format) in [
        (ARTICLE_YAML, Format::Yaml),
        (ARTICLE_TOML, Format::Toml),
        (ARTICLE_JSON, Format::Json),
    ] {
        let file = ClientsFile::parse(text, "clients", format).unwrap();
        let users = file.client("user-service").unwrap();
        assert_eq!(users.address, ["http://127.0.0.1:8080"], "{format:?}");
        assert_eq!(users.keep_alive, Some(Duration::from_secs(30)));
        assert_eq!(users.connect_timeout, Some(Duration::from_secs(1)));
        assert_eq!(users.call.timeout, Some(Duration::from_secs(2)));
        assert_eq!(users.call.max_retry_attempts, Some(3));
        assert_eq!(users.call.per_try_timeout, Some(Duration::from_secs(1)));
    }
}

#[test]
fn every_policy_key_is_read_for_the_client_and_for_a_method() {
    let file = ClientsFile::parse(
        "grpc:
  client:
    users:
      address: 'static://10.0.0.1:50051, 10.0.0.2:50051'
      backoff: exponential
      initialBackoff: 100ms
      maxBackoff: 2s
      backoffMultiplier: 1.5
      jitter: 0.2
      retryOn: [UNAVAILABLE, resource_exhausted, 10]
      methods:
        GetUser:
          timeout: 300ms
          maxRetryAttempts: 0
          perTryTimeout: 100ms
          backoff: constant
          initialBackoff: 5ms
          maxBackoff: 5ms
          backoffMultiplier: 3
          jitter: none
          retryOn: [ABORTED]
",
        "clients.yaml",
        Format::Yaml,
    )
    .unwrap();
    let users = file.client("users").unwrap();
    assert_eq!(
        users.address,
        ["http://10.0.0.1:50051", "http://10.0.0.2:50051"]
    );
    let all = &users.call;
    assert_eq!(all.backoff, Some(Growth::Exponential));
    assert_eq!(all.initial_backoff, Some(Duration::from_millis(100)));
    assert_eq!(all.max_backoff, Some(Duration::from_secs(2)));
    assert_eq!(all.backoff_multiplier, Some(1.5));
    assert_eq!(all.jitter, Some(Jitter::Fraction(0.2)));
    assert_eq!(
        all.retry_on,
        Some(vec!["Unavailable", "ResourceExhausted", "Aborted"])
    );
    let get_user = users.method("GetUser");
    assert_eq!(get_user.timeout, Some(Duration::from_millis(300)));
    assert_eq!(get_user.max_retry_attempts, Some(0));
    assert_eq!(get_user.per_try_timeout, Some(Duration::from_millis(100)));
    assert_eq!(get_user.backoff, Some(Growth::Constant));
    assert_eq!(get_user.initial_backoff, Some(Duration::from_millis(5)));
    assert_eq!(get_user.backoff_multiplier, Some(3.0));
    assert_eq!(get_user.jitter, Some(Jitter::None));
    assert_eq!(get_user.retry_on, Some(vec!["Aborted"]));
    // Another method has the client's.
    assert_eq!(users.method("ListUsers"), users.call);
}

#[test]
fn every_problem_is_reported_at_once_each_at_its_line_and_column() {
    let found = problems(
        "grpc:
  client:
    users:
      timout: 2s
      connectTimeout: soon
      maxRetryAttempts: -1
      perTryTimeout: 100
      backoff: expo
      jitter: ful
      retryOn: [UNAVALABLE]
      address: 'dns://users'
      methods:
        GetUser: { maxRetryAtempts: 2, timeout: 0s }
",
        Format::Yaml,
    );
    assert_eq!(
        found,
        [
            "clients:4:7: unknown key `timout`: did you mean `timeout`?",
            "clients:5:23: connectTimeout: expected a number at byte 0 of `soon`",
            "clients:6:25: maxRetryAttempts: -1 is negative: it counts the retries after the first attempt (0: none)",
            "clients:7:22: perTryTimeout: `100` needs a unit, as in `100s` or `100ms`",
            "clients:8:16: backoff: unknown `expo`: did you mean `exp`? expected one of `exp`, `exponential`, `const`, `constant`, `linear`, `fib`, `fibonacci`, `none`",
            "clients:9:15: jitter: unknown jitter `ful`: expected `full`, `equal`, `decorrelated`, `none` or a fraction such as `0.2`",
            "clients:10:17: retryOn: unknown status code `UNAVALABLE`, as gRPC names them: `UNAVAILABLE`, `RESOURCE_EXHAUSTED`, ...",
            "clients:11:16: address: `dns` is not an address this reads: `static://host:port[,host:port]` (balanced over) or `http(s)://host:port`",
            "clients:13:20: unknown key `maxRetryAtempts`: did you mean `maxRetryAttempts`?",
            "clients:13:49: timeout: must be longer than zero",
        ]
    );
}

#[test]
fn toml_problems_are_located_too() {
    let found = problems(
        "[grpc.client.users]\ntimeout = \"2 seconds\"\nmaxRetryAttempts = \"3\"\n",
        Format::Toml,
    );
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(
        found[0],
        "clients:2:11: timeout: `2` has no unit: add one, as in `2s` (units: h, m, s, ms, us, ns)"
    );
    assert_eq!(
        found[1],
        "clients:3:20: maxRetryAttempts: expected a whole number of retries, as in `3`, found a string"
    );
    let broken = problems("[grpc.client.users\n", Format::Toml);
    assert!(broken[0].starts_with("clients:1:"), "{broken:?}");
}

#[test]
fn keep_alive_needs_both_keys() {
    let on_without_time = problems(
        "grpc:\n  client:\n    a:\n      enableKeepAlive: true\n",
        Format::Yaml,
    );
    assert_eq!(
        on_without_time,
        ["clients:4:7: enableKeepAlive: true needs keepAliveTime, as in `keepAliveTime: 30s`"]
    );
    let time_without_on = problems(
        "grpc:\n  client:\n    a:\n      keepAliveTime: 30s\n",
        Format::Yaml,
    );
    assert_eq!(
        time_without_on,
        ["clients:4:7: keepAliveTime needs enableKeepAlive: true"]
    );
    let off = ClientsFile::parse(
        "grpc:\n  client:\n    a:\n      enableKeepAlive: false\n",
        "clients",
        Format::Yaml,
    )
    .unwrap();
    assert_eq!(off.client("a").unwrap().keep_alive, None);
}

#[test]
fn keys_outside_grpc_client_are_the_applications_and_a_missing_section_is_an_error() {
    let file = ClientsFile::parse(
        "server:\n  port: 8080\ngrpc:\n  server: { port: 9090 }\n  client:\n    a: { timeout: 1s }\n",
        "clients",
        Format::Yaml,
    )
    .unwrap();
    assert_eq!(file.names().collect::<Vec<_>>(), ["a"]);
    assert_eq!(
        problems("grpc:\n  clinet:\n    a: {}\n", Format::Yaml),
        ["clients:2:3: no `client` under `grpc`: is `clinet` at 2:3 meant to be `client`?"]
    );
    assert_eq!(
        problems("app: 1\n", Format::Yaml),
        ["clients:1:1: no `grpc.client` section"]
    );
}

#[test]
fn policy_keys_a_later_release_reads_are_refused_as_such() {
    let found = problems(
        "grpc:\n  client:\n    a:\n      circuitBreaker: { failureRatio: 0.5 }\n",
        Format::Yaml,
    );
    assert_eq!(
        found,
        ["clients:4:7: `circuitBreaker` is not read from the settings file yet: set it in the method's proto options (`(steadfast.policy)`)"]
    );
}

#[test]
fn a_yaml_syntax_error_says_where() {
    let found = problems("grpc:\n  client:\n    a: [1, 2\n", Format::Yaml);
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("clients:"), "{found:?}");
}
