//! ExternalSecret `external-secrets.io/v1`: which remote values to fetch and how to write them.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    ConversionStrategy, DecodingStrategy, GeneratorRef, MetadataPolicy, NullBytePolicy,
    RewriteRegexp, RewriteTransform, SecretStoreRef,
};
use super::template::ExternalSecretTemplate;
use crate::api::schema;

/// Refresh interval the CRD fills in when none is given.
pub const DEFAULT_REFRESH_INTERVAL: &str = "1h0m0s";

/// Desired state of an ExternalSecret.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "external-secrets.io",
    version = "v1",
    kind = "ExternalSecret",
    plural = "externalsecrets",
    namespaced,
    status = "ExternalSecretStatus",
    shortname = "es",
    category = "external-secrets",
    label("external-secrets.io/component", "controller"),
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
    selectable = ".spec.secretStoreRef.name",
    selectable = ".spec.secretStoreRef.kind",
    selectable = ".spec.target.name",
    selectable = ".spec.refreshInterval",
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretSpec {
    /// Default store for every entry that has no sourceRef of its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_store_ref: Option<SecretStoreRef>,
    /// The object to create or update.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = {"creationPolicy": "Owner", "deletionPolicy": "Retain"}))]
    pub target: Option<ExternalSecretTarget>,
    /// When to refresh: CreatedOnce, Periodic (default) or OnChange.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_policy: Option<RefreshPolicy>,
    /// Go duration between refreshes; 0 syncs once.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "1h0m0s"))]
    pub refresh_interval: Option<String>,
    /// Time windows that allow or block periodic refreshes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_windows: Option<SyncWindows>,
    /// Single values, each stored under its own key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Vec<ExternalSecretData>>,
    /// Maps of values (extract, find or generator) merged into the target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_from: Option<Vec<ExternalSecretDataFromRemoteRef>>,
}

impl ExternalSecretSpec {
    /// `data` entries, empty when unset.
    pub fn data_items(&self) -> &[ExternalSecretData] {
        self.data.as_deref().unwrap_or_default()
    }

    /// `dataFrom` entries, empty when unset.
    pub fn data_from_items(&self) -> &[ExternalSecretDataFromRemoteRef] {
        self.data_from.as_deref().unwrap_or_default()
    }

    /// Creation policy with the CRD default (Owner) applied.
    pub fn effective_creation_policy(&self) -> CreationPolicy {
        self.target
            .as_ref()
            .and_then(|t| t.creation_policy)
            .unwrap_or_default()
    }

    /// Deletion policy with the CRD default (Retain) applied.
    pub fn effective_deletion_policy(&self) -> DeletionPolicy {
        self.target
            .as_ref()
            .and_then(|t| t.deletion_policy)
            .unwrap_or_default()
    }

    /// Refresh policy as the controller reads it (Periodic when unset).
    pub fn effective_refresh_policy(&self) -> RefreshPolicy {
        self.refresh_policy.unwrap_or_default()
    }

    /// Refresh interval text with the CRD default applied.
    pub fn effective_refresh_interval(&self) -> &str {
        self.refresh_interval
            .as_deref()
            .unwrap_or(DEFAULT_REFRESH_INTERVAL)
    }
}

impl ExternalSecret {
    /// Name of the target object: `spec.target.name`, else the ExternalSecret's own name.
    pub fn target_name(&self) -> Option<&str> {
        self.spec
            .target
            .as_ref()
            .and_then(|t| t.name.as_deref())
            .or(self.metadata.name.as_deref())
    }
}

/// When an ExternalSecret is refreshed.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum RefreshPolicy {
    CreatedOnce,
    #[default]
    Periodic,
    OnChange,
}

/// Who owns the target and whether it is created.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum CreationPolicy {
    #[default]
    Owner,
    Orphan,
    Merge,
    None,
    CreateOrMerge,
}

/// What happens to the target when the provider has nothing left.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum DeletionPolicy {
    Delete,
    Merge,
    #[default]
    Retain,
}

/// The object the controller writes.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretTarget {
    /// Name of the target; defaults to the ExternalSecret's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::dns_subdomain)]
    pub name: Option<String>,
    /// Ownership of the target.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Owner"))]
    pub creation_policy: Option<CreationPolicy>,
    /// Behaviour when the provider returns no data.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Retain"))]
    pub deletion_policy: Option<DeletionPolicy>,
    /// Template for the target's data and metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<ExternalSecretTemplate>,
    /// Write a different kind of object than a Secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<ManifestReference>,
    /// Mark the target Secret immutable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
}

/// apiVersion and kind of a non-Secret target.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManifestReference {
    /// apiVersion of the target object.
    #[schemars(transform = schema::non_empty)]
    pub api_version: String,
    /// Kind of the target object.
    #[schemars(transform = schema::non_empty)]
    pub kind: String,
}

/// Allow or deny windows for periodic refreshes.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncWindows {
    /// allow: refresh only inside a window; deny: never inside one.
    pub kind: SyncWindowKind,
    /// The windows.
    #[schemars(length(min = 1))]
    pub windows: Vec<SyncWindow>,
}

/// Meaning of the sync windows.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SyncWindowKind {
    Allow,
    Deny,
}

/// A window opening at each schedule firing.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncWindow {
    /// Five-field cron expression (UTC) or a descriptor such as `@daily` or `@every 1h`.
    #[schemars(transform = schema::schedule)]
    pub schedule: String,
    /// Go duration the window stays open.
    pub duration: String,
}

/// One value fetched into one key.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretData {
    /// Key in the target.
    #[schemars(transform = schema::secret_key)]
    pub secret_key: String,
    /// What to read from the provider.
    pub remote_ref: ExternalSecretDataRemoteRef,
    /// Store for this entry, overriding spec.secretStoreRef.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<StoreSourceRef>,
}

/// Address of a remote value.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretDataRemoteRef {
    /// Provider key (name or path) of the secret.
    pub key: String,
    /// Fetch tags/labels instead of the value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata_policy: Option<MetadataPolicy>,
    /// Field inside a structured value (usually a JSON path).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    /// Provider-specific version selector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Key conversion for maps returned by extract.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversion_strategy: Option<ConversionStrategy>,
    /// Decoding applied to fetched values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoding_strategy: Option<DecodingStrategy>,
    /// Fail instead of storing values containing NUL bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub null_byte_policy: Option<NullBytePolicy>,
}

/// Store (or deprecated generator) used by a single `data` entry.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("minProperties" = 1, "maxProperties" = 1))]
pub struct StoreSourceRef {
    /// Store to read from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_ref: Option<SecretStoreRef>,
    /// Deprecated here: use dataFrom with a generatorRef.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generator_ref: Option<GeneratorRef>,
}

/// Store or generator used by a `dataFrom` entry.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("minProperties" = 1, "maxProperties" = 1))]
pub struct StoreGeneratorSourceRef {
    /// Store to read from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_ref: Option<SecretStoreRef>,
    /// Generator whose output is used as data.
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
    /// Search the provider for secrets by name or tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub find: Option<ExternalSecretFind>,
    /// Key rewrites applied in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<Vec<ExternalSecretRewrite>>,
    /// Store or generator for this entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<StoreGeneratorSourceRef>,
}

/// Search criteria for many remote secrets.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretFind {
    /// Root path to search under.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Match secret names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<FindName>,
    /// Match provider tags (all must match).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    /// Key conversion for the found names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversion_strategy: Option<ConversionStrategy>,
    /// Decoding applied to found values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoding_strategy: Option<DecodingStrategy>,
    /// Fail instead of storing values containing NUL bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub null_byte_policy: Option<NullBytePolicy>,
}

/// Name filter of a find.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FindName {
    /// RE2 expression matched (unanchored) against secret names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regexp: Option<String>,
}

/// One key rewrite; exactly one of the fields is set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("minProperties" = 1, "maxProperties" = 1))]
pub struct ExternalSecretRewrite {
    /// Merge nested JSON values into one map.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merge: Option<ExternalSecretRewriteMerge>,
    /// Rename keys with a regular expression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regexp: Option<RewriteRegexp>,
    /// Rename keys with a template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transform: Option<RewriteTransform>,
}

/// Merge several JSON values into one.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretRewriteMerge {
    /// Key receiving the merged result; empty merges into the top level.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = ""))]
    pub into: Option<String>,
    /// Keys merged first, in this order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<Vec<String>>,
    /// Whether keys listed in priority must exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Strict"))]
    pub priority_policy: Option<MergePriorityPolicy>,
    /// What to do when two values set the same key.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Error"))]
    pub conflict_policy: Option<MergeConflictPolicy>,
    /// Extract merges top-level keys; JSON merges whole documents.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Extract"))]
    pub strategy: Option<MergeStrategy>,
}

/// Handling of missing priority keys.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum MergePriorityPolicy {
    IgnoreNotFound,
    #[default]
    Strict,
}

/// Handling of conflicting keys while merging.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum MergeConflictPolicy {
    Ignore,
    #[default]
    Error,
}

/// How values are merged.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum MergeStrategy {
    #[default]
    Extract,
    #[serde(rename = "JSON")]
    Json,
}

/// Condition type set on every reconcile.
pub const CONDITION_READY: &str = "Ready";
/// Condition type used internally while the ExternalSecret is deleted.
pub const CONDITION_DELETED: &str = "Deleted";
/// Ready=True: the target was written.
pub const REASON_SECRET_SYNCED: &str = "SecretSynced";
/// Ready=False: fetching or writing failed.
pub const REASON_SECRET_SYNCED_ERROR: &str = "SecretSyncedError";
/// Ready=True: the provider is empty and deletionPolicy Delete removed the target.
pub const REASON_SECRET_DELETED: &str = "SecretDeleted";
/// Ready=True: creationPolicy Merge but the target does not exist.
pub const REASON_SECRET_MISSING: &str = "SecretMissing";
/// Generic-target counterpart of SecretSynced.
pub const REASON_RESOURCE_SYNCED: &str = "ResourceSynced";
/// Generic-target counterpart of SecretSyncedError.
pub const REASON_RESOURCE_SYNCED_ERROR: &str = "ResourceSyncedError";
/// Generic-target counterpart of SecretDeleted.
pub const REASON_RESOURCE_DELETED: &str = "ResourceDeleted";
/// Generic-target counterpart of SecretMissing.
pub const REASON_RESOURCE_MISSING: &str = "ResourceMissing";

/// Observed state of an ExternalSecret.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretStatus {
    /// Start time of the last successful sync.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_time: Option<Time>,
    /// Generation and metadata hash the last sync was based on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub synced_resource_version: Option<String>,
    /// Current conditions (one per type).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<ExternalSecretStatusCondition>>,
    /// The Secret written, for service-binding consumers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binding: Option<SecretBinding>,
}

/// Name of the Secret an ExternalSecret wrote.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = schema::map_atomic)]
pub struct SecretBinding {
    /// Secret name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = ""))]
    pub name: Option<String>,
}

/// One status condition of an ExternalSecret.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretStatusCondition {
    /// Ready or Deleted.
    #[serde(rename = "type")]
    #[schemars(extend("enum" = ["Ready", "Deleted"]))]
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

/// Event reason: the target was created.
pub const EVENT_CREATED: &str = "Created";
/// Event reason: the target was updated.
pub const EVENT_UPDATED: &str = "Updated";
/// Event reason: the target was deleted.
pub const EVENT_DELETED: &str = "Deleted";
/// Warning event reason: syncing failed.
pub const EVENT_UPDATE_FAILED: &str = "UpdateFailed";
/// Event reason: the provider no longer has the secret.
pub const EVENT_MISSING_PROVIDER_SECRET: &str = "MissingProviderSecret";

#[cfg(test)]
mod tests {
    use super::*;

    fn es(json: serde_json::Value) -> ExternalSecret {
        serde_json::from_value(json).expect("decodes")
    }

    #[test]
    fn effective_values_follow_crd_defaults_without_injecting_them() {
        let e = es(serde_json::json!({
            "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": "db"}, "spec": {}
        }));
        assert_eq!(e.spec.effective_creation_policy(), CreationPolicy::Owner);
        assert_eq!(e.spec.effective_deletion_policy(), DeletionPolicy::Retain);
        assert_eq!(e.spec.effective_refresh_policy(), RefreshPolicy::Periodic);
        assert_eq!(e.spec.effective_refresh_interval(), "1h0m0s");
        assert_eq!(e.target_name(), Some("db"));
        let back = serde_json::to_value(&e).expect("encodes");
        assert_eq!(back["spec"], serde_json::json!({}));
    }

    #[test]
    fn explicit_values_win_and_enums_use_wire_names() {
        let e = es(serde_json::json!({
            "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": "db"},
            "spec": {
                "target": {"name": "other", "creationPolicy": "CreateOrMerge", "deletionPolicy": "Merge"},
                "dataFrom": [{"extract": {"key": "k", "decodingStrategy": "Base64URL"}}]
            }
        }));
        assert_eq!(
            e.spec.effective_creation_policy(),
            CreationPolicy::CreateOrMerge
        );
        assert_eq!(e.spec.effective_deletion_policy(), DeletionPolicy::Merge);
        assert_eq!(e.target_name(), Some("other"));
        let extract = e.spec.data_from_items()[0]
            .extract
            .as_ref()
            .expect("extract");
        assert_eq!(extract.decoding_strategy, Some(DecodingStrategy::Base64Url));
    }

    #[test]
    fn unknown_enum_values_are_rejected() {
        let r: Result<ExternalSecretSpec, _> =
            serde_json::from_value(serde_json::json!({"target": {"creationPolicy": "Sometimes"}}));
        assert!(r.is_err());
    }
}
