//! AWS credentials as the external identity of Workload Identity Federation: the subject token
//! is a SigV4-signed `GetCallerIdentity` request that Google's STS replays against AWS, as
//! Google's "Workload Identity Federation with AWS" documents it: the URL-encoded JSON of
//! `{url, method: "POST", headers: [{key, value}…]}`, with the pool provider's resource name
//! signed in as `x-goog-cloud-target-resource`.
//!
//! Keys come from a Secret (`awsSecurityCredentials`, ESO's key names) or, for a `credConfig`
//! with an `aws1` source, from the controller's environment or the EC2 instance metadata
//! service (IMDSv2 when the config names a session token URL), in the order Google's client
//! libraries use. Keys are read again for every token, so rotated ones are picked up.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use reqwest::Url;
use serde::Deserialize;
use serde_json::json;
use shared::secret_value::SecretValue;

use super::PROVIDER;
use super::auth::counted;
use super::endpoints::Endpoints;
use crate::provider::{ClientContext, ProviderError, refs};

/// Google's default `regional_cred_verification_url`.
pub(super) const DEFAULT_VERIFICATION_URL: &str =
    "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15";
/// Key names ESO reads from the `awsCredentialsSecretRef` Secret.
pub(super) const ACCESS_KEY_ID: &str = "aws_access_key_id";
pub(super) const SECRET_ACCESS_KEY: &str = "aws_secret_access_key";
pub(super) const SESSION_TOKEN: &str = "aws_session_token";
/// Lifetime asked for an IMDSv2 session token (Google's libraries ask for 300 s).
const IMDS_SESSION_TTL: &str = "300";

fn invalid(msg: impl Into<String>) -> ProviderError {
    ProviderError::InvalidConfig(msg.into())
}

/// AWS keys. No `Debug`: it holds the secret key.
pub(super) struct AwsKeys {
    pub access_key_id: String,
    pub secret_access_key: SecretValue,
    pub session_token: Option<SecretValue>,
}

/// Where the region and keys come from.
pub(super) enum AwsSource {
    /// `awsSecurityCredentials`: a Secret and the store's region.
    Secret {
        ctx: Box<ClientContext>,
        name: String,
        namespace: Option<String>,
        region: String,
    },
    /// A `credConfig` `aws1` source: environment, then instance metadata (URLs already checked
    /// to be the metadata service's).
    Metadata {
        region_url: Option<Url>,
        credentials_url: Option<Url>,
        session_token_url: Option<Url>,
        endpoints: Box<Endpoints>,
    },
}

/// The subject token source of an AWS identity.
pub(super) struct AwsSubject {
    pub source: AwsSource,
    /// `GetCallerIdentity` URL, with `{region}` for the region.
    pub verification_url: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MetadataKeys {
    #[serde(default)]
    access_key_id: String,
    #[serde(default)]
    secret_access_key: String,
    #[serde(default)]
    token: String,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl AwsSubject {
    /// A fresh subject token for the pool provider `audience`.
    pub(super) async fn token(
        &self,
        http: &reqwest::Client,
        audience: &str,
    ) -> Result<SecretValue, ProviderError> {
        let (region, keys) = match &self.source {
            AwsSource::Secret {
                ctx,
                name,
                namespace,
                region,
            } => (
                region.clone(),
                secret_keys(ctx, namespace.as_deref(), name).await?,
            ),
            AwsSource::Metadata {
                region_url,
                credentials_url,
                session_token_url,
                endpoints,
            } => {
                let imds = Imds { http, endpoints };
                let env_region = endpoints
                    .aws_environment
                    .then(|| env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")))
                    .flatten();
                let env_keys = endpoints
                    .aws_environment
                    .then(
                        || match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
                            (Some(id), Some(secret)) => Some(AwsKeys {
                                access_key_id: id,
                                secret_access_key: SecretValue::from(secret),
                                session_token: env("AWS_SESSION_TOKEN").map(SecretValue::from),
                            }),
                            _ => None,
                        },
                    )
                    .flatten();
                let session = match (&env_region, &env_keys, session_token_url) {
                    (Some(_), Some(_), _) | (_, _, None) => None,
                    (_, _, Some(u)) => Some(imds.session_token(u).await?),
                };
                let keys = match env_keys {
                    Some(k) => k,
                    None => {
                        let url = credentials_url.as_ref().ok_or_else(|| {
                            invalid("credential_source.url is needed to read AWS credentials from the instance metadata service")
                        })?;
                        imds.keys(url, session.as_ref()).await?
                    }
                };
                let region = match env_region {
                    Some(r) => r,
                    None => {
                        let url = region_url.as_ref().ok_or_else(|| {
                            invalid("credential_source.region_url is needed to find the AWS region")
                        })?;
                        imds.region(url, session.as_ref()).await?
                    }
                };
                (region, keys)
            }
        };
        let url = self.verification_url.replacen("{region}", &region, 1);
        signed_caller_identity(&keys, &region, &url, audience, SystemTime::now())
    }
}

/// The keys of an `awsCredentialsSecretRef` Secret (ESO's key names).
pub(super) async fn secret_keys(
    ctx: &ClientContext,
    namespace: Option<&str>,
    name: &str,
) -> Result<AwsKeys, ProviderError> {
    let mut data = refs::secret_data(ctx, namespace, name).await?;
    let mut take = |k: &str| data.remove(k).filter(|v| !v.as_bytes().is_empty());
    let (Some(id), Some(secret)) = (take(ACCESS_KEY_ID), take(SECRET_ACCESS_KEY)) else {
        return Err(invalid(format!(
            "{ACCESS_KEY_ID} and {SECRET_ACCESS_KEY} keys must be present in AwsSecurityCredentials secret {name:?}"
        )));
    };
    let access_key_id = id
        .expose_str()
        .map(|s| s.trim().to_string())
        .ok_or_else(|| invalid(format!("{ACCESS_KEY_ID} in secret {name:?} is not UTF-8")))?;
    Ok(AwsKeys {
        access_key_id,
        secret_access_key: secret,
        session_token: take(SESSION_TOKEN),
    })
}

/// The EC2 instance metadata service, reached where [`Endpoints`] says.
struct Imds<'a> {
    http: &'a reqwest::Client,
    endpoints: &'a Endpoints,
}

impl Imds<'_> {
    async fn text(
        &self,
        call: &'static str,
        rb: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<String, ProviderError> {
        let resp = counted(PROVIDER, call, rb.send().await).map_err(|e| {
            ProviderError::Other(format!(
                "unable to read {what} from the AWS instance metadata service: {}",
                e.without_url()
            ))
        })?;
        let status = resp.status();
        if !status.is_success() {
            return Err(ProviderError::Other(format!(
                "unable to read {what} from the AWS instance metadata service: HTTP {}",
                status.as_u16()
            )));
        }
        resp.text().await.map_err(|e| {
            ProviderError::Other(format!(
                "unable to read {what} from the AWS instance metadata service: {}",
                e.without_url()
            ))
        })
    }

    fn get(&self, url: &Url, session: Option<&SecretValue>) -> reqwest::RequestBuilder {
        let rb = self.http.get(self.endpoints.aws_metadata_url(url));
        match session {
            Some(t) => rb.header(
                "X-aws-ec2-metadata-token",
                t.expose_str().unwrap_or_default(),
            ),
            None => rb,
        }
    }

    async fn session_token(&self, url: &Url) -> Result<SecretValue, ProviderError> {
        let rb = self
            .http
            .put(self.endpoints.aws_metadata_url(url))
            .header("X-aws-ec2-metadata-token-ttl-seconds", IMDS_SESSION_TTL);
        let token = self
            .text("GetAWSSessionToken", rb, "a session token")
            .await?;
        Ok(SecretValue::from(token))
    }

    async fn region(
        &self,
        url: &Url,
        session: Option<&SecretValue>,
    ) -> Result<String, ProviderError> {
        // The availability zone, e.g. `us-east-2b`: the region is all but its last letter.
        let zone = self
            .text("GetAWSRegion", self.get(url, session), "the region")
            .await?;
        let zone = zone.trim();
        let mut chars = zone.chars();
        chars.next_back();
        let region = chars.as_str();
        if region.is_empty() {
            return Err(ProviderError::Other(
                "the AWS instance metadata service named no availability zone".into(),
            ));
        }
        Ok(region.to_string())
    }

    async fn keys(
        &self,
        url: &Url,
        session: Option<&SecretValue>,
    ) -> Result<AwsKeys, ProviderError> {
        let role = self
            .text("GetAWSRole", self.get(url, session), "the role name")
            .await?;
        let role = role.trim();
        if role.is_empty() {
            return Err(ProviderError::Other(
                "the AWS instance metadata service named no role".into(),
            ));
        }
        let keys_url = Url::parse(&format!("{}/{role}", url.as_str().trim_end_matches('/')))
            .map_err(|_| ProviderError::Other("unusable AWS role name".into()))?;
        let body = self
            .text(
                "GetAWSSecurityCredentials",
                self.get(&keys_url, session),
                "security credentials",
            )
            .await?;
        let keys: MetadataKeys = serde_json::from_str(&body).map_err(|_| {
            ProviderError::Other(
                "the AWS instance metadata service answered unreadable security credentials".into(),
            )
        })?;
        if keys.access_key_id.is_empty() || keys.secret_access_key.is_empty() {
            return Err(ProviderError::Other(
                "the AWS instance metadata service answered no AccessKeyId or SecretAccessKey"
                    .into(),
            ));
        }
        Ok(AwsKeys {
            access_key_id: keys.access_key_id,
            secret_access_key: SecretValue::from(keys.secret_access_key),
            session_token: Some(keys.token)
                .filter(|t| !t.is_empty())
                .map(SecretValue::from),
        })
    }
}

/// The serialized, SigV4-signed `POST` of `url` (a `GetCallerIdentity` URL) with the target
/// resource header, URL-encoded: Google STS's `aws4_request` subject token.
pub(super) fn signed_caller_identity(
    keys: &AwsKeys,
    region: &str,
    url: &str,
    target_resource: &str,
    time: SystemTime,
) -> Result<SecretValue, ProviderError> {
    let parsed = Url::parse(url).map_err(|_| {
        invalid(format!(
            "regional_cred_verification_url {url:?} is not a URL"
        ))
    })?;
    let host = match (parsed.host_str(), parsed.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        (None, _) => {
            return Err(invalid(format!(
                "regional_cred_verification_url {url:?} has no host"
            )));
        }
    };
    // Google's libraries sign for the service named by the host's first label (`sts`).
    let service = host.split('.').next().unwrap_or_default().to_string();
    let secret = keys
        .secret_access_key
        .expose_str()
        .ok_or_else(|| invalid(format!("{SECRET_ACCESS_KEY} is not UTF-8")))?;
    let session = match &keys.session_token {
        Some(t) => Some(
            t.expose_str()
                .ok_or_else(|| invalid(format!("{SESSION_TOKEN} is not UTF-8")))?
                .to_string(),
        ),
        None => None,
    };
    let identity = Credentials::new(
        keys.access_key_id.clone(),
        secret.to_string(),
        session.clone(),
        None,
        "gcpsm-workload-identity-federation",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(&service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| ProviderError::Other(format!("unable to sign the AWS request: {e}")))?
        .into();
    let unsigned = [
        ("host", host.as_str()),
        ("x-goog-cloud-target-resource", target_resource),
    ];
    let request = SignableRequest::new(
        "POST",
        url,
        unsigned.iter().copied(),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| ProviderError::Other(format!("unable to sign the AWS request: {e}")))?;
    let (instructions, _) = sign(request, &params)
        .map_err(|e| ProviderError::Other(format!("unable to sign the AWS request: {e}")))?
        .into_parts();
    let mut headers: Vec<(String, String)> = unsigned
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for (k, v) in instructions.headers() {
        if unsigned.iter().any(|(u, _)| u.eq_ignore_ascii_case(k)) {
            continue;
        }
        // Google's example spells the signature header `Authorization`, the others lower-case.
        let k = if k.eq_ignore_ascii_case("authorization") {
            "Authorization".to_string()
        } else {
            k.to_ascii_lowercase()
        };
        headers.push((k, v.to_string()));
    }
    headers.sort();
    let body = json!({
        "url": url,
        "method": "POST",
        "headers": headers
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect::<Vec<_>>(),
    });
    let encoded: String = form_urlencoded::byte_serialize(body.to_string().as_bytes()).collect();
    Ok(SecretValue::from(encoded))
}
