//! Reading Secrets: whole Secret as JSON, one data key, a gjson path inside a key, metadata, and
//! finds by name or labels.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::api::ListParams;
use shared::api::v1::{
    ConversionStrategy as ApiConversion, ExternalSecretDataRemoteRef, ExternalSecretFind,
    MetadataPolicy,
};
use shared::keys::{GoJsonValue, GoRegex, convert_keys};
use shared::secret_value::SecretValue;

use super::{KubernetesClient, PROVIDER, api_error};
use crate::provider::metrics::observe;
use crate::provider::{ProviderError, SecretMap, json_object_map};

/// Go's `json.Marshal(map[string]string)`: sorted keys, HTML-escaped.
fn json_string_map<'a>(entries: impl IntoIterator<Item = (&'a String, String)>) -> String {
    GoJsonValue::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.clone(), GoJsonValue::String(v)))
            .collect(),
    )
    .to_go_json(true)
}

fn data_as_json(secret: &Secret) -> String {
    json_string_map(
        secret
            .data
            .iter()
            .flatten()
            .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned())),
    )
}

/// A nil map marshals to `null` in Go.
fn metadata_json(map: Option<&BTreeMap<String, String>>) -> String {
    match map {
        None => "null".into(),
        Some(m) => json_string_map(m.iter().map(|(k, v)| (k, v.clone()))),
    }
}

fn fetch_metadata(r: &ExternalSecretDataRemoteRef) -> bool {
    r.metadata_policy == Some(MetadataPolicy::Fetch)
}

fn gjson(value: &str, path: &str) -> Result<Option<String>, ProviderError> {
    shared::gjson::get_string(value, path).map_err(|e| ProviderError::InvalidConfig(e.to_string()))
}

/// `data[]` read: see the module docs of the provider for the property rules.
pub(super) fn secret_value(
    secret: &Secret,
    r: &ExternalSecretDataRemoteRef,
) -> Result<SecretValue, ProviderError> {
    let property = r.property.as_deref().unwrap_or_default();
    if property.is_empty() {
        let json = if fetch_metadata(r) {
            format!(
                "{{\"annotations\":{},\"labels\":{}}}",
                metadata_json(secret.metadata.annotations.as_ref()),
                metadata_json(secret.metadata.labels.as_ref())
            )
        } else {
            data_as_json(secret)
        };
        return Ok(SecretValue::from(json));
    }
    if fetch_metadata(r) {
        return from_metadata(secret, property)?
            .map(SecretValue::from)
            .ok_or_else(|| {
                ProviderError::Other(format!(
                    "property {property} does not exist in metadata of secret {:?}",
                    r.key
                ))
            });
    }
    from_data(secret, property)?.ok_or_else(|| {
        ProviderError::Other(format!(
            "property {property} does not exist in data of secret {:?}",
            r.key
        ))
    })
}

/// An exact data key first (keys such as `file.png` contain dots), else `<key>.<gjson path>`.
fn from_data(secret: &Secret, property: &str) -> Result<Option<SecretValue>, ProviderError> {
    let data = secret.data.as_ref();
    if let Some(v) = data.and_then(|d| d.get(property)) {
        return Ok(Some(SecretValue::new(v.0.clone())));
    }
    let Some((key, path)) = property.split_once('.') else {
        return Ok(None);
    };
    if key.is_empty() || path.is_empty() {
        return Ok(None);
    }
    let Some(v) = data.and_then(|d| d.get(key)) else {
        return Ok(None);
    };
    Ok(gjson(&String::from_utf8_lossy(&v.0), path)?.map(SecretValue::from))
}

/// `labels`, `annotations`, `labels.<name>`, `labels.<name>.<gjson path>` (same for annotations).
fn from_metadata(secret: &Secret, property: &str) -> Result<Option<String>, ProviderError> {
    let mut parts = property.splitn(3, '.');
    let map = match parts.next() {
        Some("labels") => secret.metadata.labels.as_ref(),
        Some("annotations") => secret.metadata.annotations.as_ref(),
        _ => return Ok(None),
    };
    let Some(name) = parts.next() else {
        return Ok(Some(metadata_json(map)));
    };
    let Some(value) = map.and_then(|m| m.get(name)) else {
        return Ok(None);
    };
    match parts.next() {
        None => Ok(Some(value.clone())),
        Some(path) => gjson(value, path),
    }
}

/// `dataFrom[].extract`: all data keys, or the JSON object stored under `property`.
pub(super) fn secret_map(
    secret: &Secret,
    r: &ExternalSecretDataRemoteRef,
) -> Result<SecretMap, ProviderError> {
    let mut map: SecretMap = if fetch_metadata(r) {
        SecretMap::from([
            (
                "labels".to_string(),
                SecretValue::from(metadata_json(secret.metadata.labels.as_ref())),
            ),
            (
                "annotations".to_string(),
                SecretValue::from(metadata_json(secret.metadata.annotations.as_ref())),
            ),
        ])
    } else {
        secret
            .data
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), SecretValue::new(v.0.clone())))
            .collect()
    };
    let property = r.property.as_deref().unwrap_or_default();
    if property.is_empty() {
        return Ok(map);
    }
    let value = map.remove(property).ok_or_else(|| {
        ProviderError::Other(format!(
            "property {property} does not exist in key {}",
            r.key
        ))
    })?;
    let text = String::from_utf8_lossy(value.as_bytes());
    if text.trim() == "null" {
        return Ok(SecretMap::new());
    }
    json_object_map(&text).ok_or_else(|| {
        ProviderError::Other("failed to unmarshal secret: invalid JSON format".into())
    })
}

/// `dataFrom[].find`: by labels (`tags`) or by name regex; each match as its JSON data object.
pub(super) async fn find(
    client: &KubernetesClient,
    find: &ExternalSecretFind,
) -> Result<SecretMap, ProviderError> {
    let api = client.secrets(&client.remote_namespace);
    let (params, name_filter) = if let Some(tags) = &find.tags {
        let selector = tags
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        (ListParams::default().labels(&selector), None)
    } else if let Some(name) = &find.name {
        let pattern = name.regexp.as_deref().unwrap_or_default();
        let re = GoRegex::new(pattern)
            .map_err(|e| ProviderError::InvalidConfig(format!("invalid find.name.regexp: {e}")))?;
        (ListParams::default(), Some(re))
    } else {
        return Err(ProviderError::InvalidConfig(
            "find needs name or tags for the kubernetes provider".into(),
        ));
    };
    let list = observe(PROVIDER, "ListSecrets", api.list(&params).await)
        .map_err(api_error)
        .map_err(|e| ProviderError::Other(format!("unable to list secrets: {e}")))?;
    let mut out = SecretMap::new();
    for secret in &list.items {
        let name = secret.metadata.name.clone().unwrap_or_default();
        if name_filter.as_ref().is_some_and(|re| !re.is_match(&name)) {
            continue;
        }
        out.insert(name, SecretValue::from(data_as_json(secret)));
    }
    let strategy = match find.conversion_strategy.unwrap_or_default() {
        ApiConversion::Default => shared::keys::ConversionStrategy::Default,
        ApiConversion::Unicode => shared::keys::ConversionStrategy::Unicode,
    };
    convert_keys(strategy, out).map_err(|e| ProviderError::Other(e.to_string()))
}
