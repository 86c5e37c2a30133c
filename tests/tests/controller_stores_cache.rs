//! ClientCache: one client per store generation, single-flight reads, short reuse window, and
//! errors never outliving their flight. A counting provider wraps the fake provider.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use controller::provider::fake::FakeProvider;
use controller::provider::{
    Capabilities, ClientContext, Provider, ProviderError, SecretMap, SecretsClient, StoreInfo,
    ValidationResult, async_trait,
};
use controller::stores::{ClientCache, ResolvedStore};
use k8s_openapi::api::core::v1::Secret;
use serde_json::json;
use shared::api::v1::{
    ExternalSecretDataRemoteRef, ExternalSecretFind, SecretStoreKind, SecretStoreSpec,
};
use shared::api::v1alpha1::PushSecretData;
use shared::secret_value::SecretValue;

#[derive(Default)]
struct Counts {
    builds: AtomicUsize,
    reads: AtomicUsize,
}

/// The fake provider, counting client builds and reads; each read takes 50 ms so concurrent
/// callers overlap.
struct Counting {
    inner: FakeProvider,
    counts: Arc<Counts>,
}

struct CountingClient {
    inner: Box<dyn SecretsClient>,
    counts: Arc<Counts>,
}

#[async_trait]
impl Provider for Counting {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn new_client(
        &self,
        ctx: &ClientContext,
    ) -> Result<Box<dyn SecretsClient>, ProviderError> {
        self.counts.builds.fetch_add(1, Ordering::SeqCst);
        Ok(Box::new(CountingClient {
            inner: self.inner.new_client(ctx).await?,
            counts: self.counts.clone(),
        }))
    }
}

impl CountingClient {
    async fn slow(&self) {
        self.counts.reads.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[async_trait]
impl SecretsClient for CountingClient {
    async fn get_secret(
        &self,
        r: &ExternalSecretDataRemoteRef,
    ) -> Result<SecretValue, ProviderError> {
        self.slow().await;
        self.inner.get_secret(r).await
    }
    async fn get_secret_map(
        &self,
        r: &ExternalSecretDataRemoteRef,
    ) -> Result<SecretMap, ProviderError> {
        self.slow().await;
        self.inner.get_secret_map(r).await
    }
    async fn get_all_secrets(&self, f: &ExternalSecretFind) -> Result<SecretMap, ProviderError> {
        self.slow().await;
        self.inner.get_all_secrets(f).await
    }
    async fn push_secret(&self, s: &Secret, d: &PushSecretData) -> Result<(), ProviderError> {
        self.inner.push_secret(s, d).await
    }
    async fn validate(&self) -> Result<ValidationResult, ProviderError> {
        self.inner.validate().await
    }
}

fn offline_kube() -> kube::Client {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    kube::Client::try_from(kube::Config::new("http://127.0.0.1:9".parse().unwrap())).unwrap()
}

fn store(counts: &Arc<Counts>, generation: i64) -> ResolvedStore {
    let spec: SecretStoreSpec = serde_json::from_value(json!({"provider": {"fake": {"data": [
        {"key": "a", "value": "A"},
        {"key": "b", "value": "B"},
        {"key": "m", "value": "{\"x\":\"y\"}"},
    ]}}}))
    .unwrap();
    ResolvedStore {
        info: StoreInfo {
            kind: SecretStoreKind::SecretStore,
            name: "s".into(),
            namespace: Some("default".into()),
            uid: "uid-1".into(),
            generation,
            spec,
        },
        provider: Arc::new(Counting {
            inner: FakeProvider::new(),
            counts: counts.clone(),
        }),
    }
}

/// A cache over the counting provider, with a Kubernetes client nothing listens behind.
struct Fixture {
    counts: Arc<Counts>,
    cache: ClientCache,
    kube: kube::Client,
}

impl Fixture {
    fn new(cache: ClientCache) -> Self {
        Fixture {
            counts: Arc::default(),
            cache,
            kube: offline_kube(),
        }
    }

    /// The cached client of store generation `generation`, for objects in `object_ns`.
    async fn client(&self, generation: i64, object_ns: &str) -> Arc<dyn SecretsClient> {
        self.cache
            .client(&self.kube, &store(&self.counts, generation), object_ns)
            .await
            .unwrap()
    }

    fn builds(&self) -> usize {
        self.counts.builds.load(Ordering::SeqCst)
    }

    fn reads(&self) -> usize {
        self.counts.reads.load(Ordering::SeqCst)
    }
}

fn key(k: &str) -> ExternalSecretDataRemoteRef {
    ExternalSecretDataRemoteRef {
        key: k.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn concurrent_identical_reads_make_one_provider_call() {
    let counts = Arc::new(Counts::default());
    let cache = ClientCache::new();
    let kube = offline_kube();
    let s = store(&counts, 1);
    let reads = (0..20).map(|_| {
        let (cache, kube, s) = (cache.clone(), kube.clone(), s.clone());
        tokio::spawn(async move {
            let c = cache.client(&kube, &s, "default").await.unwrap();
            c.get_secret(&key("a")).await.unwrap()
        })
    });
    for r in futures::future::join_all(reads).await {
        assert_eq!(r.unwrap().as_bytes(), b"A");
    }
    assert_eq!(counts.builds.load(Ordering::SeqCst), 1);
    assert_eq!(counts.reads.load(Ordering::SeqCst), 1);

    // Distinct keys and distinct call kinds are separate calls.
    let c = cache.client(&kube, &s, "default").await.unwrap();
    let (kb, km) = (key("b"), key("m"));
    let (b, m) = tokio::join!(c.get_secret(&kb), c.get_secret_map(&km));
    assert_eq!(b.unwrap().as_bytes(), b"B");
    assert_eq!(m.unwrap()["x"].as_bytes(), b"y");
    assert_eq!(counts.reads.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn finished_reads_are_reused_only_within_the_window() {
    let f = Fixture::new(ClientCache::with_windows(
        Duration::from_millis(300),
        Duration::from_secs(60),
    ));
    let c = f.client(1, "default").await;
    c.get_secret(&key("a")).await.unwrap();
    c.get_secret(&key("a")).await.unwrap();
    assert_eq!(f.reads(), 1);
    tokio::time::sleep(Duration::from_millis(400)).await;
    c.get_secret(&key("a")).await.unwrap();
    assert_eq!(f.reads(), 2);
}

#[tokio::test]
async fn errors_are_shared_by_the_flight_but_not_cached() {
    let f = Fixture::new(ClientCache::with_windows(
        Duration::from_secs(60),
        Duration::from_secs(60),
    ));
    let c = f.client(1, "default").await;
    let absent = key("absent");
    let (x, y) = tokio::join!(c.get_secret(&absent), c.get_secret(&absent));
    assert!(matches!(x, Err(ProviderError::NoSecret)));
    assert!(matches!(y, Err(ProviderError::NoSecret)));
    assert_eq!(f.reads(), 1);
    // The next read asks again even though the window is long.
    assert!(c.get_secret(&key("absent")).await.is_err());
    assert_eq!(f.reads(), 2);
}

#[tokio::test]
async fn clients_are_rebuilt_only_when_the_store_generation_changes() {
    let f = Fixture::new(ClientCache::new());
    f.client(1, "default").await;
    f.client(1, "default").await;
    assert_eq!(f.builds(), 1);
    f.client(2, "default").await;
    assert_eq!(f.builds(), 2);
    // The old generation's client was dropped.
    assert_eq!(f.cache.len(), 1);
    // Another object namespace gets its own client (referent auth differs per namespace).
    f.client(2, "other").await;
    assert_eq!(f.builds(), 3);
}

#[tokio::test]
async fn a_push_makes_the_next_read_ask_the_provider() {
    let f = Fixture::new(ClientCache::with_windows(
        Duration::from_secs(60),
        Duration::from_secs(60),
    ));
    let c = f.client(1, "default").await;
    assert!(c.get_secret(&key("pushed")).await.is_err());
    let secret: Secret = serde_json::from_value(json!({"data": {"k": "dmFsdWU="}})).unwrap();
    let data: PushSecretData = serde_json::from_value(
        json!({"match": {"secretKey": "k", "remoteRef": {"remoteKey": "pushed"}}}),
    )
    .unwrap();
    c.get_secret(&key("a")).await.unwrap();
    c.push_secret(&secret, &data).await.unwrap();
    assert_eq!(
        c.get_secret(&key("pushed")).await.unwrap().as_bytes(),
        b"value"
    );
    c.get_secret(&key("a")).await.unwrap();
    assert_eq!(f.reads(), 4);
}

#[tokio::test]
async fn a_refresh_scope_reuses_reads_up_to_its_age_and_a_change_reads_fresh() {
    use controller::stores::with_read_max_age;
    let f = Fixture::new(ClientCache::with_windows(
        Duration::from_millis(10),
        Duration::from_secs(60),
    ));
    let c = f.client(1, "default").await;
    c.get_secret(&key("a")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // A periodic refresh with a long interval reuses the read from 100 ms ago …
    with_read_max_age(Duration::from_secs(30), c.get_secret(&key("a")))
        .await
        .unwrap();
    assert_eq!(f.reads(), 1);
    // … a sync after a change (max age zero) asks the provider, and shares that fresh read
    // with the rest of its own scope …
    with_read_max_age(Duration::ZERO, async {
        c.get_secret(&key("a")).await.unwrap();
        c.get_secret(&key("a")).await.unwrap();
    })
    .await;
    assert_eq!(f.reads(), 2);
    // … and outside a scope the cache's own (here 10 ms) window applies.
    tokio::time::sleep(Duration::from_millis(50)).await;
    c.get_secret(&key("a")).await.unwrap();
    assert_eq!(f.reads(), 3);
    // A scope shorter than the read's age does not reuse it either.
    tokio::time::sleep(Duration::from_millis(100)).await;
    with_read_max_age(Duration::from_millis(50), c.get_secret(&key("a")))
        .await
        .unwrap();
    assert_eq!(f.reads(), 4);
}
