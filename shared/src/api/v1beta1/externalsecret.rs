//! ExternalSecret `external-secrets.io/v1beta1` (unserved, deprecated): the older, smaller
//! schema kept in the CRD so objects stored under it stay readable.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::schema;
use crate::api::v1::{
    ConversionStrategy, DecodingStrategy, DeletionPolicy, ExternalSecretStatus, MetadataPolicy,
    RefreshPolicy, RewriteRegexp, RewriteTransform, SecretStoreRef, TemplateEngineVersion,
    TemplateMergePolicy, TemplateRef,
};

/// Desired state of a v1beta1 ExternalSecret.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "external-secrets.io",
    version = "v1beta1",
    kind = "ExternalSecret",
    plural = "externalsecrets",
    namespaced,
    status = "ExternalSecretStatus",
    shortname = "es",
    category = "external-secrets",
    label("external-secrets.io/component", "controller"),
    served = false,
    storage = false,
    deprecated,
    printcolumn(
        name = "StoreType",
        type_ = "string",
        json_path = ".spec.secretStoreRef.kind"
    ),
    printcolumn(
        name = "Store",
        type_ = "string",
        json_path = ".spec.secretStoreRef.name"
    ),
    printcolumn(
        name = "Refresh Interval",
        type_ = "string",
        json_path = ".spec.refreshInterval"
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "Last Sync", type_ = "date", json_path = ".status.refreshTime"),
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretSpec {
    /// Default store for every entry that has no sourceRef of its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_store_ref: Option<SecretStoreRef>,
    /// The Secret to create or update.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = {"creationPolicy": "Owner", "deletionPolicy": "Retain"}))]
    pub target: Option<ExternalSecretTarget>,
    /// When to refresh: CreatedOnce, Periodic or OnChange.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_policy: Option<RefreshPolicy>,
    /// Go duration between refreshes; 0 syncs once.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "1h0m0s"))]
    pub refresh_interval: Option<String>,
    /// Single values, each stored under its own key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Vec<ExternalSecretData>>,
    /// Maps of values merged into the target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_from: Option<Vec<ExternalSecretDataFromRemoteRef>>,
}

/// Who owns the target (v1beta1 has no CreateOrMerge).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum CreationPolicy {
    #[default]
    Owner,
    Orphan,
    Merge,
    None,
}

/// The Secret the controller writes.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretTarget {
    /// Name of the Secret; defaults to the ExternalSecret's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::dns_subdomain)]
    pub name: Option<String>,
    /// Ownership of the Secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Owner"))]
    pub creation_policy: Option<CreationPolicy>,
    /// Behaviour when the provider returns no data.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Retain"))]
    pub deletion_policy: Option<DeletionPolicy>,
    /// Template for the Secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<ExternalSecretTemplate>,
    /// Mark the Secret immutable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
}

/// Template of the target Secret.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretTemplate {
    /// Secret type.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Template engine generation.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "v2"))]
    pub engine_version: Option<TemplateEngineVersion>,
    /// Labels and annotations for the Secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<crate::api::meta::ObjectMetadata>,
    /// Replace keeps only templated keys; Merge also keeps the fetched ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Replace"))]
    pub merge_policy: Option<TemplateMergePolicy>,
    /// Key to template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<BTreeMap<String, String>>,
    /// Additional template sources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_from: Option<Vec<TemplateFrom>>,
}

/// Part of the Secret a template source writes to.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum TemplateTarget {
    #[default]
    Data,
    Annotations,
    Labels,
}

/// One extra template source.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateFrom {
    /// Templates read from a ConfigMap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_map: Option<TemplateRef>,
    /// Templates read from a Secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<TemplateRef>,
    /// Data, Annotations or Labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Data"))]
    pub target: Option<TemplateTarget>,
    /// Inline template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub literal: Option<String>,
}

/// One value fetched into one key.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretData {
    /// Key in the Secret.
    #[schemars(transform = schema::secret_key)]
    pub secret_key: String,
    /// What to read from the provider.
    pub remote_ref: ExternalSecretDataRemoteRef,
    /// Store for this entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<SourceRef>,
}

/// Address of a remote value.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretDataRemoteRef {
    /// Provider key of the secret.
    pub key: String,
    /// Fetch tags/labels instead of the value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "None"))]
    pub metadata_policy: Option<MetadataPolicy>,
    /// Field inside a structured value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    /// Provider-specific version selector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Key conversion for extracted maps.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Default"))]
    pub conversion_strategy: Option<ConversionStrategy>,
    /// Decoding applied to fetched values.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "None"))]
    pub decoding_strategy: Option<DecodingStrategy>,
}

/// Generator kinds known to v1beta1.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum GeneratorKind {
    ACRAccessToken,
    ClusterGenerator,
    ECRAuthorizationToken,
    Fake,
    GCRAccessToken,
    GithubAccessToken,
    QuayAccessToken,
    Password,
    SSHKey,
    STSSessionToken,
    UUID,
    VaultDynamicSecret,
    Webhook,
    Grafana,
}

/// Reference to a generator.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GeneratorRef {
    /// Group/version of the generator.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "generators.external-secrets.io/v1alpha1"))]
    pub api_version: Option<String>,
    /// Kind of the generator.
    pub kind: GeneratorKind,
    /// Name of the generator.
    #[schemars(transform = schema::dns_subdomain)]
    pub name: String,
}

/// Store or generator of one entry; exactly one field is set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("minProperties" = 1, "maxProperties" = 1))]
pub struct SourceRef {
    /// Store to read from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_ref: Option<SecretStoreRef>,
    /// Generator whose output is used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generator_ref: Option<GeneratorRef>,
}

/// One source of many keys.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretDataFromRemoteRef {
    /// Read one remote secret and split it into keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extract: Option<ExternalSecretDataRemoteRef>,
    /// Search the provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub find: Option<ExternalSecretFind>,
    /// Key rewrites applied in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<Vec<ExternalSecretRewrite>>,
    /// Store or generator for this entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<SourceRef>,
}

/// Search criteria.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretFind {
    /// Root path to search under.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Match secret names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<crate::api::v1::FindName>,
    /// Match provider tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    /// Key conversion.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Default"))]
    pub conversion_strategy: Option<ConversionStrategy>,
    /// Decoding applied to found values.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "None"))]
    pub decoding_strategy: Option<DecodingStrategy>,
}

/// One key rewrite; exactly one field is set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("minProperties" = 1, "maxProperties" = 1))]
pub struct ExternalSecretRewrite {
    /// Rename keys with a regular expression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regexp: Option<RewriteRegexp>,
    /// Rename keys with a template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transform: Option<RewriteTransform>,
}
