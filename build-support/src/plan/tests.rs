use std::path::Path;

use super::*;
use crate::configure;

/// Compiles `proto` (as `svc.proto`) with `builder`, in a fresh folder.
fn run(builder: &Builder, proto: &str) -> Result<Generated, Error> {
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(dir.path().join("svc.proto"), proto).expect("write proto");
    let out = dir.path().join("out");
    let protos = [dir.path().join("svc.proto")];
    let includes = [dir.path().to_owned()];
    generate(builder, &protos, &includes, &out)
}

fn ok(builder: &Builder, proto: &str) -> String {
    match run(builder, proto) {
        Ok(generated) => generated.clients.values().cloned().collect(),
        Err(e) => panic!("{e}"),
    }
}

/// A builder reading `json` as its service config; the folder lives as
/// long as the returned guard.
fn with_config(json: &str) -> (tempfile::TempDir, Builder) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("service_config.json");
    std::fs::write(&path, json).expect("write config");
    let mut builder = configure();
    builder.service_config(&path);
    (dir, builder)
}

fn err(builder: &Builder, proto: &str) -> String {
    run(builder, proto).expect_err("a build error").to_string()
}

const HEADER: &str = r#"syntax = "proto3";
package shop.v1;
import "steadfast/options.proto";
import "google/protobuf/empty.proto";
message Item { string id = 1; message Price { uint64 cents = 1; } }
"#;

fn proto(body: &str) -> String {
    format!("{HEADER}{body}")
}

#[test]
fn method_option_beats_service_option_beats_file_option() {
    let code = ok(
        &configure(),
        &proto(
            r#"option (steadfast.file_policy) = { deadline: "30s" };
service Shop {
  option (steadfast.default_policy) = { deadline: "5s" retry: { max_attempts: 2 } };
  rpc Get (Item) returns (Item) {
    option idempotency_level = NO_SIDE_EFFECTS;
    option (steadfast.policy) = { deadline: "1s" };
  }
  rpc List (google.protobuf.Empty) returns (Item) { option idempotency_level = IDEMPOTENT; }
}
service Other { rpc Ping (Item) returns (Item.Price); }"#,
        ),
    );
    // Get: its own deadline; the service's retry.
    assert!(
        code.contains("#[::steadfast::__private::deadline(1s)]"),
        "{code}"
    );
    assert!(
        code.contains("#[::steadfast::__private::retry(max = 2, backoff = \"exp\")]"),
        "{code}"
    );
    // List: the service's deadline. Other.Ping: the file's.
    assert!(
        code.contains("#[::steadfast::__private::deadline(5s)]"),
        "{code}"
    );
    assert!(
        code.contains("#[::steadfast::__private::deadline(30s)]"),
        "{code}"
    );
    assert!(
        code.contains("request: impl tonic::IntoRequest<()>"),
        "google.protobuf.Empty is `()`: {code}"
    );
    assert!(
        code.contains("tonic::Response<item::Price>"),
        "nested messages: {code}"
    );
}

#[test]
fn retry_on_a_method_that_is_not_idempotent_is_an_error_at_its_line() {
    let message = err(
        &configure(),
        &proto(
            r#"service Shop {
  rpc Buy (Item) returns (Item) {
    option (steadfast.policy) = { retry: { max_attempts: 3 } };
  }
}"#,
        ),
    );
    assert!(message.contains("svc.proto:8:5:"), "{message}");
    assert!(
        message.contains("`shop.v1.Shop/Buy` has a retry policy but is not idempotent"),
        "{message}"
    );
    assert!(message.contains("unsafe_retry: true"), "{message}");
}

#[test]
fn unsafe_retry_allows_it() {
    let code = ok(
        &configure(),
        &proto(
            r#"service Shop {
  rpc Buy (Item) returns (Item) {
    option (steadfast.policy) = { retry: { max_attempts: 3 } unsafe_retry: true };
  }
}"#,
        ),
    );
    assert!(
        code.contains("#[::steadfast::__private::retry(max = 3"),
        "{code}"
    );
}

#[test]
fn inherited_retries_skip_methods_that_are_not_idempotent_with_a_warning() {
    let generated = run(
        &configure(),
        &proto(
            r#"service Shop {
  option (steadfast.default_policy) = { retry: { max_attempts: 3 } };
  rpc Buy (Item) returns (Item);
  rpc Get (Item) returns (Item) { option idempotency_level = IDEMPOTENT; }
}"#,
        ),
    )
    .unwrap();
    let code: String = generated.clients.values().cloned().collect();
    assert_eq!(
        code.matches("#[::steadfast::__private::retry(").count(),
        1,
        "{code}"
    );
    assert!(
        code.contains("Not retried: not marked idempotent."),
        "{code}"
    );
    assert_eq!(generated.warnings.len(), 1);
    assert!(generated.warnings[0].contains("`shop.v1.Shop/Buy` is not retried"));
}

#[test]
fn streaming_rules() {
    let code = ok(
        &configure(),
        &proto(
            r#"service Shop {
  option (steadfast.default_policy) = { deadline: "3s" retry: { max_attempts: 3 } };
  rpc Watch (Item) returns (stream Item) { option idempotency_level = NO_SIDE_EFFECTS; }
  rpc Upload (stream Item) returns (Item) { option idempotency_level = IDEMPOTENT; }
  rpc Chat (stream Item) returns (stream Item) { option idempotency_level = IDEMPOTENT; }
}"#,
        ),
    );
    // Every kind is retried until its response starts; streamed requests
    // are recorded and replayed.
    assert_eq!(
        code.matches("#[::steadfast::__private::retry(").count(),
        3,
        "{code}"
    );
    assert_eq!(
        code.matches("::steadfast::__private::ReplayableStream::new(request)")
            .count(),
        2,
        "{code}"
    );
    assert_eq!(
        code.matches("#[::steadfast::__private::deadline(3s)]")
            .count(),
        3,
        "{code}"
    );
    assert!(
        code.contains("impl tonic::IntoStreamingRequest<Message = Item>"),
        "{code}"
    );
    assert!(code.contains("tonic::codec::Streaming<Item>"), "{code}");
    assert_eq!(
        code.matches("The request stream is recorded as it is sent")
            .count(),
        2
    );
}

/// Nothing configured is dropped in silence: a service config's retry on a
/// bidi method (Firestore's `Listen`) is applied (the stream replayed); its
/// service-wide hedging on a server-streaming method, and a `retryPolicy`
/// without `maxAttempts` (Spanner's), are build warnings naming the method
/// or the field.
#[test]
fn what_a_service_config_asks_and_is_not_applied_is_a_warning() {
    let (_dir, builder) = with_config(
        r#"{"methodConfig": [
            {"name": [{"service": "shop.v1.Shop", "method": "Chat"}],
             "retryPolicy": {"initialBackoff": "0.1s", "maxBackoff": "1s", "backoffMultiplier": 2,
                             "retryableStatusCodes": ["UNAVAILABLE"]}},
            {"name": [{"service": "shop.v1.Shop"}],
             "hedgingPolicy": {"maxAttempts": 2, "hedgingDelay": "0.02s"}}
        ]}"#,
    );
    let generated = run(
        &builder,
        &proto(
            r#"service Shop {
  rpc Chat (stream Item) returns (stream Item);
  rpc Watch (Item) returns (stream Item);
  rpc Get (Item) returns (Item);
}"#,
        ),
    )
    .expect("builds");
    let warnings = generated.warnings.join("\n");
    // The bidi `Chat` is retried as the layer retries it: no warning.
    assert!(!warnings.contains("Shop/Chat"), "{warnings}");
    let code: String = generated.clients.values().cloned().collect();
    assert!(
        code.contains("request: &::steadfast::__private::ReplayableStream<Item>"),
        "{code}"
    );
    assert!(
        warnings.contains("`shop.v1.Shop/Watch` streams, so the hedging policy it gets from"),
        "{warnings}"
    );
    assert!(
        warnings.contains("methodConfig[0].retryPolicy.maxAttempts: left out, so 5 is assumed"),
        "{warnings}"
    );
    // The unary method is hedged as configured, without a warning.
    assert!(!warnings.contains("Shop/Get"), "{warnings}");
    assert_eq!(
        code.matches("#[::steadfast::__private::hedge(").count(),
        1,
        "{code}"
    );
}

#[test]
fn bad_options_are_errors_with_their_location() {
    let message = err(
        &configure(),
        &proto(
            r#"service Shop {
  rpc Get (Item) returns (Item) {
    option idempotency_level = IDEMPOTENT;
    option (steadfast.policy) = {
      deadline: "2 seconds"
      retry: { max_attempts: 0, backoff: CONSTANT, multiplier: 2, on: ["BUSY"], jitter: "lots", initial: "5" }
    };
  }
}"#,
        ),
    );
    let lines: Vec<&str> = message.lines().collect();
    for expected in [
        "deadline: `2` has no unit",
        "retry: max_attempts must be at least 1",
        "retry: multiplier only applies to backoff: EXPONENTIAL",
        "retry: unknown status code \"BUSY\"",
        "retry: unknown jitter `lots`",
        "retry: initial: `5` has no unit",
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("svc.proto:9:5: ") && l.contains(expected)),
            "missing {expected:?} in\n{message}"
        );
    }
}

#[test]
fn unknown_option_fields_are_errors_from_the_compiler_with_their_location() {
    let message = err(
        &configure(),
        &proto(
            r#"service Shop {
  rpc Get (Item) returns (Item) {
    option (steadfast.policy) = { deadlin: "2s" };
  }
}"#,
        ),
    );
    assert!(
        message.starts_with("svc.proto:8:5: invalid value"),
        "{message}"
    );
    assert!(
        message.contains("`Policy` fields are deadline, retry"),
        "{message}"
    );
}

#[test]
fn service_config_and_builder_fill_in_below_the_options() {
    let (_dir, mut builder) = with_config(
        r#"{"methodConfig": [
            {"name": [{"service": "shop.v1.Shop", "method": "Get"}], "timeout": "4s",
             "retryPolicy": {"maxAttempts": 4, "initialBackoff": "0.2s", "maxBackoff": "3s",
                             "backoffMultiplier": 1.5, "retryableStatusCodes": ["UNAVAILABLE", "ABORTED"]}},
            {"name": [{}], "timeout": "9s"}
        ]}"#,
    );
    builder
        .method(
            "shop.v1.Shop/List",
            Policy::new().retry(Retry::new(2).on(["14"])),
        )
        .default_policy(Policy::new().deadline(std::time::Duration::from_secs(60)));
    let code = ok(
        &builder,
        &proto(
            r#"service Shop {
  rpc Get (Item) returns (Item) { option idempotency_level = IDEMPOTENT; }
  rpc List (Item) returns (Item) { option idempotency_level = IDEMPOTENT; }
}"#,
        ),
    );
    assert!(
        code.contains("#[::steadfast::__private::deadline(4s)]"),
        "{code}"
    );
    assert!(code.contains("max = 4, backoff = \"exp\", initial = 200ms, multiplier = 1.5, max_delay = 3s, jitter = \"full\", on = [Unavailable, Aborted]"), "{code}");
    // List: the config's global deadline, the builder's retry.
    assert!(
        code.contains("#[::steadfast::__private::deadline(9s)]"),
        "{code}"
    );
    assert!(
        code.contains("max = 2, backoff = \"exp\", on = [Unavailable]"),
        "{code}"
    );
    assert!(
        !code.contains("60s"),
        "the builder default is below everything else: {code}"
    );
}

#[test]
fn builder_policies_are_checked_too() {
    let mut builder = configure();
    builder
        .method("Shop.Get", Policy::new())
        .default_policy(Policy::new().retry(Retry::new(0).on(["NOPE"]).jitter("x")));
    let message = err(
        &builder,
        &proto("service Shop { rpc Get (Item) returns (Item); }"),
    );
    assert!(
        message.contains("build script: default_policy: max_attempts must be at least 1"),
        "{message}"
    );
    assert!(
        message.contains("unknown status code \"NOPE\""),
        "{message}"
    );
    assert!(
        message.contains("name methods as \"package.Service/Method\""),
        "{message}"
    );
}

#[test]
fn generated_client_snapshot() {
    let code = ok(
        &configure(),
        &proto(
            r#"service Shop {
  option (steadfast.default_policy) = { deadline: "2s" };
  rpc Get (Item) returns (Item) {
    option idempotency_level = NO_SIDE_EFFECTS;
    option (steadfast.policy) = {
      retry: { max_attempts: 3, backoff: EXPONENTIAL, initial: "100ms", jitter: "0.1", per_attempt: "500ms", on: ["UNAVAILABLE", "RESOURCE_EXHAUSTED"] }
      breaker: { failures: 5, open_for: "1s", slow: "200ms" }
    };
  }
  rpc Put (Item) returns (google.protobuf.Empty);
}"#,
        ),
    );
    insta::assert_snapshot!(code);
}

#[test]
fn breaker_options_are_checked_where_they_are_written() {
    let message = err(
        &configure(),
        &proto(
            r#"service Shop {
  rpc Get (Item) returns (Item) {
    option (steadfast.policy) = {
      breaker: { failure_ratio: 1.5, window: "10 parsecs", slow_ratio: 0.5, half_open: 40000 }
    };
  }
}"#,
        ),
    );
    for expected in [
        "svc.proto:8:5: breaker",
        "breaker: window:",
        "breaker: slow_ratio needs slow",
        "breaker: failure_ratio is a fraction in (0, 1], not 1.5",
        "breaker: half_open is from 1 to 32767, not 40000",
    ] {
        assert!(
            message.contains(expected),
            "missing {expected:?} in:\n{message}"
        );
    }
}

#[test]
fn a_breaker_needs_no_idempotency_and_the_builder_checks_its_own() {
    let code = ok(
        &configure(),
        &proto(
            r#"service Shop {
  rpc Put (Item) returns (Item) { option (steadfast.policy) = { breaker: { failures: 3 } }; }
}"#,
        ),
    );
    assert!(
        code.contains("#[::steadfast::__private::circuit_breaker(self.breakers.put)]"),
        "{code}"
    );
    assert!(code.contains(".failure_count(3u32)"), "{code}");
    let mut builder = configure();
    builder.default_policy(crate::Policy::new().breaker(crate::Breaker::new().min_calls(0)));
    let message = err(
        &builder,
        &proto("service Shop { rpc Put (Item) returns (Item); }"),
    );
    assert!(
        message.contains("build script: default_policy: breaker: min_calls must be at least 1"),
        "{message}"
    );
}

#[test]
fn writes_one_file_per_package_with_tonic_code_and_clients() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("svc.proto"),
        proto("service Shop { rpc Get (Item) returns (Item); }"),
    )
    .unwrap();
    let out = dir.path().join("out");
    configure()
        .out_dir(&out)
        .compile(&[dir.path().join("svc.proto")], &[dir.path().to_owned()])
        .unwrap();
    let text = std::fs::read_to_string(Path::new(&out).join("shop.v1.rs")).unwrap();
    assert!(text.contains("pub struct Item"));
    assert!(text.contains("pub mod shop_client"));
    assert!(text.contains("pub struct ResilientShopClient<T>"));
}

#[test]
fn names_types_comments_and_deprecation_come_from_prost() {
    let mut builder = configure();
    builder.tonic(|tonic| tonic.extern_path(".shop.v1.Item.Price", "crate::money::Price"));
    let code = ok(
        &builder,
        &proto(
            r#"// Sells things.
service Shop {
  // Looks a type up.
  rpc Type (Item) returns (Item.Price);
  rpc Old (Item) returns (Item) { option deprecated = true; }
}"#,
        ),
    );
    assert!(
        code.contains("pub async fn r#type("),
        "keyword names are raw: {code}"
    );
    assert!(code.contains("async fn __steadfast_type("), "{code}");
    assert!(code.contains("self.inner.r#type(request)"), "{code}");
    assert!(
        code.contains("tonic::Response<crate::money::Price>"),
        "extern_path: {code}"
    );
    assert!(
        code.contains("/// Sells things."),
        "service comments: {code}"
    );
    assert!(
        code.contains("/// Looks a type up."),
        "method comments: {code}"
    );
    assert!(
        code.contains("#[deprecated]\n    pub async fn old("),
        "{code}"
    );
}

#[test]
fn tonic_settings_are_followed() {
    let mut builder = configure();
    builder.tonic(|tonic| tonic.build_client(false));
    let generated = run(
        &builder,
        &proto("service Shop { rpc Get (Item) returns (Item); }"),
    )
    .unwrap();
    assert!(
        generated.clients.is_empty(),
        "no tonic client, nothing to wrap"
    );

    let mut builder = configure();
    builder.tonic(|tonic| tonic.build_transport(false));
    let code = ok(
        &builder,
        &proto("service Shop { rpc Get (Item) returns (Item); }"),
    );
    assert!(
        !code.contains("pub async fn connect"),
        "tonic wrote no connect: {code}"
    );
}

#[test]
fn unary_calls_skip_tonics_streaming_only_with_steadfasts_codec() {
    let shop = proto(
        "service Shop { rpc Get (Item) returns (Item); rpc Watch (Item) returns (stream Item); }",
    );
    let code = ok(&configure(), &shop);
    // The path is written out only for steadfast's own unary call.
    assert_eq!(
        code.matches("\"/shop.v1.Shop/").count(),
        1,
        "the unary method only: {code}"
    );
    assert!(code.contains("\"/shop.v1.Shop/Get\""), "{code}");

    // Another codec: steadfast cannot encode for it, so tonic sends every call.
    let mut builder = configure();
    builder.tonic(|tonic| tonic.codec_path("crate::MyCodec"));
    let code = ok(&builder, &shop);
    assert!(!code.contains("\"/shop.v1.Shop/"), "{code}");
}

#[test]
fn hedging_from_options_and_service_config() {
    let code = ok(
        &configure(),
        &proto(
            r#"service Shop {
  rpc Get (Item) returns (Item) {
    option idempotency_level = IDEMPOTENT;
    option (steadfast.policy) = { deadline: "1s" hedge: { max_attempts: 3, delay: "p95", on: ["UNAVAILABLE"] } };
  }
}"#,
        ),
    );
    assert!(
        code.contains(
            r#"#[::steadfast::__private::hedge(max = 3, delay = "p95", on = [Unavailable])]"#
        ),
        "{code}"
    );
    assert!(
        code.contains("let mut client = ::core::clone::Clone::clone(&self.inner);"),
        "{code}"
    );

    // The service owner's hedgingPolicy, as A6 writes it: no
    // nonFatalStatusCodes means every error is fatal; honoured without
    // idempotency_level, as the owner's retryPolicy is.
    let (_dir, builder) = with_config(
        r#"{"methodConfig": [{"name": [{"service": "shop.v1.Shop"}],
             "hedgingPolicy": {"maxAttempts": 2, "hedgingDelay": "0.01s"}}]}"#,
    );
    let code = ok(
        &builder,
        &proto("service Shop { rpc Get (Item) returns (Item); }"),
    );
    assert!(
        code.contains("#[::steadfast::__private::hedge(max = 2, delay = 10ms, on = [])]"),
        "{code}"
    );
}

#[test]
fn hedging_mistakes_are_build_errors_at_their_line() {
    let message = err(
        &configure(),
        &proto(
            r#"service Shop {
  rpc Get (Item) returns (Item) {
    option (steadfast.policy) = { hedge: { max_attempts: 2, delay: "10ms" } };
  }
  rpc Watch (Item) returns (stream Item) {
    option idempotency_level = IDEMPOTENT;
    option (steadfast.policy) = { hedge: { max_attempts: 2, delay: "10ms" } };
  }
  rpc Both (Item) returns (Item) {
    option idempotency_level = IDEMPOTENT;
    option (steadfast.policy) = { retry: { max_attempts: 2 } hedge: { max_attempts: 9, delay: "p100" } };
  }
}"#,
        ),
    );
    for expected in [
        "svc.proto:8:5: `shop.v1.Shop/Get` has a hedging policy but is not idempotent",
        "svc.proto:12:5: `shop.v1.Shop/Watch` streams, and only unary methods are hedged",
        "hedge: max_attempts counts every attempt, 1 to 5",
        "hedge: delay: a percentile is between 0 and 100, not 100",
    ] {
        assert!(
            message.contains(expected),
            "missing {expected:?} in:\n{message}"
        );
    }
    let (_dir, builder) = with_config(
        r#"{"methodConfig": [{"name": [{"service": "shop.v1.Shop"}],
             "retryPolicy": {"maxAttempts": 2, "initialBackoff": "0.1s", "maxBackoff": "1s",
                             "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]},
             "hedgingPolicy": {"maxAttempts": 2, "nonFatalStatusCodes": ["NOPE"]}}]}"#,
    );
    let message = err(
        &builder,
        &proto("service Shop { rpc Get (Item) returns (Item); }"),
    );
    assert!(
        message.contains("has both retryPolicy and hedgingPolicy; gRPC A6 allows one"),
        "{message}"
    );
    assert!(
        message.contains("hedgingPolicy.nonFatalStatusCodes[0]: unknown status code"),
        "{message}"
    );
}

#[test]
fn retry_throttling_builds_one_budget_for_the_clients_methods() {
    let (_dir, builder) = with_config(
        r#"{"retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1},
            "methodConfig": [{"name": [{"service": "shop.v1.Shop"}],
             "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.1s", "maxBackoff": "1s",
                             "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}"#,
    );
    let code = ok(
        &builder,
        &proto("service Shop { rpc Get (Item) returns (Item); rpc List (Item) returns (Item); }"),
    );
    assert_eq!(
        code.matches("static STEADFAST_SHOP_BUDGET: ::steadfast::__private::RetryBudget")
            .count(),
        1,
        "{code}"
    );
    assert!(
        code.contains("::steadfast::__private::RetryBudget::new(\n    10u32,\n    0.1f64,\n)"),
        "{code}"
    );
    assert_eq!(
        code.matches("budget = STEADFAST_SHOP_BUDGET").count(),
        2,
        "{code}"
    );

    let (_dir, builder) = with_config(r#"{"retryThrottling": {"maxTokens": 0, "tokenRatio": -1}}"#);
    let message = err(
        &builder,
        &proto("service Shop { rpc Get (Item) returns (Item); }"),
    );
    assert!(
        message.contains("retryThrottling.maxTokens: must be a whole number from 1 to 1000"),
        "{message}"
    );
    assert!(
        message.contains("retryThrottling.tokenRatio: must be above zero"),
        "{message}"
    );
}

/// Issue 10: a package split over files that import each other and a
/// package of annotations, as Google's APIs are, with a service config in
/// the shape Google publishes (explicit retryPolicy, no idempotency_level
/// in the protos). Our own files, written in that shape.
#[test]
fn a_google_shaped_api_builds_and_its_service_config_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("google/api")).unwrap();
    std::fs::create_dir_all(root.join("acme/queue/v1")).unwrap();
    std::fs::write(
        root.join("google/api/annotations.proto"),
        r#"syntax = "proto3";
package google.api;
import "google/protobuf/descriptor.proto";
message HttpRule { string get = 2; string post = 4; string body = 7; }
extend google.protobuf.MethodOptions { HttpRule http = 72295728; }
"#,
    )
    .unwrap();
    std::fs::write(
        root.join("acme/queue/v1/schema.proto"),
        r#"syntax = "proto3";
package acme.queue.v1;
message Schema { string name = 1; Encoding encoding = 2; }
enum Encoding { ENCODING_UNSPECIFIED = 0; JSON = 1; }
service SchemaService { rpc GetSchema (Schema) returns (Schema); }
"#,
    )
    .unwrap();
    std::fs::write(
        root.join("acme/queue/v1/queue.proto"),
        r#"syntax = "proto3";
package acme.queue.v1;
import "google/api/annotations.proto";
import "google/protobuf/empty.proto";
import "acme/queue/v1/schema.proto";
message Topic { string name = 1; Schema schema = 2; Encoding encoding = 3; }
message PublishRequest { string topic = 1; repeated bytes data = 2; }
message PublishResponse { repeated string message_ids = 1; }
service Publisher {
  rpc CreateTopic (Topic) returns (Topic) { option (google.api.http) = { post: "/v1/topics" body: "*" }; }
  rpc Publish (PublishRequest) returns (PublishResponse);
  rpc DeleteTopic (Topic) returns (google.protobuf.Empty);
}
"#,
    )
    .unwrap();
    let config = root.join("queue_grpc_service_config.json");
    std::fs::write(
        &config,
        r#"{"methodConfig": [
          {"name": [{"service": "acme.queue.v1.Publisher", "method": "CreateTopic"},
                    {"service": "acme.queue.v1.Publisher", "method": "DeleteTopic"}],
           "timeout": "60s",
           "retryPolicy": {"initialBackoff": "0.100s", "maxBackoff": "60s", "backoffMultiplier": 1.3,
                           "retryableStatusCodes": ["UNAVAILABLE"]}},
          {"name": [{"service": "acme.queue.v1.Publisher", "method": "Publish"}],
           "timeout": "60s",
           "retryPolicy": {"initialBackoff": "0.100s", "maxBackoff": "60s", "backoffMultiplier": 4,
                           "retryableStatusCodes": ["ABORTED", "CANCELLED", "INTERNAL", "RESOURCE_EXHAUSTED",
                                                    "UNKNOWN", "UNAVAILABLE", "DEADLINE_EXCEEDED"]}}
        ]}"#,
    )
    .unwrap();
    let mut builder = configure();
    builder.service_config(&config);
    let out = root.join("out");
    let generated = generate(
        &builder,
        &[root.join("acme/queue/v1/queue.proto")],
        &[root.to_owned()],
        &out,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let code: String = generated.clients.values().cloned().collect();
    assert_eq!(
        code.matches("#[::steadfast::__private::retry(").count(),
        3,
        "every configured method retries: {code}"
    );
    assert!(code.contains("the service owner's statement"), "{code}");
    assert!(
        code.contains("pub struct ResilientPublisherClient<T>"),
        "{code}"
    );
    assert!(
        code.contains("pub struct ResilientSchemaServiceClient<T>"),
        "the imported file's service: {code}"
    );
    let file = std::fs::read_to_string(out.join("acme.queue.v1.rs")).unwrap();
    assert!(
        file.contains("pub struct Schema"),
        "messages of the imported file of the same package"
    );
    assert!(
        out.join("google.api.rs").exists(),
        "the other package is generated, as tonic-prost-build does"
    );
}

#[test]
fn the_gate_still_holds_for_what_the_clients_author_writes() {
    let message = err(
        &configure(),
        &proto(
            r#"service Shop {
  rpc Buy (Item) returns (Item) { option (steadfast.policy) = { retry: { max_attempts: 3 } }; }
}"#,
        ),
    );
    assert!(message.contains("is not idempotent"), "{message}");
}

#[test]
fn build_errors_print_one_problem_a_line_also_through_debug() {
    let error = run(
        &configure(),
        &proto(
            r#"service Shop {
  rpc Buy (Item) returns (Item) { option (steadfast.policy) = { deadline: "2" retry: { max_attempts: 0 } }; }
}"#,
        ),
    )
    .expect_err("a build error");
    let debug = format!("{error:?}");
    assert_eq!(debug, error.to_string());
    let lines: Vec<&str> = debug.lines().collect();
    assert!(lines.len() >= 2, "{debug}");
    assert!(
        lines.iter().all(|l| l.starts_with("svc.proto:")),
        "place first: {debug}"
    );
}

#[test]
fn the_channel_option_sets_the_generated_connect() {
    let code = ok(
        &configure(),
        &proto(
            r#"service Shop {
  option (steadfast.channel) = {
    connect_timeout: "2s"
    keepalive_interval: "30s"
    keepalive_timeout: "10s"
    tcp_keepalive: "1m"
  };
  rpc Get (Item) returns (Item);
}"#,
        ),
    );
    assert!(
        code.contains(
            "/// `(steadfast.channel)`: connect within 2s, ping every 30s, answered within 10s, TCP keepalive after 60s idle"
        ),
        "{code}"
    );
    let apply = code
        .lines()
        .skip_while(|l| !l.contains("::steadfast::__private::ChannelPolicy::new()"))
        .take_while(|l| !l.contains("connect().await"))
        .collect::<String>();
    for call in [
        ".connect_timeout(::core::time::Duration::new(2u64, 0u32))",
        ".keepalive(",
        "::core::time::Duration::new(30u64, 0u32)",
        ".tcp_keepalive(::core::time::Duration::new(60u64, 0u32))",
        ".apply(endpoint)",
    ] {
        assert!(
            apply.replace(' ', "").contains(&call.replace(' ', "")),
            "{call} in {apply}"
        );
    }
    // Without the option, `connect` is tonic's own.
    let plain = ok(
        &configure(),
        &proto("service Shop { rpc Get (Item) returns (Item); }"),
    );
    assert!(!plain.contains("ChannelPolicy"), "{plain}");
}

#[test]
fn bad_channel_options_are_errors_at_their_line() {
    let message = err(
        &configure(),
        &proto(
            r#"service Shop {
  option (steadfast.channel) = { connect_timeout: "soon", keepalive_interval: "30s" };
  rpc Get (Item) returns (Item);
}
service Other {
  option (steadfast.channel) = { keepalive_while_idle: true };
  rpc Get (Item) returns (Item);
}"#,
        ),
    );
    let lines: Vec<&str> = message.lines().collect();
    for (at, expected) in [
        ("svc.proto:7:3: ", "channel: connect_timeout: "),
        (
            "svc.proto:7:3: ",
            "channel: keepalive_interval needs keepalive_timeout",
        ),
        (
            "svc.proto:11:3: ",
            "channel: keepalive_while_idle does nothing without keepalive_interval",
        ),
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(at) && l.contains(expected)),
            "missing {at}{expected:?} in\n{message}"
        );
    }
}

#[test]
fn generated_code_opens_with_the_contract_the_runtime_speaks() {
    assert_eq!(crate::CONTRACT, steadfast::__private::CONTRACT);
    let code = ok(
        &configure(),
        &proto("service Shop { rpc Put (Item) returns (Item); }"),
    );
    assert!(
        code.contains(&format!(
            "::steadfast::__private::contract!({});",
            crate::CONTRACT
        )),
        "{code}"
    );
}

#[test]
fn crate_path_names_the_runtime_everywhere_and_bad_paths_are_errors() {
    let mut builder = configure();
    builder.crate_path("::platform::steadfast");
    let code = ok(
        &builder,
        &proto(
            r#"service Shop {
  rpc Put (Item) returns (Item) {
    option idempotency_level = IDEMPOTENT;
    option (steadfast.policy) = { deadline: "1s" retry: { max_attempts: 2 } };
  }
}"#,
        ),
    );
    assert!(!code.contains(" ::steadfast::"), "{code}");
    assert!(
        code.contains("::platform::steadfast::__private::contract!"),
        "{code}"
    );
    assert!(
        code.contains("#[::platform::steadfast::__private::rpc("),
        "{code}"
    );
    assert!(code.contains("crate = \"::platform::steadfast\""), "{code}");
    builder.crate_path("not a path");
    let error = err(
        &builder,
        &proto("service Shop { rpc Put (Item) returns (Item); }"),
    );
    assert!(
        error
            .to_string()
            .contains("crate_path `not a path` is not a path"),
        "{error}"
    );
}

#[test]
fn retry_codes_without_quotes_are_an_error_that_says_how_to_write_them() {
    for on in ["on: [UNAVAILABLE]", "on: UNAVAILABLE"] {
        let text = format!(
            r#"service Shop {{
  rpc Put (Item) returns (Item) {{
    option idempotency_level = IDEMPOTENT;
    option (steadfast.policy) = {{ retry: {{ max_attempts: 2, {on} }} }};
  }}
}}"#
        );
        let error = err(&configure(), &proto(&text));
        assert!(error.starts_with("svc.proto:9:5: "), "{error}");
        assert!(
            error.contains(r#"`on` is a list of status-code names in quotes (`on: ["UNAVAILABLE", "RESOURCE_EXHAUSTED"]`)"#),
            "{error}"
        );
    }
}

/// `rate_limit` and `concurrency` become one limit per method and client,
/// asked by every attempt (innermost, below the retry); their mistakes are
/// build errors at the option's `file:line`.
#[test]
fn flow_control_options_become_per_client_limits_and_bad_ones_are_located_errors() {
    let code = ok(
        &configure(),
        &proto(
            r#"service Shop {
  rpc Get (Item) returns (Item) {
    option idempotency_level = IDEMPOTENT;
    option (steadfast.policy) = {
      retry: { max_attempts: 3 }
      rate_limit: { rate: "50/s" burst: 10 queue: "500ms" warm_up: "10s" }
      concurrency: { max: 8 queue: "100ms" }
    };
  }
}"#,
        ),
    );
    let retry = code.find("#[::steadfast::__private::retry(").expect(&code);
    let rate = code
        .find("#[::steadfast::__private::rate_limit(self.limits.get_rate)]")
        .expect(&code);
    let places = code
        .find("#[::steadfast::__private::concurrency_limit(self.limits.get_concurrency)]")
        .expect(&code);
    assert!(retry < rate && rate < places, "{code}");
    assert!(code.contains(".burst(10u32)"), "{code}");
    assert!(
        code.contains(".warm_up(::core::time::Duration::new(10u64, 0u32))"),
        "{code}"
    );
    assert!(code.contains(r#".named("shop.v1.Shop/Get")"#), "{code}");

    let message = err(
        &configure(),
        &proto(
            r#"service Shop {
  rpc Get (Item) returns (Item) {
    option (steadfast.policy) = {
      rate_limit: { rate: "0/s" warm_up: "0s" }
      concurrency: { queue: "soon" }
    };
  }
}"#,
        ),
    );
    for expected in [
        "svc.proto:8:5: rate_limit: rate: `0/s`: a rate admits at least one call per period",
        "rate_limit: warm_up must be longer than zero",
        "concurrency: max is required",
        "queue: ",
    ] {
        assert!(message.contains(expected), "{expected}: {message}");
    }
}

/// `rate_limit { shared }` makes the client ask the limiter registered under
/// that name when it is made (its own from the settings otherwise); a blank
/// name is a build error at the option.
#[test]
fn a_shared_rate_limit_option_looks_up_the_registered_limiter_and_a_blank_name_is_an_error() {
    let code = ok(
        &configure(),
        &proto(
            r#"service Shop {
  rpc Get (Item) returns (Item) {
    option (steadfast.policy) = { rate_limit: { rate: "1000/s" shared: "orders" } };
  }
}"#,
        ),
    );
    assert!(
        code.contains("get_rate: ::std::sync::Arc<::steadfast::__private::RateLimiter>"),
        "{code}"
    );
    assert!(
        code.contains(
            "::steadfast::__private::registered_rate_limiter(\n                \"orders\","
        ),
        "{code}"
    );
    assert!(
        !code.contains("const fn new"),
        "a lookup is not const: {code}"
    );
    assert!(
        code.contains("the limiter registered as `orders`"),
        "{code}"
    );

    let message = err(
        &configure(),
        &proto(
            r#"service Shop {
  rpc Get (Item) returns (Item) {
    option (steadfast.policy) = { rate_limit: { rate: "1/s" shared: "  " } };
  }
}"#,
        ),
    );
    assert!(
        message.contains(
            "svc.proto:8:5: rate_limit: shared names a registered limiter: it cannot be blank"
        ),
        "{message}"
    );
}

/// `concurrency { adaptive }` makes the method's limit an `AdaptiveLimit`
/// bounded by `max`; a misspelt algorithm, and "aimd" without its timeout,
/// are build errors at the option.
#[test]
fn an_adaptive_concurrency_option_becomes_an_adaptive_limit_and_bad_ones_are_located_errors() {
    let code = ok(
        &configure(),
        &proto(
            r#"service Shop {
  rpc Get (Item) returns (Item) {
    option (steadfast.policy) = { concurrency: { max: 100 adaptive: "gradient" } };
  }
  rpc Put (Item) returns (Item) {
    option (steadfast.policy) = { concurrency: { max: 8 adaptive: "aimd" aimd_timeout: "200ms" } };
  }
}"#,
        ),
    );
    let squeezed: String = code.split_whitespace().collect();
    for expected in [
        "::steadfast::__private::AdaptiveLimit::gradient().bounds(1usize,20usize,100usize)",
        r#".named("shop.v1.Shop/Get").into_limit()"#,
        "::steadfast::__private::AdaptiveLimit::aimd(::core::time::Duration::new(0u64,200000000u32),).bounds(1usize,8usize,8usize)",
    ] {
        assert!(squeezed.contains(expected), "{expected}: {code}");
    }

    let message = err(
        &configure(),
        &proto(
            r#"service Shop {
  rpc Get (Item) returns (Item) {
    option (steadfast.policy) = { concurrency: { max: 10 adaptive: "gradiant" } };
  }
  rpc Put (Item) returns (Item) {
    option (steadfast.policy) = { concurrency: { max: 10 adaptive: "aimd" } };
  }
}"#,
        ),
    );
    for expected in [
        r#"svc.proto:8:5: concurrency: adaptive: expected "gradient", "vegas" or "aimd", not "gradiant""#,
        r#"adaptive: "aimd" needs `aimd_timeout`"#,
    ] {
        assert!(message.contains(expected), "{expected}: {message}");
    }
}

/// `breaker { throttle: K }` gives the method an `AdaptiveThrottle` instead
/// of a breaker; K below 1, or a breaker's rule beside it, are build errors
/// at the option.
#[test]
fn a_throttle_option_becomes_an_adaptive_throttle_and_bad_ones_are_located_errors() {
    let code = ok(
        &configure(),
        &proto(
            r#"service Shop {
  rpc Get (Item) returns (Item) {
    option (steadfast.policy) = { breaker: { throttle: 2.0 window: "30s" } };
  }
}"#,
        ),
    );
    let squeezed: String = code.split_whitespace().collect();
    let expected = "::steadfast::__private::AdaptiveThrottle::new().k(2f64).window(::core::time::Duration::new(30u64,0u32)).into_breaker()";
    assert!(squeezed.contains(expected), "{code}");

    let message = err(
        &configure(),
        &proto(
            r#"service Shop {
  rpc Get (Item) returns (Item) {
    option (steadfast.policy) = { breaker: { throttle: 0.5 } };
  }
  rpc Put (Item) returns (Item) {
    option (steadfast.policy) = { breaker: { throttle: 2.0 failure_ratio: 0.5 } };
  }
}"#,
        ),
    );
    for expected in [
        "svc.proto:8:5: breaker: throttle is the SRE book's K, at least 1, not 0.5",
        "failure_ratio is a breaker's rule; an adaptive throttle (throttle) takes only window beside it",
    ] {
        assert!(message.contains(expected), "{expected}: {message}");
    }
}
