//! ClusterPushSecret `external-secrets.io/v1alpha1`: stamps one PushSecret into many namespaces.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::pushsecret::{PushSecretSpec, PushSecretStatusCondition};
use crate::api::meta::ObjectMetadata;
use crate::api::schema;
use crate::api::v1::ClusterExternalSecretNamespaceFailure;

/// Desired state of a ClusterPushSecret.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "external-secrets.io",
    version = "v1alpha1",
    kind = "ClusterPushSecret",
    plural = "clusterpushsecrets",
    status = "ClusterPushSecretStatus",
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
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(rename_all = "camelCase")]
pub struct ClusterPushSecretSpec {
    /// Spec of the PushSecret created in each selected namespace.
    pub push_secret_spec: PushSecretSpec,
    /// Name of the created PushSecrets; defaults to this object's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::dns_subdomain)]
    pub push_secret_name: Option<String>,
    /// Labels and annotations copied onto each created PushSecret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push_secret_metadata: Option<ObjectMetadata>,
    /// Namespaces matching any of these selectors get a PushSecret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::label_selector_list")]
    pub namespace_selectors: Option<Vec<LabelSelector>>,
    /// How often namespaces are re-selected (Go duration).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_time: Option<String>,
}

impl ClusterPushSecret {
    /// Name given to the created PushSecrets.
    pub fn push_secret_name(&self) -> Option<&str> {
        self.spec
            .push_secret_name
            .as_deref()
            .or(self.metadata.name.as_deref())
    }
}

/// Observed state of a ClusterPushSecret.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterPushSecretStatus {
    /// Namespaces where creating or updating failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_namespaces: Option<Vec<ClusterExternalSecretNamespaceFailure>>,
    /// Namespaces holding an up-to-date PushSecret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioned_namespaces: Option<Vec<String>>,
    /// Name used for the created PushSecrets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push_secret_name: Option<String>,
    /// Current conditions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<PushSecretStatusCondition>>,
}
