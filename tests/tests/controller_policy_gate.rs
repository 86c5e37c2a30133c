//! The namespace role policy re-checked by the controller (annotations may change after
//! admission, and ClusterSecretStores are shared): a store role the namespace does not permit is
//! never handed to a provider — no client is built — and a SecretStore in such a namespace is
//! Ready=False with reason PolicyViolation.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use controller::provider::fake::FakeProvider;
use controller::provider::{ProviderError, StoreInfo};
use controller::stores::{ClientCache, NamespacePolicies, ResolvedStore, StoreConfig, run};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::PostParams;
use kube::{Api, Client};
use serde_json::{Value, json};
use shared::api::v1::{SecretStore, SecretStoreKind};
use tests::sim::Sim;

const ROLE_ANNOTATION: &str = "iam.amazonaws.com/permitted";

async fn namespace(client: &Client, name: &str, permitted: Option<&str>) {
    let mut annotations = BTreeMap::new();
    if let Some(p) = permitted {
        annotations.insert(ROLE_ANNOTATION, p);
    }
    let n: Namespace =
        serde_json::from_value(json!({"metadata": {"name": name, "annotations": annotations}}))
            .unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &n)
        .await
        .unwrap();
}

/// A store that validates with the fake provider but also names AWS roles (the policy looks at
/// the spec, whatever provider serves it).
fn resolved(kind: SecretStoreKind, role: &str, additional: &[&str]) -> ResolvedStore {
    let spec = serde_json::from_value(json!({"provider": {
        "fake": {"data": [{"key": "k", "value": "v"}]},
        "aws": {"service": "SecretsManager", "region": "eu-west-1", "role": role,
                "additionalRoles": additional}
    }}))
    .unwrap();
    ResolvedStore {
        info: StoreInfo {
            kind,
            name: "shared".into(),
            namespace: (kind == SecretStoreKind::SecretStore).then(|| "team-a".to_string()),
            uid: "uid-1".into(),
            generation: 1,
            spec,
        },
        provider: Arc::new(FakeProvider::new()),
    }
}

const TEAM_A_ROLE: &str = "arn:aws:iam::111122223333:role/team-a-reader";
const ADMIN_ROLE: &str = "arn:aws:iam::111122223333:role/admin";

#[tokio::test]
async fn cluster_store_roles_are_checked_per_object_namespace_before_any_client_exists() {
    let sim = Sim::start().await.unwrap();
    let client = sim.client();
    namespace(
        &client,
        "team-a",
        Some("arn:aws:iam::111122223333:role/team-a-.*"),
    )
    .await;
    namespace(
        &client,
        "team-b",
        Some("arn:aws:iam::111122223333:role/team-b-.*"),
    )
    .await;
    namespace(&client, "open", None).await;
    let cache = ClientCache::new().with_policies(NamespacePolicies::new(client.clone(), false));
    let store = resolved(SecretStoreKind::ClusterSecretStore, TEAM_A_ROLE, &[]);

    assert!(cache.client(&client, &store, "team-a").await.is_ok());
    let denied = cache.client(&client, &store, "team-b").await.err().unwrap();
    let ProviderError::Policy(v) = &denied else {
        panic!("expected a policy violation, got {denied:?}");
    };
    assert_eq!(denied.reason(), "PolicyViolation");
    assert!(v.to_string().contains("team-b"), "{v}");
    assert!(v.to_string().contains(TEAM_A_ROLE), "{v}");
    // Only team-a's client was built; the denied namespace never reached the provider.
    assert_eq!(cache.len(), 1);
    // No annotation and the policy not required: allowed.
    assert!(cache.client(&client, &store, "open").await.is_ok());
    assert_eq!(cache.len(), 2);
}

#[tokio::test]
async fn every_hop_of_a_role_chain_is_checked_and_patterns_are_anchored() {
    let sim = Sim::start().await.unwrap();
    let client = sim.client();
    namespace(
        &client,
        "team-a",
        Some("arn:aws:iam::111122223333:role/team-a-.*"),
    )
    .await;
    let cache = ClientCache::new().with_policies(NamespacePolicies::new(client.clone(), false));
    // A permitted final role behind a forbidden first hop is still denied.
    let chain = resolved(SecretStoreKind::SecretStore, TEAM_A_ROLE, &[ADMIN_ROLE]);
    let err = cache.client(&client, &chain, "team-a").await.err().unwrap();
    assert!(err.to_string().contains(ADMIN_ROLE), "{err}");
    // Unanchored, an exact pattern would match inside these ARNs; anchored it must not.
    namespace(&client, "exact", Some(TEAM_A_ROLE)).await;
    let suffixed = format!("{TEAM_A_ROLE}-admin");
    let prefixed = format!("x{TEAM_A_ROLE}");
    for role in [suffixed.as_str(), prefixed.as_str()] {
        let err = cache
            .client(
                &client,
                &resolved(SecretStoreKind::SecretStore, role, &[]),
                "exact",
            )
            .await
            .err();
        assert!(
            matches!(err, Some(ProviderError::Policy(_))),
            "{role}: {err:?}"
        );
    }
    assert!(cache.is_empty());
}

#[tokio::test]
async fn required_policy_denies_namespaces_without_annotation_and_invalid_patterns_fail_closed() {
    let sim = Sim::start().await.unwrap();
    let client = sim.client();
    namespace(&client, "open", None).await;
    namespace(&client, "broken", Some("arn:aws:iam::(unclosed")).await;
    let store = resolved(SecretStoreKind::ClusterSecretStore, TEAM_A_ROLE, &[]);
    let relaxed = ClientCache::new().with_policies(NamespacePolicies::new(client.clone(), false));
    assert!(relaxed.client(&client, &store, "open").await.is_ok());
    let err = relaxed
        .client(&client, &store, "broken")
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("not a valid regular expression"),
        "{err}"
    );
    let strict = ClientCache::new().with_policies(NamespacePolicies::new(client.clone(), true));
    let err = strict.client(&client, &store, "open").await.err().unwrap();
    assert!(
        err.to_string().contains("--require-namespace-policy"),
        "{err}"
    );
}

async fn store_ready(client: &Client, name: &str) -> (String, String, String) {
    let api = Api::<SecretStore>::namespaced(client.clone(), "team-a");
    for _ in 0..200 {
        let store = api.get(name).await.unwrap();
        if let Some(c) = store
            .status
            .iter()
            .flat_map(|s| s.conditions.iter().flatten())
            .find(|c| c.type_ == "Ready")
        {
            return (
                c.status.clone(),
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default(),
            );
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("store {name} never got a Ready condition");
}

async fn create_store(client: &Client, name: &str, provider: Value) {
    let store: SecretStore = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": name, "namespace": "team-a"},
        "spec": {"provider": provider}
    }))
    .unwrap();
    Api::<SecretStore>::namespaced(client.clone(), "team-a")
        .create(&PostParams::default(), &store)
        .await
        .unwrap();
}

#[tokio::test]
async fn secret_store_with_a_forbidden_role_is_not_ready_with_reason_policy_violation() {
    let sim = Sim::start().await.unwrap();
    sim.install_crds(&shared::api::all_crds()).await.unwrap();
    let client = sim.client();
    namespace(
        &client,
        "team-a",
        Some("arn:aws:iam::111122223333:role/team-a-.*"),
    )
    .await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let c = client.clone();
    tokio::spawn(async move {
        run(
            c,
            &StoreConfig::default(),
            Duration::from_secs(300),
            async move {
                let _ = stopped.await;
            },
        )
        .await;
    });
    create_store(
        &client,
        "admin",
        json!({"aws": {"service": "SecretsManager", "region": "eu-west-1", "role": ADMIN_ROLE}}),
    )
    .await;
    create_store(
        &client,
        "vault-admin",
        json!({"vault": {"server": "http://127.0.0.1:1", "auth": {"kubernetes": {
            "mountPath": "kubernetes", "role": "arn:aws:iam::111122223333:role/admin"}}}}),
    )
    .await;
    for name in ["admin", "vault-admin"] {
        let (status, reason, message) = store_ready(&client, name).await;
        assert_eq!(
            (status.as_str(), reason.as_str()),
            ("False", "PolicyViolation"),
            "{name}"
        );
        assert!(message.contains("does not permit"), "{name}: {message}");
        assert!(message.contains(ROLE_ANNOTATION), "{name}: {message}");
    }
    drop(stop);
}
