//! What every reconciler shares (client, configuration, recorder, caches) and
//! [`run_controllers`], which runs them all in-process.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::Client;
use kube::runtime::events::{Event, EventType, Reporter};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};
use shared::api::v1::SecretStoreRef;
use shared::template::Options;

use crate::events::BoundedRecorder;
use crate::externalsecret::data::SourceError;
use crate::provider::SecretsClient;
use crate::stores::{self, ClientCache, StoreConfig, StoreError, StoreIndex};

/// Runtime configuration (the `controller run` flags that affect reconcilers).
#[derive(Clone, Debug)]
pub struct Config {
    /// Only stores whose `spec.controller` equals this (or is empty when this is `default`)
    /// are used.
    pub controller_class: String,
    /// Restrict watches to one namespace.
    pub namespace: Option<String>,
    /// Reconcile ClusterSecretStores and let ExternalSecrets use them.
    pub enable_cluster_stores: bool,
    /// Reconcile SecretStores.
    pub enable_secret_stores: bool,
    /// Run the ClusterExternalSecret reconciler.
    pub enable_cluster_external_secrets: bool,
    /// Run the PushSecret reconciler.
    pub enable_push_secrets: bool,
    /// Run the ClusterPushSecret reconciler.
    pub enable_cluster_push_secrets: bool,
    /// Require a store to be Ready before using it.
    pub enable_flood_gate: bool,
    /// How often stores are re-validated.
    pub store_requeue_interval: Duration,
    /// Maximum parallel reconciles per controller.
    pub concurrent: u16,
    /// Template delimiters.
    pub template: Options,
    /// Deny remote keys/roles in namespaces without policy annotations.
    pub require_namespace_policy: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            controller_class: "default".into(),
            namespace: None,
            enable_cluster_stores: true,
            enable_secret_stores: true,
            enable_cluster_external_secrets: true,
            enable_push_secrets: true,
            enable_cluster_push_secrets: true,
            enable_flood_gate: true,
            store_requeue_interval: Duration::from_secs(300),
            concurrent: 1,
            template: Options::default(),
            require_namespace_policy: false,
        }
    }
}

/// Access to stores for one reconcile: resolution (class, conditions, flood gate) and clients.
#[async_trait]
pub trait StoreAccess: Send + Sync {
    /// A client for `store` as seen from `namespace`.
    async fn client(
        &self,
        store: &SecretStoreRef,
        namespace: &str,
    ) -> Result<Arc<dyn SecretsClient>, SourceError>;

    /// Whether `store` exists and belongs to another controller class (such ExternalSecrets
    /// are skipped silently; missing stores are not foreign).
    async fn is_foreign(&self, store: &SecretStoreRef, namespace: &str) -> bool;
}

/// Shared state of the reconcilers.
pub struct Context {
    /// Kubernetes client.
    pub client: Client,
    /// Configuration.
    pub config: Config,
    /// Store resolution and clients.
    pub stores: Arc<dyn StoreAccess>,
    /// Event recorder (`external-secrets`).
    pub recorder: BoundedRecorder,
    /// Cache of managed Secrets (label `reconcile.external-secrets.io/managed=true`).
    pub secrets: Store<Secret>,
    /// Cache of Namespaces (policy annotations).
    pub namespaces: Store<Namespace>,
    /// The cached Secrets by their created-by label.
    pub created_by: Arc<crate::externalsecret::targets::CreatedByIndex>,
    /// Consecutive failures per object, for the error backoff.
    failures: Mutex<HashMap<String, u32>>,
    /// Last successful sync per object (syncedResourceVersion, refreshTime) as written by this
    /// process: a reconcile triggered by our own Secret write can run before the status write
    /// reaches the cache, and must not sync again because of that.
    synced: Mutex<HashMap<String, (String, k8s_openapi::apimachinery::pkg::apis::meta::v1::Time)>>,
}

impl Context {
    /// Builds the context.
    pub fn new(
        client: Client,
        config: Config,
        stores: Arc<dyn StoreAccess>,
        secrets: Store<Secret>,
        namespaces: Store<Namespace>,
        created_by: Arc<crate::externalsecret::targets::CreatedByIndex>,
    ) -> Self {
        let recorder = BoundedRecorder::new(
            client.clone(),
            Reporter {
                controller: "external-secrets".into(),
                instance: std::env::var("POD_NAME").ok(),
            },
        );
        Self {
            client,
            config,
            stores,
            recorder,
            secrets,
            namespaces,
            created_by,
            failures: Mutex::new(HashMap::new()),
            synced: Mutex::new(HashMap::new()),
        }
    }

    /// Publishes an event about `obj`; failures are logged, never fatal.
    pub async fn event<K: Resource<DynamicType = ()>>(
        &self,
        obj: &K,
        type_: EventType,
        reason: &str,
        note: &str,
    ) {
        let ev = Event {
            type_,
            reason: reason.into(),
            note: Some(note.into()),
            action: reason.into(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&ev, &obj.object_ref(&())).await {
            tracing::debug!(error = %e, "could not publish event");
        }
    }

    /// The managed Secret `name` from the cache.
    pub fn cached_secret(&self, namespace: &str, name: &str) -> Option<Arc<Secret>> {
        self.secrets.get(&ObjectRef::new(name).within(namespace))
    }

    /// Records a failure and returns the backoff before the next attempt (1 s doubling up to
    /// 7 min, ESO's per-item limiter).
    pub fn backoff(&self, key: &str) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let n = failures.entry(key.to_string()).or_insert(0);
        *n = n.saturating_add(1);
        let secs = 1u64.checked_shl(n.saturating_sub(1)).unwrap_or(u64::MAX);
        Duration::from_secs(secs.min(420))
    }

    /// Remembers a sync this process wrote to the status of `key`.
    pub fn remember_sync(
        &self,
        key: &str,
        version: String,
        at: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
    ) {
        let mut synced = self.synced.lock().unwrap_or_else(|p| p.into_inner());
        synced.insert(key.to_string(), (version, at));
    }

    /// Whether this process has recorded a sync of `key`.
    pub fn has_synced(&self, key: &str) -> bool {
        let synced = self.synced.lock().unwrap_or_else(|p| p.into_inner());
        synced.contains_key(key)
    }

    /// Forgets what [`Context::remember_sync`] recorded (object deleted).
    pub fn forget_sync(&self, key: &str) {
        let mut synced = self.synced.lock().unwrap_or_else(|p| p.into_inner());
        synced.remove(key);
    }

    /// The sync bookkeeping of `key` if it is newer than what `current` (from the cache) says.
    pub fn newer_sync(
        &self,
        key: &str,
        current: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>,
    ) -> Option<(String, k8s_openapi::apimachinery::pkg::apis::meta::v1::Time)> {
        let synced = self.synced.lock().unwrap_or_else(|p| p.into_inner());
        let (version, at) = synced.get(key)?;
        match current {
            Some(t) if t.0 >= at.0 => None,
            _ => Some((version.clone(), at.clone())),
        }
    }

    /// Forgets the failures of `key` after a success.
    pub fn succeeded(&self, key: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.remove(key);
    }
}

/// Adds (`present`) or removes finalizer `name` with a merge patch guarded by the object's
/// resourceVersion (ESO patches finalizers the same way). Returns whether a write happened.
pub async fn set_finalizer<K>(
    api: &kube::Api<K>,
    obj: &K,
    name: &str,
    present: bool,
) -> Result<bool, kube::Error>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let mut finalizers = obj.meta().finalizers.clone().unwrap_or_default();
    if finalizers.iter().any(|f| f == name) == present {
        return Ok(false);
    }
    if present {
        finalizers.push(name.to_string());
    } else {
        finalizers.retain(|f| f != name);
    }
    let patch = serde_json::json!({"metadata": {
        "finalizers": finalizers,
        "resourceVersion": obj.meta().resource_version,
    }});
    api.patch(
        &obj.name_any(),
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(patch),
    )
    .await?;
    Ok(true)
}

/// `namespace/name` of an object, for logs and backoff bookkeeping.
pub fn key_of<K: Resource>(obj: &K) -> String {
    format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any())
}

/// [`StoreAccess`] over the store informer caches and the shared provider-client cache.
#[derive(Clone)]
pub struct IndexedStores {
    kube: Client,
    index: StoreIndex,
    cache: ClientCache,
}

impl IndexedStores {
    /// Store access over `index`, building clients through `cache`.
    pub fn new(kube: Client, index: StoreIndex, cache: ClientCache) -> Self {
        Self { kube, index, cache }
    }
}

#[async_trait]
impl StoreAccess for IndexedStores {
    async fn client(
        &self,
        store: &SecretStoreRef,
        namespace: &str,
    ) -> Result<Arc<dyn SecretsClient>, SourceError> {
        let resolved = self.index.resolve(namespace, store).map_err(|e| match e {
            StoreError::Provider(p) => SourceError::Provider(p),
            other => SourceError::Store(other.to_string()),
        })?;
        Ok(self.cache.client(&self.kube, &resolved, namespace).await?)
    }

    async fn is_foreign(&self, store: &SecretStoreRef, namespace: &str) -> bool {
        matches!(self.index.resolve(namespace, store), Err(e) if e.is_skip())
    }
}

impl Config {
    /// The store-side view of this configuration.
    pub fn store_config(&self) -> StoreConfig {
        StoreConfig {
            controller_class: self.controller_class.clone(),
            flood_gate: self.enable_flood_gate,
            enable_cluster_stores: self.enable_cluster_stores,
            namespace: self.namespace.clone(),
            require_namespace_policy: self.require_namespace_policy,
        }
    }
}

/// Runs the store reconcilers, the ExternalSecret, ClusterExternalSecret, PushSecret and
/// ClusterPushSecret reconcilers (each as enabled) until `shutdown` resolves.
pub async fn run_controllers(
    client: Client,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let store_cfg = config.store_config();
    let (index, watches) = StoreIndex::start(client.clone(), &store_cfg).await;
    let watches = tokio::spawn(watches);
    index
        .wait_ready()
        .await
        .map_err(|e| anyhow::anyhow!("store caches: {e}"))?;
    let clients = ClientCache::new().with_policies(crate::stores::NamespacePolicies::new(
        client.clone(),
        config.require_namespace_policy,
    ));
    let stores = Arc::new(IndexedStores::new(
        client.clone(),
        index.clone(),
        clients.clone(),
    ));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let push = {
        let client = client.clone();
        let stop = stop_rx.clone();
        let gs_namespace = config.namespace.clone();
        let cfg = crate::pushsecret::PushSecretConfig {
            namespace: config.namespace.clone(),
        };
        let (ps, cps) = (
            config.enable_push_secrets,
            config.enable_cluster_push_secrets,
        );
        async move {
            let ps_run = async {
                if ps {
                    crate::pushsecret::run(
                        client.clone(),
                        index,
                        clients,
                        cfg,
                        crate::externalsecret::controller::stopped(stop.clone()),
                    )
                    .await;
                }
            };
            let cps_run = async {
                if cps {
                    crate::clusterpushsecret::run(
                        client.clone(),
                        crate::externalsecret::controller::stopped(stop.clone()),
                    )
                    .await;
                }
            };
            let gs_run = crate::generatorstate::run(
                client.clone(),
                gs_namespace,
                crate::externalsecret::controller::stopped(stop.clone()),
            );
            tokio::join!(ps_run, cps_run, gs_run);
        }
    };
    let store_reconcilers = {
        let client = client.clone();
        let stop = crate::externalsecret::controller::stopped(stop_rx.clone());
        let enabled = config.enable_secret_stores || config.enable_cluster_stores;
        let requeue = config.store_requeue_interval;
        async move {
            if enabled {
                stores::run(client, &store_cfg, requeue, stop).await;
            }
        }
    };
    let trigger = async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    };
    let stopped = crate::externalsecret::controller::stopped(stop_rx);
    let result = tokio::join!(
        store_reconcilers,
        push,
        run_controllers_with(client, config, stores, stopped),
        trigger
    );
    watches.abort();
    result.2
}

/// Runs every enabled reconciler until `shutdown` resolves, using `stores` for store access.
pub async fn run_controllers_with(
    client: Client,
    config: Config,
    stores: Arc<dyn StoreAccess>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let es = crate::externalsecret::controller::run(
        client.clone(),
        config.clone(),
        stores.clone(),
        stop_rx.clone(),
    );
    let ces = async {
        if config.enable_cluster_external_secrets {
            crate::clusterexternalsecret::controller::run(
                client.clone(),
                config.clone(),
                stop_rx.clone(),
            )
            .await;
        }
    };
    let trigger = async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    };
    tokio::join!(es, ces, trigger);
    Ok(())
}
