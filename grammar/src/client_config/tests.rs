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
fn a_hedge_is_read_and_is_not_a_retry_in_the_same_section() {
    let file = ClientsFile::parse(
        "grpc:\n  client:\n    a:\n      maxRetryAttempts: 3\n      methods:\n        M: { hedge: { maxAttempts: 3, delay: 50ms, nonFatalCodes: [UNAVAILABLE, 8] } }\n        N: { hedge: off }\n",
        "clients",
        Format::Yaml,
    )
    .unwrap();
    let a = file.client("a").unwrap();
    let hedge = a.methods["M"]
        .hedge
        .as_ref()
        .and_then(Switch::settings)
        .unwrap();
    assert_eq!(hedge.max_attempts, Some(3));
    assert_eq!(hedge.delay, Some(Duration::from_millis(50)));
    assert_eq!(
        hedge.non_fatal,
        Some(vec!["Unavailable", "ResourceExhausted"])
    );
    assert_eq!(a.methods["N"].hedge, Some(Switch::Off));

    let found = problems(
        "grpc:\n  client:\n    a:\n      hedge: { maxAttempts: 6 }\n      maxRetryAttempts: 2\n      methods:\n        M: { hedge: { delay: 1s, nonFatalCodes: [NOPE] }, jitter: full }\n",
        Format::Yaml,
    );
    assert_eq!(
        found,
        [
            "clients:4:14: hedge: needs `delay`, as in `{ maxAttempts: 3, delay: 50ms }`",
            "clients:4:29: hedge.maxAttempts: from 2 to 5 (gRPC A6), the first attempt included, not 6",
            "clients:5:7: `maxRetryAttempts` beside `hedge`: a call is hedged or retried, not both (gRPC A6); a hedge's attempts are `hedge.maxAttempts`",
            "clients:7:21: hedge: needs `maxAttempts`, as in `{ maxAttempts: 3, delay: 50ms }`",
            "clients:7:50: hedge.nonFatalCodes: unknown status code `NOPE`, as gRPC names them: `UNAVAILABLE`, `RESOURCE_EXHAUSTED`, ...",
            "clients:7:59: `jitter` beside `hedge`: a call is hedged or retried, not both (gRPC A6); a hedge's attempts are `hedge.maxAttempts`",
        ]
    );
}

const GATES_YAML: &str = "\
grpc:
  client:
    orders:
      budget: { maxTokens: 10, tokenRatio: 0.1 }
      circuitBreaker: { failureRatio: 0.25, minCalls: 4, window: 30s, openFor: 2s, halfOpen: 1, slow: 1s, slowRatio: 0.5, failures: 3 }
      rateLimit: { rate: 50/s, burst: 10, queue: 500ms, warmUp: 10s }
      concurrency: { max: 32, queue: 100ms }
      methods:
        Create: { rateLimit: 5/s, concurrency: 4, circuitBreaker: off }
        Cancel: { rateLimit: { shared: orders }, concurrency: { max: 100, adaptive: aimd, aimdTimeout: 200ms } }
        Find: { circuitBreaker: { throttle: 2, window: 2m } }
";

#[test]
fn every_gate_key_is_read_for_the_client_and_for_a_method() {
    let file = ClientsFile::parse(GATES_YAML, "clients", Format::Yaml).unwrap();
    let orders = file.client("orders").unwrap();
    assert_eq!(orders.budget, Some(BudgetSettings::new(10, 0.1)));
    let breaker = orders
        .call
        .circuit_breaker
        .as_ref()
        .and_then(Switch::settings)
        .unwrap();
    assert_eq!(breaker.failure_ratio, Some(0.25));
    assert_eq!(breaker.min_calls, Some(4));
    assert_eq!(breaker.window, Some(Duration::from_secs(30)));
    assert_eq!(breaker.open_for, Some(Duration::from_secs(2)));
    assert_eq!(breaker.half_open, Some(1));
    assert_eq!(
        (breaker.slow, breaker.slow_ratio),
        (Some(Duration::from_secs(1)), Some(0.5))
    );
    assert_eq!(breaker.failures, Some(3));
    let rate = orders
        .call
        .rate_limit
        .as_ref()
        .and_then(Switch::settings)
        .unwrap();
    assert_eq!(rate.rate.unwrap().count, 50);
    assert_eq!(
        (rate.burst, rate.queue),
        (Some(10), Some(Duration::from_millis(500)))
    );
    assert_eq!(rate.warm_up, Some(Duration::from_secs(10)));
    let limit = orders
        .call
        .concurrency
        .as_ref()
        .and_then(Switch::settings)
        .unwrap();
    assert_eq!(
        (limit.max, limit.queue),
        (Some(32), Some(Duration::from_millis(100)))
    );

    let create = orders.method("Create");
    assert_eq!(create.circuit_breaker, Some(Switch::Off), "off: no breaker");
    let rate = CallSettings::rate(&[Some(&create)]).unwrap();
    assert_eq!(
        rate.rate.unwrap().count,
        5,
        "the method's rate over the client's"
    );
    assert_eq!(rate.burst, Some(10), "the client's burst under it");
    assert_eq!(
        CallSettings::concurrency_limit(&[Some(&create)])
            .unwrap()
            .max,
        Some(4)
    );
    assert_eq!(CallSettings::breaker(&[Some(&create)]), None);

    let cancel = orders.method("Cancel");
    let rate = CallSettings::rate(&[Some(&cancel)]).unwrap();
    assert_eq!(rate.shared.as_deref(), Some("orders"));
    assert_eq!(rate.rate, None, "a shared limiter has its own settings");
    let limit = CallSettings::concurrency_limit(&[Some(&cancel)]).unwrap();
    assert_eq!(
        limit.adaptive,
        Some(Adaptive::Aimd(Duration::from_millis(200)))
    );

    let find = CallSettings::breaker(&[Some(&orders.method("Find"))]).unwrap();
    assert_eq!(find.throttle, Some(2.0));
    assert_eq!(
        find.failure_ratio, None,
        "a throttle does not take the breaker's rules"
    );
}

#[test]
fn every_gate_mistake_is_reported_where_it_is() {
    let text = "\
grpc:
  client:
    a:
      circuitBreaker: { failureRatio: 1.5, minCals: 3, slow: 1s }
      rateLimit: { burst: 10 }
      concurrency: { max: 0, adaptive: gradiant }
      budget: { maxTokens: 10 }
      methods:
        M: { budget: { maxTokens: 1, tokenRatio: 1 }, rateLimit: fifty, circuitBreaker: { throttle: 2, minCalls: 3 } }
";
    let found = problems(text, Format::Yaml);
    assert_eq!(
        found,
        [
            "clients:4:39: circuitBreaker.failureRatio: a fraction in (0, 1], not 1.5",
            "clients:4:44: circuitBreaker: unknown key `minCals`: did you mean `minCalls`?",
            "clients:4:56: circuitBreaker.slow goes with `slowRatio`: a call slower than `slow` counts as slow, and `slowRatio` of them opens the breaker",
            "clients:5:18: rateLimit: needs `rate`, as in `rate: 50/s` (or `shared`: a registered limiter's name)",
            "clients:6:27: concurrency.max: from 1 to 4294967295, not 0",
            "clients:6:40: concurrency.adaptive: unknown `gradiant`: did you mean `gradient`? expected `gradient`, `vegas` or `aimd`",
            "clients:7:15: budget: needs tokenRatio, as in `{ maxTokens: 10, tokenRatio: 0.1 }`",
            "clients:9:14: `budget` is the client's, shared by all its calls (gRPC A6 `retryThrottling`): set it beside `address`, not for one method",
            "clients:9:66: rateLimit: `fifty`: a rate is written calls/period, as in `50/s` or `3000/m`",
            "clients:9:104: circuitBreaker.minCalls is a breaker's rule; an adaptive throttle (`throttle`) takes only `window` beside it",
        ]
    );
}

#[test]
fn the_gates_read_the_same_in_toml() {
    let text = r#"
[grpc.client.orders]
rateLimit = "50/s"
concurrency = 8
[grpc.client.orders.circuitBreaker]
failureRatio = 0.5
openFor = "2s"
"#;
    let file = ClientsFile::parse(text, "clients.toml", Format::Toml).unwrap();
    let orders = file.client("orders").unwrap();
    assert_eq!(
        CallSettings::rate(&[Some(&orders.call)])
            .unwrap()
            .rate
            .unwrap()
            .count,
        50
    );
    assert_eq!(
        CallSettings::concurrency_limit(&[Some(&orders.call)])
            .unwrap()
            .max,
        Some(8)
    );
    let breaker = CallSettings::breaker(&[Some(&orders.call)]).unwrap();
    assert_eq!(breaker.open_for, Some(Duration::from_secs(2)));
}

#[test]
fn a_yaml_syntax_error_says_where() {
    let found = problems("grpc:\n  client:\n    a: [1, 2\n", Format::Yaml);
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("clients:"), "{found:?}");
}

#[test]
fn a_hostile_depth_of_nesting_is_refused_where_it_starts_not_a_crash() {
    let depth = 100_000;
    let yaml = format!(
        "grpc:\n  client:\n    a: {}{}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let found = problems(&yaml, Format::Yaml);
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with("clients:3:") && found[0].ends_with("recursion limit exceeded"),
        "{found:?}"
    );
    let toml = format!(
        "[grpc.client.a]\nx = {}{}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let found = problems(&toml, Format::Toml);
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with("clients:2:") && found[0].contains("recursion"),
        "{found:?}"
    );
}
