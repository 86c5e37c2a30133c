//! The store flood gate and PushSecret (reference §4.2 step 7, §4.5): ESO's PushSecret reconciler
//! builds its client manager with the gate off, so it pushes to a store whose Ready condition is
//! missing or False, while an ExternalSecret would wait. A store that cannot be used at all
//! still fails the push with a clear Errored condition.

mod controller_push_support;

use controller_push_support::*;
use kube::Api;
use shared::api::v1::SecretStore;

const PUSH: &str = r#"
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: ps}
spec:
  refreshInterval: 1h
  secretStoreRefs: [{name: k8s, kind: SecretStore}]
  selector: {secret: {name: source}}
  data:
  - match: {secretKey: password, remoteRef: {remoteKey: copy}}
"#;

const SOURCE: &str =
    "apiVersion: v1\nkind: Secret\nmetadata: {name: source}\nstringData: {password: s3cret}\n";

#[tokio::test]
async fn pushes_to_a_store_that_was_never_validated() {
    // No store reconciler: the store never gets a Ready condition.
    let env = start_with(&["default", "remote"], false).await;
    env.apply("default", &kube_store("k8s", "remote")).await;
    env.apply("default", SOURCE).await;
    env.apply("default", PUSH).await;

    env.wait_ready_reason("default", "ps", "Synced").await;
    assert_eq!(
        env.remote_data("remote", "copy").await.unwrap()["password"],
        "s3cret"
    );
    let store = Api::<SecretStore>::namespaced(env.client.clone(), "default")
        .get("k8s")
        .await
        .unwrap();
    assert!(
        store.status.and_then(|s| s.conditions).is_none(),
        "the store must still be unvalidated, or this test proves nothing"
    );
}

#[tokio::test]
async fn validated_store_is_pushed_to_and_an_unusable_store_fails_clearly() {
    let env = start(&["default", "remote"]).await;
    env.apply("default", &kube_store("k8s", "remote")).await;
    env.apply("default", SOURCE).await;
    env.apply("default", PUSH).await;
    env.wait_ready_reason("default", "ps", "Synced").await;
    assert_eq!(
        env.remote_data("remote", "copy").await.unwrap()["password"],
        "s3cret"
    );

    // A store whose token Secret does not exist: not Ready, and the push says why.
    env.apply(
        "default",
        r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: broken}
spec:
  provider:
    kubernetes:
      remoteNamespace: remote
      server: {url: "https://127.0.0.1:1"}
      auth:
        token:
          bearerToken: {name: missing-token, key: token}
"#,
    )
    .await;
    env.apply(
        "default",
        &PUSH
            .replace("name: ps}", "name: ps-broken}")
            .replace("name: k8s,", "name: broken,")
            .replace("remoteKey: copy", "remoteKey: broken-copy"),
    )
    .await;
    let ps = env
        .wait_ready_reason("default", "ps-broken", "Errored")
        .await;
    let cond = ps.status.unwrap().conditions.unwrap().remove(0);
    assert_eq!(cond.status, "False");
    let message = cond.message.unwrap_or_default();
    assert!(message.contains("missing-token"), "{message}");
    assert!(env.remote_data("remote", "broken-copy").await.is_none());
}
