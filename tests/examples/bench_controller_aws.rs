//! AWS controller benchmark: N ExternalSecrets over a Secrets Manager store served by moto,
//! synced by the built `controller` binary (endpoints from its environment) against the
//! simulator. Prints the cold-sync time and the AWS calls moto recorded for the cold sync and for
//! one refresh period. Never asserts. Run through `hack/bench-controller.sh` (BENCH=aws).
//!
//! Usage: bench_controller_aws CONTROLLER_BIN [N] [REFRESH_SECONDS] [CONCURRENT] [SECRETS]

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::Api;
use kube::api::{ListParams, PostParams};
use serde_json::json;
use shared::api::v1::{ExternalSecret, SecretStore};
use tests::emulators::{Moto, RecordedCall, free_port};
use tests::sim::Sim;

const NS: &str = "bench";
const REGION: &str = "eu-central-1";

fn counts(calls: &[RecordedCall]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for c in calls {
        *out.entry(format!("{}:{}", c.service, c.action))
            .or_default() += 1;
    }
    out
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shared::telemetry::install_crypto_provider();
    let args: Vec<String> = std::env::args().collect();
    let bin = args.get(1).cloned().ok_or_else(|| {
        anyhow::anyhow!(
            "usage: bench_controller_aws CONTROLLER_BIN [N] [REFRESH] [CONCURRENT] [SECRETS]"
        )
    })?;
    let n: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let refresh: u64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(30);
    let concurrent: u16 = args.get(4).and_then(|a| a.parse().ok()).unwrap_or(4);
    let secrets: usize = args.get(5).and_then(|a| a.parse().ok()).unwrap_or(100);

    let moto = Moto::start().await?;
    for i in 0..secrets {
        moto.secretsmanager_in(
            REGION,
            "CreateSecret",
            json!({"Name": format!("bench/s{i}"), "SecretString": format!("v{i}")}),
        )
        .await?;
    }
    let sim = Sim::start().await?;
    sim.install_crds(&shared::api::all_crds()).await?;
    let client = sim.client();
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NS}}))?;
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await?;
    let creds: Secret = serde_json::from_value(json!({
        "metadata": {"name": "aws-creds", "namespace": NS},
        "stringData": {"id": "AKIDBENCH", "key": "bench-secret"}
    }))?;
    Api::<Secret>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &creds)
        .await?;
    let store: SecretStore = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": "aws", "namespace": NS},
        "spec": {"provider": {"aws": {"service": "SecretsManager", "region": REGION,
            "auth": {"secretRef": {
                "accessKeyIDSecretRef": {"name": "aws-creds", "key": "id"},
                "secretAccessKeySecretRef": {"name": "aws-creds", "key": "key"}}}}}}
    }))?;
    Api::<SecretStore>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &store)
        .await?;

    let scratch = tempfile::tempdir()?;
    let log = std::fs::File::create(scratch.path().join("controller.log"))?;
    let endpoint = moto.endpoint().to_string();
    let mut child = Command::new(&bin)
        .args([
            "--loglevel=warn".to_string(),
            "run".to_string(),
            format!("--metrics-addr=127.0.0.1:{}", free_port()?),
            format!("--live-addr=127.0.0.1:{}", free_port()?),
            format!("--concurrent={concurrent}"),
        ])
        .env("KUBECONFIG", sim.kubeconfig_path())
        .env("AWS_SECRETSMANAGER_ENDPOINT", &endpoint)
        .env("AWS_SSM_ENDPOINT", &endpoint)
        .env("AWS_STS_ENDPOINT", &endpoint)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()?;

    // Store Ready before the objects arrive, so the cold sync measures the objects only.
    let stores = Api::<SecretStore>::namespaced(client.clone(), NS);
    let waiting = Instant::now();
    loop {
        if waiting.elapsed() > Duration::from_secs(60) {
            let log =
                std::fs::read_to_string(scratch.path().join("controller.log")).unwrap_or_default();
            let _ = child.kill();
            anyhow::bail!("store never became Ready; controller log:\n{log}");
        }
        let s = stores.get("aws").await?;
        let ready = s
            .status
            .and_then(|st| st.conditions)
            .into_iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.status == "True");
        if ready {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    moto.start_recording().await?;

    let es_api = Api::<ExternalSecret>::namespaced(client.clone(), NS);
    let start = Instant::now();
    futures::stream::iter(0..n)
        .map(|i| {
            let api = es_api.clone();
            async move {
                let es: ExternalSecret = serde_json::from_value(json!({
                    "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                    "metadata": {"name": format!("es-{i}"), "namespace": NS},
                    "spec": {
                        "refreshInterval": format!("{refresh}s"),
                        "secretStoreRef": {"name": "aws", "kind": "SecretStore"},
                        "target": {"name": format!("es-{i}")},
                        "data": [{"secretKey": "v", "remoteRef": {"key": format!("bench/s{}", i % secrets)}}]
                    }
                }))
                .expect("external secret");
                api.create(&PostParams::default(), &es).await.map(|_| ())
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let applied = start.elapsed();
    let secrets_api = Api::<Secret>::namespaced(client.clone(), NS);
    let selector = ListParams::default().labels("reconcile.external-secrets.io/managed=true");
    loop {
        let synced = secrets_api.list_metadata(&selector).await?.items.len();
        if synced >= n {
            break;
        }
        if start.elapsed() > Duration::from_secs(600) {
            println!("aws n={n}: only {synced} Secrets after 600 s; giving up");
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let cold = start.elapsed();
    let cold_calls = counts(&moto.recorded_calls().await?);
    moto.reset_recording().await?;
    tokio::time::sleep(Duration::from_secs(refresh)).await;
    let refresh_calls = counts(&moto.recorded_calls().await?);
    println!(
        "aws n={n} secrets={secrets} refresh={refresh}s concurrent={concurrent}: applied in {:.1}s, all Secrets present after {:.1}s",
        applied.as_secs_f64(),
        cold.as_secs_f64()
    );
    println!("  AWS calls during cold sync: {cold_calls:?}");
    println!("  AWS calls during one refresh period ({refresh}s): {refresh_calls:?}");
    let _ = child.kill();
    let _ = child.wait();
    Ok(())
}
