//! Microsoft Entra ID tokens for Key Vault: service principal (client secret or certificate),
//! managed identity (IMDS) and workload identity (federated ServiceAccount token), for the public
//! and sovereign clouds or a `customCloudConfig`. Tokens are cached and refreshed before expiry.

use std::sync::RwLock;
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::Api;
use rustls::pki_types::pem::{PemObject, SectionKind};
use serde::Deserialize;
use shared::api::meta::ServiceAccountSelector;
use shared::api::v1::providers::azurekv::{AzureAuthType, AzureEnvironmentType, AzureKVProvider};
use shared::secret_value::SecretValue;
use tokio::sync::Mutex;

use super::PROVIDER;
use crate::provider::metrics::record;
use crate::provider::{ClientContext, ProviderError, refs};

/// Audience of federated ServiceAccount tokens, as Entra ID expects them.
pub const FEDERATED_AUDIENCE: &str = "api://AzureADTokenExchange";
pub const ANNOTATION_CLIENT_ID: &str = "azure.workload.identity/client-id";
pub const ANNOTATION_TENANT_ID: &str = "azure.workload.identity/tenant-id";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Refresh this long before a token expires (Azure SDKs use five minutes).
const REFRESH_MARGIN: Duration = Duration::from_secs(300);
const DEFAULT_IMDS: &str = "http://169.254.169.254";

static IMDS_OVERRIDE: RwLock<Option<String>> = RwLock::new(None);

/// Overrides the IMDS endpoint for managed identities, process-wide (the Azure SDKs read
/// `AZURE_POD_IDENTITY_AUTHORITY_HOST` for the same purpose, which is also honoured).
pub fn set_imds_endpoint(url: Option<String>) {
    if let Ok(mut g) = IMDS_OVERRIDE.write() {
        *g = url;
    }
}

fn imds_endpoint() -> String {
    IMDS_OVERRIDE
        .read()
        .ok()
        .and_then(|g| g.clone())
        .or_else(|| std::env::var("AZURE_POD_IDENTITY_AUTHORITY_HOST").ok())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_IMDS.into())
        .trim_end_matches('/')
        .to_string()
}

/// Authority host and Key Vault audience of the store's cloud.
#[derive(Clone, Debug)]
pub struct Cloud {
    pub authority: String,
    pub resource: String,
}

/// `https://` anywhere; plain `http://` only for loopback hosts (local tests, sidecars).
pub fn check_url(what: &str, url: &str) -> Result<reqwest::Url, ProviderError> {
    let u = reqwest::Url::parse(url)
        .map_err(|e| ProviderError::InvalidConfig(format!("invalid {what} {url:?}: {e}")))?;
    let host = u.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match u.scheme() {
        "https" => Ok(u),
        "http" if loopback => Ok(u),
        _ => Err(ProviderError::InvalidConfig(format!(
            "{what} {url:?} must use https (plain http is only allowed for loopback hosts)"
        ))),
    }
}

pub fn cloud(cfg: &AzureKVProvider) -> Result<Cloud, ProviderError> {
    let env = cfg.effective_environment_type();
    if let Some(cc) = &cfg.custom_cloud_config {
        if cfg.use_azure_sdk != Some(true) {
            return Err(ProviderError::InvalidConfig(
                "CustomCloudConfig requires UseAzureSDK to be set to true".into(),
            ));
        }
        if cc.active_directory_endpoint.is_empty() {
            return Err(ProviderError::InvalidConfig(
                "activeDirectoryEndpoint is required in CustomCloudConfig".into(),
            ));
        }
        check_url("activeDirectoryEndpoint", &cc.active_directory_endpoint)?;
        let resource = match (&cc.key_vault_endpoint, &cc.key_vault_dns_suffix) {
            (Some(ep), _) if !ep.is_empty() => ep.clone(),
            (_, Some(sfx)) if !sfx.is_empty() => format!("https://{}", sfx.trim_start_matches('.')),
            _ => builtin(env).map(|c| c.resource).unwrap_or_default(),
        };
        if resource.is_empty() {
            return Err(ProviderError::InvalidConfig(
                "customCloudConfig needs keyVaultEndpoint or keyVaultDNSSuffix for AzureStackCloud"
                    .into(),
            ));
        }
        return Ok(Cloud {
            authority: cc.active_directory_endpoint.trim_end_matches('/').into(),
            resource: resource.trim_end_matches('/').into(),
        });
    }
    builtin(env).ok_or_else(|| {
        ProviderError::InvalidConfig(
            "CustomCloudConfig must be provided when EnvironmentType is AzureStackCloud".into(),
        )
    })
}

fn builtin(env: AzureEnvironmentType) -> Option<Cloud> {
    let (authority, resource) = match env {
        AzureEnvironmentType::PublicCloud => (
            "https://login.microsoftonline.com",
            "https://vault.azure.net",
        ),
        AzureEnvironmentType::USGovernmentCloud => (
            "https://login.microsoftonline.us",
            "https://vault.usgovcloudapi.net",
        ),
        AzureEnvironmentType::ChinaCloud => {
            ("https://login.chinacloudapi.cn", "https://vault.azure.cn")
        }
        AzureEnvironmentType::GermanCloud => (
            "https://login.microsoftonline.de",
            "https://vault.microsoftazure.de",
        ),
        AzureEnvironmentType::AzureStackCloud => return None,
    };
    Some(Cloud {
        authority: authority.into(),
        resource: resource.into(),
    })
}

/// How tokens are obtained.
enum Grant {
    Secret {
        tenant: String,
        client_id: String,
        secret: SecretValue,
    },
    Certificate {
        tenant: String,
        client_id: String,
        key: RsaKeyPair,
        thumbprint: Vec<u8>,
    },
    ManagedIdentity {
        identity: Option<String>,
    },
    /// A federated ServiceAccount token, requested anew for every Entra ID token.
    Federated {
        tenant: String,
        client_id: String,
        source: FederatedSource,
    },
}

enum FederatedSource {
    ServiceAccount(Box<ClientContext>, ServiceAccountSelector),
    File(String),
}

struct Cached {
    token: SecretValue,
    refresh_at: Instant,
}

/// Obtains and caches access tokens for one store.
pub struct TokenSource {
    http: reqwest::Client,
    cloud: Cloud,
    grant: Grant,
    cache: Mutex<Option<Cached>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct AadError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

fn tenant_of(
    cfg: &AzureKVProvider,
    from_secret: Option<String>,
    from_sa: Option<String>,
) -> Result<String, ProviderError> {
    let found: Vec<String> = [cfg.tenant_id.clone(), from_secret, from_sa]
        .into_iter()
        .flatten()
        .filter(|t| !t.is_empty())
        .collect();
    match found.as_slice() {
        [] => Err(ProviderError::InvalidConfig(
            "missing tenantID in store config".into(),
        )),
        [first, rest @ ..] if rest.iter().all(|t| t == first) => Ok(first.clone()),
        _ => Err(ProviderError::InvalidConfig(
            "multiple tenantID found. Check secretRef, 'spec.provider.azurekv.tenantId', and serviceAccountRef".into(),
        )),
    }
}

async fn secret_string(
    ctx: &ClientContext,
    sel: &shared::api::meta::SecretKeySelector,
) -> Result<String, ProviderError> {
    let v = refs::secret_key(ctx, sel, None).await?;
    v.expose_str()
        .map(|s| s.trim().to_string())
        .ok_or_else(|| ProviderError::InvalidConfig("credential is not valid UTF-8".into()))
}

/// PEM certificate + RSA private key ⇒ signing key and SHA-1 thumbprint of the certificate.
fn certificate_credential(pem: &[u8]) -> Result<(RsaKeyPair, Vec<u8>), ProviderError> {
    let mut cert = None;
    let mut key = None;
    for item in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem) {
        let (kind, der) = item.map_err(|_| {
            ProviderError::InvalidConfig("clientCertificate is not valid PEM".into())
        })?;
        match kind {
            SectionKind::Certificate if cert.is_none() => cert = Some(der),
            SectionKind::PrivateKey => key = RsaKeyPair::from_pkcs8(&der).ok(),
            SectionKind::RsaPrivateKey => key = RsaKeyPair::from_der(&der).ok(),
            _ => {}
        }
    }
    let cert = cert.ok_or_else(|| {
        ProviderError::InvalidConfig("clientCertificate contains no CERTIFICATE block".into())
    })?;
    let key = key.ok_or_else(|| {
        ProviderError::InvalidConfig(
            "clientCertificate contains no RSA private key (PKCS#1 or PKCS#8 PEM)".into(),
        )
    })?;
    let thumb = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &cert);
    Ok((key, thumb.as_ref().to_vec()))
}

impl TokenSource {
    /// Resolves the store's credentials (reads Secrets and ServiceAccounts, no token yet).
    pub async fn new(
        ctx: &ClientContext,
        cfg: &AzureKVProvider,
        http: reqwest::Client,
    ) -> Result<TokenSource, ProviderError> {
        let cloud = cloud(cfg)?;
        let grant = match cfg.effective_auth_type() {
            AzureAuthType::ServicePrincipal => {
                let auth = cfg.auth_secret_ref.as_ref().ok_or_else(|| {
                    ProviderError::InvalidConfig("missing secretRef in provider config".into())
                })?;
                let client_id = match &auth.client_id {
                    Some(sel) => secret_string(ctx, sel).await?,
                    None => {
                        return Err(ProviderError::InvalidConfig(
                            "missing clientID in store config".into(),
                        ));
                    }
                };
                let secret_tenant = match &auth.tenant_id {
                    Some(sel) => Some(secret_string(ctx, sel).await?),
                    None => None,
                };
                let tenant = tenant_of(cfg, secret_tenant, None)?;
                match (&auth.client_secret, &auth.client_certificate) {
                    (Some(sel), None) => Grant::Secret {
                        tenant,
                        client_id,
                        secret: refs::secret_key(ctx, sel, None).await?,
                    },
                    (None, Some(sel)) => {
                        let pem = refs::secret_key(ctx, sel, None).await?;
                        let (key, thumbprint) = certificate_credential(pem.as_bytes())?;
                        Grant::Certificate {
                            tenant,
                            client_id,
                            key,
                            thumbprint,
                        }
                    }
                    (None, None) => {
                        return Err(ProviderError::InvalidConfig(
                            "missing clientSecret or clientCertificate in store config".into(),
                        ));
                    }
                    (Some(_), Some(_)) => {
                        return Err(ProviderError::InvalidConfig(
                            "at most one of clientSecret or clientCertificate can be set".into(),
                        ));
                    }
                }
            }
            AzureAuthType::ManagedIdentity => Grant::ManagedIdentity {
                identity: cfg.identity_id.clone().filter(|i| !i.is_empty()),
            },
            AzureAuthType::WorkloadIdentity => workload_identity(ctx, cfg).await?,
        };
        Ok(TokenSource {
            http,
            cloud,
            grant,
            cache: Mutex::new(None),
        })
    }

    /// A valid access token, from the cache unless it is about to expire.
    pub async fn token(&self) -> Result<SecretValue, ProviderError> {
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.as_ref()
            && Instant::now() < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        let (token, lifetime) = self.fetch().await?;
        // Short-lived tokens (tests, some sidecars) refresh at half their lifetime.
        let margin = REFRESH_MARGIN.min(lifetime / 2);
        *cache = Some(Cached {
            token: token.clone(),
            refresh_at: Instant::now() + lifetime.saturating_sub(margin),
        });
        Ok(token)
    }

    /// Forgets the cached token (after the vault refused it).
    pub async fn invalidate(&self) {
        *self.cache.lock().await = None;
    }

    async fn fetch(&self) -> Result<(SecretValue, Duration), ProviderError> {
        let scope = format!("{}/.default", self.cloud.resource);
        let result = match &self.grant {
            Grant::ManagedIdentity { identity } => self.imds(identity.as_deref()).await,
            Grant::Secret {
                tenant,
                client_id,
                secret,
            } => {
                let secret = secret.expose_str().ok_or_else(|| {
                    ProviderError::InvalidConfig("clientSecret is not valid UTF-8".into())
                })?;
                self.post_token(
                    tenant,
                    &[
                        ("grant_type", "client_credentials"),
                        ("client_id", client_id),
                        ("client_secret", secret.trim()),
                        ("scope", &scope),
                    ],
                )
                .await
            }
            Grant::Certificate {
                tenant,
                client_id,
                key,
                thumbprint,
            } => {
                let aud = self.token_url(tenant);
                let assertion = sign_assertion(key, thumbprint, client_id, &aud)?;
                self.post_token(
                    tenant,
                    &[
                        ("grant_type", "client_credentials"),
                        ("client_id", client_id),
                        ("client_assertion_type", ASSERTION_TYPE),
                        ("client_assertion", &assertion),
                        ("scope", &scope),
                    ],
                )
                .await
            }
            Grant::Federated {
                tenant,
                client_id,
                source,
            } => {
                let assertion = match source {
                    FederatedSource::ServiceAccount(ctx, sel) => {
                        refs::service_account_token(
                            ctx,
                            sel,
                            &[FEDERATED_AUDIENCE.to_string()],
                            None,
                        )
                        .await?
                    }
                    FederatedSource::File(path) => {
                        SecretValue::new(tokio::fs::read(path).await.map_err(|e| {
                            ProviderError::InvalidConfig(format!(
                                "cannot read federated token file {path:?}: {e}"
                            ))
                        })?)
                    }
                };
                let assertion = assertion.expose_str().map(str::trim).unwrap_or_default();
                self.post_token(
                    tenant,
                    &[
                        ("grant_type", "client_credentials"),
                        ("client_id", client_id),
                        ("client_assertion_type", ASSERTION_TYPE),
                        ("client_assertion", assertion),
                        ("scope", &scope),
                    ],
                )
                .await
            }
        };
        record(PROVIDER, "GetToken", result.is_ok());
        result
    }

    fn token_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/token", self.cloud.authority)
    }

    async fn post_token(
        &self,
        tenant: &str,
        form: &[(&str, &str)],
    ) -> Result<(SecretValue, Duration), ProviderError> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let resp = self
            .http
            .post(self.token_url(tenant))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| {
                ProviderError::Other(format!("token request failed: {}", e.without_url()))
            })?;
        parse_token(resp).await
    }

    async fn imds(&self, identity: Option<&str>) -> Result<(SecretValue, Duration), ProviderError> {
        let mut url = reqwest::Url::parse(&format!(
            "{}/metadata/identity/oauth2/token",
            imds_endpoint()
        ))
        .map_err(|e| ProviderError::InvalidConfig(format!("invalid IMDS endpoint: {e}")))?;
        url.query_pairs_mut()
            .append_pair("api-version", "2018-02-01")
            .append_pair("resource", &self.cloud.resource);
        if let Some(id) = identity {
            // An ARM resource id selects the identity by resource, anything else by client id.
            let param = if id.starts_with("/subscriptions/") {
                "mi_res_id"
            } else {
                "client_id"
            };
            url.query_pairs_mut().append_pair(param, id);
        }
        let resp = self
            .http
            .get(url)
            .header("Metadata", "true")
            .send()
            .await
            .map_err(|e| {
                ProviderError::Other(format!(
                    "managed identity token request failed: {}",
                    e.without_url()
                ))
            })?;
        parse_token(resp).await
    }
}

async fn parse_token(resp: reqwest::Response) -> Result<(SecretValue, Duration), ProviderError> {
    let status = resp.status();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| ProviderError::Other(format!("token response: {}", e.without_url())))?;
    if !status.is_success() {
        let e: AadError = serde_json::from_slice(&bytes).unwrap_or(AadError {
            error: String::new(),
            error_description: String::new(),
        });
        let first_line = e
            .error_description
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        return Err(ProviderError::Other(format!(
            "failed to obtain an Entra ID token: HTTP {} {}: {first_line}",
            status.as_u16(),
            e.error
        )));
    }
    let t: TokenResponse = serde_json::from_slice(&bytes)
        .map_err(|_| ProviderError::Other("token response is not valid JSON".into()))?;
    // IMDS sends numbers as strings.
    let secs = match t.expires_in {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .unwrap_or(300);
    Ok((SecretValue::from(t.access_token), Duration::from_secs(secs)))
}

/// RS256 client assertion per the identity platform's certificate credential format.
fn sign_assertion(
    key: &RsaKeyPair,
    thumbprint: &[u8],
    client_id: &str,
    aud: &str,
) -> Result<String, ProviderError> {
    let now = chrono::Utc::now().timestamp();
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t": URL_SAFE_NO_PAD.encode(thumbprint)});
    let claims = serde_json::json!({
        "aud": aud, "iss": client_id, "sub": client_id,
        "jti": uuid::Uuid::new_v4().to_string(), "nbf": now, "iat": now, "exp": now + 600,
    });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut sig = vec![0; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .map_err(|_| ProviderError::Other("cannot sign the client assertion".into()))?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

async fn workload_identity(
    ctx: &ClientContext,
    cfg: &AzureKVProvider,
) -> Result<Grant, ProviderError> {
    let secret_client = match cfg
        .auth_secret_ref
        .as_ref()
        .and_then(|a| a.client_id.as_ref())
    {
        Some(sel) => Some(secret_string(ctx, sel).await?),
        None => None,
    };
    let secret_tenant = match cfg
        .auth_secret_ref
        .as_ref()
        .and_then(|a| a.tenant_id.as_ref())
    {
        Some(sel) => Some(secret_string(ctx, sel).await?),
        None => None,
    };
    let Some(sel) = &cfg.service_account_ref else {
        // The controller's own workload identity, as injected by the webhook of
        // azure-workload-identity.
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let client_id = secret_client
            .or_else(|| env("AZURE_CLIENT_ID"))
            .ok_or_else(|| {
                ProviderError::InvalidConfig(
                    "missing clientID: set serviceAccountRef or AZURE_CLIENT_ID".into(),
                )
            })?;
        let tenant = tenant_of(cfg, secret_tenant, env("AZURE_TENANT_ID"))?;
        let file = env("AZURE_FEDERATED_TOKEN_FILE").ok_or_else(|| {
            ProviderError::InvalidConfig(
                "missing serviceAccountRef and AZURE_FEDERATED_TOKEN_FILE".into(),
            )
        })?;
        return Ok(Grant::Federated {
            tenant,
            client_id,
            source: FederatedSource::File(file),
        });
    };
    let ns = refs::reference_namespace(ctx, sel.namespace.as_deref())?;
    let sa = Api::<ServiceAccount>::namespaced(ctx.kube.clone(), &ns)
        .get(&sel.name)
        .await
        .map_err(|e| {
            ProviderError::InvalidConfig(format!(
                "cannot get service account {ns}/{}: {e}",
                sel.name
            ))
        })?;
    let ann = sa.metadata.annotations.unwrap_or_default();
    let sa_client = ann
        .get(ANNOTATION_CLIENT_ID)
        .cloned()
        .filter(|s| !s.is_empty());
    let client_id = match (sa_client, secret_client) {
        (Some(_), Some(_)) => {
            return Err(ProviderError::InvalidConfig(
                "multiple clientID found. Check secretRef and serviceAccountRef".into(),
            ));
        }
        (Some(c), None) | (None, Some(c)) => c,
        (None, None) => {
            return Err(ProviderError::InvalidConfig(format!(
                "missing clientID: either serviceAccountRef or service account annotation '{ANNOTATION_CLIENT_ID}' is missing"
            )));
        }
    };
    // As the workload identity webhook does, AZURE_TENANT_ID is the last resort.
    let mut sa_tenant = ann.get(ANNOTATION_TENANT_ID).cloned();
    if sa_tenant.is_none()
        && secret_tenant.is_none()
        && cfg.tenant_id.as_deref().is_none_or(str::is_empty)
    {
        sa_tenant = std::env::var("AZURE_TENANT_ID").ok();
    }
    let tenant = tenant_of(cfg, secret_tenant, sa_tenant)?;
    Ok(Grant::Federated {
        tenant,
        client_id,
        source: FederatedSource::ServiceAccount(Box::new(ctx.clone()), sel.clone()),
    })
}
