//! References and strategy enums used by ExternalSecret, ClusterExternalSecret and PushSecret.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::schema;

/// Group/version every generator reference defaults to.
pub const GENERATORS_API_VERSION: &str = "generators.external-secrets.io/v1alpha1";

/// Kind of store a reference points at.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum SecretStoreKind {
    #[default]
    SecretStore,
    ClusterSecretStore,
}

impl SecretStoreKind {
    /// The kind name as written in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SecretStore => "SecretStore",
            Self::ClusterSecretStore => "ClusterSecretStore",
        }
    }
}

/// Reference to a SecretStore or ClusterSecretStore.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretStoreRef {
    /// Name of the store.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::dns_subdomain)]
    pub name: Option<String>,
    /// Kind of the store; SecretStore when empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<SecretStoreKind>,
}

impl SecretStoreRef {
    /// The kind the controller uses: SecretStore unless ClusterSecretStore is set.
    pub fn effective_kind(&self) -> SecretStoreKind {
        self.kind.unwrap_or_default()
    }
}

/// Generator kinds a `generatorRef` may point at.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum GeneratorKind {
    ACRAccessToken,
    BeyondtrustWorkloadCredentialsDynamicSecret,
    ClusterGenerator,
    CloudsmithAccessToken,
    ECRAuthorizationToken,
    Fake,
    GCRAccessToken,
    GithubAccessToken,
    GitlabDeployToken,
    QuayAccessToken,
    Password,
    SSHKey,
    STSSessionToken,
    UUID,
    VaultDynamicSecret,
    Webhook,
    Grafana,
    MFA,
}

impl GeneratorKind {
    /// The kind name as written in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ACRAccessToken => "ACRAccessToken",
            Self::BeyondtrustWorkloadCredentialsDynamicSecret => {
                "BeyondtrustWorkloadCredentialsDynamicSecret"
            }
            Self::ClusterGenerator => "ClusterGenerator",
            Self::CloudsmithAccessToken => "CloudsmithAccessToken",
            Self::ECRAuthorizationToken => "ECRAuthorizationToken",
            Self::Fake => "Fake",
            Self::GCRAccessToken => "GCRAccessToken",
            Self::GithubAccessToken => "GithubAccessToken",
            Self::GitlabDeployToken => "GitlabDeployToken",
            Self::QuayAccessToken => "QuayAccessToken",
            Self::Password => "Password",
            Self::SSHKey => "SSHKey",
            Self::STSSessionToken => "STSSessionToken",
            Self::UUID => "UUID",
            Self::VaultDynamicSecret => "VaultDynamicSecret",
            Self::Webhook => "Webhook",
            Self::Grafana => "Grafana",
            Self::MFA => "MFA",
        }
    }
}

/// Reference to a generator object that produces values instead of a store.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GeneratorRef {
    /// Group/version of the generator.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "generators.external-secrets.io/v1alpha1"))]
    pub api_version: Option<String>,
    /// Kind of the generator.
    pub kind: GeneratorKind,
    /// Name of the generator object.
    #[schemars(transform = schema::dns_subdomain)]
    pub name: String,
}

impl GeneratorRef {
    /// apiVersion with the CRD default applied.
    pub fn effective_api_version(&self) -> &str {
        self.api_version
            .as_deref()
            .unwrap_or(GENERATORS_API_VERSION)
    }
}

/// How keys returned by the provider are made valid Secret keys.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum ConversionStrategy {
    #[default]
    Default,
    Unicode,
}

/// How fetched values are decoded before they are stored.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum DecodingStrategy {
    Auto,
    Base64,
    #[serde(rename = "Base64URL")]
    Base64Url,
    #[default]
    None,
}

/// Whether the provider returns the value or its metadata (tags, labels).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum MetadataPolicy {
    #[default]
    None,
    Fetch,
}

/// What to do when a fetched value contains a NUL byte.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum NullBytePolicy {
    #[default]
    Ignore,
    Fail,
}

/// Replace key names matching a regular expression.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RewriteRegexp {
    /// RE2 expression matched against each key.
    pub source: String,
    /// Replacement; may use capture groups such as `$1`.
    pub target: String,
}

/// Rename keys with a template; the key is available as `.value`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RewriteTransform {
    /// Template producing the new key name.
    pub template: String,
}
