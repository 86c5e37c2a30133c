//! Process start-up shared by both binaries: TLS provider and log format.

use clap::ValueEnum;
use tracing_subscriber::{EnvFilter, fmt};

/// How log lines are written to stderr.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable text.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Installs the aws-lc-rs rustls provider as the process default. Both binaries call this before
/// any TLS object exists, so no second crypto provider can be picked up implicitly.
pub fn install_crypto_provider() {
    // An error only means a provider was installed already (e.g. by a test harness), which is fine.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// Sets up tracing with `level` as the default filter (overridden by `RUST_LOG`).
pub fn init_logging(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    // A global subscriber already set (tests) is not an error worth failing start-up for.
    drop(result);
}
