//! PushSecret into Secrets Manager: create with the managed-by tag, or put a new version of a
//! secret carrying it; `property` merges into a JSON secret; PushSecretMetadata `kmsKeyID`,
//! `secretPushFormat`, `description`, `tags`, `resourcePolicy` and `replicationLocations` are
//! desired state. Nothing is written when value and metadata already match, and secrets without
//! the managed-by tag are never changed or deleted.

use std::collections::BTreeMap;

use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::types::{ReplicaRegionType, Tag};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use serde::Deserialize;
use shared::api::meta::SecretKeySelector;
use shared::api::v1alpha1::PushSecretData;
use shared::secret_value::SecretValue;

use super::error::{code, describe};
use super::sm_read::SecretsManager;
use super::{
    MANAGED_BY_TAG, PROVIDER_SM, default_description, desired_tags, parse_metadata, tag_changes,
};
use crate::provider::metrics::observe;
use crate::provider::push_value::{WholeSecretJson, property, set_path, source_value};
use crate::provider::{ProviderError, refs};

/// ESO's first version id of a secret it creates.
const INITIAL_VERSION: &str = "00000000-0000-0000-0000-000000000001";
const DEFAULT_KMS_KEY: &str = "alias/aws/secretsmanager";

/// `spec` of the Secrets Manager PushSecretMetadata. Go matches JSON field names without
/// regard to case, so both `kmsKeyId` (ESO's tag) and `kmsKeyID` (its docs) work.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Metadata {
    #[serde(default)]
    tags: Option<BTreeMap<String, String>>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    secret_push_format: Option<String>,
    #[serde(default, rename = "kmsKeyID", alias = "kmsKeyId")]
    kms_key_id: Option<String>,
    #[serde(default)]
    resource_policy: Option<ResourcePolicy>,
    #[serde(default)]
    replication_locations: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResourcePolicy {
    #[serde(default)]
    block_public_policy: Option<bool>,
    policy_source_ref: Option<PolicySourceRef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicySourceRef {
    kind: String,
    name: String,
    key: String,
}

impl Metadata {
    fn string_format(&self) -> Result<bool, ProviderError> {
        match self.secret_push_format.as_deref().unwrap_or("") {
            "" | "binary" => Ok(false),
            "string" => Ok(true),
            other => Err(ProviderError::InvalidConfig(format!(
                "invalid secret push format: {other} (use string or binary)"
            ))),
        }
    }
}

fn sm_tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build()
}

fn is_managed(d: &DescribeSecretOutput) -> bool {
    d.tags()
        .iter()
        .any(|t| t.key() == Some(MANAGED_BY_TAG.0) && t.value() == Some(MANAGED_BY_TAG.1))
}

/// `value` under the sjson path `property` of the JSON secret `current` (empty: a new object).
fn merge_property(current: &str, property: &str, value: &[u8]) -> Result<String, ProviderError> {
    set_path(current, property, value).map_err(|_| {
        ProviderError::InvalidConfig(
            "PushSecret for aws secrets manager with a pushSecretData property requires a json secret"
                .into(),
        )
    })
}

async fn policy_json(sm: &SecretsManager, r: &PolicySourceRef) -> Result<String, ProviderError> {
    let ns = sm.ctx.object_namespace.clone();
    match r.kind.as_str() {
        "ConfigMap" => {
            let cm = Api::<ConfigMap>::namespaced(sm.ctx.kube.clone(), &ns)
                .get(&r.name)
                .await
                .map_err(|e| {
                    ProviderError::InvalidConfig(format!(
                        "failed to get ConfigMap {ns}/{}: {e}",
                        r.name
                    ))
                })?;
            cm.data.and_then(|mut d| d.remove(&r.key)).ok_or_else(|| {
                ProviderError::InvalidConfig(format!(
                    "key {} not found in ConfigMap {ns}/{}",
                    r.key, r.name
                ))
            })
        }
        "Secret" => {
            let sel = SecretKeySelector {
                name: Some(r.name.clone()),
                namespace: Some(ns),
                key: Some(r.key.clone()),
            };
            let v = refs::secret_key(&sm.ctx, &sel, None).await?;
            String::from_utf8(v.into_vec()).map_err(|_| {
                ProviderError::InvalidConfig("resource policy is not valid UTF-8".into())
            })
        }
        other => Err(ProviderError::InvalidConfig(format!(
            "unsupported PolicySourceRef kind: {other} (must be ConfigMap or Secret)"
        ))),
    }
}

fn same_json(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

async fn put_policy(
    sm: &SecretsManager,
    id: &str,
    policy: &str,
    block_public: Option<bool>,
) -> Result<(), ProviderError> {
    observe(
        PROVIDER_SM,
        "PutResourcePolicy",
        sm.client
            .put_resource_policy()
            .secret_id(id)
            .resource_policy(policy)
            .set_block_public_policy(block_public)
            .send()
            .await,
    )
    .map_err(|e| describe("PutResourcePolicy", &e))?;
    Ok(())
}

/// Makes the secret's resource policy match the metadata (absent ⇒ no policy).
async fn sync_policy(sm: &SecretsManager, id: &str, meta: &Metadata) -> Result<(), ProviderError> {
    let desired = match meta
        .resource_policy
        .as_ref()
        .and_then(|p| p.policy_source_ref.as_ref())
    {
        Some(r) => Some(policy_json(sm, r).await?).filter(|p| !p.trim().is_empty()),
        None => None,
    };
    let current = observe(
        PROVIDER_SM,
        "GetResourcePolicy",
        sm.client.get_resource_policy().secret_id(id).send().await,
    )
    .map_err(|e| describe("GetResourcePolicy", &e))?
    .resource_policy()
    .map(str::to_string)
    .filter(|p| !p.trim().is_empty());
    match (current, desired) {
        (None, None) => Ok(()),
        (Some(_), None) => {
            observe(
                PROVIDER_SM,
                "DeleteResourcePolicy",
                sm.client
                    .delete_resource_policy()
                    .secret_id(id)
                    .send()
                    .await,
            )
            .map_err(|e| describe("DeleteResourcePolicy", &e))?;
            Ok(())
        }
        (Some(c), Some(d)) if same_json(&c, &d) => Ok(()),
        (_, Some(d)) => {
            let block = meta
                .resource_policy
                .as_ref()
                .and_then(|p| p.block_public_policy);
            put_policy(sm, id, &d, block).await
        }
    }
}

async fn sync_tags(
    sm: &SecretsManager,
    id: &str,
    described: &DescribeSecretOutput,
    meta: &Metadata,
) -> Result<(), ProviderError> {
    // Tags are desired state only when the metadata names them (as in ESO).
    let Some(tags) = &meta.tags else {
        return Ok(());
    };
    let desired = desired_tags(tags)?;
    let current: BTreeMap<String, String> = described
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let (set, remove) = tag_changes(&current, &desired);
    if !remove.is_empty() {
        observe(
            PROVIDER_SM,
            "UntagResource",
            sm.client
                .untag_resource()
                .secret_id(id)
                .set_tag_keys(Some(remove))
                .send()
                .await,
        )
        .map_err(|e| describe("UntagResource", &e))?;
    }
    if !set.is_empty() {
        observe(
            PROVIDER_SM,
            "TagResource",
            sm.client
                .tag_resource()
                .secret_id(id)
                .set_tags(Some(set.iter().map(|(k, v)| sm_tag(k, v)).collect()))
                .send()
                .await,
        )
        .map_err(|e| describe("TagResource", &e))?;
    }
    Ok(())
}

async fn sync_replication(
    sm: &SecretsManager,
    id: &str,
    described: &DescribeSecretOutput,
    meta: &Metadata,
) -> Result<(), ProviderError> {
    let Some(wanted) = &meta.replication_locations else {
        return Ok(());
    };
    let existing: Vec<String> = described
        .replication_status()
        .iter()
        .filter_map(|r| r.region().map(str::to_string))
        .collect();
    let remove: Vec<String> = existing
        .iter()
        .filter(|r| !wanted.contains(r))
        .cloned()
        .collect();
    let add: Vec<&String> = wanted.iter().filter(|r| !existing.contains(r)).collect();
    if !remove.is_empty() {
        observe(
            PROVIDER_SM,
            "RemoveRegionsFromReplication",
            sm.client
                .remove_regions_from_replication()
                .secret_id(id)
                .set_remove_replica_regions(Some(remove))
                .send()
                .await,
        )
        .map_err(|e| describe("RemoveRegionsFromReplication", &e))?;
    }
    if !add.is_empty() {
        let kms = described.kms_key_id().map(str::to_string);
        observe(
            PROVIDER_SM,
            "ReplicateSecretToRegions",
            sm.client
                .replicate_secret_to_regions()
                .secret_id(id)
                .set_add_replica_regions(Some(replicas(&add, kms)))
                .send()
                .await,
        )
        .map_err(|e| describe("ReplicateSecretToRegions", &e))?;
    }
    Ok(())
}

fn replicas(regions: &[&String], kms: Option<String>) -> Vec<ReplicaRegionType> {
    regions
        .iter()
        .map(|r| {
            ReplicaRegionType::builder()
                .region(r.as_str())
                .set_kms_key_id(kms.clone())
                .build()
        })
        .collect()
}

async fn create(
    sm: &SecretsManager,
    name: &str,
    value: &SecretValue,
    meta: &Metadata,
) -> Result<(), ProviderError> {
    let tags = desired_tags(&meta.tags.clone().unwrap_or_default())?;
    let kms = meta
        .kms_key_id
        .clone()
        .filter(|k| !k.is_empty())
        .unwrap_or_else(|| DEFAULT_KMS_KEY.to_string());
    let regions: Vec<&String> = meta.replication_locations.iter().flatten().collect();
    let mut req = sm
        .client
        .create_secret()
        .name(name)
        .client_request_token(INITIAL_VERSION)
        .description(
            meta.description
                .clone()
                .filter(|d| !d.is_empty())
                .unwrap_or_else(default_description),
        )
        .kms_key_id(&kms)
        .set_tags(Some(tags.iter().map(|(k, v)| sm_tag(k, v)).collect()));
    if !regions.is_empty() {
        req = req.set_add_replica_regions(Some(replicas(&regions, Some(kms.clone()))));
    }
    req = if meta.string_format()? {
        req.secret_string(String::from_utf8_lossy(value.as_bytes()))
    } else {
        req.secret_binary(Blob::new(value.as_bytes()))
    };
    let out = observe(PROVIDER_SM, "CreateSecret", req.send().await)
        .map_err(|e| describe("CreateSecret", &e))?;
    if let Some(p) = &meta.resource_policy
        && let Some(r) = &p.policy_source_ref
    {
        let policy = policy_json(sm, r).await?;
        let id = out.arn().unwrap_or(name);
        put_policy(sm, id, &policy, p.block_public_policy).await?;
    }
    Ok(())
}

async fn describe_secret(
    sm: &SecretsManager,
    name: &str,
) -> Result<Option<DescribeSecretOutput>, ProviderError> {
    match observe(
        PROVIDER_SM,
        "DescribeSecret",
        sm.client.describe_secret().secret_id(name).send().await,
    ) {
        Ok(d) => Ok(Some(d)),
        Err(e) if code(&e).as_deref() == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(describe("DescribeSecret", &e)),
    }
}

pub(super) async fn push(
    sm: &SecretsManager,
    secret: &Secret,
    data: &PushSecretData,
) -> Result<(), ProviderError> {
    let meta: Metadata = parse_metadata(data)?.unwrap_or_default();
    let string_format = meta.string_format()?;
    let value = source_value(secret, data, WholeSecretJson::Plain)?;
    let name = sm.name(&data.match_.remote_ref.remote_key);
    let prop = property(data);
    let Some(described) = describe_secret(sm, &name).await? else {
        let value = match prop {
            Some(p) => SecretValue::from(merge_property("", p, value.as_bytes())?),
            None => value,
        };
        return create(sm, &name, &value, &meta).await;
    };
    if !is_managed(&described) {
        return Err(ProviderError::Other(format!(
            "secret {name} not managed by external-secrets (tag {}={} missing): refusing to overwrite it",
            MANAGED_BY_TAG.0, MANAGED_BY_TAG.1
        )));
    }
    let id = described.arn().unwrap_or(&name).to_string();
    let current = if described
        .version_ids_to_stages()
        .is_some_and(|v| !v.is_empty())
    {
        sm.batcher.get_one(&id).await?
    } else {
        None
    };
    let new_value = match prop {
        Some(p) => SecretValue::from(merge_property(
            &current.as_ref().map(|c| c.text()).unwrap_or_default(),
            p,
            value.as_bytes(),
        )?),
        None => value,
    };
    sync_tags(sm, &id, &described, &meta).await?;
    sync_policy(sm, &id, &meta).await?;
    sync_replication(sm, &id, &described, &meta).await?;
    if let Some(d) = meta.description.as_deref().filter(|d| !d.is_empty())
        && described.description() != Some(d)
    {
        observe(
            PROVIDER_SM,
            "UpdateSecret",
            sm.client
                .update_secret()
                .secret_id(&id)
                .description(d)
                .send()
                .await,
        )
        .map_err(|e| describe("UpdateSecret", &e))?;
    }
    if current
        .as_ref()
        .is_some_and(|c| c.value.as_bytes() == new_value.as_bytes())
    {
        return Ok(());
    }
    let req = sm.client.put_secret_value().secret_id(&id);
    let req = if string_format {
        req.secret_string(String::from_utf8_lossy(new_value.as_bytes()))
    } else {
        req.secret_binary(Blob::new(new_value.as_bytes()))
    };
    observe(PROVIDER_SM, "PutSecretValue", req.send().await)
        .map_err(|e| describe("PutSecretValue", &e))?;
    Ok(())
}

/// Deletes a secret this operator manages, honouring the store's `secretsManager` options;
/// missing, already scheduled and unmanaged secrets are left alone.
pub(super) async fn delete(
    sm: &SecretsManager,
    data: &PushSecretData,
) -> Result<(), ProviderError> {
    let name = sm.name(&data.match_.remote_ref.remote_key);
    let Some(described) = describe_secret(sm, &name).await? else {
        return Ok(());
    };
    if described.deleted_date().is_some() {
        return Ok(());
    }
    if !is_managed(&described) {
        tracing::debug!(%name, "not deleting a secret external-secrets does not manage");
        return Ok(());
    }
    let id = described.arn().unwrap_or(&name).to_string();
    // AWS refuses to delete a primary secret that still has replicas.
    let replicas: Vec<String> = described
        .replication_status()
        .iter()
        .filter_map(|r| r.region().map(str::to_string))
        .collect();
    if !replicas.is_empty() {
        observe(
            PROVIDER_SM,
            "RemoveRegionsFromReplication",
            sm.client
                .remove_regions_from_replication()
                .secret_id(&id)
                .set_remove_replica_regions(Some(replicas))
                .send()
                .await,
        )
        .map_err(|e| describe("RemoveRegionsFromReplication", &e))?;
    }
    let force = sm.options.force_delete_without_recovery == Some(true);
    let window = sm.options.recovery_window_in_days.filter(|d| *d > 0);
    if force && window.is_some() {
        return Err(ProviderError::InvalidConfig(
            "forceDeleteWithoutRecovery conflicts with recoveryWindowInDays".into(),
        ));
    }
    observe(
        PROVIDER_SM,
        "DeleteSecret",
        sm.client
            .delete_secret()
            .secret_id(&id)
            .set_force_delete_without_recovery(force.then_some(true))
            .set_recovery_window_in_days(window)
            .send()
            .await,
    )
    .map_err(|e| describe("DeleteSecret", &e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::merge_property;
    use crate::provider::ProviderError;

    #[test]
    fn a_property_push_into_a_secret_that_is_not_json_names_the_requirement() {
        assert_eq!(
            merge_property(r#"{"b":"y"}"#, "n.m", b"v").unwrap(),
            r#"{"b":"y","n":{"m":"v"}}"#
        );
        let err = merge_property("not json", "a", b"v").unwrap_err();
        assert!(
            matches!(&err, ProviderError::InvalidConfig(m) if m.contains("requires a json secret")),
            "{err}"
        );
    }
}
