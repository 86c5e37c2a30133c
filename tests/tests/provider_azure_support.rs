//! Shared setup of the Azure Key Vault provider suites: a simulator for credential Secrets and
//! ServiceAccount tokens, the Azure fake, and store specs pointing at it through
//! `customCloudConfig` (the way ESO users reach private clouds).
#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use controller::provider::azure::AzureProvider;
use controller::provider::{ClientContext, Provider, ProviderError, SecretsClient, StoreInfo};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::PostParams;
use kube::{Api, Client};
use serde_json::{Value, json};
use shared::api::v1::{ExternalSecretDataRemoteRef, SecretStoreKind};
use tests::fakes::azure::{AzureFake, ClientCredential};
use tests::sim::Sim;

pub const TENANT: &str = "8f3c3e4a-0d7e-4c52-9d0e-1a2b3c4d5e6f";
pub const CLIENT_ID: &str = "6a1f2b3c-aaaa-bbbb-cccc-000000000001";
pub const CLIENT_SECRET: &str = "sp-secret-value";

pub struct Setup {
    pub sim: Sim,
    pub client: Client,
    pub fake: AzureFake,
}

pub async fn setup() -> Setup {
    let sim = Sim::start().await.unwrap();
    let client = sim.client();
    for ns in ["team-a", "team-b"] {
        let n: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &n)
            .await
            .unwrap();
    }
    let fake = AzureFake::start(TENANT).await.unwrap();
    fake.add_client(CLIENT_ID, ClientCredential::Secret(CLIENT_SECRET.into()));
    credentials(&client, "team-a", "azure-creds", CLIENT_SECRET).await;
    Setup { sim, client, fake }
}

pub async fn secret(client: &Client, ns: &str, name: &str, data: &[(&str, &str)]) {
    let data: serde_json::Map<String, Value> = data
        .iter()
        .map(|(k, v)| (k.to_string(), json!(STANDARD.encode(v))))
        .collect();
    let s: Secret =
        serde_json::from_value(json!({"metadata": {"name": name, "namespace": ns}, "data": data}))
            .unwrap();
    Api::<Secret>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &s)
        .await
        .unwrap();
}

pub async fn credentials(client: &Client, ns: &str, name: &str, client_secret: &str) {
    secret(
        client,
        ns,
        name,
        &[
            ("client-id", CLIENT_ID),
            ("client-secret", client_secret),
            ("tenant-id", TENANT),
        ],
    )
    .await;
}

/// A ServicePrincipal store (client secret) whose endpoints are the fake's.
pub fn sp_store(fake: &AzureFake) -> Value {
    json!({
        "vaultUrl": fake.url(),
        "tenantId": TENANT,
        "useAzureSDK": true,
        "customCloudConfig": {"activeDirectoryEndpoint": fake.url(), "keyVaultEndpoint": "https://vault.azure.net"},
        "authSecretRef": {
            "clientId": {"name": "azure-creds", "key": "client-id"},
            "clientSecret": {"name": "azure-creds", "key": "client-secret"},
        },
    })
}

pub fn ctx(
    client: &Client,
    kind: SecretStoreKind,
    object_ns: &str,
    provider: Value,
) -> ClientContext {
    let spec = serde_json::from_value(json!({"provider": {"azurekv": provider}})).unwrap();
    ClientContext::new(
        client.clone(),
        StoreInfo {
            kind,
            name: "azure".into(),
            namespace: (kind == SecretStoreKind::SecretStore).then(|| "team-a".to_string()),
            uid: "uid".into(),
            generation: 1,
            spec,
        },
        object_ns.to_string(),
    )
}

pub async fn connect(
    client: &Client,
    provider: Value,
) -> Result<Box<dyn SecretsClient>, ProviderError> {
    AzureProvider::new()
        .new_client(&ctx(
            client,
            SecretStoreKind::SecretStore,
            "team-a",
            provider,
        ))
        .await
}

pub fn r(key: &str) -> ExternalSecretDataRemoteRef {
    serde_json::from_value(json!({"key": key})).unwrap()
}

pub fn rr(v: Value) -> ExternalSecretDataRemoteRef {
    serde_json::from_value(v).unwrap()
}

pub async fn text(
    c: &dyn SecretsClient,
    r: &ExternalSecretDataRemoteRef,
) -> Result<String, ProviderError> {
    c.get_secret(r)
        .await
        .map(|v| String::from_utf8(v.into_vec()).unwrap())
}
