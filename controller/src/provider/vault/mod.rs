//! The HashiCorp Vault / OpenBao provider (`spec.provider.vault`): KV v1/v2 reads, `find`,
//! PushSecret, and the token/AppRole/Kubernetes/JWT/userpass/LDAP/cert logins.
//!
//! Why a small typed HTTP client instead of `vaultrs` (crates.md): `vaultrs` 0.8 is clean
//! dependency-wise (it uses the same reqwest 0.13/rustls stack, no ring, no openssl), but it
//! does not fit an operator that builds clients from untrusted store specs: its settings
//! builder falls back to the process environment (`VAULT_ADDR`, `VAULT_TOKEN`, `VAULT_CACERT`,
//! `VAULT_CLIENT_CERT`, ...) and panics on an unparsable address; CA bundles are only read from
//! files; and its high-level calls hide response headers, so `readYourWrites` (`X-Vault-Index`)
//! and a per-call namespace for `auth.namespace` logins would need its raw endpoint layer
//! anyway. The handful of endpoints ESO uses (KV data/metadata/list, login, token
//! lookup/renew/revoke, mount info) are a few hundred lines over the workspace's reqwest, and
//! every call goes through one place that counts it.
//!
//! Differences from ESO, on purpose: a missing secret under `metadataPolicy: Fetch` is
//! `NoSecret` (ESO: a plain "secret not found" error); metadata paths are derived from data
//! paths, so keys without a mount also work there; every login is counted as `Login` (ESO counts
//! the JWT login as `WriteSecretData`); login tokens are renewed or replaced while the cached
//! client lives and revoked when it is closed or dropped; `auth.iam` and `auth.gcp` are not
//! implemented (NotSupported).

mod auth;
mod http;
mod kv;
mod push;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Secret;
use reqwest::Method;
use serde_json::Value;
use shared::api::v1::providers::vault::{VaultAuth, VaultKVStoreVersion};
use shared::api::v1::{
    ExternalSecretDataRemoteRef, ExternalSecretFind, SecretStoreCapabilities, SecretStoreKind,
};
use shared::api::v1alpha1::PushSecretData;
use shared::secret_value::SecretValue;

use self::auth::Authenticator;
use self::http::{Call, Connection, VaultError};
use self::kv::Kv;
use super::refs::is_referent;
use super::{
    Capabilities, ClientContext, Provider, ProviderError, SecretMap, SecretsClient,
    ValidationResult,
};

/// Provider label of `externalsecret_provider_api_calls_count`, as ESO's.
pub const PROVIDER: &str = "HashiCorp/Vault";

/// Vault and OpenBao KV engines.
#[derive(Default)]
pub struct VaultProvider;

impl VaultProvider {
    pub fn new() -> Self {
        Self
    }
}

fn invalid(msg: impl Into<String>) -> ProviderError {
    ProviderError::InvalidConfig(msg.into())
}

/// Whether any credential reference must be resolved in the reconciled object's namespace.
fn referent(ctx: &ClientContext, auth: &VaultAuth) -> bool {
    let r = |ns: Option<&String>| is_referent(ctx, ns.map(String::as_str));
    if let Some(t) = &auth.token_secret_ref {
        return r(t.namespace.as_ref());
    }
    if let Some(a) = &auth.app_role {
        return r(a.secret_ref.namespace.as_ref());
    }
    if let Some(k) = &auth.kubernetes {
        return k
            .secret_ref
            .as_ref()
            .is_some_and(|s| r(s.namespace.as_ref()))
            || k.service_account_ref
                .as_ref()
                .is_some_and(|s| r(s.namespace.as_ref()));
    }
    if let Some(l) = &auth.ldap {
        return l
            .secret_ref
            .as_ref()
            .is_some_and(|s| r(s.namespace.as_ref()));
    }
    if let Some(u) = &auth.user_pass {
        return u
            .secret_ref
            .as_ref()
            .is_some_and(|s| r(s.namespace.as_ref()));
    }
    if let Some(j) = &auth.jwt {
        return j
            .secret_ref
            .as_ref()
            .is_some_and(|s| r(s.namespace.as_ref()))
            || j.kubernetes_service_account_token
                .as_ref()
                .is_some_and(|t| r(t.service_account_ref.namespace.as_ref()));
    }
    if let Some(c) = &auth.cert {
        return c
            .secret_ref
            .as_ref()
            .is_some_and(|s| r(s.namespace.as_ref()));
    }
    false
}

#[async_trait]
impl Provider for VaultProvider {
    fn capabilities(&self) -> Capabilities {
        SecretStoreCapabilities::ReadWrite
    }

    async fn new_client(
        &self,
        ctx: &ClientContext,
    ) -> Result<Box<dyn SecretsClient>, ProviderError> {
        let cfg = ctx
            .store
            .spec
            .provider
            .vault
            .as_ref()
            .ok_or_else(|| invalid("missing store provider vault"))?;
        if cfg.server.trim().is_empty() {
            return Err(invalid("spec.provider.vault.server must be set"));
        }
        let check_and_set_required = cfg
            .check_and_set
            .as_ref()
            .and_then(|c| c.required)
            .unwrap_or(false);
        if check_and_set_required && cfg.effective_version() == VaultKVStoreVersion::V1 {
            return Err(invalid(
                "checkAndSet is not supported with Vault KV version v1",
            ));
        }
        let auth_cfg = cfg.auth.as_ref().ok_or_else(|| {
            invalid("cannot initialize Vault client: no valid auth method specified")
        })?;
        // The store controller validates a referent ClusterSecretStore without an object
        // namespace, where its credentials cannot be resolved: ESO reports ValidationUnknown.
        if ctx.store.kind == SecretStoreKind::ClusterSecretStore
            && ctx.object_namespace.is_empty()
            && referent(ctx, auth_cfg)
        {
            return Ok(Box::new(super::ReferentClient));
        }
        let identity = http::resolve_identity(ctx, cfg).await?;
        let conn = Connection::new(ctx, cfg, identity).await?;
        let auth = Authenticator::new(ctx, cfg)?;
        // Log in now, as ESO does, so bad credentials fail the client build.
        auth.token(&conn).await?;
        Ok(Box::new(VaultClient {
            conn,
            auth,
            kv: Kv {
                mount: cfg
                    .path
                    .as_deref()
                    .map(|p| p.trim_matches('/').to_string())
                    .filter(|p| !p.is_empty()),
                version: cfg.effective_version(),
            },
            check_and_set_required,
        }))
    }
}

/// A client for one Vault store, holding its login token.
pub(crate) struct VaultClient {
    conn: Connection,
    auth: Authenticator,
    kv: Kv,
    check_and_set_required: bool,
}

impl VaultClient {
    /// Sends an authenticated call; a 403 caused by a dead token is retried once with a fresh
    /// one.
    async fn send(&self, call: Call<'_>) -> Result<Option<Value>, ProviderError> {
        self.send_raw(call).await.map_err(ProviderError::from)
    }

    async fn send_raw(&self, call: Call<'_>) -> Result<Option<Value>, VaultError> {
        let token = self.auth.token(&self.conn).await.map_err(|e| VaultError {
            status: None,
            message: e.to_string(),
        })?;
        let retry = Call {
            name: call.name,
            method: call.method.clone(),
            path: call.path.clone(),
            token: None,
            namespace: call.namespace,
            query: call.query.clone(),
            body: call.body.clone(),
        };
        match self.conn.send(call.token(&token)).await {
            Err(e) if e.is_forbidden() => {
                let fresh =
                    self.auth
                        .recover(&self.conn, &token)
                        .await
                        .map_err(|le| VaultError {
                            status: None,
                            message: format!("{e} (re-login failed: {le})"),
                        })?;
                match fresh {
                    Some(fresh) => self.conn.send(retry.token(&fresh)).await,
                    None => Err(e),
                }
            }
            other => other,
        }
    }

    /// ESO's mount check: a configured `path` must be a KV mount of the configured version.
    /// Failures to read the mount (e.g. no permission on sys/internal) are not errors.
    async fn validate_mount(&self) -> Result<(), ProviderError> {
        let Some(mount) = &self.kv.mount else {
            return Ok(());
        };
        let call = Call::new(
            "ReadSecretData",
            Method::GET,
            format!("sys/internal/ui/mounts/{mount}"),
        );
        let data = match self.send_raw(call).await {
            Err(_) => return Ok(()),
            Ok(None) => return Err(invalid(format!("vault mount path {mount:?} was not found"))),
            Ok(Some(answer)) => answer.get("data").cloned().unwrap_or(Value::Null),
        };
        let kind = data
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("<missing>");
        if kind != "kv" {
            return Err(invalid(format!(
                "vault mount path {mount:?} is not a kv secret engine, got {kind:?}"
            )));
        }
        let got_v2 = match data.get("options").and_then(|o| o.get("version")) {
            Some(Value::String(v)) => v == "2",
            Some(Value::Number(n)) => n.as_u64() == Some(2),
            _ => false,
        };
        if got_v2 != self.kv.v2() {
            let name = |v2: bool| if v2 { "v2" } else { "v1" };
            return Err(invalid(format!(
                "vault mount path {mount:?} uses kv version {} but store is configured for kv version {}",
                name(got_v2),
                name(self.kv.v2())
            )));
        }
        Ok(())
    }
}

impl Drop for VaultClient {
    fn drop(&mut self) {
        // Clients leave the cache without close(); a login token left behind would stay valid
        // for its whole TTL (ESO#376), so it is revoked in the background.
        if let Some(token) = self.auth.take_for_drop()
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            let conn = self.conn.clone_for_background();
            handle.spawn(async move { auth::revoke_token(&conn, &token).await });
        }
    }
}

#[async_trait]
impl SecretsClient for VaultClient {
    async fn get_secret(
        &self,
        r: &ExternalSecretDataRemoteRef,
    ) -> Result<SecretValue, ProviderError> {
        self.get(r).await
    }

    async fn get_secret_map(
        &self,
        r: &ExternalSecretDataRemoteRef,
    ) -> Result<SecretMap, ProviderError> {
        self.get_map(r).await
    }

    async fn get_all_secrets(&self, find: &ExternalSecretFind) -> Result<SecretMap, ProviderError> {
        self.find(find).await
    }

    async fn push_secret(
        &self,
        secret: &Secret,
        data: &PushSecretData,
    ) -> Result<(), ProviderError> {
        self.push(secret, data).await
    }

    async fn delete_secret(&self, data: &PushSecretData) -> Result<(), ProviderError> {
        self.delete(data).await
    }

    async fn secret_exists(&self, data: &PushSecretData) -> Result<bool, ProviderError> {
        self.exists(data).await
    }

    async fn validate(&self) -> Result<ValidationResult, ProviderError> {
        // A login method proved the credentials when the client was built; a static token is
        // asked about itself.
        if self.auth.is_static() {
            self.auth
                .check(&self.conn)
                .await
                .map_err(|e| ProviderError::Other(format!("invalid vault credentials: {e}")))?;
        }
        self.validate_mount().await?;
        Ok(ValidationResult::Ready)
    }

    async fn close(&self) {
        self.auth.revoke(&self.conn).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_spec_type_is_the_store_field() {
        let spec: shared::api::v1::providers::vault::VaultProvider =
            serde_json::from_value(serde_json::json!({"server": "http://x"})).unwrap();
        assert_eq!(spec.effective_version(), VaultKVStoreVersion::V2);
    }
}
