use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    FieldsV1, ManagedFieldsEntry, OwnerReference,
};
use serde_json::json;
use shared::api::v1::{CreationPolicy, ExternalSecret, ExternalSecretSpec, ExternalSecretTarget};
use shared::hash::{created_by_label, object_hash_secret_data};

use super::*;

fn es(policy: CreationPolicy) -> ExternalSecret {
    let mut es = ExternalSecret::new(
        "db",
        ExternalSecretSpec {
            target: Some(ExternalSecretTarget {
                creation_policy: Some(policy),
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    es.metadata.namespace = Some("apps".into());
    es.metadata.uid = Some("es-uid".into());
    es.metadata.labels = Some(BTreeMap::from([("team".into(), "a".into())]));
    es
}

fn bytes(entries: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
    entries
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect()
}

fn existing(data: &[(&str, &str)], owned_by_us: &[&str]) -> Secret {
    let mut s = Secret::default();
    s.metadata.name = Some("db".into());
    s.metadata.namespace = Some("apps".into());
    s.metadata.uid = Some("s-uid".into());
    s.metadata.resource_version = Some("7".into());
    s.data = Some(
        bytes(data)
            .into_iter()
            .map(|(k, v)| (k, ByteString(v)))
            .collect(),
    );
    let fields: serde_json::Map<String, serde_json::Value> = owned_by_us
        .iter()
        .map(|k| (format!("f:{k}"), json!({})))
        .collect();
    s.metadata.managed_fields = Some(vec![ManagedFieldsEntry {
        manager: Some("externalsecrets.external-secrets.io/db".into()),
        operation: Some("Update".into()),
        fields_v1: Some(FieldsV1(json!({"f:data": fields}))),
        ..Default::default()
    }]);
    s
}

fn written(plan: Plan) -> Secret {
    match plan {
        Plan::Create(s) | Plan::Update(s) => *s,
        other => panic!("expected a write, got {other:?}"),
    }
}

#[test]
fn owner_creates_a_labelled_owned_secret_with_es_metadata() {
    let e = es(CreationPolicy::Owner);
    let content = TargetContent::untemplated(&e, bytes(&[("user", "admin")]));
    let plan = desired(&e, &content, None).expect("plan");
    assert!(matches!(plan, Plan::Create(_)));
    let s = written(plan);
    let labels = s.metadata.labels.clone().expect("labels");
    assert_eq!(labels.get(LABEL_MANAGED).map(String::as_str), Some("true"));
    assert_eq!(
        labels.get(LABEL_CREATED_BY),
        Some(&created_by_label("apps", "db"))
    );
    assert_eq!(labels.get("team").map(String::as_str), Some("a"));
    let refs = s.metadata.owner_references.clone().expect("owner");
    assert_eq!(refs.len(), 1);
    assert_eq!(
        (refs[0].kind.as_str(), refs[0].uid.as_str()),
        ("ExternalSecret", "es-uid")
    );
    assert_eq!(refs[0].controller, Some(true));
    assert_eq!(
        s.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(ANNOTATION_DATA_HASH)),
        Some(&object_hash_secret_data(&bytes(&[("user", "admin")])))
    );
    assert_eq!(s.metadata.name.as_deref(), Some("db"));
}

#[test]
fn identical_result_needs_no_write() {
    let e = es(CreationPolicy::Owner);
    let content = TargetContent::untemplated(&e, bytes(&[("user", "admin")]));
    let mut first = written(desired(&e, &content, None).expect("plan"));
    first.metadata.uid = Some("s-uid".into());
    first.metadata.resource_version = Some("1".into());
    first.type_ = Some("Opaque".into());
    assert_eq!(desired(&e, &content, Some(&first)), Ok(Plan::Unchanged));
    let changed = TargetContent::untemplated(&e, bytes(&[("user", "root")]));
    let update = written(desired(&e, &changed, Some(&first)).expect("plan"));
    assert_eq!(update.metadata.resource_version.as_deref(), Some("1"));
    assert_eq!(update.type_.as_deref(), Some("Opaque"));
}

#[test]
fn merge_keeps_foreign_keys_and_drops_our_stale_ones() {
    let e = es(CreationPolicy::Merge);
    let content = TargetContent::untemplated(&e, bytes(&[("new", "1")]));
    assert_eq!(desired(&e, &content, None), Ok(Plan::Missing));
    let current = existing(
        &[("foreign", "x"), ("stale", "old"), ("new", "0")],
        &["stale", "new"],
    );
    let s = written(desired(&e, &content, Some(&current)).expect("plan"));
    assert_eq!(secret_data(&s), bytes(&[("foreign", "x"), ("new", "1")]));
    assert!(s.metadata.owner_references.is_none());
    assert!(
        !s.metadata
            .labels
            .as_ref()
            .expect("labels")
            .contains_key(LABEL_CREATED_BY)
    );
}

#[test]
fn merge_does_not_resolve_conflicts_with_foreign_keys() {
    // A key another writer owns is still overwritten by provider data with the same name.
    let e = es(CreationPolicy::Merge);
    let content = TargetContent::untemplated(&e, bytes(&[("shared", "ours")]));
    let current = existing(&[("shared", "theirs")], &[]);
    let s = written(desired(&e, &content, Some(&current)).expect("plan"));
    assert_eq!(secret_data(&s), bytes(&[("shared", "ours")]));
}

#[test]
fn create_or_merge_creates_without_owner_and_merges_when_present() {
    let e = es(CreationPolicy::CreateOrMerge);
    let content = TargetContent::untemplated(&e, bytes(&[("k", "v")]));
    let created = written(desired(&e, &content, None).expect("plan"));
    assert!(created.metadata.owner_references.is_none());
    let current = existing(&[("foreign", "x")], &[]);
    let merged = written(desired(&e, &content, Some(&current)).expect("plan"));
    assert_eq!(secret_data(&merged), bytes(&[("foreign", "x"), ("k", "v")]));
}

#[test]
fn orphan_drops_our_owner_reference_and_created_by_label() {
    let e = es(CreationPolicy::Orphan);
    let content = TargetContent::untemplated(&e, bytes(&[("k", "v")]));
    let mut current = existing(&[("k", "v")], &["k"]);
    current.metadata.owner_references = Some(vec![owner_reference(&e)]);
    current.metadata.labels = Some(BTreeMap::from([(
        LABEL_CREATED_BY.to_string(),
        created_by_label("apps", "db"),
    )]));
    let s = written(desired(&e, &content, Some(&current)).expect("plan"));
    assert!(s.metadata.owner_references.is_none());
    assert!(
        !s.metadata
            .labels
            .as_ref()
            .expect("labels")
            .contains_key(LABEL_CREATED_BY)
    );
}

#[test]
fn creation_policy_none_never_writes() {
    let e = es(CreationPolicy::None);
    let content = TargetContent::untemplated(&e, bytes(&[("k", "v")]));
    assert_eq!(desired(&e, &content, None), Ok(Plan::Skip));
}

fn immutable(mut e: ExternalSecret) -> ExternalSecret {
    if let Some(t) = e.spec.target.as_mut() {
        t.immutable = Some(true);
    }
    e
}

#[test]
fn immutable_freezes_a_pre_existing_secret_with_its_current_data() {
    let e = immutable(es(CreationPolicy::Owner));
    let content = TargetContent::untemplated(&e, bytes(&[("k", "provider")]));
    let current = existing(&[("k", "mine")], &[]);
    let s = written(desired(&e, &content, Some(&current)).expect("plan"));
    assert_eq!(s.immutable, Some(true));
    assert_eq!(secret_data(&s), bytes(&[("k", "mine")]));
    let fresh = written(desired(&e, &content, None).expect("plan"));
    assert_eq!(secret_data(&fresh), bytes(&[("k", "provider")]));
}

#[test]
fn immutable_target_rejects_data_changes_but_accepts_metadata_changes() {
    let e = es(CreationPolicy::Owner);
    let content = TargetContent::untemplated(&e, bytes(&[("k", "new")]));
    let mut current = existing(&[("k", "old")], &["k"]);
    current.immutable = Some(true);
    assert_eq!(
        desired(&e, &content, Some(&current)),
        Err(DesiredError::Immutable)
    );
    let same = TargetContent::untemplated(&e, bytes(&[("k", "old")]));
    let s = written(desired(&e, &same, Some(&current)).expect("metadata-only update"));
    assert_eq!(secret_data(&s), bytes(&[("k", "old")]));
}

#[test]
fn refuses_targets_controlled_by_someone_else() {
    let e = es(CreationPolicy::Owner);
    let content = TargetContent::untemplated(&e, bytes(&[("k", "v")]));
    let mut other_es = existing(&[], &[]);
    other_es.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "external-secrets.io/v1".into(),
        kind: "ExternalSecret".into(),
        name: "other".into(),
        uid: "x".into(),
        controller: Some(true),
        ..Default::default()
    }]);
    assert_eq!(
        desired(&e, &content, Some(&other_es)),
        Err(DesiredError::OwnedByOther)
    );
    let mut deployment = existing(&[], &[]);
    deployment.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        name: "web".into(),
        uid: "y".into(),
        controller: Some(true),
        ..Default::default()
    }]);
    assert!(matches!(
        desired(&e, &content, Some(&deployment)),
        Err(DesiredError::AlreadyOwned(_))
    ));
}

#[test]
fn a_recreated_es_with_the_same_name_takes_over_its_secret() {
    let e = es(CreationPolicy::Owner);
    let content = TargetContent::untemplated(&e, bytes(&[("k", "v")]));
    let mut current = existing(&[("k", "v")], &["k"]);
    let mut old = owner_reference(&e);
    old.uid = "old-uid".into();
    current.metadata.owner_references = Some(vec![old]);
    let s = written(desired(&e, &content, Some(&current)).expect("plan"));
    let refs = s.metadata.owner_references.expect("refs");
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].uid, "es-uid");
}

#[test]
fn outdated_labels_we_wrote_are_removed_foreign_ones_kept() {
    let mut e = es(CreationPolicy::Owner);
    e.metadata.labels = Some(BTreeMap::from([("fresh".into(), "1".into())]));
    let content = TargetContent::untemplated(&e, bytes(&[("k", "v")]));
    let mut current = existing(&[("k", "v")], &["k"]);
    current.metadata.labels = Some(BTreeMap::from([
        ("old".to_string(), "1".to_string()),
        ("theirs".to_string(), "1".to_string()),
    ]));
    if let Some(entries) = current.metadata.managed_fields.as_mut() {
        entries[0].fields_v1 = Some(FieldsV1(json!({
            "f:data": {"f:k": {}},
            "f:metadata": {"f:labels": {"f:old": {}}}
        })));
    }
    let s = written(desired(&e, &content, Some(&current)).expect("plan"));
    let labels = s.metadata.labels.expect("labels");
    assert!(!labels.contains_key("old"));
    assert!(labels.contains_key("theirs"));
    assert!(labels.contains_key("fresh"));
}

#[test]
fn template_type_and_finalizers_apply() {
    let e = es(CreationPolicy::Owner);
    let content = TargetContent {
        data: bytes(&[("tls.crt", "c"), ("tls.key", "k")]),
        secret_type: Some("kubernetes.io/tls".into()),
        finalizers: vec!["example.com/keep".into()],
        ..Default::default()
    };
    let s = written(desired(&e, &content, None).expect("plan"));
    assert_eq!(s.type_.as_deref(), Some("kubernetes.io/tls"));
    assert_eq!(
        s.metadata.finalizers,
        Some(vec!["example.com/keep".to_string()])
    );
}

#[test]
fn finds_secrets_orphaned_by_a_target_rename() {
    let e = es(CreationPolicy::Owner);
    let mut old = existing(&[], &[]);
    old.metadata.name = Some("old-name".into());
    old.metadata.labels = Some(BTreeMap::from([(
        LABEL_CREATED_BY.to_string(),
        created_by_label("apps", "db"),
    )]));
    let mut current = old.clone();
    current.metadata.name = Some("db".into());
    let mut unrelated = old.clone();
    unrelated.metadata.name = Some("x".into());
    unrelated.metadata.labels = Some(BTreeMap::from([(
        LABEL_CREATED_BY.to_string(),
        created_by_label("apps", "other"),
    )]));
    let all = vec![old, current, unrelated];
    let found: Vec<_> = orphaned(&e, &all)
        .into_iter()
        .filter_map(|s| s.metadata.name.as_deref())
        .collect();
    assert_eq!(found, vec!["old-name"]);
}
