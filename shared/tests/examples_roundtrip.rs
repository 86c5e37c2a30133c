//! Every document under `examples/` decodes into the typed struct for its kind and serializes
//! back to the same JSON (nothing lost, nothing added), and satisfies the generated CRD schema.

mod yamlfiles;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, ServiceAccount};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use shared::api::{generators, v1, v1alpha1, v1beta1};
use yamlfiles::yaml_files;

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// (file, document) for every document of every example file.
fn documents() -> Vec<(String, Value)> {
    let mut files = Vec::new();
    yaml_files(&examples_dir(), &mut files);
    assert!(!files.is_empty(), "no examples found");
    let mut docs = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read example");
        let parsed: Vec<Value> =
            serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let name = f
            .strip_prefix(examples_dir())
            .unwrap_or(&f)
            .display()
            .to_string();
        for (i, doc) in parsed.into_iter().enumerate() {
            if !doc.is_null() {
                docs.push((format!("{name}#{i}"), doc));
            }
        }
    }
    docs
}

fn roundtrip<T: DeserializeOwned + Serialize>(doc: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(doc.clone()).map_err(|e| format!("decode: {e}"))?;
    serde_json::to_value(&typed).map_err(|e| format!("encode: {e}"))
}

fn dispatch(doc: &Value) -> Result<Value, String> {
    let api = doc["apiVersion"].as_str().unwrap_or_default();
    let kind = doc["kind"].as_str().unwrap_or_default();
    match (api, kind) {
        ("external-secrets.io/v1", "ExternalSecret") => roundtrip::<v1::ExternalSecret>(doc),
        ("external-secrets.io/v1", "ClusterExternalSecret") => {
            roundtrip::<v1::ClusterExternalSecret>(doc)
        }
        ("external-secrets.io/v1", "SecretStore") => roundtrip::<v1::SecretStore>(doc),
        ("external-secrets.io/v1", "ClusterSecretStore") => {
            roundtrip::<v1::ClusterSecretStore>(doc)
        }
        ("external-secrets.io/v1beta1", "ExternalSecret") => {
            roundtrip::<v1beta1::ExternalSecret>(doc)
        }
        ("external-secrets.io/v1beta1", "SecretStore") => roundtrip::<v1beta1::SecretStore>(doc),
        ("external-secrets.io/v1alpha1", "PushSecret") => roundtrip::<v1alpha1::PushSecret>(doc),
        ("external-secrets.io/v1alpha1", "ClusterPushSecret") => {
            roundtrip::<v1alpha1::ClusterPushSecret>(doc)
        }
        ("generators.external-secrets.io/v1alpha1", "Password") => {
            roundtrip::<generators::Password>(doc)
        }
        ("generators.external-secrets.io/v1alpha1", "UUID") => roundtrip::<generators::UUID>(doc),
        ("generators.external-secrets.io/v1alpha1", "Fake") => roundtrip::<generators::Fake>(doc),
        ("generators.external-secrets.io/v1alpha1", "ClusterGenerator") => {
            roundtrip::<generators::ClusterGenerator>(doc)
        }
        ("generators.external-secrets.io/v1alpha1", "GeneratorState") => {
            roundtrip::<generators::GeneratorState>(doc)
        }
        ("v1", "Namespace") => roundtrip::<Namespace>(doc),
        ("v1", "Secret") => roundtrip::<Secret>(doc),
        ("v1", "ConfigMap") => roundtrip::<ConfigMap>(doc),
        ("v1", "ServiceAccount") => roundtrip::<ServiceAccount>(doc),
        _ => Err(format!("no typed struct for {api} {kind}")),
    }
}

#[test]
fn every_example_roundtrips_through_its_typed_struct() {
    let mut failures = Vec::new();
    for (id, doc) in documents() {
        match dispatch(&doc) {
            Ok(back) if back == doc => {}
            Ok(back) => failures.push(format!("{id}: changed\n  in:  {doc}\n  out: {back}")),
            Err(e) => failures.push(format!("{id}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn roundtrip_detects_unknown_fields() {
    // A misspelt field must not vanish silently: the comparison has to catch it.
    let doc = serde_json::json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": "x"},
        "spec": {"refreshInterval": "1h", "refreshIntervall": "2h"}
    });
    let back = dispatch(&doc).expect("decodes");
    assert_ne!(back, doc);
}

#[test]
fn examples_cover_every_served_kind() {
    let seen: BTreeSet<String> = documents()
        .iter()
        .map(|(_, d)| {
            format!(
                "{}/{}",
                d["apiVersion"].as_str().unwrap_or(""),
                d["kind"].as_str().unwrap_or("")
            )
        })
        .collect();
    for crd in shared::api::all_crds() {
        for v in crd.spec.versions.iter().filter(|v| v.served) {
            let key = format!("{}/{}/{}", crd.spec.group, v.name, crd.spec.names.kind);
            assert!(seen.contains(&key), "no example for {key}");
        }
    }
}

// --- schema validation against the generated CRDs (everything except CEL) ---

fn schema_index() -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for crd in shared::api::all_crds() {
        for v in &crd.spec.versions {
            let schema = v
                .schema
                .as_ref()
                .and_then(|s| s.open_api_v3_schema.as_ref());
            let value = serde_json::to_value(schema).expect("schema");
            out.insert(
                format!("{}/{}/{}", crd.spec.group, v.name, crd.spec.names.kind),
                value,
            );
        }
    }
    out
}

fn type_ok(ty: &str, v: &Value) -> bool {
    match ty {
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        _ => false,
    }
}

fn validate(schema: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
    if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        if !(v.is_string() || v.is_i64() || v.is_u64()) {
            errs.push(format!("{path}: not int-or-string"));
        }
        return;
    }
    if let Some(ty) = schema.get("type").and_then(Value::as_str)
        && !type_ok(ty, v)
    {
        errs.push(format!("{path}: expected {ty}, got {v}"));
        return;
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array)
        && !values.contains(v)
    {
        errs.push(format!("{path}: {v} not in {values:?}"));
    }
    if let Some(s) = v.as_str() {
        let n = s.chars().count() as u64;
        if schema
            .get("minLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| n < m)
        {
            errs.push(format!("{path}: shorter than minLength"));
        }
        if schema
            .get("maxLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| n > m)
        {
            errs.push(format!("{path}: longer than maxLength"));
        }
        if let Some(p) = schema.get("pattern").and_then(Value::as_str) {
            let re = regex::Regex::new(p).expect("pattern compiles");
            if !re.is_match(s) {
                errs.push(format!("{path}: {s:?} does not match {p}"));
            }
        }
    }
    if let Some(items) = v.as_array() {
        if schema
            .get("minItems")
            .and_then(Value::as_u64)
            .is_some_and(|m| (items.len() as u64) < m)
        {
            errs.push(format!("{path}: fewer than minItems"));
        }
        if let Some(s) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                validate(s, item, &format!("{path}[{i}]"), errs);
            }
        }
    }
    if let Some(obj) = v.as_object() {
        let n = obj.len() as u64;
        if schema
            .get("minProperties")
            .and_then(Value::as_u64)
            .is_some_and(|m| n < m)
        {
            errs.push(format!("{path}: fewer than minProperties"));
        }
        if schema
            .get("maxProperties")
            .and_then(Value::as_u64)
            .is_some_and(|m| n > m)
        {
            errs.push(format!("{path}: more than maxProperties"));
        }
        for r in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let r = r.as_str().unwrap_or_default();
            // Defaulted required fields are filled in by the apiserver before validation.
            let defaulted = schema
                .pointer(&format!("/properties/{r}/default"))
                .is_some();
            if !obj.contains_key(r) && !defaulted {
                errs.push(format!("{path}: missing required {r}"));
            }
        }
        let preserve =
            schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
        let props = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties");
        for (k, child) in obj {
            let p = format!("{path}.{k}");
            if let Some(s) = props.and_then(|m| m.get(k)) {
                validate(s, child, &p, errs);
            } else if let Some(s) = additional.filter(|a| a.is_object()) {
                validate(s, child, &p, errs);
            } else if !preserve {
                errs.push(format!("{p}: unknown field (would be pruned)"));
            }
        }
    }
}

#[test]
fn custom_resource_examples_satisfy_the_generated_schemas() {
    let index = schema_index();
    let mut errs = Vec::new();
    for (id, doc) in documents() {
        let api = doc["apiVersion"].as_str().unwrap_or_default();
        let Some((group, version)) = api.split_once('/') else {
            continue;
        };
        let key = format!(
            "{group}/{version}/{}",
            doc["kind"].as_str().unwrap_or_default()
        );
        let Some(schema) = index.get(&key) else {
            continue;
        };
        let mut doc = doc.clone();
        // metadata is validated by the apiserver itself, not by the CRD schema.
        if let Some(obj) = doc.as_object_mut() {
            obj.insert("metadata".into(), serde_json::json!({}));
        }
        validate(schema, &doc, &id, &mut errs);
    }
    assert!(errs.is_empty(), "{}", errs.join("\n"));
}

#[test]
fn schema_validation_rejects_bad_documents() {
    let index = schema_index();
    let schema = &index["external-secrets.io/v1/ExternalSecret"];
    let bad = serde_json::json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": {},
        "spec": {
            "target": {"creationPolicy": "Sometimes", "name": "Not_A_Name"},
            "data": [{"secretKey": "ok", "remoteRef": {}}],
            "dataFrom": [{"rewrite": [{}]}],
            "bogus": true
        }
    });
    let mut errs = Vec::new();
    validate(schema, &bad, "", &mut errs);
    let all = errs.join("\n");
    for needle in [
        "creationPolicy",
        "does not match",
        "missing required key",
        "fewer than minProperties",
        "bogus",
    ] {
        assert!(
            all.contains(needle),
            "expected an error about {needle}:\n{all}"
        );
    }
}
