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
pub mod rules;
pub mod server;
pub mod tls_reload;

use std::sync::Arc;

pub use admission::{AdmissionRequestView, AdmissionRules, Deny, NoRules, Verdict};
pub use rules::EsoRules;
pub use server::{AppState, router};

/// The rule settings `webhook serve` flags select.
pub fn rules_options(args: &cli::ServeArgs) -> rules::RulesOptions {
    rules::RulesOptions {
        require_namespace_policy: args.require_namespace_policy,
        left_delim: args.template_left_delimiter.clone(),
        right_delim: args.template_right_delimiter.clone(),
    }
}

/// The rules `webhook serve` runs with: ESO's validation/defaulting/conversion over watched
/// Namespace and ClusterSecretStore caches. The watches are spawned on the current Tokio runtime; the `reflectors` readiness flag keeps `/readyz` at 503 until both caches
/// have listed.
///
/// Without any Kubernetes configuration (no in-cluster environment, no kubeconfig) there is
/// nothing to watch: the caches stay empty and the flag is set, so namespaces have no policy
/// (and `--require-namespace-policy` denies every namespaced object).
pub async fn rules_for(
    args: &cli::ServeArgs,
    readiness: &health::Readiness,
) -> Arc<dyn AdmissionRules> {
    let ready = readiness.register(rules::REFLECTORS);
    let opts = rules_options(args);
    let caches = match kube::Config::infer().await {
        Ok(config) => match kube::Client::try_from(config) {
            Ok(client) => rules::Caches::watch(client, ready),
            Err(e) => {
                tracing::error!(error = %e, "cannot build a Kubernetes client; caches stay empty");
                ready.set(true);
                rules::Caches::from_objects(Vec::new(), Vec::new())
            }
        },
        Err(e) => {
            tracing::warn!(
                error = %e,
                "no Kubernetes configuration found: namespace policy and ClusterSecretStore \
                 lookups run without cluster data"
            );
            ready.set(true);
            rules::Caches::from_objects(Vec::new(), Vec::new())
        }
    };
    Arc::new(rules::EsoRules::new(opts, caches))
}
