//! Seams for the admission-webhook and CRD-schema machinery, so that they run at the same points of
//! the write pipeline as in kube-apiserver: decode → defaulting/pruning → mutating admission →
//! schema validation → validating admission → storage.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use super::auth::UserInfo;
use super::errors::{ApiError, Cause};
use super::registry::ResourceType;
use super::typeinfo;

pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What an admission plugin gets to see about one write.
#[derive(Clone, Debug)]
pub struct AdmissionAttrs {
    /// CREATE, UPDATE or DELETE.
    pub operation: &'static str,
    pub resource: ResourceType,
    pub sub_resource: String,
    pub namespace: String,
    pub name: String,
    pub old_object: Option<Value>,
    pub dry_run: bool,
    /// CreateOptions / UpdateOptions / DeleteOptions as sent to webhooks.
    pub options: Value,
    pub user: UserInfo,
    /// Labels of the object's namespace (for namespaceSelector).
    pub namespace_labels: Option<Value>,
    /// The webhook configurations stored when the request arrived.
    pub mutating_configs: Vec<Value>,
    pub validating_configs: Vec<Value>,
}

/// Result of an admission pass: warnings to return as `Warning:` headers.
pub type AdmissionResult = Result<Vec<String>, ApiError>;

pub trait Admission: Send + Sync {
    /// Mutating webhooks; may rewrite `object` (None for DELETE).
    fn mutate<'a>(
        &'a self,
        attrs: &'a AdmissionAttrs,
        object: &'a mut Option<Value>,
    ) -> BoxFut<'a, AdmissionResult>;
    /// Validating webhooks.
    fn validate<'a>(
        &'a self,
        attrs: &'a AdmissionAttrs,
        object: &'a Option<Value>,
    ) -> BoxFut<'a, AdmissionResult>;
}

/// Calls no webhooks at all (until the admission module is plugged in).
pub struct NoAdmission;

impl Admission for NoAdmission {
    fn mutate<'a>(
        &'a self,
        _: &'a AdmissionAttrs,
        _: &'a mut Option<Value>,
    ) -> BoxFut<'a, AdmissionResult> {
        Box::pin(async { Ok(vec![]) })
    }
    fn validate<'a>(
        &'a self,
        _: &'a AdmissionAttrs,
        _: &'a Option<Value>,
    ) -> BoxFut<'a, AdmissionResult> {
        Box::pin(async { Ok(vec![]) })
    }
}

/// Structural-schema processing of custom resources.
pub trait SchemaHooks: Send + Sync {
    /// Applies `default`s and prunes unknown fields; returns the pruned paths (for warnings).
    fn default_and_prune(&self, obj: &mut Value, schema: &Value) -> Vec<String>;
    /// Validates against the schema (including CEL rules where supported).
    fn validate(&self, obj: &Value, old: Option<&Value>, schema: &Value) -> Vec<Cause>;
}

/// Pruning and defaulting from the schema's structure only; no value validation.
pub struct BasicSchema;

impl SchemaHooks for BasicSchema {
    fn default_and_prune(&self, obj: &mut Value, schema: &Value) -> Vec<String> {
        let ty = typeinfo::from_openapi(schema, "");
        let mut unknown = Vec::new();
        if let Some(m) = obj.as_object() {
            for (k, v) in m {
                if k == "metadata" {
                    continue;
                }
                let mut one = serde_json::Map::new();
                one.insert(k.clone(), v.clone());
                typeinfo::unknown_fields(&Value::Object(one), &ty, "", &mut unknown);
            }
        }
        let meta = obj.get("metadata").cloned();
        typeinfo::prune(obj, &ty);
        if let (Some(m), Some(o)) = (meta, obj.as_object_mut()) {
            o.insert("metadata".into(), m);
        }
        apply_defaults(obj, schema);
        unknown.sort();
        unknown
    }
    fn validate(&self, _: &Value, _: Option<&Value>, _: &Value) -> Vec<Cause> {
        vec![]
    }
}

/// OpenAPI `default`s: a missing property with a default gets it (and then its own defaults).
pub fn apply_defaults(v: &mut Value, schema: &Value) {
    match v {
        Value::Object(m) => {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (k, ps) in props {
                    if !m.contains_key(k)
                        && let Some(d) = ps.get("default")
                    {
                        m.insert(k.clone(), d.clone());
                    }
                    if let Some(child) = m.get_mut(k) {
                        apply_defaults(child, ps);
                    }
                }
            } else if let Some(ap) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                m.values_mut().for_each(|c| apply_defaults(c, ap));
            }
        }
        Value::Array(a) => {
            if let Some(items) = schema.get("items") {
                a.iter_mut().for_each(|c| apply_defaults(c, items));
            }
        }
        _ => {}
    }
}
