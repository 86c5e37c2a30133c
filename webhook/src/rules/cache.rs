//! What the rules need from the cluster, kept in memory by watches: namespace annotations (the
//! namespace policy) and ClusterSecretStores (ExternalSecrets and PushSecrets referencing one
//! inherit its role/provider checks). Admission never GETs anything per request.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ApiResource, DynamicObject, PartialObjectMeta, PartialObjectMetaExt};
use kube::runtime::reflector::{self, ObjectRef, Store, store::Writer};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::Value;
use shared::api::v1::ClusterSecretStore;
use shared::policy::{KEY_ANNOTATION, NamespacePolicy, ROLE_ANNOTATION};

use crate::health::ReadyFlag;

/// Readiness flag set once both caches hold their initial lists.
pub const REFLECTORS: &str = "reflectors";

/// Read side of the namespace and ClusterSecretStore caches.
#[derive(Clone)]
pub struct Caches {
    namespaces: Store<PartialObjectMeta<Namespace>>,
    stores: Store<DynamicObject>,
    store_resource: ApiResource,
    policies: Arc<Mutex<HashMap<String, CachedPolicy>>>,
    decoded_stores: Arc<Mutex<HashMap<String, CachedStore>>>,
}

/// Policies and decoded stores are kept for at most this many namespaces / stores; past it the
/// memo starts over (it is only a memo: everything is rebuilt from the reflector on a miss).
const MEMO_LIMIT: usize = 1024;

/// A compiled policy, valid while the namespace's two annotations are what it was built from.
struct CachedPolicy {
    roles: Option<String>,
    keys: Option<String>,
    require: bool,
    policy: NamespacePolicy,
}

/// A typed ClusterSecretStore, valid while the cached object keeps this uid and resourceVersion.
struct CachedStore {
    uid: Option<String>,
    resource_version: Option<String>,
    store: ClusterSecretStore,
}

fn memo_insert<V>(memo: &Mutex<HashMap<String, V>>, key: &str, value: V) {
    let mut memo = memo
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if memo.len() >= MEMO_LIMIT && !memo.contains_key(key) {
        memo.clear();
    }
    memo.insert(key.to_owned(), value);
}

impl std::fmt::Debug for Caches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caches")
            .field("namespaces", &self.namespaces.state().len())
            .field("cluster_secret_stores", &self.stores.state().len())
            .finish()
    }
}

fn css_resource() -> ApiResource {
    ApiResource::erase::<ClusterSecretStore>(&())
}

/// Stored ClusterSecretStores stay untyped: one object our typed API cannot decode (a provider
/// we do not implement) must not stop the whole list from syncing.
fn writers() -> (Writer<PartialObjectMeta<Namespace>>, Writer<DynamicObject>) {
    (Writer::default(), Writer::new(css_resource()))
}

impl Caches {
    /// Caches filled from explicit objects (tests, the offline CLI); already synced.
    pub fn from_objects(namespaces: Vec<Namespace>, stores: Vec<ClusterSecretStore>) -> Self {
        let (mut ns_writer, mut css_writer) = writers();
        ns_writer.apply_watcher_event(&watcher::Event::Init);
        for ns in namespaces {
            let partial: PartialObjectMeta<Namespace> = ns.metadata.into_request_partial();
            ns_writer.apply_watcher_event(&watcher::Event::InitApply(partial));
        }
        ns_writer.apply_watcher_event(&watcher::Event::InitDone);
        css_writer.apply_watcher_event(&watcher::Event::Init);
        for css in stores {
            match serde_json::to_value(&css).and_then(serde_json::from_value::<DynamicObject>) {
                Ok(obj) => css_writer.apply_watcher_event(&watcher::Event::InitApply(obj)),
                Err(e) => tracing::warn!(error = %e, "skipping a ClusterSecretStore"),
            }
        }
        css_writer.apply_watcher_event(&watcher::Event::InitDone);
        Self {
            namespaces: ns_writer.as_reader(),
            stores: css_writer.as_reader(),
            store_resource: css_resource(),
            policies: Arc::default(),
            decoded_stores: Arc::default(),
        }
    }

    /// Starts watches of Namespaces (metadata only) and ClusterSecretStores on the current Tokio
    /// runtime; `ready` is set once both have listed. The watches retry with backoff forever.
    pub fn watch(client: kube::Client, ready: ReadyFlag) -> Self {
        let (ns_writer, css_writer) = writers();
        let caches = Self {
            namespaces: ns_writer.as_reader(),
            stores: css_writer.as_reader(),
            store_resource: css_resource(),
            policies: Arc::default(),
            decoded_stores: Arc::default(),
        };
        // `Api<PartialObjectMeta<_>>` makes metadata-only requests: annotations are all we need.
        let ns_api: Api<PartialObjectMeta<Namespace>> = Api::all(client.clone());
        let ns_stream = reflector::reflector(
            ns_writer,
            watcher::watcher(ns_api, watcher::Config::default()).default_backoff(),
        );
        tokio::spawn(drain(ns_stream, "namespaces"));
        let css_api: Api<DynamicObject> = Api::all_with(client, &css_resource());
        let css_stream = reflector::reflector(
            css_writer,
            watcher::watcher(css_api, watcher::Config::default()).default_backoff(),
        );
        tokio::spawn(drain(css_stream, "clustersecretstores"));
        let (ns_reader, css_reader) = (caches.namespaces.clone(), caches.stores.clone());
        tokio::spawn(async move {
            if ns_reader.wait_until_ready().await.is_ok()
                && css_reader.wait_until_ready().await.is_ok()
            {
                tracing::info!("namespace and ClusterSecretStore caches synced");
                ready.set(true);
            }
        });
        caches
    }

    /// The annotations of `namespace`, or `None` when the namespace is not in the cache.
    pub fn namespace_annotations(&self, namespace: &str) -> Option<BTreeMap<String, String>> {
        self.namespaces
            .get(&ObjectRef::new(namespace))
            .map(|ns| ns.metadata.annotations.clone().unwrap_or_default())
    }

    /// The policy of `namespace` from its annotations, or `None` when the namespace is not in
    /// the cache. Compiled once per annotation value, not per request.
    pub fn namespace_policy(&self, namespace: &str, require: bool) -> Option<NamespacePolicy> {
        let ns = self.namespaces.get(&ObjectRef::new(namespace))?;
        let annotation = |key: &str| {
            ns.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(key))
                .cloned()
        };
        let (roles, keys) = (annotation(ROLE_ANNOTATION), annotation(KEY_ANNOTATION));
        if let Some(hit) = self
            .policies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(namespace)
            .filter(|c| c.roles == roles && c.keys == keys && c.require == require)
        {
            return Some(hit.policy.clone());
        }
        let mut annotations = BTreeMap::new();
        annotations.extend(roles.clone().map(|v| (ROLE_ANNOTATION.to_owned(), v)));
        annotations.extend(keys.clone().map(|v| (KEY_ANNOTATION.to_owned(), v)));
        let policy = NamespacePolicy::from_annotations(namespace, &annotations, require);
        memo_insert(
            &self.policies,
            namespace,
            CachedPolicy {
                roles,
                keys,
                require,
                policy: policy.clone(),
            },
        );
        Some(policy)
    }

    /// The cached ClusterSecretStore `name`, decoded; `None` when absent or not decodable.
    /// Decoded once per resourceVersion.
    pub fn cluster_secret_store(&self, name: &str) -> Option<ClusterSecretStore> {
        let obj = self
            .stores
            .get(&ObjectRef::new_with(name, self.store_resource.clone()))?;
        let (uid, rv) = (&obj.metadata.uid, &obj.metadata.resource_version);
        if rv.is_some()
            && let Some(hit) = self
                .decoded_stores
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(name)
                .filter(|c| &c.uid == uid && &c.resource_version == rv)
        {
            return Some(hit.store.clone());
        }
        let store = self.decode_store(&obj)?;
        if rv.is_some() {
            memo_insert(
                &self.decoded_stores,
                name,
                CachedStore {
                    uid: uid.clone(),
                    resource_version: rv.clone(),
                    store: store.clone(),
                },
            );
        }
        Some(store)
    }

    fn decode_store(&self, obj: &DynamicObject) -> Option<ClusterSecretStore> {
        let mut value = serde_json::to_value(obj).ok()?;
        // List items may arrive without apiVersion/kind; the typed form wants them.
        if let Value::Object(map) = &mut value {
            map.insert(
                "apiVersion".into(),
                Value::String(self.store_resource.api_version.clone()),
            );
            map.insert(
                "kind".into(),
                Value::String(self.store_resource.kind.clone()),
            );
        }
        serde_json::from_value(value).ok()
    }
}

/// Runs a reflector stream, logging (never the objects) watch errors.
async fn drain<S, T>(stream: S, what: &'static str)
where
    S: futures::Stream<Item = Result<T, watcher::Error>>,
{
    let mut stream = std::pin::pin!(stream);
    while let Some(item) = stream.next().await {
        if let Err(e) = item {
            tracing::warn!(error = %e, cache = what, "watch failed; retrying");
        }
    }
}
