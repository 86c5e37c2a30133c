//! Informer caches of SecretStores, ClusterSecretStores and Namespaces, and store resolution.

use std::future::Future;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::runtime::reflector::{self, ObjectRef, Store, store::WriterDropped};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use shared::api::v1::{
    ClusterSecretStore, SecretStore, SecretStoreKind, SecretStoreRef, SecretStoreSpec,
    SecretStoreStatus,
};

use super::conditions::namespace_allowed;
use super::{ResolvedStore, StoreConfig, StoreError};
use crate::provider::{StoreInfo, registry};

/// Read-only view of the stores this controller may use, fed by watches.
#[derive(Clone)]
pub struct StoreIndex {
    cfg: StoreConfig,
    secret_stores: Store<SecretStore>,
    cluster_stores: Option<Store<ClusterSecretStore>>,
    namespaces: Option<Store<Namespace>>,
}

/// Drives one reflector until its watch ends (it does not, barring a dropped client).
async fn drive<K>(api: Api<K>, wc: watcher::Config, writer: reflector::store::Writer<K>)
where
    K: Resource<DynamicType = ()> + Clone + std::fmt::Debug + serde::de::DeserializeOwned,
    K: Send + Sync + 'static,
{
    let kind = K::kind(&()).to_string();
    reflector::reflector(writer, watcher(api, wc))
        .default_backoff()
        .for_each(|event| {
            if let Err(e) = event {
                tracing::warn!(kind = %kind, error = %e, "store index watch error");
            }
            futures::future::ready(())
        })
        .await;
}

impl StoreIndex {
    /// Creates the caches. The returned future runs the watches and must be spawned by the
    /// caller; resolution sees objects once [`StoreIndex::wait_ready`] has returned.
    pub async fn start(
        client: Client,
        cfg: &StoreConfig,
    ) -> (StoreIndex, impl Future<Output = ()> + Send + 'static) {
        let (ss_reader, ss_writer) = reflector::store::<SecretStore>();
        let ss_api: Api<SecretStore> = match &cfg.namespace {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        };
        let mut tasks: Vec<futures::future::BoxFuture<'static, ()>> = vec![Box::pin(drive(
            ss_api,
            watcher::Config::default(),
            ss_writer,
        ))];

        let (cluster_stores, namespaces) = if cfg.enable_cluster_stores {
            let (css_reader, css_writer) = reflector::store::<ClusterSecretStore>();
            tasks.push(Box::pin(drive(
                Api::<ClusterSecretStore>::all(client.clone()),
                watcher::Config::default(),
                css_writer,
            )));
            let (ns_reader, ns_fill) =
                crate::namespaces::cache(client.clone(), cfg.namespace.as_deref());
            tasks.push(ns_fill);
            (Some(css_reader), Some(ns_reader))
        } else {
            (None, None)
        };
        let index = StoreIndex {
            cfg: cfg.clone(),
            secret_stores: ss_reader,
            cluster_stores,
            namespaces,
        };
        (index, async move {
            futures::future::join_all(tasks).await;
        })
    }

    /// Waits until every cache has its initial list.
    pub async fn wait_ready(&self) -> Result<(), WriterDropped> {
        self.secret_stores.wait_until_ready().await?;
        if let Some(css) = &self.cluster_stores {
            css.wait_until_ready().await?;
        }
        if let Some(ns) = &self.namespaces {
            ns.wait_until_ready().await?;
        }
        Ok(())
    }

    /// The SecretStore cache (e.g. to map store events to the objects using them).
    pub fn secret_stores(&self) -> &Store<SecretStore> {
        &self.secret_stores
    }

    /// The ClusterSecretStore cache, when cluster stores are enabled.
    pub fn cluster_stores(&self) -> Option<&Store<ClusterSecretStore>> {
        self.cluster_stores.as_ref()
    }

    /// The configuration the index was started with.
    pub fn config(&self) -> &StoreConfig {
        &self.cfg
    }

    /// Resolves `store_ref` as seen from an object in `object_namespace`: a SecretStore in that
    /// namespace (empty kind means SecretStore) or a ClusterSecretStore, checked for controller
    /// class, namespace conditions and (with the flood gate) readiness, in ESO's order.
    pub fn resolve(
        &self,
        object_namespace: &str,
        store_ref: &SecretStoreRef,
    ) -> Result<ResolvedStore, StoreError> {
        self.resolve_gated(object_namespace, store_ref, self.cfg.flood_gate)
    }

    /// [`StoreIndex::resolve`] without the flood gate, whatever the configuration says: ESO's
    /// PushSecret reconciler builds its client manager with the gate off and pushes to stores
    /// that are not (yet) Ready. Class and ClusterSecretStore conditions still apply.
    pub fn resolve_ungated(
        &self,
        object_namespace: &str,
        store_ref: &SecretStoreRef,
    ) -> Result<ResolvedStore, StoreError> {
        self.resolve_gated(object_namespace, store_ref, false)
    }

    fn resolve_gated(
        &self,
        object_namespace: &str,
        store_ref: &SecretStoreRef,
        flood_gate: bool,
    ) -> Result<ResolvedStore, StoreError> {
        let name = store_ref
            .name
            .as_deref()
            .filter(|n| !n.is_empty())
            .ok_or(StoreError::MissingName)?;
        let (kind, meta, spec, status) = match store_ref.effective_kind() {
            SecretStoreKind::SecretStore => {
                let store = self
                    .secret_stores
                    .get(&ObjectRef::new(name).within(object_namespace))
                    .ok_or_else(|| StoreError::NotFound {
                        kind: "SecretStore",
                        name: name.into(),
                    })?;
                (
                    SecretStoreKind::SecretStore,
                    store.meta().clone(),
                    store.spec.clone(),
                    store.status.clone(),
                )
            }
            SecretStoreKind::ClusterSecretStore => {
                let css = self
                    .cluster_stores
                    .as_ref()
                    .ok_or_else(|| StoreError::ClusterStoresDisabled { name: name.into() })?;
                let store = css
                    .get(&ObjectRef::new(name))
                    .ok_or_else(|| StoreError::NotFound {
                        kind: "ClusterSecretStore",
                        name: name.into(),
                    })?;
                (
                    SecretStoreKind::ClusterSecretStore,
                    store.meta().clone(),
                    store.spec.0.clone(),
                    store.status.clone(),
                )
            }
        };
        let kind_str = kind.as_str();
        if !self.cfg.manages(spec.controller.as_deref()) {
            return Err(StoreError::Unmanaged {
                kind: kind_str,
                name: name.into(),
            });
        }
        if kind == SecretStoreKind::ClusterSecretStore {
            self.check_conditions(name, &spec, object_namespace)?;
        }
        if flood_gate && !is_ready(status.as_ref()) {
            return Err(StoreError::NotReady {
                kind: kind_str,
                name: name.into(),
            });
        }
        let provider = registry::provider_for(&spec)?;
        Ok(ResolvedStore {
            info: StoreInfo {
                kind,
                name: name.into(),
                namespace: meta.namespace.clone(),
                uid: meta.uid.clone().unwrap_or_default(),
                generation: meta.generation.unwrap_or_default(),
                spec,
            },
            provider,
        })
    }

    fn check_conditions(
        &self,
        name: &str,
        spec: &SecretStoreSpec,
        namespace: &str,
    ) -> Result<(), StoreError> {
        let conditions = spec.conditions.as_deref().unwrap_or_default();
        if conditions.is_empty() {
            return Ok(());
        }
        let ns = self
            .namespaces
            .as_ref()
            .and_then(|s| s.get(&ObjectRef::new(namespace)));
        let labels = ns.as_ref().map(|n| n.labels());
        if namespace_allowed(conditions, namespace, labels)? {
            Ok(())
        } else {
            Err(StoreError::NotAllowed {
                name: name.into(),
                namespace: namespace.into(),
            })
        }
    }
}

/// Whether the store's Ready condition is True.
pub(crate) fn is_ready(status: Option<&SecretStoreStatus>) -> bool {
    status
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True")
}
