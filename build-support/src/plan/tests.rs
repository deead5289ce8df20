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

fn err(builder: &Builder, proto: &str) -> String {
    run(builder, proto).expect_err("a build error").to_string()
}

const HEADER: &str = r#"syntax = "proto3";
package shop.v1;
import "resilient/options.proto";
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
            r#"option (resilient.file_policy) = { deadline: "30s" };
service Shop {
  option (resilient.default_policy) = { deadline: "5s" retry: { max_attempts: 2 } };
  rpc Get (Item) returns (Item) {
    option idempotency_level = NO_SIDE_EFFECTS;
    option (resilient.policy) = { deadline: "1s" };
  }
  rpc List (google.protobuf.Empty) returns (Item) { option idempotency_level = IDEMPOTENT; }
}
service Other { rpc Ping (Item) returns (Item.Price); }"#,
        ),
    );
    // Get: its own deadline; the service's retry.
    assert!(code.contains("#[::resilient::deadline(1s)]"), "{code}");
    assert!(
        code.contains("#[::resilient::retry(max = 2, backoff = \"exp\")]"),
        "{code}"
    );
    // List: the service's deadline. Other.Ping: the file's.
    assert!(code.contains("#[::resilient::deadline(5s)]"), "{code}");
    assert!(code.contains("#[::resilient::deadline(30s)]"), "{code}");
    assert!(
        code.contains("request: ()"),
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
    option (resilient.policy) = { retry: { max_attempts: 3 } };
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
    option (resilient.policy) = { retry: { max_attempts: 3 } unsafe_retry: true };
  }
}"#,
        ),
    );
    assert!(code.contains("#[::resilient::retry(max = 3"), "{code}");
}

#[test]
fn inherited_retries_skip_methods_that_are_not_idempotent_with_a_warning() {
    let generated = run(
        &configure(),
        &proto(
            r#"service Shop {
  option (resilient.default_policy) = { retry: { max_attempts: 3 } };
  rpc Buy (Item) returns (Item);
  rpc Get (Item) returns (Item) { option idempotency_level = IDEMPOTENT; }
}"#,
        ),
    )
    .unwrap();
    let code: String = generated.clients.values().cloned().collect();
    assert_eq!(code.matches("#[::resilient::retry(").count(), 1, "{code}");
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
  option (resilient.default_policy) = { deadline: "3s" retry: { max_attempts: 3 } };
  rpc Watch (Item) returns (stream Item) { option idempotency_level = NO_SIDE_EFFECTS; }
  rpc Upload (stream Item) returns (Item) { option idempotency_level = IDEMPOTENT; }
  rpc Chat (stream Item) returns (stream Item) { option idempotency_level = IDEMPOTENT; }
}"#,
        ),
    );
    // Server streaming: retried (until the response starts); streamed requests: deadline only.
    assert_eq!(code.matches("#[::resilient::retry(").count(), 1, "{code}");
    assert_eq!(
        code.matches("#[::resilient::deadline(3s)]").count(),
        3,
        "{code}"
    );
    assert!(
        code.contains("impl tonic::IntoStreamingRequest<Message = Item>"),
        "{code}"
    );
    assert!(code.contains("tonic::codec::Streaming<Item>"), "{code}");
    assert_eq!(
        code.matches("Not retried: a streamed request cannot be replayed.")
            .count(),
        2
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
    option (resilient.policy) = {
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
    option (resilient.policy) = { deadlin: "2s" };
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
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("service_config.json");
    std::fs::write(
        &config,
        r#"{"methodConfig": [
            {"name": [{"service": "shop.v1.Shop", "method": "Get"}], "timeout": "4s",
             "retryPolicy": {"maxAttempts": 4, "initialBackoff": "0.2s", "maxBackoff": "3s",
                             "backoffMultiplier": 1.5, "retryableStatusCodes": ["UNAVAILABLE", "ABORTED"]}},
            {"name": [{}], "timeout": "9s"}
        ]}"#,
    )
    .unwrap();
    let mut builder = configure();
    builder
        .service_config(&config)
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
    assert!(code.contains("#[::resilient::deadline(4s)]"), "{code}");
    assert!(code.contains("max = 4, backoff = \"exp\", initial = 200ms, multiplier = 1.5, max_delay = 3s, jitter = \"full\", on = [Unavailable, Aborted]"), "{code}");
    // List: the config's global deadline, the builder's retry.
    assert!(code.contains("#[::resilient::deadline(9s)]"), "{code}");
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
  option (resilient.default_policy) = { deadline: "2s" };
  rpc Get (Item) returns (Item) {
    option idempotency_level = NO_SIDE_EFFECTS;
    option (resilient.policy) = {
      retry: { max_attempts: 3, backoff: EXPONENTIAL, initial: "100ms", jitter: "0.1", per_attempt: "500ms", on: ["UNAVAILABLE", "RESOURCE_EXHAUSTED"] }
    };
  }
  rpc Put (Item) returns (google.protobuf.Empty);
}"#,
        ),
    );
    insta::assert_snapshot!(code);
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
