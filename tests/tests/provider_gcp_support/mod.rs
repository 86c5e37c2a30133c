//! Shared setup of the gcpsm provider suites: a simulator for credential Secrets and
//! ServiceAccount tokens, the Google fake, and clients built from store specs.
#![allow(dead_code)]

use controller::provider::gcp::{Endpoints, GcpProvider};
use controller::provider::{ClientContext, Provider, ProviderError, SecretsClient, StoreInfo};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, ServiceAccount};
use kube::api::PostParams;
use kube::{Api, Client};
use serde_json::{Value, json};
use shared::api::v1::{ExternalSecretDataRemoteRef, SecretStoreKind};
use tests::fakes::gcp::{Access, FakeGcp, service_account_principal};
use tests::sim::Sim;

pub const PROJECT: &str = "proj-a";
pub const NUMBER: u64 = 424242424242;
pub const SA: &str = "eso@proj-a.iam.gserviceaccount.com";

pub struct Setup {
    pub sim: Sim,
    pub kube: Client,
    pub fake: FakeGcp,
}

pub async fn setup() -> Setup {
    let sim = Sim::start().await.unwrap();
    let kube = sim.client();
    for ns in ["team-a", "team-b"] {
        let n: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
        Api::<Namespace>::all(kube.clone())
            .create(&PostParams::default(), &n)
            .await
            .unwrap();
    }
    let fake = FakeGcp::start().await.unwrap();
    fake.add_project(PROJECT, NUMBER);
    Setup { sim, kube, fake }
}

impl Setup {
    /// Stores a service-account key for `email` in `ns/gcp-key` (key `sa.json`).
    pub async fn key_secret(&self, ns: &str, name: &str, email: &str, access: Option<Access>) {
        let key = self.fake.service_account_key(email, PROJECT);
        if let Some(a) = access {
            self.fake
                .grant(&service_account_principal(email), PROJECT, a);
        }
        let s: Secret = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": ns},
            "stringData": {"sa.json": key}
        }))
        .unwrap();
        let api = Api::<Secret>::namespaced(self.kube.clone(), ns);
        let _ = api.delete(name, &Default::default()).await;
        api.create(&PostParams::default(), &s).await.unwrap();
    }

    pub async fn service_account(&self, ns: &str, name: &str, annotations: Value) {
        let sa: ServiceAccount = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": ns, "annotations": annotations}
        }))
        .unwrap();
        Api::<ServiceAccount>::namespaced(self.kube.clone(), ns)
            .create(&PostParams::default(), &sa)
            .await
            .unwrap();
    }

    /// Creates (or replaces) the ConfigMap `ns/name` with one key.
    pub async fn config_map(&self, ns: &str, name: &str, key: &str, value: &str) {
        let cm: ConfigMap = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": ns},
            "data": {key: value}
        }))
        .unwrap();
        let api = Api::<ConfigMap>::namespaced(self.kube.clone(), ns);
        let _ = api.delete(name, &Default::default()).await;
        api.create(&PostParams::default(), &cm).await.unwrap();
    }

    /// Creates (or replaces) the Secret `ns/name` with string data.
    pub async fn secret(&self, ns: &str, name: &str, data: Value) {
        let s: Secret = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": ns},
            "stringData": data
        }))
        .unwrap();
        let api = Api::<Secret>::namespaced(self.kube.clone(), ns);
        let _ = api.delete(name, &Default::default()).await;
        api.create(&PostParams::default(), &s).await.unwrap();
    }

    /// A token of `ns/sa` signed by the simulator's issuer, standing in for an external OIDC
    /// identity provider's token.
    pub fn external_jwt(&self, ns: &str, sa: &str, audience: &str) -> String {
        self.sim
            .shared()
            .tokens_issuer
            .issue(ns, sa, "uid-ext", &[audience.to_string()], 3600, None)
            .unwrap()
            .0
    }

    pub fn ctx(&self, kind: SecretStoreKind, object_ns: &str, provider: Value) -> ClientContext {
        let spec = serde_json::from_value(json!({"provider": {"gcpsm": provider}})).unwrap();
        ClientContext::new(
            self.kube.clone(),
            StoreInfo {
                kind,
                name: "gcp".into(),
                namespace: (kind == SecretStoreKind::SecretStore).then(|| "team-a".to_string()),
                uid: "uid".into(),
                generation: 1,
                spec,
            },
            object_ns.to_string(),
        )
    }

    pub async fn connect_as(
        &self,
        kind: SecretStoreKind,
        object_ns: &str,
        provider: Value,
    ) -> Result<Box<dyn SecretsClient>, ProviderError> {
        GcpProvider::with_endpoints(Endpoints::all_at(&self.fake.url()))
            .new_client(&self.ctx(kind, object_ns, provider))
            .await
    }

    /// A SecretStore in team-a authenticated with the key in `team-a/gcp-key`.
    pub async fn key_client(&self, extra: Value) -> Box<dyn SecretsClient> {
        let mut provider = json!({
            "projectID": PROJECT,
            "auth": {"secretRef": {"secretAccessKeySecretRef": {"name": "gcp-key", "key": "sa.json"}}}
        });
        if let (Some(p), Some(e)) = (provider.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        self.connect_as(SecretStoreKind::SecretStore, "team-a", provider)
            .await
            .unwrap()
    }
}

pub fn r(
    key: &str,
    property: Option<&str>,
    version: Option<&str>,
    fetch: bool,
) -> ExternalSecretDataRemoteRef {
    serde_json::from_value(json!({
        "key": key,
        "property": property,
        "version": version,
        "metadataPolicy": if fetch { "Fetch" } else { "None" },
    }))
    .unwrap()
}

pub async fn get(
    c: &dyn SecretsClient,
    key: &str,
    property: Option<&str>,
    version: Option<&str>,
    fetch: bool,
) -> Result<String, ProviderError> {
    c.get_secret(&r(key, property, version, fetch))
        .await
        .map(|v| String::from_utf8(v.into_vec()).unwrap())
}
