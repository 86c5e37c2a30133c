//! SecretStore and ClusterSecretStore rules (ESO's store validator plus the referent rules).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use super::common::{at, check_duration, check_namespace_name, idx, one_line};
use super::{Outcome, ValidationContext, policy, providers};
use crate::api::v1::{SecretStoreProvider, SecretStoreSpec, SupportedProvider};
use crate::duration::{GoDuration, store_refresh_interval};
use crate::keys::GoRegex;

/// `namespace` is the store's namespace for a SecretStore, `None` for a ClusterSecretStore.
pub(crate) fn validate_store(
    meta: &ObjectMeta,
    spec: &SecretStoreSpec,
    namespace: Option<&str>,
    ctx: &ValidationContext<'_>,
    out: &mut Outcome,
) {
    let name = meta.name.as_deref().unwrap_or("");
    // ESO rule 1: namespaceRegexes compile; ESO names the regex and condition index.
    for (ci, cond) in spec.conditions.iter().flatten().enumerate() {
        let cp = idx("spec.conditions", ci);
        for (ri, re) in cond.namespace_regexes.iter().flatten().enumerate() {
            if let Err(e) = GoRegex::new(re) {
                out.err(
                    idx(&at(&cp, "namespaceRegexes"), ri),
                    format!(
                        "failed to compile {ri}th namespace regex in {ci}th condition: error \
                         parsing regexp: {}: fix the expression (Go RE2 syntax)",
                        one_line(&e.to_string())
                    ),
                );
            }
        }
        for (ni, n) in cond.namespaces.iter().flatten().enumerate() {
            check_namespace_name(&idx(&at(&cp, "namespaces"), ni), n, out);
        }
    }
    if namespace.is_some() && spec.conditions.as_ref().is_some_and(|c| !c.is_empty()) {
        out.warn(
            "spec.conditions only apply to ClusterSecretStores: they are ignored on a SecretStore",
        );
    }
    // ESO rule 2.
    if let Err(e) = store_refresh_interval(spec.refresh_interval.as_ref(), GoDuration::ZERO) {
        out.err(
            "spec.refreshInterval",
            format!("{e}: use whole seconds (300) or a Go duration such as \"5m\""),
        );
    }
    if let Some(ri) = spec
        .retry_settings
        .as_ref()
        .and_then(|r| r.retry_interval.as_ref())
    {
        check_duration("spec.retrySettings.retryInterval", ri, out);
    }
    if let Some(n) = spec.retry_settings.as_ref().and_then(|r| r.max_retries)
        && n < 0
    {
        out.err(
            "spec.retrySettings.maxRetries",
            format!("{n} is negative: use 0 or more"),
        );
    }
    // ESO rule 3.
    if !check_backend_count(name, &spec.provider, out) {
        return;
    }
    // ESO rule 4 and 5.
    if let Some(p) = spec.provider.supported() {
        providers::validate_provider(p, name, out);
        if matches!(p, SupportedProvider::Fake(_)) {
            out.warn(format!(
                "store {name} isn't currently maintained. Plan and prepare accordingly. (the fake \
                 provider is for tests and demos)"
            ));
        }
    }
    check_references(&spec.provider, namespace, out);
    if let Some(ns) = namespace {
        let pol = ctx.policy_for(ns);
        for (path, role) in policy::store_roles(spec) {
            if let Err(v) = pol.check_role(&role) {
                out.err(path, v.to_string());
            }
        }
    }
}

/// Exactly one backend, and one this operator implements.
fn check_backend_count(name: &str, provider: &SecretStoreProvider, out: &mut Outcome) -> bool {
    let keys = provider.configured_keys();
    if keys.len() != 1 {
        out.err(
            "spec.provider",
            format!(
                "store error for {name}: secret stores must only have exactly one backend \
                 specified, found {}: keep exactly one of {}",
                keys.len(),
                if keys.is_empty() {
                    SecretStoreProvider::SUPPORTED_KEYS.join(", ")
                } else {
                    keys.join(", ")
                }
            ),
        );
        return false;
    }
    for k in provider.unsupported_keys() {
        out.err(
            format!("spec.provider.{k}"),
            format!(
                "provider {k} is not supported by this operator: use one of {}",
                SecretStoreProvider::SUPPORTED_KEYS.join(", ")
            ),
        );
    }
    provider.unsupported_keys().is_empty()
}

/// Credential and CA references of a namespaced store must stay in its namespace; a
/// ClusterSecretStore may name any namespace (or none: referent auth).
fn check_references(provider: &SecretStoreProvider, namespace: Option<&str>, out: &mut Outcome) {
    let Some(ns) = namespace else { return };
    let Ok(json) = serde_json::to_value(provider) else {
        return;
    };
    walk_refs(&json, "spec.provider", ns, out);
}

fn walk_refs(v: &Value, path: &str, ns: &str, out: &mut Outcome) {
    match v {
        Value::Object(map) => {
            let is_selector = map.get("name").is_some_and(Value::is_string);
            if let (true, Some(Value::String(ref_ns))) = (is_selector, map.get("namespace")) {
                let is_ca_provider = matches!(
                    map.get("type").and_then(Value::as_str),
                    Some("Secret" | "ConfigMap")
                );
                if is_ca_provider {
                    out.err(
                        at(path, "namespace"),
                        format!(
                            "caProvider.namespace ({ref_ns:?}) is only allowed in a \
                             ClusterSecretStore: remove it, the CA is read from the store's \
                             namespace {ns:?}"
                        ),
                    );
                } else if ref_ns != ns {
                    out.err(
                        at(path, "namespace"),
                        format!(
                            "cross-namespace reference to {ref_ns:?} is not allowed in a \
                             SecretStore in namespace {ns:?}: remove namespace or set it to {ns:?} \
                             (use a ClusterSecretStore for shared credentials)"
                        ),
                    );
                }
            }
            for (k, child) in map {
                walk_refs(child, &at(path, k), ns, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk_refs(child, &idx(path, i), ns, out);
            }
        }
        _ => {}
    }
}
