//! `external-secrets.io/v1`: ExternalSecret, ClusterExternalSecret, SecretStore,
//! ClusterSecretStore (served and stored).

pub mod clusterexternalsecret;
pub mod common;
pub mod externalsecret;
pub mod providers;
pub mod secretstore;
pub mod template;

pub use clusterexternalsecret::*;
pub use common::*;
pub use externalsecret::*;
pub use providers::{OpaqueConfig, SecretStoreProvider, SupportedProvider};
pub use secretstore::*;
pub use template::*;
