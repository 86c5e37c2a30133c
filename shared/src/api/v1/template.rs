//! The template block shared by ExternalSecret targets and PushSecrets.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::DecodingStrategy;
use crate::api::schema;

/// Template engine generation; only v2 exists.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum TemplateEngineVersion {
    #[default]
    #[serde(rename = "v2")]
    V2,
}

/// Whether fetched keys are kept next to templated ones.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum TemplateMergePolicy {
    #[default]
    Replace,
    Merge,
}

/// How a templateFrom item is interpreted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum TemplateScope {
    #[default]
    Values,
    KeysAndValues,
}

/// Describes the object written by the controller.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretTemplate {
    /// Secret type to set on the target (for example kubernetes.io/tls).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Template engine generation.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "v2"))]
    pub engine_version: Option<TemplateEngineVersion>,
    /// Labels, annotations and finalizers for the target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ExternalSecretTemplateMetadata>,
    /// Replace keeps only templated keys; Merge also keeps the fetched ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Replace"))]
    pub merge_policy: Option<TemplateMergePolicy>,
    /// Key to template; these win over everything else.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<BTreeMap<String, String>>,
    /// Additional template sources, applied in order before `data`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_from: Option<Vec<TemplateFrom>>,
}

impl ExternalSecretTemplate {
    /// Merge policy with the CRD default applied.
    pub fn effective_merge_policy(&self) -> TemplateMergePolicy {
        self.merge_policy.unwrap_or_default()
    }
}

/// Metadata applied to the target object.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretTemplateMetadata {
    /// Annotation templates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Label templates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Finalizers added to the target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finalizers: Option<Vec<String>>,
}

/// One extra template source.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateFrom {
    /// Templates read from a ConfigMap in the same namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_map: Option<TemplateRef>,
    /// Templates read from a Secret in the same namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<TemplateRef>,
    /// Part of the target the output goes to: Data, Annotations, Labels (or a path for
    /// non-Secret targets).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Data"))]
    pub target: Option<String>,
    /// Inline template whose output is a YAML map of keys to values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub literal: Option<String>,
    /// Decoding applied to each rendered value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values_decoding_strategy: Option<DecodingStrategy>,
}

/// A ConfigMap or Secret holding templates.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateRef {
    /// Object name.
    #[schemars(transform = schema::dns_subdomain)]
    pub name: String,
    /// Keys of the object to use as templates.
    pub items: Vec<TemplateRefItem>,
}

/// One key of a template source.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateRefItem {
    /// Key in the ConfigMap or Secret.
    #[schemars(transform = schema::secret_key)]
    pub key: String,
    /// Values: the item templates its own key; KeysAndValues: it renders a YAML map.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Values"))]
    pub template_as: Option<TemplateScope>,
}
