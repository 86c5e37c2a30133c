//! Prometheus metrics of the admission server.
//!
//! One recorder per [`Metrics`] value instead of the process-global one, so several servers (tests,
//! the benchmark) can live in one process without sharing counters. The controller-runtime webhook
//! series keep their names so ESO dashboards still work; the `webhook_admission_*` series add
//! kind/operation/verdict detail.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics::{
    Counter, Gauge, Histogram, Unit, counter, describe_counter, describe_gauge, describe_histogram,
    gauge, histogram,
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

const REQUESTS_TOTAL: &str = "controller_runtime_webhook_requests_total";
const LATENCY: &str = "controller_runtime_webhook_latency_seconds";
const IN_FLIGHT: &str = "controller_runtime_webhook_requests_in_flight";
const ADMISSIONS: &str = "webhook_admission_requests_total";
const ADMISSION_LATENCY: &str = "webhook_admission_duration_seconds";
const DENIALS: &str = "webhook_admission_denials_total";
const REJECTED: &str = "webhook_admission_rejected_requests_total";
const CERT_EXPIRY: &str = "webhook_certificate_expiry_timestamp_seconds";
const CERT_ROTATIONS: &str = "webhook_certificate_reloads_total";

/// Kinds reported by name; anything else is `other` so a caller cannot grow the label set.
const KNOWN_KINDS: &[&str] = &[
    "ExternalSecret",
    "ClusterExternalSecret",
    "SecretStore",
    "ClusterSecretStore",
    "PushSecret",
    "ClusterPushSecret",
];

/// Latency buckets in seconds: admission answers are expected in well under a millisecond.
const BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// Cheap-to-clone handle on the server's metrics.
#[derive(Clone)]
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
    handle: PrometheusHandle,
    series: Arc<Mutex<HashMap<Series, Handle>>>,
}

/// The per-request series, by label values. Their handles are looked up once and kept: building
/// a labelled key and finding it in the registry on every request cost several percent of the
/// admission throughput. Every label value is bounded (route labels, status codes, known kinds),
/// so the map is too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Series {
    Requests(&'static str, u16),
    Latency(&'static str),
    InFlight(&'static str),
    Admissions(&'static str, &'static str, &'static str, bool),
    AdmissionLatency(&'static str),
}

#[derive(Clone)]
enum Handle {
    Counter(Counter),
    Gauge(Gauge),
    Histogram(Histogram),
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The label value for a request's kind.
pub fn kind_label(kind: &str) -> &'static str {
    KNOWN_KINDS
        .iter()
        .find(|k| **k == kind)
        .copied()
        .unwrap_or("other")
}

impl Metrics {
    pub fn new() -> Self {
        let builder = PrometheusBuilder::new();
        // `set_buckets` only fails for an empty slice.
        let builder = match builder.set_buckets(BUCKETS) {
            Ok(b) => b,
            Err(_) => PrometheusBuilder::new(),
        };
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        let metrics = Self {
            recorder: Arc::new(recorder),
            handle,
            series: Arc::default(),
        };
        metrics.with(|| {
            describe_counter!(
                REQUESTS_TOTAL,
                "HTTP requests served per webhook path and status code."
            );
            describe_histogram!(
                LATENCY,
                Unit::Seconds,
                "Time to answer a webhook HTTP request."
            );
            describe_gauge!(IN_FLIGHT, "Webhook HTTP requests being served.");
            describe_counter!(
                ADMISSIONS,
                "Admission decisions by path, kind, operation and verdict."
            );
            describe_histogram!(
                ADMISSION_LATENCY,
                Unit::Seconds,
                "Time spent deciding one admission request."
            );
            describe_counter!(
                DENIALS,
                "Denied admission requests by kind and status reason."
            );
            describe_counter!(
                REJECTED,
                "Requests answered without a decision, by path and cause."
            );
            describe_gauge!(
                CERT_EXPIRY,
                "Expiry of the certificate being served, as a Unix timestamp."
            );
            describe_counter!(CERT_ROTATIONS, "Serving certificates loaded since start.");
        });
        metrics
    }

    fn with<T>(&self, f: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(self.recorder.as_ref(), f)
    }

    /// Prometheus text exposition of every series.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Folds buffered histogram samples; call periodically so memory stays flat between scrapes.
    pub fn run_upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// The kept handle of `series`, registered by `register` on first use.
    fn handle(&self, series: Series, register: impl FnOnce() -> Handle) -> Handle {
        let mut map = self
            .series
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(series)
            .or_insert_with(|| self.with(register))
            .clone()
    }

    fn counter(&self, series: Series, register: impl FnOnce() -> Counter) -> Counter {
        match self.handle(series, || Handle::Counter(register())) {
            Handle::Counter(c) => c,
            _ => Counter::noop(),
        }
    }

    fn histogram(&self, series: Series, register: impl FnOnce() -> Histogram) -> Histogram {
        match self.handle(series, || Handle::Histogram(register())) {
            Handle::Histogram(h) => h,
            _ => Histogram::noop(),
        }
    }

    /// One HTTP exchange on a webhook path.
    pub fn record_http(&self, path: &'static str, code: u16, elapsed: Duration) {
        self.counter(
            Series::Requests(path, code),
            || counter!(REQUESTS_TOTAL, "webhook" => path, "code" => code.to_string()),
        )
        .increment(1);
        self.histogram(
            Series::Latency(path),
            || histogram!(LATENCY, "webhook" => path),
        )
        .record(elapsed.as_secs_f64());
    }

    /// Adjusts the in-flight gauge of a path.
    pub fn in_flight(&self, path: &'static str, delta: f64) {
        if let Handle::Gauge(g) = self.handle(Series::InFlight(path), || {
            Handle::Gauge(gauge!(IN_FLIGHT, "webhook" => path))
        }) {
            g.increment(delta);
        }
    }

    /// One admission decision.
    pub fn record_admission(
        &self,
        path: &'static str,
        kind: &str,
        operation: &'static str,
        allowed: bool,
        elapsed: Duration,
    ) {
        let kind = kind_label(kind);
        self.counter(Series::Admissions(path, kind, operation, allowed), || {
            counter!(ADMISSIONS, "path" => path, "kind" => kind, "operation" => operation, "allowed" => if allowed { "true" } else { "false" })
        })
        .increment(1);
        self.histogram(
            Series::AdmissionLatency(path),
            || histogram!(ADMISSION_LATENCY, "path" => path),
        )
        .record(elapsed.as_secs_f64());
    }

    /// One denial; `reason` is the Kubernetes status reason (a short fixed word, not the message).
    pub fn record_denial(&self, kind: &str, reason: &str) {
        let kind = kind_label(kind);
        let reason = match reason {
            "" => "Unknown".to_owned(),
            r if r.len() <= 32 && r.chars().all(|c| c.is_ascii_alphanumeric()) => r.to_owned(),
            _ => "Other".to_owned(),
        };
        self.with(|| counter!(DENIALS, "kind" => kind, "reason" => reason).increment(1));
    }

    /// A request answered without a decision (malformed body, deadline, rules panic, ...).
    pub fn record_rejected(&self, path: &'static str, cause: &'static str) {
        self.with(|| counter!(REJECTED, "path" => path, "cause" => cause).increment(1));
    }

    /// A newly loaded serving certificate.
    pub fn record_certificate(&self, not_after_unix: i64) {
        self.with(|| {
            // Unix timestamps of certificates are far below 2^53, exact as f64.
            #[allow(clippy::cast_precision_loss)]
            gauge!(CERT_EXPIRY).set(not_after_unix as f64);
            counter!(CERT_ROTATIONS).increment(1);
        });
    }
}
