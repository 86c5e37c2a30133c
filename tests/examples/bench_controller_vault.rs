//! Controller benchmark, Vault variant: N ExternalSecrets, each reading its own KV v2 secret
//! from a real OpenBao dev server through a token-auth SecretStore, with all controllers running
//! in-process against the simulator. Prints the cold-sync time and the Vault requests it took,
//! then the Vault requests of one idle refresh cycle (from
//! `externalsecret_provider_api_calls_count{provider="HashiCorp/Vault"}`). Never asserts.
//! Run through `hack/bench-controller.sh` (`VARIANT=vault`).
//!
//! Usage: bench_controller_vault [N] [REFRESH_SECONDS] [CONCURRENT]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use controller::context::Config;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{ListParams, PostParams};
use kube::{Api, Client};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::json;
use shared::api::v1::{ExternalSecret, SecretStore};
use tests::emulators::Bao;
use tests::sim::Sim;

/// Vault calls by call name, read from the Prometheus recorder.
fn vault_calls(handle: &PrometheusHandle) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for line in handle.render().lines() {
        let Some(rest) = line.strip_prefix("externalsecret_provider_api_calls_count{") else {
            continue;
        };
        if !rest.contains(r#"provider="HashiCorp/Vault""#) {
            continue;
        }
        let call = rest
            .split("call=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or("?");
        let status = if rest.contains(r#"status="error""#) {
            "/error"
        } else {
            ""
        };
        let value: f64 = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        *out.entry(format!("{call}{status}")).or_default() += value as u64;
    }
    out
}

fn delta(now: &BTreeMap<String, u64>, before: &BTreeMap<String, u64>) -> (u64, String) {
    let mut total = 0;
    let mut parts = Vec::new();
    for (k, v) in now {
        let d = v - before.get(k).copied().unwrap_or(0);
        if d > 0 {
            total += d;
            parts.push(format!("{k}={d}"));
        }
    }
    (total, parts.join(" "))
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
            let fresh = after.is_none_or(|t| {
                st.refresh_time
                    .as_ref()
                    .is_some_and(|r| r.0.to_string().as_str() > t)
            });
            ready && fresh
        })
        .count()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let refresh: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(30);
    let concurrent: u16 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(4);
    println!("bench-controller (vault): N={n} refreshInterval={refresh}s concurrent={concurrent}");
    let handle = PrometheusBuilder::new().install_recorder()?;

    let bao = Bao::start().await?;
    futures::stream::iter(0..n)
        .map(|i| {
            let bao = &bao;
            async move {
                bao.kv2_put(
                    "secret",
                    &format!("bench/{i}"),
                    &json!({"v": format!("value-{i}")}),
                )
                .await
            }
        })
        .buffer_unordered(16)
        .for_each(|r| async move {
            if let Err(e) = r {
                eprintln!("seed failed: {e}");
            }
        })
        .await;

    let sim = Sim::start().await?;
    sim.install_crds(&shared::api::all_crds()).await?;
    let client: Client = sim.client();
    let ns: Namespace = serde_json::from_value(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}}),
    )?;
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await?;
    let token: Secret = serde_json::from_value(json!({
        "metadata": {"name": "vault-token", "namespace": "bench"},
        "data": {"token": STANDARD.encode(bao.token())}
    }))?;
    Api::<Secret>::namespaced(client.clone(), "bench")
        .create(&PostParams::default(), &token)
        .await?;
    let store: SecretStore = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": "vault", "namespace": "bench"},
        "spec": {"provider": {"vault": {"server": bao.addr(), "path": "secret",
            "auth": {"tokenSecretRef": {"name": "vault-token", "key": "token"}}}}}
    }))?;
    Api::<SecretStore>::namespaced(client.clone(), "bench")
        .create(&PostParams::default(), &store)
        .await?;

    let config = Config {
        concurrent,
        enable_cluster_external_secrets: false,
        ..Config::default()
    };
    let before = vault_calls(&handle);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let run = tokio::spawn(controller::run_controllers(
        client.clone(),
        config,
        async move {
            let _ = stop_rx.await;
        },
    ));
    let es_api: Api<ExternalSecret> = Api::namespaced(client.clone(), "bench");
    futures::stream::iter(0..n)
        .map(|i| {
            let api = es_api.clone();
            async move {
                let es: ExternalSecret = serde_json::from_value(json!({
                    "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                    "metadata": {"name": format!("es-{i}")},
                    "spec": {
                        "secretStoreRef": {"name": "vault"},
                        "refreshInterval": format!("{refresh}s"),
                        "data": [{"secretKey": "v", "remoteRef": {"key": format!("bench/{i}"), "property": "v"}}]
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

    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let ready = count_ready(&es_api, None).await;
        if ready >= n {
            break;
        }
        if started.elapsed() > Duration::from_secs(1800) {
            println!("cold sync incomplete after 30 min: {ready}/{n} Ready");
            break;
        }
    }
    let cold = started.elapsed();
    let (total, detail) = delta(&vault_calls(&handle), &before);
    println!(
        "cold-sync      time={:>8.2}s vault_requests={total:>7} ({:.2}/ES) [{detail}]",
        cold.as_secs_f64(),
        total as f64 / n as f64
    );

    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = vault_calls(&handle);
    let mark = k8s_openapi::jiff::Timestamp::now().to_string();
    let idle_started = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let refreshed = count_ready(&es_api, Some(&mark)).await;
        if refreshed >= n || idle_started.elapsed() > Duration::from_secs(refresh * 3 + 60) {
            break;
        }
    }
    let (total, detail) = delta(&vault_calls(&handle), &before);
    println!(
        "idle-refresh   time={:>8.2}s vault_requests={total:>7} ({:.2}/ES) [{detail}]",
        idle_started.elapsed().as_secs_f64(),
        total as f64 / n as f64
    );
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(30), run).await;
    Ok(())
}
