//! Serving certificate ownership.
//!
//! `--cert-mode self`: the webhook generates a CA and serving certificate, keeps them in one
//! Secret only it reads (by name), injects the CA into its own webhook configurations (and CRD
//! conversion webhooks when conversion is served), re-checks every `--check-interval` and
//! renews when less than `--lookahead-interval` is left. `--cert-mode files`: the certificate is
//! mounted (cert-manager) and reloaded when the files change. Either way the new certificate is
//! swapped into the running TLS listener; nothing restarts.

pub mod bundle;
pub mod files;
pub mod inspect;
pub mod k8s;
pub mod maintain;

pub use bundle::{Assessment, CertBundle, CertSettings, KeyPem, assess, ensure_bundle, renew};
pub use inspect::{CertInfo, inspect_cert, inspect_first_pem};
pub use k8s::{
    CertStore, Ensured, KubeCertStore, KubeTargets, StoreError, StoredSecret, ensure_stored,
};
pub use maintain::{CertRuntime, run_self_managed};
