//! Mutating admission: fill in the defaults so `kubectl get -o yaml` shows the effective
//! configuration.
//!
//! ESO has no mutating webhook; its defaults come from the CRD schema (`default:` values the
//! API server applies while decoding) and from controller fallbacks. Our CRDs carry the same
//! schema defaults, so [`default_patch`] applies exactly the defaults of our generated CRD, the
//! way the API server's structural defaulting does (a missing property gets its default, then
//! defaulting continues inside it), and adds the one controller fallback that has a stable
//! value (ClusterExternalSecret `refreshTime` = 1h). On a real cluster the API server has
//! usually applied the schema defaults already and the patch is empty; offline, or for objects
//! stored before our CRDs, it fills the gaps.
//!
//! The patch is minimal: one `add` per missing field, a missing parent object is added whole
//! in one operation, and paths are RFC 6901 escaped. Defaulting a defaulted object yields an
//! empty patch.

use json_patch::jsonptr::PointerBuf;
use json_patch::{AddOperation, PatchOperation, ReplaceOperation};
use serde_json::{Value, json};

use crate::conversion::schemas::{property, schema_for};

/// Default refresh of a ClusterExternalSecret (ESO's controller uses 1h when unset).
pub const CES_DEFAULT_REFRESH_TIME: &str = "1h0m0s";

/// The JSON patch that fills every default `obj` is missing (empty for unknown kinds).
pub fn default_patch(obj: &Value) -> Vec<PatchOperation> {
    let defaulted = defaulted(obj);
    let mut ops = Vec::new();
    diff(obj, &defaulted, &mut Vec::new(), &mut ops);
    ops
}

/// `obj` with every default applied.
pub fn defaulted(obj: &Value) -> Value {
    let mut out = obj.clone();
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let Some(schema) = schema_for(api_version, kind) else {
        return out;
    };
    if let Value::Object(root) = &mut out {
        for (k, v) in root.iter_mut() {
            if matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                continue;
            }
            if let Some(s) = property(schema, k) {
                apply(v, s);
            }
        }
    }
    if api_version == "external-secrets.io/v1"
        && kind == "ClusterExternalSecret"
        && let Some(Value::Object(spec)) = out.get_mut("spec")
    {
        spec.entry("refreshTime")
            .or_insert_with(|| json!(CES_DEFAULT_REFRESH_TIME));
    }
    out
}

fn apply(v: &mut Value, schema: &Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = schema.get("properties") {
                for (k, prop) in props {
                    let Some(default) = prop.get("default") else {
                        continue;
                    };
                    let nullable = prop.get("nullable").and_then(Value::as_bool) == Some(true);
                    let missing = match map.get(k) {
                        None => true,
                        Some(Value::Null) => !nullable,
                        Some(_) => false,
                    };
                    if missing {
                        map.insert(k.clone(), default.clone());
                    }
                }
            }
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (k, child) in map.iter_mut() {
                if let Some(s) = property(schema, k).or(additional) {
                    apply(child, s);
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for item in items {
                    apply(item, s);
                }
            }
        }
        _ => {}
    }
}

fn pointer(tokens: &[String]) -> PointerBuf {
    PointerBuf::from_tokens(tokens.iter().map(String::as_str))
}

fn diff(orig: &Value, new: &Value, path: &mut Vec<String>, ops: &mut Vec<PatchOperation>) {
    match (orig, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, nv) in b {
                path.push(k.clone());
                match a.get(k) {
                    None => ops.push(PatchOperation::Add(AddOperation {
                        path: pointer(path),
                        value: nv.clone(),
                    })),
                    Some(Value::Null) if !nv.is_null() => {
                        ops.push(PatchOperation::Replace(ReplaceOperation {
                            path: pointer(path),
                            value: nv.clone(),
                        }))
                    }
                    Some(ov) => diff(ov, nv, path, ops),
                }
                path.pop();
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (ov, nv)) in a.iter().zip(b).enumerate() {
                path.push(i.to_string());
                diff(ov, nv, path, ops);
                path.pop();
            }
        }
        _ => {}
    }
}
