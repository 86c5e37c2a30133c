//! Which data keys, labels and annotations of a Secret an ExternalSecret wrote before.
//!
//! ESO writes with plain create/update under one field manager per ExternalSecret and reads key
//! ownership back from `metadata.managedFields` (fieldsV1), so that `Merge`/`CreateOrMerge`
//! can drop keys it wrote earlier without touching keys other writers own.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry};
use serde_json::Value;

/// Field managers of ExternalSecrets (`externalsecrets.external-secrets.io/<name>`) start with
/// this.
const ES_MANAGER_PREFIX: &str = "externalsecrets.external-secrets.io/";

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

fn is_update(entry: &ManagedFieldsEntry) -> bool {
    entry.operation.as_deref().is_none_or(|op| op == "Update")
}

/// Adds what one managedFields entry owns to `owned`: from its fieldsV1 tree, or from the list
/// [`compact`] made of it.
fn add_entry(owned: &mut Owned, fields: &Value) {
    if let Some(list) = fields.as_str() {
        for line in list.lines() {
            match line.split_once(':') {
                Some(("d", k)) => owned.data.insert(k.to_string()),
                Some(("l", k)) => owned.labels.insert(k.to_string()),
                Some(("a", k)) => owned.annotations.insert(k.to_string()),
                _ => false,
            };
        }
        return;
    }
    owned.data.extend(field_names(fields.get("f:data")));
    let meta = fields.get("f:metadata");
    owned
        .labels
        .extend(field_names(meta.and_then(|m| m.get("f:labels"))));
    owned
        .annotations
        .extend(field_names(meta.and_then(|m| m.get("f:annotations"))));
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
        if entry.manager.as_deref() != Some(manager) || !is_update(entry) {
            continue;
        }
        if let Some(fields) = entry.fields_v1.as_ref() {
            add_entry(&mut owned, &fields.0);
        }
    }
    owned
}

/// Shrinks a cached Secret's managedFields to what [`owned_by`] reads: the Update entries of
/// ExternalSecret field managers, each with the data keys, labels and annotations it owns
/// listed in one string (`d:<key>`, `l:<key>`, `a:<key>` lines) instead of the fieldsV1 tree.
/// As JSON maps that tree took about 4 KiB per Secret (every non-empty map is a 600-byte B-tree
/// node): 40 MiB of the managed-Secret cache at 10,000 ExternalSecrets. The compact form exists
/// only in this process's cache; writes never send managedFields.
pub fn compact(secret: &mut Secret) {
    let Some(entries) = secret.metadata.managed_fields.take() else {
        return;
    };
    let kept: Vec<ManagedFieldsEntry> = entries
        .into_iter()
        .filter(|e| {
            is_update(e)
                && e.manager
                    .as_deref()
                    .is_some_and(|m| m.starts_with(ES_MANAGER_PREFIX))
        })
        .map(|e| {
            let mut owned = Owned::default();
            if let Some(fields) = &e.fields_v1 {
                add_entry(&mut owned, &fields.0);
            }
            let lines: Vec<String> = [("d", &owned.data), ("l", &owned.labels)]
                .into_iter()
                .chain([("a", &owned.annotations)])
                .flat_map(|(tag, keys)| keys.iter().map(move |k| format!("{tag}:{k}")))
                .collect();
            ManagedFieldsEntry {
                manager: e.manager,
                operation: e.operation,
                fields_v1: Some(FieldsV1(Value::String(lines.join("\n")))),
                ..Default::default()
            }
        })
        .collect();
    secret.metadata.managed_fields = (!kept.is_empty()).then_some(kept);
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

    #[test]
    fn compacted_entries_own_the_same_fields() {
        let db = "externalsecrets.external-secrets.io/db";
        let other = "externalsecrets.external-secrets.io/other";
        let mut s = Secret::default();
        s.metadata.managed_fields = Some(vec![
            entry(
                db,
                "Update",
                json!({"f:data": {".": {}, "f:user": {}, "f:pass.word": {}},
                       "f:metadata": {"f:labels": {".": {}, "f:team": {}},
                                      "f:annotations": {"f:a/b": {}},
                                      "f:ownerReferences": {".": {}, "k:{\"uid\":\"u\"}": {}}},
                       "f:type": {}}),
            ),
            entry(other, "Update", json!({"f:data": {"f:x": {}}})),
            entry(
                "kubectl-edit",
                "Update",
                json!({"f:data": {"f:foreign": {}}}),
            ),
            entry(db, "Apply", json!({"f:data": {"f:applied": {}}})),
        ]);
        let before = (owned_by(&s, db), owned_by(&s, other));
        compact(&mut s);
        let managers: Vec<_> = s
            .metadata
            .managed_fields
            .iter()
            .flatten()
            .map(|e| e.manager.as_deref().unwrap_or_default())
            .collect();
        assert_eq!(
            managers,
            [db, other],
            "only ExternalSecret Update entries stay"
        );
        assert_eq!((owned_by(&s, db), owned_by(&s, other)), before);
        assert_eq!(owned_by(&s, "kubectl-edit"), Owned::default());

        let mut foreign = Secret::default();
        foreign.metadata.managed_fields = Some(vec![entry(
            "kubectl-edit",
            "Update",
            json!({"f:data": {"f:k": {}}}),
        )]);
        compact(&mut foreign);
        assert_eq!(foreign.metadata.managed_fields, None);
    }
}
