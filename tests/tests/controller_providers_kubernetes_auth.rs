//! Kubernetes provider authentication against the simulator: `auth.serviceAccount` (a
//! TokenRequest for that account, which the apiserver then authenticates) and `auth.cert` (an
//! x509 client certificate verified by the simulator's client-CA listener).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use controller::provider::kubernetes::KubernetesProvider;
use controller::provider::{
    ClientContext, Provider, ProviderError, SecretsClient, StoreInfo, ValidationResult,
};
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use kube::api::PostParams;
use kube::{Api, Client};
use serde_json::{Value, json};
use shared::api::v1::{ExternalSecretDataRemoteRef, SecretStoreKind};
use tests::sim::Sim;

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
    let s: Secret = serde_json::from_value(json!({
        "metadata": {"name": "app", "namespace": "remote"},
        "stringData": {"user": "admin"}
    }))
    .unwrap();
    Api::<Secret>::namespaced(client.clone(), "remote")
        .create(&PostParams::default(), &s)
        .await
        .unwrap();
    (sim, client)
}

async fn connect(
    client: &Client,
    provider: Value,
) -> Result<Box<dyn SecretsClient>, ProviderError> {
    let spec = serde_json::from_value(json!({"provider": {"kubernetes": provider}})).unwrap();
    KubernetesProvider::new()
        .new_client(&ClientContext::new(
            client.clone(),
            StoreInfo {
                kind: SecretStoreKind::SecretStore,
                name: "k8s".into(),
                namespace: Some("team-a".into()),
                uid: "uid".into(),
                generation: 1,
                spec,
            },
            "team-a".to_string(),
        ))
        .await
}

async fn read_user(c: &dyn SecretsClient) -> Result<String, ProviderError> {
    let r: ExternalSecretDataRemoteRef =
        serde_json::from_value(json!({"key": "app", "property": "user"})).unwrap();
    c.get_secret(&r)
        .await
        .map(|v| String::from_utf8(v.into_vec()).unwrap())
}

fn b64(s: &str) -> String {
    STANDARD.encode(s)
}

#[tokio::test]
async fn service_account_auth_talks_as_that_service_account() {
    let (sim, client) = sim().await;
    let sa: ServiceAccount =
        serde_json::from_value(json!({"metadata": {"name": "reader", "namespace": "team-a"}}))
            .unwrap();
    Api::<ServiceAccount>::namespaced(client.clone(), "team-a")
        .create(&PostParams::default(), &sa)
        .await
        .unwrap();
    let store = |name: &str| {
        json!({
            "remoteNamespace": "remote",
            "server": {"url": sim.https_url(), "caBundle": b64(sim.ca_pem())},
            "auth": {"serviceAccount": {"name": name}}
        })
    };
    let tokens_before = sim.counters().requests_for("create", "serviceaccounts");
    let c = connect(&client, store("reader")).await.unwrap();
    assert!(
        sim.counters().requests_for("create", "serviceaccounts") > tokens_before,
        "the client must be built from a TokenRequest"
    );
    // The simulator grants Secrets to admins only, so the service account is authenticated
    // (not 401) and then refused by name: that name proves whose token was sent.
    let err = read_user(&*c).await.unwrap_err().to_string();
    assert!(
        err.contains(
            "User \"system:serviceaccount:team-a:reader\" cannot get resource \"secrets\""
        ),
        "{err}"
    );
    let err = c.validate().await.unwrap_err().to_string();
    assert!(err.contains("not allowed to get secrets"), "{err}");

    // A service account that does not exist cannot yield a client.
    let err = connect(&client, store("ghost")).await.err().unwrap();
    assert!(err.to_string().contains("ghost"), "{err}");
}

async fn cert_secret(client: &Client, name: &str, crt: &str, key: &str) {
    let s: Secret = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "team-a"},
        "stringData": {"tls.crt": crt, "tls.key": key}
    }))
    .unwrap();
    Api::<Secret>::namespaced(client.clone(), "team-a")
        .create(&PostParams::default(), &s)
        .await
        .unwrap();
}

#[tokio::test]
async fn client_certificate_auth_reads_as_the_certificate_subject() {
    let (sim, client) = sim().await;
    let certs = sim.serve_client_certs().await.unwrap();
    let (crt, key) = certs.issue("eso-admin", &["system:masters"]).unwrap();
    cert_secret(&client, "admin-cert", &crt, &key).await;
    let (crt, key) = certs.issue("plain-user", &[]).unwrap();
    cert_secret(&client, "user-cert", &crt, &key).await;
    let store = |secret: &str| {
        json!({
            "remoteNamespace": "remote",
            "server": {"url": certs.url(), "caBundle": b64(certs.server_ca_pem())},
            "auth": {"cert": {
                "clientCert": {"name": secret, "key": "tls.crt"},
                "clientKey": {"name": secret, "key": "tls.key"}
            }}
        })
    };

    let admin = connect(&client, store("admin-cert")).await.unwrap();
    assert_eq!(admin.validate().await.unwrap(), ValidationResult::Ready);
    assert_eq!(read_user(&*admin).await.unwrap(), "admin");

    // Same listener, a certificate without system:masters: authenticated as its CN, refused.
    let user = connect(&client, store("user-cert")).await.unwrap();
    let err = read_user(&*user).await.unwrap_err().to_string();
    assert!(
        err.contains("User \"plain-user\" cannot get resource \"secrets\""),
        "{err}"
    );

    // An admin certificate from a CA the listener does not trust gets nowhere.
    let other = sim.serve_client_certs().await.unwrap();
    let (crt, key) = other.issue("eso-admin", &["system:masters"]).unwrap();
    cert_secret(&client, "foreign-cert", &crt, &key).await;
    let foreign = connect(&client, store("foreign-cert")).await.unwrap();
    assert!(read_user(&*foreign).await.is_err());
}
