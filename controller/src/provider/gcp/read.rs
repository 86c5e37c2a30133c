//! Reads: a version's payload (latest, numbered, or with `LatestOrFetch` the newest enabled),
//! `property` through gjson, labels/annotations with `metadataPolicy: Fetch`, and finds by
//! name regex or labels through list filters and paging.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use serde_json::Value;
use shared::api::v1::{
    ConversionStrategy as ApiConversion, ExternalSecretDataRemoteRef, ExternalSecretFind,
    MetadataPolicy,
};
use shared::keys::{GoJsonValue, GoRegex, convert_keys};
use shared::secret_value::SecretValue;

use super::{CallError, GcpClient};
use crate::provider::{ProviderError, SecretMap};

fn gjson(value: &str, path: &str) -> Result<Option<String>, ProviderError> {
    shared::gjson::get_string(value, path).map_err(|e| ProviderError::InvalidConfig(e.to_string()))
}

/// Secret ids are the last segment of a name; keys may be given as full resource names.
fn secret_id(key: &str) -> &str {
    key.rsplit("/secrets/").next().unwrap_or(key)
}

fn decode_payload(v: &Value) -> Result<SecretValue, ProviderError> {
    let data = v["payload"]["data"].as_str().unwrap_or_default();
    STANDARD.decode(data).map(SecretValue::new).map_err(|_| {
        ProviderError::Other("Google Secret Manager returned an undecodable payload".into())
    })
}

/// The payload of `version` (default `latest`); `Ok(None)` when the secret or version does
/// not exist.
pub(super) async fn access(
    c: &GcpClient,
    id: &str,
    version: Option<&str>,
) -> Result<Option<SecretValue>, ProviderError> {
    let version = version.filter(|v| !v.is_empty()).unwrap_or("latest");
    let path = format!("{}/versions/{version}:access", c.secret_path(id));
    match c
        .call("AccessSecretVersion", Method::GET, &path, None)
        .await
    {
        Ok(v) => decode_payload(&v).map(Some),
        Err(CallError::Api(a)) if a.not_found() => Ok(None),
        Err(CallError::Api(a))
            if a.failed_precondition() && version == "latest" && c.latest_or_fetch =>
        {
            newest_enabled(c, id).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `LatestOrFetch`: the newest version that is still enabled.
async fn newest_enabled(c: &GcpClient, id: &str) -> Result<Option<SecretValue>, ProviderError> {
    let path = format!(
        "{}/versions?filter=state%3AENABLED&pageSize=1",
        c.secret_path(id)
    );
    let list = c
        .call("ListSecretVersions", Method::GET, &path, None)
        .await
        .map_err(ProviderError::from)?;
    let Some(name) = list["versions"][0]["name"].as_str() else {
        return Err(ProviderError::Other(format!(
            "secret {id:?} has no enabled version"
        )));
    };
    let number = name.rsplit('/').next().unwrap_or_default().to_string();
    let path = format!("{}/versions/{number}:access", c.secret_path(id));
    match c
        .call("AccessSecretVersion", Method::GET, &path, None)
        .await
    {
        Ok(v) => decode_payload(&v).map(Some),
        Err(CallError::Api(a)) if a.not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// [`access`] shared with the other reads of the same version in this refresh.
pub(super) async fn access_shared(
    c: &GcpClient,
    id: &str,
    version: Option<&str>,
) -> Result<Option<SecretValue>, ProviderError> {
    let v = version.filter(|v| !v.is_empty()).unwrap_or("latest");
    c.payloads
        .read(format!("{id}/versions/{v}"), || access(c, id, version))
        .await
}

/// The secret resource (labels, annotations); `Ok(None)` when it does not exist.
pub(super) async fn get_meta(c: &GcpClient, id: &str) -> Result<Option<Value>, ProviderError> {
    match c
        .call("GetSecret", Method::GET, &c.secret_path(id), None)
        .await
    {
        Ok(v) => Ok(Some(v)),
        Err(CallError::Api(a)) if a.not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub(super) fn string_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn json_map(m: &BTreeMap<String, String>) -> String {
    GoJsonValue::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), GoJsonValue::String(v.clone())))
            .collect(),
    )
    .to_go_json(true)
}

/// `metadataPolicy: Fetch`: `{"annotations":…,"labels":…}`, or `labels`, `annotations`,
/// `labels.<key>`, `annotations.<key>`.
fn metadata_value(secret: &Value, key: &str, property: &str) -> Result<SecretValue, ProviderError> {
    let labels = string_map(&secret["labels"]);
    let annotations = string_map(&secret["annotations"]);
    if property.is_empty() {
        return Ok(SecretValue::from(format!(
            "{{\"annotations\":{},\"labels\":{}}}",
            json_map(&annotations),
            json_map(&labels)
        )));
    }
    let (map, name) = match property.split_once('.') {
        Some((m, n)) => (m, Some(n)),
        None => (property, None),
    };
    let map = match map {
        "labels" => &labels,
        "annotations" => &annotations,
        _ => {
            return Err(ProviderError::InvalidConfig(format!(
                "invalid property {property:?}: with metadataPolicy Fetch use labels, annotations, labels.<key> or annotations.<key>"
            )));
        }
    };
    match name {
        None => Ok(SecretValue::from(json_map(map))),
        Some(n) => map
            .get(n)
            .map(|v| SecretValue::from(v.clone()))
            .ok_or_else(|| {
                ProviderError::Other(format!(
                    "property {property} does not exist in metadata of secret {key:?}"
                ))
            }),
    }
}

fn select(value: SecretValue, key: &str, property: &str) -> Result<SecretValue, ProviderError> {
    if property.is_empty() {
        return Ok(value);
    }
    let text = String::from_utf8_lossy(value.as_bytes());
    gjson(&text, property)?
        .map(SecretValue::from)
        .ok_or_else(|| {
            ProviderError::Other(format!("key {property} does not exist in secret {key}"))
        })
}

pub(super) async fn get_secret(
    c: &GcpClient,
    r: &ExternalSecretDataRemoteRef,
) -> Result<SecretValue, ProviderError> {
    let id = secret_id(&r.key);
    let property = r.property.as_deref().unwrap_or_default();
    if r.metadata_policy == Some(MetadataPolicy::Fetch) {
        let secret = get_meta(c, id).await?.ok_or(ProviderError::NoSecret)?;
        return metadata_value(&secret, &r.key, property);
    }
    let value = access_shared(c, id, r.version.as_deref())
        .await?
        .ok_or(ProviderError::NoSecret)?;
    select(value, &r.key, property)
}

/// A JSON object split into keys the way ESO does (strings unquoted, the rest raw).
fn split_object(text: &str) -> Result<SecretMap, ProviderError> {
    if text.trim() == "null" {
        return Ok(SecretMap::new());
    }
    let fields = shared::gjson::object_fields(text).ok_or_else(|| {
        ProviderError::Other("failed to unmarshal secret: invalid JSON format".into())
    })?;
    Ok(fields
        .into_iter()
        .map(|(k, v)| (k, SecretValue::new(v.to_field_bytes())))
        .collect())
}

pub(super) async fn get_secret_map(
    c: &GcpClient,
    r: &ExternalSecretDataRemoteRef,
) -> Result<SecretMap, ProviderError> {
    let value = get_secret(c, r).await?;
    split_object(&String::from_utf8_lossy(value.as_bytes()))
}

/// Google's list filter for `find.tags` (terms separated by spaces are ANDed).
fn label_filter(tags: &BTreeMap<String, String>) -> String {
    tags.iter()
        .map(|(k, v)| format!("labels.{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn encode(q: &str) -> String {
    form_urlencoded::byte_serialize(q.as_bytes()).collect()
}

/// Every secret id the filter lists, following `nextPageToken`.
async fn list_ids(c: &GcpClient, filter: &str) -> Result<Vec<String>, ProviderError> {
    let mut ids = Vec::new();
    let mut token = String::new();
    loop {
        // The server picks the page size; every page is followed.
        let mut query = Vec::new();
        if !filter.is_empty() {
            query.push(format!("filter={}", encode(filter)));
        }
        if !token.is_empty() {
            query.push(format!("pageToken={}", encode(&token)));
        }
        let mut path = format!("{}/secrets", c.parent);
        if !query.is_empty() {
            path.push('?');
            path.push_str(&query.join("&"));
        }
        let page = c
            .call("ListSecrets", Method::GET, &path, None)
            .await
            .map_err(ProviderError::from)?;
        for s in page["secrets"].as_array().into_iter().flatten() {
            if let Some(name) = s["name"].as_str() {
                ids.push(secret_id(name).to_string());
            }
        }
        match page["nextPageToken"].as_str().filter(|t| !t.is_empty()) {
            Some(t) => token = t.to_string(),
            None => return Ok(ids),
        }
    }
}

/// `dataFrom[].find`: by labels (server-side filter) and/or name regex (client-side, like
/// ESO). `path`, as in ESO, is a `name:PATH` list filter (names *containing* it) followed by
/// a check that the id *starts* with it, since list filters cannot express a prefix. Each
/// match's latest payload, keyed by id.
pub(super) async fn find(
    c: &GcpClient,
    find: &ExternalSecretFind,
) -> Result<SecretMap, ProviderError> {
    let name_re =
        match find.name.as_ref().and_then(|n| n.regexp.as_deref()) {
            Some(p) => Some(GoRegex::new(p).map_err(|e| {
                ProviderError::InvalidConfig(format!("invalid find.name.regexp: {e}"))
            })?),
            None => None,
        };
    let tags = find.tags.clone().unwrap_or_default();
    if name_re.is_none() && tags.is_empty() {
        return Err(ProviderError::InvalidConfig(
            "find needs name.regexp or tags for the gcpsm provider".into(),
        ));
    }
    let mut filter = label_filter(&tags);
    let path = find.path.as_deref().filter(|p| !p.is_empty());
    if let Some(path) = path {
        if !filter.is_empty() {
            filter.push(' ');
        }
        filter.push_str(&format!("name:{path}"));
    }
    let mut out = SecretMap::new();
    for id in list_ids(c, &filter).await? {
        if name_re.as_ref().is_some_and(|re| !re.is_match(&id))
            || path.is_some_and(|p| !id.starts_with(p))
        {
            continue;
        }
        // A secret without versions has nothing to sync.
        if let Some(v) = access_shared(c, &id, None).await? {
            out.insert(id, v);
        }
    }
    let strategy = match find.conversion_strategy.unwrap_or_default() {
        ApiConversion::Default => shared::keys::ConversionStrategy::Default,
        ApiConversion::Unicode => shared::keys::ConversionStrategy::Unicode,
    };
    convert_keys(strategy, out).map_err(|e| ProviderError::Other(e.to_string()))
}
