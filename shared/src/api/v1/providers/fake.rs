//! `spec.provider.fake`: static in-memory values, for tests and demos.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::schema;

/// Fake backend configuration.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FakeProvider {
    /// Values served by the store.
    pub data: Vec<FakeProviderData>,
    /// Result of store validation: 0 ready, 1 unknown, 2 error.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::no_format)]
    pub validation_result: Option<i64>,
}

/// One fake value.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FakeProviderData {
    /// Remote key.
    pub key: String,
    /// Value returned for the key.
    pub value: String,
    /// Version label; the lexicographically highest wins when unset in the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}
