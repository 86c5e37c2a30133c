//! Google Secret Manager (`spec.provider.gcpsm`) over its v1 REST API.
//!
//! Credentials: a service-account JSON key (`auth.secretRef.secretAccessKeySecretRef`), GKE
//! Workload Identity (`auth.workloadIdentity`; cluster project, location and name default to
//! what the GKE metadata server says, as in ESO), Workload Identity Federation
//! (`auth.workloadIdentityFederation`: a Kubernetes service-account token, an
//! "external_account" credential configuration from a ConfigMap (`credConfig`: file, URL or
//! AWS `aws1` sources), or AWS keys from a Secret (`awsSecurityCredentials`), see
//! [`federation`]), or the metadata server (no `auth`). See [`auth`] for why tokens are not
//! fetched through `gcp_auth`, and [`endpoints`] for the environment variables that override
//! Google's (and AWS's instance metadata) URLs.
//!
//! Differences from ESO, on purpose: `validate` fetches an access token (ESO makes no call),
//! so broken credentials show on the store; a SecretStore's `credConfig` or
//! `awsCredentialsSecretRef` naming another namespace is an error (ESO ignores the namespace),
//! like every other credential reference here; a `credConfig` file source reaching the
//! controller's own service-account token by another spelling or a symbolic link is refused
//! too (ESO compares the path string only).

mod auth;
mod aws;
pub mod endpoints;
mod federation;
mod metadata;
mod payloads;
mod push;
mod read;
mod subject;

use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use kube::Api;
use reqwest::Method;
use serde_json::Value;
use shared::api::v1::providers::GCPSMProvider;
use shared::api::v1::providers::gcpsm::{GCPWorkloadIdentity, POLICY_LATEST_OR_FETCH};
use shared::api::v1::{
    ExternalSecretDataRemoteRef, ExternalSecretFind, SecretStoreCapabilities, SecretStoreKind,
};
use shared::api::v1alpha1::PushSecretData;
use shared::secret_value::SecretValue;

use self::auth::{Impersonate, KeyFile, Source, Tokens};
pub use self::endpoints::{Endpoints, set_process_endpoints};
use self::subject::Subject;
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
    if let Some(w) = &a.workload_identity_federation {
        if let Some(sa) = &w.service_account_ref {
            return refs::is_referent(ctx, sa.namespace.as_deref());
        }
        if let Some(cc) = &w.cred_config {
            return refs::is_referent(ctx, cc.namespace.as_deref());
        }
        if let Some(aws) = &w.aws_security_credentials {
            return refs::is_referent(ctx, aws.aws_credentials_secret_ref.namespace.as_deref());
        }
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
        let (source, default_project) = self.source(ctx, cfg, &http).await?;
        let tokens = Tokens::new(http.clone(), source);
        let project = match cfg
            .project_id
            .clone()
            .filter(|p| !p.is_empty())
            .or(default_project)
        {
            Some(p) => p,
            None => metadata::project(&http, &self.endpoints.metadata())
                .await?
                .ok_or_else(|| {
                    invalid("projectID is required (the metadata server did not name a project)")
                })?,
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
    /// The token source the store's `auth` describes, and the project to use when `projectID` is unset (the key's, or the GKE cluster's).
    async fn source(
        &self,
        ctx: &ClientContext,
        cfg: &GCPSMProvider,
        http: &reqwest::Client,
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
            // As in ESO, the cluster's project is also the secrets' when projectID is unset.
            let (source, cluster_project) = self.gke_source(ctx, cfg, wi, http).await?;
            return Ok((source, Some(cluster_project)));
        }
        if let Some(wif) = &a.workload_identity_federation {
            return Ok((federation::source(&self.endpoints, ctx, wif).await?, None));
        }
        Ok((
            Source::Metadata {
                base: self.endpoints.metadata(),
            },
            None,
        ))
    }

    /// GKE Workload Identity: the cluster's identity pool and provider, from the store or (as
    /// ESO does) the GKE metadata server.
    async fn gke_source(
        &self,
        ctx: &ClientContext,
        cfg: &GCPSMProvider,
        wi: &GCPWorkloadIdentity,
        http: &reqwest::Client,
    ) -> Result<(Source, String), ProviderError> {
        let set = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        let base = self.endpoints.metadata();
        let unknown = |field: &str| {
            invalid(format!(
                "workloadIdentity: {field} is not set and the GKE metadata server did not tell it: \
                 set clusterProjectID, clusterLocation and clusterName"
            ))
        };
        let cluster_project = match set(&wi.cluster_project_id).or_else(|| set(&cfg.project_id)) {
            Some(p) => p,
            None => metadata::project(http, &base)
                .await?
                .ok_or_else(|| unknown("clusterProjectID (or projectID)"))?,
        };
        let location = match set(&wi.cluster_location) {
            Some(l) => l,
            None => metadata::attribute(http, &base, "cluster-location")
                .await?
                .ok_or_else(|| unknown("clusterLocation"))?,
        };
        let name = match set(&wi.cluster_name) {
            Some(n) => n,
            None => metadata::attribute(http, &base, "cluster-name")
                .await?
                .ok_or_else(|| unknown("clusterName"))?,
        };
        let pool = format!("{cluster_project}.svc.id.goog");
        let provider = format!(
            "https://container.googleapis.com/v1/projects/{cluster_project}/locations/{location}/clusters/{name}"
        );
        let gsa = gke_service_account(ctx, &wi.service_account_ref).await?;
        let source = Source::Sts {
            subject: Subject::ServiceAccount {
                ctx: Box::new(ctx.clone()),
                service_account: wi.service_account_ref.clone(),
                audiences: vec![pool.clone()],
            },
            subject_token_type: federation::JWT_TOKEN_TYPE.into(),
            sts_audience: format!("identitynamespace:{pool}:{provider}"),
            sts_url: self.endpoints.sts_token_url(),
            impersonate: gsa.map(|email| Impersonate {
                base: self.endpoints.iamcredentials(),
                email,
                lifetime: None,
            }),
        };
        Ok((source, cluster_project))
    }
}

/// The Google service account a Kubernetes ServiceAccount is annotated with, if any.
async fn gke_service_account(
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
