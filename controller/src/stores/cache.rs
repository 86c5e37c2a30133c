//! Provider clients cached per (store UID, generation, object namespace), and per-client
//! single-flight of identical reads so that N objects reading the same remote key at the same
//! moment cost one provider call.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Secret;
use shared::api::v1::{ExternalSecretDataRemoteRef, ExternalSecretFind};
use shared::api::v1alpha1::PushSecretData;
use shared::secret_value::SecretValue;
use tokio::sync::OnceCell;

use super::ResolvedStore;
use super::policy::{NamespacePolicies, PolicyCheckError};
use crate::provider::{ClientContext, ProviderError, SecretMap, SecretsClient, ValidationResult};

/// How long a successful read is reused by identical reads that start after it finished.
pub const DEFAULT_READ_WINDOW: Duration = Duration::from_secs(1);
/// Clients are rebuilt after this long even without a store change, so rotated credentials
/// (a new token in the referenced Secret) are picked up.
pub const DEFAULT_CLIENT_TTL: Duration = Duration::from_secs(300);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ClientKey {
    uid: String,
    generation: i64,
    namespace: String,
}

struct Slot {
    cell: OnceCell<(Arc<dyn SecretsClient>, Instant)>,
}

/// Shared cache of provider clients; cheap to clone.
#[derive(Clone)]
pub struct ClientCache {
    slots: Arc<Mutex<HashMap<ClientKey, Arc<Slot>>>>,
    read_window: Duration,
    client_ttl: Duration,
    policies: NamespacePolicies,
}

impl Default for ClientCache {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientCache {
    /// A cache with the default read window (1 s) and client lifetime (5 min).
    pub fn new() -> Self {
        Self::with_windows(DEFAULT_READ_WINDOW, DEFAULT_CLIENT_TTL)
    }

    /// A cache with explicit read-reuse window and client lifetime.
    pub fn with_windows(read_window: Duration, client_ttl: Duration) -> Self {
        ClientCache {
            slots: Arc::default(),
            read_window,
            client_ttl,
            policies: NamespacePolicies::allow_all(),
        }
    }

    /// Checks store roles against these namespace policies before handing out any client
    /// (without this, every namespace permits every role: offline use and unit tests).
    pub fn with_policies(mut self, policies: NamespacePolicies) -> Self {
        self.policies = policies;
        self
    }

    /// The client for `store` as seen from `object_namespace`, built once per store generation
    /// (concurrent callers share one build; failed builds are not cached).
    pub async fn client(
        &self,
        kube: &kube::Client,
        store: &ResolvedStore,
        object_namespace: &str,
    ) -> Result<Arc<dyn SecretsClient>, ProviderError> {
        // Before the cache lookup: a cached client must not outlive a tightened policy.
        self.policies
            .check_store(&store.info.spec, object_namespace)
            .await
            .map_err(|e| match e {
                PolicyCheckError::Violation(v) => ProviderError::Policy(v),
                PolicyCheckError::Read(e) => ProviderError::Other(format!(
                    "cannot read the policy of namespace {object_namespace:?}: {e}"
                )),
            })?;
        let key = ClientKey {
            uid: store.info.uid.clone(),
            generation: store.info.generation,
            namespace: object_namespace.to_string(),
        };
        let slot = {
            let mut slots = lock(&self.slots);
            // A new generation supersedes every older client of the same store.
            slots.retain(|k, _| k.uid != key.uid || k.generation >= key.generation);
            let expired = slots
                .get(&key)
                .and_then(|s| s.cell.get())
                .is_some_and(|(_, built)| built.elapsed() >= self.client_ttl);
            if expired {
                slots.remove(&key);
            }
            slots
                .entry(key)
                .or_insert_with(|| {
                    Arc::new(Slot {
                        cell: OnceCell::new(),
                    })
                })
                .clone()
        };
        let window = self.read_window;
        let (client, _) = slot
            .cell
            .get_or_try_init(|| async {
                let ctx = ClientContext::new(
                    kube.clone(),
                    store.info.clone(),
                    object_namespace.to_string(),
                )
                .with_policies(self.policies.clone());
                let inner: Arc<dyn SecretsClient> =
                    Arc::from(store.provider.new_client(&ctx).await?);
                let wrapped: Arc<dyn SecretsClient> = Arc::new(SingleFlight::new(inner, window));
                Ok::<_, ProviderError>((wrapped, Instant::now()))
            })
            .await?;
        Ok(client.clone())
    }

    /// Drops every cached client of a store (e.g. when it is deleted).
    pub fn forget(&self, uid: &str) {
        lock(&self.slots).retain(|k, _| k.uid != uid);
    }

    /// Number of cached clients (for tests and debugging).
    pub fn len(&self) -> usize {
        lock(&self.slots).len()
    }

    /// Whether no client is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

struct Flight<T> {
    cell: OnceCell<Result<T, ProviderError>>,
    done_at: OnceLock<Instant>,
}

impl<T> Flight<T> {
    /// In flight, or finished successfully after `not_before`.
    fn joinable(&self, not_before: Instant) -> bool {
        match self.done_at.get() {
            None => true,
            Some(done) => matches!(self.cell.get(), Some(Ok(_))) && *done > not_before,
        }
    }
}

tokio::task_local! {
    /// Finished reads older than this instant are not reused by the calling reconcile.
    static READ_NOT_BEFORE: Instant;
}

/// Reads are never reused for longer than this, whatever the caller allows; it also bounds how
/// long finished reads are kept.
pub const MAX_READ_REUSE: Duration = Duration::from_secs(3600);

/// Runs `f` with reads through cached clients reusing results up to `max_age` old (capped at
/// [`MAX_READ_REUSE`]). A periodic refresh passes its refresh interval: its data may then be one
/// interval old — the staleness polling already implies — and N objects reading one remote key
/// cost one provider call per interval instead of N. A sync caused by a change (new spec,
/// force-sync annotation) passes zero and reads fresh: only reads finished since the scope began
/// (e.g. the same key named twice in one ExternalSecret) and calls in flight are shared.
/// Outside such a scope the cache's own read window applies.
pub async fn with_read_max_age<F: Future>(max_age: Duration, f: F) -> F::Output {
    let now = Instant::now();
    let not_before = now.checked_sub(max_age.min(MAX_READ_REUSE)).unwrap_or(now);
    READ_NOT_BEFORE.scope(not_before, f).await
}

/// Finished flights are swept from the map once per this many calls (sweeping is O(keys)).
const SWEEP_EVERY: u32 = 256;

/// Flights by read key, and the number of calls since the map was created (for sweeping).
type FlightMap<T> = (HashMap<String, Arc<Flight<T>>>, u32);

/// Identical concurrent calls share one execution; results are reused while young enough.
struct Flights<T> {
    map: Mutex<FlightMap<T>>,
    window: Duration,
}

impl<T: Clone> Flights<T> {
    fn new(window: Duration) -> Self {
        Flights {
            map: Mutex::default(),
            window,
        }
    }

    async fn run<F, Fut>(&self, key: String, call: F) -> Result<T, ProviderError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let now = Instant::now();
        let not_before = READ_NOT_BEFORE
            .try_with(|t| *t)
            .unwrap_or_else(|_| now.checked_sub(self.window).unwrap_or(now));
        let flight = {
            let mut guard = lock(&self.map);
            let (map, calls) = &mut *guard;
            *calls = calls.wrapping_add(1);
            if *calls % SWEEP_EVERY == 0 {
                let keep = now
                    .checked_sub(self.window.max(MAX_READ_REUSE))
                    .unwrap_or(now);
                map.retain(|_, f| f.joinable(keep));
            }
            match map.get(&key) {
                Some(f) if f.joinable(not_before) => f.clone(),
                _ => {
                    let f = Arc::new(Flight {
                        cell: OnceCell::new(),
                        done_at: OnceLock::new(),
                    });
                    map.insert(key.clone(), f.clone());
                    f
                }
            }
        };
        let result = flight.cell.get_or_init(call).await.clone();
        flight.done_at.get_or_init(Instant::now);
        if result.is_err() {
            // Errors are shared only with callers that joined this flight.
            let mut guard = lock(&self.map);
            if guard.0.get(&key).is_some_and(|f| Arc::ptr_eq(f, &flight)) {
                guard.0.remove(&key);
            }
        }
        result
    }

    /// Forgets finished reads, so a read after a write sees the write.
    fn clear_finished(&self) {
        lock(&self.map).0.retain(|_, f| f.done_at.get().is_none());
    }
}

/// Wraps a provider client with single-flight reads.
struct SingleFlight {
    inner: Arc<dyn SecretsClient>,
    secrets: Flights<SecretValue>,
    maps: Flights<SecretMap>,
    finds: Flights<SecretMap>,
}

impl SingleFlight {
    fn clear_finished(&self) {
        self.secrets.clear_finished();
        self.maps.clear_finished();
        self.finds.clear_finished();
    }

    fn new(inner: Arc<dyn SecretsClient>, window: Duration) -> Self {
        SingleFlight {
            inner,
            secrets: Flights::new(window),
            maps: Flights::new(window),
            finds: Flights::new(window),
        }
    }
}

/// The fields of a remote ref that select what the provider returns (decoding and conversion
/// happen after the call).
fn read_key(r: &ExternalSecretDataRemoteRef) -> String {
    serde_json::json!([r.key, r.property, r.version, r.metadata_policy]).to_string()
}

#[async_trait]
impl SecretsClient for SingleFlight {
    async fn get_secret(
        &self,
        r: &ExternalSecretDataRemoteRef,
    ) -> Result<SecretValue, ProviderError> {
        self.secrets
            .run(read_key(r), || self.inner.get_secret(r))
            .await
    }

    async fn get_secret_map(
        &self,
        r: &ExternalSecretDataRemoteRef,
    ) -> Result<SecretMap, ProviderError> {
        self.maps
            .run(read_key(r), || self.inner.get_secret_map(r))
            .await
    }

    async fn get_all_secrets(&self, find: &ExternalSecretFind) -> Result<SecretMap, ProviderError> {
        let key = serde_json::to_string(find).unwrap_or_default();
        self.finds
            .run(key, || self.inner.get_all_secrets(find))
            .await
    }

    async fn push_secret(
        &self,
        secret: &Secret,
        data: &PushSecretData,
    ) -> Result<(), ProviderError> {
        let out = self.inner.push_secret(secret, data).await;
        self.clear_finished();
        out
    }

    async fn delete_secret(&self, data: &PushSecretData) -> Result<(), ProviderError> {
        let out = self.inner.delete_secret(data).await;
        self.clear_finished();
        out
    }

    async fn secret_exists(&self, data: &PushSecretData) -> Result<bool, ProviderError> {
        self.inner.secret_exists(data).await
    }

    async fn validate(&self) -> Result<ValidationResult, ProviderError> {
        self.inner.validate().await
    }

    async fn close(&self) {
        self.inner.close().await
    }
}
