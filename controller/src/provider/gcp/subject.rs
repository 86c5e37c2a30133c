//! Subject tokens exchanged at Google's STS: a Kubernetes service-account token, or what an
//! external account credential configuration's `credential_source` names (a file, a URL, or
//! AWS credentials). Fetched anew for every exchange, as Google's libraries do.

use std::collections::BTreeMap;

use shared::api::meta::ServiceAccountSelector;
use shared::secret_value::SecretValue;

use super::PROVIDER;
use super::auth::counted;
use super::aws::AwsSubject;
use super::federation::OWN_TOKEN_PATH;
use crate::provider::metrics::record;
use crate::provider::{ClientContext, ProviderError, refs};

/// Largest subject token read from a file or URL (Google's libraries stop at 1 MiB).
const MAX_SUBJECT: usize = 1 << 20;

fn invalid(msg: impl Into<String>) -> ProviderError {
    ProviderError::InvalidConfig(msg.into())
}

/// How a file or URL answer holds the token (`credential_source.format`).
pub(super) enum Format {
    Text,
    /// A JSON object; the token is this field's string value.
    Json(String),
}

impl Format {
    fn extract(&self, body: &[u8], what: &str) -> Result<SecretValue, ProviderError> {
        let token = match self {
            Format::Text => body.to_vec(),
            Format::Json(field) => {
                let v: serde_json::Value = serde_json::from_slice(body)
                    .map_err(|_| invalid(format!("the subject token from {what} is not JSON")))?;
                v.get(field)
                    .and_then(|f| f.as_str())
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| {
                        invalid(format!(
                            "the subject token from {what} has no string field {field:?}"
                        ))
                    })?
                    .as_bytes()
                    .to_vec()
            }
        };
        if token.is_empty() {
            return Err(invalid(format!("the subject token from {what} is empty")));
        }
        Ok(SecretValue::new(token))
    }
}

/// Where the subject token comes from.
pub(super) enum Subject {
    /// A token of a Kubernetes ServiceAccount (TokenRequest).
    ServiceAccount {
        ctx: Box<ClientContext>,
        service_account: ServiceAccountSelector,
        audiences: Vec<String>,
    },
    /// `credential_source.file`: a file of the controller's filesystem.
    File { path: String, format: Format },
    /// `credential_source.url` (checked against `externalTokenEndpoint`).
    Url {
        url: String,
        headers: BTreeMap<String, String>,
        format: Format,
    },
    /// A signed AWS `GetCallerIdentity` request.
    Aws(Box<AwsSubject>),
}

impl Subject {
    /// A fresh subject token for the STS `audience`.
    pub(super) async fn token(
        &self,
        http: &reqwest::Client,
        audience: &str,
    ) -> Result<SecretValue, ProviderError> {
        match self {
            Subject::ServiceAccount {
                ctx,
                service_account,
                audiences,
            } => {
                let token =
                    refs::service_account_token(ctx, service_account, audiences, Some(600)).await;
                // ESO counts the TokenRequest under this call name.
                record(PROVIDER, "GenerateServiceAccountToken", token.is_ok());
                token
            }
            Subject::File { path, format } => {
                let what = format!("credential_source.file {path:?}");
                // A link to the controller's own token is refused like the token itself.
                if let (Ok(real), Ok(own)) = (
                    tokio::fs::canonicalize(path).await,
                    tokio::fs::canonicalize(OWN_TOKEN_PATH).await,
                ) && real == own
                {
                    return Err(invalid(format!(
                        "{what} is the controller's own service-account token, which stores may \
                         not use: set serviceAccountRef instead"
                    )));
                }
                let body = tokio::fs::read(path)
                    .await
                    .map_err(|e| ProviderError::Other(format!("unable to read {what}: {e}")))?;
                if body.len() > MAX_SUBJECT {
                    return Err(invalid(format!("{what} is larger than 1 MiB")));
                }
                format.extract(&body, &what)
            }
            Subject::Url {
                url,
                headers,
                format,
            } => {
                let what = format!("credential_source.url {url:?}");
                let mut rb = http.get(url);
                for (k, v) in headers {
                    rb = rb.header(k, v);
                }
                let resp = counted(PROVIDER, "GetSubjectToken", rb.send().await).map_err(|e| {
                    ProviderError::Other(format!("unable to read {what}: {}", e.without_url()))
                })?;
                let status = resp.status();
                if !status.is_success() {
                    return Err(ProviderError::Other(format!(
                        "unable to read {what}: HTTP {}",
                        status.as_u16()
                    )));
                }
                let body = resp.bytes().await.map_err(|e| {
                    ProviderError::Other(format!("unable to read {what}: {}", e.without_url()))
                })?;
                if body.len() > MAX_SUBJECT {
                    return Err(invalid(format!("{what} answered more than 1 MiB")));
                }
                format.extract(&body, &what)
            }
            Subject::Aws(aws) => aws.token(http, audience).await,
        }
    }
}
