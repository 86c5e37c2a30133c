//! Secrets Manager reads: one value (stage or `uuid/<versionId>`, string or binary, gjson
//! `property`, tags with `metadataPolicy: Fetch`), a JSON object split into keys, and finds by
//! name regex, tags and path.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::BehaviorVersion;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType};
use k8s_openapi::api::core::v1::Secret;
use shared::api::v1::providers::aws::SecretsManagerOptions;
use shared::api::v1::{ExternalSecretDataRemoteRef, ExternalSecretFind, MetadataPolicy};
use shared::api::v1alpha1::PushSecretData;
use shared::keys::GoRegex;
use shared::secret_value::SecretValue;

use super::auth::Session;
use super::batch::{Batcher, Payload, is_missing};
use super::error::{code, describe, message};
use super::pages::all_pages;
use super::{Endpoints, PROVIDER_SM, PROVIDER_STS, json_to_map, property_of, sm_push, tags_json};
use crate::provider::metrics::observe;
use crate::provider::{ClientContext, ProviderError, SecretMap, SecretsClient, ValidationResult};

const CURRENT: &str = "AWSCURRENT";

/// A Secrets Manager client for one store.
pub(super) struct SecretsManager {
    pub(super) session: Arc<Session>,
    pub(super) client: Client,
    pub(super) batcher: Arc<Batcher>,
    pub(super) prefix: String,
    pub(super) options: SecretsManagerOptions,
    /// For resource policies referenced by PushSecret metadata.
    pub(super) ctx: ClientContext,
}

impl SecretsManager {
    pub(super) fn new(
        session: Arc<Session>,
        endpoints: &Endpoints,
        prefix: String,
        options: SecretsManagerOptions,
        ctx: ClientContext,
    ) -> Self {
        let mut b = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(session.region())
            .credentials_provider(session.provider());
        b.set_endpoint_url(endpoints.secretsmanager.clone());
        let client = Client::from_conf(b.build());
        SecretsManager {
            session,
            batcher: Batcher::new(client.clone()),
            client,
            prefix,
            options,
            ctx,
        }
    }

    pub(super) fn name(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// The tags of a secret as Go's JSON of `map[string]string`.
    async fn tags_payload(&self, id: &str) -> Result<Payload, ProviderError> {
        let out = observe(
            PROVIDER_SM,
            "DescribeSecret",
            self.client.describe_secret().secret_id(id).send().await,
        )
        .map_err(|e| {
            if code(&e).as_deref() == Some("ResourceNotFoundException") {
                ProviderError::NoSecret
            } else {
                describe("DescribeSecret", &e)
            }
        })?;
        let json = tags_json(
            out.tags()
                .iter()
                .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
        );
        Ok(Payload {
            value: SecretValue::from(json),
        })
    }

    /// A specific version (stage other than AWSCURRENT, or `uuid/<id>`).
    async fn version_payload(&self, id: &str, version: &str) -> Result<Payload, ProviderError> {
        let req = self.client.get_secret_value().secret_id(id);
        let req = match version.strip_prefix("uuid/") {
            Some(version_id) => req.version_id(version_id),
            None => req.version_stage(version),
        };
        match observe(PROVIDER_SM, "GetSecretValue", req.send().await) {
            Ok(out) => Payload::new(out.secret_string(), out.secret_binary().map(|b| b.as_ref()))
                .ok_or_else(|| {
                    ProviderError::Other(format!(
                        "invalid secret received. no secret string nor binary for key: {id}"
                    ))
                }),
            Err(e) => {
                if is_missing(code(&e).as_deref(), message(&e).as_deref()) {
                    Err(ProviderError::NoSecret)
                } else {
                    Err(describe("GetSecretValue", &e))
                }
            }
        }
    }

    async fn fetch(&self, r: &ExternalSecretDataRemoteRef) -> Result<Payload, ProviderError> {
        let id = self.name(&r.key);
        if r.metadata_policy == Some(MetadataPolicy::Fetch) {
            return self.tags_payload(&id).await;
        }
        match r.version.as_deref().filter(|v| !v.is_empty()) {
            None | Some(CURRENT) => self.batcher.get(id).await?.ok_or(ProviderError::NoSecret),
            Some(v) => self.version_payload(&id, v).await,
        }
    }

    /// Secret names matching the filters, all pages.
    async fn list_names(&self, filters: &[Filter]) -> Result<Vec<String>, ProviderError> {
        all_pages(|token| async move {
            let out = observe(
                PROVIDER_SM,
                "ListSecrets",
                self.client
                    .list_secrets()
                    .set_filters((!filters.is_empty()).then(|| filters.to_vec()))
                    .set_next_token(token)
                    .send()
                    .await,
            )
            .map_err(|e| describe("ListSecrets", &e))?;
            let names = out
                .secret_list()
                .iter()
                .filter_map(|s| s.name().map(str::to_string))
                .collect();
            Ok((names, out.next_token().map(str::to_string)))
        })
        .await
    }

    /// Current values of every secret matching the filters, all pages.
    async fn batch_by_filters(
        &self,
        filters: Vec<Filter>,
        matcher: Option<&GoRegex>,
    ) -> Result<SecretMap, ProviderError> {
        let filters = &filters;
        let found = all_pages(|token| async move {
            let out = observe(
                PROVIDER_SM,
                "BatchGetSecretValue",
                self.client
                    .batch_get_secret_value()
                    .set_filters(Some(filters.clone()))
                    .set_next_token(token)
                    .send()
                    .await,
            )
            .map_err(|e| describe("BatchGetSecretValue", &e))?;
            let found = out
                .secret_values()
                .iter()
                .filter_map(|entry| {
                    let name = entry.name()?;
                    if matcher.is_some_and(|m| !m.is_match(name)) {
                        return None;
                    }
                    let p = Payload::new(
                        entry.secret_string(),
                        entry.secret_binary().map(|b| b.as_ref()),
                    )?;
                    Some((name.to_string(), p.value))
                })
                .collect();
            Ok((found, out.next_token().map(str::to_string)))
        })
        .await?;
        Ok(found.into_iter().collect())
    }
}

fn filter(key: FilterNameStringType, value: &str) -> Filter {
    Filter::builder().key(key).values(value).build()
}

fn tag_filters(find: &ExternalSecretFind) -> Vec<Filter> {
    find.tags
        .iter()
        .flatten()
        .flat_map(|(k, v)| {
            [
                filter(FilterNameStringType::TagKey, k),
                filter(FilterNameStringType::TagValue, v),
            ]
        })
        .collect()
}

#[async_trait]
impl SecretsClient for SecretsManager {
    async fn get_secret(
        &self,
        r: &ExternalSecretDataRemoteRef,
    ) -> Result<SecretValue, ProviderError> {
        let payload = self.fetch(r).await?;
        match r.property.as_deref().filter(|p| !p.is_empty()) {
            None => Ok(payload.value),
            Some(property) => property_of(&payload.text(), property, &r.key),
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
        let has_tags = find.tags.as_ref().is_some_and(|t| !t.is_empty());
        let path = find.path.as_deref().filter(|p| !p.is_empty());
        let mut filters = tag_filters(find);
        match &find.name {
            None if !has_tags => Err(ProviderError::InvalidConfig(
                "unexpected find operator: set find.name or find.tags".into(),
            )),
            None => {
                if let Some(p) = path {
                    filters.push(filter(FilterNameStringType::Name, p));
                }
                self.batch_by_filters(filters, None).await
            }
            Some(name) => {
                let matcher =
                    GoRegex::new(name.regexp.as_deref().unwrap_or_default()).map_err(|e| {
                        ProviderError::InvalidConfig(format!("invalid find.name.regexp: {e}"))
                    })?;
                if let Some(p) = path {
                    filters.push(filter(FilterNameStringType::Name, p));
                    return self.batch_by_filters(filters, Some(&matcher)).await;
                }
                // ESO lists and fetches one by one here; the batcher turns the fetches into
                // BatchGetSecretValue calls of 20.
                let names: Vec<String> = self
                    .list_names(&filters)
                    .await?
                    .into_iter()
                    .filter(|n| matcher.is_match(n))
                    .collect();
                let reads = names.iter().map(|n| self.batcher.get(n.clone()));
                let values = futures::future::join_all(reads).await;
                let mut data = SecretMap::new();
                for (name, value) in names.into_iter().zip(values) {
                    if let Some(p) = value? {
                        data.insert(name, p.value);
                    }
                }
                Ok(data)
            }
        }
    }

    async fn push_secret(
        &self,
        secret: &Secret,
        data: &PushSecretData,
    ) -> Result<(), ProviderError> {
        sm_push::push(self, secret, data).await
    }

    async fn delete_secret(&self, data: &PushSecretData) -> Result<(), ProviderError> {
        sm_push::delete(self, data).await
    }

    async fn secret_exists(&self, data: &PushSecretData) -> Result<bool, ProviderError> {
        let id = self.name(&data.match_.remote_ref.remote_key);
        Ok(self.batcher.get_one(&id).await?.is_some())
    }

    async fn validate(&self) -> Result<ValidationResult, ProviderError> {
        validate(&self.session).await
    }
}

/// Resolves the credentials (assuming every role) and proves them with GetCallerIdentity,
/// which needs no IAM permission.
pub(super) async fn validate(session: &Session) -> Result<ValidationResult, ProviderError> {
    session.credentials().await?;
    observe(
        PROVIDER_STS,
        "GetCallerIdentity",
        session.sts_client().get_caller_identity().send().await,
    )
    .map_err(|e| describe("GetCallerIdentity", &e))?;
    Ok(ValidationResult::Ready)
}
