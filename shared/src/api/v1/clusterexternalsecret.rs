//! ClusterExternalSecret `external-secrets.io/v1`: stamps one ExternalSecret into many namespaces.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::externalsecret::ExternalSecretSpec;
use crate::api::meta::ObjectMetadata;
use crate::api::schema;

/// Desired state of a ClusterExternalSecret.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "external-secrets.io",
    version = "v1",
    kind = "ClusterExternalSecret",
    plural = "clusterexternalsecrets",
    status = "ClusterExternalSecretStatus",
    shortname = "ces",
    category = "external-secrets",
    label("external-secrets.io/component", "controller"),
    printcolumn(
        name = "Store",
        type_ = "string",
        json_path = ".spec.externalSecretSpec.secretStoreRef.name"
    ),
    printcolumn(
        name = "Refresh Interval",
        type_ = "string",
        json_path = ".spec.refreshTime"
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
pub struct ClusterExternalSecretSpec {
    /// Spec of the ExternalSecret created in each selected namespace.
    pub external_secret_spec: ExternalSecretSpec,
    /// Name of the created ExternalSecrets; defaults to this object's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::dns_subdomain)]
    pub external_secret_name: Option<String>,
    /// Labels and annotations copied onto each created ExternalSecret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_secret_metadata: Option<ObjectMetadata>,
    /// Deprecated single selector; use namespaceSelectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::label_selector")]
    pub namespace_selector: Option<LabelSelector>,
    /// Namespaces matching any of these selectors get an ExternalSecret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::label_selector_list")]
    pub namespace_selectors: Option<Vec<LabelSelector>>,
    /// Deprecated explicit namespace list; ORed with the selectors.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::dns_label_items)]
    pub namespaces: Option<Vec<String>>,
    /// How often namespaces are re-selected (Go duration; 1h when unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_time: Option<String>,
}

impl ClusterExternalSecret {
    /// Name given to the created ExternalSecrets.
    pub fn external_secret_name(&self) -> Option<&str> {
        self.spec
            .external_secret_name
            .as_deref()
            .or(self.metadata.name.as_deref())
    }
}

/// Condition type of ClusterExternalSecret and ClusterPushSecret.
pub const CES_CONDITION_READY: &str = "Ready";

/// Observed state of a ClusterExternalSecret.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterExternalSecretStatus {
    /// Name used for the created ExternalSecrets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_secret_name: Option<String>,
    /// Namespaces where creating or updating failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_namespaces: Option<Vec<ClusterExternalSecretNamespaceFailure>>,
    /// Namespaces holding an up-to-date ExternalSecret (sorted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioned_namespaces: Option<Vec<String>>,
    /// Current conditions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<ClusterExternalSecretStatusCondition>>,
}

/// A namespace that could not be provisioned.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterExternalSecretNamespaceFailure {
    /// The namespace.
    pub namespace: String,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A ClusterExternalSecret condition (no reason or transition time).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterExternalSecretStatusCondition {
    /// Condition type, Ready.
    #[serde(rename = "type")]
    pub type_: String,
    /// True, False or Unknown.
    pub status: String,
    /// Human-readable detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}
