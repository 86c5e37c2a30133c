//! Google access tokens for a store: a service-account JSON key (OAuth 2.0 JWT-bearer grant),
//! GKE Workload Identity and Workload Identity Federation (a subject token — Kubernetes
//! service-account token, external credential source or signed AWS request, see [`Subject`] —
//! exchanged at STS, optionally impersonating a Google service account through IAM
//! Credentials), or the metadata server (ambient credentials).
//!
//! Why not `gcp_auth`: its 0.12 releases build their own hyper-util client with hyper-rustls
//! and the platform root store (a second HTTP/TLS stack next to reqwest, and `ring` in its
//! default features), they offer no way to pass a client, a CA or an endpoint, and they do not
//! implement the STS exchange of a Kubernetes token that Workload Identity needs. Both grants
//! are small, documented protocols, so they are done here over the one reqwest client, with
//! the RS256 signature from aws-lc-rs. The key's own `token_uri` is honoured (as Google's
//! libraries do), which is also how tests reach a fake token endpoint.
//!
//! Tokens are cached and fetched again [`REFRESH_MARGIN`] before they expire; a 401 from the
//! API drops the cached token once.

use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rustls::pki_types::PrivatePkcs8KeyDer;
use rustls::pki_types::pem::PemObject;
use serde::Deserialize;
use serde_json::json;
use shared::secret_value::SecretValue;
use tokio::sync::Mutex;

use super::endpoints::check_url;
use super::subject::Subject;
use super::{CLOUD_PLATFORM_SCOPE, PROVIDER};
use crate::provider::ProviderError;
use crate::provider::metrics::record;

/// Fetch a new token when the cached one has less than this left.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(300);
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

fn invalid(msg: impl Into<String>) -> ProviderError {
    ProviderError::InvalidConfig(msg.into())
}

/// The fields of a service-account JSON key we use. No `Debug`: it holds the private key.
#[derive(Deserialize)]
pub(super) struct KeyFile {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    private_key_id: String,
    private_key: String,
    client_email: String,
    #[serde(default)]
    token_uri: Option<String>,
}

impl KeyFile {
    /// Parses a key without echoing any of it in errors.
    pub(super) fn parse(bytes: &[u8]) -> Result<KeyFile, ProviderError> {
        let key: KeyFile = serde_json::from_slice(bytes).map_err(|_| {
            invalid("the service account key is not a JSON key file (type service_account)")
        })?;
        if key.kind != "service_account" {
            return Err(invalid(format!(
                "the service account key has type {:?}, expected service_account",
                key.kind
            )));
        }
        Ok(key)
    }
}

/// Where tokens come from.
pub(super) enum Source {
    Key {
        email: String,
        key_id: String,
        key: RsaKeyPair,
        token_uri: String,
    },
    /// A subject token (Kubernetes, file, URL or AWS) exchanged at STS.
    Sts {
        subject: Subject,
        subject_token_type: String,
        sts_audience: String,
        sts_url: String,
        impersonate: Option<Impersonate>,
    },
    Metadata {
        base: String,
    },
}

/// A Google service account whose token is minted with the federated one (IAM Credentials).
pub(super) struct Impersonate {
    /// IAM Credentials base URL.
    pub base: String,
    pub email: String,
    /// Requested lifetime in seconds (Google's default, one hour, when unset).
    pub lifetime: Option<u64>,
}

impl Source {
    pub(super) fn from_key(key: KeyFile, default_token_uri: &str) -> Result<Source, ProviderError> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(key.private_key.as_bytes()).map_err(|_| {
            invalid("the service account key's private_key is not a PKCS#8 PEM key")
        })?;
        let pair = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
            .map_err(|_| invalid("the service account key's private_key is not an RSA key"))?;
        let token_uri = key
            .token_uri
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| default_token_uri.to_string());
        check_url(&token_uri, "token_uri of the service account key")?;
        Ok(Source::Key {
            email: key.client_email,
            key_id: key.private_key_id,
            key: pair,
            token_uri,
        })
    }
}

struct Cached {
    token: SecretValue,
    refresh_at: Instant,
}

/// A token source with its cache.
pub(super) struct Tokens {
    http: reqwest::Client,
    source: Source,
    cached: Mutex<Option<Cached>>,
}

#[derive(Deserialize)]
struct OAuthToken {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IamToken {
    access_token: String,
    expire_time: String,
}

/// The error text of a token endpoint answer: OAuth's `error`/`error_description` or Google's
/// `error.message`; never the request.
async fn token_error(what: &str, resp: reqwest::Response) -> ProviderError {
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    let detail = match (&body["error"], &body["error_description"]) {
        (serde_json::Value::String(e), d) => {
            format!("{e}: {}", d.as_str().unwrap_or_default())
        }
        (serde_json::Value::Object(_), _) => format!(
            "{}: {}",
            body["error"]["status"].as_str().unwrap_or_default(),
            body["error"]["message"].as_str().unwrap_or_default()
        ),
        _ => format!("HTTP {status}"),
    };
    invalid(format!(
        "unable to get a Google access token ({what}): {detail}"
    ))
}

fn transport(what: &str, e: reqwest::Error) -> ProviderError {
    ProviderError::Other(format!(
        "unable to get a Google access token ({what}): {}",
        e.without_url()
    ))
}

const FORM: &str = "application/x-www-form-urlencoded";

/// Counts one HTTP call under `call`: an error unless it was answered with a 2xx.
pub(super) fn counted(
    provider: &'static str,
    call: &'static str,
    resp: Result<reqwest::Response, reqwest::Error>,
) -> Result<reqwest::Response, reqwest::Error> {
    record(
        provider,
        call,
        matches!(&resp, Ok(r) if r.status().is_success()),
    );
    resp
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn lifetime(expires_in: Option<u64>) -> Duration {
    Duration::from_secs(expires_in.unwrap_or(3600))
}

impl Tokens {
    pub(super) fn new(http: reqwest::Client, source: Source) -> Tokens {
        Tokens {
            http,
            source,
            cached: Mutex::new(None),
        }
    }

    /// A valid access token, from the cache while it has [`REFRESH_MARGIN`] left.
    pub(super) async fn token(&self) -> Result<SecretValue, ProviderError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && Instant::now() < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        let (token, ttl) = self.fetch().await?;
        let refresh_at = Instant::now() + ttl.saturating_sub(REFRESH_MARGIN);
        *cached = Some(Cached {
            token: token.clone(),
            refresh_at,
        });
        Ok(token)
    }

    /// Forgets the cached token (after the API refused it).
    pub(super) async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    async fn fetch(&self) -> Result<(SecretValue, Duration), ProviderError> {
        match &self.source {
            Source::Key {
                email,
                key_id,
                key,
                token_uri,
            } => {
                let assertion = sign_assertion(email, key_id, key, token_uri)?;
                let resp = counted(
                    PROVIDER,
                    "GetToken",
                    self.http
                        .post(token_uri)
                        .header("content-type", FORM)
                        .body(form(&[
                            ("grant_type", JWT_BEARER),
                            ("assertion", &assertion),
                        ]))
                        .send()
                        .await,
                )
                .map_err(|e| transport("service account key", e))?;
                if !resp.status().is_success() {
                    return Err(token_error("service account key", resp).await);
                }
                let t: OAuthToken = resp
                    .json()
                    .await
                    .map_err(|e| transport("service account key", e))?;
                Ok((SecretValue::from(t.access_token), lifetime(t.expires_in)))
            }
            Source::Sts {
                subject,
                subject_token_type,
                sts_audience,
                sts_url,
                impersonate,
            } => {
                let subject = subject.token(&self.http, sts_audience).await?;
                let subject = subject.expose_str().unwrap_or_default().to_string();
                let resp = counted(
                    PROVIDER,
                    "ExchangeToken",
                    self.http
                        .post(sts_url)
                        .header("content-type", FORM)
                        .body(form(&[
                            ("grant_type", TOKEN_EXCHANGE),
                            ("audience", sts_audience.as_str()),
                            ("scope", CLOUD_PLATFORM_SCOPE),
                            ("requested_token_type", ACCESS_TOKEN_TYPE),
                            ("subject_token", subject.as_str()),
                            ("subject_token_type", subject_token_type.as_str()),
                        ]))
                        .send()
                        .await,
                )
                .map_err(|e| transport("STS token exchange", e))?;
                if !resp.status().is_success() {
                    return Err(token_error("STS token exchange", resp).await);
                }
                let federated: OAuthToken = resp
                    .json()
                    .await
                    .map_err(|e| transport("STS token exchange", e))?;
                match impersonate {
                    None => Ok((
                        SecretValue::from(federated.access_token),
                        lifetime(federated.expires_in),
                    )),
                    Some(imp) => self.impersonate(imp, &federated.access_token).await,
                }
            }
            Source::Metadata { base } => {
                let url =
                    format!("{base}/computeMetadata/v1/instance/service-accounts/default/token");
                let resp = counted(
                    PROVIDER,
                    "GetMetadataToken",
                    self.http
                        .get(&url)
                        .header("Metadata-Flavor", "Google")
                        .send()
                        .await,
                )
                .map_err(|e| transport("metadata server", e))?;
                if !resp.status().is_success() {
                    return Err(token_error("metadata server", resp).await);
                }
                let t: OAuthToken = resp
                    .json()
                    .await
                    .map_err(|e| transport("metadata server", e))?;
                Ok((SecretValue::from(t.access_token), lifetime(t.expires_in)))
            }
        }
    }

    async fn impersonate(
        &self,
        imp: &Impersonate,
        bearer: &str,
    ) -> Result<(SecretValue, Duration), ProviderError> {
        let (base, email) = (&imp.base, &imp.email);
        let url = format!("{base}/v1/projects/-/serviceAccounts/{email}:generateAccessToken");
        let mut body = json!({"scope": [CLOUD_PLATFORM_SCOPE]});
        if let Some(l) = imp.lifetime {
            body["lifetime"] = json!(format!("{l}s"));
        }
        let resp = counted(
            PROVIDER,
            "GenerateAccessToken",
            self.http
                .post(&url)
                .bearer_auth(bearer)
                .json(&body)
                .send()
                .await,
        )
        .map_err(|e| transport("impersonation", e))?;
        if !resp.status().is_success() {
            return Err(token_error(&format!("impersonating {email}"), resp).await);
        }
        let t: IamToken = resp
            .json()
            .await
            .map_err(|e| transport("impersonation", e))?;
        let ttl = chrono::DateTime::parse_from_rfc3339(&t.expire_time)
            .ok()
            .and_then(|exp| {
                (exp.with_timezone(&chrono::Utc) - chrono::Utc::now())
                    .to_std()
                    .ok()
            })
            .unwrap_or(Duration::from_secs(3600));
        Ok((SecretValue::from(t.access_token), ttl))
    }
}

/// The RS256-signed assertion of Google's "OAuth 2.0 for Server to Server Applications".
fn sign_assertion(
    email: &str,
    key_id: &str,
    key: &RsaKeyPair,
    token_uri: &str,
) -> Result<String, ProviderError> {
    let now = chrono::Utc::now().timestamp();
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": key_id});
    let claims = json!({
        "iss": email,
        "scope": CLOUD_PLATFORM_SCOPE,
        "aud": token_uri,
        "iat": now,
        "exp": now + 3600,
    });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut sig = vec![0u8; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .map_err(|_| invalid("unable to sign with the service account key"))?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}
