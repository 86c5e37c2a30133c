//! The AdmissionReview requests a real kube-apiserver 1.36 sent (recorded in
//! shared/apiserver-golden/09-admission-webhooks.json) parse and get well-formed answers.

mod common;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::{golden_reviews, post_json, test_state};
use serde_json::Value;
use webhook::admission::review::parse_admission_review;
use webhook::server::{MUTATE_PATH, VALIDATE_PATH};

#[test]
fn golden_file_has_the_recorded_reviews() {
    let reviews = golden_reviews();
    // The README promises 35 webhook observations; fewer would mean the fixture moved.
    assert_eq!(reviews.len(), 35, "observed_by_webhook entries");
}

#[test]
fn every_recorded_review_parses_into_the_view_the_rules_get() {
    for (path, raw) in golden_reviews() {
        let body = serde_json::to_vec(&raw).expect("json");
        let parsed = parse_admission_review(&body).unwrap_or_else(|e| panic!("{path}: {e}"));
        let request = &raw["request"];
        let view = &parsed.request;
        assert_eq!(
            parsed.api_version,
            raw["apiVersion"].as_str().unwrap_or_default(),
            "{path}"
        );
        assert_eq!(
            view.uid,
            request["uid"].as_str().unwrap_or_default(),
            "{path}"
        );
        assert_eq!(
            view.operation.as_str(),
            request["operation"].as_str().unwrap_or_default(),
            "{path}"
        );
        assert_eq!(
            view.kind.kind,
            request["kind"]["kind"].as_str().unwrap_or_default(),
            "{path}"
        );
        assert_eq!(
            view.resource.resource,
            request["resource"]["resource"].as_str().unwrap_or_default(),
            "{path}"
        );
        assert_eq!(
            view.namespace.as_deref(),
            request["namespace"].as_str(),
            "{path}"
        );
        assert_eq!(view.name.as_deref(), request["name"].as_str(), "{path}");
        assert_eq!(
            view.sub_resource.as_deref(),
            request["subResource"].as_str(),
            "{path}"
        );
        assert_eq!(
            view.object.is_none(),
            request["object"].is_null(),
            "{path}: object presence"
        );
        assert_eq!(
            view.old_object.is_none(),
            request["oldObject"].is_null(),
            "{path}: oldObject presence"
        );
        assert_eq!(
            view.is_dry_run(),
            request["dryRun"].as_bool().unwrap_or(false),
            "{path}"
        );
        assert_eq!(
            view.user_info.username,
            request["userInfo"]["username"].as_str().unwrap_or_default(),
            "{path}"
        );
        assert_eq!(
            view.options.as_ref(),
            request.get("options").filter(|o| !o.is_null()),
            "{path}"
        );
    }
}

#[test]
fn recordings_cover_every_shape_the_rules_must_handle() {
    let reviews = golden_reviews();
    let views: Vec<_> = reviews
        .iter()
        .map(|(_, raw)| {
            parse_admission_review(&serde_json::to_vec(raw).expect("json"))
                .expect("parses")
                .request
        })
        .collect();
    let has = |f: &dyn Fn(&webhook::AdmissionRequestView) -> bool| views.iter().any(f);
    assert!(has(&|v| v.operation.as_str() == "DELETE"
        && v.object.is_none()
        && v.old_object.is_some()));
    assert!(has(
        &|v| v.operation.as_str() == "UPDATE" && v.old_object.is_some()
    ));
    assert!(has(&|v| v.sub_resource.as_deref() == Some("status")));
    assert!(has(&|v| v.is_dry_run()));
}

#[tokio::test]
async fn every_recorded_review_gets_a_well_formed_answer_with_its_uid() {
    for (recorded_path, raw) in golden_reviews() {
        // The apiserver appends ?timeout=Ns; keep it so the deadline logic sees real queries.
        let query = recorded_path
            .split_once('?')
            .map(|(_, q)| format!("?{q}"))
            .unwrap_or_default();
        let uid = raw["request"]["uid"].as_str().expect("uid").to_owned();
        for route in [VALIDATE_PATH, MUTATE_PATH] {
            let (status, body) = post_json(test_state(), &format!("{route}{query}"), &raw).await;
            assert_eq!(
                status,
                StatusCode::OK,
                "{recorded_path} via {route}: {body}"
            );
            assert_eq!(body["apiVersion"], raw["apiVersion"], "{recorded_path}");
            assert_eq!(body["kind"], "AdmissionReview");
            let response = &body["response"];
            assert_eq!(
                response["uid"],
                Value::String(uid.clone()),
                "{recorded_path} via {route}"
            );
            assert!(response["allowed"].is_boolean(), "{recorded_path}: {body}");
            if let Some(patch) = response.get("patch") {
                assert_eq!(response["patchType"], "JSONPatch");
                let bytes = BASE64
                    .decode(patch.as_str().expect("patch must be a base64 string"))
                    .expect("base64");
                let ops: json_patch::Patch = serde_json::from_slice(&bytes).expect("JSON patch");
                assert!(!ops.0.is_empty());
            }
        }
    }
}
