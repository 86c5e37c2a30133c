//! The HTTP side of a Vault store: one `reqwest` client per store (CA bundle, client
//! certificate, custom headers), the namespace header, `X-Vault-Index` tracking for
//! `readYourWrites`, Vault's error bodies, and the call counter.

use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use shared::api::v1::providers::vault::VaultProvider;
use shared::secret_value::SecretValue;

use super::PROVIDER;
use crate::provider::metrics::record;
use crate::provider::{ClientContext, ProviderError, refs};

const INDEX_HEADER: &str = "x-vault-index";
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A failed Vault call: Vault's own error text (never a token or a value).
#[derive(Clone, Debug)]
pub(super) struct VaultError {
    /// HTTP status; `None` when the request never got an answer.
    pub status: Option<u16>,
    pub message: String,
}

impl VaultError {
    /// 403: the token is unknown/expired/revoked, or its policy forbids the path.
    pub fn is_forbidden(&self) -> bool {
        self.status == Some(403)
    }
}

impl std::fmt::Display for VaultError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<VaultError> for ProviderError {
    fn from(e: VaultError) -> Self {
        ProviderError::Other(e.message)
    }
}

/// One request to `/v1/<path>`.
pub(super) struct Call<'a> {
    /// Label for `externalsecret_provider_api_calls_count`.
    pub name: &'static str,
    pub method: Method,
    pub path: String,
    pub token: Option<&'a SecretValue>,
    /// Overrides the store namespace (login with `auth.namespace`).
    pub namespace: Option<&'a str>,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Value>,
}

impl<'a> Call<'a> {
    pub fn new(name: &'static str, method: Method, path: impl Into<String>) -> Self {
        Call {
            name,
            method,
            path: path.into(),
            token: None,
            namespace: None,
            query: Vec::new(),
            body: None,
        }
    }

    pub fn token(mut self, token: &'a SecretValue) -> Self {
        self.token = Some(token);
        self
    }

    pub fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    pub fn query(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.query.push((key, value.into()));
        self
    }

    pub fn namespace(mut self, namespace: Option<&'a str>) -> Self {
        self.namespace = namespace;
        self
    }
}

/// Connection settings shared by every call of one store.
pub(super) struct Connection {
    http: reqwest::Client,
    base: String,
    namespace: Option<String>,
    read_your_writes: bool,
    last_index: Mutex<Option<HeaderValue>>,
}

fn invalid(msg: impl Into<String>) -> ProviderError {
    ProviderError::InvalidConfig(msg.into())
}

/// A client certificate and key (PEM) presented during the TLS handshake.
pub(super) struct ClientIdentity {
    pub cert: SecretValue,
    pub key: SecretValue,
}

impl Connection {
    /// Builds the HTTP client `cfg` describes. `identity` (mTLS or cert auth) is presented to
    /// the server when it asks for a client certificate.
    pub async fn new(
        ctx: &ClientContext,
        cfg: &VaultProvider,
        identity: Option<ClientIdentity>,
    ) -> Result<Self, ProviderError> {
        let base = cfg.server.trim().trim_end_matches('/').to_string();
        let url = reqwest::Url::parse(&base)
            .map_err(|e| invalid(format!("invalid vault server address {base:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "invalid vault server address {base:?}: scheme must be http or https"
            )));
        }
        let mut builder = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::limited(3));
        let ca = match (&cfg.ca_bundle, &cfg.ca_provider) {
            (Some(bundle), _) if !bundle.trim().is_empty() => Some(
                STANDARD
                    .decode(bundle.trim())
                    .map_err(|e| invalid(format!("caBundle is not base64: {e}")))?,
            ),
            (_, Some(provider)) => Some(refs::ca_provider(ctx, provider).await?),
            _ => None,
        };
        if let Some(pem) = ca {
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| invalid(format!("cannot set Vault CA certificate: {e}")))?;
            if certs.is_empty() {
                return Err(invalid(
                    "cannot set Vault CA certificate: no PEM certificate found",
                ));
            }
            // Like ESO (Go's RootCAs), the bundle replaces the system roots.
            builder = builder.tls_certs_only(certs);
        }
        if let Some(id) = identity {
            let mut pem = id.cert.as_bytes().to_vec();
            pem.push(b'\n');
            pem.extend_from_slice(id.key.as_bytes());
            let identity = reqwest::Identity::from_pem(&pem).map_err(|_| {
                invalid("client certificate and key are not a valid PEM certificate/key pair")
            })?;
            builder = builder.identity(identity);
        }
        builder = builder.default_headers(default_headers(cfg)?);
        let http = builder
            .build()
            .map_err(|e| invalid(format!("cannot setup new vault client: {e}")))?;
        Ok(Connection {
            http,
            base,
            namespace: cfg.namespace.clone().filter(|n| !n.is_empty()),
            read_your_writes: cfg.read_your_writes == Some(true)
                || cfg.forward_inconsistent == Some(true),
            last_index: Mutex::new(None),
        })
    }

    /// Sends `call`. `Ok(None)` is Vault's 404 (no such secret/path), which the Go client also
    /// reports as "no secret" rather than an error; `Ok(Some(Value::Null))` is an empty 2xx.
    pub async fn send(&self, call: Call<'_>) -> Result<Option<Value>, VaultError> {
        let result = self.send_inner(&call).await;
        record(PROVIDER, call.name, result.is_ok());
        result
    }

    async fn send_inner(&self, call: &Call<'_>) -> Result<Option<Value>, VaultError> {
        let path = call.path.trim_start_matches('/');
        let mut url = reqwest::Url::parse(&format!("{}/v1/{}", self.base, path))
            .map_err(|e| transport_error(call, &e.to_string()))?;
        if !call.query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(call.query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let mut request = self.http.request(call.method.clone(), url);
        if let Some(token) = call.token {
            let value = HeaderValue::from_bytes(token.as_bytes())
                .map_err(|_| transport_error(call, "the token contains invalid characters"))?;
            let mut value = value;
            value.set_sensitive(true);
            request = request.header("X-Vault-Token", value);
        }
        if let Some(ns) = call.namespace.or(self.namespace.as_deref()) {
            request = request.header("X-Vault-Namespace", ns);
        }
        if self.read_your_writes {
            let index = self
                .last_index
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            if let Some(index) = index {
                request = request.header(INDEX_HEADER, index);
            }
        }
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| transport_error(call, &e.without_url().to_string()))?;
        if self.read_your_writes
            && let Some(index) = response.headers().get(INDEX_HEADER)
        {
            *self.last_index.lock().unwrap_or_else(|p| p.into_inner()) = Some(index.clone());
        }
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| transport_error(call, &e.without_url().to_string()))?;
        let body: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        if status.is_success() {
            return Ok(Some(body));
        }
        if status == StatusCode::NOT_FOUND && errors_of(&body).is_empty() {
            return Ok(None);
        }
        if status == StatusCode::NOT_FOUND && body.get("data").is_some() {
            // KV v2 answers a deleted or destroyed version with 404 and its metadata.
            return Ok(None);
        }
        let errors = errors_of(&body);
        Err(VaultError {
            status: Some(status.as_u16()),
            message: format!(
                "Error making API request. URL: {} {}/v1/{}. Code: {}. Errors: {}",
                call.method,
                self.base,
                path,
                status.as_u16(),
                if errors.is_empty() {
                    status.canonical_reason().unwrap_or("unknown").to_string()
                } else {
                    errors.join("; ")
                }
            ),
        })
    }

    /// A handle sharing the HTTP connection pool, for background revocation.
    pub fn clone_for_background(&self) -> Connection {
        Connection {
            http: self.http.clone(),
            base: self.base.clone(),
            namespace: self.namespace.clone(),
            read_your_writes: false,
            last_index: Mutex::new(None),
        }
    }
}

fn transport_error(call: &Call<'_>, detail: &str) -> VaultError {
    VaultError {
        status: None,
        message: format!(
            "Error making API request. URL: {} /v1/{}: {detail}",
            call.method,
            call.path.trim_start_matches('/')
        ),
    }
}

fn errors_of(body: &Value) -> Vec<String> {
    body.get("errors")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| e.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn default_headers(cfg: &VaultProvider) -> Result<HeaderMap, ProviderError> {
    let mut headers = HeaderMap::new();
    headers.insert("X-Vault-Request", HeaderValue::from_static("true"));
    for (name, value) in cfg.headers.iter().flatten() {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| invalid(format!("header {name:?} is not a valid HTTP header name")))?;
        let value = HeaderValue::from_str(value).map_err(|_| {
            invalid(format!(
                "header {name:?} has a value that is not valid in HTTP"
            ))
        })?;
        headers.insert(name, value);
    }
    // ESO sends the header only with both switches on; forwardInconsistent alone just turns
    // on index tracking.
    if cfg.read_your_writes == Some(true) && cfg.forward_inconsistent == Some(true) {
        headers.insert(
            "X-Vault-Inconsistent",
            HeaderValue::from_static("forward-active-node"),
        );
    }
    Ok(headers)
}

/// Reads a store credential; secret values never reach an error message.
pub(super) async fn resolve_identity(
    ctx: &ClientContext,
    cfg: &VaultProvider,
) -> Result<Option<ClientIdentity>, ProviderError> {
    if let Some(cert) = cfg.auth.as_ref().and_then(|a| a.cert.as_ref()) {
        let (Some(crt), Some(key)) = (&cert.client_cert, &cert.secret_ref) else {
            return Err(invalid(
                "auth.cert needs both clientCert and secretRef (the client key)",
            ));
        };
        return Ok(Some(ClientIdentity {
            cert: refs::secret_key(ctx, crt, Some("tls.crt")).await?,
            key: refs::secret_key(ctx, key, Some("tls.key")).await?,
        }));
    }
    let Some(tls) = &cfg.tls else {
        return Ok(None);
    };
    match (&tls.cert_secret_ref, &tls.key_secret_ref) {
        (None, None) => Ok(None),
        (Some(crt), Some(key)) => Ok(Some(ClientIdentity {
            cert: refs::secret_key(ctx, crt, Some("tls.crt")).await?,
            key: refs::secret_key(ctx, key, Some("tls.key")).await?,
        })),
        _ => Err(invalid(
            "when provided, both tls.certSecretRef and tls.keySecretRef should be provided",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: serde_json::Value) -> VaultProvider {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn custom_headers_and_the_forwarding_header_are_sent_as_eso_does() {
        let h = default_headers(&spec(serde_json::json!({"server": "http://v",
            "headers": {"X-Team": "payments"}, "forwardInconsistent": true})))
        .unwrap();
        assert_eq!(h["x-team"], "payments");
        assert_eq!(h["x-vault-request"], "true");
        assert!(
            !h.contains_key("x-vault-inconsistent"),
            "forwardInconsistent alone only tracks indexes"
        );
        let h = default_headers(&spec(serde_json::json!({"server": "http://v",
            "readYourWrites": true, "forwardInconsistent": true})))
        .unwrap();
        assert_eq!(h["x-vault-inconsistent"], "forward-active-node");
        let err = default_headers(&spec(
            serde_json::json!({"server": "http://v", "headers": {"bad header": "x"}}),
        ))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"header "bad header" is not a valid HTTP header name"#
        );
    }
}
