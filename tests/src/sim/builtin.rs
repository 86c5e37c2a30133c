//! Behaviour specific to built-in kinds: decoding quirks, defaulting, strategy hooks (what the
//! apiserver sets on create/update), validation, and Event version conversion.

use base64::Engine;
use serde_json::{Map, Value, json};

use super::errors::Cause;
use super::registry::{Builtin, ResourceType};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Go's base64 decoder error position for the first illegal byte.
fn base64_error(s: &str) -> Option<String> {
    if B64.decode(s).is_ok() {
        return None;
    }
    let bytes = s.as_bytes();
    for (i, c) in bytes.iter().enumerate() {
        if !(c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/' || *c == b'=') {
            return Some(format!("illegal base64 data at input byte {i}"));
        }
    }
    Some(format!(
        "illegal base64 data at input byte {}",
        bytes.len() - bytes.len() % 4
    ))
}

/// Decode-time checks that turn into `cannot be handled as a <Kind>` errors.
pub fn check_decode(v: &Value, rt: &ResourceType) -> Result<(), String> {
    let bin = match rt.builtin {
        Builtin::Secret => "data",
        Builtin::ConfigMap => "binaryData",
        _ => return Ok(()),
    };
    if let Some(m) = v[bin].as_object() {
        for val in m.values() {
            if let Some(e) = val.as_str().and_then(base64_error) {
                return Err(e);
            }
        }
    }
    Ok(())
}

fn drop_empty(obj: &mut Value, keys: &[&str]) {
    if let Some(m) = obj.as_object_mut() {
        for k in keys {
            let empty = match m.get(*k) {
                Some(Value::Object(o)) => o.is_empty(),
                Some(Value::Array(a)) => a.is_empty(),
                Some(Value::Null) => true,
                _ => false,
            };
            if empty {
                m.remove(*k);
            }
        }
    }
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in ["labels", "annotations", "finalizers", "ownerReferences"] {
            let empty = match meta.get(k) {
                Some(Value::Object(o)) => o.is_empty(),
                Some(Value::Array(a)) => a.is_empty(),
                Some(Value::Null) => true,
                _ => false,
            };
            if empty {
                meta.remove(k);
            }
        }
    }
}

/// Scheme defaulting and version conversion (tracked by managedFields). Returns warnings.
pub fn default_object(
    rt: &ResourceType,
    obj: &mut Value,
    _old: Option<&Value>,
) -> Result<Vec<String>, String> {
    let mut warnings = Vec::new();
    if !obj["metadata"].is_object() {
        obj["metadata"] = json!({});
    }
    if !rt.is_custom() {
        drop_empty(obj, &[]);
    }
    match rt.builtin {
        Builtin::Secret => {
            if let Some(sd) = obj.as_object_mut().and_then(|m| m.remove("stringData"))
                && let Some(sd) = sd.as_object()
            {
                if !obj["data"].is_object() {
                    obj["data"] = json!({});
                }
                for (k, v) in sd {
                    obj["data"][k] = json!(B64.encode(v.as_str().unwrap_or("")));
                }
            }
            if obj["type"].as_str().unwrap_or("").is_empty() {
                obj["type"] = json!("Opaque");
            }
            if obj["type"] == "kubernetes.io/tls"
                && let Some(crt) = obj["data"]["tls.crt"].as_str()
            {
                let raw = B64.decode(crt).unwrap_or_default();
                if !String::from_utf8_lossy(&raw).contains("-----BEGIN") {
                    warnings.push("tls: failed to find any PEM data in certificate input".into());
                }
            }
            drop_empty(obj, &["data"]);
        }
        Builtin::ConfigMap => drop_empty(obj, &["data", "binaryData"]),
        Builtin::Namespace => {
            let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
            if !name.is_empty() {
                obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
            }
        }
        Builtin::Crd => {
            if !obj["spec"]["conversion"].is_object() {
                obj["spec"]["conversion"] = json!({"strategy": "None"});
            }
            let kind = obj["spec"]["names"]["kind"]
                .as_str()
                .unwrap_or("")
                .to_string();
            if obj["spec"]["names"]["listKind"].is_null() && !kind.is_empty() {
                obj["spec"]["names"]["listKind"] = json!(format!("{kind}List"));
            }
            if obj["spec"]["names"]["singular"].is_null() && !kind.is_empty() {
                obj["spec"]["names"]["singular"] = json!(kind.to_lowercase());
            }
        }
        Builtin::ValidatingWebhooks | Builtin::MutatingWebhooks => {
            let mutating = rt.builtin == Builtin::MutatingWebhooks;
            for w in obj["webhooks"].as_array_mut().into_iter().flatten() {
                for (k, d) in [
                    ("failurePolicy", json!("Fail")),
                    ("matchPolicy", json!("Equivalent")),
                    ("namespaceSelector", json!({})),
                    ("objectSelector", json!({})),
                    ("timeoutSeconds", json!(10)),
                ] {
                    if w.get(k).is_none_or(Value::is_null) {
                        w[k] = d;
                    }
                }
                if mutating && w.get("reinvocationPolicy").is_none_or(Value::is_null) {
                    w["reinvocationPolicy"] = json!("Never");
                }
                for r in w["rules"].as_array_mut().into_iter().flatten() {
                    if r.get("scope").is_none_or(Value::is_null) {
                        r["scope"] = json!("*");
                    }
                }
            }
        }
        _ => {}
    }
    Ok(warnings)
}

fn has_generation(rt: &ResourceType) -> bool {
    matches!(
        rt.builtin,
        Builtin::Custom | Builtin::Crd | Builtin::ValidatingWebhooks | Builtin::MutatingWebhooks
    )
}

/// What the registry strategy sets on create (not tracked in managedFields).
pub fn prepare_create(rt: &ResourceType, obj: &mut Value, now: &str) {
    let meta = &mut obj["metadata"];
    if let Some(m) = meta.as_object_mut() {
        for k in [
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "resourceVersion",
            "uid",
            "selfLink",
        ] {
            m.remove(k);
        }
    }
    meta["creationTimestamp"] = json!(now);
    if has_generation(rt) {
        meta["generation"] = json!(1);
    }
    if rt.has_status
        && let Some(m) = obj.as_object_mut()
    {
        m.remove("status");
    }
    match rt.builtin {
        Builtin::Namespace => {
            obj["spec"] = json!({"finalizers": ["kubernetes"]});
            obj["status"] = json!({"phase": "Active"});
        }
        Builtin::Crd => {
            // The strategy resets the status; the naming and establishing controllers fill it
            // in with their own writes.
            let stored: Vec<Value> = obj["spec"]["versions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|v| v["storage"].as_bool() == Some(true))
                .map(|v| v["name"].clone())
                .collect();
            obj["status"] = json!({"conditions": null, "acceptedNames": {"plural": "", "kind": ""},
                "storedVersions": stored});
        }
        Builtin::CoreEvent => {
            for k in ["eventTime", "firstTimestamp", "lastTimestamp"] {
                if obj.get(k).is_none() {
                    obj[k] = Value::Null;
                }
            }
            for k in ["reportingComponent", "reportingInstance"] {
                if obj.get(k).is_none() {
                    obj[k] = json!("");
                }
            }
            if obj.get("source").is_none() {
                obj["source"] = json!({});
            }
        }
        Builtin::NewEvent => {
            for k in ["deprecatedFirstTimestamp", "deprecatedLastTimestamp"] {
                if obj.get(k).is_none() {
                    obj[k] = Value::Null;
                }
            }
            if obj.get("deprecatedSource").is_none() {
                obj["deprecatedSource"] = json!({});
            }
        }
        _ => {}
    }
}

pub fn prepare_update(rt: &ResourceType, obj: &mut Value, old: &Value) {
    if rt.builtin == Builtin::Namespace {
        obj["spec"] = old["spec"].clone();
        obj["status"] = old["status"].clone();
    }
}

fn is_config_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 253
        && k.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

const CONFIG_KEY: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

pub fn validate(rt: &ResourceType, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut out = Vec::new();
    let immutable = old.is_some_and(|o| o["immutable"] == json!(true));
    match rt.builtin {
        Builtin::Secret | Builtin::ConfigMap => {
            let maps: &[&str] = if rt.builtin == Builtin::Secret {
                &["data"]
            } else {
                &["data", "binaryData"]
            };
            for m in maps {
                for k in obj[*m]
                    .as_object()
                    .map(|o| o.keys().cloned().collect::<Vec<_>>())
                    .unwrap_or_default()
                {
                    if !is_config_key(&k) {
                        out.push(Cause::invalid(&format!("{m}[{k}]"), &json!(k), CONFIG_KEY));
                    }
                }
            }
            if rt.builtin == Builtin::ConfigMap
                && let (Some(d), Some(b)) = (obj["data"].as_object(), obj["binaryData"].as_object())
            {
                for k in d.keys().filter(|k| b.contains_key(*k)) {
                    out.push(Cause::invalid(
                        &format!("data[{k}]"),
                        &json!(k),
                        "duplicate of key present in binaryData",
                    ));
                }
            }
            if rt.builtin == Builtin::Secret && obj["type"] == "kubernetes.io/tls" {
                for k in ["tls.crt", "tls.key"] {
                    if obj["data"].get(k).is_none() {
                        out.push(Cause::required(&format!("data[{k}]"), ""));
                    }
                }
            }
            if immutable && let Some(old) = old {
                if obj["immutable"] != json!(true) {
                    out.push(Cause::forbidden(
                        "immutable",
                        "field is immutable when `immutable` is set",
                    ));
                }
                for m in maps {
                    if obj[*m] != old[*m] {
                        out.push(Cause::forbidden(
                            m,
                            "field is immutable when `immutable` is set",
                        ));
                    }
                }
            }
        }
        Builtin::Lease => {
            let spec = &obj["spec"];
            if let Some(d) = spec["leaseDurationSeconds"].as_i64().filter(|d| *d <= 0) {
                out.push(Cause::invalid(
                    "spec.leaseDurationSeconds",
                    &json!(d),
                    "must be greater than 0",
                ));
            }
            if let Some(t) = spec["leaseTransitions"].as_i64().filter(|t| *t < 0) {
                out.push(Cause::invalid(
                    "spec.leaseTransitions",
                    &json!(t),
                    "must be greater than or equal to 0",
                ));
            }
        }
        Builtin::ValidatingWebhooks | Builtin::MutatingWebhooks => {
            let mutating = rt.builtin == Builtin::MutatingWebhooks;
            out.extend(
                super::admission::config::validate(obj, mutating)
                    .iter()
                    .map(|e| Cause::new(e.kind.reason(), e.field_text(), e.body())),
            );
        }
        Builtin::NewEvent => {
            if obj["eventTime"].is_null() {
                out.push(Cause::required("eventTime", ""));
            }
            let ty = obj["type"].as_str().unwrap_or("");
            if ty != "Normal" && ty != "Warning" {
                out.push(Cause::invalid(
                    "type",
                    &json!(""),
                    &format!("has invalid value: {ty}"),
                ));
            }
        }
        Builtin::Crd => out.extend(super::crd_validation::validate(obj)),
        _ => {}
    }
    out
}

/// The object as served by `rt` (apiVersion/kind, Event conversion between groups).
pub fn present(rt: &ResourceType, mut obj: Value) -> Value {
    let stored_av = obj["apiVersion"].as_str().unwrap_or("").to_string();
    if rt.builtin == Builtin::NewEvent && stored_av == "v1" {
        obj = core_to_new(&obj);
    } else if rt.builtin == Builtin::CoreEvent && stored_av == "events.k8s.io/v1" {
        obj = new_to_core(&obj);
    }
    obj["apiVersion"] = json!(rt.api_version());
    obj["kind"] = json!(rt.kind);
    obj
}

fn rename(src: &Value, pairs: &[(&str, &str)]) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("metadata".into(), src["metadata"].clone());
    for (from, to) in pairs {
        if let Some(v) = src.get(*from) {
            m.insert(to.to_string(), v.clone());
        }
    }
    m
}

fn core_to_new(e: &Value) -> Value {
    let mut m = rename(
        e,
        &[
            ("eventTime", "eventTime"),
            ("series", "series"),
            ("reportingComponent", "reportingController"),
            ("reportingInstance", "reportingInstance"),
            ("action", "action"),
            ("reason", "reason"),
            ("involvedObject", "regarding"),
            ("related", "related"),
            ("message", "note"),
            ("type", "type"),
            ("source", "deprecatedSource"),
            ("firstTimestamp", "deprecatedFirstTimestamp"),
            ("lastTimestamp", "deprecatedLastTimestamp"),
            ("count", "deprecatedCount"),
        ],
    );
    for k in ["reportingController", "reportingInstance"] {
        if m.get(k).is_some_and(|v| v == "") {
            m.remove(k);
        }
    }
    Value::Object(m)
}

fn new_to_core(e: &Value) -> Value {
    let mut m = rename(
        e,
        &[
            ("regarding", "involvedObject"),
            ("reason", "reason"),
            ("note", "message"),
            ("deprecatedSource", "source"),
            ("deprecatedFirstTimestamp", "firstTimestamp"),
            ("deprecatedLastTimestamp", "lastTimestamp"),
            ("deprecatedCount", "count"),
            ("type", "type"),
            ("eventTime", "eventTime"),
            ("series", "series"),
            ("action", "action"),
            ("related", "related"),
            ("reportingController", "reportingComponent"),
            ("reportingInstance", "reportingInstance"),
        ],
    );
    if !m.contains_key("involvedObject") {
        m.insert("involvedObject".into(), json!({}));
    }
    Value::Object(m)
}
