//! PushSecret end to end into the Azure fake: the store and PushSecret reconcilers run
//! in-process against the simulator; manifests are shaped as in ESO's Azure Key Vault guide.

#[path = "controller_push_support/mod.rs"]
mod support;

use support::*;
use tests::fakes::azure::{AzureFake, ClientCredential};

const TENANT: &str = "8f3c3e4a-0d7e-4c52-9d0e-1a2b3c4d5e6f";
const CLIENT_ID: &str = "6a1f2b3c-aaaa-bbbb-cccc-000000000001";

async fn setup() -> (Env, AzureFake) {
    let f = AzureFake::start(TENANT).await.unwrap();
    f.add_client(CLIENT_ID, ClientCredential::Secret("right".into()));
    let env = start(&["apps"]).await;
    env.apply(
        "apps",
        &format!(
            r#"
apiVersion: v1
kind: Secret
metadata: {{name: azure-secret-sp}}
stringData: {{ClientID: "{CLIENT_ID}", ClientSecret: right}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: azure-store}}
spec:
  provider:
    azurekv:
      tenantId: "{TENANT}"
      vaultUrl: "{url}"
      useAzureSDK: true
      customCloudConfig:
        activeDirectoryEndpoint: "{url}"
      authSecretRef:
        clientId: {{name: azure-secret-sp, key: ClientID}}
        clientSecret: {{name: azure-secret-sp, key: ClientSecret}}
---
apiVersion: v1
kind: Secret
metadata: {{name: source}}
stringData: {{password: hunter2, username: admin}}
"#,
            url = f.url()
        ),
    )
    .await;
    (env, f)
}

#[tokio::test]
async fn pushes_tags_and_deletes_on_policy() {
    let (env, f) = setup().await;
    env.apply(
        "apps",
        r#"
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: ps}
spec:
  refreshInterval: 1h
  deletionPolicy: Delete
  secretStoreRefs: [{name: azure-store, kind: SecretStore}]
  selector: {secret: {name: source}}
  data:
  - match: {secretKey: password, remoteRef: {remoteKey: db-password}}
  - match: {remoteRef: {remoteKey: whole}}
"#,
    )
    .await;
    env.wait_ready_reason("apps", "ps", "Synced").await;
    let pw = f.secret("db-password").unwrap();
    assert_eq!(pw.value, "hunter2");
    assert_eq!(
        pw.tags.get("managed-by").map(String::as_str),
        Some("external-secrets")
    );
    assert_eq!(
        f.secret("whole").unwrap().value,
        r#"{"password":"hunter2","username":"admin"}"#
    );
    env.delete(
        "apps",
        "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: ps}\n",
    )
    .await;
    env.wait_gone(&env.pushsecrets("apps"), "ps").await;
    assert!(f.secret_is_deleted("db-password"));
    assert!(f.secret_is_deleted("whole"));
}

#[tokio::test]
async fn refuses_to_overwrite_a_secret_it_does_not_manage() {
    let (env, f) = setup().await;
    f.put_secret("theirs", "keep-me", &[]);
    env.apply(
        "apps",
        r#"
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: ps}
spec:
  refreshInterval: 1h
  secretStoreRefs: [{name: azure-store, kind: SecretStore}]
  selector: {secret: {name: source}}
  data:
  - match: {secretKey: password, remoteRef: {remoteKey: theirs}}
"#,
    )
    .await;
    let ps = env.wait_ready_reason("apps", "ps", "Errored").await;
    let msg = ps.status.unwrap().conditions.unwrap()[0]
        .message
        .clone()
        .unwrap_or_default();
    assert!(!msg.contains("hunter2"), "{msg}");
    assert_eq!(f.secret("theirs").unwrap().value, "keep-me");
    assert_eq!(f.secret_versions("theirs").len(), 1);
}
