//! PushSecret into Key Vault: secrets (whole Secret as JSON, one key, or merged into one JSON
//! property), certificates (PKCS#12 or PEM, with their key) and private keys (as JWKs), all tagged [`MANAGED_TAG`]; objects without the tag are
//! neither overwritten nor deleted; an unchanged value is not written again.

use std::collections::BTreeMap;

use base64::Engine as _;
use k8s_openapi::api::core::v1::Secret;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use shared::api::v1alpha1::PushSecretData;

use super::read::fetch;
use super::{AzureClient, MANAGED_TAG, Object, object};
use crate::provider::ProviderError;
use crate::provider::push_value::{
    Removal, WholeSecretJson, metadata_spec, property, remove_key, set_path, source_value,
};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct MetadataSpec {
    #[serde(default)]
    expiration_date: Option<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

fn metadata(data: &PushSecretData) -> Result<MetadataSpec, ProviderError> {
    Ok(metadata_spec(data, "failed to parse PushSecret metadata")?.unwrap_or_default())
}

fn is_managed(body: &Value) -> bool {
    body["tags"][MANAGED_TAG.0] == MANAGED_TAG.1
}

fn not_managed(name: &str) -> ProviderError {
    ProviderError::Other(format!(
        "cannot push to {name}: not managed by external-secrets (tag {}={} missing)",
        MANAGED_TAG.0, MANAGED_TAG.1
    ))
}

fn expires(spec: &MetadataSpec) -> Result<Option<i64>, ProviderError> {
    spec.expiration_date
        .as_deref()
        .filter(|d| !d.is_empty())
        .map(|d| {
            chrono::DateTime::parse_from_rfc3339(d)
                .map(|t| t.timestamp())
                .map_err(|_| {
                    ProviderError::InvalidConfig(format!(
                        "expirationDate {d:?} is not an RFC 3339 time"
                    ))
                })
        })
        .transpose()
}

pub(super) async fn push(
    c: &AzureClient,
    secret: &Secret,
    data: &PushSecretData,
) -> Result<(), ProviderError> {
    let spec = metadata(data)?;
    let value = source_value(secret, data, WholeSecretJson::Plain)?;
    let value = value.as_bytes();
    match object(&data.match_.remote_ref.remote_key)? {
        Object::Secret(name) => push_secret(c, name, value, property(data), &spec).await,
        Object::Cert(name) => push_cert(c, name, value, &spec).await,
        Object::Key(name) => push_key(c, name, value, &spec).await,
    }
}

async fn push_secret(
    c: &AzureClient,
    name: &str,
    value: &[u8],
    prop: Option<&str>,
    spec: &MetadataSpec,
) -> Result<(), ProviderError> {
    let value = std::str::from_utf8(value).map_err(|_| {
        ProviderError::InvalidConfig("Key Vault secrets hold text: the value is not UTF-8".into())
    })?;
    let existing = fetch(c, "GetSecret", "secrets", name, None).await?;
    if let Some(e) = &existing
        && !is_managed(e)
    {
        return Err(not_managed(name));
    }
    let current = existing.as_ref().and_then(|e| e["value"].as_str());
    let new_value = match prop {
        None => value.to_string(),
        Some(p) => set_path(current.unwrap_or_default(), p, value.as_bytes()).map_err(|_| {
            ProviderError::Other(format!(
                "cannot set property {p}: the existing secret value is not JSON"
            ))
        })?,
    };
    let exp = expires(spec)?;
    let mut tags = spec.tags.clone();
    tags.insert(MANAGED_TAG.0.into(), MANAGED_TAG.1.into());
    if let Some(e) = &existing {
        let same_value = current == Some(new_value.as_str());
        let same_exp = e["attributes"]["exp"].as_i64() == exp;
        let have: BTreeMap<String, String> = e["tags"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        if same_value && same_exp && have == tags {
            return Ok(());
        }
    }
    let mut attributes = json!({"enabled": true});
    if let Some(e) = exp {
        attributes["exp"] = json!(e);
    }
    let body = json!({"value": new_value, "tags": tags, "attributes": attributes});
    let url = c.vault.url(&format!("secrets/{name}"))?;
    let a = c
        .vault
        .send("SetSecret", Method::PUT, url, Some(&body))
        .await?;
    if a.ok() {
        Ok(())
    } else {
        Err(a.error(&format!("cannot set secret {name}")))
    }
}

/// The body of a certificate import and the leaf certificate it holds.
struct CertImport {
    leaf: Vec<u8>,
    value: String,
    content_type: &'static str,
}

impl CertImport {
    /// ESO tries PKCS#12, then DER, then PEM. A bare DER certificate has no private key, which
    /// Key Vault's import requires, so it is refused here with the fix rather than by Azure.
    fn from_value(value: &[u8]) -> Result<Self, ProviderError> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        if let Ok(leaf) = shared::template::pkcs12_leaf_certificate(value, "") {
            return Ok(CertImport {
                leaf,
                value: base64::engine::general_purpose::STANDARD.encode(value),
                content_type: "application/x-pkcs12",
            });
        }
        if x509_parser::parse_x509_certificate(value).is_ok_and(|(rest, _)| rest.is_empty()) {
            return Err(ProviderError::InvalidConfig(
                "a DER certificate has no private key, which a Key Vault certificate import needs: \
                 push a PKCS#12 archive (no password) or a PEM bundle with the key"
                    .into(),
            ));
        }
        let leaf = CertificateDer::pem_slice_iter(value)
            .next()
            .and_then(Result::ok)
            .ok_or_else(|| {
                ProviderError::InvalidConfig(
                    "value from secret is not a valid certificate: push a PKCS#12 archive (no \
                     password) or a PEM bundle with a CERTIFICATE block and its private key"
                        .into(),
                )
            })?;
        Ok(CertImport {
            leaf: leaf.as_ref().to_vec(),
            value: String::from_utf8_lossy(value).into_owned(),
            content_type: "application/x-pem-file",
        })
    }
}

/// A certificate with its private key as ESO accepts it (a PKCS#12 archive without password, or
/// a PEM bundle), imported unless Key Vault already has the same DER.
async fn push_cert(
    c: &AzureClient,
    name: &str,
    value: &[u8],
    spec: &MetadataSpec,
) -> Result<(), ProviderError> {
    let import = CertImport::from_value(value)?;
    let local = import.leaf.as_slice();
    let existing = fetch(c, "GetCertificate", "certificates", name, None).await?;
    if let Some(e) = &existing {
        if !is_managed(e) {
            return Err(not_managed(name));
        }
        let remote = base64::engine::general_purpose::STANDARD
            .decode(e["cer"].as_str().unwrap_or_default())
            .unwrap_or_default();
        if remote == local {
            return Ok(());
        }
    }
    let mut tags = spec.tags.clone();
    tags.insert(MANAGED_TAG.0.into(), MANAGED_TAG.1.into());
    let body = json!({
        "value": import.value,
        "policy": {"secret_props": {"contentType": import.content_type}},
        "tags": tags,
    });
    let url = c.vault.url(&format!("certificates/{name}/import"))?;
    let a = c
        .vault
        .send("ImportCertificate", Method::POST, url, Some(&body))
        .await?;
    if a.ok() {
        Ok(())
    } else {
        Err(a.error(&format!("cannot import certificate {name}")))
    }
}

/// A PEM private key (or raw bytes as a symmetric key) imported as a JWK, unless Key Vault
/// already holds the same public key.
async fn push_key(
    c: &AzureClient,
    name: &str,
    value: &[u8],
    spec: &MetadataSpec,
) -> Result<(), ProviderError> {
    let jwk = super::jwk::from_value(value)?;
    let existing = fetch(c, "GetKey", "keys", name, None).await?;
    if let Some(e) = &existing {
        if !is_managed(e) {
            return Err(not_managed(name));
        }
        if super::jwk::same_public_key(&jwk, &e["key"]) {
            return Ok(());
        }
    }
    let mut tags = spec.tags.clone();
    tags.insert(MANAGED_TAG.0.into(), MANAGED_TAG.1.into());
    let body = json!({"key": jwk, "attributes": {"enabled": true}, "tags": tags});
    let url = c.vault.url(&format!("keys/{name}"))?;
    let a = c
        .vault
        .send("ImportKey", Method::PUT, url, Some(&body))
        .await?;
    if a.ok() {
        Ok(())
    } else {
        Err(a.error(&format!("cannot import key {name}")))
    }
}

pub(super) async fn exists(c: &AzureClient, data: &PushSecretData) -> Result<bool, ProviderError> {
    let (call, kind, name) = match object(&data.match_.remote_ref.remote_key)? {
        Object::Secret(n) => ("GetSecret", "secrets", n),
        Object::Cert(n) => ("GetCertificate", "certificates", n),
        Object::Key(n) => ("GetKey", "keys", n),
    };
    let Some(body) = fetch(c, call, kind, name, None).await? else {
        return Ok(false);
    };
    let Some(prop) = property(data).filter(|_| kind == "secrets") else {
        return Ok(true);
    };
    let value = body["value"].as_str().unwrap_or_default();
    Ok(shared::gjson::get(value, prop).ok().flatten().is_some())
}

async fn delete_object(
    c: &AzureClient,
    call: &'static str,
    kind: &str,
    name: &str,
) -> Result<(), ProviderError> {
    let url = c.vault.url(&format!("{kind}/{name}"))?;
    let a = c.vault.send(call, Method::DELETE, url, None).await?;
    if a.ok() || a.not_found() {
        Ok(())
    } else {
        Err(a.error(&format!("cannot delete {kind}/{name}")))
    }
}

/// Deletes what we pushed: the object, or only the pushed property of a JSON secret (the
/// object goes when it was the last one). Objects we do not manage are left alone.
pub(super) async fn delete(c: &AzureClient, data: &PushSecretData) -> Result<(), ProviderError> {
    let (get_call, del_call, kind, name) = match object(&data.match_.remote_ref.remote_key)? {
        Object::Secret(n) => ("GetSecret", "DeleteSecret", "secrets", n),
        Object::Cert(n) => ("GetCertificate", "DeleteCertificate", "certificates", n),
        Object::Key(n) => ("GetKey", "DeleteKey", "keys", n),
    };
    let Some(body) = fetch(c, get_call, kind, name, None).await? else {
        return Ok(());
    };
    if !is_managed(&body) {
        tracing::debug!(%name, "not deleting a Key Vault object external-secrets does not manage");
        return Ok(());
    }
    if let Some(prop) = property(data).filter(|_| kind == "secrets") {
        let current = body["value"].as_str().unwrap_or_default();
        match remove_key(current.as_bytes(), prop) {
            Removal::NotAnObject | Removal::Absent => return Ok(()),
            Removal::Emptied => {}
            Removal::Rest(rest) => {
                let rest = String::from_utf8_lossy(&rest).into_owned();
                let new =
                    json!({"value": rest, "tags": body["tags"], "attributes": {"enabled": true}});
                let url = c.vault.url(&format!("secrets/{name}"))?;
                let a = c
                    .vault
                    .send("SetSecret", Method::PUT, url, Some(&new))
                    .await?;
                return if a.ok() {
                    Ok(())
                } else {
                    Err(a.error(&format!("cannot set secret {name}")))
                };
            }
        }
    }
    delete_object(c, del_call, kind, name).await
}
