//! The Kubernetes provider against the simulator: reads (whole Secret, key, gjson path, metadata),
//! maps, finds, NotFound ⇒ NoSecret, authentication (token over TLS with caBundle, kubeconfig
//! authRef, referent ClusterSecretStores) and validation.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use controller::provider::kubernetes::KubernetesProvider;
use controller::provider::{
    ClientContext, Provider, ProviderError, SecretsClient, StoreInfo, ValidationResult,
};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::PostParams;
use kube::{Api, Client};
use serde_json::{Value, json};
use shared::api::v1::{ExternalSecretDataRemoteRef, ExternalSecretFind, SecretStoreKind};
use tests::sim::{ADMIN_TOKEN, NOBODY_TOKEN, Sim, kubeconfig_yaml};

async fn sim() -> (Sim, Client) {
    let sim = Sim::start().await.unwrap();
    let client = sim.client();
    for ns in ["remote", "team-a"] {
        let n: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &n)
            .await
            .unwrap();
    }
    (sim, client)
}

async fn secret(client: &Client, ns: &str, name: &str, body: Value) {
    let mut v = body;
    v["metadata"]["name"] = json!(name);
    v["metadata"]["namespace"] = json!(ns);
    let s: Secret = serde_json::from_value(v).unwrap();
    Api::<Secret>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &s)
        .await
        .unwrap();
}

fn ctx(client: &Client, kind: SecretStoreKind, object_ns: &str, provider: Value) -> ClientContext {
    let spec = serde_json::from_value(json!({"provider": {"kubernetes": provider}})).unwrap();
    ClientContext::new(
        client.clone(),
        StoreInfo {
            kind,
            name: "k8s".into(),
            namespace: (kind == SecretStoreKind::SecretStore).then(|| "team-a".to_string()),
            uid: "uid".into(),
            generation: 1,
            spec,
        },
        object_ns.into(),
    )
}

async fn connect(
    client: &Client,
    kind: SecretStoreKind,
    object_ns: &str,
    provider: Value,
) -> Result<Box<dyn SecretsClient>, ProviderError> {
    KubernetesProvider::new()
        .new_client(&ctx(client, kind, object_ns, provider))
        .await
}

async fn in_cluster(client: &Client) -> Box<dyn SecretsClient> {
    connect(
        client,
        SecretStoreKind::SecretStore,
        "team-a",
        json!({"remoteNamespace": "remote"}),
    )
    .await
    .unwrap()
}

fn r(key: &str, property: Option<&str>, fetch: bool) -> ExternalSecretDataRemoteRef {
    serde_json::from_value(json!({
        "key": key,
        "property": property,
        "metadataPolicy": if fetch { "Fetch" } else { "None" },
    }))
    .unwrap()
}

async fn get(
    c: &dyn SecretsClient,
    key: &str,
    property: Option<&str>,
    fetch: bool,
) -> Result<String, ProviderError> {
    c.get_secret(&r(key, property, fetch))
        .await
        .map(|v| String::from_utf8(v.into_vec()).unwrap())
}

fn b64(s: &str) -> String {
    STANDARD.encode(s)
}

async fn seed(client: &Client) {
    secret(
        client,
        "remote",
        "app",
        json!({
            "metadata": {"labels": {"team": "a", "tier": "web"}, "annotations": {"cfg": "{\"x\":{\"y\":\"z\"}}"}},
            "data": {
                "user": b64("admin"),
                "file.png": b64("PNG"),
                "config": b64(r#"{"db": {"host": "db.local", "port": 5432}, "list": ["a", "b"]}"#),
                "html": b64("<&>"),
            }
        }),
    )
    .await;
    secret(
        client,
        "remote",
        "other",
        json!({"metadata": {"labels": {"team": "b"}}, "data": {"k": b64("v")}}),
    )
    .await;
    secret(
        client,
        "remote",
        "app-2",
        json!({"metadata": {"labels": {"team": "a"}}, "data": {"k": b64("v2")}}),
    )
    .await;
}

#[tokio::test]
async fn reads_whole_secret_keys_gjson_paths_and_metadata() {
    let (_sim, client) = sim().await;
    seed(&client).await;
    let c = in_cluster(&client).await;
    // No property: the data as a Go-encoded JSON object (sorted keys, HTML escaped).
    let whole: Value = serde_json::from_str(&get(&*c, "app", None, false).await.unwrap()).unwrap();
    assert_eq!(whole["user"], "admin");
    assert_eq!(whole["file.png"], "PNG");
    assert!(
        get(&*c, "app", None, false)
            .await
            .unwrap()
            .contains(r#""html":"\u003c\u0026\u003e""#)
    );
    // Exact key first, even with a dot in it.
    assert_eq!(
        get(&*c, "app", Some("file.png"), false).await.unwrap(),
        "PNG"
    );
    assert_eq!(get(&*c, "app", Some("user"), false).await.unwrap(), "admin");
    // Otherwise <key>.<gjson path>.
    assert_eq!(
        get(&*c, "app", Some("config.db.host"), false)
            .await
            .unwrap(),
        "db.local"
    );
    assert_eq!(
        get(&*c, "app", Some("config.db.port"), false)
            .await
            .unwrap(),
        "5432"
    );
    assert_eq!(
        get(&*c, "app", Some("config.list.#"), false).await.unwrap(),
        "2"
    );
    let err = get(&*c, "app", Some("config.db.nope"), false)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "property config.db.nope does not exist in data of secret \"app\""
    );
    // Metadata.
    let meta: Value = serde_json::from_str(&get(&*c, "app", None, true).await.unwrap()).unwrap();
    assert_eq!(meta["labels"], json!({"team": "a", "tier": "web"}));
    assert_eq!(
        get(&*c, "app", Some("labels.tier"), true).await.unwrap(),
        "web"
    );
    assert_eq!(
        get(&*c, "app", Some("annotations.cfg.x.y"), true)
            .await
            .unwrap(),
        "z"
    );
    let labels: Value =
        serde_json::from_str(&get(&*c, "app", Some("labels"), true).await.unwrap()).unwrap();
    assert_eq!(labels, json!({"team": "a", "tier": "web"}));
    assert!(get(&*c, "app", Some("labels.missing"), true).await.is_err());
}

#[tokio::test]
async fn missing_secret_is_no_secret_for_every_read() {
    let (_sim, client) = sim().await;
    let c = in_cluster(&client).await;
    assert!(matches!(
        get(&*c, "absent", None, false).await,
        Err(ProviderError::NoSecret)
    ));
    assert!(matches!(
        get(&*c, "absent", Some("k"), false).await,
        Err(ProviderError::NoSecret)
    ));
    assert!(matches!(
        c.get_secret_map(&r("absent", None, false)).await,
        Err(ProviderError::NoSecret)
    ));
}

fn texts(map: controller::provider::SecretMap) -> BTreeMap<String, String> {
    map.into_iter()
        .map(|(k, v)| (k, String::from_utf8(v.into_vec()).unwrap()))
        .collect()
}

#[tokio::test]
async fn extract_returns_data_keys_or_a_json_property_split_into_keys() {
    let (_sim, client) = sim().await;
    seed(&client).await;
    let c = in_cluster(&client).await;
    let all = texts(c.get_secret_map(&r("app", None, false)).await.unwrap());
    assert_eq!(
        all.keys().collect::<Vec<_>>(),
        ["config", "file.png", "html", "user"]
    );
    assert_eq!(all["user"], "admin");
    let config = texts(
        c.get_secret_map(&r("app", Some("config"), false))
            .await
            .unwrap(),
    );
    assert_eq!(
        config,
        BTreeMap::from([
            (
                "db".to_string(),
                r#"{"host": "db.local", "port": 5432}"#.to_string()
            ),
            ("list".to_string(), r#"["a", "b"]"#.to_string()),
        ])
    );
    let err = c
        .get_secret_map(&r("app", Some("user"), false))
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("admin"), "{err}");
    let meta = texts(
        c.get_secret_map(&r("app", Some("labels"), true))
            .await
            .unwrap(),
    );
    assert_eq!(
        meta,
        BTreeMap::from([
            ("team".to_string(), "a".to_string()),
            ("tier".to_string(), "web".to_string())
        ])
    );
}

#[tokio::test]
async fn find_by_name_regex_and_by_labels() {
    let (_sim, client) = sim().await;
    seed(&client).await;
    let c = in_cluster(&client).await;
    let by_name: ExternalSecretFind =
        serde_json::from_value(json!({"name": {"regexp": "^app"}})).unwrap();
    let found = texts(c.get_all_secrets(&by_name).await.unwrap());
    assert_eq!(found.keys().collect::<Vec<_>>(), ["app", "app-2"]);
    assert_eq!(found["app-2"], r#"{"k":"v2"}"#);
    let by_tags: ExternalSecretFind =
        serde_json::from_value(json!({"tags": {"team": "a"}})).unwrap();
    let found = texts(c.get_all_secrets(&by_tags).await.unwrap());
    assert_eq!(found.keys().collect::<Vec<_>>(), ["app", "app-2"]);
    let by_two: ExternalSecretFind =
        serde_json::from_value(json!({"tags": {"team": "a", "tier": "web"}})).unwrap();
    assert_eq!(texts(c.get_all_secrets(&by_two).await.unwrap()).len(), 1);
}

/// The `creds` Secret that `token_store`'s bearerToken points at.
async fn token_secret(client: &Client, ns: &str, token: &str) {
    secret(client, ns, "creds", json!({"data": {"token": b64(token)}})).await;
}

fn token_store(sim: &Sim, namespace: Option<&str>) -> Value {
    json!({
        "remoteNamespace": "remote",
        "server": {"url": sim.https_url(), "caBundle": STANDARD.encode(sim.ca_pem())},
        "auth": {"token": {"bearerToken": {"name": "creds", "key": "token", "namespace": namespace}}}
    })
}

#[tokio::test]
async fn token_auth_over_tls_reads_and_validates() {
    let (sim, client) = sim().await;
    seed(&client).await;
    token_secret(&client, "team-a", ADMIN_TOKEN).await;
    let c = connect(
        &client,
        SecretStoreKind::SecretStore,
        "team-a",
        token_store(&sim, None),
    )
    .await
    .unwrap();
    assert_eq!(c.validate().await.unwrap(), ValidationResult::Ready);
    assert_eq!(get(&*c, "app", Some("user"), false).await.unwrap(), "admin");
}

#[tokio::test]
async fn an_unauthorized_token_fails_validation_with_the_reason() {
    let (sim, client) = sim().await;
    token_secret(&client, "team-a", NOBODY_TOKEN).await;
    let c = connect(
        &client,
        SecretStoreKind::SecretStore,
        "team-a",
        token_store(&sim, None),
    )
    .await
    .unwrap();
    let err = c.validate().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "client is not allowed to get secrets in namespace \"remote\""
    );
    let err = get(&*c, "app", None, false).await.unwrap_err();
    assert!(err.to_string().contains("forbidden"), "{err}");
}

#[tokio::test]
async fn a_secret_store_cannot_read_credentials_from_another_namespace() {
    let (sim, client) = sim().await;
    token_secret(&client, "remote", ADMIN_TOKEN).await;
    let err = connect(
        &client,
        SecretStoreKind::SecretStore,
        "team-a",
        token_store(&sim, Some("remote")),
    )
    .await
    .err()
    .unwrap();
    assert!(matches!(err, ProviderError::InvalidConfig(_)), "{err}");
}

#[tokio::test]
async fn referent_cluster_store_resolves_credentials_in_the_object_namespace() {
    let (sim, client) = sim().await;
    seed(&client).await;
    token_secret(&client, "team-a", ADMIN_TOKEN).await;
    // The store controller has no object namespace: validation cannot be determined.
    let c = connect(
        &client,
        SecretStoreKind::ClusterSecretStore,
        "",
        token_store(&sim, None),
    )
    .await
    .unwrap();
    assert_eq!(c.validate().await.unwrap(), ValidationResult::Unknown);
    assert!(get(&*c, "app", None, false).await.is_err());
    // From team-a, the token Secret of team-a is used.
    let c = connect(
        &client,
        SecretStoreKind::ClusterSecretStore,
        "team-a",
        token_store(&sim, None),
    )
    .await
    .unwrap();
    assert_eq!(get(&*c, "app", Some("user"), false).await.unwrap(), "admin");
    // From a namespace without the credentials Secret, building fails.
    let err = connect(
        &client,
        SecretStoreKind::ClusterSecretStore,
        "remote",
        token_store(&sim, None),
    )
    .await
    .err()
    .unwrap();
    assert!(
        err.to_string()
            .contains("cannot get Kubernetes secret \"creds\""),
        "{err}"
    );
}

#[tokio::test]
async fn kubeconfig_auth_ref_connects_with_its_own_credentials() {
    let (sim, client) = sim().await;
    seed(&client).await;
    let kubeconfig = kubeconfig_yaml(&sim.https_url(), sim.ca_pem(), ADMIN_TOKEN);
    secret(
        &client,
        "team-a",
        "kubeconfig",
        json!({"data": {"config": b64(&kubeconfig)}}),
    )
    .await;
    let c = connect(
        &client,
        SecretStoreKind::SecretStore,
        "team-a",
        json!({"remoteNamespace": "remote", "authRef": {"name": "kubeconfig", "key": "config"}}),
    )
    .await
    .unwrap();
    assert_eq!(c.validate().await.unwrap(), ValidationResult::Ready);
    assert_eq!(
        get(&*c, "app", Some("file.png"), false).await.unwrap(),
        "PNG"
    );
}
