//! The webhook deployment: admission validation, defaulting and conversion over TLS, with the
//! serving certificate owned by the process itself.
//!
//! Layout: [`cli`] (flags), [`server`] (state, router, listeners), [`admission`] (the rules seam
//! and the wire format), [`certs`] (certificate generation, storage, rotation), [`tls_reload`]
//! (hot-swappable rustls certificate), [`health`], [`metrics`].

pub mod admission;
pub mod certs;
pub mod cli;
pub mod duration;
mod handlers;
pub mod health;
pub mod metrics;
pub mod offline;
pub mod server;
pub mod tls_reload;

use std::sync::Arc;

pub use admission::{AdmissionRequestView, AdmissionRules, Deny, NoRules, Verdict};
pub use server::{AppState, router};

/// The rules `webhook serve` runs with. The single place to plug the real ESO rules in; rules
/// that need reflectors register one readiness flag per reflector on `readiness` and set it once
/// the reflector is synced (`/readyz` stays 503 until then).
pub fn rules_for(
    _args: &cli::ServeArgs,
    _readiness: &health::Readiness,
) -> Arc<dyn AdmissionRules> {
    // TODO(eso-rules): build the shared ESO validation rules (honouring
    // `--require-namespace-policy`) once they land; until then everything is admitted.
    Arc::new(NoRules)
}
