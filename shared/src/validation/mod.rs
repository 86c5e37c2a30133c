//! Admission validation of every kind this operator serves.
//!
//! [`validate`] decodes an object into its typed form and applies ESO's webhook rules (§3 of the
//! reference, with ESO's own messages kept verbatim inside ours), the CRD-level rules ESO leaves
//! to the API server (§2.8), the provider `ValidateStore` rules, template/regex/duration syntax,
//! cross-namespace references and the namespace policy. All problems are collected, none stops
//! the others (ESO joins its errors the same way). Deprecated fields and unmaintained providers
//! come back as warnings.

pub mod batch;
mod common;
mod externalsecret;
mod generators;
pub mod policy;
mod providers;
mod pushsecret;
mod store;

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::v1::ClusterSecretStore;
use crate::policy::NamespacePolicy;

pub use providers::aws_region_is_valid;

/// One rejected field: a dotted path (`spec.data[0].secretKey`) and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Dotted path of the offending field, relative to the object root.
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// The verdict on one object: errors deny it, warnings are passed back to the client.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Problems that deny the request.
    pub errors: Vec<FieldError>,
    /// Advice that does not deny it (deprecated fields, unmaintained providers).
    pub warnings: Vec<String>,
}

impl Outcome {
    /// Whether the object is admitted.
    pub fn allowed(&self) -> bool {
        self.errors.is_empty()
    }

    /// All errors joined as `path: message; path2: message2` (the admission denial text).
    pub fn denial_message(&self) -> String {
        self.errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub(crate) fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError {
            path: path.into(),
            message: message.into(),
        });
    }

    pub(crate) fn warn(&mut self, message: impl Into<String>) {
        self.warnings.push(message.into());
    }
}

/// Looks up ClusterSecretStores by name (a reflector cache in the webhook, the input files in
/// the offline CLI).
pub type ClusterStoreLookup<'a> = &'a dyn Fn(&str) -> Option<ClusterSecretStore>;

fn no_cluster_stores(_: &str) -> Option<ClusterSecretStore> {
    None
}

/// Everything validation needs besides the object itself.
pub struct ValidationContext<'a> {
    /// Policy of the object's namespace (from its annotations), if known.
    pub namespace_policy: Option<NamespacePolicy>,
    /// ClusterSecretStores referenced by ExternalSecrets/PushSecrets.
    pub cluster_store_lookup: ClusterStoreLookup<'a>,
    /// Deny when the namespace policy annotations are missing (also when the namespace itself
    /// is unknown).
    pub require_namespace_policy: bool,
    /// Template action delimiters (the controller's `--template-left-delimiter`).
    pub left_delim: String,
    /// Template action delimiters (the controller's `--template-right-delimiter`).
    pub right_delim: String,
    /// Report fields the typed API does not know (which the API server would prune).
    pub strict: bool,
}

impl Default for ValidationContext<'static> {
    fn default() -> Self {
        Self {
            namespace_policy: None,
            cluster_store_lookup: &no_cluster_stores,
            require_namespace_policy: false,
            left_delim: "{{".into(),
            right_delim: "}}".into(),
            strict: false,
        }
    }
}

impl ValidationContext<'_> {
    /// The policy to apply in `namespace`: the known one, else allow-all (or deny-all when the
    /// policy is required).
    pub(crate) fn policy_for(&self, namespace: &str) -> NamespacePolicy {
        match &self.namespace_policy {
            Some(p) if p.namespace() == namespace => p.clone(),
            _ => NamespacePolicy::from_annotations(
                namespace,
                &Default::default(),
                self.require_namespace_policy,
            ),
        }
    }

    pub(crate) fn template_options(&self) -> crate::template::Options {
        crate::template::Options {
            left_delim: self.left_delim.clone(),
            right_delim: self.right_delim.clone(),
        }
    }
}

/// Group of the core kinds.
pub const GROUP: &str = "external-secrets.io";
/// Group of the generator kinds.
pub const GENERATORS_GROUP: &str = "generators.external-secrets.io";

/// Whether [`validate`] knows this apiVersion/kind (everything in our two API groups).
pub fn handles(api_version: &str, _kind: &str) -> bool {
    let group = api_version.split('/').next().unwrap_or_default();
    api_version.contains('/') && (group == GROUP || group == GENERATORS_GROUP)
}

/// Validates one object (create or update; deletes are never validated).
pub fn validate(obj: &Value, ctx: &ValidationContext<'_>) -> Outcome {
    let mut out = Outcome::default();
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    match (api_version, kind) {
        ("external-secrets.io/v1", "ExternalSecret") => {
            if let Some(es) = decode(obj, ctx, &mut out) {
                externalsecret::validate_external_secret(&es, ctx, &mut out);
            }
        }
        ("external-secrets.io/v1", "ClusterExternalSecret") => {
            if let Some(ces) = decode(obj, ctx, &mut out) {
                externalsecret::validate_cluster_external_secret(&ces, ctx, &mut out);
            }
        }
        ("external-secrets.io/v1", "SecretStore") => {
            if let Some(ss) = decode::<crate::api::v1::SecretStore>(obj, ctx, &mut out) {
                let ns = ss.metadata.namespace.clone();
                store::validate_store(&ss.metadata, &ss.spec, ns.as_deref(), ctx, &mut out);
            }
        }
        ("external-secrets.io/v1", "ClusterSecretStore") => {
            if let Some(css) = decode::<ClusterSecretStore>(obj, ctx, &mut out) {
                store::validate_store(&css.metadata, &css.spec, None, ctx, &mut out);
            }
        }
        ("external-secrets.io/v1beta1", "ExternalSecret" | "ClusterExternalSecret")
        | ("external-secrets.io/v1beta1", "SecretStore" | "ClusterSecretStore") => {
            out.warn(format!(
                "external-secrets.io/v1beta1 {kind} is deprecated and not served: convert it with \
                 `webhook convert --to external-secrets.io/v1`"
            ));
            match crate::conversion::convert(obj.clone(), "external-secrets.io/v1") {
                Ok(v1) => {
                    let inner = validate(&v1, ctx);
                    out.errors.extend(inner.errors);
                    out.warnings.extend(inner.warnings);
                }
                Err(e) => out.err("apiVersion", e.to_string()),
            }
        }
        ("external-secrets.io/v1alpha1", "PushSecret") => {
            if let Some(ps) = decode(obj, ctx, &mut out) {
                pushsecret::validate_push_secret(&ps, ctx, &mut out);
            }
        }
        ("external-secrets.io/v1alpha1", "ClusterPushSecret") => {
            if let Some(cps) = decode(obj, ctx, &mut out) {
                pushsecret::validate_cluster_push_secret(&cps, ctx, &mut out);
            }
        }
        (v, k) if v.starts_with(GENERATORS_GROUP) => {
            generators::validate_generator(obj, v, k, ctx, &mut out);
        }
        (v, k) => out.err(
            "kind",
            format!("{v} {k} is not a kind this operator serves"),
        ),
    }
    out
}

/// Validates an object given as JSON text, as [`validate`] would validate it parsed, with
/// `metadata.namespace` defaulted to `namespace` when the object has none (the apiserver fills it
/// from the URL before admission).
///
/// This is the admission server's hot path: the served kinds are decoded straight from the text
/// into their typed form, skipping the intermediate `Value` tree and the path tracking of
/// [`decode`]. Anything else, and any object that does not decode, takes the [`validate`] path,
/// which stays the only source of decode errors (with their field paths).
pub fn validate_text(text: &str, namespace: &str, ctx: &ValidationContext<'_>) -> Outcome {
    if !ctx.strict
        && let Some(out) = validate_typed_text(text, namespace, ctx)
    {
        return out;
    }
    match serde_json::from_str::<Value>(text) {
        Ok(mut obj) => {
            let missing = obj
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty);
            if !namespace.is_empty()
                && missing
                && let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut)
            {
                meta.insert("namespace".into(), Value::String(namespace.to_owned()));
            }
            validate(&obj, ctx)
        }
        Err(e) => {
            let mut out = Outcome::default();
            out.err("(root)", format!("cannot decode: {e}"));
            out
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head<'a> {
    #[serde(borrow)]
    api_version: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    kind: std::borrow::Cow<'a, str>,
}

fn fill_namespace(meta: &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, ns: &str) {
    if !ns.is_empty() && meta.namespace.as_deref().is_none_or(str::is_empty) {
        meta.namespace = Some(ns.to_owned());
    }
}

/// The typed fast path of [`validate_text`]; `None` sends the object down the `Value` path.
fn validate_typed_text(
    text: &str,
    namespace: &str,
    ctx: &ValidationContext<'_>,
) -> Option<Outcome> {
    let head: Head<'_> = serde_json::from_str(text).ok()?;
    let mut out = Outcome::default();
    match (head.api_version.as_ref(), head.kind.as_ref()) {
        ("external-secrets.io/v1", "ExternalSecret") => {
            let mut es: crate::api::v1::ExternalSecret = serde_json::from_str(text).ok()?;
            fill_namespace(&mut es.metadata, namespace);
            externalsecret::validate_external_secret(&es, ctx, &mut out);
        }
        ("external-secrets.io/v1", "ClusterExternalSecret") => {
            let ces: crate::api::v1::ClusterExternalSecret = serde_json::from_str(text).ok()?;
            externalsecret::validate_cluster_external_secret(&ces, ctx, &mut out);
        }
        ("external-secrets.io/v1", "SecretStore") => {
            let mut ss: crate::api::v1::SecretStore = serde_json::from_str(text).ok()?;
            fill_namespace(&mut ss.metadata, namespace);
            let ns = ss.metadata.namespace.clone();
            store::validate_store(&ss.metadata, &ss.spec, ns.as_deref(), ctx, &mut out);
        }
        ("external-secrets.io/v1", "ClusterSecretStore") => {
            let css: ClusterSecretStore = serde_json::from_str(text).ok()?;
            store::validate_store(&css.metadata, &css.spec, None, ctx, &mut out);
        }
        ("external-secrets.io/v1alpha1", "PushSecret") => {
            let mut ps: crate::api::v1alpha1::PushSecret = serde_json::from_str(text).ok()?;
            fill_namespace(&mut ps.metadata, namespace);
            pushsecret::validate_push_secret(&ps, ctx, &mut out);
        }
        ("external-secrets.io/v1alpha1", "ClusterPushSecret") => {
            let cps: crate::api::v1alpha1::ClusterPushSecret = serde_json::from_str(text).ok()?;
            pushsecret::validate_cluster_push_secret(&cps, ctx, &mut out);
        }
        _ => return None,
    }
    Some(out)
}

/// Decodes into the typed API; a failure is reported with the JSON path of the bad field.
/// With `strict`, fields the typed API drops are reported as unknown.
pub(crate) fn decode<T: DeserializeOwned + Serialize>(
    obj: &Value,
    ctx: &ValidationContext<'_>,
    out: &mut Outcome,
) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(obj) {
        Ok(typed) => {
            if ctx.strict
                && let Ok(back) = serde_json::to_value(&typed)
            {
                unknown_fields(obj, &back, "", out);
            }
            Some(typed)
        }
        Err(e) => {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            out.err(
                if path.is_empty() {
                    "(root)".into()
                } else {
                    path
                },
                format!("cannot decode: {}", e.inner()),
            );
            None
        }
    }
}

fn unknown_fields(input: &Value, typed: &Value, path: &str, out: &mut Outcome) {
    match (input, typed) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match b.get(k) {
                    Some(tv) => unknown_fields(v, tv, &p, out),
                    None if v.is_null() => {}
                    None => out.err(p, "unknown field (the API server would drop it)"),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (v, tv)) in a.iter().zip(b).enumerate() {
                unknown_fields(v, tv, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}
