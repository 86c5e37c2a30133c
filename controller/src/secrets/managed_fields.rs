//! Which data keys, labels and annotations of a Secret an ExternalSecret wrote before.
//!
//! ESO writes with plain create/update under one field manager per ExternalSecret and reads key
//! ownership back from `metadata.managedFields` (fieldsV1), so that `Merge`/`CreateOrMerge`
//! can drop keys it wrote earlier without touching keys other writers own.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Secret;
use serde_json::Value;

/// Fields of a Secret owned by one field manager.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Owned {
    /// Keys under `.data`.
    pub data: BTreeSet<String>,
    /// Label keys.
    pub labels: BTreeSet<String>,
    /// Annotation keys.
    pub annotations: BTreeSet<String>,
}

fn field_names(set: Option<&Value>) -> impl Iterator<Item = String> + '_ {
    set.and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.keys())
        .filter_map(|k| k.strip_prefix("f:").map(str::to_string))
}

/// The fields `manager` owns through Update operations (what ESO's own writes record).
pub fn owned_by(secret: &Secret, manager: &str) -> Owned {
    let mut owned = Owned::default();
    let entries = secret
        .metadata
        .managed_fields
        .as_deref()
        .unwrap_or_default();
    for entry in entries {
        if entry.manager.as_deref() != Some(manager) {
            continue;
        }
        if entry.operation.as_deref().is_some_and(|op| op != "Update") {
            continue;
        }
        let Some(fields) = entry.fields_v1.as_ref().map(|f| &f.0) else {
            continue;
        };
        owned.data.extend(field_names(fields.get("f:data")));
        let meta = fields.get("f:metadata");
        owned
            .labels
            .extend(field_names(meta.and_then(|m| m.get("f:labels"))));
        owned
            .annotations
            .extend(field_names(meta.and_then(|m| m.get("f:annotations"))));
    }
    owned
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry};
    use serde_json::json;

    use super::*;

    fn entry(manager: &str, op: &str, fields: Value) -> ManagedFieldsEntry {
        ManagedFieldsEntry {
            manager: Some(manager.into()),
            operation: Some(op.into()),
            fields_type: Some("FieldsV1".into()),
            fields_v1: Some(FieldsV1(fields)),
            ..Default::default()
        }
    }

    #[test]
    fn reads_only_the_given_managers_update_entries() {
        let mut s = Secret::default();
        s.metadata.managed_fields = Some(vec![
            entry(
                "externalsecrets.external-secrets.io/db",
                "Update",
                json!({"f:data": {".": {}, "f:user": {}, "f:pass.word": {}},
                       "f:metadata": {"f:labels": {"f:team": {}}, "f:annotations": {"f:a/b": {}}}}),
            ),
            entry(
                "kubectl-edit",
                "Update",
                json!({"f:data": {"f:foreign": {}}}),
            ),
            entry(
                "externalsecrets.external-secrets.io/db",
                "Apply",
                json!({"f:data": {"f:applied": {}}}),
            ),
        ]);
        let owned = owned_by(&s, "externalsecrets.external-secrets.io/db");
        assert_eq!(
            owned.data,
            BTreeSet::from(["pass.word".to_string(), "user".to_string()])
        );
        assert_eq!(owned.labels, BTreeSet::from(["team".to_string()]));
        assert_eq!(owned.annotations, BTreeSet::from(["a/b".to_string()]));
        assert_eq!(owned_by(&s, "nobody"), Owned::default());
    }
}
