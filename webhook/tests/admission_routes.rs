//! Every route through `router(state).oneshot(..)`: verdicts, wire format, limits, deadline.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::{TestRules, WARNINGS, get, post_json, post_raw, review, test_state};
use serde_json::{Value, json};
use webhook::AppState;
use webhook::server::{
    CLUSTERSECRETSTORE_PATH, CONVERT_PATH, EXTERNALSECRET_PATH, MUTATE_PATH, SECRETSTORE_PATH,
    VALIDATE_PATH,
};

const ESO: &str = "external-secrets.io";

/// The ESO-specific routes and the kind each one validates.
const ESO_ROUTES: [(&str, &str); 3] = [
    (EXTERNALSECRET_PATH, "ExternalSecret"),
    (SECRETSTORE_PATH, "SecretStore"),
    (CLUSTERSECRETSTORE_PATH, "ClusterSecretStore"),
];

/// Posts `review` to `path` of a fresh test server.
async fn fresh(path: &str, review: Value) -> (StatusCode, Value) {
    post_json(test_state(), path, &review).await
}

#[tokio::test]
async fn eso_paths_allow_and_echo_uid() {
    for (path, kind) in ESO_ROUTES {
        let (status, body) = fresh(path, review("uid-allow", ESO, kind, "CREATE", "")).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(body["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(body["kind"], "AdmissionReview");
        assert_eq!(body["response"]["uid"], "uid-allow");
        assert_eq!(body["response"]["allowed"], true);
        assert!(
            body["response"].get("status").is_none(),
            "allowed answers carry no status: {body}"
        );
        assert!(
            body["response"].get("patch").is_none(),
            "validation never patches: {body}"
        );
        assert!(body["response"].get("warnings").is_none());
    }
}

#[tokio::test]
async fn eso_paths_deny_with_forbidden_status() {
    for (path, kind) in ESO_ROUTES {
        let (status, body) = fresh(path, review("uid-deny", ESO, kind, "UPDATE", "deny")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body["response"],
            json!({"uid": "uid-deny", "allowed": false,
                   "status": {"message": "spec.data must not be empty", "reason": "Forbidden", "code": 403}}),
            "{path}"
        );
    }
}

#[tokio::test]
async fn eso_path_refuses_a_kind_it_does_not_validate() {
    let (status, body) = fresh(
        EXTERNALSECRET_PATH,
        review("uid-k", ESO, "SecretStore", "CREATE", ""),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["response"]["allowed"], false);
    assert_eq!(body["response"]["status"]["code"], 400);
    let message = body["response"]["status"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.contains("ExternalSecret") && message.contains("SecretStore"),
        "{message}"
    );
}

#[tokio::test]
async fn validate_passes_warnings_through_verbatim() {
    let (status, body) = fresh(
        VALIDATE_PATH,
        review("uid-w", ESO, "SecretStore", "CREATE", "warn"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["response"]["allowed"], true);
    assert_eq!(body["response"]["warnings"], json!(WARNINGS));
}

#[tokio::test]
async fn generic_validate_dispatches_any_kind_and_denial_keeps_code_and_warnings() {
    let (_, body) = fresh(
        VALIDATE_PATH,
        review("uid-422", "example.test", "Widget", "CREATE", "deny-422"),
    )
    .await;
    assert_eq!(
        body["response"],
        json!({"uid": "uid-422", "allowed": false,
               "status": {"message": "spec.size is too big", "reason": "Invalid", "code": 422},
               "warnings": ["consider a smaller size"]})
    );
}

#[tokio::test]
async fn delete_reviews_with_null_object_are_answered() {
    let (status, body) = fresh(
        VALIDATE_PATH,
        review("uid-del", ESO, "ExternalSecret", "DELETE", "deny"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // The test rules fall back to oldObject, proving the rules saw it while object was null.
    assert_eq!(body["response"]["allowed"], false);
    assert_eq!(body["response"]["uid"], "uid-del");
}

#[tokio::test]
async fn v1beta1_reviews_are_answered_in_v1beta1() {
    let mut req = review("uid-b", ESO, "ExternalSecret", "CREATE", "");
    req["apiVersion"] = json!("admission.k8s.io/v1beta1");
    let (status, body) = post_json(test_state(), EXTERNALSECRET_PATH, &req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["apiVersion"], "admission.k8s.io/v1beta1");
    assert_eq!(body["response"]["uid"], "uid-b");
}

#[tokio::test]
async fn mutating_response_bytes_are_exactly_the_documented_form() {
    let (status, bytes) = post_raw(
        test_state(),
        MUTATE_PATH,
        serde_json::to_vec(&review(
            "7f0c1d2e-aaaa-bbbb-cccc-000000000001",
            ESO,
            "ExternalSecret",
            "CREATE",
            "",
        ))
        .expect("json"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let patch_json = br#"[{"op":"add","path":"/metadata/labels/mutated-by","value":"test"}]"#;
    let expected = format!(
        r#"{{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{{"uid":"7f0c1d2e-aaaa-bbbb-cccc-000000000001","allowed":true,"patch":"{}","patchType":"JSONPatch"}}}}"#,
        BASE64.encode(patch_json)
    );
    assert_eq!(String::from_utf8_lossy(&bytes), expected);
}

#[tokio::test]
async fn mutating_patch_decodes_and_applies_to_the_object() {
    let req = review("uid-m", ESO, "ExternalSecret", "CREATE", "");
    let (_, body) = post_json(test_state(), MUTATE_PATH, &req).await;
    let encoded = body["response"]["patch"]
        .as_str()
        .expect("patch is a base64 string, not an array");
    let patch: json_patch::Patch =
        serde_json::from_slice(&BASE64.decode(encoded).expect("base64")).expect("JSON patch");
    let mut object = req["request"]["object"].clone();
    json_patch::patch(&mut object, &patch).expect("patch applies");
    assert_eq!(
        object["metadata"]["labels"],
        json!({"app": "x", "mutated-by": "test"})
    );
}

#[tokio::test]
async fn mutate_without_changes_sends_no_patch_fields() {
    let (_, body) = fresh(
        MUTATE_PATH,
        review("uid-np", ESO, "ExternalSecret", "CREATE", "no-patch"),
    )
    .await;
    assert_eq!(body["response"], json!({"uid": "uid-np", "allowed": true}));
}

#[tokio::test]
async fn mutate_can_deny() {
    let (_, body) = fresh(
        MUTATE_PATH,
        review("uid-md", ESO, "ExternalSecret", "CREATE", "deny"),
    )
    .await;
    assert_eq!(body["response"]["allowed"], false);
    assert_eq!(body["response"]["status"]["code"], 403);
    assert!(body["response"].get("patch").is_none());
}

#[tokio::test]
async fn malformed_reviews_get_400_with_a_reason() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty body", Vec::new(), "empty"),
        ("not json", b"{not json".to_vec(), "malformed AdmissionReview"),
        ("array", b"[]".to_vec(), "AdmissionReview"),
        (
            "wrong apiVersion",
            serde_json::to_vec(&json!({"apiVersion": "admission.k8s.io/v2", "kind": "AdmissionReview", "request": {}})).expect("json"),
            "unsupported apiVersion",
        ),
        (
            "wrong kind",
            serde_json::to_vec(&json!({"apiVersion": "admission.k8s.io/v1", "kind": "ConversionReview"})).expect("json"),
            "kind must be",
        ),
        (
            "missing request",
            serde_json::to_vec(&json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"})).expect("json"),
            "has no request",
        ),
        (
            "empty uid",
            {
                let mut r = review("", ESO, "ExternalSecret", "CREATE", "");
                r["request"]["uid"] = json!("");
                serde_json::to_vec(&r).expect("json")
            },
            "uid",
        ),
        (
            "unknown operation",
            serde_json::to_vec(&review("u", ESO, "ExternalSecret", "PATCH", "")).expect("json"),
            "malformed AdmissionReview",
        ),
    ];
    for (name, body, reason) in cases {
        for path in [VALIDATE_PATH, MUTATE_PATH, EXTERNALSECRET_PATH] {
            let (status, bytes) = post_raw(test_state(), path, body.clone()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{name} on {path}");
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                text.contains(reason),
                "{name} on {path}: {text:?} lacks {reason:?}"
            );
        }
    }
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let state = test_state().with_max_body_bytes(1024);
    let mut req = review("uid-big", ESO, "ExternalSecret", "CREATE", "");
    req["request"]["object"]["spec"]["padding"] = json!("x".repeat(4096));
    let (status, _) = post_json(state.clone(), VALIDATE_PATH, &req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // A small review on the same limits still works.
    let (status, _) = post_json(
        state,
        VALIDATE_PATH,
        &review("uid-small", ESO, "ExternalSecret", "CREATE", ""),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

// Multi-threaded like `webhook serve`: the deadline fires on a worker the slow rule is not using.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_rules_hit_the_deadline_with_504() {
    let state = test_state().with_request_timeout(Duration::from_millis(100));
    for path in [VALIDATE_PATH, MUTATE_PATH] {
        let (status, body) = post_json(
            state.clone(),
            path,
            &review("uid-slow", ESO, "ExternalSecret", "CREATE", "slow"),
        )
        .await;
        assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{path}: {body}");
    }
}

// Multi-threaded like `webhook serve`: the deadline fires on a worker the slow rule is not using.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apiserver_timeout_query_shortens_the_deadline() {
    let state = test_state().with_request_timeout(Duration::from_secs(30));
    let path = format!("{VALIDATE_PATH}?timeout=100ms");
    let (status, _) = post_json(
        state,
        &path,
        &review("uid-q", ESO, "ExternalSecret", "CREATE", "slow"),
    )
    .await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
}

#[tokio::test]
async fn late_verdicts_are_not_delivered_even_on_a_single_worker() {
    // current_thread: the timer cannot preempt the rule, but its answer is still replaced.
    let state = test_state().with_request_timeout(Duration::from_millis(100));
    let req = review("uid-late", ESO, "ExternalSecret", "CREATE", "slow");
    let (status, _) = post_json(state, VALIDATE_PATH, &req).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
}

#[tokio::test]
async fn panicking_rules_answer_500_and_the_server_keeps_serving() {
    let state = test_state();
    let (status, _) = post_json(
        state.clone(),
        VALIDATE_PATH,
        &review("uid-p", ESO, "ExternalSecret", "CREATE", "panic"),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let (status, _) = post_json(
        state,
        VALIDATE_PATH,
        &review("uid-ok", ESO, "ExternalSecret", "CREATE", ""),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

fn conversion_review(objects: Vec<Value>) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "ConversionReview",
        "request": {"uid": "conv-1", "desiredAPIVersion": "external-secrets.io/v1", "objects": objects}
    })
}

#[tokio::test]
async fn convert_returns_converted_objects_in_order() {
    let objects = vec![
        json!({"apiVersion": "external-secrets.io/v1beta1", "kind": "SecretStore", "metadata": {"name": "a"}}),
        json!({"apiVersion": "external-secrets.io/v1beta1", "kind": "SecretStore", "metadata": {"name": "b"}}),
    ];
    let (status, body) = post_json(test_state(), CONVERT_PATH, &conversion_review(objects)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["apiVersion"], "apiextensions.k8s.io/v1");
    assert_eq!(body["kind"], "ConversionReview");
    assert_eq!(body["response"]["uid"], "conv-1");
    assert_eq!(body["response"]["result"], json!({"status": "Success"}));
    let names: Vec<&str> = body["response"]["convertedObjects"]
        .as_array()
        .expect("array")
        .iter()
        .map(|o| {
            assert_eq!(o["apiVersion"], "external-secrets.io/v1");
            o["metadata"]["name"].as_str().unwrap_or_default()
        })
        .collect();
    assert_eq!(names, ["a", "b"]);
}

#[tokio::test]
async fn convert_failure_is_reported_in_result() {
    let objects = vec![
        json!({"apiVersion": "external-secrets.io/v1beta1", "kind": "SecretStore",
                              "metadata": {"name": "a", "annotations": {"test/verdict": "unconvertible"}}}),
    ];
    let (status, body) = post_json(test_state(), CONVERT_PATH, &conversion_review(objects)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["response"]["result"]["status"], "Failure");
    assert_eq!(
        body["response"]["result"]["message"],
        "spec.provider.legacy cannot be expressed in v1"
    );
    assert_eq!(body["response"]["convertedObjects"], json!([]));
}

#[tokio::test]
async fn convert_rejects_malformed_reviews_and_is_absent_when_disabled() {
    let (status, _) = post_raw(test_state(), CONVERT_PATH, b"{}".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let disabled = AppState::new(Arc::new(TestRules));
    let (status, _) = post_json(disabled, CONVERT_PATH, &conversion_review(Vec::new())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn no_rules_allows_everything_and_refuses_conversion_it_cannot_do() {
    let state = AppState::new(Arc::new(webhook::NoRules)).with_conversion(true);
    let (_, body) = post_json(
        state.clone(),
        VALIDATE_PATH,
        &review("n1", ESO, "ExternalSecret", "CREATE", "deny"),
    )
    .await;
    assert_eq!(body["response"], json!({"uid": "n1", "allowed": true}));
    let (_, body) = post_json(
        state.clone(),
        MUTATE_PATH,
        &review("n2", ESO, "ExternalSecret", "CREATE", ""),
    )
    .await;
    assert_eq!(body["response"], json!({"uid": "n2", "allowed": true}));
    let objects = vec![json!({"apiVersion": "external-secrets.io/v1beta1", "kind": "SecretStore"})];
    let (_, body) = post_json(state, CONVERT_PATH, &conversion_review(objects)).await;
    assert_eq!(body["response"]["result"]["status"], "Failure");
}

#[tokio::test]
async fn readyz_follows_the_registered_flags() {
    let state = test_state();
    let (status, _) = get(state.clone(), "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    // No flags registered: nothing to wait for.
    assert_eq!(get(state.clone(), "/readyz").await.0, StatusCode::OK);
    let cert = state.readiness.register("certificate");
    let reflector = state.readiness.register("secretstores-synced");
    let (status, text) = get(state.clone(), "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        text.contains("certificate") && text.contains("secretstores-synced"),
        "{text}"
    );
    cert.set(true);
    let (status, text) = get(state.clone(), "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        !text.contains("certificate") && text.contains("secretstores-synced"),
        "{text}"
    );
    reflector.set(true);
    assert_eq!(get(state, "/readyz").await.0, StatusCode::OK);
}

#[tokio::test]
async fn metrics_count_requests_denials_and_rejections() {
    let state = test_state();
    post_json(
        state.clone(),
        SECRETSTORE_PATH,
        &review("a", ESO, "SecretStore", "CREATE", ""),
    )
    .await;
    post_json(
        state.clone(),
        SECRETSTORE_PATH,
        &review("b", ESO, "SecretStore", "CREATE", "deny"),
    )
    .await;
    post_raw(state.clone(), VALIDATE_PATH, b"garbage".to_vec()).await;
    let (status, text) = get(state, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let has = |needle: &str| {
        text.lines().any(|l| {
            l.starts_with(needle.split('{').next().unwrap_or(needle)) && l.contains(needle)
        })
    };
    let line_with = |parts: &[&str]| {
        text.lines()
            .find(|l| parts.iter().all(|p| l.contains(p)))
            .map(str::to_owned)
    };
    let allowed = line_with(&[
        "webhook_admission_requests_total",
        "kind=\"SecretStore\"",
        "allowed=\"true\"",
        "operation=\"CREATE\"",
    ]);
    assert!(
        allowed.as_deref().is_some_and(|l| l.ends_with(" 1")),
        "{text}"
    );
    let denied = line_with(&[
        "webhook_admission_denials_total",
        "kind=\"SecretStore\"",
        "reason=\"Forbidden\"",
    ]);
    assert!(
        denied.as_deref().is_some_and(|l| l.ends_with(" 1")),
        "{text}"
    );
    let rejected = line_with(&[
        "webhook_admission_rejected_requests_total",
        "cause=\"malformed\"",
    ]);
    assert!(
        rejected.as_deref().is_some_and(|l| l.ends_with(" 1")),
        "{text}"
    );
    assert!(has("controller_runtime_webhook_requests_total{"), "{text}");
    assert!(text.contains("code=\"400\""), "{text}");
    assert!(
        text.contains("controller_runtime_webhook_latency_seconds_bucket"),
        "histogram with buckets: {text}"
    );
}
