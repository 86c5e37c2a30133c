//! The whole CloudNativePG walkthrough with the full controller (ExternalSecret, store and
//! PushSecret reconcilers in-process): the Password generator (01), the ExternalSecret that
//! merges generated credentials into the Secret CloudNativePG owns (02, verbatim), the token
//! Secret of the store (03; the Kubernetes provider stands in for Vault under the same store
//! name) and the PushSecret that copies the whole Secret to the KMS (04, verbatim). A forced
//! refresh rotates the password and the KMS copy follows without waiting for the 24h interval.

#[path = "controller_es_support.rs"]
mod controller_es_support;

use std::collections::BTreeMap;

use controller_es_support::*;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, PostParams};
use serde_json::{Value, json};

const EXAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/vault-cloudnativepg"
);

fn docs(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(format!("{EXAMPLES}/{file}")).unwrap();
    serde_saphyr::from_multiple::<Value>(&text)
        .unwrap()
        .into_iter()
        .filter(|v| !v.is_null())
        .collect()
}

async fn create(env: &Env, doc: &Value) {
    let api_version = doc["apiVersion"].as_str().unwrap();
    let kind = doc["kind"].as_str().unwrap();
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let ar = ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: api_version.into(),
        kind: kind.into(),
        plural: format!("{}s", kind.to_ascii_lowercase()),
    };
    let ns = doc["metadata"]["namespace"].as_str().unwrap_or("default");
    Api::<DynamicObject>::namespaced_with(env.client.clone(), ns, &ar)
        .create(
            &PostParams::default(),
            &serde_json::from_value(doc.clone()).unwrap(),
        )
        .await
        .unwrap_or_else(|e| panic!("create {kind}: {e}"));
}

fn text(s: &k8s_openapi::api::core::v1::Secret) -> BTreeMap<String, String> {
    s.data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(&v.0).into_owned()))
        .collect()
}

async fn kms(env: &Env) -> Option<BTreeMap<String, String>> {
    env.secret("vault", "cluster-example-app")
        .await
        .map(|s| text(&s))
}

#[tokio::test]
async fn walkthrough_merges_generated_credentials_and_pushes_every_rotation() {
    let env = Env::start().await;
    env.namespace("vault").await;
    // What CloudNativePG created before ESO got involved.
    env.create_secret(
        "default",
        json!({"metadata": {"name": "cluster-example-app"},
               "stringData": {"username": "app", "password": "bootstrap", "host": "cluster-example-rw"}}),
    )
    .await;
    for doc in docs("01-password-generator.yaml") {
        create(&env, &doc).await;
    }
    let store = docs("03-vault-store.yaml");
    create(&env, &store[1]).await; // the token Secret, as written
    create(
        &env,
        &json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
                "metadata": {"name": "vault-backend", "namespace": "default"},
                "spec": {"provider": {"kubernetes": {"remoteNamespace": "vault"}}}}),
    )
    .await;
    for doc in docs("02-externalsecret-merge.yaml") {
        create(&env, &doc).await;
    }
    env.wait_ready(
        "default",
        "cluster-example-app-secret",
        "True",
        "SecretSynced",
    )
    .await;
    let merged = text(
        &env.wait_secret("default", "cluster-example-app", |s| {
            text(s)["password"] != "bootstrap"
        })
        .await,
    );
    let password = merged["password"].clone();
    assert_eq!(password.len(), 42);
    // Merge: CloudNativePG's own keys stay, the templated ones follow the password.
    assert_eq!(
        (merged["username"].as_str(), merged["host"].as_str()),
        ("app", "cluster-example-rw")
    );
    assert_eq!(
        merged["pgpass"],
        format!("cluster-example-rw:5432:app:app:{password}")
    );
    assert_eq!(
        merged["uri"],
        format!("postgresql://app:{password}@cluster-example-rw.default:5432/app")
    );
    let target = env.secret("default", "cluster-example-app").await.unwrap();
    assert_eq!(
        target
            .metadata
            .labels
            .unwrap_or_default()
            .get("cnpg.io/reload")
            .map(String::as_str),
        Some("true")
    );

    for doc in docs("04-pushsecret.yaml") {
        create(&env, &doc).await;
    }
    let copy = eventually("KMS copy", || async {
        kms(&env)
            .await
            .filter(|d| d.get("password") == Some(&password))
    })
    .await;
    assert_eq!(copy["username"], "app");
    assert_eq!(copy["jdbc-uri"], merged["jdbc-uri"]);

    // Rotation (a forced refresh stands in for the 24h interval).
    env.patch_es(
        "default",
        "cluster-example-app-secret",
        json!({"metadata": {"annotations": {"external-secrets.io/force-sync": "rotate-1"}}}),
    )
    .await;
    let rotated = eventually("rotated password in the KMS", || async {
        kms(&env).await.filter(|d| d["password"] != password)
    })
    .await;
    let local = text(&env.secret("default", "cluster-example-app").await.unwrap());
    assert_eq!(rotated["password"], local["password"]);
    assert_eq!(
        rotated["pgpass"],
        format!("cluster-example-rw:5432:app:app:{}", local["password"])
    );
}
