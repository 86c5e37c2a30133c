//! ESO's Prometheus metrics (reference §8.1), recorded through the `metrics` facade. The binary
//! installs the Prometheus exporter; in tests nothing is installed and recording is a no-op.

use std::time::Duration;

use metrics::{counter, gauge};

/// Kinds with per-object condition and duration gauges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `externalsecret_*`.
    ExternalSecret,
    /// `clusterexternalsecret_*`.
    ClusterExternalSecret,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::ExternalSecret => "externalsecret",
            Kind::ClusterExternalSecret => "clusterexternalsecret",
        }
    }
}

/// Every ExternalSecret reconcile (`externalsecret_sync_calls_total`).
pub fn sync_call(name: &str, namespace: &str) {
    counter!("externalsecret_sync_calls_total", "name" => name.to_string(), "namespace" => namespace.to_string())
        .increment(1);
}

/// A failed ExternalSecret reconcile (`externalsecret_sync_calls_error`).
pub fn sync_error(name: &str, namespace: &str) {
    counter!("externalsecret_sync_calls_error", "name" => name.to_string(), "namespace" => namespace.to_string())
        .increment(1);
}

/// `<kind>_reconcile_duration`, in nanoseconds as ESO reports it.
pub fn reconcile_duration(kind: Kind, name: &str, namespace: &str, took: Duration) {
    let metric = format!("{}_reconcile_duration", kind.prefix());
    gauge!(metric, "name" => name.to_string(), "namespace" => namespace.to_string())
        .set(took.as_nanos() as f64);
}

/// `<kind>_status_condition`: 1 for the current status, 0 for the opposite one.
pub fn condition(kind: Kind, name: &str, namespace: &str, condition: &str, status: bool) {
    let metric = format!("{}_status_condition", kind.prefix());
    for (value, current) in [("True", status), ("False", !status)] {
        gauge!(
            metric.clone(),
            "name" => name.to_string(),
            "namespace" => namespace.to_string(),
            "condition" => condition.to_string(),
            "status" => value
        )
        .set(if current { 1.0 } else { 0.0 });
    }
}

/// Drops the per-object gauges of a deleted object (ESO's `Deleted` condition handling).
pub fn forget(kind: Kind, name: &str, namespace: &str) {
    let metric = format!("{}_status_condition", kind.prefix());
    for value in ["True", "False"] {
        gauge!(
            metric.clone(),
            "name" => name.to_string(),
            "namespace" => namespace.to_string(),
            "condition" => "Ready",
            "status" => value
        )
        .set(0.0);
    }
}

/// `/metrics` in the Prometheus text format.
pub fn router(handle: metrics_exporter_prometheus::PrometheusHandle) -> axum::Router {
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let handle = handle.clone();
            async move { handle.render() }
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_eso_metric_names_and_labels() {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            sync_call("db", "apps");
            sync_error("db", "apps");
            condition(Kind::ExternalSecret, "db", "apps", "Ready", true);
            reconcile_duration(
                Kind::ClusterExternalSecret,
                "c",
                "",
                Duration::from_millis(2),
            );
        });
        let text = handle.render();
        assert!(
            text.contains(r#"externalsecret_sync_calls_total{name="db",namespace="apps"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"externalsecret_sync_calls_error{name="db",namespace="apps"} 1"#));
        assert!(text.contains(
            r#"externalsecret_status_condition{name="db",namespace="apps",condition="Ready",status="True"} 1"#
        ));
        assert!(text.contains(
            r#"externalsecret_status_condition{name="db",namespace="apps",condition="Ready",status="False"} 0"#
        ));
        assert!(text.contains(
            r#"clusterexternalsecret_reconcile_duration{name="c",namespace=""} 2000000"#
        ));
    }
}
