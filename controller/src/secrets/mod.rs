//! The target Secret: what it should look like ([`desired`]), which of its fields an
//! ExternalSecret owns ([`managed_fields`]) and how it is written ([`apply`]).

pub mod apply;
pub mod desired;
pub mod managed_fields;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;

/// Label on every Secret this controller manages; the Secret watch only sees these.
pub const LABEL_MANAGED: &str = "reconcile.external-secrets.io/managed";
/// Value of [`LABEL_MANAGED`].
pub const LABEL_MANAGED_VALUE: &str = "true";
/// Label naming (by hash) the ExternalSecret that created a Secret with creationPolicy Owner.
pub const LABEL_CREATED_BY: &str = "reconcile.external-secrets.io/created-by";
/// Annotation holding the ESO-compatible hash of the Secret's `.data`.
pub const ANNOTATION_DATA_HASH: &str = "reconcile.external-secrets.io/data-hash";

/// A Secret's `.data` as plain bytes (absent ⇒ empty).
pub fn secret_data(secret: &Secret) -> BTreeMap<String, Vec<u8>> {
    secret
        .data
        .as_ref()
        .map(|d| d.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect())
        .unwrap_or_default()
}
