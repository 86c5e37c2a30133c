//! `spec.provider.aws`: AWS Secrets Manager, Parameter Store and Certificate Manager.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::meta::{SecretKeySelector, ServiceAccountSelector};

/// AWS service a store talks to.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum AWSServiceType {
    SecretsManager,
    ParameterStore,
    CertificateManager,
}

/// How session tags are chosen when assuming a role.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum SessionTagsPolicy {
    #[default]
    None,
    Simple,
    Custom,
}

/// AWS backend configuration.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AWSProvider {
    /// Which AWS service holds the secrets.
    pub service: AWSServiceType,
    /// Credentials; the SDK default chain (pod identity) is used when empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<AWSAuth>,
    /// ARN of a role to assume after the additional roles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Roles assumed in order before `role`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_roles: Option<Vec<String>>,
    /// External ID passed when assuming roles.
    #[serde(rename = "externalID", skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Session tags passed when assuming roles (policy None only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_tags: Option<Vec<AWSTag>>,
    /// None uses sessionTags; Simple and Custom use tags naming the store and namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "None"))]
    pub session_tags_policy: Option<SessionTagsPolicy>,
    /// Extra tags added under the Custom policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-validations" = [{
        "message": "customSessionTags cannot contain automatically injected reserved keys: esoNamespace, esoStoreName, esoStoreKind",
        "rule": "!('esoNamespace' in self) && !('esoStoreName' in self) && !('esoStoreKind' in self)"
    }]))]
    pub custom_session_tags: Option<BTreeMap<String, String>>,
    /// Session tag keys that stay set across role chaining.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transitive_tag_keys: Option<Vec<String>>,
    /// Prefix added to every remote key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// AWS region.
    pub region: String,
    /// Secrets Manager options used when PushSecrets delete secrets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secrets_manager: Option<SecretsManagerOptions>,
}

impl AWSProvider {
    /// Session tag policy with the CRD default applied.
    pub fn effective_session_tags_policy(&self) -> SessionTagsPolicy {
        self.session_tags_policy.unwrap_or_default()
    }
}

/// AWS credentials: static keys or a service-account token (IRSA).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AWSAuth {
    /// Access keys read from Secrets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<AWSAuthSecretRef>,
    /// Web identity from a ServiceAccount token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt: Option<AWSJWTAuth>,
}

/// Static AWS credentials.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AWSAuthSecretRef {
    /// Access key ID.
    #[serde(
        rename = "accessKeyIDSecretRef",
        skip_serializing_if = "Option::is_none"
    )]
    pub access_key_id_secret_ref: Option<SecretKeySelector>,
    /// Secret access key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_access_key_secret_ref: Option<SecretKeySelector>,
    /// Session token for temporary credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_token_secret_ref: Option<SecretKeySelector>,
}

/// Web identity authentication.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AWSJWTAuth {
    /// ServiceAccount annotated with the role to assume.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_ref: Option<ServiceAccountSelector>,
}

/// A session tag.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AWSTag {
    /// Tag key.
    pub key: String,
    /// Tag value.
    pub value: String,
}

/// Secrets Manager deletion options.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretsManagerOptions {
    /// Delete immediately, without a recovery window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub force_delete_without_recovery: Option<bool>,
    /// Days a deleted secret stays recoverable (0 or 7..30).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_window_in_days: Option<i64>,
}
