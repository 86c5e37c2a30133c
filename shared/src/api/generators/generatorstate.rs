//! GeneratorState: the state a stateful generator left behind, cleaned up after a deadline.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::schema;

/// Label linking a state object to the resource that owns it.
pub const LABEL_OWNER_KEY: &str = "generators.external-secrets.io/owner-key";
/// Finalizer held while the generator's cleanup has not run.
pub const FINALIZER: &str = "generatorstate.externalsecrets.io/finalizer";

/// A generator's state snapshot.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "generators.external-secrets.io",
    version = "v1alpha1",
    kind = "GeneratorState",
    plural = "generatorstates",
    namespaced,
    status = "GeneratorStateStatus",
    shortname = "gs",
    category = "external-secrets",
    category = "external-secrets-generators",
    label("external-secrets.io/component", "controller"),
    printcolumn(
        name = "GC Deadline",
        type_ = "string",
        json_path = ".spec.garbageCollectionDeadline"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(rename_all = "camelCase")]
pub struct GeneratorStateSpec {
    /// After this time the state is cleaned up and deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garbage_collection_deadline: Option<Time>,
    /// Snapshot of the generator manifest that produced the state.
    #[schemars(schema_with = "schema::any_value")]
    pub resource: serde_json::Value,
    /// Generator-specific state needed for cleanup.
    #[schemars(schema_with = "schema::any_value")]
    pub state: serde_json::Value,
}

/// Observed state of a GeneratorState.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GeneratorStateStatus {
    /// Current conditions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<GeneratorStateCondition>>,
}

/// One status condition of a GeneratorState.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GeneratorStateCondition {
    /// Condition type.
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
