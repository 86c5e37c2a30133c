//! `spec.provider.vault`: HashiCorp Vault / OpenBao KV engines.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::aws::AWSAuthSecretRef;
use super::gcpsm::{GCPSMAuthSecretRef, GCPWorkloadIdentity};
use crate::api::meta::{CAProvider, SecretKeySelector, ServiceAccountSelector};
use crate::api::schema;

/// KV secrets engine version.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum VaultKVStoreVersion {
    #[serde(rename = "v1")]
    V1,
    #[default]
    #[serde(rename = "v2")]
    V2,
}

/// Vault backend configuration.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultProvider {
    /// How to log in; exactly one method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<VaultAuth>,
    /// Vault address, for example https://vault.example:8200.
    pub server: String,
    /// Mount path of the KV engine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// KV engine version.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "v2"))]
    pub version: Option<VaultKVStoreVersion>,
    /// Vault Enterprise namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// PEM CA bundle (base64) trusted for the server certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::byte_format)]
    pub ca_bundle: Option<String>,
    /// Client certificate for mutual TLS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<VaultClientTLS>,
    /// Secret or ConfigMap holding the CA bundle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_provider: Option<CAProvider>,
    /// Send the last write index so reads see earlier writes (performance standbys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_your_writes: Option<bool>,
    /// Ask standbys to forward inconsistent reads to the active node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forward_inconsistent: Option<bool>,
    /// Extra HTTP headers sent with every request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// Check-and-set options for writes (KV v2 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_and_set: Option<VaultCheckAndSet>,
}

impl VaultProvider {
    /// KV version with the CRD default (v2) applied.
    pub fn effective_version(&self) -> VaultKVStoreVersion {
        self.version.unwrap_or_default()
    }
}

/// Check-and-set behaviour.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultCheckAndSet {
    /// Every write must carry the expected version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
}

/// Client certificate and key for mutual TLS (both or neither).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultClientTLS {
    /// Secret holding the client certificate (key tls.crt by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<SecretKeySelector>,
    /// Secret holding the client key (key tls.key by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_secret_ref: Option<SecretKeySelector>,
}

/// Vault login methods.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultAuth {
    /// Namespace used for login, overriding the store namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// A static token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_secret_ref: Option<SecretKeySelector>,
    /// AppRole login.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_role: Option<VaultAppRole>,
    /// Kubernetes auth method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<VaultKubernetesAuth>,
    /// LDAP login.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ldap: Option<VaultLdapAuth>,
    /// JWT/OIDC login.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt: Option<VaultJwtAuth>,
    /// TLS certificate login.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<VaultCertAuth>,
    /// AWS IAM login.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iam: Option<VaultIamAuth>,
    /// Username/password login.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_pass: Option<VaultUserPassAuth>,
    /// Google Cloud login.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gcp: Option<VaultGcpAuth>,
}

/// AppRole login; the role ID is given inline or read from a Secret.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultAppRole {
    /// Mount path of the AppRole method.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, extend("default" = "approle"))]
    pub path: Option<String>,
    /// Role ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_id: Option<String>,
    /// Secret holding the role ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_ref: Option<SecretKeySelector>,
    /// Secret holding the secret ID.
    pub secret_ref: SecretKeySelector,
}

/// Kubernetes auth method login.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultKubernetesAuth {
    /// Mount path of the method.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, extend("default" = "kubernetes"))]
    pub mount_path: Option<String>,
    /// ServiceAccount whose token is requested for the login.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_ref: Option<ServiceAccountSelector>,
    /// Secret holding a ServiceAccount token instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeySelector>,
    /// Vault role to log in as.
    pub role: String,
}

/// LDAP login.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultLdapAuth {
    /// Mount path of the method.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, extend("default" = "ldap"))]
    pub path: Option<String>,
    /// LDAP user name.
    pub username: String,
    /// Secret holding the password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeySelector>,
}

/// Username/password login.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultUserPassAuth {
    /// Mount path of the method.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, extend("default" = "userpass"))]
    pub path: Option<String>,
    /// User name.
    pub username: String,
    /// Secret holding the password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeySelector>,
}

/// JWT/OIDC login with a stored token or a fresh ServiceAccount token.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultJwtAuth {
    /// Mount path of the method.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(required, extend("default" = "jwt"))]
    pub path: Option<String>,
    /// Vault role to log in as.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Secret holding the JWT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeySelector>,
    /// Request a ServiceAccount token and log in with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubernetes_service_account_token: Option<VaultKubernetesServiceAccountTokenAuth>,
}

/// Token request parameters for JWT login.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultKubernetesServiceAccountTokenAuth {
    /// ServiceAccount to request the token for.
    pub service_account_ref: ServiceAccountSelector,
    /// Token audiences (deprecated; use serviceAccountRef.audiences).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audiences: Option<Vec<String>>,
    /// Requested token lifetime in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration_seconds: Option<i64>,
}

/// TLS certificate login.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultCertAuth {
    /// Mount path of the method.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "cert"))]
    pub path: Option<String>,
    /// Certificate role to log in as.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vault_role: Option<String>,
    /// Secret holding the client certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<SecretKeySelector>,
    /// Secret holding the client private key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeySelector>,
}

/// AWS IAM login.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultIamAuth {
    /// Mount path of the method (aws when empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// AWS region for the STS request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// AWS role ARN to assume before signing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Vault role to log in as.
    pub vault_role: String,
    /// External ID used when assuming the role.
    #[serde(rename = "externalID", skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Value of the X-Vault-AWS-IAM-Server-ID header.
    #[serde(
        rename = "vaultAwsIamServerID",
        skip_serializing_if = "Option::is_none"
    )]
    pub vault_aws_iam_server_id: Option<String>,
    /// Static AWS credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<AWSAuthSecretRef>,
    /// Web identity from a ServiceAccount token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt: Option<super::aws::AWSJWTAuth>,
}

/// Google Cloud login.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultGcpAuth {
    /// Mount path of the method.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "gcp"))]
    pub path: Option<String>,
    /// Vault role to log in as.
    pub role: String,
    /// Google Cloud project.
    #[serde(rename = "projectID", skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Google Cloud location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Service account key read from a Secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<GCPSMAuthSecretRef>,
    /// GKE workload identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload_identity: Option<GCPWorkloadIdentity>,
    /// ServiceAccount used for the login.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_ref: Option<ServiceAccountSelector>,
}
