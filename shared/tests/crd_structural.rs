//! Every generated CRD schema must be one the apiserver accepts: structural (a `type` on every
//! node unless int-or-string or preserve-unknown-fields), no `$ref`, no typed or defaulted
//! members inside `anyOf`/`oneOf`/`allOf`/`not`, defaults that satisfy their own node, and a
//! YAML size far below ESO's 690 KB SecretStore CRD.

use serde_json::Value;

const MAX_CRD_BYTES: usize = 256 * 1024;
const COMBINATORS: &[&str] = &["anyOf", "oneOf", "allOf", "not"];
/// Keys the apiserver forbids inside value-validation combinators.
const FORBIDDEN_IN_COMBINATOR: &[&str] = &[
    "type",
    "default",
    "nullable",
    "description",
    "additionalProperties",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-map-type",
    "x-kubernetes-list-type",
];

fn crds_as_json() -> Vec<(String, Value)> {
    shared::api::all_crds()
        .iter()
        .map(|crd| {
            let name = crd.metadata.name.clone().unwrap_or_default();
            (name, serde_json::to_value(crd).expect("CRD serializes"))
        })
        .collect()
}

fn schemas(crd: &Value) -> Vec<(String, &Value)> {
    crd["spec"]["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .map(|v| {
            let name = v["name"].as_str().unwrap_or_default().to_string();
            (name, &v["schema"]["openAPIV3Schema"])
        })
        .collect()
}

fn is_int_or_string(node: &Value) -> bool {
    node.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true))
}

fn preserves_unknown(node: &Value) -> bool {
    node.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
}

fn type_matches(ty: &str, v: &Value) -> bool {
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

/// The apiserver's "value validation" members may only constrain, never declare structure.
fn check_combinator_member(
    member: &Value,
    path: &str,
    int_or_string: bool,
    errs: &mut Vec<String>,
) {
    let Some(obj) = member.as_object() else {
        errs.push(format!("{path}: combinator member is not an object"));
        return;
    };
    for key in FORBIDDEN_IN_COMBINATOR {
        // The documented int-or-string pattern is `anyOf: [{type: integer}, {type: string}]`.
        if *key == "type" && int_or_string {
            continue;
        }
        if obj.contains_key(*key) {
            errs.push(format!("{path}: `{key}` inside a combinator"));
        }
    }
}

fn walk(node: &Value, path: &str, errs: &mut Vec<String>) {
    let Some(obj) = node.as_object() else {
        errs.push(format!("{path}: schema node is not an object"));
        return;
    };
    for key in [
        "$ref",
        "$schema",
        "definitions",
        "$defs",
        "uniqueItems",
        "const",
    ] {
        if obj.contains_key(key) {
            errs.push(format!("{path}: forbidden keyword `{key}`"));
        }
    }
    if !obj.contains_key("type") && !is_int_or_string(node) && !preserves_unknown(node) {
        errs.push(format!("{path}: node without `type`"));
    }
    if obj.contains_key("properties") && obj.contains_key("additionalProperties") {
        errs.push(format!("{path}: both properties and additionalProperties"));
    }
    if obj.get("nullable") == Some(&Value::Bool(true)) && !path.ends_with(".status.refreshTime") {
        errs.push(format!("{path}: unexpected nullable"));
    }
    if let Some(values) = obj.get("enum").and_then(Value::as_array) {
        if values.iter().any(Value::is_null) {
            errs.push(format!("{path}: null in enum"));
        }
        if let Some(ty) = obj.get("type").and_then(Value::as_str)
            && let Some(bad) = values.iter().find(|v| !type_matches(ty, v))
        {
            errs.push(format!("{path}: enum member {bad} is not a {ty}"));
        }
    }
    if let Some(default) = obj.get("default") {
        if let Some(ty) = obj.get("type").and_then(Value::as_str)
            && !type_matches(ty, default)
        {
            errs.push(format!("{path}: default {default} is not a {ty}"));
        }
        if let Some(values) = obj.get("enum").and_then(Value::as_array)
            && !values.contains(default)
        {
            errs.push(format!("{path}: default {default} not in enum"));
        }
    }
    for comb in COMBINATORS {
        let Some(members) = obj.get(*comb) else {
            continue;
        };
        let int_or_string = is_int_or_string(node) && *comb == "anyOf";
        match members {
            Value::Array(list) => {
                for m in list {
                    check_combinator_member(m, &format!("{path}.{comb}"), int_or_string, errs);
                }
            }
            single => check_combinator_member(single, &format!("{path}.{comb}"), false, errs),
        }
        if *comb == "oneOf" || *comb == "allOf" || *comb == "not" {
            errs.push(format!(
                "{path}: `{comb}` is not used by ESO's CRDs and is unexpected here"
            ));
        }
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            walk(v, &format!("{path}.{k}"), errs);
        }
    }
    match obj.get("items") {
        Some(Value::Array(_)) => errs.push(format!("{path}: tuple-typed items")),
        Some(items) => walk(items, &format!("{path}[]"), errs),
        None if obj.get("type") == Some(&Value::from("array")) => {
            errs.push(format!("{path}: array without items"))
        }
        None => {}
    }
    match obj.get("additionalProperties") {
        Some(Value::Object(_)) => walk(&obj["additionalProperties"], &format!("{path}{{}}"), errs),
        Some(Value::Bool(false)) | None => {}
        Some(other) => errs.push(format!("{path}: additionalProperties {other}")),
    }
}

#[test]
fn every_schema_is_structural() {
    let mut errs = Vec::new();
    for (name, crd) in crds_as_json() {
        for (version, schema) in schemas(&crd) {
            walk(schema, &format!("{name}@{version}:"), &mut errs);
            let meta = &schema["properties"]["metadata"];
            if meta.get("properties").is_some() {
                errs.push(format!(
                    "{name}@{version}: metadata may not declare properties"
                ));
            }
        }
    }
    assert!(
        errs.is_empty(),
        "{} problems:\n{}",
        errs.len(),
        errs.join("\n")
    );
}

#[test]
fn structural_check_rejects_untyped_nodes() {
    // Guard against a walker that silently accepts everything.
    let bad = serde_json::json!({
        "type": "object",
        "properties": {
            "a": {"description": "no type"},
            "b": {"type": "string", "anyOf": [{"type": "string"}]},
            "c": {"type": "string", "enum": ["x", null], "default": "y"}
        }
    });
    let mut errs = Vec::new();
    walk(&bad, "", &mut errs);
    assert!(
        errs.iter().any(|e| e.contains(".a: node without `type`")),
        "{errs:?}"
    );
    assert!(
        errs.iter().any(|e| e.contains(".b.anyOf: `type`")),
        "{errs:?}"
    );
    assert!(errs.iter().any(|e| e.contains("null in enum")), "{errs:?}");
    assert!(errs.iter().any(|e| e.contains("not in enum")), "{errs:?}");
}

#[test]
fn every_crd_stays_far_below_the_apply_annotation_limit() {
    for crd in shared::api::all_crds() {
        let yaml = shared::api::crd_to_yaml(&crd).expect("yaml");
        let name = crd.metadata.name.unwrap_or_default();
        assert!(
            yaml.len() < MAX_CRD_BYTES,
            "{name} is {} bytes, limit {MAX_CRD_BYTES}",
            yaml.len()
        );
    }
}

#[test]
fn storage_and_served_versions_are_as_eso_declares_them() {
    for crd in shared::api::all_crds() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        let storage: Vec<&str> = crd
            .spec
            .versions
            .iter()
            .filter(|v| v.storage)
            .map(|v| v.name.as_str())
            .collect();
        assert_eq!(storage.len(), 1, "{name}: exactly one storage version");
        for v in &crd.spec.versions {
            if v.name == "v1beta1" {
                assert!(!v.served, "{name}: v1beta1 must not be served");
                assert_eq!(v.deprecated, Some(true), "{name}: v1beta1 is deprecated");
            } else {
                assert!(v.served && v.storage, "{name}@{} is served storage", v.name);
            }
        }
        let labels = crd.metadata.labels.clone().unwrap_or_default();
        assert_eq!(
            labels
                .get("external-secrets.io/component")
                .map(String::as_str),
            Some("controller"),
            "{name}: component label"
        );
    }
}

#[test]
fn committed_crds_match_the_types() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../crds");
    for crd in shared::api::all_crds() {
        let name = shared::api::crd_file_name(&crd);
        let committed = std::fs::read_to_string(dir.join(&name))
            .unwrap_or_else(|e| panic!("crds/{name}: {e}; run `cargo run -p shared --bin crdgen`"));
        let generated = shared::api::crd_to_yaml(&crd).expect("yaml");
        assert!(
            committed == generated,
            "crds/{name} is stale: run `cargo run -p shared --bin crdgen`"
        );
    }
}
