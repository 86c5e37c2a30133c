//! Google Secret Manager (`spec.provider.gcpsm`) over its v1 REST API.
//!
//! Credentials: a service-account JSON key (`auth.secretRef.secretAccessKeySecretRef`), GKE
//! Workload Identity (`auth.workloadIdentity`), Workload Identity Federation with a Kubernetes
//! service-account token (`auth.workloadIdentityFederation.serviceAccountRef` + `audience`),
//! or the metadata server (no `auth`). See [`auth`] for why tokens are not fetched through
//! `gcp_auth`, and [`endpoints`] for the environment variables that override Google's URLs.
//!
//! Differences from ESO, on purpose: `validate` fetches an access token (ESO makes no call),
//! so broken credentials show on the store; Workload Identity Federation from a `credConfig`
//! ConfigMap or AWS credentials is not implemented and says so; GKE Workload Identity needs
//! `clusterLocation` and `clusterName` (ESO can read them from the GKE metadata server).

mod auth;
pub mod endpoints;
mod payloads;
mod push;
mod read;

use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use kube::Api;
use reqwest::Method;
use serde_json::Value;
use shared::api::v1::providers::GCPSMProvider;
use shared::api::v1::providers::gcpsm::POLICY_LATEST_OR_FETCH;
use shared::api::v1::{
    ExternalSecretDataRemoteRef, ExternalSecretFind, SecretStoreCapabilities, SecretStoreKind,
};
use shared::api::v1alpha1::PushSecretData;
use shared::secret_value::SecretValue;

use self::auth::{KeyFile, Source, Tokens};
pub use self::endpoints::{Endpoints, set_process_endpoints};
use super::metrics::record;
use super::{
    Capabilities, ClientContext, Provider, ProviderError, SecretMap, SecretsClient,
    ValidationResult, refs,
};

/// `provider` label of `externalsecret_provider_api_calls_count`, as ESO's.
pub const PROVIDER: &str = "GCP/SecretManager";
/// Label ESO puts on secrets it creates through PushSecret; deletes and updates require it.
pub const MANAGED_BY: (&str, &str) = ("managed-by", "external-secrets");
const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// Annotation of a Kubernetes ServiceAccount naming the Google service account it acts as.
pub const GKE_SA_ANNOTATION: &str = "iam.gke.io/gcp-service-account";

fn invalid(msg: impl Into<String>) -> ProviderError {
    ProviderError::InvalidConfig(msg.into())
}

/// The Google Secret Manager provider; endpoints are fixed at construction.
pub struct GcpProvider {
    endpoints: Endpoints,
}

impl GcpProvider {
    /// A provider reaching the given endpoints (tests, embedders).
    pub fn with_endpoints(endpoints: Endpoints) -> Self {
        Self { endpoints }
    }

    /// The process-wide configuration: see [`Endpoints::for_process`].
    pub fn from_process() -> Self {
        Self::with_endpoints(Endpoints::for_process())
    }
}

fn is_referent(ctx: &ClientContext, cfg: &GCPSMProvider) -> bool {
    let Some(a) = &cfg.auth else {
        return false;
    };
    if let Some(sel) = a
        .secret_ref
        .as_ref()
        .and_then(|s| s.secret_access_key_secret_ref.as_ref())
    {
        return refs::is_referent(ctx, sel.namespace.as_deref());
    }
    if let Some(wi) = &a.workload_identity {
        return refs::is_referent(ctx, wi.service_account_ref.namespace.as_deref());
    }
    if let Some(sa) = a
        .workload_identity_federation
        .as_ref()
        .and_then(|w| w.service_account_ref.as_ref())
    {
        return refs::is_referent(ctx, sa.namespace.as_deref());
    }
    false
}

#[async_trait]
impl Provider for GcpProvider {
    fn capabilities(&self) -> Capabilities {
        SecretStoreCapabilities::ReadWrite
    }

    async fn new_client(
        &self,
        ctx: &ClientContext,
    ) -> Result<Box<dyn SecretsClient>, ProviderError> {
        let cfg = ctx
            .store
            .spec
            .provider
            .gcpsm
            .as_ref()
            .ok_or_else(|| invalid("missing store provider gcpsm"))?;
        if ctx.store.kind == SecretStoreKind::ClusterSecretStore
            && ctx.object_namespace.is_empty()
            && is_referent(ctx, cfg)
        {
            return Ok(Box::new(super::ReferentClient));
        }
        self.endpoints.check()?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| ProviderError::Other(format!("unable to build an HTTP client: {e}")))?;
        let (source, key_project) = self.source(ctx, cfg).await?;
        let tokens = Tokens::new(http.clone(), source);
        let project = match cfg
            .project_id
            .clone()
            .filter(|p| !p.is_empty())
            .or(key_project)
        {
            Some(p) => p,
            None => self.metadata_project(&http).await?,
        };
        let location = cfg.location.clone().filter(|l| !l.is_empty());
        let parent = match &location {
            Some(l) => format!("projects/{project}/locations/{l}"),
            None => format!("projects/{project}"),
        };
        Ok(Box::new(GcpClient {
            http,
            tokens,
            base: format!("{}/v1", self.endpoints.secretmanager(location.as_deref())),
            parent,
            regional: location.is_some(),
            latest_or_fetch: cfg.secret_version_selection_policy.as_deref()
                == Some(POLICY_LATEST_OR_FETCH),
            payloads: Default::default(),
        }))
    }
}

impl GcpProvider {
    /// The token source the store's `auth` describes, and the key's project if any.
    async fn source(
        &self,
        ctx: &ClientContext,
        cfg: &GCPSMProvider,
    ) -> Result<(Source, Option<String>), ProviderError> {
        let Some(a) = &cfg.auth else {
            return Ok((
                Source::Metadata {
                    base: self.endpoints.metadata(),
                },
                None,
            ));
        };
        if let Some(sr) = &a.secret_ref {
            let sel = sr.secret_access_key_secret_ref.as_ref().ok_or_else(|| {
                invalid("auth.secretRef.secretAccessKeySecretRef must name the service account key")
            })?;
            let bytes = refs::secret_key(ctx, sel, None).await?;
            let key = KeyFile::parse(bytes.as_bytes())?;
            let project = key.project_id.clone().filter(|p| !p.is_empty());
            return Ok((Source::from_key(key, GOOGLE_TOKEN_URI)?, project));
        }
        if let Some(wi) = &a.workload_identity {
            let cluster_project = wi
                .cluster_project_id
                .clone()
                .or_else(|| cfg.project_id.clone())
                .filter(|p| !p.is_empty())
                .ok_or_else(|| invalid("workloadIdentity needs clusterProjectID or projectID"))?;
            let (Some(location), Some(name)) = (
                wi.cluster_location.as_deref().filter(|s| !s.is_empty()),
                wi.cluster_name.as_deref().filter(|s| !s.is_empty()),
            ) else {
                return Err(invalid(
                    "workloadIdentity needs clusterLocation and clusterName",
                ));
            };
            let pool = format!("{cluster_project}.svc.id.goog");
            let provider = format!(
                "https://container.googleapis.com/v1/projects/{cluster_project}/locations/{location}/clusters/{name}"
            );
            let gsa = self
                .gke_service_account(ctx, &wi.service_account_ref)
                .await?;
            return Ok((
                Source::Sts {
                    ctx: Box::new(ctx.clone()),
                    service_account: wi.service_account_ref.clone(),
                    token_audiences: vec![pool.clone()],
                    sts_audience: format!("identitynamespace:{pool}:{provider}"),
                    sts_url: self.endpoints.sts_token_url(),
                    impersonate: gsa.map(|e| (self.endpoints.iamcredentials(), e)),
                },
                None,
            ));
        }
        if let Some(wif) = &a.workload_identity_federation {
            if wif.aws_security_credentials.is_some() {
                return Err(invalid(
                    "workloadIdentityFederation.awsSecurityCredentials is not supported by this operator",
                ));
            }
            if wif.cred_config.is_some() {
                return Err(invalid(
                    "workloadIdentityFederation.credConfig is not supported by this operator: use serviceAccountRef and audience",
                ));
            }
            let sa = wif
                .service_account_ref
                .clone()
                .ok_or_else(|| invalid("workloadIdentityFederation needs serviceAccountRef"))?;
            let audience = wif
                .audience
                .clone()
                .filter(|a| !a.is_empty())
                .ok_or_else(|| invalid("workloadIdentityFederation needs audience"))?;
            let token_audiences = if sa.audiences.as_ref().is_some_and(|a| !a.is_empty()) {
                Vec::new()
            } else {
                vec![audience.clone()]
            };
            return Ok((
                Source::Sts {
                    ctx: Box::new(ctx.clone()),
                    service_account: sa,
                    token_audiences,
                    sts_audience: audience,
                    sts_url: self.endpoints.sts_token_url(),
                    impersonate: wif
                        .gcp_service_account_email
                        .clone()
                        .filter(|e| !e.is_empty())
                        .map(|e| (self.endpoints.iamcredentials(), e)),
                },
                None,
            ));
        }
        Ok((
            Source::Metadata {
                base: self.endpoints.metadata(),
            },
            None,
        ))
    }

    /// The Google service account a Kubernetes ServiceAccount is annotated with, if any.
    async fn gke_service_account(
        &self,
        ctx: &ClientContext,
        sel: &shared::api::meta::ServiceAccountSelector,
    ) -> Result<Option<String>, ProviderError> {
        let ns = refs::reference_namespace(ctx, sel.namespace.as_deref())?;
        let sa = Api::<ServiceAccount>::namespaced(ctx.kube.clone(), &ns)
            .get(&sel.name)
            .await
            .map_err(|e| invalid(format!("cannot get service account {ns}/{}: {e}", sel.name)))?;
        Ok(sa
            .metadata
            .annotations
            .and_then(|mut a| a.remove(GKE_SA_ANNOTATION))
            .filter(|e| !e.is_empty()))
    }

    async fn metadata_project(&self, http: &reqwest::Client) -> Result<String, ProviderError> {
        let url = format!(
            "{}/computeMetadata/v1/project/project-id",
            self.endpoints.metadata()
        );
        let resp = http
            .get(&url)
            .header("Metadata-Flavor", "Google")
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        record(
            PROVIDER,
            "GetMetadataProject",
            matches!(&resp, Ok(r) if r.status().is_success()),
        );
        let missing =
            || invalid("projectID is required (the metadata server did not name a project)");
        let resp = resp.map_err(|_| missing())?;
        if !resp.status().is_success() {
            return Err(missing());
        }
        resp.text()
            .await
            .ok()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .ok_or_else(missing)
    }
}

/// A Secret Manager answer other than 2xx: HTTP code, `error.status`, `error.message`.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub code: u16,
    pub status: String,
    pub message: String,
}

impl ApiError {
    fn into_provider(self) -> ProviderError {
        ProviderError::Other(format!(
            "Google Secret Manager: {} {}: {}",
            self.code, self.status, self.message
        ))
    }

    pub(crate) fn not_found(&self) -> bool {
        self.code == 404
    }

    pub(crate) fn failed_precondition(&self) -> bool {
        self.status == "FAILED_PRECONDITION"
    }
}

pub(crate) enum CallError {
    Api(ApiError),
    Other(ProviderError),
}

impl From<CallError> for ProviderError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Api(a) => a.into_provider(),
            CallError::Other(p) => p,
        }
    }
}

/// A client for one store: a project (and location) with a token source.
pub(crate) struct GcpClient {
    http: reqwest::Client,
    tokens: Tokens,
    base: String,
    parent: String,
    regional: bool,
    latest_or_fetch: bool,
    payloads: payloads::Payloads,
}

impl GcpClient {
    pub(crate) fn secret_path(&self, id: &str) -> String {
        format!("{}/secrets/{id}", self.parent)
    }

    /// One API call (`path` below `/v1/`, with query), counted under `call`; a 401 drops the
    /// cached token and is retried once with a new one.
    pub(crate) async fn call(
        &self,
        call: &'static str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, CallError> {
        let url = format!("{}/{path}", self.base);
        for attempt in 0..2 {
            let token = self.tokens.token().await.map_err(CallError::Other)?;
            let mut rb = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(token.expose_str().unwrap_or_default());
            if let Some(b) = body {
                rb = rb.json(b);
            }
            let resp = rb.send().await;
            let resp = match resp {
                Ok(r) => r,
                Err(e) => {
                    record(PROVIDER, call, false);
                    return Err(CallError::Other(ProviderError::Other(format!(
                        "Google Secret Manager {call}: {}",
                        e.without_url()
                    ))));
                }
            };
            let status = resp.status();
            record(PROVIDER, call, status.is_success());
            if status.is_success() {
                return resp.json::<Value>().await.map_err(|e| {
                    CallError::Other(ProviderError::Other(format!(
                        "Google Secret Manager {call}: unreadable answer: {}",
                        e.without_url()
                    )))
                });
            }
            if status.as_u16() == 401 && attempt == 0 {
                self.tokens.invalidate().await;
                continue;
            }
            let body: Value = resp.json().await.unwrap_or_default();
            return Err(CallError::Api(ApiError {
                code: status.as_u16(),
                status: body["error"]["status"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                message: body["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            }));
        }
        Err(CallError::Other(ProviderError::Other(format!(
            "Google Secret Manager {call}: credentials refused"
        ))))
    }
}

#[async_trait]
impl SecretsClient for GcpClient {
    async fn get_secret(
        &self,
        r: &ExternalSecretDataRemoteRef,
    ) -> Result<SecretValue, ProviderError> {
        read::get_secret(self, r).await
    }

    async fn get_secret_map(
        &self,
        r: &ExternalSecretDataRemoteRef,
    ) -> Result<SecretMap, ProviderError> {
        read::get_secret_map(self, r).await
    }

    async fn get_all_secrets(&self, find: &ExternalSecretFind) -> Result<SecretMap, ProviderError> {
        read::find(self, find).await
    }

    async fn push_secret(
        &self,
        secret: &Secret,
        data: &PushSecretData,
    ) -> Result<(), ProviderError> {
        let out = push::push(self, secret, data).await;
        self.payloads.clear();
        out
    }

    async fn delete_secret(&self, data: &PushSecretData) -> Result<(), ProviderError> {
        let out = push::delete(self, data).await;
        self.payloads.clear();
        out
    }

    async fn secret_exists(&self, data: &PushSecretData) -> Result<bool, ProviderError> {
        push::exists(self, data).await
    }

    /// Fetches an access token: proves the credentials without needing any Secret Manager
    /// permission beyond what reads need.
    async fn validate(&self) -> Result<ValidationResult, ProviderError> {
        self.tokens.token().await?;
        Ok(ValidationResult::Ready)
    }
}
