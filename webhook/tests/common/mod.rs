//! Helpers shared by the webhook integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use webhook::admission::{AdmissionRequestView, AdmissionRules, Deny, Verdict};
use webhook::{AppState, router};

/// Rules steered by the object's `test/verdict` annotation, so each test picks the behaviour.
#[derive(Debug, Default)]
pub struct TestRules;

fn verdict_of(req: &AdmissionRequestView) -> String {
    req.object
        .as_ref()
        .or(req.old_object.as_ref())
        .and_then(|o| o.pointer("/metadata/annotations/test~1verdict"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

pub const WARNINGS: [&str; 2] = ["first warning", "second with \"quotes\" and unicode \u{e9}"];

impl AdmissionRules for TestRules {
    fn validate(&self, req: &AdmissionRequestView) -> Verdict {
        match verdict_of(req).as_str() {
            "deny" => Verdict::Deny(Deny::forbidden("spec.data must not be empty")),
            "deny-422" => Verdict::Deny(
                Deny::with_code(422, "spec.size is too big")
                    .with_warnings(vec!["consider a smaller size".to_owned()]),
            ),
            "warn" => Verdict::Allow {
                warnings: WARNINGS.iter().map(|w| (*w).to_owned()).collect(),
            },
            "slow" => {
                std::thread::sleep(Duration::from_millis(700));
                Verdict::allow()
            }
            "panic" => panic!("rules bug"),
            _ => Verdict::allow(),
        }
    }

    fn mutate(&self, req: &AdmissionRequestView) -> Result<Vec<json_patch::PatchOperation>, Deny> {
        match verdict_of(req).as_str() {
            "deny" => Err(Deny::forbidden("cannot default this object")),
            "slow" => {
                std::thread::sleep(Duration::from_millis(700));
                Ok(Vec::new())
            }
            "no-patch" => Ok(Vec::new()),
            _ => Ok(serde_json::from_value(json!([
                {"op": "add", "path": "/metadata/labels/mutated-by", "value": "test"}
            ]))
            .expect("static patch")),
        }
    }

    fn convert(
        &self,
        objects: Vec<Value>,
        desired_api_version: &str,
    ) -> Result<Vec<Value>, String> {
        objects
            .into_iter()
            .map(|mut o| {
                if o.pointer("/metadata/annotations/test~1verdict")
                    .and_then(Value::as_str)
                    == Some("unconvertible")
                {
                    return Err("spec.provider.legacy cannot be expressed in v1".to_owned());
                }
                o["apiVersion"] = Value::String(desired_api_version.to_owned());
                Ok(o)
            })
            .collect()
    }
}

pub fn test_state() -> AppState {
    AppState::new(Arc::new(TestRules)).with_conversion(true)
}

/// An AdmissionReview for an object of `kind` with the given `test/verdict` annotation.
pub fn review(uid: &str, group: &str, kind: &str, operation: &str, verdict: &str) -> Value {
    let object = json!({
        "apiVersion": format!("{group}/v1"),
        "kind": kind,
        "metadata": {"name": "sample", "namespace": "team-a", "labels": {"app": "x"}, "annotations": {"test/verdict": verdict}},
        "spec": {}
    });
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": group, "version": "v1", "kind": kind},
            "resource": {"group": group, "version": "v1", "resource": format!("{}s", kind.to_lowercase())},
            "name": "sample",
            "namespace": "team-a",
            "operation": operation,
            "userInfo": {"username": "admin", "groups": ["system:masters"]},
            "object": if operation == "DELETE" { Value::Null } else { object.clone() },
            "oldObject": if operation == "CREATE" { Value::Null } else { object },
            "dryRun": false,
            "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"}
        }
    })
}

/// POSTs `body` to `path` through the router without a socket.
pub async fn post_raw(state: AppState, path: &str, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
    let request = Request::post(path)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .expect("request");
    let response = router(state)
        .oneshot(request)
        .await
        .expect("router is infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    (status, bytes)
}

pub async fn post_json(state: AppState, path: &str, body: &Value) -> (StatusCode, Value) {
    let (status, bytes) = post_raw(state, path, serde_json::to_vec(body).expect("json")).await;
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, value)
}

pub async fn get(state: AppState, path: &str) -> (StatusCode, String) {
    let request = Request::get(path).body(Body::empty()).expect("request");
    let response = router(state)
        .oneshot(request)
        .await
        .expect("router is infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// The recorded apiserver exchanges live beside the repository (never copied into it). Walk up
/// from this crate to find `shared/apiserver-golden`.
pub fn golden_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("ESO_APISERVER_GOLDEN") {
        return PathBuf::from(dir);
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // A clone elsewhere (e.g. a temporary CI checkout) still finds the workplace's copy.
    let fallback = PathBuf::from("/work");
    for ancestor in manifest
        .ancestors()
        .chain(std::iter::once(fallback.as_path()))
    {
        let candidate = ancestor.join("shared").join("apiserver-golden");
        if candidate.join("09-admission-webhooks.json").is_file() {
            return candidate;
        }
    }
    panic!(
        "shared/apiserver-golden/09-admission-webhooks.json not found above {} (expected at {}/../../shared/apiserver-golden; \
         set ESO_APISERVER_GOLDEN to its directory)",
        manifest.display(),
        manifest.display()
    );
}

/// Every AdmissionReview the real apiserver sent to the recording webhook, with its path.
pub fn golden_reviews() -> Vec<(String, Value)> {
    let path = golden_dir().join("09-admission-webhooks.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).expect("golden file is JSON");
    doc["exchanges"]
        .as_array()
        .expect("exchanges array")
        .iter()
        .filter_map(|e| {
            Some((
                e.get("webhook_path")?.as_str()?.to_owned(),
                e.get("observed_by_webhook")?.clone(),
            ))
        })
        .collect()
}
