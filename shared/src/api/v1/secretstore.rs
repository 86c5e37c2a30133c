//! SecretStore and ClusterSecretStore `external-secrets.io/v1`: how to reach a secret backend.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::providers::SecretStoreProvider;
use crate::api::schema;

/// Desired state of a SecretStore (and, wrapped, of a ClusterSecretStore).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "external-secrets.io",
    version = "v1",
    kind = "SecretStore",
    plural = "secretstores",
    namespaced,
    status = "SecretStoreStatus",
    shortname = "ss",
    category = "external-secrets",
    label("external-secrets.io/component", "controller"),
    printcolumn(
        name = "AGE",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(
        name = "Capabilities",
        type_ = "string",
        json_path = ".status.capabilities"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(rename_all = "camelCase")]
pub struct SecretStoreSpec {
    /// Controller class; only the controller started with this class handles the store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller: Option<String>,
    /// The backend; exactly one key is set.
    pub provider: SecretStoreProvider,
    /// Retry behaviour of provider clients (aws and vault).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_settings: Option<SecretStoreRetrySettings>,
    /// How often the store is re-validated: integer seconds or a Go duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::int_or_string")]
    pub refresh_interval: Option<IntOrString>,
    /// Namespaces allowed to use a ClusterSecretStore (any condition may match).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<ClusterSecretStoreCondition>>,
}

/// Desired state of a ClusterSecretStore: the same fields as a SecretStore.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "external-secrets.io",
    version = "v1",
    kind = "ClusterSecretStore",
    plural = "clustersecretstores",
    status = "SecretStoreStatus",
    shortname = "css",
    category = "external-secrets",
    label("external-secrets.io/component", "controller"),
    printcolumn(
        name = "AGE",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(
        name = "Capabilities",
        type_ = "string",
        json_path = ".status.capabilities"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    derive = "PartialEq",
    derive = "Default"
)]
pub struct ClusterSecretStoreSpec(pub SecretStoreSpec);

impl std::ops::Deref for ClusterSecretStoreSpec {
    type Target = SecretStoreSpec;
    fn deref(&self) -> &SecretStoreSpec {
        &self.0
    }
}

impl std::ops::DerefMut for ClusterSecretStoreSpec {
    fn deref_mut(&mut self) -> &mut SecretStoreSpec {
        &mut self.0
    }
}

impl From<SecretStoreSpec> for ClusterSecretStoreSpec {
    fn from(spec: SecretStoreSpec) -> Self {
        Self(spec)
    }
}

/// Retry settings for provider clients.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretStoreRetrySettings {
    /// Maximum number of retries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<i32>,
    /// Go duration between retries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_interval: Option<String>,
}

/// One rule selecting namespaces that may use a ClusterSecretStore.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSecretStoreCondition {
    /// Namespaces whose labels match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::label_selector")]
    pub namespace_selector: Option<LabelSelector>,
    /// Namespaces by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::dns_label_items)]
    pub namespaces: Option<Vec<String>>,
    /// Namespaces whose name matches one of these RE2 expressions (unanchored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace_regexes: Option<Vec<String>>,
}

/// What a store's provider can do.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum SecretStoreCapabilities {
    ReadOnly,
    WriteOnly,
    ReadWrite,
}

/// Condition type of stores.
pub const STORE_CONDITION_READY: &str = "Ready";
/// Ready=True: the provider client was built and validated.
pub const REASON_VALID: &str = "Valid";
/// Ready=False: the client could not be built or validation failed.
pub const REASON_INVALID_PROVIDER_CONFIG: &str = "InvalidProviderConfig";
/// Ready=True: the provider cannot tell whether the configuration works.
pub const REASON_VALIDATION_UNKNOWN: &str = "ValidationUnknown";
/// Declared by ESO but never set.
pub const REASON_INVALID_STORE_CONFIGURATION: &str = "InvalidStoreConfiguration";
/// Declared by ESO but never set.
pub const REASON_VALIDATION_FAILED: &str = "ValidationFailed";
/// Warning event: the provider is not maintained.
pub const REASON_STORE_UNMAINTAINED: &str = "StoreUnmaintained";
/// Warning event: the provider is deprecated.
pub const REASON_STORE_DEPRECATED: &str = "StoreDeprecated";
/// Store annotation that silences maintenance warnings.
pub const ANNOTATION_IGNORE_MAINTENANCE_CHECKS: &str =
    "external-secrets.io/ignore-maintenance-checks";

/// Observed state of a store.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretStoreStatus {
    /// Current conditions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<SecretStoreStatusCondition>>,
    /// ReadOnly, WriteOnly or ReadWrite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::plain_string")]
    pub capabilities: Option<SecretStoreCapabilities>,
}

/// One status condition of a store.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretStoreStatusCondition {
    /// Condition type, Ready.
    #[serde(rename = "type")]
    pub type_: String,
    /// True, False or Unknown.
    pub status: String,
    /// Machine-readable cause.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When status last changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
}
