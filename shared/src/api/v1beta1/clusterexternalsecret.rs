//! ClusterExternalSecret `external-secrets.io/v1beta1` (unserved, deprecated).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::externalsecret::ExternalSecretSpec;
use crate::api::meta::ObjectMetadata;
use crate::api::schema;
use crate::api::v1::ClusterExternalSecretStatus;

/// Desired state of a v1beta1 ClusterExternalSecret.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "external-secrets.io",
    version = "v1beta1",
    kind = "ClusterExternalSecret",
    plural = "clusterexternalsecrets",
    status = "ClusterExternalSecretStatus",
    shortname = "ces",
    category = "external-secrets",
    label("external-secrets.io/component", "controller"),
    served = false,
    storage = false,
    deprecated,
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
    /// Name of the created ExternalSecrets.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::dns_subdomain)]
    pub external_secret_name: Option<String>,
    /// Labels and annotations copied onto each created ExternalSecret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_secret_metadata: Option<ObjectMetadata>,
    /// Deprecated single selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::label_selector")]
    pub namespace_selector: Option<LabelSelector>,
    /// Namespaces matching any of these selectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::label_selector_list")]
    pub namespace_selectors: Option<Vec<LabelSelector>>,
    /// Explicit namespace list.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::dns_label_items)]
    pub namespaces: Option<Vec<String>>,
    /// How often namespaces are re-selected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_time: Option<String>,
}
