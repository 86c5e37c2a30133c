//! The Azure Key Vault provider (`spec.provider.azurekv`).
//!
//! It speaks the Key Vault data-plane REST API (7.4) and the Microsoft identity platform token
//! endpoints directly over the workspace's one reqwest/rustls (aws-lc-rs) stack instead of using
//! `azure_core`/`azure_identity`/`azure_security_keyvault_secrets`:
//! * `azure_core`'s bearer-token policy refuses any non-`https` URL, so a store whose
//!   `vaultUrl`/`customCloudConfig` points at a loopback endpoint (a local proxy or a test
//!   server) could never work;
//! * `azure_identity`'s certificate credential needs OpenSSL (`client_certificate` feature),
//!   and its managed-identity endpoint is chosen from process environment, not per store;
//! * keys and certificates would need two more SDK crates, for seven REST calls in all.
//!
//! Reads follow ESO: `secret/` (default), `key/` (the public JWK as JSON) and `cert/` (the
//! certificate's DER bytes, Key Vault's `cer`) prefixes, `version`, `property` (gjson),
//! `metadataPolicy: Fetch` (tags), `find` by name regex and/or tags over all pages.
//! Pushes write secrets (and import private keys as JWKs and PEM certificates) tagged [`MANAGED_TAG`]; objects
//! without that tag are never overwritten or deleted, and unchanged values are not rewritten.
//!
//! Differences from ESO, on purpose: `extract` with `metadataPolicy: Fetch` makes one call (ESO
//! makes two); a token refused with 401 is renewed and the call retried once.

mod auth;
mod jwk;
mod push;
mod read;
mod rest;

pub use auth::{ANNOTATION_CLIENT_ID, ANNOTATION_TENANT_ID, FEDERATED_AUDIENCE, set_imds_endpoint};

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Secret;
use shared::api::v1::providers::azurekv::{AzureAuthType, AzureKVProvider};
use shared::api::v1::{
    ExternalSecretDataRemoteRef, ExternalSecretFind, SecretStoreCapabilities, SecretStoreKind,
};
use shared::api::v1alpha1::PushSecretData;
use shared::secret_value::SecretValue;

use super::{
    Capabilities, ClientContext, Provider, ProviderError, SecretMap, SecretsClient,
    ValidationResult, refs,
};

/// Provider label of `externalsecret_provider_api_calls_count`, as ESO's.
pub const PROVIDER: &str = "Azure/KeyVault";

/// Tag ESO puts on every object it pushes; objects without it are never touched.
pub const MANAGED_TAG: (&str, &str) = ("managed-by", "external-secrets");

/// Azure Key Vault.
#[derive(Default)]
pub struct AzureProvider;

impl AzureProvider {
    pub fn new() -> Self {
        Self
    }
}

/// Whether a ClusterSecretStore's credentials are resolved per object namespace.
fn is_referent(ctx: &ClientContext, cfg: &AzureKVProvider) -> bool {
    if ctx.store.kind != SecretStoreKind::ClusterSecretStore {
        return false;
    }
    let sel_referent = |s: &Option<shared::api::meta::SecretKeySelector>| {
        s.as_ref()
            .is_some_and(|s| refs::is_referent(ctx, s.namespace.as_deref()))
    };
    match cfg.effective_auth_type() {
        AzureAuthType::ServicePrincipal => cfg.auth_secret_ref.as_ref().is_some_and(|a| {
            sel_referent(&a.client_id)
                || sel_referent(&a.tenant_id)
                || sel_referent(&a.client_secret)
                || sel_referent(&a.client_certificate)
        }),
        AzureAuthType::WorkloadIdentity => cfg
            .service_account_ref
            .as_ref()
            .is_some_and(|s| refs::is_referent(ctx, s.namespace.as_deref())),
        AzureAuthType::ManagedIdentity => false,
    }
}

#[async_trait]
impl Provider for AzureProvider {
    fn capabilities(&self) -> Capabilities {
        SecretStoreCapabilities::ReadWrite
    }

    async fn new_client(
        &self,
        ctx: &ClientContext,
    ) -> Result<Box<dyn SecretsClient>, ProviderError> {
        let cfg =
            ctx.store.spec.provider.azurekv.as_ref().ok_or_else(|| {
                ProviderError::InvalidConfig("missing store provider azurekv".into())
            })?;
        if cfg.vault_url.is_empty() {
            return Err(ProviderError::InvalidConfig("vaultUrl is required".into()));
        }
        let mut base = auth::check_url("vaultUrl", &cfg.vault_url)?;
        base.set_path("/");
        base.set_query(None);
        // The cloud settings are checked even when the credentials cannot be resolved yet.
        auth::cloud(cfg)?;
        if ctx.object_namespace.is_empty() && is_referent(ctx, cfg) {
            return Ok(Box::new(super::ReferentClient));
        }
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| ProviderError::Other(format!("cannot build HTTP client: {e}")))?;
        let tokens = auth::TokenSource::new(ctx, cfg, http.clone()).await?;
        Ok(Box::new(AzureClient {
            vault: rest::Vault { http, base, tokens },
        }))
    }
}

/// A client bound to one vault with its credentials.
pub(crate) struct AzureClient {
    vault: rest::Vault,
}

/// `secret/name`, `key/name`, `cert/name` or a bare secret name.
pub(crate) enum Object<'a> {
    Secret(&'a str),
    Key(&'a str),
    Cert(&'a str),
}

/// Key Vault object names are 1-127 characters of `0-9a-zA-Z-`; anything else could only
/// produce a different URL path than the one meant.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 127
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

pub(crate) fn object(key: &str) -> Result<Object<'_>, ProviderError> {
    let name = key.split_once('/').map_or(key, |(_, n)| n);
    if !valid_name(name) {
        return Err(ProviderError::InvalidConfig(format!(
            "invalid Key Vault object name in {key:?}: names are 1-127 characters of 0-9, a-z, A-Z and -"
        )));
    }
    match key.split_once('/') {
        None => Ok(Object::Secret(key)),
        Some(("secret", n)) => Ok(Object::Secret(n)),
        Some(("key", n)) => Ok(Object::Key(n)),
        Some(("cert", n)) => Ok(Object::Cert(n)),
        Some(_) => Err(ProviderError::InvalidConfig(format!(
            "unknown Azure Keyvault object Type for {key}"
        ))),
    }
}

#[async_trait]
impl SecretsClient for AzureClient {
    async fn get_secret(
        &self,
        r: &ExternalSecretDataRemoteRef,
    ) -> Result<SecretValue, ProviderError> {
        read::get(self, r).await
    }

    async fn get_secret_map(
        &self,
        r: &ExternalSecretDataRemoteRef,
    ) -> Result<SecretMap, ProviderError> {
        read::get_map(self, r).await
    }

    async fn get_all_secrets(&self, find: &ExternalSecretFind) -> Result<SecretMap, ProviderError> {
        read::find(self, find).await
    }

    async fn push_secret(
        &self,
        secret: &Secret,
        data: &PushSecretData,
    ) -> Result<(), ProviderError> {
        push::push(self, secret, data).await
    }

    async fn delete_secret(&self, data: &PushSecretData) -> Result<(), ProviderError> {
        push::delete(self, data).await
    }

    async fn secret_exists(&self, data: &PushSecretData) -> Result<bool, ProviderError> {
        push::exists(self, data).await
    }

    /// One cheap call: the first secret of the list (needs the `list` permission and a token).
    async fn validate(&self) -> Result<ValidationResult, ProviderError> {
        let mut url = self.vault.url("secrets")?;
        url.query_pairs_mut().append_pair("maxresults", "1");
        let a = self
            .vault
            .send("GetSecrets", reqwest::Method::GET, url, None)
            .await?;
        if a.ok() {
            Ok(ValidationResult::Ready)
        } else {
            Err(a.error("cannot list secrets"))
        }
    }
}
