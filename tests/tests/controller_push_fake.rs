//! PushSecret end to end against the Fake provider (the simulator runs the API; the store and
//! PushSecret reconcilers run in-process).

mod controller_push_support;

use controller_push_support::*;
use k8s_openapi::ByteString;
use kube::api::{Patch, PatchParams};

const STORE: &str = r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: fake}
spec:
  provider:
    fake:
      data: []
"#;

const SOURCE: &str = r#"
apiVersion: v1
kind: Secret
metadata: {name: source}
stringData: {username: admin, password: hunter2}
"#;

async fn remote(env: &Env, ns: &str, key: &str) -> Option<String> {
    env.store_text(ns, "fake", key).await
}

#[tokio::test]
async fn pushes_a_key_and_source_changes_within_seconds_despite_1h_interval() {
    let env = start(&["default"]).await;
    env.apply("default", STORE).await;
    env.apply("default", SOURCE).await;
    env.apply(
        "default",
        r#"
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: ps}
spec:
  refreshInterval: 1h
  secretStoreRefs: [{name: fake, kind: SecretStore}]
  selector: {secret: {name: source}}
  data:
  - match: {secretKey: password, remoteRef: {remoteKey: db-password}}
"#,
    )
    .await;
    let ps = env.wait_ready_reason("default", "ps", "Synced").await;
    let status = ps.status.unwrap();
    let cond = &status.conditions.unwrap()[0];
    assert_eq!(cond.status, "True");
    assert_eq!(
        cond.message.as_deref(),
        Some("PushSecret synced successfully")
    );
    let synced = status.synced_push_secrets.unwrap();
    assert_eq!(
        synced["SecretStore/fake"]["db-password"]
            .match_
            .secret_key
            .as_deref(),
        Some("password")
    );
    assert!(status.refresh_time.is_some());
    assert!(status.synced_resource_version.unwrap().starts_with("1-"));
    assert_eq!(
        remote(&env, "default", "db-password").await.as_deref(),
        Some("hunter2")
    );
    // No finalizer with deletionPolicy None.
    assert!(finalizers(&env.pushsecrets("default").get("ps").await.unwrap()).is_empty());

    // Change the source: the watch pushes it long before the 1h interval.
    let patch = serde_json::json!({"data": {"password": ByteString(b"correct-horse".to_vec())}});
    env.secrets("default")
        .patch("source", &PatchParams::default(), &Patch::Merge(patch))
        .await
        .unwrap();
    env.eventually(20, "the changed password to be pushed", || async {
        (remote(&env, "default", "db-password").await.as_deref() == Some("correct-horse"))
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn missing_source_key_and_missing_store_are_errors() {
    let env = start(&["default"]).await;
    env.apply("default", SOURCE).await;
    env.apply(
        "default",
        r#"
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: ps}
spec:
  secretStoreRefs: [{name: fake}]
  selector: {secret: {name: source}}
  data:
  - match: {secretKey: nope, remoteRef: {remoteKey: r}}
"#,
    )
    .await;
    let ps = env.wait_ready_reason("default", "ps", "Errored").await;
    let msg = ps.status.unwrap().conditions.unwrap()[0]
        .message
        .clone()
        .unwrap();
    assert!(
        msg.contains("secretstores.external-secrets.io \"fake\" not found"),
        "{msg}"
    );
    // Once the store exists, the missing key is reported (and no value leaks).
    env.apply("default", STORE).await;
    env.eventually(30, "the missing key error", || async {
        let ps = env.pushsecrets("default").get("ps").await.unwrap();
        let msg = ps.status?.conditions?[0].message.clone()?;
        assert!(!msg.contains("hunter2"));
        msg.contains("secret key \"nope\" does not exist")
            .then_some(())
    })
    .await;
}
