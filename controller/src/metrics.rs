//! ESO's Prometheus metrics (reference §8.1).
//!
//! The per-object series of ExternalSecrets and ClusterExternalSecrets (`*_sync_calls_total`,
//! `*_sync_calls_error`, `*_status_condition`, `*_reconcile_duration`) live in a compact
//! registry of this module and are rendered next to the exporter's output: the `metrics`
//! facade keeps each series under its own key with owned label strings (about 1.6 KiB for the
//! four series of one ExternalSecret, 16 MiB at 10,000 of them, plus a render that copied all of
//! it on every scrape), and it cannot drop the series of a deleted object as ESO does. Everything
//! else (provider calls, store and PushSecret gauges) goes through the `metrics` facade and the
//! Prometheus exporter the binary installs; in tests nothing is installed and the facade is a
//! no-op.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

/// Kinds with per-object condition and duration gauges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

/// What is recorded about one object; `None`/zero means the series does not exist yet.
#[derive(Clone, Copy, Debug, Default)]
struct Series {
    sync_calls: u64,
    sync_errors: u64,
    duration_ns: Option<u64>,
    /// The condition type and whether it is True.
    condition: Option<(&'static str, bool)>,
}

/// (kind, namespace, name) → series.
type Objects = BTreeMap<(Kind, String, String), Series>;

static OBJECTS: LazyLock<Mutex<Objects>> = LazyLock::new(Mutex::default);

fn update(kind: Kind, name: &str, namespace: &str, f: impl FnOnce(&mut Series)) {
    let mut objects = OBJECTS.lock().unwrap_or_else(|p| p.into_inner());
    let key = (kind, namespace.to_string(), name.to_string());
    f(objects.entry(key).or_default());
}

/// Every ExternalSecret reconcile (`externalsecret_sync_calls_total`).
pub fn sync_call(name: &str, namespace: &str) {
    update(Kind::ExternalSecret, name, namespace, |s| s.sync_calls += 1);
}

/// A failed ExternalSecret reconcile (`externalsecret_sync_calls_error`).
pub fn sync_error(name: &str, namespace: &str) {
    update(Kind::ExternalSecret, name, namespace, |s| {
        s.sync_errors += 1
    });
}

/// `<kind>_reconcile_duration`, in nanoseconds as ESO reports it.
pub fn reconcile_duration(kind: Kind, name: &str, namespace: &str, took: Duration) {
    let ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
    update(kind, name, namespace, |s| s.duration_ns = Some(ns));
}

/// `<kind>_status_condition`: 1 for the current status, 0 for the opposite one.
pub fn condition(kind: Kind, name: &str, namespace: &str, condition: &'static str, status: bool) {
    update(kind, name, namespace, |s| {
        s.condition = Some((condition, status))
    });
}

/// Drops every series of a deleted object (ESO's `RemoveMetrics`).
pub fn forget(kind: Kind, name: &str, namespace: &str) {
    let mut objects = OBJECTS.lock().unwrap_or_else(|p| p.into_inner());
    objects.remove(&(kind, namespace.to_string(), name.to_string()));
}

/// A label value in the exposition format (written without a copy: rendering runs over every
/// object on each scrape).
struct Escaped<'a>(&'a str);

impl std::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for c in self.0.chars() {
            match c {
                '\\' => f.write_str(r"\\")?,
                '"' => f.write_str("\\\"")?,
                '\n' => f.write_str(r"\n")?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// Renders one metric family of `kind`: a `# TYPE` line and one line per object for which
/// `lines` yields label/value pairs (after the name and namespace labels).
fn family(
    out: &mut String,
    objects: &Objects,
    kind: Kind,
    suffix: &str,
    type_: &str,
    lines: impl Fn(&Series) -> Vec<(String, u64)>,
) {
    let metric = format!("{}_{suffix}", kind.prefix());
    let mut header = false;
    for ((k, namespace, name), series) in objects {
        if *k != kind {
            continue;
        }
        for (labels, value) in lines(series) {
            if !header {
                let _ = writeln!(out, "# TYPE {metric} {type_}");
                header = true;
            }
            let _ = writeln!(
                out,
                "{metric}{{name=\"{}\",namespace=\"{}\"{labels}}} {value}",
                Escaped(name),
                Escaped(namespace)
            );
        }
    }
    if header {
        out.push('\n');
    }
}

/// Appends the per-object series in the Prometheus text format to `out`.
pub fn render_objects(out: &mut String) {
    let objects = OBJECTS.lock().unwrap_or_else(|p| p.into_inner());
    // About five lines of ~120 bytes per object: one allocation instead of a doubling series
    // that leaves megabytes of freed buffers behind on every scrape.
    out.reserve(objects.len() * 5 * 120);
    for kind in [Kind::ExternalSecret, Kind::ClusterExternalSecret] {
        if kind == Kind::ExternalSecret {
            family(out, &objects, kind, "sync_calls_total", "counter", |s| {
                (s.sync_calls > 0)
                    .then(|| (String::new(), s.sync_calls))
                    .into_iter()
                    .collect()
            });
            family(out, &objects, kind, "sync_calls_error", "counter", |s| {
                (s.sync_errors > 0)
                    .then(|| (String::new(), s.sync_errors))
                    .into_iter()
                    .collect()
            });
        }
        family(out, &objects, kind, "status_condition", "gauge", |s| {
            let Some((condition, status)) = s.condition else {
                return Vec::new();
            };
            [("True", status), ("False", !status)]
                .into_iter()
                .map(|(value, current)| {
                    (
                        format!(",condition=\"{}\",status=\"{value}\"", Escaped(condition)),
                        u64::from(current),
                    )
                })
                .collect()
        });
        family(out, &objects, kind, "reconcile_duration", "gauge", |s| {
            s.duration_ns
                .map(|ns| (String::new(), ns))
                .into_iter()
                .collect()
        });
    }
}

/// `/metrics` in the Prometheus text format: the exporter's series and the per-object ones.
pub fn router(handle: metrics_exporter_prometheus::PrometheusHandle) -> axum::Router {
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let handle = handle.clone();
            async move {
                let mut text = handle.render();
                render_objects(&mut text);
                text
            }
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render() -> String {
        let mut out = String::new();
        render_objects(&mut out);
        out
    }

    #[test]
    fn exports_eso_metric_names_and_labels() {
        sync_call("db", "metrics-test");
        sync_call("db", "metrics-test");
        sync_error("db", "metrics-test");
        condition(Kind::ExternalSecret, "db", "metrics-test", "Ready", true);
        reconcile_duration(
            Kind::ClusterExternalSecret,
            "metrics-test-c",
            "",
            Duration::from_millis(2),
        );
        let text = render();
        for line in [
            "# TYPE externalsecret_sync_calls_total counter",
            r#"externalsecret_sync_calls_total{name="db",namespace="metrics-test"} 2"#,
            "# TYPE externalsecret_sync_calls_error counter",
            r#"externalsecret_sync_calls_error{name="db",namespace="metrics-test"} 1"#,
            "# TYPE externalsecret_status_condition gauge",
            r#"externalsecret_status_condition{name="db",namespace="metrics-test",condition="Ready",status="True"} 1"#,
            r#"externalsecret_status_condition{name="db",namespace="metrics-test",condition="Ready",status="False"} 0"#,
            "# TYPE clusterexternalsecret_reconcile_duration gauge",
            r#"clusterexternalsecret_reconcile_duration{name="metrics-test-c",namespace=""} 2000000"#,
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing in:\n{text}"
            );
        }
    }

    #[test]
    fn a_deleted_object_has_no_series_left() {
        sync_call("gone", "metrics-forget");
        condition(
            Kind::ExternalSecret,
            "gone",
            "metrics-forget",
            "Ready",
            false,
        );
        reconcile_duration(
            Kind::ExternalSecret,
            "gone",
            "metrics-forget",
            Duration::from_millis(1),
        );
        assert!(render().contains(r#"name="gone",namespace="metrics-forget""#));
        forget(Kind::ExternalSecret, "gone", "metrics-forget");
        assert!(!render().contains(r#"name="gone",namespace="metrics-forget""#));
    }
}
