//! Store resolution from the informer caches: kinds, controller class, ClusterSecretStore
//! namespace conditions, flood gate, and ESO's error messages.

use std::time::Duration;

use controller::stores::{StoreConfig, StoreError, StoreIndex};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::{Value, json};
use shared::api::v1::{ClusterSecretStore, SecretStore, SecretStoreKind, SecretStoreRef};
use tests::sim::Sim;

async fn sim() -> (Sim, Client) {
    let sim = Sim::start().await.unwrap();
    sim.install_crds(&shared::api::all_crds()).await.unwrap();
    let client = sim.client();
    (sim, client)
}

async fn namespace(client: &Client, name: &str, labels: Value) {
    let ns: Namespace = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels}
    }))
    .unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
}

fn fake_spec(extra: Value) -> Value {
    let mut spec = json!({"provider": {"fake": {"data": [{"key": "k", "value": "v"}]}}});
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            s.insert(k.clone(), v.clone());
        }
    }
    spec
}

async fn secret_store(client: &Client, ns: &str, name: &str, spec: Value) {
    let store: SecretStore = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": name, "namespace": ns}, "spec": spec
    }))
    .unwrap();
    Api::<SecretStore>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &store)
        .await
        .unwrap();
}

async fn cluster_store(client: &Client, name: &str, spec: Value) {
    let store: ClusterSecretStore = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
        "metadata": {"name": name}, "spec": spec
    }))
    .unwrap();
    Api::<ClusterSecretStore>::all(client.clone())
        .create(&PostParams::default(), &store)
        .await
        .unwrap();
}

async fn index(client: &Client, cfg: StoreConfig) -> StoreIndex {
    let (index, driver) = StoreIndex::start(client.clone(), &cfg).await;
    tokio::spawn(driver);
    tokio::time::timeout(Duration::from_secs(10), index.wait_ready())
        .await
        .unwrap()
        .unwrap();
    index
}

fn no_gate() -> StoreConfig {
    StoreConfig {
        flood_gate: false,
        ..StoreConfig::default()
    }
}

fn ss(name: &str) -> SecretStoreRef {
    SecretStoreRef {
        name: Some(name.into()),
        kind: None,
    }
}

fn css(name: &str) -> SecretStoreRef {
    SecretStoreRef {
        name: Some(name.into()),
        kind: Some(SecretStoreKind::ClusterSecretStore),
    }
}

/// Resolves until the cache has caught up with objects created just before.
async fn resolve_eventually(
    index: &StoreIndex,
    ns: &str,
    r: &SecretStoreRef,
    done: impl Fn(&Result<controller::stores::ResolvedStore, StoreError>) -> bool,
) -> Result<controller::stores::ResolvedStore, StoreError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let out = index.resolve(ns, r);
        if done(&out) || tokio::time::Instant::now() > deadline {
            return out;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn found(r: &Result<controller::stores::ResolvedStore, StoreError>) -> bool {
    !matches!(r, Err(StoreError::NotFound { .. }))
}

#[tokio::test]
async fn resolves_secret_store_in_the_object_namespace_with_empty_kind() {
    let (_sim, client) = sim().await;
    namespace(&client, "team-a", json!({})).await;
    namespace(&client, "team-b", json!({})).await;
    secret_store(&client, "team-a", "store", fake_spec(json!({}))).await;
    let index = index(&client, no_gate()).await;

    let resolved = resolve_eventually(&index, "team-a", &ss("store"), found)
        .await
        .unwrap();
    assert_eq!(resolved.info.kind, SecretStoreKind::SecretStore);
    assert_eq!(resolved.info.namespace.as_deref(), Some("team-a"));
    assert!(!resolved.info.uid.is_empty());
    assert_eq!(resolved.info.generation, 1);

    // The same name seen from another namespace does not exist there.
    let err = index.resolve("team-b", &ss("store")).err().unwrap();
    assert_eq!(
        err.to_string(),
        "could not get SecretStore \"store\", secretstores.external-secrets.io \"store\" not found"
    );
    let err = index.resolve("team-a", &css("store")).err().unwrap();
    assert_eq!(
        err.to_string(),
        "could not get ClusterSecretStore \"store\", clustersecretstores.external-secrets.io \"store\" not found"
    );
}

#[tokio::test]
async fn store_of_another_controller_class_is_unmanaged_and_skipped() {
    let (_sim, client) = sim().await;
    namespace(&client, "team-a", json!({})).await;
    secret_store(
        &client,
        "team-a",
        "other",
        fake_spec(json!({"controller": "other"})),
    )
    .await;
    secret_store(
        &client,
        "team-a",
        "mine",
        fake_spec(json!({"controller": "default"})),
    )
    .await;
    let index = index(&client, no_gate()).await;

    let err = resolve_eventually(&index, "team-a", &ss("other"), found)
        .await
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::Unmanaged { .. }));
    assert!(err.is_skip());
    assert_eq!(err.to_string(), "can not reference unmanaged store");
    assert!(
        resolve_eventually(&index, "team-a", &ss("mine"), found)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn unsupported_provider_is_reported_by_name() {
    let (_sim, client) = sim().await;
    namespace(&client, "team-a", json!({})).await;
    secret_store(
        &client,
        "team-a",
        "doppler",
        json!({"provider": {"doppler": {"auth": {}}}}),
    )
    .await;
    let index = index(&client, no_gate()).await;
    let err = resolve_eventually(&index, "team-a", &ss("doppler"), found)
        .await
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "provider doppler is not supported by this operator"
    );
}

#[tokio::test]
async fn cluster_store_conditions_allow_namespaces_by_name_label_or_regex() {
    let (_sim, client) = sim().await;
    namespace(&client, "dev", json!({"env": "dev"})).await;
    namespace(&client, "prod", json!({"env": "prod", "tier": "gold"})).await;
    namespace(&client, "team-x-ci", json!({})).await;
    namespace(&client, "other", json!({"env": "qa"})).await;

    cluster_store(&client, "open", fake_spec(json!({}))).await;
    cluster_store(
        &client,
        "by-name",
        fake_spec(json!({"conditions": [{"namespaces": ["dev", "prod"]}]})),
    )
    .await;
    cluster_store(
        &client,
        "by-label",
        fake_spec(json!({"conditions": [{"namespaceSelector": {"matchLabels": {"env": "prod", "tier": "gold"}}}]})),
    )
    .await;
    cluster_store(
        &client,
        "by-expression",
        fake_spec(
            json!({"conditions": [{"namespaceSelector": {"matchExpressions": [
                {"key": "env", "operator": "In", "values": ["dev", "qa"]}
            ]}}]}),
        ),
    )
    .await;
    cluster_store(
        &client,
        "by-regex",
        // Unanchored, like Go's regexp.MatchString.
        fake_spec(json!({"conditions": [{"namespaceRegexes": ["x-c"]}]})),
    )
    .await;
    cluster_store(
        &client,
        "any-of-several",
        fake_spec(json!({"conditions": [
            {"namespaces": ["nope"]},
            {"namespaceSelector": {"matchLabels": {"env": "dev"}}}
        ]})),
    )
    .await;
    cluster_store(
        &client,
        "partial-labels",
        fake_spec(json!({"conditions": [{"namespaceSelector": {"matchLabels": {"env": "prod", "tier": "silver"}}}]})),
    )
    .await;
    cluster_store(
        &client,
        "bad-regex",
        fake_spec(json!({"conditions": [{"namespaceRegexes": ["("]}]})),
    )
    .await;
    let index = index(&client, no_gate()).await;
    // Wait until the last store and namespace are in the caches.
    resolve_eventually(&index, "other", &css("partial-labels"), found)
        .await
        .ok();

    let table = [
        (
            "open",
            ["dev", "prod", "team-x-ci", "other"].as_slice(),
            [].as_slice(),
        ),
        ("by-name", &["dev", "prod"], &["team-x-ci", "other"]),
        ("by-label", &["prod"], &["dev", "team-x-ci", "other"]),
        ("by-expression", &["dev", "other"], &["prod", "team-x-ci"]),
        ("by-regex", &["team-x-ci"], &["dev", "prod", "other"]),
        ("any-of-several", &["dev"], &["prod", "team-x-ci", "other"]),
        (
            "partial-labels",
            &[],
            &["dev", "prod", "team-x-ci", "other"],
        ),
    ];
    for (store, allowed, denied) in table {
        for ns in allowed {
            let out = resolve_eventually(&index, ns, &css(store), found).await;
            assert!(
                out.is_ok(),
                "{store} should be usable from {ns}: {:?}",
                out.err()
            );
        }
        for ns in denied {
            let err = resolve_eventually(&index, ns, &css(store), found)
                .await
                .err()
                .unwrap_or_else(|| panic!("{store} should be denied from {ns}"));
            assert_eq!(
                err.to_string(),
                format!(
                    "using cluster store \"{store}\" is not allowed from namespace \"{ns}\": denied by spec.condition"
                )
            );
        }
    }
    let err = index.resolve("dev", &css("bad-regex")).err().unwrap();
    assert!(matches!(err, StoreError::InvalidCondition(_)), "{err}");
}

#[tokio::test]
async fn cluster_stores_disabled_are_skipped() {
    let (_sim, client) = sim().await;
    cluster_store(&client, "css", fake_spec(json!({}))).await;
    let index = index(
        &client,
        StoreConfig {
            enable_cluster_stores: false,
            ..no_gate()
        },
    )
    .await;
    let err = index.resolve("default", &css("css")).err().unwrap();
    assert!(matches!(err, StoreError::ClusterStoresDisabled { .. }));
    assert!(err.is_skip());
}

#[tokio::test]
async fn flood_gate_rejects_stores_until_ready() {
    let (_sim, client) = sim().await;
    namespace(&client, "team-a", json!({})).await;
    secret_store(&client, "team-a", "store", fake_spec(json!({}))).await;
    cluster_store(&client, "css", fake_spec(json!({}))).await;
    let index = index(&client, StoreConfig::default()).await;

    let err = resolve_eventually(&index, "team-a", &ss("store"), found)
        .await
        .err()
        .unwrap();
    assert_eq!(err.to_string(), "SecretStore \"store\" is not ready");
    let err = resolve_eventually(&index, "team-a", &css("css"), found)
        .await
        .err()
        .unwrap();
    assert_eq!(err.to_string(), "ClusterSecretStore \"css\" is not ready");

    let not_ready = json!({"status": {"conditions": [
        {"type": "Ready", "status": "False", "reason": "InvalidProviderConfig", "message": "unable to validate store"}
    ]}});
    Api::<SecretStore>::namespaced(client.clone(), "team-a")
        .patch_status("store", &PatchParams::default(), &Patch::Merge(&not_ready))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(matches!(
        index.resolve("team-a", &ss("store")),
        Err(StoreError::NotReady { .. })
    ));

    let ready = json!({"status": {"conditions": [
        {"type": "Ready", "status": "True", "reason": "Valid", "message": "store validated"}
    ]}});
    Api::<SecretStore>::namespaced(client.clone(), "team-a")
        .patch_status("store", &PatchParams::default(), &Patch::Merge(&ready))
        .await
        .unwrap();
    let out = resolve_eventually(&index, "team-a", &ss("store"), |r| r.is_ok()).await;
    assert!(out.is_ok(), "{:?}", out.err());
}
