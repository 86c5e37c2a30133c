//! ObjectMeta validation (names, labels, annotations, finalizers) with apimachinery's messages.

use rand::Rng;
use serde_json::{Value, json};

use super::errors::Cause;
use super::registry::{Builtin, ResourceType};

const DNS1123_SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1123_LABEL: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const LABEL_VALUE: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const QUALIFIED_NAME: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

pub fn random_suffix() -> String {
    const ALPHA: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut r = rand::rng();
    (0..5)
        .map(|_| ALPHA[r.random_range(0..ALPHA.len())] as char)
        .collect()
}

fn is_subdomain(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(is_label)
}

pub fn is_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

fn is_label_value(s: &str) -> bool {
    let b = s.as_bytes();
    b.is_empty()
        || (b.len() <= 63
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric())
}

fn name_causes(field: &str, name: &str, label_only: bool) -> Vec<Cause> {
    let mut out = Vec::new();
    if label_only {
        if name.len() > 63 {
            out.push(Cause::invalid(
                field,
                &json!(name),
                "must be no more than 63 characters",
            ));
        }
        if !is_label(name) {
            out.push(Cause::invalid(field, &json!(name), DNS1123_LABEL));
        }
    } else {
        if name.len() > 253 {
            out.push(Cause::invalid(
                field,
                &json!(name),
                "must be no more than 253 characters",
            ));
        }
        if !is_subdomain(name) {
            out.push(Cause::invalid(field, &json!(name), DNS1123_SUBDOMAIN));
        }
    }
    out
}

fn label_key_causes(field: &str, key: &str) -> Vec<Cause> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let mut out = Vec::new();
    let b = name.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric();
    if !ok {
        out.push(Cause::invalid(field, &json!(key), QUALIFIED_NAME));
    }
    if let Some(p) = prefix
        && !is_subdomain(p)
    {
        out.push(Cause::invalid(
            field,
            &json!(key),
            &format!("prefix part {DNS1123_SUBDOMAIN}"),
        ));
    }
    out
}

/// ObjectMeta checks common to every kind.
pub fn validate_meta(rt: &ResourceType, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let meta = &obj["metadata"];
    let mut out = Vec::new();
    let name = meta["name"].as_str().unwrap_or("");
    if name.is_empty() {
        out.push(Cause::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        let label_only = matches!(rt.builtin, Builtin::Namespace);
        out.extend(name_causes("metadata.name", name, label_only));
    }
    if let Some(labels) = meta["labels"].as_object() {
        for (k, v) in labels {
            out.extend(label_key_causes("metadata.labels", k));
            let s = v.as_str().unwrap_or("");
            if !is_label_value(s) {
                if s.len() > 63 {
                    out.push(Cause::invalid(
                        "metadata.labels",
                        v,
                        "must be no more than 63 characters",
                    ));
                }
                out.push(Cause::invalid("metadata.labels", v, LABEL_VALUE));
            }
        }
    }
    if let Some(ann) = meta["annotations"].as_object() {
        for k in ann.keys() {
            out.extend(label_key_causes("metadata.annotations", k));
        }
    }
    if let Some(old) = old
        && old["metadata"]["deletionTimestamp"].is_string()
    {
        let before = super::write::finalizers(old);
        let new: Vec<String> = super::write::finalizers(obj)
            .into_iter()
            .filter(|f| !before.contains(f))
            .collect();
        if !new.is_empty() {
            let list: Vec<String> = new.iter().map(|f| format!("{f:?}")).collect();
            let msg = format!(
                "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                list.join(", ")
            );
            // The apiserver reports this twice (generic and strategy validation both check it).
            out.push(Cause::forbidden("metadata.finalizers", &msg));
            out.push(Cause::forbidden("metadata.finalizers", &msg));
        }
    }
    out
}
