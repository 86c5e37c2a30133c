//! The server validates from the object's JSON text (`validate_raw`); it must answer exactly as
//! `validate` on the parsed object does, for every example, broken variants, policy denials,
//! ClusterSecretStore references, deletions in progress, subresources and objects that leave the
//! namespace to the request.

mod rules_support;

use std::path::PathBuf;

use serde_json::value::RawValue;
use serde_json::{Value, json};
use webhook::{AdmissionRequestView, AdmissionRules, Verdict};

use rules_support::*;

fn examples() -> Vec<Value> {
    fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "yaml") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples"),
        &mut files,
    );
    let mut docs = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        let parsed: Vec<Value> = serde_saphyr::from_multiple(&text).expect("yaml");
        docs.extend(parsed.into_iter().filter(|d| d.is_object()));
    }
    docs
}

fn corpus() -> Vec<Value> {
    let mut objects = Vec::new();
    for doc in examples() {
        let mut in_team_a = doc.clone();
        if in_team_a["metadata"]["namespace"].is_string() {
            in_team_a["metadata"]["namespace"] = json!("team-a");
        }
        let mut broken = doc.clone();
        broken["spec"]["target"] = json!({"creationPolicy": "None", "deletionPolicy": "Merge"});
        broken["spec"]["refreshInterval"] = json!("later");
        let mut undecodable = doc.clone();
        undecodable["spec"] = json!(["not", "a", "spec"]);
        let mut no_namespace = in_team_a.clone();
        if let Some(meta) = no_namespace["metadata"].as_object_mut() {
            meta.remove("namespace");
        }
        objects.extend([doc, in_team_a, broken, undecodable, no_namespace]);
    }
    for store in ["shared-a", "shared-b", "missing"] {
        objects.push(json!({
            "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": "es", "namespace": "team-a"},
            "spec": {"secretStoreRef": {"name": store, "kind": "ClusterSecretStore"},
                     "data": [{"secretKey": "k", "remoteRef": {"key": "x"}}]}
        }));
    }
    objects.push(aws_store(
        "SecretStore",
        "other-role",
        Some("team-a"),
        "arn:aws:iam::123456789012:role/team-b-reader",
    ));
    let mut deleting = aws_store(
        "SecretStore",
        "going",
        Some("team-a"),
        "arn:aws:iam::123456789012:role/team-b-reader",
    );
    deleting["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    objects.push(deleting);
    objects.push(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}));
    objects.push(json!({"apiVersion": 3, "kind": "ExternalSecret"}));
    objects
}

fn view(
    object: &Value,
    operation: &str,
    namespace: Option<&str>,
    sub: Option<&str>,
) -> AdmissionRequestView {
    let mut review = review_of("u", operation, object)["request"].clone();
    match namespace {
        Some(ns) => review["namespace"] = json!(ns),
        None => {
            if let Some(r) = review.as_object_mut() {
                r.remove("namespace");
            }
        }
    }
    if let Some(s) = sub {
        review["subResource"] = json!(s);
    }
    serde_json::from_value(review).expect("view")
}

#[test]
fn raw_and_parsed_validation_agree() {
    let mut compared = 0;
    let mut denied = 0;
    for require in [false, true] {
        let rules = {
            let d = default_rules();
            if require {
                rules_with(
                    default_namespaces(),
                    vec![css(aws_store(
                        "ClusterSecretStore",
                        "shared-b",
                        None,
                        "arn:aws:iam::123456789012:role/team-b-reader",
                    ))],
                    true,
                )
            } else {
                d
            }
        };
        for object in corpus() {
            let raw = RawValue::from_string(object.to_string()).expect("raw");
            for operation in ["CREATE", "UPDATE"] {
                for namespace in [Some("team-a"), Some("open"), None] {
                    for sub in [None, Some("status")] {
                        let parsed = view(&object, operation, namespace, sub);
                        let want = rules.validate(&parsed);
                        let mut bare = parsed.clone();
                        bare.object = None;
                        bare.old_object = None;
                        // Rules may always decline the raw path; when they answer, it is the same.
                        if let Some(got) = rules.validate_raw(&bare, &raw) {
                            assert_eq!(
                                got, want,
                                "{operation} ns={namespace:?} sub={sub:?} require={require}: {object}"
                            );
                            compared += 1;
                        }
                        denied += usize::from(matches!(want, Verdict::Deny(_)));
                    }
                }
            }
        }
    }
    assert!(compared > 1000, "compared only {compared}");
    assert!(denied > 200, "the corpus must exercise denials ({denied})");
}
