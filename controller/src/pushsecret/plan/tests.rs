use super::*;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

fn spec(yaml: &str) -> PushSecretSpec {
    serde_saphyr::from_str(yaml).unwrap()
}

fn keys(ks: &[&str]) -> BTreeSet<String> {
    ks.iter().map(|k| k.to_string()).collect()
}

fn store(name: &str) -> StoreTarget {
    StoreTarget {
        kind: SecretStoreKind::SecretStore,
        name: name.into(),
        labels: BTreeMap::new(),
    }
}

fn remotes(planned: &[PlannedPush]) -> Vec<(Option<String>, String)> {
    planned
        .iter()
        .map(|p| {
            (
                p.data.match_.secret_key.clone(),
                p.data.match_.remote_ref.status_key(),
            )
        })
        .collect()
}

const BASE: &str = "secretStoreRefs: [{name: s1}]\nselector: {secret: {name: src}}\n";

#[test]
fn explicit_data_goes_to_every_store_unchanged() {
    let s = spec(&format!(
        "{BASE}data:\n- match: {{secretKey: a, remoteRef: {{remoteKey: ra, property: p}}}}\n  metadata: {{x: 1}}\n"
    ));
    let planned = plan_store(&s, &keys(&["a", "b"]), &store("s1")).unwrap();
    assert_eq!(planned.len(), 1);
    assert_eq!(planned[0].data, s.data_items()[0]);
    assert_eq!(planned[0].only_keys, None);
}

#[test]
fn data_to_per_key_with_regexp_and_rewrite_chain() {
    let s = spec(&format!(
        "{BASE}dataTo:\n- storeRef: {{name: s1}}\n  match: {{regexp: '-pokemon$'}}\n  rewrite:\n  - regexp: {{source: '^(.*)-pokemon$', target: 'pokedex/$1'}}\n  - transform: {{template: '{{{{ .value | upper }}}}'}}\n"
    ));
    let planned = plan_store(
        &s,
        &keys(&["best-pokemon", "worst-pokemon", "trainer"]),
        &store("s1"),
    )
    .unwrap();
    assert_eq!(
        remotes(&planned),
        vec![
            (Some("best-pokemon".into()), "POKEDEX/BEST".into()),
            (Some("worst-pokemon".into()), "POKEDEX/WORST".into()),
        ]
    );
}

#[test]
fn data_to_only_targets_its_store() {
    let s = spec(
        "secretStoreRefs: [{name: s1}, {name: s2}]\nselector: {secret: {name: src}}\ndataTo:\n- storeRef: {name: s2}\n",
    );
    assert!(
        plan_store(&s, &keys(&["a"]), &store("s1"))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        remotes(&plan_store(&s, &keys(&["a"]), &store("s2")).unwrap()),
        vec![(Some("a".into()), "a".into())]
    );
}

#[test]
fn data_to_bundle_mode_pushes_matched_keys_whole() {
    let s = spec(&format!(
        "{BASE}dataTo:\n- storeRef: {{name: s1}}\n  remoteKey: bundle\n  match: {{regexp: '^db-'}}\n"
    ));
    let planned = plan_store(&s, &keys(&["db-user", "db-pass", "other"]), &store("s1")).unwrap();
    assert_eq!(remotes(&planned), vec![(None, "bundle".into())]);
    assert_eq!(planned[0].only_keys, Some(keys(&["db-pass", "db-user"])));
}

#[test]
fn explicit_data_wins_over_data_to_for_the_same_source_key() {
    let s = spec(&format!(
        "{BASE}data:\n- match: {{secretKey: a, remoteRef: {{remoteKey: custom-a}}}}\ndataTo:\n- storeRef: {{name: s1}}\n"
    ));
    let planned = plan_store(&s, &keys(&["a", "b"]), &store("s1")).unwrap();
    assert_eq!(
        remotes(&planned),
        vec![
            (Some("a".into()), "custom-a".into()),
            (Some("b".into()), "b".into())
        ]
    );
}

#[test]
fn duplicate_remote_key_is_an_error() {
    let s = spec(&format!(
        "{BASE}data:\n- match: {{secretKey: a, remoteRef: {{remoteKey: b}}}}\ndataTo:\n- storeRef: {{name: s1}}\n"
    ));
    let err = plan_store(&s, &keys(&["a", "b"]), &store("s1")).unwrap_err();
    assert_eq!(
        err,
        PlanError::DuplicateRemoteKey {
            store: "SecretStore/s1".into(),
            remote: "b".into()
        }
    );
    // Same remote key with different properties is fine.
    let s = spec(&format!(
        "{BASE}data:\n- match: {{secretKey: a, remoteRef: {{remoteKey: r, property: a}}}}\n- match: {{secretKey: b, remoteRef: {{remoteKey: r, property: b}}}}\n"
    ));
    assert_eq!(
        plan_store(&s, &keys(&["a", "b"]), &store("s1"))
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn colliding_rewrites_keep_one_key_like_eso() {
    let s = spec(&format!(
        "{BASE}dataTo:\n- storeRef: {{name: s1}}\n  rewrite: [{{regexp: {{source: '.*', target: same}}}}]\n"
    ));
    // Both keys rewrite to "same"; like ESO the rewrite keeps one, so there is no duplicate.
    let planned = plan_store(&s, &keys(&["a", "b"]), &store("s1")).unwrap();
    assert_eq!(planned.len(), 1);
    assert_eq!(planned[0].data.match_.remote_ref.remote_key, "same");
}

#[test]
fn reverse_unicode_applies_before_matching() {
    let s = spec(&format!(
        "{BASE}dataTo:\n- storeRef: {{name: s1}}\n  match: {{regexp: '/'}}\n  conversionStrategy: ReverseUnicode\n"
    ));
    let planned = plan_store(&s, &keys(&["app_U002f_key", "plain"]), &store("s1")).unwrap();
    assert_eq!(
        remotes(&planned),
        vec![(Some("app/key".into()), "app/key".into())]
    );
    assert_eq!(
        planned[0].data.conversion_strategy,
        Some(PushSecretConversionStrategy::ReverseUnicode)
    );
}

#[test]
fn invalid_regexp_is_an_error() {
    let s = spec(&format!(
        "{BASE}dataTo:\n- storeRef: {{name: s1}}\n  match: {{regexp: '('}}\n"
    ));
    assert!(matches!(
        plan_store(&s, &keys(&["a"]), &store("s1")),
        Err(PlanError::InvalidRegexp { index: 0, .. })
    ));
}

#[test]
fn data_to_store_ref_must_be_listed() {
    let s = spec(&format!("{BASE}dataTo:\n- storeRef: {{name: other}}\n"));
    assert_eq!(
        validate_data_to(&s),
        Err(PlanError::DataToStoreNotListed {
            index: 0,
            name: "other".into()
        })
    );
    let s = spec(&format!("{BASE}dataTo:\n- storeRef: {{}}\n"));
    assert_eq!(validate_data_to(&s), Err(PlanError::DataToNoStore(0)));
    let s = spec(&format!("{BASE}dataTo:\n- storeRef: {{name: s1}}\n"));
    assert_eq!(validate_data_to(&s), Ok(()));
}

#[test]
fn data_to_label_selector_must_match_a_resolved_store() {
    let s = spec(&format!(
        "{BASE}dataTo:\n- storeRef: {{labelSelector: {{matchLabels: {{env: prod}}}}}}\n"
    ));
    let mut prod = store("p");
    prod.labels.insert("env".into(), "prod".into());
    assert_eq!(
        check_data_to_selectors(&s, &[store("s1")]),
        Err(PlanError::DataToSelectorNoMatch(0))
    );
    assert_eq!(
        check_data_to_selectors(&s, &[store("s1"), prod.clone()]),
        Ok(())
    );
    assert!(
        plan_store(&s, &keys(&["a"]), &store("s1"))
            .unwrap()
            .is_empty()
    );
    assert_eq!(plan_store(&s, &keys(&["a"]), &prod).unwrap().len(), 1);
    // Kind must agree too.
    let mut cluster = prod.clone();
    cluster.kind = SecretStoreKind::ClusterSecretStore;
    assert_eq!(
        check_data_to_selectors(&s, &[cluster]),
        Err(PlanError::DataToSelectorNoMatch(0))
    );
    let _ = LabelSelector::default();
}

#[test]
fn stale_entries_compare_against_the_union() {
    let entry = |k: &str| PushSecretData {
        match_: PushSecretMatch {
            secret_key: Some(k.into()),
            remote_ref: PushSecretRemoteRef {
                remote_key: k.into(),
                property: None,
            },
        },
        ..Default::default()
    };
    let old: SyncedPushSecretsMap = [(
        "SecretStore/s".to_string(),
        [("a".to_string(), entry("a")), ("b".to_string(), entry("b"))].into(),
    )]
    .into();
    let new: SyncedPushSecretsMap = [(
        "SecretStore/s".to_string(),
        [("a".to_string(), entry("a"))].into(),
    )]
    .into();
    assert_eq!(
        stale_entries(&old, &new),
        vec![("SecretStore/s".to_string(), entry("b"))]
    );
    assert!(stale_entries(&old, &old).is_empty());
}

#[test]
fn store_status_keys_round_trip() {
    let key = store_status_key(SecretStoreKind::ClusterSecretStore, "vault");
    assert_eq!(key, "ClusterSecretStore/vault");
    let r = parse_store_status_key(&key).unwrap();
    assert_eq!(r.name.as_deref(), Some("vault"));
    assert_eq!(r.kind, Some(SecretStoreKind::ClusterSecretStore));
    assert_eq!(parse_store_status_key("Bogus/x"), None);
    assert_eq!(parse_store_status_key("SecretStore/"), None);
}
