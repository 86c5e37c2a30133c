//! PushSecret into Secret Manager: create the secret (labelled [`MANAGED_BY`], replication
//! from the PushSecretMetadata), add a version only when the payload changes, merge into a
//! JSON payload under `property`; deletes touch only secrets carrying the label.
//!
//! PushSecretMetadata (`kubernetes.external-secrets.io/v1alpha1`, as ESO's gcpsm):
//! `spec.labels`, `spec.annotations`, `spec.mergePolicy` (`Replace`, the default, or `Merge`
//! with what the remote secret has), `spec.replicationLocation` (user-managed replication in
//! that location instead of automatic), `spec.cmekKeyName` (customer-managed key).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use k8s_openapi::api::core::v1::Secret;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use shared::api::v1alpha1::PushSecretData;

use super::read::{access, get_meta, string_map};
use super::{GcpClient, MANAGED_BY};
use crate::provider::ProviderError;
use crate::provider::push_value::{
    Removal, WholeSecretJson, metadata_spec, property, remove_key, source_value,
};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct MetadataSpec {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    merge_policy: Option<String>,
    #[serde(default)]
    replication_location: Option<String>,
    #[serde(default)]
    cmek_key_name: Option<String>,
}

fn parse_metadata(data: &PushSecretData) -> Result<MetadataSpec, ProviderError> {
    let spec: MetadataSpec =
        metadata_spec(data, "unable to parse metadata parameters")?.unwrap_or_default();
    match spec.merge_policy.as_deref() {
        None | Some("") | Some("Replace") | Some("Merge") => Ok(spec),
        Some(other) => Err(ProviderError::InvalidConfig(format!(
            "unexpected merge policy {other:?}: use Replace or Merge"
        ))),
    }
}

fn is_managed(secret: &Value) -> bool {
    secret["labels"][MANAGED_BY.0].as_str() == Some(MANAGED_BY.1)
}

/// `current` with `property` set to `value` (a JSON string); a payload that is not a JSON
/// object is refused rather than overwritten.
fn merge_property(
    current: Option<&[u8]>,
    property: &str,
    value: &[u8],
) -> Result<Vec<u8>, ProviderError> {
    let mut obj: Map<String, Value> = match current {
        None => Map::new(),
        Some(bytes) => serde_json::from_slice(bytes).map_err(|_| {
            ProviderError::Other(format!(
                "cannot set property {property}: the current payload is not a JSON object"
            ))
        })?,
    };
    obj.insert(
        property.to_string(),
        Value::String(String::from_utf8_lossy(value).into_owned()),
    );
    serde_json::to_vec(&obj).map_err(|e| ProviderError::Other(e.to_string()))
}

fn replication(meta: &MetadataSpec) -> Value {
    let cmek = meta
        .cmek_key_name
        .as_deref()
        .filter(|k| !k.is_empty())
        .map(|k| json!({"kmsKeyName": k}));
    match meta
        .replication_location
        .as_deref()
        .filter(|l| !l.is_empty())
    {
        Some(loc) => {
            let mut replica = json!({"location": loc});
            if let Some(c) = cmek {
                replica["customerManagedEncryption"] = c;
            }
            json!({"userManaged": {"replicas": [replica]}})
        }
        None => match cmek {
            Some(c) => json!({"automatic": {"customerManagedEncryption": c}}),
            None => json!({"automatic": {}}),
        },
    }
}

/// Labels and annotations the remote secret should carry.
fn wanted_metadata(
    meta: &MetadataSpec,
    existing: Option<&Value>,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let merge = meta.merge_policy.as_deref() == Some("Merge");
    let (mut labels, mut annotations) = match existing {
        Some(s) if merge => (string_map(&s["labels"]), string_map(&s["annotations"])),
        _ => (BTreeMap::new(), BTreeMap::new()),
    };
    labels.extend(meta.labels.clone());
    annotations.extend(meta.annotations.clone());
    labels.insert(MANAGED_BY.0.into(), MANAGED_BY.1.into());
    (labels, annotations)
}

pub(super) async fn push(
    c: &GcpClient,
    local: &Secret,
    data: &PushSecretData,
) -> Result<(), ProviderError> {
    let meta = parse_metadata(data)?;
    let id = &data.match_.remote_ref.remote_key;
    let value = source_value(local, data, WholeSecretJson::HtmlEscaped)?.into_vec();
    match get_meta(c, id).await? {
        None => {
            let (labels, annotations) = wanted_metadata(&meta, None);
            let mut body = json!({"labels": labels, "annotations": annotations});
            if !c.regional {
                body["replication"] = replication(&meta);
            }
            let path = format!("{}/secrets?secretId={id}", c.parent);
            c.call("CreateSecret", Method::POST, &path, Some(&body))
                .await
                .map_err(ProviderError::from)?;
        }
        Some(existing) => {
            if !is_managed(&existing) {
                return Err(ProviderError::Other(format!(
                    "secret {id} is not managed by external secrets (label {}={} missing)",
                    MANAGED_BY.0, MANAGED_BY.1
                )));
            }
            let (labels, annotations) = wanted_metadata(&meta, Some(&existing));
            if labels != string_map(&existing["labels"])
                || annotations != string_map(&existing["annotations"])
            {
                let path = format!("{}?updateMask=labels,annotations", c.secret_path(id));
                let body = json!({"labels": labels, "annotations": annotations});
                c.call("UpdateSecret", Method::PATCH, &path, Some(&body))
                    .await
                    .map_err(ProviderError::from)?;
            }
        }
    }
    let current = access(c, id, None).await?;
    let payload = match property(data) {
        None => value,
        Some(prop) => merge_property(current.as_ref().map(|v| v.as_bytes()), prop, &value)?,
    };
    if current
        .as_ref()
        .is_some_and(|v| v.as_bytes() == payload.as_slice())
    {
        return Ok(());
    }
    let body = json!({"payload": {"data": STANDARD.encode(&payload)}});
    let path = format!("{}:addVersion", c.secret_path(id));
    c.call("AddSecretVersion", Method::POST, &path, Some(&body))
        .await
        .map_err(ProviderError::from)?;
    Ok(())
}

pub(super) async fn exists(c: &GcpClient, data: &PushSecretData) -> Result<bool, ProviderError> {
    let id = &data.match_.remote_ref.remote_key;
    let Some(current) = access(c, id, None).await? else {
        return Ok(false);
    };
    let Some(prop) = property(data) else {
        return Ok(true);
    };
    let text = String::from_utf8_lossy(current.as_bytes());
    Ok(shared::gjson::get(&text, prop).ok().flatten().is_some())
}

/// Removes the pushed property (adding a version without it), or the whole secret when no
/// property was pushed or none is left. Secrets without [`MANAGED_BY`] are left alone.
pub(super) async fn delete(c: &GcpClient, data: &PushSecretData) -> Result<(), ProviderError> {
    let id = &data.match_.remote_ref.remote_key;
    let Some(existing) = get_meta(c, id).await? else {
        return Ok(());
    };
    if !is_managed(&existing) {
        tracing::debug!(secret = %id, "not deleting a Google secret external-secrets does not manage");
        return Ok(());
    }
    if let Some(prop) = property(data)
        && let Some(current) = access(c, id, None).await?
    {
        match remove_key(current.as_bytes(), prop) {
            // Not a JSON object: the property cannot be told apart, so the secret goes.
            Removal::NotAnObject | Removal::Emptied => {}
            Removal::Absent => return Ok(()),
            Removal::Rest(payload) => {
                let body = json!({"payload": {"data": STANDARD.encode(&payload)}});
                let path = format!("{}:addVersion", c.secret_path(id));
                c.call("AddSecretVersion", Method::POST, &path, Some(&body))
                    .await
                    .map_err(ProviderError::from)?;
                return Ok(());
            }
        }
    }
    match c
        .call("DeleteSecret", Method::DELETE, &c.secret_path(id), None)
        .await
    {
        Ok(_) => Ok(()),
        Err(super::CallError::Api(a)) if a.not_found() => Ok(()),
        Err(e) => Err(e.into()),
    }
}
