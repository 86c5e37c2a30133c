//! `controller run`: ESO's core controller flags (reference §8.3, the ones that apply here) and
//! the process around the reconcilers (metrics, probes, leader election, shutdown).

use std::time::Duration;

use anyhow::Context as _;
use clap::ArgAction;
use shared::duration::GoDuration;
use shared::template::Options;

use crate::context::{Config, run_controllers};
use crate::health;
use crate::leader::{self, LeaderConfig};

fn go_duration(text: &str) -> Result<Duration, String> {
    GoDuration::parse(text)
        .map_err(|e| e.to_string())?
        .to_std()
        .ok_or_else(|| format!("duration {text:?} must not be negative"))
}

/// Flags of `controller run`. Booleans take Go's forms: `--flag`, `--flag=true|false`.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Address the Prometheus metrics are served on (`/metrics`).
    #[arg(long, default_value = ":8080")]
    pub metrics_addr: String,
    /// Address of the liveness and readiness probes (`/healthz`, `/readyz`).
    #[arg(long, default_value = ":8082")]
    pub live_addr: String,
    /// Only stores with this `spec.controller` (or none) are processed.
    #[arg(long, default_value = "default")]
    pub controller_class: String,
    /// Elect a leader with a Lease; only the leader reconciles.
    #[arg(long, default_value_t = false, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    pub enable_leader_election: bool,
    /// Name of the Lease.
    #[arg(long, default_value = "external-secrets-controller")]
    pub leader_election_id: String,
    /// Namespace of the Lease (default: $POD_NAMESPACE, else `default`).
    #[arg(long)]
    pub leader_election_namespace: Option<String>,
    /// Parallel reconciles per controller.
    #[arg(long, default_value_t = 1)]
    pub concurrent: u16,
    /// Watch only this namespace (empty: all).
    #[arg(long, default_value = "")]
    pub namespace: String,
    /// Reconcile ClusterSecretStores (and let ExternalSecrets use them).
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    pub enable_cluster_store_reconciler: bool,
    /// Reconcile SecretStores.
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    pub enable_secret_store_reconciler: bool,
    /// Run the ClusterExternalSecret reconciler.
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    pub enable_cluster_external_secret_reconciler: bool,
    /// Run the PushSecret reconciler.
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    pub enable_push_secret_reconciler: bool,
    /// Run the ClusterPushSecret reconciler.
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    pub enable_cluster_push_secret_reconciler: bool,
    /// How often stores are re-validated.
    #[arg(long, default_value = "5m", value_parser = go_duration)]
    pub store_requeue_interval: Duration,
    /// Use a store only once it is Ready.
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    pub enable_flood_gate: bool,
    /// Left template delimiter.
    #[arg(long, default_value = "{{")]
    pub template_left_delimiter: String,
    /// Right template delimiter.
    #[arg(long, default_value = "}}")]
    pub template_right_delimiter: String,
    /// Deny remote keys and roles in namespaces without policy annotations.
    #[arg(long, default_value_t = false, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    pub require_namespace_policy: bool,
}

impl RunArgs {
    /// The template delimiters.
    pub fn template_options(&self) -> Options {
        Options {
            left_delim: self.template_left_delimiter.clone(),
            right_delim: self.template_right_delimiter.clone(),
        }
    }

    /// Reconciler configuration.
    pub fn config(&self) -> Config {
        Config {
            controller_class: self.controller_class.clone(),
            namespace: (!self.namespace.is_empty()).then(|| self.namespace.clone()),
            enable_cluster_stores: self.enable_cluster_store_reconciler,
            enable_secret_stores: self.enable_secret_store_reconciler,
            enable_cluster_external_secrets: self.enable_cluster_external_secret_reconciler,
            enable_push_secrets: self.enable_push_secret_reconciler,
            enable_cluster_push_secrets: self.enable_cluster_push_secret_reconciler,
            enable_flood_gate: self.enable_flood_gate,
            store_requeue_interval: self.store_requeue_interval,
            concurrent: self.concurrent,
            template: self.template_options(),
            require_namespace_policy: self.require_namespace_policy,
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Runs the controller process until SIGTERM/SIGINT.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let client = kube::Client::try_default()
        .await
        .context("building the Kubernetes client")?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
    });
    let stopped = move || crate::externalsecret::controller::stopped(stop_rx.clone());

    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .context("installing the metrics recorder")?;
    let metrics_addr = health::parse_addr(&args.metrics_addr).context("--metrics-addr")?;
    let live_addr = health::parse_addr(&args.live_addr).context("--live-addr")?;
    let metrics_server = tokio::spawn(health::serve(
        metrics_addr,
        crate::metrics::router(handle),
        stopped(),
    ));
    let live_server = tokio::spawn(health::serve(live_addr, health::router(), stopped()));

    let config = args.config();
    if args.enable_leader_election {
        let namespace = args
            .leader_election_namespace
            .clone()
            .or_else(|| std::env::var("POD_NAMESPACE").ok())
            .unwrap_or_else(|| "default".into());
        let identity = format!(
            "{}_{}",
            std::env::var("POD_NAME").unwrap_or_else(|_| "controller".into()),
            uuid_suffix()
        );
        let lcfg = LeaderConfig::new(&args.leader_election_id, &namespace, &identity);
        let c = client.clone();
        leader::run_leading(client, lcfg, stopped(), move |leading| async move {
            let done = crate::externalsecret::controller::stopped(leading);
            if let Err(e) = run_controllers(c, config, done).await {
                tracing::error!(error = %e, "controllers stopped");
            }
        })
        .await?;
    } else {
        run_controllers(client, config, stopped()).await?;
    }
    metrics_server.abort();
    live_server.abort();
    Ok(())
}

fn uuid_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{:08x}{:x}", nanos, std::process::id())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        run: RunArgs,
    }

    #[test]
    fn eso_defaults_and_go_style_booleans() {
        let t = T::try_parse_from(["x"]).expect("parses");
        assert_eq!(t.run.metrics_addr, ":8080");
        assert_eq!(t.run.live_addr, ":8082");
        assert_eq!(t.run.leader_election_id, "external-secrets-controller");
        assert_eq!(t.run.store_requeue_interval, Duration::from_secs(300));
        assert!(t.run.enable_flood_gate && !t.run.enable_leader_election);
        let t = T::try_parse_from([
            "x",
            "--enable-leader-election",
            "--enable-flood-gate=false",
            "--enable-cluster-store-reconciler=false",
            "--namespace=apps",
            "--store-requeue-interval=1m30s",
        ])
        .expect("parses");
        assert!(t.run.enable_leader_election && !t.run.enable_flood_gate);
        let cfg = t.run.config();
        assert_eq!(cfg.namespace.as_deref(), Some("apps"));
        assert!(!cfg.enable_cluster_stores);
        assert_eq!(cfg.store_requeue_interval, Duration::from_secs(90));
    }
}
