//! Fake generator: returns fixed data, for tests.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Data the fake generator returns.
#[derive(
    CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
)]
#[kube(
    group = "generators.external-secrets.io",
    version = "v1alpha1",
    kind = "Fake",
    plural = "fakes",
    namespaced,
    category = "external-secrets",
    category = "external-secrets-generators",
    label("external-secrets.io/component", "controller"),
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(rename_all = "camelCase")]
pub struct FakeSpec {
    /// Controller class allowed to use this generator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller: Option<String>,
    /// Key/value pairs returned verbatim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<BTreeMap<String, String>>,
}
