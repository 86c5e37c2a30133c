//! `--cert-mode files`: serve `tls.crt`/`tls.key` from a directory and reload them on change.
//!
//! Polling instead of inotify: Secret volumes are updated through a symlink swap that file
//! watchers see inconsistently, and a read every few seconds costs nothing. A half-updated pair
//! (new certificate, old key) fails the key check and is simply retried on the next poll.

use std::path::PathBuf;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::maintain::CertRuntime;

/// Reads the pair once and installs it if it changed. Returns whether a new certificate is served.
pub async fn reload_once(
    dir: &std::path::Path,
    dns_name: &str,
    runtime: &CertRuntime,
) -> Result<bool, String> {
    let cert = tokio::fs::read(dir.join("tls.crt"))
        .await
        .map_err(|e| format!("reading {}: {e}", dir.join("tls.crt").display()))?;
    let key = tokio::fs::read(dir.join("tls.key"))
        .await
        .map_err(|e| format!("reading {}: {e}", dir.join("tls.key").display()))?;
    match runtime.install(&cert, &key) {
        Ok(Some(info)) => {
            if !dns_name.is_empty() && !info.dns_names.iter().any(|n| n == dns_name) {
                tracing::warn!(dns_name, names = ?info.dns_names, "mounted certificate does not cover --dns-name");
            }
            Ok(true)
        }
        Ok(None) => Ok(false),
        Err(e) => Err(e.to_string()),
    }
}

/// Polls `dir` every `interval` until `shutdown`.
pub async fn run_files(
    dir: PathBuf,
    dns_name: String,
    interval: Duration,
    runtime: CertRuntime,
    shutdown: CancellationToken,
) {
    let mut last_error: Option<String> = None;
    loop {
        match reload_once(&dir, &dns_name, &runtime).await {
            Ok(_) => last_error = None,
            Err(message) => {
                // Log a persisting problem once, not on every poll.
                if last_error.as_deref() != Some(message.as_str()) {
                    tracing::warn!(error = %message, "cannot load the mounted certificate; keeping the current one");
                }
                last_error = Some(message);
                runtime.refresh_readiness();
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}
