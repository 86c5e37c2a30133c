//! Validating a set of manifests together (the offline `validate` CLI, CI pipelines): Namespace
//! objects in the set supply the namespace policy, ClusterSecretStores in the set answer
//! ClusterSecretStore lookups, everything else of our API groups is validated.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::{Outcome, ValidationContext, handles, validate};
use crate::api::v1::ClusterSecretStore;
use crate::policy::NamespacePolicy;

/// One parsed document and where it came from.
#[derive(Clone, Debug)]
pub struct Document {
    /// File name (or `-` for stdin).
    pub source: String,
    /// 1-based index of the document inside the file.
    pub index: usize,
    /// The parsed object.
    pub object: Value,
}

/// Options of a batch run.
#[derive(Clone, Debug)]
pub struct BatchOptions {
    /// Deny when a namespace has no policy annotations (or is not among the inputs).
    pub require_namespace_policy: bool,
    /// Report unknown fields.
    pub strict: bool,
    /// Template delimiters.
    pub left_delim: String,
    /// Template delimiters.
    pub right_delim: String,
}

impl Default for BatchOptions {
    fn default() -> Self {
        Self {
            require_namespace_policy: false,
            strict: false,
            left_delim: "{{".into(),
            right_delim: "}}".into(),
        }
    }
}

/// The verdict on one validated document.
#[derive(Clone, Debug, Serialize)]
pub struct DocumentReport {
    /// File name.
    pub source: String,
    /// 1-based document index in the file.
    pub index: usize,
    /// Object kind.
    pub kind: String,
    /// `namespace/name` or `name`.
    pub name: String,
    /// Errors and warnings.
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl DocumentReport {
    /// One line per problem: `file:doc: kind/name: field: message`, warnings marked.
    pub fn lines(&self) -> Vec<String> {
        let prefix = format!(
            "{}:{}: {}/{}",
            self.source, self.index, self.kind, self.name
        );
        let mut lines: Vec<String> = self
            .outcome
            .errors
            .iter()
            .map(|e| format!("{prefix}: {}: {}", e.path, e.message))
            .collect();
        lines.extend(
            self.outcome
                .warnings
                .iter()
                .map(|w| format!("{prefix}: warning: {w}")),
        );
        lines
    }
}

fn annotations(obj: &Value) -> BTreeMap<String, String> {
    obj.pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
}

/// Validates every document of our API groups in `docs`; `extra` are additional documents
/// (for example a `--namespaces` file) used only as context.
pub fn validate_documents(
    docs: &[Document],
    extra: &[Document],
    opts: &BatchOptions,
) -> Vec<DocumentReport> {
    let mut policies = BTreeMap::new();
    let mut stores = BTreeMap::new();
    for d in extra.iter().chain(docs) {
        let o = &d.object;
        let api_version = o.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        match o.get("kind").and_then(Value::as_str) {
            Some("Namespace") if api_version == "v1" => {
                if let Some(name) = meta_str(o, "name") {
                    let p = NamespacePolicy::from_annotations(
                        name,
                        &annotations(o),
                        opts.require_namespace_policy,
                    );
                    policies.insert(name.to_string(), p);
                }
            }
            Some("ClusterSecretStore") if api_version == "external-secrets.io/v1" => {
                if let Ok(css) = serde_json::from_value::<ClusterSecretStore>(o.clone())
                    && let Some(n) = css.metadata.name.clone()
                {
                    stores.insert(n, css);
                }
            }
            _ => {}
        }
    }
    let lookup = |name: &str| stores.get(name).cloned();
    let mut reports = Vec::new();
    for d in docs {
        let o = &d.object;
        let api_version = o.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = o.get("kind").and_then(Value::as_str).unwrap_or("");
        if !handles(api_version, kind) {
            continue;
        }
        let ns = meta_str(o, "namespace");
        let ctx = ValidationContext {
            namespace_policy: ns.and_then(|n| policies.get(n).cloned()),
            cluster_store_lookup: &lookup,
            require_namespace_policy: opts.require_namespace_policy,
            left_delim: opts.left_delim.clone(),
            right_delim: opts.right_delim.clone(),
            strict: opts.strict,
        };
        let name = meta_str(o, "name").unwrap_or("<unnamed>");
        reports.push(DocumentReport {
            source: d.source.clone(),
            index: d.index,
            kind: kind.to_string(),
            name: match ns {
                Some(ns) => format!("{ns}/{name}"),
                None => name.to_string(),
            },
            outcome: validate(o, &ctx),
        });
    }
    reports
}
