//! SecretStore and ClusterSecretStore: resolving a store reference from the informer caches,
//! caching provider clients, and the store reconcilers that validate stores and report status.
//!
//! The ExternalSecret and PushSecret reconcilers use [`StoreIndex::resolve`] and
//! [`ClientCache::client`]; neither makes an API request per reconcile.

mod cache;
mod conditions;
mod index;
mod policy;
mod reconciler;
mod status;

use std::sync::Arc;

pub use cache::{
    ClientCache, DEFAULT_CLIENT_TTL, DEFAULT_READ_WINDOW, MAX_READ_REUSE, with_read_max_age,
};
pub use conditions::{ConditionError, namespace_allowed};
pub use index::StoreIndex;
pub use policy::{NamespacePolicies, POLICY_TTL, PolicyCheckError};
pub use reconciler::{DEFAULT_STORE_REQUEUE, run, run_with_push_finalizers};
pub use status::{desired_status, status_changed};

use crate::provider::{Provider, ProviderError, StoreInfo};

/// How this controller instance treats stores.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// `--controller-class`: stores whose `spec.controller` is set to another class are ignored.
    pub controller_class: String,
    /// `--enable-flood-gate`: only stores with Ready=True may be used.
    pub flood_gate: bool,
    /// `--enable-cluster-store-reconciler`: ClusterSecretStores are watched and usable.
    pub enable_cluster_stores: bool,
    /// `--namespace`: watch SecretStores in this namespace only.
    pub namespace: Option<String>,
    /// `--require-namespace-policy`: namespaces without policy annotations deny every role.
    pub require_namespace_policy: bool,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            controller_class: "default".into(),
            flood_gate: true,
            enable_cluster_stores: true,
            namespace: None,
            require_namespace_policy: false,
        }
    }
}

impl StoreConfig {
    /// ESO's `ShouldProcessStore`: an empty `spec.controller` is handled by every controller.
    pub fn manages(&self, store_controller: Option<&str>) -> bool {
        match store_controller {
            None | Some("") => true,
            Some(class) => class == self.controller_class,
        }
    }
}

/// A store reference resolved to its spec and provider.
#[derive(Clone)]
pub struct ResolvedStore {
    /// Identity and spec of the store.
    pub info: StoreInfo,
    /// The provider implementation for `info.spec.provider`.
    pub provider: Arc<dyn Provider>,
}

/// Why a store reference could not be used. Messages follow ESO's wording.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    /// No such store in the cache.
    #[error("could not get {kind} {name:?}, {resource}.external-secrets.io {name:?} not found", resource = plural(kind))]
    NotFound { kind: &'static str, name: String },
    /// The reference has no store name.
    #[error("store reference has no name")]
    MissingName,
    /// The store belongs to another controller class; callers skip the object silently.
    #[error("can not reference unmanaged store")]
    Unmanaged { kind: &'static str, name: String },
    /// The ClusterSecretStore's `spec.conditions` exclude the namespace.
    #[error(
        "using cluster store {name:?} is not allowed from namespace {namespace:?}: denied by spec.condition"
    )]
    NotAllowed { name: String, namespace: String },
    /// A condition could not be evaluated (invalid regex or selector).
    #[error("{0}")]
    InvalidCondition(#[from] ConditionError),
    /// Flood gate: the store is not Ready=True.
    #[error("{kind} {name:?} is not ready")]
    NotReady { kind: &'static str, name: String },
    /// ClusterSecretStores are disabled in this controller; callers skip the object silently.
    #[error(
        "cluster secret stores are disabled in this controller, cannot use ClusterSecretStore {name:?}"
    )]
    ClusterStoresDisabled { name: String },
    /// The store's provider is not implemented or misconfigured.
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

impl StoreError {
    /// Errors that mean "not ours to handle": the caller skips the object without a status.
    pub fn is_skip(&self) -> bool {
        matches!(
            self,
            StoreError::Unmanaged { .. } | StoreError::ClusterStoresDisabled { .. }
        )
    }
}

fn plural(kind: &str) -> &'static str {
    if kind == "ClusterSecretStore" {
        "clustersecretstores"
    } else {
        "secretstores"
    }
}
