//! Reference types shared by stores, generators and external secrets.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::schema;

/// Points at one key of a Secret. In a ClusterSecretStore a missing namespace means "the
/// namespace of the ExternalSecret being reconciled" (referent authentication).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeySelector {
    /// Name of the Secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::dns_subdomain)]
    pub name: Option<String>,
    /// Namespace of the Secret; only cluster-scoped resources may point elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::dns_label)]
    pub namespace: Option<String>,
    /// Key inside the Secret's data.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::secret_key)]
    pub key: Option<String>,
}

/// Points at a ServiceAccount whose token is used to authenticate.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountSelector {
    /// Name of the ServiceAccount.
    #[schemars(transform = schema::dns_subdomain)]
    pub name: String,
    /// Namespace of the ServiceAccount; only cluster-scoped resources may point elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::dns_label)]
    pub namespace: Option<String>,
    /// Audiences requested for the token, in addition to the provider's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audiences: Option<Vec<String>>,
}

/// Kind of object holding a CA certificate.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum CAProviderType {
    Secret,
    ConfigMap,
}

/// Where to read a PEM CA bundle from, instead of an inline `caBundle`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CAProvider {
    /// Whether the bundle lives in a Secret or a ConfigMap.
    #[serde(rename = "type")]
    pub type_: CAProviderType,
    /// Name of the Secret or ConfigMap.
    #[schemars(transform = schema::dns_subdomain)]
    pub name: String,
    /// Key holding the PEM data.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::secret_key)]
    pub key: Option<String>,
    /// Namespace of the object; only allowed in cluster-scoped stores.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::dns_label)]
    pub namespace: Option<String>,
}

/// A Secret by name (and optional namespace), without a key.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretReference {
    /// Name of the Secret.
    #[schemars(transform = schema::dns_subdomain)]
    pub name: String,
    /// Namespace of the Secret; only cluster-scoped resources may point elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::dns_label)]
    pub namespace: Option<String>,
}

/// Labels and annotations to stamp on generated objects.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMetadata {
    /// Annotations to set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<std::collections::BTreeMap<String, String>>,
    /// Labels to set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<std::collections::BTreeMap<String, String>>,
}
