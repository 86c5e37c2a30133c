//! SSM Parameter Store: GetParameter with decryption (`name:version`), gjson `property`, tags
//! with `metadataPolicy: Fetch`, finds by path/name (GetParametersByPath, recursive) and by tags
//! (DescribeParameters, then GetParameters in groups of 10), and PushSecret with PutParameter
//! under the managed-by tag.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_ssm::Client;
use aws_sdk_ssm::config::BehaviorVersion;
use aws_sdk_ssm::types::{
    ParameterStringFilter, ParameterTier, ParameterType, ResourceTypeForTagging, Tag,
};
use k8s_openapi::api::core::v1::Secret;
use serde::Deserialize;
use shared::api::v1::{ExternalSecretDataRemoteRef, ExternalSecretFind, MetadataPolicy};
use shared::api::v1alpha1::PushSecretData;
use shared::keys::GoRegex;
use shared::secret_value::SecretValue;

use super::auth::Session;
use super::error::{code, describe};
use super::pages::all_pages;
use super::{
    Endpoints, MANAGED_BY_TAG, PROVIDER_PS, default_description, desired_tags, json_to_map,
    parse_metadata, property_of, tag_changes, tags_json,
};
use crate::provider::metrics::observe;
use crate::provider::push_value::{WholeSecretJson, source_value};
use crate::provider::{ProviderError, SecretMap, SecretsClient, ValidationResult};

/// AWS's limit of names per GetParameters.
const GET_PARAMETERS_MAX: usize = 10;

/// `spec` of the Parameter Store PushSecretMetadata.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Metadata {
    #[serde(default)]
    secret_type: Option<String>,
    #[serde(default, rename = "kmsKeyID", alias = "kmsKeyId")]
    kms_key_id: Option<String>,
    #[serde(default)]
    tier: Option<Tier>,
    #[serde(default)]
    encode_as_decoded: bool,
    #[serde(default)]
    tags: Option<BTreeMap<String, String>>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Tier {
    #[serde(default, rename = "type")]
    type_: Option<String>,
    #[serde(default)]
    policies: Option<serde_json::Value>,
}

/// A Parameter Store client for one store.
pub(super) struct ParameterStore {
    session: Arc<Session>,
    client: Client,
    prefix: String,
}

fn not_found(c: Option<&str>) -> bool {
    matches!(c, Some("ParameterNotFound" | "ParameterVersionNotFound"))
}

impl ParameterStore {
    pub(super) fn new(session: Arc<Session>, endpoints: &Endpoints, prefix: String) -> Self {
        let mut b = aws_sdk_ssm::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(session.region())
            .credentials_provider(session.provider());
        b.set_endpoint_url(endpoints.ssm.clone());
        let client = Client::from_conf(b.build());
        ParameterStore {
            session,
            client,
            prefix,
        }
    }

    /// The decrypted value of `name` (may carry `:version`); `None` when it does not exist.
    async fn get(&self, name: &str) -> Result<Option<String>, ProviderError> {
        match observe(
            PROVIDER_PS,
            "GetParameter",
            self.client
                .get_parameter()
                .name(name)
                .with_decryption(true)
                .send()
                .await,
        ) {
            Ok(out) => Ok(out.parameter().and_then(|p| p.value()).map(str::to_string)),
            Err(e) if not_found(code(&e).as_deref()) => Ok(None),
            Err(e) => Err(describe("GetParameter", &e)),
        }
    }

    async fn tags(&self, name: &str) -> Result<Option<BTreeMap<String, String>>, ProviderError> {
        match observe(
            PROVIDER_PS,
            "ListTagsForResource",
            self.client
                .list_tags_for_resource()
                .resource_type(ResourceTypeForTagging::Parameter)
                .resource_id(name)
                .send()
                .await,
        ) {
            Ok(out) => Ok(Some(
                out.tag_list()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect(),
            )),
            Err(e)
                if matches!(code(&e).as_deref(), Some("InvalidResourceId"))
                    || not_found(code(&e).as_deref()) =>
            {
                Ok(None)
            }
            Err(e) => Err(describe("ListTagsForResource", &e)),
        }
    }

    fn name_of(&self, r: &ExternalSecretDataRemoteRef) -> String {
        let mut name = format!("{}{}", self.prefix, r.key);
        if let Some(v) = r.version.as_deref().filter(|v| !v.is_empty()) {
            name.push(':');
            name.push_str(v);
        }
        name
    }

    async fn by_path(&self, path: &str, matcher: &GoRegex) -> Result<SecretMap, ProviderError> {
        let found = all_pages(|token| async move {
            let out = observe(
                PROVIDER_PS,
                "GetParametersByPath",
                self.client
                    .get_parameters_by_path()
                    .path(path)
                    .recursive(true)
                    .with_decryption(true)
                    .set_next_token(token)
                    .send()
                    .await,
            )
            .map_err(|e| describe(&format!("GetParametersByPath {path}"), &e))?;
            let found = out
                .parameters()
                .iter()
                .filter_map(|p| Some((p.name()?, p.value()?)))
                .filter(|(n, _)| matcher.is_match(n))
                .map(|(n, v)| (n.to_string(), SecretValue::from(v)))
                .collect();
            Ok((found, out.next_token().map(str::to_string)))
        })
        .await?;
        Ok(found.into_iter().collect())
    }

    async fn by_tags(
        &self,
        tags: &BTreeMap<String, String>,
        path: Option<&str>,
    ) -> Result<SecretMap, ProviderError> {
        let mut filters = Vec::new();
        let build = |key: String, option: &str, value: &str| {
            ParameterStringFilter::builder()
                .key(key)
                .option(option)
                .values(value)
                .build()
                .map_err(|e| ProviderError::InvalidConfig(e.to_string()))
        };
        for (k, v) in tags {
            filters.push(build(format!("tag:{k}"), "Equals", v)?);
        }
        if let Some(p) = path {
            filters.push(build("Path".into(), "Recursive", p)?);
        }
        let filters = &filters;
        let names = all_pages(|token| async move {
            let out = observe(
                PROVIDER_PS,
                "DescribeParameters",
                self.client
                    .describe_parameters()
                    .set_parameter_filters(Some(filters.clone()))
                    .set_next_token(token)
                    .send()
                    .await,
            )
            .map_err(|e| describe("DescribeParameters", &e))?;
            let names = out
                .parameters()
                .iter()
                .filter_map(|p| p.name().map(str::to_string))
                .collect();
            Ok((names, out.next_token().map(str::to_string)))
        })
        .await?;
        let mut data = SecretMap::new();
        for chunk in names.chunks(GET_PARAMETERS_MAX) {
            let out = observe(
                PROVIDER_PS,
                "GetParameters",
                self.client
                    .get_parameters()
                    .set_names(Some(chunk.to_vec()))
                    .with_decryption(true)
                    .send()
                    .await,
            )
            .map_err(|e| describe("GetParameters", &e))?;
            for p in out.parameters() {
                if let (Some(n), Some(v)) = (p.name(), p.value()) {
                    data.insert(n.to_string(), SecretValue::from(v));
                }
            }
        }
        Ok(data)
    }
}

fn ssm_tag(k: &str, v: &str) -> Result<Tag, ProviderError> {
    Tag::builder()
        .key(k)
        .value(v)
        .build()
        .map_err(|e| ProviderError::InvalidConfig(format!("tag {k:?}: {e}")))
}

/// The whole Secret as Go encodes `map[string][]byte`: values base64 (without
/// `encodeAsDecoded`, which pushes them as plain strings instead).
fn whole_secret_base64(secret: &Secret) -> SecretValue {
    use base64::Engine as _;
    let fields = secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| {
            let text = base64::engine::general_purpose::STANDARD.encode(&v.0);
            (k.clone(), shared::keys::GoJsonValue::String(text))
        })
        .collect();
    SecretValue::from(shared::keys::GoJsonValue::Object(fields).to_go_json(false))
}

#[async_trait]
impl SecretsClient for ParameterStore {
    async fn get_secret(
        &self,
        r: &ExternalSecretDataRemoteRef,
    ) -> Result<SecretValue, ProviderError> {
        let name = self.name_of(r);
        let payload = if r.metadata_policy == Some(MetadataPolicy::Fetch) {
            let tags = self.tags(&name).await?.ok_or(ProviderError::NoSecret)?;
            tags_json(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        } else {
            self.get(&name).await?.ok_or(ProviderError::NoSecret)?
        };
        match r.property.as_deref().filter(|p| !p.is_empty()) {
            None => Ok(SecretValue::from(payload)),
            Some(property) => property_of(&payload, property, &r.key),
        }
    }

    async fn get_secret_map(
        &self,
        r: &ExternalSecretDataRemoteRef,
    ) -> Result<SecretMap, ProviderError> {
        let value = self.get_secret(r).await?;
        json_to_map(&String::from_utf8_lossy(value.as_bytes()), &r.key)
    }

    async fn get_all_secrets(&self, find: &ExternalSecretFind) -> Result<SecretMap, ProviderError> {
        let path = find.path.as_deref().filter(|p| !p.is_empty());
        if let Some(name) = &find.name {
            let matcher =
                GoRegex::new(name.regexp.as_deref().unwrap_or_default()).map_err(|e| {
                    ProviderError::InvalidConfig(format!("invalid find.name.regexp: {e}"))
                })?;
            return self.by_path(path.unwrap_or("/"), &matcher).await;
        }
        match &find.tags {
            Some(tags) => self.by_tags(tags, path).await,
            None => Err(ProviderError::InvalidConfig(
                "unexpected find operator: set find.name or find.tags".into(),
            )),
        }
    }

    async fn push_secret(
        &self,
        secret: &Secret,
        data: &PushSecretData,
    ) -> Result<(), ProviderError> {
        let meta: Metadata = parse_metadata(data)?.unwrap_or_default();
        let whole = data.match_.secret_key.as_deref().is_none_or(str::is_empty);
        let value = if whole && !meta.encode_as_decoded {
            whole_secret_base64(secret)
        } else {
            source_value(secret, data, WholeSecretJson::Plain)?
        };
        let value = String::from_utf8(value.into_vec()).map_err(|_| {
            ProviderError::InvalidConfig("Parameter Store values must be valid UTF-8".into())
        })?;
        let name = format!("{}{}", self.prefix, data.match_.remote_ref.remote_key);
        let desired = desired_tags(&meta.tags.clone().unwrap_or_default())?;
        let kind = meta
            .secret_type
            .clone()
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "String".into());
        let mut req = self
            .client
            .put_parameter()
            .name(&name)
            .value(&value)
            .r#type(ParameterType::from(kind.as_str()))
            .description(
                meta.description
                    .clone()
                    .filter(|d| !d.is_empty())
                    .unwrap_or_else(default_description),
            );
        if kind == "SecureString" {
            req = req.key_id(
                meta.kms_key_id
                    .clone()
                    .filter(|k| !k.is_empty())
                    .unwrap_or_else(|| "alias/aws/ssm".into()),
            );
        }
        if let Some(tier) = &meta.tier
            && tier.type_.as_deref() == Some("Advanced")
        {
            req = req.tier(ParameterTier::Advanced);
            if let Some(p) = &tier.policies {
                req = req.policies(p.to_string());
            }
        }
        match self.get(&name).await? {
            None => {
                for (k, v) in &desired {
                    req = req.tags(ssm_tag(k, v)?);
                }
                observe(PROVIDER_PS, "PutParameter", req.send().await)
                    .map_err(|e| describe("PutParameter", &e))?;
            }
            Some(existing) => {
                let current = self.tags(&name).await?.unwrap_or_default();
                if current.get(MANAGED_BY_TAG.0).map(String::as_str) != Some(MANAGED_BY_TAG.1) {
                    return Err(ProviderError::Other(format!(
                        "parameter {name} not managed by external-secrets (tag {}={} missing): refusing to overwrite it",
                        MANAGED_BY_TAG.0, MANAGED_BY_TAG.1
                    )));
                }
                if existing != value {
                    observe(
                        PROVIDER_PS,
                        "PutParameter",
                        req.overwrite(true).send().await,
                    )
                    .map_err(|e| describe("PutParameter", &e))?;
                }
                if meta.tags.is_some() {
                    let (set, remove) = tag_changes(&current, &desired);
                    if !remove.is_empty() {
                        observe(
                            PROVIDER_PS,
                            "RemoveTagsFromResource",
                            self.client
                                .remove_tags_from_resource()
                                .resource_type(ResourceTypeForTagging::Parameter)
                                .resource_id(&name)
                                .set_tag_keys(Some(remove))
                                .send()
                                .await,
                        )
                        .map_err(|e| describe("RemoveTagsFromResource", &e))?;
                    }
                    if !set.is_empty() {
                        let tags = set
                            .iter()
                            .map(|(k, v)| ssm_tag(k, v))
                            .collect::<Result<Vec<_>, _>>()?;
                        observe(
                            PROVIDER_PS,
                            "AddTagsToResource",
                            self.client
                                .add_tags_to_resource()
                                .resource_type(ResourceTypeForTagging::Parameter)
                                .resource_id(&name)
                                .set_tags(Some(tags))
                                .send()
                                .await,
                        )
                        .map_err(|e| describe("AddTagsToResource", &e))?;
                    }
                }
            }
        }
        Ok(())
    }

    async fn delete_secret(&self, data: &PushSecretData) -> Result<(), ProviderError> {
        let name = format!("{}{}", self.prefix, data.match_.remote_ref.remote_key);
        let Some(tags) = self.tags(&name).await? else {
            return Ok(());
        };
        if tags.get(MANAGED_BY_TAG.0).map(String::as_str) != Some(MANAGED_BY_TAG.1) {
            tracing::debug!(%name, "not deleting a parameter external-secrets does not manage");
            return Ok(());
        }
        match observe(
            PROVIDER_PS,
            "DeleteParameter",
            self.client.delete_parameter().name(&name).send().await,
        ) {
            Ok(_) => Ok(()),
            Err(e) if not_found(code(&e).as_deref()) => Ok(()),
            Err(e) => Err(describe("DeleteParameter", &e)),
        }
    }

    async fn secret_exists(&self, data: &PushSecretData) -> Result<bool, ProviderError> {
        let name = format!("{}{}", self.prefix, data.match_.remote_ref.remote_key);
        Ok(self.get(&name).await?.is_some())
    }

    async fn validate(&self) -> Result<ValidationResult, ProviderError> {
        super::sm_read::validate(&self.session).await
    }
}
