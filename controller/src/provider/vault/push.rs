//! PushSecret into KV: whole-secret or per-property writes, ESO's `managed-by` marker, deletes
//! that only touch secrets carrying it, and `SecretExists`.
//!
//! The marker is where ESO writes it: KV v2 custom metadata `managed-by: external-secrets`
//! (written before the data, so a half-done first push is still ours), KV v1 a
//! `custom_metadata` object inside the secret's data. A v2 write carries `options.cas` when the
//! store asks for check-and-set, when the secret's metadata says `cas_required`, or when the
//! mount turns out to require it (the write is then retried once with the version).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use shared::api::v1alpha1::PushSecretData;

use super::VaultClient;
use super::http::Call;
use super::kv::{KvData, value_of};
use crate::provider::ProviderError;
use crate::provider::push_value::{WholeSecretJson, property, source_value};

const MANAGED_BY: (&str, &str) = ("managed-by", "external-secrets");
const CUSTOM_METADATA: &str = "custom_metadata";

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct MetadataDoc {
    #[serde(default)]
    spec: MetadataSpec,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct MetadataSpec {
    #[serde(default)]
    custom_metadata: BTreeMap<String, String>,
    #[serde(default)]
    merge_policy: Option<String>,
}

fn not_managed() -> ProviderError {
    ProviderError::Other("secret not managed by external-secrets".into())
}

/// The data to write and whether it differs from what is there.
fn merge(
    existing: Option<&KvData>,
    value: &[u8],
    property: Option<&str>,
) -> Result<(KvData, bool), ProviderError> {
    let Some(property) = property else {
        let incoming: Value = serde_json::from_slice(value).map_err(|_| {
            ProviderError::InvalidConfig(
                "error unmarshalling vault secret: invalid JSON format (a push without property needs a JSON object)".into(),
            )
        })?;
        let Value::Object(incoming) = incoming else {
            return Err(ProviderError::InvalidConfig(
                "error unmarshalling vault secret: a push without property needs a JSON object"
                    .into(),
            ));
        };
        let changed = existing != Some(&incoming);
        return Ok((incoming, changed));
    };
    let mut merged = existing.cloned().unwrap_or_default();
    let text = String::from_utf8_lossy(value).into_owned();
    let changed = merged.get(property).and_then(Value::as_str) != Some(text.as_str());
    merged.insert(property.to_string(), Value::String(text));
    Ok((merged, changed))
}

impl VaultClient {
    pub(super) async fn push(
        &self,
        secret: &Secret,
        data: &PushSecretData,
    ) -> Result<(), ProviderError> {
        let value = source_value(secret, data, WholeSecretJson::HtmlEscaped)?;
        let key = &data.match_.remote_ref.remote_key;
        let existing = self.read_data(key, None).await?;
        if self.kv.v2() {
            self.push_v2(key, existing, value.as_bytes(), data).await
        } else {
            self.push_v1(key, existing, value.as_bytes(), data).await
        }
    }

    async fn push_v1(
        &self,
        key: &str,
        existing: Option<KvData>,
        value: &[u8],
        data: &PushSecretData,
    ) -> Result<(), ProviderError> {
        let mut existing = existing;
        if let Some(e) = existing.as_mut() {
            let managed = e
                .get(CUSTOM_METADATA)
                .and_then(|m| m.get(MANAGED_BY.0))
                .and_then(Value::as_str)
                == Some(MANAGED_BY.1);
            if !managed {
                return Err(not_managed());
            }
            e.remove(CUSTOM_METADATA);
        }
        let (mut merged, changed) = merge(existing.as_ref(), value, property(data))?;
        if existing.is_some() && !changed {
            return Ok(());
        }
        merged.insert(CUSTOM_METADATA.into(), json!({MANAGED_BY.0: MANAGED_BY.1}));
        self.send(
            Call::new("WriteSecretData", Method::POST, self.kv.data_path(key))
                .body(Value::Object(merged)),
        )
        .await?;
        Ok(())
    }

    async fn push_v2(
        &self,
        key: &str,
        existing: Option<KvData>,
        value: &[u8],
        data: &PushSecretData,
    ) -> Result<(), ProviderError> {
        let (merged, data_changed) = merge(existing.as_ref(), value, property(data))?;
        let remote_meta = match existing {
            Some(_) => self.read_metadata(key).await?,
            None => None,
        };
        let spec = match &data.metadata {
            Some(doc) => {
                serde_json::from_value::<MetadataDoc>(doc.clone())
                    .map_err(|e| {
                        ProviderError::InvalidConfig(format!(
                            "failed to parse push secret metadata: {e}"
                        ))
                    })?
                    .spec
            }
            None => MetadataSpec::default(),
        };
        let mut desired = spec.custom_metadata.clone();
        desired.insert(MANAGED_BY.0.into(), MANAGED_BY.1.into());
        let final_meta = match (&remote_meta, existing.is_some()) {
            (_, false) | (None, true) => desired,
            (Some(remote), true) => {
                if remote.custom.get(MANAGED_BY.0).map(String::as_str) != Some(MANAGED_BY.1) {
                    return Err(not_managed());
                }
                match spec.merge_policy.as_deref().unwrap_or("Merge") {
                    "Merge" | "" => {
                        let mut m = remote.custom.clone();
                        m.extend(desired);
                        m
                    }
                    "Replace" => desired,
                    other => {
                        return Err(ProviderError::InvalidConfig(format!(
                            "unsupported merge policy {other:?}, must be one of: Merge, Replace"
                        )));
                    }
                }
            }
        };
        let meta_changed = remote_meta.as_ref().map(|m| &m.custom) != Some(&final_meta);
        if !data_changed && !meta_changed {
            return Ok(());
        }
        if meta_changed {
            self.send(
                Call::new("WriteSecretData", Method::POST, self.kv.metadata_path(key))
                    .body(json!({CUSTOM_METADATA: final_meta})),
            )
            .await?;
        }
        if data_changed {
            let version = remote_meta.as_ref().map_or(0, |m| m.current_version);
            let cas =
                self.check_and_set_required || remote_meta.as_ref().is_some_and(|m| m.cas_required);
            let body = |cas: bool| {
                let mut b = json!({"data": merged});
                if cas {
                    b["options"] = json!({"cas": version});
                }
                b
            };
            let path = self.kv.data_path(key);
            let first = self
                .send_raw(Call::new("WriteSecretData", Method::POST, path.clone()).body(body(cas)))
                .await;
            match first {
                Err(e) if !cas && e.message.contains("check-and-set parameter required") => {
                    self.send(Call::new("WriteSecretData", Method::POST, path).body(body(true)))
                        .await?;
                }
                other => {
                    other?;
                }
            }
        }
        Ok(())
    }

    pub(super) async fn delete(&self, data: &PushSecretData) -> Result<(), ProviderError> {
        let key = &data.match_.remote_ref.remote_key;
        let Some(mut existing) = self.read_data(key, None).await? else {
            return Ok(());
        };
        let managed = if self.kv.v2() {
            self.read_metadata(key)
                .await?
                .and_then(|m| m.custom.get(MANAGED_BY.0).cloned())
        } else {
            existing
                .get(CUSTOM_METADATA)
                .and_then(|m| m.get(MANAGED_BY.0))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        if managed.as_deref() != Some(MANAGED_BY.1) {
            return Ok(());
        }
        if let Some(prop) = property(data) {
            existing.remove(prop);
            if !self.kv.v2() && existing.len() == 1 && existing.contains_key(CUSTOM_METADATA) {
                existing.remove(CUSTOM_METADATA);
            }
            if !existing.is_empty() {
                let body = if self.kv.v2() {
                    json!({"data": existing})
                } else {
                    Value::Object(existing)
                };
                self.send(
                    Call::new("DeleteSecret", Method::POST, self.kv.data_path(key)).body(body),
                )
                .await?;
                return Ok(());
            }
        }
        if self.kv.v2() {
            // Deleting the metadata removes every version, which the data delete alone would not.
            self.send(Call::new(
                "DeleteSecret",
                Method::DELETE,
                self.kv.metadata_path(key),
            ))
            .await?;
        } else {
            self.send(Call::new(
                "DeleteSecret",
                Method::DELETE,
                self.kv.data_path(key),
            ))
            .await?;
        }
        Ok(())
    }

    pub(super) async fn exists(&self, data: &PushSecretData) -> Result<bool, ProviderError> {
        let Some(existing) = self
            .read_data(&data.match_.remote_ref.remote_key, None)
            .await?
        else {
            return Ok(false);
        };
        Ok(property(data).is_none_or(|prop| value_of(&existing, prop).is_ok()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_merge_keeps_other_properties_and_detects_no_change() {
        let existing: KvData = serde_json::from_str(r#"{"theirs":"x","mine":"old"}"#).unwrap();
        let (merged, changed) = merge(Some(&existing), b"new", Some("mine")).unwrap();
        assert!(changed);
        assert_eq!(Value::Object(merged), json!({"theirs": "x", "mine": "new"}));
        let (_, changed) = merge(Some(&existing), b"old", Some("mine")).unwrap();
        assert!(!changed);
    }

    #[test]
    fn whole_secret_push_needs_a_json_object() {
        assert!(merge(None, b"plain", None).is_err());
        let (m, changed) = merge(None, br#"{"a":"1"}"#, None).unwrap();
        assert!(changed);
        assert_eq!(Value::Object(m), json!({"a": "1"}));
    }
}
