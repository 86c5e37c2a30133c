//! UUID generator: a random version 4 UUID under the key `uuid`.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The UUID generator takes no parameters.
#[derive(
    CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
)]
#[kube(
    group = "generators.external-secrets.io",
    version = "v1alpha1",
    kind = "UUID",
    plural = "uuids",
    namespaced,
    category = "external-secrets",
    category = "external-secrets-generators",
    label("external-secrets.io/component", "controller"),
    derive = "PartialEq",
    derive = "Default"
)]
pub struct UUIDSpec {}
