//! Creation/deletion policies, ownership, immutability, namespace policy, store selection.

#[path = "controller_es_support.rs"]
mod support;

use std::time::Duration;

use kube::Api;
use kube::api::PostParams;
use serde_json::{Value, json};
use shared::api::v1::ClusterSecretStore;
use support::*;

fn one_key(store: &str, kind: &str) -> Value {
    json!({
        "secretStoreRef": {"name": store, "kind": kind},
        "data": [{"secretKey": "key", "remoteRef": {"key": "k"}}]
    })
}

fn with_target(mut spec: Value, target: Value) -> Value {
    spec["target"] = target;
    spec
}

async fn setup() -> Env {
    let env = Env::start().await;
    env.namespace("apps").await;
    env.fake_store("apps", "fake", &[("k", "v")]).await;
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_keeps_foreign_keys_and_reports_a_missing_target() {
    let env = setup().await;
    // An unmanaged Secret is not watched: the missing target is retried at the next interval.
    let mut spec = with_target(
        one_key("fake", "SecretStore"),
        json!({"creationPolicy": "Merge"}),
    );
    spec["refreshInterval"] = json!("1s");
    env.create_es("apps", "m", spec).await;
    let es = env.wait_ready("apps", "m", "True", "SecretMissing").await;
    assert!(es.status.expect("status").binding.is_none());
    assert!(env.secret("apps", "m").await.is_none());
    env.create_secret(
        "apps",
        json!({"metadata": {"name": "m"}, "stringData": {"foreign": "x"}}),
    )
    .await;
    let s = env
        .wait_secret("apps", "m", |s| {
            data_of(s) == kv(&[("foreign", "x"), ("key", "v")])
        })
        .await;
    assert!(s.metadata.owner_references.is_none());
    assert_eq!(label(&s, "reconcile.external-secrets.io/created-by"), None);
    env.wait_ready("apps", "m", "True", "SecretSynced").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_or_merge_and_orphan_leave_secrets_behind() {
    let env = setup().await;
    env.create_secret(
        "apps",
        json!({"metadata": {"name": "com"}, "stringData": {"foreign": "x"}}),
    )
    .await;
    env.create_es(
        "apps",
        "com",
        with_target(
            one_key("fake", "SecretStore"),
            json!({"creationPolicy": "CreateOrMerge"}),
        ),
    )
    .await;
    env.wait_secret("apps", "com", |s| {
        data_of(s) == kv(&[("foreign", "x"), ("key", "v")])
    })
    .await;
    env.create_es(
        "apps",
        "orphan",
        with_target(
            one_key("fake", "SecretStore"),
            json!({"creationPolicy": "Orphan", "deletionPolicy": "Delete"}),
        ),
    )
    .await;
    let s = env.wait_secret("apps", "orphan", |_| true).await;
    assert!(s.metadata.owner_references.is_none());
    env.delete_es("apps", "orphan").await;
    env.delete_es("apps", "com").await;
    eventually("ExternalSecrets gone", || async {
        (env.get_es("apps", "orphan").await.is_none() && env.get_es("apps", "com").await.is_none())
            .then_some(())
    })
    .await;
    env.sim.settle().await;
    assert!(
        env.secret("apps", "orphan").await.is_some(),
        "Orphan target survives"
    );
    assert!(
        env.secret("apps", "com").await.is_some(),
        "CreateOrMerge target survives"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creation_policy_none_writes_nothing() {
    let env = setup().await;
    env.create_es(
        "apps",
        "none",
        with_target(
            one_key("fake", "SecretStore"),
            json!({"creationPolicy": "None"}),
        ),
    )
    .await;
    env.wait_ready("apps", "none", "True", "SecretSynced").await;
    assert!(env.secret("apps", "none").await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_policies_when_the_provider_is_empty() {
    let env = setup().await;
    let find = |policy: &str| {
        json!({
            "secretStoreRef": {"name": "fake"}, "refreshInterval": "1s",
            "target": {"deletionPolicy": policy},
            "dataFrom": [{"find": {"name": {"regexp": "^k$"}}}]
        })
    };
    env.create_es("apps", "del", find("Delete")).await;
    env.create_es("apps", "ret", find("Retain")).await;
    env.wait_secret("apps", "del", |_| true).await;
    env.wait_secret("apps", "ret", |_| true).await;
    env.fake_store("apps", "fake", &[("unrelated", "x")]).await;
    env.wait_secret_gone("apps", "del").await;
    env.wait_ready("apps", "del", "True", "SecretDeleted").await;
    let es = env.wait_ready("apps", "ret", "True", "SecretSynced").await;
    eventually("retained message", || async {
        let es = env.get_es("apps", "ret").await?;
        let msg = es.status?.conditions?[0].message.clone()?;
        (msg == "secret retained due to DeletionPolicy=Retain").then_some(())
    })
    .await;
    drop(es);
    assert_eq!(
        data_of(&env.secret("apps", "ret").await.expect("kept")),
        kv(&[("k", "v")])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_es_with_policy_delete_removes_its_secret() {
    let env = setup().await;
    env.create_es(
        "apps",
        "gone",
        with_target(
            one_key("fake", "SecretStore"),
            json!({"deletionPolicy": "Delete"}),
        ),
    )
    .await;
    env.wait_secret("apps", "gone", |_| true).await;
    env.delete_es("apps", "gone").await;
    env.wait_secret_gone("apps", "gone").await;
    eventually("ES gone", || async {
        env.get_es("apps", "gone").await.is_none().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn immutable_freezes_a_pre_existing_secret() {
    let env = setup().await;
    env.create_secret(
        "apps",
        json!({"metadata": {"name": "frozen"}, "stringData": {"key": "mine"}}),
    )
    .await;
    env.create_es(
        "apps",
        "frozen",
        with_target(one_key("fake", "SecretStore"), json!({"immutable": true})),
    )
    .await;
    let s = env
        .wait_secret("apps", "frozen", |s| s.immutable == Some(true))
        .await;
    assert_eq!(data_of(&s), kv(&[("key", "mine")]));
    env.wait_ready("apps", "frozen", "True", "SecretSynced")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_a_target_owned_by_another_external_secret() {
    let env = setup().await;
    env.create_es(
        "apps",
        "first",
        with_target(one_key("fake", "SecretStore"), json!({"name": "shared"})),
    )
    .await;
    env.wait_secret("apps", "shared", |_| true).await;
    env.create_es(
        "apps",
        "second",
        with_target(one_key("fake", "SecretStore"), json!({"name": "shared"})),
    )
    .await;
    let es = env
        .wait_ready("apps", "second", "False", "SecretSyncedError")
        .await;
    let msg = es.status.expect("status").conditions.expect("conditions")[0]
        .message
        .clone();
    assert_eq!(
        msg.as_deref(),
        Some("target is owned by another ExternalSecret")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renaming_the_target_deletes_the_old_secret() {
    let env = setup().await;
    env.create_es(
        "apps",
        "ren",
        with_target(one_key("fake", "SecretStore"), json!({"name": "old-name"})),
    )
    .await;
    env.wait_secret("apps", "old-name", |_| true).await;
    env.patch_es(
        "apps",
        "ren",
        json!({"spec": {"target": {"name": "new-name"}}}),
    )
    .await;
    env.wait_secret("apps", "new-name", |_| true).await;
    env.wait_secret_gone("apps", "old-name").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_policy_violation_blocks_the_sync() {
    let env = setup().await;
    env.namespace_with(
        "locked",
        json!({"annotations": {"externalsecrets.kubernetes-client.io/permitted-key-name": "team-a/.*"}}),
    )
    .await;
    env.fake_store("locked", "fake", &[("k", "v")]).await;
    env.create_es("locked", "denied", one_key("fake", "SecretStore"))
        .await;
    let es = env
        .wait_ready("locked", "denied", "False", "PolicyViolation")
        .await;
    let msg = es.status.expect("status").conditions.expect("c")[0]
        .message
        .clone()
        .unwrap_or_default();
    assert!(msg.contains("does not permit key \"k\""), "{msg}");
    assert!(env.secret("locked", "denied").await.is_none());
}

async fn cluster_store(env: &Env, name: &str, conditions: Value, controller: Option<&str>) {
    let mut spec = json!({"provider": {"fake": {"data": [{"key": "k", "value": "v"}]}}, "conditions": conditions});
    if let Some(c) = controller {
        spec["controller"] = json!(c);
    }
    let css: ClusterSecretStore = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
        "metadata": {"name": name}, "spec": spec
    }))
    .expect("css");
    Api::<ClusterSecretStore>::all(env.client.clone())
        .create(&PostParams::default(), &css)
        .await
        .expect("create css");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_store_conditions_select_namespaces() {
    let env = setup().await;
    env.namespace_with("team-x", json!({"labels": {"team": "x"}}))
        .await;
    cluster_store(&env, "by-name", json!([{"namespaces": ["apps"]}]), None).await;
    cluster_store(
        &env,
        "by-label",
        json!([{"namespaceSelector": {"matchLabels": {"team": "x"}}}]),
        None,
    )
    .await;
    env.create_es("apps", "allowed", one_key("by-name", "ClusterSecretStore"))
        .await;
    env.create_es(
        "team-x",
        "allowed",
        one_key("by-label", "ClusterSecretStore"),
    )
    .await;
    env.create_es("team-x", "denied", one_key("by-name", "ClusterSecretStore"))
        .await;
    env.wait_ready("apps", "allowed", "True", "SecretSynced")
        .await;
    env.wait_ready("team-x", "allowed", "True", "SecretSynced")
        .await;
    env.wait_ready("team-x", "denied", "False", "SecretSyncedError")
        .await;
    assert!(env.secret("team-x", "denied").await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_of_another_controller_class_are_left_alone() {
    let env = setup().await;
    cluster_store(&env, "theirs", json!([]), Some("other-class")).await;
    env.create_es("apps", "skip", one_key("theirs", "ClusterSecretStore"))
        .await;
    env.create_es("apps", "mine", one_key("fake", "SecretStore"))
        .await;
    env.wait_ready("apps", "mine", "True", "SecretSynced").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let es = env.get_es("apps", "skip").await.expect("es");
    assert!(
        es.status.is_none(),
        "no status for a foreign store: {:?}",
        es.status
    );
    assert!(env.secret("apps", "skip").await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generic_targets_are_rejected() {
    let env = setup().await;
    env.create_es(
        "apps",
        "cm",
        with_target(
            one_key("fake", "SecretStore"),
            json!({"manifest": {"apiVersion": "v1", "kind": "ConfigMap"}}),
        ),
    )
    .await;
    let es = env
        .wait_ready("apps", "cm", "False", "SecretSyncedError")
        .await;
    let msg = es.status.expect("status").conditions.expect("c")[0]
        .message
        .clone()
        .unwrap_or_default();
    assert!(msg.starts_with("generic targets are disabled"), "{msg}");
    assert!(env.secret("apps", "cm").await.is_none());
}
