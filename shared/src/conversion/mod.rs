//! Conversions between served and deprecated API versions, and from KES manifests.
//!
//! `external-secrets.io/v1` and `v1beta1` of ExternalSecret, ClusterExternalSecret, SecretStore
//! and ClusterSecretStore share one JSON shape except that each version lacks some fields or
//! enum values of the other. [`convert`] therefore works on the JSON: it rewrites `apiVersion`
//! and moves everything the target version's schema (our generated CRD) does not accept into
//! the annotation [`PRESERVED_ANNOTATION`]; converting back restores it. A round trip is
//! lossless in both directions.

mod kes;
pub(crate) mod schemas;

use serde_json::{Map, Value, json};

pub use kes::{KesOptions, from_kes, from_kes_with};

/// Annotation holding the fields the current version cannot represent, as JSON:
/// `{"apiVersion": <version they came from>, "fields": [{"path": <JSON pointer>, "value": ..}]}`.
pub const PRESERVED_ANNOTATION: &str = "external-secrets.io/conversion-preserved-fields";

const CONVERTIBLE_KINDS: &[&str] = &[
    "ExternalSecret",
    "ClusterExternalSecret",
    "SecretStore",
    "ClusterSecretStore",
];
const CONVERTIBLE_VERSIONS: &[&str] = &["external-secrets.io/v1", "external-secrets.io/v1beta1"];

/// Why an object could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConversionError {
    /// The object lacks apiVersion or kind.
    #[error("object has no {0}")]
    Missing(&'static str),
    /// No conversion exists between these versions for this kind.
    #[error("cannot convert {kind} from {from} to {to}: {hint}")]
    Unsupported {
        kind: String,
        from: String,
        to: String,
        hint: String,
    },
    /// A KES manifest cannot be expressed as ESO objects.
    #[error("{path}: {message}")]
    Kes { path: String, message: String },
}

/// Converts `obj` to `to_api_version` (a no-op when it already has that version).
pub fn convert(mut obj: Value, to_api_version: &str) -> Result<Value, ConversionError> {
    let from = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .ok_or(ConversionError::Missing("apiVersion"))?
        .to_string();
    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .ok_or(ConversionError::Missing("kind"))?
        .to_string();
    if from == to_api_version {
        return Ok(obj);
    }
    let unsupported = |hint: &str| ConversionError::Unsupported {
        kind: kind.clone(),
        from: from.clone(),
        to: to_api_version.to_string(),
        hint: hint.to_string(),
    };
    if !CONVERTIBLE_KINDS.contains(&kind.as_str()) {
        return Err(unsupported(
            "only ExternalSecret, ClusterExternalSecret, SecretStore and ClusterSecretStore have \
             more than one version",
        ));
    }
    if !CONVERTIBLE_VERSIONS.contains(&from.as_str())
        || !CONVERTIBLE_VERSIONS.contains(&to_api_version)
    {
        return Err(unsupported(
            "use external-secrets.io/v1 or external-secrets.io/v1beta1",
        ));
    }
    let schema = schemas::schema_for(to_api_version, &kind)
        .ok_or_else(|| unsupported("no schema for the target version"))?;

    restore(&mut obj, to_api_version);
    obj["apiVersion"] = Value::String(to_api_version.to_string());

    let mut removed = Vec::new();
    if let Value::Object(root) = &mut obj {
        let keys: Vec<String> = root.keys().cloned().collect();
        for k in keys {
            if matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                continue;
            }
            let pointer = format!("/{}", escape(&k));
            let keep = match (root.get_mut(&k), schemas::property(schema, &k)) {
                (Some(child), Some(s)) => prune_child(child, s, &pointer, &mut removed),
                _ => false,
            };
            if !keep && let Some(v) = root.remove(&k) {
                removed.push((pointer, v));
            }
        }
    }
    if !removed.is_empty() {
        let fields: Vec<Value> = removed
            .into_iter()
            .map(|(path, value)| json!({"path": path, "value": value}))
            .collect();
        let text = json!({"apiVersion": from, "fields": fields}).to_string();
        set_annotation(&mut obj, PRESERVED_ANNOTATION, text);
    }
    Ok(obj)
}

/// Prunes `child` in place; when it does not fit `schema` at all, records its original value
/// and returns false so the caller removes it.
fn prune_child(
    child: &mut Value,
    schema: &Value,
    pointer: &str,
    removed: &mut Vec<(String, Value)>,
) -> bool {
    let original = child.clone();
    let mut local = Vec::new();
    if prune(child, schema, pointer, &mut local) {
        removed.extend(local);
        true
    } else {
        *child = original;
        false
    }
}

/// Removes what `schema` does not accept. Returns false if `v` itself is not acceptable.
fn prune(v: &mut Value, schema: &Value, pointer: &str, removed: &mut Vec<(String, Value)>) -> bool {
    if schema
        .get("x-kubernetes-int-or-string")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        return v.is_string() || v.is_i64() || v.is_u64();
    }
    let ty = schema.get("type").and_then(Value::as_str);
    if ty.is_none() && schemas::preserves_unknown(schema) {
        return true;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(v)
    {
        return false;
    }
    match (ty, v) {
        (Some("object"), Value::Object(map)) => {
            let props = schema.get("properties");
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            let preserve = schemas::preserves_unknown(schema);
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                let p = format!("{pointer}/{}", escape(&k));
                let child_schema = props.and_then(|ps| ps.get(&k)).or(additional);
                let keep = match (map.get_mut(&k), child_schema) {
                    (Some(child), Some(s)) => prune_child(child, s, &p, removed),
                    (Some(_), None) => preserve,
                    (None, _) => true,
                };
                if !keep && let Some(old) = map.remove(&k) {
                    removed.push((p, old));
                }
            }
            true
        }
        (Some("array"), Value::Array(items)) => {
            let Some(item_schema) = schema.get("items") else {
                return true;
            };
            // Items are never dropped one by one (indexes would shift): an item that does not
            // fit makes the whole list move to the annotation.
            let mut local = Vec::new();
            for (i, item) in items.iter_mut().enumerate() {
                if !prune(item, item_schema, &format!("{pointer}/{i}"), &mut local) {
                    return false;
                }
            }
            removed.extend(local);
            true
        }
        (Some("string"), Value::String(_)) | (Some("boolean"), Value::Bool(_)) => true,
        (Some("integer"), n) => n.is_i64() || n.is_u64(),
        (Some("number"), n) => n.is_number(),
        (None, _) => true,
        _ => false,
    }
}

/// Restores fields preserved when the object was converted away from `to_api_version`.
fn restore(obj: &mut Value, to_api_version: &str) {
    let Some(text) = obj
        .pointer(&format!(
            "/metadata/annotations/{}",
            escape(PRESERVED_ANNOTATION)
        ))
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return;
    };
    let Ok(saved) = serde_json::from_str::<Value>(&text) else {
        return;
    };
    if saved.get("apiVersion").and_then(Value::as_str) != Some(to_api_version) {
        return;
    }
    for f in saved
        .get("fields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(path), Some(value)) = (f.get("path").and_then(Value::as_str), f.get("value")) {
            insert(obj, path, value.clone());
        }
    }
    if let Some(Value::Object(meta)) = obj.get_mut("metadata") {
        let empty = match meta.get_mut("annotations") {
            Some(Value::Object(a)) => {
                a.remove(PRESERVED_ANNOTATION);
                a.is_empty()
            }
            _ => false,
        };
        if empty {
            meta.remove("annotations");
        }
    }
}

/// Sets the value at a JSON pointer, creating missing parent objects.
fn insert(root: &mut Value, pointer: &str, value: Value) {
    let tokens: Vec<String> = pointer.split('/').skip(1).map(unescape).collect();
    let Some((last, parents)) = tokens.split_last() else {
        return;
    };
    let mut cur = root;
    for t in parents {
        cur = match cur {
            Value::Object(m) => m
                .entry(t.clone())
                .or_insert_with(|| Value::Object(Map::new())),
            Value::Array(a) => match t.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                Some(v) => v,
                None => return,
            },
            _ => return,
        };
    }
    if let Value::Object(m) = cur {
        m.insert(last.clone(), value);
    }
}

fn set_annotation(obj: &mut Value, key: &str, text: String) {
    let Value::Object(root) = obj else { return };
    let meta = root.entry("metadata").or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = json!({});
    }
    if let Value::Object(m) = meta {
        let ann = m.entry("annotations").or_insert_with(|| json!({}));
        if !ann.is_object() {
            *ann = json!({});
        }
        if let Value::Object(a) = ann {
            a.insert(key.to_string(), Value::String(text));
        }
    }
}

/// JSON pointer token escaping (RFC 6901).
pub(crate) fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}
