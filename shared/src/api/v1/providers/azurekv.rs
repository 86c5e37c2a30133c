//! `spec.provider.azurekv`: Azure Key Vault.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::meta::{SecretKeySelector, ServiceAccountSelector};

/// How the store authenticates to Azure.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum AzureAuthType {
    #[default]
    ServicePrincipal,
    ManagedIdentity,
    WorkloadIdentity,
}

/// Azure cloud the vault lives in.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum AzureEnvironmentType {
    #[default]
    PublicCloud,
    USGovernmentCloud,
    ChinaCloud,
    GermanCloud,
    AzureStackCloud,
}

/// Azure Key Vault backend configuration.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AzureKVProvider {
    /// Authentication method.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "ServicePrincipal"))]
    pub auth_type: Option<AzureAuthType>,
    /// Vault URL, for example https://my-vault.vault.azure.net.
    pub vault_url: String,
    /// Tenant of the service principal or workload identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Azure cloud.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "PublicCloud"))]
    pub environment_type: Option<AzureEnvironmentType>,
    /// Service principal credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_secret_ref: Option<AzureKVAuth>,
    /// ServiceAccount annotated for workload identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_ref: Option<ServiceAccountSelector>,
    /// Client ID of the managed identity to use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_id: Option<String>,
    /// Endpoints of a custom cloud (needs useAzureSDK).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_cloud_config: Option<AzureCustomCloudConfig>,
    /// Use the newer Azure SDK client.
    #[serde(rename = "useAzureSDK", skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub use_azure_sdk: Option<bool>,
}

impl AzureKVProvider {
    /// Authentication method with the CRD default applied.
    pub fn effective_auth_type(&self) -> AzureAuthType {
        self.auth_type.unwrap_or_default()
    }

    /// Cloud with the CRD default applied.
    pub fn effective_environment_type(&self) -> AzureEnvironmentType {
        self.environment_type.unwrap_or_default()
    }
}

/// Service principal credential references.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AzureKVAuth {
    /// Application (client) ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<SecretKeySelector>,
    /// Tenant ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<SecretKeySelector>,
    /// Client secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<SecretKeySelector>,
    /// PEM client certificate with its key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<SecretKeySelector>,
}

/// Endpoints of a sovereign or on-premises Azure cloud.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AzureCustomCloudConfig {
    /// Entra ID (Active Directory) endpoint.
    pub active_directory_endpoint: String,
    /// Key Vault endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_vault_endpoint: Option<String>,
    /// DNS suffix of vault hosts.
    #[serde(rename = "keyVaultDNSSuffix", skip_serializing_if = "Option::is_none")]
    pub key_vault_dns_suffix: Option<String>,
    /// Resource Manager endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_manager_endpoint: Option<String>,
}
