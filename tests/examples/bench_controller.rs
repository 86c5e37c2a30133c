//! Controller benchmark: N ExternalSecrets on the Fake provider in the simulator. The real
//! `controller run` binary runs as a child process against the simulator's kubeconfig, so its
//! peak RSS is its own (read from `/proc/<pid>/status`), provider calls come from its `/metrics`
//! and API writes from the simulator's counters. Prints time to all-Ready, peak RSS, provider
//! calls and API writes for the cold sync and for one idle refresh cycle. Never asserts. Run
//! through `hack/bench-controller.sh`.
//!
//! Usage: bench_controller N REFRESH_SECONDS CONCURRENT KEYS [CONTROLLER_BIN]
//! (KEYS distinct remote keys, ExternalSecret i reads key i % KEYS).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::PostParams;
use serde_json::{Value, json};
use shared::api::v1::{ExternalSecret, SecretStore};
use tests::sim::{Counters, Sim};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NS: &str = "bench";
const ES_STORAGE: &str = "externalsecrets.external-secrets.io";

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// `VmHWM` (peak) and `VmRSS` (current) of `pid`, in KiB.
fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Sum of every sample of `metric` on the controller's `/metrics`.
async fn scrape(port: u16, metric: &str) -> u64 {
    let text = async {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .await?;
        let mut out = String::new();
        s.read_to_string(&mut out).await?;
        Ok::<_, std::io::Error>(out)
    }
    .await
    .unwrap_or_default();
    text.lines()
        .filter(|l| {
            l.strip_prefix(metric)
                .is_some_and(|r| r.starts_with('{') || r.starts_with(' '))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// ExternalSecrets whose Ready condition is True, read from the simulator's store directly so
/// that polling adds no API load.
fn ready_count(sim: &Sim) -> usize {
    sim.shared()
        .lock()
        .store
        .count(ES_STORAGE, Some(NS), |es: &Value| {
            es["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
        })
}

fn writes_by_resource(c: &Counters) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for (k, v) in &c.writes {
        let resource = k.split('/').next().unwrap_or("").to_string();
        *out.entry(resource).or_default() += v;
    }
    out
}

struct Phase {
    took: Duration,
    provider_calls: u64,
    reconciles: u64,
    counters: Counters,
}

fn report(name: &str, p: &Phase, pid: u32) {
    let (peak, now) = rss_kib(pid);
    let by = writes_by_resource(&p.counters);
    let requests: u64 = p.counters.requests.values().sum();
    println!(
        "{name:<13} time={:>7.2}s provider_calls={:>6} reconciles={:>6} api_writes={:>6} {by:?} api_requests={requests:>6} controller_rss_peak={:.1}MiB now={:.1}MiB",
        p.took.as_secs_f64(),
        p.provider_calls,
        p.reconciles,
        p.counters.total_writes(),
        peak as f64 / 1024.0,
        now as f64 / 1024.0,
    );
}

fn controller_bin(arg: Option<&String>) -> anyhow::Result<PathBuf> {
    if let Some(a) = arg {
        return Ok(PathBuf::from(a));
    }
    // target/<profile>/examples/bench_controller → target/<profile>/controller
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(|p| p.parent())
        .ok_or_else(|| anyhow::anyhow!("no target dir"))?;
    Ok(dir.join("controller"))
}

/// Extra `controller run` flags from `CONTROLLER_ARGS` (whitespace-separated), e.g. to compare
/// runs with a reconciler switched off.
fn extra_args() -> Vec<String> {
    std::env::var("CONTROLLER_ARGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

async fn seed(sim: &Sim, n: usize, keys: usize, refresh: u64) -> anyhow::Result<()> {
    let client = sim.client();
    let ns: Namespace = serde_json::from_value(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
    )?;
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await?;
    let data: Vec<Value> = (0..keys)
        .map(|k| json!({"key": format!("k{k}"), "value": format!("value-{k}")}))
        .collect();
    let store: SecretStore = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": "fake", "namespace": NS},
        "spec": {"provider": {"fake": {"data": data}}}
    }))?;
    Api::<SecretStore>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &store)
        .await?;
    let es_api: Api<ExternalSecret> = Api::namespaced(client.clone(), NS);
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
                        "data": [{"secretKey": "key", "remoteRef": {"key": format!("k{}", i % keys)}}]
                    }
                }))
                .map_err(|e| kube::Error::Service(e.into()))?;
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
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, default: usize| {
        args.get(i)
            .and_then(|a| a.parse::<usize>().ok())
            .unwrap_or(default)
    };
    let n = arg(1, 1000);
    let refresh = arg(2, 60) as u64;
    let concurrent = arg(3, 4);
    let keys = arg(4, (n / 10).max(1)).max(1);
    let bin = controller_bin(args.get(5))?;
    println!(
        "bench-controller: N={n} distinct_keys={keys} refreshInterval={refresh}s concurrent={concurrent} controller={}",
        bin.display()
    );

    let sim = Sim::start().await?;
    sim.install_crds(&shared::api::all_crds()).await?;
    let seeding = Instant::now();
    seed(&sim, n, keys, refresh).await?;
    println!(
        "  seeded {n} ExternalSecrets in {:.1}s",
        seeding.elapsed().as_secs_f64()
    );
    sim.reset_counters();

    let metrics_port = free_port()?;
    let live_port = free_port()?;
    let mut child = tokio::process::Command::new(&bin)
        .args([
            "--loglevel",
            "warn",
            "run",
            "--metrics-addr",
            &format!("127.0.0.1:{metrics_port}"),
            "--live-addr",
            &format!("127.0.0.1:{live_port}"),
            "--concurrent",
            &concurrent.to_string(),
        ])
        .args(extra_args())
        .env("KUBECONFIG", sim.kubeconfig_path())
        .env_remove("RUST_LOG")
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().unwrap_or_default();

    let started = Instant::now();
    let mut last_print = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if let Ok(Some(status)) = child.try_wait() {
            anyhow::bail!("controller exited: {status}");
        }
        let ready = ready_count(&sim);
        if ready >= n {
            break;
        }
        if last_print.elapsed() > Duration::from_secs(15) {
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
    let cold_done = Instant::now();
    let calls_cold = scrape(metrics_port, "externalsecret_provider_api_calls_count").await;
    let reconciles_cold = scrape(metrics_port, "externalsecret_sync_calls_total").await;
    let cold = Phase {
        took: cold_done - started,
        provider_calls: calls_cold,
        reconciles: reconciles_cold,
        counters: sim.counters(),
    };
    report("cold-sync", &cold, pid);

    // One idle refresh cycle, nothing changed at the provider: every ExternalSecret synced
    // before `cold_done` comes due within refreshInterval + jitter (≤ 5 %, ≤ 10 s) of it.
    sim.reset_counters();
    let jitter = (refresh / 20).min(10);
    let window = Duration::from_secs(refresh + jitter + 5);
    let reconciles = loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let reconciles = scrape(metrics_port, "externalsecret_sync_calls_total")
            .await
            .saturating_sub(reconciles_cold);
        if cold_done.elapsed() >= window && reconciles >= n as u64 {
            break reconciles;
        }
        if cold_done.elapsed() > window * 3 {
            println!("  idle cycle: only {reconciles} reconciles after {window:?} x3");
            break reconciles;
        }
    };
    let idle = Phase {
        took: cold_done.elapsed(),
        provider_calls: scrape(metrics_port, "externalsecret_provider_api_calls_count")
            .await
            .saturating_sub(calls_cold),
        reconciles,
        counters: sim.counters(),
    };
    report("idle-refresh", &idle, pid);

    let _ = tokio::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .await;
    if tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
    Ok(())
}
