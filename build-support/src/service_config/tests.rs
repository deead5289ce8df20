use super::*;

const FILE: &str = "service_config.json";

fn load(json: &str) -> Result<ServiceConfig, Error> {
    ServiceConfig::parse(json, FILE)
}

fn problems(json: &str) -> String {
    load(json).expect_err(json).to_string()
}

/// A config in the shape Google publishes for its client libraries
/// (Pub/Sub's): several methods per entry, fractional-second durations,
/// no `maxAttempts`, a non-integer multiplier, extra fields such as
/// `waitForReady`, and entries with a timeout but no retries.
const PUBLISHED: &str = r#"{
  "methodConfig": [
    {
      "name": [
        { "service": "example.v1.Publisher", "method": "CreateTopic" },
        { "service": "example.v1.Publisher", "method": "UpdateTopic" }
      ],
      "timeout": "60s",
      "retryPolicy": {
        "initialBackoff": "0.100s",
        "maxBackoff": "60s",
        "backoffMultiplier": 1.3,
        "retryableStatusCodes": ["UNAVAILABLE"]
      }
    },
    {
      "name": [{ "service": "example.v1.Publisher", "method": "Publish" }],
      "timeout": "60s",
      "waitForReady": true,
      "retryPolicy": {
        "initialBackoff": "0.100s",
        "maxBackoff": "60s",
        "backoffMultiplier": 4,
        "retryableStatusCodes": ["ABORTED", "CANCELLED", "DEADLINE_EXCEEDED", "INTERNAL", "RESOURCE_EXHAUSTED", "UNAVAILABLE", "UNKNOWN"]
      }
    },
    {
      "name": [{ "service": "example.v1.Subscriber" }],
      "timeout": "60s"
    }
  ],
  "retryThrottling": { "maxTokens": 10, "tokenRatio": 0.1 }
}"#;

#[test]
fn a_published_client_library_config_loads_unchanged() {
    let config = load(PUBLISHED).unwrap();
    let publish = config.lookup("example.v1.Publisher", "Publish").unwrap();
    assert_eq!(publish.deadline, Some(std::time::Duration::from_secs(60)));
    let retry = publish.retry.as_ref().unwrap();
    assert_eq!(retry.max_attempts, 5);
    assert_eq!(retry.multiplier, Some(4.0));
    assert_eq!(retry.initial, Some(std::time::Duration::from_millis(100)));
    assert_eq!(retry.on.len(), 7);
    assert_eq!(retry.jitter.as_deref(), Some("full"));
    let pull = config.lookup("example.v1.Subscriber", "Pull").unwrap();
    assert!(pull.retry.is_none());
    assert!(config.lookup("example.v1.Other", "Call").is_none());
}

#[test]
fn exact_method_beats_service_beats_global() {
    let config = load(
        r#"{"methodConfig": [
            {"name": [{}], "timeout": "1s"},
            {"name": [{"service": "s.S"}], "timeout": "2s"},
            {"name": [{"service": "s.S", "method": "M"}], "timeout": "3s"}
        ]}"#,
    )
    .unwrap();
    let deadline = |s, m| {
        config
            .lookup(s, m)
            .and_then(|p| p.deadline)
            .map(|d| d.as_secs())
    };
    assert_eq!(deadline("s.S", "M"), Some(3));
    assert_eq!(deadline("s.S", "N"), Some(2));
    assert_eq!(deadline("t.T", "M"), Some(1));
}

#[test]
fn a6_validation_names_the_field() {
    let cases = [
        (
            r#""maxAttempts": 1, "initialBackoff": "1s", "maxBackoff": "2s", "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]"#,
            "retryPolicy.maxAttempts: must be a whole number above 1",
        ),
        (
            r#""maxAttempts": 3, "maxBackoff": "2s", "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]"#,
            "retryPolicy.initialBackoff: required",
        ),
        (
            r#""maxAttempts": 3, "initialBackoff": "0s", "maxBackoff": "2s", "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]"#,
            "retryPolicy.initialBackoff: must be above zero",
        ),
        (
            r#""maxAttempts": 3, "initialBackoff": "1s", "maxBackoff": "2s", "backoffMultiplier": 0, "retryableStatusCodes": ["UNAVAILABLE"]"#,
            "retryPolicy.backoffMultiplier: must be above zero",
        ),
        (
            r#""maxAttempts": 3, "initialBackoff": "1s", "maxBackoff": "2s", "backoffMultiplier": 2, "retryableStatusCodes": []"#,
            "retryPolicy.retryableStatusCodes: required",
        ),
        (
            r#""maxAttempts": 3, "initialBackoff": "1s", "maxBackoff": "2s", "backoffMultiplier": 2, "retryableStatusCodes": ["BUSY"]"#,
            "retryPolicy.retryableStatusCodes[0]: unknown status code \"BUSY\"",
        ),
        (
            r#""maxAttempts": 3, "initialBackoff": "soon", "maxBackoff": "2s", "backoffMultiplier": 2, "retryableStatusCodes": [14]"#,
            "retryPolicy.initialBackoff: expected a number",
        ),
    ];
    for (retry, expected) in cases {
        let json = format!(
            r#"{{"methodConfig": [{{"name": [{{"service": "s.S"}}], "retryPolicy": {{ {retry} }} }}]}}"#
        );
        let message = problems(&json);
        assert!(
            message.contains(&format!("{FILE}: methodConfig[0].{expected}")),
            "{message}\n  should mention: {expected}"
        );
    }
}

#[test]
fn max_attempts_above_five_counts_as_five_and_codes_may_be_numbers() {
    let config = load(
        r#"{"methodConfig": [{"name": [{"service": "s.S"}], "retryPolicy": {
            "maxAttempts": 9, "initialBackoff": "1s", "maxBackoff": "2s",
            "backoffMultiplier": 1, "retryableStatusCodes": [14, "aborted"]}}]}"#,
    )
    .unwrap();
    let retry = config.lookup("s.S", "M").unwrap().retry.clone().unwrap();
    assert_eq!(retry.max_attempts, 5);
    assert_eq!(
        retry.backoff,
        Backoff::Constant,
        "a multiplier of 1 cannot grow"
    );
    assert_eq!(retry.attribute_args(), "max = 5, backoff = \"const\", initial = 1s, max_delay = 2s, jitter = \"full\", on = [Unavailable, Aborted]");
}

#[test]
fn fractions_without_a_leading_zero_are_protobuf_json_durations() {
    // As grpc-go's retry tests and protobuf's JSON write them.
    let config = load(
        r#"{"methodConfig": [{"name": [{"service": "s.S"}], "timeout": ".5s", "retryPolicy": {
            "maxAttempts": 3, "initialBackoff": ".01s", "maxBackoff": ".01s",
            "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}"#,
    )
    .unwrap();
    let method = config.lookup("s.S", "M").unwrap();
    assert_eq!(method.deadline, Some(std::time::Duration::from_millis(500)));
    let retry = method.retry.clone().unwrap();
    assert!(
        retry.attribute_args().contains("initial = 10ms"),
        "{}",
        retry.attribute_args()
    );
    // Still malformed: a lone dot, a sign, two dots.
    for bad in ["\".s\"", "\"-.5s\"", "\"..5s\""] {
        let json = format!(
            r#"{{"methodConfig": [{{"name": [{{"service": "s.S"}}], "timeout": {bad}}}]}}"#
        );
        assert!(problems(&json).contains("timeout"), "{bad}");
    }
}

#[test]
fn malformed_json_says_where() {
    let message = problems("{\n  \"methodConfig\": [\n    {,}\n  ]\n}");
    assert!(message.starts_with(&format!("{FILE}:3:6:")), "{message}");
    assert!(problems(r#"{"methodConfig": {}}"#).contains("expected a list"));
    assert!(
        problems(r#"{"methodConfig": [{"name": [{"method": "M"}]}]}"#)
            .contains("name[0]: a `method` needs its `service`")
    );
}

#[test]
fn unknown_fields_are_errors_and_unapplied_grpc_fields_are_noted() {
    let message = problems(
        r#"{"methodConfig": [{"name": [{"service": "a.A", "metod": "M"}], "timeot": "1s",
            "retryPolicy": {"maxAttempt": 3, "initialBackoff": "1s", "maxBackoff": "1s",
                            "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}],
            "retryThrotling": {}}"#,
    );
    for expected in [
        "service_config.json: unknown field `retryThrotling` (known: methodConfig, retryThrottling)",
        "service_config.json: methodConfig[0]: unknown field `timeot`",
        "service_config.json: methodConfig[0].name[0]: unknown field `metod`",
        "service_config.json: methodConfig[0].retryPolicy: unknown field `maxAttempt`",
    ] {
        assert!(message.contains(expected), "missing {expected:?} in\n{message}");
    }
    let config = load(PUBLISHED).unwrap();
    assert_eq!(
        config.not_applied,
        [
            "service_config.json: methodConfig[0].retryPolicy.maxAttempts: left out, so 5 is assumed (the most gRPC A6 allows)",
            "service_config.json: methodConfig[1].waitForReady: accepted, not applied by steadfast",
            "service_config.json: methodConfig[1].retryPolicy.maxAttempts: left out, so 5 is assumed (the most gRPC A6 allows)",
        ]
    );
}
