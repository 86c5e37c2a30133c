//! gcpsm PushSecret round trips against the Google fake: create with the managed-by label and
//! replication from PushSecretMetadata, versions only on change, property merge, exists,
//! deletes limited to managed secrets.

mod provider_gcp_support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use controller::provider::SecretsClient;
use controller::provider::gcp::MANAGED_BY;
use k8s_openapi::api::core::v1::Secret;
use provider_gcp_support::*;
use serde_json::{Value, json};
use shared::api::v1alpha1::PushSecretData;
use tests::fakes::gcp::Access;

fn local() -> Secret {
    serde_json::from_value(json!({
        "metadata": {"name": "src"},
        "data": {"user": STANDARD.encode("admin"), "pass": STANDARD.encode("p<w>")}
    }))
    .unwrap()
}

fn entry(secret_key: Option<&str>, remote_key: &str, property: Option<&str>) -> PushSecretData {
    serde_json::from_value(json!({"match": {
        "secretKey": secret_key,
        "remoteRef": {"remoteKey": remote_key, "property": property}
    }}))
    .unwrap()
}

fn with_metadata(mut e: PushSecretData, spec: Value) -> PushSecretData {
    e.metadata = Some(json!({
        "apiVersion": "kubernetes.external-secrets.io/v1alpha1",
        "kind": "PushSecretMetadata",
        "spec": spec
    }));
    e
}

async fn writer() -> (Setup, Box<dyn SecretsClient>) {
    let s = setup().await;
    s.key_secret("team-a", "gcp-key", SA, Some(Access::Write))
        .await;
    let c = s.key_client(json!({})).await;
    (s, c)
}

#[tokio::test]
async fn pushes_a_key_creates_a_managed_secret_and_skips_unchanged_values() {
    let (s, c) = writer().await;
    let e = entry(Some("pass"), "db-pass", None);
    assert!(!c.secret_exists(&e).await.unwrap());
    c.push_secret(&local(), &e).await.unwrap();
    let remote = s.fake.secret(PROJECT, None, "db-pass").unwrap();
    assert_eq!(remote.latest_text().as_deref(), Some("p<w>"));
    assert_eq!(
        remote.labels.get(MANAGED_BY.0).map(String::as_str),
        Some(MANAGED_BY.1)
    );
    assert_eq!(remote.replication, Some(json!({"automatic": {}})));
    assert!(c.secret_exists(&e).await.unwrap());
    // Same value again: no new version.
    s.fake.reset_calls();
    c.push_secret(&local(), &e).await.unwrap();
    assert_eq!(
        s.fake
            .secret(PROJECT, None, "db-pass")
            .unwrap()
            .versions
            .len(),
        1
    );
    assert_eq!(s.fake.calls("AddSecretVersion"), 0);
    assert_eq!(s.fake.calls("CreateSecret"), 0);
    // A changed value adds a version.
    let mut changed = local();
    changed
        .data
        .as_mut()
        .unwrap()
        .insert("pass".into(), k8s_openapi::ByteString(b"new".to_vec()));
    c.push_secret(&changed, &e).await.unwrap();
    let remote = s.fake.secret(PROJECT, None, "db-pass").unwrap();
    assert_eq!(
        (remote.versions.len(), remote.latest_text().as_deref()),
        (2, Some("new"))
    );
    c.delete_secret(&e).await.unwrap();
    assert!(s.fake.secret(PROJECT, None, "db-pass").is_none());
    c.delete_secret(&e).await.unwrap();
}

#[tokio::test]
async fn properties_merge_into_one_json_payload_and_delete_one_by_one() {
    let (s, c) = writer().await;
    let user = entry(Some("user"), "creds", Some("username"));
    let pass = entry(Some("pass"), "creds", Some("password"));
    c.push_secret(&local(), &user).await.unwrap();
    c.push_secret(&local(), &pass).await.unwrap();
    let text = s
        .fake
        .secret(PROJECT, None, "creds")
        .unwrap()
        .latest_text()
        .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v, json!({"username": "admin", "password": "p<w>"}));
    assert!(c.secret_exists(&user).await.unwrap());
    assert!(
        !c.secret_exists(&entry(Some("user"), "creds", Some("other")))
            .await
            .unwrap()
    );
    c.delete_secret(&user).await.unwrap();
    let text = s
        .fake
        .secret(PROJECT, None, "creds")
        .unwrap()
        .latest_text()
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json!({"password": "p<w>"})
    );
    c.delete_secret(&pass).await.unwrap();
    assert!(
        s.fake.secret(PROJECT, None, "creds").is_none(),
        "the last property takes the secret"
    );
    // The whole Secret as one JSON payload.
    c.push_secret(&local(), &entry(None, "all", None))
        .await
        .unwrap();
    let text = s
        .fake
        .secret(PROJECT, None, "all")
        .unwrap()
        .latest_text()
        .unwrap();
    assert_eq!(text, r#"{"pass":"p\u003cw\u003e","user":"admin"}"#);
}

#[tokio::test]
async fn metadata_sets_labels_annotations_and_replication() {
    let (s, c) = writer().await;
    let e = with_metadata(
        entry(Some("user"), "meta", None),
        json!({"labels": {"team": "a"}, "annotations": {"note": "hi"}, "replicationLocation": "europe-west1", "cmekKeyName": "projects/p/locations/europe-west1/keyRings/r/cryptoKeys/k"}),
    );
    c.push_secret(&local(), &e).await.unwrap();
    let remote = s.fake.secret(PROJECT, None, "meta").unwrap();
    assert_eq!(remote.labels.get("team").map(String::as_str), Some("a"));
    assert_eq!(
        remote.labels.get(MANAGED_BY.0).map(String::as_str),
        Some(MANAGED_BY.1)
    );
    assert_eq!(
        remote.annotations.get("note").map(String::as_str),
        Some("hi")
    );
    assert_eq!(
        remote.replication,
        Some(
            json!({"userManaged": {"replicas": [{"location": "europe-west1", "customerManagedEncryption": {"kmsKeyName": "projects/p/locations/europe-west1/keyRings/r/cryptoKeys/k"}}]}})
        )
    );
    // Replace (default) drops labels not asked for; Merge keeps them.
    let replace = with_metadata(
        entry(Some("user"), "meta", None),
        json!({"labels": {"tier": "web"}}),
    );
    c.push_secret(&local(), &replace).await.unwrap();
    let remote = s.fake.secret(PROJECT, None, "meta").unwrap();
    assert!(!remote.labels.contains_key("team"));
    assert_eq!(remote.versions.len(), 1, "metadata changes add no version");
    let merge = with_metadata(
        entry(Some("user"), "meta", None),
        json!({"labels": {"extra": "1"}, "mergePolicy": "Merge"}),
    );
    c.push_secret(&local(), &merge).await.unwrap();
    let remote = s.fake.secret(PROJECT, None, "meta").unwrap();
    assert_eq!(
        (
            remote.labels.get("tier").map(String::as_str),
            remote.labels.get("extra").map(String::as_str)
        ),
        (Some("web"), Some("1"))
    );
    // Wrong kinds and policies are refused.
    let mut bad = entry(Some("user"), "x", None);
    bad.metadata = Some(json!({"apiVersion": "v1", "kind": "Other", "spec": {}}));
    assert!(c.push_secret(&local(), &bad).await.is_err());
    let bad = with_metadata(
        entry(Some("user"), "x", None),
        json!({"mergePolicy": "Sometimes"}),
    );
    assert!(c.push_secret(&local(), &bad).await.is_err());
}

#[tokio::test]
async fn regional_pushes_send_no_replication() {
    let (s, _) = writer().await;
    let c = s.key_client(json!({"location": "us-east1"})).await;
    c.push_secret(&local(), &entry(Some("user"), "r", None))
        .await
        .unwrap();
    let remote = s.fake.secret(PROJECT, Some("us-east1"), "r").unwrap();
    assert_eq!(
        (remote.replication.clone(), remote.latest_text().as_deref()),
        (None, Some("admin"))
    );
}

#[tokio::test]
async fn secrets_not_created_by_external_secrets_are_never_modified_or_deleted() {
    let (s, c) = writer().await;
    s.fake.put_secret(
        PROJECT,
        None,
        "foreign",
        &[("owner", "them")],
        &[],
        &[b"theirs"],
    );
    let e = entry(Some("user"), "foreign", None);
    let err = c.push_secret(&local(), &e).await.unwrap_err();
    assert!(
        err.to_string().contains("not managed by external secrets"),
        "{err}"
    );
    c.delete_secret(&e).await.unwrap();
    c.delete_secret(&entry(Some("user"), "foreign", Some("p")))
        .await
        .unwrap();
    let remote = s.fake.secret(PROJECT, None, "foreign").unwrap();
    assert_eq!(
        (remote.versions.len(), remote.latest_text().as_deref()),
        (1, Some("theirs"))
    );
    // A reader cannot push: Google's refusal is reported.
    s.key_secret(
        "team-a",
        "gcp-key",
        "ro@proj-a.iam.gserviceaccount.com",
        Some(Access::Read),
    )
    .await;
    let ro = s.key_client(json!({})).await;
    let err = ro
        .push_secret(&local(), &entry(Some("user"), "new", None))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("403 PERMISSION_DENIED"), "{err}");
}
