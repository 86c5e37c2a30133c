//! Logging in to Vault and keeping the token usable for the client's lifetime.
//!
//! Clients live in the controller's client cache for minutes, far longer than ESO's
//! per-reconcile clients, so a login token is checked before every call: when less than a third
//! of its lease (at most a minute) is left it is renewed if renewable, and re-obtained by a new
//! login otherwise. A 403 whose token turns out to be dead (lookup-self fails too) triggers one
//! re-login and a retry, so an expired or revoked token costs no failed sync; a 403 with a live
//! token is a policy denial and is returned as is. Static tokens (`tokenSecretRef`) are never
//! renewed or revoked — they belong to the user — but after a dead-token 403 the Secret is read
//! again in case it was rotated.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use shared::api::v1::providers::vault::{VaultAuth, VaultProvider};
use shared::secret_value::SecretValue;
use tokio::sync::Mutex;

use super::http::{Call, Connection, VaultError};
use crate::provider::{ClientContext, ProviderError, refs};

const SA_TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// A token and what is known about its lifetime.
#[derive(Clone)]
pub(super) struct Session {
    pub token: SecretValue,
    /// `None`: unknown or non-expiring (static tokens, root tokens).
    expires_at: Option<Instant>,
    lease: Duration,
    renewable: bool,
}

impl Session {
    fn needs_refresh(&self, now: Instant) -> bool {
        match self.expires_at {
            None => false,
            Some(at) => {
                let margin = (self.lease / 3).min(Duration::from_secs(60));
                now + margin >= at
            }
        }
    }
}

/// How the store logs in (`spec.provider.vault.auth`).
pub(super) struct Authenticator {
    ctx: ClientContext,
    auth: VaultAuth,
    /// Namespace for login calls (`auth.namespace`, else the store's).
    login_namespace: Option<String>,
    session: Mutex<Option<Session>>,
}

fn invalid(msg: impl Into<String>) -> ProviderError {
    ProviderError::InvalidConfig(msg.into())
}

fn path_or<'a>(path: &'a Option<String>, default: &'a str) -> &'a str {
    path.as_deref()
        .map(|p| p.trim_matches('/'))
        .filter(|p| !p.is_empty())
        .unwrap_or(default)
}

impl Authenticator {
    pub fn new(ctx: &ClientContext, cfg: &VaultProvider) -> Result<Self, ProviderError> {
        let auth = cfg.auth.clone().ok_or_else(|| {
            invalid("cannot initialize Vault client: no valid auth method specified")
        })?;
        let login_namespace = auth
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .or_else(|| cfg.namespace.clone().filter(|n| !n.is_empty()));
        Ok(Authenticator {
            ctx: ctx.clone(),
            auth,
            login_namespace,
            session: Mutex::new(None),
        })
    }

    /// Whether the token comes from a Secret rather than a login (never renewed/revoked).
    pub fn is_static(&self) -> bool {
        self.auth.token_secret_ref.is_some()
    }

    /// The current token, logging in or renewing first when needed.
    pub async fn token(&self, conn: &Connection) -> Result<SecretValue, ProviderError> {
        let mut guard = self.session.lock().await;
        let now = Instant::now();
        match guard.as_ref() {
            Some(s) if !s.needs_refresh(now) => return Ok(s.token.clone()),
            Some(s) if s.renewable && s.expires_at.is_some_and(|at| at > now) => {
                if let Some(renewed) = renew(conn, s).await {
                    let token = renewed.token.clone();
                    *guard = Some(renewed);
                    return Ok(token);
                }
            }
            _ => {}
        }
        let session = self.login(conn).await?;
        let token = session.token.clone();
        *guard = Some(session);
        Ok(token)
    }

    /// After a 403 with `stale`: if the token is dead, obtains a new one and returns it;
    /// `None` means the token is fine (a policy denial) or nothing new could be obtained.
    pub async fn recover(
        &self,
        conn: &Connection,
        stale: &SecretValue,
    ) -> Result<Option<SecretValue>, ProviderError> {
        let mut guard = self.session.lock().await;
        if let Some(current) = guard.as_ref()
            && current.token.as_bytes() != stale.as_bytes()
        {
            // Another task already replaced it.
            return Ok(Some(current.token.clone()));
        }
        if lookup_self(conn, stale).await.is_ok() {
            return Ok(None);
        }
        let session = self.login(conn).await?;
        if session.token.as_bytes() == stale.as_bytes() {
            return Ok(None);
        }
        let token = session.token.clone();
        *guard = Some(session);
        Ok(Some(token))
    }

    /// Revokes a login token (`close()`); static tokens are left alone.
    pub async fn revoke(&self, conn: &Connection) {
        if self.is_static() {
            return;
        }
        if let Some(session) = self.session.lock().await.take() {
            revoke_token(conn, &session.token).await;
        }
    }

    /// Takes the login token out for revocation elsewhere (the client is being dropped).
    pub fn take_for_drop(&self) -> Option<SecretValue> {
        if self.is_static() {
            return None;
        }
        self.session
            .try_lock()
            .ok()
            .and_then(|mut s| s.take())
            .map(|s| s.token)
    }

    /// The token's own view of itself; used by `validate()` for static tokens.
    pub async fn check(&self, conn: &Connection) -> Result<(), VaultError> {
        let token = match self.token(conn).await {
            Ok(t) => t,
            Err(e) => {
                return Err(VaultError {
                    status: None,
                    message: e.to_string(),
                });
            }
        };
        lookup_self(conn, &token).await.map(|_| ())
    }

    async fn login(&self, conn: &Connection) -> Result<Session, ProviderError> {
        let a = &self.auth;
        let ns = self.login_namespace.as_deref();
        if let Some(sel) = &a.token_secret_ref {
            let raw = refs::secret_key(&self.ctx, sel, None).await?;
            let token = raw
                .expose_str()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    invalid("the Vault token in tokenSecretRef is empty or not UTF-8")
                })?;
            return Ok(Session {
                token: SecretValue::from(token),
                expires_at: None,
                lease: Duration::ZERO,
                renewable: false,
            });
        }
        let (path, body) = if let Some(ar) = &a.app_role {
            let role_id = match (
                ar.role_id.as_deref().filter(|r| !r.is_empty()),
                &ar.role_ref,
            ) {
                (Some(id), _) => SecretValue::from(id.trim()),
                (None, Some(sel)) => refs::secret_key(&self.ctx, sel, None).await?,
                (None, None) => {
                    return Err(invalid(
                        "auth.appRole needs roleId or roleRef to know the role ID",
                    ));
                }
            };
            let secret_id = refs::secret_key(&self.ctx, &ar.secret_ref, None).await?;
            (
                format!("auth/{}/login", path_or(&ar.path, "approle")),
                json!({"role_id": text(&role_id)?.trim(), "secret_id": text(&secret_id)?.trim()}),
            )
        } else if let Some(k) = &a.kubernetes {
            let jwt = if let Some(sa) = &k.service_account_ref {
                refs::service_account_token(&self.ctx, sa, &[], Some(600)).await?
            } else if let Some(sel) = &k.secret_ref {
                refs::secret_key(&self.ctx, sel, Some("token")).await?
            } else {
                let bytes = tokio::fs::read(SA_TOKEN_PATH).await.map_err(|e| {
                    invalid(format!(
                        "cannot read Kubernetes service account token from file system: {e}"
                    ))
                })?;
                SecretValue::new(bytes)
            };
            (
                format!("auth/{}/login", path_or(&k.mount_path, "kubernetes")),
                json!({"role": k.role, "jwt": text(&jwt)?.trim()}),
            )
        } else if let Some(j) = &a.jwt {
            let jwt = if let Some(sel) = &j.secret_ref {
                refs::secret_key(&self.ctx, sel, None).await?
            } else if let Some(sat) = &j.kubernetes_service_account_token {
                let audiences = sat
                    .audiences
                    .clone()
                    .unwrap_or_else(|| vec!["vault".to_string()]);
                refs::service_account_token(
                    &self.ctx,
                    &sat.service_account_ref,
                    &audiences,
                    Some(sat.expiration_seconds.unwrap_or(600)),
                )
                .await?
            } else {
                return Err(invalid(
                    "neither `secretRef` nor `kubernetesServiceAccountToken` was supplied as token source for jwt authentication",
                ));
            };
            (
                format!("auth/{}/login", path_or(&j.path, "jwt")),
                json!({"role": j.role.as_deref().unwrap_or_default().trim(), "jwt": text(&jwt)?.trim()}),
            )
        } else if let Some(u) = &a.user_pass {
            let password = password(&self.ctx, u.secret_ref.as_ref(), "userPass").await?;
            (
                format!("auth/{}/login/{}", path_or(&u.path, "userpass"), u.username),
                json!({"password": text(&password)?}),
            )
        } else if let Some(l) = &a.ldap {
            let password = password(&self.ctx, l.secret_ref.as_ref(), "ldap").await?;
            (
                format!("auth/{}/login/{}", path_or(&l.path, "ldap"), l.username),
                json!({"password": text(&password)?}),
            )
        } else if let Some(c) = &a.cert {
            // The certificate itself travels in the TLS handshake (see http::resolve_identity).
            let body = match c.vault_role.as_deref().filter(|r| !r.is_empty()) {
                Some(role) => json!({"name": role}),
                None => json!({}),
            };
            (format!("auth/{}/login", path_or(&c.path, "cert")), body)
        } else if a.iam.is_some() || a.gcp.is_some() {
            return Err(ProviderError::NotSupported(
                "vault auth.iam / auth.gcp login",
            ));
        } else {
            return Err(invalid(
                "cannot initialize Vault client: no valid auth method specified",
            ));
        };
        let answer = conn
            .send(
                Call::new("Login", Method::POST, path)
                    .namespace(ns)
                    .body(body),
            )
            .await
            .map_err(|e| ProviderError::Other(format!("vault login failed: {e}")))?
            .ok_or_else(|| {
                ProviderError::Other("vault login failed: the auth method is not mounted".into())
            })?;
        session_from(&answer["auth"]).ok_or_else(|| {
            ProviderError::Other("vault login failed: the answer carries no client token".into())
        })
    }
}

async fn password(
    ctx: &ClientContext,
    sel: Option<&shared::api::meta::SecretKeySelector>,
    method: &str,
) -> Result<SecretValue, ProviderError> {
    let sel = sel.ok_or_else(|| invalid(format!("auth.{method}.secretRef is required")))?;
    refs::secret_key(ctx, sel, None).await
}

fn text(v: &SecretValue) -> Result<&str, ProviderError> {
    v.expose_str()
        .ok_or_else(|| invalid("a Vault credential is not valid UTF-8"))
}

/// Reads `auth` of a login/renew answer.
fn session_from(auth: &Value) -> Option<Session> {
    let token = auth
        .get("client_token")?
        .as_str()
        .filter(|t| !t.is_empty())?;
    let lease = auth
        .get("lease_duration")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let lease = Duration::from_secs(lease);
    Some(Session {
        token: SecretValue::from(token),
        expires_at: (!lease.is_zero()).then(|| Instant::now() + lease),
        lease,
        renewable: auth
            .get("renewable")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

/// `auth/token/renew-self`; `None` when the renewal failed or no longer extends the lease
/// enough (max TTL reached), so the caller logs in again.
async fn renew(conn: &Connection, s: &Session) -> Option<Session> {
    let answer = conn
        .send(Call::new("RenewSelf", Method::POST, "auth/token/renew-self").token(&s.token))
        .await
        .ok()??;
    let mut renewed = session_from(&answer["auth"])?;
    renewed.token = s.token.clone();
    let now = Instant::now();
    (!renewed.needs_refresh(now)).then_some(renewed)
}

pub(super) async fn lookup_self(
    conn: &Connection,
    token: &SecretValue,
) -> Result<Value, VaultError> {
    conn.send(Call::new("LookupSelf", Method::GET, "auth/token/lookup-self").token(token))
        .await?
        .ok_or(VaultError {
            status: Some(404),
            message: "token lookup answered 404".into(),
        })
}

pub(super) async fn revoke_token(conn: &Connection, token: &SecretValue) {
    let result = conn
        .send(Call::new("RevokeSelf", Method::POST, "auth/token/revoke-self").token(token))
        .await;
    if let Err(e) = result {
        tracing::debug!(error = %e, "vault token revocation failed");
    }
}
