//! A fake of Azure Key Vault's data plane (REST API 7.x) and of the Microsoft identity platform
//! token endpoints, on one loopback port.
//!
//! Written from Microsoft's public REST reference, not from our client:
//! * `POST /{tenant}/oauth2/v2.0/token` — `client_credentials` with `client_secret` or with a
//!   `client_assertion` (`urn:ietf:params:oauth:client-assertion-type:jwt-bearer`): an RS256 JWT
//!   signed with a registered certificate's key (header `x5t` = SHA-1 thumbprint) or a federated
//!   token from a registered issuer/subject. Errors are `{"error", "error_description",
//!   "error_codes"}` with AADSTS codes.
//! * `GET /metadata/identity/oauth2/token` — the IMDS managed-identity endpoint (`Metadata: true`
//!   header, `api-version`, `resource`, optional `client_id`); `expires_in` is a string there.
//! * Key Vault: secrets (get/set/list/versions/update/delete), keys (get/import/delete) and
//!   certificates (get/import/delete), `api-version` required on every request, bearer token
//!   required (401 with a `WWW-Authenticate: Bearer authorization=..., resource=...` challenge),
//!   paging with `maxresults` and `nextLink`, soft delete (a deleted name cannot be reused until
//!   purged), errors as `{"error":{"code","message"}}`.
//!
//! Simplifications: tokens are opaque strings rather than JWTs (clients must treat them as
//! opaque anyway); federated tokens are checked against a JWKS handed to the fake; certificate
//! import understands PEM only (no PKCS#12 parser here).

// Handlers short-circuit with a finished response as the error value; its size is irrelevant
// in a test server.
#![allow(clippy::result_large_err)]

mod aad;
mod vault;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub use vault::{StoredCert, StoredKey, StoredSecret};

/// Key Vault's audience in the public cloud.
pub const PUBLIC_VAULT_RESOURCE: &str = "https://vault.azure.net";

/// API versions the fake accepts (the generally available 7.x versions).
pub const API_VERSIONS: &[&str] = &["7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6"];

/// How an application proves its identity at the token endpoint.
#[derive(Clone, Debug)]
pub enum ClientCredential {
    /// A client secret.
    Secret(String),
    /// A certificate: its SHA-1 thumbprint (of the DER) and RSA public key (big-endian n, e).
    Certificate {
        thumbprint: Vec<u8>,
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// A federated identity credential: tokens from `issuer` for `subject`, audience
    /// `api://AzureADTokenExchange`, signed by a key of `jwks`.
    Federated {
        issuer: String,
        subject: String,
        jwks: Value,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub client_id: String,
    pub resource: String,
    pub expires: Instant,
}

/// The fake's state, shared by the server task and the test.
pub(crate) struct State {
    pub tenant: String,
    pub resource: String,
    pub base: String,
    pub clients: HashMap<String, Vec<ClientCredential>>,
    /// Managed identities: client ids; `None` is the system-assigned identity.
    pub identities: Vec<Option<String>>,
    pub system_identity_client: String,
    pub tokens: HashMap<String, Token>,
    pub token_lifetime: Duration,
    pub denied: Vec<String>,
    pub page_size: usize,
    pub secrets: BTreeMap<String, Vec<StoredSecret>>,
    pub deleted_secrets: BTreeMap<String, Vec<StoredSecret>>,
    pub keys: BTreeMap<String, Vec<StoredKey>>,
    pub certs: BTreeMap<String, Vec<StoredCert>>,
    pub calls: BTreeMap<String, u64>,
    pub clock: u64,
}

impl State {
    pub(crate) fn count(&mut self, op: &str) {
        *self.calls.entry(op.to_string()).or_default() += 1;
    }

    /// A monotonically increasing Unix time, so `updated` moves on every write.
    pub(crate) fn now(&mut self) -> u64 {
        let wall = chrono::Utc::now().timestamp().max(0) as u64;
        self.clock = wall.max(self.clock + 1);
        self.clock
    }
}

/// A running fake. Dropping it stops the server.
pub struct AzureFake {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for AzureFake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl AzureFake {
    /// Starts a fake for directory `tenant` whose vault accepts tokens for
    /// [`PUBLIC_VAULT_RESOURCE`].
    pub async fn start(tenant: &str) -> anyhow::Result<AzureFake> {
        Self::start_for(tenant, PUBLIC_VAULT_RESOURCE).await
    }

    /// Starts a fake whose vault accepts tokens for `resource` (a sovereign cloud's audience).
    pub async fn start_for(tenant: &str, resource: &str) -> anyhow::Result<AzureFake> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State {
            tenant: tenant.into(),
            resource: resource.trim_end_matches('/').into(),
            base: format!("http://{addr}"),
            clients: HashMap::new(),
            identities: Vec::new(),
            system_identity_client: uuid::Uuid::new_v4().to_string(),
            tokens: HashMap::new(),
            token_lifetime: Duration::from_secs(3599),
            denied: Vec::new(),
            page_size: 25,
            secrets: BTreeMap::new(),
            deleted_secrets: BTreeMap::new(),
            keys: BTreeMap::new(),
            certs: BTreeMap::new(),
            calls: BTreeMap::new(),
            clock: 0,
        }));
        let app = Router::new().fallback(handle).with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(AzureFake { addr, state, task })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `http://127.0.0.1:<port>`: the vault URL and the authority host at once.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The directory (tenant) id.
    pub fn tenant(&self) -> String {
        self.lock().tenant.clone()
    }

    /// Registers one credential of application `client_id` (an app may have several).
    pub fn add_client(&self, client_id: &str, credential: ClientCredential) {
        self.lock()
            .clients
            .entry(client_id.into())
            .or_default()
            .push(credential);
    }

    /// Assigns a managed identity to the "VM": `None` is the system-assigned one.
    pub fn add_managed_identity(&self, client_id: Option<&str>) {
        self.lock().identities.push(client_id.map(str::to_string));
    }

    /// Client id reported for tokens of the system-assigned identity.
    pub fn system_identity_client_id(&self) -> String {
        self.lock().system_identity_client.clone()
    }

    /// Lifetime of tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.lock().token_lifetime = lifetime;
    }

    /// Makes every vault request of `client_id` fail with 403 (no access policy / RBAC role).
    pub fn deny(&self, client_id: &str) {
        self.lock().denied.push(client_id.into());
    }

    /// Largest page the list operations return, whatever `maxresults` asks for.
    pub fn set_page_size(&self, n: usize) {
        self.lock().page_size = n.max(1);
    }

    /// Requests served per operation (`GetSecret`, `SetSecret`, `GetSecrets`, `Token`, `IMDS`, ...).
    pub fn calls(&self, op: &str) -> u64 {
        self.lock().calls.get(op).copied().unwrap_or(0)
    }

    /// All operation counters.
    pub fn all_calls(&self) -> BTreeMap<String, u64> {
        self.lock().calls.clone()
    }

    /// Total vault requests (everything but token requests).
    pub fn vault_calls(&self) -> u64 {
        self.lock()
            .calls
            .iter()
            .filter(|(k, _)| k.as_str() != "Token" && k.as_str() != "IMDS")
            .map(|(_, v)| v)
            .sum()
    }

    pub fn reset_calls(&self) {
        self.lock().calls.clear();
    }

    /// Seeds a new version of secret `name` (no request, not counted).
    pub fn put_secret(&self, name: &str, value: &str, tags: &[(&str, &str)]) {
        let mut st = self.lock();
        let tags = tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        vault::store_secret(&mut st, name, value.into(), tags, None);
    }

    /// Enables or disables the current version of secret `name`.
    pub fn set_secret_enabled(&self, name: &str, enabled: bool) {
        if let Some(v) = self.lock().secrets.get_mut(name).and_then(|v| v.last_mut()) {
            v.enabled = enabled;
        }
    }

    /// The versions of secret `name`, oldest first.
    pub fn secret_versions(&self, name: &str) -> Vec<StoredSecret> {
        self.lock().secrets.get(name).cloned().unwrap_or_default()
    }

    /// The current version of secret `name`.
    pub fn secret(&self, name: &str) -> Option<StoredSecret> {
        self.lock()
            .secrets
            .get(name)
            .and_then(|v| v.last().cloned())
    }

    /// Whether `name` is in the deleted-but-recoverable state.
    pub fn secret_is_deleted(&self, name: &str) -> bool {
        self.lock().deleted_secrets.contains_key(name)
    }

    /// Seeds a key from a JWK (private parts are kept, never returned).
    pub fn put_key(&self, name: &str, jwk: Value, tags: &[(&str, &str)]) {
        let mut st = self.lock();
        let tags = tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        vault::store_key(&mut st, name, jwk, tags);
    }

    /// The current version of key `name`.
    pub fn key(&self, name: &str) -> Option<StoredKey> {
        self.lock().keys.get(name).and_then(|v| v.last().cloned())
    }

    /// Seeds a certificate from its DER encoding.
    pub fn put_certificate(&self, name: &str, der: &[u8], tags: &[(&str, &str)]) {
        let mut st = self.lock();
        let tags = tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        vault::store_cert(&mut st, name, der.to_vec(), tags);
    }

    /// The current version of certificate `name`.
    pub fn certificate(&self, name: &str) -> Option<StoredCert> {
        self.lock().certs.get(name).and_then(|v| v.last().cloned())
    }
}

/// The error envelope of Key Vault.
pub(crate) fn kv_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [("content-type", "application/json; charset=utf-8")],
        json!({"error": {"code": code, "message": message}}).to_string(),
    )
        .into_response()
}

pub(crate) fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [("content-type", "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

pub(crate) fn query(uri: &Uri) -> Vec<(String, String)> {
    form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

pub(crate) fn query_get<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

async fn handle(
    AxState(state): AxState<Arc<Mutex<State>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
    let path = uri.path().to_string();
    if path.ends_with("/oauth2/v2.0/token") {
        st.count("Token");
        return aad::token(&mut st, &method, &path, &headers, &body);
    }
    if path == "/metadata/identity/oauth2/token" {
        st.count("IMDS");
        return aad::imds(&mut st, &method, &uri, &headers);
    }
    vault::dispatch(&mut st, &method, &uri, &headers, &body)
}
