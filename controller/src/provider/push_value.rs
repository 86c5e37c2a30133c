//! What a PushSecret entry sends, for the providers that push the source Secret as one value:
//! the value of `match.secretKey`, or without one the whole Secret as a JSON object of strings;
//! and the edits of a remote JSON document under `remoteRef.property`.
//!
//! ESO's providers differ in the details, so those stay explicit at each call site: whether the
//! whole-Secret JSON is HTML-escaped ([`WholeSecretJson`]), whether a property is an sjson path
//! ([`set_path`]: AWS Secrets Manager, Azure) or one top-level key (Google, Vault), and what a
//! remote value that is not a JSON object means for a delete ([`remove_key`]).
//! [`metadata_spec`] reads the `PushSecretMetadata` document most providers take.

use k8s_openapi::api::core::v1::Secret;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use shared::api::v1alpha1::PushSecretData;
use shared::keys::GoJsonValue;
use shared::secret_value::SecretValue;

use super::ProviderError;

/// How the whole source Secret is encoded when no `secretKey` is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WholeSecretJson {
    /// Go's `json.Marshal`: `<`, `>` and `&` become `\u003c`, `\u003e`, `\u0026`
    /// (Google, Vault, Kubernetes).
    HtmlEscaped,
    /// ESO's `utils.JSONMarshal` (`SetEscapeHTML(false)`): those characters stay as they are
    /// (AWS, Azure).
    Plain,
}

/// The whole Secret as a JSON object of strings, keys sorted as Go sorts map keys.
pub fn whole_secret(secret: &Secret, json: WholeSecretJson) -> SecretValue {
    let fields = secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| {
            let text = String::from_utf8_lossy(&v.0).into_owned();
            (k.clone(), GoJsonValue::String(text))
        })
        .collect();
    let escape_html = json == WholeSecretJson::HtmlEscaped;
    SecretValue::from(GoJsonValue::Object(fields).to_go_json(escape_html))
}

/// The value one entry pushes: the bytes of `match.secretKey`, or (empty key) the whole Secret.
pub fn source_value(
    secret: &Secret,
    data: &PushSecretData,
    json: WholeSecretJson,
) -> Result<SecretValue, ProviderError> {
    match data.match_.secret_key.as_deref().filter(|k| !k.is_empty()) {
        None => Ok(whole_secret(secret, json)),
        Some(key) => secret
            .data
            .as_ref()
            .and_then(|d| d.get(key))
            .map(|v| SecretValue::new(v.0.clone()))
            .ok_or_else(|| {
                ProviderError::InvalidConfig(format!(
                    "secret key {key:?} does not exist in the source Secret"
                ))
            }),
    }
}

/// `remoteRef.property`, when set and not empty.
pub fn property(data: &PushSecretData) -> Option<&str> {
    data.match_
        .remote_ref
        .property
        .as_deref()
        .filter(|p| !p.is_empty())
}

/// The remote value is not a JSON document (its text is not repeated: it is a secret).
#[derive(Debug, PartialEq, Eq)]
pub struct NotJson;

/// Sets `path` to `value` as a JSON string inside the document `current` (blank: a new object),
/// as sjson does: dots nest (`\.` is a literal dot) and what is in the way of the path is
/// replaced by an object.
pub fn set_path(current: &str, path: &str, value: &[u8]) -> Result<String, NotJson> {
    let doc = if current.trim().is_empty() {
        Value::Object(Map::new())
    } else {
        serde_json::from_str(current).map_err(|_| NotJson)?
    };
    let mut keys = Vec::new();
    let mut key = String::new();
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => key.extend(chars.next()),
            '.' => keys.push(std::mem::take(&mut key)),
            c => key.push(c),
        }
    }
    keys.push(key);
    let text = Value::String(String::from_utf8_lossy(value).into_owned());
    Ok(set_in(doc, &keys, text).to_string())
}

/// `node` (made an object if it is not one) with `value` at the end of `keys`.
fn set_in(node: Value, keys: &[String], value: Value) -> Value {
    let mut map = match node {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    match keys {
        [] => {}
        [last] => {
            map.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let slot = map.entry(first.clone()).or_insert(Value::Null);
            *slot = set_in(std::mem::take(slot), rest, value);
        }
    }
    Value::Object(map)
}

/// What removing one top-level key from a remote JSON value leaves.
#[derive(Debug, PartialEq, Eq)]
pub enum Removal {
    /// The value is not a JSON object.
    NotAnObject,
    /// The object has no such key: nothing to change.
    Absent,
    /// The key was the last one: the remote secret can go.
    Emptied,
    /// The object without the key, serialised.
    Rest(Vec<u8>),
}

/// Removes the top-level `key` from the JSON object `current`.
pub fn remove_key(current: &[u8], key: &str) -> Removal {
    let Ok(mut obj) = serde_json::from_slice::<Map<String, Value>>(current) else {
        return Removal::NotAnObject;
    };
    if obj.remove(key).is_none() {
        Removal::Absent
    } else if obj.is_empty() {
        Removal::Emptied
    } else {
        Removal::Rest(Value::Object(obj).to_string().into_bytes())
    }
}

const METADATA_API_VERSION: &str = "kubernetes.external-secrets.io/v1alpha1";
const METADATA_KIND: &str = "PushSecretMetadata";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetadataDoc<T> {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    spec: T,
}

/// The `spec` of `data.metadata`, a `kubernetes.external-secrets.io/v1alpha1`
/// `PushSecretMetadata` (`None` without metadata). Errors start with `what`, the provider's own
/// wording of "cannot parse the metadata".
pub fn metadata_spec<T: DeserializeOwned + Default>(
    data: &PushSecretData,
    what: &str,
) -> Result<Option<T>, ProviderError> {
    let Some(value) = &data.metadata else {
        return Ok(None);
    };
    let doc: MetadataDoc<T> = serde_json::from_value(value.clone())
        .map_err(|e| ProviderError::InvalidConfig(format!("{what}: {e}")))?;
    if doc.api_version != METADATA_API_VERSION || doc.kind != METADATA_KIND {
        return Err(ProviderError::InvalidConfig(format!(
            "{what}: expected apiVersion {METADATA_API_VERSION} and kind {METADATA_KIND}"
        )));
    }
    Ok(Some(doc.spec))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::ByteString;
    use serde_json::json;
    use shared::api::v1alpha1::PushSecretData;

    use super::*;

    fn secret(pairs: &[(&str, &str)]) -> Secret {
        let data: BTreeMap<String, ByteString> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
            .collect();
        Secret {
            data: Some(data),
            ..Default::default()
        }
    }

    fn entry(secret_key: &str, property: Option<&str>) -> PushSecretData {
        serde_json::from_value(json!({
            "match": {
                "secretKey": secret_key,
                "remoteRef": {"remoteKey": "r", "property": property},
            }
        }))
        .unwrap()
    }

    #[test]
    fn whole_secret_is_sorted_json_of_strings_escaped_per_provider() {
        let s = secret(&[("b", "<x&y>"), ("a", "1")]);
        let escaped = whole_secret(&s, WholeSecretJson::HtmlEscaped);
        assert_eq!(
            escaped.as_bytes(),
            br#"{"a":"1","b":"\u003cx\u0026y\u003e"}"#
        );
        let plain = whole_secret(&s, WholeSecretJson::Plain);
        assert_eq!(plain.as_bytes(), br#"{"a":"1","b":"<x&y>"}"#);
        assert_eq!(
            whole_secret(&Secret::default(), WholeSecretJson::Plain).as_bytes(),
            b"{}"
        );
    }

    #[test]
    fn source_value_is_one_key_or_the_whole_secret() {
        let s = secret(&[("k", "v"), ("o", "w")]);
        let one = source_value(&s, &entry("k", None), WholeSecretJson::Plain).unwrap();
        assert_eq!(one.as_bytes(), b"v");
        let all = source_value(&s, &entry("", None), WholeSecretJson::Plain).unwrap();
        assert_eq!(all.as_bytes(), br#"{"k":"v","o":"w"}"#);
        let missing = source_value(&s, &entry("nope", None), WholeSecretJson::Plain);
        assert!(
            matches!(missing, Err(ProviderError::InvalidConfig(m)) if m.contains("\"nope\"")),
            "a missing key names the key"
        );
    }

    #[test]
    fn property_ignores_empty() {
        assert_eq!(property(&entry("k", Some("p"))), Some("p"));
        assert_eq!(property(&entry("k", Some(""))), None);
        assert_eq!(property(&entry("k", None)), None);
    }

    #[test]
    fn set_path_nests_like_sjson_and_keeps_other_fields() {
        assert_eq!(set_path("", "a", b"1").unwrap(), r#"{"a":"1"}"#);
        assert_eq!(set_path("  ", "a", b"1").unwrap(), r#"{"a":"1"}"#);
        assert_eq!(
            set_path(r#"{"a":"x","b":"y"}"#, "a", b"2").unwrap(),
            r#"{"a":"2","b":"y"}"#
        );
        assert_eq!(
            set_path(r#"{"b":"y"}"#, "n.m", b"v").unwrap(),
            r#"{"b":"y","n":{"m":"v"}}"#
        );
        assert_eq!(set_path("{}", r"a\.b", b"v").unwrap(), r#"{"a.b":"v"}"#);
        // A string in the way of the path becomes an object.
        assert_eq!(
            set_path(r#"{"n":"s"}"#, "n.m", b"v").unwrap(),
            r#"{"n":{"m":"v"}}"#
        );
        assert_eq!(set_path("not json", "a", b"v"), Err(NotJson));
    }

    #[test]
    fn remove_key_reports_what_is_left() {
        assert_eq!(
            remove_key(br#"{"a":"1","b":"2"}"#, "a"),
            Removal::Rest(br#"{"b":"2"}"#.to_vec())
        );
        assert_eq!(remove_key(br#"{"a":"1"}"#, "a"), Removal::Emptied);
        assert_eq!(remove_key(br#"{"a":"1"}"#, "z"), Removal::Absent);
        assert_eq!(remove_key(b"plain", "a"), Removal::NotAnObject);
        assert_eq!(remove_key(b"[1]", "a"), Removal::NotAnObject);
    }

    #[derive(Deserialize, Default, Debug, PartialEq)]
    struct Spec {
        #[serde(default)]
        labels: BTreeMap<String, String>,
    }

    fn with_metadata(metadata: serde_json::Value) -> PushSecretData {
        let mut data = entry("k", None);
        data.metadata = Some(metadata);
        data
    }

    #[test]
    fn metadata_spec_checks_the_document_kind() {
        assert_eq!(metadata_spec::<Spec>(&entry("k", None), "x").unwrap(), None);
        let good = with_metadata(json!({
            "apiVersion": "kubernetes.external-secrets.io/v1alpha1",
            "kind": "PushSecretMetadata",
            "spec": {"labels": {"a": "b"}},
        }));
        let spec = metadata_spec::<Spec>(&good, "x").unwrap().unwrap();
        assert_eq!(spec.labels.get("a").map(String::as_str), Some("b"));
        let no_spec = with_metadata(json!({
            "apiVersion": "kubernetes.external-secrets.io/v1alpha1",
            "kind": "PushSecretMetadata",
        }));
        assert_eq!(
            metadata_spec::<Spec>(&no_spec, "x").unwrap(),
            Some(Spec::default())
        );
        let flat = with_metadata(json!({"labels": {"a": "b"}}));
        let err = metadata_spec::<Spec>(&flat, "cannot parse").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot parse: expected apiVersion"),
            "{err}"
        );
        let bad_spec = with_metadata(json!({
            "apiVersion": "kubernetes.external-secrets.io/v1alpha1",
            "kind": "PushSecretMetadata",
            "spec": {"labels": "not a map"},
        }));
        assert!(metadata_spec::<Spec>(&bad_spec, "x").is_err());
    }
}
