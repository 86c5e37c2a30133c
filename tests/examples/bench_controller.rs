//! Controller benchmark: N ExternalSecrets on the Fake provider in the simulator. Prints time to
//! all-Ready, peak RSS, provider calls and API writes for the cold sync and for one idle refresh
//! cycle. Never asserts. Run through `hack/bench-controller.sh`.
//!
//! Usage: bench_controller [N] [REFRESH_SECONDS] [CONCURRENT]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use controller::context::{Config, IndexedStores, StoreAccess};
use controller::externalsecret::data::SourceError;
use controller::provider::async_trait;
use controller::provider::{ProviderError, SecretMap, SecretsClient, ValidationResult};
use controller::stores::{ClientCache, StoreIndex};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{ListParams, PostParams};
use kube::{Api, Client};
use serde_json::json;
use shared::api::v1::{
    ExternalSecret, ExternalSecretDataRemoteRef, ExternalSecretFind, SecretStore, SecretStoreRef,
};
use shared::secret_value::SecretValue;
use tests::sim::Sim;

/// Counts every provider read.
struct Counting {
    inner: Arc<dyn SecretsClient>,
    calls: Arc<AtomicU64>,
}

#[async_trait]
impl SecretsClient for Counting {
    async fn get_secret(
        &self,
        r: &ExternalSecretDataRemoteRef,
    ) -> Result<SecretValue, ProviderError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.get_secret(r).await
    }
    async fn get_secret_map(
        &self,
        r: &ExternalSecretDataRemoteRef,
    ) -> Result<SecretMap, ProviderError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.get_secret_map(r).await
    }
    async fn get_all_secrets(&self, f: &ExternalSecretFind) -> Result<SecretMap, ProviderError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.get_all_secrets(f).await
    }
    async fn validate(&self) -> Result<ValidationResult, ProviderError> {
        self.inner.validate().await
    }
}

struct CountingStores {
    inner: IndexedStores,
    calls: Arc<AtomicU64>,
}

#[async_trait]
impl StoreAccess for CountingStores {
    async fn client(
        &self,
        store: &SecretStoreRef,
        ns: &str,
    ) -> Result<Arc<dyn SecretsClient>, SourceError> {
        let inner = self.inner.client(store, ns).await?;
        Ok(Arc::new(Counting {
            inner,
            calls: self.calls.clone(),
        }))
    }
    async fn is_foreign(&self, store: &SecretStoreRef, ns: &str) -> bool {
        self.inner.is_foreign(store, ns).await
    }
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn count_ready(api: &Api<ExternalSecret>, after: Option<&str>) -> usize {
    let Ok(list) = api.list(&ListParams::default()).await else {
        return 0;
    };
    list.items
        .iter()
        .filter(|es| {
            let Some(st) = es.status.as_ref() else {
                return false;
            };
            let ready = st
                .conditions
                .iter()
                .flatten()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            let fresh = match after {
                None => true,
                Some(t) => st
                    .refresh_time
                    .as_ref()
                    .is_some_and(|r| r.0.to_string().as_str() > t),
            };
            ready && fresh
        })
        .count()
}

fn report(phase: &str, took: Duration, calls: u64, sim: &Sim) {
    let c = sim.counters();
    let secret_writes: u64 = c
        .writes
        .iter()
        .filter(|(k, _)| k.starts_with("secrets/"))
        .map(|(_, v)| v)
        .sum();
    let es_writes: u64 = c
        .writes
        .iter()
        .filter(|(k, _)| k.starts_with("externalsecrets"))
        .map(|(_, v)| v)
        .sum();
    let requests: u64 = c.requests.values().sum();
    println!(
        "{phase:<14} time={:>8.2}s provider_calls={calls:>7} api_writes={:>7} (secrets={secret_writes}, externalsecrets={es_writes}) api_requests={requests:>7} peak_rss={} MiB",
        took.as_secs_f64(),
        c.total_writes(),
        peak_rss_kib().map(|k| k / 1024).unwrap_or_default(),
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let refresh: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(30);
    let concurrent: u16 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(4);
    println!("bench-controller: N={n} refreshInterval={refresh}s concurrent={concurrent}");

    let sim = Sim::start().await?;
    sim.install_crds(&shared::api::all_crds()).await?;
    let client: Client = sim.client();
    let ns: Namespace = serde_json::from_value(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}}),
    )?;
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await?;
    let store: SecretStore = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": "fake", "namespace": "bench"},
        "spec": {"provider": {"fake": {"data": [{"key": "k", "value": "v"}]}}}
    }))?;
    Api::<SecretStore>::namespaced(client.clone(), "bench")
        .create(&PostParams::default(), &store)
        .await?;

    let config = Config {
        concurrent,
        // The store reconciler is not part of this measurement: skip the Ready gate.
        enable_flood_gate: false,
        enable_cluster_external_secrets: false,
        ..Config::default()
    };
    let (index, watches) = StoreIndex::start(client.clone(), &config.store_config()).await;
    tokio::spawn(watches);
    index
        .wait_ready()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let calls = Arc::new(AtomicU64::new(0));
    let stores = Arc::new(CountingStores {
        inner: IndexedStores::new(client.clone(), index, ClientCache::new()),
        calls: calls.clone(),
    });

    let es_api: Api<ExternalSecret> = Api::namespaced(client.clone(), "bench");
    futures::stream::iter(0..n)
        .map(|i| {
            let api = es_api.clone();
            async move {
                let es: ExternalSecret = serde_json::from_value(json!({
                    "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                    "metadata": {"name": format!("es-{i}")},
                    "spec": {
                        "secretStoreRef": {"name": "fake"},
                        "refreshInterval": format!("{refresh}s"),
                        "data": [{"secretKey": "key", "remoteRef": {"key": "k"}}]
                    }
                }))
                .expect("valid ExternalSecret");
                api.create(&PostParams::default(), &es).await
            }
        })
        .buffer_unordered(32)
        .for_each(|r| async move {
            if let Err(e) = r {
                eprintln!("create failed: {e}");
            }
        })
        .await;
    sim.reset_counters();

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let run = tokio::spawn(controller::run_controllers_with(
        client.clone(),
        config,
        stores,
        async move {
            let _ = stop_rx.await;
        },
    ));
    let mut last_print = Instant::now();
    loop {
        // Listing every object is itself load on the simulator: poll sparingly.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let ready = count_ready(&es_api, None).await;
        if ready >= n {
            break;
        }
        if last_print.elapsed() > Duration::from_secs(30) {
            println!(
                "  ... {ready}/{n} Ready after {:.0}s",
                started.elapsed().as_secs_f64()
            );
            last_print = Instant::now();
        }
        if started.elapsed() > Duration::from_secs(1800) {
            println!("cold sync incomplete after 30 min: {ready}/{n} Ready");
            break;
        }
    }
    let cold = started.elapsed();
    report("cold-sync", cold, calls.swap(0, Ordering::Relaxed), &sim);

    // One idle refresh cycle: nothing changed at the provider.
    tokio::time::sleep(Duration::from_secs(2)).await;
    sim.reset_counters();
    calls.store(0, Ordering::Relaxed);
    let mark = k8s_openapi::jiff::Timestamp::now().to_string();
    let idle_started = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let refreshed = count_ready(&es_api, Some(&mark)).await;
        if refreshed >= n || idle_started.elapsed() > Duration::from_secs(refresh * 3 + 60) {
            break;
        }
    }
    report(
        "idle-refresh",
        idle_started.elapsed(),
        calls.load(Ordering::Relaxed),
        &sim,
    );

    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(30), run).await;
    Ok(())
}
