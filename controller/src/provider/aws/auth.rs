//! Credentials of one store: a base identity (static keys, web identity from a ServiceAccount
//! token, or the SDK default chain), then `additionalRoles` and `role` assumed in order.
//!
//! The resolved credentials are cached in the [`Session`] and refreshed [`REFRESH_BEFORE`] their
//! expiry, so a client kept by the ClientCache never hands out expired credentials. Nothing is
//! assumed before the first call that needs it: building a client reads the credential Secrets
//! only.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, error::CredentialsError, future};
use aws_sdk_sts::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::Api;
use shared::api::meta::ServiceAccountSelector;
use shared::api::v1::SecretStoreKind;
use shared::api::v1::providers::aws::{AWSProvider, SessionTagsPolicy};
use tokio::sync::Mutex;

use super::error::describe;
use super::{Endpoints, PROVIDER_STS};
use crate::provider::metrics::observe;
use crate::provider::{ClientContext, ProviderError, refs};

/// Session name of every role this provider assumes.
pub const ROLE_SESSION_NAME: &str = "external-secrets-provider-aws";
/// Credentials are renewed this long before they expire.
pub const REFRESH_BEFORE: Duration = Duration::from_secs(300);

const ROLE_ARN_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
const AUDIENCE_ANNOTATION: &str = "eks.amazonaws.com/audience";
const DEFAULT_AUDIENCE: &str = "sts.amazonaws.com";

/// Whether the store's credentials are resolved in the namespace of each object (a
/// ClusterSecretStore whose references have no namespace).
pub(super) fn is_referent(ctx: &ClientContext, cfg: &AWSProvider) -> bool {
    let Some(auth) = &cfg.auth else {
        return false;
    };
    if let Some(sr) = &auth.secret_ref {
        return [
            sr.access_key_id_secret_ref.as_ref(),
            sr.secret_access_key_secret_ref.as_ref(),
        ]
        .into_iter()
        .flatten()
        .any(|s| refs::is_referent(ctx, s.namespace.as_deref()));
    }
    auth.jwt
        .as_ref()
        .and_then(|j| j.service_account_ref.as_ref())
        .is_some_and(|sa| refs::is_referent(ctx, sa.namespace.as_deref()))
}

/// Where the first credentials come from.
enum Base {
    Static(Credentials),
    /// A ServiceAccount token exchanged for the role in its annotation; a fresh token is
    /// requested for every exchange.
    WebIdentity {
        ctx: Box<ClientContext>,
        account: ServiceAccountSelector,
        role: String,
        audiences: Vec<String>,
    },
    /// The SDK default chain (environment, profile, container/instance metadata, IRSA files).
    Default(SharedCredentialsProvider),
}

/// One AssumeRole hop.
struct Hop {
    role: String,
    external_id: Option<String>,
    tags: Vec<(String, String)>,
    transitive_tag_keys: Vec<String>,
}

struct Inner {
    base: Base,
    hops: Vec<Hop>,
    region: Region,
    sts_endpoint: Option<String>,
    cached: Mutex<Option<Credentials>>,
}

/// The credentials of one store, shared by its service clients.
#[derive(Clone)]
pub(super) struct Session {
    inner: Arc<Inner>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Roles are not secret; keys are never printed.
        f.debug_struct("Session")
            .field("region", &self.inner.region)
            .field(
                "roles",
                &self.inner.hops.iter().map(|h| &h.role).collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn session_tags(ctx: &ClientContext, cfg: &AWSProvider) -> Vec<(String, String)> {
    match cfg.effective_session_tags_policy() {
        SessionTagsPolicy::None => cfg
            .session_tags
            .iter()
            .flatten()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect(),
        policy => {
            let kind = match ctx.store.kind {
                SecretStoreKind::ClusterSecretStore => "ClusterSecretStore",
                _ => "SecretStore",
            };
            let namespace = ctx
                .store
                .namespace
                .clone()
                .unwrap_or_else(|| ctx.object_namespace.clone());
            let mut tags = vec![
                ("esoNamespace".to_string(), namespace),
                ("esoStoreName".to_string(), ctx.store.name.clone()),
                ("esoStoreKind".to_string(), kind.to_string()),
            ];
            if policy == SessionTagsPolicy::Custom {
                tags.extend(
                    cfg.custom_session_tags
                        .iter()
                        .flatten()
                        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
                        .map(|(k, v)| (k.clone(), v.clone())),
                );
            }
            tags
        }
    }
}

fn text(value: shared::secret_value::SecretValue, what: &str) -> Result<String, ProviderError> {
    String::from_utf8(value.into_vec())
        .map(|s| s.trim().to_string())
        .map_err(|_| ProviderError::InvalidConfig(format!("{what} is not valid UTF-8")))
}

async fn base(ctx: &ClientContext, cfg: &AWSProvider) -> Result<Base, ProviderError> {
    let auth = cfg.auth.clone().unwrap_or_default();
    if let Some(jwt) = &auth.jwt {
        let account = jwt.service_account_ref.clone().ok_or_else(|| {
            ProviderError::InvalidConfig("auth.jwt.serviceAccountRef is required".into())
        })?;
        let ns = refs::reference_namespace(ctx, account.namespace.as_deref())?;
        let sa = Api::<ServiceAccount>::namespaced(ctx.kube.clone(), &ns)
            .get(&account.name)
            .await
            .map_err(|e| {
                ProviderError::InvalidConfig(format!(
                    "cannot get service account {ns}/{}: {e}",
                    account.name
                ))
            })?;
        let annotations = sa.metadata.annotations.unwrap_or_default();
        let role = annotations
            .get(ROLE_ARN_ANNOTATION)
            .filter(|r| !r.is_empty())
            .cloned()
            .ok_or_else(|| {
                ProviderError::InvalidConfig(format!(
                    "an IAM role must be associated with service account {} (namespace: {ns}): annotation {ROLE_ARN_ANNOTATION} is missing",
                    account.name
                ))
            })?;
        // The role comes from the cluster, not the store spec, so admission never saw it.
        ctx.check_role(&role).await?;
        let audience = annotations
            .get(AUDIENCE_ANNOTATION)
            .filter(|a| !a.is_empty())
            .cloned()
            .unwrap_or_else(|| DEFAULT_AUDIENCE.to_string());
        return Ok(Base::WebIdentity {
            ctx: Box::new(ctx.clone()),
            account,
            role,
            audiences: vec![audience],
        });
    }
    if let Some(sr) = &auth.secret_ref {
        let missing =
            |f: &str| ProviderError::InvalidConfig(format!("auth.secretRef.{f} is required"));
        let id_ref = sr
            .access_key_id_secret_ref
            .as_ref()
            .ok_or_else(|| missing("accessKeyIDSecretRef"))?;
        let key_ref = sr
            .secret_access_key_secret_ref
            .as_ref()
            .ok_or_else(|| missing("secretAccessKeySecretRef"))?;
        let key = text(
            refs::secret_key(ctx, key_ref, None)
                .await
                .map_err(|e| prefixed("could not fetch SecretAccessKey secret", e))?,
            "the secret access key",
        )?;
        let id = text(
            refs::secret_key(ctx, id_ref, None)
                .await
                .map_err(|e| prefixed("could not fetch accessKeyID secret", e))?,
            "the access key id",
        )?;
        let token = match &sr.session_token_secret_ref {
            None => None,
            Some(t) => Some(text(
                refs::secret_key(ctx, t, None)
                    .await
                    .map_err(|e| prefixed("could not fetch SessionToken secret", e))?,
                "the session token",
            )?),
        };
        return Ok(Base::Static(Credentials::new(
            id,
            key,
            token.filter(|t| !t.is_empty()),
            None,
            "secretRef",
        )));
    }
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(cfg.region.clone()))
        .load()
        .await;
    let provider = sdk.credentials_provider().ok_or_else(|| {
        ProviderError::InvalidConfig("no AWS credentials found in the default chain".into())
    })?;
    Ok(Base::Default(provider))
}

fn prefixed(what: &str, e: ProviderError) -> ProviderError {
    match e {
        ProviderError::InvalidConfig(m) => ProviderError::InvalidConfig(format!("{what}: {m}")),
        other => other,
    }
}

impl Session {
    /// Reads the store's credential references; assumes nothing yet.
    pub(super) async fn new(
        ctx: &ClientContext,
        cfg: &AWSProvider,
        endpoints: &Endpoints,
    ) -> Result<Self, ProviderError> {
        let base = base(ctx, cfg).await?;
        let mut hops: Vec<Hop> = cfg
            .additional_roles
            .iter()
            .flatten()
            .filter(|r| !r.is_empty())
            .map(|r| Hop {
                role: r.clone(),
                external_id: None,
                tags: Vec::new(),
                transitive_tag_keys: Vec::new(),
            })
            .collect();
        if let Some(role) = cfg.role.as_ref().filter(|r| !r.is_empty()) {
            hops.push(Hop {
                role: role.clone(),
                external_id: cfg.external_id.clone().filter(|e| !e.is_empty()),
                tags: session_tags(ctx, cfg),
                transitive_tag_keys: cfg.transitive_tag_keys.clone().unwrap_or_default(),
            });
        }
        Ok(Session {
            inner: Arc::new(Inner {
                base,
                hops,
                region: Region::new(cfg.region.clone()),
                sts_endpoint: endpoints.sts.clone(),
                cached: Mutex::new(None),
            }),
        })
    }

    /// The store's region.
    pub(super) fn region(&self) -> Region {
        self.inner.region.clone()
    }

    /// A credentials provider backed by this session's cache.
    pub(super) fn provider(&self) -> SharedCredentialsProvider {
        SharedCredentialsProvider::new(self.clone())
    }

    fn sts(&self, creds: Option<Credentials>) -> aws_sdk_sts::Client {
        let mut b = aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(self.inner.region.clone());
        b.set_endpoint_url(self.inner.sts_endpoint.clone());
        if let Some(c) = creds {
            b = b.credentials_provider(c);
        }
        aws_sdk_sts::Client::from_conf(b.build())
    }

    /// An STS client signing with this session's credentials.
    pub(super) fn sts_client(&self) -> aws_sdk_sts::Client {
        let mut b = aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(self.inner.region.clone())
            .credentials_provider(self.provider());
        b.set_endpoint_url(self.inner.sts_endpoint.clone());
        aws_sdk_sts::Client::from_conf(b.build())
    }

    /// The final credentials, from the cache while they have more than [`REFRESH_BEFORE`] left.
    pub(super) async fn credentials(&self) -> Result<Credentials, ProviderError> {
        let mut cached = self.inner.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && fresh(c)
        {
            return Ok(c.clone());
        }
        let creds = self.resolve().await?;
        *cached = Some(creds.clone());
        Ok(creds)
    }

    async fn resolve(&self) -> Result<Credentials, ProviderError> {
        let mut creds = match &self.inner.base {
            Base::Static(c) => c.clone(),
            Base::Default(p) => p.provide_credentials().await.map_err(|e| {
                ProviderError::Other(format!(
                    "cannot load credentials from the default chain: {}",
                    aws_sdk_sts::error::DisplayErrorContext(&e)
                ))
            })?,
            Base::WebIdentity {
                ctx,
                account,
                role,
                audiences,
            } => {
                let token = refs::service_account_token(ctx, account, audiences, None).await?;
                let token = String::from_utf8(token.into_vec()).map_err(|_| {
                    ProviderError::Other("service account token is not valid UTF-8".into())
                })?;
                let out = observe(
                    PROVIDER_STS,
                    "AssumeRoleWithWebIdentity",
                    self.sts(None)
                        .assume_role_with_web_identity()
                        .role_arn(role)
                        .role_session_name(ROLE_SESSION_NAME)
                        .web_identity_token(token)
                        .send()
                        .await,
                )
                .map_err(|e| describe("AssumeRoleWithWebIdentity", &e))?;
                sts_credentials(out.credentials(), role)?
            }
        };
        for hop in &self.inner.hops {
            let mut req = self
                .sts(Some(creds))
                .assume_role()
                .role_arn(&hop.role)
                .role_session_name(ROLE_SESSION_NAME)
                .set_external_id(hop.external_id.clone());
            for (k, v) in &hop.tags {
                let tag = aws_sdk_sts::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .map_err(|e| ProviderError::InvalidConfig(format!("session tag {k:?}: {e}")))?;
                req = req.tags(tag);
            }
            if !hop.tags.is_empty() {
                for k in &hop.transitive_tag_keys {
                    req = req.transitive_tag_keys(k);
                }
            }
            let out = observe(PROVIDER_STS, "AssumeRole", req.send().await)
                .map_err(|e| describe(&format!("AssumeRole {}", hop.role), &e))?;
            creds = sts_credentials(out.credentials(), &hop.role)?;
        }
        Ok(creds)
    }
}

fn fresh(c: &Credentials) -> bool {
    match c.expiry() {
        None => true,
        Some(expiry) => expiry
            .duration_since(SystemTime::now())
            .is_ok_and(|left| left > REFRESH_BEFORE),
    }
}

fn sts_credentials(
    c: Option<&aws_sdk_sts::types::Credentials>,
    role: &str,
) -> Result<Credentials, ProviderError> {
    let c = c.ok_or_else(|| {
        ProviderError::Other(format!("assuming role {role} returned no credentials"))
    })?;
    let expiry = SystemTime::try_from(*c.expiration()).ok();
    Ok(Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        expiry,
        "AssumeRole",
    ))
}

impl ProvideCredentials for Session {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            self.credentials()
                .await
                .map_err(|e| CredentialsError::provider_error(e.to_string()))
        })
    }
}
