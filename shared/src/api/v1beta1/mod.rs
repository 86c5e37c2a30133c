//! `external-secrets.io/v1beta1`: the deprecated, unserved schema of ExternalSecret,
//! ClusterExternalSecret, SecretStore and ClusterSecretStore. No conversion webhook exists
//! (strategy None), so objects read through v1 keep their stored fields.

pub mod clusterexternalsecret;
pub mod externalsecret;
pub mod secretstore;

pub use clusterexternalsecret::*;
pub use externalsecret::*;
pub use secretstore::*;
