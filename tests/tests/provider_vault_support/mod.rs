//! Shared pieces of the Vault provider suites: a simulator for credential Secrets and
//! ServiceAccount tokens, an OpenBao dev server, store clients built straight from a spec, and
//! a small PKI for the TLS listeners and cert auth.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use controller::provider::vault::VaultProvider;
use controller::provider::{ClientContext, Provider, ProviderError, SecretsClient, StoreInfo};
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use kube::api::PostParams;
use kube::{Api, Client};
use serde_json::{Value, json};
use shared::api::v1::ExternalSecretDataRemoteRef;
use shared::api::v1::SecretStoreKind;
use shared::api::v1alpha1::PushSecretData;
use tests::emulators::Bao;
use tests::sim::Sim;

/// Namespace of the stores and their credential Secrets.
pub const NS: &str = "team-a";

pub struct Fixture {
    pub sim: Sim,
    pub kube: Client,
    pub bao: Bao,
}

impl Fixture {
    pub async fn start() -> Fixture {
        Self::with_bao(Bao::start().await.expect("start bao")).await
    }

    pub async fn with_bao(bao: Bao) -> Fixture {
        let sim = Sim::start().await.expect("simulator");
        let kube = sim.client();
        let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NS}})).unwrap();
        Api::<Namespace>::all(kube.clone())
            .create(&PostParams::default(), &ns)
            .await
            .unwrap();
        Fixture { sim, kube, bao }
    }

    /// A Secret in [`NS`] with string data.
    pub async fn secret(&self, name: &str, data: &[(&str, &str)]) {
        let data: serde_json::Map<String, Value> = data
            .iter()
            .map(|(k, v)| (k.to_string(), json!(STANDARD.encode(v))))
            .collect();
        let s: Secret = serde_json::from_value(
            json!({"metadata": {"name": name, "namespace": NS}, "data": data}),
        )
        .unwrap();
        let api = Api::<Secret>::namespaced(self.kube.clone(), NS);
        let _ = api.delete(name, &Default::default()).await;
        api.create(&PostParams::default(), &s).await.unwrap();
    }

    pub async fn service_account(&self, name: &str) {
        let sa: ServiceAccount =
            serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
        Api::<ServiceAccount>::namespaced(self.kube.clone(), NS)
            .create(&PostParams::default(), &sa)
            .await
            .unwrap();
    }

    /// A client for a SecretStore in [`NS`] with `vault` as its provider block.
    pub async fn client(&self, vault: Value) -> Result<Box<dyn SecretsClient>, ProviderError> {
        self.client_of(SecretStoreKind::SecretStore, vault, NS)
            .await
    }

    pub async fn client_of(
        &self,
        kind: SecretStoreKind,
        vault: Value,
        object_namespace: &str,
    ) -> Result<Box<dyn SecretsClient>, ProviderError> {
        let spec = serde_json::from_value(json!({"provider": {"vault": vault}})).unwrap();
        VaultProvider::new()
            .new_client(&ClientContext::new(
                self.kube.clone(),
                StoreInfo {
                    kind,
                    name: "vault".into(),
                    namespace: (kind == SecretStoreKind::SecretStore).then(|| NS.to_string()),
                    uid: "uid-vault".into(),
                    generation: 1,
                    spec,
                },
                object_namespace.to_string(),
            ))
            .await
    }

    /// A store block with the root token from Secret `root-token`, created on first use.
    pub async fn token_store(&self, extra: Value) -> Value {
        self.secret("root-token", &[("token", Bao::ROOT_TOKEN)])
            .await;
        let mut v = json!({"server": self.bao.addr(),
            "auth": {"tokenSecretRef": {"name": "root-token", "key": "token"}}});
        merge(&mut v, extra);
        v
    }
}

/// Shallow-merges the fields of `extra` into `into`.
pub fn merge(into: &mut Value, extra: Value) {
    if let (Some(a), Value::Object(b)) = (into.as_object_mut(), extra) {
        a.extend(b);
    }
}

pub fn remote(key: &str) -> ExternalSecretDataRemoteRef {
    ExternalSecretDataRemoteRef {
        key: key.into(),
        ..Default::default()
    }
}

pub fn remote_prop(key: &str, property: &str) -> ExternalSecretDataRemoteRef {
    ExternalSecretDataRemoteRef {
        key: key.into(),
        property: Some(property.into()),
        ..Default::default()
    }
}

pub fn text(v: shared::secret_value::SecretValue) -> String {
    String::from_utf8(v.into_vec()).unwrap()
}

pub fn entry(secret_key: Option<&str>, remote_key: &str, property: Option<&str>) -> PushSecretData {
    serde_json::from_value(json!({"match": {
        "secretKey": secret_key,
        "remoteRef": {"remoteKey": remote_key, "property": property}
    }}))
    .unwrap()
}

/// A local Secret as PushSecret hands it to the provider.
pub fn local(data: &[(&str, &str)]) -> Secret {
    let data: serde_json::Map<String, Value> = data
        .iter()
        .map(|(k, v)| (k.to_string(), json!(STANDARD.encode(v))))
        .collect();
    serde_json::from_value(json!({"metadata": {"name": "src"}, "data": data})).unwrap()
}

/// A CA with a server certificate for 127.0.0.1 and a client certificate.
pub struct Pki {
    pub ca_pem: String,
    pub server_cert: String,
    pub server_key: String,
    pub client_cert: String,
    pub client_key: String,
}

impl Pki {
    pub fn new() -> Pki {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "vault-test-ca");
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca, ca_key);

        let server_key = rcgen::KeyPair::generate().unwrap();
        let mut server = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        server
            .subject_alt_names
            .push(rcgen::SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        let server_cert = server.signed_by(&server_key, &issuer).unwrap();

        let client_key = rcgen::KeyPair::generate().unwrap();
        let mut client = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        client
            .distinguished_name
            .push(rcgen::DnType::CommonName, "eso-client");
        client.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let client_cert = client.signed_by(&client_key, &issuer).unwrap();
        Pki {
            ca_pem: ca_cert.pem(),
            server_cert: server_cert.pem(),
            server_key: server_key.serialize_pem(),
            client_cert: client_cert.pem(),
            client_key: client_key.serialize_pem(),
        }
    }

    pub fn ca_bundle_b64(&self) -> String {
        STANDARD.encode(&self.ca_pem)
    }
}
