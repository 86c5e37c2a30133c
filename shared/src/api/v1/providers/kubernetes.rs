//! `spec.provider.kubernetes`: Secrets of a (possibly remote) Kubernetes cluster.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::meta::{CAProvider, SecretKeySelector, ServiceAccountSelector};
use crate::api::schema;

/// Kubernetes backend configuration.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesProvider {
    /// API server to connect to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<KubernetesServer>,
    /// Credentials; exactly one method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<KubernetesAuth>,
    /// Secret holding a kubeconfig, used instead of server/auth.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_ref: Option<SecretKeySelector>,
    /// Namespace the Secrets are read from.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::dns_label, extend("default" = "default"))]
    pub remote_namespace: Option<String>,
}

impl KubernetesProvider {
    /// Remote namespace with the CRD default applied.
    pub fn effective_remote_namespace(&self) -> &str {
        self.remote_namespace.as_deref().unwrap_or("default")
    }
}

/// Address and trust of the API server.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesServer {
    /// API server URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "kubernetes.default"))]
    pub url: Option<String>,
    /// PEM CA bundle (base64) trusted for the API server.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::byte_format)]
    pub ca_bundle: Option<String>,
    /// Secret or ConfigMap holding the CA bundle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_provider: Option<CAProvider>,
}

/// Authentication against the API server; exactly one field is set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("minProperties" = 1, "maxProperties" = 1))]
pub struct KubernetesAuth {
    /// Client certificate authentication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<KubernetesCertAuth>,
    /// Bearer token authentication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<KubernetesTokenAuth>,
    /// A token requested for this ServiceAccount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account: Option<ServiceAccountSelector>,
}

/// Client certificate and key.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesCertAuth {
    /// Secret key holding the PEM certificate.
    pub client_cert: SecretKeySelector,
    /// Secret key holding the PEM private key.
    pub client_key: SecretKeySelector,
}

/// Static bearer token.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesTokenAuth {
    /// Secret key holding the token.
    pub bearer_token: SecretKeySelector,
}
