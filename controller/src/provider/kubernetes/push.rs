//! PushSecret into a Kubernetes Secret: whole Secret, one key, or the whole Secret as JSON in one
//! property; metadata merged per the `kubernetes.external-secrets.io/v1alpha1`
//! PushSecretMetadata; only Secrets carrying [`MANAGED_LABEL`] are modified or deleted.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, PostParams};
use serde::Deserialize;
use shared::api::v1::SecretStoreKind;
use shared::api::v1alpha1::PushSecretData;

use super::{KubernetesClient, MANAGED_LABEL, PROVIDER, api_error};
use crate::provider::ProviderError;
use crate::provider::metrics::observe;
use crate::provider::push_value::{WholeSecretJson, metadata_spec, property, source_value};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PushMetadataSpec {
    #[serde(default)]
    target_merge_policy: Option<String>,
    #[serde(default)]
    source_merge_policy: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    remote_namespace: Option<String>,
}

fn parse_metadata(data: &PushSecretData) -> Result<Option<PushMetadataSpec>, ProviderError> {
    metadata_spec(data, "unable to parse metadata parameters")
}

fn target_namespace(
    client: &KubernetesClient,
    meta: Option<&PushMetadataSpec>,
) -> Result<String, ProviderError> {
    match meta
        .and_then(|m| m.remote_namespace.as_deref())
        .filter(|n| !n.is_empty())
    {
        None => Ok(client.remote_namespace.clone()),
        Some(ns) if client.store_kind == SecretStoreKind::ClusterSecretStore => Ok(ns.into()),
        Some(_) => Err(ProviderError::InvalidConfig(
            "remoteNamespace override is only supported with ClusterSecretStore".into(),
        )),
    }
}

fn is_managed(secret: &Secret) -> bool {
    secret
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(MANAGED_LABEL.0))
        .is_some_and(|v| v == MANAGED_LABEL.1)
}

type Labels = BTreeMap<String, String>;

/// Source labels/annotations after PushSecretMetadata's `sourceMergePolicy`.
fn source_metadata(
    local: &Secret,
    meta: Option<&PushMetadataSpec>,
) -> Result<(Labels, Labels), ProviderError> {
    let mut labels = local.metadata.labels.clone().unwrap_or_default();
    let mut annotations = local.metadata.annotations.clone().unwrap_or_default();
    let Some(meta) = meta else {
        return Ok((labels, annotations));
    };
    match meta.source_merge_policy.as_deref().unwrap_or("") {
        "" | "Merge" => {
            labels.extend(meta.labels.clone());
            annotations.extend(meta.annotations.clone());
        }
        "Replace" => {
            labels = meta.labels.clone();
            annotations = meta.annotations.clone();
        }
        other => {
            return Err(ProviderError::InvalidConfig(format!(
                "unexpected source merge policy {other:?}"
            )));
        }
    }
    Ok((labels, annotations))
}

/// Applies one push entry to `remote` (an existing Secret or a fresh one).
fn apply(
    remote: &mut Secret,
    local: &Secret,
    data: &PushSecretData,
    meta: Option<&PushMetadataSpec>,
) -> Result<(), ProviderError> {
    remote.type_ = Some(local.type_.clone().unwrap_or_else(|| "Opaque".into()));
    let (src_labels, src_annotations) = source_metadata(local, meta)?;
    let labels = remote.metadata.labels.get_or_insert_with(BTreeMap::new);
    let annotations = remote
        .metadata
        .annotations
        .get_or_insert_with(BTreeMap::new);
    match meta
        .and_then(|m| m.target_merge_policy.as_deref())
        .unwrap_or("")
    {
        "" | "Merge" => {
            labels.extend(src_labels);
            annotations.extend(src_annotations);
        }
        "Replace" => {
            *labels = src_labels;
            *annotations = src_annotations;
        }
        "Ignore" => {}
        other => {
            return Err(ProviderError::InvalidConfig(format!(
                "unexpected target merge policy {other:?}"
            )));
        }
    }
    labels.insert(MANAGED_LABEL.0.into(), MANAGED_LABEL.1.into());
    if annotations.is_empty() {
        remote.metadata.annotations = None;
    }

    let remote_data = remote.data.get_or_insert_with(BTreeMap::new);
    let secret_key = data.match_.secret_key.as_deref().unwrap_or_default();
    match property(data) {
        // The whole Secret replaces the remote data.
        None if secret_key.is_empty() => *remote_data = local.data.clone().unwrap_or_default(),
        // One key under its own name or `property`, or the whole Secret as one JSON property.
        prop => {
            let value = source_value(local, data, WholeSecretJson::HtmlEscaped)?;
            let target = prop.unwrap_or(secret_key);
            remote_data.insert(target.into(), ByteString(value.into_vec()));
        }
    }
    Ok(())
}

pub(super) async fn push(
    client: &KubernetesClient,
    local: &Secret,
    data: &PushSecretData,
) -> Result<(), ProviderError> {
    let meta = parse_metadata(data)?;
    let ns = target_namespace(client, meta.as_ref())?;
    let name = &data.match_.remote_ref.remote_key;
    let api = client.secrets(&ns);
    match client.get_in(&ns, name).await? {
        None => {
            let mut remote = Secret::default();
            remote.metadata.name = Some(name.clone());
            remote.metadata.namespace = Some(ns.clone());
            apply(&mut remote, local, data, meta.as_ref())?;
            observe(
                PROVIDER,
                "CreateSecret",
                api.create(&PostParams::default(), &remote).await,
            )
            .map_err(api_error)?;
        }
        Some(existing) => {
            if !is_managed(&existing) {
                return Err(ProviderError::Other(format!(
                    "secret {ns}/{name} exists and is not managed by external-secrets (label {}={} missing)",
                    MANAGED_LABEL.0, MANAGED_LABEL.1
                )));
            }
            let mut remote = existing.clone();
            apply(&mut remote, local, data, meta.as_ref())?;
            if remote != existing {
                observe(
                    PROVIDER,
                    "UpdateSecret",
                    api.replace(name, &PostParams::default(), &remote).await,
                )
                .map_err(api_error)?;
            }
        }
    }
    Ok(())
}

pub(super) async fn exists(
    client: &KubernetesClient,
    data: &PushSecretData,
) -> Result<bool, ProviderError> {
    let meta = parse_metadata(data)?;
    let ns = target_namespace(client, meta.as_ref())?;
    let Some(secret) = client
        .get_in(&ns, &data.match_.remote_ref.remote_key)
        .await?
    else {
        return Ok(false);
    };
    Ok(property(data).is_none_or(|p| secret.data.as_ref().is_some_and(|d| d.contains_key(p))))
}

/// Removes the pushed property (or the whole Secret when it was the last key or no property
/// was pushed). Missing Secrets/properties and Secrets we do not manage are left alone.
pub(super) async fn delete(
    client: &KubernetesClient,
    data: &PushSecretData,
) -> Result<(), ProviderError> {
    let meta = parse_metadata(data)?;
    let ns = target_namespace(client, meta.as_ref())?;
    let name = &data.match_.remote_ref.remote_key;
    let Some(mut secret) = client.get_in(&ns, name).await? else {
        return Ok(());
    };
    if !is_managed(&secret) {
        tracing::debug!(namespace = %ns, %name, "not deleting a Secret external-secrets does not manage");
        return Ok(());
    }
    let api = client.secrets(&ns);
    if let Some(p) = property(data) {
        let remote_data = secret.data.get_or_insert_with(BTreeMap::new);
        if !remote_data.contains_key(p) {
            return Ok(());
        }
        if remote_data.len() > 1 {
            remote_data.remove(p);
            observe(
                PROVIDER,
                "UpdateSecret",
                api.replace(name, &PostParams::default(), &secret).await,
            )
            .map_err(api_error)?;
            return Ok(());
        }
    }
    match observe(
        PROVIDER,
        "DeleteSecret",
        api.delete(name, &DeleteParams::default()).await,
    ) {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(api_error(e)),
    }
}
