//! KV v1/v2 paths, reads, metadata and `find`.
//!
//! Path building follows ESO's `buildPath` byte for byte (see [`Kv::data_path`]). The metadata
//! path is derived from the data path (first `/data/` → `/metadata/`), so unlike ESO a v2 key
//! without a mount and without `/data/` (e.g. `secret/foo`) also works for metadata.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{Map, Value};
use shared::api::v1::providers::vault::VaultKVStoreVersion;
use shared::api::v1::{ExternalSecretDataRemoteRef, ExternalSecretFind, MetadataPolicy};
use shared::keys::{GoJsonValue, GoRegex};
use shared::secret_value::SecretValue;

use super::VaultClient;
use super::http::Call;
use crate::provider::{ProviderError, SecretMap};

/// A KV secret's key/value object.
pub(super) type KvData = Map<String, Value>;

/// What a KV v2 metadata read tells us.
#[derive(Default)]
pub(super) struct KvMetadata {
    pub custom: BTreeMap<String, String>,
    pub current_version: u64,
    pub cas_required: bool,
}

/// Mount and engine version of a store.
#[derive(Clone)]
pub(super) struct Kv {
    pub mount: Option<String>,
    pub version: VaultKVStoreVersion,
}

impl Kv {
    pub fn v2(&self) -> bool {
        self.version == VaultKVStoreVersion::V2
    }

    /// ESO's `buildPath`: with a mount, a leading `<mount>/` (and on v2 a following `data/`) is
    /// stripped and `<mount>/` or `<mount>/data/` prefixed; without one, v2 keys lacking
    /// `/data/` get `data` after their first segment.
    pub fn data_path(&self, key: &str) -> String {
        if let Some(mount) = &self.mount {
            let mut rest = key;
            if let Some(stripped) = key.strip_prefix(&format!("{mount}/")) {
                rest = stripped;
                if self.v2()
                    && let Some(s) = rest.strip_prefix("data/")
                {
                    rest = s;
                }
            }
            return if self.v2() {
                format!("{mount}/data/{rest}")
            } else {
                format!("{mount}/{rest}")
            };
        }
        if self.v2() && !key.contains("/data/") {
            return match key.split_once('/') {
                Some((first, rest)) => format!("{first}/data/{rest}"),
                None => format!("{key}/data"),
            };
        }
        key.to_string()
    }

    /// Where custom metadata lives: v2 `<mount>/metadata/<key>`; v1 the secret itself.
    pub fn metadata_path(&self, key: &str) -> String {
        let data = self.data_path(key);
        if self.v2() {
            data.replacen("/data/", "/metadata/", 1)
        } else {
            data
        }
    }
}

impl VaultClient {
    /// The secret's key/value object (`version` on v2); `None` when it does not exist or its
    /// version is deleted.
    pub(super) async fn read_data(
        &self,
        key: &str,
        version: Option<&str>,
    ) -> Result<Option<KvData>, ProviderError> {
        let mut call = Call::new("ReadSecretData", Method::GET, self.kv.data_path(key));
        if self.kv.v2()
            && let Some(v) = version.filter(|v| !v.is_empty())
        {
            call = call.query("version", v);
        }
        let Some(answer) = self.send(call).await? else {
            return Ok(None);
        };
        let data = if self.kv.v2() {
            match answer.get("data").and_then(|d| d.get("data")) {
                None => return Err(ProviderError::Other("failed to find data field".into())),
                Some(Value::Null) => return Ok(None),
                Some(d) => d,
            }
        } else {
            answer.get("data").unwrap_or(&Value::Null)
        };
        match data {
            Value::Object(m) => Ok(Some(m.clone())),
            Value::Null => Ok(None),
            _ => Err(ProviderError::Other("failed to unmarshall JSON".into())),
        }
    }

    /// Custom metadata (v2 metadata endpoint; v1 the `custom_metadata` field PushSecret
    /// writes); `None` when the secret does not exist.
    pub(super) async fn read_metadata(
        &self,
        key: &str,
    ) -> Result<Option<KvMetadata>, ProviderError> {
        let call = Call::new("ReadSecretData", Method::GET, self.kv.metadata_path(key));
        let Some(answer) = self.send(call).await? else {
            return Ok(None);
        };
        let data = answer.get("data").unwrap_or(&Value::Null);
        let custom = data
            .get("custom_metadata")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().map_or_else(|| v.to_string(), str::to_string),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Some(KvMetadata {
            custom,
            current_version: data
                .get("current_version")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            cas_required: data
                .get("cas_required")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }))
    }

    /// `data[]` read: the whole secret as JSON, one property, or (Fetch) its custom metadata.
    pub(super) async fn get(
        &self,
        r: &ExternalSecretDataRemoteRef,
    ) -> Result<SecretValue, ProviderError> {
        let data = if r.metadata_policy == Some(MetadataPolicy::Fetch) {
            if !self.kv.v2() {
                return Err(ProviderError::InvalidConfig(
                    "cannot perform metadata fetch operations with kv version v1".into(),
                ));
            }
            let meta = self
                .read_metadata(&r.key)
                .await?
                .ok_or(ProviderError::NoSecret)?;
            if meta.custom.is_empty() {
                return Ok(SecretValue::new(Vec::new()));
            }
            meta.custom
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect()
        } else {
            self.read_data(&r.key, r.version.as_deref())
                .await?
                .ok_or(ProviderError::NoSecret)?
        };
        value_of(&data, r.property.as_deref().unwrap_or_default())
    }

    /// `dataFrom.extract`: the (property-selected) object split into keys.
    pub(super) async fn get_map(
        &self,
        r: &ExternalSecretDataRemoteRef,
    ) -> Result<SecretMap, ProviderError> {
        let value = self.get(r).await?;
        let parsed: Value = serde_json::from_slice(value.as_bytes()).map_err(|_| {
            ProviderError::Other(format!(
                "the value of {:?} is not a JSON object and cannot be extracted",
                r.key
            ))
        })?;
        let Value::Object(map) = parsed else {
            return Err(ProviderError::Other(format!(
                "the value of {:?} is not a JSON object and cannot be extracted",
                r.key
            )));
        };
        Ok(map.into_iter().map(|(k, v)| (k, bytes_of(&v))).collect())
    }

    /// `dataFrom.find`: every secret under `find.path` (recursive LIST) whose name matches the
    /// regex, or whose custom metadata carries all `tags`; values are whole secrets as JSON.
    pub(super) async fn find(&self, find: &ExternalSecretFind) -> Result<SecretMap, ProviderError> {
        let tags = find.tags.as_ref().filter(|t| !t.is_empty());
        if !self.kv.v2() && tags.is_some() {
            return Err(ProviderError::InvalidConfig(
                "cannot perform find by tag operations with kv version v1".into(),
            ));
        }
        if self.kv.mount.is_none() {
            return Err(ProviderError::InvalidConfig(
                "find needs spec.provider.vault.path (the KV mount) to list secrets".into(),
            ));
        }
        let matcher = match find.name.as_ref().and_then(|n| n.regexp.as_deref()) {
            Some(re) => Some(GoRegex::new(re).map_err(|e| {
                ProviderError::InvalidConfig(format!("invalid find.name.regexp {re:?}: {e}"))
            })?),
            None => None,
        };
        let prefix = find
            .path
            .as_deref()
            .map(|p| p.trim_matches('/'))
            .filter(|p| !p.is_empty())
            .map(|p| format!("{p}/"))
            .unwrap_or_default();
        let names = self.list_recursive(&prefix).await?;
        let mut out = SecretMap::new();
        for name in names {
            if let Some(m) = &matcher
                && !m.is_match(&name)
            {
                continue;
            }
            if let Some(tags) = tags {
                let Some(meta) = self.read_metadata(&name).await? else {
                    continue;
                };
                if !tags.iter().all(|(k, v)| meta.custom.get(k) == Some(v)) {
                    continue;
                }
            }
            let Some(data) = self.read_data(&name, None).await? else {
                continue;
            };
            out.insert(name, value_of(&data, "")?);
        }
        Ok(out)
    }

    /// Names of all secrets under `prefix` (which is empty or ends with `/`).
    async fn list_recursive(&self, prefix: &str) -> Result<Vec<String>, ProviderError> {
        let mut found = Vec::new();
        let mut pending = vec![prefix.to_string()];
        while let Some(dir) = pending.pop() {
            let path = match (&self.kv.mount, self.kv.v2()) {
                (Some(m), true) => format!("{m}/metadata/{dir}"),
                (Some(m), false) => format!("{m}/{dir}"),
                (None, _) => dir.clone(),
            };
            let call = Call::new("ListSecrets", Method::GET, path).query("list", "true");
            let Some(answer) = self.send(call).await? else {
                if dir == prefix {
                    return Err(ProviderError::NoSecret);
                }
                continue;
            };
            let keys = answer["data"]["keys"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for k in keys.iter().filter_map(Value::as_str) {
                let full = format!("{dir}{k}");
                if k.ends_with('/') {
                    pending.push(full);
                } else {
                    found.push(full);
                }
            }
        }
        found.sort();
        Ok(found)
    }
}

/// Go `json.Marshal` of a decoded value: sorted keys, HTML-escaped strings.
pub(super) fn go_json(v: &Value) -> String {
    to_go(v).to_go_json(true)
}

fn to_go(v: &Value) -> GoJsonValue {
    match v {
        Value::Null => GoJsonValue::Null,
        Value::Bool(b) => GoJsonValue::Bool(*b),
        Value::Number(n) => GoJsonValue::Number(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => GoJsonValue::String(s.clone()),
        Value::Array(a) => GoJsonValue::Array(a.iter().map(to_go).collect()),
        Value::Object(m) => {
            GoJsonValue::Object(m.iter().map(|(k, v)| (k.clone(), to_go(v))).collect())
        }
    }
}

/// A field as ESO stores it: strings raw, anything else (numbers, objects, arrays) as JSON.
pub(super) fn bytes_of(v: &Value) -> SecretValue {
    match v {
        Value::String(s) => SecretValue::from(s.as_str()),
        other => SecretValue::from(go_json(other)),
    }
}

/// ESO's `getSecretValue`: no property ⇒ the whole object as JSON; an exact key wins over
/// gjson syntax; otherwise a gjson path into the JSON.
pub(super) fn value_of(data: &KvData, property: &str) -> Result<SecretValue, ProviderError> {
    let whole = go_json(&Value::Object(data.clone()));
    if property.is_empty() {
        return Ok(SecretValue::from(whole));
    }
    if let Some(v) = data.get(property) {
        return Ok(bytes_of(v));
    }
    match shared::gjson::get(&whole, property) {
        Ok(Some(v)) => Ok(SecretValue::from(v.to_value_string())),
        Ok(None) => Err(ProviderError::Other(format!(
            "cannot find secret data for key: {property:?}"
        ))),
        Err(e) => Err(ProviderError::InvalidConfig(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(mount: Option<&str>, v2: bool) -> Kv {
        Kv {
            mount: mount.map(str::to_string),
            version: if v2 {
                VaultKVStoreVersion::V2
            } else {
                VaultKVStoreVersion::V1
            },
        }
    }

    #[test]
    fn data_paths_follow_eso_build_path() {
        // The table from ESO's buildPath documentation.
        let cases = [
            (Some("secret/path"), true, "foo", "secret/path/data/foo"),
            (Some("secret/path"), false, "foo", "secret/path/foo"),
            (
                Some("secret/path"),
                true,
                "secret/path/foo",
                "secret/path/data/foo",
            ),
            (
                Some("secret/path"),
                true,
                "secret/path/data/foo",
                "secret/path/data/foo",
            ),
            (
                Some("secret/path"),
                false,
                "secret/path/foo",
                "secret/path/foo",
            ),
            (None, true, "secret/path/foo", "secret/data/path/foo"),
            (None, true, "secret/path/data/foo", "secret/path/data/foo"),
            (None, false, "secret/path/foo", "secret/path/foo"),
            (Some("secret"), true, "secret/data/foo", "secret/data/foo"),
            (Some("secret"), true, "secret/foo", "secret/data/foo"),
        ];
        for (mount, v2, key, want) in cases {
            assert_eq!(
                kv(mount, v2).data_path(key),
                want,
                "{mount:?} v2={v2} {key}"
            );
        }
    }

    #[test]
    fn metadata_paths_mirror_data_paths() {
        assert_eq!(
            kv(Some("secret"), true).metadata_path("a/b"),
            "secret/metadata/a/b"
        );
        assert_eq!(
            kv(None, true).metadata_path("secret/a"),
            "secret/metadata/a"
        );
        assert_eq!(kv(Some("kv"), false).metadata_path("a"), "kv/a");
    }

    #[test]
    fn property_prefers_exact_keys_then_gjson_and_renders_nested_values_as_json() {
        let data: KvData = serde_json::from_str(
            r#"{"a.b":"exact","a":{"b":"nested","n":[1,2]},"num":5,"html":"<&>"}"#,
        )
        .unwrap();
        let s = |p: &str| String::from_utf8(value_of(&data, p).unwrap().into_vec()).unwrap();
        assert_eq!(s("a.b"), "exact");
        assert_eq!(s("a.n"), "[1,2]");
        assert_eq!(s("a"), r#"{"b":"nested","n":[1,2]}"#);
        assert_eq!(s("num"), "5");
        assert_eq!(s("html"), "<&>");
        assert_eq!(
            s(""),
            r#"{"a":{"b":"nested","n":[1,2]},"a.b":"exact","html":"\u003c\u0026\u003e","num":5}"#
        );
        let err = value_of(&data, "missing").unwrap_err().to_string();
        assert_eq!(err, r#"cannot find secret data for key: "missing""#);
    }
}
