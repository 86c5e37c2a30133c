//! Azure Key Vault end to end: the controller runs in-process against the simulator, the store
//! points at the Azure fake through `customCloudConfig`, as ESO users point at private clouds.

#[path = "controller_es_support.rs"]
mod support;

use kube::Api;
use kube::api::PostParams;
use serde_json::{Value, json};
use shared::api::v1::{ClusterSecretStore, SecretStore};
use support::*;
use tests::fakes::azure::{AzureFake, ClientCredential};

const TENANT: &str = "8f3c3e4a-0d7e-4c52-9d0e-1a2b3c4d5e6f";
const CLIENT_ID: &str = "6a1f2b3c-aaaa-bbbb-cccc-000000000001";

async fn creds(env: &Env, ns: &str, name: &str, secret: &str) {
    env.create_secret(
        ns,
        json!({"metadata": {"name": name}, "stringData": {"client-id": CLIENT_ID, "client-secret": secret}}),
    )
    .await;
}

fn provider(fake: &AzureFake, creds: &str) -> Value {
    json!({"azurekv": {
        "vaultUrl": fake.url(),
        "tenantId": TENANT,
        "useAzureSDK": true,
        "customCloudConfig": {"activeDirectoryEndpoint": fake.url()},
        "authSecretRef": {
            "clientId": {"name": creds, "key": "client-id"},
            "clientSecret": {"name": creds, "key": "client-secret"},
        },
    }})
}

async fn store(env: &Env, ns: &str, name: &str, provider: Value) {
    let s: SecretStore = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": name, "namespace": ns}, "spec": {"provider": provider}
    }))
    .unwrap();
    Api::<SecretStore>::namespaced(env.client.clone(), ns)
        .create(&PostParams::default(), &s)
        .await
        .unwrap();
}

async fn store_ready(env: &Env, ns: &str, name: &str) -> (String, String, String) {
    let api = Api::<SecretStore>::namespaced(env.client.clone(), ns);
    eventually(&format!("store {name} condition"), || async {
        let s = api.get(name).await.ok()?;
        let c = s
            .status?
            .conditions?
            .into_iter()
            .find(|c| c.type_ == "Ready")?;
        Some((
            c.status,
            c.reason.unwrap_or_default(),
            c.message.unwrap_or_default(),
        ))
    })
    .await
}

async fn fake() -> AzureFake {
    let f = AzureFake::start(TENANT).await.unwrap();
    f.add_client(CLIENT_ID, ClientCredential::Secret("right".into()));
    f
}

#[tokio::test]
async fn syncs_every_object_kind_with_one_call_per_remote_reference() {
    let f = fake().await;
    f.put_secret("db", r#"{"user":"admin","pass":"one"}"#, &[]);
    f.put_secret("cfg", r#"{"host":"db.local","port":5432}"#, &[]);
    f.put_secret("a1", "x1", &[("team", "a")]);
    f.put_secret("a2", "x2", &[("team", "a")]);
    f.put_secret("b1", "y1", &[("team", "b")]);
    f.put_key(
        "signing",
        json!({"kty": "EC", "crv": "P-256", "x": "xx", "y": "yy", "d": "dd"}),
        &[],
    );
    let ck = rcgen::generate_simple_self_signed(vec!["example.com".into()]).unwrap();
    f.put_certificate("tls", ck.cert.der(), &[]);
    let env = Env::start().await;
    env.namespace("apps").await;
    creds(&env, "apps", "azure-creds", "right").await;
    store(&env, "apps", "vault", provider(&f, "azure-creds")).await;
    assert_eq!(store_ready(&env, "apps", "vault").await.0, "True");

    env.create_es(
        "apps",
        "all",
        json!({
            "refreshInterval": "1h",
            "secretStoreRef": {"name": "vault", "kind": "SecretStore"},
            "target": {"name": "out"},
            "data": [
                {"secretKey": "user", "remoteRef": {"key": "db", "property": "user"}},
                {"secretKey": "user-again", "remoteRef": {"key": "db", "property": "user"}},
                {"secretKey": "pass", "remoteRef": {"key": "db", "property": "pass"}},
                {"secretKey": "jwk", "remoteRef": {"key": "key/signing"}},
                {"secretKey": "tls.der", "remoteRef": {"key": "cert/tls"}},
            ],
            "dataFrom": [
                {"extract": {"key": "cfg"}},
                {"find": {"tags": {"team": "a"}}},
            ],
        }),
    )
    .await;
    let s = env
        .wait_secret("apps", "out", |s| {
            data_of(s).get("pass").map(String::as_str) == Some("one")
        })
        .await;
    let d = data_of(&s);
    assert_eq!(d["user"], "admin");
    assert_eq!(d["user-again"], "admin");
    assert_eq!(d["host"], "db.local");
    assert_eq!(d["port"], "5432");
    assert_eq!((d["a1"].as_str(), d["a2"].as_str()), ("x1", "x2"));
    assert!(!d.contains_key("b1"));
    let jwk: Value = serde_json::from_str(&d["jwk"]).unwrap();
    assert_eq!(
        (jwk["kty"].as_str(), jwk["x"].as_str()),
        (Some("EC"), Some("xx"))
    );
    let der = &s.data.as_ref().unwrap()["tls.der"].0;
    assert_eq!(der.as_slice(), ck.cert.der().as_ref());

    // One forced refresh: one call per distinct remote reference, no new token.
    f.put_secret("db", r#"{"user":"admin","pass":"two"}"#, &[]);
    // Past the controller's 1 s read-reuse window, so the refresh really reads.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    f.reset_calls();
    env.patch_es(
        "apps",
        "all",
        json!({"metadata": {"annotations": {"external-secrets.io/force-sync": "1"}}}),
    )
    .await;
    env.wait_secret("apps", "out", |s| {
        data_of(s).get("pass").map(String::as_str) == Some("two")
    })
    .await;
    let calls = f.all_calls();
    // db#user (twice, shared), db#pass, cfg, a1, a2 | the key | the certificate | one list page.
    assert_eq!(calls.get("GetSecret"), Some(&5), "{calls:?}");
    assert_eq!(calls.get("GetKey"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("GetCertificate"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("GetSecrets"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("Token"), None, "{calls:?}");
}

#[tokio::test]
async fn bad_credentials_make_the_store_not_ready_with_the_reason() {
    let f = fake().await;
    let env = Env::start().await;
    env.namespace("apps").await;
    creds(&env, "apps", "wrong", "guess").await;
    store(&env, "apps", "vault", provider(&f, "wrong")).await;
    let (status, reason, message) = store_ready(&env, "apps", "vault").await;
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "InvalidProviderConfig"),
        "{message}"
    );
    assert!(!message.contains("guess"));
    // Credentials that do not exist at all: same.
    store(&env, "apps", "missing", provider(&f, "absent")).await;
    let (status, reason, _) = store_ready(&env, "apps", "missing").await;
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "InvalidProviderConfig")
    );
}

#[tokio::test]
async fn provider_errors_leave_the_target_untouched() {
    let f = fake().await;
    f.put_secret("db", "one", &[]);
    let env = Env::start().await;
    env.namespace("apps").await;
    creds(&env, "apps", "azure-creds", "right").await;
    store(&env, "apps", "vault", provider(&f, "azure-creds")).await;
    env.create_es(
        "apps",
        "es",
        json!({
            "refreshInterval": "1h",
            "secretStoreRef": {"name": "vault"},
            "target": {"name": "out"},
            "data": [{"secretKey": "v", "remoteRef": {"key": "db"}}],
        }),
    )
    .await;
    env.wait_secret("apps", "out", |s| data_of(s) == kv(&[("v", "one")]))
        .await;
    // The principal loses access, and the value changes meanwhile.
    f.put_secret("db", "two", &[]);
    f.deny(CLIENT_ID);
    // Past the controller's 1 s read-reuse window, so the refresh really reads.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    env.patch_es(
        "apps",
        "es",
        json!({"metadata": {"annotations": {"external-secrets.io/force-sync": "1"}}}),
    )
    .await;
    let es = env
        .wait_ready("apps", "es", "False", "SecretSyncedError")
        .await;
    let msg = es.status.unwrap().conditions.unwrap()[0]
        .message
        .clone()
        .unwrap_or_default();
    assert!(!msg.contains("two"), "{msg}");
    let s = env.secret("apps", "out").await.unwrap();
    assert_eq!(data_of(&s), kv(&[("v", "one")]));
}

#[tokio::test]
async fn cluster_store_with_workload_identity() {
    let f = fake().await;
    f.put_secret("db", "wi-value", &[]);
    let env = Env::start().await;
    env.namespace("eso").await;
    env.namespace("apps").await;
    let jwks = env.sim.shared().tokens_issuer.jwks();
    f.add_client(
        "wi-client",
        ClientCredential::Federated {
            issuer: tests::sim::ISSUER.into(),
            subject: "system:serviceaccount:eso:azure-wi".into(),
            jwks,
        },
    );
    let sa: k8s_openapi::api::core::v1::ServiceAccount = serde_json::from_value(json!({
        "metadata": {"name": "azure-wi", "namespace": "eso", "annotations": {
            "azure.workload.identity/client-id": "wi-client",
            "azure.workload.identity/tenant-id": TENANT,
        }}
    }))
    .unwrap();
    Api::<k8s_openapi::api::core::v1::ServiceAccount>::namespaced(env.client.clone(), "eso")
        .create(&PostParams::default(), &sa)
        .await
        .unwrap();
    let css: ClusterSecretStore = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
        "metadata": {"name": "azure-wi"},
        "spec": {"provider": {"azurekv": {
            "authType": "WorkloadIdentity",
            "vaultUrl": f.url(),
            "useAzureSDK": true,
            "customCloudConfig": {"activeDirectoryEndpoint": f.url()},
            "serviceAccountRef": {"name": "azure-wi", "namespace": "eso"},
        }}}
    }))
    .unwrap();
    Api::<ClusterSecretStore>::all(env.client.clone())
        .create(&PostParams::default(), &css)
        .await
        .unwrap();
    env.create_es(
        "apps",
        "es",
        json!({
            "secretStoreRef": {"name": "azure-wi", "kind": "ClusterSecretStore"},
            "target": {"name": "out"},
            "data": [{"secretKey": "v", "remoteRef": {"key": "db"}}],
        }),
    )
    .await;
    env.wait_secret("apps", "out", |s| data_of(s) == kv(&[("v", "wi-value")]))
        .await;
}
