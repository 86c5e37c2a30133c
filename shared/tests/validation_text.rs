//! `validate_text` (the admission hot path, decoding straight from JSON text) gives exactly the
//! outcome of `validate` on the parsed object, for every example and for broken variants of
//! them: decode errors, missing namespaces, rule violations, duplicate keys, non-objects.

mod yamlfiles;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};
use shared::policy::{KEY_ANNOTATION, NamespacePolicy, ROLE_ANNOTATION};
use shared::validation::{Outcome, ValidationContext, validate, validate_text};
use yamlfiles::yaml_files;

/// The reference: parse, default the namespace as the apiserver does, validate.
fn reference(text: &str, namespace: &str, ctx: &ValidationContext<'_>) -> Option<Outcome> {
    let mut obj: Value = serde_json::from_str(text).ok()?;
    let missing = obj["metadata"]["namespace"]
        .as_str()
        .is_none_or(str::is_empty);
    if !namespace.is_empty()
        && missing
        && let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut)
    {
        meta.insert("namespace".into(), json!(namespace));
    }
    Some(validate(&obj, ctx))
}

fn examples() -> Vec<Value> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    let mut docs = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        let parsed: Vec<Value> = serde_saphyr::from_multiple(&text).expect("yaml");
        docs.extend(parsed.into_iter().filter(|d| {
            d["apiVersion"]
                .as_str()
                .is_some_and(|v| v.contains("external-secrets.io"))
        }));
    }
    docs
}

/// Variants that break each object in a different way.
fn variants(doc: &Value) -> Vec<Value> {
    let mut out = vec![doc.clone()];
    let mut no_ns = doc.clone();
    if let Some(meta) = no_ns["metadata"].as_object_mut() {
        meta.remove("namespace");
    }
    out.push(no_ns);
    let mut bad_spec = doc.clone();
    bad_spec["spec"] = json!(5);
    out.push(bad_spec);
    let mut bad_field = doc.clone();
    bad_field["spec"]["refreshInterval"] = json!("every so often");
    bad_field["spec"]["target"] = json!({"creationPolicy": "Merge", "deletionPolicy": "Delete"});
    out.push(bad_field);
    let mut wrong_type = doc.clone();
    wrong_type["spec"]["data"] = json!([{"secretKey": 7, "remoteRef": {"key": "k"}}]);
    out.push(wrong_type);
    let mut other_keys = doc.clone();
    other_keys["spec"]["data"] = json!([{"secretKey": "k", "remoteRef": {"key": "team-b/db"}}]);
    other_keys["spec"]["provider"] = json!({"aws": {"service": "SecretsManager", "region": "eu-west-1",
                       "role": "arn:aws:iam::123456789012:role/team-b-reader"}});
    out.push(other_keys);
    out
}

#[test]
fn text_and_value_paths_agree() {
    let docs = examples();
    assert!(docs.len() > 20, "only {} example objects", docs.len());
    let annotations = BTreeMap::from([
        (KEY_ANNOTATION.to_owned(), "team-a/.*".to_owned()),
        (
            ROLE_ANNOTATION.to_owned(),
            "arn:aws:iam::123456789012:role/team-a-.*".to_owned(),
        ),
    ]);
    let css: Vec<shared::api::v1::ClusterSecretStore> = docs
        .iter()
        .filter(|d| {
            d["kind"] == "ClusterSecretStore" && d["apiVersion"] == "external-secrets.io/v1"
        })
        .filter_map(|d| serde_json::from_value(d.clone()).ok())
        .collect();
    let lookup = |n: &str| {
        css.iter()
            .find(|c| c.metadata.name.as_deref() == Some(n))
            .cloned()
    };
    let mut texts: Vec<String> = docs
        .iter()
        .flat_map(variants)
        .map(|v| v.to_string())
        .collect();
    // Duplicate keys: the typed decoder refuses them, the Value parser keeps the last one.
    texts.push(
        r#"{"apiVersion":"external-secrets.io/v1","kind":"ExternalSecret","metadata":{"name":"d"},
            "spec":{"data":[{"secretKey":"k","remoteRef":{"key":"team-a/x"}}]},
            "spec":{"target":{"creationPolicy":"None","deletionPolicy":"Merge"}}}"#
            .to_owned(),
    );
    for odd in [
        "[]",
        "5",
        "null",
        r#"{"kind":"ExternalSecret"}"#,
        r#"{"apiVersion":1}"#,
    ] {
        texts.push(odd.to_owned());
    }
    let mut compared = 0;
    let mut denied = 0;
    for require in [false, true] {
        for namespace in ["", "team-a", "unknown"] {
            let ctx = ValidationContext {
                namespace_policy: (namespace == "team-a")
                    .then(|| NamespacePolicy::from_annotations("team-a", &annotations, require)),
                cluster_store_lookup: &lookup,
                require_namespace_policy: require,
                ..ValidationContext::default()
            };
            for text in &texts {
                let Some(want) = reference(text, namespace, &ctx) else {
                    continue;
                };
                let got = validate_text(text, namespace, &ctx);
                assert_eq!(
                    got, want,
                    "namespace {namespace:?}, require {require}: {text}"
                );
                compared += 1;
                denied += usize::from(!want.allowed());
            }
        }
    }
    assert!(compared > 300, "compared {compared}");
    // The corpus exercises denials, not only clean objects.
    assert!(denied > compared / 3, "{denied} of {compared} denied");
}

#[test]
fn unparsable_text_is_one_root_error() {
    let out = validate_text("{", "", &ValidationContext::default());
    assert_eq!(out.errors.len(), 1, "{out:?}");
    assert_eq!(out.errors[0].path, "(root)");
}
