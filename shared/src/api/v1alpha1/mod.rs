//! `external-secrets.io/v1alpha1`: PushSecret and ClusterPushSecret.

pub mod clusterpushsecret;
pub mod pushsecret;

pub use clusterpushsecret::*;
pub use pushsecret::*;
