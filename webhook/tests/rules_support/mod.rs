//! Shared helpers of the rules_* tests: the real EsoRules over in-memory caches, reviews built
//! from real objects, and readers of the router's answer.
#![allow(dead_code)]

use std::sync::Arc;

use base64::Engine;
use k8s_openapi::api::core::v1::Namespace;
use serde_json::{Value, json};
use shared::api::v1::ClusterSecretStore;
use webhook::AppState;
use webhook::rules::{Caches, EsoRules, RulesOptions};

pub const ROLE_ANNOTATION: &str = "iam.amazonaws.com/permitted";

pub fn namespace(name: &str, annotations: Value) -> Namespace {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": name, "annotations": annotations}
    }))
    .expect("namespace")
}

pub fn css(value: Value) -> ClusterSecretStore {
    serde_json::from_value(value).expect("cluster secret store")
}

/// team-a may only assume team-a-* roles; open has no policy.
pub fn default_namespaces() -> Vec<Namespace> {
    vec![
        namespace(
            "team-a",
            json!({ROLE_ANNOTATION: "arn:aws:iam::123456789012:role/team-a-.*"}),
        ),
        namespace("open", json!({})),
    ]
}

pub fn aws_store(kind: &str, name: &str, namespace: Option<&str>, role: &str) -> Value {
    let mut meta = json!({"name": name});
    if let Some(ns) = namespace {
        meta["namespace"] = json!(ns);
    }
    json!({
        "apiVersion": "external-secrets.io/v1", "kind": kind, "metadata": meta,
        "spec": {"provider": {"aws": {"service": "SecretsManager", "region": "eu-west-1", "role": role}}}
    })
}

pub fn rules_with(
    namespaces: Vec<Namespace>,
    stores: Vec<ClusterSecretStore>,
    require_namespace_policy: bool,
) -> EsoRules {
    EsoRules::new(
        RulesOptions {
            require_namespace_policy,
            ..Default::default()
        },
        Caches::from_objects(namespaces, stores),
    )
}

pub fn default_rules() -> EsoRules {
    let shared_bad = css(aws_store(
        "ClusterSecretStore",
        "shared-b",
        None,
        "arn:aws:iam::123456789012:role/team-b-reader",
    ));
    let shared_good = css(aws_store(
        "ClusterSecretStore",
        "shared-a",
        None,
        "arn:aws:iam::123456789012:role/team-a-reader",
    ));
    rules_with(default_namespaces(), vec![shared_bad, shared_good], false)
}

pub fn state(rules: EsoRules) -> AppState {
    AppState::new(Arc::new(rules)).with_conversion(true)
}

fn plural(kind: &str) -> String {
    match kind {
        "UUID" => "uuids".into(),
        k => format!("{}s", k.to_lowercase()),
    }
}

/// An AdmissionReview as the apiserver sends it for `operation` on `object`.
pub fn review_of(uid: &str, operation: &str, object: &Value) -> Value {
    let api_version = object["apiVersion"].as_str().unwrap_or("");
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let kind = object["kind"].as_str().unwrap_or("");
    let gvk = json!({"group": group, "version": version, "kind": kind});
    let gvr = json!({"group": group, "version": version, "resource": plural(kind)});
    let mut request = json!({
        "uid": uid, "kind": gvk, "resource": gvr, "requestKind": gvk, "requestResource": gvr,
        "name": object["metadata"]["name"],
        "operation": operation,
        "userInfo": {"username": "admin", "groups": ["system:masters"]},
        "object": if operation == "DELETE" { Value::Null } else { object.clone() },
        "oldObject": if operation == "CREATE" { Value::Null } else { object.clone() },
        "dryRun": false,
    });
    if let Some(ns) = object["metadata"].get("namespace") {
        request["namespace"] = ns.clone();
    }
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request})
}

/// The decoded JSON patch of a mutating answer (empty when none was sent).
pub fn patch_of(response: &Value) -> Vec<Value> {
    let Some(patch) = response["response"]["patch"].as_str() else {
        assert!(
            response["response"].get("patchType").is_none(),
            "patchType without patch: {response}"
        );
        return Vec::new();
    };
    assert_eq!(response["response"]["patchType"], "JSONPatch");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(patch)
        .expect("patch is standard base64");
    serde_json::from_slice(&bytes).expect("patch is a JSON array")
}

pub fn apply_patch(object: &Value, ops: &[Value]) -> Value {
    let patch: json_patch::Patch =
        serde_json::from_value(Value::Array(ops.to_vec())).expect("RFC 6902 patch");
    let mut out = object.clone();
    json_patch::patch(&mut out, &patch).expect("patch applies");
    out
}
