//! Reads: one secret/key/certificate, one secret as a map, and `find` over all pages.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::Value;
use shared::api::v1::{ExternalSecretDataRemoteRef, ExternalSecretFind, MetadataPolicy};
use shared::keys::{GoJsonValue, GoRegex};
use shared::secret_value::SecretValue;

use super::rest::Answer;
use super::{AzureClient, Object, object};
use crate::provider::{ProviderError, SecretMap, json_object_map};

type Tags = BTreeMap<String, String>;

fn tags_of(body: &Value) -> Tags {
    body["tags"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn path(kind: &str, name: &str, version: Option<&str>) -> String {
    match version.filter(|v| !v.is_empty()) {
        Some(v) => format!("{kind}/{name}/{v}"),
        None => format!("{kind}/{name}"),
    }
}

/// GET of one object; 404 ⇒ [`ProviderError::NoSecret`].
pub(super) async fn fetch(
    c: &AzureClient,
    call: &'static str,
    kind: &str,
    name: &str,
    version: Option<&str>,
) -> Result<Option<Value>, ProviderError> {
    if !super::valid_name(name)
        || version.is_some_and(|v| !v.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return Err(ProviderError::InvalidConfig(format!(
            "invalid Key Vault object name or version for {kind}/{name}"
        )));
    }
    let url = c.vault.url(&path(kind, name, version))?;
    let a: Answer = c.vault.send(call, Method::GET, url, None).await?;
    if a.not_found() {
        return Ok(None);
    }
    if !a.ok() {
        return Err(a.error(&format!("cannot get {kind}/{name}")));
    }
    Ok(Some(a.body))
}

fn fetch_tags(r: &ExternalSecretDataRemoteRef) -> bool {
    r.metadata_policy == Some(MetadataPolicy::Fetch)
}

fn json_string_map(tags: &Tags) -> String {
    GoJsonValue::Object(
        tags.iter()
            .map(|(k, v)| (k.clone(), GoJsonValue::String(v.clone())))
            .collect(),
    )
    .to_go_json(true)
}

/// ESO's `getProperty`: a gjson path, falling back to the whole property as one dotted key.
fn property(value: &str, property: &str, key: &str) -> Result<SecretValue, ProviderError> {
    if property.is_empty() {
        return Ok(SecretValue::from(value.to_string()));
    }
    let get = |p: &str| {
        shared::gjson::get_string(value, p).map_err(|e| ProviderError::InvalidConfig(e.to_string()))
    };
    if let Some(v) = get(property)? {
        return Ok(SecretValue::from(v));
    }
    if property.contains('.')
        && let Some(v) = get(&property.replace('.', "\\."))?
    {
        return Ok(SecretValue::from(v));
    }
    Err(ProviderError::Other(format!(
        "property {property} does not exist in key {key}"
    )))
}

/// ESO's `getSecretTag`: all tags as JSON, one tag, or a gjson path inside one tag.
fn tag(tags: &Tags, prop: &str) -> Result<SecretValue, ProviderError> {
    if prop.is_empty() {
        return Ok(SecretValue::from(json_string_map(tags)));
    }
    if let Some(v) = tags.get(prop) {
        return Ok(SecretValue::from(v.clone()));
    }
    if let Some((name, rest)) = prop.split_once('.')
        && !name.is_empty()
        && let Some(v) = tags.get(name)
    {
        return property(v, rest, prop);
    }
    Err(ProviderError::Other(format!("tag {prop} does not exist")))
}

/// Key Vault's JWK fields in the order Go marshals ESO's `JSONWebKey`.
const JWK_FIELDS: &[&str] = &[
    "kid", "kty", "key_ops", "n", "e", "d", "dp", "dq", "qi", "p", "q", "k", "key_hsm", "crv", "x",
    "y",
];

fn jwk_json(key: &Value) -> String {
    let fields: Vec<String> = JWK_FIELDS
        .iter()
        .filter_map(|f| key.get(*f).map(|v| format!("\"{f}\":{v}")))
        .collect();
    format!("{{{}}}", fields.join(","))
}

pub(super) async fn get(
    c: &AzureClient,
    r: &ExternalSecretDataRemoteRef,
) -> Result<SecretValue, ProviderError> {
    let version = r.version.as_deref();
    let prop = r.property.as_deref().unwrap_or_default();
    match object(&r.key)? {
        Object::Secret(name) => {
            let body = fetch(c, "GetSecret", "secrets", name, version)
                .await?
                .ok_or(ProviderError::NoSecret)?;
            if fetch_tags(r) {
                return tag(&tags_of(&body), prop);
            }
            let value = body["value"].as_str().unwrap_or_default();
            property(value, prop, &r.key)
        }
        Object::Cert(name) => {
            let body = fetch(c, "GetCertificate", "certificates", name, version)
                .await?
                .ok_or(ProviderError::NoSecret)?;
            if fetch_tags(r) {
                return tag(&tags_of(&body), prop);
            }
            use base64::Engine as _;
            let der = base64::engine::general_purpose::STANDARD
                .decode(body["cer"].as_str().unwrap_or_default())
                .map_err(|_| ProviderError::Other("certificate has an invalid cer field".into()))?;
            Ok(SecretValue::new(der))
        }
        Object::Key(name) => {
            let body = fetch(c, "GetKey", "keys", name, version)
                .await?
                .ok_or(ProviderError::NoSecret)?;
            if fetch_tags(r) {
                return tag(&tags_of(&body), prop);
            }
            Ok(SecretValue::from(jwk_json(&body["key"])))
        }
    }
}

pub(super) async fn get_map(
    c: &AzureClient,
    r: &ExternalSecretDataRemoteRef,
) -> Result<SecretMap, ProviderError> {
    let name = match object(&r.key)? {
        Object::Secret(n) => n,
        Object::Cert(_) => {
            return Err(ProviderError::InvalidConfig(
                "cannot get use dataFrom to get certificate secret".into(),
            ));
        }
        Object::Key(_) => {
            return Err(ProviderError::InvalidConfig(
                "cannot get use dataFrom to get key secret".into(),
            ));
        }
    };
    if fetch_tags(r) {
        let body = fetch(c, "GetSecret", "secrets", name, r.version.as_deref())
            .await?
            .ok_or(ProviderError::NoSecret)?;
        let tags = tags_of(&body);
        let prop = r.property.as_deref().unwrap_or_default();
        if !prop.is_empty() {
            // ESO keys a single tag as `<key>_<property>`, empty when missing.
            let v = tag(&tags, prop).unwrap_or_else(|_| SecretValue::new(Vec::new()));
            return Ok(SecretMap::from([(format!("{}_{prop}", r.key), v)]));
        }
        return Ok(tags
            .into_iter()
            .map(|(k, v)| (k, SecretValue::from(v)))
            .collect());
    }
    let value = get(c, r).await?;
    let text = String::from_utf8_lossy(value.as_bytes());
    json_object_map(&text).ok_or_else(|| {
        ProviderError::Other("error unmarshalling json data: not a JSON object".into())
    })
}

/// `find`: every page of the list; enabled secrets matching all tags and the name regex.
pub(super) async fn find(
    c: &AzureClient,
    find: &ExternalSecretFind,
) -> Result<SecretMap, ProviderError> {
    let want_tags = find.tags.clone().unwrap_or_default();
    let re =
        match find.name.as_ref().and_then(|n| n.regexp.as_deref()) {
            Some(p) if !p.is_empty() => Some(GoRegex::new(p).map_err(|e| {
                ProviderError::InvalidConfig(format!("invalid find.name.regexp: {e}"))
            })?),
            _ => None,
        };
    let mut names = Vec::new();
    let mut url = c.vault.url("secrets")?;
    loop {
        let a = c.vault.send("GetSecrets", Method::GET, url, None).await?;
        if !a.ok() {
            return Err(a.error("cannot list secrets"));
        }
        for item in a.body["value"].as_array().into_iter().flatten() {
            let Some(id) = item["id"].as_str() else {
                continue;
            };
            if item["attributes"]["enabled"].as_bool() != Some(true) {
                continue;
            }
            let tags = tags_of(item);
            if !want_tags.iter().all(|(k, v)| tags.get(k) == Some(v)) {
                continue;
            }
            let name = id
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default();
            if re.as_ref().is_some_and(|re| !re.is_match(name)) {
                continue;
            }
            names.push(name.to_string());
        }
        match a.body["nextLink"].as_str().filter(|l| !l.is_empty()) {
            Some(link) => url = c.vault.next_link(link)?,
            None => break,
        }
    }
    let mut out = SecretMap::new();
    for name in names {
        // A secret deleted between the list and the read is skipped, not an error.
        if let Some(body) = fetch(c, "GetSecret", "secrets", &name, None).await? {
            let value = body["value"].as_str().unwrap_or_default().to_string();
            out.insert(name, SecretValue::from(value));
        }
    }
    Ok(out)
}
