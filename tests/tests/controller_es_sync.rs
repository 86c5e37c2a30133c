//! ExternalSecret sync end to end against the simulator and the Fake provider (ESO §10.1).

#[path = "controller_es_support.rs"]
mod support;

use serde_json::json;
use shared::hash::{created_by_label, object_hash_secret_data};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_a_secret_with_eso_metadata_and_data_hash() {
    let env = Env::start().await;
    env.namespace("apps").await;
    env.fake_store("apps", "fake", &[("db-user", "admin"), ("db-pass", "s3cret")]).await;
    env.create_es_with(
        "apps",
        json!({"name": "db", "labels": {"team": "payments"}}),
        json!({
            "secretStoreRef": {"name": "fake"},
            "refreshInterval": "1h",
            "data": [
                {"secretKey": "user", "remoteRef": {"key": "db-user"}},
                {"secretKey": "pass", "remoteRef": {"key": "db-pass"}}
            ]
        }),
    )
    .await;
    let es = env.wait_ready("apps", "db", "True", "SecretSynced").await;
    let secret = env.wait_secret("apps", "db", |_| true).await;
    assert_eq!(data_of(&secret), kv(&[("pass", "s3cret"), ("user", "admin")]));
    assert_eq!(label(&secret, "reconcile.external-secrets.io/managed"), Some("true"));
    assert_eq!(label(&secret, "team"), Some("payments"), "ES labels are copied");
    assert_eq!(
        label(&secret, "reconcile.external-secrets.io/created-by"),
        Some(created_by_label("apps", "db").as_str())
    );
    let data: std::collections::BTreeMap<String, Vec<u8>> = secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    let hash = annotation(&secret, "reconcile.external-secrets.io/data-hash").expect("hash");
    assert_eq!(hash, object_hash_secret_data(&data));
    let owner = &secret.metadata.owner_references.as_ref().expect("owner")[0];
    assert_eq!((owner.kind.as_str(), owner.name.as_str()), ("ExternalSecret", "db"));
    let status = es.status.expect("status");
    assert_eq!(status.binding.and_then(|b| b.name).as_deref(), Some("db"));
    assert!(status.refresh_time.is_some());
    assert!(status.synced_resource_version.is_some_and(|v| v.starts_with("1-")));
    let es = env.get_es("apps", "db").await.expect("es");
    assert!(
        es.metadata
            .finalizers
            .unwrap_or_default()
            .contains(&"externalsecrets.external-secrets.io/externalsecret-cleanup".to_string())
    );
}
