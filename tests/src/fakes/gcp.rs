//! A fake of Google Secret Manager v1 and the Google token services it is reached through,
//! written from Google's public REST documentation (not from our client):
//!
//! * Secret Manager (`secretmanager.googleapis.com/v1`, and the regional
//!   `projects/*/locations/*` resources): `secrets` create/get/list/patch/delete,
//!   `:addVersion`, `versions` get/list/`:access`/`:enable`/`:disable`/`:destroy`, the alias
//!   `latest`, labels and annotations, list `filter`, `pageSize`/`pageToken`, and errors as
//!   `{"error":{"code","message","status"}}`. Names in answers carry the project *number*, as
//!   the real service's do.
//! * OAuth 2.0 token endpoint (`oauth2.googleapis.com/token`): the JWT-bearer grant of a
//!   service-account key, checking the RS256 signature against the key's public half, `aud`,
//!   `iat`/`exp` (at most one hour apart) and the grant type.
//! * Security Token Service (`sts.googleapis.com/v1/token`): token exchange of a Kubernetes
//!   service-account token, both GKE Workload Identity (`identitynamespace:` audiences) and
//!   Workload Identity Federation (pool provider audiences), checking issuer, signature, `aud`
//!   and expiry of the subject token.
//! * IAM Credentials (`iamcredentials.googleapis.com/v1/...:generateAccessToken`):
//!   impersonation, allowed only where the caller was granted it.
//! * The GCE metadata server's default-account token (ambient credentials), project id and
//!   GKE instance attributes (`cluster-name`, `cluster-location`).
//! * Workload Identity Federation with AWS: STS checks SigV4-signed `GetCallerIdentity`
//!   subject tokens, and the EC2 instance metadata service is played under `/latest/` (see
//!   [`aws`]).
//! * A token endpoint for `credential_source.url` external tokens (`/external/...`).
//!
//! Everything is served over plain HTTP on 127.0.0.1; one server answers for every host.
//! Authorisation is deliberately coarse: a principal may read or write a whole project.

// Handlers return the HTTP answer as their error; its size does not matter in a test server.
#![allow(clippy::result_large_err)]

mod auth;
mod aws;
mod listing;
mod secretmanager;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

pub use aws::{amz_date_now, aws_subject_token, sigv4_sign};
pub use secretmanager::{SecretSnapshot, VersionState};

/// OAuth scope every Secret Manager caller needs.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// What a principal may do in a project.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Get/list secrets and versions, access payloads.
    Read,
    /// Everything, including create, add versions, patch and delete.
    Write,
}

/// IAM member string of a Google service account.
pub fn service_account_principal(email: &str) -> String {
    format!("serviceAccount:{email}")
}

/// Principal of a Kubernetes service account through GKE Workload Identity.
pub fn gke_principal(project_number: u64, project_id: &str, ns: &str, sa: &str) -> String {
    format!(
        "principal://iam.googleapis.com/projects/{project_number}/locations/global/workloadIdentityPools/{project_id}.svc.id.goog/subject/ns/{ns}/sa/{sa}"
    )
}

/// Principal of a federated identity (`sub` of the external token) in a workload identity pool
/// (`projects/N/locations/global/workloadIdentityPools/POOL`).
pub fn wif_principal(pool: &str, subject: &str) -> String {
    format!("principal://iam.googleapis.com/{pool}/subject/{subject}")
}

pub(crate) struct AccessToken {
    pub principal: String,
    pub expires: i64,
}

pub(crate) struct ServiceAccountKey {
    pub key_id: String,
    pub public_key: Vec<u8>,
}

pub(crate) struct TrustedIssuer {
    pub issuer: String,
    pub public_key_spki: Vec<u8>,
}

/// Whom a workload identity pool provider trusts.
pub(crate) enum WifTrust {
    /// An OIDC issuer; subject tokens must carry one of the audiences.
    Oidc {
        trust: TrustedIssuer,
        allowed_audiences: Vec<String>,
    },
    /// An AWS account (signed `GetCallerIdentity` requests).
    Aws { account_id: String },
}

pub(crate) struct WifProvider {
    pub pool: String,
    pub trust: WifTrust,
}

/// An external token served at `/external/...`, optionally only with a header.
pub(crate) struct ExternalToken {
    pub header: Option<(String, String)>,
    pub body: String,
}

#[derive(Default)]
pub(crate) struct FakeState {
    pub projects: BTreeMap<String, u64>,
    pub sm: secretmanager::Store,
    pub keys: BTreeMap<String, ServiceAccountKey>,
    pub tokens: HashMap<String, AccessToken>,
    pub grants: BTreeMap<(String, u64), Access>,
    pub impersonation: BTreeSet<(String, String)>,
    /// GKE Workload Identity provider URL → the cluster's token issuer.
    pub gke_clusters: BTreeMap<String, TrustedIssuer>,
    /// Workload Identity Federation provider audience → provider.
    pub wif_providers: BTreeMap<String, WifProvider>,
    pub metadata_identity: Option<(String, String)>,
    pub metadata_project: Option<String>,
    pub metadata_attributes: BTreeMap<String, String>,
    pub aws_principals: BTreeMap<String, aws::AwsPrincipal>,
    pub aws_instance: Option<aws::AwsInstance>,
    pub external_tokens: BTreeMap<String, ExternalToken>,
    pub calls: BTreeMap<String, u64>,
    pub default_page_size: usize,
    pub token_lifetime: i64,
}

impl FakeState {
    pub(crate) fn count(&mut self, call: &str) {
        *self.calls.entry(call.to_string()).or_default() += 1;
    }

    /// The project number for an id or number, if the project exists.
    pub(crate) fn project_number(&self, id_or_number: &str) -> Option<u64> {
        if let Ok(n) = id_or_number.parse::<u64>()
            && self.projects.values().any(|v| *v == n)
        {
            return Some(n);
        }
        self.projects.get(id_or_number).copied()
    }

    pub(crate) fn issue_token(&mut self, principal: &str) -> (String, i64) {
        let token = format!("ya29.fake-{}", uuid::Uuid::new_v4().simple());
        let expires = now() + self.token_lifetime;
        self.tokens.insert(
            token.clone(),
            AccessToken {
                principal: principal.to_string(),
                expires,
            },
        );
        (token, self.token_lifetime)
    }

    /// The principal behind an `Authorization: Bearer` header, or the 401 answer.
    pub(crate) fn authenticate(&self, headers: &HeaderMap) -> Result<String, Response> {
        let unauthenticated = || {
            google_error(
                StatusCode::UNAUTHORIZED,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
            )
        };
        let Some(token) = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return Err(google_error(
                StatusCode::UNAUTHORIZED,
                "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
            ));
        };
        match self.tokens.get(token.trim()) {
            Some(t) if t.expires > now() => Ok(t.principal.clone()),
            _ => Err(unauthenticated()),
        }
    }

    pub(crate) fn allowed(&self, principal: &str, project: u64, need: Access) -> bool {
        self.grants
            .get(&(principal.to_string(), project))
            .is_some_and(|a| *a >= need)
    }
}

pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Google's JSON error body (`google.rpc.Status` in its HTTP mapping).
pub(crate) fn google_error(code: StatusCode, message: &str) -> Response {
    let status = match code.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ALREADY_EXISTS",
        429 => "RESOURCE_EXHAUSTED",
        501 => "UNIMPLEMENTED",
        _ => "INTERNAL",
    };
    google_error_status(code, status, message)
}

pub(crate) fn google_error_status(code: StatusCode, status: &str, message: &str) -> Response {
    (
        code,
        [("content-type", "application/json; charset=UTF-8")],
        json!({"error": {"code": code.as_u16(), "message": message, "status": status}}).to_string(),
    )
        .into_response()
}

pub(crate) fn json_response(body: Value) -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/json; charset=UTF-8")],
        body.to_string(),
    )
        .into_response()
}

type Shared = Arc<Mutex<FakeState>>;

/// A running fake; dropping it stops the server (unless it was started detached).
pub struct FakeGcp {
    addr: SocketAddr,
    state: Shared,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for FakeGcp {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

impl FakeGcp {
    /// Starts the fake as a task of the current tokio runtime on 127.0.0.1 with a free port.
    pub async fn start() -> anyhow::Result<FakeGcp> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state: Shared = Arc::new(Mutex::new(FakeState {
            default_page_size: 100,
            token_lifetime: 3599,
            ..Default::default()
        }));
        let router = axum::Router::new()
            .fallback(route)
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(FakeGcp {
            addr,
            state,
            task: Some(task),
        })
    }

    /// One fake per process, served from its own thread, for suites whose controller reads
    /// endpoints once per process (tests separate themselves by project).
    pub fn shared() -> &'static FakeGcp {
        static FAKE: OnceLock<FakeGcp> = OnceLock::new();
        FAKE.get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("fake runtime");
                rt.block_on(async move {
                    let mut fake = FakeGcp::start().await.expect("fake starts");
                    let task = fake.task.take().expect("task");
                    tx.send(fake).expect("send fake");
                    let _ = task.await;
                });
            });
            rx.recv().expect("fake started")
        })
    }

    /// `http://127.0.0.1:PORT`: every service of the fake.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates a project (id and number).
    pub fn add_project(&self, id: &str, number: u64) {
        self.lock().projects.insert(id.to_string(), number);
    }

    /// Grants `principal` access to a whole project.
    pub fn grant(&self, principal: &str, project_id: &str, access: Access) {
        let mut s = self.lock();
        let n = s.projects.get(project_id).copied().expect("project exists");
        s.grants.insert((principal.to_string(), n), access);
    }

    /// Takes a grant away.
    pub fn revoke(&self, principal: &str, project_id: &str) {
        let mut s = self.lock();
        let n = s.projects.get(project_id).copied().expect("project exists");
        s.grants.remove(&(principal.to_string(), n));
    }

    /// Creates a service account key for `email` (`roles/iam.serviceAccountKeyAdmin` in real
    /// life) and returns the JSON key file, whose `token_uri` points at this fake.
    pub fn service_account_key(&self, email: &str, project_id: &str) -> String {
        let key = RsaKeyPair::generate(KeySize::Rsa2048).expect("rsa key");
        let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&key).expect("pkcs8");
        let pem = pem("PRIVATE KEY", pkcs8.as_ref());
        let key_id = hex::encode(uuid::Uuid::new_v4().as_bytes());
        self.lock().keys.insert(
            email.to_string(),
            ServiceAccountKey {
                key_id: key_id.clone(),
                public_key: key.public_key().as_ref().to_vec(),
            },
        );
        json!({
            "type": "service_account",
            "project_id": project_id,
            "private_key_id": key_id,
            "private_key": pem,
            "client_email": email,
            "client_id": "100000000000000000001",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": format!("{}/token", self.url()),
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": format!("https://www.googleapis.com/robot/v1/metadata/x509/{email}"),
            "universe_domain": "googleapis.com"
        })
        .to_string()
    }

    /// Deletes every key of a service account (its key files stop working).
    pub fn delete_keys(&self, email: &str) {
        self.lock().keys.remove(email);
    }

    /// Lets `principal` mint tokens for `service_account` (roles/iam.workloadIdentityUser or
    /// roles/iam.serviceAccountTokenCreator).
    pub fn allow_impersonation(&self, principal: &str, service_account: &str) {
        self.lock()
            .impersonation
            .insert((principal.to_string(), service_account.to_string()));
    }

    /// Registers a GKE cluster of `project_id` whose service-account tokens are signed by
    /// `public_key_spki` under `issuer`; returns the identity provider URL.
    pub fn trust_gke_cluster(
        &self,
        project_id: &str,
        location: &str,
        cluster: &str,
        issuer: &str,
        public_key_spki: &[u8],
    ) -> String {
        let provider = format!(
            "https://container.googleapis.com/v1/projects/{project_id}/locations/{location}/clusters/{cluster}"
        );
        self.lock().gke_clusters.insert(
            provider.clone(),
            TrustedIssuer {
                issuer: issuer.to_string(),
                public_key_spki: public_key_spki.to_vec(),
            },
        );
        provider
    }

    /// Registers an OIDC provider of a workload identity pool; returns its audience
    /// (`//iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/providers/X`).
    /// Subject tokens must carry one of `allowed_audiences` (empty: the default, which is the
    /// audience with an `https:` prefix).
    pub fn add_wif_provider(
        &self,
        project_number: u64,
        pool: &str,
        provider: &str,
        issuer: &str,
        public_key_spki: &[u8],
        allowed_audiences: &[&str],
    ) -> String {
        let pool_name =
            format!("projects/{project_number}/locations/global/workloadIdentityPools/{pool}");
        let audience = format!("//iam.googleapis.com/{pool_name}/providers/{provider}");
        let allowed = if allowed_audiences.is_empty() {
            vec![format!("https:{audience}")]
        } else {
            allowed_audiences.iter().map(|a| a.to_string()).collect()
        };
        self.lock().wif_providers.insert(
            audience.clone(),
            WifProvider {
                pool: pool_name,
                trust: WifTrust::Oidc {
                    trust: TrustedIssuer {
                        issuer: issuer.to_string(),
                        public_key_spki: public_key_spki.to_vec(),
                    },
                    allowed_audiences: allowed,
                },
            },
        );
        audience
    }

    /// Registers an AWS provider of a workload identity pool trusting AWS account `account_id`;
    /// returns its audience. Callers are mapped by ARN (`google.subject=assertion.arn`).
    pub fn add_aws_wif_provider(
        &self,
        project_number: u64,
        pool: &str,
        provider: &str,
        account_id: &str,
    ) -> String {
        let pool_name =
            format!("projects/{project_number}/locations/global/workloadIdentityPools/{pool}");
        let audience = format!("//iam.googleapis.com/{pool_name}/providers/{provider}");
        self.lock().wif_providers.insert(
            audience.clone(),
            WifProvider {
                pool: pool_name,
                trust: WifTrust::Aws {
                    account_id: account_id.to_string(),
                },
            },
        );
        audience
    }

    /// Makes AWS know an access key (of the IAM user or assumed role `arn`).
    pub fn add_aws_key(
        &self,
        access_key_id: &str,
        secret_access_key: &str,
        session_token: Option<&str>,
        arn: &str,
    ) {
        self.lock().aws_principals.insert(
            access_key_id.to_string(),
            aws::AwsPrincipal {
                secret_access_key: secret_access_key.to_string(),
                session_token: session_token.map(str::to_string),
                arn: arn.to_string(),
            },
        );
    }

    /// Plays the metadata service of an EC2 instance in `availability_zone` whose `role`
    /// hands out the (registered) key `access_key_id`; `imdsv2_only` refuses requests without
    /// a session token.
    pub fn set_aws_instance(
        &self,
        availability_zone: &str,
        role: &str,
        access_key_id: &str,
        imdsv2_only: bool,
    ) {
        self.lock().aws_instance = Some(aws::AwsInstance {
            availability_zone: availability_zone.to_string(),
            role: role.to_string(),
            access_key_id: access_key_id.to_string(),
            require_session_token: imdsv2_only,
            session_tokens: Vec::new(),
        });
    }

    /// Serves `body` at `GET /external/{name}` (only with `header`, when given); returns the URL.
    pub fn serve_external_token(
        &self,
        name: &str,
        header: Option<(&str, &str)>,
        body: &str,
    ) -> String {
        self.lock().external_tokens.insert(
            name.to_string(),
            ExternalToken {
                header: header.map(|(k, v)| (k.to_ascii_lowercase(), v.to_string())),
                body: body.to_string(),
            },
        );
        format!("{}/external/{name}", self.url())
    }

    /// An instance attribute of the metadata server (GKE: `cluster-name`, `cluster-location`).
    pub fn set_metadata_attribute(&self, name: &str, value: &str) {
        self.lock()
            .metadata_attributes
            .insert(name.to_string(), value.to_string());
    }

    /// The project the metadata server names (without an identity).
    pub fn set_metadata_project(&self, project_id: &str) {
        self.lock().metadata_project = Some(project_id.to_string());
    }

    /// The service account the metadata server hands out (ambient credentials).
    pub fn set_metadata_identity(&self, email: &str, project_id: &str) {
        self.lock().metadata_identity = Some((email.to_string(), project_id.to_string()));
    }

    /// How many results a list answers when the caller names no `pageSize`.
    pub fn set_default_page_size(&self, n: usize) {
        self.lock().default_page_size = n;
    }

    /// Lifetime of access tokens issued from now on (Google's is 3599 s).
    pub fn set_token_lifetime(&self, seconds: i64) {
        self.lock().token_lifetime = seconds;
    }

    /// Makes every access token issued so far invalid (as if it had expired).
    pub fn expire_tokens(&self) {
        for t in self.lock().tokens.values_mut() {
            t.expires = 0;
        }
    }

    /// An access token for `principal`, for calling the fake directly.
    pub fn token_for(&self, principal: &str) -> String {
        self.lock().issue_token(principal).0
    }

    /// Number of requests per call name (e.g. `AccessSecretVersion`, `Token`); Secret Manager
    /// calls are also counted per project as `CALL@PROJECT` (the project as the caller named it).
    pub fn calls(&self, call: &str) -> u64 {
        self.lock().calls.get(call).copied().unwrap_or(0)
    }

    pub fn reset_calls(&self) {
        self.lock().calls.clear();
    }

    /// Creates a secret (global when `location` is `None`) with `labels`/`annotations` and one
    /// enabled version per payload, bypassing authorisation.
    pub fn put_secret(
        &self,
        project_id: &str,
        location: Option<&str>,
        name: &str,
        labels: &[(&str, &str)],
        annotations: &[(&str, &str)],
        versions: &[&[u8]],
    ) {
        let mut s = self.lock();
        let n = s.projects.get(project_id).copied().expect("project exists");
        s.sm.seed(n, location, name, labels, annotations, versions);
    }

    /// Sets the state of a version (DISABLED, DESTROYED, ENABLED).
    pub fn set_version_state(
        &self,
        project_id: &str,
        location: Option<&str>,
        name: &str,
        version: u64,
        state: VersionState,
    ) {
        let mut s = self.lock();
        let n = s.projects.get(project_id).copied().expect("project exists");
        s.sm.set_state(n, location, name, version, state);
    }

    /// A copy of a stored secret.
    pub fn secret(
        &self,
        project_id: &str,
        location: Option<&str>,
        name: &str,
    ) -> Option<SecretSnapshot> {
        let s = self.lock();
        let n = s.projects.get(project_id).copied()?;
        s.sm.snapshot(n, location, name)
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

async fn route(
    AxState(state): AxState<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query: BTreeMap<String, String> =
        form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    if path == "/token" {
        return auth::oauth_token(&mut s, &method, &headers, &body);
    }
    if path == "/v1/token" {
        return auth::sts_token(&mut s, &method, &headers, &body);
    }
    if let Some(rest) = path.strip_prefix("/v1/projects/-/serviceAccounts/")
        && let Some(email) = rest.strip_suffix(":generateAccessToken")
    {
        let email = percent_decode(email);
        return auth::generate_access_token(&mut s, &method, &headers, &email, &body);
    }
    if let Some(rest) = path.strip_prefix("/computeMetadata/v1/") {
        return auth::metadata(&mut s, &headers, rest);
    }
    if let Some(rest) = path.strip_prefix("/latest/") {
        return aws::metadata(&mut s, &method, &headers, rest);
    }
    if let Some(name) = path.strip_prefix("/external/") {
        s.count("ExternalToken");
        let Some(t) = s.external_tokens.get(name) else {
            return (StatusCode::NOT_FOUND, "not found\n").into_response();
        };
        if let Some((k, v)) = &t.header
            && headers.get(k.as_str()).and_then(|h| h.to_str().ok()) != Some(v.as_str())
        {
            return (StatusCode::UNAUTHORIZED, "unauthorized\n").into_response();
        }
        return (StatusCode::OK, t.body.clone()).into_response();
    }
    if let Some(rest) = path.strip_prefix("/v1/") {
        return secretmanager::handle(&mut s, &method, &headers, rest, &query, &body);
    }
    google_error(
        StatusCode::NOT_FOUND,
        &format!("The requested URL {path} was not found on this server."),
    )
}

pub(crate) fn percent_decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
