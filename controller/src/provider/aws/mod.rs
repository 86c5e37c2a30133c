//! The AWS providers (`spec.provider.aws`): Secrets Manager and SSM Parameter Store.
//!
//! Credentials come from `auth.secretRef` (static keys), `auth.jwt.serviceAccountRef` (a
//! ServiceAccount token exchanged with AssumeRoleWithWebIdentity) or the SDK default chain, then
//! `additionalRoles` and `role` are assumed in order ([`auth`]). Endpoints can be overridden like
//! ESO does with `AWS_SECRETSMANAGER_ENDPOINT`, `AWS_SSM_ENDPOINT` and `AWS_STS_ENDPOINT`; they
//! are read once when the provider is built ([`Endpoints::from_env`]), so tests and embedders
//! pass them explicitly instead of mutating the process environment.
//!
//! Differences from ESO, on purpose: `validate` makes an authenticated STS GetCallerIdentity
//! call (ESO only resolves credentials, so wrong static keys look valid until the first read);
//! STS calls are counted under provider `AWS/STS`; different secrets read at the same moment are
//! coalesced into BatchGetSecretValue calls ([`batch`]).

mod auth;
mod batch;
mod error;
mod pages;
mod parameterstore;
mod sm_push;
mod sm_read;

use std::sync::Arc;

use async_trait::async_trait;
use shared::api::v1::providers::aws::{AWSProvider, AWSServiceType};
use shared::api::v1::{SecretStoreCapabilities, SecretStoreKind};
use shared::api::v1alpha1::PushSecretData;
use shared::secret_value::SecretValue;

use super::{Capabilities, ClientContext, Provider, ProviderError, SecretMap, SecretsClient};

pub use auth::ROLE_SESSION_NAME;

/// Provider label of Secrets Manager calls in `externalsecret_provider_api_calls_count`.
pub const PROVIDER_SM: &str = "AWS/SecretsManager";
/// Provider label of Parameter Store calls.
pub const PROVIDER_PS: &str = "AWS/ParameterStore";
/// Provider label of STS calls (ESO does not count them).
pub const PROVIDER_STS: &str = "AWS/STS";

/// Tag ESO puts on everything it creates through PushSecret; nothing without it is
/// overwritten or deleted.
pub const MANAGED_BY_TAG: (&str, &str) = ("managed-by", "external-secrets");

/// Service endpoint overrides (VPC endpoints, LocalStack, moto). `None` uses the SDK's resolver.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// Secrets Manager endpoint URL.
    pub secretsmanager: Option<String>,
    /// SSM endpoint URL.
    pub ssm: Option<String>,
    /// STS endpoint URL.
    pub sts: Option<String>,
}

impl Endpoints {
    /// ESO's variables: `AWS_SECRETSMANAGER_ENDPOINT`, `AWS_SSM_ENDPOINT`, `AWS_STS_ENDPOINT`.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Endpoints {
            secretsmanager: var("AWS_SECRETSMANAGER_ENDPOINT"),
            ssm: var("AWS_SSM_ENDPOINT"),
            sts: var("AWS_STS_ENDPOINT"),
        }
    }

    /// The same endpoint for every service (moto and LocalStack serve all of them on one port).
    pub fn all(url: impl Into<String>) -> Self {
        let url = url.into();
        Endpoints {
            secretsmanager: Some(url.clone()),
            ssm: Some(url.clone()),
            sts: Some(url),
        }
    }
}

/// Secrets Manager and Parameter Store stores.
#[derive(Debug, Default)]
pub struct AwsProvider {
    endpoints: Endpoints,
}

impl AwsProvider {
    /// A provider using explicit endpoint overrides.
    pub fn new(endpoints: Endpoints) -> Self {
        AwsProvider { endpoints }
    }

    /// A provider using the endpoint variables of this process.
    pub fn from_env() -> Self {
        Self::new(Endpoints::from_env())
    }
}

fn config(ctx: &ClientContext) -> Result<&AWSProvider, ProviderError> {
    ctx.store
        .spec
        .provider
        .aws
        .as_ref()
        .ok_or_else(|| ProviderError::InvalidConfig("missing store provider aws".into()))
}

#[async_trait]
impl Provider for AwsProvider {
    fn capabilities(&self) -> Capabilities {
        SecretStoreCapabilities::ReadWrite
    }

    async fn new_client(
        &self,
        ctx: &ClientContext,
    ) -> Result<Box<dyn SecretsClient>, ProviderError> {
        let cfg = config(ctx)?;
        if !shared::validation::aws_region_is_valid(&cfg.region) {
            return Err(ProviderError::InvalidConfig(format!(
                "invalid region {:?}: use an AWS region id such as \"us-east-1\"",
                cfg.region
            )));
        }
        // Credentials "in the namespace of the object" cannot be checked by the store
        // controller, which has no object: ESO reports ValidationUnknown.
        if ctx.store.kind == SecretStoreKind::ClusterSecretStore
            && ctx.object_namespace.is_empty()
            && auth::is_referent(ctx, cfg)
        {
            return Ok(Box::new(super::ReferentClient));
        }
        let session = Arc::new(auth::Session::new(ctx, cfg, &self.endpoints).await?);
        let prefix = cfg.prefix.clone().unwrap_or_default();
        match cfg.service {
            AWSServiceType::SecretsManager => Ok(Box::new(sm_read::SecretsManager::new(
                session,
                &self.endpoints,
                prefix,
                cfg.secrets_manager.clone().unwrap_or_default(),
                ctx.clone(),
            ))),
            AWSServiceType::ParameterStore => Ok(Box::new(parameterstore::ParameterStore::new(
                session,
                &self.endpoints,
                prefix,
            ))),
            AWSServiceType::CertificateManager => Err(ProviderError::InvalidConfig(
                "service CertificateManager is not supported by this operator".into(),
            )),
        }
    }
}

/// Splits a JSON object into keys the way ESO's GetSecretMap does: string values unquoted,
/// everything else as raw JSON.
fn json_to_map(text: &str, key: &str) -> Result<SecretMap, ProviderError> {
    super::json_object_map(text).ok_or_else(|| {
        ProviderError::Other(format!(
            "unable to unmarshal secret {key}: the value is not a JSON object"
        ))
    })
}

/// Go's `json.Marshal(map[string]string)`: sorted keys, HTML-escaped.
fn tags_json<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    shared::keys::GoJsonValue::Object(
        tags.into_iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    shared::keys::GoJsonValue::String(v.to_string()),
                )
            })
            .collect(),
    )
    .to_go_json(true)
}

/// A gjson `property` lookup with ESO's AWS rule: a property containing dots is first tried as
/// one literal key (dots escaped), then as a path.
fn property_of(payload: &str, property: &str, key: &str) -> Result<SecretValue, ProviderError> {
    let gjson = |path: &str| {
        shared::gjson::get_string(payload, path)
            .map_err(|e| ProviderError::InvalidConfig(e.to_string()))
    };
    if property.contains('.')
        && let Some(v) = gjson(&property.replace('.', "\\."))?
    {
        return Ok(SecretValue::from(v));
    }
    gjson(property)?.map(SecretValue::from).ok_or_else(|| {
        ProviderError::Other(format!("key {property} does not exist in secret {key}"))
    })
}

const METADATA_API_VERSION: &str = "kubernetes.external-secrets.io/v1alpha1";
const METADATA_KIND: &str = "PushSecretMetadata";

/// Parses `data.metadata` as ESO does: a `kubernetes.external-secrets.io/v1alpha1`
/// `PushSecretMetadata` whose `spec` holds the provider's fields (unknown fields rejected).
/// `None` when no metadata is given.
fn parse_metadata<T: serde::de::DeserializeOwned + Default>(
    data: &PushSecretData,
) -> Result<Option<T>, ProviderError> {
    let Some(value) = data.metadata.as_ref().filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let obj = value.as_object().ok_or_else(|| {
        ProviderError::InvalidConfig("failed to parse metadata: it must be an object".into())
    })?;
    let api_version = obj.get("apiVersion").and_then(|v| v.as_str()).unwrap_or("");
    let kind = obj.get("kind").and_then(|v| v.as_str()).unwrap_or("");
    if api_version != METADATA_API_VERSION || kind != METADATA_KIND {
        let fields: Vec<&str> = obj
            .keys()
            .map(String::as_str)
            .filter(|k| !["apiVersion", "kind", "spec"].contains(k))
            .collect();
        let hint = if fields.is_empty() {
            String::new()
        } else {
            format!(
                " (found {} at the top level: they belong under spec)",
                fields.join(", ")
            )
        };
        return Err(ProviderError::InvalidConfig(format!(
            "failed to parse metadata: expected apiVersion {METADATA_API_VERSION:?} and kind {METADATA_KIND:?}, found {api_version:?} and {kind:?}{hint}"
        )));
    }
    if let Some(extra) = obj
        .keys()
        .find(|k| !["apiVersion", "kind", "spec"].contains(&k.as_str()))
    {
        return Err(ProviderError::InvalidConfig(format!(
            "failed to parse metadata: unknown field {extra:?}"
        )));
    }
    match obj.get("spec").filter(|s| !s.is_null()) {
        None => Ok(Some(T::default())),
        Some(spec) => serde_json::from_value(spec.clone())
            .map(Some)
            .map_err(|e| ProviderError::InvalidConfig(format!("failed to parse metadata: {e}"))),
    }
}

/// Tags to add/change and keys to remove so that `current` becomes `desired`.
fn tag_changes(
    current: &std::collections::BTreeMap<String, String>,
    desired: &std::collections::BTreeMap<String, String>,
) -> (Vec<(String, String)>, Vec<String>) {
    let set = desired
        .iter()
        .filter(|(k, v)| current.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let remove = current
        .keys()
        .filter(|k| !desired.contains_key(*k))
        .cloned()
        .collect();
    (set, remove)
}

/// User tags plus the managed-by tag, which users may not set themselves.
fn desired_tags(
    tags: &std::collections::BTreeMap<String, String>,
) -> Result<std::collections::BTreeMap<String, String>, ProviderError> {
    if tags.contains_key(MANAGED_BY_TAG.0) {
        return Err(ProviderError::InvalidConfig(format!(
            "error parsing tags in metadata: Cannot specify a '{}' tag",
            MANAGED_BY_TAG.0
        )));
    }
    let mut out = tags.clone();
    out.insert(MANAGED_BY_TAG.0.into(), MANAGED_BY_TAG.1.into());
    Ok(out)
}

/// Default description of pushed secrets.
fn default_description() -> String {
    format!("secret '{}:{}'", MANAGED_BY_TAG.0, MANAGED_BY_TAG.1)
}
