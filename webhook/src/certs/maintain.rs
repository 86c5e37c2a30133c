//! The loops that keep a valid certificate in the TLS listener.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio_util::sync::CancellationToken;

use super::bundle::CertSettings;
use super::inspect::CertInfo;
use super::k8s::{CertStore, ensure_stored};
use crate::health::ReadyFlag;
use crate::metrics::Metrics;
use crate::tls_reload::{CertResolver, TlsError};

/// A certificate must stay valid at least this long to count as ready (ESO's readiness check).
const READY_MARGIN: Duration = Duration::from_secs(3600);

/// Everything that must learn about a newly loaded certificate.
#[derive(Clone, Debug)]
pub struct CertRuntime {
    pub resolver: Arc<CertResolver>,
    pub ready: ReadyFlag,
    pub metrics: Metrics,
    loaded: Arc<AtomicU64>,
}

fn fingerprint(cert_pem: &[u8], key_pem: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    cert_pem.hash(&mut hasher);
    key_pem.hash(&mut hasher);
    // Zero means "nothing loaded".
    hasher.finish().max(1)
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl CertRuntime {
    pub fn new(resolver: Arc<CertResolver>, ready: ReadyFlag, metrics: Metrics) -> Self {
        Self {
            resolver,
            ready,
            metrics,
            loaded: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Serves `cert_pem`/`key_pem` from the next handshake on, unless it is what is served
    /// already. Returns the new certificate's facts when it was swapped in.
    pub fn install(&self, cert_pem: &[u8], key_pem: &[u8]) -> Result<Option<CertInfo>, TlsError> {
        let print = fingerprint(cert_pem, key_pem);
        if self.loaded.load(Ordering::Acquire) == print {
            self.refresh_readiness();
            return Ok(None);
        }
        let info = self.resolver.load_pem(cert_pem, key_pem)?;
        self.loaded.store(print, Ordering::Release);
        self.metrics.record_certificate(info.not_after);
        tracing::info!(serial = %info.serial_hex, not_after = info.not_after, "serving certificate loaded");
        self.refresh_readiness();
        Ok(Some(info))
    }

    /// Ready while the served certificate is valid for at least another hour.
    pub fn refresh_readiness(&self) {
        let margin = i64::try_from(READY_MARGIN.as_secs()).unwrap_or(0);
        let ready = self.resolver.current().is_some_and(|c| {
            c.not_after > now_unix().saturating_add(margin) && c.not_before <= now_unix()
        });
        self.ready.set(ready);
    }
}

/// Backoff after a failed round: 1s, 2s, 4s ... capped at 30s (and at the check interval).
fn backoff(failures: u32, check_interval: Duration) -> Duration {
    let secs = 1u64 << failures.min(5);
    Duration::from_secs(secs)
        .min(Duration::from_secs(30))
        .min(check_interval.max(Duration::from_secs(1)))
}

/// `--cert-mode self`: converge on the stored bundle, serve it, inject its CA; repeat every
/// `check_interval` until `shutdown`.
pub async fn run_self_managed<S: CertStore>(
    store: S,
    settings: CertSettings,
    check_interval: Duration,
    runtime: CertRuntime,
    shutdown: CancellationToken,
) {
    let mut failures: u32 = 0;
    loop {
        let wait = match one_round(&store, &settings, &runtime).await {
            Ok(()) => {
                failures = 0;
                check_interval
            }
            Err(message) => {
                tracing::warn!(error = %message, "certificate maintenance failed; retrying");
                failures = failures.saturating_add(1);
                backoff(failures, check_interval)
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

async fn one_round<S: CertStore>(
    store: &S,
    settings: &CertSettings,
    runtime: &CertRuntime,
) -> Result<(), String> {
    let ensured = ensure_stored(store, settings, SystemTime::now())
        .await
        .map_err(|e| e.to_string())?;
    if let Some(assessment) = &ensured.written {
        tracing::info!(reason = ?assessment, "wrote a new webhook certificate");
    }
    runtime
        .install(
            ensured.bundle.tls_crt.as_bytes(),
            ensured.bundle.tls_key.expose().as_bytes(),
        )
        .map_err(|e| format!("stored certificate cannot be served: {e}"))?;
    let changed = store
        .inject_ca_bundle(ensured.bundle.ca_bundle())
        .await
        .map_err(|e| format!("caBundle injection: {e}"))?;
    if !changed.is_empty() {
        tracing::info!(targets = ?changed, "injected caBundle");
    }
    Ok(())
}
