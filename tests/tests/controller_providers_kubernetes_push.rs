//! Kubernetes provider PushSecret round trips: key → property, whole Secret, whole Secret as a
//! JSON property, metadata merge, exists, delete; Secrets we did not create are never touched.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use controller::provider::kubernetes::{KubernetesProvider, MANAGED_LABEL};
use controller::provider::{ClientContext, Provider, SecretsClient, StoreInfo};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::PostParams;
use kube::{Api, Client};
use serde_json::{Value, json};
use shared::api::v1::SecretStoreKind;
use shared::api::v1alpha1::PushSecretData;
use tests::sim::Sim;

async fn setup() -> (Sim, Client, Box<dyn SecretsClient>) {
    let sim = Sim::start().await.unwrap();
    let client = sim.client();
    for ns in ["remote", "team-a"] {
        let n: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &n)
            .await
            .unwrap();
    }
    let c = provider_client(&client, SecretStoreKind::SecretStore).await;
    (sim, client, c)
}

async fn provider_client(client: &Client, kind: SecretStoreKind) -> Box<dyn SecretsClient> {
    let spec =
        serde_json::from_value(json!({"provider": {"kubernetes": {"remoteNamespace": "remote"}}}))
            .unwrap();
    KubernetesProvider::new()
        .new_client(&ClientContext::new(
            client.clone(),
            StoreInfo {
                kind,
                name: "k8s".into(),
                namespace: Some("team-a".into()),
                uid: "uid".into(),
                generation: 1,
                spec,
            },
            "team-a".into(),
        ))
        .await
        .unwrap()
}

fn local() -> Secret {
    serde_json::from_value(json!({
        "metadata": {"name": "src", "labels": {"app": "web"}},
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

async fn remote(client: &Client, name: &str) -> Option<Secret> {
    Api::<Secret>::namespaced(client.clone(), "remote")
        .get_opt(name)
        .await
        .unwrap()
}

fn data(secret: &Secret) -> BTreeMap<String, String> {
    secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), String::from_utf8(v.0.clone()).unwrap()))
        .collect()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn pushes_keys_into_properties_and_deletes_them_again() {
    let (_sim, client, c) = setup().await;
    let to_username = entry(Some("user"), "pushed", Some("username"));
    let same_name = entry(Some("pass"), "pushed", None);
    assert!(!c.secret_exists(&to_username).await.unwrap());
    c.push_secret(&local(), &to_username).await.unwrap();
    c.push_secret(&local(), &same_name).await.unwrap();
    let s = remote(&client, "pushed").await.unwrap();
    assert_eq!(data(&s), map(&[("username", "admin"), ("pass", "p<w>")]));
    let labels = s.metadata.labels.clone().unwrap();
    assert_eq!(
        labels.get(MANAGED_LABEL.0).map(String::as_str),
        Some(MANAGED_LABEL.1)
    );
    assert_eq!(
        labels.get("app").map(String::as_str),
        Some("web"),
        "source labels are copied"
    );
    assert_eq!(s.type_.as_deref(), Some("Opaque"));
    assert!(c.secret_exists(&to_username).await.unwrap());
    assert!(
        !c.secret_exists(&entry(Some("user"), "pushed", Some("other")))
            .await
            .unwrap()
    );

    // Pushing the same value again does not write.
    let rv = s.metadata.resource_version.clone();
    c.push_secret(&local(), &to_username).await.unwrap();
    assert_eq!(
        remote(&client, "pushed")
            .await
            .unwrap()
            .metadata
            .resource_version,
        rv
    );

    // Deleting one property keeps the Secret; deleting the last one removes it.
    c.delete_secret(&to_username).await.unwrap();
    assert_eq!(
        data(&remote(&client, "pushed").await.unwrap()),
        map(&[("pass", "p<w>")])
    );
    c.delete_secret(&entry(Some("pass"), "pushed", Some("pass")))
        .await
        .unwrap();
    assert!(remote(&client, "pushed").await.is_none());
    // Deleting again is fine.
    c.delete_secret(&to_username).await.unwrap();
}

#[tokio::test]
async fn pushes_the_whole_secret_as_keys_or_as_one_json_property() {
    let (_sim, client, c) = setup().await;
    c.push_secret(&local(), &entry(None, "copy", None))
        .await
        .unwrap();
    assert_eq!(
        data(&remote(&client, "copy").await.unwrap()),
        map(&[("user", "admin"), ("pass", "p<w>")])
    );
    c.push_secret(&local(), &entry(None, "bundle", Some("all")))
        .await
        .unwrap();
    assert_eq!(
        data(&remote(&client, "bundle").await.unwrap()),
        map(&[("all", r#"{"pass":"p\u003cw\u003e","user":"admin"}"#)])
    );
    // A whole-secret delete removes the Secret.
    c.delete_secret(&entry(None, "copy", None)).await.unwrap();
    assert!(remote(&client, "copy").await.is_none());
}

#[tokio::test]
async fn secrets_not_created_by_external_secrets_are_never_modified_or_deleted() {
    let (_sim, client, c) = setup().await;
    let foreign: Secret = serde_json::from_value(json!({
        "metadata": {"name": "foreign", "namespace": "remote"},
        "data": {"username": STANDARD.encode("theirs")}
    }))
    .unwrap();
    Api::<Secret>::namespaced(client.clone(), "remote")
        .create(&PostParams::default(), &foreign)
        .await
        .unwrap();
    let e = entry(Some("user"), "foreign", Some("username"));
    let err = c.push_secret(&local(), &e).await.unwrap_err();
    assert!(
        err.to_string().contains("not managed by external-secrets"),
        "{err}"
    );
    c.delete_secret(&e).await.unwrap();
    c.delete_secret(&entry(None, "foreign", None))
        .await
        .unwrap();
    let s = remote(&client, "foreign").await.unwrap();
    assert_eq!(data(&s), map(&[("username", "theirs")]));
}

fn with_metadata(mut e: PushSecretData, spec: Value) -> PushSecretData {
    e.metadata = Some(json!({
        "apiVersion": "kubernetes.external-secrets.io/v1alpha1",
        "kind": "PushSecretMetadata",
        "spec": spec
    }));
    e
}

#[tokio::test]
async fn push_metadata_sets_labels_annotations_and_remote_namespace() {
    let (_sim, client, c) = setup().await;
    let e = with_metadata(
        entry(Some("user"), "meta", Some("u")),
        json!({"labels": {"extra": "1"}, "annotations": {"note": "hi"}, "sourceMergePolicy": "Replace"}),
    );
    c.push_secret(&local(), &e).await.unwrap();
    let s = remote(&client, "meta").await.unwrap();
    let labels = s.metadata.labels.clone().unwrap();
    assert_eq!(labels.get("extra").map(String::as_str), Some("1"));
    assert!(
        !labels.contains_key("app"),
        "Replace drops the source labels"
    );
    assert_eq!(
        s.metadata
            .annotations
            .unwrap()
            .get("note")
            .map(String::as_str),
        Some("hi")
    );

    // A remoteNamespace override needs a ClusterSecretStore.
    let moved = with_metadata(
        entry(Some("user"), "moved", Some("u")),
        json!({"remoteNamespace": "team-a"}),
    );
    let err = c.push_secret(&local(), &moved).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "remoteNamespace override is only supported with ClusterSecretStore"
    );
    let cluster = provider_client(&client, SecretStoreKind::ClusterSecretStore).await;
    cluster.push_secret(&local(), &moved).await.unwrap();
    assert!(
        Api::<Secret>::namespaced(client.clone(), "team-a")
            .get_opt("moved")
            .await
            .unwrap()
            .is_some()
    );
    // Wrong metadata kind is rejected.
    let mut bad = entry(Some("user"), "bad", Some("u"));
    bad.metadata = Some(json!({"apiVersion": "v1", "kind": "Other", "spec": {}}));
    assert!(c.push_secret(&local(), &bad).await.is_err());
}
