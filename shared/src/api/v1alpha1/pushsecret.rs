//! PushSecret `external-secrets.io/v1alpha1`: writes a local Secret (or generator output) to
//! one or more stores.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::schema;
use crate::api::v1::{
    ExternalSecretTemplate, GeneratorRef, RewriteRegexp, RewriteTransform, SecretStoreKind,
};

/// Refresh interval the CRD fills in when none is given.
pub const DEFAULT_REFRESH_INTERVAL: &str = "1h0m0s";

/// Desired state of a PushSecret.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "external-secrets.io",
    version = "v1alpha1",
    kind = "PushSecret",
    plural = "pushsecrets",
    namespaced,
    status = "PushSecretStatus",
    shortname = "ps",
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
    printcolumn(name = "Last Sync", type_ = "date", json_path = ".status.refreshTime"),
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretSpec {
    /// Go duration between pushes.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "1h0m0s"))]
    pub refresh_interval: Option<String>,
    /// Stores to push to.
    pub secret_store_refs: Vec<PushSecretStoreRef>,
    /// Replace overwrites remote values; IfNotExists leaves existing ones alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Replace"))]
    pub update_policy: Option<PushSecretUpdatePolicy>,
    /// Delete removes pushed values when they leave the spec or the PushSecret is deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "None"))]
    pub deletion_policy: Option<PushSecretDeletionPolicy>,
    /// Source of the values: a Secret or a generator.
    pub selector: PushSecretSelector,
    /// Individual keys to push.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Vec<PushSecretData>>,
    /// Bulk push rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_to: Option<Vec<PushSecretDataTo>>,
    /// Template applied to the source before pushing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<ExternalSecretTemplate>,
}

impl PushSecretSpec {
    /// Update policy with the CRD default applied.
    pub fn effective_update_policy(&self) -> PushSecretUpdatePolicy {
        self.update_policy.unwrap_or_default()
    }

    /// Deletion policy with the CRD default applied.
    pub fn effective_deletion_policy(&self) -> PushSecretDeletionPolicy {
        self.deletion_policy.unwrap_or_default()
    }

    /// Refresh interval text with the CRD default applied.
    pub fn effective_refresh_interval(&self) -> &str {
        self.refresh_interval
            .as_deref()
            .unwrap_or(DEFAULT_REFRESH_INTERVAL)
    }

    /// `data` entries, empty when unset.
    pub fn data_items(&self) -> &[PushSecretData] {
        self.data.as_deref().unwrap_or_default()
    }

    /// `dataTo` entries, empty when unset.
    pub fn data_to_items(&self) -> &[PushSecretDataTo] {
        self.data_to.as_deref().unwrap_or_default()
    }
}

/// Whether existing remote values are overwritten.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum PushSecretUpdatePolicy {
    #[default]
    Replace,
    IfNotExists,
}

/// Whether pushed values are deleted from the provider.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum PushSecretDeletionPolicy {
    Delete,
    #[default]
    None,
}

/// How pushed keys are converted back from Unicode-escaped names.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum PushSecretConversionStrategy {
    #[default]
    None,
    ReverseUnicode,
}

/// A store addressed by name or by labels.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretStoreRef {
    /// Store name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::dns_subdomain)]
    pub name: Option<String>,
    /// Select stores by label instead of name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::label_selector")]
    pub label_selector: Option<LabelSelector>,
    /// Kind of the store(s).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "SecretStore"))]
    pub kind: Option<SecretStoreKind>,
}

impl PushSecretStoreRef {
    /// Kind with the CRD default applied.
    pub fn effective_kind(&self) -> SecretStoreKind {
        self.kind.unwrap_or_default()
    }
}

/// Source of pushed values; exactly one field is set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("minProperties" = 1, "maxProperties" = 1))]
pub struct PushSecretSelector {
    /// A Secret in the PushSecret's namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<PushSecretSecret>,
    /// A generator whose output is pushed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generator_ref: Option<GeneratorRef>,
}

/// A source Secret by name or labels.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretSecret {
    /// Secret name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::dns_subdomain)]
    pub name: Option<String>,
    /// Select Secrets by label instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::label_selector")]
    pub selector: Option<LabelSelector>,
}

/// One key to push.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretData {
    /// Which local key goes where.
    #[serde(rename = "match")]
    pub match_: PushSecretMatch,
    /// Provider-specific options (for example a PushSecretMetadata document).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::any_value")]
    pub metadata: Option<serde_json::Value>,
    /// Key name conversion.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "None"))]
    pub conversion_strategy: Option<PushSecretConversionStrategy>,
}

/// Local key and remote destination.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretMatch {
    /// Key of the source Secret; empty pushes the whole Secret as one value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<String>,
    /// Remote destination.
    pub remote_ref: PushSecretRemoteRef,
}

/// Remote destination of a pushed value.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretRemoteRef {
    /// Remote secret name.
    pub remote_key: String,
    /// Field inside the remote secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
}

impl PushSecretRemoteRef {
    /// Status key of this destination: `remoteKey` or `remoteKey/property`.
    pub fn status_key(&self) -> String {
        match &self.property {
            Some(p) if !p.is_empty() => format!("{}/{}", self.remote_key, p),
            _ => self.remote_key.clone(),
        }
    }
}

/// A bulk push rule.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "message": "storeRef must specify either name or labelSelector",
        "rule": "has(self.storeRef) && (has(self.storeRef.name) || has(self.storeRef.labelSelector))"
    },
    {
        "message": "remoteKey and rewrite are mutually exclusive: rewrite is only supported in per-key mode (without remoteKey)",
        "rule": "!has(self.remoteKey) || !has(self.rewrite) || size(self.rewrite) == 0"
    }
]))]
pub struct PushSecretDataTo {
    /// Store this rule pushes to (one of secretStoreRefs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_ref: Option<PushSecretStoreRef>,
    /// Push all matched keys as one JSON object under this remote key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_key: Option<String>,
    /// Which source keys to push; all when empty.
    #[serde(rename = "match", skip_serializing_if = "Option::is_none")]
    pub match_: Option<PushSecretDataToMatch>,
    /// Key rewrites applied in order (per-key mode only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<Vec<PushSecretRewrite>>,
    /// Provider-specific options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::any_value")]
    pub metadata: Option<serde_json::Value>,
    /// Key name conversion.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "None"))]
    pub conversion_strategy: Option<PushSecretConversionStrategy>,
}

/// Key filter of a bulk rule.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretDataToMatch {
    /// RE2 expression keys must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regexp: Option<String>,
}

/// One rewrite of a bulk rule; exactly one field is set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "message": "exactly one of regexp or transform must be set",
    "rule": "(has(self.regexp) && !has(self.transform)) || (!has(self.regexp) && has(self.transform))"
}]))]
pub struct PushSecretRewrite {
    /// Rename keys with a regular expression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regexp: Option<RewriteRegexp>,
    /// Rename keys with a template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transform: Option<RewriteTransform>,
}

/// Condition type of PushSecrets.
pub const PS_CONDITION_READY: &str = "Ready";
/// Ready=True: everything was pushed.
pub const REASON_SYNCED: &str = "Synced";
/// Ready=False: pushing failed.
pub const REASON_ERRORED: &str = "Errored";
/// The source Secret is gone.
pub const REASON_SOURCE_DELETED: &str = "SourceDeleted";

/// Pushed entries: store key (`<Kind>/<name>`) to remote key to the entry pushed there.
pub type SyncedPushSecretsMap = BTreeMap<String, BTreeMap<String, PushSecretData>>;

/// Observed state of a PushSecret.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretStatus {
    /// Time of the last successful push.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_time: Option<Time>,
    /// Generation and metadata hash the last push was based on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub synced_resource_version: Option<String>,
    /// What was pushed where.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub synced_push_secrets: Option<SyncedPushSecretsMap>,
    /// Current conditions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<PushSecretStatusCondition>>,
}

/// One status condition of a PushSecret.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretStatusCondition {
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
