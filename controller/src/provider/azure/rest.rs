//! Key Vault data-plane requests: bearer token, `api-version`, one retry with a fresh token on
//! 401, error bodies `{"error":{"code","message"}}` turned into provider errors.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::PROVIDER;
use super::auth::TokenSource;
use crate::provider::ProviderError;
use crate::provider::metrics::record;

/// REST API version of every data-plane request.
pub const API_VERSION: &str = "7.4";

/// An answer of the vault: status and JSON body (`Null` when empty or not JSON).
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Answer {
    pub fn ok(&self) -> bool {
        self.status.is_success()
    }

    pub fn not_found(&self) -> bool {
        self.status == StatusCode::NOT_FOUND
    }

    /// The vault's error as a provider error (code and message never contain values).
    pub fn error(&self, what: &str) -> ProviderError {
        let code = self.body["error"]["code"].as_str().unwrap_or_default();
        let message = self.body["error"]["message"].as_str().unwrap_or_default();
        ProviderError::Other(format!(
            "{what}: Key Vault answered HTTP {} {code}: {message}",
            self.status.as_u16()
        ))
    }
}

pub struct Vault {
    pub http: reqwest::Client,
    /// `scheme://host[:port]` of the vault, no trailing slash.
    pub base: reqwest::Url,
    pub tokens: TokenSource,
}

impl Vault {
    /// `{vault}/{path}?api-version=…`.
    pub fn url(&self, path: &str) -> Result<reqwest::Url, ProviderError> {
        let mut u = self.base.join(path).map_err(|e| {
            ProviderError::InvalidConfig(format!("invalid vault path {path:?}: {e}"))
        })?;
        u.query_pairs_mut().append_pair("api-version", API_VERSION);
        Ok(u)
    }

    /// A `nextLink` is followed only on the vault's own origin, so the token never leaves it.
    pub fn next_link(&self, link: &str) -> Result<reqwest::Url, ProviderError> {
        let u = reqwest::Url::parse(link)
            .map_err(|_| ProviderError::Other("Key Vault returned an invalid nextLink".into()))?;
        if u.origin() != self.base.origin() {
            return Err(ProviderError::Other(
                "Key Vault returned a nextLink to another host".into(),
            ));
        }
        Ok(u)
    }

    /// Sends one request (counted as `call`), retrying once with a new token after a 401.
    pub async fn send(
        &self,
        call: &'static str,
        method: Method,
        url: reqwest::Url,
        body: Option<&Value>,
    ) -> Result<Answer, ProviderError> {
        let mut retried = false;
        loop {
            let result = self.send_once(method.clone(), url.clone(), body).await;
            record(
                PROVIDER,
                call,
                result.as_ref().is_ok_and(|a| a.status.is_success()),
            );
            let answer = result?;
            if answer.status == StatusCode::UNAUTHORIZED && !retried {
                retried = true;
                self.tokens.invalidate().await;
                continue;
            }
            return Ok(answer);
        }
    }

    async fn send_once(
        &self,
        method: Method,
        url: reqwest::Url,
        body: Option<&Value>,
    ) -> Result<Answer, ProviderError> {
        let token = self.tokens.token().await?;
        let token = token
            .expose_str()
            .ok_or_else(|| ProviderError::Other("access token is not valid UTF-8".into()))?;
        let mut rb = self.http.request(method, url).bearer_auth(token);
        if let Some(b) = body {
            rb = rb
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = rb.send().await.map_err(|e| {
            ProviderError::Other(format!("Key Vault request failed: {}", e.without_url()))
        })?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| {
            ProviderError::Other(format!("Key Vault response: {}", e.without_url()))
        })?;
        Ok(Answer {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        })
    }
}
