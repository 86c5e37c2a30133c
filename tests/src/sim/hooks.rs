//! Seams for the admission-webhook and CRD-schema machinery, so that they run at the same points of
//! the write pipeline as in kube-apiserver: decode → defaulting/pruning → mutating admission →
//! schema validation → validating admission → storage.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use super::auth::UserInfo;
use super::errors::{ApiError, Cause};
use super::registry::ResourceType;

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

/// The apiextensions-apiserver's structural-schema handling: defaults, pruning, OpenAPI and CEL
/// validation, all from [`super::schema`].
pub struct CrdSchema;

impl SchemaHooks for CrdSchema {
    fn default_and_prune(&self, obj: &mut Value, schema: &Value) -> Vec<String> {
        super::schema::apply_defaults(obj, schema);
        super::schema::prune(obj, schema)
    }
    fn validate(&self, obj: &Value, old: Option<&Value>, schema: &Value) -> Vec<Cause> {
        super::schema::validate_update(obj, old, schema)
            .iter()
            .map(|e| Cause::new(e.kind.reason(), e.field_text(), e.body()))
            .collect()
    }
}
