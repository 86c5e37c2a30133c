//! The one interface reconcilers use to talk to secret managers.
//!
//! Reconcilers never see a concrete provider: they resolve a store (see `crate::stores`), ask
//! [`registry::provider_for`] for its [`Provider`], build a [`SecretsClient`] bound to the store and
//! the namespace of the object being reconciled, and call it. Each provider lives in its own module
//! and sees only this trait and `shared`.

pub mod aws;
pub mod azure;
pub mod fake;
pub mod gcp;
pub mod kubernetes;
pub mod metrics;
pub mod push_value;
pub mod refs;
pub mod registry;
pub mod vault;

/// Re-exported so providers outside this crate (tests, wrappers) implement the traits with the
/// same macro.
pub use async_trait::async_trait;

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use shared::api::v1::{
    ExternalSecretDataRemoteRef, ExternalSecretFind, SecretStoreCapabilities, SecretStoreKind,
    SecretStoreSpec,
};
use shared::api::v1alpha1::PushSecretData;
use shared::policy::PolicyViolation;
use shared::secret_value::SecretValue;

use crate::stores::NamespacePolicies;

/// What a provider can do; reported in store `status.capabilities`.
pub type Capabilities = SecretStoreCapabilities;

/// A map of fetched values, keyed by (not yet validated) secret key.
pub type SecretMap = BTreeMap<String, SecretValue>;

/// A JSON object split into keys the way ESO's providers do: string values unquoted, anything
/// else as its JSON text. `None` when `text` is not a JSON object.
pub fn json_object_map(text: &str) -> Option<SecretMap> {
    let fields = shared::gjson::object_fields(text)?;
    Some(
        fields
            .into_iter()
            .map(|(k, v)| (k, SecretValue::new(v.to_field_bytes())))
            .collect(),
    )
}

/// Errors providers return. Messages never contain secret values.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ProviderError {
    /// The remote secret does not exist (ESO's `NoSecretErr`): drives `deletionPolicy`.
    #[error("secret does not exist")]
    NoSecret,
    /// The store's configuration cannot work (bad auth reference, unknown field combination).
    #[error("{0}")]
    InvalidConfig(String),
    /// The namespace policy forbids what the store asks for; no provider call was made.
    #[error(transparent)]
    Policy(#[from] PolicyViolation),
    /// The provider does not support this operation (e.g. push to a read-only provider).
    #[error("{0} is not supported by this provider")]
    NotSupported(&'static str),
    /// Any other failure, with the provider's error code/text (never a value).
    #[error("{0}")]
    Other(String),
}

impl ProviderError {
    /// Short machine-readable reason for conditions and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            ProviderError::NoSecret => "NoSecret",
            ProviderError::InvalidConfig(_) => "InvalidProviderConfig",
            ProviderError::Policy(_) => "PolicyViolation",
            ProviderError::NotSupported(_) => "NotSupported",
            ProviderError::Other(_) => "ProviderError",
        }
    }
}

/// Outcome of [`SecretsClient::validate`], mirroring ESO's ValidationResult.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValidationResult {
    /// Credentials work.
    Ready,
    /// Could not be determined (e.g. referent auth in a ClusterSecretStore).
    Unknown,
}

/// The store a client is built for: enough identity to key caches and resolve references.
#[derive(Clone, Debug)]
pub struct StoreInfo {
    /// SecretStore or ClusterSecretStore.
    pub kind: SecretStoreKind,
    /// Store name.
    pub name: String,
    /// Namespace of a SecretStore; `None` for a ClusterSecretStore.
    pub namespace: Option<String>,
    /// Store UID (cache key together with `generation`).
    pub uid: String,
    /// Store `metadata.generation` (cache key together with `uid`).
    pub generation: i64,
    /// The store spec.
    pub spec: SecretStoreSpec,
}

impl StoreInfo {
    /// Namespace in which credential references without an explicit namespace are resolved:
    /// the store's own namespace, or for a ClusterSecretStore the namespace of the object being
    /// reconciled (ESO's "referent" authentication).
    pub fn reference_namespace<'a>(&'a self, object_namespace: &'a str) -> &'a str {
        self.namespace.as_deref().unwrap_or(object_namespace)
    }

    /// Label used in `externalsecret_provider_api_calls_count` and logs: `Kind/name`.
    pub fn display(&self) -> String {
        let kind = match self.kind {
            SecretStoreKind::ClusterSecretStore => "ClusterSecretStore",
            _ => "SecretStore",
        };
        format!("{kind}/{}", self.name)
    }
}

/// Everything a provider may use to build a client.
#[derive(Clone)]
pub struct ClientContext {
    /// Kubernetes client for credential Secrets, ServiceAccount tokens, the Kubernetes provider.
    pub kube: kube::Client,
    /// The store.
    pub store: StoreInfo,
    /// Namespace of the ExternalSecret/PushSecret being reconciled.
    pub object_namespace: String,
    /// Namespace policies; store roles are checked before a client is built, and providers check
    /// roles they only discover at runtime (e.g. a ServiceAccount's role annotation) with
    /// [`ClientContext::check_role`] before assuming them.
    pub policies: NamespacePolicies,
    /// Objects given on the command line (`controller render`): credential references resolve
    /// against these instead of the cluster.
    pub offline: Option<Arc<refs::OfflineObjects>>,
}

impl ClientContext {
    /// A context that reads references from the cluster and permits every role.
    pub fn new(kube: kube::Client, store: StoreInfo, object_namespace: String) -> Self {
        Self {
            kube,
            store,
            object_namespace,
            policies: NamespacePolicies::allow_all(),
            offline: None,
        }
    }

    /// Uses `policies` for runtime role checks.
    pub fn with_policies(mut self, policies: NamespacePolicies) -> Self {
        self.policies = policies;
        self
    }

    /// Resolves credential references against `objects` instead of the cluster.
    pub fn with_offline(mut self, objects: Arc<refs::OfflineObjects>) -> Self {
        self.offline = Some(objects);
        self
    }

    /// Checks a role discovered at runtime against the policy of the object's namespace (the
    /// store's own namespace for a SecretStore).
    pub async fn check_role(&self, role: &str) -> Result<(), ProviderError> {
        let ns = self
            .store
            .reference_namespace(&self.object_namespace)
            .to_string();
        let policy = self.policies.policy(&ns).await.map_err(|e| {
            ProviderError::Other(format!("cannot read the policy of namespace {ns:?}: {e}"))
        })?;
        policy.check_role(role).map_err(ProviderError::Policy)
    }
}

/// Whether a provider is still maintained upstream (ESO's MaintenanceStatus); stores of an
/// unmaintained provider get a `StoreUnmaintained` Warning event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Maintenance {
    Maintained,
    NotMaintained,
    Deprecated,
}

/// A provider family (one per store `spec.provider` key).
#[async_trait]
pub trait Provider: Send + Sync {
    /// What stores of this provider can do.
    fn capabilities(&self) -> Capabilities;

    /// Maintenance status; everything but the fake provider is maintained.
    fn maintenance(&self) -> Maintenance {
        Maintenance::Maintained
    }

    /// Builds a client for one store, as seen from `ctx.object_namespace`.
    async fn new_client(
        &self,
        ctx: &ClientContext,
    ) -> Result<Box<dyn SecretsClient>, ProviderError>;
}

/// A client bound to one store. All methods are read-only on the cluster.
#[async_trait]
pub trait SecretsClient: Send + Sync {
    /// One value (`data[]`), honouring `property`, `version`, `metadataPolicy`.
    async fn get_secret(
        &self,
        r: &ExternalSecretDataRemoteRef,
    ) -> Result<SecretValue, ProviderError>;

    /// One remote secret split into keys (`dataFrom[].extract`).
    async fn get_secret_map(
        &self,
        r: &ExternalSecretDataRemoteRef,
    ) -> Result<SecretMap, ProviderError>;

    /// Many remote secrets (`dataFrom[].find`), keyed by remote name (before key conversion).
    async fn get_all_secrets(&self, find: &ExternalSecretFind) -> Result<SecretMap, ProviderError>;

    /// Writes one entry of a PushSecret. `secret` is the (templated, in-memory) source Secret;
    /// an empty `match.secretKey` pushes the whole Secret.
    async fn push_secret(
        &self,
        secret: &Secret,
        data: &PushSecretData,
    ) -> Result<(), ProviderError> {
        let _ = (secret, data);
        Err(ProviderError::NotSupported("push"))
    }

    /// Deletes what a PushSecret wrote (only entries this operator manages).
    async fn delete_secret(&self, data: &PushSecretData) -> Result<(), ProviderError> {
        let _ = data;
        Err(ProviderError::NotSupported("delete"))
    }

    /// Whether the remote entry exists (for `updatePolicy: IfNotExists`).
    async fn secret_exists(&self, data: &PushSecretData) -> Result<bool, ProviderError> {
        let _ = data;
        Err(ProviderError::NotSupported("exists"))
    }

    /// Checks that the store's credentials work.
    async fn validate(&self) -> Result<ValidationResult, ProviderError>;

    /// Releases resources (sessions, leases). Default: nothing to release.
    async fn close(&self) {}
}

/// Stand-in client for a ClusterSecretStore whose credentials are resolved per object namespace
/// ("referent" authentication) when it is validated without one: validation reports Unknown
/// (as ESO does) and every other call explains what is missing.
pub struct ReferentClient;

fn referent_error() -> ProviderError {
    ProviderError::InvalidConfig(
        "referent authentication needs the namespace of the object being reconciled".into(),
    )
}

#[async_trait]
impl SecretsClient for ReferentClient {
    async fn get_secret(
        &self,
        _: &ExternalSecretDataRemoteRef,
    ) -> Result<SecretValue, ProviderError> {
        Err(referent_error())
    }

    async fn get_secret_map(
        &self,
        _: &ExternalSecretDataRemoteRef,
    ) -> Result<SecretMap, ProviderError> {
        Err(referent_error())
    }

    async fn get_all_secrets(&self, _: &ExternalSecretFind) -> Result<SecretMap, ProviderError> {
        Err(referent_error())
    }

    async fn push_secret(&self, _: &Secret, _: &PushSecretData) -> Result<(), ProviderError> {
        Err(referent_error())
    }

    async fn delete_secret(&self, _: &PushSecretData) -> Result<(), ProviderError> {
        Err(referent_error())
    }

    async fn secret_exists(&self, _: &PushSecretData) -> Result<bool, ProviderError> {
        Err(referent_error())
    }

    async fn validate(&self) -> Result<ValidationResult, ProviderError> {
        Ok(ValidationResult::Unknown)
    }
}
