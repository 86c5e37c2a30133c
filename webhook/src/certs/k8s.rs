//! The Kubernetes-facing half of certificate ownership, behind [`CertStore`] so the convergence
//! logic runs in unit tests without a cluster.
//!
//! RBAC this needs: `get`, `update` on the one Secret (by `resourceNames`) plus `create` on
//! Secrets in its namespace (Kubernetes cannot scope `create` by name); `get`, `patch` on the
//! named webhook configurations and, with conversion, on the named CRDs. No list or watch.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use super::bundle::{Assessment, CertBundle, CertSettings, GenerateError, ensure_bundle};

/// Field manager for our patches.
pub const FIELD_MANAGER: &str = "external-secrets-webhook";

/// A stored Secret as far as certificate ownership cares.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredSecret {
    pub data: BTreeMap<String, Vec<u8>>,
    pub resource_version: Option<String>,
}

impl std::fmt::Debug for StoredSecret {
    // Only key names: the values include private keys.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSecret")
            .field("keys", &self.data.keys().collect::<Vec<_>>())
            .field("resource_version", &self.resource_version)
            .finish()
    }
}

/// Errors talking to the cluster, reduced to what the convergence loop acts on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Create raced with another writer.
    #[error("the Secret already exists")]
    AlreadyExists,
    /// Update lost an optimistic-concurrency race (HTTP 409).
    #[error("the Secret was changed concurrently")]
    Conflict,
    #[error("{0}")]
    Other(String),
}

/// Where the certificate lives and who needs its CA.
pub trait CertStore: Send + Sync {
    /// Reads the certificate Secret (`None` if it does not exist).
    fn get(&self) -> impl Future<Output = Result<Option<StoredSecret>, StoreError>> + Send;
    /// Creates the Secret; [`StoreError::AlreadyExists`] when another replica was first.
    fn create(
        &self,
        data: BTreeMap<String, Vec<u8>>,
    ) -> impl Future<Output = Result<StoredSecret, StoreError>> + Send;
    /// Replaces the Secret's data if it is still at `resource_version`, else [`StoreError::Conflict`].
    fn update(
        &self,
        data: BTreeMap<String, Vec<u8>>,
        resource_version: Option<String>,
    ) -> impl Future<Output = Result<StoredSecret, StoreError>> + Send;
    /// Puts `ca_bundle_pem` into every configured webhook configuration (and CRD conversion
    /// webhook, when conversion is served). Returns the names that were actually changed.
    fn inject_ca_bundle(
        &self,
        ca_bundle_pem: &str,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
}

/// Why [`ensure_stored`] gave up.
#[derive(Debug, thiserror::Error)]
pub enum EnsureError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Generate(#[from] GenerateError),
    #[error("the certificate Secret kept changing under us ({0} attempts)")]
    TooManyConflicts(usize),
}

/// The outcome of one convergence round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ensured {
    pub bundle: CertBundle,
    /// `Some` when this replica wrote a new bundle, with why.
    pub written: Option<Assessment>,
}

const MAX_ATTEMPTS: usize = 6;

/// Makes the stored Secret hold a valid bundle and returns it.
///
/// Read-decide-write with optimistic concurrency: whoever loses a create or update race re-reads
/// and, finding the winner's bundle valid, adopts it. So any number of replicas converge on the
/// one bundle in the Secret instead of each serving its own.
pub async fn ensure_stored<S: CertStore>(
    store: &S,
    settings: &CertSettings,
    now: SystemTime,
) -> Result<Ensured, EnsureError> {
    for _ in 0..MAX_ATTEMPTS {
        let stored = store.get().await?;
        let existing = stored
            .as_ref()
            .map(|s| CertBundle::from_secret_data(&s.data))
            .unwrap_or_default();
        let (bundle, assessment) = ensure_bundle(&existing, settings, now)?;
        if assessment == Assessment::Valid {
            return Ok(Ensured {
                bundle,
                written: None,
            });
        }
        let result = match stored {
            None => store.create(bundle.to_secret_data()).await,
            Some(stored) => {
                // Keep unrelated keys someone else put in the Secret.
                let mut data = stored.data;
                data.extend(bundle.to_secret_data());
                store.update(data, stored.resource_version).await
            }
        };
        match result {
            Ok(_) => {
                return Ok(Ensured {
                    bundle,
                    written: Some(assessment),
                });
            }
            Err(StoreError::AlreadyExists | StoreError::Conflict) => {
                tracing::debug!("lost a race writing the certificate Secret; re-reading");
            }
            Err(other) => return Err(other.into()),
        }
    }
    Err(EnsureError::TooManyConflicts(MAX_ATTEMPTS))
}

/// [`CertStore`] backed by the Kubernetes API.
#[derive(Clone)]
pub struct KubeCertStore {
    client: kube::Client,
    secret_name: String,
    secret_namespace: String,
    validating_configs: Vec<String>,
    mutating_configs: Vec<String>,
    /// CRDs whose conversion webhook gets the caBundle; empty when conversion is not served.
    conversion_crds: Vec<String>,
    service_name: String,
    service_namespace: String,
}

impl std::fmt::Debug for KubeCertStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeCertStore")
            .field(
                "secret",
                &format_args!("{}/{}", self.secret_namespace, self.secret_name),
            )
            .finish_non_exhaustive()
    }
}

/// Names and places [`KubeCertStore`] works with.
#[derive(Clone, Debug, Default)]
pub struct KubeTargets {
    pub secret_name: String,
    pub secret_namespace: String,
    pub validating_configs: Vec<String>,
    pub mutating_configs: Vec<String>,
    pub conversion_crds: Vec<String>,
    pub service_name: String,
    pub service_namespace: String,
}

impl KubeCertStore {
    pub fn new(client: kube::Client, targets: KubeTargets) -> Self {
        let clean = |v: Vec<String>| v.into_iter().filter(|s| !s.trim().is_empty()).collect();
        Self {
            client,
            secret_name: targets.secret_name,
            secret_namespace: targets.secret_namespace,
            validating_configs: clean(targets.validating_configs),
            mutating_configs: clean(targets.mutating_configs),
            conversion_crds: clean(targets.conversion_crds),
            service_name: targets.service_name,
            service_namespace: targets.service_namespace,
        }
    }

    fn secrets(&self) -> Api<Secret> {
        Api::namespaced(self.client.clone(), &self.secret_namespace)
    }
}

fn api_error(err: kube::Error) -> StoreError {
    match &err {
        kube::Error::Api(status) if status.code == 409 && status.reason == "AlreadyExists" => {
            StoreError::AlreadyExists
        }
        kube::Error::Api(status) if status.code == 409 => StoreError::Conflict,
        // A decoding error can quote the payload, which may be key material.
        kube::Error::SerdeError(_) => {
            StoreError::Other("could not decode the API server's response".to_owned())
        }
        _ => StoreError::Other(err.to_string()),
    }
}

fn stored(secret: Secret) -> StoredSecret {
    StoredSecret {
        data: secret
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect(),
        resource_version: secret.metadata.resource_version,
    }
}

fn secret_object(name: &str, namespace: &str, data: BTreeMap<String, Vec<u8>>) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(namespace.to_owned()),
            labels: Some(BTreeMap::from([(
                "external-secrets.io/component".to_owned(),
                "webhook".to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        type_: Some("kubernetes.io/tls".to_owned()),
        data: Some(data.into_iter().map(|(k, v)| (k, ByteString(v))).collect()),
        ..Secret::default()
    }
}

/// JSON patch setting `caBundle` on every webhook of a configuration whose value differs. Each
/// write is guarded by a `test` of the webhook's name so a concurrent reorder cannot misdirect it.
pub fn webhook_ca_patch(webhooks: &[Value], ca_bundle_b64: &str) -> Vec<Value> {
    let mut ops = Vec::new();
    for (index, webhook) in webhooks.iter().enumerate() {
        let current = webhook
            .pointer("/clientConfig/caBundle")
            .and_then(Value::as_str);
        if current == Some(ca_bundle_b64) {
            continue;
        }
        if let Some(name) = webhook.get("name") {
            ops.push(
                json!({"op": "test", "path": format!("/webhooks/{index}/name"), "value": name}),
            );
        }
        ops.push(json!({"op": "add", "path": format!("/webhooks/{index}/clientConfig/caBundle"), "value": ca_bundle_b64}));
    }
    ops
}

/// Merge patch pointing a CRD's conversion webhook at our Service with our CA, or `None` when
/// the CRD does not use webhook conversion or already has exactly that.
pub fn crd_conversion_patch(
    crd: &Value,
    ca_bundle_b64: &str,
    service_name: &str,
    service_namespace: &str,
) -> Option<Value> {
    let conversion = crd.pointer("/spec/conversion")?;
    if conversion.get("strategy").and_then(Value::as_str) != Some("Webhook") {
        return None;
    }
    let client_config = conversion.pointer("/webhook/clientConfig");
    let service = client_config.and_then(|c| c.get("service"));
    let up_to_date = client_config
        .and_then(|c| c.get("caBundle"))
        .and_then(Value::as_str)
        == Some(ca_bundle_b64)
        && service.and_then(|s| s.get("name")).and_then(Value::as_str) == Some(service_name)
        && service
            .and_then(|s| s.get("namespace"))
            .and_then(Value::as_str)
            == Some(service_namespace)
        && service.and_then(|s| s.get("path")).and_then(Value::as_str) == Some("/convert");
    if up_to_date {
        return None;
    }
    Some(json!({"spec": {"conversion": {"webhook": {"clientConfig": {
        "caBundle": ca_bundle_b64,
        "url": null,
        "service": {"name": service_name, "namespace": service_namespace, "path": "/convert"}
    }}}}}))
}

async fn patch_webhooks<K>(api: Api<K>, name: &str, ca_b64: &str) -> Result<bool, StoreError>
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + serde::Serialize,
{
    let Some(object) = api.get_opt(name).await.map_err(api_error)? else {
        tracing::warn!(
            name,
            "webhook configuration not found; caBundle not injected"
        );
        return Ok(false);
    };
    let value = serde_json::to_value(&object).map_err(|e| StoreError::Other(e.to_string()))?;
    let webhooks = value
        .get("webhooks")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let ops = webhook_ca_patch(&webhooks, ca_b64);
    if ops.is_empty() {
        return Ok(false);
    }
    let patch: json_patch::Patch =
        serde_json::from_value(Value::Array(ops)).map_err(|e| StoreError::Other(e.to_string()))?;
    api.patch(name, &PatchParams::default(), &Patch::<()>::Json(patch))
        .await
        .map_err(api_error)?;
    Ok(true)
}

impl CertStore for KubeCertStore {
    async fn get(&self) -> Result<Option<StoredSecret>, StoreError> {
        Ok(self
            .secrets()
            .get_opt(&self.secret_name)
            .await
            .map_err(api_error)?
            .map(stored))
    }

    async fn create(&self, data: BTreeMap<String, Vec<u8>>) -> Result<StoredSecret, StoreError> {
        let secret = secret_object(&self.secret_name, &self.secret_namespace, data);
        let pp = PostParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PostParams::default()
        };
        Ok(stored(
            self.secrets()
                .create(&pp, &secret)
                .await
                .map_err(api_error)?,
        ))
    }

    async fn update(
        &self,
        data: BTreeMap<String, Vec<u8>>,
        resource_version: Option<String>,
    ) -> Result<StoredSecret, StoreError> {
        // A merge patch carrying metadata.resourceVersion is a compare-and-swap: the apiserver
        // answers 409 if the Secret moved on. Labels, annotations and type set by others stay.
        let Some(rv) = resource_version else {
            return Err(StoreError::Other(
                "stored Secret has no resourceVersion".to_owned(),
            ));
        };
        let encoded: serde_json::Map<String, Value> = data
            .into_iter()
            .map(|(k, v)| (k, Value::String(BASE64.encode(v))))
            .collect();
        let patch = json!({"metadata": {"resourceVersion": rv}, "data": encoded});
        let pp = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        let secret = self
            .secrets()
            .patch(&self.secret_name, &pp, &Patch::Merge(patch))
            .await
            .map_err(api_error)?;
        Ok(stored(secret))
    }

    async fn inject_ca_bundle(&self, ca_bundle_pem: &str) -> Result<Vec<String>, StoreError> {
        let ca_b64 = BASE64.encode(ca_bundle_pem.as_bytes());
        let mut changed = Vec::new();
        let mut failures = Vec::new();
        for name in &self.validating_configs {
            let api: Api<ValidatingWebhookConfiguration> = Api::all(self.client.clone());
            match patch_webhooks(api, name, &ca_b64).await {
                Ok(true) => changed.push(format!("validatingwebhookconfiguration/{name}")),
                Ok(false) => {}
                Err(e) => failures.push(format!("validatingwebhookconfiguration/{name}: {e}")),
            }
        }
        for name in &self.mutating_configs {
            let api: Api<MutatingWebhookConfiguration> = Api::all(self.client.clone());
            match patch_webhooks(api, name, &ca_b64).await {
                Ok(true) => changed.push(format!("mutatingwebhookconfiguration/{name}")),
                Ok(false) => {}
                Err(e) => failures.push(format!("mutatingwebhookconfiguration/{name}: {e}")),
            }
        }
        let crds: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        for name in &self.conversion_crds {
            match self.patch_crd(&crds, name, &ca_b64).await {
                Ok(true) => changed.push(format!("customresourcedefinition/{name}")),
                Ok(false) => {}
                Err(e) => failures.push(format!("customresourcedefinition/{name}: {e}")),
            }
        }
        if failures.is_empty() {
            Ok(changed)
        } else {
            Err(StoreError::Other(failures.join("; ")))
        }
    }
}

impl KubeCertStore {
    async fn patch_crd(
        &self,
        crds: &Api<CustomResourceDefinition>,
        name: &str,
        ca_b64: &str,
    ) -> Result<bool, StoreError> {
        let Some(crd) = crds.get_opt(name).await.map_err(api_error)? else {
            tracing::warn!(name, "CRD not found; conversion caBundle not injected");
            return Ok(false);
        };
        let value = serde_json::to_value(&crd).map_err(|e| StoreError::Other(e.to_string()))?;
        let Some(patch) =
            crd_conversion_patch(&value, ca_b64, &self.service_name, &self.service_namespace)
        else {
            return Ok(false);
        };
        crds.patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .map_err(api_error)?;
        Ok(true)
    }
}
