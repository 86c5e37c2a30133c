//! Schema building blocks shared by every kind: name/key patterns, opaque objects, int-or-string,
//! label selectors. They are applied with `#[schemars(transform = ...)]` or
//! `#[schemars(schema_with = "...")]` so the generated CRDs constrain values the way ESO's do.

use schemars::{Schema, SchemaGenerator, json_schema};
use serde_json::{Value, json};

/// Kubernetes object names (RFC 1123 subdomain).
pub const DNS_SUBDOMAIN_PATTERN: &str =
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/// Namespace names (RFC 1123 label).
pub const DNS_LABEL_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/// Keys of Secret and ConfigMap data.
pub const SECRET_KEY_PATTERN: &str = r"^[-._a-zA-Z0-9]+$";
/// Cron-like schedules accepted by sync windows.
pub const SCHEDULE_PATTERN: &str = r"^(@(annually|yearly|monthly|weekly|daily|midnight|hourly)|@every [^\s]+.*|[^\s]+( [^\s]+){4})$";

fn constrain(schema: &mut Schema, min: u64, max: Option<u64>, pattern: Option<&str>) {
    schema.insert("minLength".into(), json!(min));
    if let Some(max) = max {
        schema.insert("maxLength".into(), json!(max));
    }
    if let Some(p) = pattern {
        schema.insert("pattern".into(), json!(p));
    }
}

/// A Kubernetes object name: 1..253 characters, RFC 1123 subdomain.
pub fn dns_subdomain(schema: &mut Schema) {
    constrain(schema, 1, Some(253), Some(DNS_SUBDOMAIN_PATTERN));
}

/// A namespace name: 1..63 characters, RFC 1123 label.
pub fn dns_label(schema: &mut Schema) {
    constrain(schema, 1, Some(63), Some(DNS_LABEL_PATTERN));
}

/// A Secret/ConfigMap data key: 1..253 characters of `[-._a-zA-Z0-9]`.
pub fn secret_key(schema: &mut Schema) {
    constrain(schema, 1, Some(253), Some(SECRET_KEY_PATTERN));
}

/// Every item of a string list is a namespace name.
pub fn dns_label_items(schema: &mut Schema) {
    if let Some(Value::Object(items)) = schema.get_mut("items") {
        items.insert("minLength".into(), json!(1));
        items.insert("maxLength".into(), json!(63));
        items.insert("pattern".into(), json!(DNS_LABEL_PATTERN));
    }
}

/// A non-empty string.
pub fn non_empty(schema: &mut Schema) {
    constrain(schema, 1, None, None);
}

/// A sync-window schedule: non-empty, five cron fields or a descriptor.
pub fn schedule(schema: &mut Schema) {
    constrain(schema, 1, None, Some(SCHEDULE_PATTERN));
}

/// Go `int` fields carry no `format` in ESO's CRDs.
pub fn no_format(schema: &mut Schema) {
    schema.remove("format");
}

/// Base64 text carrying raw bytes (Go `[]byte`).
pub fn byte_format(schema: &mut Schema) {
    schema.insert("format".into(), json!("byte"));
}

/// Object or array whose map/list semantics are atomic for server-side apply.
pub fn map_atomic(schema: &mut Schema) {
    schema.insert("x-kubernetes-map-type".into(), json!("atomic"));
}

/// A provider or generator block this operator accepts in the schema but does not implement:
/// any object decodes, the webhook then explains that the backend is unsupported.
pub fn opaque_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

/// Any JSON value (provider-specific metadata, generator state snapshots).
pub fn any_value(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

/// Integer seconds or a Go duration string.
pub fn int_or_string(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "x-kubernetes-int-or-string": true,
    })
}

/// A plain string without an enum constraint (for Rust enums whose CRD field is free text).
pub fn plain_string(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string"})
}

/// A standard Kubernetes label selector, written out here so descriptions stay short and the
/// server-side-apply markers match the upstream type.
pub fn label_selector(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "x-kubernetes-map-type": "atomic",
        "properties": {
            "matchExpressions": {
                "description": "Set-based requirements; all must hold.",
                "type": "array",
                "x-kubernetes-list-type": "atomic",
                "items": {
                    "type": "object",
                    "required": ["key", "operator"],
                    "properties": {
                        "key": {"description": "Label key the requirement applies to.", "type": "string"},
                        "operator": {"description": "One of In, NotIn, Exists, DoesNotExist.", "type": "string"},
                        "values": {
                            "description": "Values for In/NotIn; empty for Exists/DoesNotExist.",
                            "type": "array",
                            "x-kubernetes-list-type": "atomic",
                            "items": {"type": "string"}
                        }
                    }
                }
            },
            "matchLabels": {
                "description": "Exact label matches; all must hold.",
                "type": "object",
                "additionalProperties": {"type": "string"}
            }
        }
    })
}

/// Same as [`label_selector`] for a list of selectors.
pub fn label_selector_list(g: &mut SchemaGenerator) -> Schema {
    let item = label_selector(g);
    json_schema!({"type": "array", "items": item})
}
